// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * etcd_watch.c: the etcd client's watches (see etcd.h).  Each watch is
 * one streaming POST /v3/watch, whose answer never ends: etcd writes a
 * {"result":...} object per batch of events for as long as the watch
 * lives.  The bytes go through the stream framer and parser of
 * etcd_resp.c into the watch's queue, which etcd_watch_next drains.
 *
 * Why curl's multi-socket interface behind an epoll fd, rather than a
 * plain non-blocking read of a socket of our own: the stream is HTTP/1.1
 * with chunked encoding, possibly over TLS, and curl already does both
 * (and the connect, and the TLS handshake without blocking).  The policy
 * store hands its loop one fd (ps_notify_fd), so every socket curl wants
 * watched and curl's timer (a timerfd) go into one epoll set, and that
 * set's fd is the one the loop waits on: readable when any of them is.
 * etcd_watch_poll then asks the set what is ready and tells curl, never
 * blocking.  Level-triggered, so nothing is lost if the loop is slow.
 *
 * A slow reader is bounded: past ETCD_WATCH_QUEUE_MAX queued events the
 * transfer is paused (curl stops reading, TCP pushes back on etcd) and
 * resumed when the reader has taken them.
 */
#include "etcd_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct etcd_watch {
	struct etcd_client *c;
	struct etcd_watch *next;
	CURL *h;
	char *body;			/* the create request, sent once */
	char detail[CURL_ERROR_SIZE];
	struct etcd_stream stream;
	struct etcd_event *q;		/* queued events: q[head..len) */
	size_t head, len, cap;
	bool created, paused, running;
	int64_t start, revision, compact_revision;
	size_t member;			/* the client's endpoints[] it streams from */
	int result;			/* ETCD_OK while it lives; then why it ended */
	char err[ETCD_ERR_MAX];
};

static const char watch_path[] = "/v3/watch";

/* The watch is over: keep the first reason. */
static void watch_end(struct etcd_watch *w, int result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void watch_end(struct etcd_watch *w, int result, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->result != ETCD_OK)
		return;
	w->result = result;
	n = snprintf(w->err, sizeof(w->err), "etcd %s %s: ", w->c->endpoint, watch_path);
	if (n < 0 || (size_t)n >= sizeof(w->err))
		return;
	va_start(ap, fmt);
	vsnprintf(w->err + n, sizeof(w->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

static int queue_events(struct etcd_watch *w, struct etcd_event *ev, size_t n)
{
	if (w->head && w->len + n > w->cap) {
		memmove(w->q, w->q + w->head, (w->len - w->head) * sizeof(*w->q));
		w->len -= w->head;
		w->head = 0;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 64;
		struct etcd_event *nq;

		while (cap < w->len + n)
			cap *= 2;
		nq = realloc(w->q, cap * sizeof(*nq));
		if (!nq)
			return -1;
		w->q = nq;
		w->cap = cap;
	}
	memcpy(w->q + w->len, ev, n * sizeof(*ev));
	w->len += n;
	return 0;
}

/* One answer of the stream. */
static void take_answer(struct etcd_watch *w, const char *obj, size_t len)
{
	struct etcd_watch_resp r;
	struct etcd_perr e = { 0 };
	int rc = etcd_parse_watch(obj, len, &r, &e);

	if (rc != ETCD_OK) {
		watch_end(w, rc, "%s", e.message);
		return;
	}
	if (r.created) {
		w->created = true;
		if (!w->start && r.header.revision > w->revision)
			w->revision = r.header.revision;
	}
	if (r.nevents && queue_events(w, r.events, r.nevents)) {
		etcd_events_free(r.events, r.nevents);
		watch_end(w, ETCD_ERROR, "out of memory queueing events");
	}
	free(r.events);
	if (r.canceled && r.compact_revision) {
		w->compact_revision = r.compact_revision;
		watch_end(w, ETCD_COMPACTED, "etcd cancelled the watch: revision %" PRId64 " is "
			  "compacted (history starts at %" PRId64 "): read afresh", w->start,
			  r.compact_revision);
	} else if (r.canceled) {
		watch_end(w, ETCD_ERROR, "etcd cancelled the watch: %s",
			  r.cancel_reason[0] ? r.cancel_reason : "no reason given");
	}
}

static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
	struct etcd_watch *w = arg;
	struct etcd_perr e = { 0 };
	size_t len = size * n;
	const char *obj;
	size_t olen;
	int got;

	if (w->result != ETCD_OK)
		return 0;	/* ends the transfer: the watch is over */
	if (w->len - w->head >= ETCD_WATCH_QUEUE_MAX) {
		w->paused = true;
		return CURL_WRITEFUNC_PAUSE;	/* curl gives the same bytes again */
	}
	if (etcd_stream_feed(&w->stream, p, len, &e)) {
		watch_end(w, ETCD_ERROR, "%s", e.message);
		return 0;
	}
	while (w->result == ETCD_OK && (got = etcd_stream_take(&w->stream, &obj, &olen, &e)) != 0) {
		if (got < 0) {
			watch_end(w, ETCD_ERROR, "%s", e.message);
			break;
		}
		take_answer(w, obj, olen);
	}
	return len;
}

/* ---- the epoll set --------------------------------------------------------------- */

static int on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *socketp)
{
	struct etcd_client *c = arg;
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT)
		epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct etcd_client *c = arg;
	struct itimerspec its = { 0 };

	if (timeout_ms >= 0) {
		/* 0 would disarm the timerfd: "now" is one nanosecond */
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
		if (!timeout_ms)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(c->timerfd, 0, &its, NULL);
	return 0;
}

int etcd_watch_setup(struct etcd_client *c)
{
	struct epoll_event ev = { .events = EPOLLIN };

	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	c->multi = curl_multi_init();
	if (c->epfd < 0 || c->timerfd < 0 || !c->multi) {
		snprintf(c->err, sizeof(c->err), "cannot set up etcd's watches: %s",
			 c->multi ? strerror(errno) : "out of memory");
		return ETCD_ERROR;
	}
	ev.data.fd = c->timerfd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->timerfd, &ev)) {
		snprintf(c->err, sizeof(c->err), "cannot set up etcd's watches: %s", strerror(errno));
		return ETCD_ERROR;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return 0;
}

