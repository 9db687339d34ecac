// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sbc_overrides.c: SCSI commands that tgt 1.0.85's own SBC layer gets wrong
 * or leaves out, handled by lunlink for its LUNs only.
 *
 * tgt dispatches a command through lu->dev_type_template.ops[opcode], a
 * per-LU copy of the SBC table, so a backing store may replace an entry in
 * bs_init without touching tgtd or other stores' LUNs.
 *
 *   COMPARE AND WRITE (89h): commented out of tgt's table, so tgt answers
 *   INVALID OPERATION CODE even though its stores implement it.  The
 *   checks here are the ones sbc.c makes for its other writes.
 *
 *   GET LBA STATUS (SERVICE ACTION IN(16) 9Eh/12h): tgt's answer starts
 *   at the extent holding the LBA rather than at the LBA asked, and its
 *   range check overflows for LBAs near 2^64.  lunlink answers from
 *   SEEK_DATA/SEEK_HOLE on the image, from the LBA asked.
 *
 *   UNMAP (42h): sbc_unmap() has no return after a successful submit, so it
 *   writes LOGICAL UNIT NOT SUPPORTED into the command's sense and reports
 *   the whole parameter list as residual; the same checks here return GOOD.
 *
 *   MODE SENSE (1Ah, 5Ah): tgt never checks it against a RESERVE(6) held by
 *   another initiator (SPC-2 reservations conflict with it).
 *
 * And one page of what the LUN advertises:
 *
 *   Block Limits (VPD B0h): tgt advertises 0xffffffff UNMAP block
 *   descriptors, which initiators read as "unbounded" (libiscsi as -1);
 *   lunlink advertises, and enforces, LL_UNMAP_MAX_DESCRIPTORS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lunlink.h"
#include "be_byteshift.h"

/* what VPD page B0 advertises as MAXIMUM COMPARE AND WRITE LENGTH */
#define LL_CAW_MAX_BLOCKS	128

static int sense(struct scsi_cmd *cmd, uint8_t key, uint16_t asc)
{
	sense_data_build(cmd, key, asc);
	return SAM_STAT_CHECK_CONDITION;
}

