// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * failover.c: which copy of a doubled volume may take its primary's place
 * (issue 18; doc/policy.md, "Failover: which copy may be promoted").
 *
 * A copy may be promoted only if it holds every write the primary
 * acknowledged.  The primary's module acknowledges no write of a
 * generation the manager has not recorded (lease.c records the one its
 * node reports with each renewal), and a leg that took every write of a
 * generation has that generation in its superblock (the primary writes it
 * there when the generation starts, to the legs that are up).  So a leg
 * whose superblock generation, as its node reported it (leg_generation),
 * equals the recorded one holds every acknowledged write; any other leg is
 * behind (it was dropped: the primary started a generation without it) or
 * split, and is never promoted.  No generation recorded yet: nothing is
 * known, nothing is promotable.
 *
 * What is left out on purpose: a leg whose node is offline is not
 * promotable (its report is old, and it could not serve anyway); among
 * promotable legs all have the same generation, so the first online one
 * in the volume's parts is taken.
 *
 * The promotion itself (the layout's transaction) is not here yet.
 */
#include "manager_int.h"

#include <stdio.h>
#include <string.h>

/* The recorded generation of volume name ("" if none), into gen. */
static void recorded(struct pm_manager *m, const char *name, char gen[17])
{
	char key[PS_KEY_MAX + 1];
	json_object *rec;

	pm_key(key, "leases/%s", name);
	rec = pm_get(m, key, NULL);
	snprintf(gen, 17, "%s", rec ? pm_str(rec, "generation") : "");
	json_object_put(rec);
}

/* What node_id last reported of its leg of name: its superblock's
 * generation ("" if none) and whether the node is online. */
static void leg_of(struct pm_manager *m, const char *node_id, const char *name, char gen[17],
		   bool *online)
{
	char key[PS_KEY_MAX + 1];
	json_object *o;

	pm_key(key, "actual/%s/%s", node_id, name);
	o = pm_get(m, key, NULL);
	snprintf(gen, 17, "%s", o ? pm_str(o, "leg_generation") : "");
	json_object_put(o);
	pm_key(key, "nodes/%s", node_id);
	o = pm_get(m, key, NULL);
	*online = o && !strcmp(pm_str(o, "state"), "online");
	json_object_put(o);
}

json_object *pm_volume_legs_json(struct pm_manager *m, json_object *vol, char *promote_id)
{
	const char *name = pm_str(vol, "name");
	json_object *parts, *out = json_object_new_array();
	char want[17];
	size_t n = pm_volume_parts(vol, &parts);

	if (promote_id)
		promote_id[0] = '\0';
	recorded(m, name, want);
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i), *e;
		char gen[17], why[160];
		bool online, ok;

		if (strcmp(pm_str(p, "role"), "leg"))
			continue;
		leg_of(m, pm_str(p, "node"), name, gen, &online);
		ok = want[0] && !strcmp(gen, want) && online;
		if (!want[0])
			snprintf(why, sizeof(why), "no generation of the primary recorded yet");
		else if (!gen[0])
			snprintf(why, sizeof(why), "its node has not reported its leg's generation");
		else if (strcmp(gen, want))
			snprintf(why, sizeof(why), "its generation %s is not the primary's %s: it "
				 "lacks writes the primary acknowledged", gen, want);
		else if (!online)
			snprintf(why, sizeof(why), "its node is offline");
		e = json_object_new_object();
		json_object_object_add(e, "node", json_object_new_string(pm_str(p, "node_name")));
		json_object_object_add(e, "node_id", json_object_new_string(pm_str(p, "node")));
		json_object_object_add(e, "generation", json_object_new_string(gen));
		json_object_object_add(e, "promotable", json_object_new_boolean(ok));
		if (!ok)
			json_object_object_add(e, "why_not", json_object_new_string(why));
		json_object_array_add(out, e);
		if (ok && promote_id && !promote_id[0])
			snprintf(promote_id, PM_ID_LEN + 1, "%s", pm_str(p, "node"));
	}
	return out;
}

