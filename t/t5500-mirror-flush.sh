#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='mirrored LUNs: what a leg is said to hold is on its disk: a resync ends with a flush, a clean close flushes the legs, a leg that cannot flush is not called up to date'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# Node B exports its copy through lunlink as a plain LUN over a raw file
# (r.img), so that a FUA write there covers its own blocks only, as on any
# SCSI disk (stock rdwr answers FUA with an fdatasync of the whole file,
# which would hide a missing flush), and fault=flush can make its
# SYNCHRONIZE CACHE fail.  lunlink serves a file raw when it held no
# superblock as the LUN was added; the copy is then made a fresh image by
# writing a fresh image's metadata into it through that LUN.
#
# With cachestat(2) on a disk-backed folder, the leg's dirty pages show
# whether what it took is on its disk.
META_LBAS=2048			# a 32M image's metadata: its data starts at 1 MiB

# fault_b WHAT: fault injection on B's LUN (none, flush)
fault_b() {
	tgtadm_on B --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params "fault=$1"
}

# page_cache_checked: the leg's dirty pages can be counted here; if not,
# the step says so (its other checks still run)
page_cache_checked() {
	test_have_prereq CACHESTAT && test_have_prereq DISKFS && return 0
	say "the leg's dirty pages not checked in this step: no cachestat(2), or $TRASH is on tmpfs"
	return 1
}

# leg_clean: nothing of r.img is dirty in the page cache (or no cachestat),
# within 5 s: the leg's superblock write (FUA) that follows "up" may still
# be in flight; what a missing flush leaves stays dirty for 30 s
# (vm.dirty_expire_centisecs)
leg_clean() {
	page_cache_checked || return 0
	wait_for 5 leg_has_no_dirty_page
	d=$(dirty_pages "$TRASH/r.img") && say "dirty pages of the leg's file: $d" &&
	test "$d" -eq 0
}
leg_has_no_dirty_page() { test "$(dirty_pages "$TRASH/r.img")" -eq 0; }
leg_dirty() {
	page_cache_checked || return 0
	d=$(dirty_pages "$TRASH/r.img") && say "dirty pages of the leg's file: $d" &&
	test "$d" -gt 0
}

# mark: what tgtd A logs from now on is "new"; new_log_has TEXT


TIMEOUT=3
lun_a() { lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);leg_timeout=$TIMEOUT"; }
lun_a_del() { tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1; }

if test_have_prereq CACHESTAT && test_have_prereq DISKFS; then
	say "the leg's dirty pages are checked (cachestat(2), $TRASH on a disk)"
else
	say "the leg's dirty pages are not checked: no cachestat(2), or $TRASH is on tmpfs"
fi

test_expect_success 'a leg node exporting a raw file through lunlink, made a fresh copy' '
	"$IMG" create --size 32M a.img >/dev/null &&
	"$IMG" create --size 32M fresh.img >/dev/null &&
	truncate -s "$(stat -c %s fresh.img)" r.img &&
	tgtd_start B && target_new B 1 && lun_new B 1 1 "$TRASH/r.img" lunlink &&
	! grep -q "lunlink image: volume" "$B_LOG" &&
	head -c $((META_LBAS * 512)) fresh.img >meta &&
	"$IO" "$(url B 1 1)" write 0 meta &&
	"$IO" "$(url B 1 1)" sync &&
	head -c $((META_LBAS * 512)) r.img >now && test_cmp meta now &&
	"$IMG" show r.img >show && test_grep "lunlink image" show
'

test_expect_success 'the full sync ends with a flush of the leg: it is up, nothing left dirty' '
	tgtd_start A && target_new A 1 && lun_a &&
	wait_for 30 leg_is up &&
	leg1_is joined full && leg1_is resyncs 1 && leg1_is resync_regions 512 &&
	leg1_is resync_bytes 33554432 && leg1_is resync_flushed 1 &&
	leg_clean
'

# clean_close TRIES: a write, then the LUN deleted (its leg flushed: no
# dirty page left) and served again with nothing to resync.  The close
# gives the leg's answer 20 ms (it runs in tgtd's one event loop); on a
# busy disk the leg may take longer, and then that region is resynced
# instead: tried again, up to TRIES times.
clean_close() {
	n=0
	while [ $n -lt "$1" ]; do
		n=$((n + 1))
		head -c 65536 /dev/urandom >c1 &&
		"$IO" "$(url A 1 1)" write 4096 c1 &&
		leg_dirty &&
		mark && lun_a_del &&
		leg_clean || return 1
		if new_log_has "its flush at close got no answer within 20 ms"; then
			say "try $n: the leg answered the close's flush after 20 ms"
			mark && lun_a && wait_for 30 leg1_is resyncs 1 || return 1
			continue
		fi
		! new_log_has "resynced when the LUN is served again" &&
		lun_a && wait_for 30 leg_is up &&
		leg1_is joined in-sync && leg1_is resyncs 0 &&
		data_of 4096 128 r.img >inb && test_cmp c1 inb
		return
	done
	return 1
}

test_expect_success 'a clean close flushes the leg: served again, nothing is resynced' '
	clean_close 3
