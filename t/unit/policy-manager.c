// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-manager.c: the manager (policy/manager.h) in one process, as the
 * daemon runs it: a SQLite store in a scratch folder, the API server on
 * 127.0.0.1 port 0 (TLS and join) and a Unix socket, the event loop
 * stepped by the test.  The calls go through the library's client
 * (client.h), in a thread while the loop turns: the local admin by the
 * Unix socket, nodes by TLS with the certificates they joined for.
 *
 * The story: tokens are made and refused; two nodes join (unique ids, a
 * taken name refused); reports make a node online, its lease's expiry
 * offline, its next report online again, each an event in order; events
 * since a compacted revision are 410; a follower gets changes as they
 * commit and is bounded; areas are added, listed, refused and removed;
 * bad requests name their field; a removed node's certificate is refused;
 * and all of it survives the manager made again on the same store file.
 */
#include "pm_harness.h"

/* ---- the story ---- */

static char db1_id[PM_ID_LEN + 1], db2_serial[PCA_SERIAL_MAX];

static void test_tokens_and_join(void)
{
	char err[512] = "", *t1, *t2, *t3, *t4;
	json_object *r = NULL;

	ok(call(admin, "POST", "/v1/tokens", "{\"role\":\"king\"}", &r, NULL) == 400 &&
	   !strcmp(err_field(r), "role"), "a token for an unknown role is refused naming 'role'");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/tokens", "{\"ttl\":0}", &r, NULL) == 400 &&
	   !strcmp(err_field(r), "ttl"), "a token with ttl 0 is refused naming 'ttl'");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/tokens", "{\"colour\":1}", &r, NULL) == 400 &&
	   !strcmp(err_field(r), "colour"), "an unknown field is refused by name");
	json_object_put(r);

	t1 = make_token("node");
	t2 = make_token("node");
	t3 = make_token("node");
	t4 = make_token("admin");
	ok(t1 && t2 && t3 && t4 && strlen(t1) == PCA_TOKEN_LEN, "tokens are made by the local admin");
	if (!t1 || !t2 || !t3 || !t4)
		goto out;
	ok(join(t1, "db1", err) == 0, "db1 joins (%s)", err);
	ok(join(t1, "db9", err) < 0, "a used token is refused");
	like(err, "used", "... saying it was used");
	ok(join(t2, "db2", err) == 0, "db2 joins (%s)", err);
	ok(join(t3, "db1", err) < 0, "a second db1 is refused");
	like(err, "taken by node", "... naming the node that has the name (%s)", err);
	ok(join(t3, "report", err) < 0, "a node may not be named 'report'");
	ok(join(t4, "ops", err) == 0, "an admin joins with an admin token (%s)", err);

	call(admin, "GET", "/v1/nodes", NULL, &r, NULL);
	{
		json_object *a = find_node(r, "db1"), *b = find_node(r, "db2");

		ok(a && b, "both nodes are listed");
		is_int(strlen(jstr(a, "id")), PM_ID_LEN, "an id is 16 hex digits");
		ok(strcmp(jstr(a, "id"), jstr(b, "id")) < 0, "ids are unique and grow (%s, %s)",
		   jstr(a, "id"), jstr(b, "id"));
		is_int(strtoll(jstr(a, "id"), NULL, 16), pm_int(a, "joined_revision"),
		       "the id is the join's revision");
		is_str(jstr(a, "state"), "offline", "a node is offline until it reports");
		snprintf(db1_id, sizeof(db1_id), "%s", jstr(a, "id"));
		snprintf(db2_serial, sizeof(db2_serial), "%s", jstr(b, "serial"));
	}
	json_object_put(r);
out:
	free(t1);
	free(t2);
	free(t3);
	free(t4);
}

static const char report1[] =
	"{\"address\":\"127.0.0.1\",\"portals\":[\"127.0.0.1:3260\"],\"tgt_version\":\"1.0.85\","
	"\"tgtd\":{\"up\":true,\"version\":\"1.0.85\"},"
	"\"areas\":[{\"path\":\"/srv/r\",\"size\":\"10G\",\"used\":\"1G\",\"free\":\"9G\"}],"
	"\"luns\":[],\"volumes\":{}}";

