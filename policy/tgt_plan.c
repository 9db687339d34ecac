// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tgt_plan.c: decide what tgtadm must do so that tgtd serves what the
 * manager wants (see tgt.h).  A pure function of the actual state and the
 * wanted LUNs, so that every case (an empty tgtd, one already converged, a
 * restarted one, foreign targets, changed options) is a table row in
 * t/unit/policy-tgt.c, and so that running it twice on a converged tgtd
 * gives nothing to do.
 *
 * The order of the actions:
 *   1. owned targets no longer wanted go (--force: the manager moved the
 *      volume, its initiators must go too), and LUNs no longer wanted or
 *      to be replaced go, so that an image is never open twice;
 *   2. accounts: made (or made again when the password changed);
 *   3. missing targets are made, ACL entries and accounts no longer
 *      wanted unbound;
 *   4. LUNs are added, given their SCSI identity (serial, id) right after,
 *      then grown; an rdwr LUN whose file grew is made again;
 *   5. ACL entries and accounts bound: a host sees a LUN only once it has
 *      its identity;
 *   6. accounts the agent made that nothing wants any more go.
 * Targets whose IQN lacks the cluster's prefix are never named by any
 * action, and neither are accounts the agent did not make.
 *
 * Write leases (pg_lease_plan) are planned apart: they are pushed every
 * renewal, to LUNs the plan above made already.
 */
#include "tgt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One wanted target: the wanted LUNs that name its IQN. */
struct want_target {
	const char *iqn;
	unsigned int tid;
	const struct pg_target *have;	/* NULL: to be made */
	const struct pg_want_lun *first; /* its ACL and CHAP */
};

static struct pg_action *add(struct pg_plan *plan, enum pg_op op, unsigned int tid)
{
	struct pg_action *a;

	if (plan->n == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 16;
		struct pg_action *na = realloc(plan->actions, cap * sizeof(*na));

		if (!na)
			return NULL;
		plan->actions = na;
		plan->cap = cap;
	}
	a = &plan->actions[plan->n++];
	memset(a, 0, sizeof(*a));
	a->op = op;
	a->tid = tid;
	return a;
}

#define ADD(op, tid)							\
	({ struct pg_action *a_ = add(plan, (op), (tid));		\
	   if (!a_) { snprintf(err, errlen, "out of memory"); goto err; } a_; })

static bool owned(const char *iqn, const char *prefix)
{
	size_t n = strlen(prefix);

	return n && !strncmp(iqn, prefix, n) && iqn[n];
}

static bool target_wanted(const struct want_target *wt, size_t nwt, const char *iqn)
{
	for (size_t k = 0; k < nwt; k++)
		if (!strcmp(wt[k].iqn, iqn))
			return true;
	return false;
}

static bool in_acl(char (*acl)[PG_IQN_MAX + 1], size_t n, const char *e)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(acl[i], e))
			return true;
	return false;
}

static const struct pg_want_lun *wanted_lun(const struct pg_want_lun *want, size_t n,
					    const char *iqn, unsigned int lun)
{
	for (size_t i = 0; i < n; i++)
		if (want[i].lun == lun && !strcmp(want[i].iqn, iqn))
			return &want[i];
	return NULL;
}

static const struct pg_lun *have_lun(const struct pg_target *t, unsigned int lun)
{
	for (size_t i = 0; t && i < t->nluns; i++)
		if (t->luns[i].lun == lun)
			return &t->luns[i];
	return NULL;
}

/* Whether tgtd's size of l (MB of 10^6 bytes, rounded) may be bytes:
 * either rounding, so that a file tgtd serves whole is never taken for a
 * grown one. */
static bool size_shown_is(const struct pg_lun *l, uint64_t bytes)
{
	return l->size_mb == bytes / 1000000 || l->size_mb == (bytes + 999999) / 1000000;
}

