// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy-client-list.c: the API's clients, blocking and asynchronous,
 * given several managers (client.h): they pass a dead one and one that
 * answers 503, follow a follower's 307 to the leader with the body and
 * our certificate, remember who answered, stop at a 4xx, send a write
 * that may have been received no further, and name every manager tried
 * when none would do.
 *
 * The managers are stand-ins on real TLS sockets: the library's own
 * server (http.h) with a route that plays each part (an echo, a
 * follower that redirects, one that knows no leader, one that refuses,
 * one that never answers), in this process's loop; the blocking client
 * runs in a thread meanwhile (pm_harness.h), the asynchronous one on the
 * loop.  The real manager of the harness is there for db1's certificate.
 */
#include "pm_harness.h"

#include <event2/http.h>
#include <netinet/in.h>

enum part { ECHO, FOLLOWER, NO_LEADER, REFUSER, SILENT };

struct stand_in {
	enum part part;
	const char *name;
	char to[64];			/* FOLLOWER: the leader's base URL */
	struct pa_server *srv;
	char url[64];
	int hits;
	char body[256];			/* the last request's body */
	char caller[160];		/* and who sent it */
	struct pa_request *parked;	/* SILENT: the request it holds */
	struct pa_route routes[2];	/* the server keeps a pointer to them */
};

static void parked_gone(void *arg)
{
	((struct stand_in *)arg)->parked = NULL;
}

static void play(struct pa_request *r, void *arg)
{
	struct stand_in *s = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	json_object *o = json_object_new_object();
	char loc[128], msg[192];

	s->hits++;
	snprintf(s->body, sizeof(s->body), "%.*s", (int)r->body_len, r->body ? r->body : "");
	snprintf(s->caller, sizeof(s->caller), "%s", r->caller->desc);
	switch (s->part) {
	case ECHO:
		json_object_object_add(o, "server", json_object_new_string(s->name));
		json_object_object_add(o, "method", json_object_new_string(r->method));
		pa_reply_json(r, 200, o);
		return;
	case FOLLOWER:
		snprintf(loc, sizeof(loc), "%s%s", s->to, r->path);
		snprintf(msg, sizeof(msg), "this manager follows; the leader is m1 at %s", s->to);
		evhttp_add_header(h, "Location", loc);
		json_object_object_add(o, "error", json_object_new_string(msg));
		json_object_object_add(o, "leader", json_object_new_string(s->to));
		pa_reply_json(r, 307, o);
		return;
	case NO_LEADER:
		evhttp_add_header(h, "Retry-After", "1");
		json_object_object_add(o, "error",
				       json_object_new_string("no manager leads yet: an election is under way"));
		json_object_object_add(o, "leader", json_object_new_string(""));
		pa_reply_json(r, 503, o);
		return;
	case REFUSER:
		json_object_put(o);
		pa_reply_error(r, 400, "name", "no such thing");
		return;
	case SILENT:
		json_object_put(o);
		s->parked = pa_request_park(r, parked_gone, s);
		return;
	}
}

static int stand_in_start(struct stand_in *s)
{
	char cert[PATH_MAX], key[PATH_MAX], err[512];
	struct pa_server_opts so = { .base = base, .tls_addr = "127.0.0.1", .unix_gid = (gid_t)-1,
				     .routes = s->routes, .nroutes = 2, .log = quiet };

	s->routes[0] = (struct pa_route){ "GET", "/v1/t", PA_ALLOW_MEMBERS, play, s };
	s->routes[1] = (struct pa_route){ "POST", "/v1/t", PA_ALLOW_MEMBERS, play, s };

	path_in(cert, sizeof(cert), "manager.crt");
	path_in(key, sizeof(key), "manager.key");
	so.files = (struct pa_tls_files){ .ca_file = ca_file, .cert_file = cert, .key_file = key };
	s->srv = pa_server_new(&so, err, sizeof(err));
	if (!s->srv) {
		diag("stand-in %s: %s", s->name, err);
		return -1;
	}
	snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%u", pa_server_port(s->srv, PA_LISTEN_TLS));
	return 0;
}

