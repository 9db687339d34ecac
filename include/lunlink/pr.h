/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr.h: SPC-4 persistent reservations as a pure engine: a LUN's
 * registrations and reservation, the PERSISTENT RESERVE OUT service actions
 * applied to them, the PERSISTENT RESERVE IN answers built from them, the
 * conflict check for any other command, and a text form of the state.
 *
 * No tgt headers, no I/O, no clock: the module (target/scsi/pr_scsi.c)
 * feeds it a nexus identity and a CDB with its parameter list and carries
 * out what it returns (the status and sense, the unit attentions to queue
 * and on which nexuses, the nexuses whose commands to abort, whether the
 * state must reach stable storage); the policy daemon can link it to keep a
 * volume's state for the whole cluster.  t/unit/pr.c tests it by cases.
 *
 * An I_T nexus is named by the initiator port's iSCSI TransportID in its
 * text form, "iqn.name,i,0x<isid>" (lower case, 12 hex digits of ISID), and
 * the relative target port identifier: a re-login of the same initiator
 * port (same name, same ISID) is the same nexus, so its registration holds.
 *
 * Deliberately left out: element scope (obsolete since SPC-3, refused as
 * INVALID FIELD IN CDB) and TransportIDs of format 00b (an initiator device
 * without ISID) in SPEC_I_PT and REGISTER AND MOVE, refused as INVALID FIELD
 * IN PARAMETER LIST: a registration names an initiator port.
 */
#ifndef LUNLINK_PR_H
#define LUNLINK_PR_H

#include <stddef.h>
#include <stdint.h>

/* registrations a LUN holds at most (beyond: INSUFFICIENT REGISTRATION
 * RESOURCES) and target ports it knows */
#define LL_PR_MAX_REGS		64
#define LL_PR_MAX_PORTS		16
/* an iSCSI name is at most 223 bytes; ",i,0x" and 12 hex digits follow */
#define LL_PR_ISCSI_NAME_MAX	223
#define LL_PR_ID_MAX		(LL_PR_ISCSI_NAME_MAX + 5 + 12 + 1)

/* reservation types (SPC-4 table 171) */
#define LL_PR_WE		0x1	/* write exclusive */
#define LL_PR_EA		0x3	/* exclusive access */
#define LL_PR_WERO		0x5	/* write exclusive, registrants only */
#define LL_PR_EARO		0x6	/* exclusive access, registrants only */
#define LL_PR_WEAR		0x7	/* write exclusive, all registrants */
#define LL_PR_EAAR		0x8	/* exclusive access, all registrants */

/* PERSISTENT RESERVE OUT service actions */
enum ll_pr_out_sa {
	LL_PR_REGISTER = 0,
	LL_PR_RESERVE,
	LL_PR_RELEASE,
	LL_PR_CLEAR,
	LL_PR_PREEMPT,
	LL_PR_PREEMPT_AND_ABORT,
	LL_PR_REGISTER_AND_IGNORE,
	LL_PR_REGISTER_AND_MOVE,
};

/* PERSISTENT RESERVE IN service actions */
enum ll_pr_in_sa {
	LL_PR_READ_KEYS = 0,
	LL_PR_READ_RESERVATION,
	LL_PR_REPORT_CAPABILITIES,
	LL_PR_READ_FULL_STATUS,
};

/* SCSI status bytes the engine answers with */
#define LL_PR_GOOD		0x00
#define LL_PR_CHECK_CONDITION	0x02
#define LL_PR_CONFLICT		0x18

/* the unit attentions it queues: ASC << 8 | ASCQ */
#define LL_PR_UA_RES_PREEMPTED	0x2a03	/* RESERVATIONS PREEMPTED */
#define LL_PR_UA_RES_RELEASED	0x2a04	/* RESERVATIONS RELEASED */
#define LL_PR_UA_REG_PREEMPTED	0x2a05	/* REGISTRATIONS PREEMPTED */

/* An I_T nexus: the initiator port's TransportID (text form) and the
 * relative target port identifier. */
struct ll_pr_nexus {
	char id[LL_PR_ID_MAX];
	uint16_t rtpi;
};

struct ll_pr_reg {
	struct ll_pr_nexus nexus;
	uint64_t key;
	int all_tg_pt;		/* made with ALL_TG_PT: READ FULL STATUS says so */
};

/*
 * A LUN's persistent reservation state.  For the all-registrants types
 * every registration holds the reservation and holder is unused; for the
 * others holder is the one nexus that does.  aptpl is the last APTPL bit
 * a registering service action carried (SPC-4: one value for the LUN).
 * ports are the relative target ports ALL_TG_PT registers on (not part of
 * the text form: they are the exporter's, not the volume's).
 */
struct ll_pr_state {
	uint32_t generation;
	unsigned int nregs;
	struct ll_pr_reg regs[LL_PR_MAX_REGS];
	int reserved;
	uint8_t type, scope;
	struct ll_pr_nexus holder;
	int aptpl;
	/* set by ll_pr_init */
	unsigned int nports;
	uint16_t ports[LL_PR_MAX_PORTS];
	int ptpl_capable;	/* there is stable storage: APTPL=1 is accepted */
};

struct ll_pr_ua {
	struct ll_pr_nexus nexus;
	uint16_t asc;		/* LL_PR_UA_* */
};

