// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * manager.c: the manager object (manager.h): its route table, its timers
 * (every second: the store's lease expiry, since SQLite has no clock, and
 * the volumes' write leases, lease.c; compaction), its
 * own watch over /lunlink/ (a node's alive key deleted: the node is
 * offline; a volume's lease record deleted: forgotten; a serial revoked:
 * refused at the next handshake; a node's actual state of a volume: is
 * the volume ready), the authorize and
 * revoked hooks, /metrics and GET /v1/status.  Each change the watch
 * delivers also goes to the parked long polls (waiters.h).  The handlers live in
 * registry.c, pool.c, events.c and volume.c; the store helpers they share
 * are here.
 */
#include "manager_int.h"
#include "elect.h"
#include "lunlink/errmsg.h"

#include <event2/http.h>
#include <openssl/sha.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_BATCH	64

/* ---- helpers shared by the manager's files ---- */

void pm_log(struct pm_manager *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!m->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->o.log(m->o.log_arg, msg);
}

void pm_key(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, PS_KEY_MAX + 1, "%s", PM_PREFIX);

	va_start(ap, fmt);
	vsnprintf(buf + n, PS_KEY_MAX + 1 - (size_t)n, fmt, ap);
	va_end(ap);
}

json_object *pm_get(struct pm_manager *m, const char *key, struct ps_kv *kv)
{
	struct ps_kv got = { 0 };
	json_object *o = NULL;

	if (kv)
		memset(kv, 0, sizeof(*kv));
	if (ps_get(m->st, key, &got))
		return NULL;
	o = json_tokener_parse(got.value);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	if (kv) {
		*kv = got;
		kv->key = NULL;
		kv->value = NULL;
	}
	ps_kv_free(&got);
	return o;
}

const char *pm_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

int64_t pm_next_revision(struct pm_manager *m)
{
	int64_t rev;

	if (ps_revision(m->st, &rev, NULL))
		return -1;
	return rev + 1;
}

void pm_hex_id(int64_t rev, char out[PM_ID_LEN + 1])
{
	snprintf(out, PM_ID_LEN + 1, "%016llx", (unsigned long long)rev);
}

bool pm_caller_admin(const struct pa_request *r)
{
	return r->caller->kind == PA_CALLER_LOCAL ||
	       (r->caller->kind == PA_CALLER_CERT && r->caller->cert.role == PCA_ROLE_ADMIN);
}

void pm_reply_store(struct pa_request *r, struct pm_manager *m, const char *doing)
{
	pm_log(m, "store error %s: %s", doing, ps_error(m->st));
	pa_reply_error(r, 500, "body", "the manager's store failed %s: %s; see the daemon's log",
		       doing, ps_error(m->st));
}

char *pm_query(struct pa_request *r, const char *name)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq params = { 0 };
	const char *v;
	char *out = NULL;

	if (!q || evhttp_parse_query_str(q, &params))
		return NULL;
	v = evhttp_find_header(&params, name);
	if (v)
		out = strdup(v);
	evhttp_clear_headers(&params);
	return out;
}

int pm_query_number(struct pa_request *r, const char *name, int64_t min, int64_t max,
		    int64_t *out)
{
	char *s = pm_query(r, name), *end = NULL;
	long long v;

	if (!s)
		return 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || v < min || v > max) {
		pa_reply_error(r, 400, name, "parameter '%s' must be a number between %lld and %lld, "
			       "not '%.32s'", name, (long long)min, (long long)max, s);
		free(s);
		return -1;
	}
	free(s);
	*out = v;
	return 1;
}

const char *pm_str(json_object *o, const char *field)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, field, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

int64_t pm_int(json_object *o, const char *field)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, field, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/* ---- the revoked serials: a sorted cache of revoked/ ---- */

