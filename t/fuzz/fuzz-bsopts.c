// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-bsopts.c: libFuzzer target for target/lib/bsopts.c.  Each input, made a
 * C string, goes to ll_bsopts_parse, ll_parse_size and ll_update_parse;
 * any broken invariant aborts.  `make fuzz` runs it under libFuzzer with
 * ASan and UBSan; t/fuzz/replay.c replays the corpus without clang.
 *
 * Invariants: parsed options are within their documented ranges (a lease's
 * epoch and validity too, and its generation the hex given) and their
 * format re-parses to the same options; a size agrees with an independent
 * reference parser (overflow included); a refusal leaves a non-empty,
 * NUL-terminated message in the buffer given, however small, and leaves
 * the output of ll_parse_size untouched.
 */
#include "lunlink/bsopts.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

/* A refusal's message: non-empty (if there was room) and NUL-terminated. */
static void check_err(const char *err, size_t errlen)
{
	check(memchr(err, '\0', errlen) != NULL);
	if (errlen > 1)
		check(err[0] != '\0');
}

/* An err buffer of exactly errlen bytes on the heap, so ASan sees overruns. */
static char *err_buf(size_t errlen)
{
	char *e = malloc(errlen);

	check(e != NULL);
	memset(e, 0x7f, errlen);
	return e;
}

static bool same_opts(const struct ll_bsopts *a, const struct ll_bsopts *b)
{
	unsigned int i;

	if (a->io != b->io || a->threads != b->threads || a->queue_depth != b->queue_depth ||
	    a->thin != b->thin || a->nlegs != b->nlegs || a->nextents != b->nextents ||
	    a->window != b->window || a->resync_rate != b->resync_rate ||
	    a->leg_timeout != b->leg_timeout || a->lease != b->lease ||
	    a->lease_loss != b->lease_loss)
		return false;
	if (a->window && (a->window_offset != b->window_offset ||
			  a->window_length != b->window_length))
		return false;
	for (i = 0; i < a->nlegs; i++)
		if (strcmp(a->leg[i], b->leg[i]) || a->leg_set[i] != b->leg_set[i])
			return false;
	for (i = 0; i < a->nextents; i++)
		if (strcmp(a->extent[i].path, b->extent[i].path) ||
		    a->extent[i].offset != b->extent[i].offset ||
		    a->extent[i].length != b->extent[i].length)
			return false;
	return true;
}

static void fuzz_bsopts(const char *s, size_t len, size_t small)
{
	struct ll_bsopts o, p;
	static char fmt[LL_MAX_LEG_OPTS * (LL_URL_MAX + 8) +
			LL_MAX_EXTENTS * (LL_EXTENT_PATH_MAX + 48) + 256];
	char err[256], *e;
	int rc, n;

	memset(err, 0x7f, sizeof(err));
	rc = ll_bsopts_parse(s, &o, err, sizeof(err));
	check(rc == 0 || rc == -1);
	if (len > LL_BSOPTS_MAX_LEN)
		check(rc == -1);
	if (rc) {
		check_err(err, sizeof(err));
		check(!strncmp(err, "bsopts: ", 8));
	} else {
		check(o.io == LL_IO_AUTO || o.io == LL_IO_URING || o.io == LL_IO_THREADS);
		check(o.threads >= 1 && o.threads <= LL_BSOPTS_THREADS_MAX);
		check(o.queue_depth >= 1 && o.queue_depth <= LL_BSOPTS_QD_MAX);
		n = ll_bsopts_format(&o, fmt, sizeof(fmt));
		check(n > 0 && (size_t)n < sizeof(fmt));
		check(strlen(fmt) == (size_t)n);
		/* the format re-parses to the same options (unless spelling the
		 * defaults and sizes out made it longer than an input may be) */
		if ((size_t)n <= LL_BSOPTS_MAX_LEN) {
			static char fmt2[sizeof(fmt)];

			memset(&p, 0x7f, sizeof(p));
			check(ll_bsopts_parse(fmt, &p, err, sizeof(err)) == 0);
			check(same_opts(&o, &p));
			/* formatting is a fixed point */
			ll_bsopts_format(&p, fmt2, sizeof(fmt2));
			check(!strcmp(fmt, fmt2));
		}
	}

	/* The same input with a small err buffer: same answer, no overrun. */
	e = err_buf(small);
	check(ll_bsopts_parse(s, &p, e, small) == rc);
	if (rc)
		check_err(e, small);
	else
		check(same_opts(&o, &p));
	free(e);
}

/* Reference size parser: [0-9]+ then nothing, B, or K|M|G|T|P then
 * nothing, B or iB.  1: good, 0: not a size, -1: too large. */
static int ref_size(const char *s, uint64_t *out)
{
	uint64_t n = 0;
	bool big = false;
	unsigned int shift = 0;
	const char *p = s;
	static const char suffixes[] = "kKmMgGtTpP";
	const char *c;

	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*p - '0'), &n))
			big = true;
	if (*p && (c = strchr(suffixes, *p))) {
		shift = 10 * (unsigned int)(1 + (c - suffixes) / 2);
		p++;
		if (!strcmp(p, "B") || !strcmp(p, "iB"))
			p += strlen(p);
	} else if (!strcmp(p, "B")) {
		p++;
	}
	if (*p)
		return big ? -1 : 0;	/* ll_parse_size says "too large" first */
	if (big || (shift && n > (UINT64_MAX >> shift)))
		return -1;
	*out = n << shift;
	return 1;
}

