// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * volume.c: volumes made from the pool's areas by usage way (seed 001;
 * doc/policy.md, "Areas and volumes"): their records (volumes/NAME), the
 * parts they hold in areas (what keeps an area or a node from being
 * removed, and what the manager counts as an area's use), and their
 * readiness from the nodes' actual state.
 */
#include "manager_int.h"

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

void pm_volume_check(struct pm_manager *m, const char *name)
{
}

void pm_volumes_post(struct pa_request *r, void *arg)
{
	pa_reply_error(r, 501, "method", "volumes are not made by this manager yet");
}

void pm_volumes_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	json_object *out = json_object_new_object();
	int64_t rev = 0;

	ps_revision(m->st, &rev, NULL);
	json_object_object_add(out, "revision", json_object_new_int64(rev));
	json_object_object_add(out, "volumes", pm_volumes_all(m));
	pa_reply_json(r, 200, out);
}

void pm_volumes_delete(struct pa_request *r, void *arg)
{
	pa_reply_error(r, 501, "method", "volumes are not made by this manager yet");
}
