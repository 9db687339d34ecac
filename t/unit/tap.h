// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tap.h: a tiny TAP producer for lunlink's C unit tests, read by prove.
 *
 *   ok(cond, "name %d", i);            plain truth
 *   is_int(got, want, "name");         integers (long long), shown on failure
 *   is_u64(got, want, "name");         uint64_t
 *   is_str(got, want, "name");         strings (NULL allowed)
 *   like(got, substring, "name");      strstr(got, substring) != NULL
 *   diag("fmt", ...);                  a "# ..." comment line
 *   return done_testing();             prints "1..N"; nonzero if any failed
 *
 * Each check prints "ok N - name" or "not ok N - name" and, on failure, "#"
 * lines giving the file:line, what was expected and what was got.  Header
 * only: include it once per test program.
 */
#ifndef LUNLINK_TAP_H
#define LUNLINK_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned int tap_count, tap_failed;

static void tap_vline(bool pass, const char *fmt, va_list ap)
{
	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%sok %u - ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

static __attribute__((format(printf, 1, 2), unused))
void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static __attribute__((format(printf, 4, 5), unused))
bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("  failed at %s:%d", file, line);
	return pass;
}

static __attribute__((format(printf, 5, 6), unused))
bool tap_is_int(long long got, long long want, const char *file, int line,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		diag("  failed at %s:%d\n#   expected: %lld\n#        got: %lld",
		     file, line, want, got);
	return got == want;
}

static __attribute__((format(printf, 5, 6), unused))
bool tap_is_u64(uint64_t got, uint64_t want, const char *file, int line,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		diag("  failed at %s:%d\n#   expected: %" PRIu64 "\n#        got: %" PRIu64,
		     file, line, want, got);
	return got == want;
}

static __attribute__((format(printf, 5, 6), unused))
bool tap_is_str(const char *got, const char *want, const char *file, int line,
		const char *fmt, ...)
{
	bool pass = got && want ? !strcmp(got, want) : got == want;
	va_list ap;

	va_start(ap, fmt);
	tap_vline(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("  failed at %s:%d\n#   expected: '%s'\n#        got: '%s'", file, line,
		     want ? want : "(null)", got ? got : "(null)");
	return pass;
}

static __attribute__((format(printf, 5, 6), unused))
bool tap_like(const char *got, const char *sub, const char *file, int line,
	      const char *fmt, ...)
{
	bool pass = got && strstr(got, sub);
	va_list ap;

	va_start(ap, fmt);
	tap_vline(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("  failed at %s:%d\n#   expected to contain: '%s'\n#                   got: '%s'",
		     file, line, sub, got ? got : "(null)");
	return pass;
}

#define ok(cond, ...)	tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_u64(got, want, ...) \
	tap_is_u64((uint64_t)(got), (uint64_t)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...)	tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define like(got, sub, ...)	tap_like((got), (sub), __FILE__, __LINE__, __VA_ARGS__)

/* The plan, last; the exit status for main: 0, or how many failed (<= 254). */
static __attribute__((unused)) int done_testing(void)
{
	printf("1..%u\n", tap_count);
	if (tap_failed)
		diag("failed %u of %u tests", tap_failed, tap_count);
	fflush(stdout);
	return tap_failed > 254 ? 254 : (int)tap_failed;
}

#endif
