// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fault.c: the fault layer, as dm-flakey is: it passes requests to the
 * layer below, except those that the LUN's fault= setting (tgtadm --op
 * update --params fault=...) says fail, which complete with EIO and reach
 * nothing.  The stack puts one above each plain local file; a mirror
 * applies the same rule to its own copy (ll_fault_hits), since its reads
 * of a failing copy go to a leg instead.  With fault=none it costs one call.
 */
#include <errno.h>
#include <stdlib.h>

#include "lunlink.h"

struct fault {
	struct ll_layer ly;
	struct ll_layer *below;
};

static void fault_submit(struct ll_layer *ly, struct ll_io *io)
{
	struct fault *f = (struct fault *)ly;

	if (ly->l->fault && ll_fault_hits(ly->l, io->op)) {
		io->res = -EIO;
		ll_later(ly->l, io);
		return;
	}
	ll_layer_submit(f->below, io);
}

static void fault_quiesce(struct ll_layer *ly)
{
	ll_layer_quiesce(((struct fault *)ly)->below);
}

static void fault_destroy(struct ll_layer *ly)
{
	ll_layer_destroy(((struct fault *)ly)->below);
	free(ly);
}

/* The stack puts a fault layer over local files only, which can resize. */
static int fault_resize(struct ll_layer *ly, int grow, uint64_t want, uint64_t *now)
{
	struct ll_layer *below = ((struct fault *)ly)->below;
	int ret = below->ops->resize(below, grow, want, now);

	ly->size = below->size;
	return ret;
}

static int fault_message(struct ll_layer *ly, const struct ll_update *u)
{
	return ll_layer_message(((struct fault *)ly)->below, u);
}

static int fault_map(struct ll_layer *ly, uint64_t off, int *fd, uint64_t *file_off,
		     uint64_t *left)
{
	return ll_layer_map(((struct fault *)ly)->below, off, fd, file_off, left);
}

static const struct ll_layer_ops fault_ops = {
	.name = "fault",
	.submit = fault_submit,
	.quiesce = fault_quiesce,
	.destroy = fault_destroy,
	.resize = fault_resize,
	.message = fault_message,
	.map = fault_map,
};

struct ll_layer *ll_fault_new(struct ll_lu *l, struct ll_layer *below)
{
	struct fault *f = calloc(1, sizeof(*f));

	if (!f) {
		ll_err(l, "refused: out of memory\n");
		return NULL;
	}
	f->ly.ops = &fault_ops;
	f->ly.l = l;
	f->ly.size = below->size;
	f->below = below;
	return &f->ly;
}
