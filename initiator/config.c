// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config.c: reading lunlink-rescand.conf with libconfig (see config.h).
 * Each setting is described once in a table: its name, its type, where
 * it goes and its bounds; the reader walks the file's settings against
 * the table, so an unknown or misspelt name is an error, not ignored.
 */
#include "config.h"
#include "lunlink/config_file.h"
#include "lunlink/errmsg.h"
#include "log.h"
/* policy/urls.h (the build adds policy/ after initiator/ for this file):
 * the list of managers cut as the node agent and lunlinkctl cut theirs */
#include "urls.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(RD_MGR_URL_MAX >= PU_URLS_MAX * (PU_URL_MAX + 2),
	       "manager.url holds a whole list of managers");

void rd_config_defaults(struct rd_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->sysfs, "/sys");
	strcpy(c->dev, "/dev");
	strcpy(c->mountinfo, "/proc/self/mountinfo");
	strcpy(c->iscsiadm, "iscsiadm");
	c->log = RD_LOGTO_AUTO;
	c->log_level = LOG_INFO;
	c->hold_ms = 2000;
	c->hold_max_ms = 10000;
	c->max_parallel = 4;
	c->periodic_s = 0;
	c->iscsiadm_timeout_s = 120;
	c->host_scan = true;
	c->rescan_existing = true;
	c->remove_stale = true;
	c->remove_wwid_changed = true;
	c->async_messages = true;
	c->mgr.join_port = 7701;
	strcpy(c->mgr.ca, "/var/lib/lunlink/ca.crt");
	strcpy(c->mgr.cert, "/var/lib/lunlink/host.crt");
	strcpy(c->mgr.key, "/var/lib/lunlink/host.key");
	strcpy(c->mgr.initiator_file, "/etc/iscsi/initiatorname.iscsi");
	c->mgr.heartbeat_interval = 2;
	c->mgr.poll_wait_s = 30;
	strcpy(c->mgr.dmsetup, "dmsetup");
	c->mgr.replacement_timeout = 5;
	c->mgr.map_queue_timeout = 60;
}

enum kind { K_PATH, K_UINT, K_BOOL, K_LOG, K_LEVEL, K_GROUP };

struct setting {
	const char *name;
	enum kind kind;
	size_t off;
	unsigned int min, max;
};

#define OFF(f) offsetof(struct rd_config, f)

static const struct setting settings[] = {
	{ "sysfs", K_PATH, OFF(sysfs), 0, 0 },
	{ "dev", K_PATH, OFF(dev), 0, 0 },
	{ "mountinfo", K_PATH, OFF(mountinfo), 0, 0 },
	{ "iscsiadm", K_PATH, OFF(iscsiadm), 0, 0 },
	{ "pidfile", K_PATH, OFF(pidfile), 0, 0 },
	{ "log", K_LOG, OFF(log), 0, 0 },
	{ "log_level", K_LEVEL, OFF(log_level), 0, 0 },
	{ "hold_ms", K_UINT, OFF(hold_ms), 0, 600000 },
	{ "hold_max_ms", K_UINT, OFF(hold_max_ms), 0, 3600000 },
	{ "max_parallel", K_UINT, OFF(max_parallel), 1, 64 },
	{ "periodic_check_s", K_UINT, OFF(periodic_s), 0, 86400 },
	{ "iscsiadm_timeout_s", K_UINT, OFF(iscsiadm_timeout_s), 1, 3600 },
	{ "host_scan", K_BOOL, OFF(host_scan), 0, 0 },
	{ "rescan_existing", K_BOOL, OFF(rescan_existing), 0, 0 },
	{ "remove_stale", K_BOOL, OFF(remove_stale), 0, 0 },
	{ "remove_wwid_changed", K_BOOL, OFF(remove_wwid_changed), 0, 0 },
	{ "async_messages", K_BOOL, OFF(async_messages), 0, 0 },
	{ "manager", K_GROUP, OFF(mgr), 0, 0 },
};

/* ---- the `manager` group: a table of its own, for the same reasons ---- */

enum mkind { M_STR, M_UINT };

struct msetting {
	const char *name;
	enum mkind kind;
	size_t off, size;
	unsigned int min, max;
};

#define MOFF(f) offsetof(struct rd_mgr_config, f), sizeof(((struct rd_mgr_config *)0)->f)

