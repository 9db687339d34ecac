// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * report.c: the agent's report (POST /v1/nodes/report), checked field by
 * field and rebuilt from the checked fields only, so that what the
 * manager stores under reports/ID and actual/ID/NAME is bounded and of
 * known shape whatever the agent sent.  Nested fields are named in errors
 * by their place: "areas[2].path", "volumes.db.state".  Fuzzed by
 * t/fuzz/fuzz-report.c.
 *
 *   {"address": "10.0.0.5", "portals": ["10.0.0.5:3260"],
 *    "tgt_version": "1.0.85", "lunlink_version": "0.1",
 *    "initiator": "iqn.2026-11.org.lunlink:db1",
 *    "tgtd": {"up": true, "version": "1.0.85"},
 *    "areas": [{"path": "/srv/lunlink", "size": N, "used": N, "free": N}],
 *    "luns": [{"tid": 1, "lun": 1, "iqn": "iqn...", "path": "/...", "size": N}],
 *    "pr": [{"volume": "32 hex digits", "tid": 1, "lun": 1}],
 *    "volumes": {"db": {"state": "ready"|"working"|"failed", "error": "...",
 *                       "desired_revision": N, "size": N,
 *                       "copies": [{"node": "ID", "url": "iscsi://...",
 *                                   "state": "up"|"syncing"|"connecting"|"down"|"refused",
 *                                   "left_bytes": N, "error": "..."}],
 *                       "leg_generation": "16 hex digits",
 *                       "lease": {"state": "none"|"held"|"expired"|"deposed",
 *                                 "epoch": N, "generation": "16 hex digits"}}}}
 *
 * Every field is optional: an agent reports what it knows.  Paths (areas',
 * images') are checked here too (pm_path_check), so that this file and
 * json_req.c are all the fuzz target needs.
 */
#include "lunlink/initiator.h"
#include "manager_int.h"

#include <stdio.h>
#include <string.h>

#define PORTALS_MAX	16
#define AREAS_MAX	64
#define LUNS_MAX	1024
#define VOLUMES_MAX	1024
#define VERSION_MAX	64
#define ERROR_MAX	512
#define SIZE_MAX_BYTES	(1ULL << 60)
#define COPIES_MAX	16	/* a serving LUN's legs or remote extents */
#define URL_MAX		300
#define PR_MAX		1024	/* LUNs whose module shares a volume's reservations */

int pm_path_check(const char *path, const char *field, struct pjr_err *e)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-";
	size_t len = strlen(path);
	const char *c;

	if (path[0] != '/')
		return pjr_fail(e, 400, field, "field '%s' must be an absolute path (starting with /), "
				"not '%.64s'", field, path);
	if (len > PM_PATH_MAX)
		return pjr_fail(e, 400, field, "field '%s' is %zu bytes long, more than the %d allowed",
				field, len, PM_PATH_MAX);
	if (strspn(path, set) != len)
		return pjr_fail(e, 400, field, "field '%s' has a character not allowed at byte %zu "
				"(letters, digits and /._+- only)", field, strspn(path, set));
	if (len == 1)
		return pjr_fail(e, 400, field, "field '%s' is the root directory; give a directory "
				"or a device of its own", field);
	for (c = path; c; c = strchr(c + 1, '/')) {
		size_t n = strcspn(c + 1, "/");

		if (n == 0 || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
			return pjr_fail(e, 400, field, "field '%s' must be a normalised path: no empty, "
					"'.' or '..' parts, no / at the end", field);
	}
	return 0;
}

/* Name the field at fault by its place: field 'path' -> 'areas[2].path'. */
static int nested(struct pjr_err *e, const char *place)
{
	char field[sizeof(e->field)], msg[sizeof(e->message)], quoted[80];
	size_t qlen;

	/* cut short at the bounds if need be: still a name a person can find */
	if (snprintf(field, sizeof(field), "%s.%s", place, e->field) >= (int)sizeof(field))
		field[sizeof(field) - 1] = '\0';
	snprintf(quoted, sizeof(quoted), "field '%s'", e->field);
	qlen = strlen(quoted);
	if (!strncmp(e->message, quoted, qlen))
		snprintf(msg, sizeof(msg), "field '%s'%s", field, e->message + qlen);
	else if (snprintf(msg, sizeof(msg), "%s: %s", place, e->message) >= (int)sizeof(msg))
		msg[sizeof(msg) - 1] = '\0';
	snprintf(e->field, sizeof(e->field), "%s", field);
	snprintf(e->message, sizeof(e->message), "%s", msg);
	return -1;
}

static int get_array(json_object *body, const char *field, size_t max, json_object **out,
		     struct pjr_err *e)
{
	*out = NULL;
	if (!json_object_object_get_ex(body, field, out))
		return 0;
	if (!json_object_is_type(*out, json_type_array))
		return pjr_fail(e, 400, field, "field '%s' must be an array", field);
	if (json_object_array_length(*out) > max)
		return pjr_fail(e, 400, field, "field '%s' has %zu items, more than the %zu allowed",
				field, json_object_array_length(*out), max);
	return 0;
}

static int get_object(json_object *parent, const char *field, json_object **out,
		      struct pjr_err *e)
{
	*out = NULL;
	if (!json_object_object_get_ex(parent, field, out))
		return 0;
	if (!json_object_is_type(*out, json_type_object))
		return pjr_fail(e, 400, field, "field '%s' must be an object", field);
	return 0;
}

static void add_size(json_object *o, const char *field, uint64_t v)
{
	json_object_object_add(o, field, json_object_new_uint64(v));
}

static int parse_tgtd(json_object *in, json_object *out, struct pjr_err *e)
{
	static const char *const fields[] = { "up", "version", NULL };
	const char *version = NULL;
	bool up = false;
	json_object *t;

	if (pjr_only(in, fields, e) || pjr_bool(in, "up", true, &up, e) ||
	    pjr_string(in, "version", false, VERSION_MAX, PJR_TEXT, &version, e))
		return nested(e, "tgtd");
	t = json_object_new_object();
	json_object_object_add(t, "up", json_object_new_boolean(up));
	json_object_object_add(t, "version", json_object_new_string(version ? version : ""));
	json_object_object_add(out, "tgtd", t);
	return 0;
}

static int parse_area(json_object *in, size_t i, json_object *list, struct pjr_err *e)
{
	static const char *const fields[] = { "path", "size", "used", "free", NULL };
	char place[32];
	const char *path;
	uint64_t size = 0, used = 0, free_ = 0;
	json_object *a;

	snprintf(place, sizeof(place), "areas[%zu]", i);
	if (!json_object_is_type(in, json_type_object))
		return pjr_fail(e, 400, place, "field '%s' must be an object", place);
	if (pjr_only(in, fields, e) ||
	    pjr_string(in, "path", true, PM_PATH_MAX, PJR_TEXT, &path, e) ||
	    pm_path_check(path, "path", e) ||
	    pjr_size(in, "size", true, 0, SIZE_MAX_BYTES, &size, e) ||
	    pjr_size(in, "used", false, 0, SIZE_MAX_BYTES, &used, e) ||
	    pjr_size(in, "free", false, 0, SIZE_MAX_BYTES, &free_, e))
		return nested(e, place);
	a = json_object_new_object();
	json_object_object_add(a, "path", json_object_new_string(path));
	add_size(a, "size", size);
	add_size(a, "used", used);
	add_size(a, "free", free_);
	json_object_array_add(list, a);
	return 0;
}

static int parse_lun(json_object *in, size_t i, json_object *list, struct pjr_err *e)
{
	static const char *const fields[] = { "tid", "lun", "iqn", "path", "size", NULL };
	char place[32];
	const char *iqn, *path = NULL;
	int64_t tid = 0, lun = 0;
	uint64_t size = 0;
	json_object *l;

	snprintf(place, sizeof(place), "luns[%zu]", i);
	if (!json_object_is_type(in, json_type_object))
		return pjr_fail(e, 400, place, "field '%s' must be an object", place);
	if (pjr_only(in, fields, e) ||
	    pjr_int(in, "tid", true, 1, 65535, &tid, e) ||
	    pjr_int(in, "lun", true, 0, 16383, &lun, e) ||
	    pjr_string(in, "iqn", true, LL_ISCSI_NAME_MAX, PJR_HOST, &iqn, e) ||
	    pjr_string(in, "path", false, PM_PATH_MAX, PJR_TEXT, &path, e) ||
	    (path && pm_path_check(path, "path", e)) ||
	    pjr_size(in, "size", false, 0, SIZE_MAX_BYTES, &size, e))
		return nested(e, place);
	l = json_object_new_object();
	json_object_object_add(l, "tid", json_object_new_int64(tid));
	json_object_object_add(l, "lun", json_object_new_int64(lun));
	json_object_object_add(l, "iqn", json_object_new_string(iqn));
	if (path)
		json_object_object_add(l, "path", json_object_new_string(path));
	add_size(l, "size", size);
	json_object_array_add(list, l);
	return 0;
}

/* A LUN whose module keeps its volume's reservations with the cluster's
 * (bsopts pr=cluster: its module said HELLO to the agent). */
static int parse_pr(json_object *in, size_t i, json_object *list, struct pjr_err *e)
{
	static const char *const fields[] = { "volume", "tid", "lun", NULL };
	char place[32];
	const char *volume;
	int64_t tid = 0, lun = 0;
	json_object *l;

	snprintf(place, sizeof(place), "pr[%zu]", i);
	if (!json_object_is_type(in, json_type_object))
		return pjr_fail(e, 400, place, "field '%s' must be an object", place);
	if (pjr_only(in, fields, e) ||
	    pjr_string(in, "volume", true, PM_PR_VOLUME_LEN, PJR_NAME, &volume, e) ||
	    pjr_int(in, "tid", false, 0, 65535, &tid, e) ||
	    pjr_int(in, "lun", false, 0, 16383, &lun, e))
		return nested(e, place);
	if (!pm_pr_volume_valid(volume)) {
		pjr_fail(e, 400, "volume", "field 'volume' must be 32 lower-case hex digits");
		return nested(e, place);
	}
	l = json_object_new_object();
	json_object_object_add(l, "volume", json_object_new_string(volume));
	json_object_object_add(l, "tid", json_object_new_int64(tid));
	json_object_object_add(l, "lun", json_object_new_int64(lun));
	json_object_array_add(list, l);
	return 0;
}

/* One of the serving LUN's other copies, as its status file says. */
static int parse_copy(json_object *in, size_t i, json_object *list, struct pjr_err *e)
{
	static const char *const fields[] = { "node", "url", "state", "left_bytes", "error", NULL };
	static const char *const states[] = { "up", "syncing", "connecting", "down", "refused",
					      NULL };
	char place[32];
	const char *node = NULL, *url = NULL, *state, *error = NULL;
	uint64_t left = 0;
	size_t k;
	json_object *c;

	snprintf(place, sizeof(place), "copies[%zu]", i);
	if (!json_object_is_type(in, json_type_object))
		return pjr_fail(e, 400, place, "field '%s' must be an object", place);
	if (pjr_only(in, fields, e) ||
	    pjr_string(in, "node", false, PM_ID_LEN, PJR_NAME, &node, e) ||
	    pjr_string(in, "url", false, URL_MAX, PJR_TEXT, &url, e) ||
	    pjr_string(in, "state", true, 16, PJR_NAME, &state, e) ||
	    pjr_size(in, "left_bytes", false, 0, SIZE_MAX_BYTES, &left, e) ||
	    pjr_string(in, "error", false, ERROR_MAX, PJR_TEXT, &error, e))
		return nested(e, place);
	for (k = 0; states[k] && strcmp(states[k], state); k++)
		;
	if (!states[k]) {
		pjr_fail(e, 400, "state", "field 'state' must be up, syncing, connecting, down or "
			 "refused, not '%s'", state);
		return nested(e, place);
	}
	if (!node && !url) {
		pjr_fail(e, 400, "url", "field 'url' (or 'node') must say which copy this is");
		return nested(e, place);
	}
	c = json_object_new_object();
	if (node)
		json_object_object_add(c, "node", json_object_new_string(node));
	if (url)
		json_object_object_add(c, "url", json_object_new_string(url));
	json_object_object_add(c, "state", json_object_new_string(state));
	add_size(c, "left_bytes", left);
	json_object_object_add(c, "error", json_object_new_string(error ? error : ""));
	json_object_array_add(list, c);
	return 0;
}

/* The write lease the serving LUN's module holds (its status file):
 * {"state":"none"|"held"|"expired"|"deposed","epoch"[,"generation"]},
 * into v (generation: its copy's, 16 lower-case hex digits). */
static int parse_lease(json_object *in, json_object *v, struct pjr_err *e)
{
	static const char *const fields[] = { "state", "epoch", "generation", NULL };
	const char *state, *gen = NULL;
	int64_t epoch = 0;
	json_object *l;

	if (!json_object_is_type(in, json_type_object))
		return pjr_fail(e, 400, "lease", "field 'lease' must be an object");
	if (pjr_only(in, fields, e) ||
	    pjr_string(in, "state", true, 16, PJR_NAME, &state, e) ||
	    pjr_int(in, "epoch", true, 0, (1LL << 48) - 1, &epoch, e) ||
	    pjr_string(in, "generation", false, 16, PJR_NAME, &gen, e))
		return nested(e, "lease");
	if (gen && !pjr_hex_valid(gen, 16)) {
		pjr_fail(e, 400, "generation", "field 'generation' must be 16 lower-case hex "
			 "digits, not '%s'", gen);
		return nested(e, "lease");
	}
	if (strcmp(state, "none") && strcmp(state, "held") && strcmp(state, "expired") &&
	    strcmp(state, "deposed")) {
		pjr_fail(e, 400, "state", "field 'state' must be none, held, expired or deposed, "
			 "not '%s'", state);
		return nested(e, "lease");
	}
	l = json_object_new_object();
	json_object_object_add(l, "state", json_object_new_string(state));
	json_object_object_add(l, "epoch", json_object_new_int64(epoch));
	if (gen)
		json_object_object_add(l, "generation", json_object_new_string(gen));
	json_object_object_add(v, "lease", l);
	return 0;
}

static int parse_volume(const char *name, json_object *in, json_object *vols,
			struct pjr_err *e)
{
	static const char *const fields[] = { "state", "error", "desired_revision", "size",
					      "copies", "lease", "leg_generation", NULL };
	char place[96];
	const char *state, *error = NULL, *leg_gen = NULL;
	int64_t desired = 0;
	uint64_t size = 0;
	json_object *v, *copies, *list, *lease;

	snprintf(place, sizeof(place), "volumes.%s", name);
	if (!pjr_name_valid(name, strlen(name)))
		return pjr_fail(e, 400, "volumes", "field 'volumes' has a key that is not a volume "
				"name: '%.64s'", name);
	if (!json_object_is_type(in, json_type_object))
		return pjr_fail(e, 400, place, "field '%s' must be an object", place);
	if (pjr_only(in, fields, e) ||
	    pjr_string(in, "state", true, 16, PJR_NAME, &state, e) ||
	    pjr_string(in, "error", false, ERROR_MAX, PJR_TEXT, &error, e) ||
	    pjr_int(in, "desired_revision", false, 0, INT64_MAX, &desired, e) ||
	    pjr_size(in, "size", false, 0, SIZE_MAX_BYTES, &size, e) ||
	    get_array(in, "copies", COPIES_MAX, &copies, e) ||
	    pjr_string(in, "leg_generation", false, 16, PJR_NAME, &leg_gen, e))
		return nested(e, place);
	if (leg_gen && !pjr_hex_valid(leg_gen, 16)) {
		pjr_fail(e, 400, "leg_generation", "field 'leg_generation' must be 16 lower-case hex "
			 "digits, not '%s'", leg_gen);
		return nested(e, place);
	}
	if (strcmp(state, "ready") && strcmp(state, "working") && strcmp(state, "failed")) {
		pjr_fail(e, 400, "state", "field 'state' must be ready, working or failed, not '%s'",
			 state);
		return nested(e, place);
	}
	v = json_object_new_object();
	json_object_object_add(vols, name, v);
	json_object_object_add(v, "state", json_object_new_string(state));
	json_object_object_add(v, "error", json_object_new_string(error ? error : ""));
	json_object_object_add(v, "desired_revision", json_object_new_int64(desired));
	if (json_object_object_get_ex(in, "size", NULL))
		add_size(v, "size", size);
	if (leg_gen)	/* its leg image's superblock: promotable if the primary's */
		json_object_object_add(v, "leg_generation", json_object_new_string(leg_gen));
	if (json_object_object_get_ex(in, "lease", &lease) && parse_lease(lease, v, e))
		return nested(e, place);
	if (!copies)
		return 0;
	list = json_object_new_array();
	json_object_object_add(v, "copies", list);
	for (size_t i = 0; i < json_object_array_length(copies); i++)
		if (parse_copy(json_object_array_get_idx(copies, i), i, list, e))
			return nested(e, place);
	return 0;
}

int pm_report_parse(json_object *body, json_object **out, json_object **volumes,
		    struct pjr_err *e)
{
	static const char *const fields[] = { "address", "portals", "tgt_version",
					      "lunlink_version", "initiator", "tgtd", "areas",
					      "luns", "pr", "volumes", NULL };
	const char *address = NULL, *tgt = NULL, *lunlink = NULL, *initiator = NULL;
	const char *portals[PORTALS_MAX + 1];
	json_object *r = json_object_new_object(), *in, *list;

	*out = *volumes = NULL;
	if (pjr_only(body, fields, e) ||
	    pjr_string(body, "address", false, 253, PJR_HOST, &address, e) ||
	    pjr_string_array(body, "portals", false, PORTALS_MAX, 64, PJR_HOST, portals, e) ||
	    pjr_string(body, "tgt_version", false, VERSION_MAX, PJR_TEXT, &tgt, e) ||
	    pjr_string(body, "lunlink_version", false, VERSION_MAX, PJR_TEXT, &lunlink, e) ||
	    pjr_string(body, "initiator", false, LL_ISCSI_NAME_MAX, PJR_HOST, &initiator, e))
		goto err;
	if (address)
		json_object_object_add(r, "address", json_object_new_string(address));
	if (json_object_object_get_ex(body, "portals", NULL)) {
		list = json_object_new_array();
		for (size_t i = 0; portals[i]; i++)
			json_object_array_add(list, json_object_new_string(portals[i]));
		json_object_object_add(r, "portals", list);
	}
	if (tgt)
		json_object_object_add(r, "tgt_version", json_object_new_string(tgt));
	if (lunlink)
		json_object_object_add(r, "lunlink_version", json_object_new_string(lunlink));
	if (initiator)
		json_object_object_add(r, "initiator", json_object_new_string(initiator));
	if (get_object(body, "tgtd", &in, e) || (in && parse_tgtd(in, r, e)))
		goto err;
	if (get_array(body, "areas", AREAS_MAX, &in, e))
		goto err;
	if (in) {
		list = json_object_new_array();
		json_object_object_add(r, "areas", list);
		for (size_t i = 0; i < json_object_array_length(in); i++)
			if (parse_area(json_object_array_get_idx(in, i), i, list, e))
				goto err;
	}
	if (get_array(body, "luns", LUNS_MAX, &in, e))
		goto err;
	if (in) {
		list = json_object_new_array();
		json_object_object_add(r, "luns", list);
		for (size_t i = 0; i < json_object_array_length(in); i++)
			if (parse_lun(json_object_array_get_idx(in, i), i, list, e))
				goto err;
	}
	if (get_array(body, "pr", PR_MAX, &in, e))
		goto err;
	if (in) {
		list = json_object_new_array();
		json_object_object_add(r, "pr", list);
		for (size_t i = 0; i < json_object_array_length(in); i++)
			if (parse_pr(json_object_array_get_idx(in, i), i, list, e))
				goto err;
	}
	if (get_object(body, "volumes", &in, e))
		goto err;
	if (in) {
		if ((size_t)json_object_object_length(in) > VOLUMES_MAX) {
			pjr_fail(e, 400, "volumes", "field 'volumes' has %d items, more than the %d "
				 "allowed", json_object_object_length(in), VOLUMES_MAX);
			goto err;
		}
		list = json_object_new_object();
		json_object_object_add(r, "volumes", list);
		json_object_object_foreach(in, name, v) {
			if (parse_volume(name, v, list, e))
				goto err;
		}
		*volumes = list;
	}
	*out = r;
	return 0;
err:
	json_object_put(r);
	*volumes = NULL;
	return -1;
}

/* ---- a host's report (doc/link.md) ---- */

#define HOST_LINKS_MAX	256
#define STEP_MS_MAX	(3600 * 1000)

static int parse_host_link(json_object *in, size_t i, json_object *list, struct pjr_err *e)
{
	static const char *const fields[] = { "volume", "link_revision", "state", "device",
					      "by_id", "wwid", "size", "multipath", "login_ms",
					      "scan_ms", "device_ms", "error", NULL };
	static const char *const states[] = { "working", "linked", "failed", "unlinked", NULL };
	static const char *const steps[] = { "login_ms", "scan_ms", "device_ms", NULL };
	const char *volume, *state, *device = NULL, *by_id = NULL, *wwid = NULL, *mpath = NULL;
	const char *error = NULL;
	int64_t link_rev = 0, ms[3] = { 0, 0, 0 };
	uint64_t size = 0;
	char place[32];
	size_t k;
	json_object *l;

	snprintf(place, sizeof(place), "links[%zu]", i);
	if (!json_object_is_type(in, json_type_object))
		return pjr_fail(e, 400, place, "field '%s' must be an object", place);
	if (pjr_only(in, fields, e) ||
	    pjr_string(in, "volume", true, PJR_NAME_MAX, PJR_NAME, &volume, e) ||
	    pjr_int(in, "link_revision", true, 1, INT64_MAX, &link_rev, e) ||
	    pjr_string(in, "state", true, 16, PJR_NAME, &state, e) ||
	    pjr_string(in, "device", false, 32, PJR_TEXT, &device, e) ||
	    pjr_string(in, "by_id", false, PM_PATH_MAX, PJR_TEXT, &by_id, e) ||
	    pjr_string(in, "wwid", false, 80, PJR_TEXT, &wwid, e) ||
	    pjr_size(in, "size", false, 0, SIZE_MAX_BYTES, &size, e) ||
	    pjr_string(in, "multipath", false, 64, PJR_TEXT, &mpath, e) ||
	    pjr_int(in, "login_ms", false, 0, STEP_MS_MAX, &ms[0], e) ||
	    pjr_int(in, "scan_ms", false, 0, STEP_MS_MAX, &ms[1], e) ||
	    pjr_int(in, "device_ms", false, 0, STEP_MS_MAX, &ms[2], e) ||
	    pjr_string(in, "error", false, ERROR_MAX, PJR_TEXT, &error, e))
		return nested(e, place);
	for (k = 0; states[k] && strcmp(states[k], state); k++)
		;
	if (!states[k]) {
		pjr_fail(e, 400, "state", "field 'state' must be working, linked, failed or "
			 "unlinked, not '%s'", state);
		return nested(e, place);
	}
	if (by_id && by_id[0] && strncmp(by_id, "/dev/", 5)) {
		pjr_fail(e, 400, "by_id", "field 'by_id' must be a path under /dev/");
		return nested(e, place);
	}
	l = json_object_new_object();
	json_object_object_add(l, "volume", json_object_new_string(volume));
	json_object_object_add(l, "link_revision", json_object_new_int64(link_rev));
	json_object_object_add(l, "state", json_object_new_string(state));
	json_object_object_add(l, "device", json_object_new_string(device ? device : ""));
	json_object_object_add(l, "by_id", json_object_new_string(by_id ? by_id : ""));
	json_object_object_add(l, "wwid", json_object_new_string(wwid ? wwid : ""));
	add_size(l, "size", size);
	json_object_object_add(l, "multipath", json_object_new_string(mpath ? mpath : ""));
	for (k = 0; steps[k]; k++)
		json_object_object_add(l, steps[k], json_object_new_int64(ms[k]));
	json_object_object_add(l, "error", json_object_new_string(error ? error : ""));
	json_object_array_add(list, l);
	return 0;
}

int pm_host_report_parse(json_object *body, json_object **out, json_object **links,
			 struct pjr_err *e)
{
	static const char *const fields[] = { "initiator", "hostname", "lunlink_version", "links",
					      NULL };
	const char *initiator = NULL, *hostname = NULL, *version = NULL;
	json_object *r = json_object_new_object(), *list = json_object_new_array(), *in;

	*out = *links = NULL;
	if (pjr_only(body, fields, e) ||
	    pjr_string(body, "initiator", false, LL_ISCSI_NAME_MAX, PJR_HOST, &initiator, e) ||
	    pjr_string(body, "hostname", false, 253, PJR_HOST, &hostname, e) ||
	    pjr_string(body, "lunlink_version", false, VERSION_MAX, PJR_TEXT, &version, e) ||
	    get_array(body, "links", HOST_LINKS_MAX, &in, e))
		goto err;
	if (initiator)
		json_object_object_add(r, "initiator", json_object_new_string(initiator));
	if (hostname)
		json_object_object_add(r, "hostname", json_object_new_string(hostname));
	if (version)
		json_object_object_add(r, "lunlink_version", json_object_new_string(version));
	for (size_t i = 0; in && i < json_object_array_length(in); i++)
		if (parse_host_link(json_object_array_get_idx(in, i), i, list, e))
			goto err;
	*out = r;
	*links = list;
	return 0;
err:
	json_object_put(r);
	json_object_put(list);
	return -1;
}
