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
 *     found by ps_revision and cancelling a watch left behind, a watch going on across an etcd restart, and
 *     etcds:// with client certificates (with the openssl tool).
 *
 * Skipped, saying so, without /usr/bin/etcd.
 */
#include "store.h"

#include "etcd_scratch.h"
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

static pid_t etcd_pid, tls_pid, member_pid[3];
static char uri[96];

static void stop_etcd(void)
{
	stop(&etcd_pid);
	stop(&tls_pid);
	for (int i = 0; i < 3; i++)
		stop(&member_pid[i]);
}

/* Until the store at u opens, at most 20 s. */
static struct ps_store *open_when_ready(const char *u, pid_t *pid)
{
	long long end = now_ms() + 20000;
	struct ps_store *st = NULL;
	char err[PS_ERR_MAX];

	while (now_ms() < end) {
		if (!ps_open(u, &st, err, sizeof(err)))
			return st;
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			break;
		}
		usleep(100000);
	}
	diag("last: %s", err);
	return NULL;
}

/* Until w brings want events, as a loop would: waiting on the notify fd. */
static int collect(struct ps_store *st, struct ps_watch *w, struct ps_event *ev, size_t want,
		   int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	size_t got = 0;
	int n = 0;

	while (got < want && now_ms() < end) {
		struct pollfd p = { .fd = ps_notify_fd(st), .events = POLLIN };

		poll(&p, 1, (int)(end - now_ms()));
		ps_poll(st);
		n = ps_watch_next(st, w, ev + got, want - got);
		if (n < 0)
			return got ? (int)got : n;
		got += (size_t)n;
	}
	return (int)got;
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
		{ "etcd://127.0.0.1:2379,,127.0.0.1:2380", "expected etcd://HOST:PORT[,HOST:PORT...]",
		  "an empty member in a list" },
		{ "etcd://127.0.0.1:2379,", "expected etcd://HOST:PORT[,HOST:PORT...]",
		  "a list ending in a comma" },
		{ "etcd://127.0.0.1:2379,m2", "'m2' is not HOST:PORT", "a member without its port" },
		{ "etcd://a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9", "more than 8 etcd members",
		  "nine members" },
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

	/* a list of members none of which listens: each tried once, at once */
	port = free_port();
	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d,127.0.0.1:%d?timeout=1500", free_port(), port);
	t0 = now_ms();
	is_int(ps_open(u, &st, err, sizeof(err)), PS_ERROR, "a list of dead members: refused");
	ok(now_ms() - t0 < 1500, "  at once (%lld ms)", now_ms() - t0);
	like(err, "cannot connect", "  saying what failed");
	like(err, "nor could any other member of the list be reached", "  on every member: %s", err);
}

/*
 * A cluster of three members, the store given all three: the one it uses
 * killed, puts go on through the others (a call that could not connect is
 * sent to the next at once; one sent while the two left elect a leader,
 * when the killed one led them, may time out, and the next call goes to
 * the next member), a watch goes on from another with nothing lost or
 * twice.
 */
static void test_members(const char *dir)
{
	char members[512], u[256], *names[3] = { "m1", "m2", "m3" };
	int cport[3], pport[3];
	pid_t *pid = member_pid;
	struct ps_store *st = NULL;
	struct ps_watch *w = NULL;
	struct ps_event ev[2];
	int64_t rev = 0;
	int n;

	for (int i = 0; i < 3; i++) {
		cport[i] = free_port();
		pport[i] = free_port();
	}
	snprintf(members, sizeof(members), "m1=http://127.0.0.1:%d,m2=http://127.0.0.1:%d,"
		 "m3=http://127.0.0.1:%d", pport[0], pport[1], pport[2]);
	for (int i = 0; i < 3; i++)
		pid[i] = start_etcd_member(dir, names[i], false, members, &cport[i], &pport[i]);
	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d?timeout=3000",
		 cport[0], cport[1], cport[2]);
	st = open_when_ready(u, &pid[0]);
	if (!ok(st != NULL, "three members, the store given all three: %s", u))
		goto out;
	for (long long end = now_ms() + 20000; now_ms() < end; usleep(100000))
		if (!ps_put(st, "/lunlink-etcd/m/1", "1", 1, 0, &rev))
			break;
	ok(rev > 0, "  a put, once the members have elected their leader");
	is_int(ps_watch_open(st, "/lunlink-etcd/m/", rev + 1, &w), 0, "  a watch after it");
	is_int(ps_watch_next(st, w, ev, 2), 0, "  nothing owed yet");
	stop(&pid[0]);
	{
		long long t0 = now_ms();
		int failed = 0;

		rev = 0;	/* the put's own revision, not the first put's */
		while (ps_put(st, "/lunlink-etcd/m/2", "2", 1, 0, &rev) && now_ms() - t0 < 15000) {
			diag("%s", ps_error(st));
			failed++;
		}
		ok(rev > 0 && failed <= 2, "the first member killed: a put goes on through the others "
		   "(%d calls failed, in %lld ms)", failed, now_ms() - t0);
	}
	/* every event the watch brings is that put's (one that timed out
	 * while the two left elected their leader may have been applied
	 * too), each once, the last at rev */
	{
		int64_t last = 0;
		bool good = true;

		for (long long end = now_ms() + 15000; last < rev && now_ms() < end;) {
			n = collect(st, w, ev, 1, 5000);
			for (int i = 0; i < n; i++) {
				good = good && ev[i].kv.mod_revision > last &&
				       !strcmp(ev[i].kv.key, "/lunlink-etcd/m/2");
				last = ev[i].kv.mod_revision;
			}
			if (n > 0)
				ps_events_free(ev, (size_t)n);
		}
		ok(good && last == rev, "  the watch goes on from another member up to the put, "
		   "nothing lost or twice (last %lld, the put %lld)", (long long)last, (long long)rev);
	}
	is_int(ps_watch_next(st, w, ev, 2), 0, "  and nothing more");
	ps_watch_close(st, w);