static void fuzz_size(const char *s, size_t small)
{
	uint64_t got = 0x5a5a5a5a5a5a5a5aULL, want = 0;
	char err[256], *e;
	int rc, ref;

	memset(err, 0x7f, sizeof(err));
	rc = ll_parse_size(s, &got, err, sizeof(err));
	ref = ref_size(s, &want);
	check(rc == 0 || rc == -1);
	if (ref == 1) {
		check(rc == 0);
		check(got == want);
	} else {
		check(rc == -1);
		check(got == 0x5a5a5a5a5a5a5a5aULL);
		check_err(err, sizeof(err));
		if (strlen(s) < 100)	/* a longer one may cut the message */
			check(strstr(err, ref < 0 ? "too large" : "not a size") != NULL);
	}

	e = err_buf(small);
	check(ll_parse_size(s, &got, e, small) == rc);
	if (rc)
		check_err(e, small);
	free(e);
}

static void fuzz_update(const char *s, size_t small)
{
	struct ll_update u;
	char err[256], *e;
	uint64_t size;
	int rc;

	memset(&u, 0, sizeof(u));
	memset(err, 0x7f, sizeof(err));
	rc = ll_update_parse(s, &u, err, sizeof(err));
	check(rc == 0 || rc == -1);
	if (rc) {
		check_err(err, sizeof(err));
	} else if (!strncmp(s, "resize=", 7)) {
		if (!strcmp(s + 7, "reread")) {
			check(u.kind == LL_UPDATE_RESIZE_REREAD);
		} else {
			check(u.kind == LL_UPDATE_RESIZE_TO);
			check(ll_parse_size(s + 7, &size, NULL, 0) == 0);
			check(u.size == size);
		}
	} else if (!strncmp(s, "fault=", 6)) {
		check(u.kind == LL_UPDATE_FAULT);
		check(u.fault == LL_FAULT_NONE || u.fault == LL_FAULT_READ ||
		      u.fault == LL_FAULT_WRITE || u.fault == LL_FAULT_BOTH ||
		      u.fault == LL_FAULT_SLOW_RESYNC || u.fault == LL_FAULT_WRITE_ALL ||
		      u.fault == LL_FAULT_META || u.fault == LL_FAULT_FLUSH);
	} else if (!strncmp(s, "forget=", 7)) {
		check(u.kind == LL_UPDATE_FORGET && u.copy_id);
		check(strlen(s + 7) == 16 && strspn(s + 7, "0123456789abcdefABCDEF") == 16);
		check(u.copy_id == strtoull(s + 7, NULL, 16));
	} else if (!strcmp(s, "lease=release")) {
		check(u.kind == LL_UPDATE_LEASE_RELEASE);
	} else if (!strncmp(s, "lease=", 6)) {
		/* EPOCH:VALID_MS or EPOCH:@DEADLINE_MS, plain decimals within
		 * their bounds, and :GENERATION if given, 16 hex digits that
		 * are gen_confirmed */
		const char *when = strchr(s + 6, ':'), *gen;
		size_t head;

		gen = when ? strchr(when + 1, ':') : NULL;
		head = gen ? (size_t)(gen - (s + 6)) : strlen(s + 6);
		check(u.kind == LL_UPDATE_LEASE);
		check(u.epoch >= 1 && u.epoch <= LL_LEASE_EPOCH_MAX);
		check(when && !u.has_deadline == (when[1] != '@'));
		if (u.has_deadline) {
			check(u.deadline_ms >= 1 && u.deadline_ms <= LL_LEASE_DEADLINE_MS_MAX);
			check(!u.valid_ms);
			check(u.deadline_ms == strtoull(when + 2, NULL, 10));
			check(strspn(when + 2, "0123456789") == head - (size_t)(when + 2 - (s + 6)));
		} else {
			check(u.valid_ms >= 1 && u.valid_ms <= LL_LEASE_VALID_MS_MAX);
			check(!u.deadline_ms);
			check(strspn(s + 6, "0123456789:") >= head);
		}
		check(!u.has_gen == !gen);
		if (gen) {
			check(strlen(gen + 1) == 16 &&
			      strspn(gen + 1, "0123456789abcdefABCDEF") == 16);
			check(u.gen_confirmed == strtoull(gen + 1, NULL, 16));
		}
	} else {
		/* the keys with one value each */
		check((!strcmp(s, "resolve=discard-leg") && u.kind == LL_UPDATE_RESOLVE_DISCARD_LEG) ||
		      (!strcmp(s, "verify=start") && u.kind == LL_UPDATE_VERIFY) ||
		      (!strcmp(s, "retry=legs") && u.kind == LL_UPDATE_RETRY_LEGS));
	}
	/* Only these are keys. */
	if (strncmp(s, "resize=", 7) && strncmp(s, "fault=", 6) && strncmp(s, "resolve=", 8) &&
	    strncmp(s, "verify=", 7) && strncmp(s, "retry=", 6) && strncmp(s, "forget=", 7) &&
	    strncmp(s, "lease=", 6))
		check(rc == -1);

	e = err_buf(small);
	check(ll_update_parse(s, &u, e, small) == rc);
	if (rc)
		check_err(e, small);
	free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t len, small;

	check(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);
	/* a small err buffer, 1..24 bytes, chosen by the input */
	small = 1 + (size ? data[size - 1] % 24 : 0);

	fuzz_bsopts(s, len, small);
	fuzz_size(s, small);
	fuzz_update(s, small);
	free(s);
	return 0;
}
