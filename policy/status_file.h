/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status_file.h: the node agent's reader of the lunlink module's status
 * files (doc/lunlink-status.8; written by target/mirror/status.c and
 * target/layers/remote.c), for the report's volumes.NAME.copies: one
 * entry per other copy of a serving LUN, a mirror's leg or a remote
 * extent.  The text is outside input (a file any root process could
 * write): every length and count is bounded, a line of no known shape
 * refuses the file, naming the line.
 */
#ifndef LUNLINK_POLICY_STATUS_FILE_H
#define LUNLINK_POLICY_STATUS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_STATUS_MAX		(64 * 1024)	/* bytes of a status file read */
#define PG_STATUS_LINE_MAX	4096
#define PG_COPIES_MAX		16		/* the manager's bound */
#define PG_COPY_URL_MAX		300
#define PG_COPY_ERROR_MAX	511

struct pg_copy {
	char url[PG_COPY_URL_MAX + 1];		/* as the module shows it: no password */
	char state[16];				/* up|syncing|connecting|down|refused */
	uint64_t left_bytes;			/* to copy (syncing) or out of date */
	char error[PG_COPY_ERROR_MAX + 1];	/* why it is down or refused, or "" */
};

#define PG_LEASE_EPOCH_MAX	((1ULL << 48) - 1)

/* A generation as target/mirror/status.c writes it and the manager
 * records it: the n bytes of s are 16 lower-case hex digits.  0 with
 * *out, or -1. */
int pg_generation_parse(const char *s, size_t n, uint64_t *out);

struct pg_status {
	unsigned int tid, lun, extent;		/* extent 0: the LUN's own set */
	int tgtd_pid;				/* the tgtd that wrote it (0: not said) */
	/* lease=on: the write lease, "none", "held", "expired" or "deposed";
	 * "" when the LUN has no lease=on */
	char lease[8];
	uint64_t lease_epoch;
	uint64_t generation;			/* this copy's (0: not said) */
	struct pg_copy copies[PG_COPIES_MAX];
	size_t ncopies;
};

/*
 * Parse one status file's text (len bytes, need not be NUL-terminated).
 * "leg N url=U state=S ... [left=L|out_of_date=L] ... [error="E"]" lines
 * give a copy each (a mirror's), "peer state=S ... [error="E"]" one for
 * the remote extent of the first line's "remote=URL"; the first line's
 * "lease=W lease_epoch=E" the write lease; "copy", "local" and
 * unknown key=value fields are skipped.  0, or -1 with "line N: reason"
 * in err and *s empty.
 */
int pg_status_parse(const char *text, size_t len, struct pg_status *s, char *err,
		    size_t errlen);

/*
 * The write lease of the LUN tid/lun served by the tgtd on control_port,
 * from its own status file (as pg_status_copies finds it): 1 with its
 * word (none|held|expired|deposed) in word and *epoch, and this copy's
 * generation in *gen (if gen is not NULL; 0 if not said), 0 when the file
 * has none (no file, no lease=on, another tgtd's), -1 when it is refused.
 */
int pg_status_lease(const char *dir, int control_port, unsigned int tid, unsigned int lun,
		    char word[8], uint64_t *epoch, uint64_t *gen);

/*
 * The copies of the LUN tid/lun served by the tgtd on control_port (its
 * -C, 0 by default) from dir (NULL: /run/lunlink): its own file
 * (cPORT-tTID-lLUN.status) and its extents' (-eN.status, N from 2), each
 * only if the tgtd that wrote it is still running.  Appends to out (max
 * entries); returns how many it holds.  Unreadable or refused files are
 * skipped, with the first reason in err (if errlen).
 */
size_t pg_status_copies(const char *dir, int control_port, unsigned int tid, unsigned int lun,
			struct pg_copy *out, size_t max, char *err, size_t errlen);

#endif
