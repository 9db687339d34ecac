// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/policy-elect.c: the managers' election (policy/elect.c) against a
 * real etcd this test starts: two candidates in one event loop; one leads,
 * the other follows and names it; the leader's term fences a store handle;
 * a resignation hands over at once; a leader whose etcd is killed stops
 * leading before its lease could have ended in etcd; and the pure URI
 * helper.  Skipped, saying so, without /usr/bin/etcd.
 */
#include "elect.h"
#include "store.h"
#include "tap.h"
#include "scratch.h"
#include "etcd_scratch.h"

#include <event2/event.h>
#include <lunlink/clock.h>
#include <stdlib.h>
#include <string.h>

static pid_t etcd_pid;
static void stop_etcd(void) { stop(&etcd_pid); }

struct cand {
	const char *name;
	int leads, follows, candidates;
	int64_t term;
	int64_t stopped_at;	/* ll_mono_ms() of the last follow */
};

static void on_lead(void *arg, int64_t term)
{
	struct cand *c = arg;

	c->leads++;
	c->term = term;
}

static void on_follow(void *arg)
{
	struct cand *c = arg;

	c->follows++;
	c->stopped_at = ll_mono_ms();
}

static void on_candidate(void *arg, const char *name, const char *cert, const char *const *hosts)
{
	struct cand *c = arg;

	(void)name;
	c->candidates += cert && !strcmp(cert, "PEM") && hosts && hosts[0] &&
			 !strcmp(hosts[0], "10.0.0.9");
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	diag("%s", msg);
}

static struct pe_elector *candidate(struct event_base *base, const char *uri, struct cand *c,
				    int ttl)
{
	static const char *const hosts[] = { "10.0.0.9", NULL };
	char url[64], join[64], err[512];
	struct pe_opts o = { .store_uri = uri, .name = c->name, .url = url, .join_url = join,
			     .cert_pem = "PEM", .hosts = hosts, .ttl = ttl, .lead = on_lead,
			     .follow = on_follow, .candidate = on_candidate, .arg = c,
			     .log = quiet };
	struct pe_elector *e;

	snprintf(url, sizeof(url), "https://%s:7700", c->name);
	snprintf(join, sizeof(join), "https://%s:7701", c->name);
	e = pe_new(base, &o, err, sizeof(err));
	if (!e)
		diag("pe_new %s: %s", c->name, err);
	return e;
}

/* Run the loop until cond or ms pass; whether cond came. */
#define RUN_UNTIL(base, ms, cond) ({						\
	long long end_ = now_ms() + (ms);					\
	while (!(cond) && now_ms() < end_)					\
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(10000); \
	(cond); })

static void test_uri(void)
{
	char out[128];

	is_int(pe_uri_timeout("etcd://h:1", 1000, out, sizeof(out)), 0, "uri: a timeout added");
	is_str(out, "etcd://h:1?timeout=1000", "  as ?timeout=");
	pe_uri_timeout("etcds://h:1?ca=/a&timeout=9&cert=/c&key=/k", 500, out, sizeof(out));
	is_str(out, "etcds://h:1?timeout=500&ca=/a&cert=/c&key=/k", "  one there replaced, the rest kept");
	is_int(pe_uri_timeout("etcd://h:1", 1000, out, 8), -1, "  too long for the buffer: -1");
}

