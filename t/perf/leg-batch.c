// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * leg-batch.c: an experiment for t/perf/mirror.sh, not part of lunlink.
 * LD_PRELOADed into tgtd A only (PERF_A_PRELOAD=t/perf/leg-batch.so), it
 * measures what sending the leg's commands in one system call per loop
 * round would save over libiscsi's two per command (send of the header,
 * writev of the data): what libiscsi sends on a socket is kept in a buffer
 * and written with one send when tgtd's loop is about to wait
 * (epoll_wait).  libiscsi is the only caller of send and writev in tgtd A
 * (tgt's own iSCSI driver uses write), so only its sockets are touched.
 * For measurement only: a send it buffers is reported done at once, and a
 * socket that will not drain is waited for with poll.
 *
 *   gcc -O2 -shared -fPIC -o t/perf/leg-batch.so t/perf/leg-batch.c -ldl
 *
 * Results: doc/perf.md, "Batching the leg's commands".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAXFD 4096
static struct out { char *p; size_t len, cap; int leg; } out[MAXFD];
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
static int (*real_close)(int);
static int dirty[64], ndirty;

static void init(void)
{
	if (real_send)
		return;
	real_send = dlsym(RTLD_NEXT, "send");
	real_writev = dlsym(RTLD_NEXT, "writev");
	real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
	real_close = dlsym(RTLD_NEXT, "close");
}

static void append(int fd, const void *b, size_t n)
{
	struct out *o = &out[fd];

	if (!o->len && ndirty < 64)
		dirty[ndirty++] = fd;
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->p = realloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void flush(int fd)
{
	struct out *o = &out[fd];
	size_t off = 0;

	while (off < o->len) {
		ssize_t n = real_send(fd, o->p + off, o->len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { fd, POLLOUT, 0 };
			poll(&p, 1, 1000);
			continue;
		}
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	o->len = 0;
}

ssize_t send(int fd, const void *b, size_t n, int flags)
{
	init();
	if (fd < 0 || fd >= MAXFD)
		return real_send(fd, b, n, flags);
	out[fd].leg = 1;
	append(fd, b, n);
	return (ssize_t)n;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	size_t t = 0;

	init();
	if (fd < 0 || fd >= MAXFD || !out[fd].leg)
		return real_writev(fd, iov, cnt);
	for (int i = 0; i < cnt; i++) {
		append(fd, iov[i].iov_base, iov[i].iov_len);
		t += iov[i].iov_len;
	}
	return (ssize_t)t;
}

int epoll_wait(int ep, struct epoll_event *ev, int max, int ms)
{
	init();
	for (int i = 0; i < ndirty; i++)
		if (out[dirty[i]].len)
			flush(dirty[i]);
	ndirty = 0;
	return real_epoll_wait(ep, ev, max, ms);
}

int close(int fd)
{
	init();
	if (fd >= 0 && fd < MAXFD && out[fd].leg) {
		out[fd].leg = 0;
		out[fd].len = 0;
	}
	return real_close(fd);
}
