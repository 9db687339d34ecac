// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-tgt.c: unit tests of the node agent's view of tgtd: the reader
 * of tgtadm's show (over real output captured from a tgtd, in
 * t/fuzz/corpus/tgt-show) and the planner (policy/tgt_plan.c), table
 * driven: each row is tgtd's state, the agent's record, the wanted LUNs,
 * and the actions expected, written short ("target-new 1 ...").
 */
#include "tap.h"
#include "tgt.h"
#include "status_file.h"
#include "agent_desired.h"

#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define P "iqn.2026-11.org.lunlink.cluster:"

/* ---- the reader, over real tgtadm output ------------------------------ */

static char *slurp_in(const char *dir, const char *corpus, const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;

	snprintf(path, sizeof(path), "%s/../fuzz/corpus/%s/%s", dir, corpus, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	buf = calloc(1, PG_SHOW_MAX + 1);
	*len = fread(buf, 1, PG_SHOW_MAX, f);
	fclose(f);
	return buf;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	return slurp_in(dir, "tgt-show", name, len);
}

/* ---- the module's status files (t/fuzz/corpus/status-file) ------------- */

static void test_status(const char *dir)
{
	static const char *const bad[] = { "bad-no-lun-line", "bad-state", "bad-tid", "bad-url",
					   "bad-peer-no-remote", "bad-lease-word" };
	char word[8];
	uint64_t epoch;
	struct pg_status s;
	struct pg_copy c[4];
	char err[256], *text, tmpl[] = "/tmp/policy-tgt-status.XXXXXX", path[4200];
	size_t len, n;
	FILE *f;

	text = slurp_in(dir, "status-file", "two-legs-syncing-absent", &len);
	if (text && !pg_status_parse(text, len, &s, err, sizeof(err))) {
		is_int(s.ncopies, 2, "two legs, the absent copy and the local line skipped");
		is_str(s.copies[0].state, "syncing", "leg 1 syncing");
		is_u64(s.copies[0].left_bytes, 2147483648ULL, "with left= to copy");
		is_str(s.copies[1].url, "iscsi://nodec:3260/iqn.2026-11.example:vol1/1", "leg 2's url");
		is_u64(s.copies[1].left_bytes, 196608, "down: out_of_date= is what is left");
		is_str(s.copies[1].error, "the connection broke (iscsi_service: \"read error\")",
		       "the error, quotes in it kept");
	} else {
		ok(0, "the syncing status file parses: %s", text ? err : "missing");
	}
	free(text);
	text = slurp_in(dir, "status-file", "leg-down-error", &len);
	if (text && !pg_status_parse(text, len, &s, err, sizeof(err))) {
		is_int(s.ncopies, 1, "a file the module wrote: one leg");
		is_str(s.copies[0].state, "down", "down");
		like(s.copies[0].error, "Target not found", "why");
	} else {
		ok(0, "the module's status file parses: %s", text ? err : "missing");
	}
	free(text);
	text = slurp_in(dir, "status-file", "remote-extent-connecting", &len);
	if (text && !pg_status_parse(text, len, &s, err, sizeof(err))) {
		is_int(s.extent, 2, "a remote extent's file says which extent");
		is_int(s.ncopies, 1, "its peer is one copy");
		like(s.copies[0].url, "-part-0000000000000003/1", "with the remote= URL");
		is_str(s.copies[0].state, "connecting", "connecting");
	} else {
		ok(0, "the remote extent's file parses: %s", text ? err : "missing");
	}
	free(text);
	text = slurp_in(dir, "status-file", "lease-held", &len);
	if (text && !pg_status_parse(text, len, &s, err, sizeof(err))) {
		is_str(s.lease, "held", "a lease=on LUN's file: its lease held");
		is_u64(s.lease_epoch, 5, "... of epoch 5");
		is_int(s.ncopies, 2, "... its two legs as well");
	} else {
		ok(0, "the module's file with a lease parses: %s", text ? err : "missing");
	}
	free(text);
	text = slurp_in(dir, "status-file", "lease-deposed", &len);
	ok(text && !pg_status_parse(text, len, &s, err, sizeof(err)) && !strcmp(s.lease, "deposed"),
	   "a deposed mirror's file says so");
	free(text);
	text = slurp_in(dir, "status-file", "leg-up", &len);
	ok(text && !pg_status_parse(text, len, &s, err, sizeof(err)) && !s.lease[0],
	   "a LUN without lease=on: no lease");
	free(text);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = slurp_in(dir, "status-file", bad[i], &len);
		is_int(text ? pg_status_parse(text, len, &s, err, sizeof(err)) : 0, -1,
		       "%s refused", bad[i]);
		like(err, "line ", "%s: the line named", bad[i]);
		free(text);
	}
	/* the files of one LUN, found by name; a dead tgtd's ignored */
	ok(mkdtemp(tmpl) != NULL, "a scratch status folder");
	snprintf(path, sizeof(path), "%s/c7-t3-l1.status", tmpl);
	f = fopen(path, "w");
	fprintf(f, "lun tid=3 lun=1 image=/a volume=x copy=y tgtd=%d lease=expired lease_epoch=42 "
		"lease_left_ms=0\n"
		"leg 1 url=iscsi://b:3260/iqn.2026-11.x:y/1 state=up out_of_date=0\n", (int)getpid());
	fclose(f);
	snprintf(path, sizeof(path), "%s/c7-t3-l1-e3.status", tmpl);
	f = fopen(path, "w");
	fprintf(f, "lun tid=3 lun=1 extent=3 remote=iscsi://c:3260/iqn.2026-11.x:z/1 tgtd=%d\n"
		"peer state=down capacity=0 needs=1 waiting=0 inflight=0 failed_waiting=0 "
		"peer_errors=0 error=\"gone\"\n", (int)getpid());
	fclose(f);
	snprintf(path, sizeof(path), "%s/c7-t4-l1.status", tmpl);
	f = fopen(path, "w");
	fprintf(f, "lun tid=4 lun=1 tgtd=999999999\nleg 1 url=iscsi://d/e/1 state=up\n");
	fclose(f);
	n = pg_status_copies(tmpl, 7, 3, 1, c, 4, err, sizeof(err));
	is_int(n, 2, "a LUN's own file and its extent 3's");
	if (n == 2) {
		is_str(c[1].url, "iscsi://c:3260/iqn.2026-11.x:z/1", "the extent's peer");
		is_str(c[1].error, "gone", "and why it is down");
	}
	is_int(pg_status_copies(tmpl, 7, 4, 1, c, 4, err, sizeof(err)), 0,
	       "a file a dead tgtd left is not taken");
	is_int(pg_status_lease(tmpl, 7, 3, 1, word, &epoch, NULL), 1, "the LUN's lease, from its own file");
	ok(!strcmp(word, "expired") && epoch == 42, "... expired, epoch 42");
	is_int(pg_status_lease(tmpl, 7, 4, 1, word, &epoch, NULL), 0, "none from a dead tgtd's file");
	is_int(pg_status_lease(tmpl, 7, 9, 1, word, &epoch, NULL), 0, "none without a file");
	is_int(pg_status_copies(tmpl, 8, 3, 1, c, 4, err, sizeof(err)), 0,
	       "another tgtd's control port: not this LUN");
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
	if (system(path))
		diag("cannot remove %s", tmpl);
}

