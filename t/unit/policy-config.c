// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * t/unit/policy-config.c: unit tests (TAP) of the `policy` part of
 * lunlink.conf (policy/config.c): the defaults, a file with every
 * setting, each setting refused with its file, line and name, unknown
 * settings, a missing file, the roles (pcf_role: what --role needs and
 * what it drops), and the address parser on its own.
 */
#include "config.h"
#include "scratch.h"
#include "tap.h"

#include <stdlib.h>
#include <unistd.h>

static char path[PATH_MAX + 32];
static char err[1024];

static int load(const char *text, struct pcf_config *c)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	pcf_defaults(c);
	err[0] = '\0';
	return pcf_load(c, path, true, err, sizeof(err));
}

static void test_defaults(void)
{
	struct pcf_config c;
	char buf[300];

	pcf_defaults(&c);
	ok(!c.manager && !strcmp(c.store, "sqlite:/var/lib/lunlink/policy.db"), "defaults: store");
	is_str(pcf_hostport_str(&c.listen, buf, sizeof(buf)), "0.0.0.0:7700", "defaults: listen");
	is_str(pcf_hostport_str(&c.join_listen, buf, sizeof(buf)), "0.0.0.0:7701",
	       "defaults: join_listen");
	is_str(c.socket, "/run/lunlink/policyd.sock", "defaults: socket");
	is_str(c.state_dir, "/var/lib/lunlink", "defaults: state_dir");
	ok(c.heartbeat_interval == 2 && c.offline_after == 10, "defaults: heartbeat, offline");
	is_int(c.lease_ms, 6000, "default: a write lease of 6 s");
	is_str(c.tgtadm, "tgtadm", "defaults: tgtadm");
	is_str(c.iqn_prefix, "iqn.2026-11.org.lunlink.cluster", "defaults: iqn_prefix");
	ok(c.nareas == 0 && c.nportals == 0 && !c.manager_url[0], "defaults: no areas, no manager");
	is_int(c.pr_valid_ms, 5000, "default: reservation state valid 5 s");
	is_str(c.pr_socket, "/run/lunlink/pr.sock", "default: the modules' socket");
	is_str(pcf_state_path(&c, "ca.crt", buf, sizeof(buf)), "/var/lib/lunlink/ca.crt",
	       "an agent's CA certificate is in state_dir");
	c.manager = true;
	is_str(pcf_state_path(&c, "ca.crt", buf, sizeof(buf)), "/var/lib/lunlink/ca/ca.crt",
	       "the manager's is its CA's");
}

