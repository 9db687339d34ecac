// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * linear.c: the linear layer, as dm-linear is: segments laid end to end,
 * each a range of a layer below.  One segment over part of a layer is a
 * window (window=: one image divided into several LUNs, seed 001's
 * "divided"); several are a concatenation (extent=: areas of several disks
 * joined into one, seed 001's "integrated").
 *
 * A request within one segment goes down as it is, its offset moved into
 * the layer below; one that spans segments is split, and completes when
 * every piece has, with the first error.  A flush goes to every layer below.
 */
#include <errno.h>
#include <stdlib.h>

#include "lunlink.h"

struct seg {
	struct ll_layer *below;
	uint64_t start, len;		/* in this layer */
	uint64_t off;			/* where it begins in the layer below */
};

struct linear {
	struct ll_layer ly;
	int window;
	int last_grows;			/* the last segment runs to its layer's end */
	unsigned int n, max;
	struct seg seg[];
};

struct split {
	struct ll_io *io;
	int pending;
	int res;
	struct piece {
		struct ll_io io;	/* first: a piece's ll_io is its piece */
		struct split *split;
	} piece[];
};

static inline struct linear *to_linear(struct ll_layer *ly)
{
	return (struct linear *)ly;
}

/* Segment i's layer below appears in no earlier segment. */
static int first_use(const struct linear *lin, unsigned int i)
{
	for (unsigned int j = 0; j < i; j++)
		if (lin->seg[j].below == lin->seg[i].below)
			return 0;
	return 1;
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

/* Send io as pieces to the segments whose bit is in want (at most 32). */
static void split(struct linear *lin, struct ll_io *io, uint32_t want, unsigned int n)
{
	uint64_t end = io->off + io->len;
	struct split *s = calloc(1, sizeof(*s) + n * sizeof(s->piece[0]));
	unsigned int i, k = 0;

	if (!s) {
		io->res = -ENOMEM;
		ll_later(lin->ly.l, io);
		return;
	}
	s->io = io;
	s->pending = (int)n;
	for (i = 0; i < lin->n; i++) {
		struct seg *g = &lin->seg[i];
		struct ll_io *p = &s->piece[k].io;
		uint64_t from, to;

		if (!(want & (1u << i)))
			continue;
		p->op = io->op;
		p->flags = io->flags;
		if (io->op != LL_OP_DATASYNC) {
			from = io->off > g->start ? io->off : g->start;
			to = end < g->start + g->len ? end : g->start + g->len;
			p->buf = io->buf ? (char *)io->buf + (from - io->off) : NULL;
			p->off = g->off + (from - g->start);
			p->len = to - from;
		}
		p->complete = piece_done;
		s->piece[k].split = s;
		k++;
	}
	/* every piece is set up before the first goes: none can complete
	 * inside submit, but a piece's layer may look at its neighbours */
	for (i = 0, k = 0; i < lin->n; i++)
		if (want & (1u << i))
			ll_layer_submit(lin->seg[i].below, &s->piece[k++].io);
}

static void linear_submit(struct ll_layer *ly, struct ll_io *io)
{
	struct linear *lin = to_linear(ly);
	uint64_t end = io->off + io->len;
	uint32_t want = 0;
	unsigned int i, n = 0, first = 0;

	if (io->op == LL_OP_DATASYNC) {
		for (i = 0; i < lin->n; i++)
			if (first_use(lin, i)) {
				want |= 1u << i;
				n++;
			}
		if (n > 1) {
			split(lin, io, want, n);
			return;
		}
		ll_layer_submit(lin->seg[0].below, io);
		return;
	}
	for (i = 0; i < lin->n; i++) {
		struct seg *g = &lin->seg[i];

		if (g->start < end && io->off < g->start + g->len) {
			if (!n)
				first = i;
			want |= 1u << i;
			n++;
		}
	}
	if (!n) {	/* no bytes (PRE-FETCH of 0 blocks: to the end) */
		for (i = 0; i + 1 < lin->n && io->off >= lin->seg[i].start + lin->seg[i].len; i++)
			;
		first = i;
		n = 1;
	}
	if (n == 1) {			/* the common case: no split */
		struct seg *g = &lin->seg[first];

		io->off = g->off + (io->off - g->start);
		ll_layer_submit(g->below, io);
		return;
	}
	split(lin, io, want, n);
}

static void linear_quiesce(struct ll_layer *ly)
{
	struct linear *lin = to_linear(ly);

	for (unsigned int i = 0; i < lin->n; i++)
		if (first_use(lin, i))
			ll_layer_quiesce(lin->seg[i].below);
}

static void linear_destroy(struct ll_layer *ly)
{
	struct linear *lin = to_linear(ly);

	for (unsigned int i = lin->n; i-- > 0;)
		if (first_use(lin, i))
			ll_layer_destroy(lin->seg[i].below);
	free(lin);
}

static int linear_resize(struct ll_layer *ly, int grow, uint64_t want, uint64_t *now)
{
	struct linear *lin = to_linear(ly);
	struct seg *g = lin->n ? &lin->seg[lin->n - 1] : NULL;
	uint64_t below_now;
	int ret;

	*now = ly->size;
	if (lin->last_grows && g->below->ops->resize) {
		/* the last segment grows with the layer below it */
		if (grow && want < g->start) {
			ll_err(ly->l, "resize=%" PRIu64 " refused: the LUN is %" PRIu64 " bytes and "
			       "lunlink never shrinks a LUN\n", want, ly->size);
			return LL_RESIZE_REFUSED;
		}
		ret = g->below->ops->resize(g->below, grow, g->off + (want - g->start), &below_now);
		if (ret != LL_RESIZE_CHANGED)
			return ret;
		g->len = below_now - g->off;
		*now = ly->size = g->start + g->len;
		return ret;
	}
	ll_err(ly->l, "resize refused: the LUN is %s; its size is fixed by its options\n",
	       lin->window ? "a window of its image (window=)" :
	       "a concatenation of extents (extent=) whose last extent has a fixed LENGTH "
	       "(LENGTH \"end\" lets it grow)");
	return LL_RESIZE_REFUSED;
}

static int linear_message(struct ll_layer *ly, const struct ll_update *u)
{
	struct linear *lin = to_linear(ly);
	int n = 0, refused = 0, r;

	for (unsigned int i = 0; i < lin->n; i++) {
		if (!first_use(lin, i))
			continue;
		r = ll_layer_message(lin->seg[i].below, u);
		if (r < 0)
			refused = 1;
		else
			n += r;
	}
	return refused ? -1 : n;
}

static int linear_map(struct ll_layer *ly, uint64_t off, int *fd, uint64_t *file_off,
		      uint64_t *left)
{
	struct linear *lin = to_linear(ly);

	for (unsigned int i = 0; i < lin->n; i++) {
		struct seg *g = &lin->seg[i];

		if (off >= g->start && off - g->start < g->len) {
			if (ll_layer_map(g->below, g->off + (off - g->start), fd, file_off, left))
				return -1;
			if (*left > g->len - (off - g->start))
				*left = g->len - (off - g->start);
			return 0;
		}
	}
	return -1;
}

static const struct ll_layer_ops linear_ops = {
	.name = "linear",
	.submit = linear_submit,
	.quiesce = linear_quiesce,
	.destroy = linear_destroy,
	.resize = linear_resize,
	.message = linear_message,
	.map = linear_map,
};

struct ll_layer *ll_linear_new(struct ll_lu *l, unsigned int n, int window)
{
	struct linear *lin;

	if (n > 32) {		/* split() takes a 32-bit set of segments */
		ll_err(l, "refused: %u segments, more than the 32 a linear layer takes\n", n);
		return NULL;
	}
	lin = calloc(1, sizeof(*lin) + n * sizeof(lin->seg[0]));
	if (!lin) {
		ll_err(l, "refused: out of memory\n");
		return NULL;
	}
	lin->ly.ops = &linear_ops;
	lin->ly.l = l;
	lin->window = window;
	lin->max = n;
	return &lin->ly;
}

/* The segment takes below over (destroyed with the linear layer).  grows:
 * it runs to below's end, and grows with it while it is the last. */
int ll_linear_add(struct ll_layer *ly, struct ll_layer *below, uint64_t off, uint64_t len,
		  int grows)
{
	struct linear *lin = to_linear(ly);
	struct seg *g;

	if (lin->n == lin->max)
		return -1;
	g = &lin->seg[lin->n++];
	g->below = below;
	g->start = ly->size;
	g->len = len;
	g->off = off;
	ly->size += len;
	to_linear(ly)->last_grows = grows;
	return 0;
}
