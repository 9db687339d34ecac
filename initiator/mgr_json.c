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

/* "moved_from": {"target","portal","lun"}, the address the volume was
 * served at before this entry's (doc/link.md, "When a volume moves");
 * absent or null: none.  Its fields are named "moved_from.FIELD". */
static int read_moved_from(json_object *o, struct rd_link_req *r, struct pjr_err *e)
{
	json_object *m;
	int64_t v = 0;

	memset(&r->moved_from, 0, sizeof(r->moved_from));
	if (!json_object_object_get_ex(o, "moved_from", &m) || json_object_is_type(m, json_type_null))
		return 0;
	if (!json_object_is_type(m, json_type_object))
		return pjr_fail(e, 400, "moved_from", "not an object");
	if (copy(m, "target", true, sizeof(r->moved_from.target) - 1, PJR_TEXT, r->moved_from.target,
		 sizeof(r->moved_from.target), e) ||
	    copy(m, "portal", true, sizeof(r->moved_from.portal) - 1, PJR_TEXT, r->moved_from.portal,
		 sizeof(r->moved_from.portal), e) ||
	    pjr_int(m, "lun", true, 0, 16383, &v, e)) {
		/* the field inside moved_from, named as such */
		char field[sizeof(e->field)];

		snprintf(field, sizeof(field), "moved_from.%.40s", e->field);
		memcpy(e->field, field, sizeof(field));
		memset(&r->moved_from, 0, sizeof(r->moved_from));
		return -1;
	}
	r->moved_from.lun = (uint64_t)v;
	if (!r->moved_from.target[0] || !r->moved_from.portal[0] ||
	    strchr(r->moved_from.target, ' ') || strchr(r->moved_from.portal, ' ')) {
		bool t = !r->moved_from.target[0] || strchr(r->moved_from.target, ' ');

		memset(&r->moved_from, 0, sizeof(r->moved_from));
		return pjr_fail(e, 400, t ? "moved_from.target" : "moved_from.portal",
				"is empty or has a blank");
	}
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
	r->multipath = false;
	if (pjr_bool(o, "multipath", false, &r->multipath, e) || read_moved_from(o, r, e))
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

/*
 * What the manager takes of a report's link (policy/report.c, the host's
 * report): one field out of bounds refuses the whole report, heartbeat and
 * all, so the host sends each within them.  t/fuzz/fuzz-mgr-json.c checks
 * that the two agree.
 */
#define REPORT_DEVICE_MAX	32
#define REPORT_BY_ID_MAX	255
#define REPORT_WWID_MAX		80
#define REPORT_MULTIPATH_MAX	64
#define REPORT_ERROR_MAX	512
#define REPORT_SIZE_MAX		(1ULL << 60)
#define REPORT_STEP_MS_MAX	(3600 * 1000)

/* The length of the UTF-8 character at s (at most left bytes), 0 if it is
 * not one. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] >= 0xf5 || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* v as text the manager takes (PJR_TEXT): at most max bytes, cut between
 * characters; a control character becomes a blank, a byte that is not
 * UTF-8 a '?'.  The host's messages quote what iscsiadm and sysfs said. */
static void add_text(json_object *o, const char *k, const char *v, size_t max)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t len = strlen(v), i = 0, n = 0, cl;
	char *out = malloc(max + 1);

	if (!out) {
		add_str(o, k, "");
		return;
	}
	while (i < len && n < max) {
		if (s[i] < 0x80) {
			out[n++] = s[i] < 0x20 || s[i] == 0x7f ? ' ' : (char)s[i];
			i++;
		} else if ((cl = utf8_len(s + i, len - i))) {
			if (n + cl > max)
				break;
			memcpy(out + n, s + i, cl);
			n += cl;
			i += cl;
		} else {
			out[n++] = '?';
			i++;
		}
	}
	out[n] = '\0';
	add_str(o, k, out);
	free(out);
}

static void add_ms(json_object *o, const char *k, unsigned int ms)
{
	json_object_object_add(o, k, json_object_new_int64(ms < REPORT_STEP_MS_MAX ? ms :
								 REPORT_STEP_MS_MAX));
}

/* One link's entry; the higher the level, the less detail, so that many
 * links with long messages still fit in one request body. */
static json_object *report_link(const struct rd_mgr_link *v, int level)
{
	static const size_t error_max[] = { REPORT_ERROR_MAX, 128, 32 };
	const struct rd_link_result *r = &v->res;
	json_object *l = json_object_new_object();
	bool paths = level < 2;

	add_str(l, "volume", v->req.volume);
	json_object_object_add(l, "link_revision", json_object_new_int64(v->req.revision));
	add_str(l, "state", rd_link_state_name(r->state));
	add_text(l, "device", r->device, REPORT_DEVICE_MAX);
	/* a path cut short names no link: none then */
	add_text(l, "by_id", !paths || strncmp(r->by_id, "/dev/", 5) ||
		 strlen(r->by_id) > REPORT_BY_ID_MAX ? "" : r->by_id, REPORT_BY_ID_MAX);
	add_text(l, "wwid", r->wwid[0] ? r->wwid : v->req.wwid, REPORT_WWID_MAX);
	json_object_object_add(l, "size", json_object_new_int64(
		(int64_t)(r->size < REPORT_SIZE_MAX ? r->size : REPORT_SIZE_MAX)));
	add_text(l, "multipath", paths ? r->multipath : "", REPORT_MULTIPATH_MAX);
	add_ms(l, "login_ms", r->login_ms);
	add_ms(l, "scan_ms", r->scan_ms);
	add_ms(l, "device_ms", r->device_ms);
	add_text(l, "error", r->error, error_max[level]);
	return l;
}

static size_t text_len(json_object *o)
{
	return strlen(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/*
 * The manager reads at most PJR_MAX_BODY bytes of a request.  The entries
 * are built at full detail; if they do not fit, again with shorter errors,
 * then without by_id and multipath; at the last level the entries that do
 * not fit are left out (the first RD_MGR_REPORT_ALL always fit).
 */
json_object *rd_mgr_report_json(const struct rd_mgr_ident *id, const struct rd_mgr_link *v,
				size_t n)
{
	json_object *o = json_object_new_object(), *links = json_object_new_array();
	size_t base, total;

	add_str(o, "initiator", id->initiator);
	add_str(o, "hostname", id->hostname);
	add_str(o, "lunlink_version", id->version ? id->version : "");
	json_object_object_add(o, "links", links);
	base = text_len(o);
	for (int level = 0; level < 3; level++) {
		total = base;
		json_object_array_del_idx(links, 0, json_object_array_length(links));
		for (size_t i = 0; i < n; i++) {
			json_object *l = report_link(&v[i], level);
			size_t len = text_len(l) + 1;	/* and a comma */

			if (level == 2 && total + len > PJR_MAX_BODY) {
				json_object_put(l);
				break;
			}
			total += len;
			json_object_array_add(links, l);
		}
		if (total <= PJR_MAX_BODY)
			break;
	}
	return o;
}