static const struct msetting msettings[] = {
	{ "url", M_STR, MOFF(url), 0, 0 },
	{ "join_port", M_UINT, MOFF(join_port), 1, 65535 },
	{ "ca", M_STR, MOFF(ca), 0, 0 },
	{ "cert", M_STR, MOFF(cert), 0, 0 },
	{ "key", M_STR, MOFF(key), 0, 0 },
	{ "initiator_file", M_STR, MOFF(initiator_file), 0, 0 },
	{ "host_name", M_STR, MOFF(host_name), 0, 0 },
	{ "heartbeat_interval", M_UINT, MOFF(heartbeat_interval), 1, 60 },
	{ "poll_wait_s", M_UINT, MOFF(poll_wait_s), 1, 300 },
	{ "dmsetup", M_STR, MOFF(dmsetup), 0, 0 },
	{ "replacement_timeout", M_UINT, MOFF(replacement_timeout), 1, 600 },
	/* bounded: a map that queues for ever hangs its file system's
	 * writers for ever when no node comes back */
	{ "map_queue_timeout", M_UINT, MOFF(map_queue_timeout), 10, 86400 },
};

/* manager.url: one manager, or a list (urls.h), each "https://HOST:PORT";
 * the one at fault is named by its place in a list. */
static int check_urls(const char *path, const char *s, char *err, size_t errlen)
{
	struct pu_list *l = malloc(sizeof(*l));
	char why[PU_URL_MAX + 128], host[PU_URL_MAX + 1];
	int rc = -1;

	if (!l)
		return ll_fail(err, errlen, "out of memory");
	if (pu_split(s, l, why, sizeof(why))) {
		ll_fail(err, errlen, "%s: manager.url: %s (a list takes at most %d "
			"\"https://HOST:PORT\", apart by commas or blanks)", path, why, PU_URLS_MAX);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (pu_url_host(l->url[i], host, sizeof(host), why, sizeof(why))) {
			if (l->n == 1)
				ll_fail(err, errlen, "%s: manager.url = %s", path, why);
			else
				ll_fail(err, errlen, "%s: manager.url: manager %zu of %zu, %s", path,
					i + 1, l->n, why);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(l->url[i], l->url[j])) {
				ll_fail(err, errlen, "%s: manager.url: %s is given twice", path,
					l->url[i]);
				goto out;
			}
	}
	rc = 0;
out:
	free(l);
	return rc;
}

static int apply_manager(struct rd_mgr_config *m, const char *path, config_setting_t *grp,
			 char *err, size_t errlen)
{
	config_setting_t *st;

	if (!config_setting_is_group(grp))
		return ll_fail(err, errlen, "%s:%d: manager must be a group: manager = { url = "
			       "\"https://HOST:PORT\"; ... };", path, config_setting_source_line(grp));
	for (int i = 0; (st = config_setting_get_elem(grp, (unsigned int)i)); i++) {
		const char *name = config_setting_name(st);
		int line = config_setting_source_line(st), type = config_setting_type(st), v;
		const struct msetting *d = NULL;
		char *field;

		for (size_t j = 0; j < sizeof(msettings) / sizeof(msettings[0]); j++)
			if (name && !strcmp(name, msettings[j].name))
				d = &msettings[j];
		if (!d)
			return ll_fail(err, errlen, "%s:%d: unknown setting 'manager.%s'", path, line,
				       name ? name : "(unnamed)");
		field = (char *)m + d->off;
		if (d->kind == M_STR) {
			const char *s;

			if (type != CONFIG_TYPE_STRING)
				return ll_fail(err, errlen, "%s:%d: manager.%s must be a string in "
					       "double quotes", path, line, name);
			s = config_setting_get_string(st);
			if (strlen(s) >= d->size)
				return ll_fail(err, errlen, "%s:%d: manager.%s is too long", path, line,
					       name);
			strcpy(field, s);
			continue;
		}
		if (type != CONFIG_TYPE_INT)
			return ll_fail(err, errlen, "%s:%d: manager.%s must be a whole number", path,
				       line, name);
		v = config_setting_get_int(st);
		if (v < 0 || (unsigned int)v < d->min || (unsigned int)v > d->max)
			return ll_fail(err, errlen, "%s:%d: manager.%s = %d is out of range (%u to %u)",
				       path, line, name, v, d->min, d->max);
		*(unsigned int *)(void *)field = (unsigned int)v;
	}
	return m->url[0] ? check_urls(path, m->url, err, errlen) : 0;
}

