// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * agent_pr.c: the agent's socket for the modules of pr=cluster LUNs, and
 * the calls it makes to the manager for them (see agent_pr.h).
 *
 * Each connection is one LUN; after HELLO it belongs to a volume.  The
 * agent keeps, per volume, the last state the desired state brought (as
 * the manager's JSON, turned into a STATE message when sent), until when
 * its modules were last told it is valid, and the generation the node
 * last acked to the manager.  The node's ack of a volume is the oldest
 * generation any of its LUNs acked: the manager may count on the node
 * only once every LUN of it has the state.
 *
 * It also says whether a LUN holds a valid state (pg_pr_lun_ready): its
 * volume is not ready on this node before, since the module answers NOT
 * READY meanwhile; a LUN's answer turning is reported at once.
 *
 * What is deliberately not here: the reservation logic (the manager
 * applies PR OUTs, the module answers PR IN and checks I/O) and the
 * message syntax (liblunlink's pr_wire.c, the module's own reader and
 * writer).  A message that does not parse is logged, once per LUN, and
 * dropped; a LUN that cannot take what it is sent is disconnected, and
 * its module connects again and gets the state afresh.
 */
#include "agent_pr.h"
#include "tgt.h"
#include "lunlink/pr_wire.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define RENEW_FIRST_MS	1000	/* until the manager said its pr_valid_ms */
#define RENEW_DOWN_MS	250	/* a renewal no manager answered: the next one, so
				 * that a new leader renews the LUNs' validity
				 * before it runs out (a takeover) */
#define FETCH_MS	500	/* asking for a new LUN's state, until it comes */
#define PR_OUT_RETRY_MS	500	/* a PR OUT no manager answered: tried again */

struct pr_conn;

struct pr_out {
	struct pr_out *next;
	struct pr_conn *c;
	uint64_t seq;
	struct pa_acall *call;
	json_object *body;	/* sent again as it is, op id and all */
	struct event *retry;
	int64_t first_ms;	/* mono ms: the first try */
	unsigned int tries;
	bool maybe;		/* a try may have been received: maybe applied */
};

struct pr_vol {
	char id[LL_PR_WIRE_VOLUME_LEN + 1];
	json_object *state;	/* {"generation","state","ua","abort"}, or NULL */
	int64_t gen;		/* state's generation; -1: none yet */
	int64_t valid_until;	/* mono ms: what the modules were told */
	size_t nconns;
	bool want_grant;	/* its STATE waits for a validity to give with it */
};

struct pr_conn {
	struct pr_conn *prev, *next;
	struct pg_pr *p;
	int fd;
	struct event *ev;
	struct pr_vol *vol;	/* after HELLO */
	uint32_t tid;
	uint64_t lun;
	int64_t sent_gen;	/* the last STATE sent; -1 none */
	int64_t acked;		/* the last ACK; -1 none */
	struct pr_out *outs;
	size_t nouts;
	bool said_bad;
	bool ready;		/* as last told (ready_check) */
};

struct pg_pr {
	struct pg_pr_opts o;
	struct event_base *base;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	struct event *lev;
	struct pr_conn *conns;
	size_t nconns;
	struct pr_vol *vols;
	size_t nvols;
	struct ll_pr_wire_msg *msg;	/* large: one, on the heap */
	char *buf;			/* LL_PR_WIRE_BUF */
	struct event *renew, *fetch;
	struct pa_acall *renew_call, *fetch_call, *grant_call;
	bool renew_again, grant_again;
	int64_t grant_sent_ms;
	int64_t renew_sent_ms;
	int64_t valid_ms;		/* the manager's pr_valid_ms; 0: not known yet */
	bool manager_down;
};

#define say(x, ...)	pa_logf((x)->o.log, (x)->o.log_arg, __VA_ARGS__)

static void arm(struct event *ev, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* ---- sending to a LUN ---- */

static void conn_close(struct pr_conn *c);

/* Send p->msg to c: 0, or -1 with c closed (it could not take it). */
static int send_msg(struct pr_conn *c)
{
	char why[256];
	long n = ll_pr_wire_format(c->p->msg, c->p->buf, LL_PR_WIRE_BUF, why, sizeof(why));

	if (n < 0) {
		say(c->p, "pr: cannot write %s for LUN %u:%llu: %s",
		    ll_pr_wire_type_name(c->p->msg->type), c->tid, (unsigned long long)c->lun, why);
		return -1;
	}
	if (send(c->fd, c->p->buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		say(c->p, "pr: LUN %u:%llu of volume %s does not take messages (%s); "
		    "disconnected, its module connects again", c->tid, (unsigned long long)c->lun,
		    c->vol ? c->vol->id : "?", strerror(errno));
		conn_close(c);
		return -1;
	}
	return 0;
}

static int send_done(struct pr_conn *c, uint64_t seq, json_object *reply)
{
	struct ll_pr_wire_msg *m = c->p->msg;
	json_object *v;

	m->type = LL_PR_WIRE_DONE;
	m->seq = seq;
	m->status = json_object_object_get_ex(reply, "status", &v) ? (uint8_t)json_object_get_int(v) : 0;
	m->sense_key = json_object_object_get_ex(reply, "sense_key", &v) ?
		       (uint8_t)json_object_get_int(v) : 0;
	m->asc = json_object_object_get_ex(reply, "asc", &v) ? (uint16_t)json_object_get_int(v) : 0;
	if (m->status != LL_PR_CHECK_CONDITION)
		m->sense_key = 0, m->asc = 0;
	return send_msg(c);
}

static int send_fail(struct pr_conn *c, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int send_fail(struct pr_conn *c, uint64_t seq, const char *fmt, ...)
{
	struct ll_pr_wire_msg *m = c->p->msg;
	va_list ap;

	m->type = LL_PR_WIRE_FAIL;
	m->seq = seq;
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
	say(c->p, "pr: PR OUT %llu of LUN %u:%llu (volume %s) failed: %s",
	    (unsigned long long)seq, c->tid, (unsigned long long)c->lun, c->vol ? c->vol->id : "?",
	    m->reason);
	return send_msg(c);
}

/* What the agent keeps off a validity it hands on: the clocks' rates, the
 * socket, its own loop's turns. */
static int64_t margin_ms(const struct pg_pr *p)
{
	return p->valid_ms / 10 > 100 ? p->valid_ms / 10 : 100;
}

static int64_t left_ms(const struct pr_vol *v)
{
	int64_t left = v->valid_until - ll_mono_ms();

	if (left <= 0)
		return 0;
	return left > LL_PR_WIRE_VALID_MS_MAX ? LL_PR_WIRE_VALID_MS_MAX : left;
}

/* Whether c's module holds a valid state: it acked one, and the validity
 * it was handed (with a STATE or a VALID) runs yet. */
static bool conn_ready(const struct pr_conn *c)
{
	return c->vol && c->acked >= 0 && left_ms(c->vol) > 0;
}

/* The volumes' readiness to the report at once when a LUN's turned (an
 * ACK, a validity granted or refused, a LUN gone). */
static void ready_check(struct pg_pr *p)
{
	bool turned = false;

	for (struct pr_conn *c = p->conns; c; c = c->next)
		if (conn_ready(c) != c->ready) {
			c->ready = !c->ready;
			turned = true;
		}
	if (turned && p->o.report_now)
		p->o.report_now(p->o.report_arg);
}

/* The volume's state to c, with what is left of its validity. */
static int send_state(struct pr_conn *c)
{
	struct ll_pr_wire_msg *m = c->p->msg;
	struct pr_vol *v = c->vol;
	json_object *list, *e;
	const char *text;

	memset(m, 0, offsetof(struct ll_pr_wire_msg, state));
	m->type = LL_PR_WIRE_STATE;
	m->gen = (uint64_t)v->gen;
	m->valid_ms = (uint32_t)left_ms(v);
	if (json_object_object_get_ex(v->state, "ua", &list) &&
	    json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list) && m->nua < LL_PR_MAX_REGS; i++) {
			e = json_object_array_get_idx(list, i);
			if (!json_object_object_get_ex(e, "nexus", NULL))
				continue;
			snprintf(m->ua[m->nua].nexus.id, sizeof(m->ua[0].nexus.id), "%s",
				 json_object_get_string(json_object_object_get(e, "nexus")));
			m->ua[m->nua++].asc = (uint16_t)strtoul(
				json_object_get_string(json_object_object_get(e, "asc")), NULL, 16);
		}
	if (json_object_object_get_ex(v->state, "abort", &list) &&
	    json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list) && m->nabort < LL_PR_MAX_REGS;
		     i++) {
			e = json_object_array_get_idx(list, i);
			if (json_object_object_get_ex(e, "nexus", NULL))
				snprintf(m->abort[m->nabort++].id, sizeof(m->abort[0].id), "%s",
					 json_object_get_string(json_object_object_get(e, "nexus")));
		}
	text = json_object_get_string(json_object_object_get(v->state, "state"));
	m->text = text ? text : "";
	m->text_len = strlen(m->text);
	if (send_msg(c))
		return -1;
	c->sent_gen = v->gen;
	return 0;
}

/* ---- volumes ---- */

static struct pr_vol *vol_get(struct pg_pr *p, const char *id, bool make)
{
	struct pr_vol *free_slot = NULL;

	for (size_t i = 0; i < p->nvols; i++) {
		if (!strcmp(p->vols[i].id, id))
			return &p->vols[i];
		if (!free_slot && !p->vols[i].nconns)
			free_slot = &p->vols[i];
	}
	if (!make)
		return NULL;
	if (p->nvols < PG_PR_CONNS_MAX) {
		free_slot = &p->vols[p->nvols++];
	} else if (!free_slot) {
		return NULL;
	} else {		/* a volume no LUN has now: forgotten */
		json_object_put(free_slot->state);
	}
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->id, sizeof(free_slot->id), "%s", id);
	free_slot->gen = -1;
	return free_slot;
}

/* The node's ack of v: the oldest generation its LUNs acked, or -1 if
 * one has acked none. */
static int64_t node_ack(struct pg_pr *p, const struct pr_vol *v)
{
	int64_t ack = -1;
	bool first = true;

	for (struct pr_conn *c = p->conns; c; c = c->next) {
		if (c->vol != v)
			continue;
		if (c->acked < 0)
			return -1;
		if (first || c->acked < ack)
			ack = c->acked;
		first = false;
	}
	return ack;
}

/* ---- renewals and acks: POST /v1/nodes/pr-ack ---- */

static void renew_now(struct pg_pr *p);

/* ---- POST /v1/nodes/pr-ack: the renewal and the grant share it ---- */

/* One entry of the call's "volumes" ("ack":false: a grant asked before
 * the LUNs have the state). */
static void ack_entry(json_object *list, const struct pr_vol *v, int64_t gen, bool ack)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "volume", json_object_new_string(v->id));
	json_object_object_add(e, "generation", json_object_new_int64(gen));
	if (!ack)
		json_object_object_add(e, "ack", json_object_new_boolean(0));
	json_object_array_add(list, e);
}

