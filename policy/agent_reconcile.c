// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * agent_reconcile.c: one reconciling pass of the node agent (see agent.h):
 * the desired state's images first (a LUN needs its image), then tgtd,
 * planned against what tgtd has now and applied in order.  What failed is
 * said per volume, for the report; nothing is torn down because a step
 * failed: a volume whose image cannot be checked keeps the LUN tgtd serves
 * for it.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *pg_vol_state_name(enum pg_vol_state s)
{
	return s == PG_VOL_READY ? "ready" : s == PG_VOL_WORKING ? "working" : "failed";
}

static void set(struct pg_vol_result *r, enum pg_vol_state s, const char *msg)
{
	/* a failure stays a failure; the first reason for working stays */
	if ((r->state == PG_VOL_FAILED && s != PG_VOL_FAILED) ||
	    (r->state == PG_VOL_WORKING && s == PG_VOL_WORKING))
		return;
	r->state = s;
	snprintf(r->error, sizeof(r->error), "%s", msg ? msg : "");
}

/* The volume's images, made if missing; *grow_to set when one is smaller
 * than wanted and its volume's LUN (lunlink, same path) can grow it.
 * false if an image failed (r says why). */
static bool images_step(const struct pg_reconcile_opts *o, const struct pg_volume *v, bool dry_run,
			uint64_t *grow_to, struct pg_vol_result *r)
{
	char err[PG_ERROR_MAX];

	*grow_to = 0;
	for (size_t k = 0; k < v->nimages; k++) {
		const struct pg_want_image *im = &v->images[k];
		struct pg_image_info info;
		int rc;

		if (pg_image_area(o->areas, o->nareas, im->path, err, sizeof(err)) < 0) {
			set(r, PG_VOL_FAILED, err);
			return false;
		}
		if (dry_run) {
			rc = pg_image_show(&o->img, im->path, &info, err, sizeof(err));
			if (!rc && !info.exists) {
				snprintf(err, sizeof(err), "image %s to be made", im->path);
				set(r, PG_VOL_WORKING, err);
				continue;
			}
		} else {
			rc = pg_image_ensure(&o->img, im->path, im->size, im->max_size, im->volume_id,
					     &info, err, sizeof(err));
		}
		if (rc) {
			set(r, PG_VOL_FAILED, err);
			return false;
		}
		if (info.lunlink && info.data_size < im->size) {
			if (v->has_lun && !strcmp(v->lun.path, im->path) &&
			    !strcmp(v->lun.bstype, "lunlink")) {
				*grow_to = im->size;
				continue;
			}
			snprintf(err, sizeof(err), "image %s holds %llu bytes of the %llu wanted: "
				 "only a lunlink LUN serving it can grow it (resize=); "
				 "lunlink-image has no resize", im->path,
				 (unsigned long long)info.data_size, (unsigned long long)im->size);
			set(r, PG_VOL_FAILED, err);
		}
	}
	return true;
}

static json_object *record_read(const char *path)
{
	json_object *j;

	if (!path || access(path, F_OK))
		return NULL;
	j = json_object_from_file(path);
	return j && json_object_is_type(j, json_type_object) ? j : (json_object_put(j), NULL);
}

int pg_write_private(const char *path, json_object *j, char *err, size_t errlen)
{
	char tmp[4200];
	const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto err;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		close(fd);
		goto err_unlink;
	}
	close(fd);
	if (rename(tmp, path))
		goto err_unlink;
	return 0;
err_unlink:
	unlink(tmp);
err:
	snprintf(err, errlen, "cannot write %s: %s (is the agent's state folder writable?)", path,
		 strerror(errno));
	return -1;
}

static const struct pg_lun *actual_lun(const struct pg_actual *a, const char *iqn,
				       unsigned int lun)
{
	const struct pg_target *t = pg_actual_target(a, iqn);

	for (size_t i = 0; t && i < t->nluns; i++)
		if (t->luns[i].lun == lun)
			return &t->luns[i];
	return NULL;
}

static size_t volume_index(const struct pg_desired *d, const char *name)
{
	for (size_t i = 0; name && i < d->n; i++)
		if (!strcmp(d->volumes[i].name, name))
			return i;
	return d->n;
}

