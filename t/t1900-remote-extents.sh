#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='extent=iscsi://...: a LUN concatenated from this node'"'"'s image and LUNs on two other nodes'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

# Nodes B and C export plain files with stock tgt's rdwr store; node A
# serves one LUN: its own a.img (16 MiB), then 8 MiB of B's LUN from its
# 4 MiB mark, then the whole of C's 16 MiB LUN.  leg_timeout=3: a request
# waits that long for a lost peer before it fails.

# start_node NAME FILE: a tgtd exporting FILE as tid 1 LUN 1 (on the port
# it had, when it is started again)
start_node() {
	eval "TGTD_PORT=\${${1}_PORT:-}" tgtd_start "$1" &&
	target_new "$1" 1 && lun_new "$1" 1 1 "$TRASH/$2" rdwr
}

lba_c=$((16 * 2048 + 8 * 2048))	# where C's extent starts in A's LUN

# In the status file of extent N of tid 1 LUN L on tgtd A:
# peer_field L N KEY: the peer line's KEY; peer_is L N STATE
peer_field() { sed -n "s/^peer .*\b$3=\([^ ]*\).*/\1/p" "/run/lunlink/c${A_CTL}-t1-l$1-e$2.status" 2>/dev/null; }
peer_is() { test "$(peer_field "$1" "$2" state)" = "$3"; }
failed_some() { test "$(peer_field "$1" "$2" failed_waiting)" -ge 1 2>/dev/null; }

test_expect_success 'a 40 MiB LUN: a.img, 8 MiB of B, 16 MiB of C' '
	truncate -s 16M a.img b.img c.img &&
	start_node B b.img && start_node C c.img &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink \
		"leg_timeout=3;extent=$(url B 1 1):4M:8M;extent=$(url C 1 1):0:16M" &&
	test_grep "3 extents concatenated, 41943040 bytes in all" "$A_LOG" &&
	"$IO" "$(url A 1 1)" capacity >cap && echo "81920 512" >expect && test_cmp expect cap &&
	wait_for 10 peer_is 1 2 up && wait_for 10 peer_is 1 3 up &&
	test "$(peer_field 1 3 capacity)" = 16777216 && test "$(peer_field 1 3 needs)" = 16777216 &&
	test "$(peer_field 1 2 needs)" = $((12 * 1048576)) &&
	"$SRC_DIR/target/tools/lunlink-status" >st && cat st &&
	grep -q "^  peer: state=up" st
'

test_expect_success 'writes across both seams land on the three nodes, and read back whole' '
	head -c 1048576 /dev/urandom >d1 && head -c 1048576 /dev/urandom >d2 &&
	"$IO" "$(url A 1 1)" write $((16 * 2048 - 1024)) d1 &&
	"$IO" "$(url A 1 1)" write $((lba_c - 1024)) d2 &&
	"$IO" "$(url A 1 1)" read $((16 * 2048 - 1024)) 2048 back1 && test_cmp d1 back1 &&
	"$IO" "$(url A 1 1)" read $((lba_c - 1024)) 2048 back2 && test_cmp d2 back2 &&
	"$IO" "$(url A 1 1)" sync &&
	{ dd if=a.img bs=512 skip=$((16 * 2048 - 1024)) count=1024 2>/dev/null
	  dd if=b.img bs=512 skip=$((4 * 2048)) count=1024 2>/dev/null; } >on1 &&
	test_cmp d1 on1 &&
	{ dd if=b.img bs=512 skip=$((12 * 2048 - 1024)) count=1024 2>/dev/null
	  dd if=c.img bs=512 count=1024 2>/dev/null; } >on2 &&
	test_cmp d2 on2
'

test_expect_success 'the last block of the LUN is the last block of C, and no further' '
	head -c 512 /dev/urandom >last &&
	"$IO" "$(url A 1 1)" write 81919 last &&
	dd if=c.img bs=512 skip=32767 count=1 2>/dev/null >onc && test_cmp last onc &&
	test_must_fail "$IO" "$(url A 1 1)" write 81920 last >out && test_grep "sense 5/21/00" out