/* ---- the promotion ---- */

static void set_s(json_object *o, const char *field, const char *v)
{
	json_object_object_add(o, field, json_object_new_string(v));
}

/* The node record of id: its first portal into portal, its module's
 * initiator name into initiator.  The record (a new reference), or NULL. */
static json_object *node_of(struct pm_manager *m, const char *id, char *portal, size_t plen,
			    char *initiator, size_t ilen)
{
	char key[PS_KEY_MAX + 1];
	json_object *n, *portals;

	pm_key(key, "nodes/%s", id);
	n = pm_get(m, key, NULL);
	portal[0] = initiator[0] = '\0';
	if (!n)
		return NULL;
	if (json_object_object_get_ex(n, "portals", &portals) && json_object_array_length(portals))
		snprintf(portal, plen, "%s",
			 json_object_get_string(json_object_array_get_idx(portals, 0)));
	else if (pm_str(n, "address")[0])
		snprintf(portal, plen, "%s:3260", pm_str(n, "address"));
	snprintf(initiator, ilen, "%s", pm_str(n, "initiator"));
	return n;
}

/* A LUN's ACL: the one initiator (the primary's module). */
static void acl_one(json_object *l, const char *initiator)
{
	json_object *acl = json_object_new_array();

	if (initiator[0])
		json_object_array_add(acl, json_object_new_string(initiator));
	json_object_object_add(l, "acl", acl);
}

/* Whether volume vol (named name) has a promotable leg on node to_id:
 * true, or false with why saying which leg is not and why, or on which
 * nodes its legs are. */
static bool leg_promotable(struct pm_manager *m, json_object *vol, const char *name,
			   const char *to_id, char *why, size_t len)
{
	json_object *legs = pm_volume_legs_json(m, vol, NULL), *p;
	char on[256] = "";
	bool ok = false;

	for (size_t i = 0; i < json_object_array_length(legs); i++) {
		json_object *e = json_object_array_get_idx(legs, i);

		if (strcmp(pm_str(e, "node_id"), to_id)) {
			size_t k = strlen(on);

			snprintf(on + k, sizeof(on) - k, "%s%s", k ? ", " : "", pm_str(e, "node"));
			continue;
		}
		json_object_object_get_ex(e, "promotable", &p);
		if (!json_object_get_boolean(p)) {
			snprintf(why, len, "the leg of volume %s on node %s is not promotable: %s",
				 name, pm_str(e, "node"), pm_str(e, "why_not"));
			goto out;
		}
		ok = true;
	}
	if (!ok)
		snprintf(why, len, "volume %s has no leg on that node: its legs are on %s; "
			 "name one of those", name, on[0] ? on : "no node");
out:
	json_object_put(legs);
	return ok;
}

