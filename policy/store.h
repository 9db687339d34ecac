/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.h: lunlink-policyd's store, the one place the manager's state
 * (nodes, areas, volumes, events) is kept.  One narrow interface in the
 * shape of etcd's v3 API -- revisions, compare-and-swap transactions,
 * prefix reads, watches from a revision, leases -- so that the embedded
 * SQLite store (store_sqlite.c, the default, for one manager) and an etcd
 * store (for managers that must outlive their node) are two backends of
 * one contract, checked by one test suite (t/unit/store-contract.c).
 * doc/store.md is the long form; this header is the reference.
 *
 * The model, as etcd's:
 *   - Keys are byte strings of 1..PS_KEY_MAX bytes without NUL, ordered
 *     bytewise; values are byte strings of 0..PS_VALUE_MAX bytes (JSON in
 *     practice).
 *   - The store has one revision, an int64 that a fresh store starts at 1.
 *     Every transaction that changes something (a put, or a delete of a
 *     key that exists) makes exactly one new revision, shared by all its
 *     changes; one that changes nothing makes none.
 *   - A key carries create_revision (the revision that created it since
 *     it last did not exist), mod_revision (the last that changed it),
 *     version (puts since created: 1, 2, ...) and its lease (0: none).
 *     A missing key has all four 0.
 *   - Each change is an event (PUT or DELETE), kept in a history that
 *     watches read from any revision not yet compacted.
 *   - A lease has a TTL in seconds; when it is revoked or expires, the
 *     keys attached to it are deleted, all in one revision.
 *
 * Reads see the latest revision only: reading at a past revision is not
 * offered (SQLite keeps current values and the event history, not old
 * versions).  A handle is for one thread; nothing here blocks on the
 * network for SQLite (the etcd backend bounds each call by its timeout).
 *
 * Return codes: PS_OK (0), or a negative PS_* code; ps_error() then holds
 * a one-line message naming the cause ("key longer than 1024 bytes",
 * "sqlite: /var/lib/lunlink/policy.db: database is locked").  Results
 * (struct ps_kv, ps_range, ps_txn_result, ps_event arrays) are allocated
 * by the store and freed by their ps_*_free; on error there is nothing to
 * free, and freeing a zeroed result is harmless.
 */
#ifndef LUNLINK_POLICY_STORE_H
#define LUNLINK_POLICY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds every backend enforces with the same words (store.c). */
#define PS_KEY_MAX		1024		/* bytes; no NUL */
#define PS_VALUE_MAX		(1024 * 1024)	/* bytes */
#define PS_TXN_OPS_MAX		128		/* compares, and ops per branch (etcd's default) */
#define PS_TXN_BYTES_MAX	(1536 * 1024)	/* keys and values of one txn (etcd's request bound) */
#define PS_URI_MAX		4096		/* bytes of a store URI */
#define PS_LEASE_TTL_MAX	9000000000LL	/* seconds (etcd's bound) */
#define PS_ERR_MAX		512		/* bytes of ps_error()'s message */

enum {
	PS_OK		= 0,
	PS_ERROR	= -1,	/* anything else: bad argument, I/O, busy, ... */
	PS_NOT_FOUND	= -2,	/* ps_get: no such key; lease calls: no such lease */
	PS_COMPACTED	= -3,	/* the history asked for is compacted: resync */
	PS_FENCED	= -4,	/* ps_fence's key changed: this writer is deposed */
};

struct ps_store;
struct ps_watch;

/* A key and its value, as read; the store allocates, ps_kv_free frees. */
struct ps_kv {
	char *key;		/* NUL-terminated */
	char *value;		/* value_len bytes, then a NUL not counted */
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;		/* 0: none */
};

/* The answer to a range read: keys in ascending byte order. */
struct ps_range {
	struct ps_kv *kvs;
	size_t count;
	bool more;		/* the limit cut the answer short */
	int64_t revision;	/* the store's revision the read saw */
};

/* ---- opening ------------------------------------------------------------ */

/*
 * Open the store named by uri: "sqlite:/path/to/policy.db" (created, mode
 * 0600, if missing), "etcd://HOST:PORT", or "etcds://HOST:PORT?ca=FILE
 * [&cert=FILE&key=FILE]" (TLS); either etcd scheme takes "timeout=MS"
 * (doc/store.md).  An unknown scheme is refused naming it.  On failure
 * *out is NULL and err (errlen bytes; may be NULL) says why.
 */
int ps_open(const char *uri, struct ps_store **out, char *err, size_t errlen);
void ps_close(struct ps_store *st);

