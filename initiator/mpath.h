// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mpath.h: the dm-multipath map lunlink-rescand keeps over the paths of a
 * linked volume that can move between nodes (a link entry's "multipath":
 * true; doc/link.md, "When a volume moves"; doc/initiator.md, "Failover
 * on the host").  One map per volume, named lunlink-VOLUME, made and
 * changed with dmsetup alone: no multipathd, no udev (DM_DISABLE_UDEV=1 in
 * dmsetup's environment: libdevmapper makes /dev/mapper/NAME itself and
 * waits for no udev cookie).
 *
 * The table is dm-multipath's failover layout: one path per priority
 * group, the serving node's path in the first, queue_if_no_path, so that
 * I/O queues while no node serves (the bound is the module's
 * queue_if_no_path_timeout_secs, which the link sets).  Changing it is a
 * reload followed by a suspend --noflush and a resume: queued I/O stays
 * queued across the swap and goes down the new first group.
 *
 * What the kernel has (the map's dm-N, its uuid, the disks under it) is
 * read from sysfs under the rd_env's root, so the unit tests run against
 * a fake tree with a fake dmsetup.
 */
#ifndef LUNLINK_RESCAND_MPATH_H
#define LUNLINK_RESCAND_MPATH_H

#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

#define RD_MAP_PATHS_MAX	8	/* paths (nodes) of one map */
#define RD_MAP_NAME_MAX		128
#define RD_MAP_TABLE_MAX	(64 + RD_MAP_PATHS_MAX * 48)

/* A map as the kernel has it. */
struct rd_map {
	char name[RD_MAP_NAME_MAX];	/* "lunlink-db" */
	char dm[32];			/* "dm-3" */
	char devnum[24];		/* "254:3" */
	char uuid[160];
	char slaves[RD_MAP_PATHS_MAX][32];	/* the disks under it: "sdc" */
	size_t nslaves;
};

/* How dmsetup is run. */
struct rd_dmsetup {
	const char *path;		/* "dmsetup" */
	unsigned int timeout_s;
};

/* The map's name for a volume, "lunlink-VOLUME". */
void rd_map_name(const char *volume, char *out, size_t outlen);

/* The map's uuid for a WWID: "mpath-3" and the NAA digits (lower case), as
 * multipath-tools spells it, so udev's rules and LVM take the disks under
 * it for paths; a WWID that is not NAA: "mpath-" and the map's name. */
void rd_map_uuid(const char *wwid, const char *name, char *out, size_t outlen);

/* The table: SECTORS long, one group per path (devnums "MAJ:MIN"), the
 * first one first.  0, or -1 when it does not fit or n is 0 or too many. */
int rd_map_table(uint64_t sectors, const char *const devnums[], size_t n, char *out,
		 size_t outlen);

/* The map called name: 1 found (m filled), 0 none, -1 err. */
int rd_map_find(const struct rd_env *env, const char *name, struct rd_map *m, char *err,
		size_t errlen);

/* Make the map (dmsetup create --uuid --table), or give the one there the
 * table: unchanged (dmsetup table says so) nothing, else dmsetup reload,
 * suspend --noflush, resume.  0, or -1 with err naming the step and
 * dmsetup's words; a failed reload leaves the map's old table live. */
int rd_map_set(const struct rd_dmsetup *ds, const char *name, const char *uuid, const char *table,
	       char *err, size_t errlen);

/* dmsetup remove.  0, or -1 with err (dmsetup's words: "Device or resource
 * busy" when something opened it meanwhile). */
int rd_map_remove(const struct rd_dmsetup *ds, const char *name, char *err, size_t errlen);

/* A path's state in the map (dmsetup status): 'A' active, 'F' failed, 0
 * not in it or status unreadable (err says why). */
char rd_map_path_state(const struct rd_dmsetup *ds, const char *name, const char *devnum,
		       char *err, size_t errlen);

/* The state of path devnum in a multipath status line, as above. */
char rd_map_status_path(const char *status, const char *devnum);

/* dm_multipath's queue_if_no_path_timeout_secs: how long a map queues I/O
 * with no path before failing it (0: forever).  Written only when it
 * differs; the module is there once a map was made.  0, or -1 with err. */
int rd_map_queue_timeout(const struct rd_env *env, unsigned int secs, char *err, size_t errlen);

#endif
