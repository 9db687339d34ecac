// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mgr_json.h: the host's two messages to and from the manager, as JSON
 * (doc/link.md, "The host's side of the API"): the desired links read
 * from GET /v1/hosts/desired, the report built for POST /v1/hosts/report.
 * Pure functions over json-c objects, so the unit tests check both
 * without a manager.
 */
#ifndef LUNLINK_RESCAND_MGR_JSON_H
#define LUNLINK_RESCAND_MGR_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "link.h"

/* What the manager takes back in a report (policy/report.c's host report
 * bounds): an answer the host could not report in full is not read. */
#define RD_MGR_LINKS_MAX	256	/* links of one host we take */
#define RD_MGR_WWID_MAX		80	/* a desired link's WWID */

/* One desired link and what became of it. */
struct rd_mgr_link {
	struct rd_link_req req;
	struct rd_link_result res;
	bool pending;			/* to be carried out */
	char bad[320];			/* the entry could not be read: why */
};

struct rd_mgr_desired {
	long long revision;		/* desired_revision */
	bool changed;
	struct rd_mgr_link *v;		/* res zeroed (working), pending set */
	size_t n;
};

/* Who the host is, for every report. */
struct rd_mgr_ident {
	char initiator[256];
	char hostname[256];
	const char *version;
};

/* Read a desired answer.  An entry whose volume and revision can be read
 * but whose other fields cannot is kept with `bad` set (it is reported
 * failed with that reason); anything else wrong refuses the whole answer
 * and leaves d zero.
 * 0, or -1 with err. */
int rd_mgr_desired_read(json_object *j, struct rd_mgr_desired *d, char *err, size_t errlen);
void rd_mgr_desired_free(struct rd_mgr_desired *d);

/* The report: the host's identity and one entry per link (a new reference),
 * each field within the manager's bounds and the whole within one request
 * body (PJR_MAX_BODY): with many links and long messages, less detail,
 * and past RD_MGR_REPORT_ALL links the ones that do not fit left out. */
#define RD_MGR_REPORT_ALL	64
json_object *rd_mgr_report_json(const struct rd_mgr_ident *id, const struct rd_mgr_link *v,
				size_t n);

#endif
