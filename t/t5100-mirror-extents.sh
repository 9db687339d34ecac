#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='extent maps with mirrors: a window of a mirrored image, a mirrored set concatenated after a plain range'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# Node B exports two copies with stock tgt's rdwr store: b.img (leg of
# a.img) as LUN 1, d.img (leg of c.img) as LUN 2.  Node A serves
#   LUN 1: the 8 MiB window at 4 MiB of the mirrored a.img
#   LUN 2: 4 MiB of the raw r.img, then the 8 MiB at 1 MiB of the mirrored
#          c.img (extent 2)
status1() { echo "/run/lunlink/c${A_CTL}-t1-l1.status"; }
status2() { echo "/run/lunlink/c${A_CTL}-t1-l2-e2.status"; }
leg_is() { test "$(leg_state_in "$1" 1)" = "$2"; }
# legs_in FILE: how many legs a status file lists
legs_in() { grep -c "^leg " "$1"; }

start_leg() {
	TGTD_PORT=${B_PORT:-} tgtd_start B &&
	target_new B 1 && lun_new B 1 1 "$TRASH/b.img" rdwr && lun_new B 1 2 "$TRASH/d.img" rdwr
}

# data_of LBA COUNT FILE: COUNT blocks at LBA of the volume in an image file

test_expect_success 'a window of a mirrored image: the fresh leg gets all of the image' '
	for i in a b c d; do "$IMG" create --size 16M $i.img >/dev/null || return 1; done &&
	truncate -s 4M r.img &&
	start_leg &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "window=4M:8M;mirror=$(url B 1 1)" &&
	test_grep "serving the window of 8388608 bytes at offset 4194304" "$A_LOG" &&
	test "$(legs_in "$(status1)")" = 1 &&
	"$IO" "$(url A 1 1)" capacity >cap && echo "16384 512" >expect && test_cmp expect cap &&
	wait_for 30 leg_is "$(status1)" up &&
	leg_field_is "$(status1)" 1 joined full && leg_field_is "$(status1)" 1 resyncs 1 &&
	leg_field_is "$(status1)" 1 resync_regions 256 &&
	leg_field_is "$(status1)" 1 resync_bytes 16777216
'

test_expect_success 'a write to the window lands at the window'"'"'s place in both copies' '
	head -c 1048576 /dev/urandom >w1 &&
	"$IO" "$(url A 1 1)" write 100 w1 &&
	"$IO" "$(url A 1 1)" read 100 2048 back && test_cmp w1 back &&
	data_of $((8192 + 100)) 2048 a.img >ina && test_cmp w1 ina &&
	data_of $((8192 + 100)) 2048 b.img >inb && test_cmp w1 inb
'

test_expect_success 'a plain range and a mirrored set joined into one LUN' '
	lun_new A 1 2 "$TRASH/r.img" lunlink "extent=$TRASH/c.img:1M:8M;mirror=$(url B 1 2)" &&
	"$IO" "$(url A 1 2)" capacity >cap && echo "24576 512" >expect && test_cmp expect cap &&
	lun_field_is "$(status2)" extent 2 && lun_field_is "$(status2)" image "$TRASH/c.img" &&
	test "$(legs_in "$(status2)")" = 1 &&
	wait_for 30 leg_is "$(status2)" up &&
	"$SRC_DIR/target/tools/lunlink-status" >status &&
	test_grep "LUN  tid=1 lun=2 extent=2 image=$TRASH/c.img" status &&
	leg_field_is "$(status2)" 1 url "$(url B 1 2)" &&
	leg_field_is "$(status2)" 1 joined full && leg_field_is "$(status2)" 1 resyncs 1 &&
	leg_field_is "$(status2)" 1 resync_bytes 16777216
'

test_expect_success 'a write across the seam: the first half in the plain file, the second on both copies of the set' '
	head -c 1048576 /dev/urandom >s1 &&
	"$IO" "$(url A 1 2)" write 7168 s1 &&
	"$IO" "$(url A 1 2)" sync &&
	"$IO" "$(url A 1 2)" read 7168 2048 back && test_cmp s1 back &&
	head -c 524288 s1 >s1a && tail -c 524288 s1 >s1b &&
	dd if=r.img bs=512 skip=7168 count=1024 2>/dev/null >inr && test_cmp s1a inr &&
	data_of 2048 1024 c.img >inc && test_cmp s1b inc &&
	data_of 2048 1024 d.img >ind && test_cmp s1b ind
'

