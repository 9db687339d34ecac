/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * urls.h: a list of the managers' addresses, as policy.manager_url and
 * lunlinkctl --url take it: "https://10.0.0.1:7700, https://10.0.0.2:7700",
 * the items apart by commas and/or blanks.  Several managers stand for
 * one (one leads, the others follow: doc/policy.md); the clients try them
 * in turn (client.h).  "unix:/path" is one address, whole: a path may
 * hold commas and blanks.
 *
 * The split alone is here, so that the configuration's reader, the daemon
 * (its join) and the clients cut a list the same way; each checks the
 * items by its own rules and names the item at fault.
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

#endif
