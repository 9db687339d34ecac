// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mirror_resync.c: bringing a returning leg up to date: the regions it
 * lacks are copied from the local image, adjacent ones together (up to
 * LL_RESYNC_MAX), each copy with its range held exclusively so no new write
 * interleaves, at most resync_rate bytes a second; online verify, which compares each region of a leg with this
 * copy's by SHA-256 (OpenSSL) and resyncs the regions that differ; and the
 * status file an operator reads the progress from.
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

#include <openssl/evp.h>

#include "mirror_int.h"

/* ---- resync ------------------------------------------------------------- */

void ll_resync_next(struct ll_leg *g);

/* The region's range is held: read it from this copy into g->buf. */
static void read_granted(struct ll_range *rg)
{
	struct ll_leg *g = (struct ll_leg *)((char *)rg - offsetof(struct ll_leg, range));
	struct ll_lu *l = g->m->l;

	g->rd.op = LL_OP_READ;
	g->rd.flags = 0;
	g->rd.fd = g->m->io_fd;
	g->rd.buf = g->buf;
	g->rd.off = g->m->data_offset + g->copy_start;
	g->rd.len = g->copy_len;
	l->engine.ops->submit(&l->engine, &g->rd);
}

/*
 * Hold [start, start+len) of the volume exclusively (no write lands in it
 * meanwhile), then read it from this copy; done runs with the range held,
 * and the work ends with let_go().  One such job per leg at a time.  The
 * LUN's commands lock LUN offsets: what is held is the part of the range
 * the LUN serves (window, extents), at its place in the LUN; a part it
 * does not serve has no writer to keep out.
 */
static void hold_and_read(struct ll_leg *g, uint64_t start, uint64_t len,
			  void (*done)(struct ll_io *))
{
	struct ll_mirror *m = g->m;

	g->copying = 1;
	g->copy_start = start;
	g->copy_len = len;
	g->range.exclusive = true;
	g->range.grant = read_granted;
	g->rd.complete = done;
	if (!ll_range_in_lun(m->win_off, m->win_len, m->lun_start, start, len, &g->range)) {
		g->range.start = g->range.end = 0;	/* nothing held */
		read_granted(&g->range);
		return;
	}
	if (ll_range_acquire(&m->l->ranges, &g->range))
		read_granted(&g->range);
}

static void let_go(struct ll_leg *g)
{
	g->copying = 0;
	if (g->range.end > g->range.start)
		ll_range_release(&g->m->l->ranges, &g->range);
}

static void sync_done(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	struct ll_image *im = m->image;
	uint64_t ms = ll_now_ms() - g->sync_start, r;
	unsigned int i;
	int all_up = 1;

	g->state = LEG_UP;
	leg_err(g, "resync done: copied %" PRIu64 " bytes (%" PRIu64 " regions) in %" PRIu64
		" ms; the leg is up to date\n", g->copied, g->copied >> m->shift, ms);
	ll_leg_store_sb(g, im->gen_current);
	for (i = 0; i < m->nlegs; i++)
		if (m->leg[i].state != LEG_UP)
			all_up = 0;
	if (!all_up)
		return;
	/* every leg has everything: the map and the bitmap generation go */
	for (r = 0; r < m->nregions; r++)
		if (map_test(m->dirty, r))
			map_clear(m->dirty, r);
	ll_mirror_persist(m, 0, m->nregions - 1);
	if (im->gen_bitmap) {
		im->gen_bitmap = 0;
		ll_mirror_store_sb(m);
	}
}

static int copy_send(struct ll_leg *g);

static void region_copied(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct ll_mirror *m = g->m;
	uint64_t r, r0 = g->copy_start >> m->shift, r1 = (g->copy_start + g->copy_len - 1) >> m->shift;

	if (g->iscsi == iscsi && ll_leg_ua_retry(g, status, data, &g->ua_tries)) {
		scsi_free_scsi_task(data);
		if (copy_send(g))
			return;
		data = NULL;
		status = SCSI_STATUS_CANCELLED;
	}
	if (data)
		scsi_free_scsi_task(data);
	let_go(g);
	if (g->iscsi != iscsi)
		return;
	if (status != SCSI_STATUS_GOOD) {
		ll_leg_down(g, "a resync write failed");
		return;
	}
	for (r = r0; r <= r1; r++)
		if (map_test(g->need, r)) {
			map_clear(g->need, r);
			g->need_count--;
		}
	g->copied += g->copy_len;
	if (!g->need_count)
		sync_done(g);
	else
		ll_resync_next(g);
}

