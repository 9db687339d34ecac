// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-volumes.c: the manager's volumes beyond their making
 * (policy/volume*.c), in one process as policy-manager.c runs it
 * (pm_harness.h), three nodes played by the test: their reports are what
 * their agents would say.
 *
 * The story: divided volumes share an area, best fit; a doubled volume;
 * an integrated volume no node could hold alone is refused when the
 * nodes together cannot hold it either, and otherwise joined from the
 * fewest parts; each serving LUN carries the volume's SCSI identity;
 * the serving node's word on its copies makes a volume degraded and
 * ready again, with the bytes left to resync; volumes grow (the legs and
 * the last part first, then the serving LUN) and never shrink; a volume
 * is lent to one borrower with a CHAP account only admins see, and
 * returned; a deleted volume is deleting until its nodes say their parts
 * are gone, through a restart; and a manager restarted in the middle of
 * creations carries on with those it can finish and fails the others,
 * naming the step.
 */
#include "pm_harness.h"

#include <inttypes.h>

#define G	(1LL << 30)

struct node {
	const char *name, *addr;
	struct pa_client *c;
	char id[PM_ID_LEN + 1];
	json_object *vols;		/* what its agent says of each volume */
	json_object *areas;		/* what it says of its areas, or NULL: nothing */
} nodes[3] = { { .name = "db1", .addr = "127.0.0.1" }, { .name = "db2", .addr = "127.0.0.2" },
		{ .name = "db3", .addr = "127.0.0.3" } };

/* Every node reports: online, and its volumes as they are now. */
static void report_all(void)
{
	for (size_t i = 0; i < 3; i++)
		node_report(nodes[i].c, nodes[i].name, nodes[i].addr, nodes[i].vols, nodes[i].areas);
	wait_ms(30);	/* the manager's watch turns */
}

/* Node n's desired state (the whole answer). */
static json_object *desired(size_t n)
{
	json_object *r = NULL;

	call(nodes[n].c, "GET", "/v1/nodes/desired", NULL, &r, NULL);
	return r;
}

/* Node n's desired state of volume vol, and a member of it. */
static json_object *desired_vol(json_object *d, const char *vol)
{
	json_object *vols, *v;

	if (!json_object_object_get_ex(d, "volumes", &vols) ||
	    !json_object_object_get_ex(vols, vol, &v))
		return NULL;
	return v;
}

/* Node n's agent says vol is state for its desired state now (extra:
 * more fields as JSON, or NULL). */
static void actual(size_t n, const char *vol, const char *state, const char *extra)
{
	json_object *d = desired(n), *a = extra ? json_tokener_parse(extra) : json_object_new_object();

	json_object_object_add(a, "state", json_object_new_string(state));
	json_object_object_add(a, "desired_revision",
			       json_object_new_int64(pm_int(d, "desired_revision")));
	json_object_object_add(nodes[n].vols, vol, a);
	json_object_put(d);
}

static json_object *part(json_object *vol, size_t i)
{
	return json_object_array_get_idx(member(vol, "parts"), i);
}

static long post(const char *path, const char *body, json_object **reply)
{
	report_all();	/* the nodes are online (offline_after is 1 s here) */
	return call(admin, "POST", path, body, reply, NULL);
}

/* The manager made again on the same store: a new port, new clients. */
static int restart(void)
{
	int rc = restart_manager(2);

	for (size_t i = 0; i < 3; i++) {
		pa_client_free(nodes[i].c);
		nodes[i].c = node_client(nodes[i].name);
	}
	return rc;
}

static void setup_nodes(void)
{
	static const char *const areas[] = {
		"{\"node\":\"db1\",\"path\":\"/srv/a\",\"size\":\"10G\"}",
		"{\"node\":\"db1\",\"path\":\"/srv/s\",\"size\":\"2G\"}",
		"{\"node\":\"db2\",\"path\":\"/srv/b\",\"size\":\"8G\"}",
		"{\"node\":\"db3\",\"path\":\"/srv/c\",\"size\":\"7G\"}",
	};
	json_object *r = NULL;

	for (size_t i = 0; i < 3; i++) {
		nodes[i].c = join_node(nodes[i].name);
		nodes[i].vols = json_object_new_object();
	}
	report_all();
	call(admin, "GET", "/v1/nodes", NULL, &r, NULL);
	for (size_t i = 0; i < 3; i++)
		snprintf(nodes[i].id, sizeof(nodes[i].id), "%s", jstr(find_node(r, nodes[i].name), "id"));
	json_object_put(r);
	for (size_t i = 0; i < 4; i++)
		is_int(call(admin, "POST", "/v1/areas", areas[i], NULL, NULL), 201, "area %zu is added", i);
}

