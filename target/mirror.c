// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mirror.c: the mirror engine (seed 003).  A mirrored LUN is the local
 * lunlink image plus up to four legs, each an iSCSI LUN on a peer that
 * exports its own copy of the image (any target will do; stock tgt's rdwr
 * store is enough).  Every copy carries the same layout, so a byte of the
 * volume lives at the same offset in every image file, and any copy opened
 * alone presents the volume.
 *
 * Writes.  A write goes to the local image and to every connected leg at
 * once (libiscsi's async API, its sockets in tgtd's event loop), and
 * completes when all of them have it, as durably as the initiator asked
 * (FUA and SYNCHRONIZE CACHE reach every leg): DRBD's protocol C.  Writes to
 * overlapping ranges are serialised (commands.c holds their ranges
 * exclusively on mirrored LUNs), so they land in the same order everywhere.
 *
 * Degraded.  A leg that errors or times out is dropped.  Before any write
 * it missed is acknowledged, the regions it covers are set in the dirty-
 * region map on stable storage (the image's own map, in front of its data),
 * and the volume starts a new generation: the old one is kept as the
 * bitmap generation, the generation the map is relative to.  The LUN goes
 * on; the leg is reconnected in the background with backoff.
 *
 * Resync.  A returning leg is probed (READ CAPACITY, then its superblock):
 * the same volume at the bitmap generation is behind by exactly the dirty
 * regions, which are copied in the background, rate-limited, each with its
 * range held exclusively so that no new write interleaves; a fresh image
 * (lunlink-image create) gets everything and this copy's superblock.  A leg
 * whose generation is neither this copy's nor its bitmap generation changed
 * on its own (split brain): nothing is copied, the leg stays out of date,
 * and the log names both generations and the command that resolves it.
 *
 * Local errors.  A failed local read is served from a connected leg; a
 * failed local write that every leg took is acknowledged, and the region is
 * remembered as bad locally, so reads of it go to a leg.
 *
 * Not yet here: the activity log (after a crash of this node every region
 * is resynced, not only the hot ones), verify, extent maps.
 */
#define _GNU_SOURCE
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "lunlink.h"
#include "mirror.h"

#define TICK_MS			100
#define BACKOFF_MIN_MS		500
#define BACKOFF_MAX_MS		30000
#define STATUS_DIR		"/run/lunlink"

extern short int control_port;	/* tgtd's, exported: names the status file */

enum leg_state {
	LEG_DOWN,		/* waiting to reconnect */
	LEG_CONNECTING,		/* login, then probe */
	LEG_SYNCING,		/* connected, takes new writes, being resynced */
	LEG_UP,			/* in sync */
	LEG_REFUSED,		/* split brain, foreign or unusable: needs a person */
};

static const char *state_name[] = { "down", "connecting", "syncing", "up", "refused" };

struct ll_leg {
	struct ll_mirror *m;
	unsigned int idx;
	const char *url;
	char public_url[LL_URL_MAX + 1];
	struct iscsi_context *iscsi;
	int fd;				/* registered with tgtd, or -1 */
	int lun;
	enum leg_state state;
	int dead;			/* drop the context at the next tick */
	uint64_t retry_at;		/* ms */
	unsigned int backoff;		/* ms */
	uint8_t *need;			/* regions this leg lacks */
	uint64_t need_count;
	uint64_t sync_pos, sync_total, copied, sync_start;
	int copying;			/* a region copy in flight */
	int discard;			/* resolve=discard-leg: overwrite it */
	struct ll_range range;		/* the region being copied */
	uint8_t *buf;			/* its data */
	struct ll_io rd;		/* the local read of it */
	char why[640];
};

struct ll_mirror {
	struct ll_lu *l;
	unsigned int nlegs;
	struct ll_leg leg[LL_MAX_LEGS];
	uint64_t nregions;
	unsigned int shift;		/* log2 of the region size */
	uint8_t *dirty;			/* the on-disk map, in memory (aligned) */
	uint8_t *local_bad;		/* regions the local image failed to write */
	int tick_fd;
	uint64_t budget;		/* resync bytes allowed now */
	uint64_t last_status;
	char status_path[128];
};

/* One command fanned out to the local image and the legs. */
struct fan {
	struct ll_io *io;
	struct ll_io local;
	struct ll_mirror *m;
	int pending;
	uint32_t legs_failed;
	uint32_t legs_ok;
	struct iscsi_task_ctx {
		struct fan *f;
		unsigned int leg;
	} ctx[LL_MAX_LEGS];
	struct scsi_task *rtask;	/* read failover */
};

static uint8_t zero_block[512];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define leg_err(g, fmt, args...) \
	ll_err((g)->m->l, "leg %u (%s): " fmt, (g)->idx + 1, (g)->public_url, ##args)

/* ---- the dirty-region map ------------------------------------------- */

static int map_test(const uint8_t *map, uint64_t r)
{
	return map[r >> 3] >> (r & 7) & 1;
}

static void map_set(uint8_t *map, uint64_t r)
{
	map[r >> 3] |= (uint8_t)(1u << (r & 7));
}

static void map_clear(uint8_t *map, uint64_t r)
{
	map[r >> 3] &= (uint8_t)~(1u << (r & 7));
}

/* Regions of the LUN's byte range [off, off+len), LUN-relative offsets. */
static void regions(struct ll_mirror *m, uint64_t off, uint64_t len, uint64_t *r0, uint64_t *r1)
{
	*r0 = off >> m->shift;
	*r1 = len ? (off + len - 1) >> m->shift : *r0;
	if (*r1 >= m->nregions)
		*r1 = m->nregions - 1;
}

/* Write the map pages holding regions r0..r1 and make them durable. */
static int persist(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	struct ll_image *im = &m->l->image;
	uint64_t p0 = (r0 >> 3) / 4096, p1 = (r1 >> 3) / 4096, p;

	for (p = p0; p <= p1; p++)
		if (pwrite(m->l->engine.fd, m->dirty + p * 4096, 4096,
			   (off_t)(im->dirty_offset + p * 4096)) != 4096)
			return -1;
	return fdatasync(m->l->engine.fd);
}

static int store_sb(struct ll_mirror *m)
{
	int err = ll_image_store(m->l->engine.fd, &m->l->image);

	if (err)
		ll_err(m->l, "cannot write the superblock: %s\n", strerror(-err));
	return err;
}

/*
 * The leg misses regions r0..r1: note it, and on stable storage before the
 * write is acknowledged.  The first miss since the legs were last in sync
 * starts a new generation.
 */
static void mark_missed(struct ll_leg *g, uint64_t r0, uint64_t r1)
{
	struct ll_mirror *m = g->m;
	struct ll_image *im = &m->l->image;
	int newbits = 0;
	uint64_t r;

	for (r = r0; r <= r1; r++) {
		if (!map_test(g->need, r)) {
			map_set(g->need, r);
			g->need_count++;
		}
		if (!map_test(m->dirty, r)) {
			map_set(m->dirty, r);
			newbits = 1;
		}
	}
	if (!im->gen_bitmap) {
		uint64_t g2;

		im->gen_bitmap = im->gen_current;
		memmove(im->gen_history + 1, im->gen_history,
			sizeof(im->gen_history) - sizeof(im->gen_history[0]));
		im->gen_history[0] = im->gen_current;
		if (getrandom(&g2, sizeof(g2), 0) != sizeof(g2))
			g2 = now_ms() * 2654435761u;
		im->gen_current = g2 | 1;
		ll_err(m->l, "degraded: new generation %016" PRIx64 " (the dirty-region map "
		       "is against %016" PRIx64 ")\n", im->gen_current, im->gen_bitmap);
		store_sb(m);
	}
	if (newbits && persist(m, r0, r1))
		ll_err(m->l, "cannot write the dirty-region map: %m; a leg may miss "
		       "regions %" PRIu64 "-%" PRIu64 " after a crash\n", r0, r1);
}

/* ---- legs: connection ------------------------------------------------- */

static void leg_event(int fd, int events, void *data);
static void probe(struct ll_leg *g);

static void leg_fd_update(struct ll_leg *g)
{
	int fd, ev, want = 0;

	if (!g->iscsi)
		return;
	fd = iscsi_get_fd(g->iscsi);
	ev = iscsi_which_events(g->iscsi);
	if (ev & POLLIN)
		want |= EPOLLIN;
	if (ev & POLLOUT)
		want |= EPOLLOUT;
	if (fd != g->fd) {
		if (g->fd >= 0)
			tgt_event_del(g->fd);
		g->fd = -1;
		if (fd >= 0 && !tgt_event_add(fd, want ? want : EPOLLIN, leg_event, g))
			g->fd = fd;
		return;
	}
	if (fd >= 0 && want)
		tgt_event_modify(fd, want);
}

/* Drop the leg: it is out of date from now on.  Safe inside callbacks. */
static void leg_down(struct ll_leg *g, const char *why)
{
	if (g->state == LEG_REFUSED || g->dead)
		return;
	snprintf(g->why, sizeof(g->why), "%s", why);
	g->why[strcspn(g->why, "\r\n")] = '\0';	/* libiscsi's messages end in one */
	if (g->state == LEG_UP || g->state == LEG_SYNCING)
		leg_err(g, "dropped: %s; the LUN goes on without it and the leg will be "
			"resynced when it returns\n", g->why);
	else
		leg_err(g, "cannot connect: %s; retrying in %u ms\n", g->why, g->backoff);
	g->state = LEG_DOWN;
	g->dead = 1;
}

static void leg_refuse(struct ll_leg *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void leg_refuse(struct ll_leg *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	leg_err(g, "refused: %s\n", g->why);
	g->state = LEG_REFUSED;
	g->dead = 1;
}

static void leg_reap(struct ll_leg *g)
{
	if (g->fd >= 0)
		tgt_event_del(g->fd);
	g->fd = -1;
	if (g->iscsi) {
		struct iscsi_context *c = g->iscsi;

		g->iscsi = NULL;	/* callbacks now see the leg gone */
		iscsi_destroy_context(c);
	}
	g->dead = 0;
	g->retry_at = now_ms() + g->backoff;
	g->backoff = g->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : g->backoff * 2;
}

static void connected(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;

	(void)data;
	if (g->iscsi != iscsi)
		return;
	if (status != SCSI_STATUS_GOOD) {
		leg_down(g, iscsi_get_error(iscsi));
		return;
	}
	probe(g);
}

static void leg_connect(struct ll_leg *g)
{
	char name[256], host[128];
	struct iscsi_url *u;

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(name, sizeof(name), "iqn.2026-11.org.lunlink:%s", host);
	g->iscsi = iscsi_create_context(name);
	if (!g->iscsi) {
		leg_down(g, "cannot create an iSCSI context");
		return;
	}
	u = iscsi_parse_full_url(g->iscsi, g->url);
	if (!u) {
		leg_refuse(g, "bad URL: %s", iscsi_get_error(g->iscsi));
		return;
	}
	iscsi_set_targetname(g->iscsi, u->target);
	iscsi_set_session_type(g->iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(g->iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_noautoreconnect(g->iscsi, 1);
	iscsi_set_timeout(g->iscsi, (int)g->m->l->opts.leg_timeout);
	g->lun = u->lun;
	g->state = LEG_CONNECTING;
	if (iscsi_full_connect_async(g->iscsi, u->portal, u->lun, connected, g)) {
		iscsi_destroy_url(u);
		leg_down(g, iscsi_get_error(g->iscsi));
		return;
	}
	iscsi_destroy_url(u);
	leg_fd_update(g);
}

static void leg_event(int fd, int events, void *data)
{
	struct ll_leg *g = data;
	int rev = 0;

	(void)fd;
	if (!g->iscsi || g->dead)
		return;
	if (events & EPOLLIN)
		rev |= POLLIN;
	if (events & EPOLLOUT)
		rev |= POLLOUT;
	if (events & (EPOLLERR | EPOLLHUP))
		rev |= POLLHUP;
	if (iscsi_service(g->iscsi, rev) < 0) {
		leg_down(g, iscsi_get_error(g->iscsi));
		return;
	}
	if (!g->dead)
		leg_fd_update(g);
}

/* ---- legs: probe, generations ------------------------------------------ */

static void leg_written_sb(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;

	if (data)
		scsi_free_scsi_task(data);
	if (g->iscsi != iscsi)
		return;
	if (status != SCSI_STATUS_GOOD)
		leg_down(g, "writing its superblock failed");
}

/* Give the leg this copy's superblock, with generation gen (0: not yet
 * consistent, an initial sync under way). */
static void leg_store_sb(struct ll_leg *g, uint64_t gen)
{
	struct ll_image im = g->m->l->image;
	static uint8_t sb[LL_IMAGE_SB_SIZE];

	im.gen_current = gen;
	im.gen_bitmap = 0;
	im.flags &= ~(LL_IMAGE_F_FRESH | LL_IMAGE_F_OPEN | LL_IMAGE_F_PRIMARY);
	ll_image_encode(&im, sb);
	if (!iscsi_write16_task(g->iscsi, g->lun, 0, sb, sizeof(sb), 512, 0, 0, 1, 0, 0,
				leg_written_sb, g))
		leg_down(g, "cannot queue its superblock write");
}

static uint64_t data_region_count(struct ll_mirror *m)
{
	uint64_t size = m->l->image.data_size;

	return (size + (1ULL << m->shift) - 1) >> m->shift;
}

static void start_sync(struct ll_leg *g, int all)
{
	struct ll_mirror *m = g->m;
	uint64_t r;

	uint64_t data_regions = data_region_count(m);

	/* what this copy's map says the legs lack, and everything if asked;
	 * regions past the data hold nothing to copy */
	for (r = 0; r < m->nregions; r++) {
		int want = r < data_regions && (all || map_test(m->dirty, r));

		if (want && !map_test(g->need, r)) {
			map_set(g->need, r);
			g->need_count++;
		} else if (!want && map_test(g->need, r) && r >= data_regions) {
			map_clear(g->need, r);
			g->need_count--;
		}
	}
	g->backoff = BACKOFF_MIN_MS;
	if (!g->need_count) {
		g->state = LEG_UP;
		leg_err(g, "connected and in sync\n");
		return;
	}
	g->state = LEG_SYNCING;
	g->sync_pos = 0;
	g->sync_total = g->need_count;
	g->copied = 0;
	g->sync_start = now_ms();
	leg_err(g, "connected; resyncing %" PRIu64 " region(s) of %u bytes%s\n",
		g->need_count, 1u << m->shift, all ? " (all of them)" : "");
}

static void probed_sb(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct scsi_task *t = data;
	struct ll_image *me = &g->m->l->image, leg;
	char err[256], mine[33], theirs[33];
	int r;

	if (g->iscsi != iscsi) {
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	if (status != SCSI_STATUS_GOOD || !t || t->datain.size < (int)LL_IMAGE_SB_SIZE) {
		if (t)
			scsi_free_scsi_task(t);
		leg_down(g, "reading its superblock failed");
		return;
	}
	r = ll_image_decode(&leg, t->datain.data, (size_t)t->datain.size, UINT64_MAX, err,
			    sizeof(err));
	scsi_free_scsi_task(t);
	if (r == 0) {
		leg_refuse(g, "it holds no lunlink image; prepare one on the peer with "
			   "'lunlink-image create --size %" PRIu64 " --max-size %" PRIu64
			   " --region-size %u FILE' and export that file", me->data_size,
			   me->max_data_size, me->region_size);
		return;
	}
	if (r < 0) {
		leg_refuse(g, "its superblock: %s", err);
		return;
	}
	if (leg.data_offset != me->data_offset || leg.region_size != me->region_size ||
	    leg.max_data_size != me->max_data_size) {
		leg_refuse(g, "its layout differs from this copy's (create it with --max-size "
			   "%" PRIu64 " --region-size %u)", me->max_data_size, me->region_size);
		return;
	}
	if ((leg.flags & LL_IMAGE_F_FRESH) || g->discard) {
		g->discard = 0;
		leg_store_sb(g, 0);
		start_sync(g, 1);
		return;
	}
	ll_image_id_hex(me->volume_id, mine);
	ll_image_id_hex(leg.volume_id, theirs);
	if (memcmp(leg.volume_id, me->volume_id, 16)) {
		leg_refuse(g, "it holds volume %s, not this volume %s", theirs, mine);
		return;
	}
	if (leg.gen_current == 0) {		/* an initial sync was cut short */
		start_sync(g, 1);
		return;
	}
	if (leg.gen_current == me->gen_current) {
		start_sync(g, 0);
		return;
	}
	if (me->gen_bitmap && leg.gen_current == me->gen_bitmap) {
		start_sync(g, 0);	/* behind by exactly the dirty regions */
		return;
	}
	leg_refuse(g, "split brain: the leg has generation %016" PRIx64 ", this copy "
		   "%016" PRIx64 " (dirty-region map against %016" PRIx64 "): both changed "
		   "on their own, so nothing is resynced. To keep this copy and overwrite "
		   "the leg: tgtadm --lld iscsi --mode logicalunit --op update --tid %d "
		   "--lun %" PRIu64 " --params resolve=discard-leg. To keep the leg's data "
		   "instead, stop this LUN and serve the leg's image",
		   leg.gen_current, me->gen_current, me->gen_bitmap, g->m->l->lu->tgt->tid,
		   g->m->l->lu->lun);
}

static void probed_capacity(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct scsi_task *t = data;
	struct scsi_readcapacity16 *rc;
	uint64_t need = ll_image_file_size(&g->m->l->image), have;

	if (g->iscsi != iscsi) {
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	rc = status == SCSI_STATUS_GOOD && t ? scsi_datain_unmarshall(t) : NULL;
	if (!rc) {
		if (t)
			scsi_free_scsi_task(t);
		leg_down(g, "READ CAPACITY failed");
		return;
	}
	have = (rc->returned_lba + 1) * rc->block_length;
	if (rc->block_length != 512) {
		scsi_free_scsi_task(t);
		leg_refuse(g, "its block size is %u; legs need 512", rc->block_length);
		return;
	}
	scsi_free_scsi_task(t);
	if (have < need) {
		leg_refuse(g, "it is %" PRIu64 " bytes, smaller than this image's %" PRIu64,
			   have, need);
		return;
	}
	if (!iscsi_read16_task(g->iscsi, g->lun, 0, LL_IMAGE_SB_SIZE, 512, 0, 0, 1, 0, 0,
			       probed_sb, g))
		leg_down(g, "cannot queue the superblock read");
}

static void probe(struct ll_leg *g)
{
	if (!iscsi_readcapacity16_task(g->iscsi, g->lun, probed_capacity, g))
		leg_down(g, "cannot queue READ CAPACITY");
}

int ll_mirror_discard_split_legs(struct ll_mirror *m)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (g->state != LEG_REFUSED || strncmp(g->why, "split brain", 11))
			continue;
		leg_err(g, "resolve=discard-leg: its changes will be overwritten by a full "
			"resync from this copy\n");
		g->state = LEG_DOWN;
		g->retry_at = 0;
		/* the next probe must not see split brain: make it "fresh" */
		g->why[0] = '\0';
		g->backoff = BACKOFF_MIN_MS;
		g->discard = 1;
		n++;
	}
	return n;
}

/* ---- resync ------------------------------------------------------------- */

static void copy_next(struct ll_leg *g);

static void sync_done(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	struct ll_image *im = &m->l->image;
	uint64_t ms = now_ms() - g->sync_start, r;
	unsigned int i;
	int all_up = 1;

	g->state = LEG_UP;
	leg_err(g, "resync done: copied %" PRIu64 " bytes (%" PRIu64 " regions) in %" PRIu64
		" ms; the leg is up to date\n", g->copied, g->copied >> m->shift, ms);
	leg_store_sb(g, im->gen_current);
	for (i = 0; i < m->nlegs; i++)
		if (m->leg[i].state != LEG_UP)
			all_up = 0;
	if (!all_up)
		return;
	/* every leg has everything: the map and the bitmap generation go */
	for (r = 0; r < m->nregions; r++)
		if (map_test(m->dirty, r))
			map_clear(m->dirty, r);
	persist(m, 0, m->nregions - 1);
	if (im->gen_bitmap) {
		im->gen_bitmap = 0;
		store_sb(m);
	}
}

static void region_copied(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct ll_mirror *m = g->m;
	uint64_t r = g->range.start >> m->shift;

	if (data)
		scsi_free_scsi_task(data);
	g->copying = 0;
	ll_range_release(&m->l->ranges, &g->range);
	if (g->iscsi != iscsi)
		return;
	if (status != SCSI_STATUS_GOOD) {
		leg_down(g, "a resync write failed");
		return;
	}
	if (map_test(g->need, r)) {
		map_clear(g->need, r);
		g->need_count--;
	}
	g->copied += g->range.end - g->range.start;
	if (!g->need_count)
		sync_done(g);
	else
		copy_next(g);
}

static void region_read(struct ll_io *io)
{
	struct ll_leg *g = (struct ll_leg *)((char *)io - offsetof(struct ll_leg, rd));
	struct ll_mirror *m = g->m;
	uint64_t len = g->range.end - g->range.start;

	if (io->res || !g->iscsi || g->dead || g->state != LEG_SYNCING) {
		if (io->res)
			leg_err(g, "resync: reading region %" PRIu64 " locally failed: %s\n",
				g->range.start >> m->shift, strerror(-io->res));
		g->copying = 0;
		ll_range_release(&m->l->ranges, &g->range);
		return;
	}
	if (!iscsi_write16_task(g->iscsi, g->lun, io->off / 512, g->buf, (uint32_t)len, 512,
				0, 0, 0, 0, 0, region_copied, g)) {
		g->copying = 0;
		ll_range_release(&m->l->ranges, &g->range);
		leg_down(g, "cannot queue a resync write");
		return;
	}
	leg_fd_update(g);
}

static void region_granted(struct ll_range *rg)
{
	struct ll_leg *g = (struct ll_leg *)((char *)rg - offsetof(struct ll_leg, range));
	struct ll_lu *l = g->m->l;

	g->rd.op = LL_OP_READ;
	g->rd.flags = 0;
	g->rd.buf = g->buf;
	g->rd.off = l->data_offset + rg->start;
	g->rd.len = rg->end - rg->start;
	g->rd.complete = region_read;
	l->engine.ops->submit(&l->engine, &g->rd);
}

/* Copy the leg's next missing region, if the rate allows. */
static void copy_next(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	uint64_t size = m->l->image.data_size, r, start, len;

	if (g->copying || g->state != LEG_SYNCING || !g->need_count)
		return;
	for (r = g->sync_pos; r < m->nregions && !map_test(g->need, r); r++)
		;
	if (r >= m->nregions) {
		for (r = 0; r < m->nregions && !map_test(g->need, r); r++)
			;
		if (r >= m->nregions) {
			g->need_count = 0;
			sync_done(g);
			return;
		}
	}
	start = r << m->shift;
	if (start >= size) {		/* past the data: nothing to copy */
		map_clear(g->need, r);
		g->need_count--;
		g->sync_pos = r + 1;
		if (!g->need_count)
			sync_done(g);
		return;
	}
	len = size - start < (1ULL << m->shift) ? size - start : 1ULL << m->shift;
	if (m->l->opts.resync_rate) {
		if (m->budget < len)
			return;
		m->budget -= len;
	}
	g->sync_pos = r + 1;
	g->copying = 1;
	g->range.start = start;
	g->range.end = start + len;
	g->range.exclusive = true;	/* no write to this region meanwhile */
	g->range.grant = region_granted;
	if (ll_range_acquire(&m->l->ranges, &g->range))
		region_granted(&g->range);
}

/* ---- status ------------------------------------------------------------- */

static void write_status(struct ll_mirror *m)
{
	char tmp[160], id[33];
	unsigned int i;
	FILE *f;

	if (!m->status_path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->status_path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	ll_image_id_hex(m->l->image.volume_id, id);
	fprintf(f, "lun tid=%d lun=%" PRIu64 " image=%s volume=%s generation=%016" PRIx64
		" bitmap_generation=%016" PRIx64 "\n", m->l->lu->tgt->tid, m->l->lu->lun,
		m->l->path, id, m->l->image.gen_current, m->l->image.gen_bitmap);
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];
		uint64_t left = g->need_count << m->shift, ms = now_ms() - g->sync_start;
		uint64_t rate = g->state == LEG_SYNCING && ms ? g->copied * 1000 / ms : 0;

		fprintf(f, "leg %u url=%s state=%s", i + 1, g->public_url, state_name[g->state]);
		if (g->state == LEG_SYNCING)
			fprintf(f, " copied=%" PRIu64 " left=%" PRIu64 " rate=%" PRIu64
				"B/s eta=%" PRIu64 "s", g->copied, left, rate,
				rate ? left / rate : 0);
		else
			fprintf(f, " out_of_date=%" PRIu64, left);
		if (g->state == LEG_DOWN || g->state == LEG_REFUSED)
			fprintf(f, " error=\"%s\"", g->why);
		fputc('\n', f);
	}
	if (fclose(f) == 0)
		rename(tmp, m->status_path);
}

/* ---- the tick: timeouts, reconnects, resync pacing, status ------------- */

static void tick(int fd, int events, void *data)
{
	struct ll_mirror *m = data;
	uint64_t n, now = now_ms();
	unsigned int i;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		n = 1;
	if (m->l->opts.resync_rate) {
		uint64_t add = m->l->opts.resync_rate * TICK_MS * n / 1000;

		m->budget += add;
		if (m->budget > 2 * add + (1ULL << m->shift))
			m->budget = 2 * add + (1ULL << m->shift);
	}
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (g->dead)
			leg_reap(g);
		if (g->iscsi) {
			if (iscsi_service(g->iscsi, 0) < 0)	/* timeouts */
				leg_down(g, iscsi_get_error(g->iscsi));
			else
				leg_fd_update(g);
		}
		if (g->state == LEG_DOWN && !g->iscsi && now >= g->retry_at)
			leg_connect(g);
		if (g->state == LEG_SYNCING)
			copy_next(g);
	}
	if (now - m->last_status >= 1000) {
		m->last_status = now;
		write_status(m);
	}
}

/* ---- I/O fan-out ------------------------------------------------------------ */

static void fan_done(struct fan *f)
{
	struct ll_mirror *m = f->m;
	struct ll_io *io = f->io;
	uint64_t r0, r1, r;
	unsigned int i;

	regions(m, io->off - m->l->data_offset, io->len, &r0, &r1);
	for (i = 0; i < m->nlegs; i++)
		if (f->legs_failed & (1u << i))
			mark_missed(&m->leg[i], r0, r1);
	if (f->local.res && io->op != LL_OP_READ) {
		if (f->legs_ok) {
			/* on the legs: good, but the local copy of these is bad */
			for (r = r0; r <= r1; r++)
				map_set(m->local_bad, r);
			ll_err(m->l, "local %s at offset %" PRIu64 " failed (%s); it is on "
			       "the legs, and reads of it will be served from them\n",
			       io->op == LL_OP_WRITE ? "write" : "flush",
			       io->off - m->l->data_offset, strerror(-f->local.res));
			io->res = 0;
		} else {
			io->res = f->local.res;
		}
	} else {
		io->res = f->local.res;
	}
	free(f);
	io->complete(io);
}

static void fan_put(struct fan *f)
{
	if (--f->pending == 0)
		fan_done(f);
}

static void leg_cb(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct iscsi_task_ctx *c = priv;
	struct fan *f = c->f;
	struct ll_leg *g = &f->m->leg[c->leg];

	if (data)
		scsi_free_scsi_task(data);
	if (status == SCSI_STATUS_GOOD && g->iscsi == iscsi) {
		f->legs_ok |= 1u << c->leg;
	} else {
		f->legs_failed |= 1u << c->leg;
		if (g->iscsi == iscsi)
			leg_down(g, status == SCSI_STATUS_TIMEOUT ? "a command timed out" :
				 status == SCSI_STATUS_CANCELLED ? "the connection was lost" :
				 "a command failed");
	}
	fan_put(f);
}

static void local_done(struct ll_io *local)
{
	struct fan *f = (struct fan *)((char *)local - offsetof(struct fan, local));

	fan_put(f);
}

/* The read failed locally (or the region is bad here): try a leg. */
static void read_from_leg_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct fan *f = priv;
	struct scsi_task *t = data;
	struct ll_io *io = f->io;

	(void)iscsi;
	if (status == SCSI_STATUS_GOOD && t && t->datain.size == (int)io->len) {
		memcpy(io->buf, t->datain.data, io->len);
		io->res = 0;
	}
	if (t)
		scsi_free_scsi_task(t);
	free(f);
	io->complete(io);
}

static struct ll_leg *up_leg(struct ll_mirror *m)
{
	for (unsigned int i = 0; i < m->nlegs; i++)
		if (m->leg[i].state == LEG_UP && m->leg[i].iscsi && !m->leg[i].dead)
			return &m->leg[i];
	return NULL;
}

static void read_local_done(struct ll_io *local)
{
	struct fan *f = (struct fan *)((char *)local - offsetof(struct fan, local));
	struct ll_mirror *m = f->m;
	struct ll_io *io = f->io;
	struct ll_leg *g;

	io->res = local->res;
	g = io->res ? up_leg(m) : NULL;
	if (g && iscsi_read16_task(g->iscsi, g->lun, io->off / 512, (uint32_t)io->len, 512,
				   0, 0, 0, 0, 0, read_from_leg_done, f)) {
		ll_err(m->l, "local read at offset %" PRIu64 " failed (%s); serving it from "
		       "leg %u\n", io->off - m->l->data_offset, strerror(-io->res), g->idx + 1);
		leg_fd_update(g);
		return;
	}
	free(f);
	io->complete(io);
}

void ll_mirror_submit(struct ll_mirror *m, struct ll_io *io, int local_fault)
{
	struct ll_lu *l = m->l;
	struct fan *f = calloc(1, sizeof(*f));
	uint64_t r0, r1, r;
	unsigned int i;
	int bad = 0;

	io->done = 0;
	if (!f) {
		io->res = -ENOMEM;
		ll_later(l, io);
		return;
	}
	f->io = io;
	f->m = m;
	f->local = *io;
	f->local.next = NULL;
	regions(m, io->off - l->data_offset, io->len, &r0, &r1);

	if (io->op == LL_OP_READ || io->op == LL_OP_FADVISE) {
		for (r = r0; r <= r1 && !bad && io->op == LL_OP_READ; r++)
			bad = map_test(m->local_bad, r);
		f->local.complete = read_local_done;
		if (local_fault || bad) {
			f->local.res = -EIO;
			ll_later(l, &f->local);
			return;
		}
		l->engine.ops->submit(&l->engine, &f->local);
		return;
	}

	f->local.complete = local_done;
	f->pending = 1;
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];
		struct scsi_task *t = NULL;
		uint64_t lba = io->off / 512;

		if ((g->state != LEG_UP && g->state != LEG_SYNCING) || !g->iscsi || g->dead) {
			if (io->op != LL_OP_DATASYNC)
				mark_missed(g, r0, r1);
			continue;
		}
		f->ctx[i].f = f;
		f->ctx[i].leg = i;
		if (io->op == LL_OP_WRITE)
			t = iscsi_write16_task(g->iscsi, g->lun, lba, io->buf, (uint32_t)io->len,
					       512, 0, 0, !!(io->flags & LL_IO_DSYNC), 0, 0,
					       leg_cb, &f->ctx[i]);
		else if (io->op == LL_OP_PUNCH)	/* zeros: any target has WRITE SAME */
			t = iscsi_writesame16_task(g->iscsi, g->lun, lba, zero_block, 512,
						   (uint32_t)(io->len / 512), 0, 0, 0, 0,
						   leg_cb, &f->ctx[i]);
		else
			t = iscsi_synchronizecache16_task(g->iscsi, g->lun, 0, 0, 0, 0,
							  leg_cb, &f->ctx[i]);
		if (!t) {
			leg_down(g, "cannot queue a command");
			if (io->op != LL_OP_DATASYNC)
				mark_missed(g, r0, r1);
			continue;
		}
		f->pending++;
		leg_fd_update(g);
	}
	if (local_fault) {
		f->local.res = -EIO;
		ll_later(l, &f->local);
		return;
	}
	l->engine.ops->submit(&l->engine, &f->local);
}

