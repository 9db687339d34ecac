/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon_parts.h: the two parts lunlink-policyd's main (main.c) wires
 * together, the manager (manager.h: the registry, pool, volumes and their
 * API routes) and the node agent (agent.h: a node's tgtd and images made
 * what the manager wants).  Each is written in a file of its own by its
 * own hand; main.c sees them only through this header, which takes their
 * own headers when they are there and otherwise says no more than the
 * prototypes main.c calls.  The daemon is built only once the manager is
 * on the branch (GNUmakefile); until the agent is, main.c refuses an agent
 * configuration, naming what is missing (PD_HAVE_AGENT).
 */
#ifndef LUNLINK_POLICY_DAEMON_PARTS_H
#define LUNLINK_POLICY_DAEMON_PARTS_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "store.h"

#if __has_include("manager.h")
#include "manager.h"
#define PD_HAVE_MANAGER 1
#else
#define PD_HAVE_MANAGER 0
struct pm_manager;
struct pm_options;
struct pm_manager *pm_manager_new(struct event_base *base, struct ps_store *st,
				  const struct pm_options *o, char *err, size_t errlen);
void pm_manager_routes(struct pm_manager *m, const struct pa_route **routes, size_t *n);
bool pm_manager_revoked(void *arg, const char *serial);
int pm_manager_authorize(void *arg, const struct pa_caller *c, char *why, size_t len);
struct pa_metrics *pm_manager_metrics(struct pm_manager *m);
void pm_manager_free(struct pm_manager *m);
#endif

#if __has_include("agent.h")
#include "agent.h"
#define PD_HAVE_AGENT 1
#else
#define PD_HAVE_AGENT 0
struct pg_agent;
struct pg_agent_opts;
struct pg_agent *pg_agent_new(struct event_base *base, const struct pg_agent_opts *o, char *err,
			      size_t errlen);
void pg_agent_free(struct pg_agent *a);
#endif

#endif
