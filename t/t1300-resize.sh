#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='resize while in use: connected initiators get 2A/09 and the new capacity'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

update() {
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params "$1"
}

# start_waiter N: a client logged in as initiator N, its pending unit
# attentions cleared, waiting for "go" on fd 7+N before its next command
start_waiter() {
	mkfifo "go$1" || return 1
	ISCSI_IO_INITIATOR="$IQN_BASE:waiter-$1" "$IO" "$(url A 1 1)" await-ua \
		<"go$1" >"ua$1.out" 2>&1 &
	eval "waiter$1=$!"
	eval "exec $((7 + $1))>go$1" &&
	wait_for 10 grep -q ready "ua$1.out"
}

# release_waiter N: let it send TEST UNIT READY and READ CAPACITY
release_waiter() {
	local pid
	eval "pid=\$waiter$1"
	echo go >&$((7 + $1)) && eval "exec $((7 + $1))>&-" &&
	wait "$pid"
}

test_expect_success 'a 64 MiB LUN and two logged-in initiators' '
	tgtd_start A &&
	truncate -s 64M img &&
	target_new A 1 && lun_new A 1 1 "$TRASH/img" &&
	start_waiter 1 && start_waiter 2
'

test_expect_success 'resize=reread after the operator grew the image' '
	truncate -s 96M img &&
	update resize=reread &&
	test_grep "capacity changed from 67108864 to 100663296 bytes" "$A_LOG"
'

test_expect_success 'both initiators get UNIT ATTENTION 2A/09 and the new capacity' '
	release_waiter 1 && release_waiter 2 &&
	printf "ua 6/2a/09\n196608 512\n" >expect &&
	grep -v ready ua1.out >got1 && test_cmp expect got1 &&
	grep -v ready ua2.out >got2 && test_cmp expect got2
'

test_expect_success 'resize=128M grows the image file itself' '
	update resize=128M &&
	test "$(stat -c %s img)" = 134217728 &&
	"$IO" "$(url A 1 1)" capacity >cap &&
	echo "262144 512" >expect && test_cmp expect cap
'

test_expect_success 'the new space is usable' '
	head -c 65536 /dev/urandom >data &&
	"$IO" "$(url A 1 1)" write 262000 data &&
	"$IO" "$(url A 1 1)" read 262000 128 back &&
	test_cmp data back
'

test_expect_success 'the same size again changes nothing' '
	update resize=128M &&
	test_grep "capacity unchanged at 134217728 bytes" "$A_LOG"
'

test_expect_success 'shrinking is refused, and says why' '
	test_must_fail update resize=64M &&
	test_grep "resize=67108864 refused: the LUN is 134217728 bytes and lunlink never shrinks" "$A_LOG" &&
	test "$(stat -c %s img)" = 134217728
'

test_expect_success 'an image shrunk behind the LUN is refused on reread' '
	truncate -s 100M img &&
	test_must_fail update resize=reread &&
	test_grep "the image is now 104857600 bytes, smaller than the LUN.s 134217728" "$A_LOG" &&
	truncate -s 128M img
'

test_expect_success 'a size that is not a size is refused by name' '
	test_must_fail update resize=lots &&
	test_grep "resize=.lots.: size .lots. is not a size" "$A_LOG" &&
	test_must_fail update resize=1000 &&
	test_grep "not a multiple of the block size" "$A_LOG"
'

test_expect_success 'an unknown parameter is refused by name' '
	test_must_fail update colour=blue &&
	test_grep "unknown parameter .colour." "$A_LOG"
'

test_expect_success 'tgtd is still alive' '
	tgtd_alive A
'

test_done
