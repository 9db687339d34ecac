// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * background.c: daemonizing and the pid file (see background.h).
 */
#include "background.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Fork to the background; the parent exits with the daemon's start status. */
int rd_daemonize(int *ready_fd)
{
	int p[2], nul;
	pid_t pid;
	char st = 1;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			st = 1;
		_exit(st);
	}
	close(p[0]);
	setsid();
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);	/* the first parent still waits on the pipe */
	if (chdir("/")) {
		/* "/" always exists */
	}
	nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		if (nul > STDERR_FILENO)
			close(nul);
	}
	*ready_fd = p[1];
	return 0;
}

void rd_daemon_ready(int *ready_fd, char status, bool keep_stderr)
{
	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &status, 1) != 1) {
		/* the parent is gone; nothing to tell */
	}
	close(*ready_fd);
	*ready_fd = -1;
	if (!status && !keep_stderr) {
		int nul = open("/dev/null", O_WRONLY);

		if (nul >= 0) {
			dup2(nul, STDERR_FILENO);	/* the log is syslog from now on */
			close(nul);
		}
	}
}

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

