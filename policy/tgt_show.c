// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tgt_show.c: read tgtd's state from tgtadm's text (see tgt.h).
 *
 * tgtadm has no machine-readable output; its show is an indented outline:
 *
 *   Target 3: iqn.2026-11.org.lunlink.cluster:vol-a      (column 0)
 *       LUN information:                                  (4: a section)
 *           LUN: 1                                        (8: an item)
 *               Backing store path: /srv/a.img            (12: its fields)
 *       ACL information:
 *           iqn.2026-11.org.example:host1
 *
 * The parser follows that outline line by line, knowing at each depth what
 * may come.  A line of another shape (a tab, a depth out of place, a number
 * that is not one, a name too long) refuses the whole text, naming the line:
 * the agent then leaves tgtd alone rather than act on a half-read state.
 * Fields it does not use inside a LUN or the system section are skipped,
 * so a tgt that shows one more field still reads.
 */
#include "tgt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum section { S_NONE, S_SYSTEM, S_NEXUS, S_LUN, S_ACCOUNT, S_ACL };

struct parser {
	struct pg_actual *a;
	size_t line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "tgtadm show, line %zu: ", p->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A decimal number of at most 19 digits, nothing else. */
static int number(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!*s || strlen(s) > 19)
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int copy(struct parser *p, char *dst, size_t cap, const char *src, const char *what)
{
	size_t n = strlen(src);

	if (n >= cap)
		return fail(p, "%s is %zu bytes, more than the %zu this agent takes", what, n,
			    cap - 1);
	memcpy(dst, src, n + 1);
	return 0;
}

/* "Key: value" -> key, value (value may be empty); -1 without ": " or a
 * trailing ":". */
static int key_value(char *s, char **key, char **value)
{
	char *c = strstr(s, ":");

	if (!c || c == s)
		return -1;
	*c = '\0';
	*key = s;
	if (c[1] == '\0')
		*value = c + 1;
	else if (c[1] == ' ')
		*value = c + 2;
	else
		return -1;
	return 0;
}

static struct pg_target *cur_target(struct pg_actual *a)
{
	return a->ntargets ? &a->targets[a->ntargets - 1] : NULL;
}

static int new_target(struct parser *p, char *s)
{
	struct pg_actual *a = p->a;
	struct pg_target *t, *nt;
	char *colon, *iqn;
	uint64_t tid;

	if (strncmp(s, "Target ", 7))
		return fail(p, "expected 'Target N: IQN' at the start of a line");
	colon = strstr(s + 7, ": ");
	if (!colon)
		return fail(p, "expected 'Target N: IQN'");
	*colon = '\0';
	iqn = colon + 2;
	if (number(s + 7, PG_TID_MAX, &tid) || tid == 0)
		return fail(p, "target id '%.20s' is not a number from 1 to %d", s + 7, PG_TID_MAX);
	if (!*iqn || strchr(iqn, ' '))
		return fail(p, "target %" PRIu64 "'s name is empty or has a space", tid);
	if (a->ntargets >= PG_TARGETS_MAX)
		return fail(p, "more than %d targets", PG_TARGETS_MAX);
	for (size_t i = 0; i < a->ntargets; i++)
		if (a->targets[i].tid == tid)
			return fail(p, "target %" PRIu64 " shown twice", tid);
	nt = realloc(a->targets, (a->ntargets + 1) * sizeof(*nt));
	if (!nt)
		return fail(p, "out of memory");
	a->targets = nt;
	t = &a->targets[a->ntargets++];
	memset(t, 0, sizeof(*t));
	t->tid = (unsigned int)tid;
	return copy(p, t->iqn, sizeof(t->iqn), iqn, "the target's name");
}

static int section(struct parser *p, const char *s, enum section *sec)
{
	static const struct { const char *name; enum section s; } names[] = {
		{ "System information:", S_SYSTEM }, { "I_T nexus information:", S_NEXUS },
		{ "LUN information:", S_LUN }, { "Account information:", S_ACCOUNT },
		{ "ACL information:", S_ACL },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*sec = names[i].s;
			return 0;
		}
	return fail(p, "unknown section '%.40s' in a target", s);
}

static int item(struct parser *p, struct pg_target *t, enum section sec, char *s)
{
	char *key, *value;
	uint64_t v;

	switch (sec) {
	case S_SYSTEM:
		if (key_value(s, &key, &value))
			return fail(p, "expected 'Key: value' in the system information");
		return 0;
	case S_NEXUS:
		if (key_value(s, &key, &value) || strcmp(key, "I_T nexus") ||
		    number(value, UINT64_MAX, &v))
			return fail(p, "expected 'I_T nexus: N'");
		t->nexuses++;
		return 0;
	case S_LUN: {
		struct pg_lun *nl;

		if (key_value(s, &key, &value) || strcmp(key, "LUN") ||
		    number(value, PG_LUNS_MAX, &v))
			return fail(p, "expected 'LUN: N' (N from 0 to %d)", PG_LUNS_MAX);
		for (size_t i = 0; i < t->nluns; i++)
			if (t->luns[i].lun == v)
				return fail(p, "LUN %" PRIu64 " of target %u shown twice", v, t->tid);
		nl = realloc(t->luns, (t->nluns + 1) * sizeof(*nl));
		if (!nl)
			return fail(p, "out of memory");
		t->luns = nl;
		memset(&t->luns[t->nluns], 0, sizeof(*nl));
		t->luns[t->nluns++].lun = (unsigned int)v;
		return 0;
	}
	case S_ACCOUNT: {
		struct pg_account *ac;
		size_t n = strlen(s);

		if (t->naccounts >= PG_ACCOUNTS_MAX)
			return fail(p, "target %u has more than %d accounts", t->tid,
				    PG_ACCOUNTS_MAX);
		ac = &t->accounts[t->naccounts];
		memset(ac, 0, sizeof(*ac));
		if (n > 11 && !strcmp(s + n - 11, " (outgoing)")) {
			s[n - 11] = '\0';
			ac->outgoing = true;
		}
		if (!*s || strchr(s, ' '))
			return fail(p, "an account name is empty or has a space");
		if (copy(p, ac->user, sizeof(ac->user), s, "an account name"))
			return -1;
		t->naccounts++;
		return 0;
	}
	case S_ACL: {
		char (*na)[PG_IQN_MAX + 1];

		if (t->nacl >= PG_ACL_MAX)
			return fail(p, "target %u has more than %d ACL entries", t->tid, PG_ACL_MAX);
		if (!*s || strchr(s, ' '))
			return fail(p, "an ACL entry is empty or has a space");
		na = realloc(t->acl, (t->nacl + 1) * sizeof(*na));
		if (!na)
			return fail(p, "out of memory");
		t->acl = na;
		if (copy(p, t->acl[t->nacl], sizeof(*na), s, "an ACL entry"))
			return -1;
		t->nacl++;
		return 0;
	}
	case S_NONE:
		break;
	}
	return fail(p, "an item outside any section");
}

static int lun_field(struct parser *p, struct pg_lun *l, char *s)
{
	char *key, *value;
	uint64_t v;

	if (key_value(s, &key, &value))
		return fail(p, "expected 'Key: value' in LUN %u", l->lun);
	if (!strcmp(key, "Type"))
		return copy(p, l->type, sizeof(l->type), value, "a LUN's type");
	if (!strcmp(key, "Size")) {
		char *mb = strstr(value, " MB, Block size: ");

		if (!mb)
			return fail(p, "expected 'Size: N MB, Block size: N'");
		*mb = '\0';
		if (number(value, UINT64_MAX / 1000000, &v) ||
		    number(mb + 17, UINT32_MAX, &(uint64_t){ 0 }))
			return fail(p, "LUN %u's size or block size is not a number", l->lun);
		l->size_mb = v;
		return 0;
	}
	if (!strcmp(key, "Backing store type"))
		return copy(p, l->bstype, sizeof(l->bstype), value, "a backing store type");
	if (!strcmp(key, "Backing store path")) {
		if (!strcmp(value, "None")) {
			l->path[0] = '\0';
			return 0;
		}
		if (value[0] != '/')
			return fail(p, "LUN %u's backing store path '%.64s' is not absolute", l->lun,
				    value);
		return copy(p, l->path, sizeof(l->path), value, "a backing store path");
	}
	if (!strcmp(key, "Backing store flags"))
		return copy(p, l->bsoflags, sizeof(l->bsoflags), value, "backing store flags");
	/* the identity the agent sets on serving LUNs: kept as shown
	 * (tgt's default id has spaces), cut at tgt's own bound */
	if (!strcmp(key, "SCSI ID")) {
		snprintf(l->scsi_id, sizeof(l->scsi_id), "%.*s", PG_SCSI_ID_MAX, value);
		return 0;
	}
	if (!strcmp(key, "SCSI SN")) {
		snprintf(l->scsi_sn, sizeof(l->scsi_sn), "%.*s", PG_SCSI_ID_MAX, value);
		return 0;
	}
	return 0;	/* Online, Removable media, ...: not the agent's business */
}

/* The next line of text (without its newline) into buf; 0 at the end. */
static int next_line(struct parser *p, const char **pos, const char *end, char *buf)
{
	const char *nl;
	size_t n;

	if (*pos >= end)
		return 0;
	nl = memchr(*pos, '\n', (size_t)(end - *pos));
	n = nl ? (size_t)(nl - *pos) : (size_t)(end - *pos);
	p->line++;
	if (n >= PG_SHOW_LINE_MAX)
		return fail(p, "longer than %d bytes", PG_SHOW_LINE_MAX - 1);
	memcpy(buf, *pos, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return fail(p, "a control character (0x%02x) at byte %zu", buf[i], i + 1);
	*pos += n + (nl ? 1 : 0);
	return 1;
}

int pg_show_parse(const char *text, size_t len, struct pg_actual *a, char *err, size_t errlen)
{
	struct parser p = { .a = a, .err = err, .errlen = errlen };
	const char *pos = text, *end = text + len;
	enum section sec = S_NONE;
	char *buf = NULL;
	int r, depth_item = 0;	/* 1 once an item of the current section was seen */

	memset(a, 0, sizeof(*a));
	if (len > PG_SHOW_MAX) {
		snprintf(err, errlen, "tgtadm show: %zu bytes, more than the %d this agent reads",
			 len, PG_SHOW_MAX);
		return -1;
	}
	buf = malloc(PG_SHOW_LINE_MAX);
	if (!buf) {
		snprintf(err, errlen, "tgtadm show: out of memory");
		return -1;
	}
	while ((r = next_line(&p, &pos, end, buf)) > 0) {
		struct pg_target *t = cur_target(a);
		size_t indent = strspn(buf, " ");
		char *s = buf + indent;

		if (!*s) {
			fail(&p, "an empty line");
			goto err;
		}
		if (indent == 0) {
			if (new_target(&p, s))
				goto err;
			sec = S_NONE;
			depth_item = 0;
			continue;
		}
		if (!t) {
			fail(&p, "indented line before any 'Target N: IQN'");
			goto err;
		}
		if (indent == 4) {
			if (section(&p, s, &sec))
				goto err;
			depth_item = 0;
		} else if (indent == 8) {
			if (item(&p, t, sec, s))
				goto err;
			depth_item = 1;
		} else if (indent == 12 && sec == S_LUN && depth_item) {
			if (lun_field(&p, &t->luns[t->nluns - 1], s))
				goto err;
		} else if (indent >= 12 && indent <= 24 && sec == S_NEXUS && depth_item) {
			continue;	/* the nexus's initiator and connections */
		} else {
			fail(&p, "indented by %zu spaces, which fits nothing here", indent);
			goto err;
		}
	}
	if (r < 0)
		goto err;
	free(buf);
	return 0;
err:
	free(buf);
	pg_actual_free(a);
	return -1;
}

int pg_accounts_parse(const char *text, size_t len, struct pg_actual *a, char *err,
		      size_t errlen)
{
	struct parser p = { .a = a, .err = err, .errlen = errlen };
	const char *pos = text, *end = text + len;
	char buf[PG_SHOW_LINE_MAX];
	int r, seen_head = 0;

	free(a->users);
	free(a->passwords);
	a->users = NULL;
	a->passwords = NULL;
	a->nusers = 0;
	while ((r = next_line(&p, &pos, end, buf)) > 0) {
		char (*nu)[PG_USER_MAX + 1], (*np)[PG_SECRET_MAX + 1];

		if (!seen_head) {
			if (strcmp(buf, "Account list:")) {
				fail(&p, "expected 'Account list:'");
				goto err;
			}
			seen_head = 1;
			continue;
		}
		if (strncmp(buf, "    ", 4) || !buf[4] || strchr(buf + 4, ' ')) {
			fail(&p, "expected an account name indented by 4 spaces");
			goto err;
		}
		if (a->nusers >= PG_ACCOUNTS_MAX) {
			fail(&p, "more than %d accounts", PG_ACCOUNTS_MAX);
			goto err;
		}
		nu = realloc(a->users, (a->nusers + 1) * sizeof(*nu));
		if (nu)
			a->users = nu;
		np = realloc(a->passwords, (a->nusers + 1) * sizeof(*np));
		if (np)
			a->passwords = np;
		if (!nu || !np) {
			fail(&p, "out of memory");
			goto err;
		}
		a->passwords[a->nusers][0] = '\0';
		if (copy(&p, a->users[a->nusers], sizeof(*nu), buf + 4, "an account name"))
			goto err;
		a->nusers++;
	}
	if (r < 0)
		goto err;
	return 0;
err:
	free(a->users);
	free(a->passwords);
	a->users = NULL;
	a->passwords = NULL;
	a->nusers = 0;
	return -1;
}

void pg_actual_free(struct pg_actual *a)
{
	for (size_t i = 0; i < a->ntargets; i++) {
		free(a->targets[i].luns);
		free(a->targets[i].acl);
	}
	free(a->targets);
	free(a->users);
	free(a->passwords);
	memset(a, 0, sizeof(*a));
}

const struct pg_target *pg_actual_target(const struct pg_actual *a, const char *iqn)
{
	for (size_t i = 0; i < a->ntargets; i++)
		if (!strcmp(a->targets[i].iqn, iqn))
			return &a->targets[i];
	return NULL;
}
