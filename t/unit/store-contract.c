// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/store-contract.c: the contract of lunlink-policyd's store
 * (policy/store.h), through the interface alone, against the backend its
 * URI names: LUNLINK_TEST_STORE, or by default a SQLite file in a scratch
 * folder.  Every backend must pass this same file (issue 19: one suite,
 * two backends).  It works under a key prefix of its own and revisions
 * relative to the one it finds, so a shared store (an etcd) can run it;
 * it deletes its keys at the end.  What only one backend does (files,
 * kill -9, expiry by an explicit clock) is in t/unit/store-sqlite.c.
 */
#include "store.h"
#include "tap.h"
#include "scratch.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct ps_store *st;
static char uri[PATH_MAX + 32];
static char pfx[96];		/* this run's keys: /lunlink-test/PID-MS/ */

/* pfx + suffix, in one of a few static buffers (several per call are fine) */
static const char *K(const char *suffix)
{
	static char buf[8][PS_KEY_MAX + 8];
	static unsigned int next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%s%s", pfx, suffix);
	return b;
}

static int64_t revision(void)
{
	int64_t r = -1;

	if (ps_revision(st, &r, NULL))
		diag("ps_revision: %s", ps_error(st));
	return r;
}

static int put(const char *key, const char *value, int64_t lease, int64_t *rev)
{
	int rc = ps_put(st, key, value, strlen(value), lease, rev);

	if (rc)
		diag("put %s: %s", key, ps_error(st));
	return rc;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static void test_open_errors(void)
{
	struct ps_store *s = (struct ps_store *)1;
	char err[PS_ERR_MAX];

	is_int(ps_open("nosuch:/x", &s, err, sizeof(err)), PS_ERROR, "an unknown scheme is refused");
	like(err, "unknown scheme 'nosuch'", "  naming the scheme");
	like(err, "(known: sqlite, etcd, etcds)", "  and the schemes this build knows");
	ok(s == NULL, "  and no store is given");
	is_int(ps_open("/var/lib/lunlink/policy.db", &s, err, sizeof(err)), PS_ERROR,
	       "a bare path is refused");
	like(err, "no scheme", "  as having no scheme");
	like(err, "sqlite:/", "  with an example");
	is_int(ps_open("", &s, err, sizeof(err)), PS_ERROR, "an empty URI is refused");
	like(err, "empty", "  as empty");
	is_int(ps_open("sqlite:", &s, err, sizeof(err)), PS_ERROR, "sqlite: without a file is refused");
	like(err, "no file", "  as naming no file");
	is_int(ps_open("nosuch:/x", &s, NULL, 0), PS_ERROR, "no err buffer is fine");
}

static void test_put_get(void)
{
	struct ps_kv kv;
	int64_t r0 = revision(), r, deleted;

	ok(r0 >= 1, "revisions start at 1 (%lld)", (long long)r0);
	is_int(ps_get(st, K("a"), &kv), PS_NOT_FOUND, "a missing key is PS_NOT_FOUND");
	like(ps_error(st), "not found", "  saying so");

	is_int(put(K("a"), "1", 0, &r), 0, "put a key");
	is_int(r, r0 + 1, "  makes one revision");
	is_int(revision(), r0 + 1, "  the store's revision");
	is_int(ps_get(st, K("a"), &kv), 0, "get it");
	is_str(kv.key, K("a"), "  its key");
	is_str(kv.value, "1", "  its value");
	is_int(kv.value_len, 1, "  its length");
	is_int(kv.create_revision, r0 + 1, "  create_revision");
	is_int(kv.mod_revision, r0 + 1, "  mod_revision");
	is_int(kv.version, 1, "  version 1");
	is_int(kv.lease, 0, "  no lease");
	ps_kv_free(&kv);

	is_int(put(K("a"), "22", 0, &r), 0, "put it again");
	is_int(r, r0 + 2, "  the next revision");
	ps_get(st, K("a"), &kv);
	is_str(kv.value, "22", "  new value");
	is_int(kv.create_revision, r0 + 1, "  same create_revision");
	is_int(kv.mod_revision, r0 + 2, "  new mod_revision");
	is_int(kv.version, 2, "  version 2");
	ps_kv_free(&kv);

	is_int(ps_put(st, K("bin"), "x\0y", 3, 0, NULL), 0, "a value with a NUL byte");
	ps_get(st, K("bin"), &kv);
	ok(kv.value_len == 3 && !memcmp(kv.value, "x\0y", 3) && kv.value[3] == '\0',
	   "  comes back whole, NUL-terminated after");
	ps_kv_free(&kv);
	is_int(ps_put(st, K("empty"), NULL, 0, 0, NULL), 0, "an empty value");
	ps_get(st, K("empty"), &kv);
	ok(kv.value && kv.value_len == 0 && kv.value[0] == '\0', "  comes back empty");
	ps_kv_free(&kv);

	r0 = revision();
	is_int(ps_delete(st, K("a"), false, &deleted, &r), 0, "delete it");
	is_int(deleted, 1, "  one key deleted");
	is_int(r, r0 + 1, "  one revision");
	is_int(ps_get(st, K("a"), &kv), PS_NOT_FOUND, "  gone");
	is_int(ps_delete(st, K("a"), false, &deleted, &r), 0, "delete it again");
	is_int(deleted, 0, "  nothing deleted");
	is_int(r, r0 + 1, "  and no revision made");
	is_int(revision(), r0 + 1, "  the store's neither");
	put(K("a"), "3", 0, &r);
	ps_get(st, K("a"), &kv);
	ok(kv.create_revision == r && kv.version == 1, "put after delete: created anew, version 1");
	ps_kv_free(&kv);
}

static void test_bounds(void)
{
	static char big[PS_VALUE_MAX + 2];
	char key[PS_KEY_MAX + 2];
	struct ps_op ops[PS_TXN_OPS_MAX + 1];
	struct ps_txn txn = { 0 };
	struct ps_txn_result res;
	struct ps_range r;
	int64_t r0 = revision(), id;
	size_t n = strlen(pfx);

	memset(key, 'k', sizeof(key));
	memcpy(key, pfx, n);
	key[PS_KEY_MAX] = '\0';
	is_int(ps_put(st, key, "v", 1, 0, NULL), 0, "a key of %d bytes is fine", PS_KEY_MAX);
	key[PS_KEY_MAX] = 'k';
	key[PS_KEY_MAX + 1] = '\0';
	is_int(ps_put(st, key, "v", 1, 0, NULL), PS_ERROR, "a key of %d bytes is refused",
	       PS_KEY_MAX + 1);
	like(ps_error(st), "key longer than 1024 bytes", "  naming the bound");
	is_int(ps_range(st, key, NULL, 0, &r), PS_ERROR, "so is such a prefix");
	like(ps_error(st), "prefix longer than 1024 bytes", "  naming the bound");
	is_int(ps_put(st, "", "v", 1, 0, NULL), PS_ERROR, "an empty key is refused");
	like(ps_error(st), "empty key", "  as empty");

	memset(big, 'v', sizeof(big));
	is_int(ps_put(st, K("big"), big, PS_VALUE_MAX, 0, NULL), 0, "a value of 1 MiB is fine");
	is_int(ps_put(st, K("big"), big, PS_VALUE_MAX + 1, 0, NULL), PS_ERROR,
	       "a value of 1 MiB + 1 is refused");
	like(ps_error(st), "longer than 1048576 bytes", "  naming the bound");
	like(ps_error(st), "big'", "  and the key");

	for (size_t i = 0; i < PS_TXN_OPS_MAX + 1; i++)
		ops[i] = (struct ps_op){ .type = PS_OP_GET, .key = K("a") };
	txn.success = ops;
	txn.nsuccess = PS_TXN_OPS_MAX + 1;
	is_int(ps_txn(st, &txn, &res), PS_ERROR, "%d ops are refused", PS_TXN_OPS_MAX + 1);
	like(ps_error(st), "more than 128 ops", "  naming the bound");
	ops[0] = (struct ps_op){ .type = PS_OP_PUT, .key = K("b1"), .value = big,
				 .value_len = PS_VALUE_MAX };
	ops[1] = (struct ps_op){ .type = PS_OP_PUT, .key = K("b2"), .value = big,
				 .value_len = PS_VALUE_MAX };
	txn.nsuccess = 2;
	is_int(ps_txn(st, &txn, &res), PS_ERROR, "a txn of 2 MiB is refused");
	like(ps_error(st), "more than 1572864", "  naming the bound");

	is_int(ps_lease_grant(st, 0, &id), PS_ERROR, "a lease TTL of 0 is refused");
	like(ps_error(st), "TTL 0 s out of range", "  naming the range");
	is_int(ps_lease_keepalive(st, 0, NULL), PS_ERROR, "lease id 0 is refused");
	like(ps_error(st), "not a lease", "  as not a lease");
	is_int(revision(), r0 + 2, "only the two good puts made revisions");
}

static void test_range(void)
{
	static const char *const keys[] = { "r/a", "r/b", "r/b/1", "r/c", "r0", "r.",
					    "x\xff", "x\xff\xff", "y" };
	struct ps_range r;
	int64_t rev = 0, deleted;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put(K(keys[i]), keys[i], 0, &rev);
	is_int(ps_range(st, K("r/"), NULL, 0, &r), 0, "range a prefix");
	is_int(r.count, 4, "  its four keys, not its neighbours");
	if (r.count == 4) {
		is_str(r.kvs[0].key, K("r/a"), "  in byte order: r/a");
		is_str(r.kvs[1].key, K("r/b"), "  r/b");
		is_str(r.kvs[2].key, K("r/b/1"), "  r/b/1");
		is_str(r.kvs[3].key, K("r/c"), "  r/c");
		is_str(r.kvs[2].value, "r/b/1", "  with values");
	}
	ok(!r.more, "  no more");
	is_int(r.revision, rev, "  at the store's revision");
	ps_range_free(&r);

	ps_range(st, K("r/"), NULL, 2, &r);
	ok(r.count == 2 && r.more, "limit 2: two, and more");
	ps_range_free(&r);
	ps_range(st, K("r/"), K("r/b"), 2, &r);
	ok(r.count == 2 && !r.more, "after r/b, limit 2: two, no more");
	if (r.count == 2)
		ok(!strcmp(r.kvs[0].key, K("r/b/1")) && !strcmp(r.kvs[1].key, K("r/c")),
		   "  r/b/1 and r/c");
	ps_range_free(&r);
	ps_range(st, K("r/"), NULL, 4, &r);
	ok(r.count == 4 && !r.more, "a limit of exactly the count: no more");
	ps_range_free(&r);

	ps_range(st, K("x\xff"), NULL, 0, &r);
	is_int(r.count, 2, "a prefix ending in 0xff: its keys only");
	ps_range_free(&r);
	ps_range(st, K("nothing/"), NULL, 0, &r);
	ok(r.count == 0 && !r.more && r.kvs == NULL, "a prefix of no keys: none");
	ps_range_free(&r);

	is_int(ps_delete(st, K("r/b"), true, &deleted, &rev), 0, "delete a prefix");
	is_int(deleted, 2, "  both keys under it");
	is_int(rev, revision(), "  in one revision");
	ps_range(st, K("r/"), NULL, 0, &r);
	is_int(r.count, 2, "  the others stay");
	ps_range_free(&r);
}

struct cmp_case {
	const char *name;
	const char *key;
	enum ps_cmp_target target;
	enum ps_cmp_result result;
	int64_t number;		/* relative to the key's revision when REL */
	const char *value;
	bool rel, want;
};

#define REL true

static void test_compares(void)
{
	static const struct cmp_case cases[] = {
		{ "value == v1", "c", PS_CMP_VALUE, PS_EQUAL, 0, "v1", 0, true },
		{ "value == v2", "c", PS_CMP_VALUE, PS_EQUAL, 0, "v2", 0, false },
		{ "value != v2", "c", PS_CMP_VALUE, PS_NOT_EQUAL, 0, "v2", 0, true },
		{ "value > v0", "c", PS_CMP_VALUE, PS_GREATER, 0, "v0", 0, true },
		{ "value > v1x (a longer one)", "c", PS_CMP_VALUE, PS_GREATER, 0, "v1x", 0, false },
		{ "value < v1x", "c", PS_CMP_VALUE, PS_LESS, 0, "v1x", 0, true },
		{ "value < v1", "c", PS_CMP_VALUE, PS_LESS, 0, "v1", 0, false },
		{ "version == 1", "c", PS_CMP_VERSION, PS_EQUAL, 1, NULL, 0, true },
		{ "version > 0", "c", PS_CMP_VERSION, PS_GREATER, 0, NULL, 0, true },
		{ "version < 1", "c", PS_CMP_VERSION, PS_LESS, 1, NULL, 0, false },
		{ "create == its revision", "c", PS_CMP_CREATE_REVISION, PS_EQUAL, 0, NULL, REL, true },
		{ "create != its revision", "c", PS_CMP_CREATE_REVISION, PS_NOT_EQUAL, 0, NULL, REL, false },
		{ "mod == its revision", "c", PS_CMP_MOD_REVISION, PS_EQUAL, 0, NULL, REL, true },
		{ "mod < its revision + 1", "c", PS_CMP_MOD_REVISION, PS_LESS, 1, NULL, REL, true },
		{ "mod > its revision", "c", PS_CMP_MOD_REVISION, PS_GREATER, 0, NULL, REL, false },
		{ "mod > its revision - 1", "c", PS_CMP_MOD_REVISION, PS_GREATER, -1, NULL, REL, true },
		{ "lease == 0", "c", PS_CMP_LEASE, PS_EQUAL, 0, NULL, 0, true },
		{ "missing: version == 0", "nokey", PS_CMP_VERSION, PS_EQUAL, 0, NULL, 0, true },
		{ "missing: create == 0", "nokey", PS_CMP_CREATE_REVISION, PS_EQUAL, 0, NULL, 0, true },
		{ "missing: mod < 1", "nokey", PS_CMP_MOD_REVISION, PS_LESS, 1, NULL, 0, true },
		{ "missing: lease == 0", "nokey", PS_CMP_LEASE, PS_EQUAL, 0, NULL, 0, true },
		{ "missing: value == \"\" is false", "nokey", PS_CMP_VALUE, PS_EQUAL, 0, "", 0, false },
		{ "missing: value != x is false", "nokey", PS_CMP_VALUE, PS_NOT_EQUAL, 0, "x", 0, false },
	};
	struct ps_op get = { .type = PS_OP_GET, .key = K("c") };
	int64_t rc_rev, r0;

	put(K("c"), "v1", 0, &rc_rev);
	r0 = revision();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmp_case *c = &cases[i];
		struct ps_cmp cmp = { .key = K(c->key), .target = c->target, .result = c->result,
				      .number = c->number + (c->rel ? rc_rev : 0),
				      .value = c->value, .value_len = c->value ? strlen(c->value) : 0 };
		struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &get, .nsuccess = 1 };
		struct ps_txn_result res;

		if (ps_txn(st, &txn, &res)) {
			ok(0, "compare %s: %s", c->name, ps_error(st));
			continue;
		}
		ok(res.succeeded == c->want, "compare %s: %s", c->name, c->want ? "holds" : "fails");
		is_int(res.nops, c->want ? 1 : 0, "  the branch taken's results");
		ps_txn_result_free(&res);
	}
	is_int(revision(), r0, "reads and compares make no revision");
}

