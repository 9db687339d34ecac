/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lunlink.h: the private state of a lunlink LUN inside tgtd, shared by the
 * files of bs_lunlink.so.  tgt allocates it right after struct scsi_lu
 * (bs_datasize); ll_lu() finds it.
 */
#ifndef LUNLINK_TARGET_H
#define LUNLINK_TARGET_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "list.h"
#include "util.h"
#include "tgtd.h"
#include "scsi.h"
#include "target.h"

#include "lunlink/bsopts.h"
#include "lunlink/image.h"
#include "engine/io_engine.h"
#include "log.h"
#include "lib/range_lock.h"
#include "mirror/mirror.h"

struct ll_lu {
	struct scsi_lu *lu;
	char *path;			/* our copy, for messages */
	struct ll_bsopts opts;
	struct ll_engine engine;
	struct ll_range_lock ranges;
	enum ll_fault fault;		/* injected failures, for tests */
	int is_blockdev;
	int formatted;			/* a lunlink image, not a raw one */
	/* served alone: a new generation before the first write (extents.c):
	 * alone_gen: 1 while it is to be written, gen_bump while it is being
	 * written, with the writes that wait for it in gen_wait */
	int alone_gen;
	struct ll_gen_bump *gen_bump;
	struct ll_io *gen_wait, *gen_wait_tail;
	struct ll_image image;		/* its superblock, when formatted */
	uint64_t data_offset;		/* where the LUN's data starts */
	unsigned int nmirrors;		/* extents with mirror= legs */
	unsigned int nextents;		/* extents concatenated (1: none) */
	struct ll_extent {
		int fd;			/* 0: the backing store's */
		uint64_t start, len;	/* in the LUN */
		uint64_t file_off;	/* where it starts in its file */
		const char *path;
		struct ll_image *image;	/* a mirrored extent's superblock */
		struct ll_mirror *mirror;	/* its legs */
	} ext[1 + LL_MAX_EXTENTS];
	int errors_logged;		/* I/O errors logged so far (rate limit) */
	int announced;			/* initiators were told the LUN came */

	/* commands that complete without I/O, finished from a scheduled
	 * event: tgt must never see a completion inside bs_cmd_submit */
	struct ll_io *later, *later_tail;
	int later_scheduled;
	struct event_data later_ev;
};

static inline struct ll_lu *ll_lu(struct scsi_lu *lu)
{
	return (struct ll_lu *)((char *)lu + sizeof(*lu));
}

/* commands.c */
int ll_cmd_submit(struct scsi_cmd *cmd);
void ll_later(struct ll_lu *l, struct ll_io *io);
void ll_later_init(struct ll_lu *l);
void ll_later_cancel(struct ll_lu *l);

/* extents.c */
/* Extent set has mirror= legs (set 0: the backing store itself). */
bool ll_has_legs(const struct ll_lu *l, unsigned int set);
int ll_extents_open(struct ll_lu *l, uint64_t *size);
void ll_extents_close(struct ll_lu *l);
void ll_extents_submit(struct ll_lu *l, struct ll_io *io, int fault);
int ll_extent_at(struct ll_lu *l, uint64_t lun_off, int *fd, uint64_t *file_off,
		 uint64_t *left);
int ll_mirrors_open(struct ll_lu *l);
void ll_mirrors_close(struct ll_lu *l);

/* notify.c */
void ll_notify_luns_changed(int tid, uint64_t lun);

/* sbc_overrides.c */
#define LL_UNMAP_MAX_DESCRIPTORS	256
void ll_sbc_override(struct scsi_lu *lu);
void ll_vpd_refresh(struct scsi_lu *lu);

/* lu_config.c */
tgtadm_err ll_lu_config(struct scsi_lu *lu, char *params);


/* log prefix: "lunlink: tid 1 lun 2 (/srv/a.img): " */
#define ll_err(l, fmt, args...)						\
	ll_log("lunlink: tid %d lun %" PRIu64 " (%s): " fmt,		\
		(l)->lu->tgt->tid, (l)->lu->lun,			\
		(l)->path ? (l)->path : "-", ##args)

#endif
