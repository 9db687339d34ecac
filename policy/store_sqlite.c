// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * store_sqlite.c: the embedded backend of lunlink-policyd's store
 * (store.h), one SQLite file in WAL mode, for a manager that runs alone.
 *
 * Every call that changes state is one SQLite transaction (BEGIN
 * IMMEDIATE), committed with synchronous=FULL, so a revision reported
 * committed survives a crash or a power cut; every read is one read
 * transaction, so it sees one revision.  Nothing is cached between calls
 * but prepared statements: the revision, the keys, the leases and the
 * history live in the file (schema in doc/store.md), and two handles on
 * one file (two processes) stay consistent.
 *
 * The file holds current values only (no old versions), plus the event
 * history that watches read, trimmed by ps_compact.  Change notification
 * is an eventfd rung after each commit through this handle.  The leases
 * are in store_sqlite_lease.c.
 */
#include "store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define SQ_SCHEMA_VERSION	1
#define SQ_APPLICATION_ID	0x4c4c7073	/* "LLps" */
#define SQ_BUSY_MS		5000		/* wait this long for another writer */

static const char *const sql_text[S_COUNT] = {
	[S_BEGIN]		= "BEGIN",
	[S_BEGIN_IMMEDIATE]	= "BEGIN IMMEDIATE",
	[S_COMMIT]		= "COMMIT",
	[S_REVS]		= "SELECT (SELECT value FROM meta WHERE name = 'revision'),"
				  " (SELECT value FROM meta WHERE name = 'compacted')",
	[S_SET_META]		= "UPDATE meta SET value = ?2 WHERE name = ?1",
	[S_GET]			= "SELECT key, value, create_rev, mod_rev, version, lease"
				  " FROM kv WHERE key = ?1",
	[S_RANGE]		= "SELECT key, value, create_rev, mod_rev, version, lease FROM kv"
				  " WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) AND key > ?3"
				  " ORDER BY key LIMIT ?4",
	[S_RANGE_KEYS]		= "SELECT key FROM kv WHERE key >= ?1 AND (?2 IS NULL OR key < ?2)"
				  " ORDER BY key",
	[S_PUT]			= "INSERT OR REPLACE INTO kv(key, value, create_rev, mod_rev,"
				  " version, lease) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[S_DEL]			= "DELETE FROM kv WHERE key = ?1",
	[S_EVENT_ADD]		= "INSERT INTO event(rev, idx, type, key, value, create_rev,"
				  " version, lease) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_EVENTS]		= "SELECT rev, idx, type, key, value, create_rev, version, lease"
				  " FROM event WHERE (rev, idx) > (?1, ?2) AND key >= ?3"
				  " AND (?4 IS NULL OR key < ?4) ORDER BY rev, idx LIMIT ?5",
	[S_COMPACT]		= "DELETE FROM event WHERE rev < ?1",
	[S_LEASE_GET]		= "SELECT ttl, deadline_ms FROM lease WHERE id = ?1",
	[S_LEASE_ADD]		= "INSERT INTO lease(ttl, deadline_ms) VALUES(?1, ?2)",
	[S_LEASE_SET]		= "UPDATE lease SET deadline_ms = ?2 WHERE id = ?1",
	[S_LEASE_DEL]		= "DELETE FROM lease WHERE id = ?1",
	[S_LEASE_KEYS]		= "SELECT key FROM kv WHERE lease = ?1 ORDER BY key",
	[S_LEASE_DUE]		= "SELECT id FROM lease WHERE deadline_ms <= ?1"
				  " ORDER BY deadline_ms, id LIMIT 1",
	[S_LEASE_GRACE]		= "UPDATE lease SET deadline_ms = max(deadline_ms, ?1 + ttl * 1000)",
};

/* The schema of version 1; doc/store.md explains each column. */
static const char schema_sql[] =
	"CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES('revision', 1), ('compacted', 0);"
	"CREATE TABLE kv(key BLOB PRIMARY KEY, value BLOB NOT NULL,"
	" create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL,"
	" version INTEGER NOT NULL, lease INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX kv_lease ON kv(lease) WHERE lease != 0;"
	"CREATE TABLE lease(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" ttl INTEGER NOT NULL, deadline_ms INTEGER NOT NULL);"
	"CREATE TABLE event(rev INTEGER NOT NULL, idx INTEGER NOT NULL,"
	" type INTEGER NOT NULL, key BLOB NOT NULL, value BLOB,"
	" create_rev INTEGER NOT NULL, version INTEGER NOT NULL,"
	" lease INTEGER NOT NULL, PRIMARY KEY(rev, idx)) WITHOUT ROWID;"
	"PRAGMA application_id = 1280077939;"	/* SQ_APPLICATION_ID */
	"PRAGMA user_version = 1;";		/* SQ_SCHEMA_VERSION */