static void test_txn(void)
{
	struct ps_kv kv;
	int64_t r0, rev;
	struct ps_cmp cmp[2];
	struct ps_op succ[4], fail[1];
	struct ps_txn txn = { .cmp = cmp, .ncmp = 2, .success = succ, .nsuccess = 4,
			      .failure = fail, .nfailure = 1 };
	struct ps_txn_result res;

	put(K("t/cas"), "v1", 0, &rev);
	put(K("t/gone"), "x", 0, NULL);
	r0 = revision();
	cmp[0] = (struct ps_cmp){ .key = K("t/cas"), .target = PS_CMP_MOD_REVISION,
				  .result = PS_EQUAL, .number = rev };
	cmp[1] = (struct ps_cmp){ .key = K("t/new"), .target = PS_CMP_VERSION,
				  .result = PS_EQUAL, .number = 0 };
	succ[0] = (struct ps_op){ .type = PS_OP_PUT, .key = K("t/cas"), .value = "v2", .value_len = 2 };
	succ[1] = (struct ps_op){ .type = PS_OP_PUT, .key = K("t/new"), .value = "n", .value_len = 1 };
	succ[2] = (struct ps_op){ .type = PS_OP_DELETE, .key = K("t/gone") };
	succ[3] = (struct ps_op){ .type = PS_OP_RANGE, .key = K("t/") };
	fail[0] = (struct ps_op){ .type = PS_OP_PUT, .key = K("t/lost"), .value = "l", .value_len = 1 };

	is_int(ps_txn(st, &txn, &res), 0, "a compare-and-swap txn");
	ok(res.succeeded, "  its compares hold");
	is_int(res.revision, r0 + 1, "  it makes one revision for three changes");
	is_int(revision(), r0 + 1, "  the store's revision");
	is_int(res.nops, 4, "  a result per op");
	if (res.nops == 4) {
		is_int(res.ops[2].deleted, 1, "  the delete's count");
		is_int(res.ops[3].range.count, 2, "  the range after the writes sees them");
		if (res.ops[3].range.count == 2) {
			is_str(res.ops[3].range.kvs[0].value, "v2", "  the new value");
			is_int(res.ops[3].range.kvs[1].mod_revision, r0 + 1, "  at the txn's revision");
		}
	}
	ps_txn_result_free(&res);
	ps_get(st, K("t/cas"), &kv);
	ok(!strcmp(kv.value, "v2") && kv.mod_revision == r0 + 1 && kv.version == 2,
	   "the swapped key: value, mod_revision, version");
	ps_kv_free(&kv);
	ps_get(st, K("t/new"), &kv);
	ok(kv.create_revision == r0 + 1 && kv.mod_revision == r0 + 1, "the new key: at the same revision");
	ps_kv_free(&kv);

	is_int(ps_txn(st, &txn, &res), 0, "the same txn again");
	ok(!res.succeeded, "  its compares fail now");
	is_int(res.nops, 1, "  the failure branch ran");
	is_int(res.revision, r0 + 2, "  its put made a revision");
	ps_txn_result_free(&res);
	is_int(ps_get(st, K("t/lost"), &kv), 0, "  the failure branch's key is there");
	ps_kv_free(&kv);

	txn = (struct ps_txn){ 0 };
	is_int(ps_txn(st, &txn, &res), 0, "an empty txn");
	ok(res.succeeded && res.revision == r0 + 2 && res.nops == 0, "  holds, makes no revision");
	ps_txn_result_free(&res);

	/* overlapping writes are refused before anything is done */
	txn.success = succ;
	txn.nsuccess = 2;
	succ[0] = (struct ps_op){ .type = PS_OP_PUT, .key = K("t/dup"), .value = "1", .value_len = 1 };
	succ[1] = succ[0];
	is_int(ps_txn(st, &txn, &res), PS_ERROR, "a key put twice in one txn is refused");
	like(ps_error(st), "written twice", "  saying so");
	succ[1] = (struct ps_op){ .type = PS_OP_DELETE, .key = K("t/dup") };
	is_int(ps_txn(st, &txn, &res), PS_ERROR, "a key put and deleted is refused");
	succ[1] = (struct ps_op){ .type = PS_OP_DELETE_PREFIX, .key = K("t/") };
	is_int(ps_txn(st, &txn, &res), PS_ERROR, "a key put under a deleted prefix is refused");
	succ[1] = (struct ps_op){ .type = PS_OP_PUT, .key = K("t/bad"), .value = "b",
				  .value_len = 1, .lease = 999999999 };
	is_int(ps_txn(st, &txn, &res), PS_NOT_FOUND, "a put with an unknown lease: PS_NOT_FOUND");
	like(ps_error(st), "lease 999999999 not found", "  naming the lease");
	is_int(ps_get(st, K("t/dup"), &kv), PS_NOT_FOUND, "  the txn's other put is undone");
	is_int(revision(), r0 + 2, "no revision from refused txns");
}

