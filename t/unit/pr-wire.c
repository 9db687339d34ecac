// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for target/lib/pr_wire.c, the messages between a pr=cluster
 * LUN and the policy agent: each message written and read back field by
 * field, the exact bytes of each, and the refusals of the reader (every
 * field out of its bounds, extra spaces, upper case, leading zeros, NUL
 * bytes, a STATE whose counts or text do not hold).
 */
#include "lunlink/pr_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static struct ll_pr_wire_msg m, r;
static char buf[LL_PR_WIRE_BUF], why[256];

static const char *VOL = "0123456789abcdef0123456789abcdef";
static const char *ID = "iqn.2026-12.test:a,i,0x400000000001";

static void fresh(enum ll_pr_wire_type t)
{
	memset(&m, 0, sizeof(m));
	m.type = t;
}

/* format m, check the text, read it back into r */
static long round_trip(const char *want, const char *name)
{
	long n = ll_pr_wire_format(&m, buf, sizeof(buf), why, sizeof(why));

	if (!ok(n > 0, "%s: written", name)) {
		diag("why: %s", why);
		return -1;
	}
	buf[n] = '\0';
	if (want)
		is_str(buf, want, "%s: the bytes", name);
	memset(&r, 0xa5, sizeof(r));
	if (!ok(!ll_pr_wire_parse(buf, (size_t)n, &r, why, sizeof(why)), "%s: read back", name))
		diag("why: %s", why);
	is_int(r.type, m.type, "%s: the type", name);
	return n;
}

/* the reader refuses s, naming what in why */
static void refused(const char *s, const char *because, const char *name)
{
	memset(why, 0, sizeof(why));
	ok(ll_pr_wire_parse(s, strlen(s), &r, why, sizeof(why)) == -1, "refused: %s", name);
	like(why, because, "refused: %s: says '%s'", name, because);
}

static void state_text(struct ll_pr_state *st, char *text, size_t len, long *n)
{
	struct ll_pr_nexus a;
	uint8_t isid[6] = { 0x40, 0, 0, 0, 0, 1 };
	uint8_t cdb[10] = { 0x5f, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };
	struct ll_pr_result res;
	uint16_t port = 1;

	ll_pr_init(st, &port, 1, 0);
	ll_pr_nexus_set(&a, "iqn.2026-12.test:a", isid, 1);
	p[15] = 0x11;	/* service action key 0x11: REGISTER */
	ll_pr_out(st, &a, cdb, sizeof(cdb), p, sizeof(p), &res);
	cdb[1] = 1;	/* RESERVE, WRITE EXCLUSIVE */
	cdb[2] = LL_PR_WE;
	p[7] = 0x11;
	p[15] = 0;
	ll_pr_out(st, &a, cdb, sizeof(cdb), p, sizeof(p), &res);
	*n = ll_pr_format(st, text, len);
}

