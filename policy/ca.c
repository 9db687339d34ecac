// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ca.c: the cluster CA, the certificates it signs, the identity read back
 * from them, and one-time join tokens (see ca.h for the scheme).
 *
 * Everything cryptographic is OpenSSL's (3.0 API): key generation, X.509
 * building and signing, random numbers, SHA-256, constant-time compare.
 * What this file adds is policy: which extensions a member certificate
 * gets (the CA writes them; nothing from the CSR but its key and CN is
 * used), what a CSR must be to be signed, and how a token is kept.
 */
#include "ca.h"
#include "lunlink/errmsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX		(16 * 1024)	/* a CSR or certificate we read */
#define HOSTS_MAX	16		/* DNS names and addresses in one certificate */
#define URI_PREFIX	"lunlink:"

struct pca_ca {
	EVP_PKEY *key;
	X509 *cert;
};

static const char *const role_names[] = {
	[PCA_ROLE_NODE] = "node", [PCA_ROLE_HOST] = "host", [PCA_ROLE_ADMIN] = "admin",
};

const char *pca_role_name(enum pca_role role)
{
	return (unsigned int)role < 3 ? role_names[role] : "?";
}

int pca_role_parse(const char *s, enum pca_role *role)
{
	for (unsigned int i = 0; i < 3; i++) {
		if (s && !strcmp(s, role_names[i])) {
			*role = (enum pca_role)i;
			return 0;
		}
	}
	return -1;
}

const char *pca_ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (!e)
		snprintf(buf, len, "no details from OpenSSL");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* A random positive 128-bit serial (RFC 5280 allows up to 20 octets). */
static int set_random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	int r = -1;

	if (RAND_bytes(b, sizeof(b)) != 1)
		goto err;
	b[0] = (b[0] & 0x7f) | 0x40;	/* positive, never zero, always 32 digits */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto err;
	r = 0;
err:
	BN_free(bn);
	return r;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int r;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	r = X509_add_ext(x, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return r;
}

static int set_cn(X509_NAME *n, const char *cn)
{
	return X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
					  (const unsigned char *)cn, -1, -1, 0) ? 0 : -1;
}

/* The CN of a name, or -1 if there is none or it is too long. */
static int get_cn(const X509_NAME *n, char *buf, size_t len)
{
	int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	const ASN1_STRING *s;

	if (i < 0)
		return -1;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	if (ASN1_STRING_length(s) <= 0 || (size_t)ASN1_STRING_length(s) >= len)
		return -1;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	buf[ASN1_STRING_length(s)] = '\0';
	return strlen(buf) == (size_t)ASN1_STRING_length(s) ? 0 : -1;
}

static char *bio_string(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	return n > 0 ? strndup(data, (size_t)n) : NULL;
}

static char *x509_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b && PEM_write_bio_X509(b, x))
		s = bio_string(b);
	BIO_free(b);
	return s;
}

/* Write a PEM file that must not exist yet, with mode. */
static int write_new(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, char *err,
		     size_t errlen)
{
	char why[160];
	FILE *f = NULL;
	int fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		ll_fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto err;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		ll_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
		goto err;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		 : PEM_write_X509(f, cert);
	if (!ok || fflush(f) || fsync(fileno(f))) {
		ll_fail(err, errlen, "cannot write %s: %s", path, pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	return fclose(f) ? ll_fail(err, errlen, "cannot write %s: %s", path, strerror(errno)) : 0;
err:
	if (f)
		fclose(f);
	return -1;
}

int pca_init(const char *dir, char *err, size_t errlen)
{
	char keypath[4096], certpath[4096], cn[64], why[160];
	unsigned char id[4];
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	bool wrote_key = false;

	snprintf(keypath, sizeof(keypath), "%s/ca.key", dir);
	snprintf(certpath, sizeof(certpath), "%s/ca.crt", dir);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		ll_fail(err, errlen, "cannot create the CA's directory %s: %s", dir, strerror(errno));
		goto err;
	}
	if (!access(keypath, F_OK) || !access(certpath, F_OK)) {
		ll_fail(err, errlen, "a cluster CA already exists in %s; it is kept (replacing it "
			"would make every member's certificate useless)", dir);
		goto err;
	}
	key = EVP_EC_gen("P-256");
	x = X509_new();
	if (!key || !x || RAND_bytes(id, sizeof(id)) != 1)
		goto ssl_err;
	snprintf(cn, sizeof(cn), "lunlink cluster CA %02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
	if (!X509_set_version(x, 2) || set_random_serial(x) ||
	    set_cn(X509_get_subject_name(x), cn) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), PCA_CA_DAYS, 0, NULL) ||
	    !X509_set_pubkey(x, key) ||
	    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    !X509_sign(x, key, EVP_sha256()))
		goto ssl_err;
	if (write_new(keypath, 0600, key, NULL, err, errlen))
		goto err;
	wrote_key = true;
	if (write_new(certpath, 0644, NULL, x, err, errlen))
		goto err;
	X509_free(x);
	EVP_PKEY_free(key);
	return 0;
ssl_err:
	ll_fail(err, errlen, "cannot make the cluster CA: %s", pca_ssl_reason(why, sizeof(why)));
err:
	if (wrote_key)
		unlink(keypath);
	X509_free(x);
	EVP_PKEY_free(key);
	return -1;
}

