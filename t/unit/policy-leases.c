// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-leases.c: doubled volumes' write leases at the manager
 * (policy/lease.c), in one process as policy-volumes.c runs it
 * (pm_harness.h), with lease_ms at its least (1 s) so that expiry is
 * quick; two nodes played by the test.
 *
 * The story: a doubled volume served by db1 with a leg on db2; db1's
 * renewal grants the lease with the revision of the granting transaction
 * as its epoch (an event), its renewals before the deadline keep it; db2
 * (the leg), a single volume, an unknown one and bad bodies are refused,
 * by name; the volume shows its owner, epoch and time left, and what its
 * node reports its LUN holds; unrenewed,
 * the lease expires (an event), the failover seam names the volume past
 * the grace, and db1's next renewal is a new grant with a higher epoch; a
 * restarted manager keeps the lease and its epoch for a full lease_ms;
 * another node serving the primary (the record changed by hand, so that
 * the lease's rule is seen apart from the failover's) has the lease only
 * past the old one's deadline and the grace; a planned switchover moves
 * the primary once the old node stopped serving; a silent primary's
 * volume fails over to a leg that is current, and not to one that is
 * behind; the lease's record goes with the volume.
 */
#include "pm_harness.h"

#include <inttypes.h>

struct node {
	const char *name, *addr;
	struct pa_client *c;
	json_object *vols;
} nodes[2] = { { .name = "db1", .addr = "127.0.0.1" }, { .name = "db2", .addr = "127.0.0.2" } };

static bool silent[2];	/* a node that reports nothing (killed) */

static void report_all(void)
{
	for (size_t i = 0; i < 2; i++)
		if (!silent[i])
			node_report(nodes[i].c, nodes[i].name, nodes[i].addr, nodes[i].vols, NULL);
	wait_ms(30);	/* the manager's watch turns */
}

/* Node n renews body's volumes: the status, the reply in *reply. */
static long renew(size_t n, const char *body, json_object **reply)
{
	return call(nodes[n].c, "POST", "/v1/nodes/leases", body, reply, NULL);
}

static json_object *lease_of(json_object *reply, const char *vol)
{
	return member(member(reply, "leases"), vol);
}

static const char *refusal(json_object *reply, const char *vol)
{
	json_object *r = member(member(reply, "refused"), vol);

	return r ? json_object_get_string(r) : "";
}

/* The volume's "lease", as GET /v1/volumes/NAME shows it (a new reference). */
static json_object *shown(const char *vol)
{
	json_object *r = volume_shown(vol), *l = json_object_get(member(r, "lease"));

	json_object_put(r);
	return l;
}

/* The events of key after revision since and before until: the last
 * one's value (a new reference), its revision in *rev (if rev). */
static json_object *last_event(int64_t since, int64_t until, const char *key, int64_t *rev)
{
	char path[96];
	json_object *r, *evs, *last = NULL;

	snprintf(path, sizeof(path), "/v1/events?since=%" PRId64, since);
	r = get_json(admin, path);
	evs = member(r, "events");
	for (size_t i = 0; evs && i < json_object_array_length(evs); i++) {
		json_object *ev = json_object_array_get_idx(evs, i);

		if (!strcmp(jstr(ev, "key"), key) && pm_int(ev, "revision") < until) {
			last = member(ev, "value");
			if (rev)
				*rev = pm_int(ev, "revision");
		}
	}
	last = json_object_get(last);
	json_object_put(r);
	return last;
}

/* Node n's desired LUN's bsopts for vol ("" if none). */
static const char *desired_bsopts(size_t n, const char *vol)
{
	static char out[1100];
	json_object *r = NULL;

	call(nodes[n].c, "GET", "/v1/nodes/desired", NULL, &r, NULL);
	snprintf(out, sizeof(out), "%s", jstr(member(member(member(r, "volumes"), vol), "lun"),
					      "bsopts"));
	json_object_put(r);
	return out;
}

