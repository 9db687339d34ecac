// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/rescand-link.c: unit tests (TAP) of the host's side of
 * `lunlinkctl link` (initiator/link.c, mgr_json.c, the swap check of
 * holders.c) against a fake sysfs tree shaped like the kernel's, built in
 * a temporary folder as t/unit/rescand-sysfs.c builds its own: sessions,
 * scsi_device entries with WWIDs and block devices, holders, mountinfo,
 * a swaps file, and a fake iscsiadm (a shell script that logs its
 * arguments and refuses logins).
 *
 * The kernel's side of a write is kernel_hook: a "C T L" scan adds the
 * device staged for that address, a delete takes the device out of the
 * tree.
 */
#include "config.h"
#include "link.h"
#include "log.h"
#include "mgr_json.h"
#include "mpath.h"
#include "sysfs.h"
#include "tap.h"
#include "urls.h"
#include "fake_sysfs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct rd_env env;
static struct rd_link_ctx ctx;

/* ---- the tree --------------------------------------------------------------- */

static const char *at_path(const char *rel)
{
	static char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", fake_root, rel);
	return p;
}

/* fake_session with port 3260 and the session's target_id */
static void link_session(unsigned int sid, unsigned int host, const char *target,
			 const char *addr, unsigned int target_id)
{
	char tid[16];

	fake_session(sid, host, target, addr, "3260");
	snprintf(tid, sizeof(tid), "%u\n", target_id);
	put(tid, "devices/platform/host%u/session%u/iscsi_session/session%u/target_id", host, sid,
	    sid);
}

/* a device-mapper device dm-N holding disk `disk`, with a dm uuid */
static void fake_dm(const char *disk, const char *dm, const char *name, const char *uuid)
{
	mkdirs("devices/virtual/block/%s/dm", dm);
	put(name, "devices/virtual/block/%s/dm/name", dm);
	put(uuid, "devices/virtual/block/%s/dm/uuid", dm);
	sh("ln -s '%s/devices/virtual/block/%s' '%s/block/%s'", fake_root, dm, fake_root, dm);
	sh("ln -s '%s/devices/virtual/block/%s' '%s/block/%s/holders/%s'", fake_root, dm, fake_root, disk, dm);
}

static void fresh_tree(void)
{
	fake_tree_clear();
	mkdirs("dev");
	put("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", "swaps");
	put("", "iscsiadm.log");
}

/* ---- the kernel ------------------------------------------------------------- */

static struct staged {
	char hctl[32];
	unsigned int sid;
	const char *wwid, *name, *sectors, *devnum;
} staged[8];
static size_t nstaged, nscans;

static void stage(unsigned int sid, const char *hctl, const char *wwid, const char *name,
		  const char *sectors, const char *devnum)
{
	staged[nstaged] = (struct staged){ "", sid, wwid, name, sectors, devnum };
	snprintf(staged[nstaged].hctl, sizeof(staged[0].hctl), "%s", hctl);
	nstaged++;
}

static void kernel_hook(const struct rd_env *e, const char *path, const char *value)
{
	const char *rel = path + strlen(fake_root) + 1;
	unsigned int host, c, t;
	unsigned long long l;
	char hctl[64], real[PATH_MAX], link[PATH_MAX * 2];
	struct rd_hctl h;
	struct rd_sdev d;

	(void)e;
	if (sscanf(rel, "class/scsi_host/host%u/scan", &host) == 1) {
		nscans++;
		if (sscanf(value, "%u %u %llu", &c, &t, &l) != 3)
			return;
		for (size_t i = 0; i < nstaged; i++) {
			if (!staged[i].hctl[0] || rd_hctl_parse(staged[i].hctl, &h) || h.host != host ||
			    h.channel != c || h.target != t || h.lun != l)
				continue;
			fake_sdev(staged[i].sid, staged[i].hctl, staged[i].wwid, staged[i].name,
				  staged[i].sectors, staged[i].devnum);
			staged[i].hctl[0] = '\0';
		}
		return;
	}
	if (sscanf(rel, "class/scsi_device/%63[0-9:]/device/delete", hctl) != 1)
		return;
	rd_hctl_parse(hctl, &h);
	if (rd_sdev_read(&env, &h, &d, NULL, 0) <= 0)
		return;
	snprintf(link, sizeof(link), "%s/class/scsi_device/%s/device", fake_root, hctl);
	if (!realpath(link, real))
		return;
	if (d.block[0])
		sh("rm -f '%s/block/%s'", fake_root, d.block);
	sh("rm -f '%s/class/scsi_device/%s' && rm -rf '%s/deleted/%s' && mv '%s' '%s/deleted/%s'",
	   fake_root, hctl, fake_root, hctl, real, fake_root, hctl);
}

