// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * extents.c: a LUN made of several extents concatenated: the backing
 * store's data (or its window) first, then each extent=PATH:OFFSET:LENGTH,
 * a range of another file or block device, in the order given.  This is how
 * the pool's "integrated" volumes (storage areas of several disks joined
 * into one) are served.
 *
 * An extent followed by mirror= options is a mirrored set: a range of the
 * data of a lunlink image (OFFSET and LENGTH count from its data, not from
 * its file), copied to the legs; so is the backing store itself when
 * mirror= comes before any extent=.  Each mirrored set has its own legs,
 * map, log and resync (mirror.c).
 *
 * A request that falls within one extent goes as it is to that extent's
 * file through the engine, or to its mirror; one that spans extents is
 * split, and completes when every piece has, with the first error.  A
 * flush goes to every extent.
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

struct split {
	struct ll_io *io;
	int pending;
	int res;
	struct piece {
		struct ll_io io;	/* first: a piece's ll_io is its piece */
		struct split *split;
	} piece[];
};

bool ll_has_legs(const struct ll_lu *l, unsigned int set)
{
	for (unsigned int i = 0; i < l->opts.nlegs; i++)
		if (l->opts.leg_set[i] == set)
			return true;
	return false;
}

/* A mirrored extent: a range of a lunlink image's data. */
static int mirrored_extent(struct ll_lu *l, unsigned int i, int fd, uint64_t have,
			   struct ll_extent *e)
{
	struct ll_extent_opt *x = &l->opts.extent[i];
	char err[256];
	int ret;

	e->image = malloc(sizeof(*e->image));
	if (!e->image) {
		ll_err(l, "refused: out of memory\n");
		return -1;
	}
	ret = ll_image_read(fd, have, e->image, err, sizeof(err));
	if (ret < 0)
		ll_err(l, "refused: extent %u '%s': %s; check it with 'lunlink-image show %s'\n",
		       i + 2, x->path, err, x->path);
	else if (ret == 0)
		ll_err(l, "refused: extent %u '%s' has mirror= legs, so it must be a lunlink "
		       "image (its copies carry generations and a dirty-region map); prepare it "
		       "with 'lunlink-image create --size SIZE %s' (which erases it) and the same "
		       "on each leg\n", i + 2, x->path, x->path);
	else if (x->offset > e->image->data_size ||
		 x->length > e->image->data_size - x->offset)
		ll_err(l, "refused: extent %u '%s': %" PRIu64 " bytes at offset %" PRIu64
		       " end past the %" PRIu64 " bytes of its image's data\n", i + 2, x->path,
		       x->length, x->offset, e->image->data_size);
	else {
		e->file_off = e->image->data_offset + x->offset;
		return 0;
	}
	free(e->image);
	e->image = NULL;
	return -1;
}

int ll_extents_open(struct ll_lu *l, uint64_t *size)
{
	unsigned int i;

	l->alone_gen = l->formatted && !ll_has_legs(l, 0);

	l->ext[0].fd = 0;		/* the engine's own file */
	l->ext[0].start = 0;
	l->ext[0].len = *size;
	l->ext[0].file_off = l->data_offset;
	l->ext[0].path = l->path;
	l->ext[0].image = l->formatted ? &l->image : NULL;
	l->nextents = 1;
	for (i = 0; i < l->opts.nextents; i++) {
		struct ll_extent_opt *x = &l->opts.extent[i];
		struct ll_extent *e = &l->ext[l->nextents];
		uint64_t have;
		struct stat st;
		int fd;

		fd = open(x->path, O_RDWR | O_LARGEFILE | O_CLOEXEC | l->lu->bsoflags);
		if (fd < 0) {
			ll_err(l, "refused: cannot open extent %u '%s': %s\n", i + 2, x->path,
			       strerror(errno));
			goto err;
		}
		if (fstat(fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
			ll_err(l, "refused: extent %u '%s' is neither a regular file nor a block "
			       "device\n", i + 2, x->path);
			close(fd);
			goto err;
		}
		have = (uint64_t)st.st_size;
		if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &have))
			have = 0;
		e->path = x->path;
		e->image = NULL;
		e->mirror = NULL;
		e->file_off = x->offset;
		if (ll_has_legs(l, i + 1)) {
			if (mirrored_extent(l, i, fd, have, e)) {
				close(fd);
				goto err;
			}
		} else if (x->offset > have || x->length > have - x->offset) {
			ll_err(l, "refused: extent %u '%s': %" PRIu64 " bytes at offset %" PRIu64
			       " end past its %" PRIu64 " bytes\n", i + 2, x->path, x->length,
			       x->offset, have);
			close(fd);
			goto err;
		}
		e->fd = fd;
		e->start = *size;
		e->len = x->length;
		*size += x->length;
		l->nextents++;
	}
	if (l->nextents > 1)
		ll_err(l, "%u extents concatenated, %" PRIu64 " bytes in all\n", l->nextents, *size);
	return 0;
