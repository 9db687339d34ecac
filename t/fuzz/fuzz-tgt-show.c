// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-tgt-show.c: libFuzzer target for policy/tgt_show.c, the agent's
 * reader of `tgtadm --lld iscsi --mode target --op show` (and of the
 * account list).  `make fuzz-tgt-show` runs it under libFuzzer;
 * t/fuzz/replay.c replays t/fuzz/corpus/tgt-show (real tgtadm output
 * captured from a tgtd serving rdwr and lunlink LUNs, ACLs, accounts and a
 * logged-in session, and damaged copies of it) without clang
 * (t/t0110-fuzz-tgt-show-corpus.sh).
 *
 * Invariants: a parse either succeeds with every count within its bound,
 * every string NUL-terminated inside its buffer, tids unique and non-zero,
 * LUN numbers unique per target, paths absolute or empty; or fails with a
 * message that names tgtadm's show, leaving the state empty.
 */
#include "tgt.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

#define TERMINATED(buf) (memchr((buf), '\0', sizeof(buf)) != NULL)

static void check_actual(const struct pg_actual *a)
{
	check(a->ntargets <= PG_TARGETS_MAX);
	for (size_t i = 0; i < a->ntargets; i++) {
		const struct pg_target *t = &a->targets[i];

		check(t->tid >= 1 && t->tid <= PG_TID_MAX);
		check(TERMINATED(t->iqn) && t->iqn[0] && !strchr(t->iqn, ' '));
		check(t->nacl <= PG_ACL_MAX && t->naccounts <= PG_ACCOUNTS_MAX);
		for (size_t k = 0; k < i; k++)
			check(a->targets[k].tid != t->tid);
		for (size_t l = 0; l < t->nluns; l++) {
			const struct pg_lun *x = &t->luns[l];

			check(x->lun <= PG_LUNS_MAX);
			check(TERMINATED(x->path) && TERMINATED(x->bstype) && TERMINATED(x->type));
			check(x->path[0] == '\0' || x->path[0] == '/');
			check(!x->bsopts_known);
			for (size_t k = 0; k < l; k++)
				check(t->luns[k].lun != x->lun);
		}
		for (size_t k = 0; k < t->nacl; k++)
			check(TERMINATED(t->acl[k]) && t->acl[k][0]);
		for (size_t k = 0; k < t->naccounts; k++)
			check(TERMINATED(t->accounts[k].user) && t->accounts[k].user[0]);
	}
	check(a->nusers <= PG_ACCOUNTS_MAX);
	for (size_t u = 0; u < a->nusers; u++)
		check(TERMINATED(a->users[u]) && a->users[u][0] && !a->passwords[u][0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_actual a;
	char err[256];

	err[0] = '\0';
	if (pg_show_parse((const char *)data, size, &a, err, sizeof(err)) == 0) {
		check_actual(&a);
	} else {
		check(!strncmp(err, "tgtadm show", 11));
		check(a.ntargets == 0 && a.targets == NULL);
	}
	pg_actual_free(&a);
	memset(&a, 0, sizeof(a));
	err[0] = '\0';
	if (pg_accounts_parse((const char *)data, size, &a, err, sizeof(err)) == 0)
		check_actual(&a);
	else
		check(!strncmp(err, "tgtadm show", 11) && a.nusers == 0 && !a.users);
	pg_actual_free(&a);
	return 0;
}
