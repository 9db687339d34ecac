// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/store-migrate.c: copying a policy store into another
 * (policy/store_migrate.c, `lunlinkctl store migrate`) with real stores:
 * a SQLite file filled like a manager's and more (keys on two leases, a
 * value of 1 MiB, bytes that are not text in keys and values, enough keys
 * for several transactions, keys outside /lunlink/, a revision well past
 * the key count) is copied into an etcd started here, and from there into
 * a new SQLite file.  Each copy is compared here, independently of the
 * copy's own check: every key, value and lease's TTL; the revision rule (the
 * target ends above the source, so ids made from revisions never repeat);
 * the history compacted.  Then the refusals: a target that holds keys, a
 * missing source file (not created by the attempt), bad URIs, the same
 * store twice, a copy failing midway saying what it left.  Last, the
 * built lunlinkctl runs the command.
 *
 * The etcd parts skip, saying so, without /usr/bin/etcd; the SQLite ones
 * run anyway.
 */
#include "store.h"
#include "store_migrate.h"

#include "etcd_scratch.h"
#include "scratch.h"
#include "tap.h"

#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODES		600	/* small keys: 600 / 128 ops makes five transactions */
#define CHURN		150	/* puts of one key: the source's revision passes the copy's */
#define BIN_KEY		"/lunlink/bin/\x01\x7f\xc3\xa9\xff"

static pid_t etcd_pid;
static const char *dir;
static char self_dir[PATH_MAX];

static void stop_etcd(void)
{
	stop(&etcd_pid);
}

/* "sqlite:" and a file in the scratch folder; a few are alive at once */
static char *path_in(const char *name)
{
	static char buf[8][PATH_MAX + 16];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "sqlite:%s/%s", dir, name);
	return buf[i];
}

static struct ps_store *open_store(const char *uri)
{
	struct ps_store *st = NULL;
	char err[PS_ERR_MAX];

	if (ps_open(uri, &st, err, sizeof(err)))
		diag("open %s: %s", uri, err);
	return st;
}

/* The 1 MiB value: every byte value, NUL and 0xff among them. */
static char *big_value(void)
{
	char *v = malloc(PS_VALUE_MAX);

	for (size_t i = 0; v && i < PS_VALUE_MAX; i++)
		v[i] = (char)((i * 7 + i / 256) & 0xff);
	return v;
}

/*
 * The source: NODES keys in transactions of 100, two leases (60 s with
 * three keys, 300 s with two), two big values, a binary key and value, an
 * empty value, keys outside /lunlink/, CHURN puts of one key.  Its key
 * count into *keys; 0 if all went in.
 */
static int fill(struct ps_store *st, int64_t *keys)
{
	struct ps_op ops[100];
	struct ps_txn txn = { .success = ops };
	struct ps_txn_result res;
	char names[100][64], values[100][96];
	int64_t l60 = 0, l300 = 0;
	char *big = big_value();
	int bad = 0;

	*keys = 0;
	for (int base = 0; base < NODES; base += 100) {
		for (int i = 0; i < 100; i++) {
			snprintf(names[i], sizeof(names[i]), "/lunlink/nodes/n%04d", base + i);
			snprintf(values[i], sizeof(values[i]), "{\"name\":\"n%04d\",\"address\":"
				 "\"10.0.%d.%d\"}", base + i, (base + i) / 250, (base + i) % 250);
			ops[i] = (struct ps_op){ .type = PS_OP_PUT, .key = names[i],
						 .value = values[i], .value_len = strlen(values[i]) };
		}
		txn.nsuccess = 100;
		bad |= ps_txn(st, &txn, &res);
		ps_txn_result_free(&res);
		*keys += 100;
	}
	bad |= ps_lease_grant(st, 60, &l60) | ps_lease_grant(st, 300, &l300);
	bad |= ps_put(st, "/lunlink/alive/n0001", "{\"at_ms\":1}", 11, l60, NULL);
	bad |= ps_put(st, "/lunlink/alive/n0002", "{\"at_ms\":2}", 11, l60, NULL);
	bad |= ps_put(st, "/lunlink/tokens/t1", "{}", 2, l60, NULL);
	bad |= ps_put(st, "/lunlink/tokens/t2", "{}", 2, l300, NULL);
	bad |= ps_put(st, "/other/on-a-lease", "x", 1, l300, NULL);
	/* two values of 1 MiB cannot share a transaction (PS_TXN_BYTES_MAX) */
	bad |= !big || ps_put(st, "/lunlink/big", big, PS_VALUE_MAX, 0, NULL);
	bad |= !big || ps_put(st, "/lunlink/big2", big, PS_VALUE_MAX, 0, NULL);
	bad |= ps_put(st, BIN_KEY, "\x00\x01\xfe\xff\"\\\n", 7, 0, NULL);
	bad |= ps_put(st, "/lunlink/empty", "", 0, 0, NULL);
	bad |= ps_put(st, "/other/outside", "not the manager's", 17, 0, NULL);
	for (int i = 0; i < CHURN; i++)
		bad |= ps_put(st, "/lunlink/churn", values[i % 100], strlen(values[i % 100]), 0,
			      NULL);
	*keys += 11;
	free(big);
	return bad;
}