static int serial_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void revoked_add(struct pm_manager *m, const char *serial)
{
	char **grown, *dup;

	if (m->nrevoked && bsearch(&serial, m->revoked, m->nrevoked, sizeof(char *), serial_cmp))
		return;
	grown = realloc(m->revoked, (m->nrevoked + 1) * sizeof(char *));
	dup = strdup(serial);
	if (grown)
		m->revoked = grown;
	if (!grown || !dup) {
		free(dup);
		pm_log(m, "out of memory caching the revoked serial %s", serial);
		return;
	}
	m->revoked[m->nrevoked++] = dup;
	qsort(m->revoked, m->nrevoked, sizeof(char *), serial_cmp);
}

static void revoked_del(struct pm_manager *m, const char *serial)
{
	char **at = m->nrevoked ? bsearch(&serial, m->revoked, m->nrevoked, sizeof(char *),
					  serial_cmp) : NULL;

	if (!at)
		return;
	free(*at);
	memmove(at, at + 1, (size_t)(m->revoked + m->nrevoked - at - 1) * sizeof(char *));
	m->nrevoked--;
}

static int revoked_load(struct pm_manager *m, char *err, size_t errlen)
{
	struct ps_range rg = { 0 };
	size_t plen = strlen(PM_PREFIX "revoked/");

	if (ps_range(m->st, PM_PREFIX "revoked/", NULL, 0, &rg))
		return ll_fail(err, errlen, "cannot read the revoked certificates: %s", ps_error(m->st));
	for (size_t i = 0; i < rg.count; i++)
		revoked_add(m, rg.kvs[i].key + plen);
	ps_range_free(&rg);
	return 0;
}

bool pm_manager_revoked(void *arg, const char *serial)
{
	struct pm_manager *m = arg;

	return m->nrevoked &&
	       bsearch(&serial, m->revoked, m->nrevoked, sizeof(char *), serial_cmp) != NULL;
}

int pm_manager_authorize(void *arg, const struct pa_caller *c, char *why, size_t len)
{
	struct pm_manager *m = arg;
	const struct pm_kind *k;
	char id[PM_ID_LEN + 1];
	json_object *node;
	int rc = 0;

	/* admins hold a certificate only an admin token could give */
	if (c->kind != PA_CALLER_CERT)
		return 0;
	k = c->cert.role == PCA_ROLE_NODE ? &pm_kind_node :
	    c->cert.role == PCA_ROLE_HOST ? &pm_kind_host : NULL;
	if (!k)
		return 0;
	node = pm_member_by_name(m, k, c->cert.name, id, NULL);
	if (!node)
		rc = ll_fail(why, len, "%s %s is not registered with this manager (removed, or never "
			     "joined): join it again with a token from 'lunlinkctl token create "
			     "--role %s'", k->what, c->cert.name, k->what);
	else if (strcmp(pm_str(node, "serial"), c->cert.serial))
		rc = ll_fail(why, len, "%s %s joined with another certificate (serial %s, this one "
			     "is %s): use the certificate it joined with, or remove it and join "
			     "again", k->what, c->cert.name, pm_str(node, "serial"), c->cert.serial);
	json_object_put(node);
	return rc;
}

/* ---- the manager's own watch ---- */

static void on_change(struct pm_manager *m, const struct ps_event *ev)
{
	const char *k = ev->kv.key + strlen(PM_PREFIX);
	int64_t rev = ev->kv.mod_revision;

	pw_changed(m->waiters, ev->kv.key);
	if (!strncmp(k, "alive/", 6) && ev->type == PS_EVENT_DELETE)
		pm_member_gone(m, &pm_kind_node, k + 6, rev);
	else if (!strncmp(k, "host-alive/", 11) && ev->type == PS_EVENT_DELETE)
		pm_member_gone(m, &pm_kind_host, k + 11, rev);
	else if (!strncmp(k, "revoked/", 8) && ev->type == PS_EVENT_PUT)
		revoked_add(m, k + 8);
	else if (!strncmp(k, "revoked/", 8))
		revoked_del(m, k + 8);
	else if (!strncmp(k, "leases/", 7) && ev->type == PS_EVENT_DELETE)
		pm_lease_forget(m, k + 7);
	else if (!strncmp(k, "actual/", 7) && strchr(k + 7, '/')) {
		pm_volume_check(m, strchr(k + 7, '/') + 1);
		pm_link_check(m, strchr(k + 7, '/') + 1);
	}
}

