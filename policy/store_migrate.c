// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * store_migrate.c: copy one policy store into another (store_migrate.h),
 * through store.h only.  Five steps: refuse a
 * target that holds anything; copy the keys page by page in guarded
 * transactions, granting a target lease for each source lease met; raise
 * the target's revision above the source's; read both back and compare;
 * compact the target's history of the copy away.
 *
 * Leases get the source lease's granted TTL, not its remaining time: the
 * store has no way to grant one TTL and start with less, and a keep-alive
 * renews for the granted TTL, so a lease granted with its remaining 3 s
 * would stay a 3 s lease for good, and a node renewing every 10 s would go
 * offline between renewals.  A full TTL is also what a restart gives every
 * lease anyway (SQLite on open, etcd on a leader change): while the
 * managers are stopped nobody can renew.
 *
 * Memory is bounded by a page of the source (PAGE keys) and one
 * transaction's keys and values, not by the store's size.  The lease map
 * is a plain array searched linearly: a manager holds a few dozen leases
 * (one per node online, one per join token).
 */
#include "store_backend.h"	/* ps_quote, ps_uri_parse */
#include "store_migrate.h"
#include "lunlink/errmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Keys read per page: 32 values of 1 MiB stay under the etcd client's
 * 64 MiB answer once base64'd. */
#define PAGE		32
#define QUOTE_MAX	(4 * 64 + 4)

/* ---- reading a whole store, page by page -------------------------------------- */

struct cursor {
	struct ps_store *st;
	struct ps_range page;
	size_t idx;
	char *after;		/* the last key of the page read: where the next starts */
	bool loaded, end;
	const char *why;	/* an error of the cursor's own, else the store's */
};

static const char *cursor_error(const struct cursor *c)
{
	return c->why ? c->why : ps_error(c->st);
}

/* The next key (*kv NULL at the end); the cursor owns it until the next
 * call, but the caller may take its key and value (zeroing them). */
static int cursor_next(struct cursor *c, struct ps_kv **kv)
{
	*kv = NULL;
	if (c->loaded && c->idx == c->page.count) {
		bool more = c->page.more;

		ps_range_free(&c->page);
		c->idx = 0;
		if (!more)
			c->end = true;
		else
			c->loaded = false;
	}
	if (c->end)
		return PS_OK;
	if (!c->loaded) {
		int rc = ps_range(c->st, "", c->after, PAGE, &c->page);

		if (rc)
			return rc;
		c->loaded = true;
		if (!c->page.count) {
			c->end = true;
			return PS_OK;
		}
		free(c->after);
		c->after = strdup(c->page.kvs[c->page.count - 1].key);
		if (!c->after) {
			c->why = strerror(ENOMEM);
			return PS_ERROR;
		}
	}
	*kv = &c->page.kvs[c->idx++];
	return PS_OK;
}

static void cursor_free(struct cursor *c)
{
	ps_range_free(&c->page);
	free(c->after);
	c->after = NULL;
}

/* ---- the copy's state ---------------------------------------------------------- */

struct lease_pair {
	int64_t from, to;
};

struct migration {
	struct ps_store *from, *to;
	const struct ps_migrate_opts *opts;
	struct ps_migrate_stats *stats;
	char *err;
	size_t errlen;
	struct lease_pair *leases;
	size_t nleases, cap;
	bool wrote;		/* the target has been changed: it must be cleared */
	/* the transaction being filled: keys and values taken from the pages */
	struct ps_kv batch[PS_TXN_OPS_MAX];
	size_t nbatch, batch_bytes;
};

static void progress(const struct migration *m, enum ps_migrate_step step)
{
	if (m->opts && m->opts->progress)
		m->opts->progress(m->opts->arg, step, m->stats);
}

static void quote(const char *key, char out[QUOTE_MAX])
{
	ps_quote(key, strlen(key), out, QUOTE_MAX);
}

