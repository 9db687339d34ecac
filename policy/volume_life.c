// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * volume_life.c: a volume after its creation was decided (volume.c): its
 * readiness, its copies' sync state and its resize's progress, all read
 * from the nodes' actual state (actual/NODE-ID/NAME, from their reports);
 * its deletion, which waits for every involved node to say its part is
 * gone; and what a restarted manager does with a volume it finds in the
 * middle of a step.
 *
 * Every step is a store transaction and every input is in the store, so
 * pm_volume_check is a function of the store alone: called when a node's
 * actual state changes (the manager's watch), on a sweep every few
 * seconds (a check that lost a race with another write), and at start.
 *
 * States: creating -> ready | failed (with the step and the reason);
 * ready <-> degraded (a copy not up to date); any -> deleting -> gone.
 */
#include "manager_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_INTERVAL_MS	5000

void pm_volume_redact(json_object *vol)
{
	json_object *b;

	if (json_object_object_get_ex(vol, "borrower", &b) && b &&
	    json_object_object_get_ex(b, "chap_secret", NULL))
		json_object_object_add(b, "chap_secret", json_object_new_string("(hidden)"));
}

static void set_str(json_object *o, const char *field, const char *v, bool *changed)
{
	if (!strcmp(pm_str(o, field), v))
		return;
	json_object_object_add(o, field, json_object_new_string(v));
	*changed = true;
}

static void set_int(json_object *o, const char *field, int64_t v, bool *changed)
{
	json_object *old;

	if (json_object_object_get_ex(o, field, &old) && json_object_is_type(old, json_type_int) &&
	    json_object_get_int64(old) == v)
		return;
	json_object_object_add(o, field, json_object_new_int64(v));
	*changed = true;
}

static json_object *actual_of(struct pm_manager *m, json_object *part, const char *name)
{
	char key[PS_KEY_MAX + 1];

	pm_key(key, "actual/%s/%s", pm_str(part, "node"), name);
	return pm_get(m, key, NULL);
}

/* ---- deleting ---- */

/* Whether the node's part of a deleting volume is gone: the agent no
 * longer reports the volume, or reports it done for the deletion. */
static bool part_gone(json_object *act, int64_t deleting_rev)
{
	return !act || (pm_int(act, "desired_revision") >= deleting_rev &&
			!strcmp(pm_str(act, "state"), "ready"));
}

/* A deleting volume: each part's state; the record goes, and each node's
 * desired key with it, once every part is gone.  Whether vol changed. */
static bool check_deleting(struct pm_manager *m, const char *name, json_object *vol,
			   int64_t vol_mod)
{
	json_object *parts, *acts[PM_PARTS_MAX] = { 0 };
	struct pm_desired d[PM_PARTS_MAX];
	size_t n = 0, gone = 0;
	bool changed = false;
	int64_t rev = 0;

	n = pm_volume_parts(vol, &parts);
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i);

		acts[i] = actual_of(m, p, name);
		d[i] = (struct pm_desired){ .node = pm_str(p, "node") };
		if (part_gone(acts[i], pm_int(vol, "deleting_revision"))) {
			gone++;
			set_str(p, "state", "gone", &changed);
		} else {
			set_str(p, "state", !strcmp(pm_str(acts[i], "state"), "failed") ?
				"failed" : "deleting", &changed);
			if (!strcmp(pm_str(acts[i], "state"), "failed"))
				set_str(vol, "error", pm_str(acts[i], "error"), &changed);
		}
	}
	if (gone == n) {
		int rc = pm_volume_commit(m, name, NULL, vol_mod, d, n, &rev);

		if (!rc)
			pm_log(m, "volume %s is gone: every node removed its part (revision %" PRId64
			       ")", name, rev);
		else if (rc < 0)
			pm_log(m, "cannot remove volume %s's record: %s", name, ps_error(m->st));
		changed = false;	/* nothing left to write */
	}
	for (size_t i = 0; i < n; i++)
		json_object_put(acts[i]);
	return changed;
}

/* ---- ready, failed, degraded ---- */

/* The serving node's word on each other part: "copies" in its actual
 * state, matched by url (or node).  The sum of their bytes left. */
