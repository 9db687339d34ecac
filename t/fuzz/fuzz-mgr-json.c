// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-mgr-json.c: libFuzzer target for initiator/mgr_json.c, the host's
 * reader of the manager's answer to GET /v1/hosts/desired (doc/link.md)
 * and the builder of the report it posts back.  `make fuzz-mgr-json` runs
 * it under libFuzzer; t/fuzz/replay.c replays t/fuzz/corpus/mgr-json
 * without clang (t/t0112-fuzz-mgr-json-corpus.sh).
 *
 * The input is an answer body, read as the host reads it (pjr_parse, as
 * policy/client.c does).  Invariants: rd_mgr_desired_read refuses it with
 * -1, a message, and nothing kept (d all zero, freeing it harmless); or
 * reads it: at most RD_MGR_LINKS_MAX entries, each with a valid volume
 * name (no two alike) and a revision above 0, pending, its result zeroed,
 * and either `bad` with a reason or every field within its bounds (action,
 * LUN, target, portal, WWID non-empty, no blank, NUL-terminated inside
 * their buffers; moved_from none, all zero, or a whole address of the
 * same kind).  The report built from what was read, as the host first
 * sends it (entries working, bad ones failed with their reason), is taken
 * by the manager's own reader (policy/report.c, pm_host_report_parse)
 * with every entry in it, or, past RD_MGR_REPORT_ALL, as many as fit in
 * one request body: the host never sends what the manager refuses.
 * So is a later report, each good entry's result filled to its buffers'
 * end with text from the entry (the host's messages quote the target) or
 * with the input's raw bytes (what sysfs or iscsiadm said may be any).
 */
#include "mgr_json.h"
#include "manager_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

/* a string field ends inside its buffer */
#define bounded(a)	(strnlen((a), sizeof(a)) < sizeof(a))

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static bool has_blank(const char *s)
{
	return strchr(s, ' ') != NULL;
}

static void check_entry(const struct rd_mgr_desired *d, size_t i)
{
	const struct rd_mgr_link *l = &d->v[i];
	const struct rd_link_req *r = &l->req;

	check(bounded(r->volume) && pjr_name_valid(r->volume, strlen(r->volume)));
	for (size_t k = 0; k < i; k++)
		check(strcmp(d->v[k].req.volume, r->volume));
	check(r->revision > 0);
	check(l->pending);
	check(all_zero(&l->res, sizeof(l->res)));
	check(bounded(l->bad));
	if (l->bad[0])
		return;
	check(r->lun <= 16383);
	check(bounded(r->target) && r->target[0] && !has_blank(r->target));
	check(bounded(r->portal) && r->portal[0] && !has_blank(r->portal));
	check(bounded(r->wwid) && r->wwid[0]);
	check(pjr_name_valid(r->wwid, strlen(r->wwid)) || strlen(r->wwid) > PJR_NAME_MAX);
	check(r->size <= (uint64_t)INT64_MAX);
	check(r->timeout_s >= 1 && r->timeout_s <= 3600);
	check(bounded(r->chap_user) && bounded(r->chap_secret));
	/* moved_from: none (all zero), or a whole address */
	if (!r->moved_from.target[0]) {
		check(all_zero(&r->moved_from, sizeof(r->moved_from)));
		return;
	}
	check(bounded(r->moved_from.target) && !has_blank(r->moved_from.target));
	check(bounded(r->moved_from.portal) && r->moved_from.portal[0] &&
	      !has_blank(r->moved_from.portal));
	check(r->moved_from.lun <= 16383);
}

/* s over and over, cut where out ends (maybe inside a character), as a
 * long message naming the target would be */
static void fill(char *out, size_t outlen, const char *prefix, const char *s)
{
	size_t n = (size_t)snprintf(out, outlen, "%s", prefix);

	while (s[0] && n + 1 < outlen)
		n += (size_t)snprintf(out + n, outlen - n, "%s ", s);
}

/* the input's raw bytes, as sysfs or iscsiadm might print anything */
static const uint8_t *raw;
static size_t raw_len;

/* flip 0x80: the input parsed, so it is UTF-8; flipped it is mostly not */
static void fill_raw(char *out, size_t outlen, unsigned char flip)
{
	size_t n = raw_len < outlen - 1 ? raw_len : outlen - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = (char)(raw[i] ^ flip);
	out[n] = '\0';
}

/* What the link steps could give back for an entry, every result field
 * full, its text taken from the entry (any UTF-8 the manager sent) or,
 * for the multipath name and a linked entry's error, any bytes at all. */
static void result_of(struct rd_mgr_link *l)
{
	struct rd_link_result *r = &l->res;
	const char *t = l->req.target;

	r->state = (enum rd_link_state)(l->req.lun % 4);
	fill(r->device, sizeof(r->device), "", t);
	fill(r->by_id, sizeof(r->by_id), "/dev/disk/by-id/", t);
	fill(r->wwid, sizeof(r->wwid), "", t);
	fill_raw(r->multipath, sizeof(r->multipath), 0);
	if (r->state == RD_LINK_LINKED)
		fill_raw(r->error, sizeof(r->error), 0x80);
	else
		fill(r->error, sizeof(r->error), "", t);
	r->size = l->req.size;
	r->login_ms = l->req.timeout_s * 1000u;
	r->scan_ms = r->device_ms = UINT32_MAX - (unsigned int)l->req.lun;
}

/* The report as the host first sends it after this answer: the worker
 * takes each entry (working), a bad one fails at once with its reason;
 * with done, as it may send it later, every good entry's result full. */
static void check_report(const struct rd_mgr_desired *d, bool done)
{
	static const struct rd_mgr_ident id = {
		.initiator = "iqn.1993-08.org.debian:01:5f1c2d",
		.hostname = "web1",
		.version = "0.6.0",
	};
	struct rd_mgr_link *v = calloc(d->n ? d->n : 1, sizeof(*v));
	struct pjr_err e = { 0 };
	json_object *rep, *body = NULL, *out = NULL, *links = NULL;
	const char *text;

	check(v);
	for (size_t i = 0; i < d->n; i++) {
		v[i] = d->v[i];
		v[i].res.state = RD_LINK_WORKING;
		if (v[i].bad[0]) {
			v[i].res.state = RD_LINK_FAILED;
			snprintf(v[i].res.error, sizeof(v[i].res.error), "%s", v[i].bad);
		} else if (done) {
			result_of(&v[i]);
		}
	}
	rep = rd_mgr_report_json(&id, v, d->n);
	check(rep && json_object_is_type(rep, json_type_object));
	/* over the wire, as policy/client.c sends it and the manager reads it */
	text = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN);
	if (pjr_parse(text, strlen(text), &body, &e))
		fprintf(stderr, "the manager cannot read the report (%zu bytes): %s\n", strlen(text),
			e.message);
	check(body);
	if (pm_host_report_parse(body, &out, &links, &e))
		fprintf(stderr, "the manager refuses the report: field '%s': %s\n", e.field,
			e.message);
	check(out && links);
	/* in order; all of them, or as many as fit, never fewer than the first few */
	check(json_object_array_length(links) <= d->n);
	check(json_object_array_length(links) >= (d->n < RD_MGR_REPORT_ALL ? d->n :
						   RD_MGR_REPORT_ALL));
	for (size_t i = 0; i < json_object_array_length(links); i++) {
		json_object *vol;

		check(json_object_object_get_ex(json_object_array_get_idx(links, i), "volume", &vol));
		check(!strcmp(json_object_get_string(vol), v[i].req.volume));
	}
	json_object_put(links);
	json_object_put(out);
	json_object_put(body);
	json_object_put(rep);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rd_mgr_desired zero;
	struct rd_mgr_desired d;
	struct pjr_err e = { 0 };
	json_object *j = NULL;
	char err[256];

	if (pjr_parse((const char *)data, size, &j, &e))
		return 0;
	raw = data;
	raw_len = size;
	memset(&d, 0x5a, sizeof(d));
	err[0] = '\0';
	if (rd_mgr_desired_read(j, &d, err, sizeof(err))) {
		check(err[0] && bounded(err));
		check(!memcmp(&d, &zero, sizeof(d)));
	} else {
		check(d.n <= RD_MGR_LINKS_MAX);
		check(d.n == 0 || d.v);
		check(d.revision >= 0);
		for (size_t i = 0; i < d.n; i++)
			check_entry(&d, i);
		check_report(&d, false);
		check_report(&d, true);
	}
	rd_mgr_desired_free(&d);
	check(!memcmp(&d, &zero, sizeof(d)));
	json_object_put(j);
	return 0;
}