static const char *iscsiadm_log(void)
{
	static char buf[8192];
	FILE *f;
	size_t n;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/iscsiadm.log", fake_root);
	f = fopen(p, "r");
	if (!f)
		return "";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* t/unit/fake-dmsetup, beside this program */
static const char *fake_dmsetup(void)
{
	static char p[PATH_MAX];
	char *slash;

	if (!p[0]) {
		ssize_t n = readlink("/proc/self/exe", p, sizeof(p) - 32);

		p[n > 0 ? n : 0] = '\0';
		slash = strrchr(p, '/');
		snprintf(slash ? slash + 1 : p, 32, "fake-dmsetup");
	}
	return p;
}

static const char *dmsetup_log(void)
{
	static char buf[8192];
	const char *t = get("dmsetup.log");

	snprintf(buf, sizeof(buf), "%s", t ? t : "");
	return buf;
}

static void reset(void)
{
	static char iscsiadm[PATH_MAX];

	fresh_tree();
	rd_env_default(&env);
	snprintf(env.sysfs, sizeof(env.sysfs), "%s", fake_root);
	snprintf(env.dev, sizeof(env.dev), "%s/dev", fake_root);
	snprintf(env.mountinfo, sizeof(env.mountinfo), "%s/mountinfo", fake_root);
	snprintf(env.swaps, sizeof(env.swaps), "%s/swaps", fake_root);
	env.kernel_hook = kernel_hook;
	nstaged = nscans = 0;
	/* iscsiadm: logs its arguments; a login is refused as a wrong CHAP
	 * secret is, with iscsiadm's words and status */
	snprintf(iscsiadm, sizeof(iscsiadm), "%s/iscsiadm", fake_root);
	put("#!/bin/sh\n"
	    "echo \"$*\" >> \"${0%/*}/iscsiadm.log\"\n"
	    "case \"$*\" in *--login*)\n"
	    "  echo 'iscsiadm: Could not login to [iface: default, target: t, portal: p].'\n"
	    "  echo 'iscsiadm: initiator reported error (24 - iSCSI login failed due to "
	    "authorization failure)'\n"
	    "  exit 24;;\n"
	    "esac\n", "iscsiadm");
	chmod(iscsiadm, 0755);
	ctx = (struct rd_link_ctx){ .env = &env, .iscsiadm = iscsiadm, .iscsiadm_timeout_s = 10,
				    .poll_ms = 5, .dmsetup = fake_dmsetup(),
				    .replacement_timeout_s = 5, .map_queue_s = 60 };
	setenv("FAKE_ROOT", fake_root, 1);
	put("", "dmsetup.log");
}

#define T1	"iqn.2026-11.org.lunlink.cluster:host-00000000000000c1"
#define W1	"naa.60000000000000000000000000000a01"
#define W2	"naa.60000000000000000000000000000b02"

static struct rd_link_req req(const char *volume, const char *wwid, unsigned int lun)
{
	struct rd_link_req r = { .revision = 7, .lun = lun, .size = 1 << 20, .timeout_s = 2 };

	snprintf(r.volume, sizeof(r.volume), "%s", volume);
	snprintf(r.target, sizeof(r.target), "%s", T1);
	snprintf(r.portal, sizeof(r.portal), "10.0.0.5:3260");
	snprintf(r.wwid, sizeof(r.wwid), "%s", wwid);
	snprintf(r.chap_user, sizeof(r.chap_user), "ll-hc1");
	snprintf(r.chap_secret, sizeof(r.chap_secret), "s3cret");
	return r;
}

/* ---- the tests --------------------------------------------------------------- */

static void test_names(void)
{
	char b[320];

	ok(rd_wwid_equal("naa.6A1B", "naa.6a1b"), "WWIDs compare without case");
	ok(!rd_wwid_equal("naa.6a1b", "naa.6a1c"), "different WWIDs differ");
	ok(!rd_wwid_equal("", ""), "an empty WWID matches nothing");
	rd_by_id_path("naa.6001405ABCdef0123", b, sizeof(b));
	is_str(b, "/dev/disk/by-id/wwn-0x6001405abcdef0123", "udev's wwn- link of an NAA WWID");
	rd_by_id_path("t10.IET     VIRTUAL-DISK", b, sizeof(b));
	is_str(b, "", "no wwn- link for a T10 vendor WWID");
	rd_by_id_path("naa.60zz", b, sizeof(b));
	is_str(b, "", "no wwn- link for a WWID that is not hex");
}

static void test_initiator_name(void)
{
	char p[PATH_MAX], name[256], err[512];

	reset();
	snprintf(p, sizeof(p), "%s/initiatorname.iscsi", fake_root);
	put("## DO NOT EDIT OR REMOVE THIS FILE!\n"
	    "## If you remove this file, the iSCSI daemon will not start.\n"
	    "InitiatorName=iqn.1993-08.org.debian:01:5f1c2d  \n", "initiatorname.iscsi");
	ok(!rd_initiator_name_read(p, name, sizeof(name), err, sizeof(err)) &&
	   !strcmp(name, "iqn.1993-08.org.debian:01:5f1c2d"),
	   "the initiator name read past comments, blanks trimmed");
	put("# nothing\n", "initiatorname.iscsi");
	ok(rd_initiator_name_read(p, name, sizeof(name), err, sizeof(err)), "no name: refused");
	like(err, "has no InitiatorName= line", "  naming the file's fault");
	snprintf(p, sizeof(p), "%s/none", fake_root);
	ok(rd_initiator_name_read(p, name, sizeof(name), err, sizeof(err)), "no file: refused");
	like(err, "No such file", "  with the reason");
}

static void test_find(void)
{
	struct rd_sdev v[4];
	char err[512], dm[64], name[128], uuid[256];
	int n;

	reset();
	link_session(1, 2, T1, "10.0.0.5", 0);
	link_session(2, 3, T1, "10.0.0.6", 0);
	fake_sdev(1, "2:0:0:0", "", NULL, "", "");
	fake_sdev(1, "2:0:0:1", W1, "sdb", "2048", "8:16");
	fake_sdev(2, "3:0:0:1", "naa.60000000000000000000000000000A01", "sdc", "2048", "8:32");
	fake_sdev(1, "2:0:0:2", W2, "sdd", "2048", "8:48");
	n = rd_find_by_wwid(&env, W1, v, 4, err, sizeof(err));
	is_int(n, 2, "both paths of a WWID are found, any case");
	ok(n == 2 && !strcmp(v[0].block, "sdb") && !strcmp(v[1].block, "sdc"),
	   "  in H:C:T:L order");
	is_int(rd_find_by_wwid(&env, "naa.6fff", v, 4, err, sizeof(err)), 0, "no such WWID: none");
	is_int(rd_multipath_holder(&env, "sdb", dm, sizeof(dm), name, sizeof(name), uuid,
				   sizeof(uuid)), 0, "no holder: no multipath map");
	fake_dm("sdd", "dm-1", "vg-data", "LVM-abcdef");
	is_int(rd_multipath_holder(&env, "sdd", dm, sizeof(dm), name, sizeof(name), uuid,
				   sizeof(uuid)), 0, "an LVM holder is not a multipath map");
	fake_dm("sdb", "dm-0", "mpatha", "mpath-360000000000000000000000000000a01");
	ok(rd_multipath_holder(&env, "sdb", dm, sizeof(dm), name, sizeof(name), uuid,
			       sizeof(uuid)) == 1 && !strcmp(dm, "dm-0") && !strcmp(name, "mpatha"),
	   "a holder with an mpath- uuid is the multipath map");
}

static void test_link(void)
{
	struct rd_link_req r;
	struct rd_link_result res;
	struct rd_session s;
	unsigned int c, t;
	char err[256];

	reset();
	link_session(1, 2, T1, "10.0.0.5", 4);
	fake_sdev(1, "2:0:4:0", "", NULL, "", "");
	ok(rd_session_find(&env, T1, "10.0.0.5:3260", &s, err, sizeof(err)) == 1 && s.host == 2,
	   "the session is found by target and portal");
	is_int(rd_session_find(&env, T1, "10.0.0.6:3260", &s, err, sizeof(err)), 0,
	       "  not with another portal (the same target name on another node)");
	rd_session_find(&env, T1, "10.0.0.5:3260", &s, err, sizeof(err));
	rd_session_ids(&env, &s, &c, &t);
	ok(c == 0 && t == 4, "channel and target id from the session's target_id");

	stage(1, "2:0:4:1", W1, "sdc", "4096", "8:32");
	r = req("db", W1, 1);
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "linked", "link: the LUN's device appears");
	is_str(res.device, "sdc", "  the device");
	is_str(res.by_id, "/dev/disk/by-id/wwn-0x60000000000000000000000000000a01", "  its by-id path");
	is_str(res.wwid, W1, "  its WWID");
	is_u64(res.size, 4096 * 512, "  its size (bigger than asked: the volume grew)");
	ok(res.login_ms == 0, "  no login: the session was there");
	is_int(nscans, 1, "  one targeted scan");
	is_str(iscsiadm_log(), "", "  iscsiadm was not run");

	rd_link_do(&ctx, &r, &res);
	ok(res.state == RD_LINK_LINKED && !strcmp(res.device, "sdc") && nscans == 1,
	   "link again: reported again without a scan (idempotent)");

	/* LUN 2 held another volume's data: the old device must go first */
	fake_sdev(1, "2:0:4:2", W1 "f", "sdd", "2048", "8:48");
	stage(1, "2:0:4:2", W2, "sde", "2048", "8:64");
	r = req("web", W2, 2);
	rd_link_do(&ctx, &r, &res);
	ok(res.state == RD_LINK_LINKED && !strcmp(res.device, "sde"),
	   "a reused LUN number: the old device is deleted, the volume comes as a new one");
	ok(!access(at_path("deleted/2:0:4:2"), F_OK), "  the old device was deleted");

	/* the same, but the old device is mounted: never replaced */
	fake_sdev(1, "2:0:4:3", "naa.6fff", "sdf", "2048", "8:80");
	put("36 35 8:80 / /srv/old rw - ext4 /dev/sdf rw\n", "mountinfo");
	r = req("logs", "naa.60000000000000000000000000000c03", 3);
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "failed", "a reused LUN whose old device is mounted");
	like(res.error, "2:0:4:3 (sdf) holds WWID naa.6fff", "  names what sits there");
	like(res.error, "mounted on /srv/old", "  and what holds it");

	/* nothing comes */
	r = req("ghost", "naa.60000000000000000000000000000d04", 5);
	r.timeout_s = 1;
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "failed", "no device: failed after the timeout");
	like(res.error, "no block device with WWID naa.60000000000000000000000000000d04 1 s after "
	     "the scan of host2 (LUN 5 of session 1: nothing at 2:0:4:5)", "  saying what it saw");
	ok(nscans >= 2, "  the scan was repeated while waiting");

	/* smaller than the volume */
	stage(1, "2:0:4:6", "naa.60000000000000000000000000000e05", "sdg", "8", "8:96");
	r = req("small", "naa.60000000000000000000000000000e05", 6);
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "failed", "a device smaller than the volume");
	like(res.error, "sdg has 4096 bytes, less than the volume's 1048576", "  says both sizes");

	/* multipath: the map is reported */
	fake_dm("sdc", "dm-0", "mpatha", "mpath-360000000000000000000000000000a01");
	r = req("db", W1, 1);
	rd_link_do(&ctx, &r, &res);
	ok(res.state == RD_LINK_LINKED && !strcmp(res.device, "dm-0") &&
	   !strcmp(res.multipath, "mpatha"), "with dm-multipath, the map is the device");
	is_str(res.by_id, "/dev/disk/by-id/dm-uuid-mpath-360000000000000000000000000000a01",
	       "  its by-id path");
}

