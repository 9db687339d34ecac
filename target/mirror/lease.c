// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lease.c: write ownership (issue 18, lease=on).  A mirrored LUN with
 * lease=on acknowledges a write only while it holds a lease from the policy
 * daemon's manager: `--params lease=EPOCH:@DEADLINE_MS` grants or renews it
 * until DEADLINE_MS of CLOCK_MONOTONIC, which the agent, on this host,
 * computed from when it asked the manager, so a push that reaches tgtd
 * late cannot stretch it past the manager's deadline (a deadline already
 * past leaves the lease expired at once).  `lease=EPOCH:VALID_MS`, for
 * operators and tests, counts VALID_MS from the receipt.  `lease=release`
 * drops it.  A renewal's deadline is taken as given, earlier than the one
 * held or later: shortening is the safe direction.  The epoch only grows;
 * a higher one means this node just became the volume's owner, and
 * fence.c makes every leg this mirror's alone for it before a write is
 * acknowledged under it.
 *
 * The gate (ll_lease_gate) is asked twice per write: before it is sent
 * anywhere, and again just before it is acknowledged, against the clock of
 * that moment, so that no write is acknowledged after the deadline however
 * long it took.  Without a valid lease a write waits (lease_loss=suspend:
 * held here, at most LL_LEASE_WAIT_MAX of them, until a lease comes; failed
 * after LL_LEASE_HOLD_MS, or when the LUN closes) or fails
 * (lease_loss=fail); while the legs are being
 * fenced for a new epoch it waits either way.  A write that is done on the
 * copies but whose acknowledgement found no lease is held the same way
 * (suspend) or fails: it is never acknowledged without one.
 *
 * The generation (lease=EPOCH:...:GENERATION): a copy may be promoted
 * in this one's place only if it holds every write acknowledged here, and
 * the manager knows that by the generation: a leg with this copy's
 * generation has them all.  So a write of a generation the manager has not
 * recorded (a leg dropped, a new term began) is not acknowledged: it waits
 * as for the lease, until the agent has reported the generation, the
 * manager recorded it, and a lease with it came back.  A lease without
 * :GENERATION checks none.
 *
 * Deposed: a leg answered RESERVATION CONFLICT, so a newer primary holds
 * it.  Writes fail from then on (not held: this node is no longer the
 * owner), the leg is not marked out of date, the volume does not go
 * degraded, and only a lease with a higher epoch ends it.
 *
 * Reads: a copy is read only while this node may take it to be the
 * volume's: with a valid lease, or before any lease was granted (a LUN
 * just made, whose agent has not asked yet: this file cannot tell a new
 * volume from a former primary's restart, so keeping a stale copy's LUN
 * from a host is the manager's, initiator.md's hazard).  Deposed, a newer
 * primary writes the legs: a read fails.  Once granted, a lease that
 * expired or was released is what the manager waits for before it promotes
 * another node, whose writes this copy then lacks: a read waits as a
 * write does (lease_loss=suspend) or fails (lease_loss=fail), so no stale
 * read is served through this node's path.
 *
 * A request failed here completes with -LL_ESTANDBY, which commands.c
 * turns into NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN
 * STANDBY STATE (2/04/0B): Linux counts it a path error, and dm-multipath
 * fails this path and sends the I/O down another (doc/mirror.md, measured
 * in a guest by t5970).  DATA PROTECT would reach the file system instead.
 *
 * Why a held write is failed after LL_LEASE_HOLD_MS: tgt deletes no LUN
 * with a command in flight (TGTADM_LUN_ACTIVE), and an initiator whose
 * command gets no answer aborts it, then resets the LUN, the target, the
 * session (Linux after 30 s), none of which tgt can end while the command
 * is held: a write held for ever would make the LUN impossible to delete
 * and its initiator's error handling escalate.
 *
 * Owns: the LUN's struct ll_lease (lunlink.h), each mirror's held writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "mirror_int.h"

/* one held write: not sent yet (f NULL) or done, its ack waiting (f) */
struct lease_wait {
	struct ll_io *io;
	uint64_t since;			/* ms: held from */
	int local_fault;
	struct fan *f;
	struct lease_wait *next;
};

/* ---- the LUN's lease --------------------------------------------------- */

static int valid(const struct ll_lease *ls, uint64_t now)
{
	return ls->epoch && ls->deadline && !ls->deposed && now < ls->deadline;
}