/* The message of the last call that failed (never NULL). */
const char *ps_error(const struct ps_store *st);
/* The backend's scheme: "sqlite", "etcd" or "etcds". */
const char *ps_backend_name(const struct ps_store *st);

/* The current revision and the compacted one (either pointer may be NULL):
 * history before *compacted is gone. */
int ps_revision(struct ps_store *st, int64_t *revision, int64_t *compacted);

/* ---- reading -------------------------------------------------------------- */

/* One key: PS_OK and *kv filled, or PS_NOT_FOUND. */
int ps_get(struct ps_store *st, const char *key, struct ps_kv *kv);

/*
 * The keys starting with prefix ("" for all), in ascending byte order,
 * only those greater than after (NULL for no such bound: paging), at most
 * limit of them (0: no limit); out->more says whether more were left.
 */
int ps_range(struct ps_store *st, const char *prefix, const char *after, size_t limit,
	     struct ps_range *out);

/* ---- transactions ---------------------------------------------------------- */

enum ps_cmp_target {
	PS_CMP_VALUE,			/* bytes, compared as memcmp then length */
	PS_CMP_VERSION,
	PS_CMP_CREATE_REVISION,
	PS_CMP_MOD_REVISION,
	PS_CMP_LEASE,
};

enum ps_cmp_result { PS_EQUAL, PS_NOT_EQUAL, PS_GREATER, PS_LESS };

/*
 * "key's target <result> the given one".  A missing key has version,
 * revisions and lease 0; any VALUE compare on a missing key is false
 * (etcd's rule: no value is not the empty value).
 */
struct ps_cmp {
	const char *key;
	enum ps_cmp_target target;
	enum ps_cmp_result result;
	int64_t number;			/* VERSION, *_REVISION, LEASE */
	const char *value;		/* VALUE: value_len bytes */
	size_t value_len;
};

enum ps_op_type {
	PS_OP_GET,		/* key: read one key */
	PS_OP_RANGE,		/* key is a prefix; limit as ps_range */
	PS_OP_PUT,		/* key = value, attached to lease (0: none) */
	PS_OP_DELETE,		/* key */
	PS_OP_DELETE_PREFIX,	/* every key starting with key ("": all) */
};

struct ps_op {
	enum ps_op_type type;
	const char *key;		/* the key, or the prefix */
	const char *value;		/* PUT: value_len bytes */
	size_t value_len;
	int64_t lease;			/* PUT: 0, or a granted lease */
	size_t limit;			/* RANGE: 0 for no limit */
};

/*
 * If every compare holds (none: they hold), run the success ops, else the
 * failure ops, in order, each seeing the ones before it; all of it is
 * atomic.  Within a branch a key may be put at most once and not be put
 * and deleted (etcd refuses overlapping writes in one txn).
 */
struct ps_txn {
	const struct ps_cmp *cmp;
	size_t ncmp;
	const struct ps_op *success;
	size_t nsuccess;
	const struct ps_op *failure;
	size_t nfailure;
};

struct ps_op_result {
	struct ps_range range;		/* GET (0 or 1 kv), RANGE */
	int64_t deleted;		/* DELETE, DELETE_PREFIX: keys deleted */
};

struct ps_txn_result {
	bool succeeded;			/* the compares held */
	int64_t revision;		/* the one it made, or the current if none */
	struct ps_op_result *ops;	/* one per op of the branch taken */
	size_t nops;
};

/* PS_OK, or an error (a put's lease unknown: PS_NOT_FOUND); a failed
 * compare is PS_OK with res->succeeded false. */
int ps_txn(struct ps_store *st, const struct ps_txn *txn, struct ps_txn_result *res);

/*
 * Fencing (an elected writer's term as its token): once set, every
 * transaction through st also requires that key's create_revision be
 * create_revision, the term's.  A transaction whose fence no longer holds
 * changes nothing and returns PS_FENCED ("... this manager no longer
 * leads"), whatever its own compares said; so a deposed writer's late
 * decisions are refused by the store itself.  A fenced transaction may not
 * have a failure branch (it could not be told from a lost fence).  key
 * NULL lifts the fence.  Leases, compaction and reads are not fenced.
 */
int ps_fence(struct ps_store *st, const char *key, int64_t create_revision);
/*
 * And, asked before every call through st (reads too), whether the term
 * may still be going on (the elector's deadline, on this host's clock):
 * false makes the call PS_FENCED at once, without asking the store, so
 * that a deposed manager cut off from the store unwinds at once instead
 * of waiting out each call's timeout.  valid NULL: not asked.
 */
void ps_fence_until(struct ps_store *st, bool (*valid)(void *arg), void *arg);