int main(void)
{
	struct event_base *base;
	struct cand a = { .name = "a" }, b = { .name = "b" };
	struct pe_elector *ea, *eb;
	struct ps_store *st = NULL;
	char uri[64], err[512];
	int port = 0, pport = 0;
	int64_t stopped;
	const char *dir;

	signal(SIGPIPE, SIG_IGN);
	test_uri();
	if (access(ETCD_BIN, X_OK)) {
		diag("SKIP the live part: %s is not installed (apt-get install etcd-server)", ETCD_BIN);
		return done_testing();
	}
	dir = scratch_dir("policy-elect");
	atexit(stop_etcd);
	etcd_pid = start_etcd(dir, "elect", false, &port, &pport);
	snprintf(uri, sizeof(uri), "etcd://127.0.0.1:%d", port);
	for (long long end = now_ms() + 20000; now_ms() < end && !st; usleep(100000))
		if (ps_open(uri, &st, err, sizeof(err)) || ps_revision(st, NULL, NULL)) {
			ps_close(st);
			st = NULL;
		}
	if (!ok(st != NULL, "etcd up at %s (log: %s/elect.log)", uri, dir))
		return done_testing();
	base = event_base_new();

	ea = candidate(base, uri, &a, 2);
	ok(ea && a.leads == 1 && pe_leading(ea), "the first candidate leads at once");
	eb = candidate(base, uri, &b, 2);
	ok(eb && !b.leads && !pe_leading(eb), "the second follows");
	if (!ea || !eb)
		return done_testing();
	is_str(pe_leader(eb)->name, "a", "  naming the leader");
	is_str(pe_leader(eb)->url, "https://a:7700", "  its URL");
	is_str(pe_leader(eb)->join_url, "https://a:7701", "  its join URL");
	ok(pe_leader(eb)->term == a.term && pe_term(ea) == a.term, "  and its term, %lld",
	   (long long)a.term);
	ok(RUN_UNTIL(base, 2000, a.candidates == 2), "the leader is given both candidates to register");
	{
		struct pe_candidate c[4];
		struct pe_leader l;
		size_t n = 9;

		is_int(pe_read(st, &l, c, 4, &n), PS_OK, "pe_read: the election as the store holds it");
		ok(!strcmp(l.name, "a") && l.term == a.term, "  the leader and its term");
		ok(n == 2 && !strcmp(c[0].name, "a") && !strcmp(c[0].url, "https://a:7700") &&
		   !strcmp(c[1].name, "b") && !strcmp(c[1].url, "https://b:7700"),
		   "  each candidate with its URL (%zu)", n);
		is_int(pe_read(st, &l, c, 1, &n), PS_OK, "  no more candidates than room for");
		ok(n == 1, "  (%zu)", n);
	}
	ok(!RUN_UNTIL(base, 3000, b.leads || a.follows), "a leader that renews keeps leading (3 s, TTL 2 s)");

	is_int(ps_fence(st, PE_KEY_LEADER, a.term), 0, "a handle fenced with the leader's term");
	is_int(ps_put(st, "/lunlink-elect/x", "1", 1, 0, NULL), 0, "  writes");
	pe_free(ea);
	ok(RUN_UNTIL(base, 2000, b.leads == 1), "the leader resigns: the other leads within a second");
	ok(b.term > a.term, "  in a later term (%lld > %lld)", (long long)b.term, (long long)a.term);
	is_int(ps_put(st, "/lunlink-elect/x", "2", 1, 0, NULL), PS_FENCED,
	       "the old term's handle is refused: PS_FENCED");
	like(ps_error(st), "no longer leads", "  %s", ps_error(st));
	ps_fence(st, NULL, 0);

	/* the leader's etcd goes away: it stops leading by its own clock */
	stopped = 0;
	stop(&etcd_pid);
	{
		long long killed = now_ms();

		ok(RUN_UNTIL(base, 5000, b.follows == 1), "etcd killed: the leader stops leading");
		stopped = b.stopped_at - killed;
		ok(stopped <= 2000, "  within its TTL (2 s) of the last renewal: %lld ms after the kill",
		   (long long)stopped);
		ok(!pe_leading(eb), "  pe_leading says so");
	}
	/* etcd back: the old leader key must not outlive the step-down (its
	 * lease given up or lapsed), so an election is held again */
	etcd_pid = start_etcd(dir, "elect", false, &port, &pport);
	ok(RUN_UNTIL(base, 15000, b.leads == 2), "etcd back: a leader again (not a leader key "
	   "left naming one that stepped down)");
	pe_free(eb);
	ps_close(st);
	event_base_free(base);
	return done_testing();
}
