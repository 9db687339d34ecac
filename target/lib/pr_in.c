// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pr_in.c: the persistent reservation engine's PERSISTENT RESERVE IN
 * answers (SPC-4 6.15): READ KEYS, READ RESERVATION, REPORT CAPABILITIES,
 * READ FULL STATUS, built whole and cut to the caller's buffer.
 */
#include "pr_int.h"

#include <stdint.h>
#include <string.h>

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* bytes out of the answer, written only while they fit in len */
struct out {
	uint8_t *buf;
	size_t len, pos;
};

static void emit(struct out *o, const void *p, size_t n)
{
	if (o->pos < o->len) {
		size_t k = o->len - o->pos < n ? o->len - o->pos : n;

		memcpy(o->buf + o->pos, p, k);
	}
	o->pos += n;
}

/* the TransportID of a registration, as READ FULL STATUS lists it:
 * format 01b, iSCSI; the text NUL-terminated, padded to 4 bytes */
static size_t transport_id(const struct ll_pr_nexus *n, uint8_t *t, size_t room)
{
	size_t len = strlen(n->id) + 1, total = 4 + ((len + 3) & ~(size_t)3);

	if (total < 24)
		total = 24;
	if (total > room)
		return 0;
	memset(t, 0, total);
	t[0] = 0x40 | 0x05;
	put_be16(t + 2, (uint16_t)(total - 4));
	memcpy(t + 4, n->id, len);
	return total;
}

long ll_pr_in(const struct ll_pr_state *st, const struct ll_pr_nexus *nexus,
	      const uint8_t *cdb, size_t cdb_len, uint8_t *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	uint8_t h[8], d[24], t[4 + LL_PR_ID_MAX + 4];
	uint32_t add = 0;
	unsigned int i;

	(void)nexus;
	if (cdb_len < 10)
		return -1;
	switch (cdb[1] & 0x1f) {
	case LL_PR_READ_KEYS:
		put_be32(h, st->generation);
		put_be32(h + 4, 8 * st->nregs);
		emit(&o, h, 8);
		for (i = 0; i < st->nregs; i++) {
			put_be64(d, st->regs[i].key);
			emit(&o, d, 8);
		}
		break;
	case LL_PR_READ_RESERVATION:
		put_be32(h, st->generation);
		put_be32(h + 4, st->reserved ? 16 : 0);
		emit(&o, h, 8);
		if (st->reserved) {
			const struct ll_pr_reg *g = all_registrants(st->type) ? NULL :
						    ll_pr_find(st, &st->holder);

			memset(d, 0, 16);
			put_be64(d, g ? g->key : 0);	/* all registrants: 0 */
			d[13] = (uint8_t)(st->scope << 4 | st->type);
			emit(&o, d, 16);
		}
		break;
	case LL_PR_REPORT_CAPABILITIES:
		memset(d, 0, 8);
		put_be16(d, 8);
		/* CRH: RESERVE/RELEASE per 5.12.3; SIP_C, ATP_C; PTPL_C */
		d[2] = 0x10 | 0x08 | 0x04 | (st->ptpl_capable ? 0x01 : 0);
		/* TMV; ALLOW COMMANDS 001b (TEST UNIT READY through WE/EA);
		 * PTPL_A */
		d[3] = 0x80 | 0x10 | (st->aptpl ? 0x01 : 0);
		/* the type mask: WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX;
		 * EX_AC_AR */
		d[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
		d[5] = 0x01;
		emit(&o, d, 8);
		break;
	case LL_PR_READ_FULL_STATUS:
		for (i = 0; i < st->nregs; i++)
			add += 24 + (uint32_t)transport_id(&st->regs[i].nexus, t, sizeof(t));
		put_be32(h, st->generation);
		put_be32(h + 4, add);
		emit(&o, h, 8);
		for (i = 0; i < st->nregs; i++) {
			const struct ll_pr_reg *g = &st->regs[i];
			size_t tl = transport_id(&g->nexus, t, sizeof(t));
			int holder = ll_pr_is_holder(st, &g->nexus);

			memset(d, 0, 24);
			put_be64(d, g->key);
			d[12] = (uint8_t)((g->all_tg_pt ? 0x02 : 0) | (holder ? 0x01 : 0));
			if (holder)
				d[13] = (uint8_t)(st->scope << 4 | st->type);
			put_be16(d + 18, g->nexus.rtpi);
			put_be32(d + 20, (uint32_t)tl);
			emit(&o, d, 24);
			emit(&o, t, tl);
		}
		break;
	default:
		return -1;
	}
	return (long)o.pos;
}
