// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-links.c: the manager's hosts and links (policy/hosts.c,
 * policy/link.c, doc/link.md), in one process as policy-volumes.c runs
 * it (pm_harness.h).  Two nodes and two hosts are played by the test:
 * their reports are what lunlink-policyd's agent and lunlink-rescand
 * would say.
 *
 * The story: a host joins with a host token, is offline until it
 * reports, and its bad reports are refused naming the field; a volume
 * linked to it moves into the host's target on the serving node with the
 * host's initiator and CHAP account; the host is told only once the node
 * presents the LUN; a late answer to an older request changes nothing;
 * the device reported makes the link linked, with each step's time; a
 * second volume from the same node is the next LUN of the same target;
 * linking twice, elsewhere or a lent volume is refused naming why; an
 * unlink the host refuses (mounted) leaves it linked with the reason; an
 * unlink it does puts the LUN back in the volume's own target, and the
 * link goes once the node has done so; the freed LUN number is taken by
 * the next volume; a failed link can be tried again; the links survive a
 * restart of the manager; a host that stopped reporting is offline and
 * a link to it is refused at once.
 */
#include "pm_harness.h"

struct node {
	const char *name, *addr;
	struct pa_client *c;
	char id[PM_ID_LEN + 1];
	json_object *vols;
} nodes[2] = { { .name = "db1", .addr = "127.0.0.1" }, { .name = "db2", .addr = "127.0.0.2" } };

struct host {
	const char *name, *iqn;
	struct pa_client *c;
	char id[PM_ID_LEN + 1];
} hosts[2] = { { .name = "web1", .iqn = "iqn.1993-08.org.debian:01:web1" },
	       { .name = "web2", .iqn = "iqn.1993-08.org.debian:01:web2" } };

static json_object *desired(size_t n)
{
	json_object *r = NULL;

	call(nodes[n].c, "GET", "/v1/nodes/desired", NULL, &r, NULL);
	return r;
}

static json_object *desired_lun(json_object *d, const char *vol)
{
	return member(member(member(d, "volumes"), vol), "lun");
}

/* Node n says vol is ready (or state) for its desired state now. */
static void actual(size_t n, const char *vol, const char *state)
{
	json_object *d = desired(n), *a = json_object_new_object();

	json_object_object_add(a, "state", json_object_new_string(state));
	json_object_object_add(a, "desired_revision",
			       json_object_new_int64(pm_int(d, "desired_revision")));
	json_object_object_add(nodes[n].vols, vol, a);
	json_object_put(d);
}

static void report_nodes(void)
{
	for (size_t i = 0; i < 2; i++)
		node_report(nodes[i].c, nodes[i].name, nodes[i].addr, nodes[i].vols, NULL);
	wait_ms(30);	/* the manager's watch turns */
}

/* Host h reports: its initiator, and links (a JSON array, or NULL). */
static long report_host(size_t h, const char *links, json_object **reply)
{
	char body[2048];

	snprintf(body, sizeof(body), "{\"initiator\":\"%s\",\"hostname\":\"%s\","
		 "\"lunlink_version\":\"test\"%s%s}", hosts[h].iqn, hosts[h].name,
		 links ? ",\"links\":" : "", links ? links : "");
	return call(hosts[h].c, "POST", "/v1/hosts/report", body, reply, NULL);
}

static void report_all(void)
{
	report_nodes();
	for (size_t h = 0; h < 2; h++)
		report_host(h, NULL, NULL);
	wait_ms(10);
}

static json_object *host_desired(size_t h)
{
	json_object *r = NULL;

	call(hosts[h].c, "GET", "/v1/hosts/desired", NULL, &r, NULL);
	return r;
}

/* The host's desired entry for vol (in d), or NULL. */
static json_object *entry_of(json_object *d, const char *vol)
{
	json_object *links = member(d, "links");

	for (size_t i = 0; links && i < json_object_array_length(links); i++)
		if (!strcmp(jstr(json_object_array_get_idx(links, i), "volume"), vol))
			return json_object_array_get_idx(links, i);
	return NULL;
}

static json_object *link_of(const char *vol)
{
	char path[96];
	json_object *r = NULL;

	snprintf(path, sizeof(path), "/v1/links/%s", vol);
	if (call(admin, "GET", path, NULL, &r, NULL) != 200) {
		json_object_put(r);
		return NULL;
	}
	return r;
}

