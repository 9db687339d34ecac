// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi-io: a small libiscsi client for lunlink's tests.  libiscsi-bin has
 * no tool that writes or reads data, unmaps, or waits for a unit attention
 * on a live session; this one does, one SCSI command per subcommand, and
 * prints what the target answered.
 *
 *   iscsi-io URL write LBA FILE [fua|verify]
 *                                       WRITE(16) of FILE's bytes (verify:
 *                                       WRITE AND VERIFY(16))
 *   iscsi-io URL write-every COUNT STEP FILE
 *                                       on one session, COUNT WRITE(16)s of
 *                                       FILE's bytes, at LBA 0, STEP, 2*STEP...
 *   iscsi-io URL read LBA BLOCKS FILE   READ(16) into FILE
 *   iscsi-io URL sync                   SYNCHRONIZE CACHE(10), whole LUN
 *   iscsi-io URL unmap LBA BLOCKS       UNMAP one extent
 *   iscsi-io URL ws-unmap LBA BLOCKS    WRITE SAME(16) with the UNMAP bit
 *   iscsi-io URL capacity               READ CAPACITY(16): "BLOCKS BLOCKSIZE"
 *   iscsi-io URL lbp                    VPD B2: "lbpu=N lbpws=N lbprz=N"
 *   iscsi-io URL wce on|off             MODE SELECT the caching page's WCE bit
 *   iscsi-io URL caw LBA FILE           COMPARE AND WRITE: FILE holds the
 *                                       expected blocks, then the new ones
 *   iscsi-io URL stream COUNT [LBA0 [SPAN]]
 *                                       on one session, COUNT times: WRITE(16)
 *                                       block LBA0+i (with SPAN: block
 *                                       LBA0 + i*7919 % SPAN, scattered over
 *                                       SPAN blocks) filled with the byte
 *                                       i % 251 + 1, read it back, compare;
 *                                       print "acked LBA BYTE" for each
 *                                       write the target acknowledged; stops
 *                                       early once the file named by
 *                                       ISCSI_IO_STOP_FILE exists
 *   iscsi-io URL read-latency LBA BLOCKS
 *                                       on one session, READ(16) of BLOCKS at
 *                                       LBA again and again (1 ms apart)
 *                                       until the file named by
 *                                       ISCSI_IO_STOP_FILE exists; print
 *                                       "read START_US LATENCY_US" for each
 *                                       (START_US: wall clock, microseconds
 *                                       since the epoch, as date +%s%6N),
 *                                       then "reads N max_us M"
 *   iscsi-io URL check                  read "acked LBA BYTE" lines (stream's
 *                                       output) on stdin; check that each
 *                                       block holds its last acked byte (a
 *                                       block acked several times: the last);
 *                                       print "checked N blocks" or the
 *                                       first mismatch (exit 2)
 *   iscsi-io URL pr-register KEY        PERSISTENT RESERVE OUT, REGISTER AND
 *                                       IGNORE EXISTING KEY with KEY (0x...)
 *   iscsi-io URL pr-keys                PERSISTENT RESERVE IN: "key HEX" for
 *                                       each registered key (READ KEYS), then
 *                                       "reservation HEX type N" or
 *                                       "reservation none" (READ RESERVATION)
 *   iscsi-io URL await-ua               log in, clear pending unit attentions,
 *                                       print "ready", wait for a line on
 *                                       stdin, then TEST UNIT READY: print
 *                                       the unit attention it reports, and
 *                                       the capacity READ CAPACITY(16) gives
 *
 * ISCSI_IO_DIGEST=crc32c|none forces the header digest (default: offer
 * None,CRC32C and take what the target chooses).
 *
 * Exit status: 0 on GOOD, 2 when the target answered CHECK CONDITION (the
 * sense is printed as "sense KEY/ASC/ASCQ"), 1 on any other failure.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

