// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for target/lib/pr.c, the persistent reservation engine: each
 * PERSISTENT RESERVE OUT service action with its checks, each reservation
 * type against the conflict table, the unit attentions and on which
 * nexuses (SPC-4 5.12.11), the PERSISTENT RESERVE IN answers byte by byte,
 * the parameter list's bounds, and the text form's round trip and
 * refusals.  t/t2050-pr.sh runs the same rules through tgtd and libiscsi.
 */
#include "lunlink/pr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static struct ll_pr_state st;
static struct ll_pr_result res;
static struct ll_pr_nexus A, B, C, A2;	/* A2: A's initiator on port 2 */
static struct ll_pr_nexus n_again;

static void nexus(struct ll_pr_nexus *n, const char *name, uint8_t isid_last, uint16_t rtpi)
{
	uint8_t isid[6] = { 0x40, 0, 0, 0, 0, isid_last };

	if (ll_pr_nexus_set(n, name, isid, rtpi))
		abort();
}

static void fresh(void)
{
	uint16_t ports[2] = { 1, 2 };

	ll_pr_init(&st, ports, 2, 1);
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* a PR OUT from n; flags: byte 20 of the parameter list */
static uint8_t out_flags(const struct ll_pr_nexus *n, int sa, int type, uint64_t rkey,
			 uint64_t sakey, uint8_t flags)
{
	uint8_t cdb[10] = { 0x5f, (uint8_t)sa, (uint8_t)type, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };

	be64(p, rkey);
	be64(p + 8, sakey);
	p[20] = flags;
	ll_pr_out(&st, n, cdb, sizeof(cdb), p, sizeof(p), &res);
	return res.status;
}

static uint8_t out(const struct ll_pr_nexus *n, int sa, int type, uint64_t rkey, uint64_t sakey)
{
	return out_flags(n, sa, type, rkey, sakey, 0);
}

/* An iSCSI TransportID of format 01b (name,i,0xISID) for id at p, padded
 * to a multiple of 4 as SPC-4 7.6.4.6 wants: its length. */
static size_t put_tid(uint8_t *p, const char *id)
{
	size_t tl = 4 + ((strlen(id) + 1 + 3) & ~3u);

	p[0] = 0x45;
	p[3] = (uint8_t)(tl - 4);
	memcpy(p + 4, id, strlen(id) + 1);
	return tl;
}

/* A fresh state: the first n of A, B and C registered with keys a, b and
 * c, and A holding a reservation of type.  A step of it refused is a
 * failed check (the engine broke before the case began). */
static void reserved_by_a(unsigned int n, int type)
{
	static const struct ll_pr_nexus *const who[] = { &A, &B, &C };
	static const uint64_t key[] = { 0xa, 0xb, 0xc };

	fresh();
	for (unsigned int i = 0; i < n; i++)
		if (out(who[i], LL_PR_REGISTER, 0, 0, key[i]) != LL_PR_GOOD)
			ok(0, "set-up: nexus %u registers key %llx", i, (unsigned long long)key[i]);
	if (out(&A, LL_PR_RESERVE, type, 0xa, 0) != LL_PR_GOOD)
		ok(0, "set-up: A reserves type %d", type);
}

/* whether res queues asc on n */
static int ua_for(const struct ll_pr_nexus *n, uint16_t asc)
{
	for (unsigned int i = 0; i < res.nua; i++)
		if (res.ua[i].asc == asc && res.ua[i].nexus.rtpi == n->rtpi &&
		    !strcmp(res.ua[i].nexus.id, n->id))
			return 1;
	return 0;
}

static int conflicts(const struct ll_pr_nexus *n, uint8_t op)
{
	uint8_t cdb[16] = { op };

	return ll_pr_conflicts(&st, n, cdb, sizeof(cdb));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static long in(int sa, uint8_t *buf, size_t len)
{
	uint8_t cdb[10] = { 0x5e, (uint8_t)sa, 0, 0, 0, 0, 0, 0x10, 0, 0 };

	return ll_pr_in(&st, &A, cdb, sizeof(cdb), buf, len);
}

static void test_identity(void)
{
	struct ll_pr_nexus n;
	uint8_t isid[6] = { 0x23, 0xd0, 0, 0, 0, 0x1 };

	ok(!ll_pr_nexus_set(&n, "iqn.2026-11.org.Lunlink:Host-A", isid, 1), "a nexus from an iSCSI name and ISID");
	is_str(n.id, "iqn.2026-11.org.lunlink:host-a,i,0x23d000000001",
	       "its TransportID text: the name in lower case, ,i,0x and the ISID in hex");
	ok(ll_pr_nexus_set(&n, "", isid, 1), "an empty name is no nexus");
	ok(ll_pr_nexus_set(&n, "iqn.a b", isid, 1), "nor one with a space");
	ok(ll_pr_nexus_set(&n, "iqn.a,b", isid, 1), "nor one with a comma");
	ok(ll_pr_nexus_set(&n, "iqn.a\x7f", isid, 1), "nor one with DEL");
	ok(!ll_pr_nexus_set(&n, "iqn.2026-11.org.lunlink:h\xc3\xb4te", isid, 1),
	   "UTF-8 in a name is kept");
}

static void test_register(void)
{
	fresh();
	is_int(out(&A, LL_PR_REGISTER, 0, 0, 0xa), LL_PR_GOOD, "REGISTER: A registers key a");
	is_int(st.generation, 1, "REGISTER bumps PRgeneration");
	is_int(out(&A, LL_PR_REGISTER, 0, 0, 0xa), LL_PR_CONFLICT,
	       "REGISTER again with reservation key 0 (not A's): RESERVATION CONFLICT");
	is_int(out(&A, LL_PR_REGISTER, 0, 0xa, 0xaa), LL_PR_GOOD, "REGISTER with its key: a new key");
	is_u64(ll_pr_find(&st, &A)->key, 0xaa, "the key is aa");
	is_int(out(&B, LL_PR_REGISTER, 0, 0xb, 0xb), LL_PR_CONFLICT,
	       "an unregistered nexus giving a reservation key: RESERVATION CONFLICT");
	is_int(out(&B, LL_PR_REGISTER, 0, 0, 0), LL_PR_GOOD, "registering key 0 unregistered: GOOD");
	ok(!res.changed && !ll_pr_find(&st, &B), "and nothing changes");
	is_int(out(&B, LL_PR_REGISTER_AND_IGNORE, 0, 0x1234, 0xb), LL_PR_GOOD,
	       "REGISTER AND IGNORE EXISTING KEY ignores the reservation key");
	is_int(out(&B, LL_PR_REGISTER_AND_IGNORE, 0, 0, 0xbb), LL_PR_GOOD,
	       "and changes a key without knowing it");
	is_u64(ll_pr_find(&st, &B)->key, 0xbb, "B's key is bb");
	is_int(out(&B, LL_PR_REGISTER, 0, 0xbb, 0), LL_PR_GOOD, "REGISTER key 0: unregisters");
	ok(!ll_pr_find(&st, &B), "B is not registered");
	is_int(st.nregs, 1, "A still is");

	/* the same initiator port, logged in again: the same nexus */
	nexus(&n_again, "iqn.2026-11.org.lunlink:a", 1, 1);
	ok(ll_pr_find(&st, &n_again) != NULL, "a re-login (same name, same ISID) finds A's registration");

	/* ALL_TG_PT: a registration on each target port */
	fresh();
	is_int(out_flags(&A, LL_PR_REGISTER, 0, 0, 0xa, 0x04), LL_PR_GOOD, "REGISTER with ALL_TG_PT");
	is_int(st.nregs, 2, "registers A on both target ports");
	ok(ll_pr_find(&st, &A2) && ll_pr_find(&st, &A2)->all_tg_pt, "the other port's says ALL_TG_PT");

	/* APTPL */
	fresh();
	is_int(out_flags(&A, LL_PR_REGISTER, 0, 0, 0xa, 0x01), LL_PR_GOOD, "REGISTER with APTPL");
	ok(st.aptpl && res.persist, "APTPL is on; the change must be persisted");
	is_int(out(&A, LL_PR_RESERVE, LL_PR_WE, 0xa, 0), LL_PR_GOOD, "a RESERVE then");
	ok(res.persist, "is persisted too while APTPL is on");
	is_int(out(&A, LL_PR_REGISTER, 0, 0xa, 0xa), LL_PR_GOOD, "REGISTER with APTPL 0");
	ok(!st.aptpl && res.persist, "turns APTPL off, and that is persisted");
	is_int(out(&A, LL_PR_RELEASE, LL_PR_WE, 0xa, 0), LL_PR_GOOD, "a RELEASE then");
	ok(res.changed && !res.persist, "is not persisted");
	st.ptpl_capable = 0;
	is_int(out_flags(&A, LL_PR_REGISTER, 0, 0xa, 0xa, 0x01), LL_PR_CHECK_CONDITION,
	       "APTPL without stable storage: CHECK CONDITION");
	is_int(res.asc, 0x2600, "INVALID FIELD IN PARAMETER LIST");
}

static void test_register_full(void)
{
	char name[64];
	struct ll_pr_nexus n;

	fresh();
	for (int i = 0; i < LL_PR_MAX_REGS; i++) {
		snprintf(name, sizeof(name), "iqn.2026-11.org.lunlink:many%d", i);
		nexus(&n, name, 1, 1);
		out(&n, LL_PR_REGISTER, 0, 0, 0x100 + (uint64_t)i);
	}
	is_int(st.nregs, LL_PR_MAX_REGS, "%d registrations fit", LL_PR_MAX_REGS);
	is_int(out(&A, LL_PR_REGISTER, 0, 0, 0xa), LL_PR_CHECK_CONDITION, "one more does not");
	is_int(res.asc, 0x5504, "INSUFFICIENT REGISTRATION RESOURCES");
}

static void test_reserve_release(void)
{
	fresh();
	is_int(out(&A, LL_PR_RESERVE, LL_PR_WE, 0xa, 0), LL_PR_CONFLICT,
	       "RESERVE unregistered: RESERVATION CONFLICT");
	out(&A, LL_PR_REGISTER, 0, 0, 0xa);
	out(&B, LL_PR_REGISTER, 0, 0, 0xb);
	is_int(out(&A, LL_PR_RESERVE, LL_PR_WE, 0xb, 0), LL_PR_CONFLICT,
	       "RESERVE with another's key: RESERVATION CONFLICT");
	is_int(out(&A, LL_PR_RESERVE, 2, 0xa, 0), LL_PR_CHECK_CONDITION, "RESERVE type 2 (obsolete)");
	is_int(res.asc, 0x2400, "INVALID FIELD IN CDB");
	is_int(out(&A, LL_PR_RESERVE, 0x10 | LL_PR_WE, 0xa, 0), LL_PR_CHECK_CONDITION,
	       "RESERVE of element scope: INVALID FIELD IN CDB");
	uint32_t gen = st.generation;
	is_int(out(&A, LL_PR_RESERVE, LL_PR_WE, 0xa, 0), LL_PR_GOOD, "A reserves WE");
	is_int(st.generation, gen, "RESERVE leaves PRgeneration");
	ok(ll_pr_is_holder(&st, &A) && !ll_pr_is_holder(&st, &B), "A holds it, B does not");
	is_int(out(&A, LL_PR_RESERVE, LL_PR_WE, 0xa, 0), LL_PR_GOOD, "A again, same type: GOOD");
	ok(!res.changed, "without change");
	is_int(out(&A, LL_PR_RESERVE, LL_PR_EA, 0xa, 0), LL_PR_CONFLICT,
	       "A, another type: RESERVATION CONFLICT");
	is_int(out(&B, LL_PR_RESERVE, LL_PR_WE, 0xb, 0), LL_PR_CONFLICT, "B: RESERVATION CONFLICT");
	is_int(out(&B, LL_PR_RELEASE, LL_PR_WE, 0xb, 0), LL_PR_GOOD, "B releases what it does not hold: GOOD");
	ok(st.reserved && !res.changed, "nothing released");
	is_int(out(&A, LL_PR_RELEASE, LL_PR_EA, 0xa, 0), LL_PR_CHECK_CONDITION,
	       "A releases with the wrong type");
	is_int(res.asc, 0x2604, "INVALID RELEASE OF PERSISTENT RESERVATION");
	is_int(out(&A, LL_PR_RELEASE, LL_PR_WE, 0xb, 0), LL_PR_CONFLICT, "A releases with B's key: CONFLICT");
	is_int(out(&A, LL_PR_RELEASE, LL_PR_WE, 0xa, 0), LL_PR_GOOD, "A releases");
	ok(!st.reserved && res.nua == 0, "released; WE tells nobody");

	/* registrants-only and all-registrants types: RESERVATIONS RELEASED
	 * to the other registrants */
	static const int types[] = { LL_PR_WERO, LL_PR_EARO, LL_PR_WEAR, LL_PR_EAAR };
	for (unsigned int i = 0; i < 4; i++) {
		out(&A, LL_PR_RESERVE, types[i], 0xa, 0);
		is_int(out(&A, LL_PR_RELEASE, types[i], 0xa, 0), LL_PR_GOOD, "release of type %d", types[i]);
		ok(res.nua == 1 && ua_for(&B, LL_PR_UA_RES_RELEASED),
		   "type %d: RESERVATIONS RELEASED to B only", types[i]);
	}
	out(&B, LL_PR_RESERVE, LL_PR_WEAR, 0xb, 0);
	ok(ll_pr_is_holder(&st, &A) && ll_pr_is_holder(&st, &B), "WEAR: every registrant holds it");
	is_int(out(&A, LL_PR_RESERVE, LL_PR_WEAR, 0xa, 0), LL_PR_GOOD, "A reserving the same: GOOD");
	is_int(out(&A, LL_PR_RELEASE, LL_PR_WEAR, 0xa, 0), LL_PR_GOOD, "A (a holder too) releases it");
	ok(!st.reserved && ua_for(&B, LL_PR_UA_RES_RELEASED), "it is gone; B told");
}

static void test_unregister_holder(void)
{
	/* the holder unregisters: released; RO types tell the others,
	 * WE/EA do not, AR types stay while registrants remain */
	static const struct { int type; int ua; int stays; } c[] = {
		{ LL_PR_WE, 0, 0 }, { LL_PR_EA, 0, 0 }, { LL_PR_WERO, 1, 0 },
		{ LL_PR_EARO, 1, 0 }, { LL_PR_WEAR, 0, 1 }, { LL_PR_EAAR, 0, 1 },
	};

	for (unsigned int i = 0; i < 6; i++) {
		reserved_by_a(2, c[i].type);
		is_int(out(&A, LL_PR_REGISTER, 0, 0xa, 0), LL_PR_GOOD, "type %d: the holder unregisters",
		       c[i].type);
		is_int(st.reserved, c[i].stays, "type %d: reservation %s", c[i].type,
		       c[i].stays ? "stays with B" : "released");
		is_int(res.nua, c[i].ua, "type %d: %s", c[i].type,
		       c[i].ua ? "RESERVATIONS RELEASED to B" : "no unit attention");
		ok(!ua_for(&A, LL_PR_UA_RES_RELEASED), "type %d: never to A itself", c[i].type);
		if (c[i].stays) {
			out(&B, LL_PR_REGISTER, 0, 0xb, 0);
			ok(!st.reserved, "type %d: gone with the last registrant", c[i].type);
		}
	}
}

static void test_clear(void)
{
	reserved_by_a(3, LL_PR_EA);
	is_int(out(&B, LL_PR_CLEAR, 0, 0xa, 0), LL_PR_CONFLICT, "CLEAR with another's key: CONFLICT");
	uint32_t gen = st.generation;
	is_int(out(&B, LL_PR_CLEAR, 0, 0xb, 0), LL_PR_GOOD, "B clears");
	ok(!st.reserved && !st.nregs, "no reservation, no registration");
	is_int(st.generation, gen + 1, "PRgeneration bumped");
	ok(res.nua == 2 && ua_for(&A, LL_PR_UA_RES_PREEMPTED) && ua_for(&C, LL_PR_UA_RES_PREEMPTED),
	   "RESERVATIONS PREEMPTED to A and C, not B");
	is_int(out(&B, LL_PR_CLEAR, 0, 0xb, 0), LL_PR_CONFLICT, "CLEAR unregistered: CONFLICT");
}

static void test_preempt(void)
{
	/* the lease's flow: the old primary A holds WERO, B preempts it */
	fresh();
	is_int(out(&A, LL_PR_REGISTER_AND_IGNORE, 0, 0, 0xa1), LL_PR_GOOD, "A registers (ignore key)");
	is_int(out(&A, LL_PR_RESERVE, LL_PR_WERO, 0xa1, 0), LL_PR_GOOD, "A reserves WERO");
	is_int(out(&B, LL_PR_REGISTER_AND_IGNORE, 0, 0, 0xb2), LL_PR_GOOD, "B registers");
	ok(!conflicts(&B, 0x2a), "B, registered, may write under WERO");
	ok(conflicts(&C, 0x2a) && !conflicts(&C, 0x28), "C, not registered, may read but not write");
	uint32_t gen = st.generation;
	is_int(out(&B, LL_PR_PREEMPT, LL_PR_WERO, 0xb2, 0xa1), LL_PR_GOOD, "B preempts A's key");
	ok(ll_pr_is_holder(&st, &B) && !ll_pr_find(&st, &A), "B holds it, A's registration is gone");
	is_int(st.type, LL_PR_WERO, "still WERO");
	is_int(st.generation, gen + 1, "PRgeneration bumped");
	ok(res.nua == 1 && ua_for(&A, LL_PR_UA_REG_PREEMPTED), "REGISTRATIONS PREEMPTED to A only");
	ok(conflicts(&A, 0x2a) && conflicts(&A, 0x8a) && conflicts(&A, 0x35),
	   "A's writes, WRITE(16), SYNCHRONIZE CACHE conflict now");
	ok(!conflicts(&A, 0x28) && !conflicts(&A, 0x12), "its reads and INQUIRY do not");
	ok(res.nabort == 0, "PREEMPT aborts nothing");
	is_int(out(&A, LL_PR_REGISTER_AND_IGNORE, 0, 0, 0xa3), LL_PR_GOOD, "A registers again");
	is_int(out(&A, LL_PR_RESERVE, LL_PR_WERO, 0xa3, 0), LL_PR_CONFLICT, "and cannot reserve");

	/* PREEMPT AND ABORT: the same, and A's commands to abort */
	is_int(out(&B, LL_PR_PREEMPT_AND_ABORT, LL_PR_WERO, 0xb2, 0xa3), LL_PR_GOOD,
	       "PREEMPT AND ABORT of A's new key");
	ok(res.nabort == 1 && !strcmp(res.abort[0].id, A.id), "A's commands are to be aborted");

	/* preempting the holder with another type: RESERVATIONS RELEASED to
	 * those that stay */
	reserved_by_a(3, LL_PR_WE);
	is_int(out(&B, LL_PR_PREEMPT, LL_PR_EA, 0xb, 0xa), LL_PR_GOOD, "B preempts A, as EA");
	ok(ua_for(&A, LL_PR_UA_REG_PREEMPTED) && ua_for(&C, LL_PR_UA_RES_RELEASED) && res.nua == 2,
	   "A: REGISTRATIONS PREEMPTED; C: RESERVATIONS RELEASED (type changed)");
	is_int(out(&B, LL_PR_PREEMPT, LL_PR_EA, 0xb, 0xc), LL_PR_GOOD, "B preempts C's key (not the holder's)");
	ok(ll_pr_is_holder(&st, &B) && st.type == LL_PR_EA && !ll_pr_find(&st, &C),
	   "C's registration goes, the reservation stays");
	is_int(out(&B, LL_PR_PREEMPT, LL_PR_EA, 0xb, 0xdead), LL_PR_CONFLICT,
	   "preempting a key nobody has: RESERVATION CONFLICT");
	is_int(out(&B, LL_PR_PREEMPT, LL_PR_EA, 0xb, 0), LL_PR_CHECK_CONDITION,
	       "key 0 without an all-registrants reservation");
	is_int(res.asc, 0x2600, "INVALID FIELD IN PARAMETER LIST");
	is_int(out(&C, LL_PR_PREEMPT, LL_PR_EA, 0xc, 0xb), LL_PR_CONFLICT, "C, unregistered: CONFLICT");

	/* no reservation: registrations of the key go */
	fresh();
	out(&A, LL_PR_REGISTER, 0, 0, 0xa);
	out(&B, LL_PR_REGISTER, 0, 0, 0x5);
	out(&C, LL_PR_REGISTER, 0, 0, 0x5);
	is_int(out(&A, LL_PR_PREEMPT, 0, 0xa, 0x5), LL_PR_GOOD, "no reservation: A preempts key 5");
	ok(st.nregs == 1 && !st.reserved && ua_for(&B, LL_PR_UA_REG_PREEMPTED) &&
	   ua_for(&C, LL_PR_UA_REG_PREEMPTED), "B and C, both of key 5, go, told; no reservation made");

	/* all registrants: key 0 takes everything */
	reserved_by_a(3, LL_PR_EAAR);
	is_int(out(&B, LL_PR_PREEMPT, LL_PR_EAAR, 0xb, 0xc), LL_PR_GOOD, "EAAR: B preempts C's key");
	ok(st.reserved && st.type == LL_PR_EAAR && !ll_pr_find(&st, &C) && ll_pr_find(&st, &A),
	   "C goes; the reservation stays all registrants'");
	is_int(out(&B, LL_PR_PREEMPT, LL_PR_WERO, 0xb, 0), LL_PR_GOOD, "EAAR: B preempts key 0, as WERO");
	ok(st.nregs == 1 && ll_pr_is_holder(&st, &B) && st.type == LL_PR_WERO,
	   "everyone else goes; B holds a WERO");
	ok(ua_for(&A, LL_PR_UA_REG_PREEMPTED), "A told REGISTRATIONS PREEMPTED");
}

static void test_register_and_move(void)
{
	uint8_t cdb[10] = { 0x5f, LL_PR_REGISTER_AND_MOVE, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t p[24 + 64] = { 0 };
	size_t tl = put_tid(p + 24, "iqn.2026-11.org.lunlink:b,i,0x400000000001");

	be64(p, 0xa);
	be64(p + 8, 0xb);
	p[19] = 1;	/* relative target port 1 */
	p[23] = (uint8_t)tl;
	cdb[8] = (uint8_t)(24 + tl);

	fresh();
	out(&A, LL_PR_REGISTER, 0, 0, 0xa);
	ll_pr_out(&st, &A, cdb, 10, p, 24 + tl, &res);
	is_int(res.status, LL_PR_CHECK_CONDITION, "REGISTER AND MOVE without a reservation");
	out(&A, LL_PR_RESERVE, LL_PR_WE, 0xa, 0);
	ll_pr_out(&st, &B, cdb, 10, p, 24 + tl, &res);
	is_int(res.status, LL_PR_CONFLICT, "from an unregistered nexus: CONFLICT");
	p[17] = 0x02;	/* UNREG */
	ll_pr_out(&st, &A, cdb, 10, p, 24 + tl, &res);
	is_int(res.status, LL_PR_GOOD, "A moves its reservation to B, unregistering");
	ok(ll_pr_is_holder(&st, &B) && ll_pr_find(&st, &B)->key == 0xb && !ll_pr_find(&st, &A),
	   "B holds it, registered with key b; A is gone");
	p[19] = 9;
	be64(p, 0xb);
	be64(p + 8, 0xc);
	ll_pr_out(&st, &B, cdb, 10, p, 24 + tl, &res);
	is_int(res.status, LL_PR_CHECK_CONDITION, "to itself, on an unknown port");
	is_int(res.asc, 0x2600, "INVALID FIELD IN PARAMETER LIST");
	p[24] = 0x05;	/* format 00b */
	p[19] = 2;
	ll_pr_out(&st, &B, cdb, 10, p, 24 + tl, &res);
	is_int(res.asc, 0x2600, "a TransportID without ISID: INVALID FIELD IN PARAMETER LIST");
	p[24] = 0x45;
	p[23] = 200;	/* runs past the list */
	ll_pr_out(&st, &B, cdb, 10, p, 24 + tl, &res);
	is_int(res.asc, 0x1a00, "a TransportID length past the list: PARAMETER LIST LENGTH ERROR");
}

static void test_spec_i_pt(void)
{
	uint8_t cdb[10] = { 0x5f, LL_PR_REGISTER, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t p[28 + 128] = { 0 };
	const char *ids[2] = { "iqn.2026-11.org.lunlink:b,i,0x400000000001",
			       "IQN.2026-11.org.lunlink:c,I,0X400000000001" };
	size_t off = 28;

	for (int i = 0; i < 2; i++)
		off += put_tid(p + off, ids[i]);
	be64(p + 8, 0x77);
	p[20] = 0x08;
	p[27] = (uint8_t)(off - 28);
	cdb[8] = (uint8_t)off;

	fresh();
	ll_pr_out(&st, &A, cdb, 10, p, off, &res);
	is_int(res.status, LL_PR_GOOD, "REGISTER with SPEC_I_PT and two TransportIDs");
	ok(st.nregs == 3 && ll_pr_find(&st, &B) && ll_pr_find(&st, &C) &&
	   ll_pr_find(&st, &C)->key == 0x77, "A, B and C registered with key 77 (C's id read case-blind)");
	ll_pr_out(&st, &A, cdb, 10, p, off, &res);
	is_int(res.status, LL_PR_CONFLICT, "A again (registered, key 0 given): CONFLICT");
	fresh();
	out(&B, LL_PR_REGISTER, 0, 0, 0xb);
	ll_pr_out(&st, &A, cdb, 10, p, off, &res);
	ok(res.status == LL_PR_CHECK_CONDITION && res.asc == 0x2600 && st.nregs == 1,
	   "a listed nexus already registered: INVALID FIELD IN PARAMETER LIST, nothing registered");
	fresh();
	p[27] += 4;
	ll_pr_out(&st, &A, cdb, 10, p, off, &res);
	is_int(res.asc, 0x1a00, "a TransportID data length that is not the list's: LENGTH ERROR");
	p[27] -= 4;
	p[28] = 0x41;	/* protocol 1: Fibre Channel */
	ll_pr_out(&st, &A, cdb, 10, p, off, &res);
	is_int(res.asc, 0x2600, "another protocol's TransportID: INVALID FIELD IN PARAMETER LIST");
	cdb[1] = LL_PR_REGISTER_AND_IGNORE;
	p[28] = 0x45;
	ll_pr_out(&st, &A, cdb, 10, p, off, &res);
	is_int(res.asc, 0x2600, "SPEC_I_PT with REGISTER AND IGNORE: INVALID FIELD IN PARAMETER LIST");
}

static void test_bounds(void)
{
	uint8_t cdb[10] = { 0x5f, LL_PR_REGISTER, 0, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };

	fresh();
	ll_pr_out(&st, &A, cdb, 10, p, 20, &res);
	is_int(res.asc, 0x1a00, "a list shorter than the CDB says: PARAMETER LIST LENGTH ERROR");
	cdb[8] = 23;
	ll_pr_out(&st, &A, cdb, 10, p, 24, &res);
	is_int(res.asc, 0x1a00, "a list of 23 bytes: PARAMETER LIST LENGTH ERROR");
	cdb[8] = 24;
	cdb[1] = 8;
	ll_pr_out(&st, &A, cdb, 10, p, 24, &res);
	is_int(res.asc, 0x2400, "service action 8: INVALID FIELD IN CDB");
	ll_pr_out(&st, &A, cdb, 6, p, 24, &res);
	is_int(res.asc, 0x2400, "a 6-byte CDB: INVALID FIELD IN CDB");
}

static void test_conflict_table(void)
{
	/* type, then for the holder/registered/unregistered nexus: does a
	 * read (READ(10)) / a write (WRITE(10)) conflict */
	static const struct { int type; int reg_r, reg_w, un_r, un_w; } c[] = {
		{ LL_PR_WE,   0, 1, 0, 1 },
		{ LL_PR_EA,   1, 1, 1, 1 },
		{ LL_PR_WERO, 0, 0, 0, 1 },
		{ LL_PR_EARO, 0, 0, 1, 1 },
		{ LL_PR_WEAR, 0, 0, 0, 1 },
		{ LL_PR_EAAR, 0, 0, 1, 1 },
	};
	/* never conflict: TEST UNIT READY, INQUIRY, REPORT LUNS, READ
	 * CAPACITY(10), PR IN, PR OUT, REQUEST SENSE, LOG SENSE */
	static const uint8_t allowed[] = { 0x00, 0x12, 0xa0, 0x25, 0x5e, 0x5f, 0x03, 0x4d };
	uint8_t rc16[16] = { 0x9e, 0x10 }, lbas[16] = { 0x9e, 0x12 };
	uint8_t start[6] = { 0x1b, 0, 0, 0, 0x01 }, stop[6] = { 0x1b, 0, 0, 0, 0x00 };

	for (unsigned int i = 0; i < 6; i++) {
		reserved_by_a(2, c[i].type);
		ok(!conflicts(&A, 0x28) && !conflicts(&A, 0x2a), "%s: the holder reads and writes",
		   ll_pr_type_name((uint8_t)c[i].type));
		ok(conflicts(&B, 0x28) == c[i].reg_r && conflicts(&B, 0x2a) == c[i].reg_w,
		   "%s: a registrant reads %s, writes %s", ll_pr_type_name((uint8_t)c[i].type),
		   c[i].reg_r ? "no" : "yes", c[i].reg_w ? "no" : "yes");
		ok(conflicts(&C, 0x28) == c[i].un_r && conflicts(&C, 0x2a) == c[i].un_w &&
		   conflicts(&C, 0x88) == c[i].un_r && conflicts(&C, 0x8a) == c[i].un_w &&
		   conflicts(&C, 0x2f) == c[i].un_r && conflicts(&C, 0x42) == c[i].un_w &&
		   conflicts(&C, 0x93) == c[i].un_w && conflicts(&C, 0x89) == c[i].un_w,
		   "%s: another reads %s, writes %s (READ/WRITE 10 and 16, VERIFY, UNMAP, "
		   "WRITE SAME(16), COMPARE AND WRITE)", ll_pr_type_name((uint8_t)c[i].type),
		   c[i].un_r ? "no" : "yes", c[i].un_w ? "no" : "yes");
		int any = 0;
		for (unsigned int k = 0; k < sizeof(allowed); k++)
			any |= conflicts(&C, allowed[k]);
		ok(!any && !ll_pr_conflicts(&st, &C, rc16, 16),
		   "%s: TEST UNIT READY, INQUIRY, REPORT LUNS, READ CAPACITY, PR IN/OUT never conflict",
		   ll_pr_type_name((uint8_t)c[i].type));
		is_int(ll_pr_conflicts(&st, &C, lbas, 16), c[i].un_r,
		       "%s: GET LBA STATUS is a read", ll_pr_type_name((uint8_t)c[i].type));
		ok(!ll_pr_conflicts(&st, &C, start, 6) &&
		   ll_pr_conflicts(&st, &C, stop, 6) == c[i].un_w,
		   "%s: START STOP UNIT starting is allowed, stopping is a write",
		   ll_pr_type_name((uint8_t)c[i].type));
		ok(conflicts(&C, 0x1a) == c[i].un_w && conflicts(&C, 0x15) == c[i].un_w &&
		   conflicts(&C, 0x35) == c[i].un_w,
		   "%s: MODE SENSE, MODE SELECT, SYNCHRONIZE CACHE count as writes",
		   ll_pr_type_name((uint8_t)c[i].type));
	}
	fresh();
	ok(!conflicts(&C, 0x2a), "no reservation: nothing conflicts");
	is_int(ll_pr_spc2_conflicts(&st, &C), 0, "no registration: RESERVE(6) is SPC-2's");
	out(&A, LL_PR_REGISTER, 0, 0, 0xa);
	is_int(ll_pr_spc2_conflicts(&st, &C), 1, "a registration: RESERVE(6) conflicts");
	out(&A, LL_PR_RESERVE, LL_PR_WE, 0xa, 0);
	is_int(ll_pr_spc2_conflicts(&st, &A), 2, "the holder's completes GOOD without effect");
}

static void test_pr_in(void)
{
	uint8_t b[512];
	long n;

	fresh();
	n = in(LL_PR_READ_KEYS, b, sizeof(b));
	ok(n == 8 && get32(b) == 0 && get32(b + 4) == 0, "READ KEYS, empty: generation 0, no keys");
	out(&A, LL_PR_REGISTER, 0, 0, 0xa);
	out(&B, LL_PR_REGISTER, 0, 0, 0xb);
	n = in(LL_PR_READ_KEYS, b, sizeof(b));
	ok(n == 24 && get32(b) == 2 && get32(b + 4) == 16 && get64(b + 8) == 0xa &&
	   get64(b + 16) == 0xb, "READ KEYS: generation 2, keys a and b");
	n = in(LL_PR_READ_KEYS, b, 12);
	is_int(n, 24, "a short buffer: the full length is still told");
	n = in(LL_PR_READ_RESERVATION, b, sizeof(b));
	ok(n == 8 && get32(b + 4) == 0, "READ RESERVATION, none");
	out(&B, LL_PR_RESERVE, LL_PR_WERO, 0xb, 0);
	n = in(LL_PR_READ_RESERVATION, b, sizeof(b));
	ok(n == 24 && get32(b + 4) == 16 && get64(b + 8) == 0xb && b[21] == LL_PR_WERO,
	   "READ RESERVATION: B's key, WERO");
	n = in(LL_PR_REPORT_CAPABILITIES, b, sizeof(b));
	ok(n == 8 && b[1] == 8 && (b[2] & 0x1d) == 0x1d && b[4] == 0xea && b[5] == 1,
	   "REPORT CAPABILITIES: CRH, SIP_C, ATP_C, PTPL_C; all six types");
	n = in(LL_PR_READ_FULL_STATUS, b, sizeof(b));
	ok(n > 8 && get32(b + 4) == (uint32_t)n - 8, "READ FULL STATUS: its length");
	ok(get64(b + 8) == 0xa && b[8 + 12] == 0 && b[8 + 19] == 1,
	   "first descriptor: A's key, not the holder, port 1");
	uint32_t tl = get32(b + 8 + 20);
	ok(b[8 + 24] == 0x45 && !strcmp((char *)b + 8 + 28, A.id) && tl % 4 == 0,
	   "its TransportID: iSCSI, format 01b, A's name and ISID");
	uint8_t *d2 = b + 8 + 24 + tl;
	ok(get64(d2) == 0xb && d2[12] == 1 && d2[13] == LL_PR_WERO && !strcmp((char *)d2 + 28, B.id),
	   "second: B, the holder, WERO");
	uint8_t cdb[10] = { 0x5e, 4 };
	is_int(ll_pr_in(&st, &A, cdb, 10, b, sizeof(b)), -1, "service action 4 does not exist");
}

static void test_text(void)
{
	char text[LL_PR_TEXT_MAX], why[256];
	struct ll_pr_state back;
	uint16_t port = 1;
	long n;

	fresh();
	out_flags(&A, LL_PR_REGISTER, 0, 0, 0xa, 0x01);
	out_flags(&B, LL_PR_REGISTER, 0, 0, 0xffffffffffffffffULL, 0x05);
	out(&A, LL_PR_RESERVE, LL_PR_WERO, 0xa, 0);
	n = ll_pr_format(&st, text, sizeof(text));
	ok(n > 0, "the state as text");
	diag("%s", text);
	ll_pr_init(&back, &port, 1, 1);
	is_int(ll_pr_parse(&back, text, (size_t)n, why, sizeof(why)), 0, "read back");
	ok(back.generation == st.generation && back.nregs == st.nregs && back.reserved &&
	   back.type == LL_PR_WERO && back.aptpl && !memcmp(back.regs, st.regs, sizeof(st.regs[0]) * st.nregs) &&
	   !strcmp(back.holder.id, A.id), "the same state");
	ok(back.nports == 1 && back.ports[0] == 1, "the ports are the reader's");
	fresh();
	out(&A, LL_PR_REGISTER, 0, 0, 0xa);
	out(&A, LL_PR_RESERVE, LL_PR_EAAR, 0xa, 0);
	n = ll_pr_format(&st, text, sizeof(text));
	ok(!ll_pr_parse(&back, text, (size_t)n, why, sizeof(why)) && back.reserved &&
	   back.type == LL_PR_EAAR, "an all-registrants reservation round trips");
	is_int(ll_pr_format(&st, text, 20), -1, "a buffer too small: -1");

	static const struct { const char *text, *why; } bad[] = {
		{ "", "incomplete" },
		{ "lunlink-pr 2\n", "line 1: not 'lunlink-pr 1'" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1", "line 3: no newline" },
		{ "lunlink-pr 1\ngeneration x\naptpl 1\n", "line 2: not a valid line" },
		{ "lunlink-pr 1\ngeneration 4294967296\naptpl 1\n", "line 2" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 2\n", "line 3" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1\nreg 000000000000000a 1 0 iqn.x\n", "line 4" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1\nreg 0000000000000000 1 0 iqn.x,i,0x400000000001\n", "line 4" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1\nreg 000000000000000a 1 0 IQN.x,i,0x400000000001\n", "line 4" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1\nreg 000000000000000a 1 0 iqn.x,i,0x400000000001\n"
		  "reg 000000000000000b 1 0 iqn.x,i,0x400000000001\n", "registered twice" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1\nreservation 5 0 1 iqn.x,i,0x400000000001\n",
		  "the holder is not registered" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1\nreg 000000000000000a 1 0 iqn.x,i,0x400000000001\n"
		  "reservation 4 0 1 iqn.x,i,0x400000000001\n", "line 5" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1\nreservation 7 0 all\n", "line 4" },
		{ "lunlink-pr 1\ngeneration 1\ngeneration 2\naptpl 1\n", "line 3" },
		{ "lunlink-pr 1\ngeneration 1\naptpl 1\nreg 000000000000000a 1 0 iqn.x,i,0x400000000001 extra more\n", "too many" },
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		back.generation = 99;
		why[0] = '\0';
		ok(ll_pr_parse(&back, bad[i].text, strlen(bad[i].text), why, sizeof(why)) == -1 &&
		   back.generation == 99, "bad text %u refused, the state untouched", i);
		like(why, bad[i].why, "bad text %u: says '%s'", i, bad[i].why);
	}
	ok(ll_pr_parse(&back, "lunlink-pr 1\0\n", 14, why, sizeof(why)) == -1, "a NUL byte is refused");
}

/* ll_pr_checked: the commands a reservation can refuse (a pr=cluster LUN
 * without a valid state refuses them), and those every type allows */
static void test_checked(void)
{
	static const uint8_t read10[10] = { 0x28 }, write10[10] = { 0x2a }, tur[6] = { 0x00 },
			     inquiry[6] = { 0x12 }, report_luns[12] = { 0xa0 },
			     pr_in[10] = { 0x5e }, pr_out[10] = { 0x5f }, sync[10] = { 0x35 },
			     rc16[16] = { 0x9e, 0x10 }, lba_status[16] = { 0x9e, 0x12 };

	ok(ll_pr_checked(read10, 10), "checked: READ(10)");
	ok(ll_pr_checked(write10, 10), "checked: WRITE(10)");
	ok(ll_pr_checked(sync, 10), "checked: SYNCHRONIZE CACHE");
	ok(ll_pr_checked(lba_status, 16), "checked: GET LBA STATUS");
	ok(!ll_pr_checked(tur, 6), "not checked: TEST UNIT READY");
	ok(!ll_pr_checked(inquiry, 6), "not checked: INQUIRY");
	ok(!ll_pr_checked(report_luns, 12), "not checked: REPORT LUNS");
	ok(!ll_pr_checked(rc16, 16), "not checked: READ CAPACITY(16)");
	ok(!ll_pr_checked(pr_in, 10) && !ll_pr_checked(pr_out, 10),
	   "not checked: PERSISTENT RESERVE IN and OUT");
	ok(!ll_pr_checked(read10, 0), "not checked: no CDB");
}

int main(void)
{
	nexus(&A, "iqn.2026-11.org.lunlink:a", 1, 1);
	nexus(&A2, "iqn.2026-11.org.lunlink:a", 1, 2);
	nexus(&B, "iqn.2026-11.org.lunlink:b", 1, 1);
	nexus(&C, "iqn.2026-11.org.lunlink:c", 1, 1);
	test_identity();
	test_register();
	test_register_full();
	test_reserve_release();
	test_unregister_holder();
	test_clear();
	test_preempt();
	test_register_and_move();
	test_spec_i_pt();
	test_bounds();
	test_conflict_table();
	test_pr_in();
	test_text();
	test_checked();
	return done_testing();
}
