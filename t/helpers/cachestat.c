// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cachestat FILE: print the page-cache state of FILE as the kernel counts it
 * (cachestat(2), Linux 6.5): "cached=N dirty=N writeback=N" in pages.  The
 * tests use it to see that SYNCHRONIZE CACHE and FUA really leave no dirty
 * page behind.  Exit 3 when the kernel has no cachestat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct cs_range { uint64_t off, len; };
struct cs {
	uint64_t cache, dirty, writeback, evicted, recently_evicted;
};

int main(int argc, char **argv)
{
	struct cs_range r = { 0, 0 };	/* len 0: to the end of the file */
	struct cs s;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: cachestat FILE\n");
		return 1;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "cachestat: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(&s, 0, sizeof(s));
	if (syscall(__NR_cachestat, fd, &r, &s, 0)) {
		fprintf(stderr, "cachestat: %s\n", strerror(errno));
		return errno == ENOSYS ? 3 : 1;
	}
	printf("cached=%llu dirty=%llu writeback=%llu\n", (unsigned long long)s.cache,
	       (unsigned long long)s.dirty, (unsigned long long)s.writeback);
	return 0;
}
