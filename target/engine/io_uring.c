// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * io_uring.c: the direct I/O path (seed 002).  One ring per LUN; its
 * completions raise an eventfd that tgtd's main loop watches, so a command
 * goes from the iSCSI socket to the kernel and back without a thread hop.
 *
 * Reads and writes are first tried inline, in the main loop, without
 * blocking (RWF_NOWAIT): a page-cache hit or a write into the page cache is
 * a memory copy, and handing it to the ring would only have the kernel pass
 * it to an io-wq worker thread (which it does for every tmpfs request and
 * for buffered ext4 writes: measured, see doc/perf.md) and wake us back.
 * On tmpfs, which cannot say "would block", they are done inline plainly:
 * there is no device to wait for.  What would block goes to the ring, and
 * so do large transfers (LL_INLINE_MAX below: reads copied by a worker).
 *
 * Submissions are batched: requests prepared while tgtd handles one round of
 * socket events go to the kernel together, in one io_uring_enter, from a
 * scheduled event that tgtd runs before it next sleeps in epoll_wait; the
 * same event completes the requests done inline (never inside the caller's
 * submit).  Requests beyond the ring's depth wait in a backlog and go in as
 * completions free room.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/magic.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>

#include "list.h"
#include "util.h"
#include "tgtd.h"
#include "log.h"

#include "engine/io_engine.h"
#include "log.h"

/*
 * Reads larger than this go to the ring marked IOSQE_ASYNC, on every file
 * system: an io-wq worker copies them on another CPU while the main loop
 * goes on serving other commands.  (Without the flag io_uring completes a
 * page-cache hit inside io_uring_enter, i.e. still on the loop's thread;
 * with it, 1 MiB sequential reads went from 0.86 to 1.01 of rdwr's
 * throughput on tmpfs and from 0.91 to 0.98 on ext4, measured in
 * alternated runs: doc/perf.md.)  Larger writes go to the ring on a file
 * system with a device (ext4 hands every buffered write to a worker
 * anyway); on tmpfs writes of every size are done inline: a worker costs
 * more than the copy (1 MiB sequential writes were 1.8x faster inline).
 */
#define LL_INLINE_MAX	(128u << 10)

struct uring_priv {
	struct ll_engine *e;
	struct io_uring ring;
	int efd;
	unsigned int depth;
	unsigned int in_kernel;		/* SQEs handed out, not yet completed */
	unsigned int unsubmitted;	/* SQEs prepared, not yet submitted */
	int flush_scheduled;
	struct event_data flush_ev;
	struct ll_io *backlog, *backlog_tail;
	struct ll_io *done, *done_tail;	/* finished inline, to complete */
	int nowait[2];			/* RWF_NOWAIT works for [read, write] */
	int memfs;			/* tmpfs/ramfs: never waits for a device */
};

static void prep(struct io_uring_sqe *sqe, int fd, struct ll_io *io)
{
	char *buf = (char *)io->buf + io->done;
	uint64_t off = io->off + io->done;
	unsigned int len = (unsigned int)(io->len - io->done);

	switch (io->op) {
	case LL_OP_READ:
		io_uring_prep_read(sqe, fd, buf, len, off);
		break;
	case LL_OP_WRITE:
		io_uring_prep_write(sqe, fd, buf, len, off);
		if (io->flags & LL_IO_DSYNC)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case LL_OP_DATASYNC:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case LL_OP_PUNCH:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)io->off, (off_t)io->len);
		break;
	case LL_OP_FADVISE:
		io_uring_prep_fadvise(sqe, fd, io->off, (off_t)io->len, POSIX_FADV_WILLNEED);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
}

static void schedule(struct uring_priv *p)
{
	if (!p->flush_scheduled) {
		p->flush_scheduled = 1;
		tgt_add_sched_event(&p->flush_ev);
	}
}

