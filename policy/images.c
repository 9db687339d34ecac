// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * images.c: the node's images in its areas (see images.h): where an image
 * may be, what is there (lunlink-image show --json), making one
 * idempotently, deleting one when asked, and how full an area is.
 */
#include "images.h"
#include "run.h"
#include "lunlink/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define TOOL(o) ((o)->lunlink_image ? (o)->lunlink_image : "/usr/sbin/lunlink-image")
#define TIMEOUT(o) ((o)->timeout_ms ? (o)->timeout_ms : 60000)

bool pg_image_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= PG_IMAGE_NAME_MAX && name[0] != '.' && !strstr(name, "..") &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool is_device(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISBLK(st.st_mode);
}

int pg_image_area(const struct pg_area *areas, size_t nareas, const char *path, char *err,
		  size_t errlen)
{
	const char *slash = strrchr(path, '/');

	for (size_t i = 0; i < nareas; i++) {
		size_t n = strlen(areas[i].path);

		if (!strcmp(path, areas[i].path) && is_device(path))
			return (int)i;
		while (n > 1 && areas[i].path[n - 1] == '/')
			n--;
		if (slash && (size_t)(slash - path) == n && !strncmp(path, areas[i].path, n)) {
			if (!pg_image_name_valid(slash + 1)) {
				snprintf(err, errlen, "image %s: its name '%s' must be 1 to %d of "
					 "a-z, 0-9, '.', '_', '-', not start with '.' and hold no '..'",
					 path, slash + 1, PG_IMAGE_NAME_MAX);
				return -1;
			}
			return (int)i;
		}
	}
	snprintf(err, errlen, "image %s is in none of this node's areas (add the area to the "
		 "agent's configuration, or ask the manager to place it in one)", path);
	return -1;
}

int pg_image_show(const struct pg_image_opts *o, const char *path, struct pg_image_info *info,
		  char *err, size_t errlen)
{
	char *argv[] = { (char *)TOOL(o), "show", "--json", (char *)path, NULL }, why[512];
	struct pg_run_result r;
	json_object *j = NULL, *v;
	struct stat st;

	memset(info, 0, sizeof(*info));
	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "image %s: %s", path, strerror(errno));
		return -1;
	}
	info->exists = true;
	if (S_ISREG(st.st_mode))
		info->file_bytes = (uint64_t)st.st_size;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "image %s is neither a file nor a block device; it is left "
			 "alone: remove it, or place the volume elsewhere", path);
		return -1;
	}
	if (pg_run(argv, NULL, TIMEOUT(o), &r, why, sizeof(why))) {
		snprintf(err, errlen, "image %s: %s", path, why);
		return -1;
	}
	if (r.status) {
		snprintf(err, errlen, "image %s: lunlink-image show: %s", path,
			 r.timed_out ? "did not finish in time" : r.err);
		goto err;
	}
	j = json_tokener_parse(r.out ? r.out : "");
	if (!j || !json_object_object_get_ex(j, "format", &v)) {
		snprintf(err, errlen, "image %s: lunlink-image show --json gave no format", path);
		goto err;
	}
	if (!strcmp(json_object_get_string(v), "lunlink")) {
		info->lunlink = true;
		if (json_object_object_get_ex(j, "volume", &v))
			snprintf(info->volume, sizeof(info->volume), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(j, "data_offset", &v))
			info->data_offset = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(j, "data_size", &v))
			info->data_size = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(j, "max_data_size", &v))
			info->max_data_size = (uint64_t)json_object_get_int64(v);
	}
	json_object_put(j);
	pg_run_result_free(&r);
	return 0;
err:
	if (j)
		json_object_put(j);
	pg_run_result_free(&r);
	return -1;
}

static bool volume_id_valid(const char *id)
{
	return strlen(id) == PG_VOLUME_ID_LEN && strspn(id, "0123456789abcdef") == PG_VOLUME_ID_LEN;
}

