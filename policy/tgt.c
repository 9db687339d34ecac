// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tgt.c: the agent's hands on tgtd (see tgt.h): tgtadm run with no shell
 * and a timeout to read the state and carry out a plan, and the record of
 * what the agent applied (the options and passwords tgtadm does not show).
 *
 * tgtadm says little when it refuses ("invalid request" for a LUN tgtd or
 * bs_lunlink refused); an action that fails is reported with what it was,
 * its target and LUN, and tgtadm's words, and for a lunlink LUN a pointer
 * to tgtd's log, where the module says why.
 */
#include "tgt.h"
#include "run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TGTADM_NOT_CONNECTED	107	/* tgtadm's exit status: no tgtd on the socket */
#define ARGV_MAX		24

struct argv {
	char *v[ARGV_MAX + 1];
	char bufs[8][32];	/* numbers */
	char text[128];		/* resize=SIZE, scsi_sn=SN,scsi_id=ID */
	int n, nb;
};

static void arg(struct argv *a, const char *s)
{
	if (a->n < ARGV_MAX)
		a->v[a->n++] = (char *)s;
	a->v[a->n] = NULL;
}

static void arg_num(struct argv *a, unsigned long long v)
{
	if (a->nb >= 8)
		return;
	snprintf(a->bufs[a->nb], sizeof(a->bufs[0]), "%llu", v);
	arg(a, a->bufs[a->nb++]);
}

static void base_args(const struct pg_tgt_opts *o, struct argv *a)
{
	memset(a, 0, sizeof(*a));
	arg(a, o->tgtadm ? o->tgtadm : "/usr/sbin/tgtadm");
	if (o->control_port >= 0) {
		arg(a, "-C");
		arg_num(a, (unsigned long long)o->control_port);
	}
	arg(a, "--lld");
	arg(a, "iscsi");
}

/* Run tgtadm; 0 on exit 0, the exit status (or -1: not run, killed) else,
 * with err naming what was done and what tgtadm said. */