static void test_map_pieces(void)
{
	const char *two[] = { "8:48", "8:32" };
	char b[RD_MAP_TABLE_MAX];

	rd_map_name("db", b, sizeof(b));
	is_str(b, "lunlink-db", "a volume's map is named lunlink-VOLUME");
	rd_map_uuid("naa.6A11F00000000000000000000000A1", "lunlink-db", b, sizeof(b));
	is_str(b, "mpath-36a11f00000000000000000000000a1",
	       "its uuid: mpath-3 and the NAA digits, as multipath-tools has it");
	rd_map_uuid("t10.IET VIRTUAL-DISK", "lunlink-db", b, sizeof(b));
	is_str(b, "mpath-lunlink-db", "  a WWID that is not NAA: mpath- and the map's name");
	ok(!rd_map_table(8192, two, 2, b, sizeof(b)), "the table of two paths");
	is_str(b, "0 8192 multipath 1 queue_if_no_path 0 2 1 round-robin 0 1 1 8:48 1 "
	       "round-robin 0 1 1 8:32 1", "  failover groups, the first path first, queueing");
	ok(rd_map_table(8192, two, 0, b, sizeof(b)), "  no path: no table");
	is_int(rd_map_status_path("0 8192 multipath 2 0 0 0 2 1 A 0 1 0 8:48 A 0 E 0 1 0 8:32 F 3",
				  "8:32"), 'F', "a failed path in dmsetup status");
	is_int(rd_map_status_path("0 8192 multipath 2 0 0 0 2 1 A 0 1 0 18:48 A 0 E 0 1 0 8:48 A 0",
				  "8:48"), 'A', "  an active one (18:48 is not 8:48)");
	is_int(rd_map_status_path("0 8192 multipath 2 0 0 0 1 1 A 0 1 0 8:48 A 0", "8:4"), 0,
	       "  a path not in the map");
}

