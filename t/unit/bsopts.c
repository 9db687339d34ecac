// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/bsopts.c: unit tests (TAP) of the --bsopts parser, the size parser
 * and the `tgtadm --op update --params` keys in target/lib/bsopts.c.
 */
#include "lunlink/bsopts.h"
#include "tap.h"

#include <stdlib.h>

static char err[256];

/* Parse s; expect success. */
static int parse(const char *s, struct ll_bsopts *o)
{
	err[0] = '\0';
	return ll_bsopts_parse(s, o, err, sizeof(err));
}

static bool is_default(const struct ll_bsopts *o)
{
	return o->io == LL_IO_AUTO && o->threads == LL_BSOPTS_THREADS_DEFAULT &&
	       o->queue_depth == LL_BSOPTS_QD_DEFAULT && o->thin;
}

/* s is refused, with a message containing each of the given substrings. */
static void refused(const char *s, const char *sub1, const char *sub2)
{
	struct ll_bsopts o;

	is_int(parse(s, &o), -1, "bsopts \"%s\" is refused", s);
	if (sub1)
		like(err, sub1, "  its message names '%s'", sub1);
	if (sub2)
		like(err, sub2, "  its message names '%s'", sub2);
}

static void test_defaults(void)
{
	struct ll_bsopts o;

	ll_bsopts_default(&o);
	ok(is_default(&o), "ll_bsopts_default gives the documented defaults");
	is_int(o.threads, 8, "default threads=8");
	is_int(o.queue_depth, 256, "default queue_depth=256");
	ok(o.thin, "default thin=on");
	is_int(o.io, LL_IO_AUTO, "default io=auto");

	memset(&o, 0xa5, sizeof(o));
	is_int(parse(NULL, &o), 0, "NULL parses");
	ok(is_default(&o), "NULL gives the defaults");
	memset(&o, 0xa5, sizeof(o));
	is_int(parse("", &o), 0, "\"\" parses");
	ok(is_default(&o), "\"\" gives the defaults");
	is_int(parse(";;; ;\t;", &o), 0, "only separators and blanks parse");
	ok(is_default(&o), "only separators and blanks give the defaults");

	is_str(ll_io_path_name(LL_IO_AUTO), "auto", "io path name auto");
	is_str(ll_io_path_name(LL_IO_URING), "uring", "io path name uring");
	is_str(ll_io_path_name(LL_IO_THREADS), "threads", "io path name threads");
}

static void test_keys(void)
{
	struct ll_bsopts o;
	static const struct {
		const char *s;
		bool thin;
	} bools[] = {
		{ "thin=on", true }, { "thin=yes", true }, { "thin=1", true },
		{ "thin=off", false }, { "thin=no", false }, { "thin=0", false },
	};

	is_int(parse("io=auto", &o), 0, "io=auto parses");
	is_int(o.io, LL_IO_AUTO, "io=auto");
	is_int(parse("io=uring", &o), 0, "io=uring parses");
	is_int(o.io, LL_IO_URING, "io=uring");
	is_int(parse("io=threads", &o), 0, "io=threads parses");
	is_int(o.io, LL_IO_THREADS, "io=threads");

	is_int(parse("threads=1", &o), 0, "threads=1 parses");
	is_int(o.threads, 1, "threads=1");
	is_int(parse("threads=128", &o), 0, "threads=128 parses");
	is_int(o.threads, 128, "threads=128");
	is_int(parse("threads=0042", &o), 0, "threads=0042 parses");
	is_int(o.threads, 42, "threads=0042 is decimal 42");

	is_int(parse("queue_depth=1", &o), 0, "queue_depth=1 parses");
	is_int(o.queue_depth, 1, "queue_depth=1");
	is_int(parse("queue_depth=4096", &o), 0, "queue_depth=4096 parses");
	is_int(o.queue_depth, 4096, "queue_depth=4096");

	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		o.thin = !bools[i].thin;
		is_int(parse(bools[i].s, &o), 0, "%s parses", bools[i].s);
		is_int(o.thin, bools[i].thin, "%s gives thin=%d", bools[i].s, bools[i].thin);
	}

	is_int(parse("io=threads;threads=4;queue_depth=64;thin=off", &o), 0,
	       "all four keys together parse");
	ok(o.io == LL_IO_THREADS && o.threads == 4 && o.queue_depth == 64 && !o.thin,
	   "all four keys together are taken");
	is_int(parse("threads=4;threads=16", &o), 0, "a repeated key parses");
	is_int(o.threads, 16, "the last of a repeated key wins");
	is_int(parse("threads=4", &o), 0, "threads=4 alone parses");
	ok(o.io == LL_IO_AUTO && o.queue_depth == 256 && o.thin,
	   "keys not given keep their defaults");

	is_int(parse(";;io=threads; thin=off", &o), 0,
	       "empty segments and a leading space parse");
	ok(o.io == LL_IO_THREADS && !o.thin, "  and are taken");
	is_int(parse("\tio=uring;;\t threads=3;", &o), 0,
	       "leading tabs and a trailing ';' parse");
	ok(o.io == LL_IO_URING && o.threads == 3, "  and are taken");
}

