/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * follow.h: what a manager that follows (elect.h) does with a request
 * from its own host's Unix socket: it passes it on to the leader and
 * answers with the leader's answer, so that `lunlinkctl` works on every
 * manager's host.  The local caller was admitted by its credentials
 * (root, or the socket's group) on a host that holds the cluster CA's key;
 * it reaches the leader with an admin certificate this manager issued
 * itself from that CA (state_dir/proxy.crt, "manager-NAME").
 *
 * Not passed on: a streamed reply (GET /v1/events?follow=1), which is
 * refused naming the leader.  Everything runs in the loop: the call is
 * the asynchronous client's, the request parked until it ends.
 */
#ifndef LUNLINK_POLICY_FOLLOW_H
#define LUNLINK_POLICY_FOLLOW_H

#include <event2/event.h>

#include "http.h"
#include "tls.h"

struct pf_proxy;

/* files: the CA, and the admin certificate and key (copied). */
struct pf_proxy *pf_proxy_new(struct event_base *base, const struct pa_tls_files *files,
			      char *err, size_t errlen);
/* Ends the calls under way (their requests answered 503 by the server). */
void pf_proxy_free(struct pf_proxy *p);

/* Pass r on to the leader at url ("https://HOST:PORT"); r is answered
 * (now, or when the leader answers).  */
void pf_proxy_forward(struct pf_proxy *p, const char *url, struct pa_request *r);

#endif
