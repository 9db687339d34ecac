// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi-pr: a small libiscsi client for lunlink's persistent reservation
 * tests: one login as a chosen initiator port, one command, the answer
 * printed, logout.  Two runs with the same name and ISID are the same
 * initiator port logging in again (what a registration must survive).
 *
 *   iscsi-pr [-n NAME] [-q QUALIFIER] URL COMMAND ARGS...
 *     -n NAME        the initiator name (default iqn.2026-11.org.lunlink:pr-a)
 *     -q QUALIFIER   the ISID's qualifier, 0-65535 (default 1): the ISID is
 *                    of the random type, 0x80 0x00 0x12 0x34 then QUALIFIER
 *     -w             log in without libiscsi's TEST UNIT READY (which gives
 *                    up on NOT READY), clear the login's unit attentions,
 *                    print "ready", wait for a line on stdin, then run the
 *                    command on that session (it then meets the unit
 *                    attentions queued meanwhile)
 *   Commands (KEY, SAKEY in hex; TYPE 1, 3, 5, 6, 7 or 8):
 *     register RKEY SAKEY [aptpl] [all_tg_pt]   PR OUT REGISTER
 *     register-ignore SAKEY [aptpl]             REGISTER AND IGNORE EXISTING KEY
 *     reserve KEY TYPE | release KEY TYPE       RESERVE, RELEASE
 *     preempt KEY SAKEY TYPE [abort]            PREEMPT (AND ABORT)
 *     clear KEY                                 CLEAR
 *     read-keys          "generation N" and a "key K" line for each key
 *     read-reservation   "reservation KEY TYPE" or "no reservation"
 *     capabilities       "ptpl_c N ptpl_a N"
 *     read-full-status   "generation N" and, for each registration,
 *                        "reg KEY holder 0|1 type T rtpi N all_tg_pt 0|1 id ID"
 *     write LBA | read LBA   WRITE(10)/READ(10) of one 512-byte block
 *     reserve6 | release6    SPC-2 RESERVE(6), RELEASE(6)
 *     await-ua KEY       register KEY (ignoring any), print "ready", wait for
 *                        a line on stdin, then TEST UNIT READY on the same
 *                        session: "GOOD", or the unit attention it reports
 *                        ("sense 6/2a/04")
 *     hold-writes KEY TYPE COUNT
 *                        register KEY (ignoring any), reserve TYPE, print
 *                        "reserved", then keep 16 WRITE(10)s with FUA of
 *                        64 KiB in flight, COUNT in all, until one is not
 *                        GOOD; print "acked N" and how the first that was
 *                        not GOOD ended (as above)
 *
 * Output and exit status: "GOOD" and 0; "RESERVATION CONFLICT" and 3;
 * "sense KEY/ASC/ASCQ" (hex) and 2 for CHECK CONDITION; 1 on anything else.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

static struct iscsi_context *iscsi;
static int lun;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "iscsi-pr: %s: %s\n", what, why);
	exit(1);
}

static uint64_t hex(const char *s, const char *what)
{
	char *end;
	uint64_t v = strtoull(s, &end, 16);

	if (!*s || *end)
		die(what, "not a hexadecimal number");
	return v;
}

