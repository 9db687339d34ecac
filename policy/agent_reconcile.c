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
#include <sys/stat.h>
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

/* Whether a LUN's bsopts export its lunlink image raw (raw=on, a
 * mirror's leg): tgtd then serves the whole file, superblock first. */
static bool raw_on(const char *bsopts)
{
	for (const char *p = bsopts; (p = strstr(p, "raw=on")); p++)
		if ((p == bsopts || p[-1] == ':' || p[-1] == ';') && (!p[6] || p[6] == ':' ||
								     p[6] == ';'))
			return true;
	return false;
}

/* Whether a LUN's bsopts join other extents to its image (extent=). */
static bool has_extents(const char *bsopts)
{
	for (const char *p = bsopts; (p = strstr(p, "extent=")); p++)
		if (p == bsopts || p[-1] == ';' || p[-1] == ':')
			return true;
	return false;
}

/*
 * A lunlink image exported raw (a mirror's leg) that must hold want bytes
 * of data.  Its LUN is the whole file, and its superblock is the
 * primary's to write: the primary writes the new data size to its legs
 * when it grows, and only after it saw each leg large enough (it asks
 * their capacity), so that it never writes past a leg's end.  The leg
 * therefore grows its file alone, through its own LUN: resize=SIZE on a
 * raw LUN extends the file (sparse) and takes the new size in the one
 * process that has it open, and the primary's session gets UNIT
 * ATTENTION 2A/09 and asks again.  A file grown already (a round that
 * ran the resize, or by hand) needs only tgtd to show its size
 * (resize=reread, which the planner leaves out when tgtd does).  false if
 * the image cannot hold want (r says why).
 */
static bool leg_room(const struct pg_want_image *im, const struct pg_image_info *info,
		     uint64_t want, struct pg_want_lun *lun, struct pg_vol_result *r)
{
	char err[PG_ERROR_MAX];
	uint64_t need = info->data_offset + want;

	if (info->data_size >= want)
		return true;
	if (want > info->max_data_size) {
		snprintf(err, sizeof(err), "image %s cannot grow to %llu bytes of data: it was made "
			 "for at most %llu (lunlink-image create --max-size; its dirty-region map "
			 "covers that much); make a new volume of the size wanted and copy the data",
			 im->path, (unsigned long long)want,
			 (unsigned long long)info->max_data_size);
		set(r, PG_VOL_FAILED, err);
		return false;
	}
	if (!info->file_bytes) {
		snprintf(err, sizeof(err), "image %s is a block device, which the agent cannot "
			 "grow; grow it with its own tools to at least %llu bytes", im->path,
			 (unsigned long long)need);
		set(r, PG_VOL_FAILED, err);
		return false;
	}
	if (info->file_bytes < need) {
		lun->grow_to = need;
	} else {
		lun->reread = true;
		lun->file_bytes = info->file_bytes;
	}
	return true;
}

/* The volume's images, made if missing; what the LUN needs to grow set in
 * *lun (grow_to: a lunlink LUN grows its image with resize=SIZE;
 * file_bytes: an rdwr LUN's file size).  false if an image failed (r says
 * why). */
static bool images_step(const struct pg_reconcile_opts *o, const struct pg_volume *v, bool dry_run,
			struct pg_want_lun *lun, struct pg_vol_result *r)
{
	bool lunlink_lun = v->has_lun && !strcmp(v->lun.bstype, "lunlink");
	bool raw = lunlink_lun && raw_on(v->lun.bsopts);
	char err[PG_ERROR_MAX];

