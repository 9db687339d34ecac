/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store_migrate.h: copying one policy store into another (SQLite into
 * etcd when a cluster grows past one manager, and back), for an operator
 * who has stopped every manager first; `lunlinkctl store migrate FROM TO`
 * is its command (doc/store.md, "Migrating").  Built on store.h alone, so
 * any two backends can be copied either way.
 *
 * What a copy guarantees:
 *   - the target held no key before (it is refused otherwise, naming how
 *     many and the first);
 *   - every key with its value, in transactions within PS_TXN_OPS_MAX and
 *     PS_TXN_BYTES_MAX, each put guarded by create_revision == 0, so a key
 *     another writer made meanwhile is never overwritten;
 *   - a key on a lease is on a target lease, one per distinct source lease,
 *     granted with the source lease's TTL (see store_migrate.c for why not
 *     its remaining time);
 *   - the target's revision ends above the source's, so the ids the
 *     manager makes from revisions (manager_int.h, pm_next_revision) never
 *     repeat one already in a value; then the target is compacted to it, so
 *     no watch reads the copy's own history as the manager's;
 *   - both are read back and compared, key by key.
 * Keys' create/mod revisions and versions are not kept (the target makes
 * its own); nothing in the manager compares them across a restart.
 */
#ifndef LUNLINK_POLICY_STORE_MIGRATE_H
#define LUNLINK_POLICY_STORE_MIGRATE_H

#include "store.h"

/* The key whose puts raise the target's revision: outside /lunlink/,
 * deleted when done. */
#define PS_MIGRATE_SCRATCH_KEY	"/lunlink-migrate/revision"

struct ps_migrate_stats {
	int64_t keys;			/* copied */
	int64_t leased_keys;		/* of them, on a lease */
	int64_t leases;			/* granted in the target */
	int64_t txns;			/* transactions of the copy */
	int64_t bytes;			/* of keys and values copied */
	int64_t source_revision;	/* the source's, which the target ends above */
	int64_t copied_revision;	/* the target's after the copy, before raising */
	int64_t raise_puts;		/* puts of PS_MIGRATE_SCRATCH_KEY (then one delete) */
	int64_t revision;		/* the target's at the end */
	char last_key[PS_KEY_MAX + 1];	/* the last key copied ("" if none) */
};

/* The steps, in order, for a progress report. */
enum ps_migrate_step {
	PS_MIGRATE_CHECK,		/* the target is empty */
	PS_MIGRATE_COPY,		/* keys and leases */
	PS_MIGRATE_RAISE,		/* the revision */
	PS_MIGRATE_VERIFY,		/* both read back */
	PS_MIGRATE_COMPACT,		/* the copy's history */
};

/*
 * Optional: progress is called at the start of each step, after each
 * transaction of the copy and every 1000 puts that raise the revision
 * (that one may take minutes: one put per revision of the source).
 */
struct ps_migrate_opts {
	void (*progress)(void *arg, enum ps_migrate_step step,
			 const struct ps_migrate_stats *stats);
	void *arg;
};

/*
 * Copy from into to, as above; opts may be NULL.  PS_OK with *stats filled; else PS_ERROR
 * with err saying why, *stats saying how far it got, and -- once anything
 * was written -- that the target must be cleared before trying again.
 * The stores may be any backends; neither may be written by anyone else
 * meanwhile.
 */
int ps_migrate(struct ps_store *from, struct ps_store *to, const struct ps_migrate_opts *opts,
	       struct ps_migrate_stats *stats, char *err, size_t errlen);

/*
 * The same from two URIs: opens both (a "sqlite:" source must exist:
 * opening would create it empty), refuses the same URI twice, copies,
 * closes.  Errors name the URI concerned.
 */
int ps_migrate_uri(const char *from_uri, const char *to_uri, const struct ps_migrate_opts *opts,
		   struct ps_migrate_stats *stats, char *err, size_t errlen);

#endif
