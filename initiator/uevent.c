// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uevent.c: parser of the kernel's uevent wire format (see uevent.h) and
 * the classifier that picks out the SCSI unit attentions lunlink-rescand
 * acts on.  Strict on purpose: the kernel always sends a header with '@',
 * then NUL-terminated KEY=VALUE fields with upper-case keys; anything else
 * (udev's "libudev" messages, truncated or padded ones) is refused.
 */
#include "uevent.h"
#include "lunlink/errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Printable ASCII, as the kernel's values are; no control bytes. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*s - '0'), &n))
			return -1;
	}
	*out = n;
	return 0;
}

int rd_uevent_parse(const void *msg, size_t len, struct rd_uevent *ev,
		    char *err, size_t errlen)
{
	char *p, *end, *at;
	const char *v;

	memset(ev, 0, offsetof(struct rd_uevent, fields));
	if (len == 0)
		return ll_fail(err, errlen, "empty message");
	if (len > RD_UEVENT_MAX)
		return ll_fail(err, errlen, "message of %zu bytes, more than the %d accepted",
			    len, RD_UEVENT_MAX);
	memcpy(ev->buf, msg, len);
	ev->buf[len] = '\0';
	end = ev->buf + len;
	if (len >= 8 && !memcmp(ev->buf, "libudev", 8))
		return ll_fail(err, errlen, "a udev message (\"libudev\" header), not the kernel's");
	if (end[-1] != '\0')
		return ll_fail(err, errlen, "truncated: the last field is not NUL-terminated");

	/* the header: ACTION@DEVPATH */
	p = ev->buf;
	at = strchr(p, '@');
	if (!at)
		return ll_fail(err, errlen, "no '@' in the header");
	*at = '\0';
	ev->action = p;
	ev->devpath = at + 1;
	if (!*ev->action || !printable(ev->action))
		return ll_fail(err, errlen, "empty or unprintable action in the header");
	if (ev->devpath[0] != '/' || !printable(ev->devpath))
		return ll_fail(err, errlen, "the header's device path does not start with '/' or is unprintable");
	p = at + 1 + strlen(at + 1) + 1;

	for (char *next; p < end; p = next) {
		char *eq = strchr(p, '=');

		next = p + strlen(p) + 1;
		if (!*p)
			return ll_fail(err, errlen, "empty field %zu", ev->nfields + 1);
		if (!eq || eq == p)
			return ll_fail(err, errlen, "field %zu has no KEY=", ev->nfields + 1);
		for (char *k = p; k < eq; k++)
			if (!key_char(*k))
				return ll_fail(err, errlen, "field %zu: a key of other than A-Z 0-9 _",
					    ev->nfields + 1);
		if (!printable(eq + 1))
			return ll_fail(err, errlen, "field %zu (%.*s): unprintable value",
				    ev->nfields + 1, (int)(eq - p > 32 ? 32 : eq - p), p);
		if (ev->nfields == RD_UEVENT_MAX_FIELDS)
			return ll_fail(err, errlen, "more than %d fields", RD_UEVENT_MAX_FIELDS);
		*eq = '\0';
		ev->fields[ev->nfields].key = p;
		ev->fields[ev->nfields].value = eq + 1;
		ev->nfields++;
	}

	/* The fields repeat the header; they must agree. */
	v = rd_uevent_get(ev, "ACTION");
	if (v && strcmp(v, ev->action))
		return ll_fail(err, errlen, "ACTION=%.32s disagrees with the header's %.32s",
			    v, ev->action);
	v = rd_uevent_get(ev, "DEVPATH");
	if (v && strcmp(v, ev->devpath))
		return ll_fail(err, errlen, "DEVPATH disagrees with the header's");
	v = rd_uevent_get(ev, "SEQNUM");
	if (v && parse_u64(v, &ev->seqnum))
		return ll_fail(err, errlen, "SEQNUM=%.32s is not a number", v);
	ev->subsystem = rd_uevent_get(ev, "SUBSYSTEM");
	ev->devtype = rd_uevent_get(ev, "DEVTYPE");
	ev->sdev_ua = rd_uevent_get(ev, "SDEV_UA");
	return 0;
}

