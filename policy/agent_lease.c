// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * agent_lease.c: the node agent renews the write leases of the volumes
 * whose primary it serves and pushes them to tgtd (see agent_lease.h).
 *
 * The timing, all on this host's CLOCK_MONOTONIC (ll_mono_ms):
 *
 *   sent    the renewal leaves (before the call is started)
 *   ttl     the manager's answer: its deadline is its receipt + ttl,
 *           and its receipt is after sent
 *   margin  a tenth of ttl
 *
 * The lease is good here until sent + ttl - margin, and each push gives
 * tgtd that deadline itself (lease=EPOCH:@DEADLINE_MS): tgtd runs on this
 * host and reads the same CLOCK_MONOTONIC, so it stops acknowledging
 * writes at the agent's deadline, before the manager could think the
 * lease free, however late the update reaches it.  The margin is left for
 * the two hosts' clock rates.  (Counting from sent, not from the answer's
 * arrival: the manager's receipt is between the two, so only sent is
 * surely before it.)
 *
 * A renewal every ttl/3: two may fail in a row and the lease still
 * holds.  One call is out at a time; one still out when the next is due
 * is cancelled (its answer would be worth less than a fresh one's).  A
 * renewal names at most LEASE_BATCH volumes, so that its body stays far
 * below the manager's 64 KiB (PJR_MAX_BODY) with the longest names; a
 * node holding more renews them in calls one after the other, each
 * answer pushed to tgtd as it comes, each batch's deadline counted from
 * its own sending.  A
 * manager that does not answer is said once; the leases held run out at
 * their deadline by themselves, in tgtd, with no word from the agent.
 *
 * The generation: each renewal carries the generation of each LUN (its
 * status file), and the manager answers the one it recorded, which is
 * pushed with the lease (lease=EPOCH:@DEADLINE_MS:GENERATION): the module
 * acknowledges no write of another.  So a new generation (a leg dropped,
 * a new term) is looked for every PG_LEASE_GEN_POLL_MS in the status
 * files of the LUNs pushed to, and renewed at once: its writes wait for
 * that round trip.
 *
 * What a push costs the loop: tgtadm runs to completion in it, as the
 * reconcile's does: one 'tgtadm --op show' to find the LUNs and one
 * update per lease, each a fork, an exec and a round trip on tgtd's
 * control socket (a few ms), at every renewal (ttl/3).  Each is bounded
 * by the tgt timeout (10 s), so a wedged tgtd can hold the loop for
 * 10 s per call; the renewals, the PR socket and the reports wait
 * meanwhile, but they all serve that same tgtd.  A slow push costs no
 * safety: the deadline it carries is absolute, and one tgtd receives
 * after it passed leaves the lease expired there at once (said by the
 * agent when the push ends after the deadline, and by tgtd's log).  A
 * time namespace between the agent and tgtd would break this (the
 * module refuses a deadline more than a day ahead of its clock, which
 * catches only the gross case): run both in the host's.
 */
#include "agent_lease.h"
#include "status_file.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENEW_TIMEOUT_MIN_MS	500
/* volumes one renewal names: a name of PG_VOLUME_NAME_MAX (63) bytes costs
 * at most 66 in "volumes" and 87 in "generations", so 128 of them about
 * 20 KiB of the body's 64 KiB */
#define LEASE_BATCH		128

/* A volume whose lease the agent renews. */
struct held {
	char volume[PG_VOLUME_NAME_MAX + 1];
	uint64_t epoch;			/* 0: none granted yet */
	int64_t deadline_ms;		/* good until (ll_mono_ms); 0: none */
	uint64_t pushed_epoch;		/* the last epoch tgtd took */
	/* the LUN's generation as its status file said (0: not read yet),
	 * and the one the manager recorded (has_gen: it answered one) */
	uint64_t gen_seen;
	bool has_gen;
	uint64_t gen;
	uint64_t pushed_gen;		/* the last generation tgtd took */
	unsigned int tid, lun;		/* where it was pushed (0: not yet) */
	char said[1536];		/* the last refusal or push failure said */
};

struct pg_leases {
	struct pg_leases_opts o;
	struct event *timer;
	struct event *gen_timer;	/* looks for new generations */
	bool renew_again;		/* a new one came while a renewal was out */
	struct pa_acall *call;		/* the renewal under way */
	size_t batch_end;		/* it names held[..batch_end) from where it began */
	int64_t sent_ms;		/* when it left */
	int64_t ttl_ms;			/* the manager's, from its last answer */
	const struct pg_desired *d;
	struct held *held;
	size_t nheld;
	char err_said[1024];		/* the last failure of a renewal said */
};

#define say(x, ...)	pa_logf((x)->o.log, (x)->o.log_arg, __VA_ARGS__)

static void arm(struct pg_leases *l)
{
	int64_t ms = l->ttl_ms / 3;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	event_add(l->timer, &tv);
}

/* The desired LUN of volume name, if it serves with lease=on. */
static const struct pg_want_lun *lease_lun(const struct pg_desired *d, const char *name)
{
	for (size_t i = 0; d && i < d->n; i++) {
		const struct pg_volume *v = &d->volumes[i];

		if (!strcmp(v->name, name))
			return v->has_lun && !v->delete &&
			       pg_bsopts_has(v->lun.bsopts, "lease=on") ? &v->lun : NULL;
	}
	return NULL;
}

/* ---- pushing to tgtd ---- */

static void push(struct pg_leases *l)
{
	struct pg_lease_push *p = calloc(l->nheld ? l->nheld : 1, sizeof(*p));
	struct held **of = calloc(l->nheld ? l->nheld : 1, sizeof(*of));
	struct pg_actual actual;
	struct pg_plan plan = { 0 };
	int64_t now = ll_mono_ms();
	char err[1536];
	size_t n = 0, failed;

	if (!p || !of)
		goto out;
	for (size_t i = 0; i < l->nheld; i++) {
		const struct pg_want_lun *w = lease_lun(l->d, l->held[i].volume);

		if (!w || l->held[i].deadline_ms <= now)
			continue;
		of[n] = &l->held[i];
		p[n++] = (struct pg_lease_push){ .lun = w, .epoch = l->held[i].epoch,
						 .deadline_ms = l->held[i].deadline_ms,
						 .has_gen = l->held[i].has_gen,
						 .gen = l->held[i].gen };
	}
	/* tgtd down: the agent's report says so; nothing to push to */
	if (!n || pg_tgt_read(l->o.tgt, &actual, err, sizeof(err)))
		goto out;
	if (pg_lease_plan(&actual, p, n, now, &plan)) {
		pg_actual_free(&actual);
		goto out;
	}
	pg_actual_free(&actual);
	for (size_t k = 0; k < plan.n; k++) {
		const struct pg_action *x = &plan.actions[k];
		struct pg_plan one = { .actions = &plan.actions[k], .n = 1, .cap = 1 };
		struct held *h = NULL;

		for (size_t i = 0; i < n && !h; i++)
			if (!strcmp(of[i]->volume, x->volume))
				h = of[i];
		if (!h)
			continue;
		int64_t t0 = ll_mono_ms(), took;

		if (pg_plan_apply(l->o.tgt, &one, &failed, err, sizeof(err))) {
			if (strcmp(err, h->said))
				say(l, "agent: volume %s: %s", h->volume, err);
			snprintf(h->said, sizeof(h->said), "%s", err);
			continue;
		}
		if (h->pushed_epoch != x->epoch)
			say(l, "agent: volume %s: LUN %u of target %u holds the write lease of epoch "
			    "%" PRIu64, h->volume, x->lun, x->tid, x->epoch);
		if (x->has_gen && h->pushed_gen != x->gen)
			say(l, "agent: volume %s: LUN %u of target %u acknowledges the writes of "
			    "generation %016" PRIx64 " (recorded by the manager)", h->volume, x->lun,
			    x->tid, x->gen);
		took = ll_mono_ms() - t0;
		if (t0 + took >= x->deadline_ms)
			say(l, "agent: volume %s: pushing its write lease to tgtd took %" PRId64 " ms, "
			    "and its deadline passed meanwhile: tgtd holds it expired, and holds "
			    "the writes until the next renewal; a tgtd this slow to answer tgtadm "
			    "should be looked at (its log, its load)", h->volume, took);
		h->pushed_epoch = x->epoch;
		h->pushed_gen = x->has_gen ? x->gen : 0;
		h->tid = x->tid;
		h->lun = x->lun;
		h->said[0] = '\0';
	}
out:
	pg_plan_free(&plan);
	free(p);
	free(of);
}

/* ---- renewing ---- */

/* h's LUN's generation, from its status file, into h->gen_seen (kept if
 * the file cannot be read: not pushed to yet, tgtd down). */
static void read_gen(struct pg_leases *l, struct held *h)
{
	uint64_t epoch, gen;
	char word[8];

	if (h->tid && pg_status_lease(l->o.status_dir, l->o.tgt->control_port, h->tid, h->lun,
				      word, &epoch, &gen) == 1 && gen)
		h->gen_seen = gen;
}

static struct held *held_of(struct pg_leases *l, const char *name)
{
	for (size_t i = 0; i < l->nheld; i++)
		if (!strcmp(l->held[i].volume, name))
			return &l->held[i];
	return NULL;
}

static void renew(struct pg_leases *l);
static void renew_from(struct pg_leases *l, size_t from);

static void on_renewed(void *arg, long status, json_object *reply, const char *err)
{
	struct pg_leases *l = arg;
	json_object *leases = NULL, *refused = NULL, *v;
	int64_t ttl;

	(void)status;
	l->call = NULL;
	if (err) {
		if (strcmp(err, l->err_said))
			say(l, "agent: renewing the write leases of %zu volume%s: %s; tgtd stops "
			    "acknowledging their writes when the leases run out", l->nheld,
			    l->nheld == 1 ? "" : "s", err);
		snprintf(l->err_said, sizeof(l->err_said), "%s", err);
		return;
	}
	if (l->err_said[0])
		say(l, "agent: the manager renews the write leases again");
	l->err_said[0] = '\0';
	ttl = json_object_object_get_ex(reply, "ttl_ms", &v) ? json_object_get_int64(v) : 0;
	if (ttl >= 1000 && ttl <= 300000 && ttl != l->ttl_ms) {
		l->ttl_ms = ttl;
		arm(l);		/* renewals every third of the manager's ttl */
	}
	json_object_object_get_ex(reply, "leases", &leases);
	json_object_object_get_ex(reply, "refused", &refused);
	for (size_t i = 0; i < l->nheld; i++) {
		struct held *h = &l->held[i];
		json_object *g = NULL, *why = NULL;

		if (leases && json_object_object_get_ex(leases, h->volume, &g) &&
		    json_object_is_type(g, json_type_object)) {
			int64_t epoch = 0, gttl = 0;

			if (json_object_object_get_ex(g, "epoch", &v))
				epoch = json_object_get_int64(v);
			if (json_object_object_get_ex(g, "ttl_ms", &v))
				gttl = json_object_get_int64(v);
			if (epoch < 1 || gttl < 1000 || gttl > 300000)
				continue;	/* not an answer this agent can trust */
			if ((uint64_t)epoch != h->epoch)
				say(l, "agent: volume %s: write lease of epoch %" PRId64 " from the "
				    "manager", h->volume, epoch);
			h->epoch = (uint64_t)epoch;
			h->deadline_ms = l->sent_ms + gttl - PG_LEASE_MARGIN_MS(gttl);
			h->has_gen = json_object_object_get_ex(g, "generation", &v) &&
				     json_object_is_type(v, json_type_string) &&
				     !pg_generation_parse(json_object_get_string(v),
							  strlen(json_object_get_string(v)), &h->gen);
			if (!strncmp(h->said, "refused", 7))
				h->said[0] = '\0';
		} else if (refused && json_object_object_get_ex(refused, h->volume, &why)) {
			char line[512];

			snprintf(line, sizeof(line), "refused: %s", json_object_get_string(why));
			if (strcmp(line, h->said))
				say(l, "agent: volume %s: the manager %s", h->volume, line);
			snprintf(h->said, sizeof(h->said), "%s", line);
			h->deadline_ms = 0;	/* what tgtd holds runs out */
		}
	}
	push(l);
	if (l->batch_end < l->nheld) {	/* the round's next batch */
		renew_from(l, l->batch_end);
		return;
	}
	if (l->renew_again) {	/* a generation came meanwhile: report it now */
		l->renew_again = false;
		renew(l);
	}
}

/* A renewal of held[from..], LEASE_BATCH of them at most (on_renewed
 * sends the next batch). */
static void renew_from(struct pg_leases *l, size_t from)
{
	json_object *body, *names, *gens;
	char err[1024];
	long timeout = l->ttl_ms / 3;

	if (l->call) {
		pa_acall_cancel(l->call);
		l->call = NULL;
	}
	if (from >= l->nheld)
		return;
	l->batch_end = from + LEASE_BATCH < l->nheld ? from + LEASE_BATCH : l->nheld;
	body = json_object_new_object();
	names = json_object_new_array();
	gens = json_object_new_object();
	for (size_t i = from; i < l->batch_end; i++) {
		struct held *h = &l->held[i];
		char hex[17];

		json_object_array_add(names, json_object_new_string(h->volume));
		read_gen(l, h);
		if (!h->gen_seen)
			continue;
		snprintf(hex, sizeof(hex), "%016" PRIx64, h->gen_seen);
		json_object_object_add(gens, h->volume, json_object_new_string(hex));
	}
	json_object_object_add(body, "volumes", names);
	json_object_object_add(body, "generations", gens);
	l->sent_ms = ll_mono_ms();
	l->call = pa_aclient_call(l->o.client, "POST", "/v1/nodes/leases", body,
				  timeout < RENEW_TIMEOUT_MIN_MS ? RENEW_TIMEOUT_MIN_MS : timeout,
				  on_renewed, l, err, sizeof(err));
	json_object_put(body);
	if (!l->call && strcmp(err, l->err_said)) {
		say(l, "agent: renewing the write leases: %s", err);
		snprintf(l->err_said, sizeof(l->err_said), "%s", err);
	}
}

/* A round of renewals, from the first volume held. */
static void renew(struct pg_leases *l)
{
	renew_from(l, 0);
}

/* Whether a volume renewed has no lease good now. */
static bool one_lacks(struct pg_leases *l)
{
	int64_t now = ll_mono_ms();

	for (size_t i = 0; i < l->nheld; i++)
		if (l->held[i].deadline_ms <= now)
			return true;
	return false;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	renew(arg);
}

/* A LUN pushed to has a generation the manager has not recorded: renew
 * now (after the renewal out, if one is). */
static void on_gen_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pg_leases *l = arg;
	bool news = false;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < l->nheld; i++) {
		struct held *h = &l->held[i];
		uint64_t before = h->gen_seen;

		if (h->deadline_ms <= ll_mono_ms())
			continue;	/* no lease to renew */
		read_gen(l, h);
		if (h->gen_seen && h->gen_seen != before && (!h->has_gen || h->gen_seen != h->gen))
			news = true;
	}
	if (!news)
		return;
	if (l->call)
		l->renew_again = true;
	else
		renew(l);
}

