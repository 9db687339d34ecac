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
 * range held exclusively so that no new write interleaves, and flushed on
 * the leg (SYNCHRONIZE CACHE) before it counts as up; a fresh image
 * (lunlink-image create) gets everything and this copy's superblock.  A leg
 * whose generation is neither this copy's nor its bitmap generation changed
 * on its own (split brain): nothing is copied, the leg stays out of date,
 * and the log names both generations and the command that resolves it.
 *
 * Local errors.  A failed local read is served from a connected leg; a
 * failed local write that every leg took is acknowledged, and the region is
 * remembered as bad locally, so reads of it go to a leg.
 *
 * Crash.  Before the first write to a 4 MiB extent, the extent goes into
 * the image's activity log on stable storage (an O_DSYNC write through the
 * engine; the writes that need it wait, the loop does not); a primary
 * restarted after a crash resyncs the extents in its log, not the whole
 * volume.  A clean close flushes the legs, waiting a few ms at most (the
 * close runs in tgtd's one event loop: mirror_close.c): what a leg took
 * without FUA is resynced next time only if it did not answer by then.
 *
 * Verify compares each region of a leg with this copy's by SHA-256 and
 * resyncs the ones that differ.
 *
 * Extent maps.  A LUN may serve a window of a mirrored image, or several
 * mirrored sets concatenated (extents.c): each set is one struct ll_mirror
 * over its own image file, with its own legs, map, log and status file.
 * Offsets here are the image file's (a leg's LBA is the same offset / 512);
 * the only LUN offsets are the ranges a resync holds (commands lock LUN
 * ranges), which the mirror's extent translates.
 *
 * This file: the I/O fan-out, the dirty-region map, the tick, set up.
 * mirror_close.c: tear down; mirror_leg.c: legs (connect, probe,
 * generations, drop); mirror_resync.c: resync and the status file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "mirror_int.h"

static uint8_t zero_block[512];

/* ---- the dirty-region map ------------------------------------------- */

/* Regions of the LUN's byte range [off, off+len), LUN-relative offsets. */
static void regions(struct ll_mirror *m, uint64_t off, uint64_t len, uint64_t *r0, uint64_t *r1)
{
	*r0 = off >> m->shift;
	*r1 = len ? (off + len - 1) >> m->shift : *r0;
	if (*r1 >= m->nregions)
		*r1 = m->nregions - 1;
}

/* Write the map pages holding regions r0..r1 and make them durable. */
int ll_mirror_persist(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	struct ll_image *im = m->image;
	uint64_t p0 = (r0 >> 3) / 4096, p1 = (r1 >> 3) / 4096, p;

	for (p = p0; p <= p1; p++)
		if (pwrite(mirror_fd(m), m->dirty + p * 4096, 4096,
			   (off_t)(im->dirty_offset + p * 4096)) != 4096)
			return -1;
	return fdatasync(mirror_fd(m));
}

int ll_mirror_store_sb(struct ll_mirror *m)
{
	int err;

	ll_mirror_stale_list(m);
	err = ll_image_store(mirror_fd(m), m->image);

	if (err)
		m_err(m, "cannot write the superblock: %s\n", strerror(-err));
	return err;
}

/* Region r may differ on some copy: in the map in memory.  Returns 1 if
 * that is a new bit. */
static int dirty_set(struct ll_mirror *m, uint64_t r)
{
	if (map_test(m->dirty, r))
		return 0;
	map_set(m->dirty, r);
	return 1;
}

/* The leg lacks region r: in memory.  Returns 1 if the map got a new bit. */
static int miss(struct ll_leg *g, uint64_t r)
{
	need_set(g, r);
	return dirty_set(g->m, r);
}

/* ---- this copy's stale regions ------------------------------------------ */

/* The superblock's stale list from local_bad: ranges of adjacent regions;
 * more than it holds: "all".  Run when the superblock is encoded. */
void ll_mirror_stale_list(struct ll_mirror *m)
{
	struct ll_image *im = m->image;
	uint64_t r = 0, s;

	if (!m->stale_dirty)
		return;
	m->stale_dirty = 0;
	im->nstale = 0;
	im->flags &= ~LL_IMAGE_F_STALE_ALL;
	while (r < m->nregions && m->bad_count) {
		if (!(r & 63) && !((const uint64_t *)m->local_bad)[r >> 6]) {
			r += 64;		/* 64 clean regions at once */
			continue;
		}
		if (!map_test(m->local_bad, r)) {
			r++;
			continue;
		}
		for (s = r; r < m->nregions && map_test(m->local_bad, r); r++)
			;
		if (im->nstale == LL_IMAGE_STALE_MAX) {
			im->flags |= LL_IMAGE_F_STALE_ALL;
			im->nstale = 0;
			break;
		}
		im->stale[im->nstale].start = s;
		im->stale[im->nstale++].count = r - s;
	}
}

/* local_bad changed: the superblock's stale list is written like the map
 * (built when the superblock is, so a burst of errors costs one scan).
 * Returns the map version that holds it. */
uint64_t ll_mirror_stale_changed(struct ll_mirror *m)
{
	m->stale_dirty = 1;
	return ll_mirror_sb_changed(m);
}

/* io (a write) covers region r whole, as far as the region holds data. */
static int covers(const struct ll_mirror *m, const struct ll_io *io, uint64_t r)
{
	uint64_t off = io->off - m->image->data_offset, a = r << m->shift;
	uint64_t b = (r + 1) << m->shift;

	if (b > m->image->data_size)
		b = m->image->data_size;
	return off <= a && off + io->len >= b;
}

/* This copy lacks regions r0..r1 (or cannot read them): the map version
 * to wait for before saying the legs have them. */
static uint64_t local_lost(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	uint64_t r;
	int newbits = 0;

	for (r = r0; r <= r1; r++)
		newbits |= stale_set(m, r);
	if (newbits)
		return ll_mirror_stale_changed(m);
	/* set before, maybe not on disk yet (or a write of it failed) */
	return m->map_version > m->map_durable ? m->map_version : 0;
}

/* Count a local error of kind e; 1 if it is to be said in full now (none
 * of its kind was in the last LOCAL_MSG_MS), 0 if it waits for tick()'s
 * summary. */
int ll_local_say(struct ll_mirror *m, struct ll_local_errs *e)
{
	uint64_t now = ll_now_ms();

	e->n++;
	if (e->said_at && now - e->said_at < LOCAL_MSG_MS) {
		if (!m->quiet++)
			m->quiet_since = now;
		return 0;
	}
	e->said_at = now;
	return 1;
}

struct ll_leg *ll_up_leg(struct ll_mirror *m)
{
	for (unsigned int i = 0; i < m->nlegs; i++)
		if (leg_is(&m->leg[i], LEG_UP))
			return &m->leg[i];
	return NULL;
}

