// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * syscall-cost.c: what one system call costs on this machine, to set
 * beside tgtd's CPU per I/O (doc/perf.md, "Against null").  Times, in CPU
 * (getrusage: user + system), N calls each of: getppid (a call that does
 * nothing), preadv2 and pwritev2 of 4 KiB at random 4 KiB offsets of FILE
 * (which should be in the page cache: a tmpfs file, or one just written),
 * and, when FILE is at least 1 MiB, preadv2 and pwritev2 of 1 MiB.
 *
 *   cc -O2 -o /tmp/syscall-cost t/perf/syscall-cost.c
 *   /tmp/syscall-cost /dev/shm/x.img [N]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static double cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20] __attribute__((aligned(4096)));
	long n = argc > 2 ? atol(argv[2]) : 200000, i;
	struct iovec iov = { buf, 4096 };
	struct stat st;
	double t;
	int fd;

	if (argc < 2 || (fd = open(argv[1], O_RDWR)) < 0 || fstat(fd, &st) || st.st_size < 4096) {
		fprintf(stderr, "usage: %s FILE (at least 4 KiB, read-write) [N]\n", argv[0]);
		return 1;
	}
	t = cpu_us();
	for (i = 0; i < n; i++)
		getppid();
	printf("getppid            %.2f µs\n", (cpu_us() - t) / n);
	t = cpu_us();
	for (i = 0; i < n; i++)
		preadv2(fd, &iov, 1, (random() % (st.st_size / 4096)) * 4096, 0);
	printf("preadv2 4 KiB      %.2f µs\n", (cpu_us() - t) / n);
	t = cpu_us();
	for (i = 0; i < n; i++)
		pwritev2(fd, &iov, 1, (random() % (st.st_size / 4096)) * 4096, 0);
	printf("pwritev2 4 KiB     %.2f µs\n", (cpu_us() - t) / n);
	if (st.st_size >= (1 << 20)) {
		iov.iov_len = 1 << 20;
		n /= 100;
		t = cpu_us();
		for (i = 0; i < n; i++)
			preadv2(fd, &iov, 1, (random() % (st.st_size >> 20)) << 20, 0);
		printf("preadv2 1 MiB      %.2f µs\n", (cpu_us() - t) / n);
		t = cpu_us();
		for (i = 0; i < n; i++)
			pwritev2(fd, &iov, 1, (random() % (st.st_size >> 20)) << 20, 0);
		printf("pwritev2 1 MiB     %.2f µs\n", (cpu_us() - t) / n);
	}
	return 0;
}
