/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.h: going to the background the classic way (fork, setsid, fork)
 * with one difference: the command that started the daemon exits only
 * once the daemon is ready, with its status, so a failure to start (a bad
 * socket, a port in use) is not hidden behind an exit 0.  Shared by
 * lunlink-rescand and lunlink-policyd (target/lib/daemon.c).
 */
#ifndef LUNLINK_DAEMON_H
#define LUNLINK_DAEMON_H

#include <stdbool.h>

/* 0 in the daemon, with *ready_fd to report on (stdin and stdout on
 * /dev/null already, stderr kept for the start's errors); -1 with errno
 * in the caller, which stays in the foreground. */
int ll_daemonize(int *ready_fd);

/* Tell the waiting command: status 0 ready, else failed (it exits 1).
 * Once ready, stderr goes to /dev/null unless keep_stderr.  Nothing if
 * *ready_fd < 0 (in the foreground); *ready_fd is -1 after. */
void ll_daemon_ready(int *ready_fd, char status, bool keep_stderr);

#endif
