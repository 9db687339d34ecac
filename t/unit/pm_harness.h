/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pm_harness.h: the manager in one process, for the tests that drive it
 * through its API (policy-manager.c, policy-volumes.c and the others): a
 * scratch folder with a CA and the manager's certificate, a SQLite store,
 * the server on 127.0.0.1 port 0 and a Unix socket, and calls made with
 * the library's client in a thread while the test steps the event loop,
 * or with its asynchronous client on that loop (struct answer).  The
 * steps every such test takes are here once: a node joining, its report,
 * a volume shown, a restart, the start and the end.  Static inline
 * throughout, so that a test takes what it uses.
 */
#ifndef LUNLINK_T_PM_HARNESS_H
#define LUNLINK_T_PM_HARNESS_H

#include "client.h"
#include "manager_int.h"
#include "scratch.h"
#include "tap.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *dir;
static char ca_dir[PATH_MAX], ca_file[PATH_MAX], sock[PATH_MAX], db[PATH_MAX + 16];
static char tls_url[64], join_url[64];
static struct event_base *base;
static struct ps_store *st;
static struct pm_manager *m;
static struct pa_server *srv;
static struct pa_client *admin;
static int waiters_max;		/* the manager's bound on long polls; 0: its default */
static int64_t lease_ms;	/* the volumes' write leases; 0: the manager's default */

static inline void quiet(void *arg, const char *msg)
{
	if (getenv("VERBOSE"))
		diag("log: %s", msg);
}

static inline void path_in(char *out, size_t len, const char *name)
{
	if (snprintf(out, len, "%s/%s", dir, name) >= (int)len)
		abort();
}

/* ---- the manager and its server, made and freed as the daemon would ---- */

static inline int start(int followers_max)
{
	struct pm_options o = { .ca_dir = ca_dir, .offline_after = 1, .followers_max = followers_max,
				.waiters_max = waiters_max, .lease_ms = lease_ms, .log = quiet };
	struct pa_server_opts so = { .base = base, .tls_addr = "127.0.0.1",
				     .join_addr = "127.0.0.1", .unix_path = sock,
				     .unix_gid = (gid_t)-1, .log = quiet };
	char err[512], cert[PATH_MAX], key[PATH_MAX];

	if (ps_open(db, &st, err, sizeof(err))) {
		diag("store: %s", err);
		return -1;
	}
	m = pm_manager_new(base, st, &o, err, sizeof(err));
	if (!m) {
		diag("manager: %s", err);
		return -1;
	}
	path_in(cert, sizeof(cert), "manager.crt");
	path_in(key, sizeof(key), "manager.key");
	so.files = (struct pa_tls_files){ .ca_file = ca_file, .cert_file = cert, .key_file = key };
	pm_manager_routes(m, &so.routes, &so.nroutes);
	so.revoked = pm_manager_revoked;
	so.revoked_arg = m;
	so.authorize = pm_manager_authorize;
	so.authorize_arg = m;
	so.metrics = pm_manager_metrics(m);
	srv = pa_server_new(&so, err, sizeof(err));
	if (!srv) {
		diag("server: %s", err);
		return -1;
	}
	snprintf(tls_url, sizeof(tls_url), "https://127.0.0.1:%u", pa_server_port(srv, PA_LISTEN_TLS));
	snprintf(join_url, sizeof(join_url), "https://127.0.0.1:%u", pa_server_port(srv, PA_LISTEN_JOIN));
	return 0;
}

static inline void stop(void)
{
	pa_server_free(srv);
	pm_manager_free(m);
	ps_close(st);
	srv = NULL;
	m = NULL;
	st = NULL;
}

/* ---- stepping the loop while a blocking call runs in a thread ---- */

struct job {
	/* a call */
	struct pa_client *c;
	const char *method, *path, *body;
	json_object *reply;
	long status;
	int rc;
	/* or a join */
	const char *token, *name, *key, *cert;
	char err[512];
	int wake[2];
};

