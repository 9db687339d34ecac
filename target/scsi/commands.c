// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * commands.c: the SCSI block commands of a lunlink LUN, each a short chain
 * of I/O requests to the top of the LUN's stack of layers (layers/layer.h).
 *
 * tgt's sbc.c has already checked the CDB (LBA range, protection bits,
 * write protection) and filled cmd->offset and cmd->tl; what is left is the
 * data path.  Every command is completed asynchronously, from tgtd's main
 * loop: sbc.c writes into the command after bs_cmd_submit returns, so a
 * completion inside bs_cmd_submit would be a use after free.
 *
 * Durability: a write is made durable before it completes (RWF_DSYNC) when
 * the initiator sets FUA or turns the write cache off (mode page 08h, WCE);
 * SYNCHRONIZE CACHE is a real fdatasync.  Errors become the sense an
 * initiator can act on: MEDIUM ERROR for an I/O error, DATA PROTECT when the
 * file system is full (SPACE ALLOCATION FAILED) or read-only, NOT READY,
 * TARGET PORT IN STANDBY STATE when the lease says this node may not serve
 * the volume now (a path error: a multipath host moves to another node).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lunlink.h"
#include "spc.h"
#include "be_byteshift.h"

#define ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT	0x2707
#define ASC_LU_NOT_ACCESSIBLE_STANDBY		0x040b	/* TARGET PORT IN STANDBY STATE */
#define LL_WRITE_SAME_CHUNK			(1u << 20)
#define LL_VERIFY_MAX				(64u << 20)
/* Finished commands kept per LUN for reuse: a malloc and a free per
 * command were the module's largest user-space cost per 4 KiB I/O
 * (calloc bypasses glibc's per-thread cache; doc/perf.md).  More than
 * this many in flight at once are allocated and freed as before. */
#define LL_CMD_CACHE_MAX			256

struct ll_cmd {
	struct ll_io io;		/* first: an ll_io is its ll_cmd */
	struct ll_range range;
	struct scsi_cmd *cmd;
	struct ll_lu *l;
	uint8_t *bounce;
	uint32_t bounce_len;
	uint64_t pos, end;		/* WRITE SAME progress */
	const uint8_t *desc;		/* UNMAP descriptors */
	uint32_t ndesc, idesc;
	uint64_t lun_off;		/* the request's offset in the LUN (layers
					 * below move io.off into their own) */
	uint8_t sense_key;		/* fail(): the sense to complete with */
	uint16_t sense_asc;
	struct list_head inflight;	/* in the LUN's list until it completes */
};

static inline struct ll_cmd *to_cmd(struct ll_io *io)
{
	return (struct ll_cmd *)io;
}

/* ---- a command's state: taken from the LUN's cache ------------------ */

static struct ll_cmd *cmd_get(struct ll_lu *l)
{
	struct ll_cmd *c = to_cmd(l->cmd_cache);

	if (!c)
		return calloc(1, sizeof(*c));
	l->cmd_cache = c->io.next;
	l->cmd_cached--;
	memset(c, 0, sizeof(*c));
	return c;
}

static void cmd_put(struct ll_lu *l, struct ll_cmd *c)
{
	if (l->cmd_cached >= LL_CMD_CACHE_MAX) {
		free(c);
		return;
	}
	c->io.next = l->cmd_cache;
	l->cmd_cache = &c->io;
	l->cmd_cached++;
}

/* At the LUN's end (nothing in flight). */
void ll_cmd_cache_free(struct ll_lu *l)
{
	while (l->cmd_cache) {
		struct ll_io *io = l->cmd_cache;

		l->cmd_cache = io->next;
		free(to_cmd(io));
	}
	l->cmd_cached = 0;
}

/* ---- completion ---------------------------------------------------- */

static void finish(struct ll_cmd *c, int status)
{
	struct scsi_cmd *cmd = c->cmd;
	struct ll_lu *l = c->l;

	if (c->range.held)
		ll_range_release(&l->ranges, &c->range);
	free(c->bounce);
	list_del(&c->inflight);
	cmd_put(l, c);
	target_cmd_io_done(cmd, status);
	if (l->pr_waiting)
		ll_pr_io_done(l);	/* a PREEMPT AND ABORT or an ACK may wait for it */
}