int pm_volume_promote(struct pm_manager *m, const char *name, const char *to_id,
		      const char *kind, int64_t *revision, char *why, size_t len)
{
	char vkey[PS_KEY_MAX + 1], key[PS_KEY_MAX + 1], vol_iqn[160], old_leg_iqn[192];
	char new_portal[80], new_init[224], old_portal[80], old_init[224], old_url[512];
	char url[512], *bsopts = NULL;
	struct ps_kv vkv = { 0 }, lkv = { 0 };
	struct pm_desired d[PM_PARTS_MAX];
	json_object *vol, *parts, *desired[PM_PARTS_MAX] = { NULL }, *nn = NULL;
	json_object *on = NULL, *link = NULL, *newl = NULL, *oldl = NULL, *s, *last, *p0j, *ptj;
	size_t n = 0, p0 = PM_PARTS_MAX, pt = PM_PARTS_MAX, blen = 0;
	int64_t rev = pm_next_revision(m);
	FILE *b = NULL;
	int rc = -2;

	why[0] = '\0';
	pm_key(vkey, "volumes/%s", name);
	vol = pm_get(m, vkey, &vkv);
	if (rev < 0) {
		snprintf(why, len, "the manager's store failed: %s", ps_error(m->st));
		rc = -1;
		goto out;
	}
	if (!vol) {
		snprintf(why, len, "no volume named '%s'", name);
		goto out;
	}
	if (strcmp(pm_str(vol, "way"), "doubled")) {
		snprintf(why, len, "volume %s is %s: only a doubled volume has a copy to promote",
			 name, pm_str(vol, "way"));
		goto out;
	}
	if (strcmp(pm_str(vol, "state"), "ready") && strcmp(pm_str(vol, "state"), "degraded")) {
		snprintf(why, len, "volume %s is %s: only a ready or degraded volume is promoted",
			 name, pm_str(vol, "state"));
		goto out;
	}
	if (!leg_promotable(m, vol, name, to_id, why, len))
		goto out;
	n = pm_volume_parts(vol, &parts);
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i);

		if (!strcmp(pm_str(p, "role"), "primary"))
			p0 = i;
		else if (!strcmp(pm_str(p, "node"), to_id))
			pt = i;
		pm_key(key, "desired/%s/%s", pm_str(p, "node"), name);
		desired[i] = pm_get(m, key, NULL);
		/* the old primary's may have no LUN: a switchover's first step */
		if (!desired[i] || (p0 != i && !json_object_object_get_ex(desired[i], "lun", NULL))) {
			snprintf(why, len, "node %s has no desired state of volume %s",
				 pm_str(p, "node_name"), name);
			goto out;
		}
		d[i] = (struct pm_desired){ .node = pm_str(p, "node"), .desired = desired[i] };
	}
	if (p0 >= n || pt >= n) {
		snprintf(why, len, "volume %s's parts name no primary, or no leg on that node", name);
		goto out;
	}
	p0j = json_object_array_get_idx(parts, p0);
	ptj = json_object_array_get_idx(parts, pt);
	nn = node_of(m, to_id, new_portal, sizeof(new_portal), new_init, sizeof(new_init));
	on = node_of(m, pm_str(p0j, "node"), old_portal, sizeof(old_portal), old_init,
		     sizeof(old_init));
	if (!nn || !new_portal[0] || !new_init[0]) {
		snprintf(why, len, "node %s has not reported its portal and initiator name",
			 pm_str(ptj, "node_name"));
		goto out;
	}
	snprintf(vol_iqn, sizeof(vol_iqn), PM_IQN_BASE ":vol-%s", pm_str(vol, "id"));
	snprintf(old_leg_iqn, sizeof(old_leg_iqn), PM_IQN_BASE ":vol-%s-leg-%s", pm_str(vol, "id"),
		 pm_str(p0j, "node"));
	/* the old primary's node may be down: its portal as the volume's URL had it */
	if (!old_portal[0]) {
		json_object *vs = NULL;

		json_object_object_get_ex(vol, "serving", &vs);
		snprintf(url, sizeof(url), "%s", pm_str(vs, "url"));
		if (!strncmp(url, "iscsi://", 8) && strchr(url + 8, '/'))
			snprintf(old_portal, sizeof(old_portal), "%.*s",
				 (int)(strchr(url + 8, '/') - (url + 8)), url + 8);
	}
	snprintf(old_url, sizeof(old_url), "iscsi://%s/%s/1", old_portal, old_leg_iqn);

	/* the new primary: mirror= to every other copy, the old primary's
	 * image as a raw leg among them */
	b = open_memstream(&bsopts, &blen);
	if (!b)
		goto err;
	for (size_t i = 0; i < n; i++)
		if (i != pt)
			fprintf(b, "%smirror=%s", ftell(b) > 0 ? ";" : "",
				i == p0 ? old_url : pm_str(json_object_array_get_idx(parts, i), "url"));
	fprintf(b, ";lease=on;" PM_SERVING_PR);
	fclose(b);
	json_object_object_get_ex(desired[pt], "lun", &newl);
	if (!json_object_object_get_ex(desired[p0], "lun", &oldl) || !oldl) {
		oldl = json_object_new_object();	/* made here as a leg's */
		set_s(oldl, "path", pm_str(p0j, "path"));
		set_s(oldl, "bstype", "lunlink");
		json_object_object_add(oldl, "size", json_object_new_int64(pm_int(vol, "size")));
		json_object_object_add(desired[p0], "lun", oldl);
	}
	set_s(newl, "iqn", vol_iqn);
	json_object_object_add(newl, "lun", json_object_new_int(1));
	json_object_object_del(newl, "tid");
	set_s(newl, "bstype", "lunlink");
	set_s(newl, "bsopts", bsopts);
	json_object_object_get_ex(vol, "identity", &s);	/* the same WWID */
	set_s(newl, "scsi_sn", pm_str(s, "scsi_sn"));
	set_s(newl, "scsi_id", pm_str(s, "scsi_id"));
	/* lent (or linked: pm_link_move below sets the host's): the
	 * borrower's ACL and CHAP account go with it */
	json_object_object_add(newl, "acl", json_object_new_array());
	json_object_object_del(newl, "chap");
	if (json_object_object_get_ex(vol, "borrower", &s) && s) {
		json_object *chap = json_object_new_object();

		acl_one(newl, pm_str(s, "initiator"));
		set_s(chap, "user", pm_str(s, "chap_user"));
		set_s(chap, "secret", pm_str(s, "chap_secret"));
		json_object_object_add(newl, "chap", chap);
	}
	/* the old primary: its image exported raw, a leg of the new one */
	set_s(oldl, "iqn", old_leg_iqn);
	json_object_object_add(oldl, "lun", json_object_new_int(1));
	json_object_object_del(oldl, "tid");
	set_s(oldl, "bsopts", "raw=on");
	json_object_object_del(oldl, "scsi_sn");
	json_object_object_del(oldl, "scsi_id");
	json_object_object_del(oldl, "chap");
	acl_one(oldl, new_init);
	/* every leg admits the new primary's module alone */
	for (size_t i = 0; i < n; i++) {
		json_object *l;

		if (i != pt && i != p0 && json_object_object_get_ex(desired[i], "lun", &l))
			acl_one(l, new_init);
	}
	/* the record: roles swapped, the primary first */
	set_s(ptj, "role", "primary");
	json_object_object_del(ptj, "url");
	set_s(p0j, "role", "leg");
	set_s(p0j, "url", old_url);
	json_object_get(p0j);
	json_object_get(ptj);
	json_object_array_put_idx(parts, p0, ptj);
	json_object_array_put_idx(parts, pt, p0j);
	s = json_object_new_object();
	snprintf(url, sizeof(url), "iscsi://%s/%s/1", new_portal, vol_iqn);
	set_s(s, "node", pm_str(nn, "name"));
	set_s(s, "node_id", to_id);
	set_s(s, "iqn", vol_iqn);
	json_object_object_add(s, "lun", json_object_new_int(1));
	set_s(s, "url", url);
	json_object_object_add(vol, "serving", s);
	last = json_object_new_object();
	set_s(last, "kind", kind);
	set_s(last, "from", pm_str(p0j, "node_name"));
	set_s(last, "to", pm_str(nn, "name"));
	json_object_object_add(last, "revision", json_object_new_int64(rev));
	json_object_object_add(last, "promoted_ms", json_object_new_int64(ps_now_ms()));
	pm_key(key, "leases/%s", name);
	if ((s = pm_get(m, key, NULL))) {	/* when the old primary's lease ran out */
		if (!strcmp(pm_str(s, "state"), "expired"))
			json_object_object_add(last, "lease_expired_ms",
					       json_object_new_int64(pm_int(s, "expired_ms")));
		json_object_put(s);
	}
	json_object_object_del(vol, "failover");	/* a none-promotable verdict is over */
	json_object_object_del(vol, "switchover");	/* its first step is done */
	json_object_object_add(vol, "last_failover", last);
	/* a link moves with it */
	link = pm_link_get(m, name, &lkv);
	if (link && (!strcmp(pm_str(link, "state"), "unlinking") ||
		     !strcmp(pm_str(link, "state"), "releasing"))) {
		snprintf(why, len, "volume %s is being unlinked from host %s; promote it after",
			 name, pm_str(link, "host"));
		goto out;
	}
	if (link && !strcmp(pm_str(link, "state"), "failed")) {
		json_object_put(link);	/* a failed link is the operator's to remove */
		link = NULL;
	}
	if (link && pm_link_move(m, name, vol, link, to_id, pm_str(nn, "name"), new_portal,
				 vol_iqn, newl, rev, why, len))
		goto out;
	rc = pm_link_move_commit(m, name, vol, vkv.mod_revision, d, n, link,
				 link ? lkv.mod_revision : 0, revision);
	if (!rc)
		pm_log(m, "volume %s: %s: node %s serves its primary now (its copy has the "
		       "primary's recorded generation), node %s's image is its leg%s", name, kind,
		       pm_str(nn, "name"), pm_str(p0j, "node_name"),
		       link ? "; its link moves with it" : "");
	else if (rc > 0)
		snprintf(why, len, "volume %s, its nodes or its link changed meanwhile", name);
	else
		snprintf(why, len, "the manager's store failed committing it: %s", ps_error(m->st));
	goto out;
