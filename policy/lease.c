// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lease.c: write ownership of doubled volumes (issue 18; doc/policy.md,
 * "Write ownership: leases").  The node that serves a doubled volume's
 * primary holds the volume's lease from the manager; the mirror in its
 * tgtd acknowledges writes only while the lease its agent pushed is
 * valid, and fences the legs with a key derived from the lease's epoch.
 * (Not the store's leases, store.h, which keep nodes' alive keys.)
 *
 * What the manager keeps:
 *   - in the store, leases/NAME: who holds it and its epoch, written when
 *     it is granted and when it expires (each an event), deleted with the
 *     volume.  The epoch is the revision of the transaction that granted
 *     it, so it only grows, for every volume at once, across restarts;
 *   - in memory, each lease's deadline on this process's CLOCK_MONOTONIC:
 *     a wall clock that steps must not shorten or stretch a lease, and a
 *     renewal, every lease_ms/3 per node, must not cost a commit.
 *
 * A renewal by the holder before the deadline moves the deadline and
 * keeps the epoch; one after it, or by another node, is a new grant with
 * a new epoch.  A node that does not serve the volume's primary is
 * refused.  A lease held by another node is not granted again before its
 * deadline plus a grace (PM_LEASE_GRACE_MS), so that the holder's tgtd,
 * whose deadline is earlier still (its agent's margin), has stopped
 * acknowledging writes.  A restarted manager gives each held lease a full
 * lease_ms from its start, as the store does its leases: nobody could
 * renew while it was down.
 *
 * The generation: each renewal carries the generation of the primary's
 * copy (its status file); the manager records a new one in leases/NAME
 * (a commit, only when it changed) and answers the one recorded, which
 * the agent pushes with the lease: the module acknowledges no write of a
 * generation not recorded here.  So a leg whose superblock has the
 * recorded generation holds every acknowledged write: it may be promoted.
 *
 * Failover is not here yet: pm_leases_expired says which volumes' leases
 * have run out past the grace, the volumes a later step may promote a
 * leg of.
 */
#include "manager_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct pm_lease *find(struct pm_manager *m, const char *volume)
{
	for (size_t i = 0; i < m->nleases; i++)
		if (!strcmp(m->leases[i].volume, volume))
			return &m->leases[i];
	return NULL;
}

static struct pm_lease *find_or_add(struct pm_manager *m, const char *volume)
{
	struct pm_lease *e = find(m, volume), *grown;

	if (e)
		return e;
	grown = realloc(m->leases, (m->nleases + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	m->leases = grown;
	e = &m->leases[m->nleases++];
	memset(e, 0, sizeof(*e));
	snprintf(e->volume, sizeof(e->volume), "%s", volume);
	return e;
}

void pm_lease_forget(struct pm_manager *m, const char *volume)
{
	struct pm_lease *e = find(m, volume);

	if (!e)
		return;
	*e = m->leases[--m->nleases];
}

void pm_leases_free(struct pm_manager *m)
{
	free(m->leases);
	m->leases = NULL;
	m->nleases = 0;
}

int pm_leases_load(struct pm_manager *m, char *err, size_t errlen)
{
	struct ps_range rg = { 0 };
	int64_t now = ll_mono_ms();

	if (ps_range(m->st, PM_PREFIX "leases/", NULL, 0, &rg)) {
		snprintf(err, errlen, "cannot read the volumes' leases: %s", ps_error(m->st));
		return -1;
	}
	for (size_t i = 0; i < rg.count; i++) {
		json_object *rec = json_tokener_parse(rg.kvs[i].value);
		struct pm_lease *e = rec ? find_or_add(m, pm_str(rec, "volume")) : NULL;

		if (e) {
			snprintf(e->holder, sizeof(e->holder), "%s", pm_str(rec, "node_id"));
			snprintf(e->holder_name, sizeof(e->holder_name), "%s", pm_str(rec, "node"));
			e->epoch = pm_int(rec, "epoch");
			e->held = !strcmp(pm_str(rec, "state"), "held");
			snprintf(e->generation, sizeof(e->generation), "%s",
				 pm_str(rec, "generation"));
			/* a full lease from now: nobody could renew meanwhile */
			e->deadline_ms = now + m->o.lease_ms;
		}
		json_object_put(rec);
	}
	ps_range_free(&rg);
	return 0;
}

/* The record of e as the store keeps it; state "held" or "expired". */
static json_object *record(struct pm_manager *m, const struct pm_lease *e, const char *state)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "volume", json_object_new_string(e->volume));
	json_object_object_add(o, "node", json_object_new_string(e->holder_name));
	json_object_object_add(o, "node_id", json_object_new_string(e->holder));
	json_object_object_add(o, "epoch", json_object_new_int64(e->epoch));
	json_object_object_add(o, "state", json_object_new_string(state));
	if (e->generation[0])
		json_object_object_add(o, "generation", json_object_new_string(e->generation));
	json_object_object_add(o, "lease_ms", json_object_new_int64(m->o.lease_ms));
	json_object_object_add(o, !strcmp(state, "held") ? "granted_ms" : "expired_ms",
			       json_object_new_int64(ps_now_ms()));
	return o;
}

/* e ran out: its record says so (an event); e stays, not held, for the
 * grace and for pm_leases_expired.  -1 on a store error. */
static int expire(struct pm_manager *m, struct pm_lease *e)
{
	char key[PS_KEY_MAX + 1];
	json_object *old, *rec;
	int rc = 0;

	pm_key(key, "leases/%s", e->volume);
	old = pm_get(m, key, NULL);
	e->held = false;
	if (!old)	/* the volume went meanwhile */
		return 0;
	rec = record(m, e, "expired");
	if (ps_put(m->st, key, pm_text(rec), strlen(pm_text(rec)), 0, NULL)) {
		pm_log(m, "cannot record the expiry of volume %s's lease: %s", e->volume,
		       ps_error(m->st));
		rc = -1;
	} else {
		pm_log(m, "the lease of volume %s (epoch %" PRId64 ", node %s) expired: no renewal "
		       "for %" PRId64 " ms", e->volume, e->epoch, e->holder_name,
		       m->o.lease_ms);
	}
	json_object_put(rec);
	json_object_put(old);
	return rc;
}

void pm_leases_tick(struct pm_manager *m)
{
	int64_t now = ll_mono_ms();

	for (size_t i = 0; i < m->nleases; i++)
		if (m->leases[i].held && now >= m->leases[i].deadline_ms)
			expire(m, &m->leases[i]);
}

size_t pm_leases_expired(struct pm_manager *m, char (*names)[PJR_NAME_MAX + 1], size_t max)
{
	int64_t now = ll_mono_ms();
	size_t n = 0;

	for (size_t i = 0; i < m->nleases; i++) {
		const struct pm_lease *e = &m->leases[i];

		if ((!e->held || now >= e->deadline_ms) && now >= e->deadline_ms + PM_LEASE_GRACE_MS) {
			if (n < max)
				snprintf(names[n], PJR_NAME_MAX + 1, "%s", e->volume);
			n++;
		}
	}
	return n;
}

json_object *pm_lease_json(struct pm_manager *m, json_object *vol)
{
	const char *volume = pm_str(vol, "name");
	char key[PS_KEY_MAX + 1];
	const struct pm_lease *e = find(m, volume);
	int64_t left = e && e->held ? e->deadline_ms - ll_mono_ms() : 0;
	json_object *rec, *serving = NULL, *act, *lun;

	pm_key(key, "leases/%s", volume);
	rec = pm_get(m, key, NULL);
	if (!rec)
		return NULL;
	/* the record says what was last written; the clock, what holds now */
	json_object_object_add(rec, "state", json_object_new_string(left > 0 ? "held" : "expired"));
	json_object_object_add(rec, "left_ms", json_object_new_int64(left > 0 ? left : 0));
	json_object_object_del(rec, "volume");
	/* and what the primary's LUN holds, as its node last reported */
	json_object_object_get_ex(vol, "serving", &serving);
	pm_key(key, "actual/%s/%s", pm_str(serving, "node_id"), volume);
	act = pm_get(m, key, NULL);
	if (act && json_object_object_get_ex(act, "lease", &lun))
		json_object_object_add(rec, "lun", json_object_get(lun));
	json_object_put(act);
	return rec;
}

/* ---- POST /v1/nodes/leases ---- */

/*
 * A new lease of volume name for node (id, node_name), in one
 * transaction that holds only if neither the volume's record nor its
 * lease changed since they were read.  0 with e filled, 1 if they changed
 * meanwhile (why says so), -1 on a store error.
 */
static int grant(struct pm_manager *m, const char *name, int64_t vol_mod, const char *id,
		 const char *node_name, struct pm_lease **out, char *why, size_t len)
{
	char vkey[PS_KEY_MAX + 1], lkey[PS_KEY_MAX + 1];
	struct ps_kv lkv = { 0 };
	struct ps_cmp cmp[2];
	struct ps_op op = { .type = PS_OP_PUT, .key = lkey };
	struct ps_txn txn = { .cmp = cmp, .ncmp = 2, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res = { 0 };
	struct pm_lease *e, next = { 0 };
	json_object *rec = NULL;
	int64_t epoch = pm_next_revision(m);
	int rc = -1;

	pm_key(vkey, "volumes/%s", name);
	pm_key(lkey, "leases/%s", name);
	if (epoch < 0)
		return -1;
	if (ps_get(m->st, lkey, &lkv) == PS_ERROR)
		goto out;
	snprintf(next.volume, sizeof(next.volume), "%s", name);
	snprintf(next.holder, sizeof(next.holder), "%s", id);
	snprintf(next.holder_name, sizeof(next.holder_name), "%s", node_name);
	next.epoch = epoch;
	next.held = true;
	if (lkv.value) {	/* the recorded generation stays: a new term starts from it */
		json_object *old = json_tokener_parse(lkv.value);

		snprintf(next.generation, sizeof(next.generation), "%s", pm_str(old, "generation"));
		json_object_put(old);
	}
	rec = record(m, &next, "held");
	cmp[0] = (struct ps_cmp){ .key = vkey, .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL,
				  .number = vol_mod };
	cmp[1] = (struct ps_cmp){ .key = lkey, .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL,
				  .number = lkv.mod_revision };
	op.value = pm_text(rec);
	op.value_len = strlen(op.value);
	if (ps_txn(m->st, &txn, &res))
		goto out;
	if (!res.succeeded) {
		snprintf(why, len, "volume %s or its lease changed meanwhile; renew again", name);
		rc = 1;
		goto out;
	}
	if (res.revision != epoch) {
		/* another writer: the epoch in the record is not its revision */
		snprintf(why, len, "the store's revision moved under the manager (%" PRId64 ", not "
			 "%" PRId64 "): is another manager writing to it?", res.revision, epoch);
		pm_log(m, "volume %s's lease: %s", name, why);
		rc = 1;
		goto out;
	}
	e = find_or_add(m, name);
	if (!e)
		goto out;
	*e = next;
	e->deadline_ms = ll_mono_ms() + m->o.lease_ms;
	*out = e;
	rc = 0;
	pm_log(m, "node %s holds the lease of volume %s, epoch %" PRId64, node_name, name, epoch);
out:
	json_object_put(rec);
	ps_kv_free(&lkv);
	ps_txn_result_free(&res);
	return rc;
}

/* The holder of e reported generation gen: recorded in leases/NAME if it
 * is new (an event).  0, or -1 on a store error. */
static int record_generation(struct pm_manager *m, struct pm_lease *e, const char *gen)
{
	char key[PS_KEY_MAX + 1], before[17];
	json_object *rec;
	int rc = 0;

	if (!strcmp(e->generation, gen))
		return 0;
	snprintf(before, sizeof(before), "%s", e->generation);
	snprintf(e->generation, sizeof(e->generation), "%s", gen);
	pm_key(key, "leases/%s", e->volume);
	rec = record(m, e, "held");
	if (ps_put(m->st, key, pm_text(rec), strlen(pm_text(rec)), 0, NULL)) {
		pm_log(m, "cannot record volume %s's generation %s: %s", e->volume, gen,
		       ps_error(m->st));
		snprintf(e->generation, sizeof(e->generation), "%s", before);
		rc = -1;
	} else {
		pm_log(m, "volume %s: the primary's copy on node %s has generation %s (was %s): "
		       "its writes are acknowledged", e->volume, e->holder_name, gen,
		       before[0] ? before : "none");
	}
	json_object_put(rec);
	return rc;
}

/*
 * Whether the old holder of e, moved off volume vol's primary by a
 * promotion (vol's last_failover), has applied its new desired state: its
 * node reports that revision reconciled, so its tgtd serves the volume's
 * primary LUN no more (it exports the image raw) and acknowledges none of
 * its writes: its lease need not run out before another node's.
 */
static bool holder_let_go(struct pm_manager *m, const struct pm_lease *e, json_object *vol)
{
	char key[PS_KEY_MAX + 1];
	json_object *last = NULL, *act;
	bool yes;

	if (!json_object_object_get_ex(vol, "last_failover", &last) || !last)
		return false;
	pm_key(key, "actual/%s/%s", e->holder, e->volume);
	act = pm_get(m, key, NULL);
	yes = act && !strcmp(pm_str(act, "state"), "ready") &&
	      pm_int(act, "desired_revision") >= pm_int(last, "revision");
	json_object_put(act);
	return yes;
}

/*
 * One volume of a renewal by node id (named node_name): into leases
 * {"epoch","ttl_ms","granted"}, or into refused a sentence.  -1 on a
 * store error (the caller answers 500).
 */
static int renew_one(struct pm_manager *m, const char *name, const char *id,
		     const char *node_name, const char *gen, int64_t now, json_object *leases,
		     json_object *refused)
{
	char vkey[PS_KEY_MAX + 1], why[512] = "";
	struct ps_kv vkv = { 0 };
	json_object *vol = NULL, *serving, *l;
	struct pm_lease *e;
	bool granted = false;
	int rc = 0;

	pm_key(vkey, "volumes/%s", name);
	vol = pjr_name_valid(name, strlen(name)) ? pm_get(m, vkey, &vkv) : NULL;
	json_object_object_get_ex(vol, "serving", &serving);
	if (!vol)
		snprintf(why, sizeof(why), "no volume named '%s'", name);
	else if (strcmp(pm_str(vol, "way"), "doubled"))
		snprintf(why, sizeof(why), "volume %s is %s: only a doubled volume's primary holds "
			 "a lease", name, pm_str(vol, "way"));
	else if (!strcmp(pm_str(vol, "state"), "deleting"))
		snprintf(why, sizeof(why), "volume %s is deleting: its lease is not renewed, and "
			 "its LUN goes", name);
	else if (strcmp(pm_str(serving, "node_id"), id))
		snprintf(why, sizeof(why), "node %s does not serve volume %s's primary (node %s "
			 "does): only the primary's node holds its lease", node_name, name,
			 pm_str(serving, "node")[0] ? pm_str(serving, "node") : "none");
	if (why[0])
		goto refuse;
	e = find(m, name);
	if (e && e->held && now >= e->deadline_ms && expire(m, e))
		goto err;
	if (e && e->held && !strcmp(e->holder, id)) {
		e->deadline_ms = now + m->o.lease_ms;	/* renewed: the same epoch */
	} else if (e && strcmp(e->holder, id) && now < e->deadline_ms + PM_LEASE_GRACE_MS &&
		   !holder_let_go(m, e, vol)) {
		snprintf(why, sizeof(why), "the lease of volume %s is node %s's (epoch %" PRId64
			 ") for %" PRId64 " ms more, unless that node applies its move off the "
			 "primary first; this node is granted it after", name, e->holder_name,
			 e->epoch, e->deadline_ms + PM_LEASE_GRACE_MS - now);
		goto refuse;
	} else {
		rc = grant(m, name, vkv.mod_revision, id, node_name, &e, why, sizeof(why));
		if (rc < 0)
			goto err;
		if (rc > 0) {
			rc = 0;
			goto refuse;
		}
		granted = true;
	}
	if (gen && record_generation(m, e, gen))
		goto err;
	l = json_object_new_object();
	json_object_object_add(l, "epoch", json_object_new_int64(e->epoch));
	json_object_object_add(l, "ttl_ms", json_object_new_int64(m->o.lease_ms));
	json_object_object_add(l, "granted", json_object_new_boolean(granted));
	if (e->generation[0])
		json_object_object_add(l, "generation", json_object_new_string(e->generation));
	json_object_object_add(leases, name, l);
	goto out;
refuse:
	json_object_object_add(refused, name, json_object_new_string(why));
	goto out;
err:
	rc = -1;
out:
	ps_kv_free(&vkv);
	json_object_put(vol);
	return rc;
}

/*
 * POST /v1/nodes/leases {"volumes":[NAME...],"generations":{NAME:GEN}}:
 * the calling node (its certificate) renews the leases of the volumes it
 * serves as primary, all in one call, and reports their copies'
 * generations (optional, 16 hex digits).  200 {"id","ttl_ms","leases":
 * {NAME:{"epoch","ttl_ms","granted"[,"generation"]}},"refused":
 * {NAME:"why"}}: a volume refused does not fail the others.
 */
void pm_nodes_leases(struct pa_request *r, void *arg)
{
	static const char *const fields[] = { "volumes", "generations", NULL };
	struct pm_manager *m = arg;
	int64_t now = ll_mono_ms();	/* the deadline counts from the request's arrival */
	const char *names[PM_LEASES_PER_CALL + 1];
	char id[PM_ID_LEN + 1];
	json_object *body = NULL, *node = NULL, *out, *leases, *refused, *gens = NULL, *g;
	struct pjr_err e = { 0 };

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) ||
	    pjr_string_array(body, "volumes", true, PM_LEASES_PER_CALL, PJR_NAME_MAX, PJR_NAME,
			     names, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	/* "generations":{NAME:"16 hex digits"}: each primary copy's, optional */
	if (json_object_object_get_ex(body, "generations", &gens)) {
		if (!json_object_is_type(gens, json_type_object)) {
			pa_reply_error(r, 400, "generations", "field 'generations' must be an object "
				       "of volume names to generations (16 hex digits)");
			goto out;
		}
		json_object_object_foreach(gens, gname, gval) {
			if (!json_object_is_type(gval, json_type_string) ||
			    !pjr_hex_valid(json_object_get_string(gval), 16)) {
				pa_reply_error(r, 400, "generations", "field 'generations.%.64s' must "
					       "be 16 lower-case hex digits, as the status file "
					       "writes a generation", gname);
				goto out;
			}
		}
	}
	node = pm_caller_node(r, m, id);
	if (!node)
		goto out;
	out = json_object_new_object();
	leases = json_object_new_object();
	refused = json_object_new_object();
	json_object_object_add(out, "id", json_object_new_string(id));
	json_object_object_add(out, "ttl_ms", json_object_new_int64(m->o.lease_ms));
	json_object_object_add(out, "leases", leases);
	json_object_object_add(out, "refused", refused);
	for (size_t i = 0; names[i]; i++)
		if (renew_one(m, names[i], id, r->caller->cert.name,
			      gens && json_object_object_get_ex(gens, names[i], &g) ?
			      json_object_get_string(g) : NULL, now, leases, refused)) {
			json_object_put(out);
			pm_reply_store(r, m, "granting a lease");
			goto out;
		}
	pa_reply_json(r, 200, out);
out:
	json_object_put(node);
	json_object_put(body);
}