static void stand_in_stop(struct stand_in *s)
{
	if (s->parked)
		pa_parked_free(s->parked);
	pa_server_free(s->srv);
	s->srv = NULL;
}

/* A port on 127.0.0.1 that nobody listens on: bound and kept, never
 * listened on, so that no one else takes it while the test runs. */
static unsigned short dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned short port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	return port;
}

static struct stand_in echo1 = { .part = ECHO, .name = "echo1" };
static struct stand_in echo2 = { .part = ECHO, .name = "echo2" };
static struct stand_in follower = { .part = FOLLOWER, .name = "follower" };
static struct stand_in to_http = { .part = FOLLOWER, .name = "to-http" };
static struct stand_in no_leader = { .part = NO_LEADER, .name = "no-leader" };
static struct stand_in refuser = { .part = REFUSER, .name = "refuser" };
static struct stand_in silent = { .part = SILENT, .name = "silent" };
static struct stand_in circle = { .part = FOLLOWER, .name = "circle" };	/* to itself */
static char dead[64], dead2[64];

static struct pa_client *list_client(const char *list, long timeout_ms)
{
	struct pa_client_opts o = { .url = list, .files = node_files("db1"),
				    .timeout_ms = timeout_ms };
	struct pa_client *c;
	char err[512];

	c = pa_client_new(&o, err, sizeof(err));
	if (!c)
		diag("client for %s: %s", list, err);
	return c;
}

static void test_lists_checked(void)
{
	struct pa_client_opts o = { .files = node_files("db1") };
	struct pa_client *c;
	char err[512] = "";

	o.url = "https://127.0.0.1:1, https://127.0.0.1:2 https://127.0.0.1:3,https://127.0.0.1:4";
	c = pa_client_new(&o, err, sizeof(err));
	ok(c, "four managers apart by commas and blanks are taken (%s)", err);
	pa_client_free(c);
	o.url = "https://a:1 https://a:2 https://a:3 https://a:4 https://a:5 https://a:6 "
		"https://a:7 https://a:8 https://a:9";
	ok(!pa_client_new(&o, err, sizeof(err)), "nine are refused");
	like(err, "more than 8 addresses", "  the bound is named (%s)", err);
	o.url = "https://127.0.0.1:1, http://127.0.0.1:2";
	ok(!pa_client_new(&o, err, sizeof(err)), "an item that is not https:// is refused");
	like(err, "the API's address http://127.0.0.1:2 is neither", "  and named (%s)", err);
	o.url = "https://127.0.0.1:1, unix:/run/x.sock";
	ok(!pa_client_new(&o, err, sizeof(err)), "a Unix socket in a list is refused");
	like(err, "one address alone", "  as one address alone (%s)", err);
	o.url = " , ";
	ok(!pa_client_new(&o, err, sizeof(err)), "a list of nothing is refused");
	like(err, "no address given", "  so said (%s)", err);
	o = (struct pa_client_opts){ .url = "unix:/tmp/a dir, with a comma/api.sock" };
	c = pa_client_new(&o, err, sizeof(err));
	ok(c, "unix:PATH is one address whole, blanks and commas in it (%s)", c ? "" : err);
	pa_client_free(c);
}

static void test_dead_then_live(void)
{
	char list[256], err[512];
	json_object *r = NULL;
	struct pa_client *c;
	int hits = echo1.hits;

	snprintf(list, sizeof(list), "%s, %s", dead, echo1.url);
	c = list_client(list, 0);
	is_int(call(c, "POST", "/v1/t", "{\"n\":1}", &r, err), 200,
	       "a dead manager first, a live one second: the call goes through (%s)", err);
	is_str(jstr(r, "server"), "echo1", "  answered by the live one");
	is_str(echo1.body, "{\"n\":1}", "  which got the body");
	is_int(echo1.hits, hits + 1, "  once");
	json_object_put(r);
	pa_client_free(c);
}

