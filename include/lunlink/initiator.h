/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * initiator.h: the iSCSI initiator name the lunlink module logs in with to
 * its mirror legs and remote extents (target/remote/conn.c), derived from
 * the host's name: "iqn.2026-11.org.lunlink:HOSTNAME" ("localhost" if the
 * name cannot be read).  The node agent reports the same name to the
 * manager ("initiator"), which puts it in the ACLs of the LUNs this node's
 * module reaches; both call this one function so that they cannot differ.
 */
#ifndef LUNLINK_INITIATOR_H
#define LUNLINK_INITIATOR_H

#include <stdbool.h>
#include <stddef.h>

#define LL_ISCSI_NAME_MAX	223	/* RFC 3720 3.2.6.1 */
#define LL_INITIATOR_PREFIX	"iqn.2026-11.org.lunlink:"
#define LL_INITIATOR_MAX	255

/* Write the name into buf (len bytes, at most LL_INITIATOR_MAX + 1 used).
 * Returns buf. */
char *ll_initiator_name(char *buf, size_t len);

/*
 * Whether s is an iSCSI name lunlink takes: iqn.YYYY-MM.reversed.domain
 * [:anything] or eui. and 16 hex digits, at most LL_ISCSI_NAME_MAX bytes.
 * Upper case is kept after the domain (initiators send names as their
 * file has them; tgtd's ACL compares bytes).  The one rule for the
 * manager (what it stores), the agent (what it gives tgtadm) and the
 * agent's report (its own name); false with the reason in why (len bytes;
 * why may be NULL).
 */
bool ll_iscsi_name_valid(const char *s, char *why, size_t len);

#endif
