// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * status.c: the status file of a mirrored set, /run/lunlink/cPORT-tTID-lLUN
 * [-eN].status, rewritten whole (a temporary file renamed over it) once a
 * second by the tick and at open: the volume and this copy's generations,
 * the write-ownership lease (lease=on), each leg's state, its resync's progress or verify's, the copies recorded
 * that no leg is, and this copy's stale regions and error counts.
 * lunlink-status reads it (doc/lunlink-status.8 names every field; t0200
 * checks that it does).  It writes nothing else and owns nothing but its
 * path and when it was last written.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "mirror_int.h"

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
	fprintf(f, " image=%s volume=%s copy=%016" PRIx64 " generation=%016" PRIx64
		" bitmap_generation=%016" PRIx64 " tgtd=%d", m->ext->path, id,
		m->image->copy_id, m->image->gen_current, m->image->gen_bitmap, (int)getpid());
	if (m->l->opts.lease) {		/* lease=on: the write-ownership lease */
		const struct ll_lease *ls = &m->l->lease;
		uint64_t now = ll_now_ms();

		fprintf(f, " lease=%s lease_epoch=%" PRIu64 " lease_left_ms=%" PRIu64
			" lease_held_writes=%u lease_failed_writes=%" PRIu64,
			ll_lease_word(m->l, now), ls->epoch,
			ls->deadline > now && !ls->deposed ? ls->deadline - now : 0,
			m->lw_count, m->lease_errs.n);
		if (ls->gen_check)	/* :GENERATION: the one the manager recorded */
			fprintf(f, " lease_generation=%016" PRIx64, ls->gen_confirmed);
	}
	fputc('\n', f);
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
				g->verify_count, (uint64_t)((m->size + (1ULL << m->shift) - 1)
				>> m->shift), g->verify_diff);
		else
			fprintf(f, " out_of_date=%" PRIu64, left);
		/* what its last resync sent: data read here, holes unmapped
		 * (or zeros written); 0 and 0 for a leg that needed none */
		fprintf(f, " resync_data=%" PRIu64 " resync_holes=%" PRIu64, g->data, g->holes);
		/* what its last probe found and did, its resyncs and verifies
		 * finished, and its drops, since the LUN was opened */
		fprintf(f, " verdict=%s joined=%s own_regions=%" PRIu64 " resync_regions=%" PRIu64
			" resyncs=%" PRIu64 " resync_bytes=%" PRIu64 " resync_flushed=%d drops=%"
			PRIu64 " verifies=%" PRIu64 " verified=%" PRIu64 " verify_differed=%" PRIu64,
			ll_leg_verdict_name(g), ll_leg_joined_name[g->joined], g->own_regions,
			g->resync_regions, g->resyncs, g->resync_bytes, g->resync_flushed, g->drops,
			g->verifies, g->verified, g->verify_differed);
		if (g->copy_id)
			fprintf(f, " copy=%016" PRIx64, g->copy_id);
		if (g->state == LEG_DOWN || g->state == LEG_REFUSED)
			fprintf(f, " error=\"%s\"", g->why);
		fputc('\n', f);
	}
	for (i = 0; i < m->image->ncopies; i++) {
		uint64_t id = m->image->copies[i];

		if (ll_copy_absent(m, id))
			fprintf(f, "copy %016" PRIx64 " state=absent (recorded with this copy, no "
				"leg of mirror= is it%s; its misses are kept in the map; "
				"forget=%016" PRIx64 " if it is gone for good)\n", id,
				ll_legs_probed(m) ? "" : " as far as the legs probed so far show",
				id);
	}
	fprintf(f, "local stale_regions=%" PRIu64 " read_errors=%" PRIu64 " write_errors=%" PRIu64
		" metadata_write_errors=%" PRIu64 " refused_writes=%" PRIu64 " unrecorded_writes=%"
		PRIu64 " repaired=%" PRIu64 " repair_errors=%" PRIu64 " al_recovered=%" PRIu64 "\n",
		m->bad_count, m->read_errs.n, m->write_errs.n, m->meta_errs.n, m->refused.n,
		m->unrecorded.n, m->repaired, m->repair_errs.n, m->al_recovered);
	if (fclose(f) == 0)
		rename(tmp, m->status_path);
}
