// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * link_move.c: the part of a link that is for a volume that can move
 * between nodes ("multipath": true, "moved_from"; doc/link.md, "When a
 * volume moves"): its sessions fail fast, its paths sit behind a map of
 * our own (mpath.h), a move puts the new path first and, once it serves,
 * takes the old one out, deletes it and logs out of its session; unlink
 * removes the map before the paths.  link.c calls these at its steps.
 */
#include "link_int.h"
#include "holders.h"
#include "log.h"
#include "lunlink/errmsg.h"
#include "mpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A session of a volume that can move fails fast: its recovery timeout
 * (replacement_timeout) set on a session there before (a login makes
 * the node record with it).  Best effort: the link works without it. */
void rd_link_tune_session(const struct rd_link_ctx *c, const struct rd_link_req *r,
			 const struct rd_session *s)
{
	char path[PATH_MAX], now[32], want[32], err[512];

	snprintf(want, sizeof(want), "%u", c->replacement_timeout_s ? c->replacement_timeout_s : 5);
	if (rd_path(c->env, path, sizeof(path), NULL, 0, "class/iscsi_session/session%u/recovery_tmo",
		    s->sid) || (!rd_read_attr(path, now, sizeof(now)) && !strcmp(now, want)))
		return;
	if (rd_attr_write(c->env, path, want, err, sizeof(err)))
		rd_warn("link %s: session %u keeps its recovery timeout: %s", r->volume, s->sid, err);
}

/* One direct read of the path's first 4 KiB: the node serves it.  No node
 * under the dev root (a test's tree): nothing to read, taken as served. */
static int read_path(const struct rd_link_ctx *c, const struct rd_sdev *d, char *err,
		     size_t errlen)
{
	char path[PATH_MAX];
	void *buf;
	ssize_t got;
	int fd;

	if (!rd_link_node(c, d->block, d->devnum, path, sizeof(path)))
		return 0;
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return ll_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (posix_memalign(&buf, 4096, 4096)) {
		close(fd);
		return ll_fail(err, errlen, "out of memory");
	}
	got = pread(fd, buf, 4096, 0);
	free(buf);
	close(fd);
	if (got != 4096)
		return ll_fail(err, errlen, "a read of %s failed: %s", path,
			       got < 0 ? strerror(errno) : "short read");
	return 0;
}

/* The devices of the volume on the session the entry says it moved from
 * go: out of the map (map_join did that), deleted, and the session logged
 * out when it has no disk left.  A device in use (only without a map: a
 * map's paths are held by nothing else) stays, said.  Each failure is
 * said, not the link's: the volume is served through its new path. */
void rd_link_drop_old(const struct rd_link_ctx *c, const struct rd_link_req *r)
{
	struct rd_sdev found[MAX_PATHS];
	struct rd_link_req old = *r;
	struct rd_session s;
	char err[RD_LINK_ERR_MAX - 128], why[512], hb[RD_HCTL_LEN];
	int n, rc = rd_session_find(c->env, r->moved_from.target, r->moved_from.portal, &s, err,
				    sizeof(err));

	if (rc <= 0) {
		if (rc < 0)
			rd_warn("link %s: the old session: %s", r->volume, err);
		return;		/* logged out already: its devices went with it */
	}
	n = rd_find_by_wwid(c->env, r->wwid, found, MAX_PATHS, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		if (found[i].hctl.host != s.host)
			continue;
		rd_hctl_fmt(&found[i].hctl, hb);
		if (found[i].block[0] && rd_device_in_use(c->env, &found[i], why, sizeof(why))) {
			rd_notice("link %s: the old path %s (%s) stays: %s", r->volume, hb,
				  found[i].block, why);
			continue;
		}
		rd_info("link %s: moved from %s at %s: deleting the old path %s (%s)", r->volume,
			r->moved_from.target, r->moved_from.portal, hb,
			found[i].block[0] ? found[i].block : "no block device");
		rd_link_busy(c, s.host, true);
		rc = rd_sdev_delete(c->env, &found[i].hctl, err, sizeof(err));
		if (!rc && !rd_link_gone(c, &found[i].hctl, rd_link_now_ms() + GONE_WAIT_MS))
			rc = ll_fail(err, sizeof(err), "%s was deleted but is still there", hb);
		rd_link_busy(c, s.host, false);
		if (rc)
			rd_warn("link %s: the old path: %s", r->volume, err);
	}
	if (rd_link_session_has_disk(c->env, &s, err, sizeof(err)))
		return;
	snprintf(old.target, sizeof(old.target), "%s", r->moved_from.target);
	snprintf(old.portal, sizeof(old.portal), "%s", r->moved_from.portal);
	old.unlink = false;
	if (rd_link_logout(c, &old, err, sizeof(err)))
		rd_warn("link %s: the old session: %s", r->volume, err);
}

/*
 * The volume's map over its paths, d (this entry's) in the first group,
 * every other path with the WWID a standby group.  Moved: once d serves
 * (a direct read through it, and the map shows it active), the paths of
 * the old session leave the table.  0, or -1 with err.
 */
int rd_link_map_join(const struct rd_link_ctx *c, const struct rd_link_req *r,
		    const struct rd_sdev *d, char *err, size_t errlen)
{
	const struct rd_dmsetup ds = { c->dmsetup ? c->dmsetup : "dmsetup", c->iscsiadm_timeout_s };
	const char *devs[RD_MAP_PATHS_MAX];
	char name[RD_MAP_NAME_MAX], uuid[160], table[RD_MAP_TABLE_MAX], why[512];
	struct rd_sdev found[MAX_PATHS];
	struct rd_session old;
	bool moved = r->moved_from.target[0] != '\0';
	int n, has_old = 0;
	size_t np = 0, all;
	char st;

	rd_map_name(r->volume, name, sizeof(name));
	rd_map_uuid(r->wwid, name, uuid, sizeof(uuid));
	n = rd_find_by_wwid(c->env, r->wwid, found, MAX_PATHS, err, errlen);
	if (n < 0)
		return -1;
	if (moved && (has_old = rd_session_find(c->env, r->moved_from.target, r->moved_from.portal,
						&old, why, sizeof(why))) < 0)
		rd_warn("link %s: the old session: %s", r->volume, why);
	devs[np++] = d->devnum;
	/* the others: standby groups, the old session's last */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n && np < RD_MAP_PATHS_MAX; i++) {
			bool is_old = has_old > 0 && found[i].hctl.host == old.host;

			if (!found[i].block[0] || !found[i].devnum[0] ||
			    !rd_hctl_cmp(&found[i].hctl, &d->hctl) || is_old != (pass == 1))
				continue;
			devs[np++] = found[i].devnum;
		}
	all = np;
	if (rd_map_table(d->size / 512, devs, np, table, sizeof(table)))
		return ll_fail(err, errlen, "the table of map %s does not fit", name);
	if (rd_map_set(&ds, name, uuid, table, err, errlen))
		return -1;
	if (rd_map_queue_timeout(c->env, c->map_queue_s ? c->map_queue_s : 60, why, sizeof(why)))
		rd_warn("link %s: map %s may queue I/O with no path for ever: %s", r->volume, name, why);
	if (!moved)
		return 0;

	if (read_path(c, d, why, sizeof(why)))
		return ll_fail(err, errlen, "the new path %s does not serve: %s; map %s keeps the old "
			       "one", d->block, why, name);
	st = rd_map_path_state(&ds, name, d->devnum, why, sizeof(why));
	if (st != 'A')
		return ll_fail(err, errlen, "the new path %s (%s) is %s in map %s%s%s", d->block,
			       d->devnum, st == 'F' ? "failed" : "not active", name, st ? "" : ": ",
			       st ? "" : why);
	/* the old session's paths were put last: the table without them */
	if (has_old > 0) {
		np = 0;
		devs[np++] = d->devnum;
		for (int i = 0; i < n && np < RD_MAP_PATHS_MAX; i++)
			if (found[i].block[0] && found[i].devnum[0] &&
			    rd_hctl_cmp(&found[i].hctl, &d->hctl) && found[i].hctl.host != old.host)
				devs[np++] = found[i].devnum;
		if (np < all && (rd_map_table(d->size / 512, devs, np, table, sizeof(table)) ||
				 rd_map_set(&ds, name, uuid, table, err, errlen)))
			return -1;
	}
	return 0;
}