static void flush(struct uring_priv *p)
{
	int ret;

	if (!p->unsubmitted)
		return;
	ret = io_uring_submit(&p->ring);
	if (ret >= 0) {
		p->unsubmitted -= (unsigned int)ret < p->unsubmitted ? (unsigned int)ret : p->unsubmitted;
		if (!p->unsubmitted)
			return;
	} else if (ret != -EAGAIN && ret != -EBUSY && ret != -EINTR) {
		ll_log(LL_LOG_WARNING, "io_uring_submit failed: %s; retrying\n", strerror(-ret));
	}
	/* The kernel took fewer than offered: try again next round. */
	schedule(p);
}

static void flush_event(struct event_data *ev)
{
	struct uring_priv *p = ev->data;
	struct ll_io *io = p->done;

	p->flush_scheduled = 0;
	flush(p);
	p->done = p->done_tail = NULL;
	while (io) {
		struct ll_io *next = io->next;

		p->e->inflight--;
		io->complete(io);
		io = next;
	}
}

/*
 * Try a read or a write in the main loop without blocking.  True when it
 * finished (io->res set); false when the ring must do it, or the rest of
 * it (io->done tells how much is already done).
 */
static int try_inline(struct uring_priv *p, struct ll_io *io)
{
	int w = io->op == LL_OP_WRITE;
	struct iovec iov;
	ssize_t r;
	int flags;

	if ((io->op != LL_OP_READ && io->op != LL_OP_WRITE) || io->fd)
		return 0;	/* (another extent's file: its kind is not known here) */
	if (io->len > LL_INLINE_MAX && (!p->memfs || io->op == LL_OP_READ))
		return 0;	/* beside the loop (above) */
	if (p->memfs)
		flags = 0;
	else if (!p->nowait[w] || (io->flags & LL_IO_DSYNC))
		return 0;	/* a durable write waits for the device */
	else
		flags = RWF_NOWAIT;
	if (io->flags & LL_IO_DSYNC)
		flags |= RWF_DSYNC;

	iov.iov_base = (char *)io->buf + io->done;
	iov.iov_len = io->len - io->done;
	if (io->op == LL_OP_READ)
		r = preadv2(ll_io_fd(p->e, io), &iov, 1, (off_t)(io->off + io->done), flags);
	else
		r = pwritev2(ll_io_fd(p->e, io), &iov, 1, (off_t)(io->off + io->done), flags);
	if (r < 0) {
		/* the file system cannot say "would block" for this
		 * direction (ext4's buffered writes): the ring does them */
		if (errno == EOPNOTSUPP && (flags & RWF_NOWAIT))
			p->nowait[w] = 0;
		return 0;
	}
	return !ll_io_advance(io, r);
}

/* Prepare an SQE for io; false when the ring is full. */
static int start(struct uring_priv *p, struct ll_io *io)
{
	struct io_uring_sqe *sqe;

	if (p->in_kernel >= p->depth)
		return 0;
	sqe = io_uring_get_sqe(&p->ring);
	if (!sqe) {
		flush(p);
		sqe = io_uring_get_sqe(&p->ring);
		if (!sqe)
			return 0;
	}
	prep(sqe, ll_io_fd(p->e, io), io);
	if (io->op == LL_OP_READ && io->len > LL_INLINE_MAX)
		sqe->flags |= IOSQE_ASYNC;	/* copied by a worker, not in the loop */
	p->in_kernel++;
	p->unsubmitted++;
	schedule(p);
	return 1;
}

static void backlog_push(struct uring_priv *p, struct ll_io *io)
{
	ll_io_push(&p->backlog, &p->backlog_tail, io);
}

static void uring_submit(struct ll_engine *e, struct ll_io *io)
{
	struct uring_priv *p = e->priv;

	io->done = 0;
	io->res = 0;
	e->inflight++;
	if (try_inline(p, io)) {
		ll_io_push(&p->done, &p->done_tail, io);
		schedule(p);
		return;
	}
	if (p->backlog || !start(p, io))
		backlog_push(p, io);
}

