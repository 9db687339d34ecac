// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * volume.c: volumes made from the pool's areas by usage way (seed 001;
 * doc/policy.md, "Areas and volumes"): placement, the volume's record
 * (volumes/NAME) and each involved node's desired state
 * (desired/NODE-ID/NAME) written in one transaction, readiness from the
 * nodes' actual state (actual/NODE-ID/NAME, from their reports), and the
 * parts a volume holds in areas (what keeps an area or a node from being
 * removed, and what the manager counts as an area's use).
 *
 * Ways made so far: single (one image, one lunlink LUN) and doubled (an
 * image on each of N nodes with one volume id; N-1 exported as raw legs,
 * the first served with mirror= to them).  integrated and divided are
 * refused naming what is missing.
 *
 * Placement: each copy on a different online node, in the dir area of
 * that node with the most free space, that area holding the whole image;
 * the nodes with the most free space first, or those the request names
 * ("on"), in its order.  A refusal says, node by node, why none would do.
 */
#include "manager_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_object *pm_volumes_all(struct pm_manager *m)
{
	json_object *all = json_object_new_array();
	struct ps_range rg = { 0 };

	if (ps_range(m->st, PM_PREFIX "volumes/", NULL, 0, &rg))
		return all;
	for (size_t i = 0; i < rg.count; i++) {
		json_object *v = json_tokener_parse(rg.kvs[i].value);

		if (v)
			json_object_array_add(all, v);
	}
	ps_range_free(&rg);
	return all;
}

/* Call fn on each part of each volume until it returns nonzero. */
static int each_part(struct pm_manager *m, int (*fn)(json_object *vol, json_object *part,
						      void *arg), void *arg)
{
	json_object *all = pm_volumes_all(m), *parts;
	int rc = 0;

	for (size_t i = 0; !rc && i < json_object_array_length(all); i++) {
		json_object *v = json_object_array_get_idx(all, i);

		if (!json_object_object_get_ex(v, "parts", &parts) ||
		    !json_object_is_type(parts, json_type_array))
			continue;
		for (size_t p = 0; !rc && p < json_object_array_length(parts); p++)
			rc = fn(v, json_object_array_get_idx(parts, p), arg);
	}
	json_object_put(all);
	return rc;
}

struct using {
	const char *node, *area;
	char *name;
	uint64_t bytes;
};

static int part_using(json_object *vol, json_object *part, void *arg)
{
	struct using *u = arg;

	if (strcmp(pm_str(part, "node"), u->node) || (u->area && strcmp(pm_str(part, "area"), u->area)))
		return 0;
	snprintf(u->name, PJR_NAME_MAX + 1, "%s", pm_str(vol, "name"));
	return 1;
}

int pm_volume_using(struct pm_manager *m, const char *node_id, const char *area_id, char *name)
{
	struct using u = { .node = node_id, .area = area_id, .name = name };

	return each_part(m, part_using, &u);
}

static int part_bytes(json_object *vol, json_object *part, void *arg)
{
	struct using *u = arg;

	if (!strcmp(pm_str(part, "node"), u->node) && !strcmp(pm_str(part, "area"), u->area))
		u->bytes += (uint64_t)pm_int(part, "size");
	return 0;
}

uint64_t pm_area_allocated(struct pm_manager *m, const char *node_id, const char *area_id)
{
	struct using u = { .node = node_id, .area = area_id };

	each_part(m, part_bytes, &u);
	return u.bytes;
}

#define COPIES_MAX	5		/* a primary and up to four legs (mirror.md) */
#define VOLUME_SIZE_MIN	(1ULL << 20)
#define VOLUME_SIZE_MAX	(1ULL << 50)
#define IQN_BASE	"iqn.2026-11.org.lunlink.cluster"
#define ISCSI_PORT	3260

/* One candidate node for a copy: its best area. */
struct place {
	char id[PM_ID_LEN + 1];
	char name[PJR_NAME_MAX + 1];
	char portal[80];		/* HOST:PORT its LUNs are reached at */
	json_object *area;		/* borrowed from the areas list */
	uint64_t free;
	const char *why;		/* not a candidate: why */
};

static void human(uint64_t b, char *out, size_t len)
{
	static const char units[] = "BKMGTP";
	int u = 0;

	while (b >= 1024 && !(b % 1024) && u < 5) {
		b /= 1024;
		u++;
	}
	if (u)
		snprintf(out, len, "%" PRIu64 "%c", b, units[u]);
	else
		snprintf(out, len, "%" PRIu64, b);
}

/* Fill p for node (a record), with its dir area that has the most free. */
static void candidate(json_object *node, json_object *areas, uint64_t size, struct place *p)
{
	json_object *portals;

	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", pm_str(node, "id"));
	snprintf(p->name, sizeof(p->name), "%s", pm_str(node, "name"));
	if (json_object_object_get_ex(node, "portals", &portals) &&
	    json_object_array_length(portals) > 0)
		snprintf(p->portal, sizeof(p->portal), "%s",
			 json_object_get_string(json_object_array_get_idx(portals, 0)));
	else if (pm_str(node, "address")[0])
		snprintf(p->portal, sizeof(p->portal), "%s:%d", pm_str(node, "address"), ISCSI_PORT);
	for (size_t i = 0; i < json_object_array_length(areas); i++) {
		json_object *a = json_object_array_get_idx(areas, i);

		if (strcmp(pm_str(a, "node_id"), p->id) || strcmp(pm_str(a, "kind"), "dir"))
			continue;
		if (!p->area || (uint64_t)pm_int(a, "free") > p->free) {
			p->area = a;
			p->free = (uint64_t)pm_int(a, "free");
		}
	}
	if (strcmp(pm_str(node, "state"), "online"))
		p->why = "offline";
	else if (!p->area)
		p->why = "no area";
	else if (p->free < size)
		p->why = "free";
	else if (!p->portal[0])
		p->why = "no address reported";
}

static int by_free(const void *a, const void *b)
{
	const struct place *x = a, *y = b;

	return (x->why != NULL) - (y->why != NULL) ?: (x->free < y->free) - (x->free > y->free);
}

/* Choose copies places into out; -1 with the refusal in why. */
static int place(struct pm_manager *m, uint64_t size, int64_t copies, const char *const *on,
		 struct place *out, json_object *areas, char *why, size_t len)
{
	json_object *nodes = pm_nodes_all(m);
	size_t n = json_object_array_length(nodes), k = 0, pos;
	struct place *all = calloc(n ? n : 1, sizeof(*all));
	char want[32], have[32];
	FILE *msg;
	int rc = -1;

	if (!all)
		goto out;
	for (size_t i = 0; i < n; i++)
		candidate(json_object_array_get_idx(nodes, i), areas, size, &all[i]);
	if (on && on[0]) {
		/* the nodes asked for, in their order */
		struct place *picked = calloc(n ? n : 1, sizeof(*picked));

		for (size_t j = 0; picked && on[j]; j++) {
			size_t i;

			for (i = 0; i < n && strcmp(all[i].name, on[j]); i++)
				;
			if (i == n) {
				snprintf(why, len, "no node named '%s' ('lunlinkctl node list' shows them)",
					 on[j]);
				free(picked);
				goto out;
			}
			picked[k++] = all[i];
		}
		free(all);
		all = picked;
		n = k;
		if (!all)
			goto out;
	} else {
		qsort(all, n, sizeof(*all), by_free);
	}
	for (k = 0, pos = 0; pos < n && k < (size_t)copies; pos++)
		if (!all[pos].why)
			out[k++] = all[pos];
	if (k == (size_t)copies) {
		rc = 0;
		goto out;
	}
	/* the refusal names what is missing, node by node */
	human(size, want, sizeof(want));
	msg = fmemopen(why, len, "w");
	if (!msg)
		goto out;
	if (copies == 1)
		fprintf(msg, "no node with %s free in an area", want);
	else
		fprintf(msg, "%" PRId64 " copies need %" PRId64 " online nodes with %s free in an "
			"area each, %zu have it", copies, copies, want, k);
	for (size_t i = 0; i < n; i++) {
		human(all[i].free, have, sizeof(have));
		fprintf(msg, "%s%s: ", i ? ", " : " (", all[i].name);
		if (!all[i].why || !strcmp(all[i].why, "free"))
			fprintf(msg, "%s free", have);
		else
			fprintf(msg, "%s", all[i].why);
		if (i + 1 == n)
			fputc(')', msg);
	}
	if (!n)
		fprintf(msg, " (no nodes)");
	fclose(msg);
out:
	free(all);
	json_object_put(nodes);
	return rc;
}

static json_object *image(json_object *vol, const struct place *p, const char *path)
{
	json_object *i = json_object_new_object();

	json_object_object_add(i, "area", json_object_new_string(pm_str(p->area, "id")));
	json_object_object_add(i, "path", json_object_new_string(path));
	json_object_object_add(i, "size", json_object_new_int64(pm_int(vol, "size")));
	json_object_object_add(i, "max_size", json_object_new_int64(pm_int(vol, "size")));
	json_object_object_add(i, "volume_id", json_object_new_string(pm_str(vol, "id")));
	return i;
}

static json_object *lun(const char *iqn, const char *path, const char *bsopts)
{
	json_object *l = json_object_new_object();

	json_object_object_add(l, "iqn", json_object_new_string(iqn));
	json_object_object_add(l, "tid", json_object_new_int(0));	/* the agent's choice */
	json_object_object_add(l, "lun", json_object_new_int(1));
	json_object_object_add(l, "path", json_object_new_string(path));
	json_object_object_add(l, "bstype", json_object_new_string("lunlink"));
	json_object_object_add(l, "bsopts", json_object_new_string(bsopts));
	json_object_object_add(l, "acl", json_object_new_array());
	return l;
}

/* The volume's record and each copy's desired state, for single and
 * doubled: copy 0 is the primary, the others its legs. */
static void compose(json_object *vol, struct place *pl, size_t n, json_object **desired)
{
	json_object *parts = json_object_new_array(), *serving = json_object_new_object();
	char iqn[128], url[256], path[PM_PATH_MAX + PJR_NAME_MAX + 8], *bsopts = NULL;
	size_t blen = 0;
	FILE *b = open_memstream(&bsopts, &blen);

	for (size_t i = n; i-- > 0;) {	/* legs first: the primary names them */
		json_object *d = json_object_new_object(), *imgs = json_object_new_array(), *part;

		snprintf(path, sizeof(path), "%s/%s.img", pm_str(pl[i].area, "path"),
			 pm_str(vol, "name"));
		if (i == 0)
			snprintf(iqn, sizeof(iqn), IQN_BASE ":vol-%s", pm_str(vol, "id"));
		else
			snprintf(iqn, sizeof(iqn), IQN_BASE ":vol-%s-leg-%s", pm_str(vol, "id"), pl[i].id);
		json_object_array_add(imgs, image(vol, &pl[i], path));
		json_object_object_add(d, "images", imgs);
		if (i > 0) {
			json_object_object_add(d, "lun", lun(iqn, path, "raw=on"));
			if (b)
				fprintf(b, "%smirror=iscsi://%s/%s/1", ftell(b) > 0 ? ";" : "",
					pl[i].portal, iqn);
		} else {
			if (b)
				fclose(b);
			b = NULL;
			json_object_object_add(d, "lun", lun(iqn, path, bsopts ? bsopts : ""));
			snprintf(url, sizeof(url), "iscsi://%s/%s/1", pl[0].portal, iqn);
			json_object_object_add(serving, "node", json_object_new_string(pl[0].name));
			json_object_object_add(serving, "iqn", json_object_new_string(iqn));
			json_object_object_add(serving, "lun", json_object_new_int(1));
			json_object_object_add(serving, "url", json_object_new_string(url));
		}
		part = json_object_new_object();
		json_object_object_add(part, "node", json_object_new_string(pl[i].id));
		json_object_object_add(part, "node_name", json_object_new_string(pl[i].name));
		json_object_object_add(part, "area", json_object_new_string(pm_str(pl[i].area, "id")));
		json_object_object_add(part, "path", json_object_new_string(path));
		json_object_object_add(part, "size", json_object_new_int64(pm_int(vol, "size")));
		json_object_object_add(part, "role", json_object_new_string(i ? "leg" : "primary"));
		json_object_object_add(part, "state", json_object_new_string("creating"));
		json_object_array_put_idx(parts, i, part);
		desired[i] = d;
	}
	free(bsopts);
	json_object_object_add(vol, "parts", parts);
	json_object_object_add(vol, "serving", serving);
	json_object_object_add(vol, "borrower", NULL);
}

void pm_volumes_post(struct pa_request *r, void *arg)
{
	static const char *const fields[] = { "name", "way", "size", "copies", "on", NULL };
	struct pm_manager *m = arg;
	const char *name, *way, *on[COPIES_MAX + 1];
	char why[512], vid[PM_ID_LEN + 1], vkey[PS_KEY_MAX + 1];
	char keys[COPIES_MAX * 2][PS_KEY_MAX + 1];
	uint64_t size = 0;
	int64_t copies = 0, rev;
	size_t n_on;
	struct ps_kv kv = { 0 };
	json_object *body = NULL, *areas = NULL, *vol = NULL, *desired[COPIES_MAX] = { 0 };
	json_object *nodes[COPIES_MAX] = { 0 };
	struct place pl[COPIES_MAX];
	struct pjr_err e = { 0 };
	struct ps_cmp cmp[COPIES_MAX + 1];
	struct ps_op ops[COPIES_MAX * 2 + 1];
	struct ps_txn txn = { .cmp = cmp, .success = ops };
	struct ps_txn_result res = { 0 };

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) ||
	    pjr_string(body, "name", true, PJR_NAME_MAX, PJR_NAME, &name, &e) ||
	    pjr_string(body, "way", true, 16, PJR_NAME, &way, &e) ||
	    pjr_size(body, "size", true, VOLUME_SIZE_MIN, VOLUME_SIZE_MAX, &size, &e) ||
	    pjr_int(body, "copies", false, 1, COPIES_MAX, &copies, &e) ||
	    pjr_string_array(body, "on", false, COPIES_MAX, PJR_NAME_MAX, PJR_NAME, on, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	if (!strcmp(way, "integrated") || !strcmp(way, "divided")) {
		pa_reply_error(r, 501, "way", "the %s way is not made by this manager yet; make the "
			       "volume single or doubled", way);
		goto out;
	}
	if (strcmp(way, "single") && strcmp(way, "doubled")) {
		pa_reply_error(r, 400, "way", "field 'way' must be single, doubled, integrated or "
			       "divided, not '%s'", way);
		goto out;
	}
	if (!copies)
		copies = !strcmp(way, "single") ? 1 : 2;
	if ((!strcmp(way, "single") && copies != 1) || (!strcmp(way, "doubled") && copies < 2)) {
		pa_reply_error(r, 400, "copies", "a %s volume has %s copies, not %lld", way,
			       !strcmp(way, "single") ? "1" : "2 to 5", (long long)copies);
		goto out;
	}
	for (n_on = 0; on[n_on]; n_on++) {
		for (size_t j = 0; j < n_on; j++)
			if (!strcmp(on[n_on], on[j])) {
				pa_reply_error(r, 400, "on", "field 'on' names node %s twice: each copy "
					       "goes on a node of its own", on[j]);
				goto out;
			}
	}
	if (n_on && n_on != (size_t)copies) {
		pa_reply_error(r, 400, "on", "field 'on' names %zu nodes for %lld copies: one node "
			       "per copy, the primary first", n_on, (long long)copies);
		goto out;
	}
	pm_key(vkey, "volumes/%s", name);
	if (ps_get(m->st, vkey, &kv) == PS_OK) {
		pa_reply_error(r, 409, "name", "a volume named %s exists ('lunlinkctl volume list' "
			       "shows them)", name);
		goto out;
	}
	areas = pm_areas_all(m);
	if (place(m, size, copies, on, pl, areas, why, sizeof(why))) {
		pa_reply_error(r, 409, on[0] ? "on" : "size", "%s", why);
		goto out;
	}
	rev = pm_next_revision(m);
	if (rev < 0) {
		pm_reply_store(r, m, "reading its revision");
		goto out;
	}
	pm_hex_id(rev, vid);
	vol = json_object_new_object();
	json_object_object_add(vol, "name", json_object_new_string(name));
	json_object_object_add(vol, "id", json_object_new_string(vid));
	json_object_object_add(vol, "way", json_object_new_string(way));
	json_object_object_add(vol, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(vol, "copies", json_object_new_int64(copies));
	json_object_object_add(vol, "state", json_object_new_string("creating"));
	json_object_object_add(vol, "error", json_object_new_string(""));
	json_object_object_add(vol, "created_revision", json_object_new_int64(rev));
	json_object_object_add(vol, "resync_bytes_left", json_object_new_int64(0));
	compose(vol, pl, (size_t)copies, desired);
	cmp[txn.ncmp++] = (struct ps_cmp){ .key = vkey, .target = PS_CMP_VERSION, .result = PS_EQUAL };
	ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_PUT, .key = vkey, .value = pm_text(vol),
					      .value_len = strlen(pm_text(vol)) };
	for (int64_t i = 0; i < copies; i++) {
		struct ps_kv nkv = { 0 };

		pm_key(keys[2 * i], "desired/%s/%s", pl[i].id, name);
		pm_key(keys[2 * i + 1], "nodes/%s", pl[i].id);
		nodes[i] = pm_get(m, keys[2 * i + 1], &nkv);
		if (!nodes[i]) {
			pa_reply_error(r, 409, "on", "node %s was removed meanwhile", pl[i].name);
			goto out;
		}
		/* the agent reads its desired state when this revision is news */
		json_object_object_add(nodes[i], "desired_revision", json_object_new_int64(rev));
		cmp[txn.ncmp++] = (struct ps_cmp){ .key = keys[2 * i + 1], .target = PS_CMP_MOD_REVISION,
						   .result = PS_EQUAL, .number = nkv.mod_revision };
		ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_PUT, .key = keys[2 * i],
						      .value = pm_text(desired[i]),
						      .value_len = strlen(pm_text(desired[i])) };
		ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_PUT, .key = keys[2 * i + 1],
						      .value = pm_text(nodes[i]),
						      .value_len = strlen(pm_text(nodes[i])) };
	}
	if (ps_txn(m->st, &txn, &res) || !res.succeeded) {
		if (res.succeeded)
			pm_reply_store(r, m, "creating the volume");
		else
			pa_reply_error(r, 409, "name", "the volume or its nodes changed meanwhile; ask "
				       "again");
		goto out;
	}
	pm_log(m, "%s made volume %s (%s, %lld copies, %" PRIu64 " bytes) on %s%s%s",
	       r->caller->desc, name, way, (long long)copies, size, pl[0].name,
	       copies > 1 ? " with a leg on " : "", copies > 1 ? pl[1].name : "");
	json_object_object_add(vol, "revision", json_object_new_int64(res.revision));
	pa_reply_json(r, 201, json_object_get(vol));
