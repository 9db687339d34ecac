// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layer.c: the mirror as a layer of a LUN's stack.  It sits over a local
 * copy (a lunlink image: the mirror owns its superblock, dirty-region map
 * and activity log) and fans every write out to that copy and to the legs
 * (mirror.c and its neighbours: the engine of seed 003).
 *
 * The layer's byte 0 is the image's first byte of data.  The engine below
 * works in offsets of the copy's file and reaches it through the LUN's
 * engine itself; this file moves requests into those offsets and answers
 * the ops (resize asks the legs first, the runtime keys verify=, retry=,
 * resolve=, forget=, lease= go to the engine).  The place the LUN serves the
 * mirror's data at is given when the layer is made: a resync holds the
 * LUN's range of what it copies, so that a write there waits for it.
 */
#include <stdlib.h>

#include "mirror_int.h"

struct mirror_layer {
	struct ll_layer ly;
	struct ll_local *copy;		/* the image: superblock, map, log */
	struct ll_layer *data;		/* the copy's data: the image's, then
					 * any copy_extent= areas */
	struct ll_extent place;
};

static inline struct mirror_layer *to_ml(struct ll_layer *ly)
{
	return (struct mirror_layer *)ly;
}

static void ml_submit(struct ll_layer *ly, struct ll_io *io)
{
	struct mirror_layer *ml = to_ml(ly);

	io->fd = ml->place.fd;
	if (io->op != LL_OP_DATASYNC)
		io->off += ml->place.image->data_offset;
	ll_mirror_submit(ml->place.mirror, io, ll_fault_hits(ly->l, io->op));
}

static void ml_quiesce(struct ll_layer *ly)
{
	ll_mirror_quiesce(to_ml(ly)->place.mirror);
}

static void ml_destroy(struct ll_layer *ly)
{
	struct mirror_layer *ml = to_ml(ly);

	if (ml->place.mirror)
		ll_mirror_close(ml->place.mirror);
	ll_layer_destroy(ml->data);	/* the image's layer with it */
	free(ml);
}

static int legs_may_grow(void *arg, uint64_t file_size)
{
	return ll_mirror_can_grow(arg, file_size);
}

static int ml_resize(struct ll_layer *ly, int grow, uint64_t want, uint64_t *now)
{
	struct mirror_layer *ml = to_ml(ly);
	int ret;

	if (ml->place.more_areas) {
		ll_err(ly->l, "refused: resize: the mirror's copy goes on into copy_extent= areas, "
		       "whose sizes are fixed by the options; make a new volume to grow it\n");
		return LL_RESIZE_REFUSED;
	}
	ret = ll_local_resize(ml->copy, grow, want, now, legs_may_grow, ml->place.mirror);

	if (ret == LL_RESIZE_CHANGED) {
		/* it serves its data from where it did to its new end */
		ly->size = *now;
		ml->place.size = ml->data->size;
		ml->place.len = *now - (ml->place.file_off - ml->place.image->data_offset);
		ll_mirror_grown(ml->place.mirror);
	}
	return ret;
}

static int ml_message(struct ll_layer *ly, const struct ll_update *u)
{
	struct ll_mirror *m = to_ml(ly)->place.mirror;

	switch (u->kind) {
	case LL_UPDATE_VERIFY:
		return ll_mirror_verify(m);
	case LL_UPDATE_RETRY_LEGS:
		return ll_mirror_retry_legs(m);
	case LL_UPDATE_RESOLVE_DISCARD_LEG:
		return ll_mirror_discard_split_legs(m);
	case LL_UPDATE_FORGET:
		return ll_mirror_forget_copy(m, u->copy_id);
	case LL_UPDATE_LEASE:
	case LL_UPDATE_LEASE_RELEASE:
		return ll_mirror_lease_changed(m);
	default:
		return 0;
	}
}

static int ml_map(struct ll_layer *ly, uint64_t off, int *fd, uint64_t *file_off,
		  uint64_t *left)
{
	return ll_layer_map(to_ml(ly)->data, off, fd, file_off, left);
}

static const struct ll_layer_ops mirror_ops = {
	.name = "mirror",
	.submit = ml_submit,
	.quiesce = ml_quiesce,
	.destroy = ml_destroy,
	.resize = ml_resize,
	.message = ml_message,
	.map = ml_map,
};

struct ll_layer *ll_mirror_layer_open(struct ll_lu *l, struct ll_local *copy, struct ll_layer *data,
				      unsigned int set, uint64_t lun_start, uint64_t data_off,
				      uint64_t len)
{
	struct mirror_layer *ml = calloc(1, sizeof(*ml));
	struct ll_image *im = ll_local_image(copy);

	if (!ml) {
		ll_err(l, "refused: out of memory\n");
		return NULL;
	}
	ml->ly.ops = &mirror_ops;
	ml->ly.l = l;
	ml->copy = copy;
	ml->data = data ? data : ll_local_layer(copy);
	ml->ly.size = ml->data->size;
	ml->place.copy = ml->data;
	ml->place.size = ml->data->size;
	ml->place.more_areas = ml->data != ll_local_layer(copy);
	ml->place.fd = ll_local_fd(copy);
	ml->place.path = ll_local_path(copy);
	ml->place.image = im;
	ml->place.start = lun_start;
	ml->place.len = len;
	ml->place.file_off = (im ? im->data_offset : 0) + data_off;
	if (ll_mirror_open(l, &ml->place, set)) {
		free(ml);
		return NULL;
	}
	return &ml->ly;
}
