// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * elect.c: the managers' election over the store; elect.h says how it
 * works and why it is safe.
 */
#include "elect.h"

#include "store.h"

#include <lunlink/clock.h>
#include <lunlink/errmsg.h>

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PE_HOSTS_MAX	8
#define PE_TICK_MS	250	/* the leader key read, the lease kept */
#define PE_SEEN_MAX	64	/* candidates registered in this term */

struct pe_elector {
	struct event_base *base;
	struct pe_opts o;
	struct ps_store *st;
	struct event *tick;
	int64_t ttl_ms, margin_ms;
	int64_t lease;			/* the store lease: 0 none */
	int64_t deadline;		/* ll_mono_ms(): leading only before it */
	int64_t last_keepalive;
	int64_t no_campaign_until;	/* after a resignation */
	bool leading;
	int64_t term;
	struct pe_leader leader;
	char self_key[128];		/* managers/NAME */
	char *self_text;		/* its value */
	char *leader_text;		/* the leader key's value, when we lead */
	char seen[PE_SEEN_MAX][96];	/* "NAME@mod_revision" registered this term */
	size_t nseen;
	bool store_down;		/* logged once until it answers again */
};

static void say(struct pe_elector *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct pe_elector *e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pa_logf(e->o.log, e->o.log_arg, "election: %s", msg);
}

int pe_uri_timeout(const char *uri, long ms, char *out, size_t len)
{
	const char *q = strchr(uri, '?');
	size_t n = q ? (size_t)(q - uri) : strlen(uri);
	int w = snprintf(out, len, "%.*s?timeout=%ld", (int)n, uri, ms);

	/* keep every option but timeout */
	while (q && *q && w > 0 && (size_t)w < len) {
		const char *opt = q + 1, *end = strchr(opt, '&');
		size_t olen = end ? (size_t)(end - opt) : strlen(opt);

		if (olen && strncmp(opt, "timeout=", 8))
			w += snprintf(out + w, len - (size_t)w, "&%.*s", (int)olen, opt);
		q = end;
	}
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

bool pe_leading(const struct pe_elector *e)
{
	return e && e->leading && ll_mono_ms() < e->deadline;
}

int64_t pe_term(const struct pe_elector *e)
{
	return e->leading ? e->term : 0;
}

const struct pe_leader *pe_leader(const struct pe_elector *e)
{
	return &e->leader;
}

static void store_failed(struct pe_elector *e, const char *doing)
{
	if (!e->store_down)
		say(e, "the store failed %s: %s (trying again every tick; this message is "
		    "not repeated until it answers)", doing, ps_error(e->st));
	e->store_down = true;
}

static void end_lease(struct pe_elector *e)
{
	if (e->lease && ps_lease_revoke(e->st, e->lease, NULL) && !e->store_down)
		say(e, "could not give up the election lease %llx: %s (it lapses by itself)",
		    (unsigned long long)e->lease, ps_error(e->st));
	e->lease = 0;
}

static void step_down(struct pe_elector *e, const char *why)
{
	int64_t now;

	if (!e->leading)
		return;
	/* pe_leading said no from the deadline on, however late the loop
	 * comes here (a store call that waited out its timeout) */
	now = ll_mono_ms();
	say(e, "this manager stops leading (term %lld) at clock %lld ms: %s%s", (long long)e->term,
	    (long long)(now < e->deadline ? now : e->deadline), why,
	    now > e->deadline + PE_TICK_MS ? " (the loop saw it late: it answered nothing since)" :
	    "");
	e->leading = false;
	e->term = 0;
	e->nseen = 0;
	memset(&e->leader, 0, sizeof(e->leader));
	/* the leader key is on this lease: give it up (or, the store out of
	 * reach, let it lapse), or a store that answers again would keep a
	 * leader key naming a manager that no longer leads */
	end_lease(e);
	if (e->o.follow)
		e->o.follow(e->o.arg);
}

void pe_resign(struct pe_elector *e, const char *why)
{
	step_down(e, why);
	e->no_campaign_until = ll_mono_ms() + e->ttl_ms;
}

/* A granted or renewed lease, asked at sent: good until then + ttl. */
static void lease_good(struct pe_elector *e, int64_t sent, int64_t ttl_s)
{
	e->deadline = sent + ttl_s * 1000 - e->margin_ms;
	e->last_keepalive = sent;
	e->store_down = false;
}

static int ensure_lease(struct pe_elector *e)
{
	int64_t sent = ll_mono_ms(), ttl = 0;
	int rc;

	if (!e->lease) {
		if (ps_lease_grant(e->st, e->ttl_ms / 1000, &e->lease)) {
			e->lease = 0;
			store_failed(e, "granting the election lease");
			return -1;
		}
		lease_good(e, sent, e->ttl_ms / 1000);
		if (ps_put(e->st, e->self_key, e->self_text, strlen(e->self_text), e->lease, NULL)) {
			store_failed(e, "registering this candidate");
			end_lease(e);
			return -1;
		}
		return 0;
	}
	if (sent - e->last_keepalive < e->ttl_ms / 3)
		return 0;
	rc = ps_lease_keepalive(e->st, e->lease, &ttl);
	if (rc == PS_OK && ttl > 0) {
		lease_good(e, sent, ttl);
		return 0;
	}
	if (rc == PS_NOT_FOUND || (rc == PS_OK && ttl <= 0)) {
		say(e, "the election lease %llx expired in the store", (unsigned long long)e->lease);
		e->lease = 0;
		step_down(e, "its election lease expired in the store");
		return -1;
	}
	store_failed(e, "renewing the election lease");
	return -1;
}

/* The leader key's value into e->leader (term: its create_revision). */
static void read_leader(struct pe_leader *l, const struct ps_kv *kv)
{
	json_object *o = json_tokener_parse(kv->value), *v;

	memset(l, 0, sizeof(*l));
	l->term = kv->create_revision;
	if (json_object_object_get_ex(o, "name", &v))
		snprintf(l->name, sizeof(l->name), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "url", &v))
		snprintf(l->url, sizeof(l->url), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "join_url", &v))
		snprintf(l->join_url, sizeof(l->join_url), "%s", json_object_get_string(v));
	json_object_put(o);
}