struct sq *sq_of(struct ps_store *st)
{
	return st->priv;
}

/* The message from SQLite's last failure, naming the file. */
int sq_fail(struct ps_store *st)
{
	struct sq *s = sq_of(st);

	return ps_set_error(st, PS_ERROR, "sqlite: %s: %s", s->path, sqlite3_errmsg(s->db));
}

int sq_nomem(struct ps_store *st)
{
	return ps_set_error(st, PS_ERROR, "sqlite: %s: %s", sq_of(st)->path, strerror(ENOMEM));
}

/* Statement i, prepared once, reset and unbound. */
sqlite3_stmt *sq_stmt(struct ps_store *st, enum sq_stmt i)
{
	struct sq *s = sq_of(st);

	if (!s->stmt[i]) {
		if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->stmt[i], NULL) != SQLITE_OK) {
			sq_fail(st);
			return NULL;
		}
	} else {
		sqlite3_reset(s->stmt[i]);
		sqlite3_clear_bindings(s->stmt[i]);
	}
	return s->stmt[i];
}

/* Step a statement that returns no rows; 0 or -1. */
int sq_done(struct ps_store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	if (rc != SQLITE_DONE) {
		sq_fail(st);
		sqlite3_reset(q);
		return -1;
	}
	sqlite3_reset(q);
	return 0;
}

static int sq_exec(struct ps_store *st, enum sq_stmt i)
{
	sqlite3_stmt *q = sq_stmt(st, i);

	return q ? sq_done(st, q) : -1;
}

int sq_begin(struct ps_store *st, bool write)
{
	return sq_exec(st, write ? S_BEGIN_IMMEDIATE : S_BEGIN);
}

int sq_commit(struct ps_store *st)
{
	return sq_exec(st, S_COMMIT);
}

/* Undo the open transaction, keeping the message of what failed. */
void sq_rollback(struct ps_store *st)
{
	struct sq *s = sq_of(st);

	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

void sq_notify(struct ps_store *st)
{
	uint64_t one = 1;
	ssize_t n = write(sq_of(st)->efd, &one, sizeof(one));

	(void)n;	/* EAGAIN: the counter is full, so it is readable anyway */
}

static int bind_key(sqlite3_stmt *q, int col, const char *key)
{
	return sqlite3_bind_blob(q, col, key, (int)strlen(key), SQLITE_STATIC);
}

/* The upper bound of a prefix's keys, or NULL bound if it has none. */
static int bind_prefix_end(sqlite3_stmt *q, int col, const char *prefix, char *end)
{
	size_t n = ps_prefix_end(prefix, strlen(prefix), end);

	return n ? sqlite3_bind_blob(q, col, end, (int)n, SQLITE_STATIC) :
		   sqlite3_bind_null(q, col);
}

static char *col_bytes(sqlite3_stmt *q, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(q, col);
	size_t n = (size_t)sqlite3_column_bytes(q, col);
	char *b = malloc(n + 1);

	if (!b)
		return NULL;
	if (n)
		memcpy(b, p, n);
	b[n] = '\0';
	if (len)
		*len = n;
	return b;
}

/* A kv from a row of key, value, create_rev, mod_rev, version, lease. */
static int row_kv(struct ps_store *st, sqlite3_stmt *q, struct ps_kv *kv)
{
	kv->key = col_bytes(q, 0, NULL);
	kv->value = col_bytes(q, 1, &kv->value_len);
	kv->create_revision = sqlite3_column_int64(q, 2);
	kv->mod_revision = sqlite3_column_int64(q, 3);
	kv->version = sqlite3_column_int64(q, 4);
	kv->lease = sqlite3_column_int64(q, 5);
	if (!kv->key || !kv->value) {
		ps_kv_free(kv);
		return sq_nomem(st);
	}
	return 0;
}

int sq_revs(struct ps_store *st, int64_t *rev, int64_t *compacted)
{
	sqlite3_stmt *q = sq_stmt(st, S_REVS);

	if (!q)
		return -1;
	if (sqlite3_step(q) != SQLITE_ROW) {
		sq_fail(st);
		sqlite3_reset(q);
		return -1;
	}
	*rev = sqlite3_column_int64(q, 0);
	if (compacted)
		*compacted = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	return 0;
}

int sq_set_meta(struct ps_store *st, const char *name, int64_t value)
{
	sqlite3_stmt *q = sq_stmt(st, S_SET_META);

	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, value);
	return sq_done(st, q);
}

