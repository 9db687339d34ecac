// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * main.c: lunlink-policyd, the policy daemon of every storage node
 * (lunlink-policyd(8)).  This file only puts the parts together: it reads
 * the configuration (config.h), joins the cluster on an agent's first start
 * (--join TOKEN), opens the store and makes the manager (manager = true),
 * serves its routes on the API, join and Unix listeners (http.h), starts
 * the node agent (manager_url), and runs libevent's loop until SIGTERM or
 * SIGINT, after which everything is closed in reverse order (the server
 * first: it removes its socket; the store last).  --role manager or
 * --role agent runs one of the two parts alone (config.h, pcf_role), so
 * that each can be its own daemon with its own privileges: the manager as
 * an unprivileged user, the agent as root (it drives tgtd through tgtadm).
 *
 * The manager's certificate for its own API listener is issued by its CA
 * at its first start (state_dir/node.key, node.crt), so `lunlinkctl ca
 * init` is the only step before the first start.  With both manager =
 * true and manager_url, one daemon is the manager and its node's agent:
 * the agent never waits on the network, so it shares the loop; its node
 * is registered with that same certificate (pm_manager_enrol), no token.
 */
#include "ca.h"
#include "client.h"
#include "config.h"
#include "daemon_parts.h"
#include "elect.h"
#include "follow.h"
#include "http.h"
#include "lunlink/daemon.h"
#include "lunlink/errmsg.h"
#include "store.h"
#include "urls.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#ifndef LUNLINK_VERSION
#define LUNLINK_VERSION "0.1"
#endif

/* ---- the log ------------------------------------------------------------------ */

static bool log_syslog;
static int log_level = LOG_INFO;

static void pd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pd_log(int prio, const char *fmt, ...)
{
	static const char *const names[] = { "emergency", "alert", "critical", "error",
					     "warning", "notice", "info", "debug" };
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "lunlink-policyd: %s: ", names[prio & 7]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

/* pa_log_fn for the server, the manager and the agent: their messages are news */
static void part_log(void *arg, const char *msg)
{
	pd_log(LOG_INFO, "%s", msg);
}

/* ---- the command line ------------------------------------------------------------ */

struct pd_opts {
	const char *conf_path;
	const char *join_token;
	enum pcf_role role;
	bool join_only;
	bool foreground;
};

enum { OPT_JOIN = 256, OPT_JOIN_ONLY, OPT_ROLE, OPT_VERSION };

static void usage(FILE *f)
{
	fputs("usage: lunlink-policyd [-f] [-v] [-c FILE] [--role manager|agent] [--join TOKEN]\n"
	      "       lunlink-policyd [-c FILE] --join-only TOKEN\n"
	      "       lunlink-policyd -h | --version\n"
	      "The lunlink policy daemon: the node agent of a storage node, and the\n"
	      "cluster's manager where the configuration says manager = true.\n\n"
	      "  -c, --config FILE   the configuration (default " PCF_FILE ")\n"
	      "  -f, --foreground    stay in the foreground, log to stderr\n"
	      "  -v, --verbose       log debug messages too\n"
	      "  --role ROLE         run only the manager or only the agent of what the\n"
	      "                      configuration says (default: both, as configured)\n"
	      "  --join TOKEN        first start of an agent: join the cluster with a token\n"
	      "                      from `lunlinkctl token create --role node`\n"
	      "  --join-only TOKEN   join as this host's agent, keep the key and certificate,\n"
	      "                      and exit (then start the agent, e.g. its systemd unit)\n"
	      "  -h, --help          this text\n"
	      "  --version           the version\n\n"
	      "See lunlink-policyd(8).\n", f);
}

static int parse_args(int argc, char **argv, struct pd_opts *o)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "join", required_argument, NULL, OPT_JOIN },
		{ "join-only", required_argument, NULL, OPT_JOIN_ONLY },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:fvh", longs, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conf_path = optarg; break;
		case 'f': o->foreground = true; break;
		case 'v': log_level = LOG_DEBUG; break;
		case OPT_JOIN: o->join_token = optarg; break;
		case OPT_JOIN_ONLY:
			o->join_token = optarg;
			o->join_only = true;
			break;
		case OPT_ROLE:
			if (!strcmp(optarg, "manager")) {
				o->role = PCF_ROLE_MANAGER;
			} else if (!strcmp(optarg, "agent")) {
				o->role = PCF_ROLE_AGENT;
			} else {
				fprintf(stderr, "lunlink-policyd: --role '%s': a role is manager or "
					"agent\n", optarg);
				usage(stderr);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("lunlink-policyd %s\n", LUNLINK_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lunlink-policyd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	/* joining is the agent's; the manager has a CA of its own */
	if (o->join_token && o->role == PCF_ROLE_MANAGER) {
		fprintf(stderr, "lunlink-policyd: --role manager does not join: joining is an "
			"agent's (--role agent)\n");
		usage(stderr);
		return -1;
	}
	if (o->join_only)
		o->role = PCF_ROLE_AGENT;
	return 0;
}

/* ---- files -------------------------------------------------------------------------- */

static int write_private(const char *path, const char *text, mode_t mode, char *err,
			 size_t errlen)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0)
		return ll_fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		ll_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return close(fd) ? ll_fail(err, errlen, "cannot write %s: %s", path, strerror(errno)) : 0;
}