static void test_bad_values(void)
{
	refused("io=", "io", "''");
	refused("io=fast", "io", "fast");
	refused("io=URING", "io", "URING");
	refused("io=threads ", "io", "'threads '");
	refused("threads=0", "threads", "'0'");
	refused("threads=129", "threads", "129");
	refused("threads=", "threads", "''");
	refused("threads=-1", "threads", "-1");
	refused("threads=+4", "threads", "+4");
	refused("threads= 4", "threads", "' 4'");
	refused("threads=4x", "threads", "4x");
	refused("threads=0x10", "threads", "0x10");
	refused("threads=18446744073709551617", "threads", "18446744073709551617");
	refused("threads=4294967297", "threads", "4294967297");
	refused("queue_depth=0", "queue_depth", "'0'");
	refused("queue_depth=4097", "queue_depth", "4097");
	refused("queue_depth=1e3", "queue_depth", "1e3");
	refused("thin=maybe", "thin", "maybe");
	refused("thin=", "thin", "''");
	refused("thin=ON", "thin", "ON");
	refused("thin=true", "thin", "true");

	refused("speed=11", "speed", NULL);
	refused("io=threads;bogus=1", "bogus", NULL);
	refused("Io=threads", "Io", NULL);
	refused("io =threads", "'io '", NULL);
	refused("=threads", "''", NULL);

	refused("thin", "thin", "=");
	refused("io=threads;queue_depth", "queue_depth", "=");
	refused("io=threads,thin=off", "io", "threads,thin=off");

	/* A refusal after good keys is still a refusal. */
	refused("io=threads;threads=4;thin=perhaps", "thin", "perhaps");
}

static void test_length_limit(void)
{
	struct ll_bsopts o;
	char *s = malloc(LL_BSOPTS_MAX_LEN + 2);
	size_t n;

	/* Exactly the limit: "io=threads" then ';' padding. */
	strcpy(s, "io=threads");
	n = strlen(s);
	memset(s + n, ';', LL_BSOPTS_MAX_LEN - n);
	s[LL_BSOPTS_MAX_LEN] = '\0';
	is_int(parse(s, &o), 0, "%d characters parse", LL_BSOPTS_MAX_LEN);
	is_int(o.io, LL_IO_THREADS, "  and are taken");

	/* The limit with the last key at the very end. */
	memset(s, ';', LL_BSOPTS_MAX_LEN);
	strcpy(s + LL_BSOPTS_MAX_LEN - strlen("thin=off"), "thin=off");
	is_int(parse(s, &o), 0, "a key ending at character %d parses", LL_BSOPTS_MAX_LEN);
	ok(!o.thin, "  and is taken");

	/* One more is refused, naming the limit. */
	s[LL_BSOPTS_MAX_LEN] = ';';
	s[LL_BSOPTS_MAX_LEN + 1] = '\0';
	is_int(parse(s, &o), -1, "%d characters are refused", LL_BSOPTS_MAX_LEN + 1);
	like(err, "4097", "  the message gives the length");
	like(err, "4096", "  the message gives the limit");
	ok(is_default(&o), "  and the options are the defaults");

	/* A long value is named in the message, cut to the buffer. */
	memset(s, 'x', LL_BSOPTS_MAX_LEN);
	memcpy(s, "io=", 3);
	s[LL_BSOPTS_MAX_LEN] = '\0';
	is_int(parse(s, &o), -1, "a 4093-character io value is refused");
	is_int(strlen(err), sizeof(err) - 1, "  the message fills, and stays in, its buffer");
	like(err, "io='xxxx", "  the message names the key and the value");
	free(s);

	/* No err buffer at all, or a tiny one. */
	is_int(ll_bsopts_parse("io=bad", &o, NULL, 0), -1, "a refusal with no err buffer");
	strcpy(err, "zz");
	is_int(ll_bsopts_parse("io=bad", &o, err, 1), -1, "a refusal with a 1-byte err buffer");
	is_str(err, "", "  the 1-byte buffer holds just the NUL");
}

