// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * volume_pr.c: a volume's persistent reservation state, kept by the
 * manager for the whole cluster (issue 18, doc/policy.md "Persistent
 * reservations"), so that a PR OUT received on any node that exports the
 * volume is applied once, in one order, and PR IN gives the same answer
 * everywhere.
 *
 * The record pr/VOLUMEID (the image's 32-hex-digit volume id, as the
 * module knows its LUN) holds the SPC-4 engine's text form
 * (include/lunlink/pr.h, linked from liblunlink) and the effects of the
 * change that made it (unit attentions, nexuses to abort); its
 * mod_revision is the state's generation.  A PR OUT (POST
 * /v1/volumes/ID/pr, from the node's agent) is applied with ll_pr_out to
 * the stored state and written in one compare-and-swap transaction that
 * also moves each exporting node's desired_revision, so their long polls
 * bring them the new state at once; a race is tried again, a refused PR
 * OUT changes nothing and is answered at once.
 *
 * The answer waits (waiters.h) until every exporting node has acked the
 * new generation, or until what it may still serve of an older one has
 * run out.  That is the timing rule: the manager grants a node validity
 * only for the current generation (POST /v1/nodes/pr-ack, the agent's
 * renewals and acks), for pr_valid_ms from when it handles the request,
 * and the agent hands the module less (what is left from when it SENT the
 * request, minus a margin); so once a generation is committed, a node
 * that has not acked it stops serving the old one by the time the
 * manager's record of its last grant says, and the PR OUT may be answered
 * then.  A manager that restarted knows no grant of its predecessor: any
 * is over pr_valid_ms after its own start, and no PR OUT is answered
 * before then (a node whose module left its agent just before the
 * restart is neither reported nor remembered).
 *
 * Who exports a volume: the nodes whose agent reports a module connected
 * for it (the report's "pr" list: the LUNs whose module said HELLO), and
 * the node the PR OUT comes from.  Acks and grants live in memory only:
 * they matter to waiting answers, which a restart ends anyway.
 */
#include "manager_int.h"
#include "lunlink/errmsg.h"
#include "lunlink/pr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PR_TRIES	8	/* compare-and-swap rounds before giving up */
#define PR_OPS_KEPT	32	/* the last changes' op ids in the record */

/* What the manager knows of one node's copy of one volume's state. */
struct pr_copy {
	char volume[PM_PR_VOLUME_LEN + 1];
	char node[PM_ID_LEN + 1];
	int64_t acked;		/* the newest generation it acked */
	int64_t valid_until;	/* ll_mono_ms(): its last grant runs out */
};

struct pm_pr {
	struct pr_copy *copies;
	size_t n, cap;
	int64_t start_ms;	/* grants of an earlier manager are over at start + valid */
};

void (*pm_pr_race_hook)(struct pm_manager *m, const char *volume);

void pm_pr_set_start(struct pm_manager *m, int64_t start_ms)
{
	m->pr->start_ms = start_ms;
}

struct pm_pr *pm_pr_new(void)
{
	struct pm_pr *p = calloc(1, sizeof(*p));

	if (p)
		p->start_ms = ll_mono_ms();
	return p;
}

void pm_pr_free(struct pm_pr *p)
{
	if (!p)
		return;
	free(p->copies);
	free(p);
}

static struct pr_copy *copy_find(struct pm_pr *p, const char *volume, const char *node,
				 bool make)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->copies[i].volume, volume) && !strcmp(p->copies[i].node, node))
			return &p->copies[i];
	if (!make)
		return NULL;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct pr_copy *c = realloc(p->copies, cap * sizeof(*c));

		if (!c)
			return NULL;
		p->copies = c;
		p->cap = cap;
	}
	memset(&p->copies[p->n], 0, sizeof(p->copies[0]));
	snprintf(p->copies[p->n].volume, sizeof(p->copies[0].volume), "%s", volume);
	snprintf(p->copies[p->n].node, sizeof(p->copies[0].node), "%s", node);
	return &p->copies[p->n++];
}

/* Until when node may serve a generation of volume older than the one
 * just committed: its last grant's end, or, with none known, the end of
 * any an earlier manager could have made. */
static int64_t stale_until(struct pm_manager *m, const char *volume, const char *node)
{
	struct pr_copy *c = copy_find(m->pr, volume, node, false);

	if (c && c->valid_until)
		return c->valid_until;
	return m->pr->start_ms + m->o.pr_valid_ms;
}

/* ---- reading input ---- */

/* A hex field of lower-case digit pairs, at most max bytes once decoded
 * (absent or "": none); -1 with e naming it. */
