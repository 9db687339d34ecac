// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl_print.c: lunlinkctl's human output: tables with aligned columns,
 * sizes as people write them (1.5G), times as ages (12s ago), and the
 * reading of fields out of the API's JSON by a list of accepted names,
 * so that a table shows "-" rather than failing when a field is absent.
 * With --json none of this runs: the API's JSON is printed as is.
 */
#include "ctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ctl_size_str(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 "B", bytes);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	/* one decimal when it says something: 1.5G, but 500G and 10G */
	if (v < 100 && (uint64_t)(v * 10 + 0.5) % 10)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
	return buf;
}

const char *ctl_json_size(json_object *o, char *buf, size_t len)
{
	const char *s;
	char *end;
	unsigned long long v;

	if (!o || json_object_is_type(o, json_type_null))
		return "-";
	if (json_object_is_type(o, json_type_int))
		return ctl_size_str((uint64_t)json_object_get_int64(o), buf, len);
	s = json_object_get_string(o);
	v = strtoull(s, &end, 10);
	if (*s >= '0' && *s <= '9' && !*end)
		return ctl_size_str(v, buf, len);
	snprintf(buf, len, "%s", s);
	return buf;
}

const char *ctl_span_str(int64_t d, char *buf, size_t len)
{
	const char *unit = "s";

	if (d >= 2 * 86400) {
		d /= 86400;
		unit = "d";
	} else if (d >= 2 * 3600) {
		d /= 3600;
		unit = "h";
	} else if (d >= 2 * 60) {
		d /= 60;
		unit = "m";
	}
	snprintf(buf, len, "%" PRId64 "%s", d, unit);
	return buf;
}

const char *ctl_age_str(int64_t at_ms, int64_t now_ms, char *buf, size_t len)
{
	int64_t d = (now_ms - at_ms) / 1000;
	char span[32];

	if (!at_ms)
		snprintf(buf, len, "-");
	else if (d < 0)
		snprintf(buf, len, "in %s", ctl_span_str(-d, span, sizeof(span)));
	else
		snprintf(buf, len, "%s ago", ctl_span_str(d, span, sizeof(span)));
	return buf;
}

json_object *ctl_member(json_object *obj, const char *keys)
{
	char key[64];
	const char *p = keys, *bar;
	json_object *v;
	size_t n;

	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	while (*p) {
		bar = strchr(p, '|');
		n = bar ? (size_t)(bar - p) : strlen(p);
		if (n < sizeof(key)) {
			memcpy(key, p, n);
			key[n] = '\0';
			if (json_object_object_get_ex(obj, key, &v) && v &&
			    !json_object_is_type(v, json_type_null))
				return v;
		}
		p += n + (bar ? 1 : 0);
	}
	return NULL;
}

const char *ctl_field(json_object *obj, const char *keys)
{
	json_object *v = ctl_member(obj, keys);

	if (!v)
		return "-";
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

json_object *ctl_items(json_object *reply, const char *key)
{
	json_object *v;

	if (reply && json_object_is_type(reply, json_type_array))
		return reply;
	if (reply && json_object_object_get_ex(reply, key, &v) &&
	    json_object_is_type(v, json_type_array))
		return v;
	return NULL;
}

void ctl_print_json(json_object *o)
{
	printf("%s\n", o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "{}");
}

static bool is_scalar_array(json_object *a)
{
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);

		if (json_object_is_type(e, json_type_object) || json_object_is_type(e, json_type_array))
			return false;
	}
	return true;
}

void ctl_print_object(json_object *o, int indent)
{
	char size[32];

	if (!o)
		return;
	json_object_object_foreach(o, key, v) {
		if (v && json_object_is_type(v, json_type_object)) {
			printf("%*s%s:\n", indent, "", key);
			ctl_print_object(v, indent + 2);
		} else if (v && json_object_is_type(v, json_type_array) && !is_scalar_array(v)) {
			printf("%*s%s:\n", indent, "", key);
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				printf("%*s- #%zu\n", indent + 2, "", i + 1);
				ctl_print_object(json_object_array_get_idx(v, i), indent + 4);
			}
		} else if (v && json_object_is_type(v, json_type_int) &&
			   (!strcmp(key, "size") || !strcmp(key, "used") || !strcmp(key, "free") ||
			    !strcmp(key, "max_size"))) {
			printf("%*s%s: %s (%" PRId64 " bytes)\n", indent, "", key,
			       ctl_size_str((uint64_t)json_object_get_int64(v), size, sizeof(size)),
			       json_object_get_int64(v));
		} else {
			printf("%*s%s: %s\n", indent, "", key,
			       !v ? "-" : json_object_is_type(v, json_type_string) ?
			       json_object_get_string(v) :
			       json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		}
	}
}

/* ---- tables ------------------------------------------------------------- */

struct ctl_table {
	size_t ncols, nrows, cap;
	char **cells;		/* row-major, header first */
	size_t *width;
};

struct ctl_table *ctl_table_new(const char *const *headers)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	while (headers[t->ncols])
		t->ncols++;
	t->width = calloc(t->ncols, sizeof(*t->width));
	if (!t->width) {
		free(t);
		return NULL;
	}
	ctl_table_row(t, headers);
	return t;
}

void ctl_table_row(struct ctl_table *t, const char *const *cells)
{
	char **nc;
	size_t len;

	if (!t)
		return;
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		nc = realloc(t->cells, t->cap * t->ncols * sizeof(*nc));
		if (!nc)
			return;
		t->cells = nc;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "-");
		len = t->cells[t->nrows * t->ncols + i] ? strlen(cells[i] ? cells[i] : "-") : 0;
		if (len > t->width[i])
			t->width[i] = len;
	}
	t->nrows++;
}

void ctl_table_print(struct ctl_table *t)
{
	const char *s;

	if (!t)
		return;
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			s = t->cells[r * t->ncols + i] ? t->cells[r * t->ncols + i] : "";
			if (i + 1 < t->ncols)
				printf("%-*s  ", (int)t->width[i], s);
			else
				printf("%s\n", s);
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}
