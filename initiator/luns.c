// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * luns.c: the target's LUN list (see luns.h).  REPORT LUNS goes to a LUN
 * of the target that has a device node (a disk's /dev/sdX, or its
 * /dev/sgN); a unit attention (which the very change we are handling may
 * raise) is retried a few times.  The node must be the block or character
 * device whose number sysfs gives, so a stale /dev never gets the command.
 */
#include "luns.h"
#include "sysfs.h"
#include "lunlink/errmsg.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <scsi/sg.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

uint64_t rd_scsilun_to_int(const uint8_t lun[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i += 2)
		v |= (uint64_t)((lun[i] << 8) | lun[i + 1]) << (i * 8);
	return v;
}

int rd_report_luns_decode(const uint8_t *data, size_t len, struct rd_lunlist *out,
			  char *err, size_t errlen)
{
	uint32_t list_len;
	size_t n;

	out->v = NULL;
	out->n = 0;
	if (len < 8)
		return ll_fail(err, errlen, "REPORT LUNS data of %zu bytes, less than its 8-byte header", len);
	list_len = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		   (uint32_t)data[2] << 8 | data[3];
	if (list_len % 8)
		return ll_fail(err, errlen, "REPORT LUNS list length %" PRIu32 " is not a multiple of 8",
			    list_len);
	if (list_len > len - 8)
		return ll_fail(err, errlen, "REPORT LUNS list of %" PRIu32 " bytes, only %zu returned",
			    list_len, len - 8);
	n = list_len / 8;
	if (n > RD_MAX_LUNS)
		return ll_fail(err, errlen, "REPORT LUNS lists %zu LUNs, more than %d", n, RD_MAX_LUNS);
	if (n) {
		out->v = calloc(n, sizeof(*out->v));
		if (!out->v)
			return ll_fail(err, errlen, "out of memory for %zu LUNs", n);
	}
	for (size_t i = 0; i < n; i++)
		out->v[i] = rd_scsilun_to_int(data + 8 + 8 * i);
	out->n = n;
	return 0;
}

/* Open DEV/name if it is the device numbered devnum ("M:m"); -1 if not. */
static int open_node(const struct rd_env *env, const char *name, const char *devnum,
		     bool block)
{
	char path[PATH_MAX];
	unsigned int ma, mi;
	struct stat st;
	int fd;

	if (sscanf(devnum, "%u:%u", &ma, &mi) != 2)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", env->dev, name) >= sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || (block ? !S_ISBLK(st.st_mode) : !S_ISCHR(st.st_mode)) ||
	    major(st.st_rdev) != ma || minor(st.st_rdev) != mi) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A node of some running device of the target: a disk, else its sg device
 * (LUN 0 of tgt is a controller with no disk).  Its path goes in which. */
static int open_target_node(const struct rd_env *env, const struct rd_devtab *present,
			    char *which, size_t wlen)
{
	char hb[RD_HCTL_LEN], dir[PATH_MAX], path[PATH_MAX + 64], sg[32], devnum[24];
	int fd;

	for (size_t i = 0; i < present->n; i++) {
		const struct rd_sdev *d = &present->v[i];

		if (strcmp(d->state, "running"))
			continue;
		if (d->block[0] && d->devnum[0] &&
		    (fd = open_node(env, d->block, d->devnum, true)) >= 0) {
			snprintf(which, wlen, "%s/%s", env->dev, d->block);
			return fd;
		}
		if (rd_path(env, dir, sizeof(dir), NULL, 0, "class/scsi_device/%s/device/scsi_generic",
			    rd_hctl_fmt(&d->hctl, hb)))
			continue;
		rd_first_entry(dir, sg, sizeof(sg));	/* scsi_generic/ holds "sgN" */
		if (!sg[0])
			continue;
		snprintf(path, sizeof(path), "%s/%s/dev", dir, sg);
		if (rd_read_attr(path, devnum, sizeof(devnum)))
			continue;
		if ((fd = open_node(env, sg, devnum, false)) >= 0) {
			snprintf(which, wlen, "%s/%s", env->dev, sg);
			return fd;
		}
	}
	return -1;
}

/* One REPORT LUNS of alloc bytes: 0 with *got bytes of data, 1 for a unit
 * attention (ask again), -1 with err. */
