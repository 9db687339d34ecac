// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * store_etcd.c: the etcd backend of lunlink-policyd's store (store.h),
 * for managers that must outlive their node (issue 19).  Each op is one
 * call of the etcd client (etcd.h), bounded by its timeout; this file is
 * the translation, and the two places where etcd and the store's model
 * differ:
 *
 *   - Watches.  The store's watch is a cursor that a reader finds caught
 *     up with what its own handle has written or read (SQLite reads the
 *     history table); etcd's is a stream that brings changes whenever
 *     they come.  So each store watch streams every key of the cluster
 *     from its start and keeps only its prefix's events: as every
 *     revision is at least one event, an event of revision R on that
 *     stream proves every revision up to R has been delivered.
 *     ps_watch_next waits (at most the timeout) until its stream has
 *     brought the revision this handle last saw, so a reader never misses
 *     its own writes.  The price: every watch carries the whole cluster's
 *     changes (lunlink's etcd holds lunlink's keys; a shared busy etcd
 *     costs that traffic).  Not etcd's progress requests: 3.4's answer
 *     may overtake events still on their way, and the gateway's stream
 *     takes its one request body only.
 *   - The compacted revision.  etcd 3.4 says it nowhere cheap, but a read
 *     at a revision before it is refused, so it is found by bisection from
 *     the last one known (usually one read).  A watch whose position is
 *     before a compaction this handle made or saw is PS_COMPACTED, as
 *     with SQLite; one compacted past by another client is told by etcd.
 *
 * Leases expire on etcd's clock: ps_lease_expire does nothing here.
 */
#include "store_backend.h"
#include "lunlink/clock.h"
#include "etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ES_TIMEOUT_MAX	600000L		/* ms: the most ?timeout= takes */
#define ES_DRAIN	64		/* events taken from the client at once */

struct es {
	struct etcd_client *c;
	long timeout_ms;
	int64_t seen;			/* the newest revision this handle saw */
	int64_t compacted;		/* etcd's compacted revision is at least this */
};

/* A store event with its place within its revision. */
struct es_event {
	struct ps_event ev;
	int64_t idx;
};

struct es_watch {
	struct etcd_watch *ew;
	struct es_event *q;		/* owed: q[head..len) */
	size_t head, len, cap;
	int64_t done;			/* every revision up to this one is in q or delivered */
	int64_t last;			/* the revision of the last event taken from the stream */
	int64_t last_idx;		/* the next idx within it */
	bool broken;			/* events were lost (memory): never reopened */
};

static struct es *es_of(struct ps_store *st)
{
	return st->priv;
}

static void saw(struct es *e, int64_t rev)
{
	if (rev > e->seen)
		e->seen = rev;
}

/* The client's last error as the store's: its sentence names the endpoint,
 * the call and etcd's message. */
static int es_fail(struct ps_store *st, int rc)
{
	int prc = rc == ETCD_NOT_FOUND ? PS_NOT_FOUND : rc == ETCD_COMPACTED ? PS_COMPACTED : PS_ERROR;

	return ps_set_error(st, prc, "%s", etcd_error(es_of(st)->c));
}

static int nomem(struct ps_store *st)
{
	return ps_set_error(st, PS_ERROR, "etcd %s: %s", etcd_endpoint(es_of(st)->c),
			    strerror(ENOMEM));
}

/* ---- conversions ----------------------------------------------------------------- */

/* Move a client kv into a store kv (the strings change hands). */
static int take_kv(struct etcd_kv *from, struct ps_kv *to)
{
	to->key = from->key;
	to->value = from->value;
	to->value_len = from->value_len;
	to->create_revision = from->create_revision;
	to->mod_revision = from->mod_revision;
	to->version = from->version;
	to->lease = from->lease;
	from->key = from->value = NULL;
	if (!to->value)
		to->value = strdup("");
	return to->key && to->value ? 0 : -1;
}

