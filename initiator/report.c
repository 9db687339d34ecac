// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * report.c: log lines, text and JSON for what a rescan changed (see
 * report.h).  JSON strings are escaped here; sysfs and iscsiadm text is
 * outside input and may hold anything.
 */
#include "report.h"
#include "log.h"

#include <inttypes.h>
#include <string.h>

const char *rd_size_human(uint64_t bytes, char buf[32])
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, 32, "%.2f %s", v, unit[u]);
	return buf;
}

static const char *dev_name(const struct rd_sdev *d, char buf[48])
{
	if (!d->block[0])
		return "(no block device)";
	snprintf(buf, 48, "/dev/%s", d->block);
	return buf;
}

void rd_changes_log(const struct rd_changes *c, size_t from, const struct rd_session *s)
{
	char hb[RD_HCTL_LEN], db[48], s1[32], s2[32];
	const char *tgt = s ? s->target : "?";

	for (size_t i = from; i < c->n; i++) {
		const struct rd_change *ch = &c->v[i];
		const struct rd_sdev *d = &ch->dev;

		rd_hctl_fmt(&d->hctl, hb);
		switch (ch->kind) {
		case RD_CH_NEW:
			rd_notice("new device %s %s wwid %s size %" PRIu64 " (%s) on session %u (%s)%s%s",
				  hb, dev_name(d, db), d->wwid[0] ? d->wwid : "(none)", d->size,
				  rd_size_human(d->size, s1), ch->sid, tgt, ch->why[0] ? ": " : "",
				  ch->why);
			break;
		case RD_CH_RESIZED:
			rd_notice("resized device %s %s from %" PRIu64 " (%s) to %" PRIu64 " (%s)", hb,
				  dev_name(d, db), ch->old_size, rd_size_human(ch->old_size, s1),
				  d->size, rd_size_human(d->size, s2));
			break;
		case RD_CH_REMOVED:
			rd_notice("removed device %s %s wwid %s: %s", hb, dev_name(d, db),
				  d->wwid[0] ? d->wwid : "(none)", ch->why);
			break;
		case RD_CH_KEPT:
			rd_warn("stale device %s %s kept: %s", hb, dev_name(d, db), ch->why);
			break;
		case RD_CH_ERROR:
			rd_err("%s", ch->why);
			break;
		}
	}
}

void rd_report_text(FILE *f, const struct rd_report *r)
{
	char hb[RD_HCTL_LEN], db[48], s1[32], s2[32];
	const struct rd_changes *c = r->changes;
	size_t shown = 0;

	for (size_t i = 0; i < r->nlogins; i++) {
		const struct rd_login *l = &r->logins[i];

		if (l->result == RD_LOGIN_DONE)
			fprintf(f, "login    %s at %s\n", l->t.target, l->t.portal);
		else if (l->result == RD_LOGIN_ALREADY)
			fprintf(f, "already  %s at %s (logged in)\n", l->t.target, l->t.portal);
		else
			fprintf(f, "FAILED   login to %s at %s: %s\n", l->t.target, l->t.portal, l->why);
	}
	for (size_t i = 0; i < r->nsessions; i++)
		fprintf(f, "session  %u host%u %s%s%s: rescanned\n", r->sessions[i].sid,
			r->sessions[i].host, r->sessions[i].target,
			r->sessions[i].portal[0] ? " at " : "", r->sessions[i].portal);
	for (size_t i = 0; c && i < c->n; i++) {
		const struct rd_change *ch = &c->v[i];
		const struct rd_sdev *d = &ch->dev;

		rd_hctl_fmt(&d->hctl, hb);
		switch (ch->kind) {
		case RD_CH_NEW:
			fprintf(f, "new      %-10s %-10s wwid %s size %s (%" PRIu64 " bytes)\n", hb,
				dev_name(d, db), d->wwid[0] ? d->wwid : "(none)",
				rd_size_human(d->size, s1), d->size);
			break;
		case RD_CH_RESIZED:
			fprintf(f, "resized  %-10s %-10s %s -> %s (%" PRIu64 " -> %" PRIu64 " bytes)\n",
				hb, dev_name(d, db), rd_size_human(ch->old_size, s1),
				rd_size_human(d->size, s2), ch->old_size, d->size);
			break;
		case RD_CH_REMOVED:
			fprintf(f, "removed  %-10s %-10s wwid %s: %s\n", hb, dev_name(d, db),
				d->wwid[0] ? d->wwid : "(none)", ch->why);
			break;
		case RD_CH_KEPT:
			fprintf(f, "IN USE   %-10s %-10s %s\n", hb, dev_name(d, db), ch->why);
			break;
		case RD_CH_ERROR:
			fprintf(f, "ERROR    %s\n", ch->why);
			break;
		}
		shown++;
	}
	for (size_t i = 0; i < r->nerrors; i++)
		fprintf(f, "ERROR    %s\n", r->errors[i]);
	if (!shown && !r->nerrors)
		fprintf(f, "no change\n");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);	/* bytes, not code points: safe */
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_str_or_null(FILE *f, const char *s)
{
	if (s && *s)
		json_str(f, s);
	else
		fputs("null", f);
}