/* ---- reads, inside a transaction ------------------------------------------- */

/* Key exactly: 1 found (*kv filled), 0 not, -1 error. */
static int sq_get_in(struct ps_store *st, const char *key, struct ps_kv *kv)
{
	sqlite3_stmt *q = sq_stmt(st, S_GET);
	int rc;

	if (!q)
		return -1;
	bind_key(q, 1, key);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		rc = row_kv(st, q, kv) ? -1 : 1;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sq_fail(st);
	sqlite3_reset(q);
	return rc;
}

static int sq_range_in(struct ps_store *st, const char *key, bool prefix, const char *after,
		       size_t limit, struct ps_range *out)
{
	char end[PS_KEY_MAX];
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc;

	if (!prefix) {
		out->kvs = calloc(1, sizeof(*out->kvs));
		if (!out->kvs)
			return sq_nomem(st);
		rc = sq_get_in(st, key, &out->kvs[0]);
		if (rc < 0)
			return -1;
		out->count = (size_t)rc;
		return 0;
	}
	q = sq_stmt(st, S_RANGE);
	if (!q)
		return -1;
	bind_key(q, 1, key);
	bind_prefix_end(q, 2, key, end);
	if (after)
		bind_key(q, 3, after);
	else
		sqlite3_bind_zeroblob(q, 3, 0);
	/* one more than asked, to tell whether there are more */
	sqlite3_bind_int64(q, 4, limit && limit < INT64_MAX ? (int64_t)limit + 1 : -1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (limit && out->count == limit) {
			out->more = true;
			break;
		}
		if (out->count == cap) {
			struct ps_kv *n = realloc(out->kvs, (cap = cap ? 2 * cap : 16) * sizeof(*n));

			if (!n) {
				sq_nomem(st);
				goto err;
			}
			out->kvs = n;
		}
		if (row_kv(st, q, &out->kvs[out->count]))
			goto err;
		out->count++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_fail(st);
		goto err;
	}
	sqlite3_reset(q);
	return 0;
err:
	sqlite3_reset(q);
	return -1;
}

static int sq_range(struct ps_store *st, const char *key, bool prefix, const char *after,
		    size_t limit, struct ps_range *out)
{
	if (sq_begin(st, false))
		return PS_ERROR;
	if (sq_revs(st, &out->revision, NULL) ||
	    sq_range_in(st, key, prefix, after, limit, out) || sq_commit(st))
		goto err;
	return PS_OK;
err:
	sq_rollback(st);
	return PS_ERROR;
}

static int sq_revision(struct ps_store *st, int64_t *revision, int64_t *compacted)
{
	if (sq_begin(st, false))
		return PS_ERROR;
	if (sq_revs(st, revision, compacted) || sq_commit(st))
		goto err;
	return PS_OK;
err:
	sq_rollback(st);
	return PS_ERROR;
}

/* ---- writes, inside a write transaction ---------------------------------------- */

static int sq_event(struct ps_store *st, struct sq_writer *w, enum ps_event_type type,
		    const struct ps_kv *kv)
{
	sqlite3_stmt *q = sq_stmt(st, S_EVENT_ADD);

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, w->rev);
	sqlite3_bind_int64(q, 2, w->idx++);
	sqlite3_bind_int(q, 3, (int)type);
	bind_key(q, 4, kv->key);
	if (type == PS_EVENT_PUT)
		sqlite3_bind_blob(q, 5, kv->value ? kv->value : "", (int)kv->value_len,
				  SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, kv->create_revision);
	sqlite3_bind_int64(q, 7, kv->version);
	sqlite3_bind_int64(q, 8, kv->lease);
	return sq_done(st, q);
}

static int sq_lease_exists(struct ps_store *st, int64_t id)
{
	sqlite3_stmt *q = sq_stmt(st, S_LEASE_GET);
	int rc;

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sq_fail(st);
}

