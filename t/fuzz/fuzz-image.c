// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-image.c: libFuzzer target for the lunlink image superblock reader
 * (target/image.c), which reads outside input: whatever is at the start of
 * a backing store.  The first 8 bytes of an input give the file size, the
 * rest is the superblock.  Invariants: a superblock taken as valid lies
 * within the file and re-encodes to the same bytes; a refusal has a
 * message.
 */
#include "lunlink/image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz-image: %s:%d: invariant broken: %s\n", \
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t again[LL_IMAGE_SB_SIZE];
	struct ll_image im;
	uint64_t file_size = 0;
	char err[64];
	int r;

	if (size < 8)
		return 0;
	memcpy(&file_size, data, 8);
	data += 8;
	size -= 8;
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
		ll_image_encode(&im, again);
		check(!memcmp(again, data, LL_IMAGE_SB_SIZE));
	}
	return 0;
}