static struct iscsi_context *iscsi;
static int lun;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "iscsi-io: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static void connect_to(const char *url_s, int clear_ua)
{
	struct iscsi_url *url;
	const char *name = getenv("ISCSI_IO_INITIATOR"), *digest;

	iscsi = iscsi_create_context(name ? name : "iqn.2026-11.org.lunlink:test-client");
	if (!iscsi)
		die("cannot create an iSCSI context%s", "");
	url = iscsi_parse_full_url(iscsi, url_s);
	if (!url)
		die("bad URL: %s", iscsi_get_error(iscsi));
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	digest = getenv("ISCSI_IO_DIGEST");
	iscsi_set_header_digest(iscsi, !digest ? ISCSI_HEADER_DIGEST_NONE_CRC32C :
				!strcmp(digest, "crc32c") ? ISCSI_HEADER_DIGEST_CRC32C :
				ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_timeout(iscsi, 30);
	/* a lost connection fails the command: tests kill targets on purpose */
	iscsi_set_noautoreconnect(iscsi, 1);
	lun = url->lun;
	/* with a LUN, libiscsi clears pending unit attentions by TEST UNIT READY */
	if (iscsi_full_connect_sync(iscsi, url->portal, clear_ua ? url->lun : -1))
		die("login failed: %s", iscsi_get_error(iscsi));
	iscsi_destroy_url(url);
}

/* 0 on GOOD; prints the sense and exits 2 on CHECK CONDITION. */
static void check(struct scsi_task *task, const char *what)
{
	if (!task)
		die("%s: no answer", what);
	if (task->status == SCSI_STATUS_GOOD)
		return;
	if (task->status == SCSI_STATUS_CHECK_CONDITION) {
		printf("sense %x/%02x/%02x\n", task->sense.key, (task->sense.ascq >> 8) & 0xff,
		       task->sense.ascq & 0xff);
		fprintf(stderr, "iscsi-io: %s: CHECK CONDITION %s (%s)\n", what,
			scsi_sense_key_str(task->sense.key) ? scsi_sense_key_str(task->sense.key) : "?",
			scsi_sense_ascq_str(task->sense.ascq) ? scsi_sense_ascq_str(task->sense.ascq) : "?");
		exit(2);
	}
	fprintf(stderr, "iscsi-io: %s: status 0x%x: %s\n", what, task->status,
		iscsi_get_error(iscsi));
	exit(1);
}

static uint32_t block_size(void)
{
	struct scsi_task *t = iscsi_readcapacity16_sync(iscsi, lun);
	struct scsi_readcapacity16 *rc;

	check(t, "READ CAPACITY(16)");
	rc = scsi_datain_unmarshall(t);
	if (!rc)
		die("cannot parse READ CAPACITY(16)%s", "");
	return rc->block_length;
}

static void print_capacity(void)
{
	struct scsi_task *t = iscsi_readcapacity16_sync(iscsi, lun);
	struct scsi_readcapacity16 *rc;

	check(t, "READ CAPACITY(16)");
	rc = scsi_datain_unmarshall(t);
	if (!rc)
		die("cannot parse READ CAPACITY(16)%s", "");
	printf("%llu %u\n", (unsigned long long)rc->returned_lba + 1, rc->block_length);
	scsi_free_scsi_task(t);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || !*s)
		die("not a number: %s", s);
	return v;
}

/* The whole of a file, in memory; its length in *len. */
static unsigned char *slurp(const char *path, uint32_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f)
		die("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (n < 0 || !buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("cannot read %s", path);
	fclose(f);
	*len = (uint32_t)n;
	return buf;
}

static int cmd_write(char **av, int ac)
{
	uint64_t lba = num(av[0]);
	int fua = ac > 2 && !strcmp(av[2], "fua");
	uint32_t len;
	unsigned char *buf = slurp(av[1], &len);

	if (ac > 2 && !strcmp(av[2], "verify"))	/* BYTCHK 0: the target reads back */
		check(iscsi_writeverify16_sync(iscsi, lun, lba, buf, len, (int)block_size(), 0, 0,
					       0, 0), "WRITE AND VERIFY(16)");
	else
		check(iscsi_write16_sync(iscsi, lun, lba, buf, len, (int)block_size(), 0, 0,
					 fua, 0, 0), "WRITE(16)");
	free(buf);
	return 0;
}

static int cmd_write_every(char **av)
{
	uint64_t count = num(av[0]), step = num(av[1]);
	uint32_t len;
	unsigned char *buf = slurp(av[2], &len);

	for (uint64_t i = 0; i < count; i++)
		check(iscsi_write16_sync(iscsi, lun, i * step, buf, len, (int)block_size(), 0, 0,
					 0, 0, 0), "WRITE(16)");
	free(buf);
	return 0;
}

