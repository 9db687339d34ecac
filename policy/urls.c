// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * urls.c: a list of the managers' addresses cut into its items (urls.h).
 */
#include "urls.h"
#include "lunlink/errmsg.h"

#include <string.h>

#define SEPARATORS ", \t\n"

int pu_split(const char *s, struct pu_list *l, char *err, size_t errlen)
{
	size_t len;

	memset(l, 0, sizeof(*l));
	s += strspn(s, SEPARATORS);
	if (!strncmp(s, "unix:", 5)) {
		len = strlen(s);
		if (len > PU_URL_MAX)
			return ll_fail(err, errlen, "the address %.40s... is longer than %d bytes", s,
				       PU_URL_MAX);
		memcpy(l->url[0], s, len + 1);
		l->n = 1;
		return 0;
	}
	while (*s) {
		len = strcspn(s, SEPARATORS);
		if (l->n == PU_URLS_MAX)
			return ll_fail(err, errlen, "more than %d addresses in the list", PU_URLS_MAX);
		if (len > PU_URL_MAX)
			return ll_fail(err, errlen, "the address %.40s... is longer than %d bytes", s,
				       PU_URL_MAX);
		memcpy(l->url[l->n], s, len);
		l->url[l->n][len] = '\0';
		l->n++;
		s += len;
		s += strspn(s, SEPARATORS);
	}
	if (!l->n)
		return ll_fail(err, errlen, "no address given");
	return 0;
}
