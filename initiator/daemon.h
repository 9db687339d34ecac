// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daemon.h: lunlink-rescand's main loop.  One thread, poll(2) on four
 * file descriptors: the uevent socket, a signalfd (SIGCHLD, SIGTERM,
 * SIGINT, SIGHUP), the scheduler's timerfd and the periodic check's
 * timerfd.  Each scan or rescan runs in a forked worker, so a slow SCSI
 * host (a scan can take the SCSI timeouts of a dead LUN) never stalls the
 * uevents of the others; sched.c decides what may run when.
 *
 * With a `manager` group in the configuration, a fifth descriptor: the
 * pipe from the manager connection's process (manager.h), which the loop
 * starts at once and again 5 s after it ends.  Its "busy H" lines make the
 * devices added on host H its own, as a worker's are.
 */
#ifndef LUNLINK_RESCAND_DAEMON_H
#define LUNLINK_RESCAND_DAEMON_H

#include <stdbool.h>

#include "config.h"
#include "sysfs.h"

struct rd_daemon_opts {
	bool foreground;
	/* Tests: read uevents, in the kernel's wire format, one per datagram,
	 * from a Unix datagram socket bound here instead of netlink. */
	const char *uevent_socket;
	const char *version;		/* reported to the manager */
};

/* Runs until SIGTERM or SIGINT; the exit status for main. */
int rd_daemon_run(const struct rd_config *cfg, struct rd_env *env,
		  const struct rd_daemon_opts *o);

#endif
