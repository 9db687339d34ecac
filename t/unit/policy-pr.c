// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-pr.c: a volume's persistent reservations kept by the manager
 * (policy/volume_pr.c), in one process as the daemon runs it
 * (pm_harness.h); two nodes, db1 and db2, played by the test: their
 * reports say their modules export volume V (the report's "pr"), their
 * acks are what their agents would relay.
 *
 * The story: each exporter's desired state carries the volume's empty
 * state; a manager just started answers a PR OUT only once pr_valid_ms
 * have passed since, acks or not; a REGISTER from db1 is applied in one transaction and answered
 * only once both nodes acked its generation (and not before db2 did); a
 * refused RESERVE changes nothing and is answered at once; a node that
 * never acks holds the answer only until the validity the manager last
 * granted it has run out; a record changed between the read and the
 * write is read again and the PR OUT applied on top of it; GET
 * /v1/volumes/V/pr shows keys, reservation and nodes; the event log has
 * the change; a node whose module went is waited for while its last grant
 * runs, and not after; bad requests are refused with 400 naming the
 * field.
 */
#include "pm_harness.h"

#define V	"1abcdef0123456789abcdef012345678"
#define NEXUS1	"iqn.2026-11.test:host1,i,0x000000000001"
#define NEXUS2	"iqn.2026-11.test:host2,i,0x000000000002"

static struct pa_client *nd[2];
static struct pa_aclient *db1_async;
static char ids[2][PM_ID_LEN + 1];

/* A PR OUT from db1's agent, asynchronously (its answer may wait), with
 * the agent's op id when op is given. */
static void pr_out_op(struct answer *a, const char *nexus, const char *cdb, const char *param,
		      const char *op)
{
	json_object *b = json_object_new_object();
	char err[512];

	memset(a, 0, sizeof(*a));
	json_object_object_add(b, "nexus", json_object_new_string(nexus));
	json_object_object_add(b, "rtpi", json_object_new_int(1));
	json_object_object_add(b, "cdb", json_object_new_string(cdb));
	if (param)
		json_object_object_add(b, "param", json_object_new_string(param));
	if (op)
		json_object_object_add(b, "op", json_object_new_string(op));
	if (!pa_aclient_call(db1_async, "POST", "/v1/volumes/" V "/pr", b, 30000, on_done, a, err,
			     sizeof(err)))
		diag("async call: %s", err);
	json_object_put(b);
}

static void pr_out(struct answer *a, const char *nexus, const char *cdb, const char *param)
{
	pr_out_op(a, nexus, cdb, param, NULL);
}

/* PR OUT CDBs and parameter lists (SPC-4 6.16): REGISTER with service
 * action key K; RESERVE of type WE with key K. */
#define CDB_REGISTER	"5f000000000000001800"
#define CDB_RESERVE_WE	"5f010100000000001800"
#define PARAM_SARK(k)	"0000000000000000" k "0000000000000000"
#define PARAM_KEY(k)	k "00000000000000000000000000000000"
#define KEY_A		"00000000000000aa"
#define KEY_B		"00000000000000bb"

/* Node n acks generation gen of V (with "ack":false only asks for its
 * validity): whether the manager granted validity. */
static bool ack_ex(int n, int64_t gen, bool is_ack)
{
	char body[160];
	json_object *r = NULL, *list;
	bool valid;

	snprintf(body, sizeof(body), "{\"volume\":\"%s\",\"generation\":%lld%s}", V,
		 (long long)gen, is_ack ? "" : ",\"ack\":false");
	if (call(nd[n], "POST", "/v1/nodes/pr-ack", body, &r, NULL) != 200) {
		diag("ack: %s", err_message(r));
		json_object_put(r);
		return false;
	}
	list = member(r, "volumes");
	valid = list && json_object_array_length(list) == 1 &&
		json_object_get_boolean(member(json_object_array_get_idx(list, 0), "valid"));
	json_object_put(r);
	return valid;
}

static bool ack(int n, int64_t gen)
{
	return ack_ex(n, gen, true);
}

/* Node n's desired state's record of V (a new reference), or NULL. */
static json_object *desired_pr(int n, int64_t *desired_rev)
{
	json_object *r = NULL, *v = NULL;

	call(nd[n], "GET", "/v1/nodes/desired", NULL, &r, NULL);
	if (desired_rev)
		*desired_rev = pm_int(r, "desired_revision");
	if (member(member(r, "pr"), V))
		v = json_object_get(member(member(r, "pr"), V));
	json_object_put(r);
	return v;
}

/* The generation of V that node n's desired state brings, once the
 * manager had 50 ms to apply the PR OUT just sent. */
static int64_t desired_gen(int n)
{
	json_object *p;
	int64_t gen;

	wait_ms(50);
	p = desired_pr(n, NULL);
	gen = pm_int(p, "generation");
	json_object_put(p);
	return gen;
}

/* V's record's mod revision (its generation). */
static int64_t pr_revision(void)
{
	struct ps_kv kv = { 0 };
	int64_t rev;

	ps_get(st, PM_PREFIX "pr/" V, &kv);
	rev = kv.mod_revision;
	ps_kv_free(&kv);
	return rev;
}

static void test_exporters_get_the_state(void)
{
	json_object *p;

	for (int n = 0; n < 2; n++) {
		char err[512];

		is_int(call(nd[n], "POST", "/v1/nodes/report",
			    "{\"address\":\"127.0.0.1\",\"pr\":[{\"volume\":\"" V "\",\"tid\":1,"
			    "\"lun\":1}]}", NULL, err), 200, "db%d reports a module for V (%s)",
		       n + 1, err);
	}
	p = desired_pr(1, NULL);
	ok(p != NULL, "db2's desired state carries V's reservation state");
	is_int(pm_int(p, "generation"), 0, "... generation 0: no record yet");
	like(pm_str(p, "state"), "lunlink-pr 1", "... the engine's text form of an empty state");
	json_object_put(p);
	ok(ack(0, 0) && ack(1, 0), "both nodes' acks of generation 0 are granted validity");
}

/* A manager that has just started knows no grant of the one before it:
 * even with every exporter's ack, a PR OUT waits out pr_valid_ms from
 * the start.  The rest of the story runs as if it had started long ago. */
static void test_fresh_manager_waits(void)
{
	struct answer a;
	int64_t gen;
	long t0 = ll_mono_ms();

	m->o.pr_valid_ms = 1000;
	pm_pr_set_start(m, ll_mono_ms());
	pr_out(&a, "iqn.2026-11.test:host9,i,0x000000000009", CDB_REGISTER,
	       PARAM_SARK("0000000000000099"));
	gen = desired_gen(0);
	ok(ack(0, gen) && ack(1, gen), "both nodes ack generation %lld at once", (long long)gen);
	ok(!answered(&a, 300), "a manager started just now does not answer yet");
	ok(answered(&a, 2000) && pm_int(a.reply, "status") == 0 && a.at_ms - t0 >= 1000,
	   "answered GOOD %ld ms after its start: pr_valid_ms (%s)", a.at_ms - t0, a.err);
	forget(&a);
	/* unregistered again: the story goes on from an empty state */
	pr_out(&a, "iqn.2026-11.test:host9,i,0x000000000009", CDB_REGISTER,
	       "0000000000000099" "0000000000000000" "0000000000000000");
	gen = desired_gen(0);
	ack(0, gen);
	ack(1, gen);
	ok(answered(&a, 2000) && pm_int(a.reply, "status") == 0, "and unregistered (%s)", a.err);
	forget(&a);
	m->o.pr_valid_ms = PM_PR_VALID_MS;
}

static int64_t test_register_waits_for_acks(void)
{
	struct answer a;
	json_object *p;
	int64_t gen, before, drev1, drev2;

	desired_pr(1, &before);
	pr_out(&a, NEXUS1, CDB_REGISTER, PARAM_SARK(KEY_A));
	ok(!answered(&a, 300), "a REGISTER from db1 is not answered before the exporters ack");
	p = desired_pr(1, &drev2);
	gen = pm_int(p, "generation");
	ok(gen > 0 && drev2 > before, "db2's desired state moved (%lld > %lld) and brings "
	   "generation %lld", (long long)drev2, (long long)before, (long long)gen);
	like(pm_str(p, "state"), "reg 00000000000000aa 1 0 " NEXUS1, "... with the registration");
	json_object_put(p);
	p = desired_pr(0, &drev1);
	is_int(pm_int(p, "generation"), gen, "db1's desired state brings it too");
	json_object_put(p);
	ok(ack(0, gen), "db1 acks generation %lld", (long long)gen);
	ok(!answered(&a, 200), "... still not answered: db2 has not acked");
	ok(ack_ex(1, gen, false), "db2 asks for validity of it without acking (\"ack\":false): "
	   "granted");
	ok(!answered(&a, 200), "... and the REGISTER still waits: that was no ack");
	ok(ack(1, gen), "db2 acks it");
	ok(answered(&a, 500) && a.status == 200, "... and the REGISTER is answered (%s)", a.err);
	is_int(pm_int(a.reply, "status"), 0, "... GOOD");
	is_int(pm_int(a.reply, "generation"), gen, "... at that generation");
	is_int(pm_int(a.reply, "acked"), 2, "... both nodes acked");
	forget(&a);
	return gen;
}

static void test_refused_at_once(int64_t gen)
{
	struct answer a;
	int64_t rev = pr_revision();

	pr_out(&a, NEXUS2, CDB_RESERVE_WE, PARAM_KEY(KEY_B));
	ok(answered(&a, 500) && a.status == 200, "a RESERVE from an unregistered nexus is "
	   "answered at once (%s)", a.err);
	is_int(pm_int(a.reply, "status"), 0x18, "... RESERVATION CONFLICT");
	is_int(pm_int(a.reply, "generation"), gen, "... the generation unchanged");
	is_int(pr_revision(), rev, "... and V's record was not written");
	forget(&a);
}

static int64_t test_validity_runs_out(int64_t gen)
{
	struct answer a;
	long t0, granted;
	int64_t g2;

	m->o.pr_valid_ms = 1000;
	ok(ack(1, gen), "db2 renews generation %lld: valid for 1000 ms from now", (long long)gen);
	granted = ll_mono_ms();
	t0 = ll_mono_ms();
	pr_out(&a, NEXUS1, CDB_RESERVE_WE, PARAM_KEY(KEY_A));
	g2 = desired_gen(0);
	ok(g2 > gen && ack(0, g2), "db1 acks the reservation's generation %lld", (long long)g2);
	ok(!answered(&a, 500), "db2 never acks: not answered while its old state may be valid");
	ok(answered(&a, 2000) && a.status == 200, "answered once its validity ran out (%s)", a.err);
	ok(a.at_ms - granted >= 1000 && a.at_ms - t0 < 1600, "... %ld ms after db2's last grant "
	   "(its validity is 1000 ms)", a.at_ms - granted);
	is_int(pm_int(a.reply, "status"), 0, "... GOOD");
	is_str(json_object_get_string(json_object_array_get_idx(member(a.reply, "expired"), 0)),
	       ids[1], "... naming db2 as the node whose validity ran out");
	forget(&a);
	ok(!ack(1, gen), "db2's renewal of the old generation is refused validity");
	ok(ack(1, g2), "its ack of the new one is granted");
	m->o.pr_valid_ms = PM_PR_VALID_MS;
	return g2;
}

/* Between the manager's read and its write, another writer changes the
 * record (here: the same value put again, a new revision). */
static int raced;
static int64_t race_rev;

static void race(struct pm_manager *mm, const char *volume)
{
	char key[PS_KEY_MAX + 1];
	struct ps_kv kv = { 0 };

	if (raced++)
		return;
	pm_key(key, "pr/%s", volume);
	if (!ps_get(mm->st, key, &kv))
		ps_put(mm->st, key, kv.value, kv.value_len, 0, &race_rev);
	ps_kv_free(&kv);
}

static void test_race_retried(void)
{
	struct answer a;
	json_object *p;
	int64_t gen;

	pm_pr_race_hook = race;
	pr_out(&a, NEXUS2, CDB_REGISTER, PARAM_SARK(KEY_B));
	wait_ms(100);
	pm_pr_race_hook = NULL;
	p = desired_pr(0, NULL);
	gen = pm_int(p, "generation");
	ok(raced >= 2 && race_rev > 0 && gen > race_rev, "the record changed under the first try "
	   "(revision %lld); the second made generation %lld", (long long)race_rev,
	   (long long)gen);
	like(pm_str(p, "state"), "reg 00000000000000bb 1 0 " NEXUS2, "... with the new key");
	like(pm_str(p, "state"), "reg 00000000000000aa 1 0 " NEXUS1, "... and the one before");
	json_object_put(p);
	ack(0, gen);
	ack(1, gen);
	ok(answered(&a, 1000) && pm_int(a.reply, "status") == 0 &&
	   pm_int(a.reply, "generation") == gen, "answered GOOD at that generation (%s)", a.err);
	forget(&a);
}

static void test_show_and_events(int64_t since)
{
	json_object *r = NULL, *regs, *nodes, *res;
	char path[96];

	is_int(call(admin, "GET", "/v1/volumes/" V "/pr", NULL, &r, NULL), 200,
	       "GET /v1/volumes/V/pr answers");
	regs = member(r, "registrations");
	is_int(regs ? json_object_array_length(regs) : 0, 2, "... two registrations");
	is_str(jstr(json_object_array_get_idx(regs, 0), "key"), "0x00000000000000aa",
	       "... the first key");
	is_str(jstr(json_object_array_get_idx(regs, 0), "nexus"), NEXUS1,
	       "... the registrant's TransportID");
	res = member(r, "reservation");
	is_str(jstr(res, "type_name"), "WRITE EXCLUSIVE", "... the reservation's type");
	is_str(jstr(member(res, "holder"), "nexus"), NEXUS1, "... and holder");
	nodes = member(r, "nodes");
	is_int(nodes ? json_object_array_length(nodes) : 0, 2, "... the two exporting nodes");
	ok(nodes && json_object_get_boolean(member(json_object_array_get_idx(nodes, 0), "current")) &&
	   json_object_get_boolean(member(json_object_array_get_idx(nodes, 1), "current")),
	   "... both have the current generation");
	is_str(jstr(member(r, "change"), "action"), "REGISTER", "... the last change named");
	json_object_put(r);
	is_int(call(admin, "GET", "/v1/volumes/nosuch/pr", NULL, &r, NULL), 404,
	       "a volume that does not exist: 404");
	json_object_put(r);
	snprintf(path, sizeof(path), "/v1/events?since=%lld", (long long)since);
	r = NULL;
	{
		char buf[65536] = "", req[256];
		int fd;

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 path);
		fd = raw_open(req);
		ok(fd >= 0 && raw_until(fd, buf, sizeof(buf), "\"action\":\"RESERVE\"", 2000),
		   "the event log shows the changes of pr/V, with the service action");
		like(buf, "/lunlink/pr/" V, "... under the volume's key");
		if (fd >= 0)
			close(fd);
	}
}

