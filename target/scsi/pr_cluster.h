/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_cluster.h: between the persistent reservation glue (pr_scsi.c) and
 * the link of a pr=cluster LUN to the node's policy agent (pr_cluster.c).
 * The glue owns the state and the commands; the link owns the socket, the
 * PR OUTs waiting for the agent's answer and the state's validity.
 */
#ifndef LUNLINK_PR_CLUSTER_H
#define LUNLINK_PR_CLUSTER_H

#include <stdint.h>

#include "lunlink.h"
#include "lunlink/pr_wire.h"

/* the senses of a pr=cluster LUN (doc/reservations.md) */
/* no valid state: NOT READY, LOGICAL UNIT IS IN PROCESS OF BECOMING READY
 * (an initiator retries it; the state comes back with the agent) */
#define LL_PRC_NOT_VALID_KEY	0x02
#define LL_PRC_NOT_VALID_ASC	0x0401
/* a PR OUT the cluster did not answer GOOD/CONFLICT/CHECK CONDITION for:
 * ABORTED COMMAND, LOGICAL UNIT COMMUNICATION FAILURE (the agent said FAIL,
 * or is not connected, or went away) or ... TIME-OUT (no answer in
 * pr_timeout seconds) */
#define LL_PRC_OUT_FAILED_KEY	0x0b
#define LL_PRC_OUT_FAILED_ASC	0x0800
#define LL_PRC_OUT_TIMEOUT_ASC	0x0801

struct ll_pr_link;

/* pr_cluster.c */
/* Start the link (connecting in the background); NULL logged. */
struct ll_pr_link *ll_pr_link_open(struct ll_lu *l, const char *volume_hex);
/* Stop it: waiting PR OUTs end with the communication failure sense. */
void ll_pr_link_close(struct ll_pr_link *k);
/* whether the cached state may be used now (received and not expired) */
int ll_pr_link_valid(struct ll_pr_link *k);
/* Send cmd (a PERSISTENT RESERVE OUT from me) to the agent: a SAM status
 * to return from cmd_perform (the command is then async if it was sent) */
int ll_pr_link_out(struct ll_pr_link *k, struct scsi_cmd *cmd, const struct ll_pr_nexus *me);
/* Tell the agent the state of generation gen is applied. */
void ll_pr_link_ack(struct ll_pr_link *k, uint64_t gen);

/* pr_scsi.c */
/*
 * A STATE from the agent (parsed whole by pr_wire.c), newer than the
 * cached one: take its state, queue its unit attentions, abort its
 * nexuses' commands.  Returns 1 if it is applied whole (ACK now), 0 if the
 * aborted nexuses still have commands in the store (pr_scsi.c sends the
 * ACK when they have ended).
 */
int ll_pr_cluster_apply(struct ll_lu *l, const struct ll_pr_wire_msg *m);

#endif