static void test_online_offline(struct pa_client *db1)
{
	json_object *r = NULL, *evs;
	char path[64], err[512], alive[64];
	int64_t before = revision_now(), last = 0, gone = 0;
	const char *states[3] = { "online", "offline", "online" };
	int seen = 0;

	is_int(call(db1, "POST", "/v1/nodes/report", report1, &r, err), 200, "db1 reports (%s)",
	       err);
	is_str(jstr(r, "id"), db1_id, "... and is told its id");
	json_object_put(r);
	is_str(node_state("db1"), "online", "a report makes it online");
	is_str(node_state("db2"), "offline", "db2, silent, is offline");
	wait_ms(500);
	is_int(call(db1, "POST", "/v1/nodes/report", report1, NULL, NULL), 200, "db1 reports again");
	is_str(node_state("db1"), "online", "... and stays online");
	wait_ms(2600);
	is_str(node_state("db1"), "offline", "after offline_after with no report it is offline");
	is_int(call(db1, "POST", "/v1/nodes/report", report1, NULL, NULL), 200, "db1 reports");
	is_str(node_state("db1"), "online", "... and is online again");

	snprintf(path, sizeof(path), "/v1/events?since=%lld", (long long)before);
	is_int(call(admin, "GET", path, NULL, &r, NULL), 200, "the events since are read");
	if (json_object_object_get_ex(r, "events", &evs)) {
		char key[64];

		snprintf(key, sizeof(key), "/lunlink/nodes/%s", db1_id);
		snprintf(alive, sizeof(alive), "/lunlink/alive/%s", db1_id);
		for (size_t i = 0; i < json_object_array_length(evs); i++) {
			json_object *e = json_object_array_get_idx(evs, i), *v;
			int64_t rev = pm_int(e, "revision");

			ok(rev > before && rev >= last, "event %zu's revision %lld is in order", i,
			   (long long)rev);
			last = rev;
			if (!strcmp(jstr(e, "key"), alive) && !strcmp(jstr(e, "type"), "delete"))
				gone = rev;
			if (strcmp(jstr(e, "key"), key) || !json_object_object_get_ex(e, "value", &v))
				continue;
			if (seen < 3 && !strcmp(jstr(v, "state"), states[seen])) {
				/* online: since the report that made it; offline: since
				 * its alive key went (the lease's expiry), just before */
				is_int(pm_int(v, "since"), seen == 1 ? gone : rev, "the %s transition "
				       "is since revision %lld", states[seen],
				       (long long)(seen == 1 ? gone : rev));
				seen++;
			}
		}
	}
	is_int(seen, 3, "online, offline, online are events of db1's record, in order");
	json_object_put(r);
}

static void test_compacted(void)
{
	json_object *r = NULL;

	ok(ps_compact(st, revision_now()) == 0, "the store's history is compacted to now");
	is_int(call(admin, "GET", "/v1/events?since=1", NULL, &r, NULL), 410,
	       "events since a compacted revision: 410");
	is_int(pm_int(r, "revision"), revision_now(), "... with the revision to start afresh from");
	like(err_message(r), "read the state afresh", "... and what to do");
	json_object_put(r);
	ok(call(admin, "GET", "/v1/events?since=x", NULL, &r, NULL) == 400 &&
	   !strcmp(err_field(r), "since"), "a since that is not a number: 400 naming 'since'");
	json_object_put(r);
}

static void test_follow(void)
{
	static const char req[] = "GET /v1/events?follow=1 HTTP/1.1\r\nHost: l\r\n\r\n";
	char buf[16384] = "", buf2[4096] = "", buf3[4096] = "";
	int a = raw_open(req), b, c;

	ok(a >= 0 && raw_until(a, buf, sizeof(buf), "chunked", 2000),
	   "a follower gets a chunked stream");
	call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/f\",\"size\":\"1G\"}",
	     NULL, NULL);
	ok(raw_until(a, buf, sizeof(buf), "/srv/f", 2000), "... and the change as it commits");
	like(buf, "\"type\":\"put\"", "... as a JSON line");
	b = raw_open(req);
	ok(b >= 0 && raw_until(b, buf2, sizeof(buf2), "chunked", 2000), "a second follower");
	c = raw_open(req);
	ok(c >= 0 && raw_until(c, buf3, sizeof(buf3), "followers", 2000) && strstr(buf3, " 503 "),
	   "a third is refused with 503 naming the bound");
	is_int(m->nfollowers, 2, "two followers are held");
	close(a);
	close(c);
	raw_until(b, buf2, sizeof(buf2), "never", 300);
	is_int(m->nfollowers, 1, "a follower that goes away is closed");
	close(b);
	raw_until(-1, buf3, sizeof(buf3), "never", 200);
	is_int(m->nfollowers, 0, "... the other too");
}

