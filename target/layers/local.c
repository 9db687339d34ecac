// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * local.c: the local layer: an image file or block device on this node,
 * reached through the LUN's engine (io_uring or the worker pool).
 *
 * A lunlink image (one with a superblock, made by lunlink-image) serves the
 * data behind its metadata: the layer adds the data offset, and knows the
 * superblock.  A file without one is raw, all data.  A superblock that is
 * there but damaged refuses the layer: serving such an image raw would hand
 * the initiator the metadata as data.
 *
 * A lunlink image served alone (the backing store, with no mirror= legs)
 * takes a new generation before its first write: from then on it differs
 * from the copies it was mirrored with, and a mirror that meets them later
 * must see it (a copy at the old generation is behind it; one written on
 * its own since is split from it).  Its superblock is read and written
 * through the engine (the write O_DSYNC: the loop goes on), once per open;
 * the writes that come meanwhile wait for it, and fail if it fails (the
 * next write tries again).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lunlink.h"

struct gen_bump {
	uint8_t sb[LL_IMAGE_SB_SIZE];	/* first: aligned, for O_DIRECT */
	struct ll_io io;
	struct ll_local *loc;
	struct ll_image im;
	uint64_t was;
};

struct ll_local {
	struct ll_layer ly;
	int fd;				/* the file */
	int io_fd;			/* for the engine: 0 when it is the engine's own */
	int own;			/* opened here: closed at destroy */
	int is_blockdev;
	int formatted;			/* a lunlink image, not a raw file */
	uint64_t base;			/* file offset of the layer's byte 0 */
	char *path;
	struct ll_image image;		/* its superblock, when formatted */
	/* served alone: alone_gen is 1 while the new generation is to be
	 * written, bump while it is being written, with the writes that
	 * wait for it in wait */
	int alone_gen;
	struct gen_bump *bump;
	struct ll_io *wait, *wait_tail;
};

static inline struct ll_local *to_local(struct ll_layer *ly)
{
	return (struct ll_local *)ly;
}

static void local_submit(struct ll_layer *ly, struct ll_io *io);

/* The new generation is written (res 0), or could not be read or written
 * (-errno; what says which, why the reason if not errno's): the writes that
 * waited go on, or fail. */
static void gen_done(struct gen_bump *b, int res, const char *what, const char *why)
{
	struct ll_local *loc = b->loc;
	struct ll_lu *l = loc->ly.l;
	struct ll_io *io = loc->wait, *next;

	loc->wait = loc->wait_tail = NULL;
	loc->bump = NULL;
	if (res) {
		ll_err(l, "cannot %s before the first write since this copy was served alone: %s; "
		       "the writes waiting for it fail, and the next one tries again; check the "
		       "image's disk (dmesg, its health)\n", what, why ? why : strerror(-res));
	} else {
		ll_info(l, "first write since this copy was served alone: new generation %016"
			PRIx64 " (was %016" PRIx64 "); the copies it was mirrored with are behind "
			"it now\n", b->im.gen_current, b->was);
		loc->image = b->im;
		loc->alone_gen = 0;
	}
	for (; io; io = next) {
		next = io->next;
		if (res) {
			io->res = res;
			ll_later(l, io);
		} else {
			local_submit(&loc->ly, io);
		}
	}
	free(b);
}

static void gen_written(struct ll_io *gio)
{
	struct gen_bump *b = (struct gen_bump *)((char *)gio - offsetof(struct gen_bump, io));

	gen_done(b, gio->res, "write the superblock's new generation", NULL);
}

/* The superblock as it is now (windows of one image may be served by
 * several LUNs), read through the engine: its new generation goes out. */
static void gen_read(struct ll_io *gio)
{
	struct gen_bump *b = (struct gen_bump *)((char *)gio - offsetof(struct gen_bump, io));
	char err[256];

	if (gio->res) {
		gen_done(b, gio->res, "read the superblock", NULL);
		return;
	}
	if (ll_image_decode(&b->im, b->sb, LL_IMAGE_SB_SIZE, UINT64_MAX, err, sizeof(err)) != 1) {
		gen_done(b, -EIO, "read the superblock", err);
		return;
	}
	b->was = b->im.gen_current;
	ll_image_new_generation(&b->im);
	b->im.gen_bitmap = 0;		/* no map says what changes from here */
	ll_image_encode(&b->im, b->sb);
	b->io.op = LL_OP_WRITE;
	b->io.flags = LL_IO_DSYNC;
	b->io.off = 0;
	b->io.len = LL_IMAGE_SB_SIZE;
	b->io.done = 0;
	b->io.complete = gen_written;
	b->loc->ly.l->engine.ops->submit(&b->loc->ly.l->engine, &b->io);
}

