// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * registry.c: the manager's registry of storage nodes (doc/policy.md,
 * "Nodes"): join tokens kept in the store, a joining node registered in
 * the same transaction that consumes its token, its reports, its alive key
 * on a lease (online while the agent reports, offline when the lease
 * expires), its desired state read by its agent, and its removal.
 *
 * A node's id is the revision of its join, as 16 hex digits; it never
 * changes.  Its name is unique: node-names/NAME points at the id, and a
 * join under a taken name is refused naming the node that holds it.  A
 * node that restarts keeps its certificate and so its id; it does not join
 * again.  One that lost its key is removed and joins anew, with a new id.
 *
 * Every online/offline transition is written into nodes/ID (state, since,
 * since_ms), so `node list` and the event stream show them as ordinary
 * changes.  Hosts' heartbeats (the same lease scheme, hosts/ID) come with
 * the lending issue.
 */
#include "manager_int.h"
#include "lunlink/errmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_GRACE	300	/* seconds a token's record outlives it: "expired", not "unknown" */

/* ---- lookups ---- */

const struct pm_kind pm_kind_node = { "nodes", "node-names", "alive", "node", PCA_ROLE_NODE };
const struct pm_kind pm_kind_host = { "hosts", "host-names", "host-alive", "host", PCA_ROLE_HOST };

json_object *pm_member_by_name(struct pm_manager *m, const struct pm_kind *k, const char *name,
			       char id[PM_ID_LEN + 1], struct ps_kv *kv)
{
	char key[PS_KEY_MAX + 1];
	json_object *link, *node = NULL;

	if (!pjr_name_valid(name, strlen(name)))
		return NULL;
	pm_key(key, "%s/%s", k->names, name);
	link = pm_get(m, key, NULL);
	if (link && strlen(pm_str(link, "id")) == PM_ID_LEN) {
		snprintf(id, PM_ID_LEN + 1, "%s", pm_str(link, "id"));
		pm_key(key, "%s/%s", k->records, id);
		node = pm_get(m, key, kv);
	}
	json_object_put(link);
	return node;
}

json_object *pm_node_by_name(struct pm_manager *m, const char *name, char id[PM_ID_LEN + 1],
			     struct ps_kv *kv)
{
	return pm_member_by_name(m, &pm_kind_node, name, id, kv);
}

json_object *pm_caller_node(struct pa_request *r, struct pm_manager *m, char id[PM_ID_LEN + 1])
{
	json_object *node = pm_node_by_name(m, r->caller->cert.name, id, NULL);

	if (!node)
		pa_reply_error(r, 403, "caller", "node %s is not registered with this manager "
			       "(removed meanwhile?): join it again with a token from 'lunlinkctl "
			       "token create --role node'", r->caller->cert.name);
	return node;
}

json_object *pm_nodes_all(struct pm_manager *m)
{
	json_object *all = json_object_new_array();
	struct ps_range rg = { 0 };

	if (ps_range(m->st, PM_PREFIX "nodes/", NULL, 0, &rg))
		return all;
	for (size_t i = 0; i < rg.count; i++) {
		json_object *n = json_tokener_parse(rg.kvs[i].value);

		if (n)
			json_object_array_add(all, n);
	}
	ps_range_free(&rg);
	return all;
}

void pm_set_state(json_object *node, const char *state, int64_t since)
{
	json_object_object_add(node, "state", json_object_new_string(state));
	json_object_object_add(node, "since", json_object_new_int64(since));
	json_object_object_add(node, "since_ms", json_object_new_int64(ps_now_ms()));
}

/* ---- tokens and joining ---- */