int pe_read(struct ps_store *st, struct pe_leader *leader, struct pe_candidate *c, size_t max,
	    size_t *n)
{
	struct ps_range r = { 0 };
	struct ps_kv kv = { 0 };
	int rc = ps_get(st, PE_KEY_LEADER, &kv);

	memset(leader, 0, sizeof(*leader));
	*n = 0;
	if (rc == PS_OK)
		read_leader(leader, &kv);
	ps_kv_free(&kv);
	if (rc != PS_OK && rc != PS_NOT_FOUND)
		return rc;
	rc = ps_range(st, PE_PREFIX_MANAGERS, NULL, max, &r);
	for (size_t i = 0; rc == PS_OK && i < r.count && *n < max; i++) {
		json_object *o = json_tokener_parse(r.kvs[i].value), *v;
		struct pe_candidate *p = &c[(*n)++];

		snprintf(p->name, sizeof(p->name), "%s", r.kvs[i].key + strlen(PE_PREFIX_MANAGERS));
		p->url[0] = '\0';
		if (json_object_object_get_ex(o, "url", &v))
			snprintf(p->url, sizeof(p->url), "%s", json_object_get_string(v));
		json_object_put(o);
	}
	ps_range_free(&r);
	return rc;
}

static void campaign(struct pe_elector *e)
{
	struct ps_cmp cmp = { .key = PE_KEY_LEADER, .target = PS_CMP_CREATE_REVISION,
			      .result = PS_EQUAL, .number = 0 };
	struct ps_op op = { .type = PS_OP_PUT, .key = PE_KEY_LEADER, .value = e->leader_text,
			    .value_len = strlen(e->leader_text), .lease = e->lease };
	struct ps_txn txn = { .cmp = &cmp, .ncmp = 1, .success = &op, .nsuccess = 1 };
	struct ps_txn_result res = { 0 };

	if (ps_txn(e->st, &txn, &res)) {
		store_failed(e, "campaigning");
		return;
	}
	if (res.succeeded && ll_mono_ms() < e->deadline) {
		e->leading = true;
		e->term = res.revision;
		e->nseen = 0;
		snprintf(e->leader.name, sizeof(e->leader.name), "%s", e->o.name);
		snprintf(e->leader.url, sizeof(e->leader.url), "%s", e->o.url);
		snprintf(e->leader.join_url, sizeof(e->leader.join_url), "%s", e->o.join_url);
		e->leader.term = e->term;
		say(e, "this manager leads (term %lld; the lease %llx, %lld s) at clock %lld ms",
		    (long long)e->term, (unsigned long long)e->lease,
		    (long long)(e->ttl_ms / 1000), (long long)ll_mono_ms());
		if (e->o.lead)
			e->o.lead(e->o.arg, e->term);
	}
	ps_txn_result_free(&res);
}

