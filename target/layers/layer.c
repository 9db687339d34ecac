// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * layer.c: what every layer shares: completions deferred to the main
 * loop's next round (no layer completes a request inside its submit), the
 * optional ops with their defaults, and the fault= rule.
 */
#define _GNU_SOURCE
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

/*
 * SEEK_DATA or SEEK_HOLE (whence) over a layer's first size bytes, from
 * off: where the next data (or hole) begins, through each local file the
 * layer maps to.  size if none follows; for SEEK_DATA, off where a part
 * cannot say (a remote LUN, an error: all data), for SEEK_HOLE, size there.
 * A block device says it is all data.
 */
uint64_t ll_layer_seek(struct ll_layer *ly, uint64_t off, uint64_t size, int whence)
{
	while (off < size) {
		uint64_t file_off, left;
		off_t at;
		int fd;

		if (ll_layer_map(ly, off, &fd, &file_off, &left) || !left)
			return whence == SEEK_DATA ? off : size;
		at = lseek(fd, (off_t)file_off, whence);
		if (at < 0 && errno != ENXIO)
			return whence == SEEK_DATA ? off : size;
		if (at < 0) {
			/* ENXIO: SEEK_DATA found no data from file_off on (the
			 * part is a hole: on to the next); SEEK_HOLE was asked
			 * at or past the file's end (a hole here) */
			if (whence == SEEK_HOLE)
				return off;
			off += left;
			continue;
		}
		if ((uint64_t)at - file_off < left) {
			off += (uint64_t)at - file_off;
			return off < size ? off : size;
		}
		off += left;		/* not in this part: on to the next */
	}
	return size;
}
