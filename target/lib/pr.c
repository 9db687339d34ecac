// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr.c: the SPC-4 persistent reservation engine (include/lunlink/pr.h):
 * the state and PERSISTENT RESERVE OUT applied to it.  PERSISTENT RESERVE
 * IN is in pr_in.c, the conflict table in pr_conflict.c, the text form in
 * pr_text.c.
 *
 * Section numbers are SPC-4 r37's.  Every byte from outside (the CDB, the
 * parameter list, TransportIDs in it, the text form read back from a
 * file) is read through bounds checks: a short or inconsistent input is an
 * error with its sense, never a read past its end.
 */
#include "pr_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sense keys and additional sense codes used here */
#define KEY_ILLEGAL_REQUEST	0x05
#define ASC_PARAM_LIST_LENGTH	0x1a00	/* PARAMETER LIST LENGTH ERROR */
#define ASC_INVALID_CDB		0x2400	/* INVALID FIELD IN CDB */
#define ASC_INVALID_PARAM	0x2600	/* INVALID FIELD IN PARAMETER LIST */
#define ASC_INVALID_RELEASE	0x2604	/* INVALID RELEASE OF PERSISTENT RESERVATION */
#define ASC_NO_REG_RESOURCES	0x5504	/* INSUFFICIENT REGISTRATION RESOURCES */

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *ll_pr_type_name(uint8_t type)
{
	switch (type) {
	case LL_PR_WE:		return "WRITE EXCLUSIVE";
	case LL_PR_EA:		return "EXCLUSIVE ACCESS";
	case LL_PR_WERO:	return "WRITE EXCLUSIVE - REGISTRANTS ONLY";
	case LL_PR_EARO:	return "EXCLUSIVE ACCESS - REGISTRANTS ONLY";
	case LL_PR_WEAR:	return "WRITE EXCLUSIVE - ALL REGISTRANTS";
	case LL_PR_EAAR:	return "EXCLUSIVE ACCESS - ALL REGISTRANTS";
	}
	return "?";
}

void ll_pr_init(struct ll_pr_state *st, const uint16_t *ports, unsigned int nports,
		int ptpl_capable)
{
	memset(st, 0, sizeof(*st));
	if (nports > LL_PR_MAX_PORTS)
		nports = LL_PR_MAX_PORTS;
	for (unsigned int i = 0; i < nports; i++)
		st->ports[i] = ports[i];
	st->nports = nports;
	st->ptpl_capable = ptpl_capable;
}

int ll_pr_nexus_set(struct ll_pr_nexus *n, const char *iscsi_name, const uint8_t isid[6],
		    uint16_t rtpi)
{
	size_t len = strlen(iscsi_name), i;
	char *p;

	if (!len || len > LL_PR_ISCSI_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if (!name_byte_ok((unsigned char)iscsi_name[i]))
			return -1;
		n->id[i] = (char)tolower((unsigned char)iscsi_name[i]);
	}
	p = n->id + len;
	p += sprintf(p, ",i,0x");
	for (i = 0; i < 6; i++)
		p += sprintf(p, "%02x", isid[i]);
	n->rtpi = rtpi;
	return 0;
}

int ll_pr_index(const struct ll_pr_state *st, const struct ll_pr_nexus *n)
{
	for (unsigned int i = 0; i < st->nregs; i++)
		if (same_nexus(&st->regs[i].nexus, n))
			return (int)i;
	return -1;
}

const struct ll_pr_reg *ll_pr_find(const struct ll_pr_state *st, const struct ll_pr_nexus *n)
{
	int i = ll_pr_index(st, n);

	return i < 0 ? NULL : &st->regs[i];
}

int ll_pr_is_holder(const struct ll_pr_state *st, const struct ll_pr_nexus *n)
{
	if (!st->reserved)
		return 0;
	if (all_registrants(st->type))
		return ll_pr_index(st, n) >= 0;
	return same_nexus(&st->holder, n);
}

/* ---- PERSISTENT RESERVE OUT ---------------------------------------------- */

static void fail(struct ll_pr_result *r, uint8_t status, uint16_t asc)
{
	r->status = status;
	r->sense_key = status == LL_PR_CHECK_CONDITION ? KEY_ILLEGAL_REQUEST : 0;
	r->asc = status == LL_PR_CHECK_CONDITION ? asc : 0;
}

static void conflict(struct ll_pr_result *r)
{
	fail(r, LL_PR_CONFLICT, 0);
}

/* The sender is registered, under the reservation key it gave: what every
 * service action but REGISTER asks first (else RESERVATION CONFLICT). */
