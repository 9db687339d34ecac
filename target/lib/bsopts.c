// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bsopts.c: parsers for a lunlink LUN's options (--bsopts) and for the keys
 * of `tgtadm --op update --params`.  Outside input: every field is bounded
 * and every refusal names the key, the value and what is accepted.
 */
#include "lunlink/bsopts.h"
#include "lunlink/errmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ll_bsopts_default(struct ll_bsopts *o)
{
	o->io = LL_IO_AUTO;
	o->threads = LL_BSOPTS_THREADS_DEFAULT;
	o->queue_depth = LL_BSOPTS_QD_DEFAULT;
	o->thin = true;
	o->nlegs = 0;
	o->resync_rate = 0;
	o->leg_timeout = LL_BSOPTS_LEG_TIMEOUT_DEFAULT;
	o->window = false;
	o->window_offset = o->window_length = 0;
	o->nextents = 0;
	o->ncopy_extents = 0;
	o->raw = false;
	o->pr_file[0] = '\0';
	o->pr_cluster = false;
	snprintf(o->pr_socket, sizeof(o->pr_socket), "%s", LL_PR_SOCKET_DEFAULT);
	o->pr_timeout = LL_BSOPTS_PR_TIMEOUT_DEFAULT;
	o->lease = false;
	o->lease_loss = LL_LEASE_LOSS_SUSPEND;
}

bool ll_extent_is_remote(const struct ll_extent_opt *x)
{
	return !strncmp(x->path, "iscsi://", 8);
}

const char *ll_io_path_name(enum ll_io_path p)
{
	switch (p) {
	case LL_IO_URING:
		return "uring";
	case LL_IO_THREADS:
		return "threads";
	default:
		return "auto";
	}
}

/* A decimal in [lo, hi], nothing else. */
static int parse_uint(const char *key, const char *v, unsigned int lo,
		      unsigned int hi, unsigned int *out, char *err, size_t errlen)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		goto bad;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		goto bad;
	*out = (unsigned int)n;
	return 0;
bad:
	return ll_fail(err, errlen, "bsopts: %s='%s' is not a whole number from %u to %u",
		    key, v, lo, hi);
}

static int parse_bool(const char *key, const char *v, bool *out, char *err,
		      size_t errlen)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return ll_fail(err, errlen, "bsopts: %s='%s' must be on or off", key, v);
}

/*
 * PATH:OFFSET:LENGTH of extent= or copy_extent= (key): PATH absolute, or an
 * iscsi:// URL (which keeps its port's colon: the last two colons split).
 */
static int parse_extent(const char *key, char *v, struct ll_extent_opt *x, char *err,
			size_t errlen)
{
	char serr[128], *len_s = strrchr(v, ':'), *off_s;

	if (!len_s)
		return ll_fail(err, errlen, "bsopts: %s='%.80s' is not PATH:OFFSET:LENGTH", key, v);
	*len_s++ = '\0';
	off_s = strrchr(v, ':');
	if (!off_s || off_s == v || (v[0] != '/' && strncmp(v, "iscsi://", 8)))
		return ll_fail(err, errlen, "bsopts: %s='%.80s...' is not "
			       "/ABSOLUTE/PATH:OFFSET:LENGTH or "
			       "iscsi://HOST[:PORT]/TARGET-IQN/LUN:OFFSET:LENGTH", key, v);
	*off_s++ = '\0';
	if (!strncmp(v, "iscsi://", 8) && !strchr(v + 8, '/'))
		return ll_fail(err, errlen, "bsopts: %s='%.80s' is not an iSCSI URL "
			       "(iscsi://[user%%password@]host[:port]/target-iqn/lun)", key, v);
	if (strlen(v) > LL_EXTENT_PATH_MAX)
		return ll_fail(err, errlen, "bsopts: %s path longer than %d characters", key,
			       LL_EXTENT_PATH_MAX);
	/* LENGTH "end": to the end of the file or image's data, which
	 * may grow (resize= on the LUN, when this extent is the last) */
	x->to_end = !strcmp(len_s, "end");
	if (ll_parse_size(off_s, &x->offset, serr, sizeof(serr)) ||
	    (!x->to_end && ll_parse_size(len_s, &x->length, serr, sizeof(serr))))
		return ll_fail(err, errlen, "bsopts: %s %s: %s", key, v, serr);
	if (x->to_end)
		x->length = 0;
	if ((!x->length && !x->to_end) || x->offset % 512 || x->length % 512)
		return ll_fail(err, errlen, "bsopts: %s %s: the offset and the length must be "
			       "multiples of 512, the length not 0", key, v);
	if (x->to_end && !strncmp(v, "iscsi://", 8))
		return ll_fail(err, errlen, "bsopts: %s %s: a LUN on another node needs its "
			       "LENGTH (\"end\" is for local files and images)", key, v);
	strcpy(x->path, v);
	return 0;
}