const char *ll_lease_word(const struct ll_lu *l, uint64_t now)
{
	const struct ll_lease *ls = &l->lease;

	if (ls->deposed)
		return "deposed";
	if (!ls->epoch || !ls->deadline)
		return "none";
	return now < ls->deadline ? "held" : "expired";
}

/* The update as the operator or the agent wrote it, for the log. */
static void lease_text(const struct ll_update *u, char *buf, size_t len)
{
	int n = u->has_deadline ?
		snprintf(buf, len, "lease=%" PRIu64 ":@%" PRIu64, u->epoch, u->deadline_ms) :
		snprintf(buf, len, "lease=%" PRIu64 ":%" PRIu64, u->epoch, u->valid_ms);

	if (u->has_gen && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ":%016" PRIx64, u->gen_confirmed);
}

int ll_lease_grant(struct ll_lu *l, const struct ll_update *u, uint64_t now)
{
	struct ll_lease *ls = &l->lease;
	uint64_t epoch = u->epoch, deadline;
	char what[96];

	lease_text(u, what, sizeof(what));
	if (!l->opts.lease) {
		ll_err(l, "%s refused: this LUN was not made with lease=on in its bsopts (it "
		       "writes without a lease)\n", what);
		return -1;
	}
	if (epoch < ls->epoch) {
		ll_err(l, "%s refused: epoch %" PRIu64 " is lower than this LUN's epoch %" PRIu64
		       " (epochs only grow: a lease of an older owner's term is stale)\n", what,
		       epoch, ls->epoch);
		return -1;
	}
	if (ls->deposed && epoch <= ls->deposed_epoch) {
		ll_err(l, "%s refused: this LUN was deposed under epoch %" PRIu64 " (a leg answered "
		       "RESERVATION CONFLICT: a newer primary holds it); only a lease with a higher "
		       "epoch makes it the owner again\n", what, ls->deposed_epoch);
		return -1;
	}
	if (u->has_gen && l->nmirrors > 1) {
		ll_err(l, "%s refused: this LUN has %u mirrored sets, each with its own generation; "
		       ":GENERATION confirms the generation of a LUN of one set (leave it out)\n",
		       what, l->nmirrors);
		return -1;
	}
	/* the agent's deadline, computed on this host's CLOCK_MONOTONIC:
	 * one far ahead is no lease it sent, but a clock that is not ours */
	if (u->has_deadline && u->deadline_ms > now + LL_LEASE_VALID_MS_MAX) {
		ll_err(l, "%s refused: its deadline is %" PRIu64 " ms ahead of this host's "
		       "CLOCK_MONOTONIC (now %" PRIu64 "), more than a lease lasts (%llu ms): "
		       "DEADLINE_MS must be read from tgtd's own clock (not another host's, "
		       "nor a time namespace's)\n", what, u->deadline_ms - now, now,
		       (unsigned long long)LL_LEASE_VALID_MS_MAX);
		return -1;
	}
	deadline = u->has_deadline ? u->deadline_ms : now + u->valid_ms;
	if (u->has_gen && (!ls->gen_check || ls->gen_confirmed != u->gen_confirmed))
		ll_info(l, "lease: generation %016" PRIx64 " is the one the manager recorded: "
			"writes of it are acknowledged, of another held\n", u->gen_confirmed);
	if (epoch > ls->epoch)
		ll_info(l, "lease: epoch %" PRIu64 " -> %" PRIu64 " (%s): this node owns the "
			"volume; its legs are fenced (key %016llx) before a write is acknowledged "
			"under it\n", ls->epoch, epoch, what, (unsigned long long)LL_LEASE_KEY(epoch));
	else if ((!ls->deadline || now >= ls->deadline) && deadline > now)
		ll_info(l, "lease: epoch %" PRIu64 " held again (%s)\n", epoch, what);
	if (ls->deposed)
		ll_info(l, "lease: no longer deposed (epoch %" PRIu64 " > %" PRIu64 ")\n", epoch,
			ls->deposed_epoch);
	ls->deposed = 0;
	ls->epoch = epoch;
	/* taken as given, later or earlier than the one held: a shorter
	 * lease is the safe direction, and nothing here needs the deadline
	 * to grow (the gate compares it with the clock of each moment) */
	ls->deadline = deadline;
	ls->expiry_said = 0;
	ls->gen_check = u->has_gen;
	ls->gen_confirmed = u->gen_confirmed;
	if (deadline <= now) {
		ls->expiry_said = 1;	/* said here, not again by the gate */
		ll_warn(l, "lease: %s came %" PRIu64 " ms after its deadline (a push that late: "
			"tgtd or the agent busy): epoch %" PRIu64 " is expired at once, and writes "
			"are %s until a lease comes\n", what, now - deadline, epoch,
			l->opts.lease_loss == LL_LEASE_LOSS_FAIL ? "failed (lease_loss=fail)" :
			"held (lease_loss=suspend)");
	}
	return 0;
}

