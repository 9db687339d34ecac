// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-waiters.c: long polls (policy/waiters.h) in the manager as the
 * daemon runs it (pm_harness.h), asked with the asynchronous client
 * (client.h, pa_aclient) on the same event loop, as the agent asks:
 * GET /v1/nodes/desired?since=REV&wait=S parked until the node's desired
 * state changes, answered within milliseconds of the change, not at an
 * unrelated change; a wait that ends with "changed":false; a client that
 * goes away while parked is freed; the bound on parked requests; bad
 * wait and since refused with 400 naming the field; a poll parked when the
 * server stops is dropped, its client told; the asynchronous client names
 * a manager that does not listen.
 */
#include "pm_harness.h"

static struct pa_aclient *db1_async;
static struct pa_client *db1;
static int64_t desired_rev;

static struct pa_acall *ask(struct answer *a, const char *path)
{
	char err[512];
	struct pa_acall *c;

	memset(a, 0, sizeof(*a));
	c = pa_aclient_call(db1_async, "GET", path, NULL, 70000, on_done, a, err, sizeof(err));
	if (!c)
		diag("async call: %s", err);
	return c;
}

/* Turn the loop until n requests are parked or ms pass. */
static bool parked(size_t n, int ms)
{
	long end = ll_mono_ms() + ms;

	while (pw_count(m->waiters) != n && ll_mono_ms() < end) {
		struct timeval tv = { .tv_usec = 10000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return pw_count(m->waiters) == n;
}

/* Cancel a call not answered (an answered one is gone already). */
static void cancel(struct pa_acall *c, const struct answer *a)
{
	if (c && !a->done)
		pa_acall_cancel(c);
}

static void test_bad_requests(void)
{
	struct answer a;

	ask(&a, "/v1/nodes/desired?since=0&wait=61");
	ok(answered(&a, 3000) && a.status == 400 && !strcmp(err_field(a.reply), "wait"),
	   "wait=61: 400 naming 'wait' (%s)", a.err);
	like(a.err, "between 0 and 60", "... saying its bounds");
	forget(&a);
	ask(&a, "/v1/nodes/desired?wait=soon");
	ok(answered(&a, 3000) && a.status == 400 && !strcmp(err_field(a.reply), "wait"),
	   "wait=soon: 400 naming 'wait'");
	forget(&a);
	ask(&a, "/v1/nodes/desired?since=x&wait=5");
	ok(answered(&a, 3000) && a.status == 400 && !strcmp(err_field(a.reply), "since"),
	   "since=x: 400 naming 'since'");
	forget(&a);
	is_int(pw_count(m->waiters), 0, "none of them was parked");
}

static void test_first_answer_at_once(void)
{
	struct answer a;
	long t0 = ll_mono_ms();

	ask(&a, "/v1/nodes/desired?wait=30");
	ok(answered(&a, 3000) && a.status == 200, "with no since the desired state is answered (%s)",
	   a.err);
	ok(a.at_ms - t0 < 1000, "... at once, not after the wait (%ld ms)", a.at_ms - t0);
	desired_rev = pm_int(a.reply, "desired_revision");
	forget(&a);
}

/* A done that cancels its own call (as an agent tearing down from inside
 * a callback might): nothing happens twice. */
struct self_cancel {
	struct pa_acall *call;
	struct answer a;
};

static void on_done_cancel(void *arg, long status, json_object *reply, const char *err)
{
	struct self_cancel *sc = arg;

	pa_acall_cancel(sc->call);
	on_done(&sc->a, status, reply, err);
}

static void test_cancel_in_done(void)
{
	struct self_cancel sc = { 0 };
	char err[512];

	sc.call = pa_aclient_call(db1_async, "GET", "/v1/nodes/desired", NULL, 5000,
				  on_done_cancel, &sc, err, sizeof(err));
	ok(sc.call && answered(&sc.a, 3000) && sc.a.status == 200,
	   "a call whose done cancels it is answered (%s)", sc.call ? sc.a.err : err);
	is_int(pa_aclient_pending(db1_async), 0, "... and counted once: none pending after");
	forget(&sc.a);
}

static void test_parked_until_change(void)
{
	struct answer a, b;
	char path[96];
	json_object *vols, *v;

	snprintf(path, sizeof(path), "/v1/nodes/desired?since=%lld&wait=20", (long long)desired_rev);
	ask(&a, path);
	ask(&b, path);
	ok(parked(2, 5000), "two polls since the current revision are parked");
	ok(!answered(&a, 300) && !b.done, "... and not answered");
	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/w\",\"size\":\"10G\"}",
		    NULL, NULL), 201, "an area is added to db1 (a change, not of its desired state)");
	ok(!answered(&a, 200), "... the polls stay parked");
	is_int(call(db1, "POST", "/v1/nodes/report", "{}", NULL, NULL), 200,
	       "db1 reports (online: offline_after is 1 s here)");
	is_int(call(admin, "POST", "/v1/volumes", "{\"name\":\"w1\",\"way\":\"single\",\"size\":\"1G\"}",
		    NULL, NULL), 201, "a volume is made on db1");
	/* the call above turned the loop until it was answered; the parked
	 * polls were answered in the same turns */
	ok(answered(&a, 500) && answered(&b, 500), "both polls are answered");
	is_int(a.status, 200, "... 200");
	ok(json_object_object_get_ex(a.reply, "volumes", &vols) &&
	   json_object_object_get_ex(vols, "w1", &v), "... with the new volume's desired state");
	ok(pm_int(a.reply, "desired_revision") > desired_rev, "... at a newer revision");
	ok(a.reply && json_object_get_boolean(json_object_object_get(a.reply, "changed")),
	   "... changed");
	is_int(pw_count(m->waiters), 0, "no poll is parked any more");
	desired_rev = pm_int(a.reply, "desired_revision");
	forget(&a);
	forget(&b);
}