static void watch_drain(struct pm_manager *m)
{
	struct ps_event ev[WATCH_BATCH];
	int n;

	do {
		n = ps_watch_next(m->st, m->watch, ev, WATCH_BATCH);
		if (n == PS_COMPACTED) {
			/* cannot happen while we compact only after draining; if
			 * another hand compacted, read the state afresh */
			pm_log(m, "the manager's watch was compacted past; reading the state afresh");
			ps_watch_close(m->st, m->watch);
			m->watch = NULL;
			if (ps_watch_open(m->st, PM_PREFIX, 0, &m->watch) ||
			    pm_nodes_reconcile(m, NULL, 0))
				pm_log(m, "cannot watch the store again: %s", ps_error(m->st));
			return;
		}
		if (n < 0) {
			pm_log(m, "cannot read the store's changes: %s", ps_error(m->st));
			return;
		}
		for (int i = 0; i < n; i++)
			on_change(m, &ev[i]);
		ps_events_free(ev, (size_t)n);
	} while (n == WATCH_BATCH);
}

void pm_drain(struct pm_manager *m)
{
	if (m->watch)
		watch_drain(m);
	pm_followers_drain(m);
	pw_run(m->waiters);	/* long polls answered once the changes are all in */
}

static void compact(struct pm_manager *m)
{
	int64_t rev, compacted, target;

	if (ps_revision(m->st, &rev, &compacted))
		return;
	target = rev - m->o.compact_keep;
	if (target <= compacted || target <= 1)
		return;
	if (m->watch)
		watch_drain(m);	/* our own watch must not fall behind */
	if (ps_compact(m->st, target))
		pm_log(m, "cannot compact the store's history at revision %lld: %s",
		       (long long)target, ps_error(m->st));
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pm_manager *m = arg;
	int64_t now = ps_now_ms(), expired = 0;

	if (m->o.leading && !m->o.leading(m->o.leading_arg))
		return;		/* deposed: the daemon stops it (elect.h) */
	if (ps_lease_expire(m->st, now, &expired))
		pm_log(m, "cannot expire leases: %s", ps_error(m->st));
	pm_leases_tick(m);	/* the volumes' write leases */
	pm_failover_tick(m);	/* and their holders' nodes gone: promotion */
	if (now - m->last_compact_ms >= (int64_t)m->o.compact_interval * 1000) {
		m->last_compact_ms = now;
		compact(m);
	}
	pm_drain(m);
	pm_volumes_sweep(m, false);
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct pm_manager *m = arg;

	ps_poll(m->st);
	pm_drain(m);
}

/* ---- /metrics and /v1/status ---- */

static const char *const volume_states[] = { "creating", "ready", "failed", "deleting",
					     "degraded" };

static void metrics_refresh(struct pm_manager *m)
{
	json_object *nodes = pm_nodes_all(m), *vols = pm_volumes_all(m);
	double online = 0, offline = 0, count[5] = { 0 }, resync = 0;

	for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
		if (!strcmp(pm_str(json_object_array_get_idx(nodes, i), "state"), "online"))
			online++;
		else
			offline++;
	}
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *v = json_object_array_get_idx(vols, i);

		for (size_t s = 0; s < 5; s++)
			if (!strcmp(pm_str(v, "state"), volume_states[s]))
				count[s]++;
		resync += (double)pm_int(v, "resync_bytes_left");
	}
	pa_metric_set(m->nodes_state[0], online);
	pa_metric_set(m->nodes_state[1], offline);
	for (size_t s = 0; s < 5; s++)
		pa_metric_set(m->volumes_state[s], count[s]);
	pa_metric_set(m->resync_left, resync);
	json_object_put(nodes);
	json_object_put(vols);
}

