// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mirror_resync.c: bringing a returning leg up to date: the regions it
 * lacks are copied from the local image, adjacent ones together (up to
 * LL_RESYNC_MAX), up to LL_RESYNC_JOBS copies in flight, each with its range
 * held exclusively so no new write interleaves, at most resync_rate bytes
 * a second (regions that are holes in this copy's file go as WRITE SAME
 * with UNMAP, or zeros to a leg that cannot unmap: a first sync of a
 * sparse image sends only its data); and the repair of this copy's stale
 * regions from a leg.  The copy jobs (ll_copy_*: a range held, read here
 * or from a leg) and the resync_rate budget serve verify.c too.
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
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "mirror_int.h"

/* ---- copy jobs ---------------------------------------------------------- */

/* The job's range is held: read it from this copy into its buffer. */
static void read_granted(struct ll_range *rg)
{
	struct ll_copy *c = (struct ll_copy *)((char *)rg - offsetof(struct ll_copy, range));
	struct ll_mirror *m = c->g->m;

	c->rd.op = LL_OP_READ;
	c->rd.flags = 0;
	c->rd.fd = mirror_io_fd(m);
	c->rd.buf = c->buf;
	c->rd.off = m->image->data_offset + c->start;
	c->rd.len = c->len;
	mirror_copy_submit(m, &c->rd);
}

/* An idle job of the leg, with its buffer; NULL if none (or no memory). */
struct ll_copy *ll_copy_idle(struct ll_leg *g, unsigned int max_jobs)
{
	unsigned int i;
	void *p;

	for (i = 0; i < max_jobs && i < LL_RESYNC_JOBS; i++) {
		struct ll_copy *c = &g->job[i];

		if (c->busy)
			continue;
		if (!c->buf) {
			if (posix_memalign(&p, 4096, g->m->image->region_size > LL_RESYNC_MAX ?
					   g->m->image->region_size : LL_RESYNC_MAX))
				return NULL;	/* the next tick tries again */
			c->buf = p;
		}
		c->g = g;
		return c;
	}
	return NULL;
}

/* Buffers go once the leg is idle: a mirror at rest holds none. */
void ll_copy_free_bufs(struct ll_leg *g)
{
	for (unsigned int i = 0; i < LL_RESYNC_JOBS; i++)
		if (!g->job[i].busy) {
			free(g->job[i].buf);
			g->job[i].buf = NULL;
		}
}

/*
 * Hold [start, start+len) of the volume exclusively (no write lands in it
 * meanwhile), then read it from this copy; done runs with the range held,
 * and the job ends with ll_copy_let_go().  The LUN's commands lock LUN offsets:
 * what is held is the part of the range the LUN serves (window, extents),
 * at its place in the LUN; a part it does not serve has no writer to keep
 * out.
 */
static void hold(struct ll_copy *c, uint64_t start, uint64_t len,
		 void (*granted)(struct ll_range *))
{
	struct ll_mirror *m = c->g->m;

	c->busy = 1;
	c->g->copying++;
	c->ua_tries = 0;
	c->start = start;
	c->len = len;
	c->range.exclusive = true;
	c->range.grant = granted;
	if (!ll_range_in_lun(m->ext->file_off - m->image->data_offset, m->ext->len,
			     m->ext->start, start, len, &c->range)) {
		c->range.start = c->range.end = 0;	/* nothing held */
		granted(&c->range);
		return;
	}
	if (ll_range_acquire(&m->l->ranges, &c->range))
		granted(&c->range);
}

void ll_copy_hold_and_read(struct ll_copy *c, uint64_t start, uint64_t len,
			  void (*done)(struct ll_io *))
{
	c->rd.complete = done;
	hold(c, start, len, read_granted);
}

void ll_copy_let_go(struct ll_copy *c)
{
	c->busy = 0;
	c->g->copying--;
	if (c->range.end > c->range.start)
		ll_range_release(&c->g->m->l->ranges, &c->range);
}

