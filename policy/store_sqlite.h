/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_sqlite.h: what the SQLite backend's two files share (private to
 * them): the handle, the prepared statements, the transaction helpers.
 * store_sqlite.c is the file, the reads, transactions and watches;
 * store_sqlite_lease.c the leases.
 */
#ifndef LUNLINK_POLICY_STORE_SQLITE_H
#define LUNLINK_POLICY_STORE_SQLITE_H

#include "store_backend.h"

#include <sqlite3.h>

enum sq_stmt {
	S_BEGIN, S_BEGIN_IMMEDIATE, S_COMMIT,
	S_REVS, S_SET_META,
	S_GET, S_RANGE, S_RANGE_KEYS, S_PUT, S_DEL,
	S_EVENT_ADD, S_EVENTS, S_COMPACT,
	S_LEASE_GET, S_LEASE_ADD, S_LEASE_SET, S_LEASE_DEL, S_LEASE_KEYS, S_LEASE_DUE,
	S_LEASE_GRACE,
	S_COUNT
};

struct sq {
	sqlite3 *db;
	char *path;
	int efd;			/* rung after each commit that changed something */
	sqlite3_stmt *stmt[S_COUNT];
};

/* A write transaction's changes: the revision they make, the next event. */
struct sq_writer {
	int64_t rev;
	int64_t idx;
};

struct sq *sq_of(struct ps_store *st);
int sq_fail(struct ps_store *st);
int sq_nomem(struct ps_store *st);
sqlite3_stmt *sq_stmt(struct ps_store *st, enum sq_stmt i);
int sq_done(struct ps_store *st, sqlite3_stmt *q);
int sq_begin(struct ps_store *st, bool write);
int sq_commit(struct ps_store *st);
void sq_rollback(struct ps_store *st);
void sq_notify(struct ps_store *st);
int sq_revs(struct ps_store *st, int64_t *rev, int64_t *compacted);
int sq_set_meta(struct ps_store *st, const char *name, int64_t value);
int sq_delete_selected(struct ps_store *st, struct sq_writer *w, sqlite3_stmt *sel,
			int64_t *n);

/* leases (store_sqlite_lease.c) */
int sq_lease_grant(struct ps_store *st, int64_t ttl, int64_t *id);
int sq_lease_keepalive(struct ps_store *st, int64_t id, int64_t *ttl);
int sq_lease_revoke(struct ps_store *st, int64_t id, int64_t *revision);
int sq_lease_ttl(struct ps_store *st, int64_t id, int64_t *remaining, int64_t *granted);
int sq_lease_expire(struct ps_store *st, int64_t now_ms, int64_t *expired);
int sq_lease_grace(struct ps_store *st);

#endif
