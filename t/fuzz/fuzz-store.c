// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-store.c: libFuzzer target for the checks in policy/store.c that
 * every store backend relies on: the store URI's parser, the key and
 * prefix bounds, a prefix's upper bound, the quoting of keys in messages,
 * and a transaction's shape.  `make fuzz` runs it under libFuzzer with
 * ASan and UBSan; t/fuzz/replay.c replays t/fuzz/corpus/store without
 * clang.
 *
 * The input is used whole as a URI, a key, a prefix and a quoted string;
 * then, line by line, as a transaction, one op or compare a line:
 *   "p KEY=VALUE"  put       "d KEY"  delete     "D PREFIX"  delete prefix
 *   "g KEY"        get       "r PREFIX" range    "c KEY=VALUE"  compare value
 *   "f ..."        the same, in the failure branch (f p KEY=VALUE)
 * Invariants: each verdict agrees with an independent reference; a
 * refusal leaves a non-empty, NUL-terminated message, the same in a small
 * buffer; a prefix's bound is above every key under it and below none
 * other tried; a quoted string is printable and fits its buffer.
 */
#include "store_backend.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static void check_err(const char *err, size_t errlen)
{
	check(memchr(err, '\0', errlen) != NULL);
	if (errlen > 1)
		check(err[0] != '\0');
}

static char *err_buf(size_t errlen)
{
	char *e = malloc(errlen);

	check(e != NULL);
	memset(e, 0x7f, errlen);
	return e;
}

static void fuzz_uri(const char *s, size_t len, size_t small)
{
	const struct ps_backend *be = NULL;
	const char *rest = NULL;
	char err[PS_ERR_MAX], *e;
	int rc;
	/* the reference: a known scheme, then a colon */
	static const struct { const char *scheme; const struct ps_backend *be; } known[] = {
		{ "sqlite:", &ps_backend_sqlite }, { "etcd:", &ps_backend_etcd },
		{ "etcds:", &ps_backend_etcds },
	};
	const struct ps_backend *want_be = NULL;
	size_t want_n = 0;
	bool want;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t n = strlen(known[i].scheme);

		if (len >= n && !strncasecmp(s, known[i].scheme, n)) {
			want_be = known[i].be;
			want_n = n;
		}
	}
	want = len <= PS_URI_MAX && want_be;

	memset(err, 0x7f, sizeof(err));
	rc = ps_uri_parse(s, &be, &rest, err, sizeof(err));
	check(rc == 0 || rc == -1);
	check((rc == 0) == want);
	if (rc == 0) {
		check(be == want_be);
		check(rest == s + want_n);
	} else {
		check_err(err, sizeof(err));
		check(!strncmp(err, "store URI", 9));
	}
	e = err_buf(small);
	check(ps_uri_parse(s, &be, &rest, e, small) == rc);
	if (rc)
		check_err(e, small);
	free(e);
}

static void fuzz_key(const char *s, size_t len, size_t small)
{
	char err[PS_ERR_MAX], *e;

	for (int prefix = 0; prefix < 2; prefix++) {
		int rc = ps_check_key(s, prefix, err, sizeof(err));

		check(rc == ((len <= PS_KEY_MAX && (len || prefix)) ? 0 : -1));
		if (rc) {
			check_err(err, sizeof(err));
			if (len > PS_KEY_MAX)
				check(strstr(err, "longer than 1024 bytes") != NULL);
		}
		e = err_buf(small);
		check(ps_check_key(s, prefix, e, small) == rc);
		if (rc)
			check_err(e, small);
		free(e);
	}
}

/* memcmp order, shorter first on a tie: the store's key order */
static int keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : (an > bn) - (an < bn);
}

static void fuzz_prefix_end(const uint8_t *data, size_t size)
{
	size_t plen = size ? data[0] % (size < 64 ? size : 64) : 0;
	const char *p = (const char *)data + (size ? 1 : 0);
	char end[64], key[128];
	size_t n, i;

	if (size && plen > size - 1)
		plen = size - 1;
	n = ps_prefix_end(p, plen, end);
	check(n <= plen);
	for (i = n; i < plen; i++)
		check((unsigned char)p[i] == 0xff);
	if (!n)
		return;
	check(!memcmp(end, p, n - 1));
	check((unsigned char)end[n - 1] == (unsigned char)p[n - 1] + 1);
	/* the prefix + any tail (taken from the rest of the input) is below end */
	for (i = 0; i + 1 + plen < size && i < 64; i += 7) {
		size_t tail = size - 1 - plen - i < 64 ? size - 1 - plen - i : 64;

		memcpy(key, p, plen);
		memcpy(key + plen, p + plen + i, tail);
		check(keycmp(key, plen + tail, end, n) < 0);
		check(keycmp(key, plen + tail, p, plen) >= 0);
	}
	/* and every key below the prefix is below its end as well, while the
	 * end itself does not start with the prefix */
	check(plen > n || keycmp(end, n, p, plen) > 0);
	check(n < plen || memcmp(end, p, plen));
}

