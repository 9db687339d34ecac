// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * log.h: lunlink-rescand's log, to stderr or to syslog (daemon facility),
 * with syslog's priorities.  One process-wide sink, set once at start;
 * scan workers (forked children) inherit it.
 */
#ifndef LUNLINK_RESCAND_LOG_H
#define LUNLINK_RESCAND_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum rd_log_sink { RD_LOG_STDERR, RD_LOG_SYSLOG };

/* ident: the program's name, shown in every line. level: the least
 * important priority still logged (LOG_DEBUG shows everything). */
void rd_log_open(const char *ident, enum rd_log_sink sink, int level);
void rd_log_close(void);

/* "debug", "info", "notice", "warning", "error": a priority, or -1. */
int rd_log_level_parse(const char *name);

void rd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rd_debug(...)	rd_log(LOG_DEBUG, __VA_ARGS__)
#define rd_info(...)	rd_log(LOG_INFO, __VA_ARGS__)
#define rd_notice(...)	rd_log(LOG_NOTICE, __VA_ARGS__)
#define rd_warn(...)	rd_log(LOG_WARNING, __VA_ARGS__)
#define rd_err(...)	rd_log(LOG_ERR, __VA_ARGS__)

#endif