static void test_reader(const char *dir)
{
	struct pg_actual a;
	char err[256], *text;
	size_t len;
	const struct pg_target *t;

	text = slurp(dir, "targets-luns-acls-accounts", &len);
	ok(text, "the captured show output is there");
	if (!text)
		return;
	is_int(pg_show_parse(text, len, &a, err, sizeof(err)), 0, "real show output parses");
	is_int(a.ntargets, 3, "three targets");
	t = pg_actual_target(&a, P "vol-a");
	ok(t && t->tid == 3, "target 3 is vol-a");
	if (t) {
		is_int(t->nluns, 3, "vol-a: LUN 0 and two more");
		is_str(t->luns[1].bstype, "lunlink", "LUN 1 is lunlink");
		like(t->luns[1].path, "/ll2.img", "LUN 1's backing store");
		is_u64(t->luns[2].size_mb, 34, "LUN 2 is 34 MB as tgtadm rounds it");
		is_int(t->nacl, 3, "three ACL entries");
		is_str(t->acl[0], "10.0.0.0/8", "an address entry");
		is_int(t->naccounts, 2, "two accounts");
		ok(!t->accounts[0].outgoing && t->accounts[1].outgoing, "bob is outgoing");
		is_str(t->luns[0].path, "", "the controller LUN has no backing store");
	}
	pg_actual_free(&a);
	free(text);

	text = slurp(dir, "session-bsoflags", &len);
	if (text && pg_show_parse(text, len, &a, err, sizeof(err)) == 0) {
		is_int(a.targets[0].nexuses, 1, "a logged-in initiator is one I_T nexus");
		is_str(a.targets[0].luns[1].bsoflags, "sync", "bsoflags read");
		pg_actual_free(&a);
	} else {
		ok(0, "session output parses: %s", err);
	}
	free(text);

	text = slurp(dir, "scsi-identity-set", &len);
	if (text && pg_show_parse(text, len, &a, err, sizeof(err)) == 0) {
		t = pg_actual_target(&a, P "pl");
		ok(t && t->nluns == 2, "the plain volume's target and its LUN");
		if (t && t->nluns == 2) {
			is_str(t->luns[1].scsi_sn, "ll-0000000000000040-abcdefghi",
			       "the SCSI SN the agent set");
			is_str(t->luns[1].scsi_id, "6abcdefghijklmno0000000000000040",
			       "the SCSI ID the agent set");
			is_str(t->luns[0].scsi_id, "IET     00020000", "tgt's own id, spaces kept");
		}
		pg_actual_free(&a);
	} else {
		ok(0, "identity output parses: %s", text ? err : "missing");
	}
	free(text);

	text = slurp(dir, "account-list", &len);
	memset(&a, 0, sizeof(a));
	if (text) {
		is_int(pg_accounts_parse(text, len, &a, err, sizeof(err)), 0, "account list parses");
		is_int(a.nusers, 2, "two accounts in tgtd");
		pg_actual_free(&a);
	}
	free(text);

	static const struct { const char *file, *why; } bad[] = {
		{ "bad-lun-number", "expected 'LUN: N'" },
		{ "bad-tab", "control character" },
		{ "bad-duplicate-tid", "target 1 shown twice" },
		{ "bad-relative-path", "not absolute" },
		{ "bad-size-unit", "Size: N MB" },
		{ "bad-sys-not-targets", "expected 'Target N: IQN'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = slurp(dir, bad[i].file, &len);
		if (!text) {
			ok(0, "%s is there", bad[i].file);
			continue;
		}
		err[0] = '\0';
		is_int(pg_show_parse(text, len, &a, err, sizeof(err)), -1, "%s refused", bad[i].file);
		like(err, bad[i].why, "%s: the reason", bad[i].file);
		like(err, "line ", "%s: the line is named", bad[i].file);
		ok(a.ntargets == 0, "%s: nothing half-read kept", bad[i].file);
		free(text);
	}
}

/* ---- the planner, table driven --------------------------------------- */

struct lun_spec {
	unsigned int lun;
	const char *path, *bstype;
	uint64_t size_mb;
	const char *scsi_sn, *scsi_id;
};
struct tgt_spec {
	unsigned int tid;
	const char *iqn;
	struct lun_spec luns[4];
	const char *acl[4];
	const char *accounts[4];
};
struct want_spec {
	const char *volume, *iqn;
	unsigned int tid, lun;
	const char *path, *bstype, *bsopts;
	const char *acl[4];
	const char *user, *password;
	uint64_t grow_to;
	const char *scsi_sn, *scsi_id;
	uint64_t file_bytes;
	bool reread;
};
struct row {
	const char *name;
	struct tgt_spec have[4];
	const char *users[4];		/* tgtd's account list */
	const char *record;		/* the agent's record, JSON */
	struct want_spec want[4];
	const char *expect;		/* the plan, short; NULL: an error */
	const char *error;		/* ... containing this */
};

#define REC_AB "{\"luns\":[{\"iqn\":\"" P "a\",\"lun\":1,\"path\":\"/srv/a.img\",\"bstype\":" \
	"\"lunlink\",\"bsopts\":\"io=auto\"},{\"iqn\":\"" P "b\",\"lun\":1,\"path\":" \
	"\"/srv/b.img\",\"bstype\":\"rdwr\",\"bsopts\":\"\"}],\"accounts\":{}}"
#define WANT_A { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto", { "iqn.2026-11.org.example:h1" } }
#define WANT_B { "b", P "b", 0, 1, "/srv/b.img", "rdwr", "", { "ALL" } }
#define HAVE_A { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink" } }, \
		 { "iqn.2026-11.org.example:h1" } }
