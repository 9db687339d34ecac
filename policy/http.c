// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * http.c: the policy API's HTTP server (see http.h).  One evhttp per
 * listener, so each request knows where it came in and so who its caller
 * can be: the certificate's identity on the API port, the peer's
 * credentials on the Unix socket, nobody on the join port.  Every request
 * is then matched against the route table, checked against the route's
 * admitted callers and the daemon's authorize hook, and handed to the
 * handler with its body; every reply is counted for /metrics.
 */
#include "http.h"
#include "lunlink/errmsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define HEADERS_MAX	8192
#define PATH_MAX_LEN	256
#define GROUPS_MAX	256

static const char *const listener_names[] = {
	[PA_LISTEN_TLS] = "tls", [PA_LISTEN_JOIN] = "join", [PA_LISTEN_UNIX] = "unix",
};

struct listener {
	struct pa_server *srv;
	enum pa_listener kind;
	struct evhttp *http;
	SSL_CTX *ctx;			/* TLS listeners */
	unsigned short port;
	struct pa_metric *replies[3];	/* 2xx/3xx, 4xx, 5xx */
};

struct pa_server {
	struct pa_server_opts o;
	struct listener l[3];
	struct pa_metrics *metrics;
	bool own_metrics;
	char *unix_path;
	struct pa_metric *tls_refused, *local_refused, *errors;
};

/* A chunked reply that outlives its handler (pa_reply_stream). */
struct pa_stream {
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	pa_stream_closed_fn closed;
	void *arg;
};

/* A request whose reply waits (pa_request_park): a copy of the request,
 * and evhttp's callbacks of its connection while ours watch it. */
struct pa_parked {
	struct pa_request r;
	struct pa_caller caller;
	char *body;
	struct evhttp_connection *conn;
	struct bufferevent *bev;
	bufferevent_data_cb readcb, writecb;
	bufferevent_event_cb eventcb;
	void *cbarg;
	bool watching;		/* our callbacks are on bev */
	pa_parked_gone_fn gone;
	void *arg;
};

static void parked_unwatch(struct pa_parked *p);

static void say(struct pa_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct pa_server *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!s->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->o.log(s->o.log_arg, msg);
}

void pa_logf(pa_log_fn log, void *arg, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log)
		log(arg, msg);
	else
		fprintf(stderr, "lunlink-policyd: %s\n", msg);
}

/* ---- replies ---- */

static void send_reply(struct pa_request *r, int status, const char *ctype, const char *body,
		       size_t len)
{
	struct listener *l = &r->srv->l[r->listener];
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct evbuffer *b = evbuffer_new();

	if (r->status) {
		say(r->srv, "internal error: a second reply to %s %s", r->method, r->path);
		evbuffer_free(b);
		return;
	}
	if (r->parked) {
		parked_unwatch(r->parked);
		evhttp_connection_set_closecb(r->parked->conn, NULL, NULL);
	}
	r->status = status;
	pa_metric_inc(l->replies[status < 400 ? 0 : status < 500 ? 1 : 2], 1);
	if (status >= 400)
		pa_metric_inc(r->srv->errors, 1);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b)
		evbuffer_add(b, body, len);
	evhttp_send_reply(r->req, status, NULL, b);
	if (b)
		evbuffer_free(b);
}

void pa_reply_text(struct pa_request *r, int status, const char *content_type, const char *text)
{
	send_reply(r, status, content_type, text, strlen(text));
}

void pa_reply_json(struct pa_request *r, int status, json_object *obj)
{
	const char *s = obj ? json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;

	if (!s) {
		static const char oom[] = "{\"error\":{\"field\":\"body\",\"message\":\"out of memory\"}}";

		send_reply(r, 500, "application/json", oom, sizeof(oom) - 1);
	} else {
		char *line;

		/* a newline at the end, for people reading curl's output */
		if (asprintf(&line, "%s\n", s) < 0)
			line = NULL;
		send_reply(r, status, "application/json", line ? line : s, strlen(line ? line : s));
		free(line);
	}
	json_object_put(obj);
}

