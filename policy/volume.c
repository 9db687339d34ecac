// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * volume.c: volumes made from the pool's areas by usage way (seed 001;
 * doc/policy.md, "Areas and volumes"): placement, the volume's record
 * (volumes/NAME) and each involved node's desired state
 * (desired/NODE-ID/NAME) written in one transaction (pm_volume_commit,
 * which every later change of a volume goes through too), and the parts a
 * volume holds in areas (what keeps an area or a node from being removed,
 * and what the manager counts as an area's use).
 *
 * The ways:
 *  - single: one image, one lunlink LUN.
 *  - doubled: an image on each of N nodes with one volume id; N-1 exported
 *    as raw legs, the first served with mirror= to them and lease=on: it
 *    acknowledges writes only under the volume's write lease (lease.c).
 *  - divided: a part of an area, areas shared: one sparse image per volume
 *    in a dir area, placed best fit (the area with the least free space
 *    that holds it), so that small volumes fill areas others already use
 *    and large areas stay whole.  Not windows of one shared image: an area
 *    is a directory, and a file per volume gives the same division with no
 *    shared state to keep right (no offsets, no overlap to check), each
 *    volume growing and going on its own; a window is fixed in size.
 *  - integrated: the fewest areas on several nodes concatenated when no
 *    one has room: the node with the most free space serves, its own image
 *    first, then each other node's part, a plain file it exports as a
 *    plain LUN, joined with extent=iscsi://... in the serving LUN.
 *
 * Every LUN that serves a volume to hosts ends its bsopts with pr=cluster
 * (PM_SERVING_PR): its reservations are the volume's, not the node's, and
 * follow it to another node.  Its image is a lunlink image made with the
 * volume's image_volume_id, which names the state; legs and parts are not.
 *
 * Placement: each copy or part on a different online node, in that node's
 * dir area with the most free space (divided: the least that holds it);
 * the nodes with the most free space first, or those the request names
 * ("on"), in its order.  A refusal says, node by node, why none would do.
 *
 * Readiness, deletion, sync state and restarts are volume_life.c's;
 * resize and lending volume_ops.c's.
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
	/* a node may go while a volume is deleting: its part goes with it
	 * (its actual keys are deleted, which is what deletion waits for);
	 * an area may not, its image is still there */
	if (!u->area && !strcmp(pm_str(vol, "state"), "deleting"))
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

#define VOLUME_SIZE_MIN	(1ULL << 20)
#define VOLUME_SIZE_MAX	(1ULL << 50)
#define ISCSI_PORT	3260
#define PART_ALIGN	(1ULL << 20)	/* an integrated part but the last: whole MiB */

/* One candidate node for a copy or a part: its area. */
struct place {
	char id[PM_ID_LEN + 1];
	char name[PJR_NAME_MAX + 1];
	char portal[80];		/* HOST:PORT its LUNs are reached at */
	char initiator[224];		/* the name its tgtd's module logs in to peers with */
	json_object *area;		/* borrowed from the areas list */
	uint64_t free;
	uint64_t size;			/* integrated: this part's bytes */
	const char *why;		/* not a candidate: why */
};

void pm_human(uint64_t b, char *out, size_t len)
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

/*
 * Fill p for node (a record) with one of its dir areas: the one with the
 * most free space, or with pack (divided) the one with the least that
 * still holds size (the most free if none does, to say so).
 */
static void candidate(json_object *node, json_object *areas, uint64_t size, bool pack,
		      struct place *p)
{
	json_object *portals;

	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", pm_str(node, "id"));
	snprintf(p->name, sizeof(p->name), "%s", pm_str(node, "name"));
	snprintf(p->initiator, sizeof(p->initiator), "%s", pm_str(node, "initiator"));
	if (json_object_object_get_ex(node, "portals", &portals) &&
	    json_object_array_length(portals) > 0)
		snprintf(p->portal, sizeof(p->portal), "%s",
			 json_object_get_string(json_object_array_get_idx(portals, 0)));
	else if (pm_str(node, "address")[0])
		snprintf(p->portal, sizeof(p->portal), "%s:%d", pm_str(node, "address"), ISCSI_PORT);
	for (size_t i = 0; i < json_object_array_length(areas); i++) {
		json_object *a = json_object_array_get_idx(areas, i);
		uint64_t f = (uint64_t)pm_int(a, "free");
		bool better;

		if (strcmp(pm_str(a, "node_id"), p->id) || strcmp(pm_str(a, "kind"), "dir"))
			continue;
		if (!p->area)
			better = true;
		else if (pack && f >= size)
			better = p->free < size || f < p->free;
		else if (pack)
			better = p->free < size && f > p->free;
		else
			better = f > p->free;
		if (better) {
			p->area = a;
			p->free = f;
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

static int by_least_free(const void *a, const void *b)
{
	const struct place *x = a, *y = b;

	return (x->why != NULL) - (y->why != NULL) ?: (x->free > y->free) - (x->free < y->free);
}

/* Say node by node what each has or lacks: " (db1: 9G free, db2: offline)". */
static void name_nodes(FILE *msg, const struct place *all, size_t n)
{
	char have[32];

	for (size_t i = 0; i < n; i++) {
		pm_human(all[i].free, have, sizeof(have));
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
}

/* The candidates: every node, or those named by on, in its order; *n
 * their count.  NULL with the refusal in why. */
static struct place *candidates(struct pm_manager *m, json_object *areas, uint64_t size,
				bool pack, const char *const *on, size_t *n, char *why, size_t len)
{
	json_object *nodes = pm_nodes_all(m);
	size_t count = json_object_array_length(nodes), k = 0;
	struct place *all = calloc(count ? count : 1, sizeof(*all)), *picked = NULL;

	if (!all) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		candidate(json_object_array_get_idx(nodes, i), areas, size, pack, &all[i]);
	*n = count;
	if (!on || !on[0])
		goto out;
	/* the nodes asked for, in their order */
	picked = calloc(count ? count : 1, sizeof(*picked));
	if (!picked)
		snprintf(why, len, "out of memory");
	for (size_t j = 0; picked && on[j]; j++) {
		size_t i;

		for (i = 0; i < count && strcmp(all[i].name, on[j]); i++)
			;
		if (i == count) {
			snprintf(why, len, "no node named '%s' ('lunlinkctl node list' shows them)",
				 on[j]);
			free(picked);
			picked = NULL;
			break;
		}
		picked[k++] = all[i];
	}
	free(all);
	all = picked;
	*n = k;
out:
	json_object_put(nodes);
	return all;
}

/* Choose copies places into out (single, doubled, divided); -1 with the
 * refusal in why. */
static int place(struct pm_manager *m, uint64_t size, int64_t copies, bool pack,
		 const char *const *on, struct place *out, json_object *areas, char *why, size_t len)
{
	size_t n = 0, k, pos;
	struct place *all = candidates(m, areas, size, pack, on, &n, why, len);
	char want[32];
	FILE *msg;
	int rc = -1;

	if (!all)
		return -1;
	if (!on || !on[0])
		qsort(all, n, sizeof(*all), pack ? by_least_free : by_free);
	for (k = 0, pos = 0; pos < n && k < (size_t)copies; pos++)
		if (!all[pos].why)
			out[k++] = all[pos];
	if (k == (size_t)copies) {
		rc = 0;
		goto out;
	}
	/* the refusal names what is missing, node by node */
	pm_human(size, want, sizeof(want));
	msg = fmemopen(why, len, "w");
	if (!msg)
		goto out;
	if (copies == 1)
		fprintf(msg, "no node with %s free in an area", want);
	else
		fprintf(msg, "%" PRId64 " copies need %" PRId64 " online nodes with %s free in an "
			"area each, %zu have it", copies, copies, want, k);
	name_nodes(msg, all, n);
	fclose(msg);
out:
	free(all);
	return rc;
}

/*
 * Integrated: the fewest parts that hold size, one per node, the node
 * with the most free space first (it serves); with on, those nodes in
 * that order.  Each part but the last takes its area's free space in
 * whole MiB; the last the rest.  *nparts gets the count.
 */
static int place_integrated(struct pm_manager *m, uint64_t size, const char *const *on,
			    struct place *out, size_t *nparts, json_object *areas, char *why,
			    size_t len)
{
	size_t n = 0, k = 0;
	struct place *all = candidates(m, areas, 0, false, on, &n, why, len);
	uint64_t left = size, total = 0;
	char want[32], have[32];
	FILE *msg;
	int rc = -1;

	if (!all)
		return -1;
	for (size_t i = 0; i < n; i++)	/* free space is all a part needs */
		if (!all[i].why && all[i].free < PART_ALIGN)
			all[i].why = "free";
	if (!on || !on[0])
		qsort(all, n, sizeof(*all), by_free);
	for (size_t i = 0; i < n && left && k < PM_PARTS_MAX; i++) {
		uint64_t take;

		if (all[i].why)
			continue;
		take = all[i].free >= left ? left : all[i].free / PART_ALIGN * PART_ALIGN;
		out[k] = all[i];
		out[k++].size = take;
		left -= take;
		total += all[i].free;
	}
	if (!left) {
		*nparts = k;
		rc = 0;
		goto out;
	}
	pm_human(size, want, sizeof(want));
	pm_human(total, have, sizeof(have));
	msg = fmemopen(why, len, "w");
	if (!msg)
		goto out;
	if (k == PM_PARTS_MAX)
		fprintf(msg, "%s does not fit in %d parts (the most a LUN joins): their areas hold "
			"%s; add larger areas", want, PM_PARTS_MAX, have);
	else
		fprintf(msg, "%s does not fit in the online nodes' areas together: %s free in "
			"all; add areas or nodes", want, have);
	name_nodes(msg, all, n);
	fclose(msg);
out:
	free(all);
	return rc;
}

/* ---- the record and the desired state ---- */

size_t pm_volume_parts(json_object *vol, json_object **parts)
{
	size_t n;

	*parts = NULL;
	json_object_object_get_ex(vol, "parts", parts);
	n = *parts ? json_object_array_length(*parts) : 0;
	return n < PM_PARTS_MAX ? n : PM_PARTS_MAX;
}

void pm_volume_identity(struct pm_manager *m, json_object *vol)
{
	json_object *id = json_object_new_object();
	char sn[40], naa[40], wwid[48], img[40];

	/* tgt's scsi_id: its VPD page 0x83 gives it as a T10 vendor id and,
	 * read as hex, as an NAA IEEE Registered Extended id (type 6, 16
	 * bytes), the one udev and multipath take for the WWID */
	snprintf(naa, sizeof(naa), "6%.15s%.16s", m->cluster, pm_str(vol, "id"));
	snprintf(sn, sizeof(sn), "ll-%.16s-%.9s", pm_str(vol, "id"), m->cluster);
	snprintf(wwid, sizeof(wwid), "naa.%s", naa);
	json_object_object_add(id, "scsi_sn", json_object_new_string(sn));
	json_object_object_add(id, "scsi_id", json_object_new_string(naa));
	json_object_object_add(id, "wwid", json_object_new_string(wwid));
	/* the images' volume id (lunlink-image create --volume): 128 bits,
	 * the cluster's and the volume's, the same for every copy */
	snprintf(img, sizeof(img), "1%.15s%.16s", m->cluster, pm_str(vol, "id"));
	json_object_object_add(id, "image_volume_id", json_object_new_string(img));
	json_object_object_add(vol, "identity", id);
}

static json_object *image(json_object *vol, const struct place *p, const char *path,
			  uint64_t size, const char *format)
{
	json_object *i = json_object_new_object(), *id = NULL;
	/* room to grow online (resize): the dirty-region map is made for
	 * max_size, four times the size and at least 16 GiB, at most 64 TiB */
	uint64_t max = size < (4ULL << 30) ? 16ULL << 30 : size * 4;

	if (max > 1ULL << 46)
		max = size > 1ULL << 46 ? size : 1ULL << 46;
	json_object_object_get_ex(vol, "identity", &id);
	json_object_object_add(i, "area", json_object_new_string(pm_str(p->area, "id")));
	json_object_object_add(i, "path", json_object_new_string(path));
	json_object_object_add(i, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(i, "max_size", json_object_new_int64((int64_t)max));
	json_object_object_add(i, "volume_id", json_object_new_string(pm_str(id, "image_volume_id")));
	json_object_object_add(i, "format", json_object_new_string(format));
	return i;
}

static json_object *lun(const char *iqn, const char *path, const char *bstype, const char *bsopts,
			uint64_t size)
{
	json_object *l = json_object_new_object();

	json_object_object_add(l, "iqn", json_object_new_string(iqn));
	json_object_object_add(l, "tid", json_object_new_int(0));	/* the agent's choice */
	json_object_object_add(l, "lun", json_object_new_int(1));
	json_object_object_add(l, "path", json_object_new_string(path));
	json_object_object_add(l, "bstype", json_object_new_string(bstype));
	json_object_object_add(l, "bsopts", json_object_new_string(bsopts));
	json_object_object_add(l, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(l, "acl", json_object_new_array());
	return l;
}

/* A leg's or a part's LUN admits the serving node's module alone (as it
 * reported its initiator name; none reported: nobody yet). */
static json_object *peer_lun(const char *iqn, const char *path, const char *bstype,
			     const char *bsopts, uint64_t size, const struct place *serving)
{
	json_object *l = lun(iqn, path, bstype, bsopts, size), *acl;

	if (serving->initiator[0] && json_object_object_get_ex(l, "acl", &acl))
		json_object_array_add(acl, json_object_new_string(serving->initiator));
	return l;
}

/* The serving LUN: the volume's identity on it, the same on any node. */
static void serving_lun(json_object *vol, json_object *l)
{
	json_object *id;

	json_object_object_get_ex(vol, "identity", &id);
	json_object_object_add(l, "scsi_sn", json_object_new_string(pm_str(id, "scsi_sn")));
	json_object_object_add(l, "scsi_id", json_object_new_string(pm_str(id, "scsi_id")));
}

static json_object *part(const struct place *p, const char *path, uint64_t size,
			 const char *role)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "node", json_object_new_string(p->id));
	json_object_object_add(o, "node_name", json_object_new_string(p->name));
	json_object_object_add(o, "area", json_object_new_string(pm_str(p->area, "id")));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(o, "role", json_object_new_string(role));
	json_object_object_add(o, "state", json_object_new_string("creating"));
	return o;
}

static void serving(json_object *vol, const struct place *p, const char *iqn)
{
	json_object *s = json_object_new_object();
	char url[256];

	snprintf(url, sizeof(url), "iscsi://%s/%s/1", p->portal, iqn);
	json_object_object_add(s, "node", json_object_new_string(p->name));
	json_object_object_add(s, "node_id", json_object_new_string(p->id));
	json_object_object_add(s, "iqn", json_object_new_string(iqn));
	json_object_object_add(s, "lun", json_object_new_int(1));
	json_object_object_add(s, "url", json_object_new_string(url));
	json_object_object_add(vol, "serving", s);
}

char *pm_integrated_bsopts(json_object *vol)
{
	json_object *parts;
	char *out = NULL;
	size_t len = 0;
	FILE *b = open_memstream(&out, &len);

	if (!b)
		return NULL;
	json_object_object_get_ex(vol, "parts", &parts);
	for (size_t i = 1; parts && i < json_object_array_length(parts); i++) {
		json_object *p = json_object_array_get_idx(parts, i);

		fprintf(b, "extent=%s:0:%" PRId64 ";", pm_str(p, "url"), pm_int(p, "size"));
	}
	fprintf(b, PM_SERVING_PR);
	fclose(b);
	return out;
}

/* The volume's record and each copy's desired state, for single, divided
 * and doubled: copy 0 is the primary, the others its legs. */
static void compose(json_object *vol, struct place *pl, size_t n, json_object **desired)
{
	json_object *parts = json_object_new_array();
	char iqn[128], url[256], path[PM_PATH_MAX + PJR_NAME_MAX + 8], *bsopts = NULL;
	uint64_t size = (uint64_t)pm_int(vol, "size");
	size_t blen = 0;
	FILE *b = open_memstream(&bsopts, &blen);

	for (size_t i = n; i-- > 0;) {	/* legs first: the primary names them */
		json_object *d = json_object_new_object(), *imgs = json_object_new_array(), *p, *l;

		snprintf(path, sizeof(path), "%s/%s.img", pm_str(pl[i].area, "path"),
			 pm_str(vol, "name"));
		if (i == 0)
			snprintf(iqn, sizeof(iqn), PM_IQN_BASE ":vol-%s", pm_str(vol, "id"));
		else
			snprintf(iqn, sizeof(iqn), PM_IQN_BASE ":vol-%s-leg-%s", pm_str(vol, "id"),
				 pl[i].id);
		json_object_array_add(imgs, image(vol, &pl[i], path, size, "lunlink"));
		json_object_object_add(d, "images", imgs);
		p = part(&pl[i], path, size, i ? "leg" : "primary");
		if (i > 0) {
			json_object_object_add(d, "lun", peer_lun(iqn, path, "lunlink", "raw=on", size,
								  &pl[0]));
			snprintf(url, sizeof(url), "iscsi://%s/%s/1", pl[i].portal, iqn);
			json_object_object_add(p, "url", json_object_new_string(url));
			if (b)
				fprintf(b, "%smirror=%s", ftell(b) > 0 ? ";" : "", url);
		} else {
			/* a mirror acknowledges writes only while its node
			 * holds the volume's write lease (lease.c) */
			if (b && n > 1)
				fprintf(b, ";lease=on");
			if (b) {
				fprintf(b, "%s" PM_SERVING_PR, ftell(b) > 0 ? ";" : "");
				fclose(b);
			}
			b = NULL;
			l = lun(iqn, path, "lunlink", bsopts ? bsopts : "", size);
			serving_lun(vol, l);
			json_object_object_add(d, "lun", l);
			serving(vol, &pl[0], iqn);
		}
		json_object_array_put_idx(parts, i, p);
		desired[i] = d;
	}
	free(bsopts);
	json_object_object_add(vol, "parts", parts);
}

/* Integrated: part 0 serves, its image first, then each other part's
 * plain file, exported by its node as a plain (rdwr) LUN. */
static void compose_integrated(json_object *vol, struct place *pl, size_t n,
			       json_object **desired)
{
	json_object *parts = json_object_new_array(), *l;
	char iqn[128], url[256], path[PM_PATH_MAX + PJR_NAME_MAX + 8], *bsopts;
	uint64_t offset = 0;

	json_object_object_add(vol, "parts", parts);
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_new_object(), *imgs = json_object_new_array(), *p;
		bool first = i == 0;

		snprintf(path, sizeof(path), "%s/%s.%s", pm_str(pl[i].area, "path"),
			 pm_str(vol, "name"), first ? "img" : "raw");
		json_object_array_add(imgs, image(vol, &pl[i], path, pl[i].size,
						  first ? "lunlink" : "plain"));
		json_object_object_add(d, "images", imgs);
		p = part(&pl[i], path, pl[i].size, first ? "primary" : "extent");
		json_object_object_add(p, "offset", json_object_new_int64((int64_t)offset));
		offset += pl[i].size;
		if (!first) {
			snprintf(iqn, sizeof(iqn), PM_IQN_BASE ":vol-%.16s-part-%.16s", pm_str(vol, "id"),
				 pl[i].id);
			snprintf(url, sizeof(url), "iscsi://%s/%s/1", pl[i].portal, iqn);
			json_object_object_add(p, "url", json_object_new_string(url));
			json_object_object_add(d, "lun", peer_lun(iqn, path, "rdwr", "", pl[i].size,
								  &pl[0]));
		}
		json_object_array_add(parts, p);
		desired[i] = d;
	}
	/* the serving LUN names the others, so it is made last */
	snprintf(iqn, sizeof(iqn), PM_IQN_BASE ":vol-%s", pm_str(vol, "id"));
	snprintf(path, sizeof(path), "%s/%s.img", pm_str(pl[0].area, "path"), pm_str(vol, "name"));
	bsopts = pm_integrated_bsopts(vol);
	l = lun(iqn, path, "lunlink", bsopts ? bsopts : "", (uint64_t)pm_int(vol, "size"));
	free(bsopts);
	serving_lun(vol, l);
	json_object_object_add(desired[0], "lun", l);
	serving(vol, &pl[0], iqn);
}

int pm_volume_commit(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
		     const struct pm_desired *d, size_t n, int64_t *revision)
{
	return pm_volume_commit_ex(m, name, vol, vol_mod, d, n, NULL, revision);
}

int pm_volume_commit_ex(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
			const struct pm_desired *d, size_t n, const struct pm_txn_extra *x,
			int64_t *revision)
{
	size_t xc = x ? x->ncmp : 0, xo = x ? x->nops : 0;
	char vkey[PS_KEY_MAX + 1], lkey[PS_KEY_MAX + 1];
	char (*keys)[PS_KEY_MAX + 1] = calloc(2 * n + 1, sizeof(*keys));
	json_object **nodes = calloc(n + 1, sizeof(*nodes));
	struct ps_cmp *cmp = calloc(n + 1 + xc, sizeof(*cmp));
	struct ps_op *ops = calloc(2 * n + 2 + xo, sizeof(*ops));
	struct ps_txn txn = { .cmp = cmp, .success = ops };
	struct ps_txn_result res = { 0 };
	int64_t rev = pm_next_revision(m);
	int rc = -1;

	if (!keys || !nodes || !cmp || !ops || rev < 0 || 2 * n + 2 + xo > PS_TXN_OPS_MAX)
		goto out;
	for (size_t i = 0; i < xc; i++)
		cmp[txn.ncmp++] = x->cmp[i];
	for (size_t i = 0; i < xo; i++)
		ops[txn.nsuccess++] = x->ops[i];
	pm_key(vkey, "volumes/%s", name);
	cmp[txn.ncmp++] = (struct ps_cmp){ .key = vkey, .target = PS_CMP_MOD_REVISION,
					   .result = PS_EQUAL, .number = vol_mod };
	ops[txn.nsuccess++] = vol ? (struct ps_op){ .type = PS_OP_PUT, .key = vkey,
						    .value = pm_text(vol),
						    .value_len = strlen(pm_text(vol)) } :
				    (struct ps_op){ .type = PS_OP_DELETE, .key = vkey };
	if (!vol) {	/* its write lease goes with it (lease.c) */
		pm_key(lkey, "leases/%s", name);
		ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_DELETE, .key = lkey };
	}
	for (size_t i = 0; i < n; i++) {
		struct ps_kv nkv = { 0 };

		pm_key(keys[2 * i], "desired/%s/%s", d[i].node, name);
		pm_key(keys[2 * i + 1], "nodes/%s", d[i].node);
		ops[txn.nsuccess++] = d[i].desired ?
			(struct ps_op){ .type = PS_OP_PUT, .key = keys[2 * i],
					.value = pm_text(d[i].desired),
					.value_len = strlen(pm_text(d[i].desired)) } :
			(struct ps_op){ .type = PS_OP_DELETE, .key = keys[2 * i] };
		nodes[i] = pm_get(m, keys[2 * i + 1], &nkv);
		if (!nodes[i])	/* removed: nobody to tell */
			continue;
		/* the agent reads its desired state when this revision is news */
		json_object_object_add(nodes[i], "desired_revision", json_object_new_int64(rev));
		cmp[txn.ncmp++] = (struct ps_cmp){ .key = keys[2 * i + 1], .target = PS_CMP_MOD_REVISION,
						   .result = PS_EQUAL, .number = nkv.mod_revision };
		ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_PUT, .key = keys[2 * i + 1],
						      .value = pm_text(nodes[i]),
						      .value_len = strlen(pm_text(nodes[i])) };
	}
	if (ps_txn(m->st, &txn, &res))
		goto out;
	rc = res.succeeded ? 0 : 1;
	if (revision)
		*revision = res.revision;
out:
	ps_txn_result_free(&res);
	for (size_t i = 0; nodes && i < n; i++)
		json_object_put(nodes[i]);
	free(nodes);
	free(keys);
	free(cmp);
	free(ops);
	return rc;
}

/* ---- POST /v1/volumes ---- */

static void volumes_create(struct pa_request *r, struct pm_manager *m)
{
	static const char *const fields[] = { "name", "way", "size", "copies", "on", NULL };
	const char *name, *way, *on[PM_PARTS_MAX + 1];
	char why[1024], vid[PM_ID_LEN + 1], vkey[PS_KEY_MAX + 1];
	uint64_t size = 0;
	int64_t copies = 0, rev, done_rev = 0;
	size_t n_on, n;
	struct ps_kv kv = { 0 };
	json_object *body = NULL, *areas = NULL, *vol = NULL, *desired[PM_PARTS_MAX] = { 0 };
	struct place pl[PM_PARTS_MAX];
	struct pm_desired d[PM_PARTS_MAX];
	struct pjr_err e = { 0 };
	bool integrated, doubled;
	int rc;

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) ||
	    pjr_string(body, "name", true, PJR_NAME_MAX, PJR_NAME, &name, &e) ||
	    pjr_string(body, "way", true, 16, PJR_NAME, &way, &e) ||
	    pjr_size(body, "size", true, VOLUME_SIZE_MIN, VOLUME_SIZE_MAX, &size, &e) ||
	    pjr_int(body, "copies", false, 1, PM_COPIES_MAX, &copies, &e) ||
	    pjr_string_array(body, "on", false, PM_PARTS_MAX, PJR_NAME_MAX, PJR_NAME, on, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	if (strcmp(way, "single") && strcmp(way, "doubled") && strcmp(way, "integrated") &&
	    strcmp(way, "divided")) {
		pa_reply_error(r, 400, "way", "field 'way' must be single, doubled, integrated or "
			       "divided, not '%s'", way);
		goto out;
	}
	integrated = !strcmp(way, "integrated");
	doubled = !strcmp(way, "doubled");
	if (!copies)
		copies = doubled ? 2 : 1;
	if ((!doubled && copies != 1) || (doubled && copies < 2)) {
		pa_reply_error(r, 400, "copies", "a %s volume has %s copies, not %lld", way,
			       doubled ? "2 to 5" : "1", (long long)copies);
		goto out;
	}
	if (size % 512) {
		pa_reply_error(r, 400, "size", "field 'size' must be a multiple of 512 bytes (a "
			       "SCSI block), not %" PRIu64, size);
		goto out;
	}
	for (n_on = 0; on[n_on]; n_on++) {
		for (size_t j = 0; j < n_on; j++)
			if (!strcmp(on[n_on], on[j])) {
				pa_reply_error(r, 400, "on", "field 'on' names node %s twice: each %s "
					       "goes on a node of its own", on[j],
					       integrated ? "part" : "copy");
				goto out;
			}
	}
	if (!integrated && n_on && n_on != (size_t)copies) {
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
	n = (size_t)copies;
	rc = integrated ? place_integrated(m, size, on, pl, &n, areas, why, sizeof(why)) :
			  place(m, size, copies, !strcmp(way, "divided"), on, pl, areas, why,
				sizeof(why));
	if (rc) {
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
	json_object_object_add(vol, "copies", json_object_new_int64(doubled ? copies : 1));
	json_object_object_add(vol, "state", json_object_new_string("creating"));
	json_object_object_add(vol, "step", json_object_new_string(""));
	json_object_object_add(vol, "error", json_object_new_string(""));
	json_object_object_add(vol, "created_revision", json_object_new_int64(rev));
	json_object_object_add(vol, "resync_bytes_left", json_object_new_int64(0));
	pm_volume_identity(m, vol);
	if (integrated)
		compose_integrated(vol, pl, n, desired);
	else
		compose(vol, pl, n, desired);
	json_object_object_add(vol, "borrower", NULL);
	for (size_t i = 0; i < n; i++)
		d[i] = (struct pm_desired){ .node = pl[i].id, .desired = desired[i] };
	rc = pm_volume_commit(m, name, vol, 0, d, n, &done_rev);
	if (rc) {
		if (rc < 0)
			pm_reply_store(r, m, "creating the volume");
		else
			pa_reply_error(r, 409, "name", "the volume or its nodes changed meanwhile; ask "
				       "again");
		goto out;
	}
	pm_log(m, "%s made volume %s (%s, %zu %s, %" PRIu64 " bytes) served by %s",
	       r->caller->desc, name, way, n, integrated ? "parts" : "copies", size, pl[0].name);
	json_object_object_add(vol, "revision", json_object_new_int64(done_rev));
	pa_reply_json(r, 201, json_object_get(vol));
out:
	ps_kv_free(&kv);
	for (size_t i = 0; i < PM_PARTS_MAX; i++)
		json_object_put(desired[i]);
	json_object_put(vol);
	json_object_put(areas);
	json_object_put(body);
}

void pm_volumes_post(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	size_t n = strlen(r->rest);
	char id[PM_PR_VOLUME_LEN + 1];

	/* /ID/pr: a PR OUT from a node's agent (volume_pr.c) */
	if (n > 4 && n <= PM_PR_VOLUME_LEN + 4 && !strcmp(r->rest + n - 3, "/pr")) {
		snprintf(id, sizeof(id), "%.*s", (int)(n - 4), r->rest + 1);
		pm_pr_post(r, m, id);
	} else if (!pm_caller_admin(r)) {
		pa_reply_error(r, 403, "caller", "%s may not %s %s", r->caller->desc, r->method,
			       r->path);
	} else if (!r->rest[0] || !strcmp(r->rest, "/")) {
		volumes_create(r, m);
	} else {
		pm_volume_action(r, m);
	}
}