/* The volume's map (whether or not the entry says multipath: a map made
 * for it before is its own), unless in use and not forced: then out says
 * what holds it, the link stays.  Flushed, then removed.  0 gone (or none),
 * -1 out filled (refused or failed). */
int rd_link_unmap(const struct rd_link_ctx *c, const struct rd_link_req *r,
		 struct rd_link_result *out)
{
	const struct rd_dmsetup ds = { c->dmsetup ? c->dmsetup : "dmsetup", c->iscsiadm_timeout_s };
	char name[RD_MAP_NAME_MAX], err[RD_LINK_ERR_MAX - 128], why[512];
	struct rd_sdev md = { 0 };
	struct rd_map m;
	int rc;

	rd_map_name(r->volume, name, sizeof(name));
	rc = rd_map_find(c->env, name, &m, err, sizeof(err));
	if (rc <= 0) {
		if (rc < 0)
			rd_link_fail(out, RD_LINK_FAILED, "%s", err);
		return rc;
	}
	snprintf(md.block, sizeof(md.block), "%s", m.dm);
	snprintf(md.devnum, sizeof(md.devnum), "%s", m.devnum);
	if (!r->force && (rc = rd_device_in_use(c->env, &md, why, sizeof(why)))) {
		snprintf(out->device, sizeof(out->device), "%s", m.dm);
		snprintf(out->multipath, sizeof(out->multipath), "%s", name);
		snprintf(out->by_id, sizeof(out->by_id), "/dev/mapper/%s", name);
		rd_link_fail(out, RD_LINK_LINKED, "%s (map %s) is in use: %s", m.dm, name,
		     rc > 0 ? why : "cannot tell whether it is in use");
		rd_notice("unlink %s refused: %s", r->volume, out->error);
		return -1;
	}
	/* its node is /dev/mapper/NAME (dmsetup made it, no udev) */
	snprintf(why, sizeof(why), "mapper/%s", name);
	rd_link_flush(c, why, m.devnum);
	if (rd_map_remove(&ds, name, err, sizeof(err))) {
		rd_link_fail(out, RD_LINK_FAILED, "removing map %s (%s): %s", name, m.dm, err);
		return -1;
	}
	return 0;
}

