// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/rescand-config.c: unit tests (TAP) of lunlink-rescand's
 * configuration file (initiator/config.c), of the parser of iscsiadm's
 * discovery output (initiator/discover.c) and of the JSON report
 * (initiator/report.c), whose strings come from outside.
 */
#include "config.h"
#include "discover.h"
#include "report.h"
#include "tap.h"

#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

static char path[64];
static char err[1024];

static int load(const char *text, struct rd_config *c)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	rd_config_defaults(c);
	err[0] = '\0';
	return rd_config_load(c, path, true, err, sizeof(err));
}

static void test_config(void)
{
	struct rd_config c;

	rd_config_defaults(&c);
	ok(!strcmp(c.sysfs, "/sys") && c.hold_ms == 2000 && c.hold_max_ms == 10000 && c.periodic_s == 0 &&
	   c.host_scan && c.remove_stale && c.max_parallel == 4, "the defaults");
	is_int(rd_config_load(&c, "/nonexistent/lunlink-rescand.conf", false, err, sizeof(err)), 0,
	       "the default file may be absent");
	is_int(rd_config_load(&c, "/nonexistent/x.conf", true, err, sizeof(err)), -1,
	       "a file named on the command line may not");
	like(err, "/nonexistent/x.conf: No such file", "  and the error names it");

	is_int(load("# a comment\nsysfs = \"/tmp/fake\";\nhold_ms = 500;\n"
		    "periodic_check_s = 300;\nremove_stale = false;\nlog = \"syslog\";\n"
		    "log_level = \"debug\";\niscsiadm = \"/sbin/iscsiadm\";\n", &c), 0,
	       "a file with every kind of setting loads");
	ok(!strcmp(c.sysfs, "/tmp/fake") && c.hold_ms == 500 && c.periodic_s == 300 &&
	   !c.remove_stale && c.log == RD_LOGTO_SYSLOG && c.log_level == LOG_DEBUG &&
	   !strcmp(c.iscsiadm, "/sbin/iscsiadm"), "  and each setting takes");
	ok(c.remove_wwid_changed && c.host_scan, "  the rest keep their defaults");

	is_int(load("sysfs = \"/x\";\nsysfs_root = \"/y\";\n", &c), -1, "an unknown setting");
	like(err, ":2: unknown setting 'sysfs_root'", "  is named with its line");
	is_int(load("hold_ms = \"fast\";\n", &c), -1, "a string for a number");
	like(err, ":1: hold_ms must be a whole number", "  is refused");
	is_int(load("max_parallel = 65;\n", &c), -1, "a number out of range");
	like(err, "max_parallel = 65 is out of range (1 to 64)", "  says the range");
	is_int(load("remove_stale = 1;\n", &c), -1, "a number for a boolean");
	like(err, "remove_stale must be true or false", "  is refused");
	is_int(load("log = \"journal\";\n", &c), -1, "an unknown log sink");
	like(err, "use \"auto\", \"stderr\" or \"syslog\"", "  lists the choices");
	is_int(load("log_level = \"loud\";\n", &c), -1, "an unknown log level");
	is_int(load("hold_ms = 5000;\nhold_max_ms = 1000;\n", &c), -1,
	       "a maximum wait shorter than the hold");
	like(err, "hold_max_ms (1000) is less than hold_ms (5000)", "  is refused");
	is_int(load("sysfs = \"/x\";\ndebounce_ms = 2000;\n", &c), -1,
	       "the old debounce_ms (it delayed the first scan, which now runs at once)");
	like(err, ":2: debounce_ms is gone: ", "  is refused");
	like(err, "at once; set hold_ms (", "  naming hold_ms");
	is_int(load("debounce_max_ms = 10000;\n", &c), -1, "the old debounce_max_ms");
	like(err, "; set hold_max_ms (", "  names hold_max_ms");
	is_int(load("sysfs = \"/x\"\n hold_ms = ;\n", &c), -1, "a syntax error");
	like(err, ":2: syntax error", "  with its line");
}

static void test_discovery(void)
{
	struct rd_found f[4];
	size_t n;

	n = rd_discovery_parse("10.0.0.1:3260,1 iqn.2026-11.org.lunlink:t1\n"
			       "[fe80::1]:3260,1 iqn.2026-11.org.lunlink:t2\n"
			       "iscsiadm: No portals found\n"
			       "10.0.0.1:3260,1\n"
			       "10.0.0.2:3260 iqn.nogroup\r\n", f, 4);
	is_int(n, 3, "discovery output: three records, messages skipped");
	if (n == 3) {
		ok(!strcmp(f[0].portal, "10.0.0.1:3260") &&
		   !strcmp(f[0].target, "iqn.2026-11.org.lunlink:t1"), "  portal without ,TPGT; target");
		is_str(f[1].portal, "[fe80::1]:3260", "  an IPv6 portal");
		ok(!strcmp(f[2].portal, "10.0.0.2:3260") && !strcmp(f[2].target, "iqn.nogroup"),
		   "  no TPGT and a CR at the end");
	}
	is_int(rd_discovery_parse("", f, 4), 0, "empty output: nothing");
	is_int(rd_discovery_parse("1.1.1.1:1,1 a\n2.2.2.2:2,1 b\n3.3.3.3:3,1 c\n", f, 2), 2,
	       "never more than asked for");
}

static void test_json(void)
{
	struct rd_changes c = { 0 };
	struct rd_session s = { .sid = 1, .host = 2, .target = "iqn.\"q\"\\x", .portal = "" };
	struct rd_report r = { .sessions = &s, .nsessions = 1, .changes = &c };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	c.v = calloc(2, sizeof(*c.v));
	c.n = c.cap = 2;
	c.v[0].kind = RD_CH_KEPT;
	c.v[0].sid = 1;
	c.v[0].dev.hctl = (struct rd_hctl){ 2, 0, 0, 4 };
	strcpy(c.v[0].dev.block, "sde");
	strcpy(c.v[0].why, "mounted on /mnt/a\tb\x01");
	c.v[1].kind = RD_CH_ERROR;
	strcpy(c.v[1].why, "cannot write");
	f = open_memstream(&buf, &len);
	rd_report_json(f, &r);
	fclose(f);
	like(buf, "\"target\":\"iqn.\\\"q\\\"\\\\x\",\"portal\":null", "JSON: quotes and "
	     "backslashes escaped, no portal is null");
	like(buf, "\"reason\":\"mounted on /mnt/a\\u0009b\\u0001\"", "  control bytes escaped");
	like(buf, "\"change\":\"kept\",\"session\":1,\"hctl\":\"2:0:0:4\",\"device\":\"/dev/sde\","
	     "\"wwid\":null,\"size\":0", "  a change, no WWID is null");
	like(buf, "\"errors\":[\"cannot write\"]", "  errors apart from changes");
	free(buf);
	free(c.v);
}

int main(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/rescand-config.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0) {
		printf("1..0 # SKIP cannot make a temporary file\n");
		return 0;
	}
	close(fd);
	test_config();
	test_discovery();
	test_json();
	unlink(path);
	return done_testing();
}
