// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * api-echo.c: a tiny policy API server for t/t3600-policy-api-tls.sh,
 * built from policy/libpolicyapi.a exactly as lunlink-policyd uses it:
 * the three listeners, a route table, the join handler, /metrics.  Its
 * "store" is files: revoked serials one per line in --revoked (read at
 * every handshake), token records as --tokens DIR/ID.
 *
 *   api-echo --ca-dir DIR --cert F --key F [--tls ADDR] [--join ADDR]
 *            [--unix PATH] [--unix-mode MODE] [--revoked FILE]
 *            [--tokens DIR] [--ports FILE] [--max-body N]
 *
 * Listeners bind port 0; the ports chosen are written to --ports as
 * "tls PORT" and "join PORT" lines once serving.  SIGTERM ends it.
 * Routes: POST /v1/echo (members: echoes name, size, count and the
 * caller), GET /v1/whoami (members), GET /v1/admin (admin, local),
 * GET /metrics (members), POST /v1/join (join port).
 */
#include "http.h"
#include "join.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *revoked_file, *tokens_dir;
static struct pa_metric *echoes;

static bool is_revoked(void *arg, const char *serial)
{
	FILE *f = revoked_file ? fopen(revoked_file, "r") : NULL;
	char line[128], canon[PCA_SERIAL_MAX];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = !pca_serial_canon(line, canon) && !strcmp(canon, serial);
	if (f)
		fclose(f);
	return found;
}

static char *token_get(void *arg, const char *id)
{
	char path[4096], *buf = calloc(1, 4096);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tokens_dir, id);
	f = buf ? fopen(path, "r") : NULL;
	if (!f || !fread(buf, 1, 4095, f)) {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

/* compare-and-swap, as well as files allow in a single-threaded server */
static int token_swap(void *arg, const char *id, const char *old, const char *new)
{
	char *now = token_get(arg, id), path[4096], tmp[4200];
	FILE *f;
	int r = -1;

	snprintf(path, sizeof(path), "%s/%s", tokens_dir, id);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (now && !strcmp(now, old) && (f = fopen(tmp, "w"))) {
		fputs(new, f);
		r = fclose(f) || rename(tmp, path) ? -1 : 0;
	}
	free(now);
	return r;
}

static void echo(struct pa_request *r, void *arg)
{
	static const char *const fields[] = { "name", "size", "count", NULL };
	const char *name;
	uint64_t size = 0;
	int64_t count = 1;
	json_object *in, *out;
	struct pjr_err e;

	if (pa_request_json(r, &in))
		return;
	if (pjr_only(in, fields, &e) ||
	    pjr_string(in, "name", true, PJR_NAME_MAX, PJR_NAME, &name, &e) ||
	    pjr_size(in, "size", false, 1, 1ULL << 50, &size, &e) ||
	    pjr_int(in, "count", false, 1, 100, &count, &e)) {
		pa_reply_pjr(r, &e);
		json_object_put(in);
		return;
	}
	pa_metric_inc(echoes, 1);
	out = json_object_new_object();
	json_object_object_add(out, "name", json_object_new_string(name));
	json_object_object_add(out, "size", json_object_new_uint64(size));
	json_object_object_add(out, "count", json_object_new_int64(count));
	json_object_object_add(out, "caller", json_object_new_string(r->caller->desc));
	json_object_put(in);
	pa_reply_json(r, 200, out);
}

static void whoami(struct pa_request *r, void *arg)
{
	json_object *out = json_object_new_object();

	json_object_object_add(out, "caller", json_object_new_string(r->caller->desc));
	pa_reply_json(r, 200, out);
}

static void log_line(void *arg, const char *msg)
{
	fprintf(stderr, "api-echo: %s\n", msg);
}

static void on_term(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca-dir", 1, NULL, 'C' }, { "cert", 1, NULL, 'c' }, { "key", 1, NULL, 'k' },
		{ "tls", 1, NULL, 't' }, { "join", 1, NULL, 'j' }, { "unix", 1, NULL, 'u' },
		{ "unix-mode", 1, NULL, 'm' }, { "revoked", 1, NULL, 'r' },
		{ "tokens", 1, NULL, 'T' }, { "ports", 1, NULL, 'p' }, { "max-body", 1, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct pa_server_opts so = { .unix_gid = (gid_t)-1, .log = log_line };
	const char *ca_dir = NULL, *ports = NULL;
	char err[512], ca_file[4096];
	struct pa_join join = { .ops = { .token_get = token_get, .token_swap = token_swap } };
	struct pa_metrics *metrics = pa_metrics_new();
	struct pa_server *srv = NULL;
	struct event *term = NULL;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'C': ca_dir = optarg; break;
		case 'c': so.files.cert_file = optarg; break;
		case 'k': so.files.key_file = optarg; break;
		case 't': so.tls_addr = optarg; break;
		case 'j': so.join_addr = optarg; break;
		case 'u': so.unix_path = optarg; break;
		case 'm': so.unix_mode = (mode_t)strtoul(optarg, NULL, 8); break;
		case 'r': revoked_file = optarg; break;
		case 'T': tokens_dir = optarg; break;
		case 'p': ports = optarg; break;
		case 'b': so.max_body = strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!ca_dir) {
		fprintf(stderr, "usage: api-echo --ca-dir DIR --cert F --key F [--tls ADDR] ...\n");
		return 2;
	}
	snprintf(ca_file, sizeof(ca_file), "%s/ca.crt", ca_dir);
	so.files.ca_file = ca_file;
	join.ca = pca_load(ca_dir, err, sizeof(err));
	if (!join.ca) {
		fprintf(stderr, "api-echo: %s\n", err);
		goto err;
	}
	const struct pa_route routes[] = {
		{ "POST", "/v1/echo", PA_ALLOW_MEMBERS, echo, NULL },
		{ "GET", "/v1/whoami", PA_ALLOW_MEMBERS, whoami, NULL },
		{ "GET", "/v1/admin", PA_ALLOW_ADMIN | PA_ALLOW_LOCAL, whoami, NULL },
		{ "GET", "/metrics", PA_ALLOW_MEMBERS, pa_metrics_handler, metrics },
		{ "POST", "/v1/join", PA_ALLOW_JOIN, pa_join_handler, &join },
	};
	echoes = pa_metric_add(metrics, PA_COUNTER, "lunlink_test_echoes_total",
			       "echo requests served", (const char *const[]){ "test", "t3600", NULL });
	so.base = event_base_new();
	so.routes = routes;
	so.nroutes = sizeof(routes) / sizeof(routes[0]);
	so.revoked = is_revoked;
	so.metrics = metrics;
	srv = pa_server_new(&so, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "api-echo: %s\n", err);
		goto err;
	}
	signal(SIGPIPE, SIG_IGN);
	term = evsignal_new(so.base, SIGTERM, on_term, so.base);
	event_add(term, NULL);
	if (ports) {
		char tmp[4200];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", ports);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "tls %u\njoin %u\n", pa_server_port(srv, PA_LISTEN_TLS),
				  pa_server_port(srv, PA_LISTEN_JOIN)) < 0 || fclose(f) ||
		    rename(tmp, ports)) {
			fprintf(stderr, "api-echo: cannot write %s: %s\n", ports, strerror(errno));
			goto err;
		}
	}
	event_base_dispatch(so.base);
	rc = 0;
err:
	if (term)
		event_free(term);
	pa_server_free(srv);
	if (so.base)
		event_base_free(so.base);
	pca_free(join.ca);
	pa_metrics_free(metrics);
	return rc;
}
