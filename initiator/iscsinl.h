// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsinl.h: the iSCSI transport's netlink events (NETLINK_ISCSI), heard
 * as iscsid hears them.  The kernel multicasts every event meant for
 * iscsid to the group ISCSI_NL_GRP_ISCSID (1) of that protocol, among them
 * ISCSI_KEVENT_RECV_PDU with each Async Message a target sends
 * (drivers/scsi/scsi_transport_iscsi.c: iscsi_recv_pdu).  lunlink-rescand
 * joins the group (root may; it never sends on the socket, and a full
 * receive buffer on its side only loses its own copy) to learn of a
 * target's "REPORTED LUNS DATA HAS CHANGED" Async Message, which iscsid
 * answers with a host scan whose REPORT LUNS clears the unit attention on
 * every LUN: without this, a removed LUN would leave no trace the daemon
 * could see.
 *
 * A message: struct nlmsghdr, then struct iscsi_uevent (56 bytes: the
 * kernel/iscsid ABI, include/scsi/iscsi_if.h, unchanged since Linux 2.6),
 * then for RECV_PDU the PDU's 48-byte header and its data segment.  This
 * is outside input: rd_iscsi_msg_parse bounds everything by the length
 * received and refuses what does not add up, with a reason.
 */
#ifndef LUNLINK_RESCAND_ISCSINL_H
#define LUNLINK_RESCAND_ISCSINL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RD_ISCSI_UEVENT_SIZE	56	/* sizeof(struct iscsi_uevent) */
#define RD_ISCSI_KEVENT_RECV_PDU 101	/* KEVENT_BASE + 1 */
#define RD_ISCSI_BHS_SIZE	48
#define RD_ISCSI_OP_ASYNC	0x32
/* a receive buffer: PDUs other than Async Messages (login and text
 * responses) may be larger; those are dropped unread */
#define RD_ISCSI_MSG_MAX	65536

enum rd_iscsi_kind {
	RD_ISCSI_OTHER,		/* not an Async Message: ignore */
	RD_ISCSI_ASYNC,		/* an Async Message; see async_event and the sense */
};

struct rd_iscsi_event {
	enum rd_iscsi_kind kind;
	uint32_t type;		/* ISCSI_KEVENT_... */
	uint32_t sid, cid;	/* session and connection (RECV_PDU) */
	uint8_t async_event;	/* 0: SCSI asynchronous event (sense follows) */
	uint64_t lun;		/* as the kernel numbers LUNs */
	bool has_sense;
	uint8_t key, asc, ascq;
};

/* Parse one datagram of len bytes (one or more netlink messages; the first
 * Async Message wins).  0 with ev filled (kind RD_ISCSI_OTHER for anything
 * not an Async Message), or -1 with the reason for a malformed one. */
int rd_iscsi_msg_parse(const void *msg, size_t len, struct rd_iscsi_event *ev,
		       char *err, size_t errlen);

/* A "REPORTED LUNS DATA HAS CHANGED" SCSI event (AsyncEvent 0, 3F/0E)? */
bool rd_iscsi_luns_changed(const struct rd_iscsi_event *ev);

/* The NETLINK_ISCSI socket, joined to iscsid's group, non-blocking.
 * -1 with err when the kernel has no iSCSI transport (yet). */
int rd_iscsi_open_netlink(char *err, size_t errlen);

#endif
