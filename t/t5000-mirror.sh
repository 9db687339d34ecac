#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='mirrored LUNs: every write on every copy, degraded writes, resync of the dirty regions only'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# Node B exports its copy with stock tgt's rdwr store; node A serves the
# mirrored LUN: its own copy plus B's, as leg 1.

start_leg() {
	TGTD_PORT=${B_PORT:-} tgtd_start B &&
	target_new B 1 && lun_new B 1 1 "$TRASH/b.img" rdwr
}

# fault WHAT: fault injection on A's LUN (none, read, write, meta-write...)
fault() {
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params "fault=$1"
}

# write_spaced N FILE: FILE to A's LUN at LBAs 0, 256, 512... (N writes:
# every other 64 KiB region, none adjacent)
write_spaced() {
	i=0
	while [ $i -lt "$1" ]; do
		"$IO" "$(url A 1 1)" write $((i * 256)) "$2" >/dev/null || return 1
		i=$((i + 1))
	done
}

# local_is KEY N: the status file's line about A's own copy says KEY=N
local_is() { test "$(local_field_in "$(status_file)" "$1")" = "$2"; }
# local_above KEY N: it says more than N
local_above() { test "$(local_field_in "$(status_file)" "$1")" -gt "$2"; }

test_expect_success 'two fresh copies, a leg node and a primary' '
	"$IMG" create --size 32M a.img >/dev/null &&
	"$IMG" create --size 32M b.img >/dev/null &&
	start_leg &&
	tgtd_start A &&
	target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1)" &&
	wait_for 5 test -s "$(status_file)" &&
	test "$(grep -c "^leg " "$(status_file)")" = 1
'

test_expect_success 'the fresh leg gets everything, then is up' '
	wait_for 30 leg_is up &&
	"$SRC_DIR/target/tools/lunlink-status" >status &&
	test_grep "leg 1: url=$(url B 1 1) state=up out_of_date=0" status &&
	leg1_is verdict fresh && leg1_is joined full && leg1_is resync_regions 512 &&
	leg1_is resyncs 1 && leg1_is resync_bytes 33554432 && leg1_is drops 0 &&
	"$IMG" show --json b.img | grep -q "\"generation\":\"$("$IMG" show --json a.img | sed -n "s/.*\"generation\":\"\([0-9a-f]*\)\".*/\1/p")\""
'

test_expect_success 'a write reaches both copies before it is acknowledged' '
	head -c 65536 /dev/urandom >data &&
	"$IO" "$(url A 1 1)" write 100 data &&
	"$IO" "$(url A 1 1)" sync &&
	data_of 100 128 a.img >ina && test_cmp data ina &&
	data_of 100 128 b.img >inb && test_cmp data inb
'

# The mirror's own metadata (activity log, superblock, dirty-region map) on
# a disk that takes data writes but not those: no write is acknowledged
# whose record is not on disk.
test_expect_success 'the activity log cannot be written: a write to a new extent fails, written nowhere' '
	data_of 20000 8 a.img >before-a && data_of 20000 8 b.img >before-b &&
	fault meta-write &&
	head -c 4096 /dev/urandom >al1 &&
	test_must_fail "$IO" "$(url A 1 1)" write 20000 al1 >out && test_grep "sense 3/0c/00" out &&
	a_log_has "cannot write the activity log: Input/output error; the writes waiting for it fail (MEDIUM ERROR, WRITE ERROR) unwritten, and the next writes log their extents again" &&
	data_of 20000 8 a.img >now-a && test_cmp before-a now-a &&
	data_of 20000 8 b.img >now-b && test_cmp before-b now-b &&
	wait_for 5 local_is unrecorded_writes 1 &&
	local_is metadata_write_errors 1 &&
	fault none &&
	"$IO" "$(url A 1 1)" write 20000 al1 &&
	"$IO" "$(url A 1 1)" sync &&
	data_of 20000 8 a.img >now-a && test_cmp al1 now-a &&
	data_of 20000 8 b.img >now-b && test_cmp al1 now-b &&
	a_log_has "metadata is written again (1 failed write(s) of it since it was opened)" &&
	local_is metadata_write_errors 1 && local_is unrecorded_writes 1
