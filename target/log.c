// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * log.c: lunlink's messages, through tgtd's logger.
 *
 * A tgtd running as a daemon hands each message to syslog through a
 * 256-byte slot (MAX_MSG_SIZE in tgt's log.h) and cuts the rest: exactly
 * the part of a long message that says what to do.  So a long message is
 * split at spaces into lines that fit, each continuation marked.
 *
 * tgt's logger has two priorities a module can use, LOG_ERR and
 * LOG_WARNING (its debug messages appear only with tgtd -d): errors go out
 * at the first, warnings and info at the second, and the text says which
 * ("lunlink: error: ", "lunlink: warning: ", "lunlink: " for info).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lunlink.h"

#define LL_LOG_LINE	200	/* bytes of text per line, well under 256 */

void ll_log(enum ll_log_level level, const char *fmt, ...)
{
	static const char *const tag[] = {
		[LL_LOG_ERROR] = "error: ", [LL_LOG_WARNING] = "warning: ", [LL_LOG_INFO] = "",
	};
	char buf[4096];
	const char *p = buf;
	size_t len;
	va_list ap;
	int first = 1;

	size_t pre = (size_t)snprintf(buf, sizeof(buf), "lunlink: %s", tag[level]);

	va_start(ap, fmt);
	vsnprintf(buf + pre, sizeof(buf) - pre, fmt, ap);
	va_end(ap);
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';

	while (*p) {
		size_t n = strlen(p);

		if (n > LL_LOG_LINE) {
			n = LL_LOG_LINE;
			while (n > LL_LOG_LINE / 2 && p[n] != ' ')
				n--;
			if (p[n] != ' ')
				n = LL_LOG_LINE;
		}
		if (level == LL_LOG_ERROR)
			log_error("%s%.*s\n", first ? "" : "lunlink: ... ", (int)n, p);
		else
			log_warning("%s%.*s\n", first ? "" : "lunlink: ... ", (int)n, p);
		first = 0;
		p += n;
		while (*p == ' ')
			p++;
	}
}
