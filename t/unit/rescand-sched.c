// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/rescand-sched.c: unit tests (TAP) of lunlink-rescand's
 * scheduling (initiator/sched.c): the leading edge, the hold and its one
 * follow-up, and the in-flight rules, on a fake clock: the time is
 * whatever number of milliseconds the test passes in.
 */
#include "sched.h"
#include "tap.h"

static struct rd_job_key scan(unsigned int host)
{
	return (struct rd_job_key){ .kind = RD_JOB_SCAN, .hctl = { .host = host } };
}

static struct rd_job_key rescan(unsigned int host, uint64_t lun)
{
	return (struct rd_job_key){ .kind = RD_JOB_RESCAN, .hctl = { .host = host, .lun = lun } };
}

static struct rd_job_key check(unsigned int host)
{
	return (struct rd_job_key){ .kind = RD_JOB_CHECK, .hctl = { .host = host } };
}

static struct rd_job_key reconcile(unsigned int host)
{
	return (struct rd_job_key){ .kind = RD_JOB_RECONCILE, .hctl = { .host = host } };
}

/* A little world: events at given times, each run taking run_ms; counts
 * the runs that start (first runs and follow-ups apart). */
struct world {
	struct rd_sched s;
	struct rd_job_key key;
	uint64_t run_ms, running_until;
	bool running;
	unsigned int runs, followups, events_run;
	uint64_t first_run_at, last_run_at;
};

static void world_tick(struct world *w, uint64_t t)
{
	struct rd_sched_run run;

	if (w->running && t >= w->running_until) {
		rd_sched_done(&w->s, &w->key, t);
		w->running = false;
	}
	if (!w->running && rd_sched_take(&w->s, t, &run)) {
		w->running = true;
		w->running_until = t + w->run_ms;
		w->events_run += run.events;
		if (run.followup)
			w->followups++;
		else
			w->runs++;
		if (w->runs + w->followups == 1)
			w->first_run_at = t;
		w->last_run_at = t;
	}
}

static void test_one_event(void)
{
	struct rd_sched s;
	struct rd_job_key a = scan(2);
	struct rd_sched_run run;

	rd_sched_init(&s, 2000, 10000, 4);
	is_int(rd_sched_next(&s, 0), -1, "nothing pending: no wake-up");
	is_int(rd_sched_note(&s, &a, 1000), RD_NOTE_NEW, "an event for an idle host: new");
	ok(rd_sched_has(&s, &a), "  it is known");
	is_int(rd_sched_next(&s, 1000), 0, "  due at once, not a window later");
	ok(rd_sched_take(&s, 1000, &run), "  taken at once");
	ok(run.key.kind == RD_JOB_SCAN && run.key.hctl.host == 2 && run.events == 1 && !run.followup,
	   "  the scan of host2, one event, not a follow-up");
	is_int(s.running, 1, "  running");
	is_int(rd_sched_next(&s, 1000), -1, "  nothing else to wake for");
	rd_sched_done(&s, &a, 1100);
	ok(!rd_sched_has(&s, &a) && s.running == 0, "done: nothing pending or running");
	is_int(rd_sched_next(&s, 1100), -1, "  and no wake-up: the hold alone is not a job");
	ok(!rd_sched_take(&s, 5000, &run), "  no follow-up when no event came after it began");
	is_int(rd_sched_note(&s, &a, 5000), RD_NOTE_NEW, "an event after the hold: a new burst");
	ok(rd_sched_take(&s, 5000, &run) && !run.followup, "  runs at once again");
	rd_sched_free(&s);
}