/* Start the new generation: read the superblock, then write it (both
 * through the engine: the loop goes on).  0, or -errno. */
static int gen_bump(struct ll_local *loc)
{
	struct ll_lu *l = loc->ly.l;
	struct gen_bump *b;

	if (posix_memalign((void **)&b, 4096, sizeof(*b)))
		return -ENOMEM;
	b->loc = loc;
	memset(&b->io, 0, sizeof(b->io));
	b->io.op = LL_OP_READ;
	b->io.buf = b->sb;
	b->io.len = LL_IMAGE_SB_SIZE;
	b->io.fd = loc->io_fd;
	b->io.complete = gen_read;
	loc->bump = b;
	l->engine.ops->submit(&l->engine, &b->io);
	return 0;
}

/* A write to an image served alone waits for its new generation (or
 * fails, if its write cannot start). */
static void wait_for_generation(struct ll_local *loc, struct ll_io *io)
{
	int ret;

	if (!loc->bump && (ret = gen_bump(loc))) {
		io->res = ret;
		ll_later(loc->ly.l, io);
		return;
	}
	ll_io_push(&loc->wait, &loc->wait_tail, io);
}

static void local_submit(struct ll_layer *ly, struct ll_io *io)
{
	struct ll_local *loc = to_local(ly);
	struct ll_engine *e = &ly->l->engine;

	if (loc->alone_gen && (io->op == LL_OP_WRITE || io->op == LL_OP_PUNCH)) {
		wait_for_generation(loc, io);
		return;
	}
	io->fd = loc->io_fd;
	if (io->op != LL_OP_DATASYNC)
		io->off += loc->base;
	e->ops->submit(e, io);
}

static int local_map(struct ll_layer *ly, uint64_t off, int *fd, uint64_t *file_off,
		     uint64_t *left)
{
	struct ll_local *loc = to_local(ly);

	if (off >= ly->size)
		return -1;
	*fd = loc->fd;
	*file_off = loc->base + off;
	*left = ly->size - off;
	return 0;
}

static void local_destroy(struct ll_layer *ly)
{
	struct ll_local *loc = to_local(ly);

	if (loc->own)
		close(loc->fd);
	free(loc->path);
	free(loc);
}