gen_of() { "$IMG" show --json "$1" | sed -n "s/.*\"$2\":\"\([0-9a-f]*\)\".*/\1/p"; }
# (a function: wait_for runs it again each time, $(...) arguments would not be)
same_generation() { test "$(gen_of "$1" generation)" = "$(gen_of "$2" generation)"; }

# A write the leg missed is acknowledged once the new generation and the
# map are in the image (written through the engine, not by the loop).
test_expect_success 'with the leg node killed, both LUNs go on, degraded' '
	"$IO" "$(url A 1 1)" sync &&
	gen_before=$(gen_of c.img generation) &&
	kill -9 $B_PID && wait $B_PID 2>/dev/null
	B_PID= &&
	head -c 512 /dev/urandom >x1 && head -c 512 /dev/urandom >x2 &&
	head -c 512 /dev/urandom >x3 && head -c 512 /dev/urandom >x4 &&
	"$IO" "$(url A 1 1)" write 0 x1 &&
	"$IO" "$(url A 1 2)" write 8192 x2 &&
	"$IO" "$(url A 1 2)" write 12000 x3 &&
	"$IO" "$(url A 1 2)" write 24575 x4 &&
	test "$(gen_of c.img bitmap_generation)" = "$gen_before" &&
	test "$(gen_of c.img generation)" != "$gen_before" &&
	wait_for 10 leg_is "$(status1)" down &&
	wait_for 10 leg_is "$(status2)" down &&
	wait_for 5 lun_field_is "$(status2)" bitmap_generation "$gen_before" &&
	! lun_field_is "$(status2)" generation "$gen_before"
'

test_expect_success 'the leg node returns: each set copies only the regions written meanwhile' '
	start_leg &&
	wait_for 60 leg_is "$(status1)" up &&
	wait_for 60 leg_is "$(status2)" up &&
	leg_field_is "$(status1)" 1 joined map && leg_field_is "$(status1)" 1 resyncs 2 &&
	leg_field_is "$(status1)" 1 resync_regions 1 && leg_field_is "$(status1)" 1 resync_bytes 65536 &&
	leg_field_is "$(status2)" 1 joined map && leg_field_is "$(status2)" 1 resyncs 2 &&
	leg_field_is "$(status2)" 1 resync_regions 3 && leg_field_is "$(status2)" 1 resync_bytes 196608 &&
	data_of 8192 1 b.img >b0 && test_cmp x1 b0 &&
	data_of 2048 1 d.img >d0 && test_cmp x2 d0 &&
	data_of $((2048 + 12000 - 8192)) 1 d.img >d1 && test_cmp x3 d1 &&
	data_of $((2048 + 16383)) 1 d.img >d2 && test_cmp x4 d2
'

# Each copy of the set read alone: served by itself on another tgtd as the
# same window of its image, the stream's LUN LBAs moved back by the 8192
# blocks of the plain range before it.
check_copies() {
	check_alone "$1" 8192 "window=1M:8M" "$TRASH/c.img" "$TRASH/d.img"
}

test_expect_success 'kill -9 the leg node mid-stream into the set: nothing acknowledged is lost on either copy' '
	stream_killing B "$(url A 1 2)" 4000 8192 1000 acked &&
	test "$(grep -c ^acked acked)" -eq 4000 &&
	wait_for 10 leg_is "$(status2)" down &&
	start_leg &&
	wait_for 60 leg_is "$(status2)" up &&
	wait_for 60 leg_is "$(status1)" up &&
	check_copies acked
'

# tgt tells every session of a target that its LUNs changed (unit
# attention 3F/0E on the next command): the legs send the command again.
drops() { echo $(( $(leg_field "$(status1)" 1 drops) + $(leg_field "$(status2)" 1 drops) )); }

test_expect_success 'a LUN added on the legs'"'"' target: the unit attention is answered, the legs stay up' '
	before=$(drops) &&
	"$IMG" create --size 16M e.img >/dev/null && "$IMG" create --size 16M f.img >/dev/null &&
	lun_new B 1 3 "$TRASH/f.img" rdwr &&
	"$IO" "$(url A 1 1)" write 10 x1 &&
	"$IO" "$(url A 1 2)" write 9000 x2 &&
	test_grep "leg 1 ($(url B 1 1)): unit attention 3f/0e (REPORTED LUNS DATA HAS CHANGED): sending the command again" "$A_LOG" &&
	test_grep "extent 2 ($TRASH/c.img): leg 1 ($(url B 1 2)): unit attention 3f/0e" "$A_LOG" &&
	sleep 1.5 && leg_is "$(status1)" up && leg_is "$(status2)" up &&
	test "$(drops)" = "$before" &&
	data_of $((8192 + 10)) 1 b.img >b1 && test_cmp x1 b1 &&
	data_of $((2048 + 9000 - 8192)) 1 d.img >d1 && test_cmp x2 d1
