// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mirror_leg.c: a mirror's legs: connecting with libiscsi's async API (the
 * socket in tgtd's event loop), probing a leg's size and superblock, acting
 * on the verdict generation.c gives from the two superblocks (in sync,
 * behind by the dirty regions or whole, fresh, refused), and dropping it
 * when it fails.
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

#include "lunlink/generation.h"
#include "mirror_int.h"

/* ---- legs: states ----------------------------------------------------- */

const char *const ll_leg_state_name[] = { "down", "connecting", "syncing", "up", "refused" };

/* how a leg joined at its last probe (LEG_JOINED_*), for the status file */
const char *const ll_leg_joined_name[] = { "none", "in-sync", "map", "full" };

/* generation.c's verdicts, one word each, for the status file */
static const char *const verdict_word[] = {
	[LL_GEN_RAW] = "raw", [LL_GEN_DAMAGED] = "damaged", [LL_GEN_LAYOUT] = "layout",
	[LL_GEN_ITSELF] = "itself", [LL_GEN_FRESH] = "fresh", [LL_GEN_DISCARD] = "discard",
	[LL_GEN_BLANK] = "blank", [LL_GEN_FOREIGN] = "foreign",
	[LL_GEN_UNFINISHED] = "unfinished", [LL_GEN_CURRENT] = "current", [LL_GEN_MAP] = "map",
	[LL_GEN_EARLIER] = "earlier", [LL_GEN_NEWER] = "newer", [LL_GEN_SPLIT] = "split",
	[LL_GEN_UNRECORDED] = "unrecorded",
};
_Static_assert(sizeof(verdict_word) / sizeof(verdict_word[0]) == LL_GEN_UNRECORDED + 1,
	       "verdict_word has a word for each verdict");

/* The verdict on the leg at its last probe: "none" before one. */
const char *ll_leg_verdict_name(const struct ll_leg *g)
{
	return g->verdict > 0 &&
		(size_t)g->verdict <= sizeof(verdict_word) / sizeof(verdict_word[0]) ?
		verdict_word[g->verdict - 1] : "none";
}

/*
 * The changes a leg's state may make, from (row) to (column).  DOWN to
 * DOWN is no change (a connect that failed before it began); DOWN to
 * REFUSED is a URL that cannot be parsed; CONNECTING ends in UP, SYNCING,
 * REFUSED (the probe) or DOWN; a leg in sync may start syncing again
 * (verify found regions that differ); only a person (retry=legs,
 * resolve=discard-leg) takes a leg out of REFUSED, and only to DOWN, from
 * where it is probed again.
 */
static const unsigned char leg_may[][5] = {
	/*                  down conn sync up refused */
	[LEG_DOWN]       = { 1,   1,   0,   0,  1 },
	[LEG_CONNECTING] = { 1,   0,   1,   1,  1 },
	[LEG_SYNCING]    = { 1,   0,   0,   1,  0 },
	[LEG_UP]         = { 1,   0,   1,   0,  0 },
	[LEG_REFUSED]    = { 1,   0,   0,   0,  0 },
};
_Static_assert(sizeof(leg_may) / sizeof(leg_may[0]) == LEG_REFUSED + 1,
	       "leg_may has a row for each state");

/*
 * Every change of a leg's state after set up: checked against leg_may and
 * logged, one line naming the leg, both states and why.  A change the
 * table forbids is a bug in the mirror: it is logged as one, and made all
 * the same (the caller has acted on it already; refusing it would leave
 * the leg half in each state).
 */