#define HAVE_B { 2, P "b", { { 0, "", "null" }, { 1, "/srv/b.img", "rdwr" } }, { "ALL" } }
#define FOREIGN { 7, "iqn.2001-04.com.example:other", { { 0, "", "null" }, \
		  { 1, "/srv/other.img", "rdwr" } }, { "10.0.0.0/8" }, { "carol" } }
#define CREATE_AB "target-new 1 " P "a; target-new 2 " P "b; " \
	"lun-new 1/1 /srv/a.img lunlink io=auto; lun-new 2/1 /srv/b.img rdwr; " \
	"acl-bind 1 iqn.2026-11.org.example:h1; acl-bind 2 ALL"

static const struct row rows[] = {
	{ "an empty tgtd: both targets, their ACLs and LUNs made",
	  .want = { WANT_A, WANT_B }, .expect = CREATE_AB },
	{ "already converged: nothing to do",
	  .have = { HAVE_A, HAVE_B }, .record = REC_AB, .want = { WANT_A, WANT_B }, .expect = "" },
	{ "converged, no record (agent's state lost): options taken as they are",
	  .have = { HAVE_A, HAVE_B }, .want = { WANT_A, WANT_B }, .expect = "" },
	{ "a restarted tgtd (empty): everything made again",
	  .record = REC_AB, .want = { WANT_A, WANT_B }, .expect = CREATE_AB },
	{ "a LUN no longer wanted is deleted, and its target once empty",
	  .have = { HAVE_A, HAVE_B }, .record = REC_AB, .want = { WANT_A },
	  .expect = "target-delete 2" },
	{ "an extra LUN in a wanted target is deleted",
	  .have = { { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink" },
				 { 2, "/srv/x.img", "rdwr" } }, { "iqn.2026-11.org.example:h1" } } },
	  .record = REC_AB, .want = { WANT_A }, .expect = "lun-delete 1/2" },
	{ "foreign targets untouched, owned leftovers removed",
	  .have = { FOREIGN, { 3, P "old", { { 0, "", "null" }, { 1, "/srv/old.img", "rdwr" } } } },
	  .users = { "carol" }, .want = { WANT_A },
	  .expect = "target-delete 3; target-new 1 " P "a; lun-new 1/1 /srv/a.img lunlink io=auto; "
		    "acl-bind 1 iqn.2026-11.org.example:h1" },
	{ "a foreign target with the owned IQN's tid hint: the lowest free tid",
	  .have = { FOREIGN }, .want = { { "a", P "a", 7, 1, "/srv/a.img", "rdwr", "", { "ALL" } } },
	  .expect = "target-new 1 " P "a; lun-new 1/1 /srv/a.img rdwr; acl-bind 1 ALL" },
	{ "a free tid hint is taken",
	  .want = { { "a", P "a", 9, 1, "/srv/a.img", "rdwr", "", { "ALL" } } },
	  .expect = "target-new 9 " P "a; lun-new 9/1 /srv/a.img rdwr; acl-bind 9 ALL" },
	{ "changed bsopts: the LUN replaced",
	  .have = { HAVE_A }, .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=threads",
		      { "iqn.2026-11.org.example:h1" } } },
	  .expect = "lun-delete 1/1; lun-new 1/1 /srv/a.img lunlink io=threads" },
	{ "changed bstype and path: the LUN replaced",
	  .have = { HAVE_B }, .record = REC_AB,
	  .want = { { "b", P "b", 0, 1, "/srv/b2.img", "lunlink", "", { "ALL" } } },
	  .expect = "lun-delete 2/1; lun-new 2/1 /srv/b2.img lunlink" },
	{ "a changed ACL: the old unbound, the new bound",
	  .have = { HAVE_A }, .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h2" } } },
	  .expect = "acl-unbind 1 iqn.2026-11.org.example:h1; acl-bind 1 iqn.2026-11.org.example:h2" },
	{ "CHAP: the account made and bound",
	  .have = { HAVE_A }, .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, "vola", "secret123456" } },
	  .expect = "account-new vola; account-bind 1 vola" },
	{ "CHAP converged: nothing to do",
	  .have = { { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink" } },
		      { "iqn.2026-11.org.example:h1" }, { "vola" } } },
	  .users = { "vola" },
	  .record = "{\"luns\":[],\"accounts\":{\"vola\":\"secret123456\"}}",
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, "vola", "secret123456" } },
	  .expect = "" },
	{ "CHAP password changed: the account made again and bound again",
	  .have = { { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink" } },
		      { "iqn.2026-11.org.example:h1" }, { "vola" } } },
	  .users = { "vola" },
	  .record = "{\"luns\":[],\"accounts\":{\"vola\":\"oldsecret1234\"}}",
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, "vola", "secret123456" } },
	  .expect = "account-delete vola; account-new vola; account-bind 1 vola" },
	{ "CHAP dropped: unbound, and the agent's account deleted; a foreign one kept",
	  .have = { { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink" } },
		      { "iqn.2026-11.org.example:h1" }, { "vola" } }, FOREIGN },
	  .users = { "vola", "carol" },
	  .record = "{\"luns\":[],\"accounts\":{\"vola\":\"secret123456\"}}",
	  .want = { WANT_A },
	  .expect = "account-unbind 1 vola; account-delete vola" },
	{ "a lunlink image to grow: resize once served",
	  .have = { HAVE_A }, .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, .grow_to = 1 << 30 } },
	  .expect = "lun-resize 1/1 1073741824" },
	{ "a new serving LUN gets its identity before any host is let in",
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, .scsi_sn = "ll-0000000000000040-abc",
		      .scsi_id = "6abc0000000000040" } },
	  .expect = "target-new 1 " P "a; lun-new 1/1 /srv/a.img lunlink io=auto; "
		    "lun-identity 1/1 ll-0000000000000040-abc 6abc0000000000040; "
		    "acl-bind 1 iqn.2026-11.org.example:h1" },
	{ "a served LUN with tgt's default identity: updated in place",
	  .have = { HAVE_A }, .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, .scsi_sn = "ll-sn", .scsi_id = "6abc" } },
	  .expect = "lun-identity 1/1 ll-sn 6abc" },
	{ "a served LUN with its identity: nothing to do",
	  .have = { { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink", 0, "ll-sn",
							"6abc" } },
		      { "iqn.2026-11.org.example:h1" } } },
	  .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, .scsi_sn = "ll-sn", .scsi_id = "6abc" } },
	  .expect = "" },
	{ "an rdwr file tgtd serves whole (34 MB shown for 32 MiB): nothing to do",
	  .have = { { 2, P "b", { { 0, "", "null" }, { 1, "/srv/b.img", "rdwr", 34 } }, { "ALL" } } },
	  .record = REC_AB,
	  .want = { { "b", P "b", 0, 1, "/srv/b.img", "rdwr", "", { "ALL" },
		      .file_bytes = 33554432 } },
	  .expect = "" },
	{ "an rdwr file that grew: the LUN made again (rdwr cannot reread)",
	  .have = { { 2, P "b", { { 0, "", "null" }, { 1, "/srv/b.img", "rdwr", 34 } }, { "ALL" } } },
	  .record = REC_AB,
	  .want = { { "b", P "b", 0, 1, "/srv/b.img", "rdwr", "", { "ALL" },
		      .file_bytes = 67108864 } },
	  .expect = "lun-delete 2/1; lun-new 2/1 /srv/b.img rdwr" },
	{ "a raw=on lunlink leg whose image grew: resize=reread",
	  .have = { HAVE_A }, .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, .reread = true } },
	  .expect = "lun-resize 1/1 0" },
	{ "a raw=on leg to hold more data: its file grown through its LUN (resize=SIZE)",
	  .have = { { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink", 34 } },
		      { "iqn.2026-11.org.example:h1" } } },
	  .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, .grow_to = 68157440 } },
	  .expect = "lun-resize 1/1 68157440" },
	{ "a raw=on leg whose grown file tgtd shows (68 MB for 65 MiB): nothing to do",
	  .have = { { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink", 68 } },
		      { "iqn.2026-11.org.example:h1" } } },
	  .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, .file_bytes = 68157440,
		      .reread = true } },
	  .expect = "" },
	{ "a raw=on leg whose file grew behind tgtd (34 MB shown): resize=reread",
	  .have = { { 1, P "a", { { 0, "", "null" }, { 1, "/srv/a.img", "lunlink", 34 } },
		      { "iqn.2026-11.org.example:h1" } } },
	  .record = REC_AB,
	  .want = { { "a", P "a", 0, 1, "/srv/a.img", "lunlink", "io=auto",
		      { "iqn.2026-11.org.example:h1" }, .file_bytes = 68157440,
		      .reread = true } },
	  .expect = "lun-resize 1/1 0" },
	{ "two volumes on one target share it",
	  .want = { { "a", P "t", 0, 1, "/srv/a.img", "rdwr", "", { "ALL" } },
		    { "b", P "t", 0, 2, "/srv/b.img", "rdwr", "", { "ALL" } } },
	  .expect = "target-new 1 " P "t; lun-new 1/1 /srv/a.img rdwr; "
		    "lun-new 1/2 /srv/b.img rdwr; acl-bind 1 ALL" },
	{ "a want outside the cluster's prefix is refused",
	  .want = { { "a", "iqn.2001-04.com.example:x", 0, 1, "/srv/a.img", "rdwr", "" } },
	  .error = "outside the cluster's prefix" },
	{ "two volumes on one LUN are refused",
	  .want = { { "a", P "t", 0, 1, "/srv/a.img", "rdwr", "" },
		    { "b", P "t", 0, 1, "/srv/b.img", "rdwr", "" } },
	  .error = "volumes a and b both want LUN 1" },
	{ "two volumes on one target with different ACLs are refused",
	  .want = { { "a", P "t", 0, 1, "/srv/a.img", "rdwr", "", { "ALL" } },
		    { "b", P "t", 0, 2, "/srv/b.img", "rdwr", "" } },
	  .error = "not its ACL" },
	{ "a bstype other than lunlink or rdwr is refused",
	  .want = { { "a", P "t", 0, 1, "/srv/a.img", "aio", "" } }, .error = "bstype lunlink or rdwr" },
};