'

# A slow resync of the whole image while the window is written to: each
# copy ends with the same data (the copies land at the image's offsets, not
# the window's; the writes meanwhile reach the leg being synced).  Where in
# the LUN a resync's range is held is unit-tested in t/unit/range_lock.c.
test_expect_success 'writes during a resync of a window land on both copies' '
	lun_new A 1 3 "$TRASH/e.img" lunlink "window=2M:12M;mirror=$(url B 1 3);resync_rate=2M" &&
	wait_for 10 leg_is "/run/lunlink/c${A_CTL}-t1-l3.status" syncing &&
	"$IO" "$(url A 1 3)" stream 3000 4000 >acked3 &&
	leg_field_is "/run/lunlink/c${A_CTL}-t1-l3.status" 1 resyncs 0 &&
	leg_is "/run/lunlink/c${A_CTL}-t1-l3.status" syncing &&
	wait_for 60 leg_is "/run/lunlink/c${A_CTL}-t1-l3.status" up &&
	data_of 0 32768 e.img >all-e && data_of 0 32768 f.img >all-f && test_cmp all-e all-f
'

# The same with every resync copy held up for a tick (100 ms) between its
# local read and its write to the leg, as on a slow local disk: a write to
# the range in that time would be overwritten on the leg by the older data
# (and the region counted as copied), unless the resync holds the range at
# its place in the LUN.  The writes are scattered over the whole window;
# about one in eighty lands in a range being copied.
status6() { echo "/run/lunlink/c${A_CTL}-t1-l6.status"; }
status7() { echo "/run/lunlink/c${A_CTL}-t1-l7-e2.status"; }

# slow_resync_race LUN STATUS LOCAL LEG LBA0 SPAN: the LUN's resync held up
# (fault=slow-resync) while a writer scatters writes over SPAN blocks from
# LBA0, each block once (a block written again after a bad copy would hide
# it), from while the resync is under way until it is done or every block
# is written; at least 1000 writes while the leg was still syncing; then
# both copies are equal and every acknowledged block reads back.
acked_count() { grep -c ^acked "$1" || true; }

slow_resync_race() {
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun "$1" \
		--params fault=slow-resync &&
	wait_for 10 leg_is "$2" syncing &&
	rm -f "stop$1" || return 1
	# (its own statement: "a && b &" would put the whole chain in the background)
	ISCSI_IO_STOP_FILE="stop$1" "$IO" "$(url A 1 "$1")" stream "$6" "$5" "$6" >"acked$1" &
	writer=$!
	wait_for 10 acked_at_least "acked$1" 50 &&
	leg_is "$2" syncing &&
	wait_for 60 leg_is "$2" up &&
	during=$(acked_count "acked$1") &&
	touch "stop$1" && wait $writer &&
	echo "$during writes acknowledged while the leg was syncing" &&
	test "$during" -ge 1000 &&
	n=$(acked_count "acked$1") &&
	data_of 0 32768 "$3" >"all-$3" && data_of 0 32768 "$4" >"all-$4" &&
	test_cmp "all-$3" "all-$4" &&
	"$IO" "$(url A 1 "$1")" check <"acked$1" >"checked$1" &&
	test_grep "checked $n blocks" "checked$1"
}

test_expect_success 'a resync copy held up between its read and its write keeps the window'"'"'s writes to its range out (fault=slow-resync)' '
	"$IMG" create --size 16M s.img >/dev/null && "$IMG" create --size 16M t.img >/dev/null &&
	lun_new B 1 6 "$TRASH/t.img" rdwr &&
	lun_new A 1 6 "$TRASH/s.img" lunlink "window=2M:12M;mirror=$(url B 1 6);resync_rate=2M" &&
	slow_resync_race 6 "$(status6)" s.img t.img 0 24576 &&
	test_grep "fault injection: slow-resync" "$A_LOG"
'

# And for a mirrored set that starts 4 MiB into its LUN (after a plain
# range) and 1 MiB into its image's data: the resync's ranges are held at
# the set's place in the LUN.
test_expect_success 'the same for a mirrored set after a plain range (fault=slow-resync)' '
	truncate -s 4M r7.img &&
	"$IMG" create --size 16M u.img >/dev/null && "$IMG" create --size 16M v.img >/dev/null &&
	lun_new B 1 7 "$TRASH/v.img" rdwr &&
	lun_new A 1 7 "$TRASH/r7.img" lunlink "extent=$TRASH/u.img:1M:8M;mirror=$(url B 1 7);resync_rate=2M" &&
	slow_resync_race 7 "$(status7)" u.img v.img 8192 16384