static int take_range(struct ps_store *st, struct etcd_range *from, int64_t revision,
		      struct ps_range *to)
{
	to->more = from->more;
	to->revision = from->header.revision ? from->header.revision : revision;
	if (!from->nkvs)
		return PS_OK;
	to->kvs = calloc(from->nkvs, sizeof(*to->kvs));
	if (!to->kvs)
		return nomem(st);
	for (size_t i = 0; i < from->nkvs; i++) {
		to->count++;
		if (take_kv(&from->kvs[i], &to->kvs[to->count - 1]))
			return nomem(st);
	}
	return PS_OK;
}

/* ---- revisions ---------------------------------------------------------------------- */

/* A read of one key at revision rev (0: the latest), for its header only:
 * ETCD_OK, ETCD_COMPACTED, or an error. */
static int probe(struct ps_store *st, int64_t rev, int64_t *header_rev)
{
	struct es *e = es_of(st);
	struct etcd_range_req req = { .keys = { .key = "\0", .key_len = 1 }, .revision = rev,
				      .count_only = true };
	struct etcd_range r;
	int rc = etcd_range(e->c, &req, &r);

	if (rc == ETCD_OK) {
		saw(e, r.header.revision);
		if (header_rev)
			*header_rev = r.header.revision;
	}
	etcd_range_free(&r);
	return rc;
}

/* etcd's compacted revision, given the current one: the first revision
 * still readable, found from the last known one. */
static int find_compacted(struct ps_store *st, int64_t current, int64_t *out)
{
	struct es *e = es_of(st);
	int64_t bad, good = current, at = e->compacted > 1 ? e->compacted : 1;
	int rc = probe(st, at, NULL);

	if (rc == ETCD_OK) {
		*out = e->compacted;
		return PS_OK;
	}
	if (rc != ETCD_COMPACTED)
		return es_fail(st, rc);
	bad = at;
	while (good - bad > 1) {
		int64_t mid = bad + (good - bad) / 2;

		rc = probe(st, mid, NULL);
		if (rc == ETCD_OK)
			good = mid;
		else if (rc == ETCD_COMPACTED)
			bad = mid;
		else
			return es_fail(st, rc);
	}
	e->compacted = good;
	*out = good;
	return PS_OK;
}

static int es_revision(struct ps_store *st, int64_t *revision, int64_t *compacted)
{
	int rc = probe(st, 0, revision);

	if (rc)
		return es_fail(st, rc);
	return compacted ? find_compacted(st, *revision, compacted) : PS_OK;
}

/* ---- reading ------------------------------------------------------------------------ */

static int bytecmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	return c ? c : (alen > blen) - (alen < blen);
}

static int es_range(struct ps_store *st, const char *key, bool prefix, const char *after,
		    size_t limit, struct ps_range *out)
{
	struct es *e = es_of(st);
	struct etcd_range_req req = { .limit = (int64_t)limit };
	char start[PS_KEY_MAX + 1], end[PS_KEY_MAX];
	struct etcd_range r;
	size_t plen = strlen(key), alen, elen;
	int rc;

	if (!prefix) {
		req.keys.key = key;
	} else if (!after) {
		req.keys.key = key;
		req.keys.prefix = true;
	} else {
		/* [max(prefix, after + "\0"), the prefix's end) */
		alen = strlen(after);
		memcpy(start, after, alen);
		start[alen] = '\0';
		if (bytecmp(start, alen + 1, key, plen) < 0) {
			req.keys.key = key;
			req.keys.key_len = plen;
		} else {
			req.keys.key = start;
			req.keys.key_len = alen + 1;
		}
		elen = ps_prefix_end(key, plen, end);
		req.keys.end = elen ? end : "\0";
		req.keys.end_len = elen ? elen : 1;
	}
	rc = etcd_range(e->c, &req, &r);
	if (rc)
		return es_fail(st, rc);
	saw(e, r.header.revision);
	rc = take_range(st, &r, r.header.revision, out);
	etcd_range_free(&r);
	return rc;
}