static int key_holds(const struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t rkey)
{
	const struct ll_pr_reg *g = ll_pr_find(st, n);

	return g && g->key == rkey;
}

static void add_ua(struct ll_pr_result *r, const struct ll_pr_nexus *n, uint16_t asc)
{
	if (r->nua < LL_PR_MAX_REGS)
		r->ua[r->nua++] = (struct ll_pr_ua){ .nexus = *n, .asc = asc };
}

static void add_abort(struct ll_pr_result *r, const struct ll_pr_nexus *n)
{
	for (unsigned int i = 0; i < r->nabort; i++)
		if (same_nexus(&r->abort[i], n))
			return;
	if (r->nabort < LL_PR_MAX_REGS)
		r->abort[r->nabort++] = *n;
}

/* drop registration i, keeping the others in order */
static void drop_reg(struct ll_pr_state *st, unsigned int i)
{
	memmove(&st->regs[i], &st->regs[i + 1], (st->nregs - i - 1) * sizeof(st->regs[0]));
	st->nregs--;
}

int ll_pr_add_reg(struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t key,
		  int all_tg_pt)
{
	if (st->nregs >= LL_PR_MAX_REGS)
		return -1;
	st->regs[st->nregs++] = (struct ll_pr_reg){ .nexus = *n, .key = key,
						    .all_tg_pt = all_tg_pt };
	return 0;
}

/*
 * A registration goes (unregistered by its own nexus, 5.12.11.2.3): if it
 * held the reservation, that is released; of the registrants-only types,
 * the other registrants are told RESERVATIONS RELEASED.  For the
 * all-registrants types the reservation goes only with the last
 * registration, and then there is nobody to tell.
 */
static void unregister(struct ll_pr_state *st, unsigned int i, struct ll_pr_result *r)
{
	struct ll_pr_nexus gone = st->regs[i].nexus;

	drop_reg(st, i);
	if (!st->reserved)
		return;
	if (all_registrants(st->type)) {
		if (!st->nregs)
			st->reserved = 0;
		return;
	}
	if (!same_nexus(&st->holder, &gone))
		return;
	st->reserved = 0;
	if (st->type == LL_PR_WERO || st->type == LL_PR_EARO)
		for (unsigned int k = 0; k < st->nregs; k++)
			add_ua(r, &st->regs[k].nexus, LL_PR_UA_RES_RELEASED);
}

/*
 * One TransportID of an iSCSI initiator port (7.5.4.6, format 01b) at p,
 * at most len bytes: its text form into id and its length into *used;
 * -1 if it is not one (another protocol, format 00b, a length that runs
 * past len or is not a multiple of 4, a name or ISID that is not one).
 */
static int parse_transport_id(const uint8_t *p, size_t len, char *id, size_t *used)
{
	size_t add, total, nl, i;
	const uint8_t *name, *end, *sep;

	if (len < 4)
		return -1;
	if ((p[0] & 0x0f) != 0x5 || (p[0] >> 6) != 0x1)	/* iSCSI, with ISID */
		return -1;
	add = (size_t)p[2] << 8 | p[3];
	total = 4 + add;
	if (add < 20 || add % 4 || total > len)
		return -1;
	name = p + 4;
	end = memchr(name, '\0', add);
	if (!end)
		return -1;
	/* "name,i,0x" then 12 hex digits, then the NUL */
	if (end - name < 5 + 12 + 1)
		return -1;
	sep = end - 12 - 5;
	if (memcmp(sep, ",i,0x", 5) && memcmp(sep, ",I,0X", 5) &&
	    memcmp(sep, ",i,0X", 5) && memcmp(sep, ",I,0x", 5))
		return -1;
	nl = (size_t)(sep - name);
	if (!nl || nl > LL_PR_ISCSI_NAME_MAX)
		return -1;
	for (i = 0; i < nl; i++) {
		if (!name_byte_ok(name[i]))
			return -1;
		id[i] = (char)tolower(name[i]);
	}
	memcpy(id + nl, ",i,0x", 5);
	for (i = 0; i < 12; i++) {
		if (!isxdigit(sep[5 + i]))
			return -1;
		id[nl + 5 + i] = (char)tolower(sep[5 + i]);
	}
	id[nl + 5 + 12] = '\0';
	*used = total;
	return 0;
}

static int port_known(const struct ll_pr_state *st, uint16_t rtpi)
{
	for (unsigned int i = 0; i < st->nports; i++)
		if (st->ports[i] == rtpi)
			return 1;
	return 0;
}

