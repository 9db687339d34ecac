#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='window=OFFSET:LENGTH: one image divided into LUNs'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

test_expect_success 'a 64 MiB image served as two 32 MiB LUNs' '
	truncate -s 64M big.img &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 1 "$TRASH/big.img" lunlink "window=0:32M" &&
	lun_new A 1 2 "$TRASH/big.img" lunlink "window=32M:32M" &&
	test_grep "serving the window of 33554432 bytes at offset 33554432" "$A_LOG" &&
	"$IO" "$(url A 1 2)" capacity >cap && echo "65536 512" >expect && test_cmp expect cap
'

test_expect_success 'each LUN writes its own part of the image' '
	head -c 4096 /dev/urandom >d1 && head -c 4096 /dev/urandom >d2 &&
	"$IO" "$(url A 1 1)" write 0 d1 && "$IO" "$(url A 1 2)" write 0 d2 &&
	dd if=big.img of=at0 bs=4096 count=1 2>/dev/null && test_cmp d1 at0 &&
	dd if=big.img of=at32 bs=1M skip=32 count=1 2>/dev/null &&
	head -c 4096 at32 >at32h && test_cmp d2 at32h
'

test_expect_success 'a write past the window is refused' '
	test_must_fail "$IO" "$(url A 1 1)" write 65535 d1 >out &&
	test_grep "sense 5/21/00" out &&
	dd if=big.img of=at32b bs=1M skip=32 count=1 2>/dev/null && test_cmp at32 at32b
'

test_expect_success 'a window past the image, a bad window, resizing a window: refused by name' '
	test_must_fail lun_new A 1 3 "$TRASH/big.img" lunlink "window=48M:32M" &&
	test_grep "window=50331648:33554432 ends past the image.s 67108864 bytes of data" "$A_LOG" &&
	test_must_fail lun_new A 1 3 "$TRASH/big.img" lunlink "window=100:4096" &&
	test_grep "must be multiples of 512" "$A_LOG" &&
	test_must_fail tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 \
		--params resize=48M &&
	test_grep "the LUN is a window of its image" "$A_LOG"
'

test_done