/* The leg lacks (needs) one of regions r0..r1. */
static int leg_lacks(const struct ll_leg *g, uint64_t r0, uint64_t r1)
{
	for (uint64_t r = r0; r <= r1; r++)
		if (map_test(g->need, r))
			return 1;
	return 0;
}

/* A leg that holds regions r0..r1 whole now: one that is up, or else one
 * being resynced that lacks none of them. */
static struct ll_leg *whole_leg(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	struct ll_leg *g = ll_up_leg(m);

	for (unsigned int i = 0; i < m->nlegs && !g; i++) {
		struct ll_leg *s = &m->leg[i];

		if (leg_is(s, LEG_SYNCING) && !leg_lacks(s, r0, r1))
			g = s;
	}
	return g;
}

/* ---- writes waiting for metadata ----------------------------------------- */

/* A write waits on one of two lists: for the activity log version it
 * needs before it is issued, or for the map version it needs before it is
 * acknowledged. */
struct wait_list {
	struct fan **head, **tail;
};

static void wait_add(struct wait_list w, struct fan *f)
{
	f->wait_next = NULL;
	if (*w.tail)
		(*w.tail)->wait_next = f;
	else
		*w.head = f;
	*w.tail = f;
}

/* Run go() on every waiter whose need() is now durable, in order; keep the
 * others waiting. */
static void wait_release(struct wait_list w, uint64_t durable,
			 uint64_t (*need)(const struct fan *), void (*go)(struct fan *))
{
	struct fan *f = *w.head, *next;

	*w.head = *w.tail = NULL;
	for (; f; f = next) {
		next = f->wait_next;
		if (need(f) <= durable)
			go(f);
		else
			wait_add(w, f);
	}
}

static uint64_t al_need_of(const struct fan *f)
{
	return f->al_need;
}

static uint64_t map_need_of(const struct fan *f)
{
	return f->map_need;
}

#define AL_WAIT(m)	((struct wait_list){ &(m)->al_wait, &(m)->al_wait_tail })
#define SYNC_WAIT(m)	((struct wait_list){ &(m)->sync_wait, &(m)->sync_wait_tail })
#define MAP_WAIT(m)	((struct wait_list){ &(m)->map_wait, &(m)->map_wait_tail })

/* A write of this copy's own metadata (what) failed. */
static void meta_failed(struct ll_mirror *m, const char *what, int res, const char *then)
{
	m->meta_failing = 1;
	if (ll_local_say(m, &m->meta_errs))
		m_err(m, "cannot write the %s: %s; %s; check this copy's disk (dmesg, its "
		      "health)\n", what, strerror(-res), then);
}

static void meta_worked(struct ll_mirror *m)
{
	if (!m->meta_failing)
		return;
	m->meta_failing = 0;
	m_err(m, "this copy's metadata is written again (%" PRIu64 " failed write(s) of it "
	       "since it was opened)\n", m->meta_errs.n);
}

/* One O_DSYNC write of a metadata area through the engine: io is the
 * mirror's own request for it (one in flight each). */
static void meta_write(struct ll_mirror *m, struct ll_io *io, void *buf, uint64_t off,
		       uint64_t len, void (*done)(struct ll_io *))
{
	memset(io, 0, sizeof(*io));
	io->op = LL_OP_WRITE;
	io->flags = LL_IO_DSYNC;
	io->buf = buf;
	io->off = off;
	io->len = len;
	io->complete = done;
	io->fd = mirror_io_fd(m);
	if (m->l->fault & LL_FAULT_META) {	/* fault=write-all or meta-write */
		io->res = -EIO;
		ll_later(m->l, io);
		return;
	}
	m->l->engine.ops->submit(&m->l->engine, io);
}

/* Map pages p0..p1 are to be written (again). */
static void map_pages_pending(struct ll_mirror *m, uint64_t p0, uint64_t p1)
{
	if (m->map_hi == UINT64_MAX) {		/* nothing pending */
		m->map_lo = p0;
		m->map_hi = p1;
		return;
	}
	if (p0 < m->map_lo)
		m->map_lo = p0;
	if (p1 > m->map_hi)
		m->map_hi = p1;
}

static void map_flush(struct ll_mirror *m);

/*
 * The map pages holding regions r0..r1 changed: write them (through the
 * engine, after what is being written now).  Returns the map version that
 * holds the change.
 */
uint64_t ll_mirror_map_changed(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	uint64_t p0 = (r0 >> 3) / 4096, p1 = (r1 >> 3) / 4096;

	m->map_version++;
	map_pages_pending(m, p0, p1);
	map_flush(m);
	return m->map_version;
}

/* The superblock changed: write it the same way, ahead of map pages. */
uint64_t ll_mirror_sb_changed(struct ll_mirror *m)
{
	m->map_version++;
	m->sb_pending = 1;
	map_flush(m);
	return m->map_version;
}

/*
 * Make what miss() noted durable, before any write it covers is
 * acknowledged: the first miss since the legs were last in sync starts a
 * new generation (the superblock), and the map pages for regions r0..r1
 * are written; both through the engine, without stopping the loop.
 * Returns the map version an acknowledgement must wait for.
 */
static uint64_t miss_commit(struct ll_mirror *m, uint64_t r0, uint64_t r1, int newbits)
{
	struct ll_image *im = m->image;

	if (!im->gen_bitmap) {
		im->gen_bitmap = im->gen_current;
		ll_image_new_generation(im);
		m_err(m, "degraded: new generation %016" PRIx64 " (the dirty-region map "
		       "is against %016" PRIx64 ")\n", im->gen_current, im->gen_bitmap);
		m->gen_to_legs = 1;
		ll_mirror_sb_changed(m);
	}
	if (newbits)
		ll_mirror_map_changed(m, r0, r1);
	/* bits set before, but maybe not on disk yet: wait for those too */
	return m->map_version > m->map_durable ? m->map_version : 0;
}

/* The leg misses regions r0..r1; the map version to wait for. */
static uint64_t mark_missed(struct ll_leg *g, uint64_t r0, uint64_t r1)
{
	uint64_t r;
	int newbits = 0;

	for (r = r0; r <= r1; r++)
		newbits |= miss(g, r);
	return miss_commit(g->m, r0, r1, newbits);
}

/*
 * If every leg is up and lacks nothing, and no recorded copy is absent,
 * every copy has everything: the map and the bitmap generation go.
 */
void ll_mirror_all_synced(struct ll_mirror *m)
{
	uint64_t r;

	for (unsigned int i = 0; i < m->nlegs; i++)
		if (m->leg[i].state != LEG_UP || m->leg[i].need_count)
			return;
	if (m->absent)
		return;
	for (r = 0; r < m->nregions; r++)
		if (map_test(m->dirty, r))
			map_clear(m->dirty, r);
	ll_mirror_map_changed(m, 0, m->nregions - 1);
	if (m->image->gen_bitmap) {
		m->image->gen_bitmap = 0;
		ll_mirror_sb_changed(m);
	}
}

