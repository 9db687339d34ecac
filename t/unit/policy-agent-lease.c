// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-agent-lease.c: the node agent's write leases (policy/
 * agent_lease.c) against the real manager, on one event loop
 * (pm_harness.h): the agent's renewals go through the asynchronous
 * client while the test steps the loop, and its tgtadm is a script that
 * shows one target (the volume's) and writes down every update it is
 * asked for.  lease_ms is 1500, so a renewal every 500 ms.
 *
 * The story: a doubled volume served by db1; its LUN serving with
 * lease=on is renewed at once and its lease pushed to tgtd with the
 * manager's epoch and its absolute deadline (lease=EPOCH:@DEADLINE_MS:
 * the renewal's sending plus the ttl less the margin); renewals go on
 * every third of the ttl with the same epoch; the agent gone, the lease
 * expires at the manager, and a new agent gets a higher epoch; a LUN tgtd
 * does not have gets nothing pushed; a push slower than the lease left
 * (a tgtadm that sleeps) still carries the deadline as it was, already
 * past when it lands, and the agent says so; a LUN without lease=on is
 * not renewed at all.
 */
#include "pm_harness.h"
#include "agent_lease.h"

#include <inttypes.h>

static char fake_dir[PATH_MAX], fake_tgtadm[PATH_MAX + 16], show_path[PATH_MAX + 16],
	    updates_path[PATH_MAX + 16];
static struct pa_client *db1, *db2;
static struct pa_aclient *db1_async;
static struct pg_tgt_opts tgt_opts;

/* the agent's log: shown with VERBOSE; whether it said a push outlived
 * its lease's deadline */
static bool said_late;
/* how many volumes it said the manager refused, and renewals that failed */
static size_t said_refused, said_failed;

static void sayit(void *arg, const char *msg)
{
	if (strstr(msg, "and its deadline passed meanwhile"))
		said_late = true;
	if (strstr(msg, ": the manager refused: "))
		said_refused++;
	if (strstr(msg, "agent: renewing the write leases"))
		said_failed++;
	if (getenv("VERBOSE"))
		diag("agent: %s", msg);
}

/* The fake tgtadm: shows show_path, takes no account, writes each
 * update down (after sleeping the seconds in fake/slow, if there). */
static int write_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX + 32];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void remove_in(const char *dir, const char *name)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

static int make_fake_tgtadm(void)
{
	FILE *f;

	path_in(fake_dir, sizeof(fake_dir), "fake");
	mkdir(fake_dir, 0700);
	snprintf(fake_tgtadm, sizeof(fake_tgtadm), "%s/tgtadm", fake_dir);
	snprintf(show_path, sizeof(show_path), "%s/show", fake_dir);
	snprintf(updates_path, sizeof(updates_path), "%s/updates", fake_dir);
	f = fopen(fake_tgtadm, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\n"
		"case \"$*\" in\n"
		"*'--mode target --op show'*) cat '%s' ;;\n"
		"*'--mode account --op show'*) ;;\n"
		"*'--op update'*) [ -f '%s/slow' ] && sleep \"$(cat '%s/slow')\"\n"
		"	echo \"$*\" >>'%s' ;;\n"
		"*) echo \"unexpected: $*\" >>'%s'; exit 22 ;;\n"
		"esac\n", show_path, fake_dir, fake_dir, updates_path, updates_path);
	fclose(f);
	chmod(fake_tgtadm, 0755);
	tgt_opts = (struct pg_tgt_opts){ .tgtadm = fake_tgtadm, .control_port = -1 };
	return 0;
}

