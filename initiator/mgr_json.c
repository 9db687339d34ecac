// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mgr_json.c: reading the desired links and writing the report (see
 * mgr_json.h).  Fields are read with the policy API's own bounded readers
 * (policy/json_req.h), so a host takes exactly what a manager may send.
 */
#include "mgr_json.h"
#include "json_req.h"
#include "lunlink/errmsg.h"

#include <stdlib.h>
#include <string.h>

static int copy(json_object *o, const char *field, bool required, size_t max,
		enum pjr_charset cs, char *out, size_t outlen, struct pjr_err *e)
{
	const char *s = NULL;

	if (pjr_string(o, field, required, max < outlen ? max : outlen - 1, cs, &s, e))
		return -1;
	snprintf(out, outlen, "%s", s ? s : "");
	return 0;
}

/* The fields after volume and revision; -1 with e naming the field. */
static int read_entry(json_object *o, struct rd_link_req *r, struct pjr_err *e)
{
	const char *action = NULL;
	json_object *chap;
	int64_t v;

	if (pjr_string(o, "action", true, 16, PJR_NAME, &action, e))
		return -1;
	if (strcmp(action, "link") && strcmp(action, "unlink"))
		return pjr_fail(e, 400, "action", "'%s' is neither link nor unlink", action);
	r->unlink = !strcmp(action, "unlink");
	if (copy(o, "target", true, sizeof(r->target) - 1, PJR_TEXT, r->target, sizeof(r->target), e) ||
	    copy(o, "portal", true, sizeof(r->portal) - 1, PJR_TEXT, r->portal, sizeof(r->portal), e) ||
	    copy(o, "wwid", true, RD_MGR_WWID_MAX, PJR_NAME, r->wwid, sizeof(r->wwid), e))
		return -1;
	if (strchr(r->target, ' ') || strchr(r->portal, ' '))
		return pjr_fail(e, 400, strchr(r->target, ' ') ? "target" : "portal",
				"has a blank");
	v = 0;
	if (pjr_int(o, "lun", true, 0, 16383, &v, e))
		return -1;
	r->lun = (uint64_t)v;
	v = 0;
	if (pjr_int(o, "size", !r->unlink, 0, INT64_MAX, &v, e))
		return -1;
	r->size = (uint64_t)v;
	v = 30;
	if (pjr_int(o, "timeout_s", false, 1, 3600, &v, e))
		return -1;
	r->timeout_s = (unsigned int)v;
	r->force = false;
	if (pjr_bool(o, "force", false, &r->force, e))
		return -1;
	if (json_object_object_get_ex(o, "chap", &chap) && !json_object_is_type(chap, json_type_null)) {
		if (!json_object_is_type(chap, json_type_object))
			return pjr_fail(e, 400, "chap", "not an object");
		if (copy(chap, "user", true, sizeof(r->chap_user) - 1, PJR_TEXT, r->chap_user,
			 sizeof(r->chap_user), e) ||
		    copy(chap, "secret", true, sizeof(r->chap_secret) - 1, PJR_TEXT, r->chap_secret,
			 sizeof(r->chap_secret), e))
			return -1;
	}
	return 0;
}

int rd_mgr_desired_read(json_object *j, struct rd_mgr_desired *d, char *err, size_t errlen)
{
	struct pjr_err e = { 0 };
	json_object *links = NULL;
	int64_t rev = 0;
	bool changed = true;
	size_t n;

	memset(d, 0, sizeof(*d));
	if (!j || !json_object_is_type(j, json_type_object))
		return ll_fail(err, errlen, "the desired links are not a JSON object");
	if (pjr_int(j, "desired_revision", true, 0, INT64_MAX, &rev, &e) ||
	    pjr_bool(j, "changed", false, &changed, &e))
		return ll_fail(err, errlen, "the desired links' field '%s': %s", e.field, e.message);
	d->revision = rev;
	d->changed = changed;
	if (!json_object_object_get_ex(j, "links", &links) || json_object_is_type(links, json_type_null))
		return 0;
	/* from here a refusal leaves d as it found it: zero */
	if (!json_object_is_type(links, json_type_array)) {
		ll_fail(err, errlen, "the desired links' field 'links' is not an array");
		goto err;
	}
	n = json_object_array_length(links);
	if (n > RD_MGR_LINKS_MAX) {
		ll_fail(err, errlen, "%zu desired links: more than the %d the manager takes back",
			n, RD_MGR_LINKS_MAX);
		goto err;
	}
	d->v = calloc(n ? n : 1, sizeof(*d->v));
	if (!d->v) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(links, i);
		struct rd_mgr_link *l = &d->v[d->n];

		if (!json_object_is_type(o, json_type_object)) {
			ll_fail(err, errlen, "desired link %zu is not an object", i);
			goto err;
		}
		/* revision 0 is none: the manager would refuse it as link_revision */
		rev = 0;
		if (copy(o, "volume", true, PJR_NAME_MAX, PJR_NAME, l->req.volume,
			 sizeof(l->req.volume), &e) ||
		    pjr_int(o, "revision", true, 1, INT64_MAX, &rev, &e)) {
			ll_fail(err, errlen, "desired link %zu, field '%s': %s", i, e.field, e.message);
			goto err;
		}
		for (size_t k = 0; k < d->n; k++)
			if (!strcmp(d->v[k].req.volume, l->req.volume)) {
				ll_fail(err, errlen, "volume %s is listed twice", l->req.volume);
				goto err;
			}
		l->req.revision = rev;
		if (read_entry(o, &l->req, &e))
			snprintf(l->bad, sizeof(l->bad), "the manager's entry has a bad field '%s': %s",
				 e.field, e.message);
		l->pending = true;
		d->n++;
	}
	return 0;
err:
	rd_mgr_desired_free(d);
	return -1;
}

void rd_mgr_desired_free(struct rd_mgr_desired *d)
{
	if (d->v)
		explicit_bzero(d->v, d->n * sizeof(*d->v));	/* CHAP secrets */
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

json_object *rd_mgr_report_json(const struct rd_mgr_ident *id, const struct rd_mgr_link *v,
				size_t n)
{
	json_object *o = json_object_new_object(), *links = json_object_new_array();

	add_str(o, "initiator", id->initiator);
	add_str(o, "hostname", id->hostname);
	add_str(o, "lunlink_version", id->version ? id->version : "");
	for (size_t i = 0; i < n; i++) {
		const struct rd_link_result *r = &v[i].res;
		json_object *l = json_object_new_object();

		add_str(l, "volume", v[i].req.volume);
		json_object_object_add(l, "link_revision", json_object_new_int64(v[i].req.revision));
		add_str(l, "state", rd_link_state_name(r->state));
		add_str(l, "device", r->device);
		add_str(l, "by_id", r->by_id);
		add_str(l, "wwid", r->wwid[0] ? r->wwid : v[i].req.wwid);
		json_object_object_add(l, "size", json_object_new_int64((int64_t)r->size));
		add_str(l, "multipath", r->multipath);
		json_object_object_add(l, "login_ms", json_object_new_int64(r->login_ms));
		json_object_object_add(l, "scan_ms", json_object_new_int64(r->scan_ms));
		json_object_object_add(l, "device_ms", json_object_new_int64(r->device_ms));
		add_str(l, "error", r->error);
		json_object_array_add(links, l);
	}
	json_object_object_add(o, "links", links);
	return o;
}
