// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hosts.c: the hosts of the cluster, the servers that use its volumes
 * (seed 000), as lunlink-rescand registers them (doc/link.md).  A host
 * joins with a token of role host, as a node does (registry.c keeps both:
 * hosts/ID, host-names/NAME, host-alive/ID on a lease), and is given a
 * CHAP account at its join: every node that serves it something binds
 * that account to the host's target there, so the host logs in to any
 * of them with the one account its desired links carry.
 *
 * Its reports are heartbeats (online while they come, offline when its
 * alive lease lapses) that carry its initiator name, host name and
 * version, and how its links went (link.c moves them on).  Its desired
 * links are read from the links/ records (link.c); desired_revision in
 * its record changes whenever they do, so that the host's poll with
 * since= answers "changed" only then.
 */
#include "manager_int.h"
#include "lunlink/initiator.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_object *pm_host_new(const char *id, int64_t rev, const struct pca_identity *who)
{
	char user[PM_CHAP_USER_LEN + 1], secret[PM_CHAP_SECRET_LEN + 1];
	json_object *h, *chap;

	if (pm_chap_make(user, secret))
		return NULL;
	h = json_object_new_object();
	chap = json_object_new_object();
	json_object_object_add(chap, "user", json_object_new_string(user));
	json_object_object_add(chap, "secret", json_object_new_string(secret));
	json_object_object_add(h, "id", json_object_new_string(id));
	json_object_object_add(h, "name", json_object_new_string(who->name));
	json_object_object_add(h, "initiator", json_object_new_string(""));
	json_object_object_add(h, "hostname", json_object_new_string(""));
	json_object_object_add(h, "lunlink_version", json_object_new_string(""));
	json_object_object_add(h, "serial", json_object_new_string(who->serial));
	json_object_object_add(h, "joined_revision", json_object_new_int64(rev));
	json_object_object_add(h, "desired_revision", json_object_new_int64(0));
	json_object_object_add(h, "chap", chap);
	/* offline until its first report */
	pm_set_state(h, "offline", rev);
	return h;
}

json_object *pm_host_get(struct pm_manager *m, const char *id, struct ps_kv *kv)
{
	char key[PS_KEY_MAX + 1];

	pm_key(key, "hosts/%s", id);
	return pm_get(m, key, kv);
}

static void redact(json_object *h)
{
	json_object *chap;

	if (json_object_object_get_ex(h, "chap", &chap) && chap)
		json_object_object_add(chap, "secret", json_object_new_string("(hidden)"));
}

/* ---- in touch ---- */

static struct pm_host_conn *conn_of(struct pm_manager *m, const char *id, bool make)
{
	struct pm_host_conn *c;

	for (size_t i = 0; i < m->nconns; i++)
		if (!strcmp(m->conns[i].id, id))
			return &m->conns[i];
	if (!make || !(c = realloc(m->conns, (m->nconns + 1) * sizeof(*c))))
		return NULL;
	m->conns = c;
	c = &m->conns[m->nconns++];
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	return c;
}

static void touched(struct pm_manager *m, const char *id)
{
	struct pm_host_conn *c = conn_of(m, id, true);

	if (c) {
		c->last_ms = ps_now_ms();
		c->gone = false;
	}
}

bool pm_host_connected(struct pm_manager *m, const char *id, int64_t *last_ms)
{
	struct pm_host_conn *c = conn_of(m, id, false);

	if (last_ms)
		*last_ms = c ? c->last_ms : 0;
	return c && (c->parked > 0 || (!c->gone && ps_now_ms() - c->last_ms < PM_HOST_GRACE_MS));
}

void pm_host_conns_free(struct pm_manager *m)
{
	free(m->conns);
	m->conns = NULL;
	m->nconns = 0;
}

/* ---- reports ---- */

