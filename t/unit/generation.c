// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for target/lib/generation.c: the verdict on a leg's copy of a
 * mirrored volume from two superblocks, case by case in one table.  Each
 * row says which integration test reaches the same case end to end with
 * real tgtd (t5000-mirror, t5500-mirror-flush, t5600-mirror-generations,
 * t5700-mirror-copies, t5800-mirror-old-primary), or that none can.  The
 * refusals are compared word for word: operators (and those tests) read
 * them.
 */
#include "lunlink/generation.h"

#include <stdint.h>
#include <string.h>

#include "tap.h"

/* Copy ids and generations, small so that the messages read easily. */
#define ME	0xaaaaULL	/* this copy */
#define LEG	0xbbbbULL	/* the leg's own */
#define TWIN	0xccccULL	/* another leg's */
#define G1	0x11ULL		/* generations, oldest first */
#define G2	0x22ULL
#define G3	0x33ULL
#define G4	0x44ULL
#define G5	0x55ULL
#define LONE	0x99ULL		/* one neither copy went through */

struct row {
	const char *name;
	/* this copy */
	uint64_t me_gen, me_bitmap, me_hist[LL_IMAGE_GEN_HISTORY];
	/* the leg: no superblock there, or a damaged one (else it was read) */
	int no_sb, damaged;
	uint64_t leg_gen, leg_hist[LL_IMAGE_GEN_HISTORY], leg_copy;
	uint32_t leg_flags, leg_nstale, leg_region;
	uint64_t leg_max;
	int other_volume;
	uint64_t others[2];	/* the copies the other legs hold */
	uint64_t recorded;	/* the lease's GENERATION: the manager recorded it */
	int discard;
	int tid;
	uint64_t lun;
	int me_blank, leg_blank;	/* still the zeros create left */
	uint64_t leg_size;		/* its data size, when not this copy's */
	/* what it must say */
	enum ll_gen_verdict verdict;
	int refused, split, whole, unsynced_first, identified;
	enum ll_gen_copy_id copy_id;
	unsigned int twin, own;
	const char *why;	/* exactly; "" for none */
};

/* this copy at G3, from G2 and G1; the leg's defaults: in step with it */
#define AT_G3		.me_gen = G3, .me_hist = { G2, G1 }
#define LEG_AT(g)	.leg_gen = (g), .leg_copy = LEG

#define CURE_SPLIT(leg, me, map) \
	"split brain: the leg has generation " leg ", this copy " me " (dirty-region map " \
	"against " map "): both changed on their own, so nothing is resynced. To keep this " \
	"copy and overwrite the leg: tgtadm --lld iscsi --mode logicalunit --op update --tid 1 " \
	"--lun 1 --params resolve=discard-leg. To keep the leg's data instead, stop this LUN " \
	"and serve the leg's image"
#define CURE_NEWER(leg, me, tid, lun) \
	"the leg is newer than this copy: its generation " leg " came after this copy's " me \
	" (it was written without this copy since), so nothing is resynced. To keep the " \
	"leg's data, serve its image as the primary (with this one as its leg). To keep this " \
	"copy and overwrite the leg: tgtadm --lld iscsi --mode logicalunit --op update --tid " \
	tid " --lun " lun " --params resolve=discard-leg"
#define RAW_CURE \
	"it holds no lunlink image; prepare one on the peer with 'lunlink-image create " \
	"--size 33554432 --max-size 67108864 --region-size 65536 FILE' and export that file"
#define ITSELF_CURE \
	"its image is this copy itself (mirror= names the LUN that exports this file?), or a " \
	"file copy of it taken while it was served (its blocks are from different moments): " \
	"it has this copy's id 000000000000aaaa and says it is open as a primary. Name another " \
	"image as the leg; for a new one, lunlink-image create"
#define LAYOUT_CURE \
	"its layout differs from this copy's (create it with --max-size 67108864 " \
	"--region-size 65536)"
#define STALE_ALL_NOTE \
	"its superblock says more regions of it are stale than its list holds (its disk " \
	"failed writes when it was a primary): all of it is resynced"
