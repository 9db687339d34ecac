// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/rescand-sysfs.c: unit tests (TAP) of lunlink-rescand's sysfs
 * model, rescan and reconciliation (initiator/sysfs.c, reconcile.c,
 * holders.c, luns.c) against a fake sysfs tree built here in a temporary
 * folder, shaped like the kernel's: hosts, iscsi_session links with
 * targetname, scsi_device entries with wwid, state and block devices,
 * holders, and a fake mountinfo.
 *
 * The kernel's side of each sysfs write is played by kernel_hook below: a
 * scan adds the LUNs staged for it, a rescan applies a staged size or
 * WWID, a delete moves the device out of the tree to deleted/ (so its
 * delete file can still be read).  The target's LUN list comes from
 * fake_luns, set per test.
 */
#include "holders.h"
#include "log.h"
#include "luns.h"
#include "reconcile.h"
#include "sysfs.h"
#include "tap.h"
#include "fake_sysfs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct rd_env env;

/* ---- building the tree (the rest: fake_sysfs.h) ----------------------------- */

static void fake_part(const char *disk, const char *part, const char *devnum)
{
	mkdirs("block/%s/%s/holders", disk, part);
	put("1", "block/%s/%s/partition", disk, part);
	put(devnum, "block/%s/%s/dev", disk, part);
}

static void fresh_tree(void)
{
	fake_tree_clear();
}

/* ---- the kernel's side, and the target's LUN list ------------------------------- */

#define MAX_STAGED 16
static struct staged {
	char hctl[32];
	unsigned int sid;
	const char *wwid, *name, *sectors, *devnum;
	bool probe_only;	/* appears on a "C T L" scan of its LUN only */
} staged[MAX_STAGED];
static size_t nstaged;
static char staged_size[32][2][32], staged_wwid[32][2][32];
static size_t nsize, nwwid;
static char writes[64][2][PATH_MAX];
static size_t nwrites;

static void stage_new(unsigned int sid, const char *hctl, const char *wwid, const char *name,
		      const char *sectors, const char *devnum, bool probe_only)
{
	staged[nstaged++] = (struct staged){ "", sid, wwid, name, sectors, devnum, probe_only };
	snprintf(staged[nstaged - 1].hctl, sizeof(staged[0].hctl), "%s", hctl);
}

static void stage_pair(char (*v)[2][32], size_t *n, const char *hctl, const char *val)
{
	snprintf(v[*n][0], 32, "%s", hctl);
	snprintf(v[*n][1], 32, "%s", val);
	(*n)++;
}

static void reset_kernel(void)
{
	nstaged = nsize = nwwid = nwrites = 0;
}

static size_t writes_of(const char *suffix, const char *value)
{
	size_t n = 0, sl = strlen(suffix);

	for (size_t i = 0; i < nwrites; i++) {
		size_t pl = strlen(writes[i][0]);

		if (pl >= sl && !strcmp(writes[i][0] + pl - sl, suffix) &&
		    (!value || !strcmp(writes[i][1], value)))
			n++;
	}
	return n;
}

