// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * follow.c: a follower passes its local callers' requests on to the
 * leader; follow.h says why and how.
 */
#include "follow.h"

#include "client.h"
#include "lunlink/errmsg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PF_TIMEOUT_MS	60000	/* a long poll's wait (30 s at most) and a margin */

struct pf_call {
	struct pf_proxy *p;
	struct pa_request *parked;
	struct pa_acall *call;
	struct pf_call *prev, *next;
};

struct pf_proxy {
	struct event_base *base;
	struct pa_tls_files files;
	char url[300];			/* the leader the client is aimed at */
	struct pa_aclient *client;
	struct pf_call *calls;
};

static void unlink_call(struct pf_call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->p->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* The local caller went away: the leader's answer is not wanted. */
static void on_gone(void *arg)
{
	struct pf_call *c = arg;

	unlink_call(c);
	if (c->call)
		pa_acall_cancel(c->call);
	free(c);
}

static void on_done(void *arg, long status, json_object *reply, const char *err)
{
	struct pf_call *c = arg;
	struct pa_request *r = c->parked;

	unlink_call(c);
	c->call = NULL;
	if (!err) {
		pa_reply_json(r, status >= 200 && status < 300 ? (int)status : 200,
			      reply ? json_object_get(reply) : json_object_new_object());
	} else if (status && reply) {
		pa_reply_json(r, (int)status, json_object_get(reply));
	} else {
		pa_reply_error(r, 502, "caller", "this manager follows and passed the request on to "
			       "the leader at %s, which did not answer: %s", c->p->url, err);
	}
	pa_parked_free(r);
	free(c);
}

void pf_proxy_forward(struct pf_proxy *p, const char *url, struct pa_request *r)
{
	struct pa_client_opts co = { .url = url, .files = p->files, .timeout_ms = PF_TIMEOUT_MS,
				     .connect_timeout_ms = 1500 };	/* a leader cut off */
	const char *q = pa_request_query(r);
	json_object *body = NULL;
	struct pf_call *c;
	char path[2048], err[512];

	if (q && strstr(q, "follow=")) {
		pa_reply_error(r, 503, "caller", "this manager follows: a followed stream is not "
			       "passed on; run it on the leader, at %s", url);
		return;
	}
	if (strcmp(p->url, url) || !p->client) {	/* a new leader: a client aimed at it */
		if (p->client && p->calls) {
			pa_reply_error(r, 503, "caller", "this manager follows, and the leader "
				       "changed while requests were under way: try again");
			return;
		}
		pa_aclient_free(p->client);
		snprintf(p->url, sizeof(p->url), "%s", url);
		p->client = pa_aclient_new(p->base, &co, err, sizeof(err));
		if (!p->client) {
			pa_reply_error(r, 502, "caller", "this manager follows and cannot reach the "
				       "leader at %s: %s", url, err);
			return;
		}
	}
	snprintf(path, sizeof(path), "%s%s%s", r->path, q ? "?" : "", q ? q : "");
	if (r->body_len && !(body = json_tokener_parse(r->body))) {
		pa_reply_error(r, 400, "body", "the request body is not JSON");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		json_object_put(body);
		pa_reply_error(r, 500, "body", "out of memory");
		return;
	}
	c->p = p;
	c->call = pa_aclient_call(p->client, r->method, path, body, PF_TIMEOUT_MS, on_done, c,
				  err, sizeof(err));
	json_object_put(body);
	if (!c->call) {
		free(c);
		pa_reply_error(r, 502, "caller", "this manager follows and cannot pass the request "
			       "on to the leader at %s: %s", url, err);
		return;
	}
	c->parked = pa_request_park(r, on_gone, c);
	if (!c->parked) {	/* answered 500 by the server */
		pa_acall_cancel(c->call);
		free(c);
		return;
	}
	c->next = p->calls;
	if (p->calls)
		p->calls->prev = c;
	p->calls = c;
}

struct pf_proxy *pf_proxy_new(struct event_base *base, const struct pa_tls_files *files,
			      char *err, size_t errlen)
{
	struct pf_proxy *p = calloc(1, sizeof(*p));

	if (!p) {
		ll_fail(err, errlen, "out of memory");
		return NULL;
	}
	p->base = base;
	p->files.ca_file = strdup(files->ca_file);
	p->files.cert_file = strdup(files->cert_file);
	p->files.key_file = strdup(files->key_file);
	if (!p->files.ca_file || !p->files.cert_file || !p->files.key_file) {
		pf_proxy_free(p);
		ll_fail(err, errlen, "out of memory");
		return NULL;
	}
	return p;
}

void pf_proxy_free(struct pf_proxy *p)
{
	if (!p)
		return;
	while (p->calls) {
		struct pf_call *c = p->calls;

		unlink_call(c);
		pa_acall_cancel(c->call);
		pa_parked_free(c->parked);	/* answered 503 */
		free(c);
	}
	pa_aclient_free(p->client);
	free((char *)p->files.ca_file);
	free((char *)p->files.cert_file);
	free((char *)p->files.key_file);
	free(p);
}
