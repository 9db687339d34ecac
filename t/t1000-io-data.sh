#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='data written through iSCSI to a lunlink LUN reads back and is in the image'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

test_expect_success 'tgtd loads bs_lunlink.so and registers the lunlink store' '
	tgtd_start A &&
	test_grep "backing store .lunlink. [0-9][^ ]* registered" "$A_LOG"
'

test_expect_success 'a LUN on a sparse image comes up through io_uring' '
	truncate -s 64M img &&
	target_new A 1 &&
	lun_new A 1 1 "$TRASH/img" &&
	test_grep "serving through io_uring" "$A_LOG" &&
	tgtadm_on A --lld iscsi --op show --mode target >show &&
	test_grep "Backing store type: lunlink" show
'

test_expect_success 'READ CAPACITY gives the image size' '
	"$IO" "$(url A 1 1)" capacity >cap &&
	echo "131072 512" >expect &&
	test_cmp expect cap
'

test_expect_success 'data written reads back and lands in the image file' '
	head -c 1048576 /dev/urandom >data &&
	"$IO" "$(url A 1 1)" write 2048 data &&
	"$IO" "$(url A 1 1)" read 2048 2048 back &&
	test_cmp data back &&
	dd if=img of=inimg bs=512 skip=2048 count=2048 2>/dev/null &&
	test_cmp data inimg
'

test_expect_success 'the first and the last block of the LUN' '
	head -c 512 /dev/urandom >first && head -c 512 /dev/urandom >last &&
	"$IO" "$(url A 1 1)" write 0 first &&
	"$IO" "$(url A 1 1)" write 131071 last &&
	"$IO" "$(url A 1 1)" read 0 1 b0 && test_cmp first b0 &&
	"$IO" "$(url A 1 1)" read 131071 1 b1 && test_cmp last b1
'

test_expect_success 'a write past the end is refused with LBA OUT OF RANGE' '
	test_must_fail "$IO" "$(url A 1 1)" write 131071 data >out &&
	test_grep "sense 5/21/00" out
'

test_expect_success 'the worker-thread path serves the same data (io=threads)' '
	truncate -s 16M img2 &&
	lun_new A 1 2 "$TRASH/img2" lunlink "io=threads;threads=4" &&
	test_grep "serving through 4 worker threads" "$A_LOG" &&
	head -c 65536 /dev/urandom >d2 &&
	"$IO" "$(url A 1 2)" write 8 d2 &&
	"$IO" "$(url A 1 2)" read 8 128 b2 &&
	test_cmp d2 b2 &&
	dd if=img2 of=in2 bs=512 skip=8 count=128 2>/dev/null &&
	test_cmp d2 in2
'

test_expect_success 'COMPARE AND WRITE writes when the data matches' '
	head -c 4096 /dev/urandom >new &&
	dd if=data of=old bs=4096 count=1 2>/dev/null &&
	cat old new >caw &&
	"$IO" "$(url A 1 1)" caw 2048 caw &&
	"$IO" "$(url A 1 1)" read 2048 8 got && test_cmp new got
'

test_expect_success 'COMPARE AND WRITE with stale data is MISCOMPARE and writes nothing' '
	test_must_fail "$IO" "$(url A 1 1)" caw 2048 caw >out &&
	test_grep "sense e/1d/00" out &&
	"$IO" "$(url A 1 1)" read 2048 8 got2 && test_cmp new got2
'

test_expect_success 'bsoflags direct and sync serve the same data' '
	for f in direct sync; do
		truncate -s 16M $f.img &&
		tgtadm_on A --lld iscsi --mode logicalunit --op new --tid 1 --lun 3 \
			--backing-store "$TRASH/$f.img" --bstype lunlink --bsoflags $f &&
		"$IO" "$(url A 1 3)" write 16 d2 &&
		"$IO" "$(url A 1 3)" read 16 128 b3 && test_cmp d2 b3 &&
		dd if=$f.img of=in3 bs=512 skip=16 count=128 2>/dev/null && test_cmp d2 in3 &&
		tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 3 || return 1
	done
'

test_expect_success 'tgtd is still alive' '
	tgtd_alive A
'

test_expect_success 'where io_uring cannot be set up, io=auto falls back to threads and says so' '
	TGTD_PRELOAD="$T_DIR/helpers/no-uring.so" tgtd_start B &&
	target_new B 1 &&
	lun_new B 1 1 "$TRASH/img2" &&
	test_grep "io_uring cannot be set up (io_uring_queue_init(256): Function not implemented); falling back to worker threads" "$B_LOG" &&
	test_grep "serving through 8 worker threads" "$B_LOG" &&
	"$IO" "$(url B 1 1)" read 8 128 b4 && test_cmp d2 b4
'

test_expect_success 'and io=uring is then refused, with the reason' '
	test_must_fail lun_new B 1 2 "$TRASH/img2" lunlink io=uring &&
	test_grep "refused: io=uring was asked, but io_uring cannot be set up" "$B_LOG"
'

test_done
