// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reconcile.h: one rescan of an iSCSI session (or of one device) and the
 * reconciliation that follows it: what is new, what changed size, and
 * which devices must go because the target no longer has their LUN or
 * because their LUN number now holds other data (a WWID that changed
 * under the same H:C:T:L).  A device in use is never deleted: it is
 * "kept", with what holds it.
 *
 * The order, for a session:
 *   1. "- - -" to the host's scan (new LUNs), unless env->host_scan is off;
 *   2. "1" to the rescan of every device that was there (sizes, VPD pages:
 *      the kernel re-reads the WWID), unless env->rescan_existing is off;
 *   3. the target's LUN list (env->report_luns) against what sysfs shows;
 *   4. delete what is stale and free; a reused LUN number is probed again
 *      ("C T L" to scan) so its new content comes back as a new device.
 * "before" is what the caller knew (the daemon: its last look at the
 * host); NULL means "look now, before scanning".
 */
#ifndef LUNLINK_RESCAND_RECONCILE_H
#define LUNLINK_RESCAND_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

enum rd_change_kind {
	RD_CH_NEW,	/* a device that was not there */
	RD_CH_RESIZED,	/* old_size -> dev.size */
	RD_CH_REMOVED,	/* deleted by us, or gone from sysfs; why says which */
	RD_CH_KEPT,	/* stale but in use: not deleted; why says both */
	RD_CH_ERROR,	/* a step failed; why says which and how */
};

struct rd_change {
	enum rd_change_kind kind;
	unsigned int sid;	/* the session, 0 if unknown */
	struct rd_sdev dev;	/* as it is now, or as it was when removed */
	uint64_t old_size;
	char why[768];
};

struct rd_changes {
	struct rd_change *v;
	size_t n, cap;
	unsigned int errors, kept;
};

int rd_rescan_session(const struct rd_env *env, const struct rd_session *s,
		      const struct rd_devtab *before, struct rd_changes *out);

/* The same without step 1: for when someone else (iscsid) has just
 * scanned, or the target's LUN set changed and a scan would add nothing.
 * If the target reports a LUN that has no device, the host is scanned
 * once after all (unless env->host_scan is off), before step 4. */
int rd_reconcile_session(const struct rd_env *env, const struct rd_session *s,
			 const struct rd_devtab *before, struct rd_changes *out);

/* A capacity change: rescan one device and say how its size changed. */
int rd_rescan_device(const struct rd_env *env, const struct rd_session *s,
		     const struct rd_hctl *h, const struct rd_sdev *before,
		     struct rd_changes *out);

/* Compare the target's LUN list with the devices present: true if a LUN
 * the target reports has no device or a device has no LUN (the periodic
 * check's question).  Unknown list: false, with the reason in err. */
bool rd_luns_differ(const struct rd_env *env, const struct rd_session *s,
		    const struct rd_devtab *present, char *err, size_t errlen);

void rd_changes_free(struct rd_changes *c);

const char *rd_change_kind_name(enum rd_change_kind k);

#endif
