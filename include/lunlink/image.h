/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * image.h: the on-disk format of a lunlink image, shared by the module and
 * lunlink-image(8).
 *
 * A raw image (no superblock) is served as it is, from offset 0.  A lunlink
 * image carries its metadata in front of the data, so that any single copy
 * of a mirrored volume describes itself (seed 003: any surviving copy holds
 * all the data, and says which data it holds):
 *
 *   0                 superblock (4 KiB): sizes, volume id, generation ids,
 *                     and the regions this copy lacks (its stale list)
 *   dirty_offset      dirty-region map: one bit per region, set while the
 *                     region may differ from a peer's copy
 *   al_offset         activity log: the regions being written, so that after
 *                     a crash of the primary only those need resync
 *   data_offset       the volume's data (1 MiB aligned)
 *
 * All integers are little-endian.  The superblock ends with a CRC32C of the
 * bytes before it; a superblock whose magic matches but whose checksum or
 * fields do not is refused, never served as raw data.
 *
 * Fields were added to version 1 in bytes every older superblock holds as
 * zeros, with zero meaning what the image was before the field: an older
 * image reads as it always did, and an older lunlink that rewrites a
 * superblock (it encodes only the fields it knows) writes zeros there.  The
 * blank mark (blank_gen) relies on that: it may only be lost, never kept
 * by mistake, and lost it makes the copy merely not blank (copied whole).
 */
#ifndef LUNLINK_IMAGE_H
#define LUNLINK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define LL_IMAGE_MAGIC		"LUNLINK\0IMAGE\0\0\0"	/* 16 bytes */
#define LL_IMAGE_VERSION	1
#define LL_IMAGE_SB_SIZE	4096u
#define LL_IMAGE_ALIGN		(1u << 20)	/* data offset alignment */
#define LL_IMAGE_REGION_MIN	(4u << 10)
#define LL_IMAGE_REGION_MAX	(64u << 20)
#define LL_IMAGE_REGION_DEFAULT	(64u << 10)
#define LL_IMAGE_AL_SLOTS	1024u	/* activity log entries (u64 each) */
#define LL_IMAGE_GEN_HISTORY	4
#define LL_IMAGE_STALE_MAX	200	/* ranges in the superblock's stale list */
#define LL_IMAGE_COPIES_MAX	16	/* copies of a volume one superblock records */

/* Regions [start, start+count) of this copy that are stale: a local write
 * failed where the mirror's legs took it (this copy lacks the data), or a
 * local read failed (the data may be unreadable here).  The mirror reads
 * them from a leg and repairs them from it; alone, the copy is refused. */
struct ll_image_stale {
	uint64_t start, count;
};

struct ll_image {
	uint32_t version;
	uint32_t region_size;		/* bytes, a power of two */
	uint64_t data_offset;		/* bytes from the start of the file */
	uint64_t data_size;		/* the volume's size, bytes */
	uint64_t max_data_size;		/* what the dirty map is sized for */
	uint64_t dirty_offset, dirty_bytes;
	uint64_t al_offset, al_bytes;
	uint8_t volume_id[16];
	uint64_t gen_current;		/* changes when this copy diverges */
	uint64_t gen_bitmap;		/* the peer generation the map is against */
	uint64_t gen_history[LL_IMAGE_GEN_HISTORY];
	uint32_t flags;
	uint32_t nstale;
	struct ll_image_stale stale[LL_IMAGE_STALE_MAX];
	/* which copy this is (random, never 0; 0 in images made before copies
	 * had ids: the mirror gives them one), and the copies of the volume
	 * this copy was mirrored with, itself included: a primary treats a
	 * recorded copy that its mirror= does not name as a leg that is down
	 * (its misses go into the dirty-region map), so that one named again
	 * later is resynced by what it missed, never taken for in sync */
	uint64_t copy_id;
	uint32_t ncopies;
	uint64_t copies[LL_IMAGE_COPIES_MAX];
	/* blank: lunlink-image create made the data all zeros (a new sparse
	 * file, or a device it zeroed and checked) and nothing has written it
	 * since.  The copy is blank while blank_gen is its current generation
	 * (ll_image_is_blank): a new generation, or any superblock write that
	 * does not carry the mark on, ends it.  A mirror's primary clears it
	 * on disk when it opens the copy, before any write can reach it; two
	 * blank copies of one volume hold the same bytes, so a blank leg of a
	 * blank primary starts in sync with nothing copied (DRBD's
	 * --clear-bitmap, decided from the copies' own records). */
	uint64_t blank_gen;
};