void pa_reply_error(struct pa_request *r, int status, const char *field, const char *fmt, ...)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o && e) {
		json_object_object_add(e, "field", json_object_new_string(field));
		json_object_object_add(e, "message", json_object_new_string(msg));
		json_object_object_add(o, "error", e);
		e = NULL;
	}
	json_object_put(e);
	pa_reply_json(r, status, o);
}

void pa_reply_pjr(struct pa_request *r, const struct pjr_err *e)
{
	pa_reply_error(r, e->status ? e->status : 400, e->field[0] ? e->field : "body", "%s",
		       e->message);
}

int pa_request_json(struct pa_request *r, json_object **obj)
{
	struct pjr_err e = { 0 };

	if (pjr_parse(r->body, r->body_len, obj, &e)) {
		pa_reply_pjr(r, &e);
		return -1;
	}
	return 0;
}

/* ---- streamed replies ---- */

/* The client went away, or the server is being freed: evhttp tells us
 * before it frees the connection.  A request cut off mid-reply has been
 * taken off its connection and is ours to free (evhttp_send_reply_end on
 * a request without a connection frees it); one still on its connection
 * goes with it. */
static void stream_closed(struct evhttp_connection *conn, void *arg)
{
	struct pa_stream *st = arg;

	if (!evhttp_request_get_connection(st->req))
		evhttp_send_reply_end(st->req);
	if (st->closed)
		st->closed(st->arg);
	free(st);
}

struct pa_stream *pa_reply_stream(struct pa_request *r, int status, const char *content_type,
				  pa_stream_closed_fn closed, void *arg)
{
	struct listener *l = &r->srv->l[r->listener];
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct timeval write_tv = { .tv_sec = r->srv->o.timeout };
	struct bufferevent *bev;
	struct pa_stream *st;

	st = calloc(1, sizeof(*st));
	if (!st) {
		pa_reply_error(r, 500, "body", "out of memory");
		return NULL;
	}
	st->req = r->req;
	st->conn = evhttp_request_get_connection(r->req);
	st->closed = closed;
	st->arg = arg;
	r->status = status;
	pa_metric_inc(l->replies[status < 400 ? 0 : status < 500 ? 1 : 2], 1);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply_start(r->req, status, NULL);
	/* a follower sends nothing once it has asked: no read timeout, only
	 * the write one, so that a client that stops reading is dropped */
	bev = evhttp_connection_get_bufferevent(st->conn);
	if (bev)
		bufferevent_set_timeouts(bev, NULL, &write_tv);
	evhttp_connection_set_closecb(st->conn, stream_closed, st);
	return st;
}

int pa_stream_send(struct pa_stream *st, const char *data, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	int rc = -1;

	if (b && !evbuffer_add(b, data, len)) {
		evhttp_send_reply_chunk(st->req, b);
		rc = 0;
	}
	if (b)
		evbuffer_free(b);
	return rc;
}

size_t pa_stream_pending(const struct pa_stream *st)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(st->conn);

	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

void pa_stream_end(struct pa_stream *st)
{
	evhttp_connection_set_closecb(st->conn, NULL, NULL);
	evhttp_send_reply_end(st->req);
	free(st);
}

/* ---- parked requests ---- */

/* evhttp reads nothing between a request and its reply, so it would not
 * see the client go away: while parked, our callbacks read the
 * connection, and give its end (EOF, an error) to evhttp, which frees it
 * and so calls parked_closed.  No timeout meanwhile: the parker has its
 * deadline. */
static void parked_read(struct bufferevent *bev, void *arg)
{
	/* bytes from a client that pipelines: left for evhttp after the
	 * reply; the connection is no longer watched */
	parked_unwatch(arg);
}

static void parked_event(struct bufferevent *bev, short what, void *arg)
{
	struct pa_parked *p = arg;
	bufferevent_event_cb cb = p->eventcb;
	void *cbarg = p->cbarg;

	/* evhttp's own callback fails the connection and frees it, which
	 * calls parked_closed (still set) */
	parked_unwatch(p);
	cb(bev, what, cbarg);
}

