// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * client.c: the policy API's libcurl client (see client.h).  One easy
 * handle per client, reused across calls (curl keeps the connection).
 * The options every handle gets, blocking or not (client_async.c), are
 * set in one place, pa_client_setopts; a request's set-up and outcome
 * are pa_transfer_setup and pa_transfer_outcome, shared the same way.
 * The work here is the translation of curl's outcome into a sentence for
 * the operator; the HTTP and TLS are curl's and OpenSSL's.
 */
#include "client_int.h"
#include "lunlink/errmsg.h"
#include "urls.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct pa_transfer *t = arg;
	size_t add = size * n;
	char *nd;

	if (t->len + add > PA_CLIENT_REPLY_MAX) {
		t->too_big = true;
		return 0;
	}
	nd = realloc(t->data, t->len + add + 1);
	if (!nd)
		return 0;
	memcpy(nd + t->len, p, add);
	t->data = nd;
	t->len += add;
	t->data[t->len] = '\0';
	return add;
}

void pa_client_clear(struct pa_client *c)
{
	for (size_t i = 0; i < c->nurls; i++) {
		free(c->url[i]);
		free(c->base[i]);
		free(c->where[i]);
	}
	free(c->unix_path);
	free((char *)c->files.ca_file);
	free((char *)c->files.cert_file);
	free((char *)c->files.key_file);
	memset(c, 0, sizeof(*c));
}

/* One address of the list into c->url, base and where [c->nurls]. */
static int add_url(struct pa_client *c, const char *url, char *err, size_t errlen)
{
	size_t i = c->nurls;

	if (!strncmp(url, "unix:", 5) && i > 0) {
		return ll_fail(err, errlen, "the API's address %s: a Unix socket is one address alone, "
			       "not in a list", url);
	} else if (!strncmp(url, "unix:", 5)) {
		c->unix_path = strdup(url + 5);
		c->base[i] = strdup("http://localhost");
		if (c->unix_path && asprintf(&c->where[i], "the socket %s", c->unix_path) < 0)
			c->where[i] = NULL;
	} else if (!strncmp(url, "https://", 8) && url[8]) {
		c->tls = true;
		c->base[i] = strdup(url);
		c->where[i] = strdup(url + 8);
		if (c->base[i] && c->base[i][strlen(c->base[i]) - 1] == '/')
			c->base[i][strlen(c->base[i]) - 1] = '\0';
	} else {
		return ll_fail(err, errlen, "the API's address %s is neither https://HOST:PORT nor "
			       "unix:PATH", url);
	}
	c->url[i] = strdup(url);
	c->nurls++;
	if (!c->url[i] || !c->base[i] || !c->where[i] || (!c->tls && !c->unix_path))
		return ll_fail(err, errlen, "out of memory");
	return 0;
}

int pa_client_init(struct pa_client *c, const struct pa_client_opts *o, char *err, size_t errlen)
{
	struct pu_list *l;
	char why[256];

	memset(c, 0, sizeof(*c));
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
	c->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 5000;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return ll_fail(err, errlen, "out of memory");
	l = malloc(sizeof(*l));
	if (!l)
		return ll_fail(err, errlen, "out of memory");
	if (pu_split(o->url ? o->url : "", l, why, sizeof(why))) {
		ll_fail(err, errlen, "the API's address '%s': %s", o->url ? o->url : "", why);
		goto err;
	}
	for (size_t i = 0; i < l->n; i++)
		if (add_url(c, l->url[i], err, errlen))
			goto err;
	free(l);
	l = NULL;
	if (c->tls) {
		if (!o->files.ca_file)
			return ll_fail(err, errlen, "no cluster CA certificate given for %s", o->url);
		/* copies: the client outlives the caller's strings (an agent's
		 * async calls read them at every request) */
		c->files.ca_file = strdup(o->files.ca_file);
		c->files.cert_file = o->files.cert_file ? strdup(o->files.cert_file) : NULL;
		c->files.key_file = o->files.key_file ? strdup(o->files.key_file) : NULL;
		if (!c->files.ca_file || (o->files.cert_file && !c->files.cert_file) ||
		    (o->files.key_file && !c->files.key_file))
			return ll_fail(err, errlen, "out of memory");
		if (o->files.cert_file && pa_tls_check_files(&o->files, err, errlen))
			return -1;
	}
	return 0;
err:
	free(l);
	return -1;
}

