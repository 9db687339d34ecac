/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock.h: the one monotonic clock every lunlink deadline is counted on
 * (leases, elections, timeouts): CLOCK_MONOTONIC in milliseconds, which a
 * wall clock that steps cannot shorten or stretch.
 */
#ifndef LUNLINK_CLOCK_H
#define LUNLINK_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t ll_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