static int file_size(const struct ll_local *loc, uint64_t *size)
{
	struct stat st;

	if (loc->is_blockdev)
		return ioctl(loc->fd, BLKGETSIZE64, size);
	if (fstat(loc->fd, &st))
		return -1;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* A lunlink image keeps its size in its superblock: grow both. */
static int resize_image(struct ll_local *loc, int grow, uint64_t want,
			int (*may_grow)(void *, uint64_t), void *arg)
{
	struct ll_lu *l = loc->ly.l;
	struct ll_image im = loc->image;
	uint64_t have;
	int err;

	if (!grow) {
		ll_err(l, "resize=reread refused: a lunlink image's size is in its superblock; "
		       "use resize=SIZE\n");
		return -1;
	}
	if (want > im.max_data_size) {
		ll_err(l, "resize=%" PRIu64 " refused: the image can grow to %" PRIu64 " bytes "
		       "(its dirty-region map is sized for that)\n", want, im.max_data_size);
		return -1;
	}
	if (may_grow && may_grow(arg, im.data_offset + want))
		return -1;
	if (file_size(loc, &have)) {
		ll_err(l, "resize refused: cannot read the image's size: %s\n", strerror(errno));
		return -1;
	}
	if (have < im.data_offset + want) {
		if (loc->is_blockdev) {
			ll_err(l, "resize=%" PRIu64 " refused: the block device is %" PRIu64
			       " bytes, and the data would end at %" PRIu64 "\n", want, have,
			       im.data_offset + want);
			return -1;
		}
		if (ftruncate(loc->fd, (off_t)(im.data_offset + want))) {
			ll_err(l, "resize=%" PRIu64 " refused: cannot grow the image file: %s\n",
			       want, strerror(errno));
			return -1;
		}
	}
	im.data_size = want;
	im.blank_gen = 0;	/* a device's new part holds its old bytes */
	err = ll_image_store(loc->fd, &im);
	if (err) {
		ll_err(l, "resize=%" PRIu64 " failed: cannot write the superblock: %s\n", want,
		       strerror(-err));
		return -1;
	}
	loc->image = im;
	return 0;
}

/* The LUN's resize keys on a local file; may_grow (if not NULL) is asked
 * before a lunlink image grows to a file of that many bytes (a mirror asks
 * its legs). */
static int resize_checked(struct ll_local *loc, int grow, uint64_t want, uint64_t *now,
			  int (*may_grow)(void *, uint64_t), void *arg)
{
	struct ll_lu *l = loc->ly.l;
	uint64_t bs = 1ULL << l->lu->blk_shift, cur = loc->ly.size;

	*now = cur;
	if (loc->formatted) {
		if (grow && (want % bs || want < cur)) {
			ll_err(l, "resize=%" PRIu64 " refused: %s\n", want, want % bs ?
			       "not a multiple of the block size" :
			       "lunlink never shrinks a LUN");
			return LL_RESIZE_REFUSED;
		}
		if (grow && want == cur) {
			ll_info(l, "resize: capacity unchanged at %" PRIu64 " bytes\n", cur);
			return LL_RESIZE_SAME;
		}
		if (resize_image(loc, grow, want, may_grow, arg))
			return LL_RESIZE_REFUSED;
		*now = loc->ly.size = want;
		return LL_RESIZE_CHANGED;
	}
	if (grow) {
		if (loc->is_blockdev) {
			ll_err(l, "resize=%" PRIu64 " refused: the backing store is a block device, "
			       "which lunlink cannot grow; grow it with its own tools, then use "
			       "resize=reread\n", want);
			return LL_RESIZE_REFUSED;
		}
		if (want % bs) {
			ll_err(l, "resize=%" PRIu64 " refused: not a multiple of the block size "
			       "(%" PRIu64 " bytes)\n", want, bs);
			return LL_RESIZE_REFUSED;
		}
		if (want < cur) {
			ll_err(l, "resize=%" PRIu64 " refused: the LUN is %" PRIu64 " bytes and "
			       "lunlink never shrinks a LUN (data past the new end would vanish "
			       "under the initiator)\n", want, cur);
			return LL_RESIZE_REFUSED;
		}
		if (file_size(loc, now)) {
			ll_err(l, "resize refused: cannot read the image's size: %s\n",
			       strerror(errno));
			return LL_RESIZE_REFUSED;
		}
		/* ftruncate only grows metadata: cheap enough for the main loop */
		if (*now < want && ftruncate(loc->fd, (off_t)want)) {
			ll_err(l, "resize=%" PRIu64 " refused: cannot grow the image file: %s\n",
			       want, strerror(errno));
			return LL_RESIZE_REFUSED;
		}
		*now = want;
	} else {
		if (file_size(loc, now)) {
			ll_err(l, "resize=reread refused: cannot read the image's size: %s\n",
			       strerror(errno));
			return LL_RESIZE_REFUSED;
		}
		*now -= *now % bs;
		if (*now < cur) {
			ll_err(l, "resize=reread refused: the image is now %" PRIu64 " bytes, "
			       "smaller than the LUN's %" PRIu64 "; lunlink never shrinks a LUN "
			       "(restore the image's size)\n", *now, cur);
			return LL_RESIZE_REFUSED;
		}
	}
	if (*now == cur) {
		ll_info(l, "resize: capacity unchanged at %" PRIu64 " bytes\n", cur);
		return LL_RESIZE_SAME;
	}
	loc->ly.size = *now;
	return LL_RESIZE_CHANGED;
}

int ll_local_resize(struct ll_local *loc, int grow, uint64_t want, uint64_t *now,
		    int (*may_grow)(void *, uint64_t), void *arg)
{
	return resize_checked(loc, grow, want, now, may_grow, arg);
}

static int local_resize(struct ll_layer *ly, int grow, uint64_t want, uint64_t *now)
{
	return resize_checked(to_local(ly), grow, want, now, NULL, NULL);
}

static const struct ll_layer_ops local_ops = {
	.name = "local",
	.submit = local_submit,
	.destroy = local_destroy,
	.resize = local_resize,
	.map = local_map,
};

/* Read the superblock: 1 a lunlink image, 0 raw, -1 refused (logged). */
static int read_superblock(struct ll_local *loc, uint64_t have, int alone, const char *pre)
{
	struct ll_lu *l = loc->ly.l;
	char err[256], id[33], n[24];
	uint64_t stale;
	int ret;

	ret = ll_image_read(loc->fd, have, &loc->image, err, sizeof(err));
	if (ret < 0) {
		ll_err(l, "refused: %s%s; check it with 'lunlink-image show %s'\n", pre, err,
		       loc->path);
		return -1;
	}
	if (ret == 0)
		return 0;
	stale = ll_image_stale_regions(&loc->image);
	if (stale && alone) {
		if (stale == UINT64_MAX)
			snprintf(n, sizeof(n), "all its");
		else
			snprintf(n, sizeof(n), "%" PRIu64, stale);
		ll_err(l, "refused: this copy is stale in %s region(s): a local write failed "
		       "there while its mirror's legs took the data, or a local read failed "
		       "('lunlink-image show %s' lists them). Serve it with mirror= to a leg "
		       "that has them, which repairs them, or serve a leg's copy; to serve it "
		       "alone anyway, with older data there: lunlink-image forget-stale %s\n",
		       n, loc->path, loc->path);
		return -1;
	}
	ll_image_id_hex(loc->image.volume_id, id);
	ll_info(l, "%slunlink image: volume %s, generation %016" PRIx64 ", %" PRIu64
		" bytes of data at offset %" PRIu64 "\n", pre, id, loc->image.gen_current,
		loc->image.data_size, loc->image.data_offset);
	return 1;
}

struct ll_local *ll_local_open(struct ll_lu *l, const char *path, int fd, enum ll_local_kind kind,
			       int alone, const char *what)
{
	struct ll_local *loc = calloc(1, sizeof(*loc));
	char pre[LL_EXTENT_PATH_MAX + 32];
	uint64_t have;
	struct stat st;
	int ret;

	if (!loc || !(loc->path = strdup(path))) {
		ll_err(l, "refused: out of memory\n");
		free(loc);
		return NULL;
	}
	loc->ly.ops = &local_ops;
	loc->ly.l = l;
	loc->fd = fd;
	if (fd < 0) {
		loc->fd = open(path, O_RDWR | O_LARGEFILE | O_CLOEXEC | l->lu->bsoflags);
		if (loc->fd < 0) {
			ll_err(l, "refused: cannot open %s: %s\n", what, strerror(errno));
			goto err;
		}
		loc->own = 1;
		loc->io_fd = loc->fd;
	}
	if (fstat(loc->fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		ll_err(l, "refused: %s is neither a regular file nor a block device\n", what);
		goto err;
	}
	have = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		loc->is_blockdev = 1;
		if (ioctl(loc->fd, BLKGETSIZE64, &have)) {
			ll_err(l, "refused: cannot read the size of %s: %s\n", what,
			       strerror(errno));
			goto err;
		}
	}
	/* the backing store's messages are the LUN's own: no name needed */
	snprintf(pre, sizeof(pre), "%s%s", loc->own ? what : "", loc->own ? ": " : "");
	ret = kind == LL_LOCAL_RAW ? 0 : read_superblock(loc, have, alone, pre);
	if (ret < 0)
		goto err;
	if (ret == 0 && kind == LL_LOCAL_IMAGE) {
		ll_err(l, "refused: %s has mirror= legs, so it must be a lunlink image (its "
		       "copies carry generations and a dirty-region map); prepare it with "
		       "'lunlink-image create --size SIZE %s' (which erases it) and the same on "
		       "each leg\n", what, path);
		goto err;
	}
	loc->formatted = ret;
	loc->base = ret ? loc->image.data_offset : 0;
	loc->ly.size = ret ? loc->image.data_size : have;
	loc->alone_gen = ret && alone;
	return loc;
err:
	if (loc->own && loc->fd >= 0)
		close(loc->fd);
	free(loc->path);
	free(loc);
	return NULL;
}

struct ll_layer *ll_local_layer(struct ll_local *loc)
{
	return &loc->ly;
}

struct ll_image *ll_local_image(struct ll_local *loc)
{
	return loc->formatted ? &loc->image : NULL;
}

int ll_local_fd(const struct ll_local *loc)
{
	return loc->io_fd;
}

const char *ll_local_path(const struct ll_local *loc)
{
	return loc->path;
}
