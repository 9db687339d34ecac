/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * http.h: the policy daemon's HTTP/1.1 server: libevent's evhttp on up to
 * three listeners, a route table, the caller's identity for every request,
 * and JSON replies.  HTTP parsing is evhttp's, TLS is OpenSSL's through
 * libevent's OpenSSL bufferevents.
 *
 * The listeners:
 *  - the API (TLS): a client certificate from the cluster CA is required at
 *    the handshake, and refused there if revoked, expired or foreign; the
 *    caller is the certificate's role and name (ca.h).
 *  - the join listener (TLS, its own port): asks for no certificate, since
 *    a joiner has none yet, and serves only the routes marked PA_ALLOW_JOIN
 *    (POST /v1/join, which needs a valid one-time token).  A port of its own,
 *    rather than optional client certificates on the API port, keeps the
 *    rule on the API port simple and enforced by OpenSSL: no certificate,
 *    no connection.
 *  - the Unix socket, for lunlinkctl on the manager's host: mode 0660 by
 *    default, and each request is checked by the peer's credentials
 *    (SO_PEERCRED): root, the daemon's own uid, or, if configured, a member
 *    of one group (primary or supplementary, SO_PEERGROUPS).  The caller is
 *    "local admin uid N".
 *
 * A request body is at most max_body bytes (evhttp answers 413 above it),
 * headers at most 8 KiB, and a connection idle for timeout seconds is
 * closed.  Errors are JSON: {"error":{"field":"size","message":"..."}}
 * with a 4xx status; the field is the request's field at fault, or one of
 * "path", "method", "caller", "body".  Every error answered counts in
 * lunlink_api_errors_total.
 */
#ifndef LUNLINK_POLICY_HTTP_H
#define LUNLINK_POLICY_HTTP_H

#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <sys/types.h>

#include "ca.h"
#include "json_req.h"
#include "metrics.h"
#include "tls.h"

enum pa_listener { PA_LISTEN_TLS, PA_LISTEN_JOIN, PA_LISTEN_UNIX };

enum pa_caller_kind {
	PA_CALLER_CERT,		/* a member, by its certificate */
	PA_CALLER_LOCAL,	/* the Unix socket, by its credentials */
	PA_CALLER_ANON,		/* the join listener */
};

struct pa_caller {
	enum pa_caller_kind kind;
	struct pca_identity cert;	/* PA_CALLER_CERT */
	uid_t uid;			/* PA_CALLER_LOCAL */
	gid_t gid;
	pid_t pid;
	char desc[160];			/* "node db1", "local admin uid 0", "joiner at 10.0.0.5" */
};

/* Which callers a route admits. */
#define PA_ALLOW_NODE	(1u << 0)
#define PA_ALLOW_HOST	(1u << 1)
#define PA_ALLOW_ADMIN	(1u << 2)	/* admin certificates */
#define PA_ALLOW_LOCAL	(1u << 3)	/* the Unix socket */
#define PA_ALLOW_JOIN	(1u << 4)	/* the join listener, no certificate */
#define PA_ALLOW_MEMBERS (PA_ALLOW_NODE | PA_ALLOW_HOST | PA_ALLOW_ADMIN | PA_ALLOW_LOCAL)

struct pa_server;

struct pa_request {
	struct evhttp_request *req;
	struct pa_server *srv;
	const struct pa_caller *caller;
	enum pa_listener listener;
	const char *method;		/* "GET", "POST", ... */
	const char *path;		/* "/v1/volumes/db" */
	const char *rest;		/* the path after the route's prefix: "/db" */
	const char *body;		/* NUL-terminated copy, body_len bytes */
	size_t body_len;
	int status;			/* 0 until replied */
	struct pa_parked *parked;	/* set by pa_request_park */
};

/*
 * A handler replies exactly once, before it returns, with pa_reply_*, or
 * starts a streamed reply (pa_reply_stream) that it goes on with later.
 */
typedef void (*pa_handler_fn)(struct pa_request *r, void *arg);

struct pa_route {
	const char *method;
	const char *prefix;	/* matches itself and prefix + "/..." */
	unsigned int allow;	/* PA_ALLOW_* */
	pa_handler_fn fn;
	void *arg;
};

/* Extra check of a certificate caller, after the route admits its role:
 * e.g. that the node is registered ("an unknown node cannot act").
 * 0 to admit; -1 with a reason to answer 403. */
typedef int (*pa_authorize_fn)(void *arg, const struct pa_caller *c, char *why, size_t len);
typedef void (*pa_log_fn)(void *arg, const char *msg);
/* One line, printf-style, to log(arg, line), or to stderr after
 * "lunlink-policyd: " if log is NULL (the agent's parts share it). */
