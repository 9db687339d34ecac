// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * etcd_resp.c: etcd's answers (see etcd_json.h), parsed with json-c and
 * checked field by field, and the watch stream's framer.  Pure: no I/O,
 * so the unit test feeds recorded answers and the fuzz target anything.
 * Every refusal names the field at fault, so a malformed answer reads
 * "etcd's answer: kvs[2].mod_revision is not an int64 (\"x\")".
 *
 * Deliberately not read: fields lunlink never asks for (prev_kv,
 * fragments of a watch answer, range compares); a nested transaction's
 * answer is refused, since lunlink sends none.
 */
#include "etcd_json.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DEPTH	32	/* a txn answer nests 7 deep; room to spare */

static int perr(struct etcd_perr *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct etcd_perr *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return ETCD_ERROR;
}

int etcd_code_result(int code, const char *message)
{
	if (code == ETCD_GRPC_NOT_FOUND && strstr(message, "lease not found"))
		return ETCD_NOT_FOUND;
	if (code == ETCD_GRPC_OUT_OF_RANGE && strstr(message, "compacted"))
		return ETCD_COMPACTED;
	return ETCD_ERROR;
}

/* ---- answers: fields ---------------------------------------------------------------- */

/* The object in body, or NULL with e. */
static json_object *parse_object(const char *body, size_t len, struct etcd_perr *e)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *o = NULL;

	if (len > ETCD_REPLY_MAX) {
		perr(e, 0, "etcd's answer is %zu bytes, more than the %d taken", len, ETCD_REPLY_MAX);
		return NULL;
	}
	if (!len) {
		perr(e, 0, "etcd's answer is empty");
		return NULL;
	}
	if (memchr(body, '\0', len)) {
		perr(e, 0, "etcd's answer holds a NUL byte");
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok) {
		perr(e, 0, "out of memory reading etcd's answer");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!o || jerr != json_tokener_success) {
		perr(e, 0, "etcd's answer is not JSON: %s at byte %zu",
		     jerr == json_tokener_continue ? "it ends too early" : json_tokener_error_desc(jerr),
		     json_tokener_get_parse_end(tok));
		goto err;
	}
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (!strchr(" \t\r\n", body[i])) {
			perr(e, 0, "etcd's answer has data after its JSON object, at byte %zu", i);
			goto err;
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		perr(e, 0, "etcd's answer is a JSON %s, not an object",
		     json_type_to_name(json_object_get_type(o)));
		goto err;
	}
	json_tokener_free(tok);
	return o;
err:
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

/*
 * An error object?  1 with e filled when o is etcd's refusal, in either
 * of the gateway's forms: {"error":"text","message":"text","code":N}, or
 * in a stream {"error":{"grpc_code":N,"message":"text",...}}; else 0.
 */
static int refusal(json_object *o, struct etcd_perr *e)
{
	json_object *err, *m = NULL, *c = NULL;
	const char *msg = NULL;
	int code = 0;

	if (!json_object_object_get_ex(o, "error", &err))
		return 0;
	if (json_object_is_type(err, json_type_object)) {
		json_object_object_get_ex(err, "message", &m);
		json_object_object_get_ex(err, "grpc_code", &c);
	} else {
		if (!json_object_object_get_ex(o, "message", &m))
			m = err;
		json_object_object_get_ex(o, "code", &c);
	}
	if (m && json_object_is_type(m, json_type_string))
		msg = json_object_get_string(m);
	if (c && json_object_is_type(c, json_type_int))
		code = json_object_get_int(c);
	if (code < 0 || code > 16)
		code = 0;
	perr(e, code, "%s (code %d)", msg && *msg ? msg : "etcd gave an error with no message", code);
	return 1;
}

