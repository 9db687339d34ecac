// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fence.c: making a leg this mirror's alone for the lease's epoch E, with
 * plain SPC-4 persistent reservations, so that a deposed primary that is
 * still alive cannot write it (issue 18; lease.c holds the lease).  The
 * key is K(E) = 0x4c4c000000000000 | E ("LL" on top).  On each leg, after
 * its login (before its probe) and again whenever the epoch rises:
 *
 *   1. READ KEYS: a key of ours ("LL") with a higher epoch than E means a
 *      newer primary got there first: this mirror is deposed, and it does
 *      not register (with type 5 a registrant may write).
 *   2. REGISTER AND IGNORE EXISTING KEY, K(E): works whatever this I_T
 *      nexus had registered before (a new login is a new nexus); then
 *      READ KEYS again, for the keys to preempt (this nexus's older key,
 *      replaced now, is no longer among them).
 *   3. READ RESERVATION, then: none: RESERVE (type 5, WRITE EXCLUSIVE -
 *      REGISTRANTS ONLY); held under another key: PREEMPT it (type 5),
 *      which removes its registrations too; held under K(E): RESERVE,
 *      and if that conflicts (the holder is an older login of this
 *      mirror, with the same key: stock tgt keys registrations by
 *      session), PREEMPT K(E), which keeps this nexus and drops the others.
 *   4. PREEMPT each other key READ KEYS found (older primaries' and any
 *      other registrant's), so that only this nexus may write (in rounds
 *      of LL_FENCE_KEYS, READ KEYS again between them, if there are more).
 *
 * A RESERVATION CONFLICT on the way (a key gone between READ KEYS and its
 * PREEMPT, this nexus's registration removed by a newer primary) starts
 * the fence again from READ KEYS, a few times; a leg that cannot be
 * fenced (no PR support, errors, conflicts that do not end) is dropped
 * like a leg that fails.  Unit attentions (RESERVATIONS PREEMPTED, a
 * reset) send the step again.  The fence reports to mirror_leg.c
 * (ll_leg_fenced: probe the leg, or let held writes go).
 *
 * Owns: the legs' fence fields (fenced_epoch, fencing, fence_*).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "mirror_int.h"

#define FENCE_TRIES	4
#define FENCE_ROUNDS	8	/* of LL_FENCE_KEYS other keys each */
#define READ_KEYS_LEN	(8 + 8 * (LL_FENCE_KEYS + 1))

enum step { F_READ_KEYS, F_REGISTER, F_READ_KEYS_AGAIN, F_READ_RESERVATION, F_RESERVE,
	    F_PREEMPT_HOLDER, F_PREEMPT_OWN, F_PREEMPT_OTHER };

static const char *const step_name[] = {
	[F_READ_KEYS] = "PERSISTENT RESERVE IN (READ KEYS)",
	[F_REGISTER] = "PERSISTENT RESERVE OUT (REGISTER AND IGNORE EXISTING KEY)",
	[F_READ_KEYS_AGAIN] = "PERSISTENT RESERVE IN (READ KEYS, once registered)",
	[F_READ_RESERVATION] = "PERSISTENT RESERVE IN (READ RESERVATION)",
	[F_RESERVE] = "PERSISTENT RESERVE OUT (RESERVE)",
	[F_PREEMPT_HOLDER] = "PERSISTENT RESERVE OUT (PREEMPT of the holder)",
	[F_PREEMPT_OWN] = "PERSISTENT RESERVE OUT (PREEMPT of an older login's key)",
	[F_PREEMPT_OTHER] = "PERSISTENT RESERVE OUT (PREEMPT of another key)",
};

/* one fence step in flight: the leg and what it was (its callback's) */
struct fence_cmd {
	struct ll_leg *g;
	enum step step;
	uint64_t epoch, key;		/* the key a PREEMPT names */
};

static void send_step(struct ll_leg *g, enum step step, uint64_t key);

static void fence_done(struct ll_leg *g)
{
	uint64_t e = g->fencing;

	g->fencing = 0;
	g->fenced_epoch = e;
	leg_info(g, "fenced for epoch %" PRIu64 ": key %016llx registered, WRITE EXCLUSIVE - "
		 "REGISTRANTS ONLY reservation held, %u other key(s) preempted\n", e,
		 (unsigned long long)LL_LEASE_KEY(e), g->fence_preempted);
	if (g->m->l->lease.epoch != e && !g->m->l->lease.deposed) {
		ll_fence_start(g, g->fence_then_probe);	/* it rose meanwhile */
		return;
	}
	ll_leg_fenced(g);
}

/* Begin (again) from READ KEYS, for the lease's epoch now. */
static void restart(struct ll_leg *g)
{
	g->fencing = g->m->l->lease.epoch;
	g->nfence_keys = g->fence_next = g->fence_preempted = 0;
	g->fence_more = g->fence_rounds = 0;
	send_step(g, F_READ_KEYS, 0);
}

void ll_fence_start(struct ll_leg *g, int then_probe)
{
	g->fence_then_probe = then_probe;
	g->fence_tries = 0;
	g->fence_ua = 0;
	restart(g);
}

/* The next key READ KEYS found, to PREEMPT; then, if it found more than
 * fence_keys holds, another round from READ KEYS; or the fence is done. */
static void next_other(struct ll_leg *g)
{
	char why[160];

	if (g->fence_next < g->nfence_keys) {
		uint64_t k = g->fence_keys[g->fence_next++];

		g->fence_preempted++;
		send_step(g, F_PREEMPT_OTHER, k);
		return;
	}
	if (g->fence_more && ++g->fence_rounds < FENCE_ROUNDS) {
		g->fence_more = 0;
		g->nfence_keys = g->fence_next = 0;
		send_step(g, F_READ_KEYS_AGAIN, 0);
		return;
	}
	if (g->fence_more) {
		g->fencing = 0;
		snprintf(why, sizeof(why), "it cannot be fenced: more than %d other keys are "
			 "registered on it", FENCE_ROUNDS * LL_FENCE_KEYS);
		ll_leg_down(g, why);
		return;
	}
	fence_done(g);
}

/* READ KEYS answered: deposed if a newer epoch's key is there; once
 * registered (collect), the other keys (not ours at E), once each, to
 * preempt at the end (before, this nexus's own older key may be there). */
static int keys_read(struct ll_leg *g, struct scsi_task *t, int collect)
{
	struct scsi_persistent_reserve_in_read_keys *rk = scsi_datain_unmarshall(t);
	uint64_t own = LL_LEASE_KEY(g->fencing);
	char what[96];

	if (!rk)
		return -1;
	/* more registered than the answer held: another round for them */
	if (collect && rk->additional_length / 8 > (uint32_t)rk->num_keys)
		g->fence_more = 1;
	for (int i = 0; i < rk->num_keys; i++) {
		uint64_t k = rk->keys[i];
		unsigned int j;

		if (LL_LEASE_KEY_IS_OURS(k) && (k & LL_LEASE_EPOCH_MAX) > g->fencing) {
			snprintf(what, sizeof(what), "the fence (key %016llx of epoch %llu is "
				 "registered there)", (unsigned long long)k,
				 (unsigned long long)(k & LL_LEASE_EPOCH_MAX));
			g->fencing = 0;
			ll_leg_fenced_off(g, what);
			return 1;
		}
		if (k == own || !collect)
			continue;
		for (j = 0; j < g->nfence_keys && g->fence_keys[j] != k; j++)
			;
		if (j < g->nfence_keys)
			continue;
		if (g->nfence_keys < LL_FENCE_KEYS)
			g->fence_keys[g->nfence_keys++] = k;
		else
			g->fence_more = 1;
	}
	return 0;
}

/* READ RESERVATION answered: reserve, or preempt whoever holds it. */
static int reservation_read(struct ll_leg *g, struct scsi_task *t)
{
	struct scsi_persistent_reserve_in_read_reservation *rr = scsi_datain_unmarshall(t);
	uint64_t own = LL_LEASE_KEY(g->fencing);

	if (!rr)
		return -1;
	if (!rr->reserved) {
		send_step(g, F_RESERVE, 0);
		return 0;
	}
	if (rr->reservation_key != own) {
		/* its registrations go with it: not again at the end */
		for (unsigned int j = 0; j < g->nfence_keys; j++)
			if (g->fence_keys[j] == rr->reservation_key)
				g->fence_keys[j] = g->fence_keys[--g->nfence_keys];
		g->fence_preempted++;
		send_step(g, F_PREEMPT_HOLDER, rr->reservation_key);
		return 0;
	}
	send_step(g, rr->pr_type == SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY ?
		  F_RESERVE : F_PREEMPT_OWN, own);
	return 0;
}

static void answered(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct fence_cmd *c = priv;
	struct ll_leg *g = c->g;
	struct scsi_task *t = data;
	enum step step = c->step;
	uint64_t key = c->key, epoch = c->epoch;
	char why[256];
	int asc, ascq, r = 0;

	if (g->conn.iscsi != iscsi || g->conn.dead || g->fencing != epoch) {
		free(c);	/* another connection's, or a fence given up */
		if (t)
			scsi_free_scsi_task(t);
		return;
	}
	free(c);
	if (ll_conn_ua(status, t, &g->fence_ua, &asc, &ascq)) {
		leg_warn(g, "unit attention %02x/%02x (%s) on the fence: sending %s again\n", asc,
			 ascq, ll_conn_ua_name(asc, ascq), step_name[step]);
		scsi_free_scsi_task(t);
		send_step(g, step, key);
		return;
	}
	if (status == SCSI_STATUS_RESERVATION_CONFLICT) {
		if (t)
			scsi_free_scsi_task(t);
		if (step == F_RESERVE && key) {		/* an older login of ours holds it */
			send_step(g, F_PREEMPT_OWN, key);
			return;
		}
		if (++g->fence_tries < FENCE_TRIES) {
			leg_warn(g, "%s answered RESERVATION CONFLICT: fencing again from READ "
				 "KEYS\n", step_name[step]);
			restart(g);
			return;
		}
		g->fencing = 0;
		snprintf(why, sizeof(why), "it cannot be fenced for epoch %" PRIu64 ": %s answered "
			 "RESERVATION CONFLICT %d times", epoch, step_name[step], FENCE_TRIES);
		ll_leg_down(g, why);
		return;
	}
	if (status != SCSI_STATUS_GOOD) {
		g->fencing = 0;
		ll_conn_describe(&g->conn, step_name[step], status, t, why, sizeof(why));
		if (t)
			scsi_free_scsi_task(t);
		/* a leg that cannot be fenced is a leg that fails */
		snprintf(why + strlen(why), sizeof(why) - strlen(why), " (so it cannot be fenced)");
		ll_leg_down(g, why);
		return;
	}
	switch (step) {
	case F_READ_KEYS:
		r = keys_read(g, t, 0);
		if (!r)
			send_step(g, F_REGISTER, 0);
		break;
	case F_REGISTER:
		send_step(g, F_READ_KEYS_AGAIN, 0);
		break;
	case F_READ_KEYS_AGAIN:
		r = keys_read(g, t, 1);
		if (!r)
			send_step(g, F_READ_RESERVATION, 0);
		break;
	case F_READ_RESERVATION:
		r = reservation_read(g, t);
		break;
	case F_PREEMPT_OWN:
		leg_info(g, "its reservation was held by an older login of this mirror under the "
			 "same key (the leg keys registrations by session): preempted, which drops "
			 "that login's registration\n");
		next_other(g);
		break;
	case F_RESERVE:
	case F_PREEMPT_HOLDER:
	case F_PREEMPT_OTHER:
		next_other(g);
		break;
	}
	if (r < 0) {
		g->fencing = 0;
		snprintf(why, sizeof(why), "%s returned data libiscsi cannot read (so it cannot "
			 "be fenced)", step_name[step]);
		ll_leg_down(g, why);
	}
	scsi_free_scsi_task(t);
}

static void send_step(struct ll_leg *g, enum step step, uint64_t key)
{
	struct scsi_persistent_reserve_out_basic p;
	struct fence_cmd *c = calloc(1, sizeof(*c));
	uint64_t own = LL_LEASE_KEY(g->fencing);
	struct scsi_task *t = NULL;
	const int type = SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY;

	if (!c) {
		g->fencing = 0;
		ll_leg_down(g, "out of memory for its fence");
		return;
	}
	c->g = g;
	c->step = step;
	c->epoch = g->fencing;
	c->key = key;
	memset(&p, 0, sizeof(p));
	p.reservation_key = own;
	switch (step) {
	case F_READ_KEYS:
	case F_READ_KEYS_AGAIN:
		t = iscsi_persistent_reserve_in_task(g->conn.iscsi, g->conn.lun,
						     SCSI_PERSISTENT_RESERVE_READ_KEYS,
						     READ_KEYS_LEN, answered, c);
		break;
	case F_READ_RESERVATION:
		t = iscsi_persistent_reserve_in_task(g->conn.iscsi, g->conn.lun,
						     SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 24,
						     answered, c);
		break;
	case F_REGISTER:
		p.reservation_key = 0;
		p.service_action_reservation_key = own;
		t = iscsi_persistent_reserve_out_task(g->conn.iscsi, g->conn.lun,
					SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
					SCSI_PERSISTENT_RESERVE_SCOPE_LU, 0, &p, answered, c);
		break;
	case F_RESERVE:
		t = iscsi_persistent_reserve_out_task(g->conn.iscsi, g->conn.lun,
						      SCSI_PERSISTENT_RESERVE_RESERVE,
						      SCSI_PERSISTENT_RESERVE_SCOPE_LU, type, &p,
						      answered, c);
		break;
	case F_PREEMPT_HOLDER:
	case F_PREEMPT_OWN:
	case F_PREEMPT_OTHER:
		p.service_action_reservation_key = key;
		t = iscsi_persistent_reserve_out_task(g->conn.iscsi, g->conn.lun,
						      SCSI_PERSISTENT_RESERVE_PREEMPT,
						      SCSI_PERSISTENT_RESERVE_SCOPE_LU, type, &p,
						      answered, c);
		break;
	}
	if (!t) {
		free(c);
		g->fencing = 0;
		ll_leg_unqueued(g, step_name[step]);
		return;
	}
	ll_conn_fd_update(&g->conn);
}