'

test_expect_success 'with the leg killed, writes go on, degraded' '
	gen0=$(lun_field "$(status_file)" generation) && test -n "$gen0" &&
	kill -9 $B_PID && wait $B_PID 2>/dev/null
	B_PID= &&
	head -c 512 /dev/urandom >x1 && head -c 512 /dev/urandom >x2 && head -c 512 /dev/urandom >x3 &&
	"$IO" "$(url A 1 1)" write 0 x1 &&
	"$IO" "$(url A 1 1)" write 1000 x2 &&
	"$IO" "$(url A 1 1)" write 5000 x3 &&
	wait_for 10 leg_is down &&
	wait_for 5 lun_field_is "$(status_file)" bitmap_generation "$gen0" &&
	! lun_field_is "$(status_file)" generation "$gen0" &&
	leg1_is drops 1 &&
	join_log "$A_LOG" >joined &&
	grep -E "leg 1 .*: dropped: (the connection broke \(closed or reset from the leg.s side: its tgtd stopped, its node failed, or the network is down\)|the connection was lost during a write)" joined &&
	wait_for 5 a_log_has "cannot connect: Failed to connect to iSCSI socket. iscsi_service: socket error Connection refused(111)." &&
	wait_for 5 grep -q "^leg 1 .* state=down .*error=\"Failed to connect to iSCSI socket\. iscsi_service: socket error Connection refused(111)\.\"" "$(status_file)" &&
	leg1_is drops 1 &&
	join_log "$A_LOG" >joined &&
	! grep -E "iscsi_service_reconnect_if_loggedin|iSCSI socket\. *(;|\$)" joined
'

test_expect_success 'the leg returns: only the three regions written meanwhile are copied' '
	start_leg &&
	wait_for 60 leg_is up &&
	leg1_is verdict map && leg1_is joined map && leg1_is resync_regions 3 &&
	leg1_is resyncs 2 && leg1_is resync_bytes 196608 &&
	data_of 0 1 b.img >b0 && test_cmp x1 b0 &&
	data_of 1000 1 b.img >b1 && test_cmp x2 b1 &&
	data_of 5000 1 b.img >b2 && test_cmp x3 b2
'

test_expect_success 'a failing local read is served from the leg, with the right data' '
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params fault=read &&
	"$IO" "$(url A 1 1)" read 100 128 back && test_cmp data back &&
	wait_for 5 local_is read_errors 1 &&
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params fault=none
'

test_expect_success 'the dirty-region map cannot be written: a write the leg missed fails, and its region is still resynced' '
	kill -9 $B_PID && wait $B_PID 2>/dev/null
	B_PID= &&
	wait_for 10 leg_is down &&
	fault meta-write &&
	head -c 512 /dev/urandom >m1 &&
	test_must_fail "$IO" "$(url A 1 1)" write 7000 m1 >out && test_grep "sense 3/0c/00" out &&
	wait_for 5 local_is unrecorded_writes 2 &&
	test "$(local_field_in "$(status_file)" metadata_write_errors)" -ge 2 &&
	fault none &&
	head -c 512 /dev/urandom >m2 &&
	"$IO" "$(url A 1 1)" write 7200 m2 &&
	start_leg &&
	wait_for 60 leg_is up &&
	leg1_is joined map && leg1_is resync_regions 2 && leg1_is resync_bytes 131072 &&
	data_of 6912 128 a.img >ra && data_of 6912 128 b.img >rb && test_cmp ra rb &&
	data_of 7200 1 b.img >rb && test_cmp m2 rb
'

