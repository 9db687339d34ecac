// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * actlog.c: the activity log (as DRBD's drbd_actlog.c): the extents that
 * may be written right now, on this copy's disk before any write to them
 * is sent anywhere, so that after a crash of this node only they are
 * resynced, not the whole volume.
 *
 * A write is admitted (ll_al_admit) once its extents hold slots and the
 * log version holding them is durable (an O_DSYNC write through the
 * engine; the write waits in al_wait meanwhile, the loop does not).  A slot
 * is reused only from an extent with no write in flight whose writes are
 * on stable storage on every copy: a flush of this copy and the legs since
 * its last write started (al_sync; writes that find no slot wait in
 * sync_wait).  At open, a log left by a crash goes into the map
 * (ll_al_recover).
 *
 * What it owns: the log's slots, the per-extent counts and epochs, its
 * writes and flushes and their queues (the struct ll_mirror fields grouped
 * under actlog.c in mirror_int.h).
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

#define AL_EXTENT_SHIFT	22	/* 4 MiB extents: 1024 slots cover 4 GiB */

static uint64_t al_need_of(const struct fan *f)
{
	return f->al_need;
}

int ll_al_open(struct ll_mirror *m)
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

void ll_al_free(struct ll_mirror *m)
{
	free(m->al);
	free(m->in_al);
	free(m->al_busy);
	free(m->al_seq);
	free(m->al_last);
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

	ll_map_set(m, r0, r1);
}

/* The log emptied in memory, for a clean close to write: its buffer. */
void *ll_al_emptied(struct ll_mirror *m)
{
	memset(m->al, 0, m->image->al_bytes);
	memset(m->in_al, 0, (m->nextents + 7) / 8);
	return m->al;
}

/* Empty the log: at open, once what it held is in the map. */
static void al_clear(struct ll_mirror *m)
{
	struct ll_image *im = m->image;

	if (pwrite(mirror_fd(m), ll_al_emptied(m), im->al_bytes, (off_t)im->al_offset) !=
	    (ssize_t)im->al_bytes || fdatasync(mirror_fd(m)))
		m_err(m, "cannot clear the activity log: %m\n");
}

/* After a crash of this node (its superblock still says open): every
 * extent in the log may differ on the legs.  They go into the map, on disk
 * before anything is written, and the log is emptied. */
void ll_al_recover(struct ll_mirror *m)
{
	uint64_t n = ll_al_extents(m, m->al, al_slots(m), al_mark_dirty, m);

	m->al_recovered = n;

	m_warn(m, "this copy was not closed cleanly (tgtd stopped or crashed while it "
	       "was served): the %" PRIu64 " extent(s) of %u bytes in its activity log "
	       "will be resynced to the legs\n", n, 1u << m->al_shift);
	if (ll_map_persist(m, 0, m->nregions - 1))
		m_err(m, "cannot write the dirty-region map: %m\n");
	al_clear(m);
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
 * to end (ll_al_end: every extent in the log has one in flight).
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

static void al_flush(struct ll_mirror *m);

static void al_synced(struct ll_io *io)
{
	struct ll_mirror *m = (struct ll_mirror *)((char *)io - offsetof(struct ll_mirror,
									  al_sync_io));

	m->al_syncing = 0;
	if (io->res) {
		/* the writes waiting for a slot fail: none may leave the log */
		ll_mirror_meta_failed(m, "flush that lets the activity log drop an extent", io->res,
			    "the writes waiting for a slot in the log fail (MEDIUM ERROR, WRITE "
			    "ERROR) unwritten, and the next ones flush again");
		ll_fan_queue_release(&m->sync_wait, UINT64_MAX, al_need_of, ll_fan_unlogged);
		return;
	}
	m->al_synced_epoch = m->al_sync_epoch;
	ll_fan_queue_release(&m->sync_wait, UINT64_MAX, al_need_of, ll_al_admit);
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
		ll_mirror_meta_failed(m, "activity log", io->res, "the writes waiting for it fail (MEDIUM "
			    "ERROR, WRITE ERROR) unwritten, and the next writes log their "
			    "extents again");
		al_forget(m);
		m->al_writing = 0;
		ll_fan_queue_release(&m->al_wait, UINT64_MAX, al_need_of, ll_fan_unlogged);
		return;
	}
	ll_mirror_meta_worked(m);
	m->al_durable = m->al_writing;
	m->al_writing = 0;
	ll_fan_queue_release(&m->al_wait, m->al_durable, al_need_of, ll_fan_go);
	al_flush(m);
}

/* Write the log, if it changed since it was last written and no write of
 * it is in flight: the whole (small) log area at once. */
static void al_flush(struct ll_mirror *m)
{
	if (m->al_writing || m->al_version == m->al_durable)
		return;
	m->al_writing = m->al_version;
	ll_mirror_meta_write(m, &m->al_io, m->al, m->image->al_offset, m->image->al_bytes,
		   al_written);
}

void ll_al_end(struct ll_mirror *m, uint64_t e0, uint64_t e1)
{
	uint64_t e;
	int idle = 0;

	for (e = e0; e <= e1 && e < m->nextents; e++)
		if (m->al_busy[e] && !--m->al_busy[e])
			idle = 1;
	/* a slot may be free now for writes that found none (not those that
	 * wait for a flush: it releases them) */
	if (idle && m->sync_wait.head && !m->al_syncing)
		ll_fan_queue_release(&m->sync_wait, UINT64_MAX, al_need_of, ll_al_admit);
}

/* The write's extents into the log (waiting for a flush that lets an
 * extent leave it, or for the log's write, if need be), then out it goes. */
void ll_al_admit(struct fan *f)
{
	struct ll_mirror *m = f->m;
	int blocked = 0;

	f->al_need = al_begin(m, f->e0, f->e1, &blocked);
	if (blocked) {			/* nothing counted for it yet (in_al 0) */
		ll_fan_queue_add(&m->sync_wait, f);
		return;
	}
	f->in_al = 1;
	if (f->al_need > m->al_durable) {	/* the log first */
		ll_fan_queue_add(&m->al_wait, f);
		al_flush(m);
		return;
	}
	ll_fan_go(f);
}