static void metrics_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;

	metrics_refresh(m);
	pa_metrics_handler(r, m->metrics);
}

/*
 * The managers, as the election keeps them in the store (elect.h): the
 * leader and its term, and each candidate with its URL.  Absent on a
 * SQLite store, where the one manager is not elected.
 */
#define PM_CANDIDATES_MAX 64
static json_object *managers_json(struct pm_manager *m)
{
	struct pe_candidate *c = calloc(PM_CANDIDATES_MAX, sizeof(*c));
	json_object *out = NULL, *list;
	struct pe_leader l;
	size_t n = 0;

	if (!c || pe_read(m->st, &l, c, PM_CANDIDATES_MAX, &n) || (!l.name[0] && !n))
		goto out;
	out = json_object_new_object();
	list = json_object_new_array();
	json_object_object_add(out, "leader", json_object_new_string(l.name));
	json_object_object_add(out, "term", json_object_new_int64(l.term));
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(c[i].name));
		json_object_object_add(o, "url", json_object_new_string(c[i].url));
		json_object_array_add(list, o);
	}
	json_object_object_add(out, "candidates", list);
out:
	free(c);
	return out;
}

static void status_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	json_object *out = json_object_new_object(), *vols = pm_volumes_all(m), *mg;
	int64_t rev = 0;

	for (size_t i = 0; i < json_object_array_length(vols); i++)
		pm_volume_redact(json_object_array_get_idx(vols, i));
	ps_revision(m->st, &rev, NULL);
	json_object_object_add(out, "revision", json_object_new_int64(rev));
	if ((mg = managers_json(m)))
		json_object_object_add(out, "managers", mg);
	json_object_object_add(out, "nodes", pm_nodes_all(m));
	json_object_object_add(out, "areas", pm_areas_all(m));
	for (size_t i = 0; i < json_object_array_length(vols); i++) {
		json_object *v = json_object_array_get_idx(vols, i);

		json_object_object_add(v, "lease", pm_lease_json(m, v));
	}
	json_object_object_add(out, "volumes", vols);
	pa_reply_json(r, 200, out);
}

/* ---- the object ---- */

/* The cluster's id: the first hex digits of the SHA-256 of its CA's
 * certificate, the same for every manager of the cluster; in every
 * volume's WWID, so that two clusters' volume 2a differ. */