static void test_good(void)
{
	struct pcf_config c;
	char buf[300];

	is_int(load("# lunlink.conf\n"
		    "policy = {\n"
		    "  manager = true;\n"
		    "  store = \"sqlite:/tmp/p.db\";\n"
		    "  listen = \"127.0.0.1:8700\";\n"
		    "  join_listen = \"[::1]:8701\";\n"
		    "  socket = \"/tmp/p.sock\";\n"
		    "  socket_group = \"lunlink\";\n"
		    "  state_dir = \"/tmp/state\";\n"
		    "  agent_state_dir = \"/tmp/agent\";\n"
		    "  manager_url = \"https://mgr.example:8700\";\n"
		    "  join_token = \"0123abcd.0123456789abcdef0123456789abcdef\";\n"
		    "  node_name = \"db1\";\n"
		    "  address = \"10.0.0.5\";\n"
		    "  portals = [ \"10.0.0.5:3260\", \"[fe80::1]:3260\" ];\n"
		    "  areas = ( { path = \"/srv/a\"; size = \"500G\"; },\n"
		    "            { path = \"/dev/sdb\"; } );\n"
		    "  heartbeat_interval = 3;\n"
		    "  offline_after = 15;\n"
		    "  lease_ms = 4500;\n"
		    "  tgtadm = \"/usr/sbin/tgtadm\";\n"
		    "  tgt_control_port = 3;\n"
		    "  iqn_prefix = \"iqn.2026-11.com.example:san\";\n"
		    "};\n", &c), 0, "a file with every setting loads");
	if (err[0])
		diag("%s", err);
	ok(c.manager && !strcmp(c.store, "sqlite:/tmp/p.db"), "  manager, store");
	is_str(pcf_hostport_str(&c.listen, buf, sizeof(buf)), "127.0.0.1:8700", "  listen");
	is_str(pcf_hostport_str(&c.join_listen, buf, sizeof(buf)), "[::1]:8701", "  join_listen");
	ok(!strcmp(c.socket, "/tmp/p.sock") && !strcmp(c.socket_group, "lunlink") &&
	   !strcmp(c.state_dir, "/tmp/state"), "  socket, socket_group, state_dir");
	is_str(c.agent_state_dir, "/tmp/agent", "  agent_state_dir");
	is_str(c.manager_url, "https://mgr.example:8700", "  manager_url");
	is_str(c.join_token, "0123abcd.0123456789abcdef0123456789abcdef", "  join_token");
	ok(!strcmp(c.node_name, "db1") && !strcmp(c.address, "10.0.0.5"), "  node_name, address");
	is_int(c.nportals, 2, "  two portals");
	is_str(c.portals[1].host, "fe80::1", "  an IPv6 portal");
	is_int(c.nareas, 2, "  two areas");
	is_u64(c.areas[0].size, 500ULL << 30, "  500G");
	ok(!strcmp(c.areas[1].path, "/dev/sdb") && c.areas[1].size == 0, "  an area without a size");
	ok(c.heartbeat_interval == 3 && c.offline_after == 15 && c.tgt_control_port == 3 &&
	   c.lease_ms == 4500, "  the numbers");
	ok(!strcmp(c.tgtadm, "/usr/sbin/tgtadm") && !strcmp(c.iqn_prefix,
	   "iqn.2026-11.com.example:san"), "  tgtadm, iqn_prefix");
	is_int(pcf_check(&c, path, err, sizeof(err)), 0, "  and it makes sense");

	is_int(load("policy = { manager_url = \"https://10.0.0.1:7700, https://10.0.0.2:7700\n"
		    "  https://[fe80::2]:7700,https://m4.example:7700/\"; };\n", &c), 0,
		 "manager_url: a list of managers, apart by commas and blanks");
	if (err[0])
		diag("%s", err);
	is_str(c.manager_url, "https://10.0.0.1:7700, https://10.0.0.2:7700\n"
	       "  https://[fe80::2]:7700,https://m4.example:7700/", "  kept as written");
	is_int(load("policy = { manager_url = \"https://a:1 https://a:2 https://a:3 https://a:4 "
		    "https://a:5 https://a:6 https://a:7 https://a:8\"; };\n", &c), 0,
	       "  eight of them are taken");

	is_int(load("policy = { listen = \"10.1.1.1:7800\"; manager = true; };\n", &c), 0,
	       "join_listen follows listen's address");
	is_str(pcf_hostport_str(&c.join_listen, buf, sizeof(buf)), "10.1.1.1:7701", "  with port 7701");
	is_int(load("policy = { size_in_bytes = 1; };\n", &c), -1, "an unknown setting");
	is_int(load("", &c), 0, "an empty file is the defaults");
	is_int(pcf_check(&c, path, err, sizeof(err)), -1, "  but a daemon with nothing to do");
	like(err, "neither policy.manager = true nor policy.manager_url", "  is told so");
	is_int(load("policy = { areas = ( { size = 1073741824; path = \"/srv/b\"; } ); };", &c), 0,
	       "a size in bytes");
	is_u64(c.areas[0].size, 1ULL << 30, "  is taken");
}

