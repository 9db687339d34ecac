/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * elect.h: the managers' election over the store (issue 19; doc/policy.md,
 * "Several managers").  Every lunlink-policyd with manager = true on an
 * etcd store is a candidate; one leads, the others follow.
 *
 * The keys, all on the candidate's own store lease (TTL ttl seconds, kept
 * alive every ttl/3 on a store handle of its own):
 *   /lunlink/managers/NAME  the candidate: its API and join URLs, and its
 *                           node certificate when the daemon is its node's
 *                           agent too (the leader registers it as a node,
 *                           so that the agent may report; a separate agent
 *                           joins with a token), while it lives;
 *   /lunlink/leader         the leader: put only if missing (a transaction
 *                           comparing create_revision with 0), so one at a
 *                           time.  Its create_revision is the leader's term:
 *                           the fencing token that every transaction of the
 *                           manager carries (ps_fence), so a deposed
 *                           manager's late decisions are refused.
 *
 * A leader leads only until its deadline: the send time of the last
 * keep-alive etcd answered, plus the TTL, less a margin (ttl/6).  etcd
 * counts the lease from when it received that keep-alive, so the store
 * forgets the leader key, and another candidate can win, only after the
 * deadline has passed here: a leader cut off from the store stops acting
 * (pe_leading false, the manager stopped) before anyone else can lead.
 * A candidate that finds /lunlink/leader missing campaigns at once; the
 * bound on a takeover is therefore about one TTL plus one tick.
 *
 * The log lines that start and end a term give the host's CLOCK_MONOTONIC
 * ("at clock MS ms"), so that terms on one host can be ordered.
 *
 * Everything runs in the daemon's event loop; each store call is bounded
 * by the elector's own timeout (ttl/3), shorter than the store's.
 */
#ifndef LUNLINK_POLICY_ELECT_H
#define LUNLINK_POLICY_ELECT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"

#define PE_TTL		3	/* seconds: the election lease's default */
#define PE_TTL_MIN	2	/* etcd's own floor with its default timing */
#define PE_TTL_MAX	60
#define PE_KEY_LEADER	"/lunlink/leader"
#define PE_PREFIX_MANAGERS "/lunlink/managers/"

struct pe_elector;

struct pe_opts {
	const char *store_uri;		/* the store's URI (opened again, for the elector) */
	const char *name;		/* this candidate's node name */
	const char *url;		/* its API: "https://ADDRESS:PORT" */
	const char *join_url;		/* its join listener */
	const char *cert_pem;		/* its node certificate (PEM), when the same daemon
					 * is its node's agent; NULL: not registered */
	const char *const *hosts;	/* its addresses, NULL-ended (may be NULL) */
	int ttl;			/* seconds; 0: PE_TTL */
	/* became the leader in term (the leader key's create_revision) */
	void (*lead)(void *arg, int64_t term);
	/* stopped leading (deposed, cut off, or the manager could not start) */
	void (*follow)(void *arg);
	/* while leading: a candidate (maybe this one) to register as a node */
	void (*candidate)(void *arg, const char *name, const char *cert_pem,
			  const char *const *hosts);
	void *arg;
	pa_log_fn log;
	void *log_arg;
};

struct pe_elector *pe_new(struct event_base *base, const struct pe_opts *o, char *err,
			  size_t errlen);
/* Resigns (revokes the lease, so another candidate takes over at once). */
void pe_free(struct pe_elector *e);

/* Leading, and its deadline not past (checked on the clock, now). */
bool pe_leading(const struct pe_elector *e);
int64_t pe_term(const struct pe_elector *e);

/* The leader as last read: its name and URLs ("" when none is known). */
struct pe_leader {
	char name[64];
	char url[300];
	char join_url[300];
	int64_t term;
};
const struct pe_leader *pe_leader(const struct pe_elector *e);

/* A candidate as the store holds it. */
struct pe_candidate {
	char name[64];
	char url[300];
};

struct ps_store;

/*
 * The election as st holds it now, for any reader (the status): the
 * leader (name "" when no one leads) and up to max candidates into c, *n
 * of them.  PS_OK, or the store's error.
 */
int pe_read(struct ps_store *st, struct pe_leader *leader, struct pe_candidate *c, size_t max,
	    size_t *n);

/* Step down now, as if the lease had lapsed (the manager failed to start
 * on this term): resign, and campaign again after one TTL. */
void pe_resign(struct pe_elector *e, const char *why);

/* The URI with "timeout=MS" set (replacing one there), into out. */
int pe_uri_timeout(const char *uri, long ms, char *out, size_t len);

#endif