/* POST list (taken) as {"volumes":list}, *sent_ms its start: the call, or
 * NULL with err; NULL with err "" if list is empty (nothing to ask). */
static struct pa_acall *post_ack(struct pg_pr *p, json_object *list, int64_t *sent_ms,
				 pa_done_fn done, char *err, size_t errlen)
{
	json_object *body;
	struct pa_acall *call;

	err[0] = '\0';
	if (!json_object_array_length(list)) {
		json_object_put(list);
		return NULL;
	}
	body = json_object_new_object();
	json_object_object_add(body, "volumes", list);
	*sent_ms = ll_mono_ms();
	call = pa_aclient_call(p->o.client, "POST", "/v1/nodes/pr-ack", body, 0, done, p,
			       err, errlen);
	json_object_put(body);
	return call;
}

/* The answer's validity (pr_valid_ms) kept if it is one to trust; its
 * "volumes" if there is a validity to give, else NULL. */
static json_object *ack_answer(struct pg_pr *p, json_object *reply)
{
	json_object *v, *list;

	if (json_object_object_get_ex(reply, "valid_ms", &v) && json_object_get_int64(v) >= 1000 &&
	    json_object_get_int64(v) <= LL_PR_WIRE_VALID_MS_MAX)
		p->valid_ms = json_object_get_int64(v);
	return p->valid_ms && json_object_object_get_ex(reply, "volumes", &list) &&
	       json_object_is_type(list, json_type_array) ? list : NULL;
}

