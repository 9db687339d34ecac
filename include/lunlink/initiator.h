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

#include <stddef.h>

#define LL_INITIATOR_PREFIX	"iqn.2026-11.org.lunlink:"
#define LL_INITIATOR_MAX	255

/* Write the name into buf (len bytes, at most LL_INITIATOR_MAX + 1 used).
 * Returns buf. */
char *ll_initiator_name(char *buf, size_t len);

#endif
