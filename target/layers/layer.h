/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * layer.h: a lunlink LUN is a stack of layers, in the manner of
 * device-mapper targets.  Each layer type is an ops table; a layer sees
 * offsets relative to itself (byte 0 is its own first byte), passes requests
 * down to the layers below it, and hears back only through each request's
 * completion.  Nothing below knows what sits above it.
 *
 *   local   an image file or block device: owns its file, the data offset
 *           of a lunlink image and, for an image served alone, the new
 *           generation before its first write (layers/local.c)
 *   linear  windows of a layer and layers concatenated (layers/linear.c)
 *   fault   injected failures of the layer below, as fault= asks
 *           (layers/fault.c)
 *   mirror  the same writes to this node's copy and to its legs
 *           (mirror/layer.c, over the engine in mirror/)
 *   remote  an iSCSI LUN on another node, through libiscsi in tgtd's
 *           loop (layers/remote.c, over remote/conn.c)
 *
 * The stack is built in one place, layers/stack.c, from the LUN's bsopts;
 * the SCSI commands (scsi/commands.c) talk to the top layer only.
 *
 * The rules every layer keeps:
 * - io->off and io->len count from the layer's own byte 0; a layer may
 *   rewrite io->off (and io->fd, io->buf for a split piece) on the way
 *   down, so the submitter keeps what it needs to know of its request.
 *   LL_OP_DATASYNC covers the whole layer (off and len are 0).
 * - io->complete runs from tgtd's main loop, never from inside submit
 *   (tgt's sbc.c writes into a command after bs_cmd_submit returns):
 *   a layer that completes without I/O does so through ll_later().
 * - A request completes once, with io->res 0 or -errno.
 */
#ifndef LUNLINK_LAYER_H
#define LUNLINK_LAYER_H

#include <stdint.h>

#include "lunlink/bsopts.h"
#include "engine/io_engine.h"

struct ll_lu;
struct ll_layer;

/* What a resize did: refused (the reason is logged), nothing, or grown. */
enum { LL_RESIZE_REFUSED = -1, LL_RESIZE_SAME = 0, LL_RESIZE_CHANGED = 1 };

struct ll_layer_ops {
	const char *name;
	void (*submit)(struct ll_layer *ly, struct ll_io *io);
	/* Start no more background work (a mirror's resync, verify, metadata
	 * writes): the LUN is closing.  Optional. */
	void (*quiesce)(struct ll_layer *ly);
	/* Free the layer and the layers below it; nothing is in flight. */
	void (*destroy)(struct ll_layer *ly);
	/* grow: to want bytes; !grow: to the size its store has now
	 * (resize=reread).  Sets *now; LL_RESIZE_*.  Optional: a layer
	 * without it cannot change size (the caller says so). */
	int (*resize)(struct ll_layer *ly, int grow, uint64_t want, uint64_t *now);
	/* A runtime key for the mirrors (verify=, retry=, resolve=,
	 * forget=): how many legs or copies it applied to, or -1 if refused
	 * (the reason logged).  Optional: a layer without it applies to none. */
	int (*message)(struct ll_layer *ly, const struct ll_update *u);
	/* Where byte off lies in a local file (GET LBA STATUS): its fd, the
	 * offset there and how many bytes on from off stay in that file;
	 * 0, or -1 if the layer cannot tell. */
	int (*map)(struct ll_layer *ly, uint64_t off, int *fd, uint64_t *file_off,
		   uint64_t *left);
};

struct ll_layer {
	const struct ll_layer_ops *ops;
	struct ll_lu *l;		/* the LUN: its engine, its messages */
	uint64_t size;			/* bytes */
};

static inline void ll_layer_submit(struct ll_layer *ly, struct ll_io *io)
{
	ly->ops->submit(ly, io);
}

void ll_layer_quiesce(struct ll_layer *ly);
void ll_layer_destroy(struct ll_layer *ly);
int ll_layer_message(struct ll_layer *ly, const struct ll_update *u);
int ll_layer_map(struct ll_layer *ly, uint64_t off, int *fd, uint64_t *file_off,
		 uint64_t *left);

/* A layer's status file, read by lunlink-status: LL_STATUS_DIR/cCTL-tTID-
 * lLUN.status for the backing store's set (0), -eN.status for extent=
 * number N-1 (set N-1).  0, or -1 if the folder cannot be made. */
#define LL_STATUS_DIR	"/run/lunlink"
extern short int control_port;	/* tgtd's, exported: names the status files */
int ll_status_path(const struct ll_lu *l, unsigned int set, char *buf, size_t len);

/* Where the next data (whence SEEK_DATA) or hole (SEEK_HOLE) begins in the
 * layer's first size bytes from off, through the local files it maps to;
 * size if none. */
uint64_t ll_layer_seek(struct ll_layer *ly, uint64_t off, uint64_t size, int whence);

/* milliseconds of CLOCK_MONOTONIC: the layers' timers and deadlines */
uint64_t ll_now_ms(void);

/* Complete io (io->res as set) from the main loop's next round. */
void ll_later(struct ll_lu *l, struct ll_io *io);
void ll_later_init(struct ll_lu *l);
void ll_later_cancel(struct ll_lu *l);

/* Whether fault= (the LUN's injected failures) fails a local request of
 * this kind: the fault layer's rule, and the mirror's for its own copy. */
int ll_fault_hits(const struct ll_lu *l, enum ll_io_op op);

/* ---- the layer types (the stack builder is their only caller) ---------- */

struct ll_local;

/*
 * A local file as a layer.  The backing store (fd: tgt's, path: its path)
 * or a file the options name (fd < 0: opened here).  image: read its
 * superblock (kind): a lunlink image serves its data (and, served alone,
 * takes a new generation before its first write), a file without one is
 * raw; LL_LOCAL_IMAGE refuses a raw one (a mirror's copy), LL_LOCAL_RAW
 * serves every byte, a superblock too (raw=on: a leg's export).  NULL with
 * the reason logged.  what names it in messages ("extent 2 '/x.img'").
 */
enum ll_local_kind { LL_LOCAL_ANY, LL_LOCAL_IMAGE, LL_LOCAL_RAW };
struct ll_local *ll_local_open(struct ll_lu *l, const char *path, int fd, enum ll_local_kind kind,
			       int alone, const char *what);
struct ll_layer *ll_local_layer(struct ll_local *loc);
/* Its lunlink image's superblock, or NULL for a raw file; its file for
 * the engine (0: the engine's own file); its path. */
struct ll_image *ll_local_image(struct ll_local *loc);
int ll_local_fd(const struct ll_local *loc);
const char *ll_local_path(const struct ll_local *loc);
/* The local layer's resize, asking may_grow (if not NULL) before a lunlink
 * image grows to a file of that many bytes: a mirror asks its legs. */
int ll_local_resize(struct ll_local *loc, int grow, uint64_t want, uint64_t *now,
		    int (*may_grow)(void *arg, uint64_t file_size), void *arg);

struct ll_layer *ll_fault_new(struct ll_lu *l, struct ll_layer *below);

/* A linear layer of up to n segments, each added in order: len bytes of
 * below from its byte off; grows: to below's end, growing with it while
 * it is the last segment (resize=).  Its size is the segments' sum.
 * window: its size is fixed by a window= (messages say so). */
struct ll_layer *ll_linear_new(struct ll_lu *l, unsigned int n, int window);
int ll_linear_add(struct ll_layer *lin, struct ll_layer *below, uint64_t off, uint64_t len,
		  int grows);

/* An iSCSI LUN on another node (url: iscsi://...), of which the stack
 * uses the first size bytes; connected in the background (the LUN is
 * served at once; its requests wait for the connection up to
 * leg_timeout).  set: extent= number set (its status file, its name in
 * messages).  NULL logged (a bad URL). */
struct ll_layer *ll_remote_open(struct ll_lu *l, const char *url, uint64_t size,
				unsigned int set);

/* The mirror over a local copy (a lunlink image: its superblock, map and
 * log): set 0 is the backing store's, k extent= number k; data: the
 * layer the copy's data is read and written through (byte 0 its first byte
 * of data), NULL for the image's own data, or a concatenation of it and
 * copy_extent= areas (the layer owns it, the image's layer with it);
 * [lun_start, +len) is where the LUN serves its data from byte data_off
 * of it.  On failure, NULL with the reason logged, and data (or copy)
 * is still the caller's. */
struct ll_layer *ll_mirror_layer_open(struct ll_lu *l, struct ll_local *copy, struct ll_layer *data,
				      unsigned int set, uint64_t lun_start, uint64_t data_off,
				      uint64_t len);

/* ---- the stack (layers/stack.c) --------------------------------------- */

/* Build the LUN's stack from its options over the backing store tgt
 * opened (fd, path); *size: the LUN's size.  0, or -1 logged. */
int ll_stack_open(struct ll_lu *l, int fd, uint64_t *size);
void ll_stack_close(struct ll_lu *l);

#endif