void pa_client_setopts(const struct pa_client *c, CURL *h)
{
	if (c->tls)
		pa_tls_curl(h, &c->files);
	else
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->tls ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* a manager that follows sends us to the leader (307, its Location
	 * the same path): curl goes there on this handle, so with the same
	 * TLS files, method and body (307 and 308 keep them, POST's too);
	 * https only, and not round in circles.  The Unix socket reaches
	 * this host's manager only: a redirect from it is an error. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, c->tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
}

void pa_client_free(struct pa_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	pa_client_clear(c);
	free(c);
}

struct pa_client *pa_client_new(const struct pa_client_opts *o, char *err, size_t errlen)
{
	struct pa_client *c = calloc(1, sizeof(*c));

	if (!c) {
		ll_fail(err, errlen, "out of memory");
		return NULL;
	}
	if (pa_client_init(c, o, err, errlen))
		goto err;
	c->curl = curl_easy_init();
	if (!c->curl) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	pa_client_setopts(c, c->curl);
	return c;
err:
	pa_client_free(c);
	return NULL;
}

/* The sentence for a transfer to where that got no HTTP reply. */
static void transport_error(const struct pa_client *c, CURL *h, const char *where, CURLcode rc,
			    const char *detail, char *err, size_t errlen)
{
	const char *d = detail[0] ? detail : curl_easy_strerror(rc);
	long os_errno = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		ll_fail(err, errlen, "cannot connect to %s: %s%s", where,
			os_errno ? strerror((int)os_errno) : d,
			c->tls ? "" : " (is lunlink-policyd running, and may this user use its socket?)");
		break;
	case CURLE_OPERATION_TIMEDOUT:
		ll_fail(err, errlen, "no answer from %s in time: %s", where, d);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		if (strstr(d, "issuer") || strstr(d, "self-signed") || strstr(d, "self signed"))
			ll_fail(err, errlen, "TLS: the server %s's certificate is not signed by the "
				"cluster CA in %s (%s)", where, c->files.ca_file, d);
		else
			ll_fail(err, errlen, "TLS: the server %s's certificate is not valid for it: %s",
				where, d);
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
				where, c->files.cert_file ? c->files.cert_file : "(none sent)", d);
		else if (c->tls)
			ll_fail(err, errlen, "TLS: the server %s closed the connection at the handshake: "
				"it refused our certificate %s (revoked, or not from this cluster?) "
				"or our TLS (%s)", where,
				c->files.cert_file ? c->files.cert_file : "(none sent)", d);
		else
			ll_fail(err, errlen, "the connection to %s failed: %s", where, d);
		break;
	case CURLE_TOO_MANY_REDIRECTS:
		ll_fail(err, errlen, "%s: sent on from manager to manager, never to the leader (%s)",
			where, d);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		ll_fail(err, errlen, "%s: not followed: a manager is reached over https:// only", where);
		break;
	default:
		ll_fail(err, errlen, "the request to %s failed: %s", where, d);
	}
}

/* libcurl's debug callback: only "a request's headers went out". */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct pa_transfer *t = arg;

	(void)h;
	if (type == CURLINFO_HEADER_OUT)
		t->wrote = true;
	/* a follower's 307 or 308: that hop did nothing with it */
	else if (type == CURLINFO_HEADER_IN && size >= 12 && !memcmp(data, "HTTP/1.1 30", 11) &&
		 (data[11] == '7' || data[11] == '8'))
		t->wrote = false;
	return 0;
}

/* h's URL for c's address at (the transfer's path after its base). */
static int aim(const struct pa_client *c, CURL *h, struct pa_transfer *t, size_t at)
{
	char *url;

	if (asprintf(&url, "%s%s", c->base[at], t->path) < 0)
		return -1;
	free(t->url);
	t->url = url;
	t->at = at;
	t->wrote = false;
	curl_easy_setopt(h, CURLOPT_URL, t->url);
	return 0;
}

int pa_transfer_setup(const struct pa_client *c, CURL *h, struct pa_transfer *t,
		      const char *method, const char *path, json_object *body, long timeout_ms,
		      char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->method, sizeof(t->method), "%s", method);
	t->tried = 1;
	if (!(t->path = strdup(path)) || aim(c, h, t, c->last < c->nurls ? c->last : 0))
		return ll_fail(err, errlen, "out of memory");
	if (body && !(t->body = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN))))
		return ll_fail(err, errlen, "out of memory");
	t->headers = curl_slist_append(t->headers, "Accept: application/json");
	t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
	t->headers = curl_slist_append(t->headers, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->detail);
	/* told of every request written (nothing printed) */
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, t);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : c->timeout_ms);
	if (t->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(t->body));
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	return 0;
}

void pa_transfer_free(struct pa_transfer *t)
{
	free(t->url);
	free(t->path);
	free(t->body);
	free(t->data);
	free(t->said);
	curl_slist_free_all(t->headers);
	memset(t, 0, sizeof(*t));
}

/*
 * Whether a transfer that got no HTTP answer may be tried on the next
 * manager (client.h says why): not if the failure is ours (our files, a
 * reply too big, a redirect to elsewhere than https, too many); a
 * request that may have been received, only if it is a read.
 */
static bool may_try_next(const struct pa_transfer *t, CURLcode rc)
{
	bool read = !strcmp(t->method, "GET") || !strcmp(t->method, "HEAD");

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_TOO_MANY_REDIRECTS:
		return read || !t->sent;
	default:
		return false;
	}
}

/* The list's address where h's answer came from: the leader's, if we
 * were sent there and it is one of ours, else the one we asked. */
