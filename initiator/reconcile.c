// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reconcile.c: a session's rescan and what follows it (see reconcile.h).
 * Every step that fails is recorded as an RD_CH_ERROR naming the file or
 * the device, and the rest still runs: a failed scan must not stop the
 * removal of a stale device, nor a failed delete the report of a new one.
 */
#include "reconcile.h"
#include "holders.h"
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *rd_change_kind_name(enum rd_change_kind k)
{
	switch (k) {
	case RD_CH_NEW:
		return "new";
	case RD_CH_RESIZED:
		return "resized";
	case RD_CH_REMOVED:
		return "removed";
	case RD_CH_KEPT:
		return "kept";
	default:
		return "error";
	}
}

static struct rd_change *change(struct rd_changes *c, enum rd_change_kind kind,
				const struct rd_session *s, const struct rd_sdev *d,
				const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static struct rd_change *change(struct rd_changes *c, enum rd_change_kind kind,
				const struct rd_session *s, const struct rd_sdev *d,
				const char *fmt, ...)
{
	static struct rd_change lost;	/* out of memory: filled, never listed */
	struct rd_change *ch = &lost;
	va_list ap;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct rd_change *nv = realloc(c->v, cap * sizeof(*nv));

		if (nv) {
			c->v = nv;
			c->cap = cap;
		}
	}
	if (c->n < c->cap)
		ch = &c->v[c->n++];
	else
		rd_err("out of memory: a change of session %u is not reported", s ? s->sid : 0);
	memset(ch, 0, sizeof(*ch));
	ch->kind = kind;
	ch->sid = s ? s->sid : 0;
	if (d)
		ch->dev = *d;
	ch->why[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(ch->why, sizeof(ch->why), fmt, ap);
		va_end(ap);
	}
	if (kind == RD_CH_ERROR)
		c->errors++;
	if (kind == RD_CH_KEPT)
		c->kept++;
	return ch;
}

