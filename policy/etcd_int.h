/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * etcd_int.h: what etcd.c (the client, its synchronous calls) and
 * etcd_watch.c (the watch streams) share; nothing else includes it.
 */
#ifndef LUNLINK_POLICY_ETCD_INT_H
#define LUNLINK_POLICY_ETCD_INT_H

#include "etcd.h"
#include "etcd_json.h"

#include <curl/curl.h>

struct etcd_client {
	char *endpoint;			/* the current member's: "http://HOST:PORT", no
					 * trailing slash; one of endpoints[] */
	char *endpoints[ETCD_ENDPOINTS_MAX];
	size_t nendpoints, current;
	bool tls;
	char *ca_file, *cert_file, *key_file;
	long timeout_ms, connect_timeout_ms;
	CURL *easy;			/* the synchronous calls' handle */
	struct curl_slist *headers;	/* Content-Type: application/json */
	char err[ETCD_ERR_MAX];
	long http_status;
	int code;

	/* watches (etcd_watch.c): one multi handle whose sockets and timer
	 * are in one epoll set, the fd the caller's loop waits on */
	CURLM *multi;
	int epfd, timerfd;
	struct etcd_watch *watches;
};

/* The options every handle gets: TLS, timeouts, no signals, no redirects. */
void etcd_setopts(const struct etcd_client *c, CURL *h);
/* c->err: "etcd ENDPOINT PATH: " and the rest; returns ETCD_ERROR. */
int etcd_fail(struct etcd_client *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The sentence for a transfer that got no HTTP answer, into c->err. */
void etcd_transport_error(struct etcd_client *c, const char *path, CURL *h, CURLcode rc,
			  const char *detail);

int etcd_watch_setup(struct etcd_client *c);
void etcd_watch_teardown(struct etcd_client *c);

#endif