/* A recorded copy that no leg is (m->absent) misses regions r0..r1: they
 * go into the map, whatever the legs do; the map version to wait for. */
static uint64_t mark_absent(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	uint64_t r;
	int newbits = 0;

	for (r = r0; r <= r1; r++)
		newbits |= dirty_set(m, r);
	return miss_commit(m, r0, r1, newbits);
}

static void fan_finish(struct fan *f);
static void fan_unrecorded(struct fan *f);

static void map_done(struct ll_mirror *m, int res, int sb);

static void map_written(struct ll_io *io)
{
	struct ll_mirror *m = (struct ll_mirror *)((char *)io - offsetof(struct ll_mirror, map_io));
	int sb = io->buf == m->sb_buf;

	if (sb && !io->res && m->gen_to_legs) {
		/*
		 * A new generation, on this copy's disk: now the legs that are
		 * up and lack nothing (verify may have found a leg up that does),
		 * which hold everything so far, take it too (the one that
		 * went down keeps the old one, so that no two copies that differ
		 * share one).  In this order, a crash in between leaves the legs
		 * at this copy's bitmap generation: behind by the map, as they
		 * are.  The superblock's step ends when they answered.
		 */
		m->gen_to_legs = 0;
		for (unsigned int i = 0; i < m->nlegs; i++)
			if (leg_is(&m->leg[i], LEG_UP) && !m->leg[i].need_count &&
			    ll_leg_store_sb_counted(&m->leg[i], m->image->gen_current))
				m->legs_sb_out++;
		if (m->legs_sb_out) {
			m->sb_waiting = 1;
			return;
		}
	}
	map_done(m, io->res, sb);
}

/* A leg answered (or failed) its copy of a new generation's superblock. */
void ll_mirror_leg_sb_done(struct ll_mirror *m)
{
	if (m->legs_sb_out && !--m->legs_sb_out && m->sb_waiting) {
		m->sb_waiting = 0;
		map_done(m, 0, 1);
	}
}

/* The superblock (with the legs' copies) or map pages are written (res 0)
 * or failed. */
static void map_done(struct ll_mirror *m, int res, int sb)
{
	if (res) {
		/* the writes waiting for this record fail; it is written again
		 * with the next write that needs a record (or at the tick), and
		 * the writes after this one wait for that */
		meta_failed(m, sb ? "superblock" : "dirty-region map", res,
			    "the writes whose record it was to hold fail (MEDIUM ERROR, WRITE "
			    "ERROR), and it is written again with the next");
		if (sb)
			m->sb_pending = 1;
		else
			map_pages_pending(m, m->map_wlo, m->map_whi);
		m->map_durable = m->map_writing;
		m->map_writing = 0;
		m->map_version++;	/* what is pending again */
		wait_release(MAP_WAIT(m), m->map_durable, map_need_of, fan_unrecorded);
		return;
	}
	meta_worked(m);
	/* the superblock is written first; with map pages still to write,
	 * nothing is durable yet */
	if (!sb || m->map_hi == UINT64_MAX)
		m->map_durable = m->map_writing;
	m->map_writing = 0;
	wait_release(MAP_WAIT(m), m->map_durable, map_need_of, fan_finish);
	map_flush(m);
}

/* Write the superblock, or else the map pages changed since the last
 * write, if nothing is in flight. */
static void map_flush(struct ll_mirror *m)
{
	uint64_t lo = m->map_lo, hi = m->map_hi;

	if (m->map_writing || m->map_version == m->map_durable || m->closing)
		return;
	m->map_writing = m->map_version;
	if (m->sb_pending) {
		m->sb_pending = 0;
		ll_mirror_stale_list(m);
		ll_image_encode(m->image, m->sb_buf);
		meta_write(m, &m->map_io, m->sb_buf, 0, LL_IMAGE_SB_SIZE, map_written);
		return;
	}
	if (hi == UINT64_MAX) {		/* nothing to write after all */
		m->map_durable = m->map_writing;
		m->map_writing = 0;
		return;
	}
	m->map_wlo = lo;
	m->map_whi = hi;
	m->map_lo = m->map_hi = UINT64_MAX;
	meta_write(m, &m->map_io, m->dirty + lo * 4096, m->image->dirty_offset + lo * 4096,
		   (hi - lo + 1) * 4096, map_written);
}

/* ---- the activity log ------------------------------------------------- */

#define AL_EXTENT_SHIFT	22	/* 4 MiB extents: 1024 slots cover 4 GiB */

static int al_setup(struct ll_mirror *m)
{
	struct ll_image *im = m->image;
	void *p;

	m->al_shift = AL_EXTENT_SHIFT > m->shift ? AL_EXTENT_SHIFT : m->shift;
	m->nextents = (im->max_data_size + (1ULL << m->al_shift) - 1) >> m->al_shift;
	if (posix_memalign(&p, 4096, im->al_bytes))
		return -1;
	m->al = p;
	m->in_al = calloc(1, (m->nextents + 7) / 8);
	m->al_busy = calloc(m->nextents, sizeof(*m->al_busy));
	m->al_seq = calloc(m->nextents, sizeof(*m->al_seq));
	m->al_last = calloc(m->nextents, sizeof(*m->al_last));
	if (!m->in_al || !m->al_busy || !m->al_seq || !m->al_last)
		return -1;
	m->al_epoch = m->al_synced_epoch = 1;	/* what the log holds at open is
						 * resynced or was flushed */
	if (pread(mirror_fd(m), m->al, im->al_bytes, (off_t)im->al_offset) !=
	    (ssize_t)im->al_bytes)
		return -1;
	return 0;
}

static unsigned int al_slots(struct ll_mirror *m)
{
	return (unsigned int)(m->image->al_bytes / sizeof(uint64_t));
}

/*
 * The extents an activity log names (n slots: extent + 1, 0 free; a slot
 * out of range names none): mark(arg, r0, r1) gets the regions of each.
 * Returns how many it names.  This copy's log, or a leg's that was a
 * primary (mirror_leg.c).
 */
uint64_t ll_al_extents(const struct ll_mirror *m, const uint64_t *slots, size_t n,
		       void (*mark)(void *arg, uint64_t r0, uint64_t r1), void *arg)
{
	uint64_t per = 1ULL << (m->al_shift - m->shift), count = 0, e;

	for (size_t i = 0; i < n; i++) {
		if (!slots[i] || slots[i] > m->nextents)
			continue;
		e = slots[i] - 1;
		mark(arg, e * per, (e + 1) * per - 1);
		count++;
	}
	return count;
}

static void al_mark_dirty(void *arg, uint64_t r0, uint64_t r1)
{
	struct ll_mirror *m = arg;

	for (uint64_t r = r0; r <= r1 && r < m->nregions; r++)
		map_set(m->dirty, r);
}

/* After a crash of this node: every extent in the log may differ on the
 * legs.  Returns the number of extents. */