int main(void)
{
	static struct ll_pr_state st;
	static char text[LL_PR_TEXT_MAX], big[LL_PR_WIRE_MAX + 16];
	long n;

	/* ---- each message, written and read ---- */
	fresh(LL_PR_WIRE_HELLO);
	strcpy(m.volume, VOL);
	m.tid = 3;
	m.lun = 1;
	round_trip("HELLO 1 0123456789abcdef0123456789abcdef 3 1", "HELLO");
	is_int(r.version, 1, "HELLO: version");
	is_str(r.volume, VOL, "HELLO: volume");
	is_int(r.tid, 3, "HELLO: tid");
	is_u64(r.lun, 1, "HELLO: lun");

	fresh(LL_PR_WIRE_OUT);
	m.seq = 7;
	strcpy(m.nexus.id, ID);
	m.nexus.rtpi = 1;
	m.cdb_len = 10;
	m.cdb[0] = 0x5f;
	m.cdb[1] = 0x01;
	m.cdb[2] = 0x01;
	m.cdb[8] = 24;
	m.has_param = 1;
	m.plen = 24;
	m.param[7] = 0xab;
	round_trip("OUT 7 iqn.2026-12.test:a,i,0x400000000001 1 5f010100000000001800 "
		   "00000000000000ab00000000000000000000000000000000", "OUT");
	is_u64(r.seq, 7, "OUT: seq");
	is_str(r.nexus.id, ID, "OUT: nexus");
	is_int(r.nexus.rtpi, 1, "OUT: rtpi");
	ok(r.cdb_len == 10 && !memcmp(r.cdb, m.cdb, 10), "OUT: the CDB");
	ok(r.has_param && r.plen == 24 && !memcmp(r.param, m.param, 24), "OUT: the parameters");
	m.has_param = 0;
	round_trip("OUT 7 iqn.2026-12.test:a,i,0x400000000001 1 5f010100000000001800 -",
		   "OUT without parameters");
	ok(!r.has_param && !r.plen, "OUT without parameters: none read");

	fresh(LL_PR_WIRE_ACK);
	m.gen = 18446744073709551615ULL;
	round_trip("ACK 18446744073709551615", "ACK, the largest generation");
	is_u64(r.gen, UINT64_MAX, "ACK: gen");

	fresh(LL_PR_WIRE_VALID);
	m.gen = 12;
	m.valid_ms = 4500;
	round_trip("VALID 12 4500", "VALID");
	ok(r.gen == 12 && r.valid_ms == 4500, "VALID: gen and validity");

	fresh(LL_PR_WIRE_DONE);
	m.seq = 7;
	m.status = LL_PR_CHECK_CONDITION;
	m.sense_key = 5;
	m.asc = 0x2600;
	round_trip("DONE 7 02 05 2600", "DONE with CHECK CONDITION");
	ok(r.seq == 7 && r.status == 2 && r.sense_key == 5 && r.asc == 0x2600, "DONE: fields");
	fresh(LL_PR_WIRE_DONE);
	m.seq = 8;
	m.status = LL_PR_CONFLICT;
	round_trip("DONE 8 18 00 0000", "DONE with RESERVATION CONFLICT");

	fresh(LL_PR_WIRE_FAIL);
	m.seq = 9;
	strcpy(m.reason, "manager unreachable: connect\n refused");
	round_trip("FAIL 9 manager unreachable: connect? refused", "FAIL, a newline made '?'");
	is_str(r.reason, "manager unreachable: connect? refused", "FAIL: the reason, spaces kept");

	state_text(&st, text, sizeof(text), &n);
	ok(n > 0, "a state with a registration and a reservation, as text");
	fresh(LL_PR_WIRE_STATE);
	m.gen = 42;
	m.valid_ms = 5000;
	m.nua = 1;
	strcpy(m.ua[0].nexus.id, ID);
	m.ua[0].asc = LL_PR_UA_RES_PREEMPTED;
	m.nabort = 1;
	strcpy(m.abort[0].id, "iqn.2026-12.test:b,i,0x400000000002");
	m.text = text;
	m.text_len = (size_t)n;
	n = round_trip(NULL, "STATE");
	ok(n > 0 && !strncmp(buf, "STATE 42 5000 1 1\nUA iqn.2026-12.test:a,i,0x400000000001 "
			   "2a03\nABORT iqn.2026-12.test:b,i,0x400000000002\nlunlink-pr 1\n",
			   80), "STATE: the first lines' bytes");
	ok(r.gen == 42 && r.valid_ms == 5000 && r.nua == 1 && r.nabort == 1, "STATE: header");
	ok(!strcmp(r.ua[0].nexus.id, ID) && r.ua[0].asc == 0x2a03 && !r.ua[0].nexus.rtpi,
	   "STATE: the unit attention, no port");
	is_str(r.abort[0].id, "iqn.2026-12.test:b,i,0x400000000002", "STATE: the abort");
	ok(r.text_len == m.text_len && !memcmp(r.text, text, r.text_len) && r.text >= buf &&
	   r.text < buf + n, "STATE: the text points into the packet");
	ok(r.state.nregs == 1 && r.state.reserved && r.state.type == LL_PR_WE &&
	   r.state.regs[0].key == 0x11, "STATE: the state parsed");

	/* ---- the formatter refuses what the reader would ---- */
	fresh(LL_PR_WIRE_HELLO);
	strcpy(m.volume, "0123456789ABCDEF0123456789abcdef");
	m.tid = 1;
	ok(ll_pr_wire_format(&m, buf, sizeof(buf), why, sizeof(why)) == -1,
	   "format: an upper-case volume id refused");
	fresh(LL_PR_WIRE_OUT);
	strcpy(m.nexus.id, "no isid");
	m.nexus.rtpi = 1;
	m.cdb_len = 10;
	m.cdb[0] = 0x5f;
	ok(ll_pr_wire_format(&m, buf, sizeof(buf), why, sizeof(why)) == -1,
	   "format: an invalid nexus id refused");
	fresh(LL_PR_WIRE_STATE);
	m.gen = 1;
	m.text = "lunlink-pr 1\n";
	m.text_len = strlen(m.text);
	ok(ll_pr_wire_format(&m, buf, sizeof(buf), why, sizeof(why)) == -1,
	   "format: an incomplete state text refused");
	like(why, "incomplete", "format: and says why");
	fresh(LL_PR_WIRE_VALID);
	m.gen = 1;
	ok(ll_pr_wire_format(&m, buf, 8, why, sizeof(why)) == -1, "format: a short buffer");
	like(why, "does not fit", "format: says it does not fit");
	fresh(LL_PR_WIRE_DONE);
	m.status = LL_PR_GOOD;
	m.asc = 0x2600;
	ok(ll_pr_wire_format(&m, buf, sizeof(buf), why, sizeof(why)) == -1,
	   "format: GOOD with an ASC refused");
	fresh(LL_PR_WIRE_FAIL);
	ok(ll_pr_wire_format(&m, buf, sizeof(buf), why, sizeof(why)) == -1,
	   "format: FAIL without a reason refused");

	/* ---- the reader's refusals ---- */
	static const struct {
		const char *packet, *because, *name;
	} bad[] = {
		{ "", "empty", "an empty packet" },
		{ "HELLO 2 0123456789abcdef0123456789abcdef 1 0", "version 2", "another version" },
		{ "HELLO 1 0123456789abcdef0123456789abcde 1 0", "volume", "a short volume id" },
		{ "HELLO 1 0123456789ABCDEF0123456789abcdef 1 0",
		  "volume", "an upper-case volume" },
		{ "HELLO 1 0123456789abcdef0123456789abcdef 0 0", "target id", "target id 0" },
		{ "HELLO 1 0123456789abcdef0123456789abcdef 1", "fields", "HELLO without LUN" },
		{ "HELLO  1 0123456789abcdef0123456789abcdef 1 0", "single spaces", "two spaces" },
		{ "ACK 1 ", "single spaces", "a trailing space" },
		{ "ACK 01", "generation", "a leading zero" },
		{ "ACK +1", "generation", "a sign" },
		{ "ACK 18446744073709551616", "generation", "a generation past 64 bits" },
		{ "ACK 1\n", "newline", "a newline after a one-line message" },
		{ "VALID 1 600001", "validity", "a validity over ten minutes" },
		{ "VALID 1", "VALID GEN VALID_MS", "VALID without validity" },
		{ "DONE 1 03 00 0000", "status", "a status DONE does not carry" },
		{ "DONE 1 02 00 0000", "sense key", "CHECK CONDITION without sense key" },
		{ "DONE 1 00 05 2400", "sense key", "GOOD with a sense key" },
		{ "DONE 1 02 10 2400", "sense key", "a sense key past 0f" },
		{ "DONE 1 02 05 24", "ASC", "a two-digit ASC" },
		{ "DONE 1 02 05 2A00", "ASC", "an upper-case ASC" },
		{ "FAIL 1 ", "FAIL SEQ REASON", "FAIL without reason" },
		{ "FAIL x why", "sequence", "FAIL without a number" },
		{ "FAIL 1 a\tb", "printable", "a tab in the reason" },
		{ "OUT 1 iqn.x,i,0x400000000001 1 5f00000000000000180 -", "CDB", "an odd CDB" },
		{ "OUT 1 iqn.x,i,0x400000000001 1 5e000000000000001800 -",
		  "PERSISTENT RESERVE OUT", "a PR IN CDB" },
		{ "OUT 1 iqn.x,i,0x40000000001 1 5f000000000000001800 -",
		  "nexus", "an ISID of 11 digits" },
		{ "OUT 1 iqn.X,i,0x400000000001 1 5f000000000000001800 -",
		  "nexus", "an upper-case name" },
		{ "OUT 1 iqn.x,i,0x400000000001 0 5f000000000000001800 -",
		  "target port", "port 0" },
		{ "OUT 1 iqn.x,i,0x400000000001 1 5f000000000000001800 0",
		  "parameter", "a half byte of parameters" },
		{ "OUT 1 iqn.x,i,0x400000000001 1 5f000000000000001800 - x",
		  "fields", "a seventh field" },
		{ "NOPE 1", "unknown", "an unknown message" },
		{ "STATE 1 0 0 0", "no newline", "STATE on one line" },
		{ "STATE 1 0 0 0 0\nlunlink-pr 1\n", "first line", "STATE with six fields" },
		{ "STATE 1 0 65 0\n", "unit attention count", "65 unit attentions" },
		{ "STATE 1 0 1 0\nlunlink-pr 1\ngeneration 0\naptpl 0\n",
		  "line 2", "a UA line missing" },
		{ "STATE 1 0 1 0\nUA iqn.x,i,0x400000000001 2a06\nlunlink-pr 1\ngeneration 0\n"
		  "aptpl 0\n", "ASC", "a unit attention PR does not raise" },
		{ "STATE 1 0 0 1\nABORT iqn.x,i,0x400000000001 x\nlunlink-pr 1\ngeneration 0\n"
		  "aptpl 0\n", "ABORT NEXUSID", "an ABORT line with a third field" },
		{ "STATE 1 0 0 0\nlunlink-pr 1\ngeneration 0\n",
		  "reservation state", "a state text without aptpl" },
		{ "STATE 1 0 0 0\nlunlink-pr 1\ngeneration 0\naptpl 0\n"
		  "reservation 1 0 1 iqn.x,i,0x400000000001\n",
		  "holder is not registered", "a holder without registration" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i].packet, bad[i].because, bad[i].name);
	ok(!ll_pr_wire_parse("ACK 0", 5, &r, why, sizeof(why)) && r.gen == 0,
	   "generation 0 (a state never written) is read");
	ok(ll_pr_wire_parse("ACK 1\0", 6, &r, why, sizeof(why)) == -1 && strstr(why, "NUL"),
	   "refused: a NUL byte");
	memset(big, 'a', sizeof(big));
	ok(ll_pr_wire_parse(big, sizeof(big), &r, why, sizeof(why)) == -1 &&
	   strstr(why, "more than"), "refused: a packet over 64 KiB");

	n = (long)strlen("STATE 1 0 0 0\nlunlink-pr 1\ngeneration 0\naptpl 0\n");
	ok(!ll_pr_wire_parse("STATE 1 0 0 0\nlunlink-pr 1\ngeneration 0\naptpl 0\n", (size_t)n, &r,
			     why, sizeof(why)) && r.state.nregs == 0 && !r.state.reserved,
	   "an empty state is read");
	is_str(ll_pr_wire_type_name(LL_PR_WIRE_STATE), "STATE", "type names");
	is_str(ll_pr_wire_type_name(99), "?", "an unknown type's name");
	return done_testing();
}