# Every write the initiator saw acknowledged must be on every copy, each
# read alone (opened by itself as a plain lunlink LUN on another tgtd).
check_copies() {
	check_alone "$1" 0 "" "$TRASH/a.img" "$TRASH/b.img"
}

test_expect_success 'kill -9 the leg in the middle of a stream of writes: nothing acknowledged is lost' '
	stream_killing B "$(url A 1 1)" 6000 20000 1500 acked1 &&
	test "$(grep -c ^acked acked1)" -eq 6000 &&
	wait_for 10 leg_is down &&
	start_leg &&
	wait_for 60 leg_is up &&
	check_copies acked1
'

test_expect_success 'kill -9 the primary during writes: the activity log bounds the resync, nothing acknowledged is lost' '
	{ stream_killing A "$(url A 1 1)" 20000 40000 1000 acked2; true; } &&
	acked_at_least acked2 1000 && test -z "$A_PID" &&
	echo "acknowledged before the crash: $(grep -c ^acked acked2)" &&
	TGTD_PORT=$A_PORT tgtd_start A &&
	target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1)" &&
	test_grep "was not closed cleanly .*: the [0-9]* extent(s) of 4194304 bytes in its activity log will be resynced" "$A_LOG" &&
	wait_for 5 test -s "$(status_file)" &&
	extents=$(local_field_in "$(status_file)" al_recovered) &&
	echo "extents in the activity log: $extents (of 8)" && test "$extents" -gt 0 && test "$extents" -lt 8 &&
	wait_for 60 leg_is up &&
	leg1_is joined map && leg1_is resyncs 1 && leg1_is resync_regions $((extents * 64)) &&
	test $(( $(leg1 resync_bytes) >> 16 )) = $((extents * 64)) &&
	check_copies acked2
'

# Split brain: the volume changes on both sides independently.  A goes on
# without its leg; meanwhile B's copy is promoted elsewhere (served as a
# mirrored primary whose own leg is dead) and written to.
test_expect_success 'a split brain is refused, naming both generations and the cure' '
	kill -9 $B_PID && B_PID= &&
	"$IO" "$(url A 1 1)" write 0 x2 &&
	wait_for 10 leg_is down &&
	gen_b=$("$IMG" show --json b.img | jq -r .generation) &&
	tgtd_start D &&
	target_new D 1 &&
	lun_new D 1 1 "$TRASH/b.img" lunlink "mirror=iscsi://127.0.0.1:1/iqn.2026-11.org.lunlink:nowhere/1" &&
	"$IO" "$(url D 1 1)" write 0 x3 &&
	d_status=/run/lunlink/c${D_CTL}-t1-l1.status &&
	wait_for 5 lun_field_is "$d_status" bitmap_generation "$gen_b" &&
	test "$(lun_field "$d_status" generation)" != "$gen_b" &&
	tgtd_stop D &&
	test "$("$IMG" show --json b.img | jq -r .bitmap_generation)" = "$gen_b" &&
	start_leg &&
	wait_for 30 leg_is refused &&
	leg1_is verdict split && leg1_is joined none &&
	test_grep "split brain: the leg has generation [0-9a-f]*, this copy [0-9a-f]* (dirty-region map against [0-9a-f]*): both changed on their own, so nothing is resynced. To keep this copy and overwrite the leg: tgtadm --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params resolve=discard-leg" "$A_LOG" &&
	data_of 0 1 b.img >b0 && test_cmp x3 b0
'

test_expect_success 'resolve=discard-leg overwrites the leg with this copy' '
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params resolve=discard-leg &&
	wait_for 60 leg_is up &&
	data_of 0 65536 a.img >all-a && data_of 0 65536 b.img >all-b && test_cmp all-a all-b
'

test_expect_success 'resolve=discard-leg with no split brain is refused' '
	test_must_fail tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 \
		--params resolve=discard-leg &&
	test_grep "no leg of this LUN is in split brain" "$A_LOG"
'

