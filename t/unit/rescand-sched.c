// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/rescand-sched.c: unit tests (TAP) of lunlink-rescand's debounce
 * and in-flight rules (initiator/sched.c), on a fake clock: the time is
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

static void test_one_event(void)
{
	struct rd_sched s;
	struct rd_job_key k, a = scan(2);
	unsigned int ev = 0;

	rd_sched_init(&s, 2000, 10000, 4);
	is_int(rd_sched_next(&s, 0), -1, "nothing pending: no wake-up");
	is_int(rd_sched_note(&s, &a, 1000), RD_NOTE_NEW, "an event makes a pending scan");
	ok(rd_sched_has(&s, &a), "  it is known");
	is_int(rd_sched_next(&s, 1000), 2000, "  due one window later");
	ok(!rd_sched_take(&s, 2999, &k, &ev), "  not taken before it is due");
	is_int(rd_sched_next(&s, 2999), 1, "  1 ms to go");
	ok(rd_sched_take(&s, 3000, &k, &ev), "  taken when due");
	ok(k.kind == RD_JOB_SCAN && k.hctl.host == 2 && ev == 1, "  the scan of host2, one event");
	is_int(s.running, 1, "  running");
	is_int(rd_sched_next(&s, 3000), -1, "  nothing else to wake for");
	rd_sched_done(&s, &k, 3100);
	ok(!rd_sched_has(&s, &a) && s.running == 0 && s.n == 0, "done: forgotten");
	rd_sched_free(&s);
}

static void test_burst(void)
{
	struct rd_sched s;
	struct rd_job_key k, a = scan(2);
	unsigned int ev = 0, takes = 0;

	rd_sched_init(&s, 2000, 10000, 4);
	/* every LUN of the target reports the same change, 50 ms apart */
	is_int(rd_sched_note(&s, &a, 0), RD_NOTE_NEW, "a burst: the first event is new");
	for (int t = 50; t <= 400; t += 50)
		if (rd_sched_note(&s, &a, (uint64_t)t) != RD_NOTE_COALESCED)
			break;
	is_int(s.v[0].events, 9, "  the next 8 coalesce");
	is_int(rd_sched_next(&s, 400), 2000, "  due a window after the last");
	for (uint64_t t = 400; t <= 5000; t += 100)
		while (rd_sched_take(&s, t, &k, &ev))
			takes++;
	is_int(takes, 1, "one scan for the whole burst");
	is_int(ev, 9, "  standing for 9 events");
	rd_sched_free(&s);
}

static void test_max_wait(void)
{
	struct rd_sched s;
	struct rd_job_key k, a = scan(2);
	uint64_t taken_at = 0;

	rd_sched_init(&s, 2000, 5000, 4);
	/* a steady trickle, one event a second, never quiet for a window */
	for (uint64_t t = 0; t <= 10000 && !taken_at; t += 100) {
		if (t % 1000 == 0)
			rd_sched_note(&s, &a, t);
		if (rd_sched_take(&s, t, &k, NULL))
			taken_at = t;
	}
	is_int(taken_at, 5000, "a trickle still scans, max_wait after its first event");
	rd_sched_free(&s);
}

static void test_again(void)
{
	struct rd_sched s;
	struct rd_job_key k, a = scan(2);
	unsigned int ev;

	rd_sched_init(&s, 2000, 10000, 4);
	rd_sched_note(&s, &a, 0);
	rd_sched_take(&s, 2000, &k, &ev);
	is_int(rd_sched_note(&s, &a, 2500), RD_NOTE_AGAIN, "an event while it runs: again");
	is_int(rd_sched_note(&s, &a, 2600), RD_NOTE_AGAIN, "  and another");
	ok(!rd_sched_take(&s, 9000, &k, &ev), "  never two at once for a key");
	is_int(rd_sched_next(&s, 3000), -1, "  no wake-up until it ends");
	rd_sched_done(&s, &a, 3000);
	ok(rd_sched_has(&s, &a), "when it ends, it is pending again");
	is_int(rd_sched_next(&s, 3000), 1600, "  a window after the last event (2600 + 2000)");
	ok(rd_sched_take(&s, 4600, &k, &ev), "  and runs once more");
	rd_sched_done(&s, &a, 4700);
	ok(!rd_sched_has(&s, &a), "  only once");

	/* the run ended long after the event: due at once */
	rd_sched_note(&s, &a, 10000);
	rd_sched_take(&s, 12000, &k, &ev);
	rd_sched_note(&s, &a, 12001);
	rd_sched_done(&s, &a, 20000);
	is_int(rd_sched_next(&s, 20000), 0, "an again after a long run is due at once");
	rd_sched_free(&s);
}

