// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ueventsock.c: opening and reading the uevent sockets (see ueventsock.h).
 * Reading asks for MSG_TRUNC so an oversized datagram is seen as such and
 * dropped, never parsed cut short.
 */
#include "ueventsock.h"
#include "uevent.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int rd_uevent_open_netlink(char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 /* the kernel's */ };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_KOBJECT_UEVENT);
	int size = 4 << 20;

	if (fd < 0) {
		snprintf(err, errlen, "uevent netlink socket: %s", strerror(errno));
		return -1;
	}
	/* a burst of uevents (every LUN of every session) must not overflow */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, errlen, "binding the uevent netlink socket to the kernel's group: %s",
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int rd_uevent_open_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--uevent-socket %s: path too long for a socket", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--uevent-socket %s: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, errlen, "--uevent-socket %s: bind: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(path, 0600);
	return fd;
}

enum rd_recv rd_uevent_recv(int fd, bool netlink, char *buf, size_t buflen, size_t *len,
			    char *err, size_t errlen)
{
	struct sockaddr_nl snl;
	struct iovec iov = { .iov_base = buf, .iov_len = buflen };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (netlink) {
		mh.msg_name = &snl;
		mh.msg_namelen = sizeof(snl);
	}
	do
		n = recvmsg(fd, &mh, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return RD_RECV_AGAIN;
		if (errno == ENOBUFS)
			return RD_RECV_LOST;
		snprintf(err, errlen, "%s", strerror(errno));
		return RD_RECV_ERROR;
	}
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > buflen || (size_t)n > RD_UEVENT_MAX) {
		snprintf(err, errlen, "a message of %zd bytes, more than the %d accepted", n,
			 RD_UEVENT_MAX);
		return RD_RECV_DROPPED;
	}
	if (netlink && (mh.msg_namelen < sizeof(snl) || snl.nl_pid != 0)) {
		snprintf(err, errlen, "not sent by the kernel (netlink port %u)",
			 mh.msg_namelen >= sizeof(snl) ? snl.nl_pid : 0);
		return RD_RECV_DROPPED;
	}
	*len = (size_t)n;
	return RD_RECV_MSG;
}