static int compare_and_write(int host_no, struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->dev;
	uint64_t lba = get_unaligned_be64(&cmd->scb[2]);
	uint32_t n = cmd->scb[13];

	(void)host_no;
	if (device_reserved(cmd))
		return SAM_STAT_RESERVATION_CONFLICT;
	if (lu->attrs.removable && !lu->attrs.online)
		return sense(cmd, NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	if (cmd->scb[1] & 0xe0)		/* protection information: type 0 only */
		return sense(cmd, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	if (n > LL_CAW_MAX_BLOCKS)
		return sense(cmd, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* the data-out is the verify half and the write half: a length that
	 * does not match the CDB (a count that wrapped, say) is refused */
	if (scsi_get_out_length(cmd) != 2 * (n << lu->blk_shift))
		return sense(cmd, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	if (lu->attrs.readonly || lu->attrs.swp)
		return sense(cmd, DATA_PROTECT, ASC_WRITE_PROTECT);
	if (lba + n < lba || lba + n > lu->size >> lu->blk_shift)
		return sense(cmd, ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	if (!n)
		return SAM_STAT_GOOD;	/* zero blocks: not an error */

	cmd->offset = lba << lu->blk_shift;
	cmd->tl = n << lu->blk_shift;
	if (ll_cmd_submit(cmd))
		return sense(cmd, HARDWARE_ERROR, ASC_INTERNAL_TGT_FAILURE);
	return SAM_STAT_GOOD;
}

/* GET LBA STATUS descriptors in one answer, at most */
#define LL_LBA_STATUS_MAX	64

static int (*tgt_service_action_in)(int host_no, struct scsi_cmd *cmd);
static int (*tgt_mode_sense)(int host_no, struct scsi_cmd *cmd);

/*
 * The extent of the image that starts at off: mapped (data) or not (a
 * hole), and where it ends, capped at end.  A block device (no SEEK_DATA)
 * is mapped throughout.
 */
static uint64_t extent_at(int fd, uint64_t off, uint64_t end, int *mapped)
{
	off_t data = lseek(fd, (off_t)off, SEEK_DATA), next;

	if (data < 0) {
		/* ENXIO: no data from off on; anything else: assume mapped */
		*mapped = errno != ENXIO;
		return end;
	}
	if ((uint64_t)data > off) {
		*mapped = 0;
		next = data;
	} else {
		*mapped = 1;
		next = lseek(fd, (off_t)off, SEEK_HOLE);
		if (next < 0)
			return end;
	}
	return (uint64_t)next < end ? (uint64_t)next : end;
}

static int get_lba_status(int host_no, struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->dev;
	struct ll_lu *l = ll_lu(lu);
	unsigned int shift = lu->blk_shift;
	uint64_t lba = get_unaligned_be64(&cmd->scb[2]);
	uint64_t blocks = lu->size >> shift, off, end = lu->size;
	uint32_t alloc = get_unaligned_be32(&cmd->scb[10]);
	uint8_t buf[8 + 16 * LL_LBA_STATUS_MAX];
	uint32_t n = 0, len;

	(void)host_no;
	if (lu->attrs.removable && !lu->attrs.online)
		return sense(cmd, NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	if (lba >= blocks)
		return sense(cmd, ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	if (alloc < 24)		/* room for the header and one descriptor */
		return sense(cmd, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);

	memset(buf, 0, sizeof(buf));
	for (off = lba << shift; off < end && n < LL_LBA_STATUS_MAX &&
	     8 + 16 * (n + 1) <= alloc; n++) {
		uint8_t *d = buf + 8 + 16 * n;
		uint64_t next, count;
		int mapped;

		int fd;
		uint64_t foff, left;

		if (ll_layer_map(l->top, off, &fd, &foff, &left))
			break;
		if (left > end - off)
			left = end - off;
		next = off + (extent_at(fd, foff, foff + left, &mapped) - foff);
		/* whole blocks only; a partly mapped block counts as mapped */
		next = (next + (1ULL << shift) - 1) >> shift << shift;
		if (next > end)
			next = end;
		count = (next - off) >> shift;
		if (count > UINT32_MAX)
			count = UINT32_MAX;
		put_unaligned_be64(off >> shift, d);
		put_unaligned_be32((uint32_t)count, d + 8);
		d[12] = mapped ? 0 : 1;		/* mapped, or deallocated */
		off += count << shift;
	}
	put_unaligned_be32(4 + 16 * n, buf);
	len = 8 + 16 * n;
	if (len > scsi_get_in_length(cmd))
		len = scsi_get_in_length(cmd);
	memcpy(scsi_get_in_buffer(cmd), buf, len);
	scsi_set_in_resid_by_actual(cmd, len);
	return SAM_STAT_GOOD;
}

static int service_action_in(int host_no, struct scsi_cmd *cmd)
{
	if ((cmd->scb[1] & 0x1f) == SAI_GET_LBA_STATUS && cmd->dev->attrs.thinprovisioning)
		return get_lba_status(host_no, cmd);
	return tgt_service_action_in(host_no, cmd);
}

static int unmap(int host_no, struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->dev;

	(void)host_no;
	if (device_reserved(cmd))
		return SAM_STAT_RESERVATION_CONFLICT;
	if (cmd->scb[1] & 0x01)		/* ANCHOR: not supported */
		return sense(cmd, ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	if (lu->attrs.removable && !lu->attrs.online)
		return sense(cmd, NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	if (!lu->attrs.thinprovisioning)
		return sense(cmd, ILLEGAL_REQUEST, ASC_INVALID_OP_CODE);
	if (lu->attrs.readonly || lu->attrs.swp)
		return sense(cmd, DATA_PROTECT, ASC_WRITE_PROTECT);
	if (ll_cmd_submit(cmd))
		return sense(cmd, HARDWARE_ERROR, ASC_INTERNAL_TGT_FAILURE);
	return SAM_STAT_GOOD;
}

static int mode_sense(int host_no, struct scsi_cmd *cmd)
{
	if (device_reserved(cmd))
		return SAM_STAT_RESERVATION_CONFLICT;
	return tgt_mode_sense(host_no, cmd);
}

/* Put fn in the LU's dispatch table for opcode; keep tgt's in *orig. */
static void wrap(struct scsi_lu *lu, uint8_t opcode, int (*fn)(int, struct scsi_cmd *),
		 int (**orig)(int, struct scsi_cmd *))
{
	struct device_type_operations *op = &lu->dev_type_template.ops[opcode];

	if (op->cmd_perform == fn)
		return;
	if (orig)
		*orig = op->cmd_perform;	/* the same sbc.c function for every LU */
	op->cmd_perform = fn;
}

void ll_vpd_refresh(struct scsi_lu *lu)
{
	struct vpd *b0 = lu->attrs.lu_vpd[PCODE_OFFSET(0xb0)];

	/* the page's data starts after its 4-byte header: byte 20 is 24 */
	if (b0 && lu->attrs.thinprovisioning)
		put_unaligned_be32(LL_UNMAP_MAX_DESCRIPTORS, b0->data + 20);
}

void ll_sbc_override(struct scsi_lu *lu)
{
	struct device_type_operations *caw = &lu->dev_type_template.ops[COMPARE_AND_WRITE];

	wrap(lu, COMPARE_AND_WRITE, compare_and_write, NULL);
	caw->service_actions = NULL;
	caw->pr_conflict_bits = PR_WE_FA | PR_EA_FA | PR_WE_FN | PR_EA_FN;
	wrap(lu, UNMAP, unmap, NULL);
	wrap(lu, MODE_SENSE, mode_sense, &tgt_mode_sense);
	wrap(lu, MODE_SENSE_10, mode_sense, &tgt_mode_sense);
	/* keep tgt's READ CAPACITY(16) and the other service actions */
	wrap(lu, SERVICE_ACTION_IN, service_action_in, &tgt_service_action_in);
}