static void test_divided(void)
{
	json_object *r = NULL, *d;

	is_int(post("/v1/volumes", "{\"name\":\"d1\",\"way\":\"divided\",\"size\":\"1G\"}", &r), 201,
	       "a divided volume is made");
	is_str(jstr(part(r, 0), "path"), "/srv/s/d1.img", "... in the area that holds it with the "
	       "least to spare (best fit), not the largest");
	json_object_put(r);
	is_int(post("/v1/volumes", "{\"name\":\"d2\",\"way\":\"divided\",\"size\":\"1G\"}", &r), 201,
	       "a second one");
	is_str(jstr(part(r, 0), "path"), "/srv/s/d2.img", "... shares the area");
	json_object_put(r);
	d = desired(0);
	ok(desired_vol(d, "d1") && desired_vol(d, "d2"), "db1 is to make both");
	is_str(jstr(member(desired_vol(d, "d2"), "lun"), "bsopts"), "pr=cluster",
	       "... each its own image and plain lunlink LUN (no window), its reservations the "
	       "cluster's");
	json_object_put(d);
	actual(0, "d1", "ready", NULL);
	actual(0, "d2", "ready", NULL);
	report_all();
	r = volume_shown("d2");
	is_str(jstr(r, "state"), "ready", "d2 is ready when db1 says so");
	json_object_put(r);
}

static void test_doubled(void)
{
	json_object *r = NULL;

	is_int(post("/v1/volumes", "{\"name\":\"m\",\"way\":\"doubled\",\"size\":\"2G\",\"on\":[\"db2\",\"db3\"]}",
		    &r), 201, "a doubled volume served by db2 with a leg on db3");
	json_object_put(r);
	actual(1, "m", "ready", NULL);
	actual(2, "m", "ready", NULL);
	report_all();
	r = volume_shown("m");
	is_str(jstr(r, "state"), "ready", "... ready");
	like(jstr(part(r, 1), "url"), "iscsi://127.0.0.3:3260/iqn.2026-11.org.lunlink.cluster:vol-",
	     "the leg's part names its URL");
	json_object_put(r);
}

