// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/rescand-uevent.c: unit tests (TAP) of lunlink-rescand's uevent
 * parser and classifier (initiator/uevent.c) and of H:C:T:L addresses
 * (initiator/hctl.c): the kernel's real messages, then malformed,
 * truncated and oversized ones.
 */
#include "uevent.h"
#include "tap.h"

#include <stdlib.h>

static struct rd_uevent ev;
static char err[256];

/* Build a message from NUL-separated parts: msg("a@/b", "K=V", NULL). */
static size_t msg(char *buf, size_t cap, ...)
{
	va_list ap;
	const char *s;
	size_t n = 0;

	va_start(ap, cap);
	while ((s = va_arg(ap, const char *))) {
		size_t l = strlen(s) + 1;

		if (n + l > cap)
			break;
		memcpy(buf + n, s, l);
		n += l;
	}
	va_end(ap);
	return n;
}

#define DEVPATH "/devices/platform/host2/session1/target2:0:0/2:0:0:1"

static size_t scsi_ua(char *buf, size_t cap, const char *ua)
{
	return msg(buf, cap, "change@" DEVPATH, "ACTION=change", "DEVPATH=" DEVPATH,
		   "SUBSYSTEM=scsi", "DEVTYPE=scsi_device", ua, "SEQNUM=4711", NULL);
}

static void test_kernel_messages(void)
{
	char buf[1024];
	struct rd_hctl h;
	size_t n = scsi_ua(buf, sizeof(buf), "SDEV_UA=REPORTED_LUNS_DATA_HAS_CHANGED");

	is_int(rd_uevent_parse(buf, n, &ev, err, sizeof(err)), 0, "a LUN change uevent parses");
	is_str(ev.action, "change", "  action from the header");
	is_str(ev.devpath, DEVPATH, "  devpath from the header");
	is_str(ev.subsystem, "scsi", "  SUBSYSTEM");
	is_str(ev.devtype, "scsi_device", "  DEVTYPE");
	is_str(ev.sdev_ua, "REPORTED_LUNS_DATA_HAS_CHANGED", "  SDEV_UA");
	is_u64(ev.seqnum, 4711, "  SEQNUM");
	is_int(ev.nfields, 6, "  six fields");
	is_str(rd_uevent_get(&ev, "DEVTYPE"), "scsi_device", "  rd_uevent_get finds a key");
	ok(!rd_uevent_get(&ev, "MAJOR"), "  and NULL for an absent one");
	is_int(rd_uevent_classify(&ev, &h), RD_UEVENT_LUNS_CHANGED, "  classified: LUNs changed");
	ok(h.host == 2 && h.channel == 0 && h.target == 0 && h.lun == 1, "  on 2:0:0:1");

	n = scsi_ua(buf, sizeof(buf), "SDEV_UA=CAPACITY_DATA_HAS_CHANGED");
	is_int(rd_uevent_parse(buf, n, &ev, err, sizeof(err)), 0, "a capacity uevent parses");
	is_int(rd_uevent_classify(&ev, &h), RD_UEVENT_CAPACITY_CHANGED, "  classified: capacity");

	n = scsi_ua(buf, sizeof(buf), "SDEV_UA=MODE_PARAMETERS_CHANGED");
	is_int(rd_uevent_parse(buf, n, &ev, err, sizeof(err)), 0, "another UA parses");
	is_int(rd_uevent_classify(&ev, &h), RD_UEVENT_OTHER, "  and is not ours");

	n = scsi_ua(buf, sizeof(buf), "SDEV_MEDIA_CHANGE=1");
	rd_uevent_parse(buf, n, &ev, err, sizeof(err));
	is_int(rd_uevent_classify(&ev, &h), RD_UEVENT_OTHER, "a media change is not ours");

	n = msg(buf, sizeof(buf), "add@" DEVPATH, "ACTION=add", "SUBSYSTEM=scsi",
		"DEVTYPE=scsi_device", "SDEV_UA=REPORTED_LUNS_DATA_HAS_CHANGED", NULL);
	rd_uevent_parse(buf, n, &ev, err, sizeof(err));
	is_int(rd_uevent_classify(&ev, &h), RD_UEVENT_SDEV_ADDED,
	       "an add with SDEV_UA is a device added, not a unit attention");

	n = msg(buf, sizeof(buf), "change@" DEVPATH, "SUBSYSTEM=block", "DEVTYPE=disk",
		"SDEV_UA=REPORTED_LUNS_DATA_HAS_CHANGED", NULL);
	rd_uevent_parse(buf, n, &ev, err, sizeof(err));
	is_int(rd_uevent_classify(&ev, &h), RD_UEVENT_OTHER, "a block device's change is not ours");

	n = msg(buf, sizeof(buf), "change@/devices/x/scsi_device", "SUBSYSTEM=scsi",
		"DEVTYPE=scsi_device", "SDEV_UA=REPORTED_LUNS_DATA_HAS_CHANGED", NULL);
	rd_uevent_parse(buf, n, &ev, err, sizeof(err));
	is_int(rd_uevent_classify(&ev, &h), RD_UEVENT_OTHER, "a devpath not ending in H:C:T:L is not ours");

	n = msg(buf, sizeof(buf), "change@/devices/x/4294967296:0:0:1", "SUBSYSTEM=scsi",
		"DEVTYPE=scsi_device", "SDEV_UA=REPORTED_LUNS_DATA_HAS_CHANGED", NULL);
	rd_uevent_parse(buf, n, &ev, err, sizeof(err));
	is_int(rd_uevent_classify(&ev, &h), RD_UEVENT_OTHER, "a host number over 32 bits is not ours");

	n = msg(buf, sizeof(buf), "change@/devices/x", NULL);
	is_int(rd_uevent_parse(buf, n, &ev, err, sizeof(err)), 0, "a header alone parses");
	is_int(ev.nfields, 0, "  with no fields");
}