/* tgtd's show: target 1, iqn, with LUN 1 on path (NULL: no LUN 1). */
static void tgtd_has(const char *iqn, const char *path)
{
	FILE *f = fopen(show_path, "w");

	fprintf(f, "Target 1: %s\n    System information:\n        Driver: iscsi\n"
		"        State: ready\n    I_T nexus information:\n    LUN information:\n"
		"        LUN: 0\n            Type: controller\n            SCSI ID: IET     00010000\n"
		"            SCSI SN: beaf10\n            Size: 0 MB, Block size: 1\n"
		"            Online: Yes\n            Removable media: No\n"
		"            Prevent removal: No\n            Readonly: No\n            SWP: No\n"
		"            Thin-provisioning: No\n            Backing store type: null\n"
		"            Backing store path: None\n            Backing store flags: \n", iqn);
	if (path)
		fprintf(f, "        LUN: 1\n            Type: disk\n            SCSI ID: IET     00010001\n"
			"            SCSI SN: beaf11\n            Size: 1074 MB, Block size: 512\n"
			"            Online: Yes\n            Removable media: No\n"
			"            Prevent removal: No\n            Readonly: No\n            SWP: No\n"
			"            Thin-provisioning: Yes\n            Backing store type: lunlink\n"
			"            Backing store path: %s\n            Backing store flags: \n", path);
	fprintf(f, "    Account information:\n    ACL information:\n");
	fclose(f);
}

/* The updates tgtadm was asked for, one a line; how many; the last's
 * epoch and DEADLINE_MS (lease=EPOCH:@DEADLINE_MS: -1 if of another form).  A line of another shape (another LUN, another
 * operation, a command the fake does not know) is counted in odd_updates,
 * which the test checks at its end. */
static size_t odd_updates;

static size_t updates(int64_t *epoch, int64_t *deadline)
{
	char line[1024], *p;
	size_t n = 0, odd = 0;
	FILE *f = fopen(updates_path, "r");

	*epoch = *deadline = -1;
	while (f && fgets(line, sizeof(line), f)) {
		n++;
		p = strstr(line, "lease=");
		if (p && sscanf(p, "lease=%" SCNd64 ":@%" SCNd64, epoch, deadline) != 2)
			*epoch = *deadline = -1;
		if (!strstr(line, "--mode logicalunit --op update --tid 1 --lun 1 --params lease=")) {
			diag("an update of another shape: %s", line);
			odd++;
		}
	}
	if (f)
		fclose(f);
	odd_updates = odd;
	return n;
}

/* db1's desired state as the manager gives it (its LUN for m with
 * lease=on: checked), or, lease_on false, with m's LUN's bsopts cut
 * before their first ';' (a LUN from before leases); into d. */
static int desired_of_db1(bool lease_on, struct pg_desired *d, char *iqn, char *path)
{
	json_object *r = NULL, *lun;
	char err[512], bsopts[1100];

	call(db1, "GET", "/v1/nodes/desired", NULL, &r, NULL);
	lun = member(member(member(r, "volumes"), "m"), "lun");
	if (!lun) {
		json_object_put(r);
		return -1;
	}
	snprintf(iqn, PG_IQN_MAX + 1, "%s", jstr(lun, "iqn"));
	snprintf(path, PG_PATH_MAX + 1, "%s", jstr(lun, "path"));
	snprintf(bsopts, sizeof(bsopts), "%s", jstr(lun, "bsopts"));
	if (lease_on && !pg_bsopts_has(bsopts, "lease=on")) {
		diag("the manager's bsopts for m have no lease=on: %s", bsopts);
		json_object_put(r);
		return -1;
	}
	if (!lease_on)	/* a LUN from before leases */
		bsopts[strcspn(bsopts, ";")] = '\0';
	json_object_object_add(lun, "bsopts", json_object_new_string(bsopts));
	if (pg_desired_read(r, d, err, sizeof(err))) {
		diag("desired: %s", err);
		json_object_put(r);
		return -1;
	}
	json_object_put(r);
	return 0;
}

/* db1's desired state with n more volumes like m, each named with
 * PG_VOLUME_NAME_MAX bytes (the manager knows none of them), into d */