static bool same_lun(const struct pg_lun *l, const struct pg_want_lun *w)
{
	return !strcmp(l->path, w->path) && !strcmp(l->bstype, w->bstype) &&
	       (!l->bsopts_known || !strcmp(l->bsopts, w->bsopts)) &&
	       /* an rdwr file that grew: tgtd reads its size only when the
		* LUN is made */
	       (strcmp(w->bstype, "rdwr") || !w->file_bytes || size_shown_is(l, w->file_bytes));
}

/* Whether l lacks the identity w wants ("" wants tgt's default). */
static bool identity_differs(const struct pg_lun *l, const struct pg_want_lun *w)
{
	return (w->scsi_sn[0] && strcmp(l->scsi_sn, w->scsi_sn)) ||
	       (w->scsi_id[0] && strcmp(l->scsi_id, w->scsi_id));
}

static bool same_access(const struct pg_want_lun *a, const struct pg_want_lun *b)
{
	if (a->nacl != b->nacl || strcmp(a->chap_user, b->chap_user) ||
	    strcmp(a->chap_password, b->chap_password))
		return false;
	for (size_t i = 0; i < a->nacl; i++)
		if (!in_acl(b->acl, b->nacl, a->acl[i]))
			return false;
	return true;
}

/* Each want, checked on its own and against the others. */
static int check_wants(const struct pg_want_lun *want, size_t n, const char *prefix, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct pg_want_lun *w = &want[i];
		const char *v = w->volume ? w->volume : "?";

		if (!owned(w->iqn, prefix)) {
			snprintf(err, errlen, "volume %s: its target %s is outside the cluster's "
				 "prefix %s, which is all this agent manages", v, w->iqn, prefix);
			return -1;
		}
		if (w->lun < 1 || w->lun > PG_LUNS_MAX || w->path[0] != '/' ||
		    (strcmp(w->bstype, "lunlink") && strcmp(w->bstype, "rdwr"))) {
			snprintf(err, errlen, "volume %s: LUN %u of %s must be 1..%d, with an "
				 "absolute path and bstype lunlink or rdwr", v, w->lun, w->iqn,
				 PG_LUNS_MAX);
			return -1;
		}
		for (size_t k = 0; k < i; k++) {
			const struct pg_want_lun *o = &want[k];

			if (strcmp(o->iqn, w->iqn))
				continue;
			if (o->lun == w->lun) {
				snprintf(err, errlen, "volumes %s and %s both want LUN %u of %s",
					 o->volume ? o->volume : "?", v, w->lun, w->iqn);
				return -1;
			}
			if (!same_access(o, w)) {
				snprintf(err, errlen, "volumes %s and %s share the target %s but "
					 "not its ACL and CHAP account", o->volume ? o->volume : "?",
					 v, w->iqn);
				return -1;
			}
		}
	}
	return 0;
}

static bool tid_used(const struct pg_actual *actual, const struct want_target *wt, size_t nwt,
		     unsigned int tid)
{
	for (size_t i = 0; i < actual->ntargets; i++)
		if (actual->targets[i].tid == tid)
			return true;
	for (size_t i = 0; i < nwt; i++)
		if (wt[i].tid == tid)
			return true;
	return false;
}

/* The password the record knows for user, or NULL if the agent did not
 * make it (or it is not in tgtd's list at all: *listed false). */
static const char *known_password(const struct pg_actual *a, const char *user, bool *listed)
{
	*listed = false;
	for (size_t i = 0; i < a->nusers; i++)
		if (!strcmp(a->users[i], user)) {
			*listed = true;
			return a->passwords && a->passwords[i][0] ? a->passwords[i] : NULL;
		}
	return NULL;
}

static bool user_wanted(const struct pg_want_lun *want, size_t n, const char *user)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(want[i].chap_user, user))
			return true;
	return false;
}