static int report_luns_once(int fd, const char *node, uint8_t *buf, uint32_t alloc,
			    size_t *got, char *err, size_t errlen)
{
	uint8_t cdb[12] = { 0xa0, 0, 0x00 /* as the kernel's scan: no well-known LUNs */, 0, 0, 0,
			    alloc >> 24, alloc >> 16, alloc >> 8, alloc, 0, 0 };
	uint8_t sense[64];
	sg_io_hdr_t io;

	memset(&io, 0, sizeof(io));
	memset(sense, 0, sizeof(sense));
	io.interface_id = 'S';
	io.dxfer_direction = SG_DXFER_FROM_DEV;
	io.cmd_len = sizeof(cdb);
	io.cmdp = cdb;
	io.dxfer_len = alloc;
	io.dxferp = buf;
	io.mx_sb_len = sizeof(sense);
	io.sbp = sense;
	io.timeout = 20000;	/* ms */
	if (ioctl(fd, SG_IO, &io) < 0)
		return ll_fail(err, errlen, "REPORT LUNS through %s: SG_IO: %s", node, strerror(errno));
	if (io.status == 0x02 && io.sb_len_wr >= 3) {	/* CHECK CONDITION */
		uint8_t key = (sense[0] & 0x7f) >= 0x72 ? sense[1] & 0x0f : sense[2] & 0x0f;

		if (key == 0x06)
			return 1;
		return ll_fail(err, errlen, "REPORT LUNS through %s: CHECK CONDITION, sense key 0x%x",
			    node, key);
	}
	if (io.status || io.host_status || (io.driver_status & 0x0f))
		return ll_fail(err, errlen,
			    "REPORT LUNS through %s failed: status 0x%x host 0x%x driver 0x%x",
			    node, io.status, io.host_status, io.driver_status);
	*got = alloc - (size_t)(io.resid > 0 ? io.resid : 0);
	return 0;
}

int rd_report_luns_sgio(const struct rd_env *env, const struct rd_session *s,
			const struct rd_devtab *present, struct rd_lunlist *out,
			char *err, size_t errlen)
{
	char node[PATH_MAX + 40];
	uint32_t alloc = 8 + 8 * 256, need;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = -1, tries = 0;

	out->v = NULL;
	out->n = 0;
	fd = open_target_node(env, present, node, sizeof(node));
	if (fd < 0)
		return ll_fail(err, errlen, "no device node of session %u (%s) under %s to send REPORT LUNS to",
			    s->sid, s->target, env->dev);
	for (;;) {
		uint8_t *nb = realloc(buf, alloc);

		if (!nb) {
			ll_fail(err, errlen, "out of memory for REPORT LUNS");
			goto out;
		}
		buf = nb;
		rc = report_luns_once(fd, node, buf, alloc, &got, err, errlen);
		if (rc == 1 && ++tries < 4)
			continue;
		if (rc == 1)
			rc = ll_fail(err, errlen, "REPORT LUNS through %s: unit attention 4 times running",
				  node);
		if (rc)
			goto out;
		if (got < 8)
			break;
		need = ((uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
			(uint32_t)buf[2] << 8 | buf[3]);
		if (need <= alloc - 8 || need > 8u * RD_MAX_LUNS || alloc > 8u * RD_MAX_LUNS)
			break;
		alloc = need + 8;	/* the list did not fit: ask for all of it */
	}
	rc = rd_report_luns_decode(buf, got, out, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

int rd_report_luns_fake(const struct rd_env *env, const struct rd_session *s,
			const struct rd_devtab *present, struct rd_lunlist *out,
			char *err, size_t errlen)
{
	char path[PATH_MAX], line[64];
	FILE *f;
	uint64_t v;
	char *end;

	(void)present;
	out->v = NULL;
	out->n = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/host%u", env->fake_luns_dir, s->host) >=
	    sizeof(path))
		return ll_fail(err, errlen, "%s: path too long", env->fake_luns_dir);
	f = fopen(path, "re");
	if (!f)
		return ll_fail(err, errlen, "cannot read the fake LUN list %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '\n' || line[0] == '#')
			continue;
		errno = 0;
		v = strtoull(line, &end, 10);
		if (errno || end == line || (*end && *end != '\n')) {
			fclose(f);
			rd_lunlist_free(out);
			return ll_fail(err, errlen, "%s: '%.20s' is not a LUN number", path, line);
		}
		if (out->n == RD_MAX_LUNS)
			break;
		uint64_t *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));

		if (!nv) {
			fclose(f);
			rd_lunlist_free(out);
			return ll_fail(err, errlen, "out of memory reading %s", path);
		}
		out->v = nv;
		out->v[out->n++] = v;
	}
	fclose(f);
	return 0;
}