static int64_t sync_state(json_object *parts, json_object *serving_act, bool *changed,
			  bool *degraded)
{
	json_object *copies;
	int64_t left = 0;

	*degraded = false;
	if (!serving_act || !json_object_object_get_ex(serving_act, "copies", &copies))
		return 0;
	for (size_t i = 0; i < json_object_array_length(parts); i++) {
		json_object *p = json_object_array_get_idx(parts, i), *c = NULL;

		if (!strcmp(pm_str(p, "role"), "primary"))
			continue;
		for (size_t j = 0; !c && j < json_object_array_length(copies); j++) {
			json_object *x = json_object_array_get_idx(copies, j);

			if ((pm_str(x, "url")[0] && !strcmp(pm_str(x, "url"), pm_str(p, "url"))) ||
			    (pm_str(x, "node")[0] && !strcmp(pm_str(x, "node"), pm_str(p, "node"))))
				c = x;
		}
		if (!c) {
			set_str(p, "sync", "unknown", changed);
			continue;
		}
		set_str(p, "sync", pm_str(c, "state"), changed);
		set_int(p, "left_bytes", pm_int(c, "left_bytes"), changed);
		set_str(p, "sync_error", pm_str(c, "error"), changed);
		left += pm_int(c, "left_bytes");
		if (strcmp(pm_str(c, "state"), "up"))
			*degraded = true;
	}
	return left;
}

/* A resize in its steps: the other parts grown, then the serving node's;
 * done when the serving node reports the new size.  1 if the record was
 * written here (by pm_resize_serving), else 0. */
static int resize_step(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
		       json_object **acts, size_t n, json_object *serving_act, bool *changed)
{
	json_object *rs, *parts;
	int64_t want, since;

	if (!json_object_object_get_ex(vol, "resize", &rs) || !rs)
		return 0;
	want = pm_int(rs, "size");
	since = pm_int(rs, "revision");
	json_object_object_get_ex(vol, "parts", &parts);
	if (!strcmp(pm_str(rs, "step"), "parts")) {
		for (size_t i = 0; i < n; i++) {
			json_object *p = json_object_array_get_idx(parts, i);

			if (!strcmp(pm_str(p, "role"), "primary") || !pm_int(p, "grows"))
				continue;
			if (!acts[i] || pm_int(acts[i], "desired_revision") < since ||
			    strcmp(pm_str(acts[i], "state"), "ready"))
				return 0;
		}
		if (pm_resize_serving(m, vol, vol_mod) < 0)
			pm_log(m, "cannot grow volume %s's serving LUN: %s", name, ps_error(m->st));
		return 1;
	}
	if (serving_act && pm_int(serving_act, "desired_revision") >= since &&
	    pm_int(serving_act, "size") >= want) {
		set_int(vol, "size", want, changed);
		json_object_object_del(vol, "resize");
		for (size_t i = 0; i < n; i++)
			json_object_object_del(json_object_array_get_idx(parts, i), "grows");
		*changed = true;
		pm_log(m, "volume %s is %" PRId64 " bytes now", name, want);
	}
	return 0;
}

/* A volume not deleting: its parts' states, copies, resize and state.
 * Whether vol changed; *written if the record was written already. */