static int tgtadm(const struct pg_tgt_opts *o, struct argv *a, struct pg_run_result *r,
		  const char *what, char *err, size_t errlen)
{
	char env_sock[4200], *env[2] = { NULL, NULL }, why[512];

	if (o->ipc_socket) {
		snprintf(env_sock, sizeof(env_sock), "TGT_IPC_SOCKET=%s", o->ipc_socket);
		env[0] = env_sock;
	}
	if (pg_run(a->v, env, o->timeout_ms ? o->timeout_ms : 10000, r, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", what, why);
		return -1;
	}
	if (r->timed_out) {
		snprintf(err, errlen, "%s: tgtadm did not answer within %ld ms (is tgtd stuck? its "
			 "log says more)", what, o->timeout_ms ? o->timeout_ms : 10000);
		pg_run_result_free(r);
		return -1;
	}
	if (r->status) {
		const char *msg = r->err;

		if (!strncmp(msg, "tgtadm: ", 8))
			msg += 8;
		snprintf(err, errlen, "%s: tgtadm said: %s", what,
			 *msg ? msg : "nothing (exit status only)");
		if (r->status == TGTADM_NOT_CONNECTED)
			snprintf(err, errlen, "%s: tgtd is not running (tgtadm could not reach it on "
				 "its control socket%s%s); start tgtd", what,
				 o->ipc_socket ? " " : "", o->ipc_socket ? o->ipc_socket : "");
		pg_run_result_free(r);
		return r->status;
	}
	return 0;
}

int pg_tgt_read(const struct pg_tgt_opts *o, struct pg_actual *a, char *err, size_t errlen)
{
	struct pg_run_result r;
	struct argv av;
	int rc;

	memset(a, 0, sizeof(*a));
	base_args(o, &av);
	arg(&av, "--mode");
	arg(&av, "target");
	arg(&av, "--op");
	arg(&av, "show");
	rc = tgtadm(o, &av, &r, "reading tgtd's targets", err, errlen);
	if (rc)
		return rc == TGTADM_NOT_CONNECTED ? 1 : -1;
	if (r.out_truncated) {
		snprintf(err, errlen, "reading tgtd's targets: tgtadm wrote more than %d bytes",
			 PG_RUN_OUT_MAX);
		goto err;
	}
	if (pg_show_parse(r.out ? r.out : "", r.out_len, a, err, errlen))
		goto err;
	pg_run_result_free(&r);
	base_args(o, &av);
	arg(&av, "--mode");
	arg(&av, "account");
	arg(&av, "--op");
	arg(&av, "show");
	rc = tgtadm(o, &av, &r, "reading tgtd's accounts", err, errlen);
	if (rc)
		goto err_actual;
	if (pg_accounts_parse(r.out ? r.out : "", r.out_len, a, err, errlen))
		goto err;
	pg_run_result_free(&r);
	return 0;
err:
	pg_run_result_free(&r);
err_actual:
	pg_actual_free(a);
	return rc == TGTADM_NOT_CONNECTED ? 1 : -1;
}

int pg_tgt_version(const struct pg_tgt_opts *o, char *buf, size_t len, char *err,
		   size_t errlen)
{
	struct pg_run_result r;
	struct argv av;

	memset(&av, 0, sizeof(av));
	arg(&av, o->tgtadm ? o->tgtadm : "/usr/sbin/tgtadm");
	arg(&av, "-V");
	if (tgtadm(o, &av, &r, "asking tgtadm its version", err, errlen))
		return -1;
	snprintf(buf, len, "%.*s", (int)strcspn(r.out ? r.out : "", "\n"), r.out ? r.out : "");
	pg_run_result_free(&r);
	return 0;
}

static bool acl_is_name(const char *e)
{
	return !strncmp(e, "iqn.", 4) || !strncmp(e, "eui.", 4) || !strncmp(e, "naa.", 4);
}

/* The tgtadm arguments of one action. */
static void action_args(const struct pg_tgt_opts *o, const struct pg_action *x, struct argv *av)
{
	static const char *const mode[] = {
		[PG_ACCOUNT_DELETE] = "account", [PG_ACCOUNT_NEW] = "account",
		[PG_TARGET_NEW] = "target", [PG_ACL_BIND] = "target",
		[PG_ACL_UNBIND] = "target", [PG_ACCOUNT_BIND] = "account",
		[PG_ACCOUNT_UNBIND] = "account", [PG_LUN_DELETE] = "logicalunit",
		[PG_LUN_NEW] = "logicalunit", [PG_LUN_RESIZE] = "logicalunit",
		[PG_LUN_IDENTITY] = "logicalunit", [PG_TARGET_DELETE] = "target",
		[PG_LUN_LEASE] = "logicalunit",
	};
	static const char *const op[] = {
		[PG_ACCOUNT_DELETE] = "delete", [PG_ACCOUNT_NEW] = "new",
		[PG_TARGET_NEW] = "new", [PG_ACL_BIND] = "bind", [PG_ACL_UNBIND] = "unbind",
		[PG_ACCOUNT_BIND] = "bind", [PG_ACCOUNT_UNBIND] = "unbind",
		[PG_LUN_DELETE] = "delete", [PG_LUN_NEW] = "new", [PG_LUN_RESIZE] = "update",
		[PG_LUN_IDENTITY] = "update", [PG_TARGET_DELETE] = "delete",
		[PG_LUN_LEASE] = "update",
	};
	base_args(o, av);
	arg(av, "--mode");
	arg(av, mode[x->op]);
	arg(av, "--op");
	arg(av, op[x->op]);
	if (x->op != PG_ACCOUNT_NEW && x->op != PG_ACCOUNT_DELETE) {
		arg(av, "--tid");
		arg_num(av, x->tid);
	}
	switch (x->op) {
	case PG_ACCOUNT_NEW:
		arg(av, "--user");
		arg(av, x->name);
		arg(av, "--password");
		arg(av, x->password);
		break;
	case PG_ACCOUNT_DELETE:
	case PG_ACCOUNT_BIND:
	case PG_ACCOUNT_UNBIND:
		arg(av, "--user");
		arg(av, x->name);
		if (x->outgoing)
			arg(av, "--outgoing");
		break;
	case PG_TARGET_NEW:
		arg(av, "--targetname");
		arg(av, x->iqn);
		break;
	case PG_ACL_BIND:
	case PG_ACL_UNBIND:
		arg(av, acl_is_name(x->name) ? "--initiator-name" : "--initiator-address");
		arg(av, x->name);
		break;
	case PG_LUN_NEW:
		arg(av, "--lun");
		arg_num(av, x->lun);
		arg(av, "--backing-store");
		arg(av, x->path);
		arg(av, "--bstype");
		arg(av, x->bstype);
		if (x->bsopts[0]) {
			arg(av, "--bsopts");
			arg(av, x->bsopts);
		}
		break;
	case PG_LUN_DELETE:
		arg(av, "--lun");
		arg_num(av, x->lun);
		break;
	case PG_LUN_RESIZE:
		arg(av, "--lun");
		arg_num(av, x->lun);
		arg(av, "--params");
		if (x->size)
			snprintf(av->text, sizeof(av->text), "resize=%" PRIu64, x->size);
		else
			snprintf(av->text, sizeof(av->text), "resize=reread");
		arg(av, av->text);
		break;
	case PG_LUN_IDENTITY:
		arg(av, "--lun");
		arg_num(av, x->lun);
		arg(av, "--params");
		snprintf(av->text, sizeof(av->text), "%s%s%s%s%s",
			 x->scsi_sn[0] ? "scsi_sn=" : "", x->scsi_sn,
			 x->scsi_sn[0] && x->scsi_id[0] ? "," : "",
			 x->scsi_id[0] ? "scsi_id=" : "", x->scsi_id);
		arg(av, av->text);
		break;
	case PG_TARGET_DELETE:
		arg(av, "--force");
		break;
	case PG_LUN_LEASE:
		/* the deadline itself, on CLOCK_MONOTONIC, which tgtd on this
		 * host shares: however late the update reaches tgtd, the lease
		 * ends when the agent's does, before the manager's
		 * (doc/policy.md, "The timing rule") */
		arg(av, "--lun");
		arg_num(av, x->lun);
		arg(av, "--params");
		if (x->has_gen)	/* the module holds writes of another generation */
			snprintf(av->text, sizeof(av->text), "lease=%" PRIu64 ":@%" PRId64 ":%016"
				 PRIx64, x->epoch, x->deadline_ms, x->gen);
		else
			snprintf(av->text, sizeof(av->text), "lease=%" PRIu64 ":@%" PRId64, x->epoch,
				 x->deadline_ms);
		arg(av, av->text);
		break;
	}
}

int pg_plan_apply(const struct pg_tgt_opts *o, const struct pg_plan *plan, size_t *failed,
		  char *err, size_t errlen)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct pg_action *x = &plan->actions[i];
		struct pg_run_result r;
		struct argv av;
		char what[1536];
		int rc;

		pg_action_describe(x, what, sizeof(what));
		if (x->op == PG_LUN_LEASE && x->deadline_ms <= ll_mono_ms()) {
			snprintf(err, errlen, "%s: the lease ran out before it reached tgtd (the "
				 "manager's answer came late); the next renewal brings another",
				 what);
			*failed = i;
			return -1;
		}
		action_args(o, x, &av);
		rc = tgtadm(o, &av, &r, what, err, errlen);
		if (rc) {
			size_t n = strlen(err);

			if ((x->op == PG_LUN_NEW || x->op == PG_LUN_RESIZE || x->op == PG_LUN_LEASE) &&
			    rc > 0 && (!strcmp(x->bstype, "lunlink") || x->op != PG_LUN_NEW) &&
			    n < errlen)
				snprintf(err + n, errlen - n, " (tgtd's log has bs_lunlink's reason: "
					 "'lunlink: tid %u lun %u')", x->tid, x->lun);
			*failed = i;
			return -1;
		}
		pg_run_result_free(&r);
	}
	return 0;
}