static int cmd_read(char **av)
{
	uint64_t lba = num(av[0]), blocks = num(av[1]);
	uint32_t bs = block_size();
	struct scsi_task *t;
	FILE *f;

	t = iscsi_read16_sync(iscsi, lun, lba, (uint32_t)(blocks * bs), (int)bs, 0, 0, 0, 0, 0);
	check(t, "READ(16)");
	f = fopen(av[2], "wb");
	if (!f || fwrite(t->datain.data, 1, (size_t)t->datain.size, f) != (size_t)t->datain.size ||
	    fclose(f))
		die("cannot write %s", av[2]);
	scsi_free_scsi_task(t);
	return 0;
}

static int cmd_lbp(void)
{
	struct scsi_task *t = iscsi_inquiry_sync(iscsi, lun, 1,
				SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING, 255);
	struct scsi_inquiry_logical_block_provisioning *lbp;

	check(t, "INQUIRY VPD B2");
	lbp = scsi_datain_unmarshall(t);
	if (!lbp)
		die("cannot parse VPD page B2%s", "");
	printf("lbpu=%d lbpws=%d lbprz=%d\n", lbp->lbpu, lbp->lbpws, lbp->lbprz);
	return 0;
}

static int cmd_wce(const char *v)
{
	struct scsi_task *t = iscsi_modesense6_sync(iscsi, lun, 1, SCSI_MODESENSE_PC_CURRENT,
						    SCSI_MODEPAGE_CACHING, 0, 255);
	struct scsi_mode_sense *ms;
	struct scsi_mode_page *mp;

	check(t, "MODE SENSE(6)");
	ms = scsi_datain_unmarshall(t);
	mp = ms ? scsi_modesense_get_page(ms, SCSI_MODEPAGE_CACHING, 0) : NULL;
	if (!mp)
		die("no caching mode page%s", "");
	mp->caching.wce = !strcmp(v, "on");
	check(iscsi_modeselect6_sync(iscsi, lun, 1, 0, mp), "MODE SELECT(6)");
	scsi_free_scsi_task(t);
	return 0;
}

static int cmd_caw(char **av)
{
	uint64_t lba = num(av[0]);
	uint32_t bs = block_size(), len;
	unsigned char *buf = slurp(av[1], &len);

	check(iscsi_compareandwrite_sync(iscsi, lun, lba, buf, len, (int)bs, 0, 0, 0, 0, 0),
	      "COMPARE AND WRITE");
	free(buf);
	return 0;
}

/* A unit attention to report and retry after (freed), or not. */
static int is_ua(struct scsi_task *t)
{
	if (!t || t->status != SCSI_STATUS_CHECK_CONDITION ||
	    t->sense.key != SCSI_SENSE_UNIT_ATTENTION)
		return 0;
	fprintf(stderr, "iscsi-io: unit attention %02x/%02x, retrying\n",
		(t->sense.ascq >> 8) & 0xff, t->sense.ascq & 0xff);
	scsi_free_scsi_task(t);
	return 1;
}

static int cmd_stream(char **av, int ac)
{
	uint64_t count = num(av[0]), lba0 = ac > 1 ? num(av[1]) : 0, span = ac > 2 ? num(av[2]) : 0;
	uint64_t i, lba;
	const char *stop = getenv("ISCSI_IO_STOP_FILE");
	uint32_t bs = block_size();
	unsigned char *buf = malloc(bs);
	struct scsi_task *t;

	if (!buf)
		die("out of memory%s", "");
	unsigned int uas = 0;

	for (i = 0; i < count && !(stop && !access(stop, F_OK)); i++) {
		unsigned char v = (unsigned char)(i % 251 + 1);

		lba = lba0 + (span ? i * 7919 % span : i);
		memset(buf, v, bs);
		/* as an initiator does: a unit attention is reported, the
		 * command retried */
		while (is_ua(t = iscsi_write16_sync(iscsi, lun, lba, buf, bs, (int)bs,
						    0, 0, 0, 0, 0)))
			uas++;
		check(t, "WRITE(16)");
		printf("acked %llu %u\n", (unsigned long long)lba, v);
		fflush(stdout);
		scsi_free_scsi_task(t);
		while (is_ua(t = iscsi_read16_sync(iscsi, lun, lba, bs, (int)bs,
						   0, 0, 0, 0, 0)))
			uas++;
		check(t, "READ(16)");
		if (t->datain.size != (int)bs || memcmp(t->datain.data, buf, bs))
			die("block read back differs from what was written%s", "");
		scsi_free_scsi_task(t);
	}
	printf("unit-attentions %u\n", uas);
	free(buf);
	return 0;
}