/* The error, and once the target has been written to, what that means. */
static int fail(struct migration *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct migration *m, const char *fmt, ...)
{
	char q[QUOTE_MAX];
	va_list ap;
	size_t n;

	if (!m->err || !m->errlen)
		return PS_ERROR;
	va_start(ap, fmt);
	vsnprintf(m->err, m->errlen, fmt, ap);
	va_end(ap);
	n = strlen(m->err);
	if (!m->wrote || n >= m->errlen - 1)
		return PS_ERROR;
	quote(m->stats->last_key, q);
	snprintf(m->err + n, m->errlen - n,
		 "; %lld keys were copied (the last '%s') and %lld leases granted: the target "
		 "holds a partial copy: clear it (every key; a SQLite target: remove its file) "
		 "before trying again",
		 (long long)m->stats->keys, q, (long long)m->stats->leases);
	return PS_ERROR;
}

/* ---- step 1: an empty target ---------------------------------------------------------- */

static int check_empty(struct migration *m)
{
	struct cursor c = { .st = m->to };
	char first[QUOTE_MAX] = "";
	struct ps_kv *kv;
	int64_t n = 0;
	int rc;

	while (!(rc = cursor_next(&c, &kv)) && kv) {
		if (!n++)
			quote(kv->key, first);
	}
	if (rc)
		fail(m, "target: reading its keys: %s", cursor_error(&c));
	cursor_free(&c);
	if (rc)
		return PS_ERROR;
	if (n)
		return fail(m, "target is not empty: it holds %lld key%s, the first '%s'; a store "
			    "is copied into an empty one only: clear it knowingly first (etcd: "
			    "etcdctl del '' --from-key; SQLite: a new file)",
			    (long long)n, n == 1 ? "" : "s", first);
	return PS_OK;
}

/* ---- step 2: the copy ------------------------------------------------------------------- */

/* The target lease standing for the source's lease from; -1 if none yet
 * (lease ids are > 0). */
static int64_t mapped(const struct migration *m, int64_t from)
{
	for (size_t i = 0; i < m->nleases; i++)
		if (m->leases[i].from == from)
			return m->leases[i].to;
	return -1;
}

/* The target lease standing for the source's id, granted on first sight. */
static int map_lease(struct migration *m, const char *key, int64_t id, int64_t *out)
{
	char q[QUOTE_MAX];
	int64_t granted = 0, to = 0;
	int rc;

	if ((*out = mapped(m, id)) > 0)
		return PS_OK;
	rc = ps_lease_ttl(m->from, id, NULL, &granted);
	quote(key, q);
	if (rc == PS_NOT_FOUND)
		return fail(m, "source: lease %lld of key '%s' expired during the copy (nobody "
			    "renews leases while the managers are stopped): its keys are gone from "
			    "the source; try again", (long long)id, q);
	if (rc)
		return fail(m, "source: lease %lld of key '%s': %s", (long long)id, q,
			    ps_error(m->from));
	if (m->nleases == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct lease_pair *p = realloc(m->leases, cap * sizeof(*p));

		if (!p)
			return fail(m, "lease map: %s", strerror(ENOMEM));
		m->leases = p;
		m->cap = cap;
	}
	if (ps_lease_grant(m->to, granted < 1 ? 1 : granted, &to))
		return fail(m, "target: granting a lease of %lld s for source lease %lld: %s",
			    (long long)(granted < 1 ? 1 : granted), (long long)id, ps_error(m->to));
	m->wrote = true;
	m->leases[m->nleases++] = (struct lease_pair){ .from = id, .to = to };
	m->stats->leases++;
	*out = to;
	return PS_OK;
}

static void batch_clear(struct migration *m)
{
	for (size_t i = 0; i < m->nbatch; i++)
		ps_kv_free(&m->batch[i]);
	m->nbatch = 0;
	m->batch_bytes = 0;
}

/* Which of the batch's keys the target has (the compare that failed). */
static const char *batch_clash(struct migration *m)
{
	struct ps_kv kv;

	for (size_t i = 0; i < m->nbatch; i++) {
		if (!ps_get(m->to, m->batch[i].key, &kv)) {
			ps_kv_free(&kv);
			return m->batch[i].key;
		}
	}
	return m->batch[0].key;
}

