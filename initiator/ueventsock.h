// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ueventsock.h: where uevents come from.  On a real host, the kernel's
 * NETLINK_KOBJECT_UEVENT multicast group 1 (not udev's group 2, so the
 * daemon works with or without udevd, in an initramfs too); for tests, a
 * Unix datagram socket that takes the same wire format, one message per
 * datagram (--uevent-socket).  Both non-blocking, for poll(2).
 */
#ifndef LUNLINK_RESCAND_UEVENTSOCK_H
#define LUNLINK_RESCAND_UEVENTSOCK_H

#include <stdbool.h>
#include <stddef.h>

int rd_uevent_open_netlink(char *err, size_t errlen);
int rd_uevent_open_unix(const char *path, char *err, size_t errlen);

enum rd_recv {
	RD_RECV_MSG,		/* a message of *len bytes in buf */
	RD_RECV_AGAIN,		/* nothing more now */
	RD_RECV_DROPPED,	/* one message refused: too big, or not from the kernel */
	RD_RECV_LOST,		/* the kernel dropped messages (ENOBUFS) */
	RD_RECV_ERROR,		/* the socket failed */
};

/* One message; buf holds buflen bytes, and a message of more than
 * RD_UEVENT_MAX bytes is dropped whole.  netlink: only the kernel's
 * messages (sender port 0) are taken. */
enum rd_recv rd_uevent_recv(int fd, bool netlink, char *buf, size_t buflen, size_t *len,
			    char *err, size_t errlen);

#endif