test_expect_success 'verify finds a region corrupted on purpose, names it, and repairs it' '
	head -c 4096 /dev/urandom >junk &&
	dd if=junk of=b.img bs=4096 seek=$(( ($(data_lba b.img) * 512 + 5 * 65536) / 4096 + 3 )) conv=notrunc 2>/dev/null &&
	resyncs=$(leg1 resyncs) &&
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params verify=start &&
	wait_for 60 leg1_is verifies 1 &&
	test_grep "verify: region 5 (bytes 327680-393215) differs from this copy" "$A_LOG" &&
	leg1_is verified 512 && leg1_is verify_differed 1 &&
	wait_for 30 leg1_is resyncs $((resyncs + 1)) && leg_is up &&
	leg1_is resync_regions 1 && leg1_is resync_bytes 65536 &&
	data_of 0 65536 a.img >all-a && data_of 0 65536 b.img >all-b && test_cmp all-a all-b
'

# Failed local writes.  A's status file says how many of its regions are
# stale (lacking a write its leg took), and the superblock lists them.
stale_in_sb() { "$IMG" show --json "$1" | sed -n "s/.*\"stale_regions\":\([0-9a-z\"]*\).*/\1/p"; }

test_expect_success 'a failing local write is acknowledged (the leg has it), and its regions are stale in the superblock before that' '
	wait_for 30 leg_is up && stale_is 0 &&
	fault write &&
	head -c 65536 /dev/urandom >w1 &&
	"$IO" "$(url A 1 1)" write 3000 w1 &&
	test "$(stale_in_sb a.img)" = 2 &&
	data_of 3000 128 b.img >inb && test_cmp w1 inb &&
	data_of 3000 128 a.img >ina && ! cmp -s w1 ina &&
	wait_for 5 local_is write_errors 1 &&
	"$IMG" show a.img >show && test_grep "regions 23-24 (bytes 1507328-1638399)" show
'

test_expect_success 'a stale region reads right, from the leg; it is repaired once local writes work' '
	"$IO" "$(url A 1 1)" read 3000 128 back && test_cmp w1 back &&
	wait_for 5 stale_is 2 && test "$(local_field_in "$(status_file)" write_errors)" = 1 &&
	"$SRC_DIR/target/tools/lunlink-status" >status &&
	test_grep "this copy: stale_regions=2 read_errors=0 write_errors=1" status &&
	fault none &&
	wait_for 10 stale_is 0 &&
	test "$(local_field_in "$(status_file)" repaired)" = 2 &&
	local_is repair_errors 0 &&
	data_of 3000 128 a.img >ina && test_cmp w1 ina &&
	test "$(stale_in_sb a.img)" = 0
'

test_expect_success 'a local disk that takes no write at all: a write whose stale record cannot be written fails' '
	meta0=$(local_field_in "$(status_file)" metadata_write_errors) &&
	fault write-all &&
	head -c 512 /dev/urandom >w4 &&
	test_must_fail "$IO" "$(url A 1 1)" write 4000 w4 >out && test_grep "sense 3/0c/00" out &&
	a_log_has "cannot write the superblock: Input/output error; the writes whose record it was to hold fail (MEDIUM ERROR, WRITE ERROR), and it is written again with the next" &&
	wait_for 5 local_above metadata_write_errors "$meta0" &&
	test "$(stale_in_sb a.img)" = 0 &&
	wait_for 5 stale_is 1 &&
	test "$(local_field_in "$(status_file)" unrecorded_writes)" = 1 &&
	"$IO" "$(url A 1 1)" read 4000 1 back && test_cmp w4 back &&
	fault none &&
	wait_for 10 stale_is 0 &&
	data_of 4000 1 a.img >ina && test_cmp w4 ina &&
	test "$(stale_in_sb a.img)" = 0
'