/* The whole store, read here by its own means (one range). */
static int read_all(struct ps_store *st, struct ps_range *r)
{
	int rc = ps_range(st, "", NULL, 0, r);

	if (rc)
		diag("range: %s", ps_error(st));
	return rc;
}

/*
 * a and b hold the same keys and values, a key on a lease in one is on a
 * lease in the other, and the leases' granted TTLs agree; says what
 * differs first.
 */
static bool same(struct ps_store *a, struct ps_store *b, const char *what)
{
	struct ps_range ra = { 0 }, rb = { 0 };
	bool eq = !read_all(a, &ra) && !read_all(b, &rb);
	size_t i;

	if (eq && ra.count != rb.count) {
		diag("%s: %zu keys against %zu", what, ra.count, rb.count);
		eq = false;
	}
	for (i = 0; eq && i < ra.count; i++) {
		const struct ps_kv *x = &ra.kvs[i], *y = &rb.kvs[i];
		int64_t tx = 0, ty = 0;

		if (strcmp(x->key, y->key) || x->value_len != y->value_len ||
		    memcmp(x->value, y->value, x->value_len) || !x->lease != !y->lease) {
			diag("%s: key %zu '%s' / '%s' differs", what, i, x->key, y->key);
			eq = false;
			break;
		}
		if (x->lease && (ps_lease_ttl(a, x->lease, NULL, &tx) ||
				 ps_lease_ttl(b, y->lease, NULL, &ty) || tx != ty)) {
			diag("%s: key '%s': lease TTL %lld / %lld", what, x->key, (long long)tx,
			     (long long)ty);
			eq = false;
		}
	}
	ps_range_free(&ra);
	ps_range_free(&rb);
	return eq;
}

/* The target after a copy from a source at source_rev: above it, a new
 * put above it, no scratch key, the history compacted. */
static void check_revision(const char *uri, int64_t source_rev, const struct ps_migrate_stats *s)
{
	struct ps_store *st = open_store(uri);
	struct ps_watch *w = NULL;
	int64_t rev = 0, compacted = 0, put = 0;
	struct ps_kv kv;

	if (!ok(st != NULL, "  the target opens again"))
		return;
	ps_revision(st, &rev, &compacted);
	ok(rev > source_rev, "  its revision %lld is above the source's %lld", (long long)rev,
	   (long long)source_rev);
	is_int(rev, s->revision, "  as the copy said");
	is_int(ps_get(st, PS_MIGRATE_SCRATCH_KEY, &kv), PS_NOT_FOUND,
	       "  the scratch key " PS_MIGRATE_SCRATCH_KEY " is gone");
	is_int(compacted, rev, "  the copy's history is compacted to it");
	is_int(ps_watch_open(st, "/lunlink/", 1, &w), PS_COMPACTED,
	       "  a watch from revision 1 is told to read afresh");
	ps_watch_close(st, w);
	ps_put(st, "/lunlink/after", "x", 1, 0, &put);
	ok(put > source_rev, "  the next id the manager makes (revision %lld) is one the source "
	   "never made", (long long)put);
	ps_delete(st, "/lunlink/after", false, NULL, NULL);
	ps_close(st);
}

/* What a copy's progress reports said: the steps in order, the copy's
 * transactions. */
