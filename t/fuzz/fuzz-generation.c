// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-generation.c: libFuzzer target for the generation verdict
 * (target/lib/generation.c) over a leg's superblock, which is outside
 * input: whatever the peer's LUN holds at its start.  The leg's superblock
 * starts as this copy's (a valid one) and the input patches it: byte 0
 * holds flags (bit 0 resolve=discard-leg, bit 1 this copy still blank,
 * bit 2 recompute the checksum after patching, so that the verdict is
 * reached rather than the checksum refusal, bit 3 the lease names this
 * copy's generation as recorded, bit 4 another one), then each 3 bytes patch one
 * byte (a 12-bit offset, a value).  Invariants: a verdict with a name; a
 * refusal copies nothing, says why, and is the only kind that may be split;
 * a leg taken is identified as a copy of this volume; the reason fits and
 * ends; a twin names another leg; only blank copies are in sync with no copy;
 * a leg is found never recorded only when this copy's generation is the
 * recorded one, and is then resynced whole.
 */
#include "lunlink/generation.h"
#include "lunlink/image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sb[LL_IMAGE_SB_SIZE];
	static struct ll_image me;
	static int ready;
	uint64_t ids[2] = { 0x5151, 0 };
	struct ll_image leg;
	struct ll_gen_facts f = { .me = &me, .leg = &leg, .leg_ids = ids, .nleg_ids = 2,
				  .tid = 1, .lun = 1 };
	struct ll_gen_result r;
	char err[256];
	size_t i;

	if (!ready) {
		char lerr[128];

		if (ll_image_layout(&me, 32 << 20, 64 << 20, LL_IMAGE_REGION_DEFAULT, lerr,
				    sizeof(lerr)))
			abort();
		memset(me.volume_id, 1, sizeof(me.volume_id));
		me.copy_id = 0xaaaa;
		me.ncopies = 1;
		me.copies[0] = me.copy_id;
		me.gen_current = 0x33;
		me.gen_history[0] = 0x22;
		me.flags = LL_IMAGE_F_OPEN | LL_IMAGE_F_PRIMARY;
		ready = 1;
	}
	if (size < 1)
		return 0;
	f.discard = data[0] & 1;
	f.me_blank = !!(data[0] & 2);
	f.recorded = data[0] & 8 ? me.gen_current : data[0] & 16 ? 0x22 : 0;
	ll_image_encode(&me, sb);
	for (i = 1; i + 3 <= size; i += 3)
		sb[((size_t)data[i] << 4 | data[i + 1] >> 4) % (LL_IMAGE_SB_SIZE - 4)] = data[i + 2];
	if (data[0] & 4) {
		uint32_t crc = ll_crc32c(0, sb, LL_IMAGE_SB_SIZE - 4);

		for (int k = 0; k < 4; k++)
			sb[LL_IMAGE_SB_SIZE - 4 + k] = (uint8_t)(crc >> (8 * k));
	}
	err[0] = '\0';
	f.sb = ll_image_decode(&leg, sb, sizeof(sb), UINT64_MAX, err, sizeof(err));
	f.sb_err = err;

	ll_gen_compare(&f, &r);
	check(strcmp(ll_gen_name(r.verdict), "?"));
	check(memchr(r.why, '\0', sizeof(r.why)));
	if (r.refused)
		check(!r.whole && !r.unsynced_first && r.why[0]);
	if (r.split)
		check(r.refused);
	if (!r.refused)
		check(r.identified && f.sb == 1);
	if (r.identified && r.copy_id == LL_GEN_ID_TWIN)
		check(r.twin < f.nleg_ids && ids[r.twin] == leg.copy_id);
	if (r.verdict == LL_GEN_UNRECORDED)
		check(f.recorded == me.gen_current && r.whole && r.unsynced_first && !r.refused);
	if (r.verdict == LL_GEN_BLANK)
		check(f.me_blank && !f.discard && !r.whole);
	return 0;
}