static void test_format(void)
{
	static const char *const inputs[] = {
		"", "io=uring", "io=threads;threads=1;queue_depth=1;thin=off",
		"threads=128;queue_depth=4096;thin=no", "thin=0;io=auto",
	};
	struct ll_bsopts o, p;
	char buf[128];
	int n;

	ll_bsopts_default(&o);
	n = ll_bsopts_format(&o, buf, sizeof(buf));
	is_str(buf, "io=auto;threads=8;queue_depth=256;thin=on", "format of the defaults");
	is_int(n, strlen(buf), "format returns the length");

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		is_int(parse(inputs[i], &o), 0, "\"%s\" parses", inputs[i]);
		ll_bsopts_format(&o, buf, sizeof(buf));
		is_int(parse(buf, &p), 0, "  its format \"%s\" parses", buf);
		ok(!memcmp(&o, &p, sizeof(o)) || (o.io == p.io && o.threads == p.threads &&
						   o.queue_depth == p.queue_depth &&
						   o.thin == p.thin),
		   "  to the same options");
	}

	o.io = LL_IO_THREADS;
	o.threads = 128;
	o.queue_depth = 4096;
	o.thin = false;
	n = ll_bsopts_format(&o, buf, 8);
	is_int(n, strlen("io=threads;threads=128;queue_depth=4096;thin=off"),
	       "a short buffer: format returns the full length");
	is_str(buf, "io=thre", "  and writes what fits, NUL-terminated");
}

static void size_ok(const char *s, uint64_t want)
{
	uint64_t got = 0xdeadbeef;

	err[0] = '\0';
	if (is_int(ll_parse_size(s, &got, err, sizeof(err)), 0, "size \"%s\" parses", s))
		is_u64(got, want, "  to %" PRIu64, want);
	else
		diag("  %s", err);
}

static void size_bad(const char *s, const char *why)
{
	uint64_t got = 0xdeadbeef;

	err[0] = '\0';
	is_int(ll_parse_size(s, &got, err, sizeof(err)), -1, "size \"%s\" is refused", s);
	is_u64(got, 0xdeadbeef, "  and leaves the output alone");
	like(err, s, "  the message names the value");
	like(err, why, "  the message says '%s'", why);
}

static void test_sizes(void)
{
	size_ok("0", 0);
	size_ok("512", 512);
	size_ok("512B", 512);
	size_ok("1K", 1024);
	size_ok("1k", 1024);
	size_ok("1KiB", 1024);
	size_ok("1KB", 1024);
	size_ok("3M", 3ULL << 20);
	size_ok("3MiB", 3ULL << 20);
	size_ok("10G", 10ULL << 30);
	size_ok("10g", 10ULL << 30);
	size_ok("2T", 2ULL << 40);
	size_ok("1P", 1ULL << 50);
	size_ok("1p", 1ULL << 50);
	size_ok("16383P", 16383ULL << 50);
	size_ok("0P", 0);
	size_ok("007", 7);
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("18014398509481983K", UINT64_MAX - 1023);

	size_bad("", "not a size");
	size_bad("abc", "not a size");
	size_bad("K", "not a size");
	size_bad("-1", "not a size");
	size_bad(" 1", "not a size");
	size_bad("1 ", "not a size");
	size_bad("12X", "not a size");
	size_bad("16E", "not a size");
	size_bad("1iB", "not a size");
	size_bad("1KK", "not a size");
	size_bad("1Kib", "not a size");
	size_bad("1KiBB", "not a size");
	size_bad("1.5G", "not a size");
	size_bad("0x10", "not a size");
	size_bad("18446744073709551616", "too large");
	size_bad("99999999999999999999", "too large");
	size_bad("999999999999999999999999999999", "too large");
	size_bad("16384P", "too large");
	size_bad("18014398509481984K", "too large");
	size_bad("17179869184G", "too large");
}