/* Each refusal: the text, and what the message must hold. */
static const struct {
	const char *text, *want;
} bad[] = {
	{ "policy = {\n manager = 1;\n};", ":2: policy.manager: must be true or false" },
	{ "policy = {\n\n store = \"etcd://x\";\n};",
	  ":3: policy.store: 'etcd://x': an etcd store is etcd://HOST:PORT" },
	{ "policy = { election_ttl = 1; };", "policy.election_ttl: " },
	{ "policy = {\n\n store = \"redis://x\";\n};", ":3: policy.store: 'redis://x' is not a store" },
	{ "policy = { store = \"sqlite:db\"; };", "policy.store: 'db' is not an absolute path" },
	{ "policy = { listen = \"0.0.0.0\"; };", "policy.listen: '0.0.0.0' has no port" },
	{ "policy = { listen = \"0.0.0.0:99999\"; };", "policy.listen: the port '99999' is not" },
	{ "policy = { listen = \"::1:7700\"; };", "policy.listen: '::1:7700': an IPv6 address goes in brackets" },
	{ "policy = { listen = \"[::g]:7700\"; };", "policy.listen: [::g] is not an IPv6 address" },
	{ "policy = { listen = 7700; };", "policy.listen: must be a string in double quotes" },
	{ "policy = { join_listen = \"a b:7701\"; };", "policy.join_listen: 'a b' is neither" },
	{ "policy = { socket = \"policyd.sock\"; };", "policy.socket: 'policyd.sock' is not an absolute path" },
	{ "policy = { socket_group = \"wheel!\"; };", "policy.socket_group: 'wheel!' is not a group name" },
	{ "policy = { state_dir = \"\"; };", "policy.state_dir: the path is empty" },
	{ "policy = { agent_state_dir = \"agent\"; };", "policy.agent_state_dir: 'agent' is not an absolute path" },
	{ "policy = { manager_url = \"http://m:7700\"; };", "policy.manager_url: 'http://m:7700' must be https://" },
	{ "policy = { manager_url = \"https://m\"; };", "policy.manager_url: 'm' has no port" },
	{ "policy = { manager_url = \"https://m1:7700, http://m2:7700\"; };",
	  "policy.manager_url: manager 2 of 2: 'http://m2:7700' must be https://" },
	{ "policy = { manager_url = \"https://m1:7700 https://m2 https://m3:7700\"; };",
	  "policy.manager_url: manager 2 of 3: 'm2' has no port" },
	{ "policy = { manager_url = \"https://m1:7700,https://m1:7700\"; };",
	  "policy.manager_url: https://m1:7700 is given twice" },
	{ "policy = { manager_url = \"https://a:1 https://a:2 https://a:3 https://a:4 https://a:5 "
	  "https://a:6 https://a:7 https://a:8 https://a:9\"; };",
	  "policy.manager_url: more than 8 addresses in the list" },
	{ "policy = { manager_url = \" , \"; };", "policy.manager_url: no address given" },
	{ "policy = { manager_url = \"unix:/run/lunlink/policyd.sock\"; };",
	  "policy.manager_url: 'unix:/run/lunlink/policyd.sock': the agents reach the manager over https://" },
	{ "policy = { join_token = \"abc\"; };", "policy.join_token: not a join token" },
	{ "policy = { node_name = \"db 1\"; };", "policy.node_name: 'db 1' is not a name" },
	{ "policy = { address = \"10.0.0.5/24\"; };", "policy.address: '10.0.0.5/24' is neither" },
	{ "policy = { portals = \"10.0.0.5:3260\"; };", "policy.portals: must be a list" },
	{ "policy = { portals = [ \"10.0.0.5\" ]; };", "policy.portals: '10.0.0.5' has no port" },
	{ "policy = { areas = ( { path = \"srv\"; } ); };", "policy.areas[0].path: 'srv' is not an absolute" },
	{ "policy = { areas = ( { path = \"/srv\"; size = \"5Q\"; } ); };", "policy.areas[0].size: must be a size" },
	{ "policy = { areas = ( { path = \"/srv\"; colour = 1; } ); };", "policy.areas[0].colour: unknown setting of an area" },
	{ "policy = { areas = ( { size = \"5G\"; } ); };", "policy.areas[0]: an area needs a path" },
	{ "policy = { areas = ( { path = \"/a\"; }, { path = \"/a\"; } ); };", "policy.areas[1]: the same path is given twice" },
	{ "policy = { areas = ( \"/srv\" ); };", "policy.areas[0]: must be a group" },
	{ "policy = { heartbeat_interval = 0; };", "policy.heartbeat_interval: 0 is out of range (1 to 3600)" },
	{ "policy = { offline_after = 1; };", "policy.offline_after: 1 is out of range (2 to 86400)" },
	{ "policy = { heartbeat_interval = 10; };", "policy.offline_after (10) must be longer than policy.heartbeat_interval (10)" },
	{ "policy = { offline_after = \"10s\"; };", "policy.offline_after: must be a whole number" },
	{ "policy = { lease_ms = 999; };", "policy.lease_ms: 999 is out of range (1000 to 300000)" },
	{ "policy = { lease_ms = 300001; };", "policy.lease_ms: 300001 is out of range (1000 to 300000)" },
	{ "policy = { tgtadm = \"\"; };", "policy.tgtadm: the path is empty" },
	{ "policy = { tgt_control_port = 70000; };", "policy.tgt_control_port: 70000 is out of range" },
	{ "policy = { pr_valid_ms = 999; };", "policy.pr_valid_ms: 999 is out of range (1000 to 60000)" },
	{ "policy = { pr_socket = \"pr.sock\"; };", "policy.pr_socket" },
	{ "policy = { iqn_prefix = \"iqn.2026-11.Org.Example\"; };", "policy.iqn_prefix: 'iqn.2026-11.Org.Example' has 'O'" },
	{ "policy = { iqn_prefix = \"eui.02004567\"; };", "policy.iqn_prefix: 'eui.02004567' is not an iSCSI name prefix" },
	{ "policy = {\n manger = true;\n};", ":2: policy.manger: unknown setting" },
	{ "polcy = { manager = true; };", ":1: unknown part 'polcy'" },
	{ "policy = 1;", "policy must be a group" },
	{ "policy = {\n manager = ;\n};", ":2: syntax error" },
};