/* The message from parts is refused with a reason containing sub. */
static void refused_bytes(const char *name, const void *buf, size_t n, const char *sub)
{
	memset(err, 0, sizeof(err));
	is_int(rd_uevent_parse(buf, n, &ev, err, sizeof(err)), -1, "%s: refused", name);
	like(err, sub, "  because: %s", sub);
}

static void test_malformed(void)
{
	static const struct {
		const char *name, *bytes;
		size_t len;
		const char *why;
	} cases[] = {
#define C(name, lit, why) { name, lit, sizeof(lit) - 1, why }
		C("no @ in the header", "change/devices/x\0A=b\0", "no '@'"),
		C("empty action", "@/devices/x\0A=b\0", "empty or unprintable action"),
		C("relative devpath", "change@devices/x\0A=b\0", "does not start with '/'"),
		C("a field without =", "change@/d\0ACTION\0", "has no KEY="),
		C("a field starting with =", "change@/d\0=x\0", "has no KEY="),
		C("a lower-case key", "change@/d\0action=change\0", "a key of other than"),
		C("a control byte in a value", "change@/d\0A=b\nc\0", "unprintable value"),
		C("a high byte in a value", "change@/d\0A=\xff\0", "unprintable value"),
		C("an empty field", "change@/d\0A=b\0\0C=d\0", "empty field 2"),
		C("ACTION disagrees", "change@/d\0ACTION=add\0", "disagrees"),
		C("DEVPATH disagrees", "change@/d\0DEVPATH=/e\0", "DEVPATH disagrees"),
		C("SEQNUM not a number", "change@/d\0SEQNUM=1x\0", "not a number"),
		C("SEQNUM overflows", "change@/d\0SEQNUM=18446744073709551616\0", "not a number"),
		C("udev's format", "libudev\0\xfe\xed\xca\xfe", "udev message"),
		C("not NUL-terminated", "change@/d\0A=b", "truncated"),
		C("a header not NUL-terminated", "change@/d", "truncated"),
#undef C
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused_bytes(cases[i].name, cases[i].bytes, cases[i].len, cases[i].why);
	refused_bytes("an empty message", "", 0, "empty message");
}

static void test_truncated(void)
{
	char buf[1024];
	size_t n = scsi_ua(buf, sizeof(buf), "SDEV_UA=REPORTED_LUNS_DATA_HAS_CHANGED");
	unsigned int bad = 0, cut_at_nul_ok = 0, cut_elsewhere_refused = 0, cuts = 0;

	/* every prefix: refused unless it ends right after a NUL, where it is
	 * a shorter but whole message */
	for (size_t len = 1; len < n; len++) {
		int rc = rd_uevent_parse(buf, len, &ev, err, sizeof(err));

		cuts++;
		if (buf[len - 1] == '\0') {
			if (rc == 0)
				cut_at_nul_ok++;
			else
				bad++;
		} else if (rc == -1 && strstr(err, "truncated")) {
			cut_elsewhere_refused++;
		} else {
			bad++;
		}
	}
	is_int(bad, 0, "every one of %u prefixes of a message: whole fields parse, cut ones are "
	       "refused as truncated", cuts);
	ok(cut_at_nul_ok >= 6 && cut_elsewhere_refused > 100, "  (%u whole, %u cut)",
	   cut_at_nul_ok, cut_elsewhere_refused);
}

static void test_bounds(void)
{
	char *big = malloc(1 << 20);
	char small[8], buf[4096];
	size_t n;
	int rc;

	/* exactly RD_UEVENT_MAX bytes: accepted; one more: refused */
	n = (size_t)snprintf(big, 64, "change@/d%cBIG=", '\0');	/* 14 bytes */
	memset(big + n, 'a', RD_UEVENT_MAX - n - 1);
	big[RD_UEVENT_MAX - 1] = '\0';
	is_int(rd_uevent_parse(big, RD_UEVENT_MAX, &ev, err, sizeof(err)), 0,
	       "a message of exactly %d bytes parses", RD_UEVENT_MAX);
	is_int(strlen(rd_uevent_get(&ev, "BIG")), RD_UEVENT_MAX - 15, "  its long value is whole");
	memset(big + n, 'a', RD_UEVENT_MAX - n);
	big[RD_UEVENT_MAX] = '\0';
	refused_bytes("a message of 8193 bytes", big, RD_UEVENT_MAX + 1, "more than the 8192 accepted");
	memset(big, 'a', 1 << 20);
	refused_bytes("a message of 1 MiB", big, 1 << 20, "more than the 8192 accepted");
	free(big);

	/* 64 fields: accepted; 65: refused */
	n = msg(buf, sizeof(buf), "change@/d", NULL);
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "K%d=v", i) + 1;
	is_int(rd_uevent_parse(buf, n, &ev, err, sizeof(err)), 0, "64 fields parse");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "K64=v") + 1;
	refused_bytes("65 fields", buf, n, "more than 64 fields");

	/* an err buffer of 1 byte still ends in NUL; NULL is allowed */
	memset(small, 'x', sizeof(small));
	rc = rd_uevent_parse("nonsense", 8, &ev, small, 1);
	ok(rc == -1 && small[0] == '\0' && small[1] == 'x', "a 1-byte err buffer: NUL, no overrun");
	is_int(rd_uevent_parse("nonsense", 8, &ev, NULL, 0), -1, "a NULL err buffer is fine");
}