/*
 * Register n with key: on its own target port, or with all_tg_pt on every
 * port the LUN has (as many I_T nexuses, 5.12.7).  Already registered
 * nexuses keep their registration and take the key.
 */
static int register_nexus(struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t key,
			  int all_tg_pt)
{
	struct ll_pr_nexus each = *n;
	unsigned int i;
	int k;

	if (!all_tg_pt || !st->nports) {
		k = ll_pr_index(st, n);
		if (k >= 0) {
			st->regs[k].key = key;
			return 0;
		}
		return ll_pr_add_reg(st, n, key, 0);
	}
	for (i = 0; i < st->nports; i++) {
		each.rtpi = st->ports[i];
		k = ll_pr_index(st, &each);
		if (k >= 0)
			st->regs[k].key = key;
		else if (ll_pr_add_reg(st, &each, key, 1))
			return -1;
	}
	/* the nexus itself, on a port the list lacks */
	if (ll_pr_index(st, n) < 0 && ll_pr_add_reg(st, n, key, 1))
		return -1;
	return 0;
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (5.12.7, 6.16.3) */
static void do_register(struct ll_pr_state *st, const struct ll_pr_nexus *n, int ignore,
			uint64_t rkey, uint64_t sakey, int spec_i_pt, int all_tg_pt, int aptpl,
			const uint8_t *param, size_t plen, struct ll_pr_result *r)
{
	int i = ll_pr_index(st, n);

	if (i < 0) {
		struct ll_pr_nexus listed[LL_PR_MAX_REGS];
		unsigned int nlisted = 0;

		if (!ignore && rkey)
			return conflict(r);
		if (spec_i_pt) {
			/* the TransportIDs after the 28-byte header: every
			 * one must parse, none may be registered already */
			size_t off = 28, used;
			uint32_t tlen = be32(param + 24);

			if ((size_t)tlen != plen - 28)
				return fail(r, LL_PR_CHECK_CONDITION, ASC_PARAM_LIST_LENGTH);
			while (off < plen) {
				struct ll_pr_nexus t = { .rtpi = n->rtpi };

				if (parse_transport_id(param + off, plen - off, t.id, &used))
					return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
				off += used;
				if (same_nexus(&t, n))
					continue;	/* the sender is registered anyway */
				if (ll_pr_index(st, &t) >= 0)
					return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
				if (nlisted >= LL_PR_MAX_REGS)
					return fail(r, LL_PR_CHECK_CONDITION, ASC_NO_REG_RESOURCES);
				listed[nlisted++] = t;
			}
		}
		if (!sakey)
			return;		/* registering key 0: nothing to do */
		if (register_nexus(st, n, sakey, all_tg_pt))
			return fail(r, LL_PR_CHECK_CONDITION, ASC_NO_REG_RESOURCES);
		for (unsigned int k = 0; k < nlisted; k++)
			if (register_nexus(st, &listed[k], sakey, all_tg_pt))
				return fail(r, LL_PR_CHECK_CONDITION, ASC_NO_REG_RESOURCES);
	} else {
		if (!ignore && rkey != st->regs[i].key)
			return conflict(r);
		if (spec_i_pt)
			return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
		if (!sakey) {
			unregister(st, (unsigned int)i, r);
		} else if (all_tg_pt) {
			/* every registration of this initiator port */
			for (unsigned int k = 0; k < st->nregs; k++)
				if (!strcmp(st->regs[k].nexus.id, n->id))
					st->regs[k].key = sakey;
		} else {
			st->regs[i].key = sakey;
		}
	}
	st->aptpl = aptpl;
	st->generation++;
	r->changed = 1;
}

static void do_reserve(struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t rkey,
		       uint8_t scope, uint8_t type, struct ll_pr_result *r)
{
	if (!key_holds(st, n, rkey))
		return conflict(r);
	if (scope || !type_valid(type))
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_CDB);
	if (st->reserved) {
		/* the holder asking again for the same: GOOD, nothing
		 * changes; anything else conflicts (5.12.9) */
		if (ll_pr_is_holder(st, n) && st->type == type && st->scope == scope)
			return;
		return conflict(r);
	}
	st->reserved = 1;
	st->type = type;
	st->scope = scope;
	st->holder = *n;
	r->changed = 1;
}

