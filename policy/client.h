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

#include <json-c/json.h>
#include <stddef.h>

#include "tls.h"

#define PA_CLIENT_REPLY_MAX	(1024 * 1024)	/* bytes of a reply we read */

struct pa_client_opts {
	const char *url;		/* "https://host:port" or "unix:/path" */
	struct pa_tls_files files;	/* https: the CA, and our certificate and key
					 * (both NULL: none, for the join port) */
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
 * Join the cluster through its join port at url with a token: make a key
 * (written to key_path, mode 0600), send its CSR, write the certificate to
 * cert_path.  hosts (NULL-ended, may be NULL) go into a node's certificate.
 */
int pa_client_join(const char *url, const char *ca_file, const char *token, const char *name,
		   const char *const *hosts, const char *key_path, const char *cert_path,
		   char *err, size_t errlen);

#endif