static void setup(void)
{
	for (size_t i = 0; i < 2; i++) {
		nodes[i].c = join_node(nodes[i].name);
		nodes[i].vols = json_object_new_object();
	}
	report_all();
	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/a\",\"size\":\"4G\"}",
		    NULL, NULL), 201, "db1 has an area");
	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db2\",\"path\":\"/srv/b\",\"size\":\"4G\"}",
		    NULL, NULL), 201, "db2 has an area");
	report_all();
	is_int(call(admin, "POST", "/v1/volumes",
		    "{\"name\":\"m\",\"way\":\"doubled\",\"size\":\"1G\",\"on\":[\"db1\",\"db2\"]}",
		    NULL, NULL), 201, "a doubled volume m served by db1, its leg on db2");
	is_int(call(admin, "POST", "/v1/volumes",
		    "{\"name\":\"s\",\"way\":\"single\",\"size\":\"1G\",\"on\":[\"db1\"]}", NULL, NULL),
	       201, "a single volume s on db1");
	like(desired_bsopts(0, "m"), "mirror=iscsi://127.0.0.2:3260/", "db1 serves m with mirror=");
	like(desired_bsopts(0, "m"), "/1;lease=on;pr=cluster",
	     "... and lease=on after it, then pr=cluster: its reservations are the volume's");
	is_str(desired_bsopts(1, "m"), "raw=on", "db2 exports its leg raw, with no lease and its "
	       "module's own reservations");
	is_str(desired_bsopts(0, "s"), "pr=cluster", "the single volume has no lease=on, and its "
	       "reservations are the cluster's");
}

static int64_t epoch1;

static void test_grant_and_renew(void)
{
	json_object *r = NULL, *l, *ev;
	int64_t before = revision_now(), rev = 0, epoch;

	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews m's lease");
	l = lease_of(r, "m");
	epoch = pm_int(l, "epoch");
	ok(epoch > before, "... granted with an epoch past the store's revision before (%" PRId64
	   " > %" PRId64 ")", epoch, before);
	ok(json_object_get_boolean(member(l, "granted")), "... a new grant");
	is_int(pm_int(l, "ttl_ms"), 1000, "... for lease_ms");
	is_int(pm_int(r, "ttl_ms"), 1000, "the answer says lease_ms too");
	json_object_put(r);
	wait_ms(20);
	ev = last_event(before, INT64_MAX, "/lunlink/leases/m", &rev);
	is_int(rev, epoch, "the grant is an event at the revision that is the epoch");
	is_str(jstr(ev, "state"), "held", "... its record: held");
	is_str(jstr(ev, "node"), "db1", "... by db1");
	is_int(pm_int(ev, "epoch"), epoch, "... with that epoch");
	json_object_put(ev);
	epoch1 = epoch;

	wait_ms(500);
	before = revision_now();
	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews again before the deadline");
	is_int(pm_int(lease_of(r, "m"), "epoch"), epoch, "... the same epoch");
	ok(!json_object_get_boolean(member(lease_of(r, "m"), "granted")), "... not a new grant");
	is_int(revision_now(), before, "... and nothing written: a renewal makes no revision");
	json_object_put(r);

	/* renewed at 500 ms: alive at 1200 ms, past the first deadline */
	wait_ms(700);
	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "a renewal 700 ms later");
	is_int(pm_int(lease_of(r, "m"), "epoch"), epoch, "... the lease was moved on: the same epoch");
	json_object_put(r);

	l = shown("m");
	is_str(jstr(l, "node"), "db1", "the volume shows its owner");
	is_int(pm_int(l, "epoch"), epoch, "... the epoch");
	is_str(jstr(l, "state"), "held", "... held");
	ok(pm_int(l, "left_ms") > 0 && pm_int(l, "left_ms") <= 1000, "... with %" PRId64 " ms left",
	   pm_int(l, "left_ms"));
	json_object_put(l);
	l = shown("s");
	ok(!l, "a single volume has no lease");
	json_object_put(l);
}