void rd_changes_free(struct rd_changes *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static bool wwid_changed(const struct rd_sdev *before, const struct rd_sdev *now)
{
	return before->wwid[0] && now->wwid[0] && strcmp(before->wwid, now->wwid);
}

/* A stale device: delete it unless it is in use.  1 if deleted. */
static int remove_stale(const struct rd_env *env, const struct rd_session *s,
			const struct rd_sdev *d, const char *reason, struct rd_changes *out)
{
	char why[512], err[512];
	int busy = rd_device_in_use(env, d, why, sizeof(why));

	if (busy > 0) {
		change(out, RD_CH_KEPT, s, d, "%s; not removed: %s", reason, why);
		return 0;
	}
	if (busy < 0) {
		change(out, RD_CH_KEPT, s, d, "%s; not removed: cannot tell whether it is in use: %s",
		       reason, why);
		return 0;
	}
	if (rd_sdev_delete(env, &d->hctl, err, sizeof(err))) {
		change(out, RD_CH_ERROR, s, d, "%s, but deleting it failed: %s", reason, err);
		return 0;
	}
	change(out, RD_CH_REMOVED, s, d, "%s%s", env->dry_run ? "dry run, not deleted: " : "",
	       reason);
	return !env->dry_run;
}

/* A new disk gets its block device from sd's probe, which the kernel runs
 * asynchronously: a device just added may not have it yet.  Wait for it,
 * up to 3 s, for a direct-access device (type 0) only; a LUN 0 controller
 * never gets one.  d is read again. */
static void settle(const struct rd_env *env, struct rd_sdev *d)
{
	char hb[RD_HCTL_LEN], path[PATH_MAX], type[16];
	struct rd_sdev now;

	if (d->block[0] || env->dry_run ||
	    rd_path(env, path, sizeof(path), NULL, 0, "class/scsi_device/%s/device/type",
		    rd_hctl_fmt(&d->hctl, hb)) ||
	    rd_read_attr(path, type, sizeof(type)) || strcmp(type, "0"))
		return;
	for (int i = 0; i < 60; i++) {
		struct timespec ts = { 0, 50 * 1000000L };

		nanosleep(&ts, NULL);
		if (rd_sdev_read(env, &d->hctl, &now, NULL, 0) <= 0)
			return;
		if (now.block[0]) {
			*d = now;
			return;
		}
	}
	rd_warn("%s: a disk with no block device after 3 s", hb);
}

/* After deleting a device whose LUN number was reused: probe that LUN
 * again so the new content appears as a new device. */
static void reprobe(const struct rd_env *env, const struct rd_session *s,
		    const struct rd_hctl *h, struct rd_changes *out)
{
	char spec[80], err[512], hb[RD_HCTL_LEN];
	struct rd_sdev d;
	int rc;

	snprintf(spec, sizeof(spec), "%u %u %" PRIu64, h->channel, h->target, h->lun);
	if (rd_host_scan(env, s->host, spec, err, sizeof(err))) {
		change(out, RD_CH_ERROR, s, NULL, "probing LUN %s again: %s", rd_hctl_fmt(h, hb), err);
		return;
	}
	rc = rd_sdev_read(env, h, &d, err, sizeof(err));
	if (rc > 0)
		settle(env, &d);
	if (rc < 0)
		change(out, RD_CH_ERROR, s, NULL, "%s", err);
	else if (rc > 0)
		change(out, RD_CH_NEW, s, &d, "LUN number reused: probed again");
}

/* A LUN the target reports that has no device here, or NULL. */
static const uint64_t *lun_without_device(const struct rd_lunlist *luns,
					  const struct rd_devtab *present)
{
	for (size_t i = 0; i < luns->n; i++) {
		bool found = false;

		for (size_t j = 0; j < present->n && !found; j++)
			found = present->v[j].hctl.lun == luns->v[i];
		if (!found)
			return &luns->v[i];
	}
	return NULL;
}

/* Wait up to env->scan_grace_ms for every LUN of luns to have a device
 * (someone else's scan, iscsid's, is adding them), refreshing *present;
 * the LUN still without one, or NULL. */
static const uint64_t *wait_for_devices(const struct rd_env *env, const struct rd_session *s,
					const struct rd_lunlist *luns, struct rd_devtab *present)
{
	const struct timespec step = { 0, 20 * 1000000 };
	const uint64_t *missing = lun_without_device(luns, present);
	char err[512];

	for (unsigned int waited = 0; missing && waited < env->scan_grace_ms; waited += 20) {
		struct rd_devtab now;

		nanosleep(&step, NULL);
		/* a device being added (or removed) meanwhile can fail a
		 * snapshot that catches it half made: look again next step */
		if (rd_devtab_snapshot(env, s->host, &now, err, sizeof(err)))
			continue;
		rd_devtab_free(present);
		*present = now;
		missing = lun_without_device(luns, present);
	}
	return missing;
}

static int session_pass(const struct rd_env *env, const struct rd_session *s,
			const struct rd_devtab *before, struct rd_changes *out, bool reconcile)
{
	struct rd_devtab mine = { 0 }, after = { 0 };
	struct rd_lunlist luns = { 0 };
	struct rd_hctl *reuse = NULL;
	size_t nreuse = 0;
	char err[512], luns_err[512], reason[640];
	bool luns_known;
	size_t errors = out->errors;

	if (!before) {
		if (rd_devtab_snapshot(env, s->host, &mine, err, sizeof(err))) {
			change(out, RD_CH_ERROR, s, NULL, "session %u: %s", s->sid, err);
			return -1;
		}
		before = &mine;
	}
	if (!reconcile && env->host_scan && rd_host_scan(env, s->host, "- - -", err, sizeof(err)))
		change(out, RD_CH_ERROR, s, NULL, "scanning host%u of session %u: %s", s->host,
		       s->sid, err);
	if (env->rescan_existing)
		for (size_t i = 0; i < before->n; i++) {
			struct rd_sdev now;

			if (rd_sdev_read(env, &before->v[i].hctl, &now, NULL, 0) <= 0)
				continue;
			if (rd_sdev_rescan(env, &before->v[i].hctl, err, sizeof(err)))
				change(out, RD_CH_ERROR, s, &before->v[i], "%s", err);
		}
	if (rd_devtab_snapshot(env, s->host, &after, err, sizeof(err))) {
		change(out, RD_CH_ERROR, s, NULL, "session %u: %s", s->sid, err);
		goto out;
	}

	luns_err[0] = '\0';
	luns_known = env->report_luns &&
		     !env->report_luns(env, s, &after, &luns, luns_err, sizeof(luns_err));
	/* a reconcile scans only when the target has a LUN that has no device
	 * here (iscsid does not scan, or has not yet): once */
	if (reconcile && luns_known && env->host_scan) {
		const uint64_t *missing = lun_without_device(&luns, &after);

		if (missing && env->scan_grace_ms) {
			rd_debug("session %u: LUN %" PRIu64 " has no device yet: waiting up to %u ms "
				 "for iscsid's scan", s->sid, *missing, env->scan_grace_ms);
			missing = wait_for_devices(env, s, &luns, &after);
		}
		if (missing) {
			rd_info("session %u (%s): the target reports LUN %" PRIu64 ", which has no "
				"device here: scanning host%u once", s->sid, s->target, *missing,
				s->host);
			if (rd_host_scan(env, s->host, "- - -", err, sizeof(err))) {
				change(out, RD_CH_ERROR, s, NULL, "scanning host%u of session %u: %s",
				       s->host, s->sid, err);
			} else {
				rd_devtab_free(&after);
				if (rd_devtab_snapshot(env, s->host, &after, err, sizeof(err))) {
					change(out, RD_CH_ERROR, s, NULL, "session %u: %s", s->sid, err);
					goto out;
				}
			}
		}
	}
	if (!luns_known && env->remove_stale)
		rd_notice("session %u (%s): the target's LUN list is unknown, so only offline "
			  "devices can be found stale: %s", s->sid, s->target,
			  luns_err[0] ? luns_err : "no way to ask");

	reuse = calloc(after.n ? after.n : 1, sizeof(*reuse));
	for (size_t i = 0; i < after.n; i++) {
		const struct rd_sdev *d = &after.v[i];
		const struct rd_sdev *b = rd_devtab_find(before, &d->hctl);

		/* a LUN gone first: its "WWID" is then whatever the target
		 * answers for a LUN it does not have, and probing it again is
		 * pointless */
		if (luns_known && env->remove_stale && !rd_lunlist_has(&luns, d->hctl.lun)) {
			struct rd_sdev gone = *d;

			/* the identity it had: a rescan of a LUN the target no
			 * longer has reads whatever the target answers for none */
			if (b && b->wwid[0])
				memcpy(gone.wwid, b->wwid, sizeof(gone.wwid));
			snprintf(reason, sizeof(reason), "the target no longer reports LUN %" PRIu64,
				 d->hctl.lun);
			remove_stale(env, s, &gone, reason, out);
			continue;
		}
		if (b && wwid_changed(b, d) && env->remove_wwid_changed) {
			snprintf(reason, sizeof(reason),
				 "its WWID changed from %s to %s: the LUN number now holds other data",
				 b->wwid, d->wwid);
			if (remove_stale(env, s, d, reason, out) && reuse)
				reuse[nreuse++] = d->hctl;
			continue;
		}
		if (!luns_known && env->remove_stale && !strcmp(d->state, "offline")) {
			snprintf(reason, sizeof(reason),
				 "it is offline and the target's LUN list is unknown (%.400s)",
				 luns_err[0] ? luns_err : "no way to ask");
			remove_stale(env, s, d, reason, out);
			continue;
		}
		if (!b) {
			struct rd_sdev nd = *d;

			settle(env, &nd);
			change(out, RD_CH_NEW, s, &nd, NULL);
		} else if (b->size != d->size)
			change(out, RD_CH_RESIZED, s, d, NULL)->old_size = b->size;
	}
	for (size_t i = 0; i < before->n; i++)
		if (!rd_devtab_find(&after, &before->v[i].hctl))
			change(out, RD_CH_REMOVED, s, &before->v[i], "no longer in sysfs");
	for (size_t i = 0; i < nreuse; i++)
		reprobe(env, s, &reuse[i], out);
out:
	free(reuse);
	rd_lunlist_free(&luns);
	rd_devtab_free(&after);
	rd_devtab_free(&mine);
	return out->errors > errors ? -1 : 0;
}

int rd_rescan_session(const struct rd_env *env, const struct rd_session *s,
		      const struct rd_devtab *before, struct rd_changes *out)
{
	return session_pass(env, s, before, out, false);
}

int rd_reconcile_session(const struct rd_env *env, const struct rd_session *s,
			 const struct rd_devtab *before, struct rd_changes *out)
{
	return session_pass(env, s, before, out, true);
}

int rd_rescan_device(const struct rd_env *env, const struct rd_session *s,
		     const struct rd_hctl *h, const struct rd_sdev *before,
		     struct rd_changes *out)
{
	struct rd_sdev was, now;
	char err[512], hb[RD_HCTL_LEN], reason[640];
	size_t errors = out->errors;
	int rc;

	if (!before) {
		rc = rd_sdev_read(env, h, &was, err, sizeof(err));
		if (rc <= 0) {
			change(out, RD_CH_ERROR, s, NULL, "device %s: %s", rd_hctl_fmt(h, hb),
			       rc ? err : "not in sysfs");
			return -1;
		}
		before = &was;
	}
	if (rd_sdev_rescan(env, h, err, sizeof(err))) {
		change(out, RD_CH_ERROR, s, before, "%s", err);
		return -1;
	}
	rc = rd_sdev_read(env, h, &now, err, sizeof(err));
	if (rc < 0) {
		change(out, RD_CH_ERROR, s, before, "%s", err);
	} else if (rc == 0) {
		change(out, RD_CH_REMOVED, s, before, "no longer in sysfs");
	} else if (wwid_changed(before, &now) && env->remove_wwid_changed) {
		snprintf(reason, sizeof(reason),
			 "its WWID changed from %s to %s: the LUN number now holds other data",
			 before->wwid, now.wwid);
		if (remove_stale(env, s, &now, reason, out))
			reprobe(env, s, h, out);
	} else if (before->size != now.size) {
		change(out, RD_CH_RESIZED, s, &now, NULL)->old_size = before->size;
	}
	return out->errors > errors ? -1 : 0;
}

bool rd_luns_differ(const struct rd_env *env, const struct rd_session *s,
		    const struct rd_devtab *present, char *err, size_t errlen)
{
	struct rd_lunlist luns = { 0 };
	bool differ = false;

	if (!env->report_luns) {
		snprintf(err, errlen, "no way to ask the target for its LUNs");
		return false;
	}
	if (env->report_luns(env, s, present, &luns, err, errlen))
		return false;
	for (size_t i = 0; i < present->n && !differ; i++)
		differ = !rd_lunlist_has(&luns, present->v[i].hctl.lun);
	for (size_t i = 0; i < luns.n && !differ; i++) {
		bool found = false;

		for (size_t j = 0; j < present->n && !found; j++)
			found = present->v[j].hctl.lun == luns.v[i];
		differ = !found;
	}
	rd_lunlist_free(&luns);
	return differ;
}
