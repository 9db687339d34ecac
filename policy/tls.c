// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tls.c: the policy API's OpenSSL server contexts, the check of a
 * certificate, key and CA set, and libcurl's TLS options for the HTTPS
 * clients (see tls.h).  The verification itself is OpenSSL's; the
 * callback here only adds what OpenSSL cannot know: that the certificate
 * carries a lunlink identity, and that its serial has not been revoked.
 */
#include "tls.h"
#include "lunlink/errmsg.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

struct hooks {
	pa_revoked_fn revoked;
	void *revoked_arg;
	pa_refused_fn refused;
	void *refused_arg;
};

static int hooks_index = -1;

static void hooks_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
		       void *argp)
{
	free(ptr);
}

static X509 *read_cert(const char *path, char *err, size_t errlen)
{
	char why[160];
	FILE *f = fopen(path, "re");
	X509 *x;

	if (!f) {
		ll_fail(err, errlen, "cannot open the certificate %s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		ll_fail(err, errlen, "%s is not a PEM certificate: %s", path,
			pca_ssl_reason(why, sizeof(why)));
	return x;
}

int pa_tls_check_files(const struct pa_tls_files *fl, char *err, size_t errlen)
{
	X509 *cert = NULL, *ca = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *sc = NULL;
	EVP_PKEY *key = NULL;
	char why[160];
	FILE *f = NULL;
	int verr;

	cert = read_cert(fl->cert_file, err, errlen);
	if (!cert)
		goto err;
	ca = read_cert(fl->ca_file, err, errlen);
	if (!ca)
		goto err;
	f = fopen(fl->key_file, "re");
	if (!f) {
		ll_fail(err, errlen, "cannot open the key %s: %s", fl->key_file, strerror(errno));
		goto err;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!key) {
		ll_fail(err, errlen, "%s is not a PEM private key: %s", fl->key_file,
			pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		ll_fail(err, errlen, "the key %s is not the key of the certificate %s",
			fl->key_file, fl->cert_file);
		goto err;
	}
	store = X509_STORE_new();
	sc = X509_STORE_CTX_new();
	if (!store || !sc || !X509_STORE_add_cert(store, ca) ||
	    !X509_STORE_CTX_init(sc, store, cert, NULL)) {
		ll_fail(err, errlen, "cannot check %s: %s", fl->cert_file,
			pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	if (X509_verify_cert(sc) != 1) {
		verr = X509_STORE_CTX_get_error(sc);
		ERR_clear_error();
		if (verr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
		    verr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
		    verr == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
		    verr == X509_V_ERR_CERT_SIGNATURE_FAILURE)
			ll_fail(err, errlen, "the certificate %s is not signed by the cluster CA in %s",
				fl->cert_file, fl->ca_file);
		else
			ll_fail(err, errlen, "the certificate %s is not valid against the cluster CA in %s: %s",
				fl->cert_file, fl->ca_file, X509_verify_cert_error_string(verr));
		goto err;
	}
	X509_STORE_CTX_free(sc);
	X509_STORE_free(store);
	EVP_PKEY_free(key);
	fclose(f);
	X509_free(ca);
	X509_free(cert);
	return 0;
err:
	X509_STORE_CTX_free(sc);
	X509_STORE_free(store);
	EVP_PKEY_free(key);
	if (f)
		fclose(f);
	X509_free(ca);
	X509_free(cert);
	return -1;
}

static void refuse(struct hooks *h, X509 *cert, const char *what)
{
	char subject[160] = "?", why[320];

	if (!h || !h->refused)
		return;
	if (cert)
		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
	snprintf(why, sizeof(why), "client certificate %s refused: %s", subject, what);
	h->refused(h->refused_arg, why);
}

/* OpenSSL's verdict for each certificate of the chain, then ours for the
 * client's own (depth 0): a lunlink identity, not revoked. */
static int verify_cb(int ok, X509_STORE_CTX *sc)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sc, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct hooks *h = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), hooks_index) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(sc);
	struct pca_identity id;
	char why[160];

	if (!ok) {
		refuse(h, cert, X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc)));
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(sc) != 0)
		return 1;
	if (pca_identity_of(cert, &id, why, sizeof(why))) {
		X509_STORE_CTX_set_error(sc, X509_V_ERR_APPLICATION_VERIFICATION);
		refuse(h, cert, why);
		return 0;
	}
	if (h && h->revoked && h->revoked(h->revoked_arg, id.serial)) {
		X509_STORE_CTX_set_error(sc, X509_V_ERR_CERT_REVOKED);
		snprintf(why, sizeof(why), "%s %s's certificate (serial %s) is revoked",
			 pca_role_name(id.role), id.name, id.serial);
		refuse(h, cert, why);
		return 0;
	}
	return 1;
}

