// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-json.c: unit test of policy/json_req.c, the bounded readers of
 * the API's request bodies: each refusal names its field and status, each
 * bound holds at its edge.
 */
#include "json_req.h"
#include "tap.h"

#include <stdlib.h>

static json_object *parse(const char *s, struct pjr_err *e)
{
	json_object *o = NULL;

	memset(e, 0, sizeof(*e));
	pjr_parse(s, strlen(s), &o, e);
	return o;
}

static void test_parse(void)
{
	struct pjr_err e;
	json_object *o;
	char *big;

	o = parse("{\"a\":1} \n", &e);
	ok(o, "an object with trailing white space parses");
	json_object_put(o);
	ok(!parse("{\"a\":1} x", &e), "data after the object is refused");
	is_str(e.field, "body", "... naming the body");
	is_int(e.status, 400, "... with 400");
	ok(!parse("[1,2]", &e), "an array is refused");
	like(e.message, "must be a JSON object", "... saying an object is expected");
	ok(!parse("{\"a\":", &e), "a truncated body is refused");
	like(e.message, "ends too early", "... saying so");
	/* json-c 0.16 takes 'a' and NaN even in strict mode; no field reader
	 * accepts a double, so NaN is refused where a number is read */
	o = parse("{\"a\":NaN}", &e);
	ok(o && pjr_int(o, "a", true, 0, 10, &(int64_t){ 0 }, &e) < 0, "NaN is not an integer");
	json_object_put(o);
	ok(!parse("{\"a\":\"\xff\"}", &e), "invalid UTF-8 is refused");
	ok(!parse("", &e), "an empty body is refused");
	ok(!parse("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", &e),
	   "nesting deeper than the bound is refused");
	big = malloc(PJR_MAX_BODY + 2);
	memset(big, ' ', PJR_MAX_BODY + 1);
	big[0] = '{';
	big[PJR_MAX_BODY - 1] = '}';
	big[PJR_MAX_BODY + 1] = '\0';
	o = NULL;
	memset(&e, 0, sizeof(e));
	ok(pjr_parse(big, PJR_MAX_BODY, &o, &e) == 0, "a body of exactly the bound parses");
	json_object_put(o);
	ok(pjr_parse(big, PJR_MAX_BODY + 1, &o, &e) < 0, "one byte more is refused");
	is_int(e.status, 413, "... with 413");
	free(big);
}

static void test_fields(void)
{
	static const char *const allowed[] = { "name", "size", "count", "note", "flag", NULL };
	struct pjr_err e;
	json_object *o = parse("{\"name\":\"db-1.x_y\",\"size\":\"10G\",\"count\":7,"
			       "\"note\":\"h\\u00e9llo\",\"flag\":true,\"nul\":\"a\\u0000b\","
			       "\"num\":\"12\",\"neg\":-1,\"empty\":\"\",\"huge\":99999999999999999999}", &e);
	const char *s;
	int64_t i = 0;
	uint64_t u = 0;
	bool b = false;

	ok(o, "the fields' object parses");
	ok(pjr_only(o, allowed, &e) < 0, "an unknown field is refused");
	is_str(e.field, "nul", "... naming it");
	ok(pjr_string(o, "name", true, PJR_NAME_MAX, PJR_NAME, &s, &e) == 0 && !strcmp(s, "db-1.x_y"),
	   "a good name is read");
	ok(pjr_string(o, "name", true, 3, PJR_NAME, &s, &e) < 0, "a name over its length is refused");
	is_str(e.field, "name", "... naming the field");
	like(e.message, "more than the 3 allowed", "... and the bound");
	ok(pjr_string(o, "note", true, 100, PJR_NAME, &s, &e) < 0, "UTF-8 in a name is refused");
	ok(pjr_string(o, "note", true, 100, PJR_TEXT, &s, &e) == 0, "... but is fine in text");
	ok(pjr_string(o, "nul", true, 100, PJR_TEXT, &s, &e) < 0, "a NUL inside a string is refused");
	ok(pjr_string(o, "missing", true, 10, PJR_NAME, &s, &e) < 0, "a missing required string is refused");
	like(e.message, "missing required field 'missing'", "... saying so");
	ok(pjr_string(o, "empty", false, 10, PJR_NAME, &s, &e) < 0,
	   "an empty optional name is refused, not taken as a name");
	ok(pjr_string(o, "missing", false, 10, PJR_NAME, &s, &e) == 0 && !s,
	   "a missing optional string is NULL");
	ok(pjr_string(o, "count", true, 10, PJR_NAME, &s, &e) < 0, "a number for a string is refused");
	like(e.message, "must be a string, not int", "... naming both types");
	ok(pjr_int(o, "count", true, 1, 10, &i, &e) == 0 && i == 7, "an int in range is read");
	ok(pjr_int(o, "count", true, 8, 10, &i, &e) < 0, "an int under its range is refused");
	like(e.message, "between 8 and 10", "... giving the range");
	ok(pjr_int(o, "num", true, 0, 100, &i, &e) < 0, "a string for an int is not converted");
	ok(pjr_int(o, "huge", true, 0, INT64_MAX, &i, &e) < 0, "an int beyond int64 is refused");
	ok(pjr_bool(o, "flag", true, &b, &e) == 0 && b, "a boolean is read");
	ok(pjr_size(o, "size", true, 1, UINT64_MAX, &u, &e) == 0 && u == 10ULL << 30,
	   "\"10G\" is 10 GiB");
	ok(pjr_size(o, "count", true, 1, UINT64_MAX, &u, &e) == 0 && u == 7, "an integer size is bytes");
	ok(pjr_size(o, "neg", true, 0, UINT64_MAX, &u, &e) < 0, "a negative size is refused");
	ok(pjr_size(o, "size", true, 1, 1ULL << 30, &u, &e) < 0, "a size over its bound is refused");
	is_str(e.field, "size", "... naming the field");
	json_object_put(o);
}