void ll_leg_set_state(struct ll_leg *g, enum leg_state to, const char *fmt, ...)
{
	enum leg_state from = g->state;
	char why[sizeof(g->why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!leg_may[from][to])
		leg_err(g, "bug: state %s -> %s (%s) is not a change a leg makes; made anyway\n",
			ll_leg_state_name[from], ll_leg_state_name[to], why);
	else if (from != to)
		leg_info(g, "state %s -> %s: %s\n", ll_leg_state_name[from],
			ll_leg_state_name[to], why);
	g->state = to;
}

/* ---- legs: connection ------------------------------------------------- */

static void probe(struct ll_leg *g);

/*
 * A command to the leg (what: "a write", "READ CAPACITY", ...) did not
 * succeed: drop the leg, saying how it failed (timeout, lost connection,
 * the sense it answered, or libiscsi's error).  Nothing if the leg's
 * context is already another one.
 */
void ll_leg_failed(struct ll_leg *g, struct iscsi_context *iscsi, const char *what, int status,
		   struct scsi_task *t)
{
	char why[256];

	if (g->conn.iscsi != iscsi)
		return;
	if (status == SCSI_STATUS_RESERVATION_CONFLICT && g->m->l->opts.lease) {
		ll_leg_fenced_off(g, what);	/* a newer primary holds it */
		return;
	}
	ll_conn_describe(&g->conn, what, status, t, why, sizeof(why));
	ll_leg_down(g, why);
}

/*
 * lease=on: the leg answered what with RESERVATION CONFLICT, or its fence
 * found a newer epoch's key: this mirror is deposed (lease.c).  The leg is
 * disconnected, and is not marked out of date: nothing it missed goes into
 * the map, no new generation is made; it is connected again (and fenced)
 * only under a lease with a higher epoch.
 */
void ll_leg_fenced_off(struct ll_leg *g, const char *what)
{
	ll_lease_deposed(g, what);
	if (g->state == LEG_REFUSED || g->conn.dead)
		return;
	snprintf(g->why, sizeof(g->why), "deposed: it answered %s with RESERVATION CONFLICT "
		 "(a newer primary holds it)", what);
	ll_leg_set_state(g, LEG_DOWN, "%s", g->why);
	g->conn.dead = 1;
}

/* fence.c's fence of the leg is done: the probe follows the fence after a
 * login; else writes held for it may go. */
void ll_leg_fenced(struct ll_leg *g)
{
	if (g->fence_then_probe && g->state == LEG_CONNECTING) {
		g->fence_then_probe = 0;
		probe(g);
		return;
	}
	ll_lease_waiters_run(g->m);
}

/* A command could not even be queued: libiscsi says why. */
void ll_leg_unqueued(struct ll_leg *g, const char *what)
{
	char why[256];

	snprintf(why, sizeof(why), "cannot queue %s: %s", what,
		 g->conn.iscsi ? iscsi_get_error(g->conn.iscsi) : "no connection");
	ll_leg_down(g, why);
}

/* Drop the leg: it is out of date from now on.  Safe inside callbacks. */
void ll_leg_down(struct ll_leg *g, const char *why)
{
	if (g->state == LEG_REFUSED || g->conn.dead)
		return;
	why = ll_conn_plain(&g->conn, why);
	snprintf(g->why, sizeof(g->why), "%s", why);
	g->why[strcspn(g->why, "\r\n")] = '\0';	/* libiscsi's messages end in one */
	if ((g->state == LEG_UP || g->state == LEG_SYNCING) && g->m->l->lease.deposed) {
		/* no write is acknowledged any more: nothing to mark */
		leg_err(g, "disconnected: %s; this mirror is deposed, so the leg is not marked "
			"out of date\n", g->why);
	} else if (g->state == LEG_UP || g->state == LEG_SYNCING) {
		leg_err(g, "dropped: %s; the LUN goes on without it and the leg will be "
			"resynced when it returns\n", g->why);
		g->drops++;
		ll_map_leg_lost(g);
	}
	else
		leg_err(g, "cannot connect: %s; retrying in %u ms\n", g->why, g->backoff);
	ll_leg_set_state(g, LEG_DOWN, "%s", g->why);
	g->conn.dead = 1;
}

/* Refuse the leg: what, in a few words, for the state's log line; the
 * reason, with its cure, for the operator. */
static void leg_refuse(struct ll_leg *g, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void leg_refuse(struct ll_leg *g, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	leg_err(g, "refused: %s\n", g->why);
	g->split = 0;			/* the callers that refuse a split say so */
	ll_leg_set_state(g, LEG_REFUSED, "%s", what);
	g->conn.dead = 1;
}

void ll_leg_reap(struct ll_leg *g)
{
	ll_conn_close(&g->conn);
	g->retry_at = ll_now_ms() + g->backoff;
	g->backoff = g->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : g->backoff * 2;
}

static void connected(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;

	(void)data;
	if (g->conn.iscsi != iscsi)
		return;
	if (status != SCSI_STATUS_GOOD) {
		ll_leg_down(g, iscsi_get_error(iscsi));
		return;
	}
	if (g->m->l->opts.lease && g->m->l->lease.epoch) {
		ll_fence_start(g, 1);	/* fenced for the epoch before it is probed */
		return;
	}
	probe(g);
}

/* The connection broke under libiscsi (conn.c): the leg is dropped. */
void ll_leg_broke(struct ll_conn *c, const char *why)
{
	ll_leg_down(c->owner, why);
}

void ll_leg_connect(struct ll_leg *g)
{
	char why[256];
	int bad_url;

	ll_leg_set_state(g, LEG_CONNECTING, "logging in to its portal");
	g->verdict = 0;		/* this connection's probe says */
	g->fenced_epoch = g->fencing = 0;	/* a new login is a new registrant */
	g->joined = LEG_JOINED_NONE;
	g->own_regions = 0;
	if (!ll_conn_start(&g->conn, connected, g, &bad_url, why, sizeof(why)))
		return;
	if (bad_url)
		leg_refuse(g, "bad URL", "%s", why);
	else
		ll_leg_down(g, why);
}

/* ---- legs: probe, generations ------------------------------------------ */

/* A superblock on its way to a leg: its own buffer, until the leg has it
 * (libiscsi may send the data after the call that queued it returns, and
 * several legs and mirrors write theirs at once). */
struct sb_write {
	struct ll_leg *g;
	int counted;			/* in the mirror's legs_sb_out */
	void (*then)(struct ll_leg *g);	/* once the leg has it, if it does */
	uint8_t sb[LL_IMAGE_SB_SIZE];
};

static void leg_written_sb(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct sb_write *w = priv;
	struct ll_leg *g = w->g;
	int counted = w->counted;
	void (*then)(struct ll_leg *) = w->then;

	free(w);
	if (status != SCSI_STATUS_GOOD)
		ll_leg_failed(g, iscsi, "its superblock write", status, data);
	else if (then && g->conn.iscsi == iscsi && !g->conn.dead)
		then(g);
	if (data)
		scsi_free_scsi_task(data);
	if (counted)		/* answered, failed or cancelled: it is over */
		ll_map_leg_sb_done(g->m);
}

static int store_sb(struct ll_leg *g, uint64_t gen, int counted, void (*then)(struct ll_leg *));

/* Give the leg this copy's superblock, with generation gen (0: not yet
 * consistent, an initial sync under way). */
void ll_leg_store_sb(struct ll_leg *g, uint64_t gen)
{
	store_sb(g, gen, 0, NULL);
}

/* The same, counted in m->legs_sb_out until the leg answers; 1 if sent. */
int ll_leg_store_sb_counted(struct ll_leg *g, uint64_t gen)
{
	return store_sb(g, gen, 1, NULL);
}

static int store_sb(struct ll_leg *g, uint64_t gen, int counted, void (*then)(struct ll_leg *))
{
	struct ll_image im = *g->m->image;
	struct sb_write *w = malloc(sizeof(*w));

	if (!w) {
		ll_leg_down(g, "out of memory for its superblock write");
		return 0;
	}
	w->g = g;
	w->counted = counted;
	w->then = then;
	im.gen_current = gen;
	im.gen_bitmap = 0;
	im.blank_gen = 0;		/* a leg that takes writes is not blank */
	im.copy_id = g->copy_id;	/* the leg's own, never this copy's */
	g->id_unsaved = 0;
	im.flags &= ~(LL_IMAGE_F_FRESH | LL_IMAGE_F_OPEN | LL_IMAGE_F_PRIMARY |
		      LL_IMAGE_F_STALE_ALL);
	im.nstale = 0;			/* this copy's stale regions, not the leg's */
	ll_image_encode(&im, w->sb);
	if (!iscsi_write16_task(g->conn.iscsi, g->conn.lun, 0, w->sb, sizeof(w->sb), 512, 0, 0, 1, 0, 0,
				leg_written_sb, w)) {
		free(w);
		ll_leg_unqueued(g, "its superblock write");
		return 0;
	}
	ll_conn_fd_update(&g->conn);
	return 1;
}

static uint64_t data_region_count(struct ll_mirror *m)
{
	uint64_t size = m->size;

	return (size + (1ULL << m->shift) - 1) >> m->shift;
}

/* ---- the copies of the volume ------------------------------------------- */

/* The leg that holds copy id (as its last probe found), or NULL. */
static const struct ll_leg *copy_leg(const struct ll_mirror *m, uint64_t id)
{
	for (unsigned int i = 0; i < m->nlegs; i++)
		if (id && m->leg[i].copy_id == id)
			return &m->leg[i];
	return NULL;
}

/* Every leg has been probed (its copy is known). */
int ll_legs_probed(const struct ll_mirror *m)
{
	for (unsigned int i = 0; i < m->nlegs; i++)
		if (!m->leg[i].copy_id)
			return 0;
	return 1;
}

/* Copy id, recorded with this one, is neither this copy nor a leg's. */
int ll_copy_absent(const struct ll_mirror *m, uint64_t id)
{
	return id != m->image->copy_id && !copy_leg(m, id);
}

/*
 * Count the copies the superblock records that are neither this one nor
 * any leg's (as far as probes have shown: a leg not yet probed may be one
 * of them; meanwhile it is down, so its misses go into the map anyway).
 * Once every leg has been probed, the ones left are named in the log.
 */
void ll_mirror_copies_check(struct ll_mirror *m)
{
	const struct ll_image *im = m->image;
	char ids[LL_IMAGE_COPIES_MAX * 17 + 1];
	unsigned int i, n = 0, len = 0;

	ids[0] = '\0';
	for (i = 0; i < im->ncopies; i++) {
		if (!ll_copy_absent(m, im->copies[i]))
			continue;
		len += (unsigned int)snprintf(ids + len, sizeof(ids) - len, " %016" PRIx64,
					      im->copies[i]);
		n++;
	}
	m->absent = n;
	if (!n) {
		m->absent_said = 0;
		return;
	}
	if (m->absent_said || !ll_legs_probed(m))
		return;
	m->absent_said = 1;
	m_warn(m, "%u copy(ies) of the volume recorded with this one are not legs of "
	       "mirror=:%s. Each counts as a leg that is down: the writes it misses go into "
	       "the dirty-region map, so that, named in mirror= again, it is resynced by what "
	       "it missed. Forget one that is gone for good with: tgtadm --lld iscsi --mode "
	       "logicalunit --op update --tid %d --lun %" PRIu64 " --params forget=ID\n", n, ids,
	       m->l->lu->tgt->tid, m->l->lu->lun);
}

/*
 * Which copy the leg holds (the verdict's copy_id): its superblock's id, or
 * a new one if it has none (made by an older lunlink) or shares one with
 * this copy or another leg (a file copied whole).  A new id reaches the
 * leg's superblock when it joins.
 */
static void leg_copy(struct ll_leg *g, const struct ll_image *leg, const struct ll_gen_result *r)
{
	struct ll_mirror *m = g->m;

	g->probed_gen = leg->gen_current;
	if (r->copy_id == LL_GEN_ID_KEEP) {
		g->copy_id = leg->copy_id;
	} else {
		g->copy_id = ll_image_new_copy_id();
		g->id_unsaved = 1;
		if (r->copy_id == LL_GEN_ID_NONE)
			leg_info(g, "its image has no copy id (made by an older lunlink): it is copy "
				"%016" PRIx64 " from now on\n", g->copy_id);
		else
			leg_info(g, "its image has the copy id %016" PRIx64 " of %s (a copy of that "
				"file?): it is copy %016" PRIx64 " from now on\n", leg->copy_id,
				r->copy_id == LL_GEN_ID_TWIN ? m->leg[r->twin].public_url :
				"this copy", g->copy_id);
	}
	ll_mirror_copies_check(m);
}

/*
 * The leg joins: its copy is recorded with this one (the copies a
 * superblock lists are the ones a primary tracks when mirror= leaves them
 * out), and the legs that hold everything learn the list too, once this
 * copy's superblock holds it (as a new generation goes to them).  0, or -1
 * if the list is full (the leg is refused).
 */
static int leg_join(struct ll_leg *g)
{
	struct ll_mirror *m = g->m;
	struct ll_image *im = m->image;

	/* a record of what it may lack, overwritten, leaves generation 0
	 * ("not consistent": resynced whole if this one is cut short) */
	if (g->id_unsaved)
		ll_leg_store_sb(g, g->own_record ? 0 : g->probed_gen);
	switch (ll_image_copy_add(im, g->copy_id)) {
	case 0:
		return 0;
	case -1:
		leg_refuse(g, "no room to record its copy", "this copy records %u copies of the "
			   "volume already; forget one that is gone for good (lunlink-status lists "
			   "the absent ones): tgtadm --lld iscsi --mode logicalunit --op update "
			   "--tid %d --lun %" PRIu64 " --params forget=ID", im->ncopies,
			   m->l->lu->tgt->tid, m->l->lu->lun);
		return -1;
	}
	leg_info(g, "copy %016" PRIx64 " of the volume: recorded with this copy\n", g->copy_id);
	ll_map_sb_to_legs(m);		/* the list goes to them once on this disk */
	return 0;
}

/*
 * forget=ID: copy id is gone for good; it is no longer recorded, nor
 * tracked in the map.  1 if this copy recorded it and it is forgotten, 0
 * if it did not, -1 (said in the log) if a leg of mirror= is that copy.
 */
int ll_mirror_forget_copy(struct ll_mirror *m, uint64_t id)
{
	struct ll_image *im = m->image;
	const struct ll_leg *g = copy_leg(m, id);

	if (ll_image_copy_index(im, id) < 0)
		return 0;
	if (id == im->copy_id) {
		m_err(m, "forget=%016" PRIx64 " refused: that is this copy (forget= drops another "
		      "copy that is gone for good; lunlink-status lists the absent ones)\n", id);
		return -1;
	}
	if (g) {
		leg_err(g, "forget=%016" PRIx64 " refused: this leg holds that copy; take the leg "
			"out of mirror= first\n", id);
		return -1;
	}
	ll_image_copy_remove(im, id);
	m_info(m, "forget=%016" PRIx64 ": that copy is no longer recorded with this one, and "
	       "the map no longer keeps its misses; named as a leg again, it is not taken for "
	       "in sync\n", id);
	ll_map_sb_changed(m);
	ll_mirror_copies_check(m);
	ll_map_all_synced(m);
	return 1;
}

void ll_leg_start_sync(struct ll_leg *g, int all)
{
	struct ll_mirror *m = g->m;
	uint64_t r;

	uint64_t data_regions = data_region_count(m);

	if (leg_join(g))
		return;
	g->data = g->holes = 0;		/* what this resync sends, for the status */

	/* what this copy's map says the legs lack, and everything if asked;
	 * regions past the data hold nothing to copy */
	for (r = 0; r < m->nregions; r++) {
		int want = r < data_regions && (all || map_test(m->dirty, r));

		if (want)
			need_set(g, r);
		else if (r >= data_regions)
			need_clear(g, r);
	}
	g->backoff = BACKOFF_MIN_MS;
	g->end_flush = END_FLUSH_NONE;
	if (!g->need_count) {
		g->joined = LEG_JOINED_IN_SYNC;
		ll_leg_set_state(g, LEG_UP, "in sync");
		leg_info(g, "connected and in sync\n");
		return;
	}
	g->joined = all ? LEG_JOINED_FULL : LEG_JOINED_MAP;
	ll_leg_set_state(g, LEG_SYNCING, "%" PRIu64 " region(s) to copy%s", g->need_count,
			 all ? " (all of them)" : "");
	leg_info(g, "connected; resyncing %" PRIu64 " region(s) of %u bytes%s\n",
		g->need_count, 1u << m->shift, all ? " (all of them)" : "");
	ll_resync_start(g, all);	/* now, not at the next tick */
}

/* Regions r0..r1 (clipped to the data) go into what the leg lacks; how
 * many were not there. */
static uint64_t leg_lacks_more(struct ll_leg *g, uint64_t r0, uint64_t r1)
{
	uint64_t r, n = 0, data_regions = data_region_count(g->m);

	for (r = r0; r <= r1 && r < data_regions; r++)
		n += (uint64_t)need_set(g, r);
	return n;
}

struct lacks_more {
	struct ll_leg *g;
	uint64_t regions;
};

static void al_lacks_more(void *arg, uint64_t r0, uint64_t r1)
{
	struct lacks_more *lm = arg;

	lm->regions += leg_lacks_more(lm->g, r0, r1);
}

static void probed_al(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct ll_mirror *m = g->m;
	struct scsi_task *t = data;
	struct lacks_more lm = { g, 0 };
	uint64_t slots[LL_IMAGE_AL_SLOTS], n;

	if (g->conn.iscsi != iscsi) {
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	if (status != SCSI_STATUS_GOOD || !t || t->datain.size < (int)sizeof(slots)) {
		ll_leg_failed(g, iscsi, "the read of its activity log", status, t);
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	memcpy(slots, t->datain.data, sizeof(slots));	/* into aligned slots */
	scsi_free_scsi_task(t);
	n = ll_al_extents(m, slots, LL_IMAGE_AL_SLOTS, al_lacks_more, &lm);
	g->own_regions += lm.regions;
	leg_warn(g, "its image was served as a mirror's primary and not closed cleanly (that "
		"tgtd crashed or was killed): the %" PRIu64 " extent(s) of %u bytes in its "
		"activity log (writes it may have had alone) are resynced too, %" PRIu64
		" region(s) more\n", n, 1u << m->al_shift, lm.regions);
	ll_leg_start_sync(g, 0);
}

/*
 * The leg is in step (at this copy's generation, or at the one the map is
 * against): it lacks what the map holds.  Its own superblock may say it
 * lacks more (the verdict's own): as a primary, it had stale regions (its
 * disk failed writes its legs took), or it crashed with writes in its
 * activity log that may be on it alone.  Those are resynced too (DRBD
 * resyncs a crashed primary's activity-log extents the same way).
 */
static void sync_behind(struct ll_leg *g, const struct ll_image *leg, unsigned int own)
{
	uint64_t n = 0;
	unsigned int i;

	if (own & LL_GEN_OWN_STALE_ALL) {	/* the verdict said so: all of it */
		g->own_record = 1;
		ll_leg_start_sync(g, 1);
		return;
	}
	if (own & LL_GEN_OWN_STALE) {
		for (i = 0; i < leg->nstale; i++)	/* counts are > 0: decode refuses 0 */
			n += leg_lacks_more(g, leg->stale[i].start,
					    leg->stale[i].start + leg->stale[i].count - 1);
		g->own_regions += n;
		leg_warn(g, "its superblock lists %u range(s) of stale regions (its disk failed "
			"writes when it was a primary): they are resynced too, %" PRIu64
			" region(s) more\n", leg->nstale, n);
		g->own_record = 1;
	}
	if (!(own & LL_GEN_OWN_AL)) {
		ll_leg_start_sync(g, 0);
		return;
	}
	g->own_record = 1;	/* its log is where this copy's is (the layout matched) */
	if (!iscsi_read16_task(g->conn.iscsi, g->conn.lun, leg->al_offset / 512, (uint32_t)leg->al_bytes,
			       512, 0, 0, 0, 0, 0, probed_al, g))
		ll_leg_unqueued(g, "the read of its activity log");
}

/* The leg takes this copy's superblock (its blank mark gone) before it
 * takes any write; then it is in sync: nothing but what the map got
 * meanwhile (a write while it was not yet up) is copied. */
static void blank_in_sync(struct ll_leg *g)
{
	leg_info(g, "in sync without a copy: it and this copy were both blank (zeros since "
		"lunlink-image create, this volume, this layout)\n");
	ll_leg_start_sync(g, 0);
}

/*
 * The leg's superblock is read: the verdict (generation.c) says what it is
 * against this copy, and this acts on it.
 */
static void probed_sb(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct ll_mirror *m = g->m;
	struct scsi_task *t = data;
	struct ll_image leg;
	uint64_t ids[LL_MAX_LEGS];
	struct ll_gen_facts f = {
		.me = m->image, .leg = &leg, .leg_ids = ids, .nleg_ids = m->nlegs,
		.discard = g->discard, .tid = m->l->lu->tgt->tid, .lun = m->l->lu->lun,
		.me_blank = m->blank, .recorded = ll_lease_recorded_gen(m, ll_now_ms()),
	};
	struct ll_gen_result r;
	char err[256];

	if (g->conn.iscsi != iscsi) {
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	if (status != SCSI_STATUS_GOOD || !t || t->datain.size < (int)LL_IMAGE_SB_SIZE) {
		ll_leg_failed(g, iscsi, "the read of its superblock", status, t);
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	f.sb = ll_image_decode(&leg, t->datain.data, (size_t)t->datain.size, UINT64_MAX, err,
			       sizeof(err));
	f.sb_err = err;
	scsi_free_scsi_task(t);
	/* the copies the other legs hold: this one is not its own twin */
	for (unsigned int i = 0; i < m->nlegs; i++)
		ids[i] = &m->leg[i] == g ? 0 : m->leg[i].copy_id;
	g->own_record = 0;

	ll_gen_compare(&f, &r);
	g->verdict = (int)r.verdict + 1;
	if (r.identified)	/* a copy of this volume, even one refused */
		leg_copy(g, &leg, &r);
	if (r.refused) {
		leg_refuse(g, ll_gen_name(r.verdict), "%s", r.why);
		g->split = r.split;
		return;
	}
	if (r.verdict == LL_GEN_BLANK) {	/* both the zeros create left */
		store_sb(g, m->image->gen_current, 0, blank_in_sync);
		return;
	}
	if (r.unsynced_first) {	/* fresh, or resolve=discard-leg */
		g->discard = 0;
		ll_leg_store_sb(g, 0);
	}
	if (r.why[0])
		leg_warn(g, "%s\n", r.why);
	if (r.verdict == LL_GEN_CURRENT || r.verdict == LL_GEN_MAP)
		sync_behind(g, &leg, r.own);
	else
		ll_leg_start_sync(g, r.whole);
}

static void probed_capacity(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct scsi_task *t = data;
	struct scsi_readcapacity16 *rc;
	uint64_t need = ll_image_file_size(g->m->image), have;

	if (g->conn.iscsi != iscsi) {
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	rc = status == SCSI_STATUS_GOOD && t ? scsi_datain_unmarshall(t) : NULL;
	if (!rc) {
		ll_leg_failed(g, iscsi, "READ CAPACITY", status, t);
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	have = (rc->returned_lba + 1) * rc->block_length;
	if (rc->block_length != 512) {
		scsi_free_scsi_task(t);
		leg_refuse(g, "block size", "its block size is %u; legs need 512",
			   rc->block_length);
		return;
	}
	g->no_unmap = !rc->lbpme;	/* holes go to it as zeros (resync) */
	scsi_free_scsi_task(t);
	g->capacity = have;
	if (have < need) {
		leg_refuse(g, "too small", "it is %" PRIu64 " bytes, smaller than this image's "
			   "%" PRIu64, have, need);
		return;
	}
	if (!iscsi_read16_task(g->conn.iscsi, g->conn.lun, 0, LL_IMAGE_SB_SIZE, 512, 0, 0, 1, 0, 0,
			       probed_sb, g))
		ll_leg_unqueued(g, "the superblock read");
}

static void probe(struct ll_leg *g)
{
	if (!iscsi_readcapacity16_task(g->conn.iscsi, g->conn.lun, probed_capacity, g))
		ll_leg_unqueued(g, "READ CAPACITY");
}

/* The split legs go down to be probed again at once: with discard (resolve=
 * discard-leg) as fresh ones, overwritten whole. */
static int split_legs_again(struct ll_mirror *m, int discard)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (g->state != LEG_REFUSED || !g->split)
			continue;
		if (discard)
			leg_info(g, "resolve=discard-leg: its changes will be overwritten by a full "
				"resync from this copy\n");
		else
			leg_info(g, "probed again: the lease names this copy's generation %016"
				 PRIx64 " as the one the manager recorded\n", m->image->gen_current);
		ll_leg_set_state(g, LEG_DOWN, discard ? "resolve=discard-leg" :
				 "this copy's generation recorded");
		g->retry_at = 0;
		/* the next probe must not see split brain: make it "fresh" */
		g->why[0] = '\0';
		g->backoff = BACKOFF_MIN_MS;
		g->discard = discard;
		n++;
	}
	return n;
}

int ll_mirror_discard_split_legs(struct ll_mirror *m)
{
	return split_legs_again(m, 1);
}

int ll_mirror_reprobe_split_legs(struct ll_mirror *m)
{
	return split_legs_again(m, 0);
}

/*
 * A unit attention says nothing about the command: the peer did not run it,
 * to report an event first (a LUN added or removed on its target, a
 * resize, a reset).  The command is sent again, a few times.  Returns 1 if
 * it should be, counting the try in *tries.
 */

static void recapacity(struct iscsi_context *iscsi, int status, void *data, void *priv);

int ll_leg_ua_retry(struct ll_leg *g, int status, struct scsi_task *t, unsigned char *tries)
{
	int asc, ascq;

	if (!g->conn.iscsi || !ll_conn_ua(status, t, tries, &asc, &ascq))
		return 0;
	/* its size may have changed: ask (a resize checks it) */
	if (((asc == 0x2a && ascq == 0x09) || (asc == 0x3f && ascq == 0x0e)) && !g->conn.dead)
		iscsi_readcapacity16_task(g->conn.iscsi, g->conn.lun, recapacity, g);
	leg_warn(g, "unit attention %02x/%02x (%s): sending the command again\n", asc, ascq,
		ll_conn_ua_name(asc, ascq));
	return 1;
}

static void recapacity(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct ll_leg *g = priv;
	struct scsi_task *t = data;
	struct scsi_readcapacity16 *rc;
	int asc, ascq;

	/* the leg's own 2A/09 (its node grew it) answers the first ask of an
	 * idle leg in place of its capacity: ask again, so that the next
	 * resize of this LUN sees the new size */
	if (t && g->conn.iscsi == iscsi && !g->conn.dead &&
	    ll_conn_ua(status, t, &g->recap_ua, &asc, &ascq)) {
		scsi_free_scsi_task(t);
		iscsi_readcapacity16_task(iscsi, g->conn.lun, recapacity, g);
		return;
	}
	g->recap_ua = 0;
	rc = status == SCSI_STATUS_GOOD && t && g->conn.iscsi == iscsi ? scsi_datain_unmarshall(t) : NULL;
	if (rc && rc->block_length == 512)
		g->capacity = (rc->returned_lba + 1) * rc->block_length;
	if (t)
		scsi_free_scsi_task(t);
}

int ll_mirror_can_grow(struct ll_mirror *m, uint64_t file_size)
{
	unsigned int i;
	int ok = 1;

	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (!g->capacity || g->capacity >= file_size)
			continue;
		ok = 0;
		leg_err(g, "resize refused: the leg was %" PRIu64 " bytes when last asked, and "
			"the image would need %" PRIu64 "; grow the leg on its node (resize= on "
			"its LUN if exported raw=on, else grow its file and export it again), and "
			"retry (the leg is being asked again now)\n",
			g->capacity, file_size);
		/* its peer may have grown it since: ask, for the next try */
		if (g->conn.iscsi && !g->conn.dead &&
		    iscsi_readcapacity16_task(g->conn.iscsi, g->conn.lun, recapacity, g))
			ll_conn_fd_update(&g->conn);
	}
	return ok ? 0 : -1;
}

void ll_mirror_grown(struct ll_mirror *m)
{
	unsigned int i;

	m->size = m->ext->size;		/* the copy's data, grown */
	m->blank = 0;			/* a device's new part holds old bytes */
	ll_map_sb_changed(m);	/* after any superblock write in flight */
	for (i = 0; i < m->nlegs; i++)	/* a leg opened alone shows the new size */
		if (leg_is(&m->leg[i], LEG_UP))
			ll_leg_store_sb(&m->leg[i], m->image->gen_current);
}

int ll_mirror_retry_legs(struct ll_mirror *m)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < m->nlegs; i++) {
		struct ll_leg *g = &m->leg[i];

		if (g->state != LEG_REFUSED)
			continue;
		leg_info(g, "retry=legs: probing it again (it was refused: %s)\n", g->why);
		ll_leg_set_state(g, LEG_DOWN, "retry=legs");
		g->retry_at = 0;
		g->backoff = BACKOFF_MIN_MS;
		g->why[0] = '\0';
		n++;
	}
	return n;
}