'

# A LUN deleted while its resync has copies in flight: the mirror stops
# starting new ones and finishes those (reads through the engine) before it
# frees them.
test_expect_success 'a LUN deleted in the middle of a resync: tgtd goes on, the resync finishes once it is back' '
	"$IMG" create --size 256M g.img >/dev/null && "$IMG" create --size 256M h.img >/dev/null &&
	lun_new B 1 4 "$TRASH/h.img" rdwr &&
	lun_new A 1 4 "$TRASH/g.img" lunlink "mirror=$(url B 1 4)" &&
	wait_for 10 leg_is "/run/lunlink/c${A_CTL}-t1-l4.status" syncing &&
	leg_field_is "/run/lunlink/c${A_CTL}-t1-l4.status" 1 joined full &&
	leg_field_is "/run/lunlink/c${A_CTL}-t1-l4.status" 1 resync_regions 4096 &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 4 &&
	tgtd_alive A &&
	lun_new A 1 4 "$TRASH/g.img" lunlink "mirror=$(url B 1 4)" &&
	wait_for 60 leg_is "/run/lunlink/c${A_CTL}-t1-l4.status" up &&
	off=$("$IMG" show --json g.img | sed -n "s/.*\"data_offset\":\([0-9]*\).*/\1/p") &&
	cmp -n $((256 << 20)) -i $off:$off g.img h.img
'

grow_lun4() {
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 4 \
		--params resize=512M 2>/dev/null
}

test_expect_success 'growing a mirrored LUN past its leg is refused, naming the leg; once the leg is grown, it works' '
	test_must_fail tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 4 \
		--params resize=512M &&
	test_grep "leg 1 ($(url B 1 4)): resize refused: the leg was 269484032 bytes when last asked, and the image would need 537919488; grow the leg" "$A_LOG" &&
	truncate -s 513M h.img &&
	tgtadm_on B --lld iscsi --mode logicalunit --op delete --tid 1 --lun 4 &&
	lun_new B 1 4 "$TRASH/h.img" rdwr &&
	wait_for 10 grow_lun4 &&
	"$IO" "$(url A 1 4)" write $((1048576 - 1)) x2 &&
	data_of $((1048576 - 1)) 1 h.img >hlast && test_cmp x2 hlast &&
	wait_for 10 same_generation h.img g.img &&
	"$IMG" show --json h.img | grep -q "\"data_size\":536870912"
'

test_expect_success 'grown, the mirror keeps the new part: a write there while the leg is away is resynced to it' '
	tgtadm_on B --lld iscsi --mode logicalunit --op delete --tid 1 --lun 4 &&
	head -c 512 /dev/urandom >x3 &&
	"$IO" "$(url A 1 4)" write $((1048576 - 1)) x3 &&
	wait_for 30 eval "! leg_is /run/lunlink/c${A_CTL}-t1-l4.status up" &&
	lun_new B 1 4 "$TRASH/h.img" rdwr &&
	wait_for 30 leg_is "/run/lunlink/c${A_CTL}-t1-l4.status" up &&
	data_of $((1048576 - 1)) 1 h.img >hlast && test_cmp x3 hlast
'

test_expect_success 'a leg refused for its size is probed again with retry=legs once it is fixed' '
	"$IMG" create --size 16M k.img >/dev/null && "$IMG" create --size 16M l.img >/dev/null &&
	truncate -s 8M l.img &&
	lun_new B 1 5 "$TRASH/l.img" rdwr &&
	lun_new A 1 5 "$TRASH/k.img" lunlink "mirror=$(url B 1 5)" &&
	wait_for 30 leg_is "/run/lunlink/c${A_CTL}-t1-l5.status" refused &&
	test_grep "leg 1 ($(url B 1 5)): refused: it is 8388608 bytes, smaller than this image.s 17825792" "$A_LOG" &&
	grep -q "^leg 1 .* error=\"it is 8388608 bytes, smaller than this image.s 17825792\"" "/run/lunlink/c${A_CTL}-t1-l5.status" &&
	truncate -s 17M l.img &&
	tgtadm_on B --lld iscsi --mode logicalunit --op delete --tid 1 --lun 5 &&
	lun_new B 1 5 "$TRASH/l.img" rdwr &&
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 5 --params retry=legs &&
	test_grep "leg 1 ($(url B 1 5)): retry=legs: probing it again (it was refused: it is 8388608 bytes" "$A_LOG" &&
	wait_for 30 leg_is "/run/lunlink/c${A_CTL}-t1-l5.status" up &&
	test_must_fail tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 5 \
		--params retry=legs &&
	test_grep "retry=legs refused: no leg of this LUN is refused" "$A_LOG" &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 5
