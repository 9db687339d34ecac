/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_state_check.h: the invariants of a persistent reservation state
 * (lunlink/pr.h) that the engine's fuzz targets (fuzz-pr-out.c,
 * fuzz-pr-text.c) check after each step, written once: a state is
 * consistent, and a state read back from its text form is the same state.
 * Include after check.h.
 */
#ifndef LUNLINK_FUZZ_PR_STATE_CHECK_H
#define LUNLINK_FUZZ_PR_STATE_CHECK_H

#include "lunlink/pr.h"

#include <string.h>

static inline int pr_same_nexus(const struct ll_pr_nexus *a, const struct ll_pr_nexus *b)
{
	return a->rtpi == b->rtpi && !strcmp(a->id, b->id);
}

static inline int pr_all_registrants(uint8_t type)
{
	return type == LL_PR_WEAR || type == LL_PR_EAAR;
}

/* No nexus registered twice, no key 0, every id NUL-terminated, a holder
 * that is registered, an all-registrants reservation with registrants. */
static inline void pr_check_consistent(const struct ll_pr_state *s)
{
	check(s->nregs <= LL_PR_MAX_REGS);
	for (unsigned int i = 0; i < s->nregs; i++) {
		check(s->regs[i].key != 0);
		check(memchr(s->regs[i].nexus.id, '\0', sizeof(s->regs[i].nexus.id)));
		for (unsigned int k = i + 1; k < s->nregs; k++)
			check(!pr_same_nexus(&s->regs[i].nexus, &s->regs[k].nexus));
	}
	if (s->reserved) {
		check(s->nregs > 0);
		if (!pr_all_registrants(s->type))
			check(ll_pr_find(s, &s->holder) != NULL);
	}
}

/* back, read from a's text form, is a: everything the text form carries
 * (the ports are the reader's own and are not compared). */
static inline void pr_check_same_state(const struct ll_pr_state *a, const struct ll_pr_state *back)
{
	check(back->generation == a->generation && !back->aptpl == !a->aptpl);
	check(back->nregs == a->nregs);
	for (unsigned int i = 0; i < a->nregs; i++)
		check(pr_same_nexus(&back->regs[i].nexus, &a->regs[i].nexus) &&
		      back->regs[i].key == a->regs[i].key &&
		      !back->regs[i].all_tg_pt == !a->regs[i].all_tg_pt);
	check(!back->reserved == !a->reserved);
	if (a->reserved) {
		check(back->type == a->type && back->scope == a->scope);
		if (!pr_all_registrants(a->type))
			check(pr_same_nexus(&back->holder, &a->holder));
	}
}

#endif