int ll_lease_release(struct ll_lu *l)
{
	if (!l->opts.lease) {
		ll_err(l, "lease=release refused: this LUN was not made with lease=on\n");
		return -1;
	}
	if (l->lease.deadline)
		ll_info(l, "lease: released (epoch %" PRIu64 "): writes are no longer "
			"acknowledged\n", l->lease.epoch);
	l->lease.deadline = 0;
	l->lease.expiry_said = 1;	/* said here */
	return 0;
}

/* ---- the gate ------------------------------------------------------------ */

/* Every leg that takes writes is fenced for the lease's epoch. */
static int legs_fenced(const struct ll_mirror *m, uint64_t epoch)
{
	for (unsigned int i = 0; i < m->nlegs; i++) {
		const struct ll_leg *g = &m->leg[i];

		if ((leg_is(g, LEG_UP) || leg_is(g, LEG_SYNCING)) && g->fenced_epoch != epoch)
			return 0;
	}
	return 1;
}

enum ll_gate ll_lease_gate(struct ll_mirror *m, uint64_t now)
{
	struct ll_lu *l = m->l;
	struct ll_lease *ls = &l->lease;

	if (ls->deposed)
		return LL_GATE_FAIL;
	if (!valid(ls, now)) {
		if (ls->epoch && ls->deadline && !ls->expiry_said) {
			ls->expiry_said = 1;
			ll_warn(l, "lease: epoch %" PRIu64 " expired %" PRIu64 " ms ago without a "
				"renewal: writes are %s until a lease comes\n", ls->epoch,
				now - ls->deadline, l->opts.lease_loss == LL_LEASE_LOSS_FAIL ?
				"failed (lease_loss=fail)" : "held (lease_loss=suspend)");
		}
		return l->opts.lease_loss == LL_LEASE_LOSS_FAIL ? LL_GATE_FAIL : LL_GATE_WAIT;
	}
	if (!legs_fenced(m, ls->epoch))
		return LL_GATE_WAIT;
	if (ls->gen_check && m->image->gen_current != ls->gen_confirmed) {
		if (m->gen_said != m->image->gen_current) {
			m->gen_said = m->image->gen_current;
			m_info(m, "lease: generation %016" PRIx64 " is not confirmed yet (the manager "
			       "recorded %016" PRIx64 "): its writes wait until it is\n",
			       m->image->gen_current, ls->gen_confirmed);
			ll_mirror_write_status(m);	/* the agent reads it from there */
		}
		return LL_GATE_WAIT;
	}
	return LL_GATE_GO;
}

/* The mirror may connect to, resync and verify its legs: it holds a valid
 * lease (or has no lease=on). */
int ll_lease_legs_may_write(const struct ll_mirror *m, uint64_t now)
{
	return !m->l->opts.lease || valid(&m->l->lease, now);
}

uint64_t ll_lease_recorded_gen(const struct ll_mirror *m, uint64_t now)
{
	const struct ll_lease *ls = &m->l->lease;

	return m->l->opts.lease && ls->gen_check && valid(ls, now) ? ls->gen_confirmed : 0;
}

/* ---- held writes ----------------------------------------------------------- */

static void say_failed(struct ll_mirror *m, const struct ll_io *io, const char *why)
{
	int read = io->op == LL_OP_READ;

	/* writes counted for the status (lease_failed_writes), reads apart */
	if (ll_local_say(m, read ? &m->lease_read_errs : &m->lease_errs))
		m_err(m, "a %s at offset %" PRIu64 " fails (NOT READY, TARGET PORT IN STANDBY "
		      "STATE): %s\n", read ? "read" : io->op == LL_OP_DATASYNC ? "flush" : "write",
		      io->op == LL_OP_DATASYNC ? 0 : io->off - m->image->data_offset, why);
}

/* What brings a lease back, for the messages of requests failed without one */
#define NO_LEASE_CURE	"; the policy agent grants and renews it: is this node's " \
			"lunlink-policyd running and in touch with its manager?"