/* A node whose module went from its agent (its report no longer lists
 * V) may go on serving the state until its last grant runs out: a PR
 * OUT waits for that; once it ran out, the node is no longer waited for. */
static void test_gone_node_waited_for(void)
{
	struct answer a;
	json_object *r = NULL;
	long granted;
	int64_t gen;

	m->o.pr_valid_ms = 1000;
	gen = desired_gen(1);
	granted = ll_mono_ms();	/* before the grant: the manager's is later */
	ok(ack(1, gen), "db2 renews: valid for 1000 ms");
	is_int(call(nd[1], "POST", "/v1/nodes/report", "{\"address\":\"127.0.0.1\",\"pr\":[]}",
		    &r, NULL), 200, "db2's report no longer lists V (its module went)");
	json_object_put(r);
	pr_out(&a, "iqn.2026-11.test:host3,i,0x000000000003", CDB_REGISTER,
	       PARAM_SARK("00000000000000cc"));
	gen = desired_gen(0);
	ok(ack(0, gen), "db1 acks the new generation %lld", (long long)gen);
	ok(!answered(&a, 300), "not answered while db2's last grant runs");
	ok(answered(&a, 2000) && pm_int(a.reply, "status") == 0, "answered once it ran out (%s)",
	   a.err);
	ok(a.at_ms - granted >= 1000, "... %ld ms after db2's grant", a.at_ms - granted);
	forget(&a);
	pr_out(&a, "iqn.2026-11.test:host4,i,0x000000000004", CDB_REGISTER,
	       PARAM_SARK("00000000000000dd"));
	gen = desired_gen(0);
	ack(0, gen);
	ok(answered(&a, 300) && pm_int(a.reply, "acked") == 1, "the next PR OUT waits for db1 "
	   "alone: db2 is no longer an exporter (%s)", a.err);
	forget(&a);
	m->o.pr_valid_ms = PM_PR_VALID_MS;
}