static bool check_live(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
		       bool *written)
{
	char err[600] = "", step[96] = "", state[16];
	json_object *parts, *acts[PM_PARTS_MAX] = { 0 }, *serving_act = NULL;
	size_t ready = 0, n;
	bool failed = false, changed = false, degraded;
	int64_t left;

	snprintf(state, sizeof(state), "%s", pm_str(vol, "state"));
	n = pm_volume_parts(vol, &parts);
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i);
		const char *s;

		acts[i] = actual_of(m, p, name);
		/* what the agent did for an older desired state does not count */
		s = acts[i] && pm_int(acts[i], "desired_revision") >= pm_int(vol, "created_revision") ?
		    pm_str(acts[i], "state") : "creating";
		if (!strcmp(s, "ready"))
			ready++;
		if (!strcmp(s, "failed") && !failed) {
			failed = true;
			snprintf(step, sizeof(step), "node %s", pm_str(p, "node_name"));
			snprintf(err, sizeof(err), "node %s: %s", pm_str(p, "node_name"),
				 pm_str(acts[i], "error"));
		}
		set_str(p, "state", s, &changed);
		if (!strcmp(pm_str(p, "role"), "primary"))
			serving_act = acts[i];
	}
	left = sync_state(parts, serving_act, &changed, &degraded);
	set_int(vol, "resync_bytes_left", left, &changed);
	*written = resize_step(m, name, vol, vol_mod, acts, n, serving_act, &changed);
	if (*written) {
		changed = false;
	} else if (!strcmp(state, "creating") && (failed || ready == n)) {
		set_str(vol, "state", failed ? "failed" : "ready", &changed);
		set_str(vol, "step", step, &changed);
		set_str(vol, "error", err, &changed);
		pm_log(m, "volume %s is %s%s", name, failed ? "failed: " : "ready", err);
	} else if (!strcmp(state, "ready") && degraded) {
		set_str(vol, "state", "degraded", &changed);
		pm_log(m, "volume %s is degraded: a copy is not up to date", name);
	} else if (!strcmp(state, "degraded") && !degraded) {
		set_str(vol, "state", "ready", &changed);
		pm_log(m, "volume %s is ready: its copies are up to date", name);
	} else if (!strcmp(state, "ready") || !strcmp(state, "degraded")) {
		set_str(vol, "error", err, &changed);	/* a later change failed, or no more */
	}
	for (size_t i = 0; i < n; i++)
		json_object_put(acts[i]);
	return changed;
}

void pm_volume_check(struct pm_manager *m, const char *name)
{
	char vkey[PS_KEY_MAX + 1];
	struct ps_kv vkv = { 0 };
	struct ps_cmp cmp = { .key = vkey, .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL };
	struct ps_op op = { .type = PS_OP_PUT, .key = vkey };
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res = { 0 };
	json_object *vol = NULL;
	bool changed, written = false;

	if (!pjr_name_valid(name, strlen(name)))
		return;
	pm_key(vkey, "volumes/%s", name);
	vol = pm_get(m, vkey, &vkv);
	if (!vol || !json_object_object_get_ex(vol, "parts", NULL))
		goto out;
	changed = !strcmp(pm_str(vol, "state"), "deleting") ?
		  check_deleting(m, name, vol, vkv.mod_revision) :
		  check_live(m, name, vol, vkv.mod_revision, &written);
	if (!changed || written)
		goto out;
	cmp.number = vkv.mod_revision;
	op.value = pm_text(vol);
	op.value_len = strlen(op.value);
	/* lost to another write: the next change or sweep looks again */
	if (ps_txn(m->st, &txn, &res))
		pm_log(m, "cannot update volume %s: %s", name, ps_error(m->st));
out:
	ps_txn_result_free(&res);
	json_object_put(vol);
}

/* ---- a restart in the middle, and the sweep ---- */

/* A creating volume whose placement's nodes or desired state are gone
 * cannot finish: failed, naming the step and the reason.  Whether so. */
