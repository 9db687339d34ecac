/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl.h: what lunlinkctl's files share.  ctl.c is the command line (global
 * options, the command table, connecting, errors and exit codes);
 * ctl_cmds.c the commands; ctl_print.c the human output (tables, sizes,
 * ages); ctl_events.c the event stream, read line by line as it comes.
 *
 * Exit codes: 0 done, 1 the manager refused or could not be reached (its
 * message printed as "lunlinkctl: COMMAND: FIELD: MESSAGE"), 2 a usage
 * error (the command's usage line printed).
 */
#ifndef LUNLINK_POLICY_CTL_H
#define LUNLINK_POLICY_CTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct pa_client;

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

#define CTL_ARGS_MAX	32

struct ctl {
	struct pcf_config conf;
	const char *conf_path;
	bool json;			/* print the API's JSON as is */
	const char *socket;		/* --socket, else the configuration's */
	const char *url;		/* --url https://...: TLS instead of the socket */
	const char *cert, *key, *ca;	/* --cert/--key/--ca for --url */
	char ca_default[PATH_MAX + 16];
	const char *cmd;		/* "area add", for messages */
	const char *usage;		/* the command's usage line */
	/* the command's words after its name, and its options */
	const char *args[CTL_ARGS_MAX];
	size_t nargs;
};

/* A command's option: "--size" with a value, or a flag. */
struct ctl_opt {
	const char *name;
	bool has_value;
	const char *value;		/* set when given (flags: "") */
};

/* ctl.c */
/* Split c->args into positional words (want_min..want_max of them, kept in
 * c->args) and the options of opts (NULL-named end); anything else is a
 * usage error.  CTL_OK or CTL_USAGE (already reported). */
int ctl_parse(struct ctl *c, struct ctl_opt *opts, size_t want_min, size_t want_max);
/* Report a usage error: "lunlinkctl: CMD: why" and the usage line; CTL_USAGE. */
int ctl_usage_error(const struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a failure: "lunlinkctl: CMD: why"; CTL_FAIL. */
int ctl_fail(const struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * METHOD path with body (put here; may be NULL) to the manager.  CTL_OK
 * with *reply (may be NULL; the caller puts it), or CTL_FAIL with the
 * server's "field: message" or the transport's sentence already printed.
 */
int ctl_call(struct ctl *c, const char *method, const char *path, json_object *body,
	     json_object **reply);
/* A client of the manager's API as the options say (NULL: the reason
 * printed), for a command that calls more than once. */
struct pa_client *ctl_client(struct ctl *c);
/* The API's address for messages and for the stream: "unix:PATH" or the URL. */
const char *ctl_api_url(const struct ctl *c);
/* A name on the command line that goes into a path: ctl_usage_error if not one. */
int ctl_check_name(const struct ctl *c, const char *what, const char *s);

/* ctl_print.c */
/* "1.5G", "500G", "512B" */
const char *ctl_size_str(uint64_t bytes, char *buf, size_t len);
/* A JSON size (integer, or a string of digits) as ctl_size_str; "-" if absent. */
const char *ctl_json_size(json_object *o, char *buf, size_t len);
/* "90s", "5m", "3h", "2d": seconds in the largest unit that keeps two of it */
const char *ctl_span_str(int64_t seconds, char *buf, size_t len);
/* "12s ago", "3h ago", "in 5m" from a time in ms since the epoch; "-" if 0. */
const char *ctl_age_str(int64_t at_ms, int64_t now_ms, char *buf, size_t len);
/* The first of the |-separated keys that obj has, as text ("-" if none);
 * numbers and booleans printed, objects and arrays as compact JSON. */
const char *ctl_field(json_object *obj, const char *keys);
json_object *ctl_member(json_object *obj, const char *keys);
/* The array of items in a reply: the reply itself if an array, else its
 * member key (e.g. "nodes"); NULL if neither. */
json_object *ctl_items(json_object *reply, const char *key);
/* Print the JSON as the API gave it (one line). */
void ctl_print_json(json_object *o);
/* Print an object as "key: value" lines, nested objects indented. */
void ctl_print_object(json_object *o, int indent);

struct ctl_table;
struct ctl_table *ctl_table_new(const char *const *headers);
void ctl_table_row(struct ctl_table *t, const char *const *cells);
/* Print with aligned columns (two spaces apart), and free. */
void ctl_table_print(struct ctl_table *t);

/* ctl_cmds.c: each command; c->args holds its words */
/* GET path and print the reply with print (or as JSON with --json). */
int ctl_get_print(struct ctl *c, const char *path, void (*print)(json_object *reply));
/* A reply as "key: value" lines. */
void ctl_print_reply(json_object *reply);
int ctl_ca_init(struct ctl *c);
int ctl_token_create(struct ctl *c);
int ctl_node_list(struct ctl *c);
int ctl_node_show(struct ctl *c);
int ctl_node_remove(struct ctl *c);
int ctl_area_add(struct ctl *c);
int ctl_area_list(struct ctl *c);
int ctl_area_remove(struct ctl *c);
int ctl_volume_create(struct ctl *c);
int ctl_volume_list(struct ctl *c);
int ctl_volume_show(struct ctl *c);
int ctl_volume_delete(struct ctl *c);
int ctl_volume_resize(struct ctl *c);
int ctl_volume_switchover(struct ctl *c);
int ctl_lend(struct ctl *c);
int ctl_return(struct ctl *c);
int ctl_status(struct ctl *c);

/* ctl_link.c */
int ctl_host_list(struct ctl *c);
int ctl_host_show(struct ctl *c);
int ctl_link(struct ctl *c);
int ctl_unlink(struct ctl *c);

/* ctl_events.c */
int ctl_events(struct ctl *c);

/* ctl_pr.c */
int ctl_volume_pr(struct ctl *c);

/* ctl_store.c: the stores themselves, no manager */
int ctl_store_migrate(struct ctl *c);

#endif