static void test_integrated(void)
{
	json_object *r = NULL, *d, *l, *id;
	char want[512];

	ok(post("/v1/volumes", "{\"name\":\"big\",\"way\":\"integrated\",\"size\":\"25G\"}", &r) == 409 &&
	   !strcmp(err_field(r), "size"), "an integrated volume larger than all free space: 409");
	like(err_message(r), "25G does not fit in the online nodes' areas together: 19G free in all",
	     "... saying how much there is");
	like(err_message(r), "db1: 10G free, db2: 5G free, db3: 4G free", "... node by node");
	json_object_put(r);
	is_int(post("/v1/volumes", "{\"name\":\"big\",\"way\":\"integrated\",\"size\":\"18G\"}", &r),
	       201, "an integrated volume of 18G: no node has it");
	is_int(json_object_array_length(member(r, "parts")), 3, "... three parts, the fewest");
	is_str(jstr(part(r, 0), "node_name"), "db1", "... served by the node with the most free");
	is_int(pm_int(part(r, 0), "size"), 10 * G, "... its 10G first");
	is_int(pm_int(part(r, 1), "size"), 5 * G, "... then db2's 5G");
	is_int(pm_int(part(r, 2), "size"), 3 * G, "... then 3G of db3's 4G");
	is_int(pm_int(part(r, 2), "offset"), 15 * G, "... at 15G");
	id = member(r, "identity");
	is_int(strlen(jstr(id, "scsi_id")), 32, "the volume's scsi_id is 32 hex digits");
	ok(jstr(id, "scsi_id")[0] == '6', "... an NAA type 6 id");
	snprintf(want, sizeof(want), "naa.%s", jstr(id, "scsi_id"));
	is_str(jstr(id, "wwid"), want, "... which is its WWID");
	like(jstr(id, "scsi_sn"), jstr(r, "id"), "the serial holds the volume id");
	json_object_put(r);

	d = desired(0);
	l = member(desired_vol(d, "big"), "lun");
	snprintf(want, sizeof(want), "extent=iscsi://127.0.0.2:3260/iqn.2026-11.org.lunlink.cluster:vol-");
	like(jstr(l, "bsopts"), want, "db1 serves it with extent= to db2's part");
	like(jstr(l, "bsopts"), ":0:5368709120;extent=iscsi://127.0.0.3:3260/", "... then db3's");
	like(jstr(l, "bsopts"), "/1:0:3221225472;pr=cluster", "... each with its length, then "
	     "pr=cluster");
	{
		json_object *d2 = desired(1);

		is_str(jstr(member(desired_vol(d2, "big"), "lun"), "bsopts"), "",
		       "db2's part is a plain rdwr LUN, no pr=cluster (the serving node's alone)");
		json_object_put(d2);
	}
	is_int(pm_int(l, "size"), 18 * G, "the serving LUN's size is the volume's");
	r = volume_shown("big");
	is_str(jstr(l, "scsi_id"), jstr(member(r, "identity"), "scsi_id"),
	       "the serving LUN carries the volume's scsi_id");
	is_str(jstr(l, "scsi_sn"), jstr(member(r, "identity"), "scsi_sn"), "... and its serial");
	json_object_put(r);
	json_object_put(d);
	d = desired(1);
	l = member(desired_vol(d, "big"), "lun");
	is_str(jstr(l, "bstype"), "rdwr", "db2 exports its part as a plain LUN");
	is_str(jstr(json_object_array_get_idx(member(desired_vol(d, "big"), "images"), 0), "format"),
	       "plain", "... of a plain file");
	ok(!member(l, "scsi_id"), "... without the volume's identity");
	is_str(json_object_get_string(json_object_array_get_idx(member(l, "acl"), 0)),
	       "iqn.2026-11.org.lunlink:db1", "... to the serving node's initiator alone");
	json_object_put(d);
	for (size_t i = 0; i < 3; i++)
		actual(i, "big", "ready", NULL);
	report_all();
	r = volume_shown("big");
	is_str(jstr(r, "state"), "ready", "the integrated volume is ready when its three nodes are");
	json_object_put(r);
}

static void test_sync_state(void)
{
	json_object *r = NULL, *v;
	char extra[512];

	r = volume_shown("m");
	snprintf(extra, sizeof(extra), "{\"size\":%lld,\"copies\":[{\"url\":\"%s\",\"state\":\"syncing\","
		 "\"left_bytes\":1048576}]}", 2 * G, jstr(part(r, 1), "url"));
	json_object_put(r);
	actual(1, "m", "ready", extra);
	report_all();
	v = volume_shown("m");
	is_str(jstr(v, "state"), "degraded", "a leg resyncing: the volume is degraded");
	is_str(jstr(part(v, 1), "sync"), "syncing", "... the leg's part says syncing");
	is_int(pm_int(part(v, 1), "left_bytes"), 1048576, "... with the bytes left");
	is_int(pm_int(v, "resync_bytes_left"), 1048576, "... and so does the volume");
	json_object_put(v);
	{
		static const char req[] = "GET /metrics HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n";
		char buf[16384] = "";
		int fd = raw_open(req);

		ok(fd >= 0 && raw_until(fd, buf, sizeof(buf), "lunlink_resync_bytes_left 1048576", 2000),
		   "/metrics: lunlink_resync_bytes_left is the bytes left");
		like(buf, "lunlink_volumes{state=\"degraded\"} 1", "... and one volume is degraded");
		if (fd >= 0)
			close(fd);
	}
	ok(call(nodes[1].c, "POST", "/v1/nodes/report",
		"{\"volumes\":{\"m\":{\"state\":\"ready\",\"copies\":[{\"url\":\"x\",\"state\":\"odd\"}]}}}",
		&r, NULL) == 400, "a copy in an unknown state: 400");
	is_str(err_field(r), "volumes.m.copies[0].state", "... naming it by its place");
	json_object_put(r);
	r = volume_shown("m");
	snprintf(extra, sizeof(extra), "{\"size\":%lld,\"copies\":[{\"url\":\"%s\",\"state\":\"up\"}]}",
		 2 * G, jstr(part(r, 1), "url"));
	json_object_put(r);
	actual(1, "m", "ready", extra);
	report_all();
	v = volume_shown("m");
	is_str(jstr(v, "state"), "ready", "the leg up to date: ready again");
	is_int(pm_int(v, "resync_bytes_left"), 0, "... nothing left to resync");
	json_object_put(v);
}

