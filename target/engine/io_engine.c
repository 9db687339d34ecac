// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * io_engine.c: what the engines (io_uring.c, io_threads.c) share.
 */
#include <poll.h>
#include <stddef.h>

#include "engine/io_engine.h"
#include "log.h"

void ll_engine_drain_wait(struct ll_engine *e, int efd, void (*complete)(int, int, void *),
			  int (*before)(void *), void *data)
{
	int waited = 0;

	while (data && e->inflight && waited < LL_DRAIN_MS) {
		struct pollfd pfd = { .fd = efd, .events = POLLIN };

		if (before && before(data))
			continue;
		if (poll(&pfd, 1, 10) == 0)
			waited += 10;
		complete(efd, 0, data);
	}
	if (data && e->inflight)
		ll_log(LL_LOG_ERROR, "%u I/O(s) to the image still unanswered after %d s; closing "
		       "the LUN anyway (check the image's storage: dmesg, the disk's health)\n",
		       e->inflight, LL_DRAIN_MS / 1000);
}
