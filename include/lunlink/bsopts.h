/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bsopts.h: the per-LUN options of a lunlink LUN, as the operator writes
 * them in tgtadm's --bsopts or targets.conf's "bsopts" (';'-separated
 * key=value pairs: tgt splits its own parameters on ','), and the runtime
 * keys taken by `tgtadm --op update --mode logicalunit --params`.
 *
 * The parsers here touch no tgt state, so they are unit-tested and fuzzed
 * on their own.  Every refusal fills a message that names the key, the value
 * and what would be accepted: tgtadm itself only ever says "invalid request".
 */
#ifndef LUNLINK_BSOPTS_H
#define LUNLINK_BSOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ll_io_path {
	LL_IO_AUTO = 0,		/* io_uring if it can be set up, else threads */
	LL_IO_URING,		/* io_uring or refuse the LUN */
	LL_IO_THREADS,		/* worker pool */
};

#define LL_MAX_LEGS		4	/* legs of one mirrored set */
#define LL_MAX_LEG_OPTS		8	/* mirror= options in all */
#define LL_URL_MAX		512
#define LL_MAX_EXTENTS		16	/* extent= options after the backing store */
#define LL_EXTENT_PATH_MAX	256
#define LL_PR_SOCKET_MAX	107	/* a Unix socket's path (sun_path) */
#define LL_PR_SOCKET_DEFAULT	"/run/lunlink/pr.sock"
#define LL_BSOPTS_PR_TIMEOUT_DEFAULT	15
#define LL_BSOPTS_PR_TIMEOUT_MAX	600

struct ll_bsopts {
	enum ll_io_path io;
	unsigned int threads;		/* worker pool size (threads path) */
	unsigned int queue_depth;	/* io_uring entries / in-flight cap */
	bool thin;			/* advertise thin provisioning, UNMAP */
	/* mirrored LUNs */
	unsigned int nlegs;		/* mirror= given this many times */
	char leg[LL_MAX_LEG_OPTS][LL_URL_MAX + 1];	/* iscsi://[user%pass@]host[:port]/iqn/lun */
	/* whose leg: 0 the backing store, k the k-th extent= (a mirror=
	 * belongs to the last extent= before it, if any) */
	unsigned char leg_set[LL_MAX_LEG_OPTS];
	uint64_t resync_rate;		/* bytes a second, 0 = as fast as the leg takes */
	unsigned int leg_timeout;	/* seconds before a leg's command counts as failed */
	/* window=OFFSET:LENGTH: the LUN is that part of the image's data */
	bool window;
	uint64_t window_offset, window_length;
	/* extent=PATH:OFFSET:LENGTH, repeatable: ranges of other files or
	 * block devices, or of iSCSI LUNs on other nodes (PATH an
	 * iscsi:// URL), concatenated after the backing store's data; a
	 * local extent with mirror= legs is a range of a mirrored lunlink
	 * image's data */
	unsigned int nextents;
	struct ll_extent_opt {
		char path[LL_EXTENT_PATH_MAX + 1];
		uint64_t offset, length;
		bool to_end;		/* LENGTH "end": to the end of its file
					 * or image data (length 0 here) */
	} extent[LL_MAX_EXTENTS];
	/* copy_extent=PATH:OFFSET:LENGTH, repeatable: the backing store's
	 * mirrored copy goes on into these areas (local or iscsi://), so
	 * that the mirror's copy here is their concatenation after the
	 * image's own data; its legs hold the same total (needs mirror= on
	 * the backing store) */
	unsigned int ncopy_extents;
	struct ll_extent_opt copy_extent[LL_MAX_EXTENTS];
	/* raw=on: serve the backing store as plain bytes, a lunlink image's
	 * superblock included (a leg's export whose copy goes on into
	 * extent= areas) */
	bool raw;
	/* pr_file=PATH: where the persistent reservations are kept while
	 * APTPL is on (default: the image's path with ".pr" added, for an
	 * image that is a regular file; "" here for that default) */
	char pr_file[LL_EXTENT_PATH_MAX + 1];
	/* pr=local|cluster: the LUN's persistent reservations are its own
	 * (local) or its volume's, kept by the policy manager and pushed by
	 * the node's agent over pr_socket= (cluster; doc/reservations.md) */
	bool pr_cluster;
	char pr_socket[LL_PR_SOCKET_MAX + 1];	/* default LL_PR_SOCKET_DEFAULT */
	/* pr_timeout=SECONDS: how long a PR OUT waits for the agent's answer */
	unsigned int pr_timeout;
	/* lease=on: a mirrored LUN acknowledges a write (and drops a leg)
	 * only while it holds a write-ownership lease (granted with the
	 * update key lease=EPOCH:@DEADLINE_MS or lease=EPOCH:VALID_MS), and
	 * fences its legs for the lease's epoch; lease_loss: what a write
	 * without one gets */
	bool lease;
	enum ll_lease_loss {
		LL_LEASE_LOSS_SUSPEND = 0,	/* waits, bounded, for a lease */
		LL_LEASE_LOSS_FAIL,		/* fails at once */
	} lease_loss;
};

#define LL_BSOPTS_LEG_TIMEOUT_DEFAULT	10
#define LL_BSOPTS_LEG_TIMEOUT_MAX	600

