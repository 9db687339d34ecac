// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * report.h: saying what changed, three ways: log lines (the daemon), text
 * for people and JSON for programs (lunlink-rescan).  The JSON shape, one
 * object on one line:
 *
 *   {"sessions":[{"session":1,"host":2,"target":"iqn...","portal":"a:p"}],
 *    "logins":[{"target":"iqn...","portal":"a:p","result":"done"|"already"|"failed","error":"..."}],
 *    "changes":[{"change":"new"|"resized"|"removed"|"kept","session":1,
 *                "hctl":"2:0:0:3","device":"/dev/sdc"|null,"wwid":"naa..."|null,
 *                "size":2147483648,"old_size":1073741824 (resized only),
 *                "reason":"..." (removed, kept)}],
 *    "errors":["..."]}
 */
#ifndef LUNLINK_RESCAND_REPORT_H
#define LUNLINK_RESCAND_REPORT_H

#include <stdio.h>

#include "discover.h"
#include "reconcile.h"
#include "sysfs.h"

struct rd_report {
	const struct rd_session *sessions;
	size_t nsessions;
	const struct rd_login *logins;
	size_t nlogins;
	const struct rd_changes *changes;
	const char *const *errors;	/* errors outside any session */
	size_t nerrors;
};

void rd_changes_log(const struct rd_changes *c, size_t from, const struct rd_session *s);
void rd_report_text(FILE *f, const struct rd_report *r);
void rd_report_json(FILE *f, const struct rd_report *r);

/* "1.50 GiB" */
const char *rd_size_human(uint64_t bytes, char buf[32]);

#endif