static void test_update(void)
{
	struct ll_update u;

	memset(&u, 0, sizeof(u));
	is_int(ll_update_parse("resize=reread", &u, err, sizeof(err)), 0,
	       "resize=reread parses");
	is_int(u.kind, LL_UPDATE_RESIZE_REREAD, "  to RESIZE_REREAD");

	is_int(ll_update_parse("resize=1G", &u, err, sizeof(err)), 0, "resize=1G parses");
	is_int(u.kind, LL_UPDATE_RESIZE_TO, "  to RESIZE_TO");
	is_u64(u.size, 1ULL << 30, "  of 1 GiB");
	is_int(ll_update_parse("resize=4096", &u, err, sizeof(err)), 0, "resize=4096 parses");
	is_u64(u.size, 4096, "  to 4096 bytes");

	is_int(ll_update_parse("resize=bogus", &u, err, sizeof(err)), -1,
	       "resize=bogus is refused");
	like(err, "resize='bogus'", "  the message names the key and the value");
	like(err, "reread", "  the message says what is accepted");
	is_int(ll_update_parse("resize=", &u, err, sizeof(err)), -1, "resize= is refused");
	like(err, "resize=''", "  the message names the empty value");
	is_int(ll_update_parse("resize=99999999999P", &u, err, sizeof(err)), -1,
	       "resize=99999999999P is refused");
	like(err, "too large", "  as too large");

	static const struct {
		const char *s;
		enum ll_fault f;
	} faults[] = {
		{ "fault=none", LL_FAULT_NONE }, { "fault=read", LL_FAULT_READ },
		{ "fault=write", LL_FAULT_WRITE }, { "fault=both", LL_FAULT_BOTH },
		{ "fault=slow-resync", LL_FAULT_SLOW_RESYNC },
		{ "fault=write-all", LL_FAULT_WRITE_ALL },
		{ "fault=meta-write", LL_FAULT_META }, { "fault=flush", LL_FAULT_FLUSH },
	};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		u.fault = 99;
		is_int(ll_update_parse(faults[i].s, &u, err, sizeof(err)), 0, "%s parses",
		       faults[i].s);
		ok(u.kind == LL_UPDATE_FAULT && u.fault == faults[i].f, "  to that fault");
	}
	is_int(ll_update_parse("fault=all", &u, err, sizeof(err)), -1, "fault=all is refused");
	like(err, "fault='all'", "  the message names the key and the value");
	like(err, "slow-resync", "  and lists every fault");
	is_int(ll_update_parse("fault=", &u, err, sizeof(err)), -1, "fault= is refused");

	is_int(ll_update_parse("retry=legs", &u, err, sizeof(err)), 0, "retry=legs parses");
	is_int(u.kind, LL_UPDATE_RETRY_LEGS, "  to RETRY_LEGS");
	is_int(ll_update_parse("retry=all", &u, err, sizeof(err)), -1, "retry=all is refused");
	like(err, "use retry=legs", "  the message says what is accepted");

	is_int(ll_update_parse("forget=00c0ffee0000abcd", &u, err, sizeof(err)), 0,
	       "forget=ID parses");
	ok(u.kind == LL_UPDATE_FORGET && u.copy_id == 0x00c0ffee0000abcdULL, "  to that copy id");
	is_int(ll_update_parse("forget=0x00c0ffee0000ab", &u, err, sizeof(err)), -1,
	       "forget=0x... is refused");
	like(err, "16 hex digits", "  the message says what a copy id is");
	is_int(ll_update_parse("forget=c0ffee", &u, err, sizeof(err)), -1,
	       "a short copy id is refused");
	is_int(ll_update_parse("forget=0000000000000000", &u, err, sizeof(err)), -1,
	       "copy id 0 is refused");
	is_int(ll_update_parse("forget= 00c0ffee0000abc", &u, err, sizeof(err)), -1,
	       "a copy id with a space is refused");
	{
		uint64_t id = 0;

		is_int(ll_parse_copy_id("00C0FFEE0000ABCD", &id), 0, "a copy id in capitals parses");
		ok(id == 0x00c0ffee0000abcdULL, "  to its value");
		is_int(ll_parse_copy_id("00c0ffee0000abcd0", &id), -1, "17 digits are refused");
		is_int(ll_parse_copy_id("", &id), -1, "an empty copy id is refused");
	}

	is_int(ll_update_parse("shrink=1G", &u, err, sizeof(err)), -1, "shrink=1G is refused");
	like(err, "'shrink'", "  the message names the unknown key");
	like(err, "resize=", "  the message says what is accepted");
	is_int(ll_update_parse("resizer=1G", &u, err, sizeof(err)), -1,
	       "resizer=1G is refused");
	like(err, "'resizer'", "  the message names the key");
	is_int(ll_update_parse("res=1G", &u, err, sizeof(err)), -1, "res=1G is refused");
	like(err, "'res'", "  the message names the key");
	is_int(ll_update_parse("=1G", &u, err, sizeof(err)), -1, "=1G is refused");
	like(err, "''", "  the message names the empty key");

	is_int(ll_update_parse("resize", &u, err, sizeof(err)), -1, "resize (no '=') is refused");
	like(err, "'resize'", "  the message names it");
	like(err, "no '='", "  and says '=' is missing");
	is_int(ll_update_parse("", &u, err, sizeof(err)), -1, "\"\" is refused");
	like(err, "no '='", "  as having no '='");

	/* A long key or value is cut to 64 characters in the message. */
	char longkv[300];

	memset(longkv, 'k', 200);
	strcpy(longkv + 200, "=1");
	is_int(ll_update_parse(longkv, &u, err, sizeof(err)), -1, "a 200-character key is refused");
	ok(strlen(err) < sizeof(err) - 1 && !strstr(err, longkv + 200 - 65),
	   "  the message cuts the key to 64 characters");
}