const char *rd_uevent_get(const struct rd_uevent *ev, const char *key)
{
	for (size_t i = 0; i < ev->nfields; i++)
		if (!strcmp(ev->fields[i].key, key))
			return ev->fields[i].value;
	return NULL;
}

static bool is(const char *v, const char *want)
{
	return v && !strcmp(v, want);
}

/* The host number of the last "hostH" component of a device path. */
static int devpath_host(const char *devpath, unsigned int *host)
{
	const char *p = devpath;
	bool found = false;

	while ((p = strstr(p, "/host"))) {
		const char *q = p + 5;
		uint64_t v;

		p = q;
		if (rd_parse_decimal(&q, UINT32_MAX, &v) || (*q && *q != '/'))
			continue;
		*host = (unsigned int)v;
		found = true;
	}
	return found ? 0 : -1;
}

enum rd_uevent_kind rd_uevent_classify(const struct rd_uevent *ev, struct rd_hctl *hctl)
{
	const char *last;
	enum rd_uevent_kind kind;
	bool add, remove;

	if (!ev->action)
		return RD_UEVENT_OTHER;
	add = !strcmp(ev->action, "add");
	remove = !strcmp(ev->action, "remove");
	if (is(ev->subsystem, "iscsi_session") && (add || remove)) {
		memset(hctl, 0, sizeof(*hctl));
		if (devpath_host(ev->devpath, &hctl->host))
			return RD_UEVENT_OTHER;
		return add ? RD_UEVENT_SESSION_ADDED : RD_UEVENT_HOST_REMOVED;
	}
	if (!is(ev->subsystem, "scsi"))
		return RD_UEVENT_OTHER;
	if (is(ev->devtype, "scsi_host")) {
		last = strrchr(ev->devpath, '/');
		memset(hctl, 0, sizeof(*hctl));
		if (!remove || !last || devpath_host(last, &hctl->host))
			return RD_UEVENT_OTHER;
		return RD_UEVENT_HOST_REMOVED;
	}
	if (!is(ev->devtype, "scsi_device"))
		return RD_UEVENT_OTHER;
	if (add)
		kind = RD_UEVENT_SDEV_ADDED;
	else if (remove)
		kind = RD_UEVENT_SDEV_REMOVED;
	else if (strcmp(ev->action, "change") || !ev->sdev_ua)
		return RD_UEVENT_OTHER;
	else if (!strcmp(ev->sdev_ua, "REPORTED_LUNS_DATA_HAS_CHANGED"))
		kind = RD_UEVENT_LUNS_CHANGED;
	else if (!strcmp(ev->sdev_ua, "CAPACITY_DATA_HAS_CHANGED"))
		kind = RD_UEVENT_CAPACITY_CHANGED;
	else
		return RD_UEVENT_OTHER;
	last = strrchr(ev->devpath, '/');
	if (!last || rd_hctl_parse(last + 1, hctl))
		return RD_UEVENT_OTHER;
	return kind;
}

const char *rd_uevent_kind_name(enum rd_uevent_kind k)
{
	switch (k) {
	case RD_UEVENT_LUNS_CHANGED:
		return "REPORTED LUNS DATA HAS CHANGED";
	case RD_UEVENT_CAPACITY_CHANGED:
		return "CAPACITY DATA HAS CHANGED";
	case RD_UEVENT_SDEV_ADDED:
		return "SCSI device added";
	case RD_UEVENT_SDEV_REMOVED:
		return "SCSI device removed";
	case RD_UEVENT_SESSION_ADDED:
		return "iSCSI session added";
	case RD_UEVENT_HOST_REMOVED:
		return "SCSI host or iSCSI session removed";
	default:
		return "other";
	}
}