int ll_cmd_inflight_from(struct ll_lu *l, const uint64_t *itn_ids, unsigned int n)
{
	struct ll_cmd *c;
	int count = 0;

	list_for_each_entry(c, &l->inflight, inflight)
		for (unsigned int i = 0; i < n; i++)
			if (c->cmd->cmd_itn_id == itn_ids[i]) {
				count++;
				break;
			}
	return count;
}

static void finish_sense(struct ll_io *io)
{
	struct ll_cmd *c = to_cmd(io);

	sense_data_build(c->cmd, c->sense_key, c->sense_asc);
	finish(c, SAM_STAT_CHECK_CONDITION);
}

/*
 * Fail the command with this sense, from the next round of the main loop:
 * when we are still inside bs_cmd_submit, sbc.c writes its own sense into
 * the command after we return (sbc_unmap always does), so both the sense
 * and the completion must come later.
 */
static void fail(struct ll_cmd *c, uint8_t key, uint16_t asc)
{
	c->sense_key = key;
	c->sense_asc = asc;
	c->io.complete = finish_sense;
	ll_later(c->l, &c->io);
}

static const char *op_name(enum ll_io_op op)
{
	switch (op) {
	case LL_OP_READ: return "read";
	case LL_OP_WRITE: return "write";
	case LL_OP_DATASYNC: return "fdatasync";
	case LL_OP_PUNCH: return "hole punch";
	default: return "fadvise";
	}
}

/* An I/O request failed: log why, and give the initiator the right sense. */
static void fail_io(struct ll_cmd *c)
{
	struct ll_lu *l = c->l;
	int err = -c->io.res;
	uint8_t key;
	uint16_t asc;
	const char *what, *cause = strerror(err);

	switch (err) {
	case LL_ESTANDBY:
		/* the lease (mirror/lease.c): not this node's to serve now; a
		 * path error to Linux, so a multipath host tries another path,
		 * where DATA PROTECT would fail the I/O up to the file system */
		key = NOT_READY;
		asc = ASC_LU_NOT_ACCESSIBLE_STANDBY;
		what = "NOT READY, TARGET PORT IN STANDBY STATE (04/0B)";
		cause = "this node may not serve the volume now (write-ownership lease: "
			"none, expired, released or deposed)";
		break;
	case ENOSPC:
	case EDQUOT:
		key = DATA_PROTECT;
		asc = ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT;
		what = "DATA PROTECT, SPACE ALLOCATION FAILED (27/07)";
		break;
	case EROFS:
	case EPERM:
	case EACCES:
	case EBADF:
		key = DATA_PROTECT;
		asc = ASC_WRITE_PROTECT;
		what = "DATA PROTECT, WRITE PROTECTED (27/00)";
		break;
	case ENOMEM:
		key = HARDWARE_ERROR;
		asc = ASC_INTERNAL_TGT_FAILURE;
		what = "HARDWARE ERROR, INTERNAL TARGET FAILURE (44/00)";
		break;
	case EOPNOTSUPP:
		key = ILLEGAL_REQUEST;
		asc = ASC_INVALID_OP_CODE;
		what = "ILLEGAL REQUEST, INVALID OPERATION CODE (20/00)";
		break;
	default:
		key = MEDIUM_ERROR;
		if (c->io.op == LL_OP_READ) {
			asc = ASC_READ_ERROR;
			what = "MEDIUM ERROR, UNRECOVERED READ ERROR (11/00)";
		} else {
			asc = ASC_WRITE_ERROR;
			what = "MEDIUM ERROR, WRITE ERROR (0C/00)";
		}
	}
	/* the first errors in full, then one in a thousand */
	if (l->errors_logged < 20 || l->errors_logged % 1000 == 0)
		ll_err(l, "%s of %" PRIu64 " bytes at offset %" PRIu64 " failed: %s%s; "
		       "the initiator gets %s\n", op_name(c->io.op), c->io.len,
		       c->lun_off,
		       cause, l->fault ? " (injected: fault= is set)" : "", what);
	l->errors_logged++;
	fail(c, key, asc);
}