static void test_burst(void)
{
	struct world w = { .key = scan(2), .run_ms = 100 };

	rd_sched_init(&w.s, 2000, 10000, 4);
	/* every LUN in use reports the same change, 50 ms apart, while the
	 * first event's scan runs for 100 ms */
	for (uint64_t t = 0; t <= 6000; t += 10) {
		if (t <= 400 && t % 50 == 0)
			rd_sched_note(&w.s, &w.key, t);
		world_tick(&w, t);
	}
	is_int(w.runs, 1, "a burst of 9 events: one scan,");
	is_int(w.first_run_at, 0, "  at the first event");
	is_int(w.followups, 1, "  and one follow-up for the 8 that came after it began,");
	is_int(w.last_run_at, 2400, "  a hold after the last of them (400 + 2000)");
	is_int(w.events_run, 9, "  the two runs stand for the 9 events");
	rd_sched_free(&w.s);

	/* a longer burst, 50 events over 5 s, still a bounded number of runs */
	struct world l = { .key = scan(2), .run_ms = 100 };

	rd_sched_init(&l.s, 2000, 10000, 4);
	for (uint64_t t = 0; t <= 20000; t += 10) {
		if (t < 5000 && t % 100 == 0)
			rd_sched_note(&l.s, &l.key, t);
		world_tick(&l, t);
	}
	is_int(l.runs + l.followups, 2, "50 events over 5 s, never 2 s apart: 2 runs in all");
	is_int(l.last_run_at, 4900 + 2000, "  the follow-up a hold after the last event");
	rd_sched_free(&l.s);
}

/* What the daemon sees in the usual cases: how many scans per burst. */
static void test_typical_bursts(void)
{
	struct world w = { .key = scan(0), .run_ms = 120 };

	/* stock tgtd, one disk read once a second: its unit attention is the
	 * only event (the scan's REPORT LUNS clears the others) */
	rd_sched_init(&w.s, 2000, 10000, 4);
	for (uint64_t t = 0; t <= 5000; t += 10) {
		if (t == 700)
			rd_sched_note(&w.s, &w.key, t);
		world_tick(&w, t);
	}
	ok(w.runs == 1 && w.followups == 0 && w.first_run_at == 700,
	   "one disk in use: 1 scan, at the event, no follow-up");
	rd_sched_free(&w.s);

	/* two disks read at the same moment: two unit attentions 5 ms apart,
	 * the second while the scan runs */
	struct world two = { .key = scan(0), .run_ms = 120 };

	rd_sched_init(&two.s, 2000, 10000, 4);
	for (uint64_t t = 0; t <= 5000; t += 5) {
		if (t == 700 || t == 705)
			rd_sched_note(&two.s, &two.key, t);
		world_tick(&two, t);
	}
	ok(two.runs == 1 && two.followups == 1 && two.first_run_at == 700,
	   "two disks in use: 1 scan at the first event, 1 follow-up (the daemon reconciles: "
	   "no second scan unless a LUN has no device)");
	rd_sched_free(&two.s);

	/* both at once, before the daemon looks: one scan for both */
	struct world same = { .key = scan(0), .run_ms = 120 };

	rd_sched_init(&same.s, 2000, 10000, 4);
	rd_sched_note(&same.s, &same.key, 700);
	rd_sched_note(&same.s, &same.key, 700);
	for (uint64_t t = 700; t <= 5000; t += 5)
		world_tick(&same, t);
	ok(same.runs == 1 && same.followups == 0 && same.events_run == 2,
	   "two events read in one go: 1 scan standing for both, no follow-up");
	rd_sched_free(&same.s);
}

static void test_max_wait(void)
{
	struct world w = { .key = scan(2), .run_ms = 100 };
	uint64_t gap = 0, prev = 0;
	unsigned int before;

	rd_sched_init(&w.s, 2000, 5000, 4);
	/* a steady trickle, one event a second, never quiet for a hold */
	for (uint64_t t = 0; t <= 30000; t += 10) {
		if (t % 1000 == 0)
			rd_sched_note(&w.s, &w.key, t);
		before = w.runs + w.followups;
		world_tick(&w, t);
		if (w.runs + w.followups != before) {
			if (t - prev > gap)
				gap = t - prev;
			prev = t;
		}
	}
	is_int(w.first_run_at, 0, "a trickle: the first event runs at once");
	ok(gap <= 1000 + 5000 && gap >= 5000,
	   "  then a follow-up at most max_wait after the first event it gathered (longest gap %llu ms)",
	   (unsigned long long)gap);
	ok(w.runs + w.followups >= 5 && w.runs + w.followups <= 7,
	   "  so 30 s of it is %u runs, not 30", w.runs + w.followups);
	rd_sched_free(&w.s);
}