static int parse_one(char *kv, struct ll_bsopts *o, char *err, size_t errlen)
{
	char *v = strchr(kv, '=');

	if (!v)
		return ll_fail(err, errlen,
			    "bsopts: '%s' has no '=' (options are key=value, separated by ';')",
			    kv);
	*v++ = '\0';

	if (!strcmp(kv, "io")) {
		if (!strcmp(v, "auto"))
			o->io = LL_IO_AUTO;
		else if (!strcmp(v, "uring"))
			o->io = LL_IO_URING;
		else if (!strcmp(v, "threads"))
			o->io = LL_IO_THREADS;
		else
			return ll_fail(err, errlen,
				    "bsopts: io='%s' is not an I/O path (auto, uring or threads)", v);
		return 0;
	}
	if (!strcmp(kv, "threads"))
		return parse_uint(kv, v, 1, LL_BSOPTS_THREADS_MAX, &o->threads, err, errlen);
	if (!strcmp(kv, "queue_depth"))
		return parse_uint(kv, v, 1, LL_BSOPTS_QD_MAX, &o->queue_depth, err, errlen);
	if (!strcmp(kv, "thin"))
		return parse_bool(kv, v, &o->thin, err, errlen);
	if (!strcmp(kv, "mirror")) {
		size_t n = strlen(v);
		unsigned int i, in_set = 0;

		for (i = 0; i < o->nlegs; i++)
			in_set += o->leg_set[i] == o->nextents;
		if (in_set == LL_MAX_LEGS)
			return ll_fail(err, errlen, "bsopts: more than %d mirror= legs for %s",
				       LL_MAX_LEGS, o->nextents ? "one extent" : "the backing store");
		if (o->nlegs == LL_MAX_LEG_OPTS)
			return ll_fail(err, errlen, "bsopts: more than %d mirror= legs in all",
				       LL_MAX_LEG_OPTS);
		if (strncmp(v, "iscsi://", 8) || n > LL_URL_MAX || !strchr(v + 8, '/'))
			return ll_fail(err, errlen, "bsopts: mirror='%.80s' is not an iSCSI URL "
				    "(iscsi://[user%%password@]host[:port]/target-iqn/lun, at most "
				    "%d characters)", v, LL_URL_MAX);
		if (o->nextents && ll_extent_is_remote(&o->extent[o->nextents - 1]))
			return ll_fail(err, errlen, "bsopts: mirror= after extent=%.80s: that extent is "
				    "a LUN on another node, and a mirror's own copy is on this one "
				    "(mirror it on its own node)", o->extent[o->nextents - 1].path);
		o->leg_set[o->nlegs] = (unsigned char)o->nextents;
		memcpy(o->leg[o->nlegs++], v, n + 1);
		return 0;
	}
	if (!strcmp(kv, "resync_rate")) {
		char serr[128];

		if (ll_parse_size(v, &o->resync_rate, serr, sizeof(serr)))
			return ll_fail(err, errlen, "bsopts: resync_rate='%s': %s (bytes a second; "
				    "0 for no limit)", v, serr);
		return 0;
	}
	if (!strcmp(kv, "window")) {
		char serr[128], *colon = strchr(v, ':');

		if (!colon)
			return ll_fail(err, errlen, "bsopts: window='%s' is not OFFSET:LENGTH", v);
		*colon = '\0';
		if (ll_parse_size(v, &o->window_offset, serr, sizeof(serr)) ||
		    ll_parse_size(colon + 1, &o->window_length, serr, sizeof(serr)))
			return ll_fail(err, errlen, "bsopts: window: %s", serr);
		if (!o->window_length || o->window_offset % 512 || o->window_length % 512)
			return ll_fail(err, errlen, "bsopts: window=%s:%s: the offset and the length "
				    "must be multiples of 512, the length not 0", v, colon + 1);
		o->window = true;
		return 0;
	}
	if (!strcmp(kv, "extent")) {
		if (o->nextents == LL_MAX_EXTENTS)
			return ll_fail(err, errlen, "bsopts: more than %d extent= options", LL_MAX_EXTENTS);
		if (parse_extent(kv, v, &o->extent[o->nextents], err, errlen))
			return -1;
		o->nextents++;
		return 0;
	}
	if (!strcmp(kv, "copy_extent")) {
		if (o->ncopy_extents == LL_MAX_EXTENTS)
			return ll_fail(err, errlen, "bsopts: more than %d copy_extent= options",
				       LL_MAX_EXTENTS);
		if (parse_extent(kv, v, &o->copy_extent[o->ncopy_extents], err, errlen))
			return -1;
		if (ll_extent_is_remote(&o->copy_extent[o->ncopy_extents]))
			return ll_fail(err, errlen, "bsopts: copy_extent=%.80s: a mirror's own copy is "
				       "on this node (a LUN on another node joins a mirror as a leg: "
				       "mirror=)", o->copy_extent[o->ncopy_extents].path);
		if (o->copy_extent[o->ncopy_extents].to_end)
			return ll_fail(err, errlen, "bsopts: copy_extent %s: needs its LENGTH (\"end\" "
				       "is for the last extent=; a mirror's copy does not grow on its own)",
				       o->copy_extent[o->ncopy_extents].path);
		o->ncopy_extents++;
		return 0;
	}
	if (!strcmp(kv, "raw"))
		return parse_bool(kv, v, &o->raw, err, errlen);
	if (!strcmp(kv, "pr_file")) {
		size_t n = strlen(v);

		if (v[0] != '/' || n > LL_EXTENT_PATH_MAX || v[n - 1] == '/')
			return ll_fail(err, errlen, "bsopts: pr_file='%.80s' is not an absolute "
				       "file path of at most %d characters (where the persistent "
				       "reservations are kept while APTPL is on)", v,
				       LL_EXTENT_PATH_MAX);
		memcpy(o->pr_file, v, n + 1);
		return 0;
	}
	if (!strcmp(kv, "leg_timeout"))
		return parse_uint(kv, v, 1, LL_BSOPTS_LEG_TIMEOUT_MAX, &o->leg_timeout, err,
				  errlen);
	if (!strcmp(kv, "pr")) {
		if (strcmp(v, "local") && strcmp(v, "cluster"))
			return ll_fail(err, errlen, "bsopts: pr='%.80s' must be local (the LUN's own "
				       "reservations) or cluster (the volume's, kept by the policy "
				       "manager)", v);
		o->pr_cluster = !strcmp(v, "cluster");
		return 0;
	}
	if (!strcmp(kv, "pr_socket")) {
		size_t n = strlen(v);

		if (v[0] != '/' || n > LL_PR_SOCKET_MAX || v[n - 1] == '/')
			return ll_fail(err, errlen, "bsopts: pr_socket='%.80s' is not an absolute "
				       "path of at most %d characters (the policy agent's pr_socket)",
				       v, LL_PR_SOCKET_MAX);
		memcpy(o->pr_socket, v, n + 1);
		return 0;
	}
	if (!strcmp(kv, "pr_timeout"))
		return parse_uint(kv, v, 1, LL_BSOPTS_PR_TIMEOUT_MAX, &o->pr_timeout, err, errlen);

	if (!strcmp(kv, "lease"))
		return parse_bool(kv, v, &o->lease, err, errlen);
	if (!strcmp(kv, "lease_loss")) {
		if (!strcmp(v, "suspend"))
			o->lease_loss = LL_LEASE_LOSS_SUSPEND;
		else if (!strcmp(v, "fail"))
			o->lease_loss = LL_LEASE_LOSS_FAIL;
		else
			return ll_fail(err, errlen, "bsopts: lease_loss='%s' is not suspend (writes "
				       "wait for a lease) or fail (writes fail without one)", v);
		return 0;
	}


	return ll_fail(err, errlen,
		    "bsopts: unknown key '%s' (known: io, threads, queue_depth, thin, mirror, "
		    "resync_rate, leg_timeout, window, extent, copy_extent, raw, pr_file, pr, "
		    "pr_socket, pr_timeout, lease, lease_loss)", kv);
}