static void test_fast(void)
{
	struct answer a;
	char path[96];
	long t0;

	/* the manager answers from its watch's turn: the change to the
	 * answer is the time of a store commit and a loop turn */
	snprintf(path, sizeof(path), "/v1/nodes/desired?since=%lld&wait=20", (long long)desired_rev);
	ask(&a, path);
	ok(parked(1, 5000), "a poll is parked");
	t0 = ll_mono_ms();
	is_int(call(admin, "DELETE", "/v1/volumes/w1", NULL, NULL, NULL), 200, "the volume is deleted");
	ok(answered(&a, 2000), "the parked poll is answered");
	ok(a.done && a.at_ms - t0 < 500, "... within 500 ms of the change being asked for (%ld ms)",
	   a.at_ms - t0);
	{
		json_object *vols, *v = NULL;

		/* a volume no node made yet goes at once; else a deletion order */
		ok(json_object_object_get_ex(a.reply, "volumes", &vols) &&
		   (!json_object_object_get_ex(vols, "w1", &v) ||
		    json_object_get_boolean(json_object_object_get(v, "delete"))),
		   "... without the volume, or with its deletion order");
	}
	desired_rev = pm_int(a.reply, "desired_revision");
	forget(&a);
}

static void test_timeout(void)
{
	struct answer a;
	char path[96];
	long t0 = ll_mono_ms();

	snprintf(path, sizeof(path), "/v1/nodes/desired?since=%lld&wait=1", (long long)desired_rev);
	ask(&a, path);
	ok(answered(&a, 4000), "a poll with wait=1 and no change is answered");
	ok(a.at_ms - t0 >= 900 && a.at_ms - t0 < 2500, "... after its wait (%ld ms)", a.at_ms - t0);
	is_int(a.status, 200, "... 200");
	ok(a.reply && !json_object_get_boolean(json_object_object_get(a.reply, "changed")),
	   "... \"changed\":false");
	ok(!json_object_object_get_ex(a.reply, "volumes", NULL), "... and no volumes");
	is_int(pm_int(a.reply, "desired_revision"), desired_rev, "... the revision it has");
	forget(&a);
	is_int(pw_count(m->waiters), 0, "the waiter is gone");
}

