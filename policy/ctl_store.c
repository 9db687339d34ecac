// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl_store.c: `lunlinkctl store migrate FROM TO`, the copy of one policy
 * store into another (store_migrate.h; doc/store.md, "Migrating") for an
 * operator who has stopped every manager.  It talks to the stores, not to
 * a manager: the only command that does, since no manager may run.
 */
#include "ctl.h"
#include "store_migrate.h"

#include <stdio.h>

#define PROGRESS_EVERY_MS	5000

struct progress {
	const struct ctl *c;
	int64_t last_ms;
};

/* A line on stderr every few seconds, so a long copy (raising the
 * revision is one put per source revision) is not taken for a hang;
 * a copy done within that says nothing more. */
static void progress(void *arg, enum ps_migrate_step step, const struct ps_migrate_stats *s)
{
	struct progress *p = arg;
	int64_t now = ps_now_ms(), need = s->source_revision - s->copied_revision;

	if (now - p->last_ms < PROGRESS_EVERY_MS)
		return;
	p->last_ms = now;
	fprintf(stderr, "lunlinkctl: %s: ", p->c->cmd);
	switch (step) {
	case PS_MIGRATE_CHECK:
		fprintf(stderr, "checking that the target is empty\n");
		break;
	case PS_MIGRATE_COPY:
		fprintf(stderr, "copying: %lld keys so far, in %lld transactions\n",
			(long long)s->keys, (long long)s->txns);
		break;
	case PS_MIGRATE_RAISE:
		fprintf(stderr, "raising the target's revision past the source's %lld: %lld of "
			"about %lld puts\n", (long long)s->source_revision,
			(long long)s->raise_puts, (long long)(need > 0 ? need : 1));
		break;
	case PS_MIGRATE_VERIFY:
		fprintf(stderr, "comparing both stores, key by key\n");
		break;
	case PS_MIGRATE_COMPACT:
		fprintf(stderr, "compacting the copy's history\n");
		break;
	}
}

int ctl_store_migrate(struct ctl *c)
{
	struct progress p = { .c = c, .last_ms = ps_now_ms() };
	struct ps_migrate_opts opts = { .progress = progress, .arg = &p };
	struct ps_migrate_stats s;
	char err[2 * PS_ERR_MAX];
	json_object *o;

	if (ctl_parse(c, NULL, 2, 2))
		return CTL_USAGE;
	if (ps_migrate_uri(c->args[0], c->args[1], &opts, &s, err, sizeof(err)))
		return ctl_fail(c, "%s", err);
	if (c->json) {
		o = json_object_new_object();
		json_object_object_add(o, "from", json_object_new_string(c->args[0]));
		json_object_object_add(o, "to", json_object_new_string(c->args[1]));
		json_object_object_add(o, "keys", json_object_new_int64(s.keys));
		json_object_object_add(o, "leased_keys", json_object_new_int64(s.leased_keys));
		json_object_object_add(o, "leases", json_object_new_int64(s.leases));
		json_object_object_add(o, "transactions", json_object_new_int64(s.txns));
		json_object_object_add(o, "bytes", json_object_new_int64(s.bytes));
		json_object_object_add(o, "source_revision", json_object_new_int64(s.source_revision));
		json_object_object_add(o, "raise_puts", json_object_new_int64(s.raise_puts));
		json_object_object_add(o, "revision", json_object_new_int64(s.revision));
		ctl_print_json(o);
		json_object_put(o);
		return CTL_OK;
	}
	printf("copied %lld keys (%lld on %lld leases) from %s to %s; revision now %lld\n",
	       (long long)s.keys, (long long)s.leased_keys, (long long)s.leases, c->args[0],
	       c->args[1], (long long)s.revision);
	if (s.raise_puts)
		printf("raised the target's revision from %lld past the source's %lld: %lld "
		       "puts of " PS_MIGRATE_SCRATCH_KEY " and its delete, one revision each\n", (long long)s.copied_revision, (long long)s.source_revision,
		       (long long)s.raise_puts);
	printf("the copy's history is compacted: watches and `events --since` from before "
	       "revision %lld read afresh\n", (long long)s.revision);
	return CTL_OK;
}