static void test_refusals(void)
{
	json_object *r = NULL;

	is_int(renew(1, "{\"volumes\":[\"m\"]}", &r), 200, "db2, the leg's node, asks for m's lease");
	ok(!lease_of(r, "m"), "... it gets none");
	like(refusal(r, "m"), "node db2 does not serve volume m's primary (node db1 does)",
	     "... refused, naming the primary's node");
	json_object_put(r);

	is_int(renew(0, "{\"volumes\":[\"m\",\"s\",\"nope\"]}", &r), 200,
	       "db1 renews m, a single volume and an unknown one in one call");
	is_int(pm_int(lease_of(r, "m"), "epoch"), epoch1, "... m is renewed");
	like(refusal(r, "s"), "volume s is single: only a doubled volume's primary holds a lease",
	     "... s refused: single");
	like(refusal(r, "nope"), "no volume named 'nope'", "... the unknown one refused by name");
	json_object_put(r);

	ok(renew(0, "{\"volumes\":\"m\"}", &r) == 400 && !strcmp(err_field(r), "volumes"),
	   "volumes not a list: 400 naming it");
	json_object_put(r);
	ok(renew(0, "{\"volumes\":[]}", &r) == 400 && !strcmp(err_field(r), "volumes"),
	   "an empty list: 400");
	json_object_put(r);
	ok(renew(0, "{\"volumes\":[\"m\"],\"epoch\":9}", &r) == 400 && !strcmp(err_field(r), "epoch"),
	   "a field of its own (an epoch asked for): 400 naming it");
	json_object_put(r);
	ok(renew(0, "{\"volumes\":[\"../m\"]}", &r) == 400, "a name that is no name: 400");
	json_object_put(r);
	is_int(call(admin, "POST", "/v1/nodes/leases", "{\"volumes\":[\"m\"]}", &r, NULL), 403,
	       "the admin holds no lease: only nodes renew");
	json_object_put(r);
}

/* The holder's generations: recorded when new, answered back. */
static void test_generation(void)
{
	json_object *r = NULL, *ev;
	int64_t before = revision_now(), rev = 0;
	char key[PS_KEY_MAX + 1];
	struct ps_kv kv = { 0 }, kv2 = { 0 };

	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "a renewal without a generation");
	ok(!member(lease_of(r, "m"), "generation"), "... none answered: none recorded yet");
	json_object_put(r);
	is_int(renew(0, "{\"volumes\":[\"m\"],\"generations\":{\"m\":\"53109b3905b28803\"}}",
		     &r), 200, "db1 reports m's generation");
	is_str(jstr(lease_of(r, "m"), "generation"), "53109b3905b28803", "... answered back");
	is_int(pm_int(lease_of(r, "m"), "epoch"), epoch1, "... the same epoch");
	json_object_put(r);
	wait_ms(20);
	ev = last_event(before, INT64_MAX, "/lunlink/leases/m", &rev);
	is_str(jstr(ev, "generation"), "53109b3905b28803", "... recorded in leases/m (an event)");
	is_str(jstr(ev, "state"), "held", "... still held");
	json_object_put(ev);
	pm_key(key, "leases/m");
	ps_get(st, key, &kv);
	is_int(renew(0, "{\"volumes\":[\"m\"],\"generations\":{\"m\":\"53109b3905b28803\"}}",
		     &r), 200, "the same generation again");
	ps_kv_free(&kv2);
	ps_get(st, key, &kv2);
	is_int(kv2.mod_revision, kv.mod_revision, "... nothing written");
	ps_kv_free(&kv);
	ps_kv_free(&kv2);
	json_object_put(r);
	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "a renewal without one");
	is_str(jstr(lease_of(r, "m"), "generation"), "53109b3905b28803", "... answers the recorded one");
	json_object_put(r);
	is_int(renew(1, "{\"volumes\":[\"m\"],\"generations\":{\"m\":\"0000000000000001\"}}",
		     &r), 200, "db2, not the primary's node, reports one");
	ok(!lease_of(r, "m"), "... refused");
	json_object_put(r);
	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews");
	is_str(jstr(lease_of(r, "m"), "generation"), "53109b3905b28803",
	       "... the generation db2 reported was not recorded");
	json_object_put(r);
	ok(renew(0, "{\"volumes\":[\"m\"],\"generations\":{\"m\":\"53109B3905B28803\"}}", &r) ==
	   400 && !strcmp(err_field(r), "generations"), "a generation in upper case: 400 naming it");
	like(err_message(r), "16 lower-case hex digits", "... saying what it must be");
	json_object_put(r);
	ok(renew(0, "{\"volumes\":[\"m\"],\"generations\":[\"53109b3905b28803\"]}", &r) ==
	   400 && !strcmp(err_field(r), "generations"), "generations not an object: 400");
	json_object_put(r);
}