static void test_resize(void)
{
	json_object *r = NULL, *d, *v;

	ok(post("/v1/volumes/m/resize", "{\"size\":\"1G\"}", &r) == 400 &&
	   !strcmp(err_field(r), "size"), "shrinking is refused: 400");
	like(err_message(r), "volume m is 2G; 1G is smaller", "... naming both sizes");
	json_object_put(r);
	ok(post("/v1/volumes/m/resize", "{\"size\":\"12G\"}", &r) == 409, "growing past an area: 409");
	like(err_message(r), "needs 10G more in its area", "... naming the area and what it lacks");
	json_object_put(r);
	ok(post("/v1/volumes/m/resize", "{\"size\":\"100G\"}", &r) == 409,
	   "growing past what the images were made for: 409");
	like(err_message(r), "was made to grow to at most 16G (its dirty-region map covers that), "
	     "and would need 100G", "... naming the limit and why");
	json_object_put(r);
	is_int(post("/v1/volumes/m/resize", "{\"size\":\"3G\"}", &r), 200, "m grows to 3G");
	is_str(jstr(member(r, "resize"), "step"), "parts", "... the leg first");
	is_int(pm_int(r, "size"), 2 * G, "... the volume 2G until the serving node has grown");
	json_object_put(r);
	d = desired(2);
	is_int(pm_int(member(desired_vol(d, "m"), "lun"), "size"), 3 * G, "the leg's LUN is to be 3G");
	is_int(pm_int(json_object_array_get_idx(member(desired_vol(d, "m"), "images"), 0), "size"),
	       3 * G, "... its image too");
	is_int(pm_int(json_object_array_get_idx(member(desired_vol(d, "m"), "images"), 0), "max_size"),
	       16 * G, "... whose max_size stays what it was made for");
	json_object_put(d);
	d = desired(1);
	is_int(pm_int(member(desired_vol(d, "m"), "lun"), "size"), 2 * G,
	       "the primary's not yet");
	json_object_put(d);
	actual(2, "m", "ready", NULL);
	report_all();
	d = desired(1);
	is_int(pm_int(member(desired_vol(d, "m"), "lun"), "size"), 3 * G,
	       "the leg grown, the primary's LUN is to be 3G");
	json_object_put(d);
	actual(1, "m", "ready", "{\"size\":2147483648}");
	report_all();
	v = volume_shown("m");
	is_int(pm_int(v, "size"), 2 * G, "the serving node still at 2G: the volume too");
	json_object_put(v);
	actual(1, "m", "ready", "{\"size\":3221225472}");
	report_all();
	v = volume_shown("m");
	is_int(pm_int(v, "size"), 3 * G, "it reports 3G: the volume is 3G");
	ok(!member(v, "resize"), "... the resize done");
	json_object_put(v);

}

static void test_resize_integrated(void)
{
	json_object *r = NULL, *d, *v;
	char extra[512];

	is_int(post("/v1/volumes/big/resize", "{\"size\":\"19G\"}", &r), 200, "the integrated volume grows");
	is_int(pm_int(part(r, 2), "size"), 4 * G, "... by its last part");
	is_int(pm_int(part(r, 0), "size"), 10 * G, "... not its first");
	json_object_put(r);
	actual(2, "big", "ready", NULL);
	report_all();
	d = desired(0);
	like(jstr(member(desired_vol(d, "big"), "lun"), "bsopts"), "/1:0:4294967296;pr=cluster",
	     "the last part grown, the serving LUN's last extent is 4G, still with pr=cluster");
	is_int(pm_int(member(desired_vol(d, "big"), "lun"), "size"), 19 * G, "... and its size 19G");
	json_object_put(d);
	snprintf(extra, sizeof(extra), "{\"size\":%lld}", 19 * G);
	actual(0, "big", "ready", extra);
	report_all();
	v = volume_shown("big");
	is_int(pm_int(v, "size"), 19 * G, "the integrated volume is 19G");
	json_object_put(v);
}

