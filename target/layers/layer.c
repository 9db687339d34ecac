// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layer.c: what every layer shares: completions deferred to the main
 * loop's next round (no layer completes a request inside its submit), the
 * optional ops with their defaults, and the fault= rule.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lunlink.h"

int ll_status_path(const struct ll_lu *l, unsigned int set, char *buf, size_t len)
{
	int n;

	if (mkdir(LL_STATUS_DIR, 0755) && errno != EEXIST)
		return -1;
	n = snprintf(buf, len, LL_STATUS_DIR "/c%d-t%d-l%" PRIu64, control_port,
		     l->lu->tgt->tid, l->lu->lun);
	snprintf(buf + n, len - (size_t)n, set ? "-e%u.status" : ".status", set + 1);
	return 0;
}

uint64_t ll_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void later_run(struct event_data *ev)
{
	struct ll_lu *l = ev->data;
	struct ll_io *io = l->later;

	l->later = l->later_tail = NULL;
	l->later_scheduled = 0;
	while (io) {
		struct ll_io *next = io->next;

		io->complete(io);
		io = next;
	}
}

void ll_later_init(struct ll_lu *l)
{
	tgt_init_sched_event(&l->later_ev, later_run, l);
}

void ll_later_cancel(struct ll_lu *l)
{
	if (l->later_scheduled)
		tgt_remove_sched_event(&l->later_ev);
	l->later_scheduled = 0;
}

void ll_later(struct ll_lu *l, struct ll_io *io)
{
	ll_io_push(&l->later, &l->later_tail, io);
	if (!l->later_scheduled) {
		l->later_scheduled = 1;
		tgt_add_sched_event(&l->later_ev);
	}
}

void ll_layer_quiesce(struct ll_layer *ly)
{
	if (ly->ops->quiesce)
		ly->ops->quiesce(ly);
}

void ll_layer_destroy(struct ll_layer *ly)
{
	if (ly)
		ly->ops->destroy(ly);
}

int ll_layer_message(struct ll_layer *ly, const struct ll_update *u)
{
	return ly->ops->message ? ly->ops->message(ly, u) : 0;
}

int ll_layer_map(struct ll_layer *ly, uint64_t off, int *fd, uint64_t *file_off,
		 uint64_t *left)
{
	return ly->ops->map ? ly->ops->map(ly, off, fd, file_off, left) : -1;
}

int ll_fault_hits(const struct ll_lu *l, enum ll_io_op op)
{
	switch (op) {
	case LL_OP_READ:
		return !!(l->fault & LL_FAULT_READ);
	case LL_OP_FADVISE:
		return 0;
	case LL_OP_DATASYNC:
		return !!(l->fault & (LL_FAULT_WRITE | LL_FAULT_FLUSH));
	default:		/* write, hole punch */
		return !!(l->fault & LL_FAULT_WRITE);
	}
}
