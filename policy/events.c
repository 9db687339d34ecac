// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * events.c: the store's changes as the API's events (doc/policy.md,
 * "Events"): GET /v1/events?since=REV answers the events after REV at
 * once; with follow=1 it streams them as JSON lines, as they commit, until
 * the client goes away.
 *
 * Each follower is a store watch (a cursor over the history, not a
 * subscription) and a streamed reply (http.h).  The manager drains them
 * when the store's notify fd rings and on its one-second tick; a follower
 * whose reader is slow is skipped while its bytes are queued (its cursor
 * waits, nothing is lost) and dropped by the server's write timeout if it
 * stops reading.  A follower compacted past is told so in a last line and
 * its stream ends.  The number of followers is bounded (503 beyond it):
 * each holds a connection and a cursor.
 *
 * Join tokens' records (tokens/) are not shown: members have no business
 * with them.
 */
#include "manager_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH		64
#define LIMIT_DEFAULT	1000
#define LIMIT_MAX	10000
#define PENDING_MAX	(1024 * 1024)	/* bytes queued to a follower before we wait */

struct pm_follower {
	struct pm_follower *next;
	struct pm_manager *m;
	struct ps_watch *watch;
	struct pa_stream *stream;
	bool busy, gone;	/* the client left while we were sending to it */
};

static bool shown(const struct ps_event *ev)
{
	return strncmp(ev->kv.key, PM_PREFIX "tokens/", strlen(PM_PREFIX "tokens/")) != 0;
}

/* A lent volume's CHAP secret is for admins: not in the stream that
 * nodes and hosts read (its record, and its serving node's desired LUN). */
static void redact(const char *key, json_object *v)
{
	json_object *l, *chap;

	if (!strncmp(key, PM_PREFIX "volumes/", strlen(PM_PREFIX "volumes/")))
		pm_volume_redact(v);
	else if (!strncmp(key, PM_PREFIX "desired/", strlen(PM_PREFIX "desired/")) &&
		 json_object_object_get_ex(v, "lun", &l) && l &&
		 json_object_object_get_ex(l, "chap", &chap) && chap &&
		 json_object_object_get_ex(chap, "secret", NULL))
		json_object_object_add(chap, "secret", json_object_new_string("(hidden)"));
}

json_object *pm_event_json(const struct ps_event *ev)
{
	json_object *o = json_object_new_object(), *v = NULL;

	json_object_object_add(o, "revision", json_object_new_int64(ev->kv.mod_revision));
	json_object_object_add(o, "type", json_object_new_string(ev->type == PS_EVENT_PUT ?
								 "put" : "delete"));
	json_object_object_add(o, "key", json_object_new_string(ev->kv.key));
	if (ev->type == PS_EVENT_PUT) {
		v = json_tokener_parse(ev->kv.value);
		if (!v)		/* every value is JSON; show anything else as it is */
			v = json_object_new_string_len(ev->kv.value, (int)ev->kv.value_len);
		else
			redact(ev->kv.key, v);
		json_object_object_add(o, "value", v);
	}
	return o;
}

/* {"error":{"field":"since","message":...},"revision":R,"compacted":C} */
static json_object *compacted_error(struct pm_manager *m, int64_t since)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	int64_t rev = 0, compacted = 0;
	char msg[320];

	ps_revision(m->st, &rev, &compacted);
	snprintf(msg, sizeof(msg), "the events after revision %lld are gone (history is kept from "
		 "revision %lld): read the state afresh (GET /v1/status, revision %lld) and follow "
		 "from there", (long long)since, (long long)compacted, (long long)rev);
	json_object_object_add(e, "field", json_object_new_string("since"));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "error", e);
	json_object_object_add(o, "revision", json_object_new_int64(rev));
	json_object_object_add(o, "compacted", json_object_new_int64(compacted));
	return o;
}

/* ---- followers ---- */

static void follower_free(struct pm_follower *f)
{
	struct pm_manager *m = f->m;
	struct pm_follower **p;

	for (p = &m->followers; *p && *p != f; p = &(*p)->next)
		;
	if (*p) {
		*p = f->next;
		m->nfollowers--;
	}
	if (f->watch)
		ps_watch_close(m->st, f->watch);
	free(f);
}

static void follower_closed(void *arg)
{
	struct pm_follower *f = arg;

	f->stream = NULL;
	if (f->busy)
		f->gone = true;
	else
		follower_free(f);
}

static void follower_end(struct pm_follower *f, json_object *last)
{
	if (last && f->stream) {
		char *line;

		if (asprintf(&line, "%s\n", pm_text(last)) >= 0) {
			pa_stream_send(f->stream, line, strlen(line));
			free(line);
		}
	}
	json_object_put(last);
	if (f->stream)
		pa_stream_end(f->stream);
	f->stream = NULL;
}

/* Send what has committed since the follower's position; false once it
 * has ended. */