/* Leg i of volume vol as GET /v1/volumes/NAME shows it (a new reference). */
static json_object *leg_shown(const char *vol, size_t i)
{
	json_object *r = volume_shown(vol), *l;

	l = json_object_get(json_object_array_get_idx(member(r, "legs"), i));
	json_object_put(r);
	return l;
}

/* db2's leg of m is promotable only with the primary's recorded generation. */
static void test_promotable(void)
{
	json_object *l, *vol;
	char id[PM_ID_LEN + 1], key[PS_KEY_MAX + 1];

	l = leg_shown("m", 0);
	is_str(jstr(l, "node"), "db2", "m's leg is on db2");
	ok(!json_object_get_boolean(member(l, "promotable")), "... not promotable before it "
	   "reported its generation");
	like(jstr(l, "why_not"), "has not reported", "... saying so");
	json_object_put(l);
	json_object_object_add(nodes[1].vols, "m", json_tokener_parse(
		"{\"state\":\"ready\",\"leg_generation\":\"1a50d3f4fb62e39d\"}"));
	report_all();
	l = leg_shown("m", 0);
	is_str(jstr(l, "generation"), "1a50d3f4fb62e39d", "db2 reports its leg's generation");
	ok(!json_object_get_boolean(member(l, "promotable")), "... another than the primary's: "
	   "not promotable");
	like(jstr(l, "why_not"), "is not the primary's 53109b3905b28803: it lacks writes",
	     "... it lacks acknowledged writes");
	json_object_put(l);
	json_object_object_add(nodes[1].vols, "m", json_tokener_parse(
		"{\"state\":\"ready\",\"leg_generation\":\"53109b3905b28803\"}"));
	report_all();
	l = leg_shown("m", 0);
	ok(json_object_get_boolean(member(l, "promotable")), "the primary's generation: promotable");
	ok(!member(l, "why_not"), "... with no why_not");
	json_object_put(l);
	pm_key(key, "volumes/m");
	vol = pm_get(m, key, NULL);
	json_object_put(pm_volume_legs_json(m, vol, id));
	json_object_put(vol);
	is_str(id, jstr(l = leg_shown("m", 0), "node_id"), "the promotion would take db2's leg");
	json_object_put(l);
	ok(renew(0, "{\"volumes\":[\"m\"],\"generations\":{\"m\":\"2a5c7405f32f2283\"}}",
		 &l) == 200, "the primary starts a new generation (a leg dropped) and reports it");
	json_object_put(l);
	l = leg_shown("m", 0);
	ok(!json_object_get_boolean(member(l, "promotable")), "... db2's leg is no longer "
	   "promotable");
	json_object_put(l);
	json_object_object_del(nodes[1].vols, "m");
}

/* What db1's tgtd holds, as its agent reports it, shows with the lease. */
static void test_lun_view(void)
{
	json_object *r = NULL, *l;
	char body[160];

	snprintf(body, sizeof(body), "{\"state\":\"ready\",\"lease\":{\"state\":\"held\","
		 "\"epoch\":%" PRId64 "}}", epoch1);
	json_object_object_add(nodes[0].vols, "m", json_tokener_parse(body));
	report_all();
	l = shown("m");
	is_str(jstr(member(l, "lun"), "state"), "held", "db1 reports its LUN holds the lease: shown");
	is_int(pm_int(member(l, "lun"), "epoch"), epoch1, "... with the epoch it holds");
	json_object_put(l);
	ok(call(nodes[0].c, "POST", "/v1/nodes/report",
		"{\"volumes\":{\"m\":{\"state\":\"ready\",\"lease\":{\"state\":\"lost\",\"epoch\":1}}}}",
		&r, NULL) == 400, "a lease in an unknown state: 400");
	is_str(err_field(r), "volumes.m.lease.state", "... naming it by its place");
	json_object_put(r);
	ok(call(nodes[0].c, "POST", "/v1/nodes/report",
		"{\"volumes\":{\"m\":{\"state\":\"ready\",\"lease\":{\"state\":\"held\","
		"\"epoch\":281474976710656}}}}", &r, NULL) == 400, "an epoch past 2^48-1: 400");
	is_str(err_field(r), "volumes.m.lease.epoch", "... naming it");
	json_object_put(r);
	json_object_object_del(nodes[0].vols, "m");
}