int pg_plan_make(const struct pg_actual *actual, const struct pg_want_lun *want, size_t n,
		 const char *prefix, struct pg_plan *plan, char *err, size_t errlen)
{
	struct want_target *wt = NULL;
	char (*remade)[PG_USER_MAX + 1] = NULL;	/* accounts made again: bind anew */
	size_t nwt = 0, nremade = 0;
	struct pg_action *a;

	memset(plan, 0, sizeof(*plan));
	if (check_wants(want, n, prefix, err, errlen))
		return -1;
	wt = calloc(n ? n : 1, sizeof(*wt));
	remade = calloc(n ? n : 1, sizeof(*remade));
	if (!wt || !remade) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	/* the wanted targets, in the order first named, with the tid they
	 * have, or will have */
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < nwt && strcmp(wt[k].iqn, want[i].iqn); k++)
			;
		if (k < nwt)
			continue;
		wt[nwt].iqn = want[i].iqn;
		wt[nwt].first = &want[i];
		wt[nwt].have = pg_actual_target(actual, want[i].iqn);
		nwt++;
	}
	for (size_t k = 0; k < nwt; k++) {
		unsigned int tid = wt[k].first->tid;

		if (wt[k].have) {
			wt[k].tid = wt[k].have->tid;
			continue;
		}
		if (tid < 1 || tid > PG_TID_MAX || tid_used(actual, wt, nwt, tid))
			for (tid = 1; tid <= PG_TID_MAX && tid_used(actual, wt, nwt, tid); tid++)
				;
		if (tid > PG_TID_MAX) {
			snprintf(err, errlen, "no free target id left in tgtd for %s", wt[k].iqn);
			goto err;
		}
		wt[k].tid = tid;
	}

	/* 1. owned targets not wanted; LUNs not wanted, or to be replaced */
	for (size_t i = 0; i < actual->ntargets; i++) {
		const struct pg_target *t = &actual->targets[i];

		if (!owned(t->iqn, prefix))
			continue;
		if (!target_wanted(wt, nwt, t->iqn)) {
			a = ADD(PG_TARGET_DELETE, t->tid);
			snprintf(a->iqn, sizeof(a->iqn), "%s", t->iqn);
			continue;
		}
		for (size_t l = 0; l < t->nluns; l++) {
			const struct pg_want_lun *w;

			if (t->luns[l].lun == 0)
				continue;	/* tgt's own controller LUN */
			w = wanted_lun(want, n, t->iqn, t->luns[l].lun);
			if (w && same_lun(&t->luns[l], w))
				continue;
			a = ADD(PG_LUN_DELETE, t->tid);
			a->lun = t->luns[l].lun;
			snprintf(a->iqn, sizeof(a->iqn), "%s", t->iqn);
			snprintf(a->path, sizeof(a->path), "%.*s", PG_PATH_MAX, t->luns[l].path);
			a->volume = w ? w->volume : NULL;
		}
	}

	/* 2. accounts: made, or made again with a changed password */
	for (size_t k = 0; k < nwt; k++) {
		const struct pg_want_lun *w = wt[k].first;
		const char *pw;
		bool listed, dup = false;

		if (!w->chap_user[0])
			continue;
		for (size_t j = 0; j < k; j++)
			dup |= !strcmp(wt[j].first->chap_user, w->chap_user);
		if (dup)
			continue;
		pw = known_password(actual, w->chap_user, &listed);
		if (listed && pw && !strcmp(pw, w->chap_password))
			continue;
		if (listed) {
			/* tgtd shows no password: one the record does not know
			 * is set again (sessions already logged in stay) */
			a = ADD(PG_ACCOUNT_DELETE, 0);
			snprintf(a->name, sizeof(a->name), "%s", w->chap_user);
			a->volume = w->volume;
			snprintf(remade[nremade++], sizeof(*remade), "%s", w->chap_user);
		}
		a = ADD(PG_ACCOUNT_NEW, 0);
		snprintf(a->name, sizeof(a->name), "%s", w->chap_user);
		snprintf(a->password, sizeof(a->password), "%s", w->chap_password);
		a->volume = w->volume;
	}

	/* 3. targets made; ACL entries and accounts no longer wanted unbound */
	for (size_t k = 0; k < nwt; k++) {
		const struct pg_target *t = wt[k].have;
		const struct pg_want_lun *w = wt[k].first;

		if (!t) {
			a = ADD(PG_TARGET_NEW, wt[k].tid);
			snprintf(a->iqn, sizeof(a->iqn), "%s", wt[k].iqn);
			a->volume = w->volume;
		}
		for (size_t i = 0; t && i < t->nacl; i++) {
			if (in_acl(w->acl, w->nacl, t->acl[i]))
				continue;
			a = ADD(PG_ACL_UNBIND, wt[k].tid);
			snprintf(a->iqn, sizeof(a->iqn), "%s", wt[k].iqn);
			snprintf(a->name, sizeof(a->name), "%s", t->acl[i]);
		}
		for (size_t i = 0; t && i < t->naccounts; i++) {
			const struct pg_account *ac = &t->accounts[i];

			if (!ac->outgoing && !strcmp(ac->user, w->chap_user))
				continue;
			a = ADD(PG_ACCOUNT_UNBIND, wt[k].tid);
			snprintf(a->iqn, sizeof(a->iqn), "%s", wt[k].iqn);
			snprintf(a->name, sizeof(a->name), "%s", ac->user);
			a->outgoing = ac->outgoing;
		}
	}

	/* 4. LUNs added, given their identity at once, and grown: before any
	 * initiator is bound to a new target, so that no host sees a LUN
	 * without its SCSI serial and id */
	for (size_t i = 0; i < n; i++) {
		const struct pg_want_lun *w = &want[i];
		const struct pg_target *t = pg_actual_target(actual, w->iqn);
		const struct pg_lun *l = have_lun(t, w->lun);
		unsigned int tid = 0;
		bool made = !l || !same_lun(l, w), reread;

		for (size_t k = 0; k < nwt; k++)
			if (!strcmp(wt[k].iqn, w->iqn))
				tid = wt[k].tid;
		if (made) {
			a = ADD(PG_LUN_NEW, tid);
			a->lun = w->lun;
			snprintf(a->iqn, sizeof(a->iqn), "%s", w->iqn);
			snprintf(a->path, sizeof(a->path), "%s", w->path);
			snprintf(a->bstype, sizeof(a->bstype), "%s", w->bstype);
			snprintf(a->bsopts, sizeof(a->bsopts), "%s", w->bsopts);
			a->volume = w->volume;
		}
		if ((w->scsi_sn[0] || w->scsi_id[0]) && (made || identity_differs(l, w))) {
			a = ADD(PG_LUN_IDENTITY, tid);
			a->lun = w->lun;
			snprintf(a->iqn, sizeof(a->iqn), "%s", w->iqn);
			snprintf(a->scsi_sn, sizeof(a->scsi_sn), "%s", w->scsi_sn);
			snprintf(a->scsi_id, sizeof(a->scsi_id), "%s", w->scsi_id);
			a->volume = w->volume;
		}
		/* a raw leg's file grown already: reread unless tgtd shows its
		 * size (a LUN made now reads it) */
		reread = w->reread && !(w->file_bytes && (made || size_shown_is(l, w->file_bytes)));
		if ((w->grow_to || reread) && !strcmp(w->bstype, "lunlink")) {
			a = ADD(PG_LUN_RESIZE, tid);
			a->lun = w->lun;
			a->size = w->grow_to;	/* 0: resize=reread */
			snprintf(a->iqn, sizeof(a->iqn), "%s", w->iqn);
			a->volume = w->volume;
		}
	}

	/* 5. ACL entries and accounts bound */
	for (size_t k = 0; k < nwt; k++) {
		const struct pg_target *t = wt[k].have;
		const struct pg_want_lun *w = wt[k].first;
		bool bound = false;

		for (size_t i = 0; i < w->nacl; i++) {
			if (t && in_acl(t->acl, t->nacl, w->acl[i]))
				continue;
			a = ADD(PG_ACL_BIND, wt[k].tid);
			snprintf(a->iqn, sizeof(a->iqn), "%s", wt[k].iqn);
			snprintf(a->name, sizeof(a->name), "%s", w->acl[i]);
			a->volume = w->volume;
		}
		for (size_t i = 0; t && i < t->naccounts; i++) {
			const struct pg_account *ac = &t->accounts[i];
			bool again = false;

			if (ac->outgoing || strcmp(ac->user, w->chap_user))
				continue;
			for (size_t j = 0; j < nremade; j++)
				again |= !strcmp(remade[j], ac->user);
			bound = !again;
		}
		if (w->chap_user[0] && !bound) {
			a = ADD(PG_ACCOUNT_BIND, wt[k].tid);
			snprintf(a->iqn, sizeof(a->iqn), "%s", wt[k].iqn);
			snprintf(a->name, sizeof(a->name), "%s", w->chap_user);
			a->volume = w->volume;
		}
	}

	/* 6. accounts the agent made (the record knows their password) and
	 * that no wanted target uses, unless a foreign target binds them */
	for (size_t u = 0; u < actual->nusers; u++) {
		bool foreign = false, listed;

		if (!known_password(actual, actual->users[u], &listed) ||
		    user_wanted(want, n, actual->users[u]))
			continue;
		for (size_t i = 0; i < actual->ntargets; i++) {
			const struct pg_target *t = &actual->targets[i];

			for (size_t j = 0; j < t->naccounts; j++)
				foreign |= !owned(t->iqn, prefix) &&
					   !strcmp(t->accounts[j].user, actual->users[u]);
		}
		if (foreign)
			continue;
		a = ADD(PG_ACCOUNT_DELETE, 0);
		snprintf(a->name, sizeof(a->name), "%s", actual->users[u]);
	}
	free(wt);
	free(remade);
	return 0;
