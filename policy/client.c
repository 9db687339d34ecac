// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * client.c: the policy API's libcurl client (see client.h).  One easy
 * handle per client, reused across calls (curl keeps the connection).
 * The work here is the translation of curl's outcome into a sentence for
 * the operator; the HTTP and TLS are curl's and OpenSSL's.
 */
#include "client.h"
#include "lunlink/errmsg.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pa_client {
	CURL *curl;
	char *base;		/* "https://host:port" or "http://localhost" */
	char *where;		/* "host:port" or "the socket /path", for messages */
	char *unix_path;
	struct pa_tls_files files;
	bool tls;
};

struct buf {
	char *data;
	size_t len;
	bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;
	char *nd;

	if (b->len + add > PA_CLIENT_REPLY_MAX) {
		b->too_big = true;
		return 0;
	}
	nd = realloc(b->data, b->len + add + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, p, add);
	b->data = nd;
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

void pa_client_free(struct pa_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base);
	free(c->where);
	free(c->unix_path);
	free(c);
}

struct pa_client *pa_client_new(const struct pa_client_opts *o, char *err, size_t errlen)
{
	struct pa_client *c = calloc(1, sizeof(*c));
	long timeout = o->timeout_ms ? o->timeout_ms : 30000;
	long ctimeout = o->connect_timeout_ms ? o->connect_timeout_ms : 5000;

	if (!c || curl_global_init(CURL_GLOBAL_DEFAULT) || !(c->curl = curl_easy_init())) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	if (!strncmp(o->url, "unix:", 5)) {
		c->unix_path = strdup(o->url + 5);
		c->base = strdup("http://localhost");
		if (c->unix_path && asprintf(&c->where, "the socket %s", c->unix_path) < 0)
			c->where = NULL;
	} else if (!strncmp(o->url, "https://", 8)) {
		c->tls = true;
		c->base = strdup(o->url);
		c->where = strdup(o->url + 8);
		if (c->base && c->base[strlen(c->base) - 1] == '/')
			c->base[strlen(c->base) - 1] = '\0';
	} else {
		ll_fail(err, errlen, "the API's address %s is neither https://HOST:PORT nor unix:PATH",
			o->url);
		goto err;
	}
	if (!c->base || !c->where || (!c->tls && !c->unix_path)) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	if (c->tls) {
		c->files = o->files;
		if (!o->files.ca_file) {
			ll_fail(err, errlen, "no cluster CA certificate given for %s", o->url);
			goto err;
		}
		if (o->files.cert_file && pa_tls_check_files(&o->files, err, errlen))
			goto err;
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, o->files.ca_file);
		curl_easy_setopt(c->curl, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L);
		curl_easy_setopt(c->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
		if (o->files.cert_file) {
			curl_easy_setopt(c->curl, CURLOPT_SSLCERT, o->files.cert_file);
			curl_easy_setopt(c->curl, CURLOPT_SSLKEY, o->files.key_file);
		}
	} else {
		curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	}
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, c->tls ? "https" : "http");
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, ctimeout);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	return c;
err:
	pa_client_free(c);
	return NULL;
}

/* The sentence for a transfer that got no HTTP reply. */
static void transport_error(struct pa_client *c, CURLcode rc, const char *detail, char *err,
			    size_t errlen)
{
	const char *d = detail[0] ? detail : curl_easy_strerror(rc);
	long os_errno = 0;

	curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		ll_fail(err, errlen, "cannot connect to %s: %s%s", c->where,
			os_errno ? strerror((int)os_errno) : d,
			c->tls ? "" : " (is lunlink-policyd running, and may this user use its socket?)");
		break;
	case CURLE_OPERATION_TIMEDOUT:
		ll_fail(err, errlen, "no answer from %s in time: %s", c->where, d);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		if (strstr(d, "issuer") || strstr(d, "self-signed") || strstr(d, "self signed"))
			ll_fail(err, errlen, "TLS: the server %s's certificate is not signed by the "
				"cluster CA in %s (%s)", c->where, c->files.ca_file, d);
		else
			ll_fail(err, errlen, "TLS: the server %s's certificate is not valid for it: %s",
				c->where, d);
		break;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		ll_fail(err, errlen, "TLS: cannot use the certificate %s, key %s or CA %s: %s",
			c->files.cert_file ? c->files.cert_file : "(none)",
			c->files.key_file ? c->files.key_file : "(none)", c->files.ca_file, d);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		/* TLS 1.3 ends the handshake before the server has judged our
		 * certificate: its refusal comes as an alert, or as a closed
		 * connection when the reset overtakes the alert */
		if (c->tls && strstr(d, "alert"))
			ll_fail(err, errlen, "TLS: the server %s refused our certificate %s: %s",
				c->where, c->files.cert_file ? c->files.cert_file : "(none sent)", d);
		else if (c->tls)
			ll_fail(err, errlen, "TLS: the server %s closed the connection at the handshake: "
				"it refused our certificate %s (revoked, or not from this cluster?) "
				"or our TLS (%s)", c->where,
				c->files.cert_file ? c->files.cert_file : "(none sent)", d);
		else
			ll_fail(err, errlen, "the connection to %s failed: %s", c->where, d);
		break;
	default:
		ll_fail(err, errlen, "the request to %s failed: %s", c->where, d);
	}
}

