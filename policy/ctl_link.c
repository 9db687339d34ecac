// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl_link.c: lunlinkctl's hosts and links (doc/link.md): `host list`,
 * `host show`, and `link` / `unlink`, which ask the manager and then
 * read the link's record until it is done, failed, or the time is up.
 * They return only when the host has the device (or no longer has it),
 * and name the step that stalled when it does not come.
 *
 * The record is read every POLL_MS on the connection of one client: the
 * manager answers from its store, so a read costs it little, and the
 * wait ends at most POLL_MS after the host's report.
 *
 * With several managers (doc/policy.md) the one read may die, or lose
 * its lead, while the link goes on: the record is in the store, and the
 * next leader carries it on (doc/link.md, "When the manager changes").
 * So a read that no manager answers (no connection, 502 from a follower
 * that cannot reach the leader, 503 during an election) is tried again
 * every AWAY_POLL_MS until the deadline, said once; the socket of a
 * manager started again reaches the new leader through it.
 */
#include "ctl.h"
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS		25
#define AWAY_POLL_MS	250	/* while no manager answers */
#define WAIT_MARGIN_S	5	/* past the host's own timeout: its failure report */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- hosts ---- */

static void print_hosts(json_object *reply)
{
	static const char *const headers[] = { "NAME", "ID", "INITIATOR", "STATE", "SINCE",
					       "LINKS", NULL };
	json_object *items = ctl_items(reply, "hosts");
	struct ctl_table *t = ctl_table_new(headers);
	int64_t now = now_ms();

	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		json_object *h = json_object_array_get_idx(items, i), *links = ctl_member(h, "links");
		char since[32], linked[256] = "";
		size_t used = 0;

		for (size_t k = 0; links && k < json_object_array_length(links) && used < 200; k++) {
			json_object *l = json_object_array_get_idx(links, k);
			const char *dev = ctl_field(ctl_member(l, "device"), "name");

			used += (size_t)snprintf(linked + used, sizeof(linked) - used, "%s%s%s%s",
						 k ? "," : "", ctl_field(l, "volume"),
						 strcmp(dev, "-") ? ":" : "", strcmp(dev, "-") ? dev : "");
		}
		const char *row[] = {
			ctl_field(h, "name"), ctl_field(h, "id"), ctl_field(h, "initiator"),
			ctl_field(h, "state"),
			ctl_age_str(json_object_get_int64(ctl_member(h, "since_ms")), now, since,
				    sizeof(since)),
			linked[0] ? linked : "-",
		};
		ctl_table_row(t, row);
	}
	ctl_table_print(t);
}

int ctl_host_list(struct ctl *c)
{
	if (ctl_parse(c, NULL, 0, 0))
		return CTL_USAGE;
	return ctl_get_print(c, "/v1/hosts", print_hosts);
}

