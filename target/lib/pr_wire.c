// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr_wire.c: the messages of a pr=cluster LUN's socket to the policy
 * agent, read and written (lunlink/pr_wire.h lists them).  The module and
 * the agent both link this file, so the two ends cannot disagree on the
 * format.
 *
 * Parsing is strict on purpose: a packet is taken whole or refused, with
 * the field that is wrong named.  A tolerant reader (extra spaces, upper
 * case, leading zeros) would let two writers drift apart unnoticed.
 */
#include "lunlink/pr_wire.h"
#include "lunlink/errmsg.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {
	[LL_PR_WIRE_HELLO] = "HELLO", [LL_PR_WIRE_OUT] = "OUT",     [LL_PR_WIRE_ACK] = "ACK",
	[LL_PR_WIRE_STATE] = "STATE", [LL_PR_WIRE_VALID] = "VALID", [LL_PR_WIRE_DONE] = "DONE",
	[LL_PR_WIRE_FAIL] = "FAIL",
};

const char *ll_pr_wire_type_name(enum ll_pr_wire_type t)
{
	if ((unsigned int)t < sizeof(type_names) / sizeof(type_names[0]) && type_names[t])
		return type_names[t];
	return "?";
}

/* ---- reading ------------------------------------------------------------- */

/* a field of a line: [p, p+len) */
struct field {
	const char *p;
	size_t len;
};

/* Split [s, s+len) on single spaces into at most max fields (the last one
 * takes the rest of the line if rest is set).  Returns the count, or -1
 * for an empty field (two spaces, a leading or trailing space) or more
 * than max fields. */
