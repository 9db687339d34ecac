/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.h: the `policy` part of /etc/lunlink/lunlink.conf (libconfig),
 * read by lunlink-policyd and, for its socket and files, by lunlinkctl.
 * conf/lunlink.conf is the commented sample and doc/lunlink-policyd.8
 * the reference.
 *
 *   policy = {
 *     manager = true;
 *     store = "sqlite:/var/lib/lunlink/policy.db";
 *     listen = "0.0.0.0:7700";
 *     areas = ( { path = "/srv/lunlink"; size = "500G"; } );
 *   };
 *
 * Every setting is described once, in a table in config.c; every value is
 * checked (type, range, syntax of addresses, sizes and names), and a
 * setting the table does not know is refused, so that a misspelt name
 * never passes silently.  Errors name the file, the line and the setting:
 * "/etc/lunlink/lunlink.conf:12: policy.listen: ...".
 */
#ifndef LUNLINK_POLICY_CONFIG_H
#define LUNLINK_POLICY_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "urls.h"

#define PCF_FILE		"/etc/lunlink/lunlink.conf"
#define PCF_STORE		"sqlite:/var/lib/lunlink/policy.db"
#define PCF_LISTEN		"0.0.0.0:7700"
#define PCF_JOIN_PORT		7701
#define PCF_SOCKET		"/run/lunlink/policyd.sock"
#define PCF_STATE_DIR		"/var/lib/lunlink"
#define PCF_IQN_PREFIX		"iqn.2026-11.org.lunlink.cluster"
#define PCF_PR_SOCKET		"/run/lunlink/pr.sock"	/* the modules reach the agent here */
#define PCF_HOST_MAX		255	/* a host name or an address, as text */
#define PCF_PORTALS_MAX		16
#define PCF_AREAS_MAX		64
#define PCF_URL_MAX		(PCF_HOST_MAX + 16)	/* one manager's "https://HOST:PORT" */
/* policy.manager_url: up to PU_URLS_MAX managers' URLs, apart by commas
 * and/or blanks (urls.h), so room for each and two separators */
#define PCF_MANAGER_URL_MAX	(PU_URLS_MAX * (PCF_URL_MAX + 2))
#define PCF_TOKEN_MAX		64

/* An address and a port: "10.0.0.1:7700", "[::]:7700", "node1:7700". */
struct pcf_hostport {
	char host[PCF_HOST_MAX + 1];	/* without brackets */
	unsigned short port;
};

struct pcf_area {
	char path[PATH_MAX];
	uint64_t size;			/* bytes; 0: all of it (a device, a file system) */
};

struct pcf_config {
	bool manager;
	char store[PATH_MAX + 16];		/* a store URI (store.h) */
	struct pcf_hostport listen;		/* the API (TLS) */
	struct pcf_hostport join_listen;	/* the join port (TLS, no client certificate) */
	char socket[PATH_MAX];			/* the local Unix socket */
	char socket_group[64];			/* "": none */
	char state_dir[PATH_MAX];		/* ca/, node.key, node.crt, ca.crt */
	char agent_state_dir[PATH_MAX];		/* a lone agent's state_dir; "": state_dir */
	/* agents: the manager's "https://HOST:PORT", or several managers'
	 * ("https://10.0.0.1:7700, https://10.0.0.2:7700": the one that
	 * leads is found, client.h); "": none */
	char manager_url[PCF_MANAGER_URL_MAX + 1];
	char join_token[PCF_TOKEN_MAX + 1];	/* agents' first start; "": none */
	char node_name[64];
	char address[PCF_HOST_MAX + 1];		/* this node's address; "": none */
	struct pcf_hostport portals[PCF_PORTALS_MAX];
	size_t nportals;
	struct pcf_area areas[PCF_AREAS_MAX];
	size_t nareas;
	unsigned int heartbeat_interval;	/* seconds */
	unsigned int offline_after;		/* seconds */
	unsigned int lease_ms;			/* doubled volumes' write leases (manager) */
	unsigned int pr_valid_ms;		/* reservation state's validity (manager) */
	char pr_socket[PATH_MAX];		/* the modules' socket (agent) */
	bool failover;				/* promote on a lease's expiry (manager) */
	unsigned int election_ttl;		/* seconds: managers' election lease (etcd) */
	char tgtadm[PATH_MAX];
	unsigned int tgt_control_port;		/* tgtd -C N; 0: tgtd's default */
	char iqn_prefix[224];
	bool join_listen_set;			/* join_listen was given (else: listen's host) */
};

/* The defaults (node_name: this host's name, up to its first dot). */
void pcf_defaults(struct pcf_config *c);

/*
 * Read path's `policy` part over c.  A missing file is an error only if
 * must_exist (lunlinkctl and a default path may do without).  0, or -1
 * with "FILE:LINE: policy.KEY: reason" in err.
 */
int pcf_load(struct pcf_config *c, const char *path, bool must_exist, char *err, size_t errlen);

/* The same over a text in memory (tests, the fuzz target); name is used
 * in messages as the file's.  @include is refused. */
int pcf_load_string(struct pcf_config *c, const char *text, const char *name, char *err,
		    size_t errlen);

/*
 * What one daemon runs (lunlink-policyd --role): PCF_ROLE_ALL, everything
 * the configuration says (manager = true, manager_url); PCF_ROLE_MANAGER
 * or PCF_ROLE_AGENT, that part alone, as its own daemon (the packages'
 * lunlink-manager.service and lunlink-agent.service).
 */
enum pcf_role { PCF_ROLE_ALL, PCF_ROLE_MANAGER, PCF_ROLE_AGENT };

/*
 * Narrow c to role, after pcf_load and before pcf_check: the manager's
 * part alone (manager_url and join_token dropped) or the agent's (manager
 * dropped).  A daemon that runs the agent without the manager keeps its
 * files in agent_state_dir when that is set (state_dir then holds it).
 * 0, or -1 when the configuration (name) lacks what role needs, the
 * message naming the setting and the file.
 */
int pcf_role(struct pcf_config *c, enum pcf_role role, const char *name, char *err,
	     size_t errlen);

/* The checks after every setting is read: the settings taken together
 * (offline_after above heartbeat_interval; something to do). */
int pcf_check(const struct pcf_config *c, const char *name, char *err, size_t errlen);

/* The store is etcd's: every manager on it is a candidate, one leads
 * (elect.h). */
bool pcf_store_elected(const struct pcf_config *c);

/*
 * "HOST:PORT" ("[V6]:PORT" for IPv6; ":PORT" only if default_host): the
 * host a name of [A-Za-z0-9.-] or an IP address, the port 1..65535.  0, or
 * -1 with the reason (no file or key: the caller adds them).
 */
int pcf_hostport_parse(const char *s, const char *default_host, struct pcf_hostport *out,
		       char *err, size_t errlen);

/* "host:port", with brackets around an IPv6 address, into buf. */
const char *pcf_hostport_str(const struct pcf_hostport *hp, char *buf, size_t len);

/* Paths under state_dir: "ca" (the CA's folder, manager), "ca.crt" (the
 * cluster CA's certificate), "node.key", "node.crt". */
const char *pcf_state_path(const struct pcf_config *c, const char *what, char *buf, size_t len);

/* mkdir -p path, the folders it makes with mode: the state folder (0700)
 * and the socket's (0755).  0, or -1 naming the folder and the cause. */
int pcf_mkdirs(const char *path, unsigned int mode, char *err, size_t errlen);

#endif