out:
	ps_close(st);
	for (int i = 0; i < 3; i++)
		stop(&pid[i]);
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

/* etcd killed and started again under a watch: the watch says so while
 * etcd is away (each call opens its stream again), then goes on from
 * where it was. */
static void test_restart(struct ps_store *st, const char *dir, int *cport, int *pport)
{
	struct ps_watch *w = NULL;
	struct ps_event ev[2];
	int64_t rev = 0;
	int n, errors;

	is_int(ps_watch_open(st, "/lunlink-etcd/r/", 0, &w), 0, "a watch");
	if (!w)
		return;
	ps_put(st, "/lunlink-etcd/r/1", "1", 1, 0, NULL);
	n = collect(st, w, ev, 1, 5000);
	ok(n == 1, "  sees a put");
	if (n > 0)
		ps_events_free(ev, (size_t)n);
	stop(&etcd_pid);
	is_int(ps_put(st, "/lunlink-etcd/r/2", "2", 1, 0, NULL), PS_ERROR, "etcd killed: a put fails");
	like(ps_error(st), "cannot connect", "  saying so: %s", ps_error(st));
	n = collect(st, w, ev, 1, 5000);
	is_int(n, PS_ERROR, "  the watch fails while etcd is away");
	diag("%s", ps_error(st));
	etcd_pid = start_etcd(dir, "store", false, cport, pport);
	ok(etcd_pid > 0, "etcd started again, on the same ports and data");
	for (long long end = now_ms() + 20000; now_ms() < end; usleep(100000))
		if (!ps_put(st, "/lunlink-etcd/r/3", "3", 1, 0, &rev))
			break;
	ok(rev > 0, "  a put goes through the same handle");
	errors = 0;
	for (long long end = now_ms() + 5000; now_ms() < end; errors++)
		if ((n = collect(st, w, ev, 1, 5000)) >= 0)
			break;
	ok(errors <= 1, "  the watch reports at most one more error (the stream opened while "
	   "etcd was away): %d", errors);
	ok(n == 1 && ev[0].kv.mod_revision == rev && !strcmp(ev[0].kv.key, "/lunlink-etcd/r/3"),
	   "  the watch goes on from where it was: the put, nothing lost or twice");
	if (n > 0)
		ps_events_free(ev, (size_t)n);
	is_int(ps_watch_next(st, w, ev, 2), 0, "  and nothing more");
	ps_watch_close(st, w);
}

/* A CA, a server certificate for 127.0.0.1 and a client certificate, made
 * in dir with the openssl tool, and a second CA that signed none of them;
 * 0 if made. */
static int make_certs(const char *dir)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && exec >certs.log 2>&1 && "
		 "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' >ext && "
		 "for ca in ca other; do openssl req -x509 -newkey ec "
		 "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=$ca "
		 "-keyout $ca.key -out $ca.crt || exit 1; done && "
		 "for n in server client; do openssl req -newkey ec "
		 "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=$n -keyout $n.key "
		 "-out $n.csr && openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key "
		 "-CAcreateserial -days 1 -extfile ext -out $n.crt || exit 1; done", dir);
	return system(cmd);
}