static void test_lend(void)
{
	json_object *r = NULL, *b, *d, *l;
	char secret[32] = "";

	int64_t since = revision_now();
	char path[64];

	ok(post("/v1/volumes/d1/lend", "{\"initiator\":\"iqn.2025-13.com.example:h\"}", &r) == 400 &&
	   !strcmp(err_field(r), "initiator"), "an initiator name with month 13: 400");
	json_object_put(r);
	ok(post("/v1/volumes/d1/lend", "{\"initiator\":\"host1\"}", &r) == 400, "not an iSCSI name: 400");
	like(err_message(r), "iqn.YYYY-MM.reversed.domain", "... saying what one looks like");
	json_object_put(r);
	is_int(post("/v1/volumes/d1/lend", "{\"initiator\":\"iqn.1994-05.com.redhat:host1\"}", &r), 200,
	       "d1 is lent to host1");
	b = member(r, "borrower");
	is_int(strlen(jstr(b, "chap_secret")), 16, "... with a CHAP secret of 16 characters");
	like(jstr(b, "chap_user"), "ll-", "... and a user");
	snprintf(secret, sizeof(secret), "%s", jstr(b, "chap_secret"));
	json_object_put(r);
	d = desired(0);
	l = member(desired_vol(d, "d1"), "lun");
	is_str(json_object_get_string(json_object_array_get_idx(member(l, "acl"), 0)),
	       "iqn.1994-05.com.redhat:host1", "db1's LUN admits the borrower");
	is_str(jstr(member(l, "chap"), "secret"), secret, "... with the account");
	json_object_put(d);
	ok(post("/v1/volumes/d1/lend", "{\"initiator\":\"iqn.1994-05.com.redhat:host2\"}", &r) == 409,
	   "lent again: 409");
	like(err_message(r), "lent to iqn.1994-05.com.redhat:host1", "... naming the borrower");
	json_object_put(r);
	r = volume_shown("d1");
	is_str(jstr(member(r, "borrower"), "chap_secret"), secret, "the admin sees the secret");
	json_object_put(r);
	call(nodes[1].c, "GET", "/v1/volumes/d1", NULL, &r, NULL);
	is_str(jstr(member(r, "borrower"), "chap_secret"), "(hidden)", "a node does not");
	json_object_put(r);
	call(admin, "GET", "/v1/volumes", NULL, &r, NULL);
	ok(r && !strstr(pm_text(r), secret), "nor does the list");
	json_object_put(r);
	snprintf(path, sizeof(path), "/v1/events?since=%lld", (long long)since);
	call(admin, "GET", path, NULL, &r, NULL);
	ok(r && strstr(pm_text(r), "ll-") && !strstr(pm_text(r), secret),
	   "nor do the events (the record's nor the desired LUN's)");
	json_object_put(r);
	ok(call(admin, "DELETE", "/v1/volumes/d1", NULL, &r, NULL) == 409, "a lent volume is not deleted");
	like(err_message(r), "return it first ('lunlinkctl return d1')",
	     "... saying which command returns it");
	json_object_put(r);
	is_int(post("/v1/volumes/d1/return", NULL, &r), 200, "d1 is returned");
	ok(!member(r, "borrower"), "... no borrower");
	json_object_put(r);
	d = desired(0);
	l = member(desired_vol(d, "d1"), "lun");
	is_int(json_object_array_length(member(l, "acl")), 0, "db1's LUN admits nobody");
	ok(!member(l, "chap"), "... and has no account");
	json_object_put(d);
	ok(post("/v1/volumes/d1/return", NULL, &r) == 409, "returned again: 409");
	like(err_message(r), "('lunlinkctl lend d1 --to IQN' lends it)", "... saying which command lends it");
	json_object_put(r);
}

/* The area at path as GET /v1/areas shows it (put it), or NULL. */
static json_object *area_listed(const char *path)
{
	json_object *r = NULL, *list, *a = NULL;

	call(admin, "GET", "/v1/areas", NULL, &r, NULL);
	list = member(r, "areas");
	for (size_t i = 0; !a && list && i < json_object_array_length(list); i++)
		if (!strcmp(jstr(json_object_array_get_idx(list, i), "path"), path))
			a = json_object_get(json_object_array_get_idx(list, i));
	json_object_put(r);
	return a;
}

static int64_t area_used(const char *path)
{
	json_object *a = area_listed(path);
	int64_t used = a ? pm_int(a, "used") : -1;

	json_object_put(a);
	return used;
}