/* A key and a certificate from the CA in state_dir/ca, unless both are
 * there already. */
static int issue(const struct pcf_config *cf, enum pca_role role, const char *name,
		 const char *const *hosts, const char *key_path, const char *crt_path,
		 char *err, size_t errlen)
{
	char ca_dir[PATH_MAX + 8];
	struct pca_sign_opts so = { .role = role, .name = name, .hosts = hosts };
	char *key = NULL, *csr = NULL, *cert = NULL;
	struct pca_ca *ca = NULL;
	int rc = -1;

	if (!access(crt_path, F_OK) && !access(key_path, F_OK))
		return 0;
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", cf->state_dir);
	if (access(ca_dir, F_OK))
		return ll_fail(err, errlen, "no cluster CA in %s: run `lunlinkctl ca init` on this "
			       "host first (or, for a further manager, copy the first one's)", ca_dir);
	if (!(ca = pca_load(ca_dir, err, errlen)))
		goto err;
	if (pca_make_key_csr(name, &key, &csr, err, errlen) ||
	    pca_sign(ca, csr, &so, &cert, err, errlen))
		goto err;
	unlink(key_path);
	unlink(crt_path);
	if (write_private(key_path, key, 0600, err, errlen) ||
	    write_private(crt_path, cert, 0644, err, errlen))
		goto err;
	pd_log(LOG_NOTICE, "issued %s (%s %s) from the CA in %s", crt_path, pca_role_name(role),
	       name, ca_dir);
	rc = 0;
err:
	free(key);
	free(csr);
	free(cert);
	pca_free(ca);
	return rc;
}

/*
 * The manager's own certificate for its API listener, issued by its CA
 * when state_dir has none: a node certificate for the listen address,
 * this node's address, and localhost.
 */
static int manager_identity(const struct pcf_config *cf, char *err, size_t errlen)
{
	char key_path[PATH_MAX + 16], crt_path[PATH_MAX + 16];
	const char *hosts[5];
	size_t n = 0;

	pcf_state_path(cf, "node.key", key_path, sizeof(key_path));
	pcf_state_path(cf, "node.crt", crt_path, sizeof(crt_path));
	if (!cf->node_name[0])
		return ll_fail(err, errlen, "this host's name is not a valid node name: set "
			       "policy.node_name");
	if (strcmp(cf->listen.host, "0.0.0.0") && strcmp(cf->listen.host, "::"))
		hosts[n++] = cf->listen.host;
	if (cf->address[0])
		hosts[n++] = cf->address;
	hosts[n++] = "localhost";
	hosts[n++] = "127.0.0.1";
	hosts[n] = NULL;
	return issue(cf, PCA_ROLE_NODE, cf->node_name, hosts, key_path, crt_path, err, errlen);
}