void pm_hosts_report(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char why[256];
	json_object *body = NULL, *report = NULL, *links = NULL, *out;
	struct pjr_err e = { 0 };
	struct pm_beat b = { 0 };

	if (pa_request_json(r, &body))
		goto out;
	if (pm_host_report_parse(body, &report, &links, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	if (pm_str(report, "initiator")[0] &&
	    !ll_iscsi_name_valid(pm_str(report, "initiator"), why, sizeof(why))) {
		pa_reply_error(r, 400, "initiator", "field 'initiator' is not an iSCSI initiator "
			       "name: %s", why);
		goto out;
	}
	if (pm_beat_begin(r, m, &pm_kind_host, &b))
		goto out;
	if (pm_merge_fields(b.rec, report, NULL))	/* all: checked by the parser */
		b.changed = true;
	if (pm_beat_commit(r, m, &pm_kind_host, &b, NULL, 0))
		goto out;
	touched(m, b.id);
	for (size_t i = 0; i < json_object_array_length(links); i++)
		pm_link_host_report(m, b.id, json_object_array_get_idx(links, i));
	json_object_put(b.rec);
	b.rec = pm_host_get(m, b.id, NULL);
	out = json_object_new_object();
	json_object_object_add(out, "id", json_object_new_string(b.id));
	json_object_object_add(out, "desired_revision",
			       json_object_new_int64(b.rec ? pm_int(b.rec, "desired_revision") : 0));
	pa_reply_json(r, 200, out);
out:
	pm_beat_free(m, &b);
	json_object_put(links);
	json_object_put(report);
	json_object_put(body);
}

/* ---- its desired links ---- */

/*
 * Answer r with the host's links if its desired_revision is past since,
 * or if must; 1 if there was nothing new (not answered), with the host's
 * id in id.
 */
static int desired_answer(struct pa_request *r, struct pm_manager *m, int64_t since, bool must,
			  char id[PM_ID_LEN + 1])
{
	json_object *h = pm_member_by_name(m, &pm_kind_host, r->caller->cert.name, id, NULL), *out;
	int64_t desired;
	int rc = 0;

	if (!h) {
		pa_reply_error(r, 403, "caller", "host %s is not registered", r->caller->cert.name);
		goto out;
	}
	desired = pm_int(h, "desired_revision");
	if (!must && since >= desired) {
		rc = 1;
		goto out;
	}
	out = json_object_new_object();
	json_object_object_add(out, "id", json_object_new_string(id));
	json_object_object_add(out, "desired_revision", json_object_new_int64(desired));
	json_object_object_add(out, "changed", json_object_new_boolean(since < desired));
	if (since < desired)
		json_object_object_add(out, "links", pm_links_for_host(m, id));
	pa_reply_json(r, 200, out);
out:
	json_object_put(h);
	return rc;
}

struct host_wait {
	struct pm_manager *m;
	int64_t since;
	char id[PM_ID_LEN + 1];
	bool answered;
};

static void desired_check(struct pa_request *r, void *arg, bool last)
{
	struct host_wait *hw = arg;
	char id[PM_ID_LEN + 1];

	hw->answered = desired_answer(r, hw->m, hw->since, last, id) == 0;
}

/* A parked poll ended: answered (the host polls again at once), or
 * unanswered because its connection went (the daemon stopped, or the
 * manager does). */
static void wait_free(void *arg)
{
	struct host_wait *hw = arg;
	struct pm_host_conn *c = conn_of(hw->m, hw->id, false);

	if (c) {
		c->parked--;
		c->last_ms = ps_now_ms();
		c->gone = !hw->answered;
	}
	free(hw);
}

/*
 * GET /v1/hosts/desired?since=REV&wait=S: as the nodes' (registry.c),
 * parked until the host's record (its desired_revision moves in the same
 * transaction as its links) changes so, or S seconds pass.  A parked poll
 * is also how the manager knows the host's daemon is there
 * (pm_host_connected): one whose daemon died has none.
 */
void pm_hosts_desired(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char id[PM_ID_LEN + 1] = "", key[PS_KEY_MAX + 1];
	int64_t since = -1, wait = 0;
	struct host_wait *hw;
	struct pm_host_conn *c;

	if (pm_query_number(r, "since", 0, INT64_MAX - 1, &since) < 0 ||
	    pm_query_number(r, "wait", 0, PW_WAIT_MAX, &wait) < 0)
		return;
	if (desired_answer(r, m, since, wait == 0, id) == 0) {
		if (id[0])
			touched(m, id);
		return;
	}
	hw = malloc(sizeof(*hw));
	c = conn_of(m, id, true);
	if (!hw || !c) {
		free(hw);
		pa_reply_error(r, 500, "body", "out of memory");
		return;
	}
	*hw = (struct host_wait){ .m = m, .since = since };
	snprintf(hw->id, sizeof(hw->id), "%s", id);
	pm_key(key, "hosts/%s", id);
	if (pw_park(m->waiters, r, key, (long)wait * 1000, desired_check, wait_free, hw)) {
		free(hw);
		return;
	}
	c->parked++;
	c->last_ms = ps_now_ms();
	c->gone = false;
}

/* ---- reading ---- */

/* A host's record as the API shows it: secret hidden, its links. */
static json_object *host_view(struct pm_manager *m, json_object *h)
{
	json_object *links = json_object_new_array();
	struct ps_range rg = { 0 };

	redact(h);
	if (!ps_range(m->st, PM_PREFIX "links/", NULL, 0, &rg)) {
		for (size_t i = 0; i < rg.count; i++) {
			json_object *l = json_tokener_parse(rg.kvs[i].value), *s, *dev;

			if (!l || strcmp(pm_str(l, "host_id"), pm_str(h, "id"))) {
				json_object_put(l);
				continue;
			}
			s = json_object_new_object();
			json_object_object_add(s, "volume", json_object_new_string(pm_str(l, "volume")));
			json_object_object_add(s, "state", json_object_new_string(pm_str(l, "state")));
			json_object_object_add(s, "node", json_object_new_string(pm_str(l, "node")));
			json_object_object_add(s, "lun", json_object_new_int64(pm_int(l, "lun")));
			if (json_object_object_get_ex(l, "device", &dev))
				json_object_object_add(s, "device", json_object_get(dev));
			json_object_array_add(links, s);
			json_object_put(l);
		}
	}
	ps_range_free(&rg);
	json_object_object_add(h, "links", links);
	return h;
}

json_object *pm_hosts_all(struct pm_manager *m)
{
	json_object *all = json_object_new_array();
	struct ps_range rg = { 0 };

	if (ps_range(m->st, PM_PREFIX "hosts/", NULL, 0, &rg))
		return all;
	for (size_t i = 0; i < rg.count; i++) {
		json_object *h = json_tokener_parse(rg.kvs[i].value);

		if (h)
			json_object_array_add(all, host_view(m, h));
	}
	ps_range_free(&rg);
	return all;
}

void pm_hosts_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	char id[PM_ID_LEN + 1];
	json_object *out, *h;
	int64_t rev = 0;

	if (!r->rest[0] || !strcmp(r->rest, "/")) {
		ps_revision(m->st, &rev, NULL);
		out = json_object_new_object();
		json_object_object_add(out, "revision", json_object_new_int64(rev));
		json_object_object_add(out, "hosts", pm_hosts_all(m));
		pa_reply_json(r, 200, out);
		return;
	}
	h = pm_member_by_name(m, &pm_kind_host, r->rest + 1, id, NULL);
	if (!h) {
		pa_reply_error(r, 404, "path", "no host named '%s' ('lunlinkctl host list' shows "
			       "them)", r->rest + 1);
		return;
	}
	pa_reply_json(r, 200, host_view(m, h));
}
