// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * store_sqlite_lease.c: the SQLite store's leases (store.h): grant,
 * keep-alive, revoke, time to live, expiry and the grace on open.
 * Deadlines are kept in the file in wall-clock ms (CLOCK_REALTIME), so a
 * restart keeps them; SQLite has no clock of its own, so a lease expires
 * when the daemon's timer calls ps_lease_expire and finds it past its
 * deadline.  Revoking (by call or by expiry) deletes the lease's keys in
 * one transaction and one revision; granting and renewing make none.
 */
#include "store_sqlite.h"

#include <sqlite3.h>

/* Lease id's TTL and deadline: 1 found, 0 not, -1 error. */
static int sq_lease_get(struct ps_store *st, int64_t id, int64_t *ttl, int64_t *deadline)
{
	sqlite3_stmt *q = sq_stmt(st, S_LEASE_GET);
	int rc;

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*ttl = sqlite3_column_int64(q, 0);
		*deadline = sqlite3_column_int64(q, 1);
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : sq_fail(st);
	}
	sqlite3_reset(q);
	return rc;
}

int sq_lease_grant(struct ps_store *st, int64_t ttl, int64_t *id)
{
	sqlite3_stmt *q;

	if (sq_begin(st, true))
		return PS_ERROR;
	q = sq_stmt(st, S_LEASE_ADD);
	if (!q)
		goto err;
	sqlite3_bind_int64(q, 1, ttl);
	sqlite3_bind_int64(q, 2, ps_now_ms() + ttl * 1000);
	if (sq_done(st, q))
		goto err;
	*id = sqlite3_last_insert_rowid(sq_of(st)->db);
	if (sq_commit(st))
		goto err;
	return PS_OK;
err:
	sq_rollback(st);
	return PS_ERROR;
}

int sq_lease_keepalive(struct ps_store *st, int64_t id, int64_t *ttl)
{
	int64_t deadline = 0, now = ps_now_ms();
	sqlite3_stmt *q;
	int rc = PS_ERROR, found;

	if (sq_begin(st, true))
		return PS_ERROR;
	found = sq_lease_get(st, id, ttl, &deadline);
	if (found < 0)
		goto err;
	if (!found || deadline < now) {
		rc = ps_set_error(st, PS_NOT_FOUND, "lease %lld %s", (long long)id,
				  found ? "expired" : "not found");
		goto err;
	}
	q = sq_stmt(st, S_LEASE_SET);
	if (!q)
		goto err;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, now + *ttl * 1000);
	if (sq_done(st, q) || sq_commit(st))
		goto err;
	return PS_OK;
err:
	sq_rollback(st);
	return rc;
}

/* Inside a write transaction: delete lease id and its keys at w's revision. */
static int sq_revoke_in(struct ps_store *st, struct sq_writer *w, int64_t id)
{
	sqlite3_stmt *q = sq_stmt(st, S_LEASE_KEYS);
	int64_t n;

	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	if (sq_delete_selected(st, w, q, &n))
		return -1;
	q = sq_stmt(st, S_LEASE_DEL);
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	if (sq_done(st, q))
		return -1;
	if (w->idx && sq_set_meta(st, "revision", w->rev))
		return -1;
	return 0;
}

int sq_lease_revoke(struct ps_store *st, int64_t id, int64_t *revision)
{
	struct sq_writer w = { 0 };
	int64_t rev, ttl, deadline;
	int rc = PS_ERROR, found;

	if (sq_begin(st, true))
		return PS_ERROR;
	if (sq_revs(st, &rev, NULL))
		goto err;
	found = sq_lease_get(st, id, &ttl, &deadline);
	if (found < 0)
		goto err;
	if (!found) {
		rc = ps_set_error(st, PS_NOT_FOUND, "lease %lld not found", (long long)id);
		goto err;
	}
	w.rev = rev + 1;
	if (sq_revoke_in(st, &w, id) || sq_commit(st))
		goto err;
	*revision = w.idx ? w.rev : rev;
	if (w.idx)
		sq_notify(st);
	return PS_OK;
err:
	sq_rollback(st);
	return rc;
}

int sq_lease_ttl(struct ps_store *st, int64_t id, int64_t *remaining, int64_t *granted)
{
	int64_t deadline = 0, left;
	int rc = PS_ERROR, found;

	if (sq_begin(st, false))
		return PS_ERROR;
	found = sq_lease_get(st, id, granted, &deadline);
	if (found < 0)
		goto err;
	if (!found) {
		rc = ps_set_error(st, PS_NOT_FOUND, "lease %lld not found", (long long)id);
		goto err;
	}
	if (sq_commit(st))
		goto err;
	left = deadline - ps_now_ms();
	*remaining = left > 0 ? (left + 999) / 1000 : 0;
	return PS_OK;
err:
	sq_rollback(st);
	return rc;
}

/* Each lease past its deadline revoked in its own transaction and revision. */
int sq_lease_expire(struct ps_store *st, int64_t now_ms, int64_t *expired)
{
	for (;;) {
		struct sq_writer w = { 0 };
		sqlite3_stmt *q;
		int64_t rev, id;
		int rc;

		if (sq_begin(st, true))
			return PS_ERROR;
		if (sq_revs(st, &rev, NULL) || !(q = sq_stmt(st, S_LEASE_DUE)))
			goto err;
		sqlite3_bind_int64(q, 1, now_ms);
		rc = sqlite3_step(q);
		id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
		sqlite3_reset(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			sq_fail(st);
			goto err;
		}
		if (!id) {
			if (sq_commit(st))
				goto err;
			return PS_OK;
		}
		w.rev = rev + 1;
		if (sq_revoke_in(st, &w, id) || sq_commit(st))
			goto err;
		(*expired)++;
		if (w.idx)
			sq_notify(st);
	}
err:
	sq_rollback(st);
	return PS_ERROR;
}

/* A restarted manager gives every lease a full TTL from now. */
int sq_lease_grace(struct ps_store *st)
{
	sqlite3_stmt *q;

	if (sq_begin(st, true))
		return -1;
	q = sq_stmt(st, S_LEASE_GRACE);
	if (!q)
		goto err;
	sqlite3_bind_int64(q, 1, ps_now_ms());
	if (sq_done(st, q) || sq_commit(st))
		goto err;
	return 0;
err:
	sq_rollback(st);
	return -1;
}
