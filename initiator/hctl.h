// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hctl.h: a SCSI device's address, host:channel:target:lun, as sysfs
 * names it ("2:0:0:1").  The LUN is the kernel's 64-bit number
 * (scsilun_to_int), the rest are 32-bit.
 */
#ifndef LUNLINK_RESCAND_HCTL_H
#define LUNLINK_RESCAND_HCTL_H

#include <stdint.h>

struct rd_hctl {
	unsigned int host, channel, target;
	uint64_t lun;
};

#define RD_HCTL_LEN	64	/* "H:C:T:L" with the largest numbers fits */

/* Decimal digits at *s, at most max: 0 and *s past them, else -1. */
int rd_parse_decimal(const char **s, uint64_t max, uint64_t *out);

/* Exactly four decimal numbers separated by ':', each in range: 0, else -1. */
int rd_hctl_parse(const char *s, struct rd_hctl *h);
const char *rd_hctl_fmt(const struct rd_hctl *h, char buf[RD_HCTL_LEN]);
int rd_hctl_cmp(const struct rd_hctl *a, const struct rd_hctl *b);

#endif
