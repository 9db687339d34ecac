// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * client_async.c: the policy API's client without blocking (client.h,
 * pa_aclient), for the agents that live in the daemon's event loop, the
 * manager's own among them.  libcurl's multi-socket interface: curl says
 * which sockets it wants watched for what (on_socket) and when it wants
 * to be woken (on_timer); libevent watches and wakes; each wake-up hands
 * the socket or the timeout back to curl_multi_socket_action, then the
 * finished transfers are collected and their callers told.
 *
 * A request is set up, and its outcome put in words, by the same code as
 * the blocking client's (client_int.h): same TLS, same bounds on the
 * reply, same messages, same walk along a list of managers: an attempt
 * that ends with PA_TRY_NEXT goes back into the multi handle aimed at
 * the next manager, and its caller is told only at the end.
 */
#include "client_int.h"
#include "lunlink/errmsg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A socket curl asked us to watch. */
struct sock {
	struct sock *prev, *next;
	struct pa_aclient *a;
	curl_socket_t fd;
	struct event *ev;
};

struct pa_acall {
	struct pa_acall *prev, *next;
	struct pa_aclient *a;
	CURL *h;
	struct pa_transfer t;
	pa_done_fn done;
	void *arg;
	bool finishing;		/* in its done: collect frees it after */
};

struct pa_aclient {
	struct pa_client c;
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct sock *socks;
	struct pa_acall *calls;
	size_t ncalls;
};

static void collect(struct pa_aclient *a);

/* Off the client's list and out of curl's multi; not freed yet. */
static void call_detach(struct pa_acall *call)
{
	struct pa_aclient *a = call->a;

	if (call->prev)
		call->prev->next = call->next;
	else
		a->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	a->ncalls--;
	curl_multi_remove_handle(a->multi, call->h);
}

static void call_free(struct pa_acall *call)
{
	curl_easy_cleanup(call->h);
	pa_transfer_free(&call->t);
	free(call);
}

static void call_unlink(struct pa_acall *call)
{
	call_detach(call);
	call_free(call);
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct sock *s = arg;
	struct pa_aclient *a = s->a;
	int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	/* s may be freed by curl's socket callback from here on */
	curl_multi_socket_action(a->multi, fd, action, &running);
	collect(a);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct pa_aclient *a = arg;
	int running;

	curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(a);
}

static void sock_free(struct sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->a->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->ev)
		event_free(s->ev);
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl wants, or no more. */
static int on_socket(CURL *h, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct pa_aclient *a = arg;
	struct sock *s = sockp;
	short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) |
			     (what & CURL_POLL_OUT ? EV_WRITE : 0));

	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(a->multi, fd, NULL);
			sock_free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->a = a;
		s->fd = fd;
		s->next = a->socks;
		if (a->socks)
			a->socks->prev = s;
		a->socks = s;
		curl_multi_assign(a->multi, fd, s);
	}
	/* one event per socket, set again when curl wants other things */
	if (!s->ev)
		s->ev = event_new(a->base, fd, kind | EV_PERSIST, on_event, s);
	else if (event_del(s->ev) ||
		 event_assign(s->ev, a->base, fd, kind | EV_PERSIST, on_event, s))
		return -1;
	return s->ev && !event_add(s->ev, NULL) ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: wake curl in ms (-1: never). */
static int on_timer(CURLM *multi, long ms, void *arg)
{
	struct pa_aclient *a = arg;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (ms < 0)
		return evtimer_del(a->timer);
	return evtimer_add(a->timer, &tv);
}

/* The transfers that ended: each caller told, once. */
static void collect(struct pa_aclient *a)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(a->multi, &left))) {
		struct pa_acall *call = NULL;
		json_object *reply = NULL;
		char err[1024];
		long status = 0;
		int rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		rc = pa_transfer_outcome(&a->c, call->h, &call->t, msg->data.result, &reply, &status,
					 err, sizeof(err));
		/* that manager did not take it: the next of the list, on the
		 * same handle, its caller not told yet */
		if (rc == PA_TRY_NEXT) {
			curl_multi_remove_handle(a->multi, call->h);
			if (curl_multi_add_handle(a->multi, call->h) == CURLM_OK)
				continue;
			rc = ll_fail(err, sizeof(err), "cannot start a request to %s",
				     a->c.where[call->t.at]);
		}
		/* off the list before done: done may start or cancel other
		 * calls, and pa_aclient_pending no longer counts this one */
		call_detach(call);
		call->finishing = true;
		call->done(call->arg, status, reply, rc ? err : NULL);
		json_object_put(reply);
		call_free(call);
	}
}

struct pa_acall *pa_aclient_call(struct pa_aclient *a, const char *method, const char *path,
				 json_object *body, long timeout_ms, pa_done_fn done, void *arg,
				 char *err, size_t errlen)
{
	struct pa_acall *call = calloc(1, sizeof(*call));

	if (!call || !(call->h = curl_easy_init())) {
		free(call);
		ll_fail(err, errlen, "out of memory");
		return NULL;
	}
	call->a = a;
	call->done = done;
	call->arg = arg;
	pa_client_setopts(&a->c, call->h);
	curl_easy_setopt(call->h, CURLOPT_PRIVATE, call);
	if (pa_transfer_setup(&a->c, call->h, &call->t, method, path, body, timeout_ms, err, errlen))
		goto err;
	if (curl_multi_add_handle(a->multi, call->h)) {
		ll_fail(err, errlen, "cannot start a request to %s", a->c.where[call->t.at]);
		goto err;
	}
	call->next = a->calls;
	if (a->calls)
		a->calls->prev = call;
	a->calls = call;
	a->ncalls++;
	return call;
err:
	curl_easy_cleanup(call->h);
	pa_transfer_free(&call->t);
	free(call);
	return NULL;
}

void pa_acall_cancel(struct pa_acall *call)
{
	if (call && !call->finishing)
		call_unlink(call);
}

bool pa_acall_sent(const struct pa_acall *call)
{
	return call && call->t.sent;
}

size_t pa_aclient_pending(const struct pa_aclient *a)
{
	return a ? a->ncalls : 0;
}

struct pa_aclient *pa_aclient_new(struct event_base *base, const struct pa_client_opts *o,
				  char *err, size_t errlen)
{
	struct pa_aclient *a = calloc(1, sizeof(*a));

	if (!a) {
		ll_fail(err, errlen, "out of memory");
		return NULL;
	}
	a->base = base;
	if (pa_client_init(&a->c, o, err, errlen))
		goto err;
	a->multi = curl_multi_init();
	a->timer = evtimer_new(base, on_wake, a);
	if (!a->multi || !a->timer) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
	return a;
err:
	pa_aclient_free(a);
	return NULL;
}

void pa_aclient_free(struct pa_aclient *a)
{
	if (!a)
		return;
	while (a->calls)
		call_unlink(a->calls);
	if (a->multi)
		curl_multi_cleanup(a->multi);
	while (a->socks)
		sock_free(a->socks);
	if (a->timer)
		event_free(a->timer);
	pa_client_clear(&a->c);
	free(a);
}
