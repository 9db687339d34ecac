/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * errmsg.h: the one way lunlink's parsers refuse input: a one-line reason
 * into the caller's buffer (err, errlen; either may be absent), and -1.
 */
#ifndef LUNLINK_ERRMSG_H
#define LUNLINK_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int ll_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int ll_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

#endif
