// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * etcd.c: the etcd client's synchronous calls (see etcd.h): each builds
 * its request (etcd_req.c), POSTs it with one reused curl easy handle
 * bounded by the client's timeout, and parses the answer whatever its
 * HTTP status, since etcd's refusals come as JSON too.  The work here is
 * the sentence when a call fails: which endpoint, which call, the HTTP
 * status, and etcd's own message and code, or what the transport said.
 * The watch streams are etcd_watch.c's.
 */
#include "etcd_int.h"
#include "tls.h"
#include "urls.h"
#include "lunlink/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An answer as it came. */
struct reply {
	char *data;
	size_t len;
	bool too_big;
	long status;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t add = size * n;
	char *nd;

	if (r->len + add > ETCD_REPLY_MAX) {
		r->too_big = true;
		return 0;
	}
	nd = realloc(r->data, r->len + add + 1);
	if (!nd)
		return 0;
	memcpy(nd + r->len, p, add);
	r->data = nd;
	r->len += add;
	r->data[r->len] = '\0';
	return add;
}

int etcd_fail(struct etcd_client *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(c->err, sizeof(c->err), "etcd %s %s: ", c->endpoint, path);
	if (n < 0 || (size_t)n >= sizeof(c->err))
		return ETCD_ERROR;
	va_start(ap, fmt);
	vsnprintf(c->err + n, sizeof(c->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return ETCD_ERROR;
}

void etcd_transport_error(struct etcd_client *c, const char *path, CURL *h, CURLcode rc,
			  const char *detail)
{
	const char *d = detail && detail[0] ? detail : curl_easy_strerror(rc);
	long os_errno = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		etcd_fail(c, path, "cannot connect: %s (is etcd running there?)",
			  os_errno ? strerror((int)os_errno) : d);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		etcd_fail(c, path, "no answer in time (%ld ms): %s", c->timeout_ms, d);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		etcd_fail(c, path, "TLS: etcd's certificate is not valid for it, or not signed by the "
			  "CA in %s: %s", c->ca_file, d);
		break;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		etcd_fail(c, path, "TLS: cannot use the certificate %s, key %s or CA %s: %s",
			  c->cert_file ? c->cert_file : "(none)", c->key_file ? c->key_file : "(none)",
			  c->ca_file, d);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		if (c->tls)
			etcd_fail(c, path, "TLS: the connection failed at or after the handshake: etcd "
				  "refused our certificate %s, or our TLS: %s",
				  c->cert_file ? c->cert_file : "(none sent)", d);
		else
			etcd_fail(c, path, "the connection failed: %s (an https:// endpoint given as "
				  "http://?)", d);
		break;
	case CURLE_PARTIAL_FILE:
		etcd_fail(c, path, "etcd closed the connection in the middle of its answer (stopped "
			  "or restarted?): %s", d);
		break;
	default:
		etcd_fail(c, path, "the request failed: %s", d);
	}
}

void etcd_setopts(const struct etcd_client *c, CURL *h)
{
	if (c->tls)
		pa_tls_curl(h, &(struct pa_tls_files){ .ca_file = c->ca_file,
							 .cert_file = c->cert_file,
							 .key_file = c->key_file });
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->tls ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	/* the gateway speaks HTTP/1.1 on a plain port; no Expect: 100 round trip */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
}

static int check_file(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "etcd's %s %s cannot be read: %s", what, path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/* pu_split refuses a list longer than PU_URLS_MAX: it fits endpoints[] */
_Static_assert(PU_URLS_MAX <= ETCD_ENDPOINTS_MAX, "a split list must fit endpoints[]");

/* The list of members' endpoints into c, each checked; the first current. */
static int endpoints(struct etcd_client *c, const char *list, char *err, size_t errlen)
{
	struct pu_list *l = malloc(sizeof(*l));
	int rc = -1;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!list || pu_split(list, l, err, errlen)) {
		if (!list)
			snprintf(err, errlen, "no endpoint given for etcd");
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		char *ep = l->url[i];
		bool tls = !strncmp(ep, "https://", 8);
		size_t n = strlen(ep);

		if ((!tls && strncmp(ep, "http://", 7)) || !ep[tls ? 8 : 7]) {
			snprintf(err, errlen, "etcd's endpoint '%s' is neither http://HOST:PORT nor "
				 "https://HOST:PORT", ep);
			goto out;
		}
		if (n > 256) {
			snprintf(err, errlen, "etcd's endpoint is longer than 256 bytes: %.40s...", ep);
			goto out;
		}
		if (i && tls != c->tls) {
			snprintf(err, errlen, "etcd's endpoints %s and %s are not all http:// or all "
				 "https://", c->endpoints[0], ep);
			goto out;
		}
		c->tls = tls;
		while (n && ep[n - 1] == '/')
			ep[--n] = '\0';
		c->endpoints[i] = strdup(ep);
		if (!c->endpoints[i]) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		c->nendpoints = i + 1;
	}
	c->endpoint = c->endpoints[0];
	rc = 0;
out:
	free(l);
	return rc;
}

void etcd_next_endpoint(struct etcd_client *c)
{
	c->current = (c->current + 1) % c->nendpoints;
	c->endpoint = c->endpoints[c->current];
}

void etcd_free(struct etcd_client *c)
{
	if (!c)
		return;
	etcd_watch_teardown(c);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	for (size_t i = 0; i < c->nendpoints; i++)
		free(c->endpoints[i]);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}

struct etcd_client *etcd_new(const struct etcd_opts *o, char *err, size_t errlen)
{
	struct etcd_client *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->epfd = c->timerfd = -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(err, errlen, "cannot initialize libcurl");
		goto err;
	}
	if (endpoints(c, o->endpoint, err, errlen))
		goto err;
	if (c->tls) {
		if (!o->ca_file) {
			snprintf(err, errlen, "etcd's endpoint %s is https but no CA certificate is given "
				 "to check it", c->endpoint);
			goto err;
		}
		if (!o->cert_file != !o->key_file) {
			snprintf(err, errlen, "a client certificate for etcd needs its key and a key its "
				 "certificate: %s given alone", o->cert_file ? o->cert_file : o->key_file);
			goto err;
		}
		if (check_file("CA certificate", o->ca_file, err, errlen) ||
		    (o->cert_file && (check_file("client certificate", o->cert_file, err, errlen) ||
				      check_file("client key", o->key_file, err, errlen))))
			goto err;
		c->ca_file = strdup(o->ca_file);
		c->cert_file = o->cert_file ? strdup(o->cert_file) : NULL;
		c->key_file = o->key_file ? strdup(o->key_file) : NULL;
		if (!c->ca_file || (o->cert_file && (!c->cert_file || !c->key_file)))
			goto oom;
	} else if (o->ca_file || o->cert_file || o->key_file) {
		snprintf(err, errlen, "TLS files are given for etcd but its endpoint %s is not https://",
			 c->endpoint);
		goto err;
	}
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 2000;
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (c->headers)
		c->headers = curl_slist_append(c->headers, "Expect:");
	c->easy = curl_easy_init();
	if (!c->headers || !c->easy)
		goto oom;
	etcd_setopts(c, c->easy);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	if (etcd_watch_setup(c)) {
		snprintf(err, errlen, "%s", c->err);
		goto err;
	}
	return c;
oom:
	snprintf(err, errlen, "out of memory");
err:
	etcd_free(c);
	return NULL;
}