static void test_arrays(void)
{
	struct pjr_err e;
	json_object *o = parse("{\"hosts\":[\"10.0.0.1\",\"::1\",\"a.example\"],"
			       "\"bad\":[\"ok\",\"a b\"],\"num\":[1]}", &e);
	const char *out[4];

	ok(pjr_string_array(o, "hosts", true, 3, 253, PJR_HOST, out, &e) == 0 &&
	   !strcmp(out[1], "::1") && !out[3], "an array of host names is read");
	ok(pjr_string_array(o, "hosts", true, 2, 253, PJR_HOST, out, &e) < 0,
	   "more items than allowed are refused");
	ok(pjr_string_array(o, "bad", true, 3, 253, PJR_HOST, out, &e) < 0, "a bad item is refused");
	is_str(e.field, "bad[1]", "... naming the item");
	ok(pjr_string_array(o, "num", true, 3, 253, PJR_HOST, out, &e) < 0, "a number item is refused");
	ok(pjr_string_array(o, "none", false, 3, 253, PJR_HOST, out, &e) == 0 && !out[0],
	   "an absent optional array is empty");
	json_object_put(o);
}

static void test_size_grammar(void)
{
	static const struct { const char *s; int ok; uint64_t v; } cases[] = {
		{ "0", 1, 0 }, { "512", 1, 512 }, { "4k", 1, 4096 }, { "1KiB", 1, 1024 },
		{ "3M", 1, 3ULL << 20 }, { "2T", 1, 2ULL << 40 }, { "16777215T", 1, 16777215ULL << 40 },
		{ "16777216T", 0, 0 }, { "18446744073709551615", 1, UINT64_MAX },
		{ "18446744073709551616", 0, 0 }, { "", 0, 0 }, { "G", 0, 0 }, { "1X", 0, 0 },
		{ "1GB", 0, 0 }, { "1Gi", 0, 0 }, { "-1", 0, 0 }, { " 1", 0, 0 }, { "1 ", 0, 0 },
		{ "000000000000000000001", 0, 0 },
	};
	struct pjr_err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int r = pjr_size_parse(cases[i].s, strlen(cases[i].s), "size", &v, &e);

		ok(cases[i].ok ? r == 0 && v == cases[i].v : r < 0, "size '%s' %s", cases[i].s,
		   cases[i].ok ? "parses" : "is refused");
	}
}

static void test_names(void)
{
	char long_name[PJR_NAME_MAX + 2];

	ok(pjr_name_valid("a", 1), "one letter is a name");
	ok(!pjr_name_valid("-a", 2), "a name may not start with '-'");
	ok(!pjr_name_valid("a/b", 3), "'/' is not in names");
	ok(!pjr_name_valid("", 0), "the empty string is not a name");
	memset(long_name, 'a', sizeof(long_name));
	ok(pjr_name_valid(long_name, PJR_NAME_MAX), "a name of the maximum length");
	ok(!pjr_name_valid(long_name, PJR_NAME_MAX + 1), "one byte longer is refused");
}

int main(void)
{
	test_parse();
	test_fields();
	test_arrays();
	test_size_grammar();
	test_names();
	return done_testing();
}