static long post(const char *path, const char *body, json_object **reply)
{
	report_all();
	return call(admin, "POST", path, body, reply, NULL);
}

/* The host says how its link of vol went, for the request of revision rev. */
static void host_says(size_t h, const char *vol, int64_t rev, const char *state,
		      const char *device, const char *wwid, const char *error)
{
	char links[1024];

	report_nodes();
	snprintf(links, sizeof(links), "[{\"volume\":\"%s\",\"link_revision\":%lld,\"state\":\"%s\","
		 "\"device\":\"%s\",\"by_id\":\"/dev/disk/by-id/wwn-0x%s\",\"wwid\":\"%s\","
		 "\"size\":1073741824,\"login_ms\":40,\"scan_ms\":45,\"device_ms\":120,"
		 "\"error\":\"%s\"}]", vol, (long long)rev, state, device,
		 wwid[0] ? wwid + 4 : "", wwid, error);
	report_host(h, links, NULL);
	wait_ms(10);
}

static void make_volume(const char *name, const char *on)
{
	char body[160];
	size_t n = strcmp(on, "db1") ? 1 : 0;

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"way\":\"single\",\"size\":\"1G\","
		 "\"on\":[\"%s\"]}", name, on);
	is_int(post("/v1/volumes", body, NULL), 201, "volume %s is made on %s", name, on);
	actual(n, name, "ready");
	report_nodes();
}

static void setup(void)
{
	json_object *r = NULL;

	for (size_t i = 0; i < 2; i++) {
		nodes[i].c = join_node(nodes[i].name);
		nodes[i].vols = json_object_new_object();
	}
	report_nodes();
	call(admin, "GET", "/v1/nodes", NULL, &r, NULL);
	for (size_t i = 0; i < 2; i++)
		snprintf(nodes[i].id, sizeof(nodes[i].id), "%s",
			 jstr(find_node(r, nodes[i].name), "id"));
	json_object_put(r);
	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/a\",\"size\":\"10G\"}",
		    NULL, NULL), 201, "an area on db1");
	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db2\",\"path\":\"/srv/b\",\"size\":\"10G\"}",
		    NULL, NULL), 201, "an area on db2");
}

static void test_hosts_join(void)
{
	char err[512];
	json_object *r = NULL, *list, *h;

	for (size_t i = 0; i < 2; i++) {
		char *t = make_token("host");

		ok(t && join(t, hosts[i].name, err) == 0, "host %s joins with a host token (%s)",
		   hosts[i].name, err);
		free(t);
		hosts[i].c = node_client(hosts[i].name);
	}
	call(admin, "GET", "/v1/hosts", NULL, &r, NULL);
	list = member(r, "hosts");
	is_int(list ? json_object_array_length(list) : 0, 2, "host list has both");
	h = json_object_array_get_idx(list, 0);
	is_str(jstr(h, "state"), "offline", "... offline until they report");
	is_str(jstr(member(h, "chap"), "secret"), "(hidden)", "... the CHAP secret hidden");
	snprintf(hosts[0].id, sizeof(hosts[0].id), "%s", jstr(h, "id"));
	snprintf(hosts[1].id, sizeof(hosts[1].id), "%s",
		 jstr(json_object_array_get_idx(list, 1), "id"));
	json_object_put(r);
	ok(call(hosts[0].c, "POST", "/v1/hosts/report", "{\"initiator\":\"web1\"}", &r, NULL) == 400 &&
	   !strcmp(err_field(r), "initiator"), "a host report with a bad initiator name: 400 naming it");
	json_object_put(r);
	ok(call(hosts[0].c, "POST", "/v1/hosts/report",
		"{\"links\":[{\"volume\":\"v1\",\"link_revision\":3,\"state\":\"gone\"}]}", &r,
		NULL) == 400 && !strcmp(err_field(r), "links[0].state"),
	   "a link in a bad state: 400 naming links[0].state");
	json_object_put(r);
	ok(call(hosts[0].c, "POST", "/v1/nodes/report", "{}", &r, NULL) == 403,
	   "a host cannot report as a node");
	json_object_put(r);
	ok(call(nodes[0].c, "GET", "/v1/hosts/desired", NULL, &r, NULL) == 403,
	   "a node cannot read a host's links");
	json_object_put(r);
	is_int(report_host(0, NULL, &r), 200, "web1 reports");
	is_str(jstr(r, "id"), hosts[0].id, "... and learns its id");
	json_object_put(r);
	call(admin, "GET", "/v1/hosts/web1", NULL, &r, NULL);
	is_str(jstr(r, "state"), "online", "web1 is online");
	is_str(jstr(r, "initiator"), hosts[0].iqn, "... with its initiator name");
	json_object_put(r);
}