/* What only the options together say. */
static int check_together(const struct ll_bsopts *o, char *err, size_t errlen)
{
	bool mirrored = false;

	for (unsigned int i = 0; i < o->nlegs; i++)
		mirrored |= !o->leg_set[i];
	if (o->ncopy_extents && !mirrored)
		return ll_fail(err, errlen, "bsopts: copy_extent=%.80s: a copy_extent= continues the "
			       "mirrored copy of the backing store, and it has no mirror= (give "
			       "mirror= before any extent=)", o->copy_extent[0].path);
	if (o->lease && !o->nlegs)
		return ll_fail(err, errlen, "bsopts: lease=on without mirror=: a lease says which "
			       "node may write a mirrored volume's legs; a LUN with no legs has "
			       "nothing to fence");
	if (o->lease_loss != LL_LEASE_LOSS_SUSPEND && !o->lease)
		return ll_fail(err, errlen, "bsopts: lease_loss=fail without lease=on: it says "
			       "what a write gets without a lease, and only lease=on asks for one");
	if (o->raw && mirrored)
		return ll_fail(err, errlen, "bsopts: raw=on with mirror= on the backing store: raw "
			       "serves the image's superblock as data (a leg's export), and a "
			       "mirror keeps its generations there");
	if (o->pr_cluster && o->pr_file[0])
		return ll_fail(err, errlen, "bsopts: pr_file= with pr=cluster: a cluster's "
			       "reservations are kept by the policy manager, not in a file on "
			       "the node (drop pr_file=)");
	return 0;
}

