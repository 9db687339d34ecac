/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * client_int.h: what the blocking client (client.c) and the asynchronous
 * one (client_async.c) share, so that a request is set up, and its
 * outcome put in words, in one place for both: the address and TLS files
 * (struct pa_client), the curl options of a handle (pa_client_setopts),
 * one request's buffers (struct pa_transfer), and the walk along a list
 * of managers (pa_transfer_outcome: the next one, or the end).
 */
#ifndef LUNLINK_POLICY_CLIENT_INT_H
#define LUNLINK_POLICY_CLIENT_INT_H

#include "client.h"
#include "urls.h"

#include <curl/curl.h>
#include <stdbool.h>

struct pa_client {
	CURL *curl;		/* the blocking client's handle (NULL in the async one) */
	char *url[PU_URLS_MAX];	/* as given: "https://host:port" or "unix:/path" */
	char *base[PU_URLS_MAX];	/* "https://host:port" or "http://localhost" */
	char *where[PU_URLS_MAX];	/* "host:port" or "the socket /path", for messages */
	size_t nurls;
	size_t last;		/* the one that answered last: calls start there */
	char *unix_path;
	struct pa_tls_files files;
	bool tls;
	long timeout_ms, connect_timeout_ms;
};

/* One request: its URL, headers and body, and the reply as it comes;
 * with a list of managers, the one it is at and what the others said. */
struct pa_transfer {
	char *url;
	size_t at;			/* c->base[at] is this attempt's */
	size_t tried;			/* attempts so far, this one counted */
	char *said;			/* "URL: why; " of each attempt before, or NULL */
	char *body;			/* the request's JSON text, or NULL */
	struct curl_slist *headers;
	char method[8];
	char *path;			/* "/v1/...", after the base */
	char detail[CURL_ERROR_SIZE];
	char *data;			/* the reply */
	size_t len;
	bool too_big;
	bool sent;			/* the last attempt may have been received */
	bool wrote;			/* this attempt wrote a request (any hop, any
					 * of libcurl's own retries on a reused
					 * connection): curl's debug callback */
};

/* Fill c from o (the address, the TLS files checked): 0, or -1 with err.
 * c->curl is left to the caller. */
int pa_client_init(struct pa_client *c, const struct pa_client_opts *o, char *err, size_t errlen);
void pa_client_clear(struct pa_client *c);
/* The one place where a handle gets the client's options: TLS (the
 * cluster CA, our certificate, peer and host verified, TLS 1.2 at least)
 * or the Unix socket, the protocols, the timeouts, the reply's sink. */
void pa_client_setopts(const struct pa_client *c, CURL *h);
/* Set h up for METHOD path with body (copied into t; may be NULL);
 * timeout_ms 0: the client's.  0, or -1 with err. */
int pa_transfer_setup(const struct pa_client *c, CURL *h, struct pa_transfer *t,
		      const char *method, const char *path, json_object *body, long timeout_ms,
		      char *err, size_t errlen);
/*
 * The outcome of h's transfer that ended with rc, as pa_client_call says
 * it (client.h): 0 or -1, the end of the call; or PA_TRY_NEXT, this
 * manager did not take the request (down, no leader yet) and another of
 * the list is left: h and t are set for it, run h again.
 */
#define PA_TRY_NEXT	1
int pa_transfer_outcome(struct pa_client *c, CURL *h, struct pa_transfer *t, CURLcode rc,
			json_object **reply, long *status, char *err, size_t errlen);
void pa_transfer_free(struct pa_transfer *t);

#endif