static void kernel_hook(const struct rd_env *e, const char *path, const char *value)
{
	const char *rel = path + strlen(fake_root) + 1;
	char hctl[64], cmd[PATH_MAX * 3];
	unsigned int host;
	struct rd_hctl h;

	(void)e;
	if (nwrites < 64) {
		snprintf(writes[nwrites][0], PATH_MAX, "%s", rel);
		snprintf(writes[nwrites][1], PATH_MAX, "%s", value);
		nwrites++;
	}
	if (sscanf(rel, "class/scsi_host/host%u/scan", &host) == 1) {
		unsigned int c, t;
		unsigned long long l;
		bool all = !strcmp(value, "- - -");

		if (!all && sscanf(value, "%u %u %llu", &c, &t, &l) != 3)
			return;
		for (size_t i = 0; i < nstaged; i++) {
			struct staged *s = &staged[i];

			if (!s->hctl[0] || rd_hctl_parse(s->hctl, &h) || h.host != host)
				continue;
			if (all ? s->probe_only : (h.channel != c || h.target != t || h.lun != l))
				continue;
			fake_sdev(s->sid, s->hctl, s->wwid, s->name, s->sectors, s->devnum);
			s->hctl[0] = '\0';
		}
		return;
	}
	if (sscanf(rel, "class/scsi_device/%63[0-9:]/device/", hctl) != 1)
		return;
	if (strstr(rel, "/rescan")) {
		struct rd_sdev d;

		rd_hctl_parse(hctl, &h);
		if (rd_sdev_read(&env, &h, &d, NULL, 0) <= 0)
			return;
		for (size_t i = 0; i < nsize; i++)
			if (!strcmp(staged_size[i][0], hctl))
				put(staged_size[i][1], "class/scsi_device/%s/device/block/%s/size", hctl,
				    d.block);
		for (size_t i = 0; i < nwwid; i++)
			if (!strcmp(staged_wwid[i][0], hctl))
				put(staged_wwid[i][1], "class/scsi_device/%s/device/wwid", hctl);
	} else if (strstr(rel, "/delete")) {
		/* the device leaves the tree; its folder goes to deleted/ */
		char real[PATH_MAX], link[PATH_MAX * 2];
		struct rd_sdev d;

		rd_hctl_parse(hctl, &h);
		if (rd_sdev_read(&env, &h, &d, NULL, 0) <= 0)
			return;
		snprintf(link, sizeof(link), "%s/class/scsi_device/%s/device", fake_root, hctl);
		if (!realpath(link, real))
			return;
		if (d.block[0]) {
			snprintf(link, sizeof(link), "%s/block/%s", fake_root, d.block);
			unlink(link);
		}
		snprintf(link, sizeof(link), "%s/class/scsi_device/%s", fake_root, hctl);
		unlink(link);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s/deleted/%s' && mv '%s' '%s/deleted/%s'", fake_root,
			 hctl, real, fake_root, hctl);
		if (system(cmd))
			diag("failed: %s", cmd);
	}
}

static struct {
	bool fail;
	size_t n;
	uint64_t v[16];
} fake;

static int fake_luns(const struct rd_env *e, const struct rd_session *s,
		     const struct rd_devtab *present, struct rd_lunlist *out, char *err, size_t errlen)
{
	(void)e;
	(void)present;
	if (fake.fail) {
		snprintf(err, errlen, "no device node of session %u to ask", s->sid);
		return -1;
	}
	out->v = calloc(fake.n ? fake.n : 1, sizeof(*out->v));
	memcpy(out->v, fake.v, fake.n * sizeof(*out->v));
	out->n = fake.n;
	return 0;
}

static void set_luns(size_t n, ...)
{
	va_list ap;

	va_start(ap, n);
	fake.fail = false;
	fake.n = n;
	for (size_t i = 0; i < n; i++)
		fake.v[i] = va_arg(ap, unsigned int);
	va_end(ap);
}

static void reset_env(void)
{
	rd_env_default(&env);
	snprintf(env.sysfs, sizeof(env.sysfs), "%s", fake_root);
	snprintf(env.dev, sizeof(env.dev), "%s/dev", fake_root);	/* no nodes: no O_EXCL check */
	snprintf(env.mountinfo, sizeof(env.mountinfo), "%s/mountinfo", fake_root);
	env.report_luns = fake_luns;
	env.kernel_hook = kernel_hook;
	reset_kernel();
}

static const struct rd_change *find_change(const struct rd_changes *c, enum rd_change_kind k,
					   const char *hctl)
{
	char hb[RD_HCTL_LEN];

	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].kind == k && !strcmp(rd_hctl_fmt(&c->v[i].dev.hctl, hb), hctl))
			return &c->v[i];
	return NULL;
}

static const char *why(const struct rd_changes *c, enum rd_change_kind k, const char *hctl)
{
	const struct rd_change *ch = find_change(c, k, hctl);

	return ch ? ch->why : NULL;
}