/* ---- transactions ---------------------------------------------------------------------- */

static const enum etcd_cmp_target cmp_targets[] = {
	[PS_CMP_VALUE] = ETCD_CMP_VALUE, [PS_CMP_VERSION] = ETCD_CMP_VERSION,
	[PS_CMP_CREATE_REVISION] = ETCD_CMP_CREATE, [PS_CMP_MOD_REVISION] = ETCD_CMP_MOD,
	[PS_CMP_LEASE] = ETCD_CMP_LEASE,
};
static const enum etcd_cmp_result cmp_results[] = {
	[PS_EQUAL] = ETCD_EQUAL, [PS_NOT_EQUAL] = ETCD_NOT_EQUAL, [PS_GREATER] = ETCD_GREATER,
	[PS_LESS] = ETCD_LESS,
};

static void map_op(const struct ps_op *o, struct etcd_op *to)
{
	*to = (struct etcd_op){ .keys = { .key = o->key } };
	switch (o->type) {
	case PS_OP_GET:
		to->type = ETCD_OP_RANGE;
		break;
	case PS_OP_RANGE:
		to->type = ETCD_OP_RANGE;
		to->keys.prefix = true;
		to->limit = (int64_t)o->limit;
		break;
	case PS_OP_PUT:
		to->type = ETCD_OP_PUT;
		to->value = o->value ? o->value : "";
		to->value_len = o->value_len;
		to->lease = o->lease;
		break;
	case PS_OP_DELETE:
		to->type = ETCD_OP_DELETE;
		break;
	case PS_OP_DELETE_PREFIX:
		to->type = ETCD_OP_DELETE;
		to->keys.prefix = true;
		break;
	}
}

/* etcd says only "requested lease not found": name the leases the puts used. */
static int lease_not_found(struct ps_store *st, const struct ps_txn *txn)
{
	char ids[160] = "";
	size_t n = 0, len = 0;
	const struct ps_op *branches[2] = { txn->success, txn->failure };
	size_t counts[2] = { txn->nsuccess, txn->nfailure };
	char why[ETCD_ERR_MAX];

	snprintf(why, sizeof(why), "%s", etcd_error(es_of(st)->c));
	for (int b = 0; b < 2; b++) {
		for (size_t i = 0; i < counts[b]; i++) {
			const struct ps_op *o = &branches[b][i];

			if (o->type != PS_OP_PUT || !o->lease || len >= sizeof(ids) - 24)
				continue;
			len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%lld",
						n++ ? " or " : "", (long long)o->lease);
		}
	}
	return ps_set_error(st, PS_NOT_FOUND, "lease %s not found (%s)", n ? ids : "?", why);
}

static int es_txn(struct ps_store *st, const struct ps_txn *txn, struct ps_txn_result *res)
{
	struct es *e = es_of(st);
	struct etcd_cmp cmp[PS_TXN_OPS_MAX];
	struct etcd_op succ[PS_TXN_OPS_MAX], fail[PS_TXN_OPS_MAX];
	struct etcd_txn et = { .cmp = cmp, .ncmp = txn->ncmp, .success = succ,
			       .nsuccess = txn->nsuccess, .failure = fail, .nfailure = txn->nfailure };
	struct etcd_txn_result er;
	int rc;

	for (size_t i = 0; i < txn->ncmp; i++) {
		const struct ps_cmp *c = &txn->cmp[i];

		cmp[i] = (struct etcd_cmp){ .key = c->key, .target = cmp_targets[c->target],
					    .result = cmp_results[c->result], .number = c->number,
					    .value = c->value ? c->value : "",
					    .value_len = c->value_len };
	}
	for (size_t i = 0; i < txn->nsuccess; i++)
		map_op(&txn->success[i], &succ[i]);
	for (size_t i = 0; i < txn->nfailure; i++)
		map_op(&txn->failure[i], &fail[i]);
	rc = etcd_txn(e->c, &et, &er);
	if (rc == ETCD_NOT_FOUND)
		return lease_not_found(st, txn);
	if (rc)
		return es_fail(st, rc);
	saw(e, er.header.revision);
	res->succeeded = er.succeeded;
	res->revision = er.header.revision;
	rc = PS_OK;
	if (er.nops && !(res->ops = calloc(er.nops, sizeof(*res->ops))))
		rc = nomem(st);
	for (size_t i = 0; !rc && i < er.nops; i++) {
		res->nops++;
		res->ops[i].deleted = er.ops[i].deleted;
		if (er.ops[i].type == ETCD_OP_RANGE)
			rc = take_range(st, &er.ops[i].range, er.header.revision, &res->ops[i].range);
	}
	etcd_txn_result_free(&er);
	return rc;
}

