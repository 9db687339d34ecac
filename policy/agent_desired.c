// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * agent_desired.c: read the manager's desired state for this node (see
 * agent_desired.h).  It arrives over mutual TLS from the manager, but the
 * agent checks it as outside input all the same: every string goes to
 * tgtadm or lunlink-image as an argument, so each has its bound and its
 * character set, and a path must be absolute and normalised.
 */
#include "agent_desired.h"
#include "lunlink/initiator.h"
#include "json_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *place, const struct pjr_err *e)
{
	snprintf(err, errlen, "desired state, %s: %s", place, e->message);
	return -1;
}

static int failf(char *err, size_t errlen, const char *place, const char *what)
{
	snprintf(err, errlen, "desired state, %s: %s", place, what);
	return -1;
}

/* An absolute, normalised path of [A-Za-z0-9/._+-], as the manager's own
 * check (report.c) takes them. */
static bool path_ok(const char *p)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-";
	size_t n = strlen(p);

	if (p[0] != '/' || n < 2 || n > PG_PATH_MAX || strspn(p, set) != n)
		return false;
	for (const char *c = p; c; c = strchr(c + 1, '/')) {
		size_t k = strcspn(c + 1, "/");

		if (k == 0 || (k == 1 && c[1] == '.') || (k == 2 && c[1] == '.' && c[2] == '.'))
			return false;
	}
	return true;
}

/* Printable ASCII, no space, no ',' (tgt splits its parameters on it). */
static bool opts_ok(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == ',')
			return false;
	return true;
}

/* A SCSI serial or device id as tgtadm --params takes it (no ',', '='). */
static bool scsi_ok(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_-") ==
	       strlen(s);
}

static int read_image(json_object *o, const char *place, struct pg_want_image *im, char *err,
		      size_t errlen)
{
	const char *area = NULL, *path = NULL, *vid = NULL, *format = NULL;
	struct pjr_err e;
	uint64_t size = 0, max_size = 0;

	if (!json_object_is_type(o, json_type_object))
		return failf(err, errlen, place, "must be an object");
	if (pjr_string(o, "area", false, 63, PJR_NAME, &area, &e) ||
	    pjr_string(o, "path", true, PG_PATH_MAX, PJR_TEXT, &path, &e) ||
	    pjr_size(o, "size", true, 1, 1ULL << 60, &size, &e) ||
	    pjr_size(o, "max_size", false, 0, 1ULL << 60, &max_size, &e) ||
	    pjr_string(o, "volume_id", true, PG_VOLUME_ID_LEN, PJR_NAME, &vid, &e) ||
	    pjr_string(o, "format", false, 15, PJR_NAME, &format, &e))
		return fail(err, errlen, place, &e);
	if (format && strcmp(format, "lunlink") && strcmp(format, "plain"))
		return failf(err, errlen, place, "format must be lunlink or plain");
	if (!path_ok(path))
		return failf(err, errlen, place, "path must be absolute and normalised, of "
			     "letters, digits and /._+-, at most 255 bytes");
	if (!pjr_hex_valid(vid, PG_VOLUME_ID_LEN))
		return failf(err, errlen, place, "volume_id must be 32 lower-case hex digits "
			     "(as lunlink-image show prints it)");
	if (max_size && max_size < size)
		return failf(err, errlen, place, "max_size is smaller than size");
	snprintf(im->area, sizeof(im->area), "%s", area ? area : "");
	snprintf(im->path, sizeof(im->path), "%s", path);
	snprintf(im->volume_id, sizeof(im->volume_id), "%s", vid);
	im->size = size;
	im->max_size = max_size;
	im->plain = format && !strcmp(format, "plain");
	return 0;
}

