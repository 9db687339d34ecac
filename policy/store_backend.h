/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_backend.h: what a store backend implements (the ops table) and
 * what store.c gives it (the error setter, the shared checks).  Only
 * store.c, the backends (store_sqlite.c, store_etcd.c) and the copy
 * between stores (store_migrate.c: the URI's scheme, quoting) include
 * it; the daemon sees store.h alone.
 *
 * store.c checks every argument against the bounds of store.h before an
 * op is called, so a backend sees valid keys, values, TTLs, lease ids and
 * transactions; it zeroes every result first, and frees it if the op
 * fails.  An op returns PS_OK or a PS_* code, with ps_set_error called.
 */
#ifndef LUNLINK_POLICY_STORE_BACKEND_H
#define LUNLINK_POLICY_STORE_BACKEND_H

#include "store.h"

struct ps_backend {
	const char *scheme;		/* "sqlite" for "sqlite:..." */
	/* rest: the URI after "scheme:"; st->priv is the backend's */
	int (*open)(struct ps_store *st, const char *rest);
	void (*close)(struct ps_store *st);
	/* compacted NULL: not wanted (etcd finds it with extra reads) */
	int (*revision)(struct ps_store *st, int64_t *revision, int64_t *compacted);
	/* prefix false: key exactly (limit 1, after NULL) */
	int (*range)(struct ps_store *st, const char *key, bool prefix, const char *after,
		     size_t limit, struct ps_range *out);
	int (*txn)(struct ps_store *st, const struct ps_txn *txn, struct ps_txn_result *res);
	int (*compact)(struct ps_store *st, int64_t revision);
	int (*lease_grant)(struct ps_store *st, int64_t ttl, int64_t *id);
	int (*lease_keepalive)(struct ps_store *st, int64_t id, int64_t *ttl);
	int (*lease_revoke)(struct ps_store *st, int64_t id, int64_t *revision);
	int (*lease_ttl)(struct ps_store *st, int64_t id, int64_t *remaining, int64_t *granted);
	int (*lease_expire)(struct ps_store *st, int64_t now_ms, int64_t *expired);
	/* w->prefix and w->start are set; the op sets the position */
	int (*watch_open)(struct ps_store *st, struct ps_watch *w);
	int (*watch_next)(struct ps_store *st, struct ps_watch *w, struct ps_event *ev,
			  size_t max);
	void (*watch_close)(struct ps_store *st, struct ps_watch *w);
	int (*notify_fd)(struct ps_store *st);
	int (*poll)(struct ps_store *st);
};

struct ps_store {
	const struct ps_backend *be;
	void *priv;
	char err[PS_ERR_MAX];
	char *fence_key;		/* ps_fence: NULL, or the key every txn compares */
	int64_t fence_rev;		/* its create_revision */
	bool (*fence_valid)(void *arg);	/* ps_fence_until: NULL, or asked first */
	void *fence_arg;
};

/*
 * A watch's position: every event up to (rev, idx) is delivered, idx
 * being the event's place within its revision; idx PS_REV_DONE means all
 * of revision rev.
 */
#define PS_REV_DONE	INT64_MAX

struct ps_watch {
	char *prefix;
	int64_t start;
	int64_t rev, idx;
	void *priv;			/* the backend's */
};

extern const struct ps_backend ps_backend_sqlite;
extern const struct ps_backend ps_backend_etcd;		/* store_etcd.c: etcd://HOST:PORT */
extern const struct ps_backend ps_backend_etcds;	/* etcds://HOST:PORT?ca=...: TLS */

/* Set st's message; returns rc (so: return ps_set_error(st, PS_ERROR, ...)). */
int ps_set_error(struct ps_store *st, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The pure parts, shared by the backends and fuzzed (t/fuzz/fuzz-store.c). */

/* Split a store URI: its backend and the rest after "scheme:"; 0 or -1
 * with err. */
int ps_uri_parse(const char *uri, const struct ps_backend **be, const char **rest,
		 char *err, size_t errlen);

/* A key (prefix false: 1..PS_KEY_MAX bytes) or a prefix (0..PS_KEY_MAX);
 * 0 or -1 with err. */
int ps_check_key(const char *key, bool prefix, char *err, size_t errlen);

/* A transaction's shape: counts, keys, values, bytes, overlapping writes. */
int ps_check_txn(const struct ps_txn *txn, char *err, size_t errlen);

/*
 * The first key after every key starting with prefix (len bytes): the
 * prefix with its last byte below 0xff incremented and the rest dropped.
 * Writes it to end (room for len bytes) and returns its length, or 0 if
 * there is none (an empty prefix, or all 0xff): no upper bound then.
 */
size_t ps_prefix_end(const char *prefix, size_t len, char *end);

/* s (len bytes) for a message: at most 64 bytes of it, non-printable
 * bytes as \xNN, "..." if cut; out has outlen bytes (>= 1). */
void ps_quote(const char *s, size_t len, char *out, size_t outlen);

#endif
