// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sysfs.c: reading iSCSI sessions and SCSI devices from sysfs and writing
 * scan, rescan and delete (see sysfs.h for the paths).  Nothing here
 * decides anything; reconcile.c does.  Every error names the file.
 */
#include "sysfs.h"
#include "lunlink/errmsg.h"
#include "log.h"
#include "luns.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void rd_env_default(struct rd_env *env)
{
	memset(env, 0, sizeof(*env));
	strcpy(env->sysfs, "/sys");
	strcpy(env->dev, "/dev");
	strcpy(env->mountinfo, "/proc/self/mountinfo");
	strcpy(env->swaps, "/proc/swaps");
	env->host_scan = true;
	env->rescan_existing = true;
	env->remove_stale = true;
	env->remove_wwid_changed = true;
	env->report_luns = rd_report_luns_sgio;
}

/* ---- files ------------------------------------------------------------- */

int rd_path(const struct rd_env *env, char *out, size_t outlen, char *err,
	    size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(out, outlen, "%s/", env->sysfs);
	if (n < 0 || (size_t)n >= outlen)
		return ll_fail(err, errlen, "sysfs root %s: path too long", env->sysfs);
	va_start(ap, fmt);
	m = vsnprintf(out + n, outlen - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= outlen)
		return ll_fail(err, errlen, "a path under %s is too long", env->sysfs);
	return 0;
}

int rd_read_attr(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t got = 0;

	if (fd < 0)
		return -1;
	/* sysfs hands an attribute over in one read; loop for plain files */
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	while (got && (buf[got - 1] == '\n' || buf[got - 1] == ' ' || buf[got - 1] == '\t'))
		buf[--got] = '\0';
	return 0;
}

