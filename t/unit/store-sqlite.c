// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/store-sqlite.c: what only the SQLite store (policy/store_sqlite.c)
 * does, beyond the contract every backend passes (store-contract.c): the
 * file (mode 0600, WAL, schema version, refusing other files), state kept
 * across a reopen (revision, history, leases with a TTL's grace), lease
 * expiry by the caller's clock, two handles on one file, and a writer
 * killed with SIGKILL between commits losing nothing it reported
 * committed.  Works in its own scratch folder.
 */
#include "store.h"
#include "tap.h"
#include "scratch.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

static const char *path_of(const char *name)
{
	static char buf[4][PATH_MAX + 32];
	static unsigned int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
	return b;
}

static const char *uri_of(const char *name)
{
	static char buf[4][PATH_MAX + 48];
	static unsigned int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "sqlite:%s/%s", dir, name);
	return b;
}

static struct ps_store *open_ok(const char *name)
{
	struct ps_store *st;
	char err[PS_ERR_MAX];

	if (ps_open(uri_of(name), &st, err, sizeof(err))) {
		diag("open %s: %s", name, err);
		return NULL;
	}
	return st;
}

/* Run SQL on a file behind the store's back (as an operator or a bug would). */
static int raw_sql(const char *name, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path_of(name), &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		diag("sql %s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The first column of the first row of a query on a file, as text. */
static const char *raw_str(const char *name, const char *sql)
{
	static char v[64];
	sqlite3 *db;
	sqlite3_stmt *q;

	strcpy(v, "(error)");
	if (sqlite3_open(path_of(name), &db) != SQLITE_OK)
		return v;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			snprintf(v, sizeof(v), "%s", (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	return v;
}

static void test_file(void)
{
	struct ps_store *st;
	struct stat sb;

	umask(022);
	st = open_ok("file.db");
	ok(st, "a new store file");
	if (!st)
		return;
	ok(!stat(path_of("file.db"), &sb) && (sb.st_mode & 0777) == 0600, "  mode 0600");
	ps_put(st, "k", "v", 1, 0, NULL);
	ok(!stat(path_of("file.db-wal"), &sb) && (sb.st_mode & 0777) == 0600,
	   "  its WAL file too");
	is_str(raw_str("file.db", "PRAGMA journal_mode"), "wal", "  in WAL mode");
	is_str(raw_str("file.db", "PRAGMA user_version"), "1", "  schema version 1");
	ps_close(st);
}

static void refused(const char *name, const char *why, const char *sub)
{
	struct ps_store *st;
	char err[PS_ERR_MAX] = "";

	is_int(ps_open(uri_of(name), &st, err, sizeof(err)), PS_ERROR, "%s is refused", why);
	like(err, path_of(name), "  naming the file");
	like(err, sub, "  saying '%s'", sub);
	ps_close(st);
}

static void test_refusals(void)
{
	FILE *f;
	struct ps_store *st = open_ok("newer.db");

	ps_close(st);
	raw_sql("newer.db", "PRAGMA user_version = 2");
	refused("newer.db", "a store of a newer schema", "schema version 2 is newer");
	raw_sql("other.db", "CREATE TABLE t(x)");
	refused("other.db", "another application's SQLite file", "not a lunlink policy store");
	f = fopen(path_of("junk.db"), "w");
	for (int i = 0; f && i < 200; i++)
		fputs("this is not a database, just text;\n", f);
	if (f)
		fclose(f);
	refused("junk.db", "a file that is not a database", "not a database");
	refused("no/such/dir.db", "a file in a missing folder", "No such file or directory");
}

static void test_reopen(void)
{
	struct ps_store *st = open_ok("reopen.db");
	struct ps_watch *w;
	struct ps_event ev[8];
	struct ps_kv kv;
	int64_t lease, rev, r1, compacted, left, ttl;
	int n;

	if (!st)
		return;
	ps_put(st, "a", "1", 1, 0, &r1);
	ps_put(st, "b", "2", 1, 0, NULL);
	ps_lease_grant(st, 30, &lease);
	ps_put(st, "c", "3", 1, lease, NULL);
	ps_compact(st, r1 + 1);
	ps_put(st, "a", "4", 1, 0, &rev);
	ps_close(st);

	st = open_ok("reopen.db");
	ok(st, "reopen");
	if (!st)
		return;
	ps_revision(st, &r1, &compacted);
	is_int(r1, rev, "  the revision is kept");
	is_int(compacted, rev - 2, "  the compacted revision too");
	ps_get(st, "a", &kv);
	ok(!strcmp(kv.value, "4") && kv.version == 2 && kv.mod_revision == rev,
	   "  a key, its value and version");
	ps_kv_free(&kv);
	ps_get(st, "c", &kv);
	is_int(kv.lease, lease, "  a key's lease");
	ps_kv_free(&kv);
	is_int(ps_lease_ttl(st, lease, &left, &ttl), 0, "  the lease");
	ok(ttl == 30 && left >= 29 && left <= 30, "  with its TTL (%lld left)", (long long)left);
	is_int(ps_watch_open(st, "", rev - 2, &w), 0, "  the history");
	n = ps_watch_next(st, w, ev, 8);
	is_int(n, 3, "  its events after the compacted revision");
	if (n > 0)
		ps_events_free(ev, (size_t)n);
	ps_watch_close(st, w);
	ps_close(st);
}

static void test_expiry(void)
{
	struct ps_store *st = open_ok("expiry.db");
	struct ps_watch *w;
	struct ps_event ev[8];
	struct ps_kv kv;
	int64_t a, b, c, r0, n, now = ps_now_ms(), left;
	int got;

	if (!st)
		return;
	ps_lease_grant(st, 5, &a);
	ps_lease_grant(st, 100, &b);
	ps_put(st, "a/1", "x", 1, a, NULL);
	ps_put(st, "a/2", "x", 1, a, NULL);
	ps_put(st, "b/1", "x", 1, b, NULL);
	ps_revision(st, &r0, NULL);
	ps_watch_open(st, "", 0, &w);

	is_int(ps_lease_expire(st, now, &n), 0, "expiry pass now");
	ok(n == 0 && ps_get(st, "a/1", &kv) == 0, "  nothing expires");
	ps_kv_free(&kv);
	is_int(ps_lease_expire(st, now + 6000, &n), 0, "expiry pass 6 s later");
	is_int(n, 1, "  the 5 s lease expires");
	is_int(ps_get(st, "a/1", &kv), PS_NOT_FOUND, "  its keys go");
	is_int(ps_get(st, "b/1", &kv), 0, "  the other lease's stay");
	ps_kv_free(&kv);
	ps_revision(st, &n, NULL);
	is_int(n, r0 + 1, "  one revision");
	got = ps_watch_next(st, w, ev, 8);
	ok(got == 2 && ev[0].type == PS_EVENT_DELETE && ev[1].kv.mod_revision == r0 + 1,
	   "  watched as two deletes in it");
	if (got > 0)
		ps_events_free(ev, (size_t)got);
	is_int(ps_lease_ttl(st, a, NULL, NULL), PS_NOT_FOUND, "  the lease is gone");

	ps_lease_grant(st, 1, &c);
	ps_put(st, "c/1", "x", 1, c, &r0);
	is_int(ps_lease_expire(st, now + 200 * 1000, &n), 0, "expiry pass 200 s later");
	is_int(n, 2, "  two leases expire");
	ps_revision(st, &n, NULL);
	is_int(n, r0 + 2, "  one revision each");
	ps_watch_close(st, w);

	/* a lease past its deadline but not yet reaped */
	ps_lease_grant(st, 10, &a);
	ps_put(st, "d/1", "x", 1, a, NULL);
	ps_close(st);
	raw_sql("expiry.db", "UPDATE lease SET deadline_ms = 1");
	st = open_ok("expiry.db");
	if (!st)
		return;
	is_int(ps_lease_ttl(st, a, &left, NULL), 0, "a lease overdue while the manager was down");
	ok(left >= 9 && left <= 10, "  gets its TTL again on open (%lld s left)", (long long)left);
	is_int(ps_lease_expire(st, ps_now_ms(), &n), 0, "  an expiry pass then");
	is_int(n, 0, "  keeps it");
	raw_sql("expiry.db", "UPDATE lease SET deadline_ms = 1");	/* while open */
	is_int(ps_lease_ttl(st, a, &left, NULL), 0, "a lease past its deadline, not reaped");
	is_int(left, 0, "  has 0 s left");
	is_int(ps_lease_keepalive(st, a, NULL), PS_NOT_FOUND, "  cannot be kept alive");
	like(ps_error(st), "expired", "  saying it expired");
	ps_lease_expire(st, ps_now_ms(), &n);
	ok(n == 1 && ps_get(st, "d/1", &kv) == PS_NOT_FOUND, "  the next pass reaps it");
	ps_close(st);
}

static void test_two_handles(void)
{
	struct ps_store *s1 = open_ok("two.db"), *s2 = open_ok("two.db");
	struct ps_watch *w;
	struct ps_event ev[4];
	int64_t r1, r2, r3;
	int n;

	ok(s1 && s2, "two handles on one file");
	if (!s1 || !s2)
		goto out;
	ps_watch_open(s2, "k", 0, &w);
	ps_put(s1, "k1", "1", 1, 0, &r1);
	ps_put(s2, "k2", "2", 1, 0, &r2);
	ps_put(s1, "k3", "3", 1, 0, &r3);
	ok(r2 == r1 + 1 && r3 == r2 + 1, "  their commits take turns in one revision sequence");
	n = ps_watch_next(s2, w, ev, 4);
	is_int(n, 3, "  a watch on one sees the other's commits");
	if (n > 0)
		ps_events_free(ev, (size_t)n);
	ps_watch_close(s2, w);
out:
	ps_close(s1);
	ps_close(s2);
}

/* The child: commit puts one by one, reporting each committed revision. */
static void killed_writer(int fd)
{
	struct ps_store *st = open_ok("kill.db");
	char key[32], value[64];
	int64_t rec[2];

	if (!st)
		_exit(1);
	for (int64_t i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "k/%06lld", (long long)i);
		snprintf(value, sizeof(value), "{\"i\": %lld}", (long long)i);
		if (ps_put(st, key, value, strlen(value), 0, &rec[1]))
			_exit(1);
		rec[0] = i;
		if (write(fd, rec, sizeof(rec)) != sizeof(rec))
			_exit(1);
	}
	_exit(0);
}

static void test_kill9(void)
{
	struct ps_store *st;
	static int64_t recs[100000][2];
	size_t n = 0, lost = 0;
	int p[2], status;
	pid_t pid;
	ssize_t got;
	char key[32];

	if (pipe(p))
		return (void)ok(0, "pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return (void)ok(0, "fork: %s", strerror(errno));
	if (!pid) {
		close(p[0]);
		killed_writer(p[1]);
	}
	close(p[1]);
	/* let it commit some, then kill it mid-stream */
	while (n < 200 && (got = read(p[0], recs[n], sizeof(recs[0]))) == sizeof(recs[0]))
		n++;
	kill(pid, SIGKILL);
	while (n < 100000 && (got = read(p[0], recs[n], sizeof(recs[0]))) == sizeof(recs[0]))
		n++;
	close(p[0]);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "a writer killed with SIGKILL after %zu commits", n);
	st = open_ok("kill.db");
	ok(st, "  the store opens");
	if (!st)
		return;
	for (size_t i = 0; i < n; i++) {
		struct ps_kv kv;

		snprintf(key, sizeof(key), "k/%06lld", (long long)recs[i][0]);
		if (ps_get(st, key, &kv) || kv.mod_revision != recs[i][1])
			lost++;
		ps_kv_free(&kv);
	}
	is_int(lost, 0, "  every commit it reported is there, at its revision");
	ps_close(st);
	is_str(raw_str("kill.db", "PRAGMA integrity_check"), "ok", "  the file is intact");
}

int main(void)
{
	dir = scratch_dir("store-sqlite");
	test_file();
	test_refusals();
	test_reopen();
	test_expiry();
	test_two_handles();
	test_kill9();
	return done_testing();
}
