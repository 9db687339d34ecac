// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * discover.c: iscsiadm discovery and login (see discover.h), and rd_run,
 * the bounded way this program runs another.
 */
#include "discover.h"
#include "lunlink/errmsg.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int rd_run(char *const argv[], unsigned int timeout_s, char *out, size_t outlen,
	   char *err, size_t errlen)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;
	size_t used = 0;
	int pfd[2], status, nul;
	bool timed_out = false;
	char sink[512];
	pid_t pid;

	if (outlen)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return ll_fail(err, errlen, "running %s: pipe: %s", argv[0], strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return ll_fail(err, errlen, "running %s: fork: %s", argv[0], strerror(errno));
	}
	if (pid == 0) {
		nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		uint64_t now = now_ms();
		ssize_t n;
		int rc;

		if (now >= deadline) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;	/* the deadline check above ends it */
		if (outlen && used < outlen - 1) {
			n = read(pfd[0], out + used, outlen - 1 - used);
			if (n > 0) {
				used += (size_t)n;
				out[used] = '\0';
			}
		} else {
			n = read(pfd[0], sink, sizeof(sink));	/* cut, but drain */
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ll_fail(err, errlen, "running %s: waitpid: %s", argv[0], strerror(errno));
	if (timed_out)
		return ll_fail(err, errlen, "%s did not finish in %u s and was killed", argv[0], timeout_s);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

size_t rd_discovery_parse(const char *text, struct rd_found *out, size_t max)
{
	const char *line = text, *nl, *sp, *comma;
	size_t n = 0;

	for (; *line && n < max; line = nl ? nl + 1 : line + strlen(line)) {
		size_t plen, tlen;

		nl = strchr(line, '\n');
		tlen = nl ? (size_t)(nl - line) : strlen(line);
		sp = memchr(line, ' ', tlen);
		if (!sp)
			continue;
		comma = memchr(line, ',', (size_t)(sp - line));
		plen = comma ? (size_t)(comma - line) : (size_t)(sp - line);
		/* a record's portal has a port; a message's first word does not */
		if (!plen || plen >= sizeof(out->portal) || !memchr(line, ':', plen))
			continue;
		sp++;
		tlen -= (size_t)(sp - line);
		while (tlen && (sp[tlen - 1] == '\r' || sp[tlen - 1] == ' '))
			tlen--;
		if (!tlen || tlen >= sizeof(out->target) || memchr(sp, ' ', tlen))
			continue;
		memcpy(out[n].portal, line, plen);
		out[n].portal[plen] = '\0';
		memcpy(out[n].target, sp, tlen);
		out[n].target[tlen] = '\0';
		n++;
	}
	return n;
}

static bool logged_in(const struct rd_found *f, const struct rd_session *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].target, f->target) &&
		    (!s[i].portal[0] || !strcmp(s[i].portal, f->portal)))
			return true;
	return false;
}

#define RD_MAX_FOUND	256

int rd_discover_login(const char *iscsiadm, unsigned int timeout_s, const char *portal,
		      const struct rd_session *sessions, size_t nsessions,
		      struct rd_login **logins, size_t *nlogins, char *err, size_t errlen)
{
	static char text[64 * 1024];
	struct rd_found found[RD_MAX_FOUND];
	struct rd_login *v;
	char runerr[256];
	size_t n;
	int st;

	*logins = NULL;
	*nlogins = 0;
	{
		char *argv[] = { (char *)iscsiadm, "-m", "discovery", "-t", "st", "-p",
				 (char *)portal, NULL };

		st = rd_run(argv, timeout_s, text, sizeof(text), runerr, sizeof(runerr));
	}
	if (st < 0)
		return ll_fail(err, errlen, "discovery at %s: %s", portal, runerr);
	if (st) {
		char *nl = strchr(text, '\n');

		if (nl && !nl[1])
			*nl = '\0';
		return ll_fail(err, errlen, "discovery at %s: %s -m discovery -t st -p %s exited %d: %.300s",
			    portal, iscsiadm, portal, st, text);
	}
	n = rd_discovery_parse(text, found, RD_MAX_FOUND);
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return ll_fail(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		v[i].t = found[i];
		if (logged_in(&found[i], sessions, nsessions)) {
			v[i].result = RD_LOGIN_ALREADY;
			continue;
		}
		char *argv[] = { (char *)iscsiadm, "-m", "node", "-T", found[i].target, "-p",
				 found[i].portal, "--login", NULL };

		rd_info("logging in to %s at %s", found[i].target, found[i].portal);
		st = rd_run(argv, timeout_s, text, sizeof(text), runerr, sizeof(runerr));
		if (st == 0) {
			v[i].result = RD_LOGIN_DONE;
		} else {
			char *nl;

			v[i].result = RD_LOGIN_FAILED;
			while ((nl = strrchr(text, '\n')) && !nl[1])
				*nl = '\0';
			for (nl = text; (nl = strchr(nl, '\n'));)
				*nl = ' ';
			if (st < 0)
				snprintf(v[i].why, sizeof(v[i].why), "%s", runerr);
			else
				snprintf(v[i].why, sizeof(v[i].why), "iscsiadm --login exited %d: %.400s",
					 st, text);
		}
	}
	*logins = v;
	*nlogins = n;
	return 0;
}