void etcd_watch_teardown(struct etcd_client *c)
{
	while (c->watches)
		etcd_watch_close(c, c->watches);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->timerfd >= 0)
		close(c->timerfd);
	if (c->epfd >= 0)
		close(c->epfd);
	c->multi = NULL;
	c->timerfd = c->epfd = -1;
}

int etcd_watch_fd(struct etcd_client *c)
{
	return c->epfd;
}

/* Transfers curl has finished: their watches are over. */
static void reap(struct etcd_client *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct etcd_watch *w = NULL;
		long status = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&w);
		if (!w)
			continue;
		w->running = false;
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		if (m->data.result != CURLE_OK && w->result == ETCD_OK) {
			/* the transport's sentence is written into c->err: the
			 * watch takes it, the client's last error is kept */
			char keep[ETCD_ERR_MAX];

			memcpy(keep, c->err, sizeof(keep));
			etcd_transport_error(c, watch_path, m->easy_handle, m->data.result, w->detail);
			w->result = ETCD_ERROR;
			memcpy(w->err, c->err, sizeof(w->err));
			memcpy(c->err, keep, sizeof(keep));
		} else if (w->result == ETCD_OK) {
			watch_end(w, ETCD_ERROR, "the stream ended (HTTP %ld)%s", status,
				  status >= 200 && status < 300 ? ": etcd closed it (stopped, or lost "
				  "its leader?)" : "");
		}
		curl_multi_remove_handle(c->multi, m->easy_handle);
	}
}