/* Put the batch in one transaction: each key only if the target has none. */
static int batch_flush(struct migration *m)
{
	struct ps_cmp cmp[PS_TXN_OPS_MAX];
	struct ps_op op[PS_TXN_OPS_MAX];
	struct ps_txn txn = { .cmp = cmp, .ncmp = m->nbatch, .success = op, .nsuccess = m->nbatch };
	struct ps_txn_result res;
	char q[QUOTE_MAX], q2[QUOTE_MAX];
	int rc;

	if (!m->nbatch)
		return PS_OK;
	for (size_t i = 0; i < m->nbatch; i++) {
		const struct ps_kv *kv = &m->batch[i];

		cmp[i] = (struct ps_cmp){ .key = kv->key, .target = PS_CMP_CREATE_REVISION,
					  .result = PS_EQUAL, .number = 0 };
		op[i] = (struct ps_op){ .type = PS_OP_PUT, .key = kv->key, .value = kv->value,
					.value_len = kv->value_len, .lease = kv->lease };
	}
	rc = ps_txn(m->to, &txn, &res);
	m->wrote = true;	/* an error may leave it unknown whether it committed */
	quote(m->batch[0].key, q);
	quote(m->batch[m->nbatch - 1].key, q2);
	if (rc) {
		fail(m, "target: writing keys '%s' to '%s': %s", q, q2, ps_error(m->to));
		goto out;
	}
	if (!res.succeeded) {
		quote(batch_clash(m), q);
		rc = fail(m, "target: key '%s' was written there meanwhile by another writer (the "
			  "target must have no other writer during a copy); nothing of it was "
			  "overwritten", q);
		goto out;
	}
	m->stats->txns++;
	m->stats->keys += (int64_t)m->nbatch;
	for (size_t i = 0; i < m->nbatch; i++) {
		m->stats->bytes += (int64_t)(strlen(m->batch[i].key) + m->batch[i].value_len);
		if (m->batch[i].lease)
			m->stats->leased_keys++;
	}
	snprintf(m->stats->last_key, sizeof(m->stats->last_key), "%s",
		 m->batch[m->nbatch - 1].key);
	progress(m, PS_MIGRATE_COPY);
out:
	ps_txn_result_free(&res);
	batch_clear(m);
	return rc ? PS_ERROR : PS_OK;
}

static int copy_keys(struct migration *m)
{
	struct cursor c = { .st = m->from };
	struct ps_kv *kv;
	int rc;

	while (!(rc = cursor_next(&c, &kv)) && kv) {
		/* the compare names the key too: each key counts twice */
		size_t bytes = 2 * strlen(kv->key) + kv->value_len;
		int64_t lease = 0;

		if (kv->lease && map_lease(m, kv->key, kv->lease, &lease))
			goto err;
		if ((m->nbatch == PS_TXN_OPS_MAX || m->batch_bytes + bytes > PS_TXN_BYTES_MAX) &&
		    batch_flush(m))
			goto err;
		/* take the key and value from the page: the batch frees them */
		m->batch[m->nbatch] = *kv;
		m->batch[m->nbatch].lease = lease;
		memset(kv, 0, sizeof(*kv));
		m->nbatch++;
		m->batch_bytes += bytes;
	}
	if (rc) {
		fail(m, "source: reading its keys: %s", cursor_error(&c));
		goto err;
	}
	cursor_free(&c);
	return batch_flush(m);
err:
	cursor_free(&c);
	batch_clear(m);
	return PS_ERROR;
}

/* ---- step 3: the revision ------------------------------------------------------------ */

/*
 * Puts of the scratch key until the target's revision reaches the
 * source's, then its delete: one revision more, so above it.  Each put is
 * a revision and a commit of its own (on etcd, one more entry in the
 * cluster's history until compacted): a source at revision R costs up to
 * R puts.  Each is guarded, so a key of that name copied from the source,
 * or another writer's, is never overwritten.
 */