static void build_actual(const struct row *r, struct pg_actual *a)
{
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < 4 && r->have[i].tid; i++) {
		const struct tgt_spec *s = &r->have[i];
		struct pg_target *t;

		a->targets = realloc(a->targets, (a->ntargets + 1) * sizeof(*t));
		t = &a->targets[a->ntargets++];
		memset(t, 0, sizeof(*t));
		t->tid = s->tid;
		snprintf(t->iqn, sizeof(t->iqn), "%s", s->iqn);
		for (size_t l = 0; l < 4 && s->luns[l].bstype; l++) {
			t->luns = realloc(t->luns, (t->nluns + 1) * sizeof(*t->luns));
			memset(&t->luns[t->nluns], 0, sizeof(*t->luns));
			t->luns[t->nluns].lun = s->luns[l].lun;
			snprintf(t->luns[t->nluns].path, sizeof(t->luns[0].path), "%s", s->luns[l].path);
			snprintf(t->luns[t->nluns].bstype, sizeof(t->luns[0].bstype), "%s",
				 s->luns[l].bstype);
			t->luns[t->nluns].size_mb = s->luns[l].size_mb;
			snprintf(t->luns[t->nluns].scsi_sn, sizeof(t->luns[0].scsi_sn), "%s",
				 s->luns[l].scsi_sn ? s->luns[l].scsi_sn : "beaf11");
			snprintf(t->luns[t->nluns].scsi_id, sizeof(t->luns[0].scsi_id), "%s",
				 s->luns[l].scsi_id ? s->luns[l].scsi_id : "IET     00010001");
			t->nluns++;
		}
		for (size_t k = 0; k < 4 && s->acl[k]; k++) {
			t->acl = realloc(t->acl, (t->nacl + 1) * sizeof(*t->acl));
			snprintf(t->acl[t->nacl++], sizeof(*t->acl), "%s", s->acl[k]);
		}
		for (size_t k = 0; k < 4 && s->accounts[k]; k++)
			snprintf(t->accounts[t->naccounts++].user, sizeof(t->accounts[0].user), "%s",
				 s->accounts[k]);
	}
	for (size_t u = 0; u < 4 && r->users[u]; u++) {
		a->users = realloc(a->users, (a->nusers + 1) * sizeof(*a->users));
		a->passwords = realloc(a->passwords, (a->nusers + 1) * sizeof(*a->passwords));
		snprintf(a->users[a->nusers], sizeof(*a->users), "%s", r->users[u]);
		a->passwords[a->nusers++][0] = '\0';
	}
}