/* The volume entry e of the answer grants a validity to, for the state
 * the agent holds, or NULL. */
static struct pr_vol *ack_granted(struct pg_pr *p, json_object *e)
{
	json_object *v, *g;
	struct pr_vol *vol;

	if (!json_object_object_get_ex(e, "valid", &v) || !json_object_get_boolean(v) ||
	    !json_object_object_get_ex(e, "generation", &g) ||
	    !(vol = vol_get(p, json_object_get_string(json_object_object_get(e, "volume")), false)))
		return NULL;
	return json_object_get_int64(g) == vol->gen ? vol : NULL;	/* else: not the state held */
}

static void on_renew_done(void *arg, long status, json_object *reply, const char *err)
{
	struct pg_pr *p = arg;
	json_object *list;
	int64_t now = ll_mono_ms();

	(void)status;
	p->renew_call = NULL;
	if (err) {
		if (!p->manager_down)
			say(p, "pr: the manager does not renew the reservation state (%s): the LUNs' "
			    "validity runs out, and they refuse I/O a reservation could affect; "
			    "asking every %d ms", err, RENEW_DOWN_MS);
		p->manager_down = true;
		arm(p->renew, RENEW_DOWN_MS);
	} else {
		if (p->manager_down)
			say(p, "pr: the manager renews the reservation state again");
		p->manager_down = false;
		/* the module's deadline comes before the manager's: counted
		 * from when the request was SENT, less a margin for the
		 * clocks' rates and the socket */
		list = ack_answer(p, reply);
		for (size_t i = 0; list && i < json_object_array_length(list); i++) {
			struct pr_vol *vol = ack_granted(p, json_object_array_get_idx(list, i));
			int64_t gen;

			if (!vol)
				continue;
			gen = vol->gen;
			vol->valid_until = p->renew_sent_ms + p->valid_ms - margin_ms(p);
			if (vol->valid_until <= now)
				continue;
			for (struct pr_conn *c = p->conns, *next; c; c = next) {
				next = c->next;
				if (c->vol != vol || c->acked != gen)
					continue;
				memset(p->msg, 0, offsetof(struct ll_pr_wire_msg, state));
				p->msg->type = LL_PR_WIRE_VALID;
				p->msg->gen = (uint64_t)gen;
				p->msg->valid_ms = (uint32_t)left_ms(vol);
				send_msg(c);
			}
		}
	}
	ready_check(p);
	if (p->renew_again) {
		p->renew_again = false;
		renew_now(p);
	}
}

