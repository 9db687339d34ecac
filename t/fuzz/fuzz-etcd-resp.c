// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-etcd-resp.c: libFuzzer target for policy/etcd_resp.c, the reader
 * of everything etcd's gateway answers.  `make fuzz` runs it under
 * libFuzzer; t/fuzz/replay.c replays t/fuzz/corpus/etcd-resp without
 * clang (t/t0116-fuzz-etcd-resp-corpus.sh).
 *
 * The input is an answer's body, given to every parser, and a watch
 * stream, framed whole and again in chunks.  Invariants: each parser
 * gives ETCD_OK with a result whose keys and values are NUL-terminated
 * beyond their lengths, revisions and counts not negative, events in
 * revision order; or a refusal with a message (NOT_FOUND only for etcd's
 * code 5, COMPACTED only for its code 11); the framer gives the same
 * objects, and the same final state, however the bytes are cut; base64
 * of the input decodes back to it.
 */
#include "etcd_json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static void check_refusal(int rc, const struct etcd_perr *e)
{
	check(rc == ETCD_ERROR || rc == ETCD_NOT_FOUND || rc == ETCD_COMPACTED);
	check(e->message[0] != '\0');
	check(memchr(e->message, '\0', sizeof(e->message)));
	if (rc == ETCD_NOT_FOUND)
		check(e->code == ETCD_GRPC_NOT_FOUND);
	if (rc == ETCD_COMPACTED)
		check(e->code == ETCD_GRPC_OUT_OF_RANGE);
}

static void check_kv(const struct etcd_kv *kv, bool need_key)
{
	check(kv->key && kv->value);
	check(!need_key || kv->key_len > 0);
	check(kv->key[kv->key_len] == '\0' && kv->value[kv->value_len] == '\0');
	check(kv->create_revision >= 0 && kv->mod_revision >= 0 && kv->version >= 0);
}

static void check_range(const struct etcd_range *r)
{
	check(!r->nkvs == !r->kvs);
	check(r->count >= 0 && r->header.revision >= 0);
	for (size_t i = 0; i < r->nkvs; i++)
		check_kv(&r->kvs[i], true);
}

static void parsers(const char *p, size_t n)
{
	struct etcd_perr e = { 0 };
	struct etcd_range r;
	struct etcd_txn_result t;
	struct etcd_header h;
	struct etcd_status st;
	int64_t a, b;
	int rc;

	rc = etcd_parse_range(p, n, &r, &e);
	if (rc == ETCD_OK)
		check_range(&r);
	else
		check_refusal(rc, &e);
	etcd_range_free(&r);

	rc = etcd_parse_txn(p, n, &t, &e);
	if (rc == ETCD_OK) {
		check(!t.nops == !t.ops);
		for (size_t i = 0; i < t.nops; i++) {
			check(t.ops[i].type <= ETCD_OP_DELETE && t.ops[i].deleted >= 0);
			check_range(&t.ops[i].range);
		}
	} else {
		check_refusal(rc, &e);
		check(!t.ops && !t.nops);
	}
	etcd_txn_result_free(&t);

	rc = etcd_parse_delete(p, n, &h, &a, &e);
	if (rc == ETCD_OK)
		check(a >= 0 && h.revision >= 0);
	else
		check_refusal(rc, &e);
	rc = etcd_parse_lease_grant(p, n, &a, &b, &e);
	if (rc == ETCD_OK)
		check(a > 0 && b > 0);
	else
		check_refusal(rc, &e);
	rc = etcd_parse_lease_keepalive(p, n, &a, &e);
	if (rc == ETCD_OK)
		check(a > 0);
	else
		check_refusal(rc, &e);
	rc = etcd_parse_lease_ttl(p, n, &a, &b, &e);
	if (rc == ETCD_OK)
		check(a >= 0 && b >= 0);
	else
		check_refusal(rc, &e);
	rc = etcd_parse_status(p, n, &st, &e);
	if (rc == ETCD_OK)
		check(st.db_size >= 0 && memchr(st.version, '\0', sizeof(st.version)));
	else
		check_refusal(rc, &e);
}

static void check_watch(const char *obj, size_t len)
{
	struct etcd_watch_resp w;
	struct etcd_perr e = { 0 };
	int rc = etcd_parse_watch(obj, len, &w, &e);

	if (rc != ETCD_OK) {
		check_refusal(rc, &e);
		check(!w.events && !w.nevents);
		return;
	}
	check(!w.nevents == !w.events);
	check(w.compact_revision >= 0);
	for (size_t i = 0; i < w.nevents; i++) {
		check(w.events[i].type == ETCD_EVENT_PUT || w.events[i].type == ETCD_EVENT_DELETE);
		check_kv(&w.events[i].kv, true);
		check(w.events[i].kv.mod_revision > 0);
		check(!i || w.events[i].kv.mod_revision >= w.events[i - 1].kv.mod_revision);
	}
	etcd_events_free(w.events, w.nevents);
	free(w.events);
}

/*
 * Frame p in chunks of step bytes (0: whole); the objects' lengths and
 * bytes are appended to out (the caller's, big enough: at most n + 8 per
 * object), each object parsed as a watch answer.  The final take's result.
 */
static int frame(const char *p, size_t n, size_t step, char *out, size_t *outlen)
{
	struct etcd_stream s;
	struct etcd_perr e = { 0 };
	const char *obj;
	size_t olen, off = 0;
	int got = 0;

	*outlen = 0;
	etcd_stream_init(&s);
	do {
		size_t c = step && n - off > step ? step : n - off;

		check(etcd_stream_feed(&s, p + off, c, &e) == 0);
		off += c;
		while ((got = etcd_stream_take(&s, &obj, &olen, &e)) == 1) {
			check(olen >= 2 && obj[0] == '{' && obj[olen - 1] == '}');
			memcpy(out + *outlen, &olen, sizeof(olen));
			memcpy(out + *outlen + sizeof(olen), obj, olen);
			*outlen += sizeof(olen) + olen;
			if (step == 0)
				check_watch(obj, olen);
		}
		if (got < 0) {
			check(e.message[0] != '\0');
			break;
		}
	} while (off < n);
	etcd_stream_free(&s);
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char *whole, *cut, *enc, *dec;
	size_t wl, cl, dl;
	int wr, cr;

	if (size > 1024 * 1024)
		return 0;
	parsers(p, size);

	/* the same objects however the stream is cut */
	whole = malloc(size * 9 + 16);
	cut = malloc(size * 9 + 16);
	check(whole && cut);
	wr = frame(p, size, 0, whole, &wl);
	for (size_t step = 1; step <= 13; step += 6) {
		cr = frame(p, size, step, cut, &cl);
		check(cr == wr && cl == wl && !memcmp(cut, whole, wl));
	}
	free(whole);
	free(cut);

	/* base64 both ways */
	enc = etcd_b64_encode(p, size);
	check(enc);
	check(etcd_b64_decode(enc, strlen(enc), &dec, &dl) == 0);
	check(dl == size && !memcmp(dec, p, size) && dec[dl] == '\0');
	free(enc);
	free(dec);
	if (etcd_b64_decode(p, size, &dec, &dl) == 0) {
		/* what decodes encodes back to text as long (the same but for
		 * unused low bits of the last character) giving the same bytes */
		char *again;
		size_t al;

		enc = etcd_b64_encode(dec, dl);
		check(enc && strlen(enc) == size);
		check(etcd_b64_decode(enc, size, &again, &al) == 0 && al == dl && !memcmp(again, dec, dl));
		free(again);
		free(enc);
		free(dec);
	}
	return 0;
}
