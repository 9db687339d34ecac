// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for target/lib/image.c: the lunlink image superblock is laid out,
 * encoded and read back exactly, and every damaged or inconsistent one is
 * refused with its reason.
 */
#include "lunlink/image.h"

#include <stdint.h>
#include <string.h>

#include "tap.h"

static uint8_t sb[LL_IMAGE_SB_SIZE];

/* flip one byte and re-checksum: a "valid" superblock with a bad field */
static void poke64(uint8_t *b, size_t off, uint64_t v)
{
	uint32_t crc;

	for (int i = 0; i < 8; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
	crc = ll_crc32c(0, b, LL_IMAGE_SB_SIZE - 4);
	for (int i = 0; i < 4; i++)
		b[LL_IMAGE_SB_SIZE - 4 + i] = (uint8_t)(crc >> (8 * i));
}

int main(void)
{
	struct ll_image im, back;
	char err[256];
	uint8_t copy[LL_IMAGE_SB_SIZE];
	uint64_t fsz;

	/* CRC32C check value of "123456789" */
	is_u64(ll_crc32c(0, "123456789", 9), 0xe3069283, "crc32c check value");

	ok(!ll_image_layout(&im, 64 << 20, 0, LL_IMAGE_REGION_DEFAULT, err, sizeof(err)),
	   "layout of a 64 MiB image");
	is_u64(im.data_offset, 1 << 20, "data starts at 1 MiB");
	is_u64(im.dirty_offset, 4096, "dirty map right after the superblock");
	is_u64(im.dirty_bytes, 4096, "one bit per 64 KiB region, in whole pages");
	ok(im.gen_current != 0 && (im.gen_current & 1), "a generation id is set");
	fsz = ll_image_file_size(&im);
	is_u64(fsz, (1 << 20) + (64 << 20), "file size");

	ll_image_encode(&im, sb);
	is_int(ll_image_decode(&back, sb, sizeof(sb), fsz, err, sizeof(err)), 1, "decodes");
	ok(!memcmp(&im, &back, sizeof(im)), "round trip is exact");

	back = im;
	back.gen_history[LL_IMAGE_GEN_HISTORY - 1] = 77;
	ll_image_new_generation(&back);
	ok(back.gen_current != im.gen_current && (back.gen_current & 1),
	   "a new generation: another odd id");
	is_u64(back.gen_history[0], im.gen_current, "  the old one first in the history");
	ok(back.gen_history[LL_IMAGE_GEN_HISTORY - 1] != 77 ||
	   im.gen_history[LL_IMAGE_GEN_HISTORY - 2] == 77, "  the oldest leaves it");
	ok(!memcmp(back.gen_history + 1, im.gen_history,
		   sizeof(im.gen_history) - sizeof(im.gen_history[0])), "  the rest move down");
	is_u64(back.gen_bitmap, im.gen_bitmap, "  the bitmap generation is the caller's");

	/* the blank mark: with the generation it was made at, nothing else */
	ok(!ll_image_is_blank(&im), "a laid-out image is not blank until create says so");
	back = im;
	back.blank_gen = back.gen_current;
	ok(ll_image_is_blank(&back), "blank_gen at the current generation: blank");
	ll_image_encode(&back, copy);
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), 1,
	       "a blank superblock decodes");
	ok(ll_image_is_blank(&back), "  and is blank");
	is_u64(copy[152] | (uint64_t)copy[153] << 8, back.gen_current & 0xffff,
	       "  the mark is at byte 152, where older superblocks hold zeros");
	poke64(copy, 152, 0);
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), 1,
	       "an older superblock (zeros there) decodes");
	ok(!ll_image_is_blank(&back), "  and is not blank");
	back = im;
	back.blank_gen = back.gen_current;
	ll_image_new_generation(&back);
	ok(!back.blank_gen && !ll_image_is_blank(&back), "a new generation ends it");
	back = im;
	back.blank_gen = back.gen_current;
	back.flags |= LL_IMAGE_F_OPEN;
	ok(!ll_image_is_blank(&back), "an open primary's superblock is not blank");
	back.flags &= ~LL_IMAGE_F_OPEN;
	back.nstale = 1;
	back.stale[0].start = 0;
	back.stale[0].count = 1;
	ok(!ll_image_is_blank(&back), "nor one with stale regions");
	back.nstale = 0;
	back.gen_bitmap = 5;
	ok(!ll_image_is_blank(&back), "nor one whose map is against another generation");
	back.gen_bitmap = 0;
	back.blank_gen = back.gen_current + 2;
	ok(!ll_image_is_blank(&back), "nor one marked at another generation");

	memset(copy, 0, sizeof(copy));
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), 0,
	       "zeros are a raw image");
	is_int(ll_image_decode(&back, sb, 10, fsz, err, sizeof(err)), 0, "ten bytes: raw");

	memcpy(copy, sb, sizeof(sb));
	copy[300] ^= 1;
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "a flipped bit is refused");
	like(err, "damaged (checksum", "and the reason says damaged");

	is_int(ll_image_decode(&back, sb, 2048, fsz, err, sizeof(err)), -1, "a short read");
	like(err, "cut short", "says cut short");

	is_int(ll_image_decode(&back, sb, sizeof(sb), fsz - 512, err, sizeof(err)), -1,
	       "a truncated file is refused");
	like(err, "truncated?", "and says so");

	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 16, 2);	/* version 2 (and flags 0) */
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "another format version");
	like(err, "format version 2", "names the version");

	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 32, 4096);	/* data offset inside the metadata */
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "a data offset over the metadata");
	like(err, "inconsistent", "is inconsistent");

	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 40, UINT64_MAX - 511);	/* data size near 2^64 */
	is_int(ll_image_decode(&back, copy, sizeof(copy), UINT64_MAX, err, sizeof(err)), -1,
	       "a huge data size");

	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 48, UINT64_MAX - 511);	/* max size near 2^64 */
	is_int(ll_image_decode(&back, copy, sizeof(copy), UINT64_MAX, err, sizeof(err)), -1,
	       "a huge maximum size");

	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 24, 3000);	/* region size (and the reserved word) */
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "a region size that is not a power of two");
	like(err, "region size", "names the region size");

	/* the stale list: regions this copy lacks, kept in the superblock */
	is_u64(ll_image_regions(&im), 1024, "a 64 MiB image has 1024 regions of 64 KiB");
	im.nstale = 2;
	im.stale[0].start = 3;
	im.stale[0].count = 2;
	im.stale[1].start = 1023;
	im.stale[1].count = 1;
	is_u64(ll_image_stale_regions(&im), 3, "three stale regions");
	ll_image_encode(&im, sb);
	is_int(ll_image_decode(&back, sb, sizeof(sb), fsz, err, sizeof(err)), 1,
	       "a stale list decodes");
	ok(!memcmp(&im, &back, sizeof(im)), "and round-trips exactly");
	im.flags |= LL_IMAGE_F_STALE_ALL;
	is_u64(ll_image_stale_regions(&im), UINT64_MAX, "STALE_ALL: every region");
	im.flags &= ~LL_IMAGE_F_STALE_ALL;

	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 256, LL_IMAGE_STALE_MAX + 1);	/* the list's count */
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "a stale list longer than the superblock holds");
	like(err, "stale list has 201 ranges", "names its length");

	im.stale[1].count = 2;		/* regions 1023-1024: past the last */
	ll_image_encode(&im, copy);
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "a stale range past the image's regions");
	like(err, "stale range 1 (regions 1023+2) is outside the image's 1024 regions",
	     "names the range");
	im.stale[1].count = 0;
	ll_image_encode(&im, copy);
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "an empty stale range");
	im.stale[1].start = UINT64_MAX;
	im.stale[1].count = 2;		/* start + count wraps */
	ll_image_encode(&im, copy);
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "a stale range whose end wraps");
	im.nstale = 0;
	memset(im.stale, 0, sizeof(im.stale));

	/* the copies of the volume: this one's id, and the ones it records */
	ok(im.copy_id != 0, "a new image has a copy id");
	ok(im.ncopies == 1 && im.copies[0] == im.copy_id, "  and records itself");
	im.copies[im.ncopies++] = 0x1234;
	im.copies[im.ncopies++] = ll_image_new_copy_id();
	is_int(ll_image_copy_index(&im, 0x1234), 1, "  a recorded id is found");
	is_int(ll_image_copy_index(&im, 0x4321), -1, "  one not recorded is not");
	ll_image_encode(&im, sb);
	is_int(ll_image_decode(&back, sb, sizeof(sb), fsz, err, sizeof(err)), 1,
	       "copy ids decode");
	ok(!memcmp(&im, &back, sizeof(im)), "  and round-trip exactly");
	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 3584 + 8, LL_IMAGE_COPIES_MAX + 1);	/* the count */
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "more copies than the superblock holds");
	like(err, "records 17 copies", "  names the count");
	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 3584 + 16 + 16, 0x1234);			/* copy 2 = copy 1 */
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "a copy recorded twice");
	like(err, "copy id 2 (0000000000001234) is zero or recorded twice", "  names it");
	memcpy(copy, sb, sizeof(sb));
	poke64(copy, 3584 + 16 + 8, 0);
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), -1,
	       "a copy id of zero");
	memset(copy, 0, sizeof(copy));
	memcpy(copy, sb, 3584);		/* an image made before copy ids */
	poke64(copy, 3584, 0);
	is_int(ll_image_decode(&back, copy, sizeof(copy), fsz, err, sizeof(err)), 1,
	       "an image without copy ids decodes");
	ok(!back.copy_id && !back.ncopies, "  with none");
	is_int(ll_image_copy_add(&im, 0x1234), 0, "adding a recorded copy adds nothing");
	is_int(ll_image_copy_remove(&im, 0x1234), 0, "a recorded copy is removed");
	ok(im.ncopies == 2 && im.copies[0] == im.copy_id && ll_image_copy_index(&im, 0x1234) < 0,
	   "  the others keep their order");
	is_int(ll_image_copy_remove(&im, 0x1234), -1, "  removing it again is refused");
	is_int(ll_image_copy_add(&im, 0x1234), 1, "a copy is added");
	is_int(ll_image_copy_index(&im, 0x1234), 2, "  at the end");
	while (im.ncopies < LL_IMAGE_COPIES_MAX)
		im.copies[im.ncopies] = 0x5000 + im.ncopies, im.ncopies++;
	is_int(ll_image_copy_add(&im, 0x4321), -1, "a full list takes no more");
	im.ncopies = 1;

	ok(ll_image_layout(&im, 1000, 0, 65536, err, sizeof(err)) < 0, "size not in sectors");
	ok(ll_image_layout(&im, 1 << 20, 512, 65536, err, sizeof(err)) < 0, "max below size");
	ok(ll_image_layout(&im, 1 << 20, 0, 1 << 30, err, sizeof(err)) < 0, "region too large");
	ok(ll_image_layout(&im, 1ULL << 62, 0, 4096, err, sizeof(err)) == 0,
	   "a 4 EiB image lays out");
	ok(ll_image_layout(&im, UINT64_MAX - 511, 0, 4096, err, sizeof(err)) < 0,
	   "an image near 2^64 does not");

	return done_testing();
}
