// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * agent-tool: drive the node agent's reconciling pass (policy/agent.h)
 * against a tgtd, from a desired state in a file, for the tests (and for
 * an operator who wants to see what the agent would do):
 *
 *   agent-tool [OPTIONS] plan DESIRED.json    print the actions, run nothing
 *   agent-tool [OPTIONS] apply DESIRED.json   make the images, run the actions
 *   agent-tool [OPTIONS] run URL ROUNDS STATE-DIR
 *                      the agent's loop (pg_agent) against a manager at URL,
 *                      for ROUNDS heartbeats (1 s) and a half, its log on
 *                      stderr; exit 0 if the manager answered the last call
 *   agent-tool fake-manager SOCKET DESIRED.json REPORTS
 *                      a stand-in manager on a Unix socket: answers
 *                      GET /v1/nodes/desired with DESIRED.json (its
 *                      "desired_revision"), appends each report to REPORTS
 *                      (one JSON line), until killed
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

#include <event2/event.h>
#include <getopt.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AREAS_MAX 16

static int usage(void)
{
	fprintf(stderr, "usage: agent-tool [--tgtadm PATH] [-C PORT] [--socket PATH] "
		"[--prefix IQN] [--area PATH[=SIZE]]... [--lunlink-image PATH] [--record FILE] "
		"[--timeout MS] plan|apply DESIRED.json | run URL ROUNDS STATE-DIR | "
		"fake-manager SOCKET DESIRED.json REPORTS\n");
	return 2;
}

/* ---- a stand-in manager ---------------------------------------------- */

static const char *fake_desired, *fake_reports;

static int64_t desired_revision(void)
{
	json_object *j = json_object_from_file(fake_desired), *v;
	int64_t rev = 0;

	if (j && json_object_object_get_ex(j, "desired_revision", &v))
		rev = json_object_get_int64(v);
	if (j)
		json_object_put(j);
	return rev;
}

static void on_report(struct pa_request *r, void *arg)
{
	json_object *body, *reply;
	FILE *f;

	(void)arg;
	if (pa_request_json(r, &body))
		return;
	f = fopen(fake_reports, "a");
	if (f) {
		fprintf(f, "%s\n", json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
		fclose(f);
	}
	json_object_put(body);
	reply = json_object_new_object();
	json_object_object_add(reply, "id", json_object_new_string("0000000000000006"));
	json_object_object_add(reply, "desired_revision", json_object_new_int64(desired_revision()));
	pa_reply_json(r, 200, reply);
}

static void on_desired(struct pa_request *r, void *arg)
{
	json_object *j = json_object_from_file(fake_desired);

	(void)arg;
	if (!j) {
		pa_reply_error(r, 500, "desired", "cannot read %s", fake_desired);
		return;
	}
	pa_reply_json(r, 200, j);
}

static int fake_manager(const char *sock, const char *desired, const char *reports)
{
	static const struct pa_route routes[] = {
		{ "POST", "/v1/nodes/report", PA_ALLOW_LOCAL, on_report, NULL },
		{ "GET", "/v1/nodes/desired", PA_ALLOW_LOCAL, on_desired, NULL },
	};
	struct pa_server_opts so = { .unix_path = sock, .unix_gid = (gid_t)-1,
				     .routes = routes, .nroutes = 2 };
	struct pa_server *s;
	char err[512];

	fake_desired = desired;
	fake_reports = reports;
	so.base = event_base_new();
	s = so.base ? pa_server_new(&so, err, sizeof(err)) : NULL;
	if (!s) {
		fprintf(stderr, "agent-tool: fake-manager: %s\n", so.base ? err : "no event base");
		return 2;
	}
	event_base_dispatch(so.base);
	pa_server_free(s);
	event_base_free(so.base);
	return 0;
}

/* ---- the agent's loop, a few rounds ------------------------------------ */

static int run_agent(const struct pg_reconcile_opts *ro, const char *url, int rounds,
		     const char *state_dir)
{
	struct pg_agent_opts ao = {
		.manager_url = url, .node_name = "test-node", .address = "127.0.0.1",
		.tgtadm = ro->tgt.tgtadm,
		.tgt_control_port = ro->tgt.control_port > 0 ? (unsigned int)ro->tgt.control_port : 0,
		.tgt_ipc_socket = ro->tgt.ipc_socket, .areas = ro->areas, .nareas = ro->nareas,
		.heartbeat_interval = 1, .iqn_prefix = ro->iqn_prefix,
		.lunlink_image = ro->img.lunlink_image, .state_dir = state_dir,
		.lunlink_version = "test", .call_timeout_ms = 2000,
	};
	struct event_base *base = event_base_new();
	struct pg_agent *a;
	char err[512], pr_socket[4200];
	int rc = -1;

	/* the pr=cluster socket in the test's folder, not /run/lunlink */
	snprintf(pr_socket, sizeof(pr_socket), "%s/pr.sock", state_dir);
	ao.pr_socket = pr_socket;
	a = base ? pg_agent_new(base, &ao, err, sizeof(err)) : NULL;
	if (!a) {
		fprintf(stderr, "agent-tool: run: %s\n", base ? err : "no event base");
		return 2;
	}
	/* the first round at once, then one per second: the loop runs until
	 * half a second after round ROUNDS, so that its calls are answered */
	{
		struct timeval tv = { .tv_sec = rounds > 1 ? rounds - 1 : 0, .tv_usec = 500000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	rc = pg_agent_manager_answers(a) ? 0 : -1;
	pg_agent_free(a);
	event_base_free(base);
	return rc ? 1 : 0;
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
	o.areas = areas;
	if (argc - optind == 4 && !strcmp(argv[optind], "fake-manager"))
		return fake_manager(argv[optind + 1], argv[optind + 2], argv[optind + 3]);
	if (argc - optind == 4 && !strcmp(argv[optind], "run"))
		return run_agent(&o, argv[optind + 1], atoi(argv[optind + 2]), argv[optind + 3]);
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