/* A binary attribute (vpd_pg83) as "vpd83:" and hex, for comparison only. */
static int read_vpd_hex(const char *path, char *out, size_t outlen)
{
	unsigned char raw[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t o;

	if (fd < 0)
		return -1;
	n = read(fd, raw, sizeof(raw));
	close(fd);
	if (n <= 0)
		return -1;
	o = (size_t)snprintf(out, outlen, "vpd83:");
	for (ssize_t i = 0; i < n && o + 3 <= outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02x", raw[i]);
	return 0;
}

static bool prefixed_number(const char *name, const char *prefix, unsigned int *out)
{
	size_t pl = strlen(prefix);
	const char *p = name + pl;
	uint64_t v;

	if (strncmp(name, prefix, pl) || rd_parse_decimal(&p, UINT32_MAX, &v) || *p)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* ---- sessions ------------------------------------------------------------ */

/* The SCSI host of a session: the "hostH" component of its real path. */
static int session_host(const char *link, unsigned int *host)
{
	char *real = realpath(link, NULL), *save, *tok;
	bool found = false;

	if (!real)
		return -1;
	for (tok = strtok_r(real, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
		if (prefixed_number(tok, "host", host))
			found = true;	/* the last one before the session wins */
		else if (!strncmp(tok, "session", 7) && found)
			break;
	free(real);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}

static void session_portal(const struct rd_env *env, struct rd_session *s)
{
	char dir[PATH_MAX], prefix[32], path[PATH_MAX], addr[64], port[16];
	struct dirent *d;
	DIR *dp;

	s->portal[0] = '\0';
	if (rd_path(env, dir, sizeof(dir), NULL, 0, "class/iscsi_connection"))
		return;
	dp = opendir(dir);
	if (!dp)
		return;
	snprintf(prefix, sizeof(prefix), "connection%u:", s->sid);
	while ((d = readdir(dp))) {
		if (strncmp(d->d_name, prefix, strlen(prefix)))
			continue;
		if (rd_path(env, path, sizeof(path), NULL, 0, "class/iscsi_connection/%s/persistent_address",
			    d->d_name) || rd_read_attr(path, addr, sizeof(addr)))
			continue;
		if (rd_path(env, path, sizeof(path), NULL, 0, "class/iscsi_connection/%s/persistent_port",
			    d->d_name) || rd_read_attr(path, port, sizeof(port)))
			continue;
		snprintf(s->portal, sizeof(s->portal), strchr(addr, ':') ? "[%s]:%s" : "%s:%s",
			 addr, port);
		break;
	}
	closedir(dp);
}

static int cmp_session(const void *a, const void *b)
{
	const struct rd_session *x = a, *y = b;

	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

int rd_sessions_list(const struct rd_env *env, struct rd_session **out, size_t *n,
		     char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct rd_session *v = NULL, s;
	size_t cnt = 0, cap = 0;
	struct dirent *d;
	DIR *dp;

	*out = NULL;
	*n = 0;
	if (rd_path(env, dir, sizeof(dir), err, errlen, "class/iscsi_session"))
		return -1;
	dp = opendir(dir);
	if (!dp) {
		if (errno == ENOENT)	/* no iscsi transport loaded: no sessions */
			return 0;
		return ll_fail(err, errlen, "cannot read %s: %s", dir, strerror(errno));
	}
	while ((d = readdir(dp))) {
		memset(&s, 0, sizeof(s));
		if (!prefixed_number(d->d_name, "session", &s.sid))
			continue;
		if (rd_path(env, path, sizeof(path), err, errlen, "class/iscsi_session/%s", d->d_name))
			goto err;
		if (session_host(path, &s.host)) {
			rd_warn("%s: cannot tell its SCSI host (no hostN in its real path): %s",
				path, strerror(errno));
			continue;
		}
		if (rd_path(env, path, sizeof(path), err, errlen, "class/iscsi_session/%s/targetname",
			    d->d_name))
			goto err;
		if (rd_read_attr(path, s.target, sizeof(s.target)))
			rd_warn("cannot read %s: %s", path, strerror(errno));
		session_portal(env, &s);
		if (cnt == cap) {
			struct rd_session *nv = realloc(v, (cap = cap ? 2 * cap : 8) * sizeof(*v));

			if (!nv) {
				ll_fail(err, errlen, "out of memory listing %s", dir);
				goto err;
			}
			v = nv;
		}
		v[cnt++] = s;
	}
	closedir(dp);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_session);
	*out = v;
	*n = cnt;
	return 0;
err:
	closedir(dp);
	free(v);
	return -1;
}

int rd_session_of_host(const struct rd_env *env, unsigned int host, struct rd_session *out,
		       char *err, size_t errlen)
{
	struct rd_session *v;
	size_t n;
	int found = 0;

	if (rd_sessions_list(env, &v, &n, err, errlen))
		return -1;
	for (size_t i = 0; i < n && !found; i++)
		if (v[i].host == host) {
			*out = v[i];
			found = 1;
		}
	free(v);
	return found;
}

/* ---- devices ------------------------------------------------------------- */

/* The first entry of a folder, dot files aside, or "". */
void rd_first_entry(const char *dir, char *out, size_t outlen)
{
	DIR *dp = opendir(dir);
	struct dirent *d;

	out[0] = '\0';
	if (!dp)
		return;
	while ((d = readdir(dp)))
		if (d->d_name[0] != '.' && strlen(d->d_name) < outlen) {
			strcpy(out, d->d_name);
			break;
		}
	closedir(dp);
}

int rd_sdev_read(const struct rd_env *env, const struct rd_hctl *h, struct rd_sdev *d,
		 char *err, size_t errlen)
{
	char hb[RD_HCTL_LEN], base[PATH_MAX], path[PATH_MAX + 64], buf[32];
	struct stat st;
	uint64_t sectors;
	const char *p;

	memset(d, 0, sizeof(*d));
	d->hctl = *h;
	rd_hctl_fmt(h, hb);
	if (rd_path(env, base, sizeof(base), err, errlen, "class/scsi_device/%s/device", hb))
		return -1;
	if (stat(base, &st)) {
		if (errno == ENOENT)
			return 0;
		return ll_fail(err, errlen, "cannot reach %s: %s", base, strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/state", base);
	if (rd_read_attr(path, d->state, sizeof(d->state)))
		return ll_fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/wwid", base);
	if (rd_read_attr(path, d->wwid, sizeof(d->wwid))) {
		snprintf(path, sizeof(path), "%s/vpd_pg83", base);
		if (read_vpd_hex(path, d->wwid, sizeof(d->wwid)))
			d->wwid[0] = '\0';	/* no identity: never "changed" */
	}
	snprintf(path, sizeof(path), "%s/block", base);
	rd_first_entry(path, d->block, sizeof(d->block));
	if (!d->block[0])
		return 1;
	snprintf(path, sizeof(path), "%s/block/%s/dev", base, d->block);
	if (rd_read_attr(path, d->devnum, sizeof(d->devnum)))
		d->devnum[0] = '\0';
	snprintf(path, sizeof(path), "%s/block/%s/size", base, d->block);
	if (rd_read_attr(path, buf, sizeof(buf)))
		return ll_fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
	p = buf;
	if (rd_parse_decimal(&p, UINT64_MAX >> 9, &sectors) || *p)
		return ll_fail(err, errlen, "%s: '%s' is not a number of sectors", path, buf);
	d->size = sectors << 9;
	return 1;
}

int rd_devtab_add(struct rd_devtab *t, const struct rd_sdev *d)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct rd_sdev *nv = realloc(t->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = *d;
	return 0;
}

static int cmp_sdev(const void *a, const void *b)
{
	return rd_hctl_cmp(&((const struct rd_sdev *)a)->hctl, &((const struct rd_sdev *)b)->hctl);
}

int rd_devtab_snapshot(const struct rd_env *env, unsigned int host, struct rd_devtab *t,
		       char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct rd_hctl h;
	struct rd_sdev d;
	struct dirent *de;
	DIR *dp;
	int rc;

	memset(t, 0, sizeof(*t));
	if (rd_path(env, dir, sizeof(dir), err, errlen, "class/scsi_device"))
		return -1;
	dp = opendir(dir);
	if (!dp) {
		if (errno == ENOENT)
			return 0;
		return ll_fail(err, errlen, "cannot read %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(dp))) {
		if (rd_hctl_parse(de->d_name, &h) || h.host != host)
			continue;
		rc = rd_sdev_read(env, &h, &d, err, errlen);
		if (rc < 0)
			goto err;
		if (rc == 0)	/* deleted while we looked */
			continue;
		if (rd_devtab_add(t, &d)) {
			ll_fail(err, errlen, "out of memory reading %s", dir);
			goto err;
		}
	}
	closedir(dp);
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), cmp_sdev);
	return 0;
err:
	closedir(dp);
	rd_devtab_free(t);
	return -1;
}

const struct rd_sdev *rd_devtab_find(const struct rd_devtab *t, const struct rd_hctl *h)
{
	for (size_t i = 0; i < t->n; i++)
		if (!rd_hctl_cmp(&t->v[i].hctl, h))
			return &t->v[i];
	return NULL;
}

void rd_devtab_free(struct rd_devtab *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

void rd_lunlist_free(struct rd_lunlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool rd_lunlist_has(const struct rd_lunlist *l, uint64_t lun)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == lun)
			return true;
	return false;
}

/* ---- writes -------------------------------------------------------------- */

static int write_attr(const struct rd_env *env, const char *path, const char *value,
		      char *err, size_t errlen)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	if (env->dry_run) {
		rd_info("dry run: would write '%s' to %s", value, path);
		return 0;
	}
	rd_debug("writing '%s' to %s", value, path);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return ll_fail(err, errlen, "cannot open %s to write '%s': %s", path, value,
			    strerror(errno));
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return ll_fail(err, errlen, "cannot write '%s' to %s: %s", value, path, strerror(e));
	}
	if (close(fd))
		return ll_fail(err, errlen, "writing '%s' to %s: %s", value, path, strerror(errno));
	if (env->kernel_hook)
		env->kernel_hook(env, path, value);
	return 0;
}

int rd_attr_write(const struct rd_env *env, const char *path, const char *value, char *err,
		  size_t errlen)
{
	return write_attr(env, path, value, err, errlen);
}

int rd_host_scan(const struct rd_env *env, unsigned int host, const char *spec,
		 char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (rd_path(env, path, sizeof(path), err, errlen, "class/scsi_host/host%u/scan", host))
		return -1;
	return write_attr(env, path, spec, err, errlen);
}

static int sdev_write(const struct rd_env *env, const struct rd_hctl *h, const char *attr,
		      char *err, size_t errlen)
{
	char hb[RD_HCTL_LEN], path[PATH_MAX];

	if (rd_path(env, path, sizeof(path), err, errlen, "class/scsi_device/%s/device/%s",
		    rd_hctl_fmt(h, hb), attr))
		return -1;
	return write_attr(env, path, "1", err, errlen);
}

int rd_sdev_rescan(const struct rd_env *env, const struct rd_hctl *h, char *err, size_t errlen)
{
	return sdev_write(env, h, "rescan", err, errlen);
}

int rd_sdev_delete(const struct rd_env *env, const struct rd_hctl *h, char *err, size_t errlen)
{
	return sdev_write(env, h, "delete", err, errlen);
}

void rd_kernel_hook_cmd(const struct rd_env *env, const char *path, const char *value)
{
	char script[PATH_MAX + 32];
	pid_t pid;
	int status;

	snprintf(script, sizeof(script), "%s \"$1\" \"$2\"", env->test_kernel_cmd);
	pid = fork();
	if (pid < 0) {
		rd_err("test kernel hook: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, "sh", path, value, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		rd_warn("test kernel hook '%s %s %s' failed (status %d)", env->test_kernel_cmd,
			path, value, status);
}

bool rd_wwid_naa(const char *wwid, const char *prefix, char *out, size_t outlen)
{
	const char *hex = wwid + 4;
	size_t o;

	out[0] = '\0';
	if (strncasecmp(wwid, "naa.", 4) || !*hex ||
	    strspn(hex, "0123456789abcdefABCDEF") != strlen(hex))
		return false;
	o = (size_t)snprintf(out, outlen, "%s", prefix);
	for (; *hex && o + 1 < outlen; hex++)
		out[o++] = (char)tolower((unsigned char)*hex);
	if (o < outlen)
		out[o] = '\0';
	return true;
}
