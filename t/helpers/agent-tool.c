// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * agent-tool: drive the node agent's reconciling pass (policy/agent.h)
 * against a tgtd, from a desired state in a file, for the tests (and for
 * an operator who wants to see what the agent would do):
 *
 *   agent-tool [OPTIONS] plan DESIRED.json    print the actions, run nothing
 *   agent-tool [OPTIONS] apply DESIRED.json   make the images, run the actions
 *
 * OPTIONS: --tgtadm PATH, -C PORT (tgtd's control port), --socket PATH
 * (TGT_IPC_SOCKET), --prefix IQN-PREFIX (default
 * iqn.2026-11.org.lunlink.cluster:), --area PATH[=SIZE] (repeatable),
 * --lunlink-image PATH, --record FILE (the agent's record of what it
 * applied), --timeout MS (each tgtadm call).
 *
 * DESIRED.json has the shape of GET /v1/nodes/desired (agent_desired.h).
 * Prints one line per action ("action: ..."; "nothing to do" if none),
 * then one per volume ("volume NAME: ready|working|failed[: error]").
 * Exit 0 when every volume is ready, 1 when one is not, 2 on a usage or
 * input error.
 */
#include "agent.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AREAS_MAX 16

static int usage(void)
{
	fprintf(stderr, "usage: agent-tool [--tgtadm PATH] [-C PORT] [--socket PATH] "
		"[--prefix IQN] [--area PATH[=SIZE]]... [--lunlink-image PATH] [--record FILE] "
		"[--timeout MS] plan|apply DESIRED.json\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "tgtadm", required_argument, NULL, 't' }, { "socket", required_argument, NULL, 's' },
		{ "prefix", required_argument, NULL, 'p' }, { "area", required_argument, NULL, 'a' },
		{ "lunlink-image", required_argument, NULL, 'l' },
		{ "record", required_argument, NULL, 'r' }, { "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct pg_reconcile_opts o = { .tgt = { .control_port = -1 },
				       .iqn_prefix = "iqn.2026-11.org.lunlink.cluster:" };
	struct pg_area areas[AREAS_MAX];
	struct pg_vol_result *results = NULL;
	struct pg_desired d = { 0 };
	struct pg_plan plan = { 0 };
	json_object *j = NULL;
	char err[2048];
	bool dry_run;
	int c, rc = 2;

	while ((c = getopt_long(argc, argv, "C:", longs, NULL)) != -1) {
		switch (c) {
		case 't': o.tgt.tgtadm = optarg; break;
		case 'C': o.tgt.control_port = atoi(optarg); break;
		case 's': o.tgt.ipc_socket = optarg; break;
		case 'p': o.iqn_prefix = optarg; break;
		case 'l': o.img.lunlink_image = optarg; break;
		case 'r': o.record_path = optarg; break;
		case 'T': o.tgt.timeout_ms = atol(optarg); break;
		case 'a': {
			char *eq = strchr(optarg, '=');

			if (o.nareas >= AREAS_MAX)
				return usage();
			areas[o.nareas].path = optarg;
			areas[o.nareas].size = eq ? strtoull(eq + 1, NULL, 0) : 0;
			if (eq)
				*eq = '\0';
			o.nareas++;
			break;
		}
		default:
			return usage();
		}
	}
	if (argc - optind != 2 || (strcmp(argv[optind], "plan") && strcmp(argv[optind], "apply")))
		return usage();
	dry_run = !strcmp(argv[optind], "plan");
	o.areas = areas;
	j = json_object_from_file(argv[optind + 1]);
	if (!j) {
		fprintf(stderr, "agent-tool: %s: %s\n", argv[optind + 1], json_util_get_last_err());
		return 2;
	}
	if (pg_desired_read(j, &d, err, sizeof(err))) {
		fprintf(stderr, "agent-tool: %s: %s\n", argv[optind + 1], err);
		goto out;
	}
	results = calloc(d.n ? d.n : 1, sizeof(*results));
	if (!results)
		goto out;
	rc = pg_reconcile(&o, &d, dry_run, &plan, results, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "agent-tool: %s\n", err);
	for (size_t k = 0; k < plan.n; k++) {
		char what[2048];

		pg_action_describe(&plan.actions[k], what, sizeof(what));
		printf("action: %s\n", what);
	}
	if (rc >= 0 && !plan.n)
		printf("nothing to do\n");
	for (size_t i = 0; i < d.n; i++)
		printf("volume %s: %s%s%s\n", d.volumes[i].name, pg_vol_state_name(results[i].state),
		       results[i].error[0] ? ": " : "", results[i].error);
	rc = rc ? 1 : 0;
out:
	pg_plan_free(&plan);
	free(results);
	pg_desired_free(&d);
	json_object_put(j);
	return rc;
}