struct pca_ca *pca_load(const char *dir, char *err, size_t errlen)
{
	char keypath[4096], certpath[4096], why[160];
	struct pca_ca *ca = calloc(1, sizeof(*ca));
	struct stat st;
	FILE *f = NULL;

	snprintf(keypath, sizeof(keypath), "%s/ca.key", dir);
	snprintf(certpath, sizeof(certpath), "%s/ca.crt", dir);
	if (!ca) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	f = fopen(keypath, "re");
	if (!f) {
		ll_fail(err, errlen, "cannot open the CA's key %s: %s%s", keypath, strerror(errno),
			errno == ENOENT ? " (create the CA with 'lunlinkctl ca init')" : "");
		goto err;
	}
	if (fstat(fileno(f), &st) || (st.st_mode & 077)) {
		ll_fail(err, errlen, "the CA's key %s is open to other users (mode %04o); "
			"chmod 600 it", keypath, (unsigned int)(st.st_mode & 07777));
		goto err;
	}
	ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	f = NULL;
	if (!ca->key) {
		ll_fail(err, errlen, "cannot read the CA's key %s: %s", keypath,
			pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	f = fopen(certpath, "re");
	if (!f) {
		ll_fail(err, errlen, "cannot open the CA's certificate %s: %s", certpath,
			strerror(errno));
		goto err;
	}
	ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
	if (!ca->cert) {
		ll_fail(err, errlen, "cannot read the CA's certificate %s: %s", certpath,
			pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ll_fail(err, errlen, "the CA's key %s does not belong to its certificate %s",
			keypath, certpath);
		goto err;
	}
	fclose(f);
	return ca;
err:
	if (f)
		fclose(f);
	pca_free(ca);
	return NULL;
}

void pca_free(struct pca_ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
}

char *pca_cert_pem(const struct pca_ca *ca)
{
	return x509_pem(ca->cert);
}

int pca_make_key_csr(const char *name, char **key_pem, char **csr_pem, char *err,
		     size_t errlen)
{
	char why[160];
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	BIO *kb = NULL, *rb = NULL;

	*key_pem = *csr_pem = NULL;
	if (!name || !pjr_name_valid(name, strlen(name))) {
		ll_fail(err, errlen, "'%s' is not a valid name (letters, digits, '.', '_', '-'; "
			"at most %d)", name ? name : "", PJR_NAME_MAX);
		goto err;
	}
	key = EVP_EC_gen("P-256");
	req = X509_REQ_new();
	kb = BIO_new(BIO_s_mem());
	rb = BIO_new(BIO_s_mem());
	if (!key || !req || !kb || !rb || !X509_REQ_set_version(req, 0) ||
	    set_cn(X509_REQ_get_subject_name(req), name) || !X509_REQ_set_pubkey(req, key) ||
	    !X509_REQ_sign(req, key, EVP_sha256()) ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509_REQ(rb, req)) {
		ll_fail(err, errlen, "cannot make a key and request: %s",
			pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	*key_pem = bio_string(kb);
	*csr_pem = bio_string(rb);
	if (!*key_pem || !*csr_pem) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	BIO_free(kb);
	BIO_free(rb);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return 0;
err:
	if (*key_pem)
		OPENSSL_cleanse(*key_pem, strlen(*key_pem));
	free(*key_pem);
	free(*csr_pem);
	*key_pem = *csr_pem = NULL;
	BIO_free(kb);
	BIO_free(rb);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return -1;
}

/* Whether a CSR's key is one we sign: EC P-256/P-384 or RSA >= 2048. */
static int key_acceptable(EVP_PKEY *k, char *err, size_t errlen)
{
	char group[32];

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		return EVP_PKEY_get_bits(k) >= 2048 ? 0 :
			ll_fail(err, errlen, "the request's RSA key has %d bits; at least 2048 are needed",
				EVP_PKEY_get_bits(k));
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   NULL) &&
	    (!strcmp(group, "prime256v1") || !strcmp(group, "secp384r1")))
		return 0;
	return ll_fail(err, errlen, "the request's key is not EC P-256, P-384 or RSA");
}

/* "URI:lunlink:ROLE/NAME[,DNS:h|IP:a]..." into buf. */
static int san_value(const struct pca_sign_opts *o, char *buf, size_t len, char *err,
		     size_t errlen)
{
	size_t n = (size_t)snprintf(buf, len, "URI:" URI_PREFIX "%s/%s", pca_role_name(o->role),
				    o->name);

	for (unsigned int i = 0; o->hosts && o->hosts[i]; i++) {
		const char *h = o->hosts[i];
		unsigned char addr[16];
		bool ip = inet_pton(AF_INET, h, addr) == 1 || inet_pton(AF_INET6, h, addr) == 1;

		if (i >= HOSTS_MAX)
			return ll_fail(err, errlen, "more than %d host names", HOSTS_MAX);
		if (!ip && (strlen(h) > 253 || h[0] == '-' || h[0] == '.' ||
			    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
			    != strlen(h) || !h[0]))
			return ll_fail(err, errlen, "'%s' is neither an IP address nor a host name", h);
		n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, ",%s:%s",
				      ip ? "IP" : "DNS", h);
	}
	return n < len ? 0 : ll_fail(err, errlen, "too many host names");
}

int pca_sign(struct pca_ca *ca, const char *csr_pem, const struct pca_sign_opts *o,
	     char **cert_pem, char *err, size_t errlen)
{
	char cn[PJR_NAME_MAX + 2], san[HOSTS_MAX * 270], why[160];
	time_t now = time(NULL);
	time_t nb = o->not_before ? o->not_before : now - 300;
	time_t na = o->not_after ? o->not_after : now + (time_t)PCA_CERT_DAYS * 86400;
	X509_REQ *req = NULL;
	X509 *x = NULL;
	BIO *b = NULL;
	EVP_PKEY *k;

	*cert_pem = NULL;
	if (!o->name || !pjr_name_valid(o->name, strlen(o->name)) || (unsigned int)o->role > 2) {
		ll_fail(err, errlen, "'%s' is not a valid name", o->name ? o->name : "");
		goto err;
	}
	if (na <= nb) {
		ll_fail(err, errlen, "the validity ends before it starts");
		goto err;
	}
	if (!csr_pem || strlen(csr_pem) > PEM_MAX) {
		ll_fail(err, errlen, "the certificate request is missing or longer than %d bytes",
			PEM_MAX);
		goto err;
	}
	b = BIO_new_mem_buf(csr_pem, -1);
	req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
	if (!req) {
		ll_fail(err, errlen, "the certificate request is not a PEM CSR: %s",
			pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	k = X509_REQ_get0_pubkey(req);
	if (!k || X509_REQ_verify(req, k) != 1) {
		ERR_clear_error();
		ll_fail(err, errlen, "the certificate request is not signed by its own key");
		goto err;
	}
	if (key_acceptable(k, err, errlen))
		goto err;
	if (get_cn(X509_REQ_get_subject_name(req), cn, sizeof(cn)) || strcmp(cn, o->name)) {
		ll_fail(err, errlen, "the certificate request's CN is not '%s'", o->name);
		goto err;
	}
	if (san_value(o, san, sizeof(san), err, errlen))
		goto err;
	x = X509_new();
	if (!x || !X509_set_version(x, 2) || set_random_serial(x) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
	    set_cn(X509_get_subject_name(x), o->name) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), nb) || !ASN1_TIME_set(X509_getm_notAfter(x), na) ||
	    !X509_set_pubkey(x, k) ||
	    add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, ca->cert, NID_key_usage, EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA ?
		    "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature") ||
	    add_ext(x, ca->cert, NID_ext_key_usage, o->role == PCA_ROLE_NODE ?
		    "serverAuth,clientAuth" : "clientAuth") ||
	    add_ext(x, ca->cert, NID_subject_key_identifier, "hash") ||
	    add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") ||
	    add_ext(x, ca->cert, NID_subject_alt_name, san) ||
	    !X509_sign(x, ca->key, EVP_sha256())) {
		ll_fail(err, errlen, "cannot sign the certificate: %s", pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	*cert_pem = x509_pem(x);
	if (!*cert_pem) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	X509_free(x);
	X509_REQ_free(req);
	BIO_free(b);
	return 0;
err:
	X509_free(x);
	X509_REQ_free(req);
	BIO_free(b);
	return -1;
}

int pca_serial_canon(const char *in, char out[PCA_SERIAL_MAX])
{
	size_t n = 0, digits = 0;
	bool lead = true;

	for (const char *p = in; *p && *p != '\n'; p++) {
		char c = *p;

		if (c == ':')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		digits++;
		if (lead && c == '0')
			continue;
		lead = false;
		if (n + 1 >= PCA_SERIAL_MAX)
			return -1;
		out[n++] = c;
	}
	if (digits == 0)
		return -1;
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
	return 0;
}

int pca_identity_of(X509 *cert, struct pca_identity *id, char *err, size_t errlen)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	char uri[128] = "", cn[PJR_NAME_MAX + 2], *hex = NULL, *slash;
	BIGNUM *bn = NULL;
	int found = 0;

	memset(id, 0, sizeof(*id));
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const ASN1_STRING *s;

		if (g->type != GEN_URI)
			continue;
		s = g->d.uniformResourceIdentifier;
		if (ASN1_STRING_length(s) < (int)strlen(URI_PREFIX) ||
		    memcmp(ASN1_STRING_get0_data(s), URI_PREFIX, strlen(URI_PREFIX)))
			continue;
		if (found++ || ASN1_STRING_length(s) >= (int)sizeof(uri))
			break;
		memcpy(uri, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
		uri[ASN1_STRING_length(s)] = '\0';
	}
	if (found != 1 || strlen(uri) < strlen(URI_PREFIX)) {
		ll_fail(err, errlen, found ? "the certificate names more than one lunlink identity"
			: "the certificate has no lunlink identity (a subjectAltName URI lunlink:ROLE/NAME)");
		goto err;
	}
	slash = strchr(uri + strlen(URI_PREFIX), '/');
	if (!slash) {
		ll_fail(err, errlen, "the certificate's identity '%s' is not lunlink:ROLE/NAME", uri);
		goto err;
	}
	*slash = '\0';
	if (pca_role_parse(uri + strlen(URI_PREFIX), &id->role) ||
	    !pjr_name_valid(slash + 1, strlen(slash + 1))) {
		ll_fail(err, errlen, "the certificate's identity has an unknown role or a bad name");
		goto err;
	}
	if (get_cn(X509_get_subject_name(cert), cn, sizeof(cn)) || strcmp(cn, slash + 1)) {
		ll_fail(err, errlen, "the certificate's CN is not its identity's name '%s'", slash + 1);
		goto err;
	}
	strcpy(id->name, slash + 1);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	if (!hex || BN_is_negative(bn) || pca_serial_canon(hex, id->serial)) {
		ll_fail(err, errlen, "the certificate's serial number is unusable");
		goto err;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	GENERAL_NAMES_free(names);
	return 0;
err:
	OPENSSL_free(hex);
	BN_free(bn);
	GENERAL_NAMES_free(names);
	return -1;
}

int pca_identity_pem(const char *cert_pem, struct pca_identity *id, char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	char why[160];
	int r;

	if (!x)
		r = ll_fail(err, errlen, "not a PEM certificate: %s", pca_ssl_reason(why, sizeof(why)));
	else
		r = pca_identity_of(x, id, err, errlen);
	X509_free(x);
	BIO_free(b);
	return r;
}

/* ---- join tokens ---- */

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int token_hash(const char *token, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	if (!EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) || len != 32)
		return -1;
	hex(md, 32, out);
	return 0;
}

int pca_token_id(const char *token, char id[PCA_TOKEN_ID_LEN + 1])
{
	if (!token || strlen(token) != PCA_TOKEN_LEN || token[PCA_TOKEN_ID_LEN] != '.')
		return -1;
	for (size_t i = 0; i < PCA_TOKEN_LEN; i++)
		if (i != PCA_TOKEN_ID_LEN && !strchr("0123456789abcdef", token[i]))
			return -1;
	memcpy(id, token, PCA_TOKEN_ID_LEN);
	id[PCA_TOKEN_ID_LEN] = '\0';
	return 0;
}

int pca_token_create(enum pca_role role, time_t now, unsigned int ttl,
		     char token[PCA_TOKEN_LEN + 1], char **record, char *err, size_t errlen)
{
	unsigned char rnd[4 + 16];
	char id[PCA_TOKEN_ID_LEN + 1], sum[65];
	json_object *o = NULL;

	*record = NULL;
	if (ttl == 0 || ttl > PCA_TOKEN_TTL_MAX || (unsigned int)role > 2) {
		ll_fail(err, errlen, "a token's lifetime must be 1 to %d seconds", PCA_TOKEN_TTL_MAX);
		goto err;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		ll_fail(err, errlen, "no random bytes for a token");
		goto err;
	}
	hex(rnd, 4, token);
	token[PCA_TOKEN_ID_LEN] = '.';
	hex(rnd + 4, 16, token + PCA_TOKEN_ID_LEN + 1);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (pca_token_id(token, id) || token_hash(token, sum)) {
		ll_fail(err, errlen, "cannot hash the token");
		goto err;
	}
	o = json_object_new_object();
	if (!o || json_object_object_add(o, "id", json_object_new_string(id)) ||
	    json_object_object_add(o, "sha256", json_object_new_string(sum)) ||
	    json_object_object_add(o, "role", json_object_new_string(pca_role_name(role))) ||
	    json_object_object_add(o, "expires", json_object_new_int64((int64_t)now + ttl)) ||
	    json_object_object_add(o, "used", json_object_new_boolean(0))) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	*record = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	if (!*record) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	json_object_put(o);
	return 0;
err:
	OPENSSL_cleanse(token, PCA_TOKEN_LEN + 1);
	json_object_put(o);
	return -1;
}

int pca_token_redeem(const char *record, const char *token, time_t now, enum pca_role *role,
		     char **used_record, char *err, size_t errlen)
{
	static const char *const fields[] = { "id", "sha256", "role", "expires", "used",
					      "used_at", NULL };
	const char *rid, *sum, *rrole;
	char id[PCA_TOKEN_ID_LEN + 1], want[65];
	int64_t expires = 0;
	bool used = true;
	json_object *o = NULL;
	struct pjr_err e;

	*used_record = NULL;
	if (pca_token_id(token, id)) {
		ll_fail(err, errlen, "the token is not of the form XXXXXXXX.XXXX... given by "
			"'lunlinkctl token create'");
		goto err;
	}
	if (!record || pjr_parse(record, strlen(record), &o, &e) || pjr_only(o, fields, &e) ||
	    pjr_string(o, "id", true, PCA_TOKEN_ID_LEN, PJR_NAME, &rid, &e) ||
	    pjr_string(o, "sha256", true, 64, PJR_NAME, &sum, &e) ||
	    pjr_string(o, "role", true, 8, PJR_NAME, &rrole, &e) ||
	    pjr_int(o, "expires", true, 0, INT64_MAX - 1, &expires, &e) ||
	    pjr_bool(o, "used", true, &used, &e) || strlen(sum) != 64 ||
	    pca_role_parse(rrole, role)) {
		ll_fail(err, errlen, "the token's stored record is damaged");
		goto err;
	}
	if (token_hash(token, want) || strcmp(rid, id) || CRYPTO_memcmp(want, sum, 64)) {
		ll_fail(err, errlen, "the token is not valid");
		goto err;
	}
	if (used) {
		ll_fail(err, errlen, "the token has been used already; create another with "
			"'lunlinkctl token create'");
		goto err;
	}
	if ((int64_t)now >= expires) {
		ll_fail(err, errlen, "the token expired %lld seconds ago; create another with "
			"'lunlinkctl token create'", (long long)((int64_t)now - expires));
		goto err;
	}
	if (json_object_object_add(o, "used", json_object_new_boolean(1)) ||
	    json_object_object_add(o, "used_at", json_object_new_int64((int64_t)now)) ||
	    !(*used_record = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)))) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	json_object_put(o);
	return 0;
err:
	json_object_put(o);
	return -1;
}