static void drain_backlog(struct uring_priv *p)
{
	while (p->backlog) {
		struct ll_io *io = p->backlog;

		if (!start(p, io))
			return;
		p->backlog = io->next;
		if (!p->backlog)
			p->backlog_tail = NULL;
	}
}

static void uring_complete(int fd, int events, void *data)
{
	struct uring_priv *p = data;
	struct ll_engine *e = p->e;
	struct io_uring_cqe *cqe;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		ll_log(LL_LOG_ERROR, "reading the io_uring eventfd: %m\n");

	while (io_uring_peek_cqe(&p->ring, &cqe) == 0) {
		struct ll_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&p->ring, cqe);
		p->in_kernel--;
		if (res == -EAGAIN || res == -EINTR || ll_io_advance(io, res)) {
			if (!start(p, io)) {
				/* keep it ahead of new work */
				io->next = p->backlog;
				p->backlog = io;
				if (!p->backlog_tail)
					p->backlog_tail = io;
			}
			continue;
		}
		e->inflight--;
		io->complete(io);
	}
	drain_backlog(p);
}

static int uring_open(struct ll_engine *e, unsigned int depth, unsigned int threads,
		      char *err, size_t errlen)
{
	struct uring_priv *p;
	struct io_uring_params params;
	struct statfs sfs;
	int ret;

	(void)threads;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->e = e;
	p->depth = depth;
	p->efd = -1;

	memset(&params, 0, sizeof(params));
#ifdef IORING_SETUP_COOP_TASKRUN
	/* completions are reaped by this thread anyway: spare the IPIs */
	params.flags = IORING_SETUP_COOP_TASKRUN;
#endif
	ret = io_uring_queue_init_params(depth, &p->ring, &params);
	if (ret == -EINVAL && params.flags) {
		memset(&params, 0, sizeof(params));
		ret = io_uring_queue_init_params(depth, &p->ring, &params);
	}
	if (ret < 0) {
		snprintf(err, errlen, "io_uring_queue_init(%u): %s", depth, strerror(-ret));
		goto err_free;
	}
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto err_ring;
	}
	ret = io_uring_register_eventfd(&p->ring, p->efd);
	if (ret < 0) {
		snprintf(err, errlen, "io_uring_register_eventfd: %s", strerror(-ret));
		goto err_efd;
	}
	if (tgt_event_add(p->efd, EPOLLIN, uring_complete, p)) {
		snprintf(err, errlen, "tgt_event_add failed for the io_uring eventfd");
		goto err_efd;
	}
	tgt_init_sched_event(&p->flush_ev, flush_event, p);
	p->nowait[0] = p->nowait[1] = 1;
	if (!fstatfs(e->fd, &sfs))
		p->memfs = sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
	e->priv = p;
	return 0;

err_efd:
	close(p->efd);
err_ring:
	io_uring_queue_exit(&p->ring);
err_free:
	free(p);
	return -1;
}

/* Inline completions and unsubmitted SQEs first: 1 if there were. */
static int drain_flush(void *data)
{
	struct uring_priv *p = data;

	if (!p->flush_scheduled)
		return 0;
	tgt_remove_sched_event(&p->flush_ev);
	flush_event(&p->flush_ev);
	return 1;
}

static void uring_drain(struct ll_engine *e)
{
	struct uring_priv *p = e->priv;

	ll_engine_drain_wait(e, p ? p->efd : -1, uring_complete, drain_flush, p);
}

static void uring_close(struct ll_engine *e)
{
	struct uring_priv *p = e->priv;

	if (!p)
		return;
	if (p->flush_scheduled)
		tgt_remove_sched_event(&p->flush_ev);
	tgt_event_del(p->efd);
	close(p->efd);
	io_uring_queue_exit(&p->ring);
	free(p);
	e->priv = NULL;
}

const struct ll_engine_ops ll_engine_uring = {
	.name = "io_uring",
	.open = uring_open,
	.submit = uring_submit,
	.drain = uring_drain,
	.close = uring_close,
};