/*
 * A fenced handle (an elected manager's): its transactions hold only while
 * the fence key is the one it was given, else PS_FENCED and nothing done;
 * its own compares still decide while the fence holds.
 */
static void test_fence(void)
{
	struct ps_store *other;
	struct ps_kv kv;
	struct ps_cmp cmp;
	struct ps_op op, fail;
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res;
	char err[PS_ERR_MAX];
	int64_t term, r0;

	if (ps_open(uri, &other, err, sizeof(err))) {
		ok(0, "a second handle: %s", err);
		return;
	}
	put(K("f/leader"), "a", 0, &term);
	is_int(ps_fence(st, K("f/leader"), term), 0, "fence a handle on a leader key's term");
	is_int(put(K("f/x"), "1", 0, NULL), 0, "  a put through it, while the term holds");
	cmp = (struct ps_cmp){ .key = K("f/x"), .target = PS_CMP_VALUE, .result = PS_EQUAL,
			       .value = "2", .value_len = 1 };
	op = (struct ps_op){ .type = PS_OP_PUT, .key = K("f/y"), .value = "y", .value_len = 1 };
	is_int(ps_txn(st, &txn, &res), 0, "  a txn whose own compare fails");
	ok(!res.succeeded, "  fails as a compare, not as the fence");
	ps_txn_result_free(&res);
	fail = op;
	txn.failure = &fail;
	txn.nfailure = 1;
	is_int(ps_txn(st, &txn, &res), PS_ERROR, "  a failure branch is refused on a fenced handle");
	like(ps_error(st), "no failure branch", "  saying so");
	txn.nfailure = 0;

	/* another writer takes the key over: a new term */
	ps_delete(other, K("f/leader"), false, NULL, NULL);
	ps_put(other, K("f/leader"), "b", 1, 0, NULL);
	r0 = revision();
	is_int(ps_put(st, K("f/x"), "late", 4, 0, NULL), PS_FENCED, "after a new term: PS_FENCED");
	like(ps_error(st), "no longer leads", "  saying this writer no longer leads");
	cmp.value = "1";
	is_int(ps_txn(st, &txn, &res), PS_FENCED, "  a txn whose own compares hold: PS_FENCED too");
	is_int(revision(), r0, "  nothing was written");
	ps_get(st, K("f/x"), &kv);
	is_str(kv.value, "1", "  the value is the term's");
	ps_kv_free(&kv);
	ps_delete(other, K("f/leader"), false, NULL, NULL);
	is_int(ps_put(st, K("f/x"), "late", 4, 0, NULL), PS_FENCED, "with no leader key: PS_FENCED");
	is_int(ps_fence(st, K("f/leader"), 0), PS_ERROR, "a term of 0 is refused");
	is_int(ps_fence(st, NULL, 0), 0, "the fence lifted");
	is_int(put(K("f/x"), "2", 0, NULL), 0, "  writes go through again");
	ps_close(other);
}

