// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * generation.c: the verdict on a leg's copy of a mirrored volume, from its
 * superblock and this copy's (include/lunlink/generation.h).  A pure
 * function, so that every case, including the ones two tgtd cannot easily
 * be made to reach, is unit-tested (t/unit/generation.c); the mirror
 * (target/mirror/mirror_leg.c) acts on what it returns.
 *
 * Every copy's superblock holds its generation (a random id that changes
 * when the copy goes on without a peer: degraded, served alone) and the
 * four before it.  A copy is behind another if its generation is one the
 * other went through; if neither is in the other's history, both changed on
 * their own (split brain).  The primary's dirty-region map is against one
 * generation (gen_bitmap): a leg still at that one lacks what the map holds.
 */
#include "lunlink/generation.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const verdict_name[] = {
	[LL_GEN_RAW] = "no lunlink image",
	[LL_GEN_DAMAGED] = "damaged superblock",
	[LL_GEN_LAYOUT] = "another layout",
	[LL_GEN_ITSELF] = "this copy itself",
	[LL_GEN_FRESH] = "fresh",
	[LL_GEN_DISCARD] = "discarded",
	[LL_GEN_BLANK] = "blank",
	[LL_GEN_FOREIGN] = "another volume",
	[LL_GEN_UNFINISHED] = "not consistent",
	[LL_GEN_CURRENT] = "this generation",
	[LL_GEN_MAP] = "the map's generation",
	[LL_GEN_EARLIER] = "an earlier generation",
	[LL_GEN_NEWER] = "newer",
	[LL_GEN_SPLIT] = "split brain",
	[LL_GEN_UNRECORDED] = "never recorded",
};

const char *ll_gen_name(enum ll_gen_verdict v)
{
	if ((unsigned int)v >= sizeof(verdict_name) / sizeof(verdict_name[0]) ||
	    !verdict_name[v])
		return "?";
	return verdict_name[v];
}

int ll_gen_in_history(const struct ll_image *im, uint64_t gen)
{
	for (unsigned int i = 0; i < LL_IMAGE_GEN_HISTORY; i++)
		if (gen && im->gen_history[i] == gen)
			return 1;
	return 0;
}

