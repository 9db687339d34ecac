#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='extent=PATH:OFFSET:LENGTH: ranges of several files concatenated into one LUN'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

# a.img (16 MiB, all of it) followed by 8 MiB of b.img from its 4 MiB mark
test_expect_success 'two files joined into a 24 MiB LUN' '
	truncate -s 16M a.img b.img &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "extent=$TRASH/b.img:4M:8M" &&
	test_grep "2 extents concatenated, 25165824 bytes in all" "$A_LOG" &&
	"$IO" "$(url A 1 1)" capacity >cap && echo "49152 512" >expect && test_cmp expect cap
'

test_expect_success 'a write across the seam lands in both files, and reads back whole' '
	head -c 1048576 /dev/urandom >data &&
	"$IO" "$(url A 1 1)" write 31744 data &&
	"$IO" "$(url A 1 1)" read 31744 2048 back && test_cmp data back &&
	dd if=a.img bs=512 skip=31744 count=1024 2>/dev/null >ina &&
	dd if=b.img bs=512 skip=8192 count=1024 2>/dev/null >inb &&
	cat ina inb >both && test_cmp data both
'

test_expect_success 'the last block of the LUN is the last block of the range in b.img' '
	head -c 512 /dev/urandom >last &&
	"$IO" "$(url A 1 1)" write 49151 last &&
	dd if=b.img bs=512 skip=$((8192 + 16383)) count=1 2>/dev/null >inlast && test_cmp last inlast &&
	test_must_fail "$IO" "$(url A 1 1)" write 49152 last >out && test_grep "sense 5/21/00" out
'

test_expect_success 'SYNCHRONIZE CACHE and UNMAP across the seam' '
	"$IO" "$(url A 1 1)" sync &&
	"$IO" "$(url A 1 1)" unmap 31744 2048 &&
	"$IO" "$(url A 1 1)" read 31744 2048 z && head -c 1048576 /dev/zero >zeros && test_cmp zeros z
'

test_expect_success 'a missing extent, one past its file, and a bad extent= are refused by name' '
	test_must_fail lun_new A 1 2 "$TRASH/a.img" lunlink "extent=$TRASH/nosuch.img:0:1M" &&
	test_grep "cannot open extent 2 .$TRASH/nosuch.img.: No such file or directory" "$A_LOG" &&
	test_must_fail lun_new A 1 2 "$TRASH/a.img" lunlink "extent=$TRASH/b.img:12M:8M" &&
	test_grep "extent 2 .$TRASH/b.img.: 8388608 bytes at offset 12582912 end past its 16777216 bytes" "$A_LOG" &&
	test_must_fail lun_new A 1 2 "$TRASH/a.img" lunlink "extent=b.img:0:1M" &&
	test_grep "is not /ABSOLUTE/PATH:OFFSET:LENGTH" "$A_LOG" &&
	test_must_fail tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 \
		--params resize=32M &&
	test_grep "a concatenation of extents" "$A_LOG"
'

test_expect_success 'a last extent of LENGTH "end" runs to the end of its file, and grows the LUN with it' '
	truncate -s 16M c.img && truncate -s 8M d.img &&
	lun_new A 1 3 "$TRASH/c.img" lunlink "extent=$TRASH/d.img:2M:end" &&
	"$IO" "$(url A 1 3)" capacity >cap && echo "45056 512" >expect && test_cmp expect cap &&
	head -c 4096 /dev/urandom >tail4k &&
	"$IO" "$(url A 1 3)" write 45048 tail4k &&
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 3 --params resize=32M &&
	"$IO" "$(url A 1 3)" capacity >cap && echo "65536 512" >expect && test_cmp expect cap &&
	test $(stat -c %s d.img) = $((18 * 1048576)) &&
	"$IO" "$(url A 1 3)" read 45048 8 back && test_cmp tail4k back &&
	"$IO" "$(url A 1 3)" write 65528 tail4k &&
	dd if=d.img bs=512 skip=$((18 * 2048 - 8)) count=8 2>/dev/null >ind && test_cmp tail4k ind &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 3
'

test_expect_success 'tgtd is alive' '
	tgtd_alive A
'

test_done
