// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * initiator.c: the module's iSCSI initiator name (see lunlink/initiator.h).
 */
#include "lunlink/initiator.h"
#include "lunlink/errmsg.h"

#include <stdio.h>
#include <string.h>
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

bool ll_iscsi_name_valid(const char *s, char *why, size_t len)
{
	/* RFC 3720 folds names to lower case, but initiators send the name
	 * as their file has it, and tgtd's ACL compares it byte for byte:
	 * upper case is taken (and kept) after the domain, where
	 * hand-written names have it (":Guest-A") */
	static const char name_set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789-.:";
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t n = strlen(s), auth;
	int month;

	if (n > LL_ISCSI_NAME_MAX) {
		ll_fail(why, len, "an iSCSI name is at most %d bytes, this one %zu",
			LL_ISCSI_NAME_MAX, n);
		return false;
	}
	if (!strncmp(s, "eui.", 4)) {
		if (n == 20 && strspn(s + 4, hex) == 16)
			return true;
		ll_fail(why, len, "an eui. name is eui. and 16 hex digits (eui.02004567A425678D)");
		return false;
	}
	if (strncmp(s, "iqn.", 4) || n < 12 || strspn(s + 4, "0123456789") != 4 || s[8] != '-' ||
	    strspn(s + 9, "0123456789") != 2 || s[11] != '.') {
		ll_fail(why, len, "an iSCSI name is iqn.YYYY-MM.reversed.domain[:anything] (as in "
			 "/etc/iscsi/initiatorname.iscsi) or eui. and 16 hex digits");
		return false;
	}
	month = (s[9] - '0') * 10 + (s[10] - '0');
	if (month < 1 || month > 12) {
		ll_fail(why, len, "the month in '%.12s' must be 01 to 12", s);
		return false;
	}
	auth = strcspn(s + 12, ":");
	if (!auth || s[12] == '.' || s[12 + auth - 1] == '.' ||
	    strspn(s + 12, "abcdefghijklmnopqrstuvwxyz0123456789-.") != auth) {
		ll_fail(why, len, "after iqn.YYYY-MM. comes a reversed domain name in lower case "
			 "(com.example), then optionally ':' and the rest");
		return false;
	}
	if (strspn(s, name_set) != n) {
		ll_fail(why, len, "an iSCSI name has letters, digits and '-', '.', ':' only; byte "
			 "%zu is not one", strspn(s, name_set));
		return false;
	}
	return true;
}