static int sq_put_in(struct ps_store *st, struct sq_writer *w, const struct ps_op *op)
{
	struct ps_kv old = { 0 };
	struct ps_kv kv = { .key = (char *)op->key, .value = (char *)op->value,
			    .value_len = op->value_len, .mod_revision = w->rev,
			    .lease = op->lease };
	sqlite3_stmt *q;
	int found;

	if (op->lease) {
		found = sq_lease_exists(st, op->lease);
		if (found < 0)
			return PS_ERROR;
		if (!found)
			return ps_set_error(st, PS_NOT_FOUND, "lease %lld not found",
					    (long long)op->lease);
	}
	found = sq_get_in(st, op->key, &old);
	if (found < 0)
		return PS_ERROR;
	kv.create_revision = found ? old.create_revision : w->rev;
	kv.version = found ? old.version + 1 : 1;
	ps_kv_free(&old);
	q = sq_stmt(st, S_PUT);
	if (!q)
		return PS_ERROR;
	bind_key(q, 1, kv.key);
	sqlite3_bind_blob(q, 2, kv.value ? kv.value : "", (int)kv.value_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, kv.create_revision);
	sqlite3_bind_int64(q, 4, kv.mod_revision);
	sqlite3_bind_int64(q, 5, kv.version);
	sqlite3_bind_int64(q, 6, kv.lease);
	if (sq_done(st, q) || sq_event(st, w, PS_EVENT_PUT, &kv))
		return PS_ERROR;
	return PS_OK;
}

/* Delete the keys a statement (already bound) selects; *n counts them. */
int sq_delete_selected(struct ps_store *st, struct sq_writer *w, sqlite3_stmt *sel, int64_t *n)
{
	char **keys = NULL;
	size_t count = 0, cap = 0, i;
	sqlite3_stmt *q;
	int rc;

	/* collect first: no deleting under a running SELECT of the same table */
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		if (count == cap) {
			char **nk = realloc(keys, (cap = cap ? 2 * cap : 16) * sizeof(*nk));

			if (!nk)
				goto nomem;
			keys = nk;
		}
		if (!(keys[count] = col_bytes(sel, 0, NULL)))
			goto nomem;
		count++;
	}
	if (rc != SQLITE_DONE) {
		sq_fail(st);
		goto err;
	}
	sqlite3_reset(sel);
	for (i = 0; i < count; i++) {
		struct ps_kv kv = { .key = keys[i], .mod_revision = w->rev };

		q = sq_stmt(st, S_DEL);
		if (!q)
			goto err;
		bind_key(q, 1, keys[i]);
		if (sq_done(st, q) || sq_event(st, w, PS_EVENT_DELETE, &kv))
			goto err;
	}
	*n = (int64_t)count;
	for (i = 0; i < count; i++)
		free(keys[i]);
	free(keys);
	return 0;
nomem:
	sq_nomem(st);
err:
	sqlite3_reset(sel);
	for (i = 0; i < count; i++)
		free(keys[i]);
	free(keys);
	return -1;
}

static int sq_delete_in(struct ps_store *st, struct sq_writer *w, const struct ps_op *op,
			int64_t *n)
{
	char end[PS_KEY_MAX];
	sqlite3_stmt *q = sq_stmt(st, op->type == PS_OP_DELETE ? S_GET : S_RANGE_KEYS);

	if (!q)
		return -1;
	bind_key(q, 1, op->key);
	if (op->type == PS_OP_DELETE_PREFIX)
		bind_prefix_end(q, 2, op->key, end);
	return sq_delete_selected(st, w, q, n);
}

/* Does c hold for kv (NULL: the key is missing)? */
static bool cmp_holds(const struct ps_cmp *c, const struct ps_kv *kv)
{
	static const struct ps_kv missing;
	int64_t have = 0;
	int sign;

	if (c->target == PS_CMP_VALUE) {
		size_t n;

		if (!kv)
			return false;
		n = kv->value_len < c->value_len ? kv->value_len : c->value_len;
		sign = n ? memcmp(kv->value, c->value, n) : 0;
		if (!sign)
			sign = (kv->value_len > c->value_len) - (kv->value_len < c->value_len);
	} else {
		if (!kv)
			kv = &missing;
		switch (c->target) {
		case PS_CMP_VERSION:		have = kv->version; break;
		case PS_CMP_CREATE_REVISION:	have = kv->create_revision; break;
		case PS_CMP_MOD_REVISION:	have = kv->mod_revision; break;
		default:			have = kv->lease; break;
		}
		sign = (have > c->number) - (have < c->number);
	}
	switch (c->result) {
	case PS_EQUAL:		return sign == 0;
	case PS_NOT_EQUAL:	return sign != 0;
	case PS_GREATER:	return sign > 0;
	default:		return sign < 0;
	}
}