static void test_expiry(void)
{
	json_object *r = NULL, *l, *ev;
	char names[4][PJR_NAME_MAX + 1];
	int64_t before = revision_now(), rev = 0, epoch;

	is_int(pm_leases_expired(m, names, 4), 0, "a held lease is not among the expired");
	wait_ms(1300);	/* past the deadline, and a tick */
	l = shown("m");
	is_str(jstr(l, "state"), "expired", "unrenewed for lease_ms, the lease is expired");
	is_int(pm_int(l, "left_ms"), 0, "... nothing left");
	json_object_put(l);
	ev = last_event(before, INT64_MAX, "/lunlink/leases/m", &rev);
	for (int i = 0; i < 10 && strcmp(jstr(ev, "state"), "expired"); i++) {
		json_object_put(ev);	/* the tick, once a second, records it */
		wait_ms(100);
		ev = last_event(before, INT64_MAX, "/lunlink/leases/m", &rev);
	}
	is_str(jstr(ev, "state"), "expired", "the expiry is an event");
	is_int(pm_int(ev, "epoch"), epoch1, "... of that epoch");
	json_object_put(ev);
	wait_ms(PM_LEASE_GRACE_MS);
	ok(pm_leases_expired(m, names, 4) == 1 && !strcmp(names[0], "m"),
	   "past the grace, the failover seam names m");

	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews after the expiry");
	epoch = pm_int(lease_of(r, "m"), "epoch");
	ok(epoch > epoch1, "... a new epoch, higher (%" PRId64 " > %" PRId64 ")", epoch, epoch1);
	ok(json_object_get_boolean(member(lease_of(r, "m"), "granted")), "... a new grant");
	json_object_put(r);
	is_int(pm_leases_expired(m, names, 4), 0, "held again: no longer expired");
	epoch1 = epoch;
}

/* A renewal after the deadline, whether the tick saw the expiry first or
 * not: the expiry of the old epoch is recorded, then the new grant. */
static void test_late_renewal(void)
{
	json_object *r = NULL, *ev;
	int64_t before = revision_now(), rev = 0, epoch;

	wait_ms(1150);
	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews 1150 ms after its last");
	epoch = pm_int(lease_of(r, "m"), "epoch");
	ok(epoch > epoch1, "... too late: a new epoch");
	json_object_put(r);
	ev = last_event(before, INT64_MAX, "/lunlink/leases/m", &rev);
	is_str(jstr(ev, "state"), "held", "... its record held");
	is_int(rev, epoch, "... at the revision of its epoch");
	json_object_put(ev);
	ev = last_event(before, epoch, "/lunlink/leases/m", NULL);
	is_str(jstr(ev, "state"), "expired", "the old epoch's expiry was recorded before it");
	is_int(pm_int(ev, "epoch"), epoch1, "... naming the old epoch");
	json_object_put(ev);
	epoch1 = epoch;
}

static void test_restart(void)
{
	json_object *r = NULL, *l;

	is_int(restart_manager(2), 0, "the manager restarts on its store");
	for (size_t i = 0; i < 2; i++) {
		pa_client_free(nodes[i].c);
		nodes[i].c = node_client(nodes[i].name);
	}
	l = shown("m");
	is_str(jstr(l, "state"), "held", "the lease is held after the restart");
	is_int(pm_int(l, "epoch"), epoch1, "... with its epoch");
	json_object_put(l);
	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews with the restarted manager");
	if (!lease_of(r, "m"))
		diag("refused: %s", refusal(r, "m"));
	is_int(pm_int(lease_of(r, "m"), "epoch"), epoch1, "... the same epoch: a full lease was given");
	json_object_put(r);
}