/*
 * A PR OUT sent again with the same op id (its answer lost with a manager
 * that died, the agent trying the next) is answered as applied, and not
 * applied twice: a second REGISTER of the same nexus without its key
 * would be a RESERVATION CONFLICT, and is, under another op id.
 */
static void test_op_once(void)
{
	const char *nexus = "iqn.2026-11.test:host5,i,0x000000000005";
	struct answer a;
	json_object *ops = NULL;
	char want[PM_ID_LEN + 32];
	int64_t gen, rev;
	bool found = false;

	pr_out_op(&a, nexus, CDB_REGISTER, PARAM_SARK("00000000000000ee"), "0123456789abcdef");
	gen = desired_gen(0);
	ack(0, gen);
	ok(answered(&a, 1000) && pm_int(a.reply, "status") == 0, "a REGISTER with op id "
	   "0123456789abcdef: GOOD at generation %lld (%s)", (long long)gen, a.err);
	forget(&a);
	rev = pr_revision();
	pr_out_op(&a, nexus, CDB_REGISTER, PARAM_SARK("00000000000000ee"), "0123456789abcdef");
	ok(answered(&a, 1000) && pm_int(a.reply, "status") == 0 &&
	   pm_int(a.reply, "generation") == gen, "the same op sent again: GOOD, at the same "
	   "generation (%s)", a.err);
	is_int(pr_revision(), rev, "... and not applied twice: the record unchanged");
	forget(&a);
	pr_out_op(&a, nexus, CDB_REGISTER, PARAM_SARK("00000000000000ee"), "fedcba9876543210");
	ok(answered(&a, 1000) && pm_int(a.reply, "status") == 0x18, "the same REGISTER under "
	   "another op id is applied anew: RESERVATION CONFLICT, the nexus has a key now (%s)",
	   a.err);
	is_int(pr_revision(), rev, "... the record unchanged");
	forget(&a);
	{
		struct ps_kv kv = { 0 };
		json_object *rec;

		ps_get(st, PM_PREFIX "pr/" V, &kv);
		rec = kv.value ? json_tokener_parse(kv.value) : NULL;
		ps_kv_free(&kv);
		snprintf(want, sizeof(want), "%s:0123456789abcdef", ids[0]);
		ops = member(rec, "ops");
		for (size_t i = 0; ops && i < json_object_array_length(ops); i++)
			found |= !strcmp(json_object_get_string(json_object_array_get_idx(ops, i)), want);
		ok(found, "the record keeps NODEID:OP of the change (%s)", want);
		json_object_put(rec);
	}
}