/* node 1 (10.0.0.5, host 2) serves db at LUN 1; node 2 (10.0.0.6, host 3)
 * will serve it at LUN 3 with the same WWID */
static void two_nodes(void)
{
	reset();
	link_session(1, 2, T1, "10.0.0.5", 0);
	link_session(2, 3, T1, "10.0.0.6", 0);
	fake_sdev(1, "2:0:0:0", "", NULL, "", "");
	fake_sdev(2, "3:0:0:0", "", NULL, "", "");
	mkdirs("module/dm_multipath/parameters");
	put("0\n", "module/dm_multipath/parameters/queue_if_no_path_timeout_secs");
	put("120\n", "devices/platform/host2/session1/iscsi_session/session1/recovery_tmo");
	stage(1, "2:0:0:1", W1, "sdc", "8192", "8:32");
}

static struct rd_link_req moved_req(void)
{
	struct rd_link_req r = req("db", W1, 3);

	r.multipath = true;
	r.revision = 8;
	snprintf(r.portal, sizeof(r.portal), "10.0.0.6:3260");
	snprintf(r.moved_from.target, sizeof(r.moved_from.target), "%s", T1);
	snprintf(r.moved_from.portal, sizeof(r.moved_from.portal), "10.0.0.5:3260");
	r.moved_from.lun = 1;
	return r;
}

