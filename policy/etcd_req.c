// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * etcd_req.c: the requests to etcd's v3 gateway (see etcd_json.h), built
 * with json-c from etcd.h's structs, and base64, the coding of every
 * bytes field both ways (OpenSSL's block coder).  Pure: no I/O.  A
 * request the caller got wrong (no key, a prefix and an end, a put of a
 * range) is refused naming the compare or op at fault; etcd is never
 * asked to refuse what can be refused here.
 */
#include "etcd_json.h"
#include "lunlink/errmsg.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- base64 ------------------------------------------------------------------ */

char *etcd_b64_encode(const char *p, size_t len)
{
	char *out;

	if (len > (size_t)ETCD_REPLY_MAX)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)p, (int)len);
	return out;
}

int etcd_b64_decode(const char *s, size_t slen, char **out, size_t *len)
{
	size_t pad = 0;
	char *buf;
	int n;

	*out = NULL;
	if (slen % 4 || slen > (size_t)ETCD_REPLY_MAX)
		return -1;
	/* EVP_DecodeBlock decodes padding as zero bytes: count it off, and
	 * refuse '=' anywhere but at the end */
	if (slen && s[slen - 1] == '=')
		pad = slen >= 2 && s[slen - 2] == '=' ? 2 : 1;
	if (memchr(s, '=', slen - pad))
		return -1;
	buf = malloc(slen / 4 * 3 + 1);
	if (!buf)
		return -1;
	n = slen ? EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)s, (int)slen) : 0;
	/* it skips white space at either end, giving fewer bytes: refused */
	if (n < 0 || (size_t)n != slen / 4 * 3) {
		free(buf);
		return -1;
	}
	n -= (int)pad;
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

/* ---- requests ------------------------------------------------------------------ */

static bool add_bytes(json_object *o, const char *field, const char *p, size_t len)
{
	char *b = etcd_b64_encode(p, len);
	json_object *v;

	if (!b)
		return false;
	v = json_object_new_string(b);
	free(b);
	return v && !json_object_object_add(o, field, v);
}

/* int64s go as strings, as the gateway writes them */
static bool add_i64(json_object *o, const char *field, int64_t n)
{
	char buf[24];
	json_object *v;

	snprintf(buf, sizeof(buf), "%" PRId64, n);
	v = json_object_new_string(buf);
	return v && !json_object_object_add(o, field, v);
}

static bool add_bool(json_object *o, const char *field, bool b)
{
	json_object *v = json_object_new_boolean(b);

	return v && !json_object_object_add(o, field, v);
}

static bool add_str(json_object *o, const char *field, const char *s)
{
	json_object *v = json_object_new_string(s);

	return v && !json_object_object_add(o, field, v);
}

/* The text of o (put); NULL if o is NULL or out of memory. */
static char *finish(json_object *o, bool ok, char *err, size_t errlen)
{
	char *s = NULL;

	if (o && ok)
		s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	if (!s && err && errlen)
		snprintf(err, errlen, "out of memory building a request to etcd");
	return s;
}

/*
 * key and range_end of k into o.  A prefix's end is the prefix with its
 * last byte below 0xff raised by one, what follows it dropped; a prefix
 * of only 0xff bytes, or the empty one, runs to the end ("\0").  The
 * empty prefix starts at "\0", the first key there can be.
 */
static int add_keys(json_object *o, const struct etcd_keys *k, char *err, size_t errlen)
{
	size_t klen = k->key ? (k->key_len ? k->key_len : strlen(k->key)) : 0;
	size_t elen;
	char *end = NULL;
	bool ok;

	if (!klen && !k->prefix)
		return ll_fail(err, errlen, "no key given (etcd has no empty key)");
	if (k->end && k->prefix)
		return ll_fail(err, errlen, "a range's end and a prefix are given: one or the other");
	if (!klen)
		ok = add_bytes(o, "key", "", 1);
	else
		ok = add_bytes(o, "key", k->key, klen);
	if (!ok)
		return ll_fail(err, errlen, "out of memory building a request to etcd");
	if (k->end) {
		elen = k->end_len ? k->end_len : strlen(k->end);
		if (!elen)
			return ll_fail(err, errlen, "an empty range end (\"\\0\", end_len 1, is the end of "
					"the key space)");
		ok = add_bytes(o, "range_end", k->end, elen);
	} else if (k->prefix) {
		end = malloc(klen + 1);
		if (!end)
			return ll_fail(err, errlen, "out of memory building a request to etcd");
		memcpy(end, klen ? k->key : "", klen);
		elen = klen;
		while (elen && (unsigned char)end[elen - 1] == 0xff)
			elen--;
		if (elen) {
			end[elen - 1] = (char)((unsigned char)end[elen - 1] + 1);
		} else {
			end[0] = '\0';
			elen = 1;
		}
		ok = add_bytes(o, "range_end", end, elen);
		free(end);
	} else {
		ok = true;
	}
	return ok ? 0 : ll_fail(err, errlen, "out of memory building a request to etcd");
}

