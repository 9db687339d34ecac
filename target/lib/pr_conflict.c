// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr_conflict.c: whether a command conflicts with a persistent
 * reservation (SPC-4 table 65, SBC-3 table 13), and SPC-2 RESERVE/RELEASE
 * while persistent reservations are in use (SPC-4 5.12.3).
 */
#include "pr_int.h"

#include <stddef.h>
#include <stdint.h>

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

static int write_exclusive(uint8_t type)
{
	return type == LL_PR_WE || type == LL_PR_WERO || type == LL_PR_WEAR;
}

int ll_pr_conflicts(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
		    const uint8_t *cdb, size_t cdb_len)
{
	enum access a;

	if (!st->reserved || !cdb_len)
		return 0;
	a = access_of(cdb, cdb_len);
	/* a read meets no WRITE EXCLUSIVE type: tested before the holder,
	 * whose test compares TransportIDs (doc/perf.md) */
	if (a == ALLOWED || (a == READS && write_exclusive(st->type)) ||
	    ll_pr_is_holder(st, nexus))
		return 0;
	/* a write (or, exclusive access, any command) of someone else */
	switch (st->type) {
	case LL_PR_WE:
	case LL_PR_EA:
		return 1;
	case LL_PR_WERO:
	case LL_PR_WEAR:
	case LL_PR_EARO:
	case LL_PR_EAAR:
		return ll_pr_index(st, nexus) < 0;	/* the registrants may */
	}
	return 0;
}

int ll_pr_spc2_conflicts(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus)
{
	if (!st->nregs)
		return 0;
	return ll_pr_is_holder(st, nexus) ? 2 : 1;
}

int ll_pr_checked(const uint8_t *cdb, size_t cdb_len)
{
	return cdb_len && cdb[0] != 0x5e && cdb[0] != 0x5f && access_of(cdb, cdb_len) != ALLOWED;
}