static void test_bad_requests(void)
{
	static const struct {
		const char *path, *body, *field;
	} cases[] = {
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"" NEXUS1 "\",\"rtpi\":1,\"cdb\":\"5f0\"}", "cdb" },
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"" NEXUS1 "\",\"rtpi\":1,\"cdb\":\"5F00\"}", "cdb" },
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"" NEXUS1 "\",\"rtpi\":1,\"cdb\":\"1200\"}", "cdb" },
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"host1\",\"rtpi\":1,\"cdb\":\"5f00\"}", "nexus" },
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"a b,i,0x000000000001\",\"rtpi\":1,"
		  "\"cdb\":\"5f00\"}", "nexus" },
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"" NEXUS1 "\",\"rtpi\":70000,\"cdb\":\"5f00\"}",
		  "rtpi" },
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"" NEXUS1 "\",\"rtpi\":1,\"cdb\":\"5f00\","
		  "\"param\":\"zz\"}", "param" },
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"" NEXUS1 "\",\"rtpi\":1,\"cdb\":\"5f00\","
		  "\"extra\":1}", "extra" },
		{ "/v1/volumes/" V "/pr", "{\"rtpi\":1,\"cdb\":\"5f00\"}", "nexus" },
		{ "/v1/volumes/" V "/pr", "{\"nexus\":\"" NEXUS1 "\",\"rtpi\":1,\"cdb\":\"5f00\","
		  "\"op\":\"0123456789abcdef0123456789abcdef0\"}", "op" },
		{ "/v1/volumes/1234/pr", "{\"nexus\":\"" NEXUS1 "\",\"rtpi\":1,\"cdb\":\"5f00\"}", "path" },
		{ "/v1/nodes/pr-ack", "{\"volume\":\"xyz\",\"generation\":1}", "volume" },
		{ "/v1/nodes/pr-ack", "{\"volume\":\"" V "\",\"generation\":-1}", "generation" },
		{ "/v1/nodes/pr-ack", "{\"volumes\":{}}", "volumes" },
	};
	int64_t rev = pr_revision();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *r = NULL;
		long status = call(nd[0], "POST", cases[i].path, cases[i].body, &r, NULL);

		ok(status == 400 && !strcmp(err_field(r), cases[i].field), "%s %s: 400 naming '%s' "
		   "(%ld, '%s': %s)", cases[i].path, cases[i].body, cases[i].field, status,
		   err_field(r), err_message(r));
		json_object_put(r);
	}
	{
		json_object *r = NULL;

		is_int(call(admin, "POST", "/v1/volumes/" V "/pr", "{}", &r, NULL), 403,
		       "a PR OUT from an admin, not a node's agent: 403");
		json_object_put(r);
		is_int(call(nd[0], "POST", "/v1/volumes", "{\"name\":\"x\"}", &r, NULL), 403,
		       "a node still may not make volumes");
		json_object_put(r);
	}
	is_int(pr_revision(), rev, "none of them changed V's record");
}

int main(void)
{
	const char *names[2] = { "db1", "db2" };
	int64_t gen, since;

	if (harness_begin("policy-pr", 2))
		return done_testing();
	for (int n = 0; n < 2; n++) {
		nd[n] = join_node(names[n]);
		json_object_put(pm_node_by_name(m, names[n], ids[n], NULL));
	}
	db1_async = node_aclient("db1");
	ok(nd[0] && nd[1] && db1_async, "the nodes' clients");
	if (nd[0] && nd[1] && db1_async) {
		since = revision_now();
		test_exporters_get_the_state();
		test_fresh_manager_waits();
		pm_pr_set_start(m, ll_mono_ms() - 3600 * 1000);
		gen = test_register_waits_for_acks();
		test_refused_at_once(gen);
		test_validity_runs_out(gen);
		test_race_retried();
		test_show_and_events(since);
		test_gone_node_waited_for();
		test_op_once();
		test_bad_requests();
	}
	pa_aclient_free(db1_async);
	for (int n = 0; n < 2; n++)
		pa_client_free(nd[n]);
	return harness_end();
}
