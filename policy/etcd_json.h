/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * etcd_json.h: the etcd v3 gateway's JSON, both ways, as pure functions
 * over bytes: requests built from etcd.h's structs (etcd_req.c, with
 * base64), answers parsed into them and the framing of a watch stream
 * (etcd_resp.c).  No I/O here (etcd.c does it), so the unit test feeds
 * recorded answers and the fuzz target (t/fuzz/fuzz-etcd-resp.c) feeds
 * anything.
 *
 * The gateway's rules, as etcd 3.4 writes them: keys and values base64;
 * int64 and uint64 fields as JSON strings ("revision":"5"; a bare number
 * is taken too); a field equal to its zero value left out (an empty value,
 * "succeeded":false, "more":false, a lease of 0); an error as
 * {"error":"...","message":"...","code":N} with an HTTP status, or, inside
 * a stream, {"error":{"grpc_code":N,"message":"...",...}}; a stream's
 * answers as {"result":{...}}, one after another, each followed by a
 * newline (not relied on: the framer counts braces).
 */
#ifndef LUNLINK_POLICY_ETCD_JSON_H
#define LUNLINK_POLICY_ETCD_JSON_H

#include "etcd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why an answer was not taken: etcd's own refusal (code its gRPC code,
 * message its words), or a malformed answer (code 0, message naming the
 * field). */
struct etcd_perr {
	int code;
	char message[ETCD_ERR_MAX];
};

/* gRPC codes etcd answers with, those the client maps */
#define ETCD_GRPC_NOT_FOUND	5
#define ETCD_GRPC_OUT_OF_RANGE	11

/* ETCD_NOT_FOUND, ETCD_COMPACTED or ETCD_ERROR for etcd's refusal. */
int etcd_code_result(int code, const char *message);

/* ---- base64, as the gateway's bytes fields ------------------------------------ */
/* A NUL-terminated base64 text of len bytes (malloc'd), NULL if out of memory. */
char *etcd_b64_encode(const char *p, size_t len);
/* The bytes of base64 text s (slen bytes; padded, standard alphabet),
 * NUL-terminated beyond *len (malloc'd); -1 if s is not such text. */
int etcd_b64_decode(const char *s, size_t slen, char **out, size_t *len);

/* ---- requests: NUL-terminated JSON text (malloc'd), or NULL with err ---------- */
char *etcd_req_range(const struct etcd_range_req *r, char *err, size_t errlen);
char *etcd_req_put(const char *key, size_t key_len, const char *value, size_t value_len,
		   int64_t lease, char *err, size_t errlen);
char *etcd_req_delete(const struct etcd_keys *k, char *err, size_t errlen);
char *etcd_req_txn(const struct etcd_txn *t, char *err, size_t errlen);
char *etcd_req_watch(const struct etcd_keys *k, int64_t start_revision, char *err, size_t errlen);

/* ---- answers ------------------------------------------------------------------------
 * Each takes the body of an answer (len bytes, NUL not needed) whatever
 * its HTTP status: ETCD_OK with *out filled, or ETCD_ERROR (or the code
 * etcd_code_result maps etcd's refusal to) with *e.  Nothing to free on
 * error. */
int etcd_parse_range(const char *body, size_t len, struct etcd_range *out, struct etcd_perr *e);
int etcd_parse_put(const char *body, size_t len, struct etcd_header *out, struct etcd_perr *e);
int etcd_parse_delete(const char *body, size_t len, struct etcd_header *out, int64_t *deleted,
		      struct etcd_perr *e);
int etcd_parse_txn(const char *body, size_t len, struct etcd_txn_result *out, struct etcd_perr *e);
/* The header alone (compaction, revoke). */
int etcd_parse_header_only(const char *body, size_t len, struct etcd_header *out,
			   struct etcd_perr *e);
int etcd_parse_lease_grant(const char *body, size_t len, int64_t *id, int64_t *ttl,
			   struct etcd_perr *e);
/* ETCD_NOT_FOUND when etcd answers with no TTL (the lease is gone). */
int etcd_parse_lease_keepalive(const char *body, size_t len, int64_t *ttl, struct etcd_perr *e);
/* ETCD_NOT_FOUND when etcd answers TTL -1. */
int etcd_parse_lease_ttl(const char *body, size_t len, int64_t *remaining, int64_t *granted,
			 struct etcd_perr *e);
int etcd_parse_status(const char *body, size_t len, struct etcd_status *out, struct etcd_perr *e);

/* ---- the watch stream ------------------------------------------------------------------ */

/*
 * The framer: bytes in as they come, in chunks cut anywhere; complete
 * top-level JSON objects out.  It tracks strings and escapes, so braces
 * inside strings do not count, matches each closing bracket to its
 * opening one, and keeps its scan position, so each byte is looked at
 * once.  JSON itself is json-c's to check, object by object.
 */
struct etcd_stream {
	char *buf;
	size_t len, cap;
	size_t start;		/* where the object being framed begins */
	size_t scan;		/* bytes of buf already looked at */
	int depth;
	uint64_t arrays;	/* bit i: level i (innermost bit 0) is an array */
	bool in_string, escape;
	bool broken;		/* refused input: stays refused */
};

void etcd_stream_init(struct etcd_stream *s);
void etcd_stream_free(struct etcd_stream *s);
/* Append n bytes; -1 with e if an object would exceed ETCD_REPLY_MAX. */
int etcd_stream_feed(struct etcd_stream *s, const char *p, size_t n, struct etcd_perr *e);
/*
 * 1 and the next complete object (*obj, *len: inside the stream's buffer,
 * valid until the next feed or take); 0 if none is complete yet; -1 with e
 * if the bytes between objects are not whitespace, a bracket closes the
 * wrong kind, or nesting is too deep.
 */
int etcd_stream_take(struct etcd_stream *s, const char **obj, size_t *len, struct etcd_perr *e);

/* One answer of a watch stream. */
struct etcd_watch_resp {
	struct etcd_header header;
	int64_t watch_id;
	bool created, canceled;
	int64_t compact_revision;
	char cancel_reason[256];
	struct etcd_event *events;
	size_t nevents;
};

/* One object of the stream: ETCD_OK and *out (free its events with
 * etcd_events_free), or ETCD_ERROR with e (a stream's error object is
 * etcd's refusal: code and message). */
int etcd_parse_watch(const char *obj, size_t len, struct etcd_watch_resp *out,
		     struct etcd_perr *e);

#endif