static void region_read(struct ll_io *io)
{
	struct ll_leg *g = (struct ll_leg *)((char *)io - offsetof(struct ll_leg, rd));
	struct ll_mirror *m = g->m;

	if (io->res || !g->iscsi || g->dead || g->state != LEG_SYNCING) {
		if (io->res)
			leg_err(g, "resync: reading region %" PRIu64 " locally failed: %s\n",
				g->copy_start >> m->shift, strerror(-io->res));
		let_go(g);
		return;
	}
	g->ua_tries = 0;
	if (!copy_send(g)) {
		let_go(g);
		ll_leg_down(g, "cannot queue a resync write");
	}
}

/* Write what was read (g->rd) to the leg.  1 if it was queued. */
static int copy_send(struct ll_leg *g)
{
	if (!iscsi_write16_task(g->iscsi, g->lun, g->rd.off / 512, g->buf, (uint32_t)g->rd.len,
				512, 0, 0, 0, 0, 0, region_copied, g))
		return 0;
	ll_leg_fd_update(g);
	return 1;
}

/* Copy the leg's next missing region, if the rate allows. */
void ll_resync_next(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	uint64_t size = m->image->data_size, r, end, start, len, max;

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
	/* adjacent missing regions go together, up to LL_RESYNC_MAX, and
	 * under resync_rate= up to what a tick allows (the budget must be able
	 * to hold one copy) */
	max = LL_RESYNC_MAX;
	if (m->l->opts.resync_rate && m->l->opts.resync_rate * TICK_MS / 1000 < max)
		max = m->l->opts.resync_rate * TICK_MS / 1000;
	for (end = r + 1; end < m->nregions && map_test(g->need, end) &&
	     ((end + 1 - r) << m->shift) <= max && (end << m->shift) < size; end++)
		;
	len = (end << m->shift) - start;
	if (start + len > size)
		len = size - start;
	if (m->l->opts.resync_rate) {
		if (m->budget < len)
			return;
		m->budget -= len;
	}
	g->sync_pos = end;
	hold_and_read(g, start, len, region_read);
}

/* ---- verify ------------------------------------------------------------- */

static void verify_finish(struct ll_leg *g, const char *why)
{
	struct ll_mirror *m = g->m;

	g->verifying = 0;
	if (why) {
		leg_err(g, "verify stopped after %" PRIu64 " regions: %s\n", g->verify_count, why);
		return;
	}
	leg_err(g, "verify done: %" PRIu64 " regions compared, %" PRIu64 " differ%s\n",
		g->verify_count, g->verify_diff, g->verify_diff ?
		"; they are being resynced from this copy" : "");
	if (g->need_count && g->state == LEG_UP) {
		g->state = LEG_SYNCING;
		g->sync_pos = 0;
		g->copied = 0;
		g->sync_start = ll_now_ms();
		ll_resync_next(g);
	}
	(void)m;
}

static void verify_leg_read(struct iscsi_context *iscsi, int status, void *data, void *priv);

/* Read the region being verified from the leg.  1 if it was queued. */
static int verify_send(struct ll_leg *g)
{
	if (!iscsi_read16_task(g->iscsi, g->lun, g->rd.off / 512, (uint32_t)g->rd.len, 512,
			       0, 0, 0, 0, 0, verify_leg_read, g))
		return 0;
	ll_leg_fd_update(g);
	return 1;
}