int ll_bsopts_parse(const char *s, struct ll_bsopts *o, char *err, size_t errlen)
{
	char buf[LL_BSOPTS_MAX_LEN + 1];
	char *p, *next;
	size_t n;

	ll_bsopts_default(o);
	if (!s)
		return 0;
	n = strlen(s);
	if (n > LL_BSOPTS_MAX_LEN)
		return ll_fail(err, errlen, "bsopts: %zu characters, more than the %d allowed",
			    n, LL_BSOPTS_MAX_LEN);
	memcpy(buf, s, n + 1);

	for (p = buf; p; p = next) {
		next = strchr(p, ';');
		if (next)
			*next++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		if (parse_one(p, o, err, errlen))
			return -1;
	}
	return check_together(o, err, errlen);
}

static int format_leg(const struct ll_bsopts *o, unsigned int i, char *buf, size_t len, int n,
		      bool public)
{
	char url[LL_URL_MAX + 1];
	size_t used = (size_t)n < len ? (size_t)n : len;

	if (public)
		ll_url_public(o->leg[i], url, sizeof(url));
	return n + snprintf(buf + used, len - used, ";mirror=%s", public ? url : o->leg[i]);
}

static int format_extent(const char *key, const struct ll_extent_opt *x, char *buf, size_t len,
			 int n, bool public)
{
	char path[LL_EXTENT_PATH_MAX + 1];
	size_t used = (size_t)n < len ? (size_t)n : len;

	if (public && ll_extent_is_remote(x))
		ll_url_public(x->path, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", x->path);
	if (x->to_end)
		return n + snprintf(buf + used, len - used, ";%s=%s:%llu:end", key, path,
				    (unsigned long long)x->offset);
	return n + snprintf(buf + used, len - used, ";%s=%s:%llu:%llu", key, path,
			    (unsigned long long)x->offset, (unsigned long long)x->length);
}

static int format(const struct ll_bsopts *o, char *buf, size_t len, bool public)
{
	size_t used;
	int n;
	unsigned int i;

	n = snprintf(buf, len, "io=%s;threads=%u;queue_depth=%u;thin=%s",
		     ll_io_path_name(o->io), o->threads, o->queue_depth,
		     o->thin ? "on" : "off");
	for (i = 0; i < o->nlegs && n >= 0; i++)
		if (!o->leg_set[i])
			n = format_leg(o, i, buf, len, n, public);
	for (i = 0; i < o->ncopy_extents && n >= 0; i++)
		n = format_extent("copy_extent", &o->copy_extent[i], buf, len, n, public);
	if (o->raw && n >= 0) {
		used = (size_t)n < len ? (size_t)n : len;
		n += snprintf(buf + used, len - used, ";raw=on");
	}
	if ((o->nlegs || o->resync_rate || o->leg_timeout != LL_BSOPTS_LEG_TIMEOUT_DEFAULT) &&
	    n >= 0) {
		used = (size_t)n < len ? (size_t)n : len;
		n += snprintf(buf + used, len - used, ";resync_rate=%llu;leg_timeout=%u",
			      (unsigned long long)o->resync_rate, o->leg_timeout);
	}
	for (i = 0; i < o->nextents && n >= 0; i++) {
		unsigned int j;

		n = format_extent("extent", &o->extent[i], buf, len, n, public);
		for (j = 0; j < o->nlegs && n >= 0; j++)
			if (o->leg_set[j] == i + 1)
				n = format_leg(o, j, buf, len, n, public);
	}
	if (o->window && n >= 0) {
		used = (size_t)n < len ? (size_t)n : len;
		n += snprintf(buf + used, len - used, ";window=%llu:%llu",
			      (unsigned long long)o->window_offset,
			      (unsigned long long)o->window_length);
	}
	if (o->pr_file[0] && n >= 0) {
		used = (size_t)n < len ? (size_t)n : len;
		n += snprintf(buf + used, len - used, ";pr_file=%s", o->pr_file);
	}
	if (o->pr_cluster && n >= 0) {
		used = (size_t)n < len ? (size_t)n : len;
		n += snprintf(buf + used, len - used, ";pr=cluster;pr_socket=%s;pr_timeout=%u",
			      o->pr_socket, o->pr_timeout);
	}
	if (o->lease && n >= 0) {
		used = (size_t)n < len ? (size_t)n : len;
		n += snprintf(buf + used, len - used, ";lease=on;lease_loss=%s",
			      o->lease_loss == LL_LEASE_LOSS_FAIL ? "fail" : "suspend");
	}
	return n;
}

int ll_bsopts_format(const struct ll_bsopts *o, char *buf, size_t len)
{
	return format(o, buf, len, false);
}

int ll_bsopts_describe(const struct ll_bsopts *o, char *buf, size_t len)
{
	return format(o, buf, len, true);
}

void ll_url_public(const char *url, char *buf, size_t len)
{
	const char *at = strchr(url, '@'), *pct;

	pct = at ? memchr(url, '%', (size_t)(at - url)) : NULL;
	if (!pct)
		snprintf(buf, len, "%s", url);
	else
		snprintf(buf, len, "%.*s%%***%s", (int)(pct - url), url, at);
}

/* 16 hex digits, the whole of s: how a copy id and a generation are
 * written (lunlink-status, the status file) */
static int parse_hex16(const char *s, uint64_t *out)
{
	if (strlen(s) != 16 || strspn(s, "0123456789abcdefABCDEF") != 16)
		return -1;
	*out = strtoull(s, NULL, 16);
	return 0;
}

int ll_parse_copy_id(const char *s, uint64_t *id)
{
	return parse_hex16(s, id) || !*id ? -1 : 0;
}

int ll_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t n = 0, mult = 1;
	int shift = 0;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			goto big;
		n = n * 10 + d;
	}
	switch (*p) {
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	case 'p': case 'P': shift = 50; p++; break;
	}
	if (shift && (!strcmp(p, "iB") || !strcmp(p, "B")))
		p += strlen(p);
	else if (!shift && !strcmp(p, "B"))
		p++;
	if (*p)
		goto bad;
	mult <<= shift;
	if (n > UINT64_MAX / mult)
		goto big;
	*out = n * mult;
	return 0;