/* mirror= belongs to the backing store, or to the extent= before it */
static void test_mirror_sets(void)
{
	struct ll_bsopts o, p;
	char buf[2048], five[1024] = "extent=/x.img:0:1M", nine[2048] = "";
	int i;

	is_int(parse("mirror=iscsi://a/iqn.a:v/1;extent=/b.img:0:1M;"
		     "mirror=iscsi://u%pw@b/iqn.b:v/1;mirror=iscsi://c/iqn.c:v/2;"
		     "extent=/d.img:512:1K", &o), 0, "legs of the backing store and of an extent parse");
	is_int(o.nlegs, 3, "  three legs");
	ok(o.leg_set[0] == 0 && o.leg_set[1] == 1 && o.leg_set[2] == 1,
	   "  the first is the backing store's, the others the first extent's");
	is_int(o.nextents, 2, "  two extents");
	ll_bsopts_format(&o, buf, sizeof(buf));
	is_str(buf, "io=auto;threads=8;queue_depth=256;thin=on;mirror=iscsi://a/iqn.a:v/1;"
	       "resync_rate=0;leg_timeout=10;extent=/b.img:0:1048576;mirror=iscsi://u%pw@b/iqn.b:v/1;"
	       "mirror=iscsi://c/iqn.c:v/2;extent=/d.img:512:1024", "  format keeps each leg after its extent");
	is_int(parse(buf, &p), 0, "  and parses back");
	ok(p.nlegs == 3 && !memcmp(p.leg_set, o.leg_set, 3) && !strcmp(p.leg[1], o.leg[1]),
	   "  to the same legs in the same sets");
	ll_bsopts_describe(&o, buf, sizeof(buf));
	ok(strstr(buf, "mirror=iscsi://u%***@b/") && !strstr(buf, "pw"),
	   "  describe masks the extent leg's password");

	for (i = 0; i < 5; i++)
		snprintf(five + strlen(five), sizeof(five) - strlen(five),
			 ";mirror=iscsi://h%d/iqn.x/1", i);
	refused(five, "more than 4 mirror= legs for one extent", NULL);
	for (i = 0; i < 9; i++)
		snprintf(nine + strlen(nine), sizeof(nine) - strlen(nine),
			 "%smirror=iscsi://h%d/iqn.x/1", i % 4 == 0 && i ? ";extent=/x.img:0:1M;" :
			 i ? ";" : "", i);
	refused(nine, "more than 8 mirror= legs in all", NULL);
}

/* extent= of an iSCSI LUN on another node */
static void test_remote_extents(void)
{
	struct ll_bsopts o, p;
	char buf[2048];

	is_int(parse("extent=iscsi://u%pw@10.0.0.2:3261/iqn.b:vol/1:4M:8M;"
		     "extent=/c.img:0:1M", &o), 0, "an iSCSI URL with a port and CHAP is an extent");
	is_str(o.extent[0].path, "iscsi://u%pw@10.0.0.2:3261/iqn.b:vol/1",
	       "  its URL is cut at the offset's colon, the port's kept");
	ok(o.extent[0].offset == 4u << 20 && o.extent[0].length == 8u << 20,
	   "  its offset and length");
	ok(ll_extent_is_remote(&o.extent[0]) && !ll_extent_is_remote(&o.extent[1]),
	   "  it is remote, the file is not");
	ll_bsopts_format(&o, buf, sizeof(buf));
	is_int(parse(buf, &p), 0, "  format parses back");
	is_str(p.extent[0].path, o.extent[0].path, "  to the same URL");
	ll_bsopts_describe(&o, buf, sizeof(buf));
	ok(strstr(buf, "extent=iscsi://u%***@10.0.0.2:3261/") && !strstr(buf, "pw"),
	   "  describe masks its password");
	refused("extent=iscsi://host:0:1M", "is not an iSCSI URL", NULL);
	refused("extent=iscsi://h/iqn.b:v/1:0:1M;mirror=iscsi://c/iqn.c:v/1",
		"mirror= after extent=iscsi://h/iqn.b:v/1", "a LUN on another node");
	is_int(parse("extent=/d.img:1M:end", &o), 0, "an extent of LENGTH end parses");
	ok(o.extent[0].to_end && !o.extent[0].length && o.extent[0].offset == 1u << 20,
	   "  it runs to the end of its file");
	ll_bsopts_format(&o, buf, sizeof(buf));
	ok(strstr(buf, ";extent=/d.img:1048576:end") != NULL, "  format writes it back as end");
	refused("extent=iscsi://h/iqn.b:v/1:0:end", "needs its LENGTH", NULL);
	is_int(parse("extent=iscsi://h/iqn.b:v/1:0:1M;extent=/d.img:0:1M;"
		     "mirror=iscsi://c/iqn.c:v/1", &o), 0, "  a local extent after it may be mirrored");
}