out:
	ps_kv_free(&kv);
	ps_txn_result_free(&res);
	for (size_t i = 0; i < COPIES_MAX; i++) {
		json_object_put(desired[i]);
		json_object_put(nodes[i]);
	}
	json_object_put(vol);
	json_object_put(areas);
	json_object_put(body);
}

/* ---- readiness ---- */

void pm_volume_check(struct pm_manager *m, const char *name)
{
	char vkey[PS_KEY_MAX + 1], akey[PS_KEY_MAX + 1], err[600] = "";
	struct ps_kv vkv = { 0 };
	json_object *vol, *parts;
	size_t ready = 0, n = 0;
	bool failed = false, changed = false;
	struct ps_cmp cmp = { .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL };
	struct ps_op op = { .type = PS_OP_PUT };
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res = { 0 };

	if (!pjr_name_valid(name, strlen(name)))
		return;
	pm_key(vkey, "volumes/%s", name);
	vol = pm_get(m, vkey, &vkv);
	if (!vol || !json_object_object_get_ex(vol, "parts", &parts))
		goto out;
	n = json_object_array_length(parts);
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i), *act;
		const char *state;

		pm_key(akey, "actual/%s/%s", pm_str(p, "node"), name);
		act = pm_get(m, akey, NULL);
		/* what the agent did for an older desired state does not count */
		state = act && pm_int(act, "desired_revision") >= pm_int(vol, "created_revision") ?
			pm_str(act, "state") : "creating";
		if (!strcmp(state, "ready"))
			ready++;
		if (!strcmp(state, "failed") && !failed) {
			failed = true;
			snprintf(err, sizeof(err), "node %s: %s", pm_str(p, "node_name"),
				 pm_str(act, "error"));
		}
		if (strcmp(pm_str(p, "state"), state)) {
			json_object_object_add(p, "state", json_object_new_string(state));
			changed = true;
		}
		json_object_put(act);
	}
	if (!strcmp(pm_str(vol, "state"), "creating") && (failed || ready == n)) {
		json_object_object_add(vol, "state", json_object_new_string(failed ? "failed" : "ready"));
		json_object_object_add(vol, "error", json_object_new_string(err));
		changed = true;
		pm_log(m, "volume %s is %s%s", name, failed ? "failed: " : "ready", err);
	}
	if (!changed)
		goto out;
	cmp.key = op.key = vkey;
	cmp.number = vkv.mod_revision;
	op.value = pm_text(vol);
	op.value_len = strlen(op.value);
	if (ps_txn(m->st, &txn, &res))
		pm_log(m, "cannot update volume %s: %s", name, ps_error(m->st));
