// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * json_req.c: bounded extraction of request fields from json-c objects
 * (see json_req.h).  The checks are deliberately strict and explicit: a
 * field of the wrong type is an error, not converted (json-c would turn
 * "12" into 12 and 1.9 into 1); a string with a NUL inside is refused
 * (json-c keeps "\u0000", C string functions would cut it short).
 */
#include "json_req.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int pjr_fail(struct pjr_err *e, int status, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->status = status;
	snprintf(e->field, sizeof(e->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

int pjr_parse(const char *buf, size_t len, json_object **out, struct pjr_err *e)
{
	struct json_tokener *tok = NULL;
	json_object *obj = NULL;
	enum json_tokener_error jerr;

	*out = NULL;
	if (len > PJR_MAX_BODY) {
		pjr_fail(e, 413, "body", "the request body is %zu bytes, more than the %d allowed",
			 len, PJR_MAX_BODY);
		goto err;
	}
	if (len == 0) {
		pjr_fail(e, 400, "body", "the request body is empty; a JSON object is expected");
		goto err;
	}
	if (memchr(buf, '\0', len)) {
		pjr_fail(e, 400, "body", "the request body contains a NUL byte");
		goto err;
	}
	tok = json_tokener_new_ex(PJR_MAX_DEPTH);
	if (!tok) {
		pjr_fail(e, 400, "body", "out of memory parsing the request body");
		goto err;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		pjr_fail(e, 400, "body", "the request body is not valid JSON: it ends too early");
		goto err;
	}
	if (!obj || jerr != json_tokener_success) {
		pjr_fail(e, 400, "body", "the request body is not valid JSON: %s at byte %zu",
			 json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
		goto err;
	}
	/* trailing white space is fine, anything else is a second value */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (!strchr(" \t\r\n", buf[i])) {
			pjr_fail(e, 400, "body", "the request body has data after its JSON object, at byte %zu",
				 i);
			goto err;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		pjr_fail(e, 400, "body", "the request body must be a JSON object, not %s",
			 json_type_to_name(json_object_get_type(obj)));
		goto err;
	}
	json_tokener_free(tok);
	*out = obj;
	return 0;
err:
	json_object_put(obj);
	if (tok)
		json_tokener_free(tok);
	return -1;
}

int pjr_only(json_object *obj, const char *const *allowed, struct pjr_err *e)
{
	json_object_object_foreach(obj, key, val) {
		const char *const *a;

		(void)val;
		for (a = allowed; *a && strcmp(*a, key); a++)
			;
		if (!*a) {
			char shown[48];

			/* the name comes from the client: show it bounded and printable */
			snprintf(shown, sizeof(shown), "%s", key);
			for (char *p = shown; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
					*p = '?';
			return pjr_fail(e, 400, shown, "unknown field '%s'", shown);
		}
	}
	return 0;
}

static bool name_char(unsigned char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '.' || c == '_' || c == '-');
}

bool pjr_name_valid(const char *s, size_t len)
{
	if (!s || len == 0 || len > PJR_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char((unsigned char)s[i], i == 0))
			return false;
	return true;
}

bool pjr_hex_valid(const char *s, size_t n)
{
	return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* The first byte of s (len bytes) not allowed in cs, or -1. */
static long bad_char(const char *s, size_t len, enum pjr_charset cs)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (cs) {
		case PJR_NAME:
			if (!name_char(c, i == 0))
				return (long)i;
			break;
		case PJR_TEXT:	/* UTF-8 was checked by the tokener */
			if (c < 0x20 || c == 0x7f)
				return (long)i;
			break;
		case PJR_PEM:
			if ((c < 0x20 && c != '\n' && c != '\r') || c >= 0x7f)
				return (long)i;
			break;
		case PJR_HOST:
			if (!name_char(c, true) && c != '.' && c != ':' && c != '-')
				return (long)i;
			break;
		}
	}
	return -1;
}

/* Look field up; 1 if present with the type, 0 if absent and optional. */
static int get_typed(json_object *obj, const char *field, bool required, json_type type,
		     json_object **val, struct pjr_err *e)
{
	if (!json_object_object_get_ex(obj, field, val) || json_object_is_type(*val, json_type_null)) {
		if (required)
			return pjr_fail(e, 400, field, "missing required field '%s'", field);
		return 0;
	}
	if (!json_object_is_type(*val, type))
		return pjr_fail(e, 400, field, "field '%s' must be %s %s, not %s", field,
				type == json_type_int ? "an" : "a", json_type_to_name(type),
				json_type_to_name(json_object_get_type(*val)));
	return 1;
}

int pjr_string(json_object *obj, const char *field, bool required, size_t maxlen,
	       enum pjr_charset cs, const char **out, struct pjr_err *e)
{
	json_object *val;
	const char *s;
	size_t len;
	long bad;
	int r;

	*out = NULL;
	r = get_typed(obj, field, required, json_type_string, &val, e);
	if (r <= 0)
		return r;
	s = json_object_get_string(val);
	len = (size_t)json_object_get_string_len(val);
	/* "" is no name, even where a name is optional */
	if (len == 0 && (required || cs == PJR_NAME || cs == PJR_HOST))
		return pjr_fail(e, 400, field, "field '%s' must not be empty", field);
	if (len > maxlen)
		return pjr_fail(e, 400, field, "field '%s' is %zu bytes long, more than the %zu allowed",
				field, len, maxlen);
	bad = bad_char(s, len, cs);
	if (bad >= 0)
		return pjr_fail(e, 400, field, "field '%s' has a character not allowed at byte %ld%s",
				field, bad, cs == PJR_NAME ?
				" (names are letters, digits, '.', '_' and '-', starting with a letter or digit)" : "");
	*out = s;
	return 0;
}

int pjr_string_array(json_object *obj, const char *field, bool required, size_t max_items,
		     size_t maxlen, enum pjr_charset cs, const char **out, struct pjr_err *e)
{
	json_object *val, *holder;
	size_t n;
	int r;

	out[0] = NULL;
	r = get_typed(obj, field, required, json_type_array, &val, e);
	if (r <= 0)
		return r;
	n = json_object_array_length(val);
	if (n > max_items)
		return pjr_fail(e, 400, field, "field '%s' has %zu items, more than the %zu allowed",
				field, n, max_items);
	if (n == 0 && required)
		return pjr_fail(e, 400, field, "field '%s' must not be empty", field);
	for (size_t i = 0; i < n; i++) {
		const char *s;
		char name[48];

		/* each item read as a one-field object, to share pjr_string's checks */
		holder = json_object_new_object();
		if (!holder)
			return pjr_fail(e, 400, field, "out of memory");
		json_object_object_add(holder, field, json_object_get(json_object_array_get_idx(val, i)));
		r = pjr_string(holder, field, true, maxlen, cs, &s, e);
		json_object_put(holder);
		if (r) {
			snprintf(name, sizeof(name), "%s[%zu]", field, i);
			snprintf(e->field, sizeof(e->field), "%s", name);
			return -1;
		}
		/* s pointed into the item, which obj still holds */
		out[i] = json_object_get_string(json_object_array_get_idx(val, i));
	}
	out[n] = NULL;
	return 0;
}

int pjr_int(json_object *obj, const char *field, bool required, int64_t min, int64_t max,
	    int64_t *out, struct pjr_err *e)
{
	json_object *val;
	int64_t v;
	int r;

	r = get_typed(obj, field, required, json_type_int, &val, e);
	if (r <= 0)
		return r;
	/* json-c clamps values beyond int64 to its ends: those are out of
	 * any range a field has, or refused below */
	v = json_object_get_int64(val);
	if (v < min || v > max || v == INT64_MAX || v == INT64_MIN)
		return pjr_fail(e, 400, field, "field '%s' must be between %lld and %lld",
				field, (long long)min, (long long)max);
	*out = v;
	return 0;
}

int pjr_bool(json_object *obj, const char *field, bool required, bool *out,
	     struct pjr_err *e)
{
	json_object *val;
	int r;

	r = get_typed(obj, field, required, json_type_boolean, &val, e);
	if (r <= 0)
		return r;
	*out = json_object_get_boolean(val);
	return 0;
}

int pjr_size_parse(const char *s, size_t len, const char *field, uint64_t *out,
		   struct pjr_err *e)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	size_t i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return pjr_fail(e, 400, field, "field '%s' is too large a size", field);
		v = v * 10 + d;
		i++;
	}
	if (i == 0 || i > 20)
		return pjr_fail(e, 400, field,
				"field '%s' must be a size: digits with an optional K, M, G or T", field);
	if (i < len) {
		switch (s[i]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		case 'T': case 't': shift = 40; break;
		default:
			return pjr_fail(e, 400, field,
					"field '%s' has an unknown size suffix (K, M, G or T)", field);
		}
		i++;
		if (i + 2 == len && s[i] == 'i' && s[i + 1] == 'B')
			i += 2;
		if (i != len)
			return pjr_fail(e, 400, field,
					"field '%s' has characters after its size suffix", field);
	}
	if (shift && v > (UINT64_MAX >> shift))
		return pjr_fail(e, 400, field, "field '%s' is too large a size", field);
	*out = v << shift;
	return 0;
}