'

test_expect_success 'a leg whose flush fails at close: what it took unflushed is resynced when served again' '
	head -c 65536 /dev/urandom >c2 &&
	"$IO" "$(url A 1 1)" write 8192 c2 &&
	fault_b flush &&
	mark && lun_a_del &&
	new_log_has "leg 1 ($(url B 1 1)): it answered its flush at close with sense 3/" &&
	new_log_has "; the regions it took since its last flush will be resynced when the LUN is served again" &&
	fault_b none &&
	mark && lun_a && wait_for 30 leg_is up &&
	leg1_is joined map && leg1_is resync_regions 1 && leg1_is resyncs 1 &&
	leg1_is resync_bytes 65536 && leg1_is resync_flushed 1 &&
	data_of 8192 128 r.img >inb && test_cmp c2 inb
'

# SIGSTOP: the leg node hangs with its connection open (no reset, no
# answer).  The close runs in tgtd's one event loop, so it gives the leg's
# flush a few ms (mirror_close.c), never leg_timeout: 1 s is far above the
# first, and below the second.
test_expect_success 'a leg that does not answer at close holds the close a few ms, not leg_timeout' '
	head -c 65536 /dev/urandom >c3 &&
	"$IO" "$(url A 1 1)" write 12288 c3 &&
	kill -STOP $B_PID &&
	mark && t0=$(date +%s%3N) &&
	lun_a_del
	rc=$? t1=$(date +%s%3N)
	kill -CONT $B_PID &&
	test $rc = 0 &&
	say "the close took $((t1 - t0)) ms (leg_timeout=$TIMEOUT s)" &&
	test $((t1 - t0)) -lt 1000 &&
	new_log_has "its flush at close got no answer within 20 ms (the close waits no longer for a peer); the regions it took since its last flush will be resynced" &&
	mark && lun_a && wait_for 30 leg_is up &&
	leg1_is joined map && leg1_is resync_regions 1 && leg1_is resyncs 1 &&
	data_of 12288 128 r.img >inb && test_cmp c3 inb
'

# The leg hangs while a write goes on (dropped after leg_timeout), and
# returns unable to flush: the resync copies the region, its closing flush
# fails, the leg is dropped again, not up; once it can flush, it is.
test_expect_success 'a leg that cannot flush at the end of its resync is not called up to date' '
	fault_b flush &&
	resyncs=$(leg1 resyncs) && drops=$(leg1 drops) &&
	kill -STOP $B_PID &&
	head -c 65536 /dev/urandom >c4 &&
	mark &&
	"$IO" "$(url A 1 1)" write 16384 c4
	rc=$?
	kill -CONT $B_PID &&
	test $rc = 0 &&
	wait_for 5 leg1_above drops $drops &&
	wait_for 30 new_log_has "dropped: it answered the flush that ends its resync with sense 3/" &&
	wait_for 5 leg1_above drops $((drops + 1)) &&
	leg1_is resyncs $resyncs &&
	wait_for 5 leg_not_up &&
	fault_b none &&
	wait_for 60 leg_is up &&
	leg1_is resyncs $((resyncs + 1)) && leg1_is resync_regions 1 &&
	leg1_is resync_bytes 65536 && leg1_is resync_flushed 1 &&
	data_of 16384 128 r.img >inb && test_cmp c4 inb &&
	leg_clean
'

# The activity log holds 1024 extents of 4 MiB.  An extent leaves it only
# once its writes are on stable storage on every copy (a flush since its
# last write started), or a crash could leave the copies different there
# with no log or map saying so.  A 5 GiB sparse mirrored image whose leg is
# nowhere: a 4 KiB block to each of 1100 extents on one session; the
# 1025th waits for a flush that covers the first 1024, whose pages are then
# clean (without the rule all 1100 stay dirty for 30 s).
if test_have_prereq CACHESTAT && test_have_prereq DISKFS; then
test_expect_success 'an extent leaves the activity log only flushed' '
	"$IMG" create --size 5G big.img >/dev/null &&
	lun_new A 1 2 "$TRASH/big.img" lunlink "mirror=iscsi://127.0.0.1:1/iqn.2026-11.org.lunlink:nowhere/1" &&
	head -c 4096 /dev/urandom >blk &&
	"$IO" "$(url A 1 2)" write-every 1100 8192 blk &&
	d=$(dirty_pages "$TRASH/big.img") && say "dirty pages of the image after 1100 extents: $d" &&
	test "$d" -lt 300 &&
	"$IO" "$(url A 1 2)" read 0 8 b0 && test_cmp blk b0 &&
	"$IO" "$(url A 1 2)" read $((1099 * 8192)) 8 b1 && test_cmp blk b1 &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 2
'
else
	test_skip 'an extent leaves the activity log only flushed' "no cachestat(2), or $TRASH is on tmpfs"
fi

test_expect_success 'both copies hold the same data' '
	lun_a_del &&
	data_of 0 65536 a.img >da && data_of 0 65536 r.img >db && cmp da db
'

test_expect_success 'tgtd A and B are alive' '
	tgtd_alive A && tgtd_alive B
'

test_done
