// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * image.c: lay out, encode and check a lunlink image's superblock (the
 * format is described in include/lunlink/image.h).  Pure C with no tgt
 * state: the module, lunlink-image(8), the unit tests and the fuzzer share
 * it.  A superblock is outside input: every field is checked against the
 * others and against the file's size before anything trusts it.
 */
#include "lunlink/errmsg.h"
#include "lunlink/image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* CRC32C (Castagnoli), reflected, table-driven. */
uint32_t ll_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;
	uint32_t i, j, c;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			c = i;
			for (j = 0; j < 8; j++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Where the stale list starts in the superblock: its count (u32), then
 * (start, count) pairs of u64.  Images made before it have zeros here. */
#define STALE_AT	256

/* Where the blank mark is (u64, blank_gen); zeros before it existed. */
#define BLANK_AT	152

/* Where the copy ids are: this copy's (u64), the count (u32, then 4 bytes
 * of padding), then LL_IMAGE_COPIES_MAX u64 ids.  Zeros before. */
#define COPIES_AT	3584

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Round up to a power of two a, or 0 on overflow. */
static uint64_t round_up(uint64_t v, uint64_t a)
{
	if (v > UINT64_MAX - (a - 1))
		return 0;
	return (v + a - 1) & ~(a - 1);
}

/* The metadata layout that follows from the sizes: 0, or -1. */
static int place(struct ll_image *im)
{
	uint64_t regions, end;

	regions = im->max_data_size / im->region_size +
		  (im->max_data_size % im->region_size != 0);
	im->dirty_offset = LL_IMAGE_SB_SIZE;
	im->dirty_bytes = round_up(regions / 8 + (regions % 8 != 0), 4096);
	im->al_offset = im->dirty_offset + im->dirty_bytes;
	im->al_bytes = round_up((uint64_t)LL_IMAGE_AL_SLOTS * 8, 4096);
	end = im->al_offset + im->al_bytes;
	if (!im->dirty_bytes || end < im->al_offset)
		return -1;
	im->data_offset = round_up(end, LL_IMAGE_ALIGN);
	if (!im->data_offset || im->data_offset > UINT64_MAX - im->max_data_size)
		return -1;
	return 0;
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int ll_image_layout(struct ll_image *im, uint64_t data_size, uint64_t max_data_size,
		    uint32_t region_size, char *err, size_t errlen)
{
	uint64_t ids[2 + LL_IMAGE_GEN_HISTORY];

	memset(im, 0, sizeof(*im));
	if (!data_size || data_size % 512)
		return ll_fail(err, errlen, "size %llu is not a positive multiple of 512 bytes",
			    (unsigned long long)data_size);
	if (!max_data_size)
		max_data_size = data_size;
	if (max_data_size < data_size || max_data_size % 512)
		return ll_fail(err, errlen, "maximum size %llu is smaller than the size %llu "
			    "or not a multiple of 512", (unsigned long long)max_data_size,
			    (unsigned long long)data_size);
	if (!is_pow2(region_size) || region_size < LL_IMAGE_REGION_MIN ||
	    region_size > LL_IMAGE_REGION_MAX)
		return ll_fail(err, errlen, "region size %u is not a power of two from %u to %u",
			    region_size, LL_IMAGE_REGION_MIN, LL_IMAGE_REGION_MAX);
	im->version = LL_IMAGE_VERSION;
	im->region_size = region_size;
	im->data_size = data_size;
	im->max_data_size = max_data_size;
	if (place(im))
		return ll_fail(err, errlen, "size %llu is too large", (unsigned long long)max_data_size);
	if (getrandom(im->volume_id, sizeof(im->volume_id), 0) != sizeof(im->volume_id) ||
	    getrandom(ids, sizeof(ids), 0) != sizeof(ids))
		return ll_fail(err, errlen, "getrandom: %s", strerror(errno));
	im->gen_current = ids[0] | 1;	/* never 0: 0 means "none" */
	im->gen_bitmap = 0;
	im->flags = LL_IMAGE_F_FRESH;
	im->copy_id = ll_image_new_copy_id();
	im->ncopies = 1;
	im->copies[0] = im->copy_id;
	return 0;
}

void ll_image_encode(const struct ll_image *im, uint8_t *sb)
{
	memset(sb, 0, LL_IMAGE_SB_SIZE);
	memcpy(sb, LL_IMAGE_MAGIC, 16);
	put32(sb + 16, im->version);
	put32(sb + 20, im->flags);
	put32(sb + 24, im->region_size);
	put64(sb + 32, im->data_offset);
	put64(sb + 40, im->data_size);
	put64(sb + 48, im->max_data_size);
	put64(sb + 56, im->dirty_offset);
	put64(sb + 64, im->dirty_bytes);
	put64(sb + 72, im->al_offset);
	put64(sb + 80, im->al_bytes);
	memcpy(sb + 88, im->volume_id, 16);
	put64(sb + 104, im->gen_current);
	put64(sb + 112, im->gen_bitmap);
	for (int i = 0; i < LL_IMAGE_GEN_HISTORY; i++)
		put64(sb + 120 + 8 * i, im->gen_history[i]);
	put32(sb + STALE_AT, im->nstale);
	for (uint32_t i = 0; i < im->nstale && i < LL_IMAGE_STALE_MAX; i++) {
		put64(sb + STALE_AT + 8 + 16 * i, im->stale[i].start);
		put64(sb + STALE_AT + 16 + 16 * i, im->stale[i].count);
	}
	put64(sb + COPIES_AT, im->copy_id);
	put32(sb + COPIES_AT + 8, im->ncopies);
	for (uint32_t i = 0; i < im->ncopies && i < LL_IMAGE_COPIES_MAX; i++)
		put64(sb + COPIES_AT + 16 + 8 * i, im->copies[i]);
	put64(sb + BLANK_AT, im->blank_gen);
	put32(sb + LL_IMAGE_SB_SIZE - 4, ll_crc32c(0, sb, LL_IMAGE_SB_SIZE - 4));
}

int ll_image_decode(struct ll_image *im, const uint8_t *sb, size_t len,
		    uint64_t file_size, char *err, size_t errlen)
{
	struct ll_image want;
	uint32_t crc;

	if (len < 16 || memcmp(sb, LL_IMAGE_MAGIC, 16))
		return 0;
	if (len < LL_IMAGE_SB_SIZE)
		return ll_fail(err, errlen, "lunlink superblock cut short (%zu of %u bytes)",
			    len, LL_IMAGE_SB_SIZE);
	crc = ll_crc32c(0, sb, LL_IMAGE_SB_SIZE - 4);
	if (crc != get32(sb + LL_IMAGE_SB_SIZE - 4))
		return ll_fail(err, errlen, "lunlink superblock is damaged (checksum %08x, "
			    "expected %08x)", get32(sb + LL_IMAGE_SB_SIZE - 4), crc);
	memset(im, 0, sizeof(*im));
	im->version = get32(sb + 16);
	im->flags = get32(sb + 20);
	im->region_size = get32(sb + 24);
	im->data_offset = get64(sb + 32);
	im->data_size = get64(sb + 40);
	im->max_data_size = get64(sb + 48);
	im->dirty_offset = get64(sb + 56);
	im->dirty_bytes = get64(sb + 64);
	im->al_offset = get64(sb + 72);
	im->al_bytes = get64(sb + 80);
	memcpy(im->volume_id, sb + 88, 16);
	im->gen_current = get64(sb + 104);
	im->gen_bitmap = get64(sb + 112);
	for (int i = 0; i < LL_IMAGE_GEN_HISTORY; i++)
		im->gen_history[i] = get64(sb + 120 + 8 * i);
	im->nstale = get32(sb + STALE_AT);
	for (uint32_t i = 0; i < im->nstale && i < LL_IMAGE_STALE_MAX; i++) {
		im->stale[i].start = get64(sb + STALE_AT + 8 + 16 * i);
		im->stale[i].count = get64(sb + STALE_AT + 16 + 16 * i);
	}
	im->copy_id = get64(sb + COPIES_AT);
	im->ncopies = get32(sb + COPIES_AT + 8);
	for (uint32_t i = 0; i < im->ncopies && i < LL_IMAGE_COPIES_MAX; i++)
		im->copies[i] = get64(sb + COPIES_AT + 16 + 8 * i);
	im->blank_gen = get64(sb + BLANK_AT);

	if (im->version != LL_IMAGE_VERSION)
		return ll_fail(err, errlen, "lunlink image format version %u; this lunlink reads "
			    "version %u", im->version, LL_IMAGE_VERSION);
	if (!is_pow2(im->region_size) || im->region_size < LL_IMAGE_REGION_MIN ||
	    im->region_size > LL_IMAGE_REGION_MAX)
		return ll_fail(err, errlen, "superblock region size %u is invalid", im->region_size);
	if (!im->data_size || im->data_size % 512 || im->max_data_size < im->data_size ||
	    im->max_data_size % 512)
		return ll_fail(err, errlen, "superblock sizes are invalid (size %llu, maximum %llu)",
			    (unsigned long long)im->data_size,
			    (unsigned long long)im->max_data_size);
	/* the layout must be the one the sizes give */
	want = *im;
	if (place(&want) || want.dirty_offset != im->dirty_offset ||
	    want.dirty_bytes != im->dirty_bytes || want.al_offset != im->al_offset ||
	    want.al_bytes != im->al_bytes || want.data_offset != im->data_offset)
		return ll_fail(err, errlen, "superblock layout is inconsistent with its sizes");
	if (im->nstale > LL_IMAGE_STALE_MAX)
		return ll_fail(err, errlen, "superblock stale list has %u ranges (at most %u)",
			    im->nstale, LL_IMAGE_STALE_MAX);
	for (uint32_t i = 0; i < im->nstale; i++)
		if (!im->stale[i].count || im->stale[i].start >= ll_image_regions(im) ||
		    im->stale[i].count > ll_image_regions(im) - im->stale[i].start)
			return ll_fail(err, errlen, "superblock stale range %u (regions %llu+%llu) "
				    "is outside the image's %llu regions", i,
				    (unsigned long long)im->stale[i].start,
				    (unsigned long long)im->stale[i].count,
				    (unsigned long long)ll_image_regions(im));
	if (im->ncopies > LL_IMAGE_COPIES_MAX)
		return ll_fail(err, errlen, "superblock records %u copies of the volume (at most %u)",
			    im->ncopies, LL_IMAGE_COPIES_MAX);
	for (uint32_t i = 0; i < im->ncopies; i++)
		if (!im->copies[i] || ll_image_copy_index(im, im->copies[i]) != (int)i)
			return ll_fail(err, errlen, "superblock copy id %u (%016llx) is zero or "
				    "recorded twice", i, (unsigned long long)im->copies[i]);
	if (file_size < im->data_offset || file_size - im->data_offset < im->data_size)
		return ll_fail(err, errlen, "the image is %llu bytes, but its data ends at %llu "
			    "(data offset %llu + size %llu): truncated?",
			    (unsigned long long)file_size,
			    (unsigned long long)(im->data_offset + im->data_size),
			    (unsigned long long)im->data_offset,
			    (unsigned long long)im->data_size);
	return 1;
}

int ll_image_read(int fd, uint64_t file_size, struct ll_image *im, char *err, size_t errlen)
{
	void *sb;
	ssize_t n;
	int ret;

	if (posix_memalign(&sb, 4096, LL_IMAGE_SB_SIZE)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = pread(fd, sb, LL_IMAGE_SB_SIZE, 0);
	if (n < 0) {
		snprintf(err, errlen, "cannot read the image's first block: %s", strerror(errno));
		free(sb);
		return -1;
	}
	ret = ll_image_decode(im, sb, (size_t)n, file_size, err, errlen);
	free(sb);
	return ret;
}

int ll_image_store(int fd, const struct ll_image *im)
{
	void *sb;
	int ret = 0;

	if (posix_memalign(&sb, 4096, LL_IMAGE_SB_SIZE))
		return -ENOMEM;
	ll_image_encode(im, sb);
	if (pwrite(fd, sb, LL_IMAGE_SB_SIZE, 0) != (ssize_t)LL_IMAGE_SB_SIZE || fdatasync(fd))
		ret = errno ? -errno : -EIO;
	free(sb);
	return ret;
}

/* A random u64 (from the clock and pid if getrandom fails), never 0. */
static uint64_t random_id(void)
{
	uint64_t id = 0;

	while (!id)
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid() << 32 ^
			     (uint64_t)clock();
	return id;
}

void ll_image_new_generation(struct ll_image *im)
{
	uint64_t g;

	memmove(im->gen_history + 1, im->gen_history,
		sizeof(im->gen_history) - sizeof(im->gen_history[0]));
	im->gen_history[0] = im->gen_current;
	do
		g = random_id() | 1;	/* never 0: 0 is "not yet consistent" */
	while (g == im->gen_current);
	im->gen_current = g;
	im->blank_gen = 0;
}

int ll_image_is_blank(const struct ll_image *im)
{
	return im->blank_gen && im->blank_gen == im->gen_current && !im->gen_bitmap &&
	       !im->nstale && !(im->flags & (LL_IMAGE_F_OPEN | LL_IMAGE_F_STALE_ALL));
}

uint64_t ll_image_new_copy_id(void)
{
	return random_id();
}

int ll_image_copy_index(const struct ll_image *im, uint64_t id)
{
	for (uint32_t i = 0; i < im->ncopies && i < LL_IMAGE_COPIES_MAX; i++)
		if (im->copies[i] == id)
			return (int)i;
	return -1;
}

int ll_image_copy_add(struct ll_image *im, uint64_t id)
{
	if (ll_image_copy_index(im, id) >= 0)
		return 0;
	if (im->ncopies >= LL_IMAGE_COPIES_MAX)
		return -1;
	im->copies[im->ncopies++] = id;
	return 1;
}

int ll_image_copy_remove(struct ll_image *im, uint64_t id)
{
	int k = ll_image_copy_index(im, id);

	if (k < 0)
		return -1;
	memmove(im->copies + k, im->copies + k + 1,
		(im->ncopies - (uint32_t)k - 1) * sizeof(im->copies[0]));
	im->ncopies--;
	return 0;
}

uint64_t ll_image_regions(const struct ll_image *im)
{
	return (im->max_data_size + im->region_size - 1) / im->region_size;
}

uint64_t ll_image_stale_regions(const struct ll_image *im)
{
	uint64_t n = 0;

	if (im->flags & LL_IMAGE_F_STALE_ALL)
		return UINT64_MAX;
	for (uint32_t i = 0; i < im->nstale && i < LL_IMAGE_STALE_MAX; i++)
		n += im->stale[i].count;
	return n;
}

uint64_t ll_image_file_size(const struct ll_image *im)
{
	return im->data_offset + im->data_size;
}

void ll_image_id_hex(const uint8_t id[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}