void rd_report_json(FILE *f, const struct rd_report *r)
{
	static const char *const login_result[] = { "done", "already", "failed" };
	const struct rd_changes *c = r->changes;
	char hb[RD_HCTL_LEN], db[48];
	bool first = true;

	fputs("{\"sessions\":[", f);
	for (size_t i = 0; i < r->nsessions; i++) {
		const struct rd_session *s = &r->sessions[i];

		fprintf(f, "%s{\"session\":%u,\"host\":%u,\"target\":", i ? "," : "", s->sid, s->host);
		json_str(f, s->target);
		fputs(",\"portal\":", f);
		json_str_or_null(f, s->portal);
		fputc('}', f);
	}
	fputs("],\"logins\":[", f);
	for (size_t i = 0; i < r->nlogins; i++) {
		const struct rd_login *l = &r->logins[i];

		fputs(i ? ",{\"target\":" : "{\"target\":", f);
		json_str(f, l->t.target);
		fputs(",\"portal\":", f);
		json_str(f, l->t.portal);
		fprintf(f, ",\"result\":\"%s\"", login_result[l->result]);
		if (l->result == RD_LOGIN_FAILED) {
			fputs(",\"error\":", f);
			json_str(f, l->why);
		}
		fputc('}', f);
	}
	fputs("],\"changes\":[", f);
	for (size_t i = 0; c && i < c->n; i++) {
		const struct rd_change *ch = &c->v[i];
		const struct rd_sdev *d = &ch->dev;

		if (ch->kind == RD_CH_ERROR)
			continue;
		fprintf(f, "%s{\"change\":\"%s\",\"session\":%u,\"hctl\":\"%s\",\"device\":",
			first ? "" : ",", rd_change_kind_name(ch->kind), ch->sid,
			rd_hctl_fmt(&d->hctl, hb));
		first = false;
		if (d->block[0])
			json_str(f, dev_name(d, db));
		else
			fputs("null", f);
		fputs(",\"wwid\":", f);
		json_str_or_null(f, d->wwid);
		fprintf(f, ",\"size\":%" PRIu64, d->size);
		if (ch->kind == RD_CH_RESIZED)
			fprintf(f, ",\"old_size\":%" PRIu64, ch->old_size);
		if (ch->kind == RD_CH_REMOVED || ch->kind == RD_CH_KEPT) {
			fputs(",\"reason\":", f);
			json_str(f, ch->why);
		}
		fputc('}', f);
	}
	fputs("],\"errors\":[", f);
	first = true;
	for (size_t i = 0; c && i < c->n; i++)
		if (c->v[i].kind == RD_CH_ERROR) {
			if (!first)
				fputc(',', f);
			json_str(f, c->v[i].why);
			first = false;
		}
	for (size_t i = 0; i < r->nerrors; i++) {
		if (!first)
			fputc(',', f);
		json_str(f, r->errors[i]);
		first = false;
	}
	fputs("]}\n", f);
}
