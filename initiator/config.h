// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config.h: lunlink-rescand's settings, from a libconfig file
 * (/etc/lunlink/lunlink-rescand.conf; conf/lunlink-rescand.conf is the
 * commented sample), then the command line over it.  Unknown settings and
 * values of the wrong type or out of range are refused with file:line.
 */
#ifndef LUNLINK_RESCAND_CONFIG_H
#define LUNLINK_RESCAND_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define RD_CONFIG_FILE	"/etc/lunlink/lunlink-rescand.conf"

enum rd_log_choice { RD_LOGTO_AUTO, RD_LOGTO_STDERR, RD_LOGTO_SYSLOG };

/* manager.url: up to 8 managers' URLs (policy/urls.h's PU_URLS_MAX) of
 * up to 511 bytes (PU_URL_MAX) with their separators; config.c checks
 * the bound against urls.h's */
#define RD_MGR_URL_MAX	4112

/* The `manager` group: the optional connection to the policy manager
 * (doc/link.md, manager.h).  No url: no connection, the daemon as before. */
struct rd_mgr_config {
	char url[RD_MGR_URL_MAX];	/* "https://HOST:PORT", the API, or several
					 * managers' (one leads, the others send
					 * the host to it: doc/policy.md) */
	unsigned int join_port;		/* the manager's join port (7701) */
	char ca[PATH_MAX];		/* the cluster CA's certificate */
	char cert[PATH_MAX];		/* this host's, made by --join */
	char key[PATH_MAX];
	char initiator_file[PATH_MAX];	/* open-iscsi's initiatorname.iscsi */
	char host_name[256];		/* "" : gethostname() */
	unsigned int heartbeat_interval;	/* seconds between reports */
	unsigned int poll_wait_s;	/* the long poll of the desired links */
	/* links of volumes that can move (a map each: mpath.h) */
	char dmsetup[PATH_MAX];		/* "dmsetup" */
	unsigned int replacement_timeout;	/* their sessions' recovery timeout, s (5) */
	unsigned int map_queue_timeout;	/* queue_if_no_path_timeout_secs (60) */
};

struct rd_config {
	char sysfs[PATH_MAX];
	char dev[PATH_MAX];
	char mountinfo[PATH_MAX];
	char iscsiadm[PATH_MAX];
	char pidfile[PATH_MAX];
	enum rd_log_choice log;
	int log_level;			/* a syslog priority */
	unsigned int hold_ms;		/* after a run starts, gather later events
					 * this long (and quiet) into one follow-up */
	unsigned int hold_max_ms;	/* a follow-up never waits longer */
	unsigned int max_parallel;	/* jobs at once, all hosts */
	unsigned int periodic_s;	/* REPORT LUNS check; 0 = off */
	unsigned int iscsiadm_timeout_s;
	bool host_scan;
	bool rescan_existing;
	bool remove_stale;
	bool remove_wwid_changed;
	bool async_messages;		/* hear iscsid's netlink group (Async Messages) */
	struct rd_mgr_config mgr;	/* the `manager` group */
};

void rd_config_defaults(struct rd_config *c);

/* Read path over c.  A missing file is an error only if must_exist (the
 * default file may be absent).  0, or -1 with the reason in err. */
int rd_config_load(struct rd_config *c, const char *path, bool must_exist,
		   char *err, size_t errlen);

#endif
