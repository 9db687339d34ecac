// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config.c: reading the `policy` part of lunlink.conf with libconfig (see
 * config.h).  libconfig parses the syntax; this file checks the values.
 * Each setting is one row of a table (its name, its kind, where it goes,
 * its bounds); the reader walks the file's settings against the table, so
 * an unknown name is an error, and a value is checked by its kind's one
 * function.  Messages are "FILE:LINE: policy.KEY: what is wrong".
 */
#include "config.h"
#include "json_req.h"
#include "ca.h"
#include "elect.h"	/* election_ttl's default and bounds */
#include "manager.h"	/* lease_ms's and pr_valid_ms's defaults and bounds */
#include "lunlink/config_file.h"
#include "lunlink/errmsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void pcf_defaults(struct pcf_config *c)
{
	char host[256] = "";

	memset(c, 0, sizeof(*c));
	strcpy(c->store, PCF_STORE);
	pcf_hostport_parse(PCF_LISTEN, NULL, &c->listen, NULL, 0);
	strcpy(c->join_listen.host, c->listen.host);
	c->join_listen.port = PCF_JOIN_PORT;
	strcpy(c->socket, PCF_SOCKET);
	strcpy(c->state_dir, PCF_STATE_DIR);
	/* the short host name; a name that is not a valid node name is left
	 * out, and the daemon then asks for node_name */
	if (!gethostname(host, sizeof(host) - 1)) {
		host[strcspn(host, ".")] = '\0';
		if (pjr_name_valid(host, strlen(host)))
			strcpy(c->node_name, host);
	}
	c->heartbeat_interval = 2;
	c->offline_after = 10;
	c->election_ttl = PE_TTL;
	c->lease_ms = PM_LEASE_MS;
	c->pr_valid_ms = PM_PR_VALID_MS;
	strcpy(c->pr_socket, PCF_PR_SOCKET);
	c->failover = true;
	strcpy(c->tgtadm, "tgtadm");
	strcpy(c->iqn_prefix, PCF_IQN_PREFIX);
}

/* ---- values ------------------------------------------------------------- */

static bool host_chars(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
			return false;
	return true;
}

/* A host name or an IPv4 address ([A-Za-z0-9.-]), or an IPv6 address. */
static int host_check(const char *h, bool v6, char *err, size_t errlen)
{
	unsigned char a[16];

	if (strlen(h) > PCF_HOST_MAX)
		return ll_fail(err, errlen, "the host name is longer than %d bytes", PCF_HOST_MAX);
	if (v6)
		return inet_pton(AF_INET6, h, a) == 1 ? 0 :
			ll_fail(err, errlen, "[%s] is not an IPv6 address", h);
	if (!host_chars(h) || h[0] == '-' || h[0] == '.')
		return ll_fail(err, errlen, "'%s' is neither a host name nor an address "
			       "(an IPv6 address goes in brackets: [::1]:7700)", h);
	return 0;
}

int pcf_hostport_parse(const char *s, const char *default_host, struct pcf_hostport *out,
		       char *err, size_t errlen)
{
	char host[PCF_HOST_MAX + 1], *end;
	const char *colon, *p;
	bool v6 = false;
	unsigned long port;
	size_t n;

	if (s[0] == '[') {
		p = strchr(s, ']');
		if (!p || p[1] != ':')
			return ll_fail(err, errlen, "'%s' must be [IPV6]:PORT", s);
		n = (size_t)(p - s - 1);
		colon = p + 1;
		v6 = true;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return ll_fail(err, errlen, "'%s' has no port: write ADDRESS:PORT", s);
		n = (size_t)(colon - s);
		if (memchr(s, ':', n))
			return ll_fail(err, errlen, "'%s': an IPv6 address goes in brackets: [::1]:7700", s);
	}
	if (n > PCF_HOST_MAX)
		return ll_fail(err, errlen, "the host name is longer than %d bytes", PCF_HOST_MAX);
	memcpy(host, s, n);
	host[n] = '\0';
	if (!n && !v6) {
		if (!default_host)
			return ll_fail(err, errlen, "':%s' has no address: write ADDRESS:PORT", colon + 1);
		snprintf(host, sizeof(host), "%s", default_host);
	}
	if (host_check(host, v6, err, errlen))
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port < 1 || port > 65535)
		return ll_fail(err, errlen, "the port '%s' is not a number from 1 to 65535", colon + 1);
	strcpy(out->host, host);
	out->port = (unsigned short)port;
	return 0;
}