static int sq_txn(struct ps_store *st, const struct ps_txn *txn, struct ps_txn_result *res)
{
	struct sq_writer w = { 0 };
	const struct ps_op *ops;
	int64_t rev;
	size_t i;
	int rc = PS_ERROR;

	if (sq_begin(st, true))
		return PS_ERROR;
	if (sq_revs(st, &rev, NULL))
		goto err;
	res->succeeded = true;
	for (i = 0; i < txn->ncmp && res->succeeded; i++) {
		struct ps_kv kv = { 0 };
		int found = sq_get_in(st, txn->cmp[i].key, &kv);

		if (found < 0)
			goto err;
		res->succeeded = cmp_holds(&txn->cmp[i], found ? &kv : NULL);
		ps_kv_free(&kv);
	}
	ops = res->succeeded ? txn->success : txn->failure;
	res->nops = res->succeeded ? txn->nsuccess : txn->nfailure;
	if (res->nops && !(res->ops = calloc(res->nops, sizeof(*res->ops)))) {
		res->nops = 0;
		sq_nomem(st);
		goto err;
	}
	w.rev = rev + 1;
	for (i = 0; i < res->nops; i++) {
		struct ps_op_result *r = &res->ops[i];

		switch (ops[i].type) {
		case PS_OP_GET:
		case PS_OP_RANGE:
			/* a read after a write in this txn sees it, at its revision */
			r->range.revision = w.idx ? w.rev : rev;
			if (sq_range_in(st, ops[i].key, ops[i].type == PS_OP_RANGE, NULL,
					ops[i].type == PS_OP_RANGE ? ops[i].limit : 1, &r->range))
				goto err;
			break;
		case PS_OP_PUT:
			if ((rc = sq_put_in(st, &w, &ops[i])))
				goto err;	/* PS_NOT_FOUND for an unknown lease */
			break;
		case PS_OP_DELETE:
		case PS_OP_DELETE_PREFIX:
			if (sq_delete_in(st, &w, &ops[i], &r->deleted))
				goto err;
			break;
		}
	}
	/* one revision for the whole txn, and only if something changed */
	if (w.idx && sq_set_meta(st, "revision", w.rev))
		goto err;
	if (sq_commit(st))
		goto err;
	res->revision = w.idx ? w.rev : rev;
	if (w.idx)
		sq_notify(st);
	return PS_OK;
err:
	sq_rollback(st);
	return rc ? rc : PS_ERROR;
}

static int sq_compact(struct ps_store *st, int64_t revision)
{
	int64_t rev, compacted;
	sqlite3_stmt *q;
	int rc = PS_ERROR;

	if (sq_begin(st, true))
		return PS_ERROR;
	if (sq_revs(st, &rev, &compacted))
		goto err;
	if (revision > rev) {
		ps_set_error(st, PS_ERROR, "compact to revision %lld: a future revision (the store is at %lld)",
			     (long long)revision, (long long)rev);
		goto err;
	}
	if (revision <= compacted) {
		rc = ps_set_error(st, PS_COMPACTED,
				  "compact to revision %lld: already compacted to %lld",
				  (long long)revision, (long long)compacted);
		goto err;
	}
	q = sq_stmt(st, S_COMPACT);
	if (!q)
		goto err;
	sqlite3_bind_int64(q, 1, revision);
	if (sq_done(st, q) || sq_set_meta(st, "compacted", revision) || sq_commit(st))
		goto err;
	return PS_OK;
err:
	sq_rollback(st);
	return rc;
}

/* ---- watches ----------------------------------------------------------------------- */

static int sq_watch_open(struct ps_store *st, struct ps_watch *w)
{
	int64_t rev, compacted;
	int rc = PS_ERROR;

	if (sq_begin(st, false))
		return PS_ERROR;
	if (sq_revs(st, &rev, &compacted) || sq_commit(st))
		goto err;
	if (w->start && w->start < compacted) {
		return ps_set_error(st, PS_COMPACTED,
				    "watch from revision %lld: the history before %lld is compacted",
				    (long long)w->start, (long long)compacted);
	}
	w->rev = w->start ? w->start - 1 : rev;
	w->idx = PS_REV_DONE;
	return PS_OK;
err:
	sq_rollback(st);
	return rc;
}