#define HOST "/devices/platform/host3"
#define SESSION HOST "/session2"

/* action, devpath, subsystem, devtype (NULL: none): as the kernel sends */
static enum rd_uevent_kind kind_of(const char *action, const char *devpath, const char *subsystem,
				   const char *devtype, struct rd_hctl *h)
{
	char buf[1024], a[256], d[512], s[64], t[64];
	size_t n;

	snprintf(a, sizeof(a), "%s@%s", action, devpath);
	snprintf(d, sizeof(d), "DEVPATH=%s", devpath);
	snprintf(s, sizeof(s), "SUBSYSTEM=%s", subsystem);
	snprintf(t, sizeof(t), "DEVTYPE=%s", devtype ? devtype : "");
	if (devtype)
		n = msg(buf, sizeof(buf), a, d, s, t, "SEQNUM=1", NULL);
	else
		n = msg(buf, sizeof(buf), a, d, s, "SEQNUM=1", NULL);
	memset(h, 0xff, sizeof(*h));
	if (rd_uevent_parse(buf, n, &ev, err, sizeof(err)))
		return (enum rd_uevent_kind)-1;
	return rd_uevent_classify(&ev, h);
}

static void test_devices(void)
{
	struct rd_hctl h;

	/* what iscsid's scan of a new LUN 2 makes the kernel send, in order
	 * (seen in a Debian 12 guest, t/t4100) */
	is_int(kind_of("add", SESSION "/target3:0:0/3:0:0:2", "scsi", "scsi_device", &h),
	       RD_UEVENT_SDEV_ADDED, "a scsi_device added");
	ok(h.host == 3 && h.channel == 0 && h.target == 0 && h.lun == 2, "  on 3:0:0:2");
	is_int(kind_of("add", SESSION "/target3:0:0/3:0:0:2/scsi_device/3:0:0:2", "scsi_device",
		       NULL, &h), RD_UEVENT_OTHER, "  its scsi_device class device is not counted twice");
	is_int(kind_of("add", SESSION "/target3:0:0/3:0:0:2/bsg/3:0:0:2", "bsg", NULL, &h),
	       RD_UEVENT_OTHER, "  nor its bsg node");
	is_int(kind_of("add", SESSION "/target3:0:0/3:0:0:2/scsi_disk/3:0:0:2", "scsi_disk", NULL, &h),
	       RD_UEVENT_OTHER, "  nor its scsi_disk");
	is_int(kind_of("add", SESSION "/target3:0:0/3:0:0:2/block/sdb", "block", "disk", &h),
	       RD_UEVENT_OTHER, "  nor its disk");
	is_int(kind_of("bind", SESSION "/target3:0:0/3:0:0:2", "scsi", "scsi_device", &h),
	       RD_UEVENT_OTHER, "  nor the driver's bind");
	is_int(kind_of("add", SESSION "/target3:0:0", "scsi", "scsi_target", &h),
	       RD_UEVENT_OTHER, "a scsi_target is not ours");
	is_int(kind_of("remove", SESSION "/target3:0:0/3:0:0:2", "scsi", "scsi_device", &h),
	       RD_UEVENT_SDEV_REMOVED, "a scsi_device removed");
	ok(h.host == 3 && h.lun == 2, "  3:0:0:2");
	is_int(kind_of("add", SESSION "/iscsi_session/session2", "iscsi_session", NULL, &h),
	       RD_UEVENT_SESSION_ADDED, "an iscsi_session added");
	is_int(h.host, 3, "  on host3");
	is_int(kind_of("remove", SESSION "/iscsi_session/session2", "iscsi_session", NULL, &h),
	       RD_UEVENT_HOST_REMOVED, "an iscsi_session removed: its host is gone");
	is_int(h.host, 3, "  host3");
	is_int(kind_of("remove", HOST, "scsi", "scsi_host", &h), RD_UEVENT_HOST_REMOVED,
	       "a scsi_host removed");
	is_int(h.host, 3, "  host3");
	is_int(kind_of("add", HOST, "scsi", "scsi_host", &h), RD_UEVENT_OTHER,
	       "a scsi_host added is not ours (its session says more)");
	is_int(kind_of("change", SESSION "/iscsi_session/session2", "iscsi_session", NULL, &h),
	       RD_UEVENT_OTHER, "a session's change is not ours");
	is_int(kind_of("add", "/devices/platform/hostile/session2/iscsi_session/session2",
		       "iscsi_session", NULL, &h), RD_UEVENT_OTHER, "a session under no hostN is not ours");
	is_int(kind_of("add", "/devices/platform/host4294967296/session2/iscsi_session/session2",
		       "iscsi_session", NULL, &h), RD_UEVENT_OTHER, "  nor one of a host over 32 bits");
	is_int(kind_of("add", "/devices/host1/x/host7/session2/iscsi_session/session2",
		       "iscsi_session", NULL, &h), RD_UEVENT_SESSION_ADDED, "the last hostN counts");
	is_int(h.host, 7, "  host7");
	is_int(kind_of("remove", "/devices/platform/scsi_host", "scsi", "scsi_host", &h),
	       RD_UEVENT_OTHER, "a scsi_host path not ending in hostN is not ours");
	is_int(kind_of("add", SESSION "/target3:0:0/x", "scsi", "scsi_device", &h), RD_UEVENT_OTHER,
	       "a scsi_device path not ending in H:C:T:L is not ours");
	is_str(rd_uevent_kind_name(RD_UEVENT_SDEV_ADDED), "SCSI device added", "kinds have names");
}