static void test_areas(struct pa_client *db1)
{
	json_object *r = NULL, *list;
	char path[128], id[PM_ID_LEN + 1] = "";
	bool found_r = false;

	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/a\",\"size\":\"10G\"}",
		    &r, NULL), 201, "an area is added to db1");
	snprintf(id, sizeof(id), "%s", jstr(r, "id"));
	is_str(jstr(r, "kind"), "dir", "... a directory");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/a\",\"size\":\"1G\"}",
		&r, NULL) == 409 && !strcmp(err_field(r), "path"), "the same path again: 409, 'path'");
	like(err_message(r), id, "... naming the area that has it");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/a/b\",\"size\":\"1G\"}",
		&r, NULL) == 409, "a path inside an area is refused");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/areas", "{\"node\":\"nope\",\"path\":\"/srv/x\",\"size\":\"1G\"}",
		&r, NULL) == 404 && !strcmp(err_field(r), "node"), "an unknown node: 404, 'node'");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"srv/x\",\"size\":\"1G\"}",
		&r, NULL) == 400 && !strcmp(err_field(r), "path"), "a relative path: 400, 'path'");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/../x\",\"size\":\"1G\"}",
		&r, NULL) == 400 && !strcmp(err_field(r), "path"), "a path with '..': 400, 'path'");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/x\",\"size\":\"10X\"}",
		&r, NULL) == 400 && !strcmp(err_field(r), "size"), "a bad size: 400, 'size'");
	json_object_put(r);
	ok(call(db1, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/y\",\"size\":\"1G\"}",
		&r, NULL) == 403, "a node may not add areas");
	json_object_put(r);
	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db1\",\"path\":\"/srv/r\",\"size\":\"10G\"}",
		    NULL, NULL), 201, "an area the node reports");

	is_int(call(db1, "GET", "/v1/areas", NULL, &r, NULL), 200, "a node lists the areas");
	if (json_object_object_get_ex(r, "areas", &list)) {
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			json_object *a = json_object_array_get_idx(list, i);

			if (!strcmp(jstr(a, "path"), "/srv/a")) {
				is_str(jstr(a, "node"), "db1", "the area names its node");
				is_int(pm_int(a, "used"), 0, "an empty area: used 0 by the manager's count");
				is_int(pm_int(a, "free"), 10LL << 30, "... free its size");
			}
			if (!strcmp(jstr(a, "path"), "/srv/r")) {
				found_r = true;
				is_int(pm_int(a, "used"), 1LL << 30, "a reported area: used as reported");
				is_str(jstr(a, "usage_from"), "report", "... saying so");
			}
		}
	}
	ok(found_r, "the reported area is listed");
	json_object_put(r);

	snprintf(path, sizeof(path), "/v1/areas/db1/%s", id);
	is_int(call(admin, "DELETE", path, NULL, NULL, NULL), 200, "the area is removed");
	is_int(call(admin, "DELETE", path, NULL, &r, NULL), 404, "removing it again: 404");
	json_object_put(r);
	ok(call(admin, "DELETE", "/v1/areas/db1", NULL, &r, NULL) == 400 &&
	   !strcmp(err_field(r), "path"), "a removal without an id: 400, 'path'");
	json_object_put(r);
}

static void test_bad_report(struct pa_client *db1)
{
	json_object *r = NULL;

	ok(call(db1, "POST", "/v1/nodes/report", "{\"areas\":[{\"path\":\"rel\",\"size\":1}]}",
		&r, NULL) == 400, "a report with a relative area path: 400");
	is_str(err_field(r), "areas[0].path", "... naming the field by its place");
	json_object_put(r);
	ok(call(db1, "POST", "/v1/nodes/report", "{\"volumes\":{\"v\":{\"state\":\"odd\"}}}",
		&r, NULL) == 400, "a volume in an unknown state: 400");
	is_str(err_field(r), "volumes.v.state", "... naming it");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/nodes/report", "{}", &r, NULL) == 403,
	   "the local admin is no node to report");
	json_object_put(r);
}

static json_object *desired_of(struct pa_client *c)
{
	json_object *r = NULL;

	call(c, "GET", "/v1/nodes/desired", NULL, &r, NULL);
	return r;
}

