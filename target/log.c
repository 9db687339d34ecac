// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * log.c: lunlink's messages, through tgtd's logger.
 *
 * A tgtd running as a daemon hands each message to syslog through a
 * 256-byte slot (MAX_MSG_SIZE in tgt's log.h) and cuts the rest: exactly
 * the part of a long message that says what to do.  So a long message is
 * split at spaces into lines that fit, each continuation marked.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lunlink.h"

#define LL_LOG_LINE	200	/* bytes of text per line, well under 256 */

void ll_log(const char *fmt, ...)
{
	char buf[4096];
	const char *p = buf;
	size_t len;
	va_list ap;
	int first = 1;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
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
		log_error("%s%.*s\n", first ? "" : "lunlink: ... ", (int)n, p);
		first = 0;
		p += n;
		while (*p == ' ')
			p++;
	}
}
