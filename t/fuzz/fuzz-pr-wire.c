// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-pr-wire.c: libFuzzer target for the reader of the messages between
 * a pr=cluster LUN and the policy agent (ll_pr_wire_parse,
 * target/lib/pr_wire.c): every packet the module reads from the agent's
 * socket, and every one the agent reads from the module, is outside input.
 * Invariants: a refusal says why; an accepted message is within its
 * bounds, is written again by ll_pr_wire_format, and that packet is the
 * same bytes and reads back to the same fields.
 */
#include "lunlink/pr_wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static struct ll_pr_wire_msg m, again;
static char out[LL_PR_WIRE_BUF];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	char *copy = malloc(size ? size : 1);
	long n;

	check(copy != NULL);
	memcpy(copy, data, size);
	memset(&m, 0, sizeof(m));
	why[0] = '\0';
	if (ll_pr_wire_parse(copy, size, &m, why, sizeof(why))) {
		free(copy);
		check(why[0] && memchr(why, '\0', sizeof(why)));
		return 0;
	}
	check(m.type >= LL_PR_WIRE_HELLO && m.type <= LL_PR_WIRE_FAIL);
	check(m.nua <= LL_PR_MAX_REGS && m.nabort <= LL_PR_MAX_REGS);
	check(m.valid_ms <= LL_PR_WIRE_VALID_MS_MAX && m.plen <= LL_PR_WIRE_PARAM_MAX);
	n = ll_pr_wire_format(&m, out, sizeof(out), why, sizeof(why));
	if (n < 0)
		fprintf(stderr, "not written again: %s\n", why);
	check(n > 0);
	/* the reader takes one spelling of each message: the writer's */
	check((size_t)n == size && !memcmp(out, copy, size));
	memset(&again, 0, sizeof(again));
	check(!ll_pr_wire_parse(out, (size_t)n, &again, why, sizeof(why)));
	check(again.type == m.type && again.seq == m.seq && again.gen == m.gen &&
	      again.valid_ms == m.valid_ms && again.nua == m.nua && again.nabort == m.nabort &&
	      again.status == m.status && again.asc == m.asc && again.plen == m.plen &&
	      !memcmp(again.param, m.param, m.plen) && !strcmp(again.reason, m.reason));
	free(copy);
	return 0;
}
