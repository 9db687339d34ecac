// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pool.c: the pool of spare storage areas the nodes lend (seed 001): an
 * area is a directory on a node where the manager may make images up to a
 * size, or a block device.  The operator adds them (POST /v1/areas), the
 * manager places volumes' images in them (volume.c) and shows how full
 * each is (GET /v1/areas): from the node's last report when it reports
 * that path, else from the manager's own allocations.
 *
 * An area's id is the revision that added it, as 16 hex digits; its key
 * is areas/NODE-ID/AREA-ID, so removing a node removes its areas with it.
 * Two areas of one node never share a path, nor does one lie inside
 * another (images would be counted twice).
 */
#include "manager_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AREA_SIZE_MIN	(1ULL << 20)	/* 1 MiB */
#define AREA_SIZE_MAX	(1ULL << 60)

/* Whether path a is b or lies under it ("/srv/a" and "/srv/a/b"). */
static bool within(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

void pm_areas_post(struct pa_request *r, void *arg)
{
	static const char *const fields[] = { "node", "path", "size", "kind", NULL };
	struct pm_manager *m = arg;
	const char *name, *path, *kind = NULL;
	char id[PM_ID_LEN + 1], aid[PM_ID_LEN + 1], prefix[PS_KEY_MAX + 1], key[PS_KEY_MAX + 1];
	char nkey[PS_KEY_MAX + 1];
	uint64_t size = 0;
	int64_t rev;
	json_object *body = NULL, *node = NULL, *area = NULL;
	struct pjr_err e = { 0 };
	struct ps_range rg = { 0 };
	struct ps_cmp cmp[2];
	struct ps_op op = { .type = PS_OP_PUT };
	struct ps_txn txn = { .cmp = cmp, .ncmp = 2, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res = { 0 };

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) ||
	    pjr_string(body, "node", true, PJR_NAME_MAX, PJR_NAME, &name, &e) ||
	    pjr_string(body, "path", true, PM_PATH_MAX, PJR_TEXT, &path, &e) ||
	    pm_path_check(path, "path", &e) ||
	    pjr_size(body, "size", true, AREA_SIZE_MIN, AREA_SIZE_MAX, &size, &e) ||
	    pjr_string(body, "kind", false, 8, PJR_NAME, &kind, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	if (!kind)
		kind = strncmp(path, "/dev/", 5) ? "dir" : "device";
	if (strcmp(kind, "dir") && strcmp(kind, "device")) {
		pa_reply_error(r, 400, "kind", "field 'kind' must be dir or device, not '%s'", kind);
		goto out;
	}
	node = pm_node_by_name(m, name, id, NULL);
	if (!node) {
		pa_reply_error(r, 404, "node", "no node named '%s' ('lunlinkctl node list' shows "
			       "them)", name);
		goto out;
	}
	pm_key(prefix, "areas/%s/", id);
	if (ps_range(m->st, prefix, NULL, 0, &rg)) {
		pm_reply_store(r, m, "reading the node's areas");
		goto out;
	}
	for (size_t i = 0; i < rg.count; i++) {
		json_object *a = json_tokener_parse(rg.kvs[i].value);
		const char *other = pm_str(a, "path");
		int clash = !strcmp(other, path) ? 1 : within(path, other) ? 2 :
			    within(other, path) ? 3 : 0;

		if (clash)
			pa_reply_error(r, 409, "path", clash == 1 ?
				       "node %s has the area %s at %s already" : clash == 2 ?
				       "node %s's area %s (%s) holds this path: an area inside "
				       "another would count its images twice" :
				       "node %s's area %s (%s) lies inside this path: an area "
				       "around another would count its images twice",
				       name, pm_str(a, "id"), other);
		json_object_put(a);
		if (clash)
			goto out;
	}
	rev = pm_next_revision(m);
	if (rev < 0) {
		pm_reply_store(r, m, "reading its revision");
		goto out;
	}
	pm_hex_id(rev, aid);
	pm_key(key, "areas/%s/%s", id, aid);
	pm_key(nkey, "nodes/%s", id);
	area = json_object_new_object();
	json_object_object_add(area, "id", json_object_new_string(aid));
	json_object_object_add(area, "node", json_object_new_string(id));
	json_object_object_add(area, "path", json_object_new_string(path));
	json_object_object_add(area, "kind", json_object_new_string(kind));
	json_object_object_add(area, "size", json_object_new_uint64(size));
	/* the node is still there, and the id is new */
	cmp[0] = (struct ps_cmp){ .key = nkey, .target = PS_CMP_VERSION, .result = PS_GREATER };
	cmp[1] = (struct ps_cmp){ .key = key, .target = PS_CMP_VERSION, .result = PS_EQUAL };
	op.key = key;
	op.value = pm_text(area);
	op.value_len = strlen(op.value);
	if (ps_txn(m->st, &txn, &res) || !res.succeeded) {
		if (res.succeeded)
			pm_reply_store(r, m, "adding the area");
		else
			pa_reply_error(r, 409, "node", "node %s was removed meanwhile", name);
		goto out;
	}
	pm_log(m, "%s added area %s on node %s: %s, %llu bytes", r->caller->desc, aid, name, path,
	       (unsigned long long)size);
	json_object_object_add(area, "node", json_object_new_string(name));
	json_object_object_add(area, "node_id", json_object_new_string(id));
	json_object_object_add(area, "revision", json_object_new_int64(res.revision));
	pa_reply_json(r, 201, json_object_get(area));
out:
	ps_txn_result_free(&res);
	ps_range_free(&rg);
	json_object_put(area);
	json_object_put(node);
	json_object_put(body);
}

/*
 * used and free of an area: the larger use of what its node last reported
 * for the path and what the manager placed there, and usage_from names
 * the one taken.  The report alone would be stale for a volume placed
 * since the node last reported (two made in a row would both see the
 * room the first takes), and the manager's count alone misses what else
 * fills the directory; free is also bounded by the node's word, which
 * knows its file system's free space.
 */
static void area_usage(struct pm_manager *m, json_object *a, json_object *report)
{
	json_object *areas, *ra = NULL;
	uint64_t size = (uint64_t)pm_int(a, "size"), used, free_b;
	bool from_report = false;

	used = pm_area_allocated(m, pm_str(a, "node_id"), pm_str(a, "id"));
	free_b = used < size ? size - used : 0;
	if (report && json_object_object_get_ex(report, "areas", &areas)) {
		for (size_t i = 0; !ra && i < json_object_array_length(areas); i++)
			if (!strcmp(pm_str(json_object_array_get_idx(areas, i), "path"),
				    pm_str(a, "path")))
				ra = json_object_array_get_idx(areas, i);
	}
	if (ra) {
		uint64_t r_used = (uint64_t)pm_int(ra, "used"), r_free = (uint64_t)pm_int(ra, "free");

		from_report = r_used >= used;
		if (from_report)
			used = r_used;
		if (r_free < free_b)
			free_b = r_free;
	}
	json_object_object_add(a, "used", json_object_new_uint64(used));
	json_object_object_add(a, "free", json_object_new_uint64(free_b));
	json_object_object_add(a, "usage_from", json_object_new_string(from_report ? "report" :
								      "manager"));
}

json_object *pm_areas_all(struct pm_manager *m)
{
	json_object *all = json_object_new_array(), *node = NULL, *report = NULL;
	struct ps_range rg = { 0 };
	char key[PS_KEY_MAX + 1], node_id[PM_ID_LEN + 1] = "";

	if (ps_range(m->st, PM_PREFIX "areas/", NULL, 0, &rg))
		return all;
	for (size_t i = 0; i < rg.count; i++) {
		json_object *a = json_tokener_parse(rg.kvs[i].value);

		if (!a)
			continue;
		/* keys are in node order: read each node and its report once */
		if (strcmp(node_id, pm_str(a, "node"))) {
			snprintf(node_id, sizeof(node_id), "%s", pm_str(a, "node"));
			json_object_put(node);
			json_object_put(report);
			pm_key(key, "nodes/%s", node_id);
			node = pm_get(m, key, NULL);
			pm_key(key, "reports/%s", node_id);
			report = pm_get(m, key, NULL);
		}
		json_object_object_add(a, "node_id", json_object_new_string(node_id));
		json_object_object_add(a, "node", json_object_new_string(pm_str(node, "name")));
		area_usage(m, a, report);
		json_object_array_add(all, a);
	}
	json_object_put(node);
	json_object_put(report);
	ps_range_free(&rg);
	return all;
}

void pm_areas_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	json_object *out = json_object_new_object();
	int64_t rev = 0;

	if (r->rest[0] && strcmp(r->rest, "/")) {
		json_object_put(out);
		pa_reply_error(r, 404, "path", "no such resource: %s (GET /v1/areas lists them all)",
			       r->path);
		return;
	}
	ps_revision(m->st, &rev, NULL);
	json_object_object_add(out, "revision", json_object_new_int64(rev));
	json_object_object_add(out, "areas", pm_areas_all(m));
	pa_reply_json(r, 200, out);
}

/* "00000000000000a1", "a1" or "A1": 16 hex digits, as keys spell it */
static int area_id_canon(const char *in, char out[PM_ID_LEN + 1])
{
	size_t n = strlen(in);

	if (n == 0 || n > PM_ID_LEN)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)in[i]))
			return -1;
	pm_hex_id((int64_t)strtoull(in, NULL, 16), out);
	return 0;
}

