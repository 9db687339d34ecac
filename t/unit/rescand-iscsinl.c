// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/rescand-iscsinl.c: unit tests (TAP) of the parser of the iSCSI
 * transport's netlink events (initiator/iscsinl.c): an Async Message as
 * the kernel hands it to iscsid (nlmsghdr, struct iscsi_uevent, the PDU's
 * header and data), other events, and malformed ones.
 */
#include "iscsinl.h"
#include "tap.h"

#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>

static struct rd_iscsi_event ev;
static char err[256];

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The kernel's message for a received PDU: opcode, LUN, AsyncEvent, and a
 * data segment of SenseLength + sense (fixed format) when sense_len. */
static size_t pdu_msg(uint8_t *buf, size_t cap, uint8_t opcode, uint16_t lun, uint8_t async_event,
		      uint8_t key, uint8_t asc, uint8_t ascq, size_t sense_len, uint32_t sid)
{
	size_t dlen = sense_len ? 2 + sense_len : 0;
	size_t len = NLMSG_HDRLEN + RD_ISCSI_UEVENT_SIZE + RD_ISCSI_BHS_SIZE + dlen;
	struct nlmsghdr nh = { .nlmsg_len = (uint32_t)len };
	uint8_t *ue = buf + NLMSG_HDRLEN, *bhs = ue + RD_ISCSI_UEVENT_SIZE, *data;

	memset(buf, 0, cap);
	memcpy(buf, &nh, sizeof(nh));
	put32(ue, RD_ISCSI_KEVENT_RECV_PDU);
	put32(ue + 40, sid);
	put32(ue + 44, 0);
	bhs[0] = opcode;
	bhs[1] = 0x80;
	bhs[5] = (uint8_t)(dlen >> 16);
	bhs[6] = (uint8_t)(dlen >> 8);
	bhs[7] = (uint8_t)dlen;
	bhs[8] = (uint8_t)(lun >> 8);	/* peripheral addressing: the kernel's L */
	bhs[9] = (uint8_t)lun;
	bhs[36] = async_event;
	data = bhs + RD_ISCSI_BHS_SIZE;
	if (sense_len) {
		data[0] = (uint8_t)(sense_len >> 8);
		data[1] = (uint8_t)sense_len;
		data[2] = 0x70;
		data[2 + 2] = key;
		data[2 + 7] = (uint8_t)(sense_len - 8);
		data[2 + 12] = asc;
		data[2 + 13] = ascq;
	}
	return NLMSG_ALIGN(len);
}

static void test_async(void)
{
	uint8_t buf[512];
	size_t n;

	n = pdu_msg(buf, sizeof(buf), 0x32, 2, 0, 0x6, 0x3f, 0x0e, 18, 7);
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), 0, "an Async Message 3F/0E parses");
	is_int(ev.kind, RD_ISCSI_ASYNC, "  an Async Message");
	is_int(ev.sid, 7, "  of session 7");
	is_u64(ev.lun, 2, "  about LUN 2");
	ok(ev.async_event == 0 && ev.has_sense && ev.key == 6 && ev.asc == 0x3f && ev.ascq == 0x0e,
	   "  SCSI event, sense 6/3F/0E");
	ok(rd_iscsi_luns_changed(&ev), "  REPORTED LUNS DATA HAS CHANGED");

	n = pdu_msg(buf, sizeof(buf), 0x32, 1, 0, 0x6, 0x2a, 0x09, 18, 7);
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), 0, "an Async Message 2A/09 parses");
	ok(ev.kind == RD_ISCSI_ASYNC && !rd_iscsi_luns_changed(&ev), "  and is not a LUN change");

	n = pdu_msg(buf, sizeof(buf), 0x32, 0, 1, 0, 0, 0, 0, 7);
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), 0, "a logout request parses");
	ok(ev.kind == RD_ISCSI_ASYNC && ev.async_event == 1 && !ev.has_sense &&
	   !rd_iscsi_luns_changed(&ev), "  AsyncEvent 1, no sense, not a LUN change");

	n = pdu_msg(buf, sizeof(buf), 0x26, 0, 0, 0, 0, 0, 0, 7);	/* a Logout Response */
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), 0, "another PDU parses");
	is_int(ev.kind, RD_ISCSI_OTHER, "  and is not ours");

	n = pdu_msg(buf, sizeof(buf), 0x32, 2, 0, 0x6, 0x3f, 0x0e, 18, 7);
	put32(buf + NLMSG_HDRLEN, 102);	/* ISCSI_KEVENT_CONN_ERROR */
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), 0, "a connection error event parses");
	is_int(ev.kind, RD_ISCSI_OTHER, "  and is not ours");
}