static const char *why_not(const struct ll_mirror *m)
{
	const struct ll_lease *ls = &m->l->lease;

	if (ls->deposed)
		return "this mirror is deposed (a newer primary holds its legs)";
	if (!ls->epoch || !ls->deadline)
		return "this node holds no write-ownership lease (lease_loss=fail)" NO_LEASE_CURE;
	return "its write-ownership lease expired (lease_loss=fail)" NO_LEASE_CURE;
}

static int hold(struct ll_mirror *m, struct ll_io *io, int local_fault, struct fan *f)
{
	struct lease_wait *w;

	if (m->lw_count >= LL_LEASE_WAIT_MAX || m->closing || !(w = calloc(1, sizeof(*w))))
		return -1;
	w->io = io;
	w->since = ll_now_ms();
	w->local_fault = local_fault;
	w->f = f;
	if (m->lw_tail)
		m->lw_tail->next = w;
	else
		m->lw_head = w;
	m->lw_tail = w;
	if (!m->lw_count++)
		m_warn(m, "%s wait for the lease (%s)\n",
		       io->op == LL_OP_READ ? "reads" : "writes", m->l->lease.epoch ?
		       "its legs being fenced for the new epoch, or its renewal" :
		       "none granted yet: tgtadm ... --params lease=EPOCH:VALID_MS");
	return 0;
}

/* What a read may do (the header says why): served, held as a write is
 * without a lease, or failed. */
static enum ll_gate read_gate(const struct ll_lu *l, uint64_t now)
{
	const struct ll_lease *ls = &l->lease;

	if (ls->deposed)
		return LL_GATE_FAIL;
	if (!ls->epoch || valid(ls, now))
		return LL_GATE_GO;
	return l->opts.lease_loss == LL_LEASE_LOSS_FAIL ? LL_GATE_FAIL : LL_GATE_WAIT;
}

/* A request at submit (a read by read_gate; a write, flush or hole punch by
 * ll_lease_gate): 0 if it goes on now; 1 if it was held or failed here (it
 * is then this file's). */
int ll_lease_hold_submit(struct ll_mirror *m, struct ll_io *io, int local_fault)
{
	int read = io->op == LL_OP_READ;
	uint64_t now = ll_now_ms();

	switch (read ? read_gate(m->l, now) : ll_lease_gate(m, now)) {
	case LL_GATE_GO:
		return 0;
	case LL_GATE_WAIT:
		if (!hold(m, io, local_fault, NULL))
			return 1;
		say_failed(m, io, read ? "more requests wait for the lease than a mirror holds" :
			   "more writes wait for the lease than a mirror holds");
		break;
	case LL_GATE_FAIL:
		say_failed(m, io, why_not(m));
		break;
	}
	io->res = -LL_ESTANDBY;
	ll_later(m->l, io);
	return 1;
}

/* A write done on the copies, about to be acknowledged: 0 if it may be now;
 * 1 if it was held or failed (ll_fan_finish_now then runs later, or did). */
int ll_lease_hold_ack(struct fan *f)
{
	struct ll_mirror *m = f->m;

	switch (ll_lease_gate(m, ll_now_ms())) {
	case LL_GATE_GO:
		return 0;
	case LL_GATE_WAIT:
		if (!hold(m, f->io, 0, f))
			return 1;
		say_failed(m, f->io, "it is done, but more writes wait for the lease than a "
			   "mirror holds, and it is never acknowledged without one");
		break;
	case LL_GATE_FAIL:
		say_failed(m, f->io, why_not(m));
		break;
	}
	f->io->res = -LL_ESTANDBY;
	ll_fan_finish_now(f);
	return 1;
}

/* One held write fails (why), and its entry goes. */
static void fail_one(struct ll_mirror *m, struct lease_wait *w, const char *why)
{
	say_failed(m, w->io, why);
	w->io->res = -LL_ESTANDBY;
	if (w->f)
		ll_fan_finish_now(w->f);
	else
		w->io->complete(w->io);
	free(w);
}

/* Let each held request go if its gate is open (a read's is read_gate, a
 * write's ll_lease_gate), or fail it if the gate says fail or it was held
 * LL_LEASE_HOLD_MS; keep it if its gate still says wait. */
