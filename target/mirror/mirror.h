/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mirror.h: a mirrored LUN (seed 003): the local lunlink image plus legs,
 * each an iSCSI LUN on a peer that holds a copy of the same image.  See
 * mirror.c for the protocol.
 */
#ifndef LUNLINK_MIRROR_H
#define LUNLINK_MIRROR_H

#include <stdint.h>

struct ll_lu;
struct ll_io;
struct ll_mirror;

struct ll_extent;

/* Mirror extent e (set 0: the backing store; k: the k-th extent=) to the
 * legs the options give it.  0, or -1 with the reason logged (the LUN is
 * then refused). */
int ll_mirror_open(struct ll_lu *l, struct ll_extent *e, unsigned int set);
/* The close begins: start no more background work (resync, verify,
 * metadata writes), and ask the legs to flush (mirror_close.c). */
void ll_mirror_quiesce(struct ll_mirror *m);
void ll_mirror_close(struct ll_mirror *m);

/*
 * Do io on the mirrored LUN: the local image and every leg for writes,
 * hole punches and flushes; the local image for reads, or a leg when the
 * local read fails (local_fault: the local half fails with EIO, for tests).
 * io->complete is called from the main loop, never from inside this call.
 */
void ll_mirror_submit(struct ll_mirror *m, struct ll_io *io, int local_fault);

/* resolve=discard-leg: overwrite split-brain legs with this copy; the
 * number of legs */
int ll_mirror_discard_split_legs(struct ll_mirror *m);

/* Growing the image to file_size bytes: 0 if no leg known too small (the
 * reason is logged otherwise); then, once grown, tell the legs. */
int ll_mirror_can_grow(struct ll_mirror *m, uint64_t file_size);
void ll_mirror_grown(struct ll_mirror *m);

/* retry=legs: probe refused legs again; the number of legs */
int ll_mirror_retry_legs(struct ll_mirror *m);

/* verify=start: compare every up leg with this copy; the number of legs */
int ll_mirror_verify(struct ll_mirror *m);

/* forget=ID: the copy with that id, recorded with this one and not a leg,
 * is gone for good: 1 forgotten, 0 not recorded here, -1 refused (a leg is
 * that copy, or this one is; said in the log) */
int ll_mirror_forget_copy(struct ll_mirror *m, uint64_t id);

#endif
