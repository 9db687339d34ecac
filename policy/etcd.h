/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * etcd.h: a small etcd v3 client, for the policy store's etcd backend
 * (issue 19).  etcd has no official C client; its v3 API is reachable as
 * JSON over HTTP through the gateway every etcd (3.4 and later) serves on
 * its client port (POST /v3/kv/range, ...), which libcurl and json-c --
 * both already in the policy daemon -- drive without protobuf or a gRPC
 * C++ runtime.  doc/policy.md, "The etcd client", says more.
 *
 * Two shapes of call:
 *   - kv, txn, lease, status, compaction: synchronous, each bounded by
 *     the client's timeout (one easy handle, its connection kept);
 *   - watches: streams read from the caller's event loop through one fd
 *     (etcd_watch_fd), never blocking (etcd_watch.c says why curl's
 *     multi-socket interface behind an epoll fd).
 *
 * The gateway's encoding, handled here so callers never see it: keys and
 * values are base64, int64 fields are JSON strings, fields equal to their
 * zero value are left out.  Requests and answers are etcd_json.h's,
 * pure functions over bytes (unit-tested on recorded answers, fuzzed).
 *
 * Return codes: ETCD_OK (0) or a negative ETCD_*; etcd_error() then holds
 * one line naming the endpoint, the call, the HTTP status and etcd's own
 * message and code, e.g. "etcd http://127.0.0.1:2379 /v3/kv/range: HTTP
 * 400: etcdserver: mvcc: required revision is a future revision (code
 * 11)".  Results are allocated here and freed by their etcd_*_free;
 * freeing a zeroed result is harmless, and on error there is nothing to
 * free.  A client is for one thread.
 */
#ifndef LUNLINK_POLICY_ETCD_H
#define LUNLINK_POLICY_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_ERR_MAX		512			/* bytes of etcd_error()'s message */
#define ETCD_WATCH_QUEUE_MAX	10000			/* events a watch queues before its
							 * stream is paused */
#define ETCD_REPLY_MAX		(64 * 1024 * 1024)	/* bytes of one answer, or one object
							 * of a watch stream */

enum {
	ETCD_OK		= 0,
	ETCD_ERROR	= -1,	/* transport, HTTP, etcd's refusal, a malformed answer */
	ETCD_NOT_FOUND	= -2,	/* no such lease (expired, revoked): lease calls, a put on it */
	ETCD_COMPACTED	= -3,	/* the revision asked for is compacted */
};

/* etcd's gRPC code for "unavailable": no leader, the member cut off */
#define ETCD_CODE_UNAVAILABLE	14

struct etcd_client;
struct etcd_watch;

#define ETCD_ENDPOINTS_MAX	8	/* members a client is given */

struct etcd_opts {
	/* "http://HOST:PORT" or "https://HOST:PORT", or a list of them, one
	 * scheme, apart by commas or blanks: the members of one cluster */
	const char *endpoint;
	/* https: the CA that signed etcd's certificate (required), and our
	 * certificate and key when etcd asks for one (--client-cert-auth) */
	const char *ca_file, *cert_file, *key_file;
	long timeout_ms;	/* each synchronous call; 0: 5000 */
	long connect_timeout_ms; /* 0: 2000 */
};

/* The header every answer carries. */
struct etcd_header {
	uint64_t cluster_id, member_id;
	int64_t revision;	/* the store's revision the answer saw */
	uint64_t raft_term;
};

/* A key as read.  key and value are NUL-terminated beyond their lengths
 * (etcd's keys may hold NUL bytes; lunlink's never do). */
struct etcd_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

/*
 * Which keys: key alone; or, with prefix, every key starting with key
 * ("" and prefix: every key); or [key, end) when end is given, where an
 * end of the one byte "\0" (end_len 1) means every key from key on.
 * key_len/end_len 0 take strlen (etcd has no empty key).
 */
struct etcd_keys {
	const char *key;
	size_t key_len;
	const char *end;
	size_t end_len;
	bool prefix;
};

struct etcd_range_req {
	struct etcd_keys keys;
	int64_t limit;		/* 0: no limit */
	int64_t revision;	/* 0: the latest; else that past one */
	bool keys_only;		/* no values */
	bool count_only;	/* only the count */
};