static int read_lun(json_object *o, const char *place, struct pg_want_lun *w, char *err,
		    size_t errlen)
{
	const char *iqn, *path, *bstype, *bsopts = NULL, *acl[PG_ACL_MAX + 1];
	const char *user = NULL, *password = NULL, *sn = NULL, *id = NULL;
	int64_t tid = 0, lun = 0;
	uint64_t size = 0;
	json_object *chap;
	struct pjr_err e;
	size_t nacl = 0;

	if (!json_object_is_type(o, json_type_object))
		return failf(err, errlen, place, "must be an object or null");
	if (pjr_string(o, "iqn", true, PG_IQN_MAX, PJR_TEXT, &iqn, &e) ||
	    pjr_int(o, "tid", false, 0, PG_TID_MAX, &tid, &e) ||
	    pjr_int(o, "lun", true, 1, PG_LUNS_MAX, &lun, &e) ||
	    pjr_string(o, "path", true, PG_PATH_MAX, PJR_TEXT, &path, &e) ||
	    pjr_string(o, "bstype", true, PG_BSTYPE_MAX, PJR_NAME, &bstype, &e) ||
	    pjr_string(o, "bsopts", false, PG_BSOPTS_MAX, PJR_TEXT, &bsopts, &e) ||
	    pjr_string_array(o, "acl", false, PG_ACL_MAX, PG_IQN_MAX, PJR_TEXT, acl, &e) ||
	    pjr_size(o, "size", false, 0, 1ULL << 60, &size, &e) ||
	    pjr_string(o, "scsi_sn", false, PG_SCSI_ID_MAX, PJR_TEXT, &sn, &e) ||
	    pjr_string(o, "scsi_id", false, PG_SCSI_ID_MAX, PJR_TEXT, &id, &e))
		return fail(err, errlen, place, &e);
	if ((sn && !scsi_ok(sn)) || (id && !scsi_ok(id)))
		return failf(err, errlen, place, "scsi_sn and scsi_id must be at most 36 of "
			     "letters, digits, '.', ':', '_', '-'");
	if (!ll_iscsi_name_valid(iqn, NULL, 0))
		return failf(err, errlen, place, "iqn must be an iSCSI name (iqn.YYYY-MM.domain:"
			     "name, of letters, digits, '.', ':', '-')");
	if (!path_ok(path))
		return failf(err, errlen, place, "path must be absolute and normalised, of "
			     "letters, digits and /._+-, at most 255 bytes");
	if (strcmp(bstype, "lunlink") && strcmp(bstype, "rdwr"))
		return failf(err, errlen, place, "bstype must be lunlink or rdwr");
	if (bsopts && !opts_ok(bsopts))
		return failf(err, errlen, place, "bsopts must be printable, with no space or ','");
	while (acl[nacl])
		nacl++;
	w->acl = calloc(nacl ? nacl : 1, sizeof(*w->acl));
	if (!w->acl)
		return failf(err, errlen, place, "out of memory");
	for (size_t i = 0; i < nacl; i++) {
		if (strcmp(acl[i], "ALL") && !ll_iscsi_name_valid(acl[i], NULL, 0))
			return failf(err, errlen, place, "each acl entry must be an initiator's "
				     "iSCSI name, or ALL");
		snprintf(w->acl[i], sizeof(*w->acl), "%s", acl[i]);
	}
	w->nacl = nacl;
	if (json_object_object_get_ex(o, "chap", &chap) && !json_object_is_type(chap, json_type_null)) {
		if (!json_object_is_type(chap, json_type_object) ||
		    pjr_string(chap, "user", true, PG_USER_MAX, PJR_NAME, &user, &e) ||
		    pjr_string(chap, "secret", true, PG_SECRET_MAX, PJR_TEXT, &password, &e))
			return failf(err, errlen, place, "chap must be {\"user\",\"secret\"}: a "
				     "name and a secret of at most 63 bytes");
		if (!opts_ok(password) || strlen(password) < 12)
			return failf(err, errlen, place, "chap.secret must be 12 to 63 printable "
				     "characters, no space or ','");
		snprintf(w->chap_user, sizeof(w->chap_user), "%s", user);
		snprintf(w->chap_password, sizeof(w->chap_password), "%s", password);
	}
	snprintf(w->iqn, sizeof(w->iqn), "%s", iqn);
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->bstype, sizeof(w->bstype), "%s", bstype);
	snprintf(w->bsopts, sizeof(w->bsopts), "%s", bsopts ? bsopts : "");
	snprintf(w->scsi_sn, sizeof(w->scsi_sn), "%s", sn ? sn : "");
	snprintf(w->scsi_id, sizeof(w->scsi_id), "%s", id ? id : "");
	w->size = size;
	w->tid = (unsigned int)tid;
	w->lun = (unsigned int)lun;
	return 0;
}

