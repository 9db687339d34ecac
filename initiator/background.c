// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * background.c: the pid file (see background.h); daemonizing is
 * liblunlink's (include/lunlink/daemon.h), shared with lunlink-policyd.
 */
#include "background.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int rd_write_pidfile(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f) {
		rd_err("cannot write the pid file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f);
}

