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
#include "layers/layer.h"

/* A local copy's place, for the mirror engine: its file (fd 0: the
 * engine's own, the backing store), where the LUN serves its data from
 * (start, len: bytes of the LUN; file_off: where that begins in the file),
 * its superblock, the layer its data is read and written through (byte 0
 * the copy's first byte of data: the image's, then any copy_extent=
 * areas) and how many bytes that holds, more_areas when it goes on past
 * the image, and its mirror once open. */
struct ll_extent {
	int fd;
	struct ll_layer *copy;
	uint64_t size;
	int more_areas;
	uint64_t start, len;
	uint64_t file_off;
	const char *path;
	struct ll_image *image;
	struct ll_mirror *mirror;
};

struct ll_lu {
	struct scsi_lu *lu;
	char *path;			/* our copy, for messages */
	struct ll_bsopts opts;
	struct ll_engine engine;
	struct ll_range_lock ranges;
	enum ll_fault fault;		/* injected failures, for tests (fault=) */
	struct ll_lease lease;		/* lease=on: write ownership (mirror/lease.c) */
	/* the stack of layers the commands go to (layers/stack.c) */
	struct ll_layer *top;
	unsigned int nmirrors;		/* mirror layers in it */
	int errors_logged;		/* I/O errors logged so far (rate limit) */
	int announced;			/* initiators were told the LUN came */

	/* requests that complete without I/O, finished from a scheduled
	 * event: tgt must never see a completion inside bs_cmd_submit */
	struct ll_io *later, *later_tail;
	int later_scheduled;
	struct event_data later_ev;

	/* persistent reservations (pr_scsi.c); pr_waiting: a PREEMPT AND
	 * ABORT's status, or a pr=cluster STATE's ACK, waits for the aborted
	 * nexuses' commands in flight (commands.c then calls ll_pr_io_done
	 * as each command ends; kept here so that the others cost one load) */
	struct ll_pr *pr;
	int pr_waiting;
	/* the commands in flight in the store (commands.c) */
	struct list_head inflight;

	/* finished commands' state, kept for the next commands (commands.c):
	 * no allocation per command */
	struct ll_io *cmd_cache;
	unsigned int cmd_cached;
};

static inline struct ll_lu *ll_lu(struct scsi_lu *lu)
{
	return (struct ll_lu *)((char *)lu + sizeof(*lu));
}

/* commands.c */
int ll_cmd_submit(struct scsi_cmd *cmd);
void ll_cmd_cache_free(struct ll_lu *l);
/* how many commands in flight came from these I_T nexuses */
int ll_cmd_inflight_from(struct ll_lu *l, const uint64_t *itn_ids, unsigned int n);

/* notify.c */
void ll_notify_luns_changed(int tid, uint64_t lun);

/* sbc_overrides.c */
#define LL_UNMAP_MAX_DESCRIPTORS	256
void ll_sbc_override(struct scsi_lu *lu);
void ll_vpd_refresh(struct scsi_lu *lu);

/* pr_scsi.c */
struct ll_pr;
int ll_pr_setup(struct scsi_lu *lu);
int ll_pr_open(struct ll_lu *l, const char *path, int regular_file);
void ll_pr_free(struct ll_lu *l);
void ll_pr_io_done(struct ll_lu *l);

/* lu_config.c */
tgtadm_err ll_lu_config(struct scsi_lu *lu, char *params);


/* A LUN's messages, prefixed "lunlink: [LEVEL: ]tid 1 lun 2 (/srv/a.img): " */
#define ll_lu_log(level, l, fmt, args...)				\
	ll_log(level, "tid %d lun %" PRIu64 " (%s): " fmt,		\
		(l)->lu->tgt->tid, (l)->lu->lun,			\
		(l)->path ? (l)->path : "-", ##args)
#define ll_err(l, fmt, args...)		ll_lu_log(LL_LOG_ERROR, l, fmt, ##args)
#define ll_warn(l, fmt, args...)	ll_lu_log(LL_LOG_WARNING, l, fmt, ##args)
#define ll_info(l, fmt, args...)	ll_lu_log(LL_LOG_INFO, l, fmt, ##args)

#endif