/*
 * Join the cluster: a key (state_dir/node.key, 0600) and a certificate
 * from the manager's join port, at manager_url's hosts and join_listen's
 * port, checked against state_dir/ca.crt (the operator's copy).
 */
static int join(const struct pcf_config *cf, const char *token, char *err, size_t errlen)
{
	char key_path[PATH_MAX + 16], crt_path[PATH_MAX + 16], ca_path[PATH_MAX + 16];
	char url[PCF_MANAGER_URL_MAX + 64];
	const char *hosts[3] = { NULL };
	size_t n = 0;

	if (!cf->manager_url[0])
		return ll_fail(err, errlen, "--join needs policy.manager_url, the manager's "
			       "https://HOST:PORT");
	pcf_state_path(cf, "node.key", key_path, sizeof(key_path));
	pcf_state_path(cf, "node.crt", crt_path, sizeof(crt_path));
	pcf_state_path(cf, "ca.crt", ca_path, sizeof(ca_path));
	if (!access(crt_path, F_OK))
		return ll_fail(err, errlen, "this node has joined already (%s exists); to join "
			       "anew, remove it and %s", crt_path, key_path);
	if (access(ca_path, R_OK))
		return ll_fail(err, errlen, "no cluster CA certificate at %s: copy the manager's "
			       "STATE_DIR/ca/ca.crt there first (%s)", ca_path, strerror(errno));
	if (pu_join_urls(cf->manager_url, cf->join_listen.port, url, sizeof(url), err, errlen))
		return -1;
	if (cf->address[0])
		hosts[n++] = cf->address;
	hosts[n] = NULL;
	pd_log(LOG_NOTICE, "joining the cluster at %s as node %s", url, cf->node_name);
	if (pa_client_join(url, ca_path, token, cf->node_name, hosts, key_path, crt_path, err,
			   errlen))
		return -1;
	pd_log(LOG_NOTICE, "joined: key %s, certificate %s", key_path, crt_path);
	return 0;
}

/* ---- the parts ---------------------------------------------------------------------- */

#define PD_ELECTED_TIMEOUT_MS	2000	/* an elected manager's store calls, unless set */

struct pd {
	struct pcf_config conf;
	const char *conf_path;
	struct event_base *base;
	struct event *sigterm, *sigint;
	struct ps_store *store;
	struct pm_manager *manager;
	struct pa_server *server;
	struct pg_agent *agent;
	struct pe_elector *elect;	/* an etcd store: the managers' election */
	char *cert_pem;			/* this manager's node certificate */
	char ca_dir[PATH_MAX + 8], key_path[PATH_MAX + 16], crt_path[PATH_MAX + 16];
	char ca_path[PATH_MAX + 16];
	gid_t socket_gid;
	struct event *retry;		/* the follower's server, again */
	struct pf_proxy *proxy;		/* local callers passed on to the leader */
	bool retry_logged;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct pd *d = arg;

	pd_log(LOG_NOTICE, "%s: stopping", strsignal((int)sig));
	event_base_loopbreak(d->base);
}