static size_t answered_by(const struct pa_client *c, CURL *h, const struct pa_transfer *t)
{
	long redirects = 0;
	char *eff = NULL;
	size_t n;

	curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
	if (!redirects || curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) || !eff)
		return t->at;
	for (size_t i = 0; i < c->nurls; i++) {
		n = strlen(c->base[i]);
		if (!strncmp(eff, c->base[i], n) && (eff[n] == '/' || !eff[n]))
			return i;
	}
	return t->at;
}

/* One attempt's outcome: 0 or -1 with its sentence; *next whether the
 * next manager of the list may be tried after this failure. */
static int attempt_outcome(struct pa_client *c, CURL *h, struct pa_transfer *t, CURLcode rc,
			   json_object **reply, long *status, bool *next, char *err, size_t errlen)
{
	const char *where = c->where[t->at];
	char sent_to[PU_URL_MAX + 80];
	struct pjr_err pe;
	json_object *e, *f, *m;
	long code = 0, redirects = 0;
	char *eff = NULL;

	*next = false;
	t->sent = true;
	curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
	if (redirects && !curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) && eff) {
		snprintf(sent_to, sizeof(sent_to), "%s (where %s sent us)", eff, where);
		where = sent_to;
	}
	if (rc == CURLE_WRITE_ERROR && t->too_big)
		return ll_fail(err, errlen, "the reply from %s is larger than %d bytes", where,
			       PA_CLIENT_REPLY_MAX);
	if (rc != CURLE_OK) {
		/* may have been received: a request was written (on_debug
		 * also sees libcurl's own second try on a fresh connection
		 * after a reused one died, whose error is "cannot connect":
		 * t3740), and no follower's 307 answered it since */
		t->sent = t->wrote;
		transport_error(c, h, where, rc, t->detail, err, errlen);
		*next = may_try_next(t, rc);
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (status)
		*status = code;
	/* a manager that follows and knows no leader says 503; so does one
	 * that cannot take the request now: either way nothing was done */
	*next = code == 503;
	if (!*next)
		c->last = answered_by(c, h, t);
	if (t->len && pjr_parse(t->data, t->len, reply, &pe) && code >= 200 && code < 300)
		return ll_fail(err, errlen, "the reply from %s is not a JSON object: %s", where,
			       pe.message);
	if (code >= 200 && code < 300)
		return 0;
	if (*reply && json_object_object_get_ex(*reply, "error", &e) &&
	    json_object_object_get_ex(e, "field", &f) && json_object_object_get_ex(e, "message", &m))
		return ll_fail(err, errlen, "HTTP %ld: field '%s': %s", code, json_object_get_string(f),
			       json_object_get_string(m));
	/* a follower's words: {"error":"this manager follows; ...","leader":URL} */
	if (*reply && json_object_object_get_ex(*reply, "error", &e) &&
	    json_object_is_type(e, json_type_string))
		return ll_fail(err, errlen, "HTTP %ld: %s", code, json_object_get_string(e));
	return ll_fail(err, errlen, "HTTP %ld from %s %s%s", code, t->method, t->path,
		       code == 413 ? ": the request is too large" : "");
}

int pa_transfer_outcome(struct pa_client *c, CURL *h, struct pa_transfer *t, CURLcode rc,
			json_object **reply, long *status, char *err, size_t errlen)
{
	char why[1024], *said;
	bool next;
	int r;

	*reply = NULL;
	if (status)
		*status = 0;
	r = attempt_outcome(c, h, t, rc, reply, status, &next, why, sizeof(why));
	if (!r)
		return 0;
	if (c->nurls == 1)
		return ll_fail(err, errlen, "%s", why);
	/* a list: each manager tried is named, with what it said */
	if (asprintf(&said, "%s%s: %s", t->said ? t->said : "", c->url[t->at], why) < 0)
		return ll_fail(err, errlen, "out of memory");
	free(t->said);
	t->said = said;
	if (!next || t->tried == c->nurls)
		return ll_fail(err, errlen, "%s", t->said);
	if (asprintf(&said, "%s; ", t->said) < 0)
		return ll_fail(err, errlen, "out of memory");
	free(t->said);
	t->said = said;
	if (aim(c, h, t, (t->at + 1) % c->nurls))
		return ll_fail(err, errlen, "out of memory");
	t->tried++;
	free(t->data);
	t->data = NULL;
	t->len = 0;
	t->too_big = false;
	t->detail[0] = '\0';
	json_object_put(*reply);
	*reply = NULL;
	if (status)
		*status = 0;
	return PA_TRY_NEXT;
}

int pa_client_call(struct pa_client *c, const char *method, const char *path,
		   json_object *body, json_object **reply, long *status, char *err, size_t errlen)
{
	struct pa_transfer t;
	int rc = -1;

	*reply = NULL;
	if (status)
		*status = 0;
	if (!pa_transfer_setup(c, c->curl, &t, method, path, body, 0, err, errlen))
		do
			rc = pa_transfer_outcome(c, c->curl, &t, curl_easy_perform(c->curl), reply,
						 status, err, errlen);
		while (rc == PA_TRY_NEXT);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	pa_transfer_free(&t);
	return rc;
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