static void connect_to(const char *name, unsigned int qualifier, const char *url_s, int wait)
{
	struct iscsi_url *url;

	iscsi = iscsi_create_context(name);
	if (!iscsi)
		die("iscsi_create_context", "failed");
	url = iscsi_parse_full_url(iscsi, url_s);
	if (!url)
		die("bad URL", iscsi_get_error(iscsi));
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_timeout(iscsi, 30);
	iscsi_set_noautoreconnect(iscsi, 1);
	/* the same ISID every run: the same initiator port */
	iscsi_set_isid_random(iscsi, 0x001234, qualifier);
	lun = url->lun;
	if (wait) {
		char line[16];

		if (iscsi_connect_sync(iscsi, url->portal) || iscsi_login_sync(iscsi))
			die("login failed", iscsi_get_error(iscsi));
		/* the login's own (POWER ON, REPORTED LUNS DATA CHANGED...):
		 * any other answer (NOT READY) is left for the command */
		for (int i = 0; i < 8; i++) {
			struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
			int ua = t && t->status == SCSI_STATUS_CHECK_CONDITION &&
				 t->sense.key == SCSI_SENSE_UNIT_ATTENTION;

			if (t)
				scsi_free_scsi_task(t);
			if (!ua)
				break;
		}
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			die("stdin", "closed before a line came");
	} else if (iscsi_full_connect_sync(iscsi, url->portal, url->lun)) {
		die("login failed", iscsi_get_error(iscsi));
	}
	iscsi_destroy_url(url);
}

/* Run cdb with data out (out, olen) or in (ilen bytes); print the status
 * and exit unless GOOD. */
static struct scsi_task *run(uint8_t *cdb, int cdb_len, uint8_t *out, int olen, int ilen)
{
	struct scsi_task *t = scsi_create_task(cdb_len, cdb,
					       olen ? SCSI_XFER_WRITE : ilen ? SCSI_XFER_READ :
					       SCSI_XFER_NONE, olen ? olen : ilen);
	struct iscsi_data d = { .size = (size_t)olen, .data = out };