/* copy_extent= (a mirrored copy that goes on into other areas), raw= */
static void test_copy_areas(void)
{
	struct ll_bsopts o, p;
	char buf[2048];

	is_int(parse("copy_extent=/x.raw:1M:8M;mirror=iscsi://b/iqn.b:v/1;copy_extent=/y.raw:0:4M;"
		     "extent=/z.img:0:1M", &o), 0,
	       "copy_extent= before or after the backing store's mirror= parses");
	is_int(o.ncopy_extents, 2, "  two areas of the copy");
	ok(o.copy_extent[0].offset == 1u << 20 && o.copy_extent[0].length == 8u << 20 &&
	   !strcmp(o.copy_extent[1].path, "/y.raw"), "  in order, with their offsets and lengths");
	is_int(o.nextents, 1, "  extent= stays a segment of the LUN");
	ll_bsopts_format(&o, buf, sizeof(buf));
	is_int(parse(buf, &p), 0, "  format parses back");
	ok(p.ncopy_extents == 2 && p.copy_extent[1].length == 4u << 20 && p.nextents == 1 &&
	   p.leg_set[0] == 0, "  to the same areas and legs");
	refused("copy_extent=/x.raw:0:1M", "has no mirror=", NULL);
	refused("extent=/z.img:0:1M;mirror=iscsi://b/iqn.b:v/1;copy_extent=/x.raw:0:1M",
		"has no mirror=", "before any extent=");
	refused("mirror=iscsi://b/iqn.b:v/1;copy_extent=/x.raw:0:end", "needs its LENGTH", NULL);
	refused("mirror=iscsi://b/iqn.b:v/1;copy_extent=iscsi://c/iqn.c:v/1:0:1M",
		"own copy is on this node", NULL);
	refused("mirror=iscsi://b/iqn.b:v/1;copy_extent=x.raw:0:1M", "copy_extent=", "ABSOLUTE");
	is_int(parse("raw=on;extent=/x.raw:0:8M", &o), 0, "raw=on with extent= parses");
	ok(o.raw, "  raw is set");
	ll_bsopts_format(&o, buf, sizeof(buf));
	ok(strstr(buf, ";raw=on") != NULL, "  format writes it back");
	refused("raw=on;mirror=iscsi://b/iqn.b:v/1", "raw=on with mirror=", NULL);
	refused("raw=maybe", "raw='maybe' must be on or off", NULL);
}

/* pr_file=: where the persistent reservations are kept while APTPL is on */
static void test_pr_file(void)
{
	struct ll_bsopts o, p;
	char buf[2048];

	is_int(parse("", &o), 0, "no pr_file=");
	is_str(o.pr_file, "", "  the default (IMAGE.pr) is an empty path");
	is_int(parse("pr_file=/var/lib/lunlink/v1.pr", &o), 0, "pr_file= parses");
	is_str(o.pr_file, "/var/lib/lunlink/v1.pr", "  its path");
	ll_bsopts_format(&o, buf, sizeof(buf));
	ok(strstr(buf, ";pr_file=/var/lib/lunlink/v1.pr") != NULL, "  format writes it back");
	is_int(parse(buf, &p), 0, "  and that parses");
	is_str(p.pr_file, o.pr_file, "  to the same path");
	refused("pr_file=v1.pr", "pr_file='v1.pr' is not an absolute file path", NULL);
	refused("pr_file=/var/lib/", "is not an absolute file path", NULL);
}