static size_t build_want(const struct row *r, struct pg_want_lun *w)
{
	size_t n = 0;

	for (; n < 4 && r->want[n].volume; n++) {
		const struct want_spec *s = &r->want[n];

		memset(&w[n], 0, sizeof(w[n]));
		w[n].volume = s->volume;
		snprintf(w[n].iqn, sizeof(w[n].iqn), "%s", s->iqn);
		w[n].tid = s->tid;
		w[n].lun = s->lun;
		snprintf(w[n].path, sizeof(w[n].path), "%s", s->path);
		snprintf(w[n].bstype, sizeof(w[n].bstype), "%s", s->bstype);
		snprintf(w[n].bsopts, sizeof(w[n].bsopts), "%s", s->bsopts ? s->bsopts : "");
		for (size_t k = 0; k < 4 && s->acl[k]; k++) {
			w[n].acl = realloc(w[n].acl, (w[n].nacl + 1) * sizeof(*w[n].acl));
			snprintf(w[n].acl[w[n].nacl++], sizeof(*w[n].acl), "%s", s->acl[k]);
		}
		snprintf(w[n].chap_user, sizeof(w[n].chap_user), "%s", s->user ? s->user : "");
		snprintf(w[n].chap_password, sizeof(w[n].chap_password), "%s",
			 s->password ? s->password : "");
		w[n].grow_to = s->grow_to;
		snprintf(w[n].scsi_sn, sizeof(w[n].scsi_sn), "%s", s->scsi_sn ? s->scsi_sn : "");
		snprintf(w[n].scsi_id, sizeof(w[n].scsi_id), "%s", s->scsi_id ? s->scsi_id : "");
		w[n].file_bytes = s->file_bytes;
		w[n].reread = s->reread;
	}
	return n;
}

static void shorten(const struct pg_plan *p, char *buf, size_t len)
{
	static const char *const names[] = {
		[PG_ACCOUNT_DELETE] = "account-delete", [PG_ACCOUNT_NEW] = "account-new",
		[PG_TARGET_NEW] = "target-new", [PG_ACL_BIND] = "acl-bind",
		[PG_ACL_UNBIND] = "acl-unbind", [PG_ACCOUNT_BIND] = "account-bind",
		[PG_ACCOUNT_UNBIND] = "account-unbind", [PG_LUN_DELETE] = "lun-delete",
		[PG_LUN_NEW] = "lun-new", [PG_LUN_RESIZE] = "lun-resize",
		[PG_LUN_IDENTITY] = "lun-identity", [PG_TARGET_DELETE] = "target-delete",
		[PG_LUN_LEASE] = "lun-lease",
	};
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n && o < len; i++) {
		const struct pg_action *a = &p->actions[i];
		const char *sep = i ? "; " : "";

		switch (a->op) {
		case PG_ACCOUNT_DELETE:
		case PG_ACCOUNT_NEW:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %s", sep, names[a->op], a->name);
			break;
		case PG_TARGET_NEW:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %u %s", sep, names[a->op], a->tid,
					      a->iqn);
			break;
		case PG_TARGET_DELETE:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %u", sep, names[a->op], a->tid);
			break;
		case PG_ACL_BIND:
		case PG_ACL_UNBIND:
		case PG_ACCOUNT_BIND:
		case PG_ACCOUNT_UNBIND:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %u %s", sep, names[a->op], a->tid,
					      a->name);
			break;
		case PG_LUN_DELETE:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %u/%u", sep, names[a->op], a->tid,
					      a->lun);
			break;
		case PG_LUN_NEW:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %u/%u %s %s%s%s", sep,
					      names[a->op], a->tid, a->lun, a->path, a->bstype,
					      a->bsopts[0] ? " " : "", a->bsopts);
			break;
		case PG_LUN_RESIZE:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %u/%u %" PRIu64, sep,
					      names[a->op], a->tid, a->lun, a->size);
			break;
		case PG_LUN_IDENTITY:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %u/%u %s %s", sep, names[a->op],
					      a->tid, a->lun, a->scsi_sn, a->scsi_id);
			break;
		case PG_LUN_LEASE:
			o += (size_t)snprintf(buf + o, len - o, "%s%s %u/%u %" PRIu64, sep, names[a->op],
					      a->tid, a->lun, a->epoch);
			break;
		}
	}
}