static void parked_closed(struct evhttp_connection *conn, void *arg)
{
	struct pa_parked *p = arg;
	struct evhttp_request *req = p->r.req;

	p->watching = false;	/* the bufferevent goes with the connection */
	if (p->gone)
		p->gone(p->arg);
	/* a request failed by its connection was taken off it, and is ours */
	if (!evhttp_request_get_connection(req))
		evhttp_request_free(req);
	free(p->body);
	free(p);
}

static void parked_unwatch(struct pa_parked *p)
{
	struct timeval tv = { .tv_sec = p->r.srv->o.timeout };

	if (!p->watching)
		return;
	p->watching = false;
	bufferevent_disable(p->bev, EV_READ);
	bufferevent_setcb(p->bev, p->readcb, p->writecb, p->eventcb, p->cbarg);
	bufferevent_set_timeouts(p->bev, &tv, &tv);
}

struct pa_request *pa_request_park(struct pa_request *r, pa_parked_gone_fn gone, void *arg)
{
	struct pa_parked *p = calloc(1, sizeof(*p));

	if (p)
		p->body = malloc(r->body_len + 1);
	p->conn = p ? evhttp_request_get_connection(r->req) : NULL;
	p->bev = p->conn ? evhttp_connection_get_bufferevent(p->conn) : NULL;
	if (!p || !p->body || !p->bev) {
		if (p)
			free(p->body);
		free(p);
		pa_reply_error(r, 500, "body", "out of memory");
		return NULL;
	}
	memcpy(p->body, r->body, r->body_len);
	p->body[r->body_len] = '\0';
	p->caller = *r->caller;
	p->r = *r;
	p->r.caller = &p->caller;
	p->r.body = p->body;
	p->r.parked = p;
	p->gone = gone;
	p->arg = arg;
	r->parked = p;
	bufferevent_getcb(p->bev, &p->readcb, &p->writecb, &p->eventcb, &p->cbarg);
	bufferevent_setcb(p->bev, parked_read, p->writecb, parked_event, p);
	bufferevent_set_timeouts(p->bev, NULL, NULL);
	bufferevent_enable(p->bev, EV_READ);
	p->watching = true;
	evhttp_connection_set_closecb(p->conn, parked_closed, p);
	return &p->r;
}

void pa_parked_free(struct pa_request *r)
{
	struct pa_parked *p = r ? r->parked : NULL;

	if (!p)
		return;
	if (!r->status)
		pa_reply_error(r, 503, "body", "the server is stopping; ask again");
	free(p->body);
	free(p);
}

void pa_metrics_handler(struct pa_request *r, void *arg)
{
	char *text = pa_metrics_render(arg);

	if (!text) {
		pa_reply_error(r, 500, "body", "out of memory");
		return;
	}
	pa_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text);
	free(text);
}

/* ---- callers ---- */

static int cert_caller(struct evhttp_request *req, struct pa_caller *c, char *why, size_t len)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;

	c->kind = PA_CALLER_CERT;
	/* the handshake required a verified certificate; this is a second lock */
	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
		return ll_fail(why, len, "no verified client certificate");
	if (pca_identity_of(cert, &c->cert, why, len))
		return -1;
	snprintf(c->desc, sizeof(c->desc), "%s %s", pca_role_name(c->cert.role), c->cert.name);
	return 0;
}

static bool in_group(int fd, gid_t want, gid_t primary)
{
	gid_t groups[GROUPS_MAX];
	socklen_t len = sizeof(groups);

	if (primary == want)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == want)
			return true;
	return false;
}

static int local_caller(struct pa_server *s, struct evhttp_request *req, struct pa_caller *c,
			char *why, size_t len)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	int fd = bev ? bufferevent_getfd(bev) : -1;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	c->kind = PA_CALLER_LOCAL;
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		return ll_fail(why, len, "cannot read the caller's credentials: %s", strerror(errno));
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	snprintf(c->desc, sizeof(c->desc), "local admin uid %u", (unsigned int)cred.uid);
	if (cred.uid == 0 || cred.uid == geteuid() ||
	    (s->o.unix_gid != (gid_t)-1 && in_group(fd, s->o.unix_gid, cred.gid)))
		return 0;
	if (s->o.unix_gid != (gid_t)-1)
		return ll_fail(why, len, "uid %u (pid %d) may not use this socket: only root, uid %u "
			       "and group %u may", (unsigned int)cred.uid, (int)cred.pid,
			       (unsigned int)geteuid(), (unsigned int)s->o.unix_gid);
	return ll_fail(why, len, "uid %u (pid %d) may not use this socket: only root and uid %u may",
		       (unsigned int)cred.uid, (int)cred.pid, (unsigned int)geteuid());
}