static void test_client_gone(void)
{
	struct answer a;
	struct pa_acall *c;
	char path[96];

	snprintf(path, sizeof(path), "/v1/nodes/desired?since=%lld&wait=30", (long long)desired_rev);
	c = ask(&a, path);
	ok(parked(1, 5000), "a poll is parked");
	cancel(c, &a);
	ok(parked(0, 2000), "its client went away: the waiter is freed");
	ok(!a.done, "... and the cancelled call was not answered");
	/* the server goes on: the same poll again, answered by its wait */
	snprintf(path, sizeof(path), "/v1/nodes/desired?since=%lld&wait=1", (long long)desired_rev);
	ask(&a, path);
	ok(answered(&a, 4000) && a.status == 200, "the next poll is served (%s)", a.err);
	forget(&a);
}

static void test_bound(void)
{
	struct answer a[4];
	struct pa_acall *c[3];
	char path[96];

	snprintf(path, sizeof(path), "/v1/nodes/desired?since=%lld&wait=30", (long long)desired_rev);
	for (int i = 0; i < 3; i++)
		c[i] = ask(&a[i], path);
	ok(parked(3, 5000), "three polls are parked, the bound");
	ask(&a[3], path);
	ok(answered(&a[3], 2000) && a[3].status == 503 && !strcmp(err_field(a[3].reply), "wait"),
	   "a fourth is refused with 503 naming 'wait'");
	like(a[3].err, "the most this manager holds", "... saying why");
	forget(&a[3]);
	for (int i = 0; i < 3; i++)
		cancel(c[i], &a[i]);
	ok(parked(0, 2000), "their clients gone, none is parked");
}

static void test_server_stops(void)
{
	struct answer a;
	char path[96];

	snprintf(path, sizeof(path), "/v1/nodes/desired?since=%lld&wait=30", (long long)desired_rev);
	ask(&a, path);
	ok(parked(1, 5000), "a poll is parked when the server stops");
	stop();
	ok(answered(&a, 5000) && a.status == 0 && a.err[0],
	   "... its client is told the connection ended (%s)", a.err);
	forget(&a);
}

static void test_refused(void)
{
	struct pa_client_opts o = { .url = "https://127.0.0.1:1",
				    .files = { .ca_file = ca_file } };
	struct pa_aclient *c;
	struct answer a = { 0 };
	char err[512];

	c = pa_aclient_new(base, &o, err, sizeof(err));
	ok(c && pa_aclient_call(c, "GET", "/v1/nodes", NULL, 0, on_done, &a, err, sizeof(err)),
	   "an asynchronous call to a port nobody listens on starts");
	ok(answered(&a, 5000) && a.status == 0, "... and ends without an HTTP status");
	like(a.err, "cannot connect to 127.0.0.1:1", "... naming where (%s)", a.err);
	is_int(pa_aclient_pending(c), 0, "... and is no longer under way");
	pa_aclient_free(c);
}

int main(void)
{
	char err[512];

	waiters_max = 3;
	if (harness_begin("policy-waiters", 2))
		return done_testing();
	db1 = join_node("db1");
	db1_async = node_aclient("db1");
	ok(db1 && db1_async, "db1's clients, blocking and asynchronous");
	if (db1 && db1_async) {
		is_int(call(db1, "POST", "/v1/nodes/report",
			    "{\"address\":\"127.0.0.1\",\"portals\":[\"127.0.0.1:3260\"]}", NULL, err),
		       200, "db1 reports (%s)", err);
		test_bad_requests();
		test_first_answer_at_once();
		test_cancel_in_done();
		test_parked_until_change();
		test_fast();
		test_timeout();
		test_client_gone();
		test_bound();
		test_refused();
		test_server_stops();
	}
	pa_aclient_free(db1_async);
	pa_client_free(db1);
	return harness_end();
}
