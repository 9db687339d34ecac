/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * waiters.h: long polls in the manager (prefix pw_).  A request that asks
 * to wait for a change (GET /v1/nodes/desired?since=REV&wait=S) and finds
 * none yet is parked (http.h, pa_request_park) here with the store prefix
 * whose changes concern it, a check and a deadline.  After each committed
 * change the manager's watch delivers, every waiter whose prefix the key
 * falls under is checked again; the check answers when what it waits for
 * has come.  At the deadline it is checked a last time and must answer
 * (e.g. "changed":false).  A waiter whose client went away is freed
 * without a word.  At most max wait at once: one more is answered 503.
 *
 * To long-poll another resource the same way (hosts' desired links, a
 * link's state), a handler parses and checks its request (400s first),
 * answers at once if there is news, else:
 *
 *	struct my_wait *w = ...;	(what the check needs; freed by free_arg)
 *	pw_park(m->waiters, r, "/lunlink/hosts/ID", wait_ms, my_check, free, w);
 *
 * and my_check(r, w, last) replies to r (pa_reply_*) when it has news,
 * or when last is true.  The check runs in the loop's thread, after the
 * change committed, so it reads the store as it is.
 */
#ifndef LUNLINK_POLICY_WAITERS_H
#define LUNLINK_POLICY_WAITERS_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define PW_WAIT_MAX	60	/* seconds a request may ask to wait */
#define PW_WAITERS_MAX	1024	/* parked at once, by default */

struct pw_waiters;

/* Reply to r if there is news, or if last (the deadline); otherwise
 * return without replying, to be checked again at the next change. */
typedef void (*pw_check_fn)(struct pa_request *r, void *arg, bool last);

struct pw_waiters *pw_waiters_new(struct event_base *base, size_t max);
/* Every waiter still parked is answered 503 and freed. */
void pw_waiters_free(struct pw_waiters *w);

/*
 * Park r until a change under prefix makes check reply, or wait_ms pass.
 * arg is the check's, freed with free_arg (may be NULL) when the waiter
 * goes.  0; or -1 when none more may wait (503) or there is no memory
 * (500), r answered and arg left to the caller.
 */
int pw_park(struct pw_waiters *w, struct pa_request *r, const char *prefix, long wait_ms,
	    pw_check_fn check, void (*free_arg)(void *), void *arg);

/* A key changed (the manager's watch): its waiters are to be checked. */
void pw_changed(struct pw_waiters *w, const char *key);
/* Check the waiters a change concerned (after the watch is drained). */
void pw_run(struct pw_waiters *w);

size_t pw_count(const struct pw_waiters *w);

#endif
