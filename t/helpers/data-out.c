// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * data-out: a bare iSCSI initiator that answers an R2T with one Data-Out
 * PDU of its own choosing, for t/t2100-data-out-bounds.sh.
 *
 * libiscsi builds every Data-Out itself from the R2T it answers and has no
 * public call to send one with another Buffer Offset or length, so this
 * client logs in and writes its PDUs by hand: only what one WRITE needs,
 * no digests, no authentication, no recovery.
 *
 *   data-out HOST PORT TARGET LUN LBA OFFSET LENGTH
 *
 * It logs in with InitialR2T=Yes and ImmediateData=No (the WRITE carries no
 * data; the target must ask for every byte with an R2T), clears the unit
 * attention of the new session with TEST UNIT READY, sends WRITE(10) of
 * one 512-byte block at LBA, waits for the R2T, answers it with one
 * Data-Out (F bit set) at Buffer Offset OFFSET with LENGTH bytes of 0x5a,
 * and prints what the target did next, one line:
 *
 *   status S        a SCSI Response with status S (0: GOOD)
 *   r2t OFF LEN     another R2T: the target took the PDU's bytes as data
 *   reject REASON   a Reject PDU, with its reason code
 *   closed          the connection was closed
 *   silent          nothing within 5 seconds
 *
 * Exit status 0 when it printed one of these, 1 when it failed before
 * (no connection, login refused, no R2T).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BHS_LEN		48
#define BLOCK		512
#define WAIT_MS		5000

/* opcodes, initiator to target and back (RFC 7143, 11) */
#define OP_SCSI_CMD	0x01
#define OP_LOGIN	0x03
#define OP_DATA_OUT	0x05
#define OP_NOP_IN	0x20
#define OP_SCSI_RSP	0x21
#define OP_LOGIN_RSP	0x23
#define OP_R2T		0x31
#define OP_ASYNC	0x32
#define OP_REJECT	0x3f
#define OP_IMMEDIATE	0x40

#define FLAG_FINAL	0x80
#define LOGIN_TRANSIT	0x80

struct pdu {
	uint8_t bhs[BHS_LEN];
	uint8_t data[8192];
	uint32_t len;		/* of data */
};

static int sock;
static uint32_t cmd_sn, exp_stat_sn;