big:
	return ll_fail(err, errlen, "size '%s' is too large", s);
bad:
	return ll_fail(err, errlen,
		    "size '%s' is not a size (bytes, or a number with K, M, G, T or P)", s);
}

/* A decimal of 1 to 20 digits in [lo, hi], up to the character end (or
 * the string's end if end is 0); 0 or -1. */
static int parse_u64_upto(const char *s, char end, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t n = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p != end || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

/*
 * lease=EPOCH:@DEADLINE_MS[:GENERATION], lease=EPOCH:VALID_MS[:GENERATION]
 * or lease=release (the value v).  The '@' form is what the agent pushes:
 * an absolute deadline on the host's CLOCK_MONOTONIC; the relative one,
 * counted from the module's receipt, stays for operators and tests.
 */
static int parse_lease(const char *v, struct ll_update *u, char *err, size_t errlen)
{
	const char *colon = strchr(v, ':'), *colon2 = colon ? strchr(colon + 1, ':') : NULL;
	const char *when = colon ? colon + 1 : NULL;
	char end = colon2 ? ':' : '\0';

	if (!strcmp(v, "release")) {
		u->kind = LL_UPDATE_LEASE_RELEASE;
		return 0;
	}
	u->gen_confirmed = 0;
	u->has_gen = 0;
	u->valid_ms = u->deadline_ms = 0;
	u->has_deadline = when && *when == '@';
	if (!colon || parse_u64_upto(v, ':', 1, LL_LEASE_EPOCH_MAX, &u->epoch) ||
	    (u->has_deadline ?
	     parse_u64_upto(when + 1, end, 1, LL_LEASE_DEADLINE_MS_MAX, &u->deadline_ms) :
	     parse_u64_upto(when, end, 1, LL_LEASE_VALID_MS_MAX, &u->valid_ms)) ||
	    (colon2 && parse_hex16(colon2 + 1, &u->gen_confirmed)))
		return ll_fail(err, errlen, "lease='%.48s' is not EPOCH:VALID_MS[:GENERATION] or "
			       "EPOCH:@DEADLINE_MS[:GENERATION] (EPOCH 1 to %llu, VALID_MS 1 to "
			       "%llu, DEADLINE_MS ms of CLOCK_MONOTONIC, GENERATION 16 hex "
			       "digits) or release", v,
			       (unsigned long long)LL_LEASE_EPOCH_MAX,
			       (unsigned long long)LL_LEASE_VALID_MS_MAX);
	u->has_gen = !!colon2;
	u->kind = LL_UPDATE_LEASE;
	return 0;
}

int ll_update_parse(const char *kv, struct ll_update *u, char *err, size_t errlen)
{
	const char *v = strchr(kv, '=');
	size_t klen = v ? (size_t)(v - kv) : strlen(kv);
	char sizeerr[128];

	if (!v)
		return ll_fail(err, errlen, "'%.64s' has no '=' (expected key=value)", kv);
	v++;
	if (klen == 6 && !strncmp(kv, "resize", 6)) {
		if (!strcmp(v, "reread")) {
			u->kind = LL_UPDATE_RESIZE_REREAD;
			return 0;
		}
		if (ll_parse_size(v, &u->size, sizeerr, sizeof(sizeerr)))
			return ll_fail(err, errlen, "resize='%.64s': %s; use resize=reread or resize=SIZE",
				    v, sizeerr);
		u->kind = LL_UPDATE_RESIZE_TO;
		return 0;
	}
	if (klen == 5 && !strncmp(kv, "fault", 5)) {
		u->kind = LL_UPDATE_FAULT;
		if (!strcmp(v, "none"))
			u->fault = LL_FAULT_NONE;
		else if (!strcmp(v, "read"))
			u->fault = LL_FAULT_READ;
		else if (!strcmp(v, "write"))
			u->fault = LL_FAULT_WRITE;
		else if (!strcmp(v, "both"))
			u->fault = LL_FAULT_BOTH;
		else if (!strcmp(v, "slow-resync"))
			u->fault = LL_FAULT_SLOW_RESYNC;
		else if (!strcmp(v, "write-all"))
			u->fault = LL_FAULT_WRITE_ALL;
		else if (!strcmp(v, "meta-write"))
			u->fault = LL_FAULT_META;
		else if (!strcmp(v, "flush"))
			u->fault = LL_FAULT_FLUSH;
		else
			return ll_fail(err, errlen, "fault='%.64s' is not none, read, write, both, "
				       "write-all, meta-write, flush or slow-resync", v);
		return 0;
	}
	if (klen == 7 && !strncmp(kv, "resolve", 7)) {
		if (strcmp(v, "discard-leg"))
			return ll_fail(err, errlen, "resolve='%.64s': the only resolution is "
				    "discard-leg (overwrite split-brain legs with this copy)", v);
		u->kind = LL_UPDATE_RESOLVE_DISCARD_LEG;
		return 0;
	}
	if (klen == 6 && !strncmp(kv, "verify", 6)) {
		if (strcmp(v, "start"))
			return ll_fail(err, errlen, "verify='%.64s': use verify=start", v);
		u->kind = LL_UPDATE_VERIFY;
		return 0;
	}
	if (klen == 5 && !strncmp(kv, "retry", 5)) {
		if (strcmp(v, "legs"))
			return ll_fail(err, errlen, "retry='%.64s': use retry=legs (probe the "
				    "refused legs again)", v);
		u->kind = LL_UPDATE_RETRY_LEGS;
		return 0;
	}
	if (klen == 6 && !strncmp(kv, "forget", 6)) {
		if (ll_parse_copy_id(v, &u->copy_id))
			return ll_fail(err, errlen, "forget='%.64s': give a copy id, 16 hex digits "
				    "as lunlink-status shows it", v);
		u->kind = LL_UPDATE_FORGET;
		return 0;
	}
	if (klen == 5 && !strncmp(kv, "lease", 5))
		return parse_lease(v, u, err, errlen);
	return ll_fail(err, errlen,
		    "unknown parameter '%.*s' (lunlink takes resize=reread|SIZE, fault=KIND, "
		    "resolve=discard-leg, verify=start, retry=legs, forget=COPY-ID and "
		    "lease=EPOCH:@DEADLINE_MS|EPOCH:VALID_MS|release)",
		    (int)(klen > 64 ? 64 : klen), kv);
}