static void show(const struct rd_changes *c)
{
	char hb[RD_HCTL_LEN];

	for (size_t i = 0; i < c->n; i++)
		diag("  %s %s %s: %s", rd_change_kind_name(c->v[i].kind),
		     rd_hctl_fmt(&c->v[i].dev.hctl, hb), c->v[i].dev.block, c->v[i].why);
}

/* ---- the tests ------------------------------------------------------------------ */

#define GIB "2097152"	/* sectors */

static void test_sessions(void)
{
	struct rd_session *v, s;
	size_t n;
	char err[512];

	fresh_tree();
	reset_env();
	is_int(rd_sessions_list(&env, &v, &n, err, sizeof(err)), 0, "no iscsi_session class: fine");
	is_int(n, 0, "  and no sessions");
	free(v);

	fake_session(7, 3, "iqn.2026-11.org.lunlink:t2\n", "fe80::1\n", "3260\n");
	fake_session(1, 2, "iqn.2026-11.org.lunlink:t1\n", "10.0.0.1\n", "3260\n");
	is_int(rd_sessions_list(&env, &v, &n, err, sizeof(err)), 0, "two sessions are listed");
	is_int(n, 2, "  two");
	if (n == 2) {
		ok(v[0].sid == 1 && v[0].host == 2 && v[1].sid == 7 && v[1].host == 3,
		   "  sorted, each with its SCSI host from the real path");
		is_str(v[0].target, "iqn.2026-11.org.lunlink:t1", "  targetname, trimmed");
		is_str(v[0].portal, "10.0.0.1:3260", "  portal from the connection");
		is_str(v[1].portal, "[fe80::1]:3260", "  an IPv6 portal in brackets");
	}
	free(v);
	is_int(rd_session_of_host(&env, 3, &s, err, sizeof(err)), 1, "host3 has a session");
	is_int(s.sid, 7, "  session 7");
	is_int(rd_session_of_host(&env, 5, &s, err, sizeof(err)), 0, "host5 has none");
}

static void test_snapshot(void)
{
	struct rd_devtab t;
	char err[512];

	fresh_tree();
	reset_env();
	fake_session(1, 2, "iqn.t1", "10.0.0.1", "3260");
	fake_session(2, 3, "iqn.t2", "10.0.0.2", "3260");
	fake_sdev(1, "2:0:0:10", "naa.10", "sdc", "1024", "8:32");
	fake_sdev(1, "2:0:0:0", "", NULL, NULL, NULL);
	fake_sdev(1, "2:0:0:1", "naa.01\n", "sdb", GIB "\n", "8:16\n");
	fake_sdev(2, "3:0:0:1", NULL, "sdd", GIB, "8:48");
	{
		static const char vpd[12] = "\x00\x83\x00\x08\x01\x03\x00\x04\xaa\xbb\xcc\xdd";
		char p[1024];
		FILE *f;

		snprintf(p, sizeof(p), "%s/%s/vpd_pg83", fake_root, sdev_dir(2, "3:0:0:1"));
		f = fopen(p, "w");
		if (f) {
			fwrite(vpd, 1, sizeof(vpd), f);
			fclose(f);
		}
	}

	is_int(rd_devtab_snapshot(&env, 2, &t, err, sizeof(err)), 0, "host2's devices");
	is_int(t.n, 3, "  three, none of host3's");
	if (t.n == 3) {
		ok(t.v[0].hctl.lun == 0 && t.v[1].hctl.lun == 1 && t.v[2].hctl.lun == 10,
		   "  in numeric order");
		ok(!t.v[0].block[0] && t.v[0].size == 0, "  LUN 0: no block device");
		is_str(t.v[1].block, "sdb", "  LUN 1 is sdb");
		is_u64(t.v[1].size, 1073741824, "  of 1 GiB");
		is_str(t.v[1].wwid, "naa.01", "  its WWID");
		is_str(t.v[1].devnum, "8:16", "  its device number");
		is_str(t.v[1].state, "running", "  its state");
	}
	rd_devtab_free(&t);
	is_int(rd_devtab_snapshot(&env, 3, &t, err, sizeof(err)), 0, "host3's device");
	if (t.n == 1)
		like(t.v[0].wwid, "vpd83:00830008", "  without wwid, VPD page 83 identifies it");
	rd_devtab_free(&t);

	put("lots", "class/scsi_device/2:0:0:1/device/block/sdb/size");
	is_int(rd_devtab_snapshot(&env, 2, &t, err, sizeof(err)), -1, "a bad size is an error");
	like(err, "block/sdb/size: 'lots' is not a number of sectors", "  naming the file and value");
}