'

test_expect_success 'UNMAP across the B/C seam reads back zeros (WRITE SAME of zeros on the peers)' '
	"$IO" "$(url A 1 1)" unmap $((lba_c - 8)) 16 &&
	"$IO" "$(url A 1 1)" read $((lba_c - 8)) 16 z && head -c 8192 /dev/zero >zeros &&
	test_cmp zeros z &&
	{ head -c 520192 d2 && cat zeros && tail -c +528385 d2; } >d2z &&
	dd if=c.img bs=512 count=8 2>/dev/null >onc && head -c 4096 /dev/zero >z4 && test_cmp z4 onc
'

test_expect_success 'C stops and comes back within leg_timeout: a read of its part waits, then succeeds' '
	tgtd_stop C &&
	"$IO" "$(url A 1 1)" read $lba_c 1024 waited >waited.out 2>&1 &
	reader=$! &&
	sleep 1 && start_node C c.img &&
	wait $reader &&
	dd if=c.img bs=512 count=1024 2>/dev/null >onc && test_cmp onc waited &&
	a_log_has "extent 3 (" && a_log_has "lost: the connection broke" &&
	wait_for 10 peer_is 1 3 up && test "$(peer_field 1 3 failed_waiting)" = 0
'

test_expect_success 'C stays down: its part fails with MEDIUM ERROR after leg_timeout, the rest goes on' '
	tgtd_stop C &&
	test_must_fail "$IO" "$(url A 1 1)" read $lba_c 8 gone >out &&
	test_grep "sense 3/11/00" out &&
	a_log_has "no connection for leg_timeout=3 s" &&
	wait_for 3 failed_some 1 3 && ! peer_is 1 3 up &&
	"$IO" "$(url A 1 1)" read $((16 * 2048 - 1024)) 2048 back1 && test_cmp d1 back1 &&
	"$IO" "$(url A 1 1)" read 0 8 ahead
'

test_expect_success 'C returns: its part is served again without an operator' '
	start_node C c.img &&
	wait_for 15 "$IO" "$(url A 1 1)" read $((lba_c - 1024)) 2048 back2 && test_cmp d2z back2
'

test_expect_success 'the LUN is deleted at once while a peer is down' '
	tgtd_stop B &&
	start=$(date +%s%N) &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1 &&
	end=$(date +%s%N) &&
	echo "delete took $(( (end - start) / 1000000 )) ms" &&
	test $(( (end - start) / 1000000 )) -lt 1000 &&
	start_node B b.img
'

test_expect_success 'a peer LUN smaller than its extent: its part fails, and the log says why' '
	truncate -s 4M small.img && tgtd_start D && target_new D 1 &&
	lun_new D 1 1 "$TRASH/small.img" rdwr &&
	lun_new A 1 2 "$TRASH/a.img" lunlink "leg_timeout=2;extent=$(url D 1 1):0:8M" &&
	test_must_fail "$IO" "$(url A 1 2)" read $((16 * 2048)) 8 x >out &&
	test_grep "sense 3/11/00" out &&
	a_log_has "it is 4194304 bytes, and the extent needs 8388608 (grow it on its node)" &&
	! peer_is 2 2 up && test "$(peer_field 2 2 capacity)" = 4194304 &&
	"$IO" "$(url A 1 2)" read 0 8 ahead &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 2
'

test_expect_success 'a bad URL, and mirror= after a remote extent, are refused by name' '
	test_must_fail lun_new A 1 3 "$TRASH/a.img" lunlink "extent=iscsi://127.0.0.1:0:8M" &&
	test_grep "is not an iSCSI URL" "$A_LOG" &&
	test_must_fail lun_new A 1 3 "$TRASH/a.img" lunlink \
		"extent=$(url B 1 1):0:8M;mirror=$(url C 1 1)" &&
	test_grep "a mirror.s own copy is on this one" "$A_LOG"
'

test_expect_success 'tgtd is alive' '
	tgtd_alive A
'

test_done
