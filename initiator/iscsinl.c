// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsinl.c: listening to the iSCSI transport's netlink events and
 * picking out Async Messages (see iscsinl.h).
 */
#include "iscsinl.h"
#include "lunlink/errmsg.h"
#include "luns.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_ISCSI
#define NETLINK_ISCSI 8
#endif
#define ISCSI_NL_GRP_ISCSID 1

static uint32_t get32(const uint8_t *p)	/* host order, as the kernel writes it */
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* One netlink message's payload (the iscsi_uevent and what follows). */
static int parse_one(const uint8_t *p, size_t len, struct rd_iscsi_event *ev,
		     char *err, size_t errlen)
{
	const uint8_t *bhs, *data;
	size_t dlen, slen;

	if (len < 4)
		return ll_fail(err, errlen, "an iSCSI netlink message of %zu bytes, too short for its type", len);
	ev->type = get32(p);
	if (ev->type != RD_ISCSI_KEVENT_RECV_PDU)
		return 0;
	if (len < RD_ISCSI_UEVENT_SIZE + RD_ISCSI_BHS_SIZE)
		return ll_fail(err, errlen, "a received-PDU event of %zu bytes, less than the %d of "
			    "its event and PDU header", len, RD_ISCSI_UEVENT_SIZE + RD_ISCSI_BHS_SIZE);
	/* struct iscsi_uevent: type, iferror, transport_handle (16 bytes), a
	 * 24-byte union, then r.recv_req { sid, cid, recv_handle } */
	ev->sid = get32(p + 40);
	ev->cid = get32(p + 44);
	bhs = p + RD_ISCSI_UEVENT_SIZE;
	if ((bhs[0] & 0x3f) != RD_ISCSI_OP_ASYNC)
		return 0;
	dlen = (size_t)bhs[5] << 16 | (size_t)bhs[6] << 8 | bhs[7];
	if (dlen > len - RD_ISCSI_UEVENT_SIZE - RD_ISCSI_BHS_SIZE)
		return ll_fail(err, errlen, "an Async Message with a data segment of %zu bytes, only %zu "
			    "received", dlen, len - RD_ISCSI_UEVENT_SIZE - RD_ISCSI_BHS_SIZE);
	ev->kind = RD_ISCSI_ASYNC;
	ev->lun = rd_scsilun_to_int(bhs + 8);
	ev->async_event = bhs[36];
	if (ev->async_event != 0 || dlen < 2)
		return 0;
	/* SCSI event: SenseLength (2 bytes), then sense data */
	data = bhs + RD_ISCSI_BHS_SIZE;
	slen = (size_t)data[0] << 8 | data[1];
	if (slen > dlen - 2)
		return ll_fail(err, errlen, "an Async Message whose sense length %zu exceeds its data "
			    "segment (%zu bytes)", slen, dlen);
	data += 2;
	if (slen >= 14 && ((data[0] & 0x7f) == 0x70 || (data[0] & 0x7f) == 0x71)) {
		ev->key = data[2] & 0x0f;
		ev->asc = data[12];
		ev->ascq = data[13];
		ev->has_sense = true;
	} else if (slen >= 4 && ((data[0] & 0x7f) == 0x72 || (data[0] & 0x7f) == 0x73)) {
		ev->key = data[1] & 0x0f;
		ev->asc = data[2];
		ev->ascq = data[3];
		ev->has_sense = true;
	}
	return 0;
}

int rd_iscsi_msg_parse(const void *msg, size_t len, struct rd_iscsi_event *ev,
		       char *err, size_t errlen)
{
	const uint8_t *p = msg;
	size_t left = len;

	memset(ev, 0, sizeof(*ev));
	if (len < NLMSG_HDRLEN)
		return ll_fail(err, errlen, "a netlink datagram of %zu bytes, shorter than its header", len);
	while (left >= NLMSG_HDRLEN) {
		struct nlmsghdr nh;
		size_t step;

		memcpy(&nh, p, sizeof(nh));
		if (nh.nlmsg_len < NLMSG_HDRLEN || nh.nlmsg_len > left)
			return ll_fail(err, errlen, "a netlink message length of %u in a datagram of %zu bytes",
				    nh.nlmsg_len, left);
		if (parse_one(p + NLMSG_HDRLEN, nh.nlmsg_len - NLMSG_HDRLEN, ev, err, errlen))
			return -1;
		if (ev->kind == RD_ISCSI_ASYNC)
			return 0;
		step = NLMSG_ALIGN(nh.nlmsg_len);
		if (step >= left)
			break;
		p += step;
		left -= step;
		memset(ev, 0, sizeof(*ev));
	}
	return 0;
}

bool rd_iscsi_luns_changed(const struct rd_iscsi_event *ev)
{
	return ev->kind == RD_ISCSI_ASYNC && ev->async_event == 0 && ev->has_sense &&
	       ev->key == 0x6 && ev->asc == 0x3f && ev->ascq == 0x0e;
}

int rd_iscsi_open_netlink(char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = 1u << (ISCSI_NL_GRP_ISCSID - 1) };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ISCSI);
	int size = 1 << 20;

	if (fd < 0)
		return ll_fail(err, errlen, "iSCSI netlink socket: %s%s", strerror(errno),
			    errno == EPROTONOSUPPORT ? " (no iSCSI transport loaded yet)" : "");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ll_fail(err, errlen, "joining iscsid's iSCSI netlink group: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
