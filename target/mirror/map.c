// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * map.c: the dirty-region map and this copy's stale list, and their
 * writes to this copy's disk (as DRBD's drbd_bitmap.c).
 *
 * The map says which regions may differ on some copy (a leg that missed a
 * write, a recorded copy that is absent); the stale list (local_bad, kept
 * in the superblock) which regions this copy lacks.  Both are written
 * through the engine, O_DSYNC, without stopping the loop: a change bumps
 * map_version, one write is in flight at a time (the superblock first,
 * then the map pages changed since), and the writes whose acknowledgement
 * needs a version wait in map_wait until it is durable.  The first miss
 * since the legs were last in sync starts a new generation, which the legs
 * that are up take once this copy's superblock holds it.
 *
 * What it owns: the map and stale bits, the superblock's and map's write
 * state and its queue (the struct ll_mirror fields grouped under map.c in
 * mirror_int.h).  Others read the bits, and change them only through the
 * functions here (and the stale_* helpers of mirror_int.h).
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

/* ---- the dirty-region map ------------------------------------------- */

/*
 * The map and the stale list as this copy's disk has them, at open: 0,
 * -ENOMEM, or -1 with the reason logged (the LUN is refused).
 */
int ll_map_open(struct ll_mirror *m)
{
	struct ll_image *im = m->image;
	uint64_t r;
	void *p;

	m->map_lo = m->map_hi = UINT64_MAX;
	if (posix_memalign(&p, 4096, im->dirty_bytes))
		return -ENOMEM;
	m->dirty = p;
	if (posix_memalign(&p, 4096, LL_IMAGE_SB_SIZE))
		return -ENOMEM;
	m->sb_buf = p;
	m->local_bad = calloc(1, (m->nregions + 63) / 64 * 8);	/* whole words */
	if (!m->local_bad)
		return -ENOMEM;
	/* regions past the data lack nothing */
	if (im->flags & LL_IMAGE_F_STALE_ALL)
		for (r = 0; r < m->nregions && (r << m->shift) < im->data_size; r++)
			stale_set(m, r);
	for (unsigned int i = 0; i < im->nstale; i++)
		for (r = im->stale[i].start; r < im->stale[i].start + im->stale[i].count &&
		     (r << m->shift) < im->data_size; r++)
			stale_set(m, r);
	m->stale_dirty = 1;		/* the list as local_bad has it, at the next write */
	if (m->bad_count)
		m_warn(m, "this copy is stale in %" PRIu64 " region(s) (its superblock says so): "
		        "they are read from a leg that has them, and repaired from it\n", m->bad_count);
	if (pread(mirror_fd(m), m->dirty, im->dirty_bytes, (off_t)im->dirty_offset) !=
	    (ssize_t)im->dirty_bytes) {
		m_err(m, "refused: cannot read the dirty-region map: %m\n");
		return -1;
	}
	return 0;
}

void ll_map_free(struct ll_mirror *m)
{
	free(m->local_bad);
	free(m->dirty);
	free(m->sb_buf);
}

/* Write the map pages holding regions r0..r1 and make them durable. */
int ll_map_persist(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	struct ll_image *im = m->image;
	uint64_t p0 = (r0 >> 3) / 4096, p1 = (r1 >> 3) / 4096, p;

	for (p = p0; p <= p1; p++)
		if (pwrite(mirror_fd(m), m->dirty + p * 4096, 4096,
			   (off_t)(im->dirty_offset + p * 4096)) != 4096)
			return -1;
	return fdatasync(mirror_fd(m));
}

