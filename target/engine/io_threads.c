// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * io_threads.c: the fallback I/O path, a pool of worker threads, for hosts
 * where io_uring cannot be set up (old kernels, sandboxes that forbid it).
 * Workers do blocking system calls; finished requests go back to tgtd's
 * main loop through one eventfd, and only the main loop completes commands.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/falloc.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>

#include "list.h"
#include "util.h"
#include "tgtd.h"
#include "log.h"

#include "engine/io_engine.h"
#include "log.h"

struct threads_priv {
	struct ll_engine *e;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct ll_io *todo, *todo_tail;
	struct ll_io *done, *done_tail;
	int stop;
	int efd;
	unsigned int nthreads;
	pthread_t *tids;
};

static long perform_once(int fd, struct ll_io *io)
{
	char *buf = (char *)io->buf + io->done;
	off_t off = (off_t)(io->off + io->done);
	size_t len = io->len - io->done;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	long r;

	switch (io->op) {
	case LL_OP_READ:
		r = pread(fd, buf, len, off);
		break;
	case LL_OP_WRITE:
		r = pwritev2(fd, &iov, 1, off, (io->flags & LL_IO_DSYNC) ? RWF_DSYNC : 0);
		break;
	case LL_OP_DATASYNC:
		r = fdatasync(fd);
		break;
	case LL_OP_PUNCH:
		r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)io->off, (off_t)io->len);
		break;
	case LL_OP_FADVISE:
		r = posix_fadvise(fd, (off_t)io->off, (off_t)io->len, POSIX_FADV_WILLNEED);
		return r ? -r : 0;
	default:
		return -EINVAL;
	}
	return r < 0 ? -errno : r;
}

static void *worker(void *arg)
{
	struct threads_priv *p = arg;
	uint64_t one = 1;

	for (;;) {
		struct ll_io *io;
		long r;

		pthread_mutex_lock(&p->lock);
		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->todo) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		io = p->todo;
		p->todo = io->next;
		if (!p->todo)
			p->todo_tail = NULL;
		pthread_mutex_unlock(&p->lock);

		do {
			r = perform_once(ll_io_fd(p->e, io), io);
		} while (r == -EINTR || (r >= 0 && ll_io_advance(io, r)));
		if (r == -EINTR || r < 0)
			io->res = (int)r;

		pthread_mutex_lock(&p->lock);
		ll_io_push(&p->done, &p->done_tail, io);
		pthread_mutex_unlock(&p->lock);
		/* cannot fail: the counter is far from overflow */
		(void)!write(p->efd, &one, sizeof(one));
	}
}

static void threads_complete(int fd, int events, void *data)
{
	struct threads_priv *p = data;
	struct ll_io *io;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		ll_log(LL_LOG_ERROR, "reading the worker eventfd: %m\n");
	pthread_mutex_lock(&p->lock);
	io = p->done;
	p->done = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (io) {
		struct ll_io *next = io->next;

		p->e->inflight--;
		io->complete(io);
		io = next;
	}
}

static void threads_submit(struct ll_engine *e, struct ll_io *io)
{
	struct threads_priv *p = e->priv;

	io->done = 0;
	io->res = 0;
	e->inflight++;
	pthread_mutex_lock(&p->lock);
	ll_io_push(&p->todo, &p->todo_tail, io);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

static void stop_workers(struct threads_priv *p, unsigned int n)
{
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		pthread_join(p->tids[i], NULL);
}

static int threads_open(struct ll_engine *e, unsigned int depth, unsigned int threads,
			char *err, size_t errlen)
{
	struct threads_priv *p;
	sigset_t block, old;
	unsigned int i;
	int ret;

	(void)depth;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->tids = calloc(threads, sizeof(*p->tids)))) {
		snprintf(err, errlen, "out of memory");
		free(p);
		return -1;
	}
	p->e = e;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto err_free;
	}
	/* Workers must not take tgtd's signals (it uses SIGUSR2 itself). */
	sigfillset(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < threads; i++) {
		ret = pthread_create(&p->tids[i], NULL, worker, p);
		if (ret) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "starting worker %u of %u: %s", i + 1, threads,
				 strerror(ret));
			stop_workers(p, i);
			goto err_efd;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	p->nthreads = threads;
	if (tgt_event_add(p->efd, EPOLLIN, threads_complete, p)) {
		snprintf(err, errlen, "tgt_event_add failed for the worker eventfd");
		stop_workers(p, threads);
		goto err_efd;
	}
	e->priv = p;
	return 0;

err_efd:
	close(p->efd);
err_free:
	free(p->tids);
	free(p);
	return -1;
}

static void threads_drain(struct ll_engine *e)
{
	struct threads_priv *p = e->priv;

	ll_engine_drain_wait(e, p ? p->efd : -1, threads_complete, NULL, p);
}

static void threads_close(struct ll_engine *e)
{
	struct threads_priv *p = e->priv;

	if (!p)
		return;
	stop_workers(p, p->nthreads);
	tgt_event_del(p->efd);
	close(p->efd);
	free(p->tids);
	free(p);
	e->priv = NULL;
}

const struct ll_engine_ops ll_engine_threads = {
	.name = "threads",
	.open = threads_open,
	.submit = threads_submit,
	.drain = threads_drain,
	.close = threads_close,
};
