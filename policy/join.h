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

/* What a commit callback is given, and fills on refusal. */
struct pa_join_commit {
	const char *token_id;
	const char *old_record, *new_record;	/* the token's record, and it used */
	const struct pca_identity *who;		/* the signed certificate's role, name, serial */
	const char *const *hosts;		/* as asked, NULL-ended */
	json_object *reply;			/* fields may be added (a node's "id") */
	int status;				/* refused: 403 (token), 409 (name), 500 */
	char field[32];				/* refused: the field at fault */
	char why[256];				/* refused: the reason */
};

struct pa_join_ops {
	/* the record kept under a token's id (malloc'd), or NULL if none */
	char *(*token_get)(void *arg, const char *id);
	/* store new_record under id if old_record is still there: 0, or -1 */
	int (*token_swap)(void *arg, const char *id, const char *old_record,
			  const char *new_record);
	/* optional: may role take this name (not a registered member's)? 0, or
	 * -1 with why */
	int (*name_check)(void *arg, enum pca_role role, const char *name, char *why, size_t len);
	/* optional, in place of token_swap: consume the token (compare-and-swap
	 * of old_record for new_record) and record the member, in one step (the
	 * manager: one store transaction), once its certificate is signed.  0,
	 * or -1 with c->status, c->field and c->why filled. */
	int (*commit)(void *arg, struct pa_join_commit *c);
	void *arg;
};

struct pa_join {
	struct pca_ca *ca;
	struct pa_join_ops ops;
};

/* The route's handler; arg is a struct pa_join. */
void pa_join_handler(struct pa_request *r, void *arg);

#endif