static bool term_valid;
static bool term_holds(void *arg)
{
	(void)arg;
	return term_valid;
}

/*
 * ps_fence_until: past the writer's own deadline every call fails at once,
 * PS_FENCED, and the store is not asked (nothing written).
 */
static void test_fence_until(void)
{
	struct ps_kv kv;
	int64_t rev, lease = 0;

	is_int(put(K("u/x"), "1", 0, NULL), 0, "fence_until: a key before");
	ps_fence_until(st, term_holds, NULL);
	term_valid = true;
	is_int(put(K("u/x"), "2", 0, NULL), 0, "  while the predicate holds, a put goes through");
	term_valid = false;
	is_int(put(K("u/x"), "3", 0, NULL), PS_FENCED, "  past it: a put is PS_FENCED");
	like(ps_error(st), "no longer leads: its election lease ran out", "  saying why");
	is_int(ps_get(st, K("u/x"), &kv), PS_FENCED, "  a get too");
	is_int(ps_revision(st, &rev, NULL), PS_FENCED, "  the revision too");
	is_int(ps_lease_grant(st, 5, &lease), PS_FENCED, "  a lease grant too");
	ps_fence_until(st, NULL, NULL);
	is_int(ps_get(st, K("u/x"), &kv), 0, "the predicate removed: the store answers");
	ok(kv.value_len == 1 && kv.value[0] == '2', "  nothing was written past the deadline");
	ps_kv_free(&kv);
}