static bool creation_lost(struct pm_manager *m, json_object *vol, int64_t vol_mod)
{
	char key[PS_KEY_MAX + 1], step[64] = "", err[512] = "";
	json_object *parts, *o;
	struct ps_kv kv = { 0 };
	bool lost = false;

	json_object_object_get_ex(vol, "parts", &parts);
	for (size_t i = 0; parts && !lost && i < json_object_array_length(parts); i++) {
		json_object *p = json_object_array_get_idx(parts, i);

		pm_key(key, "nodes/%s", pm_str(p, "node"));
		o = pm_get(m, key, NULL);
		if (!o) {
			lost = true;
			snprintf(step, sizeof(step), "placement");
			snprintf(err, sizeof(err), "node %s (%s), which was to hold its %s, is gone (it "
				 "was removed); delete the volume and make it again",
				 pm_str(p, "node_name"), pm_str(p, "node"), pm_str(p, "role"));
		}
		json_object_put(o);
		pm_key(key, "desired/%s/%s", pm_str(p, "node"), pm_str(vol, "name"));
		if (!lost && ps_get(m->st, key, &kv)) {
			lost = true;
			snprintf(step, sizeof(step), "desired state");
			snprintf(err, sizeof(err), "node %s was never told to make its %s (its desired "
				 "state for the volume is missing); delete the volume and make it "
				 "again", pm_str(p, "node_name"), pm_str(p, "role"));
		}
		ps_kv_free(&kv);
	}
	if (lost) {
		char vkey[PS_KEY_MAX + 1];
		struct ps_cmp cmp = { .key = vkey, .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL,
				      .number = vol_mod };
		struct ps_op op = { .type = PS_OP_PUT, .key = vkey };
		struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &op, .nsuccess = 1 };
		struct ps_txn_result res = { 0 };

		pm_key(vkey, "volumes/%s", pm_str(vol, "name"));
		json_object_object_add(vol, "state", json_object_new_string("failed"));
		json_object_object_add(vol, "step", json_object_new_string(step));
		json_object_object_add(vol, "error", json_object_new_string(err));
		op.value = pm_text(vol);
		op.value_len = strlen(op.value);
		if (ps_txn(m->st, &txn, &res))
			pm_log(m, "cannot mark volume %s failed: %s", pm_str(vol, "name"),
			       ps_error(m->st));
		else
			pm_log(m, "volume %s failed at %s: %s", pm_str(vol, "name"), step, err);
		ps_txn_result_free(&res);
	}
	return lost;
}

void pm_volumes_sweep(struct pm_manager *m, bool start)
{
	struct ps_range rg = { 0 };
	int64_t now = ps_now_ms();

	if (!start && now - m->last_sweep_ms < SWEEP_INTERVAL_MS)
		return;
	m->last_sweep_ms = now;
	if (ps_range(m->st, PM_PREFIX "volumes/", NULL, 0, &rg))
		return;
	for (size_t i = 0; i < rg.count; i++) {
		json_object *vol = json_tokener_parse(rg.kvs[i].value);
		const char *state = pm_str(vol, "state");
		bool moving = !strcmp(state, "creating") || !strcmp(state, "deleting") ||
			      json_object_object_get_ex(vol, "resize", NULL);

		if (vol && (start || moving) &&
		    !(!strcmp(state, "creating") && creation_lost(m, vol, rg.kvs[i].mod_revision)))
			pm_volume_check(m, pm_str(vol, "name"));
		json_object_put(vol);
	}
	ps_range_free(&rg);
	pm_links_sweep(m);	/* links wait on the same reports */
}

/* ---- reading and deleting ---- */

void pm_volumes_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char key[PS_KEY_MAX + 1];
	json_object *out, *all;
	int64_t rev = 0;

	if (r->rest[0] && strlen(r->rest) > 4 && strlen(r->rest) <= 100 &&
	    !strcmp(r->rest + strlen(r->rest) - 3, "/pr")) {
		snprintf(key, sizeof(key), "%.*s", (int)strlen(r->rest) - 4, r->rest + 1);
		pm_pr_get(r, m, key);	/* volume_pr.c */
		return;
	}
	if (r->rest[0] && strcmp(r->rest, "/")) {
		if (!pjr_name_valid(r->rest + 1, strlen(r->rest + 1)) ||
		    (pm_key(key, "volumes/%s", r->rest + 1), !(out = pm_get(m, key, NULL)))) {
			pa_reply_error(r, 404, "path", "no volume named '%s' ('lunlinkctl volume list' "
				       "shows them)", r->rest + 1);
			return;
		}
		if (!pm_caller_admin(r))
			pm_volume_redact(out);
		json_object_object_add(out, "link", pm_link_get(m, r->rest + 1, NULL));
		json_object_object_add(out, "lease", pm_lease_json(m, out));
		if (!strcmp(pm_str(out, "way"), "doubled"))
			json_object_object_add(out, "legs", pm_volume_legs_json(m, out, NULL));
		pa_reply_json(r, 200, out);
		return;
	}
	out = json_object_new_object();
	ps_revision(m->st, &rev, NULL);
	all = pm_volumes_all(m);
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *v = json_object_array_get_idx(all, i);

		pm_volume_redact(v);
		json_object_object_add(v, "link", pm_link_get(m, pm_str(v, "name"), NULL));
		json_object_object_add(v, "lease", pm_lease_json(m, v));
	}
	json_object_object_add(out, "revision", json_object_new_int64(rev));
	json_object_object_add(out, "volumes", all);
	pa_reply_json(r, 200, out);
}

