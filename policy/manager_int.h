/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * manager_int.h: what the manager's files share and nobody else sees: the
 * manager object, the store helpers they all use (keys under /lunlink/,
 * JSON values, the revision a transaction will make), and each file's
 * route handlers and hooks.
 *
 *   manager.c   the object, its timers and watch, authorize, metrics, status
 *   registry.c  tokens, joins, reports, nodes online and offline, removal
 *   report.c    the agent's report: parsed and bounded (fuzzed)
 *   pool.c      areas
 *   events.c    GET /v1/events, and its followers
 *   volume.c    volumes: placement, the record and desired state, commits
 *   volume_life.c  readiness, sync state, deletion, a restart's carrying on
 *   volume_ops.c   resize, lending
 *   lease.c     write ownership: doubled volumes' leases, their renewal
 *   volume_pr.c    a volume's persistent reservations, for the cluster
 */
#ifndef LUNLINK_POLICY_MANAGER_INT_H
#define LUNLINK_POLICY_MANAGER_INT_H

#include "join.h"
#include "manager.h"
#include "waiters.h"
#include "lunlink/clock.h"

#include <string.h>

#define PM_PREFIX	"/lunlink/"
#define PM_ID_LEN	16		/* hex digits of a node's or an area's id */
#define PM_ROUTES_MAX	24
#define PM_PATH_MAX	255		/* bytes of an area's or an image's path */
#define PM_COPIES_MAX	5		/* a primary and up to four legs (mirror.md) */
#define PM_PARTS_MAX	16		/* an integrated volume's parts (the module joins 16) */
#define PM_IQN_BASE	"iqn.2026-11.org.lunlink.cluster"
/* the last option of every LUN that serves a volume to hosts: its
 * persistent reservations are the volume's, kept by the manager
 * (volume_pr.c), so that they follow a switchover or a failover to another
 * node's copy.  The module names the state by its image's volume id, the
 * one every copy is made with.  Legs and integrated parts are served to
 * the primary's module alone and keep the module's default, pr=local. */
#define PM_SERVING_PR	"pr=cluster"
#define PM_CLUSTER_LEN	15		/* hex digits of the cluster's id in a WWID */
#define PM_CHAP_USER_LEN	12	/* "ll-" and 9 random */
#define PM_CHAP_SECRET_LEN	16	/* iSCSI wants 12 to 16 bytes (RFC 3720 8.2.1) */

struct pm_follower;

/* A doubled volume's write lease as the manager holds it (lease.c): its
 * record is leases/NAME; the deadline is on this process's monotonic
 * clock, never stored. */
struct pm_lease {
	char volume[PJR_NAME_MAX + 1];
	char holder[PM_ID_LEN + 1];	/* the node's id */
	char holder_name[PJR_NAME_MAX + 1];
	int64_t epoch;			/* the revision that granted it */
	int64_t deadline_ms;		/* ll_mono_ms(): renewed before it, or expired */
	bool held;			/* false: its expiry is recorded */
	/* the primary's generation the holder last reported, recorded in
	 * leases/NAME ("": none yet): a leg with it holds every write
	 * acknowledged (the module acknowledges no write of another) */
	char generation[17];
};

struct pm_manager {
	struct event_base *base;
	struct ps_store *st;
	struct pm_options o;
	struct pca_ca *ca;
	struct pa_join join;
	struct pa_route routes[PM_ROUTES_MAX];
	size_t nroutes;
	struct event *tick;		/* every second: leases, watches */
	struct event *notify;		/* the store's notify fd */
	int64_t last_compact_ms;
	struct ps_watch *watch;		/* the manager's own, over /lunlink/ */
	char **revoked;			/* sorted serials: a cache of revoked/ */
	size_t nrevoked;
	struct pm_follower *followers;
	int nfollowers;
	struct pw_waiters *waiters;	/* parked long polls (waiters.h) */
	struct pm_pr *pr;		/* acks and grants of reservation state (volume_pr.c) */
	struct pm_host_conn *conns;	/* hosts' daemons in touch (hosts.c) */
	size_t nconns;
	struct pa_metrics *metrics;
	struct pa_metric *nodes_state[2];	/* online, offline */
	struct pa_metric *volumes_state[5];	/* creating ready failed deleting degraded */
	struct pa_metric *resync_left;
	int64_t last_sweep_ms;		/* volumes in a transition looked at again */
	char cluster[PM_CLUSTER_LEN + 1];	/* from the CA's certificate: in every WWID */
	struct pm_lease *leases;	/* the doubled volumes' write leases (lease.c) */
	size_t nleases;
};