static unsigned int caller_bit(const struct pa_caller *c)
{
	switch (c->kind) {
	case PA_CALLER_LOCAL:
		return PA_ALLOW_LOCAL;
	case PA_CALLER_ANON:
		return PA_ALLOW_JOIN;
	case PA_CALLER_CERT:
		return c->cert.role == PCA_ROLE_NODE ? PA_ALLOW_NODE :
		       c->cert.role == PCA_ROLE_HOST ? PA_ALLOW_HOST : PA_ALLOW_ADMIN;
	}
	return 0;
}

/* ---- dispatch ---- */

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	default: return "?";
	}
}

static bool path_ok(const char *p)
{
	if (!p || p[0] != '/' || strlen(p) > PATH_MAX_LEN || strstr(p, ".."))
		return false;
	return strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-") ==
	       strlen(p);
}

static const char *prefix_match(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (strncmp(prefix, path, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path + n;
}

void pa_reply_header(struct pa_request *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

const char *pa_request_query(const struct pa_request *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);

	return uri ? evhttp_uri_get_query(uri) : NULL;
}

static void dispatch(struct pa_request *r)
{
	struct pa_server *s = r->srv;
	const struct pa_route *route = NULL;
	bool path_known = false;
	char why[256];

	if (s->o.gate && s->o.gate(s->o.gate_arg, r))
		return;

	for (size_t i = 0; i < s->o.nroutes && !route; i++) {
		const char *rest = prefix_match(s->o.routes[i].prefix, r->path);

		if (!rest)
			continue;
		path_known = true;
		if (!strcmp(s->o.routes[i].method, r->method)) {
			route = &s->o.routes[i];
			r->rest = rest;
		}
	}
	if (!route) {
		if (path_known)
			pa_reply_error(r, 405, "method", "%s is not allowed on %s", r->method, r->path);
		else
			pa_reply_error(r, 404, "path", "no such resource: %s", r->path);
		return;
	}
	if (!(route->allow & caller_bit(r->caller))) {
		if (r->listener == PA_LISTEN_JOIN)	/* the join port shows nothing else */
			pa_reply_error(r, 404, "path", "no such resource on the join port: %s (only "
				       "joining is served here)", r->path);
		else
			pa_reply_error(r, 403, "caller", "%s may not %s %s", r->caller->desc, r->method,
				       r->path);
		return;
	}
	if (r->caller->kind == PA_CALLER_CERT && s->o.authorize &&
	    s->o.authorize(s->o.authorize_arg, r->caller, why, sizeof(why))) {
		say(s, "refused %s %s from %s: %s", r->method, r->path, r->caller->desc, why);
		pa_reply_error(r, 403, "caller", "%s", why);
		return;
	}
	route->fn(r, route->arg);
	if (!r->status && !r->parked) {
		say(s, "internal error: the handler of %s %s did not reply", r->method, r->path);
		pa_reply_error(r, 500, "body", "the server did not answer this request");
	}
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct listener *l = arg;
	struct pa_server *s = l->srv;
	struct pa_caller caller = { .kind = PA_CALLER_ANON };
	struct pa_request r = { .req = req, .srv = s, .caller = &caller, .listener = l->kind };
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char why[256], *body = NULL;
	size_t len = in ? evbuffer_get_length(in) : 0;

	r.method = method_name(evhttp_request_get_command(req));
	r.path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!r.path)
		r.path = "?";
	if (l->kind == PA_LISTEN_TLS && cert_caller(req, &caller, why, sizeof(why))) {
		pa_metric_inc(s->tls_refused, 1);
		pa_reply_error(&r, 403, "caller", "%s", why);
		return;
	}
	if (l->kind == PA_LISTEN_UNIX && local_caller(s, req, &caller, why, sizeof(why))) {
		pa_metric_inc(s->local_refused, 1);
		say(s, "refused a local request: %s", why);
		pa_reply_error(&r, 403, "caller", "%s", why);
		return;
	}
	if (l->kind == PA_LISTEN_JOIN) {
		const char *host = evhttp_request_get_host(req);
		char *addr = NULL;
		ev_uint16_t port;

		evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
		snprintf(caller.desc, sizeof(caller.desc), "joiner at %s", addr ? addr : host ? host : "?");
	}
	if (!path_ok(r.path)) {
		pa_reply_error(&r, 400, "path", "the path must be at most %d bytes of letters, digits "
			       "and /._-", PATH_MAX_LEN);
		return;
	}
	if (len > s->o.max_body) {	/* evhttp enforces it too */
		pa_reply_error(&r, 413, "body", "the request body is %zu bytes, more than the %zu "
			       "allowed", len, s->o.max_body);
		return;
	}
	body = malloc(len + 1);
	if (!body) {
		pa_reply_error(&r, 500, "body", "out of memory");
		return;
	}
	if (len)
		evbuffer_copyout(in, body, len);
	body[len] = '\0';
	r.body = body;
	r.body_len = len;
	dispatch(&r);
	free(body);
}

/* ---- listeners ---- */

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	struct listener *l = arg;
	SSL *ssl = SSL_new(l->ctx);

	if (!ssl)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static void tls_refused(void *arg, const char *why)
{
	struct pa_server *s = arg;

	pa_metric_inc(s->tls_refused, 1);
	say(s, "%s", why);
}

static struct evhttp *new_http(struct pa_server *s, struct listener *l)
{
	struct evhttp *h = evhttp_new(s->o.base);

	if (!h)
		return NULL;
	evhttp_set_max_body_size(h, (ev_ssize_t)s->o.max_body);
	/* An oversize body is read and dropped before the 413 goes out: a
	 * client still sending it would otherwise meet a closed socket
	 * (EPIPE) and never see the answer. */
	evhttp_set_flags(h, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_max_headers_size(h, HEADERS_MAX);
	evhttp_set_timeout(h, s->o.timeout);
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE);
	evhttp_set_default_content_type(h, "application/json");
	evhttp_set_gencb(h, on_request, l);
	return h;
}

static int bound_port(struct evhttp_bound_socket *bs)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len))
		return 0;
	return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int open_tls(struct pa_server *s, enum pa_listener kind, const char *addr,
		    unsigned short port, char *err, size_t errlen)
{
	struct listener *l = &s->l[kind];
	struct pa_tls_server_opts to = {
		.files = s->o.files, .client_certs = kind == PA_LISTEN_TLS,
		.revoked = s->o.revoked, .revoked_arg = s->o.revoked_arg,
		.refused = tls_refused, .refused_arg = s,
	};
	struct evhttp_bound_socket *bs;

	l->ctx = pa_tls_server_ctx(&to, err, errlen);
	if (!l->ctx)
		return -1;
	l->http = new_http(s, l);
	if (!l->http)
		return ll_fail(err, errlen, "out of memory");
	evhttp_set_bevcb(l->http, tls_bev, l);
	bs = evhttp_bind_socket_with_handle(l->http, addr, port);
	if (!bs)
		return ll_fail(err, errlen, "cannot listen on %s port %u for the %s: %s", addr, port,
			       kind == PA_LISTEN_TLS ? "API" : "join requests", strerror(errno));
	l->port = (unsigned short)bound_port(bs);
	return 0;
}