static void test_bad(void)
{
	struct pcf_config c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(load(bad[i].text, &c), -1, "refused: %s", bad[i].want);
		like(err, bad[i].want, "  says so");
		ok(!strncmp(err, path, strlen(path)), "  names the file");
	}
	is_int(load("policy = { manager = true; listen = \"1.2.3.4:7000\"; "
		    "join_listen = \"1.2.3.4:7000\"; };", &c), 0, "one port for both listeners loads");
	is_int(pcf_check(&c, path, err, sizeof(err)), -1, "  and is refused by the check");
	like(err, "the join port must be its own", "  which says why");
}

static void test_files(void)
{
	struct pcf_config c;

	pcf_defaults(&c);
	is_int(pcf_load(&c, "/nonexistent/lunlink.conf", false, err, sizeof(err)), 0,
	       "the default file may be absent");
	is_int(pcf_load(&c, "/nonexistent/lunlink.conf", true, err, sizeof(err)), -1,
	       "a file named on the command line may not");
	like(err, "configuration file /nonexistent/lunlink.conf: No such file", "  and it is named");
	is_int(pcf_load_string(&c, "@include \"/etc/passwd\"\n", "text", err, sizeof(err)), -1,
	       "a text may not include files");
	is_int(pcf_load_string(&c, "policy = { manager = true; };", "text", err, sizeof(err)), 0,
	       "a text loads");
	ok(c.manager, "  and takes");
}

/* --role: what each needs from the file, named with it; what each drops;
 * where a lone agent keeps its files. */
