/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * generation.h: how a leg's copy of a mirrored volume relates to this one,
 * decided from the two superblocks alone (DRBD's drbd_uuid_compare, for
 * lunlink's generation ids).
 *
 * When a primary has probed a leg it has this copy's superblock and the
 * leg's; ll_gen_compare() says what the leg is (in step with this copy,
 * behind it, fresh, newer, split, another volume, ...), what the resync
 * must copy (the map's regions or all of them, and what the leg's own
 * record adds), which copy id the leg keeps, and, for a refusal, the reason
 * the log gives with the command that resolves it.  It is pure: no I/O, no
 * clock, no random numbers (a new copy id is the caller's to draw), so the
 * unit test t/unit/generation.c covers every case by table.
 *
 * Left to the caller, because they depend on state the superblocks do not
 * hold: whether the dirty-region map holds anything (a leg in step with an
 * empty map is in sync), the regions a leg's stale list and activity log
 * add, and the refusal of a new copy when this copy's list of copies is
 * full (decided when the leg joins, against the list as it is then).
 */
#ifndef LUNLINK_GENERATION_H
#define LUNLINK_GENERATION_H

#include <stddef.h>
#include <stdint.h>

#include "lunlink/image.h"

/* What the leg is, against this copy.  The order is the order of the
 * checks: the first that applies is the verdict. */
enum ll_gen_verdict {
	/* refused before its generation is looked at */
	LL_GEN_RAW,		/* no lunlink image on the leg */
	LL_GEN_DAMAGED,		/* its superblock is damaged or inconsistent */
	LL_GEN_LAYOUT,		/* its data offset, region size or maximum differ */
	LL_GEN_ITSELF,		/* this copy's own file, or a copy of it taken while served */
	/* taken, resynced whole, and its superblock at generation 0 first */
	LL_GEN_FRESH,		/* made by lunlink-image create, never synced */
	LL_GEN_DISCARD,		/* resolve=discard-leg: its changes are overwritten */
	/* in sync with no copy: it and this copy are both the zeros
	 * lunlink-image create left (this volume, this size) */
	LL_GEN_BLANK,
	/* refused: another volume */
	LL_GEN_FOREIGN,
	/* a copy of this volume, by its generation */
	LL_GEN_UNFINISHED,	/* generation 0: a sync that would make it consistent was
				 * cut short: resynced whole */
	LL_GEN_CURRENT,		/* this copy's generation: lacks what the map holds */
	LL_GEN_MAP,		/* the generation the map is against: behind by the map */
	LL_GEN_EARLIER,		/* an earlier generation of this copy's: behind by writes no
				 * map here records: resynced whole */
	LL_GEN_NEWER,		/* this copy's generation is an earlier one of the leg's:
				 * it went on without this copy: refused */
	LL_GEN_SPLIT,		/* neither came from the other: split brain: refused */
	/* newer or split, but this copy's generation is the one the policy
	 * manager recorded (the lease's GENERATION): the leg's own were never
	 * recorded, so no write of them was acknowledged: resynced whole, its
	 * superblock at generation 0 first, as resolve=discard-leg does */
	LL_GEN_UNRECORDED,
};

/* Which copy id the leg has from now on (for the verdicts with
 * identified set). */
enum ll_gen_copy_id {
	LL_GEN_ID_KEEP,		/* its own */
	LL_GEN_ID_NONE,		/* it has none (an older lunlink made it): a new one */
	LL_GEN_ID_THIS,		/* it has this copy's (a copy of this file): a new one */
	LL_GEN_ID_TWIN,		/* another leg's (a copy of that file): a new one */
};

/* A leg in step (LL_GEN_CURRENT, LL_GEN_MAP) whose own superblock says it
 * may lack more than the generations show: it was a primary itself. */
#define LL_GEN_OWN_STALE_ALL	0x1	/* more stale regions than its list holds: all */
#define LL_GEN_OWN_STALE	0x2	/* its stale list's regions */
#define LL_GEN_OWN_AL		0x4	/* it was left open: its activity log's extents */

/* What the caller knows besides the superblocks. */
struct ll_gen_facts {
	const struct ll_image *me;	/* this copy's superblock */
	int sb;				/* ll_image_decode of the leg's: 1 read,
					 * 0 none there, -1 damaged */
	const struct ll_image *leg;	/* the leg's superblock, when sb is 1 */
	const char *sb_err;		/* the decoder's reason, when sb is -1 */
	const uint64_t *leg_ids;	/* the copies the other legs hold (0: not known) */
	unsigned int nleg_ids;
	int discard;			/* resolve=discard-leg was asked for this leg */
	int me_blank;			/* this copy is still the zeros create left (its
					 * mark is off its disk once served: the mirror
					 * remembers it until the first write) */
	uint64_t recorded;		/* the generation the policy manager recorded for
					 * this volume (lease=...:GENERATION), 0 if none:
					 * when it is this copy's, a newer or split leg
					 * is LL_GEN_UNRECORDED, not refused */
	int tid;			/* the LUN, for the commands a refusal names */
	uint64_t lun;
};

struct ll_gen_result {
	enum ll_gen_verdict verdict;
	int refused;		/* nothing is copied: the leg needs a person */
	int split;		/* refused as newer or split: resolve=discard-leg
				 * may overwrite it */
	int whole;		/* every region is resynced, not the map's alone */
	int unsynced_first;	/* the leg's superblock takes generation 0 before
				 * its resync (it holds nothing of this copy's yet) */
	int identified;		/* a copy of this volume: copy_id applies, and the
				 * leg counts as that copy even when refused */
	enum ll_gen_copy_id copy_id;
	unsigned int twin;	/* LL_GEN_ID_TWIN: its index in leg_ids */
	unsigned int own;	/* LL_GEN_OWN_*, for a leg in step */
	/* refused: the reason and its cure, as the log gives it after
	 * "refused: "; otherwise what the log says of the verdict, or "" */
	char why[640];
};

/*
 * Compare the leg's superblock with this copy's; fill r and return its
 * verdict.  Nothing else is read or changed.
 */
enum ll_gen_verdict ll_gen_compare(const struct ll_gen_facts *f, struct ll_gen_result *r);

/* A verdict in a few words ("split brain", "newer", ...), for logs and tests. */
const char *ll_gen_name(enum ll_gen_verdict v);

/* gen (not 0) is one of the generations im went through before its current one. */
int ll_gen_in_history(const struct ll_image *im, uint64_t gen);

#endif