static int hex_field(json_object *body, const char *field, bool required, size_t max,
		     uint8_t *out, size_t *len, struct pjr_err *e)
{
	const char *s = NULL;
	size_t n;

	if (pjr_string(body, field, required, max * 2, PJR_NAME, &s, e))
		return -1;
	n = s ? strlen(s) : 0;
	if (n % 2 || strspn(s ? s : "", "0123456789abcdef") != n)
		return pjr_fail(e, 400, field, "field '%s' must be lower-case hex digits, two a "
				"byte", field);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		sscanf(s + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
	*len = n / 2;
	return 0;
}

/* An I_T nexus id as the engine names it: "iqn...,i,0x" and 12 hex digits. */
static int nexus_field(json_object *body, struct ll_pr_nexus *nx, struct pjr_err *e)
{
	const char *s = NULL, *tail;
	size_t n;

	if (pjr_string(body, "nexus", true, LL_PR_ID_MAX - 1, PJR_TEXT, &s, e))
		return -1;
	n = strlen(s);
	tail = n > 17 ? s + n - 17 : NULL;
	/* the engine's own rule too: what the store holds, the wire carries */
	if (!tail || strncmp(tail, ",i,0x", 5) || strspn(tail + 5, "0123456789abcdef") != 12 ||
	    strcspn(s, " ,") != (size_t)(tail - s) || !ll_pr_id_valid(s))
		return pjr_fail(e, 400, "nexus", "field 'nexus' must be an initiator port's "
				"TransportID as 'NAME,i,0xISID' (the iSCSI name, no space or ','; "
				"12 lower-case hex digits of ISID)");
	snprintf(nx->id, sizeof(nx->id), "%s", s);
	return 0;
}

/* ---- the record ---- */

/* The stored state of volume (empty if none) into s; kv gets the key's
 * revisions.  0, or -1 with why (a damaged record: the manager says so
 * and refuses to act on it). */
static int state_read(struct pm_manager *m, const char *volume, struct ll_pr_state *s,
		      json_object **rec, struct ps_kv *kv, char *why, size_t len)
{
	const uint16_t port = PM_PR_RTPI;
	char key[PS_KEY_MAX + 1];
	const char *text;

	ll_pr_init(s, &port, 1, 1);
	pm_key(key, "pr/%s", volume);
	*rec = pm_get(m, key, kv);
	if (!*rec) {
		if (kv->mod_revision)
			return ll_fail(why, len, "the record %s is not a JSON object", key);
		return 0;
	}
	text = pm_str(*rec, "state");
	if (ll_pr_parse(s, text, strlen(text), why, len))
		return -1;
	return 0;
}

static json_object *nexus_json(const struct ll_pr_nexus *n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "nexus", json_object_new_string(n->id));
	json_object_object_add(o, "rtpi", json_object_new_int(n->rtpi));
	return o;
}

static const char *const action_names[] = {
	"REGISTER", "RESERVE", "RELEASE", "CLEAR", "PREEMPT", "PREEMPT AND ABORT",
	"REGISTER AND IGNORE EXISTING KEY", "REGISTER AND MOVE",
};

static const char *action_name(const uint8_t *cdb, size_t len)
{
	unsigned int sa = len > 1 ? cdb[1] & 0x1f : 0xff;

	return sa < sizeof(action_names) / sizeof(action_names[0]) ? action_names[sa] : "unknown";
}

/*
 * Whether the record holds op (the agent's id of one PR OUT) from node id
 * among the last changes': an answer lost with a manager that died, the
 * agent sending it again.
 */
static bool op_applied(json_object *rec, const char *node_id, const char *op)
{
	char want[PM_ID_LEN + 48];
	json_object *ops;

	if (!rec || !op || !json_object_object_get_ex(rec, "ops", &ops) ||
	    !json_object_is_type(ops, json_type_array))
		return false;
	snprintf(want, sizeof(want), "%s:%s", node_id, op);
	for (size_t i = 0; i < json_object_array_length(ops); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(ops, i)), want))
			return true;
	return false;
}

/* The last PR_OPS_KEPT op ids: the old record's and, when given, this one. */
static json_object *ops_json(json_object *old, const char *node_id, const char *op)
{
	json_object *ops = json_object_new_array(), *was;
	size_t n = 0, from = 0;
	char id[PM_ID_LEN + 48];

	if (old && json_object_object_get_ex(old, "ops", &was) &&
	    json_object_is_type(was, json_type_array))
		n = json_object_array_length(was);
	else
		was = NULL;
	if (n + (op ? 1 : 0) > PR_OPS_KEPT)
		from = n + (op ? 1 : 0) - PR_OPS_KEPT;
	for (size_t i = from; i < n; i++)
		json_object_array_add(ops, json_object_get(json_object_array_get_idx(was, i)));
	if (op) {
		snprintf(id, sizeof(id), "%s:%s", node_id, op);
		json_object_array_add(ops, json_object_new_string(id));
	}
	return ops;
}

