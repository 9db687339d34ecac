/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_engine.h: how a lunlink LUN reaches its local image.
 *
 * An engine takes requests (read, write, datasync, punch, fadvise) on one
 * file descriptor and calls each request's completion in tgtd's main loop.
 * Two engines: io_uring, whose completions are read in the main loop through
 * an eventfd registered with tgt_event_add (no thread hop: seed 002's direct
 * path), and a worker pool for kernels or sandboxes where io_uring cannot be
 * set up.  Short transfers are finished inside the engine; a request
 * completes once, with res 0 or -errno.
 */
#ifndef LUNLINK_IO_ENGINE_H
#define LUNLINK_IO_ENGINE_H

#include <stddef.h>
#include <stdint.h>

enum ll_io_op {
	LL_OP_READ,
	LL_OP_WRITE,
	LL_OP_DATASYNC,		/* fdatasync the whole file */
	LL_OP_PUNCH,		/* deallocate [off, off+len): reads back zeros */
	LL_OP_FADVISE,		/* POSIX_FADV_WILLNEED over [off, off+len) */
};

#define LL_IO_DSYNC	0x1	/* write: durable when complete (FUA, WCE=0) */

struct ll_io {
	enum ll_io_op op;
	int flags;
	void *buf;
	uint64_t off;
	uint64_t len;
	uint64_t done;		/* bytes transferred so far (engine's) */
	int fd;			/* another file than the engine's (an extent), or 0 */
	int res;		/* 0 or -errno, set before complete() */
	void (*complete)(struct ll_io *io);
	struct ll_io *next;	/* engine's queue link */
};

struct ll_engine;

struct ll_engine_ops {
	const char *name;
	/* 0, or -1 with a reason in err */
	int (*open)(struct ll_engine *e, unsigned int depth, unsigned int threads,
		    char *err, size_t errlen);
	void (*submit)(struct ll_engine *e, struct ll_io *io);
	/* Block until nothing is in flight, running the completions (at
	 * most LL_DRAIN_MS): for a LUN that closes with background work (a
	 * resync's reads, metadata writes) in flight. */
	void (*drain)(struct ll_engine *e);
	/* Only with nothing in flight. */
	void (*close)(struct ll_engine *e);
};

#define LL_DRAIN_MS	30000

/*
 * An engine's drain: until nothing is in flight (at most LL_DRAIN_MS), wait
 * for the completion eventfd efd and let complete(efd, 0, data) run what
 * finished; before (if not NULL) runs first each time and returns 1 when it
 * finished work itself (then the count is looked at again, without waiting).
 */
void ll_engine_drain_wait(struct ll_engine *e, int efd, void (*complete)(int, int, void *),
			  int (*before)(void *), void *data);

struct ll_engine {
	const struct ll_engine_ops *ops;
	int fd;			/* the file of requests whose fd is 0 */
	unsigned int inflight;	/* submitted, not yet completed */
	void *priv;
};

extern const struct ll_engine_ops ll_engine_uring;
extern const struct ll_engine_ops ll_engine_threads;

/* Append io to the FIFO of requests linked through their next field. */
static inline void ll_io_push(struct ll_io **head, struct ll_io **tail, struct ll_io *io)
{
	io->next = NULL;
	if (*tail)
		(*tail)->next = io;
	else
		*head = io;
	*tail = io;
}

/* The file a request is for. */
static inline int ll_io_fd(const struct ll_engine *e, const struct ll_io *io)
{
	return io->fd ? io->fd : e->fd;
}

/* The part of a finished transfer that decides whether it goes on. */
static inline int ll_io_advance(struct ll_io *io, long res)
{
	if (res < 0) {
		io->res = (int)res;
		return 0;
	}
	if (io->op != LL_OP_READ && io->op != LL_OP_WRITE) {
		io->res = 0;
		return 0;
	}
	if (res == 0) {		/* read past the end: the image shrank */
		io->res = -5;	/* EIO */
		return 0;
	}
	io->done += (uint64_t)res;
	if (io->done < io->len)
		return 1;	/* short transfer: submit the rest */
	io->res = 0;
	return 0;
}

#endif
