// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-pr-text.c: libFuzzer target for the reader of the persistent
 * reservation state's text form (ll_pr_parse, target/lib/pr.c), which is
 * outside input: the APTPL file beside an image, and later a cluster
 * store's record.  Invariants: a refusal says why and leaves the state as
 * it was; an accepted state is consistent (no nexus twice, no key 0, a
 * registered holder, an all-registrants reservation with registrants), is
 * written out again, and that text reads back to the same state.
 */
#include "lunlink/pr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"
#include "pr_state_check.h"

static struct ll_pr_state st, again;
static char text[LL_PR_TEXT_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t port = 1;
	char why[256];
	char *copy = malloc(size ? size : 1);
	long n;

	check(copy != NULL);
	memcpy(copy, data, size);
	ll_pr_init(&st, &port, 1, 1);
	st.generation = 77;
	why[0] = '\0';
	if (ll_pr_parse(&st, copy, size, why, sizeof(why))) {
		free(copy);
		check(why[0] && memchr(why, '\0', sizeof(why)));
		check(st.generation == 77 && st.nregs == 0);
		return 0;
	}
	free(copy);
	check(st.nports == 1 && st.ports[0] == 1);
	pr_check_consistent(&st);
	n = ll_pr_format(&st, text, sizeof(text));
	check(n > 0);
	ll_pr_init(&again, &port, 1, 1);
	check(!ll_pr_parse(&again, text, (size_t)n, why, sizeof(why)));
	pr_check_same_state(&st, &again);
	return 0;
}