/* The manager's files, its store, its socket's folder and group. */
static int manager_prepare(struct pd *d, char *err, size_t errlen)
{
	const struct pcf_config *cf = &d->conf;
	char sockdir[PATH_MAX], *slash;
	struct group *g;
	size_t len = 0;
	FILE *f;

	snprintf(d->ca_dir, sizeof(d->ca_dir), "%s/ca", cf->state_dir);
	pcf_state_path(cf, "node.key", d->key_path, sizeof(d->key_path));
	pcf_state_path(cf, "node.crt", d->crt_path, sizeof(d->crt_path));
	pcf_state_path(cf, "ca.crt", d->ca_path, sizeof(d->ca_path));
	d->socket_gid = (gid_t)-1;
	if (manager_identity(cf, err, errlen))
		return -1;
	f = fopen(d->crt_path, "r");
	if (!f || getdelim(&d->cert_pem, &len, '\0', f) < 0) {
		if (f)
			fclose(f);
		return ll_fail(err, errlen, "cannot read %s: %s", d->crt_path, strerror(errno));
	}
	fclose(f);
	if (pcf_store_elected(cf) && !strstr(cf->store, "timeout=")) {
		/* each call bounded by 2 s, not 5: a leader cut off from etcd
		 * waits out each one in its loop (its agent's loop too) */
		char uri[PATH_MAX + 64];

		if (pe_uri_timeout(cf->store, PD_ELECTED_TIMEOUT_MS, uri, sizeof(uri)) ||
		    ps_open(uri, &d->store, err, errlen))
			return -1;
	} else if (ps_open(cf->store, &d->store, err, errlen)) {
		return -1;
	}
	if (cf->socket_group[0]) {
		if (!(g = getgrnam(cf->socket_group)))
			return ll_fail(err, errlen, "%s: policy.socket_group: no group '%s' on this "
				       "host", d->conf_path, cf->socket_group);
		d->socket_gid = g->gr_gid;
	}
	snprintf(sockdir, sizeof(sockdir), "%s", cf->socket);
	if ((slash = strrchr(sockdir, '/')) && slash != sockdir) {
		*slash = '\0';
		if (pcf_mkdirs(sockdir, 0755, err, errlen))
			return -1;
	}
	return 0;
}

/*
 * Every request while this manager does not lead (elect.h): a TLS
 * caller is sent to the leader (307, its API or join URL), a local one
 * told where it is; with no leader yet, 503 and Retry-After.  Asked on the
 * leader's server too, so that nothing is answered past its deadline.
 */
static int gate(void *arg, struct pa_request *r)
{
	struct pd *d = arg;
	const struct pe_leader *l;
	const char *q, *base;
	char loc[1024];
	json_object *o, *e;

	if (!d->elect || pe_leading(d->elect))
		return 0;
	l = pe_leader(d->elect);
	if (!strcmp(l->name, d->conf.node_name)) {
		/* this manager's term ran out, and its tick has not yet seen it:
		 * no one to send the caller to yet */
		pa_reply_header(r, "Retry-After", "1");
		pa_reply_error(r, 503, "caller", "this manager's term as leader ran out: an "
			       "election is under way; try again");
		return 1;
	}
	o = json_object_new_object();
	e = json_object_new_object();
	json_object_object_add(o, "error", e);
	json_object_object_add(o, "leader", json_object_new_string(l->url));
	if (!l->url[0]) {
		json_object_object_add(e, "field", json_object_new_string("caller"));
		json_object_object_add(e, "message", json_object_new_string(
			"no manager leads yet: an election is under way (a leader's lease "
			"lapses within policy.election_ttl); try again"));
		pa_reply_header(r, "Retry-After", "1");
		pa_reply_json(r, 503, o);
		return 1;
	}
	json_object_object_add(e, "field", json_object_new_string("caller"));
	if (r->listener == PA_LISTEN_UNIX && d->proxy) {
		json_object_put(o);
		pf_proxy_forward(d->proxy, l->url, r);
		return 1;
	}
	if (r->listener == PA_LISTEN_UNIX) {
		snprintf(loc, sizeof(loc), "this manager follows; the leader is %s at %s: run "
			 "lunlinkctl on %s, or here with --url %s and an admin certificate",
			 l->name, l->url, l->name, l->url);
		json_object_object_add(e, "message", json_object_new_string(loc));
		pa_reply_json(r, 503, o);
		return 1;
	}
	base = r->listener == PA_LISTEN_JOIN ? l->join_url : l->url;
	q = pa_request_query(r);
	snprintf(loc, sizeof(loc), "%s%s%s%s", base, r->path, q ? "?" : "", q ? q : "");
	pa_reply_header(r, "Location", loc);
	{
		char msg[700];

		snprintf(msg, sizeof(msg), "this manager follows; the leader is %s at %s", l->name,
			 l->url);
		json_object_object_add(e, "message", json_object_new_string(msg));
	}
	pa_reply_json(r, 307, o);
	return 1;
}

