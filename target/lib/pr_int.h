/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pr_int.h: what the files of the persistent reservation engine share
 * (pr.c: the state and PERSISTENT RESERVE OUT; pr_in.c: PERSISTENT RESERVE
 * IN; pr_conflict.c: the conflict table; pr_text.c: the text form).  Not
 * part of lunlink/pr.h: callers go through that.
 */
#ifndef LUNLINK_PR_INT_H
#define LUNLINK_PR_INT_H

#include "lunlink/pr.h"

#include <string.h>

static inline int all_registrants(uint8_t type)
{
	return type == LL_PR_WEAR || type == LL_PR_EAAR;
}

static inline int type_valid(uint8_t type)
{
	return type == LL_PR_WE || type == LL_PR_EA || type == LL_PR_WERO ||
	       type == LL_PR_EARO || type == LL_PR_WEAR || type == LL_PR_EAAR;
}

/* a byte an iSCSI name may hold (RFC 3720 3.2.6.2, after stringprep):
 * printable ASCII but space and the comma the TransportID uses as
 * separator, and the bytes of UTF-8 sequences; never a control byte */
static inline int name_byte_ok(unsigned char c)
{
	return (c > 0x20 && c < 0x7f && c != ',') || c >= 0x80;
}

static inline int same_nexus(const struct ll_pr_nexus *a, const struct ll_pr_nexus *b)
{
	return a->rtpi == b->rtpi && !strcmp(a->id, b->id);
}

/* the index of n's registration in st, or -1 */
int ll_pr_index(const struct ll_pr_state *st, const struct ll_pr_nexus *n);
/* a registration more; -1 if st is full */
int ll_pr_add_reg(struct ll_pr_state *st, const struct ll_pr_nexus *n, uint64_t key,
		  int all_tg_pt);

#endif