/* One-op transactions, for convenience; revision/deleted may be NULL. */
int ps_put(struct ps_store *st, const char *key, const char *value, size_t value_len,
	   int64_t lease, int64_t *revision);
int ps_delete(struct ps_store *st, const char *key, bool prefix, int64_t *deleted,
	      int64_t *revision);

/*
 * Forget the history before revision (watches from earlier get
 * PS_COMPACTED).  A revision at or before the compacted one is
 * PS_COMPACTED, one past the current revision PS_ERROR.  Makes no
 * revision.  The daemon compacts on a timer, keeping some recent history.
 */
int ps_compact(struct ps_store *st, int64_t revision);

/* ---- leases ------------------------------------------------------------------ */

/*
 * Leases' deadlines are kept in the store (SQLite: wall-clock ms), so a
 * restart keeps them; on open every lease is given at least one TTL from
 * then (no one could renew while the manager was down).  SQLite has no
 * clock of its own: a lease's keys go when ps_lease_expire sees it past
 * its deadline, which the daemon calls on a timer with ps_now_ms(); each
 * expired lease is one revision.  etcd expires leases itself, and there
 * ps_lease_expire does nothing.  Granting, keeping alive and expiring
 * make no revision; deleting the keys does.
 */
int ps_lease_grant(struct ps_store *st, int64_t ttl, int64_t *id);
/* Renew for its TTL (*ttl, may be NULL); PS_NOT_FOUND if unknown or expired. */
int ps_lease_keepalive(struct ps_store *st, int64_t id, int64_t *ttl);
/* End it and delete its keys in one revision (*revision: that one, or the
 * current one if it had no keys; may be NULL). */
int ps_lease_revoke(struct ps_store *st, int64_t id, int64_t *revision);
/* Seconds left (0: expired, its keys go at the next expiry pass) and the
 * granted TTL; either may be NULL. */
int ps_lease_ttl(struct ps_store *st, int64_t id, int64_t *remaining, int64_t *granted);
/* Revoke every lease whose deadline is at or before now_ms, one revision
 * each; *expired (may be NULL) counts them. */
int ps_lease_expire(struct ps_store *st, int64_t now_ms, int64_t *expired);
/* The leases' clock: CLOCK_REALTIME in milliseconds. */
int64_t ps_now_ms(void);

/* ---- watches ----------------------------------------------------------------- */

enum ps_event_type { PS_EVENT_PUT, PS_EVENT_DELETE };

/*
 * A change.  kv.mod_revision is the revision that made it.  PUT: the key
 * as written (value, create_revision, version, lease).  DELETE: the key
 * only; the other fields are 0.
 */
struct ps_event {
	enum ps_event_type type;
	struct ps_kv kv;
};

/*
 * Watch the keys under prefix from start_revision (0: from the next
 * revision on).  A start before the compacted revision is PS_COMPACTED:
 * read the state afresh (ps_range) and watch from its revision + 1.
 *
 * Delivery fits one single-threaded event loop: the store has one fd
 * (ps_notify_fd) that becomes readable when a change may have committed;
 * the loop then calls ps_poll (clears it, does pending I/O) and
 * ps_watch_next on each watch until it returns fewer than it asked for.
 * ps_watch_next does not wait for others' changes: it returns the events
 * after the watch's position, oldest first, in revision order, and moves
 * the position.
 * Events of one revision may span calls when max cuts them.  SQLite rings
 * the fd for commits through this handle; another process's commits to
 * the same file are seen by the next ps_watch_next (a timer's).  etcd's
 * fd is its streams'; there ps_watch_next may wait, at most the timeout,
 * for its stream to bring the revisions this handle has already seen
 * (its own writes), so a reader never misses them (doc/store.md).
 */
int ps_watch_open(struct ps_store *st, const char *prefix, int64_t start_revision,
		  struct ps_watch **out);
/* 0..max events into ev, or PS_COMPACTED if the history the watch still
 * needs was compacted meanwhile, or PS_ERROR. */
int ps_watch_next(struct ps_store *st, struct ps_watch *w, struct ps_event *ev, size_t max);
/* Every revision up to this one has been delivered. */
int64_t ps_watch_revision(const struct ps_watch *w);
void ps_watch_close(struct ps_store *st, struct ps_watch *w);

int ps_notify_fd(struct ps_store *st);
int ps_poll(struct ps_store *st);

/* ---- freeing results ------------------------------------------------------------- */
void ps_kv_free(struct ps_kv *kv);
void ps_range_free(struct ps_range *r);
void ps_txn_result_free(struct ps_txn_result *r);
void ps_events_free(struct ps_event *ev, size_t n);

#endif
