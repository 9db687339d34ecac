// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sysfs.h: the kernel's view of iSCSI sessions and SCSI devices, read from
 * sysfs under a root that is a setting (tests point it at a fake tree),
 * and the three writes lunlink-rescand makes: a host scan, a device rescan
 * and a device delete.
 *
 * What is read (paths relative to the root, "/sys" on a real host):
 *   class/iscsi_session/sessionS          -> .../hostH/sessionS/...: S and H
 *   class/iscsi_session/sessionS/targetname
 *   class/iscsi_connection/connectionS:C/persistent_address, _port
 *   class/scsi_device/H:C:T:L/device/     state, wwid (or vpd_pg83), block/NAME
 *   block/NAME/                           size (512-byte sectors), dev, holders/
 * What is written:
 *   class/scsi_host/hostH/scan            "C T L" ("- - -": every LUN)
 *   class/scsi_device/H:C:T:L/device/rescan, .../delete   "1"
 *
 * struct rd_env carries the roots and the two things tests replace: what
 * the target's LUN list is (real hosts: REPORT LUNS through SG_IO), and
 * what "the kernel" does after a write (real hosts: nothing to do).
 */
#ifndef LUNLINK_RESCAND_SYSFS_H
#define LUNLINK_RESCAND_SYSFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hctl.h"

#define RD_TARGET_LEN	224	/* an iSCSI name is at most 223 bytes */

struct rd_session {
	unsigned int sid;		/* sessionS */
	unsigned int host;		/* hostH */
	char target[RD_TARGET_LEN];	/* targetname */
	char portal[80];		/* "addr:port" or "[v6addr]:port", "" if unknown */
};

struct rd_sdev {
	struct rd_hctl hctl;
	char state[32];		/* "running", "offline", ... */
	char wwid[256];		/* wwid, or "vpd83:" hex, or "" */
	char block[32];		/* "sdb", or "" for no block device (LUN 0 controller) */
	char devnum[24];	/* "8:16", or "" */
	uint64_t size;		/* bytes, 0 without a block device */
};

/* The devices of one SCSI host, sorted by H:C:T:L. */
struct rd_devtab {
	struct rd_sdev *v;
	size_t n, cap;
};

/* The LUN numbers a target reports (REPORT LUNS), as the kernel numbers
 * them in H:C:T:L (scsilun_to_int). */
struct rd_lunlist {
	uint64_t *v;
	size_t n;
};

struct rd_env;

typedef int (*rd_report_luns_fn)(const struct rd_env *env, const struct rd_session *s,
				 const struct rd_devtab *present, struct rd_lunlist *out,
				 char *err, size_t errlen);
typedef void (*rd_kernel_hook_fn)(const struct rd_env *env, const char *path,
				  const char *value);

struct rd_env {
	char sysfs[PATH_MAX];		/* "/sys" */
	char dev[PATH_MAX];		/* "/dev": device nodes for SG_IO and O_EXCL */
	char mountinfo[PATH_MAX];	/* "/proc/self/mountinfo" */
	char swaps[PATH_MAX];		/* "/proc/swaps": its entries under dev count */

	bool dry_run;			/* say what would be written, write nothing */
	bool host_scan;			/* write "- - -" to the host's scan */
	bool rescan_existing;		/* write 1 to every existing device's rescan */
	bool remove_stale;		/* delete LUNs the target no longer reports */
	bool remove_wwid_changed;	/* delete a LUN whose WWID changed */
	unsigned int scan_grace_ms;	/* a reconcile first waits this long for
					 * someone else's scan (iscsid's) to add a
					 * LUN that has no device: 0 = scan at once */

	rd_report_luns_fn report_luns;	/* rd_report_luns_sgio on real hosts */
	const char *fake_luns_dir;	/* for rd_report_luns_fake */
	rd_kernel_hook_fn kernel_hook;	/* NULL on real hosts */
	const char *test_kernel_cmd;	/* for rd_kernel_hook_cmd */
	void *test_ctx;			/* for a unit test's own hooks */
};

/* Defaults for a real host: /sys, /dev, SG_IO, every action on. */
void rd_env_default(struct rd_env *env);

/* The first entry of a folder, dot files aside, or "" (out holds outlen). */
void rd_first_entry(const char *dir, char *out, size_t outlen);

/* Path under the root: 0, or -1 (and err) if it does not fit. */
int rd_path(const struct rd_env *env, char *out, size_t outlen, char *err,
	    size_t errlen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Read a small attribute, whitespace trimmed at the end.  0, or -1 with
 * errno set (ENAMETOOLONG never; EFBIG if it does not fit). */
int rd_read_attr(const char *path, char *buf, size_t len);

/* Every iSCSI session, sorted by session number.  0, or -1 and err (a
 * system with no iSCSI sessions at all has an empty list, not an error). */
int rd_sessions_list(const struct rd_env *env, struct rd_session **out, size_t *n,
		     char *err, size_t errlen);
/* The session of SCSI host `host`: 1 found, 0 not an iSCSI host, -1 err. */
int rd_session_of_host(const struct rd_env *env, unsigned int host, struct rd_session *out,
		       char *err, size_t errlen);

/* The devices of a host as sysfs shows them now. */
int rd_devtab_snapshot(const struct rd_env *env, unsigned int host, struct rd_devtab *t,
		       char *err, size_t errlen);
const struct rd_sdev *rd_devtab_find(const struct rd_devtab *t, const struct rd_hctl *h);
int rd_devtab_add(struct rd_devtab *t, const struct rd_sdev *d);
void rd_devtab_free(struct rd_devtab *t);
/* One device, 1 present, 0 absent, -1 err. */
int rd_sdev_read(const struct rd_env *env, const struct rd_hctl *h, struct rd_sdev *d,
		 char *err, size_t errlen);

/* The writes.  Each returns 0, or -1 with err naming the file and why.
 * spec for rd_host_scan: "- - -", or "C T L". */
int rd_host_scan(const struct rd_env *env, unsigned int host, const char *spec,
		 char *err, size_t errlen);
int rd_sdev_rescan(const struct rd_env *env, const struct rd_hctl *h, char *err, size_t errlen);
int rd_sdev_delete(const struct rd_env *env, const struct rd_hctl *h, char *err, size_t errlen);
/* Any other attribute, path made with rd_path (a session's recovery_tmo,
 * a module parameter). */
int rd_attr_write(const struct rd_env *env, const char *path, const char *value, char *err,
		  size_t errlen);

/* The --test-kernel hook: runs env->test_kernel_cmd PATH VALUE and waits. */
void rd_kernel_hook_cmd(const struct rd_env *env, const char *path, const char *value);

void rd_lunlist_free(struct rd_lunlist *l);
bool rd_lunlist_has(const struct rd_lunlist *l, uint64_t lun);

/* prefix and the digits of an NAA WWID ("naa.HEX") in lower case, in out,
 * the way udev and multipath-tools spell a disk's names: true; a WWID that
 * is not NAA: false, out "". */
bool rd_wwid_naa(const char *wwid, const char *prefix, char *out, size_t outlen);

#endif