/* The record of state s made by the change res of node (name) and seq. */
static json_object *record_json(const struct ll_pr_state *s, const struct ll_pr_result *res,
				const char *node, const char *seq, const char *action, char *text,
				json_object *ops)
{
	json_object *rec = json_object_new_object(), *ua = json_object_new_array();
	json_object *ab = json_object_new_array(), *change = json_object_new_object();
	char from[PJR_NAME_MAX + 32];

	for (unsigned int i = 0; i < res->nua; i++) {
		json_object *u = nexus_json(&res->ua[i].nexus);
		char asc[8];

		snprintf(asc, sizeof(asc), "%04x", res->ua[i].asc);
		json_object_object_add(u, "asc", json_object_new_string(asc));
		json_object_array_add(ua, u);
	}
	for (unsigned int i = 0; i < res->nabort; i++)
		json_object_array_add(ab, nexus_json(&res->abort[i]));
	snprintf(from, sizeof(from), "%s:%s", node, seq ? seq : "");
	json_object_object_add(rec, "state", json_object_new_string(text));
	json_object_object_add(rec, "ua", ua);
	json_object_object_add(rec, "abort", ab);
	json_object_object_add(rec, "seq_from", json_object_new_string(from));
	json_object_object_add(rec, "ops", ops);
	json_object_object_add(change, "node", json_object_new_string(node));
	json_object_object_add(change, "action", json_object_new_string(action));
	json_object_object_add(change, "prgeneration", json_object_new_int64(s->generation));
	json_object_object_add(change, "at_ms", json_object_new_int64(ps_now_ms()));
	json_object_object_add(rec, "change", change);
	return rec;
}

/* ---- who exports a volume ---- */

/* Whether a node's report (reports/ID) lists volume among its modules'. */
static bool report_exports(json_object *report, const char *volume)
{
	json_object *list;

	if (!report || !json_object_object_get_ex(report, "pr", &list) ||
	    !json_object_is_type(list, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (!strcmp(pm_str(json_object_array_get_idx(list, i), "volume"), volume))
			return true;
	return false;
}

/* The ids of the nodes exporting volume, self (may be NULL) if not among
 * them, and those whose last grant still runs: at most
 * PM_PR_EXPORTERS_MAX. */
static size_t exporters(struct pm_manager *m, const char *volume, const char *self,
			char (*ids)[PM_ID_LEN + 1])
{
	struct ps_range rg = { 0 };
	size_t n = 0, plen = strlen(PM_PREFIX "reports/");
	bool have_self = !self;

	if (!ps_range(m->st, PM_PREFIX "reports/", NULL, 0, &rg)) {
		for (size_t i = 0; i < rg.count && n < PM_PR_EXPORTERS_MAX; i++) {
			json_object *report = json_tokener_parse(rg.kvs[i].value);
			const char *id = rg.kvs[i].key + plen;

			if (strlen(id) == PM_ID_LEN && report_exports(report, volume)) {
				snprintf(ids[n++], PM_ID_LEN + 1, "%s", id);
				have_self |= self && !strcmp(id, self);
			}
			json_object_put(report);
		}
		ps_range_free(&rg);
	}
	if (!have_self && n < PM_PR_EXPORTERS_MAX)
		snprintf(ids[n++], PM_ID_LEN + 1, "%s", self);
	/* and a node whose module went from its agent while its last grant
	 * runs: the module may go on serving the state until then */
	for (size_t i = 0; i < m->pr->n && n < PM_PR_EXPORTERS_MAX; i++) {
		const struct pr_copy *c = &m->pr->copies[i];
		bool known = false;

		if (strcmp(c->volume, volume) || c->valid_until <= ll_mono_ms())
			continue;
		for (size_t k = 0; k < n && !known; k++)
			known = !strcmp(ids[k], c->node);
		if (!known)
			snprintf(ids[n++], PM_ID_LEN + 1, "%s", c->node);
	}
	return n;
}

/* ---- POST /v1/volumes/ID/pr: a PR OUT ---- */

struct pr_wait {
	struct pm_manager *m;
	char volume[PM_PR_VOLUME_LEN + 1];
	int64_t generation, started_ms;
	struct ll_pr_result res;	/* status and sense only */
	size_t n;
	char ids[PM_PR_EXPORTERS_MAX][PM_ID_LEN + 1];
	int64_t stale_until[PM_PR_EXPORTERS_MAX];
	struct event *recheck;		/* at the next stale_until: nothing else wakes it */
	/* a manager that started less than pr_valid_ms ago: a node it knows
	 * nothing of may hold a grant of the one before until then */
	int64_t floor_until;
};

static void wait_free(void *arg)
{
	struct pr_wait *w = arg;

	if (w->recheck)
		event_free(w->recheck);
	free(w);
}

static void on_recheck(evutil_socket_t fd, short what, void *arg)
{
	struct pr_wait *w = arg;
	char key[PS_KEY_MAX + 1];

	(void)fd;
	(void)what;
	pm_key(key, "pr/%s", w->volume);
	pw_changed(w->m->waiters, key);
	pw_run(w->m->waiters);		/* may free w */
}

static json_object *answer_json(const struct ll_pr_result *res, int64_t generation)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_int(res->status));
	json_object_object_add(o, "sense_key", json_object_new_int(res->sense_key));
	json_object_object_add(o, "asc", json_object_new_int(res->asc));
	json_object_object_add(o, "generation", json_object_new_int64(generation));
	return o;
}