static uint64_t now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Each read's latency: a target whose event loop stalls shows it here,
 * in the read that was waiting (or the next one). */
static int cmd_read_latency(char **av)
{
	uint64_t lba = num(av[0]), n = 0, max = 0, wall, t0, lat;
	uint32_t blocks = (uint32_t)num(av[1]), bs = block_size();
	const char *stop = getenv("ISCSI_IO_STOP_FILE");
	struct timespec gap = { 0, 1000000 };
	struct scsi_task *t;

	if (!stop)
		die("read-latency needs ISCSI_IO_STOP_FILE%s", "");
	while (access(stop, F_OK)) {
		wall = now_us(CLOCK_REALTIME);
		t0 = now_us(CLOCK_MONOTONIC);
		while (is_ua(t = iscsi_read16_sync(iscsi, lun, lba, blocks * bs, (int)bs,
						   0, 0, 0, 0, 0)))
			;
		lat = now_us(CLOCK_MONOTONIC) - t0;
		check(t, "READ(16)");
		scsi_free_scsi_task(t);
		printf("read %llu %llu\n", (unsigned long long)wall, (unsigned long long)lat);
		n++;
		if (lat > max)
			max = lat;
		nanosleep(&gap, NULL);
	}
	printf("reads %llu max_us %llu\n", (unsigned long long)n, (unsigned long long)max);
	return 0;
}

struct acked {
	unsigned long long lba;
	unsigned int byte;
	size_t line;
};

static int by_lba_then_line(const void *a, const void *b)
{
	const struct acked *x = a, *y = b;

	if (x->lba != y->lba)
		return x->lba < y->lba ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Each block written more than once is checked against its last byte. */
static int cmd_check(void)
{
	uint32_t bs = block_size();
	struct acked *v = NULL, *nv;
	size_t n = 0, cap = 0, i, checked = 0;
	char line[128];

	while (fgets(line, sizeof(line), stdin)) {
		struct acked a;

		if (sscanf(line, "acked %llu %u", &a.lba, &a.byte) != 2)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				die("out of memory%s", "");
			v = nv;
		}
		a.line = n;
		v[n++] = a;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_lba_then_line);
	for (i = 0; i < n; i++) {
		struct scsi_task *t;
		uint32_t j;

		if (i + 1 < n && v[i + 1].lba == v[i].lba)
			continue;	/* written again later */
		while (is_ua(t = iscsi_read16_sync(iscsi, lun, v[i].lba, bs, (int)bs, 0, 0, 0, 0, 0)))
			;
		check(t, "READ(16)");
		for (j = 0; j < bs; j++)
			if (t->datain.data[j] != v[i].byte) {
				printf("mismatch at LBA %llu byte %u: holds %u, acked %u\n", v[i].lba, j,
				       t->datain.data[j], v[i].byte);
				free(v);
				return 2;
			}
		scsi_free_scsi_task(t);
		checked++;
	}
	free(v);
	printf("checked %zu blocks\n", checked);
	return 0;
}

static int cmd_await_ua(void)
{
	char line[64];
	struct scsi_task *t;

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed before the go line%s", "");
	t = iscsi_testunitready_sync(iscsi, lun);
	if (!t)
		die("TEST UNIT READY: %s", iscsi_get_error(iscsi));
	if (t->status == SCSI_STATUS_CHECK_CONDITION)
		printf("ua %x/%02x/%02x\n", t->sense.key, (t->sense.ascq >> 8) & 0xff,
		       t->sense.ascq & 0xff);
	else
		printf("no-ua status=%d\n", t->status);
	scsi_free_scsi_task(t);
	/* more changes may have queued more unit attentions: take them */
	while (is_ua(t = iscsi_testunitready_sync(iscsi, lun)))
		;
	if (t)
		scsi_free_scsi_task(t);
	print_capacity();
	return 0;
}

static int cmd_pr_register(const char *key)
{
	struct scsi_persistent_reserve_out_basic p = { .service_action_reservation_key = num(key) };
	struct scsi_task *t = iscsi_persistent_reserve_out_sync(iscsi, lun,
		SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
		SCSI_PERSISTENT_RESERVE_SCOPE_LU, 0, &p);

	check(t, "PERSISTENT RESERVE OUT (REGISTER AND IGNORE EXISTING KEY)");
	scsi_free_scsi_task(t);
	return 0;
}

