// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stack.c: a LUN's stack of layers, built from its bsopts in this one
 * place; nothing else knows which layer sits on which.
 *
 *   bsopts                              stack (top first)
 *   (none)                              fault > local
 *   window=O:L                          linear(window) > fault > local
 *   mirror=URL...                       mirror > local
 *   window=O:L;mirror=URL               linear(window) > mirror > local
 *   extent=P:O:L...                     linear > [the above, fault > local(P)...]
 *   extent=P:O:L;mirror=URL             linear > [..., mirror > local(P)]
 *   extent=iscsi://H/IQN/LUN:O:L        linear > [..., remote(URL)]
 *   mirror=URL;copy_extent=P:O:L...     mirror > linear > [local, local(P)...]
 *   raw=on;extent=P:O:L                 linear > [fault > local (every byte), ...]
 *
 * An extent=P:O:end runs to the end of its file (or image data); the last
 * one grows with it (resize=).
 *
 * The backing store (tgt's path, always the real local image so that
 * tgt-admin and targets.conf work unchanged) is the first segment of a
 * concatenation; a mirror= belongs to the last extent= before it, or to
 * the backing store when none comes before it (bsopts.c).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "lunlink.h"

static bool has_legs(const struct ll_lu *l, unsigned int set)
{
	for (unsigned int i = 0; i < l->opts.nlegs; i++)
		if (l->opts.leg_set[i] == set)
			return true;
	return false;
}

/*
 * The backing store's mirrored copy when copy_extent= areas continue it:
 * the image's data, then each area, concatenated.  Takes copy over (NULL
 * logged: copy is destroyed).
 */
static struct ll_layer *copy_areas(struct ll_lu *l, struct ll_local *copy)
{
	struct ll_bsopts *o = &l->opts;
	struct ll_layer *lin = ll_linear_new(l, 1 + o->ncopy_extents, 0);
	char what[LL_EXTENT_PATH_MAX + 32];

	if (!lin) {
		ll_layer_destroy(ll_local_layer(copy));
		return NULL;
	}
	ll_linear_add(lin, ll_local_layer(copy), 0, ll_local_layer(copy)->size, 0);
	for (unsigned int k = 0; k < o->ncopy_extents; k++) {
		struct ll_extent_opt *x = &o->copy_extent[k];
		struct ll_local *area;
		uint64_t have;

		snprintf(what, sizeof(what), "copy_extent %u '%s'", k + 1, x->path);
		area = ll_local_open(l, x->path, -1, LL_LOCAL_ANY, 0, what);
		if (!area)
			goto err;
		have = ll_local_layer(area)->size;
		if (x->offset > have || x->length > have - x->offset) {
			ll_err(l, "refused: %s: %" PRIu64 " bytes at offset %" PRIu64 " end past its "
			       "%" PRIu64 " bytes\n", what, x->length, x->offset, have);
			ll_layer_destroy(ll_local_layer(area));
			goto err;
		}
		ll_linear_add(lin, ll_local_layer(area), x->offset, x->length, 0);
	}
	ll_info(l, "the mirrored copy: the image's %" PRIu64 " bytes of data and %u "
		"copy_extent= area(s), %" PRIu64 " bytes in all\n", ll_local_layer(copy)->size,
		o->ncopy_extents, lin->size);
	return lin;
err:
	ll_layer_destroy(lin);
	return NULL;
}

/*
 * Set `set` of the LUN (0: the backing store, k: extent= number k) over
 * its local copy: a mirror when it has legs, else the fault layer over
 * it.  The mirror is told where the LUN serves its data (lun_start, from
 * byte data_off, len bytes).  Takes copy over; NULL logged.
 */
static struct ll_layer *set_layer(struct ll_lu *l, struct ll_local *copy, unsigned int set,
				  uint64_t lun_start, uint64_t data_off, uint64_t len)
{
	struct ll_layer *ly = NULL, *data = NULL;

	if (!has_legs(l, set)) {
		ly = ll_fault_new(l, ll_local_layer(copy));
		goto out;
	}
	if (!ll_local_image(copy)) {
		ll_err(l, "refused: a mirrored LUN needs a lunlink image (its copies carry "
		       "generations and a dirty-region map); prepare it with 'lunlink-image "
		       "create --size SIZE %s' (which erases it) and the same on each leg\n",
		       ll_local_path(copy));
		goto out;
	}
	if (set == 0 && l->opts.ncopy_extents) {
		data = copy_areas(l, copy);
		if (!data)
			return NULL;	/* copy went with it */
	}
	ly = ll_mirror_layer_open(l, copy, data, set, lun_start, data_off, len);
	if (ly)
		l->nmirrors++;
	else if (data)
		ll_layer_destroy(data);	/* the image's layer with it */
	if (ly || data)
		return ly;
out:
	if (!ly)
		ll_layer_destroy(ll_local_layer(copy));
	return ly;
}

/* The backing store's set, or its window=. */
static struct ll_layer *backing(struct ll_lu *l, int fd)
{
	struct ll_bsopts *o = &l->opts;
	struct ll_layer *set0, *win;
	struct ll_local *copy;
	uint64_t size, off = 0, len;