/* ---- helpers ------------------------------------------------------- */

/* One request to the top of the LUN's stack of layers. */
static void submit(struct ll_cmd *c, enum ll_io_op op, int flags, void *buf,
		   uint64_t off, uint64_t len, void (*complete)(struct ll_io *))
{
	c->lun_off = op == LL_OP_DATASYNC ? 0 : off;
	c->io.op = op;
	c->io.flags = flags;
	c->io.buf = buf;
	c->io.off = c->lun_off;
	c->io.len = len;
	c->io.fd = 0;
	c->io.complete = complete;
	ll_layer_submit(c->l->top, &c->io);
}

static void done_good(struct ll_io *io)
{
	struct ll_cmd *c = to_cmd(io);

	if (io->res)
		fail_io(c);
	else
		finish(c, SAM_STAT_GOOD);
}

/* Complete with GOOD and no I/O, from the next round of the main loop. */
static void good_later(struct ll_cmd *c)
{
	c->io.res = 0;
	c->io.complete = done_good;
	ll_later(c->l, &c->io);
}

static int want_dsync(struct ll_cmd *c)
{
	struct scsi_cmd *cmd = c->cmd;
	struct mode_pg *pg;

	if (cmd->scb[0] != WRITE_6 && (cmd->scb[1] & 0x08))
		return LL_IO_DSYNC;		/* FUA */
	pg = find_mode_page(cmd->dev, 0x08, 0);
	if (!pg || !(pg->mode_data[0] & 0x04))
		return LL_IO_DSYNC;		/* write cache disabled */
	return 0;
}

static int bounce_alloc(struct ll_cmd *c, uint32_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len ? len : 1))
		return -1;
	c->bounce = p;
	c->bounce_len = len;
	return 0;
}

/* Hold [off, off+len); run grant at once or when the range is free. */
static void lock_range(struct ll_cmd *c, uint64_t off, uint64_t len, bool exclusive,
		       void (*grant)(struct ll_range *))
{
	c->range.start = off;
	c->range.end = off + len;
	c->range.exclusive = exclusive;
	c->range.grant = grant;
	if (ll_range_acquire(&c->l->ranges, &c->range))
		grant(&c->range);
}

static inline struct ll_cmd *range_cmd(struct ll_range *r)
{
	return (struct ll_cmd *)((char *)r - offsetof(struct ll_cmd, range));
}

/* ---- READ ----------------------------------------------------------- */

static void do_read(struct ll_cmd *c)
{
	struct scsi_cmd *cmd = c->cmd;
	uint32_t len = scsi_get_in_length(cmd);

	if (cmd->tl < len)
		len = cmd->tl;
	if (!len) {
		good_later(c);
		return;
	}
	submit(c, LL_OP_READ, 0, scsi_get_in_buffer(cmd), cmd->offset, len, done_good);
}

/* ---- WRITE, WRITE AND VERIFY ---------------------------------------- */

static void write_verify_read_done(struct ll_io *io)
{
	struct ll_cmd *c = to_cmd(io);

	if (io->res) {
		fail_io(c);
		return;
	}
	if (memcmp(c->bounce, scsi_get_out_buffer(c->cmd), c->bounce_len)) {
		fail(c, MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY_OPERATION);
		return;
	}
	finish(c, SAM_STAT_GOOD);
}

static void write_verify_written(struct ll_io *io)
{
	struct ll_cmd *c = to_cmd(io);
	uint32_t len = (uint32_t)io->len;

	if (io->res) {
		fail_io(c);
		return;
	}
	if (bounce_alloc(c, len)) {
		fail(c, HARDWARE_ERROR, ASC_INTERNAL_TGT_FAILURE);
		return;
	}
	submit(c, LL_OP_READ, 0, c->bounce, c->lun_off, len, write_verify_read_done);
}