/* Point volume m's serving node at node n in its record by hand: the
 * lease's rule alone, without the switchover's or the failover's steps
 * (test_switchover and test_failover take those). */
static void serve_from(size_t n)
{
	char key[PS_KEY_MAX + 1], id[PM_ID_LEN + 1];
	json_object *vol, *serving, *node;

	pm_key(key, "volumes/m");
	vol = pm_get(m, key, NULL);
	node = pm_node_by_name(m, nodes[n].name, id, NULL);
	json_object_object_get_ex(vol, "serving", &serving);
	json_object_object_add(serving, "node", json_object_new_string(nodes[n].name));
	json_object_object_add(serving, "node_id", json_object_new_string(id));
	if (ps_put(st, key, pm_text(vol), strlen(pm_text(vol)), 0, NULL))
		diag("put: %s", ps_error(st));
	json_object_put(node);
	json_object_put(vol);
}

/* Another node serves the primary: it gets the lease only once the old
 * holder's ran out and the grace passed. */
static void test_other_node(void)
{
	json_object *r = NULL;
	int64_t epoch;

	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews");
	json_object_put(r);
	serve_from(1);
	is_int(renew(1, "{\"volumes\":[\"m\"]}", &r), 200, "db2 serves m's primary now and renews");
	ok(!lease_of(r, "m"), "... it gets no lease while db1's holds");
	like(refusal(r, "m"), "the lease of volume m is node db1's (epoch ", "... saying whose");
	json_object_put(r);
	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews");
	like(refusal(r, "m"), "node db1 does not serve volume m's primary (node db2 does)",
	     "... refused: it no longer serves the primary");
	json_object_put(r);
	wait_ms(1300);
	is_int(renew(1, "{\"volumes\":[\"m\"]}", &r), 200, "db2, once db1's lease ran out");
	like(refusal(r, "m"), "the lease of volume m is node db1's", "... still refused within the grace");
	json_object_put(r);
	wait_ms(PM_LEASE_GRACE_MS);
	is_int(renew(1, "{\"volumes\":[\"m\"]}", &r), 200, "db2, past the grace");
	epoch = pm_int(lease_of(r, "m"), "epoch");
	ok(epoch > epoch1, "... gets the lease, a higher epoch (%" PRId64 " > %" PRId64 ")", epoch,
	   epoch1);
	json_object_put(r);
	r = shown("m");
	is_str(jstr(r, "node"), "db2", "the volume shows db2 holding it");
	json_object_put(r);
	serve_from(0);
	epoch1 = epoch;
}

/* node n's desired state of m (a new reference) */
static json_object *desired_of(size_t n)
{
	char key[PS_KEY_MAX + 1], id[PM_ID_LEN + 1];
	json_object *node = pm_node_by_name(m, nodes[n].name, id, NULL), *d;

	json_object_put(node);
	pm_key(key, "desired/%s/m", id);
	d = pm_get(m, key, NULL);
	return d;
}

