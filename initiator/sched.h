// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sched.h: when lunlink-rescand runs a job, so that a burst of uevents
 * becomes one scan and scans never pile up.  Pure logic on a clock the
 * caller passes in (milliseconds, any origin), so tests drive it with a
 * fake one.
 *
 * A job is keyed by what it acts on: a host scan (SCAN), a reconcile
 * (RECONCILE: the target's LUN list against the host's devices, without a
 * host scan of its own unless a LUN has no device) or a periodic check
 * (CHECK) by SCSI host, a capacity rescan (RESCAN) by H:C:T:L.
 *   - The first event for an idle key makes it pending, due `window` ms
 *     later; more events push the due time to last event + window, but
 *     never past first event + max_wait (a steady trickle still scans).
 *   - A key runs at most once at a time; events while it runs mark it to
 *     run once more, after it ends (the scan may have begun before the
 *     target's change).
 *   - Jobs of one host do not overlap when either is host-wide (SCAN,
 *     RECONCILE, CHECK): at most one scan in flight per host.
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

enum rd_entry_state { RD_PENDING, RD_RUNNING };

struct rd_sched_entry {
	struct rd_job_key key;
	enum rd_entry_state state;
	bool again;		/* events came while running */
	uint64_t first, last, due;
	unsigned int events;	/* coalesced into this run */
};

#define RD_SCHED_MAX	4096	/* keys at once; more is refused */

struct rd_sched {
	struct rd_sched_entry *v;
	size_t n, cap;
	uint64_t window, max_wait;
	unsigned int max_running, running;
};

void rd_sched_init(struct rd_sched *s, uint64_t window_ms, uint64_t max_wait_ms,
		   unsigned int max_running);
void rd_sched_free(struct rd_sched *s);

enum rd_note {
	RD_NOTE_NEW,		/* now pending */
	RD_NOTE_COALESCED,	/* was pending: same run */
	RD_NOTE_AGAIN,		/* was running: one more run after it */
	RD_NOTE_FULL,		/* too many keys: dropped */
};
enum rd_note rd_sched_note(struct rd_sched *s, const struct rd_job_key *k, uint64_t now);

/* Is a job with this key pending or running? */
bool rd_sched_has(const struct rd_sched *s, const struct rd_job_key *k);
/* Is it pending (not running)? */
bool rd_sched_pending(const struct rd_sched *s, const struct rd_job_key *k);
/* Is any job of this host running? */
bool rd_sched_host_busy(const struct rd_sched *s, unsigned int host);
/* Forget a pending job (a running one is left alone): true if it was. */
bool rd_sched_drop(struct rd_sched *s, const struct rd_job_key *k);

/* A due job that may start now: true, its key and how many events it
 * stands for; it is then running until rd_sched_done. */
bool rd_sched_take(struct rd_sched *s, uint64_t now, struct rd_job_key *k,
		   unsigned int *events);

/* A running job ended. */
void rd_sched_done(struct rd_sched *s, const struct rd_job_key *k, uint64_t now);

/* Milliseconds until rd_sched_take can give something (0: now), or -1
 * when nothing can start before a running job ends. */
int64_t rd_sched_next(const struct rd_sched *s, uint64_t now);

const char *rd_job_kind_name(enum rd_job_kind k);

#endif
