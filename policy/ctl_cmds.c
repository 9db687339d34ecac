// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl_cmds.c: lunlinkctl's commands, one function each: check the words
 * and options (usage errors exit 2 before anything is sent), make the
 * request doc/policy.md describes, print the reply as a table or, with
 * --json, as the API gave it.  What the manager refuses it explains; the
 * commands pass its words on (ctl_call).
 */
#include "ca.h"
#include "ctl.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "90", "90s", "30m", "1h", "7d": seconds, 1..max; -1 if not a duration. */
static long long duration_parse(const char *s, long long max)
{
	long long v, mul = 1;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || s[0] < '0' || s[0] > '9')
		return -1;
	if (*end) {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
		if (end[1])
			return -1;
	}
	if (v < 1 || v > max / mul)
		return -1;
	return v * mul;
}

/* GET path and print its reply as JSON, or hand it to print. */
int ctl_get_print(struct ctl *c, const char *path, void (*print)(json_object *reply))
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

/* Send and print a one-line outcome (or the reply with --json). */
static int send_and_say(struct ctl *c, const char *method, const char *path, json_object *body,
			const char *done)
{
	json_object *reply;
	int rc = ctl_call(c, method, path, body, &reply);

	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(reply);
	else
		printf("%s\n", done);
	json_object_put(reply);
	return CTL_OK;
}

/* ---- ca, token ------------------------------------------------------------- */

int ctl_ca_init(struct ctl *c)
{
	char dir[PATH_MAX + 8], err[512];
	json_object *o;

	if (ctl_parse(c, NULL, 0, 0))
		return CTL_USAGE;
	snprintf(dir, sizeof(dir), "%s/ca", c->conf.state_dir);
	if (pcf_mkdirs(c->conf.state_dir, 0700, err, sizeof(err)) || pca_init(dir, err, sizeof(err)))
		return ctl_fail(c, "%s", err);
	if (c->json) {
		o = json_object_new_object();
		json_object_object_add(o, "dir", json_object_new_string(dir));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("made the cluster CA in %s\n"
		       "copy %s/ca.crt to each node's %s/ca.crt before it joins\n",
		       dir, dir, c->conf.state_dir);
	}
	return CTL_OK;
}

int ctl_token_create(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--role", true, NULL }, { "--ttl", true, NULL }, { NULL } };
	enum pca_role role = PCA_ROLE_NODE;
	json_object *body, *reply, *tok;
	long long ttl = 3600;
	char when[32];
	int rc;

	if (ctl_parse(c, opts, 0, 0))
		return CTL_USAGE;
	if (opts[0].value && pca_role_parse(opts[0].value, &role))
		return ctl_usage_error(c, "--role %s: a role is node, host or admin", opts[0].value);
	if (opts[1].value && (ttl = duration_parse(opts[1].value, PCA_TOKEN_TTL_MAX)) < 0)
		return ctl_usage_error(c, "--ttl %s: a duration like 600s, 30m, 1h or 7d, at most "
				       "a week", opts[1].value);
	body = json_object_new_object();
	json_object_object_add(body, "role", json_object_new_string(pca_role_name(role)));
	json_object_object_add(body, "ttl", json_object_new_int64(ttl));
	if ((rc = ctl_call(c, "POST", "/v1/tokens", body, &reply)))
		return rc;
	if (c->json) {
		ctl_print_json(reply);
	} else if (!json_object_object_get_ex(reply, "token", &tok)) {
		rc = ctl_fail(c, "the manager's reply has no token: %s",
			      json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	} else {
		/* the token alone on stdout, for $(lunlinkctl token create) */
		printf("%s\n", json_object_get_string(tok));
		fprintf(stderr, "lunlinkctl: a %s token, valid for %s; on the new member: "
			"lunlink-policyd --join TOKEN\n", pca_role_name(role),
			ctl_span_str(ttl, when, sizeof(when)));
	}
	json_object_put(reply);
	return rc;
}

/* ---- nodes -------------------------------------------------------------------- */

static void print_nodes(json_object *reply)
{
	static const char *const head[] = { "NAME", "ID", "ADDRESS", "STATE", "SINCE", "TGTD",
					    NULL };
	json_object *items = ctl_items(reply, "nodes"), *n, *tgtd;
	struct ctl_table *t = ctl_table_new(head);
	int64_t now = ps_now_ms();
	char since[32];

	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		n = json_object_array_get_idx(items, i);
		tgtd = ctl_member(ctl_member(n, "report"), "tgtd");
		const char *row[] = {
			ctl_field(n, "name"), ctl_field(n, "id"), ctl_field(n, "address"),
			ctl_field(n, "state|status"),
			ctl_age_str(json_object_get_int64(ctl_member(n, "since_ms|since")), now,
				    since, sizeof(since)),
			tgtd ? (json_object_get_boolean(ctl_member(tgtd, "up")) ? "up" : "down") :
			ctl_field(n, "tgtd"),
		};
		ctl_table_row(t, row);
	}
	ctl_table_print(t);
}

