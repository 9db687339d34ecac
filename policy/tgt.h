/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tgt.h: the node agent's view of its tgtd, and the changes it makes to
 * it (prefix pg_, the policy agent).
 *
 * Three parts, one concern each:
 *   - tgt_show.c reads what tgtd has: the output of
 *     `tgtadm --lld iscsi --mode target --op show` (and `--mode account`)
 *     parsed into a struct pg_actual.  That text is outside input: every
 *     count and length is bounded, a line that fits no known shape is
 *     refused with its number and the reason.
 *   - tgt_plan.c decides: a pure function from the actual state and the
 *     desired LUNs to the ordered tgtadm actions that make one the other.
 *     It touches only targets whose IQN starts with the cluster's prefix
 *     (those the agent owns); any other target is left as it is.
 *   - tgt.c runs tgtadm (no shell, a timeout on every call) to read the
 *     state and to apply a plan, stopping at the first failed action.
 *
 * tgtadm does not show a LUN's --bsopts, nor an account's password.  The
 * agent keeps what it applied in a record (struct pg_record, a JSON file
 * in its state folder) and takes a LUN's bsopts from it when the LUN is
 * still the one it made (same target, number, path and type).  A LUN the
 * record does not know is taken to have the desired options: replacing a
 * serving LUN on a guess would cut its initiators off.
 */
#ifndef LUNLINK_POLICY_TGT_H
#define LUNLINK_POLICY_TGT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lunlink/clock.h"

#define PG_IQN_MAX		223	/* RFC 3720's bound on an iSCSI name */
#define PG_PATH_MAX		255	/* an image's path (the API's bound) */
#define PG_SHOW_PATH_MAX	1023	/* a path tgtadm shows (any target's) */
#define PG_BSTYPE_MAX		15
#define PG_BSOPTS_MAX		1023
#define PG_BSOFLAGS_MAX		31
#define PG_USER_MAX		63	/* a CHAP user name */
#define PG_SECRET_MAX		63	/* a CHAP secret: tgt takes up to 255; iSCSI wants 12-16 */
#define PG_TARGETS_MAX		512
#define PG_LUNS_MAX		255	/* per target (LUN 0 is tgt's controller) */
#define PG_ACL_MAX		32	/* per target */
#define PG_ACCOUNTS_MAX		64	/* per target, and in tgtd's account list */
#define PG_SHOW_MAX		(4 * 1024 * 1024)	/* bytes of tgtadm output read */
#define PG_SHOW_LINE_MAX	4096
#define PG_TID_MAX		65535
#define PG_SCSI_ID_MAX		36	/* tgt's SCSI_ID_LEN and SCSI_SN_LEN */

/* ---- what tgtd has --------------------------------------------------- */

struct pg_lun {
	unsigned int lun;
	char type[32];			/* "disk", "controller", ... */
	uint64_t size_mb;		/* as tgtadm shows it: bytes / 10^6, rounded */
	char bstype[PG_BSTYPE_MAX + 1];	/* "rdwr", "lunlink", "null" */
	char path[PG_SHOW_PATH_MAX + 1];	/* "" for tgt's "None" */
	char bsoflags[PG_BSOFLAGS_MAX + 1];
	char bsopts[PG_BSOPTS_MAX + 1];	/* from the agent's record, when known */
	bool bsopts_known;
	char scsi_id[PG_SCSI_ID_MAX + 1];	/* "SCSI ID:" as shown ("IET     00010001") */
	char scsi_sn[PG_SCSI_ID_MAX + 1];	/* "SCSI SN:" */
};

struct pg_account {
	char user[PG_USER_MAX + 1];
	bool outgoing;
};

struct pg_target {
	unsigned int tid;
	char iqn[PG_IQN_MAX + 1];
	unsigned int nexuses;		/* I_T nexuses (logged-in initiators) */
	struct pg_lun *luns;
	size_t nluns;
	char (*acl)[PG_IQN_MAX + 1];	/* initiator names and addresses, "ALL" */
	size_t nacl;
	struct pg_account accounts[PG_ACCOUNTS_MAX];
	size_t naccounts;
};

struct pg_actual {
	struct pg_target *targets;
	size_t ntargets;
	/* tgtd's account list (--mode account --op show); with the passwords
	 * the agent's record knows, "" when it does not */
	char (*users)[PG_USER_MAX + 1];
	char (*passwords)[PG_SECRET_MAX + 1];
	size_t nusers;
};

/*
 * Parse `tgtadm --lld iscsi --mode target --op show` output (len bytes,
 * need not be NUL-terminated) into a (zeroed, or freed) *a.  0, or -1
 * with "line N: reason" in err; a is left empty on failure.
 */