/* host2, session 1: LUN 0 controller, 1 sdb (grows to 2 GiB), 2 sdc (dropped),
 * 4 sde (dropped, held by dm-0), 5 sdf (dropped, partition mounted),
 * 6 sdg (WWID changes; comes back as sdh); LUN 3 sdd new on the scan. */
static void build_host2(void)
{
	fresh_tree();
	reset_env();
	fake_session(1, 2, "iqn.t1", "10.0.0.1", "3260");
	fake_sdev(1, "2:0:0:0", "", NULL, NULL, NULL);
	fake_sdev(1, "2:0:0:1", "naa.b1", "sdb", GIB, "8:16");
	fake_sdev(1, "2:0:0:2", "naa.c2", "sdc", GIB, "8:32");
	fake_sdev(1, "2:0:0:4", "naa.e4", "sde", GIB, "8:64");
	mkdirs("block/dm-0/dm");
	put("vg-data\n", "block/dm-0/dm/name");
	put("", "block/sde/holders/dm-0");
	fake_sdev(1, "2:0:0:5", "naa.f5", "sdf", GIB, "8:80");
	fake_part("sdf", "sdf1", "8:81");
	put("22 1 0:21 / /proc rw - proc proc rw\n"
	    "30 1 8:81 / /mnt/my\\040x rw,relatime shared:1 - ext4 /dev/sdf1 rw\n", "mountinfo");
	fake_sdev(1, "2:0:0:6", "naa.a6", "sdg", GIB, "8:96");
	stage_new(1, "2:0:0:3", "naa.d3", "sdd", "4194304", "8:48", false);
	stage_new(1, "2:0:0:6", "naa.aa6", "sdh", GIB, "8:112", true);
	stage_pair(staged_size, &nsize, "2:0:0:1", "4194304");
	stage_pair(staged_wwid, &nwwid, "2:0:0:6", "naa.aa6");
}