static int es_compact(struct ps_store *st, int64_t revision)
{
	struct es *e = es_of(st);
	int rc = etcd_compact(e->c, revision, false);

	if (rc == ETCD_COMPACTED)
		return ps_set_error(st, PS_COMPACTED, "compact to revision %lld: already compacted (%s)",
				    (long long)revision, etcd_error(e->c));
	if (rc)
		return ps_set_error(st, PS_ERROR, "compact to revision %lld: %s", (long long)revision,
				    etcd_error(e->c));
	if (revision > e->compacted)
		e->compacted = revision;
	return PS_OK;
}

/* ---- leases ------------------------------------------------------------------------------- */

static int es_lease_grant(struct ps_store *st, int64_t ttl, int64_t *id)
{
	int rc = etcd_lease_grant(es_of(st)->c, ttl, 0, id, NULL);

	return rc ? es_fail(st, rc) : PS_OK;
}

static int es_lease_keepalive(struct ps_store *st, int64_t id, int64_t *ttl)
{
	int rc = etcd_lease_keepalive(es_of(st)->c, id, ttl);

	return rc ? es_fail(st, rc) : PS_OK;
}

static int es_lease_revoke(struct ps_store *st, int64_t id, int64_t *revision)
{
	int rc = etcd_lease_revoke(es_of(st)->c, id, revision);

	if (rc)
		return es_fail(st, rc);
	saw(es_of(st), *revision);
	return PS_OK;
}

static int es_lease_ttl(struct ps_store *st, int64_t id, int64_t *remaining, int64_t *granted)
{
	int rc = etcd_lease_ttl(es_of(st)->c, id, remaining, granted);

	if (rc)
		return es_fail(st, rc);
	if (*remaining < 0)
		*remaining = 0;
	return PS_OK;
}

/* etcd expires leases on its own clock, deleting their keys in one
 * revision each: nothing to do here. */
static int es_lease_expire(struct ps_store *st, int64_t now_ms, int64_t *expired)
{
	*expired = 0;
	return PS_OK;
}

/* ---- watches ------------------------------------------------------------------------------ */

static int open_stream(struct ps_store *st, struct es_watch *x, int64_t from)
{
	/* every key: see the file's comment */
	struct etcd_keys all = { .key = "", .prefix = true };
	int rc = etcd_watch_open(es_of(st)->c, &all, from, &x->ew);

	return rc ? es_fail(st, rc) : PS_OK;
}