static void test_volumes(struct pa_client *db1)
{
	struct pa_client *db2 = node_client("db2");
	json_object *r = NULL, *d, *vols, *v, *lun;
	char report[256];
	int64_t want;

	is_int(call(db1, "POST", "/v1/nodes/report", report1, NULL, NULL), 200, "db1 reports");
	ok(call(admin, "POST", "/v1/volumes", "{\"name\":\"big\",\"way\":\"single\",\"size\":\"20G\"}",
		&r, NULL) == 409 && !strcmp(err_field(r), "size"), "a volume no area can hold: 409");
	like(err_message(r), "no node with 20G free in an area (db1: 9G free, db2: offline)",
	     "... naming what each node lacks");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/volumes", "{\"name\":\"v\",\"way\":\"mirrored\",\"size\":\"1G\"}",
		&r, NULL) == 400 && !strcmp(err_field(r), "way"), "an unknown way: 400, 'way'");
	json_object_put(r);
	ok(call(admin, "POST", "/v1/volumes", "{\"name\":\"v\",\"way\":\"single\",\"size\":\"1G\",\"copies\":2}",
		&r, NULL) == 400 && !strcmp(err_field(r), "copies"), "a single volume of 2 copies: 400");
	json_object_put(r);

	is_int(call(admin, "POST", "/v1/volumes", "{\"name\":\"v1\",\"way\":\"single\",\"size\":\"2G\"}",
		    &r, NULL), 201, "a single volume is made");
	is_str(jstr(r, "state"), "creating", "... creating");
	like(r ? pm_text(r) : "", "/srv/r/v1.img", "... in the area with the most free space");
	json_object_put(r);
	d = desired_of(db1);
	want = pm_int(d, "desired_revision");
	ok(json_object_object_get_ex(d, "volumes", &vols) &&
	   json_object_object_get_ex(vols, "v1", &v) && json_object_object_get_ex(v, "lun", &lun) &&
	   !strcmp(jstr(lun, "bstype"), "lunlink"), "db1's desired state has v1's lunlink LUN");
	json_object_put(d);
	snprintf(report, sizeof(report), "{\"volumes\":{\"v1\":{\"state\":\"ready\",\"desired_revision\":%lld}}}",
		 (long long)want);
	is_int(call(db1, "POST", "/v1/nodes/report", report, NULL, NULL), 200,
	       "db1 reports v1 ready");
	wait_ms(50);
	call(admin, "GET", "/v1/volumes/v1", NULL, &r, NULL);
	is_str(jstr(r, "state"), "ready", "the volume is ready when its node says so");
	json_object_put(r);

	/* db2 online with an area: a doubled volume */
	is_int(call(admin, "POST", "/v1/areas", "{\"node\":\"db2\",\"path\":\"/srv/d2\",\"size\":\"5G\"}",
		    NULL, NULL), 201, "db2 gets an area");
	is_int(call(db2, "POST", "/v1/nodes/report", "{\"address\":\"127.0.0.2\"}", NULL, NULL), 200,
	       "db2 reports");
	call(db1, "POST", "/v1/nodes/report", report1, NULL, NULL);
	is_int(call(admin, "POST", "/v1/volumes", "{\"name\":\"m1\",\"way\":\"doubled\",\"size\":\"1G\",\"on\":[\"db1\",\"db2\"]}",
		    &r, NULL), 201, "a doubled volume on db1 and db2");
	json_object_put(r);
	d = desired_of(db1);
	like(d ? pm_text(d) : "", "mirror=iscsi://127.0.0.2:3260/iqn.2026-11.org.lunlink.cluster:vol-",
	     "the primary mirrors to its leg on db2");
	json_object_put(d);
	d = desired_of(db2);
	like(d ? pm_text(d) : "", "\"bsopts\":\"raw=on\"", "the leg exports its image raw");
	json_object_put(d);
	ok(call(admin, "DELETE", "/v1/nodes/db2", NULL, &r, NULL) == 409, "db2 holds a leg: not removed");
	like(err_message(r), "volume m1", "... naming the volume");
	json_object_put(r);
	is_int(call(admin, "DELETE", "/v1/volumes/m1", NULL, NULL, NULL), 200, "the doubled volume is deleted");
	d = desired_of(db2);
	ok(d && !strstr(pm_text(d), "m1"), "... and gone from the leg's desired state");
	json_object_put(d);
	pa_client_free(db2);
}

static void test_removed(void)
{
	json_object *r = NULL;
	char err[512];
	struct pa_client *db2 = node_client("db2");

	is_int(call(db2, "POST", "/v1/nodes/report", "{}", NULL, err), 200, "db2 reports (%s)", err);
	is_int(call(admin, "DELETE", "/v1/nodes/db2", NULL, &r, NULL), 200, "db2 is removed");
	is_str(jstr(r, "revoked"), db2_serial, "... its certificate revoked");
	json_object_put(r);
	ok(pm_manager_revoked(m, db2_serial), "the TLS hook refuses its serial");
	/* refused at the handshake if the client connects anew, by the
	 * authorize hook on the connection it kept alive */
	ok(call(db2, "POST", "/v1/nodes/report", "{}", &r, err) != 200,
	   "db2's certificate is refused (%s)", err);
	json_object_put(r);
	pa_client_free(db2);
	db2 = node_client("db2");
	ok(call(db2, "POST", "/v1/nodes/report", "{}", &r, err) == 0,
	   "a new connection with it fails its handshake (%s)", err);
	pa_client_free(db2);
	json_object_put(r);
	is_int(call(admin, "GET", "/v1/nodes/db2", NULL, NULL, NULL), 404, "db2 is gone");
}