static int64_t lrev;	/* the revision of the link's current request */

static void test_link(void)
{
	json_object *r = NULL, *d, *l, *e;
	char target[96], secret[32];

	make_volume("v1", "db1");
	make_volume("v2", "db1");
	make_volume("v3", "db2");
	ok(post("/v1/volumes/v1/link", "{\"host\":\"nobody\"}", &r) == 404 &&
	   !strcmp(err_field(r), "host"), "a link to an unknown host: 404 naming the host");
	json_object_put(r);
	ok(post("/v1/volumes/v9/link", "{\"host\":\"web1\"}", &r) == 404, "an unknown volume: 404");
	json_object_put(r);
	ok(post("/v1/volumes/v1/link", "{\"host\":\"web1\",\"timeout_s\":0}", &r) == 400 &&
	   !strcmp(err_field(r), "timeout_s"), "a timeout of 0: 400");
	json_object_put(r);
	is_int(post("/v1/volumes/v1/link", "{\"host\":\"web1\",\"timeout_s\":20}", &r), 202,
	       "v1 is linked to web1");
	is_str(jstr(r, "state"), "requested", "... requested");
	is_int(pm_int(r, "lun"), 1, "... as LUN 1");
	snprintf(target, sizeof(target), PM_IQN_BASE ":host-%s", hosts[0].id);
	is_str(jstr(r, "target"), target, "... of web1's target");
	is_str(jstr(r, "portal"), "127.0.0.1:3260", "... on db1's portal");
	lrev = pm_int(r, "revision");
	json_object_put(r);
	d = desired(0);
	l = desired_lun(d, "v1");
	is_str(jstr(l, "iqn"), target, "db1's desired LUN of v1 is in web1's target");
	is_int(pm_int(l, "lun"), 1, "... LUN 1");
	is_str(json_object_get_string(json_object_array_get_idx(member(l, "acl"), 0)), hosts[0].iqn,
	       "... admitting web1's initiator");
	snprintf(secret, sizeof(secret), "%s", jstr(member(l, "chap"), "secret"));
	is_int(strlen(secret), 16, "... with web1's CHAP account");
	json_object_put(d);
	d = host_desired(0);
	ok(!entry_of(d, "v1"), "web1 is not told before db1 presents the LUN");
	json_object_put(d);
	r = link_of("v1");
	is_str(jstr(r, "state"), "requested", "still requested");
	json_object_put(r);
	actual(0, "v1", "ready");
	report_nodes();
	r = link_of("v1");
	is_str(jstr(r, "state"), "presented", "db1 applied it: presented");
	ok(pm_int(member(r, "steps"), "lun_added") > 0, "... with the time the LUN was added");
	json_object_put(r);
	d = host_desired(0);
	e = entry_of(d, "v1");
	is_str(jstr(e, "action"), "link", "web1's desired links carry v1 to link");
	is_str(jstr(e, "target"), target, "... its target");
	is_int(pm_int(e, "lun"), 1, "... LUN");
	is_str(jstr(member(e, "chap"), "secret"), secret, "... and the account to log in with");
	like(jstr(e, "wwid"), "naa.6", "... and the WWID to look for");
	is_int(pm_int(e, "timeout_s"), 20, "... and how long to try");
	ok(!member(e, "multipath"), "... no multipath: a single volume does not move");
	ok(!member(e, "moved_from"), "... and it did not move");
	ok(member(d, "changed") && json_object_get_boolean(member(d, "changed")), "... changed");
	json_object_put(d);
	r = link_of("v1");
	ok(pm_int(member(r, "steps"), "host_told") > 0, "the link records when web1 was told");
	json_object_put(r);
	host_says(0, "v1", lrev - 1, "linked", "sdb", "naa.6000", "");
	r = link_of("v1");
	is_str(jstr(r, "state"), "presented", "an answer to an older request changes nothing");
	json_object_put(r);
	r = link_of("v1");
	{
		char wwid[64];

		snprintf(wwid, sizeof(wwid), "%s", jstr(r, "wwid"));
		json_object_put(r);
		host_says(0, "v1", lrev, "linked", "sdb", wwid, "");
	}
	r = link_of("v1");
	is_str(jstr(r, "state"), "linked", "web1 reported sdb: linked");
	is_str(jstr(member(r, "device"), "name"), "sdb", "... as sdb");
	ok(pm_int(member(r, "steps"), "device") >= pm_int(member(r, "steps"), "host_told"),
	   "... the host's steps after it was told");
	json_object_put(r);
	r = NULL;
	r = volume_shown("v1");
	is_str(jstr(member(r, "link"), "state"), "linked", "volume show says where it is linked");
	is_str(jstr(member(r, "borrower"), "host"), "web1", "... and who borrows it");
	like(jstr(member(r, "serving"), "url"), target, "... and its URL is the host's target's");
	json_object_put(r);
	call(admin, "GET", "/v1/hosts/web1", NULL, &r, NULL);
	is_str(jstr(json_object_array_get_idx(member(r, "links"), 0), "volume"), "v1",
	       "host show lists its linked volumes");
	json_object_put(r);
}

