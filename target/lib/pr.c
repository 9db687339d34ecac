// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr.c: the SPC-4 persistent reservation engine (include/lunlink/pr.h):
 * PERSISTENT RESERVE OUT applied to a state, PERSISTENT RESERVE IN built
 * from it, the conflict table, and the state's text form.
 *
 * Section numbers are SPC-4 r37's.  Every byte from outside (the CDB, the
 * parameter list, TransportIDs in it, the text form read back from a
 * file) is read through bounds checks: a short or inconsistent input is an
 * error with its sense, never a read past its end.
 */
#include "lunlink/pr.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
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

#define LL_PR_TEXT_MAGIC	"lunlink-pr 1"

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

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int all_registrants(uint8_t type)
{
	return type == LL_PR_WEAR || type == LL_PR_EAAR;
}

static int type_valid(uint8_t type)
{
	return type == LL_PR_WE || type == LL_PR_EA || type == LL_PR_WERO ||
	       type == LL_PR_EARO || type == LL_PR_WEAR || type == LL_PR_EAAR;
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

/* a byte an iSCSI name may hold (RFC 3720 3.2.6.2, after stringprep; we
 * keep to printable ASCII without space and comma, which the TransportID
 * uses as separator) */
static int name_byte_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ',';
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

static int same_nexus(const struct ll_pr_nexus *a, const struct ll_pr_nexus *b)
{
	return a->rtpi == b->rtpi && !strcmp(a->id, b->id);
}

static int find_index(const struct ll_pr_state *st, const struct ll_pr_nexus *n)
{
	for (unsigned int i = 0; i < st->nregs; i++)
		if (same_nexus(&st->regs[i].nexus, n))
			return (int)i;
	return -1;
}

const struct ll_pr_reg *ll_pr_find(const struct ll_pr_state *st, const struct ll_pr_nexus *n)
{
	int i = find_index(st, n);

	return i < 0 ? NULL : &st->regs[i];
}

int ll_pr_is_holder(const struct ll_pr_state *st, const struct ll_pr_nexus *n)
{
	if (!st->reserved)
		return 0;
	if (all_registrants(st->type))
		return find_index(st, n) >= 0;
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

static int add_reg(struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t key,
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
		k = find_index(st, n);
		if (k >= 0) {
			st->regs[k].key = key;
			return 0;
		}
		return add_reg(st, n, key, 0);
	}
	for (i = 0; i < st->nports; i++) {
		each.rtpi = st->ports[i];
		k = find_index(st, &each);
		if (k >= 0)
			st->regs[k].key = key;
		else if (add_reg(st, &each, key, 1))
			return -1;
	}
	/* the nexus itself, on a port the list lacks */
	if (find_index(st, n) < 0 && add_reg(st, n, key, 1))
		return -1;
	return 0;
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (5.12.7, 6.16.3) */
static void do_register(struct ll_pr_state *st, const struct ll_pr_nexus *n, int ignore,
			uint64_t rkey, uint64_t sakey, int spec_i_pt, int all_tg_pt, int aptpl,
			const uint8_t *param, size_t plen, struct ll_pr_result *r)
{
	int i = find_index(st, n);

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
				if (find_index(st, &t) >= 0)
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
	int i = find_index(st, n);

	if (i < 0 || st->regs[i].key != rkey)
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
	int i = find_index(st, n);

	if (i < 0 || st->regs[i].key != rkey)
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
	int i = find_index(st, n);

	if (i < 0 || st->regs[i].key != rkey)
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
	int i = find_index(st, n);
	uint8_t old_type = st->type, old_scope = st->scope;
	uint64_t holder_key = 0;

	if (i < 0 || st->regs[i].key != rkey)
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
		int k = find_index(st, &st->holder);

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
	int i = find_index(st, n), d;
	size_t used;

	if (i < 0 || st->regs[i].key != rkey)
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
	d = find_index(st, &dst);
	if (d < 0 && add_reg(st, &dst, sakey, 0))
		return fail(r, LL_PR_CHECK_CONDITION, ASC_NO_REG_RESOURCES);
	st->holder = dst;
	if (unreg) {
		i = find_index(st, n);
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

/* ---- PERSISTENT RESERVE IN ----------------------------------------------- */

/* bytes out of the answer, written only while they fit in len */
struct out {
	uint8_t *buf;
	size_t len, pos;
};

static void emit(struct out *o, const void *p, size_t n)
{
	if (o->pos < o->len) {
		size_t k = o->len - o->pos < n ? o->len - o->pos : n;

		memcpy(o->buf + o->pos, p, k);
	}
	o->pos += n;
}

/* the TransportID of a registration, as READ FULL STATUS lists it:
 * format 01b, iSCSI; the text NUL-terminated, padded to 4 bytes */
static size_t transport_id(const struct ll_pr_nexus *n, uint8_t *t, size_t room)
{
	size_t len = strlen(n->id) + 1, total = 4 + ((len + 3) & ~(size_t)3);

	if (total < 24)
		total = 24;
	if (total > room)
		return 0;
	memset(t, 0, total);
	t[0] = 0x40 | 0x05;
	put_be16(t + 2, (uint16_t)(total - 4));
	memcpy(t + 4, n->id, len);
	return total;
}

long ll_pr_in(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
	      const uint8_t *cdb, size_t cdb_len, uint8_t *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	uint8_t h[8], d[24], t[4 + LL_PR_ID_MAX + 4];
	uint32_t add = 0;
	unsigned int i;

	(void)nexus;
	if (cdb_len < 10)
		return -1;
	switch (cdb[1] & 0x1f) {
	case LL_PR_READ_KEYS:
		put_be32(h, st->generation);
		put_be32(h + 4, 8 * st->nregs);
		emit(&o, h, 8);
		for (i = 0; i < st->nregs; i++) {
			put_be64(d, st->regs[i].key);
			emit(&o, d, 8);
		}
		break;
	case LL_PR_READ_RESERVATION:
		put_be32(h, st->generation);
		put_be32(h + 4, st->reserved ? 16 : 0);
		emit(&o, h, 8);
		if (st->reserved) {
			const struct ll_pr_reg *g = all_registrants(st->type) ? NULL :
						    ll_pr_find(st, &st->holder);

			memset(d, 0, 16);
			put_be64(d, g ? g->key : 0);	/* all registrants: 0 */
			d[13] = (uint8_t)(st->scope << 4 | st->type);
			emit(&o, d, 16);
		}
		break;
	case LL_PR_REPORT_CAPABILITIES:
		memset(d, 0, 8);
		put_be16(d, 8);
		/* CRH: RESERVE/RELEASE per 5.12.3; SIP_C, ATP_C; PTPL_C */
		d[2] = 0x10 | 0x08 | 0x04 | (st->ptpl_capable ? 0x01 : 0);
		/* TMV; ALLOW COMMANDS 001b (TEST UNIT READY through WE/EA);
		 * PTPL_A */
		d[3] = 0x80 | 0x10 | (st->aptpl ? 0x01 : 0);
		/* the type mask: WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX;
		 * EX_AC_AR */
		d[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
		d[5] = 0x01;
		emit(&o, d, 8);
		break;
	case LL_PR_READ_FULL_STATUS:
		for (i = 0; i < st->nregs; i++)
			add += 24 + (uint32_t)transport_id(&st->regs[i].nexus, t, sizeof(t));
		put_be32(h, st->generation);
		put_be32(h + 4, add);
		emit(&o, h, 8);
		for (i = 0; i < st->nregs; i++) {
			const struct ll_pr_reg *g = &st->regs[i];
			size_t tl = transport_id(&g->nexus, t, sizeof(t));
			int holder = ll_pr_is_holder(st, &g->nexus);

			memset(d, 0, 24);
			put_be64(d, g->key);
			d[12] = (uint8_t)((g->all_tg_pt ? 0x02 : 0) | (holder ? 0x01 : 0));
			if (holder)
				d[13] = (uint8_t)(st->scope << 4 | st->type);
			put_be16(d + 18, g->nexus.rtpi);
			put_be32(d + 20, (uint32_t)tl);
			emit(&o, d, 24);
			emit(&o, t, tl);
		}
		break;
	default:
		return -1;
	}
	return (long)o.pos;
}

/* ---- conflicts ------------------------------------------------------------ */

/* how a command meets a reservation it does not hold */
enum access {
	ALLOWED,	/* in every case */
	READS,		/* conflicts with the exclusive access types only */
	WRITES,		/* conflicts with every type */
};

/* SPC-4 table 65 and SBC-3 table 13, by opcode; anything not named here
 * counts as a write, the safe side */
static enum access access_of(const uint8_t *cdb, size_t len)
{
	uint8_t sa = len > 1 ? cdb[1] & 0x1f : 0;

	switch (cdb[0]) {
	case 0x00:	/* TEST UNIT READY */
	case 0x03:	/* REQUEST SENSE */
	case 0x12:	/* INQUIRY */
	case 0x25:	/* READ CAPACITY(10) */
	case 0x4d:	/* LOG SENSE */
	case 0x5e:	/* PERSISTENT RESERVE IN */
	case 0x5f:	/* PERSISTENT RESERVE OUT */
	case 0xa0:	/* REPORT LUNS */
	case 0xa3:	/* MAINTENANCE IN: REPORT TARGET PORT GROUPS, SUPPORTED OPCODES... */
	case 0xab:	/* SERVICE ACTION IN(12): READ MEDIA SERIAL NUMBER */
		return ALLOWED;
	case 0x9e:	/* SERVICE ACTION IN(16) */
		if (sa == 0x10 || sa == 0x13)	/* READ CAPACITY(16), REPORT REFERRALS */
			return ALLOWED;
		return READS;			/* GET LBA STATUS */
	case 0x1e:	/* PREVENT ALLOW MEDIUM REMOVAL: allowing is */
		return len > 4 && !(cdb[4] & 0x03) ? ALLOWED : WRITES;
	case 0x1b:	/* START STOP UNIT: starting is, with power condition 0 */
		return len > 4 && (cdb[4] & 0x01) && !(cdb[4] & 0xf0) && !(cdb[4] & 0x02) ?
		       ALLOWED : WRITES;
	case 0x08: case 0x28: case 0xa8: case 0x88:	/* READ (6) (10) (12) (16) */
	case 0x2f: case 0xaf: case 0x8f:		/* VERIFY (10) (12) (16) */
	case 0x34: case 0x90:				/* PRE-FETCH (10) (16) */
	case 0x3c:					/* READ BUFFER */
	case 0x37: case 0xb7:				/* READ DEFECT DATA */
		return READS;
	}
	return WRITES;
}

int ll_pr_conflicts(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
		    const uint8_t *cdb, size_t cdb_len)
{
	enum access a;
	int registered;

	if (!st->reserved || !cdb_len)
		return 0;
	a = access_of(cdb, cdb_len);
	if (a == ALLOWED || ll_pr_is_holder(st, nexus))
		return 0;
	registered = find_index(st, nexus) >= 0;
	switch (st->type) {
	case LL_PR_WE:
		return a == WRITES;
	case LL_PR_EA:
		return 1;
	case LL_PR_WERO:
	case LL_PR_WEAR:
		return !registered && a == WRITES;
	case LL_PR_EARO:
	case LL_PR_EAAR:
		return !registered;
	}
	return 0;
}

int ll_pr_spc2_conflicts(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus)
{
	if (!st->nregs)
		return 0;
	return ll_pr_is_holder(st, nexus) ? 2 : 1;
}

/* ---- text form ------------------------------------------------------------ */

long ll_pr_format(const struct ll_pr_state *st, char *buf, size_t len)
{
	size_t pos = 0;
	int n;

#define PUT(...) do {								\
		n = snprintf(buf + pos, len - pos, __VA_ARGS__);		\
		if (n < 0 || (size_t)n >= len - pos)				\
			return -1;						\
		pos += (size_t)n;						\
	} while (0)

	if (!len)
		return -1;
	PUT("%s\ngeneration %" PRIu32 "\naptpl %d\n", LL_PR_TEXT_MAGIC, st->generation,
	    st->aptpl ? 1 : 0);
	for (unsigned int i = 0; i < st->nregs; i++)
		PUT("reg %016" PRIx64 " %u %d %s\n", st->regs[i].key,
		    (unsigned int)st->regs[i].nexus.rtpi, st->regs[i].all_tg_pt ? 1 : 0,
		    st->regs[i].nexus.id);
	if (st->reserved) {
		if (all_registrants(st->type))
			PUT("reservation %u %u all\n", st->type, st->scope);
		else
			PUT("reservation %u %u %u %s\n", st->type, st->scope,
			    (unsigned int)st->holder.rtpi, st->holder.id);
	}
#undef PUT
	return (long)pos;
}

/* an unsigned number in base, all of s, at most max */
static int number(const char *s, int base, uint64_t max, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	if (errno || *end || *v > max)
		return -1;
	return 0;
}

/* a nexus id as the text form writes it: what ll_pr_nexus_set makes */
static int id_valid(const char *s)
{
	size_t len = strlen(s), nl, i;

	if (len < 1 + 5 + 12 || len >= LL_PR_ID_MAX)
		return 0;
	nl = len - 5 - 12;
	if (strncmp(s + nl, ",i,0x", 5))
		return 0;
	for (i = 0; i < nl; i++)
		if (!name_byte_ok((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	for (i = nl + 5; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

int ll_pr_parse(struct ll_pr_state *st, const char *text, size_t len, char *why, size_t why_len)
{
	struct ll_pr_state s;
	char line[LL_PR_ID_MAX + 96], *f[6], *save;
	size_t pos = 0;
	unsigned int lineno = 0, nf;
	int seen_magic = 0, seen_gen = 0, seen_aptpl = 0;
	uint64_t v;

	ll_pr_init(&s, st->ports, st->nports, st->ptpl_capable);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (!nl) {
			snprintf(why, why_len, "line %u: no newline at the end", lineno);
			return -1;
		}
		if (ll >= sizeof(line) || memchr(text + pos, '\0', ll)) {
			snprintf(why, why_len, "line %u: too long or holds a NUL byte", lineno);
			return -1;
		}
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		pos += ll + 1;

		nf = 0;
		for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (nf == 6) {
				snprintf(why, why_len, "line %u: too many fields", lineno);
				return -1;
			}
			f[nf++] = w;
		}
		if (!seen_magic) {
			if (nf != 2 || strcmp(f[0], "lunlink-pr") || strcmp(f[1], "1")) {
				snprintf(why, why_len, "line %u: not '%s' (not a lunlink "
					 "reservation file, or a newer version)", lineno,
					 LL_PR_TEXT_MAGIC);
				return -1;
			}
			seen_magic = 1;
		} else if (nf == 2 && !strcmp(f[0], "generation") && !seen_gen) {
			if (number(f[1], 10, UINT32_MAX, &v))
				goto bad;
			s.generation = (uint32_t)v;
			seen_gen = 1;
		} else if (nf == 2 && !strcmp(f[0], "aptpl") && !seen_aptpl) {
			if (strcmp(f[1], "0") && strcmp(f[1], "1"))
				goto bad;
			s.aptpl = f[1][0] == '1';
			seen_aptpl = 1;
		} else if (nf == 5 && !strcmp(f[0], "reg")) {
			struct ll_pr_nexus n = { 0 };
			uint64_t key;

			if (s.reserved) {
				snprintf(why, why_len, "line %u: a registration after the "
					 "reservation", lineno);
				return -1;
			}
			if (strlen(f[1]) != 16 || number(f[1], 16, UINT64_MAX, &key) || !key)
				goto bad;
			if (number(f[2], 10, UINT16_MAX, &v))
				goto bad;
			n.rtpi = (uint16_t)v;
			if ((strcmp(f[3], "0") && strcmp(f[3], "1")) || !id_valid(f[4]))
				goto bad;
			strcpy(n.id, f[4]);
			if (find_index(&s, &n) >= 0) {
				snprintf(why, why_len, "line %u: %s is registered twice", lineno,
					 n.id);
				return -1;
			}
			if (add_reg(&s, &n, key, f[3][0] == '1')) {
				snprintf(why, why_len, "line %u: more than %d registrations",
					 lineno, LL_PR_MAX_REGS);
				return -1;
			}
		} else if ((nf == 4 || nf == 5) && !strcmp(f[0], "reservation") && !s.reserved) {
			if (number(f[1], 10, 15, &v) || !type_valid((uint8_t)v))
				goto bad;
			s.type = (uint8_t)v;
			if (strcmp(f[2], "0"))
				goto bad;
			if (all_registrants(s.type)) {
				if (nf != 4 || strcmp(f[3], "all") || !s.nregs)
					goto bad;
			} else {
				if (nf != 5 || number(f[3], 10, UINT16_MAX, &v) || !id_valid(f[4]))
					goto bad;
				s.holder.rtpi = (uint16_t)v;
				strcpy(s.holder.id, f[4]);
				if (find_index(&s, &s.holder) < 0) {
					snprintf(why, why_len, "line %u: the holder is not "
						 "registered", lineno);
					return -1;
				}
			}
			s.reserved = 1;
		} else {
			goto bad;
		}
	}
	if (!seen_magic || !seen_gen || !seen_aptpl) {
		snprintf(why, why_len, "incomplete: the '%s', 'generation' and 'aptpl' lines "
			 "are needed", LL_PR_TEXT_MAGIC);
		return -1;
	}
	*st = s;
	return 0;
bad:
	snprintf(why, why_len, "line %u: not a valid line of a reservation file", lineno);
	return -1;
}

int ll_pr_id_valid(const char *id)
{
	return id_valid(id);
}

int ll_pr_checked(const uint8_t *cdb, size_t cdb_len)
{
	return cdb_len && cdb[0] != 0x5e && cdb[0] != 0x5f && access_of(cdb, cdb_len) != ALLOWED;
}