static int cmd_pr_keys(void)
{
	struct scsi_persistent_reserve_in_read_keys *rk;
	struct scsi_persistent_reserve_in_read_reservation *rr;
	struct scsi_task *t = iscsi_persistent_reserve_in_sync(iscsi, lun,
		SCSI_PERSISTENT_RESERVE_READ_KEYS, 8 + 8 * 512);

	check(t, "PERSISTENT RESERVE IN (READ KEYS)");
	rk = scsi_datain_unmarshall(t);
	if (!rk)
		die("READ KEYS: %s", "cannot read the answer");
	for (int i = 0; i < rk->num_keys; i++)
		printf("key %016llx\n", (unsigned long long)rk->keys[i]);
	scsi_free_scsi_task(t);
	t = iscsi_persistent_reserve_in_sync(iscsi, lun, SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 24);
	check(t, "PERSISTENT RESERVE IN (READ RESERVATION)");
	rr = scsi_datain_unmarshall(t);
	if (!rr)
		die("READ RESERVATION: %s", "cannot read the answer");
	if (rr->reserved)
		printf("reservation %016llx type %u\n", (unsigned long long)rr->reservation_key,
		       rr->pr_type);
	else
		printf("reservation none\n");
	scsi_free_scsi_task(t);
	return 0;
}

int main(int argc, char **argv)
{
	const char *op;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: iscsi-io URL write|write-every|read|sync|unmap|ws-unmap|capacity|lbp|wce|caw|stream|read-latency|check|await-ua|pr-register|pr-keys ...\n");
		return 1;
	}
	op = argv[2];
	connect_to(argv[1], 1);

	if (!strcmp(op, "write") && argc >= 5)
		ret = cmd_write(argv + 3, argc - 3);
	else if (!strcmp(op, "write-every") && argc == 6)
		ret = cmd_write_every(argv + 3);
	else if (!strcmp(op, "read") && argc == 6)
		ret = cmd_read(argv + 3);
	else if (!strcmp(op, "sync")) {
		check(iscsi_synchronizecache10_sync(iscsi, lun, 0, 0, 0, 0), "SYNCHRONIZE CACHE(10)");
		ret = 0;
	} else if (!strcmp(op, "unmap") && argc == 5) {
		struct unmap_list ul = { .lba = num(argv[3]), .num = (uint32_t)num(argv[4]) };

		check(iscsi_unmap_sync(iscsi, lun, 0, 0, &ul, 1), "UNMAP");
		ret = 0;
	} else if (!strcmp(op, "ws-unmap") && argc == 5) {
		uint32_t bs = block_size();
		unsigned char *zero = calloc(1, bs);

		check(iscsi_writesame16_sync(iscsi, lun, num(argv[3]), zero, bs,
					     (int)num(argv[4]), 0, 1, 0, 0), "WRITE SAME(16)");
		free(zero);
		ret = 0;
	} else if (!strcmp(op, "capacity")) {
		print_capacity();
		ret = 0;
	} else if (!strcmp(op, "lbp"))
		ret = cmd_lbp();
	else if (!strcmp(op, "wce") && argc == 4)
		ret = cmd_wce(argv[3]);
	else if (!strcmp(op, "caw") && argc == 5)
		ret = cmd_caw(argv + 3);
	else if (!strcmp(op, "stream") && argc >= 4)
		ret = cmd_stream(argv + 3, argc - 3);
	else if (!strcmp(op, "read-latency") && argc == 5)
		ret = cmd_read_latency(argv + 3);
	else if (!strcmp(op, "check"))
		ret = cmd_check();
	else if (!strcmp(op, "await-ua"))
		ret = cmd_await_ua();
	else if (!strcmp(op, "pr-register") && argc == 4)
		ret = cmd_pr_register(argv[3]);
	else if (!strcmp(op, "pr-keys"))
		ret = cmd_pr_keys();
	else {
		fprintf(stderr, "iscsi-io: unknown or incomplete subcommand '%s'\n", op);
		ret = 1;
	}
	iscsi_logout_sync(iscsi);
	iscsi_destroy_context(iscsi);
	return ret;
}