static void test_no_leader_then_live(void)
{
	char list[256], err[512];
	json_object *r = NULL;
	struct pa_client *c;
	int busy = no_leader.hits, hits = echo1.hits;

	snprintf(list, sizeof(list), "%s %s", no_leader.url, echo1.url);
	c = list_client(list, 0);
	is_int(call(c, "POST", "/v1/t", "{\"n\":2}", &r, err), 200,
	       "a manager that knows no leader (503), then a live one: it goes through (%s)", err);
	is_str(jstr(r, "server"), "echo1", "  answered by the live one");
	ok(no_leader.hits == busy + 1 && echo1.hits == hits + 1, "  each asked once");
	json_object_put(r);
	is_int(call(c, "GET", "/v1/t", NULL, NULL, err), 200, "the next call goes through (%s)", err);
	ok(no_leader.hits == busy + 1 && echo1.hits == hits + 2,
	   "  to the one that answered last, straight");
	pa_client_free(c);
}

static void test_redirect(void)
{
	char list[256], want[700], err[512];
	json_object *r = NULL;
	struct pa_client *c;
	int asked = follower.hits, hits = echo2.hits;

	snprintf(list, sizeof(list), "%s, %s", follower.url, dead);
	c = list_client(list, 0);
	is_int(call(c, "POST", "/v1/t?x=1", "{\"volume\":\"db\",\"size\":7}", &r, err), 200,
	       "a follower first: its 307 is followed to the leader (%s)", err);
	is_str(jstr(r, "server"), "echo2", "  the leader answers");
	is_str(jstr(r, "method"), "POST", "  still a POST");
	is_str(echo2.body, "{\"volume\":\"db\",\"size\":7}", "  with the body");
	is_str(echo2.caller, "node db1", "  from our certificate, presented to the leader too");
	ok(follower.hits == asked + 1 && echo2.hits == hits + 1, "  each asked once");
	json_object_put(r);
	pa_client_free(c);

	/* the leader in the list too: it is the one that answered */
	snprintf(list, sizeof(list), "%s, %s", follower.url, echo2.url);
	c = list_client(list, 0);
	asked = follower.hits;
	hits = echo2.hits;
	is_int(call(c, "GET", "/v1/t", NULL, NULL, err), 200, "through the follower again (%s)", err);
	is_int(call(c, "GET", "/v1/t", NULL, NULL, err), 200, "and once more (%s)", err);
	ok(follower.hits == asked + 1 && echo2.hits == hits + 2,
	   "  the second straight to the leader, which is in the list");
	pa_client_free(c);

	/* followers that send each other round: no leader there, nothing done */
	snprintf(list, sizeof(list), "%s, %s", circle.url, echo1.url);
	c = list_client(list, 0);
	asked = circle.hits;
	is_int(call(c, "POST", "/v1/t", "{\"n\":5}", &r, err), 200,
	       "a follower that sends us round in circles is passed for the next (%s)", err);
	is_str(jstr(r, "server"), "echo1", "  which answers");
	is_int(circle.hits, asked + 4, "  after the first request and 3 redirects");
	json_object_put(r);
	pa_client_free(c);

	c = list_client(to_http.url, 0);
	ok(call(c, "GET", "/v1/t", NULL, NULL, err) != 200, "a redirect to http:// is not followed");
	snprintf(want, sizeof(want), "%s/v1/t (where %s sent us): not followed", to_http.to,
		 to_http.url + 8);
	like(err, want, "  the error says where it was sent (%s)", err);
	pa_client_free(c);
}

static void test_final_answers(void)
{
	char list[256], err[512];
	struct pa_client *c;
	int hits = echo1.hits;

	snprintf(list, sizeof(list), "%s, %s", refuser.url, echo1.url);
	c = list_client(list, 0);
	is_int(call(c, "POST", "/v1/t", "{}", NULL, err), 400, "a 400 ends the call");
	is_int(echo1.hits, hits, "  the next manager is not asked");
	like(err, "HTTP 400: field 'name': no such thing", "  the manager's words (%s)", err);
	pa_client_free(c);
}