int pg_desired_read(json_object *j, struct pg_desired *d, char *err, size_t errlen)
{
	json_object *vols;
	struct pjr_err e;
	char place[160];
	size_t n;

	memset(d, 0, sizeof(*d));
	d->changed = true;
	if (!json_object_is_type(j, json_type_object))
		return failf(err, errlen, "body", "must be a JSON object");
	if (pjr_int(j, "revision", false, 0, INT64_MAX, &d->revision, &e) ||
	    pjr_int(j, "desired_revision", false, 0, INT64_MAX, &d->revision, &e) ||
	    pjr_bool(j, "changed", false, &d->changed, &e))
		return fail(err, errlen, e.field, &e);
	if (!json_object_object_get_ex(j, "volumes", &vols) || !d->changed)
		return 0;
	if (!json_object_is_type(vols, json_type_object))
		return failf(err, errlen, "volumes", "must be an object of volumes by name");
	n = (size_t)json_object_object_length(vols);
	if (n > PG_VOLUMES_MAX)
		return failf(err, errlen, "volumes", "more than 1024 volumes on one node");
	d->volumes = calloc(n ? n : 1, sizeof(*d->volumes));
	if (!d->volumes)
		return failf(err, errlen, "volumes", "out of memory");
	json_object_object_foreach(vols, name, vol) {
		struct pg_volume *pv = &d->volumes[d->n++];
		json_object *images, *lun;

		snprintf(place, sizeof(place), "volumes.%.63s", name);
		if (!pjr_name_valid(name, strlen(name))) {
			failf(err, errlen, place, "a volume's name must be 1 to 63 of letters, "
			      "digits, '.', '_', '-'");
			goto err;
		}
		snprintf(pv->name, sizeof(pv->name), "%s", name);
		if (!json_object_is_type(vol, json_type_object)) {
			failf(err, errlen, place, "must be an object");
			goto err;
		}
		if (json_object_object_get_ex(vol, "images", &images) &&
		    !json_object_is_type(images, json_type_null)) {
			if (!json_object_is_type(images, json_type_array) ||
			    json_object_array_length(images) > PG_VOLUME_IMAGES_MAX) {
				snprintf(place, sizeof(place), "volumes.%.63s.images", name);
				failf(err, errlen, place, "must be an array of at most 8 images");
				goto err;
			}
			for (size_t i = 0; i < json_object_array_length(images); i++) {
				snprintf(place, sizeof(place), "volumes.%.63s.images[%zu]", name, i);
				if (read_image(json_object_array_get_idx(images, i), place,
					       &pv->images[pv->nimages++], err, errlen))
					goto err;
			}
		}
		if (pjr_bool(vol, "delete", false, &pv->delete, &e)) {
			fail(err, errlen, place, &e);
			goto err;
		}
		if (json_object_object_get_ex(vol, "delete_images", &images) &&
		    !json_object_is_type(images, json_type_null)) {
			if (!json_object_is_type(images, json_type_array) ||
			    json_object_array_length(images) > PG_VOLUME_IMAGES_MAX) {
				snprintf(place, sizeof(place), "volumes.%.63s.delete_images", name);
				failf(err, errlen, place, "must be an array of at most 8 images");
				goto err;
			}
			for (size_t i = 0; i < json_object_array_length(images); i++) {
				snprintf(place, sizeof(place), "volumes.%.63s.delete_images[%zu]",
					 name, i);
				if (read_image(json_object_array_get_idx(images, i), place,
					       &pv->delete_images[pv->ndelete_images++], err, errlen))
					goto err;
			}
		}
		if (json_object_object_get_ex(vol, "lun", &lun) &&
		    !json_object_is_type(lun, json_type_null)) {
			snprintf(place, sizeof(place), "volumes.%.63s.lun", name);
			pv->has_lun = true;
			pv->lun.volume = pv->name;
			if (read_lun(lun, place, &pv->lun, err, errlen))
				goto err;
		}
	}
	return 0;
err:
	pg_desired_free(d);
	return -1;
}

void pg_desired_free(struct pg_desired *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->volumes[i].lun.acl);
	free(d->volumes);
	memset(d, 0, sizeof(*d));
}