static int desired_of_many(size_t n, struct pg_desired *d)
{
	json_object *r = NULL, *vols, *m;
	char err[512], name[PG_VOLUME_NAME_MAX + 1];
	int rc;

	call(db1, "GET", "/v1/nodes/desired", NULL, &r, NULL);
	vols = member(r, "volumes");
	m = member(vols, "m");
	if (!m) {
		json_object_put(r);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *copy = NULL;

		snprintf(name, sizeof(name), "%0*zu", PG_VOLUME_NAME_MAX, i);
		if (json_object_deep_copy(m, &copy, NULL)) {
			json_object_put(r);
			return -1;
		}
		json_object_object_add(vols, name, copy);
	}
	rc = pg_desired_read(r, d, err, sizeof(err));
	if (rc)
		diag("desired: %s", err);
	json_object_put(r);
	return rc;
}

static int64_t manager_epoch(void)
{
	json_object *r = NULL;
	int64_t e;

	r = volume_shown("m");
	e = pm_int(member(r, "lease"), "epoch");
	json_object_put(r);
	return e;
}

static struct pg_leases *agent_leases(void)
{
	struct pg_leases_opts o = { .client = db1_async, .tgt = &tgt_opts,
				    .log = sayit };
	char err[512];
	struct pg_leases *l = pg_leases_new(base, &o, err, sizeof(err));

	if (!l)
		diag("leases: %s", err);
	return l;
}