static void test_refusals(void)
{
	json_object *r = NULL;

	ok(post("/v1/volumes/v1/link", "{\"host\":\"web1\"}", &r) == 409, "linked again: 409");
	like(err_message(r), "already linked to host web1", "... saying so");
	json_object_put(r);
	ok(post("/v1/volumes/v1/link", "{\"host\":\"web2\"}", &r) == 409, "linked elsewhere: 409");
	like(err_message(r), "linked to host web1", "... naming the host");
	json_object_put(r);
	ok(post("/v1/volumes/v1/lend", "{\"initiator\":\"iqn.1994-05.com.redhat:x\"}", &r) == 409,
	   "a linked volume is not lent");
	json_object_put(r);
	is_int(post("/v1/volumes/v3/lend", "{\"initiator\":\"iqn.1994-05.com.redhat:x\"}", &r), 200,
	       "v3 is lent to an initiator");
	json_object_put(r);
	ok(post("/v1/volumes/v3/link", "{\"host\":\"web1\"}", &r) == 409, "a lent volume is not linked");
	like(err_message(r), "lent to iqn.1994-05.com.redhat:x", "... naming the borrower");
	json_object_put(r);
	is_int(post("/v1/volumes/v3/return", NULL, &r), 200, "v3 is returned");
	json_object_put(r);
	ok(call(admin, "DELETE", "/v1/volumes/v1", NULL, &r, NULL) == 409,
	   "a linked volume is not deleted");
	json_object_put(r);
}

static void test_second_lun(void)
{
	json_object *r = NULL;

	is_int(post("/v1/volumes/v2/link", "{\"host\":\"web1\"}", &r), 202, "v2 is linked to web1");
	is_int(pm_int(r, "lun"), 2, "... as LUN 2 of the same target");
	json_object_put(r);
	is_int(post("/v1/volumes/v3/link", "{\"host\":\"web1\"}", &r), 202, "v3 (on db2) too");
	is_int(pm_int(r, "lun"), 1, "... as LUN 1 of web1's target on db2");
	is_str(jstr(r, "portal"), "127.0.0.2:3260", "... db2's portal");
	json_object_put(r);
}

/* A doubled volume's link carries multipath: its host keeps it behind a
 * map, for the day another node serves it. */
static void test_doubled(void)
{
	json_object *r = NULL, *d;

	is_int(post("/v1/volumes", "{\"name\":\"dv\",\"way\":\"doubled\",\"copies\":2,"
		    "\"size\":\"1G\",\"on\":[\"db1\",\"db2\"]}", NULL), 201,
	       "a doubled volume dv on db1 and db2");
	actual(1, "dv", "ready");
	report_nodes();
	actual(0, "dv", "ready");
	report_nodes();
	is_int(post("/v1/volumes/dv/link", "{\"host\":\"web1\"}", &r), 202, "dv is linked to web1");
	json_object_put(r);
	actual(0, "dv", "ready");
	report_nodes();
	d = host_desired(0);
	ok(entry_of(d, "dv") && json_object_get_boolean(member(entry_of(d, "dv"), "multipath")),
	   "... its entry says multipath: true");
	ok(!member(entry_of(d, "dv"), "moved_from"), "... and no moved_from: it has not moved");
	json_object_put(d);
}