/* RELEASE (5.12.11.2.2) */
static void do_release(struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t rkey,
		       uint8_t scope, uint8_t type, struct ll_pr_result *r)
{
	if (!key_holds(st, n, rkey))
		return conflict(r);
	if (!st->reserved || !ll_pr_is_holder(st, n))
		return;		/* nothing to release: GOOD */
	if (st->type != type || st->scope != scope)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_RELEASE);
	st->reserved = 0;
	r->changed = 1;
	if (type == LL_PR_WE || type == LL_PR_EA)
		return;
	for (unsigned int k = 0; k < st->nregs; k++)
		if (!same_nexus(&st->regs[k].nexus, n))
			add_ua(r, &st->regs[k].nexus, LL_PR_UA_RES_RELEASED);
}

/* CLEAR (5.12.11.2.6) */
static void do_clear(struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t rkey,
		     struct ll_pr_result *r)
{
	if (!key_holds(st, n, rkey))
		return conflict(r);
	for (unsigned int k = 0; k < st->nregs; k++)
		if (!same_nexus(&st->regs[k].nexus, n))
			add_ua(r, &st->regs[k].nexus, LL_PR_UA_RES_PREEMPTED);
	st->nregs = 0;
	st->reserved = 0;
	st->generation++;
	r->changed = 1;
}

/*
 * Remove every registration with key but the sender's, each told
 * REGISTRATIONS PREEMPTED (and, for PREEMPT AND ABORT, its commands
 * aborted); key 0 with all set: every registration but the sender's.
 * Returns how many went.
 */
static unsigned int preempt_regs(struct ll_pr_state *st, const struct ll_pr_nexus *n,
				 uint64_t key, int all, int abort, struct ll_pr_result *r)
{
	unsigned int k = 0, gone = 0;

	while (k < st->nregs) {
		struct ll_pr_reg *g = &st->regs[k];

		if ((all || g->key == key) && !same_nexus(&g->nexus, n)) {
			add_ua(r, &g->nexus, LL_PR_UA_REG_PREEMPTED);
			if (abort)
				add_abort(r, &g->nexus);
			drop_reg(st, k);
			gone++;
		} else {
			k++;
		}
	}
	return gone;
}

/* PREEMPT and PREEMPT AND ABORT (5.12.11.2.4, 5.12.11.2.5) */
static void do_preempt(struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t rkey,
		       uint64_t sakey, uint8_t scope, uint8_t type, int abort,
		       struct ll_pr_result *r)
{
	uint8_t old_type = st->type, old_scope = st->scope;
	uint64_t holder_key = 0;

	if (!key_holds(st, n, rkey))
		return conflict(r);

	if (st->reserved && all_registrants(st->type)) {
		if (sakey) {
			/* remove the registrations of that key; the
			 * reservation stays with the remaining registrants */
			if (!preempt_regs(st, n, sakey, 0, abort, r))
				return conflict(r);
			goto done;
		}
		/* key 0: everybody else goes, the sender holds a new one */
		if (scope || !type_valid(type))
			return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_CDB);
		preempt_regs(st, n, 0, 1, abort, r);
		goto reserve;
	}

	if (st->reserved) {
		int k = ll_pr_index(st, &st->holder);

		if (k >= 0)
			holder_key = st->regs[k].key;
	}
	if (!st->reserved || sakey != holder_key) {
		/* no reservation touched: remove the registrations of that
		 * key; key 0 is no key */
		if (!sakey)
			return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
		if (!preempt_regs(st, n, sakey, 0, abort, r))
			return conflict(r);
		goto done;
	}

	/* the holder's key: its reservation goes to the sender, with the
	 * type and scope of this CDB */
	if (scope || !type_valid(type))
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_CDB);
	preempt_regs(st, n, sakey, 0, abort, r);
	if (old_type != type || old_scope != scope) {
		/* the registrants that stay learn the reservation changed */
		for (unsigned int k = 0; k < st->nregs; k++)
			if (!same_nexus(&st->regs[k].nexus, n))
				add_ua(r, &st->regs[k].nexus, LL_PR_UA_RES_RELEASED);
	}
reserve:
	st->reserved = 1;
	st->type = type;
	st->scope = scope;
	st->holder = *n;
done:
	st->generation++;
	r->changed = 1;
}

