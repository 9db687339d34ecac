// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hctl.c: parsing, printing and ordering H:C:T:L addresses (see hctl.h).
 * Separate from sysfs.c so the uevent parser and its fuzz target need
 * nothing else.
 */
#include "hctl.h"

#include <inttypes.h>
#include <stdio.h>

/* ---- H:C:T:L ------------------------------------------------------------ */

int rd_parse_decimal(const char **s, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*p - '0'), &n) || n > max)
			return -1;
	*s = p;
	*out = n;
	return 0;
}

int rd_hctl_parse(const char *s, struct rd_hctl *h)
{
	uint64_t v[4];

	for (int i = 0; i < 4; i++) {
		if (rd_parse_decimal(&s, i == 3 ? UINT64_MAX : UINT32_MAX, &v[i]))
			return -1;
		if (*s != (i == 3 ? '\0' : ':'))
			return -1;
		s++;
	}
	h->host = (unsigned int)v[0];
	h->channel = (unsigned int)v[1];
	h->target = (unsigned int)v[2];
	h->lun = v[3];
	return 0;
}

const char *rd_hctl_fmt(const struct rd_hctl *h, char buf[RD_HCTL_LEN])
{
	snprintf(buf, RD_HCTL_LEN, "%u:%u:%u:%" PRIu64, h->host, h->channel, h->target, h->lun);
	return buf;
}

int rd_hctl_cmp(const struct rd_hctl *a, const struct rd_hctl *b)
{
	if (a->host != b->host)
		return a->host < b->host ? -1 : 1;
	if (a->channel != b->channel)
		return a->channel < b->channel ? -1 : 1;
	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	if (a->lun != b->lun)
		return a->lun < b->lun ? -1 : 1;
	return 0;
}