const char *pcf_hostport_str(const struct pcf_hostport *hp, char *buf, size_t len)
{
	snprintf(buf, len, strchr(hp->host, ':') ? "[%s]:%u" : "%s:%u", hp->host, hp->port);
	return buf;
}

const char *pcf_state_path(const struct pcf_config *c, const char *what, char *buf, size_t len)
{
	if (!strcmp(what, "ca.crt") && c->manager)
		snprintf(buf, len, "%s/ca/ca.crt", c->state_dir);
	else
		snprintf(buf, len, "%s/%s", c->state_dir, what);
	return buf;
}

static int path_check(const char *s, bool absolute, char *err, size_t errlen)
{
	if (!*s)
		return ll_fail(err, errlen, "the path is empty");
	if (strlen(s) >= PATH_MAX)
		return ll_fail(err, errlen, "the path is longer than %d bytes", PATH_MAX - 1);
	if (absolute && s[0] != '/')
		return ll_fail(err, errlen, "'%s' is not an absolute path (it must start with /)", s);
	return 0;
}

static int store_check(const char *s, char *err, size_t errlen)
{
	/* etcd's endpoint and options are checked when it is opened */
	if (!strncmp(s, "etcd://", 7) || !strncmp(s, "etcds://", 8))
		return s[strlen(s) - 1] == '/' || !strchr(s + 7, ':') ?
		       ll_fail(err, errlen, "'%s': an etcd store is etcd://HOST:PORT or "
			       "etcds://HOST:PORT?ca=FILE[&cert=FILE&key=FILE]", s) : 0;
	if (strncmp(s, "sqlite:", 7))
		return ll_fail(err, errlen, "'%s' is not a store this build knows: "
			       "write \"sqlite:/var/lib/lunlink/policy.db\" or "
			       "\"etcd://HOST:PORT\"", s);
	return path_check(s + 7, true, err, errlen);
}

static int url_check(const char *s, char *err, size_t errlen)
{
	struct pcf_hostport hp;
	char rest[PCF_URL_MAX + 1];
	size_t n;

	if (strncmp(s, "unix:", 5) == 0)
		return ll_fail(err, errlen, "'%s': the agents reach the manager over https://HOST:PORT, "
			       "not a Unix socket", s);
	if (strncmp(s, "https://", 8))
		return ll_fail(err, errlen, "'%s' must be https://HOST:PORT (the manager's API)", s);
	n = strlen(s + 8);
	if (n > PCF_URL_MAX)
		return ll_fail(err, errlen, "the URL is longer than %d bytes", PCF_URL_MAX);
	memcpy(rest, s + 8, n + 1);
	if (n && rest[n - 1] == '/')
		rest[n - 1] = '\0';
	return pcf_hostport_parse(rest, NULL, &hp, err, errlen);
}

/* One or several managers' URLs (urls.h), each checked, the one at
 * fault named by its place in a list. */
static int urls_check(const char *s, char *err, size_t errlen)
{
	struct pu_list *l = malloc(sizeof(*l));
	char why[512];
	int rc = -1;

	if (!l)
		return ll_fail(err, errlen, "out of memory");
	if (pu_split(s, l, why, sizeof(why))) {
		ll_fail(err, errlen, "%s (a list takes at most %d https://HOST:PORT, apart by "
			"commas or blanks)", why, PU_URLS_MAX);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (url_check(l->url[i], why, sizeof(why))) {
			if (l->n == 1)
				ll_fail(err, errlen, "%s", why);
			else
				ll_fail(err, errlen, "manager %zu of %zu: %s", i + 1, l->n, why);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(l->url[i], l->url[j])) {
				ll_fail(err, errlen, "%s is given twice", l->url[i]);
				goto out;
			}
	}
	rc = 0;
out:
	free(l);
	return rc;
}