/* REGISTER AND MOVE (5.12.8, 6.16.4) */
static void do_register_and_move(struct ll_pr_state *st, const struct ll_pr_nexus *n,
				 const uint8_t *param, size_t plen, struct ll_pr_result *r)
{
	uint64_t rkey = be64(param), sakey = be64(param + 8);
	int unreg = param[17] & 0x02, aptpl = param[17] & 0x01;
	uint16_t rtpi = (uint16_t)(param[18] << 8 | param[19]);
	uint32_t tlen = be32(param + 20);
	struct ll_pr_nexus dst = { .rtpi = rtpi };
	int i, d;
	size_t used;

	if (!key_holds(st, n, rkey))
		return conflict(r);
	if ((size_t)tlen > plen - 24)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_PARAM_LIST_LENGTH);
	if (parse_transport_id(param + 24, tlen, dst.id, &used))
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
	if (aptpl && !st->ptpl_capable)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
	if (!st->reserved)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_CDB);
	if (all_registrants(st->type) || !same_nexus(&st->holder, n))
		return conflict(r);
	if (!sakey || same_nexus(&dst, n) || !port_known(st, rtpi))
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
	d = ll_pr_index(st, &dst);
	if (d < 0 && ll_pr_add_reg(st, &dst, sakey, 0))
		return fail(r, LL_PR_CHECK_CONDITION, ASC_NO_REG_RESOURCES);
	st->holder = dst;
	if (unreg) {
		i = ll_pr_index(st, n);
		drop_reg(st, (unsigned int)i);
	}
	st->aptpl = aptpl;
	st->generation++;
	r->changed = 1;
}

static void apply(struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
		  const uint8_t *cdb, size_t cdb_len, const uint8_t *param, size_t plen,
		  struct ll_pr_result *r)
{
	uint8_t sa, scope, type;
	uint32_t want;
	int was_aptpl = st->aptpl;
	uint64_t rkey, sakey;
	int spec_i_pt, all_tg_pt, aptpl;

	memset(r, 0, sizeof(*r));
	r->status = LL_PR_GOOD;
	if (cdb_len < 10)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_CDB);
	sa = cdb[1] & 0x1f;
	scope = cdb[2] >> 4;
	type = cdb[2] & 0x0f;
	want = be32(cdb + 5);
	if (sa > LL_PR_REGISTER_AND_MOVE)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_CDB);
	/* the parameter list the CDB announces must all have come */
	if (want > plen || want < 24)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_PARAM_LIST_LENGTH);
	plen = want;

	if (sa == LL_PR_REGISTER_AND_MOVE) {
		do_register_and_move(st, nexus, param, plen, r);
		goto out;
	}
	rkey = be64(param);
	sakey = be64(param + 8);
	spec_i_pt = !!(param[20] & 0x08);
	all_tg_pt = !!(param[20] & 0x04);
	aptpl = param[20] & 0x01;
	if (spec_i_pt && sa != LL_PR_REGISTER)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
	if (spec_i_pt ? plen < 28 : plen != 24)
		return fail(r, LL_PR_CHECK_CONDITION, ASC_PARAM_LIST_LENGTH);

	switch ((enum ll_pr_out_sa)sa) {
	case LL_PR_REGISTER:
	case LL_PR_REGISTER_AND_IGNORE:
		if (aptpl && !st->ptpl_capable)
			return fail(r, LL_PR_CHECK_CONDITION, ASC_INVALID_PARAM);
		do_register(st, nexus, sa == LL_PR_REGISTER_AND_IGNORE, rkey, sakey, spec_i_pt,
			    all_tg_pt, aptpl, param, plen, r);
		break;
	case LL_PR_RESERVE:
		do_reserve(st, nexus, rkey, scope, type, r);
		break;
	case LL_PR_RELEASE:
		do_release(st, nexus, rkey, scope, type, r);
		break;
	case LL_PR_CLEAR:
		do_clear(st, nexus, rkey, r);
		break;
	case LL_PR_PREEMPT:
	case LL_PR_PREEMPT_AND_ABORT:
		do_preempt(st, nexus, rkey, sakey, scope, type, sa == LL_PR_PREEMPT_AND_ABORT, r);
		break;
	case LL_PR_REGISTER_AND_MOVE:
		break;
	}
out:
	if (r->status != LL_PR_GOOD) {
		r->changed = 0;
		r->nua = r->nabort = 0;
	}
	r->persist = r->changed && (was_aptpl || st->aptpl);
}

/* A service action may fail half-way (SPEC_I_PT registering several
 * nexuses): it works on a copy, kept only if it ended GOOD. */
void ll_pr_out(struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
	       const uint8_t *cdb, size_t cdb_len, const uint8_t *param, size_t plen,
	       struct ll_pr_result *r)
{
	struct ll_pr_state *work = malloc(sizeof(*work));

	if (!work) {
		memset(r, 0, sizeof(*r));
		return fail(r, LL_PR_CHECK_CONDITION, ASC_NO_REG_RESOURCES);
	}
	*work = *st;
	apply(work, nexus, cdb, cdb_len, param, plen, r);
	if (r->status == LL_PR_GOOD && r->changed)
		*st = *work;
	free(work);
}