static void test_delete(void)
{
	json_object *r = NULL, *d, *dv;

	is_int(call(admin, "DELETE", "/v1/volumes/d2", NULL, &r, NULL), 200, "d2 is deleted");
	is_str(jstr(r, "state"), "deleting", "... deleting: db1 has it");
	json_object_put(r);
	d = desired(0);
	dv = desired_vol(d, "d2");
	ok(dv && json_object_get_boolean(member(dv, "delete")), "db1 is told to delete it");
	ok(dv && !member(dv, "lun"), "... no LUN");
	is_str(jstr(json_object_array_get_idx(member(dv, "delete_images"), 0), "path"), "/srv/s/d2.img",
	       "... and its image removed");
	json_object_put(d);
	is_int(area_used("/srv/s"), 2 * G, "its area's use stays while it is deleting");
	ok(restart() == 0, "the manager restarts in the middle");
	r = volume_shown("d2");
	is_str(jstr(r, "state"), "deleting", "d2 is still deleting");
	json_object_put(r);
	actual(0, "d2", "ready", NULL);
	report_all();
	is_int(call(admin, "GET", "/v1/volumes/d2", NULL, NULL, NULL), 404,
	       "db1 says its part is gone: the volume is gone");
	is_int(area_used("/srv/s"), G, "... and its area's use drops");
	d = desired(0);
	ok(!desired_vol(d, "d2"), "... its desired state too");
	json_object_put(d);
	json_object_object_del(nodes[0].vols, "d2");
}

static void test_failed_and_removal(void)
{
	json_object *r = NULL;

	is_int(post("/v1/volumes", "{\"name\":\"f\",\"way\":\"single\",\"size\":\"512M\",\"on\":[\"db1\"]}",
		    &r), 201, "a volume on db1");
	json_object_put(r);
	ok(post("/v1/volumes/f/lend", "{\"initiator\":\"iqn.1994-05.com.redhat:h\"}", &r) == 409,
	   "it is not lent while creating");
	like(err_message(r), "volume f is creating", "... saying so");
	json_object_put(r);
	actual(0, "f", "failed", "{\"error\":\"lunlink-image: no space left on device\"}");
	report_all();
	r = volume_shown("f");
	is_str(jstr(r, "state"), "failed", "db1 cannot make it: failed");
	is_str(jstr(r, "step"), "node db1", "... at db1's step");
	is_str(jstr(r, "error"), "node db1: lunlink-image: no space left on device", "... in its words");
	json_object_put(r);
	is_int(call(admin, "DELETE", "/v1/volumes/f", NULL, &r, NULL), 200, "the failed volume is deleted");
	is_str(jstr(r, "state"), "deleting", "... deleting while db1 still lists it");
	json_object_put(r);
	is_int(call(admin, "DELETE", "/v1/nodes/db1", NULL, &r, NULL), 409,
	       "db1 is not removed while it holds other volumes' parts");
	like(err_message(r), "volume big", "... naming one, not the deleting one");
	json_object_put(r);
	json_object_object_del(nodes[0].vols, "f");
	report_all();
	is_int(call(admin, "GET", "/v1/volumes/f", NULL, NULL, NULL), 404,
	       "db1 no longer lists it: gone");
}

/* A creating record and desired keys, as a manager killed after its
 * transaction would have left them. */
/* A node's report of an area is as old as its last heartbeat: a volume
 * placed since counts, and the room it took is not given twice. */
static void test_stale_report(void)
{
	json_object *r = NULL, *a;

	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db3\",\"path\":\"/srv/t\",\"size\":\"1G\"}",
		    NULL, NULL), 201, "db3 gets a 1G area");
	nodes[2].areas = json_tokener_parse("[{\"path\":\"/srv/t\",\"size\":1073741824,"
					    "\"used\":0,\"free\":1073741824}]");
	report_all();
	a = area_listed("/srv/t");
	is_int(pm_int(a, "free"), G, "db3 reports it empty");
	is_str(jstr(a, "usage_from"), "report", "... and the area list says so");
	json_object_put(a);
	is_int(post("/v1/volumes", "{\"name\":\"t1\",\"way\":\"divided\",\"size\":\"600M\","
		    "\"on\":[\"db3\"]}", &r), 201, "a divided volume of 600M on db3");
	is_str(jstr(part(r, 0), "path"), "/srv/t/t1.img", "... best fit: in the new area");
	json_object_put(r);
	a = area_listed("/srv/t");
	is_int(pm_int(a, "used"), 600LL << 20, "before db3 reports it, the area's use counts it");
	is_int(pm_int(a, "free"), G - (600LL << 20), "... and its free space");
	is_str(jstr(a, "usage_from"), "manager", "... from the manager's count");
	json_object_put(a);
	post("/v1/volumes", "{\"name\":\"t2\",\"way\":\"divided\",\"size\":\"600M\","
	     "\"on\":[\"db3\"]}", &r);
	ok(!member(r, "parts") || strcmp(jstr(part(r, 0), "path"), "/srv/t/t2.img"),
	   "a second one does not go where the first took the room");
	json_object_put(r);
	json_object_put(nodes[2].areas);
	nodes[2].areas = json_tokener_parse("[{\"path\":\"/srv/t\",\"size\":1073741824,"
					    "\"used\":700000000,\"free\":373741824}]");
	report_all();
	a = area_listed("/srv/t");
	is_int(pm_int(a, "used"), 700000000, "a report of more use than the manager's count is taken");
	is_str(jstr(a, "usage_from"), "report", "... saying so");
	json_object_put(a);
	json_object_put(nodes[2].areas);
	nodes[2].areas = NULL;
}