/* "iqn.YYYY-MM.reversed.domain[:more]", in iSCSI name characters. */
static int iqn_check(const char *s, char *err, size_t errlen)
{
	const char *p;

	if (strncmp(s, "iqn.", 4) || strlen(s) < 12 || s[8] != '-' || s[11] != '.')
		return ll_fail(err, errlen, "'%s' is not an iSCSI name prefix like "
			       "\"iqn.2026-11.org.example\"", s);
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == ':'))
			return ll_fail(err, errlen, "'%s' has '%c': an iSCSI name takes lower-case "
				       "letters, digits, '.', '-' and ':'", s, *p);
	return 0;
}

static int group_check(const char *s, char *err, size_t errlen)
{
	if (!*s || strlen(s) > 32 || !host_chars(s) || s[0] == '-')
		return ll_fail(err, errlen, "'%s' is not a group name", s);
	return 0;
}

/* ---- the table ----------------------------------------------------------- */

enum kind {
	K_BOOL, K_UINT, K_PATH, K_ABSPATH, K_STORE, K_HOSTPORT, K_JOINPORT, K_URL, K_NAME,
	K_HOST, K_GROUP, K_IQN, K_TOKEN, K_PORTALS, K_AREAS,
};

struct setting {
	const char *name;
	enum kind kind;
	size_t off, size;
	unsigned int min, max;
};

#define F(f) offsetof(struct pcf_config, f), sizeof(((struct pcf_config *)0)->f)

static const struct setting settings[] = {
	{ "manager", K_BOOL, F(manager), 0, 0 },
	{ "store", K_STORE, F(store), 0, 0 },
	{ "listen", K_HOSTPORT, F(listen), 0, 0 },
	{ "join_listen", K_JOINPORT, F(join_listen), 0, 0 },
	{ "socket", K_ABSPATH, F(socket), 0, 0 },
	{ "socket_group", K_GROUP, F(socket_group), 0, 0 },
	{ "state_dir", K_ABSPATH, F(state_dir), 0, 0 },
	{ "agent_state_dir", K_ABSPATH, F(agent_state_dir), 0, 0 },
	{ "manager_url", K_URL, F(manager_url), 0, 0 },
	{ "join_token", K_TOKEN, F(join_token), 0, 0 },
	{ "node_name", K_NAME, F(node_name), 0, 0 },
	{ "address", K_HOST, F(address), 0, 0 },
	{ "portals", K_PORTALS, F(portals), 0, 0 },
	{ "areas", K_AREAS, F(areas), 0, 0 },
	{ "heartbeat_interval", K_UINT, F(heartbeat_interval), 1, 3600 },
	{ "offline_after", K_UINT, F(offline_after), 2, 86400 },
	{ "lease_ms", K_UINT, F(lease_ms), PM_LEASE_MS_MIN, PM_LEASE_MS_MAX },
	{ "pr_valid_ms", K_UINT, F(pr_valid_ms), PM_PR_VALID_MS_MIN, PM_PR_VALID_MS_MAX },
	{ "pr_socket", K_ABSPATH, F(pr_socket), 0, 0 },
	{ "failover", K_BOOL, F(failover), 0, 0 },
	{ "election_ttl", K_UINT, F(election_ttl), PE_TTL_MIN, PE_TTL_MAX },
	{ "tgtadm", K_PATH, F(tgtadm), 0, 0 },
	{ "tgt_control_port", K_UINT, F(tgt_control_port), 0, 65535 },
	{ "iqn_prefix", K_IQN, F(iqn_prefix), 0, 0 },
};

/* Where a message is: "FILE:LINE: policy.KEY" */
struct at {
	const char *file;
	unsigned int line;
	const char *key;
	char *err;
	size_t errlen;
};

static int fail_at(const struct at *a, const char *why)
{
	return ll_fail(a->err, a->errlen, "%s:%u: policy.%s: %s", a->file, a->line, a->key, why);
}

static const char *want_string(config_setting_t *st, const struct at *a)
{
	if (config_setting_type(st) != CONFIG_TYPE_STRING) {
		fail_at(a, "must be a string in double quotes");
		return NULL;
	}
	return config_setting_get_string(st);
}