static void test_planner(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct pg_actual a;
		struct pg_want_lun w[4];
		struct pg_plan plan;
		json_object *rec = r->record ? json_tokener_parse(r->record) : NULL;
		char got[4096], err[512] = "";
		size_t n;
		int rc;

		build_actual(r, &a);
		pg_actual_recall(&a, rec);
		n = build_want(r, w);
		rc = pg_plan_make(&a, w, n, P, &plan, err, sizeof(err));
		if (r->expect) {
			shorten(&plan, got, sizeof(got));
			if (rc)
				diag("error: %s", err);
			is_str(rc ? err : got, r->expect, "%s", r->name);
			/* each action says what it does in words */
			for (size_t k = 0; k < plan.n; k++) {
				char d[1024];

				pg_action_describe(&plan.actions[k], d, sizeof(d));
				if (!d[0] || strstr(d, "unknown") || strstr(d, "secret"))
					ok(0, "%s: action %zu described: '%s'", r->name, k, d);
			}
		} else {
			is_int(rc, -1, "%s", r->name);
			like(err, r->error, "%s: the reason", r->name);
		}
		pg_plan_free(&plan);
		for (size_t k = 0; k < n; k++)
			free(w[k].acl);
		pg_actual_free(&a);
		if (rec)
			json_object_put(rec);
	}
}

/* The record of a plan applied, read back, makes the planner quiet. */
static void test_record_round_trip(void)
{
	const struct row *r = &rows[0];
	struct pg_want_lun w[4];
	struct pg_actual a;
	struct pg_plan plan;
	json_object *rec;
	char err[256];
	size_t n = build_want(r, w);

	rec = pg_record_json(w, n);
	build_actual(&rows[1], &a);
	/* the LUN's options changed since the record: a replace */
	snprintf(w[0].bsopts, sizeof(w[0].bsopts), "io=uring");
	pg_actual_recall(&a, rec);
	ok(a.targets[0].luns[1].bsopts_known, "the record gives LUN 1's bsopts");
	is_str(a.targets[0].luns[1].bsopts, "io=auto", "as applied");
	is_int(pg_plan_make(&a, w, n, P, &plan, err, sizeof(err)), 0, "planned");
	is_int(plan.n, 2, "delete and add: the options differ from the record's");
	pg_plan_free(&plan);
	pg_actual_free(&a);
	json_object_put(rec);
	for (size_t k = 0; k < n; k++)
		free(w[k].acl);
}

/* ---- pr=cluster LUNs: the agent's pr_socket (pg_bsopts_for_node) ------ */

static const struct {
	const char *name, *bsopts, *socket, *want;
} for_node_rows[] = {
	{ "a serving LUN of a single volume gets the agent's socket", "pr=cluster",
	  "/run/lunlink/pr.sock", "pr=cluster;pr_socket=/run/lunlink/pr.sock" },
	{ "a doubled volume's primary: after its other options",
	  "mirror=iscsi://10.0.0.6:3260/" P "m-leg-2/1;lease=on;pr=cluster", "/tmp/n2/pr.sock",
	  "mirror=iscsi://10.0.0.6:3260/" P "m-leg-2/1;lease=on;pr=cluster;pr_socket=/tmp/n2/pr.sock" },
	{ "pr=cluster anywhere among the options", "pr=cluster;io=threads", "/s",
	  "pr=cluster;io=threads;pr_socket=/s" },
	{ "a leg (raw=on): as it is", "raw=on", "/s", "raw=on" },
	{ "no options: none", "", "/s", "" },
	{ "pr=local: as it is", "pr=local", "/s", "pr=local" },
	{ "not the option pr=cluster, only like it", "xpr=cluster;pr=clusters", "/s",
	  "xpr=cluster;pr=clusters" },
	{ "a pr_socket= given is kept, not doubled", "pr=cluster;pr_socket=/other.sock", "/s",
	  "pr=cluster;pr_socket=/other.sock" },
	{ "no socket (agent-tool): as it is", "pr=cluster", NULL, "pr=cluster" },
};

static void test_bsopts_for_node(void)
{
	char out[PG_BSOPTS_MAX + 1], err[512], big[PG_BSOPTS_MAX + 1];
	const struct row *r = &rows[0];
	struct pg_want_lun w[4];
	struct pg_actual a;
	struct pg_plan plan;
	json_object *rec;
	size_t n;

	for (size_t i = 0; i < sizeof(for_node_rows) / sizeof(for_node_rows[0]); i++) {
		is_int(pg_bsopts_for_node(for_node_rows[i].bsopts, for_node_rows[i].socket, out,
					  sizeof(out), err, sizeof(err)), 0, "%s", for_node_rows[i].name);
		is_str(out, for_node_rows[i].want, "%s: the options", for_node_rows[i].name);
	}
	is_int(pg_bsopts_for_node("pr=cluster", "/run/a;b.sock", out, sizeof(out), err,
				  sizeof(err)), -1, "a socket path with ';' is refused");
	like(err, "pr_socket '/run/a;b.sock' cannot go in bsopts", "... naming it");
	is_int(pg_bsopts_for_node("pr=cluster", "/run/a b", out, sizeof(out), err, sizeof(err)), -1,
	       "one with a space too");
	is_int(pg_bsopts_for_node("pr=cluster", "/run/a,b", out, sizeof(out), err, sizeof(err)), -1,
	       "one with a ',' too");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "pr=cluster;io=", 14);
	is_int(pg_bsopts_for_node(big + 20, "/run/lunlink/pr.sock", out, sizeof(out), err,
				  sizeof(err)), 0, "options without pr=cluster near the limit: as they are");
	big[PG_BSOPTS_MAX - 10] = '\0';
	is_int(pg_bsopts_for_node(big, "/run/lunlink/pr.sock", out, sizeof(out), err, sizeof(err)),
	       -1, "options that the socket would take past the limit are refused");
	like(err, "longer than the 1023 characters tgtd takes", "... saying so");

	/* recorded as applied, compared as applied: no change the next round */
	n = build_want(r, w);
	pg_bsopts_for_node("pr=cluster", "/run/n1/pr.sock", w[0].bsopts, sizeof(w[0].bsopts), err,
			   sizeof(err));
	rec = pg_record_json(w, n);
	build_actual(&rows[1], &a);
	pg_actual_recall(&a, rec);
	is_int(pg_plan_make(&a, w, n, P, &plan, err, sizeof(err)), 0, "planned");
	is_int(plan.n, 0, "a pr=cluster LUN made with the agent's socket: nothing to do next round");
	pg_plan_free(&plan);
	pg_actual_free(&a);
	build_actual(&rows[1], &a);
	pg_actual_recall(&a, rec);
	pg_bsopts_for_node("pr=cluster", "/run/n1/other.sock", w[0].bsopts, sizeof(w[0].bsopts),
			   err, sizeof(err));
	is_int(pg_plan_make(&a, w, n, P, &plan, err, sizeof(err)), 0, "planned");
	is_int(plan.n, 2, "the agent's socket moved: the LUN is made again, so its module finds it");
	pg_plan_free(&plan);
	pg_actual_free(&a);
	json_object_put(rec);
	for (size_t k = 0; k < n; k++)
		free(w[k].acl);
}