/* Read the job's range from the leg (verify, repair).  1 if it was queued. */
int ll_copy_leg_read(struct ll_copy *c, iscsi_command_cb cb)
{
	struct ll_leg *g = c->g;

	if (!iscsi_read16_task(g->conn.iscsi, g->conn.lun, (g->m->image->data_offset + c->start) / 512,
			       (uint32_t)c->len, 512, 0, 0, 0, 0, 0, cb, c))
		return 0;
	ll_conn_fd_update(&g->conn);
	return 1;
}

/*
 * ll_copy_leg_read's answer: the task if it holds the whole range (the caller
 * frees it), else NULL; a unit attention sends the read again, and then
 * *again is set (the answer is still to come).
 */
struct scsi_task *ll_copy_leg_answer(struct ll_copy *c, struct iscsi_context *iscsi,
					 int status, struct scsi_task *t, iscsi_command_cb cb,
					 int *again)
{
	struct ll_leg *g = c->g;

	*again = 0;
	if (g->conn.iscsi == iscsi && ll_leg_ua_retry(g, status, t, &c->ua_tries)) {
		scsi_free_scsi_task(t);
		*again = ll_copy_leg_read(c, cb);
		return NULL;
	}
	if (g->conn.iscsi != iscsi || status != SCSI_STATUS_GOOD || !t ||
	    t->datain.size != (int)c->len) {
		if (t)
			scsi_free_scsi_task(t);
		return NULL;
	}
	return t;
}

/* ---- resync ------------------------------------------------------------- */

/* The leg (now syncing) is resynced from here: what it lacks (need), all
 * of the data if all; the copying starts now, not at the next tick. */
void ll_resync_start(struct ll_leg *g, int all)
{
	g->full = all;
	g->sync_pos = 0;
	g->copied = g->data = g->holes = 0;
	g->sync_start = ll_now_ms();
	g->resync_regions = g->need_count;
	ll_resync_next(g);
}

static void sync_done(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	struct ll_image *im = m->image;
	uint64_t ms = ll_now_ms() - g->sync_start;
	int flushed = g->end_flush == END_FLUSH_DONE;

	ll_leg_set_state(g, LEG_UP, "its resync finished");
	g->resyncs++;
	g->resync_bytes = g->copied;
	g->resync_flushed = flushed;
	g->end_flush = END_FLUSH_NONE;
	ll_copy_free_bufs(g);
	leg_info(g, "resync done: copied %" PRIu64 " bytes (%" PRIu64 " regions) in %" PRIu64
		" ms%s; the leg is up to date (%" PRIu64 " bytes of data sent, %" PRIu64 " bytes "
		"of holes %s)\n", g->copied, g->copied >> m->shift, ms,
		flushed ? " and flushed on the leg" : "", g->data, g->holes,
		g->no_unmap ? "written as zeros" : "unmapped");
	ll_leg_store_sb(g, im->gen_current);
	ll_map_all_synced(m);
}

static void sync_flushed(struct iscsi_context *iscsi, int status, void *data, void *priv);
static void sync_flush_send(struct ll_leg *g);

/*
 * Every region is copied.  The copies went without FUA, so the leg first
 * flushes them to its disk: only then does it count as up to date (its
 * superblock says so, and the map may forget the regions).  A leg that
 * lost them from its page cache after that would hold older data than its
 * generation says, and nothing would say which.
 */
static void sync_end(struct ll_leg *g)
{
	if (g->end_flush == END_FLUSH_DONE || !g->copied) {
		sync_done(g);
		return;
	}
	if (g->end_flush == END_FLUSH_SENT)
		return;
	g->end_flush_ua = 0;
	sync_flush_send(g);
}

static void sync_flush_send(struct ll_leg *g)
{
	if (!iscsi_synchronizecache10_task(g->conn.iscsi, g->conn.lun, 0, 0, 0, 0, sync_flushed, g)) {
		ll_leg_unqueued(g, "the flush that ends its resync");
		return;
	}
	g->end_flush = END_FLUSH_SENT;
	ll_conn_fd_update(&g->conn);
}

