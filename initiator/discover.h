// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * discover.h: `lunlink-rescan --discover PORTAL`: SendTargets discovery
 * and login through open-iscsi's own iscsiadm (so iscsid's node database
 * stays the one truth), never a login of a target already logged in.
 *
 *   iscsiadm -m discovery -t st -p PORTAL
 *   iscsiadm -m node -T TARGET -p PORTAL --login
 *
 * iscsiadm's path is a setting (tests give a fake one); each run is
 * bounded by a timeout, then killed.
 */
#ifndef LUNLINK_RESCAND_DISCOVER_H
#define LUNLINK_RESCAND_DISCOVER_H

#include <stddef.h>

#include "sysfs.h"

struct rd_found {
	char portal[80];		/* "10.0.0.1:3260", no ",TPGT" */
	char target[RD_TARGET_LEN];
};

enum rd_login_result { RD_LOGIN_DONE, RD_LOGIN_ALREADY, RD_LOGIN_FAILED };

struct rd_login {
	struct rd_found t;
	enum rd_login_result result;
	char why[512];			/* FAILED: iscsiadm's words */
};

/* Parse `iscsiadm -m discovery -t st` output ("PORTAL,TPGT TARGET" lines).
 * Lines that are not records are skipped.  Returns how many records. */
size_t rd_discovery_parse(const char *text, struct rd_found *out, size_t max);

/* Discover at portal and log in to what is not logged in yet (sessions
 * is the current list).  *logins gets one entry per target found.
 * 0, or -1 with err when discovery itself failed. */
int rd_discover_login(const char *iscsiadm, unsigned int timeout_s, const char *portal,
		      const struct rd_session *sessions, size_t nsessions,
		      struct rd_login **logins, size_t *nlogins, char *err, size_t errlen);

/* Run argv (argv[0] looked up in PATH) with stdin from /dev/null; its
 * stdout and stderr together in out (cut at outlen); at most timeout_s
 * seconds, then killed.  The exit status, 128+signal, or -1 with err. */
int rd_run(char *const argv[], unsigned int timeout_s, char *out, size_t outlen,
	   char *err, size_t errlen);

#endif