/* While leading: every candidate not registered yet in this term. */
static void candidates(struct pe_elector *e)
{
	struct ps_range r = { 0 };

	if (!e->o.candidate || ps_range(e->st, PE_PREFIX_MANAGERS, NULL, PE_SEEN_MAX, &r))
		return;
	for (size_t i = 0; i < r.count && e->leading; i++) {
		json_object *o = json_tokener_parse(r.kvs[i].value), *v, *h;
		const char *hosts[PE_HOSTS_MAX + 1] = { 0 };
		char tag[96];
		size_t j, n = 0;

		snprintf(tag, sizeof(tag), "%.60s@%lld", r.kvs[i].key + strlen(PE_PREFIX_MANAGERS),
			 (long long)r.kvs[i].mod_revision);
		for (j = 0; j < e->nseen && strcmp(e->seen[j], tag); j++)
			;
		if (j < e->nseen || !o || !json_object_object_get_ex(o, "cert", &v)) {
			json_object_put(o);
			continue;
		}
		if (json_object_object_get_ex(o, "hosts", &h) && json_object_is_type(h, json_type_array))
			for (size_t k = 0; k < json_object_array_length(h) && n < PE_HOSTS_MAX; k++)
				hosts[n++] = json_object_get_string(json_object_array_get_idx(h, k));
		if (e->nseen < PE_SEEN_MAX)
			snprintf(e->seen[e->nseen++], sizeof(e->seen[0]), "%s", tag);
		e->o.candidate(e->o.arg, r.kvs[i].key + strlen(PE_PREFIX_MANAGERS),
			       json_object_get_string(v), hosts);
		json_object_put(o);
	}
	ps_range_free(&r);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pe_elector *e = arg;
	struct ps_kv kv = { 0 };
	int rc;

	(void)fd;
	(void)what;
	if (e->leading && ll_mono_ms() >= e->deadline)
		step_down(e, "its election lease was not renewed in time (the store out of reach?)");
	if (ensure_lease(e))
		return;
	rc = ps_get(e->st, PE_KEY_LEADER, &kv);
	if (rc == PS_NOT_FOUND) {
		if (e->leading)
			step_down(e, "the leader key is gone from the store");
		if (e->leader.name[0])
			say(e, "no manager leads (%s's term %lld ended): campaigning", e->leader.name,
			    (long long)e->leader.term);
		memset(&e->leader, 0, sizeof(e->leader));
		if (ll_mono_ms() >= e->no_campaign_until)
			campaign(e);
	} else if (rc == PS_OK) {
		e->store_down = false;
		if (e->leading && kv.create_revision != e->term) {
			step_down(e, "another manager's term is in the store");
		}
		if (!e->leading && e->lease && kv.lease == e->lease) {
			/* a key on this candidate's lease that it does not lead by
			 * (won too late to act on): give it up, or no one would */
			say(e, "the leader key is on this candidate's lease, which it does not "
			    "lead by: giving it up");
			end_lease(e);
		} else if (!e->leading && kv.create_revision != e->leader.term) {
			read_leader(&e->leader, &kv);
			say(e, "following %s (term %lld) at %s", e->leader.name,
			    (long long)e->leader.term, e->leader.url);
		}
		ps_kv_free(&kv);
	} else {
		store_failed(e, "reading the leader");
	}
	if (pe_leading(e))
		candidates(e);
}