static void test_leases(void)
{
	struct ps_kv kv;
	struct ps_watch *w = NULL;
	struct ps_event ev[8];
	int64_t id, id2, ttl, left, r0, rev;
	int n;

	is_int(ps_lease_grant(st, 60, &id), 0, "grant a lease of 60 s");
	ok(id > 0, "  its id is > 0");
	is_int(ps_lease_ttl(st, id, &left, &ttl), 0, "ask its time to live");
	is_int(ttl, 60, "  granted 60");
	ok(left >= 58 && left <= 60, "  about 60 left (%lld)", (long long)left);
	is_int(ps_lease_keepalive(st, id, &ttl), 0, "keep it alive");
	is_int(ttl, 60, "  for its TTL");
	ps_lease_grant(st, 60, &id2);
	ok(id2 > 0 && id2 != id, "a second lease has another id");

	put(K("l/1"), "a", id, NULL);
	put(K("l/2"), "b", id, NULL);
	put(K("l/3"), "c", id, NULL);
	put(K("l/3"), "c", 0, NULL);	/* put again without: detached */
	put(K("l/4"), "d", id2, NULL);
	ps_get(st, K("l/1"), &kv);
	is_int(kv.lease, id, "a key put with the lease carries it");
	ps_kv_free(&kv);

	r0 = revision();
	ps_watch_open(st, K("l/"), 0, &w);
	is_int(ps_lease_revoke(st, id, &rev), 0, "revoke the lease");
	is_int(rev, r0 + 1, "  its keys go in one revision");
	is_int(ps_get(st, K("l/1"), &kv), PS_NOT_FOUND, "  l/1 gone");
	is_int(ps_get(st, K("l/2"), &kv), PS_NOT_FOUND, "  l/2 gone");
	is_int(ps_get(st, K("l/3"), &kv), 0, "  a key put again without the lease stays");
	ps_kv_free(&kv);
	is_int(ps_get(st, K("l/4"), &kv), 0, "  another lease's key stays");
	ps_kv_free(&kv);
	if (w) {
		(void)readable(ps_notify_fd(st), 2000);
		ps_poll(st);
		n = ps_watch_next(st, w, ev, 8);
		is_int(n, 2, "  a watch sees two events");
		if (n == 2)
			ok(ev[0].type == PS_EVENT_DELETE && ev[1].type == PS_EVENT_DELETE &&
			   ev[0].kv.mod_revision == rev && ev[1].kv.mod_revision == rev,
			   "  both deletes, at the revoke's revision");
		if (n > 0)
			ps_events_free(ev, (size_t)n);
		ps_watch_close(st, w);
	}
	is_int(ps_lease_ttl(st, id, &left, &ttl), PS_NOT_FOUND, "a revoked lease is not found");
	like(ps_error(st), "not found", "  saying so");
	is_int(ps_lease_keepalive(st, id, NULL), PS_NOT_FOUND, "  nor kept alive");
	is_int(ps_lease_revoke(st, id, NULL), PS_NOT_FOUND, "  nor revoked again");
	is_int(ps_put(st, K("l/5"), "e", 1, id, NULL), PS_NOT_FOUND, "  nor put with");

	ps_lease_grant(st, 30, &id);
	r0 = revision();
	is_int(ps_lease_revoke(st, id, &rev), 0, "revoke a lease without keys");
	ok(rev == r0 && revision() == r0, "  no revision");
	ps_lease_revoke(st, id2, NULL);
}

