// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * luns.h: the LUN list a target reports, the source of truth for which
 * devices are stale.  Two implementations of rd_report_luns_fn:
 *
 *   rd_report_luns_sgio   a REPORT LUNS (SPC-4 6.33) through SG_IO on a
 *                         device node of that target (real hosts);
 *   rd_report_luns_fake   the list from a file, FAKE_DIR/hostH, one LUN
 *                         number a line (tests: --test-report-luns DIR).
 *
 * Both return 0 with the list, or -1 with the reason: the caller then
 * removes nothing on the target's word.
 */
#ifndef LUNLINK_RESCAND_LUNS_H
#define LUNLINK_RESCAND_LUNS_H

#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

/* More LUNs than this in one answer is refused (tgt allows 2^14 per target). */
#define RD_MAX_LUNS	16384

int rd_report_luns_sgio(const struct rd_env *env, const struct rd_session *s,
			const struct rd_devtab *present, struct rd_lunlist *out,
			char *err, size_t errlen);
int rd_report_luns_fake(const struct rd_env *env, const struct rd_session *s,
			const struct rd_devtab *present, struct rd_lunlist *out,
			char *err, size_t errlen);

/* Decode REPORT LUNS parameter data (len bytes) into the kernel's LUN
 * numbers.  0, or -1 with err for malformed data. */
int rd_report_luns_decode(const uint8_t *data, size_t len, struct rd_lunlist *out,
			  char *err, size_t errlen);

/* The kernel's scsilun_to_int(): 8 bytes of a LUN into the H:C:T:L L. */
uint64_t rd_scsilun_to_int(const uint8_t lun[8]);

#endif
