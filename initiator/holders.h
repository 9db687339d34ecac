// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * holders.h: is a block device in use?  lunlink-rescand never deletes a
 * device that is: it says what holds it instead.  In use means any of
 *   - a holder in sysfs (block/NAME/holders/ or a partition's): device
 *     mapper, md, ... named with their dm name when there is one;
 *   - mounted, the device or one of its partitions (by device number, from
 *     the mountinfo file, /proc/self/mountinfo by default);
 *   - used as swap, the device or a partition (an entry of the swaps file,
 *     /proc/swaps by default, that names its node under the dev root);
 *   - open exclusively (O_EXCL on its node under the dev root says EBUSY).
 */
#ifndef LUNLINK_RESCAND_HOLDERS_H
#define LUNLINK_RESCAND_HOLDERS_H

#include <stddef.h>

#include "sysfs.h"

/* 1 in use, with what holds it in why ("mounted on /srv (sdb1)"); 0 free;
 * -1 cannot tell, with the reason in why (the caller then keeps it too). */
int rd_device_in_use(const struct rd_env *env, const struct rd_sdev *d, char *why, size_t whylen);

#endif