/* The verdict v, with what the log says of it (refused: the reason). */
static enum ll_gen_verdict say(struct ll_gen_result *r, enum ll_gen_verdict v, int refused,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum ll_gen_verdict say(struct ll_gen_result *r, enum ll_gen_verdict v, int refused,
			       const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	r->refused = refused;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return v;
}

#define verdict(r, v, ...)	say(r, v, 0, __VA_ARGS__)
#define refuse(r, v, ...)	say(r, v, 1, __VA_ARGS__)

/*
 * Which copy id the leg keeps: its own, unless it has none or shares one
 * with this copy or another leg (a file copied whole), when it is given a
 * new one.
 */
static void copy_id(const struct ll_gen_facts *f, struct ll_gen_result *r)
{
	uint64_t id = f->leg->copy_id;

	r->identified = 1;
	r->copy_id = LL_GEN_ID_KEEP;
	if (!id) {
		r->copy_id = LL_GEN_ID_NONE;
		return;
	}
	for (unsigned int i = 0; i < f->nleg_ids; i++)
		if (f->leg_ids[i] == id) {
			r->copy_id = LL_GEN_ID_TWIN;
			r->twin = i;
			return;
		}
	if (id == f->me->copy_id)
		r->copy_id = LL_GEN_ID_THIS;
}

/*
 * In step: at this copy's generation or the map's.  The leg's own record
 * may add to what the map says: a primary whose disk failed writes its
 * legs took lists the regions stale (all of them, when the list
 * overflowed), and one that crashed has writes in its activity log that
 * may be on it alone.
 */
static enum ll_gen_verdict in_step(const struct ll_image *leg, struct ll_gen_result *r,
				   enum ll_gen_verdict v)
{
	if (leg->flags & LL_IMAGE_F_STALE_ALL) {
		r->own = LL_GEN_OWN_STALE_ALL;
		r->whole = 1;
		return verdict(r, v, "its superblock says more regions of it are stale than its "
			       "list holds (its disk failed writes when it was a primary): all of "
			       "it is resynced");
	}
	if (leg->nstale)
		r->own |= LL_GEN_OWN_STALE;
	if (leg->flags & LL_IMAGE_F_OPEN)
		r->own |= LL_GEN_OWN_AL;
	r->verdict = v;
	return v;
}

enum ll_gen_verdict ll_gen_compare(const struct ll_gen_facts *f, struct ll_gen_result *r)
{
	const struct ll_image *me = f->me, *leg = f->leg;
	char mine[33], theirs[33];

	memset(r, 0, sizeof(*r));
	if (f->sb == 0)
		return refuse(r, LL_GEN_RAW, "it holds no lunlink image; prepare one on the peer "
			      "with 'lunlink-image create --size %" PRIu64 " --max-size %" PRIu64
			      " --region-size %u FILE' and export that file", me->data_size,
			      me->max_data_size, me->region_size);
	if (f->sb < 0)
		return refuse(r, LL_GEN_DAMAGED, "its superblock: %s",
			      f->sb_err ? f->sb_err : "damaged");
	if (leg->data_offset != me->data_offset || leg->region_size != me->region_size ||
	    leg->max_data_size != me->max_data_size)
		return refuse(r, LL_GEN_LAYOUT, "its layout differs from this copy's (create it "
			      "with --max-size %" PRIu64 " --region-size %u)", me->max_data_size,
			      me->region_size);
	/* not even resolve=discard-leg: its superblock is this one's */
	if (leg->copy_id == me->copy_id && (leg->flags & LL_IMAGE_F_OPEN) &&
	    !memcmp(leg->volume_id, me->volume_id, 16))
		return refuse(r, LL_GEN_ITSELF, "its image is this copy itself (mirror= names the "
			      "LUN that exports this file?), or a file copy of it taken while it "
			      "was served (its blocks are from different moments): it has this "
			      "copy's id %016" PRIx64 " and says it is open as a primary. Name "
			      "another image as the leg; for a new one, lunlink-image create",
			      me->copy_id);
	/* both still the zeros create left: the same bytes, nothing to copy */
	if (f->me_blank && ll_image_is_blank(leg) && !f->discard &&
	    !memcmp(leg->volume_id, me->volume_id, 16) && leg->data_size == me->data_size) {
		copy_id(f, r);
		r->verdict = LL_GEN_BLANK;
		return r->verdict;
	}
	if ((leg->flags & LL_IMAGE_F_FRESH) || f->discard) {
		copy_id(f, r);
		r->whole = 1;
		r->unsynced_first = 1;
		r->verdict = leg->flags & LL_IMAGE_F_FRESH ? LL_GEN_FRESH : LL_GEN_DISCARD;
		return r->verdict;
	}
	if (memcmp(leg->volume_id, me->volume_id, 16)) {
		ll_image_id_hex(me->volume_id, mine);
		ll_image_id_hex(leg->volume_id, theirs);
		return refuse(r, LL_GEN_FOREIGN, "it holds volume %s, not this volume %s", theirs,
			      mine);
	}

	copy_id(f, r);
	if (leg->gen_current == 0) {	/* an initial sync was cut short */
		r->whole = 1;
		r->verdict = LL_GEN_UNFINISHED;
		return r->verdict;
	}
	if (leg->gen_current == me->gen_current)
		return in_step(leg, r, LL_GEN_CURRENT);
	if (me->gen_bitmap && leg->gen_current == me->gen_bitmap)
		return in_step(leg, r, LL_GEN_MAP);
	if (ll_gen_in_history(me, leg->gen_current)) {
		/* this copy went on from the leg's generation, and no map here
		 * says since when: the leg is behind by what this copy's map
		 * does not hold (a leg of another primary before, say) */
		r->whole = 1;
		return verdict(r, LL_GEN_EARLIER, "it has generation %016" PRIx64 ", an earlier "
			       "one of this copy's (now %016" PRIx64 "): it is behind by writes no "
			       "map here records, so all of it is resynced", leg->gen_current,
			       me->gen_current);
	}
	if (f->recorded && f->recorded == me->gen_current) {
		/* the manager holds writes of a generation until it has
		 * recorded it, and records only its lease holder's: the leg's
		 * own were never recorded, so they hold no acknowledged write */
		r->whole = 1;
		r->unsynced_first = 1;
		return verdict(r, LL_GEN_UNRECORDED, "it has generation %016" PRIx64 ", which "
			       "the policy manager never recorded (this copy's %016" PRIx64 " is "
			       "the one it recorded, in the lease): no write of it was "
			       "acknowledged, so it is overwritten by a full resync from this copy",
			       leg->gen_current, me->gen_current);
	}
	r->split = 1;
	if (ll_gen_in_history(leg, me->gen_current))
		return refuse(r, LL_GEN_NEWER, "the leg is newer than this copy: its generation "
			      "%016" PRIx64 " came after this copy's %016" PRIx64 " (it was written "
			      "without this copy since), so nothing is resynced. To keep the leg's "
			      "data, serve its image as the primary (with this one as its leg). To "
			      "keep this copy and overwrite the leg: tgtadm --lld iscsi --mode "
			      "logicalunit --op update --tid %d --lun %" PRIu64 " --params "
			      "resolve=discard-leg", leg->gen_current, me->gen_current, f->tid,
			      f->lun);
	return refuse(r, LL_GEN_SPLIT, "split brain: the leg has generation %016" PRIx64 ", this "
		      "copy %016" PRIx64 " (dirty-region map against %016" PRIx64 "): both changed "
		      "on their own, so nothing is resynced. To keep this copy and overwrite the "
		      "leg: tgtadm --lld iscsi --mode logicalunit --op update --tid %d --lun %"
		      PRIu64 " --params resolve=discard-leg. To keep the leg's data instead, stop "
		      "this LUN and serve the leg's image", leg->gen_current, me->gen_current,
		      me->gen_bitmap, f->tid, f->lun);
}
