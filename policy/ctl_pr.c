// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl_pr.c: `lunlinkctl volume pr NAME|ID`, a volume's persistent
 * reservations as the manager keeps them for the cluster (GET
 * /v1/volumes/NAME/pr): its generation, the registrations (key and the
 * registrant's TransportID), the reservation, and which exporting nodes
 * have the current state.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

static void print_pr(json_object *reply)
{
	static const char *const reg_head[] = { "KEY", "REGISTRANT (TRANSPORTID)", "RTPI",
						"ALL_TG_PT", NULL };
	static const char *const node_head[] = { "NODE", "ACKED", "CURRENT", "VALID FOR", NULL };
	json_object *regs = ctl_member(reply, "registrations"), *res = ctl_member(reply, "reservation");
	json_object *nodes = ctl_member(reply, "nodes"), *change = ctl_member(reply, "change");
	struct ctl_table *t;
	char left[32];

	printf("volume: %s%s%s%s\n", ctl_field(reply, "volume"),
	       ctl_member(reply, "name") ? " (" : "",
	       ctl_member(reply, "name") ? ctl_field(reply, "name") : "",
	       ctl_member(reply, "name") ? ")" : "");
	printf("generation: %s (PRgeneration %s)\n", ctl_field(reply, "generation"),
	       ctl_field(reply, "prgeneration"));
	printf("aptpl: %s\n", ctl_field(reply, "aptpl"));
	if (res && json_object_is_type(res, json_type_object)) {
		json_object *holder = ctl_member(res, "holder");

		printf("reservation: %s, held by %s\n", ctl_field(res, "type_name"),
		       holder && json_object_is_type(holder, json_type_object) ?
		       ctl_field(holder, "nexus") : ctl_field(res, "holder"));
	} else {
		printf("reservation: none\n");
	}
	if (change && json_object_is_type(change, json_type_object))
		printf("last change: %s from node %s\n", ctl_field(change, "action"),
		       ctl_field(change, "node"));
	t = ctl_table_new(reg_head);
	for (size_t i = 0; regs && i < json_object_array_length(regs); i++) {
		json_object *g = json_object_array_get_idx(regs, i);
		const char *row[] = { ctl_field(g, "key"), ctl_field(g, "nexus"), ctl_field(g, "rtpi"),
				      ctl_field(g, "all_tg_pt") };

		ctl_table_row(t, row);
	}
	printf("\nREGISTRATIONS\n");
	ctl_table_print(t);
	t = ctl_table_new(node_head);
	for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
		json_object *n = json_object_array_get_idx(nodes, i);
		const char *row[] = { ctl_field(n, "name|id"), ctl_field(n, "acked"),
				      ctl_field(n, "current"), left };

		snprintf(left, sizeof(left), "%s ms", ctl_field(n, "valid_left_ms"));
		ctl_table_row(t, row);
	}
	printf("\nEXPORTING NODES\n");
	ctl_table_print(t);
}

int ctl_volume_pr(struct ctl *c)
{
	char path[160];

	if (ctl_parse(c, NULL, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/volumes/%s/pr", c->args[0]);
	return ctl_get_print(c, path, print_pr);
}