#define UNRECORDED(leg, me)							\
	"it has generation " leg ", which the policy manager never recorded (this "	\
	"copy's " me " is the one it recorded, in the lease): no write of it was "	\
	"acknowledged, so it is overwritten by a full resync from this copy"

static const struct row rows[] = {
	/* ---- fresh, discarded: taken, resynced whole ---- */
	{ "a fresh image (lunlink-image create): resynced whole, at generation 0 until then",
	  /* t5000 'two fresh copies...', 'the fresh leg gets everything'; the first step
	   * of t5600, t5700 and t5800 */
	  AT_G3, LEG_AT(LONE), .leg_flags = LL_IMAGE_F_FRESH,
	  .verdict = LL_GEN_FRESH, .whole = 1, .unsynced_first = 1, .identified = 1,
	  .why = "" },
	{ "resolve=discard-leg on a split leg: overwritten like a fresh one",
	  /* t5000 'resolve=discard-leg overwrites the leg'; t5600 'resolve=discard-leg
	   * overwrites C with B's copy' (a newer leg) */
	  AT_G3, LEG_AT(LONE), .discard = 1,
	  .verdict = LL_GEN_DISCARD, .whole = 1, .unsynced_first = 1, .identified = 1,
	  .why = "" },
	{ "resolve=discard-leg on another volume: overwritten (it was asked for this leg)",
	  /* none: discard-leg is for legs refused as split, never as foreign */
	  AT_G3, LEG_AT(G3), .other_volume = 1, .discard = 1,
	  .verdict = LL_GEN_DISCARD, .whole = 1, .unsynced_first = 1, .identified = 1,
	  .why = "" },
	{ "a fresh image with another leg's copy id: a new id",
	  /* none: t5700 copies a leg's image that is not fresh */
	  AT_G3, .leg_gen = LONE, .leg_copy = TWIN, .leg_flags = LL_IMAGE_F_FRESH,
	  .others = { 0x1234, TWIN },
	  .verdict = LL_GEN_FRESH, .whole = 1, .unsynced_first = 1, .identified = 1,
	  .copy_id = LL_GEN_ID_TWIN, .twin = 1, .why = "" },

	/* ---- refused before the generations are looked at ---- */
	{ "no lunlink image: refused, with the create command for this layout",
	  /* none: the tests export only lunlink images as legs */
	  AT_G3, .no_sb = 1,
	  .verdict = LL_GEN_RAW, .refused = 1, .why = RAW_CURE },
	{ "no lunlink image, even with resolve=discard-leg",
	  /* none */
	  AT_G3, .no_sb = 1, .discard = 1,
	  .verdict = LL_GEN_RAW, .refused = 1, .why = RAW_CURE },
	{ "a damaged superblock: refused with the decoder's reason",
	  /* none: t1600 damages an image served alone, not a leg's */
	  AT_G3, .damaged = 1,
	  .verdict = LL_GEN_DAMAGED, .refused = 1,
	  .why = "its superblock: lunlink superblock is damaged (checksum)" },
	{ "another region size: refused, with the sizes to create it with",
	  /* none */
	  AT_G3, LEG_AT(G3), .leg_region = 128 << 10,
	  .verdict = LL_GEN_LAYOUT, .refused = 1, .why = LAYOUT_CURE },
	{ "another maximum size: refused",
	  /* none */
	  AT_G3, LEG_AT(G3), .leg_max = 32 << 20,
	  .verdict = LL_GEN_LAYOUT, .refused = 1, .why = LAYOUT_CURE },
	{ "this copy itself (its id, open): refused",
	  /* t5700 'a leg that is this copy itself, or a copy of it taken while served' */
	  AT_G3, .leg_gen = G3, .leg_copy = ME, .leg_flags = LL_IMAGE_F_OPEN,
	  .verdict = LL_GEN_ITSELF, .refused = 1, .why = ITSELF_CURE },
	{ "this copy itself: refused even with resolve=discard-leg",
	  /* none */
	  AT_G3, .leg_gen = G3, .leg_copy = ME, .leg_flags = LL_IMAGE_F_OPEN, .discard = 1,
	  .verdict = LL_GEN_ITSELF, .refused = 1, .why = ITSELF_CURE },
	{ "another volume: refused, naming both",
	  /* none */
	  AT_G3, LEG_AT(G3), .other_volume = 1,
	  .verdict = LL_GEN_FOREIGN, .refused = 1,
	  .why = "it holds volume 02020202020202020202020202020202, not this volume "
		 "01010101010101010101010101010101" },
	{ "this copy's id and open, but another volume: foreign, not itself",
	  /* none */
	  AT_G3, .leg_gen = G3, .leg_copy = ME, .leg_flags = LL_IMAGE_F_OPEN,
	  .other_volume = 1,
	  .verdict = LL_GEN_FOREIGN, .refused = 1,
	  .why = "it holds volume 02020202020202020202020202020202, not this volume "
		 "01010101010101010101010101010101" },

	/* ---- a copy of this volume, by its generation ---- */
	{ "generation 0 (a sync cut short): resynced whole",
	  /* none: t5600 'a leg that verify finds different...' gives a leg generation 0,
	   * but resyncs it in the same session; nothing probes it meanwhile */
	  AT_G3, LEG_AT(0), .me_bitmap = G2,
	  .verdict = LL_GEN_UNFINISHED, .whole = 1, .identified = 1, .why = "" },
	{ "this generation, closed cleanly: what the map holds (nothing: in sync)",
	  /* t5500 'connected and in sync'; t5700 'named again...' (leg B) */
	  AT_G3, LEG_AT(G3),
	  .verdict = LL_GEN_CURRENT, .identified = 1, .why = "" },
	{ "this generation while the map tracks another copy: still the map",
	  /* t5700 'named again, C gets only the regions it missed' (leg B, at G2 with
	   * the map against G1) */
	  AT_G3, LEG_AT(G3), .me_bitmap = G2,
	  .verdict = LL_GEN_CURRENT, .identified = 1, .why = "" },
	{ "the generation the map is against: behind by the map",
	  /* t5000 'the leg returns: only the three regions written meanwhile are
	   * copied'; t5700 'named again, C gets only the regions it missed' */
	  AT_G3, LEG_AT(G2), .me_bitmap = G2,
	  .verdict = LL_GEN_MAP, .identified = 1, .why = "" },
	{ "a crashed primary back as a leg: its activity log too",
	  /* t5800 'the crashed primary, back as a leg, gets its activity log's extents
	   * resynced' */
	  AT_G3, LEG_AT(G3), .leg_flags = LL_IMAGE_F_OPEN | LL_IMAGE_F_PRIMARY,
	  .verdict = LL_GEN_CURRENT, .identified = 1, .own = LL_GEN_OWN_AL, .why = "" },
	{ "a former primary with stale regions: they too",
	  /* t5800 'back as a leg, the copy with a stale region gets that region' */
	  AT_G3, LEG_AT(G3), .leg_flags = LL_IMAGE_F_PRIMARY, .leg_nstale = 1,
	  .verdict = LL_GEN_CURRENT, .identified = 1, .own = LL_GEN_OWN_STALE, .why = "" },
	{ "at the map's generation, stale regions and left open: both",
	  /* none */
	  AT_G3, LEG_AT(G2), .me_bitmap = G2, .leg_flags = LL_IMAGE_F_OPEN, .leg_nstale = 2,
	  .verdict = LL_GEN_MAP, .identified = 1, .own = LL_GEN_OWN_STALE | LL_GEN_OWN_AL,
	  .why = "" },
	{ "more stale regions than its list holds: all of it, and nothing else to read",
	  /* none: t5000 makes a copy stale everywhere, then serves it as the primary */
	  AT_G3, LEG_AT(G3), .leg_flags = LL_IMAGE_F_STALE_ALL | LL_IMAGE_F_OPEN,
	  .leg_nstale = 3,
	  .verdict = LL_GEN_CURRENT, .identified = 1, .whole = 1, .own = LL_GEN_OWN_STALE_ALL,
	  .why = STALE_ALL_NOTE },
	{ "an earlier generation of this copy's: behind by writes no map records, whole",
	  /* t5600 'A is lost for good; B promoted with C as its leg resyncs C whole';
	   * t5700 'forget=ID: C gone for good ... named again it is resynced whole' */
	  AT_G3, LEG_AT(G1), .me_bitmap = G2,
	  .verdict = LL_GEN_EARLIER, .identified = 1, .whole = 1,
	  .why = "it has generation 0000000000000011, an earlier one of this copy's (now "
		 "0000000000000033): it is behind by writes no map here records, so all of it "
		 "is resynced" },
	{ "the oldest generation this copy's history holds: still earlier",
	  /* none */
	  .me_gen = G5, .me_hist = { G4, G3, G2, G1 }, LEG_AT(G1),
	  .verdict = LL_GEN_EARLIER, .identified = 1, .whole = 1,
	  .why = "it has generation 0000000000000011, an earlier one of this copy's (now "
		 "0000000000000055): it is behind by writes no map here records, so all of it "
		 "is resynced" },
	{ "newer: this copy's generation is in the leg's history: refused, both cures",
	  /* t5600 'B as primary again refuses C, which is ahead of it, with both cures' */
	  AT_G3, LEG_AT(G4), .leg_hist = { G3, G2 },
	  .verdict = LL_GEN_NEWER, .refused = 1, .split = 1, .identified = 1,
	  .why = CURE_NEWER("0000000000000044", "0000000000000033", "1", "1") },
	{ "newer: the cure names this LUN",
	  /* none: the tests serve every mirrored LUN as tid 1 lun 1 */
	  AT_G3, LEG_AT(G4), .leg_hist = { G3 }, .tid = 7, .lun = 3,
	  .verdict = LL_GEN_NEWER, .refused = 1, .split = 1, .identified = 1,
	  .why = CURE_NEWER("0000000000000044", "0000000000000033", "7", "3") },
	{ "split brain: both went on from G2 on their own: refused, both cures",
	  /* t5000 'a split brain is refused, naming both generations and the cure' */
	  AT_G3, LEG_AT(LONE), .leg_hist = { G2, G1 }, .me_bitmap = G2,
	  .verdict = LL_GEN_SPLIT, .refused = 1, .split = 1, .identified = 1,
	  .why = CURE_SPLIT("0000000000000099", "0000000000000033", "0000000000000022") },
	{ "a generation older than this copy's history holds: split brain",
	  /* none: mirror.md, a forgotten copy whose generation is too old to be known */
	  .me_gen = G5, .me_hist = { G4, G3, G2, 0x0f }, LEG_AT(G1),
	  .verdict = LL_GEN_SPLIT, .refused = 1, .split = 1, .identified = 1,
	  .why = CURE_SPLIT("0000000000000011", "0000000000000055", "0000000000000000") },
	{ "no map generation: an unknown generation is not taken for the map's",
	  /* none */
	  AT_G3, LEG_AT(0x77),
	  .verdict = LL_GEN_SPLIT, .refused = 1, .split = 1, .identified = 1,
	  .why = CURE_SPLIT("0000000000000077", "0000000000000033", "0000000000000000") },

	/* ---- the lease names the generation the manager recorded ---- */
	{ "newer, this copy's generation the recorded one: the leg's never was, whole",
	  /* t3765 (the partitioned primary's copy back as a leg), t3760 (a close
	   * whose leg flush went unanswered started a generation) */
	  AT_G3, LEG_AT(G4), .leg_hist = { G3, G2 }, .recorded = G3,
	  .verdict = LL_GEN_UNRECORDED, .whole = 1, .unsynced_first = 1, .identified = 1,
	  .why = UNRECORDED("0000000000000044", "0000000000000033") },
	{ "split, this copy's generation the recorded one: the leg's never was, whole",
	  /* t3765: the new primary began a generation of its own meanwhile */
	  AT_G3, LEG_AT(LONE), .leg_hist = { G2, G1 }, .me_bitmap = G2, .recorded = G3,
	  .verdict = LL_GEN_UNRECORDED, .whole = 1, .unsynced_first = 1, .identified = 1,
	  .why = UNRECORDED("0000000000000099", "0000000000000033") },
	{ "newer, another generation recorded (this copy's is not yet): refused",
	  /* none: a probe while this copy's new generation waits for the manager */
	  AT_G3, LEG_AT(G4), .leg_hist = { G3, G2 }, .recorded = G2,
	  .verdict = LL_GEN_NEWER, .refused = 1, .split = 1, .identified = 1,
	  .why = CURE_NEWER("0000000000000044", "0000000000000033", "1", "1") },
	{ "the recorded generation does not touch a leg that is behind",
	  /* t3760: the old primary back as a leg, at the map's generation */
	  AT_G3, LEG_AT(G2), .me_bitmap = G2, .recorded = G3,
	  .verdict = LL_GEN_MAP, .identified = 1, .why = "" },

	/* ---- which copy the leg is ---- */
	{ "no copy id (an older lunlink made it): a new one",
	  /* none: every image the tests make has one */
	  AT_G3, .leg_gen = G3, .leg_copy = 0,
	  .verdict = LL_GEN_CURRENT, .identified = 1, .copy_id = LL_GEN_ID_NONE, .why = "" },
	{ "another leg's copy id (its file copied whole): a new one",
	  /* t5700 'a leg whose image has another copy's id (a file copied whole) gets
	   * its own' */
	  AT_G3, .leg_gen = G3, .leg_copy = TWIN, .others = { TWIN, 0 },
	  .verdict = LL_GEN_CURRENT, .identified = 1, .copy_id = LL_GEN_ID_TWIN, .twin = 0,
	  .why = "" },
	{ "this copy's id, closed (a copy of its file not served then): a new one",
	  /* none */
	  AT_G3, .leg_gen = G3, .leg_copy = ME,
	  .verdict = LL_GEN_CURRENT, .identified = 1, .copy_id = LL_GEN_ID_THIS, .why = "" },
	{ "a split leg is still identified: it is that copy, not an absent one",
	  /* t5000 'a split brain is refused' (then the copy is not named absent) */
	  AT_G3, .leg_gen = LONE, .leg_copy = TWIN, .others = { 0, TWIN },
	  .verdict = LL_GEN_SPLIT, .refused = 1, .split = 1, .identified = 1,
	  .copy_id = LL_GEN_ID_TWIN, .twin = 1,
	  .why = CURE_SPLIT("0000000000000099", "0000000000000033", "0000000000000000") },

	/* blank copies (t5900 reaches the first, the second and the fourth) */
	{ "both blank, this volume and size: in sync, nothing copied",
	  AT_G3, LEG_AT(LONE), .leg_flags = LL_IMAGE_F_FRESH, .me_blank = 1, .leg_blank = 1,
	  .verdict = LL_GEN_BLANK, .identified = 1, .why = "" },
	{ "a blank leg, this copy written since create: fresh, resynced whole",
	  AT_G3, LEG_AT(LONE), .leg_flags = LL_IMAGE_F_FRESH, .leg_blank = 1,
	  .verdict = LL_GEN_FRESH, .whole = 1, .unsynced_first = 1, .identified = 1, .why = "" },
	/* none: the tests make blank pairs of one size */
	{ "both blank but of other sizes: fresh, resynced whole",
	  AT_G3, LEG_AT(LONE), .leg_flags = LL_IMAGE_F_FRESH, .me_blank = 1, .leg_blank = 1,
	  .leg_size = 16 << 20,
	  .verdict = LL_GEN_FRESH, .whole = 1, .unsynced_first = 1, .identified = 1, .why = "" },
	{ "both blank, another volume: refused as foreign",
	  AT_G3, LEG_AT(LONE), .me_blank = 1, .leg_blank = 1, .other_volume = 1,
	  .verdict = LL_GEN_FOREIGN, .refused = 1,
	  .why = "it holds volume 02020202020202020202020202020202, not this volume "
		 "01010101010101010101010101010101" },
	/* none: resolve=discard-leg is for split legs, not blank ones */
	{ "both blank with resolve=discard-leg: discarded, resynced whole",
	  AT_G3, LEG_AT(LONE), .me_blank = 1, .leg_blank = 1, .discard = 1,
	  .verdict = LL_GEN_DISCARD, .whole = 1, .unsynced_first = 1, .identified = 1,
	  .why = "" },
};