/* ---- manager.c: helpers ---- */

void pm_log(struct pm_manager *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "/lunlink/" + the formatted rest, into buf (PS_KEY_MAX + 1 bytes). */
void pm_key(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A key's value as a JSON object (a new reference), or NULL if missing or
 * not an object; kv (may be NULL) gets the key's revisions (value freed). */
json_object *pm_get(struct pm_manager *m, const char *key, struct ps_kv *kv);
/* Its text for a put: plain JSON, valid while o lives. */
const char *pm_text(json_object *o);
/* The store's revision plus one: the revision the next transaction will
 * make when nobody else writes meanwhile (on etcd, a lease's expiry may),
 * else a lower one; unique and growing either way, as the names and
 * epochs made from it need.  -1 with the store's error. */
int64_t pm_next_revision(struct pm_manager *m);
void pm_hex_id(int64_t rev, char out[PM_ID_LEN + 1]);
/* Whether the caller is an admin (certificate) or the local admin. */
bool pm_caller_admin(const struct pa_request *r);
/* Answer 500 naming the store's error. */
void pm_reply_store(struct pa_request *r, struct pm_manager *m, const char *doing);
/* A query string parameter of the request (malloc'd), or NULL. */
char *pm_query(struct pa_request *r, const char *name);
/* A query parameter as an integer from min to max: 1 and *out; 0 if
 * absent; -1 when it is not one, with a 400 naming it answered. */
int pm_query_number(struct pa_request *r, const char *name, int64_t min, int64_t max,
		    int64_t *out);
/* A field of a JSON object as a string ("" if absent) or an integer (0). */
const char *pm_str(json_object *o, const char *field);
int64_t pm_int(json_object *o, const char *field);
/* Drain the manager's watch and the followers (after a commit, on a tick). */
void pm_drain(struct pm_manager *m);

/* ---- registry.c ---- */

void pm_tokens_post(struct pa_request *r, void *arg);
void pm_nodes_report(struct pa_request *r, void *arg);
void pm_nodes_desired(struct pa_request *r, void *arg);
void pm_nodes_get(struct pa_request *r, void *arg);
void pm_nodes_delete(struct pa_request *r, void *arg);
char *pm_token_get(void *arg, const char *id);
int pm_name_check(void *arg, enum pca_role role, const char *name, char *why, size_t len);
int pm_join_commit(void *arg, struct pa_join_commit *c);
/* The node named name: its record (new reference) and id, or NULL. */
json_object *pm_node_by_name(struct pm_manager *m, const char *name, char id[PM_ID_LEN + 1],
			     struct ps_kv *kv);
/* The calling node's record (new reference) and id, or NULL once r is
 * answered 403 (a node removed since authorize let its call through). */
json_object *pm_caller_node(struct pa_request *r, struct pm_manager *m, char id[PM_ID_LEN + 1]);
/* Every node's record, in id order (a new array). */
json_object *pm_nodes_all(struct pm_manager *m);
/*
 * Nodes and hosts are registered alike: a record under RECORDS/ID, a
 * name index NAMES/NAME -> {"id"}, an alive key ALIVE/ID on a lease that
 * their reports keep (offline when it expires).
 */
struct pm_kind {
	const char *records;	/* "nodes", "hosts" */
	const char *names;	/* "node-names", "host-names" */
	const char *alive;	/* "alive", "host-alive" */
	const char *what;	/* "node", "host": for messages */
	enum pca_role role;
};
extern const struct pm_kind pm_kind_node, pm_kind_host;
json_object *pm_member_by_name(struct pm_manager *m, const struct pm_kind *k, const char *name,
			       char id[PM_ID_LEN + 1], struct ps_kv *kv);
/* state ("online", "offline"), since (a revision) and since_ms */
void pm_set_state(json_object *rec, const char *state, int64_t since);
/* A report's alive key akey: renewed (1), or a put of it on a new lease
 * to make in the report's transaction (0: *op filled, *text and *lease
 * the caller's to free and revoke if the transaction fails), or -1 on a
 * store error. */
int pm_alive_renew(struct pm_manager *m, const char *akey, struct ps_op *op, char **text,
		   int64_t *lease);
/*
 * A report's part common to nodes and hosts, in three calls: begin finds
 * the caller's record (rec, its id, kv), renews its alive key or readies
 * a put of it on a new lease, and sets the record online if it was not
 * (changed); the caller merges its fields (changed too); commit puts it
 * all, with extra operations, in one transaction if the record did not
 * change meanwhile; free undoes what a failed commit left.  begin and
 * commit answer r themselves on failure (403, 409, 500) and return -1.
 */
#define PM_BEAT_OPS	2
struct pm_beat {
	char id[PM_ID_LEN + 1];
	char rkey[PS_KEY_MAX + 1], akey[PS_KEY_MAX + 1];
	json_object *rec;
	struct ps_kv kv;
	struct ps_op ops[PM_BEAT_OPS];
	size_t nops;
	char *alive_text;
	int64_t lease;
	bool changed;
};
int pm_beat_begin(struct pa_request *r, struct pm_manager *m, const struct pm_kind *k,
		  struct pm_beat *b);
int pm_beat_commit(struct pa_request *r, struct pm_manager *m, const struct pm_kind *k,
		   struct pm_beat *b, const struct ps_op *extra, size_t nextra);
void pm_beat_free(struct pm_manager *m, struct pm_beat *b);
/* Copy into rec the fields of report named in fields (NULL: all of them)
 * whose value differs; true if any did. */
bool pm_merge_fields(json_object *rec, json_object *report, const char *const *fields);
/* The alive key of a node or host went at revision rev: mark it offline. */
void pm_member_gone(struct pm_manager *m, const struct pm_kind *k, const char *id, int64_t rev);
/* At start: every node's and host's state as its alive key says. */
int pm_nodes_reconcile(struct pm_manager *m, char *err, size_t errlen);

/* ---- hosts.c ---- */

/* When the host's daemon was last in touch: its polls parked now, and
 * the last time one ended or it reported (not stored: a restarted
 * manager knows again at the host's next poll). */
struct pm_host_conn {
	char id[PM_ID_LEN + 1];
	int parked;
	int64_t last_ms;
	bool gone;	/* its last poll ended with its connection, unanswered */
};
/* Whether host id's daemon is in touch: a poll parked, or news from it
 * within PM_HOST_GRACE_MS unless its last poll ended with its connection
 * (the daemon stopped: no grace); *last_ms (may be NULL) when it last
 * was. */
#define PM_HOST_GRACE_MS	3000
bool pm_host_connected(struct pm_manager *m, const char *id, int64_t *last_ms);
void pm_host_conns_free(struct pm_manager *m);
/* A joining host's record (NULL without randomness for its CHAP). */
json_object *pm_host_new(const char *id, int64_t rev, const struct pca_identity *who);
void pm_hosts_report(struct pa_request *r, void *arg);
void pm_hosts_desired(struct pa_request *r, void *arg);
void pm_hosts_get(struct pa_request *r, void *arg);
/* Every host's record, its CHAP secret hidden (a new array). */
json_object *pm_hosts_all(struct pm_manager *m);
/* The host record of id (a new reference) or NULL; kv as pm_get's. */
json_object *pm_host_get(struct pm_manager *m, const char *id, struct ps_kv *kv);

/* ---- link.c ---- */

/* POST /v1/volumes/NAME/link, /unlink */
void pm_volume_link(struct pa_request *r, struct pm_manager *m, const char *name);
void pm_volume_unlink(struct pa_request *r, struct pm_manager *m, const char *name);
void pm_links_get(struct pa_request *r, void *arg);
/* Every link of host id, as its desired links (a new array); links that
 * the host is now told of for the first time get their host_told step. */
json_object *pm_links_for_host(struct pm_manager *m, const char *host_id);
/* One entry of a host's report about a link (checked by
 * pm_host_report_parse): the link moves on if it answers its request. */
void pm_link_host_report(struct pm_manager *m, const char *host_id, json_object *entry);
/* The serving node's actual state of volume name changed: a requested
 * link presented, a released one gone? */
void pm_link_check(struct pm_manager *m, const char *name);
/* Every link looked at again (from pm_volumes_sweep). */
void pm_links_sweep(struct pm_manager *m);
/* The link record of a volume (new reference), or NULL. */
json_object *pm_link_get(struct pm_manager *m, const char *name, struct ps_kv *kv);

/* ---- report.c ---- */

/*
 * Check an agent's report (the body of POST /v1/nodes/report) and give it
 * back in the form stored under reports/ID: only known fields, each
 * bounded.  *volumes gets the report's "volumes" object (a reference into
 * *out, NULL if absent).  0, or -1 with e naming the field
 * ("areas[2].path").
 */
int pm_report_parse(json_object *body, json_object **out, json_object **volumes,
		    struct pjr_err *e);
/*
 * Check a host's report (POST /v1/hosts/report, doc/link.md) and give it
 * back rebuilt from the checked fields: {"initiator","hostname",
 * "lunlink_version"} in *out, and its "links" entries in *links (a new
 * array, empty if none).  0, or -1 with e naming the field.
 */
int pm_host_report_parse(json_object *body, json_object **out, json_object **links,
			 struct pjr_err *e);
/* An area's or image's path: absolute, normalised, bounded; -1 with e
 * naming field. */
int pm_path_check(const char *path, const char *field, struct pjr_err *e);

/* ---- pool.c ---- */

void pm_areas_post(struct pa_request *r, void *arg);
void pm_areas_get(struct pa_request *r, void *arg);
void pm_areas_delete(struct pa_request *r, void *arg);
/* Every area with its node's name, used and free (a new array). */
json_object *pm_areas_all(struct pm_manager *m);

/* ---- events.c ---- */

void pm_events_get(struct pa_request *r, void *arg);
/* Send each follower what has committed since; end those compacted past. */
void pm_followers_drain(struct pm_manager *m);
void pm_followers_free(struct pm_manager *m);
/* An event as the API shows it: {"revision","type","key","value"}. */
json_object *pm_event_json(const struct ps_event *ev);

/* ---- volume.c ---- */

void pm_volumes_post(struct pa_request *r, void *arg);
/* Every volume's record (a new array). */
json_object *pm_volumes_all(struct pm_manager *m);
/* The first volume with a part on node id (and in area, if not NULL; a
 * deleting volume does not hold a node): its name in name
 * (PJR_NAME_MAX + 1), or 0 if none. */
int pm_volume_using(struct pm_manager *m, const char *node_id, const char *area_id,
		    char *name);
/* Bytes the manager placed in an area (its volumes' images). */
uint64_t pm_area_allocated(struct pm_manager *m, const char *node_id, const char *area_id);
/* 10737418240 -> "10G" */
void pm_human(uint64_t b, char *out, size_t len);
/* vol's parts (*parts, NULL if none) and how many a loop over them takes:
 * no more than PM_PARTS_MAX (the arrays sized for a volume's parts). */
size_t pm_volume_parts(json_object *vol, json_object **parts);

/* vol's "identity": scsi_sn, scsi_id (NAA type 6 as tgt makes it), wwid. */
void pm_volume_identity(struct pm_manager *m, json_object *vol);
/* An integrated volume's serving bsopts: extent=URL:0:LEN per other part,
 * then PM_SERVING_PR (malloc'd). */
char *pm_integrated_bsopts(json_object *vol);

/* One node's desired state of a volume: NULL deletes the key. */
struct pm_desired {
	const char *node;
	json_object *desired;
};
/*
 * One decision about volume name, one transaction: put vol (NULL: delete
 * the record) if the record's mod revision is still vol_mod (0: it must
 * not exist), put or delete each node's desired key, and set each of
 * those nodes' desired_revision to this revision (so that its agent
 * reads it).  0 (*revision the one made), 1 if the volume or a node
 * changed meanwhile, -1 on a store error.
 */
int pm_volume_commit(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
		     const struct pm_desired *d, size_t n, int64_t *revision);
/* More comparisons and operations for the same transaction (a link's
 * record and its host's, with the volume's): their keys and values must
 * live until it returns. */
struct pm_txn_extra {
	const struct ps_cmp *cmp;
	size_t ncmp;
	const struct ps_op *ops;
	size_t nops;
};
int pm_volume_commit_ex(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
			const struct pm_desired *d, size_t n, const struct pm_txn_extra *x,
			int64_t *revision);

/* ---- volume_life.c ---- */

void pm_volumes_get(struct pa_request *r, void *arg);
void pm_volumes_delete(struct pa_request *r, void *arg);
/* A node's actual state of a volume changed: is the volume ready, how are
 * its copies, is its resize or deletion further? */
void pm_volume_check(struct pm_manager *m, const char *name);
/* Every volume in a transition (creating, deleting, resizing) looked at
 * again: at start, whose nodes are gone is failed; then checked; and
 * every link (pm_links_sweep).  At start, then every few seconds. */
void pm_volumes_sweep(struct pm_manager *m, bool start);
/* Hide the CHAP secret from those who may not see it. */
void pm_volume_redact(json_object *vol);

/* ---- volume_ops.c ---- */

/* POST /v1/volumes/NAME/resize, /lend, /return */
void pm_volume_action(struct pa_request *r, struct pm_manager *m);
/* A resize whose other parts have grown: grow the serving node's (the
 * record's mod revision vol_mod).  0, 1 if changed meanwhile, -1. */
int pm_resize_serving(struct pm_manager *m, json_object *vol, int64_t vol_mod);
/* A CHAP account the manager makes: user "ll-" and 9 random lower-case
 * letters and digits, a 16-character random secret.  -1 without
 * randomness. */
int pm_chap_make(char user[PM_CHAP_USER_LEN + 1], char secret[PM_CHAP_SECRET_LEN + 1]);

/* ---- lease.c ---- */

#define PM_LEASES_PER_CALL	1024	/* volumes one renewal names: all a node may serve (PG_VOLUMES_MAX) */
/* After a lease's deadline, how long before another node may have it:
 * the holder's tgtd stopped acknowledging writes before the deadline
 * (its agent's margin); the grace covers the clocks' rates and a late
 * tick besides. */
#define PM_LEASE_GRACE_MS	1000

/* The manager's clock for leases and PR grants: CLOCK_MONOTONIC in ms. */
/* POST /v1/nodes/leases */
void pm_nodes_leases(struct pa_request *r, void *arg);
/* At start: each lease in the store, a held one given a full lease_ms
 * from now.  0, or -1 with err. */
int pm_leases_load(struct pm_manager *m, char *err, size_t errlen);
void pm_leases_free(struct pm_manager *m);
/* Every tick: leases past their deadline recorded expired (an event). */
void pm_leases_tick(struct pm_manager *m);
/* leases/NAME was deleted (its volume went): forget it. */
void pm_lease_forget(struct pm_manager *m, const char *volume);
/* A volume's lease as GET /v1/volumes shows it: the record with "state"
 * (held or expired, by the clock), "left_ms" and "lun", what the serving
 * node last reported its LUN holds; NULL if it has none.  vol: the
 * volume's record. */
json_object *pm_lease_json(struct pm_manager *m, json_object *vol);
/*
 * A doubled volume's legs as GET /v1/volumes shows them (failover.c):
 * [{"node","node_id","generation","promotable"[,"why_not"]}], promotable
 * when the leg's superblock generation (its node's report) is the
 * primary's recorded one and its node is online.  The first promotable
 * leg's node id into promote_id ("" if none; promote_id may be NULL).
 */
json_object *pm_volume_legs_json(struct pm_manager *m, json_object *vol, char *promote_id);
/* link.c: a linked volume that moves to another node (its promotion) */
int pm_link_move_commit(struct pm_manager *m, const char *name, json_object *vol, int64_t vol_mod,
			const struct pm_desired *d, size_t n, json_object *link, int64_t link_mod,
			int64_t *revision);
int pm_link_move(struct pm_manager *m, const char *name, json_object *vol, json_object *link,
		 const char *node_id, const char *node_name, const char *portal,
		 const char *vol_iqn, json_object *l, int64_t rev, char *why, size_t len);
/*
 * failover.c: promote volume name's leg on node to_id to primary, in one
 * transaction (doc/policy.md, "Switchover and failover"); kind
 * "switchover" or "failover".  0 (the revision in *revision), 1 if
 * something changed meanwhile, -1 on a store error, -2 refused (why).
 */
int pm_volume_promote(struct pm_manager *m, const char *name, const char *to_id,
		      const char *kind, int64_t *revision, char *why, size_t len);
/* From the manager's tick: each volume whose lease ran out past the grace
 * and whose holder's node is offline: its promotable leg is promoted
 * ("failover"), or the volume says "none promotable" (its "failover"). */
void pm_failover_tick(struct pm_manager *m);
/* POST /v1/volumes/NAME/switchover {"to":"NODE"} (admin) */
void pm_volume_switchover(struct pa_request *r, struct pm_manager *m, const char *name);
/*
 * The seam for failover: the volumes whose lease ran out more than
 * PM_LEASE_GRACE_MS ago and was not granted again, whose primary may be
 * handed to another node.  Up to max names into names; returns how many
 * there are (may be more than max).
 */
size_t pm_leases_expired(struct pm_manager *m, char (*names)[PJR_NAME_MAX + 1], size_t max);
/* ---- volume_pr.c ---- */

#define PM_PR_VOLUME_LEN	32	/* hex digits of the image's volume id */
#define PM_PR_EXPORTERS_MAX	32	/* nodes exporting one volume */
#define PM_PR_CDB_MAX		16	/* bytes of a PR OUT's CDB */
#define PM_PR_PARAM_MAX		24576	/* bytes of its parameter list (64 TransportIDs) */
#define PM_PR_ACKS_MAX		1024	/* volumes one pr-ack names */
#define PM_PR_RTPI		1	/* the target port ALL_TG_PT registers on, as the module's */

struct pm_pr;
struct pm_pr *pm_pr_new(void);
void pm_pr_free(struct pm_pr *p);
/* Whether s is a volume id as the module names its LUN's volume (inline:
 * report.c's fuzz target links no more than report.c). */
static inline bool pm_pr_volume_valid(const char *s)
{
	return pjr_hex_valid(s, PM_PR_VOLUME_LEN);
}
/* POST /v1/volumes/ID/pr: a PR OUT, answered once every exporter has the
 * new state or can no longer serve an older one. */
void pm_pr_post(struct pa_request *r, struct pm_manager *m, const char *volume);
/* GET /v1/volumes/NAME/pr (or ID): keys, reservation, generation, nodes. */
void pm_pr_get(struct pa_request *r, struct pm_manager *m, const char *which);
/* POST /v1/nodes/pr-ack: {"volume","generation"} or {"volumes":[...]}. */
void pm_nodes_pr_ack(struct pa_request *r, void *arg);
/* The state of each volume node id exports, for its desired state: an
 * object by volume id of {"generation","state","ua","abort"}. */
json_object *pm_pr_for_node(struct pm_manager *m, const char *id);
/* Whether a node's new report (checked) lists a volume its stored one
 * did not: its desired state must then bring it that state. */
bool pm_pr_report_news(struct pm_manager *m, const char *id, json_object *report);
/* Tests only: as if the manager had started at start_ms (ll_mono_ms):
 * no PR OUT is answered before start_ms + pr_valid_ms. */
void pm_pr_set_start(struct pm_manager *m, int64_t start_ms);
/* Tests only: called between reading the record and writing it. */
extern void (*pm_pr_race_hook)(struct pm_manager *m, const char *volume);

#endif