/* ---- the record ---------------------------------------------------- */

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : "";
}

void pg_actual_recall(struct pg_actual *a, json_object *record)
{
	json_object *luns, *accounts;

	if (!record)
		return;
	if (json_object_object_get_ex(record, "luns", &luns) &&
	    json_object_is_type(luns, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(luns); i++) {
			json_object *e = json_object_array_get_idx(luns, i), *lv;
			const struct pg_target *ct = pg_actual_target(a, str(e, "iqn"));
			struct pg_target *t = (struct pg_target *)ct;
			int64_t lun;

			if (!t || !json_object_object_get_ex(e, "lun", &lv))
				continue;
			lun = json_object_get_int64(lv);
			for (size_t l = 0; l < t->nluns; l++) {
				struct pg_lun *x = &t->luns[l];

				if ((int64_t)x->lun != lun || strcmp(x->path, str(e, "path")) ||
				    strcmp(x->bstype, str(e, "bstype")))
					continue;
				snprintf(x->bsopts, sizeof(x->bsopts), "%s", str(e, "bsopts"));
				x->bsopts_known = true;
			}
		}
	}
	if (json_object_object_get_ex(record, "accounts", &accounts) &&
	    json_object_is_type(accounts, json_type_object))
		for (size_t u = 0; u < a->nusers; u++) {
			json_object *pw;

			if (json_object_object_get_ex(accounts, a->users[u], &pw) &&
			    json_object_is_type(pw, json_type_string))
				snprintf(a->passwords[u], sizeof(a->passwords[u]), "%s",
					 json_object_get_string(pw));
		}
}

json_object *pg_record_json(const struct pg_want_lun *want, size_t n)
{
	json_object *rec = json_object_new_object(), *luns = json_object_new_array(),
		    *accounts = json_object_new_object();

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "iqn", json_object_new_string(want[i].iqn));
		json_object_object_add(e, "lun", json_object_new_int64(want[i].lun));
		json_object_object_add(e, "path", json_object_new_string(want[i].path));
		json_object_object_add(e, "bstype", json_object_new_string(want[i].bstype));
		json_object_object_add(e, "bsopts", json_object_new_string(want[i].bsopts));
		json_object_array_add(luns, e);
		if (want[i].chap_user[0])
			json_object_object_add(accounts, want[i].chap_user,
					       json_object_new_string(want[i].chap_password));
	}
	json_object_object_add(rec, "luns", luns);
	json_object_object_add(rec, "accounts", accounts);
	return rec;
}
