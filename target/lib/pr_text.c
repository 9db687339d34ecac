// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr_text.c: the persistent reservation state as text and back, for the
 * APTPL file beside an image and a cluster store's record
 * (include/lunlink/pr.h has the format).  The reader trusts nothing: every
 * line, field and number is checked, and a refusal names the line.
 */
#include "pr_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LL_PR_TEXT_MAGIC	"lunlink-pr 1"

long ll_pr_format(const struct ll_pr_state *st, char *buf, size_t len)
{
	size_t pos = 0;
	int n;

#define PUT(...) do {								\
		n = snprintf(buf + pos, len - pos, __VA_ARGS__);		\
		if (n < 0 || (size_t)n >= len - pos)				\
			return -1;						\
		pos += (size_t)n;						\
	} while (0)

	if (!len)
		return -1;
	PUT("%s\ngeneration %" PRIu32 "\naptpl %d\n", LL_PR_TEXT_MAGIC, st->generation,
	    st->aptpl ? 1 : 0);
	for (unsigned int i = 0; i < st->nregs; i++)
		PUT("reg %016" PRIx64 " %u %d %s\n", st->regs[i].key,
		    (unsigned int)st->regs[i].nexus.rtpi, st->regs[i].all_tg_pt ? 1 : 0,
		    st->regs[i].nexus.id);
	if (st->reserved) {
		if (all_registrants(st->type))
			PUT("reservation %u %u all\n", st->type, st->scope);
		else
			PUT("reservation %u %u %u %s\n", st->type, st->scope,
			    (unsigned int)st->holder.rtpi, st->holder.id);
	}
#undef PUT
	return (long)pos;
}

/* an unsigned number in base, all of s, at most max */
static int number(const char *s, int base, uint64_t max, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	if (errno || *end || *v > max)
		return -1;
	return 0;
}

/* a nexus id as the text form writes it: what ll_pr_nexus_set makes */
static int id_valid(const char *s)
{
	size_t len = strlen(s), nl, i;

	if (len < 1 + 5 + 12 || len >= LL_PR_ID_MAX)
		return 0;
	nl = len - 5 - 12;
	if (strncmp(s + nl, ",i,0x", 5))
		return 0;
	for (i = 0; i < nl; i++)
		if (!name_byte_ok((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	for (i = nl + 5; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

int ll_pr_parse(struct ll_pr_state *st, const char *text, size_t len, char *why, size_t why_len)
{
	struct ll_pr_state s;
	char line[LL_PR_ID_MAX + 96], *f[6], *save;
	size_t pos = 0;
	unsigned int lineno = 0, nf;
	int seen_magic = 0, seen_gen = 0, seen_aptpl = 0;
	uint64_t v;

	ll_pr_init(&s, st->ports, st->nports, st->ptpl_capable);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (!nl) {
			snprintf(why, why_len, "line %u: no newline at the end", lineno);
			return -1;
		}
		if (ll >= sizeof(line) || memchr(text + pos, '\0', ll)) {
			snprintf(why, why_len, "line %u: too long or holds a NUL byte", lineno);
			return -1;
		}
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		pos += ll + 1;

		nf = 0;
		for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (nf == 6) {
				snprintf(why, why_len, "line %u: too many fields", lineno);
				return -1;
			}
			f[nf++] = w;
		}
		if (!seen_magic) {
			if (nf != 2 || strcmp(f[0], "lunlink-pr") || strcmp(f[1], "1")) {
				snprintf(why, why_len, "line %u: not '%s' (not a lunlink "
					 "reservation file, or a newer version)", lineno,
					 LL_PR_TEXT_MAGIC);
				return -1;
			}
			seen_magic = 1;
		} else if (nf == 2 && !strcmp(f[0], "generation") && !seen_gen) {
			if (number(f[1], 10, UINT32_MAX, &v))
				goto bad;
			s.generation = (uint32_t)v;
			seen_gen = 1;
		} else if (nf == 2 && !strcmp(f[0], "aptpl") && !seen_aptpl) {
			if (strcmp(f[1], "0") && strcmp(f[1], "1"))
				goto bad;
			s.aptpl = f[1][0] == '1';
			seen_aptpl = 1;
		} else if (nf == 5 && !strcmp(f[0], "reg")) {
			struct ll_pr_nexus n = { 0 };
			uint64_t key;

			if (s.reserved) {
				snprintf(why, why_len, "line %u: a registration after the "
					 "reservation", lineno);
				return -1;
			}
			if (strlen(f[1]) != 16 || number(f[1], 16, UINT64_MAX, &key) || !key)
				goto bad;
			if (number(f[2], 10, UINT16_MAX, &v))
				goto bad;
			n.rtpi = (uint16_t)v;
			if ((strcmp(f[3], "0") && strcmp(f[3], "1")) || !id_valid(f[4]))
				goto bad;
			strcpy(n.id, f[4]);
			if (ll_pr_index(&s, &n) >= 0) {
				snprintf(why, why_len, "line %u: %s is registered twice", lineno,
					 n.id);
				return -1;
			}
			if (ll_pr_add_reg(&s, &n, key, f[3][0] == '1')) {
				snprintf(why, why_len, "line %u: more than %d registrations",
					 lineno, LL_PR_MAX_REGS);
				return -1;
			}
		} else if ((nf == 4 || nf == 5) && !strcmp(f[0], "reservation") && !s.reserved) {
			if (number(f[1], 10, 15, &v) || !type_valid((uint8_t)v))
				goto bad;
			s.type = (uint8_t)v;
			if (strcmp(f[2], "0"))
				goto bad;
			if (all_registrants(s.type)) {
				if (nf != 4 || strcmp(f[3], "all") || !s.nregs)
					goto bad;
			} else {
				if (nf != 5 || number(f[3], 10, UINT16_MAX, &v) || !id_valid(f[4]))
					goto bad;
				s.holder.rtpi = (uint16_t)v;
				strcpy(s.holder.id, f[4]);
				if (ll_pr_index(&s, &s.holder) < 0) {
					snprintf(why, why_len, "line %u: the holder is not "
						 "registered", lineno);
					return -1;
				}
			}
			s.reserved = 1;
		} else {
			goto bad;
		}
	}
	if (!seen_magic || !seen_gen || !seen_aptpl) {
		snprintf(why, why_len, "incomplete: the '%s', 'generation' and 'aptpl' lines "
			 "are needed", LL_PR_TEXT_MAGIC);
		return -1;
	}
	*st = s;
	return 0;
bad:
	snprintf(why, why_len, "line %u: not a valid line of a reservation file", lineno);
	return -1;
}

int ll_pr_id_valid(const char *id)
{
	return id_valid(id);
}