static void write_granted(struct ll_range *r)
{
	struct ll_cmd *c = range_cmd(r);
	struct scsi_cmd *cmd = c->cmd;
	uint32_t len = scsi_get_out_length(cmd);

	switch (cmd->scb[0]) {
	case WRITE_VERIFY:
	case WRITE_VERIFY_12:
	case WRITE_VERIFY_16:
		submit(c, LL_OP_WRITE, LL_IO_DSYNC, scsi_get_out_buffer(cmd), cmd->offset, len,
		       write_verify_written);
		break;
	default:
		submit(c, LL_OP_WRITE, want_dsync(c), scsi_get_out_buffer(cmd), cmd->offset,
		       len, done_good);
	}
}

static void do_write(struct ll_cmd *c)
{
	uint32_t len = scsi_get_out_length(c->cmd);

	if (!len) {
		good_later(c);
		return;
	}
	/* on a mirror, overlapping writes are serialised: every copy then
	 * sees them in the same order */
	lock_range(c, c->cmd->offset, len, c->l->nmirrors != 0, write_granted);
}

/* ---- COMPARE AND WRITE, ORWRITE: exclusive read-modify-write --------- */

static void rmw_read_done(struct ll_io *io)
{
	struct ll_cmd *c = to_cmd(io);
	struct scsi_cmd *cmd = c->cmd;
	uint8_t *out = scsi_get_out_buffer(cmd);
	uint32_t len = c->bounce_len, i;

	if (io->res) {
		fail_io(c);
		return;
	}
	if (cmd->scb[0] == COMPARE_AND_WRITE) {
		if (memcmp(out, c->bounce, len)) {
			for (i = 0; i < len && out[i] == c->bounce[i]; i++)
				;
			sense_data_build_with_info(cmd, MISCOMPARE,
						   ASC_MISCOMPARE_DURING_VERIFY_OPERATION, i);
			finish(c, SAM_STAT_CHECK_CONDITION);
			return;
		}
		memcpy(c->bounce, out + len, len);
	} else {		/* ORWRITE */
		for (i = 0; i < len; i++)
			c->bounce[i] |= out[i];
	}
	submit(c, LL_OP_WRITE, want_dsync(c), c->bounce, cmd->offset, len, done_good);
}

static void rmw_granted(struct ll_range *r)
{
	struct ll_cmd *c = range_cmd(r);

	submit(c, LL_OP_READ, 0, c->bounce, c->cmd->offset, c->bounce_len, rmw_read_done);
}

