// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * join.c: the join request's handler (see join.h): validate the request,
 * redeem the token, sign the CSR, consume the token, answer with the
 * certificate and the CA.  Every refusal names the field at fault; a bad
 * token gets 403 whatever its fault, with the reason.
 */
#include "join.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CSR_MAX		8192
#define HOSTS_MAX	16

void pa_join_handler(struct pa_request *r, void *arg)
{
	static const char *const fields[] = { "token", "name", "csr", "hosts", NULL };
	struct pa_join *j = arg;
	const char *token, *name, *csr, *hosts[HOSTS_MAX + 1];
	char id[PCA_TOKEN_ID_LEN + 1], why[256], *record = NULL, *used = NULL, *cert = NULL;
	char *ca_pem = NULL;
	struct pca_sign_opts so = { 0 };
	struct pca_identity who;
	json_object *body = NULL, *reply;
	struct pjr_err e = { 0 };
	enum pca_role role;

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) ||
	    pjr_string(body, "token", true, PCA_TOKEN_LEN, PJR_NAME, &token, &e) ||
	    pjr_string(body, "name", true, PJR_NAME_MAX, PJR_NAME, &name, &e) ||
	    pjr_string(body, "csr", true, CSR_MAX, PJR_PEM, &csr, &e) ||
	    pjr_string_array(body, "hosts", false, HOSTS_MAX, 253, PJR_HOST, hosts, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	if (pca_token_id(token, id)) {
		pa_reply_error(r, 400, "token", "the token is not of the form XXXXXXXX.XXXX... given "
			       "by 'lunlinkctl token create'");
		goto out;
	}
	record = j->ops.token_get(j->ops.arg, id);
	if (!record) {
		pa_reply_error(r, 403, "token", "the token is not valid");
		goto out;
	}
	if (pca_token_redeem(record, token, time(NULL), &role, &used, why, sizeof(why))) {
		pa_reply_error(r, 403, "token", "%s", why);
		goto out;
	}
	if (hosts[0] && role != PCA_ROLE_NODE) {
		pa_reply_error(r, 400, "hosts", "only a node's certificate names hosts; this token "
			       "is for a %s", pca_role_name(role));
		goto out;
	}
	if (j->ops.name_check && j->ops.name_check(j->ops.arg, role, name, why, sizeof(why))) {
		pa_reply_error(r, 409, "name", "%s", why);
		goto out;
	}
	so.role = role;
	so.name = name;
	so.hosts = hosts;
	if (pca_sign(j->ca, csr, &so, &cert, why, sizeof(why))) {
		pa_reply_error(r, 400, "csr", "%s", why);
		goto out;
	}
	ca_pem = pca_cert_pem(j->ca);
	if (!ca_pem || pca_identity_pem(cert, &who, why, sizeof(why))) {
		pa_reply_error(r, 500, "csr", "the signed certificate cannot be read back");
		goto out;
	}
	reply = json_object_new_object();
	json_object_object_add(reply, "certificate", json_object_new_string(cert));
	json_object_object_add(reply, "ca", json_object_new_string(ca_pem));
	json_object_object_add(reply, "role", json_object_new_string(pca_role_name(role)));
	json_object_object_add(reply, "name", json_object_new_string(name));
	json_object_object_add(reply, "serial", json_object_new_string(who.serial));
	if (j->ops.commit) {
		struct pa_join_commit c = {
			.token_id = id, .old_record = record, .new_record = used, .who = &who,
			.hosts = hosts, .reply = reply,
		};

		if (j->ops.commit(j->ops.arg, &c)) {
			json_object_put(reply);
			pa_reply_error(r, c.status ? c.status : 500, c.field[0] ? c.field : "token",
				       "%s", c.why[0] ? c.why : "the join could not be recorded");
			goto out;
		}
	} else if (j->ops.token_swap(j->ops.arg, id, record, used)) {
		json_object_put(reply);
		pa_reply_error(r, 403, "token", "the token has been used already");
		goto out;
	}
	pa_reply_json(r, 200, reply);
out:
	free(ca_pem);
	free(cert);
	free(used);
	free(record);
	json_object_put(body);
}