err:
	free(wt);
	free(remade);
	pg_plan_free(plan);
	return -1;
}

void pg_plan_free(struct pg_plan *plan)
{
	free(plan->actions);
	memset(plan, 0, sizeof(*plan));
}

bool pg_bsopts_has(const char *bsopts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = bsopts; n && (p = strstr(p, opt)); p++)
		if ((p == bsopts || p[-1] == ';') && (!p[n] || p[n] == ';'))
			return true;
	return false;
}

/* Whether bsopts hold an option named key ("pr_socket"), whatever its value. */
static bool bsopts_has_key(const char *bsopts, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = bsopts; n && (p = strstr(p, key)); p++)
		if ((p == bsopts || p[-1] == ';') && p[n] == '=')
			return true;
	return false;
}

int pg_bsopts_for_node(const char *bsopts, const char *pr_socket, char *out, size_t outlen,
		       char *err, size_t errlen)
{
	int n;

	if (!pr_socket || !pg_bsopts_has(bsopts, "pr=cluster") ||
	    bsopts_has_key(bsopts, "pr_socket")) {
		n = snprintf(out, outlen, "%s", bsopts);
	} else {
		for (const char *c = pr_socket; *c; c++)
			if (*c <= ' ' || *c > '~' || *c == ';' || *c == ',') {
				snprintf(err, errlen, "the agent's pr_socket '%.200s' cannot go in "
					 "bsopts (they take no ';', ',', space or unprintable "
					 "character): set pr_socket to another path", pr_socket);
				return -1;
			}
		n = snprintf(out, outlen, "%s;pr_socket=%s", bsopts, pr_socket);
	}
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "bsopts '%.200s' with pr_socket=%.200s are longer than the %zu "
			 "characters tgtd takes", bsopts, pr_socket ? pr_socket : "", outlen - 1);
		return -1;
	}
	return 0;
}