static uint64_t al_recover(struct ll_mirror *m)
{
	return ll_al_extents(m, m->al, al_slots(m), al_mark_dirty, m);
}

/* Empty the log: at open, once what it held is in the map. */
static void al_clear(struct ll_mirror *m)
{
	struct ll_image *im = m->image;

	memset(m->al, 0, im->al_bytes);
	memset(m->in_al, 0, (m->nextents + 7) / 8);
	if (pwrite(mirror_fd(m), m->al, im->al_bytes, (off_t)im->al_offset) !=
	    (ssize_t)im->al_bytes || fdatasync(mirror_fd(m)))
		m_err(m, "cannot clear the activity log: %m\n");
}

/* Slot s may take another extent: it holds none, or one with no write in
 * flight whose writes are on stable storage on every copy (flushed). */
static int al_slot_free(const struct ll_mirror *m, unsigned int s, int *unflushed)
{
	uint64_t old = m->al[s];

	if (!old || old > m->nextents)
		return 1;
	if (m->al_busy[old - 1])
		return 0;
	if (m->al_last[old - 1] < m->al_synced_epoch)
		return 1;
	*unflushed = 1;
	return 0;
}

static void al_sync(struct ll_mirror *m);

/*
 * Extents e0..e1 are about to be written: put them in the log.  Returns the
 * log version that must be on stable storage before the write is issued
 * (al_flush writes it, without blocking the loop; the write waits on
 * m->al_wait meanwhile).  A slot is reused only from an extent with no
 * write in flight and flushed since its last write (al_sync): if none
 * is, *blocked is set, nothing is changed, and the write waits on
 * m->sync_wait for the flush (if unflushed ones are idle) or for a write
 * to end (al_end: every extent in the log has one in flight).
 */
static uint64_t al_begin(struct ll_mirror *m, uint64_t e0, uint64_t e1, int *blocked)
{
	unsigned int slots = al_slots(m), tries, s, want = 0, have = 0;
	uint64_t e, need = 0;
	int unflushed = 0;

	for (e = e0; e <= e1 && e < m->nextents; e++)
		want += !map_test(m->in_al, e);
	for (tries = 0; tries < slots && have < want; tries++)	/* from where phase 2 looks */
		have += al_slot_free(m, (m->al_next + tries) % slots, &unflushed);
	if (have < want) {		/* wait: for a flush, or for writes to end */
		*blocked = 1;
		if (unflushed)
			al_sync(m);
		return 0;
	}
	for (e = e0; e <= e1 && e < m->nextents; e++) {
		m->al_busy[e]++;
		m->al_last[e] = m->al_epoch;
		if (map_test(m->in_al, e)) {
			if (m->al_seq[e] > need)
				need = m->al_seq[e];
			continue;
		}
		for (tries = 0; tries < slots; tries++) {
			uint64_t old;

			s = m->al_next;
			old = m->al[s];
			m->al_next = (m->al_next + 1) % slots;
			if (!al_slot_free(m, s, &unflushed))
				continue;	/* busy or unflushed: the next slot */
			if (old && old <= m->nextents) {
				map_clear(m->in_al, old - 1);
				/* flush ahead, so that writes seldom wait for one */
				if (++m->al_evicted >= slots / 2)
					al_sync(m);
			}
			m->al[s] = e + 1;
			map_set(m->in_al, e);
			m->al_seq[e] = ++m->al_version;
			need = m->al_version;
			break;
		}
	}
	return need;
}

static void al_synced(struct ll_io *io);

/*
 * Flush this copy and every leg (SYNCHRONIZE CACHE, as an initiator's
 * flush goes), unless a flush is in flight: the extents whose writes all
 * completed before it may then leave the log.  A write starting meanwhile
 * (al_last = the new epoch) or in flight now is not covered by it.
 */
static void al_sync(struct ll_mirror *m)
{
	struct ll_io *io = &m->al_sync_io;
	unsigned int s;

	if (m->al_syncing || m->closing)
		return;
	m->al_syncing = 1;
	m->al_evicted = 0;
	m->al_sync_epoch = ++m->al_epoch;
	for (s = 0; s < al_slots(m); s++) {
		uint64_t e = m->al[s];

		if (e && e <= m->nextents && m->al_busy[e - 1])
			m->al_last[e - 1] = m->al_sync_epoch;
	}
	memset(io, 0, sizeof(*io));
	io->op = LL_OP_DATASYNC;
	io->fd = mirror_io_fd(m);
	io->complete = al_synced;
	ll_mirror_submit(m, io, ll_fault_hits(m->l, LL_OP_DATASYNC));
}

static void fan_go(struct fan *f);

static void al_flush(struct ll_mirror *m);
static void fan_unlogged(struct fan *f);
static void al_admit(struct fan *f);

static void al_synced(struct ll_io *io)
{
	struct ll_mirror *m = (struct ll_mirror *)((char *)io - offsetof(struct ll_mirror,
									  al_sync_io));

	m->al_syncing = 0;
	if (io->res) {
		/* the writes waiting for a slot fail: none may leave the log */
		meta_failed(m, "flush that lets the activity log drop an extent", io->res,
			    "the writes waiting for a slot in the log fail (MEDIUM ERROR, WRITE "
			    "ERROR) unwritten, and the next ones flush again");
		wait_release(SYNC_WAIT(m), UINT64_MAX, al_need_of, fan_unlogged);
		return;
	}
	m->al_synced_epoch = m->al_sync_epoch;
	wait_release(SYNC_WAIT(m), UINT64_MAX, al_need_of, al_admit);
}

/* A write of the log failed: the extents it was to add are not logged (the
 * next write to one logs it again). */
static void al_forget(struct ll_mirror *m)
{
	unsigned int s;

	for (s = 0; s < al_slots(m); s++) {
		uint64_t e = m->al[s] - 1;

		if (m->al[s] && m->al[s] <= m->nextents && m->al_seq[e] > m->al_durable) {
			m->al[s] = 0;
			map_clear(m->in_al, e);
		}
	}
}

/* The log reached stable storage: the writes waiting for it may go. */
static void al_written(struct ll_io *io)
{
	struct ll_mirror *m = (struct ll_mirror *)((char *)io - offsetof(struct ll_mirror, al_io));

	if (io->res) {
		meta_failed(m, "activity log", io->res, "the writes waiting for it fail (MEDIUM "
			    "ERROR, WRITE ERROR) unwritten, and the next writes log their "
			    "extents again");
		al_forget(m);
		m->al_writing = 0;
		wait_release(AL_WAIT(m), UINT64_MAX, al_need_of, fan_unlogged);
		return;
	}
	meta_worked(m);
	m->al_durable = m->al_writing;
	m->al_writing = 0;
	wait_release(AL_WAIT(m), m->al_durable, al_need_of, fan_go);
	al_flush(m);
}

/* Write the log, if it changed since it was last written and no write of
 * it is in flight: the whole (small) log area at once. */