struct steps {
	char seen[16];
	size_t n;
	int64_t copy_calls;
};

static void record(void *arg, enum ps_migrate_step step, const struct ps_migrate_stats *s)
{
	static const char letter[] = "CcRVK";	/* check, copy, raise, verify, compact */
	struct steps *st = arg;

	if ((!st->n || st->seen[st->n - 1] != letter[step]) && st->n < sizeof(st->seen) - 1)
		st->seen[st->n++] = letter[step];
	if (step == PS_MIGRATE_COPY)
		st->copy_calls++;
}

static void test_refusals(void)
{
	struct ps_migrate_stats s;
	char err[2 * PS_ERR_MAX], missing[PATH_MAX];
	const char *src = path_in("refusal-src.db");
	struct ps_store *st;

	snprintf(missing, sizeof(missing), "%s/missing.db", dir);
	is_int(ps_migrate_uri(path_in("missing.db"), path_in("t.db"), NULL, &s, err, sizeof(err)),
	       PS_ERROR, "a missing source file is refused");
	like(err, "missing.db': No such file or directory (a source store must exist)",
	     "  naming it: %s", err);
	ok(access(missing, F_OK) != 0, "  and is not created by the attempt");

	st = open_store(src);
	ps_put(st, "/lunlink/a", "1", 1, 0, NULL);
	ps_close(st);
	is_int(ps_migrate_uri(src, src, NULL, &s, err, sizeof(err)), PS_ERROR,
	       "the same store as source and target: refused");
	like(err, "source and target are the same store", "  saying so: %s", err);
	is_int(ps_migrate_uri("consul://x", path_in("t.db"), NULL, &s, err, sizeof(err)), PS_ERROR,
	       "a source of an unknown scheme: refused");
	like(err, "source: store URI: unknown scheme 'consul'", "  naming it: %s", err);
	is_int(ps_migrate_uri("/var/lib/lunlink/policy.db", path_in("t.db"), NULL, &s, err,
			      sizeof(err)), PS_ERROR, "a source without a scheme: refused");
	like(err, "no scheme (expected sqlite:", "  with an example: %s", err);
	is_int(ps_migrate_uri(src, "etcd://127.0.0.1", NULL, &s, err, sizeof(err)), PS_ERROR,
	       "a target etcd URI without a port: refused");
	like(err, "target: ", "  as the target's");
	like(err, "expected etcd://HOST:PORT", "  saying what is expected: %s", err);
	snprintf(missing, sizeof(missing), "etcd://127.0.0.1:%d?timeout=1000", free_port());
	is_int(ps_migrate_uri(src, missing, NULL, &s, err, sizeof(err)), PS_ERROR,
	       "a target etcd that does not answer: refused");
	like(err, "cannot connect", "  saying so: %s", err);
}

/* A target that holds keys is refused, counted and named, and left as it was. */
static void test_not_empty(const char *src, const char *target, int64_t keys)
{
	struct ps_store *st = open_store(target);
	struct ps_migrate_stats s;
	char err[2 * PS_ERR_MAX], want[96];
	int64_t before = 0, after = -1;

	if (!st)
		return;
	ps_revision(st, &before, NULL);
	is_int(ps_migrate_uri(src, target, NULL, &s, err, sizeof(err)), PS_ERROR,
	       "a copy into a store that holds keys (%s) is refused", ps_backend_name(st));
	snprintf(want, sizeof(want), "target is not empty: it holds %lld keys, the first "
		 "'/lunlink/alive/n0001'", (long long)keys);
	like(err, want, "  saying how many and the first: %s", err);
	like(err, "clear it knowingly first", "  and what to do");
	ok(!strstr(err, "partial copy"), "  not a partial copy: nothing was written");
	ps_revision(st, &after, NULL);
	is_int(after, before, "  the target's revision did not move");
	is_int(s.keys, 0, "  no key copied");
	ps_close(st);
}

/*
 * A copy that fails after it wrote: the source holds the copy's own
 * scratch key, so raising the target's revision finds it there (its guard
 * holds); the error says what was copied and to clear the target.
 */