test_expect_success 'a copy with stale regions is refused alone, with the cure; forget-stale lets it be served' '
	fault write &&
	head -c 512 /dev/urandom >w2 &&
	"$IO" "$(url A 1 1)" write 6000 w2 &&
	tgtd_stop A &&
	test "$(stale_in_sb a.img)" = 1 &&
	cp a.img stale.img &&
	tgtd_start C && target_new C 1 &&
	test_must_fail lun_new C 1 1 "$TRASH/a.img" &&
	join_log "$C_LOG" >joined &&
	test_grep "refused: this copy is stale in 1 region(s): a local write failed there while its mirror.s legs took the data, or a local read failed (.lunlink-image show $TRASH/a.img. lists them). Serve it with mirror= to a leg that has them, which repairs them, or serve a leg.s copy; to serve it alone anyway, with older data there: lunlink-image forget-stale $TRASH/a.img" joined &&
	"$IMG" forget-stale stale.img >forgot && test_grep "forgot 1 stale region(s)" forgot &&
	lun_new C 1 1 "$TRASH/stale.img" &&
	tgtd_stop C
'

test_expect_success 'with no leg up, a stale region takes no partial write and gives no read; the others do' '
	kill -9 $B_PID && wait $B_PID 2>/dev/null
	B_PID= &&
	TGTD_PORT=$A_PORT tgtd_start A &&
	target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1)" &&
	wait_for 5 stale_is 1 && local_is refused_writes 0 &&
	test_must_fail "$IO" "$(url A 1 1)" write 6000 w2 >out && test_grep "sense 3/" out &&
	test_must_fail "$IO" "$(url A 1 1)" read 6000 1 back &&
	wait_for 5 local_is refused_writes 1 && local_is write_errors 0 &&
	"$IO" "$(url A 1 1)" write 9000 w2 &&
	test_must_fail "$IMG" forget-stale a.img 2>err &&
	test_grep "a.img is in use (locked): a tgtd serves it as a mirror.s primary; delete that LUN first" err &&
	test "$(stale_in_sb a.img)" = 1
'

test_expect_success 'a write that covers the stale region whole is taken, and the region is whole here again' '
	head -c 65536 /dev/urandom >wr &&
	"$IO" "$(url A 1 1)" write 5888 wr &&
	test "$(stale_in_sb a.img)" = 0 &&
	"$IO" "$(url A 1 1)" read 5888 128 back && test_cmp wr back &&
	wait_for 5 stale_is 0
'

test_expect_success 'the leg returns and gets what it missed' '
	start_leg &&
	wait_for 60 leg_is up &&
	data_of 5888 128 a.img >ina && test_cmp wr ina &&
	data_of 5888 128 b.img >inb && test_cmp wr inb &&
	data_of 9000 1 b.img >inb && test_cmp w2 inb
'

test_expect_success 'more stale ranges than the superblock holds: the copy is stale everywhere until repaired' '
	fault write &&
	head -c 512 /dev/urandom >w3 &&
	write_spaced 201 w3 &&
	wait_for 5 stale_is 201 &&
	test "$(stale_in_sb a.img)" = "\"all\"" &&
	tgtd_stop A &&
	TGTD_PORT=$A_PORT tgtd_start A &&
	target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1)" &&
	wait_for 30 stale_is 0 &&
	wait_for 30 leg_is up &&
	test "$(local_field_in "$(status_file)" repaired)" = 512 &&
	data_of 0 65536 a.img >all-a && data_of 0 65536 b.img >all-b && test_cmp all-a all-b &&
	data_of 51200 1 a.img >ina && test_cmp w3 ina
'