/* What a PERSISTENT RESERVE OUT did and what the caller must do next. */
struct ll_pr_result {
	uint8_t status;			/* LL_PR_GOOD, _CHECK_CONDITION, _CONFLICT */
	uint8_t sense_key;		/* for CHECK CONDITION */
	uint16_t asc;			/* ASC << 8 | ASCQ */
	int changed;			/* the state is not what it was */
	/* the state must be on stable storage before the status goes out:
	 * it changed while APTPL was (or has just been) on */
	int persist;
	unsigned int nua;
	struct ll_pr_ua ua[LL_PR_MAX_REGS];
	/* PREEMPT AND ABORT: the nexuses whose commands are to be aborted */
	unsigned int nabort;
	struct ll_pr_nexus abort[LL_PR_MAX_REGS];
};

/* An empty state, registering ALL_TG_PT on ports[0..nports-1] (at most
 * LL_PR_MAX_PORTS), accepting APTPL=1 only if ptpl_capable. */
void ll_pr_init(struct ll_pr_state *st, const uint16_t *ports, unsigned int nports,
		int ptpl_capable);

/*
 * ll_pr_nexus_set: fill n from an iSCSI initiator name and its 6-byte
 * ISID; 0, or -1 if the name is empty, too long or holds a byte an iSCSI
 * name cannot (ASCII control, DEL, space, comma).
 */
int ll_pr_nexus_set(struct ll_pr_nexus *n, const char *iscsi_name, const uint8_t isid[6],
		    uint16_t rtpi);

/*
 * ll_pr_out: apply the PERSISTENT RESERVE OUT in cdb (cdb_len bytes, 10
 * for a valid one) with its parameter list (plen bytes received) from
 * nexus to st.  The result says how it ended; st is changed only when it
 * ended GOOD (the caller may apply it to a copy and keep the copy only if
 * persisting it worked).
 */
void ll_pr_out(struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
	       const uint8_t *cdb, size_t cdb_len, const uint8_t *param, size_t plen,
	       struct ll_pr_result *res);

/*
 * ll_pr_in: the answer to the PERSISTENT RESERVE IN in cdb from nexus:
 * writes at most len bytes of it to buf and returns its full length, or -1
 * for a service action that does not exist (INVALID FIELD IN CDB).  The
 * caller truncates to the allocation length.
 */
long ll_pr_in(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
	      const uint8_t *cdb, size_t cdb_len, uint8_t *buf, size_t len);

/* ll_pr_conflicts: 1 if the command in cdb from nexus conflicts with the
 * reservation (SPC-4 table 65, SBC-3 table 13), else 0.  PERSISTENT
 * RESERVE IN/OUT never do; RESERVE/RELEASE see ll_pr_spc2_conflicts. */
int ll_pr_conflicts(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
		    const uint8_t *cdb, size_t cdb_len);

/* ll_pr_spc2_conflicts: 1 if RESERVE/RELEASE (6) or (10) from nexus must
 * end in RESERVATION CONFLICT because persistent reservations are in use
 * (SPC-4 5.12.3, CRH=1): any registration exists, except that the
 * persistent reservation holder's complete GOOD without effect (returns
 * 2 then); 0 if SPC-2 rules apply. */
int ll_pr_spc2_conflicts(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus);

/* the registration of nexus, or NULL */
const struct ll_pr_reg *ll_pr_find(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus);
/* whether nexus holds the reservation (any registrant, for all-registrants types) */
int ll_pr_is_holder(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus);

/*
 * The text form, for the APTPL file and a cluster store: lines of
 *   lunlink-pr 1
 *   generation N
 *   aptpl 0|1
 *   reg KEY RTPI ALL_TG_PT ID           (KEY in hex; one a registration)
 *   reservation TYPE SCOPE RTPI ID      (or "reservation TYPE SCOPE all")
 * ll_pr_format writes it to buf (size len) and returns its length, or -1
 * if it does not fit.  ll_pr_parse reads len bytes of text into st
 * (keeping st's ports and ptpl_capable) and returns 0, or -1 with why
 * (why_len bytes) naming the line and what is wrong with it.
 */
#define LL_PR_TEXT_MAX	(64 + LL_PR_MAX_REGS * (LL_PR_ID_MAX + 48) + LL_PR_ID_MAX + 64)
long ll_pr_format(const struct ll_pr_state *st, char *buf, size_t len);
int ll_pr_parse(struct ll_pr_state *st, const char *text, size_t len, char *why, size_t why_len);

/* ll_pr_checked: 1 if some reservation type can refuse the command in cdb
 * (ll_pr_conflicts looks at it), 0 for those every type allows (INQUIRY,
 * REPORT LUNS, TEST UNIT READY, READ CAPACITY, PERSISTENT RESERVE IN/OUT,
 * ...).  A pr=cluster LUN without a valid state refuses the first kind. */
int ll_pr_checked(const uint8_t *cdb, size_t cdb_len);

/* 1 if id is a nexus id as ll_pr_nexus_set writes it (and the text form
 * and the cluster's wire, lunlink/pr_wire.h, carry it), else 0 */
int ll_pr_id_valid(const char *id);

/* "WRITE EXCLUSIVE - REGISTRANTS ONLY" and the like, for messages */
const char *ll_pr_type_name(uint8_t type);

#endif