static void test_per_host(void)
{
	struct rd_sched s;
	struct rd_job_key k, a = scan(2), r21 = rescan(2, 1), r22 = rescan(2, 2), r31 = rescan(3, 1);
	struct rd_job_key c2 = check(2);

	rd_sched_init(&s, 100, 1000, 8);
	rd_sched_note(&s, &a, 0);
	ok(rd_sched_take(&s, 100, &k, NULL) && k.kind == RD_JOB_SCAN, "host2's scan runs");
	rd_sched_note(&s, &r21, 100);
	rd_sched_note(&s, &r31, 100);
	rd_sched_note(&s, &c2, 100);
	ok(rd_sched_take(&s, 200, &k, NULL) && k.kind == RD_JOB_RESCAN && k.hctl.host == 3,
	   "  a rescan on host3 may run beside it");
	ok(!rd_sched_take(&s, 200, &k, NULL), "  a rescan or a check on host2 may not");
	is_int(rd_sched_next(&s, 200), -1, "  and is no reason to wake up");
	rd_sched_done(&s, &a, 300);
	ok(rd_sched_take(&s, 300, &k, NULL), "when the scan ends, the next host2 job runs");
	ok(!rd_sched_take(&s, 300, &k, NULL), "  one at a time, one of them host-wide");
	rd_sched_free(&s);

	rd_sched_init(&s, 100, 1000, 8);
	rd_sched_note(&s, &r21, 0);
	rd_sched_note(&s, &r22, 0);
	is_int(s.n, 2, "rescans of two LUNs are two keys");
	ok(rd_sched_take(&s, 100, &k, NULL) && rd_sched_take(&s, 100, &k, NULL),
	   "  and may run together");
	rd_sched_free(&s);

	rd_sched_init(&s, 100, 1000, 8);
	struct rd_job_key a_lun = a;

	a_lun.hctl.lun = 7;
	rd_sched_note(&s, &a, 0);
	is_int(rd_sched_note(&s, &a_lun, 10), RD_NOTE_COALESCED,
	       "a host scan noted from another LUN is the same scan");
	rd_sched_free(&s);
}

static void test_max_running(void)
{
	struct rd_sched s;
	struct rd_job_key k, keys[3] = { scan(1), scan(2), scan(3) };
	int taken = 0;

	rd_sched_init(&s, 100, 1000, 2);
	for (int i = 0; i < 3; i++)
		rd_sched_note(&s, &keys[i], (uint64_t)i);
	while (rd_sched_take(&s, 500, &k, NULL))
		taken++;
	is_int(taken, 2, "max_running 2: two of three hosts scan");
	is_int(rd_sched_next(&s, 500), -1, "  the third waits for one to end, not for a timer");
	rd_sched_done(&s, &keys[0], 600);
	ok(rd_sched_take(&s, 600, &k, NULL) && k.hctl.host == 3, "  then it runs");
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
}

static void test_reconcile(void)
{
	struct rd_sched s;
	struct rd_job_key k, r = reconcile(2), a = scan(2), r_lun = reconcile(2);
	unsigned int ev = 0;

	rd_sched_init(&s, 2000, 10000, 4);
	/* iscsid's scan adds four devices, 30 ms apart: one reconcile */
	is_int(rd_sched_note(&s, &r, 0), RD_NOTE_NEW, "a device added by someone else: a reconcile");
	r_lun.hctl.lun = 3;
	for (uint64_t t = 30; t <= 90; t += 30)
		rd_sched_note(&s, &r_lun, t);
	is_int(s.n, 1, "  the other adds join it, whatever their LUN");
	ok(rd_sched_pending(&s, &r) && !rd_sched_host_busy(&s, 2), "  pending, host2 not busy");
	ok(rd_sched_take(&s, 2090, &k, &ev) && k.kind == RD_JOB_RECONCILE && ev == 4,
	   "  one reconcile for 4 events, a window after the last");
	ok(!rd_sched_pending(&s, &r) && rd_sched_has(&s, &r), "  running, not pending");
	ok(rd_sched_host_busy(&s, 2) && !rd_sched_host_busy(&s, 3), "  host2 is busy, host3 not");
	is_int(rd_sched_note(&s, &a, 2100), RD_NOTE_NEW, "a scan noted meanwhile");
	ok(!rd_sched_take(&s, 9000, &k, NULL), "  waits: a reconcile is host-wide");
	ok(!rd_sched_drop(&s, &r), "a running job cannot be dropped");
	rd_sched_done(&s, &r, 2200);
	ok(!rd_sched_host_busy(&s, 2), "done: host2 not busy");
	ok(rd_sched_take(&s, 9000, &k, NULL) && k.kind == RD_JOB_SCAN, "  then the scan runs");
	rd_sched_done(&s, &a, 9100);
	rd_sched_free(&s);

	rd_sched_init(&s, 2000, 10000, 4);
	rd_sched_note(&s, &r, 0);
	ok(rd_sched_drop(&s, &r), "a pending reconcile can be dropped (a scan covers it)");
	ok(!rd_sched_has(&s, &r) && s.n == 0, "  and is forgotten");
	ok(!rd_sched_drop(&s, &r), "  dropping it again: nothing to drop");
	is_int(rd_sched_next(&s, 0), -1, "  nothing to wake for");
	rd_sched_free(&s);
}

int main(void)
{
	test_one_event();
	test_burst();
	test_max_wait();
	test_again();
	test_per_host();
	test_max_running();
	test_full();
	test_reconcile();
	return done_testing();
}