static void test_again(void)
{
	struct rd_sched s;
	struct rd_job_key a = scan(2);
	struct rd_sched_run run;

	rd_sched_init(&s, 2000, 10000, 4);
	rd_sched_note(&s, &a, 0);
	rd_sched_take(&s, 0, &run);
	is_int(rd_sched_note(&s, &a, 500), RD_NOTE_AGAIN, "an event while it runs: a follow-up");
	is_int(rd_sched_note(&s, &a, 600), RD_NOTE_AGAIN, "  and another, the same follow-up");
	ok(!rd_sched_take(&s, 9000, &run), "  never two at once for a key");
	is_int(rd_sched_next(&s, 700), -1, "  no wake-up until it ends");
	rd_sched_done(&s, &a, 700);
	ok(rd_sched_pending(&s, &a), "when it ends, the follow-up is pending");
	is_int(rd_sched_next(&s, 700), 1900, "  due a hold after the last event (600 + 2000)");
	ok(!rd_sched_take(&s, 2599, &run), "  not before");
	ok(rd_sched_take(&s, 2600, &run) && run.followup && run.events == 2,
	   "  then runs once, as a follow-up for 2 events");
	rd_sched_done(&s, &a, 2700);
	ok(!rd_sched_take(&s, 9000, &run) && !rd_sched_has(&s, &a), "  only once");

	/* events after it ended but within its hold */
	rd_sched_init(&s, 2000, 10000, 4);
	rd_sched_note(&s, &a, 0);
	rd_sched_take(&s, 0, &run);
	rd_sched_done(&s, &a, 100);
	is_int(rd_sched_note(&s, &a, 1500), RD_NOTE_HELD, "an event in the hold, after the run: held");
	is_int(rd_sched_note(&s, &a, 1600), RD_NOTE_COALESCED, "  another joins it");
	ok(!rd_sched_take(&s, 3599, &run), "  not at once");
	ok(rd_sched_take(&s, 3600, &run) && run.followup && run.events == 2,
	   "  one follow-up a hold after the last (1600 + 2000)");
	rd_sched_done(&s, &a, 3700);
	rd_sched_free(&s);

	/* the run ended long after the event: due at once */
	rd_sched_init(&s, 2000, 10000, 4);
	rd_sched_note(&s, &a, 10000);
	rd_sched_take(&s, 10000, &run);
	rd_sched_note(&s, &a, 10001);
	rd_sched_done(&s, &a, 20000);
	is_int(rd_sched_next(&s, 20000), 0, "a follow-up after a long run is due at once");
	rd_sched_free(&s);

	/* hold 0: every event after a run began is its own follow-up, at once */
	rd_sched_init(&s, 0, 0, 4);
	rd_sched_note(&s, &a, 0);
	rd_sched_take(&s, 0, &run);
	rd_sched_note(&s, &a, 50);
	rd_sched_done(&s, &a, 100);
	ok(rd_sched_take(&s, 100, &run) && run.followup, "hold 0: the follow-up runs when the run ends");
	rd_sched_done(&s, &a, 200);
	is_int(rd_sched_note(&s, &a, 200), RD_NOTE_NEW, "  and nothing is held after it");
	rd_sched_free(&s);
}

