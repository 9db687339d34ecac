// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mirror_resync.c: bringing a returning leg up to date: the regions it
 * lacks are copied one at a time from the local image, each with its range
 * held exclusively so no new write interleaves, at most resync_rate bytes a
 * second; and the status file an operator reads the progress from.
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

/* ---- resync ------------------------------------------------------------- */

void ll_resync_next(struct ll_leg *g);

static void sync_done(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	struct ll_image *im = &m->l->image;
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
		ll_leg_down(g, "a resync write failed");
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
		ll_resync_next(g);
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
		ll_leg_down(g, "cannot queue a resync write");
		return;
	}
	ll_leg_fd_update(g);
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
void ll_resync_next(struct ll_leg *g)
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
	ll_image_id_hex(m->l->image.volume_id, id);
	fprintf(f, "lun tid=%d lun=%" PRIu64 " image=%s volume=%s generation=%016" PRIx64
		" bitmap_generation=%016" PRIx64 "\n", m->l->lu->tgt->tid, m->l->lu->lun,
		m->l->path, id, m->l->image.gen_current, m->l->image.gen_bitmap);
	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];
		uint64_t left = g->need_count << m->shift, ms = ll_now_ms() - g->sync_start;
		uint64_t rate = g->state == LEG_SYNCING && ms ? g->copied * 1000 / ms : 0;

		fprintf(f, "leg %u url=%s state=%s", i + 1, g->public_url, ll_leg_state_name[g->state]);
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