/* One renewal now of every volume a LUN has (its ack with it). */
static void renew_now(struct pg_pr *p)
{
	json_object *list;
	char err[512];

	if (p->renew_call) {
		p->renew_again = true;
		return;
	}
	list = json_object_new_array();
	for (size_t i = 0; i < p->nvols; i++) {
		int64_t ack;

		if (p->vols[i].nconns && (ack = node_ack(p, &p->vols[i])) >= 0)
			ack_entry(list, &p->vols[i], ack, true);
	}
	p->renew_call = post_ack(p, list, &p->renew_sent_ms, on_renew_done, err, sizeof(err));
	if (!p->renew_call && err[0])
		say(p, "pr: cannot ask the manager to renew: %s", err);
}

static void on_renew_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pg_pr *p = arg;

	(void)fd;
	(void)what;
	renew_now(p);
	arm(p->renew, p->valid_ms ? p->valid_ms / 3 : RENEW_FIRST_MS);
}

/* ---- a STATE with a validity: asked for before the STATE ---- */

/*
 * An agent that knows no validity for a volume (just started, or the
 * manager was away) would hand its LUNs the state with 0 ms, and a
 * module that still had a validity for that same generation would lose
 * it.  So it first asks the manager for validity alone ("ack":false: the
 * LUNs have not acked that state), then sends the STATE with it, or with
 * 0 ms if the manager grants none.
 */
static void grant_now(struct pg_pr *p);

/* Each LUN of v that lacks v's state gets it now. */
static void push_state(struct pg_pr *p, struct pr_vol *v)
{
	for (struct pr_conn *c = p->conns, *next; c; c = next) {
		next = c->next;
		if (c->vol == v && c->sent_gen < v->gen)
			send_state(c);
	}
}

/* v's state to its LUNs that lack it: now if the agent has a validity to
 * give with it, else once it asked for one. */
static void offer_state(struct pg_pr *p, struct pr_vol *v)
{
	if (v->gen < 0)
		return;
	if (left_ms(v) > 0) {
		push_state(p, v);
		return;
	}
	v->want_grant = true;
	grant_now(p);
}

static void on_grant_done(void *arg, long status, json_object *reply, const char *err)
{
	struct pg_pr *p = arg;
	json_object *list = err ? NULL : ack_answer(p, reply);

	(void)status;
	p->grant_call = NULL;
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		struct pr_vol *vol = ack_granted(p, json_object_array_get_idx(list, i));

		if (vol && vol->want_grant)
			vol->valid_until = p->grant_sent_ms + p->valid_ms - margin_ms(p);
	}
	/* granted or not, the LUNs get the state (0 ms: valid once they ACKed) */
	for (size_t i = 0; i < p->nvols; i++)
		if (p->vols[i].want_grant && !p->grant_again) {
			p->vols[i].want_grant = false;
			push_state(p, &p->vols[i]);
		}
	ready_check(p);
	if (p->grant_again) {
		p->grant_again = false;
		grant_now(p);
	}
}

