#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='closing a mirrored LUN whose leg hangs blocks no other LUN of its tgtd; what the leg took unflushed is resynced'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# tgtd A serves a mirrored LUN (tid 1, its leg on tgtd B, exported with
# stock rdwr) and a plain lunlink LUN on another target (tid 2).  B is
# stopped with SIGSTOP: it keeps its connection open and answers nothing,
# as a hung node does.  tgtd has one event loop for every LUN: while the
# mirrored LUN is deleted, the plain LUN's reads show any stall of it.

# B runs again before anything else at the end, pass or fail: a stopped
# tgtd answers no tgtadm, and would hold the cleanup up.
cont_b() { [ -z "${B_PID:-}" ] || kill -CONT "$B_PID" 2>/dev/null || true; }
trap 'cont_b; test_cleanup' EXIT

json() { "$IMG" show --json "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }
now_us() { date +%s%6N; }

# worst_overlapping FILE T0 T1: the worst latency (us) of the reads in
# iscsi-io read-latency's FILE that were in flight at some time in
# [T0, T1], after the count of those reads
worst_overlapping() {
	awk -v t0="$2" -v t1="$3" '
		$1 == "read" && $2 <= t1 && $2 + $3 >= t0 { n++; if ($3 > w) w = $3 }
		END { print n + 0, w + 0 }' "$1"
}

LEG_TIMEOUT=10		# the default, said out loud: the close must not wait for it
DELETE_BOUND_MS=1000	# see the step below

test_expect_success 'a mirrored LUN in sync, and a plain LUN on another target of the same tgtd' '
	"$IMG" create --size 32M a.img >/dev/null &&
	"$IMG" create --size 32M b.img >/dev/null &&
	truncate -s 16M p.img &&
	tgtd_start B && target_new B 1 && lun_new B 1 1 "$TRASH/b.img" rdwr &&
	tgtd_start A && target_new A 1 && target_new A 2 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);leg_timeout=$LEG_TIMEOUT" &&
	lun_new A 2 1 "$TRASH/p.img" lunlink &&
	wait_for 60 leg_is up
'

# Three regions, apart, without FUA: the leg holds them in its cache only
# until a SYNCHRONIZE CACHE, and the mirror counts them as its unflushed.
LBAS="1024 4096 20480"
write_three() {
	for lba in $LBAS; do
		head -c 65536 /dev/urandom >w$lba &&
		"$IO" "$(url A 1 1)" write $lba w$lba || return 1
	done
}

# each copy, read through its own tgtd, holds what was written (B's LUN is
# the whole image file: the data starts where its superblock says)
both_hold_three() {
	for lba in $LBAS; do
		"$IO" "$(url A 1 1)" read $lba 128 ra$lba && test_cmp w$lba ra$lba &&
		"$IO" "$(url B 1 1)" read $(($(data_lba b.img) + lba)) 128 rb$lba &&
		test_cmp w$lba rb$lba ||
		return 1
	done
}

test_expect_success 'writes to the mirrored LUN, not flushed' '
	write_three
'

# The bound on the delete: the close waits for the leg's flush a few ms
# at most (never leg_timeout), and otherwise for the local disk's metadata
# writes (a few KiB, through the engine); the rest is tgtadm's own round
# trip.  1 s is far above that on a loaded machine and far below
# leg_timeout, so waiting for the leg cannot pass.
# start_reader: read the plain LUN in a loop (iscsi-io read-latency),
# each read's latency to lat, until stop_reader
start_reader() {
	rm -f stop lat
	ISCSI_IO_STOP_FILE="$TRASH/stop" "$IO" "$(url A 2 1)" read-latency 0 8 >lat 2>lat.err &
	reader=$!
}
stop_reader() { touch stop && wait $reader; }

# timed_with_b_stopped CMD...: with the plain LUN read in a loop and tgtd
# B stopped (SIGSTOP), run CMD: T0 and T1 (us) around it, RC its status;
# then B goes on, and N reads of the plain LUN overlapped [T0, T1], the
# worst of them taking WORST us.  Fails if the reader, the stop or RC did.
timed_with_b_stopped() {
	start_reader
	if wait_for 10 grep -q "^read " lat && kill -STOP $B_PID; then
		t0=$(now_us)
		"$@"
		rc=$? t1=$(now_us)
		echo "$t0 $t1" >window	# for a look with --keep
		sleep 0.3		# reads after it too
	else
		rc=stop
	fi
	stop_reader
	rrc=$?
	cont_b
	test "$rc" = 0 && test $rrc = 0 &&
	worst_overlapping lat $t0 $t1 >worst && read n worst <worst
}

test_expect_success 'delete the mirrored LUN with its leg stopped: the plain LUN is served meanwhile, the delete is quick' '
	timed_with_b_stopped tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1 &&
	say "the delete took $(( (t1 - t0) / 1000 )) ms (leg_timeout=$LEG_TIMEOUT s);" \
	    "$n read(s) of the plain LUN overlapped it, the worst took $(( worst / 1000 )) ms;" \
	    "all reads: $(tail -n 1 lat)" &&
	test $(( (t1 - t0) / 1000 )) -lt $DELETE_BOUND_MS &&
	test "$n" -ge 1 && test "$worst" -lt 100000
'

test_expect_success 'the closed image records the regions the leg took unflushed' '
	test "$(json a.img state)" = closed &&
	test "$(json a.img dirty_regions)" = 3 &&
	test "$(json a.img bitmap_generation)" != 0000000000000000 &&
	test "$(json a.img bitmap_generation)" = "$(json b.img generation)"
'

test_expect_success 'served again with the leg running: exactly those regions are resynced, and both copies are the same' '
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);leg_timeout=$LEG_TIMEOUT" &&
	wait_for 60 leg_is up &&
	leg1_is joined map && leg1_is resync_regions 3 && leg1_is resyncs 1 &&
	leg1_is resync_bytes 196608 &&
	both_hold_three &&
	data_of 0 65536 a.img >all-a && data_of 0 65536 b.img >all-b && test_cmp all-a all-b
'

# A leg failing for the first time: the write it hangs waits leg_timeout,
# then the leg is dropped and the volume takes a new generation (its
# superblock, then the map, on this copy's disk before the write is
# acknowledged).  Those writes go through the engine: the loop goes on.

test_expect_success 'the mirrored LUN served again with leg_timeout=2' '
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);leg_timeout=2" &&
	wait_for 30 leg_is up
'

test_expect_success 'a write the stopped leg does not answer: the LUN degrades, the plain LUN is served meanwhile' '
	gen=$(json a.img generation) &&
	test "$(json a.img bitmap_generation)" = 0000000000000000 &&
	timed_with_b_stopped "$IO" "$(url A 1 1)" write 8192 w1024 &&
	say "the write took $(( (t1 - t0) / 1000 )) ms (leg_timeout=2 s);" \
	    "$n read(s) of the plain LUN overlapped it, the worst took $(( worst / 1000 )) ms" &&
	test "$n" -ge 1 && test "$worst" -lt 100000 &&
	test "$(json a.img state)" = open &&
	test "$(json a.img bitmap_generation)" = "$gen" &&
	test "$(json a.img generation)" != "$gen" &&
	test "$(json a.img dirty_regions)" = 1 &&
	wait_for 60 leg1_is resyncs 1 && leg1_is resync_regions 1 &&
	leg1_is resync_bytes 65536 &&
	wait_for 10 leg_is up &&
	"$IO" "$(url B 1 1)" read $(($(data_lba b.img) + 8192)) 128 rb && test_cmp w1024 rb
'

test_expect_success 'tgtd A is alive' '
	tgtd_alive A
'

test_done