/* A planned switchover to db2: one transaction moves the primary. */
static void test_switchover(void)
{
	json_object *r = NULL, *d, *l, *v, *p;
	char want[64], key[PS_KEY_MAX + 1];

	/* ready, as its nodes' reports would have made it (this test's
	 * nodes report no volume states) */
	pm_key(key, "volumes/m");
	v = pm_get(m, key, NULL);
	json_object_object_add(v, "state", json_object_new_string("ready"));
	ps_put(st, key, pm_text(v), strlen(pm_text(v)), 0, NULL);
	json_object_put(v);

	json_object_object_add(nodes[1].vols, "m", json_tokener_parse(
		"{\"state\":\"ready\",\"leg_generation\":\"1a50d3f4fb62e39d\"}"));
	report_all();
	ok(call(admin, "POST", "/v1/volumes/m/switchover", "{\"to\":\"db2\"}", &r, NULL) == 409,
	   "a switchover to a leg that is behind: refused");
	like(err_message(r), "not promotable: its generation 1a50d3f4fb62e39d is not the primary's",
	     "... saying why");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/volumes/m/switchover", "{\"to\":\"db1\"}", &r, NULL) == 409,
	   "to the node that serves it: refused");
	json_object_put(r);
	json_object_object_add(nodes[1].vols, "m", json_tokener_parse(
		"{\"state\":\"ready\",\"leg_generation\":\"2a5c7405f32f2283\"}"));
	report_all();
	is_int(call(admin, "POST", "/v1/volumes/m/switchover", "{\"to\":\"db2\"}", &r, NULL), 202,
	       "a switchover to db2, whose leg has the primary's generation");
	snprintf(want, sizeof(want), "{\"state\":\"ready\",\"desired_revision\":%" PRId64 "}",
		 pm_int(r, "revision"));
	json_object_put(r);
	d = desired_of(0);
	ok(d && !member(d, "lun"), "first db1 stops serving m (its image stays)");
	json_object_put(d);
	v = volume_shown("m");
	is_str(jstr(member(v, "serving"), "node"), "db1", "... db2 is not promoted before db1 did");
	json_object_put(v);
	json_object_object_add(nodes[0].vols, "m", json_tokener_parse(want));
	for (int i = 0; i < 30; i++) {	/* db1 reports it done; the tick promotes */
		report_all();
		wait_ms(100);
		v = volume_shown("m");
		if (!strcmp(jstr(member(v, "serving"), "node"), "db2"))
			break;
		json_object_put(v);
	}
	json_object_object_del(nodes[0].vols, "m");
	is_str(jstr(member(v, "serving"), "node"), "db2", "db2 serves m's primary");
	p = json_object_array_get_idx(member(v, "parts"), 0);
	ok(!strcmp(jstr(p, "role"), "primary") && !strcmp(jstr(p, "node_name"), "db2"),
	   "... its part first, the primary");
	p = json_object_array_get_idx(member(v, "parts"), 1);
	ok(!strcmp(jstr(p, "role"), "leg") && !strcmp(jstr(p, "node_name"), "db1"),
	   "... db1's the leg");
	snprintf(want, sizeof(want), "-leg-%s/1", jstr(p, "node"));
	like(jstr(p, "url"), want, "... exported as a leg target of db1's");
	is_str(jstr(member(v, "last_failover"), "kind"), "switchover", "the volume records it");
	d = desired_of(1);
	l = member(d, "lun");
	snprintf(want, sizeof(want), "-leg-%s/1;lease=on;pr=cluster", jstr(p, "node"));
	ok(!strncmp(jstr(l, "bsopts"), "mirror=iscsi://127.0.0.1:3260/", 30) &&
	   strstr(jstr(l, "bsopts"), want), "db2 serves it with mirror= to db1's image, lease=on "
	   "and pr=cluster (the reservations follow the volume)");
	ok(strlen(jstr(l, "scsi_id")) == 32, "... with the volume's identity");
	json_object_put(d);
	d = desired_of(0);
	l = member(d, "lun");
	is_str(jstr(l, "bsopts"), "raw=on", "db1 exports its image raw");
	is_str(json_object_get_string(json_object_array_get_idx(member(l, "acl"), 0)),
	       "iqn.2026-11.org.lunlink:db2", "... to db2's module alone");
	ok(!member(l, "scsi_id"), "... without the volume's identity");
	json_object_put(d);
	json_object_put(v);
	is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews");
	like(refusal(r, "m"), "node db1 does not serve volume m's primary (node db2 does)",
	     "... refused: its lease runs out");
	json_object_put(r);
	json_object_object_del(nodes[1].vols, "m");
}

/* db2, now the primary's node, goes silent (killed): once its lease ran
 * out past the grace and it is offline, db1's leg is promoted. */