static void grant_now(struct pg_pr *p)
{
	json_object *list;
	char err[512];

	if (p->grant_call) {
		p->grant_again = true;
		return;
	}
	list = json_object_new_array();
	for (size_t i = 0; i < p->nvols; i++)
		if (p->vols[i].want_grant)
			ack_entry(list, &p->vols[i], p->vols[i].gen, false);
	p->grant_call = post_ack(p, list, &p->grant_sent_ms, on_grant_done, err, sizeof(err));
	if (!p->grant_call && err[0])	/* the LUNs get the state all the same */
		on_grant_done(p, 0, NULL, err);
}

/* ---- the state: from the desired state, or fetched for a new LUN ---- */

void pg_pr_desired(struct pg_pr *p, json_object *reply)
{
	json_object *pr;

	if (!p || !json_object_object_get_ex(reply, "pr", &pr) ||
	    !json_object_is_type(pr, json_type_object))
		return;
	json_object_object_foreach(pr, id, st) {
		struct pr_vol *v = vol_get(p, id, false);
		json_object *g;
		int64_t gen;

		if (!v || !json_object_is_type(st, json_type_object) ||
		    !json_object_object_get_ex(st, "generation", &g) ||
		    (gen = json_object_get_int64(g)) <= v->gen)
			continue;
		json_object_put(v->state);
		v->state = json_object_get(st);
		v->gen = gen;
		offer_state(p, v);
	}
}

static void on_fetch_done(void *arg, long status, json_object *reply, const char *err)
{
	struct pg_pr *p = arg;

	(void)status;
	p->fetch_call = NULL;
	if (!err)
		pg_pr_desired(p, reply);
}

/* A LUN waits for its volume's state: ask for the desired state (after
 * the report that names the volume), again until it comes. */
static void on_fetch_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pg_pr *p = arg;
	bool waiting = false;
	char err[512];

	(void)fd;
	(void)what;
	for (size_t i = 0; i < p->nvols; i++)
		waiting |= p->vols[i].nconns && p->vols[i].gen < 0;
	if (!waiting)
		return;
	if (!p->fetch_call)
		p->fetch_call = pa_aclient_call(p->o.client, "GET", "/v1/nodes/desired", NULL, 0,
						on_fetch_done, p, err, sizeof(err));
	arm(p->fetch, FETCH_MS);
}

/* ---- PR OUT: POST /v1/volumes/ID/pr ---- */

static void out_unlink(struct pr_out *o)
{
	struct pr_out **pp = &o->c->outs;

	while (*pp && *pp != o)
		pp = &(*pp)->next;
	if (*pp)
		*pp = o->next;
	o->c->nouts--;
	if (o->retry)
		event_free(o->retry);
	json_object_put(o->body);
	free(o);
}

static int out_send(struct pr_out *o, char *err, size_t errlen);

static void on_out_retry(evutil_socket_t fd, short what, void *arg)
{
	struct pr_out *o = arg;
	char err[512];

	struct pr_conn *c = o->c;
	uint64_t seq = o->seq;
	bool maybe = o->maybe;

	(void)fd;
	(void)what;
	if (!out_send(o, err, sizeof(err)))
		return;
	out_unlink(o);	/* first: a LUN that cannot take the FAIL is closed */
	send_fail(c, seq, "cannot send it to the manager again: %s%s", err, maybe ?
		  " (an earlier try may have been applied; PR IN shows the state)" : "");
}

/*
 * The call ended.  An answer, or a refusal (4xx), is the PR OUT's end.
 * Anything else (no manager reached, none leading (503), the manager's
 * own failure, or no answer after the request went out) is tried again
 * every PR_OUT_RETRY_MS until the PR OUT's time is up: with the same op
 * id, so that a manager that finds it applied already (its answer lost
 * with a manager that died) answers it as applied, not twice.
 */