/* Handshakes that fail before any certificate is checked (none sent, no
 * common protocol) are told of here, by the fatal alert the server sends;
 * failures of verification were told by verify_cb. */
static void info_cb(const SSL *ssl, int where, int ret)
{
	struct hooks *h = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), hooks_index);
	char why[160];

	if (!(where & SSL_CB_WRITE_ALERT) || !(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL ||
	    !h || !h->refused || SSL_get_verify_result(ssl) != X509_V_OK)
		return;
	/* OpenSSL 3.0 has no text for TLS 1.3's "certificate required" */
	if ((ret & 0xff) == SSL_AD_CERTIFICATE_REQUIRED)
		snprintf(why, sizeof(why), "TLS handshake with a client failed: certificate required "
			 "(the client sent none)");
	else
		snprintf(why, sizeof(why), "TLS handshake with a client failed: %s (alert %d)",
			 SSL_alert_desc_string_long(ret), ret & 0xff);
	h->refused(h->refused_arg, why);
}

SSL_CTX *pa_tls_server_ctx(const struct pa_tls_server_opts *o, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names = NULL;
	struct hooks *h = NULL;
	SSL_CTX *ctx = NULL;
	char why[160];

	if (pa_tls_check_files(&o->files, err, errlen))
		goto err;
	if (hooks_index < 0)
		hooks_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, hooks_free);
	ctx = SSL_CTX_new(TLS_server_method());
	h = calloc(1, sizeof(*h));
	if (!ctx || !h || hooks_index < 0) {
		ll_fail(err, errlen, "cannot make a TLS context: %s", pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	h->revoked = o->revoked;
	h->revoked_arg = o->revoked_arg;
	h->refused = o->refused;
	h->refused_arg = o->refused_arg;
	if (!SSL_CTX_set_ex_data(ctx, hooks_index, h)) {
		ll_fail(err, errlen, "cannot make a TLS context: %s", pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	h = NULL;	/* the context owns it now */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_info_callback(ctx, info_cb);
	if (SSL_CTX_use_certificate_chain_file(ctx, o->files.cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->files.key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ll_fail(err, errlen, "cannot use the certificate %s with the key %s: %s",
			o->files.cert_file, o->files.key_file, pca_ssl_reason(why, sizeof(why)));
		goto err;
	}
	if (o->client_certs) {
		if (SSL_CTX_load_verify_locations(ctx, o->files.ca_file, NULL) != 1 ||
		    !(names = SSL_load_client_CA_file(o->files.ca_file))) {
			ll_fail(err, errlen, "cannot load the cluster CA %s: %s", o->files.ca_file,
				pca_ssl_reason(why, sizeof(why)));
			goto err;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(ctx), X509_PURPOSE_SSL_CLIENT);
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
		SSL_CTX_set_verify_depth(ctx, 2);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
err:
	free(h);
	SSL_CTX_free(ctx);
	return NULL;
}

void pa_tls_curl(CURL *h, const struct pa_tls_files *f)
{
	curl_easy_setopt(h, CURLOPT_CAINFO, f->ca_file);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (f->cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, f->cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, f->key_file);
	}
}
