// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * verify.c: online verify (verify=start): each region of a leg that is up
 * is compared with this copy's by SHA-256 (OpenSSL), one region at a time
 * at resync_rate, with the region's range held so that no write lands in
 * it meanwhile.  A region that differs goes into the map and what the leg
 * lacks, the leg's superblock says "not in sync" (generation 0) until it
 * is resynced, and once the pass ends the leg is resynced from this copy
 * (mirror_resync.c).  It owns the legs' verify fields (verifying,
 * verify_pos, verify_count, verify_diff) and uses the copy jobs of
 * mirror_resync.c (ll_copy_*).
 */
#define _GNU_SOURCE
#include <string.h>

#include <openssl/evp.h>

#include "mirror_int.h"

/* ---- verify ------------------------------------------------------------- */

/* One region at a time, with job 0. */
static void verify_finish(struct ll_leg *g, const char *why)
{
	g->verifying = 0;
	ll_copy_free_bufs(g);
	if (why) {
		leg_warn(g, "verify stopped after %" PRIu64 " regions: %s\n", g->verify_count, why);
		return;
	}
	g->verifies++;
	g->verified = g->verify_count;
	g->verify_differed = g->verify_diff;
	leg_info(g, "verify done: %" PRIu64 " regions compared, %" PRIu64 " differ%s\n",
		g->verify_count, g->verify_diff, g->verify_diff ?
		"; they are being resynced from this copy" : "");
	if (g->need_count && g->state == LEG_UP) {
		ll_leg_set_state(g, LEG_SYNCING, "verify found %" PRIu64 " region(s) that differ",
				 g->verify_diff);
		ll_resync_start(g, 0);
	}
}

static void verify_leg_read(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_copy *c = priv;
	struct ll_leg *g = c->g;
	struct ll_mirror *m = g->m;
	struct scsi_task *t = data;
	uint64_t r = c->start >> m->shift, len = c->len, start = c->start;
	uint8_t md[32];
	unsigned int mdlen = 0;
	int again;

	t = ll_copy_leg_answer(c, iscsi, status, t, verify_leg_read, &again);
	if (again)
		return;
	ll_copy_let_go(c);
	if (!t) {
		verify_finish(g, "reading the leg failed");
		return;
	}
	EVP_Digest(t->datain.data, len, md, &mdlen, EVP_sha256(), NULL);
	scsi_free_scsi_task(t);
	g->verify_count++;
	if (memcmp(md, c->local_md, sizeof(md))) {
		if (!g->verify_diff++) {
			/* it no longer holds what its generation says: until it is
			 * resynced, its superblock says "not consistent", so that
			 * no one takes it for in sync (a leg promoted meanwhile,
			 * say) */
			leg_warn(g, "verify: the leg differs from this copy; its superblock says it is "
				"not in sync (generation 0) until the regions are resynced\n");
			ll_leg_store_sb(g, 0);
		}
		if (g->verify_diff <= 20)
			leg_warn(g, "verify: region %" PRIu64 " (bytes %" PRIu64 "-%" PRIu64
				") differs from this copy\n", r, start, start + len - 1);
		ll_map_leg_differs(g, r);
	}
	ll_verify_next(g);
}

static void verify_local_read(struct ll_io *io)
{
	struct ll_copy *c = ll_copy_of_read(io);
	struct ll_leg *g = c->g;
	unsigned int mdlen = 0;

	if (io->res || !g->conn.iscsi || g->conn.dead || g->state != LEG_UP) {
		ll_copy_let_go(c);
		verify_finish(g, io->res ? "reading this copy failed" : "the leg dropped");
		return;
	}
	EVP_Digest(c->buf, io->len, c->local_md, &mdlen, EVP_sha256(), NULL);
	if (!ll_copy_leg_read(c, verify_leg_read)) {
		ll_copy_let_go(c);
		verify_finish(g, "cannot queue a read of the leg");
	}
}

/* Compare the leg's next region, if the rate allows. */
void ll_verify_next(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	uint64_t size = m->size, start = g->verify_pos << m->shift, len;
	struct ll_copy *c;

	if (!g->verifying || g->copying || m->closing)
		return;
	if (g->state != LEG_UP) {
		verify_finish(g, "the leg is not up");
		return;
	}
	/* a stale region of this copy is repaired from a leg, not compared */
	while (start < size && stale_at(m, g->verify_pos))
		start = ++g->verify_pos << m->shift;
	if (start >= size) {
		verify_finish(g, NULL);
		return;
	}
	len = size - start < (1ULL << m->shift) ? size - start : 1ULL << m->shift;
	c = ll_copy_idle(g, 1);
	if (!c || !ll_resync_afford(m, len))
		return;
	g->verify_pos++;
	ll_copy_hold_and_read(c, start, len, verify_local_read);	/* then the leg's */
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
		leg_info(g, "verify started\n");
		ll_verify_next(g);
		n++;
	}
	return n;
}