static void al_flush(struct ll_mirror *m)
{
	if (m->al_writing || m->al_version == m->al_durable)
		return;
	m->al_writing = m->al_version;
	meta_write(m, &m->al_io, m->al, m->image->al_offset, m->image->al_bytes,
		   al_written);
}

static void al_end(struct ll_mirror *m, uint64_t e0, uint64_t e1)
{
	uint64_t e;
	int idle = 0;

	for (e = e0; e <= e1 && e < m->nextents; e++)
		if (m->al_busy[e] && !--m->al_busy[e])
			idle = 1;
	/* a slot may be free now for writes that found none (not those that
	 * wait for a flush: it releases them) */
	if (idle && m->sync_wait && !m->al_syncing)
		wait_release(SYNC_WAIT(m), UINT64_MAX, al_need_of, al_admit);
}

/* The leg flushed, or what it took unflushed is in the map now. */
void ll_leg_unsynced_clear(struct ll_leg *g)
{
	memset(g->unsynced[0], 0, (g->m->nregions + 7) / 8);
	memset(g->unsynced[1], 0, (g->m->nregions + 7) / 8);
	g->flushing = 0;
}

/* The leg is gone: what it took without FUA since its last flush may be
 * lost with it (a peer that crashes drops its page cache). */
void ll_mirror_leg_lost(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	uint64_t r, first = UINT64_MAX, last = 0;
	int newbits = 0;

	for (r = 0; r < m->nregions; r++) {
		if (!map_test(g->unsynced[0], r) && !map_test(g->unsynced[1], r))
			continue;
		newbits |= miss(g, r);
		if (r < first)
			first = r;
		last = r;
	}
	ll_leg_unsynced_clear(g);
	if (first != UINT64_MAX)
		miss_commit(m, first, last, newbits);	/* no write waits for it */
}

/* ---- the tick: timeouts, reconnects, resync pacing, status ------------- */

static void tick(int fd, int events, void *data)
{
	struct ll_mirror *m = data;
	uint64_t n, now = ll_now_ms();
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

		if (g->conn.dead)
			ll_leg_reap(g);
		/* libiscsi's timeouts, and a login nobody answers (a cut
		 * link, a node gone), bounded by leg_timeout */
		ll_conn_tick(&g->conn, now);
		if (g->state == LEG_DOWN && !g->conn.iscsi && now >= g->retry_at)
			ll_leg_connect(g);
		ll_resync_unpark(g, 0);
		if (g->state == LEG_SYNCING)
			ll_resync_next(g);
		else if (g->verifying)
			ll_verify_next(g);
	}
	if (m->quiet && now - m->quiet_since >= LOCAL_MSG_MS) {
		m_err(m, "%" PRIu64 " more like the messages above (local I/O errors, failed "
		       "metadata writes, refused or unrecorded writes, failed repairs) in the "
		       "last %" PRIu64 " s; %" PRIu64 " region(s) of this copy are stale "
		       "(totals: lunlink-status)\n", m->quiet,
		       (now - m->quiet_since) / 1000, m->bad_count);
		m->quiet = 0;
	}
	map_flush(m);		/* a record whose write failed: again */
	ll_repair_next(m);
	if (now - m->last_status >= 1000) {
		m->last_status = now;
		ll_mirror_write_status(m);
	}
}

/* ---- I/O fan-out ------------------------------------------------------------ */

static void fan_finish(struct fan *f)
{
	struct ll_io *io = f->io;

	free(f);
	io->complete(io);
}

/* The record this write waited for (what a leg missed, what this copy
 * lacks, a new generation) could not be written: this copy's disk would
 * not know it after a restart, so the write is not acknowledged, although
 * the legs or this copy may have it (the initiator gets a write error: the
 * blocks are undefined, as after any failed write). */
static void fan_unrecorded(struct fan *f)
{
	struct ll_mirror *m = f->m;
	struct ll_io *io = f->io;

	if (!io->res && ll_local_say(m, &m->unrecorded))
		m_err(m, "a write at offset %" PRIu64 " fails (the initiator gets a write error): "
		       "the record it needed could not be written to this copy's disk\n",
		       io->off - m->image->data_offset);
	io->res = -EIO;
	fan_finish(f);
}

/* The activity log could not record this write's extents: it fails before
 * it is sent anywhere (nothing is written, on any copy). */
static void fan_unlogged(struct fan *f)
{
	struct ll_mirror *m = f->m;
	struct ll_io *io = f->io;

	if (f->in_al)
		al_end(m, f->e0, f->e1);
	if (ll_local_say(m, &m->unrecorded))
		m_err(m, "a write at offset %" PRIu64 " fails unwritten (the initiator gets a "
		       "write error): the activity log could not record its extent\n",
		       io->off - m->image->data_offset);
	io->res = -EIO;
	fan_finish(f);
}

/* A write to part of a stale region of this copy fails: the region would
 * then be whole on no copy (why). */
static void refuse_partial(struct ll_mirror *m, const struct ll_io *io, const char *why)
{
	if (ll_local_say(m, &m->refused))
		m_err(m, "a write at offset %" PRIu64 " to part of a stale region of this copy is "
		       "refused (the initiator gets a write error): %s\n",
		       io->off - m->image->data_offset, why);
}

/* Regions r0..r1 (only the stale ones, if stale_only) are each held whole
 * by a leg in legs (one that lacks none of them). */
static int held_whole(struct ll_mirror *m, uint32_t legs, uint64_t r0, uint64_t r1,
		      int stale_only)
{
	uint64_t r;
	unsigned int i;

	for (r = r0; r <= r1; r++) {
		if (stale_only && !stale_at(m, r))
			continue;
		for (i = 0; i < m->nlegs; i++)
			if ((legs & (1u << i)) && !leg_lacks(&m->leg[i], r, r))
				break;
		if (i == m->nlegs)
			return 0;
	}
	return 1;
}

