// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/range_lock.c: unit tests (TAP) of target/lib/range_lock.c, the shared
 * and exclusive byte-range lock: conflicts, FIFO grants, no starvation of
 * exclusive requests, cascades, and a randomized check against a model.
 */
#include "lib/range_lock.h"
#include "tap.h"

#include <stddef.h>
#include <stdlib.h>

/* A request as a command would hold one, with a record of its grants. */
struct req {
	struct ll_range r;
	int id;
	unsigned int grants;		/* times grant was called */
};

static int grant_log[64];
static unsigned int grant_log_len;

#define req_of(rp) ((struct req *)((char *)(rp) - offsetof(struct req, r)))

static void on_grant(struct ll_range *r)
{
	struct req *q = req_of(r);

	q->grants++;
	if (grant_log_len < sizeof(grant_log) / sizeof(grant_log[0]))
		grant_log[grant_log_len++] = q->id;
}

static void req_init(struct req *q, int id, uint64_t start, uint64_t end, bool excl)
{
	memset(q, 0, sizeof(*q));
	q->id = id;
	q->r.start = start;
	q->r.end = end;
	q->r.exclusive = excl;
	q->r.grant = on_grant;
}

static void log_reset(void)
{
	grant_log_len = 0;
}

/* The grant log as "1,2,3", for is_str. */
static const char *log_str(void)
{
	static char buf[256];
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < grant_log_len && n < sizeof(buf) - 16; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d", i ? "," : "",
				      grant_log[i]);
	return buf;
}

static void test_shared(void)
{
	struct ll_range_lock rl;
	struct req a, b, c;

	ll_range_lock_init(&rl);
	req_init(&a, 1, 0, 100, false);
	req_init(&b, 2, 0, 100, false);
	req_init(&c, 3, 50, 150, false);
	ok(ll_range_acquire(&rl, &a.r), "shared [0,100) is held at once");
	ok(ll_range_acquire(&rl, &b.r), "the same shared range again is held at once");
	ok(ll_range_acquire(&rl, &c.r), "an overlapping shared range is held at once");
	ok(a.r.held && b.r.held && c.r.held, "all three are marked held");
	is_int(rl.exclusive, 0, "nothing exclusive is counted");
	ll_range_release(&rl, &b.r);
	ll_range_release(&rl, &a.r);
	ll_range_release(&rl, &c.r);
	ok(!rl.held_head && !rl.wait_head, "released, the lock is empty");
	ok(!a.grants && !b.grants && !c.grants, "no grant callback for ranges held at once");
}