void pm_tokens_post(struct pa_request *r, void *arg)
{
	static const char *const fields[] = { "role", "ttl", NULL };
	struct pm_manager *m = arg;
	const char *role_name = "node";
	char token[PCA_TOKEN_LEN + 1], id[PCA_TOKEN_ID_LEN + 1], key[PS_KEY_MAX + 1], why[256];
	char *record = NULL;
	int64_t ttl = m->o.token_ttl, lease = 0;
	json_object *body = NULL, *out;
	struct pjr_err e = { 0 };
	enum pca_role role;
	struct ps_cmp cmp = { .target = PS_CMP_VERSION, .result = PS_EQUAL, .number = 0 };
	struct ps_op op = { .type = PS_OP_PUT };
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res = { 0 };

	if (pa_request_json(r, &body))
		goto out;
	if (pjr_only(body, fields, &e) ||
	    pjr_string(body, "role", false, 8, PJR_NAME, &role_name, &e) ||
	    pjr_int(body, "ttl", false, 1, PCA_TOKEN_TTL_MAX, &ttl, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	if (!role_name)
		role_name = "node";
	if (pca_role_parse(role_name, &role)) {
		pa_reply_error(r, 400, "role", "field 'role' must be node, host or admin, not '%s'",
			       role_name);
		goto out;
	}
	if (pca_token_create(role, time(NULL), (unsigned int)ttl, token, &record, why, sizeof(why)) ||
	    pca_token_id(token, id)) {
		pa_reply_error(r, 500, "body", "cannot make a token: %s", why);
		goto out;
	}
	/* the record goes with its lease: expired tokens leave the store */
	if (ps_lease_grant(m->st, ttl + TOKEN_GRACE, &lease)) {
		pm_reply_store(r, m, "granting the token's lease");
		goto out;
	}
	pm_key(key, "tokens/%s", id);
	cmp.key = op.key = key;
	op.value = record;
	op.value_len = strlen(record);
	op.lease = lease;
	if (ps_txn(m->st, &txn, &res) || !res.succeeded) {
		if (res.succeeded)
			pm_reply_store(r, m, "storing the token");
		else
			pa_reply_error(r, 503, "body", "a token with the id %s exists; ask again", id);
		ps_lease_revoke(m->st, lease, NULL);
		goto out;
	}
	pm_log(m, "%s made a %s token %s, valid %lld s", r->caller->desc, role_name, id,
	       (long long)ttl);
	out = json_object_new_object();
	json_object_object_add(out, "token", json_object_new_string(token));
	json_object_object_add(out, "id", json_object_new_string(id));
	json_object_object_add(out, "role", json_object_new_string(pca_role_name(role)));
	json_object_object_add(out, "expires_ms",
			       json_object_new_int64(((int64_t)time(NULL) + ttl) * 1000));
	pa_reply_json(r, 201, out);
out:
	ps_txn_result_free(&res);
	free(record);
	json_object_put(body);
}

char *pm_token_get(void *arg, const char *id)
{
	struct pm_manager *m = arg;
	char key[PS_KEY_MAX + 1], *v = NULL;
	struct ps_kv kv = { 0 };

	pm_key(key, "tokens/%s", id);
	if (!ps_get(m->st, key, &kv))
		v = strdup(kv.value);
	ps_kv_free(&kv);
	return v;
}

static int name_taken(struct pm_manager *m, const struct pm_kind *k, const char *name,
		      char *why, size_t len)
{
	char id[PM_ID_LEN + 1];
	json_object *node = pm_member_by_name(m, k, name, id, NULL);

	if (!node)
		return 0;
	ll_fail(why, len, "the name '%s' is taken by %s %s (joined at revision %lld); remove "
		"it first with 'lunlinkctl %s remove %s', or join under another name", name,
		k->what, id, (long long)pm_int(node, "joined_revision"), k->what, name);
	json_object_put(node);
	return -1;
}

int pm_name_check(void *arg, enum pca_role role, const char *name, char *why, size_t len)
{
	struct pm_manager *m = arg;
	const struct pm_kind *k = role == PCA_ROLE_NODE ? &pm_kind_node :
				  role == PCA_ROLE_HOST ? &pm_kind_host : NULL;

	if (!k)
		return 0;
	/* the API's paths under /v1/nodes/ and /v1/hosts/ that are not names */
	if (!strcmp(name, "report") || !strcmp(name, "desired"))
		return ll_fail(why, len, "the name '%s' is reserved (a path of the API); choose "
			       "another", name);
	return name_taken(m, k, name, why, len);
}

static json_object *new_node(const char *id, int64_t rev, const struct pca_identity *who,
			     const char *const *hosts)
{
	json_object *n = json_object_new_object(), *h = json_object_new_array();

	for (size_t i = 0; hosts && hosts[i]; i++)
		json_object_array_add(h, json_object_new_string(hosts[i]));
	json_object_object_add(n, "id", json_object_new_string(id));
	json_object_object_add(n, "name", json_object_new_string(who->name));
	json_object_object_add(n, "address", json_object_new_string(hosts && hosts[0] ? hosts[0] : ""));
	json_object_object_add(n, "portals", json_object_new_array());
	json_object_object_add(n, "hosts", h);
	json_object_object_add(n, "tgt_version", json_object_new_string(""));
	json_object_object_add(n, "lunlink_version", json_object_new_string(""));
	json_object_object_add(n, "serial", json_object_new_string(who->serial));
	json_object_object_add(n, "joined_revision", json_object_new_int64(rev));
	json_object_object_add(n, "desired_revision", json_object_new_int64(0));
	/* offline until its first report */
	pm_set_state(n, "offline", rev);
	return n;
}

int pm_join_commit(void *arg, struct pa_join_commit *c)
{
	struct pm_manager *m = arg;
	char tkey[PS_KEY_MAX + 1], nkey[PS_KEY_MAX + 1], lkey[PS_KEY_MAX + 1], id[PM_ID_LEN + 1];
	json_object *node = NULL, *link = NULL;
	struct ps_kv tkv = { 0 };
	struct ps_cmp cmp[3];
	struct ps_op ops[3];
	struct ps_txn txn = { .cmp = cmp, .success = ops };
	struct ps_txn_result res = { 0 };
	const struct pm_kind *k;
	int64_t rev;
	int rc = -1;

	pm_key(tkey, "tokens/%s", c->token_id);
	rev = pm_next_revision(m);
	if (rev < 0 || ps_get(m->st, tkey, &tkv)) {
		c->status = 403;
		ll_fail(c->why, sizeof(c->why), "the token is not valid (expired and gone?)");
		goto out;
	}
	cmp[0] = (struct ps_cmp){ .key = tkey, .target = PS_CMP_VALUE, .result = PS_EQUAL,
				  .value = c->old_record, .value_len = strlen(c->old_record) };
	ops[0] = (struct ps_op){ .type = PS_OP_PUT, .key = tkey, .value = c->new_record,
				 .value_len = strlen(c->new_record), .lease = tkv.lease };
	txn.ncmp = txn.nsuccess = 1;
	k = c->who->role == PCA_ROLE_NODE ? &pm_kind_node :
	    c->who->role == PCA_ROLE_HOST ? &pm_kind_host : NULL;
	if (k) {
		pm_hex_id(rev, id);
		pm_key(lkey, "%s/%s", k->names, c->who->name);
		pm_key(nkey, "%s/%s", k->records, id);
		node = k == &pm_kind_node ? new_node(id, rev, c->who, c->hosts) :
		       pm_host_new(id, rev, c->who);
		if (!node) {
			c->status = 500;
			ll_fail(c->why, sizeof(c->why), "cannot make the host's CHAP account (no "
				"randomness)");
			goto out;
		}
		link = json_object_new_object();
		json_object_object_add(link, "id", json_object_new_string(id));
		cmp[1] = (struct ps_cmp){ .key = lkey, .target = PS_CMP_VERSION, .result = PS_EQUAL };
		cmp[2] = (struct ps_cmp){ .key = nkey, .target = PS_CMP_VERSION, .result = PS_EQUAL };
		ops[1] = (struct ps_op){ .type = PS_OP_PUT, .key = lkey, .value = pm_text(link),
					 .value_len = strlen(pm_text(link)) };
		ops[2] = (struct ps_op){ .type = PS_OP_PUT, .key = nkey, .value = pm_text(node),
					 .value_len = strlen(pm_text(node)) };
		txn.ncmp = txn.nsuccess = 3;
	}
	if (ps_txn(m->st, &txn, &res)) {
		c->status = 500;
		ll_fail(c->why, sizeof(c->why), "the manager's store failed recording the join: %s",
			ps_error(m->st));
		goto out;
	}
	if (!res.succeeded) {
		c->status = 403;
		if (k && name_taken(m, k, c->who->name, c->why, sizeof(c->why))) {
			c->status = 409;
			snprintf(c->field, sizeof(c->field), "name");
		} else {
			ll_fail(c->why, sizeof(c->why), "the token has been used already");
		}
		goto out;
	}
	if (node) {
		json_object_object_add(c->reply, "id", json_object_new_string(id));
		pm_log(m, "%s %s joined as %s (certificate serial %s)", k->what, c->who->name, id,
		       c->who->serial);
	}
	rc = 0;
out:
	ps_txn_result_free(&res);
	ps_kv_free(&tkv);
	json_object_put(node);
	json_object_put(link);
	return rc;
}

/* ---- reports: online, and the node's fields ---- */

bool pm_merge_fields(json_object *rec, json_object *report, const char *const *fields)
{
	bool changed = false;

	json_object_object_foreach(report, field, nv) {
		json_object *ov;
		size_t i = 0;

		while (fields && fields[i] && strcmp(fields[i], field))
			i++;
		if (fields && !fields[i])
			continue;
		if (json_object_object_get_ex(rec, field, &ov) && !strcmp(pm_text(ov), pm_text(nv)))
			continue;
		json_object_object_add(rec, field, json_object_get(nv));
		changed = true;
	}
	return changed;
}

/* The fields of an agent's report that the node record carries. */
static const char *const node_fields[] = { "address", "portals", "tgt_version",
					   "lunlink_version", "initiator", NULL };

/* Whether the report differs from the one stored (at_ms aside). */
static bool report_changed(struct pm_manager *m, const char *key, json_object *report)
{
	json_object *old = pm_get(m, key, NULL);
	bool changed;

	if (!old)
		return true;
	json_object_object_del(old, "at_ms");
	changed = strcmp(pm_text(old), pm_text(report)) != 0;
	json_object_put(old);
	return changed;
}

/* actual/ID/NAME from the report's "volumes": each put when it changed,
 * those no longer reported deleted.  Not atomic with the report itself,
 * nor need it be: each key stands alone. */
static int store_actual(struct pm_manager *m, const char *id, json_object *volumes)
{
	char prefix[PS_KEY_MAX + 1], key[PS_KEY_MAX + 1];
	struct ps_range rg = { 0 };
	int rc = 0;

	pm_key(prefix, "actual/%s/", id);
	if (ps_range(m->st, prefix, NULL, 0, &rg))
		return -1;
	for (size_t i = 0; i < rg.count && !rc; i++) {
		const char *name = rg.kvs[i].key + strlen(prefix);

		if (!json_object_object_get_ex(volumes, name, NULL))
			rc = ps_delete(m->st, rg.kvs[i].key, false, NULL, NULL);
	}
	json_object_object_foreach(volumes, name, v) {
		struct ps_kv kv = { 0 };
		const char *text = pm_text(v);

		if (rc)
			break;
		pm_key(key, "actual/%s/%s", id, name);
		if (!ps_get(m->st, key, &kv) && !strcmp(kv.value, text)) {
			ps_kv_free(&kv);
			continue;
		}
		ps_kv_free(&kv);
		rc = ps_put(m->st, key, text, strlen(text), 0, NULL);
	}
	ps_range_free(&rg);
	return rc;
}

int pm_alive_renew(struct pm_manager *m, const char *akey, struct ps_op *op, char **text,
		   int64_t *lease)
{
	struct ps_kv akv = { 0 };
	bool online = !ps_get(m->st, akey, &akv) && akv.lease &&
		      !ps_lease_keepalive(m->st, akv.lease, NULL);

	ps_kv_free(&akv);
	if (online)
		return 1;
	if (ps_lease_grant(m->st, m->o.offline_after, lease))
		return -1;
	if (asprintf(text, "{\"at_ms\":%lld}", (long long)ps_now_ms()) < 0)
		*text = NULL;
	*op = (struct ps_op){ .type = PS_OP_PUT, .key = akey, .value = *text ? *text : "{}",
			      .value_len = *text ? strlen(*text) : 2, .lease = *lease };
	return 0;
}

int pm_beat_begin(struct pa_request *r, struct pm_manager *m, const struct pm_kind *k,
		  struct pm_beat *b)
{
	int64_t rev;

	b->rec = pm_member_by_name(m, k, r->caller->cert.name, b->id, &b->kv);
	if (!b->rec) {	/* authorize let it through: removed meanwhile */
		pa_reply_error(r, 403, "caller", "%s %s is not registered", k->what,
			       r->caller->cert.name);
		return -1;
	}
	pm_key(b->rkey, "%s/%s", k->records, b->id);
	pm_key(b->akey, "%s/%s", k->alive, b->id);
	rev = pm_next_revision(m);
	if (rev < 0) {
		pm_reply_store(r, m, "reading its revision");
		return -1;
	}
	switch (pm_alive_renew(m, b->akey, &b->ops[b->nops], &b->alive_text, &b->lease)) {
	case -1:
		pm_reply_store(r, m, "granting its alive lease");
		return -1;
	case 0:
		b->nops++;
		break;
	default:
		b->lease = 0;
	}
	if (b->lease || strcmp(pm_str(b->rec, "state"), "online")) {
		pm_set_state(b->rec, "online", rev);
		b->changed = true;
		pm_log(m, "%s %s (%s) is online", k->what, r->caller->cert.name, b->id);
	}
	return 0;
}

int pm_beat_commit(struct pa_request *r, struct pm_manager *m, const struct pm_kind *k,
		   struct pm_beat *b, const struct ps_op *extra, size_t nextra)
{
	struct ps_cmp cmp = { .key = b->rkey, .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL,
			      .number = b->kv.mod_revision };
	struct ps_op ops[PM_BEAT_OPS + 2];
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = ops };
	struct ps_txn_result res = { 0 };
	int rc = 0;

	for (size_t i = 0; i < b->nops; i++)
		ops[txn.nsuccess++] = b->ops[i];
	if (b->changed)
		ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_PUT, .key = b->rkey,
						      .value = pm_text(b->rec),
						      .value_len = strlen(pm_text(b->rec)) };
	for (size_t i = 0; i < nextra && txn.nsuccess < PM_BEAT_OPS + 2; i++)
		ops[txn.nsuccess++] = extra[i];
	if (txn.nsuccess && (ps_txn(m->st, &txn, &res) || !res.succeeded)) {
		if (res.succeeded)
			pm_reply_store(r, m, "storing the report");
		else
			pa_reply_error(r, 409, "body", "%s %s changed while its report was read; "
				       "report again", k->what, r->caller->cert.name);
		rc = -1;
	} else {
		b->lease = 0;	/* the alive key holds it now */
	}
	ps_txn_result_free(&res);
	return rc;
}