err:
	rc = -1;
	if (!why[0])
		snprintf(why, len, "out of memory building volume %s's new desired state", name);
out:
	free(bsopts);
	for (size_t i = 0; i < n; i++)
		json_object_put(desired[i]);
	json_object_put(link);
	json_object_put(nn);
	json_object_put(on);
	ps_kv_free(&lkv);
	ps_kv_free(&vkv);
	json_object_put(vol);
	return rc;
}

/* ---- POST /v1/volumes/NAME/switchover ---- */

/*
 * A switchover's first step: the old primary's node stops serving the
 * volume (its desired LUN goes; its image stays), one commit that also
 * records "switchover":{"to","revision"} in the volume.  Its tgtd closes
 * the LUN with its legs up, so they keep its generation; the tick
 * (pm_failover_tick) promotes once that node reports the revision
 * applied.  Promoting at once instead would take the promoted leg's LUN
 * away under a primary still serving: it would drop the leg and start a
 * generation the new primary then finds newer than itself.
 */
static int switchover_release(struct pm_manager *m, const char *name, const char *to_id,
			      int64_t *revision, char *why, size_t len)
{
	char vkey[PS_KEY_MAX + 1], key[PS_KEY_MAX + 1];
	struct ps_kv vkv = { 0 };
	json_object *vol, *s = NULL, *d = NULL, *o;
	struct pm_desired pd;
	int64_t rev = pm_next_revision(m);
	int rc = -2;

	pm_key(vkey, "volumes/%s", name);
	vol = pm_get(m, vkey, &vkv);
	if (rev < 0) {
		snprintf(why, len, "the manager's store failed: %s", ps_error(m->st));
		rc = -1;
		goto out;
	}
	if (!vol) {
		snprintf(why, len, "no volume named '%s'", name);
		goto out;
	}
	if (strcmp(pm_str(vol, "way"), "doubled") ||
	    (strcmp(pm_str(vol, "state"), "ready") && strcmp(pm_str(vol, "state"), "degraded"))) {
		snprintf(why, len, "volume %s is %s %s: only a ready doubled volume switches over",
			 name, pm_str(vol, "state"), pm_str(vol, "way"));
		goto out;
	}
	if (json_object_object_get_ex(vol, "switchover", &o) && o) {
		snprintf(why, len, "volume %s is switching over already; 'lunlinkctl volume show "
			 "%s' says when it is done", name, name);
		goto out;
	}
	if (!leg_promotable(m, vol, name, to_id, why, len))
		goto out;
	json_object_object_get_ex(vol, "serving", &s);
	pm_key(key, "desired/%s/%s", pm_str(s, "node_id"), name);
	d = pm_get(m, key, NULL);
	if (!d) {
		snprintf(why, len, "the primary's node has no desired state of volume %s", name);
		goto out;
	}
	json_object_object_del(d, "lun");	/* served no more; its image stays */
	o = json_object_new_object();
	set_s(o, "to", to_id);
	json_object_object_add(o, "revision", json_object_new_int64(rev));
	json_object_object_add(o, "since_ms", json_object_new_int64(ps_now_ms()));
	json_object_object_add(vol, "switchover", o);
	pd = (struct pm_desired){ .node = pm_str(s, "node_id"), .desired = d };
	rc = pm_volume_commit(m, name, vol, vkv.mod_revision, &pd, 1, revision);
	if (rc > 0)
		snprintf(why, len, "volume %s changed meanwhile", name);
out:
	json_object_put(d);
	ps_kv_free(&vkv);
	json_object_put(vol);
	return rc;
}

