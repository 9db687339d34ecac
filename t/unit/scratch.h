/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scratch.h: a private scratch folder for a C unit test, made with mkdtemp
 * under $TMPDIR (or /tmp) and removed with everything in it when the test
 * exits, so tests that make files run side by side and leave nothing.
 *
 *   const char *dir = scratch_dir("store");	/tmp/lunlink-store.XXXXXX
 *
 * Header only: include it once per test program.
 */
#ifndef LUNLINK_SCRATCH_H
#define LUNLINK_SCRATCH_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch_path[PATH_MAX];
static pid_t scratch_owner;

static int scratch_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	remove(path);
	return 0;
}

static void scratch_remove(void)
{
	/* a forked child's exit must not remove its parent's folder */
	if (scratch_path[0] && getpid() == scratch_owner)
		nftw(scratch_path, scratch_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The folder's path, made on the first call; exits if it cannot be made. */
static __attribute__((unused)) const char *scratch_dir(const char *what)
{
	const char *tmp = getenv("TMPDIR");

	if (scratch_path[0])
		return scratch_path;
	snprintf(scratch_path, sizeof(scratch_path), "%s/lunlink-%s.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", what);
	if (!mkdtemp(scratch_path)) {
		perror(scratch_path);
		printf("1..0 # SKIP cannot make a scratch folder\n");
		exit(0);
	}
	scratch_owner = getpid();
	atexit(scratch_remove);
	return scratch_path;
}

#endif
