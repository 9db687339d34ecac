// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * api-tool.c: the policy API library's CA, token and client functions as
 * commands, for t/t3600-policy-api-tls.sh (the operator's versions are
 * lunlinkctl's ca/token/node commands):
 *
 *   api-tool ca-init DIR
 *   api-tool issue CADIR ROLE NAME KEY CERT [--expired] [--host H]...
 *   api-tool serial CERT
 *   api-tool token ROLE TTL TOKENDIR        prints the token, keeps its record
 *   api-tool call URL METHOD PATH [BODY] [--ca F --cert F --key F]
 *   api-tool join URL CA TOKEN NAME KEY CERT [--host H]...
 *
 * A failure prints the library's message on stderr and exits 1.
 */
#include "client.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const char *msg)
{
	fprintf(stderr, "api-tool: %s\n", msg);
	return 1;
}

static int put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	return f && fputs(text, f) >= 0 && !fclose(f) ? 0 : -1;
}

/* Collect "--host H" pairs from argv[i..] into hosts (room for 17). */
static void hosts_from(int argc, char **argv, int i, const char **hosts, bool *expired)
{
	size_t n = 0;

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--host") && i + 1 < argc && n < 16)
			hosts[n++] = argv[++i];
		else if (!strcmp(argv[i], "--expired") && expired)
			*expired = true;
	}
	hosts[n] = NULL;
}

static int issue(int argc, char **argv)
{
	const char *hosts[17];
	bool expired = false;
	char err[512], *key, *csr, *cert;
	struct pca_sign_opts o = { 0 };
	struct pca_ca *ca = pca_load(argv[2], err, sizeof(err));

	if (!ca)
		return fail(err);
	hosts_from(argc, argv, 7, hosts, &expired);
	if (pca_role_parse(argv[3], &o.role))
		return fail("unknown role");
	o.name = argv[4];
	o.hosts = hosts;
	if (expired) {	/* valid for an hour, ended a day ago */
		o.not_before = time(NULL) - 86400 - 3600;
		o.not_after = time(NULL) - 86400;
	}
	if (pca_make_key_csr(o.name, &key, &csr, err, sizeof(err)) ||
	    pca_sign(ca, csr, &o, &cert, err, sizeof(err)))
		return fail(err);
	if (put(argv[5], key) || put(argv[6], cert))
		return fail("cannot write the key or certificate");
	free(key);
	free(csr);
	free(cert);
	pca_free(ca);
	return 0;
}

static int serial(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	struct pca_identity id;
	char err[256];

	if (!x)
		return fail("cannot read the certificate");
	if (pca_identity_of(x, &id, err, sizeof(err)))
		return fail(err);
	printf("%s\n", id.serial);
	X509_free(x);
	fclose(f);
	return 0;
}

static int token(const char *role_name, const char *ttl, const char *dir)
{
	char tok[PCA_TOKEN_LEN + 1], id[PCA_TOKEN_ID_LEN + 1], err[256], path[4096], *rec;
	enum pca_role role;

	if (pca_role_parse(role_name, &role))
		return fail("unknown role");
	if (pca_token_create(role, time(NULL), (unsigned int)atoi(ttl), tok, &rec, err, sizeof(err)))
		return fail(err);
	pca_token_id(tok, id);
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (put(path, rec))
		return fail("cannot write the token's record");
	printf("%s\n", tok);
	free(rec);
	return 0;
}

static int call(int argc, char **argv)
{
	struct pa_client_opts o = { .url = argv[2], .timeout_ms = 10000 };
	json_object *body = NULL, *reply = NULL;
	struct pa_client *c;
	char err[1024];
	long status;
	int i = 5;
	struct pjr_err e;

	if (argc > 5 && strncmp(argv[5], "--", 2)) {
		if (pjr_parse(argv[5], strlen(argv[5]), &body, &e))
			return fail(e.message);
		i = 6;
	}
	for (; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ca"))
			o.files.ca_file = argv[i + 1];
		else if (!strcmp(argv[i], "--cert"))
			o.files.cert_file = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			o.files.key_file = argv[i + 1];
	}
	c = pa_client_new(&o, err, sizeof(err));
	if (!c)
		return fail(err);
	if (pa_client_call(c, argv[3], argv[4], body, &reply, &status, err, sizeof(err))) {
		json_object_put(reply);
		json_object_put(body);
		pa_client_free(c);
		return fail(err);
	}
	if (reply)
		printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	json_object_put(reply);
	json_object_put(body);
	pa_client_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *hosts[17];
	char err[1024];

	if (argc >= 3 && !strcmp(argv[1], "ca-init"))
		return pca_init(argv[2], err, sizeof(err)) ? fail(err) : 0;
	if (argc >= 7 && !strcmp(argv[1], "issue"))
		return issue(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "serial"))
		return serial(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "token"))
		return token(argv[2], argv[3], argv[4]);
	if (argc >= 5 && !strcmp(argv[1], "call"))
		return call(argc, argv);
	if (argc >= 8 && !strcmp(argv[1], "join")) {
		hosts_from(argc, argv, 8, hosts, NULL);
		return pa_client_join(argv[2], argv[3], argv[4], argv[5], hosts, argv[6], argv[7],
				      err, sizeof(err)) ? fail(err) : 0;
	}
	fprintf(stderr, "usage: api-tool ca-init|issue|serial|token|call|join ... (see api-tool.c)\n");
	return 2;
}
