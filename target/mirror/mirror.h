/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mirror.h: a mirrored LUN (seed 003): the local lunlink image plus legs,
 * each an iSCSI LUN on a peer that holds a copy of the same image.  See
 * mirror.c for the protocol.
 */
#ifndef LUNLINK_MIRROR_H
#define LUNLINK_MIRROR_H

#include <errno.h>
#include <stdint.h>

struct ll_lu;
struct ll_io;
struct ll_mirror;

struct ll_extent;
struct ll_update;

/*
 * A LUN's write-ownership lease (lease=on; lease.c owns it): the epoch of
 * the last grant (0: none yet; it only grows), the deadline of the lease
 * in ms of CLOCK_MONOTONIC (0: none: never granted, or released), and
 * whether a leg has said that a newer primary holds it (deposed, under
 * deposed_epoch: only a higher epoch ends it).
 */
struct ll_lease {
	uint64_t epoch;
	uint64_t deadline;
	int deposed;
	uint64_t deposed_epoch;
	int expiry_said;		/* the expiry was logged */
	/* lease=EPOCH:...:GENERATION: the generation the manager
	 * recorded; a mirror acknowledges no write while its own differs */
	int gen_check;
	uint64_t gen_confirmed;
};

/* What a request this node may not serve for the lease completes with
 * (lease.c, fan.c): commands.c answers it NOT READY, LOGICAL UNIT NOT
 * ACCESSIBLE, TARGET PORT IN STANDBY STATE (2/04/0B), a path error to a
 * multipath host, where EROFS and EACCES (DATA PROTECT, WRITE PROTECTED)
 * are not.  An errno no file or leg I/O gives, so the two never mix. */
#define LL_ESTANDBY		EKEYEXPIRED

/* The fencing key of epoch e: "LL" in the top 16 bits, e below. */
#define LL_LEASE_KEY(e)		(0x4c4c000000000000ULL | (e))
#define LL_LEASE_KEY_IS_OURS(k)	(((k) >> 48) == 0x4c4c)

/* A grant or renewal (u: LL_UPDATE_LEASE), received at now (ms of
 * CLOCK_MONOTONIC): its deadline is u's absolute one (lease=EPOCH:@DEADLINE_MS,
 * taken as given: one already past leaves the lease expired at once, and
 * says so) or now + VALID_MS.  0, or -1 refused (the reason logged: the
 * LUN has no lease=on, a lower epoch, deposed at this epoch, a GENERATION
 * for a LUN of several mirrored sets, a deadline more than a day ahead).
 * With u->has_gen, u->gen_confirmed is the generation the manager
 * recorded (writes of another are held); without, no generation is
 * checked (as before it existed).  The mirrors then hear of it through
 * the layers (ll_mirror_lease_changed). */
int ll_lease_grant(struct ll_lu *l, const struct ll_update *u, uint64_t now);
/* lease=release: the lease ends now; 0, or -1 (no lease=on, logged) */
int ll_lease_release(struct ll_lu *l);
/* none, held, expired or deposed, as the status file says it */
const char *ll_lease_word(const struct ll_lu *l, uint64_t now);
/* The LUN's lease changed (granted, renewed, released): fence the legs
 * for a new epoch, let waiting writes go.  1 (a mirror that heard it). */
int ll_mirror_lease_changed(struct ll_mirror *m);

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