/* pr=cluster, pr_socket=, pr_timeout=: the volume's reservations, from the agent */
static void test_pr_cluster(void)
{
	struct ll_bsopts o, p;
	char buf[2048];

	is_int(parse("", &o), 0, "no pr=");
	ok(!o.pr_cluster, "  the default is pr=local");
	is_str(o.pr_socket, "/run/lunlink/pr.sock", "  the agent's default socket");
	is_int(o.pr_timeout, 15, "  a PR OUT waits 15 s by default");
	ll_bsopts_format(&o, buf, sizeof(buf));
	ok(!strstr(buf, "pr="), "  format writes no pr= for local");
	is_int(parse("pr=local", &o), 0, "pr=local parses");
	ok(!o.pr_cluster, "  local");
	is_int(parse("pr=cluster;pr_socket=/tmp/t/pr.sock;pr_timeout=3", &o), 0,
	       "pr=cluster with pr_socket= and pr_timeout= parses");
	ok(o.pr_cluster, "  cluster");
	is_str(o.pr_socket, "/tmp/t/pr.sock", "  the socket");
	is_int(o.pr_timeout, 3, "  the timeout");
	ll_bsopts_format(&o, buf, sizeof(buf));
	ok(strstr(buf, ";pr=cluster;pr_socket=/tmp/t/pr.sock;pr_timeout=3") != NULL,
	   "  format writes them back");
	is_int(parse(buf, &p), 0, "  and that parses");
	ok(p.pr_cluster && !strcmp(p.pr_socket, o.pr_socket) && p.pr_timeout == 3,
	   "  to the same options");
	refused("pr=shared", "pr='shared' must be local", NULL);
	refused("pr_socket=pr.sock", "pr_socket='pr.sock' is not an absolute path", NULL);
	refused("pr_socket=/run/lunlink/0123456789012345678901234567890123456789012345678901"
		"234567890123456789012345678901234567890123456789", "at most 107 characters", NULL);
	refused("pr_timeout=0", "pr_timeout='0' is not a whole number from 1 to 600", NULL);
	refused("pr=cluster;pr_file=/var/lib/v.pr", "pr_file= with pr=cluster", NULL);
}

/* lease=on, lease_loss=: on a mirrored LUN only, in the format */
static void test_lease(void)
{
	static const char leg[] = "mirror=iscsi://10.0.0.2/iqn.2026-11.x:v/1";
	char s[256], fmt[1024];
	struct ll_bsopts o, p;

	is_int(parse(leg, &o), 0, "mirror= alone parses");
	ok(!o.lease && o.lease_loss == LL_LEASE_LOSS_SUSPEND, "  lease is off, its loss suspend");
	snprintf(s, sizeof(s), "%s;lease=on", leg);
	is_int(parse(s, &o), 0, "lease=on with mirror= parses");
	ok(o.lease && o.lease_loss == LL_LEASE_LOSS_SUSPEND, "  lease on, lease_loss=suspend");
	snprintf(s, sizeof(s), "%s;lease=on;lease_loss=fail", leg);
	is_int(parse(s, &o), 0, "lease_loss=fail parses");
	ok(o.lease && o.lease_loss == LL_LEASE_LOSS_FAIL, "  to FAIL");
	ll_bsopts_format(&o, fmt, sizeof(fmt));
	like(fmt, ";lease=on;lease_loss=fail", "  the format has both");
	is_int(parse(fmt, &p), 0, "  and parses back");
	ok(p.lease && p.lease_loss == LL_LEASE_LOSS_FAIL, "  to the same");
	snprintf(s, sizeof(s), "%s;lease=on;lease_loss=suspend", leg);
	is_int(parse(s, &o), 0, "lease_loss=suspend parses");
	ok(o.lease_loss == LL_LEASE_LOSS_SUSPEND, "  to SUSPEND");

	refused("lease=on", "lease=on without mirror=", "nothing to fence");
	refused("lease=maybe", "lease", "'maybe'");
	snprintf(s, sizeof(s), "%s;lease=on;lease_loss=freeze", leg);
	refused(s, "lease_loss='freeze'", "suspend");
	snprintf(s, sizeof(s), "%s;lease_loss=fail", leg);
	refused(s, "lease_loss=fail without lease=on", NULL);
	refused("leases=on", "unknown key 'leases'", "lease_loss");
}

