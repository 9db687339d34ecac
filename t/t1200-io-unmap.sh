#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='thin provisioning: UNMAP and WRITE SAME with UNMAP punch holes in the image'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

# 512-byte blocks the file system has allocated to the image
allocated() { stat -c %b "$TRASH/$1"; }

test_expect_success 'a thin LUN and a thick one (thin=off)' '
	tgtd_start A &&
	truncate -s 64M thin.img thick.img &&
	target_new A 1 &&
	lun_new A 1 1 "$TRASH/thin.img" &&
	lun_new A 1 2 "$TRASH/thick.img" lunlink "thin=off"
'

test_expect_success 'the thin LUN advertises LBPU, LBPWS and LBPRZ (VPD B2)' '
	"$IO" "$(url A 1 1)" lbp >lbp &&
	echo "lbpu=1 lbpws=1 lbprz=1" >expect &&
	test_cmp expect lbp
'

test_expect_success 'the thick LUN does not' '
	"$IO" "$(url A 1 2)" lbp >lbp2 &&
	echo "lbpu=0 lbpws=0 lbprz=0" >expect &&
	test_cmp expect lbp2
'

test_expect_success 'written data allocates blocks in the image' '
	head -c 4194304 /dev/urandom >data &&
	"$IO" "$(url A 1 1)" write 0 data &&
	"$IO" "$(url A 1 1)" sync &&
	before=$(allocated thin.img) && echo "allocated: $before" &&
	test "$before" -ge 8192
'

test_expect_success 'UNMAP of the first 2 MiB frees them and they read back as zeros' '
	before=$(allocated thin.img) &&
	"$IO" "$(url A 1 1)" unmap 0 4096 &&
	after=$(allocated thin.img) && echo "allocated: $before -> $after" &&
	test "$after" -le $((before - 4096)) &&
	"$IO" "$(url A 1 1)" read 0 4096 back &&
	head -c 2097152 /dev/zero >zeros &&
	test_cmp zeros back
'

test_expect_success 'the rest of the data is untouched' '
	"$IO" "$(url A 1 1)" read 4096 4096 rest &&
	tail -c 2097152 data >expect &&
	test_cmp expect rest
'

test_expect_success 'WRITE SAME(16) with the UNMAP bit frees the other 2 MiB' '
	before=$(allocated thin.img) &&
	"$IO" "$(url A 1 1)" ws-unmap 4096 4096 &&
	after=$(allocated thin.img) && echo "allocated: $before -> $after" &&
	test "$after" -le $((before - 4096)) &&
	"$IO" "$(url A 1 1)" read 4096 4096 back2 &&
	test_cmp zeros back2
'

test_expect_success 'UNMAP past the end is refused with LBA OUT OF RANGE' '
	test_must_fail "$IO" "$(url A 1 1)" unmap 131000 100 >out &&
	test_grep "sense 5/21/00" out
'

test_expect_success 'UNMAP on the thick LUN is refused as unsupported' '
	test_must_fail "$IO" "$(url A 1 2)" unmap 0 8 >out2 &&
	test_grep "sense 5/20/00" out2
'

test_done
