// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl_events.c: `lunlinkctl events [--follow] [--since REV]`: GET
 * /v1/events, a stream of JSON lines (one event each), read with libcurl's
 * write callback and printed line by line as it comes, not when the reply
 * ends (with --follow it never does).  The library client (client.c)
 * reads a whole reply into memory, which a stream cannot be; so this file
 * drives libcurl itself, with the client's TLS or socket settings, and
 * walks --url's list of managers as the client does (client.h): a
 * follower's redirect followed, a manager down or without a leader passed
 * for the next, as long as nothing was printed yet.
 */
#include "client.h"
#include "ctl.h"
#include "json_req.h"
#include "store.h"
#include "urls.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES	(PS_VALUE_MAX + PS_KEY_MAX + 256)	/* one event's line */

struct stream {
	struct ctl *c;
	char *line;		/* the part of a line not ended yet */
	size_t len;
	long status;		/* the HTTP status, once known */
	char *error_body;	/* a refusal's body, kept to explain it */
	size_t error_len;
	bool too_long;
	unsigned long events;
};

static void print_event(struct stream *s, const char *text, size_t len)
{
	struct pjr_err e;
	json_object *ev, *v;
	char rev[32];

	if (s->c->json) {
		fwrite(text, 1, len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		s->events++;
		return;
	}
	if (pjr_parse(text, len, &ev, &e)) {
		printf("(not an event: %.*s)\n", (int)(len > 200 ? 200 : len), text);
		return;
	}
	/* a reply that carries its events in an array, not line by line */
	if (json_object_object_get_ex(ev, "events", &v) && json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const char *t = json_object_to_json_string_ext(json_object_array_get_idx(v, i),
								      JSON_C_TO_STRING_PLAIN);

			print_event(s, t, strlen(t));
		}
		json_object_put(ev);
		return;
	}
	snprintf(rev, sizeof(rev), "%s", ctl_field(ev, "revision"));
	v = ctl_member(ev, "value");
	printf("%-8s %-6s %s%s%s\n", rev, ctl_field(ev, "type"), ctl_field(ev, "key"),
	       v ? " " : "", v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "");
	fflush(stdout);
	s->events++;
	json_object_put(ev);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t add = size * n, start = 0;
	char *nl, *nb;

	if (s->status >= 300) {
		/* a refusal: keep its body (bounded) to print its message */
		nb = realloc(s->error_body, s->error_len + add + 1);
		if (!nb || s->error_len + add > PA_CLIENT_REPLY_MAX)
			return 0;
		memcpy(nb + s->error_len, p, add);
		s->error_body = nb;
		s->error_len += add;
		nb[s->error_len] = '\0';
		return add;
	}
	while ((nl = memchr(p + start, '\n', add - start))) {
		size_t part = (size_t)(nl - (p + start));

		if (s->len) {
			if (s->len + part > LINE_MAX_BYTES) {
				s->too_long = true;
				return 0;
			}
			nb = realloc(s->line, s->len + part + 1);
			if (!nb)
				return 0;
			memcpy(nb + s->len, p + start, part);
			s->line = nb;
			if (s->len + part)
				print_event(s, s->line, s->len + part);
			s->len = 0;
		} else if (part) {
			print_event(s, p + start, part);
		}
		start += part + 1;
	}
	if (start < add) {
		if (s->len + add - start > LINE_MAX_BYTES) {
			s->too_long = true;
			return 0;
		}
		nb = realloc(s->line, s->len + add - start + 1);
		if (!nb)
			return 0;
		memcpy(nb + s->len, p + start, add - start);
		s->line = nb;
		s->len += add - start;
	}
	return add;
}

/* libcurl tells the status before the body; keep it for on_data. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t len = size * n;
	int code;

	if (len > 9 && !strncmp(p, "HTTP/", 5) && sscanf(p, "HTTP/%*s %d", &code) == 1)
		s->status = code;
	return len;
}

/* The refusal's message: "field: message" from its JSON, or the status. */
static int refused(struct stream *s)
{
	json_object *o = NULL, *e, *f, *m;
	struct pjr_err pe;
	int rc;

	if (s->error_body && !pjr_parse(s->error_body, s->error_len, &o, &pe) &&
	    json_object_object_get_ex(o, "error", &e) && json_object_object_get_ex(e, "field", &f) &&
	    json_object_object_get_ex(e, "message", &m))
		rc = ctl_fail(s->c, "%s: %s", json_object_get_string(f), json_object_get_string(m));
	else
		rc = ctl_fail(s->c, "HTTP %ld from GET /v1/events", s->status);
	json_object_put(o);
	return rc;
}