int pg_show_parse(const char *text, size_t len, struct pg_actual *a, char *err, size_t errlen);
/* Parse `tgtadm --lld iscsi --mode account --op show` into a->users. */
int pg_accounts_parse(const char *text, size_t len, struct pg_actual *a, char *err,
		      size_t errlen);
void pg_actual_free(struct pg_actual *a);
const struct pg_target *pg_actual_target(const struct pg_actual *a, const char *iqn);

/* ---- what the manager wants ------------------------------------------ */

struct pg_want_lun {
	const char *volume;		/* for messages and the report */
	char iqn[PG_IQN_MAX + 1];
	unsigned int tid;		/* a hint (0: none): the target keeps its tid */
	unsigned int lun;		/* 1..PG_LUNS_MAX */
	char path[PG_PATH_MAX + 1];
	char bstype[PG_BSTYPE_MAX + 1];	/* "lunlink" or "rdwr" */
	char bsopts[PG_BSOPTS_MAX + 1];
	char (*acl)[PG_IQN_MAX + 1];	/* initiator names, or "ALL"; none: no one */
	size_t nacl;
	char chap_user[PG_USER_MAX + 1];	/* "" for no CHAP */
	char chap_password[PG_SECRET_MAX + 1];
	uint64_t grow_to;		/* lunlink: resize=SIZE once served (0: no) */
	uint64_t size;			/* "size": the LUN's wanted size (0: not said) */
	char scsi_sn[PG_SCSI_ID_MAX + 1];	/* "" : tgt's default kept */
	char scsi_id[PG_SCSI_ID_MAX + 1];
	/* rdwr: the backing file's size now (0: unknown); a LUN whose size
	 * tgtd shows is not this one's, in MB rounded either way, is made
	 * again, as tgtd's rdwr cannot read a grown file's size in place */
	uint64_t file_bytes;
	bool reread;			/* lunlink raw=on: resize=reread once served */
};

/* ---- the plan ------------------------------------------------------- */

enum pg_op {
	PG_ACCOUNT_DELETE,	/* user */
	PG_ACCOUNT_NEW,		/* user, password */
	PG_TARGET_NEW,		/* tid, iqn */
	PG_ACL_BIND,		/* tid, name (initiator name, or ALL: any address) */
	PG_ACL_UNBIND,		/* tid, name */
	PG_ACCOUNT_BIND,	/* tid, user */
	PG_ACCOUNT_UNBIND,	/* tid, user */
	PG_LUN_DELETE,		/* tid, lun */
	PG_LUN_NEW,		/* tid, lun, path, bstype, bsopts */
	PG_LUN_RESIZE,		/* tid, lun, size (0: resize=reread) */
	PG_LUN_IDENTITY,	/* tid, lun, scsi_sn, scsi_id */
	PG_TARGET_DELETE,	/* tid */
	PG_LUN_LEASE,		/* tid, lun, epoch, deadline_ms[, gen]: lease=EPOCH:@DEADLINE_MS[:GEN] */
};

struct pg_action {
	enum pg_op op;
	unsigned int tid;
	unsigned int lun;
	char iqn[PG_IQN_MAX + 1];
	char name[PG_IQN_MAX + 1];		/* an ACL entry or a user */
	char password[PG_SECRET_MAX + 1];
	char path[PG_PATH_MAX + 1];
	char bstype[PG_BSTYPE_MAX + 1];
	char bsopts[PG_BSOPTS_MAX + 1];
	uint64_t size;
	char scsi_sn[PG_SCSI_ID_MAX + 1];
	char scsi_id[PG_SCSI_ID_MAX + 1];
	bool outgoing;				/* an account bound for outgoing CHAP */
	const char *volume;			/* the volume it is for, or NULL */
	uint64_t epoch;				/* PG_LUN_LEASE: the lease's epoch */
	/* PG_LUN_LEASE: the generation the manager recorded (:GENERATION),
	 * if has_gen */
	bool has_gen;
	uint64_t gen;
	int64_t deadline_ms;			/* PG_LUN_LEASE: ll_mono_ms() it is good until */
};

struct pg_plan {
	struct pg_action *actions;
	size_t n, cap;
};

/*
 * The actions that make actual what want (n LUNs) says, for the targets
 * whose IQN starts with prefix: missing targets made (with the hinted tid
 * if free, else the lowest free one), their ACLs and CHAP accounts bound
 * and unbound to match, missing LUNs added, LUNs that differ in path,
 * bstype or bsopts replaced (deleted, added), LUNs no longer wanted
 * deleted, targets left with no LUN deleted.  Accounts are made before
 * they are bound and deleted only once unbound everywhere the agent owns.
 * Pure: reads its arguments, runs nothing.  0 (plan may be empty: nothing
 * to do), or -1 with the reason in err (a want outside prefix, two volumes
 * on one LUN, one target's volumes disagreeing on its ACL).
 */