static int row_event(struct ps_store *st, sqlite3_stmt *q, struct ps_event *ev)
{
	struct ps_kv *kv = &ev->kv;

	ev->type = sqlite3_column_int(q, 2) == PS_EVENT_DELETE ? PS_EVENT_DELETE : PS_EVENT_PUT;
	kv->mod_revision = sqlite3_column_int64(q, 0);
	kv->key = col_bytes(q, 3, NULL);
	kv->value = col_bytes(q, 4, &kv->value_len);
	if (ev->type == PS_EVENT_PUT) {
		kv->create_revision = sqlite3_column_int64(q, 5);
		kv->version = sqlite3_column_int64(q, 6);
		kv->lease = sqlite3_column_int64(q, 7);
	}
	if (!kv->key || !kv->value) {
		ps_kv_free(kv);
		return sq_nomem(st);
	}
	return 0;
}

static int sq_watch_next(struct ps_store *st, struct ps_watch *w, struct ps_event *ev,
			 size_t max)
{
	char end[PS_KEY_MAX];
	int64_t rev, compacted;
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc = PS_ERROR;

	if (sq_begin(st, false))
		return PS_ERROR;
	if (sq_revs(st, &rev, &compacted))
		goto err;
	/* the events still owed start in revision rev+1, or within rev */
	if ((w->idx == PS_REV_DONE ? w->rev + 1 : w->rev) < compacted) {
		rc = ps_set_error(st, PS_COMPACTED,
				  "watch at revision %lld: the history before %lld is compacted",
				  (long long)ps_watch_revision(w), (long long)compacted);
		goto err;
	}
	if (!max)
		goto done;
	q = sq_stmt(st, S_EVENTS);
	if (!q)
		goto err;
	sqlite3_bind_int64(q, 1, w->rev);
	sqlite3_bind_int64(q, 2, w->idx);
	bind_key(q, 3, w->prefix);
	bind_prefix_end(q, 4, w->prefix, end);
	sqlite3_bind_int64(q, 5, (int64_t)max);
	while (n < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (row_event(st, q, &ev[n]))
			goto err;
		w->rev = ev[n].kv.mod_revision;
		w->idx = sqlite3_column_int64(q, 1);
		n++;
	}
	if (n < max && rc != SQLITE_DONE) {
		sq_fail(st);
		goto err;
	}
	sqlite3_reset(q);
	/* fewer than asked: everything up to rev is delivered */
	if (n < max && w->rev <= rev) {
		w->rev = rev;
		w->idx = PS_REV_DONE;
	}
done:
	if (sq_commit(st))
		goto err;
	return (int)n;
err:
	if (q)
		sqlite3_reset(q);
	sq_rollback(st);
	ps_events_free(ev, n);
	return rc == PS_COMPACTED ? rc : PS_ERROR;
}

static void sq_watch_close(struct ps_store *st, struct ps_watch *w)
{
}

static int sq_notify_fd(struct ps_store *st)
{
	return sq_of(st)->efd;
}

