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
 */
#ifndef LUNLINK_POLICY_CLIENT_H
#define LUNLINK_POLICY_CLIENT_H

#include <event2/event.h>
#include <json-c/json.h>
#include <stddef.h>

#include "tls.h"

#define PA_CLIENT_REPLY_MAX	(1024 * 1024)	/* bytes of a reply we read */

struct pa_client_opts {
	const char *url;		/* "https://host:port" or "unix:/path" */
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

/*
 * Join the cluster through its join port at url with a token: make a key
 * (written to key_path, mode 0600), send its CSR, write the certificate to
 * cert_path.  hosts (NULL-ended, may be NULL) go into a node's certificate.
 */
int pa_client_join(const char *url, const char *ca_file, const char *token, const char *name,
		   const char *const *hosts, const char *key_path, const char *cert_path,
		   char *err, size_t errlen);

#endif
