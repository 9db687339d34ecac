/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent_lease.h: the node agent's side of write ownership (prefix pg_,
 * agent_lease.c; doc/policy.md, "Write ownership: leases").  For each
 * volume whose desired LUN serves with lease=on (a doubled volume's
 * primary on this node), the agent renews the volume's lease with the
 * manager every third of its ttl, all volumes in one call
 * (POST /v1/nodes/leases) through the asynchronous client, and pushes
 * each lease granted to the LUN: tgtadm --op update --params
 * lease=EPOCH:@DEADLINE_MS, DEADLINE_MS = when the renewal was SENT + ttl
 * - a margin of a tenth of the ttl, in ms of CLOCK_MONOTONIC (tgtd on the
 * same host reads the same clock), so that tgtd's deadline is always
 * before the manager's, however late the push.  Nothing waits on the network: a renewal
 * is answered in a later turn of the loop; tgtadm runs to completion, as
 * the reconcile's does.
 */
#ifndef LUNLINK_POLICY_AGENT_LEASE_H
#define LUNLINK_POLICY_AGENT_LEASE_H

#include <event2/event.h>

#include "agent_desired.h"
#include "client.h"
#include "http.h"
#include "tgt.h"

#define PG_LEASE_TTL_GUESS_MS	6000	/* the ttl until the manager says it */
/* How often the LUNs' status files are read for a new generation, which
 * is renewed (reported) at once: the module holds its writes until the
 * manager recorded it. */
#define PG_LEASE_GEN_POLL_MS	100
/* The agent's margin: tgtd's deadline this far before the manager's (it
 * covers the two hosts' clock rates). */
#define PG_LEASE_MARGIN_MS(ttl)	((ttl) / 10)

struct pg_leases_opts {
	struct pa_aclient *client;	/* the agent's; outlives the leases */
	const struct pg_tgt_opts *tgt;
	const char *status_dir;		/* the module's status files (NULL: /run/lunlink) */
	pa_log_fn log;			/* NULL: stderr */
	void *log_arg;
};

struct pg_leases;

struct pg_leases *pg_leases_new(struct event_base *base, const struct pg_leases_opts *o,
				char *err, size_t errlen);
/* Cancels a renewal under way; tgtd's leases run out on their own. */
void pg_leases_free(struct pg_leases *l);

/* The desired state the agent holds now (d lives until the next call, or
 * NULL): the volumes to renew are those whose LUN serves with lease=on.
 * One of them without a lease is renewed at once. */
void pg_leases_want(struct pg_leases *l, const struct pg_desired *d);

/* tgtd changed (a plan ran: a LUN made again, tgtd restarted): push the
 * leases held to it now, and renew at once if a volume has none. */
void pg_leases_kick(struct pg_leases *l);

#endif
