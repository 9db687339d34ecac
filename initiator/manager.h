// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * manager.h: lunlink-rescand's optional connection to the policy manager
 * (doc/link.md): the host registers and heartbeats (POST /v1/hosts/report),
 * long-polls its desired links (GET /v1/hosts/desired) and carries them out
 * (link.h).
 *
 * It runs in a process of its own, forked by the daemon at start (and again
 * if it dies), never in the daemon's loop: a request to the manager or a
 * login may take seconds, and the daemon's loop forks a scan worker at any
 * time, which a process with curl, OpenSSL and threads in it should not.
 * Inside, three threads: one long-polls the desired links, one sends the
 * reports (every heartbeat_interval, and at once when a link's state
 * changes), one carries the links out, one after another.
 *
 * Its one way back to the daemon is a pipe of lines, "busy H" and "idle H":
 * a link scans or deletes on SCSI host H, so the devices that come and go
 * there are its own, not someone else's for the daemon to reconcile.
 *
 * The static binary (an initramfs's) has no libcurl: it is built with
 * manager_none.c, which refuses a `manager` group and --join.
 */
#ifndef LUNLINK_RESCAND_MANAGER_H
#define LUNLINK_RESCAND_MANAGER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "sysfs.h"

/* Whether this build can talk to a manager. */
bool rd_mgr_built_in(void);

/* Everything the connection needs, checked before the daemon is ready: the
 * CA, certificate and key (made by --join), the initiator name.  0, or -1
 * with err naming the file and the cure. */
int rd_mgr_check(const struct rd_config *cfg, char *err, size_t errlen);

/* The connection's process, forked by the daemon (which closed its own
 * descriptors in it): writes "busy H" / "idle H" lines to pipe_fd, ends at
 * SIGTERM or SIGINT (blocked: it waits for them) or when the daemon dies. */
void rd_mgr_run(const struct rd_config *cfg, const struct rd_env *env, const char *version,
		int pipe_fd) __attribute__((noreturn));

/* `lunlink-rescand --join TOKEN`: a key and a certificate (role host, the
 * host's name) from the manager's join port.  0, or -1 with err. */
int rd_mgr_join(const struct rd_config *cfg, const char *token, char *err, size_t errlen);

/* The host's name in the cluster: manager.host_name, else gethostname's
 * first label. */
void rd_mgr_host_name(const struct rd_config *cfg, char *out, size_t outlen);

#endif
