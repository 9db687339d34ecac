// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/linear.c: unit tests (TAP) of the linear layer (target/layers/
 * linear.c): windows and concatenations over recording layers below it.
 * Each request that reaches a layer below is recorded (its offset, length
 * and buffer) and answered from the test, so the offsets, the splitting at
 * seams, the flush to each layer once, the first error of a split request,
 * GET LBA STATUS's map and the rule that nothing completes inside submit
 * are checked without tgtd.  tgt's scheduler and logger are stubbed below:
 * a deferred completion runs when the test "runs the loop".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lunlink.h"
#include "tap.h"

/* ---- stubs for what linear.c and layer.c take from tgtd -------------- */

static struct event_data *sched[8];
static unsigned int nsched;

void tgt_init_sched_event(struct event_data *evt, sched_event_handler_t handler, void *data)
{
	memset(evt, 0, sizeof(*evt));
	evt->sched_handler = handler;
	evt->data = data;
}

void tgt_add_sched_event(struct event_data *evt)
{
	sched[nsched++] = evt;
}

void tgt_remove_sched_event(struct event_data *evt)
{
	(void)evt;
}

short int control_port;		/* tgtd's; names status files, unused here */

static char last_log[1024];

void ll_log(enum ll_log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

/* the main loop's next round: the deferred completions run */
static void run_loop(void)
{
	while (nsched) {
		struct event_data *ev = sched[--nsched];

		ev->sched_handler(ev);
	}
}

/* ---- a recording layer -------------------------------------------------- */

struct rec {
	struct ll_layer ly;
	const char *name;
	struct ll_io *got[8];
	unsigned int ngot;
	int destroyed, quiesced;
};

static void rec_submit(struct ll_layer *ly, struct ll_io *io)
{
	struct rec *r = (struct rec *)ly;

	r->got[r->ngot++] = io;
}

static void rec_destroy(struct ll_layer *ly)
{
	((struct rec *)ly)->destroyed++;
}

static void rec_quiesce(struct ll_layer *ly)
{
	((struct rec *)ly)->quiesced++;
}

static int rec_map(struct ll_layer *ly, uint64_t off, int *fd, uint64_t *file_off,
		   uint64_t *left)
{
	*fd = ((struct rec *)ly)->name[0];
	*file_off = 1000000 + off;
	*left = ly->size - off;
	return 0;
}

static const struct ll_layer_ops rec_ops = {
	.name = "rec", .submit = rec_submit, .quiesce = rec_quiesce, .destroy = rec_destroy,
	.map = rec_map,
};

static void rec_init(struct rec *r, struct ll_lu *l, const char *name, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->ly.ops = &rec_ops;
	r->ly.l = l;
	r->ly.size = size;
	r->name = name;
}

/* answer the k-th request the layer got */
static void answer(struct rec *r, unsigned int k, int res)
{
	r->got[k]->res = res;
	r->got[k]->complete(r->got[k]);
}

static int completed, completed_res;

static void done(struct ll_io *io)
{
	completed++;
	completed_res = io->res;
}

static void req(struct ll_io *io, enum ll_io_op op, uint64_t off, uint64_t len, void *buf)
{
	memset(io, 0, sizeof(*io));
	io->op = op;
	io->off = off;
	io->len = len;
	io->buf = buf;
	io->complete = done;
	completed = 0;
	completed_res = 1;
}

int main(void)
{
	static struct scsi_lu lu_space;
	static struct target tgt_space;
	struct ll_lu *l = calloc(1, sizeof(*l));
	struct rec a, b, c;
	struct ll_layer *lin, *win;
	struct ll_io io;
	char buf[16384];
	int fd;
	uint64_t foff, left, now;

	lu_space.tgt = &tgt_space;
	l->lu = &lu_space;
	ll_later_init(l);

	/* a concatenation: 4096 bytes of a from 0, 8192 of b from 512, all of c */
	rec_init(&a, l, "a", 1 << 20);
	rec_init(&b, l, "b", 1 << 20);
	rec_init(&c, l, "c", 4096);
	lin = ll_linear_new(l, 3, 0);
	ok(lin != NULL, "a linear layer of three segments");
	ll_linear_add(lin, &a.ly, 0, 4096, 0);
	ll_linear_add(lin, &b.ly, 512, 8192, 0);
	ll_linear_add(lin, &c.ly, 0, 4096, 1);
	is_u64(lin->size, 16384, "its size is the segments' sum");

	req(&io, LL_OP_READ, 4096 + 1024, 2048, buf);
	ll_layer_submit(lin, &io);
	ok(a.ngot == 0 && b.ngot == 1 && c.ngot == 0, "a read within one segment goes to it alone");
	ok(b.got[0] == &io && io.off == 512 + 1024 && io.len == 2048,
	   "  as it is, its offset moved into the layer below");
	answer(&b, 0, 0);
	ok(completed == 1 && completed_res == 0, "  and completes when that layer answers");

	b.ngot = 0;
	req(&io, LL_OP_WRITE, 4096 - 1024, 1024 + 8192 + 512, buf);
	ll_layer_submit(lin, &io);
	ok(a.ngot == 1 && b.ngot == 1 && c.ngot == 1, "a write across both seams is split in three");
	ok(a.got[0]->off == 3072 && a.got[0]->len == 1024 && a.got[0]->buf == buf,
	   "  a: its last 1024 bytes, from the buffer's start");
	ok(b.got[0]->off == 512 && b.got[0]->len == 8192 && b.got[0]->buf == buf + 1024,
	   "  b: its whole segment, from 1024 bytes in");
	ok(c.got[0]->off == 0 && c.got[0]->len == 512 && c.got[0]->buf == buf + 1024 + 8192,
	   "  c: its first 512 bytes");
	ok(a.got[0]->op == LL_OP_WRITE && c.got[0]->op == LL_OP_WRITE, "  each piece a write");
	answer(&c, 0, 0);
	answer(&a, 0, -EIO);
	ok(completed == 0, "  not complete while a piece is out");
	answer(&b, 0, -ENOSPC);
	ok(completed == 1 && completed_res == -EIO, "  then complete, with the first error");

	a.ngot = b.ngot = c.ngot = 0;
	req(&io, LL_OP_DATASYNC, 0, 0, NULL);
	ll_layer_submit(lin, &io);
	ok(a.ngot == 1 && b.ngot == 1 && c.ngot == 1, "a flush goes to every layer below");
	answer(&a, 0, 0);
	answer(&b, 0, 0);
	answer(&c, 0, 0);
	ok(completed == 1 && completed_res == 0, "  and completes once, when all answered");

	ok(!ll_layer_map(lin, 4096 + 100, &fd, &foff, &left) && fd == 'b' &&
	   foff == 1000000 + 612 && left == 8192 - 100,
	   "map: a byte of the second segment lies in b, its left cut at the seam");
	ok(ll_layer_map(lin, 16384, &fd, &foff, &left) < 0, "map: past the end, no answer");

	/* the last segment runs to its layer's end, but c cannot grow */
	last_log[0] = '\0';
	ok(lin->ops->resize(lin, 1, 32768, &now) == LL_RESIZE_REFUSED,
	   "resize with a last layer that cannot grow is refused");

	/* a window of a, twice over one layer: a flush goes to it once */
	a.ngot = 0;
	win = ll_linear_new(l, 2, 1);
	ll_linear_add(win, &a.ly, 8192, 4096, 0);
	ll_linear_add(win, &a.ly, 0, 4096, 0);
	req(&io, LL_OP_DATASYNC, 0, 0, NULL);
	ll_layer_submit(win, &io);
	ok(a.ngot == 1 && a.got[0] == &io, "two segments of one layer: one flush, the request itself");
	answer(&a, 0, 0);
	ok(win->ops->resize(win, 1, 16384, &now) == LL_RESIZE_REFUSED &&
	   strstr(last_log, "a window of its image (window=)"),
	   "a window refuses resize, and says why");

	/* a request of no bytes (PRE-FETCH of 0 blocks) goes to one segment */
	a.ngot = 0;
	req(&io, LL_OP_FADVISE, 4096, 0, NULL);
	ll_layer_submit(win, &io);
	ok(a.ngot == 1 && io.off == 0, "a request of no bytes goes to the segment it starts in");

	ll_layer_quiesce(win);
	ok(a.quiesced == 1, "quiesce reaches a layer below once");
	ll_layer_destroy(win);
	ok(a.destroyed == 1, "destroy frees a layer below once");
	ll_layer_destroy(lin);
	ok(a.destroyed == 2 && b.destroyed == 1 && c.destroyed == 1,
	   "the concatenation frees each of its layers");

	/* nothing completes inside submit: a fault layer's refusal waits for
	 * the loop */
	l->fault = LL_FAULT_READ;
	{
		struct ll_layer *f = ll_fault_new(l, &b.ly);

		b.ngot = 0;
		req(&io, LL_OP_READ, 0, 512, buf);
		ll_layer_submit(f, &io);
		ok(completed == 0 && b.ngot == 0, "fault=read: the read reaches nothing, not yet done");
		run_loop();
		ok(completed == 1 && completed_res == -EIO, "  and fails with EIO from the loop");
		req(&io, LL_OP_WRITE, 0, 512, buf);
		ll_layer_submit(f, &io);
		ok(b.ngot == 1, "  a write passes");
		l->fault = LL_FAULT_NONE;
		free(f);
	}
	free(l);
	return done_testing();
}