static void test_exclusive(void)
{
	struct ll_range_lock rl;
	struct req s, e, x, y, s2;

	/* shared held, exclusive overlapping waits */
	ll_range_lock_init(&rl);
	log_reset();
	req_init(&s, 1, 0, 100, false);
	req_init(&e, 2, 99, 200, true);
	ok(ll_range_acquire(&rl, &s.r), "shared [0,100) is held");
	ok(!ll_range_acquire(&rl, &e.r), "exclusive [99,200) overlapping it waits");
	ok(!e.r.held, "  and is not marked held");
	is_int(rl.exclusive, 1, "  and is counted");
	ll_range_release(&rl, &s.r);
	ok(e.r.held, "releasing the shared range grants the exclusive one");
	is_int(e.grants, 1, "  its grant is called once");
	ll_range_release(&rl, &e.r);
	is_int(rl.exclusive, 0, "released, nothing exclusive is counted");

	/* exclusive held, shared overlapping waits */
	ll_range_lock_init(&rl);
	req_init(&e, 1, 10, 20, true);
	req_init(&s, 2, 0, 11, false);
	req_init(&s2, 3, 19, 30, false);
	ok(ll_range_acquire(&rl, &e.r), "exclusive [10,20) is held");
	ok(!ll_range_acquire(&rl, &s.r), "shared [0,11) overlapping it waits");
	ok(!ll_range_acquire(&rl, &s2.r), "shared [19,30) overlapping it waits");
	ll_range_release(&rl, &e.r);
	ok(s.r.held && s2.r.held, "releasing the exclusive one grants both shared");
	ok(s.grants == 1 && s2.grants == 1, "  each grant is called once");
	ll_range_release(&rl, &s.r);
	ll_range_release(&rl, &s2.r);

	/* exclusive held, exclusive overlapping waits */
	ll_range_lock_init(&rl);
	req_init(&x, 1, 0, 4096, true);
	req_init(&y, 2, 4095, 4096, true);
	ok(ll_range_acquire(&rl, &x.r), "exclusive [0,4096) is held");
	ok(!ll_range_acquire(&rl, &y.r), "exclusive [4095,4096) inside it waits");
	ll_range_release(&rl, &x.r);
	ok(y.r.held && y.grants == 1, "and is granted on release");
	ll_range_release(&rl, &y.r);

	/* non-overlapping exclusives, and adjacency */
	ll_range_lock_init(&rl);
	req_init(&x, 1, 0, 10, true);
	req_init(&y, 2, 10, 20, true);
	req_init(&s, 3, 20, 30, false);
	req_init(&s2, 4, 100, 200, false);
	ok(ll_range_acquire(&rl, &x.r), "exclusive [0,10) is held");
	ok(ll_range_acquire(&rl, &y.r), "exclusive [10,20), adjacent, is held at once");
	ok(ll_range_acquire(&rl, &s.r), "shared [20,30), adjacent, is held at once");
	ok(ll_range_acquire(&rl, &s2.r), "shared [100,200), far away, is held at once");
	is_int(rl.exclusive, 2, "two exclusive ranges are counted");
	ll_range_release(&rl, &x.r);
	ll_range_release(&rl, &y.r);
	ll_range_release(&rl, &s.r);
	ll_range_release(&rl, &s2.r);
	ok(!rl.held_head && !rl.wait_head && !rl.exclusive, "released, the lock is empty");

	/* ranges at the top of the address space */
	ll_range_lock_init(&rl);
	req_init(&x, 1, UINT64_MAX - 10, UINT64_MAX, true);
	req_init(&y, 2, UINT64_MAX - 1, UINT64_MAX, false);
	req_init(&s, 3, 0, UINT64_MAX - 10, false);
	ok(ll_range_acquire(&rl, &x.r), "exclusive at the top of the space is held");
	ok(!ll_range_acquire(&rl, &y.r), "shared inside it waits");
	ok(ll_range_acquire(&rl, &s.r), "shared everything below it is held at once");
	ll_range_release(&rl, &x.r);
	ok(y.r.held, "release grants the waiter");
	ll_range_release(&rl, &y.r);
	ll_range_release(&rl, &s.r);
}

static void test_fifo(void)
{
	struct ll_range_lock rl;
	struct req e, w[6];

	/* Waiters on one range are granted one at a time, in order. */
	ll_range_lock_init(&rl);
	log_reset();
	req_init(&e, 0, 0, 100, true);
	ok(ll_range_acquire(&rl, &e.r), "exclusive [0,100) is held");
	for (int i = 0; i < 4; i++) {
		req_init(&w[i], i + 1, (uint64_t)i, (uint64_t)i + 50, true);
		ok(!ll_range_acquire(&rl, &w[i].r), "exclusive waiter %d waits", i + 1);
	}
	static const char *const want[] = { "1", "1,2", "1,2,3", "1,2,3,4" };
	struct ll_range *held = &e.r;

	for (int i = 0; i < 4; i++) {
		ll_range_release(&rl, held);
		is_str(log_str(), want[i],
		       "release %d grants the next exclusive waiter, in order", i + 1);
		held = &w[i].r;
	}
	ll_range_release(&rl, held);
	for (int i = 0; i < 4; i++)
		is_int(w[i].grants, 1, "waiter %d's grant was called once", i + 1);

	/* Shared waiters behind one exclusive are all granted, in order, at once. */
	ll_range_lock_init(&rl);
	log_reset();
	req_init(&e, 0, 0, 100, true);
	ll_range_acquire(&rl, &e.r);
	for (int i = 0; i < 5; i++) {
		req_init(&w[i], i + 1, (uint64_t)i * 20, (uint64_t)i * 20 + 10, false);
		ok(!ll_range_acquire(&rl, &w[i].r), "shared waiter %d waits", i + 1);
	}
	ll_range_release(&rl, &e.r);
	is_str(log_str(), "1,2,3,4,5", "one release grants all five, in arrival order");
	for (int i = 0; i < 5; i++) {
		ok(w[i].r.held && w[i].grants == 1, "shared waiter %d held, granted once", i + 1);
		ll_range_release(&rl, &w[i].r);
	}
	ok(!rl.held_head && !rl.wait_head, "released, the lock is empty");
	is_int(grant_log_len, 5, "no grant was called twice");
}

