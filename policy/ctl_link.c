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
 */
#include "ctl.h"
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS		25
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

static int get_print(struct ctl *c, const char *path, void (*print)(json_object *))
{
	json_object *reply;
	int rc = ctl_call(c, "GET", path, NULL, &reply);

	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(reply);
	else
		print(reply);
	json_object_put(reply);
	return CTL_OK;
}

static void print_object(json_object *o)
{
	ctl_print_object(o, 0);
}

int ctl_host_list(struct ctl *c)
{
	if (ctl_parse(c, NULL, 0, 0))
		return CTL_USAGE;
	return get_print(c, "/v1/hosts", print_hosts);
}

int ctl_host_show(struct ctl *c)
{
	char path[128];

	if (ctl_parse(c, NULL, 1, 1) || ctl_check_name(c, "the host", c->args[0]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/hosts/%s", c->args[0]);
	return get_print(c, path, print_object);
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
	bool shown[NSTEPS];
	int64_t t0;		/* the link's "requested" step, or our start */
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

/* The link's record, NULL if there is none (*gone) or on an error
 * (printed, *failed). */
static json_object *read_link(struct waiter *w, bool *gone, bool *failed)
{
	char path[160], err[512];
	json_object *reply = NULL;
	long status = 0;

	*gone = *failed = false;
	snprintf(path, sizeof(path), "/v1/links/%s", w->volume);
	if (!pa_client_call(w->cl, "GET", path, NULL, &reply, &status, err, sizeof(err)))
		return reply;
	json_object_put(reply);
	if (status == 404)
		*gone = true;
	else {
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

int ctl_link(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--to", true, NULL }, { "--timeout", true, NULL },
				  { "--verbose", false, NULL }, { NULL } };
	struct waiter w = { .c = c };
	char path[160];
	json_object *body, *reply = NULL, *l = NULL;
	int timeout = 30, rc = CTL_FAIL;
	int64_t rev, deadline;
	bool gone, failed;

	if (ctl_parse(c, opts, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	if (!opts[0].value || !opts[0].value[0])
		return ctl_usage_error(c, "--to HOST is needed ('lunlinkctl host list' shows them)");
	if (ctl_check_name(c, "the host", opts[0].value) ||
	    parse_timeout(c, opts[1].value, &timeout))
		return CTL_USAGE;
	w.volume = c->args[0];
	w.verbose = opts[2].value != NULL;
	w.t0 = now_ms();
	body = json_object_new_object();
	json_object_object_add(body, "host", json_object_new_string(opts[0].value));
	json_object_object_add(body, "timeout_s", json_object_new_int(timeout));
	snprintf(path, sizeof(path), "/v1/volumes/%s/link", w.volume);
	if (ctl_call(c, "POST", path, body, &reply))
		return CTL_FAIL;
	rev = json_object_get_int64(ctl_member(reply, "revision"));
	json_object_put(reply);
	w.cl = ctl_client(c);
	if (!w.cl)
		return CTL_FAIL;
	deadline = now_ms() + (int64_t)(timeout + WAIT_MARGIN_S) * 1000;
	for (;;) {
		const char *state;

		json_object_put(l);
		l = read_link(&w, &gone, &failed);
		if (failed)
			goto out;
		if (gone) {
			ctl_fail(c, "the link of %s went while waiting (unlinked meanwhile?)", w.volume);
			goto out;
		}
		show_steps(&w, l);
		state = ctl_field(l, "state");
		if (json_object_get_int64(ctl_member(l, "revision")) < rev)
			state = "old";	/* cannot be: the POST answered after its commit */
		if (!strcmp(state, "linked")) {
			json_object *d = ctl_member(l, "device");
			char size[32];

			if (c->json)
				ctl_print_json(l);
			else
				printf("volume %s is /dev/%s on host %s\n  by-id %s\n  WWID  %s\n"
				       "  size  %s\n%s%s%s", w.volume, ctl_field(d, "name"),
				       ctl_field(l, "host"), ctl_field(d, "by_id"),
				       ctl_field(d, "wwid"),
				       ctl_json_size(ctl_member(d, "size"), size, sizeof(size)),
				       ctl_field(d, "multipath")[0] != '-' ? "  multipath " : "",
				       ctl_field(d, "multipath")[0] != '-' ? ctl_field(d, "multipath") : "",
				       ctl_field(d, "multipath")[0] != '-' ? "\n" : "");
			rc = CTL_OK;
			goto out;
		}
		if (!strcmp(state, "failed")) {
			ctl_fail(c, "failed at '%s': %s", ctl_field(l, "failed_step"),
				 ctl_field(l, "error"));
			if (c->json)
				ctl_print_json(l);
			goto out;
		}
		if (now_ms() >= deadline) {
			say_stalled(&w, l, timeout);
			goto out;
		}
		sleep_ms(POLL_MS);
	}
out:
	json_object_put(l);
	pa_client_free(w.cl);
	return rc;
}

int ctl_unlink(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--force", false, NULL }, { "--timeout", true, NULL },
				  { "--verbose", false, NULL }, { NULL } };
	struct waiter w = { .c = c };
	char path[160], host[80] = "";
	json_object *body, *reply = NULL, *l = NULL;
	int timeout = 30, rc = CTL_FAIL;
	int64_t rev, deadline;
	bool gone, failed;

	if (ctl_parse(c, opts, 1, 1) || ctl_check_name(c, "the volume", c->args[0]) ||
	    parse_timeout(c, opts[1].value, &timeout))
		return CTL_USAGE;
	w.volume = c->args[0];
	w.verbose = opts[2].value != NULL;
	w.t0 = now_ms();
	body = json_object_new_object();
	json_object_object_add(body, "force", json_object_new_boolean(opts[0].value != NULL));
	snprintf(path, sizeof(path), "/v1/volumes/%s/unlink", w.volume);
	if (ctl_call(c, "POST", path, body, &reply))
		return CTL_FAIL;
	rev = json_object_get_int64(ctl_member(reply, "revision"));
	snprintf(host, sizeof(host), "%s", ctl_field(reply, "host"));
	json_object_put(reply);
	w.cl = ctl_client(c);
	if (!w.cl)
		return CTL_FAIL;
	deadline = now_ms() + (int64_t)(timeout + WAIT_MARGIN_S) * 1000;
	for (;;) {
		json_object_put(l);
		l = read_link(&w, &gone, &failed);
		if (failed)
			goto out;
		if (gone) {
			if (c->json)
				printf("{\"volume\":\"%s\",\"host\":\"%s\",\"unlinked\":true}\n",
				       w.volume, host);
			else
				printf("volume %s is unlinked from host %s\n", w.volume, host);
			rc = CTL_OK;
			goto out;
		}
		show_steps(&w, l);
		if (!strcmp(ctl_field(l, "state"), "linked") &&
		    json_object_get_int64(ctl_member(l, "unlink_revision")) >= rev) {
			ctl_fail(c, "host %s refused: %s%s", host, ctl_field(l, "unlink_error"),
				 opts[0].value ? "" : " (--force deletes the device anyway)");
			goto out;
		}
		if (now_ms() >= deadline) {
			say_stalled(&w, l, timeout);
			goto out;
		}
		sleep_ms(POLL_MS);
	}
out:
	json_object_put(l);
	pa_client_free(w.cl);
	return rc;
}