static json_object *range_obj(const struct etcd_range_req *r, char *err, size_t errlen)
{
	json_object *o = json_object_new_object();
	bool ok = o != NULL;

	if (!o) {
		ll_fail(err, errlen, "out of memory building a request to etcd");
		return NULL;
	}
	if (add_keys(o, &r->keys, err, errlen))
		goto err;
	if (r->limit < 0 || r->revision < 0) {
		ll_fail(err, errlen, "a negative %s (%" PRId64 ")", r->limit < 0 ? "limit" : "revision",
			 r->limit < 0 ? r->limit : r->revision);
		goto err;
	}
	if (r->limit)
		ok = ok && add_i64(o, "limit", r->limit);
	if (r->revision)
		ok = ok && add_i64(o, "revision", r->revision);
	if (r->keys_only)
		ok = ok && add_bool(o, "keys_only", true);
	if (r->count_only)
		ok = ok && add_bool(o, "count_only", true);
	if (ok)
		return o;
	ll_fail(err, errlen, "out of memory building a request to etcd");
err:
	json_object_put(o);
	return NULL;
}

char *etcd_req_range(const struct etcd_range_req *r, char *err, size_t errlen)
{
	json_object *o = range_obj(r, err, errlen);

	return o ? finish(o, true, err, errlen) : NULL;
}

static json_object *put_obj(const char *key, size_t key_len, const char *value, size_t value_len,
			    int64_t lease, char *err, size_t errlen)
{
	json_object *o = json_object_new_object();
	size_t klen = key ? (key_len ? key_len : strlen(key)) : 0;
	bool ok;

	if (!o) {
		ll_fail(err, errlen, "out of memory building a request to etcd");
		return NULL;
	}
	if (!klen) {
		ll_fail(err, errlen, "no key given (etcd has no empty key)");
		json_object_put(o);
		return NULL;
	}
	ok = add_bytes(o, "key", key, klen) && add_bytes(o, "value", value ? value : "", value_len);
	if (lease)
		ok = ok && add_i64(o, "lease", lease);
	if (!ok) {
		ll_fail(err, errlen, "out of memory building a request to etcd");
		json_object_put(o);
		return NULL;
	}
	return o;
}

char *etcd_req_put(const char *key, size_t key_len, const char *value, size_t value_len,
		   int64_t lease, char *err, size_t errlen)
{
	json_object *o = put_obj(key, key_len, value, value_len, lease, err, errlen);

	return o ? finish(o, true, err, errlen) : NULL;
}