struct etcd_range {
	struct etcd_header header;
	struct etcd_kv *kvs;
	size_t nkvs;
	int64_t count;		/* keys in the range, not only those returned */
	bool more;		/* the limit cut the answer short */
};

/* ---- transactions ------------------------------------------------------------ */

enum etcd_cmp_target { ETCD_CMP_VERSION, ETCD_CMP_CREATE, ETCD_CMP_MOD, ETCD_CMP_VALUE,
		       ETCD_CMP_LEASE };
enum etcd_cmp_result { ETCD_EQUAL, ETCD_GREATER, ETCD_LESS, ETCD_NOT_EQUAL };

/* "key's target <result> number (or value)". */
struct etcd_cmp {
	const char *key;
	size_t key_len;		/* 0: strlen */
	enum etcd_cmp_target target;
	enum etcd_cmp_result result;
	int64_t number;		/* VERSION, CREATE, MOD, LEASE */
	const char *value;	/* VALUE: value_len bytes */
	size_t value_len;
};

enum etcd_op_type { ETCD_OP_RANGE, ETCD_OP_PUT, ETCD_OP_DELETE };

struct etcd_op {
	enum etcd_op_type type;
	struct etcd_keys keys;	/* PUT: keys.key alone */
	const char *value;	/* PUT: value_len bytes */
	size_t value_len;
	int64_t lease;		/* PUT: 0 or a granted lease */
	int64_t limit;		/* RANGE: 0 for none */
};

struct etcd_txn {
	const struct etcd_cmp *cmp;
	size_t ncmp;
	const struct etcd_op *success;
	size_t nsuccess;
	const struct etcd_op *failure;
	size_t nfailure;
};

struct etcd_op_result {
	enum etcd_op_type type;
	struct etcd_range range;	/* RANGE */
	int64_t revision;		/* PUT, DELETE: the op's header revision */
	int64_t deleted;		/* DELETE */
};

struct etcd_txn_result {
	struct etcd_header header;	/* revision: the one the txn made, or the current */
	bool succeeded;
	struct etcd_op_result *ops;	/* one per op of the branch taken */
	size_t nops;
};

/* ---- status ---------------------------------------------------------------------- */

struct etcd_status {
	struct etcd_header header;
	char version[32];		/* "3.4.23" */
	int64_t db_size;
	uint64_t leader;		/* the leader's member id */
	uint64_t raft_index;
	uint64_t raft_term;
};

/* ---- watches ----------------------------------------------------------------------- */

enum etcd_event_type { ETCD_EVENT_PUT, ETCD_EVENT_DELETE };

/* A change; kv.mod_revision is the revision that made it.  A DELETE has
 * the key and mod_revision only. */
struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;
};

/* ---- the client ------------------------------------------------------------------------ */

/*
 * A client of one endpoint or of several members of one cluster; NULL
 * with err if the options are wrong (an endpoint neither http:// nor
 * https://, two schemes in one list, more than ETCD_ENDPOINTS_MAX, https
 * without a CA, a certificate without its key, a file that cannot be read).
 *
 * With several, the calls go to one member, the current one (the first
 * at the start), and move on to the next:
 *   - within a call, when it could not connect (nothing was sent, so
 *     nothing can have been applied), until each was tried once;
 *   - for the next call, after any other transport failure (no answer in
 *     time, the connection broken) and after etcd's "unavailable" (code
 *     14: the member has no leader, a minority cut off); the failed call
 *     itself is not sent again, since it may have been applied.
 * Watch streams open on the current member (etcd_watch_open).
 */
struct etcd_client *etcd_new(const struct etcd_opts *o, char *err, size_t errlen);
/* Closes its watches too. */
void etcd_free(struct etcd_client *c);

const char *etcd_error(const struct etcd_client *c);
/* The current member's endpoint. */
const char *etcd_endpoint(const struct etcd_client *c);
/* Move to the next member; with one member, nothing. */
void etcd_next_endpoint(struct etcd_client *c);
/* The last call's HTTP status (0: none came) and etcd's gRPC code (0: none). */
void etcd_last_status(const struct etcd_client *c, long *http_status, int *code);

int etcd_status(struct etcd_client *c, struct etcd_status *out);