int pjr_size(json_object *obj, const char *field, bool required, uint64_t min, uint64_t max,
	     uint64_t *out, struct pjr_err *e)
{
	json_object *val;
	uint64_t v;

	if (!json_object_object_get_ex(obj, field, &val) || json_object_is_type(val, json_type_null)) {
		if (required)
			return pjr_fail(e, 400, field, "missing required field '%s'", field);
		return 0;
	}
	if (json_object_is_type(val, json_type_int)) {
		int64_t i = json_object_get_int64(val);

		if (i < 0 || i == INT64_MAX)
			return pjr_fail(e, 400, field, "field '%s' must be a size between %llu and %llu bytes",
					field, (unsigned long long)min, (unsigned long long)max);
		v = (uint64_t)i;
	} else if (json_object_is_type(val, json_type_string)) {
		if (pjr_size_parse(json_object_get_string(val),
				   (size_t)json_object_get_string_len(val), field, &v, e))
			return -1;
	} else {
		return pjr_fail(e, 400, field, "field '%s' must be a size (an integer or a string like \"10G\"), not %s",
				field, json_type_to_name(json_object_get_type(val)));
	}
	if (v < min || v > max)
		return pjr_fail(e, 400, field, "field '%s' must be a size between %llu and %llu bytes",
				field, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}