void pm_volume_switchover(struct pa_request *r, struct pm_manager *m, const char *name)
{
	static const char *const fields[] = { "to", NULL };
	char id[PM_ID_LEN + 1], why[1024], path[160];
	json_object *body = NULL, *node = NULL, *vol = NULL, *s;
	struct pjr_err e = { 0 };
	const char *to;
	int64_t rev = 0;
	int rc;

	if (!pm_caller_admin(r)) {
		pa_reply_error(r, 403, "caller", "only an admin moves a volume");
		goto out;
	}
	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) || pjr_string(body, "to", true, PJR_NAME_MAX, PJR_NAME, &to, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	node = pm_node_by_name(m, to, id, NULL);
	if (!node) {
		pa_reply_error(r, 404, "to", "no node named '%s' ('lunlinkctl node list' shows "
			       "them)", to);
		goto out;
	}
	pm_key(path, "volumes/%s", name);
	vol = pjr_name_valid(name, strlen(name)) ? pm_get(m, path, NULL) : NULL;
	if (vol && json_object_object_get_ex(vol, "serving", &s) &&
	    !strcmp(pm_str(s, "node_id"), id)) {
		pa_reply_error(r, 409, "to", "node %s serves volume %s's primary already", to, name);
		goto out;
	}
	rc = switchover_release(m, name, id, &rev, why, sizeof(why));
	if (rc == -2) {
		pa_reply_error(r, vol ? 409 : 404, vol ? "to" : "path", "%s", why);
	} else if (rc < 0) {
		pm_reply_store(r, m, "promoting the leg");
	} else if (rc > 0) {
		pa_reply_error(r, 409, "path", "%s; ask again", why);
	} else {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "volume", json_object_new_string(name));
		json_object_object_add(o, "to", json_object_new_string(to));
		json_object_object_add(o, "revision", json_object_new_int64(rev));
		pm_log(m, "%s switches volume %s over to node %s: its primary's node stops serving "
		       "it first", r->caller->desc, name, to);
		pa_reply_json(r, 202, o);
	}
