/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent_pr.h: the node agent's end of cluster-wide persistent reservations
 * (prefix pg_pr_; issue 18, doc/policy.md "Persistent reservations").
 * The lunlink LUNs with bsopts pr=cluster (the module) connect to a Unix
 * socket of the agent, one connection per LUN, and speak the messages of
 * include/lunlink/pr_wire.h; the agent carries them to the manager and
 * back over the asynchronous client, in the daemon's event loop, so that
 * nothing waits on the network:
 *
 *   HELLO   the LUN's volume: reported to the manager at once (the report's
 *           "pr"), which then puts the volume's state in this node's
 *           desired state;
 *   OUT     POST /v1/volumes/ID/pr, answered DONE with the manager's
 *           status once it answers, FAIL if it cannot be reached or says
 *           no (FAIL's reason names which);
 *   STATE   pushed to each LUN of a volume when the desired state brings a
 *           newer generation, with what is left of the validity its
 *           modules have (an agent that knows none asks the manager for
 *           one first, "ack":false);
 *   ACK     relayed to the manager (POST /v1/nodes/pr-ack) at once;
 *   VALID   sent after each renewal the manager grants (every
 *           pr_valid_ms/3): VALID_MS is pr_valid_ms less the time since the
 *           agent SENT the renewal, less a margin, so the module's deadline
 *           is always before the one the manager counts on.  A manager
 *           that does not answer grants nothing: the modules' validity
 *           runs out and they refuse I/O the reservation could affect.
 */
#ifndef LUNLINK_POLICY_AGENT_PR_H
#define LUNLINK_POLICY_AGENT_PR_H

#include <event2/event.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "http.h"

#define PG_PR_SOCKET		"/run/lunlink/pr.sock"
#define PG_PR_CONNS_MAX		1024	/* LUNs connected at once */
#define PG_PR_OUTS_MAX		16	/* PR OUTs one LUN may have under way */
#define PG_PR_OUT_TIMEOUT_MS	30000	/* a PR OUT's call: the manager waits up to pr_valid_ms */
/* a PR OUT no manager answered is sent again (same op id) for this long
 * from its first send: a takeover (about election_ttl) and the new
 * manager's wait (pr_valid_ms) fit, and the module's pr_timeout (15 s by
 * default) ends the command a little after */
#define PG_PR_OUT_RETRY_FOR_MS	10000

struct pg_pr_opts {
	const char *socket_path;	/* NULL: PG_PR_SOCKET */
	struct pa_aclient *client;	/* the agent's, to the manager */
	void (*report_now)(void *arg);	/* the modules' volumes changed, or a LUN
					 * got or lost its valid state: report */
	void *report_arg;
	pa_log_fn log;			/* NULL: stderr */
	void *log_arg;
};

struct pg_pr;

/* Listen on the socket (made mode 0600, its folder made if missing; a
 * stale socket file replaced).  NULL with err. */
struct pg_pr *pg_pr_new(struct event_base *base, const struct pg_pr_opts *o, char *err,
			size_t errlen);
/* Closes the socket and the connections, cancels the calls under way. */
void pg_pr_free(struct pg_pr *p);
/* The report's "pr": [{"volume","tid","lun"}] of the LUNs that said
 * HELLO (a new array). */
json_object *pg_pr_report(struct pg_pr *p);
/*
 * Whether LUN tid:lun of volume (its image's volume id) serves a valid
 * reservation state: its module said HELLO, acked a state, and the
 * validity the agent handed it has not run out.  Until then the module
 * answers NOT READY (04/01) to what a reservation could refuse, TEST UNIT
 * READY too, so the volume is not ready on this node.  false with why (p
 * NULL: the agent has no socket).  The agent is told (report_now) when a
 * LUN's answer turns, but for a validity that runs out unrenewed.
 */
bool pg_pr_lun_ready(struct pg_pr *p, const char *volume, uint32_t tid, uint64_t lun, char *why,
		     size_t len);
/* The desired state's answer: its "pr" object, by volume id, brings each
 * volume's state; newer generations are pushed to their LUNs. */
void pg_pr_desired(struct pg_pr *p, json_object *reply);

#endif