static void test_none_would_do(void)
{
	char list[256], want[700], err[512];
	json_object *r = NULL;
	struct pa_client *c;

	snprintf(list, sizeof(list), "%s, %s,%s", no_leader.url, dead, dead2);
	c = list_client(list, 0);
	is_int(call(c, "GET", "/v1/t", NULL, &r, err), 0,
	       "no manager would do: no HTTP status (the last could not be reached)");
	snprintf(want, sizeof(want), "%s: HTTP 503: no manager leads yet: an election is under way; ",
		 no_leader.url);
	like(err, want, "  the one that knows no leader named (%s)", err);
	snprintf(want, sizeof(want), "%s: cannot connect to %s: ", dead, dead + 8);
	like(err, want, "  the first dead one named");
	snprintf(want, sizeof(want), "; %s: cannot connect to %s: ", dead2, dead2 + 8);
	like(err, want, "  the second dead one named");
	json_object_put(r);
	pa_client_free(c);

	snprintf(list, sizeof(list), "%s, %s", dead, no_leader.url);
	c = list_client(list, 0);
	is_int(call(c, "POST", "/v1/t", "{}", &r, err), 503, "the last one's 503 is the status");
	is_str(jstr(r, "leader"), "", "  its body the reply");
	json_object_put(r);
	pa_client_free(c);
}

static void test_sent_write_not_repeated(void)
{
	char list[256], err[512];
	struct pa_client *c;
	int hits = echo1.hits;

	snprintf(list, sizeof(list), "%s, %s", silent.url, echo1.url);
	c = list_client(list, 1000);
	is_int(call(c, "POST", "/v1/t", "{\"n\":3}", NULL, err), 0,
	       "a POST sent to a manager that does not answer in time fails");
	is_int(echo1.hits, hits, "  and is not sent to the next: it may have been acted on");
	like(err, "no answer from", "  said so (%s)", err);
	if (silent.parked)
		pa_parked_free(silent.parked);
	silent.parked = NULL;
	is_int(call(c, "GET", "/v1/t", NULL, NULL, err), 200,
	       "a GET to the same goes on to the next (%s)", err);
	is_int(echo1.hits, hits + 1, "  which answers it");
	if (silent.parked)
		pa_parked_free(silent.parked);
	silent.parked = NULL;
	pa_client_free(c);
}

/* The Unix socket reaches this host's manager alone: a follower's
 * redirect from it is not followed, and its words are the error. */
static void test_unix_follower(void)
{
	struct stand_in f = { .part = FOLLOWER, .name = "local" };
	struct pa_server_opts so = { .base = base, .unix_gid = (gid_t)-1, .routes = f.routes,
				     .nroutes = 2, .log = quiet };
	struct pa_client_opts o = { 0 };
	char path[PATH_MAX], url[PATH_MAX + 8], err[512];
	struct pa_client *c;

	f.routes[0] = (struct pa_route){ "GET", "/v1/t", PA_ALLOW_MEMBERS, play, &f };
	f.routes[1] = (struct pa_route){ "POST", "/v1/t", PA_ALLOW_MEMBERS, play, &f };
	snprintf(f.to, sizeof(f.to), "%s", echo1.url);
	path_in(path, sizeof(path), "follower.sock");
	so.unix_path = path;
	f.srv = pa_server_new(&so, err, sizeof(err));
	snprintf(url, sizeof(url), "unix:%s", path);
	o.url = url;
	c = f.srv ? pa_client_new(&o, err, sizeof(err)) : NULL;
	ok(c, "a follower on its Unix socket, and a client of it (%s)", c ? "" : err);
	if (c) {
		is_int(call(c, "GET", "/v1/t", NULL, NULL, err), 307,
		       "over the socket a follower's 307 is the answer");
		like(err, "HTTP 307: this manager follows; the leader is m1 at https://",
		     "  its words the error (%s)", err);
	}
	pa_client_free(c);
	pa_server_free(f.srv);
}

/* The asynchronous client's done, with what pa_acall_sent says. */
struct async_answer {
	struct answer a;
	struct pa_acall *call;
	bool sent;
	int calls;
};

static void on_async_done(void *arg, long status, json_object *reply, const char *err)
{
	struct async_answer *aa = arg;

	aa->calls++;
	aa->sent = pa_acall_sent(aa->call);
	on_done(&aa->a, status, reply, err);
}