static int size_of(config_setting_t *st, const struct at *a, uint64_t *out)
{
	struct pjr_err e;
	const char *s;
	long long v;

	switch (config_setting_type(st)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(st);
		if (v < 0)
			return fail_at(a, "a size cannot be negative");
		*out = (uint64_t)v;
		return 0;
	case CONFIG_TYPE_STRING:
		s = config_setting_get_string(st);
		if (pjr_size_parse(s, strlen(s), "size", out, &e))
			return fail_at(a, "must be a size like \"500G\": digits with an optional "
				       "K, M, G or T");
		return 0;
	default:
		return fail_at(a, "must be a size like \"500G\" or a number of bytes");
	}
}

static int read_portals(struct pcf_config *c, config_setting_t *st, struct at *a)
{
	char why[256];
	config_setting_t *el;
	const char *s;
	int n;

	if (!config_setting_is_array(st) && !config_setting_is_list(st))
		return fail_at(a, "must be a list of \"ADDRESS:PORT\" strings in [ ]");
	n = config_setting_length(st);
	if (n > PCF_PORTALS_MAX) {
		snprintf(why, sizeof(why), "at most %d portals", PCF_PORTALS_MAX);
		return fail_at(a, why);
	}
	c->nportals = 0;
	for (int i = 0; i < n; i++) {
		el = config_setting_get_elem(st, (unsigned int)i);
		a->line = config_setting_source_line(el) ? config_setting_source_line(el) : a->line;
		if (!(s = want_string(el, a)))
			return -1;
		if (pcf_hostport_parse(s, NULL, &c->portals[c->nportals], why, sizeof(why)))
			return fail_at(a, why);
		c->nportals++;
	}
	return 0;
}

static int read_areas(struct pcf_config *c, config_setting_t *st, struct at *a)
{
	char why[256], key[64];
	config_setting_t *el, *f;
	struct pcf_area *ar;
	const char *s, *name;
	int n, m;

	if (!config_setting_is_list(st))
		return fail_at(a, "must be a list of groups: ( { path = \"/srv/lunlink\"; "
			       "size = \"500G\"; } )");
	n = config_setting_length(st);
	if (n > PCF_AREAS_MAX) {
		snprintf(why, sizeof(why), "at most %d areas", PCF_AREAS_MAX);
		return fail_at(a, why);
	}
	c->nareas = 0;
	for (int i = 0; i < n; i++) {
		el = config_setting_get_elem(st, (unsigned int)i);
		ar = &c->areas[c->nareas];
		memset(ar, 0, sizeof(*ar));
		a->line = config_setting_source_line(el) ? config_setting_source_line(el) : a->line;
		snprintf(key, sizeof(key), "areas[%d]", i);
		a->key = key;
		if (!config_setting_is_group(el))
			return fail_at(a, "must be a group { path = \"...\"; size = \"...\"; }");
		m = config_setting_length(el);
		for (int j = 0; j < m; j++) {
			f = config_setting_get_elem(el, (unsigned int)j);
			name = config_setting_name(f);
			a->line = config_setting_source_line(f);
			snprintf(key, sizeof(key), "areas[%d].%s", i, name ? name : "?");
			if (name && !strcmp(name, "path")) {
				if (!(s = want_string(f, a)))
					return -1;
				if (path_check(s, true, why, sizeof(why)))
					return fail_at(a, why);
				strcpy(ar->path, s);
			} else if (name && !strcmp(name, "size")) {
				if (size_of(f, a, &ar->size))
					return -1;
			} else {
				return fail_at(a, "unknown setting of an area (an area has path and size)");
			}
		}
		snprintf(key, sizeof(key), "areas[%d]", i);
		if (!ar->path[0])
			return fail_at(a, "an area needs a path");
		for (size_t k = 0; k < c->nareas; k++)
			if (!strcmp(c->areas[k].path, ar->path))
				return fail_at(a, "the same path is given twice");
		c->nareas++;
	}
	return 0;
}