/* The API, join and Unix listeners: the manager's routes when m, or the
 * gate alone (a follower). */
static int server_up(struct pd *d, struct pm_manager *m, char *err, size_t errlen)
{
	const struct pcf_config *cf = &d->conf;
	struct pa_server_opts so = { .base = d->base, .unix_gid = d->socket_gid };

	so.tls_addr = cf->listen.host;
	so.tls_port = cf->listen.port;
	so.join_addr = cf->join_listen.host;
	so.join_port = cf->join_listen.port;
	so.unix_path = cf->socket;
	so.files.ca_file = d->ca_path;
	so.files.cert_file = d->crt_path;
	so.files.key_file = d->key_path;
	so.log = part_log;
	so.gate = d->elect ? gate : NULL;
	so.gate_arg = d;
	if (m) {
		so.revoked = pm_manager_revoked;
		so.revoked_arg = m;
		so.authorize = pm_manager_authorize;
		so.authorize_arg = m;
		so.metrics = pm_manager_metrics(m);
		pm_manager_routes(m, &so.routes, &so.nroutes);
	}
	d->server = pa_server_new(&so, err, errlen);
	return d->server ? 0 : -1;
}

static void manager_down(struct pd *d)
{
	/* the server first: it counts in the manager's registry, and it
	 * removes its socket */
	if (d->server)
		pa_server_free(d->server);
	d->server = NULL;
	if (d->manager)
		pm_manager_free(d->manager);
	d->manager = NULL;
}

static bool still_leading(void *arg)
{
	struct pd *d = arg;

	return !d->elect || pe_leading(d->elect);
}

static int manager_up(struct pd *d, char *err, size_t errlen)
{
	const struct pcf_config *cf = &d->conf;
	struct pm_options mo = { .ca_dir = d->ca_dir, .offline_after = (int)cf->offline_after,
				 .lease_ms = cf->lease_ms, .pr_valid_ms = cf->pr_valid_ms,
				 .no_failover = !cf->failover,
				 .leading = still_leading, .leading_arg = d,
				 .log = part_log };

	d->manager = pm_manager_new(d->base, d->store, &mo, err, errlen);
	if (!d->manager || server_up(d, d->manager, err, errlen)) {
		manager_down(d);
		return -1;
	}
	pd_log(LOG_NOTICE, "manager: API on %s:%u, join on %s:%u, socket %s, store %s",
	       cf->listen.host, pa_server_port(d->server, PA_LISTEN_TLS), cf->join_listen.host,
	       pa_server_port(d->server, PA_LISTEN_JOIN), cf->socket, cf->store);
	return 0;
}

/* A node registered with cert_pem (the manager's own, or a fellow
 * candidate's): its agent may report. */
static int enrol(struct pd *d, const char *cert_pem, const char *const *hosts, char *err,
		 size_t errlen)
{
	return pm_manager_enrol(d->manager, cert_pem, hosts, err, errlen);
}

/* ---- several managers (an etcd store): elect.h ---- */

static void on_lead(void *arg, int64_t term)
{
	struct pd *d = arg;
	char err[1024];

	manager_down(d);	/* the follower's gate-only server */
	ps_fence_until(d->store, still_leading, d);
	if (ps_fence(d->store, PE_KEY_LEADER, term) || manager_up(d, err, sizeof(err))) {
		if (!d->manager)
			snprintf(err + strlen(err), sizeof(err) - strlen(err), "%s",
				 d->store && !err[0] ? ps_error(d->store) : "");
		pd_log(LOG_ERR, "manager: cannot lead in term %lld: %s", (long long)term, err);
		pe_resign(d->elect, "the manager could not start");
		return;
	}
	pd_log(LOG_NOTICE, "manager: leading in term %lld (every change fenced by it)",
	       (long long)term);
}

