// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-image.c: libFuzzer target for the lunlink image superblock reader
 * (target/lib/image.c), which reads outside input: whatever is at the start of
 * a backing store.  The first 8 bytes of an input give the file size, the
 * rest is the superblock.  If the file size's top bit is set (it is
 * cleared), the superblock's checksum is computed first, so that the
 * fuzzer reaches the checks behind it (sizes, layout, the stale list)
 * instead of stopping at the CRC.  Invariants: a superblock taken as valid
 * lies within the file, its stale list within its regions, its copy ids
 * are unique and not 0, and it
 * re-encodes to bytes that decode to the same superblock; with the
 * checksum as given (no fix-up), to the same bytes; a refusal has a
 * message.
 */
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
	uint8_t again[LL_IMAGE_SB_SIZE];
	struct ll_image im, im2;
	uint64_t file_size = 0;
	char err[64];
	int r, fixed = 0;

	if (size < 8)
		return 0;
	memcpy(&file_size, data, 8);
	data += 8;
	size -= 8;
	if ((file_size >> 63) && size >= LL_IMAGE_SB_SIZE) {
		uint32_t crc;

		file_size &= ~(1ULL << 63);
		memcpy(sb, data, LL_IMAGE_SB_SIZE);
		crc = ll_crc32c(0, sb, LL_IMAGE_SB_SIZE - 4);
		for (int i = 0; i < 4; i++)
			sb[LL_IMAGE_SB_SIZE - 4 + i] = (uint8_t)(crc >> (8 * i));
		data = sb;
		size = LL_IMAGE_SB_SIZE;
		fixed = 1;
	}
	err[0] = '\0';
	r = ll_image_decode(&im, data, size, file_size, err, sizeof(err));
	check(r >= -1 && r <= 1);
	if (r < 0)
		check(err[0] && memchr(err, '\0', sizeof(err)));
	if (r == 1) {
		check(size >= LL_IMAGE_SB_SIZE);
		check(im.data_offset >= im.al_offset + im.al_bytes);
		check(im.data_offset + im.data_size <= file_size);
		check(im.data_offset + im.data_size >= im.data_offset);
		check(im.nstale <= LL_IMAGE_STALE_MAX);
		for (uint32_t i = 0; i < im.nstale; i++)
			check(im.stale[i].count && im.stale[i].start < ll_image_regions(&im) &&
			      im.stale[i].start + im.stale[i].count <= ll_image_regions(&im));
		check(im.ncopies <= LL_IMAGE_COPIES_MAX);
		for (uint32_t i = 0; i < im.ncopies; i++)
			check(im.copies[i] && ll_image_copy_index(&im, im.copies[i]) == (int)i);
		ll_image_encode(&im, again);
		check(ll_image_decode(&im2, again, sizeof(again), file_size, err, sizeof(err)) == 1);
		check(!memcmp(&im, &im2, sizeof(im)));
		if (!fixed)	/* bytes no field holds may differ only after a fix-up */
			check(!memcmp(again, data, LL_IMAGE_SB_SIZE));
	}
	return 0;
}
