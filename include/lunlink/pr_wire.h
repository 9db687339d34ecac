/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_wire.h: the messages between a lunlink LUN with pr=cluster (the
 * module, target/scsi/pr_cluster.c) and the node's policy agent, which
 * keeps the volume's persistent reservation state with the manager
 * (doc/reservations.md, "pr=cluster", gives the protocol).  One
 * implementation of both directions, used by both ends: each end formats
 * with ll_pr_wire_format and reads with ll_pr_wire_parse, so what one
 * writes the other reads.
 *
 * A message is one SOCK_SEQPACKET packet of at most LL_PR_WIRE_MAX bytes of
 * text, fields separated by one space, hex in lower case, no NUL byte:
 *
 *   module -> agent
 *     HELLO 1 VOLUMEID TID LUN
 *     OUT SEQ NEXUSID RTPI CDBHEX PARAMHEX      (PARAMHEX "-" for none)
 *     ACK GEN
 *   agent -> module
 *     STATE GEN VALID_MS NUA NABORT\n
 *       NUA lines "UA NEXUSID ASC\n", NABORT lines "ABORT NEXUSID\n",
 *       then the state's text form (ll_pr_format)
 *     VALID GEN VALID_MS
 *     DONE SEQ STATUS SENSEKEY ASC               (2, 2 and 4 hex digits)
 *     FAIL SEQ REASON...                         (printable ASCII)
 *
 * Every packet the module reads is outside input: the parser takes the
 * whole packet or refuses it with a reason, and bounds every field
 * (numbers in decimal without sign or leading zero, nexus ids as
 * ll_pr_nexus_set writes them, the state through ll_pr_parse).  The
 * formatter refuses to write what the parser would refuse.
 */
#ifndef LUNLINK_PR_WIRE_H
#define LUNLINK_PR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lunlink/pr.h"

#define LL_PR_WIRE_MAX		65536	/* bytes in one packet */
/* a buffer ll_pr_wire_format can write any packet into: it keeps one
 * byte free after the packet */
#define LL_PR_WIRE_BUF		(LL_PR_WIRE_MAX + 1)
#define LL_PR_WIRE_VERSION	1	/* HELLO's version */
#define LL_PR_WIRE_VOLUME_LEN	32	/* hex digits of a volume id */
#define LL_PR_WIRE_CDB_MIN	10	/* a PERSISTENT RESERVE OUT CDB */
#define LL_PR_WIRE_CDB_MAX	16
/* a PR OUT's parameter list: 24 bytes, or SPEC_I_PT's TransportIDs for
 * every registration a LUN can hold */
#define LL_PR_WIRE_PARAM_MAX	24576
#define LL_PR_WIRE_REASON_MAX	512	/* FAIL's reason */
#define LL_PR_WIRE_VALID_MS_MAX	600000	/* ten minutes: more is a mistake */

enum ll_pr_wire_type {
	LL_PR_WIRE_HELLO = 1,
	LL_PR_WIRE_OUT,
	LL_PR_WIRE_ACK,
	LL_PR_WIRE_STATE,
	LL_PR_WIRE_VALID,
	LL_PR_WIRE_DONE,
	LL_PR_WIRE_FAIL,
};

/*
 * One message, either way.  The fields a type does not use are left as
 * they were (zero from a fresh struct).  Large: keep it static or on the
 * heap, not on a small stack.
 */
struct ll_pr_wire_msg {
	enum ll_pr_wire_type type;
	/* HELLO */
	unsigned int version;
	char volume[LL_PR_WIRE_VOLUME_LEN + 1];	/* lower-case hex */
	uint32_t tid;
	uint64_t lun;
	/* OUT, DONE, FAIL: the module's counter, echoed back */
	uint64_t seq;
	/* OUT */
	struct ll_pr_nexus nexus;	/* id and RTPI of the PR OUT's sender */
	uint8_t cdb[LL_PR_WIRE_CDB_MAX];
	size_t cdb_len;
	int has_param;			/* 0: PARAMHEX was "-" */
	uint8_t param[LL_PR_WIRE_PARAM_MAX];
	size_t plen;
	/* STATE, VALID, ACK: the store revision of the state, only grows; 0
	 * for a volume whose state was never written (the empty state) */
	uint64_t gen;
	/* STATE, VALID: how long from receipt the state may be used */
	uint32_t valid_ms;
	/*
	 * STATE: the effects of the change that made gen: unit attentions
	 * and nexuses whose commands to abort.  The wire names a nexus by
	 * its TransportID only: rtpi is 0 here, and the module matches the
	 * id on whatever target port it has.
	 */
	unsigned int nua;
	struct ll_pr_ua ua[LL_PR_MAX_REGS];
	unsigned int nabort;
	struct ll_pr_nexus abort[LL_PR_MAX_REGS];
	/* STATE: the text form; the parser points it into the packet it
	 * read (so it lives as long as that buffer) and checks it by
	 * parsing it into state (ll_pr_init'ed without ports) */
	const char *text;
	size_t text_len;
	struct ll_pr_state state;
	/* DONE */
	uint8_t status;			/* LL_PR_GOOD, _CHECK_CONDITION, _CONFLICT */
	uint8_t sense_key;		/* CHECK CONDITION only, else 0 */
	uint16_t asc;			/* ASC << 8 | ASCQ, CHECK CONDITION only */
	/* FAIL */
	char reason[LL_PR_WIRE_REASON_MAX + 1];
};

/*
 * ll_pr_wire_parse: read one packet (len bytes, not NUL-terminated) into
 * m.  Returns 0, or -1 with a one-line reason in why (why_len bytes) that
 * names the field and what is wrong with it; m is then undefined.
 */
int ll_pr_wire_parse(const char *buf, size_t len, struct ll_pr_wire_msg *m, char *why,
		     size_t why_len);

/*
 * ll_pr_wire_format: write m as a packet into buf (len bytes; the packet
 * takes at most len - 1 of them, LL_PR_WIRE_BUF holds any) and return its
 * length, or -1 with a reason in why if it does not fit or
 * a field is out of what the parser takes (an invalid nexus id, a state
 * text ll_pr_parse refuses, ...).  FAIL's reason is written with every
 * byte outside printable ASCII as '?' and cut at LL_PR_WIRE_REASON_MAX.
 */
long ll_pr_wire_format(const struct ll_pr_wire_msg *m, char *buf, size_t len, char *why,
		       size_t why_len);

/* "HELLO", "OUT", ... for messages; "?" for anything else */
const char *ll_pr_wire_type_name(enum ll_pr_wire_type t);

#endif