	copy = ll_local_open(l, l->path, fd, o->raw ? LL_LOCAL_RAW : LL_LOCAL_ANY, !has_legs(l, 0),
			     "the backing store");
	if (!copy)
		return NULL;
	size = len = ll_local_layer(copy)->size;
	if (o->window) {
		if (o->window_offset > size || o->window_length > size - o->window_offset) {
			ll_err(l, "refused: window=%" PRIu64 ":%" PRIu64 " ends past the image's "
			       "%" PRIu64 " bytes of data\n", o->window_offset, o->window_length,
			       size);
			ll_layer_destroy(ll_local_layer(copy));
			return NULL;
		}
		off = o->window_offset;
		len = o->window_length;
	}
	set0 = set_layer(l, copy, 0, 0, off, len);
	if (!set0 || !o->window)
		return set0;
	win = ll_linear_new(l, 1, 1);
	if (!win) {
		ll_layer_destroy(set0);
		return NULL;
	}
	ll_linear_add(win, set0, off, len, 0);
	ll_info(l, "serving the window of %" PRIu64 " bytes at offset %" PRIu64 "\n", len, off);
	return win;
}

/* Extent k (1-based: extent= number k, the LUN's k+1-th segment) onto
 * the concatenation. */
static int add_extent(struct ll_lu *l, struct ll_layer *lin, unsigned int k)
{
	struct ll_extent_opt *x = &l->opts.extent[k - 1];
	int mirrored = has_legs(l, k);
	char what[LL_EXTENT_PATH_MAX + 32];
	struct ll_layer *set;
	struct ll_local *copy;
	uint64_t have, len = x->length;

	if (ll_extent_is_remote(x)) {
		/* a LUN on another node: the layer checks its size once
		 * connected (it must hold offset + length) */
		set = ll_remote_open(l, x->path, x->offset + x->length, k);
		if (!set)
			return -1;
		ll_linear_add(lin, set, x->offset, x->length, 0);
		return 0;
	}
	snprintf(what, sizeof(what), "extent %u '%s'", k + 1, x->path);
	copy = ll_local_open(l, x->path, -1, mirrored ? LL_LOCAL_IMAGE : LL_LOCAL_ANY, 0, what);
	if (!copy)
		return -1;
	have = ll_local_layer(copy)->size;
	if (x->to_end)		/* to the end: whole blocks of it */
		len = x->offset < have ? (have - x->offset) & ~511ULL : 0;
	if (x->to_end && !len) {
		ll_err(l, "refused: %s: its offset %" PRIu64 " leaves nothing of its %" PRIu64
		       " bytes\n", what, x->offset, have);
		ll_layer_destroy(ll_local_layer(copy));
		return -1;
	}
	if (!x->to_end && (x->offset > have || x->length > have - x->offset)) {
		if (mirrored)
			ll_err(l, "refused: %s: %" PRIu64 " bytes at offset %" PRIu64 " end past the "
			       "%" PRIu64 " bytes of its image's data\n", what, x->length, x->offset,
			       have);
		else
			ll_err(l, "refused: %s: %" PRIu64 " bytes at offset %" PRIu64 " end past its "
			       "%" PRIu64 " bytes\n", what, x->length, x->offset, have);
		ll_layer_destroy(ll_local_layer(copy));
		return -1;
	}
	set = set_layer(l, copy, k, lin->size, x->offset, len);
	if (!set)
		return -1;
	ll_linear_add(lin, set, x->offset, len, x->to_end);
	return 0;
}

int ll_stack_open(struct ll_lu *l, int fd, uint64_t *size)
{
	struct ll_layer *top, *lin;
	unsigned int k;

	l->nmirrors = 0;
	top = backing(l, fd);
	if (!top)
		return -1;
	if (l->opts.nextents) {
		lin = ll_linear_new(l, 1 + l->opts.nextents, 0);
		if (!lin) {
			l->top = top;
			goto err;
		}
		ll_linear_add(lin, top, 0, top->size, 0);
		l->top = lin;
		for (k = 1; k <= l->opts.nextents; k++)
			if (add_extent(l, lin, k))
				goto err;
		ll_info(l, "%u extents concatenated, %" PRIu64 " bytes in all\n",
			1 + l->opts.nextents, lin->size);
	} else {
		l->top = top;
	}
	*size = l->top->size;
	return 0;
err:
	ll_stack_close(l);
	return -1;
}

/*
 * A mirror writes its map to its file at close; a resync or verify may
 * have reads in flight, a mirror metadata writes: they are stopped from
 * starting more, and finished, first.
 */
void ll_stack_close(struct ll_lu *l)
{
	if (!l->top)
		return;
	ll_layer_quiesce(l->top);
	if (l->nmirrors && l->engine.ops)
		l->engine.ops->drain(&l->engine);
	ll_layer_destroy(l->top);
	l->top = NULL;
	l->nmirrors = 0;
}
