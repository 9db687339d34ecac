// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-iscsinl.c: libFuzzer target for lunlink-rescand's reader of the
 * kernel's iSCSI netlink events (initiator/iscsinl.c), which reads outside
 * input: whatever a datagram on NETLINK_ISCSI holds.  Invariants: it
 * returns 0 or -1; a refusal has a message; an Async Message it reports
 * came from a datagram long enough to hold one.
 */
#include "iscsinl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_iscsi_event ev;
	char err[96];
	void *copy = malloc(size ? size : 1);	/* exact size: ASan sees overreads */
	int r;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	err[0] = '\0';
	r = rd_iscsi_msg_parse(copy, size, &ev, err, sizeof(err));
	check(r == 0 || r == -1);
	if (r < 0)
		check(err[0] && memchr(err, '\0', sizeof(err)));
	if (r == 0 && ev.kind == RD_ISCSI_ASYNC)
		check(size >= 16 + RD_ISCSI_UEVENT_SIZE + RD_ISCSI_BHS_SIZE);
	if (r == 0)
		(void)rd_iscsi_luns_changed(&ev);
	free(copy);
	return 0;
}
