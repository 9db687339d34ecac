// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * link.c: a volume linked to a host (doc/link.md), the manager's half of
 * `lunlinkctl link` and `unlink`.  One record per linked volume,
 * links/VOLUME, walks requested -> presented -> linked -> unlinking ->
 * releasing -> gone (or failed), each step one transaction:
 *
 *   link        the volume lent to the host's initiator with the host's
 *               CHAP account, its serving LUN moved into the host's target
 *               on the serving node (PM_IQN_BASE:host-ID, LUN the lowest
 *               free), the record made: one commit with the volume's.
 *   presented   the serving node's actual state has applied that desired
 *               state (pm_link_check, from the manager's watch): the host's
 *               desired links now carry it (its desired_revision moves).
 *   linked      the host reported the device with the volume's WWID.
 *   unlinking   the host is asked to delete the device; it reports it
 *               gone (release) or refuses (held: back to linked, with why).
 *   releasing   the LUN goes back to the volume's own target, unlent; once
 *               the serving node has applied that, the record goes.
 *
 * Every request carries the record's revision at the time it was made;
 * a host's answer counts only for that revision, so a late answer to an
 * old request never moves a new one.
 */
#include "manager_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_TIMEOUT_DEFAULT	30
#define LINK_TIMEOUT_MAX	3600
#define HOST_LUN_MAX		255

json_object *pm_link_get(struct pm_manager *m, const char *name, struct ps_kv *kv)
{
	char key[PS_KEY_MAX + 1];

	if (!pjr_name_valid(name, strlen(name)))
		return NULL;
	pm_key(key, "links/%s", name);
	return pm_get(m, key, kv);
}

static void step(json_object *link, const char *name, int64_t ms)
{
	json_object *steps;

	if (!json_object_object_get_ex(link, "steps", &steps) || !steps) {
		steps = json_object_new_object();
		json_object_object_add(link, "steps", steps);
	}
	json_object_object_add(steps, name, json_object_new_int64(ms));
}

static int64_t step_of(json_object *link, const char *name)
{
	json_object *steps;

	return json_object_object_get_ex(link, "steps", &steps) ? pm_int(steps, name) : 0;
}

static void set(json_object *o, const char *field, const char *v)
{
	json_object_object_add(o, field, json_object_new_string(v));
}

/* A copy of the host's CHAP account hchap, {"user","secret"}. */
static json_object *chap_copy(json_object *hchap)
{
	json_object *chap = json_object_new_object();

	set(chap, "user", pm_str(hchap, "user"));
	set(chap, "secret", pm_str(hchap, "secret"));
	return chap;
}

/* The desired LUN l made the host's: LUN lun of the host's target iqn on
 * that node, its ACL the host's initiator, its account the host's. */
static void as_host_lun(json_object *l, const char *iqn, int lun, const char *initiator,
			json_object *hchap)
{
	json_object *acl = json_object_new_array();

	set(l, "iqn", iqn);
	json_object_object_add(l, "lun", json_object_new_int(lun));
	json_object_object_del(l, "tid");
	json_object_array_add(acl, json_object_new_string(initiator));
	json_object_object_add(l, "acl", acl);
	json_object_object_add(l, "chap", chap_copy(hchap));
}

/* ---- transactions ---- */

/*
 * The comparisons and operations of one step of a link: put (link
 * non-NULL) or delete the record of volume name if it is still at
 * link_mod, and, when bump, move its host's desired_revision to rev (the
 * revision the transaction will make) so that the host reads its links
 * again.  The keys and the host's record live in t until link_ops_free.
 */
struct link_ops {
	char lkey[PS_KEY_MAX + 1], hkey[PS_KEY_MAX + 1];
	struct ps_kv hkv;
	json_object *h;
	struct ps_cmp cmp[2];
	struct ps_op ops[2];
	size_t n;		/* as many comparisons as operations */
};

static void link_ops(struct pm_manager *m, const char *name, json_object *link, int64_t link_mod,
		     const char *host_id, bool bump, int64_t rev, struct link_ops *t)
{
	memset(t, 0, sizeof(*t));
	pm_key(t->lkey, "links/%s", name);
	t->cmp[t->n] = (struct ps_cmp){ .key = t->lkey, .target = PS_CMP_MOD_REVISION,
					.result = PS_EQUAL, .number = link_mod };
	t->ops[t->n++] = link ? (struct ps_op){ .type = PS_OP_PUT, .key = t->lkey,
						.value = pm_text(link),
						.value_len = strlen(pm_text(link)) } :
				(struct ps_op){ .type = PS_OP_DELETE, .key = t->lkey };
	if (!bump || !(t->h = pm_host_get(m, host_id, &t->hkv)))
		return;		/* a host removed has nobody to tell */
	pm_key(t->hkey, "hosts/%s", host_id);
	json_object_object_add(t->h, "desired_revision", json_object_new_int64(rev));
	t->cmp[t->n] = (struct ps_cmp){ .key = t->hkey, .target = PS_CMP_MOD_REVISION,
					.result = PS_EQUAL, .number = t->hkv.mod_revision };
	t->ops[t->n++] = (struct ps_op){ .type = PS_OP_PUT, .key = t->hkey, .value = pm_text(t->h),
					 .value_len = strlen(pm_text(t->h)) };
}

static void link_ops_free(struct link_ops *t)
{
	ps_kv_free(&t->hkv);
	json_object_put(t->h);
}

/* One step of a link alone (link_ops).  0, 1 if the link or its host
 * changed meanwhile, -1 on a store error. */
static int link_put(struct pm_manager *m, const char *name, json_object *link, int64_t link_mod,
		    const char *host_id, bool bump, int64_t *revision)
{
	struct link_ops t;
	struct ps_txn txn = { .cmp = t.cmp, .success = t.ops };
	struct ps_txn_result res = { 0 };
	int64_t rev = pm_next_revision(m);
	int rc = -1;

	if (rev < 0)
		return -1;
	link_ops(m, name, link, link_mod, host_id, bump, rev, &t);
	txn.ncmp = txn.nsuccess = t.n;
	if (!ps_txn(m->st, &txn, &res)) {
		rc = res.succeeded ? 0 : 1;
		if (revision)
			*revision = res.revision;
	}
	ps_txn_result_free(&res);
	link_ops_free(&t);
	return rc;
}

/* The same, with the volume's record and its serving node's desired
 * state in the one transaction (pm_volume_commit_ex). */
static int link_commit(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
		       const char *node_id, json_object *desired, json_object *link,
		       int64_t link_mod, const char *host_id, bool bump, int64_t *revision)
{
	struct link_ops t;
	struct pm_txn_extra x = { .cmp = t.cmp, .ops = t.ops };
	struct pm_desired pd = { .node = node_id, .desired = desired };
	int64_t rev = pm_next_revision(m);
	int rc;

	if (rev < 0)
		return -1;
	link_ops(m, name, link, link_mod, host_id, bump, rev, &t);
	x.ncmp = x.nops = t.n;
	rc = pm_volume_commit_ex(m, name, vol, vol_mod, &pd, desired ? 1 : 0, &x, revision);
	link_ops_free(&t);
	return rc;
}

/* ---- a volume that moves to another node (failover.c) ---- */

static int free_lun(struct pm_manager *m, const char *node_id, const char *host_id,
		    const char *volume);
static void serving_set(json_object *vol, const char *iqn, int64_t lun, const char *portal);

/*
 * The promotion's transaction: vol and the n nodes' desired states d, and,
 * if link is not NULL (at link_mod), the link moved with them (its host
 * told).  0, 1 if something changed meanwhile, -1 on a store error.
 */
int pm_link_move_commit(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
			const struct pm_desired *d, size_t n, json_object *link, int64_t link_mod,
			int64_t *revision)
{
	struct link_ops t;
	struct pm_txn_extra x = { 0 };
	int64_t rev = pm_next_revision(m);
	int rc;

	if (rev < 0)
		return -1;
	if (!link)
		return pm_volume_commit_ex(m, name, vol, vol_mod, d, n, NULL, revision);
	link_ops(m, name, link, link_mod, pm_str(link, "host_id"), true, rev, &t);
	x = (struct pm_txn_extra){ .cmp = t.cmp, .ncmp = t.n, .ops = t.ops, .nops = t.n };
	rc = pm_volume_commit_ex(m, name, vol, vol_mod, d, n, &x, revision);
	link_ops_free(&t);
	return rc;
}

/*
 * The link moves with its volume to node (node_id, node_name, portal),
 * whose desired serving LUN is l: l goes into the host's target there
 * (its ACL and CHAP account, the lowest LUN free), the link's record says
 * where it was (moved_from) and where it is, state requested again at
 * revision rev (pm_link_check presents it once the node applied it).
 * vol_iqn: the volume's own target on that node.  0, or -1 (the host has
 * no LUN free on that node, or is gone: why says so).
 */
int pm_link_move(struct pm_manager *m, const char *name, json_object *vol, json_object *link,
		 const char *node_id, const char *node_name, const char *portal,
		 const char *vol_iqn, json_object *l, int64_t rev, char *why, size_t len)
{
	json_object *h = pm_host_get(m, pm_str(link, "host_id"), NULL), *from, *vs, *hchap = NULL;
	int lun = free_lun(m, node_id, pm_str(link, "host_id"), name);
	char url[512];
	int64_t now = ps_now_ms();

	if (!h || lun < 1) {
		snprintf(why, len, "host %s %s", pm_str(link, "host"), !h ? "is gone" :
			 "has as many volumes linked from that node as a target holds");
		json_object_put(h);
		return -1;
	}
	json_object_object_get_ex(h, "chap", &hchap);
	from = json_object_new_object();
	set(from, "target", pm_str(link, "target"));
	set(from, "portal", pm_str(link, "portal"));
	json_object_object_add(from, "lun", json_object_new_int64(pm_int(link, "lun")));
	set(from, "node", pm_str(link, "node"));
	json_object_object_add(link, "moved_from", from);
	set(link, "node", node_name);
	set(link, "node_id", node_id);
	set(link, "portal", portal);
	json_object_object_add(link, "lun", json_object_new_int(lun));
	set(link, "state", "requested");
	set(link, "error", "");
	json_object_object_add(link, "revision", json_object_new_int64(rev));
	json_object_object_add(link, "since_ms", json_object_new_int64(now));
	json_object_object_del(link, "steps");
	step(link, "requested", now);
	step(link, "lend", now);
	snprintf(url, sizeof(url), "iscsi://%s/%s/1", portal, vol_iqn);
	vs = json_object_new_object();
	set(vs, "iqn", vol_iqn);
	json_object_object_add(vs, "lun", json_object_new_int64(1));
	set(vs, "url", url);
	json_object_object_add(link, "vol_serving", vs);
	/* the serving LUN into the host's target there */
	as_host_lun(l, pm_str(link, "target"), lun, pm_str(link, "initiator"), hchap);
	serving_set(vol, pm_str(link, "target"), lun, portal);
	json_object_put(h);
	return 0;
}

/* ---- where the LUN is ---- */

/* The serving node's desired state of the volume, and its "lun" in *l. */
static json_object *serving_desired(struct pm_manager *m, const char *node_id, const char *name,
				    json_object **l)
{
	char key[PS_KEY_MAX + 1];
	json_object *d;

	pm_key(key, "desired/%s/%s", node_id, name);
	d = pm_get(m, key, NULL);
	if (d && (!json_object_object_get_ex(d, "lun", l) || !*l ||
		  !json_object_is_type(*l, json_type_object))) {
		json_object_put(d);
		d = NULL;
	}
	return d;
}

/* "iscsi://PORTAL/IQN/LUN" -> PORTAL */
static int portal_of(const char *url, char *out, size_t len)
{
	const char *p = strncmp(url, "iscsi://", 8) ? NULL : url + 8, *slash;

	slash = p ? strchr(p, '/') : NULL;
	if (!slash || slash == p || (size_t)(slash - p) >= len)
		return -1;
	memcpy(out, p, (size_t)(slash - p));
	out[slash - p] = '\0';
	return 0;
}

/* The lowest LUN number that no other link of the host from that node
 * holds (0 if all are taken). */
static int free_lun(struct pm_manager *m, const char *node_id, const char *host_id,
		    const char *volume)
{
	bool used[HOST_LUN_MAX + 1] = { false };
	struct ps_range rg = { 0 };
	int lun = 0;

	if (ps_range(m->st, PM_PREFIX "links/", NULL, 0, &rg))
		return 0;
	for (size_t i = 0; i < rg.count; i++) {
		json_object *l = json_tokener_parse(rg.kvs[i].value);
		int64_t n = l ? pm_int(l, "lun") : 0;

		if (l && n >= 1 && n <= HOST_LUN_MAX && !strcmp(pm_str(l, "node_id"), node_id) &&
		    !strcmp(pm_str(l, "host_id"), host_id) && strcmp(pm_str(l, "volume"), volume))
			used[n] = true;
		json_object_put(l);
	}
	ps_range_free(&rg);
	for (int n = 1; n <= HOST_LUN_MAX && !lun; n++)
		if (!used[n])
			lun = n;
	return lun;
}

static void serving_set(json_object *vol, const char *iqn, int64_t lun, const char *portal)
{
	json_object *s;
	char url[512];

	if (!json_object_object_get_ex(vol, "serving", &s) || !s)
		return;
	snprintf(url, sizeof(url), "iscsi://%s/%s/%lld", portal, iqn, (long long)lun);
	set(s, "iqn", iqn);
	json_object_object_add(s, "lun", json_object_new_int64(lun));
	set(s, "url", url);
}

/* Back to the volume's own target, unlent (the unlink's last step, or
 * an unlink before the host was told).  One commit; 0, 1, -1. */
static int release(struct pm_manager *m, const char *name, json_object *link, int64_t link_mod,
		   int64_t *revision)
{
	char vkey[PS_KEY_MAX + 1];
	struct ps_kv vkv = { 0 };
	json_object *vol, *d = NULL, *l = NULL, *vs;
	int64_t rev = pm_next_revision(m);
	int rc = -1;

	pm_key(vkey, "volumes/%s", name);
	vol = pm_get(m, vkey, &vkv);
	if (!vol || rev < 0)
		goto out;
	d = serving_desired(m, pm_str(link, "node_id"), name, &l);
	json_object_object_get_ex(link, "vol_serving", &vs);
	if (l && vs) {
		set(l, "iqn", pm_str(vs, "iqn"));
		json_object_object_add(l, "lun", json_object_new_int64(pm_int(vs, "lun")));
		json_object_object_add(l, "acl", json_object_new_array());
		json_object_object_del(l, "chap");
		json_object_object_del(l, "tid");
	}
	if (vs)
		serving_set(vol, pm_str(vs, "iqn"), pm_int(vs, "lun"), pm_str(link, "portal"));
	json_object_object_add(vol, "borrower", NULL);
	set(link, "state", "releasing");
	json_object_object_add(link, "revision", json_object_new_int64(rev));
	step(link, "releasing", ps_now_ms());
	rc = link_commit(m, name, vol, vkv.mod_revision, pm_str(link, "node_id"), d, link, link_mod,
			 pm_str(link, "host_id"), true, revision);
	if (!rc)
		pm_log(m, "volume %s: host %s gave it up; LUN %lld of %s goes back to %s", name,
		       pm_str(link, "host"), (long long)pm_int(link, "lun"), pm_str(link, "target"),
		       vs ? pm_str(vs, "iqn") : "(none)");
out:
	ps_kv_free(&vkv);
	json_object_put(d);
	json_object_put(vol);
	return rc;
}

/* ---- POST /v1/volumes/NAME/link ---- */

static void reply_changed(struct pa_request *r, struct pm_manager *m, int rc, const char *doing)
{
	if (rc < 0)
		pm_reply_store(r, m, doing);
	else
		pa_reply_error(r, 409, "path", "the volume, its link or its host changed meanwhile; "
			       "ask again");
}

/* The host can take a link now: registered, online, with an initiator. */
static json_object *host_ready(struct pa_request *r, struct pm_manager *m, const char *name,
			       char id[PM_ID_LEN + 1])
{
	json_object *h = pm_member_by_name(m, &pm_kind_host, name, id, NULL);

	if (!h) {
		pa_reply_error(r, 404, "host", "no host named '%s' ('lunlinkctl host list' shows "
			       "them; a host joins with 'lunlink-rescand --join TOKEN')", name);
		return NULL;
	}
	int64_t last = 0;

	if (strcmp(pm_str(h, "state"), "online")) {
		pa_reply_error(r, 409, "host", "host %s is not connected: its lunlink-rescand last "
			       "reported %lld s ago (offline since revision %lld); start it there "
			       "('systemctl start lunlink-rescand')", name,
			       (long long)((ps_now_ms() - pm_int(h, "since_ms")) / 1000 +
					   m->o.offline_after),
			       (long long)pm_int(h, "since"));
	} else if (!pm_host_connected(m, id, &last)) {
		if (last)
			pa_reply_error(r, 409, "host", "host %s is not connected: its lunlink-rescand "
				       "is not waiting for work (its connection closed or went "
				       "silent %lld s ago: stopped?); start it there ('systemctl "
				       "start lunlink-rescand')", name,
				       (long long)((ps_now_ms() - last) / 1000));
		else
			pa_reply_error(r, 409, "host", "host %s is not connected: its lunlink-rescand "
				       "has not asked this manager for work since it started; start "
				       "it there ('systemctl start lunlink-rescand')", name);
	} else if (!pm_str(h, "initiator")[0]) {
		pa_reply_error(r, 409, "host", "host %s has not reported its initiator name (is "
			       "/etc/iscsi/initiatorname.iscsi there?)", name);
	} else {
		return h;
	}
	json_object_put(h);
	return NULL;
}

void pm_volume_link(struct pa_request *r, struct pm_manager *m, const char *name)
{
	static const char *const fields[] = { "host", "timeout_s", NULL };
	char hid[PM_ID_LEN + 1], vkey[PS_KEY_MAX + 1], portal[128], iqn[160];
	json_object *body = NULL, *vol = NULL, *h = NULL, *old = NULL, *d = NULL, *l, *link = NULL;
	json_object *b, *vs, *s = NULL, *id, *hchap;
	struct ps_kv vkv = { 0 }, lkv = { 0 };
	struct pjr_err e = { 0 };
	const char *host, *state, *node_id;
	int64_t timeout = LINK_TIMEOUT_DEFAULT, rev, now = ps_now_ms(), done = 0;
	int lun, rc;

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) ||
	    pjr_string(body, "host", true, PJR_NAME_MAX, PJR_NAME, &host, &e) ||
	    pjr_int(body, "timeout_s", false, 1, LINK_TIMEOUT_MAX, &timeout, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	pm_key(vkey, "volumes/%s", name);
	vol = pjr_name_valid(name, strlen(name)) ? pm_get(m, vkey, &vkv) : NULL;
	if (!vol) {
		pa_reply_error(r, 404, "path", "no volume named '%s' ('lunlinkctl volume list' shows "
			       "them)", name);
		goto out;
	}
	state = pm_str(vol, "state");
	if (strcmp(state, "ready") && strcmp(state, "degraded")) {
		pa_reply_error(r, 409, "path", "volume %s is %s; link it when it is ready "
			       "('lunlinkctl volume show %s' says why)", name, state, name);
		goto out;
	}
	h = host_ready(r, m, host, hid);
	if (!h)
		goto out;
	old = pm_link_get(m, name, &lkv);
	if (old && strcmp(pm_str(old, "host_id"), hid)) {
		pa_reply_error(r, 409, "path", "volume %s is linked to host %s (%s); unlink it first "
			       "('lunlinkctl unlink %s')", name, pm_str(old, "host"),
			       pm_str(old, "state"), name);
		goto out;
	}
	if (old && strcmp(pm_str(old, "state"), "failed")) {
		pa_reply_error(r, 409, "path", "volume %s is already linked to host %s (%s%s%s)", name,
			       host, pm_str(old, "state"),
			       json_object_object_get_ex(old, "device", &s) ? ", device " : "",
			       s ? pm_str(s, "name") : "");
		goto out;
	}
	if (!old && json_object_object_get_ex(vol, "borrower", &b) && b) {
		pa_reply_error(r, 409, "path", "volume %s is lent to %s; return it first "
			       "('lunlinkctl return %s')", name, pm_str(b, "initiator"), name);
		goto out;
	}
	json_object_object_get_ex(vol, "serving", &s);
	node_id = s ? pm_str(s, "node_id") : "";
	d = node_id[0] ? serving_desired(m, node_id, name, &l) : NULL;
	if (!d || portal_of(pm_str(s, "url"), portal, sizeof(portal))) {
		pa_reply_error(r, 409, "path", "volume %s has no serving LUN in its node's desired "
			       "state; delete it and make it again", name);
		goto out;
	}
	lun = old ? (int)pm_int(old, "lun") : free_lun(m, node_id, hid, name);
	if (lun < 1) {
		pa_reply_error(r, 409, "host", "host %s has %d volumes linked from node %s already, "
			       "as many as a target holds", host, HOST_LUN_MAX, pm_str(s, "node"));
		goto out;
	}
	rev = pm_next_revision(m);
	if (rev < 0) {
		pm_reply_store(r, m, "reading its revision");
		goto out;
	}
	snprintf(iqn, sizeof(iqn), PM_IQN_BASE ":host-%s", hid);
	json_object_object_get_ex(h, "chap", &hchap);
	link = json_object_new_object();
	set(link, "volume", name);
	set(link, "host", host);
	set(link, "host_id", hid);
	set(link, "initiator", pm_str(h, "initiator"));
	set(link, "node", pm_str(s, "node"));
	set(link, "node_id", node_id);
	set(link, "target", iqn);
	set(link, "portal", portal);
	json_object_object_add(link, "lun", json_object_new_int(lun));
	json_object_object_get_ex(vol, "identity", &id);
	set(link, "wwid", pm_str(id, "wwid"));
	json_object_object_add(link, "size", json_object_new_int64(pm_int(vol, "size")));
	set(link, "state", "requested");
	set(link, "error", "");
	json_object_object_add(link, "timeout_s", json_object_new_int64(timeout));
	json_object_object_add(link, "revision", json_object_new_int64(rev));
	json_object_object_add(link, "since_ms", json_object_new_int64(now));
	if (old && json_object_object_get_ex(old, "vol_serving", &vs)) {
		json_object_object_add(link, "vol_serving", json_object_get(vs));
	} else {
		vs = json_object_new_object();
		set(vs, "iqn", pm_str(s, "iqn"));
		json_object_object_add(vs, "lun", json_object_new_int64(pm_int(s, "lun")));
		set(vs, "url", pm_str(s, "url"));
		json_object_object_add(link, "vol_serving", vs);
	}
	step(link, "requested", now);
	step(link, "lend", now);
	/* the serving LUN into the host's target: its ACL and account */
	as_host_lun(l, iqn, lun, pm_str(h, "initiator"), hchap);
	b = json_object_new_object();
	set(b, "initiator", pm_str(h, "initiator"));
	set(b, "chap_user", pm_str(hchap, "user"));
	set(b, "chap_secret", pm_str(hchap, "secret"));
	set(b, "host", host);
	json_object_object_add(b, "since_revision", json_object_new_int64(rev));
	json_object_object_add(vol, "borrower", b);
	serving_set(vol, iqn, lun, portal);
	/* the host hears of it once the node presents it (pm_link_check);
	 * a failed link it had is gone from its list already */
	rc = link_commit(m, name, vol, vkv.mod_revision, node_id, d, link,
			 old ? lkv.mod_revision : 0, hid, false, &done);
	if (rc) {
		reply_changed(r, m, rc, "linking the volume");
		goto out;
	}
	pm_log(m, "%s links volume %s to host %s: LUN %d of %s on node %s", r->caller->desc, name,
	       host, lun, iqn, pm_str(s, "node"));
	json_object_object_add(link, "revision", json_object_new_int64(done));
	pa_reply_json(r, 202, json_object_get(link));
out:
	ps_kv_free(&lkv);
	ps_kv_free(&vkv);
	json_object_put(link);
	json_object_put(d);
	json_object_put(old);
	json_object_put(h);
	json_object_put(vol);
	json_object_put(body);
}

/* ---- POST /v1/volumes/NAME/unlink ---- */

void pm_volume_unlink(struct pa_request *r, struct pm_manager *m, const char *name)
{
	static const char *const fields[] = { "force", NULL };
	json_object *body = NULL, *link = NULL, *h = NULL;
	struct ps_kv lkv = { 0 };
	struct pjr_err e = { 0 };
	const char *state;
	bool force = false, online;
	int64_t rev, done = 0;
	int rc;

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) || pjr_bool(body, "force", false, &force, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	link = pm_link_get(m, name, &lkv);
	if (!link) {
		pa_reply_error(r, 409, "path", "volume %s is not linked to any host ('lunlinkctl "
			       "volume show %s')", name, name);
		goto out;
	}
	state = pm_str(link, "state");
	if (!strcmp(state, "unlinking") || !strcmp(state, "releasing")) {
		json_object_object_add(link, "revision", json_object_new_int64(lkv.mod_revision));
		pa_reply_json(r, 202, json_object_get(link));
		goto out;
	}
	h = pm_host_get(m, pm_str(link, "host_id"), NULL);
	online = h && !strcmp(pm_str(h, "state"), "online");
	if (!strcmp(state, "linked") && !online && !force) {
		pa_reply_error(r, 409, "host", "host %s is not connected, so its device of volume %s "
			       "cannot be removed; start its lunlink-rescand, or unlink with --force "
			       "(the LUN goes, the host's device is left stale)",
			       pm_str(link, "host"), name);
		goto out;
	}
	rev = pm_next_revision(m);
	if (rev < 0) {
		pm_reply_store(r, m, "reading its revision");
		goto out;
	}
	json_object_object_del(link, "unlink_error");
	if (!strcmp(state, "requested") || !online) {
		/* the host was never told, or cannot be */
		rc = release(m, name, link, lkv.mod_revision, &done);
	} else {
		set(link, "state", "unlinking");
		json_object_object_add(link, "force", json_object_new_boolean(force));
		json_object_object_add(link, "revision", json_object_new_int64(rev));
		step(link, "unlink", ps_now_ms());
		rc = link_put(m, name, link, lkv.mod_revision, pm_str(link, "host_id"), true, &done);
	}
	if (rc) {
		reply_changed(r, m, rc, "unlinking the volume");
		goto out;
	}
	pm_log(m, "%s unlinks volume %s from host %s%s", r->caller->desc, name,
	       pm_str(link, "host"), force ? " (forced)" : "");
	json_object_object_add(link, "revision", json_object_new_int64(done));
	pa_reply_json(r, 202, json_object_get(link));
out:
	ps_kv_free(&lkv);
	json_object_put(h);
	json_object_put(link);
	json_object_put(body);
}

/* ---- the serving node's side ---- */

void pm_link_check(struct pm_manager *m, const char *name)
{
	char key[PS_KEY_MAX + 1];
	struct ps_kv lkv = { 0 };
	json_object *link = pm_link_get(m, name, &lkv), *act = NULL;
	const char *state;
	bool requested, releasing;
	int rc = 0;

	if (!link)
		goto out;
	state = pm_str(link, "state");
	requested = !strcmp(state, "requested");
	releasing = !strcmp(state, "releasing");
	if (!requested && !releasing)
		goto out;
	pm_key(key, "actual/%s/%s", pm_str(link, "node_id"), name);
	act = pm_get(m, key, NULL);
	if (!act || pm_int(act, "desired_revision") < pm_int(link, "revision"))
		goto out;
	if (!strcmp(pm_str(act, "state"), "ready")) {
		if (releasing) {
			rc = link_put(m, name, NULL, lkv.mod_revision, pm_str(link, "host_id"), true,
				      NULL);
			if (!rc)
				pm_log(m, "volume %s is unlinked from host %s", name,
				       pm_str(link, "host"));
		} else {
			int64_t now = ps_now_ms();

			set(link, "state", "presented");
			step(link, "acl", now);
			step(link, "lun_added", now);
			rc = link_put(m, name, link, lkv.mod_revision, pm_str(link, "host_id"), true,
				      NULL);
		}
	} else if (requested && !strcmp(pm_str(act, "state"), "failed")) {
		char why[600];

		snprintf(why, sizeof(why), "node %s could not present LUN %lld of %s: %s",
			 pm_str(link, "node"), (long long)pm_int(link, "lun"), pm_str(link, "target"),
			 pm_str(act, "error"));
		set(link, "state", "failed");
		set(link, "error", why);
		set(link, "failed_step", "lun_added");
		rc = link_put(m, name, link, lkv.mod_revision, pm_str(link, "host_id"), true, NULL);
	}
	if (rc < 0)
		pm_log(m, "cannot update the link of volume %s: %s", name, ps_error(m->st));
out:
	ps_kv_free(&lkv);
	json_object_put(act);
	json_object_put(link);
}

void pm_links_sweep(struct pm_manager *m)
{
	struct ps_range rg = { 0 };
	size_t plen = strlen(PM_PREFIX "links/");

	if (ps_range(m->st, PM_PREFIX "links/", NULL, 0, &rg))
		return;
	for (size_t i = 0; i < rg.count; i++)
		pm_link_check(m, rg.kvs[i].key + plen);
	ps_range_free(&rg);
}

/* ---- the host's side ---- */

/* Whether volume name is doubled: its copies on other nodes may take
 * its place (failover.c). */
static bool doubled(struct pm_manager *m, const char *name)
{
	char key[PS_KEY_MAX + 1];
	json_object *vol;
	bool yes;

	pm_key(key, "volumes/%s", name);
	vol = pm_get(m, key, NULL);
	yes = vol && !strcmp(pm_str(vol, "way"), "doubled");
	json_object_put(vol);
	return yes;
}

json_object *pm_links_for_host(struct pm_manager *m, const char *host_id)
{
	json_object *out = json_object_new_array(), *h = pm_host_get(m, host_id, NULL), *hchap = NULL;
	struct ps_range rg = { 0 };
	size_t plen = strlen(PM_PREFIX "links/");

	if (!h || ps_range(m->st, PM_PREFIX "links/", NULL, 0, &rg))
		goto out;
	json_object_object_get_ex(h, "chap", &hchap);
	for (size_t i = 0; i < rg.count; i++) {
		json_object *l = json_tokener_parse(rg.kvs[i].value), *e, *chap;
		const char *state = l ? pm_str(l, "state") : "";
		bool unlink = !strcmp(state, "unlinking");

		if (!l || strcmp(pm_str(l, "host_id"), host_id) ||
		    (strcmp(state, "presented") && strcmp(state, "linked") && !unlink)) {
			json_object_put(l);
			continue;
		}
		e = json_object_new_object();
		set(e, "volume", pm_str(l, "volume"));
		json_object_object_add(e, "revision", json_object_new_int64(pm_int(l, "revision")));
		set(e, "action", unlink ? "unlink" : "link");
		set(e, "target", pm_str(l, "target"));
		set(e, "portal", pm_str(l, "portal"));
		json_object_object_add(e, "lun", json_object_new_int64(pm_int(l, "lun")));
		set(e, "wwid", pm_str(l, "wwid"));
		json_object_object_add(e, "size", json_object_new_int64(pm_int(l, "size")));
		json_object_object_add(e, "chap", chap_copy(hchap));
		json_object_object_add(e, "timeout_s", json_object_new_int64(pm_int(l, "timeout_s")));
		json_object_object_add(e, "force", json_object_new_boolean(
			json_object_object_get_ex(l, "force", &chap) && json_object_get_boolean(chap)));
		/* a doubled volume can move to another node (failover): the host
		 * keeps it behind a multipath map of its own */
		if (doubled(m, pm_str(l, "volume")))
			json_object_object_add(e, "multipath", json_object_new_boolean(true));
		/* it moved: the same volume (WWID) from another target, portal
		 * or LUN; the host swaps the path under its map */
		if (json_object_object_get_ex(l, "moved_from", &chap) && chap)
			json_object_object_add(e, "moved_from", json_object_get(chap));
		json_object_array_add(out, e);
		/* the host is told now: the first time for this request */
		if (!strcmp(state, "presented") && !step_of(l, "host_told")) {
			step(l, "host_told", ps_now_ms());
			link_put(m, rg.kvs[i].key + plen, l, rg.kvs[i].mod_revision, host_id, false,
				 NULL);
		}
		json_object_put(l);
	}
out:
	ps_range_free(&rg);
	json_object_put(h);
	return out;
}

void pm_link_host_report(struct pm_manager *m, const char *host_id, json_object *entry)
{
	const char *name = pm_str(entry, "volume"), *es = pm_str(entry, "state"), *state;
	struct ps_kv lkv = { 0 };
	json_object *link = pm_link_get(m, name, &lkv), *dev;
	int64_t told, now = ps_now_ms();
	int rc = 0;

	if (!link || strcmp(pm_str(link, "host_id"), host_id) ||
	    pm_int(link, "revision") != pm_int(entry, "link_revision"))
		goto out;	/* an answer to an older request, or not its link */
	state = pm_str(link, "state");
	told = step_of(link, "host_told") ? step_of(link, "host_told") : now;
	if ((!strcmp(state, "presented") || !strcmp(state, "linked")) && !strcmp(es, "linked")) {
		if (strcmp(pm_str(entry, "wwid"), pm_str(link, "wwid"))) {
			char why[300];

			snprintf(why, sizeof(why), "host %s reported device %s with WWID %s, not the "
				 "volume's %s", pm_str(link, "host"), pm_str(entry, "device"),
				 pm_str(entry, "wwid"), pm_str(link, "wwid"));
			set(link, "state", "failed");
			set(link, "error", why);
			set(link, "failed_step", "device");
			rc = link_put(m, name, link, lkv.mod_revision, host_id, true, NULL);
			goto out;
		}
		dev = json_object_new_object();
		set(dev, "name", pm_str(entry, "device"));
		set(dev, "by_id", pm_str(entry, "by_id"));
		set(dev, "wwid", pm_str(entry, "wwid"));
		json_object_object_add(dev, "size", json_object_new_int64(pm_int(entry, "size")));
		set(dev, "multipath", pm_str(entry, "multipath"));
		if (json_object_object_get_ex(link, "device", NULL) && !strcmp(state, "linked") &&
		    json_object_equal(dev, json_object_object_get(link, "device"))) {
			json_object_put(dev);
			goto out;	/* nothing new */
		}
		json_object_object_add(link, "device", dev);
		if (!strcmp(state, "presented")) {
			step(link, "host_login", told + pm_int(entry, "login_ms"));
			step(link, "host_scanned", told + pm_int(entry, "scan_ms"));
			step(link, "device", told + pm_int(entry, "device_ms"));
			step(link, "reported", now);
			json_object_object_add(link, "linked_since_ms", json_object_new_int64(now));
			set(link, "state", "linked");
			pm_log(m, "volume %s is linked to host %s as %s", name, pm_str(link, "host"),
			       pm_str(entry, "device"));
		}
		rc = link_put(m, name, link, lkv.mod_revision, host_id, false, NULL);
	} else if (!strcmp(state, "presented") && !strcmp(es, "failed")) {
		set(link, "state", "failed");
		set(link, "error", pm_str(entry, "error"));
		set(link, "failed_step", "device");
		pm_log(m, "volume %s: host %s could not link it: %s", name, pm_str(link, "host"),
		       pm_str(entry, "error"));
		rc = link_put(m, name, link, lkv.mod_revision, host_id, true, NULL);
	} else if (!strcmp(state, "unlinking") && !strcmp(es, "unlinked")) {
		step(link, "host_unlinked", now);
		json_object_object_del(link, "device");
		rc = release(m, name, link, lkv.mod_revision, NULL);
	} else if (!strcmp(state, "unlinking") && (!strcmp(es, "linked") || !strcmp(es, "failed"))) {
		/* refused (the device is held) or could not: linked as before */
		int64_t rev = pm_next_revision(m);

		set(link, "unlink_error", pm_str(entry, "error")[0] ? pm_str(entry, "error") :
			"the host did not say why");
		json_object_object_add(link, "unlink_revision",
				       json_object_new_int64(pm_int(link, "revision")));
		set(link, "state", "linked");
		json_object_object_add(link, "revision", json_object_new_int64(rev));
		pm_log(m, "volume %s: host %s did not unlink it: %s", name, pm_str(link, "host"),
		       pm_str(link, "unlink_error"));
		rc = rev < 0 ? -1 : link_put(m, name, link, lkv.mod_revision, host_id, true, NULL);
	}
	if (rc < 0)
		pm_log(m, "cannot update the link of volume %s: %s", name, ps_error(m->st));
out:
	ps_kv_free(&lkv);
	json_object_put(link);
}

/* ---- GET /v1/links ---- */

void pm_links_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	json_object *out, *all;
	struct ps_range rg = { 0 };
	struct ps_kv kv = { 0 };

	if (r->rest[0] && strcmp(r->rest, "/")) {
		out = pm_link_get(m, r->rest + 1, &kv);
		if (!out) {
			pa_reply_error(r, 404, "path", "volume '%s' is not linked", r->rest + 1);
			return;
		}
		json_object_object_add(out, "mod_revision", json_object_new_int64(kv.mod_revision));
		ps_kv_free(&kv);
		pa_reply_json(r, 200, out);
		return;
	}
	out = json_object_new_object();
	all = json_object_new_array();
	if (!ps_range(m->st, PM_PREFIX "links/", NULL, 0, &rg)) {
		for (size_t i = 0; i < rg.count; i++) {
			json_object *l = json_tokener_parse(rg.kvs[i].value);

			if (l)
				json_object_array_add(all, l);
		}
		json_object_object_add(out, "revision", json_object_new_int64(rg.revision));
	}
	ps_range_free(&rg);
	json_object_object_add(out, "links", all);
	pa_reply_json(r, 200, out);
}