static void test_failover(void)
{
	json_object *r = NULL, *v = NULL;
	int64_t t0 = ll_mono_ms();
	int i;

	/* db2 takes the lease (the old one ran out meanwhile) */
	wait_ms(PM_LEASE_GRACE_MS + 1100);
	is_int(renew(1, "{\"volumes\":[\"m\"]}", &r), 200, "db2, the new primary's node, renews");
	is_str(jstr(lease_of(r, "m"), "generation"), "2a5c7405f32f2283",
	       "... the recorded generation went with the volume");
	json_object_put(r);
	json_object_object_add(nodes[0].vols, "m", json_tokener_parse(
		"{\"state\":\"ready\",\"leg_generation\":\"2a5c7405f32f2283\"}"));
	silent[1] = true;
	t0 = ll_mono_ms();
	for (i = 0; i < 60; i++) {	/* lease 1 s + grace 1 s + offline + a tick */
		report_all();
		wait_ms(100);
		v = volume_shown("m");
		if (!strcmp(jstr(member(v, "serving"), "node"), "db1"))
			break;
		json_object_put(v);
		v = NULL;
	}
	ok(v != NULL, "db2 silent: db1 serves m's primary again %" PRId64 " ms later",
	   ll_mono_ms() - t0);
	is_str(jstr(member(v, "last_failover"), "kind"), "failover", "... a failover, recorded");
	is_str(jstr(member(v, "last_failover"), "from"), "db2", "... from db2");
	ok(pm_int(member(v, "last_failover"), "lease_expired_ms") > 0,
	   "... with the time db2's lease expired");
	json_object_put(v);
	silent[1] = false;
	json_object_object_del(nodes[0].vols, "m");
	report_all();

	/* db1 serves and holds it; db2's leg is behind; db1 goes silent */
	for (i = 0; i < 40; i++) {
		is_int(renew(0, "{\"volumes\":[\"m\"]}", &r), 200, "db1 renews");
		if (lease_of(r, "m"))
			break;
		json_object_put(r);
		r = NULL;
		wait_ms(100);
	}
	ok(lease_of(r, "m") != NULL, "... and holds the lease");
	json_object_put(r);
	json_object_object_add(nodes[1].vols, "m", json_tokener_parse(
		"{\"state\":\"ready\",\"leg_generation\":\"1a50d3f4fb62e39d\"}"));
	silent[0] = true;
	v = NULL;
	for (i = 0; i < 60; i++) {
		report_all();
		wait_ms(100);
		v = volume_shown("m");
		if (member(v, "failover"))
			break;
		json_object_put(v);
		v = NULL;
	}
	is_str(jstr(member(v, "failover"), "state"), "none promotable",
	       "db1 silent, db2's leg behind: the volume says none promotable");
	like(jstr(member(v, "failover"), "why"), "lacks writes the primary acknowledged",
	     "... and why");
	is_str(jstr(member(v, "serving"), "node"), "db1", "... db2 is not promoted");
	json_object_put(v);
	silent[0] = false;
	json_object_object_del(nodes[1].vols, "m");
	report_all();
}

static void test_delete(void)
{
	char key[PS_KEY_MAX + 1];
	struct ps_kv kv = { 0 };

	is_int(call(admin, "DELETE", "/v1/volumes/m", NULL, NULL, NULL), 200, "m is deleted");
	/* the nodes no longer list it: their parts are gone */
	report_all();
	pm_key(key, "leases/m");
	is_int(ps_get(st, key, &kv), PS_NOT_FOUND, "its lease's record went with it");
	ps_kv_free(&kv);
	ok(!m->nleases, "... and the manager forgot it");
}

int main(void)
{
	lease_ms = 1000;
	if (harness_begin("policy-leases", 2))
		return done_testing();
	setup();
	test_grant_and_renew();
	test_generation();
	test_promotable();
	test_refusals();
	test_lun_view();
	test_expiry();
	test_late_renewal();
	test_restart();
	test_other_node();
	test_switchover();
	test_failover();
	test_delete();
	for (size_t i = 0; i < 2; i++) {
		pa_client_free(nodes[i].c);
		json_object_put(nodes[i].vols);
	}
	return harness_end();
}
