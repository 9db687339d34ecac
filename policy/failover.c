// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * failover.c: which copy of a doubled volume may take its primary's place
 * (issue 18; doc/policy.md, "Failover: which copy may be promoted").
 *
 * A copy may be promoted only if it holds every write the primary
 * acknowledged.  The primary's module acknowledges no write of a
 * generation the manager has not recorded (lease.c records the one its
 * node reports with each renewal), and a leg that took every write of a
 * generation has that generation in its superblock (the primary writes it
 * there when the generation starts, to the legs that are up).  So a leg
 * whose superblock generation, as its node reported it (leg_generation),
 * equals the recorded one holds every acknowledged write; any other leg is
 * behind (it was dropped: the primary started a generation without it) or
 * split, and is never promoted.  No generation recorded yet: nothing is
 * known, nothing is promotable.
 *
 * What is left out on purpose: a leg whose node is offline is not
 * promotable (its report is old, and it could not serve anyway); among
 * promotable legs all have the same generation, so the first online one
 * in the volume's parts is taken.
 *
 * The promotion itself (the layout's transaction) is not here yet.
 */
#include "manager_int.h"

#include <stdio.h>
#include <string.h>

/* The recorded generation of volume name ("" if none), into gen. */
static void recorded(struct pm_manager *m, const char *name, char gen[17])
{
	char key[PS_KEY_MAX + 1];
	json_object *rec;

	pm_key(key, "leases/%s", name);
	rec = pm_get(m, key, NULL);
	snprintf(gen, 17, "%s", rec ? pm_str(rec, "generation") : "");
	json_object_put(rec);
}

/* What node_id last reported of its leg of name: its superblock's
 * generation ("" if none) and whether the node is online. */
static void leg_of(struct pm_manager *m, const char *node_id, const char *name, char gen[17],
		   bool *online)
{
	char key[PS_KEY_MAX + 1];
	json_object *o;

	pm_key(key, "actual/%s/%s", node_id, name);
	o = pm_get(m, key, NULL);
	snprintf(gen, 17, "%s", o ? pm_str(o, "leg_generation") : "");
	json_object_put(o);
	pm_key(key, "nodes/%s", node_id);
	o = pm_get(m, key, NULL);
	*online = o && !strcmp(pm_str(o, "state"), "online");
	json_object_put(o);
}

json_object *pm_volume_legs_json(struct pm_manager *m, json_object *vol, char *promote_id)
{
	const char *name = pm_str(vol, "name");
	json_object *parts, *out = json_object_new_array();
	char want[17];
	size_t n = pm_volume_parts(vol, &parts);

	if (promote_id)
		promote_id[0] = '\0';
	recorded(m, name, want);
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i), *e;
		char gen[17], why[160];
		bool online, ok;

		if (strcmp(pm_str(p, "role"), "leg"))
			continue;
		leg_of(m, pm_str(p, "node"), name, gen, &online);
		ok = want[0] && !strcmp(gen, want) && online;
		if (!want[0])
			snprintf(why, sizeof(why), "no generation of the primary recorded yet");
		else if (!gen[0])
			snprintf(why, sizeof(why), "its node has not reported its leg's generation");
		else if (strcmp(gen, want))
			snprintf(why, sizeof(why), "its generation %s is not the primary's %s: it "
				 "lacks writes the primary acknowledged", gen, want);
		else if (!online)
			snprintf(why, sizeof(why), "its node is offline");
		e = json_object_new_object();
		json_object_object_add(e, "node", json_object_new_string(pm_str(p, "node_name")));
		json_object_object_add(e, "node_id", json_object_new_string(pm_str(p, "node")));
		json_object_object_add(e, "generation", json_object_new_string(gen));
		json_object_object_add(e, "promotable", json_object_new_boolean(ok));
		if (!ok)
			json_object_object_add(e, "why_not", json_object_new_string(why));
		json_object_array_add(out, e);
		if (ok && promote_id && !promote_id[0])
			snprintf(promote_id, PM_ID_LEN + 1, "%s", pm_str(p, "node"));
	}
	return out;
}