static void put_creating(const char *name, const char *node_id, const char *node_name,
			 bool with_desired)
{
	char key[PS_KEY_MAX + 1], val[1024];
	int64_t rev = revision_now() + 1;
	json_object *node;

	snprintf(val, sizeof(val), "{\"name\":\"%s\",\"id\":\"%016llx\",\"way\":\"single\",\"size\":1073741824,"
		 "\"copies\":1,\"state\":\"creating\",\"step\":\"\",\"error\":\"\",\"created_revision\":%lld,"
		 "\"parts\":[{\"node\":\"%s\",\"node_name\":\"%s\",\"area\":\"0\",\"path\":\"/srv/a/%s.img\","
		 "\"size\":1073741824,\"role\":\"primary\",\"state\":\"creating\"}],\"borrower\":null}",
		 name, (long long)rev, (long long)rev, node_id, node_name, name);
	pm_key(key, "volumes/%s", name);
	ps_put(st, key, val, strlen(val), 0, NULL);
	if (!with_desired)
		return;
	snprintf(val, sizeof(val), "{\"images\":[],\"lun\":null}");
	pm_key(key, "desired/%s/%s", node_id, name);
	ps_put(st, key, val, strlen(val), 0, NULL);
	/* and the node told (its desired_revision), as in the one transaction */
	pm_key(key, "nodes/%s", node_id);
	node = pm_get(m, key, NULL);
	if (!node)
		return;
	json_object_object_add(node, "desired_revision", json_object_new_int64(revision_now() + 1));
	ps_put(st, key, pm_text(node), strlen(pm_text(node)), 0, NULL);
	json_object_put(node);
}

static void test_interrupted(void)
{
	json_object *r;

	put_creating("c1", nodes[0].id, "db1", true);
	put_creating("c2", "00000000000000ff", "db9", true);
	put_creating("c3", nodes[0].id, "db1", false);
	ok(restart() == 0, "the manager restarts with three creations under way");
	r = volume_shown("c2");
	is_str(jstr(r, "state"), "failed", "c2, whose node is gone, is failed");
	is_str(jstr(r, "step"), "placement", "... at the placement");
	like(jstr(r, "error"), "node db9 (00000000000000ff), which was to hold its primary, is gone",
	     "... naming the node");
	json_object_put(r);
	r = volume_shown("c3");
	is_str(jstr(r, "state"), "failed", "c3, whose node was never told, is failed");
	is_str(jstr(r, "step"), "desired state", "... at the desired state");
	json_object_put(r);
	r = volume_shown("c1");
	is_str(jstr(r, "state"), "creating", "c1 is creating still");
	json_object_put(r);
	actual(0, "c1", "ready", NULL);
	report_all();
	r = volume_shown("c1");
	is_str(jstr(r, "state"), "ready", "... and ready when its node says so");
	json_object_put(r);
}

int main(void)
{
	if (harness_begin("policy-volumes", 2))
		return done_testing();
	setup_nodes();
	test_divided();
	test_doubled();
	test_sync_state();
	test_resize();
	test_integrated();
	test_resize_integrated();
	test_lend();
	test_delete();
	test_failed_and_removal();
	test_interrupted();
	test_stale_report();
	for (size_t i = 0; i < 3; i++) {
		pa_client_free(nodes[i].c);
		json_object_put(nodes[i].vols);
	}
	return harness_end();
}