/* The follower's server, again every second until it listens (its port
 * held a moment longer by the manager's server it replaces, or by
 * another process). */
static void follower_up(evutil_socket_t fd, short what, void *arg)
{
	struct pd *d = arg;
	struct timeval tv = { .tv_sec = 1 };
	char err[1024];

	(void)fd;
	(void)what;
	if (d->server || d->manager || pe_leading(d->elect))
		return;
	if (!server_up(d, NULL, err, sizeof(err))) {
		pd_log(LOG_NOTICE, "manager: following; requests go to the leader");
		return;
	}
	if (!d->retry_logged)
		pd_log(LOG_ERR, "manager: cannot serve as a follower: %s (trying again every "
		       "second)", err);
	d->retry_logged = true;
	evtimer_add(d->retry, &tv);
}

static void on_follow(void *arg)
{
	struct pd *d = arg;

	manager_down(d);
	ps_fence(d->store, NULL, 0);
	ps_fence_until(d->store, NULL, NULL);
	d->retry_logged = false;
	follower_up(-1, 0, d);
}

static void on_candidate(void *arg, const char *name, const char *cert_pem,
			 const char *const *hosts)
{
	struct pd *d = arg;
	char err[1024];

	if (d->manager && enrol(d, cert_pem, hosts, err, sizeof(err)))
		pd_log(LOG_WARNING, "manager: candidate %s: %s", name, err);
}

static int start_manager(struct pd *d, char *err, size_t errlen)
{
	const struct pcf_config *cf = &d->conf;
	char url[PCF_HOST_MAX + 32], join_url[PCF_HOST_MAX + 32], hp[PCF_HOST_MAX + 16];
	const char *hosts[2] = { cf->address[0] ? cf->address : NULL, NULL };
	struct pcf_hostport a;
	struct pe_opts eo = { .store_uri = cf->store, .name = cf->node_name, .url = url,
			      .join_url = join_url, .hosts = hosts,
			      .ttl = (int)cf->election_ttl, .lead = on_lead, .follow = on_follow,
			      .candidate = on_candidate, .arg = d, .log = part_log };

	if (manager_prepare(d, err, errlen))
		return -1;
	if (!pcf_store_elected(cf))
		return manager_up(d, err, errlen);
	/* an etcd store: start as a follower and campaign */
	snprintf(a.host, sizeof(a.host), "%s", cf->address);
	a.port = cf->listen.port;
	snprintf(url, sizeof(url), "https://%s", pcf_hostport_str(&a, hp, sizeof(hp)));
	a.port = cf->join_listen.port;
	snprintf(join_url, sizeof(join_url), "https://%s", pcf_hostport_str(&a, hp, sizeof(hp)));
	/* a local lunlinkctl on a follower reaches the leader through it,
	 * with an admin certificate from the CA this host holds */
	{
		char pkey[PATH_MAX + 16], pcrt[PATH_MAX + 16], pname[80];
		struct pa_tls_files pf = { .ca_file = d->ca_path, .cert_file = pcrt,
					   .key_file = pkey };

		pcf_state_path(cf, "proxy.key", pkey, sizeof(pkey));
		pcf_state_path(cf, "proxy.crt", pcrt, sizeof(pcrt));
		snprintf(pname, sizeof(pname), "manager-%s", cf->node_name);
		if (issue(cf, PCA_ROLE_ADMIN, pname, NULL, pkey, pcrt, err, errlen) ||
		    !(d->proxy = pf_proxy_new(d->base, &pf, err, errlen)))
			return -1;
	}
	/* its node registered by the leader only when this daemon is its
	 * agent too: a separate agent (--role agent) joins with a token */
	eo.cert_pem = cf->manager_url[0] ? d->cert_pem : NULL;
	d->retry = evtimer_new(d->base, follower_up, d);
	if (!d->retry)
		return ll_fail(err, errlen, "cannot make a timer (libevent)");
	d->elect = pe_new(d->base, &eo, err, errlen);
	if (!d->elect)
		return -1;
	if (!d->server && !d->manager && server_up(d, NULL, err, errlen))
		return -1;
	pd_log(LOG_NOTICE, "manager: a candidate on %s (API %s, join %s)", cf->store, url,
	       join_url);
	return 0;
}

