/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_sysfs.h: the builders of a fake sysfs tree, shaped like the
 * kernel's, that the rescand unit tests (rescand-sysfs.c, rescand-link.c)
 * point their struct rd_env at: iSCSI sessions with their connection and
 * scsi_host, scsi_device entries with their block devices.  The tree lives
 * in fake_root, a scratch folder (scratch.h) removed when the test exits.
 *
 * Header only: include it once per test program, after tap.h.  What only
 * one test needs (partitions, device-mapper holders, a fake iscsiadm)
 * stays in that test.
 */
#ifndef LUNLINK_FAKE_SYSFS_H
#define LUNLINK_FAKE_SYSFS_H

#include "scratch.h"
#include "sysfs.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fake_root[512];	/* short: tests build paths on it in fixed buffers */

/* Make the tree's folder (a scratch folder named after the test). */
static inline void fake_sysfs_init(const char *what)
{
	const char *dir = scratch_dir(what);

	if (strlen(dir) >= sizeof(fake_root)) {
		printf("1..0 # SKIP the scratch folder %s is too long for the fake tree (%zu "
		       "bytes at most): set TMPDIR to a shorter folder\n", dir,
		       sizeof(fake_root) - 1);
		exit(0);
	}
	memcpy(fake_root, dir, strlen(dir) + 1);
}

/* root/FMT, formatted; the result lives until the next call */
static inline const char *fake_at(const char *fmt, va_list ap)
{
	static char p[PATH_MAX * 2];
	int n = snprintf(p, sizeof(p), "%s/", fake_root);

	vsnprintf(p + n, sizeof(p) - (size_t)n, fmt, ap);
	return p;
}

static inline void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void sh(const char *fmt, ...)
{
	char cmd[PATH_MAX * 3];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		diag("failed: %s", cmd);
}

static inline void mkdirs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void mkdirs(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sh("mkdir -p '%s'", fake_at(fmt, ap));
	va_end(ap);
}

static inline void put(const char *content, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void put(const char *content, const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	f = fopen(fake_at(fmt, ap), "w");
	va_end(ap);
	if (!f) {
		diag("cannot write: %s", strerror(errno));
		return;
	}
	fputs(content, f);
	fclose(f);
}

/* the file's content (up to 4 KiB), NULL if it cannot be read */
static inline const char *get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *get(const char *fmt, ...)
{
	static char buf[4096];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	f = fopen(fake_at(fmt, ap), "r");
	va_end(ap);
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* symlink root/LINK -> root/TARGET */
static inline void link_at(const char *target, const char *link)
{
	char t[PATH_MAX * 2], l[PATH_MAX * 2];

	snprintf(t, sizeof(t), "%s/%s", fake_root, target);
	snprintf(l, sizeof(l), "%s/%s", fake_root, link);
	if (symlink(t, l))
		diag("symlink %s: %s", l, strerror(errno));
}

/* Empty the tree; leave deleted/ (where kernel hooks move deleted
 * devices) and an empty mountinfo. */
static inline void fake_tree_clear(void)
{
	sh("rm -rf '%s'/*", fake_root);
	mkdirs("deleted");
	put("", "mountinfo");
}

/* iSCSI session SID on scsi host HOST, its connection to ADDR:PORT, and
 * the class/ links to them */
static inline void fake_session(unsigned int sid, unsigned int host, const char *target,
				const char *addr, const char *port)
{
	char h[128], p[512], l[256];

	snprintf(h, sizeof(h), "devices/platform/host%u", host);
	mkdirs("%s/session%u/iscsi_session/session%u", h, sid, sid);
	mkdirs("%s/session%u/connection%u:0/iscsi_connection/connection%u:0", h, sid, sid, sid);
	mkdirs("%s/scsi_host/host%u", h, host);
	mkdirs("class/iscsi_session");
	mkdirs("class/iscsi_connection");
	mkdirs("class/scsi_host");
	mkdirs("class/scsi_device");
	mkdirs("block");
	put(target, "%s/session%u/iscsi_session/session%u/targetname", h, sid, sid);
	put(addr, "%s/session%u/connection%u:0/iscsi_connection/connection%u:0/persistent_address",
	    h, sid, sid, sid);
	put(port, "%s/session%u/connection%u:0/iscsi_connection/connection%u:0/persistent_port",
	    h, sid, sid, sid);
	put("", "%s/scsi_host/host%u/scan", h, host);
	snprintf(p, sizeof(p), "%s/session%u/iscsi_session/session%u", h, sid, sid);
	snprintf(l, sizeof(l), "class/iscsi_session/session%u", sid);
	link_at(p, l);
	snprintf(p, sizeof(p), "%s/session%u/connection%u:0/iscsi_connection/connection%u:0", h,
		 sid, sid, sid);
	snprintf(l, sizeof(l), "class/iscsi_connection/connection%u:0", sid);
	link_at(p, l);
	snprintf(p, sizeof(p), "%s/scsi_host/host%u", h, host);
	snprintf(l, sizeof(l), "class/scsi_host/host%u", host);
	link_at(p, l);
}

/* the scsi_device's folder under devices/, relative to the root */
static inline char *sdev_dir(unsigned int sid, const char *hctl)
{
	static char d[256];
	struct rd_hctl h;

	rd_hctl_parse(hctl, &h);
	snprintf(d, sizeof(d), "devices/platform/host%u/session%u/target%u:%u:%u/%s", h.host, sid,
		 h.host, h.channel, h.target, hctl);
	return d;
}

/* wwid NULL: no wwid file; name NULL: no block device (a LUN 0 controller) */
static inline void fake_sdev(unsigned int sid, const char *hctl, const char *wwid,
			     const char *name, const char *sectors, const char *devnum)
{
	char d[256], p[512], l[256];

	snprintf(d, sizeof(d), "%s", sdev_dir(sid, hctl));
	mkdirs("%s/scsi_device/%s", d, hctl);
	put("running\n", "%s/state", d);
	if (wwid)
		put(wwid, "%s/wwid", d);
	put("", "%s/rescan", d);
	put("", "%s/delete", d);
	snprintf(p, sizeof(p), "%s/scsi_device/%s/device", d, hctl);
	link_at(d, p);
	snprintf(p, sizeof(p), "%s/scsi_device/%s", d, hctl);
	snprintf(l, sizeof(l), "class/scsi_device/%s", hctl);
	link_at(p, l);
	if (!name)
		return;
	mkdirs("%s/block/%s/holders", d, name);
	put(sectors, "%s/block/%s/size", d, name);
	put(devnum, "%s/block/%s/dev", d, name);
	snprintf(p, sizeof(p), "%s/block/%s", d, name);
	snprintf(l, sizeof(l), "block/%s", name);
	link_at(p, l);
}

#endif