static void test_reconcile(void)
{
	struct rd_session s;
	struct rd_changes c = { 0 };
	const struct rd_change *ch;

	build_host2();
	set_luns(5, 0, 1, 3, 4 + 2 /* 6 */, 7);
	rd_session_of_host(&env, 2, &s, NULL, 0);
	is_int(rd_rescan_session(&env, &s, NULL, &c), 0, "a session's rescan: no error");
	show(&c);
	is_int(writes_of("class/scsi_host/host2/scan", "- - -"), 1, "the host was scanned once");
	is_int(writes_of("/device/rescan", "1"), 6, "each device that was there was rescanned");

	ch = find_change(&c, RD_CH_NEW, "2:0:0:3");
	ok(ch && !strcmp(ch->dev.block, "sdd") && ch->dev.size == 2147483648ULL &&
	   !strcmp(ch->dev.wwid, "naa.d3"), "the new LUN: sdd, 2 GiB, its WWID");
	ch = find_change(&c, RD_CH_RESIZED, "2:0:0:1");
	ok(ch && ch->old_size == 1073741824ULL && ch->dev.size == 2147483648ULL,
	   "a grown LUN: resized from 1 to 2 GiB");

	is_str(get("deleted/2:0:0:2/delete"), "1", "the dropped LUN: \"1\" written to its delete");
	like(why(&c, RD_CH_REMOVED, "2:0:0:2"), "the target no longer reports LUN 2", "  and reported");

	is_str(get("class/scsi_device/2:0:0:4/device/delete"), "", "the held LUN: nothing to delete");
	like(why(&c, RD_CH_KEPT, "2:0:0:4"), "not removed: held by dm-0 (vg-data) through sde",
	     "  kept, naming its holder");
	is_str(get("class/scsi_device/2:0:0:5/device/delete"), "", "the mounted LUN: not deleted");
	like(why(&c, RD_CH_KEPT, "2:0:0:5"), "mounted on /mnt/my x (sdf1)",
	     "  kept, naming the mount and the partition");

	is_str(get("deleted/2:0:0:6/delete"), "1", "the reused LUN number: deleted");
	like(why(&c, RD_CH_REMOVED, "2:0:0:6"), "WWID changed from naa.a6 to naa.aa6",
	     "  because its WWID changed");
	is_int(writes_of("class/scsi_host/host2/scan", "0 0 6"), 1, "  and probed again");
	ch = find_change(&c, RD_CH_NEW, "2:0:0:6");
	ok(ch && !strcmp(ch->dev.block, "sdh"), "  coming back as a new device, sdh");
	ok(!find_change(&c, RD_CH_REMOVED, "2:0:0:0") && !find_change(&c, RD_CH_NEW, "2:0:0:0"),
	   "LUN 0 (no disk), still reported: untouched");
	is_int(c.errors, 0, "no errors");
	is_int(c.kept, 2, "two kept");
	rd_changes_free(&c);

	/* the second time, nothing has changed but what is still held */
	reset_kernel();
	rd_rescan_session(&env, &s, NULL, &c);
	is_int(c.n, 2, "a second rescan: only the two held devices again");
	rd_changes_free(&c);
}

static void test_reconcile_variants(void)
{
	struct rd_session s;
	struct rd_changes c = { 0 };
	struct rd_devtab before;

	/* the LUN list cannot be had: only offline devices are stale */
	build_host2();
	fake.fail = true;
	put("offline\n", "class/scsi_device/2:0:0:2/device/state");
	rd_session_of_host(&env, 2, &s, NULL, 0);
	rd_rescan_session(&env, &s, NULL, &c);
	like(why(&c, RD_CH_REMOVED, "2:0:0:2"), "offline and the target's LUN list is unknown",
	     "no LUN list: an offline device is removed");
	like(why(&c, RD_CH_REMOVED, "2:0:0:2"), "no device node of session 1", "  saying why no list");
	ok(!find_change(&c, RD_CH_KEPT, "2:0:0:4") && !get("deleted/2:0:0:4/delete"),
	   "  running ones the target may have dropped are left alone");
	rd_changes_free(&c);

	/* remove_stale off */
	build_host2();
	set_luns(2, 0, 1);
	env.remove_stale = false;
	env.remove_wwid_changed = false;
	rd_session_of_host(&env, 2, &s, NULL, 0);
	rd_rescan_session(&env, &s, NULL, &c);
	is_int(writes_of("/delete", NULL), 0, "remove_stale off: nothing deleted");
	rd_changes_free(&c);

	/* dry run */
	build_host2();
	set_luns(3, 0, 1, 3);
	env.dry_run = true;
	rd_session_of_host(&env, 2, &s, NULL, 0);
	rd_rescan_session(&env, &s, NULL, &c);
	is_int(nwrites, 0, "dry run: nothing written");
	like(why(&c, RD_CH_REMOVED, "2:0:0:2"), "dry run, not deleted: the target no longer",
	     "  what would be removed is said");
	rd_changes_free(&c);

	/* what the daemon knew before: the new LUN appeared by iscsid's scan */
	build_host2();
	set_luns(6, 0, 1, 2, 3, 4, 5);
	env.host_scan = false;
	rd_devtab_snapshot(&env, 2, &before, NULL, 0);
	fake_sdev(1, "2:0:0:3", "naa.d3", "sdd", GIB, "8:48");
	rd_session_of_host(&env, 2, &s, NULL, 0);
	rd_rescan_session(&env, &s, &before, &c);
	is_int(writes_of("/scan", "- - -"), 0, "host_scan off: no scan for new LUNs written");
	ok(find_change(&c, RD_CH_NEW, "2:0:0:3") != NULL,
	   "  a device that appeared since the last look is new all the same");
	rd_changes_free(&c);
	rd_devtab_free(&before);

	/* a write that fails names its file */
	build_host2();
	set_luns(6, 0, 1, 2, 3, 4, 5);
	env.remove_wwid_changed = false;	/* its probe would be a second failed scan */
	{
		char p[PATH_MAX * 2];

		snprintf(p, sizeof(p), "%s/class/scsi_host/host2/scan", fake_root);
		unlink(p);
	}
	rd_session_of_host(&env, 2, &s, NULL, 0);
	is_int(rd_rescan_session(&env, &s, NULL, &c), -1, "a failed scan write is an error");
	ok(c.errors == 1, "  one");
	if (c.n && c.v[0].kind == RD_CH_ERROR)
		like(c.v[0].why, "host2/scan to write '- - -': No such file or directory",
		     "  naming the file, the value and why");
	ok(find_change(&c, RD_CH_RESIZED, "2:0:0:1") != NULL, "  and the rest still ran");
	rd_changes_free(&c);
}

