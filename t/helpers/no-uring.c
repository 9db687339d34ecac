// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * no-uring.so: LD_PRELOAD into tgtd to make io_uring unavailable, as on a
 * kernel without it or in a sandbox that forbids it, so the tests can see
 * bs_lunlink fall back to its worker threads.  It interposes the one
 * liburing call the module sets a ring up with.
 */
#include <errno.h>

struct io_uring;
struct io_uring_params;

int io_uring_queue_init_params(unsigned int entries, struct io_uring *ring,
			       struct io_uring_params *p);

int io_uring_queue_init_params(unsigned int entries, struct io_uring *ring,
			       struct io_uring_params *p)
{
	(void)entries;
	(void)ring;
	(void)p;
	return -ENOSYS;
}