#define LL_IMAGE_F_PRIMARY	0x1	/* last served as the writable copy */
#define LL_IMAGE_F_FRESH	0x2	/* made by lunlink-image create, never synced */
#define LL_IMAGE_F_OPEN		0x4	/* being served as a mirror's primary */
#define LL_IMAGE_F_STALE_ALL	0x8	/* more stale ranges than the list holds:
					 * every region counts as stale */

/* The copy is blank (see blank_gen): made all zeros by create and never
 * written since.  A superblock that says anything else about its past (an
 * open primary, stale regions, a map against another generation) is not. */
int ll_image_is_blank(const struct ll_image *im);

/* Regions of region_size the image's dirty map and stale list cover. */
uint64_t ll_image_regions(const struct ll_image *im);

/* How many regions the stale list names; UINT64_MAX with LL_IMAGE_F_STALE_ALL. */
uint64_t ll_image_stale_regions(const struct ll_image *im);

/*
 * Lay out a new image for data_size bytes (growable to max_data_size, 0 =
 * data_size) with the given region size; fill the generation ids from
 * random.  Returns 0, or -1 with a reason in err.
 */
int ll_image_layout(struct ll_image *im, uint64_t data_size, uint64_t max_data_size,
		    uint32_t region_size, char *err, size_t errlen);

/* The superblock's bytes (LL_IMAGE_SB_SIZE), checksummed. */
void ll_image_encode(const struct ll_image *im, uint8_t *sb);

/*
 * Read a superblock.  Returns 1 for a valid lunlink image, 0 for "no
 * superblock here" (a raw image), -1 for a superblock that is damaged or
 * inconsistent (with the reason in err); file_size is the file's size, for
 * the bounds checks.
 */
int ll_image_decode(struct ll_image *im, const uint8_t *sb, size_t len,
		    uint64_t file_size, char *err, size_t errlen);

/*
 * ll_image_decode on the first LL_IMAGE_SB_SIZE bytes of fd (read through
 * an aligned buffer, so fd may be O_DIRECT): 1, 0 or -1 as it; a read
 * error is -1 too, with the reason in err.
 */
int ll_image_read(int fd, uint64_t file_size, struct ll_image *im, char *err, size_t errlen);

/*
 * Write the superblock at the start of fd and make it durable (the buffer
 * is aligned, so fd may be O_DIRECT).  Returns 0, or -errno.
 */
int ll_image_store(int fd, const struct ll_image *im);
/* The copy goes on from its generation: the current one joins the history
 * (the oldest leaves it) and a new random one takes its place.  It is not
 * blank from then on (it is about to be written). */
void ll_image_new_generation(struct ll_image *im);

/* A new copy id: random, never 0. */
uint64_t ll_image_new_copy_id(void);

/* Index of id in im->copies, or -1. */
int ll_image_copy_index(const struct ll_image *im, uint64_t id);

/* Record copy id: 1 added, 0 recorded already, -1 the list is full. */
int ll_image_copy_add(struct ll_image *im, uint64_t id);

/* Stop recording copy id: 0, or -1 if it is not recorded. */
int ll_image_copy_remove(struct ll_image *im, uint64_t id);

/* The file size an image needs. */
uint64_t ll_image_file_size(const struct ll_image *im);

/* Hex of the volume id, 32 characters and a NUL. */
void ll_image_id_hex(const uint8_t id[16], char out[33]);

uint32_t ll_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