int etcd_watch_poll(struct etcd_client *c)
{
	struct epoll_event ev[16];
	int n, running;

	do {
		n = epoll_wait(c->epfd, ev, 16, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(c->err, sizeof(c->err), "etcd's watches: epoll_wait: %s", strerror(errno));
		return ETCD_ERROR;
	}
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == c->timerfd) {
			uint64_t ticks;

			if (read(c->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				break;
			curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		} else {
			int what = (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR) ? CURL_CSELECT_IN : 0) |
				   (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				   (ev[i].events & EPOLLERR ? CURL_CSELECT_ERR : 0);

			curl_multi_socket_action(c->multi, ev[i].data.fd, what, &running);
		}
	}
	reap(c);
	return ETCD_OK;
}

int etcd_watch_open(struct etcd_client *c, const struct etcd_keys *keys, int64_t start_revision,
		    struct etcd_watch **out)
{
	struct etcd_watch *w = calloc(1, sizeof(*w));
	char why[ETCD_ERR_MAX], url[512];
	int running;

	*out = NULL;
	if (!w)
		return etcd_fail(c, watch_path, "out of memory");
	w->c = c;
	w->start = start_revision;
	w->revision = start_revision > 0 ? start_revision - 1 : 0;
	etcd_stream_init(&w->stream);
	w->body = etcd_req_watch(keys, start_revision, why, sizeof(why));
	if (!w->body) {
		etcd_fail(c, watch_path, "%s", why);
		goto err;
	}
	w->h = curl_easy_init();
	if (!w->h) {
		etcd_fail(c, watch_path, "out of memory");
		goto err;
	}
	etcd_setopts(c, w->h);
	snprintf(url, sizeof(url), "%s%s", c->endpoint, watch_path);
	w->member = c->current;
	curl_easy_setopt(w->h, CURLOPT_URL, url);
	curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, w->body);
	curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE, (long)strlen(w->body));
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->h, CURLOPT_PRIVATE, w);
	curl_easy_setopt(w->h, CURLOPT_ERRORBUFFER, w->detail);
	/* no overall timeout: the stream lives as long as the watch; a dead
	 * peer is found by TCP keepalives instead */
	curl_easy_setopt(w->h, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(w->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w->h, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(w->h, CURLOPT_TCP_KEEPINTVL, 5L);
	if (curl_multi_add_handle(c->multi, w->h) != CURLM_OK) {
		etcd_fail(c, watch_path, "cannot start the stream");
		goto err;
	}
	w->running = true;
	w->next = c->watches;
	c->watches = w;
	/* kick curl off; the connect goes on from the loop */
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	*out = w;
	return ETCD_OK;
err:
	if (w->h)
		curl_easy_cleanup(w->h);
	free(w->body);
	etcd_stream_free(&w->stream);
	free(w);
	return ETCD_ERROR;
}

int etcd_watch_next(struct etcd_client *c, struct etcd_watch *w, struct etcd_event *ev, size_t max)
{
	size_t n = w->len - w->head;

	if (n > max)
		n = max;
	if (n) {
		memcpy(ev, w->q + w->head, n * sizeof(*ev));
		w->head += n;
		if (w->head == w->len)
			w->head = w->len = 0;
		w->revision = ev[n - 1].kv.mod_revision;
		if (w->paused && w->len - w->head < ETCD_WATCH_QUEUE_MAX / 2) {
			w->paused = false;
			/* may deliver the held bytes at once, into the queue */
			curl_easy_pause(w->h, CURLPAUSE_CONT);
		}
		return (int)n;
	}
	if (w->result != ETCD_OK) {
		snprintf(c->err, sizeof(c->err), "%s", w->err);
		return w->result;
	}
	return 0;
}

bool etcd_watch_created(const struct etcd_watch *w)
{
	return w->created;
}

int64_t etcd_watch_revision(const struct etcd_watch *w)
{
	return w->revision;
}

size_t etcd_watch_queued(const struct etcd_watch *w)
{
	return w->len - w->head;
}

int64_t etcd_watch_compact_revision(const struct etcd_watch *w)
{
	return w->compact_revision;
}

void etcd_watch_move_on(struct etcd_client *c, const struct etcd_watch *w)
{
	if (w && w->member == c->current)
		etcd_next_endpoint(c);
}

void etcd_watch_close(struct etcd_client *c, struct etcd_watch *w)
{
	struct etcd_watch **pp;

	if (!w)
		return;
	for (pp = &c->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	/* removing a handle already reaped is harmless */
	curl_multi_remove_handle(c->multi, w->h);
	curl_easy_cleanup(w->h);
	etcd_events_free(w->q + w->head, w->len - w->head);
	free(w->q);
	etcd_stream_free(&w->stream);
	free(w->body);
	free(w);
}
