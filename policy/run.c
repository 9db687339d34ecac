// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * run.c: run a tool with no shell, a deadline and bounded output (see
 * spawn.h).  posix_spawn with two pipes; the parent polls both until the
 * child closes them or the deadline passes, then reaps it.  A child past
 * its deadline gets SIGKILL: tgtadm has nothing to clean up, and a tgtd
 * that does not answer would keep it waiting for ever.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* environ, less the keys env sets, then env: a NULL-ended array of
 * pointers into both (only the array is allocated). */
static char **merge_env(char *const env[])
{
	size_t n = 0, m = 0, i, k, j = 0;
	char **out;

	while (environ[n])
		n++;
	while (env && env[m])
		m++;
	out = calloc(n + m + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		size_t klen = strcspn(environ[i], "=");
		int shadowed = 0;

		for (k = 0; k < m; k++)
			if (!strncmp(env[k], environ[i], klen) && env[k][klen] == '=')
				shadowed = 1;
		if (!shadowed)
			out[j++] = environ[i];
	}
	for (k = 0; k < m; k++)
		out[j++] = env[k];
	return out;
}

/* Read what fd has into buf (cap bytes, counting *len); 1 at end of file. */
static int drain(int fd, char **buf, size_t *len, size_t cap, int *truncated, int grow)
{
	char tmp[8192];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (n == 0)
		return 1;
	if (*len + (size_t)n > cap) {
		*truncated = 1;
		n = (ssize_t)(cap - *len);
	}
	if (n > 0) {
		if (grow) {
			char *nb = realloc(*buf, *len + (size_t)n + 1);

			if (!nb)
				return 1;
			*buf = nb;
		}
		memcpy(*buf + *len, tmp, (size_t)n);
		*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
	return 0;
}

int pg_run(char *const argv[], char *const env[], long timeout_ms,
	     struct pg_run_result *r, char *errbuf, size_t errlen)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, fa_init = 0, rc, st;
	posix_spawn_file_actions_t fa;
	char **envp = NULL, *errp = r->err;
	size_t err_len = 0;
	int err_trunc = 0, out_open = 1, err_open = 1;
	long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
	pid_t pid = -1;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		snprintf(errbuf, errlen, "cannot run %s: pipe: %s", argv[0], strerror(errno));
		goto err;
	}
	envp = merge_env(env);
	if (!envp || posix_spawn_file_actions_init(&fa)) {
		snprintf(errbuf, errlen, "cannot run %s: out of memory", argv[0]);
		goto err;
	}
	fa_init = 1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* spawnp: a bare name (the default tgtadm = "tgtadm") is looked up in
	 * PATH, as a shell would; a path is taken as it is */
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	if (rc) {
		snprintf(errbuf, errlen, "cannot run %s: %s (is it installed? set its path in "
			 "the configuration)", argv[0], strerror(rc));
		pid = -1;
		goto err;
	}
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	while (out_open || err_open) {
		struct pollfd p[2] = { { out_open ? out[0] : -1, POLLIN, 0 },
				       { err_open ? err[0] : -1, POLLIN, 0 } };
		long left = deadline - now_ms();

		if (left <= 0) {
			r->timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR) {
			snprintf(errbuf, errlen, "cannot run %s: poll: %s", argv[0], strerror(errno));
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			pid = -1;
			goto err;
		}
		if (out_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			out_open = !drain(out[0], &r->out, &r->out_len, PG_RUN_OUT_MAX,
					  &r->out_truncated, 1);
		if (err_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			err_open = !drain(err[0], &errp, &err_len, sizeof(r->err) - 1, &err_trunc, 0);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			snprintf(errbuf, errlen, "cannot wait for %s: %s", argv[0], strerror(errno));
			pid = -1;
			goto err;
		}
	}
	if (!r->timed_out && WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	while (err_len && (r->err[err_len - 1] == '\n' || r->err[err_len - 1] == '\r'))
		r->err[--err_len] = '\0';
	close(out[0]);
	close(err[0]);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	return 0;
err:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	free(envp);
	pg_run_result_free(r);
	return -1;
}

void pg_run_result_free(struct pg_run_result *r)
{
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}