void pm_beat_free(struct pm_manager *m, struct pm_beat *b)
{
	if (b->lease)
		ps_lease_revoke(m->st, b->lease, NULL);
	free(b->alive_text);
	ps_kv_free(&b->kv);
	json_object_put(b->rec);
}

void pm_nodes_report(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char rkey[PS_KEY_MAX + 1];
	json_object *body = NULL, *report = NULL, *volumes = NULL, *out;
	struct pjr_err e = { 0 };
	struct pm_beat b = { 0 };
	struct ps_op op;
	char *report_text = NULL;

	if (pa_request_json(r, &body))
		goto out;
	if (pm_report_parse(body, &report, &volumes, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	if (volumes) {
		json_object_get(volumes);
		json_object_object_del(report, "volumes");
	}
	if (pm_beat_begin(r, m, &pm_kind_node, &b))
		goto out;
	if (pm_merge_fields(b.rec, report, node_fields))
		b.changed = true;
	/* a module newly connected for a volume: its desired state brings
	 * the volume's reservation state (volume_pr.c) */
	if (pm_pr_report_news(m, b.id, report)) {
		json_object_object_add(b.rec, "desired_revision",
				       json_object_new_int64(pm_next_revision(m)));
		b.changed = true;
	}
	pm_key(rkey, "reports/%s", b.id);
	if (report_changed(m, rkey, report)) {
		json_object_object_add(report, "at_ms", json_object_new_int64(ps_now_ms()));
		report_text = strdup(pm_text(report));
	}
	op = (struct ps_op){ .type = PS_OP_PUT, .key = rkey, .value = report_text,
			     .value_len = report_text ? strlen(report_text) : 0 };
	if (pm_beat_commit(r, m, &pm_kind_node, &b, &op, report_text ? 1 : 0))
		goto out;
	if (volumes && store_actual(m, b.id, volumes)) {
		pm_reply_store(r, m, "storing the node's volumes");
		goto out;
	}
	out = json_object_new_object();
	json_object_object_add(out, "id", json_object_new_string(b.id));
	json_object_object_add(out, "desired_revision",
			       json_object_new_int64(pm_int(b.rec, "desired_revision")));
	pa_reply_json(r, 200, out);
out:
	pm_beat_free(m, &b);
	free(report_text);
	json_object_put(volumes);
	json_object_put(report);
	json_object_put(body);
}

/* ---- offline ---- */

void pm_member_gone(struct pm_manager *m, const struct pm_kind *k, const char *id, int64_t rev)
{
	char nkey[PS_KEY_MAX + 1], akey[PS_KEY_MAX + 1];
	struct ps_kv nkv = { 0 };
	json_object *node;
	struct ps_cmp cmp[2];
	struct ps_op op = { .type = PS_OP_PUT };
	struct ps_txn txn = { .cmp = cmp, .ncmp = 2, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res = { 0 };

	pm_key(nkey, "%s/%s", k->records, id);
	pm_key(akey, "%s/%s", k->alive, id);
	node = pm_get(m, nkey, &nkv);
	if (!node || !strcmp(pm_str(node, "state"), "offline"))
		goto out;
	pm_set_state(node, "offline", rev);
	/* only if it did not report again meanwhile */
	cmp[0] = (struct ps_cmp){ .key = akey, .target = PS_CMP_VERSION, .result = PS_EQUAL };
	cmp[1] = (struct ps_cmp){ .key = nkey, .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL,
				  .number = nkv.mod_revision };
	op.key = nkey;
	op.value = pm_text(node);
	op.value_len = strlen(op.value);
	if (ps_txn(m->st, &txn, &res))
		pm_log(m, "cannot mark %s %s offline: %s", k->what, pm_str(node, "name"),
		       ps_error(m->st));
	else if (res.succeeded)
		pm_log(m, "%s %s (%s) is offline: no report for %d s", k->what, pm_str(node, "name"),
		       id, m->o.offline_after);
out:
	ps_txn_result_free(&res);
	json_object_put(node);
}

static int reconcile_kind(struct pm_manager *m, const struct pm_kind *k, char *err, size_t errlen)
{
	char prefix[PS_KEY_MAX + 1];
	struct ps_range rg = { 0 };
	size_t plen;
	int rc = 0;

	pm_key(prefix, "%s/", k->records);
	plen = strlen(prefix);
	if (ps_range(m->st, prefix, NULL, 0, &rg))
		return ll_fail(err, errlen, "cannot read the %s: %s", k->records, ps_error(m->st));
	for (size_t i = 0; i < rg.count && !rc; i++) {
		const char *id = rg.kvs[i].key + plen;
		char akey[PS_KEY_MAX + 1];
		struct ps_kv akv = { 0 };
		json_object *node = json_tokener_parse(rg.kvs[i].value);
		bool alive, online;
		int64_t rev = pm_next_revision(m);

		pm_key(akey, "%s/%s", k->alive, id);
		alive = !ps_get(m->st, akey, &akv);
		ps_kv_free(&akv);
		online = !strcmp(pm_str(node, "state"), "online");
		if (node && alive != online) {
			pm_set_state(node, alive ? "online" : "offline", rev);
			rc = ps_put(m->st, rg.kvs[i].key, pm_text(node), strlen(pm_text(node)), 0, NULL);
			if (rc)
				ll_fail(err, errlen, "cannot update %s %s: %s", k->what, id,
					ps_error(m->st));
		}
		json_object_put(node);
	}
	ps_range_free(&rg);
	return rc;
}

int pm_nodes_reconcile(struct pm_manager *m, char *err, size_t errlen)
{
	return reconcile_kind(m, &pm_kind_node, err, errlen) ||
	       reconcile_kind(m, &pm_kind_host, err, errlen) ? -1 : 0;
}

/* ---- reading and removing nodes ---- */

void pm_nodes_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char id[PM_ID_LEN + 1], key[PS_KEY_MAX + 1];
	json_object *out, *node, *report;
	int64_t rev = 0;

	if (!r->rest[0] || !strcmp(r->rest, "/")) {
		ps_revision(m->st, &rev, NULL);
		out = json_object_new_object();
		json_object_object_add(out, "revision", json_object_new_int64(rev));
		json_object_object_add(out, "nodes", pm_nodes_all(m));
		pa_reply_json(r, 200, out);
		return;
	}
	node = pm_node_by_name(m, r->rest + 1, id, NULL);
	if (!node) {
		pa_reply_error(r, 404, "path", "no node named '%s' ('lunlinkctl node list' shows "
			       "them)", r->rest + 1);
		return;
	}
	pm_key(key, "reports/%s", id);
	report = pm_get(m, key, NULL);
	json_object_object_add(node, "report", report);
	pa_reply_json(r, 200, node);
}

void pm_nodes_delete(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	const char *name = r->rest[0] ? r->rest + 1 : "";
	char id[PM_ID_LEN + 1], vol[PJR_NAME_MAX + 1], keys[8][PS_KEY_MAX + 1];
	char *revoked = NULL;
	json_object *node, *out;
	struct ps_kv nkv = { 0 }, akv = { 0 };
	struct ps_cmp cmp = { .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL };
	struct ps_op ops[8];
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = ops, .nsuccess = 8 };
	struct ps_txn_result res = { 0 };

	node = pm_node_by_name(m, name, id, &nkv);
	if (!node) {
		pa_reply_error(r, 404, "path", "no node named '%s' ('lunlinkctl node list' shows "
			       "them)", name);
		goto out;
	}
	if (pm_volume_using(m, id, NULL, vol)) {
		pa_reply_error(r, 409, "path", "node %s holds a part of volume %s; delete the "
			       "volume first ('lunlinkctl volume delete %s')", name, vol, vol);
		goto out;
	}
	if (asprintf(&revoked, "{\"name\":\"%s\",\"id\":\"%s\",\"at_ms\":%lld}", name, id,
		     (long long)ps_now_ms()) < 0) {
		revoked = NULL;
		pa_reply_error(r, 500, "body", "out of memory");
		goto out;
	}
	pm_key(keys[0], "revoked/%s", pm_str(node, "serial"));
	pm_key(keys[1], "nodes/%s", id);
	pm_key(keys[2], "node-names/%s", name);
	pm_key(keys[3], "reports/%s", id);
	pm_key(keys[4], "alive/%s", id);
	pm_key(keys[5], "areas/%s/", id);
	pm_key(keys[6], "desired/%s/", id);
	pm_key(keys[7], "actual/%s/", id);
	ps_get(m->st, keys[4], &akv);
	ops[0] = (struct ps_op){ .type = PS_OP_PUT, .key = keys[0], .value = revoked,
				 .value_len = strlen(revoked) };
	for (int i = 1; i <= 4; i++)
		ops[i] = (struct ps_op){ .type = PS_OP_DELETE, .key = keys[i] };
	for (int i = 5; i <= 7; i++)
		ops[i] = (struct ps_op){ .type = PS_OP_DELETE_PREFIX, .key = keys[i] };
	cmp.key = keys[1];
	cmp.number = nkv.mod_revision;
	if (ps_txn(m->st, &txn, &res) || !res.succeeded) {
		if (res.succeeded)
			pm_reply_store(r, m, "removing the node");
		else
			pa_reply_error(r, 409, "path", "node %s changed meanwhile; remove it again", name);
		goto out;
	}
	if (akv.lease)
		ps_lease_revoke(m->st, akv.lease, NULL);
	pm_log(m, "%s removed node %s (%s); its certificate %s is revoked", r->caller->desc, name,
	       id, pm_str(node, "serial"));
	/* the watch will tell too; the next handshake must already be refused */
	pm_drain(m);
	out = json_object_new_object();
	json_object_object_add(out, "removed", json_object_new_string(name));
	json_object_object_add(out, "id", json_object_new_string(id));
	json_object_object_add(out, "revoked", json_object_new_string(pm_str(node, "serial")));
	json_object_object_add(out, "revision", json_object_new_int64(res.revision));
	pa_reply_json(r, 200, out);
out:
	ps_txn_result_free(&res);
	ps_kv_free(&akv);
	free(revoked);
	json_object_put(node);
}

/* ---- the node's desired state, for its agent ---- */

int pm_manager_enrol(struct pm_manager *m, const char *cert_pem, const char *const *hosts,
		     char *err, size_t errlen)
{
	char nkey[PS_KEY_MAX + 1], lkey[PS_KEY_MAX + 1], id[PM_ID_LEN + 1];
	struct pca_identity who;
	json_object *node, *link = NULL;
	struct ps_cmp cmp[2];
	struct ps_op ops[2];
	struct ps_txn txn = { .cmp = cmp, .ncmp = 2, .success = ops, .nsuccess = 2 };
	struct ps_txn_result res = { 0 };
	int64_t rev;
	int rc = -1;

	if (pca_identity_pem(cert_pem, &who, err, errlen))
		return -1;
	if (who.role != PCA_ROLE_NODE)
		return ll_fail(err, errlen, "the manager's certificate is for a %s, not a node",
			       pca_role_name(who.role));
	node = pm_node_by_name(m, who.name, id, NULL);
	if (node) {
		if (strcmp(pm_str(node, "serial"), who.serial))
			ll_fail(err, errlen, "node %s (%s) is registered with another certificate "
				"(serial %s; this daemon's is %s): remove it with 'lunlinkctl node "
				"remove %s' (a separate agent that joined under this name must stop "
				"first), or give this daemon another node_name", who.name, id,
				pm_str(node, "serial"), who.serial, who.name);
		else
			rc = 0;
		json_object_put(node);
		return rc;
	}
	rev = pm_next_revision(m);
	if (rev < 0)
		return ll_fail(err, errlen, "the store: %s", ps_error(m->st));
	pm_hex_id(rev, id);
	pm_key(lkey, "node-names/%s", who.name);
	pm_key(nkey, "nodes/%s", id);
	node = new_node(id, rev, &who, hosts);
	link = json_object_new_object();
	json_object_object_add(link, "id", json_object_new_string(id));
	cmp[0] = (struct ps_cmp){ .key = lkey, .target = PS_CMP_VERSION, .result = PS_EQUAL };
	cmp[1] = (struct ps_cmp){ .key = nkey, .target = PS_CMP_VERSION, .result = PS_EQUAL };
	ops[0] = (struct ps_op){ .type = PS_OP_PUT, .key = lkey, .value = pm_text(link),
				 .value_len = strlen(pm_text(link)) };
	ops[1] = (struct ps_op){ .type = PS_OP_PUT, .key = nkey, .value = pm_text(node),
				 .value_len = strlen(pm_text(node)) };
	if (ps_txn(m->st, &txn, &res))
		ll_fail(err, errlen, "the store failed registering node %s: %s", who.name,
			ps_error(m->st));
	else if (!res.succeeded)
		ll_fail(err, errlen, "node %s was registered meanwhile; start again", who.name);
	else
		rc = 0;
	if (!rc)
		pm_log(m, "registered node %s (%s) with its manager's certificate, no token (this "
		       "daemon's own node, or a fellow manager's on etcd)", who.name, id);
	ps_txn_result_free(&res);
	json_object_put(link);
	json_object_put(node);
	return rc;
}

/* What a parked GET /v1/nodes/desired waits with. */
struct desired_wait {
	struct pm_manager *m;
	int64_t since;
};

/*
 * Answer the caller's desired state if its desired_revision is newer than
 * since, or if must: 0 when answered (an error too), 1 when there is
 * nothing new (not answered), with the node's id in id.
 */
static int desired_answer(struct pa_request *r, struct pm_manager *m, int64_t since, bool must,
			  char id[PM_ID_LEN + 1])
{
	json_object *node = pm_node_by_name(m, r->caller->cert.name, id, NULL), *out, *vols;
	char prefix[PS_KEY_MAX + 1];
	struct ps_range rg = { 0 };
	int64_t desired;
	int rc = 0;

	if (!node) {
		pa_reply_error(r, 403, "caller", "node %s is not registered", r->caller->cert.name);
		goto out;
	}
	desired = pm_int(node, "desired_revision");
	if (!must && since >= desired) {
		rc = 1;
		goto out;
	}
	pm_key(prefix, "desired/%s/", id);
	if (ps_range(m->st, prefix, NULL, 0, &rg)) {
		pm_reply_store(r, m, "reading the node's desired state");
		goto out;
	}
	out = json_object_new_object();
	json_object_object_add(out, "id", json_object_new_string(id));
	json_object_object_add(out, "revision", json_object_new_int64(rg.revision));
	json_object_object_add(out, "desired_revision", json_object_new_int64(desired));
	json_object_object_add(out, "changed", json_object_new_boolean(since < desired));
	if (since < desired) {
		vols = json_object_new_object();
		for (size_t i = 0; i < rg.count; i++) {
			json_object *v = json_tokener_parse(rg.kvs[i].value);

			if (v)
				json_object_object_add(vols, rg.kvs[i].key + strlen(prefix), v);
		}
		json_object_object_add(out, "volumes", vols);
		json_object_object_add(out, "pr", pm_pr_for_node(m, id));
	}
	pa_reply_json(r, 200, out);
out:
	ps_range_free(&rg);
	json_object_put(node);
	return rc;
}

static void desired_check(struct pa_request *r, void *arg, bool last)
{
	struct desired_wait *dw = arg;
	char id[PM_ID_LEN + 1];

	desired_answer(r, dw->m, dw->since, last, id);
}

/*
 * GET /v1/nodes/desired?since=REV&wait=S: with wait, a request that finds
 * nothing newer than since is parked (waiters.h) until the node's record
 * (where its desired_revision is, written in the same transaction as its
 * desired keys) changes so, or S seconds pass ("changed":false).
 */
void pm_nodes_desired(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char id[PM_ID_LEN + 1], key[PS_KEY_MAX + 1];
	int64_t since = -1, wait = 0;
	struct desired_wait *dw;

	if (pm_query_number(r, "since", 0, INT64_MAX - 1, &since) < 0 ||
	    pm_query_number(r, "wait", 0, PW_WAIT_MAX, &wait) < 0)
		return;
	if (desired_answer(r, m, since, wait == 0, id) == 0)
		return;
	dw = malloc(sizeof(*dw));
	if (!dw) {
		pa_reply_error(r, 500, "body", "out of memory");
		return;
	}
	*dw = (struct desired_wait){ .m = m, .since = since };
	pm_key(key, "nodes/%s", id);
	if (pw_park(m->waiters, r, key, (long)wait * 1000, desired_check, free, dw))
		free(dw);
}