static void test_unregistered(void)
{
	char err[512], *key = NULL, *csr = NULL, *cert = NULL, path[PATH_MAX];
	const char *hosts[] = { "127.0.0.1", NULL };
	struct pca_sign_opts so = { .role = PCA_ROLE_NODE, .name = "ghost", .hosts = hosts };
	struct pca_ca *ca = pca_load(ca_dir, err, sizeof(err));
	struct pa_client *g;
	json_object *r = NULL;
	FILE *f;

	if (!ca || pca_make_key_csr("ghost", &key, &csr, err, sizeof(err)) ||
	    pca_sign(ca, csr, &so, &cert, err, sizeof(err))) {
		ok(0, "a ghost certificate is made (%s)", err);
		goto out;
	}
	path_in(path, sizeof(path), "ghost.key");
	f = fopen(path, "w");
	fputs(key, f);
	fclose(f);
	chmod(path, 0600);
	path_in(path, sizeof(path), "ghost.crt");
	f = fopen(path, "w");
	fputs(cert, f);
	fclose(f);
	g = node_client("ghost");
	ok(call(g, "POST", "/v1/nodes/report", "{}", &r, NULL) == 403,
	   "a node certificate the manager never registered: 403");
	like(err_message(r), "not registered", "... saying why");
	json_object_put(r);
	pa_client_free(g);
out:
	free(key);
	free(csr);
	free(cert);
	pca_free(ca);
}

static void test_status_metrics(void)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n";
	char buf[16384] = "";
	json_object *r = NULL;
	int fd;

	is_int(call(admin, "GET", "/v1/status", NULL, &r, NULL), 200, "the status is read");
	ok(json_object_object_get_ex(r, "nodes", NULL) && json_object_object_get_ex(r, "areas", NULL) &&
	   json_object_object_get_ex(r, "volumes", NULL), "... with nodes, areas and volumes");
	json_object_put(r);
	fd = raw_open(req);
	ok(fd >= 0 && raw_until(fd, buf, sizeof(buf), "lunlink_resync_bytes_left 0", 2000),
	   "/metrics shows lunlink_resync_bytes_left");
	like(buf, "lunlink_nodes{state=\"online\"} 2", "... the nodes online");
	like(buf, "lunlink_api_errors_total ", "... the API's errors");
	like(buf, "lunlink_volumes{state=\"ready\"} 1", "... the volumes by state");
	if (fd >= 0)
		close(fd);
}

static void test_restart(void)
{
	json_object *r = NULL;
	char path[64];

	stop();
	ok(start(2) == 0, "the manager is made again on the same store file");
	pa_client_free(admin);
	admin = local_client();
	call(admin, "GET", "/v1/nodes", NULL, &r, NULL);
	is_str(jstr(find_node(r, "db1"), "id"), db1_id, "db1 keeps its id");
	ok(!find_node(r, "db2"), "db2 stays removed");
	json_object_put(r);
	ok(pm_manager_revoked(m, db2_serial), "db2's serial is still revoked");
	snprintf(path, sizeof(path), "/v1/nodes/db1");
	is_int(call(admin, "GET", path, NULL, &r, NULL), 200, "db1 is read with its report");
	like(r ? pm_text(r) : "", "/srv/r", "... which survived");
	json_object_put(r);
	call(admin, "GET", "/v1/areas", NULL, &r, NULL);
	like(r ? pm_text(r) : "", "/srv/f", "the areas survived");
	json_object_put(r);
}

int main(void)
{
	struct pa_client *db1 = NULL;

	if (harness_begin("policy-manager", 2))
		return done_testing();
	test_tokens_and_join();
	db1 = node_client("db1");
	if (db1) {
		test_online_offline(db1);
		test_bad_report(db1);
		test_compacted();
		test_follow();
		test_areas(db1);
		test_volumes(db1);
		test_unregistered();
		test_status_metrics();
		test_removed();
		test_restart();
	}
	pa_client_free(db1);
	pa_client_free(admin);
	stop();
	event_base_free(base);
	return done_testing();
}