out:
	json_object_put(vol);
	json_object_put(node);
	json_object_put(body);
}

/* ---- automatic failover ---- */

/* Volume name cannot be failed over: said in its record (an event) and
 * the log, once per reason. */
static void none_promotable(struct pm_manager *m, const char *name, json_object *vol,
			    int64_t vol_mod, const char *why)
{
	json_object *f = NULL, *o;

	if (json_object_object_get_ex(vol, "failover", &f) && !strcmp(pm_str(f, "why"), why))
		return;
	o = json_object_new_object();
	set_s(o, "state", "none promotable");
	set_s(o, "why", why);
	json_object_object_add(o, "at_ms", json_object_new_int64(ps_now_ms()));
	json_object_object_add(vol, "failover", o);
	if (pm_volume_commit(m, name, vol, vol_mod, NULL, 0, NULL) == 0)
		pm_log(m, "volume %s: failed-over: none promotable (%s); nothing serves it until its "
		       "primary's node returns", name, why);
}

/* Volumes switching over whose old primary's node applied the first
 * step (its LUN gone, its legs closed in sync): promoted now. */
static void switchovers(struct pm_manager *m)
{
	struct ps_range rg = { 0 };

	if (ps_range(m->st, PM_PREFIX "volumes/", NULL, 0, &rg))
		return;
	for (size_t i = 0; i < rg.count; i++) {
		json_object *vol = json_tokener_parse(rg.kvs[i].value), *so = NULL, *s = NULL, *act;
		char key[PS_KEY_MAX + 1], why[1024];
		int64_t rev = 0;

		if (!vol || !json_object_object_get_ex(vol, "switchover", &so) || !so) {
			json_object_put(vol);
			continue;
		}
		json_object_object_get_ex(vol, "serving", &s);
		pm_key(key, "actual/%s/%s", pm_str(s, "node_id"), pm_str(vol, "name"));
		act = pm_get(m, key, NULL);
		if (act && !strcmp(pm_str(act, "state"), "ready") &&
		    pm_int(act, "desired_revision") >= pm_int(so, "revision") &&
		    pm_volume_promote(m, pm_str(vol, "name"), pm_str(so, "to"), "switchover", &rev,
				      why, sizeof(why)))
			pm_log(m, "volume %s: switchover: %s", pm_str(vol, "name"), why);
		json_object_put(act);
		json_object_put(vol);
	}
	ps_range_free(&rg);
}

