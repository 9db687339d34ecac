// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * link.h: the host's part of `lunlinkctl link` and `unlink` (doc/link.md),
 * without the network: given one entry of the manager's desired links,
 * make the volume's block device appear (log in if there is no session
 * with the serving node's target, a targeted scan of its LUN, wait for
 * the device whose WWID is the volume's) or go (refuse when it is in
 * use, else flush, delete, log out when the session has no disk left).
 *
 * Everything is found by the volume's WWID, never by a LUN number or a
 * device name alone: a LUN number is reused once its volume is unlinked,
 * and a device left at that H:C:T:L with another WWID is deleted before
 * the scan, so old data never shows under a name the new volume gets.
 *
 * The steps run iscsiadm (rd_run, bounded) and read and write sysfs under
 * the rd_env's root, so the unit tests drive them against a fake tree.
 * They block (a login, the wait for the device): manager.c runs them in
 * its own process, never in the daemon's loop.
 */
#ifndef LUNLINK_RESCAND_LINK_H
#define LUNLINK_RESCAND_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysfs.h"

#define RD_LINK_NAME_MAX	128
#define RD_LINK_ERR_MAX		768

/* One entry of GET /v1/hosts/desired's "links". */
struct rd_link_req {
	char volume[RD_LINK_NAME_MAX];
	long long revision;
	bool unlink;			/* action "unlink"; else "link" */
	char target[RD_TARGET_LEN];
	char portal[80];		/* "10.0.0.5:3260" */
	uint64_t lun;
	char wwid[256];			/* "naa.6a1b..." as Linux prints it */
	uint64_t size;			/* bytes */
	char chap_user[256], chap_secret[256];	/* "" "": no CHAP */
	unsigned int timeout_s;
	bool force;
	/* "multipath": true: the volume can move between nodes, so its paths
	 * are kept behind a dm-multipath map of our own (mpath.h) */
	bool multipath;
	/* "moved_from": the same volume (same WWID) served before at this
	 * address; target[0] == '\0': none */
	struct {
		char target[RD_TARGET_LEN];
		char portal[80];
		uint64_t lun;
	} moved_from;
};

enum rd_link_state { RD_LINK_WORKING, RD_LINK_LINKED, RD_LINK_FAILED, RD_LINK_UNLINKED };

/* What the host reports of one entry (POST /v1/hosts/report's "links"). */
struct rd_link_result {
	enum rd_link_state state;
	char device[64];		/* "sdc", or "dm-3" when multipath */
	char by_id[320];		/* "/dev/disk/by-id/wwn-0x6a1b..." */
	char wwid[256];
	uint64_t size;
	char multipath[128];		/* the dm name ("mpatha"), "" if none */
	unsigned int login_ms, scan_ms, device_ms;	/* from the entry's start */
	char error[RD_LINK_ERR_MAX];
};

/* Told which SCSI host a link works on, so the daemon takes the devices
 * it adds for its own (manager.h: the pipe to the main loop). */
typedef void (*rd_link_busy_fn)(void *arg, unsigned int host, bool busy);

struct rd_link_ctx {
	const struct rd_env *env;
	const char *iscsiadm;
	unsigned int iscsiadm_timeout_s;
	unsigned int poll_ms;		/* sysfs is looked at this often (20) */
	rd_link_busy_fn busy;		/* may be NULL */
	void *busy_arg;
	/* multipath links (mpath.h) */
	const char *dmsetup;		/* "dmsetup" */
	unsigned int replacement_timeout_s;	/* their sessions' recovery timeout (5) */
	unsigned int map_queue_s;	/* queue_if_no_path_timeout_secs (60) */
};

const char *rd_link_state_name(enum rd_link_state s);

/* Link: out->state ends LINKED or FAILED (error says why, with what the
 * host saw).  Unlink: UNLINKED, or LINKED with error naming the holder
 * (refused), or FAILED.  Both are idempotent: a link already done is
 * reported again without redoing it, an unlink of a device already gone
 * only logs out if the session has nothing left. */
void rd_link_do(const struct rd_link_ctx *c, const struct rd_link_req *r,
		struct rd_link_result *out);
void rd_unlink_do(const struct rd_link_ctx *c, const struct rd_link_req *r,
		  struct rd_link_result *out);

/* ---- the pieces, for the unit tests -------------------------------------- */

/* WWIDs compare without regard to case ("naa.6A1B" is "naa.6a1b"). */
bool rd_wwid_equal(const char *a, const char *b);

/* udev's /dev/disk/by-id name of a disk with this WWID ("naa.HEX" ->
 * "/dev/disk/by-id/wwn-0xhex", 60-persistent-storage.rules' wwn- link
 * from ID_WWN_WITH_EXTENSION), or "" for a WWID udev makes no wwn- link of. */
void rd_by_id_path(const char *wwid, char *out, size_t outlen);

/* The SCSI devices (any host) whose WWID is wwid, sorted by H:C:T:L, up to
 * max.  The count, or -1 with err. */
int rd_find_by_wwid(const struct rd_env *env, const char *wwid, struct rd_sdev *out, size_t max,
		    char *err, size_t errlen);

/* A dm-multipath map holding block device `block` (a holder whose
 * dm/uuid starts "mpath-"): 1 with its kernel name (dm-3), dm name and
 * uuid, 0 none. */
int rd_multipath_holder(const struct rd_env *env, const char *block, char *dm, size_t dmlen,
			char *name, size_t namelen, char *uuid, size_t uuidlen);

/* The session logged in to target at portal: 1 found, 0 none, -1 err. */
int rd_session_find(const struct rd_env *env, const char *target, const char *portal,
		    struct rd_session *out, char *err, size_t errlen);

/* The channel and target id of a session's SCSI target, for "C T L" to
 * hostN/scan: the session's target_id attribute (channel 0, as iSCSI
 * scans), else the targetH:C:T folder under the session, else 0 0. */
void rd_session_ids(const struct rd_env *env, const struct rd_session *s, unsigned int *channel,
		    unsigned int *target);

/* The InitiatorName= of open-iscsi's initiatorname.iscsi.  0, or -1 with err. */
int rd_initiator_name_read(const char *path, char *out, size_t outlen, char *err, size_t errlen);

#endif