static void test_no_starvation(void)
{
	struct ll_range_lock rl;
	struct req s1, e, s2, s3, s4;

	ll_range_lock_init(&rl);
	log_reset();
	req_init(&s1, 1, 0, 100, false);
	req_init(&e, 2, 50, 60, true);
	req_init(&s2, 3, 0, 100, false);
	req_init(&s3, 4, 55, 56, false);
	req_init(&s4, 5, 60, 100, false);
	ok(ll_range_acquire(&rl, &s1.r), "shared [0,100) is held");
	ok(!ll_range_acquire(&rl, &e.r), "exclusive [50,60) waits for it");
	ok(!ll_range_acquire(&rl, &s2.r),
	   "a later shared [0,100) waits behind the exclusive waiter, though the held range is shared");
	ok(!ll_range_acquire(&rl, &s3.r), "a later shared [55,56) waits too");
	ok(ll_range_acquire(&rl, &s4.r),
	   "a later shared [60,100), not overlapping the waiter, is held at once");
	ll_range_release(&rl, &s4.r);
	is_str(log_str(), "", "releasing it grants nothing");
	ll_range_release(&rl, &s1.r);
	is_str(log_str(), "2", "releasing the first shared grants the exclusive waiter only");
	ok(e.r.held && !s2.r.held && !s3.r.held, "  the later shared still wait");
	ll_range_release(&rl, &e.r);
	is_str(log_str(), "2,3,4", "releasing the exclusive grants both shared waiters, in order");
	ll_range_release(&rl, &s2.r);
	ll_range_release(&rl, &s3.r);

	/* An exclusive arriving behind a shared waiter waits for it too. */
	ll_range_lock_init(&rl);
	log_reset();
	req_init(&e, 1, 0, 10, true);
	req_init(&s1, 2, 5, 20, false);
	req_init(&s2, 3, 15, 25, true);
	ok(ll_range_acquire(&rl, &e.r), "exclusive [0,10) is held");
	ok(!ll_range_acquire(&rl, &s1.r), "shared [5,20) waits");
	ok(!ll_range_acquire(&rl, &s2.r),
	   "exclusive [15,25) waits behind the shared waiter, though nothing held overlaps it");
	ll_range_release(&rl, &e.r);
	is_str(log_str(), "2", "release grants the shared waiter first");
	ll_range_release(&rl, &s1.r);
	is_str(log_str(), "2,3", "then the exclusive one");
	ll_range_release(&rl, &s2.r);
	ok(!rl.held_head && !rl.wait_head && !rl.exclusive, "released, the lock is empty");
}

/* A grant callback that releases its range at once: a cascade. */
static struct ll_range_lock *cascade_rl;

static void release_on_grant(struct ll_range *r)
{
	on_grant(r);
	ll_range_release(cascade_rl, r);
}