/* What a node must do for a deleting volume: no LUN, no images to keep,
 * and these images removed (each checked by the agent against its
 * volume id). */
static json_object *deleting_desired(struct pm_manager *m, json_object *p, const char *name)
{
	char key[PS_KEY_MAX + 1];
	json_object *old, *d = json_object_new_object(), *imgs;

	pm_key(key, "desired/%s/%s", pm_str(p, "node"), name);
	old = pm_get(m, key, NULL);
	json_object_object_add(d, "images", json_object_new_array());
	json_object_object_add(d, "lun", NULL);
	json_object_object_add(d, "delete", json_object_new_boolean(true));
	if (old && json_object_object_get_ex(old, "images", &imgs))
		json_object_object_add(d, "delete_images", json_object_get(imgs));
	else
		json_object_object_add(d, "delete_images", json_object_new_array());
	json_object_put(old);
	return d;
}

void pm_volumes_delete(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	const char *name = r->rest[0] ? r->rest + 1 : "";
	char vkey[PS_KEY_MAX + 1];
	json_object *vol = NULL, *parts, *b, *desired[PM_PARTS_MAX] = { 0 };
	struct pm_desired d[PM_PARTS_MAX];
	struct ps_kv vkv = { 0 };
	int64_t rev, done = 0;
	size_t n;
	int rc;

	if (pjr_name_valid(name, strlen(name))) {
		pm_key(vkey, "volumes/%s", name);
		vol = pm_get(m, vkey, &vkv);
	}
	if (!vol) {
		pa_reply_error(r, 404, "path", "no volume named '%s' ('lunlinkctl volume list' shows "
			       "them)", name);
		goto out;
	}
	if (json_object_object_get_ex(vol, "borrower", &b) && b) {
		pa_reply_error(r, 409, "path", "volume %s is lent to %s; return it first "
			       "('lunlinkctl return %s')", name, pm_str(b, "initiator"), name);
		goto out;
	}
	if (!strcmp(pm_str(vol, "state"), "deleting")) {
		pm_volume_redact(vol);
		pa_reply_json(r, 200, json_object_get(vol));
		goto out;
	}
	rev = pm_next_revision(m);
	if (rev < 0) {
		pm_reply_store(r, m, "reading its revision");
		goto out;
	}
	n = pm_volume_parts(vol, &parts);
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i);

		desired[i] = deleting_desired(m, p, name);
		d[i] = (struct pm_desired){ .node = pm_str(p, "node"), .desired = desired[i] };
		json_object_object_add(p, "state", json_object_new_string("deleting"));
	}
	json_object_object_add(vol, "state", json_object_new_string("deleting"));
	json_object_object_add(vol, "step", json_object_new_string("waiting for the nodes"));
	json_object_object_add(vol, "deleting_revision", json_object_new_int64(rev));
	json_object_object_del(vol, "resize");
	rc = pm_volume_commit(m, name, vol, vkv.mod_revision, d, n, &done);
	if (rc) {
		if (rc < 0)
			pm_reply_store(r, m, "deleting the volume");
		else
			pa_reply_error(r, 409, "path", "volume %s changed meanwhile; delete it again", name);
		goto out;
	}
	pm_log(m, "%s is deleting volume %s", r->caller->desc, name);
	json_object_object_add(vol, "revision", json_object_new_int64(done));
	pa_reply_json(r, 200, json_object_get(vol));
	/* nodes that never had it, or are gone, hold nothing: it may go now */
	pm_volume_check(m, name);
out:
	for (size_t i = 0; i < PM_PARTS_MAX; i++)
		json_object_put(desired[i]);
	ps_kv_free(&vkv);
	json_object_put(vol);
}