int pg_lease_plan(const struct pg_actual *actual, const struct pg_lease_push *push, size_t n,
		  int64_t now_ms, struct pg_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	for (size_t i = 0; i < n; i++) {
		const struct pg_want_lun *w = push[i].lun;
		const struct pg_target *t = pg_actual_target(actual, w->iqn);
		const struct pg_lun *l = NULL;
		struct pg_action *a;

		if (push[i].deadline_ms <= now_ms || !pg_bsopts_has(w->bsopts, "lease=on") || !t)
			continue;
		for (size_t k = 0; k < t->nluns && !l; k++)
			if (t->luns[k].lun == w->lun && !strcmp(t->luns[k].path, w->path))
				l = &t->luns[k];
		/* a LUN made before lease=on (the reconcile replaces it) */
		if (!l || (l->bsopts_known && !pg_bsopts_has(l->bsopts, "lease=on")))
			continue;
		a = add(plan, PG_LUN_LEASE, t->tid);
		if (!a) {
			pg_plan_free(plan);
			return -1;
		}
		a->lun = w->lun;
		snprintf(a->iqn, sizeof(a->iqn), "%s", w->iqn);
		a->epoch = push[i].epoch;
		a->deadline_ms = push[i].deadline_ms;
		a->has_gen = push[i].has_gen;
		a->gen = push[i].gen;
		a->volume = w->volume;
	}
	return 0;
}