static void on_out_done(void *arg, long status, json_object *reply, const char *err)
{
	struct pr_out *o = arg;
	struct pr_conn *c = o->c;
	uint64_t seq = o->seq;
	int64_t left = o->first_ms + PG_PR_OUT_RETRY_FOR_MS - ll_mono_ms();
	bool answered = !err && reply && json_object_object_get_ex(reply, "status", NULL);
	bool refused = status >= 400 && status < 500;
	bool maybe;
	unsigned int tries;
	int64_t o_first;

	o->maybe |= pa_acall_sent(o->call) && !refused;
	o->call = NULL;
	o->tries++;
	if (!answered && !refused && left > PR_OUT_RETRY_MS) {
		if (o->tries == 1)
			say(c->p, "pr: PR OUT %llu of volume %s: %s%s; trying again for up to %lld s",
			    (unsigned long long)seq, c->vol->id, status ? "HTTP error: " : "",
			    err ? err : "no answer", (long long)(left / 1000));
		arm(o->retry, PR_OUT_RETRY_MS);
		return;
	}
	maybe = o->maybe;
	tries = o->tries;
	o_first = o->first_ms;
	out_unlink(o);	/* first: a LUN that cannot take the answer is closed */
	if (answered) {
		if (tries > 1)
			say(c->p, "pr: PR OUT %llu of volume %s answered on try %u",
			    (unsigned long long)seq, c->vol->id, tries);
		send_done(c, seq, reply);
	} else if (refused) {
		send_fail(c, seq, "the manager refused it, nothing was applied: %s", err ? err : "");
	} else if (maybe) {
		send_fail(c, seq, "no answer from the managers in %u tries over %lld s (last: %s): if "
			  "one was reached, the PR OUT may have been applied; PR IN shows the state",
			  tries, (long long)(ll_mono_ms() - o_first) / 1000, err ? err : "no answer");
	} else {
		send_fail(c, seq, "no manager took it in %u tries over %lld s, nothing was applied "
			  "(last: %s%s)", tries, (long long)(ll_mono_ms() - o_first) / 1000,
			  status ? "HTTP error: " : "", err ? err : "no answer");
	}
}

static int out_send(struct pr_out *o, char *err, size_t errlen)
{
	char path[96];

	snprintf(path, sizeof(path), "/v1/volumes/%s/pr", o->c->vol->id);
	o->call = pa_aclient_call(o->c->p->o.client, "POST", path, o->body, PG_PR_OUT_TIMEOUT_MS,
				  on_out_done, o, err, errlen);
	return o->call ? 0 : -1;
}

static void handle_out(struct pr_conn *c, const struct ll_pr_wire_msg *m)
{
	struct pg_pr *p = c->p;
	char err[512], seq[24], *hex, op[2 * 8 + 1];
	uint8_t rnd[8];
	struct pr_out *o;

	if (!c->vol) {
		send_fail(c, m->seq, "OUT before HELLO: the agent does not know the LUN's volume");
		return;
	}
	if (c->nouts >= PG_PR_OUTS_MAX) {
		send_fail(c, m->seq, "%d PR OUTs of this LUN are under way already", PG_PR_OUTS_MAX);
		return;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		send_fail(c, m->seq, "no random bytes for the PR OUT's op id: %s", strerror(errno));
		return;
	}
	o = calloc(1, sizeof(*o));
	hex = malloc(LL_PR_WIRE_PARAM_MAX * 2 + 1);	/* 48 KiB: not on the stack */
	if (!o || !hex || !(o->retry = evtimer_new(p->base, on_out_retry, o))) {
		free(o);
		free(hex);
		send_fail(c, m->seq, "the agent is out of memory");
		return;
	}
	o->body = json_object_new_object();
	json_object_object_add(o->body, "nexus", json_object_new_string(m->nexus.id));
	json_object_object_add(o->body, "rtpi", json_object_new_int(m->nexus.rtpi));
	for (size_t i = 0; i < m->cdb_len; i++)
		sprintf(hex + 2 * i, "%02x", m->cdb[i]);
	hex[2 * m->cdb_len] = '\0';
	json_object_object_add(o->body, "cdb", json_object_new_string(hex));
	if (m->has_param && m->plen) {
		for (size_t i = 0; i < m->plen; i++)
			sprintf(hex + 2 * i, "%02x", m->param[i]);
		hex[2 * m->plen] = '\0';
		json_object_object_add(o->body, "param", json_object_new_string(hex));
	}
	free(hex);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)m->seq);
	json_object_object_add(o->body, "seq", json_object_new_string(seq));
	for (size_t i = 0; i < sizeof(rnd); i++)
		sprintf(op + 2 * i, "%02x", rnd[i]);
	json_object_object_add(o->body, "op", json_object_new_string(op));
	o->c = c;
	o->seq = m->seq;
	o->first_ms = ll_mono_ms();
	o->next = c->outs;
	c->outs = o;
	c->nouts++;
	if (out_send(o, err, sizeof(err))) {
		out_unlink(o);
		send_fail(c, m->seq, "cannot send it to the manager: %s", err);
	}
}

/* ---- connections ---- */