#define LL_BSOPTS_THREADS_DEFAULT	8
#define LL_BSOPTS_THREADS_MAX		128
#define LL_BSOPTS_QD_DEFAULT		256
#define LL_BSOPTS_QD_MAX		4096
#define LL_BSOPTS_MAX_LEN		4096

void ll_bsopts_default(struct ll_bsopts *o);

/*
 * Parse "key=value;key=value".  NULL or "" gives the defaults.  Returns 0,
 * or -1 with a one-line reason in err.
 */
int ll_bsopts_parse(const char *s, struct ll_bsopts *o, char *err, size_t errlen);

/* Write the options back in the form ll_bsopts_parse reads. */
int ll_bsopts_format(const struct ll_bsopts *o, char *buf, size_t len);

/* The same for a log line: leg passwords are replaced by "***". */
int ll_bsopts_describe(const struct ll_bsopts *o, char *buf, size_t len);

/* A leg's URL for a log line: its password replaced by "***". */
void ll_url_public(const char *url, char *buf, size_t len);

const char *ll_io_path_name(enum ll_io_path p);

/* The extent is a LUN on another node (extent=iscsi://...). */
bool ll_extent_is_remote(const struct ll_extent_opt *x);

/*
 * A size as an operator writes it: bytes, or a number with a K, M, G, T or
 * P suffix (powers of 1024; an optional trailing "iB" or "B" is allowed).
 * Returns 0, or -1 with a reason in err.
 */
int ll_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);

/* A copy id as lunlink-status and lunlink-image show print it: 16 hex
 * digits, not all zeros.  Returns 0, or -1. */
int ll_parse_copy_id(const char *s, uint64_t *id);

/* The runtime keys of `tgtadm --op update --params`. */
enum ll_update_kind {
	LL_UPDATE_RESIZE_REREAD,	/* resize=reread: take the image's size */
	LL_UPDATE_RESIZE_TO,		/* resize=SIZE: grow the image to SIZE */
	LL_UPDATE_FAULT,		/* fault=none|read|write|both|write-all|meta-write|flush|slow-resync */
	LL_UPDATE_RESOLVE_DISCARD_LEG,	/* resolve=discard-leg */
	LL_UPDATE_VERIFY,		/* verify=start */
	LL_UPDATE_RETRY_LEGS,		/* retry=legs: probe refused legs again */
	LL_UPDATE_FORGET,		/* forget=ID: a recorded copy is gone for good */
	LL_UPDATE_LEASE,		/* lease=EPOCH:@DEADLINE_MS|VALID_MS: grant or renew */
	LL_UPDATE_LEASE_RELEASE,	/* lease=release: drop it at once */
};

/* a lease's epoch: 1 .. 2^48-1 (the low 48 bits of the fencing key) */
#define LL_LEASE_EPOCH_MAX	((1ULL << 48) - 1)
/* a lease's validity at most (a day: the agent renews every few s); an
 * absolute deadline more than this ahead of the module's clock is refused
 * too (mirror/lease.c: a clock that is not this host's CLOCK_MONOTONIC) */
#define LL_LEASE_VALID_MS_MAX	86400000ULL
/* an absolute deadline (ms of CLOCK_MONOTONIC) at most: 2^62, so that no
 * sum or difference of two of them overflows */
#define LL_LEASE_DEADLINE_MS_MAX	(1ULL << 62)

enum ll_fault {
	LL_FAULT_NONE = 0,
	LL_FAULT_READ = 1,
	LL_FAULT_WRITE = 2,
	LL_FAULT_BOTH = 3,
	/* a resync copy waits one mirror tick (100 ms) between its local read
	 * and its write to the leg, as on a slow local disk: for tests of what
	 * a resync and new writes to the same range may do meanwhile */
	LL_FAULT_SLOW_RESYNC = 4,
	/* a mirror's own metadata writes fail (superblock, dirty-region map,
	 * activity log), its data writes do not: fault=meta-write */
	LL_FAULT_META = 8,
	/* a disk that takes no write at all: data and metadata */
	LL_FAULT_WRITE_ALL = LL_FAULT_WRITE | LL_FAULT_META,
	/* SYNCHRONIZE CACHE fails, reads and writes work: a disk whose cache
	 * flush fails (fault=flush) */
	LL_FAULT_FLUSH = 16,
};

struct ll_update {
	enum ll_update_kind kind;
	uint64_t size;			/* LL_UPDATE_RESIZE_TO */
	enum ll_fault fault;		/* LL_UPDATE_FAULT */
	uint64_t copy_id;		/* LL_UPDATE_FORGET */
	/* LL_UPDATE_LEASE: the epoch, and either VALID_MS (counted from
	 * the module's receipt) or, has_deadline, @DEADLINE_MS: an absolute
	 * deadline in ms of CLOCK_MONOTONIC, which the agent on the same
	 * host computes, so a slow push cannot stretch it */
	uint64_t epoch, valid_ms;
	int has_deadline;
	uint64_t deadline_ms;
	/* LL_UPDATE_LEASE with :GENERATION: the generation the manager
	 * recorded (writes of another one are held, mirror/lease.c) */
	int has_gen;
	uint64_t gen_confirmed;
};

/*
 * Parse one "key=value" that tgt's own lu_config did not know.  Returns 0,
 * or -1 with a reason in err.
 */
int ll_update_parse(const char *kv, struct ll_update *u, char *err, size_t errlen);

#endif
