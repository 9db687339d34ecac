/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent.h: the node agent of lunlink-policyd (prefix pg_).  On every
 * storage node it reports the node to the manager (tgtd's state, its
 * areas, its LUNs, how each volume it was asked for stands) and makes the
 * node's images and tgtd what the manager wants, by reconciling: each
 * round compares tgtd's actual targets and LUNs with the desired state and
 * runs only what differs, so a restarted tgtd or agent converges with no
 * operator (doc/policy.md, "The agent").
 *
 * Two layers:
 *   - pg_reconcile (agent_reconcile.c): one pass, images then tgtd, for a
 *     desired state; used by the loop and by t/helpers/agent-tool;
 *   - pg_agent (agent.c): the loop on the daemon's libevent base: a long
 *     poll for the desired state always out (reconcile as soon as it
 *     comes), and every heartbeat a report and a reconcile; nothing in it
 *     waits on the network (the asynchronous client, client.h).
 */
#ifndef LUNLINK_POLICY_AGENT_H
#define LUNLINK_POLICY_AGENT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent_desired.h"
#include "images.h"
#include "tgt.h"
#include "http.h"
#include "tls.h"

#define PG_ERROR_MAX	512	/* a volume's error, as reported */

/* ---- one reconciling pass ------------------------------------------- */

struct pg_reconcile_opts {
	struct pg_tgt_opts tgt;
	struct pg_image_opts img;
	const struct pg_area *areas;
	size_t nareas;
	const char *iqn_prefix;		/* the targets the agent owns */
	const char *record_path;	/* what it applied (tgt.h); NULL: none kept */
	const char *pr_socket;		/* appended to pr=cluster LUNs' bsopts
					 * (pg_bsopts_for_node); NULL: nothing */
};

enum pg_vol_state { PG_VOL_READY, PG_VOL_WORKING, PG_VOL_FAILED };

struct pg_vol_result {
	enum pg_vol_state state;
	char error[PG_ERROR_MAX];
	uint64_t size;		/* the LUN's size in bytes (its image's data, its
				 * file), once served; 0: unknown */
};

/*
 * Converge this node to d: ensure each volume's images (never overwriting
 * another volume's), then read tgtd, plan (tgt.h) and, unless dry_run, run
 * the plan.  results[i] (d->n of them) says how volume i stands; *plan
 * (may be NULL) receives the plan (the caller frees it).  A volume whose
 * image failed keeps the LUN tgtd serves for it as it is: nothing is torn
 * down because a step failed.  0 when every volume is ready; 1 when some
 * are working or failed; -1 when nothing could be done (tgtd not running,
 * its state unreadable, the desired state refused), with err.
 */
int pg_reconcile(const struct pg_reconcile_opts *o, const struct pg_desired *d, bool dry_run,
		 struct pg_plan *plan, struct pg_vol_result *results, char *err, size_t errlen);

const char *pg_vol_state_name(enum pg_vol_state s);

/* Write j to path through a new file renamed over it, mode 0600 (the
 * record and the desired state hold CHAP secrets). */
int pg_write_private(const char *path, json_object *j, char *err, size_t errlen);

/* ---- the agent's loop ----------------------------------------------- */

struct pg_agent_opts {
	const char *manager_url;	/* "https://manager:7443" */
	struct pa_tls_files files;	/* the cluster CA, this node's certificate and key */
	const char *node_name;		/* for the log; the manager knows the node by its
					 * certificate */
	const char *address;		/* advertised address, or NULL */
	const char *const *portals;	/* "IP:PORT", NULL-ended, or NULL */
	const char *tgtadm;		/* NULL: /usr/sbin/tgtadm */
	unsigned int tgt_control_port;	/* tgtadm -C N; 0: tgtd's default */
	const char *tgt_ipc_socket;	/* TGT_IPC_SOCKET, or NULL (tests: a private tgtd) */
	const struct pg_area *areas;	/* from the configuration */
	size_t nareas;
	unsigned int heartbeat_interval;	/* seconds; 0: 2 */
	const char *iqn_prefix;		/* the targets it owns: "iqn.2026-11.org.lunlink.cluster:" */
	const char *lunlink_image;	/* NULL: /usr/sbin/lunlink-image */
	const char *state_dir;		/* keeps agent-record.json and agent-desired.json (0600) */
	const char *lunlink_version;	/* reported; NULL: none */
	long call_timeout_ms;		/* each API call but the long poll; 0: 5000 */
	const char *status_dir;		/* the module's status files; NULL: /run/lunlink */
	const char *pr_socket;		/* pr=cluster LUNs' socket (agent_pr.h); NULL: default */
	pa_log_fn log;			/* one line per message; NULL: stderr */
	void *log_arg;
};

/* The strings and arrays o points at must outlive the agent. */
struct pg_agent;

/* Start the agent on base: its timer (its first round at once) and its
 * long poll.  NULL with err on a bad option (no manager URL, no prefix,
 * no state folder). */
struct pg_agent *pg_agent_new(struct event_base *base, const struct pg_agent_opts *o,
			      char *err, size_t errlen);
void pg_agent_free(struct pg_agent *a);

/* One round now (the timer calls it): send the report (its answer comes
 * later, in the loop), reconcile with the desired state held, and report
 * again at once if that changed anything.  0 when the manager answered
 * the last call, -1 when it did not. */
int pg_agent_round(struct pg_agent *a);
/* Whether the manager answered the agent's last call. */
bool pg_agent_manager_answers(const struct pg_agent *a);

#endif