static int apply(struct rd_config *c, const char *path, config_setting_t *st,
		 char *err, size_t errlen)
{
	const char *name = config_setting_name(st);
	int line = config_setting_source_line(st);
	const struct setting *d = NULL;
	char *field;
	const char *s;
	int type = config_setting_type(st), v;

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (name && !strcmp(name, settings[i].name))
			d = &settings[i];
	/* Not aliases: the debounce delayed the first scan of a burst, which
	 * now runs at once; what is left of it is the hold, after a run. */
	if (!d && name && (!strcmp(name, "debounce_ms") || !strcmp(name, "debounce_max_ms")))
		return ll_fail(err, errlen, "%s:%d: %s is gone: lunlink-rescand now acts on the first "
			       "event of a burst at once; set %s instead", path, line, name,
			       strcmp(name, "debounce_ms") ?
			       "hold_max_ms (the longest a follow-up waits)" :
			       "hold_ms (how long after a run later events are gathered into "
			       "one follow-up)");
	if (!d)
		return ll_fail(err, errlen, "%s:%d: unknown setting '%s'", path, line,
			    name ? name : "(unnamed)");
	field = (char *)c + d->off;
	switch (d->kind) {
	case K_GROUP:
		return apply_manager(&c->mgr, path, st, err, errlen);
	case K_PATH:
	case K_LOG:
	case K_LEVEL:
		if (type != CONFIG_TYPE_STRING)
			return ll_fail(err, errlen, "%s:%d: %s must be a string in double quotes",
				    path, line, name);
		s = config_setting_get_string(st);
		if (d->kind == K_PATH) {
			if (strlen(s) >= PATH_MAX)
				return ll_fail(err, errlen, "%s:%d: %s is too long", path, line, name);
			strcpy(field, s);
		} else if (d->kind == K_LOG) {
			if (!strcmp(s, "auto"))
				c->log = RD_LOGTO_AUTO;
			else if (!strcmp(s, "stderr"))
				c->log = RD_LOGTO_STDERR;
			else if (!strcmp(s, "syslog"))
				c->log = RD_LOGTO_SYSLOG;
			else
				return ll_fail(err, errlen,
					    "%s:%d: log = \"%s\": use \"auto\", \"stderr\" or \"syslog\"",
					    path, line, s);
		} else {
			if ((v = rd_log_level_parse(s)) < 0)
				return ll_fail(err, errlen,
					    "%s:%d: log_level = \"%s\": use \"error\", \"warning\", "
					    "\"notice\", \"info\" or \"debug\"", path, line, s);
			c->log_level = v;
		}
		return 0;
	case K_UINT:
		if (type != CONFIG_TYPE_INT)
			return ll_fail(err, errlen, "%s:%d: %s must be a whole number", path, line, name);
		v = config_setting_get_int(st);
		if (v < 0 || (unsigned int)v < d->min || (unsigned int)v > d->max)
			return ll_fail(err, errlen, "%s:%d: %s = %d is out of range (%u to %u)", path,
				    line, name, v, d->min, d->max);
		*(unsigned int *)(void *)field = (unsigned int)v;
		return 0;
	case K_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			return ll_fail(err, errlen, "%s:%d: %s must be true or false", path, line, name);
		*(bool *)(void *)field = config_setting_get_bool(st);
		return 0;
	}
	return 0;
}

int rd_config_load(struct rd_config *c, const char *path, bool must_exist,
		   char *err, size_t errlen)
{
	config_setting_t *root, *st;
	config_t cf;
	int rc = ll_config_read(&cf, path, must_exist, err, errlen);

	if (rc) {
		rc = rc > 0 ? 0 : rc;
		goto out;
	}
	root = config_root_setting(&cf);
	for (int i = 0; (st = config_setting_get_elem(root, (unsigned int)i)); i++)
		if ((rc = apply(c, path, st, err, errlen)))
			break;
	if (!rc && c->hold_max_ms < c->hold_ms)
		rc = ll_fail(err, errlen, "%s: hold_max_ms (%u) is less than hold_ms (%u)",
			  path, c->hold_max_ms, c->hold_ms);
out:
	config_destroy(&cf);
	return rc;
}