static void fuzz_quote(const char *s, size_t len, size_t small)
{
	char out[300], *o = err_buf(small);
	size_t n;

	ps_quote(s, len, out, sizeof(out));
	n = strlen(out);
	check(n < sizeof(out));
	for (size_t i = 0; i < n; i++)
		check(out[i] >= 0x20 && out[i] < 0x7f);
	if (len <= 64 && !memchr(s, '\\', len)) {
		bool printable = true;

		for (size_t i = 0; i < len; i++)
			printable = printable && s[i] >= 0x20 && s[i] < 0x7f;
		if (printable)
			check(n == len && !memcmp(out, s, len));
	}
	ps_quote(s, len, o, small);
	check(memchr(o, '\0', small) != NULL);
	free(o);
}

#define MAX_LINES	(2 * PS_TXN_OPS_MAX + 8)

struct decoded {
	struct ps_cmp cmp[MAX_LINES];
	struct ps_op succ[MAX_LINES], fail[MAX_LINES];
	struct ps_txn txn;
};

static bool starts(const char *key, const char *prefix)
{
	return !strncmp(key, prefix, strlen(prefix));
}

/* The reference verdict on one branch. */
static bool ref_ops(const struct ps_op *ops, size_t n, size_t *bytes)
{
	if (n > PS_TXN_OPS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool prefix = ops[i].type == PS_OP_RANGE || ops[i].type == PS_OP_DELETE_PREFIX;
		size_t len = strlen(ops[i].key);

		if (len > PS_KEY_MAX || (!len && !prefix))
			return false;
		*bytes += len;
		if (ops[i].type == PS_OP_PUT) {
			if (ops[i].value_len > PS_VALUE_MAX)
				return false;
			*bytes += ops[i].value_len;
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			if (i == j || ops[i].type != PS_OP_PUT)
				continue;
			if ((ops[j].type == PS_OP_PUT || ops[j].type == PS_OP_DELETE) &&
			    !strcmp(ops[i].key, ops[j].key))
				return false;
			if (ops[j].type == PS_OP_DELETE_PREFIX && starts(ops[i].key, ops[j].key))
				return false;
		}
	return true;
}

static bool ref_txn(const struct ps_txn *t)
{
	size_t bytes = 0;

	if (t->ncmp > PS_TXN_OPS_MAX)
		return false;
	for (size_t i = 0; i < t->ncmp; i++) {
		size_t len = strlen(t->cmp[i].key);

		if (!len || len > PS_KEY_MAX || t->cmp[i].value_len > PS_VALUE_MAX)
			return false;
		bytes += len + t->cmp[i].value_len;
	}
	return ref_ops(t->success, t->nsuccess, &bytes) &&
	       ref_ops(t->failure, t->nfailure, &bytes) && bytes <= PS_TXN_BYTES_MAX;
}

/* Lines of s (a writable copy) into d's txn. */
static void decode(char *s, struct decoded *d)
{
	char *line, *save = NULL;

	memset(d, 0, sizeof(*d));
	d->txn.cmp = d->cmp;
	d->txn.success = d->succ;
	d->txn.failure = d->fail;
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool fail = line[0] == 'f' && line[1] == ' ';
		char *op = fail ? line + 2 : line, *key, *eq;
		struct ps_op *o;

		if (!op[0] || op[1] != ' ')
			continue;
		key = op + 2;
		eq = strchr(key, '=');
		if (op[0] == 'c') {
			if (d->txn.ncmp == MAX_LINES)
				continue;
			d->cmp[d->txn.ncmp++] = (struct ps_cmp){
				.key = key, .target = PS_CMP_VALUE, .result = PS_EQUAL,
				.value = eq ? eq + 1 : "", .value_len = eq ? strlen(eq + 1) : 0 };
			if (eq)
				*eq = '\0';
			continue;
		}
		if ((fail ? d->txn.nfailure : d->txn.nsuccess) == MAX_LINES)
			continue;
		o = fail ? &d->fail[d->txn.nfailure++] : &d->succ[d->txn.nsuccess++];
		o->key = key;
		switch (op[0]) {
		case 'p':
			o->type = PS_OP_PUT;
			o->value = eq ? eq + 1 : "";
			o->value_len = eq ? strlen(eq + 1) : 0;
			if (eq)
				*eq = '\0';
			break;
		case 'd': o->type = PS_OP_DELETE; break;
		case 'D': o->type = PS_OP_DELETE_PREFIX; break;
		case 'r': o->type = PS_OP_RANGE; break;
		default:  o->type = PS_OP_GET; break;
		}
	}
}

static void fuzz_txn(const char *s, size_t len, size_t small)
{
	static struct decoded d;
	char *copy = malloc(len + 1), err[PS_ERR_MAX], *e;
	int rc;

	check(copy != NULL);
	memcpy(copy, s, len + 1);
	decode(copy, &d);
	rc = ps_check_txn(&d.txn, err, sizeof(err));
	check(rc == 0 || rc == -1);
	check((rc == 0) == ref_txn(&d.txn));
	if (rc)
		check_err(err, sizeof(err));
	e = err_buf(small);
	check(ps_check_txn(&d.txn, e, small) == rc);
	if (rc)
		check_err(e, small);
	free(e);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t len, small;

	check(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);
	small = 1 + (size ? data[size - 1] % 24 : 0);

	fuzz_uri(s, len, small);
	fuzz_key(s, len, small);
	fuzz_prefix_end(data, size);
	fuzz_quote((const char *)data, size, small);
	fuzz_txn(s, len, small);
	free(s);
	return 0;
}