static int cluster_id(struct pm_manager *m, char *err, size_t errlen)
{
	char *pem = pca_cert_pem(m->ca);
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (!pem)
		return ll_fail(err, errlen, "cannot read the cluster CA's certificate");
	SHA256((const unsigned char *)pem, strlen(pem), md);
	free(pem);
	for (size_t i = 0; i < PM_CLUSTER_LEN; i++)
		m->cluster[i] = "0123456789abcdef"[(md[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	m->cluster[PM_CLUSTER_LEN] = '\0';
	return 0;
}

static int add_metrics(struct pm_manager *m)
{
	static const char *const node_states[] = { "online", "offline" };

	for (size_t i = 0; i < 2; i++) {
		const char *labels[] = { "state", node_states[i], NULL };

		m->nodes_state[i] = pa_metric_add(m->metrics, PA_GAUGE, "lunlink_nodes",
						  "storage nodes, by state", labels);
		if (!m->nodes_state[i])
			return -1;
	}
	for (size_t i = 0; i < 5; i++) {
		const char *labels[] = { "state", volume_states[i], NULL };

		m->volumes_state[i] = pa_metric_add(m->metrics, PA_GAUGE, "lunlink_volumes",
						    "volumes, by state", labels);
		if (!m->volumes_state[i])
			return -1;
	}
	m->resync_left = pa_metric_add(m->metrics, PA_GAUGE, "lunlink_resync_bytes_left",
				       "bytes the volumes' copies have still to resync", NULL);
	return m->resync_left ? 0 : -1;
}

static void add_routes(struct pm_manager *m)
{
	const unsigned int admins = PA_ALLOW_ADMIN | PA_ALLOW_LOCAL;
	const struct pa_route table[] = {
		{ "POST", "/v1/join", PA_ALLOW_JOIN, pa_join_handler, &m->join },
		{ "POST", "/v1/tokens", admins, pm_tokens_post, m },
		{ "POST", "/v1/nodes/report", PA_ALLOW_NODE, pm_nodes_report, m },
		{ "POST", "/v1/nodes/leases", PA_ALLOW_NODE, pm_nodes_leases, m },
		{ "GET", "/v1/nodes/desired", PA_ALLOW_NODE, pm_nodes_desired, m },
		{ "POST", "/v1/nodes/pr-ack", PA_ALLOW_NODE, pm_nodes_pr_ack, m },
		{ "GET", "/v1/nodes", PA_ALLOW_MEMBERS, pm_nodes_get, m },
		{ "POST", "/v1/hosts/report", PA_ALLOW_HOST, pm_hosts_report, m },
		{ "GET", "/v1/hosts/desired", PA_ALLOW_HOST, pm_hosts_desired, m },
		{ "GET", "/v1/hosts", PA_ALLOW_MEMBERS, pm_hosts_get, m },
		{ "GET", "/v1/links", PA_ALLOW_MEMBERS, pm_links_get, m },
		{ "DELETE", "/v1/nodes", admins, pm_nodes_delete, m },
		{ "POST", "/v1/areas", admins, pm_areas_post, m },
		{ "GET", "/v1/areas", PA_ALLOW_MEMBERS, pm_areas_get, m },
		{ "DELETE", "/v1/areas", admins, pm_areas_delete, m },
		/* nodes only for /v1/volumes/ID/pr (volume.c) */
		{ "POST", "/v1/volumes", admins | PA_ALLOW_NODE, pm_volumes_post, m },
		{ "GET", "/v1/volumes", PA_ALLOW_MEMBERS, pm_volumes_get, m },
		{ "DELETE", "/v1/volumes", admins, pm_volumes_delete, m },
		{ "GET", "/v1/events", PA_ALLOW_MEMBERS, pm_events_get, m },
		{ "GET", "/v1/status", PA_ALLOW_MEMBERS, status_get, m },
		{ "GET", "/metrics", PA_ALLOW_MEMBERS, metrics_get, m },
	};

	m->nroutes = sizeof(table) / sizeof(table[0]);
	memcpy(m->routes, table, sizeof(table));
}

struct pm_manager *pm_manager_new(struct event_base *base, struct ps_store *st,
				  const struct pm_options *o, char *err, size_t errlen)
{
	struct pm_manager *m = calloc(1, sizeof(*m));
	const struct timeval second = { .tv_sec = 1 };

	if (!m) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	m->base = base;
	m->st = st;
	m->o = *o;
	if (!m->o.offline_after)
		m->o.offline_after = PM_OFFLINE_AFTER;
	if (!m->o.token_ttl)
		m->o.token_ttl = PM_TOKEN_TTL;
	if (!m->o.compact_keep)
		m->o.compact_keep = PM_COMPACT_KEEP;
	if (!m->o.compact_interval)
		m->o.compact_interval = PM_COMPACT_INTERVAL;
	if (!m->o.followers_max)
		m->o.followers_max = PM_FOLLOWERS_MAX;
	if (!m->o.waiters_max)
		m->o.waiters_max = PW_WAITERS_MAX;
	if (!m->o.lease_ms)
		m->o.lease_ms = PM_LEASE_MS;
	if (!m->o.pr_valid_ms)
		m->o.pr_valid_ms = PM_PR_VALID_MS;
	if (m->o.pr_valid_ms < PM_PR_VALID_MS_MIN || m->o.pr_valid_ms > PM_PR_VALID_MS_MAX) {
		ll_fail(err, errlen, "manager option pr_valid_ms %lld is out of range (%d to %d)",
			(long long)m->o.pr_valid_ms, PM_PR_VALID_MS_MIN, PM_PR_VALID_MS_MAX);
		goto err;
	}
	if (m->o.offline_after < 1 || m->o.token_ttl < 1 || m->o.token_ttl > PCA_TOKEN_TTL_MAX ||
	    m->o.compact_keep < 1 || m->o.followers_max < 1 || m->o.lease_ms < PM_LEASE_MS_MIN ||
	    m->o.lease_ms > PM_LEASE_MS_MAX) {
		ll_fail(err, errlen, "manager options out of range: offline_after %d s (>= 1), "
			"token_ttl %d s (1 to %d), compact_keep %lld (>= 1), followers %d (>= 1), "
			"lease_ms %lld (%d to %d)", m->o.offline_after, m->o.token_ttl,
			PCA_TOKEN_TTL_MAX, (long long)m->o.compact_keep, m->o.followers_max,
			(long long)m->o.lease_ms, PM_LEASE_MS_MIN, PM_LEASE_MS_MAX);
		goto err;
	}
	if (!o->ca_dir) {
		ll_fail(err, errlen, "the manager needs the cluster CA's directory (ca_dir); make one "
			"with 'lunlinkctl ca init'");
		goto err;
	}
	m->ca = pca_load(o->ca_dir, err, errlen);
	if (!m->ca || cluster_id(m, err, errlen))
		goto err;
	m->join.ca = m->ca;
	m->join.ops = (struct pa_join_ops){ .token_get = pm_token_get, .name_check = pm_name_check,
					    .commit = pm_join_commit, .arg = m };
	add_routes(m);
	m->metrics = pa_metrics_new();
	m->waiters = pw_waiters_new(base, (size_t)m->o.waiters_max);
	m->pr = pm_pr_new();
	if (!m->metrics || !m->waiters || !m->pr || add_metrics(m)) {
		ll_fail(err, errlen, "out of memory");
		goto err;
	}
	if (revoked_load(m, err, errlen))
		goto err;
	/* watch from now: what came before is read afresh just below */
	if (ps_watch_open(st, PM_PREFIX, 0, &m->watch)) {
		ll_fail(err, errlen, "cannot watch the store: %s", ps_error(st));
		goto err;
	}
	if (pm_nodes_reconcile(m, err, errlen) || pm_leases_load(m, err, errlen))
		goto err;
	/* volumes in the middle of a step carry on, or fail naming it */
	pm_volumes_sweep(m, true);
	m->last_compact_ms = ps_now_ms();
	m->tick = event_new(base, -1, EV_PERSIST, on_tick, m);
	m->notify = event_new(base, ps_notify_fd(st), EV_READ | EV_PERSIST, on_notify, m);
	if (!m->tick || !m->notify || event_add(m->tick, &second) || event_add(m->notify, NULL)) {
		ll_fail(err, errlen, "cannot start the manager's timers");
		goto err;
	}
	return m;
err:
	pm_manager_free(m);
	return NULL;
}

void pm_manager_free(struct pm_manager *m)
{
	if (!m)
		return;
	pm_followers_free(m);
	pw_waiters_free(m->waiters);
	pm_pr_free(m->pr);
	pm_host_conns_free(m);
	pm_leases_free(m);
	if (m->tick)
		event_free(m->tick);
	if (m->notify)
		event_free(m->notify);
	if (m->watch)
		ps_watch_close(m->st, m->watch);
	for (size_t i = 0; i < m->nrevoked; i++)
		free(m->revoked[i]);
	free(m->revoked);
	pa_metrics_free(m->metrics);
	pca_free(m->ca);
	free(m);
}

void pm_manager_routes(struct pm_manager *m, const struct pa_route **routes, size_t *n)
{
	*routes = m->routes;
	*n = m->nroutes;
}

struct pa_metrics *pm_manager_metrics(struct pm_manager *m)
{
	return m->metrics;
}