static void test_midway(void)
{
	const char *src = path_in("scratch-src.db"), *dst = path_in("scratch-dst.db");
	struct ps_store *st = open_store(src), *t;
	struct ps_migrate_stats s;
	char err[2 * PS_ERR_MAX];
	struct ps_kv kv;

	if (!st)
		return;
	ps_put(st, "/lunlink/a", "1", 1, 0, NULL);
	for (int i = 0; i < 5; i++)
		ps_put(st, PS_MIGRATE_SCRATCH_KEY, "someone's", 9, 0, NULL);
	ps_close(st);
	is_int(ps_migrate_uri(src, dst, NULL, &s, err, sizeof(err)), PS_ERROR,
	       "a copy failing after it wrote (the scratch key taken) fails");
	like(err, "key '" PS_MIGRATE_SCRATCH_KEY "' exists or was changed meanwhile",
	     "  naming the key: %s", err);
	like(err, "2 keys were copied (the last '/lunlink/a')", "  saying what was copied");
	like(err, "clear it (every key; a SQLite target: remove its file) before trying again",
	     "  and that the target must be cleared");
	t = open_store(dst);
	ok(t && !ps_get(t, PS_MIGRATE_SCRATCH_KEY, &kv) && !strcmp(kv.value, "someone's"),
	   "  the key copied there was not overwritten");
	ps_kv_free(&kv);
	ps_close(t);
}

/* `lunlinkctl store migrate FROM TO`: its output and exit status. */
static void test_ctl(const char *src, int64_t keys)
{
	char ctl[PATH_MAX + 32], cmd[4 * PATH_MAX], out[PATH_MAX + 16], line[2048];
	char want[3 * PATH_MAX];
	const char *dst = path_in("ctl.db");
	FILE *f;
	int rc;

	snprintf(ctl, sizeof(ctl), "%s/../../policy/lunlinkctl", self_dir);
	if (access(ctl, X_OK)) {
		ok(1, "# SKIP lunlinkctl: %s not built (make policy-progs)", ctl);
		return;
	}
	snprintf(out, sizeof(out), "%s/ctl.out", dir);
	snprintf(cmd, sizeof(cmd), "'%s' store migrate '%s' '%s' >'%s' 2>&1", ctl, src, dst, out);
	rc = system(cmd);
	is_int(WEXITSTATUS(rc), 0, "lunlinkctl store migrate SQLITE SQLITE exits 0");
	f = fopen(out, "r");
	line[0] = '\0';
	if (f && !fgets(line, sizeof(line), f))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	snprintf(want, sizeof(want), "copied %lld keys (5 on 2 leases) from %s to %s; revision now ",
		 (long long)keys, src, dst);
	like(line, want, "  says what it copied and the revision: %s", line);
	if (f && !fgets(line, sizeof(line), f))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	like(line, "raised the target's revision from", "  and that it raised the revision: %s",
	     line);
	if (f)
		fclose(f);
	rc = system(cmd);
	is_int(WEXITSTATUS(rc), 1, "again, into the copy it made: exits 1");
	f = fopen(out, "r");
	if (!f || !fgets(line, sizeof(line), f))
		line[0] = '\0';
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = '\0';
	like(line, "lunlinkctl: store migrate: target is not empty", "  saying why: %s", line);
	snprintf(cmd, sizeof(cmd), "'%s' store migrate '%s' >'%s' 2>&1", ctl, src, out);
	rc = system(cmd);
	is_int(WEXITSTATUS(rc), 2, "with one store only: a usage error, exit 2");
}