/* The manager's own node, for the agent in this process: registered
 * with the manager's certificate, which the agent presents.  With an
 * election, the leader registers every candidate (on_candidate). */
static int enrol_own_node(struct pd *d, char *err, size_t errlen)
{
	const char *hosts[2] = { d->conf.address[0] ? d->conf.address : NULL, NULL };

	if (d->elect)
		return 0;
	return enrol(d, d->cert_pem, hosts, err, errlen);
}

static int start_agent(struct pd *d, char *err, size_t errlen)
{
#if PD_HAVE_AGENT
	const struct pcf_config *cf = &d->conf;
	char key_path[PATH_MAX + 16], crt_path[PATH_MAX + 16], ca_path[PATH_MAX + 16];
	struct pg_agent_opts ao = { 0 };
	static char portal_buf[PCF_PORTALS_MAX][PCF_HOST_MAX + 16];
	static const char *portals[PCF_PORTALS_MAX + 1];
	static struct pg_area areas[PCF_AREAS_MAX];

	pcf_state_path(cf, "node.key", key_path, sizeof(key_path));
	pcf_state_path(cf, "node.crt", crt_path, sizeof(crt_path));
	pcf_state_path(cf, "ca.crt", ca_path, sizeof(ca_path));
	if (access(crt_path, F_OK))
		return ll_fail(err, errlen, "this node has not joined the cluster (no %s): start it "
			       "once with --join TOKEN, a token from `lunlinkctl token create "
			       "--role node` on the manager", crt_path);
	ao.manager_url = cf->manager_url;
	ao.files.ca_file = ca_path;
	ao.files.cert_file = crt_path;
	ao.files.key_file = key_path;
	ao.node_name = cf->node_name;
	ao.address = cf->address[0] ? cf->address : NULL;
	for (size_t i = 0; i < cf->nportals; i++) {
		snprintf(portal_buf[i], sizeof(portal_buf[i]), "%s%s%s:%u",
			 strchr(cf->portals[i].host, ':') ? "[" : "", cf->portals[i].host,
			 strchr(cf->portals[i].host, ':') ? "]" : "", cf->portals[i].port);
		portals[i] = portal_buf[i];
	}
	portals[cf->nportals] = NULL;
	ao.portals = cf->nportals ? portals : NULL;
	ao.tgtadm = cf->tgtadm;
	ao.tgt_control_port = cf->tgt_control_port;
	ao.tgt_ipc_socket = getenv("TGT_IPC_SOCKET");	/* tgtadm's own variable */
	for (size_t i = 0; i < cf->nareas; i++) {
		areas[i].path = cf->areas[i].path;
		areas[i].size = cf->areas[i].size;
	}
	ao.areas = areas;
	ao.nareas = cf->nareas;
	ao.heartbeat_interval = cf->heartbeat_interval;
	ao.iqn_prefix = cf->iqn_prefix;
	ao.lunlink_image = getenv("LUNLINK_IMAGE");	/* NULL: the installed one */
	ao.state_dir = cf->state_dir;
	ao.lunlink_version = LUNLINK_VERSION;
	ao.pr_socket = cf->pr_socket;
	ao.log = part_log;
	d->agent = pg_agent_new(d->base, &ao, err, errlen);
	if (!d->agent)
		return -1;
	pd_log(LOG_NOTICE, "agent: node %s, reporting to %s every %us", cf->node_name,
	       cf->manager_url, cf->heartbeat_interval);
	return 0;
#else
	return ll_fail(err, errlen, "%s sets policy.manager_url, but this build has no node agent "
		       "(policy/agent.c); run it as the manager only", d->conf_path);
#endif
}

