// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * waiters.c: the manager's parked requests (see waiters.h).  A list, each
 * waiter with its prefix, its deadline timer and a mark set by a change
 * under its prefix.  The marks are looked at once the watch is drained,
 * not at each event, so a transaction of many keys checks a waiter once,
 * against the store as the whole transaction left it.  A linear scan per
 * change: the waiters are the cluster's agents, a few hundred at most.
 */
#include "waiters.h"

#include <stdlib.h>
#include <string.h>

struct waiter {
	struct waiter *prev, *next;
	struct pw_waiters *set;
	struct pa_request *r;		/* parked */
	char *prefix;
	struct event *deadline;
	pw_check_fn check;
	void (*free_arg)(void *);
	void *arg;
	bool marked;
};

struct pw_waiters {
	struct event_base *base;
	struct waiter *head;
	size_t n, max;
	bool marked;
};

static void unlink_waiter(struct waiter *wt)
{
	struct pw_waiters *w = wt->set;

	if (wt->prev)
		wt->prev->next = wt->next;
	else
		w->head = wt->next;
	if (wt->next)
		wt->next->prev = wt->prev;
	w->n--;
	if (wt->deadline)
		event_free(wt->deadline);
	if (wt->free_arg)
		wt->free_arg(wt->arg);
	free(wt->prefix);
	free(wt);
}

/* Answered (or to be answered 503 by pa_parked_free): the request goes. */
static void finish(struct waiter *wt)
{
	struct pa_request *r = wt->r;

	unlink_waiter(wt);
	pa_parked_free(r);
}

/* The client went away: the server frees the request. */
static void on_gone(void *arg)
{
	unlink_waiter(arg);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *wt = arg;

	wt->check(wt->r, wt->arg, true);
	if (!wt->r->status)
		pa_reply_error(wt->r, 500, "wait", "the server did not answer this wait");
	finish(wt);
}

int pw_park(struct pw_waiters *w, struct pa_request *r, const char *prefix, long wait_ms,
	    pw_check_fn check, void (*free_arg)(void *), void *arg)
{
	struct timeval tv = { .tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000 };
	struct waiter *wt;

	if (w->n >= w->max) {
		pa_reply_error(r, 503, "wait", "%zu requests wait already, the most this manager "
			       "holds; ask again without wait, or later", w->n);
		return -1;
	}
	wt = calloc(1, sizeof(*wt));
	if (wt) {
		wt->prefix = strdup(prefix);
		wt->deadline = evtimer_new(w->base, on_deadline, wt);
	}
	if (!wt || !wt->prefix || !wt->deadline || evtimer_add(wt->deadline, &tv))
		goto err;
	wt->set = w;
	wt->check = check;
	wt->arg = arg;
	wt->r = pa_request_park(r, on_gone, wt);
	if (!wt->r)		/* answered 500 */
		goto out;
	wt->free_arg = free_arg;	/* from now on the waiter owns arg */
	wt->next = w->head;
	if (w->head)
		w->head->prev = wt;
	w->head = wt;
	w->n++;
	return 0;
err:
	pa_reply_error(r, 500, "body", "out of memory");
out:
	if (wt) {
		if (wt->deadline)
			event_free(wt->deadline);
		free(wt->prefix);
		free(wt);
	}
	return -1;
}

void pw_changed(struct pw_waiters *w, const char *key)
{
	for (struct waiter *wt = w->head; wt; wt = wt->next)
		if (!strncmp(key, wt->prefix, strlen(wt->prefix))) {
			wt->marked = true;
			w->marked = true;
		}
}

void pw_run(struct pw_waiters *w)
{
	struct waiter *wt, *next;

	if (!w->marked)
		return;
	w->marked = false;
	for (wt = w->head; wt; wt = next) {
		next = wt->next;
		if (!wt->marked)
			continue;
		wt->marked = false;
		wt->check(wt->r, wt->arg, false);
		if (wt->r->status)
			finish(wt);
	}
}

size_t pw_count(const struct pw_waiters *w)
{
	return w ? w->n : 0;
}

struct pw_waiters *pw_waiters_new(struct event_base *base, size_t max)
{
	struct pw_waiters *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->base = base;
	w->max = max ? max : PW_WAITERS_MAX;
	return w;
}

void pw_waiters_free(struct pw_waiters *w)
{
	if (!w)
		return;
	while (w->head)
		finish(w->head);
	free(w);
}