int pg_plan_make(const struct pg_actual *actual, const struct pg_want_lun *want, size_t n,
		 const char *prefix, struct pg_plan *plan, char *err, size_t errlen);
void pg_plan_free(struct pg_plan *plan);

/* Whether a LUN's bsopts hold opt ("lease=on"), as a whole option
 * (options are separated by ';'). */
bool pg_bsopts_has(const char *bsopts, const char *opt);

/*
 * bsopts as this node's tgtd is to get them: a LUN that keeps its volume's
 * reservations with the cluster (pr=cluster) and names no pr_socket= gets
 * ";pr_socket=PR_SOCKET" appended, so that its module reaches this node's
 * agent, wherever its configuration put the socket.  Anything else (no
 * pr=cluster, a pr_socket= given, pr_socket NULL) is copied as it is.
 * The agent plans, records and compares these, never the manager's, so a
 * LUN it made is not seen as changed at the next round.  0, or -1 with
 * err: the result longer than outlen - 1 (PG_BSOPTS_MAX), or a socket path
 * bsopts cannot carry (a ';', ',' or space, or not printable).
 */
int pg_bsopts_for_node(const char *bsopts, const char *pr_socket, char *out, size_t outlen,
		       char *err, size_t errlen);

/* A write lease the manager granted, to push to the LUN serving a
 * doubled volume's primary (agent_lease.c). */
struct pg_lease_push {
	const struct pg_want_lun *lun;	/* the volume's wanted LUN */
	uint64_t epoch;
	int64_t deadline_ms;		/* ll_mono_ms(): the agent's send time + ttl - margin */
	bool has_gen;			/* the manager recorded gen: lease=E:@D:GEN */
	uint64_t gen;
};

/*
 * The tgtadm actions that push leases to tgtd: one PG_LUN_LEASE for each
 * push whose LUN serves with lease=on, is in tgtd (its target, its
 * number, its path) and whose deadline is after now_ms.  Pure, as
 * pg_plan_make; leases of LUNs not there (yet) are left out: the agent
 * pushes again once the reconcile made them.  0, or -1 (out of memory).
 */
int pg_lease_plan(const struct pg_actual *actual, const struct pg_lease_push *push, size_t n,
		  int64_t now_ms, struct pg_plan *plan);

/* The agent's clock for leases: CLOCK_MONOTONIC in ms. */
/* "add LUN 1 to target 3 (iqn...): /srv/a.img, lunlink, bsopts '...'" */
void pg_action_describe(const struct pg_action *a, char *buf, size_t len);

/* ---- running tgtadm ------------------------------------------------- */

struct pg_tgt_opts {
	const char *tgtadm;		/* path; NULL: /usr/sbin/tgtadm */
	int control_port;		/* tgtadm -C N; -1: tgtd's default */
	const char *ipc_socket;		/* TGT_IPC_SOCKET for tgtadm, or NULL */
	long timeout_ms;		/* each call; 0: 10 s */
};

/*
 * Read tgtd's targets and accounts.  0; 1 if tgtd does not answer (not
 * running: *a empty, err says why); -1 on any other failure.
 */
int pg_tgt_read(const struct pg_tgt_opts *o, struct pg_actual *a, char *err, size_t errlen);
/* tgtd's version ("1.0.85", from tgtadm --mode sys: "" if not shown). */
int pg_tgt_version(const struct pg_tgt_opts *o, char *buf, size_t len, char *err,
		   size_t errlen);

/*
 * Run plan's actions in order; stop at the first that fails.  0 if all
 * ran; -1 with *failed the index of the one that failed and err
 * "ACTION: tgtadm said: MESSAGE".
 */
int pg_plan_apply(const struct pg_tgt_opts *o, const struct pg_plan *plan, size_t *failed,
		  char *err, size_t errlen);

/* ---- the agent's record of what it applied --------------------------- */

/*
 * Fill the LUNs' bsopts and the accounts' passwords in a from the record
 * (a JSON object as pg_record_json makes; NULL: nothing known).
 */
void pg_actual_recall(struct pg_actual *a, json_object *record);
/* The record after want was applied: {"luns":[{"iqn","lun","path","bstype",
 * "bsopts"}],"accounts":{"USER":"PASSWORD"}}.  A new reference. */
json_object *pg_record_json(const struct pg_want_lun *want, size_t n);

#endif
