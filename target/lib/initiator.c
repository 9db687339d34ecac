// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * initiator.c: the module's iSCSI initiator name (see lunlink/initiator.h).
 */
#include "lunlink/initiator.h"

#include <stdio.h>
#include <unistd.h>

char *ll_initiator_name(char *buf, size_t len)
{
	char host[128];

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, len, LL_INITIATOR_PREFIX "%s", host);
	return buf;
}