static int sq_poll(struct ps_store *st)
{
	uint64_t n;

	if (read(sq_of(st)->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return ps_set_error(st, PS_ERROR, "sqlite: %s: reading the notification eventfd: %s",
				    sq_of(st)->path, strerror(errno));
	return PS_OK;
}

/* ---- opening ------------------------------------------------------------------------- */

/* The integer a one-row PRAGMA (or query) answers; 0 or -1. */
static int sq_pragma_int(struct ps_store *st, const char *sql, int64_t *v)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(sq_of(st)->db, sql, -1, &q, NULL) != SQLITE_OK)
		return sq_fail(st);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(q, 0);
	else
		sq_fail(st);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Create the schema in a fresh file, or check the one found. */
static int sq_schema(struct ps_store *st)
{
	struct sq *s = sq_of(st);
	int64_t version = 0, app = 0, tables = 0;

	if (sq_begin(st, true))
		return -1;
	if (sq_pragma_int(st, "PRAGMA user_version", &version) ||
	    sq_pragma_int(st, "PRAGMA application_id", &app) ||
	    sq_pragma_int(st, "SELECT count(*) FROM sqlite_schema", &tables))
		goto err;
	if (!version && !app && !tables) {
		if (sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
			sq_fail(st);
			goto err;
		}
	} else if (app != SQ_APPLICATION_ID) {
		ps_set_error(st, PS_ERROR, "sqlite: %s: not a lunlink policy store (a SQLite file of another application, id 0x%llx)",
			     s->path, (unsigned long long)app);
		goto err;
	} else if (version > SQ_SCHEMA_VERSION) {
		ps_set_error(st, PS_ERROR, "sqlite: %s: schema version %lld is newer than this lunlink-policyd knows (%d); run a newer lunlink-policyd",
			     s->path, (long long)version, SQ_SCHEMA_VERSION);
		goto err;
	} else if (version < SQ_SCHEMA_VERSION) {
		ps_set_error(st, PS_ERROR, "sqlite: %s: schema version %lld unknown (this lunlink-policyd knows %d)",
			     s->path, (long long)version, SQ_SCHEMA_VERSION);
		goto err;
	}
	return sq_commit(st);
err:
	sq_rollback(st);
	return -1;
}

static int sq_settings(struct ps_store *st)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	const char *mode;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		sq_fail(st);
		goto err;
	}
	mode = (const char *)sqlite3_column_text(q, 0);
	if (!mode || strcmp(mode, "wal")) {
		ps_set_error(st, PS_ERROR, "sqlite: %s: cannot use WAL mode (journal mode stays '%s'); put the file on a local filesystem",
			     s->path, mode ? mode : "?");
		goto err;
	}
	sqlite3_finalize(q);
	/* FULL: the WAL is synced at each commit, so a commit survives power loss */
	if (sqlite3_exec(s->db, "PRAGMA synchronous = FULL; PRAGMA trusted_schema = OFF",
			 NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(st);
	return 0;
err:
	sqlite3_finalize(q);
	return -1;
}

static void sq_close(struct ps_store *st)
{
	struct sq *s = sq_of(st);

	if (!s)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close_v2(s->db);
	if (s->efd >= 0)
		close(s->efd);
	free(s->path);
	free(s);
	st->priv = NULL;
}

static int sq_open(struct ps_store *st, const char *path)
{
	struct sq *s;
	int fd;

	if (!*path)
		return ps_set_error(st, PS_ERROR, "store URI 'sqlite:': no file named (expected sqlite:/var/lib/lunlink/policy.db)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return ps_set_error(st, PS_ERROR, "sqlite: %s: %s", path, strerror(ENOMEM));
	st->priv = s;
	s->efd = -1;
	s->path = strdup(path);
	if (!s->path) {
		ps_set_error(st, PS_ERROR, "sqlite: %s: %s", path, strerror(ENOMEM));
		goto err;
	}
	/* created here, not by SQLite, for its mode; the -wal and -shm files
	 * SQLite makes take the mode of the database file */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		ps_set_error(st, PS_ERROR, "sqlite: %s: cannot open: %s", path, strerror(errno));
		goto err;
	}
	close(fd);
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		ps_set_error(st, PS_ERROR, "sqlite: %s: eventfd: %s", path, strerror(errno));
		goto err;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		if (s->db)
			sq_fail(st);
		else
			ps_set_error(st, PS_ERROR, "sqlite: %s: %s", path, strerror(ENOMEM));
		goto err;
	}
	if (sq_settings(st) || sq_schema(st) || sq_lease_grace(st))
		goto err;
	return PS_OK;
err:
	sq_close(st);
	return PS_ERROR;
}

const struct ps_backend ps_backend_sqlite = {
	.scheme			= "sqlite",
	.open			= sq_open,
	.close			= sq_close,
	.revision		= sq_revision,
	.range			= sq_range,
	.txn			= sq_txn,
	.compact		= sq_compact,
	.lease_grant		= sq_lease_grant,
	.lease_keepalive	= sq_lease_keepalive,
	.lease_revoke		= sq_lease_revoke,
	.lease_ttl		= sq_lease_ttl,
	.lease_expire		= sq_lease_expire,
	.watch_open		= sq_watch_open,
	.watch_next		= sq_watch_next,
	.watch_close		= sq_watch_close,
	.notify_fd		= sq_notify_fd,
	.poll			= sq_poll,
};