void pg_action_describe(const struct pg_action *a, char *buf, size_t len)
{
	switch (a->op) {
	case PG_ACCOUNT_DELETE:
		snprintf(buf, len, "delete the CHAP account %s", a->name);
		break;
	case PG_ACCOUNT_NEW:
		snprintf(buf, len, "make the CHAP account %s", a->name);
		break;
	case PG_TARGET_NEW:
		snprintf(buf, len, "make target %u (%s)", a->tid, a->iqn);
		break;
	case PG_ACL_BIND:
		snprintf(buf, len, "allow %s on target %u (%s)", a->name, a->tid, a->iqn);
		break;
	case PG_ACL_UNBIND:
		snprintf(buf, len, "stop allowing %s on target %u (%s)", a->name, a->tid, a->iqn);
		break;
	case PG_ACCOUNT_BIND:
		snprintf(buf, len, "bind the CHAP account %s to target %u (%s)", a->name, a->tid,
			 a->iqn);
		break;
	case PG_ACCOUNT_UNBIND:
		snprintf(buf, len, "unbind the %sCHAP account %s from target %u (%s)",
			 a->outgoing ? "outgoing " : "", a->name, a->tid, a->iqn);
		break;
	case PG_LUN_DELETE:
		snprintf(buf, len, "delete LUN %u of target %u (%s, %s)", a->lun, a->tid, a->iqn,
			 a->path[0] ? a->path : "no backing store");
		break;
	case PG_LUN_NEW:
		snprintf(buf, len, "add LUN %u to target %u (%s): %s, %s%s%s%s", a->lun, a->tid,
			 a->iqn, a->path, a->bstype, a->bsopts[0] ? ", bsopts '" : "", a->bsopts,
			 a->bsopts[0] ? "'" : "");
		break;
	case PG_LUN_RESIZE:
		if (a->size)
			snprintf(buf, len, "grow LUN %u of target %u (%s) to %" PRIu64 " bytes",
				 a->lun, a->tid, a->iqn, a->size);
		else
			snprintf(buf, len, "make LUN %u of target %u (%s) read its image's size "
				 "again", a->lun, a->tid, a->iqn);
		break;
	case PG_LUN_IDENTITY:
		snprintf(buf, len, "set LUN %u of target %u (%s)'s identity: scsi_sn %s, "
			 "scsi_id %s", a->lun, a->tid, a->iqn, a->scsi_sn[0] ? a->scsi_sn : "kept",
			 a->scsi_id[0] ? a->scsi_id : "kept");
		break;
	case PG_TARGET_DELETE:
		snprintf(buf, len, "delete target %u (%s) and its LUNs", a->tid, a->iqn);
		break;
	case PG_LUN_LEASE:
		snprintf(buf, len, "give LUN %u of target %u (%s) the write lease of epoch %" PRIu64
			 ", good for %" PRId64 " ms", a->lun, a->tid, a->iqn, a->epoch,
			 a->deadline_ms - ll_mono_ms());
		break;
	default:
		snprintf(buf, len, "unknown action %d", (int)a->op);
	}
}
