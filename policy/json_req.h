/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json_req.h: bounded reading of the policy API's JSON request bodies.
 *
 * Every field a handler takes goes through one of these helpers, so each
 * is checked the same way: present when required, of the right JSON type,
 * within its length or range, names within their character set.  A
 * failure fills a struct pjr_err that names the field, says what is wrong
 * and carries the HTTP status to answer with (400, or 413 for a body over
 * the bound); the server turns it into {"error":{"field":..,"message":..}}.
 * Parsing is json-c's (strict, UTF-8 checked, depth-limited; json-c 0.16
 * still takes single quotes and NaN, which no field reader accepts as a
 * number); nothing here parses JSON by hand.
 */
#ifndef LUNLINK_POLICY_JSON_REQ_H
#define LUNLINK_POLICY_JSON_REQ_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PJR_MAX_BODY	(64 * 1024)	/* bytes of a request body */
#define PJR_MAX_DEPTH	16		/* nesting of objects and arrays */
#define PJR_NAME_MAX	63		/* a node's, host's or volume's name */

struct pjr_err {
	int status;		/* HTTP status: 400 or 413 */
	char field[64];		/* the field at fault ("body" for the whole) */
	char message[192];	/* what is wrong, for the operator */
};

enum pjr_charset {
	PJR_NAME,	/* [A-Za-z0-9][A-Za-z0-9._-]*: names, ids */
	PJR_TEXT,	/* any UTF-8 but control characters: descriptions */
	PJR_PEM,	/* printable ASCII, newlines: certificates, CSRs */
	PJR_HOST,	/* [A-Za-z0-9.:-]: host names, IPv4 and IPv6 addresses */
};

/* Fill e (any of its fields may be reused); always returns -1. */
int pjr_fail(struct pjr_err *e, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Parse a request body: at most PJR_MAX_BODY bytes, a JSON object, nothing
 * after it.  On success *out is a new reference the caller puts. */
int pjr_parse(const char *buf, size_t len, json_object **out, struct pjr_err *e);

/* Refuse any field of obj not in the NULL-terminated list allowed. */
int pjr_only(json_object *obj, const char *const *allowed, struct pjr_err *e);

/* Whether s (len bytes) is a valid name: 1..PJR_NAME_MAX bytes of the
 * PJR_NAME set. */
bool pjr_name_valid(const char *s, size_t len);

/* Whether s is exactly n lower-case hex digits: a volume id (32), a
 * generation as the module's status file writes it (16). */
bool pjr_hex_valid(const char *s, size_t n);

/*
 * A string field of at most maxlen bytes (and at least 1 if required, or
 * if a name or host) in the given set.  *out points into obj (valid while obj lives); an absent
 * optional field leaves *out NULL and returns 0.
 */
int pjr_string(json_object *obj, const char *field, bool required, size_t maxlen,
	       enum pjr_charset cs, const char **out, struct pjr_err *e);

/*
 * An array of at most max_items strings, each as pjr_string would take it
 * (required: non-empty); out has room for max_items + 1 and ends with NULL.
 * An absent optional field gives an empty list.
 */
int pjr_string_array(json_object *obj, const char *field, bool required, size_t max_items,
		     size_t maxlen, enum pjr_charset cs, const char **out, struct pjr_err *e);

/* An integer field in [min, max]; an absent optional field leaves *out. */
int pjr_int(json_object *obj, const char *field, bool required, int64_t min, int64_t max,
	    int64_t *out, struct pjr_err *e);

/* A boolean field; an absent optional field leaves *out. */
int pjr_bool(json_object *obj, const char *field, bool required, bool *out,
	     struct pjr_err *e);

/*
 * A size in bytes in [min, max]: a JSON integer, or a string of digits with
 * an optional binary suffix K, M, G or T (KiB.. TiB; "KiB" and "k" too).
 * An absent optional field leaves *out.
 */
int pjr_size(json_object *obj, const char *field, bool required, uint64_t min, uint64_t max,
	     uint64_t *out, struct pjr_err *e);

/* The size grammar alone, over a counted string (for the fuzz target and
 * the command line): 0, or -1 with a reason in e naming field. */
int pjr_size_parse(const char *s, size_t len, const char *field, uint64_t *out,
		   struct pjr_err *e);

#endif