static int split(const char *s, size_t len, struct field *f, int max, int rest)
{
	int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && (s[i] != ' ' || (rest && n == max - 1)))
			continue;
		if (i == start || n == max)
			return -1;
		f[n].p = s + start;
		f[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static int is(const struct field *f, const char *word)
{
	return f->len == strlen(word) && !memcmp(f->p, word, f->len);
}

/* A decimal number: digits only, no leading zero, at most max. */
static int decimal(const struct field *f, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	if (!f->len || f->len > 20 || (f->p[0] == '0' && f->len > 1))
		return -1;
	for (size_t i = 0; i < f->len; i++) {
		unsigned int d = (unsigned char)f->p[i] - '0';

		if (d > 9 || n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	if (n > max)
		return -1;
	*v = n;
	return 0;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly digits lower-case hex digits. */
static int hex_fixed(const struct field *f, size_t digits, uint64_t *v)
{
	uint64_t n = 0;

	if (f->len != digits)
		return -1;
	for (size_t i = 0; i < digits; i++) {
		int d = hexdigit(f->p[i]);

		if (d < 0)
			return -1;
		n = n << 4 | (unsigned int)d;
	}
	*v = n;
	return 0;
}

/* Lower-case hex bytes, an even count of digits, min..max bytes. */
static int hex_bytes(const struct field *f, size_t min, size_t max, uint8_t *out,
		     size_t *out_len)
{
	if (f->len % 2 || f->len / 2 < min || f->len / 2 > max)
		return -1;
	for (size_t i = 0; i < f->len; i += 2) {
		int hi = hexdigit(f->p[i]), lo = hexdigit(f->p[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = f->len / 2;
	return 0;
}

/* A nexus id as ll_pr_nexus_set writes it. */
static int nexus_id(const struct field *f, struct ll_pr_nexus *n)
{
	if (!f->len || f->len >= sizeof(n->id))
		return -1;
	memcpy(n->id, f->p, f->len);
	n->id[f->len] = '\0';
	return ll_pr_id_valid(n->id) ? 0 : -1;
}

#define BAD(...) return ll_fail(why, why_len, __VA_ARGS__)

static int parse_hello(const struct field *f, int nf, struct ll_pr_wire_msg *m, char *why,
		       size_t why_len)
{
	uint64_t v;

	if (nf != 5)
		BAD("HELLO: %d fields, want 'HELLO 1 VOLUMEID TID LUN'", nf);
	if (decimal(&f[1], UINT32_MAX, &v))
		BAD("HELLO: the version is not a number");
	if (v != LL_PR_WIRE_VERSION)
		BAD("HELLO: version %" PRIu64 " is not spoken here (only %d)", v,
		    LL_PR_WIRE_VERSION);
	m->version = (unsigned int)v;
	if (f[2].len != LL_PR_WIRE_VOLUME_LEN)
		BAD("HELLO: the volume id is not %d hex digits", LL_PR_WIRE_VOLUME_LEN);
	for (size_t i = 0; i < f[2].len; i++)
		if (hexdigit(f[2].p[i]) < 0)
			BAD("HELLO: the volume id is not %d lower-case hex digits",
			    LL_PR_WIRE_VOLUME_LEN);
	memcpy(m->volume, f[2].p, f[2].len);
	m->volume[f[2].len] = '\0';
	if (decimal(&f[3], UINT32_MAX, &v) || !v)
		BAD("HELLO: the target id is not a number from 1 to %" PRIu32, UINT32_MAX);
	m->tid = (uint32_t)v;
	if (decimal(&f[4], UINT64_MAX, &m->lun))
		BAD("HELLO: the LUN is not a number");
	return 0;
}

static int parse_out(const struct field *f, int nf, struct ll_pr_wire_msg *m, char *why,
		     size_t why_len)
{
	uint64_t v;

	if (nf != 6)
		BAD("OUT: %d fields, want 'OUT SEQ NEXUSID RTPI CDBHEX PARAMHEX'", nf);
	if (decimal(&f[1], UINT64_MAX, &m->seq))
		BAD("OUT: the sequence number is not a number");
	if (nexus_id(&f[2], &m->nexus))
		BAD("OUT: the nexus id is not 'NAME,i,0xISID' (12 lower-case hex digits)");
	if (decimal(&f[3], UINT16_MAX, &v) || !v)
		BAD("OUT: the relative target port is not a number from 1 to 65535");
	m->nexus.rtpi = (uint16_t)v;
	if (hex_bytes(&f[4], LL_PR_WIRE_CDB_MIN, LL_PR_WIRE_CDB_MAX, m->cdb, &m->cdb_len))
		BAD("OUT: the CDB is not %d to %d bytes in lower-case hex", LL_PR_WIRE_CDB_MIN,
		    LL_PR_WIRE_CDB_MAX);
	if (m->cdb[0] != 0x5f)
		BAD("OUT: the CDB is no PERSISTENT RESERVE OUT (opcode %02x)", m->cdb[0]);
	m->has_param = !is(&f[5], "-");
	m->plen = 0;
	if (m->has_param &&
	    hex_bytes(&f[5], 1, LL_PR_WIRE_PARAM_MAX, m->param, &m->plen))
		BAD("OUT: the parameter list is not '-' or 1 to %d bytes in lower-case hex",
		    LL_PR_WIRE_PARAM_MAX);
	return 0;
}

static int parse_gen(const struct field *f, const char *what, uint64_t *gen, char *why,
		     size_t why_len)
{
	if (decimal(f, UINT64_MAX, gen))
		BAD("%s: the generation is not a number", what);
	return 0;
}

static int parse_valid_ms(const struct field *f, const char *what, uint32_t *ms, char *why,
			  size_t why_len)
{
	uint64_t v;

	if (decimal(f, LL_PR_WIRE_VALID_MS_MAX, &v))
		BAD("%s: the validity is not a number of milliseconds from 0 to %d", what,
		    LL_PR_WIRE_VALID_MS_MAX);
	*ms = (uint32_t)v;
	return 0;
}

static int ua_asc_known(uint64_t asc)
{
	return asc == LL_PR_UA_RES_PREEMPTED || asc == LL_PR_UA_RES_RELEASED ||
	       asc == LL_PR_UA_REG_PREEMPTED;
}

/* STATE: the first line is parsed by the caller into f; the rest of the
 * packet is [body, body+len). */
static int parse_state(const struct field *f, int nf, const char *body, size_t len,
		       struct ll_pr_wire_msg *m, char *why, size_t why_len)
{
	struct field g[3];
	uint64_t v;
	size_t pos = 0;
	char pwhy[160];

	if (nf != 5)
		BAD("STATE: %d fields on its first line, want 'STATE GEN VALID_MS NUA NABORT'",
		    nf);
	if (parse_gen(&f[1], "STATE", &m->gen, why, why_len) ||
	    parse_valid_ms(&f[2], "STATE", &m->valid_ms, why, why_len))
		return -1;
	if (decimal(&f[3], LL_PR_MAX_REGS, &v))
		BAD("STATE: the unit attention count is not a number from 0 to %d",
		    LL_PR_MAX_REGS);
	m->nua = (unsigned int)v;
	if (decimal(&f[4], LL_PR_MAX_REGS, &v))
		BAD("STATE: the abort count is not a number from 0 to %d", LL_PR_MAX_REGS);
	m->nabort = (unsigned int)v;

	for (unsigned int i = 0; i < m->nua + m->nabort; i++) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (body + pos)) : 0;
		int is_ua = i < m->nua;

		if (!nl)
			BAD("STATE: %u unit attention and %u abort lines announced, %u found",
			    m->nua, m->nabort, i);
		if (split(body + pos, ll, g, 3, 0) != (is_ua ? 3 : 2) ||
		    !is(&g[0], is_ua ? "UA" : "ABORT"))
			BAD("STATE: line %u is not '%s'", i + 2,
			    is_ua ? "UA NEXUSID ASC" : "ABORT NEXUSID");
		if (is_ua) {
			if (nexus_id(&g[1], &m->ua[i].nexus))
				BAD("STATE: line %u: the nexus id is not 'NAME,i,0xISID'", i + 2);
			m->ua[i].nexus.rtpi = 0;
			if (hex_fixed(&g[2], 4, &v) || !ua_asc_known(v))
				BAD("STATE: line %u: the ASC is not 2a03, 2a04 or 2a05", i + 2);
			m->ua[i].asc = (uint16_t)v;
		} else {
			struct ll_pr_nexus *n = &m->abort[i - m->nua];

			if (nexus_id(&g[1], n))
				BAD("STATE: line %u: the nexus id is not 'NAME,i,0xISID'", i + 2);
			n->rtpi = 0;
		}
		pos += ll + 1;
	}
	m->text = body + pos;
	m->text_len = len - pos;
	ll_pr_init(&m->state, NULL, 0, 0);
	if (ll_pr_parse(&m->state, m->text, m->text_len, pwhy, sizeof(pwhy)))
		BAD("STATE: the reservation state: %s", pwhy);
	return 0;
}

static int parse_done(const struct field *f, int nf, struct ll_pr_wire_msg *m, char *why,
		      size_t why_len)
{
	uint64_t st, key, asc;

	if (nf != 5)
		BAD("DONE: %d fields, want 'DONE SEQ STATUS SENSEKEY ASC'", nf);
	if (decimal(&f[1], UINT64_MAX, &m->seq))
		BAD("DONE: the sequence number is not a number");
	if (hex_fixed(&f[2], 2, &st) ||
	    (st != LL_PR_GOOD && st != LL_PR_CHECK_CONDITION && st != LL_PR_CONFLICT))
		BAD("DONE: the status is not 00, 02 or 18");
	if (hex_fixed(&f[3], 2, &key) || key > 0xf)
		BAD("DONE: the sense key is not 2 hex digits from 00 to 0f");
	if (hex_fixed(&f[4], 4, &asc))
		BAD("DONE: the ASC is not 4 lower-case hex digits");
	if (st == LL_PR_CHECK_CONDITION ? !key : key || asc)
		BAD("DONE: status %02" PRIx64 " with sense key %02" PRIx64 " (CHECK CONDITION "
		    "needs one, the others none)", st, key);
	m->status = (uint8_t)st;
	m->sense_key = (uint8_t)key;
	m->asc = (uint16_t)asc;
	return 0;
}

static int parse_fail(const struct field *f, int nf, struct ll_pr_wire_msg *m, char *why,
		      size_t why_len)
{
	if (nf != 3)
		BAD("FAIL: want 'FAIL SEQ REASON'");
	if (decimal(&f[1], UINT64_MAX, &m->seq))
		BAD("FAIL: the sequence number is not a number");
	if (f[2].len > LL_PR_WIRE_REASON_MAX)
		BAD("FAIL: the reason is longer than %d bytes", LL_PR_WIRE_REASON_MAX);
	for (size_t i = 0; i < f[2].len; i++)
		if (f[2].p[i] < 0x20 || f[2].p[i] > 0x7e)
			BAD("FAIL: the reason holds a byte that is not printable ASCII");
	memcpy(m->reason, f[2].p, f[2].len);
	m->reason[f[2].len] = '\0';
	return 0;
}

int ll_pr_wire_parse(const char *buf, size_t len, struct ll_pr_wire_msg *m, char *why,
		     size_t why_len)
{
	struct field f[6];
	const char *nl;
	size_t ll;
	int nf;

	if (!len)
		BAD("an empty message");
	if (len > LL_PR_WIRE_MAX)
		BAD("a message of %zu bytes, more than %d", len, LL_PR_WIRE_MAX);
	if (memchr(buf, '\0', len))
		BAD("a message holding a NUL byte");
	nl = memchr(buf, '\n', len);
	ll = nl ? (size_t)(nl - buf) : len;
	if (ll >= 5 && !memcmp(buf, "STATE", 5)) {
		if (!nl)
			BAD("STATE: no newline after its first line");
		nf = split(buf, ll, f, 5, 0);
		if (nf < 0 || !is(&f[0], "STATE"))
			BAD("STATE: its first line is not 'STATE GEN VALID_MS NUA NABORT'");
		m->type = LL_PR_WIRE_STATE;
		return parse_state(f, nf, nl + 1, len - ll - 1, m, why, why_len);
	}
	if (nl)
		BAD("a newline in a one-line message");
	if (len >= 5 && !memcmp(buf, "FAIL ", 5)) {
		nf = split(buf, len, f, 3, 1);
		m->type = LL_PR_WIRE_FAIL;
		return parse_fail(f, nf, m, why, why_len);
	}
	nf = split(buf, len, f, 6, 0);
	if (nf < 0)
		BAD("not fields separated by single spaces, or too many of them");
	if (is(&f[0], "HELLO")) {
		m->type = LL_PR_WIRE_HELLO;
		return parse_hello(f, nf, m, why, why_len);
	}
	if (is(&f[0], "OUT")) {
		m->type = LL_PR_WIRE_OUT;
		return parse_out(f, nf, m, why, why_len);
	}
	if (is(&f[0], "ACK")) {
		m->type = LL_PR_WIRE_ACK;
		if (nf != 2)
			BAD("ACK: want 'ACK GEN'");
		return parse_gen(&f[1], "ACK", &m->gen, why, why_len);
	}
	if (is(&f[0], "VALID")) {
		m->type = LL_PR_WIRE_VALID;
		if (nf != 3)
			BAD("VALID: want 'VALID GEN VALID_MS'");
		return parse_gen(&f[1], "VALID", &m->gen, why, why_len) ||
		       parse_valid_ms(&f[2], "VALID", &m->valid_ms, why, why_len) ? -1 : 0;
	}
	if (is(&f[0], "DONE")) {
		m->type = LL_PR_WIRE_DONE;
		return parse_done(f, nf, m, why, why_len);
	}
	BAD("an unknown message '%.*s'", (int)(f[0].len > 16 ? 16 : f[0].len), f[0].p);
}

/* ---- writing ------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, pos;
	int full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	/* vsnprintf writes a NUL; the room for it is needed, but the packet
	 * itself ends before it */
	if (n < 0 || (size_t)n >= o->len - o->pos)
		o->full = 1;
	else
		o->pos += (size_t)n;
}

static void put_hex(struct out *o, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	if (o->full || o->len - o->pos < 2 * n + 1) {
		o->full = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		o->buf[o->pos++] = digits[p[i] >> 4];
		o->buf[o->pos++] = digits[p[i] & 0xf];
	}
}

static void put_bytes(struct out *o, const char *p, size_t n)
{
	if (o->full || o->len - o->pos < n + 1) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->pos, p, n);
	o->pos += n;
}

static int volume_ok(const char *v)
{
	if (strlen(v) != LL_PR_WIRE_VOLUME_LEN)
		return 0;
	for (const char *c = v; *c; c++)
		if (hexdigit(*c) < 0)
			return 0;
	return 1;
}

long ll_pr_wire_format(const struct ll_pr_wire_msg *m, char *buf, size_t len, char *why,
		       size_t why_len)
{
	struct out o = { buf, len, 0, 0 };
	const char *name = ll_pr_wire_type_name(m->type);
	char pwhy[160];

	switch (m->type) {
	case LL_PR_WIRE_HELLO:
		if (!volume_ok(m->volume))
			BAD("HELLO: the volume id is not %d lower-case hex digits",
			    LL_PR_WIRE_VOLUME_LEN);
		if (!m->tid)
			BAD("HELLO: target id 0");
		put(&o, "HELLO %d %s %" PRIu32 " %" PRIu64, LL_PR_WIRE_VERSION, m->volume, m->tid,
		    m->lun);
		break;
	case LL_PR_WIRE_OUT:
		if (!ll_pr_id_valid(m->nexus.id) || !m->nexus.rtpi)
			BAD("OUT: an invalid nexus '%.40s' port %u", m->nexus.id,
			    (unsigned int)m->nexus.rtpi);
		if (m->cdb_len < LL_PR_WIRE_CDB_MIN || m->cdb_len > LL_PR_WIRE_CDB_MAX ||
		    m->cdb[0] != 0x5f)
			BAD("OUT: the CDB is no PERSISTENT RESERVE OUT of %d to %d bytes",
			    LL_PR_WIRE_CDB_MIN, LL_PR_WIRE_CDB_MAX);
		if (m->has_param && (!m->plen || m->plen > LL_PR_WIRE_PARAM_MAX))
			BAD("OUT: a parameter list of %zu bytes (1 to %d are sent)", m->plen,
			    LL_PR_WIRE_PARAM_MAX);
		put(&o, "OUT %" PRIu64 " %s %u ", m->seq, m->nexus.id, (unsigned int)m->nexus.rtpi);
		put_hex(&o, m->cdb, m->cdb_len);
		put(&o, " ");
		if (m->has_param)
			put_hex(&o, m->param, m->plen);
		else
			put(&o, "-");
		break;
	case LL_PR_WIRE_ACK:
		put(&o, "ACK %" PRIu64, m->gen);
		break;
	case LL_PR_WIRE_STATE: {
		struct ll_pr_state *check = NULL;

		if (m->valid_ms > LL_PR_WIRE_VALID_MS_MAX || m->nua > LL_PR_MAX_REGS ||
		    m->nabort > LL_PR_MAX_REGS)
			BAD("STATE: a validity or count out of range");
		put(&o, "STATE %" PRIu64 " %" PRIu32 " %u %u\n", m->gen, m->valid_ms, m->nua,
		    m->nabort);
		for (unsigned int i = 0; i < m->nua; i++) {
			if (!ll_pr_id_valid(m->ua[i].nexus.id) || !ua_asc_known(m->ua[i].asc))
				BAD("STATE: unit attention %u: an invalid nexus or ASC %04x", i,
				    (unsigned int)m->ua[i].asc);
			put(&o, "UA %s %04x\n", m->ua[i].nexus.id, (unsigned int)m->ua[i].asc);
		}
		for (unsigned int i = 0; i < m->nabort; i++) {
			if (!ll_pr_id_valid(m->abort[i].id))
				BAD("STATE: abort %u: an invalid nexus", i);
			put(&o, "ABORT %s\n", m->abort[i].id);
		}
		if (!m->text || memchr(m->text, '\0', m->text_len))
			BAD("STATE: no state text, or one holding a NUL byte");
		/* the state is checked as the reader will check it */
		check = malloc(sizeof(*check));
		if (!check)
			BAD("STATE: out of memory");
		ll_pr_init(check, NULL, 0, 0);
		if (ll_pr_parse(check, m->text, m->text_len, pwhy, sizeof(pwhy))) {
			free(check);
			BAD("STATE: the reservation state: %s", pwhy);
		}
		free(check);
		put_bytes(&o, m->text, m->text_len);
		break;
	}
	case LL_PR_WIRE_VALID:
		if (m->valid_ms > LL_PR_WIRE_VALID_MS_MAX)
			BAD("VALID: a validity over %d ms", LL_PR_WIRE_VALID_MS_MAX);
		put(&o, "VALID %" PRIu64 " %" PRIu32, m->gen, m->valid_ms);
		break;
	case LL_PR_WIRE_DONE:
		if ((m->status != LL_PR_GOOD && m->status != LL_PR_CHECK_CONDITION &&
		     m->status != LL_PR_CONFLICT) || m->sense_key > 0xf ||
		    (m->status == LL_PR_CHECK_CONDITION ? !m->sense_key : m->sense_key || m->asc))
			BAD("DONE: status %02x with sense key %02x, ASC %04x: not what DONE carries",
			    m->status, m->sense_key, (unsigned int)m->asc);
		put(&o, "DONE %" PRIu64 " %02x %02x %04x", m->seq, m->status, m->sense_key,
		    (unsigned int)m->asc);
		break;
	case LL_PR_WIRE_FAIL: {
		size_t n = strnlen(m->reason, sizeof(m->reason));

		if (n > LL_PR_WIRE_REASON_MAX)
			n = LL_PR_WIRE_REASON_MAX;
		if (!n)
			BAD("FAIL: no reason");
		put(&o, "FAIL %" PRIu64 " ", m->seq);
		if (o.full || o.len - o.pos < n + 1) {
			o.full = 1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			char c = m->reason[i];

			o.buf[o.pos++] = c >= 0x20 && c <= 0x7e ? c : '?';
		}
		break;
	}
	default:
		BAD("message type %d does not exist", (int)m->type);
	}
	if (o.full || o.pos > LL_PR_WIRE_MAX)
		BAD("%s: the message does not fit %zu bytes", name,
		    len < LL_PR_WIRE_MAX ? len : (size_t)LL_PR_WIRE_MAX);
	return (long)o.pos;
}
