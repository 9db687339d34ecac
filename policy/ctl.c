// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl.c: lunlinkctl, the operator's command line to the policy manager
 * (doc/policy.md's API; lunlinkctl(8)).  This file is the frame: the
 * global options (taken anywhere on the line, so `volume list --json`
 * works), the table of commands with their usage lines, the parsing of a
 * command's own options, the connection (the local Unix socket, or mutual
 * TLS with an admin certificate) and the one way errors are printed.
 * The commands themselves are in ctl_cmds.c, ctl_events.c, ctl_link.c,
 * ctl_pr.c and ctl_store.c.
 */
#include "client.h"
#include "ctl.h"
#include "json_req.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LUNLINK_VERSION
#define LUNLINK_VERSION "0.1"
#endif

struct command {
	const char *words;	/* "volume create" */
	const char *usage;	/* after "lunlinkctl " */
	int (*fn)(struct ctl *c);
};

static const struct command commands[] = {
	{ "ca init", "ca init", ctl_ca_init },
	{ "token create", "token create [--role node|host|admin] [--ttl DURATION]",
	  ctl_token_create },
	{ "node list", "node list", ctl_node_list },
	{ "node show", "node show NAME", ctl_node_show },
	{ "node remove", "node remove NAME", ctl_node_remove },
	{ "area add", "area add NODE PATH [--size SIZE]", ctl_area_add },
	{ "area list", "area list", ctl_area_list },
	{ "area remove", "area remove NODE ID", ctl_area_remove },
	{ "volume create", "volume create NAME --way single|doubled|integrated|divided "
	  "--size SIZE [--copies N] [--on NODE,...]", ctl_volume_create },
	{ "volume list", "volume list", ctl_volume_list },
	{ "volume show", "volume show NAME", ctl_volume_show },
	{ "volume delete", "volume delete NAME", ctl_volume_delete },
	{ "volume resize", "volume resize NAME --size SIZE", ctl_volume_resize },
	{ "volume pr", "volume pr NAME|VOLUME-ID", ctl_volume_pr },
	{ "volume switchover", "volume switchover NAME --to NODE", ctl_volume_switchover },
	{ "lend", "lend VOLUME --to IQN", ctl_lend },
	{ "return", "return VOLUME", ctl_return },
	{ "host list", "host list", ctl_host_list },
	{ "host show", "host show NAME", ctl_host_show },
	{ "link", "link VOLUME --to HOST [--timeout SECONDS] [--verbose]", ctl_link },
	{ "unlink", "unlink VOLUME [--force] [--timeout SECONDS] [--verbose]", ctl_unlink },
	{ "status", "status", ctl_status },
	{ "events", "events [--follow] [--since REV]", ctl_events },
	{ "store migrate", "store migrate FROM TO", ctl_store_migrate },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs("usage: lunlinkctl [GLOBAL OPTION]... COMMAND [ARG]...\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "       lunlinkctl %s\n", commands[i].usage);
	fputs("\nTalk to the lunlink policy manager: its nodes, areas and volumes.\n\n"
	      "global options (anywhere on the line):\n"
	      "  --json              print the API's JSON as it comes, instead of tables\n"
	      "  --socket PATH       the manager's Unix socket (default: the configuration's\n"
	      "                      socket, " PCF_SOCKET ")\n"
	      "  --url https://HOST:PORT  talk TLS to a manager elsewhere (several managers:\n"
	      "                      a list apart by commas; the leader is found), with:\n"
	      "  --cert FILE --key FILE   an admin certificate and its key\n"
	      "  --ca FILE           the cluster CA's certificate (default: STATE_DIR/ca.crt)\n"
	      "  -c, --config FILE   the configuration (default " PCF_FILE ")\n"
	      "  -h, --help          this text\n"
	      "  --version           the version\n\n"
	      "Exit status: 0 done, 1 refused or unreachable, 2 bad usage.\n"
	      "See lunlinkctl(8).\n", f);
}

static int vreport(const struct ctl *c, const char *fmt, va_list ap)
{
	fprintf(stderr, "lunlinkctl: ");
	if (c->cmd)
		fprintf(stderr, "%s: ", c->cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return 0;
}

int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, fmt, ap);
	va_end(ap);
	if (c->usage)
		fprintf(stderr, "usage: lunlinkctl %s\n", c->usage);
	else
		fprintf(stderr, "usage: lunlinkctl [GLOBAL OPTION]... COMMAND [ARG]... "
			"(lunlinkctl --help lists them)\n");
	return CTL_USAGE;
}