static void test_multipath(void)
{
	struct rd_link_req r = req("db", W1, 1);
	struct rd_link_result res;
	struct rd_map m;
	char err[256];

	two_nodes();
	r.multipath = true;
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "linked", "a multipath link: linked");
	is_str(res.device, "dm-0", "  its device is the map");
	is_str(res.multipath, "lunlink-db", "  named after the volume");
	is_str(res.by_id, "/dev/mapper/lunlink-db", "  at the node dmsetup made");
	like(dmsetup_log(), "create lunlink-db --uuid mpath-360000000000000000000000000000a01 --table "
	     "0 8192 multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 1 8:32 1\n",
	     "  made with dmsetup create: the path, queue_if_no_path");
	is_str(get("module/dm_multipath/parameters/queue_if_no_path_timeout_secs"), "60",
	       "  queueing bounded (queue_if_no_path_timeout_secs)");
	is_str(get("devices/platform/host2/session1/iscsi_session/session1/recovery_tmo"), "5",
	       "  its session fails fast (recovery_tmo = replacement_timeout)");
	ok(rd_map_find(&env, "lunlink-db", &m, err, sizeof(err)) == 1 && m.nslaves == 1 &&
	   !strcmp(m.slaves[0], "sdc"), "  the map holds the path");

	rd_link_do(&ctx, &r, &res);
	ok(res.state == RD_LINK_LINKED && !strcmp(res.device, "dm-0") && nscans == 1 &&
	   !strstr(dmsetup_log(), "reload"),
	   "link again: the same map (its table as the kernel prints it), no scan, no reload");

	/* a file system on the map */
	put("36 35 254:0 / /srv/db rw - ext4 /dev/mapper/lunlink-db rw\n", "mountinfo");

	/* the volume moves to node 2 */
	stage(2, "3:0:0:3", W1, "sdd", "8192", "8:48");
	r = moved_req();
	put("", "dmsetup.log");
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "linked", "moved: linked");
	is_str(res.error, "", "  no error");
	ok(!strcmp(res.device, "dm-0") && !strcmp(res.multipath, "lunlink-db"),
	   "  the same map (the mounted file system stays)");
	like(dmsetup_log(), "reload lunlink-db --table 0 8192 multipath 1 queue_if_no_path 0 2 1 "
	     "round-robin 0 1 1 8:48 1 round-robin 0 1 1 8:32 1\n",
	     "  reloaded with the new path first, the old one standby");
	like(dmsetup_log(), "suspend --noflush lunlink-db\nresume lunlink-db\nstatus lunlink-db\n",
	     "  swapped with a noflush suspend (queued I/O stays), then its state read");
	like(dmsetup_log(), "reload lunlink-db --table 0 8192 multipath 1 queue_if_no_path 0 1 1 "
	     "round-robin 0 1 1 8:48 1\n", "  then the old path dropped");
	ok(rd_map_find(&env, "lunlink-db", &m, err, sizeof(err)) == 1 && m.nslaves == 1 &&
	   !strcmp(m.slaves[0], "sdd"), "  the map holds the new path alone");
	ok(!access(at_path("deleted/2:0:0:1"), F_OK), "  the old path's device deleted");
	like(iscsiadm_log(), "-m node -T " T1 " -p 10.0.0.5:3260 --logout\n",
	     "  and its session, with no disk left, logged out");

	r.unlink = true;
	rd_unlink_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "linked", "unlink of a mounted map: refused");
	like(res.error, "dm-0 (map lunlink-db) is in use: mounted on /srv/db", "  naming the mount");
	ok(rd_map_find(&env, "lunlink-db", &m, err, sizeof(err)) == 1, "  the map stays");

	put("", "mountinfo");
	rd_unlink_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "unlinked", "unmounted: unlinked");
	is_int(rd_map_find(&env, "lunlink-db", &m, err, sizeof(err)), 0, "  the map is gone");
	ok(!access(at_path("deleted/3:0:0:3"), F_OK), "  then the path");
	like(iscsiadm_log(), "-p 10.0.0.6:3260 --logout\n", "  and its session");
}

static void test_move_fails(void)
{
	struct rd_link_req r = req("db", W1, 1);
	struct rd_link_result res;
	struct rd_map m;
	char err[256];

	two_nodes();
	r.multipath = true;
	rd_link_do(&ctx, &r, &res);
	stage(2, "3:0:0:3", W1, "sdd", "8192", "8:48");
	put("8:48\n", "devices/virtual/block/dm-0/failed");
	r = moved_req();
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "failed", "moved, the new path failed in the map: failed");
	like(res.error, "the new path sdd (8:48) is failed in map lunlink-db", "  saying so");
	ok(rd_map_find(&env, "lunlink-db", &m, err, sizeof(err)) == 1 && m.nslaves == 2 &&
	   access(at_path("deleted/2:0:0:1"), F_OK), "  the old path stays in the map and in sysfs");

	put("", "devices/virtual/block/dm-0/failed");
	put("reload\n", "dmsetup.fail");
	snprintf(r.portal, sizeof(r.portal), "10.0.0.6:3260");
	/* a map to change whose reload fails: its old table stays */
	put("0 8192 multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 1 8:32 1\n",
	    "devices/virtual/block/dm-0/table");
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "failed", "the reload refused: failed");
	like(res.error, "dmsetup reload exited 1: device-mapper: reload ioctl on lunlink-db",
	     "  with dmsetup's words");
	like(res.error, "(a device of the table is held by another map or a mount",
	     "  and what to look at");
	put("", "dmsetup.fail");
	rd_link_do(&ctx, &r, &res);
	ok(res.state == RD_LINK_LINKED && rd_map_find(&env, "lunlink-db", &m, err, sizeof(err)) == 1 &&
	   m.nslaves == 1 && !strcmp(m.slaves[0], "sdd"), "the entry carried out again: moved");

	/* without a map (no "multipath"): the new path, the old device deleted */
	two_nodes();
	r = req("db", W1, 1);
	rd_link_do(&ctx, &r, &res);
	stage(2, "3:0:0:3", W1, "sdd", "8192", "8:48");
	r = moved_req();
	r.multipath = false;
	rd_link_do(&ctx, &r, &res);
	ok(res.state == RD_LINK_LINKED && !strcmp(res.device, "sdd") && !res.multipath[0] &&
	   !access(at_path("deleted/2:0:0:1"), F_OK) && !strstr(dmsetup_log(), "create"),
	   "moved without multipath: the new disk, the old one deleted, no map");
}

