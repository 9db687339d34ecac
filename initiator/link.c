// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * link.c: linking and unlinking one volume on this host (see link.h).
 * The order of a link, each step skipped when its result is there:
 *
 *   1. a block device with the volume's WWID already?  report it (done);
 *   2. no session with (target, portal)?  iscsiadm: a node record with the
 *      CHAP account and node.session.scan = manual (iscsid's own scan must
 *      not race ours), then the login;
 *   3. a device at the LUN's H:C:T:L with another WWID (a reused number)?
 *      delete it, unless in use (then fail, naming the holder);
 *   4. "C T L" to the session host's scan, again every second while waiting;
 *   5. the block device with the WWID, within timeout_s; its size at least
 *      the volume's; a dm-multipath map over it is reported instead.
 *
 * A link whose volume can move ("multipath": true) differs in three
 * places: its sessions fail fast (replacement_timeout, no-op pings: a dead
 * node's path fails and the map queues), its device is the one on the
 * entry's session (the volume's WWID is on every node's path), and its
 * paths are put behind a map of our own (mpath.h), this entry's path in
 * the first group.  An entry with "moved_from" (the same volume, served
 * before at another address) then drops the old path: once the new one
 * serves through the map, the old one leaves the table, its device is
 * deleted and its session logged out if it has no disk left.  Whatever
 * sits on the map (a mounted file system) never notices.  Those pieces
 * are link_move.c's.
 */
#include "link.h"
#include "link_int.h"
#include "discover.h"
#include "holders.h"
#include "lunlink/errmsg.h"
#include "log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define RESCAN_EVERY_MS	1000	/* the targeted scan is repeated while waiting */

uint64_t rd_link_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void nap(const struct rd_link_ctx *c)
{
	unsigned int ms = c->poll_ms ? c->poll_ms : 20;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void rd_link_busy(const struct rd_link_ctx *c, unsigned int host, bool on)
{
	if (c->busy)
		c->busy(c->busy_arg, host, on);
}

const char *rd_link_state_name(enum rd_link_state s)
{
	switch (s) {
	case RD_LINK_LINKED:
		return "linked";
	case RD_LINK_FAILED:
		return "failed";
	case RD_LINK_UNLINKED:
		return "unlinked";
	default:
		return "working";
	}
}

void rd_link_fail(struct rd_link_result *out, enum rd_link_state st, const char *fmt, ...)
{
	va_list ap;

	out->state = st;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
}

/* ---- finding things ---------------------------------------------------------- */

bool rd_wwid_equal(const char *a, const char *b)
{
	return a[0] && !strcasecmp(a, b);
}

void rd_by_id_path(const char *wwid, char *out, size_t outlen)
{
	rd_wwid_naa(wwid, "/dev/disk/by-id/wwn-0x", out, outlen);
}

static int cmp_sdev(const void *a, const void *b)
{
	return rd_hctl_cmp(&((const struct rd_sdev *)a)->hctl, &((const struct rd_sdev *)b)->hctl);
}

int rd_find_by_wwid(const struct rd_env *env, const char *wwid, struct rd_sdev *out, size_t max,
		    char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct rd_sdev d;
	struct rd_hctl h;
	struct dirent *de;
	size_t n = 0;
	DIR *dp;

	if (rd_path(env, dir, sizeof(dir), err, errlen, "class/scsi_device"))
		return -1;
	dp = opendir(dir);
	if (!dp) {
		if (errno == ENOENT)
			return 0;	/* no SCSI layer yet: nothing has that WWID */
		return ll_fail(err, errlen, "cannot read %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(dp)) && n < max) {
		if (rd_hctl_parse(de->d_name, &h))
			continue;
		/* a device going away while we look is simply not there */
		if (rd_sdev_read(env, &h, &d, NULL, 0) <= 0 || !rd_wwid_equal(d.wwid, wwid))
			continue;
		out[n++] = d;
	}
	closedir(dp);
	qsort(out, n, sizeof(*out), cmp_sdev);
	return (int)n;
}

int rd_multipath_holder(const struct rd_env *env, const char *block, char *dm, size_t dmlen,
			char *name, size_t namelen, char *uuid, size_t uuidlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], u[256];
	struct dirent *de;
	int found = 0;
	DIR *dp;

	if (rd_path(env, dir, sizeof(dir), NULL, 0, "block/%s/holders", block))
		return 0;
	dp = opendir(dir);
	if (!dp)
		return 0;
	while (!found && (de = readdir(dp))) {
		if (de->d_name[0] == '.' ||
		    rd_path(env, path, sizeof(path), NULL, 0, "block/%s/dm/uuid", de->d_name) ||
		    rd_read_attr(path, u, sizeof(u)) || strncmp(u, "mpath-", 6))
			continue;
		snprintf(dm, dmlen, "%s", de->d_name);
		snprintf(uuid, uuidlen, "%s", u);
		if (rd_path(env, path, sizeof(path), NULL, 0, "block/%s/dm/name", de->d_name) ||
		    rd_read_attr(path, name, namelen))
			snprintf(name, namelen, "%s", de->d_name);
		found = 1;
	}
	closedir(dp);
	return found;
}

int rd_session_find(const struct rd_env *env, const char *target, const char *portal,
		    struct rd_session *out, char *err, size_t errlen)
{
	struct rd_session *v;
	size_t n;
	int found = 0;

	if (rd_sessions_list(env, &v, &n, err, errlen))
		return -1;
	for (size_t i = 0; i < n && !found; i++)
		if (!strcmp(v[i].target, target) && !strcmp(v[i].portal, portal)) {
			*out = v[i];
			found = 1;
		}
	free(v);
	return found;
}

void rd_session_ids(const struct rd_env *env, const struct rd_session *s, unsigned int *channel,
		    unsigned int *target)
{
	char path[PATH_MAX], buf[32], dir[PATH_MAX];
	unsigned int h, c, t;
	struct dirent *de;
	DIR *dp;

	*channel = 0;
	*target = 0;
	if (!rd_path(env, path, sizeof(path), NULL, 0, "class/iscsi_session/session%u/target_id",
		     s->sid) && !rd_read_attr(path, buf, sizeof(buf)) && sscanf(buf, "%u", &t) == 1) {
		*target = t;
		return;
	}
	/* older kernels: the target folder under the session's device */
	if (rd_path(env, dir, sizeof(dir), NULL, 0, "class/iscsi_session/session%u/device", s->sid))
		return;
	dp = opendir(dir);
	if (!dp)
		return;
	while ((de = readdir(dp)))
		if (sscanf(de->d_name, "target%u:%u:%u", &h, &c, &t) == 3 && h == s->host) {
			*channel = c;
			*target = t;
			break;
		}
	closedir(dp);
}

int rd_initiator_name_read(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	char *line = NULL, *v, *end;
	bool seen = false;
	size_t cap = 0;
	FILE *f = fopen(path, "re");
	int rc = -1;

	if (!f)
		return ll_fail(err, errlen, "cannot read the initiator name from %s: %s", path,
			       strerror(errno));
	while (!seen && getline(&line, &cap, f) > 0) {
		for (v = line; *v == ' ' || *v == '\t'; v++)
			;
		if (strncmp(v, "InitiatorName=", 14))
			continue;
		seen = true;
		v += 14;
		for (end = v + strlen(v); end > v && isspace((unsigned char)end[-1]); end--)
			;
		*end = '\0';
		if (!*v || (size_t)(end - v) >= outlen || strchr(v, ' ')) {
			ll_fail(err, errlen, "%s: InitiatorName= is empty, too long or has a blank", path);
			continue;
		}
		memcpy(out, v, (size_t)(end - v) + 1);
		rc = 0;
	}
	if (!seen)
		ll_fail(err, errlen, "%s has no InitiatorName= line (open-iscsi writes it at "
			"installation: iscsi-iname)", path);
	free(line);
	fclose(f);
	return rc;
}

/* ---- iscsiadm ------------------------------------------------------------------ */

/* iscsiadm's output as one line for a message: its last lines, blanks folded */
static void one_line(char *text)
{
	char *nl;

	while ((nl = strrchr(text, '\n')) && !nl[1])
		*nl = '\0';
	for (nl = text; (nl = strchr(nl, '\n'));)
		*nl = ' ';
}

/* Run iscsiadm -m node -T target -p portal ARGS...: 0, or -1 with err
 * carrying iscsiadm's own words.  what names the step. */
static int node_cmd(const struct rd_link_ctx *c, const struct rd_link_req *r, const char *what,
		    char *const args[], char *err, size_t errlen)
{
	char *argv[16] = { (char *)c->iscsiadm, "-m", "node", "-T", (char *)r->target, "-p",
			   (char *)r->portal };
	static __thread char text[4096];
	char runerr[256];
	size_t n = 7;
	int st;

	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	st = rd_run(argv, c->iscsiadm_timeout_s, text, sizeof(text), runerr, sizeof(runerr));
	if (st < 0)
		return ll_fail(err, errlen, "%s: %s", what, runerr);
	if (st) {
		one_line(text);
		return ll_fail(err, errlen, "%s: iscsiadm exited %d: %.500s", what, st, text);
	}
	return 0;
}

static int set_node(const struct rd_link_ctx *c, const struct rd_link_req *r, const char *name,
		    const char *value, char *err, size_t errlen)
{
	char *args[] = { "-o", "update", "-n", (char *)name, "-v", (char *)value, NULL };
	char what[128];

	snprintf(what, sizeof(what), "setting %s of the node record", name);
	return node_cmd(c, r, what, args, err, errlen);
}

/* The node record (CHAP, manual scan), then the login. */
static int login(const struct rd_link_ctx *c, const struct rd_link_req *r, char *err,
		 size_t errlen)
{
	char *newrec[] = { "-o", "new", NULL };
	char *in[] = { "--login", NULL };
	bool chap = r->chap_user[0] != '\0';

	rd_info("link %s: logging in to %s at %s", r->volume, r->target, r->portal);
	/* the secret goes on iscsiadm's command line, as open-iscsi has no
	 * other way in; it is the host's own account, readable by root */
	char rt[16];

	snprintf(rt, sizeof(rt), "%u", c->replacement_timeout_s ? c->replacement_timeout_s : 5);
	if (node_cmd(c, r, "making the node record", newrec, err, errlen) ||
	    set_node(c, r, "node.session.scan", "manual", err, errlen) ||
	    /* a path of a volume that can move fails fast: the map queues
	     * and the next node's path takes over (doc/initiator.md) */
	    (r->multipath &&
	     (set_node(c, r, "node.session.timeo.replacement_timeout", rt, err, errlen) ||
	      set_node(c, r, "node.conn[0].timeo.noop_out_interval", "1", err, errlen) ||
	      set_node(c, r, "node.conn[0].timeo.noop_out_timeout", "2", err, errlen))) ||
	    set_node(c, r, "node.session.auth.authmethod", chap ? "CHAP" : "None", err, errlen) ||
	    (chap && (set_node(c, r, "node.session.auth.username", r->chap_user, err, errlen) ||
		      set_node(c, r, "node.session.auth.password", r->chap_secret, err, errlen))))
		return -1;
	return node_cmd(c, r, "login refused", in, err, errlen);
}

int rd_link_logout(const struct rd_link_ctx *c, const struct rd_link_req *r, char *err,
		  size_t errlen)
{
	char *out[] = { "--logout", NULL };
	char *del[] = { "-o", "delete", NULL };

	rd_info("%s %s: no disk left on %s at %s: logging out", r->unlink ? "unlink" : "link",
		r->volume, r->target, r->portal);
	if (node_cmd(c, r, "logout", out, err, errlen))
		return -1;
	return node_cmd(c, r, "deleting the node record", del, err, errlen);
}

/* ---- sysfs steps ---------------------------------------------------------------- */

/* What sits at an address, for a message: "sdd with WWID naa.6fff...". */
static void describe(const struct rd_env *env, const struct rd_hctl *h, char *out, size_t len)
{
	char hb[RD_HCTL_LEN];
	struct rd_sdev d;
	int rc = rd_sdev_read(env, h, &d, NULL, 0);

	rd_hctl_fmt(h, hb);
	if (rc <= 0)
		snprintf(out, len, "nothing at %s", hb);
	else if (!d.block[0])
		snprintf(out, len, "%s has no block device (state %s, WWID %s)", hb, d.state,
			 d.wwid[0] ? d.wwid : "none");
	else
		snprintf(out, len, "%s is %s with WWID %s", hb, d.block, d.wwid[0] ? d.wwid : "none");
}

bool rd_link_gone(const struct rd_link_ctx *c, const struct rd_hctl *h, uint64_t deadline)
{
	struct rd_sdev d;

	while (rd_sdev_read(c->env, h, &d, NULL, 0) > 0) {
		if (rd_link_now_ms() >= deadline)
			return false;
		nap(c);
	}
	return true;
}

/* A device at the LUN's address that is not the volume (a LUN number
 * reused): deleted, so the scan brings the volume as a new device. */
static int clear_address(const struct rd_link_ctx *c, const struct rd_link_req *r,
			 const struct rd_hctl *h, char *err, size_t errlen)
{
	char hb[RD_HCTL_LEN], why[512];
	struct rd_sdev d;
	int rc = rd_sdev_read(c->env, h, &d, err, errlen);

	if (rc <= 0 || rd_wwid_equal(d.wwid, r->wwid) || !d.wwid[0])
		return rc < 0 ? -1 : 0;
	rd_hctl_fmt(h, hb);
	rc = rd_device_in_use(c->env, &d, why, sizeof(why));
	if (rc)
		return ll_fail(err, errlen, "%s (%s) holds WWID %s, not the volume's %s, and %s: "
			       "not replaced", hb, d.block[0] ? d.block : "no block device", d.wwid,
			       r->wwid, rc > 0 ? why : "cannot tell whether it is in use");
	rd_notice("link %s: %s (%s) has WWID %s, left from another volume: deleting it", r->volume,
		  hb, d.block[0] ? d.block : "no block device", d.wwid);
	if (rd_sdev_delete(c->env, h, err, errlen))
		return -1;
	if (!rd_link_gone(c, h, rd_link_now_ms() + GONE_WAIT_MS))
		return ll_fail(err, errlen, "%s was deleted but is still there after %u ms", hb,
			       GONE_WAIT_MS);
	return 0;
}

/* The device to report for d: itself, or the multipath map over it. */
static void report_device(const struct rd_link_ctx *c, const struct rd_sdev *d,
			  const struct rd_link_req *r, struct rd_link_result *out)
{
	char dm[64], name[128], uuid[256];

	/* the manager's spelling of it: the same WWID (rd_wwid_equal), and
	 * the manager compares the strings */
	snprintf(out->wwid, sizeof(out->wwid), "%s", r->wwid[0] ? r->wwid : d->wwid);
	out->size = d->size;
	if (rd_multipath_holder(c->env, d->block, dm, sizeof(dm), name, sizeof(name), uuid,
				sizeof(uuid)) > 0) {
		snprintf(out->device, sizeof(out->device), "%s", dm);
		snprintf(out->multipath, sizeof(out->multipath), "%s", name);
		/* our own map has no udev: dmsetup made /dev/mapper/NAME */
		if (!strncmp(name, "lunlink-", 8))
			snprintf(out->by_id, sizeof(out->by_id), "/dev/mapper/%s", name);
		else
			snprintf(out->by_id, sizeof(out->by_id), "/dev/disk/by-id/dm-uuid-%s", uuid);
	} else {
		snprintf(out->device, sizeof(out->device), "%s", d->block);
		out->multipath[0] = '\0';
		rd_by_id_path(d->wwid, out->by_id, sizeof(out->by_id));
	}
}

#define ANY_HOST	UINT_MAX

/* The first device with the WWID that has its block device, on SCSI host
 * `host` (ANY_HOST: any), or NULL. */
static const struct rd_sdev *with_block(const struct rd_sdev *v, int n, unsigned int host)
{
	for (int i = 0; i < n; i++)
		if (v[i].block[0] && (host == ANY_HOST || v[i].hctl.host == host))
			return &v[i];
	return NULL;
}

bool rd_link_node(const struct rd_link_ctx *c, const char *node, const char *devnum, char *path,
		  size_t pathlen)
{
	unsigned int ma, mi;
	struct stat st;

	return (size_t)snprintf(path, pathlen, "%s/%s", c->env->dev, node) < pathlen &&
	       sscanf(devnum, "%u:%u", &ma, &mi) == 2 && !stat(path, &st) && S_ISBLK(st.st_mode) &&
	       major(st.st_rdev) == ma && minor(st.st_rdev) == mi;
}

/* The kernel drops its cached pages of a device at BLKFLSBUF, after
 * writing back the dirty ones (fsync).  No node (a test's tree): nothing
 * can be cached. */
void rd_link_flush(const struct rd_link_ctx *c, const char *node, const char *devnum)
{
	char path[PATH_MAX];
	int fd;

	if (!rd_link_node(c, node, devnum, path, sizeof(path)))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rd_warn("cannot open %s to flush it: %s", path, strerror(errno));
		return;
	}
	if (fsync(fd))
		rd_warn("fsync of %s: %s", path, strerror(errno));
	if (ioctl(fd, BLKFLSBUF, 0))
		rd_warn("BLKFLSBUF on %s: %s", path, strerror(errno));
	close(fd);
}

/* Does the session still have a disk (a device with a block device)? */
int rd_link_session_has_disk(const struct rd_env *env, const struct rd_session *s, char *err,
			    size_t errlen)
{
	struct rd_devtab t;
	int any = 0;

	if (rd_devtab_snapshot(env, s->host, &t, err, errlen))
		return -1;
	for (size_t i = 0; i < t.n && !any; i++)
		any = t.v[i].block[0] != '\0';
	rd_devtab_free(&t);
	return any;
}

static void finish_link(const struct rd_link_ctx *c, const struct rd_link_req *r,
			const struct rd_sdev *d, uint64_t t0, struct rd_link_result *out)
{
	char err[RD_LINK_ERR_MAX - 128];

	out->device_ms = (unsigned int)(rd_link_now_ms() - t0);
	if (d->size < r->size) {
		rd_link_fail(out, RD_LINK_FAILED, "%s has %" PRIu64 " bytes, less than the volume's %" PRIu64,
		     d->block, d->size, r->size);
		return;
	}
	if (r->multipath && rd_link_map_join(c, r, d, err, sizeof(err))) {
		rd_link_fail(out, RD_LINK_FAILED, "%s", err);
		return;
	}
	if (r->moved_from.target[0])
		rd_link_drop_old(c, r);
	report_device(c, d, r, out);
	out->state = RD_LINK_LINKED;
	out->error[0] = '\0';
	rd_info("link %s: %s%s%s, WWID %s, %" PRIu64 " bytes (login %u ms, scan %u ms, device %u ms)",
		r->volume, out->device, out->multipath[0] ? " multipath " : "", out->multipath,
		out->wwid, out->size, out->login_ms, out->scan_ms, out->device_ms);
}

void rd_link_do(const struct rd_link_ctx *c, const struct rd_link_req *r,
		struct rd_link_result *out)
{
	uint64_t t0 = rd_link_now_ms(), deadline, next_scan;
	unsigned int timeout_s = r->timeout_s ? r->timeout_s : 30, host;
	/* a volume that can move has a path on every node that served it:
	 * only the one on this entry's session is this entry's device */
	bool own = r->multipath || r->moved_from.target[0];
	struct rd_sdev found[MAX_PATHS];
	const struct rd_sdev *d;
	struct rd_session s;
	struct rd_hctl h;
	char err[RD_LINK_ERR_MAX - 128], spec[80], seen[512], hb[RD_HCTL_LEN];
	int n, rc;

	memset(out, 0, sizeof(*out));
	out->state = RD_LINK_WORKING;
	deadline = t0 + (uint64_t)timeout_s * 1000;

	/* 1. there already (the daemon restarted, the entry came again) */
	n = rd_find_by_wwid(c->env, r->wwid, found, MAX_PATHS, err, sizeof(err));
	if (n < 0) {
		rd_link_fail(out, RD_LINK_FAILED, "%s", err);
		return;
	}
	if (!own && (d = with_block(found, n, ANY_HOST))) {
		finish_link(c, r, d, t0, out);
		return;
	}

	/* 2. the session */
	rc = rd_session_find(c->env, r->target, r->portal, &s, err, sizeof(err));
	if (rc < 0) {
		rd_link_fail(out, RD_LINK_FAILED, "%s", err);
		return;
	}
	if (!rc) {
		if (login(c, r, err, sizeof(err))) {
			rd_link_fail(out, RD_LINK_FAILED, "login to %s at %s: %s", r->target, r->portal, err);
			return;
		}
		/* iscsiadm returns once the session is up; sysfs shows it then */
		while ((rc = rd_session_find(c->env, r->target, r->portal, &s, err, sizeof(err))) == 0 &&
		       rd_link_now_ms() < deadline)
			nap(c);
		if (rc <= 0) {
			rd_link_fail(out, RD_LINK_FAILED, "logged in to %s at %s, but %s", r->target, r->portal,
			     rc < 0 ? err : "no such iSCSI session shows in sysfs");
			return;
		}
		out->login_ms = (unsigned int)(rd_link_now_ms() - t0);
	} else if (r->multipath) {
		rd_link_tune_session(c, r, &s);
	}
	host = own ? s.host : ANY_HOST;

	/* 3. and 4. the LUN's address, cleared, and scanned */
	h.host = s.host;
	h.lun = r->lun;
	rd_session_ids(c->env, &s, &h.channel, &h.target);
	rd_hctl_fmt(&h, hb);
	rd_link_busy(c, s.host, true);
	if (own && (d = with_block(found, n, host))) {
		finish_link(c, r, d, t0, out);
		goto out;
	}
	if (clear_address(c, r, &h, err, sizeof(err))) {
		rd_link_fail(out, RD_LINK_FAILED, "%s", err);
		goto out;
	}
	snprintf(spec, sizeof(spec), "%u %u %" PRIu64, h.channel, h.target, h.lun);
	if (rd_host_scan(c->env, s.host, spec, err, sizeof(err))) {
		rd_link_fail(out, RD_LINK_FAILED, "the scan of LUN %" PRIu64 ": %s", r->lun, err);
		goto out;
	}
	out->scan_ms = (unsigned int)(rd_link_now_ms() - t0);
	next_scan = rd_link_now_ms() + RESCAN_EVERY_MS;

	/* 5. the device */
	for (;;) {
		n = rd_find_by_wwid(c->env, r->wwid, found, MAX_PATHS, err, sizeof(err));
		if (n < 0) {
			rd_link_fail(out, RD_LINK_FAILED, "%s", err);
			goto out;
		}
		if ((d = with_block(found, n, host))) {
			finish_link(c, r, d, t0, out);
			goto out;
		}
		if (rd_link_now_ms() >= deadline)
			break;
		if (rd_link_now_ms() >= next_scan) {
			/* the LUN may have come after our scan (a slow target);
			 * a device that sits there with another WWID is not ours */
			if (clear_address(c, r, &h, err, sizeof(err))) {
				rd_link_fail(out, RD_LINK_FAILED, "%s", err);
				goto out;
			}
			if (rd_host_scan(c->env, s.host, spec, err, sizeof(err)))
				rd_warn("link %s: scanning LUN %" PRIu64 " again: %s", r->volume, r->lun,
					err);
			next_scan = rd_link_now_ms() + RESCAN_EVERY_MS;
		}
		nap(c);
	}
	describe(c->env, &h, seen, sizeof(seen));
	rd_link_fail(out, RD_LINK_FAILED, "no block device with WWID %s %u s after the scan of host%u "
	     "(LUN %" PRIu64 " of session %u: %s)", r->wwid, timeout_s, s.host, r->lun, s.sid, seen);
out:
	rd_link_busy(c, s.host, false);
	if (out->state == RD_LINK_FAILED)
		rd_warn("link %s: %s", r->volume, out->error);
}

/* ---- unlink ----------------------------------------------------------------------- */

void rd_unlink_do(const struct rd_link_ctx *c, const struct rd_link_req *r,
		  struct rd_link_result *out)
{
	uint64_t deadline = rd_link_now_ms() + (uint64_t)(r->timeout_s ? r->timeout_s : 30) * 1000;
	struct rd_sdev found[MAX_PATHS];
	struct rd_session s;
	char err[RD_LINK_ERR_MAX - 128], why[512], hb[RD_HCTL_LEN];
	int n, rc;

	memset(out, 0, sizeof(*out));
	out->state = RD_LINK_WORKING;
	snprintf(out->wwid, sizeof(out->wwid), "%s", r->wwid);
	/* the volume's map first: it holds the paths */
	if (rd_link_unmap(c, r, out))
		return;
	n = rd_find_by_wwid(c->env, r->wwid, found, MAX_PATHS, err, sizeof(err));
	if (n < 0) {
		rd_link_fail(out, RD_LINK_FAILED, "%s", err);
		return;
	}
	/* every path is checked before any is deleted: all or nothing */
	for (int i = 0; i < n && !r->force; i++) {
		rc = rd_device_in_use(c->env, &found[i], why, sizeof(why));
		if (rc) {
			report_device(c, &found[i], r, out);
			rd_link_fail(out, RD_LINK_LINKED, "%s is in use: %s", found[i].block,
			     rc > 0 ? why : "cannot tell whether it is in use");
			rd_notice("unlink %s refused: %s", r->volume, out->error);
			return;
		}
	}
	for (int i = 0; i < n; i++) {
		rd_hctl_fmt(&found[i].hctl, hb);
		if (found[i].block[0])
			rd_link_flush(c, found[i].block, found[i].devnum);
		rd_info("unlink %s: deleting %s (%s)%s", r->volume, hb,
			found[i].block[0] ? found[i].block : "no block device",
			r->force ? ", forced" : "");
		rd_link_busy(c, found[i].hctl.host, true);
		rc = rd_sdev_delete(c->env, &found[i].hctl, err, sizeof(err));
		if (!rc && !rd_link_gone(c, &found[i].hctl, deadline))
			rc = ll_fail(err, sizeof(err), "%s was deleted but is still there", hb);
		rd_link_busy(c, found[i].hctl.host, false);
		if (rc) {
			rd_link_fail(out, RD_LINK_FAILED, "%s", err);
			return;
		}
	}
	out->state = RD_LINK_UNLINKED;
	rc = rd_session_find(c->env, r->target, r->portal, &s, err, sizeof(err));
	if (rc > 0)
		rc = rd_link_session_has_disk(c->env, &s, err, sizeof(err)) == 0 ? 1 : 0;
	/* the device is gone, which is what the manager waits for: a logout
	 * that fails is said, not a failure of the unlink */
	if (rc > 0 && rd_link_logout(c, r, err, sizeof(err)))
		rc = -1;
	if (rc < 0) {
		snprintf(out->error, sizeof(out->error), "the device is gone, but: %s", err);
		rd_warn("unlink %s: %s", r->volume, out->error);
	}
	rd_info("unlink %s: done", r->volume);
}
