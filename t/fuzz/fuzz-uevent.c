// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-uevent.c: libFuzzer target for initiator/uevent.c, the parser of
 * the kernel's uevent messages that lunlink-rescand reads from netlink.
 * `make fuzz` runs it under libFuzzer with ASan and UBSan; t/fuzz/replay.c
 * replays t/fuzz/corpus/uevent without clang (t/t0101-fuzz-uevent.sh).
 *
 * Invariants: the answer is 0 or -1; an empty message or one over
 * RD_UEVENT_MAX bytes is refused; a refusal leaves a non-empty,
 * NUL-terminated reason in an err buffer of any size, and the same answer
 * with a buffer of 1 to 24 bytes; an accepted message has a header and
 * well-formed fields, all pointing into the parser's copy, and written
 * back out it is byte for byte the input (nothing dropped or invented);
 * a classified unit attention's H:C:T:L prints and parses to itself.
 */
#include "uevent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static bool inside(const struct rd_uevent *ev, const char *p)
{
	return p >= ev->buf && p < ev->buf + sizeof(ev->buf);
}

static void check_err(const char *err, size_t errlen)
{
	check(memchr(err, '\0', errlen) != NULL);
	if (errlen > 1)
		check(err[0] != '\0');
}

/* Write ev back out in the wire format; it must be the input. */
static void check_roundtrip(const struct rd_uevent *ev, const uint8_t *data, size_t size)
{
	char *out = malloc(size + 1);
	size_t o = 0, n;

	check(out != NULL);
#define PUT(s)	do { n = strlen(s); check(o + n <= size); memcpy(out + o, s, n); o += n; } while (0)
#define PUTC(c)	do { check(o + 1 <= size); out[o++] = (c); } while (0)
	PUT(ev->action);
	PUTC('@');
	PUT(ev->devpath);
	PUTC('\0');
	for (size_t i = 0; i < ev->nfields; i++) {
		PUT(ev->fields[i].key);
		PUTC('=');
		PUT(ev->fields[i].value);
		PUTC('\0');
	}
#undef PUT
#undef PUTC
	check(o == size);
	check(!memcmp(out, data, size));
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rd_uevent ev, ev2;
	char err[256], *small;
	size_t smalllen = 1 + (size ? data[0] % 24 : 0);
	struct rd_hctl h, h2;
	char hb[RD_HCTL_LEN];
	int rc;

	memset(err, 0x7f, sizeof(err));
	rc = rd_uevent_parse(data, size, &ev, err, sizeof(err));
	check(rc == 0 || rc == -1);
	if (size == 0 || size > RD_UEVENT_MAX)
		check(rc == -1);
	if (rc) {
		check_err(err, sizeof(err));
	} else {
		check(ev.action && inside(&ev, ev.action) && ev.action[0]);
		check(ev.devpath && inside(&ev, ev.devpath) && ev.devpath[0] == '/');
		check(ev.nfields <= RD_UEVENT_MAX_FIELDS);
		for (size_t i = 0; i < ev.nfields; i++) {
			const char *k = ev.fields[i].key, *v = ev.fields[i].value;

			check(inside(&ev, k) && inside(&ev, v) && k[0]);
			for (; *k; k++)
				check((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_');
			for (; *v; v++)
				check(*v >= 0x20 && *v <= 0x7e);
		}
		if (ev.subsystem)
			check(inside(&ev, ev.subsystem));
		check_roundtrip(&ev, data, size);

		switch (rd_uevent_classify(&ev, &h)) {
		case RD_UEVENT_OTHER:
			break;
		case RD_UEVENT_LUNS_CHANGED:
		case RD_UEVENT_CAPACITY_CHANGED:
		case RD_UEVENT_SDEV_ADDED:
		case RD_UEVENT_SDEV_REMOVED:
			check(!strcmp(ev.action, "change") || !strcmp(ev.action, "add") ||
			      !strcmp(ev.action, "remove"));
			check(ev.subsystem && !strcmp(ev.subsystem, "scsi"));
			check(ev.devtype && !strcmp(ev.devtype, "scsi_device"));
			check(rd_hctl_parse(rd_hctl_fmt(&h, hb), &h2) == 0);
			check(!rd_hctl_cmp(&h, &h2));
			break;
		case RD_UEVENT_SESSION_ADDED:
		case RD_UEVENT_HOST_REMOVED:
			check(!strcmp(ev.action, "add") || !strcmp(ev.action, "remove"));
			check(strstr(ev.devpath, "/host") != NULL);
			break;
		}
	}

	/* the same answer with a small err buffer, and no overrun */
	small = malloc(smalllen);
	check(small != NULL);
	memset(small, 0x7f, smalllen);
	check(rd_uevent_parse(data, size, &ev2, small, smalllen) == rc);
	if (rc)
		check_err(small, smalllen);
	free(small);
	return 0;
}