/* ---- set up, tear down ------------------------------------------------- */

int ll_mirror_open(struct ll_lu *l)
{
	struct ll_image *im = &l->image;
	struct itimerspec its;
	struct ll_mirror *m;
	unsigned int i;
	uint64_t r;
	void *p;

	if (!l->formatted) {
		ll_err(l, "refused: a mirrored LUN needs a lunlink image (its copies carry "
		       "generations and a dirty-region map); prepare it with 'lunlink-image "
		       "create --size SIZE %s' (which erases it) and the same on each leg\n",
		       l->path);
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->l = l;
	m->tick_fd = -1;
	for (m->shift = 0; (1u << m->shift) < im->region_size; m->shift++)
		;
	m->nregions = (im->max_data_size + im->region_size - 1) >> m->shift;
	if (posix_memalign(&p, 4096, im->dirty_bytes))
		goto nomem;
	m->dirty = p;
	m->local_bad = calloc(1, (m->nregions + 7) / 8);
	if (!m->local_bad)
		goto nomem;
	if (pread(l->engine.fd, m->dirty, im->dirty_bytes, (off_t)im->dirty_offset) !=
	    (ssize_t)im->dirty_bytes) {
		ll_err(l, "refused: cannot read the dirty-region map: %m\n");
		goto err;
	}
	m->nlegs = l->opts.nlegs;
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		g->m = m;
		g->idx = i;
		g->url = l->opts.leg[i];
		ll_url_public(g->url, g->public_url, sizeof(g->public_url));
		g->fd = -1;
		g->state = LEG_DOWN;
		g->backoff = BACKOFF_MIN_MS;
		g->need = calloc(1, (m->nregions + 7) / 8);
		if (posix_memalign(&p, 4096, im->region_size))
			p = NULL;
		g->buf = p;
		if (!g->need || !g->buf)
			goto nomem;
	}
	if (im->flags & LL_IMAGE_F_OPEN) {
		ll_err(l, "this copy was not closed cleanly (tgtd stopped or crashed while it "
		       "was served): every region will be resynced to the legs\n");
		for (r = 0; r < m->nregions; r++)
			map_set(m->dirty, r);
		if (persist(m, 0, m->nregions - 1))
			ll_err(l, "cannot write the dirty-region map: %m\n");
	}
	im->flags = (im->flags & ~LL_IMAGE_F_FRESH) | LL_IMAGE_F_OPEN | LL_IMAGE_F_PRIMARY;
	if (store_sb(m))
		goto err;

	m->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = TICK_MS * 1000000L;
	its.it_interval.tv_nsec = TICK_MS * 1000000L;
	if (m->tick_fd < 0 || timerfd_settime(m->tick_fd, 0, &its, NULL) ||
	    tgt_event_add(m->tick_fd, EPOLLIN, tick, m)) {
		ll_err(l, "refused: cannot start the mirror's timer: %m\n");
		goto err;
	}
	if (mkdir(STATUS_DIR, 0755) == 0 || errno == EEXIST)
		snprintf(m->status_path, sizeof(m->status_path), STATUS_DIR "/c%d-t%d-l%" PRIu64
			 ".status", control_port, l->lu->tgt->tid, l->lu->lun);
	l->mirror = m;
	ll_err(l, "mirrored to %u leg(s); region size %u bytes\n", m->nlegs, im->region_size);
	write_status(m);
	return 0;

nomem:
	ll_err(l, "refused: out of memory for the mirror\n");
err:
	if (m) {
		if (m->tick_fd >= 0)
			close(m->tick_fd);
		for (i = 0; i < LL_MAX_LEGS; i++) {
			free(m->leg[i].need);
			free(m->leg[i].buf);
		}
		free(m->local_bad);
		free(m->dirty);
		free(m);
	}
	return -1;
}

void ll_mirror_close(struct ll_lu *l)
{
	struct ll_mirror *m = l->mirror;
	unsigned int i;

	if (!m)
		return;
	tgt_event_del(m->tick_fd);
	close(m->tick_fd);
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (g->fd >= 0)
			tgt_event_del(g->fd);
		g->fd = -1;
		if (g->iscsi) {
			struct iscsi_context *c = g->iscsi;

			g->iscsi = NULL;
			iscsi_destroy_context(c);
		}
		free(g->need);
		free(g->buf);
	}
	/* closed cleanly: the map alone says what the legs lack */
	l->image.flags &= ~LL_IMAGE_F_OPEN;
	store_sb(m);
	if (m->status_path[0])
		unlink(m->status_path);
	free(m->local_bad);
	free(m->dirty);
	free(m);
	l->mirror = NULL;
}