static void test_malformed(void)
{
	uint8_t buf[512] = { 0 };
	struct nlmsghdr nh;
	size_t n;

	is_int(rd_iscsi_msg_parse(buf, 8, &ev, err, sizeof(err)), -1, "8 bytes: refused");
	like(err, "shorter than its header", "  too short");

	n = pdu_msg(buf, sizeof(buf), 0x32, 2, 0, 0x6, 0x3f, 0x0e, 18, 7);
	is_int(rd_iscsi_msg_parse(buf, n - 8, &ev, err, sizeof(err)), -1, "cut short: refused");
	like(err, "netlink message length", "  its length does not fit the datagram");

	memcpy(&nh, buf, sizeof(nh));
	nh.nlmsg_len = NLMSG_HDRLEN + RD_ISCSI_UEVENT_SIZE + 10;
	memcpy(buf, &nh, sizeof(nh));
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), -1, "no whole PDU header: refused");
	like(err, "less than the 104", "  says so");

	n = pdu_msg(buf, sizeof(buf), 0x32, 2, 0, 0x6, 0x3f, 0x0e, 18, 7);
	buf[NLMSG_HDRLEN + RD_ISCSI_UEVENT_SIZE + 7] = 200;	/* DataSegmentLength */
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), -1, "a data segment longer than received: refused");
	like(err, "data segment of 200 bytes", "  says so");

	n = pdu_msg(buf, sizeof(buf), 0x32, 2, 0, 0x6, 0x3f, 0x0e, 18, 7);
	buf[NLMSG_HDRLEN + RD_ISCSI_UEVENT_SIZE + RD_ISCSI_BHS_SIZE + 1] = 60;	/* SenseLength */
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), -1, "a sense longer than the data: refused");
	like(err, "sense length 60", "  says so");

	n = pdu_msg(buf, sizeof(buf), 0x32, 2, 0, 0x6, 0x3f, 0x0e, 6, 7);
	is_int(rd_iscsi_msg_parse(buf, n, &ev, err, sizeof(err)), 0, "a fixed sense of 6 bytes parses");
	ok(!ev.has_sense && !rd_iscsi_luns_changed(&ev), "  but has no ASC to read: not a LUN change");

	/* every prefix of a good message: refused or whole, never past the end */
	n = pdu_msg(buf, sizeof(buf), 0x32, 2, 0, 0x6, 0x3f, 0x0e, 18, 7);
	{
		unsigned int bad = 0;

		for (size_t len = 0; len < n; len++) {
			uint8_t *copy = malloc(len ? len : 1);

			memcpy(copy, buf, len);
			if (rd_iscsi_msg_parse(copy, len, &ev, err, sizeof(err)) == 0 &&
			    rd_iscsi_luns_changed(&ev))
				bad++;
			free(copy);
		}
		is_int(bad, 0, "no prefix of %zu bytes is taken for the whole message", n);
	}
}

static void test_two_messages(void)
{
	uint8_t buf[1024];
	size_t n1, n2;
	struct nlmsghdr nh = { .nlmsg_len = NLMSG_HDRLEN + 8 };

	/* a connection error event, then an Async Message, in one datagram */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &nh, sizeof(nh));
	put32(buf + NLMSG_HDRLEN, 102);
	n1 = NLMSG_ALIGN(nh.nlmsg_len);
	n2 = pdu_msg(buf + n1, sizeof(buf) - n1, 0x32, 3, 0, 0x6, 0x3f, 0x0e, 18, 9);
	is_int(rd_iscsi_msg_parse(buf, n1 + n2, &ev, err, sizeof(err)), 0, "two messages in a datagram");
	ok(rd_iscsi_luns_changed(&ev) && ev.sid == 9 && ev.lun == 3, "  the Async Message is found");
}

int main(void)
{
	test_async();
	test_malformed();
	test_two_messages();
	return done_testing();
}