/* Expect n events from w: types ("PD.."), keys' suffixes, revisions. */
static void expect_events(struct ps_watch *w, size_t max, const char *types,
			  const char *const *keys, const int64_t *revs, const char *name)
{
	struct ps_event ev[16];
	size_t want = strlen(types);
	int n = ps_watch_next(st, w, ev, max);
	bool good = n == (int)want;

	for (size_t i = 0; good && i < want; i++)
		good = ev[i].type == (types[i] == 'P' ? PS_EVENT_PUT : PS_EVENT_DELETE) &&
		       !strcmp(ev[i].kv.key, K(keys[i])) && ev[i].kv.mod_revision == revs[i];
	ok(good, "%s", name);
	if (!good) {
		diag("  got %d events (want %zu)%s%s", n, want, n < 0 ? ": " : "",
		     n < 0 ? ps_error(st) : "");
		for (int i = 0; i < n; i++)
			diag("  %s %s at %lld", ev[i].type == PS_EVENT_PUT ? "PUT" : "DELETE",
			     ev[i].kv.key, (long long)ev[i].kv.mod_revision);
	}
	if (n > 0)
		ps_events_free(ev, (size_t)n);
}

static void test_watch(void)
{
	static const char *const wk[] = { "w/a", "w/b", "w/a", "w/c", "w/d" };
	struct ps_op two[2] = {
		{ .type = PS_OP_PUT, .key = K("w/c"), .value = "c", .value_len = 1 },
		{ .type = PS_OP_PUT, .key = K("w/d"), .value = "d", .value_len = 1 },
	};
	struct ps_txn txn = { .success = two, .nsuccess = 2 };
	struct ps_txn_result res;
	struct ps_watch *w, *w2, *now;
	struct ps_event ev[4];
	int64_t r0 = revision(), wr[5], rev, compacted;
	int n;

	put(K("w/a"), "1", 0, &wr[0]);
	put(K("w/b"), "2", 0, &wr[1]);
	put(K("other/x"), "3", 0, NULL);
	ps_delete(st, K("w/a"), false, NULL, &wr[2]);
	ps_txn(st, &txn, &res);
	wr[3] = wr[4] = res.revision;
	ps_txn_result_free(&res);

	is_int(ps_watch_open(st, K("w/"), r0 + 1, &w), 0, "watch a prefix from a past revision");
	if (!w)
		return;
	n = ps_watch_next(st, w, ev, 4);
	is_int(n, 4, "  the history comes, up to max");
	if (n == 4) {
		ok(ev[0].type == PS_EVENT_PUT && !strcmp(ev[0].kv.value, "1") &&
		   ev[0].kv.version == 1 && ev[0].kv.create_revision == wr[0],
		   "  a PUT carries the key as written");
		ok(ev[2].type == PS_EVENT_DELETE && !strcmp(ev[2].kv.key, K("w/a")) &&
		   ev[2].kv.mod_revision == wr[2] && ev[2].kv.value_len == 0,
		   "  a DELETE carries the key and its revision");
		ps_events_free(ev, 4);
	}
	expect_events(w, 4, "P", wk + 4, wr + 4, "  the rest of the txn's revision next");
	is_int(ps_watch_revision(w), revision(), "  the watch is up to the store's revision");
	expect_events(w, 4, "", NULL, NULL, "  then nothing");

	ps_watch_open(st, K("w/"), r0 + 1, &w2);
	expect_events(w2, 16, "PPDPP", wk, wr, "another watch from there gets all, in order");
	ps_watch_close(st, w2);

	is_int(ps_watch_open(st, K("w/"), 0, &now), 0, "watch from now");
	expect_events(now, 4, "", NULL, NULL, "  no history");
	ps_poll(st);
	put(K("w/e"), "e", 0, &rev);
	put(K("other/y"), "y", 0, NULL);
	ok(readable(ps_notify_fd(st), 2000), "a commit makes the notify fd readable");
	is_int(ps_poll(st), 0, "ps_poll clears it");
	ok(!readable(ps_notify_fd(st), 0), "  it is no longer readable");
	{
		static const char *const e[] = { "w/e" };

		expect_events(now, 4, "P", e, &rev, "  the watch from now: the new event only");
		expect_events(w, 4, "P", e, &rev, "  the first watch too");
	}

	/* a watch from the future gets nothing before its revision */
	rev = revision();
	ps_watch_open(st, K("w/"), rev + 2, &w2);
	put(K("w/f"), "f", 0, NULL);
	expect_events(w2, 4, "", NULL, NULL, "a watch from a future revision: not before it");
	put(K("w/g"), "g", 0, &rev);
	{
		static const char *const g[] = { "w/g" };

		expect_events(w2, 4, "P", g, &rev, "  then from it");
	}
	ps_watch_close(st, w2);

	/* compaction */
	ps_watch_open(st, K("w/"), r0 + 1, &w2);	/* left behind */
	expect_events(w, 4, "PP", (const char *const[]){ "w/f", "w/g" },
		      (int64_t[]){ rev - 1, rev }, "the first watch catches up");
	put(K("other/z"), "z", 0, NULL);
	expect_events(w, 4, "", NULL, NULL, "  past a change elsewhere");
	rev = revision();
	is_int(ps_compact(st, rev), 0, "compact to the current revision");
	ps_revision(st, NULL, &compacted);
	is_int(compacted, rev, "  the compacted revision");
	is_int(ps_watch_next(st, w2, ev, 4), PS_COMPACTED, "a watch behind it: PS_COMPACTED");
	like(ps_error(st), "compacted", "  saying so");
	ps_watch_close(st, w2);
	expect_events(w, 4, "", NULL, NULL, "a watch that had caught up goes on");
	is_int(ps_watch_open(st, K("w/"), rev - 1, &w2), PS_COMPACTED,
	       "a watch from before it: PS_COMPACTED");
	ok(w2 == NULL, "  no watch");
	is_int(ps_watch_open(st, K("w/"), rev, &w2), 0, "a watch from it is fine");
	ps_watch_close(st, w2);
	is_int(ps_compact(st, rev), PS_COMPACTED, "compacting there again: PS_COMPACTED");
	is_int(ps_compact(st, rev + 1), PS_ERROR, "compacting a future revision: an error");
	like(ps_error(st), "future", "  saying so");

	ps_watch_close(st, w);
	ps_watch_close(st, now);
}

