/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run.h: run a program for the node agent (tgtadm, lunlink-image) with
 * no shell, a bounded wait and bounded output.
 *
 * The agent drives tools whose arguments come from the manager (paths,
 * IQNs, options): they go to execve as they are, never through sh, so no
 * value can become a command.  A tool that hangs (a tgtd that stopped
 * answering its control socket) is killed when its time is up, so the
 * agent's loop is never stuck behind it.
 */
#ifndef LUNLINK_POLICY_RUN_H
#define LUNLINK_POLICY_RUN_H

#include <stddef.h>

#define PG_RUN_OUT_MAX	(4 * 1024 * 1024)	/* bytes of stdout kept */
#define PG_RUN_ERR_MAX	4096			/* bytes of stderr kept */

struct pg_run_result {
	int status;		/* exit status 0..255; -1: killed or did not start */
	int timed_out;		/* killed because its time was up */
	char *out;		/* stdout, NUL-terminated (malloc'd; may be NULL) */
	size_t out_len;
	int out_truncated;	/* it wrote more than PG_RUN_OUT_MAX */
	char err[PG_RUN_ERR_MAX];	/* stderr, NUL-terminated, trailing newlines cut */
};

/*
 * Run argv[0] (a path: no PATH search) with argv, the environment
 * extended by env (NULL-ended "KEY=VALUE" list, may be NULL), stdin from
 * /dev/null; wait at most timeout_ms (then SIGKILL).  0 if it ran (its
 * status in r, whatever it is), -1 if it could not be run or waited for,
 * with the reason in errbuf.  Free r with pg_run_result_free.
 */
int pg_run(char *const argv[], char *const env[], long timeout_ms,
	     struct pg_run_result *r, char *errbuf, size_t errlen);
void pg_run_result_free(struct pg_run_result *r);

#endif