const char *etcd_error(const struct etcd_client *c)
{
	return c->err;
}

const char *etcd_endpoint(const struct etcd_client *c)
{
	return c->endpoint;
}

void etcd_last_status(const struct etcd_client *c, long *http_status, int *code)
{
	if (http_status)
		*http_status = c->http_status;
	if (code)
		*code = c->code;
}

/* One POST of body to path on the current member, within timeout_ms. */
static CURLcode perform(struct etcd_client *c, const char *path, const char *body,
			long timeout_ms, struct reply *r, char *detail)
{
	char url[512];
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", c->endpoint, path);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	detail[0] = '\0';
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, detail);
	rc = curl_easy_perform(c->easy);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, NULL);
	return rc;
}

/* Nothing of the request went out: it could not connect (or resolve). */
static bool not_sent(CURL *h, CURLcode rc)
{
	long sent = 0;

	if (rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST &&
	    rc != CURLE_OPERATION_TIMEDOUT)
		return false;
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
	return sent == 0;
}

/*
 * POST body (freed here; NULL: building it failed, err says why) to path,
 * on the current member, and on the next ones while none could be
 * connected to (etcd.h), all within the client's timeout.  0 with *r the
 * answer, whatever its status; ETCD_ERROR with c->err if no answer came.
 */