static void sync_flushed(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;

	if (g->conn.iscsi != iscsi || g->end_flush != END_FLUSH_SENT) {
		if (data)
			scsi_free_scsi_task(data);
		return;			/* a connection since gone */
	}
	g->end_flush = END_FLUSH_NONE;
	if (ll_leg_ua_retry(g, status, data, &g->end_flush_ua)) {
		scsi_free_scsi_task(data);
		sync_flush_send(g);
		return;
	}
	if (status != SCSI_STATUS_GOOD)
		ll_leg_failed(g, iscsi, "the flush that ends its resync", status, data);
	else
		g->end_flush = END_FLUSH_DONE;
	if (data)
		scsi_free_scsi_task(data);
	ll_resync_next(g);
}

static int copy_send(struct ll_copy *c);

static void region_copied(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_copy *c = priv;
	struct ll_leg *g = c->g;
	struct ll_mirror *m = g->m;
	uint64_t r, r0 = c->start >> m->shift, r1 = (c->start + c->len - 1) >> m->shift;

	if (g->conn.iscsi == iscsi && ll_leg_ua_retry(g, status, data, &c->ua_tries)) {
		scsi_free_scsi_task(data);
		if (copy_send(c))
			return;
		ll_copy_let_go(c);
		ll_leg_unqueued(g, "a resync write");
		return;
	}
	ll_copy_let_go(c);
	if (status != SCSI_STATUS_GOOD)
		ll_leg_failed(g, iscsi, "a resync write", status, data);
	if (data)
		scsi_free_scsi_task(data);
	if (g->conn.iscsi != iscsi || status != SCSI_STATUS_GOOD)
		return;
	for (r = r0; r <= r1; r++)
		need_clear(g, r);
	g->copied += c->len;
	g->data += c->len;
	ll_resync_next(g);
}

static void region_read(struct ll_io *io)
{
	struct ll_copy *c = ll_copy_of_read(io);
	struct ll_leg *g = c->g;

	if (io->res || !g->conn.iscsi || g->conn.dead || g->state != LEG_SYNCING) {
		if (io->res)
			leg_err(g, "resync: reading region %" PRIu64 " locally failed: %s\n",
				c->start >> g->m->shift, strerror(-io->res));
		ll_copy_let_go(c);
		return;
	}
	if (g->m->l->fault & LL_FAULT_SLOW_RESYNC) {
		c->parked = 1;		/* ll_resync_unpark sends it */
		return;
	}
	if (!copy_send(c)) {
		ll_copy_let_go(c);
		ll_leg_unqueued(g, "a resync write");
	}
}

/*
 * fault=slow-resync: the copies read since the last tick go to the leg now
 * (with their range still held), or are dropped with it if the leg left
 * meanwhile (its regions stay missing).  closing: drop them all.
 */
void ll_resync_unpark(struct ll_leg *g, int closing)
{
	for (unsigned int i = 0; i < LL_RESYNC_JOBS; i++) {
		struct ll_copy *c = &g->job[i];

		if (!c->busy || !c->parked)
			continue;
		c->parked = 0;
		if (closing || !g->conn.iscsi || g->conn.dead || g->state != LEG_SYNCING) {
			ll_copy_let_go(c);
		} else if (!copy_send(c)) {
			ll_copy_let_go(c);
			ll_leg_unqueued(g, "a resync write");
		}
	}
}

/* Write what the job read to the leg.  1 if it was queued. */
static int copy_send(struct ll_copy *c)
{
	struct ll_leg *g = c->g;

	/* c->rd's offset went down the copy's layers: the job's own */
	if (!iscsi_write16_task(g->conn.iscsi, g->conn.lun, (g->m->image->data_offset + c->start) / 512,
				c->buf, (uint32_t)c->len,
				512, 0, 0, 0, 0, 0, region_copied, c))
		return 0;
	ll_conn_fd_update(&g->conn);
	return 1;
}

/* ---- holes ---------------------------------------------------------------- */

/*
 * A region that is a hole in this copy's file (never written, or punched)
 * reads as zeros: the leg gets it without a read here or the data on the
 * wire, as one WRITE SAME of a zero block with the UNMAP bit over many
 * regions (which reads back as zeros whether the leg unmaps or writes
 * them), or, to a leg that has no logical block provisioning, as zeros
 * written (what a resync sent before it knew holes).  The file system
 * says where the holes are (SEEK_DATA, SEEK_HOLE); one that cannot say
 * (a block device) has none.  The plan is made before the range is held
 * and checked again once it is: a write between is copied as data.
 */

