#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='a mirror whose copies are concatenations: the image and a copy_extent= area on A, a raw image and an extent= area on B'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# Node A serves a 12 MiB mirrored LUN whose copy is the concatenation of
# a.img's 4 MiB of data and 8 MiB of the plain file ax.raw
# (copy_extent=).  Its leg is B's LUN: b.img served raw (superblock
# included) followed by 8 MiB of bx.raw, a concatenation served by
# lunlink on B with raw=on;extent=.  The images are made with
# --max-size 12M so that their dirty-region maps cover the whole copy.
status() { echo "/run/lunlink/c${A_CTL}-t1-l1.status"; }
leg_is() { test "$(leg_state_in "$(status)" 1)" = "$1"; }
leg1_of() { leg_field "$(status)" 1 "$1"; }

start_leg() {
	TGTD_PORT=${B_PORT:-} tgtd_start B && target_new B 1 &&
	lun_new B 1 1 "$TRASH/b.img" lunlink "raw=on;extent=$TRASH/bx.raw:0:8M"
}

# in_area LBA COUNT FILE: COUNT blocks at volume LBA, in an area file
# (the area holds the volume from LBA 8192 on)
in_area() { dd if="$3" bs=512 skip=$(($1 - 8192)) count="$2" 2>/dev/null; }

test_expect_success 'A serves the image and its area as one mirrored LUN; the leg gets both' '
	"$IMG" create --size 4M --max-size 12M a.img >/dev/null &&
	vol=$("$IMG" show --json a.img | jq -r .volume) &&
	"$IMG" create --size 4M --max-size 12M --volume "$vol" b.img >/dev/null &&
	head -c 8388608 /dev/urandom >ax.raw &&
	truncate -s 8M bx.raw &&
	start_leg &&
	"$IO" "$(url B 1 1)" capacity >capb &&
	echo "$(( $(data_lba b.img) + 24576 )) 512" >expect && test_cmp expect capb &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);copy_extent=$TRASH/ax.raw:0:8M" &&
	"$IO" "$(url A 1 1)" capacity >cap && echo "24576 512" >expect && test_cmp expect cap &&
	wait_for 30 leg_is up &&
	in_area 8192 16384 bx.raw >inbx && test_cmp ax.raw inbx
'

test_expect_success 'the area is not taken for blank: its contents were copied, and the operator is told why' '
	test_grep "copy_extent= areas that lunlink-image did not make blank" "$A_LOG" &&
	test "$(leg1_of resync_data)" -ge 8388608
'

test_expect_success 'a write across the seam: the first half in the images, the second in the areas, on both nodes' '
	head -c 1048576 /dev/urandom >s1 &&
	"$IO" "$(url A 1 1)" write 7168 s1 &&
	"$IO" "$(url A 1 1)" sync &&
	"$IO" "$(url A 1 1)" read 7168 2048 back && test_cmp s1 back &&
	head -c 524288 s1 >first && tail -c 524288 s1 >second &&
	data_of 7168 1024 a.img >ina && test_cmp first ina &&
	data_of 7168 1024 b.img >inb && test_cmp first inb &&
	in_area 8192 1024 ax.raw >inax && test_cmp second inax &&
	in_area 8192 1024 bx.raw >inbx && test_cmp second inbx
'

test_expect_success 'with the leg node down, writes to the area go on degraded' '
	tgtd_stop B &&
	head -c 262144 /dev/urandom >w2 &&
	"$IO" "$(url A 1 1)" write 20000 w2 &&
	wait_for 30 eval "! leg_is up" &&
	head -c 262144 /dev/urandom >w3 &&
	"$IO" "$(url A 1 1)" write 21000 w3 &&
	"$IO" "$(url A 1 1)" read 20000 512 back && test_cmp w2 back
'

test_expect_success 'the leg returns: only the regions written meanwhile are copied, and both copies are the same' '
	start_leg &&
	wait_for 60 leg_is up &&
	test "$(leg1_of resync_data)" -le 1048576 &&
	test "$(leg1_of resync_data)" -ge 262144 &&
	in_area 8192 16384 ax.raw >a_area && in_area 8192 16384 bx.raw >b_area &&
	test_cmp a_area b_area &&
	data_of 0 8192 a.img >a_img && data_of 0 8192 b.img >b_img && test_cmp a_img b_img
'

test_expect_success 'a read past the seam reaches the area' '
	"$IO" "$(url A 1 1)" read 21000 512 back && test_cmp w3 back
'

test_expect_success 'a copy larger than the image'"'"'s map covers, and a resize, are refused by name' '
	"$IMG" create --size 4M --max-size 4M c.img >/dev/null && truncate -s 8M cx.raw &&
	mark &&
	test_must_fail lun_new A 1 2 "$TRASH/c.img" lunlink \
		"mirror=$(url B 1 1);copy_extent=$TRASH/cx.raw:0:8M" &&
	new_log_has "more than its dirty-region map covers (--max-size 4194304)" &&
	mark &&
	test_must_fail tgtadm_on A --mode logicalunit --op update --tid 1 --lun 1 \
		--params resize=16M &&
	new_log_has "copy_extent= areas, whose sizes are fixed"
'

test_expect_success 'options that cannot go together are refused by name' '
	test_must_fail lun_new A 1 3 "$TRASH/c.img" lunlink "copy_extent=$TRASH/cx.raw:0:8M" 2>err &&
	test_must_fail lun_new A 1 3 "$TRASH/c.img" lunlink "raw=on;mirror=$(url B 1 1)" &&
	test_must_fail lun_new A 1 3 "$TRASH/c.img" lunlink \
		"mirror=$(url B 1 1);copy_extent=$(url B 1 1):0:8M" &&
	join_log "$A_LOG" >log &&
	test_grep "copy_extent= continues the mirrored copy of the backing store, and it has no mirror=" log &&
	test_grep "raw=on with mirror= on the backing store" log &&
	test_grep "a mirror.s own copy is on this node" log
'

test_expect_success 'tgtd A and B are alive' '
	tgtd_alive A && tgtd_alive B
'

test_done