err:
	ll_extents_close(l);
	return -1;
}

void ll_extents_close(struct ll_lu *l)
{
	unsigned int i;

	for (i = 1; i < l->nextents; i++) {
		close(l->ext[i].fd);
		free(l->ext[i].image);
		l->ext[i].image = NULL;
	}
	l->nextents = 0;
}

int ll_mirrors_open(struct ll_lu *l)
{
	unsigned int i;

	for (i = 0; i < l->nextents; i++) {
		if (!ll_has_legs(l, i))
			continue;
		if (ll_mirror_open(l, &l->ext[i], i)) {
			ll_mirrors_close(l);
			return -1;
		}
		l->nmirrors++;
	}
	return 0;
}

/*
 * Before ll_extents_close: a mirror writes its map to its file at close.
 * A resync or verify may have reads in flight, a mirror metadata writes:
 * they are stopped from starting more, and finished, first.
 */
void ll_mirrors_close(struct ll_lu *l)
{
	unsigned int i;

	for (i = 0; i < l->nextents; i++)
		if (l->ext[i].mirror)
			ll_mirror_quiesce(l->ext[i].mirror);
	if (l->nmirrors && l->engine.ops)
		l->engine.ops->drain(&l->engine);
	for (i = 0; i < l->nextents; i++) {
		if (l->ext[i].mirror)
			ll_mirror_close(l->ext[i].mirror);
		l->ext[i].mirror = NULL;
	}
	l->nmirrors = 0;
}

/* One piece to its extent: the mirror, an injected fault, or the engine. */
static void extent_submit(struct ll_lu *l, struct ll_extent *e, struct ll_io *io, int fault)
{
	if (e->mirror) {
		ll_mirror_submit(e->mirror, io, fault);
	} else if (fault) {
		io->res = -EIO;
		ll_later(l, io);
	} else {
		l->engine.ops->submit(&l->engine, io);
	}
}

int ll_extent_at(struct ll_lu *l, uint64_t lun_off, int *fd, uint64_t *file_off,
		 uint64_t *left)
{
	unsigned int i;

	for (i = 0; i < l->nextents; i++) {
		struct ll_extent *e = &l->ext[i];

		if (lun_off >= e->start && lun_off - e->start < e->len) {
			*fd = e->fd ? e->fd : l->lu->fd;
			*file_off = e->file_off + (lun_off - e->start);
			*left = e->len - (lun_off - e->start);
			return 0;
		}
	}
	return -1;
}

static void piece_done(struct ll_io *piece)
{
	struct split *s = ((struct piece *)piece)->split;
	struct ll_io *io;

	if (piece->res && !s->res)
		s->res = piece->res;
	if (--s->pending)
		return;
	io = s->io;
	io->res = s->res;
	free(s);
	io->complete(io);
}

/*
 * A lunlink image served alone (its own data without legs) takes a new
 * generation before its first write: from then on it differs from the
 * copies it was mirrored with, and a mirror that meets them later must see
 * it (a copy at the old generation is behind it; one written on its own
 * since is split from it).  Its superblock goes through the engine
 * (O_DSYNC: the loop goes on), once per open; the writes that come
 * meanwhile wait for it, and fail if it fails (the next write tries again).
 */
struct ll_gen_bump {
	uint8_t sb[LL_IMAGE_SB_SIZE];	/* first: aligned, for O_DIRECT */
	struct ll_io io;
	struct ll_lu *l;
	struct ll_image im;
	uint64_t was;
};

static void gen_bumped(struct ll_io *gio)
{
	struct ll_gen_bump *b = (struct ll_gen_bump *)((char *)gio -
						      offsetof(struct ll_gen_bump, io));
	struct ll_lu *l = b->l;
	struct ll_io *io = l->gen_wait, *next;

	l->gen_wait = l->gen_wait_tail = NULL;
	l->gen_bump = NULL;
	if (gio->res) {
		ll_err(l, "cannot write the superblock's new generation before the first write "
		       "since this copy was served alone: %s; the writes waiting for it fail, and "
		       "the next one tries again; check the image's disk (dmesg, its health)\n",
		       strerror(-gio->res));
	} else {
		ll_err(l, "first write since this copy was served alone: new generation %016"
		       PRIx64 " (was %016" PRIx64 "); the copies it was mirrored with are behind "
		       "it now\n", b->im.gen_current, b->was);
		l->image = b->im;
		l->alone_gen = 0;
	}
	for (; io; io = next) {
		next = io->next;
		if (gio->res) {
			io->res = gio->res;
			ll_later(l, io);
		} else {
			ll_extents_submit(l, io, 0);
		}
	}
	free(b);
}

