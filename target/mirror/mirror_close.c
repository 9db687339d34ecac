// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mirror_close.c: closing a mirror (a LUN deleted, or tgtd stopping)
 * without stopping tgtd's event loop for a peer.
 *
 * tgt calls bs_close from its one event loop, with every LUN of the tgtd
 * waiting behind it, and frees the LUN's private data as soon as it
 * returns.  So the close runs to its end here, and nothing of the mirror
 * outlives it.  A close that went on in the background would need a
 * detached copy of the map, the legs' connections, its own file and its
 * own engine, and a LUN served again meanwhile would have to wait for it;
 * the dirty-region map already gives what that would buy, so the close
 * waits for nothing that a peer controls, and records instead:
 *
 * - What a leg took without FUA since its last flush is on its disk only
 *   once it answered a SYNCHRONIZE CACHE.  Each leg that is up is asked as
 *   the close begins, and the answers get CLOSE_FLUSH_MS, counted from
 *   then (the engine's drain and the local flush run meanwhile): a healthy
 *   peer answers within that, and nothing of it is resynced.  A leg that
 *   has not answered by then (hung, cut off, or just slow) counts as having
 *   lost those regions: they go into the dirty-region map, as when a leg
 *   fails while served (the first such loss starts a new generation), and
 *   are resynced when the LUN is served again.  Never longer: leg_timeout
 *   (10 s by default) is how long a write may wait for a leg, not how long
 *   every other LUN of the tgtd may.
 *
 * - This copy's own records still reach its disk: a flush of the image's
 *   data (the activity log is emptied below, so everything its extents
 *   cover must be on disk first; it runs while the legs flush), then the
 *   map, then the emptied log with the superblock saying "closed cleanly",
 *   O_DSYNC writes through the engine, waited for: two rounds of the local
 *   disk after the legs' few ms.  The local disk answers in milliseconds;
 *   one that does not is bounded by the engine's drain (LL_DRAIN_MS), and
 *   then the image is left as a crash would leave it.  If the flush or the
 *   map fails, the superblock keeps saying "open": the next open resyncs
 *   the extents of the activity log, as after a crash, which covers
 *   whatever the close could not record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mirror_int.h"

/* how long the legs' flushes at close may take: a few ms on a healthy
 * peer; every LUN of the tgtd waits this long at most */
#define CLOSE_FLUSH_MS	20

/* ---- the legs' flush ----------------------------------------------------- */

static int took_unflushed(const struct ll_leg *g)
{
	for (uint64_t b = 0; b < (g->m->nregions + 7) / 8; b++)
		if (g->unsynced[0][b] | g->unsynced[1][b])
			return 1;
	return 0;
}

static void close_flushed(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;

	if (g->conn.iscsi == iscsi && g->close_flush == CLOSE_FLUSH_SENT) {
		g->close_flush = status == SCSI_STATUS_GOOD ? CLOSE_FLUSH_DONE : CLOSE_FLUSH_FAILED;
		if (status != SCSI_STATUS_GOOD)
			ll_conn_describe(&g->conn, "its flush at close", status, data, g->why,
					 sizeof(g->why));
	}
	if (data)
		scsi_free_scsi_task(data);
}

/* Its socket said it broke (what: while sending or waiting). */
static void close_flush_broke(struct ll_leg *g, const char *what)
{
	snprintf(g->why, sizeof(g->why), "its flush at close failed %s: %s", what,
		 iscsi_get_error(g->conn.iscsi));
	g->close_flush = CLOSE_FLUSH_FAILED;
}

/*
 * Ask the legs that are up and idle, and took writes without FUA since
 * their last flush, for a SYNCHRONIZE CACHE, and send it now (not at the
 * next loop round: there is none before the close ends), so that they
 * flush while this copy does.  A leg with a resync, verify or repair in
 * flight is not asked (what it lacks is in the map).
 */
static void close_flush_send(struct ll_mirror *m)
{
	for (unsigned int i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		g->close_flush = CLOSE_FLUSH_NONE;
		if (!leg_is(g, LEG_UP) || g->copying || !took_unflushed(g))
			continue;
		if (!iscsi_synchronizecache10_task(g->conn.iscsi, g->conn.lun, 0, 0, 0, 0, close_flushed, g))
			continue;
		g->close_flush = CLOSE_FLUSH_SENT;
		if ((iscsi_which_events(g->conn.iscsi) & POLLOUT) && iscsi_service(g->conn.iscsi, POLLOUT) < 0)
			close_flush_broke(g, "while sent");
	}
}

/* Take the legs' answers until they are all in or the deadline (ms)
 * passed; once past it, one more look without waiting, for the answers
 * that came meanwhile. */
static void close_flush_wait(struct ll_mirror *m, uint64_t deadline)
{
	struct pollfd pfd[LL_MAX_LEGS];
	unsigned int i, n, at[LL_MAX_LEGS];
	uint64_t now;
	int last;

	do {
		now = ll_now_ms();
		last = now >= deadline;
		for (i = n = 0; i < m->nlegs; i++) {
			struct ll_leg *g = &m->leg[i];

			if (g->close_flush != CLOSE_FLUSH_SENT || !g->conn.iscsi)
				continue;
			pfd[n].fd = iscsi_get_fd(g->conn.iscsi);
			pfd[n].events = (short)iscsi_which_events(g->conn.iscsi);
			pfd[n].revents = 0;
			at[n++] = i;
		}
		if (!n || (poll(pfd, n, last ? 0 : (int)(deadline - now)) < 0 && errno != EINTR))
			return;
		for (i = 0; i < n; i++) {
			struct ll_leg *g = &m->leg[at[i]];

			if (pfd[i].revents && g->conn.iscsi && iscsi_service(g->conn.iscsi, pfd[i].revents) < 0 &&
			    g->close_flush == CLOSE_FLUSH_SENT)
				close_flush_broke(g, "waiting for its answer");
		}
	} while (!last);
}

/* A leg that flushed holds what it took; of the others, it goes into the
 * map (with the legs that were not asked, in ll_mirror_close). */
static void close_flush_settle(struct ll_mirror *m)
{
	for (unsigned int i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (g->close_flush == CLOSE_FLUSH_DONE) {
			ll_fan_unsynced_clear(g);
		} else if (g->close_flush != CLOSE_FLUSH_NONE) {
			if (g->close_flush == CLOSE_FLUSH_SENT)
				snprintf(g->why, sizeof(g->why), "its flush at close got no answer "
					 "within %u ms (the close waits no longer for a peer)",
					 CLOSE_FLUSH_MS);
			leg_warn(g, "%s; the regions it took since its last flush will be resynced "
				"when the LUN is served again\n", g->why);
		}
	}
}

/*
 * The close begins: no more background work, and the legs are asked to
 * flush now, before the engine is drained, so that their answers come
 * while it is (and, in a LUN of several mirrored sets, every set's legs
 * flush at once: each set's close then finds its answers in).
 */
void ll_mirror_quiesce(struct ll_mirror *m)
{
	if (m->closing)
		return;
	ll_lease_waiters_fail(m, "the LUN closes while it waits for the write-ownership lease");
	m->closing = 1;
	m->close_deadline = ll_now_ms() + CLOSE_FLUSH_MS;
	close_flush_send(m);
}

/* ---- this copy's records ------------------------------------------------- */

static void close_req_done(struct ll_io *io)
{
	((struct ll_close_req *)io)->done = 1;
}

/*
 * Start request k of the close through the engine: an O_DSYNC write of buf,
 * or the image's data flush when buf is NULL.  close_wait() waits for what
 * was started.
 */
static void close_start(struct ll_mirror *m, unsigned int k, void *buf, uint64_t off,
			uint64_t len)
{
	struct ll_engine *e = &m->l->engine;
	struct ll_close_req *c = &m->close_req[k];
	struct ll_io *io = &c->io;

	memset(c, 0, sizeof(*c));
	c->started = 1;
	io->op = buf ? LL_OP_WRITE : LL_OP_DATASYNC;
	io->flags = buf ? LL_IO_DSYNC : 0;
	io->buf = buf;
	io->off = off;
	io->len = len;
	io->fd = mirror_io_fd(m);
	io->complete = close_req_done;
	if (buf && (m->l->fault & LL_FAULT_META)) {	/* fault=write-all or meta-write */
		io->res = -EIO;
		c->done = 1;
		return;
	}
	e->ops->submit(e, io);
}

/*
 * Wait for the requests started (the engine's drain: the local disk
 * answers in milliseconds; one that does not, LL_DRAIN_MS at most).  If
 * the drain gave up on one, m->close_stuck is set: the requests and their
 * buffers stay the engine's, so the mirror's memory is never freed.
 */
static void close_wait(struct ll_mirror *m)
{
	m->l->engine.ops->drain(&m->l->engine);
	for (unsigned int k = 0; k < LL_CLOSE_REQS; k++)
		if (m->close_req[k].started && !m->close_req[k].done)
			m->close_stuck = 1;
}

/* Request k's result: 0, -errno, or -ETIMEDOUT if it never completed. */
static int close_res(const struct ll_mirror *m, unsigned int k)
{
	const struct ll_close_req *c = &m->close_req[k];

	return c->done ? c->io.res : -ETIMEDOUT;
}

/* A record of the close (what) could not be written. */
static void close_failed(struct ll_mirror *m, const char *what, int res)
{
	m_err(m, "cannot %s at close: %s; the image stays marked open, so the next open "
	      "resyncs the extents of its activity log to the legs, as after a crash; check "
	      "this copy's disk (dmesg, its health)\n", what, strerror(-res));
}

/*
 * The data's flush (started with the legs' flushes: request 0) and the
 * map, then the emptied log and the superblock, closed cleanly if the data
 * and the map are on disk.  The map before the log empties: what the legs
 * took unflushed is in one or the other at every moment.  The log and the
 * superblock together: a crash between them leaves either an empty log in
 * an image marked open (nothing to resync but the map, which is on disk)
 * or old slots in a closed one (reused as free slots; after a later crash,
 * resynced for nothing).
 */
static void close_records(struct ll_mirror *m)
{
	struct ll_image *im = m->image;
	int res, unclean = 0;

	close_start(m, 1, m->dirty, im->dirty_offset, im->dirty_bytes);
	close_wait(m);
	if (m->close_stuck)
		return;
	if ((res = close_res(m, 0))) {
		close_failed(m, "flush this copy's data", res);
		unclean = 1;
	}
	if ((res = close_res(m, 1))) {
		close_failed(m, "write the dirty-region map", res);
		unclean = 1;
	}
	memset(m->close_req, 0, sizeof(m->close_req));
	if (!unclean) {
		close_start(m, 0, ll_al_emptied(m), im->al_offset, im->al_bytes);
		im->flags &= ~LL_IMAGE_F_OPEN;
		/* never written while it was served: still the zeros create left */
		if (m->blank && !im->gen_bitmap)
			im->blank_gen = im->gen_current;
	}
	/* unclean too: a generation the close started is in it */
	close_start(m, 1, ll_map_sb_encoded(m), 0, LL_IMAGE_SB_SIZE);
	close_wait(m);
	if (m->close_stuck)
		return;
	if (!unclean && (res = close_res(m, 0)))
		m_err(m, "cannot empty the activity log at close: %s; its old slots are reused "
		      "as free ones; check this copy's disk (dmesg, its health)\n", strerror(-res));
	if ((res = close_res(m, 1)))
		m_err(m, "cannot write the superblock at close: %s; check this copy's disk "
		      "(dmesg, its health)\n", strerror(-res));
}

void ll_mirror_close(struct ll_mirror *m)
{
	ll_mirror_quiesce(m);	/* if not yet: the legs are asked to flush */
	tgt_event_del(m->tick_fd);
	close(m->tick_fd);
	/* the engine was drained before: what is still in it, the disk does
	 * not answer, and the close waits no more for it */
	m->close_stuck = m->l->engine.inflight != 0;
	memset(m->close_req, 0, sizeof(m->close_req));
	if (!m->close_stuck)
		close_start(m, 0, NULL, 0, 0);	/* this copy flushes while the legs do */
	close_flush_wait(m, m->close_deadline);
	close_flush_settle(m);
	for (unsigned int i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		/* what a leg took without a flush since is not known to be safe */
		if (g->state == LEG_UP || g->state == LEG_SYNCING)
			ll_map_leg_lost(g);
		ll_resync_unpark(g, 1);
		ll_conn_close(&g->conn);
	}
	if (!m->close_stuck)
		close_records(m);
	if (m->status_path[0])
		unlink(m->status_path);
	if (m->close_stuck) {
		m_err(m, "this copy's disk did not answer within %d s: its metadata is not "
		      "(all) written at close, and the image stays marked open (the next open "
		      "resyncs the extents of its activity log, as after a crash); the mirror's "
		      "memory is left to the requests still in flight\n", LL_DRAIN_MS / 1000);
		return;
	}
	ll_mirror_free(m);
}