/* The linked doubled volume switched over to db2: its link moves with it,
 * the host's entry says from where. */
static void test_doubled_moves(void)
{
	json_object *r = NULL, *d, *e, *from, *a;
	char target[160];

	is_int(call(nodes[0].c, "POST", "/v1/nodes/leases", "{\"volumes\":[\"dv\"],"
		    "\"generations\":{\"dv\":\"53109b3905b28803\"}}", &r, NULL), 200,
	       "db1, dv's primary, takes its lease and reports its generation");
	json_object_put(r);
	a = json_tokener_parse("{\"state\":\"ready\",\"leg_generation\":\"53109b3905b28803\"}");
	d = desired(1);
	json_object_object_add(a, "desired_revision",
			       json_object_new_int64(pm_int(d, "desired_revision")));
	json_object_put(d);
	json_object_object_add(nodes[1].vols, "dv", a);
	report_nodes();
	r = link_of("dv");
	snprintf(target, sizeof(target), "%s", jstr(r, "target"));
	json_object_put(r);
	is_int(post("/v1/volumes/dv/switchover", "{\"to\":\"db2\"}", &r), 202,
	       "dv is switched over to db2");
	json_object_put(r);
	actual(0, "dv", "ready");	/* db1 stopped serving it: the tick promotes */
	for (int i = 0; i < 30; i++) {
		report_nodes();
		wait_ms(100);
		r = link_of("dv");
		if (!strcmp(jstr(r, "node"), "db2"))
			i = 30;
		json_object_put(r);
	}
	r = link_of("dv");
	is_str(jstr(r, "state"), "requested", "its link is requested again, on db2");
	is_str(jstr(r, "node"), "db2", "... from db2");
	is_str(jstr(r, "portal"), "127.0.0.2:3260", "... db2's portal");
	is_str(jstr(member(r, "moved_from"), "portal"), "127.0.0.1:3260", "... moved from db1's");
	json_object_put(r);
	actual(1, "dv", "ready");
	report_nodes();
	r = link_of("dv");
	is_str(jstr(r, "state"), "presented", "db2 applied it: presented");
	json_object_put(r);
	d = host_desired(0);
	e = entry_of(d, "dv");
	is_str(jstr(e, "portal"), "127.0.0.2:3260", "web1's entry: db2's portal");
	is_str(jstr(e, "target"), target, "... the host's own target there");
	from = member(e, "moved_from");
	ok(from && !strcmp(jstr(from, "portal"), "127.0.0.1:3260") &&
	   !strcmp(jstr(from, "target"), target) && pm_int(from, "lun") >= 1,
	   "... moved_from: the old target, portal and LUN");
	ok(json_object_get_boolean(member(e, "multipath")), "... multipath still");
	json_object_put(d);
	d = desired(1);
	e = desired_lun(d, "dv");
	is_str(jstr(e, "iqn"), target, "db2 serves dv in web1's target");
	ok(e && member(e, "chap") && strstr(jstr(e, "bsopts"), ";lease=on"),
	   "... with web1's account, mirror= and lease=on");
	json_object_put(d);
	json_object_object_del(nodes[1].vols, "dv");
}