static void fail(const char *what)
{
	fprintf(stderr, "data-out: %s\n", what);
	exit(1);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void put_dlength(uint8_t *bhs, uint32_t len)
{
	bhs[5] = len >> 16; bhs[6] = len >> 8; bhs[7] = len;
}

static uint32_t get_dlength(const uint8_t *bhs)
{
	return bhs[5] << 16 | bhs[6] << 8 | bhs[7];
}

static int write_all(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(sock, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* The header, then the data padded to a 4-byte boundary. */
static int send_pdu(uint8_t *bhs, const void *data, uint32_t len)
{
	static const uint8_t pad[4];

	put_dlength(bhs, len);
	if (write_all(bhs, BHS_LEN) || (len && write_all(data, len)))
		return -1;
	return len % 4 ? write_all(pad, 4 - len % 4) : 0;
}

/* Wait up to ms for the next bytes; 0 if they came, -1 if closed or late. */
static int read_all(void *buf, size_t len, int ms, int *closed)
{
	uint8_t *p = buf;
	struct pollfd pfd = { .fd = sock, .events = POLLIN };

	while (len) {
		ssize_t n;

		if (poll(&pfd, 1, ms) != 1)
			return -1;
		n = read(sock, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*closed = 1;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* The next PDU from the target: 0, or -1 with *closed set if it hung up. */
static int recv_pdu(struct pdu *pdu, int ms, int *closed)
{
	uint8_t skip[4 * 255];
	uint32_t padded;

	*closed = 0;
	if (read_all(pdu->bhs, BHS_LEN, ms, closed))
		return -1;
	if (pdu->bhs[4] && read_all(skip, pdu->bhs[4] * 4, ms, closed))
		return -1;
	pdu->len = get_dlength(pdu->bhs);
	padded = (pdu->len + 3) & ~3u;
	if (padded > sizeof(pdu->data))
		fail("a PDU from the target larger than this client reads");
	return read_all(pdu->data, padded, ms, closed);
}

/*
 * One login request, stage csg to nsg with the transit bit, and its
 * answer.  Returns the response's next stage, or exits.
 */
static int login_step(int csg, int nsg, const char *keys, size_t keys_len)
{
	static const uint8_t isid[6] = { 0x80, 0x4c, 0x55, 0x4e, 0x00, 0x01 };
	uint8_t bhs[BHS_LEN] = { OP_LOGIN | OP_IMMEDIATE };
	struct pdu rsp;
	int closed;

	bhs[1] = LOGIN_TRANSIT | csg << 2 | nsg;
	memcpy(bhs + 8, isid, sizeof(isid));
	put32(bhs + 16, 0);		/* ITT */
	put32(bhs + 24, cmd_sn);
	put32(bhs + 28, exp_stat_sn);
	if (send_pdu(bhs, keys, keys_len) || recv_pdu(&rsp, WAIT_MS, &closed))
		fail("no login response");
	if ((rsp.bhs[0] & 0x3f) != OP_LOGIN_RSP || rsp.bhs[36] != 0) {
		fprintf(stderr, "data-out: login refused: opcode 0x%02x, status %u/%u\n",
			rsp.bhs[0], rsp.bhs[36], rsp.bhs[37]);
		exit(1);
	}
	exp_stat_sn = get32(rsp.bhs + 24) + 1;
	cmd_sn = get32(rsp.bhs + 28);
	return rsp.bhs[1] & LOGIN_TRANSIT ? rsp.bhs[1] & 3 : csg;
}

/* Keys as iSCSI wants them: "key=value" strings, each ended by a NUL. */
static size_t keys(char *buf, size_t size, const char *const *kv)
{
	size_t len = 0;

	for (; *kv; kv++) {
		size_t n = strlen(*kv) + 1;

		if (len + n > size)
			fail("login keys too long");
		memcpy(buf + len, *kv, n);
		len += n;
	}
	return len;
}

static void login(const char *target)
{
	char name[512], buf[2048];
	const char *security[] = {
		"InitiatorName=iqn.2026-11.org.lunlink:data-out", name,
		"SessionType=Normal", "AuthMethod=None", NULL
	};
	/* every byte of a write must be asked for by an R2T */
	const char *operational[] = {
		"HeaderDigest=None", "DataDigest=None",
		"InitialR2T=Yes", "ImmediateData=No",
		"MaxRecvDataSegmentLength=8192", "MaxBurstLength=262144",
		"FirstBurstLength=65536", "MaxOutstandingR2T=1",
		"DataPDUInOrder=Yes", "DataSequenceInOrder=Yes",
		"ErrorRecoveryLevel=0", "MaxConnections=1",
		"DefaultTime2Wait=0", "DefaultTime2Retain=0", NULL
	};
	int stage, tries;

	if ((size_t)snprintf(name, sizeof(name), "TargetName=%s", target) >= sizeof(name))
		fail("target name too long");
	cmd_sn = 1;
	stage = login_step(0, 1, buf, keys(buf, sizeof(buf), security));
	for (tries = 0; stage == 1 && tries < 4; tries++)
		stage = login_step(1, 3, buf, tries ? 0 : keys(buf, sizeof(buf), operational));
	if (stage != 3)
		fail("the target did not move to the full feature phase");
}

static void connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

	if (getaddrinfo(host, port, &hints, &ai))
		fail("cannot resolve the portal");
	sock = socket(ai->ai_family, SOCK_STREAM, 0);
	if (sock < 0 || connect(sock, ai->ai_addr, ai->ai_addrlen))
		fail("cannot connect to the portal");
	freeaddrinfo(ai);
}

/*
 * TEST UNIT READY until GOOD: the first command of a new session gets the
 * unit attention of the power-on reset, which the WRITE must not.
 */
static void clear_unit_attention(uint32_t lun)
{
	struct pdu rsp;
	int tries, closed;

	for (tries = 0; tries < 3; tries++) {
		uint8_t tur[BHS_LEN] = { OP_SCSI_CMD };

		tur[1] = FLAG_FINAL | 0x01;
		tur[9] = lun;
		put32(tur + 16, 0x100 + tries);
		put32(tur + 24, cmd_sn++);
		put32(tur + 28, exp_stat_sn);
		if (send_pdu(tur, NULL, 0))
			fail("cannot send TEST UNIT READY");
		do {
			if (recv_pdu(&rsp, WAIT_MS, &closed))
				fail("no answer to TEST UNIT READY");
		} while ((rsp.bhs[0] & 0x3f) != OP_SCSI_RSP);
		exp_stat_sn = get32(rsp.bhs + 24) + 1;
		if (rsp.bhs[3] == 0)
			return;
	}
	fail("TEST UNIT READY never answered GOOD");
}

int main(int argc, char **argv)
{
	uint8_t cmd[BHS_LEN] = { OP_SCSI_CMD }, out[BHS_LEN] = { OP_DATA_OUT };
	uint8_t *data;
	uint32_t lun, lba, offset, length, ttt;
	struct pdu pdu;
	int closed;

	if (argc != 8) {
		fprintf(stderr, "usage: data-out HOST PORT TARGET LUN LBA OFFSET LENGTH\n");
		return 1;
	}
	lun = strtoul(argv[4], NULL, 0);
	lba = strtoul(argv[5], NULL, 0);
	offset = strtoul(argv[6], NULL, 0);
	length = strtoul(argv[7], NULL, 0);
	if (lun > 255 || length > 8192)
		fail("LUN above 255 or LENGTH above 8192");

	signal(SIGPIPE, SIG_IGN);
	connect_to(argv[1], argv[2]);
	login(argv[3]);
	clear_unit_attention(lun);

	/* WRITE(10) of one block, no immediate data: F and W set, simple */
	cmd[1] = FLAG_FINAL | 0x20 | 0x01;
	cmd[9] = lun;			/* single-level LUN, peripheral addressing */
	put32(cmd + 16, 0x1000);	/* ITT */
	put32(cmd + 20, BLOCK);		/* Expected Data Transfer Length */
	put32(cmd + 24, cmd_sn);
	put32(cmd + 28, exp_stat_sn);
	cmd[32] = 0x2a;
	put32(cmd + 34, lba);
	cmd[40] = 1;			/* TRANSFER LENGTH, low byte */
	if (send_pdu(cmd, NULL, 0))
		fail("cannot send the WRITE");

	do {
		if (recv_pdu(&pdu, WAIT_MS, &closed))
			fail("no R2T for the WRITE");
	} while ((pdu.bhs[0] & 0x3f) == OP_NOP_IN);
	if ((pdu.bhs[0] & 0x3f) != OP_R2T)
		fail("the target answered the WRITE with something other than an R2T");
	ttt = get32(pdu.bhs + 20);
	exp_stat_sn = get32(pdu.bhs + 24);

	/* the one Data-Out, at the offset and with the length asked for */
	data = malloc(length ? length : 1);
	if (!data)
		fail("out of memory");
	memset(data, 0x5a, length);
	out[1] = FLAG_FINAL;
	out[9] = lun;
	put32(out + 16, 0x1000);
	put32(out + 20, ttt);
	put32(out + 28, exp_stat_sn);
	put32(out + 36, 0);		/* DataSN */
	put32(out + 40, offset);
	/* a target that hangs up mid-PDU fails the send: the read below says so */
	send_pdu(out, data, length);

	for (;;) {
		if (recv_pdu(&pdu, WAIT_MS, &closed)) {
			puts(closed ? "closed" : "silent");
			break;
		}
		switch (pdu.bhs[0] & 0x3f) {
		case OP_NOP_IN:
		case OP_ASYNC:
			continue;
		case OP_SCSI_RSP:
			printf("status %u\n", pdu.bhs[3]);
			break;
		case OP_R2T:
			printf("r2t %u %u\n", get32(pdu.bhs + 40), get32(pdu.bhs + 44));
			break;
		case OP_REJECT:
			printf("reject 0x%02x\n", pdu.bhs[2]);
			break;
		default:
			printf("opcode 0x%02x\n", pdu.bhs[0]);
			break;
		}
		break;
	}
	free(data);
	close(sock);
	return 0;
}