static void test_per_host(void)
{
	struct rd_sched s;
	struct rd_job_key a = scan(2), r21 = rescan(2, 1), r22 = rescan(2, 2), r31 = rescan(3, 1);
	struct rd_job_key c2 = check(2);
	struct rd_sched_run run;

	rd_sched_init(&s, 100, 1000, 8);
	rd_sched_note(&s, &a, 0);
	ok(rd_sched_take(&s, 0, &run) && run.key.kind == RD_JOB_SCAN, "host2's scan runs");
	rd_sched_note(&s, &r21, 10);
	rd_sched_note(&s, &r31, 10);
	rd_sched_note(&s, &c2, 10);
	ok(rd_sched_take(&s, 10, &run) && run.key.kind == RD_JOB_RESCAN && run.key.hctl.host == 3,
	   "  a rescan on host3 may run beside it");
	ok(!rd_sched_take(&s, 10, &run), "  a rescan or a check on host2 may not");
	is_int(rd_sched_next(&s, 10), -1, "  and is no reason to wake up");
	is_int(rd_sched_note(&s, &r21, 20), RD_NOTE_COALESCED, "  a blocked job gathers what comes");
	rd_sched_done(&s, &a, 300);
	ok(rd_sched_take(&s, 300, &run) && !run.followup, "when the scan ends, the next host2 job runs");
	ok(!rd_sched_take(&s, 300, &run), "  one at a time, one of them host-wide");
	rd_sched_free(&s);

	rd_sched_init(&s, 100, 1000, 8);
	rd_sched_note(&s, &r21, 0);
	rd_sched_note(&s, &r22, 0);
	is_int(s.n, 2, "rescans of two LUNs are two keys");
	ok(rd_sched_take(&s, 0, &run) && rd_sched_take(&s, 0, &run), "  and may run together");
	rd_sched_free(&s);

	rd_sched_init(&s, 100, 1000, 8);
	struct rd_job_key a_lun = a;

	a_lun.hctl.lun = 7;
	rd_sched_note(&s, &a, 0);
	is_int(rd_sched_note(&s, &a_lun, 0), RD_NOTE_COALESCED,
	       "a host scan noted from another LUN is the same scan");
	rd_sched_free(&s);
}

static void test_max_running(void)
{
	struct rd_sched s;
	struct rd_job_key keys[3] = { scan(1), scan(2), scan(3) };
	struct rd_sched_run run;
	int taken = 0;

	rd_sched_init(&s, 100, 1000, 2);
	for (int i = 0; i < 3; i++)
		rd_sched_note(&s, &keys[i], (uint64_t)i);
	while (rd_sched_take(&s, 500, &run))
		taken++;
	is_int(taken, 2, "max_running 2: two of three hosts scan");
	is_int(rd_sched_next(&s, 500), -1, "  the third waits for one to end, not for a timer");
	rd_sched_done(&s, &keys[0], 600);
	ok(rd_sched_take(&s, 600, &run) && run.key.hctl.host == 3, "  then it runs");
	rd_sched_free(&s);
}

static void test_full(void)
{
	struct rd_sched s;
	struct rd_job_key k;
	enum rd_note last = RD_NOTE_NEW;

	rd_sched_init(&s, 100, 1000, 2);
	for (unsigned int i = 0; i < RD_SCHED_MAX && last == RD_NOTE_NEW; i++) {
		k = rescan(1, i);
		last = rd_sched_note(&s, &k, 0);
	}
	is_int(last, RD_NOTE_NEW, "%d keys fit", RD_SCHED_MAX);
	k = rescan(1, RD_SCHED_MAX);
	is_int(rd_sched_note(&s, &k, 0), RD_NOTE_FULL, "one more is refused, not grown without bound");
	k = rescan(1, 5);
	is_int(rd_sched_note(&s, &k, 0), RD_NOTE_COALESCED, "  a known key still coalesces");
	rd_sched_free(&s);

	/* held entries whose hold ended make room */
	struct rd_sched_run run;

	rd_sched_init(&s, 100, 1000, RD_SCHED_MAX);
	for (unsigned int i = 0; i < RD_SCHED_MAX; i++) {
		k = rescan(1, i);
		rd_sched_note(&s, &k, 0);
	}
	for (unsigned int i = 0; i < RD_SCHED_MAX; i++)
		rd_sched_take(&s, 0, &run);
	for (unsigned int i = 0; i < RD_SCHED_MAX; i++) {
		k = rescan(1, i);
		rd_sched_done(&s, &k, 10);
	}
	is_int(s.n, RD_SCHED_MAX, "done within their hold, the keys are held");
	k = rescan(1, RD_SCHED_MAX);
	is_int(rd_sched_note(&s, &k, 200), RD_NOTE_NEW, "  after it, a new key fits: they are forgotten");
	rd_sched_free(&s);
}