static json_object *delete_obj(const struct etcd_keys *k, char *err, size_t errlen)
{
	json_object *o = json_object_new_object();

	if (!o) {
		ll_fail(err, errlen, "out of memory building a request to etcd");
		return NULL;
	}
	if (add_keys(o, k, err, errlen)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

char *etcd_req_delete(const struct etcd_keys *k, char *err, size_t errlen)
{
	json_object *o = delete_obj(k, err, errlen);

	return o ? finish(o, true, err, errlen) : NULL;
}

static const char *const cmp_target_name[] = {
	[ETCD_CMP_VERSION] = "VERSION", [ETCD_CMP_CREATE] = "CREATE", [ETCD_CMP_MOD] = "MOD",
	[ETCD_CMP_VALUE] = "VALUE", [ETCD_CMP_LEASE] = "LEASE",
};
static const char *const cmp_field_name[] = {
	[ETCD_CMP_VERSION] = "version", [ETCD_CMP_CREATE] = "create_revision",
	[ETCD_CMP_MOD] = "mod_revision", [ETCD_CMP_VALUE] = "value", [ETCD_CMP_LEASE] = "lease",
};
static const char *const cmp_result_name[] = {
	[ETCD_EQUAL] = "EQUAL", [ETCD_GREATER] = "GREATER", [ETCD_LESS] = "LESS",
	[ETCD_NOT_EQUAL] = "NOT_EQUAL",
};

static json_object *cmp_obj(const struct etcd_cmp *c, size_t i, char *err, size_t errlen)
{
	json_object *o;
	size_t klen = c->key ? (c->key_len ? c->key_len : strlen(c->key)) : 0;
	bool ok;

	if ((unsigned)c->target > ETCD_CMP_LEASE || (unsigned)c->result > ETCD_NOT_EQUAL) {
		ll_fail(err, errlen, "compare %zu: unknown target or result", i);
		return NULL;
	}
	if (!klen) {
		ll_fail(err, errlen, "compare %zu: no key given", i);
		return NULL;
	}
	o = json_object_new_object();
	ok = o && add_bytes(o, "key", c->key, klen) &&
	     add_str(o, "target", cmp_target_name[c->target]) &&
	     add_str(o, "result", cmp_result_name[c->result]);
	if (ok && c->target == ETCD_CMP_VALUE)
		ok = add_bytes(o, "value", c->value ? c->value : "", c->value_len);
	else if (ok)
		ok = add_i64(o, cmp_field_name[c->target], c->number);
	if (!ok) {
		json_object_put(o);
		ll_fail(err, errlen, "out of memory building a request to etcd");
		return NULL;
	}
	return o;
}

static json_object *op_obj(const struct etcd_op *op, const char *branch, size_t i, char *err,
			   size_t errlen)
{
	json_object *inner = NULL, *o;
	const char *name;
	char why[ETCD_ERR_MAX];
	struct etcd_range_req r;

	why[0] = '\0';
	switch (op->type) {
	case ETCD_OP_RANGE:
		r = (struct etcd_range_req){ .keys = op->keys, .limit = op->limit };
		inner = range_obj(&r, why, sizeof(why));
		name = "request_range";
		break;
	case ETCD_OP_PUT:
		if (op->keys.end || op->keys.prefix) {
			ll_fail(err, errlen, "%s op %zu: a put takes one key, not a range", branch, i);
			return NULL;
		}
		inner = put_obj(op->keys.key, op->keys.key_len, op->value, op->value_len, op->lease, why,
				sizeof(why));
		name = "request_put";
		break;
	case ETCD_OP_DELETE:
		inner = delete_obj(&op->keys, why, sizeof(why));
		name = "request_delete_range";
		break;
	default:
		ll_fail(err, errlen, "%s op %zu: unknown type %d", branch, i, (int)op->type);
		return NULL;
	}
	if (!inner) {
		ll_fail(err, errlen, "%s op %zu: %s", branch, i, why);
		return NULL;
	}
	o = json_object_new_object();
	if (!o || json_object_object_add(o, name, inner)) {
		json_object_put(o);
		json_object_put(inner);
		ll_fail(err, errlen, "out of memory building a request to etcd");
		return NULL;
	}
	return o;
}

static bool add_ops(json_object *t, const char *branch, const struct etcd_op *ops, size_t n,
		    char *err, size_t errlen)
{
	json_object *a;

	if (!n)
		return true;
	a = json_object_new_array();
	if (!a || json_object_object_add(t, branch, a)) {
		json_object_put(a);
		ll_fail(err, errlen, "out of memory building a request to etcd");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = op_obj(&ops[i], branch, i, err, errlen);

		if (!o)
			return false;
		if (json_object_array_add(a, o)) {
			json_object_put(o);
			ll_fail(err, errlen, "out of memory building a request to etcd");
			return false;
		}
	}
	return true;
}

char *etcd_req_txn(const struct etcd_txn *t, char *err, size_t errlen)
{
	json_object *o = json_object_new_object(), *a = NULL;

	if (!o)
		return finish(NULL, false, err, errlen);
	if (t->ncmp) {
		a = json_object_new_array();
		if (!a || json_object_object_add(o, "compare", a)) {
			json_object_put(a);
			return finish(o, false, err, errlen);
		}
		for (size_t i = 0; i < t->ncmp; i++) {
			json_object *c = cmp_obj(&t->cmp[i], i, err, errlen);

			if (!c || json_object_array_add(a, c)) {
				json_object_put(o);
				if (c) {
					json_object_put(c);
					ll_fail(err, errlen, "out of memory building a request to etcd");
				}
				return NULL;
			}
		}
	}
	if (!add_ops(o, "success", t->success, t->nsuccess, err, errlen) ||
	    !add_ops(o, "failure", t->failure, t->nfailure, err, errlen)) {
		json_object_put(o);
		return NULL;
	}
	return finish(o, true, err, errlen);
}

char *etcd_req_watch(const struct etcd_keys *k, int64_t start_revision, char *err, size_t errlen)
{
	json_object *o = json_object_new_object(), *create = json_object_new_object();

	if (!o || !create || json_object_object_add(o, "create_request", create)) {
		json_object_put(create);
		return finish(o, false, err, errlen);
	}
	if (add_keys(create, k, err, errlen)) {
		json_object_put(o);
		return NULL;
	}
	if (start_revision < 0) {
		json_object_put(o);
		ll_fail(err, errlen, "a negative start revision (%" PRId64 ")", start_revision);
		return NULL;
	}
	if (start_revision && !add_i64(create, "start_revision", start_revision))
		return finish(o, false, err, errlen);
	return finish(o, true, err, errlen);
}