int pg_reconcile(const struct pg_reconcile_opts *o, const struct pg_desired *d, bool dry_run,
		 struct pg_plan *plan_out, struct pg_vol_result *results, char *err, size_t errlen)
{
	struct pg_want_lun *want = calloc(d->n ? d->n : 1, sizeof(*want));
	bool *img_ok = calloc(d->n ? d->n : 1, sizeof(*img_ok));
	uint64_t *grow = calloc(d->n ? d->n : 1, sizeof(*grow));
	struct pg_actual actual = { 0 };
	struct pg_plan plan = { 0 };
	json_object *record = NULL;
	size_t nwant = 0, failed;
	int rc = -1;

	if (plan_out)
		memset(plan_out, 0, sizeof(*plan_out));
	if (!want || !img_ok || !grow) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	for (size_t i = 0; i < d->n; i++) {
		results[i].state = PG_VOL_READY;
		results[i].error[0] = '\0';
		img_ok[i] = images_step(o, &d->volumes[i], dry_run, &grow[i], &results[i]);
	}
	rc = pg_tgt_read(&o->tgt, &actual, err, errlen);
	if (rc) {
		for (size_t i = 0; i < d->n; i++)
			if (d->volumes[i].has_lun)
				set(&results[i], PG_VOL_FAILED, err);
		rc = -1;
		goto err;
	}
	record = record_read(o->record_path);
	pg_actual_recall(&actual, record);
	for (size_t i = 0; i < d->n; i++) {
		const struct pg_volume *v = &d->volumes[i];
		struct pg_want_lun *w = &want[nwant];

		if (!v->has_lun)
			continue;
		*w = v->lun;
		w->grow_to = grow[i];
		if (!img_ok[i]) {
			/* keep what tgtd serves for it, as it is */
			const struct pg_lun *l = actual_lun(&actual, w->iqn, w->lun);

			if (!l)
				continue;
			snprintf(w->path, sizeof(w->path), "%.*s", PG_PATH_MAX, l->path);
			snprintf(w->bstype, sizeof(w->bstype), "%s", l->bstype);
			if (l->bsopts_known)
				snprintf(w->bsopts, sizeof(w->bsopts), "%s", l->bsopts);
			w->grow_to = 0;
		}
		nwant++;
	}
	if (pg_plan_make(&actual, want, nwant, o->iqn_prefix, &plan, err, errlen)) {
		for (size_t i = 0; i < d->n; i++)
			if (d->volumes[i].has_lun)
				set(&results[i], PG_VOL_FAILED, err);
		rc = -1;
		goto err;
	}
	if (dry_run) {
		for (size_t k = 0; k < plan.n; k++) {
			size_t i = volume_index(d, plan.actions[k].volume);

			if (i < d->n)
				set(&results[i], PG_VOL_WORKING, "tgtd to be changed");
		}
	} else if (pg_plan_apply(&o->tgt, &plan, &failed, err, errlen)) {
		size_t i = volume_index(d, plan.actions[failed].volume);
		char wait[PG_ERROR_MAX];

		snprintf(wait, sizeof(wait), "waiting: an earlier step failed: %.400s", err);
		for (size_t k = failed + 1; k < plan.n; k++) {
			size_t j = volume_index(d, plan.actions[k].volume);

			if (j < d->n)
				set(&results[j], PG_VOL_WORKING, wait);
		}
		if (i < d->n)
			set(&results[i], PG_VOL_FAILED, err);
	} else if (o->record_path) {
		json_object *rec = pg_record_json(want, nwant);

		if (pg_write_private(o->record_path, rec, err, errlen))
			fprintf(stderr, "lunlink-policyd: agent: %s\n", err);
		json_object_put(rec);
	}
	rc = 0;
	for (size_t i = 0; i < d->n; i++)
		if (results[i].state != PG_VOL_READY)
			rc = 1;
	if (plan_out) {
		*plan_out = plan;
		memset(&plan, 0, sizeof(plan));
	}
err:
	pg_plan_free(&plan);
	pg_actual_free(&actual);
	if (record)
		json_object_put(record);
	free(want);
	free(img_ok);
	free(grow);
	return rc;
}
