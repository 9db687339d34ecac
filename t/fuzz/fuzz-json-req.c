// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-json-req.c: libFuzzer target for policy/json_req.c, the bounded
 * readers every policy API request body goes through.  `make fuzz` runs
 * it under libFuzzer; t/fuzz/replay.c replays t/fuzz/corpus/json-req
 * without clang (t/t0105-fuzz-json-req-corpus.sh).
 *
 * The input is a request body.  Invariants: pjr_parse gives an object or
 * a refusal naming "body" with 400/413, never both; every field reader
 * either succeeds with a value inside its bounds (names valid, strings no
 * longer than asked, no control bytes in text) or fails naming exactly the
 * field it was asked for, with status 400; and the size grammar alone,
 * over the raw input, gives a value that prints back to a string it
 * parses to the same value.
 */
#include "json_req.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static void check_refusal(int r, const struct pjr_err *e, const char *field)
{
	if (r == 0)
		return;
	check(r == -1);
	check(e->status == 400);
	check(!strcmp(e->field, field));
	check(e->message[0] != '\0');
}

static void check_fields(json_object *o)
{
	static const char *const fields[] = { "name", "size", "count", "text", "pem", "flag" };
	struct pjr_err e;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *f = fields[i], *s;
		int64_t n = -7;
		uint64_t u = 7;
		bool b;
		int r;

		memset(&e, 0, sizeof(e));
		r = pjr_string(o, f, i % 2, PJR_NAME_MAX, PJR_NAME, &s, &e);
		check_refusal(r, &e, f);
		if (r == 0 && s)
			check(pjr_name_valid(s, strlen(s)));
		r = pjr_string(o, f, false, 20, PJR_TEXT, &s, &e);
		check_refusal(r, &e, f);
		if (r == 0 && s) {
			check(strlen(s) <= 20);
			for (const char *p = s; *p; p++)
				check((unsigned char)*p >= 0x20 && *p != 0x7f);
		}
		r = pjr_int(o, f, true, -5, 1000, &n, &e);
		check_refusal(r, &e, f);
		if (r == 0)
			check(n >= -5 && n <= 1000);
		r = pjr_size(o, f, false, 512, 1ULL << 50, &u, &e);
		check_refusal(r, &e, f);
		check(u == 7 || (u >= 512 && u <= 1ULL << 50));
		r = pjr_bool(o, f, true, &b, &e);
		check_refusal(r, &e, f);
	}
}

static void check_size_grammar(const uint8_t *data, size_t size)
{
	struct pjr_err e = { 0 };
	uint64_t v, again;
	char buf[32];

	if (pjr_size_parse((const char *)data, size, "size", &v, &e)) {
		check(!strcmp(e.field, "size") && e.status == 400);
		return;
	}
	check(size >= 1 && size <= 23);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	check(pjr_size_parse(buf, strlen(buf), "size", &again, &e) == 0 && again == v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pjr_err e = { 0 };
	json_object *o = NULL;
	int r = pjr_parse((const char *)data, size, &o, &e);

	if (r == 0) {
		check(o && json_object_is_type(o, json_type_object));
		check_fields(o);
		json_object_put(o);
	} else {
		check(r == -1 && !o);
		check(!strcmp(e.field, "body"));
		check(e.status == (size > PJR_MAX_BODY ? 413 : 400));
	}
	check_size_grammar(data, size);
	return 0;
}