int ctl_fail(const struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, fmt, ap);
	va_end(ap);
	return CTL_FAIL;
}

int ctl_check_name(const struct ctl *c, const char *what, const char *s)
{
	if (pjr_name_valid(s, strlen(s)))
		return CTL_OK;
	return ctl_usage_error(c, "%s '%s' is not a name: 1 to %d letters, digits, '.', '_' or '-'",
			       what, s, PJR_NAME_MAX);
}

int ctl_parse(struct ctl *c, struct ctl_opt *opts, size_t want_min, size_t want_max)
{
	const char *words[CTL_ARGS_MAX];
	struct ctl_opt *o;
	size_t n = 0, len;
	const char *a;

	for (size_t i = 0; i < c->nargs; i++) {
		a = c->args[i];
		if (a[0] != '-' || !a[1]) {
			words[n++] = a;
			continue;
		}
		for (o = opts; o && o->name; o++) {
			len = strlen(o->name);
			if (!strncmp(a, o->name, len) && (!a[len] || (a[len] == '=' && o->has_value)))
				break;
		}
		if (!o || !o->name)
			return ctl_usage_error(c, "unknown option %s", a);
		if (!o->has_value) {
			o->value = "";
		} else if (a[strlen(o->name)] == '=') {
			o->value = a + strlen(o->name) + 1;
		} else if (i + 1 < c->nargs) {
			o->value = c->args[++i];
		} else {
			return ctl_usage_error(c, "%s needs a value", a);
		}
	}
	if (n < want_min)
		return ctl_usage_error(c, "too few arguments");
	if (n > want_max)
		return ctl_usage_error(c, "unexpected argument '%s'", words[want_max]);
	memcpy(c->args, words, n * sizeof(words[0]));
	c->nargs = n;
	return CTL_OK;
}

const char *ctl_api_url(const struct ctl *c)
{
	static char buf[PATH_MAX + 8];

	if (c->url)
		return c->url;
	snprintf(buf, sizeof(buf), "unix:%s", c->socket ? c->socket : c->conf.socket);
	return buf;
}

struct pa_client *ctl_client(struct ctl *c)
{
	struct pa_client_opts o = { .url = ctl_api_url(c), .timeout_ms = 60000 };
	struct pa_client *cl;
	char err[1024];

	o.files.ca_file = c->ca ? c->ca : c->ca_default;
	o.files.cert_file = c->cert;
	o.files.key_file = c->key;
	cl = pa_client_new(&o, err, sizeof(err));
	if (!cl)
		ctl_fail(c, "%s", err);
	return cl;
}

int ctl_call(struct ctl *c, const char *method, const char *path, json_object *body,
	     json_object **reply)
{
	json_object *e, *f, *m;
	struct pa_client *cl;
	char err[1024];
	long status = 0;
	int rc = CTL_OK;

	*reply = NULL;
	cl = ctl_client(c);
	if (!cl) {
		rc = CTL_FAIL;
		goto out;
	}
	if (pa_client_call(cl, method, path, body, reply, &status, err, sizeof(err))) {
		/* the server's own words: "size: must be ...", not "HTTP 400: ..." */
		if (*reply && json_object_object_get_ex(*reply, "error", &e) &&
		    json_object_object_get_ex(e, "field", &f) &&
		    json_object_object_get_ex(e, "message", &m))
			rc = ctl_fail(c, "%s: %s", json_object_get_string(f), json_object_get_string(m));
		else
			rc = ctl_fail(c, "%s", err);
		json_object_put(*reply);
		*reply = NULL;
	}
out:
	pa_client_free(cl);
	json_object_put(body);
	return rc;
}