static int raise_revision(struct migration *m)
{
	struct ps_cmp cmp = { .key = PS_MIGRATE_SCRATCH_KEY, .target = PS_CMP_CREATE_REVISION,
			      .result = PS_EQUAL, .number = 0 };
	struct ps_op op = { .type = PS_OP_PUT, .key = PS_MIGRATE_SCRATCH_KEY };
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res;
	int64_t source, rev;
	char value[64];
	bool ok;

	if (ps_revision(m->from, &source, NULL))
		return fail(m, "source: its revision: %s", ps_error(m->from));
	if (source > m->stats->source_revision)
		m->stats->source_revision = source;
	source = m->stats->source_revision;
	if (ps_revision(m->to, &rev, NULL))
		return fail(m, "target: its revision: %s", ps_error(m->to));
	m->stats->copied_revision = rev;
	progress(m, PS_MIGRATE_RAISE);
	if (rev > source)
		return PS_OK;
	op.value = value;
	while (rev < source || !m->stats->raise_puts) {
		op.value_len = (size_t)snprintf(value, sizeof(value),
						"raising the revision to %lld", (long long)source);
		if (ps_txn(m->to, &txn, &res))
			return fail(m, "target: raising its revision (at %lld, to pass %lld): %s",
				    (long long)rev, (long long)source, ps_error(m->to));
		ok = res.succeeded;
		rev = res.revision;
		ps_txn_result_free(&res);
		if (!ok)
			return fail(m, "target: key '" PS_MIGRATE_SCRATCH_KEY "' exists or was "
				    "changed meanwhile: it is the copy's own, to raise the revision; "
				    "another writer?");
		if (!(++m->stats->raise_puts % 1000))
			progress(m, PS_MIGRATE_RAISE);
		/* the next put and the delete: only if it is still ours */
		cmp.target = PS_CMP_MOD_REVISION;
		cmp.number = rev;
	}
	op = (struct ps_op){ .type = PS_OP_DELETE, .key = PS_MIGRATE_SCRATCH_KEY };
	if (ps_txn(m->to, &txn, &res))
		return fail(m, "target: deleting '" PS_MIGRATE_SCRATCH_KEY "': %s", ps_error(m->to));
	ok = res.succeeded;
	ps_txn_result_free(&res);
	if (!ok)
		return fail(m, "target: key '" PS_MIGRATE_SCRATCH_KEY "' was changed meanwhile by "
			    "another writer");
	return PS_OK;
}

/* ---- step 4: the comparison --------------------------------------------------------- */

static int verify(struct migration *m)
{
	struct cursor a = { .st = m->from }, b = { .st = m->to };
	struct ps_kv *x, *y;
	char q[QUOTE_MAX];
	int64_t n = 0;
	int rc = PS_OK;

	for (;;) {
		if (cursor_next(&a, &x)) {
			rc = fail(m, "verify: source: %s", cursor_error(&a));
			break;
		}
		if (cursor_next(&b, &y)) {
			rc = fail(m, "verify: target: %s", cursor_error(&b));
			break;
		}
		if (!x && !y)
			break;
		if (x && y)
			quote(strcmp(x->key, y->key) < 0 ? x->key : y->key, q);
		else
			quote(x ? x->key : y->key, q);
		if (!y || (x && strcmp(x->key, y->key) < 0)) {
			rc = fail(m, "verify: key '%s' is in the source but not in the target", q);
			break;
		}
		if (!x || strcmp(x->key, y->key) > 0) {
			rc = fail(m, "verify: key '%s' is in the target but not in the source%s", q,
				  y->lease ?
				  " (on a lease: did its source lease expire meanwhile?)" : "");
			break;
		}
		if (x->value_len != y->value_len || memcmp(x->value, y->value, x->value_len)) {
			rc = fail(m, "verify: key '%s': the target's value (%zu bytes) differs from "
				  "the source's (%zu bytes)", q, y->value_len, x->value_len);
			break;
		}
		if (x->lease ? mapped(m, x->lease) != y->lease : y->lease != 0) {
			rc = fail(m, "verify: key '%s': on target lease %lld, not the one standing "
				  "for source lease %lld", q, (long long)y->lease,
				  (long long)x->lease);
			break;
		}
		n++;
	}
	cursor_free(&a);
	cursor_free(&b);
	if (!rc && n != m->stats->keys)
		rc = fail(m, "verify: %lld keys compared equal, but %lld were copied",
			  (long long)n, (long long)m->stats->keys);
	return rc;
}