/* etcds:// to an etcd that asks for client certificates. */
static void test_tls(const char *dir)
{
	char u[3 * PATH_MAX + 96], err[PS_ERR_MAX];
	struct ps_store *st, *bad;
	struct ps_watch *w = NULL;
	struct ps_event ev[1];
	struct ps_kv kv;
	int cport = 0, pport = 0, n;

	if (system("command -v openssl >/dev/null 2>&1")) {
		ok(1, "# SKIP TLS: no openssl tool to make certificates");
		return;
	}
	if (!ok(!make_certs(dir), "certificates made (log: %s/certs.log)", dir))
		return;
	tls_pid = start_etcd(dir, "tls", true, &cport, &pport);
	snprintf(u, sizeof(u), "etcds://127.0.0.1:%d?ca=%s/ca.crt&cert=%s/client.crt&key=%s/client.key",
		 cport, dir, dir, dir);
	st = open_when_ready(u, &tls_pid);
	if (!ok(st != NULL, "etcds:// with a client certificate opens (log: %s/tls.log)", dir))
		return;
	is_str(ps_backend_name(st), "etcds", "  backend etcds");
	is_int(ps_watch_open(st, "/tls/", 0, &w), 0, "  a watch over TLS");
	is_int(ps_put(st, "/tls/a", "yes", 3, 0, NULL), 0, "  a put");
	ok(!ps_get(st, "/tls/a", &kv) && !strcmp(kv.value, "yes"), "  read back");
	ps_kv_free(&kv);
	n = w ? collect(st, w, ev, 1, 5000) : 0;
	ok(n == 1 && !strcmp(ev[0].kv.key, "/tls/a"), "  watched");
	if (n > 0)
		ps_events_free(ev, (size_t)n);
	ps_watch_close(st, w);
	ps_close(st);

	snprintf(u, sizeof(u), "etcds://127.0.0.1:%d?ca=%s/ca.crt", cport, dir);
	is_int(ps_open(u, &bad, err, sizeof(err)), PS_ERROR, "etcds:// without a client certificate: refused");
	like(err, "TLS", "  a TLS error: %s", err);
	snprintf(u, sizeof(u), "etcds://127.0.0.1:%d?ca=%s/other.crt&cert=%s/client.crt&key=%s/client.key",
		 cport, dir, dir, dir);
	is_int(ps_open(u, &bad, err, sizeof(err)), PS_ERROR, "etcd checked against another CA: refused");
	like(err, "other.crt", "  naming the CA file: %s", err);
	stop(&tls_pid);
}

/* A compaction made through another handle is found by ps_revision. */
static void test_compacted_elsewhere(struct ps_store *st)
{
	struct ps_store *other = NULL;
	struct ps_watch *w = NULL;
	struct ps_event ev[8];
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

	/* etcd itself cancels a stream that starts before the compaction */
	is_int(ps_watch_open(other, "/lunlink-etcd/", rev, &w), 0, "a watch of the second handle");
	for (int i = 0; i < 5; i++)
		ps_put(st, "/lunlink-etcd/churn", "c", 1, 0, &rev);
	is_int(ps_compact(st, rev), 0, "the first compacts past it, unread");
	if (w) {
		is_int(ps_watch_next(other, w, ev, 8), PS_COMPACTED, "  the watch: PS_COMPACTED, from etcd");
		like(ps_error(other), "compacted", "  saying so: %s", ps_error(other));
		ps_watch_close(other, w);
	}
	ps_close(other);
}

int main(int argc, char **argv)
{
	const char *dir;
	struct ps_store *st;
	int port = 0, pport = 0;

	signal(SIGPIPE, SIG_IGN);
	if (access(ETCD_BIN, X_OK)) {
		printf("1..0 # SKIP %s is not installed (apt-get install etcd-server)\n", ETCD_BIN);
		return 0;
	}
	test_uris();
	test_dead();
	dir = scratch_dir("store-etcd");
	atexit(stop_etcd);
	etcd_pid = start_etcd(dir, "store", false, &port, &pport);
	ok(etcd_pid > 0, "etcd started on 127.0.0.1:%d (log: %s/store.log)", port, dir);
	snprintf(uri, sizeof(uri), "etcd://127.0.0.1:%d", port);
	st = open_when_ready(uri, &etcd_pid);
	if (!ok(st != NULL, "the store %s opens", uri))
		return done_testing();
	is_str(ps_backend_name(st), "etcd", "  backend etcd");
	test_expiry(st);
	test_compacted_elsewhere(st);
	test_restart(st, dir, &port, &pport);
	ps_delete(st, "/lunlink-etcd/", true, NULL, NULL);
	ps_close(st);
	test_members(dir);
	run_contract(argv[0]);
	test_tls(dir);
	return done_testing();
}
