// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * background.h: going to the background the classic way (fork, setsid,
 * fork) with one difference: the command that started the daemon exits
 * only once the daemon is ready, with its status, so a failure to start
 * (a bad socket, a bad sysfs root) is not hidden behind an exit 0.
 */
#ifndef LUNLINK_RESCAND_BACKGROUND_H
#define LUNLINK_RESCAND_BACKGROUND_H

#include <stdbool.h>

/* 0 in the daemon, with *ready_fd to report on; -1 with errno. */
int rd_daemonize(int *ready_fd);

/* Tell the waiting parent: status 0 ready, else failed.  Once ready,
 * stderr goes to /dev/null unless keep_stderr (the log is on stderr). */
void rd_daemon_ready(int *ready_fd, char status, bool keep_stderr);

int rd_write_pidfile(const char *path);

#endif