static void test_cascade(void)
{
	struct ll_range_lock rl;
	struct req e, w[4], last;

	ll_range_lock_init(&rl);
	cascade_rl = &rl;
	log_reset();
	req_init(&e, 0, 0, 10, true);
	ll_range_acquire(&rl, &e.r);
	for (int i = 0; i < 4; i++) {
		req_init(&w[i], i + 1, 0, 10, i % 2 == 0);
		w[i].r.grant = release_on_grant;
		ok(!ll_range_acquire(&rl, &w[i].r), "waiter %d (%s) waits", i + 1,
		   i % 2 == 0 ? "exclusive" : "shared");
	}
	req_init(&last, 5, 0, 10, true);
	ok(!ll_range_acquire(&rl, &last.r), "waiter 5 (exclusive) waits");
	ll_range_release(&rl, &e.r);
	is_str(log_str(), "1,2,3,4,5",
	       "one release cascades through waiters that release when granted");
	ok(last.r.held && last.grants == 1, "the last waiter is held, granted once");
	for (int i = 0; i < 4; i++)
		ok(!w[i].r.held && w[i].grants == 1, "waiter %d was granted once and released",
		   i + 1);
	ll_range_release(&rl, &last.r);
	ok(!rl.held_head && !rl.wait_head && !rl.exclusive, "released, the lock is empty");

	/* Releasing a granted waiter grants the ones behind it. */
	ll_range_lock_init(&rl);
	log_reset();
	req_init(&e, 0, 0, 10, true);
	req_init(&w[0], 1, 5, 15, true);
	req_init(&w[1], 2, 12, 20, true);
	req_init(&w[2], 3, 18, 30, false);
	ll_range_acquire(&rl, &e.r);
	ok(!ll_range_acquire(&rl, &w[0].r) && !ll_range_acquire(&rl, &w[1].r) &&
	   !ll_range_acquire(&rl, &w[2].r), "a chain of three overlapping waiters waits");
	ll_range_release(&rl, &e.r);
	is_str(log_str(), "1", "release grants the first of the chain");
	ll_range_release(&rl, &w[0].r);
	is_str(log_str(), "1,2", "releasing it grants the second");
	ll_range_release(&rl, &w[1].r);
	is_str(log_str(), "1,2,3", "releasing that grants the third");
	ll_range_release(&rl, &w[2].r);
	ok(!rl.held_head && !rl.wait_head && !rl.exclusive, "released, the lock is empty");
}

/*
 * The randomized check: random acquires and releases of random ranges, with
 * the lock's answers compared to a model of its documented policy.  A
 * request waits iff it conflicts with a held range or with a waiting one;
 * a release grants, in arrival order, each waiter that conflicts with
 * nothing held (counting those just granted) and no earlier waiter.
 */
#define MODEL_N		48
#define MODEL_SPACE	256

enum mstate { M_IDLE, M_WAIT, M_HELD };

static struct mreq {
	struct ll_range r;
	enum mstate state;
	unsigned long seq;		/* arrival order of a waiter */
	unsigned int grants;
	bool expect_grant;
} mreqs[MODEL_N];

static unsigned int model_bad;

static void model_grant(struct ll_range *r)
{
	struct mreq *m = (struct mreq *)((char *)r - offsetof(struct mreq, r));

	m->grants++;
	if (!m->expect_grant)
		model_bad++;
	m->expect_grant = false;
}

static bool mconflict(const struct mreq *a, const struct mreq *b)
{
	return (a->r.exclusive || b->r.exclusive) &&
	       a->r.start < b->r.end && b->r.start < a->r.end;
}

