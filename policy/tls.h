/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls.h: OpenSSL contexts for the policy API's TLS, with the cluster's
 * rules: TLS 1.2 or newer (1.3 when both ends have it), certificates from
 * the cluster CA only, client certificates required on the API listener
 * and checked against the daemon's revocation list at every handshake.
 *
 * Session resumption is off (no session cache, no tickets): a resumed
 * session skips certificate verification, and with it the revocation
 * check, so a removed node could go on with an old session.  A full
 * handshake per connection costs little at the API's request rates.
 *
 * The client side is libcurl (client.c), given the same files; what this
 * file offers it is pa_tls_check_files, so that a bad file is reported by
 * name before any connection is tried.
 */
#ifndef LUNLINK_POLICY_TLS_H
#define LUNLINK_POLICY_TLS_H

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "ca.h"

/* Whether the certificate with this serial (pca_serial_canon form) is
 * revoked: the daemon answers from its store. */
typedef bool (*pa_revoked_fn)(void *arg, const char *serial);
/* Told of each client certificate refused, and why (for logs and metrics). */
typedef void (*pa_refused_fn)(void *arg, const char *why);

struct pa_tls_files {
	const char *ca_file;	/* the cluster CA's certificate */
	const char *cert_file;	/* this end's certificate */
	const char *key_file;	/* and its key */
};

struct pa_tls_server_opts {
	struct pa_tls_files files;
	bool client_certs;	/* require and verify them (the API listener) */
	pa_revoked_fn revoked;	/* may be NULL: nothing revoked */
	void *revoked_arg;
	pa_refused_fn refused;	/* may be NULL */
	void *refused_arg;
};

/*
 * Check that the files can be used: each readable, the key the
 * certificate's, the certificate signed by the CA and within its validity.
 * The error names the file and the cause ("... is not signed by the
 * cluster CA in ...", "... has expired").
 */
int pa_tls_check_files(const struct pa_tls_files *f, char *err, size_t errlen);

/*
 * libcurl's client side of f, for every HTTPS client here (the agent's,
 * the etcd store's): the peer checked against f->ca_file alone (not the
 * system's CAs) and by name, TLS 1.2 or later, and this end's certificate
 * and key when f has them.
 */
void pa_tls_curl(CURL *h, const struct pa_tls_files *f);

/* A server context (files checked first); NULL with a reason in err. */
SSL_CTX *pa_tls_server_ctx(const struct pa_tls_server_opts *o, char *err, size_t errlen);

#endif