/*
 * A randomized model check (fixed seed): puts, deletes, prefix deletes and
 * compare-and-swap txns on 16 keys, against a model of etcd's rules; after
 * every step the store's revision and every key's value, version,
 * create_revision and mod_revision must be the model's.
 */
#define MODEL_KEYS	16
#define MODEL_STEPS	300

struct model_key {
	bool exists;
	char value[16];
	int64_t create, mod, version;
};

static struct model_key model[MODEL_KEYS];
static int64_t model_rev;

static const char *model_name(int i)
{
	static char b[4][24];
	static unsigned int next;
	char *n = b[next++ % 4];

	snprintf(n, sizeof(b[0]), "m/k%d", i);
	return K(n);
}

static void model_put(int i, const char *value, int64_t rev)
{
	struct model_key *k = &model[i];

	if (!k->exists) {
		k->exists = true;
		k->create = rev;
		k->version = 0;
	}
	k->version++;
	k->mod = rev;
	snprintf(k->value, sizeof(k->value), "%s", value);
}

static bool model_matches(int step)
{
	struct ps_range r;
	size_t j = 0;
	bool good = revision() == model_rev;

	if (ps_range(st, K("m/"), NULL, 0, &r))
		return false;
	/* the store's keys come sorted; walk the model's in the same order */
	for (size_t n = 0; n < r.count && good; n++) {
		int i = atoi(r.kvs[n].key + strlen(pfx) + 3);
		struct model_key *k = &model[i];

		good = i >= 0 && i < MODEL_KEYS && k->exists && !strcmp(r.kvs[n].value, k->value) &&
		       r.kvs[n].version == k->version && r.kvs[n].create_revision == k->create &&
		       r.kvs[n].mod_revision == k->mod;
		if (!good)
			diag("step %d: %s differs from the model", step, r.kvs[n].key);
	}
	for (int i = 0; i < MODEL_KEYS; i++)
		j += model[i].exists;
	if (good && j != r.count) {
		diag("step %d: %zu keys, the model has %zu", step, r.count, j);
		good = false;
	}
	ps_range_free(&r);
	return good;
}