/* Answer the PR OUT once every exporter acked its generation or can no
 * longer serve an older one; at last (the deadline) in any case. */
static void wait_check(struct pa_request *r, void *arg, bool last)
{
	struct pr_wait *w = arg;
	int64_t now = ll_mono_ms(), next = 0;
	json_object *out, *late = json_object_new_array();
	size_t acked = 0;

	for (size_t i = 0; i < w->n; i++) {
		struct pr_copy *c = copy_find(w->m->pr, w->volume, w->ids[i], false);

		if (c && c->acked >= w->generation)
			acked++;
		else if (now >= w->stale_until[i] || last)
			json_object_array_add(late, json_object_new_string(w->ids[i]));
		else
			next = !next || w->stale_until[i] < next ? w->stale_until[i] : next;
	}
	if (!last && now < w->floor_until && (!next || w->floor_until < next))
		next = w->floor_until;
	if (next) {	/* some may still serve the old state: look again when it runs out */
		struct timeval tv = { .tv_sec = (next - now) / 1000,
				      .tv_usec = (next - now) % 1000 * 1000 + 1000 };

		json_object_put(late);
		if (!w->recheck)
			w->recheck = evtimer_new(w->m->base, on_recheck, w);
		if (w->recheck)
			evtimer_add(w->recheck, &tv);
		return;
	}
	out = answer_json(&w->res, w->generation);
	json_object_object_add(out, "acked", json_object_new_int64((int64_t)acked));
	if (json_object_array_length(late))
		pm_log(w->m, "PR OUT on volume %s (generation %lld) answered without the ack of "
		       "node(s) %s: their validity ran out", w->volume, (long long)w->generation,
		       pm_text(late));
	json_object_object_add(out, "expired", late);
	json_object_object_add(out, "waited_ms", json_object_new_int64(now - w->started_ms));
	pa_reply_json(r, 200, out);
}

/* What an answer waits for once generation is committed: each exporter
 * of volume but the sender has it, or can no longer serve an older one. */
static void wait_setup(struct pm_manager *m, const char *volume, const char *node_id,
		       int64_t generation, struct pr_wait *w)
{
	w->n = exporters(m, volume, node_id, w->ids);
	for (size_t i = 0; i < w->n; i++)
		w->stale_until[i] = stale_until(m, volume, w->ids[i]);
	w->generation = generation;
	if (ll_mono_ms() < m->pr->start_ms + m->o.pr_valid_ms)
		w->floor_until = m->pr->start_ms + m->o.pr_valid_ms;
}

/* One try at applying the PR OUT: 0 done (*w filled when it changed the
 * state or had changed it already, else answered), 1 a race (try again),
 * -1 answered with an error. */