/* ---- the whole ------------------------------------------------------------------------- */

int ps_migrate(struct ps_store *from, struct ps_store *to, const struct ps_migrate_opts *opts,
	       struct ps_migrate_stats *stats, char *err, size_t errlen)
{
	struct migration *m;
	int rc = PS_ERROR;

	memset(stats, 0, sizeof(*stats));
	m = calloc(1, sizeof(*m));
	if (!m)
		return ll_fail(err, errlen, "migrate: %s", strerror(ENOMEM));
	*m = (struct migration){ .from = from, .to = to, .opts = opts, .stats = stats, .err = err,
				 .errlen = errlen };
	if (ps_revision(from, &stats->source_revision, NULL)) {
		fail(m, "source: its revision: %s", ps_error(from));
		goto out;
	}
	progress(m, PS_MIGRATE_CHECK);
	if (check_empty(m))
		goto out;
	progress(m, PS_MIGRATE_COPY);
	if (copy_keys(m) || raise_revision(m))
		goto out;
	progress(m, PS_MIGRATE_VERIFY);
	if (verify(m))
		goto out;
	if (ps_revision(to, &stats->revision, NULL)) {
		fail(m, "target: its revision: %s", ps_error(to));
		goto out;
	}
	/* the copy's puts are not the manager's history: a watch from before
	 * now is told to read afresh (PS_COMPACTED) rather than replay them */
	progress(m, PS_MIGRATE_COMPACT);
	rc = ps_compact(to, stats->revision);
	if (rc && rc != PS_COMPACTED) {
		fail(m, "target: compacting the copy's history to revision %lld: %s "
		     "(the keys are copied and verified)", (long long)stats->revision,
		     ps_error(to));
		goto out;
	}
	rc = PS_OK;
out:
	batch_clear(m);
	free(m->leases);
	free(m);
	return rc ? PS_ERROR : PS_OK;
}

int ps_migrate_uri(const char *from_uri, const char *to_uri, const struct ps_migrate_opts *opts,
		   struct ps_migrate_stats *stats, char *err, size_t errlen)
{
	struct ps_store *from = NULL, *to = NULL;
	const struct ps_backend *be;
	char why[PS_ERR_MAX];
	const char *rest;
	struct stat sb;
	int rc = PS_ERROR;

	memset(stats, 0, sizeof(*stats));
	if (!strcmp(from_uri, to_uri))
		return ll_fail(err, errlen, "source and target are the same store '%s'", from_uri);
	/* opening a SQLite store makes the file: a mistyped source would be
	 * copied as an empty store */
	if (!ps_uri_parse(from_uri, &be, &rest, NULL, 0) && be == &ps_backend_sqlite && *rest &&
	    stat(rest, &sb))
		return ll_fail(err, errlen, "source '%s': %s%s", from_uri, strerror(errno),
			       errno == ENOENT ? " (a source store must exist)" : "");
	if (ps_open(from_uri, &from, why, sizeof(why))) {
		ll_fail(err, errlen, "source: %s", why);
		goto out;
	}
	if (ps_open(to_uri, &to, why, sizeof(why))) {
		ll_fail(err, errlen, "target: %s", why);
		goto out;
	}
	rc = ps_migrate(from, to, opts, stats, err, errlen);
out:
	ps_close(to);
	ps_close(from);
	return rc;
}
