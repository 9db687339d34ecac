/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * urls.h: a list of the managers' addresses, as policy.manager_url and
 * lunlinkctl --url take it: "https://10.0.0.1:7700, https://10.0.0.2:7700",
 * the items apart by commas and/or blanks.  Several managers stand for
 * one (one leads, the others follow: doc/policy.md); the clients try them
 * in turn (client.h).  "unix:/path" is one address, whole: a path may
 * hold commas and blanks.
 *
 * The split is here, so that the configuration's reader, the daemon
 * (its join) and the clients cut a list the same way; each checks the
 * items by its own rules and names the item at fault.  So is the list of
 * join ports made from it, which lunlink-policyd --join and
 * lunlink-rescand --join both need.
 */
#ifndef LUNLINK_POLICY_URLS_H
#define LUNLINK_POLICY_URLS_H

#include <stddef.h>

#define PU_URLS_MAX	8	/* managers in a list */
#define PU_URL_MAX	511	/* bytes of one item */

struct pu_list {
	size_t n;
	char url[PU_URLS_MAX][PU_URL_MAX + 1];
};

/*
 * Cut s into l.  0, or -1 with err: nothing in s, more than PU_URLS_MAX
 * items, an item longer than PU_URL_MAX bytes (named).  The items are not
 * checked otherwise.
 */
int pu_split(const char *s, struct pu_list *l, char *err, size_t errlen);

/*
 * The host of an "https://HOST[:PORT][/...]" URL into host ("10.0.0.1",
 * "[fd00::1]": an IPv6 address keeps its brackets, ready for a URL).
 * 0, or -1 with err naming the URL: not https, no host, too long.
 */
int pu_url_host(const char *url, char *host, size_t hostlen, char *err, size_t errlen);

/*
 * The join listeners' URLs from a list of the managers' API URLs: each
 * manager's host with join_port, in the same order ("https://10.0.0.1:7701,
 * https://10.0.0.2:7701").  The client tries them in turn; a manager that
 * follows sends the join on to the leader's join port.  0, or -1 with err.
 */
int pu_join_urls(const char *list, unsigned join_port, char *out, size_t outlen, char *err,
		 size_t errlen);

#endif