static int apply_once(struct pa_request *r, struct pm_manager *m, const char *volume,
		      const char *node_id, const char *node_name, const char *seq, const char *op,
		      const struct ll_pr_nexus *nx, const uint8_t *cdb, size_t cdb_len,
		      const uint8_t *param, size_t plen, struct pr_wait *w)
{
	static struct ll_pr_state s;		/* some 20 KiB: not on the stack */
	static struct ll_pr_result res;
	static char text[LL_PR_TEXT_MAX];
	char key[PS_KEY_MAX + 1], why[256], nkeys[PM_PR_EXPORTERS_MAX][PS_KEY_MAX + 1];
	json_object *rec = NULL, *old = NULL, *nodes[PM_PR_EXPORTERS_MAX] = { 0 };
	struct ps_kv kv = { 0 };
	struct ps_cmp cmp[PM_PR_EXPORTERS_MAX + 1];
	struct ps_op ops[PM_PR_EXPORTERS_MAX + 1];
	struct ps_txn txn = { .cmp = cmp, .success = ops };
	struct ps_txn_result tres = { 0 };
	int64_t rev;
	long tlen;
	int rc = -1;

	if (state_read(m, volume, &s, &old, &kv, why, sizeof(why))) {
		pa_reply_error(r, 500, "path", "volume %s's reservation record is damaged (%s); "
			       "nothing was applied", volume, why);
		goto out;
	}
	if (op_applied(old, node_id, op)) {
		/* applied by a manager that died before answering: the same
		 * answer (a change is GOOD), once the exporters have it */
		wait_setup(m, volume, node_id, kv.mod_revision, w);
		memset(&w->res, 0, sizeof(w->res));
		w->res.status = LL_PR_GOOD;
		pm_log(m, "node %s: PR OUT %s on volume %s from %s (op %s) was applied already: "
		       "answered as applied (generation %lld)", node_name, action_name(cdb, cdb_len),
		       volume, nx->id, op, (long long)kv.mod_revision);
		rc = 0;
		goto out;
	}
	memset(&res, 0, sizeof(res));
	ll_pr_out(&s, nx, cdb, cdb_len, param, plen, &res);
	if (res.status != LL_PR_GOOD || !res.changed) {
		/* refused, or nothing to change: the state is as it was */
		pa_reply_json(r, 200, answer_json(&res, kv.mod_revision));
		rc = 0;
		goto out;
	}
	tlen = ll_pr_format(&s, text, sizeof(text));
	rev = pm_next_revision(m);
	if (tlen < 0 || rev < 0) {
		if (tlen < 0)
			pa_reply_error(r, 500, "body", "the reservation state does not fit its text "
				       "form; nothing was applied");
		else
			pm_reply_store(r, m, "reading its revision");
		goto out;
	}
	rec = record_json(&s, &res, node_name, seq, action_name(cdb, cdb_len), text,
			  ops_json(old, node_id, op));
	pm_key(key, "pr/%s", volume);
	cmp[0] = (struct ps_cmp){ .key = key, .target = PS_CMP_MOD_REVISION, .result = PS_EQUAL,
				  .number = kv.mod_revision };
	ops[0] = (struct ps_op){ .type = PS_OP_PUT, .key = key, .value = pm_text(rec),
				 .value_len = strlen(pm_text(rec)) };
	txn.ncmp = txn.nsuccess = 1;
	/* each exporter's desired_revision moves in the same transaction:
	 * its agent's long poll brings it the state at once */
	w->n = exporters(m, volume, node_id, w->ids);
	for (size_t i = 0; i < w->n; i++) {
		struct ps_kv nkv = { 0 };
		int64_t nmod;

		pm_key(nkeys[i], "nodes/%s", w->ids[i]);
		nodes[i] = pm_get(m, nkeys[i], &nkv);
		nmod = nkv.mod_revision;
		ps_kv_free(&nkv);
		if (!nodes[i])
			continue;	/* removed: nothing to tell it */
		json_object_object_add(nodes[i], "desired_revision", json_object_new_int64(rev));
		cmp[txn.ncmp++] = (struct ps_cmp){ .key = nkeys[i], .target = PS_CMP_MOD_REVISION,
						   .result = PS_EQUAL, .number = nmod };
		ops[txn.nsuccess++] = (struct ps_op){ .type = PS_OP_PUT, .key = nkeys[i],
						      .value = pm_text(nodes[i]),
						      .value_len = strlen(pm_text(nodes[i])) };
	}
	if (pm_pr_race_hook)
		pm_pr_race_hook(m, volume);
	if (ps_txn(m->st, &txn, &tres)) {
		pm_reply_store(r, m, "applying the PR OUT (nothing was applied)");
		goto out;
	}
	if (!tres.succeeded) {
		rc = 1;
		goto out;
	}
	wait_setup(m, volume, node_id, tres.revision, w);
	w->res.status = res.status;
	w->res.sense_key = res.sense_key;
	w->res.asc = res.asc;
	pm_log(m, "node %s: PR OUT %s on volume %s from %s applied: generation %lld, %u "
	       "registration(s), %s", node_name, action_name(cdb, cdb_len), volume, nx->id,
	       (long long)tres.revision, s.nregs, s.reserved ? ll_pr_type_name(s.type) :
	       "no reservation");
	rc = 0;
out:
	for (size_t i = 0; i < PM_PR_EXPORTERS_MAX; i++)
		json_object_put(nodes[i]);
	ps_txn_result_free(&tres);
	ps_kv_free(&kv);
	json_object_put(rec);
	json_object_put(old);
	return rc;
}

