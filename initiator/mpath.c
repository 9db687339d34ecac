// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mpath.c: a volume's dm-multipath map, made and changed with dmsetup
 * (see mpath.h).  Nothing here decides which paths a map has: link.c
 * does, and hands over the table.
 */
#include "mpath.h"
#include "discover.h"
#include "log.h"
#include "lunlink/errmsg.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void rd_map_name(const char *volume, char *out, size_t outlen)
{
	snprintf(out, outlen, "lunlink-%s", volume);
}

void rd_map_uuid(const char *wwid, const char *name, char *out, size_t outlen)
{
	if (!rd_wwid_naa(wwid, "mpath-3", out, outlen))
		snprintf(out, outlen, "mpath-%s", name);
}

int rd_map_table(uint64_t sectors, const char *const devnums[], size_t n, char *out,
		 size_t outlen)
{
	size_t o;

	if (!n || n > RD_MAP_PATHS_MAX)
		return -1;
	/* 1 feature (queue_if_no_path), no hardware handler, n groups, the
	 * first one first; each group: round-robin, no selector argument,
	 * one path with one argument (its repeat count) */
	o = (size_t)snprintf(out, outlen, "0 %" PRIu64 " multipath 1 queue_if_no_path 0 %zu 1",
			     sectors, n);
	for (size_t i = 0; i < n && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, " round-robin 0 1 1 %s 1", devnums[i]);
	return o < outlen ? 0 : -1;
}

int rd_map_find(const struct rd_env *env, const char *name, struct rd_map *m, char *err,
		size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], v[RD_MAP_NAME_MAX];
	struct dirent *de;
	int found = 0;
	DIR *dp;

	memset(m, 0, sizeof(*m));
	if (rd_path(env, dir, sizeof(dir), err, errlen, "block"))
		return -1;
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : ll_fail(err, errlen, "cannot read %s: %s", dir,
						      strerror(errno));
	while (!found && (de = readdir(dp))) {
		if (strncmp(de->d_name, "dm-", 3) ||
		    rd_path(env, path, sizeof(path), NULL, 0, "block/%s/dm/name", de->d_name) ||
		    rd_read_attr(path, v, sizeof(v)) || strcmp(v, name))
			continue;
		found = 1;
		snprintf(m->name, sizeof(m->name), "%s", name);
		snprintf(m->dm, sizeof(m->dm), "%.31s", de->d_name);
		if (!rd_path(env, path, sizeof(path), NULL, 0, "block/%s/dm/uuid", de->d_name))
			rd_read_attr(path, m->uuid, sizeof(m->uuid));
		if (!rd_path(env, path, sizeof(path), NULL, 0, "block/%s/dev", de->d_name))
			rd_read_attr(path, m->devnum, sizeof(m->devnum));
	}
	closedir(dp);
	if (!found)
		return 0;
	if (rd_path(env, dir, sizeof(dir), err, errlen, "block/%s/slaves", m->dm))
		return -1;
	dp = opendir(dir);
	while (dp && (de = readdir(dp)) && m->nslaves < RD_MAP_PATHS_MAX)
		if (de->d_name[0] != '.')
			snprintf(m->slaves[m->nslaves++], sizeof(m->slaves[0]), "%.31s", de->d_name);
	if (dp)
		closedir(dp);
	return 1;
}

/* What to do about dmsetup's failure (its exit status, its words): what
 * dmsetup itself says names no cure. */
static const char *dmsetup_cure(int st, const char *words)
{
	if (st == 127)
		return " (install dmsetup, or give its path as manager.dmsetup in the configuration)";
	if (strstr(words, "Device or resource busy"))
		return " (a device of the table is held by another map or a mount, or the map is "
		       "open: lsblk and the kernel log say which)";
	if (strstr(words, "Invalid argument"))
		return " (the kernel refused the table: its log, dmesg, says why)";
	return "";
}

/* dmsetup ARGS: 0, the output in out; or -1 with err: "dmsetup STEP: its
 * words" and what to do */