static inline void *job_run(void *arg)
{
	struct job *j = arg;

	if (j->token) {
		const char *hosts[] = { "127.0.0.1", NULL };

		/* only nodes' certificates name hosts: "ops" is an admin,
		 * "web..." the hosts (initiators) of policy-links.c */
		j->rc = pa_client_join(join_url, ca_file, j->token, j->name,
				       strcmp(j->name, "ops") && strncmp(j->name, "web", 3) ?
				       hosts : NULL, j->key, j->cert,
				       j->err, sizeof(j->err));
	} else {
		json_object *b = j->body ? json_tokener_parse(j->body) : NULL;

		j->rc = pa_client_call(j->c, j->method, j->path, b, &j->reply, &j->status, j->err,
				       sizeof(j->err));
		json_object_put(b);
	}
	if (write(j->wake[1], "x", 1) < 0)
		j->rc = -2;
	return NULL;
}

static inline void woken(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

static inline void run_job(struct job *j)
{
	pthread_t t;
	bool done = false;
	struct event *ev;

	if (pipe(j->wake))
		return;
	ev = event_new(base, j->wake[0], EV_READ, woken, &done);
	event_add(ev, NULL);
	pthread_create(&t, NULL, job_run, j);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	pthread_join(t, NULL);
	event_free(ev);
	close(j->wake[0]);
	close(j->wake[1]);
}

/* METHOD path body through client c: the status (200.., or 0 if no HTTP
 * answer), the reply in *reply (put by the caller; may be NULL). */
static inline long call(struct pa_client *c, const char *method, const char *path, const char *body,
		 json_object **reply, char *err)
{
	struct job j = { .c = c, .method = method, .path = path, .body = body };

	run_job(&j);
	if (err)
		snprintf(err, 512, "%s", j.err);
	if (reply)
		*reply = j.reply;
	else
		json_object_put(j.reply);
	return j.status;
}

static inline int join(const char *token, const char *name, char *err)
{
	struct job j = { .token = token, .name = name };
	char key[PATH_MAX], cert[PATH_MAX], k[80], c[80];

	snprintf(k, sizeof(k), "%s.key", name);
	snprintf(c, sizeof(c), "%s.crt", name);
	path_in(key, sizeof(key), k);
	path_in(cert, sizeof(cert), c);
	j.key = key;
	j.cert = cert;
	run_job(&j);
	snprintf(err, 512, "%s", j.err);
	return j.rc;
}

static inline void wait_ms(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	bool done = false;
	struct event *ev = evtimer_new(base, woken, &done);

	evtimer_add(ev, &tv);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
}

/*
 * Node name's TLS files: the cluster CA, name.crt and name.key in the
 * scratch folder.  The clients keep the paths they are given (they read
 * them again for each transfer, and name them in errors), so the paths
 * live here for the program's life, one slot a node.
 */
static inline struct pa_tls_files node_files(const char *name)
{
	static struct {
		char name[64], cert[PATH_MAX], key[PATH_MAX];
	} slot[8];
	size_t i;
	char c[80], k[80];

	for (i = 0; i < 8 && slot[i].name[0] && strcmp(slot[i].name, name); i++)
		;
	if (i == 8 || strlen(name) >= sizeof(slot[i].name))
		abort();	/* a test with more nodes than slots: make more */
	if (!slot[i].name[0]) {
		snprintf(slot[i].name, sizeof(slot[i].name), "%s", name);
		snprintf(c, sizeof(c), "%s.crt", name);
		snprintf(k, sizeof(k), "%s.key", name);
		path_in(slot[i].cert, sizeof(slot[i].cert), c);
		path_in(slot[i].key, sizeof(slot[i].key), k);
	}
	return (struct pa_tls_files){ .ca_file = ca_file, .cert_file = slot[i].cert,
				      .key_file = slot[i].key };
}

static inline struct pa_client *node_client(const char *name)
{
	struct pa_client_opts o = { .url = tls_url, .files = node_files(name) };
	struct pa_client *cl;
	char err[512];

	cl = pa_client_new(&o, err, sizeof(err));
	if (!cl)
		diag("client for %s: %s", name, err);
	return cl;
}

static inline struct pa_client *local_client(void)
{
	char url[PATH_MAX + 8], err[512];
	struct pa_client_opts o = { .url = url };

	snprintf(url, sizeof(url), "unix:%s", sock);
	return pa_client_new(&o, err, sizeof(err));
}

/* ---- helpers over replies ---- */

/* A member of an object (a borrowed reference), or NULL, o NULL too. */
static inline json_object *member(json_object *o, const char *field)
{
	json_object *v = NULL;

	if (o)
		json_object_object_get_ex(o, field, &v);
	return v;
}

static inline const char *jstr(json_object *o, const char *path)
{
	return pm_str(o, path);
}

static inline const char *err_field(json_object *reply)
{
	json_object *e;

	return reply && json_object_object_get_ex(reply, "error", &e) ? pm_str(e, "field") : "";
}

static inline const char *err_message(json_object *reply)
{
	json_object *e;

	return reply && json_object_object_get_ex(reply, "error", &e) ? pm_str(e, "message") : "";
}

static inline json_object *find_node(json_object *list, const char *name)
{
	json_object *nodes;

	if (!json_object_object_get_ex(list, "nodes", &nodes))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(nodes); i++)
		if (!strcmp(jstr(json_object_array_get_idx(nodes, i), "name"), name))
			return json_object_array_get_idx(nodes, i);
	return NULL;
}