int main(void)
{
	char iqn[PG_IQN_MAX + 1], path[PG_PATH_MAX + 1];
	struct pg_desired d = { 0 }, plain = { 0 };
	struct pg_leases *l;
	int64_t epoch, deadline, epoch1, t0;
	size_t n, n1;

	lease_ms = 1500;
	if (harness_begin("policy-agent-lease", 2))
		return done_testing();
	db1 = join_node("db1");
	db2 = join_node("db2");
	node_report(db1, "db1", "127.0.0.1", NULL, NULL);
	node_report(db2, "db2", "127.0.0.2", NULL, NULL);
	call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/a\",\"size\":\"4G\"}", NULL,
	     NULL);
	call(admin, "POST", "/v1/areas", "{\"node\":\"db2\",\"path\":\"/srv/b\",\"size\":\"4G\"}", NULL,
	     NULL);
	node_report(db1, "db1", "127.0.0.1", NULL, NULL);
	node_report(db2, "db2", "127.0.0.2", NULL, NULL);
	is_int(call(admin, "POST", "/v1/volumes",
		    "{\"name\":\"m\",\"way\":\"doubled\",\"size\":\"1G\",\"on\":[\"db1\",\"db2\"]}",
		    NULL, NULL), 201, "a doubled volume m served by db1");
	db1_async = node_aclient("db1");
	ok(db1_async && !make_fake_tgtadm(), "db1's asynchronous client and a fake tgtadm");
	ok(!desired_of_db1(true, &d, iqn, path), "db1's desired state, its LUN with lease=on");
	tgtd_has(iqn, path);

	l = agent_leases();
	t0 = ll_mono_ms();
	pg_leases_want(l, &d);
	wait_ms(300);
	n = updates(&epoch, &deadline);
	ok(n >= 1, "the lease is renewed at once and pushed to tgtd (%zu update)", n);
	epoch1 = manager_epoch();
	ok(epoch1 > 0 && epoch == epoch1, "... with the manager's epoch (%" PRId64 ", %" PRId64 ")",
	   epoch, epoch1);
	/* sent after t0, and before the manager's receipt, which was
	 * before now: the deadline is absolute, sent + ttl - margin */
	ok(deadline >= t0 + 1500 - PG_LEASE_MARGIN_MS(1500) &&
	   deadline <= ll_mono_ms() + 1500 - PG_LEASE_MARGIN_MS(1500),
	   "... as lease=EPOCH:@DEADLINE_MS, the deadline on CLOCK_MONOTONIC: its sending "
	   "plus the ttl less the margin (%" PRId64 " ms after the test asked)", deadline - t0);

	n1 = n;
	wait_ms(2100);
	n = updates(&epoch, &deadline);
	ok(n - n1 >= 3 && n - n1 <= 5, "renewed and pushed every third of the ttl: %zu in 2.1 s",
	   n - n1);
	is_int(epoch, epoch1, "... the same epoch");
	is_int(manager_epoch(), epoch1, "... at the manager too");

	pg_leases_free(l);
	n1 = updates(&epoch, &deadline);
	wait_ms(2700);	/* the lease's 1.5 s, a tick, the grace */
	is_int(updates(&epoch, &deadline), n1, "the agent gone, nothing is pushed");
	l = agent_leases();
	pg_leases_want(l, &d);
	wait_ms(300);
	n = updates(&epoch, &deadline);
	ok(n == n1 + 1 && epoch > epoch1, "a new agent: a new lease of a higher epoch pushed (%"
	   PRId64 " > %" PRId64 ")", epoch, epoch1);
	is_int(manager_epoch(), epoch, "... the manager's");

	tgtd_has(iqn, NULL);
	n1 = updates(&epoch, &deadline);
	wait_ms(1100);
	is_int(updates(&epoch, &deadline), n1, "tgtd without the LUN: nothing pushed");
	tgtd_has(iqn, path);
	pg_leases_kick(l);
	ok(updates(&epoch, &deadline) == n1 + 1, "the LUN back (the reconcile made it): pushed at once");

	/* a tgtd slow to answer: the push takes longer than the lease has
	 * left, and what tgtd gets is the deadline as it was, not the time
	 * left counted from its receipt (which would outlast the manager's) */
	ok(!write_file(fake_dir, "slow", "1.5"), "tgtadm's update now takes 1.5 s");
	n1 = updates(&epoch, &deadline);
	t0 = ll_mono_ms();
	said_late = false;
	pg_leases_kick(l);
	n = updates(&epoch, &deadline);
	ok(n == n1 + 1 && ll_mono_ms() - t0 >= 1500, "... a push that took %" PRId64 " ms",
	   ll_mono_ms() - t0);
	ok(deadline > 0 && deadline <= t0 + 1500 - PG_LEASE_MARGIN_MS(1500) && deadline < ll_mono_ms(),
	   "... carries the deadline from before it began (%" PRId64 " ms after it began), "
	   "already past when it lands", deadline - t0);
	ok(said_late, "... and the agent says its deadline passed meanwhile");
	remove_in(fake_dir, "slow");

	/* 600 volumes of the longest names: one body naming them all would
	 * be 90 KiB, above the manager's 64 KiB; the agent renews them in
	 * batches, and the manager answers every one */
	{
		struct pg_desired many = { 0 };

		ok(!desired_of_many(600, &many) && many.n == 601,
		   "a desired state of 601 volumes with lease=on, 600 of 63-byte names");
		said_refused = said_failed = 0;
		n1 = updates(&epoch, &deadline);
		t0 = ll_mono_ms();
		pg_leases_want(l, &many);
		wait_ms(800);
		is_int(said_failed, 0, "... every renewal call is answered (no body too large)");
		is_int(said_refused, 600, "... the manager refused each of the 600 it does not know");
		ok(updates(&epoch, &deadline) > n1 && epoch == manager_epoch() &&
		   deadline >= t0 + 1500 - PG_LEASE_MARGIN_MS(1500),
		   "... and m's lease is renewed among them and pushed, its deadline from a renewal "
		   "sent since");
		pg_leases_want(l, &d);
		pg_desired_free(&many);
	}

	ok(!desired_of_db1(false, &plain, iqn, path), "a desired state whose LUN has no lease=on");
	pg_leases_want(l, &plain);
	n1 = updates(&epoch, &deadline);
	wait_ms(1100);
	is_int(updates(&epoch, &deadline), n1, "... is not renewed nor pushed");
	is_int(odd_updates, 0, "every command tgtadm was asked for was lease= of target 1's LUN 1");

	pg_leases_free(l);
	pg_desired_free(&d);
	pg_desired_free(&plain);
	pa_aclient_free(db1_async);
	pa_client_free(db1);
	pa_client_free(db2);
	return harness_end();
}
