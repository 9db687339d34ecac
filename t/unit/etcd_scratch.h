/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * etcd_scratch.h: a scratch etcd for the unit tests that talk to a real
 * one (etcd-client.c, store-etcd.c): started on 127.0.0.1 with free
 * ports, its data and log in the test's scratch folder, killed by pid.
 * Header-only, like scratch.h; include it after scratch.h.
 */
#ifndef LUNLINK_ETCD_SCRATCH_H
#define LUNLINK_ETCD_SCRATCH_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef ETCD_BIN
#define ETCD_BIN "/usr/bin/etcd"
#endif

/* SIGKILL, reaped; *pid then 0.  Nothing when *pid is not a child's. */
static __attribute__((unused)) void stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static __attribute__((unused)) long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A loopback socket bound to a free port, listening if asked; its fd. */
static __attribute__((unused)) int loopback(bool listening, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s, (struct sockaddr *)&a, &alen) || (listening && listen(s, 8))) {
		if (s >= 0)
			close(s);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return s;
}

static __attribute__((unused)) int free_port(void)
{
	int port = -1, s = loopback(false, &port);

	if (s >= 0)
		close(s);
	return port;
}

/*
 * etcd NAME with its data in dir/NAME.data, its log in dir/NAME.log
 * (appended to, so a restart's log follows the first's), on client port
 * *cport (free ports are picked when it is 0, kept when restarting) and
 * peer port *pport; tls: HTTPS with dir's server certificate, clients
 * checked against dir's CA; members: the cluster's --initial-cluster
 * ("a=http://127.0.0.1:P1,b=..."), NULL for a cluster of this one alone.
 * The pid, or -1.
 */
static __attribute__((unused)) pid_t start_etcd_member(const char *dir, const char *name, bool tls,
						       const char *members, int *cport, int *pport)
{
	char data[PATH_MAX], log[PATH_MAX], curl[64], purl[64], cluster[1024];
	char cert[PATH_MAX + 16], key[PATH_MAX + 16], ca[PATH_MAX + 24];
	pid_t pid;

	if (!*cport) {
		*cport = free_port();
		*pport = free_port();
	}
	if (*cport < 0 || *pport < 0)
		return -1;
	snprintf(data, sizeof(data), "%s/%s.data", dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	snprintf(curl, sizeof(curl), "%s://127.0.0.1:%d", tls ? "https" : "http", *cport);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", *pport);
	if (members)
		snprintf(cluster, sizeof(cluster), "%s", members);
	else
		snprintf(cluster, sizeof(cluster), "%s=%s", name, purl);
	snprintf(cert, sizeof(cert), "--cert-file=%s/server.crt", dir);
	snprintf(key, sizeof(key), "--key-file=%s/server.key", dir);
	snprintf(ca, sizeof(ca), "--trusted-ca-file=%s/ca.crt", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (tls)
			execl(ETCD_BIN, "etcd", "--name", name, "--data-dir", data,
			      "--listen-client-urls", curl, "--advertise-client-urls", curl,
			      "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
			      "--initial-cluster", cluster, cert, key, ca, "--client-cert-auth",
			      (char *)NULL);
		else
			execl(ETCD_BIN, "etcd", "--name", name, "--data-dir", data,
			      "--listen-client-urls", curl, "--advertise-client-urls", curl,
			      "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
			      "--initial-cluster", cluster, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static __attribute__((unused)) pid_t start_etcd(const char *dir, const char *name, bool tls,
						int *cport, int *pport)
{
	return start_etcd_member(dir, name, tls, NULL, cport, pport);
}

#endif