static inline const char *node_state(const char *name)
{
	static char state[16];
	json_object *r = NULL;

	call(admin, "GET", "/v1/nodes", NULL, &r, NULL);
	snprintf(state, sizeof(state), "%s", jstr(find_node(r, name), "state"));
	json_object_put(r);
	return state;
}

static inline int64_t revision_now(void)
{
	int64_t rev = 0;

	ps_revision(st, &rev, NULL);
	return rev;
}

static inline char *make_token(const char *role)
{
	char body[64];
	json_object *r = NULL;
	char *tok = NULL;

	snprintf(body, sizeof(body), "{\"role\":\"%s\",\"ttl\":600}", role);
	if (call(admin, "POST", "/v1/tokens", body, &r, NULL) == 201)
		tok = strdup(jstr(r, "token"));
	json_object_put(r);
	return tok;
}

/* ---- the steps the tests share ---- */

/* Node name's asynchronous client on the test's loop, as its agent has
 * one (NULL, said in a diag, if it cannot be made). */
static inline struct pa_aclient *node_aclient(const char *name)
{
	struct pa_client_opts o = { .url = tls_url, .files = node_files(name) };
	struct pa_aclient *ac;
	char err[512];

	ac = pa_aclient_new(base, &o, err, sizeof(err));
	if (!ac)
		diag("asynchronous client for %s: %s", name, err);
	return ac;
}

/* Node name joins with a node token (a check of its own), and its client. */
static inline struct pa_client *join_node(const char *name)
{
	char err[512] = "no token", *tok = make_token("node");

	ok(tok && join(tok, name, err) == 0, "%s joins (%s)", name, err);
	free(tok);
	return node_client(name);
}

/* Node c (named name, at addr) reports: online, its portal addr:3260, its
 * initiator, and its volumes and areas as given (either may be NULL). */
static inline void node_report(struct pa_client *c, const char *name, const char *addr,
			       json_object *vols, json_object *areas)
{
	json_object *b = json_object_new_object(), *p = json_object_new_array(), *r = NULL;
	char s[PATH_MAX];

	snprintf(s, sizeof(s), "%s:3260", addr);
	json_object_array_add(p, json_object_new_string(s));
	json_object_object_add(b, "address", json_object_new_string(addr));
	json_object_object_add(b, "portals", p);
	snprintf(s, sizeof(s), "iqn.2026-11.org.lunlink:%s", name);
	json_object_object_add(b, "initiator", json_object_new_string(s));
	if (vols)
		json_object_object_add(b, "volumes", json_object_get(vols));
	if (areas)
		json_object_object_add(b, "areas", json_object_get(areas));
	if (call(c, "POST", "/v1/nodes/report", pm_text(b), &r, NULL) != 200)
		diag("report of %s: %s", name, err_message(r));
	json_object_put(r);
	json_object_put(b);
}

/* GET path through client c: the reply (a new reference; NULL without one). */
static inline json_object *get_json(struct pa_client *c, const char *path)
{
	json_object *r = NULL;

	call(c, "GET", path, NULL, &r, NULL);
	return r;
}

/* The volume as GET /v1/volumes/NAME shows it (a new reference). */
static inline json_object *volume_shown(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/v1/volumes/%s", name);
	return get_json(admin, path);
}

/* The manager made again on the same store (a new port) and the admin's
 * client with it; 0, or -1.  The test makes its nodes' clients again. */