static int dmsetup(const struct rd_dmsetup *ds, const char *step, char *const args[], char *out,
		   size_t outlen, char *err, size_t errlen)
{
	char *argv[12] = { (char *)ds->path };
	char text[2048], runerr[256];
	size_t n = 1;
	int st;

	for (size_t i = 0; args[i] && n < 11; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rd_debug("dmsetup %s %s", args[0], args[1] ? args[1] : "");
	st = rd_run(argv, ds->timeout_s ? ds->timeout_s : 10, out ? out : text,
		    out ? outlen : sizeof(text), runerr, sizeof(runerr));
	if (st < 0)
		return ll_fail(err, errlen, "dmsetup %s: %s", step, runerr);
	if (st) {
		char *t = out ? out : text, *nl;

		while ((nl = strrchr(t, '\n')) && !nl[1])
			*nl = '\0';
		for (nl = t; (nl = strchr(nl, '\n'));)
			*nl = ' ';
		return ll_fail(err, errlen, "dmsetup %s exited %d: %.400s%s", step, st, t,
			       dmsetup_cure(st, t));
	}
	return 0;
}

/* The next word of *p that names a device (MAJ:MIN), or the length
 * (the second word); NULL at the end.  Words are copied into w. */
static const char *next_key(const char **p, char *w, size_t wlen, int *word)
{
	while (**p) {
		size_t n;

		*p += strspn(*p, " \n");
		n = strcspn(*p, " \n");
		if (!n)
			break;
		snprintf(w, wlen, "%.*s", (int)(n < wlen ? n : wlen - 1), *p);
		*p += n;
		if (++*word == 2 || strchr(w, ':'))
			return w;
	}
	return NULL;
}

/* Whether the map's table (as the kernel prints it: it adds features of
 * its own, retain_attached_hw_handler) has the length and the paths, in
 * order, of the one we would load. */
static bool same_paths(const char *now, const char *want)
{
	char a[64], b[64];
	int wa = 0, wb = 0;
	const char *x, *y;

	do {
		x = next_key(&now, a, sizeof(a), &wa);
		y = next_key(&want, b, sizeof(b), &wb);
		if (!x != !y || (x && strcmp(x, y)))
			return false;
	} while (x);
	return true;
}

int rd_map_set(const struct rd_dmsetup *ds, const char *name, const char *uuid, const char *table,
	       char *err, size_t errlen)
{
	char *create[] = { "create", (char *)name, "--uuid", (char *)uuid, "--table",
			   (char *)table, NULL };
	char *show[] = { "table", (char *)name, NULL };
	char *reload[] = { "reload", (char *)name, "--table", (char *)table, NULL };
	char *suspend[] = { "suspend", "--noflush", (char *)name, NULL };
	char *resume[] = { "resume", (char *)name, NULL };
	char now[RD_MAP_TABLE_MAX + 256], why[256];
	size_t len;

	/* no map by that name: dmsetup table fails, and the map is made */
	if (dmsetup(ds, "table", show, now, sizeof(now), why, sizeof(why))) {
		rd_info("map %s: creating it: %s", name, table);
		return dmsetup(ds, "create", create, NULL, 0, err, errlen);
	}
	len = strlen(now);
	while (len && (now[len - 1] == '\n' || now[len - 1] == ' '))
		now[--len] = '\0';
	if (same_paths(now, table))
		return 0;
	rd_info("map %s: reloading: %s (was %s)", name, table, now);
	if (dmsetup(ds, "reload", reload, NULL, 0, err, errlen))
		return -1;
	/* noflush: I/O queued for want of a path stays queued, and goes on
	 * through the new table at the resume */
	if (dmsetup(ds, "suspend --noflush", suspend, NULL, 0, err, errlen)) {
		char e2[256];

		/* a reload not resumed is dropped at the next one; resume the
		 * old table in any case so that nothing stays suspended */
		dmsetup(ds, "resume", resume, NULL, 0, e2, sizeof(e2));
		return -1;
	}
	return dmsetup(ds, "resume", resume, NULL, 0, err, errlen);
}

int rd_map_remove(const struct rd_dmsetup *ds, const char *name, char *err, size_t errlen)
{
	char *rm[] = { "remove", (char *)name, NULL };

	rd_info("map %s: removing it", name);
	return dmsetup(ds, "remove", rm, NULL, 0, err, errlen);
}

char rd_map_status_path(const char *status, const char *devnum)
{
	size_t dl = strlen(devnum);
	const char *p = status;

	/* "... A 0 1 0 8:32 A 0 E 0 1 0 8:16 F 1": the path, then A or F */
	while (dl && (p = strstr(p, devnum))) {
		bool start = p == status || p[-1] == ' ';

		p += dl;
		if (start && p[0] == ' ' && (p[1] == 'A' || p[1] == 'F') && (!p[2] || p[2] == ' ' ||
									  p[2] == '\n'))
			return p[1];
	}
	return 0;
}

char rd_map_path_state(const struct rd_dmsetup *ds, const char *name, const char *devnum,
		       char *err, size_t errlen)
{
	char *args[] = { "status", (char *)name, NULL };
	char out[RD_MAP_TABLE_MAX + 256];

	if (dmsetup(ds, "status", args, out, sizeof(out), err, errlen))
		return 0;
	return rd_map_status_path(out, devnum);
}

int rd_map_queue_timeout(const struct rd_env *env, unsigned int secs, char *err, size_t errlen)
{
	char path[PATH_MAX], now[32], want[32];

	if (rd_path(env, path, sizeof(path), err, errlen,
		    "module/dm_multipath/parameters/queue_if_no_path_timeout_secs"))
		return -1;
	snprintf(want, sizeof(want), "%u", secs);
	if (rd_read_attr(path, now, sizeof(now)))
		return ll_fail(err, errlen, "cannot read %s (is dm_multipath loaded?): %s", path,
			       strerror(errno));
	if (!strcmp(now, want))
		return 0;
	rd_info("dm_multipath: queue_if_no_path_timeout_secs %s -> %s", now, want);
	return rd_attr_write(env, path, want, err, errlen);
}