static int es_watch_open(struct ps_store *st, struct ps_watch *w)
{
	struct es_watch *x;
	int64_t current, compacted, start = w->start;
	int rc = es_revision(st, &current, NULL);

	if (rc)
		return rc;
	if (!start) {
		start = current + 1;	/* pinned now: the stream connects later */
	} else if (start <= current) {
		if ((rc = find_compacted(st, current, &compacted)))
			return rc;
		if (start < compacted)
			return ps_set_error(st, PS_COMPACTED, "watch from revision %lld: the history "
					    "before %lld is compacted", (long long)start,
					    (long long)compacted);
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return nomem(st);
	x->done = x->last = start - 1;
	if ((rc = open_stream(st, x, start))) {
		free(x);
		return rc;
	}
	w->priv = x;
	w->rev = start - 1;
	w->idx = PS_REV_DONE;
	return PS_OK;
}

static int queue_event(struct es_watch *x, struct ps_event *ev, int64_t idx)
{
	if (x->len == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		struct es_event *nq;

		if (x->head) {
			memmove(x->q, x->q + x->head, (x->len - x->head) * sizeof(*x->q));
			x->len -= x->head;
			x->head = 0;
		}
		if (x->len == x->cap) {
			nq = realloc(x->q, cap * sizeof(*nq));
			if (!nq)
				return -1;
			x->q = nq;
			x->cap = cap;
		}
	}
	x->q[x->len++] = (struct es_event){ .ev = *ev, .idx = idx };
	return 0;
}

/*
 * Move the stream's events into the watch's queue, keeping its prefix's,
 * until want are owed or the stream has no more; 0, or the client's code
 * once the stream failed and all it brought is taken.  The client queues
 * each of etcd's answers whole, and etcd keeps a revision within one
 * answer, so when the client's queue is empty the last revision taken is
 * complete.
 */
static int drain(struct ps_store *st, struct ps_watch *w, size_t want)
{
	struct es *e = es_of(st);
	struct es_watch *x = w->priv;
	struct etcd_event ev[ES_DRAIN];
	size_t plen = strlen(w->prefix);
	int n;

	while (x->len - x->head < want) {
		n = etcd_watch_next(e->c, x->ew, ev, ES_DRAIN);
		if (n < 0) {
			/* all it brought is taken, in whole answers */
			if (x->last > x->done)
				x->done = x->last;
			return n;
		}
		for (int i = 0; i < n; i++) {
			struct etcd_kv *kv = &ev[i].kv;
			struct ps_event pe = { .type = ev[i].type == ETCD_EVENT_DELETE ?
						       PS_EVENT_DELETE : PS_EVENT_PUT };

			if (kv->mod_revision != x->last) {
				x->last = kv->mod_revision;
				x->last_idx = 0;
			}
			/* not ours, or a key with a NUL byte (none of lunlink's) */
			if (kv->key_len < plen || memcmp(kv->key, w->prefix, plen) ||
			    strlen(kv->key) != kv->key_len)
				continue;
			if (take_kv(kv, &pe.kv))
				goto nomem;
			if (pe.type == PS_EVENT_DELETE)		/* the key only */
				pe.kv.create_revision = pe.kv.version = pe.kv.lease = 0;
			if (queue_event(x, &pe, x->last_idx))
				goto nomem;
			x->last_idx++;
			continue;
nomem:
			ps_kv_free(&pe.kv);
			etcd_events_free(ev, (size_t)n);
			x->broken = true;
			return ETCD_ERROR;
		}
		etcd_events_free(ev, (size_t)n);
		if (!etcd_watch_queued(x->ew)) {
			if (x->last > x->done)
				x->done = x->last;
			if (n < ES_DRAIN)
				break;
		} else if (x->last - 1 > x->done) {
			x->done = x->last - 1;
		}
	}
	return 0;
}

/* The stream failed: say why, and open it again from where it was, so a
 * later call goes on (etcd restarted, a leader lost). */
static int stream_failed(struct ps_store *st, struct ps_watch *w, int rc)
{
	struct es *e = es_of(st);
	struct es_watch *x = w->priv;
	char why[ETCD_ERR_MAX];

	if (x->broken)
		return ps_set_error(st, PS_ERROR, "watch at revision %lld: out of memory taking its "
				    "events: close it and watch again", (long long)ps_watch_revision(w));
	snprintf(why, sizeof(why), "%s", etcd_error(e->c));
	if (rc == ETCD_COMPACTED)
		return ps_set_error(st, PS_COMPACTED, "watch at revision %lld: %s",
				    (long long)ps_watch_revision(w), why);
	/* with several members, the stream goes on from the next one: this
	 * one may be down or cut off (a no-op with one) */
	etcd_watch_move_on(e->c, x->ew);
	etcd_watch_close(e->c, x->ew);
	x->ew = NULL;
	x->last = x->done;
	if (open_stream(st, x, x->done + 1))
		x->ew = NULL;
	return ps_set_error(st, PS_ERROR, "watch at revision %lld: %s", (long long)ps_watch_revision(w),
			    why);
}

static int es_watch_next(struct ps_store *st, struct ps_watch *w, struct ps_event *ev, size_t max)
{
	struct es *e = es_of(st);
	struct es_watch *x = w->priv;
	int64_t owed = w->idx == PS_REV_DONE ? w->rev + 1 : w->rev;
	long long deadline = ll_mono_ms() + e->timeout_ms;
	size_t n = 0;
	int rc = 0;

	if (owed < e->compacted)
		return ps_set_error(st, PS_COMPACTED, "watch at revision %lld: the history before %lld "
				    "is compacted", (long long)ps_watch_revision(w),
				    (long long)e->compacted);
	if (x->broken)
		return stream_failed(st, w, ETCD_ERROR);
	if (!x->ew && open_stream(st, x, x->done + 1))
		return PS_ERROR;
	if (!max)
		return 0;
	/* until max are owed, or the stream has brought what this handle saw */
	for (;;) {
		struct pollfd p = { .fd = etcd_watch_fd(e->c), .events = POLLIN };
		long long left;

		rc = drain(st, w, max);
		if (rc || x->len - x->head >= max || x->done >= e->seen)
			break;
		left = deadline - ll_mono_ms();
		if (left <= 0) {
			return ps_set_error(st, PS_ERROR, "etcd %s /v3/watch: the watch brought the changes "
					    "up to revision %lld, not up to %lld, in %ld ms: etcd is "
					    "slow or the stream stalled (the URI's ?timeout=MS "
					    "allows longer)",
					    etcd_endpoint(e->c), (long long)x->done, (long long)e->seen,
					    e->timeout_ms);
		}
		poll(&p, 1, (int)left);
		if (etcd_watch_poll(e->c))
			return es_fail(st, ETCD_ERROR);
	}
	for (; n < max && x->head < x->len; n++, x->head++) {
		ev[n] = x->q[x->head].ev;
		w->rev = ev[n].kv.mod_revision;
		w->idx = x->q[x->head].idx;
	}
	if (x->head == x->len)
		x->head = x->len = 0;
	if (n < max && rc)
		return n ? (int)n : stream_failed(st, w, rc);
	/* fewer than asked: everything up to what the stream brought is delivered */
	if (n < max && x->done >= w->rev) {
		w->rev = x->done;
		w->idx = PS_REV_DONE;
	}
	return (int)n;
}

static void es_watch_close(struct ps_store *st, struct ps_watch *w)
{
	struct es_watch *x = w->priv;

	if (!x)
		return;
	if (x->ew)
		etcd_watch_close(es_of(st)->c, x->ew);
	for (size_t i = x->head; i < x->len; i++)
		ps_kv_free(&x->q[i].ev.kv);
	free(x->q);
	free(x);
	w->priv = NULL;
}

static int es_notify_fd(struct ps_store *st)
{
	return etcd_watch_fd(es_of(st)->c);
}

static int es_poll(struct ps_store *st)
{
	int rc = etcd_watch_poll(es_of(st)->c);

	return rc ? es_fail(st, rc) : PS_OK;
}

/* ---- opening ------------------------------------------------------------------------------- */

/* One member's "HOST:PORT" of a store URI: checked, appended to url as
 * "http://HOST:PORT" (https for etcds), after a comma if url has one. */
static int add_member(struct ps_store *st, bool tls, const char *rest, char *hostport,
		      char *url, size_t urllen)
{
	const char *scheme = tls ? "etcds" : "etcd";
	char *colon, *end;
	size_t used = strlen(url);
	long port;

	colon = strrchr(hostport, ':');
	if (!*hostport || !colon || colon == hostport || strchr(hostport, '/') ||
	    (strchr(hostport, ':') != colon && hostport[0] != '['))
		return ps_set_error(st, PS_ERROR, "store URI '%s:%s': '%s' is not HOST:PORT (expected "
				    "%s://HOST:PORT[,HOST:PORT...]; an IPv6 address in brackets)",
				    scheme, rest, hostport, scheme);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
		return ps_set_error(st, PS_ERROR, "store URI '%s:%s': port '%s' is not 1..65535",
				    scheme, rest, colon + 1);
	if ((size_t)snprintf(url + used, urllen - used, "%s%s://%s", used ? "," : "",
			     tls ? "https" : "http", hostport) >= urllen - used)
		return ps_set_error(st, PS_ERROR, "store URI '%s:%s': too long", scheme, rest);
	return PS_OK;
}

/*
 * rest is "//HOST:PORT[,HOST:PORT...][/][?OPTION=VALUE&...]": one etcd
 * member or several of one cluster (the client moves on from one that
 * does not answer: etcd.h), options ca, cert, key (etcds only) and timeout
 * (ms).  The endpoints go to url as the client's list; the option values
 * are cut out of buf, which rest was copied into.
 */
static int parse_uri(struct ps_store *st, bool tls, const char *rest, char *buf, size_t buflen,
		     char *url, size_t urllen, struct etcd_opts *o)
{
	const char *scheme = tls ? "etcds" : "etcd";
	char *q, *hostport, *opt, *save = NULL, *end, *member, *msave = NULL;
	size_t members = 0;

	if (strncmp(rest, "//", 2))
		return ps_set_error(st, PS_ERROR, "store URI '%s:%s': expected %s://HOST:PORT",
				    scheme, rest, scheme);
	snprintf(buf, buflen, "%s", rest + 2);
	q = strchr(buf, '?');
	if (q)
		*q++ = '\0';
	hostport = buf;
	if (*hostport && hostport[strlen(hostport) - 1] == '/')
		hostport[strlen(hostport) - 1] = '\0';
	url[0] = '\0';
	if (!*hostport || hostport[0] == ',' || hostport[strlen(hostport) - 1] == ',' ||
	    strstr(hostport, ",,"))
		return ps_set_error(st, PS_ERROR, "store URI '%s:%s': expected %s://HOST:PORT"
				    "[,HOST:PORT...]", scheme, rest, scheme);
	for (member = strtok_r(hostport, ",", &msave); member; member = strtok_r(NULL, ",", &msave)) {
		if (++members > ETCD_ENDPOINTS_MAX)
			return ps_set_error(st, PS_ERROR, "store URI '%s:%s': more than %d etcd members",
					    scheme, rest, ETCD_ENDPOINTS_MAX);
		if (add_member(st, tls, rest, member, url, urllen))
			return PS_ERROR;
	}
	for (opt = q ? strtok_r(q, "&", &save) : NULL; opt; opt = strtok_r(NULL, "&", &save)) {
		char *val = strchr(opt, '=');

		if (!val || !val[1])
			return ps_set_error(st, PS_ERROR, "store URI '%s:%s': option '%s' has no "
					    "value (OPTION=VALUE)", scheme, rest, opt);
		*val++ = '\0';
		if (!strcmp(opt, "timeout")) {
			errno = 0;
			o->timeout_ms = strtol(val, &end, 10);
			if (errno || *end || o->timeout_ms < 1 || o->timeout_ms > ES_TIMEOUT_MAX)
				return ps_set_error(st, PS_ERROR, "store URI '%s:%s': timeout '%s' is not "
						    "1..%ld ms", scheme, rest, val, ES_TIMEOUT_MAX);
			continue;
		}
		if (strcmp(opt, "ca") && strcmp(opt, "cert") && strcmp(opt, "key"))
			return ps_set_error(st, PS_ERROR, "store URI '%s:%s': unknown option '%s' "
					    "(known: ca, cert, key, timeout)", scheme, rest, opt);
		if (!tls)
			return ps_set_error(st, PS_ERROR, "store URI '%s:%s': option '%s' is for TLS: "
					    "write etcds://HOST:PORT?ca=FILE&cert=FILE&key=FILE",
					    scheme, rest, opt);
		if (!strcmp(opt, "ca"))
			o->ca_file = val;
		else if (!strcmp(opt, "cert"))
			o->cert_file = val;
		else
			o->key_file = val;
	}
	if (tls && !o->ca_file)
		return ps_set_error(st, PS_ERROR, "store URI '%s:%s': etcds needs ?ca=FILE, the CA "
				    "that signed etcd's certificate", scheme, rest);
	o->endpoint = url;
	return PS_OK;
}

static void es_close(struct ps_store *st)
{
	struct es *e = es_of(st);

	if (!e)
		return;
	etcd_free(e->c);
	free(e);
	st->priv = NULL;
}

static int es_open_common(struct ps_store *st, const char *rest, bool tls)
{
	char buf[PS_URI_MAX + 1], url[PS_URI_MAX + 16 * ETCD_ENDPOINTS_MAX], err[ETCD_ERR_MAX];
	struct etcd_opts o = { 0 };
	struct etcd_status s;
	struct es *e;
	int major = 0, minor = 0;

	if (parse_uri(st, tls, rest, buf, sizeof(buf), url, sizeof(url), &o))
		return PS_ERROR;
	e = calloc(1, sizeof(*e));
	if (!e)
		return ps_set_error(st, PS_ERROR, "etcd %s: %s", url, strerror(ENOMEM));
	st->priv = e;
	e->c = etcd_new(&o, err, sizeof(err));
	if (!e->c) {
		ps_set_error(st, PS_ERROR, "etcd store %s: %s", url, err);
		goto err;
	}
	e->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 5000;
	/* it answers, and speaks the v3 gateway at /v3 (3.4 and later) */
	if (etcd_status(e->c, &s)) {
		es_fail(st, ETCD_ERROR);
		goto err;
	}
	if (sscanf(s.version, "%d.%d", &major, &minor) != 2 || major < 3 ||
	    (major == 3 && minor < 4)) {
		ps_set_error(st, PS_ERROR, "etcd %s: version '%s'; the store needs etcd 3.4 or later",
			     url, s.version);
		goto err;
	}
	saw(e, s.header.revision);
	return PS_OK;
err:
	es_close(st);
	return PS_ERROR;
}

static int es_open(struct ps_store *st, const char *rest)
{
	return es_open_common(st, rest, false);
}

static int es_open_tls(struct ps_store *st, const char *rest)
{
	return es_open_common(st, rest, true);
}

#define ES_OPS \
	.close			= es_close,		\
	.revision		= es_revision,		\
	.range			= es_range,		\
	.txn			= es_txn,		\
	.compact		= es_compact,		\
	.lease_grant		= es_lease_grant,	\
	.lease_keepalive	= es_lease_keepalive,	\
	.lease_revoke		= es_lease_revoke,	\
	.lease_ttl		= es_lease_ttl,		\
	.lease_expire		= es_lease_expire,	\
	.watch_open		= es_watch_open,	\
	.watch_next		= es_watch_next,	\
	.watch_close		= es_watch_close,	\
	.notify_fd		= es_notify_fd,		\
	.poll			= es_poll

const struct ps_backend ps_backend_etcd = { .scheme = "etcd", .open = es_open, ES_OPS };
const struct ps_backend ps_backend_etcds = { .scheme = "etcds", .open = es_open_tls, ES_OPS };