void pa_logf(pa_log_fn log, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct pa_server_opts {
	struct event_base *base;
	const char *tls_addr;		/* NULL: no API listener */
	unsigned short tls_port;	/* 0: any free port (pa_server_port) */
	const char *join_addr;		/* NULL: no join listener */
	unsigned short join_port;
	const char *unix_path;		/* NULL: no Unix socket */
	mode_t unix_mode;		/* 0: 0660 */
	gid_t unix_gid;			/* (gid_t)-1: no group admitted */
	struct pa_tls_files files;	/* the server's certificate, key, the CA */
	pa_revoked_fn revoked;
	void *revoked_arg;
	pa_authorize_fn authorize;	/* may be NULL */
	void *authorize_arg;
	pa_log_fn log;			/* may be NULL */
	void *log_arg;
	size_t max_body;		/* 0: PJR_MAX_BODY */
	int timeout;			/* seconds; 0: 30 */
	const struct pa_route *routes;
	size_t nroutes;
	struct pa_metrics *metrics;	/* NULL: the server makes its own */
	/* Asked first for every request (may be NULL): 0 to go on to the
	 * routes, or nonzero once it has answered r itself (a manager that
	 * does not lead redirects to the one that does: elect.h). */
	int (*gate)(void *arg, struct pa_request *r);
	void *gate_arg;
};

struct pa_server *pa_server_new(const struct pa_server_opts *o, char *err, size_t errlen);
void pa_server_free(struct pa_server *s);
/* The bound port of a listener (useful with port 0), or 0. */
unsigned short pa_server_port(const struct pa_server *s, enum pa_listener which);
struct pa_metrics *pa_server_metrics(struct pa_server *s);

/* Reply with obj as the JSON body (obj is put). */
void pa_reply_json(struct pa_request *r, int status, json_object *obj);
/* Reply {"error":{"field":field,"message":...}}. */
void pa_reply_error(struct pa_request *r, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void pa_reply_pjr(struct pa_request *r, const struct pjr_err *e);
void pa_reply_text(struct pa_request *r, int status, const char *content_type, const char *text);
/* A header for the reply to come ("Location", "Retry-After"). */
void pa_reply_header(struct pa_request *r, const char *name, const char *value);
/* The request's query string, without the '?' (NULL: none). */
const char *pa_request_query(const struct pa_request *r);
/* Parse the body as a JSON object (json_req.h's bounds); on failure the
 * error is already the reply and -1 is returned. */
int pa_request_json(struct pa_request *r, json_object **obj);

/*
 * A streamed reply (GET /v1/events?follow=1): the handler starts a chunked
 * reply (HTTP/1.1 Transfer-Encoding: chunked) and returns; from later turns
 * of the loop it sends chunks, and ends the stream with pa_stream_end.  If
 * the client goes away first (or the server is freed), closed(arg) is
 * called once and the stream is gone: it must not be used after that, nor
 * ended.  The connection has no read timeout while it streams, only the
 * write one (the server's timeout), so a client that stops reading is
 * dropped.  pa_stream_pending says how many bytes wait to be sent, for the
 * sender to hold back from a slow reader.  NULL (and a 500 answered) on no
 * memory.
 */
struct pa_stream;
typedef void (*pa_stream_closed_fn)(void *arg);
struct pa_stream *pa_reply_stream(struct pa_request *r, int status, const char *content_type,
				  pa_stream_closed_fn closed, void *arg);
int pa_stream_send(struct pa_stream *st, const char *data, size_t len);
size_t pa_stream_pending(const struct pa_stream *st);
void pa_stream_end(struct pa_stream *st);

/*
 * A parked request (a long poll: GET /v1/nodes/desired?wait=S): the
 * handler calls pa_request_park and returns without replying; a later turn
 * of the loop replies to the request it got back with pa_reply_* (which
 * takes it off the parking first), then frees it with pa_parked_free.
 * The copy keeps the caller, the path, the query and the body.
 *
 * While parked the connection has no timeout (the parker keeps its own
 * deadline) and is watched for the client going away: then gone(arg) is
 * called once and the request is freed by the server (it must not be used
 * after that).  A client that sends more bytes while parked (pipelining)
 * is no longer watched until the reply; the parker's deadline still ends
 * it.  Freeing the server calls gone for every parked request.
 * pa_parked_free on a request not replied to answers 503 first.  NULL
 * (and a 500 answered) on no memory.
 */
struct pa_parked;
typedef void (*pa_parked_gone_fn)(void *arg);
struct pa_request *pa_request_park(struct pa_request *r, pa_parked_gone_fn gone, void *arg);
void pa_parked_free(struct pa_request *parked);

/* A handler for GET /metrics: arg is the struct pa_metrics to render. */
void pa_metrics_handler(struct pa_request *r, void *arg);

#endif