static int post(struct etcd_client *c, const char *path, char *body, const char *build_err,
		struct reply *r)
{
	char detail[CURL_ERROR_SIZE];
	long long end = ll_mono_ms() + c->timeout_ms;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	c->http_status = 0;
	c->code = 0;
	if (!body)
		return etcd_fail(c, path, "%s", build_err);
	rc = perform(c, path, body, c->timeout_ms, r, detail);
	for (size_t tried = 1; rc != CURLE_OK && tried < c->nendpoints &&
	     not_sent(c->easy, rc) && end - ll_mono_ms() >= 50; tried++) {
		free(r->data);
		memset(r, 0, sizeof(*r));
		etcd_next_endpoint(c);
		rc = perform(c, path, body, (long)(end - ll_mono_ms()), r, detail);
	}
	free(body);
	if (rc == CURLE_WRITE_ERROR && r->too_big) {
		free(r->data);
		return etcd_fail(c, path, "the answer is larger than %d bytes", ETCD_REPLY_MAX);
	}
	if (rc != CURLE_OK) {
		free(r->data);
		etcd_transport_error(c, path, c->easy, rc, detail);
		if (c->nendpoints > 1) {
			size_t n = strlen(c->err);

			snprintf(c->err + n, sizeof(c->err) - n, "%s", not_sent(c->easy, rc) ?
				 " (nor could any other member of the list be reached in time)" :
				 " (the next call goes to the next member of the list)");
			etcd_next_endpoint(c);
		}
		return ETCD_ERROR;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r->status);
	c->http_status = r->status;
	return 0;
}

/*
 * The outcome of parsing an answer: rc as the parser gave it, the error
 * sentence composed when it is not ETCD_OK.  An answer parsed as a
 * success under a status other than 2xx is not believed.
 */
static int settle(struct etcd_client *c, const char *path, struct reply *r, int rc,
		  const struct etcd_perr *e)
{
	bool ok_status = r->status >= 200 && r->status < 300;

	if (rc == ETCD_OK && !ok_status)
		rc = etcd_fail(c, path, "HTTP %ld with an answer that is not an error", r->status);
	else if (rc != ETCD_OK && e->code)
		etcd_fail(c, path, "HTTP %ld: %s", r->status, e->message);
	else if (rc != ETCD_OK && ok_status)
		etcd_fail(c, path, "%s", e->message);
	else if (rc != ETCD_OK)
		etcd_fail(c, path, "HTTP %ld: %.*s%s", r->status, r->len > 200 ? 200 : (int)r->len,
			  r->data ? r->data : "", r->len ? "" : "(no body)");
	if (rc != ETCD_OK)
		c->code = e->code;
	if (rc != ETCD_OK && c->code == ETCD_CODE_UNAVAILABLE && c->nendpoints > 1)
		etcd_next_endpoint(c);
	free(r->data);
	r->data = NULL;
	return rc;
}