int ctl_node_list(struct ctl *c)
{
	if (ctl_parse(c, NULL, 0, 0))
		return CTL_USAGE;
	return ctl_get_print(c, "/v1/nodes", print_nodes);
}

void ctl_print_reply(json_object *reply)
{
	ctl_print_object(reply, 0);
}

int ctl_node_show(struct ctl *c)
{
	char path[128];

	if (ctl_parse(c, NULL, 1, 1) || ctl_check_name(c, "the node", c->args[0]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/nodes/%s", c->args[0]);
	return ctl_get_print(c, path, ctl_print_reply);
}

int ctl_node_remove(struct ctl *c)
{
	char path[128], done[160];

	if (ctl_parse(c, NULL, 1, 1) || ctl_check_name(c, "the node", c->args[0]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/nodes/%s", c->args[0]);
	snprintf(done, sizeof(done), "removed node %s; its certificate is revoked", c->args[0]);
	return send_and_say(c, "DELETE", path, NULL, done);
}

/* ---- areas -------------------------------------------------------------------- */

int ctl_area_add(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--size", true, NULL }, { NULL } };
	char done[PATH_MAX + 128];
	json_object *body;

	if (ctl_parse(c, opts, 2, 2) || ctl_check_name(c, "the node", c->args[0]))
		return CTL_USAGE;
	if (c->args[1][0] != '/')
		return ctl_usage_error(c, "the path '%s' must be absolute (on the node)", c->args[1]);
	body = json_object_new_object();
	json_object_object_add(body, "node", json_object_new_string(c->args[0]));
	json_object_object_add(body, "path", json_object_new_string(c->args[1]));
	/* the size goes as written: the manager reads "500G" and says what is wrong */
	if (opts[0].value)
		json_object_object_add(body, "size", json_object_new_string(opts[0].value));
	snprintf(done, sizeof(done), "added area %s on %s", c->args[1], c->args[0]);
	return send_and_say(c, "POST", "/v1/areas", body, done);
}

static void print_areas(json_object *reply)
{
	static const char *const head[] = { "NODE", "ID", "PATH", "KIND", "SIZE", "USED", "FREE",
					    NULL };
	json_object *items = ctl_items(reply, "areas"), *a;
	struct ctl_table *t = ctl_table_new(head);
	char size[32], used[32], free_[32];

	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		a = json_object_array_get_idx(items, i);
		const char *row[] = {
			ctl_field(a, "node_name|node"), ctl_field(a, "id"), ctl_field(a, "path"),
			ctl_field(a, "kind"),
			ctl_json_size(ctl_member(a, "size"), size, sizeof(size)),
			ctl_json_size(ctl_member(a, "used"), used, sizeof(used)),
			ctl_json_size(ctl_member(a, "free"), free_, sizeof(free_)),
		};
		ctl_table_row(t, row);
	}
	ctl_table_print(t);
}

int ctl_area_list(struct ctl *c)
{
	if (ctl_parse(c, NULL, 0, 0))
		return CTL_USAGE;
	return ctl_get_print(c, "/v1/areas", print_areas);
}

int ctl_area_remove(struct ctl *c)
{
	char path[192], done[192];

	if (ctl_parse(c, NULL, 2, 2) || ctl_check_name(c, "the node", c->args[0]) ||
	    ctl_check_name(c, "the area id", c->args[1]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/areas/%s/%s", c->args[0], c->args[1]);
	snprintf(done, sizeof(done), "removed area %s of %s", c->args[1], c->args[0]);
	return send_and_say(c, "DELETE", path, NULL, done);
}

/* ---- volumes ------------------------------------------------------------------ */

int ctl_volume_create(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--way", true, NULL }, { "--size", true, NULL },
				  { "--copies", true, NULL }, { "--on", true, NULL }, { NULL } };
	static const char *const ways[] = { "single", "doubled", "integrated", "divided", NULL };
	json_object *body, *on;
	char done[160], *list, *save, *tok;
	long long copies = 0;
	char *end;
	bool known = false;

	if (ctl_parse(c, opts, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	if (!opts[0].value || !opts[1].value)
		return ctl_usage_error(c, "--way and --size are needed");
	for (size_t i = 0; ways[i]; i++)
		known |= !strcmp(opts[0].value, ways[i]);
	if (!known)
		return ctl_usage_error(c, "--way %s: a way is single, doubled, integrated or divided",
				       opts[0].value);
	if (opts[2].value) {
		errno = 0;
		copies = strtoll(opts[2].value, &end, 10);
		if (errno || *end || end == opts[2].value || copies < 1 || copies > 64)
			return ctl_usage_error(c, "--copies %s: a number from 1 to 64", opts[2].value);
	}
	body = json_object_new_object();
	json_object_object_add(body, "name", json_object_new_string(c->args[0]));
	json_object_object_add(body, "way", json_object_new_string(opts[0].value));
	json_object_object_add(body, "size", json_object_new_string(opts[1].value));
	if (copies)
		json_object_object_add(body, "copies", json_object_new_int64(copies));
	if (opts[3].value) {
		on = json_object_new_array();
		json_object_object_add(body, "on", on);
		list = strdup(opts[3].value);
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (ctl_check_name(c, "the node", tok)) {
				free(list);
				json_object_put(body);
				return CTL_USAGE;
			}
			json_object_array_add(on, json_object_new_string(tok));
		}
		free(list);
	}
	snprintf(done, sizeof(done), "created volume %s (%s, %s)", c->args[0], opts[0].value,
		 opts[1].value);
	return send_and_say(c, "POST", "/v1/volumes", body, done);
}

static void print_volumes(json_object *reply)
{
	static const char *const head[] = { "NAME", "WAY", "SIZE", "COPIES", "STATE", "SERVING",
					    "BORROWER", NULL };
	json_object *items = ctl_items(reply, "volumes"), *v, *serving, *borrower;
	struct ctl_table *t = ctl_table_new(head);
	char size[32];

	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		v = json_object_array_get_idx(items, i);
		serving = ctl_member(v, "serving");
		borrower = ctl_member(v, "borrower");
		const char *row[] = {
			ctl_field(v, "name"), ctl_field(v, "way"),
			ctl_json_size(ctl_member(v, "size"), size, sizeof(size)),
			ctl_field(v, "copies"), ctl_field(v, "state"),
			serving && json_object_is_type(serving, json_type_object) ?
			ctl_field(serving, "node_name|node") : ctl_field(v, "serving"),
			borrower && json_object_is_type(borrower, json_type_object) ?
			ctl_field(borrower, "initiator") : ctl_field(v, "borrower"),
		};
		ctl_table_row(t, row);
	}
	ctl_table_print(t);
}

int ctl_volume_list(struct ctl *c)
{
	if (ctl_parse(c, NULL, 0, 0))
		return CTL_USAGE;
	return ctl_get_print(c, "/v1/volumes", print_volumes);
}

/* A copy's sync state in words: "up to date", "resyncing, 2G left", ... */
static const char *sync_words(json_object *part, char *buf, size_t len)
{
	const char *sync = ctl_field(part, "sync"), *err = ctl_field(part, "sync_error");
	char left[32];

	if (!strcmp(err, "-"))
		err = "";

	if (!strcmp(ctl_field(part, "role"), "primary"))
		snprintf(buf, len, "serving");
	else if (!strcmp(sync, "up"))
		snprintf(buf, len, "up to date");
	else if (!strcmp(sync, "syncing"))
		snprintf(buf, len, "resyncing, %s left",
			 ctl_json_size(ctl_member(part, "left_bytes"), left, sizeof(left)));
	else if (!strcmp(sync, "down") || !strcmp(sync, "connecting"))
		snprintf(buf, len, "out of date (%s%s%s)", sync, err[0] ? ": " : "", err);
	else if (!strcmp(sync, "refused"))
		snprintf(buf, len, "split/refused%s%s", err[0] ? ": " : "", err);
	else
		snprintf(buf, len, "not reported");
	return buf;
}

/* The record, then its copies (or parts) and their sync state. */
static void print_volume(json_object *reply)
{
	static const char *const head[] = { "NODE", "ROLE", "PATH", "SIZE", "STATE", "SYNC", NULL };
	json_object *parts = ctl_member(reply, "parts");
	struct ctl_table *t = ctl_table_new(head);
	char size[32], sync[600];

	ctl_print_object(reply, 0);
	for (size_t i = 0; parts && i < json_object_array_length(parts); i++) {
		json_object *p = json_object_array_get_idx(parts, i);
		const char *row[] = {
			ctl_field(p, "node_name|node"), ctl_field(p, "role"), ctl_field(p, "path"),
			ctl_json_size(ctl_member(p, "size"), size, sizeof(size)),
			ctl_field(p, "state"), sync_words(p, sync, sizeof(sync)),
		};
		ctl_table_row(t, row);
	}
	printf("\nCOPIES\n");
	ctl_table_print(t);
}

int ctl_volume_show(struct ctl *c)
{
	char path[128];

	if (ctl_parse(c, NULL, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/volumes/%s", c->args[0]);
	return ctl_get_print(c, path, print_volume);
}

int ctl_volume_delete(struct ctl *c)
{
	char path[128], done[128];

	if (ctl_parse(c, NULL, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/volumes/%s", c->args[0]);
	snprintf(done, sizeof(done), "deleting volume %s", c->args[0]);
	return send_and_say(c, "DELETE", path, NULL, done);
}

int ctl_volume_resize(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--size", true, NULL }, { NULL } };
	char path[160], done[160];
	json_object *body;

	if (ctl_parse(c, opts, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	if (!opts[0].value)
		return ctl_usage_error(c, "--size is needed");
	body = json_object_new_object();
	json_object_object_add(body, "size", json_object_new_string(opts[0].value));
	snprintf(path, sizeof(path), "/v1/volumes/%s/resize", c->args[0]);
	snprintf(done, sizeof(done), "resizing volume %s to %s", c->args[0], opts[0].value);
	return send_and_say(c, "POST", path, body, done);
}

/* volume switchover NAME --to NODE: NODE's leg becomes the primary */
int ctl_volume_switchover(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--to", true, NULL }, { NULL } };
	char path[160], done[200];
	json_object *body;

	if (ctl_parse(c, opts, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	if (!opts[0].value || !opts[0].value[0])
		return ctl_usage_error(c, "--to NODE is needed: the node whose leg becomes the "
				       "primary");
	body = json_object_new_object();
	json_object_object_add(body, "to", json_object_new_string(opts[0].value));
	snprintf(path, sizeof(path), "/v1/volumes/%s/switchover", c->args[0]);
	snprintf(done, sizeof(done), "switching volume %s over to node %s", c->args[0],
		 opts[0].value);
	return send_and_say(c, "POST", path, body, done);
}

int ctl_lend(struct ctl *c)
{
	struct ctl_opt opts[] = { { "--to", true, NULL }, { NULL } };
	char path[160];
	json_object *body, *reply, *b;
	int rc;

	if (ctl_parse(c, opts, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	if (!opts[0].value || !opts[0].value[0])
		return ctl_usage_error(c, "--to IQN is needed: the borrower's initiator name");
	body = json_object_new_object();
	json_object_object_add(body, "initiator", json_object_new_string(opts[0].value));
	snprintf(path, sizeof(path), "/v1/volumes/%s/lend", c->args[0]);
	rc = ctl_call(c, "POST", path, body, &reply);
	if (rc)
		return rc;
	/* the one answer with the CHAP secret besides an admin's volume show */
	b = ctl_member(reply, "borrower");
	if (c->json)
		ctl_print_json(reply);
	else
		printf("lent volume %s to %s\nCHAP user %s secret %s (the initiator logs in with "
		       "these; 'lunlinkctl volume show %s' shows them again)\n", c->args[0],
		       opts[0].value, ctl_field(b, "chap_user"), ctl_field(b, "chap_secret"),
		       c->args[0]);
	json_object_put(reply);
	return CTL_OK;
}

int ctl_return(struct ctl *c)
{
	char path[160], done[160];

	if (ctl_parse(c, NULL, 1, 1) || ctl_check_name(c, "the volume", c->args[0]))
		return CTL_USAGE;
	snprintf(path, sizeof(path), "/v1/volumes/%s/return", c->args[0]);
	snprintf(done, sizeof(done), "volume %s returned", c->args[0]);
	return send_and_say(c, "POST", path, NULL, done);
}

/* ---- status ----------------------------------------------------------------- */

static void print_status(json_object *reply)
{
	json_object *mg = ctl_member(reply, "managers"), *list;
	const char *leader = mg ? json_object_get_string(ctl_member(mg, "leader")) : NULL;

	if (mg) {	/* an etcd store: the elected one and the others */
		if (!leader)
			leader = "";
		printf("MANAGERS (leader %s, term %lld)\n", leader,
		       (long long)json_object_get_int64(ctl_member(mg, "term")));
		list = ctl_member(mg, "candidates");
		for (size_t i = 0; list && i < json_object_array_length(list); i++) {
			json_object *c = json_object_array_get_idx(list, i);
			const char *name = json_object_get_string(ctl_member(c, "name"));
			const char *url = json_object_get_string(ctl_member(c, "url"));

			if (!name)
				name = "";
			printf("%-16s %-32s %s\n", name, url ? url : "",
			       !strcmp(name, leader) ? "leading" : "following");
		}
		printf("\n");
	}
	printf("NODES\n");
	print_nodes(ctl_member(reply, "nodes"));
	printf("\nAREAS\n");
	print_areas(ctl_member(reply, "areas"));
	printf("\nVOLUMES\n");
	print_volumes(ctl_member(reply, "volumes"));
}

int ctl_status(struct ctl *c)
{
	if (ctl_parse(c, NULL, 0, 0))
		return CTL_USAGE;
	return ctl_get_print(c, "/v1/status", print_status);
}
