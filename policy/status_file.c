// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * status_file.c: read the lunlink module's status files (see
 * status_file.h and doc/lunlink-status.8).
 */
#include "status_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATUS_DIR	"/run/lunlink"
#define EXTENTS_MAX	64	/* -eN.status files looked for */

static int fail(char *err, size_t errlen, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "status file, line %zu: ", line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A decimal number of at most 19 digits, up to max. */
static int number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!n || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int pg_generation_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n != 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
			s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;

		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* The value of " key=" in line (up to the next space), or NULL; *n its
 * length.  error="..." is found by field_error. */
static const char *field(const char *line, const char *key, size_t *n)
{
	size_t k = strlen(key);

	for (const char *p = line; (p = strstr(p, key)); p++) {
		if ((p != line && p[-1] != ' ') || p[k] != '=')
			continue;
		*n = strcspn(p + k + 1, " ");
		return p + k + 1;
	}
	return NULL;
}

/* error="...": the text up to the line's last '"' (the module writes it
 * last, and it may hold spaces and quotes). */
static int field_error(const char *line, char *out, size_t cap)
{
	const char *p = strstr(line, " error=\""), *q;

	out[0] = '\0';
	if (!p)
		return 0;
	p += 8;
	q = strrchr(p, '"');
	if (!q)
		return -1;
	snprintf(out, cap, "%.*s", (int)(q - p), p);
	return 0;
}

/* A leg's state (mirror_leg.c's names), or a remote extent's (remote.c's:
 * down, connecting, up). */
static bool state_ok(const char *s, size_t n, bool peer)
{
	static const char *const names[] = { "down", "connecting", "up", "syncing", "refused" };

	for (size_t i = 0; i < (peer ? 3 : 5); i++)
		if (strlen(names[i]) == n && !strncmp(s, names[i], n))
			return true;
	return false;
}

/* A write lease's word (target/mirror/status.c). */
static bool lease_ok(const char *s, size_t n)
{
	static const char *const names[] = { "none", "held", "expired", "deposed" };

	for (size_t i = 0; i < 4; i++)
		if (strlen(names[i]) == n && !strncmp(s, names[i], n))
			return true;
	return false;
}

static bool url_ok(const char *s, size_t n)
{
	if (n < 9 || n > PG_COPY_URL_MAX || strncmp(s, "iscsi://", 8))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '"')
			return false;
	return true;
}

static int parse_line(char *line, size_t no, struct pg_status *s, bool *head, char *remote,
		      char *err, size_t errlen)
{
	const char *v;
	size_t n;
	uint64_t x;

	if (!*head) {
		if (strncmp(line, "lun ", 4))
			return fail(err, errlen, no, "expected 'lun tid=N lun=N ...' first");
		if (!(v = field(line, "tid", &n)) || number(v, n, 65535, &x) || !x)
			return fail(err, errlen, no, "tid= is not a number from 1 to 65535");
		s->tid = (unsigned int)x;
		if (!(v = field(line, "lun", &n)) || number(v, n, 255, &x))
			return fail(err, errlen, no, "lun= is not a number from 0 to 255");
		s->lun = (unsigned int)x;
		if ((v = field(line, "extent", &n))) {
			if (number(v, n, 65535, &x) || x < 2)
				return fail(err, errlen, no, "extent= is not a number from 2");
			s->extent = (unsigned int)x;
		}
		if ((v = field(line, "generation", &n))) {
			if (pg_generation_parse(v, n, &s->generation))
				return fail(err, errlen, no, "generation= is not 16 hex digits");
		}
		if ((v = field(line, "tgtd", &n))) {
			if (number(v, n, INT32_MAX, &x))
				return fail(err, errlen, no, "tgtd= is not a process id");
			s->tgtd_pid = (int)x;
		}
		if ((v = field(line, "lease", &n))) {
			if (!lease_ok(v, n))
				return fail(err, errlen, no, "lease= is none of none, held, expired, "
					    "deposed");
			snprintf(s->lease, sizeof(s->lease), "%.*s", (int)n, v);
			if (!(v = field(line, "lease_epoch", &n)) ||
			    number(v, n, PG_LEASE_EPOCH_MAX, &s->lease_epoch))
				return fail(err, errlen, no, "lease_epoch= is not a number from 0 to "
					    "2^48-1");
		}
		if ((v = field(line, "remote", &n))) {
			if (!url_ok(v, n))
				return fail(err, errlen, no, "remote= is not an iscsi:// URL of at "
					    "most %d bytes", PG_COPY_URL_MAX);
			snprintf(remote, PG_COPY_URL_MAX + 1, "%.*s", (int)n, v);
		}
		*head = true;
		return 0;
	}
	if (!strncmp(line, "leg ", 4) || !strncmp(line, "peer ", 5)) {
		bool peer = line[0] == 'p';
		struct pg_copy *c;

		if (s->ncopies >= PG_COPIES_MAX)
			return fail(err, errlen, no, "more than %d copies", PG_COPIES_MAX);
		c = &s->copies[s->ncopies];
		memset(c, 0, sizeof(*c));
		if (peer) {
			if (!remote[0])
				return fail(err, errlen, no, "a peer line with no remote= before");
			snprintf(c->url, sizeof(c->url), "%s", remote);
		} else {
			if (number(line + 4, strcspn(line + 4, " "), 64, &x) || !x)
				return fail(err, errlen, no, "expected 'leg N url=...'");
			if (!(v = field(line, "url", &n)) || !url_ok(v, n))
				return fail(err, errlen, no, "url= is not an iscsi:// URL of at "
					    "most %d bytes", PG_COPY_URL_MAX);
			snprintf(c->url, sizeof(c->url), "%.*s", (int)n, v);
		}
		if (!(v = field(line, "state", &n)) || !state_ok(v, n, peer))
			return fail(err, errlen, no, "state= is none of up, syncing, connecting, "
				    "down, refused");
		snprintf(c->state, sizeof(c->state), "%.*s", (int)n, v);
		if (((v = field(line, "left", &n)) || (v = field(line, "out_of_date", &n))) &&
		    number(v, n, 1ULL << 60, &c->left_bytes))
			return fail(err, errlen, no, "left= or out_of_date= is not a number");
		if (field_error(line, c->error, sizeof(c->error)))
			return fail(err, errlen, no, "error=\" is not closed");
		s->ncopies++;
		return 0;
	}
	if (!strncmp(line, "copy ", 5) || !strncmp(line, "local ", 6) || !strcmp(line, "local"))
		return 0;
	return fail(err, errlen, no, "a line of no known kind ('%.16s')", line);
}