static void fan_done(struct fan *f)
{
	struct ll_mirror *m = f->m;
	struct ll_io *io = f->io;
	uint64_t r0, r1, r, need;
	unsigned int i;
	int split = 0;

	if (f->in_al)
		al_end(m, f->e0, f->e1);
	if (io->op == LL_OP_DATASYNC) {
		/* a leg that flushed has on disk all it took before the flush */
		for (i = 0; i < m->nlegs; i++)
			if ((f->legs_ok & (1u << i)) && m->leg[i].flushing) {
				memset(m->leg[i].unsynced[1], 0, (m->nregions + 7) / 8);
				m->leg[i].flushing = 0;
			}
		io->res = f->local.res;
		fan_finish(f);
		return;
	}
	regions(m, io->off - m->image->data_offset, io->len, &r0, &r1);
	for (i = 0; i < m->nlegs; i++) {
		if (f->legs_failed & (1u << i)) {
			need = mark_missed(&m->leg[i], r0, r1);
			if (need > f->map_need)
				f->map_need = need;
		} else if ((f->legs_ok & (1u << i)) && !(io->flags & LL_IO_DSYNC)) {
			for (r = r0; r <= r1; r++)
				map_set(m->leg[i].unsynced[0], r);
		}
	}
	if (!f->local.res && m->bad_count) {
		/* a stale region this write covered whole is whole here again;
		 * durably so before the ack (a leg may have missed the write, and
		 * a repair from it would bring back the older data) */
		int cleared = 0;

		for (r = r0; r <= r1; r++)
			if (covers(m, io, r))
				cleared |= stale_clear(m, r);
		need = cleared ? ll_mirror_stale_changed(m) : 0;
		if (need > f->map_need)
			f->map_need = need;
		/* a stale region it wrote part of: the rest is on the legs
		 * only, so one that took this write must hold it whole */
		split = !held_whole(m, f->legs_ok, r0, r1, 1);
	}
	if (split) {
		refuse_partial(m, io, "no leg that took it holds the region whole, so no copy "
			       "would");
		io->res = -EIO;
	} else if (f->local.res && io->op != LL_OP_READ && f->legs_ok &&
	    !held_whole(m, f->legs_ok, r0, r1, 0)) {
		/* a double fault: the legs that took it are being resynced and
		 * lack other data of its region, which this copy has; this copy
		 * keeps the region, and the write fails */
		m->write_errs.n++;
		if (ll_local_say(m, &m->refused))
			m_err(m, "local %s at offset %" PRIu64 " failed (%s), and the legs that "
			       "took it lack other data of its region (they are being resynced): "
			       "the write fails (the initiator gets a write error), and this copy "
			       "keeps the region\n", io->op == LL_OP_WRITE ? "write" : "unmap",
			       io->off - m->image->data_offset, strerror(-f->local.res));
		io->res = f->local.res;
	} else if (f->local.res && io->op != LL_OP_READ) {
		if (f->legs_ok) {
			/* on the legs: good, but this copy lacks it until repaired */
			uint64_t need = local_lost(m, r0, r1);

			if (need > f->map_need)
				f->map_need = need;
			if (ll_local_say(m, &m->write_errs))
				m_err(m, "local %s at offset %" PRIu64 " failed (%s); the legs "
				       "have it: its region is read from them, recorded as stale "
				       "in this copy's superblock, and repaired from a leg\n",
				       io->op == LL_OP_WRITE ? "write" : "unmap",
				       io->off - m->image->data_offset, strerror(-f->local.res));
			io->res = 0;
		} else {
			io->res = f->local.res;
		}
	} else {
		io->res = f->local.res;
	}
	if (f->map_need > m->map_durable) {	/* acknowledge once the map is on disk */
		wait_add(MAP_WAIT(m), f);
		map_flush(m);
		return;
	}
	fan_finish(f);
}

static struct scsi_task *leg_send(struct fan *f, unsigned int i);

static void fan_put(struct fan *f)
{
	if (--f->pending == 0)
		fan_done(f);
}

/* What a leg command of this op is, for messages. */
static const char *op_what(enum ll_io_op op)
{
	return op == LL_OP_WRITE ? "a write" : op == LL_OP_PUNCH ? "a WRITE SAME" :
	       "a SYNCHRONIZE CACHE";
}

static void leg_cb(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct iscsi_task_ctx *c = priv;
	struct fan *f = c->f;
	struct ll_leg *g = &f->m->leg[c->leg];

	struct scsi_task *t = data;

	if (g->conn.iscsi == iscsi && ll_leg_ua_retry(g, status, t, &c->ua_tries)) {
		scsi_free_scsi_task(t);
		if (leg_send(f, c->leg)) {
			ll_conn_fd_update(&g->conn);
			return;
		}
		f->legs_failed |= 1u << c->leg;
		ll_leg_unqueued(g, op_what(f->io->op));
		fan_put(f);
		return;
	}
	if (status == SCSI_STATUS_GOOD && g->conn.iscsi == iscsi) {
		f->legs_ok |= 1u << c->leg;
	} else {
		f->legs_failed |= 1u << c->leg;
		ll_leg_failed(g, iscsi, op_what(f->io->op), status, t);
	}
	if (t)
		scsi_free_scsi_task(t);
	fan_put(f);
}

static void local_done(struct ll_io *local)
{
	struct fan *f = (struct fan *)((char *)local - offsetof(struct fan, local));

	fan_put(f);
}

static void read_from_leg_done(struct iscsi_context *iscsi, int status, void *data, void *priv);

/* The read failed locally (or the region is bad here): read it from leg i. */
static struct scsi_task *read_from_leg(struct fan *f, unsigned int i)
{
	struct ll_leg *g = &f->m->leg[i];
	struct ll_io *io = f->io;

	f->ctx[0].leg = i;
	return iscsi_read16_task(g->conn.iscsi, g->conn.lun, io->off / 512, (uint32_t)io->len, 512,
				 0, 0, 0, 0, 0, read_from_leg_done, f);
}

static void read_from_leg_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct fan *f = priv;
	struct scsi_task *t = data;
	struct ll_io *io = f->io;
	struct ll_leg *g = &f->m->leg[f->ctx[0].leg];

	if (g->conn.iscsi == iscsi && ll_leg_ua_retry(g, status, t, &f->ctx[0].ua_tries)) {
		scsi_free_scsi_task(t);
		t = NULL;
		if (read_from_leg(f, f->ctx[0].leg)) {
			ll_conn_fd_update(&g->conn);
			return;
		}
	}
	if (status == SCSI_STATUS_GOOD && t && t->datain.size == (int)io->len) {
		memcpy(io->buf, t->datain.data, io->len);
		io->res = 0;
	}
	if (t)
		scsi_free_scsi_task(t);
	free(f);
	io->complete(io);
}

