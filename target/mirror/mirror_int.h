/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mirror_int.h: what the files of the mirror engine share.  Each file owns
 * one concern and its state (DRBD's drbd_bitmap.c and drbd_actlog.c):
 * mirror.c: set up, the tick, local error counts, freeing; fan.c: one
 * command fanned out to this copy and the legs; map.c: the dirty-region
 * map and the stale list, and their writes; actlog.c: the activity log;
 * mirror_close.c: tear down without waiting for a peer; mirror_leg.c:
 * connecting, probing and dropping legs; mirror_resync.c: copying dirty
 * regions to a returning leg, repair; verify.c: online verify; status.c:
 * the status file; lease.c: the write-ownership lease (lease=on) and the
 * writes held for it; fence.c: the legs' persistent reservations.  What one needs of another goes through the functions
 * declared at the end.  Everything here runs in tgtd's main loop.
 */
#ifndef LUNLINK_MIRROR_INT_H
#define LUNLINK_MIRROR_INT_H

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "lunlink.h"
#include "mirror.h"
#include "remote/conn.h"

#define TICK_MS			100
#define BACKOFF_MIN_MS		500
#define BACKOFF_MAX_MS		30000
#define LOCAL_MSG_MS		10000

/* a resync copy takes adjacent dirty regions together, up to this much,
 * and a leg has up to LL_RESYNC_JOBS copies in flight; regions that are
 * holes here go to the leg as one WRITE SAME with UNMAP of up to
 * LL_RESYNC_HOLE_MAX */
#define LL_RESYNC_MAX	(1u << 20)
#define LL_RESYNC_HOLE_MAX	(64u << 20)
#define LL_RESYNC_JOBS	4

#define LL_CLOSE_REQS	2	/* a mirror's close writes two records at once */

#define LL_FENCE_KEYS	32	/* other keys on a leg that a fence preempts */
#define LL_LEASE_WAIT_MAX	1024	/* requests a mirror holds for a lease */
#define LL_LEASE_HOLD_MS	20000	/* and for this long at most (lease.c) */
#define LL_STR_(x)	#x
#define LL_STR(x)	LL_STR_(x)


enum leg_state {
	LEG_DOWN,		/* waiting to reconnect */
	LEG_CONNECTING,		/* login, then probe */
	LEG_SYNCING,		/* connected, takes new writes, being resynced */
	LEG_UP,			/* in sync */
	LEG_REFUSED,		/* split brain, foreign or unusable: needs a person */
};

extern const char *const ll_leg_state_name[];
extern const char *const ll_leg_joined_name[];

enum { END_FLUSH_NONE, END_FLUSH_SENT, END_FLUSH_DONE };
enum { CLOSE_FLUSH_NONE, CLOSE_FLUSH_SENT, CLOSE_FLUSH_DONE, CLOSE_FLUSH_FAILED };

struct ll_leg {
	struct ll_mirror *m;
	unsigned int idx;
	char public_url[LL_URL_MAX + 1];	/* its URL for messages: no password */
	struct ll_conn conn;		/* its connection (remote/conn.c) */
	uint64_t capacity;		/* bytes, from its last probe (0: not yet) */
	unsigned char recap_ua;		/* unit attentions its capacity re-ask met */
	enum leg_state state;
	uint64_t retry_at;		/* ms */
	unsigned int backoff;		/* ms */
	uint8_t *need;			/* regions this leg lacks */
	uint8_t *unsynced[2];		/* written without FUA since its last flush */
	int flushing;			/* a SYNCHRONIZE CACHE in flight: [1] is its */
	/* the SYNCHRONIZE CACHE that ends a resync (END_FLUSH_*), and the one
	 * a clean close sends (CLOSE_FLUSH_*) */
	int end_flush, close_flush;
	unsigned char end_flush_ua;	/* unit attentions on the first */
	uint64_t need_count;
	/* copied: bytes of the resync done, of which data: read here and
	 * written to the leg; holes: holes here, unmapped on the leg (WRITE
	 * SAME with UNMAP) or, no_unmap, written as zeros */
	uint64_t sync_pos, copied, sync_start, data, holes;
	int no_unmap;			/* its READ CAPACITY says no LBPME, or it
					 * refused WRITE SAME's UNMAP bit */
	unsigned int copying;		/* copy jobs in flight */
	int discard;			/* resolve=discard-leg: overwrite it */
	int split;			/* refused as split from this copy (or newer):
					 * resolve=discard-leg may overwrite it */
	int full;			/* syncing everything: it held nothing of ours */
	/* the copy of the volume it holds (its superblock's copy id, or one
	 * given it here), 0 until probed; id_unsaved: given here, not yet in
	 * its superblock; probed_gen: its generation at the probe */
	uint64_t copy_id, probed_gen;
	int id_unsaved;
	/* its superblock says it may lack regions its generation does not
	 * show (it was a primary that crashed, or had stale regions): until
	 * the resync ends, nothing here may overwrite that record */
	int own_record;
	/* online verify (verify.c's): regions compared by SHA-256, local
	 * against leg; verifies: passes finished since the LUN was opened,
	 * the last one's regions compared and how many differed */
	int verifying;
	uint64_t verify_pos, verify_count, verify_diff;
	uint64_t verifies, verified, verify_differed;
	/* for the status file, what tests and operators read as state:
	 * mirror_leg.c's: verdict: generation.c's verdict on its superblock at
	 * its last probe since it connected, LL_GEN_* + 1 (0: none yet: not
	 * probed, or refused before the superblock was read); joined: what
	 * that probe did (LEG_JOINED_*); own_regions: regions its own record
	 * (its stale list, its activity log) added to that resync; drops:
	 * times it was dropped while up or syncing, since the LUN was opened */
	int verdict;
	enum { LEG_JOINED_NONE, LEG_JOINED_IN_SYNC, LEG_JOINED_MAP, LEG_JOINED_FULL } joined;
	uint64_t own_regions, drops;
	/* mirror_resync.c's: regions the current (or last) resync started
	 * with; resyncs finished since the LUN was opened, the bytes the last
	 * one copied, and whether it ended with the leg's flush */
	uint64_t resync_regions, resyncs, resync_bytes;
	int resync_flushed;
	/* resync and verify work in jobs: a range of the volume held in the
	 * LUN, read from this copy, then written to (or compared with) the leg */
	struct ll_copy {
		struct ll_leg *g;
		int busy;
		int parked;		/* fault=slow-resync: read, sent at the next tick */
		unsigned char ua_tries;	/* unit attentions on its leg command */
		uint64_t start, len;	/* volume offsets */
		struct ll_range range;	/* what the LUN must not write meanwhile */
		uint8_t *buf;		/* LL_RESYNC_MAX bytes, while the leg syncs */
		struct ll_io rd;	/* the local read */
		uint8_t local_md[32];	/* verify: this copy's digest */
	} job[LL_RESYNC_JOBS];
	/* fence.c's (lease=on): the epoch this leg is fenced for (our key
	 * registered, the reservation ours), the one a fence in flight is
	 * for (0: none), and that fence's state: whether the probe follows
	 * (the fence after login), its tries, the keys it found to preempt */
	uint64_t fenced_epoch, fencing;
	int fence_then_probe;
	unsigned char fence_tries, fence_ua, fence_more, fence_rounds;
	unsigned int nfence_keys, fence_next, fence_preempted;
	uint64_t fence_keys[LL_FENCE_KEYS];
	char why[640];
};

/* Writes (fans) waiting for a record to reach this copy's disk, in order
 * (fan.c's functions add and release; each queue is its owner's). */
struct fan_queue {
	struct fan *head, *tail;
};

/*
 * A mirrored set: this copy and its legs.  Its fields are grouped by the
 * file that owns them: only that file writes them (others read them, and
 * change them through its functions below).
 */
struct ll_mirror {
	/* ---- mirror.c: set at open, read everywhere ---- */
	struct ll_lu *l;
	/* the local copy: the backing store's image or an extent's; the
	 * extent says where it is in the LUN (a resync holds the LUN's range
	 * of what it copies) */
	unsigned int set;		/* 0: the backing store; k: extent= number k */
	struct ll_extent *ext;		/* l->ext[set] */
	struct ll_image *image;		/* its superblock */
	/* the copy's data: a layer whose byte 0 is its first byte of data
	 * (the image's own, or the image's then copy_extent= areas), and
	 * how many bytes of data the mirror serves (no more than the map
	 * covers: the image's --max-size) */
	struct ll_layer *copy;
	uint64_t size;
	char label[LL_EXTENT_PATH_MAX + 32];	/* for messages: "" or "extent 2 (PATH): " */
	unsigned int nlegs;
	struct ll_leg leg[LL_MAX_LEGS];	/* their own fields: mirror_leg.c, mirror_resync.c */
	uint64_t nregions;
	unsigned int shift;		/* log2 of the region size */
	int tick_fd;
	/* this copy's data is still the zeros lunlink-image create left: its
	 * superblock said blank at open (the mark is off its disk from then
	 * on), and no write has been sent anywhere since; a leg that is
	 * blank too, of this volume, joins in sync with nothing copied.
	 * Set here; cleared by whichever file sends a write to this copy */
	int blank;

	/* ---- mirror.c: local errors, for the status file; their messages are
	 * rate-limited: of each kind one in full, then a summary at most every
	 * LOCAL_MSG_MS (ll_local_say counts them for every file) ---- */
	struct ll_local_errs {
		uint64_t n;		/* since the LUN was opened */
		uint64_t said_at;	/* ms of the last one said in full */
	} read_errs, write_errs, meta_errs, refused, unrecorded, repair_errs;
	int meta_failing;		/* the last metadata write failed */
	uint64_t quiet, quiet_since;	/* errors not said since (ms) */

	/* ---- mirror_leg.c: copies the superblock records that no leg is
	 * known to be: each counts as a leg that is down (every write goes
	 * into the map) ---- */
	unsigned int absent;
	int absent_said;		/* and they were named in the log */

	/* ---- map.c: the dirty-region map and the stale list ---- */
	uint8_t *dirty;			/* the on-disk map, in memory (aligned) */
	/* regions this copy lacks (a local write failed where the legs took
	 * it) or cannot read: read from a leg that is up, repaired from it
	 * (mirror_resync.c), kept in the superblock's stale list; changed
	 * through stale_set/stale_clear (below) */
	uint8_t *local_bad;
	uint64_t bad_count;
	int stale_dirty;		/* the superblock's list is behind local_bad */
	/* the map, written through the engine like the log: writes that set
	 * bits wait for it before they are acknowledged */
	uint64_t map_version, map_durable, map_writing;
	uint64_t map_lo, map_hi;	/* pages changed since the last write */
	uint64_t map_wlo, map_whi;	/* the pages being written */
	int sb_pending;			/* the superblock too, first */
	/* a new generation goes to the legs that are up once this copy's
	 * superblock holds it, and the superblock's step is done when they
	 * answered: gen_to_legs: it is to be sent; legs_sb_out: leg writes
	 * unanswered; sb_waiting: the local write is done and waits for them */
	int gen_to_legs;
	unsigned int legs_sb_out;
	int sb_waiting;
	uint8_t *sb_buf;		/* its encoding, while written */
	struct ll_io map_io;
	struct fan_queue map_wait;

	/* ---- actlog.c: the activity log: extents that may be written right
	 * now, on disk before any write to them, so that after a crash only
	 * they resync ---- */
	unsigned int al_shift;		/* log2 of an extent's size */
	uint64_t nextents;
	uint64_t *al;			/* on-disk slots: extent + 1, 0 = free */
	unsigned int al_next;		/* the slot to try next */
	uint8_t *in_al;			/* extent -> in a slot */
	uint32_t *al_busy;		/* extent -> writes in flight */
	uint64_t *al_seq;		/* extent -> the log version that holds it */
	/* an extent leaves the log only once its writes are on stable storage
	 * on every copy (a flush of this copy and the legs since its last
	 * write started), or a crash could leave it different on the copies
	 * where no log or map says so: al_last: extent -> the sync epoch of
	 * its last write; an extent is flushed if that is older than
	 * al_synced_epoch, the epoch of the last flush that completed */
	uint64_t *al_last;
	uint64_t al_epoch, al_sync_epoch, al_synced_epoch;
	int al_syncing;			/* that flush is in flight */
	unsigned int al_evicted;	/* extents that left the log since it began */
	struct ll_io al_sync_io;
	struct fan_queue sync_wait;	/* writes waiting for it */
	uint64_t al_version;		/* the log in memory, bumped per change */
	uint64_t al_durable;		/* the version known on stable storage */
	/* extents recovered at open from a log not closed cleanly (resynced
	 * to the legs), for the status file */
	uint64_t al_recovered;
	uint64_t al_writing;		/* the version being written, or 0 */
	struct ll_io al_io;		/* that write */
	struct fan_queue al_wait;	/* writes waiting for it */

	/* ---- mirror_resync.c: pacing and this copy's repair ---- */
	uint64_t budget;		/* resync bytes allowed now (the tick adds) */
	uint64_t repair_pos, repair_retry_at;	/* region to look at next; ms */
	uint64_t repaired;

	/* ---- mirror_close.c: the close ---- */
	int closing;			/* no more background work */
	uint64_t close_deadline;	/* ms: the legs' flushes at close, answered by */
	/* the close's own requests to this copy, two at a time; close_stuck:
	 * the engine's drain gave up on one */
	struct ll_close_req {
		struct ll_io io;	/* first: the completion finds the rest */
		int started, done;
	} close_req[LL_CLOSE_REQS];
	int close_stuck;

	/* ---- lease.c: writes held for the lease (lease=on): not yet sent
	 * (a lease, its fence, was missing at submit) or done and waiting
	 * to be acknowledged (the lease ran out meanwhile); the writes
	 * failed for the lease (counted and said as mirror.c's errors) ---- */
	struct lease_wait *lw_head, *lw_tail;
	unsigned int lw_count;
	struct ll_local_errs lease_errs;
	struct ll_local_errs lease_read_errs;	/* reads refused, said apart */
	uint64_t term_epoch;		/* the epoch whose generation this copy has */
	uint64_t gen_said;		/* an unconfirmed generation, logged */

	/* ---- mirror.c: the status file's path (set at open) and when the
	 * tick last had status.c write it ---- */
	uint64_t last_status;
	char status_path[128];
};

/* One command fanned out to the local image and the legs (fan.c's; the
 * activity log's and the map's fields are set by actlog.c and fan.c as
 * marked). */
struct fan {
	struct ll_io *io;
	struct ll_io local;
	struct ll_mirror *m;
	int pending;
	uint32_t legs_failed;
	uint32_t legs_ok;
	uint32_t legs_conflict;		/* answered RESERVATION CONFLICT (lease.c) */
	struct iscsi_task_ctx {
		struct fan *f;
		unsigned int leg;
		unsigned char ua_tries;
	} ctx[LL_MAX_LEGS];
	int local_fault;
	int bad;			/* a read of a stale region: not a new error */
	uint64_t map_need;		/* the map version its ack must wait for */
	/* actlog.c's: the log extents it holds, and the log version it must
	 * wait for before it is issued */
	uint64_t e0, e1;
	int in_al;
	uint64_t al_need;
	struct fan *wait_next;		/* in a fan_queue */
};





/* the copy's file: for the engine (0: the engine's own), and for the few
 * blocking metadata reads and writes at open and close */
static inline int mirror_io_fd(const struct ll_mirror *m)
{
	return m->ext->fd;
}

/* Send io (offsets in the image's file, as the mirror counts) to the copy's
 * data; its completion as set. */
static inline void mirror_copy_submit(struct ll_mirror *m, struct ll_io *io)
{
	if (io->op != LL_OP_DATASYNC)
		io->off -= m->image->data_offset;
	io->fd = 0;
	ll_layer_submit(m->copy, io);
}

static inline int mirror_fd(const struct ll_mirror *m)
{
	return m->ext->fd ? m->ext->fd : m->l->engine.fd;
}

/*
 * A mirror's messages, by level (log.h): error: something failed or is
 * refused (a leg dropped or refused, a failed local I/O, a failed metadata
 * write); warning: the LUN goes on less well than asked (degraded, a leg
 * to be resynced, a unit attention retried); info: what lunlink did (a leg
 * up, a resync done, a state change, a copy recorded).  The prefix names
 * the LUN, the extent (m->label) and, for leg_*, the leg.
 */
#define m_log(level, m, fmt, args...) \
	ll_lu_log(level, (m)->l, "%s" fmt, (m)->label, ##args)
#define m_err(m, fmt, args...)	m_log(LL_LOG_ERROR, m, fmt, ##args)
#define m_warn(m, fmt, args...)	m_log(LL_LOG_WARNING, m, fmt, ##args)
#define m_info(m, fmt, args...)	m_log(LL_LOG_INFO, m, fmt, ##args)

#define leg_log(level, g, fmt, args...) \
	m_log(level, (g)->m, "leg %u (%s): " fmt, (g)->idx + 1, (g)->public_url, ##args)
#define leg_err(g, fmt, args...)	leg_log(LL_LOG_ERROR, g, fmt, ##args)
#define leg_warn(g, fmt, args...)	leg_log(LL_LOG_WARNING, g, fmt, ##args)
#define leg_info(g, fmt, args...)	leg_log(LL_LOG_INFO, g, fmt, ##args)

static inline int map_test(const uint8_t *map, uint64_t r)
{
	return map[r >> 3] >> (r & 7) & 1;
}

static inline void map_set(uint8_t *map, uint64_t r)
{
	map[r >> 3] |= (uint8_t)(1u << (r & 7));
}

static inline void map_clear(uint8_t *map, uint64_t r)
{
	map[r >> 3] &= (uint8_t)~(1u << (r & 7));
}

/* The leg is in state s and connected (not being dropped). */
static inline int leg_is(const struct ll_leg *g, enum leg_state s)
{
	return g->state == s && g->conn.iscsi && !g->conn.dead;
}

/* The leg lacks region r (need); set and clear keep need_count with the
 * bits, and say whether the bit changed. */
static inline int need_set(struct ll_leg *g, uint64_t r)
{
	if (map_test(g->need, r))
		return 0;
	map_set(g->need, r);
	g->need_count++;
	return 1;
}

static inline int need_clear(struct ll_leg *g, uint64_t r)
{
	if (!map_test(g->need, r))
		return 0;
	map_clear(g->need, r);
	g->need_count--;
	return 1;
}

/* Region r of this copy is stale (local_bad, map.c's); set and clear keep
 * bad_count with the bits, and say whether the bit changed: the only way
 * the bits change, and a caller that changed one writes the list with
 * ll_map_stale_changed. */
static inline int stale_at(const struct ll_mirror *m, uint64_t r)
{
	return m->bad_count && map_test(m->local_bad, r);
}

static inline int stale_set(struct ll_mirror *m, uint64_t r)
{
	if (map_test(m->local_bad, r))
		return 0;
	map_set(m->local_bad, r);
	m->bad_count++;
	return 1;
}

static inline int stale_clear(struct ll_mirror *m, uint64_t r)
{
	if (!map_test(m->local_bad, r))
		return 0;
	map_clear(m->local_bad, r);
	m->bad_count--;
	return 1;
}

/* mirror.c */
void ll_mirror_free(struct ll_mirror *m);
int ll_local_say(struct ll_mirror *m, struct ll_local_errs *e);
void ll_mirror_meta_write(struct ll_mirror *m, struct ll_io *io, void *buf, uint64_t off,
			  uint64_t len, void (*done)(struct ll_io *));
void ll_mirror_meta_failed(struct ll_mirror *m, const char *what, int res, const char *then);
void ll_mirror_meta_worked(struct ll_mirror *m);

/* map.c */
int ll_map_open(struct ll_mirror *m);
void ll_map_free(struct ll_mirror *m);
void ll_map_set(struct ll_mirror *m, uint64_t r0, uint64_t r1);
void ll_map_leg_differs(struct ll_leg *g, uint64_t r);
uint64_t ll_map_sb_to_legs(struct ll_mirror *m);
void *ll_map_sb_encoded(struct ll_mirror *m);
int ll_map_persist(struct ll_mirror *m, uint64_t r0, uint64_t r1);
int ll_map_store_sb(struct ll_mirror *m);
void ll_map_stale_list(struct ll_mirror *m);
uint64_t ll_map_stale_changed(struct ll_mirror *m);
uint64_t ll_map_local_lost(struct ll_mirror *m, uint64_t r0, uint64_t r1);
uint64_t ll_map_changed(struct ll_mirror *m, uint64_t r0, uint64_t r1);
uint64_t ll_map_sb_changed(struct ll_mirror *m);
uint64_t ll_map_leg_missed(struct ll_leg *g, uint64_t r0, uint64_t r1);
uint64_t ll_map_new_term(struct ll_mirror *m, uint64_t epoch);
uint64_t ll_map_absent_missed(struct ll_mirror *m, uint64_t r0, uint64_t r1);
void ll_map_all_synced(struct ll_mirror *m);
void ll_map_leg_sb_done(struct ll_mirror *m);
void ll_map_leg_lost(struct ll_leg *g);
void ll_map_flush(struct ll_mirror *m);
void ll_map_wait(struct ll_mirror *m, struct fan *f);

/* actlog.c */
int ll_al_open(struct ll_mirror *m);
void ll_al_free(struct ll_mirror *m);
void *ll_al_emptied(struct ll_mirror *m);
void ll_al_recover(struct ll_mirror *m);
uint64_t ll_al_extents(const struct ll_mirror *m, const uint64_t *slots, size_t n,
		       void (*mark)(void *arg, uint64_t r0, uint64_t r1), void *arg);
void ll_al_admit(struct fan *f);
void ll_al_end(struct ll_mirror *m, uint64_t e0, uint64_t e1);

/* fan.c */
void ll_fan_queue_add(struct fan_queue *q, struct fan *f);
void ll_fan_queue_release(struct fan_queue *q, uint64_t durable,
			  uint64_t (*need)(const struct fan *), void (*go)(struct fan *));
void ll_fan_go(struct fan *f);
void ll_fan_finish(struct fan *f);
void ll_fan_unrecorded(struct fan *f);
void ll_fan_unlogged(struct fan *f);
void ll_fan_unsynced_clear(struct ll_leg *g);

/* mirror_leg.c */
int ll_leg_ua_retry(struct ll_leg *g, int status, struct scsi_task *t, unsigned char *tries);
void ll_leg_set_state(struct ll_leg *g, enum leg_state to, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ll_leg_down(struct ll_leg *g, const char *why);
void ll_leg_failed(struct ll_leg *g, struct iscsi_context *iscsi, const char *what, int status,
		   struct scsi_task *t);
void ll_leg_unqueued(struct ll_leg *g, const char *what);
void ll_leg_reap(struct ll_leg *g);
void ll_leg_broke(struct ll_conn *c, const char *why);
void ll_leg_connect(struct ll_leg *g);
void ll_leg_store_sb(struct ll_leg *g, uint64_t gen);
int ll_leg_store_sb_counted(struct ll_leg *g, uint64_t gen);
void ll_map_leg_sb_done(struct ll_mirror *m);
void ll_leg_start_sync(struct ll_leg *g, int all);
void ll_mirror_copies_check(struct ll_mirror *m);
int ll_legs_probed(const struct ll_mirror *m);
int ll_copy_absent(const struct ll_mirror *m, uint64_t id);
const char *ll_leg_verdict_name(const struct ll_leg *g);

/* mirror_resync.c: copy jobs, for resync, repair and verify.c */
struct ll_copy *ll_copy_idle(struct ll_leg *g, unsigned int max_jobs);
void ll_copy_free_bufs(struct ll_leg *g);
void ll_copy_hold_and_read(struct ll_copy *c, uint64_t start, uint64_t len,
			   void (*done)(struct ll_io *));
void ll_copy_let_go(struct ll_copy *c);
int ll_copy_leg_read(struct ll_copy *c, iscsi_command_cb cb);
struct scsi_task *ll_copy_leg_answer(struct ll_copy *c, struct iscsi_context *iscsi,
				     int status, struct scsi_task *t, iscsi_command_cb cb,
				     int *again);
int ll_resync_afford(struct ll_mirror *m, uint64_t len);

/* The copy job whose local read (c->rd) io is. */
static inline struct ll_copy *ll_copy_of_read(struct ll_io *io)
{
	return (struct ll_copy *)((char *)io - offsetof(struct ll_copy, rd));
}

/* mirror_resync.c */
void ll_resync_start(struct ll_leg *g, int all);
void ll_resync_next(struct ll_leg *g);
void ll_resync_budget(struct ll_mirror *m, uint64_t ticks);
void ll_resync_unpark(struct ll_leg *g, int closing);
void ll_repair_next(struct ll_mirror *m);

/* verify.c */
void ll_verify_next(struct ll_leg *g);

/* lease.c: what a write may do under the LUN's lease (lease=on) */
enum ll_gate { LL_GATE_GO, LL_GATE_WAIT, LL_GATE_FAIL };
enum ll_gate ll_lease_gate(struct ll_mirror *m, uint64_t now);
int ll_lease_legs_may_write(const struct ll_mirror *m, uint64_t now);
/* The generation the manager recorded (lease=...:GENERATION) while the
 * lease is valid at now, else 0: a leg's generation that departs from this
 * copy's, when this copy's is that one, was never recorded (generation.c,
 * LL_GEN_UNRECORDED) */
uint64_t ll_lease_recorded_gen(const struct ll_mirror *m, uint64_t now);
/* The legs refused as newer or split are probed again: the lease now names
 * this copy's generation as the recorded one.  How many. */
int ll_mirror_reprobe_split_legs(struct ll_mirror *m);
int ll_lease_hold_submit(struct ll_mirror *m, struct ll_io *io, int local_fault);
int ll_lease_hold_ack(struct fan *f);
void ll_lease_waiters_run(struct ll_mirror *m);
void ll_lease_waiters_fail(struct ll_mirror *m, const char *why);
void ll_lease_deposed(struct ll_leg *g, const char *what);

/* fence.c */
void ll_fence_start(struct ll_leg *g, int then_probe);

/* mirror_leg.c, for fence.c */
void ll_leg_fenced(struct ll_leg *g);
void ll_leg_fenced_off(struct ll_leg *g, const char *what);

/* fan.c, for lease.c */
void ll_fan_finish_now(struct fan *f);

/* status.c */
void ll_mirror_write_status(struct ll_mirror *m);

#endif