# A double fault: the leg returns lacking a write (W1) in a region, and a
# local write (W2) to that region fails while the leg is being resynced.
# The leg took W2 but lacks W1, this copy has W1 but not W2: acknowledging
# W2 would leave the region whole on no copy (a repair from the leg would
# lose W1).  W2 fails instead, this copy keeps the region, and the resync
# gives it to the leg.  A slow resync (16 regions before it) keeps the
# region waiting meanwhile.
test_expect_success 'a local write fails where the returning leg lacks other data: the write fails, nothing acknowledged is lost' '
	kill -9 $B_PID && wait $B_PID 2>/dev/null
	B_PID= &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);resync_rate=128K" &&
	head -c 512 /dev/urandom >d1 &&
	write_spaced 16 d1 &&
	head -c 512 /dev/urandom >w1 && head -c 512 /dev/urandom >w2 &&
	"$IO" "$(url A 1 1)" write 20480 w1 &&
	start_leg &&
	wait_for 30 leg_is syncing &&
	refused0=$(local_field_in "$(status_file)" refused_writes) &&
	fault write &&
	test_must_fail "$IO" "$(url A 1 1)" write 20488 w2 >out && test_grep "sense 3/0c/00" out &&
	fault none &&
	wait_for 5 local_is refused_writes $((refused0 + 1)) &&
	a_log_has "local write at offset 10489856 failed (Input/output error), and the legs that took it lack other data of its region (they are being resynced): the write fails (the initiator gets a write error), and this copy keeps the region" &&
	stale_is 0 && test "$(stale_in_sb a.img)" = 0 &&
	wait_for 60 leg_is up &&
	data_of 20480 128 a.img >ra && data_of 20480 128 b.img >rb && test_cmp ra rb &&
	data_of 20480 1 a.img >ina && test_cmp w1 ina
'

# A stale region is read from a leg that is being resynced, if it holds the
# region whole (the leg lacks other regions): here the leg took the write
# this copy failed (and a flush: it fails here, fault=write, but the leg
# flushed), then missed 16 other regions while it was down.
# fault=write keeps the region from being repaired meanwhile.
test_expect_success 'a stale region is read from a leg being resynced that holds it' '
	fault write &&
	head -c 512 /dev/urandom >w5 &&
	"$IO" "$(url A 1 1)" write 30000 w5 &&
	test_must_fail "$IO" "$(url A 1 1)" sync &&
	wait_for 5 stale_is 1 &&
	fault none &&
	kill -9 $B_PID && wait $B_PID 2>/dev/null
	B_PID= &&
	write_spaced 16 d1 &&
	fault write &&
	start_leg &&
	wait_for 30 leg_is syncing &&
	"$IO" "$(url A 1 1)" read 30000 1 back && test_cmp w5 back &&
	leg_is syncing &&
	fault none &&
	wait_for 60 leg_is up && wait_for 10 stale_is 0 &&
	data_of 30000 1 a.img >ina && test_cmp w5 ina
'

# The same through targets.conf and tgt-admin (single quotes: tgt-admin
# hands the value to a shell; tgt-admin -e also deletes the targets its file
# does not name: A's target 1 goes).  Node B exports a second copy as LUN 2.
test_expect_success 'a mirrored LUN from targets.conf with tgt-admin' '
	"$IMG" create --size 16M c.img >/dev/null && "$IMG" create --size 16M d.img >/dev/null &&
	lun_new B 1 2 "$TRASH/d.img" rdwr &&
	cat >targets.conf <<-EOF &&
	<target $IQN_BASE:$TEST_NAME-9>
	    <backing-store $TRASH/c.img>
	        bs-type lunlink
	        bsopts '"'"'mirror=$(url B 1 2);resync_rate=64M'"'"'
	    </backing-store>
	    initiator-address ALL
	</target>
	EOF
	TGT_IPC_SOCKET="$A_DIR/socket" tgt-admin -e -C "$A_CTL" -c "$TRASH/targets.conf" &&
	wait_for 30 grep -q "state=up" "/run/lunlink/c${A_CTL}-t2-l1.status" &&
	head -c 65536 /dev/urandom >cd &&
	"$IO" "$(url A 9 1)" write 8 cd &&
	data_of 8 128 d.img >ind && test_cmp cd ind
'

test_expect_success 'tgtd A is alive, and no leg changed state in a way the mirror forbids' '
	tgtd_alive A &&
	! a_log_has "bug: state"
'

test_done