	if (!t)
		die("scsi_create_task", "failed");
	if (!iscsi_scsi_command_sync(iscsi, lun, t, olen ? &d : NULL))
		die("command", iscsi_get_error(iscsi));
	switch (t->status) {
	case SCSI_STATUS_GOOD:
		return t;
	case SCSI_STATUS_RESERVATION_CONFLICT:
		printf("RESERVATION CONFLICT\n");
		iscsi_logout_sync(iscsi);
		exit(3);
	case SCSI_STATUS_CHECK_CONDITION:
		printf("sense %x/%02x/%02x\n", t->sense.key, (t->sense.ascq >> 8) & 0xff,
		       t->sense.ascq & 0xff);
		iscsi_logout_sync(iscsi);
		exit(2);
	}
	fprintf(stderr, "iscsi-pr: status 0x%x: %s\n", t->status, iscsi_get_error(iscsi));
	exit(1);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void pr_out(int sa, int type, uint64_t rkey, uint64_t sakey, uint8_t flags)
{
	uint8_t cdb[10] = { 0x5f, (uint8_t)sa, (uint8_t)type, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t p[24] = { 0 };

	put64(p, rkey);
	put64(p + 8, sakey);
	p[20] = flags;
	run(cdb, 10, p, 24, 0);
}

static struct scsi_task *pr_in(int sa)
{
	uint8_t cdb[10] = { 0x5e, (uint8_t)sa, 0, 0, 0, 0, 0, 0x10, 0x00, 0 };

	return run(cdb, 10, NULL, 0, 0x1000);
}

/* hold-writes: the writes in flight and how they ended */
static struct {
	unsigned int inflight, sent, count, acked;
	int stop;		/* 0 running, else the status that stopped it */
	int sense_key, ascq;	/* its sense, for CHECK CONDITION */
	uint8_t data[64 * 1024];
} hw;

static void hold_send(void);

static void hold_done(struct iscsi_context *ctx, int status, void *command_data, void *priv)
{
	struct scsi_task *t = command_data;

	(void)ctx;
	(void)priv;
	hw.inflight--;
	if (status == SCSI_STATUS_GOOD)
		hw.acked++;
	else if (!hw.stop) {
		hw.stop = t && t->status ? t->status : -1;
		if (t && t->status == SCSI_STATUS_CHECK_CONDITION) {
			hw.sense_key = t->sense.key;
			hw.ascq = t->sense.ascq;
		}
	}
	if (t)
		scsi_free_scsi_task(t);
	hold_send();
}

static void hold_send(void)
{
	while (!hw.stop && hw.inflight < 16 && hw.sent < hw.count) {
		uint32_t lba = (hw.sent % 256) * 128;

		if (!iscsi_write10_task(iscsi, lun, lba, hw.data, sizeof(hw.data), 512, 0, 0, 1, 0, 0,
					hold_done, NULL))
			die("WRITE(10)", iscsi_get_error(iscsi));
		hw.inflight++;
		hw.sent++;
	}
}

static int hold_writes(unsigned int count)
{
	struct pollfd pfd;

	printf("reserved\n");
	fflush(stdout);
	memset(hw.data, 0x77, sizeof(hw.data));
	hw.count = count;
	hold_send();
	while (hw.inflight) {
		pfd.fd = iscsi_get_fd(iscsi);
		pfd.events = (short)iscsi_which_events(iscsi);
		if (poll(&pfd, 1, 30000) <= 0)
			die("poll", "no answer in 30 s");
		if (iscsi_service(iscsi, pfd.revents))
			die("iscsi_service", iscsi_get_error(iscsi));
	}
	printf("acked %u\n", hw.acked);
	if (hw.stop == SCSI_STATUS_RESERVATION_CONFLICT) {
		printf("RESERVATION CONFLICT\n");
		return 3;
	}
	if (hw.stop == SCSI_STATUS_CHECK_CONDITION) {
		printf("sense %x/%02x/%02x\n", hw.sense_key, (hw.ascq >> 8) & 0xff, hw.ascq & 0xff);
		return 2;
	}
	if (hw.stop) {
		printf("status 0x%x\n", (unsigned int)hw.stop);
		return 1;
	}
	printf("GOOD\n");
	return 0;
}

static int has(int argc, char **argv, int from, const char *word)
{
	for (int i = from; i < argc; i++)
		if (!strcmp(argv[i], word))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = "iqn.2026-11.org.lunlink:pr-a", *cmd;
	unsigned int qualifier = 1;
	struct scsi_task *t;
	int c, wait = 0;

	while ((c = getopt(argc, argv, "n:q:w")) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'w')
			wait = 1;
		else if (c == 'q')
			qualifier = (unsigned int)strtoul(optarg, NULL, 0) & 0xffff;
		else
			return 1;
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: iscsi-pr [-n NAME] [-q QUALIFIER] [-w] URL COMMAND ARGS...\n");
		return 1;
	}
	connect_to(name, qualifier, argv[optind], wait);
	cmd = argv[optind + 1];
	argv += optind + 2;
	argc -= optind + 2;

	if (!strcmp(cmd, "register") && argc >= 2) {
		pr_out(0, 0, hex(argv[0], "RKEY"), hex(argv[1], "SAKEY"),
		       (uint8_t)((has(argc, argv, 2, "aptpl") ? 1 : 0) |
				 (has(argc, argv, 2, "all_tg_pt") ? 4 : 0)));
	} else if (!strcmp(cmd, "register-ignore") && argc >= 1) {
		pr_out(6, 0, 0, hex(argv[0], "SAKEY"), has(argc, argv, 1, "aptpl") ? 1 : 0);
	} else if ((!strcmp(cmd, "reserve") || !strcmp(cmd, "release")) && argc == 2) {
		pr_out(cmd[2] == 's' ? 1 : 2, atoi(argv[1]), hex(argv[0], "KEY"), 0, 0);
	} else if (!strcmp(cmd, "preempt") && argc >= 3) {
		pr_out(has(argc, argv, 3, "abort") ? 5 : 4, atoi(argv[2]), hex(argv[0], "KEY"),
		       hex(argv[1], "SAKEY"), 0);
	} else if (!strcmp(cmd, "clear") && argc == 1) {
		pr_out(3, 0, hex(argv[0], "KEY"), 0, 0);
	} else if (!strcmp(cmd, "read-keys")) {
		const uint8_t *d;
		uint32_t n;

		t = pr_in(0);
		d = t->datain.data;
		n = get32(d + 4);
		printf("generation %u\n", get32(d));
		for (uint32_t i = 0; i < n / 8 && 8 + 8 * (i + 1) <= (uint32_t)t->datain.size; i++)
			printf("key %llx\n", (unsigned long long)get64(d + 8 + 8 * i));
		return 0;
	} else if (!strcmp(cmd, "read-reservation")) {
		const uint8_t *d;

		t = pr_in(1);
		d = t->datain.data;
		if (get32(d + 4) >= 16 && t->datain.size >= 24)
			printf("reservation %llx %d\n", (unsigned long long)get64(d + 8), d[21] & 0xf);
		else
			printf("no reservation\n");
		return 0;
	} else if (!strcmp(cmd, "capabilities")) {
		t = pr_in(2);
		printf("ptpl_c %d ptpl_a %d\n", t->datain.data[2] & 1, t->datain.data[3] & 1);
		return 0;
	} else if (!strcmp(cmd, "read-full-status")) {
		const uint8_t *d;
		uint32_t add, off = 8;

		t = pr_in(3);
		d = t->datain.data;
		add = get32(d + 4);
		printf("generation %u\n", get32(d));
		while (off + 24 <= 8 + add && off + 24 <= (uint32_t)t->datain.size) {
			uint32_t tl = get32(d + off + 20);

			if (off + 24 + tl > (uint32_t)t->datain.size || tl < 5)
				break;
			printf("reg %llx holder %d type %d rtpi %d all_tg_pt %d id %.*s\n",
			       (unsigned long long)get64(d + off), d[off + 12] & 1, d[off + 13] & 0xf,
			       d[off + 18] << 8 | d[off + 19], (d[off + 12] >> 1) & 1,
			       (int)strnlen((const char *)d + off + 28, tl - 4), d + off + 28);
			off += 24 + tl;
		}
		return 0;
	} else if (!strcmp(cmd, "await-ua") && argc == 1) {
		uint8_t tur[6] = { 0 };
		char line[16];

		pr_out(6, 0, 0, hex(argv[0], "KEY"), 0);
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			die("await-ua", "stdin closed before the line");
		run(tur, 6, NULL, 0, 0);
	} else if (!strcmp(cmd, "hold-writes") && argc == 3) {
		uint64_t key = hex(argv[0], "KEY");
		int rc;

		pr_out(6, 0, 0, key, 0);
		pr_out(1, atoi(argv[1]), key, 0, 0);
		rc = hold_writes((unsigned int)strtoul(argv[2], NULL, 0));
		iscsi_logout_sync(iscsi);
		return rc;
	} else if (!strcmp(cmd, "reserve6") || !strcmp(cmd, "release6")) {
		uint8_t cdb[6] = { cmd[2] == 's' ? 0x16 : 0x17 };

		run(cdb, 6, NULL, 0, 0);
	} else if ((!strcmp(cmd, "write") || !strcmp(cmd, "read")) && argc == 1) {
		uint32_t lba = (uint32_t)strtoul(argv[0], NULL, 0);
		uint8_t cdb[10] = { cmd[0] == 'w' ? 0x2a : 0x28, 0, (uint8_t)(lba >> 24),
				    (uint8_t)(lba >> 16), (uint8_t)(lba >> 8), (uint8_t)lba, 0, 0, 1, 0 };
		uint8_t block[512];

		memset(block, 0x5a, sizeof(block));
		if (cmd[0] == 'w')
			run(cdb, 10, block, 512, 0);
		else
			run(cdb, 10, NULL, 0, 512);
	} else {
		fprintf(stderr, "iscsi-pr: unknown command or wrong arguments: %s\n", cmd);
		return 1;
	}
	printf("GOOD\n");
	iscsi_logout_sync(iscsi);
	iscsi_destroy_context(iscsi);
	return 0;
}
