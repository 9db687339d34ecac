// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * log.c: the log sink of lunlink-rescand and lunlink-rescan.  stderr lines
 * are "IDENT: LEVEL: message" written with one write(2) each, so lines of a
 * parent and its scan workers never interleave mid-line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_ident = "lunlink-rescand";
static enum rd_log_sink log_sink = RD_LOG_STDERR;
static int log_level = LOG_INFO;

static const struct {
	const char *name;
	int prio;
} levels[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

void rd_log_open(const char *ident, enum rd_log_sink sink, int level)
{
	log_ident = ident;
	log_sink = sink;
	log_level = level;
	if (sink == RD_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void rd_log_close(void)
{
	if (log_sink == RD_LOG_SYSLOG)
		closelog();
}

int rd_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(name, levels[i].name))
			return levels[i].prio;
	return -1;
}

static const char *level_name(int prio)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].prio == prio)
			return levels[i].name;
	return prio < LOG_ERR ? "error" : "info";
}

void rd_log(int prio, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n, m;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	if (log_sink == RD_LOG_SYSLOG) {
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	n = snprintf(line, sizeof(line), "%s: %s: ", log_ident, level_name(prio));
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;	/* a cut line still ends the line */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to say it */
	}
}