/* Where this copy's data goes on from volume offset off: the data size if
 * only a hole follows; off if the file system cannot say. */
static uint64_t data_from(struct ll_mirror *m, uint64_t off)
{
	return ll_layer_seek(m->copy, off, m->size, SEEK_DATA);
}

/* Where the hole after volume offset off starts: the data size if none. */
static uint64_t hole_from(struct ll_mirror *m, uint64_t off)
{
	return ll_layer_seek(m->copy, off, m->size, SEEK_HOLE);
}

/* Region e is a hole here, whole (within the data), if data starts only
 * at or after data_at. */
static int whole_hole(const struct ll_mirror *m, uint64_t e, uint64_t data_at)
{
	uint64_t end = (e + 1) << m->shift, size = m->size;

	return (e << m->shift) < size && (end < size ? end : size) <= data_at;
}

/* The most one copy job may carry under resync_rate= (a tick's worth). */
static uint64_t rate_max(const struct ll_mirror *m, uint64_t max)
{
	if (m->l->opts.resync_rate && m->l->opts.resync_rate * TICK_MS / 1000 < max)
		max = m->l->opts.resync_rate * TICK_MS / 1000;
	return max;
}

/*
 * Region r, which the leg lacks, and the regions after it that the leg
 * lacks too, while they are whole holes here (and not stale): their
 * length in bytes, *end the region after; 0 if region r holds data.
 */
static uint64_t hole_span(struct ll_leg *g, uint64_t r, uint64_t *end)
{
	struct ll_mirror *m = g->m;
	uint64_t start = r << m->shift, size = m->size, d = data_from(m, start), e;
	uint64_t max = g->no_unmap ? rate_max(m, LL_RESYNC_MAX) : LL_RESYNC_HOLE_MAX;

	if (!whole_hole(m, r, d))
		return 0;
	for (e = r + 1; e < m->nregions && map_test(g->need, e) && !stale_at(m, e) &&
	     whole_hole(m, e, d) && ((e + 1 - r) << m->shift) <= max; e++)
		;
	*end = e;
	return ((e << m->shift) < size ? e << m->shift : size) - start;
}

/*
 * A data copy from region r of len bytes ends before the first region in
 * it that is a whole hole here (that one goes as a hole).  The new length.
 */
static uint64_t data_span(struct ll_mirror *m, uint64_t r, uint64_t len, uint64_t *end)
{
	uint64_t start = r << m->shift, stop = start + len, h = start, hr;

	for (int tries = 0; tries < 16; tries++) {
		h = hole_from(m, h);
		if (h >= stop)
			break;
		hr = (h + (1ULL << m->shift) - 1) >> m->shift;
		if (hr <= r)
			hr = r + 1;
		if ((hr << m->shift) >= stop)
			break;
		h = data_from(m, hr << m->shift);
		if (whole_hole(m, hr, h)) {
			*end = hr;
			return (hr << m->shift) - start;
		}
	}
	return len;
}

static int hole_send(struct ll_copy *c);