out:
	ps_txn_result_free(&res);
	json_object_put(vol);
}

/* ---- reading and deleting ---- */

void pm_volumes_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char key[PS_KEY_MAX + 1];
	json_object *out;
	int64_t rev = 0;

	if (r->rest[0] && strcmp(r->rest, "/")) {
		if (!pjr_name_valid(r->rest + 1, strlen(r->rest + 1)) ||
		    (pm_key(key, "volumes/%s", r->rest + 1), !(out = pm_get(m, key, NULL)))) {
			pa_reply_error(r, 404, "path", "no volume named '%s' ('lunlinkctl volume list' "
				       "shows them)", r->rest + 1);
			return;
		}
		pa_reply_json(r, 200, out);
		return;
	}
	out = json_object_new_object();
	ps_revision(m->st, &rev, NULL);
	json_object_object_add(out, "revision", json_object_new_int64(rev));
	json_object_object_add(out, "volumes", pm_volumes_all(m));
	pa_reply_json(r, 200, out);
}

void pm_volumes_delete(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	const char *name = r->rest[0] ? r->rest + 1 : "";
	char vkey[PS_KEY_MAX + 1], keys[COPIES_MAX * 3][PS_KEY_MAX + 1];
	json_object *vol = NULL, *parts, *b, *nodes[COPIES_MAX] = { 0 }, *out;
	struct ps_kv vkv = { 0 };
	struct ps_cmp cmp = { .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL };
	struct ps_op ops[COPIES_MAX * 3 + 1];
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = ops };
	struct ps_txn_result res = { 0 };
	int64_t rev;
	size_t n;

	if (pjr_name_valid(name, strlen(name))) {
		pm_key(vkey, "volumes/%s", name);
		vol = pm_get(m, vkey, &vkv);
	}
	if (!vol) {
		pa_reply_error(r, 404, "path", "no volume named '%s' ('lunlinkctl volume list' shows "
			       "them)", name);
		goto out;
	}
	if (json_object_object_get_ex(vol, "borrower", &b) && b) {
		pa_reply_error(r, 409, "path", "volume %s is lent to %s; return it first "
			       "('lunlinkctl volume return %s')", name, pm_str(b, "initiator"), name);
		goto out;
	}
	rev = pm_next_revision(m);
	cmp.key = vkey;
	cmp.number = vkv.mod_revision;
	ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_DELETE, .key = vkey };
	json_object_object_get_ex(vol, "parts", &parts);
	n = parts ? json_object_array_length(parts) : 0;
	for (size_t i = 0; i < n && i < COPIES_MAX; i++) {
		const char *id = pm_str(json_object_array_get_idx(parts, i), "node");

		pm_key(keys[3 * i], "desired/%s/%s", id, name);
		pm_key(keys[3 * i + 1], "nodes/%s", id);
		ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_DELETE, .key = keys[3 * i] };
		nodes[i] = pm_get(m, keys[3 * i + 1], NULL);
		if (!nodes[i])
			continue;
		json_object_object_add(nodes[i], "desired_revision", json_object_new_int64(rev));
		ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_PUT, .key = keys[3 * i + 1],
						      .value = pm_text(nodes[i]),
						      .value_len = strlen(pm_text(nodes[i])) };
	}
	if (ps_txn(m->st, &txn, &res) || !res.succeeded) {
		if (res.succeeded)
			pm_reply_store(r, m, "deleting the volume");
		else
			pa_reply_error(r, 409, "path", "volume %s changed meanwhile; delete it again", name);
		goto out;
	}
	pm_log(m, "%s deleted volume %s", r->caller->desc, name);
	out = json_object_new_object();
	json_object_object_add(out, "deleted", json_object_new_string(name));
	json_object_object_add(out, "revision", json_object_new_int64(res.revision));
	pa_reply_json(r, 200, out);
out:
	ps_txn_result_free(&res);
	for (size_t i = 0; i < COPIES_MAX; i++)
		json_object_put(nodes[i]);
	json_object_put(vol);
}
