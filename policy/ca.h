/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ca.h: the cluster's certificate authority, join tokens and the identity
 * a certificate carries.
 *
 * Every node, host and administrator of a lunlink cluster is known by a
 * certificate the cluster CA signed.  The CA lives in a directory on the
 * manager (ca.key, EC P-256, mode 0600; ca.crt, self-signed, CN "lunlink
 * cluster CA <random id>").  A certificate names its holder twice: CN =
 * the name, for people and logs, and one subjectAltName URI
 * "lunlink:ROLE/NAME" (ROLE node, host or admin), which is what the
 * server reads: a SAN is an extension the CA writes itself, never copied
 * from the request, and a URI cannot be mistaken for a host name.  A
 * node's certificate also carries the DNS names and addresses it serves
 * under, and serverAuth; every certificate has clientAuth.
 *
 * Joining: the operator creates a one-time token (pca_token_create); the
 * joiner makes a key and a CSR (pca_make_key_csr) and sends the CSR with
 * the token; the manager redeems the token (pca_token_redeem) and signs
 * (pca_sign).  Tokens are "IIIIIIII.SSSS...": an id to look the record up
 * by and a 128-bit secret; only the SHA-256 of the whole token is kept, in
 * a JSON record the caller stores (this file knows no store), compared in
 * constant time.
 *
 * Revocation is by serial (128-bit random, lower-case hex without leading
 * zeros: pca_serial_canon); the TLS layer asks the daemon whether a serial
 * is revoked at every handshake (tls.h).
 */
#ifndef LUNLINK_POLICY_CA_H
#define LUNLINK_POLICY_CA_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "json_req.h"

#define PCA_CA_DAYS	(20 * 366)	/* the CA's validity */
#define PCA_CERT_DAYS	(5 * 366)	/* a member's, unless asked otherwise */
#define PCA_SERIAL_MAX	41		/* hex digits of a serial, and a NUL */
#define PCA_TOKEN_LEN	41		/* "8 hex.32 hex" */
#define PCA_TOKEN_ID_LEN 8
#define PCA_TOKEN_TTL_MAX (7 * 86400)	/* a token lives at most a week */

enum pca_role { PCA_ROLE_NODE, PCA_ROLE_HOST, PCA_ROLE_ADMIN };

struct pca_identity {
	enum pca_role role;
	char name[PJR_NAME_MAX + 1];
	char serial[PCA_SERIAL_MAX];
};

struct pca_ca;

const char *pca_role_name(enum pca_role role);
int pca_role_parse(const char *s, enum pca_role *role);

/* The reason of OpenSSL's latest queued error (the queue is cleared), or
 * "no details from OpenSSL"; in buf. */
const char *pca_ssl_reason(char *buf, size_t len);

/* Create the CA in dir (made 0700 if absent): ca.key and ca.crt.  Refuses
 * to overwrite an existing CA. */
int pca_init(const char *dir, char *err, size_t errlen);

/* Load dir's CA; the key must be mode 0600 or stricter and match. */
struct pca_ca *pca_load(const char *dir, char *err, size_t errlen);
void pca_free(struct pca_ca *ca);
/* The CA's certificate in PEM (malloc'd), for a joiner. */
char *pca_cert_pem(const struct pca_ca *ca);

/* A new EC P-256 key and a CSR for it with CN = name, both PEM, malloc'd. */
int pca_make_key_csr(const char *name, char **key_pem, char **csr_pem, char *err,
		     size_t errlen);

struct pca_sign_opts {
	enum pca_role role;
	const char *name;		/* must be the CSR's CN */
	const char *const *hosts;	/* DNS names or IP addresses, NULL-ended; may be NULL */
	time_t not_before;		/* 0: five minutes ago (clock skew) */
	time_t not_after;		/* 0: PCA_CERT_DAYS from now */
};

/* Check a CSR (well-formed, signed by its own key, an EC P-256/P-384 or
 * RSA >= 2048 key, CN = opts->name) and sign it: PEM in *cert_pem. */
int pca_sign(struct pca_ca *ca, const char *csr_pem, const struct pca_sign_opts *opts,
	     char **cert_pem, char *err, size_t errlen);

/* The identity a certificate carries (its lunlink: URI, CN, serial). */
int pca_identity_of(X509 *cert, struct pca_identity *id, char *err, size_t errlen);
int pca_identity_pem(const char *cert_pem, struct pca_identity *id, char *err, size_t errlen);

/* A serial as written by anyone (any case, leading zeros, colons) in the
 * canonical form; -1 if it is not hex. */
int pca_serial_canon(const char *in, char out[PCA_SERIAL_MAX]);

/*
 * A one-time join token for role, valid ttl seconds from now.  token gets
 * the secret to give the operator (never stored); *record (malloc'd) the
 * JSON the caller keeps under the token's id: {"id","sha256","role",
 * "expires","used"}.
 */
int pca_token_create(enum pca_role role, time_t now, unsigned int ttl,
		     char token[PCA_TOKEN_LEN + 1], char **record, char *err, size_t errlen);

/* The id part of a well-formed token, to find its record; -1 if malformed. */
int pca_token_id(const char *token, char id[PCA_TOKEN_ID_LEN + 1]);

/*
 * Redeem token against its record: it must match, be unexpired and unused.
 * *role gets the role it grants; *used_record (malloc'd) the record marked
 * used, which the caller must store in place of the old one (with a
 * compare-and-swap, so that two joiners racing with one token cannot both
 * win) before it signs anything.
 */
int pca_token_redeem(const char *record, const char *token, time_t now, enum pca_role *role,
		     char **used_record, char *err, size_t errlen);

#endif