static int get_i64(json_object *o, const char *where, const char *field, int64_t *out,
		   struct etcd_perr *e)
{
	json_object *v;
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if (!json_object_object_get_ex(o, field, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		errno = 0;
		*out = json_object_get_int64(v);
		if (errno)
			return perr(e, 0, "etcd's answer: %s%s is out of range", where, field);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return perr(e, 0, "etcd's answer: %s%s is a %s, not an int64", where, field,
			    json_type_to_name(json_object_get_type(v)));
	s = json_object_get_string(v);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (!*s || *end || errno || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return perr(e, 0, "etcd's answer: %s%s is not an int64 (\"%.40s\")", where, field, s);
	*out = n;
	return 0;
}

/* member and cluster ids are uint64 */
static int get_u64(json_object *o, const char *where, const char *field, uint64_t *out,
		   struct etcd_perr *e)
{
	json_object *v;
	const char *s;
	char *end;
	unsigned long long n;

	*out = 0;
	if (!json_object_object_get_ex(o, field, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		errno = 0;
		*out = json_object_get_uint64(v);
		if (errno)
			return perr(e, 0, "etcd's answer: %s%s is out of range", where, field);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return perr(e, 0, "etcd's answer: %s%s is a %s, not a uint64", where, field,
			    json_type_to_name(json_object_get_type(v)));
	s = json_object_get_string(v);
	errno = 0;
	n = strtoull(s, &end, 10);
	if (!*s || *end || errno || !(s[0] >= '0' && s[0] <= '9'))
		return perr(e, 0, "etcd's answer: %s%s is not a uint64 (\"%.40s\")", where, field, s);
	*out = n;
	return 0;
}

static int get_bool(json_object *o, const char *where, const char *field, bool *out,
		    struct etcd_perr *e)
{
	json_object *v;

	*out = false;
	if (!json_object_object_get_ex(o, field, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return perr(e, 0, "etcd's answer: %s%s is a %s, not a boolean", where, field,
			    json_type_to_name(json_object_get_type(v)));
	*out = json_object_get_boolean(v);
	return 0;
}

/* A bytes field: absent is empty. */
static int get_bytes(json_object *o, const char *where, const char *field, char **out,
		     size_t *len, struct etcd_perr *e)
{
	json_object *v;
	const char *s = "";
	size_t slen = 0;

	if (json_object_object_get_ex(o, field, &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string))
			return perr(e, 0, "etcd's answer: %s%s is a %s, not base64 text", where, field,
				    json_type_to_name(json_object_get_type(v)));
		s = json_object_get_string(v);
		slen = (size_t)json_object_get_string_len(v);
	}
	if (etcd_b64_decode(s, slen, out, len))
		return perr(e, 0, "etcd's answer: %s%s is not base64 (\"%.40s\")", where, field, s);
	return 0;
}

/* An object member, required or not; *out NULL if absent and optional. */
static int get_obj(json_object *o, const char *where, const char *field, bool required,
		   json_object **out, struct etcd_perr *e)
{
	*out = NULL;
	if (!json_object_object_get_ex(o, field, out) || json_object_is_type(*out, json_type_null)) {
		*out = NULL;
		return required ? perr(e, 0, "etcd's answer: %s%s is missing", where, field) : 0;
	}
	if (!json_object_is_type(*out, json_type_object))
		return perr(e, 0, "etcd's answer: %s%s is a %s, not an object", where, field,
			    json_type_to_name(json_object_get_type(*out)));
	return 0;
}

static int get_array(json_object *o, const char *where, const char *field, json_object **out,
		     size_t *n, struct etcd_perr *e)
{
	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, field, out) || json_object_is_type(*out, json_type_null)) {
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(*out, json_type_array))
		return perr(e, 0, "etcd's answer: %s%s is a %s, not an array", where, field,
			    json_type_to_name(json_object_get_type(*out)));
	*n = json_object_array_length(*out);
	return 0;
}

static int parse_header(json_object *o, const char *where, bool required, struct etcd_header *h,
			struct etcd_perr *e)
{
	json_object *hd;
	char w[96];

	memset(h, 0, sizeof(*h));
	if (get_obj(o, where, "header", required, &hd, e))
		return ETCD_ERROR;
	if (!hd)
		return 0;
	snprintf(w, sizeof(w), "%sheader.", where);
	if (get_u64(hd, w, "cluster_id", &h->cluster_id, e) ||
	    get_u64(hd, w, "member_id", &h->member_id, e) ||
	    get_i64(hd, w, "revision", &h->revision, e) ||
	    get_u64(hd, w, "raft_term", &h->raft_term, e))
		return ETCD_ERROR;
	if (h->revision < 0)
		return perr(e, 0, "etcd's answer: %sheader.revision is negative (%" PRId64 ")", where,
			    h->revision);
	return 0;
}

void etcd_kv_free(struct etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int parse_kv(json_object *o, const char *where, struct etcd_kv *kv, bool need_key,
		    struct etcd_perr *e)
{
	char w[112];

	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(o, json_type_object))
		return perr(e, 0, "etcd's answer: %s is a %s, not an object", where,
			    json_type_to_name(json_object_get_type(o)));
	snprintf(w, sizeof(w), "%s.", where);
	if (get_bytes(o, w, "key", &kv->key, &kv->key_len, e) < 0)
		goto err;
	if (need_key && !kv->key_len) {
		perr(e, 0, "etcd's answer: %s has no key", where);
		goto err;
	}
	if (get_bytes(o, w, "value", &kv->value, &kv->value_len, e) < 0 ||
	    get_i64(o, w, "create_revision", &kv->create_revision, e) ||
	    get_i64(o, w, "mod_revision", &kv->mod_revision, e) ||
	    get_i64(o, w, "version", &kv->version, e) ||
	    get_i64(o, w, "lease", &kv->lease, e))
		goto err;
	if (kv->create_revision < 0 || kv->mod_revision < 0 || kv->version < 0) {
		perr(e, 0, "etcd's answer: %s has a negative revision or version", where);
		goto err;
	}
	return 0;
err:
	etcd_kv_free(kv);
	return ETCD_ERROR;
}

void etcd_range_free(struct etcd_range *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nkvs; i++)
		etcd_kv_free(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

static int parse_range_obj(json_object *o, const char *where, bool need_header,
			   struct etcd_range *out, struct etcd_perr *e)
{
	json_object *a;
	size_t n;
	char w[96];

	memset(out, 0, sizeof(*out));
	if (parse_header(o, where, need_header, &out->header, e) ||
	    get_array(o, where, "kvs", &a, &n, e) ||
	    get_i64(o, where, "count", &out->count, e) ||
	    get_bool(o, where, "more", &out->more, e))
		return ETCD_ERROR;
	if (out->count < 0)
		return perr(e, 0, "etcd's answer: %scount is negative", where);
	if (n) {
		out->kvs = calloc(n, sizeof(*out->kvs));
		if (!out->kvs)
			return perr(e, 0, "out of memory reading etcd's answer");
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%skvs[%zu]", where, i);
		if (parse_kv(json_object_array_get_idx(a, i), w, &out->kvs[i], true, e)) {
			etcd_range_free(out);
			return ETCD_ERROR;
		}
		out->nkvs++;
	}
	return 0;
}

/* body's object, or NULL with e: etcd's refusal mapped by its code */
static json_object *answer(const char *body, size_t len, int *rc, struct etcd_perr *e)
{
	json_object *o = parse_object(body, len, e);

	*rc = ETCD_ERROR;
	if (!o)
		return NULL;
	if (refusal(o, e)) {
		*rc = etcd_code_result(e->code, e->message);
		json_object_put(o);
		return NULL;
	}
	*rc = ETCD_OK;
	return o;
}

int etcd_parse_range(const char *body, size_t len, struct etcd_range *out, struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(body, len, &rc, e);

	memset(out, 0, sizeof(*out));
	if (!o)
		return rc;
	rc = parse_range_obj(o, "", true, out, e);
	json_object_put(o);
	return rc;
}

int etcd_parse_header_only(const char *body, size_t len, struct etcd_header *out,
			   struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(body, len, &rc, e);

	memset(out, 0, sizeof(*out));
	if (!o)
		return rc;
	rc = parse_header(o, "", true, out, e);
	json_object_put(o);
	return rc;
}

int etcd_parse_put(const char *body, size_t len, struct etcd_header *out, struct etcd_perr *e)
{
	return etcd_parse_header_only(body, len, out, e);
}

int etcd_parse_delete(const char *body, size_t len, struct etcd_header *out, int64_t *deleted,
		      struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(body, len, &rc, e);

	memset(out, 0, sizeof(*out));
	*deleted = 0;
	if (!o)
		return rc;
	rc = parse_header(o, "", true, out, e) || get_i64(o, "", "deleted", deleted, e) ? ETCD_ERROR : 0;
	if (!rc && *deleted < 0)
		rc = perr(e, 0, "etcd's answer: deleted is negative");
	json_object_put(o);
	return rc;
}

void etcd_txn_result_free(struct etcd_txn_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nops; i++)
		etcd_range_free(&r->ops[i].range);
	free(r->ops);
	memset(r, 0, sizeof(*r));
}

/* One of a txn's responses: exactly one of response_range, _put,
 * _delete_range (a nested _txn is refused: lunlink sends none). */
static int parse_op_result(json_object *o, size_t i, struct etcd_op_result *r, struct etcd_perr *e)
{
	json_object *in;
	struct etcd_header h;
	char w[64];

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object))
		return perr(e, 0, "etcd's answer: responses[%zu] is not an object", i);
	snprintf(w, sizeof(w), "responses[%zu].", i);
	if (get_obj(o, w, "response_range", false, &in, e))
		return ETCD_ERROR;
	if (in) {
		snprintf(w, sizeof(w), "responses[%zu].response_range.", i);
		r->type = ETCD_OP_RANGE;
		if (parse_range_obj(in, w, false, &r->range, e))
			return ETCD_ERROR;
		r->revision = r->range.header.revision;
		return 0;
	}
	if (get_obj(o, w, "response_put", false, &in, e))
		return ETCD_ERROR;
	if (in) {
		snprintf(w, sizeof(w), "responses[%zu].response_put.", i);
		r->type = ETCD_OP_PUT;
		if (parse_header(in, w, false, &h, e))
			return ETCD_ERROR;
		r->revision = h.revision;
		return 0;
	}
	if (get_obj(o, w, "response_delete_range", false, &in, e))
		return ETCD_ERROR;
	if (in) {
		snprintf(w, sizeof(w), "responses[%zu].response_delete_range.", i);
		r->type = ETCD_OP_DELETE;
		if (parse_header(in, w, false, &h, e) || get_i64(in, w, "deleted", &r->deleted, e))
			return ETCD_ERROR;
		if (r->deleted < 0)
			return perr(e, 0, "etcd's answer: %sdeleted is negative", w);
		r->revision = h.revision;
		return 0;
	}
	return perr(e, 0, "etcd's answer: responses[%zu] is none of response_range, response_put, "
		    "response_delete_range", i);
}

int etcd_parse_txn(const char *body, size_t len, struct etcd_txn_result *out, struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(body, len, &rc, e), *a;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!o)
		return rc;
	if (parse_header(o, "", true, &out->header, e) ||
	    get_bool(o, "", "succeeded", &out->succeeded, e) ||
	    get_array(o, "", "responses", &a, &n, e))
		goto err;
	if (n) {
		out->ops = calloc(n, sizeof(*out->ops));
		if (!out->ops) {
			perr(e, 0, "out of memory reading etcd's answer");
			goto err;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_op_result(json_object_array_get_idx(a, i), i, &out->ops[i], e)) {
			etcd_range_free(&out->ops[i].range);
			goto err;
		}
		out->nops++;
	}
	json_object_put(o);
	return ETCD_OK;
err:
	etcd_txn_result_free(out);
	json_object_put(o);
	return ETCD_ERROR;
}

int etcd_parse_lease_grant(const char *body, size_t len, int64_t *id, int64_t *ttl,
			   struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(body, len, &rc, e), *err;

	*id = *ttl = 0;
	if (!o)
		return rc;
	rc = ETCD_ERROR;
	/* LeaseGrantResponse has its own error field, a string */
	if (json_object_object_get_ex(o, "error", &err) && json_object_is_type(err, json_type_string) &&
	    json_object_get_string_len(err)) {
		perr(e, 0, "etcd refused the lease: %s", json_object_get_string(err));
		goto out;
	}
	if (get_i64(o, "", "ID", id, e) || get_i64(o, "", "TTL", ttl, e))
		goto out;
	if (*id <= 0 || *ttl <= 0) {
		perr(e, 0, "etcd's answer: the lease's ID (%" PRId64 ") or TTL (%" PRId64 ") is not positive",
		     *id, *ttl);
		goto out;
	}
	rc = ETCD_OK;
out:
	json_object_put(o);
	return rc;
}

int etcd_parse_lease_keepalive(const char *body, size_t len, int64_t *ttl, struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(body, len, &rc, e), *res;
	int64_t id;

	*ttl = 0;
	if (!o)
		return rc;
	/* a stream of one answer: {"result":{...}} */
	rc = ETCD_ERROR;
	if (get_obj(o, "", "result", true, &res, e) || get_i64(res, "result.", "ID", &id, e) ||
	    get_i64(res, "result.", "TTL", ttl, e))
		goto out;
	if (*ttl < 0) {
		perr(e, 0, "etcd's answer: result.TTL is negative");
		goto out;
	}
	if (*ttl == 0) {
		perr(e, ETCD_GRPC_NOT_FOUND, "etcdserver: requested lease not found (no TTL in the "
		     "keepalive's answer)");
		rc = ETCD_NOT_FOUND;
		goto out;
	}
	rc = ETCD_OK;
out:
	json_object_put(o);
	return rc;
}

int etcd_parse_lease_ttl(const char *body, size_t len, int64_t *remaining, int64_t *granted,
			 struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(body, len, &rc, e);

	*remaining = *granted = 0;
	if (!o)
		return rc;
	rc = ETCD_ERROR;
	if (get_i64(o, "", "TTL", remaining, e) || get_i64(o, "", "grantedTTL", granted, e))
		goto out;
	if (*remaining == -1) {
		perr(e, ETCD_GRPC_NOT_FOUND, "etcdserver: requested lease not found (TTL -1)");
		rc = ETCD_NOT_FOUND;
		goto out;
	}
	if (*remaining < 0 || *granted < 0) {
		perr(e, 0, "etcd's answer: TTL or grantedTTL is negative");
		goto out;
	}
	rc = ETCD_OK;
out:
	json_object_put(o);
	return rc;
}

int etcd_parse_status(const char *body, size_t len, struct etcd_status *out, struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(body, len, &rc, e), *v;
	uint64_t db;

	memset(out, 0, sizeof(*out));
	if (!o)
		return rc;
	rc = ETCD_ERROR;
	if (parse_header(o, "", true, &out->header, e) || get_u64(o, "", "dbSize", &db, e) ||
	    get_u64(o, "", "leader", &out->leader, e) ||
	    get_u64(o, "", "raftIndex", &out->raft_index, e) ||
	    get_u64(o, "", "raftTerm", &out->raft_term, e))
		goto out;
	if (db > INT64_MAX) {
		perr(e, 0, "etcd's answer: dbSize is out of range");
		goto out;
	}
	out->db_size = (int64_t)db;
	if (!json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_string)) {
		perr(e, 0, "etcd's answer: version is missing or not text");
		goto out;
	}
	snprintf(out->version, sizeof(out->version), "%s", json_object_get_string(v));
	rc = ETCD_OK;
out:
	json_object_put(o);
	return rc;
}