void pm_areas_delete(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char name[PJR_NAME_MAX + 1], id[PM_ID_LEN + 1], aid[PM_ID_LEN + 1], key[PS_KEY_MAX + 1];
	char vol[PJR_NAME_MAX + 1];
	const char *slash = r->rest[0] ? strchr(r->rest + 1, '/') : NULL;
	json_object *node = NULL, *area = NULL, *out;
	struct ps_kv kv = { 0 };
	struct ps_cmp cmp = { .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL };
	struct ps_op op = { .type = PS_OP_DELETE };
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res = { 0 };

	if (!slash || (size_t)(slash - r->rest - 1) > PJR_NAME_MAX ||
	    area_id_canon(slash + 1, aid)) {
		pa_reply_error(r, 400, "path", "DELETE /v1/areas/NODE/ID, with the node's name and "
			       "the area's id ('lunlinkctl area list' shows them)");
		goto out;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(slash - r->rest - 1), r->rest + 1);
	node = pm_node_by_name(m, name, id, NULL);
	if (!node) {
		pa_reply_error(r, 404, "path", "no node named '%s' ('lunlinkctl node list' shows "
			       "them)", name);
		goto out;
	}
	pm_key(key, "areas/%s/%s", id, aid);
	area = pm_get(m, key, &kv);
	if (!area) {
		pa_reply_error(r, 404, "path", "node %s has no area %s ('lunlinkctl area list' shows "
			       "them)", name, aid);
		goto out;
	}
	if (pm_volume_using(m, id, aid, vol)) {
		pa_reply_error(r, 409, "path", "area %s on node %s (%s) holds an image of volume %s; "
			       "delete the volume first", aid, name, pm_str(area, "path"), vol);
		goto out;
	}
	cmp.key = op.key = key;
	cmp.number = kv.mod_revision;
	if (ps_txn(m->st, &txn, &res) || !res.succeeded) {
		if (res.succeeded)
			pm_reply_store(r, m, "removing the area");
		else
			pa_reply_error(r, 409, "path", "area %s changed meanwhile; remove it again", aid);
		goto out;
	}
	pm_log(m, "%s removed area %s (%s) of node %s", r->caller->desc, aid, pm_str(area, "path"),
	       name);
	out = json_object_new_object();
	json_object_object_add(out, "removed", json_object_new_string(aid));
	json_object_object_add(out, "revision", json_object_new_int64(res.revision));
	pa_reply_json(r, 200, out);
out:
	ps_txn_result_free(&res);
	json_object_put(area);
	json_object_put(node);
}
