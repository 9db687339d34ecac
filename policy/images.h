/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * images.h: the node agent's images in its areas (prefix pg_).
 *
 * An area is a directory the operator gave lunlink (images are made in it
 * up to a size) or a block device (the image is the device).  The manager
 * names an image by its path; the agent takes it only if it lies directly
 * in one of its configured areas, with a name of [a-z0-9._-] (never a
 * path, never "." or ".."), or is a device area itself.  Images are made
 * and read with lunlink-image (create --size --max-size --volume; show
 * --json), never by hand: the tool owns the format.
 *
 * Ensuring an image is idempotent: one that exists with the same volume
 * id is kept (it is never made again, and never shrunk); one with another
 * volume id, or a file that is no lunlink image, is an error naming both,
 * and is never overwritten.  An image is deleted only when asked.
 */
#ifndef LUNLINK_POLICY_IMAGES_H
#define LUNLINK_POLICY_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_IMAGE_NAME_MAX	128
#define PG_VOLUME_ID_LEN	32	/* hex digits, as lunlink-image shows them */
#define PG_AREA_FILES_MAX	4096	/* entries of a directory area looked at */

struct pg_area {
	const char *path;	/* a directory, or a block device */
	uint64_t size;		/* a directory's limit (0: the file system's free
				 * space alone); a device: its size, read */
};

struct pg_image_opts {
	const char *lunlink_image;	/* the tool's path; NULL: /usr/sbin/lunlink-image */
	long timeout_ms;		/* each call; 0: 60 s (create may zero a device) */
};

struct pg_image_info {
	bool exists;
	bool lunlink;			/* has a lunlink superblock */
	char volume[PG_VOLUME_ID_LEN + 1];
	uint64_t data_offset, data_size, max_data_size;
	uint64_t file_bytes;		/* a regular file's size (0: a block device) */
};

/* Whether name is a valid image name: 1..PG_IMAGE_NAME_MAX of [a-z0-9._-],
 * not starting with '.', no "..". */
bool pg_image_name_valid(const char *name);

/*
 * The area (index into areas) that path lies in, checked: a path directly
 * inside a directory area with a valid name, or a device area's own path.
 * -1 with the reason in err.
 */
int pg_image_area(const struct pg_area *areas, size_t nareas, const char *path, char *err,
		  size_t errlen);

/* What is at path (lunlink-image show --json).  0 (info->exists false if
 * nothing is there), -1 with err. */
int pg_image_show(const struct pg_image_opts *o, const char *path, struct pg_image_info *info,
		  char *err, size_t errlen);

/*
 * Make the image at path unless it is there with this volume id (32 hex
 * digits).  max_size 0: the tool's default.  *info is what is there after.
 * 0, or -1 with err (another volume's image, not an image, the tool's
 * refusal).
 */
int pg_image_ensure(const struct pg_image_opts *o, const char *path, uint64_t size,
		    uint64_t max_size, const char *volume_id, struct pg_image_info *info,
		    char *err, size_t errlen);

/*
 * A plain image: a sparse file of at least size bytes at path, made with
 * O_EXCL if missing (mode 0600), grown with ftruncate if smaller, never
 * shrunk; a device area's device is taken as it is if it is that large.
 * A file that holds a lunlink image is refused (another volume's).
 * dry_run: nothing made or grown, *todo says whether something would be.
 * *bytes: its size after.  0, or -1 with err.
 */
int pg_plain_ensure(const char *path, uint64_t size, bool dry_run, bool *todo, uint64_t *bytes,
		    char *err, size_t errlen);

/* Delete the plain file at path, only if it lies in an area (never a
 * device area) and is no lunlink image.  0 (also if it is gone already). */
int pg_plain_delete(const struct pg_area *areas, size_t nareas, const char *path, char *err,
		    size_t errlen);

/* Delete the image file at path, only if it is a lunlink image of volume_id
 * in a directory area (a device area is never wiped). */
int pg_image_delete(const struct pg_image_opts *o, const struct pg_area *areas, size_t nareas,
		    const char *path, const char *volume_id, char *err, size_t errlen);

/*
 * An area's size, used and free bytes.  A directory: size is its limit
 * (or, with none, used + the file system's free space), used the sizes
 * of the regular files in it (lunlink images and plain parts alike; a
 * name starting with '.' is not looked at), free the rest, bounded by
 * the file system's free space.  A device: its size; used is all of it if it holds
 * a lunlink image, else 0.
 */
int pg_area_usage(const struct pg_area *area, uint64_t *size, uint64_t *used, uint64_t *free_b,
		  char *err, size_t errlen);

#endif
