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
 */
#define _GNU_SOURCE
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

void ll_sbc_override(struct scsi_lu *lu)
{
	struct device_type_operations *op = &lu->dev_type_template.ops[COMPARE_AND_WRITE];

	op->cmd_perform = compare_and_write;
	op->service_actions = NULL;
	op->pr_conflict_bits = PR_WE_FA | PR_EA_FA | PR_WE_FN | PR_EA_FN;
}