static void test_model(void)
{
	unsigned int seed = 16;
	int step, bad = -1;

	model_rev = revision();
	for (step = 0; step < MODEL_STEPS && bad < 0; step++) {
		int i = rand_r(&seed) % MODEL_KEYS, j = rand_r(&seed) % MODEL_KEYS;
		char value[16];
		int64_t rev = 0, deleted = 0;
		bool changed = false;

		snprintf(value, sizeof(value), "v%d", rand_r(&seed) % 1000);
		switch (rand_r(&seed) % 4) {
		case 0:
			if (put(model_name(i), value, 0, &rev))
				break;
			model_put(i, value, ++model_rev);
			break;
		case 1:
			ps_delete(st, model_name(i), false, &deleted, &rev);
			if (model[i].exists) {
				model[i].exists = false;
				model_rev++;
			}
			break;
		case 2:		/* m/k1 deletes k1 and k10..k15 */
			ps_delete(st, model_name(i % 2), true, &deleted, &rev);
			for (int k = 0; k < MODEL_KEYS; k++) {
				char n[12];

				snprintf(n, sizeof(n), "%d", k);
				if (model[k].exists && n[0] == "01"[i % 2]) {
					model[k].exists = false;
					changed = true;
				}
			}
			model_rev += changed;
			break;
		default: {	/* if i's mod_revision is (or is not) the model's, put j, else delete j */
			struct ps_cmp cmp = { .key = model_name(i), .target = PS_CMP_MOD_REVISION,
					      .result = PS_EQUAL,
					      .number = model[i].mod + (rand_r(&seed) % 3 == 0) };
			struct ps_op yes = { .type = PS_OP_PUT, .key = model_name(j), .value = value,
					     .value_len = strlen(value) };
			struct ps_op no = { .type = PS_OP_DELETE, .key = model_name(j) };
			struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &yes, .nsuccess = 1,
					      .failure = &no, .nfailure = 1 };
			struct ps_txn_result res;
			bool holds = (model[i].exists ? model[i].mod : 0) == cmp.number;

			if (ps_txn(st, &txn, &res) || res.succeeded != holds)
				bad = step;
			ps_txn_result_free(&res);
			if (holds) {
				model_put(j, value, ++model_rev);
			} else if (model[j].exists) {
				model[j].exists = false;
				model_rev++;
			}
			break;
		}
		}
		if (!model_matches(step))
			bad = step;
	}
	ok(bad < 0, "%d random steps agree with the model%s", step, bad < 0 ? "" : " (see above)");
}

static void test_reopen(void)
{
	struct ps_kv kv;
	char err[PS_ERR_MAX];
	int64_t rev = revision();

	put(K("keep"), "kept", 0, &rev);
	ps_close(st);
	st = NULL;
	is_int(ps_open(uri, &st, err, sizeof(err)), 0, "reopen the store");
	if (!st) {
		printf("Bail out! reopening %s: %s\n", uri, err);
		exit(1);
	}
	is_int(revision(), rev, "  at the same revision");
	is_int(ps_get(st, K("keep"), &kv), 0, "  the key is there");
	is_str(kv.value, "kept", "  with its value");
	ps_kv_free(&kv);
}

int main(void)
{
	const char *env = getenv("LUNLINK_TEST_STORE");
	char err[PS_ERR_MAX];
	struct timespec ts;

	if (env && *env)
		snprintf(uri, sizeof(uri), "%s", env);
	else
		snprintf(uri, sizeof(uri), "sqlite:%s/policy.db", scratch_dir("store"));
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(pfx, sizeof(pfx), "/lunlink-test/%d-%lld/", (int)getpid(),
		 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	diag("store %s, keys under %s", uri, pfx);
	if (ps_open(uri, &st, err, sizeof(err))) {
		ok(0, "open %s: %s", uri, err);
		return done_testing();
	}
	ok(*ps_backend_name(st), "opened, backend %s", ps_backend_name(st));

	test_open_errors();
	test_put_get();
	test_bounds();
	test_range();
	test_compares();
	test_txn();
	test_fence();
	test_fence_until();
	test_leases();
	test_watch();
	test_model();
	test_reopen();

	if (ps_delete(st, pfx, true, NULL, NULL))
		diag("cleaning %s: %s", pfx, ps_error(st));
	ps_close(st);
	return done_testing();
}