int etcd_range(struct etcd_client *c, const struct etcd_range_req *req, struct etcd_range *out);
/* A put; *revision (may be NULL) the revision it made. */
int etcd_put(struct etcd_client *c, const char *key, size_t key_len, const char *value,
	     size_t value_len, int64_t lease, int64_t *revision);
/* Delete the keys; *deleted, *revision may be NULL. */
int etcd_delete(struct etcd_client *c, const struct etcd_keys *keys, int64_t *deleted,
		int64_t *revision);
/* A failed compare is ETCD_OK with res->succeeded false. */
int etcd_txn(struct etcd_client *c, const struct etcd_txn *txn, struct etcd_txn_result *res);
/* Forget the history before revision (physical: wait until it is gone
 * from the disk too). */
int etcd_compact(struct etcd_client *c, int64_t revision, bool physical);

/* id 0: etcd picks one; *id, *granted_ttl (may be NULL) what it granted. */
int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t id, int64_t *out_id,
		     int64_t *granted_ttl);
/* Renew; *ttl (may be NULL) the TTL it was renewed for.  ETCD_NOT_FOUND
 * if unknown or expired. */
int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl);
/* End it, deleting its keys; *revision (may be NULL) the revision after. */
int etcd_lease_revoke(struct etcd_client *c, int64_t id, int64_t *revision);
/* Seconds left and the granted TTL (either may be NULL). */
int etcd_lease_ttl(struct etcd_client *c, int64_t id, int64_t *remaining, int64_t *granted);

/*
 * Watch keys from start_revision (0: from the next revision).  Returns at
 * once, the stream being opened from the loop: the caller waits for
 * etcd_watch_fd to be readable, calls etcd_watch_poll (does whatever I/O
 * is ready, never blocks), then etcd_watch_next on each watch until it
 * returns fewer events than asked.  prev_kv is not offered (lunlink keeps
 * what it needs in its values).
 */
int etcd_watch_open(struct etcd_client *c, const struct etcd_keys *keys, int64_t start_revision,
		    struct etcd_watch **out);
/*
 * 0..max events into ev, oldest first (the caller frees them with
 * etcd_events_free); ETCD_COMPACTED once the queued events are delivered,
 * if etcd cancelled the watch because its start is compacted; ETCD_ERROR,
 * with etcd_error, once the stream ended or etcd cancelled it otherwise.
 * After an error the watch stays failed: close it.
 */
int etcd_watch_next(struct etcd_client *c, struct etcd_watch *w, struct etcd_event *ev,
		    size_t max);
/* Whether etcd has confirmed the watch (its "created" answer came). */
bool etcd_watch_created(const struct etcd_watch *w);
/* The revision of the last event delivered; before any, start_revision
 * - 1, or with start_revision 0 the revision etcd confirmed the watch at. */
int64_t etcd_watch_revision(const struct etcd_watch *w);
/* Events received and not yet taken (the stream pauses past
 * ETCD_WATCH_QUEUE_MAX, give or take one of etcd's answers). */
size_t etcd_watch_queued(const struct etcd_watch *w);
/* The compacted revision etcd named when it refused the watch (0: none). */
int64_t etcd_watch_compact_revision(const struct etcd_watch *w);
void etcd_watch_close(struct etcd_client *c, struct etcd_watch *w);
/* w's stream failed: the client moves on from the member it streamed
 * from, unless it has already (several watches failing at once move it
 * once).  With one member, nothing. */
void etcd_watch_move_on(struct etcd_client *c, const struct etcd_watch *w);

/* One fd for the loop: readable when a watch stream may have data or a
 * timer of curl's is due (so the loop needs no timer for the client);
 * etcd_watch_poll does the ready I/O: ETCD_ERROR only if the fd itself
 * fails, a stream's failure is its watch's. */
int etcd_watch_fd(struct etcd_client *c);
int etcd_watch_poll(struct etcd_client *c);

/* ---- freeing ------------------------------------------------------------------------------ */
void etcd_kv_free(struct etcd_kv *kv);
void etcd_range_free(struct etcd_range *r);
void etcd_txn_result_free(struct etcd_txn_result *r);
void etcd_events_free(struct etcd_event *ev, size_t n);

#endif