int pg_image_ensure(const struct pg_image_opts *o, const char *path, uint64_t size,
		    uint64_t max_size, const char *volume_id, struct pg_image_info *info,
		    char *err, size_t errlen)
{
	char s_size[32], s_max[32], why[512];
	char *argv[12];
	struct pg_run_result r;
	int n = 0;

	if (!volume_id_valid(volume_id)) {
		snprintf(err, errlen, "image %s: volume id '%.40s' is not 32 lower-case hex digits",
			 path, volume_id);
		return -1;
	}
	if (pg_image_show(o, path, info, err, errlen))
		return -1;
	if (info->exists && !info->lunlink) {
		snprintf(err, errlen, "image %s exists and is no lunlink image (a raw file or "
			 "device); it is never overwritten: move it away, or place volume %s "
			 "elsewhere", path, volume_id);
		return -1;
	}
	if (info->exists && strcmp(info->volume, volume_id)) {
		snprintf(err, errlen, "image %s holds volume %s, not %s; it is never overwritten: "
			 "delete that volume first, or place this one elsewhere", path, info->volume,
			 volume_id);
		return -1;
	}
	if (info->exists)
		return 0;	/* same volume: kept, whatever its size (grown elsewhere) */
	snprintf(s_size, sizeof(s_size), "%" PRIu64, size);
	snprintf(s_max, sizeof(s_max), "%" PRIu64, max_size);
	argv[n++] = (char *)TOOL(o);
	argv[n++] = "create";
	argv[n++] = "--size";
	argv[n++] = s_size;
	if (max_size) {
		argv[n++] = "--max-size";
		argv[n++] = s_max;
	}
	argv[n++] = "--volume";
	argv[n++] = (char *)volume_id;
	argv[n++] = (char *)path;
	argv[n] = NULL;
	if (pg_run(argv, NULL, TIMEOUT(o), &r, why, sizeof(why))) {
		snprintf(err, errlen, "image %s: %s", path, why);
		return -1;
	}
	if (r.status) {
		snprintf(err, errlen, "making image %s: %s", path,
			 r.timed_out ? "lunlink-image create did not finish in time" : r.err);
		pg_run_result_free(&r);
		return -1;
	}
	pg_run_result_free(&r);
	return pg_image_show(o, path, info, err, errlen);
}

