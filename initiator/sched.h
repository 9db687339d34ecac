// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sched.h: when lunlink-rescand runs a job, so that a change is acted on
 * at once, the rest of its burst of uevents becomes at most one more run,
 * and scans never pile up.  Pure logic on a clock the caller passes in
 * (milliseconds, any origin), so tests drive it with a fake one.
 *
 * A job is keyed by what it acts on: a host scan (SCAN), a reconcile
 * (RECONCILE: the target's LUN list against the host's devices, without a
 * host scan of its own unless a LUN has no device) or a periodic check
 * (CHECK) by SCSI host, a capacity rescan (RESCAN) by H:C:T:L.
 *   - Leading edge: the first event for an idle key makes it due at once.
 *   - Hold: from the moment a run starts, the key is held for `hold` ms.
 *     Events that come while it runs or while it is held are gathered
 *     into one follow-up run, due once `hold` ms pass with no new event
 *     (so never sooner than `hold` after the run started), never later
 *     than `max_wait` after the first gathered event (a steady trickle
 *     still runs), and never before the run ends.  The follow-up is kept
 *     because nothing tells an event raised by the change the run saw from
 *     one raised by a change just after it; the caller may make it cheaper
 *     (the daemon reconciles instead of scanning again).
 *   - An event after the hold is a new burst: at once again.
 *   - A key runs at most once at a time.
 *   - Jobs of one host do not overlap when either is host-wide (SCAN,
 *     RECONCILE, CHECK): at most one scan in flight per host.  A job so
 *     blocked (or by max_running) gathers the events that come meanwhile.
 *   - At most max_running jobs in all.
 */
#ifndef LUNLINK_RESCAND_SCHED_H
#define LUNLINK_RESCAND_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

enum rd_job_kind { RD_JOB_SCAN, RD_JOB_RESCAN, RD_JOB_CHECK, RD_JOB_RECONCILE };

struct rd_job_key {
	enum rd_job_kind kind;
	struct rd_hctl hctl;	/* SCAN, RECONCILE, CHECK: only .host counts */
};

enum rd_entry_state {
	RD_PENDING,		/* due at .due */
	RD_RUNNING,
	RD_HOLDING,		/* ran, nothing gathered yet; forgotten at started + hold */
};

struct rd_sched_entry {
	struct rd_job_key key;
	enum rd_entry_state state;
	bool followup;		/* PENDING: gathered during an earlier run's hold */
	uint64_t started;	/* RUNNING, HOLDING, follow-up: when the last run began */
	uint64_t first, last;	/* the events gathered for the next run */
	uint64_t due;
	unsigned int events;	/* how many: coalesced into the next run */
};

#define RD_SCHED_MAX	4096	/* keys at once; more is refused */

struct rd_sched {
	struct rd_sched_entry *v;
	size_t n, cap;
	uint64_t hold, max_wait;
	unsigned int max_running, running;
};

void rd_sched_init(struct rd_sched *s, uint64_t hold_ms, uint64_t max_wait_ms,
		   unsigned int max_running);
void rd_sched_free(struct rd_sched *s);

enum rd_note {
	RD_NOTE_NEW,		/* idle: due at once */
	RD_NOTE_COALESCED,	/* was pending: same run */
	RD_NOTE_AGAIN,		/* was running: one follow-up after it */
	RD_NOTE_HELD,		/* ran less than hold ago: one follow-up */
	RD_NOTE_FULL,		/* too many keys: dropped */
};
enum rd_note rd_sched_note(struct rd_sched *s, const struct rd_job_key *k, uint64_t now);

/* Is a job with this key pending or running (held only: no)? */
bool rd_sched_has(const struct rd_sched *s, const struct rd_job_key *k);
/* Is it pending (not running)? */
bool rd_sched_pending(const struct rd_sched *s, const struct rd_job_key *k);
/* Is any job of this host running? */
bool rd_sched_host_busy(const struct rd_sched *s, unsigned int host);
/* Forget a pending job (a running one is left alone): true if it was. */
bool rd_sched_drop(struct rd_sched *s, const struct rd_job_key *k);

struct rd_sched_run {
	struct rd_job_key key;
	unsigned int events;	/* how many events it stands for */
	bool followup;		/* gathered during an earlier run of this key */
};

/* A due job that may start now: true and what to run; it is then running
 * until rd_sched_done. */
bool rd_sched_take(struct rd_sched *s, uint64_t now, struct rd_sched_run *run);

/* A running job ended. */
void rd_sched_done(struct rd_sched *s, const struct rd_job_key *k, uint64_t now);

/* Milliseconds until rd_sched_take can give something (0: now), or -1
 * when nothing can start before a running job ends. */
int64_t rd_sched_next(const struct rd_sched *s, uint64_t now);

const char *rd_job_kind_name(enum rd_job_kind k);

#endif