int pg_status_parse(const char *text, size_t len, struct pg_status *s, char *err,
		    size_t errlen)
{
	char *line, remote[PG_COPY_URL_MAX + 1] = "";
	const char *pos = text, *end = text + len;
	bool head = false;
	size_t no = 0;

	memset(s, 0, sizeof(*s));
	if (len > PG_STATUS_MAX)
		return fail(err, errlen, 0, "more than %d bytes", PG_STATUS_MAX);
	line = malloc(PG_STATUS_LINE_MAX);
	if (!line)
		return fail(err, errlen, 0, "out of memory");
	while (pos < end) {
		const char *nl = memchr(pos, '\n', (size_t)(end - pos));
		size_t n = nl ? (size_t)(nl - pos) : (size_t)(end - pos);

		no++;
		if (n >= PG_STATUS_LINE_MAX) {
			fail(err, errlen, no, "longer than %d bytes", PG_STATUS_LINE_MAX - 1);
			goto err;
		}
		memcpy(line, pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
				fail(err, errlen, no, "a control character at byte %zu", i + 1);
				goto err;
			}
		if (parse_line(line, no, s, &head, remote, err, errlen))
			goto err;
	}
	if (!head) {
		fail(err, errlen, no, "empty: no 'lun' line");
		goto err;
	}
	free(line);
	return 0;
err:
	free(line);
	memset(s, 0, sizeof(*s));
	return -1;
}

static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t r;

	*len = 0;
	if (fd < 0)
		return -1;
	while (*len < cap && (r = read(fd, buf + *len, cap - *len)) > 0)
		*len += (size_t)r;
	close(fd);
	return 0;
}

/* The status file of extent e (1: the LUN's own) into *s: 0, or -1 when
 * missing, refused (why, if errlen), another LUN's or a dead tgtd's. */
static int read_status(const char *dir, int control_port, unsigned int tid, unsigned int lun,
		       unsigned int e, char *buf, struct pg_status *s, char *why, size_t errlen)
{
	char path[4200], reason[512];
	size_t len;

	if (e == 1)
		snprintf(path, sizeof(path), "%s/c%d-t%u-l%u.status", dir ? dir : STATUS_DIR,
			 control_port < 0 ? 0 : control_port, tid, lun);
	else
		snprintf(path, sizeof(path), "%s/c%d-t%u-l%u-e%u.status", dir ? dir : STATUS_DIR,
			 control_port < 0 ? 0 : control_port, tid, lun, e);
	if (read_file(path, buf, PG_STATUS_MAX + 1, &len))
		return -1;
	if (pg_status_parse(buf, len, s, reason, sizeof(reason))) {
		if (errlen)
			snprintf(why, errlen, "%s: %s", path, reason);
		return -1;
	}
	/* left behind by a tgtd that was killed: not this LUN's */
	if (s->tid != tid || s->lun != lun ||
	    (s->tgtd_pid > 0 && kill(s->tgtd_pid, 0) && errno == ESRCH))
		return -1;
	return 0;
}

int pg_status_lease(const char *dir, int control_port, unsigned int tid, unsigned int lun,
		    char word[8], uint64_t *epoch, uint64_t *gen)
{
	char *buf = malloc(PG_STATUS_MAX + 1);
	struct pg_status s;
	int rc = 0;

	word[0] = '\0';
	*epoch = 0;
	if (gen)
		*gen = 0;
	if (!buf)
		return -1;
	if (read_status(dir, control_port, tid, lun, 1, buf, &s, NULL, 0) == 0 && s.lease[0]) {
		snprintf(word, 8, "%s", s.lease);
		*epoch = s.lease_epoch;
		if (gen)
			*gen = s.generation;
		rc = 1;
	}
	free(buf);
	return rc;
}

size_t pg_status_copies(const char *dir, int control_port, unsigned int tid, unsigned int lun,
			struct pg_copy *out, size_t max, char *err, size_t errlen)
{
	char *buf = malloc(PG_STATUS_MAX + 1);
	size_t n = 0;

	if (errlen)
		err[0] = '\0';
	if (!buf)
		return 0;
	for (unsigned int e = 1; e <= EXTENTS_MAX && n < max; e++) {
		struct pg_status s;

		/* the first reason a file was refused is said */
		if (read_status(dir, control_port, tid, lun, e, buf, &s, err,
				errlen && !err[0] ? errlen : 0))
			continue;
		for (size_t i = 0; i < s.ncopies && n < max; i++)
			out[n++] = s.copies[i];
	}
	free(buf);
	return n;
}
