/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * range_lock.h: byte ranges of a LUN held by commands in flight.
 *
 * Plain writes hold their range shared: SCSI does not order overlapping
 * simple commands, and tgt already hands them to us in arrival order.  A
 * read-modify-write (COMPARE AND WRITE, ORWRITE) holds its range
 * exclusively, so no write lands between its read and its write.  Waiters
 * are granted in arrival order; a waiter also yields to earlier overlapping
 * waiters, so an exclusive request is never starved by a stream of shared
 * ones.  Everything runs in tgtd's main loop: no locking.
 *
 * The scan is linear in the ranges held, and is skipped altogether while
 * nothing exclusive is held or waiting: the common case costs two list
 * operations per write.
 */
#ifndef LUNLINK_RANGE_LOCK_H
#define LUNLINK_RANGE_LOCK_H

#include <stdbool.h>
#include <stdint.h>

struct ll_range {
	uint64_t start, end;		/* [start, end) */
	bool exclusive;
	bool held;
	void (*grant)(struct ll_range *r);	/* called when a waiter is granted */
	struct ll_range *prev, *next;
	struct ll_range *grant_next;
};

struct ll_range_lock {
	struct ll_range *held_head;
	struct ll_range *wait_head, *wait_tail;
	unsigned int exclusive;		/* exclusive ranges held or waiting */
};

void ll_range_lock_init(struct ll_range_lock *rl);

/*
 * Returns true when r is held at once; false when it waits, and r->grant
 * is called (from a later ll_range_release) when it is held.
 */
bool ll_range_acquire(struct ll_range_lock *rl, struct ll_range *r);

void ll_range_release(struct ll_range_lock *rl, struct ll_range *r);

/*
 * Where [start, start+len) of a backing image's data is in the LUN, when
 * the LUN serves the part [win_off, win_off+win_len) of it from LUN offset
 * lun_start (a window, or one extent of several).  Fills *r with the LUN
 * range of the part the LUN serves; false if it serves none of it.
 */
static inline bool ll_range_in_lun(uint64_t win_off, uint64_t win_len, uint64_t lun_start,
				   uint64_t start, uint64_t len, struct ll_range *r)
{
	uint64_t lo = start > win_off ? start : win_off;
	uint64_t hi = start + len < win_off + win_len ? start + len : win_off + win_len;

	if (lo >= hi)
		return false;
	r->start = lun_start + (lo - win_off);
	r->end = lun_start + (hi - win_off);
	return true;
}

#endif
