// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * range_lock.c: shared and exclusive byte ranges of a LUN; see range_lock.h.
 */
#include "range_lock.h"

#include <stddef.h>

void ll_range_lock_init(struct ll_range_lock *rl)
{
	rl->held_head = NULL;
	rl->wait_head = rl->wait_tail = NULL;
	rl->exclusive = 0;
}

static bool overlap(const struct ll_range *a, const struct ll_range *b)
{
	return a->start < b->end && b->start < a->end;
}

static bool conflict(const struct ll_range *a, const struct ll_range *b)
{
	return (a->exclusive || b->exclusive) && overlap(a, b);
}

static bool conflicts_with_held(struct ll_range_lock *rl, const struct ll_range *r)
{
	const struct ll_range *h;

	for (h = rl->held_head; h; h = h->next)
		if (conflict(h, r))
			return true;
	return false;
}

static void hold(struct ll_range_lock *rl, struct ll_range *r)
{
	r->held = true;
	r->prev = NULL;
	r->next = rl->held_head;
	if (rl->held_head)
		rl->held_head->prev = r;
	rl->held_head = r;
}

bool ll_range_acquire(struct ll_range_lock *rl, struct ll_range *r)
{
	const struct ll_range *w;

	if (r->exclusive)
		rl->exclusive++;
	if (rl->exclusive) {
		bool blocked = conflicts_with_held(rl, r);

		for (w = rl->wait_head; w && !blocked; w = w->next)
			if (overlap(w, r) && (w->exclusive || r->exclusive))
				blocked = true;
		if (blocked) {
			r->held = false;
			r->next = NULL;
			r->prev = rl->wait_tail;
			if (rl->wait_tail)
				rl->wait_tail->next = r;
			else
				rl->wait_head = r;
			rl->wait_tail = r;
			return false;
		}
	}
	hold(rl, r);
	return true;
}

void ll_range_release(struct ll_range_lock *rl, struct ll_range *r)
{
	struct ll_range *w, *next, *e;
	struct ll_range *granted = NULL, **gtail = &granted;

	if (r->prev)
		r->prev->next = r->next;
	else
		rl->held_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->held = false;
	if (r->exclusive)
		rl->exclusive--;

	/* Grant, in order, every waiter that conflicts with nothing held and
	 * with no earlier waiter still waiting. */
	for (w = rl->wait_head; w; w = next) {
		bool blocked = conflicts_with_held(rl, w);

		next = w->next;
		for (e = rl->wait_head; e != w && !blocked; e = e->next)
			if (conflict(e, w))
				blocked = true;
		if (blocked)
			continue;
		if (w->prev)
			w->prev->next = w->next;
		else
			rl->wait_head = w->next;
		if (w->next)
			w->next->prev = w->prev;
		else
			rl->wait_tail = w->prev;
		hold(rl, w);
		/* collect, and call grant once the lists are consistent */
		w->grant_next = NULL;
		*gtail = w;
		gtail = &w->grant_next;
	}
	while (granted) {
		w = granted;
		granted = w->grant_next;
		w->grant(w);
	}
}