/* ---- the interface ---- */

void pg_leases_want(struct pg_leases *l, const struct pg_desired *d)
{
	struct held *next;
	size_t n = 0;

	l->d = d;
	next = calloc(d && d->n ? d->n : 1, sizeof(*next));
	if (!next)
		return;
	for (size_t i = 0; d && i < d->n; i++) {
		const struct held *old;

		if (!lease_lun(d, d->volumes[i].name))
			continue;
		old = held_of(l, d->volumes[i].name);
		if (old)
			next[n] = *old;
		else
			snprintf(next[n].volume, sizeof(next[n].volume), "%s", d->volumes[i].name);
		n++;
	}
	free(l->held);
	l->held = next;
	l->nheld = n;
	if (one_lacks(l) && !l->call)
		renew(l);
}

void pg_leases_kick(struct pg_leases *l)
{
	push(l);
	if (one_lacks(l) && !l->call)
		renew(l);
}

struct pg_leases *pg_leases_new(struct event_base *base, const struct pg_leases_opts *o,
				char *err, size_t errlen)
{
	struct pg_leases *l = calloc(1, sizeof(*l));

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->o = *o;
	l->ttl_ms = PG_LEASE_TTL_GUESS_MS;
	l->timer = event_new(base, -1, EV_PERSIST, on_timer, l);
	if (!l->timer) {
		snprintf(err, errlen, "cannot make the leases' timer");
		free(l);
		return NULL;
	}
	l->gen_timer = event_new(base, -1, EV_PERSIST, on_gen_timer, l);
	if (!l->gen_timer) {
		snprintf(err, errlen, "cannot make the generations' timer");
		event_free(l->timer);
		free(l);
		return NULL;
	}
	event_add(l->gen_timer, &(struct timeval){ .tv_usec = PG_LEASE_GEN_POLL_MS * 1000 });
	arm(l);
	return l;
}

void pg_leases_free(struct pg_leases *l)
{
	if (!l)
		return;
	pa_acall_cancel(l->call);
	event_free(l->timer);
	event_free(l->gen_timer);
	free(l->held);
	free(l);
}
