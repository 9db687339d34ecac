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
 * Write ownership (lease=on).  A write is acknowledged, and the volume goes
 * degraded, only under a valid lease from the policy manager, checked at
 * submit and again at acknowledgement against CLOCK_MONOTONIC; the legs
 * are fenced for the lease's epoch with persistent reservations, and a leg
 * that answers RESERVATION CONFLICT deposes this mirror (lease.c, fence.c).
 *
 * Extent maps.  A LUN may serve a window of a mirrored image, or several
 * mirrored sets concatenated (extents.c): each set is one struct ll_mirror
 * over its own image file, with its own legs, map, log and status file.
 * Offsets here are the image file's (a leg's LBA is the same offset / 512);
 * the only LUN offsets are the ranges a resync holds (commands lock LUN
 * ranges), which the mirror's extent translates.
 *
 * This file: set up (ll_mirror_open), the tick (timeouts, reconnects,
 * resync pacing, the status file), this copy's local error counts and its
 * metadata writes through the engine, and freeing.  fan.c: the I/O
 * fan-out; map.c: the dirty-region map and the stale list; actlog.c: the
 * activity log; mirror_close.c: tear down; mirror_leg.c: legs (connect,
 * probe, generations, drop); mirror_resync.c: resync, repair; verify.c:
 * online verify; status.c: the status file; lease.c: the write-ownership
 * lease and the writes held for it; fence.c: the legs' reservations.
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

/* ---- this copy's errors and metadata writes ----------------------------- */

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

/* A write of this copy's own metadata (what) failed. */
void ll_mirror_meta_failed(struct ll_mirror *m, const char *what, int res, const char *then)
{
	m->meta_failing = 1;
	if (ll_local_say(m, &m->meta_errs))
		m_err(m, "cannot write the %s: %s; %s; check this copy's disk (dmesg, its "
		      "health)\n", what, strerror(-res), then);
}

void ll_mirror_meta_worked(struct ll_mirror *m)
{
	if (!m->meta_failing)
		return;
	m->meta_failing = 0;
	m_info(m, "this copy's metadata is written again (%" PRIu64 " failed write(s) of it "
	        "since it was opened)\n", m->meta_errs.n);
}

/* One O_DSYNC write of a metadata area through the engine: io is the
 * mirror's own request for it (one in flight each). */
void ll_mirror_meta_write(struct ll_mirror *m, struct ll_io *io, void *buf, uint64_t off,
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

/* ---- the tick: timeouts, reconnects, resync pacing, status ------------- */

static void tick(int fd, int events, void *data)
{
	struct ll_mirror *m = data;
	uint64_t n, now = ll_now_ms();
	unsigned int i;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		n = 1;
	ll_resync_budget(m, n);
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (g->conn.dead)
			ll_leg_reap(g);
		/* libiscsi's timeouts, and a login nobody answers (a cut
		 * link, a node gone), bounded by leg_timeout */
		ll_conn_tick(&g->conn, now);
		/* lease=on: legs are connected (and fenced), resynced and
		 * verified only under a valid lease */
		if (!ll_lease_legs_may_write(m, now)) {
			if (g->state == LEG_DOWN && !g->conn.iscsi && !g->why[0])
				snprintf(g->why, sizeof(g->why), "waiting for a write-ownership "
					 "lease (lease=on): it is connected under one");
			continue;
		}
		if (g->state == LEG_DOWN && !g->conn.iscsi && now >= g->retry_at)
			ll_leg_connect(g);
		ll_resync_unpark(g, 0);
		if (g->state == LEG_SYNCING)
			ll_resync_next(g);
		else if (g->verifying)
			ll_verify_next(g);
	}
	/* lease=on: a leg that came up under an older epoch is fenced; the
	 * gate may have opened (or shut) for the writes held */
	if (m->l->opts.lease)
		ll_mirror_lease_changed(m);
	/* quiet_since may be later than now: an error counted in this very
	 * tick (a held write failed just above) reads the clock again */
	if (m->quiet && now >= m->quiet_since + LOCAL_MSG_MS) {
		m_err(m, "%" PRIu64 " more like the messages above (local I/O errors, failed "
		       "metadata writes, refused or unrecorded writes, failed repairs, writes "
		       "failed for the lease) in the last %" PRIu64 " s; %" PRIu64 " region(s) "
		       "of this copy are stale "
		       "(totals: lunlink-status)\n", m->quiet,
		       (now - m->quiet_since) / 1000, m->bad_count);
		m->quiet = 0;
	}
	ll_map_flush(m);		/* a record whose write failed: again */
	ll_repair_next(m);
	if (now - m->last_status >= 1000) {
		m->last_status = now;
		ll_mirror_write_status(m);
	}
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
	m_warn(m, "its superblock says blank, but its file holds data at offset %lld (written "
	       "past lunlink?): it is not blank, and its legs are copied\n", (long long)at);
	return 1;
}