static inline int restart_manager(int followers_max)
{
	int rc;

	stop();
	rc = start(followers_max);
	pa_client_free(admin);
	admin = local_client();
	return rc;
}

/* ---- answers of the asynchronous client, the loop turned by the test ---- */

struct answer {
	bool done;
	long status;
	json_object *reply;
	char err[512];
	long at_ms;		/* ll_mono_ms() when it came */
};

/* The asynchronous client's done: the answer into arg (a struct answer). */
static inline void on_done(void *arg, long status, json_object *reply, const char *err)
{
	struct answer *a = arg;

	a->done = true;
	a->status = status;
	a->reply = reply ? json_object_get(reply) : NULL;
	snprintf(a->err, sizeof(a->err), "%s", err ? err : "");
	a->at_ms = (long)ll_mono_ms();
}

/* Turn the loop until a is answered or ms pass: whether it was. */
static inline bool answered(struct answer *a, int ms)
{
	long end = (long)ll_mono_ms() + ms;

	while (!a->done && ll_mono_ms() < end) {
		struct timeval tv = { .tv_usec = 5000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return a->done;
}

/* Put a's reply (done stays as it was: a call answered is gone). */
static inline void forget(struct answer *a)
{
	json_object_put(a->reply);
	a->reply = NULL;
}

/* ---- raw HTTP over the Unix socket: streams and text ---- */

static inline int raw_open(const char *request)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(sock) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Read into buf (appending) until needle is in it, the peer closes, or
 * ms pass; the loop turns meanwhile.  Whether needle was found. */
static inline bool raw_until(int fd, char *buf, size_t size, const char *needle, int ms)
{
	size_t len = strlen(buf);

	for (int waited = 0; waited < ms; waited += 10) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (strstr(buf, needle))
			return true;
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = read(fd, buf + len, size - len - 1);
		if (n <= 0)
			return strstr(buf, needle) != NULL;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return strstr(buf, needle) != NULL;
}

/* The scratch folder, the CA and the manager's certificate; 0, or -1
 * with the reason in err (the test then skips). */
static inline int harness_setup(const char *name, char *err)
{
	const char *hosts[] = { "127.0.0.1", NULL };
	struct pca_sign_opts so = { .role = PCA_ROLE_NODE, .name = "manager", .hosts = hosts };
	char *key = NULL, *csr = NULL, *cert = NULL, path[PATH_MAX];
	struct pca_ca *ca;
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	dir = scratch_dir(name);
	path_in(ca_dir, sizeof(ca_dir), "ca");
	path_in(ca_file, sizeof(ca_file), "ca/ca.crt");
	path_in(sock, sizeof(sock), "api.sock");
	snprintf(db, sizeof(db), "sqlite:%s/policy.db", dir);
	if (pca_init(ca_dir, err, 512) || !(ca = pca_load(ca_dir, err, 512)) ||
	    pca_make_key_csr("manager", &key, &csr, err, 512) ||
	    pca_sign(ca, csr, &so, &cert, err, 512))
		return -1;
	path_in(path, sizeof(path), "manager.key");
	f = fopen(path, "w");
	fputs(key, f);
	fclose(f);
	chmod(path, 0600);
	path_in(path, sizeof(path), "manager.crt");
	f = fopen(path, "w");
	fputs(cert, f);
	fclose(f);
	free(key);
	free(csr);
	free(cert);
	pca_free(ca);
	return 0;
}

/*
 * The start every test program of the manager shares: scratch folder and
 * CA, the event base, a manager with followers_max, the local admin client.
 * 0, or -1 after a failing check (a CA that cannot be made is a failure
 * here, not a reason to skip: the manager's tests need nothing the
 * machine may lack).
 */
static inline int harness_begin(const char *name, int followers_max)
{
	char err[512];

	if (harness_setup(name, err)) {
		ok(0, "the scratch folder and the cluster CA are made: %s", err);
		return -1;
	}
	base = event_base_new();
	if (start(followers_max)) {
		ok(0, "the manager starts");
		return -1;
	}
	admin = local_client();
	return 0;
}

/* The end every test program of the manager shares: the admin's client,
 * the manager if it still runs, the loop; the plan's end. */
static inline int harness_end(void)
{
	pa_client_free(admin);
	if (srv)
		stop();
	event_base_free(base);
	return done_testing();
}

#endif