void ll_lease_waiters_run(struct ll_mirror *m)
{
	struct lease_wait *w, *next, *kept = NULL, *kept_tail = NULL;
	enum ll_gate wgate, rgate, gate;
	unsigned int went = 0, nkept = 0;
	uint64_t now;

	if (!m->lw_head)
		return;
	now = ll_now_ms();
	wgate = ll_lease_gate(m, now);
	rgate = read_gate(m->l, now);
	/* taken off the list first: a request sent on may be held again */
	w = m->lw_head;
	m->lw_head = m->lw_tail = NULL;
	m->lw_count = 0;
	for (; w; w = next) {
		next = w->next;
		gate = !w->f && w->io->op == LL_OP_READ ? rgate : wgate;
		if (gate == LL_GATE_WAIT && now - w->since < LL_LEASE_HOLD_MS) {
			w->next = NULL;
			if (kept_tail)
				kept_tail->next = w;
			else
				kept = w;
			kept_tail = w;
			nkept++;
			continue;
		}
		if (gate == LL_GATE_WAIT) {
			/* held long enough: failed, before the initiator's own
			 * timeout starts aborting and resetting */
			fail_one(m, w, "it waited " LL_STR(LL_LEASE_HOLD_MS) " ms for a "
				 "write-ownership lease (lease_loss=suspend holds a request "
				 "that long)" NO_LEASE_CURE);
			continue;
		}
		if (gate == LL_GATE_FAIL) {
			fail_one(m, w, why_not(m));
			continue;
		}
		went++;
		if (w->f)
			ll_fan_finish_now(w->f);
		else
			ll_mirror_submit(m, w->io, w->local_fault);
		free(w);
	}
	if (went)
		m_info(m, "lease: %u held request(s) go on\n", went);
	/* the kept ones are older than any held again meanwhile */
	if (kept) {
		kept_tail->next = m->lw_head;
		if (!m->lw_head)
			m->lw_tail = kept_tail;
		m->lw_head = kept;
		m->lw_count += nkept;
	}
}

/* The LUN closes (or the mirror cannot hold them): every held write fails
 * now, from here (tgt waits for them before it frees the LUN). */
void ll_lease_waiters_fail(struct ll_mirror *m, const char *why)
{
	struct lease_wait *w = m->lw_head, *next;

	m->lw_head = m->lw_tail = NULL;
	m->lw_count = 0;
	for (; w; w = next) {
		next = w->next;
		fail_one(m, w, why);
	}
}

/* ---- deposed --------------------------------------------------------------- */

/* Leg g answered RESERVATION CONFLICT to what: a newer primary holds it. */
void ll_lease_deposed(struct ll_leg *g, const char *what)
{
	struct ll_mirror *m = g->m;
	struct ll_lease *ls = &m->l->lease;

	if (!ls->deposed) {
		ls->deposed = 1;
		ls->deposed_epoch = ls->epoch;
		leg_err(g, "answered %s with RESERVATION CONFLICT: a newer primary holds this "
			"leg's reservation, so this mirror is deposed (epoch %" PRIu64 "): reads "
			"and writes fail from now on (NOT READY, TARGET PORT IN STANDBY STATE), "
			"the leg is not marked out of date and the volume does not go degraded; "
			"only a lease with a higher epoch makes this node the owner again\n", what, ls->epoch);
	} else {
		leg_info(g, "answered %s with RESERVATION CONFLICT too (deposed)\n", what);
	}
	ll_lease_waiters_run(m);
}

/* ---- the mirror hears of a change ----------------------------------------- */

/* From lu_config (through the layers) and from the tick. */
int ll_mirror_lease_changed(struct ll_mirror *m)
{
	uint64_t epoch = m->l->lease.epoch;

	/* fenced only under a valid lease, and never by a deposed mirror */
	for (unsigned int i = 0; i < m->nlegs && ll_lease_legs_may_write(m, ll_now_ms()); i++) {
		struct ll_leg *g = &m->leg[i];

		/* a leg that takes writes, fenced for an older epoch (a fence
		 * in flight checks the epoch when it ends; a leg that came up
		 * from a probe begun under an older one is found by the tick) */
		if (g->fencing || g->fenced_epoch == epoch || !epoch)
			continue;
		if (leg_is(g, LEG_UP) || leg_is(g, LEG_SYNCING))
			ll_fence_start(g, 0);
	}
	/* a leg refused as newer or split before the manager recorded this
	 * copy's generation: its own generations were never recorded */
	if (ll_lease_recorded_gen(m, ll_now_ms()) == m->image->gen_current)
		ll_mirror_reprobe_split_legs(m);
	ll_lease_waiters_run(m);
	return 1;
}