static void test_roles(void)
{
	struct pcf_config c;
	char buf[PATH_MAX + 16];

	pcf_defaults(&c);
	c.manager = true;
	snprintf(c.manager_url, sizeof(c.manager_url), "https://127.0.0.1:7700");
	snprintf(c.join_token, sizeof(c.join_token), "0123abcd.0123456789abcdef0123456789abcdef");
	snprintf(c.agent_state_dir, sizeof(c.agent_state_dir), "/var/lib/lunlink-agent");
	is_int(pcf_role(&c, PCF_ROLE_ALL, "x.conf", err, sizeof(err)), 0, "no role: both parts");
	ok(c.manager && c.manager_url[0] && c.join_token[0], "  both kept");
	is_str(c.state_dir, "/var/lib/lunlink", "  one state_dir for both, as configured");

	is_int(pcf_role(&c, PCF_ROLE_MANAGER, "x.conf", err, sizeof(err)), 0, "--role manager");
	ok(c.manager && !c.manager_url[0] && !c.join_token[0], "  drops the agent's settings");
	is_str(c.state_dir, "/var/lib/lunlink", "  keeps state_dir");
	is_int(pcf_check(&c, "x.conf", err, sizeof(err)), 0, "  and passes the checks");

	pcf_defaults(&c);
	c.manager = true;
	snprintf(c.manager_url, sizeof(c.manager_url), "https://127.0.0.1:7700");
	snprintf(c.agent_state_dir, sizeof(c.agent_state_dir), "/var/lib/lunlink-agent");
	is_int(pcf_role(&c, PCF_ROLE_AGENT, "x.conf", err, sizeof(err)), 0, "--role agent");
	ok(!c.manager && c.manager_url[0], "  drops the manager");
	is_str(c.state_dir, "/var/lib/lunlink-agent", "  and keeps its files in agent_state_dir");
	is_str(pcf_state_path(&c, "ca.crt", buf, sizeof(buf)), "/var/lib/lunlink-agent/ca.crt",
	       "  the CA's certificate too (the operator's copy)");

	pcf_defaults(&c);
	snprintf(c.manager_url, sizeof(c.manager_url), "https://10.0.0.1:7700");
	is_int(pcf_role(&c, PCF_ROLE_ALL, "x.conf", err, sizeof(err)), 0, "an agent-only file");
	is_str(c.state_dir, "/var/lib/lunlink", "  without agent_state_dir keeps state_dir");
	snprintf(c.agent_state_dir, sizeof(c.agent_state_dir), "/srv/agent");
	is_int(pcf_role(&c, PCF_ROLE_ALL, "x.conf", err, sizeof(err)), 0, "  with it");
	is_str(c.state_dir, "/srv/agent", "  uses it: no manager runs here");

	pcf_defaults(&c);
	snprintf(c.manager_url, sizeof(c.manager_url), "https://10.0.0.1:7700");
	is_int(pcf_role(&c, PCF_ROLE_MANAGER, "/etc/lunlink/lunlink.conf", err, sizeof(err)), -1,
	       "--role manager without manager = true is refused");
	like(err, "--role manager: /etc/lunlink/lunlink.conf does not make this host the manager "
	     "(policy.manager is not true); set `manager = true;`", "  naming the file and setting");

	pcf_defaults(&c);
	c.manager = true;
	is_int(pcf_role(&c, PCF_ROLE_AGENT, "/etc/lunlink/lunlink.conf", err, sizeof(err)), -1,
	       "--role agent without manager_url is refused");
	like(err, "--role agent: /etc/lunlink/lunlink.conf sets no policy.manager_url",
	     "  naming the file and setting");
	ok(c.manager, "  and changes nothing");
}

/* The commented sample loads, and says the defaults (run from the top
 * folder, as make unit does). */
static void test_sample(void)
{
	struct pcf_config c, d;

	if (access("conf/lunlink.conf", R_OK)) {
		ok(0, "the sample conf/lunlink.conf is readable from the top folder (run the test "
		   "from there, as make check does)");
		return;
	}
	pcf_defaults(&c);
	pcf_defaults(&d);
	err[0] = '\0';
	is_int(pcf_load(&c, "conf/lunlink.conf", true, err, sizeof(err)), 0, "the sample loads");
	if (err[0])
		diag("%s", err);
	/* but one: the packages install the sample, and their agent runs as
	 * root apart from the manager's user (doc/packaging.md) */
	is_str(c.agent_state_dir, "/var/lib/lunlink-agent",
	       "  agent_state_dir set, for the packages' two daemons");
	strcpy(d.agent_state_dir, "/var/lib/lunlink-agent");
	ok(!memcmp(&c, &d, sizeof(c)), "  and its other values are the defaults");
}

static void test_hostport(void)
{
	struct pcf_hostport hp;

	is_int(pcf_hostport_parse(":7700", "0.0.0.0", &hp, err, sizeof(err)), 0,
	       "':PORT' takes the default host");
	is_str(hp.host, "0.0.0.0", "  which is given");
	is_int(pcf_hostport_parse(":7700", NULL, &hp, err, sizeof(err)), -1, "  or refused if none");
	is_int(pcf_hostport_parse("[::]:1", NULL, &hp, err, sizeof(err)), 0, "[::]:1");
	is_int(pcf_hostport_parse("h:0", NULL, &hp, err, sizeof(err)), -1, "port 0 is refused");
	is_int(pcf_hostport_parse("h:+1", NULL, &hp, err, sizeof(err)), -1, "a signed port");
	is_int(pcf_hostport_parse("h:", NULL, &hp, err, sizeof(err)), -1, "no port digits");
	is_int(pcf_hostport_parse("[::1]7700", NULL, &hp, err, sizeof(err)), -1, "no colon after ]");
	is_int(pcf_hostport_parse("-h:1", NULL, &hp, err, sizeof(err)), -1, "a name starting with -");
}

int main(void)
{
	snprintf(path, sizeof(path), "%s/lunlink.conf", scratch_dir("policy-config"));
	test_defaults();
	test_good();
	test_bad();
	test_files();
	test_roles();
	test_sample();
	test_hostport();
	return done_testing();
}