void pm_pr_post(struct pa_request *r, struct pm_manager *m, const char *volume)
{
	static const char *const fields[] = { "nexus", "rtpi", "cdb", "param", "seq", "op", NULL };
	static uint8_t param[PM_PR_PARAM_MAX];
	char id[PM_ID_LEN + 1];
	uint8_t cdb[PM_PR_CDB_MAX];
	size_t cdb_len = 0, plen = 0;
	const char *seq = NULL, *op = NULL;
	struct ll_pr_nexus nx = { 0 };
	int64_t rtpi = 0;
	json_object *body = NULL, *node = NULL;
	struct pjr_err e = { 0 };
	struct pr_wait *w = NULL;
	int rc = 1;

	if (!pm_pr_volume_valid(volume)) {
		pa_reply_error(r, 400, "path", "a PR OUT names the volume by its id, 32 lower-case "
			       "hex digits (the image's volume id), not '%.64s'", volume);
		return;
	}
	if (r->caller->kind != PA_CALLER_CERT || r->caller->cert.role != PCA_ROLE_NODE) {
		pa_reply_error(r, 403, "caller", "a PR OUT comes from a node's agent, not from %s",
			       r->caller->desc);
		return;
	}
	if (pa_request_json(r, &body))
		return;
	if (pjr_only(body, fields, &e) || nexus_field(body, &nx, &e) ||
	    pjr_int(body, "rtpi", true, 0, 65535, &rtpi, &e) ||
	    hex_field(body, "cdb", true, sizeof(cdb), cdb, &cdb_len, &e) ||
	    hex_field(body, "param", false, sizeof(param), param, &plen, &e) ||
	    pjr_string(body, "seq", false, 20, PJR_NAME, &seq, &e) ||
	    pjr_string(body, "op", false, 32, PJR_NAME, &op, &e)) {
		pa_reply_pjr(r, &e);
		goto out;
	}
	nx.rtpi = (uint16_t)rtpi;
	if (cdb_len < 1 || cdb[0] != 0x5f) {
		pa_reply_error(r, 400, "cdb", "field 'cdb' must be a PERSISTENT RESERVE OUT "
			       "command (operation code 5f)");
		goto out;
	}
	node = pm_caller_node(r, m, id);
	if (!node)
		goto out;
	w = calloc(1, sizeof(*w));
	if (!w) {
		pa_reply_error(r, 500, "body", "out of memory");
		goto out;
	}
	w->m = m;
	snprintf(w->volume, sizeof(w->volume), "%s", volume);
	w->started_ms = ll_mono_ms();
	for (int tries = 0; tries < PR_TRIES && rc == 1; tries++)
		rc = apply_once(r, m, volume, id, r->caller->cert.name, seq, op, &nx, cdb, cdb_len,
				param, plen, w);
	if (rc == 1)
		pa_reply_error(r, 503, "path", "volume %s's reservation changed under every one of "
			       "%d tries; nothing was applied, send it again", volume, PR_TRIES);
	if (rc || r->status)
		goto out;
	pm_drain(m);	/* the exporters' polls go out now */
	wait_check(r, w, false);
	if (r->status)
		goto out;
	{
		int64_t until = 0, now = ll_mono_ms(), key_wait;
		char key[PS_KEY_MAX + 1];

		until = w->floor_until;
		for (size_t i = 0; i < w->n; i++)
			if (w->stale_until[i] > until)
				until = w->stale_until[i];
		key_wait = until - now + 5;
		pm_key(key, "pr/%s", volume);
		if (!pw_park(m->waiters, r, key, (long)(key_wait > 5 ? key_wait : 5), wait_check,
			     wait_free, w))
			w = NULL;	/* the waiter's now */
	}
out:
	if (w)
		wait_free(w);
	json_object_put(node);
	json_object_put(body);
}

/* ---- POST /v1/nodes/pr-ack: acks and validity renewals ---- */

/* One {"volume","generation"}: recorded, and granted validity if it is
 * the current generation and the node exports the volume. */
static json_object *ack_one(struct pm_manager *m, const char *id, json_object *report,
			    const char *volume, int64_t generation, bool is_ack, int64_t now)
{
	char key[PS_KEY_MAX + 1];
	struct ps_kv kv = { 0 };
	struct pr_copy *c;
	json_object *o = json_object_new_object();
	int64_t current;
	bool valid = false, exports;

	pm_key(key, "pr/%s", volume);
	ps_get(m->st, key, &kv);
	current = kv.mod_revision;
	ps_kv_free(&kv);
	/* only the volumes it exports are remembered: a node cannot fill
	 * the manager's memory with made-up ids */
	exports = report_exports(report, volume);
	c = copy_find(m->pr, volume, id, exports);
	/* "ack":false asks for validity only: the agent is about to hand its
	 * LUNs that state, which they have not acked */
	if (c && is_ack && generation > c->acked && generation <= current)
		c->acked = generation;
	if (c && exports && generation == current) {
		c->valid_until = now + m->o.pr_valid_ms;
		valid = true;
	}
	json_object_object_add(o, "volume", json_object_new_string(volume));
	json_object_object_add(o, "generation", json_object_new_int64(current));
	json_object_object_add(o, "valid", json_object_new_boolean(valid));
	if (!valid)
		json_object_object_add(o, "why", json_object_new_string(
			generation != current ? "not the current generation: the desired state "
			"brings the new one" : "this node's report does not list the volume yet"));
	pw_changed(m->waiters, key);
	return o;
}

static int ack_entry(json_object *in, const char *place, const char **volume, int64_t *gen,
		     bool *is_ack, struct pjr_err *e)
{
	static const char *const fields[] = { "volume", "generation", "ack", NULL };

	if (!json_object_is_type(in, json_type_object))
		return pjr_fail(e, 400, place, "field '%s' must be {\"volume\",\"generation\"}", place);
	if (pjr_only(in, fields, e) ||
	    pjr_string(in, "volume", true, PM_PR_VOLUME_LEN, PJR_NAME, volume, e) ||
	    pjr_int(in, "generation", true, 0, INT64_MAX, gen, e) ||
	    (*is_ack = true, pjr_bool(in, "ack", false, is_ack, e)))
		return -1;
	if (!pm_pr_volume_valid(*volume))
		return pjr_fail(e, 400, "volume", "field 'volume' must be 32 lower-case hex digits");
	return 0;
}