int ll_mirror_open(struct ll_lu *l, struct ll_extent *e, unsigned int set)
{
	struct ll_image *im = e->image;
	struct itimerspec its;
	struct ll_mirror *m;
	unsigned int i;

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
	m->copy = e->copy;
	m->size = e->size;
	if (set)
		snprintf(m->label, sizeof(m->label), "extent %u (%s): ", set + 1, e->path);
	m->tick_fd = -1;
	/* one mirror per image: two would write the same map and log */
	if (flock(mirror_fd(m), LOCK_EX | LOCK_NB)) {
		m_err(m, "refused: %s is already the local copy of a mirrored LUN (in this "
		      "tgtd or another process on this node: %s); an image can back one "
		      "mirrored LUN at a time, so give each mirrored window its own image\n",
		      e->path, errno == EWOULDBLOCK ? "it is locked" : strerror(errno));
		free(m);
		return -1;
	}
	if (m->size > im->max_data_size) {
		m_err(m, "refused: its copy holds %" PRIu64 " bytes of data (the image's %" PRIu64
		      " and the copy_extent= areas), more than its dirty-region map covers "
		      "(--max-size %" PRIu64 "); make the image with 'lunlink-image create "
		      "--max-size %" PRIu64 "' or more, and each leg's the same\n", m->size,
		      im->data_size, im->max_data_size, m->size);
		goto err;
	}
	for (m->shift = 0; (1u << m->shift) < im->region_size; m->shift++)
		;
	m->nregions = (im->max_data_size + im->region_size - 1) >> m->shift;
	switch (ll_map_open(m)) {
	case -ENOMEM:
		goto nomem;
	case 0:
		break;
	default:
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
	if (ll_al_open(m)) {
		m_err(m, "refused: cannot read the activity log: %m\n");
		goto err;
	}
	if (im->flags & LL_IMAGE_F_OPEN)
		ll_al_recover(m);
	if (!im->copy_id) {
		im->copy_id = ll_image_new_copy_id();
		m_info(m, "this image has no copy id (made by an older lunlink): it is copy %016"
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
	if (m->blank && e->more_areas) {
		m->blank = 0;
		m_info(m, "its superblock says blank, but its copy goes on into copy_extent= "
		       "areas that lunlink-image did not make blank: its legs are copied\n");
	}
	im->blank_gen = 0;
	im->flags = (im->flags & ~LL_IMAGE_F_FRESH) | LL_IMAGE_F_OPEN | LL_IMAGE_F_PRIMARY;
	if (ll_map_store_sb(m))
		goto err;
	if (m->blank)
		m_info(m, "this copy is blank (zeros since lunlink-image create): a leg that is "
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
	if (ll_status_path(l, set, m->status_path, sizeof(m->status_path)))
		m->status_path[0] = '\0';
	e->mirror = m;
	ll_mirror_copies_check(m);
	m_info(m, "mirrored to %u leg(s); region size %u bytes\n", m->nlegs, im->region_size);
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
	ll_al_free(m);
	ll_map_free(m);
	free(m);
}