void pm_failover_tick(struct pm_manager *m)
{
	char names[16][PJR_NAME_MAX + 1];
	size_t n = m->o.no_failover ? 0 : pm_leases_expired(m, names, 16);

	switchovers(m);
	for (size_t i = 0; i < n && i < 16; i++) {
		char key[PS_KEY_MAX + 1], id[PM_ID_LEN + 1], why[1024];
		struct ps_kv vkv = { 0 };
		json_object *vol, *lease, *node, *serving = NULL, *legs;
		int64_t rev = 0;
		bool offline;

		pm_key(key, "leases/%s", names[i]);
		lease = pm_get(m, key, NULL);
		pm_key(key, "nodes/%s", pm_str(lease, "node_id"));
		node = pm_get(m, key, NULL);
		offline = !node || strcmp(pm_str(node, "state"), "online");
		pm_key(key, "volumes/%s", names[i]);
		vol = pm_get(m, key, &vkv);
		json_object_object_get_ex(vol, "serving", &serving);
		/* the holder's node is alive (its agent or manager link is what
		 * failed: it renews again, or the operator moves it), or the
		 * volume was promoted already and the new node's lease is due */
		if (!vol || !lease || !offline ||
		    strcmp(pm_str(serving, "node_id"), pm_str(lease, "node_id")) ||
		    (strcmp(pm_str(vol, "state"), "ready") && strcmp(pm_str(vol, "state"), "degraded")))
			goto next;
		legs = pm_volume_legs_json(m, vol, id);
		if (!id[0]) {
			size_t k = json_object_array_length(legs);

			snprintf(why, sizeof(why), "%s", k ? pm_str(json_object_array_get_idx(legs, 0),
								  "why_not") : "no leg");
			none_promotable(m, names[i], vol, vkv.mod_revision, why);
		} else if (pm_volume_promote(m, names[i], id, "failover", &rev, why, sizeof(why))) {
			pm_log(m, "volume %s: failover: %s", names[i], why);
		}
		json_object_put(legs);
next:
		ps_kv_free(&vkv);
		json_object_put(vol);
		json_object_put(node);
		json_object_put(lease);
	}
}
