// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * extents.c: a LUN made of several extents concatenated: the backing
 * store's data (or its window) first, then each extent=PATH:OFFSET:LENGTH,
 * a range of another file or block device, in the order given.  This is how
 * the pool's "integrated" volumes (storage areas of several disks joined
 * into one) are served.
 *
 * A request that falls within one extent goes to the engine as it is, on
 * that extent's file; one that spans extents is split, and completes when
 * every piece has, with the first error.  A flush goes to every file.
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

int ll_extents_open(struct ll_lu *l, uint64_t *size)
{
	unsigned int i;

	l->ext[0].fd = 0;		/* the engine's own file */
	l->ext[0].start = 0;
	l->ext[0].len = *size;
	l->ext[0].file_off = l->data_offset;
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
		if (x->offset > have || x->length > have - x->offset) {
			ll_err(l, "refused: extent %u '%s': %" PRIu64 " bytes at offset %" PRIu64
			       " end past its %" PRIu64 " bytes\n", i + 2, x->path, x->length,
			       x->offset, have);
			close(fd);
			goto err;
		}
		e->fd = fd;
		e->start = *size;
		e->len = x->length;
		e->file_off = x->offset;
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

	for (i = 1; i < l->nextents; i++)
		close(l->ext[i].fd);
	l->nextents = 0;
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

void ll_extents_submit(struct ll_lu *l, struct ll_io *io)
{
	uint64_t lun_off = io->off - l->data_offset, end = lun_off + io->len;
	unsigned int i, n = 0, first = 0;
	struct split *s;

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
	if (n == 1 && io->op != LL_OP_DATASYNC) {	/* the common case: no split */
		struct ll_extent *e = &l->ext[first];

		io->fd = e->fd;
		io->off = e->file_off + (lun_off - e->start);
		l->engine.ops->submit(&l->engine, io);
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
		l->engine.ops->submit(&l->engine, &s->piece[i].io);
}