static void verify_leg_read(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct ll_mirror *m = g->m;
	struct scsi_task *t = data;
	uint64_t r = g->copy_start >> m->shift, len = g->copy_len;
	uint8_t md[32];
	unsigned int mdlen = 0;

	if (g->iscsi == iscsi && ll_leg_ua_retry(g, status, t, &g->ua_tries)) {
		scsi_free_scsi_task(t);
		t = NULL;
		if (verify_send(g))
			return;
	}
	let_go(g);
	if (g->iscsi != iscsi || status != SCSI_STATUS_GOOD || !t || t->datain.size != (int)len) {
		if (t)
			scsi_free_scsi_task(t);
		verify_finish(g, "reading the leg failed");
		return;
	}
	EVP_Digest(t->datain.data, len, md, &mdlen, EVP_sha256(), NULL);
	scsi_free_scsi_task(t);
	g->verify_count++;
	if (memcmp(md, g->local_md, sizeof(md))) {
		g->verify_diff++;
		if (g->verify_diff <= 20)
			leg_err(g, "verify: region %" PRIu64 " (bytes %" PRIu64 "-%" PRIu64
				") differs from this copy\n", r, g->copy_start, g->copy_start + g->copy_len - 1);
		if (!map_test(g->need, r)) {
			map_set(g->need, r);
			g->need_count++;
		}
		if (!map_test(m->dirty, r)) {
			map_set(m->dirty, r);
			ll_mirror_persist(m, r, r);
		}
	}
	ll_verify_next(g);
}

static void verify_local_read(struct ll_io *io)
{
	struct ll_leg *g = (struct ll_leg *)((char *)io - offsetof(struct ll_leg, rd));
	unsigned int mdlen = 0;

	if (io->res || !g->iscsi || g->dead || g->state != LEG_UP) {
		let_go(g);
		verify_finish(g, io->res ? "reading this copy failed" : "the leg dropped");
		return;
	}
	EVP_Digest(g->buf, io->len, g->local_md, &mdlen, EVP_sha256(), NULL);
	g->ua_tries = 0;
	if (!verify_send(g)) {
		let_go(g);
		verify_finish(g, "cannot queue a read of the leg");
	}
}

/* Compare the leg's next region, if the rate allows. */
void ll_verify_next(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	uint64_t size = m->image->data_size, start = g->verify_pos << m->shift, len;

	if (!g->verifying || g->copying)
		return;
	if (g->state != LEG_UP) {
		verify_finish(g, "the leg is not up");
		return;
	}
	if (start >= size) {
		verify_finish(g, NULL);
		return;
	}
	len = size - start < (1ULL << m->shift) ? size - start : 1ULL << m->shift;
	if (m->l->opts.resync_rate) {
		if (m->budget < len)
			return;
		m->budget -= len;
	}
	g->verify_pos++;
	hold_and_read(g, start, len, verify_local_read);	/* then the leg's */
}

int ll_mirror_verify(struct ll_mirror *m)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (g->state != LEG_UP || g->verifying)
			continue;
		g->verifying = 1;
		g->verify_pos = g->verify_count = g->verify_diff = 0;
		leg_err(g, "verify started\n");
		ll_verify_next(g);
		n++;
	}
	return n;
}

/* ---- status ------------------------------------------------------------- */

void ll_mirror_write_status(struct ll_mirror *m)
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
	ll_image_id_hex(m->image->volume_id, id);
	fprintf(f, "lun tid=%d lun=%" PRIu64, m->l->lu->tgt->tid, m->l->lu->lun);
	if (m->set)
		fprintf(f, " extent=%u", m->set + 1);
	fprintf(f, " image=%s volume=%s generation=%016" PRIx64 " bitmap_generation=%016" PRIx64
		" tgtd=%d\n", m->path, id, m->image->gen_current, m->image->gen_bitmap,
		(int)getpid());
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];
		uint64_t left = g->need_count << m->shift, ms = ll_now_ms() - g->sync_start;
		uint64_t rate = g->state == LEG_SYNCING && ms ? g->copied * 1000 / ms : 0;

		fprintf(f, "leg %u url=%s state=%s", i + 1, g->public_url, ll_leg_state_name[g->state]);
		if (g->state == LEG_SYNCING)
			fprintf(f, " copied=%" PRIu64 " left=%" PRIu64 " rate=%" PRIu64
				"B/s eta=%" PRIu64 "s", g->copied, left, rate,
				rate ? left / rate : 0);
		else if (g->verifying)
			fprintf(f, " verifying=%" PRIu64 "/%" PRIu64 " differ=%" PRIu64,
				g->verify_count, (uint64_t)((m->image->data_size + (1ULL << m->shift) - 1)
				>> m->shift), g->verify_diff);
		else
			fprintf(f, " out_of_date=%" PRIu64, left);
		if (g->state == LEG_DOWN || g->state == LEG_REFUSED)
			fprintf(f, " error=\"%s\"", g->why);
		fputc('\n', f);
	}
	if (fclose(f) == 0)
		rename(tmp, m->status_path);
}
