// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lu_config.c: lunlink's keys for `tgtadm --op update --mode logicalunit
 * --params`, on top of tgt's own (which tgt's lu_config still handles).
 *
 *   resize=reread   take the image's new size, after the operator grew the
 *                   file or the block device;
 *   resize=SIZE     grow the image file to SIZE (sparse) and take it;
 *   fault=none|read|write|both|write-all|meta-write|flush|slow-resync
 *                   make local reads and/or writes fail with EIO, for tests.
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

static int image_size(struct ll_lu *l, uint64_t *size)
{
	struct stat st;

	if (l->is_blockdev)
		return ioctl(l->lu->fd, BLKGETSIZE64, size);
	if (fstat(l->lu->fd, &st))
		return -1;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* A lunlink image keeps its size in its superblock: grow both. */
static tgtadm_err resize_image(struct ll_lu *l, int grow, uint64_t want)
{
	struct ll_image im = l->image;
	uint64_t have;
	int err;

	if (!grow) {
		ll_err(l, "resize=reread refused: a lunlink image's size is in its superblock; "
		       "use resize=SIZE\n");
		return TGTADM_INVALID_REQUEST;
	}
	if (want > im.max_data_size) {
		ll_err(l, "resize=%" PRIu64 " refused: the image can grow to %" PRIu64 " bytes "
		       "(its dirty-region map is sized for that)\n", want, im.max_data_size);
		return TGTADM_INVALID_REQUEST;
	}
	if (l->ext[0].mirror && ll_mirror_can_grow(l->ext[0].mirror, im.data_offset + want))
		return TGTADM_INVALID_REQUEST;
	if (image_size(l, &have)) {
		ll_err(l, "resize refused: cannot read the image's size: %s\n", strerror(errno));
		return TGTADM_INVALID_REQUEST;
	}
	if (have < im.data_offset + want) {
		if (l->is_blockdev) {
			ll_err(l, "resize=%" PRIu64 " refused: the block device is %" PRIu64
			       " bytes, and the data would end at %" PRIu64 "\n", want, have,
			       im.data_offset + want);
			return TGTADM_INVALID_REQUEST;
		}
		if (ftruncate(l->lu->fd, (off_t)(im.data_offset + want))) {
			ll_err(l, "resize=%" PRIu64 " refused: cannot grow the image file: %s\n",
			       want, strerror(errno));
			return TGTADM_INVALID_REQUEST;
		}
	}
	im.data_size = want;
	im.blank_gen = 0;	/* a device's new part holds its old bytes */
	err = ll_image_store(l->lu->fd, &im);
	if (err) {
		ll_err(l, "resize=%" PRIu64 " failed: cannot write the superblock: %s\n", want,
		       strerror(-err));
		return TGTADM_INVALID_REQUEST;
	}
	l->image = im;
	return TGTADM_SUCCESS;
}

static tgtadm_err resize(struct ll_lu *l, int grow, uint64_t want)
{
	struct scsi_lu *lu = l->lu;
	uint64_t bs = 1ULL << lu->blk_shift, cur = lu->size, now;

	if (l->opts.window || l->nextents > 1) {
		ll_err(l, "resize refused: the LUN is %s; its size is fixed by its options\n",
		       l->opts.window ? "a window of its image (window=)" :
		       "a concatenation of extents (extent=)");
		return TGTADM_INVALID_REQUEST;
	}
	if (l->formatted) {
		if (grow && (want % bs || want < cur)) {
			ll_err(l, "resize=%" PRIu64 " refused: %s\n", want, want % bs ?
			       "not a multiple of the block size" :
			       "lunlink never shrinks a LUN");
			return TGTADM_INVALID_REQUEST;
		}
		if (grow && want == cur) {
			ll_err(l, "resize: capacity unchanged at %" PRIu64 " bytes\n", cur);
			return TGTADM_SUCCESS;
		}
		if (resize_image(l, grow, want))
			return TGTADM_INVALID_REQUEST;
		now = want;
		goto changed;
	}
	if (grow) {
		if (l->is_blockdev) {
			ll_err(l, "resize=%" PRIu64 " refused: the backing store is a block device, "
			       "which lunlink cannot grow; grow it with its own tools, then use "
			       "resize=reread\n", want);
			return TGTADM_INVALID_REQUEST;
		}
		if (want % bs) {
			ll_err(l, "resize=%" PRIu64 " refused: not a multiple of the block size "
			       "(%" PRIu64 " bytes)\n", want, bs);
			return TGTADM_INVALID_REQUEST;
		}
		if (want < cur) {
			ll_err(l, "resize=%" PRIu64 " refused: the LUN is %" PRIu64 " bytes and "
			       "lunlink never shrinks a LUN (data past the new end would vanish "
			       "under the initiator)\n", want, cur);
			return TGTADM_INVALID_REQUEST;
		}
		if (image_size(l, &now)) {
			ll_err(l, "resize refused: cannot read the image's size: %s\n",
			       strerror(errno));
			return TGTADM_INVALID_REQUEST;
		}
		/* ftruncate only grows metadata: cheap enough for the main loop */
		if (now < want && ftruncate(lu->fd, (off_t)want)) {
			ll_err(l, "resize=%" PRIu64 " refused: cannot grow the image file: %s\n",
			       want, strerror(errno));
			return TGTADM_INVALID_REQUEST;
		}
		now = want;
	} else {
		if (image_size(l, &now)) {
			ll_err(l, "resize=reread refused: cannot read the image's size: %s\n",
			       strerror(errno));
			return TGTADM_INVALID_REQUEST;
		}
		now -= now % bs;
		if (now < cur) {
			ll_err(l, "resize=reread refused: the image is now %" PRIu64 " bytes, "
			       "smaller than the LUN's %" PRIu64 "; lunlink never shrinks a LUN "
			       "(restore the image's size)\n", now, cur);
			return TGTADM_INVALID_REQUEST;
		}
	}
	if (now == cur) {
		ll_err(l, "resize: capacity unchanged at %" PRIu64 " bytes\n", cur);
		return TGTADM_SUCCESS;
	}
changed:
	lu->size = now;
	l->ext[0].len = now;	/* the one extent a resizable LUN has */
	if (l->ext[0].mirror)
		ll_mirror_grown(l->ext[0].mirror);
	ua_sense_add_other_it_nexus(0, lu, ASC_CAPACITY_DATA_HAS_CHANGED);
	ll_err(l, "capacity changed from %" PRIu64 " to %" PRIu64 " bytes; UNIT ATTENTION "
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

/* A mirror command (verify=, retry=, resolve=) on every mirrored set of
 * the LUN; refused, with why, if it applied to no leg. */
static tgtadm_err on_mirrors(struct ll_lu *l, const char *key, int (*op)(struct ll_mirror *),
			     const char *none)
{
	unsigned int i;
	int n = 0;

	if (not_mirrored(l, key))
		return TGTADM_INVALID_REQUEST;
	for (i = 0; i < l->nextents; i++)
		if (l->ext[i].mirror)
			n += op(l->ext[i].mirror);
	if (!n) {
		ll_err(l, "%s refused: %s\n", key, none);
		return TGTADM_INVALID_REQUEST;
	}
	return TGTADM_SUCCESS;
}

/* forget=ID: every mirrored set of the LUN that records the copy forgets it */
static tgtadm_err forget(struct ll_lu *l, uint64_t id)
{
	unsigned int i;
	int n = 0, refused = 0, r;

	if (not_mirrored(l, "forget"))
		return TGTADM_INVALID_REQUEST;
	for (i = 0; i < l->nextents; i++) {
		if (!l->ext[i].mirror)
			continue;
		r = ll_mirror_forget_copy(l->ext[i].mirror, id);
		if (r < 0)
			refused = 1;
		else
			n += r;
	}
	if (refused)
		return TGTADM_INVALID_REQUEST;
	if (!n) {
		ll_err(l, "forget=%016" PRIx64 " refused: no copy with that id is recorded with "
		       "this LUN's images (lunlink-status lists the absent ones, lunlink-image "
		       "show all)\n", id);
		return TGTADM_INVALID_REQUEST;
	}
	return TGTADM_SUCCESS;
}

static tgtadm_err config_key(struct scsi_lu *lu, char *kv)
{
	struct ll_lu *l = ll_lu(lu);
	struct ll_update u;
	char err[256];

	if (ll_update_parse(kv, &u, err, sizeof(err))) {
		ll_err(l, "update refused: %s\n", err);
		return TGTADM_INVALID_REQUEST;
	}
	if (!l->engine.ops) {
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
		ll_err(l, "fault injection: %s\n", fault_name(u.fault));
		return TGTADM_SUCCESS;
	case LL_UPDATE_VERIFY:
		return on_mirrors(l, "verify=start", ll_mirror_verify,
				  "no leg of this LUN is up (or all are being verified already)");
	case LL_UPDATE_RETRY_LEGS:
		return on_mirrors(l, "retry=legs", ll_mirror_retry_legs,
				  "no leg of this LUN is refused");
	case LL_UPDATE_RESOLVE_DISCARD_LEG:
		return on_mirrors(l, "resolve=discard-leg", ll_mirror_discard_split_legs,
				  "no leg of this LUN is in split brain");
	case LL_UPDATE_FORGET:
		return forget(l, u.copy_id);
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