static void hole_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_copy *c = priv;
	struct ll_leg *g = c->g;
	struct ll_mirror *m = g->m;
	struct scsi_task *t = data;
	uint64_t r, r0 = c->start >> m->shift, r1 = (c->start + c->len - 1) >> m->shift;

	if (g->conn.iscsi == iscsi && ll_leg_ua_retry(g, status, t, &c->ua_tries)) {
		scsi_free_scsi_task(t);
		if (hole_send(c))
			return;
		ll_copy_let_go(c);
		ll_leg_unqueued(g, "a resync WRITE SAME");
		return;
	}
	ll_copy_let_go(c);
	if (g->conn.iscsi == iscsi && !g->no_unmap && status == SCSI_STATUS_CHECK_CONDITION && t &&
	    t->sense.key == SCSI_SENSE_ILLEGAL_REQUEST) {
		/* it says it unmaps but takes no UNMAP bit: zeros from now on;
		 * the regions are still lacking, and planned again */
		leg_warn(g, "it refused WRITE SAME with UNMAP (sense %x/%02x/%02x): the holes of "
			"this copy go to it as zeros written\n", t->sense.key,
			(t->sense.ascq >> 8) & 0xff, t->sense.ascq & 0xff);
		g->no_unmap = 1;
		scsi_free_scsi_task(t);
		ll_resync_next(g);
		return;
	}
	if (status != SCSI_STATUS_GOOD)
		ll_leg_failed(g, iscsi, g->no_unmap ? "a resync write of zeros" :
			      "a resync WRITE SAME with UNMAP", status, t);
	if (t)
		scsi_free_scsi_task(t);
	if (g->conn.iscsi != iscsi || status != SCSI_STATUS_GOOD)
		return;
	for (r = r0; r <= r1; r++)
		need_clear(g, r);
	g->copied += c->len;
	g->holes += c->len;
	ll_resync_next(g);
}

/* The job's range to the leg as a hole.  1 if it was queued. */
static int hole_send(struct ll_copy *c)
{
	static uint8_t zeros[LL_RESYNC_MAX];	/* never written: the zeros sent */
	struct ll_leg *g = c->g;
	uint64_t lba = (g->m->image->data_offset + c->start) / 512;
	struct scsi_task *t;

	if (g->no_unmap)
		t = iscsi_write16_task(g->conn.iscsi, g->conn.lun, lba, zeros, (uint32_t)c->len, 512, 0, 0,
				       0, 0, 0, hole_done, c);
	else
		t = iscsi_writesame16_task(g->conn.iscsi, g->conn.lun, lba, zeros, 512,
					   (uint32_t)(c->len / 512), 0, 1, 0, 0, hole_done, c);
	if (!t)
		return 0;
	ll_conn_fd_update(&g->conn);
	return 1;
}

/* The hole's range is held: still a hole (no write came between)? Then
 * to the leg; else its regions are planned again, as data. */
static void hole_granted(struct ll_range *rg)
{
	struct ll_copy *c = (struct ll_copy *)((char *)rg - offsetof(struct ll_copy, range));
	struct ll_leg *g = c->g;

	if (!g->conn.iscsi || g->conn.dead || g->state != LEG_SYNCING) {
		ll_copy_let_go(c);
		return;
	}
	if (data_from(g->m, c->start) < c->start + c->len ||
	    (g->no_unmap && c->len > LL_RESYNC_MAX)) {
		ll_copy_let_go(c);
		ll_resync_next(g);
		return;
	}
	if (!hole_send(c)) {
		ll_copy_let_go(c);
		ll_leg_unqueued(g, "a resync WRITE SAME");
	}
}

/*
 * One copy from region r on: r and the regions after it set in want (and
 * not stale here, with skip_stale) go together, up to LL_RESYNC_MAX, and under
 * resync_rate= up to what a tick allows (the budget must be able to hold
 * one copy), within the data.  Its length in bytes; *end: the region after.
 */
static uint64_t span_from(struct ll_mirror *m, uint64_t r, const uint8_t *want,
			  int skip_stale, uint64_t *end)
{
	uint64_t size = m->size, start = r << m->shift, max = rate_max(m, LL_RESYNC_MAX);
	uint64_t e;

	for (e = r + 1; e < m->nregions && map_test(want, e) && !(skip_stale && stale_at(m, e)) &&
	     ((e + 1 - r) << m->shift) <= max && (e << m->shift) < size; e++)
		;
	*end = e;
	return (e << m->shift) - start > size - start ? size - start : (e << m->shift) - start;
}

/* n ticks passed: resync_rate= allows that many ticks' worth more (up to
 * two ticks' and a region, so that an idle while does not make a burst). */
void ll_resync_budget(struct ll_mirror *m, uint64_t n)
{
	uint64_t add = m->l->opts.resync_rate * TICK_MS * n / 1000;

	if (!m->l->opts.resync_rate)
		return;
	m->budget += add;
	if (m->budget > 2 * add + (1ULL << m->shift))
		m->budget = 2 * add + (1ULL << m->shift);
}