	lun->grow_to = 0;
	lun->file_bytes = 0;
	lun->reread = false;
	for (size_t k = 0; k < v->nimages; k++) {
		const struct pg_want_image *im = &v->images[k];
		bool served = v->has_lun && !strcmp(v->lun.path, im->path);
		uint64_t want = im->size;
		struct pg_image_info info;
		int rc;

		/* the LUN's size, where the LUN is this image's alone: a LUN
		 * joined with extent= (an integrated volume) is larger than
		 * its first part, which grows by its own size */
		if (served && v->lun.size > want && !has_extents(v->lun.bsopts))
			want = v->lun.size;
		if (pg_image_area(o->areas, o->nareas, im->path, err, sizeof(err)) < 0) {
			set(r, PG_VOL_FAILED, err);
			return false;
		}
		if (im->plain) {
			bool todo;
			uint64_t bytes;

			if (pg_plain_ensure(im->path, want, dry_run, &todo, &bytes, err,
					    sizeof(err))) {
				set(r, PG_VOL_FAILED, err);
				return false;
			}
			if (dry_run && todo) {
				snprintf(err, sizeof(err), "plain image %s to be made or grown to %llu "
					 "bytes", im->path, (unsigned long long)want);
				set(r, PG_VOL_WORKING, err);
			}
			if (served)
				lun->file_bytes = r->size = bytes;
			continue;
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
		if (served && info.lunlink)
			r->size = info.data_size;
		if (!info.lunlink || info.data_size >= want)
			continue;
		if (served && lunlink_lun && raw) {
			if (!leg_room(im, &info, want, lun, r))
				return false;
			continue;
		}
		if (served && lunlink_lun) {
			lun->grow_to = want;	/* resize=SIZE grows the image too */
			continue;
		}
		snprintf(err, sizeof(err), "image %s holds %llu bytes of the %llu wanted: it grows "
			 "only through a lunlink LUN that serves it (resize=), and none does",
			 im->path, (unsigned long long)info.data_size, (unsigned long long)want);
		set(r, PG_VOL_FAILED, err);
	}
	/* an rdwr LUN on a file that is none of this volume's images: its size
	 * as it is (tgtd is made to read it again when it grew) */
	if (v->has_lun && !strcmp(v->lun.bstype, "rdwr") && !lun->file_bytes) {
		struct stat st;

		if (!stat(v->lun.path, &st) && S_ISREG(st.st_mode))
			lun->file_bytes = r->size = (uint64_t)st.st_size;
	}
	return true;
}

/* A deletion order's images, once tgtd serves none of them: each deleted
 * if it is the volume's (lunlink: its superblock names volume_id; plain:
 * in an area, as named).  Another wanted LUN on the path keeps it. */
static void delete_step(const struct pg_reconcile_opts *o, const struct pg_desired *d,
			const struct pg_volume *v, bool dry_run, struct pg_vol_result *r)
{
	char err[PG_ERROR_MAX];

	for (size_t k = 0; k < v->ndelete_images; k++) {
		const struct pg_want_image *im = &v->delete_images[k];
		bool used = false;
		int rc;

		for (size_t i = 0; i < d->n; i++)
			used |= d->volumes[i].has_lun && !d->volumes[i].delete &&
				!strcmp(d->volumes[i].lun.path, im->path);
		if (used) {
			snprintf(err, sizeof(err), "image %s is not deleted: another volume's LUN "
				 "uses it", im->path);
			set(r, PG_VOL_FAILED, err);
			continue;
		}
		if (dry_run) {
			if (!access(im->path, F_OK)) {
				snprintf(err, sizeof(err), "image %s to be deleted", im->path);
				set(r, PG_VOL_WORKING, err);
			}
			continue;
		}
		rc = im->plain ? pg_plain_delete(o->areas, o->nareas, im->path, err, sizeof(err)) :
		     pg_image_delete(&o->img, o->areas, o->nareas, im->path, im->volume_id, err,
				     sizeof(err));
		if (rc)
			set(r, PG_VOL_FAILED, err);
	}
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
	struct pg_want_lun *grow = calloc(d->n ? d->n : 1, sizeof(*grow));
	struct pg_actual actual = { 0 };
	struct pg_plan plan = { 0 };
	json_object *record = NULL;
	char why[PG_ERROR_MAX];
	size_t nwant = 0, failed;
	int rc = -1, plan_failed = 0;

	if (plan_out)
		memset(plan_out, 0, sizeof(*plan_out));
	if (!want || !img_ok || !grow) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	for (size_t i = 0; i < d->n; i++) {
		results[i].state = PG_VOL_READY;
		results[i].error[0] = '\0';
		results[i].size = 0;
		img_ok[i] = d->volumes[i].delete ||
			    images_step(o, &d->volumes[i], dry_run, &grow[i], &results[i]);
	}
	rc = pg_tgt_read(&o->tgt, &actual, err, errlen);
	if (rc) {
		for (size_t i = 0; i < d->n; i++)
			if (d->volumes[i].has_lun || d->volumes[i].delete)
				set(&results[i], PG_VOL_FAILED, err);
		rc = -1;
		goto err;
	}
	record = record_read(o->record_path);
	pg_actual_recall(&actual, record);
	for (size_t i = 0; i < d->n; i++) {
		const struct pg_volume *v = &d->volumes[i];
		struct pg_want_lun *w = &want[nwant];

		if (!v->has_lun || v->delete)
			continue;	/* a deletion order: its LUN goes as not wanted */
		*w = v->lun;
		w->grow_to = grow[i].grow_to;
		w->file_bytes = grow[i].file_bytes;
		w->reread = grow[i].reread;
		/* the options as this node's tgtd gets them (its agent's
		 * pr_socket): planned and recorded so, compared so */
		if (img_ok[i] && pg_bsopts_for_node(v->lun.bsopts, o->pr_socket, w->bsopts,
						    sizeof(w->bsopts), why, sizeof(why))) {
			set(&results[i], PG_VOL_FAILED, why);
			img_ok[i] = false;
		}
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
			w->file_bytes = 0;
			w->reread = false;
		}
		nwant++;
	}
	if (pg_plan_make(&actual, want, nwant, o->iqn_prefix, &plan, err, errlen)) {
		for (size_t i = 0; i < d->n; i++)
			if (d->volumes[i].has_lun || d->volumes[i].delete)
				set(&results[i], PG_VOL_FAILED, err);
		rc = -1;
		goto err;
	}
	/* a deletion order is done only once tgtd let go of its LUN: the
	 * actions that remove it name no volume, so any change pending (a
	 * dry run) or failed keeps it working */
	for (size_t i = 0; i < d->n && plan.n; i++)
		if (d->volumes[i].delete)
			set(&results[i], PG_VOL_WORKING, dry_run ? "tgtd to be changed" :
			    "waiting for tgtd to let go of the volume's LUN");
	if (dry_run) {
		for (size_t k = 0; k < plan.n; k++) {
			size_t i = volume_index(d, plan.actions[k].volume);

			if (i < d->n)
				set(&results[i], PG_VOL_WORKING, "tgtd to be changed");
		}
	} else if ((plan_failed = pg_plan_apply(&o->tgt, &plan, &failed, err, errlen))) {
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
	/* deletion orders' images, once their LUNs are gone: only after a
	 * plan that ran whole (a dry run says what it would delete) */
	/* a LUN grown by the plan that ran whole has its new size (a raw
	 * leg's is its file's: its data size is the superblock's, which its
	 * primary writes) */
	for (size_t i = 0; i < d->n && !dry_run && !plan_failed; i++)
		if (grow[i].grow_to && results[i].state != PG_VOL_FAILED &&
		    !raw_on(d->volumes[i].lun.bsopts))
			results[i].size = grow[i].grow_to;
	for (size_t i = 0; i < d->n; i++) {
		if (!d->volumes[i].delete || (!dry_run && plan_failed))
			continue;
		if (!dry_run && results[i].state == PG_VOL_WORKING) {
			results[i].state = PG_VOL_READY;	/* the plan ran whole */
			results[i].error[0] = '\0';
		}
		delete_step(o, d, &d->volumes[i], dry_run, &results[i]);
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