/* Global options, wherever they are; the rest stays in order in rest. */
static int take_globals(struct ctl *c, int argc, char **argv, const char **rest, size_t *nrest)
{
	/* the options that take a value, and where each goes */
	static const char *const valued[] = {
		"--socket", "--url", "--cert", "--key", "--ca", "--config", "-c",
	};
	const char **targets[] = { &c->socket, &c->url, &c->cert, &c->key, &c->ca,
				   &c->conf_path, &c->conf_path };
	bool words_only = false;
	size_t len;
	int i;

	*nrest = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k;

		if (words_only || a[0] != '-') {
			if (*nrest == CTL_ARGS_MAX)
				return ctl_usage_error(c, "too many arguments");
			rest[(*nrest)++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			words_only = true;
			continue;
		}
		if (!strcmp(a, "--json")) {
			c->json = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(CTL_OK);
		}
		if (!strcmp(a, "--version")) {
			printf("lunlinkctl %s\n", LUNLINK_VERSION);
			exit(CTL_OK);
		}
		for (k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
			len = strlen(valued[k]);
			if (!strncmp(a, valued[k], len) && (!a[len] || (a[len] == '=' && len > 2)))
				break;
		}
		if (k == sizeof(valued) / sizeof(valued[0])) {
			/* a command's own option: the command parses it */
			if (*nrest == CTL_ARGS_MAX)
				return ctl_usage_error(c, "too many arguments");
			rest[(*nrest)++] = a;
			continue;
		}
		if (a[len] == '=') {
			*targets[k] = a + len + 1;
		} else if (i + 1 < argc) {
			*targets[k] = argv[++i];
		} else {
			return ctl_usage_error(c, "%s needs a value", a);
		}
	}
	return CTL_OK;
}

int main(int argc, char **argv)
{
	struct ctl c = { 0 };
	const char *rest[CTL_ARGS_MAX];
	const struct command *cmd = NULL;
	size_t nrest, used = 0;
	char err[1024];
	int rc;

	if ((rc = take_globals(&c, argc, argv, rest, &nrest)))
		return rc;
	pcf_defaults(&c.conf);
	if (pcf_load(&c.conf, c.conf_path ? c.conf_path : PCF_FILE, c.conf_path != NULL, err,
		     sizeof(err)))
		return ctl_usage_error(&c, "%s", err);
	pcf_state_path(&c.conf, "ca.crt", c.ca_default, sizeof(c.ca_default));
	if (c.url) {
		struct pu_list l;

		if (pu_split(c.url, &l, err, sizeof(err)))
			return ctl_usage_error(&c, "--url '%s': %s", c.url, err);
		for (size_t i = 0; i < l.n; i++)
			if (strncmp(l.url[i], "https://", 8) || !l.url[i][8])
				return ctl_usage_error(&c, "--url %s: the manager's API is "
						       "https://HOST:PORT, or several managers' "
						       "apart by commas (or use --socket PATH on its "
						       "host)", l.url[i]);
	}
	if (c.url && (!c.cert || !c.key))
		return ctl_usage_error(&c, "--url needs an admin certificate: --cert FILE --key FILE");
	if (!c.url && (c.cert || c.key || c.ca))
		return ctl_usage_error(&c, "--cert, --key and --ca go with --url https://HOST:PORT");
	if (!nrest) {
		usage(stderr);
		return CTL_USAGE;
	}
	/* the longest command whose words start the line */
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *w = commands[i].words, *sp = strchr(w, ' ');
		size_t n = sp ? 2 : 1;

		if (n > nrest || n < used)
			continue;
		if (sp ? (strlen(rest[0]) == (size_t)(sp - w) && !strncmp(rest[0], w, (size_t)(sp - w)) &&
			  !strcmp(rest[1], sp + 1)) : !strcmp(rest[0], w)) {
			cmd = &commands[i];
			used = n;
		}
	}
	if (!cmd) {
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (!strncmp(commands[i].words, rest[0], strlen(rest[0])) &&
			    commands[i].words[strlen(rest[0])] == ' ') {
				c.cmd = rest[0];
				fprintf(stderr, "lunlinkctl: %s: %s%s\n", rest[0],
					nrest > 1 ? "unknown subcommand " : "a subcommand is needed",
					nrest > 1 ? rest[1] : "");
				for (size_t j = 0; j < NCOMMANDS; j++)
					if (!strncmp(commands[j].words, rest[0], strlen(rest[0])) &&
					    commands[j].words[strlen(rest[0])] == ' ')
						fprintf(stderr, "usage: lunlinkctl %s\n", commands[j].usage);
				return CTL_USAGE;
			}
		return ctl_usage_error(&c, "unknown command '%s'", rest[0]);
	}
	c.cmd = cmd->words;
	c.usage = cmd->usage;
	c.nargs = nrest - used;
	memcpy(c.args, rest + used, c.nargs * sizeof(rest[0]));
	return cmd->fn(&c);
}
