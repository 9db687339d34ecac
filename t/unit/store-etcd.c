// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/store-etcd.c: the policy store's etcd backend (policy/store_etcd.c)
 * against a real etcd, started here on 127.0.0.1 with free ports and a
 * data dir in the scratch folder, killed by its pid at the end.  Two parts:
 *
 *   - the store contract, t/unit/store.t (store-contract.c) run with
 *     LUNLINK_TEST_STORE=etcd://127.0.0.1:PORT, each of its results
 *     reported here as one of ours, so both backends pass one suite;
 *   - what only etcd does: URIs refused by name, a dead endpoint and one
 *     that never answers failing within the timeout with a sentence that
 *     names them, etcd's own clock expiring a lease and deleting its key
 *     (ps_lease_expire doing nothing), a compaction by another handle
 *     found by ps_revision.
 *
 * Skipped, saying so, without /usr/bin/etcd.
 */
#include "store.h"

#include "scratch.h"
#include "tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef ETCD_BIN
#define ETCD_BIN "/usr/bin/etcd"
#endif

static pid_t etcd_pid;
static char uri[96];

static void stop_etcd(void)
{
	if (etcd_pid > 0) {
		kill(etcd_pid, SIGKILL);
		waitpid(etcd_pid, NULL, 0);
		etcd_pid = 0;
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A loopback socket bound to a free port, listening if asked; its fd. */
static int loopback(bool listening, int *port)
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

static int free_port(void)
{
	int port = -1, s = loopback(false, &port);

	if (s >= 0)
		close(s);
	return port;
}

static pid_t start_etcd(const char *dir, int *cport)
{
	char data[PATH_MAX], log[PATH_MAX], curl[64], purl[64], cluster[96];
	int pport = free_port();
	pid_t pid;

	*cport = free_port();
	if (*cport < 0 || pport < 0)
		return -1;
	snprintf(data, sizeof(data), "%s/etcd.data", dir);
	snprintf(log, sizeof(log), "%s/etcd.log", dir);
	snprintf(curl, sizeof(curl), "http://127.0.0.1:%d", *cport);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", pport);
	snprintf(cluster, sizeof(cluster), "store=%s", purl);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(ETCD_BIN, "etcd", "--name", "store", "--data-dir", data,
		      "--listen-client-urls", curl, "--advertise-client-urls", curl,
		      "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
		      "--initial-cluster", cluster, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Until the store opens, at most 20 s. */
static struct ps_store *open_when_ready(void)
{
	long long end = now_ms() + 20000;
	struct ps_store *st = NULL;
	char err[PS_ERR_MAX];

	while (now_ms() < end) {
		if (!ps_open(uri, &st, err, sizeof(err)))
			return st;
		if (waitpid(etcd_pid, NULL, WNOHANG) == etcd_pid) {
			etcd_pid = 0;
			break;
		}
		usleep(100000);
	}
	diag("last: %s", err);
	return NULL;
}

/* ---- the contract, run as a child and reported here -------------------------------- */

static void run_contract(const char *self)
{
	char path[PATH_MAX], copy[PATH_MAX], line[4096];
	int fds[2], status = 0, results = 0;
	unsigned int plan = 0;
	FILE *in;
	pid_t pid;

	snprintf(copy, sizeof(copy), "%s", self);
	snprintf(path, sizeof(path), "%s/store.t", dirname(copy));
	if (!ok(access(path, X_OK) == 0, "the contract suite %s is built", path) || pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		setenv("LUNLINK_TEST_STORE", uri, 1);
		execl(path, "store.t", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && fgets(line, sizeof(line), in)) {
		char *desc;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "ok ", 3) || !strncmp(line, "not ok ", 7)) {
			bool pass = line[0] == 'o';

			desc = strstr(line, " - ");
			results++;
			ok(pass, "contract: %s", desc ? desc + 3 : line);
		} else if (sscanf(line, "1..%u", &plan) == 1) {
			continue;
		} else if (line[0] == '#') {
			printf("%s\n", line);
		} else {
			diag("contract says: %s", line);
		}
	}
	if (in)
		fclose(in);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the contract suite exits 0 (status %d)",
	   status);
	ok(plan > 0 && (unsigned int)results == plan, "  and ran its whole plan (%d of %u)", results,
	   plan);
}

/* ---- what only etcd does ------------------------------------------------------------ */

static void test_uris(void)
{
	static const struct { const char *uri, *says, *name; } bad[] = {
		{ "etcd:127.0.0.1:2379", "expected etcd://HOST:PORT", "no //" },
		{ "etcd://127.0.0.1", "expected etcd://HOST:PORT", "no port" },
		{ "etcd://127.0.0.1:0", "port '0' is not 1..65535", "port 0" },
		{ "etcd://127.0.0.1:2379/prefix", "expected etcd://HOST:PORT", "a path" },
		{ "etcd://127.0.0.1:2379?ca=/x", "option 'ca' is for TLS: write etcds://", "a CA with etcd://" },
		{ "etcd://127.0.0.1:2379?timeout=0", "timeout '0' is not 1..", "a timeout of 0" },
		{ "etcd://127.0.0.1:2379?color=red", "unknown option 'color' (known: ca, cert, key, timeout)",
		  "an unknown option" },
		{ "etcds://127.0.0.1:2379", "etcds needs ?ca=FILE", "etcds without a CA" },
		{ "etcds://127.0.0.1:2379?ca=/nonexistent/ca.crt", "/nonexistent/ca.crt cannot be read",
		  "an unreadable CA" },
		{ "etcds://127.0.0.1:2379?ca=/dev/null&cert=/dev/null", "needs its key",
		  "a certificate without its key" },
	};
	struct ps_store *st;
	char err[PS_ERR_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(ps_open(bad[i].uri, &st, err, sizeof(err)), PS_ERROR, "URI refused: %s",
		       bad[i].name);
		like(err, bad[i].says, "  saying so");
	}
}

static void test_dead(void)
{
	char u[96], err[PS_ERR_MAX];
	struct ps_store *st;
	long long t0;
	int port = free_port(), mute;

	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d?timeout=1500", port);
	t0 = now_ms();
	is_int(ps_open(u, &st, err, sizeof(err)), PS_ERROR, "nothing listening: refused");
	ok(now_ms() - t0 < 1500, "  at once (%lld ms)", now_ms() - t0);
	like(err, "http://127.0.0.1:", "  naming the endpoint");
	like(err, "cannot connect", "  and what failed: %s", err);

	/* a peer that takes the connection and never answers */
	mute = loopback(true, &port);
	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d?timeout=1500", port);
	t0 = now_ms();
	is_int(ps_open(u, &st, err, sizeof(err)), PS_ERROR, "a peer that never answers: refused");
	ok(now_ms() - t0 >= 1400 && now_ms() - t0 < 4000, "  after the timeout, not a hang (%lld ms)",
	   now_ms() - t0);
	like(err, "no answer in time (1500 ms)", "  saying so: %s", err);
	if (mute >= 0)
		close(mute);
}

/* etcd's clock expires a lease: its key goes, a watch sees the DELETE. */
static void test_expiry(struct ps_store *st)
{
	struct ps_watch *w = NULL;
	struct ps_event ev[4];
	struct ps_kv kv;
	int64_t id = 0, expired = -1, left;
	long long end;
	int n = 0, rc;

	is_int(ps_lease_grant(st, 2, &id), 0, "grant a lease of 2 s");
	is_int(ps_put(st, "/lunlink-etcd/expiring", "x", 1, id, NULL), 0, "  a key on it");
	is_int(ps_watch_open(st, "/lunlink-etcd/", 0, &w), 0, "  watched");
	is_int(ps_lease_expire(st, ps_now_ms() + 3600 * 1000, &expired), 0,
	       "ps_lease_expire an hour ahead");
	is_int(expired, 0, "  expires nothing: etcd's clock does");
	is_int(ps_get(st, "/lunlink-etcd/expiring", &kv), 0, "  the key is still there");
	ps_kv_free(&kv);
	end = now_ms() + 10000;
	while ((rc = ps_get(st, "/lunlink-etcd/expiring", &kv)) == 0 && now_ms() < end) {
		ps_kv_free(&kv);
		usleep(200000);
	}
	is_int(rc, PS_NOT_FOUND, "etcd expires the lease and deletes its key within 10 s");
	is_int(ps_lease_ttl(st, id, &left, NULL), PS_NOT_FOUND, "  the lease is not found");
	if (w) {
		n = ps_watch_next(st, w, ev, 4);
		ok(n == 1 && ev[0].type == PS_EVENT_DELETE &&
		   !strcmp(ev[0].kv.key, "/lunlink-etcd/expiring"), "  the watch sees its DELETE");
		if (n > 0)
			ps_events_free(ev, (size_t)n);
		ps_watch_close(st, w);
	}
}

/* A compaction made through another handle is found by ps_revision. */
static void test_compacted_elsewhere(struct ps_store *st)
{
	struct ps_store *other = NULL;
	int64_t rev = 0, compacted = -1, target;
	char err[PS_ERR_MAX];

	for (int i = 0; i < 20; i++)
		ps_put(st, "/lunlink-etcd/churn", "c", 1, 0, &rev);
	is_int(ps_open(uri, &other, err, sizeof(err)), 0, "a second handle");
	if (!other)
		return;
	ps_revision(st, NULL, &compacted);
	target = rev - 7;
	ok(compacted < target, "  before: compacted at %lld", (long long)compacted);
	is_int(ps_compact(other, target), 0, "the second handle compacts to %lld", (long long)target);
	is_int(ps_revision(st, &rev, &compacted), 0, "the first asks its revisions");
	is_int(compacted, target, "  it finds the compacted revision");
	is_int(ps_compact(st, target - 3), PS_COMPACTED, "compacting before it: PS_COMPACTED");
	like(ps_error(st), "compacted", "  saying so: %s", ps_error(st));
	ps_close(other);
}

int main(int argc, char **argv)
{
	const char *dir;
	struct ps_store *st;
	int port;

	signal(SIGPIPE, SIG_IGN);
	if (access(ETCD_BIN, X_OK)) {
		printf("1..0 # SKIP %s is not installed (apt-get install etcd-server)\n", ETCD_BIN);
		return 0;
	}
	test_uris();
	test_dead();
	dir = scratch_dir("store-etcd");
	atexit(stop_etcd);
	etcd_pid = start_etcd(dir, &port);
	ok(etcd_pid > 0, "etcd started on 127.0.0.1:%d (log: %s/etcd.log)", port, dir);
	snprintf(uri, sizeof(uri), "etcd://127.0.0.1:%d", port);
	st = open_when_ready();
	if (!ok(st != NULL, "the store %s opens", uri))
		return done_testing();
	is_str(ps_backend_name(st), "etcd", "  backend etcd");
	test_expiry(st);
	test_compacted_elsewhere(st);
	ps_delete(st, "/lunlink-etcd/", true, NULL, NULL);
	ps_close(st);
	run_contract(argv[0]);
	return done_testing();
}
