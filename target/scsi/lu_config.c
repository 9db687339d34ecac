// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lu_config.c: lunlink's keys for `tgtadm --op update --mode logicalunit
 * --params`, on top of tgt's own (which tgt's lu_config still handles).
 *
 *   resize=reread   take the image's new size, after the operator grew the
 *                   file or the block device;
 *   resize=SIZE     grow the image file to SIZE (sparse) and take it;
 *   fault=none|read|write|both|write-all|meta-write|flush|slow-resync
 *                   make local reads and/or writes fail with EIO, for tests;
 *   lease=EPOCH:VALID_MS[:GENERATION], lease=release
 *                   grant, renew or drop the write-ownership lease of a
 *                   LUN made with lease=on (mirror/lease.c).
 *
 * A resize changes the LUN's capacity at once and queues UNIT ATTENTION
 * 2A/09 CAPACITY DATA HAS CHANGED on every I_T nexus of the LUN.  A LUN is
 * never shrunk: the data past the new end would vanish under a running
 * file system.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lunlink.h"
#include "spc.h"

#define ASC_CAPACITY_DATA_HAS_CHANGED	0x2a09

static const char *fault_name(enum ll_fault f)
{
	static const char *names[] = {
		[LL_FAULT_NONE] = "none",
		[LL_FAULT_READ] = "read",
		[LL_FAULT_WRITE] = "write",
		[LL_FAULT_BOTH] = "both",
		[LL_FAULT_SLOW_RESYNC] = "slow-resync (each resync copy waits 100 ms between "
					 "its local read and its write to the leg)",
		[LL_FAULT_WRITE_ALL] = "write-all (every local write fails, a mirror's own "
				       "metadata too)",
		[LL_FAULT_META] = "meta-write (a mirror's own metadata writes fail, its data "
				  "writes do not)",
		[LL_FAULT_FLUSH] = "flush (SYNCHRONIZE CACHE fails, reads and writes do not)",
	};

	return (unsigned int)f < sizeof(names) / sizeof(names[0]) && names[f] ? names[f] : "?";
}

/* resize=: the top layer grows (or rereads its store); then the LUN takes
 * the new size and every initiator is told. */
static tgtadm_err resize(struct ll_lu *l, int grow, uint64_t want)
{
	struct scsi_lu *lu = l->lu;
	struct ll_layer *top = l->top;
	uint64_t cur = lu->size, now;
	int ret;

	if (!top->ops->resize) {
		ll_err(l, "resize refused: this LUN's %s layer cannot change size\n",
		       top->ops->name);
		return TGTADM_INVALID_REQUEST;
	}
	ret = top->ops->resize(top, grow, want, &now);
	if (ret == LL_RESIZE_REFUSED)
		return TGTADM_INVALID_REQUEST;
	if (ret == LL_RESIZE_SAME)
		return TGTADM_SUCCESS;
	lu->size = now;
	ua_sense_add_other_it_nexus(0, lu, ASC_CAPACITY_DATA_HAS_CHANGED);
	ll_info(l, "capacity changed from %" PRIu64 " to %" PRIu64 " bytes; UNIT ATTENTION "
		"2A/09 queued for every I_T nexus\n", cur, now);
	return TGTADM_SUCCESS;
}

/* A mirror command is refused, saying why, on a LUN with no mirror=. */
static int not_mirrored(struct ll_lu *l, const char *key)
{
	if (l->nmirrors)
		return 0;
	ll_err(l, "%s refused: this LUN is not mirrored (it has no mirror= option)\n", key);
	return 1;
}

/* A mirror command (verify=, retry=, resolve=, forget=) on every mirrored
 * set of the LUN; refused, with why, if it applied to no leg or copy. */
static tgtadm_err on_mirrors(struct ll_lu *l, const char *key, const struct ll_update *u,
			     const char *none)
{
	int n;

	if (not_mirrored(l, key))
		return TGTADM_INVALID_REQUEST;
	n = ll_layer_message(l->top, u);
	if (n < 0)
		return TGTADM_INVALID_REQUEST;
	if (!n) {
		ll_err(l, "%s refused: %s\n", key, none);
		return TGTADM_INVALID_REQUEST;
	}
	return TGTADM_SUCCESS;
}

/* lease=EPOCH:@DEADLINE_MS or EPOCH:VALID_MS, lease=release
 * (mirror/lease.c): the LUN's lease
 * changes, then every mirrored set hears of it (fences its legs for a new
 * epoch, lets the writes held for a lease go). */
static tgtadm_err lease(struct ll_lu *l, const struct ll_update *u, uint64_t now)
{
	int r;

	if (not_mirrored(l, "lease="))
		return TGTADM_INVALID_REQUEST;
	if (u->kind == LL_UPDATE_LEASE)
		r = ll_lease_grant(l, u, now);
	else
		r = ll_lease_release(l);
	if (r)
		return TGTADM_INVALID_REQUEST;
	ll_layer_message(l->top, u);
	return TGTADM_SUCCESS;
}

static tgtadm_err config_key(struct scsi_lu *lu, char *kv)
{
	uint64_t now = ll_now_ms();	/* a relative lease's deadline counts from here */
	struct ll_lu *l = ll_lu(lu);
	struct ll_update u;
	char err[256], key[32];

	if (ll_update_parse(kv, &u, err, sizeof(err))) {
		ll_err(l, "update refused: %s\n", err);
		return TGTADM_INVALID_REQUEST;
	}
	if (!l->top) {
		ll_err(l, "update refused: the LUN has no open backing store\n");
		return TGTADM_INVALID_REQUEST;
	}
	switch (u.kind) {
	case LL_UPDATE_RESIZE_REREAD:
		return resize(l, 0, 0);
	case LL_UPDATE_RESIZE_TO:
		return resize(l, 1, u.size);
	case LL_UPDATE_FAULT:
		l->fault = u.fault;
		ll_warn(l, "fault injection: %s\n", fault_name(u.fault));
		return TGTADM_SUCCESS;
	case LL_UPDATE_VERIFY:
		return on_mirrors(l, "verify=start", &u,
				  "no leg of this LUN is up (or all are being verified already)");
	case LL_UPDATE_RETRY_LEGS:
		return on_mirrors(l, "retry=legs", &u, "no leg of this LUN is refused");
	case LL_UPDATE_RESOLVE_DISCARD_LEG:
		return on_mirrors(l, "resolve=discard-leg", &u,
				  "no leg of this LUN is in split brain");
	case LL_UPDATE_FORGET:
		snprintf(err, sizeof(err), "no copy with that id is recorded with this LUN's "
			 "images (lunlink-status lists the absent ones, lunlink-image show all)");
		snprintf(key, sizeof(key), "forget=%016" PRIx64, u.copy_id);
		return on_mirrors(l, key, &u, err);
	case LL_UPDATE_LEASE:
	case LL_UPDATE_LEASE_RELEASE:
		return lease(l, &u, now);
	}
	return TGTADM_INVALID_REQUEST;
}

tgtadm_err ll_lu_config(struct scsi_lu *lu, char *params)
{
	tgtadm_err err = lu_config(lu, params, config_key);

	/* tgt's thin_provisioning= rewrites the Block Limits page */
	ll_vpd_refresh(lu);
	return err;
}