/* ---- the watch stream ----------------------------------------------------------------- */

void etcd_stream_init(struct etcd_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void etcd_stream_free(struct etcd_stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

int etcd_stream_feed(struct etcd_stream *s, const char *p, size_t n, struct etcd_perr *e)
{
	size_t keep = s->len - s->start;

	if (s->broken)
		return perr(e, 0, "the watch stream was refused before");
	if (n > ETCD_REPLY_MAX || keep + n > ETCD_REPLY_MAX) {
		s->broken = true;
		return perr(e, 0, "an answer in the watch stream exceeds %d bytes", ETCD_REPLY_MAX);
	}
	/* drop what was taken before growing */
	if (s->start) {
		memmove(s->buf, s->buf + s->start, keep);
		s->scan -= s->start;
		s->len = keep;
		s->start = 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *nb;

		while (cap < s->len + n + 1)
			cap *= 2;
		nb = realloc(s->buf, cap);
		if (!nb)
			return perr(e, 0, "out of memory reading the watch stream");
		s->buf = nb;
		s->cap = cap;
	}
	if (n)
		memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return 0;
}

int etcd_stream_take(struct etcd_stream *s, const char **obj, size_t *len, struct etcd_perr *e)
{
	if (s->broken)
		return perr(e, 0, "the watch stream was refused before");
	while (s->scan < s->len) {
		char ch = s->buf[s->scan++];

		if (s->depth == 0) {
			if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
				s->start = s->scan;
				continue;
			}
			if (ch != '{') {
				s->broken = true;
				return perr(e, 0, "the watch stream has a byte 0x%02x between its answers, "
					    "where an object should begin", (unsigned char)ch);
			}
			s->start = s->scan - 1;
			s->depth = 1;
			s->arrays = 0;
			continue;
		}
		if (s->in_string) {
			if (s->escape)
				s->escape = false;
			else if (ch == '\\')
				s->escape = true;
			else if (ch == '"')
				s->in_string = false;
			continue;
		}
		if (ch == '"') {
			s->in_string = true;
		} else if (ch == '{' || ch == '[') {
			if (++s->depth > JSON_DEPTH) {
				s->broken = true;
				return perr(e, 0, "an answer in the watch stream nests deeper than %d",
					    JSON_DEPTH);
			}
			s->arrays = s->arrays << 1 | (ch == '[');
		} else if (ch == '}' || ch == ']') {
			if ((s->arrays & 1) != (ch == ']')) {
				s->broken = true;
				return perr(e, 0, "an answer in the watch stream closes a%s with '%c'",
					    s->arrays & 1 ? "n array" : "n object", ch);
			}
			s->arrays >>= 1;
			if (--s->depth == 0) {
				*obj = s->buf + s->start;
				*len = s->scan - s->start;
				s->start = s->scan;
				return 1;
			}
		}
	}
	return 0;
}

void etcd_events_free(struct etcd_event *ev, size_t n)
{
	if (!ev)
		return;
	for (size_t i = 0; i < n; i++)
		etcd_kv_free(&ev[i].kv);
}

int etcd_parse_watch(const char *obj, size_t len, struct etcd_watch_resp *out, struct etcd_perr *e)
{
	int rc;
	json_object *o = answer(obj, len, &rc, e), *res, *a, *t, *kvo;
	size_t n;
	char w[64];

	memset(out, 0, sizeof(*out));
	if (!o)
		return rc == ETCD_OK ? ETCD_ERROR : rc;
	if (get_obj(o, "", "result", true, &res, e) ||
	    parse_header(res, "result.", false, &out->header, e) ||
	    get_i64(res, "result.", "watch_id", &out->watch_id, e) ||
	    get_bool(res, "result.", "created", &out->created, e) ||
	    get_bool(res, "result.", "canceled", &out->canceled, e) ||
	    get_i64(res, "result.", "compact_revision", &out->compact_revision, e) ||
	    get_array(res, "result.", "events", &a, &n, e))
		goto err;
	if (json_object_object_get_ex(res, "cancel_reason", &t) && json_object_is_type(t, json_type_string))
		snprintf(out->cancel_reason, sizeof(out->cancel_reason), "%s", json_object_get_string(t));
	if (out->compact_revision < 0) {
		perr(e, 0, "etcd's answer: result.compact_revision is negative");
		goto err;
	}
	if (n) {
		out->events = calloc(n, sizeof(*out->events));
		if (!out->events) {
			perr(e, 0, "out of memory reading etcd's answer");
			goto err;
		}
	}
	for (size_t i = 0; i < n; i++) {
		json_object *ev = json_object_array_get_idx(a, i);
		struct etcd_event *x = &out->events[i];

		snprintf(w, sizeof(w), "result.events[%zu]", i);
		if (!json_object_is_type(ev, json_type_object)) {
			perr(e, 0, "etcd's answer: %s is not an object", w);
			goto err;
		}
		x->type = ETCD_EVENT_PUT;
		if (json_object_object_get_ex(ev, "type", &t) && !json_object_is_type(t, json_type_null)) {
			const char *ts = json_object_is_type(t, json_type_string) ?
					 json_object_get_string(t) : "";

			if (!strcmp(ts, "DELETE")) {
				x->type = ETCD_EVENT_DELETE;
			} else if (strcmp(ts, "PUT")) {
				perr(e, 0, "etcd's answer: %s.type is neither PUT nor DELETE", w);
				goto err;
			}
		}
		snprintf(w, sizeof(w), "result.events[%zu].kv", i);
		if (get_obj(ev, "", "kv", true, &kvo, e) || parse_kv(kvo, w, &x->kv, true, e))
			goto err;
		out->nevents++;	/* freed with the others from here on */
		if (!x->kv.mod_revision) {
			perr(e, 0, "etcd's answer: %s has no mod_revision", w);
			goto err;
		}
		if (i && x->kv.mod_revision < out->events[i - 1].kv.mod_revision) {
			perr(e, 0, "etcd's answer: %s goes back in revisions", w);
			goto err;
		}
	}
	json_object_put(o);
	return ETCD_OK;
err:
	etcd_events_free(out->events, out->nevents);
	free(out->events);
	out->events = NULL;
	out->nevents = 0;
	json_object_put(o);
	return ETCD_ERROR;
}
