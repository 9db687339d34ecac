/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check.h: the fuzz targets' invariant check.  A broken invariant aborts,
 * naming the file, the line and the condition, so that libFuzzer keeps the
 * input and the corpus replay (t/fuzz/replay.c) fails on it.
 */
#ifndef LUNLINK_FUZZ_CHECK_H
#define LUNLINK_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define check(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#endif