static void async_call(const char *list, long timeout_ms, const char *method, const char *body,
		       struct async_answer *aa)
{
	struct pa_client_opts o = { .url = list, .files = node_files("db1") };
	json_object *b = body ? json_tokener_parse(body) : NULL;
	struct pa_aclient *ac;
	char err[512];

	memset(aa, 0, sizeof(*aa));
	ac = pa_aclient_new(base, &o, err, sizeof(err));
	aa->call = ac ? pa_aclient_call(ac, method, "/v1/t", b, timeout_ms, on_async_done, aa, err,
					sizeof(err)) : NULL;
	if (!aa->call)
		diag("asynchronous call to %s: %s", list, err);
	else
		answered(&aa->a, 10000);
	wait_ms(100);	/* a second done would come now */
	pa_aclient_free(ac);
	json_object_put(b);
}

static void test_async(void)
{
	struct async_answer aa;
	char list[256];
	int busy = no_leader.hits, hits = echo2.hits;

	snprintf(list, sizeof(list), "%s, %s, %s", dead, no_leader.url, follower.url);
	async_call(list, 0, "POST", "{\"n\":4}", &aa);
	ok(aa.a.done && aa.a.status == 200 && !aa.a.err[0],
	   "asynchronous: dead, no leader, a follower: the leader answers (%ld %s)", aa.a.status,
	   aa.a.err);
	is_int(aa.calls, 1, "  done is called once");
	is_str(jstr(aa.a.reply, "server"), "echo2", "  the leader's reply");
	is_str(echo2.body, "{\"n\":4}", "  which got the body");
	ok(no_leader.hits == busy + 1 && echo2.hits == hits + 1, "  each asked once");
	forget(&aa.a);

	snprintf(list, sizeof(list), "%s %s", dead, dead2);
	async_call(list, 0, "POST", "{}", &aa);
	ok(aa.a.done && aa.a.status == 0, "asynchronous, all dead: no status");
	is_int(aa.calls, 1, "  done is called once");
	like(aa.a.err, dead2, "  both named (%s)", aa.a.err);
	like(aa.a.err, dead, "  ...");
	ok(!aa.sent, "  nothing was sent (pa_acall_sent)");
	forget(&aa.a);

	snprintf(list, sizeof(list), "%s %s", silent.url, echo1.url);
	hits = echo1.hits;
	async_call(list, 1000, "POST", "{}", &aa);
	ok(aa.a.done && aa.a.status == 0, "asynchronous POST to one that does not answer: fails");
	ok(aa.sent, "  it may have been received (pa_acall_sent)");
	is_int(echo1.hits, hits, "  not sent on");
	forget(&aa.a);
	if (silent.parked)
		pa_parked_free(silent.parked);
	silent.parked = NULL;
}

int main(void)
{
	struct stand_in *all[] = { &echo1, &echo2, &follower, &to_http, &no_leader, &refuser,
				   &silent, &circle };
	struct pa_client *db1;
	bool up = true;

	if (harness_begin("policy-client-list", 2))
		return done_testing();
	db1 = join_node("db1");
	pa_client_free(db1);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		up = up && !stand_in_start(all[i]);
	ok(up, "the stand-in managers listen");
	snprintf(follower.to, sizeof(follower.to), "%s", echo2.url);
	snprintf(circle.to, sizeof(circle.to), "%s", circle.url);
	snprintf(to_http.to, sizeof(to_http.to), "http://127.0.0.1:%u",
		 pa_server_port(echo1.srv, PA_LISTEN_TLS));
	snprintf(dead, sizeof(dead), "https://127.0.0.1:%u", dead_port());
	snprintf(dead2, sizeof(dead2), "https://127.0.0.1:%u", dead_port());
	if (up) {
		test_lists_checked();
		test_dead_then_live();
		test_no_leader_then_live();
		test_redirect();
		test_final_answers();
		test_none_would_do();
		test_sent_write_not_repeated();
		test_unix_follower();
		test_async();
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		stand_in_stop(all[i]);
	return harness_end();
}