/*
 * One try at base (a manager's https://HOST:PORT, or NULL: the socket):
 * CTL_OK, or a failure said; *next when that manager could not be
 * reached or knows no leader (503) and nothing was printed, so that the
 * next of --url's list may be tried.
 */
static int stream_from(struct ctl *c, const char *base, const char *path, bool follow,
		       const struct pa_client_opts *po, bool *next)
{
	char url[PATH_MAX + 160], detail[CURL_ERROR_SIZE] = "";
	struct stream s = { .c = c };
	struct curl_slist *h = NULL;
	long os_errno = 0;
	CURL *curl = NULL;
	CURLcode cr;
	int rc = CTL_OK;

	*next = false;
	if (!(curl = curl_easy_init())) {
		rc = ctl_fail(c, "out of memory");
		goto out;
	}
	if (base) {
		snprintf(url, sizeof(url), "%s%s", base, path);
		pa_tls_curl(curl, &po->files);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
		/* a follower sends us to the leader (client.h) */
		curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
		curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	} else {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, po->url + 5);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	}
	h = curl_slist_append(h, "Accept: application/x-ndjson, application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	/* a stream that follows has no end; one that does not, a minute */
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, follow ? 0L : 60000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
	cr = curl_easy_perform(curl);
	if (s.status >= 300) {
		*next = s.status == 503 && !s.events;
		rc = refused(&s);
		goto out;
	}
	if (cr == CURLE_WRITE_ERROR && s.too_long) {
		rc = ctl_fail(c, "an event from %s is longer than %d bytes", base ? base : po->url,
			      LINE_MAX_BYTES);
		goto out;
	}
	if (cr != CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
		*next = !s.events && (cr == CURLE_COULDNT_CONNECT || cr == CURLE_COULDNT_RESOLVE_HOST ||
				      cr == CURLE_OPERATION_TIMEDOUT || cr == CURLE_SSL_CONNECT_ERROR ||
				      cr == CURLE_GOT_NOTHING || cr == CURLE_RECV_ERROR);
		if (cr == CURLE_COULDNT_CONNECT)
			rc = ctl_fail(c, "cannot connect to %s%s: %s%s", base ? "" : "the socket ",
				      base ? base : po->url + 5,
				      os_errno ? strerror((int)os_errno) : detail,
				      base ? "" : " (is lunlink-policyd running, and may this user "
				      "use its socket?)");
		else
			rc = ctl_fail(c, "the event stream from %s broke off: %s", base ? base : po->url,
				      detail[0] ? detail : curl_easy_strerror(cr));
		goto out;
	}
	if (s.len)	/* a last line without its newline */
		print_event(&s, s.line, s.len);
out:
	curl_slist_free_all(h);
	if (curl)
		curl_easy_cleanup(curl);
	free(s.line);
	free(s.error_body);
	return rc;
}

int ctl_events(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--follow", false, NULL }, { "--since", true, NULL }, { NULL } };
	struct pa_client_opts po = { .url = ctl_api_url(c) };
	struct pu_list *l = NULL;
	long long since = 0;
	char path[128], err[1024], *end;
	bool next = false;
	int rc = CTL_OK;

	if (ctl_parse(c, opts, 0, 0))
		return CTL_USAGE;
	if (opts[1].value) {
		errno = 0;
		since = strtoll(opts[1].value, &end, 10);
		if (errno || *end || end == opts[1].value || since < 0)
			return ctl_usage_error(c, "--since %s: a store revision (a whole number)",
					       opts[1].value);
	}
	/* the client's own checks of the files, with its messages */
	po.files.ca_file = c->ca ? c->ca : c->ca_default;
	po.files.cert_file = c->cert;
	po.files.key_file = c->key;
	{
		struct pa_client *probe = pa_client_new(&po, err, sizeof(err));

		if (!probe)
			return ctl_fail(c, "%s", err);
		pa_client_free(probe);
	}
	snprintf(path, sizeof(path), "/v1/events?since=%lld%s", since, opts[0].value ? "&follow=1" : "");
	if (!c->url)
		return stream_from(c, NULL, path, opts[0].value, &po, &next);
	/* --url's managers in turn, until one streams or refuses (each failure
	 * is said as it comes, on stderr) */
	l = malloc(sizeof(*l));
	if (!l || pu_split(c->url, l, err, sizeof(err))) {
		rc = ctl_fail(c, "%s", l ? err : "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->url[i]);

		if (n && l->url[i][n - 1] == '/')
			l->url[i][n - 1] = '\0';
		rc = stream_from(c, l->url[i], path, opts[0].value, &po, &next);
		if (!next)
			break;
	}
out:
	free(l);
	return rc;
}