int main(int argc, char **argv)
{
	char copy[PATH_MAX], euri[96], err[2 * PS_ERR_MAX], src[PATH_MAX + 16], back[PATH_MAX + 16];
	struct ps_store *a, *b;
	struct ps_migrate_stats s;
	int64_t keys = 0, src_rev = 0, etcd_rev = 0;
	int port = 0, pport = 0, rc;
	struct steps steps = { 0 };
	struct ps_migrate_opts opts = { .progress = record, .arg = &steps };

	signal(SIGPIPE, SIG_IGN);
	snprintf(copy, sizeof(copy), "%s", argv[0]);
	snprintf(self_dir, sizeof(self_dir), "%s", dirname(copy));
	dir = scratch_dir("store-migrate");
	snprintf(src, sizeof(src), "%s", path_in("source.db"));
	snprintf(back, sizeof(back), "%s", path_in("back.db"));

	a = open_store(src);
	rc = a ? fill(a, &keys) : -1;
	if (!ok(!rc, "a SQLite source filled: %lld keys", (long long)keys))
		return done_testing();
	ps_revision(a, &src_rev, NULL);
	diag("the source is at revision %lld", (long long)src_rev);
	ps_close(a);

	test_refusals();
	test_midway();
	test_ctl(src, keys);

	if (access(ETCD_BIN, X_OK)) {
		ok(1, "# SKIP SQLite to etcd and back: %s is not installed (apt-get install "
		   "etcd-server)", ETCD_BIN);
		return done_testing();
	}
	atexit(stop_etcd);
	etcd_pid = start_etcd(dir, "migrate", false, &port, &pport);
	ok(etcd_pid > 0, "etcd started on 127.0.0.1:%d (log: %s/migrate.log)", port, dir);
	snprintf(euri, sizeof(euri), "etcd://127.0.0.1:%d", port);
	b = NULL;
	for (long long end = now_ms() + 20000; now_ms() < end && !b; usleep(100000))
		if (ps_open(euri, &b, err, sizeof(err)))
			b = NULL;
	if (!ok(b != NULL, "the etcd store opens"))
		return done_testing();
	ps_close(b);

	/* SQLite into etcd */
	if (!is_int(ps_migrate_uri(src, euri, &opts, &s, err, sizeof(err)), PS_OK,
		    "SQLite copied into etcd"))
		diag("%s", err);
	is_str(steps.seen, "CcRVK", "  progress: check, copy, raise, verify, compact, in order");
	is_int(steps.copy_calls, s.txns + 1, "  and once after each transaction of the copy");
	is_int(s.keys, keys, "  every key");
	is_int(s.leased_keys, 5, "  five of them on leases");
	is_int(s.leases, 2, "  two leases granted, one per source lease");
	/* 611 keys: alive x2 and big; big2 and 127 more; 128 x3; the 98 left */
	ok(s.txns >= 6, "  in several transactions, within the ops and bytes bounds (%lld)",
	   (long long)s.txns);
	is_int(s.source_revision, src_rev, "  the source's revision read");
	ok(s.copied_revision < src_rev && s.raise_puts >= src_rev - s.copied_revision,
	   "  the copy alone left it below the source's (%lld): raised with %lld puts",
	   (long long)s.copied_revision, (long long)s.raise_puts);
	a = open_store(src);
	b = open_store(euri);
	ok(a && b && same(a, b, "sqlite/etcd"),
	   "  read back here: the same keys, values, leases and lease TTLs");
	ps_close(a);
	ps_close(b);
	check_revision(euri, src_rev, &s);
	etcd_rev = s.revision;

	/* and back into a new SQLite file */
	if (!is_int(ps_migrate_uri(euri, back, NULL, &s, err, sizeof(err)), PS_OK,
		    "etcd copied into a new SQLite file"))
		diag("%s", err);
	is_int(s.keys, keys, "  every key");
	is_int(s.leases, 2, "  two leases");
	a = open_store(src);
	b = open_store(back);
	ok(a && b && same(a, b, "sqlite/sqlite"), "  the same as the first source, read back here");
	ps_close(a);
	ps_close(b);
	check_revision(back, etcd_rev, &s);

	test_not_empty(src, euri, keys);
	test_not_empty(euri, back, keys);

	/* an etcd cleared knowingly, already past the source: no raise */
	b = open_store(euri);
	ok(b && !ps_delete(b, "", true, NULL, NULL), "the etcd cleared (every key)");
	ps_close(b);
	a = open_store(path_in("small.db"));
	ps_put(a, "/lunlink/one", "1", 1, 0, NULL);
	ps_close(a);
	if (!is_int(ps_migrate_uri(path_in("small.db"), euri, NULL, &s, err, sizeof(err)), PS_OK,
		    "a small store copied into the cleared etcd"))
		diag("%s", err);
	is_int(s.raise_puts, 0, "  no puts to raise the revision: it was above the source's");
	ok(s.revision > s.source_revision, "  revision %lld above the source's %lld",
	   (long long)s.revision, (long long)s.source_revision);
	return done_testing();
}
