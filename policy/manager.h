/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * manager.h: the manager's state logic, what lunlink-policyd does when it
 * is the cluster's manager (manager = true): the registry of nodes (join,
 * reports, online and offline), the pool of areas, the event stream and
 * the volumes, each kept in the store under /lunlink/ as doc/policy.md
 * says, and served as the /v1/ routes of the API server (http.h).
 *
 * The store is the truth: everything the manager decides is written there
 * first, in one transaction per decision, and a manager object made again
 * on the same store (a restart) carries on from it.  What the manager
 * holds in memory is a cache of the store (the revoked serials, for the
 * TLS handshake) or belongs to a connection (an event follower).
 *
 * The manager is the store's only writer of its decisions (one manager;
 * with etcd, the elected one, its transactions fenced by its term: elect.h).
 * It names a node, an area and a transition by the store's revision read
 * just before its transaction, plus one.  On etcd others make revisions
 * too (etcd expiring a lease, the election's keys), so a name may be
 * below its transaction's revision: still unique, and growing.
 *
 * The daemon's main makes it and wires it into the server:
 *
 *	m = pm_manager_new(base, store, &opts, err, sizeof(err));
 *	pm_manager_routes(m, &so.routes, &so.nroutes);
 *	so.revoked = pm_manager_revoked;     so.revoked_arg = m;
 *	so.authorize = pm_manager_authorize; so.authorize_arg = m;
 *	so.metrics = pm_manager_metrics(m);  (one registry for both)
 *	srv = pa_server_new(&so, ...);
 *	... event_base_dispatch(base) ...
 *	pa_server_free(srv); pm_manager_free(m);   (the server first: it
 *						     counts in m's registry)
 *
 * Everything runs in the event loop's thread; nothing blocks but the
 * store's own calls.
 */
#ifndef LUNLINK_POLICY_MANAGER_H
#define LUNLINK_POLICY_MANAGER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "store.h"

#define PM_OFFLINE_AFTER	10	/* seconds without a report: offline */
#define PM_TOKEN_TTL		3600	/* seconds a join token lives, unless asked */
#define PM_COMPACT_KEEP		10000	/* revisions of history kept for --since */
#define PM_COMPACT_INTERVAL	60	/* seconds between compactions */
#define PM_FOLLOWERS_MAX	64	/* GET /v1/events?follow=1 at once */
#define PM_LEASE_MS		6000	/* a doubled volume's write lease (lease.c) */
#define PM_LEASE_MS_MIN		1000
#define PM_LEASE_MS_MAX		300000
#define PM_PR_VALID_MS		5000	/* a node's reservation state is valid this long */
#define PM_PR_VALID_MS_MIN	1000
#define PM_PR_VALID_MS_MAX	60000

struct pm_options {
	const char *ca_dir;		/* the cluster CA (ca.key, ca.crt): signs joins */
	int offline_after;		/* seconds; 0: PM_OFFLINE_AFTER */
	int token_ttl;			/* seconds; 0: PM_TOKEN_TTL (at most a week) */
	int64_t compact_keep;		/* revisions; 0: PM_COMPACT_KEEP */
	int compact_interval;		/* seconds; 0: PM_COMPACT_INTERVAL */
	int followers_max;		/* 0: PM_FOLLOWERS_MAX */
	int waiters_max;		/* long polls parked at once; 0: PW_WAITERS_MAX (1024) */
	int64_t lease_ms;		/* write leases' ttl; 0: PM_LEASE_MS */
	int64_t pr_valid_ms;		/* reservation state's validity; 0: PM_PR_VALID_MS */
	bool no_failover;		/* no promotion on a lease's expiry */
	/* Whether this manager still leads (elect.h; NULL: it always does,
	 * one manager on SQLite).  Its timers decide nothing once it does not;
	 * its transactions are fenced by the store besides (ps_fence). */
	bool (*leading)(void *arg);
	void *leading_arg;
	pa_log_fn log;			/* may be NULL */
	void *log_arg;
};

struct pm_manager;

/*
 * Make the manager on an open store: load the CA and the revoked serials,
 * bring every node's state in line with its alive key, start the timers
 * (lease expiry every second, compaction) and the store's watch.  NULL
 * with a reason in err (the CA directory, the store).  base and st must
 * outlive it.
 */
struct pm_manager *pm_manager_new(struct event_base *base, struct ps_store *st,
				  const struct pm_options *o, char *err, size_t errlen);
/* Ends the event followers' streams, closes the watches, stops the timers. */
void pm_manager_free(struct pm_manager *m);

/* The route table for pa_server_opts (owned by m): /v1/join for the join
 * listener, the /v1/ API, /metrics. */
void pm_manager_routes(struct pm_manager *m, const struct pa_route **routes, size_t *n);

/* pa_revoked_fn: whether serial was revoked (a removed node); arg is m. */
bool pm_manager_revoked(void *arg, const char *serial);

/* pa_authorize_fn: a node certificate may act only while its name is
 * registered with this very certificate (serial); arg is m. */
int pm_manager_authorize(void *arg, const struct pa_caller *c, char *why, size_t len);

/*
 * The manager's own node, when the same daemon is its agent (the
 * configuration has manager = true and manager_url): registered with the
 * manager's certificate (PEM; its CA issued it, role node), as a join
 * would register it, with no token.  Nothing to do when it is registered
 * with that certificate already; refused, naming the cure, when the name
 * is another certificate's.  hosts (NULL-ended, may be NULL): its
 * addresses.  0, or -1 with err.
 */
int pm_manager_enrol(struct pm_manager *m, const char *cert_pem, const char *const *hosts,
		     char *err, size_t errlen);

/* The registry the manager's series are in (lunlink_nodes, lunlink_volumes,
 * lunlink_resync_bytes_left); give it to the server so that /metrics
 * shows the server's own series too. */
struct pa_metrics *pm_manager_metrics(struct pm_manager *m);

#endif