int ctl_host_show(struct ctl *c)
{
	char path[128];

	if (ctl_parse(c, NULL, 1, 1) || ctl_check_name(c, "the host", c->args[0]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/hosts/%s", c->args[0]);
	return ctl_get_print(c, path, ctl_print_reply);
}

/* ---- waiting on a link ---- */

/* The steps in their order, with the words --verbose prints. */
static const struct {
	const char *key, *words;
} steps[] = {
	{ "lend", "lent to the host" },
	{ "acl", "ACL and CHAP on the target" },
	{ "lun_added", "LUN added" },
	{ "host_told", "host told" },
	{ "host_login", "host logged in" },
	{ "host_scanned", "host scanned" },
	{ "device", "device found" },
	{ "reported", "device reported" },
	{ "unlink", "unlink asked" },
	{ "host_unlinked", "host deleted the device" },
	{ "releasing", "LUN leaving the host's target" },
};
#define NSTEPS	(sizeof(steps) / sizeof(steps[0]))

struct waiter {
	struct ctl *c;
	struct pa_client *cl;
	const char *volume;
	bool verbose;
	bool force;
	bool shown[NSTEPS];
	int64_t t0;		/* the link's "requested" step, or our start */
	int64_t rev;		/* the revision of our request */
	char host[80];
	bool away;		/* the last read found no manager (said once) */
	char away_err[512];
};

/* Print the steps not printed yet, in order (--verbose). */
static void show_steps(struct waiter *w, json_object *link)
{
	json_object *st = ctl_member(link, "steps");
	int64_t req = json_object_get_int64(ctl_member(st, "requested"));

	if (!w->verbose || !st)
		return;
	if (req)
		w->t0 = req;
	for (size_t i = 0; i < NSTEPS; i++) {
		json_object *v = ctl_member(st, steps[i].key);

		if (!v || w->shown[i])
			continue;
		w->shown[i] = true;
		printf("%+7lld ms  %s\n", (long long)(json_object_get_int64(v) - w->t0),
		       steps[i].words);
	}
	fflush(stdout);
}

/* The link's record, NULL if there is none (*gone), if no manager answers
 * now (w->away), or on an error (printed, *failed). */
static json_object *read_link(struct waiter *w, bool *gone, bool *failed)
{
	char path[160], err[512];
	json_object *reply = NULL;
	long status = 0;

	*gone = *failed = false;
	snprintf(path, sizeof(path), "/v1/links/%s", w->volume);
	if (!pa_client_call(w->cl, "GET", path, NULL, &reply, &status, err, sizeof(err))) {
		if (w->away)
			fprintf(stderr, "lunlinkctl: a manager answers again\n");
		w->away = false;
		return reply;
	}
	json_object_put(reply);
	if (status == 404)
		*gone = true;
	else if (status == 0 || status == 502 || status == 503) {
		if (!w->away)
			fprintf(stderr, "lunlinkctl: reading the link of %s: %s; waiting for a manager "
				"to answer (the link goes on in the store)\n", w->volume, err);
		w->away = true;
		snprintf(w->away_err, sizeof(w->away_err), "%s", err);
	} else {
		ctl_fail(w->c, "reading the link of %s: %s", w->volume, err);
		*failed = true;
	}
	return NULL;
}

/* Where a link that did not come in time stands, for the operator. */
static void say_stalled(struct waiter *w, json_object *l, int timeout)
{
	const char *state = ctl_field(l, "state"), *host = ctl_field(l, "host");
	json_object *st = ctl_member(l, "steps");

	if (!strcmp(state, "requested"))
		ctl_fail(w->c, "stalled at 'LUN added': node %s has not presented LUN %s of %s within "
			 "%d s (is its lunlink-policyd running? 'lunlinkctl node show %s')",
			 ctl_field(l, "node"), ctl_field(l, "lun"), ctl_field(l, "target"), timeout,
			 ctl_field(l, "node"));
	else if (!strcmp(state, "presented") && !ctl_member(st, "host_told"))
		ctl_fail(w->c, "stalled at 'host told': host %s has not fetched the link within %d s "
			 "(is its lunlink-rescand connected? 'lunlinkctl host show %s')", host,
			 timeout, host);
	else if (!strcmp(state, "presented"))
		ctl_fail(w->c, "stalled at 'device reported': host %s was told, but has not reported "
			 "a device with WWID %s within %d s", host, ctl_field(l, "wwid"), timeout);
	else if (!strcmp(state, "unlinking"))
		ctl_fail(w->c, "stalled at 'host deleted the device': host %s has not reported "
			 "the device of %s gone within %d s", host, w->volume, timeout);
	else if (!strcmp(state, "releasing"))
		ctl_fail(w->c, "stalled at 'LUN removed': node %s has not taken LUN %s out of %s "
			 "within %d s", ctl_field(l, "node"), ctl_field(l, "lun"),
			 ctl_field(l, "target"), timeout);
	else
		ctl_fail(w->c, "the link of %s is %s after %d s", w->volume, state, timeout);
	fprintf(stderr, "lunlinkctl: the link stays as it is; 'lunlinkctl unlink %s' undoes it\n",
		w->volume);
}

static int parse_timeout(struct ctl *c, const char *s, int *out)
{
	char *end;
	long v;

	if (!s)
		return 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || v < 1 || v > 3600)
		return ctl_usage_error(c, "--timeout takes seconds, 1 to 3600, not '%s'", s);
	*out = (int)v;
	return 0;
}

/*
 * Post the request (body put here), then read the link until decide says
 * it is over: decide(w, link or NULL when gone) returns CTL_OK or
 * CTL_FAIL when it is (having said why), -1 to go on.  At the deadline
 * the stalled step is named.
 */
static int ask_and_wait(struct waiter *w, const char *action, json_object *body, int timeout,
			int (*decide)(struct waiter *w, json_object *link))
{
	char path[160];
	json_object *reply = NULL, *l = NULL;
	int64_t deadline;
	bool gone, failed;
	int rc = CTL_FAIL;

	w->t0 = now_ms();
	snprintf(path, sizeof(path), "/v1/volumes/%s/%s", w->volume, action);
	if (ctl_call(w->c, "POST", path, body, &reply))
		return CTL_FAIL;
	w->rev = json_object_get_int64(ctl_member(reply, "revision"));
	snprintf(w->host, sizeof(w->host), "%s", ctl_field(reply, "host"));
	json_object_put(reply);
	w->cl = ctl_client(w->c);
	if (!w->cl)
		return CTL_FAIL;
	deadline = now_ms() + (int64_t)(timeout + WAIT_MARGIN_S) * 1000;
	for (;;) {
		json_object_put(l);
		l = read_link(w, &gone, &failed);
		if (failed)
			break;
		if (w->away) {
			rc = CTL_FAIL;
			if (now_ms() >= deadline) {
				ctl_fail(w->c, "reading the link of %s: no manager answered within %d s: "
					 "%s", w->volume, timeout, w->away_err);
				break;
			}
			sleep_ms(AWAY_POLL_MS);
			continue;
		}
		if (l)
			show_steps(w, l);
		if ((rc = decide(w, l)) >= 0)
			break;
		rc = CTL_FAIL;
		if (now_ms() >= deadline) {
			say_stalled(w, l, timeout);
			break;
		}
		sleep_ms(POLL_MS);
	}
	json_object_put(l);
	pa_client_free(w->cl);
	w->cl = NULL;
	return rc;
}

static int link_done(struct waiter *w, json_object *l)
{
	struct ctl *c = w->c;
	const char *state = ctl_field(l, "state");
	json_object *d = ctl_member(l, "device");
	const char *mp = ctl_field(d, "multipath");
	bool has_mp = mp[0] && strcmp(mp, "-");
	char size[32];

	if (!l)
		return ctl_fail(c, "the link of %s went while waiting (unlinked meanwhile?)",
				w->volume);
	if (!strcmp(state, "failed")) {
		ctl_fail(c, "failed at '%s': %s", ctl_field(l, "failed_step"), ctl_field(l, "error"));
		if (c->json)
			ctl_print_json(l);
		return CTL_FAIL;
	}
	if (strcmp(state, "linked"))
		return -1;
	if (c->json) {
		ctl_print_json(l);
	} else {
		printf("volume %s is /dev/%s on host %s\n  by-id %s\n  WWID  %s\n  size  %s\n",
		       w->volume, ctl_field(d, "name"), ctl_field(l, "host"), ctl_field(d, "by_id"),
		       ctl_field(d, "wwid"), ctl_json_size(ctl_member(d, "size"), size, sizeof(size)));
		if (has_mp)
			printf("  multipath %s\n", mp);
	}
	return CTL_OK;
}

int ctl_link(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--to", true, NULL }, { "--timeout", true, NULL },
				  { "--verbose", false, NULL }, { NULL } };
	struct waiter w = { .c = c };
	json_object *body;
	int timeout = 30;

	if (ctl_parse(c, opts, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	if (!opts[0].value || !opts[0].value[0])
		return ctl_usage_error(c, "--to HOST is needed ('lunlinkctl host list' shows them)");
	if (ctl_check_name(c, "the host", opts[0].value) ||
	    parse_timeout(c, opts[1].value, &timeout))
		return CTL_USAGE;
	w.volume = c->args[0];
	w.verbose = opts[2].value != NULL;
	body = json_object_new_object();
	json_object_object_add(body, "host", json_object_new_string(opts[0].value));
	json_object_object_add(body, "timeout_s", json_object_new_int(timeout));
	return ask_and_wait(&w, "link", body, timeout, link_done);
}

static int unlink_done(struct waiter *w, json_object *l)
{
	if (!l) {
		if (w->c->json)
			printf("{\"volume\":\"%s\",\"host\":\"%s\",\"unlinked\":true}\n",
			       w->volume, w->host);
		else
			printf("volume %s is unlinked from host %s\n", w->volume, w->host);
		return CTL_OK;
	}
	if (!strcmp(ctl_field(l, "state"), "linked") &&
	    json_object_get_int64(ctl_member(l, "unlink_revision")) >= w->rev)
		return ctl_fail(w->c, "host %s refused: %s%s", w->host,
				ctl_field(l, "unlink_error"),
				w->force ? "" : " (--force deletes the device anyway)");
	return -1;
}

int ctl_unlink(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--force", false, NULL }, { "--timeout", true, NULL },
				  { "--verbose", false, NULL }, { NULL } };
	struct waiter w = { .c = c };
	json_object *body;
	int timeout = 30;

	if (ctl_parse(c, opts, 1, 1) || ctl_check_name(c, "the volume", c->args[0]) ||
	    parse_timeout(c, opts[1].value, &timeout))
		return CTL_USAGE;
	w.volume = c->args[0];
	w.verbose = opts[2].value != NULL;
	w.force = opts[0].value != NULL;
	body = json_object_new_object();
	json_object_object_add(body, "force", json_object_new_boolean(w.force));
	return ask_and_wait(&w, "unlink", body, timeout, unlink_done);
}