static void test_login(void)
{
	struct rd_link_req r = req("db", W1, 1);
	struct rd_link_result res;

	reset();
	rd_link_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "failed", "no session and the login refused: failed");
	like(res.error, "login to " T1 " at 10.0.0.5:3260: login refused: iscsiadm exited 24",
	     "  names the target, the portal and the step");
	like(res.error, "authorization failure", "  with iscsiadm's own words");
	like(iscsiadm_log(), "-m node -T " T1 " -p 10.0.0.5:3260 -o new\n", "a node record was made");
	like(iscsiadm_log(), "-o update -n node.session.scan -v manual\n",
	     "  with node.session.scan manual (iscsid's scan does not race ours)");
	like(iscsiadm_log(), "-n node.session.auth.authmethod -v CHAP\n", "  CHAP");
	like(iscsiadm_log(), "-n node.session.auth.username -v ll-hc1\n", "  its user");
	like(iscsiadm_log(), "-n node.session.auth.password -v s3cret\n", "  and secret");
	ok(!strstr(iscsiadm_log(), "replacement_timeout"), "  the default recovery timeout");

	reset();
	r.multipath = true;
	rd_link_do(&ctx, &r, &res);
	like(iscsiadm_log(), "-n node.session.timeo.replacement_timeout -v 5\n",
	     "a multipath link's session: replacement_timeout 5 s");
	like(iscsiadm_log(), "-n node.conn[0].timeo.noop_out_interval -v 1\n", "  a no-op every 1 s");
	like(iscsiadm_log(), "-n node.conn[0].timeo.noop_out_timeout -v 2\n", "  answered within 2 s");
}

static void test_unlink(void)
{
	struct rd_link_req r = req("db", W1, 1);
	struct rd_link_result res;

	reset();
	link_session(1, 2, T1, "10.0.0.5", 0);
	fake_sdev(1, "2:0:0:0", "", NULL, "", "");
	fake_sdev(1, "2:0:0:1", W1, "sdc", "2048", "8:32");
	fake_sdev(1, "2:0:0:2", W2, "sdd", "2048", "8:48");
	mkdirs("block/sdc/sdc1");
	put("1", "block/sdc/sdc1/partition");
	put("8:33", "block/sdc/sdc1/dev");
	put("36 35 8:33 / /srv/db rw - ext4 /dev/sdc1 rw\n", "mountinfo");
	r.unlink = true;
	rd_unlink_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "linked", "unlink of a mounted device: refused");
	like(res.error, "sdc is in use: mounted on /srv/db (sdc1)", "  naming the mount point");
	ok(!access(at_path("class/scsi_device/2:0:0:1"), F_OK), "  the device stays");

	put("", "mountinfo");
	{
		char line[PATH_MAX + 64];

		snprintf(line, sizeof(line), "%s/dev/sdc1 partition 1048572 0 -2\n", fake_root);
		put(line, "swaps");
	}
	rd_unlink_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "linked", "unlink of a device used as swap: refused");
	like(res.error, "used as swap (sdc1)", "  saying so");

	r.force = true;
	rd_unlink_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "unlinked", "forced: unlinked all the same");
	ok(access(at_path("class/scsi_device/2:0:0:1"), F_OK), "  the device is gone");
	is_str(iscsiadm_log(), "", "  no logout: the session still has a disk (LUN 2)");

	r = req("web", W2, 2);
	r.unlink = true;
	put("", "swaps");
	rd_unlink_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "unlinked", "unlink of a free device");
	like(iscsiadm_log(), "-m node -T " T1 " -p 10.0.0.5:3260 --logout\n",
	     "  the last disk of the session: logged out");
	like(iscsiadm_log(), "-p 10.0.0.5:3260 -o delete\n", "  and the node record deleted");

	rd_unlink_do(&ctx, &r, &res);
	is_str(rd_link_state_name(res.state), "unlinked", "unlink again: still unlinked (idempotent)");
}

