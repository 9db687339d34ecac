/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h: lunlink's messages through tgtd's logger (see log.c). */
#ifndef LUNLINK_LOG_H
#define LUNLINK_LOG_H

/*
 * The levels: an error is something that failed (a refused LUN, a failed
 * I/O, a leg dropped), a warning something that works less well than asked
 * (a fallback, a degraded mirror going on), info what lunlink did (a LUN
 * served, a resync finished).  Errors and warnings carry their level in the
 * text ("lunlink: error: ..."), so that they stand out where tgtd prints
 * to stderr as well as in syslog.
 */
enum ll_log_level { LL_LOG_ERROR, LL_LOG_WARNING, LL_LOG_INFO };

void ll_log(enum ll_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