int pa_client_call(struct pa_client *c, const char *method, const char *path,
		   json_object *body, json_object **reply, long *status, char *err, size_t errlen)
{
	char detail[CURL_ERROR_SIZE] = "", *url = NULL;
	struct curl_slist *h = NULL;
	struct buf b = { 0 };
	struct pjr_err pe;
	json_object *e, *f, *m;
	const char *text;
	long code = 0;
	CURLcode rc;

	*reply = NULL;
	if (status)
		*status = 0;
	if (asprintf(&url, "%s%s", c->base, path) < 0) {
		url = NULL;
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
	if (text) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	if (rc == CURLE_WRITE_ERROR && b.too_big) {
		ll_fail(err, errlen, "the reply from %s is larger than %d bytes", c->where,
			PA_CLIENT_REPLY_MAX);
		goto err;
	}
	if (rc != CURLE_OK) {
		transport_error(c, rc, detail, err, errlen);
		goto err;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (status)
		*status = code;
	if (b.len && pjr_parse(b.data, b.len, reply, &pe) && code >= 200 && code < 300) {
		ll_fail(err, errlen, "the reply from %s is not a JSON object: %s", c->where, pe.message);
		goto err;
	}
	if (code < 200 || code >= 300) {
		if (*reply && json_object_object_get_ex(*reply, "error", &e) &&
		    json_object_object_get_ex(e, "field", &f) &&
		    json_object_object_get_ex(e, "message", &m))
			ll_fail(err, errlen, "HTTP %ld: field '%s': %s", code, json_object_get_string(f),
				json_object_get_string(m));
		else
			ll_fail(err, errlen, "HTTP %ld from %s %s%s", code, method, path,
				code == 413 ? ": the request is too large" : "");
		goto err;
	}
	free(b.data);
	curl_slist_free_all(h);
	free(url);
	return 0;
err:
	free(b.data);
	curl_slist_free_all(h);
	free(url);
	return -1;
}

static int write_file(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0)
		return ll_fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
	if (fchmod(fd, mode) || write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		ll_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return close(fd) ? ll_fail(err, errlen, "cannot write %s: %s", path, strerror(errno)) : 0;
}

int pa_client_join(const char *url, const char *ca_file, const char *token, const char *name,
		   const char *const *hosts, const char *key_path, const char *cert_path,
		   char *err, size_t errlen)
{
	struct pa_client_opts o = { .url = url, .files = { .ca_file = ca_file } };
	struct pa_client *c = NULL;
	json_object *req = NULL, *reply = NULL, *cert, *arr;
	char *key = NULL, *csr = NULL;

	if (pca_make_key_csr(name, &key, &csr, err, errlen))
		goto err;
	c = pa_client_new(&o, err, errlen);
	if (!c)
		goto err;
	req = json_object_new_object();
	json_object_object_add(req, "token", json_object_new_string(token));
	json_object_object_add(req, "name", json_object_new_string(name));
	json_object_object_add(req, "csr", json_object_new_string(csr));
	if (hosts && hosts[0]) {
		arr = json_object_new_array();
		for (size_t i = 0; hosts[i]; i++)
			json_object_array_add(arr, json_object_new_string(hosts[i]));
		json_object_object_add(req, "hosts", arr);
	}
	if (pa_client_call(c, "POST", "/v1/join", req, &reply, NULL, err, errlen))
		goto err;
	if (!json_object_object_get_ex(reply, "certificate", &cert) ||
	    !json_object_is_type(cert, json_type_string)) {
		ll_fail(err, errlen, "the join reply from %s has no certificate", url);
		goto err;
	}
	if (write_file(key_path, key, 0600, err, errlen) ||
	    write_file(cert_path, json_object_get_string(cert), 0644, err, errlen))
		goto err;
	json_object_put(reply);
	json_object_put(req);
	pa_client_free(c);
	free(csr);
	free(key);
	return 0;
err:
	json_object_put(reply);
	json_object_put(req);
	pa_client_free(c);
	free(csr);
	free(key);
	return -1;
}