/* rd_reconcile_session: what the daemon does when someone else scanned */
static void test_reconcile_only(void)
{
	struct rd_session s;
	struct rd_changes c = { 0 };
	struct rd_devtab before;

	/* iscsid's scan added LUN 3; the target dropped LUN 2 */
	build_host2();
	set_luns(6, 0, 1, 3, 4, 5, 4 + 2 /* 6 */);
	rd_devtab_snapshot(&env, 2, &before, NULL, 0);
	fake_sdev(1, "2:0:0:3", "naa.d3", "sdd", GIB, "8:48");
	nstaged = 0;	/* nothing more for a scan to find */
	rd_session_of_host(&env, 2, &s, NULL, 0);
	is_int(rd_reconcile_session(&env, &s, &before, &c), 0, "a reconcile: no error");
	show(&c);
	is_int(writes_of("/scan", "- - -"), 0, "every LUN has a device: no host scan");
	is_int(writes_of("/device/rescan", "1"), 6, "  the devices that were there are rescanned");
	ok(find_change(&c, RD_CH_NEW, "2:0:0:3") != NULL, "  the device iscsid added is new");
	like(why(&c, RD_CH_REMOVED, "2:0:0:2"), "the target no longer reports LUN 2",
	     "  the dropped LUN is removed");
	like(why(&c, RD_CH_REMOVED, "2:0:0:6"), "WWID changed from naa.a6 to naa.aa6",
	     "  the reused one too");
	is_int(writes_of("class/scsi_host/host2/scan", "0 0 6"), 1, "  and probed again");
	rd_changes_free(&c);
	rd_devtab_free(&before);

	/* nobody scanned (iscsid's scan = manual): a LUN with no device */
	build_host2();
	set_luns(6, 0, 1, 2, 3, 4, 5);
	env.remove_wwid_changed = false;
	rd_session_of_host(&env, 2, &s, NULL, 0);
	rd_reconcile_session(&env, &s, NULL, &c);
	is_int(writes_of("class/scsi_host/host2/scan", "- - -"), 1,
	       "LUN 3 has no device: the host is scanned, once");
	ok(find_change(&c, RD_CH_NEW, "2:0:0:3") != NULL, "  and its device is new");
	rd_changes_free(&c);

	/* the same with host_scan off: no scan */
	build_host2();
	set_luns(6, 0, 1, 2, 3, 4, 5);
	env.host_scan = false;
	rd_session_of_host(&env, 2, &s, NULL, 0);
	rd_reconcile_session(&env, &s, NULL, &c);
	is_int(writes_of("/scan", "- - -"), 0, "host_scan off: a reconcile never scans for new LUNs");
	rd_changes_free(&c);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The daemon's reconcile runs beside iscsid's scan (an Async Message): a
 * LUN without a device is given scan_grace_ms to get one from that scan. */
static void test_reconcile_grace(void)
{
	struct rd_session s;
	struct rd_changes c = { 0 };
	uint64_t t0, took;
	pid_t pid;

	/* "iscsid" adds LUN 3's device 150 ms into the reconcile */
	build_host2();
	set_luns(6, 0, 1, 2, 3, 4, 5);
	env.remove_wwid_changed = false;
	env.scan_grace_ms = 3000;
	nstaged = 0;
	rd_session_of_host(&env, 2, &s, NULL, 0);
	pid = fork();
	if (pid == 0) {
		usleep(150 * 1000);
		fake_sdev(1, "2:0:0:3", "naa.d3", "sdd", GIB, "8:48");
		_exit(0);
	}
	t0 = mono_ms();
	rd_reconcile_session(&env, &s, NULL, &c);
	took = mono_ms() - t0;
	waitpid(pid, NULL, 0);
	is_int(writes_of("/scan", "- - -"), 0, "iscsid's scan adds the missing LUN in the grace: no scan of ours");
	ok(find_change(&c, RD_CH_NEW, "2:0:0:3") != NULL, "  its device is reported new");
	ok(took >= 150 && took < 3000, "  waited for it, not for the whole grace (%llu ms)",
	   (unsigned long long)took);
	rd_changes_free(&c);

	/* nobody adds it (iscsid's scan = manual): one scan, after the grace */
	build_host2();
	set_luns(6, 0, 1, 2, 3, 4, 5);
	env.remove_wwid_changed = false;
	env.scan_grace_ms = 200;
	rd_session_of_host(&env, 2, &s, NULL, 0);
	t0 = mono_ms();
	rd_reconcile_session(&env, &s, NULL, &c);
	took = mono_ms() - t0;
	is_int(writes_of("class/scsi_host/host2/scan", "- - -"), 1,
	       "no one adds it: the host is scanned once, after the grace");
	ok(took >= 200, "  not before the grace ended (%llu ms)", (unsigned long long)took);
	ok(find_change(&c, RD_CH_NEW, "2:0:0:3") != NULL, "  and its device is new");
	rd_changes_free(&c);
	env.scan_grace_ms = 0;
}

static void test_capacity(void)
{
	struct rd_session s;
	struct rd_changes c = { 0 };
	struct rd_hctl h;
	const struct rd_change *ch;

	build_host2();
	rd_session_of_host(&env, 2, &s, NULL, 0);
	rd_hctl_parse("2:0:0:1", &h);
	is_int(rd_rescan_device(&env, &s, &h, NULL, &c), 0, "a capacity change: one device rescanned");
	is_str(get("class/scsi_device/2:0:0:1/device/rescan"), "1", "  \"1\" written to its rescan");
	is_int(nwrites, 1, "  and nothing else written");
	ch = find_change(&c, RD_CH_RESIZED, "2:0:0:1");
	ok(ch && ch->old_size == 1073741824ULL && ch->dev.size == 2147483648ULL,
	   "  resized, old and new size");
	rd_changes_free(&c);

	rd_hctl_parse("2:0:0:9", &h);
	is_int(rd_rescan_device(&env, &s, &h, NULL, &c), -1, "a device that is not there: error");
	like(c.n ? c.v[0].why : NULL, "device 2:0:0:9: not in sysfs", "  saying so");
	rd_changes_free(&c);
}

static void test_holders(void)
{
	struct rd_sdev d;
	struct rd_hctl h;
	char why_[512];

	build_host2();
	rd_hctl_parse("2:0:0:1", &h);
	rd_sdev_read(&env, &h, &d, NULL, 0);
	is_int(rd_device_in_use(&env, &d, why_, sizeof(why_)), 0, "a free disk is not in use");
	put("", "block/sdb/holders/md0");
	is_int(rd_device_in_use(&env, &d, why_, sizeof(why_)), 1, "a holder without a dm name");
	is_str(why_, "held by md0 through sdb", "  is named as it is");
	fake_part("sdb", "sdb2", "8:18");
	put("", "block/sdb/sdb2/holders/dm-3");
	put("40 1 8:16 / /srv rw - xfs /dev/sdb rw\n", "mountinfo");
	rd_device_in_use(&env, &d, why_, sizeof(why_));
	is_str(why_, "held by md0 through sdb; held by dm-3 through sdb2; mounted on /srv (sdb)",
	       "every holder is listed: the disk's, a partition's, a mount");
	snprintf(env.mountinfo, sizeof(env.mountinfo), "%s/nonexistent", fake_root);
	is_int(rd_device_in_use(&env, &d, why_, sizeof(why_)), -1, "no mount table: cannot tell");
	like(why_, "nonexistent: No such file", "  naming the file");
	rd_hctl_parse("2:0:0:0", &h);
	rd_sdev_read(&env, &h, &d, NULL, 0);
	is_int(rd_device_in_use(&env, &d, why_, sizeof(why_)), 0, "no block device: not in use");
}

static void test_luns(void)
{
	static const uint8_t data[] = {
		0, 0, 0, 24, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,		/* LUN 0 */
		0, 5, 0, 0, 0, 0, 0, 0,		/* LUN 5, peripheral */
		0x40, 0x12, 0, 0, 0, 0, 0, 0,	/* flat space 0x12: the kernel says 16402 */
	};
	struct rd_lunlist l;
	struct rd_session s = { .sid = 1, .host = 2 };
	char err[1024];

	is_int(rd_report_luns_decode(data, sizeof(data), &l, err, sizeof(err)), 0,
	       "REPORT LUNS data decodes");
	ok(l.n == 3 && l.v[0] == 0 && l.v[1] == 5 && l.v[2] == 0x4012,
	   "  to the kernel's LUN numbers (scsilun_to_int)");
	ok(rd_lunlist_has(&l, 5) && !rd_lunlist_has(&l, 6), "  rd_lunlist_has");
	rd_lunlist_free(&l);
	is_int(rd_report_luns_decode(data, 7, &l, err, sizeof(err)), -1, "less than a header: refused");
	is_int(rd_report_luns_decode(data, 20, &l, err, sizeof(err)), -1, "a cut list: refused");
	like(err, "list of 24 bytes, only 12 returned", "  saying how much is missing");
	{
		uint8_t odd[16] = { 0, 0, 0, 7 };

		is_int(rd_report_luns_decode(odd, sizeof(odd), &l, err, sizeof(err)), -1,
		       "a length not a multiple of 8: refused");
	}

	fresh_tree();
	reset_env();
	mkdirs("luns");
	put("0\n1\n3\n", "luns/host2");
	snprintf(err, sizeof(err), "%s/luns", fake_root);
	env.fake_luns_dir = err;
	{
		char e2[256];

		is_int(rd_report_luns_fake(&env, &s, NULL, &l, e2, sizeof(e2)), 0,
		       "the test LUN list reads DIR/hostN");
		ok(l.n == 3 && l.v[2] == 3, "  0, 1, 3");
		rd_lunlist_free(&l);
		s.host = 4;
		is_int(rd_report_luns_fake(&env, &s, NULL, &l, e2, sizeof(e2)), -1,
		       "  a missing one is an error");
		like(e2, "luns/host4: No such file", "  naming it");
	}
}

int main(void)
{
	rd_log_open("rescand-sysfs", RD_LOG_STDERR, LOG_WARNING);
	fake_sysfs_init("rescand-sysfs");
	test_sessions();
	test_snapshot();
	test_reconcile();
	test_reconcile_variants();
	test_reconcile_only();
	test_reconcile_grace();
	test_capacity();
	test_holders();
	test_luns();
	return done_testing();
}
