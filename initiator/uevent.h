// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uevent.h: the kernel's uevent messages, as they come from a
 * NETLINK_KOBJECT_UEVENT socket (group 1, the kernel's own, not udev's):
 *
 *     ACTION@DEVPATH \0 KEY=VALUE \0 KEY=VALUE \0 ... \0
 *
 * (lib/kobject_uevent.c: alloc_uevent_skb).  A message is outside input:
 * rd_uevent_parse bounds it (RD_UEVENT_MAX bytes, RD_UEVENT_MAX_FIELDS
 * fields), refuses anything malformed with a reason, and never reads past
 * the length given.  rd_uevent_classify then says whether the message is
 * one lunlink-rescand acts on: one of the two unit attentions, or a SCSI
 * device, SCSI host or iSCSI session coming or going.
 */
#ifndef LUNLINK_RESCAND_UEVENT_H
#define LUNLINK_RESCAND_UEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hctl.h"

/* The kernel's own buffer is 2048 bytes (UEVENT_BUFFER_SIZE) plus the
 * header; 8 KiB leaves room and bounds what we accept. */
#define RD_UEVENT_MAX		8192
/* UEVENT_NUM_ENVP in the kernel. */
#define RD_UEVENT_MAX_FIELDS	64

struct rd_uevent_field {
	const char *key;
	const char *value;
};

struct rd_uevent {
	char buf[RD_UEVENT_MAX + 1];	/* a copy; every pointer points here */
	const char *action;		/* from the header */
	const char *devpath;		/* from the header, starts with '/' */
	const char *subsystem;		/* NULL when absent, as the rest */
	const char *devtype;
	const char *sdev_ua;
	uint64_t seqnum;		/* 0 when absent */
	size_t nfields;
	struct rd_uevent_field fields[RD_UEVENT_MAX_FIELDS];
};

/* Parse len bytes at msg into ev.  0, or -1 with the reason in err. */
int rd_uevent_parse(const void *msg, size_t len, struct rd_uevent *ev,
		    char *err, size_t errlen);

/* The value of KEY, or NULL. */
const char *rd_uevent_get(const struct rd_uevent *ev, const char *key);

enum rd_uevent_kind {
	RD_UEVENT_OTHER,		/* not ours: ignore */
	RD_UEVENT_LUNS_CHANGED,		/* SDEV_UA=REPORTED_LUNS_DATA_HAS_CHANGED */
	RD_UEVENT_CAPACITY_CHANGED,	/* SDEV_UA=CAPACITY_DATA_HAS_CHANGED */
	RD_UEVENT_SDEV_ADDED,		/* "add" of a scsi_device: a scan found a LUN */
	RD_UEVENT_SDEV_REMOVED,		/* "remove" of a scsi_device */
	RD_UEVENT_SESSION_ADDED,	/* "add" of an iscsi_session: a login */
	RD_UEVENT_HOST_REMOVED,		/* "remove" of a scsi_host or an iscsi_session */
};

/* A "change" of a scsi_device (SUBSYSTEM=scsi, DEVTYPE=scsi_device) with
 * one of the two SDEV_UA values, whose DEVPATH ends in H:C:T:L, gives its
 * kind and fills *hctl; so does an "add" or "remove" of a scsi_device.
 * An "add" of an iscsi_session (SUBSYSTEM=iscsi_session, DEVPATH
 * .../hostH/sessionS/iscsi_session/sessionS) or a "remove" of one or of a
 * scsi_host (SUBSYSTEM=scsi, DEVTYPE=scsi_host, DEVPATH .../hostH) fills
 * hctl->host only (the last hostH of DEVPATH).  Anything else is
 * RD_UEVENT_OTHER. */
enum rd_uevent_kind rd_uevent_classify(const struct rd_uevent *ev, struct rd_hctl *hctl);

/* For the log: "SCSI device added", ... */
const char *rd_uevent_kind_name(enum rd_uevent_kind k);

#endif