static void test_json(void)
{
	struct rd_mgr_desired d;
	struct rd_mgr_ident id = { "iqn.1993-08.org.debian:01:5f1c2d", "web1", "0.6.0" };
	struct rd_mgr_link l = { 0 };
	json_object *j, *rep, *links, *e, *f;
	char err[512];

	j = json_tokener_parse(
		"{\"id\":\"c1\",\"desired_revision\":214,\"changed\":true,\"links\":["
		"{\"volume\":\"db\",\"revision\":212,\"action\":\"link\",\"target\":\"" T1 "\","
		"\"portal\":\"10.0.0.5:3260\",\"lun\":1,\"wwid\":\"" W1 "\",\"size\":10737418240,"
		"\"chap\":{\"user\":\"ll-h\",\"secret\":\"xyz\"},\"timeout_s\":30,\"force\":false},"
		"{\"volume\":\"web\",\"revision\":213,\"action\":\"explode\"}]}");
	ok(!rd_mgr_desired_read(j, &d, err, sizeof(err)), "the desired links are read");
	ok(d.revision == 214 && d.changed && d.n == 2, "  revision, changed, two entries");
	ok(d.n == 2 && !strcmp(d.v[0].req.volume, "db") && d.v[0].req.revision == 212 &&
	   !d.v[0].req.unlink && d.v[0].req.lun == 1 && d.v[0].req.size == 10737418240ULL &&
	   !strcmp(d.v[0].req.chap_secret, "xyz") && d.v[0].req.timeout_s == 30 &&
	   d.v[0].pending && !d.v[0].bad[0], "  the first as sent");
	ok(d.n == 2 && d.v[1].pending, "  a bad entry is kept, to be reported failed");
	like(d.n == 2 ? d.v[1].bad : "", "'action': 'explode' is neither link nor unlink",
	     "  with why");
	rd_mgr_desired_free(&d);
	json_object_put(j);

	j = json_tokener_parse(
		"{\"desired_revision\":215,\"links\":["
		"{\"volume\":\"db\",\"revision\":215,\"action\":\"link\",\"target\":\"" T1 "\","
		"\"portal\":\"10.0.0.6:3260\",\"lun\":3,\"wwid\":\"" W1 "\",\"size\":1,"
		"\"multipath\":true,\"moved_from\":{\"target\":\"" T1 "\","
		"\"portal\":\"10.0.0.5:3260\",\"lun\":1}},"
		"{\"volume\":\"web\",\"revision\":9,\"action\":\"link\",\"target\":\"t\","
		"\"portal\":\"p:1\",\"lun\":1,\"wwid\":\"" W2 "\",\"size\":1,"
		"\"moved_from\":{\"target\":\"t\",\"portal\":\"p:1\",\"lun\":70000}},"
		"{\"volume\":\"old\",\"revision\":9,\"action\":\"link\",\"target\":\"t\","
		"\"portal\":\"p:1\",\"lun\":1,\"wwid\":\"" W2 "\",\"size\":1}]}");
	ok(!rd_mgr_desired_read(j, &d, err, sizeof(err)) && d.n == 3, "a moved entry is read");
	ok(d.n == 3 && d.v[0].req.multipath && !strcmp(d.v[0].req.moved_from.target, T1) &&
	   !strcmp(d.v[0].req.moved_from.portal, "10.0.0.5:3260") && d.v[0].req.moved_from.lun == 1 &&
	   !d.v[0].bad[0], "  multipath and moved_from as sent");
	like(d.n == 3 ? d.v[1].bad : "", "'moved_from.lun'", "  a bad moved_from field is named");
	ok(d.n == 3 && !d.v[2].bad[0] && !d.v[2].req.multipath && !d.v[2].req.moved_from.target[0],
	   "  an entry without them: no map, not moved (as before)");
	rd_mgr_desired_free(&d);
	json_object_put(j);

	j = json_tokener_parse("{\"desired_revision\":3,\"links\":[{\"volume\":\"db\"}]}");
	ok(rd_mgr_desired_read(j, &d, err, sizeof(err)), "an entry without a revision refuses all");
	like(err, "desired link 0, field 'revision'", "  naming it");
	json_object_put(j);

	l.req = req("db", W1, 1);
	l.res.state = RD_LINK_LINKED;
	snprintf(l.res.device, sizeof(l.res.device), "sdc");
	l.res.size = 4096;
	l.res.scan_ms = 35;
	rep = rd_mgr_report_json(&id, &l, 1);
	ok(json_object_object_get_ex(rep, "initiator", &f) &&
	   !strcmp(json_object_get_string(f), id.initiator), "the report: the initiator");
	ok(json_object_object_get_ex(rep, "lunlink_version", &f) &&
	   !strcmp(json_object_get_string(f), "0.6.0"), "  the version");
	ok(json_object_object_get_ex(rep, "links", &links) && json_object_array_length(links) == 1,
	   "  one link");
	e = json_object_array_get_idx(links, 0);
	ok(e && json_object_object_get_ex(e, "link_revision", &f) && json_object_get_int64(f) == 7,
	   "  answering its revision");
	ok(e && json_object_object_get_ex(e, "state", &f) &&
	   !strcmp(json_object_get_string(f), "linked"), "  its state");
	ok(e && json_object_object_get_ex(e, "scan_ms", &f) && json_object_get_int64(f) == 35,
	   "  its step times");
	ok(e && !json_object_object_get_ex(e, "chap", &f) &&
	   !strstr(json_object_to_json_string(rep), "s3cret"), "  never the CHAP secret");
	json_object_put(rep);
}