static void conn_close(struct pr_conn *c)
{
	struct pg_pr *p = c->p;

	while (c->outs) {
		pa_acall_cancel(c->outs->call);
		out_unlink(c->outs);
	}
	if (c->vol && !--c->vol->nconns && p->o.report_now)
		p->o.report_now(p->o.report_arg);	/* the node exports it no more */
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->nconns--;
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void handle_hello(struct pr_conn *c, const struct ll_pr_wire_msg *m)
{
	struct pg_pr *p = c->p;
	struct pr_vol *v;
	bool is_new;

	if (c->vol || m->version != LL_PR_WIRE_VERSION) {
		say(p, "pr: a LUN said HELLO %s; disconnected", c->vol ? "twice" :
		    "with a protocol version this agent does not speak");
		conn_close(c);
		return;
	}
	v = vol_get(p, m->volume, true);
	if (!v) {
		say(p, "pr: %d volumes have LUNs already; LUN %u:%llu disconnected",
		    PG_PR_CONNS_MAX, m->tid, (unsigned long long)m->lun);
		conn_close(c);
		return;
	}
	is_new = !v->nconns++;
	c->vol = v;
	c->tid = m->tid;
	c->lun = m->lun;
	say(p, "pr: LUN %u:%llu keeps volume %s's reservations with the cluster", c->tid,
	    (unsigned long long)c->lun, v->id);
	offer_state(p, v);		/* another LUN of it has the state */
	if (is_new && p->o.report_now)
		p->o.report_now(p->o.report_arg);
	if (v->gen < 0)
		arm(p->fetch, FETCH_MS / 2);
}

static void on_conn(evutil_socket_t fd, short what, void *arg)
{
	struct pr_conn *c = arg;
	struct pg_pr *p = c->p;
	struct ll_pr_wire_msg *m = p->msg;
	char why[256];
	ssize_t n;

	(void)what;
	n = recv(fd, p->buf, LL_PR_WIRE_BUF, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {		/* the module went: its LUN was deleted, or tgtd stopped */
		conn_close(c);
		return;
	}
	if (n > LL_PR_WIRE_MAX || ll_pr_wire_parse(p->buf, (size_t)n, m, why, sizeof(why))) {
		if (!c->said_bad)
			say(p, "pr: a message from LUN %u:%llu is refused (dropped; said once): %s",
			    c->tid, (unsigned long long)c->lun, n > LL_PR_WIRE_MAX ?
			    "longer than 65536 bytes" : why);
		c->said_bad = true;
		return;
	}
	switch (m->type) {
	case LL_PR_WIRE_HELLO:
		handle_hello(c, m);
		break;
	case LL_PR_WIRE_OUT:
		handle_out(c, m);
		break;
	case LL_PR_WIRE_ACK:
		if (c->vol && (int64_t)m->gen > c->acked && (int64_t)m->gen <= c->vol->gen) {
			c->acked = (int64_t)m->gen;
			renew_now(p);	/* the manager may be waiting for it */
			ready_check(p);
		}
		break;
	default:
		if (!c->said_bad)
			say(p, "pr: LUN %u:%llu sent %s, a message the agent sends; dropped", c->tid,
			    (unsigned long long)c->lun, ll_pr_wire_type_name(m->type));
		c->said_bad = true;
	}
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct pg_pr *p = arg;
	struct pr_conn *c;
	int fd;

	(void)what;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (p->nconns >= PG_PR_CONNS_MAX || !(c = calloc(1, sizeof(*c)))) {
		say(p, "pr: %zu LUNs are connected, the most the agent takes; one more refused",
		    p->nconns);
		close(fd);
		return;
	}
	c->p = p;
	c->fd = fd;
	c->sent_gen = c->acked = -1;
	c->ev = event_new(p->base, fd, EV_READ | EV_PERSIST, on_conn, c);
	if (!c->ev || event_add(c->ev, NULL)) {
		if (c->ev)
			event_free(c->ev);
		close(fd);
		free(c);
		return;
	}
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	p->nconns++;
}

/* ---- the report, and life ---- */

bool pg_pr_lun_ready(struct pg_pr *p, const char *volume, uint32_t tid, uint64_t lun, char *why,
		     size_t len)
{
	const struct pr_conn *c = p ? p->conns : NULL;

	if (!p) {
		snprintf(why, len, "waiting for the reservation state: the agent has no pr socket "
			 "(its log says why), so the LUN's module (pr=cluster) cannot get it");
		return false;
	}
	while (c && !(c->vol && !strcmp(c->vol->id, volume) && c->tid == tid && c->lun == lun))
		c = c->next;
	if (!c)
		snprintf(why, len, "waiting for the reservation state: LUN %u:%llu's module has "
			 "not said HELLO on %s yet", tid, (unsigned long long)lun, p->path);
	else if (c->acked < 0)
		snprintf(why, len, "waiting for the reservation state: the manager has not "
			 "brought volume %s's state to LUN %u:%llu yet", volume, tid,
			 (unsigned long long)lun);
	else if (left_ms(c->vol) <= 0)
		snprintf(why, len, "waiting for the reservation state: LUN %u:%llu's state is "
			 "not valid (the manager has not renewed it)", tid, (unsigned long long)lun);
	else
		return true;
	return false;
}

json_object *pg_pr_report(struct pg_pr *p)
{
	json_object *list = json_object_new_array();

	for (struct pr_conn *c = p ? p->conns : NULL; c; c = c->next) {
		json_object *e;

		if (!c->vol)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "volume", json_object_new_string(c->vol->id));
		json_object_object_add(e, "tid", json_object_new_int64(c->tid));
		json_object_object_add(e, "lun", json_object_new_int64((int64_t)c->lun));
		json_object_array_add(list, e);
	}
	return list;
}

/* The socket's folder (made 0755 if missing) and the socket, 0600. */
static int listen_on(struct pg_pr *p, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[sizeof(p->path)], *slash;
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s", p->path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "pr_socket %s: cannot make its folder: %s", p->path,
				 strerror(errno));
			return -1;
		}
	}
	/* a socket left by an agent that was killed is replaced; anything
	 * else is not ours to remove */
	memcpy(sun.sun_path, p->path, strlen(p->path) + 1);
	if (!lstat(p->path, &sb)) {
		int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && !connect(probe, (struct sockaddr *)&sun, sizeof(sun));

		if (probe >= 0)
			close(probe);
		if (!S_ISSOCK(sb.st_mode) || live) {
			snprintf(err, errlen, "pr_socket %s %s; stop it or set another pr_socket",
				 p->path, live ? "is another agent's: it answers" :
				 "exists and is not a socket");
			return -1;
		}
		unlink(p->path);
	}
	p->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    chmod(p->path, 0600) || listen(p->lfd, 64)) {
		snprintf(err, errlen, "pr_socket %s: %s", p->path, strerror(errno));
		return -1;
	}
	return 0;
}