static char *value_text(const struct pe_opts *o, bool with_cert)
{
	json_object *v = json_object_new_object(), *h = json_object_new_array();
	char *text;

	json_object_object_add(v, "name", json_object_new_string(o->name));
	json_object_object_add(v, "url", json_object_new_string(o->url));
	json_object_object_add(v, "join_url", json_object_new_string(o->join_url));
	if (with_cert && o->cert_pem) {
		json_object_object_add(v, "cert", json_object_new_string(o->cert_pem));
		for (size_t i = 0; o->hosts && o->hosts[i]; i++)
			json_object_array_add(h, json_object_new_string(o->hosts[i]));
		json_object_object_add(v, "hosts", json_object_get(h));
	}
	json_object_put(h);
	text = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	json_object_put(v);
	return text;
}

struct pe_elector *pe_new(struct event_base *base, const struct pe_opts *o, char *err,
			  size_t errlen)
{
	struct pe_elector *e = calloc(1, sizeof(*e));
	struct timeval tv;
	char uri[PS_URI_MAX + 32];
	int ttl = o->ttl ? o->ttl : PE_TTL;

	if (!e) {
		ll_fail(err, errlen, "election: out of memory");
		return NULL;
	}
	if (ttl < PE_TTL_MIN || ttl > PE_TTL_MAX) {
		ll_fail(err, errlen, "election: a lease of %d s is out of range %d..%d s", ttl,
			PE_TTL_MIN, PE_TTL_MAX);
		goto err;
	}
	e->base = base;
	e->o = *o;
	e->ttl_ms = (int64_t)ttl * 1000;
	e->margin_ms = e->ttl_ms / 6;
	snprintf(e->self_key, sizeof(e->self_key), "%s%s", PE_PREFIX_MANAGERS, o->name);
	e->self_text = value_text(o, true);
	e->leader_text = value_text(o, false);
	if (!e->self_text || !e->leader_text) {
		ll_fail(err, errlen, "election: out of memory");
		goto err;
	}
	if (pe_uri_timeout(o->store_uri, (long)(e->ttl_ms / 3), uri, sizeof(uri))) {
		ll_fail(err, errlen, "election: the store URI is too long");
		goto err;
	}
	if (ps_open(uri, &e->st, err, errlen))
		goto err;
	e->tick = event_new(base, -1, EV_PERSIST, on_tick, e);
	tv.tv_sec = 0;
	tv.tv_usec = PE_TICK_MS * 1000;
	if (!e->tick || event_add(e->tick, &tv)) {
		ll_fail(err, errlen, "election: cannot start its timer (libevent)");
		goto err;
	}
	say(e, "candidate %s (%s), lease %d s, on %s", o->name, o->url, ttl,
	    ps_backend_name(e->st));
	on_tick(-1, 0, e);
	return e;
err:
	pe_free(e);
	return NULL;
}

void pe_free(struct pe_elector *e)
{
	if (!e)
		return;
	if (e->tick)
		event_free(e->tick);
	if (e->st) {
		if (e->leading)
			say(e, "this manager stops: resigning (term %lld)", (long long)e->term);
		e->leading = false;
		end_lease(e);
		ps_close(e->st);
	}
	free(e->self_text);
	free(e->leader_text);
	free(e);
}
