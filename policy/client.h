/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * client.h: the policy API's client, for lunlinkctl and the node and host
 * agents: libcurl over mutual TLS to https://HOST:PORT, or over the
 * manager's Unix socket ("unix:/run/lunlink/api.sock"), JSON both ways.
 *
 * Errors say what failed, in the operator's words: "cannot connect to
 * 127.0.0.1:7443: connection refused", "TLS: the server's certificate is
 * not signed by the cluster CA in /etc/lunlink/ca.crt", "TLS: the server
 * refused our certificate ...: revoked", "HTTP 400: field 'size': ...".
 * The local files are checked (tls.h) before any connection, so a missing
 * key or an expired certificate is named as such.
 *
 * Several managers (issue 19: one leads, the others follow).  The URL may
 * be a list, "https://10.0.0.1:7700, https://10.0.0.2:7700" (commas
 * and/or blanks, at most PU_URLS_MAX, each checked as one; urls.h); a
 * call goes to the one that answered last, and from there along the list:
 *  - a follower answers 307 with the leader's URL in Location: curl goes
 *    there (https only, at most 3 hops) on the same handle, so with our
 *    certificate, the same method and the same body (307 keeps them;
 *    libcurl 7.88 sends a POST's body again to the new place).  The
 *    leader, if it is one of the list, is the one that answered.
 *  - a manager that cannot be reached (no connection, no TLS, a timeout,
 *    a connection that broke) or that answers 503 (a follower that knows
 *    no leader yet, or a manager that cannot take the request now:
 *    nothing was done), or whose followers send us round in circles
 *    (307 after 307), is passed for the next, each at most once a call.
 *  - any other answer ends the call: a 4xx or another 5xx may come after
 *    the request was acted on, and says so itself.
 * The error of a call that found no manager names each one tried and
 * what it said: "https://a:7700: cannot connect to a:7700: Connection
 * refused; https://b:7700: HTTP 503: no manager leads yet: ...".  With
 * one URL the sentence is the attempt's alone, as it always was.
 *
 * A request that may have been received, though no answer came (it was
 * sent, then the connection broke or the time ran out), goes on to the
 * next manager only if it is a read (GET, HEAD).  The API means a repeated
 * write to be refused or harmless (a second POST /v1/volumes is 409, a
 * report or a lease renewal is sent again at the next heartbeat anyway),
 * but not every one is: a PR OUT applied twice (POST /v1/volumes/ID/pr,
 * a REGISTER that changes the key, a PREEMPT) does not answer as once,
 * and the agent tells its initiator "it may have been applied" rather
 * than guess.  So a write is sent twice only by its caller, who knows
 * what it is; pa_acall_sent tells the agent's calls which case it was.
 */
#ifndef LUNLINK_POLICY_CLIENT_H
#define LUNLINK_POLICY_CLIENT_H

#include <event2/event.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "tls.h"

#define PA_CLIENT_REPLY_MAX	(1024 * 1024)	/* bytes of a reply we read */

struct pa_client_opts {
	const char *url;		/* "https://host:port", a list of them
					 * (above), or "unix:/path" */
	struct pa_tls_files files;	/* https: the CA, and our certificate and key
					 * (both NULL: none, for the join port);
					 * the client keeps copies of the paths */
	long timeout_ms;		/* the whole request; 0: 30 s */
	long connect_timeout_ms;	/* 0: 5 s */
};

struct pa_client;

struct pa_client *pa_client_new(const struct pa_client_opts *o, char *err, size_t errlen);
void pa_client_free(struct pa_client *c);

/*
 * METHOD path with body (may be NULL; not put).  0 on a 2xx reply, with
 * *reply its JSON (or NULL if it had none; the caller puts it).  -1
 * otherwise, with err; for an HTTP error *status is set and *reply holds
 * the server's error object if it sent one.  status may be NULL.
 */
int pa_client_call(struct pa_client *c, const char *method, const char *path,
		   json_object *body, json_object **reply, long *status, char *err, size_t errlen);

/*
 * The asynchronous client (client_async.c), for the agents: the same
 * address, TLS and JSON as pa_client, driven by the daemon's libevent
 * loop (libcurl's multi-socket interface), so that nothing waits on the
 * network; several calls may be under way at once, each on its own easy
 * handle, sharing the multi handle's connections.
 *
 * done(arg, status, reply, err) is called once per call, from the loop:
 * err NULL on a 2xx reply (reply its JSON, or NULL if it had none),
 * otherwise the sentence pa_client_call would give, with status the HTTP
 * status (0 if none came) and reply the server's error object if it sent
 * one.  reply is put after done returns (json_object_get to keep it).
 * done may start other calls, and cancel others.
 */
struct pa_aclient;
struct pa_acall;
typedef void (*pa_done_fn)(void *arg, long status, json_object *reply, const char *err);

struct pa_aclient *pa_aclient_new(struct event_base *base, const struct pa_client_opts *o,
				  char *err, size_t errlen);
/* Cancels the calls under way (their done is not called). */
void pa_aclient_free(struct pa_aclient *a);
/* Start METHOD path with body (may be NULL; copied); timeout_ms 0: the
 * client's (a long poll gives its wait and a margin).  The call, or NULL
 * with err (then done is never called). */
struct pa_acall *pa_aclient_call(struct pa_aclient *a, const char *method, const char *path,
				 json_object *body, long timeout_ms, pa_done_fn done, void *arg,
				 char *err, size_t errlen);
/* Stop a call under way (its connection is closed); done is not called.
 * From inside the call's own done it does nothing (the call is being
 * finished and is freed when done returns); after done returned the call
 * is gone: not for it. */
void pa_acall_cancel(struct pa_acall *call);
/* Calls under way. */
size_t pa_aclient_pending(const struct pa_aclient *a);
/* From inside call's own done (call is still valid there), for a call
 * that got no answer: whether its request may have been received by a
 * manager (it was sent before the failure), or surely was not (no
 * manager could be reached). */
bool pa_acall_sent(const struct pa_acall *call);

/*
 * Join the cluster through its join port at url with a token: make a key
 * (written to key_path, mode 0600), send its CSR, write the certificate to
 * cert_path.  hosts (NULL-ended, may be NULL) go into a node's certificate.
 */
int pa_client_join(const char *url, const char *ca_file, const char *token, const char *name,
		   const char *const *hosts, const char *key_path, const char *cert_path,
		   char *err, size_t errlen);

#endif