/* Start the new generation's write; 0, or -errno if it cannot start. */
static int gen_bump(struct ll_lu *l)
{
	struct ll_gen_bump *b;
	char err[256];

	if (posix_memalign((void **)&b, 4096, sizeof(*b)))
		return -ENOMEM;
	/* as it is now: windows of one image may be served by several LUNs
	 * (a read of the page the open read) */
	if (ll_image_read(l->lu->fd, UINT64_MAX, &b->im, err, sizeof(err)) != 1) {
		ll_err(l, "cannot read the superblock before the first write since this copy "
		       "was served alone: %s; the write fails\n", err);
		free(b);
		return -EIO;
	}
	b->l = l;
	b->was = b->im.gen_current;
	ll_image_new_generation(&b->im);
	b->im.gen_bitmap = 0;		/* no map says what changes from here */
	ll_image_encode(&b->im, b->sb);
	memset(&b->io, 0, sizeof(b->io));
	b->io.op = LL_OP_WRITE;
	b->io.flags = LL_IO_DSYNC;
	b->io.buf = b->sb;
	b->io.len = LL_IMAGE_SB_SIZE;
	b->io.complete = gen_bumped;
	l->gen_bump = b;
	l->engine.ops->submit(&l->engine, &b->io);
	return 0;
}

/* A write to an image served alone waits for its new generation (or
 * fails, if its write cannot start). */
static void wait_for_generation(struct ll_lu *l, struct ll_io *io)
{
	int ret;

	if (!l->gen_bump && (ret = gen_bump(l))) {
		io->res = ret;
		ll_later(l, io);
		return;
	}
	io->next = NULL;
	if (l->gen_wait_tail)
		l->gen_wait_tail->next = io;
	else
		l->gen_wait = io;
	l->gen_wait_tail = io;
}

void ll_extents_submit(struct ll_lu *l, struct ll_io *io, int fault)
{
	uint64_t lun_off = io->off - l->data_offset, end = lun_off + io->len;
	unsigned int i, n = 0, first = 0;
	struct split *s;

	if (l->alone_gen && !fault && (io->op == LL_OP_WRITE || io->op == LL_OP_PUNCH)) {
		wait_for_generation(l, io);
		return;
	}

	if (io->op == LL_OP_DATASYNC) {
		first = 0;
		n = l->nextents;
	} else {
		for (i = 0; i < l->nextents; i++) {
			struct ll_extent *e = &l->ext[i];

			if (e->start < end && lun_off < e->start + e->len) {
				if (!n)
					first = i;
				n++;
			}
		}
	}
	if (!n) {			/* no bytes (PRE-FETCH of 0 blocks: to the end) */
		for (i = 0; i + 1 < l->nextents && lun_off >= l->ext[i].start + l->ext[i].len; i++)
			;
		first = i;
		n = 1;
	}
	if (n == 1) {			/* the common case: no split */
		struct ll_extent *e = &l->ext[first];

		io->fd = e->fd;
		if (io->op != LL_OP_DATASYNC)
			io->off = e->file_off + (lun_off - e->start);
		extent_submit(l, e, io, fault);
		return;
	}
	s = calloc(1, sizeof(*s) + n * sizeof(s->piece[0]));
	if (!s || !n) {
		free(s);
		io->res = -ENOMEM;
		ll_later(l, io);
		return;
	}
	s->io = io;
	s->pending = (int)n;
	for (i = 0; i < n; i++) {
		struct ll_extent *e = &l->ext[first + i];
		struct ll_io *p = &s->piece[i].io;
		uint64_t from = lun_off > e->start ? lun_off : e->start;
		uint64_t to = end < e->start + e->len ? end : e->start + e->len;

		p->op = io->op;
		p->flags = io->flags;
		p->fd = e->fd;
		if (io->op == LL_OP_DATASYNC) {
			p->off = 0;
			p->len = 0;
		} else {
			p->buf = io->buf ? (char *)io->buf + (from - lun_off) : NULL;
			p->off = e->file_off + (from - e->start);
			p->len = to - from;
		}
		p->complete = piece_done;
		s->piece[i].split = s;
	}
	for (i = 0; i < n; i++)
		extent_submit(l, &l->ext[first + i], &s->piece[i].io, fault);
}