/* ---- the desired state's newer fields (agent_desired.c) -------------- */

#define VID "0123456789abcdef0123456789abcdef"

static int desired(const char *text, struct pg_desired *d, char *err, size_t errlen)
{
	json_object *j = json_tokener_parse(text);
	int rc = j ? pg_desired_read(j, d, err, errlen) : -2;

	if (j)
		json_object_put(j);
	return rc;
}

static void test_desired(void)
{
	struct pg_desired d;
	char err[512];

	is_int(desired("{\"revision\":3,\"volumes\":{\"v\":{\"images\":[{\"path\":\"/srv/v.img\","
		       "\"size\":\"16M\",\"volume_id\":\"" VID "\",\"format\":\"plain\"}],"
		       "\"lun\":{\"iqn\":\"" P "v\",\"lun\":1,\"path\":\"/srv/v.img\",\"bstype\":"
		       "\"rdwr\",\"size\":33554432,\"scsi_sn\":\"ll-40-abc\",\"scsi_id\":"
		       "\"6abc40\"}}}}", &d, err, sizeof(err)), 0, "format, size, identity read");
	if (d.n == 1) {
		ok(d.volumes[0].images[0].plain, "format plain");
		is_u64(d.volumes[0].lun.size, 33554432, "lun.size");
		is_str(d.volumes[0].lun.scsi_sn, "ll-40-abc", "lun.scsi_sn");
		is_str(d.volumes[0].lun.scsi_id, "6abc40", "lun.scsi_id");
		ok(!d.volumes[0].delete, "not a deletion order");
	}
	pg_desired_free(&d);
	is_int(desired("{\"volumes\":{\"v\":{\"delete\":true,\"images\":[],\"lun\":null,"
		       "\"delete_images\":[{\"area\":\"0000000000000009\",\"path\":\"/srv/v.img\","
		       "\"size\":1048576,\"volume_id\":\"" VID "\",\"format\":\"lunlink\"}]}}}",
		       &d, err, sizeof(err)), 0, "a deletion order read");
	if (d.n == 1) {
		ok(d.volumes[0].delete && !d.volumes[0].has_lun, "delete, no LUN");
		is_int(d.volumes[0].ndelete_images, 1, "one image to delete");
		ok(!d.volumes[0].delete_images[0].plain, "a lunlink one");
	}
	pg_desired_free(&d);
	is_int(desired("{\"volumes\":{\"v\":{\"images\":[{\"path\":\"/srv/v.img\",\"size\":1,"
		       "\"volume_id\":\"" VID "\",\"format\":\"qcow2\"}]}}}", &d, err, sizeof(err)),
	       -1, "an unknown format refused");
	like(err, "format must be lunlink or plain", "saying which");
	is_int(desired("{\"volumes\":{\"v\":{\"lun\":{\"iqn\":\"" P "v\",\"lun\":1,\"path\":"
		       "\"/srv/v.img\",\"bstype\":\"rdwr\",\"scsi_sn\":\"a,scsi_id=x\"}}}}", &d, err,
		       sizeof(err)), -1, "a serial that would add a tgtadm parameter refused");
	like(err, "scsi_sn and scsi_id", "saying which");
	is_int(desired("{\"volumes\":{\"v\":{\"delete\":true,\"delete_images\":[{\"path\":"
		       "\"/srv/../etc/x\",\"size\":1,\"volume_id\":\"" VID "\"}]}}}", &d, err,
		       sizeof(err)), -1, "a deletion of a path not normalised refused");
	/* the manager lends to a name with upper case after the domain */
	is_int(desired("{\"volumes\":{\"v\":{\"lun\":{\"iqn\":\"" P "v\",\"lun\":1,\"path\":"
		       "\"/srv/v.img\",\"bstype\":\"rdwr\",\"acl\":[\"iqn.2026-11.org.example:Guest-A\"]}}}}",
		       &d, err, sizeof(err)), 0, "an ACL entry with upper case taken");
	if (d.n == 1 && d.volumes[0].has_lun)
		is_str(d.volumes[0].lun.acl[0], "iqn.2026-11.org.example:Guest-A", "as it is");
	pg_desired_free(&d);
	is_int(desired("{\"volumes\":{\"v\":{\"lun\":{\"iqn\":\"" P "v\",\"lun\":1,\"path\":"
		       "\"/srv/v.img\",\"bstype\":\"rdwr\",\"acl\":[\"iqn.2026-11.org.example:a b\"]}}}}",
		       &d, err, sizeof(err)), -1, "an ACL entry with a space refused");
	like(err, "each acl entry", "saying which");
}

/* ---- write leases pushed to tgtd ---------------------------------------- */

#define MIRROR "mirror=iscsi://10.0.0.6:3260/" P "m-leg-2/1"

/*
 * The leases planner: a lease goes to the LUN serving with lease=on that
 * tgtd has, with a deadline still ahead; the others are left out.
 */