static void do_rmw(struct ll_cmd *c)
{
	struct scsi_cmd *cmd = c->cmd;
	uint32_t len = cmd->tl;

	if (cmd->scb[0] == COMPARE_AND_WRITE) {
		/* the verify half and the write half, each the CDB's length */
		if (scsi_get_out_length(cmd) != 2 * len) {
			fail(c, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
			return;
		}
	} else if (scsi_get_out_length(cmd) < len) {
		len = scsi_get_out_length(cmd);	/* as a WRITE: what was sent */
	}
	if (!len) {
		good_later(c);
		return;
	}
	if (bounce_alloc(c, len)) {
		fail(c, HARDWARE_ERROR, ASC_INTERNAL_TGT_FAILURE);
		return;
	}
	lock_range(c, cmd->offset, len, true, rmw_granted);
}

/* ---- VERIFY --------------------------------------------------------- */

static void verify_read_done(struct ll_io *io)
{
	struct ll_cmd *c = to_cmd(io);
	struct scsi_cmd *cmd = c->cmd;
	uint8_t *out = scsi_get_out_buffer(cmd);
	uint32_t bs = 1u << cmd->dev->blk_shift, i;
	int bytchk = (cmd->scb[1] >> 1) & 3;

	if (io->res) {
		fail_io(c);
		return;
	}
	if (bytchk == 3) {	/* one block of data-out against every block */
		for (i = 0; i < c->bounce_len; i += bs)
			if (memcmp(c->bounce + i, out, bs))
				break;
		if (i < c->bounce_len) {
			fail(c, MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY_OPERATION);
			return;
		}
	} else if (memcmp(c->bounce, out, c->bounce_len)) {
		fail(c, MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY_OPERATION);
		return;
	}
	finish(c, SAM_STAT_GOOD);
}

static void do_verify(struct ll_cmd *c)
{
	struct scsi_cmd *cmd = c->cmd;
	uint32_t bs = 1u << cmd->dev->blk_shift;
	uint64_t len = (uint64_t)scsi_rw_count(cmd->scb) << cmd->dev->blk_shift;
	int bytchk = (cmd->scb[1] >> 1) & 3;

	if (bytchk == 3 && scsi_get_out_length(cmd) < bs) {
		fail(c, ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERR);
		return;
	}
	if (bytchk != 3 && scsi_get_out_length(cmd) < len)
		len = scsi_get_out_length(cmd);
	if (!len) {
		good_later(c);
		return;
	}
	if (len > LL_VERIFY_MAX) {
		fail(c, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	if (bounce_alloc(c, (uint32_t)len)) {
		fail(c, HARDWARE_ERROR, ASC_INTERNAL_TGT_FAILURE);
		return;
	}
	submit(c, LL_OP_READ, 0, c->bounce, cmd->offset, len, verify_read_done);
}

/* ---- WRITE SAME ------------------------------------------------------ */

static void write_same_next(struct ll_io *io);

static void write_same_fill(struct ll_cmd *c, uint64_t pos, uint32_t len)
{
	struct scsi_cmd *cmd = c->cmd;
	unsigned int shift = cmd->dev->blk_shift;
	uint32_t bs = 1u << shift, i;
	int lbdata = (cmd->scb[1] & 0x06) == 0x02, pbdata = (cmd->scb[1] & 0x06) == 0x04;

	if (!lbdata && !pbdata)
		return;		/* the pattern does not change */
	for (i = 0; i < len; i += bs) {
		uint64_t lba = (pos + i) >> shift;

		if (lbdata)
			put_unaligned_be32((uint32_t)lba, c->bounce + i);
		else
			put_unaligned_be64(lba, c->bounce + i);
	}
}

static void write_same_next(struct ll_io *io)
{
	struct ll_cmd *c = to_cmd(io);
	uint64_t len;

	if (io->res) {
		fail_io(c);
		return;
	}
	if (io->op == LL_OP_WRITE)
		c->pos += io->len;
	if (c->pos >= c->end) {
		finish(c, SAM_STAT_GOOD);
		return;
	}
	len = c->end - c->pos;
	if (len > c->bounce_len)
		len = c->bounce_len;
	write_same_fill(c, c->pos, (uint32_t)len);
	submit(c, LL_OP_WRITE, want_dsync(c), c->bounce, c->pos, len, write_same_next);
}

static void write_same_granted(struct ll_range *r)
{
	struct ll_cmd *c = range_cmd(r);

	if (c->cmd->scb[1] & 0x08) {	/* UNMAP bit: deallocate */
		submit(c, LL_OP_PUNCH, 0, NULL, c->pos, c->end - c->pos, done_good);
		return;
	}
	c->io.op = LL_OP_DATASYNC;	/* not a write: nothing done yet */
	c->io.res = 0;
	write_same_next(&c->io);
}

static void do_write_same(struct ll_cmd *c)
{
	struct scsi_cmd *cmd = c->cmd;
	uint32_t bs = 1u << cmd->dev->blk_shift, chunk, i;
	int ndob = cmd->scb[0] == WRITE_SAME_16 && (cmd->scb[1] & 0x01);

	c->pos = cmd->offset;
	c->end = cmd->offset + cmd->tl;
	if (!cmd->tl) {
		good_later(c);
		return;
	}
	if (!(cmd->scb[1] & 0x08)) {
		chunk = cmd->tl < LL_WRITE_SAME_CHUNK ? cmd->tl : LL_WRITE_SAME_CHUNK;
		chunk -= chunk % bs;
		if (bounce_alloc(c, chunk)) {
			fail(c, HARDWARE_ERROR, ASC_INTERNAL_TGT_FAILURE);
			return;
		}
		if (ndob || scsi_get_out_length(cmd) < bs)
			memset(c->bounce, 0, chunk);
		else
			for (i = 0; i < chunk; i += bs)
				memcpy(c->bounce + i, scsi_get_out_buffer(cmd), bs);
	}
	lock_range(c, c->pos, c->end - c->pos, false, write_same_granted);
}

/* ---- UNMAP ------------------------------------------------------------ */

static void unmap_next(struct ll_io *io)
{
	struct ll_cmd *c = to_cmd(io);
	unsigned int shift = c->cmd->dev->blk_shift;

	if (io->res) {
		fail_io(c);
		return;
	}
	while (c->idesc < c->ndesc) {
		const uint8_t *d = c->desc + 16 * c->idesc++;
		uint64_t lba = get_unaligned_be64(d);
		uint32_t n = get_unaligned_be32(d + 8);

		if (n) {
			submit(c, LL_OP_PUNCH, 0, NULL, lba << shift, (uint64_t)n << shift,
			       unmap_next);
			return;
		}
	}
	finish(c, SAM_STAT_GOOD);
}

static void unmap_granted(struct ll_range *r)
{
	struct ll_cmd *c = range_cmd(r);

	c->io.res = 0;
	unmap_next(&c->io);
}

static void do_unmap(struct ll_cmd *c)
{
	struct scsi_cmd *cmd = c->cmd;
	struct scsi_lu *lu = cmd->dev;
	uint32_t len = scsi_get_out_length(cmd), bdl, i;
	const uint8_t *buf = scsi_get_out_buffer(cmd);
	uint64_t blocks = lu->size >> lu->blk_shift, lo = UINT64_MAX, hi = 0;

	if (len < 8) {
		good_later(c);
		return;
	}
	bdl = get_unaligned_be16(buf + 2);
	if (bdl > len - 8)
		bdl = len - 8;
	c->desc = buf + 8;
	c->ndesc = bdl / 16;
	if (c->ndesc > LL_UNMAP_MAX_DESCRIPTORS) {	/* what VPD B0 advertises */
		fail(c, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARMS);
		return;
	}
	for (i = 0; i < c->ndesc; i++) {
		uint64_t lba = get_unaligned_be64(c->desc + 16 * i);
		uint32_t n = get_unaligned_be32(c->desc + 16 * i + 8);

		if (lba + n < lba || lba + n > blocks) {
			fail(c, ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
			return;
		}
		if (!n)
			continue;
		if (lba < lo)
			lo = lba;
		if (lba + n > hi)
			hi = lba + n;
	}
	if (hi == 0) {
		good_later(c);
		return;
	}
	lock_range(c, lo << lu->blk_shift, (hi - lo) << lu->blk_shift, false, unmap_granted);
}

/* ---- entry ------------------------------------------------------------ */

int ll_cmd_submit(struct scsi_cmd *cmd)
{
	struct ll_lu *l = ll_lu(cmd->dev);
	struct ll_cmd *c;

	c = cmd_get(l);
	if (!c)
		return EIO;	/* sbc.c turns this into HARDWARE ERROR */
	c->cmd = cmd;
	c->l = l;
	list_add_tail(&c->inflight, &l->inflight);
	set_cmd_async(cmd);

	switch (cmd->scb[0]) {
	case READ_6:
	case READ_10:
	case READ_12:
	case READ_16:
		do_read(c);
		break;
	case WRITE_6:
	case WRITE_10:
	case WRITE_12:
	case WRITE_16:
	case WRITE_VERIFY:
	case WRITE_VERIFY_12:
	case WRITE_VERIFY_16:
		do_write(c);
		break;
	case COMPARE_AND_WRITE:
	case ORWRITE_16:
		do_rmw(c);
		break;
	case VERIFY_10:
	case VERIFY_12:
	case VERIFY_16:
		do_verify(c);
		break;
	case SYNCHRONIZE_CACHE:
	case SYNCHRONIZE_CACHE_16:
		submit(c, LL_OP_DATASYNC, 0, NULL, 0, 0, done_good);
		break;
	case WRITE_SAME:
	case WRITE_SAME_16:
		do_write_same(c);
		break;
	case UNMAP:
		do_unmap(c);
		break;
	case PRE_FETCH_10:
	case PRE_FETCH_16:
		submit(c, LL_OP_FADVISE, 0, NULL, cmd->offset, cmd->tl, done_good);
		break;
	default:
		good_later(c);
	}
	return 0;
}