static int open_unix(struct pa_server *s, char *err, size_t errlen)
{
	struct listener *l = &s->l[PA_LISTEN_UNIX];
	const char *path = s->o.unix_path;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct evconnlistener *lev;
	struct stat st;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path))
		return ll_fail(err, errlen, "the socket path %s is longer than %zu bytes", path,
			       sizeof(sun.sun_path) - 1);
	strcpy(sun.sun_path, path);
	/* a socket left by a daemon that died is replaced; anything else is not ours */
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return ll_fail(err, errlen, "%s exists and is not a socket; not replacing it", path);
		unlink(path);
	}
	l->http = new_http(s, l);
	if (!l->http)
		return ll_fail(err, errlen, "out of memory");
	old = umask(0177);	/* no moment with looser permissions than 0600 */
	lev = evconnlistener_new_bind(s->o.base, NULL, NULL,
				      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
				      (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (!lev)
		return ll_fail(err, errlen, "cannot listen on the socket %s: %s", path, strerror(errno));
	s->unix_path = strdup(path);
	if (!evhttp_bind_listener(l->http, lev))
		return ll_fail(err, errlen, "cannot serve the socket %s", path);
	if (s->o.unix_gid != (gid_t)-1 && chown(path, (uid_t)-1, s->o.unix_gid))
		return ll_fail(err, errlen, "cannot give the socket %s to group %u: %s", path,
			       (unsigned int)s->o.unix_gid, strerror(errno));
	if (chmod(path, s->o.unix_mode))
		return ll_fail(err, errlen, "cannot chmod the socket %s: %s", path, strerror(errno));
	return 0;
}

struct pa_server *pa_server_new(const struct pa_server_opts *o, char *err, size_t errlen)
{
	static const char *const classes[] = { "2xx", "4xx", "5xx" };
	struct pa_server *s = calloc(1, sizeof(*s));

	if (!s) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	s->o = *o;
	if (!s->o.max_body)
		s->o.max_body = PJR_MAX_BODY;
	if (!s->o.timeout)
		s->o.timeout = 30;
	if (!s->o.unix_mode)
		s->o.unix_mode = 0660;
	s->metrics = o->metrics;
	if (!s->metrics) {
		s->metrics = pa_metrics_new();
		s->own_metrics = true;
	}
	if (!s->metrics) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	for (int k = 0; k < 3; k++) {
		s->l[k].srv = s;
		s->l[k].kind = (enum pa_listener)k;
		for (int c = 0; c < 3; c++) {
			const char *labels[] = { "listener", listener_names[k], "code", classes[c], NULL };

			s->l[k].replies[c] = pa_metric_add(s->metrics, PA_COUNTER,
							   "lunlink_api_requests_total",
							   "API requests answered, by listener and status class",
							   labels);
		}
	}
	s->tls_refused = pa_metric_add(s->metrics, PA_COUNTER, "lunlink_api_tls_refused_total",
				       "client certificates presented and refused (foreign, expired, revoked, no lunlink identity)",
				       NULL);
	s->local_refused = pa_metric_add(s->metrics, PA_COUNTER, "lunlink_api_local_refused_total",
					 "Unix socket requests refused by peer credentials", NULL);
	s->errors = pa_metric_add(s->metrics, PA_COUNTER, "lunlink_api_errors_total",
				  "API requests answered with an error (4xx or 5xx)", NULL);
	if (o->tls_addr && open_tls(s, PA_LISTEN_TLS, o->tls_addr, o->tls_port, err, errlen))
		goto err;
	if (o->join_addr && open_tls(s, PA_LISTEN_JOIN, o->join_addr, o->join_port, err, errlen))
		goto err;
	if (o->unix_path && open_unix(s, err, errlen))
		goto err;
	return s;
err:
	pa_server_free(s);
	return NULL;
}

void pa_server_free(struct pa_server *s)
{
	if (!s)
		return;
	for (int k = 0; k < 3; k++) {
		if (s->l[k].http)
			evhttp_free(s->l[k].http);
		SSL_CTX_free(s->l[k].ctx);
	}
	if (s->unix_path) {
		unlink(s->unix_path);
		free(s->unix_path);
	}
	if (s->own_metrics)
		pa_metrics_free(s->metrics);
	free(s);
}

unsigned short pa_server_port(const struct pa_server *s, enum pa_listener which)
{
	return (unsigned int)which < 3 ? s->l[which].port : 0;
}

struct pa_metrics *pa_server_metrics(struct pa_server *s)
{
	return s->metrics;
}