static void read_local_done(struct ll_io *local)
{
	struct fan *f = (struct fan *)((char *)local - offsetof(struct fan, local));
	struct ll_mirror *m = f->m;
	struct ll_io *io = f->io;
	struct ll_leg *g = NULL;
	uint64_t r0, r1;

	io->res = local->res;
	if (io->res && io->op == LL_OP_READ) {
		regions(m, io->off - m->image->data_offset, io->len, &r0, &r1);
		g = whole_leg(m, r0, r1);
	}
	if (g && !f->bad) {
		/* the region is read from the legs until repaired from one */
		local_lost(m, r0, r1);
		if (ll_local_say(m, &m->read_errs))
			m_err(m, "local read at offset %" PRIu64 " failed (%s); serving it from "
			       "leg %u, and repairing its region from there\n",
			       io->off - m->image->data_offset, strerror(-io->res), g->idx + 1);
	}
	if (g && read_from_leg(f, g->idx)) {
		ll_conn_fd_update(&g->conn);
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
	regions(m, io->off - m->image->data_offset, io->len, &r0, &r1);

	if (io->op == LL_OP_READ || io->op == LL_OP_FADVISE) {
		for (r = r0; r <= r1 && !bad && io->op == LL_OP_READ; r++)
			bad = stale_at(m, r);
		f->local.complete = read_local_done;
		f->bad = bad;
		if (local_fault || bad) {
			f->local.res = -EIO;
			ll_later(l, &f->local);
			return;
		}
		l->engine.ops->submit(&l->engine, &f->local);
		return;
	}

	if (io->op != LL_OP_DATASYNC)
		m->blank = 0;		/* a write is on its way: not zeros any more */

	/* a stale region of this copy takes no write that covers only part of
	 * it while no leg that holds it whole is connected: the region would be
	 * whole on no copy (a write that covers it whole makes it whole here
	 * again) */
	for (r = r0; r <= r1 && !bad && io->op != LL_OP_DATASYNC; r++)
		bad = stale_at(m, r) && !covers(m, io, r);
	if (bad && !whole_leg(m, r0, r1)) {
		refuse_partial(m, io, "no leg that holds the region whole is connected; it is "
			       "repaired from the first one that is, and a write that covers the "
			       "whole region is taken");
		free(f);
		io->res = -EIO;
		ll_later(l, io);
		return;
	}
	f->local.complete = local_done;
	f->pending = 1;
	f->local_fault = local_fault;
	if (io->op != LL_OP_DATASYNC) {
		f->e0 = (io->off - m->image->data_offset) >> m->al_shift;
		f->e1 = io->len ? (io->off - m->image->data_offset + io->len - 1) >> m->al_shift : f->e0;
		al_admit(f);
		return;
	}
	fan_go(f);
}

/* The write's extents into the log (waiting for a flush that lets an
 * extent leave it, or for the log's write, if need be), then out it goes. */
static void al_admit(struct fan *f)
{
	struct ll_mirror *m = f->m;
	int blocked = 0;

	f->al_need = al_begin(m, f->e0, f->e1, &blocked);
	if (blocked) {			/* nothing counted for it yet (in_al 0) */
		wait_add(SYNC_WAIT(m), f);
		return;
	}
	f->in_al = 1;
	if (f->al_need > m->al_durable) {	/* the log first */
		wait_add(AL_WAIT(m), f);
		al_flush(m);
		return;
	}
	fan_go(f);
}

/* Send the fan's write, punch or flush to leg i. */
static struct scsi_task *leg_send(struct fan *f, unsigned int i)
{
	struct ll_leg *g = &f->m->leg[i];
	struct ll_io *io = f->io;
	uint64_t lba = io->off / 512;

	if (io->op == LL_OP_WRITE)
		return iscsi_write16_task(g->conn.iscsi, g->conn.lun, lba, io->buf, (uint32_t)io->len, 512,
					  0, 0, !!(io->flags & LL_IO_DSYNC), 0, 0, leg_cb, &f->ctx[i]);
	if (io->op == LL_OP_PUNCH)	/* zeros: any target has WRITE SAME */
		return iscsi_writesame16_task(g->conn.iscsi, g->conn.lun, lba, zero_block, 512,
					      (uint32_t)(io->len / 512), 0, 0, 0, 0, leg_cb,
					      &f->ctx[i]);
	return iscsi_synchronizecache16_task(g->conn.iscsi, g->conn.lun, 0, 0, 0, 0, leg_cb, &f->ctx[i]);
}

/* Issue a write, punch or flush to the legs and the local image. */
static void fan_go(struct fan *f)
{
	struct ll_mirror *m = f->m;
	struct ll_lu *l = m->l;
	struct ll_io *io = f->io;
	uint64_t r0, r1;
	unsigned int i;

	regions(m, io->off - m->image->data_offset, io->len, &r0, &r1);
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];
		struct scsi_task *t;

		if ((g->state != LEG_UP && g->state != LEG_SYNCING) || !g->conn.iscsi || g->conn.dead) {
			if (io->op != LL_OP_DATASYNC) {
				uint64_t need = mark_missed(g, r0, r1);

				if (need > f->map_need)
					f->map_need = need;
			}
			continue;
		}
		f->ctx[i].f = f;
		f->ctx[i].leg = i;
		if (io->op == LL_OP_DATASYNC && !g->flushing) {
			/* this flush covers what [0] holds */
			uint8_t *tmp = g->unsynced[1];

			g->unsynced[1] = g->unsynced[0];
			g->unsynced[0] = tmp;
			g->flushing = 1;
		}
		t = leg_send(f, i);
		if (!t) {
			ll_leg_unqueued(g, op_what(io->op));
			if (io->op != LL_OP_DATASYNC) {
				uint64_t need = mark_missed(g, r0, r1);

				if (need > f->map_need)
					f->map_need = need;
			}
			continue;
		}
		f->pending++;
		ll_conn_fd_update(&g->conn);
	}
	if (m->absent && io->op != LL_OP_DATASYNC) {
		uint64_t need = mark_absent(m, r0, r1);

		if (need > f->map_need)
			f->map_need = need;
	}
	if (f->local_fault) {
		f->local.res = -EIO;
		ll_later(l, &f->local);
		return;
	}
	l->engine.ops->submit(&l->engine, &f->local);
}

/* ---- set up --------------------------------------------------------------- */

/* A file whose superblock says blank but whose data area the file system
 * says holds data was written past lunlink (dd, another export): it is
 * not blank.  A block device cannot say (it is all data to lseek). */
static int holds_data(struct ll_mirror *m)
{
	const struct ll_image *im = m->image;
	struct stat st;
	off_t at;

	if (fstat(mirror_fd(m), &st) || !S_ISREG(st.st_mode))
		return 0;
	at = lseek(mirror_fd(m), (off_t)im->data_offset, SEEK_DATA);
	if (at < 0 || (uint64_t)at >= im->data_offset + im->data_size)
		return 0;
	m_err(m, "its superblock says blank, but its file holds data at offset %lld (written "
	      "past lunlink?): it is not blank, and its legs are copied\n", (long long)at);
	return 1;
}