'

grow_lun8() {
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 8 \
		--params resize=32M 2>/dev/null
}

# As the policy daemon grows a doubled volume: the leg, exported raw=on,
# grows its file in place through its LUN (its primary's session gets
# 2A/09), then the primary.  An idle primary learns the leg's new size at
# its first refused try (it asks the leg again, past the leg's unit
# attention), so the second try goes through.
test_expect_success 'a raw=on leg grown in place (resize= on its LUN): the idle primary grows at its next try' '
	"$IMG" create --size 16M m.img >/dev/null && "$IMG" create --size 16M n.img >/dev/null &&
	lun_new B 1 8 "$TRASH/n.img" lunlink raw=on &&
	lun_new A 1 8 "$TRASH/m.img" lunlink "mirror=$(url B 1 8)" &&
	wait_for 30 leg_is "/run/lunlink/c${A_CTL}-t1-l8.status" up &&
	off=$("$IMG" show --json n.img | sed -n "s/.*\"data_offset\":\([0-9]*\).*/\1/p") &&
	tgtadm_on B --lld iscsi --mode logicalunit --op update --tid 1 --lun 8 \
		--params resize=$((off + (32 << 20))) &&
	test "$(stat -c %s n.img)" = $((off + (32 << 20))) &&
	"$IMG" show --json n.img | grep -q "\"data_size\":16777216" &&
	{ grow_lun8 || { sleep 1 && grow_lun8; }; } &&
	"$IMG" show --json m.img | grep -q "\"data_size\":33554432" &&
	head -c 512 /dev/urandom >x8 &&
	"$IO" "$(url A 1 8)" write $((65536 - 1)) x8 &&
	data_of $((65536 - 1)) 1 n.img >n8 && test_cmp x8 n8 &&
	"$IMG" show --json n.img | grep -q "\"data_size\":33554432" &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 8
'

test_expect_success 'verify=start reaches the set inside the concatenation and names the region' '
	head -c 4096 /dev/urandom >junk &&
	off=$("$IMG" show --json d.img | sed -n "s/.*\"data_offset\":\([0-9]*\).*/\1/p") &&
	dd if=junk of=d.img bs=4096 seek=$(( (off + 40 * 65536) / 4096 )) conv=notrunc 2>/dev/null &&
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 2 --params verify=start &&
	wait_for 60 leg_field_is "$(status2)" 1 verifies 1 &&
	leg_field_is "$(status2)" 1 verified 256 && leg_field_is "$(status2)" 1 verify_differed 1 &&
	test_grep "extent 2 ($TRASH/c.img): leg 1 ($(url B 1 2)): verify: region 40 (bytes 2621440-2686975) differs from this copy" "$A_LOG" &&
	wait_for 30 leg_is "$(status2)" up &&
	data_of 0 32768 c.img >all-c && data_of 0 32768 d.img >all-d && test_cmp all-c all-d
'

test_expect_success 'a raw extent with legs, a range past the set'"'"'s data, and a second mirror of one image are refused by name' '
	truncate -s 16M raw.img &&
	test_must_fail lun_new A 1 5 "$TRASH/r.img" lunlink "extent=$TRASH/raw.img:0:1M;mirror=$(url B 1 2)" &&
	test_grep "extent 2 .$TRASH/raw.img. has mirror= legs, so it must be a lunlink image" "$A_LOG" &&
	test_grep "lunlink-image create --size SIZE $TRASH/raw.img" "$A_LOG" &&
	test_must_fail lun_new A 1 5 "$TRASH/r.img" lunlink "extent=$TRASH/c.img:12M:8M;mirror=$(url B 1 2)" &&
	test_grep "extent 2 .$TRASH/c.img.: 8388608 bytes at offset 12582912 end past the 16777216 bytes of its image.s data" "$A_LOG" &&
	test_must_fail lun_new A 1 5 "$TRASH/a.img" lunlink "window=0:4M;mirror=$(url B 1 1)" &&
	test_grep "refused: $TRASH/a.img is already the local copy of a mirrored LUN (in this tgtd or another process on this node: it is locked)" "$A_LOG" &&
	"$IO" "$(url A 1 1)" write 0 x1 && leg_is "$(status1)" up
'

test_expect_success 'tgtd A is alive' '
	tgtd_alive A
'

test_done