static bool follower_drain(struct pm_follower *f)
{
	struct pm_manager *m = f->m;
	struct ps_event ev[BATCH];
	int n;

	f->busy = true;
	do {
		char *buf = NULL;
		size_t len = 0;
		FILE *out;

		if (!f->stream || pa_stream_pending(f->stream) > PENDING_MAX)
			break;
		n = ps_watch_next(m->st, f->watch, ev, BATCH);
		if (n == PS_COMPACTED) {
			follower_end(f, compacted_error(m, ps_watch_revision(f->watch)));
			break;
		}
		if (n < 0) {
			pm_log(m, "an event follower's watch failed: %s", ps_error(m->st));
			follower_end(f, NULL);
			break;
		}
		out = open_memstream(&buf, &len);
		for (int i = 0; out && i < n; i++) {
			json_object *o;

			if (!shown(&ev[i]))
				continue;
			o = pm_event_json(&ev[i]);
			fprintf(out, "%s\n", pm_text(o));
			json_object_put(o);
		}
		if (out)
			fclose(out);
		ps_events_free(ev, (size_t)n);
		if (buf && len)
			pa_stream_send(f->stream, buf, len);
		free(buf);
	} while (n == BATCH && !f->gone);
	f->busy = false;
	if (f->gone || !f->stream) {
		follower_free(f);
		return false;
	}
	return true;
}

void pm_followers_drain(struct pm_manager *m)
{
	struct pm_follower *f = m->followers, *next;

	for (; f; f = next) {
		next = f->next;
		follower_drain(f);
	}
}

void pm_followers_free(struct pm_manager *m)
{
	while (m->followers) {
		struct pm_follower *f = m->followers;

		if (f->stream)
			pa_stream_end(f->stream);
		f->stream = NULL;
		follower_free(f);
	}
}

/* ---- the handler ---- */

static void follow(struct pa_request *r, struct pm_manager *m, struct ps_watch *w)
{
	struct pm_follower *f;

	if (m->nfollowers >= m->o.followers_max) {
		ps_watch_close(m->st, w);
		pa_reply_error(r, 503, "follow", "the manager serves at most %d event followers at "
			       "once (PM_FOLLOWERS_MAX), and has them; try again later",
			       m->o.followers_max);
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		ps_watch_close(m->st, w);
		pa_reply_error(r, 500, "body", "out of memory");
		return;
	}
	f->m = m;
	f->watch = w;
	f->next = m->followers;
	m->followers = f;
	m->nfollowers++;
	f->stream = pa_reply_stream(r, 200, "application/x-ndjson", follower_closed, f);
	if (!f->stream) {
		follower_free(f);
		return;
	}
	follower_drain(f);	/* the backlog since REV */
}

void pm_events_get(struct pa_request *r, void *arg)
{
	struct pm_manager *m = arg;
	int64_t since = -1, fol = 0, limit = LIMIT_DEFAULT, compacted = 0, start;
	struct ps_watch *w = NULL;
	struct ps_event ev[BATCH];
	json_object *out, *list;
	int n = 0, rc;

	if (r->rest[0] && strcmp(r->rest, "/")) {
		pa_reply_error(r, 404, "path", "no such resource: %s", r->path);
		return;
	}
	if (pm_query_number(r, "since", 0, INT64_MAX - 1, &since) < 0 ||
	    pm_query_number(r, "follow", 0, 1, &fol) < 0 ||
	    pm_query_number(r, "limit", 1, LIMIT_MAX, &limit) < 0)
		return;
	if (ps_revision(m->st, NULL, &compacted)) {
		pm_reply_store(r, m, "reading its revision");
		return;
	}
	/* no since: a follower from now on, a reader from the oldest kept */
	start = since >= 0 ? since + 1 : fol ? 0 : compacted > 1 ? compacted : 1;
	rc = ps_watch_open(m->st, PM_PREFIX, start, &w);
	if (rc == PS_COMPACTED) {
		pa_reply_json(r, 410, compacted_error(m, since));
		return;
	}
	if (rc) {
		pm_reply_store(r, m, "opening a watch");
		return;
	}
	if (fol) {
		follow(r, m, w);
		return;
	}
	list = json_object_new_array();
	while ((int64_t)json_object_array_length(list) < limit) {
		size_t want = (size_t)(limit - (int64_t)json_object_array_length(list));

		n = ps_watch_next(m->st, w, ev, want < BATCH ? want : BATCH);
		if (n < 0)
			break;
		for (int i = 0; i < n; i++)
			if (shown(&ev[i]))
				json_object_array_add(list, pm_event_json(&ev[i]));
		ps_events_free(ev, (size_t)n);
		if (n < (int)(want < BATCH ? want : BATCH))
			break;
	}
	if (n == PS_COMPACTED) {
		json_object_put(list);
		pa_reply_json(r, 410, compacted_error(m, since));
	} else if (n < 0) {
		json_object_put(list);
		pm_reply_store(r, m, "reading the events");
	} else {
		out = json_object_new_object();
		json_object_object_add(out, "revision", json_object_new_int64(ps_watch_revision(w)));
		json_object_object_add(out, "events", list);
		json_object_object_add(out, "more", json_object_new_boolean(
			(int64_t)json_object_array_length(list) >= limit));
		pa_reply_json(r, 200, out);
	}
	ps_watch_close(m->st, w);
}