int pg_image_delete(const struct pg_image_opts *o, const struct pg_area *areas, size_t nareas,
		    const char *path, const char *volume_id, char *err, size_t errlen)
{
	struct pg_image_info info;

	if (pg_image_area(areas, nareas, path, err, errlen) < 0)
		return -1;
	if (is_device(path)) {
		snprintf(err, errlen, "image %s is a device area: the agent never wipes one", path);
		return -1;
	}
	if (pg_image_show(o, path, &info, err, errlen))
		return -1;
	if (!info.exists)
		return 0;
	if (!info.lunlink || strcmp(info.volume, volume_id)) {
		snprintf(err, errlen, "image %s is not volume %s's (it holds %s); not deleted",
			 path, volume_id, info.lunlink ? info.volume : "no lunlink image");
		return -1;
	}
	if (unlink(path)) {
		snprintf(err, errlen, "deleting image %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether the open file fd begins with a lunlink superblock's magic. */
static bool fd_is_lunlink(int fd)
{
	char magic[16];

	return pread(fd, magic, 16, 0) == 16 && !memcmp(magic, LL_IMAGE_MAGIC, 16);
}

int pg_plain_ensure(const char *path, uint64_t size, bool dry_run, bool *todo, uint64_t *bytes,
		    char *err, size_t errlen)
{
	struct stat st;
	int fd;

	*todo = false;
	*bytes = 0;
	if (dry_run) {
		if (lstat(path, &st) && errno == ENOENT) {
			*todo = true;	/* to be made */
			return 0;
		}
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errlen, "plain image %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "plain image %s is neither a file nor a block device; it is "
			 "left alone", path);
		goto err;
	}
	if (fd_is_lunlink(fd)) {
		snprintf(err, errlen, "plain image %s holds a lunlink image; it is never "
			 "overwritten: delete that volume first, or place this one elsewhere", path);
		goto err;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t dev = 0;

		if (ioctl(fd, BLKGETSIZE64, &dev) || dev < size) {
			snprintf(err, errlen, "plain image %s: the device holds %llu bytes, %llu "
				 "wanted", path, (unsigned long long)dev, (unsigned long long)size);
			goto err;
		}
		*bytes = dev;
	} else if ((uint64_t)st.st_size < size) {
		*todo = true;
		if (!dry_run && ftruncate(fd, (off_t)size)) {
			snprintf(err, errlen, "plain image %s: growing it to %llu bytes: %s", path,
				 (unsigned long long)size, strerror(errno));
			goto err;
		}
		*bytes = dry_run ? (uint64_t)st.st_size : size;
	} else {
		*bytes = (uint64_t)st.st_size;
	}
	close(fd);
	return 0;
err:
	close(fd);
	return -1;
}

int pg_plain_delete(const struct pg_area *areas, size_t nareas, const char *path, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd;
	bool ll;

	if (pg_image_area(areas, nareas, path, err, errlen) < 0)
		return -1;
	if (is_device(path)) {
		snprintf(err, errlen, "image %s is a device area: the agent never wipes one", path);
		return -1;
	}
	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "plain image %s is not a regular file; not deleted", path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ll = fd >= 0 && fd_is_lunlink(fd);
	if (fd >= 0)
		close(fd);
	if (ll) {
		snprintf(err, errlen, "plain image %s holds a lunlink image (another volume's); "
			 "not deleted", path);
		return -1;
	}
	if (unlink(path)) {
		snprintf(err, errlen, "deleting plain image %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether dirfd/name is a regular file (not followed if a link); its
 * size in *bytes.  Every image in a directory area is one: a lunlink
 * image, or a plain file (an integrated volume's part). */
static bool area_file(int dirfd, const char *name, uint64_t *bytes)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
		return false;
	*bytes = (uint64_t)st.st_size;
	return true;
}

int pg_area_usage(const struct pg_area *area, uint64_t *size, uint64_t *used, uint64_t *free_b,
		  char *err, size_t errlen)
{
	struct statvfs vfs;
	struct dirent *d;
	uint64_t fs_free, sum = 0;
	size_t seen = 0;
	DIR *dir;

	if (is_device(area->path)) {
		int fd = open(area->path, O_RDONLY | O_CLOEXEC);
		uint64_t bytes = 0;
		char magic[16];

		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes)) {
			snprintf(err, errlen, "area %s: cannot read its size: %s", area->path,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		*size = bytes;
		*used = pread(fd, magic, 16, 0) == 16 && !memcmp(magic, LL_IMAGE_MAGIC, 16) ?
			bytes : 0;
		*free_b = bytes - *used;
		close(fd);
		return 0;
	}
	dir = opendir(area->path);
	if (!dir || statvfs(area->path, &vfs)) {
		snprintf(err, errlen, "area %s: %s (create the directory, or fix the agent's "
			 "configuration)", area->path, strerror(errno));
		if (dir)
			closedir(dir);
		return -1;
	}
	while ((d = readdir(dir)) && seen++ < PG_AREA_FILES_MAX) {
		uint64_t bytes;

		if (d->d_name[0] != '.' && area_file(dirfd(dir), d->d_name, &bytes))
			sum += bytes;
	}
	closedir(dir);
	fs_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	*used = sum;
	*size = area->size ? area->size : sum + fs_free;
	*free_b = *size > sum ? *size - sum : 0;
	if (*free_b > fs_free)
		*free_b = fs_free;
	return 0;
}