static void test_lease_update(void)
{
	struct ll_update u;

	memset(&u, 0, sizeof(u));
	is_int(ll_update_parse("lease=7:6000", &u, err, sizeof(err)), 0, "lease=7:6000 parses");
	ok(u.kind == LL_UPDATE_LEASE && u.epoch == 7 && u.valid_ms == 6000,
	   "  to epoch 7, 6000 ms");
	is_int(ll_update_parse("lease=281474976710655:1", &u, err, sizeof(err)), 0,
	       "lease=2^48-1:1 parses");
	ok(u.epoch == LL_LEASE_EPOCH_MAX && u.valid_ms == 1, "  to the highest epoch");
	ok(!u.has_gen, "  without a generation");
	is_int(ll_update_parse("lease=7:6000:00ab00cd00ef0012", &u, err, sizeof(err)), 0,
	       "lease=7:6000:GENERATION parses");
	ok(u.has_gen && u.gen_confirmed == 0x00ab00cd00ef0012ULL && u.valid_ms == 6000,
	   "  to the generation, in hex");
	ok(!u.has_deadline, "  relative: counted from the receipt");
	is_int(ll_update_parse("lease=7:@123456789", &u, err, sizeof(err)), 0,
	       "lease=7:@DEADLINE_MS parses");
	ok(u.kind == LL_UPDATE_LEASE && u.epoch == 7 && u.has_deadline &&
	   u.deadline_ms == 123456789 && !u.valid_ms && !u.has_gen,
	   "  to epoch 7, an absolute deadline, no VALID_MS");
	is_int(ll_update_parse("lease=7:@123456789:00ab00cd00ef0012", &u, err, sizeof(err)), 0,
	       "lease=7:@DEADLINE_MS:GENERATION parses");
	ok(u.has_deadline && u.deadline_ms == 123456789 && u.has_gen &&
	   u.gen_confirmed == 0x00ab00cd00ef0012ULL, "  to the deadline and the generation");
	is_int(ll_update_parse("lease=7:@1", &u, err, sizeof(err)), 0,
	       "lease=7:@1 parses (a deadline long past: the module expires the lease)");
	is_int(ll_update_parse("lease=7:@4611686018427387904", &u, err, sizeof(err)), 0,
	       "lease=7:@2^62 parses");
	ok(u.deadline_ms == LL_LEASE_DEADLINE_MS_MAX, "  the latest deadline");
	is_int(ll_update_parse("lease=7:6000", &u, err, sizeof(err)), 0, "lease=7:6000 again");
	ok(!u.has_deadline && u.valid_ms == 6000 && !u.deadline_ms,
	   "  relative again: nothing left of the absolute one");
	is_int(ll_update_parse("lease=release", &u, err, sizeof(err)), 0, "lease=release parses");
	is_int(u.kind, LL_UPDATE_LEASE_RELEASE, "  to LEASE_RELEASE");

	static const char *const bad[] = {
		"lease=", "lease=0:6000", "lease=281474976710656:6000", "lease=7", "lease=7:",
		"lease=7:0", "lease=:6000", "lease=7:6000:1", "lease=-7:6000", "lease=7:6e3",
		"lease=7:86400001", "lease= 7:6000", "lease=99999999999999999999999:1",
		"lease=releases", "lease=7:99999999999999999999999", "lease=7:6000:",
		"lease=7:6000:00ab00cd00ef001", "lease=7:6000:00ab00cd00ef00120",
		"lease=7:6000:00ab00cd00ef001g", "lease=7:6000:00ab00cd00ef0012:1",
		"lease=7:@", "lease=7:@0", "lease=7:@4611686018427387905", "lease=7:@-5",
		"lease=7:@@5", "lease=7:@ 5", "lease=7:@5:", "lease=7:@5:12", "lease=@5",
		"lease=7:5@", "lease=7:@99999999999999999999999", "lease=7:@5:00ab00cd00ef0012:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(ll_update_parse(bad[i], &u, err, sizeof(err)), -1, "%s is refused", bad[i]);
		like(err, "EPOCH:VALID_MS[:GENERATION] or EPOCH:@DEADLINE_MS[:GENERATION]",
		     "  the message says what is accepted");
	}
	is_int(ll_update_parse("leases=1:1", &u, err, sizeof(err)), -1, "leases= is refused");
	like(err, "lease=EPOCH:@DEADLINE_MS|EPOCH:VALID_MS|release", "  the message lists lease=");
}

int main(void)
{
	test_pr_file();
	test_pr_cluster();
	test_copy_areas();
	test_defaults();
	test_keys();
	test_bad_values();
	test_length_limit();
	test_format();
	test_mirror_sets();
	test_remote_extents();
	test_sizes();
	test_update();
	test_lease();
	test_lease_update();
	return done_testing();
}
