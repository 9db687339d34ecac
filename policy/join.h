/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * join.h: the manager's side of joining the cluster, POST /v1/join on the
 * join listener (http.h).  The joiner sends
 *
 *   {"token": "XXXXXXXX.XXXX...", "name": "node1", "csr": "-----BEGIN...",
 *    "hosts": ["10.0.0.5", "node1.example"]}      (hosts: nodes only)
 *
 * and gets {"certificate": PEM, "ca": PEM, "role", "name", "serial"}.
 * The token is redeemed against its record (ca.h), the certificate signed,
 * and only then is the used record swapped in, compare-and-swap, so a
 * token races to one winner and a refused request does not burn it.
 *
 * The store is the daemon's: it comes in as three callbacks, so this file
 * depends on no store.
 */
#ifndef LUNLINK_POLICY_JOIN_H
#define LUNLINK_POLICY_JOIN_H

#include "ca.h"
#include "http.h"

struct pa_join_ops {
	/* the record kept under a token's id (malloc'd), or NULL if none */
	char *(*token_get)(void *arg, const char *id);
	/* store new_record under id if old_record is still there: 0, or -1 */
	int (*token_swap)(void *arg, const char *id, const char *old_record,
			  const char *new_record);
	/* optional: may role take this name (not a registered member's)? 0, or
	 * -1 with why */
	int (*name_check)(void *arg, enum pca_role role, const char *name, char *why, size_t len);
	void *arg;
};

struct pa_join {
	struct pca_ca *ca;
	struct pa_join_ops ops;
};

/* The route's handler; arg is a struct pa_join. */
void pa_join_handler(struct pa_request *r, void *arg);

#endif