static void test_hctl(void)
{
	static const char *const bad[] = {
		"", "1:2:3", "1:2:3:4:5", "a:0:0:0", "1::3:4", " 1:2:3:4", "1:2:3:4 ",
		"4294967296:0:0:0", "0:4294967296:0:0", "1:2:3:18446744073709551616", "-1:0:0:0",
	};
	struct rd_hctl h, h2;
	char b[RD_HCTL_LEN];

	is_int(rd_hctl_parse("2:0:0:1", &h), 0, "2:0:0:1 parses");
	ok(h.host == 2 && h.channel == 0 && h.target == 0 && h.lun == 1, "  to its numbers");
	is_int(rd_hctl_parse("4294967295:1:2:18446744073709551615", &h), 0, "the largest parse");
	is_str(rd_hctl_fmt(&h, b), "4294967295:1:2:18446744073709551615", "  and print back");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(rd_hctl_parse(bad[i], &h), -1, "'%s' is not an H:C:T:L", bad[i]);
	rd_hctl_parse("2:0:0:10", &h);
	rd_hctl_parse("2:0:0:9", &h2);
	ok(rd_hctl_cmp(&h2, &h) < 0 && rd_hctl_cmp(&h, &h2) > 0 && !rd_hctl_cmp(&h, &h),
	   "ordering is numeric: 2:0:0:9 before 2:0:0:10");
}

int main(void)
{
	test_kernel_messages();
	test_malformed();
	test_truncated();
	test_bounds();
	test_devices();
	test_hctl();
	return done_testing();
}