static int apply(struct pcf_config *c, config_setting_t *st, struct at *a)
{
	const struct setting *d = NULL;
	char why[512];
	void *field;
	const char *s;
	long long v;
	int r = 0;

	a->key = config_setting_name(st) ? config_setting_name(st) : "?";
	a->line = config_setting_source_line(st);
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (!strcmp(a->key, settings[i].name))
			d = &settings[i];
	if (!d)
		return fail_at(a, "unknown setting (see lunlink-policyd(8) for the settings)");
	field = (char *)c + d->off;
	switch (d->kind) {
	case K_BOOL:
		if (config_setting_type(st) != CONFIG_TYPE_BOOL)
			return fail_at(a, "must be true or false");
		*(bool *)field = config_setting_get_bool(st);
		return 0;
	case K_UINT:
		if (config_setting_type(st) != CONFIG_TYPE_INT &&
		    config_setting_type(st) != CONFIG_TYPE_INT64)
			return fail_at(a, "must be a whole number");
		v = config_setting_get_int64(st);
		if (v < d->min || v > d->max) {
			snprintf(why, sizeof(why), "%lld is out of range (%u to %u)", v, d->min, d->max);
			return fail_at(a, why);
		}
		*(unsigned int *)field = (unsigned int)v;
		return 0;
	case K_PORTALS:
		return read_portals(c, st, a);
	case K_AREAS:
		return read_areas(c, st, a);
	default:
		break;
	}
	if (!(s = want_string(st, a)))
		return -1;
	why[0] = '\0';
	switch (d->kind) {
	case K_PATH:
		r = path_check(s, false, why, sizeof(why));
		break;
	case K_ABSPATH:
		r = path_check(s, true, why, sizeof(why));
		break;
	case K_STORE:
		r = store_check(s, why, sizeof(why));
		break;
	case K_HOSTPORT:
		return pcf_hostport_parse(s, NULL, field, why, sizeof(why)) ? fail_at(a, why) : 0;
	case K_JOINPORT:
		c->join_listen_set = true;
		return pcf_hostport_parse(s, NULL, field, why, sizeof(why)) ? fail_at(a, why) : 0;
	case K_URL:
		r = *s ? urls_check(s, why, sizeof(why)) : 0;
		break;
	case K_NAME:
		if (!pjr_name_valid(s, strlen(s)))
			r = ll_fail(why, sizeof(why), "'%s' is not a name: 1 to %d letters, digits, "
				    "'.', '_' or '-', starting with a letter or digit", s, PJR_NAME_MAX);
		break;
	case K_HOST:
		r = *s ? host_check(s, strchr(s, ':') != NULL, why, sizeof(why)) : 0;
		break;
	case K_GROUP:
		r = *s ? group_check(s, why, sizeof(why)) : 0;
		break;
	case K_IQN:
		r = iqn_check(s, why, sizeof(why));
		break;
	case K_TOKEN: {
		char id[PCA_TOKEN_ID_LEN + 1];

		if (*s && (strlen(s) != PCA_TOKEN_LEN || pca_token_id(s, id)))
			r = ll_fail(why, sizeof(why), "not a join token (XXXXXXXX.YYYY..., as "
				    "`lunlinkctl token create --role node` prints it)");
		break;
	}
	default:
		break;
	}
	if (r)
		return fail_at(a, why);
	if (strlen(s) >= d->size)
		return fail_at(a, "is too long");
	strcpy(field, s);
	return 0;
}

static int load(struct pcf_config *c, config_t *cf, const char *name, char *err, size_t errlen)
{
	config_setting_t *root, *part, *st;
	struct at a = { .file = name, .err = err, .errlen = errlen };
	const char *top;

	root = config_root_setting(cf);
	/* the file is shared by lunlink's programs: each reads its own part;
	 * a top-level name no program knows is a typo */
	for (int i = 0; (st = config_setting_get_elem(root, (unsigned int)i)); i++) {
		top = config_setting_name(st);
		if (!top || strcmp(top, "policy"))
			return ll_fail(err, errlen, "%s:%u: unknown part '%s' (the policy daemon's "
				       "settings go in policy = { ... };)", name,
				       config_setting_source_line(st), top ? top : "?");
	}
	part = config_setting_get_member(root, "policy");
	if (!part)
		return 0;
	if (!config_setting_is_group(part))
		return ll_fail(err, errlen, "%s:%u: policy must be a group: policy = { ... };", name,
			       config_setting_source_line(part));
	for (int i = 0; (st = config_setting_get_elem(part, (unsigned int)i)); i++)
		if (apply(c, st, &a))
			return -1;
	if (!c->join_listen_set)
		strcpy(c->join_listen.host, c->listen.host);
	if (c->offline_after <= c->heartbeat_interval)
		return ll_fail(err, errlen, "%s: policy.offline_after (%u) must be longer than "
			       "policy.heartbeat_interval (%u)", name, c->offline_after,
			       c->heartbeat_interval);
	return 0;
}

