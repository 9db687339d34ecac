// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-pr-out.c: libFuzzer target for the persistent reservation engine
 * (target/lib/pr.c) over what initiators send: PERSISTENT RESERVE OUT
 * CDBs with their parameter lists (TransportIDs included) and PERSISTENT
 * RESERVE IN CDBs, in sequence, from four nexuses on two target ports.
 * The input is a series of records: one byte (bits 0-1 the nexus, bit 7:
 * a PR IN, not a PR OUT), a 10-byte CDB, a 2-byte big-endian length and
 * that many bytes of parameter list (fewer if the input ends).
 * Invariants after each: a refused PR OUT leaves the state as it was; the
 * state is consistent (no nexus registered twice, no key 0, a holder that
 * is registered, an all-registrants reservation with registrants);
 * PRgeneration never goes back; unit attentions and aborts name
 * nexuses that were registered; the text form reads back to the same
 * state; PR IN answers say their length and never write past the buffer.
 */
#include "lunlink/pr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"
#include "pr_state_check.h"

static struct ll_pr_state st, before, back;
static struct ll_pr_result res;
static char text[LL_PR_TEXT_MAX];

static int was_registered(const struct ll_pr_nexus *n)
{
	return ll_pr_find(&before, n) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ll_pr_nexus nx[4];
	static int ready;
	static uint8_t answer[4096 + 16];
	uint16_t ports[2] = { 1, 2 };
	size_t pos = 0;
	char why[256];

	if (!ready) {
		const char *names[4] = { "iqn.2026-11.org.lunlink:a", "iqn.2026-11.org.lunlink:b",
					 "iqn.2026-11.org.lunlink:a", "iqn.2026-11.org.lunlink:c" };
		for (int i = 0; i < 4; i++) {
			uint8_t isid[6] = { 0x40, 0, 0, 0, 0, (uint8_t)(i & 1) };

			if (ll_pr_nexus_set(&nx[i], names[i], isid, (uint16_t)(i == 2 ? 2 : 1)))
				abort();
		}
		ready = 1;
	}
	ll_pr_init(&st, ports, 2, 1);
	while (pos + 13 <= size) {
		const struct ll_pr_nexus *n = &nx[data[pos] & 3];
		int is_in = data[pos] & 0x80;
		const uint8_t *cdb = data + pos + 1;
		size_t plen = (size_t)data[pos + 11] << 8 | data[pos + 12];
		const uint8_t *param = data + pos + 13;

		pos += 13;
		if (plen > size - pos)
			plen = size - pos;
		pos += plen;

		if (is_in) {
			size_t room = plen % 4096;
			long len;

			memset(answer, 0xa5, sizeof(answer));
			len = ll_pr_in(&st, n, cdb, 10, answer, room);
			for (size_t i = room; i < sizeof(answer); i++)
				check(answer[i] == 0xa5);
			if (len >= 8 && room >= 8 && (cdb[1] & 0x1f) != 2) {
				uint32_t add = (uint32_t)answer[4] << 24 | (uint32_t)answer[5] << 16 |
					       (uint32_t)answer[6] << 8 | answer[7];
				check((long)add == len - 8);
			}
			continue;
		}
		/* the parameter list in a buffer of its own size, so that a
		 * read past it is caught by the sanitizer */
		uint8_t *copy = malloc(plen ? plen : 1);

		check(copy != NULL);
		memcpy(copy, param, plen);
		before = st;
		ll_pr_out(&st, n, cdb, 10, copy, plen, &res);
		free(copy);
		if (res.status != LL_PR_GOOD) {
			check(!memcmp(&before, &st, sizeof(st)));
			check(res.nua == 0 && res.nabort == 0 && !res.changed && !res.persist);
			if (res.status == LL_PR_CHECK_CONDITION)
				check(res.sense_key == 0x05 && res.asc);
		}
		pr_check_consistent(&st);
		check(st.generation >= before.generation);
		check(res.nua <= LL_PR_MAX_REGS && res.nabort <= LL_PR_MAX_REGS);
		for (unsigned int i = 0; i < res.nua; i++)
			check(was_registered(&res.ua[i].nexus));
		for (unsigned int i = 0; i < res.nabort; i++)
			check(was_registered(&res.abort[i]));

		long tl = ll_pr_format(&st, text, sizeof(text));
		check(tl > 0);
		ll_pr_init(&back, ports, 2, 1);
		check(!ll_pr_parse(&back, text, (size_t)tl, why, sizeof(why)));
		pr_check_same_state(&st, &back);
	}
	return 0;
}