int ll_map_store_sb(struct ll_mirror *m)
{
	int err;

	ll_map_stale_list(m);
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

/* Regions r0..r1 (those within the volume) may differ on some copy: in
 * the map in memory, for a caller that writes the map itself (recovery
 * at open). */
void ll_map_set(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	for (uint64_t r = r0; r <= r1 && r < m->nregions; r++)
		dirty_set(m, r);
}

/* The leg differs from this copy in region r (verify found it): it lacks
 * it, and the map says so, written in the background (no write waits). */
void ll_map_leg_differs(struct ll_leg *g, uint64_t r)
{
	if (miss(g, r))
		ll_map_changed(g->m, r, r);
}

/* ---- this copy's stale regions ------------------------------------------ */

/* The superblock's stale list from local_bad: ranges of adjacent regions;
 * more than it holds: "all".  Run when the superblock is encoded. */
void ll_map_stale_list(struct ll_mirror *m)
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

/* The superblock with the stale list as it is now, encoded for a write:
 * its buffer (one; the caller's write of it ends before the next). */
void *ll_map_sb_encoded(struct ll_mirror *m)
{
	ll_map_stale_list(m);
	ll_image_encode(m->image, m->sb_buf);
	return m->sb_buf;
}

/* local_bad changed: the superblock's stale list is written like the map
 * (built when the superblock is, so a burst of errors costs one scan).
 * Returns the map version that holds it. */
uint64_t ll_map_stale_changed(struct ll_mirror *m)
{
	m->stale_dirty = 1;
	return ll_map_sb_changed(m);
}

/* This copy lacks regions r0..r1 (or cannot read them): the map version
 * to wait for before saying the legs have them. */
uint64_t ll_map_local_lost(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	uint64_t r;
	int newbits = 0;

	for (r = r0; r <= r1; r++)
		newbits |= stale_set(m, r);
	if (newbits)
		return ll_map_stale_changed(m);
	/* set before, maybe not on disk yet (or a write of it failed) */
	return m->map_version > m->map_durable ? m->map_version : 0;
}

/* ---- the map's writes, and the writes that wait for them ----------------- */

static uint64_t map_need_of(const struct fan *f)
{
	return f->map_need;
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

/*
 * The map pages holding regions r0..r1 changed: write them (through the
 * engine, after what is being written now).  Returns the map version that
 * holds the change.
 */
uint64_t ll_map_changed(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	uint64_t p0 = (r0 >> 3) / 4096, p1 = (r1 >> 3) / 4096;

	m->map_version++;
	map_pages_pending(m, p0, p1);
	ll_map_flush(m);
	return m->map_version;
}

/* The superblock changed: write it the same way, ahead of map pages. */
uint64_t ll_map_sb_changed(struct ll_mirror *m)
{
	m->map_version++;
	m->sb_pending = 1;
	ll_map_flush(m);
	return m->map_version;
}

/* The superblock changed in what the legs that are up hold too (a new
 * generation, the list of copies): written here, then to them. */
uint64_t ll_map_sb_to_legs(struct ll_mirror *m)
{
	m->gen_to_legs = 1;
	return ll_map_sb_changed(m);
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
		m_warn(m, "degraded: new generation %016" PRIx64 " (the dirty-region map "
		        "is against %016" PRIx64 ")\n", im->gen_current, im->gen_bitmap);
		ll_map_sb_to_legs(m);
	}
	if (newbits)
		ll_map_changed(m, r0, r1);
	/* bits set before, but maybe not on disk yet: wait for those too */
	return m->map_version > m->map_durable ? m->map_version : 0;
}

/*
 * lease=on: the first write of a new lease epoch starts a new generation
 * (the legs that are up take it, as for a degraded write), so that copies
 * written in two owners' terms never share one: a deposed primary's copy,
 * which may hold writes it sent after it was preempted (never
 * acknowledged), is then behind the new owner's (earlier: resynced whole
 * as its leg; a leg newer than it if it is made primary again).  The map
 * version the write's acknowledgement waits for.
 */
uint64_t ll_map_new_term(struct ll_mirror *m, uint64_t epoch)
{
	struct ll_image *im = m->image;

	ll_image_new_generation(im);
	m_info(m, "lease epoch %" PRIu64 ": its first write starts generation %016" PRIx64 "\n",
	       epoch, im->gen_current);
	return ll_map_sb_to_legs(m);
}

/* The leg misses regions r0..r1; the map version to wait for. */
uint64_t ll_map_leg_missed(struct ll_leg *g, uint64_t r0, uint64_t r1)
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
void ll_map_all_synced(struct ll_mirror *m)
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
	ll_map_changed(m, 0, m->nregions - 1);
	if (m->image->gen_bitmap) {
		m->image->gen_bitmap = 0;
		ll_map_sb_changed(m);
	}
}

/* A recorded copy that no leg is (m->absent) misses regions r0..r1: they
 * go into the map, whatever the legs do; the map version to wait for. */
uint64_t ll_map_absent_missed(struct ll_mirror *m, uint64_t r0, uint64_t r1)
{
	uint64_t r;
	int newbits = 0;

	for (r = r0; r <= r1; r++)
		newbits |= dirty_set(m, r);
	return miss_commit(m, r0, r1, newbits);
}

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
void ll_map_leg_sb_done(struct ll_mirror *m)
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
		ll_mirror_meta_failed(m, sb ? "superblock" : "dirty-region map", res,
			    "the writes whose record it was to hold fail (MEDIUM ERROR, WRITE "
			    "ERROR), and it is written again with the next");
		if (sb)
			m->sb_pending = 1;
		else
			map_pages_pending(m, m->map_wlo, m->map_whi);
		m->map_durable = m->map_writing;
		m->map_writing = 0;
		m->map_version++;	/* what is pending again */
		ll_fan_queue_release(&m->map_wait, m->map_durable, map_need_of, ll_fan_unrecorded);
		return;
	}
	ll_mirror_meta_worked(m);
	/* the superblock is written first; with map pages still to write,
	 * nothing is durable yet */
	if (!sb || m->map_hi == UINT64_MAX)
		m->map_durable = m->map_writing;
	m->map_writing = 0;
	ll_fan_queue_release(&m->map_wait, m->map_durable, map_need_of, ll_fan_finish);
	ll_map_flush(m);
}

/* Write the superblock, or else the map pages changed since the last
 * write, if nothing is in flight. */
void ll_map_flush(struct ll_mirror *m)
{
	uint64_t lo = m->map_lo, hi = m->map_hi;

	if (m->map_writing || m->map_version == m->map_durable || m->closing)
		return;
	m->map_writing = m->map_version;
	if (m->sb_pending) {
		m->sb_pending = 0;
		ll_mirror_meta_write(m, &m->map_io, ll_map_sb_encoded(m), 0, LL_IMAGE_SB_SIZE,
				     map_written);
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
	ll_mirror_meta_write(m, &m->map_io, m->dirty + lo * 4096,
			     m->image->dirty_offset + lo * 4096, (hi - lo + 1) * 4096, map_written);
}

/* The fan (a write) is acknowledged once the map version it needs
 * (f->map_need) is on this copy's disk: it waits for it, and the map is
 * written if nothing is in flight. */
void ll_map_wait(struct ll_mirror *m, struct fan *f)
{
	ll_fan_queue_add(&m->map_wait, f);
	ll_map_flush(m);
}

/* The leg is gone: what it took without FUA since its last flush may be
 * lost with it (a peer that crashes drops its page cache). */
void ll_map_leg_lost(struct ll_leg *g)
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
	ll_fan_unsynced_clear(g);
	if (first != UINT64_MAX)
		miss_commit(m, first, last, newbits);	/* no write waits for it */
}
