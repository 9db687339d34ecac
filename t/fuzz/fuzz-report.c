// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-report.c: libFuzzer target for policy/report.c, the manager's
 * reader of an agent's report (POST /v1/nodes/report), the one request
 * parser of the manager that is more than json_req.c's field readers:
 * nested arrays and objects, fields named by their place, paths checked.
 * `make fuzz-report` runs it under libFuzzer; t/fuzz/replay.c replays
 * t/fuzz/corpus/report without clang (t/t0108-fuzz-report-corpus.sh).
 *
 * The input is a request body.  Invariants: a report is refused with 400,
 * a field and a message, and nothing given back; or it is given back
 * rebuilt, its "volumes" the one inside it, and the rebuilt report read
 * again gives back exactly itself (what the manager stores it would take
 * again); the path check alone over the raw input accepts only absolute
 * paths within the bound.  The same input is read as a host's report
 * (pm_host_report_parse, lunlink-rescand's POST /v1/hosts/report) with
 * the same invariants.
 */
#include "manager_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

/* as the manager stores it (manager.c's pm_text), without manager.c */
static const char *text_of(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void check_again(json_object *out)
{
	const char *text = text_of(out);
	struct pjr_err e = { 0 };
	json_object *body = NULL, *again = NULL, *vols = NULL;

	check(pjr_parse(text, strlen(text), &body, &e) == 0);
	check(pm_report_parse(body, &again, &vols, &e) == 0);
	check(!strcmp(text_of(again), text));
	json_object_put(again);
	json_object_put(body);
}

/* A host's report (pm_host_report_parse): refused naming why, or given
 * back rebuilt, and the rebuilt one read again gives back itself. */
static void check_host(json_object *body)
{
	struct pjr_err e = { 0 };
	json_object *out = NULL, *links = NULL, *again = NULL, *links2 = NULL, *b2 = NULL;
	char *text;

	if (pm_host_report_parse(body, &out, &links, &e)) {
		check(!out && !links && e.status == 400 && e.message[0]);
		return;
	}
	check(out && links && json_object_is_type(links, json_type_array));
	json_object_object_add(out, "links", links);	/* the reference goes with out */
	text = strdup(text_of(out));
	check(text && pjr_parse(text, strlen(text), &b2, &e) == 0);
	check(pm_host_report_parse(b2, &again, &links2, &e) == 0);
	json_object_object_add(again, "links", links2);
	check(!strcmp(text_of(again), text));
	free(text);
	json_object_put(again);
	json_object_put(b2);
	json_object_put(out);
}

static void check_path(const uint8_t *data, size_t size)
{
	struct pjr_err e = { 0 };
	char path[PM_PATH_MAX + 2];

	if (size > PM_PATH_MAX + 1 || memchr(data, '\0', size))
		return;
	memcpy(path, data, size);
	path[size] = '\0';
	if (pm_path_check(path, "path", &e) == 0) {
		check(path[0] == '/' && size >= 2 && size <= PM_PATH_MAX);
		check(!strstr(path, "//") && !strstr(path, "/../") && path[size - 1] != '/');
	} else {
		check(!strcmp(e.field, "path") && e.status == 400 && e.message[0]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pjr_err e = { 0 };
	json_object *body = NULL, *out = NULL, *vols = NULL, *inside;

	if (pjr_parse((const char *)data, size, &body, &e) == 0) {
		if (pm_report_parse(body, &out, &vols, &e) == 0) {
			check(out && json_object_is_type(out, json_type_object));
			check(!vols || (json_object_object_get_ex(out, "volumes", &inside) &&
					inside == vols));
			check_again(out);
		} else {
			check(!out && !vols);
			/* the field may be "" : an unknown field named "" (the server says "body") */
			check(e.status == 400 && e.message[0]);
		}
		check_host(body);
		json_object_put(out);
		json_object_put(body);
	}
	check_path(data, size);
	return 0;
}