void pm_nodes_pr_ack(struct pa_request *r, void *arg)
{
	static const char *const fields[] = { "volume", "generation", "ack", "volumes", NULL };
	struct pm_manager *m = arg;
	char id[PM_ID_LEN + 1], key[PS_KEY_MAX + 1];
	json_object *body = NULL, *node = NULL, *report = NULL, *list, *out, *answers;
	struct pjr_err e = { 0 };
	const char *volume;
	int64_t gen, now = ll_mono_ms();
	bool is_ack;

	if (pa_request_json(r, &body))
		return;
	node = pm_caller_node(r, m, id);
	if (!node)
		goto out;
	if (pjr_only(body, fields, &e))
		goto bad;
	pm_key(key, "reports/%s", id);
	report = pm_get(m, key, NULL);
	answers = json_object_new_array();
	out = json_object_new_object();
	json_object_object_add(out, "valid_ms", json_object_new_int64(m->o.pr_valid_ms));
	json_object_object_add(out, "volumes", answers);
	if (json_object_object_get_ex(body, "volumes", &list)) {
		if (!json_object_is_type(list, json_type_array) ||
		    json_object_array_length(list) > PM_PR_ACKS_MAX) {
			json_object_put(out);
			pjr_fail(&e, 400, "volumes", "field 'volumes' must be an array of at most %d "
				 "{\"volume\",\"generation\"}", PM_PR_ACKS_MAX);
			goto bad;
		}
		for (size_t i = 0; i < json_object_array_length(list); i++)
			if (ack_entry(json_object_array_get_idx(list, i), "volumes", &volume, &gen,
				      &is_ack, &e)) {
				json_object_put(out);
				goto bad;
			}
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			ack_entry(json_object_array_get_idx(list, i), "volumes", &volume, &gen,
				  &is_ack, &e);
			json_object_array_add(answers, ack_one(m, id, report, volume, gen, is_ack,
							       now));
		}
	} else if (json_object_object_get_ex(body, "volume", NULL)) {
		if (ack_entry(body, "body", &volume, &gen, &is_ack, &e)) {
			json_object_put(out);
			goto bad;
		}
		json_object_array_add(answers, ack_one(m, id, report, volume, gen, is_ack, now));
	}
	pa_reply_json(r, 200, out);
	pw_run(m->waiters);	/* PR OUTs waiting for these acks */
	goto out;
bad:
	pa_reply_pjr(r, &e);
out:
	json_object_put(report);
	json_object_put(node);
	json_object_put(body);
}

/* ---- the state for the agents, and for lunlinkctl ---- */

/* The record of volume as an agent takes it: generation, state, ua, abort. */
static json_object *state_for_agent(struct pm_manager *m, const char *volume)
{
	const uint16_t port = PM_PR_RTPI;
	char key[PS_KEY_MAX + 1], text[512];
	struct ps_kv kv = { 0 };
	json_object *rec, *o = json_object_new_object(), *v;
	struct ll_pr_state *s;

	pm_key(key, "pr/%s", volume);
	rec = pm_get(m, key, &kv);
	json_object_object_add(o, "generation", json_object_new_int64(kv.mod_revision));
	if (rec) {
		json_object_object_foreach(rec, field, val)
			if (!strcmp(field, "state") || !strcmp(field, "ua") || !strcmp(field, "abort"))
				json_object_object_add(o, field, json_object_get(val));
	} else {
		s = calloc(1, sizeof(*s));
		if (s) {
			ll_pr_init(s, &port, 1, 1);
			if (ll_pr_format(s, text, sizeof(text)) >= 0)
				json_object_object_add(o, "state", json_object_new_string(text));
			free(s);
		}
	}
	for (const char *f = "ua"; f; f = strcmp(f, "ua") ? NULL : "abort")
		if (!json_object_object_get_ex(o, f, &v))
			json_object_object_add(o, f, json_object_new_array());
	json_object_put(rec);
	ps_kv_free(&kv);
	return o;
}

json_object *pm_pr_for_node(struct pm_manager *m, const char *id)
{
	char key[PS_KEY_MAX + 1];
	json_object *report, *list, *out = json_object_new_object();

	pm_key(key, "reports/%s", id);
	report = pm_get(m, key, NULL);
	if (report && json_object_object_get_ex(report, "pr", &list) &&
	    json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			const char *v = pm_str(json_object_array_get_idx(list, i), "volume");

			if (pm_pr_volume_valid(v) && !json_object_object_get_ex(out, v, NULL))
				json_object_object_add(out, v, state_for_agent(m, v));
		}
	json_object_put(report);
	return out;
}