static void test_unlink(void)
{
	json_object *r = NULL, *d, *l;
	int64_t urev;

	is_int(post("/v1/volumes/v1/unlink", "{}", &r), 202, "v1 is unlinked");
	is_str(jstr(r, "state"), "unlinking", "... unlinking");
	urev = pm_int(r, "revision");
	json_object_put(r);
	d = host_desired(0);
	is_str(jstr(entry_of(d, "v1"), "action"), "unlink", "web1 is asked to unlink v1");
	json_object_put(d);
	host_says(0, "v1", urev, "linked", "sdb", "", "sdb is mounted on /srv/www");
	r = link_of("v1");
	is_str(jstr(r, "state"), "linked", "web1 refused: still linked");
	is_str(jstr(r, "unlink_error"), "sdb is mounted on /srv/www", "... with the reason");
	ok(pm_int(r, "unlink_revision") >= urev, "... for that request");
	json_object_put(r);
	is_int(post("/v1/volumes/v1/unlink", "{}", &r), 202, "unlinked again");
	urev = pm_int(r, "revision");
	json_object_put(r);
	host_says(0, "v1", urev, "unlinked", "", "", "");
	r = link_of("v1");
	is_str(jstr(r, "state"), "releasing", "web1 deleted it: the LUN is released");
	json_object_put(r);
	d = desired(0);
	l = desired_lun(d, "v1");
	like(jstr(l, "iqn"), ":vol-", "db1's LUN of v1 is back in the volume's own target");
	is_int(json_object_array_length(member(l, "acl")), 0, "... admitting nobody");
	ok(!member(l, "chap"), "... without an account");
	json_object_put(d);
	d = host_desired(0);
	ok(!entry_of(d, "v1"), "web1 is no longer told of v1");
	json_object_put(d);
	actual(0, "v1", "ready");
	report_nodes();
	ok(!link_of("v1"), "db1 applied it: the link is gone");
	r = volume_shown("v1");
	ok(!member(r, "borrower"), "v1 has no borrower");
	ok(!member(r, "link"), "... and no link");
	json_object_put(r);
	ok(post("/v1/volumes/v1/unlink", "{}", &r) == 409, "unlinking what is not linked: 409");
	json_object_put(r);
}

static void test_reuse_and_failure(void)
{
	json_object *r = NULL;
	int64_t rev;

	make_volume("v4", "db1");
	is_int(post("/v1/volumes/v4/link", "{\"host\":\"web1\"}", &r), 202, "v4 is linked to web1");
	is_int(pm_int(r, "lun"), 1, "... taking the LUN number v1 left");
	rev = pm_int(r, "revision");
	json_object_put(r);
	actual(0, "v4", "ready");
	report_nodes();
	host_says(0, "v4", rev, "failed", "", "", "no block device with WWID naa.6x after 20 s");
	r = link_of("v4");
	is_str(jstr(r, "state"), "failed", "the host could not: failed");
	like(jstr(r, "error"), "no block device", "... with the host's reason");
	json_object_put(r);
	is_int(post("/v1/volumes/v4/link", "{\"host\":\"web1\"}", &r), 202, "a failed link is tried again");
	is_int(pm_int(r, "lun"), 1, "... keeping its LUN");
	json_object_put(r);
}

static void test_restart_and_offline(void)
{
	json_object *r = NULL;

	ok(restart_manager(2) == 0, "the manager restarts");
	for (size_t i = 0; i < 2; i++) {
		pa_client_free(nodes[i].c);
		nodes[i].c = node_client(nodes[i].name);
		pa_client_free(hosts[i].c);
		hosts[i].c = node_client(hosts[i].name);
	}
	r = link_of("v2");
	is_str(jstr(r, "state"), "requested", "v2's link is still there");
	json_object_put(r);
	make_volume("v5", "db2");
	report_nodes();
	report_host(0, NULL, NULL);
	wait_ms(1600);	/* offline_after is 1 s here: web2 said nothing */
	report_nodes();
	call(admin, "GET", "/v1/hosts/web2", NULL, &r, NULL);
	is_str(jstr(r, "state"), "offline", "web2 stopped reporting: offline");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/volumes/v5/link", "{\"host\":\"web2\"}", &r, NULL) == 409 &&
	   !strcmp(err_field(r), "host"), "a link to an offline host: 409 at once");
	like(err_message(r), "not connected", "... saying it is not connected");
	json_object_put(r);
}

int main(void)
{
	if (harness_begin("policy-links", 2))
		return done_testing();
	setup();
	test_hosts_join();
	test_link();
	test_refusals();
	test_second_lun();
	test_doubled();
	test_doubled_moves();
	test_unlink();
	test_reuse_and_failure();
	test_restart_and_offline();
	for (size_t i = 0; i < 2; i++) {
		pa_client_free(nodes[i].c);
		pa_client_free(hosts[i].c);
		json_object_put(nodes[i].vols);
	}
	return harness_end();
}