struct pg_pr *pg_pr_new(struct event_base *base, const struct pg_pr_opts *o, char *err,
			size_t errlen)
{
	struct pg_pr *p = calloc(1, sizeof(*p));
	const char *path = o->socket_path && o->socket_path[0] ? o->socket_path : PG_PR_SOCKET;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->o = *o;
	p->base = base;
	p->lfd = -1;
	if (strlen(path) >= sizeof(p->path) || path[0] != '/') {
		snprintf(err, errlen, "pr_socket '%s' must be an absolute path of at most %zu bytes",
			 path, sizeof(p->path) - 1);
		goto err;
	}
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->msg = calloc(1, sizeof(*p->msg));
	p->buf = malloc(LL_PR_WIRE_BUF);
	p->vols = calloc(PG_PR_CONNS_MAX, sizeof(*p->vols));
	if (!p->msg || !p->buf || !p->vols) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	if (listen_on(p, err, errlen))
		goto err;
	p->lev = event_new(base, p->lfd, EV_READ | EV_PERSIST, on_accept, p);
	p->renew = evtimer_new(base, on_renew_timer, p);
	p->fetch = evtimer_new(base, on_fetch_timer, p);
	if (!p->lev || !p->renew || !p->fetch || event_add(p->lev, NULL)) {
		snprintf(err, errlen, "cannot watch pr_socket %s", p->path);
		goto err;
	}
	arm(p->renew, RENEW_FIRST_MS);
	return p;
err:
	pg_pr_free(p);
	return NULL;
}

void pg_pr_free(struct pg_pr *p)
{
	if (!p)
		return;
	p->o.report_now = NULL;		/* going: nothing more to report */
	while (p->conns)
		conn_close(p->conns);
	if (p->renew_call)
		pa_acall_cancel(p->renew_call);
	if (p->fetch_call)
		pa_acall_cancel(p->fetch_call);
	if (p->grant_call)
		pa_acall_cancel(p->grant_call);
	if (p->lev)
		event_free(p->lev);
	if (p->renew)
		event_free(p->renew);
	if (p->fetch)
		event_free(p->fetch);
	if (p->lfd >= 0) {
		close(p->lfd);
		unlink(p->path);
	}
	for (size_t i = 0; i < p->nvols; i++)
		json_object_put(p->vols[i].state);
	free(p->vols);
	free(p->msg);
	free(p->buf);
	free(p);
}