bool pm_pr_report_news(struct pm_manager *m, const char *id, json_object *report)
{
	char key[PS_KEY_MAX + 1];
	json_object *old, *list;
	bool news = false;

	if (!json_object_object_get_ex(report, "pr", &list))
		return false;
	pm_key(key, "reports/%s", id);
	old = pm_get(m, key, NULL);
	for (size_t i = 0; i < json_object_array_length(list) && !news; i++)
		news = !report_exports(old, pm_str(json_object_array_get_idx(list, i), "volume"));
	json_object_put(old);
	return news;
}

/* GET /v1/volumes/NAME/pr or /v1/volumes/ID/pr */
void pm_pr_get(struct pa_request *r, struct pm_manager *m, const char *which)
{
	char key[PS_KEY_MAX + 1], volume[PM_PR_VOLUME_LEN + 1], why[256];
	char ids[PM_PR_EXPORTERS_MAX][PM_ID_LEN + 1];
	struct ll_pr_state *s = calloc(1, sizeof(*s));
	json_object *vol = NULL, *rec = NULL, *out, *regs, *nodes, *v;
	struct ps_kv kv = { 0 };
	int64_t now = ll_mono_ms();
	size_t n;

	if (!s) {
		pa_reply_error(r, 500, "body", "out of memory");
		return;
	}
	if (pm_pr_volume_valid(which)) {
		snprintf(volume, sizeof(volume), "%s", which);
	} else {
		if (pjr_name_valid(which, strlen(which))) {
			pm_key(key, "volumes/%s", which);
			vol = pm_get(m, key, NULL);
		}
		if (!vol || !json_object_object_get_ex(vol, "identity", &v) ||
		    !pm_pr_volume_valid(pm_str(v, "image_volume_id"))) {
			pa_reply_error(r, 404, "path", "no volume named '%.64s' ('lunlinkctl volume "
				       "list' shows them; a LUN made by hand is named by its image's "
				       "volume id, 32 hex digits)", which);
			goto out;
		}
		snprintf(volume, sizeof(volume), "%s", pm_str(v, "image_volume_id"));
	}
	if (state_read(m, volume, s, &rec, &kv, why, sizeof(why))) {
		pa_reply_error(r, 500, "path", "volume %s's reservation record is damaged: %s",
			       volume, why);
		goto out;
	}
	out = json_object_new_object();
	json_object_object_add(out, "volume", json_object_new_string(volume));
	if (vol)
		json_object_object_add(out, "name", json_object_new_string(pm_str(vol, "name")));
	json_object_object_add(out, "generation", json_object_new_int64(kv.mod_revision));
	json_object_object_add(out, "prgeneration", json_object_new_int64(s->generation));
	json_object_object_add(out, "aptpl", json_object_new_boolean(s->aptpl));
	regs = json_object_new_array();
	for (unsigned int i = 0; i < s->nregs; i++) {
		json_object *g = nexus_json(&s->regs[i].nexus);
		char k[24];

		snprintf(k, sizeof(k), "0x%016llx", (unsigned long long)s->regs[i].key);
		json_object_object_add(g, "key", json_object_new_string(k));
		json_object_object_add(g, "all_tg_pt", json_object_new_boolean(s->regs[i].all_tg_pt));
		json_object_array_add(regs, g);
	}
	json_object_object_add(out, "registrations", regs);
	if (s->reserved) {
		json_object *res = json_object_new_object();
		bool all = s->type == LL_PR_WEAR || s->type == LL_PR_EAAR;

		json_object_object_add(res, "type", json_object_new_int(s->type));
		json_object_object_add(res, "type_name",
				       json_object_new_string(ll_pr_type_name(s->type)));
		json_object_object_add(res, "holder", all ? json_object_new_string("all registrants")
							  : nexus_json(&s->holder));
		json_object_object_add(out, "reservation", res);
	} else {
		json_object_object_add(out, "reservation", NULL);
	}
	if (rec && json_object_object_get_ex(rec, "change", &v))
		json_object_object_add(out, "change", json_object_get(v));
	nodes = json_object_new_array();
	n = exporters(m, volume, NULL, ids);
	for (size_t i = 0; i < n; i++) {
		struct pr_copy *c = copy_find(m->pr, volume, ids[i], false);
		json_object *e = json_object_new_object(), *node;

		pm_key(key, "nodes/%s", ids[i]);
		node = pm_get(m, key, NULL);
		json_object_object_add(e, "id", json_object_new_string(ids[i]));
		json_object_object_add(e, "name", json_object_new_string(pm_str(node, "name")));
		json_object_object_add(e, "acked", json_object_new_int64(c ? c->acked : 0));
		json_object_object_add(e, "current", json_object_new_boolean(
			c && c->acked == kv.mod_revision));
		json_object_object_add(e, "valid_left_ms", json_object_new_int64(
			c && c->valid_until > now ? c->valid_until - now : 0));
		json_object_array_add(nodes, e);
		json_object_put(node);
	}
	json_object_object_add(out, "nodes", nodes);
	pa_reply_json(r, 200, out);
out:
	json_object_put(rec);
	json_object_put(vol);
	ps_kv_free(&kv);
	free(s);
}