/* Waiters in arrival order. */
static int waiters(int *out)
{
	int n = 0;

	for (int i = 0; i < MODEL_N; i++)
		if (mreqs[i].state == M_WAIT)
			out[n++] = i;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && mreqs[out[j - 1]].seq > mreqs[out[j]].seq; j--) {
			int t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static bool model_blocked(int i, const int *w, int nw)
{
	for (int j = 0; j < MODEL_N; j++)
		if (mreqs[j].state == M_HELD && mconflict(&mreqs[j], &mreqs[i]))
			return true;
	for (int k = 0; k < nw && w[k] != i; k++)
		if (mreqs[w[k]].state == M_WAIT && mconflict(&mreqs[w[k]], &mreqs[i]))
			return true;
	return false;
}

/* The lock's state agrees with the model, and no two held ranges conflict. */
static bool model_consistent(const struct ll_range_lock *rl, const char **why)
{
	unsigned int nheld = 0, nwait = 0, nexcl = 0;
	const struct ll_range *r;

	for (int i = 0; i < MODEL_N; i++) {
		const struct mreq *a = &mreqs[i];

		if (a->state == M_HELD) {
			nheld++;
			for (int j = i + 1; j < MODEL_N; j++)
				if (mreqs[j].state == M_HELD && mconflict(a, &mreqs[j])) {
					*why = "two held ranges conflict";
					return false;
				}
		}
		nwait += a->state == M_WAIT;
		nexcl += a->state != M_IDLE && a->r.exclusive;
		if (a->r.held != (a->state == M_HELD)) {
			*why = "a range's held flag disagrees with the model";
			return false;
		}
	}
	for (r = rl->held_head; r; r = r->next)
		nheld--;
	for (r = rl->wait_head; r; r = r->next)
		nwait--;
	if (nheld || nwait) {
		*why = "the held or wait list disagrees with the model";
		return false;
	}
	if (nexcl != rl->exclusive) {
		*why = "the exclusive count disagrees with the model";
		return false;
	}
	return true;
}

static void test_model(void)
{
	struct ll_range_lock rl;
	unsigned long seq = 0, acquires = 0, waits = 0, grants = 0;
	const char *why = NULL;
	bool good = true;
	int w[MODEL_N], nw;

	srand(20240601);
	ll_range_lock_init(&rl);
	memset(mreqs, 0, sizeof(mreqs));
	model_bad = 0;

	for (int op = 0; op < 20000 && good; op++) {
		int i = rand() % MODEL_N;
		struct mreq *m;

		/* A waiting request can do nothing: release the next held one. */
		for (int k = 0; k < MODEL_N && mreqs[i].state == M_WAIT; k++)
			i = (i + 1) % MODEL_N;
		m = &mreqs[i];

		if (m->state == M_IDLE) {
			uint64_t a = (uint64_t)(rand() % MODEL_SPACE);
			uint64_t len = 1 + (uint64_t)(rand() % (rand() % 8 ? 16 : MODEL_SPACE / 2));

			m->r.start = a;
			m->r.end = a + len;
			m->r.exclusive = rand() % 4 == 0;
			m->r.grant = model_grant;
			nw = waiters(w);
			bool expect_wait = model_blocked(i, w, nw);

			m->state = M_WAIT;	/* as model_blocked sees it: last in line */
			m->seq = seq++;
			bool held = ll_range_acquire(&rl, &m->r);

			acquires++;
			if (held == expect_wait) {
				why = expect_wait ? "a conflicting acquire was held at once"
						  : "an acquire waited without a conflict";
				good = false;
			}
			m->state = held ? M_HELD : M_WAIT;
			waits += !held;
		} else if (m->state == M_HELD) {
			m->state = M_IDLE;
			/* Work out which waiters the release should grant. */
			nw = waiters(w);
			for (int k = 0; k < nw; k++)
				if (!model_blocked(w[k], w, nw)) {
					mreqs[w[k]].state = M_HELD;
					mreqs[w[k]].expect_grant = true;
				}
			ll_range_release(&rl, &m->r);
			for (int k = 0; k < nw; k++)
				if (mreqs[w[k]].expect_grant) {
					why = "a release did not grant a waiter it should";
					good = false;
				} else if (mreqs[w[k]].state == M_HELD) {
					grants++;
				}
			if (model_bad) {
				why = "a grant was called for a range not due one";
				good = false;
			}
		}
		if (good && !model_consistent(&rl, &why))
			good = false;
		if (!good)
			diag("  at op %d (request %d [%llu,%llu) %s)", op, i,
			     (unsigned long long)m->r.start, (unsigned long long)m->r.end,
			     m->r.exclusive ? "exclusive" : "shared");
	}
	ok(good, "20000 random acquires and releases agree with the model");
	if (!good)
		diag("  %s", why);
	diag("  %lu acquires, %lu waited, %lu granted on release", acquires, waits, grants);
	ok(waits > 500 && grants > 500, "the random run waited and granted often enough to mean something");

	/* Drain: release whatever is held until nothing is; every waiter must
	 * be granted on the way, once. */
	unsigned int rounds = 0;

	while (rl.held_head && rounds++ < 10 * MODEL_N) {
		struct mreq *m = (struct mreq *)((char *)rl.held_head - offsetof(struct mreq, r));

		m->state = M_IDLE;
		for (int k = 0; k < MODEL_N; k++)
			if (mreqs[k].state == M_WAIT)
				mreqs[k].expect_grant = true;	/* any may now be granted */
		ll_range_release(&rl, &m->r);
		for (int k = 0; k < MODEL_N; k++)
			if (mreqs[k].state == M_WAIT && mreqs[k].r.held) {
				mreqs[k].state = M_HELD;
				mreqs[k].expect_grant = false;
			}
	}
	ok(!rl.held_head && !rl.wait_head, "draining the lock grants every waiter");
	ok(!rl.exclusive, "  and leaves no exclusive counted");
	unsigned int twice = 0;

	for (int k = 0; k < MODEL_N; k++)
		twice += mreqs[k].state == M_WAIT;
	is_int(twice, 0, "  no request is left waiting");

	/* Total grants = total waits: each waiter's callback ran exactly once. */
	unsigned long calls = 0;

	for (int k = 0; k < MODEL_N; k++)
		calls += mreqs[k].grants;
	is_int(calls, waits, "grant was called exactly once per request that waited");
}

/* a resync's range of an image, in the LUN that serves part of it */
static void test_in_lun(void)
{
	struct ll_range r;

	/* window=4M:8M, the LUN's first extent */
	ok(ll_range_in_lun(4 << 20, 8 << 20, 0, 5 << 20, 1 << 20, &r) &&
	   r.start == 1 << 20 && r.end == 2 << 20, "inside the window: moved back by its offset");
	ok(ll_range_in_lun(4 << 20, 8 << 20, 0, 3 << 20, 2 << 20, &r) &&
	   r.start == 0 && r.end == 1 << 20, "across the window's start: the part inside");
	ok(ll_range_in_lun(4 << 20, 8 << 20, 0, 11 << 20, 2 << 20, &r) &&
	   r.start == 7 << 20 && r.end == 8 << 20, "across the window's end: the part inside");
	ok(!ll_range_in_lun(4 << 20, 8 << 20, 0, 0, 4 << 20, &r), "before the window: nothing");
	ok(!ll_range_in_lun(4 << 20, 8 << 20, 0, 12 << 20, 1 << 20, &r), "after the window: nothing");
	/* the second extent: 8M of an image from its 1M, at LUN offset 4M */
	ok(ll_range_in_lun(1 << 20, 8 << 20, 4 << 20, 1 << 20, 65536, &r) &&
	   r.start == 4 << 20 && r.end == (4 << 20) + 65536, "an extent: at its place in the LUN");
	ok(ll_range_in_lun(0, 16 << 20, 0, 0, 16 << 20, &r) && r.start == 0 &&
	   r.end == 16 << 20, "the whole image, the whole LUN: the same range");
}

int main(void)
{
	test_shared();
	test_exclusive();
	test_fifo();
	test_no_starvation();
	test_cascade();
	test_model();
	test_in_lun();
	return done_testing();
}
