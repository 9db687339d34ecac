// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daemon.c: daemonizing with a start status for the command that started
 * the daemon (include/lunlink/daemon.h).
 */
#include "lunlink/daemon.h"

#include <fcntl.h>
#include <unistd.h>

int ll_daemonize(int *ready_fd)
{
	int p[2], nul;
	pid_t pid;
	char st = 1;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			st = 1;
		_exit(st ? 1 : 0);
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

void ll_daemon_ready(int *ready_fd, char status, bool keep_stderr)
{
	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &status, 1) != 1) {
		/* the command is gone; nothing to tell */
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
