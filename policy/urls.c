// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * urls.c: a list of the managers' addresses cut into its items (urls.h).
 */
#include "urls.h"
#include "lunlink/errmsg.h"

#include <stdio.h>
#include <stdlib.h>
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

int pu_url_host(const char *url, char *host, size_t hostlen, char *err, size_t errlen)
{
	const char *h = url + 8, *end;
	size_t n;

	if (strncmp(url, "https://", 8))
		return ll_fail(err, errlen, "\"%s\": the manager's API is \"https://HOST:PORT\"",
			       url);
	n = strcspn(h, "/");
	if (h[0] == '[') {
		end = memchr(h, ']', n);
		end = end ? end + 1 : NULL;
	} else {
		end = memchr(h, ':', n);
		end = end ? end : h + n;
	}
	if (!end || end == h || (end < h + n && *end != ':'))
		return ll_fail(err, errlen, "\"%s\": no host in it (\"https://HOST:PORT\")", url);
	if ((size_t)(end - h) >= hostlen)
		return ll_fail(err, errlen, "\"%s\": the host is too long", url);
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	return 0;
}

int pu_join_urls(const char *list, unsigned join_port, char *out, size_t outlen, char *err,
		 size_t errlen)
{
	struct pu_list *l = malloc(sizeof(*l));
	char host[PU_URL_MAX + 1];
	size_t used = 0, n;
	int rc = -1;

	if (!l)
		return ll_fail(err, errlen, "out of memory");
	if (pu_split(list, l, err, errlen))
		goto out;
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		if (pu_url_host(l->url[i], host, sizeof(host), err, errlen))
			goto out;
		n = (size_t)snprintf(out + used, outlen - used, "%shttps://%s:%u", i ? ", " : "",
				     host, join_port);
		if (n >= outlen - used) {
			ll_fail(err, errlen, "the join URLs are too long");
			goto out;
		}
		used += n;
	}
	rc = 0;
out:
	free(l);
	return rc;
}
