// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * store.c: the front of lunlink-policyd's store (store.h).  It picks the
 * backend from the URI's scheme, checks every argument against the bounds
 * all backends share -- so SQLite and etcd refuse an over-long key with
 * the same words, and a backend never sees one -- and calls the backend's
 * op.  It also owns the results' freeing and the error message.
 */
#include "store_backend.h"
#include "lunlink/errmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const struct ps_backend *const backends[] = { &ps_backend_sqlite, &ps_backend_etcd,
						     &ps_backend_etcds };
#define URI_EXAMPLE	"sqlite:/var/lib/lunlink/policy.db"

int ps_set_error(struct ps_store *st, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	return rc;
}

const char *ps_error(const struct ps_store *st)
{
	return st->err;
}

const char *ps_backend_name(const struct ps_store *st)
{
	return st->be->scheme;
}

int64_t ps_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the pure parts --------------------------------------------------------- */

void ps_quote(const char *s, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < len && i < 64; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = c >= 0x20 && c < 0x7f && c != '\\' ? 1 : 4;

		if (o + need >= outlen)
			break;
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (i < len && o + 3 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

int ps_uri_parse(const char *uri, const struct ps_backend **be, const char **rest,
		 char *err, size_t errlen)
{
	char q[4 * 64 + 4], known[64];
	const char *colon;
	size_t n, i, len;

	if (!uri || !*uri)
		return ll_fail(err, errlen, "store URI is empty (expected " URI_EXAMPLE ")");
	len = strnlen(uri, PS_URI_MAX + 1);
	if (len > PS_URI_MAX)
		return ll_fail(err, errlen, "store URI longer than %d bytes", PS_URI_MAX);
	ps_quote(uri, len, q, sizeof(q));
	colon = strchr(uri, ':');
	n = colon ? (size_t)(colon - uri) : 0;
	/* RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	for (i = 0; i < n; i++) {
		char c = uri[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (i && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))))
			break;
	}
	if (!n || i < n)
		return ll_fail(err, errlen, "store URI '%s': no scheme (expected " URI_EXAMPLE ")",
			       q);
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strlen(backends[i]->scheme) == n &&
		    !strncasecmp(uri, backends[i]->scheme, n)) {
			*be = backends[i];
			*rest = colon + 1;
			return 0;
		}
	}
	ps_quote(uri, n, q, sizeof(q));
	/* the known schemes from the table, so a new backend is listed by adding it there */
	for (i = 0, len = 0; i < sizeof(backends) / sizeof(backends[0]) && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "",
					backends[i]->scheme);
	return ll_fail(err, errlen, "store URI: unknown scheme '%s' (known: %s)", q, known);
}

int ps_check_key(const char *key, bool prefix, char *err, size_t errlen)
{
	const char *what = prefix ? "prefix" : "key";

	if (!key)
		return ll_fail(err, errlen, "%s missing", what);
	if (!prefix && !*key)
		return ll_fail(err, errlen, "empty key");
	if (strnlen(key, PS_KEY_MAX + 1) > PS_KEY_MAX)
		return ll_fail(err, errlen, "%s longer than %d bytes", what, PS_KEY_MAX);
	return 0;
}

static int check_value(const char *key, const char *value, size_t len, char *err,
		       size_t errlen)
{
	char q[4 * 64 + 4];

	ps_quote(key, strlen(key), q, sizeof(q));
	if (len > PS_VALUE_MAX)
		return ll_fail(err, errlen, "value of key '%s' longer than %d bytes (1 MiB)", q,
			       PS_VALUE_MAX);
	if (len && !value)
		return ll_fail(err, errlen, "value of key '%s' missing", q);
	return 0;
}

static bool has_prefix(const char *key, const char *prefix)
{
	return !strncmp(key, prefix, strlen(prefix));
}

/* One branch's ops: each valid, and no key written twice. */
static int check_ops(const struct ps_op *ops, size_t n, const char *branch, size_t *bytes,
		     char *err, size_t errlen)
{
	char q[4 * 64 + 4];
	size_t i, j;

	if (n > PS_TXN_OPS_MAX)
		return ll_fail(err, errlen, "more than %d ops in a transaction's %s branch",
			       PS_TXN_OPS_MAX, branch);
	if (n && !ops)
		return ll_fail(err, errlen, "transaction's %s ops missing", branch);
	for (i = 0; i < n; i++) {
		const struct ps_op *o = &ops[i];
		bool prefix = o->type == PS_OP_RANGE || o->type == PS_OP_DELETE_PREFIX;

		if ((unsigned int)o->type > PS_OP_DELETE_PREFIX)
			return ll_fail(err, errlen, "op %zu of the %s branch: unknown type %d", i,
				       branch, (int)o->type);
		if (ps_check_key(o->key, prefix, err, errlen))
			return -1;
		*bytes += strlen(o->key);
		if (o->type != PS_OP_PUT)
			continue;
		if (check_value(o->key, o->value, o->value_len, err, errlen))
			return -1;
		if (o->lease < 0)
			return ll_fail(err, errlen, "lease id %lld is not a lease (ids are > 0)",
				       (long long)o->lease);
		*bytes += o->value_len;
	}
	/* etcd refuses a txn that puts a key twice, or puts and deletes it */
	for (i = 0; i < n; i++) {
		if (ops[i].type != PS_OP_PUT)
			continue;
		for (j = 0; j < n; j++) {
			bool clash = false;

			if (j == i)
				continue;
			if (ops[j].type == PS_OP_PUT || ops[j].type == PS_OP_DELETE)
				clash = !strcmp(ops[i].key, ops[j].key);
			else if (ops[j].type == PS_OP_DELETE_PREFIX)
				clash = has_prefix(ops[i].key, ops[j].key);
			if (clash) {
				ps_quote(ops[i].key, strlen(ops[i].key), q, sizeof(q));
				return ll_fail(err, errlen,
					       "key '%s' written twice in one transaction", q);
			}
		}
	}
	return 0;
}

int ps_check_txn(const struct ps_txn *txn, char *err, size_t errlen)
{
	size_t i, bytes = 0;

	if (!txn)
		return ll_fail(err, errlen, "transaction missing");
	if (txn->ncmp > PS_TXN_OPS_MAX)
		return ll_fail(err, errlen, "more than %d compares in a transaction",
			       PS_TXN_OPS_MAX);
	if (txn->ncmp && !txn->cmp)
		return ll_fail(err, errlen, "transaction's compares missing");
	for (i = 0; i < txn->ncmp; i++) {
		const struct ps_cmp *c = &txn->cmp[i];

		if ((unsigned int)c->target > PS_CMP_LEASE)
			return ll_fail(err, errlen, "compare %zu: unknown target %d", i,
				       (int)c->target);
		if ((unsigned int)c->result > PS_LESS)
			return ll_fail(err, errlen, "compare %zu: unknown result %d", i,
				       (int)c->result);
		if (ps_check_key(c->key, false, err, errlen))
			return -1;
		bytes += strlen(c->key);
		if (c->target == PS_CMP_VALUE) {
			if (check_value(c->key, c->value, c->value_len, err, errlen))
				return -1;
			bytes += c->value_len;
		}
	}
	if (check_ops(txn->success, txn->nsuccess, "success", &bytes, err, errlen) ||
	    check_ops(txn->failure, txn->nfailure, "failure", &bytes, err, errlen))
		return -1;
	if (bytes > PS_TXN_BYTES_MAX)
		return ll_fail(err, errlen, "transaction of %zu bytes of keys and values, more than %d",
			       bytes, PS_TXN_BYTES_MAX);
	return 0;
}

size_t ps_prefix_end(const char *prefix, size_t len, char *end)
{
	while (len && (unsigned char)prefix[len - 1] == 0xff)
		len--;
	if (!len)
		return 0;
	memcpy(end, prefix, len);
	end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
	return len;
}

/* ---- dispatch ------------------------------------------------------------------ */

int ps_open(const char *uri, struct ps_store **out, char *err, size_t errlen)
{
	const struct ps_backend *be;
	struct ps_store *st = NULL;
	const char *rest;

	*out = NULL;
	if (ps_uri_parse(uri, &be, &rest, err, errlen))
		goto err;
	st = calloc(1, sizeof(*st));
	if (!st) {
		ll_fail(err, errlen, "store: %s", strerror(ENOMEM));
		goto err;
	}
	st->be = be;
	if (be->open(st, rest)) {
		ll_fail(err, errlen, "%s", st->err);
		goto err;
	}
	*out = st;
	return PS_OK;
err:
	free(st);
	return PS_ERROR;
}

void ps_close(struct ps_store *st)
{
	if (!st)
		return;
	st->be->close(st);
	free(st->fence_key);
	free(st);
}

/*
 * Whether ps_fence_until's predicate says the writer's term is over: then
 * the error says so, and the call returns PS_FENCED without asking the
 * store (every public call but open, close and the setters checks it).
 */
static bool term_over(struct ps_store *st)
{
	if (!st->fence_valid || st->fence_valid(st->fence_arg))
		return false;
	ps_set_error(st, PS_FENCED, "this manager no longer leads: its election lease ran out "
		     "(the store out of reach?); the store is not asked");
	return true;
}

void ps_fence_until(struct ps_store *st, bool (*valid)(void *arg), void *arg)
{
	st->fence_valid = valid;
	st->fence_arg = arg;
}

int ps_revision(struct ps_store *st, int64_t *revision, int64_t *compacted)
{
	int64_t r, c;
	int rc;

	if (term_over(st))
		return PS_FENCED;
	/* the compacted revision may cost etcd more reads: asked only if wanted */
	rc = st->be->revision(st, &r, compacted ? &c : NULL);
	if (rc)
		return rc;
	if (revision)
		*revision = r;
	if (compacted)
		*compacted = c;
	return PS_OK;
}

int ps_get(struct ps_store *st, const char *key, struct ps_kv *kv)
{
	struct ps_range r = { 0 };
	int rc;

	memset(kv, 0, sizeof(*kv));
	if (term_over(st))
		return PS_FENCED;
	if (ps_check_key(key, false, st->err, sizeof(st->err)))
		return PS_ERROR;
	rc = st->be->range(st, key, false, NULL, 1, &r);
	if (rc) {
		ps_range_free(&r);
		return rc;
	}
	if (!r.count) {
		char q[4 * 64 + 4];

		ps_quote(key, strlen(key), q, sizeof(q));
		ps_range_free(&r);
		return ps_set_error(st, PS_NOT_FOUND, "key '%s' not found", q);
	}
	*kv = r.kvs[0];
	free(r.kvs);
	return PS_OK;
}

int ps_range(struct ps_store *st, const char *prefix, const char *after, size_t limit,
	     struct ps_range *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (term_over(st))
		return PS_FENCED;
	if (ps_check_key(prefix, true, st->err, sizeof(st->err)) ||
	    (after && ps_check_key(after, true, st->err, sizeof(st->err))))
		return PS_ERROR;
	rc = st->be->range(st, prefix, true, after, limit, out);
	if (rc)
		ps_range_free(out);
	return rc;
}

int ps_fence(struct ps_store *st, const char *key, int64_t create_revision)
{
	char *k = NULL;

	if (key) {
		if (ps_check_key(key, false, st->err, sizeof(st->err)))
			return PS_ERROR;
		if (create_revision < 1)
			return ps_set_error(st, PS_ERROR, "fence on %s: revision %lld is not one "
					    "(revisions start at 1)", key, (long long)create_revision);
		if (!(k = strdup(key)))
			return ps_set_error(st, PS_ERROR, "store: %s", strerror(ENOMEM));
	}
	free(st->fence_key);
	st->fence_key = k;
	st->fence_rev = key ? create_revision : 0;
	return PS_OK;
}

/* The fence's key as it is now: still create_revision fence_rev? */
static int fence_holds(struct ps_store *st, bool *holds)
{
	struct ps_range r = { 0 };
	int rc = st->be->range(st, st->fence_key, false, NULL, 1, &r);

	if (rc) {
		ps_range_free(&r);
		return rc;
	}
	*holds = r.count && r.kvs[0].create_revision == st->fence_rev;
	ps_range_free(&r);
	return PS_OK;
}

/* txn with the fence's compare added (the caller's go first). */
static int txn_fenced(struct ps_store *st, const struct ps_txn *txn, struct ps_txn_result *res)
{
	struct ps_cmp cmp[PS_TXN_OPS_MAX + 1];
	struct ps_txn t = *txn;
	bool holds;
	int rc;

	if (txn->nfailure)
		return ps_set_error(st, PS_ERROR, "a fenced transaction takes no failure branch");
	if (txn->ncmp >= PS_TXN_OPS_MAX)
		return ps_set_error(st, PS_ERROR, "a fenced transaction takes at most %d compares",
				    PS_TXN_OPS_MAX - 1);
	if (txn->ncmp)
		memcpy(cmp, txn->cmp, txn->ncmp * sizeof(cmp[0]));
	cmp[txn->ncmp] = (struct ps_cmp){ .key = st->fence_key, .target = PS_CMP_CREATE_REVISION,
					  .result = PS_EQUAL, .number = st->fence_rev };
	t.cmp = cmp;
	t.ncmp = txn->ncmp + 1;
	rc = st->be->txn(st, &t, res);
	if (rc || res->succeeded)
		return rc;
	rc = fence_holds(st, &holds);
	if (rc)
		return rc;
	if (!holds)
		return ps_set_error(st, PS_FENCED, "the store refused the change: %s is no longer "
				    "the term %lld this manager was elected in (another manager "
				    "leads, or the election lapsed): this manager no longer leads",
				    st->fence_key, (long long)st->fence_rev);
	return PS_OK;
}

int ps_txn(struct ps_store *st, const struct ps_txn *txn, struct ps_txn_result *res)
{
	int rc;

	memset(res, 0, sizeof(*res));
	if (term_over(st))
		return PS_FENCED;
	if (ps_check_txn(txn, st->err, sizeof(st->err)))
		return PS_ERROR;
	rc = st->fence_key ? txn_fenced(st, txn, res) : st->be->txn(st, txn, res);
	if (rc)
		ps_txn_result_free(res);
	return rc;
}

int ps_put(struct ps_store *st, const char *key, const char *value, size_t value_len,
	   int64_t lease, int64_t *revision)
{
	struct ps_op op = { .type = PS_OP_PUT, .key = key, .value = value,
			    .value_len = value_len, .lease = lease };
	struct ps_txn txn = { .success = &op, .nsuccess = 1 };
	struct ps_txn_result res;
	int rc = ps_txn(st, &txn, &res);

	if (!rc && revision)
		*revision = res.revision;
	ps_txn_result_free(&res);
	return rc;
}

int ps_delete(struct ps_store *st, const char *key, bool prefix, int64_t *deleted,
	      int64_t *revision)
{
	struct ps_op op = { .type = prefix ? PS_OP_DELETE_PREFIX : PS_OP_DELETE, .key = key };
	struct ps_txn txn = { .success = &op, .nsuccess = 1 };
	struct ps_txn_result res;
	int rc = ps_txn(st, &txn, &res);

	if (!rc) {
		if (revision)
			*revision = res.revision;
		if (deleted)
			*deleted = res.ops[0].deleted;
	}
	ps_txn_result_free(&res);
	return rc;
}

int ps_compact(struct ps_store *st, int64_t revision)
{
	if (term_over(st))
		return PS_FENCED;
	if (revision < 1)
		return ps_set_error(st, PS_ERROR, "compact to revision %lld: revisions start at 1",
				    (long long)revision);
	return st->be->compact(st, revision);
}

/* ---- leases ---------------------------------------------------------------------- */

static int check_lease_id(struct ps_store *st, int64_t id)
{
	if (id <= 0)
		return ps_set_error(st, PS_ERROR, "lease id %lld is not a lease (ids are > 0)",
				    (long long)id);
	return PS_OK;
}

int ps_lease_grant(struct ps_store *st, int64_t ttl, int64_t *id)
{
	if (term_over(st))
		return PS_FENCED;
	if (ttl < 1 || ttl > PS_LEASE_TTL_MAX)
		return ps_set_error(st, PS_ERROR, "lease TTL %lld s out of range 1..%lld s",
				    (long long)ttl, PS_LEASE_TTL_MAX);
	return st->be->lease_grant(st, ttl, id);
}

int ps_lease_keepalive(struct ps_store *st, int64_t id, int64_t *ttl)
{
	int64_t t;
	int rc = check_lease_id(st, id);

	if (term_over(st))
		return PS_FENCED;
	if (!rc)
		rc = st->be->lease_keepalive(st, id, &t);
	if (!rc && ttl)
		*ttl = t;
	return rc;
}

int ps_lease_revoke(struct ps_store *st, int64_t id, int64_t *revision)
{
	int64_t r;
	int rc = check_lease_id(st, id);

	if (term_over(st))
		return PS_FENCED;
	if (!rc)
		rc = st->be->lease_revoke(st, id, &r);
	if (!rc && revision)
		*revision = r;
	return rc;
}

int ps_lease_ttl(struct ps_store *st, int64_t id, int64_t *remaining, int64_t *granted)
{
	int64_t r, g;
	int rc = check_lease_id(st, id);

	if (!rc)
		rc = st->be->lease_ttl(st, id, &r, &g);
	if (!rc && remaining)
		*remaining = r;
	if (!rc && granted)
		*granted = g;
	return rc;
}

int ps_lease_expire(struct ps_store *st, int64_t now_ms, int64_t *expired)
{
	int64_t n = 0;
	int rc;

	if (expired)
		*expired = 0;
	if (term_over(st))
		return PS_FENCED;
	rc = st->be->lease_expire(st, now_ms, &n);
	if (expired)
		*expired = n;
	return rc;
}

/* ---- watches ---------------------------------------------------------------------- */

int ps_watch_open(struct ps_store *st, const char *prefix, int64_t start_revision,
		  struct ps_watch **out)
{
	struct ps_watch *w = NULL;
	int rc = PS_ERROR;

	*out = NULL;
	if (term_over(st))
		return PS_FENCED;
	if (ps_check_key(prefix, true, st->err, sizeof(st->err)))
		goto err;
	if (start_revision < 0) {
		ps_set_error(st, PS_ERROR, "watch from revision %lld: revisions start at 1",
			     (long long)start_revision);
		goto err;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->prefix = strdup(prefix))) {
		ps_set_error(st, PS_ERROR, "watch: %s", strerror(ENOMEM));
		goto err;
	}
	w->start = start_revision;
	rc = st->be->watch_open(st, w);
	if (rc)
		goto err;
	*out = w;
	return PS_OK;
err:
	if (w)
		free(w->prefix);
	free(w);
	return rc;
}

int ps_watch_next(struct ps_store *st, struct ps_watch *w, struct ps_event *ev, size_t max)
{
	if (max > 65536)
		max = 65536;	/* the answer is an int */
	memset(ev, 0, max * sizeof(*ev));
	if (term_over(st))
		return PS_FENCED;
	return st->be->watch_next(st, w, ev, max);
}

int64_t ps_watch_revision(const struct ps_watch *w)
{
	return w->idx == PS_REV_DONE ? w->rev : w->rev - 1;
}

void ps_watch_close(struct ps_store *st, struct ps_watch *w)
{
	if (!w)
		return;
	st->be->watch_close(st, w);
	free(w->prefix);
	free(w);
}

int ps_notify_fd(struct ps_store *st)
{
	return st->be->notify_fd(st);
}

int ps_poll(struct ps_store *st)
{
	return st->be->poll(st);
}

/* ---- freeing ------------------------------------------------------------------------ */

void ps_kv_free(struct ps_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void ps_range_free(struct ps_range *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		ps_kv_free(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

void ps_txn_result_free(struct ps_txn_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nops; i++)
		ps_range_free(&r->ops[i].range);
	free(r->ops);
	memset(r, 0, sizeof(*r));
}

void ps_events_free(struct ps_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ps_kv_free(&ev[i].kv);
}