/* Take len bytes from the resync_rate= budget; 0 if this tick has not enough. */
int ll_resync_afford(struct ll_mirror *m, uint64_t len)
{
	if (!m->l->opts.resync_rate)
		return 1;
	if (m->budget < len)
		return 0;
	m->budget -= len;
	return 1;
}

/*
 * The first region from r on that the leg lacks and this copy can give:
 * not a stale one (that waits for its repair from a leg that has it).
 * m->nregions if none; UINT64_MAX if none but stale ones.
 */
static uint64_t next_copyable(struct ll_leg *g, uint64_t r)
{
	struct ll_mirror *m = g->m;
	int stale = 0;

	for (; r < m->nregions; r++) {
		if (!map_test(g->need, r))
			continue;
		if (!stale_at(m, r))
			return r;
		stale = 1;
	}
	return stale ? UINT64_MAX : m->nregions;
}

/*
 * Start copying the leg's next missing regions, as many jobs as are idle
 * and the rate allows.  The scan goes on from where the last job started;
 * it starts over from the volume's start (for regions missed meanwhile)
 * only once no job is in flight, so no region is copied twice at once.
 */
void ll_resync_next(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	uint64_t size = m->size, r, end, start, len;
	struct ll_copy *c;

	while (g->state == LEG_SYNCING && !m->closing) {
		if (g->end_flush == END_FLUSH_SENT)
			return;		/* its answer goes on from here */
		if (!g->need_count) {
			if (!g->copying)
				sync_end(g);
			return;
		}
		r = next_copyable(g, g->sync_pos);
		if (r >= m->nregions) {
			if (g->copying)
				return;
			r = next_copyable(g, 0);
			if (r >= m->nregions) {
				if (r == UINT64_MAX)
					return;	/* what is left is stale here */
				g->need_count = 0;
				sync_end(g);
				return;
			}
		}
		start = r << m->shift;
		if (start >= size) {		/* past the data: nothing to copy */
			need_clear(g, r);
			g->sync_pos = r + 1;
			continue;
		}
		len = hole_span(g, r, &end);
		if (len) {
			/* no data crosses: an UNMAP costs the rate nothing */
			c = ll_copy_idle(g, LL_RESYNC_JOBS);
			if (!c || (g->no_unmap && !ll_resync_afford(m, len)))
				return;
			g->sync_pos = end;
			g->end_flush = END_FLUSH_NONE;
			hold(c, start, len, hole_granted);
			continue;
		}
		len = span_from(m, r, g->need, 1, &end);
		len = data_span(m, r, len, &end);
		c = ll_copy_idle(g, LL_RESYNC_JOBS);
		if (!c || !ll_resync_afford(m, len))
			return;
		g->sync_pos = end;
		g->end_flush = END_FLUSH_NONE;	/* a flush after this copy, then */
		ll_copy_hold_and_read(c, start, len, region_read);
	}
}

/* ---- repair: this copy's stale regions, from a leg that is up ---------- */

/*
 * A leg this copy's stale regions can be repaired from: one that is up, or
 * one being resynced that held our data before (not a fresh or discarded
 * one).  A syncing leg may lack a stale region too: when it dropped, what
 * it had taken without a flush was marked missing, to be safe; then its
 * version is still the newest there is (this copy failed to write it), and
 * after the repair the two agree.
 */
static int repair_source(const struct ll_leg *g)
{
	return !g->verifying && (leg_is(g, LEG_UP) || (leg_is(g, LEG_SYNCING) && !g->full));
}

static void repair_failed(struct ll_leg *g, uint64_t start, const char *why)
{
	struct ll_mirror *m = g->m;

	m->repair_retry_at = ll_now_ms() + LOCAL_MSG_MS;
	if (ll_local_say(m, &m->repair_errs))
		leg_err(g, "repairing this copy's stale region at offset %" PRIu64 " from the leg "
			"failed: %s; trying again in %d s\n", start, why, LOCAL_MSG_MS / 1000);
}

