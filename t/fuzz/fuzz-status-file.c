// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-status-file.c: libFuzzer target for policy/status_file.c, the
 * agent's reader of the lunlink module's status files (legs of a mirror,
 * remote extents: doc/lunlink-status.8).  `make fuzz-status-file` runs it
 * under libFuzzer; t/fuzz/replay.c replays t/fuzz/corpus/status-file
 * (status files the module wrote, and variants and damaged copies of
 * them) without clang (t/t0111-fuzz-status-file-corpus.sh).
 *
 * Invariants: a parse either succeeds with at most PG_COPIES_MAX copies,
 * each with an iscsi:// URL, a known state and every string terminated
 * inside its buffer; or fails with a message naming the status file and
 * leaves nothing.
 */
#include "status_file.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

#define TERMINATED(buf) (memchr((buf), '\0', sizeof(buf)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const states[] = { "up", "syncing", "connecting", "down", "refused" };
	struct pg_status s;
	char err[256];

	err[0] = '\0';
	if (pg_status_parse((const char *)data, size, &s, err, sizeof(err)) == 0) {
		check(s.ncopies <= PG_COPIES_MAX);
		check(s.tid >= 1 && s.lun <= 255);
		for (size_t i = 0; i < s.ncopies; i++) {
			const struct pg_copy *c = &s.copies[i];
			bool known = false;

			check(TERMINATED(c->url) && TERMINATED(c->state) && TERMINATED(c->error));
			check(!strncmp(c->url, "iscsi://", 8));
			for (size_t k = 0; k < 5; k++)
				known |= !strcmp(c->state, states[k]);
			check(known);
			check(c->left_bytes <= (1ULL << 60));
		}
	} else {
		check(!strncmp(err, "status file", 11));
		check(s.ncopies == 0 && s.tid == 0);
	}
	return 0;
}
