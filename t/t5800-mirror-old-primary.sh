#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='mirrored LUNs: a former primary that comes back as a leg gets what its own superblock says it may lack: its activity log after a crash, its stale regions'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# Two copies, the roles swapped twice.  tgtd A is always the primary's
# node and tgtd B the leg's (stock rdwr): first A serves a.img with b.img
# as its leg; then A serves b.img with a.img as its leg; then back.  Both
# copies keep one generation throughout (every write reached both), so
# the generations alone would call the returning copy in sync.

field_of() { "$IMG" show --json "$1" | sed -n "s/.*\"$2\":\"\([0-9a-z]*\)\".*/\1/p"; }
update() { tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params "$1"; }
stale_in_sb() { "$IMG" show --json "$1" | sed -n "s/.*\"stale_regions\":\([0-9a-z\"]*\).*/\1/p"; }
# serve PRIMARY with LEG as its leg: A and B started afresh
serve() {
	tgtd_start B && target_new B 1 && lun_new B 1 1 "$TRASH/$2" rdwr &&
	tgtd_start A && target_new A 1 && mark &&
	lun_new A 1 1 "$TRASH/$1" lunlink "mirror=$(url B 1 1)"
}
# the volume's data in the two files, whole
same_data() {
	data_of 0 65536 a.img >all-a && data_of 0 65536 b.img >all-b && cmp -s all-a all-b
}

test_expect_success 'a.img served with b.img as its leg, written' '
	"$IMG" create --size 32M a.img >/dev/null && "$IMG" create --size 32M b.img >/dev/null &&
	serve a.img b.img &&
	wait_for 30 leg_is up &&
	head -c 131072 /dev/urandom >x1 &&
	"$IO" "$(url A 1 1)" write 8192 x1 &&
	data_of 8192 256 b.img >inb && test_cmp x1 inb &&
	test "$(field_of a.img state)" = open &&
	G=$(field_of a.img generation) && test "$(field_of b.img generation)" = "$G"
'

# kill -9 of tgtd A leaves a.img open, x1's extent (4 MiB at 4 MiB) in its
# activity log.  A write a.img had alone when it crashed (sent to the legs
# but not there yet, never acknowledged) is made by hand: the leg b.img
# never got it.  Promoted, b.img serves with a.img as its leg.  Before,
# a.img at b.img's generation was "in sync" and kept that write: the two
# copies differed with nothing to say so.
test_expect_success 'the crashed primary, back as a leg, gets its activity log'"'"'s extents resynced' '
	kill -9 $A_PID && wait $A_PID 2>/dev/null
	A_PID= && tgtd_stop B &&
	test "$(field_of a.img state)" = open &&
	head -c 4096 /dev/urandom >lone &&
	dd if=lone of=a.img bs=512 seek=$(($(data_lba a.img) + 8192 + 300)) conv=notrunc 2>/dev/null &&
	! same_data &&
	serve b.img a.img &&
	wait_for 60 leg_is up &&
	leg1_is verdict current && leg1_is own_regions 64 && leg1_is joined map &&
	leg1_is resync_regions 64 && leg1_is resyncs 1 && leg1_is resync_bytes 4194304 &&
	same_data &&
	data_of 8192 256 a.img >ina && test_cmp x1 ina &&
	wait_for 5 eval "test \"\$(field_of a.img state)\" = leg" &&
	test "$(field_of a.img generation)" = "$G"
'

# Now b.img is the primary: its disk fails one write (fault=write), the
# leg a.img takes it, so b.img lists the region stale.  It stays stale
# (the fault keeps the repair from writing it) when the LUN is closed.
test_expect_success 'the primary b.img, its disk failing, closes with a stale region' '
	update fault=write &&
	head -c 512 /dev/urandom >w2 &&
	"$IO" "$(url A 1 1)" write 20000 w2 &&
	wait_for 5 stale_is 1 &&
	tgtd_stop A && tgtd_stop B &&
	test "$(stale_in_sb b.img)" = 1 &&
	test "$(field_of b.img state)" = closed &&
	data_of 20000 1 a.img >ina && test_cmp w2 ina &&
	data_of 20000 1 b.img >inb && ! cmp -s w2 inb &&
	test "$(field_of a.img generation)" = "$(field_of b.img generation)"
'

# Served as the primary again, a.img has b.img as its leg.  Before, b.img
# was "in sync", and the primary cleared its stale list at the next write
# of its superblock: served alone later, it gave old data for w2.
test_expect_success 'back as a leg, the copy with a stale region gets that region' '
	serve a.img b.img &&
	wait_for 60 leg_is up &&
	leg1_is verdict current && leg1_is own_regions 1 && leg1_is joined map &&
	leg1_is resync_regions 1 && leg1_is resyncs 1 && leg1_is resync_bytes 65536 &&
	data_of 20000 1 b.img >inb && test_cmp w2 inb &&
	same_data &&
	wait_for 5 eval "test \"\$(stale_in_sb b.img)\" = 0"
'

test_expect_success 'tgtd A is alive' '
	tgtd_alive A
'

test_done