static void repair_written(struct ll_io *io)
{
	struct ll_copy *c = ll_copy_of_read(io);
	struct ll_leg *g = c->g;
	struct ll_mirror *m = g->m;
	uint64_t r, r0 = c->start >> m->shift, r1 = (c->start + c->len - 1) >> m->shift;

	ll_copy_let_go(c);
	if (io->res) {
		repair_failed(g, c->start, strerror(-io->res));
		return;
	}
	for (r = r0; r <= r1; r++) {
		m->repaired += stale_clear(m, r);
		/* a syncing source lacked nothing newer here: it is in step */
		need_clear(g, r);
	}
	ll_map_stale_changed(m);
	if (!m->bad_count) {
		ll_copy_free_bufs(g);
		leg_info(g, "this copy's stale regions are repaired from the leg (%" PRIu64
			" region(s) since it was opened)\n", m->repaired);
		return;
	}
	ll_repair_next(m);
}

static void repair_leg_read(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_copy *c = priv;
	struct ll_leg *g = c->g;
	struct ll_mirror *m = g->m;
	struct scsi_task *t;
	int again;

	t = ll_copy_leg_answer(c, iscsi, status, data, repair_leg_read, &again);
	if (again)
		return;
	if (!t) {
		ll_copy_let_go(c);
		repair_failed(g, c->start, "reading it from the leg failed");
		return;
	}
	memcpy(c->buf, t->datain.data, c->len);
	scsi_free_scsi_task(t);
	m->blank = 0;
	c->rd.op = LL_OP_WRITE;
	c->rd.flags = LL_IO_DSYNC;	/* on disk before the stale list says so */
	c->rd.fd = mirror_io_fd(m);
	c->rd.buf = c->buf;
	c->rd.off = m->image->data_offset + c->start;
	c->rd.len = c->len;
	c->rd.complete = repair_written;
	mirror_copy_submit(m, &c->rd);
}

/* The range is held (no write lands in it): read it from the leg. */
static void repair_granted(struct ll_range *rg)
{
	struct ll_copy *c = (struct ll_copy *)((char *)rg - offsetof(struct ll_copy, range));
	struct ll_leg *g = c->g;

	if (!repair_source(g) || g->m->closing) {
		ll_copy_let_go(c);		/* the next tick looks again */
		return;
	}
	if (!ll_copy_leg_read(c, repair_leg_read)) {
		ll_copy_let_go(c);
		repair_failed(g, c->start, "cannot queue a read of the leg");
	}
}

/*
 * Repair this copy's next stale regions (adjacent ones together, up to
 * LL_RESYNC_MAX) from a leg that is up, or else a syncing one that may
 * serve (repair_source), while it has no copy in flight: its range held, read
 * from the leg, written here with O_DSYNC, then off the stale list.  One
 * copy at a time, at resync_rate; not while fault=write makes local writes
 * fail.
 */
void ll_repair_next(struct ll_mirror *m)
{
	uint64_t size = m->size, r, end, start, len;
	struct ll_leg *g;
	struct ll_copy *c;

	if (!m->bad_count || m->closing || (m->l->fault & LL_FAULT_WRITE) ||
	    ll_now_ms() < m->repair_retry_at)
		return;
	g = NULL;		/* a source that is up, else any */
	for (unsigned int i = 0; i < m->nlegs; i++)
		if (repair_source(&m->leg[i]) && (!g || m->leg[i].state == LEG_UP))
			g = &m->leg[i];
	if (!g || g->copying)
		return;
	for (r = m->repair_pos; r < m->nregions && !map_test(m->local_bad, r); r++)
		;
	if (r >= m->nregions)
		for (r = 0; r < m->nregions && !map_test(m->local_bad, r); r++)
			;
	start = r << m->shift;
	if (r >= m->nregions || start >= size) {	/* nothing in the data */
		m->repair_pos = 0;
		return;
	}
	len = span_from(m, r, m->local_bad, 0, &end);
	c = ll_copy_idle(g, 1);
	if (!c || !ll_resync_afford(m, len))
		return;
	m->repair_pos = end;
	hold(c, start, len, repair_granted);
}