static void test_lease_plan(void)
{
	static const struct row have = {
		.have = { { 3, P "m", { { 0, "", "null" }, { 1, "/srv/m.img", "lunlink" } } },
			  { 4, P "old", { { 0, "", "null" }, { 1, "/srv/old.img", "lunlink" } } },
			  { 5, P "s", { { 0, "", "null" }, { 1, "/srv/s.img", "lunlink" } } } },
		.want = { { "m", P "m", 0, 1, "/srv/m.img", "lunlink", MIRROR ";lease=on" },
			  { "new", P "new", 0, 1, "/srv/new.img", "lunlink", MIRROR ";lease=on" },
			  { "old", P "old", 0, 1, "/srv/old.img", "lunlink", MIRROR ";lease=on" },
			  { "s", P "s", 0, 1, "/srv/s.img", "lunlink", "" } },
	};
	const char *rec = "{\"luns\":[{\"iqn\":\"" P "old\",\"lun\":1,\"path\":\"/srv/old.img\","
			  "\"bstype\":\"lunlink\",\"bsopts\":\"" MIRROR "\"}],\"accounts\":{}}";
	struct pg_actual a;
	struct pg_want_lun w[4];
	struct pg_lease_push push[4];
	struct pg_plan plan;
	json_object *record = json_tokener_parse(rec);
	char got[1024], d[1024];
	int64_t now = ll_mono_ms();
	size_t n;

	ok(pg_bsopts_has(MIRROR ";lease=on", "lease=on"), "lease=on after mirror=, ';' between");
	ok(pg_bsopts_has("lease=on", "lease=on"), "lease=on alone");
	ok(!pg_bsopts_has("lease=one", "lease=on") && !pg_bsopts_has("xlease=on", "lease=on") &&
	   !pg_bsopts_has("", "lease=on"), "not a longer or another option");

	build_actual(&have, &a);
	pg_actual_recall(&a, record);
	n = build_want(&have, w);
	for (size_t i = 0; i < n; i++)
		push[i] = (struct pg_lease_push){ .lun = &w[i], .epoch = 57 + i,
						   .deadline_ms = now + 5000 };
	is_int(pg_lease_plan(&a, push, n, now, &plan), 0, "leases planned");
	shorten(&plan, got, sizeof(got));
	is_str(got, "lun-lease 3/1 57", "only the served lease=on LUN gets its lease (not one "
	       "tgtd lacks yet, one made without lease=on, nor a LUN without it)");
	pg_action_describe(&plan.actions[0], d, sizeof(d));
	like(d, "give LUN 1 of target 3 (" P "m) the write lease of epoch 57, good for ",
	     "the action in words");
	pg_plan_free(&plan);

	push[0].deadline_ms = now;
	is_int(pg_lease_plan(&a, push, 1, now, &plan), 0, "a lease whose deadline passed");
	is_int(plan.n, 0, "... is not pushed");
	pg_plan_free(&plan);
	for (size_t k = 0; k < n; k++)
		free(w[k].acl);
	pg_actual_free(&a);
	json_object_put(record);
}

/* The lease's tgtadm: lease=EPOCH:@DEADLINE_MS, the agent's deadline on
 * CLOCK_MONOTONIC as it is (a slow tgtadm cannot stretch it); a lease run
 * out is not sent.  tgtadm is a script that writes its arguments down. */
static void test_lease_apply(void)
{
	char tmpl[] = "/tmp/policy-tgt-lease.XXXXXX", script[4200], args[4200], line[512] = "";
	struct pg_action act = { .op = PG_LUN_LEASE, .tid = 3, .lun = 1, .epoch = 57,
				 .iqn = P "m" };
	struct pg_plan plan = { .actions = &act, .n = 1, .cap = 1 };
	struct pg_tgt_opts o = { .tgtadm = script, .control_port = -1 };
	char err[1024], want[128], *dir = mkdtemp(tmpl);
	long long deadline = -1;
	size_t failed = 9;
	FILE *f;

	if (!dir) {
		ok(0, "a scratch folder for the fake tgtadm");
		return;
	}
	snprintf(script, sizeof(script), "%s/tgtadm", dir);
	snprintf(args, sizeof(args), "%s/args", dir);
	f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\necho \"$@\" >%s\n", args);
	fclose(f);
	chmod(script, 0755);

	act.deadline_ms = ll_mono_ms() + 5000;
	is_int(pg_plan_apply(&o, &plan, &failed, err, sizeof(err)), 0, "a lease pushed");
	f = fopen(args, "r");
	if (f && fgets(line, sizeof(line), f))
		line[strcspn(line, "\n")] = '\0';
	if (f)
		fclose(f);
	like(line, "--lld iscsi --mode logicalunit --op update --tid 3 --lun 1 --params lease=57:@",
	     "... as tgtadm --op update --params lease=EPOCH:@DEADLINE_MS");
	if (strstr(line, "lease=57:@"))
		deadline = atoll(strstr(line, "lease=57:@") + 10);
	is_int(deadline, act.deadline_ms, "... DEADLINE_MS the agent's deadline itself");

	unlink(args);
	act.has_gen = true;
	act.gen = 0x53109b3905b28803ULL;
	is_int(pg_plan_apply(&o, &plan, &failed, err, sizeof(err)), 0, "a lease with a generation");
	f = fopen(args, "r");
	line[0] = '\0';
	if (f && fgets(line, sizeof(line), f))
		line[strcspn(line, "\n")] = '\0';
	if (f)
		fclose(f);
	snprintf(want, sizeof(want), "--params lease=57:@%lld:53109b3905b28803",
		 (long long)act.deadline_ms);
	like(line, want, "... as lease=EPOCH:@DEADLINE_MS:GENERATION");
	act.has_gen = false;

	unlink(args);
	act.deadline_ms = ll_mono_ms() - 1;
	is_int(pg_plan_apply(&o, &plan, &failed, err, sizeof(err)), -1, "a lease run out");
	like(err, "the lease ran out before it reached tgtd", "... is refused, saying so");
	ok(access(args, F_OK) != 0, "... and tgtadm never ran");
	unlink(script);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	char *self = strdup(argv[0]);

	(void)argc;
	const char *dir = dirname(self);

	test_reader(dir);
	test_status(dir);
	test_desired();
	test_planner();
	test_record_round_trip();
	test_bsopts_for_node();
	test_lease_plan();
	test_lease_apply();
	free(self);
	return done_testing();
}
