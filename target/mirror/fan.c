// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fan.c: one command fanned out to this copy and the legs, and the rules
 * by which it completes (seed 003's I/O path).
 *
 * A write, hole punch or flush goes to the local image and to every leg
 * that is up or syncing at once, and completes when all of them answered:
 * a leg that failed it has its regions recorded as missed (map.c) before
 * the write is acknowledged; a local failure the legs covered is
 * acknowledged, its regions stale here (map.c); a write to part of a
 * stale region is refused when no copy would then hold the region whole.
 * A read goes to this copy, and to a leg that holds its regions whole
 * when the local read fails or the region is stale here.
 *
 * What it owns: struct fan (one per command, freed when it completes),
 * the queues writes wait in for a record (each queue is its owner's:
 * actlog.c's before a write is issued, map.c's before it is
 * acknowledged), and which regions each leg took without FUA since its
 * last flush (the legs' unsynced maps).  Nothing here writes metadata:
 * what a write needs recorded, it asks map.c and actlog.c for, and waits.
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

/* Regions of the LUN's byte range [off, off+len), LUN-relative offsets. */
static void regions(struct ll_mirror *m, uint64_t off, uint64_t len, uint64_t *r0, uint64_t *r1)
{
	*r0 = off >> m->shift;
	*r1 = len ? (off + len - 1) >> m->shift : *r0;
	if (*r1 >= m->nregions)
		*r1 = m->nregions - 1;
}

/* io (a write) covers region r whole, as far as the region holds data. */
static int covers(const struct ll_mirror *m, const struct ll_io *io, uint64_t r)
{
	uint64_t off = io->off - m->image->data_offset, a = r << m->shift;
	uint64_t b = (r + 1) << m->shift;

	if (b > m->size)
		b = m->size;
	return off <= a && off + io->len >= b;
}

/* A leg that is up (in sync), or NULL. */
static struct ll_leg *up_leg(struct ll_mirror *m)
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
	struct ll_leg *g = up_leg(m);

	for (unsigned int i = 0; i < m->nlegs && !g; i++) {
		struct ll_leg *s = &m->leg[i];

		if (leg_is(s, LEG_SYNCING) && !leg_lacks(s, r0, r1))
			g = s;
	}
	return g;
}

/* ---- writes waiting for a record ------------------------------------------ */

/* A write waits in a queue: for the activity log version it needs before
 * it is issued (actlog.c's queues), or for the map version it needs before
 * it is acknowledged (map.c's).  Each queue is its owner's; this is how
 * they all add and release. */
void ll_fan_queue_add(struct fan_queue *q, struct fan *f)
{
	f->wait_next = NULL;
	if (q->tail)
		q->tail->wait_next = f;
	else
		q->head = f;
	q->tail = f;
}

/* Run go() on every waiter whose need() is now durable, in order; keep the
 * others waiting. */
void ll_fan_queue_release(struct fan_queue *q, uint64_t durable,
			  uint64_t (*need)(const struct fan *), void (*go)(struct fan *))
{
	struct fan *f = q->head, *next;

	q->head = q->tail = NULL;
	for (; f; f = next) {
		next = f->wait_next;
		if (need(f) <= durable)
			go(f);
		else
			ll_fan_queue_add(q, f);
	}
}

/* ---- I/O fan-out ------------------------------------------------------------ */

void ll_fan_finish_now(struct fan *f)
{
	struct ll_io *io = f->io;

	free(f);
	io->complete(io);
}

/* The write's answer: with lease=on, a write, flush or punch done on the
 * copies is acknowledged only if the lease holds at this moment (lease.c
 * holds or fails it otherwise). */
void ll_fan_finish(struct fan *f)
{
	if (f->m->l->opts.lease && f->io->op != LL_OP_READ && !f->io->res &&
	    ll_lease_hold_ack(f))
		return;
	ll_fan_finish_now(f);
}

/* The record this write waited for (what a leg missed, what this copy
 * lacks, a new generation) could not be written: this copy's disk would
 * not know it after a restart, so the write is not acknowledged, although
 * the legs or this copy may have it (the initiator gets a write error: the
 * blocks are undefined, as after any failed write). */
void ll_fan_unrecorded(struct fan *f)
{
	struct ll_mirror *m = f->m;
	struct ll_io *io = f->io;

	if (!io->res && ll_local_say(m, &m->unrecorded))
		m_err(m, "a write at offset %" PRIu64 " fails (the initiator gets a write error): "
		       "the record it needed could not be written to this copy's disk\n",
		       io->off - m->image->data_offset);
	io->res = -EIO;
	ll_fan_finish(f);
}

/* The activity log could not record this write's extents: it fails before
 * it is sent anywhere (nothing is written, on any copy). */
void ll_fan_unlogged(struct fan *f)
{
	struct ll_mirror *m = f->m;
	struct ll_io *io = f->io;

	if (f->in_al)
		ll_al_end(m, f->e0, f->e1);
	if (ll_local_say(m, &m->unrecorded))
		m_err(m, "a write at offset %" PRIu64 " fails unwritten (the initiator gets a "
		       "write error): the activity log could not record its extent\n",
		       io->off - m->image->data_offset);
	io->res = -EIO;
	ll_fan_finish(f);
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
		ll_al_end(m, f->e0, f->e1);
	if (f->legs_conflict || m->l->lease.deposed) {
		/* deposed (lease.c): a newer primary holds the legs; the write
		 * fails, and nothing goes into the map, no new generation */
		io->res = -LL_ESTANDBY;
		ll_fan_finish(f);
		return;
	}
	if (io->op == LL_OP_DATASYNC) {
		/* a leg that flushed has on disk all it took before the flush */
		for (i = 0; i < m->nlegs; i++)
			if ((f->legs_ok & (1u << i)) && m->leg[i].flushing) {
				memset(m->leg[i].unsynced[1], 0, (m->nregions + 7) / 8);
				m->leg[i].flushing = 0;
			}
		io->res = f->local.res;
		ll_fan_finish(f);
		return;
	}
	regions(m, io->off - m->image->data_offset, io->len, &r0, &r1);
	for (i = 0; i < m->nlegs; i++) {
		if (f->legs_failed & (1u << i)) {
			need = ll_map_leg_missed(&m->leg[i], r0, r1);
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
		need = cleared ? ll_map_stale_changed(m) : 0;
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
			uint64_t need = ll_map_local_lost(m, r0, r1);

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
		ll_map_wait(m, f);
		return;
	}
	ll_fan_finish(f);
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
	} else if (status == SCSI_STATUS_RESERVATION_CONFLICT && g->conn.iscsi == iscsi &&
		   f->m->l->opts.lease) {
		f->legs_conflict |= 1u << c->leg;
		ll_leg_fenced_off(g, op_what(f->io->op));
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
		ll_map_local_lost(m, r0, r1);
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
	struct fan *f;
	uint64_t r0, r1, r;
	int bad = 0;

	io->done = 0;
	/* lease=on: a write is sent nowhere without the lease, and a read is
	 * served only while this node may take its copy for the volume's
	 * (lease.c: held or failed there otherwise) */
	if (l->opts.lease && io->op != LL_OP_FADVISE && ll_lease_hold_submit(m, io, local_fault))
		return;
	f = calloc(1, sizeof(*f));
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
		mirror_copy_submit(m, &f->local);
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
	if (l->opts.lease && io->op != LL_OP_DATASYNC && m->term_epoch != l->lease.epoch) {
		m->term_epoch = l->lease.epoch;		/* a new owner's term */
		f->map_need = ll_map_new_term(m, m->term_epoch);
	}
	if (io->op != LL_OP_DATASYNC) {
		f->e0 = (io->off - m->image->data_offset) >> m->al_shift;
		f->e1 = io->len ? (io->off - m->image->data_offset + io->len - 1) >> m->al_shift : f->e0;
		ll_al_admit(f);
		return;
	}
	ll_fan_go(f);
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
void ll_fan_go(struct fan *f)
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
				uint64_t need = ll_map_leg_missed(g, r0, r1);

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
				uint64_t need = ll_map_leg_missed(g, r0, r1);

				if (need > f->map_need)
					f->map_need = need;
			}
			continue;
		}
		f->pending++;
		ll_conn_fd_update(&g->conn);
	}
	if (m->absent && io->op != LL_OP_DATASYNC) {
		uint64_t need = ll_map_absent_missed(m, r0, r1);

		if (need > f->map_need)
			f->map_need = need;
	}
	if (f->local_fault) {
		f->local.res = -EIO;
		ll_later(l, &f->local);
		return;
	}
	mirror_copy_submit(m, &f->local);
}

/* The leg flushed, or what it took unflushed is in the map now. */
void ll_fan_unsynced_clear(struct ll_leg *g)
{
	memset(g->unsynced[0], 0, (g->m->nregions + 7) / 8);
	memset(g->unsynced[1], 0, (g->m->nregions + 7) / 8);
	g->flushing = 0;
}