int pcf_load(struct pcf_config *c, const char *path, bool must_exist, char *err, size_t errlen)
{
	config_t cf;
	int rc = ll_config_read(&cf, path, must_exist, err, errlen);

	if (!rc)
		rc = load(c, &cf, path, err, errlen);
	else if (rc > 0)
		rc = 0;
	config_destroy(&cf);
	return rc;
}

int pcf_load_string(struct pcf_config *c, const char *text, const char *name, char *err,
		    size_t errlen)
{
	config_t cf;
	int rc;

	/* an in-memory text has no folder to include from: refuse, rather
	 * than read files relative to wherever we run */
	if (strstr(text, "@include"))
		return ll_fail(err, errlen, "%s: @include is not taken here", name);
	config_init(&cf);
	if (!config_read_string(&cf, text)) {
		rc = ll_fail(err, errlen, "%s:%d: %s", name, config_error_line(&cf),
			     config_error_text(&cf));
		goto out;
	}
	rc = load(c, &cf, name, err, errlen);
out:
	config_destroy(&cf);
	return rc;
}

int pcf_mkdirs(const char *path, unsigned int mode, char *err, size_t errlen)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return ll_fail(err, errlen, "the path %s is too long", path);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, mode) && errno != EEXIST)
				return ll_fail(err, errlen, "cannot make the folder %s: %s", buf,
					       strerror(errno));
			if (!c)
				break;
			*p = c;
		}
	}
	return 0;
}

int pcf_role(struct pcf_config *c, enum pcf_role role, const char *name, char *err,
	     size_t errlen)
{
	if (role == PCF_ROLE_MANAGER) {
		if (!c->manager)
			return ll_fail(err, errlen, "--role manager: %s does not make this host the "
				       "manager (policy.manager is not true); set `manager = true;` "
				       "in its policy group, or run --role agent", name);
		c->manager_url[0] = '\0';
		c->join_token[0] = '\0';
	} else if (role == PCF_ROLE_AGENT) {
		if (!c->manager_url[0])
			return ll_fail(err, errlen, "--role agent: %s sets no policy.manager_url, the "
				       "manager's \"https://HOST:PORT\" (or several managers') the "
				       "agent reports to; set it in its policy group", name);
		c->manager = false;
	}
	/* the agent alone: its files apart from the manager's, which belong to
	 * another user when both run on one host */
	if (!c->manager && c->agent_state_dir[0])
		snprintf(c->state_dir, sizeof(c->state_dir), "%s", c->agent_state_dir);
	return 0;
}

int pcf_check(const struct pcf_config *c, const char *name, char *err, size_t errlen)
{
	if (!c->manager && !c->manager_url[0])
		return ll_fail(err, errlen, "%s: neither policy.manager = true nor policy.manager_url: "
			       "this daemon would have nothing to do; set one", name);
	if (c->manager_url[0] && !c->node_name[0])
		return ll_fail(err, errlen, "%s: this host's name is not a valid node name: set "
			       "policy.node_name", name);
	if (c->manager && c->listen.port == c->join_listen.port &&
	    !strcmp(c->listen.host, c->join_listen.host))
		return ll_fail(err, errlen, "%s: policy.listen and policy.join_listen are the same "
			       "address; the join port must be its own", name);
	if (c->manager && pcf_store_elected(c) && !c->address[0])
		return ll_fail(err, errlen, "%s: policy.store is etcd, where managers elect one "
			       "leader and the others send clients to it: set policy.address, the "
			       "address they reach this manager at", name);
	return 0;
}

bool pcf_store_elected(const struct pcf_config *c)
{
	return !strncmp(c->store, "etcd://", 7) || !strncmp(c->store, "etcds://", 8);
}
