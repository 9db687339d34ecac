/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent_desired.h: the node's desired state as the manager sends it
 * (GET /v1/nodes/desired), read into the agent's structs with every field
 * bounded and checked (prefix pg_).  The same shape is what
 * t/helpers/agent-tool reads from a file:
 *
 *   {"revision": 57, "desired_revision": 42, "changed": true,
 *    "volumes": {"db": {
 *       "images": [{"area": "0000000000000009", "path": "/srv/lunlink/db.img",
 *                   "size": 10737418240, "max_size": 42949672960,
 *                   "volume_id": "9f3c...(32 hex digits)"}],
 *       "lun": {"iqn": "iqn.2026-11.org.lunlink.cluster:db", "tid": 0, "lun": 1,
 *               "path": "/srv/lunlink/db.img", "bstype": "lunlink", "bsopts": "",
 *               "acl": ["iqn.1993-08.org.debian:01:host1"],
 *               "chap": {"user": "db", "password": "..."}}}}}
 *
 * "lun" may be null or absent (the volume has only images here: a leg not
 * exported yet), "chap" absent (no CHAP).  An image may say "format":
 * "plain" (a sparse file; "lunlink" or absent: a lunlink image); a LUN
 * "size", "scsi_sn", "scsi_id"; a deletion order is {"delete": true,
 * "images": [], "lun": null, "delete_images": [IMAGE...]}.  Fields the agent does not know
 * are ignored, so that a newer manager can add some.
 */
#ifndef LUNLINK_POLICY_AGENT_DESIRED_H
#define LUNLINK_POLICY_AGENT_DESIRED_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images.h"
#include "tgt.h"

#define PG_VOLUMES_MAX		1024
#define PG_VOLUME_IMAGES_MAX	8
#define PG_VOLUME_NAME_MAX	63

struct pg_want_image {
	char area[64];
	char path[PG_PATH_MAX + 1];
	uint64_t size, max_size;
	char volume_id[PG_VOLUME_ID_LEN + 1];
	bool plain;			/* "format":"plain": a sparse file, no superblock */
};

struct pg_volume {
	char name[PG_VOLUME_NAME_MAX + 1];
	struct pg_want_image images[PG_VOLUME_IMAGES_MAX];
	size_t nimages;
	bool has_lun;
	struct pg_want_lun lun;		/* lun.volume points at name */
	bool delete;			/* "delete":true: the deletion order */
	struct pg_want_image delete_images[PG_VOLUME_IMAGES_MAX];
	size_t ndelete_images;
};

struct pg_desired {
	int64_t revision;		/* "desired_revision", else "revision" */
	bool changed;			/* false: "changed":false, no volumes sent */
	struct pg_volume *volumes;
	size_t n;
};

/* Read j into *d (zeroed first).  0, or -1 with err naming the field
 * ("volumes.db.lun.iqn: ..."). */
int pg_desired_read(json_object *j, struct pg_desired *d, char *err, size_t errlen);
void pg_desired_free(struct pg_desired *d);

#endif