int ll_mirror_open(struct ll_lu *l, struct ll_extent *e, unsigned int set)
{
	struct ll_image *im = e->image;
	struct itimerspec its;
	struct ll_mirror *m;
	unsigned int i;
	uint64_t r;
	void *p;

	if (!im) {
		ll_err(l, "refused: a mirrored LUN needs a lunlink image (its copies carry "
		       "generations and a dirty-region map); prepare it with 'lunlink-image "
		       "create --size SIZE %s' (which erases it) and the same on each leg\n",
		       e->path);
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->l = l;
	m->set = set;
	m->image = im;
	m->ext = e;
	if (set)
		snprintf(m->label, sizeof(m->label), "extent %u (%s): ", set + 1, e->path);
	m->tick_fd = -1;
	m->map_lo = m->map_hi = UINT64_MAX;
	/* one mirror per image: two would write the same map and log */
	if (flock(mirror_fd(m), LOCK_EX | LOCK_NB)) {
		m_err(m, "refused: %s is already the local copy of a mirrored LUN (in this "
		      "tgtd or another process on this node: %s); an image can back one "
		      "mirrored LUN at a time, so give each mirrored window its own image\n",
		      e->path, errno == EWOULDBLOCK ? "it is locked" : strerror(errno));
		free(m);
		return -1;
	}
	for (m->shift = 0; (1u << m->shift) < im->region_size; m->shift++)
		;
	m->nregions = (im->max_data_size + im->region_size - 1) >> m->shift;
	if (posix_memalign(&p, 4096, im->dirty_bytes))
		goto nomem;
	m->dirty = p;
	if (posix_memalign(&p, 4096, LL_IMAGE_SB_SIZE))
		goto nomem;
	m->sb_buf = p;
	m->local_bad = calloc(1, (m->nregions + 63) / 64 * 8);	/* whole words */
	if (!m->local_bad)
		goto nomem;
	/* regions past the data lack nothing */
	if (im->flags & LL_IMAGE_F_STALE_ALL)
		for (r = 0; r < m->nregions && (r << m->shift) < im->data_size; r++)
			stale_set(m, r);
	for (i = 0; i < im->nstale; i++)
		for (r = im->stale[i].start; r < im->stale[i].start + im->stale[i].count &&
		     (r << m->shift) < im->data_size; r++)
			stale_set(m, r);
	m->stale_dirty = 1;		/* the list as local_bad has it, at the next write */
	if (m->bad_count)
		m_err(m, "this copy is stale in %" PRIu64 " region(s) (its superblock says so): "
		       "they are read from a leg that has them, and repaired from it\n", m->bad_count);
	if (pread(mirror_fd(m), m->dirty, im->dirty_bytes, (off_t)im->dirty_offset) !=
	    (ssize_t)im->dirty_bytes) {
		m_err(m, "refused: cannot read the dirty-region map: %m\n");
		goto err;
	}
	for (i = 0; i < l->opts.nlegs; i++) {
		struct ll_leg *g = &m->leg[m->nlegs];

		if (l->opts.leg_set[i] != set)
			continue;
		g->m = m;
		g->idx = m->nlegs++;
		ll_conn_init(&g->conn, l->opts.leg[i], "leg", l->opts.leg_timeout, ll_leg_broke, g);
		ll_url_public(l->opts.leg[i], g->public_url, sizeof(g->public_url));
		g->state = LEG_DOWN;	/* where a leg starts: ll_leg_set_state makes
					 * every change from here on */
		g->backoff = BACKOFF_MIN_MS;
		g->need = calloc(1, (m->nregions + 7) / 8);
		g->unsynced[0] = calloc(1, (m->nregions + 7) / 8);
		g->unsynced[1] = calloc(1, (m->nregions + 7) / 8);
		if (!g->need || !g->unsynced[0] || !g->unsynced[1])
			goto nomem;
	}
	if (al_setup(m)) {
		m_err(m, "refused: cannot read the activity log: %m\n");
		goto err;
	}
	if (im->flags & LL_IMAGE_F_OPEN) {
		r = al_recover(m);
		m_err(m, "this copy was not closed cleanly (tgtd stopped or crashed while it "
		      "was served): the %" PRIu64 " extent(s) of %u bytes in its activity log "
		      "will be resynced to the legs\n", r, 1u << m->al_shift);
		if (ll_mirror_persist(m, 0, m->nregions - 1))
			m_err(m, "cannot write the dirty-region map: %m\n");
		al_clear(m);
	}
	if (!im->copy_id) {
		im->copy_id = ll_image_new_copy_id();
		m_err(m, "this image has no copy id (made by an older lunlink): it is copy %016"
		      PRIx64 " from now on\n", im->copy_id);
	}
	if (ll_image_copy_add(im, im->copy_id) < 0) {
		m_err(m, "refused: the superblock records %u copies of the volume, and not "
		      "this one (%016" PRIx64 "); forget one that is gone with "
		      "'lunlink-image forget-copy %s ID' ('lunlink-image show' lists them)\n",
		      im->ncopies, im->copy_id, e->path);
		goto err;
	}
	/* blank: known here from now on, and off the disk before any write
	 * can reach this copy (a crash then leaves it not blank: copied, never
	 * taken for identical to a blank leg) */
	m->blank = ll_image_is_blank(im) && !holds_data(m);
	im->blank_gen = 0;
	im->flags = (im->flags & ~LL_IMAGE_F_FRESH) | LL_IMAGE_F_OPEN | LL_IMAGE_F_PRIMARY;
	if (ll_mirror_store_sb(m))
		goto err;
	if (m->blank)
		m_err(m, "this copy is blank (zeros since lunlink-image create): a leg that is "
		      "blank too, of this volume, starts in sync with nothing copied\n");

	m->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = TICK_MS * 1000000L;
	its.it_interval.tv_nsec = TICK_MS * 1000000L;
	if (m->tick_fd < 0 || timerfd_settime(m->tick_fd, 0, &its, NULL) ||
	    tgt_event_add(m->tick_fd, EPOLLIN, tick, m)) {
		m_err(m, "refused: cannot start the mirror's timer: %m\n");
		goto err;
	}
	if (mkdir(STATUS_DIR, 0755) == 0 || errno == EEXIST) {
		int n = snprintf(m->status_path, sizeof(m->status_path), STATUS_DIR "/c%d-t%d-l%"
				 PRIu64, control_port, l->lu->tgt->tid, l->lu->lun);

		snprintf(m->status_path + n, sizeof(m->status_path) - (size_t)n,
			 set ? "-e%u.status" : ".status", set + 1);
	}
	e->mirror = m;
	ll_mirror_copies_check(m);
	m_err(m, "mirrored to %u leg(s); region size %u bytes\n", m->nlegs, im->region_size);
	ll_mirror_write_status(m);
	return 0;

nomem:
	ll_err(l, "refused: out of memory for the mirror\n");
err:
	if (m) {
		if (m->tick_fd >= 0)
			close(m->tick_fd);
		ll_mirror_free(m);
	}
	return -1;
}

/* The mirror's memory, and the legs' maps and buffers (their connections
 * are gone). */
void ll_mirror_free(struct ll_mirror *m)
{
	for (unsigned int i = 0; i < LL_MAX_LEGS; i++) {
		free(m->leg[i].need);
		free(m->leg[i].unsynced[0]);
		free(m->leg[i].unsynced[1]);
		for (unsigned int j = 0; j < LL_RESYNC_JOBS; j++)
			free(m->leg[i].job[j].buf);
	}
	free(m->al);
	free(m->in_al);
	free(m->al_busy);
	free(m->al_seq);
	free(m->al_last);
	free(m->local_bad);
	free(m->dirty);
	free(m->sb_buf);
	free(m);
}