static void pd_stop(struct pd *d)
{
	/* resign first, so that another manager takes over at once */
	pe_free(d->elect);
	d->elect = NULL;
	if (d->retry)
		event_free(d->retry);
#if PD_HAVE_AGENT
	if (d->agent)
		pg_agent_free(d->agent);
#endif
	manager_down(d);
	pf_proxy_free(d->proxy);	/* after the server: its parked requests went */
	free(d->cert_pem);
	if (d->store)
		ps_close(d->store);
	if (d->sigterm)
		event_free(d->sigterm);
	if (d->sigint)
		event_free(d->sigint);
	if (d->base)
		event_base_free(d->base);
}

/*
 * Without -f the daemon goes to the background (ll_daemonize), and the
 * command returns (0, or 1 with the error on stderr) only once the daemon
 * listens, so that a start script or an operator sees a failure.  Then
 * its log is syslog.
 */
static void detach(int *ready_fd)
{
	openlog("lunlink-policyd", LOG_PID, LOG_DAEMON);
	log_syslog = true;
	ll_daemon_ready(ready_fd, 0, false);
}

int main(int argc, char **argv)
{
	struct pd_opts o = { 0 };
	struct pd d = { 0 };
	char err[1024];
	int ready_fd = -1, rc = 1;

	if (parse_args(argc, argv, &o))
		return 2;
	d.conf_path = o.conf_path ? o.conf_path : PCF_FILE;
	pcf_defaults(&d.conf);
	if (pcf_load(&d.conf, d.conf_path, true, err, sizeof(err)) ||
	    pcf_role(&d.conf, o.role, d.conf_path, err, sizeof(err)) ||
	    pcf_check(&d.conf, d.conf_path, err, sizeof(err))) {
		pd_log(LOG_ERR, "%s", err);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (o.join_only) {
		if (pcf_mkdirs(d.conf.state_dir, 0700, err, sizeof(err)) ||
		    join(&d.conf, o.join_token, err, sizeof(err))) {
			pd_log(LOG_ERR, "%s", err);
			return 1;
		}
		return 0;
	}
	if (!o.foreground && ll_daemonize(&ready_fd)) {
		pd_log(LOG_ERR, "cannot go to the background: %s", strerror(errno));
		return 1;
	}
	if (pcf_mkdirs(d.conf.state_dir, 0700, err, sizeof(err)))
		goto err;
	if (o.join_token || d.conf.join_token[0]) {
		char crt[PATH_MAX + 16];

		pcf_state_path(&d.conf, "node.crt", crt, sizeof(crt));
		/* a join_token in the file is for the first start only */
		if ((o.join_token || access(crt, F_OK)) &&
		    join(&d.conf, o.join_token ? o.join_token : d.conf.join_token, err, sizeof(err)))
			goto err;
	}
	d.base = event_base_new();
	if (!d.base) {
		snprintf(err, sizeof(err), "cannot make the event loop (libevent)");
		goto err;
	}
	d.sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
	d.sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
	if (!d.sigterm || !d.sigint || event_add(d.sigterm, NULL) || event_add(d.sigint, NULL)) {
		snprintf(err, sizeof(err), "cannot catch SIGTERM and SIGINT (libevent)");
		goto err;
	}
	if (d.conf.manager && start_manager(&d, err, sizeof(err)))
		goto err;
	if (d.conf.manager && d.conf.manager_url[0] && enrol_own_node(&d, err, sizeof(err)))
		goto err;
	if (d.conf.manager_url[0] && start_agent(&d, err, sizeof(err)))
		goto err;
	if (ready_fd >= 0)
		detach(&ready_fd);
	pd_log(LOG_INFO, "lunlink-policyd %s running (%s)", LUNLINK_VERSION, d.conf_path);
	if (event_base_dispatch(d.base) < 0)
		pd_log(LOG_ERR, "the event loop failed");
	rc = 0;
	pd_stop(&d);
	pd_log(LOG_INFO, "stopped");
	return rc;
err:
	pd_log(LOG_ERR, "%s", err);
	pd_stop(&d);
	return rc;
}
