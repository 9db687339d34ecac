// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sched.c: the leading edge, the hold and the in-flight rules of sched.h.
 * The table is a plain array scanned linearly: it holds one entry per
 * host with a burst in progress or held and one per device whose capacity
 * changed, a handful in practice, bounded by RD_SCHED_MAX.  A held entry
 * that nothing joined is forgotten lazily, when the table is next looked
 * through after its hold ended.
 */
#include "sched.h"

#include <stdlib.h>
#include <string.h>

const char *rd_job_kind_name(enum rd_job_kind k)
{
	switch (k) {
	case RD_JOB_SCAN:
		return "scan";
	case RD_JOB_RESCAN:
		return "rescan";
	case RD_JOB_RECONCILE:
		return "reconcile";
	default:
		return "check";
	}
}

void rd_sched_init(struct rd_sched *s, uint64_t hold_ms, uint64_t max_wait_ms,
		   unsigned int max_running)
{
	memset(s, 0, sizeof(*s));
	s->hold = hold_ms;
	s->max_wait = max_wait_ms < hold_ms ? hold_ms : max_wait_ms;
	s->max_running = max_running ? max_running : 1;
}

void rd_sched_free(struct rd_sched *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static bool host_wide(enum rd_job_kind k)
{
	return k == RD_JOB_SCAN || k == RD_JOB_CHECK || k == RD_JOB_RECONCILE;
}

static bool same_key(const struct rd_job_key *a, const struct rd_job_key *b)
{
	if (a->kind != b->kind || a->hctl.host != b->hctl.host)
		return false;
	return host_wide(a->kind) || !rd_hctl_cmp(&a->hctl, &b->hctl);
}

static struct rd_sched_entry *find(const struct rd_sched *s, const struct rd_job_key *k)
{
	for (size_t i = 0; i < s->n; i++)
		if (same_key(&s->v[i].key, k))
			return &s->v[i];
	return NULL;
}

static void forget(struct rd_sched *s, struct rd_sched_entry *e)
{
	*e = s->v[--s->n];
}

/* Forget the held entries whose hold has ended. */
static void expire(struct rd_sched *s, uint64_t now)
{
	for (size_t i = s->n; i-- > 0;)
		if (s->v[i].state == RD_HOLDING && now >= s->v[i].started + s->hold)
			forget(s, &s->v[i]);
}

bool rd_sched_has(const struct rd_sched *s, const struct rd_job_key *k)
{
	const struct rd_sched_entry *e = find(s, k);

	return e && e->state != RD_HOLDING;
}

bool rd_sched_pending(const struct rd_sched *s, const struct rd_job_key *k)
{
	const struct rd_sched_entry *e = find(s, k);

	return e && e->state == RD_PENDING;
}

bool rd_sched_host_busy(const struct rd_sched *s, unsigned int host)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].state == RD_RUNNING && s->v[i].key.hctl.host == host)
			return true;
	return false;
}

bool rd_sched_drop(struct rd_sched *s, const struct rd_job_key *k)
{
	struct rd_sched_entry *e = find(s, k);

	if (!e || e->state != RD_PENDING)
		return false;
	if (e->followup) {
		/* still held: the next event is gathered, not run at once */
		e->state = RD_HOLDING;
		e->followup = false;
		e->events = 0;
	} else {
		forget(s, e);
	}
	return true;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* When the follow-up gathered so far is due (once the run has ended). */
static uint64_t followup_due(const struct rd_sched *s, const struct rd_sched_entry *e)
{
	return max_u64(e->started + s->hold, min_u64(e->last + s->hold, e->first + s->max_wait));
}

/* An event for e, which ran at e->started: gather it for the follow-up. */
static void gather(const struct rd_sched *s, struct rd_sched_entry *e, uint64_t now)
{
	if (!e->events)
		e->first = now;
	e->last = now;
	e->events++;
	if (e->state == RD_PENDING)
		e->due = followup_due(s, e);
}

enum rd_note rd_sched_note(struct rd_sched *s, const struct rd_job_key *k, uint64_t now)
{
	struct rd_sched_entry *e = find(s, k);

	if (e && e->state == RD_HOLDING && now >= e->started + s->hold) {
		forget(s, e);
		e = NULL;
	}
	if (e) {
		switch (e->state) {
		case RD_RUNNING:
			gather(s, e, now);
			return RD_NOTE_AGAIN;
		case RD_HOLDING:
			e->state = RD_PENDING;
			e->followup = true;
			gather(s, e, now);
			return RD_NOTE_HELD;
		case RD_PENDING:
			if (e->followup) {
				gather(s, e, now);
			} else {
				/* due at once, waiting for its host or a free slot */
				e->events++;
				e->last = now;
			}
			return RD_NOTE_COALESCED;
		}
	}
	if (s->n == RD_SCHED_MAX)
		expire(s, now);
	if (s->n == RD_SCHED_MAX)
		return RD_NOTE_FULL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct rd_sched_entry *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return RD_NOTE_FULL;
		s->v = nv;
		s->cap = cap;
	}
	e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	if (host_wide(k->kind))
		e->key.hctl = (struct rd_hctl){ .host = k->hctl.host };
	e->state = RD_PENDING;
	e->first = e->last = e->due = now;
	e->events = 1;
	return RD_NOTE_NEW;
}

/* Would e, if started, overlap a running job of its host? */
static bool blocked(const struct rd_sched *s, const struct rd_sched_entry *e)
{
	if (s->running >= s->max_running)
		return true;
	for (size_t i = 0; i < s->n; i++) {
		const struct rd_sched_entry *r = &s->v[i];

		if (r == e || r->state != RD_RUNNING || r->key.hctl.host != e->key.hctl.host)
			continue;
		if (host_wide(r->key.kind) || host_wide(e->key.kind))
			return true;
	}
	return false;
}

bool rd_sched_take(struct rd_sched *s, uint64_t now, struct rd_sched_run *run)
{
	struct rd_sched_entry *best = NULL;

	expire(s, now);
	for (size_t i = 0; i < s->n; i++) {
		struct rd_sched_entry *e = &s->v[i];

		if (e->state != RD_PENDING || e->due > now || blocked(s, e))
			continue;
		if (!best || e->due < best->due)
			best = e;
	}
	if (!best)
		return false;
	run->key = best->key;
	run->events = best->events;
	run->followup = best->followup;
	best->state = RD_RUNNING;
	best->followup = false;
	best->started = now;
	best->events = 0;
	s->running++;
	return true;
}

void rd_sched_done(struct rd_sched *s, const struct rd_job_key *k, uint64_t now)
{
	struct rd_sched_entry *e = find(s, k);

	if (!e || e->state != RD_RUNNING)
		return;
	s->running--;
	if (e->events) {
		/* events came while it ran: one follow-up */
		e->state = RD_PENDING;
		e->followup = true;
		e->due = max_u64(now, followup_due(s, e));
	} else if (now < e->started + s->hold) {
		e->state = RD_HOLDING;
	} else {
		forget(s, e);
	}
}

int64_t rd_sched_next(const struct rd_sched *s, uint64_t now)
{
	int64_t best = -1;

	for (size_t i = 0; i < s->n; i++) {
		const struct rd_sched_entry *e = &s->v[i];
		int64_t wait;

		if (e->state != RD_PENDING || blocked(s, e))
			continue;
		wait = e->due > now ? (int64_t)(e->due - now) : 0;
		if (best < 0 || wait < best)
			best = wait;
	}
	return best;
}
