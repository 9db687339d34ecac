// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * link_int.h: what link.c (a link's steps) and link_move.c (the map of a
 * volume that can move, and its moves) share, and nothing else uses.
 */
#ifndef LUNLINK_RESCAND_LINK_INT_H
#define LUNLINK_RESCAND_LINK_INT_H

#include "link.h"

#define MAX_PATHS	16	/* devices with one WWID: the paths of a multipath disk */
#define GONE_WAIT_MS	5000	/* a deleted device leaves sysfs within this */

uint64_t rd_link_now_ms(void);
/* Tell the daemon a link works on SCSI host `host` (ctx's busy callback). */
void rd_link_busy(const struct rd_link_ctx *c, unsigned int host, bool on);
/* out->state = st, out->error the message */
void rd_link_fail(struct rd_link_result *out, enum rd_link_state st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The device at h left sysfs before deadline (ms, rd_link_now_ms's clock). */
bool rd_link_gone(const struct rd_link_ctx *c, const struct rd_hctl *h, uint64_t deadline);
/* iscsiadm: log out of r's target at its portal, delete the node record. */
int rd_link_logout(const struct rd_link_ctx *c, const struct rd_link_req *r, char *err,
		   size_t errlen);
/* 1 the session has a disk (a device with a block device), 0 none, -1 err. */
int rd_link_session_has_disk(const struct rd_env *env, const struct rd_session *s, char *err,
			     size_t errlen);
/* Whether node (a name under the dev root) is the block device devnum
 * ("MAJ:MIN"), its path in path.  A test's tree has no such node. */
bool rd_link_node(const struct rd_link_ctx *c, const char *node, const char *devnum, char *path,
		  size_t pathlen);
/* fsync and BLKFLSBUF on node (under the dev root) if it is devnum's. */
void rd_link_flush(const struct rd_link_ctx *c, const char *node, const char *devnum);

/* ---- link_move.c ----------------------------------------------------------- */

/* A session there before a multipath link gets its recovery timeout. */
void rd_link_tune_session(const struct rd_link_ctx *c, const struct rd_link_req *r,
			  const struct rd_session *s);
/* The volume's map over its paths, d (the entry's) first; moved: once d
 * serves, the old session's paths out of it.  0, or -1 with err. */
int rd_link_map_join(const struct rd_link_ctx *c, const struct rd_link_req *r,
		     const struct rd_sdev *d, char *err, size_t errlen);
/* Moved: the old session's devices deleted, the session logged out. */
void rd_link_drop_old(const struct rd_link_ctx *c, const struct rd_link_req *r);
/* Unlink: the volume's map removed first; 0 gone or none, -1 out says why not. */
int rd_link_unmap(const struct rd_link_ctx *c, const struct rd_link_req *r,
		  struct rd_link_result *out);

#endif