int etcd_status(struct etcd_client *c, struct etcd_status *out)
{
	static const char path[] = "/v3/maintenance/status";
	struct etcd_perr e = { 0 };
	struct reply r;

	memset(out, 0, sizeof(*out));
	if (post(c, path, strdup("{}"), "out of memory", &r))
		return ETCD_ERROR;
	return settle(c, path, &r, etcd_parse_status(r.data, r.len, out, &e), &e);
}

int etcd_range(struct etcd_client *c, const struct etcd_range_req *req, struct etcd_range *out)
{
	static const char path[] = "/v3/kv/range";
	struct etcd_perr e = { 0 };
	char why[ETCD_ERR_MAX];
	struct reply r;

	memset(out, 0, sizeof(*out));
	if (post(c, path, etcd_req_range(req, why, sizeof(why)), why, &r))
		return ETCD_ERROR;
	return settle(c, path, &r, etcd_parse_range(r.data, r.len, out, &e), &e);
}

int etcd_put(struct etcd_client *c, const char *key, size_t key_len, const char *value,
	     size_t value_len, int64_t lease, int64_t *revision)
{
	static const char path[] = "/v3/kv/put";
	struct etcd_perr e = { 0 };
	struct etcd_header h;
	char why[ETCD_ERR_MAX];
	struct reply r;
	int rc;

	if (post(c, path, etcd_req_put(key, key_len, value, value_len, lease, why, sizeof(why)), why,
		 &r))
		return ETCD_ERROR;
	rc = settle(c, path, &r, etcd_parse_put(r.data, r.len, &h, &e), &e);
	if (rc == ETCD_OK && revision)
		*revision = h.revision;
	return rc;
}

int etcd_delete(struct etcd_client *c, const struct etcd_keys *keys, int64_t *deleted,
		int64_t *revision)
{
	static const char path[] = "/v3/kv/deleterange";
	struct etcd_perr e = { 0 };
	struct etcd_header h;
	char why[ETCD_ERR_MAX];
	struct reply r;
	int64_t n;
	int rc;

	if (post(c, path, etcd_req_delete(keys, why, sizeof(why)), why, &r))
		return ETCD_ERROR;
	rc = settle(c, path, &r, etcd_parse_delete(r.data, r.len, &h, &n, &e), &e);
	if (rc == ETCD_OK && deleted)
		*deleted = n;
	if (rc == ETCD_OK && revision)
		*revision = h.revision;
	return rc;
}

int etcd_txn(struct etcd_client *c, const struct etcd_txn *txn, struct etcd_txn_result *res)
{
	static const char path[] = "/v3/kv/txn";
	struct etcd_perr e = { 0 };
	char why[ETCD_ERR_MAX];
	struct reply r;
	int rc;

	memset(res, 0, sizeof(*res));
	if (post(c, path, etcd_req_txn(txn, why, sizeof(why)), why, &r))
		return ETCD_ERROR;
	rc = settle(c, path, &r, etcd_parse_txn(r.data, r.len, res, &e), &e);
	if (rc != ETCD_OK)
		return rc;
	/* one result per op of the branch taken, or the answer is not ours */
	if (res->nops != (res->succeeded ? txn->nsuccess : txn->nfailure)) {
		etcd_fail(c, path, "the answer has %zu op results for a branch of %zu ops", res->nops,
			  res->succeeded ? txn->nsuccess : txn->nfailure);
		etcd_txn_result_free(res);
		return ETCD_ERROR;
	}
	return ETCD_OK;
}

int etcd_compact(struct etcd_client *c, int64_t revision, bool physical)
{
	static const char path[] = "/v3/kv/compaction";
	struct etcd_perr e = { 0 };
	struct etcd_header h;
	struct reply r;
	char *body = NULL;

	if (asprintf(&body, "{\"revision\":\"%" PRId64 "\"%s}", revision,
		     physical ? ",\"physical\":true" : "") < 0)
		body = NULL;
	if (post(c, path, body, "out of memory", &r))
		return ETCD_ERROR;
	return settle(c, path, &r, etcd_parse_header_only(r.data, r.len, &h, &e), &e);
}

