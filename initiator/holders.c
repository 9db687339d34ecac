// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * holders.c: the "is this block device in use" check (see holders.h).
 * Every check that finds something appends a clause to the answer, so the
 * operator learns everything that holds the device at once.
 */
#include "holders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The device and its partitions: name and "major:minor". */
struct part {
	char name[64];
	char devnum[24];
};

struct answer {
	char *buf;
	size_t len, used;
	int found;
};

static void add(struct answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct answer *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	a->found = 1;
	if (a->used >= a->len)
		return;
	if (a->used) {
		n = snprintf(a->buf + a->used, a->len - a->used, "; ");
		a->used += n > 0 ? (size_t)n : 0;
		if (a->used >= a->len) {
			a->used = a->len;
			return;
		}
	}
	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->used, a->len - a->used, fmt, ap);
	va_end(ap);
	a->used += n > 0 ? (size_t)n : 0;
	if (a->used > a->len)
		a->used = a->len;
}

/* The partitions are the subfolders of block/NAME that have a "partition"
 * file; the device itself comes first. */
static size_t list_parts(const struct rd_env *env, const struct rd_sdev *d, struct part *p,
			 size_t max)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *dp;

	snprintf(p[n].name, sizeof(p[n].name), "%s", d->block);
	snprintf(p[n].devnum, sizeof(p[n].devnum), "%s", d->devnum);
	n++;
	if (rd_path(env, dir, sizeof(dir), NULL, 0, "block/%s", d->block))
		return n;
	dp = opendir(dir);
	if (!dp)
		return n;
	while ((de = readdir(dp)) && n < max) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(p[n].name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/partition", dir, de->d_name);
		if (stat(path, &st))
			continue;
		memcpy(p[n].name, de->d_name, strlen(de->d_name) + 1);
		snprintf(path, sizeof(path), "%s/%s/dev", dir, de->d_name);
		if (rd_read_attr(path, p[n].devnum, sizeof(p[n].devnum)))
			p[n].devnum[0] = '\0';
		n++;
	}
	closedir(dp);
	return n;
}

/* block/NAME/holders/ (or block/DISK/PART/holders/): each entry a holder,
 * shown with its dm name (block/dm-0/dm/name) when it has one. */
static void check_holders(const struct rd_env *env, const char *disk, const struct part *p,
			  struct answer *a)
{
	char dir[PATH_MAX], path[PATH_MAX], dmname[128];
	struct dirent *de;
	DIR *dp;

	if (strcmp(disk, p->name) ?
	    rd_path(env, dir, sizeof(dir), NULL, 0, "block/%s/%s/holders", disk, p->name) :
	    rd_path(env, dir, sizeof(dir), NULL, 0, "block/%s/holders", disk))
		return;
	dp = opendir(dir);
	if (!dp)
		return;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		if (!rd_path(env, path, sizeof(path), NULL, 0, "block/%s/dm/name", de->d_name) &&
		    !rd_read_attr(path, dmname, sizeof(dmname)) && dmname[0])
			add(a, "held by %s (%s) through %s", de->d_name, dmname, p->name);
		else
			add(a, "held by %s through %s", de->d_name, p->name);
	}
	closedir(dp);
}

/* mountinfo's fields escape blanks as \040 and so on: undo it in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static int check_mounts(const struct rd_env *env, const struct part *p, size_t np,
			struct answer *a, char *why, size_t whylen)
{
	char *line = NULL, *save, *id, *majmin, *mnt;
	size_t cap = 0;
	FILE *f = fopen(env->mountinfo, "re");

	if (!f) {
		snprintf(why, whylen, "cannot read %s: %s", env->mountinfo, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		/* 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw */
		id = strtok_r(line, " ", &save);
		if (!id || !strtok_r(NULL, " ", &save))
			continue;
		majmin = strtok_r(NULL, " ", &save);
		if (!majmin || !strtok_r(NULL, " ", &save))
			continue;
		mnt = strtok_r(NULL, " ", &save);
		if (!mnt)
			continue;
		for (size_t i = 0; i < np; i++)
			if (p[i].devnum[0] && !strcmp(p[i].devnum, majmin)) {
				unescape(mnt);
				add(a, "mounted on %s (%s)", mnt, p[i].name);
			}
	}
	free(line);
	fclose(f);
	return 0;
}

/* /proc/swaps: "Filename Type Size Used Priority", the filename being the
 * node swapon was given.  Only names under the dev root count (a fake tree
 * in a test never matches the machine's own swap).  A missing file is no
 * swap (a kernel without swap support). */
static void check_swaps(const struct rd_env *env, const struct part *p, size_t np,
			struct answer *a)
{
	char *line = NULL, *save, *name;
	size_t cap = 0, dl = strlen(env->dev);
	FILE *f = env->swaps[0] ? fopen(env->swaps, "re") : NULL;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		name = strtok_r(line, " \t\n", &save);
		if (!name || strncmp(name, env->dev, dl) || name[dl] != '/')
			continue;
		unescape(name);
		for (size_t i = 0; i < np; i++)
			if (!strcmp(name + dl + 1, p[i].name))
				add(a, "used as swap (%s)", p[i].name);
	}
	free(line);
	fclose(f);
}

/* O_EXCL on a block device fails with EBUSY while anyone holds it
 * exclusively (mounts, dm, md, and programs that ask for it). */
static void check_exclusive(const struct rd_env *env, const struct part *p, struct answer *a)
{
	char path[PATH_MAX];
	unsigned int ma, mi;
	struct stat st;
	int fd;

	if (!p->devnum[0] || sscanf(p->devnum, "%u:%u", &ma, &mi) != 2)
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", env->dev, p->name) >= sizeof(path))
		return;
	/* only the node that really is this device (tests have no nodes) */
	if (stat(path, &st) || !S_ISBLK(st.st_mode) || major(st.st_rdev) != ma ||
	    minor(st.st_rdev) != mi)
		return;
	fd = open(path, O_RDONLY | O_EXCL | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	else if (errno == EBUSY)
		add(a, "%s is open exclusively by another program", p->name);
}

int rd_device_in_use(const struct rd_env *env, const struct rd_sdev *d, char *why, size_t whylen)
{
	struct part parts[64];
	struct answer a = { why, whylen, 0, 0 };
	size_t np;

	if (whylen)
		why[0] = '\0';
	if (!d->block[0])
		return 0;	/* no block device: nothing can hold it */
	np = list_parts(env, d, parts, sizeof(parts) / sizeof(parts[0]));
	for (size_t i = 0; i < np; i++)
		check_holders(env, d->block, &parts[i], &a);
	if (check_mounts(env, parts, np, &a, why, whylen))
		return -1;
	check_swaps(env, parts, np, &a);
	if (!a.found)
		for (size_t i = 0; i < np; i++)
			check_exclusive(env, &parts[i], &a);
	return a.found;
}