static void test_reconcile(void)
{
	struct rd_sched s;
	struct rd_job_key r = reconcile(2), a = scan(2), r_lun = reconcile(2);
	struct rd_sched_run run;

	rd_sched_init(&s, 2000, 10000, 4);
	/* an Async Message: a reconcile at once; iscsid's scan adds four
	 * devices, 30 ms apart, while it runs (the daemon takes those adds
	 * for its own and notes nothing); had it ended, they are held */
	is_int(rd_sched_note(&s, &r, 0), RD_NOTE_NEW, "an Async Message: a reconcile");
	ok(rd_sched_pending(&s, &r) && !rd_sched_host_busy(&s, 2), "  pending, host2 not busy");
	ok(rd_sched_take(&s, 0, &run) && run.key.kind == RD_JOB_RECONCILE && run.events == 1,
	   "  runs at once");
	ok(!rd_sched_pending(&s, &r) && rd_sched_has(&s, &r), "  running, not pending");
	ok(rd_sched_host_busy(&s, 2) && !rd_sched_host_busy(&s, 3), "  host2 is busy, host3 not");
	rd_sched_done(&s, &r, 20);
	r_lun.hctl.lun = 3;
	is_int(rd_sched_note(&s, &r_lun, 30), RD_NOTE_HELD, "devices added after it ended: held");
	for (uint64_t t = 60; t <= 120; t += 30)
		rd_sched_note(&s, &r_lun, t);
	is_int(s.n, 1, "  the other adds join it, whatever their LUN");
	ok(!rd_sched_take(&s, 2119, &run), "  no second reconcile at once");
	ok(rd_sched_take(&s, 2120, &run) && run.followup && run.events == 4,
	   "  one follow-up for the 4, a hold after the last");
	is_int(rd_sched_note(&s, &a, 2130), RD_NOTE_NEW, "a scan noted meanwhile");
	ok(!rd_sched_take(&s, 9000, &run), "  waits: a reconcile is host-wide");
	ok(!rd_sched_drop(&s, &r), "a running job cannot be dropped");
	rd_sched_done(&s, &r, 2200);
	ok(!rd_sched_host_busy(&s, 2), "done: host2 not busy");
	ok(rd_sched_take(&s, 2200, &run) && run.key.kind == RD_JOB_SCAN, "  then the scan runs");
	rd_sched_done(&s, &a, 2300);
	rd_sched_free(&s);

	rd_sched_init(&s, 2000, 10000, 4);
	rd_sched_note(&s, &r, 0);
	ok(rd_sched_drop(&s, &r), "a pending reconcile can be dropped (a scan covers it)");
	ok(!rd_sched_has(&s, &r) && s.n == 0, "  and is forgotten");
	ok(!rd_sched_drop(&s, &r), "  dropping it again: nothing to drop");
	is_int(rd_sched_next(&s, 0), -1, "  nothing to wake for");
	rd_sched_take(&s, 0, &run);
	rd_sched_note(&s, &r, 0);
	rd_sched_take(&s, 0, &run);
	rd_sched_done(&s, &r, 10);
	rd_sched_note(&s, &r, 20);
	ok(rd_sched_drop(&s, &r), "a held follow-up can be dropped too");
	is_int(rd_sched_note(&s, &r, 30), RD_NOTE_HELD, "  and the hold still holds");
	rd_sched_free(&s);
}

int main(void)
{
	test_one_event();
	test_burst();
	test_typical_bursts();
	test_max_wait();
	test_again();
	test_per_host();
	test_max_running();
	test_full();
	test_reconcile();
	return done_testing();
}