int etcd_lease_grant(struct etcd_client *c, int64_t ttl, int64_t id, int64_t *out_id,
		     int64_t *granted_ttl)
{
	static const char path[] = "/v3/lease/grant";
	struct etcd_perr e = { 0 };
	struct reply r;
	char *body = NULL;
	int64_t got_id, got_ttl;
	int rc;

	if (ttl <= 0 || id < 0)
		return etcd_fail(c, path, "a lease needs a positive TTL (%" PRId64 ") and an ID of 0 "
				 "or more (%" PRId64 ")", ttl, id);
	if (asprintf(&body, "{\"TTL\":\"%" PRId64 "\",\"ID\":\"%" PRId64 "\"}", ttl, id) < 0)
		body = NULL;
	if (post(c, path, body, "out of memory", &r))
		return ETCD_ERROR;
	rc = settle(c, path, &r, etcd_parse_lease_grant(r.data, r.len, &got_id, &got_ttl, &e), &e);
	if (rc == ETCD_OK && out_id)
		*out_id = got_id;
	if (rc == ETCD_OK && granted_ttl)
		*granted_ttl = got_ttl;
	return rc;
}

int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl)
{
	static const char path[] = "/v3/lease/keepalive";
	struct etcd_perr e = { 0 };
	struct reply r;
	char *body = NULL;
	int64_t t;
	int rc;

	/* a bidirectional stream in gRPC; through the gateway one request
	 * body is one renewal, answered with one {"result":...} */
	if (asprintf(&body, "{\"ID\":\"%" PRId64 "\"}", id) < 0)
		body = NULL;
	if (post(c, path, body, "out of memory", &r))
		return ETCD_ERROR;
	rc = settle(c, path, &r, etcd_parse_lease_keepalive(r.data, r.len, &t, &e), &e);
	if (rc == ETCD_NOT_FOUND)
		etcd_fail(c, path, "lease %" PRId64 " is not found: it expired or was revoked", id);
	if (rc == ETCD_OK && ttl)
		*ttl = t;
	return rc;
}

int etcd_lease_revoke(struct etcd_client *c, int64_t id, int64_t *revision)
{
	static const char path[] = "/v3/lease/revoke";
	struct etcd_perr e = { 0 };
	struct etcd_header h;
	struct reply r;
	char *body = NULL;
	int rc;

	if (asprintf(&body, "{\"ID\":\"%" PRId64 "\"}", id) < 0)
		body = NULL;
	if (post(c, path, body, "out of memory", &r))
		return ETCD_ERROR;
	rc = settle(c, path, &r, etcd_parse_header_only(r.data, r.len, &h, &e), &e);
	if (rc == ETCD_OK && revision)
		*revision = h.revision;
	return rc;
}

int etcd_lease_ttl(struct etcd_client *c, int64_t id, int64_t *remaining, int64_t *granted)
{
	static const char path[] = "/v3/lease/timetolive";
	struct etcd_perr e = { 0 };
	struct reply r;
	char *body = NULL;
	int64_t left, g;
	int rc;

	if (asprintf(&body, "{\"ID\":\"%" PRId64 "\"}", id) < 0)
		body = NULL;
	if (post(c, path, body, "out of memory", &r))
		return ETCD_ERROR;
	rc = settle(c, path, &r, etcd_parse_lease_ttl(r.data, r.len, &left, &g, &e), &e);
	if (rc == ETCD_NOT_FOUND)
		etcd_fail(c, path, "lease %" PRId64 " is not found: it expired or was revoked", id);
	if (rc == ETCD_OK && remaining)
		*remaining = left;
	if (rc == ETCD_OK && granted)
		*granted = g;
	return rc;
}