static void check_row(const struct row *w, const struct ll_image *base)
{
	struct ll_image me = *base, leg = *base;
	struct ll_gen_facts f = {
		.me = &me, .leg = &leg, .sb = 1, .leg_ids = w->others, .nleg_ids = 2,
		.discard = w->discard, .tid = w->tid ? w->tid : 1, .lun = w->lun ? w->lun : 1,
		.recorded = w->recorded,
	};
	struct ll_gen_result r;

	me.gen_current = w->me_gen;
	me.gen_bitmap = w->me_bitmap;
	memcpy(me.gen_history, w->me_hist, sizeof(me.gen_history));
	me.flags = LL_IMAGE_F_OPEN | LL_IMAGE_F_PRIMARY;	/* served as the primary */
	leg.gen_current = w->leg_gen;
	memcpy(leg.gen_history, w->leg_hist, sizeof(leg.gen_history));
	leg.copy_id = w->leg_copy;
	leg.flags = w->leg_flags;
	leg.nstale = w->leg_nstale;
	for (unsigned int i = 0; i < leg.nstale; i++)
		leg.stale[i] = (struct ll_image_stale){ 10 * i, 1 };
	if (w->leg_region)
		leg.region_size = w->leg_region;
	if (w->leg_max)
		leg.max_data_size = w->leg_max;
	if (w->other_volume)
		memset(leg.volume_id, 2, sizeof(leg.volume_id));
	if (w->leg_blank)
		leg.blank_gen = leg.gen_current;
	if (w->leg_size)
		leg.data_size = w->leg_size;
	f.me_blank = w->me_blank;
	if (w->no_sb)
		f.sb = 0;
	else if (w->damaged) {
		f.sb = -1;
		f.sb_err = "lunlink superblock is damaged (checksum)";
	}
	if (f.sb != 1)
		memset(&leg, 0xee, sizeof(leg));	/* nothing of it may be read */

	is_int(ll_gen_compare(&f, &r), w->verdict, "%s: %s", w->name, ll_gen_name(w->verdict));
	is_int(r.verdict, w->verdict, "  the result says so too");
	is_int(r.refused, w->refused, "  refused");
	is_int(r.split, w->split, "  split (resolve=discard-leg may overwrite it)");
	is_int(r.whole, w->whole, "  resynced whole");
	is_int(r.unsynced_first, w->unsynced_first, "  generation 0 before the resync");
	is_int(r.identified, w->identified, "  identified as a copy of this volume");
	if (w->identified) {
		is_int(r.copy_id, w->copy_id, "  its copy id");
		if (w->copy_id == LL_GEN_ID_TWIN)
			is_int(r.twin, w->twin, "  the twin leg");
	}
	is_int(r.own, w->own, "  its own record of what it lacks");
	is_str(r.why, w->why, "  what the log says");
}

int main(void)
{
	struct ll_image base;
	char err[256];

	if (ll_image_layout(&base, 32 << 20, 64 << 20, LL_IMAGE_REGION_DEFAULT, err, sizeof(err))) {
		diag("layout: %s", err);
		return 1;
	}
	memset(base.volume_id, 1, sizeof(base.volume_id));
	base.copy_id = ME;
	base.ncopies = 1;
	base.copies[0] = ME;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i], &base);

	/* the history: generation 0 is never one a copy went through */
	base.gen_history[0] = G1;
	ok(ll_gen_in_history(&base, G1), "G1 is in a history that holds it");
	ok(!ll_gen_in_history(&base, G2), "G2 is not");
	ok(!ll_gen_in_history(&base, 0), "0 never is, though the empty slots hold it");

	/* every verdict has a name */
	for (int v = LL_GEN_RAW; v <= LL_GEN_UNRECORDED; v++)
		ok(strcmp(ll_gen_name(v), "?"), "verdict %d is named: %s", v, ll_gen_name(v));
	is_str(ll_gen_name((enum ll_gen_verdict)99), "?", "an unknown verdict is '?'");
	return done_testing();
}