static void test_config(void)
{
	struct rd_config c;
	char p[PATH_MAX], err[1024];

	reset();
	snprintf(p, sizeof(p), "%s/rescand.conf", fake_root);
	rd_config_defaults(&c);
	ok(!c.mgr.url[0] && c.mgr.heartbeat_interval == 2 && c.mgr.join_port == 7701 &&
	   !strcmp(c.mgr.cert, "/var/lib/lunlink/host.crt"),
	   "no manager by default; its defaults");
	put("hold_ms = 500;\nmanager = {\n  url = \"https://10.0.0.1:7700\";\n"
	    "  ca = \"/x/ca.crt\";\n  host_name = \"web1\";\n  heartbeat_interval = 1;\n};\n",
	    "rescand.conf");
	ok(!rd_config_load(&c, p, true, err, sizeof(err)) &&
	   !strcmp(c.mgr.url, "https://10.0.0.1:7700") && !strcmp(c.mgr.ca, "/x/ca.crt") &&
	   !strcmp(c.mgr.host_name, "web1") && c.mgr.heartbeat_interval == 1 &&
	   c.hold_ms == 500, "the manager group is read beside the other settings");
	put("manager = { url = \"https://h:1\"; hearbeat_interval = 1; };\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "a misspelt manager setting is refused");
	like(err, "rescand.conf:1: unknown setting 'manager.hearbeat_interval'", "  naming it");
	put("manager = { url = \"http://h:7700\"; };\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "a manager url without TLS is refused");
	like(err, "the manager's API is \"https://HOST:PORT\"", "  saying what it must be");
	put("manager = { url = \"https://10.0.0.1:7700, https://10.0.0.2:7700\n"
	    "  https://[fd00::3]:7700/\"; };\n", "rescand.conf");
	ok(!rd_config_load(&c, p, true, err, sizeof(err)) &&
	   !strcmp(c.mgr.url, "https://10.0.0.1:7700, https://10.0.0.2:7700\n  https://[fd00::3]:7700/"),
	   "several managers, apart by commas and blanks, are read as one list");
	put("manager = { url = \"https://a:7700, http://b:7700, https://c:7700\"; };\n",
	    "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "a list with a manager without TLS is refused");
	like(err, "manager.url: manager 2 of 3, \"http://b:7700\": the manager's API is "
	     "\"https://HOST:PORT\"", "  naming it by its place");
	put("manager = { url = \"https://a:7700 https://:7700\"; };\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "a manager without a host is refused");
	like(err, "manager 2 of 2, \"https://:7700\": no host in it", "  saying so");
	put("manager = { url = \"https://a:7700, https://a:7700\"; };\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "a manager given twice is refused");
	like(err, "manager.url: https://a:7700 is given twice", "  naming it");
	put("manager = { url = \"https://a:1 https://b:1 https://c:1 https://d:1 https://e:1 "
	    "https://f:1 https://g:1 https://h:1 https://i:1\"; };\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "nine managers are refused");
	like(err, "more than 8 addresses in the list", "  saying how many a list takes");
	put("manager = { url = \" , \"; };\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "a url of separators alone is refused");
	like(err, "manager.url: no address given", "  saying so");
	{
		char host[64];

		ok(!pu_url_host("https://10.0.0.2:7700/", host, sizeof(host), err, sizeof(err)) &&
		   !strcmp(host, "10.0.0.2"), "the join port's host: an address");
		ok(!pu_url_host("https://[fd00::3]:7700", host, sizeof(host), err, sizeof(err)) &&
		   !strcmp(host, "[fd00::3]"), "  an IPv6 address, in its brackets");
		ok(!pu_url_host("https://m1", host, sizeof(host), err, sizeof(err)) &&
		   !strcmp(host, "m1"), "  a name without a port");
		ok(pu_url_host("https://[fd00::3", host, sizeof(host), err, sizeof(err)),
		   "  an unclosed bracket is refused");
		ok(pu_url_host("https://m12:7700", host, 3, err, sizeof(err)),
		   "  a host longer than the room is refused");
	}
	{
		char urls[256];

		ok(!pu_join_urls("https://10.0.0.1:7700, https://[fd00::3]:7700/", 7701, urls,
				 sizeof(urls), err, sizeof(err)) &&
		   !strcmp(urls, "https://10.0.0.1:7701, https://[fd00::3]:7701"),
		   "the join URLs: each manager's host with the join port, in order");
		ok(pu_join_urls("https://10.0.0.1:7700 http://m2:7700", 7701, urls, sizeof(urls), err,
				sizeof(err)), "  a URL that is not https is refused");
		like(err, "http://m2:7700", "  naming it");
		ok(pu_join_urls("https://10.0.0.1:7700, https://10.0.0.2:7700", 7701, urls, 30, err,
				sizeof(err)), "  a list longer than the room is refused");
	}
	put("manager = { heartbeat_interval = 0; };\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "heartbeat_interval 0 is refused");
	like(err, "manager.heartbeat_interval = 0 is out of range (1 to 60)", "  with the range");
	rd_config_defaults(&c);
	ok(!strcmp(c.mgr.dmsetup, "dmsetup") && c.mgr.replacement_timeout == 5 &&
	   c.mgr.map_queue_timeout == 60, "the map settings' defaults: dmsetup, 5 s, 60 s");
	put("manager = { replacement_timeout = 2; map_queue_timeout = 120; dmsetup = \"/x/dm\"; };\n",
	    "rescand.conf");
	ok(!rd_config_load(&c, p, true, err, sizeof(err)) && c.mgr.replacement_timeout == 2 &&
	   c.mgr.map_queue_timeout == 120 && !strcmp(c.mgr.dmsetup, "/x/dm"), "  read");
	put("manager = { map_queue_timeout = 0; };\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "a map that queues for ever is refused");
	like(err, "manager.map_queue_timeout = 0 is out of range (10 to 86400)", "  with the range");
	put("manager = \"https://h:1\";\n", "rescand.conf");
	ok(rd_config_load(&c, p, true, err, sizeof(err)), "manager not a group is refused");
	like(err, "manager must be a group", "  saying so");
}

int main(void)
{
	rd_log_open("rescand-link", RD_LOG_STDERR, LOG_ERR);
	fake_sysfs_init("rescand-link");
	test_names();
	test_initiator_name();
	test_find();
	test_link();
	test_login();
	test_map_pieces();
	test_multipath();
	test_move_fails();
	test_unlink();
	test_json();
	test_config();
	return done_testing();
}
