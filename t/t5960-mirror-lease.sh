#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='mirrored LUNs with lease=on: no write acknowledged without the write-ownership lease, none after it expires (NOT READY, TARGET PORT IN STANDBY STATE, 2/04/0B); no read served once a granted lease is gone; the legs fenced with persistent reservations, so a second primary with a higher epoch deposes the first'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# Two legs, one of each kind: C exports c.img with stock tgt's rdwr store,
# D exports d.img as a lunlink LUN with raw=on (as the policy daemon
# exports its legs).  A is the primary (a.img); later B, a second primary
# on its own tgtd over the same two legs (b.img, a copy of a.img).  Every
# copy is made blank, of one volume, so they start in sync.

# tgtd's messages reach its log through its logger process, after the
# answer to the command that caused them: every check of a log waits a little.
legs() { echo "mirror=$(url C 1 1);mirror=$(url D 1 1)"; }
update() {	# update NAME PARAMS: tgtadm's update of NAME's tid 1 lun 1
	tgtadm_on "$1" --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params "$2"
}
lease_is() { lun_field_is "$(status_file)" lease "$1"; }
b_status() { echo "/run/lunlink/c${B_CTL}-t1-l1.status"; }
b_log_has() { join_log "$B_LOG" | grep -qF "$1"; }
a_log_matches() { join_log "$A_LOG" | grep -qE "$1"; }
now_ms() { date +%s%3N; }
# the host's CLOCK_MONOTONIC in ms, which tgtd reads (lease=EPOCH:@DEADLINE_MS)
mono_ms() { python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000000)'; }
# the_write NAME LBA FILE: a write to NAME's LUN, its output in FILE.out
the_write() { "$IO" "$(url "$1" 1 1)" write "$2" "$3" >"$3.out" 2>&1; }
# the_read NAME LBA FILE: a read of 8 blocks of NAME's LUN into FILE, its
# output in FILE.out
the_read() { "$IO" "$(url "$1" 1 1)" read "$2" 8 "$3" >"$3.out" 2>&1; }

test_expect_success 'legs on stock rdwr and on a lunlink raw LUN; A serves a.img with lease=on and no lease yet' '
	"$IMG" create --size 32M a.img >/dev/null &&
	vol=$("$IMG" show --json a.img | jq -r .volume) &&
	"$IMG" create --size 32M --volume "$vol" c.img >/dev/null &&
	"$IMG" create --size 32M --volume "$vol" d.img >/dev/null &&
	tgtd_start C && target_new C 1 && lun_new C 1 1 "$TRASH/c.img" rdwr &&
	tgtd_start D && target_new D 1 && lun_new D 1 1 "$TRASH/d.img" lunlink raw=on &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "$(legs);lease=on" &&
	wait_for 5 lease_is none &&
	lun_field_is "$(status_file)" lease_epoch 0 &&
	sleep 1 && leg_is down &&
	grep -q "^leg 1 .*error=\"waiting for a write-ownership lease" "$(status_file)"
'

test_expect_success 'without a lease, reads are served' '
	"$IO" "$(url A 1 1)" read 0 8 r0 && test "$(wc -c <r0)" = 4096
'

test_expect_success 'without a lease, a write is not acknowledged (suspend): held until a lease comes' '
	head -c 65536 /dev/urandom >w1 &&
	{ the_write A 100 w1 & } && client=$! &&
	sleep 2 && kill -0 $client &&
	lun_field_is "$(status_file)" lease_held_writes 1 &&
	data_of 100 128 a.img >ina && ! cmp -s w1 ina &&
	update A lease=1:60000 &&
	wait $client &&
	wait_for 5 lease_is held && lun_field_is "$(status_file)" lease_epoch 1 &&
	"$SRC_DIR/target/tools/lunlink-status" >st &&
	grep "^  lease: lease=held lease_epoch=1 lease_left_ms=[0-9]* lease_held_writes=0 lease_failed_writes=0\$" st &&
	wait_for 30 eval "leg_is up && test \"\$(leg_state_in \"\$(status_file)\" 2)\" = up" &&
	wait_for 5 a_log_has "leg 1 ($(url C 1 1)): fenced for epoch 1: key 4c4c000000000001 registered" &&
	wait_for 5 a_log_has "leg 2 ($(url D 1 1)): fenced for epoch 1: key 4c4c000000000001 registered" &&
	"$IO" "$(url A 1 1)" sync &&
	data_of 100 128 a.img >ina && test_cmp w1 ina &&
	data_of 100 128 c.img >inc && test_cmp w1 inc &&
	data_of 100 128 d.img >ind && test_cmp w1 ind
'

test_expect_success 'a higher epoch fences again; a lower one is refused, named' '
	mark && update A lease=3:60000 &&
	wait_for 5 new_log_has "leg 1 ($(url C 1 1)): fenced for epoch 3: key 4c4c000000000003 registered, WRITE EXCLUSIVE - REGISTRANTS ONLY reservation held, 0 other key(s) preempted" &&
	wait_for 5 new_log_has "leg 2 ($(url D 1 1)): fenced for epoch 3" &&
	test_must_fail update A lease=2:60000 &&
	wait_for 5 a_log_has "lease=2:60000 refused: epoch 2 is lower than this LUN'"'"'s epoch 3" &&
	test_must_fail update A lease=0:60000 &&
	wait_for 5 a_log_has "lease='"'"'0:60000'"'"' is not EPOCH:VALID_MS" &&
	wait_for 3 lun_field_is "$(status_file)" lease_epoch 3 &&
	head -c 4096 /dev/urandom >w2 && the_write A 300 w2
'

test_expect_success 'lease=EPOCH:VALID_MS:GENERATION: a write of a generation other than the one given waits; the given one lets it go' '
	mark && update A lease=3:60000:0000000000000001 &&
	wait_for 3 lun_field_is "$(status_file)" lease_generation 0000000000000001 &&
	head -c 4096 /dev/urandom >w3 &&
	{ the_write A 400 w3 & } && client=$! &&
	sleep 2 && kill -0 $client &&
	wait_for 3 lun_field_is "$(status_file)" lease_held_writes 1 &&
	gen=$(lun_field "$(status_file)" generation) && test -n "$gen" &&
	wait_for 5 new_log_has "lease: generation $gen is not confirmed yet (the manager recorded 0000000000000001): its writes wait until it is" &&
	update A "lease=3:60000:$gen" &&
	wait $client &&
	wait_for 5 new_log_has "lease: generation $gen is the one the manager recorded: writes of it are acknowledged" &&
	wait_for 3 lun_field_is "$(status_file)" lease_generation "$gen" &&
	test_must_fail update A lease=3:60000:12 &&
	wait_for 5 a_log_has "lease='"'"'3:60000:12'"'"' is not EPOCH:VALID_MS[:GENERATION]" &&
	update A lease=3:60000 &&
	wait_for 3 eval "! grep -q lease_generation= \"\$(status_file)\"" &&
	head -c 4096 /dev/urandom >w4 && the_write A 401 w4
'

test_expect_success 'a leg whose connection drops is fenced again on its new login (stock tgt: a new registrant, with the same key)' '
	sid=$(tgtadm_on C --lld iscsi --mode target --op show | sed -n "s/^ *I_T nexus: \([0-9]*\)$/\1/p" | head -1) &&
	test -n "$sid" && mark &&
	tgtadm_on C --lld iscsi --mode conn --op delete --tid 1 --sid "$sid" --cid 0 &&
	wait_for 20 new_log_has "leg 1 ($(url C 1 1)): fenced for epoch 3" &&
	wait_for 5 new_log_has "leg 1 ($(url C 1 1)): its reservation was held by an older login of this mirror under the same key" &&
	wait_for 30 leg_is up &&
	head -c 4096 /dev/urandom >w3 && the_write A 400 w3 &&
	data_of 400 8 c.img >inc && test_cmp w3 inc
'

# tgt deletes no LUN with a command in flight: a held write is failed after
# 20 s (before a Linux initiator's 30 s command timeout), not held for ever.
test_expect_success 'released, a read waits as a write does (suspend), and goes on when a lease comes' '
	update A lease=release && wait_for 3 lease_is none &&
	{ the_read A 400 r1 & } && reader=$! &&
	sleep 1 && kill -0 $reader &&
	wait_for 3 lun_field_is "$(status_file)" lease_held_writes 1 &&
	wait_for 5 a_log_has "reads wait for the lease" &&
	update A lease=3:60000 && wait $reader &&
	data_of 400 8 a.img >ina && test_cmp ina r1
'

test_expect_success 'released, a write and a read wait, and fail after 20 s without a lease; the LUN can then be deleted' '
	update A lease=release && wait_for 3 lease_is none &&
	head -c 4096 /dev/urandom >w4 &&
	t0=$(now_ms) &&
	{ the_write A 500 w4 & } && client=$! &&
	{ the_read A 500 r4 & } && reader=$! &&
	sleep 1 && kill -0 $client && kill -0 $reader &&
	test_must_fail tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1 &&
	test_must_fail wait $client && t1=$(now_ms) &&
	test_must_fail wait $reader &&
	echo "the held write failed after $((t1 - t0)) ms" &&
	test_grep "sense 2/04/0b" w4.out && test_grep "sense 2/04/0b" r4.out &&
	test $((t1 - t0)) -ge 19000 && test $((t1 - t0)) -le 23000 &&
	wait_for 5 a_log_has "it waited 20000 ms for a write-ownership lease" &&
	wait_for 5 a_log_has "a read at offset 256000 fails (NOT READY, TARGET PORT IN STANDBY STATE): it waited 20000 ms" &&
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1
'

# lease_loss=fail: the same images, the LUN made again.
test_expect_success 'lease_loss=fail: without a lease a write fails at once with NOT READY, TARGET PORT IN STANDBY STATE (2/04/0B)' '
	lun_new A 1 1 "$TRASH/a.img" lunlink "$(legs);lease=on;lease_loss=fail;leg_timeout=3" &&
	wait_for 5 lease_is none &&
	head -c 4096 /dev/urandom >w5 &&
	test_must_fail the_write A 600 w5 && test_grep "sense 2/04/0b" w5.out &&
	wait_for 3 lun_field_is "$(status_file)" lease_failed_writes 1 &&
	wait_for 5 a_log_has "a write at offset 307200 fails (NOT READY, TARGET PORT IN STANDBY STATE): this node holds no write-ownership lease (lease_loss=fail)" &&
	the_read A 600 r5 && data_of 600 8 a.img >ina && test_cmp ina r5
'

# Forty other initiators registered on leg C (each iscsi-io login is a new
# I_T nexus, and tgt keeps its registration after the logout), besides the
# reservation of A's deleted LUN: the fence preempts them all, in two
# rounds of READ KEYS, and a nexus that is not registered cannot write.
test_expect_success 'the fence preempts every other key on a leg (41, in rounds); an unregistered initiator cannot write the leg' '
	i=1 && while [ $i -le 40 ]; do
		"$IO" "$(url C 1 1)" pr-register $((0x1000 + i)) || return 1; i=$((i + 1))
	done &&
	"$IO" "$(url C 1 1)" pr-keys >keys-before &&
	test "$(grep -c "^key " keys-before)" = 41 &&
	grep -q "^reservation 4c4c000000000003 type 5$" keys-before &&
	mark && update A lease=4:60000 &&
	wait_for 30 eval "leg_is up && test \"\$(leg_state_in \"\$(status_file)\" 2)\" = up" &&
	wait_for 5 new_log_has "leg 1 ($(url C 1 1)): fenced for epoch 4: key 4c4c000000000004 registered, WRITE EXCLUSIVE - REGISTRANTS ONLY reservation held, 41 other key(s) preempted" &&
	"$IO" "$(url C 1 1)" pr-keys >keys && cat keys &&
	test "$(grep -c "^key " keys)" = 1 && grep -q "^key 4c4c000000000004$" keys &&
	grep -q "^reservation 4c4c000000000004 type 5$" keys &&
	head -c 4096 /dev/urandom >f1 &&
	test_must_fail "$IO" "$(url C 1 1)" write 900 f1 2>err && test_grep "status 0x18" err &&
	data_of 900 8 c.img >inc && ! cmp -s f1 inc
'

test_expect_success 'a lease that expires stops acknowledging writes within its VALID_MS; a read fails then too (lease_loss=fail)' '
	update A lease=4:60000 &&
	wait_for 30 eval "leg_is up && test \"\$(leg_state_in \"\$(status_file)\" 2)\" = up" &&
	head -c 4096 /dev/urandom >w6 &&
	valid=1500 && t0=$(now_ms) && update A lease=4:$valid && t1=$(now_ms) &&
	n=0 last_start=0 &&
	while :; do
		s=$(now_ms)
		the_write A 700 w6 || break
		last_start=$s n=$((n + 1))
		test $((s - t0)) -lt 20000 || break
	done &&
	t2=$(now_ms) && test_grep "sense 2/04/0b" w6.out &&
	echo "lease of $valid ms granted at +0 (tgtadm took $((t1 - t0)) ms): $n writes acknowledged, the last one sent at +$((last_start - t0)) ms; the first refused one answered at +$((t2 - t0)) ms, $((t2 - t0 - valid)) ms after the deadline" &&
	test $n -gt 0 &&
	test $((last_start - t1)) -lt $valid &&
	test $((t2 - t0)) -lt $((valid + 1000)) &&
	wait_for 3 lease_is expired &&
	wait_for 5 a_log_has "lease: epoch 4 expired" &&
	test_must_fail the_read A 700 r6 && test_grep "sense 2/04/0b" r6.out &&
	wait_for 5 a_log_has "a read at offset 358400 fails (NOT READY, TARGET PORT IN STANDBY STATE): its write-ownership lease expired (lease_loss=fail)"
'

# The agent's form: the deadline itself, on CLOCK_MONOTONIC, so a push
# that reaches tgtd late cannot stretch it.  The LUN has lease_loss=fail
# (made again above): a write without a lease fails at once.
test_expect_success 'lease=EPOCH:@DEADLINE_MS holds until that instant of CLOCK_MONOTONIC; one already past (a late push) expires the lease at once' '
	update A lease=4:60000 &&
	wait_for 30 eval "leg_is up && test \"\$(leg_state_in \"\$(status_file)\" 2)\" = up" &&
	head -c 4096 /dev/urandom >w8 &&
	d=$(( $(mono_ms) + 2500 )) && update A "lease=4:@$d" &&
	wait_for 3 eval "test \"\$(lun_field \"\$(status_file)\" lease_left_ms)\" -le 2500" &&
	the_write A 720 w8 && data_of 720 8 a.img >ina && test_cmp w8 ina &&
	while [ "$(mono_ms)" -le "$d" ]; do sleep 0.1; done &&
	test_must_fail the_write A 720 w8 && test_grep "sense 2/04/0b" w8.out &&
	wait_for 3 lease_is expired &&
	update A "lease=4:@$(( $(mono_ms) + 60000 ))" && wait_for 3 lease_is held &&
	the_write A 721 w8 &&
	mark && past=$(( $(mono_ms) - 5000 )) && update A "lease=4:@$past" &&
	wait_for 3 lease_is expired &&
	wait_for 5 new_log_has "lease: lease=4:@$past came " &&
	wait_for 5 new_log_has "ms after its deadline (a push that late: tgtd or the agent busy): epoch 4 is expired at once, and writes are failed (lease_loss=fail) until a lease comes" &&
	test_must_fail the_write A 722 w8 && test_grep "sense 2/04/0b" w8.out &&
	far=$(( $(mono_ms) + 86400000 + 60000 )) &&
	test_must_fail update A "lease=4:@$far" &&
	wait_for 5 new_log_has "lease=4:@$far refused: its deadline is " &&
	wait_for 3 lease_is expired &&
	update A "lease=4:@$(( $(mono_ms) + 60000 ))" && wait_for 3 lease_is held &&
	the_write A 722 w8
'

# A write sent under the lease, whose leg then hangs (SIGSTOP) past the
# lease: the leg is dropped at leg_timeout, after the deadline, and the
# write, degraded, would be acknowledged then: the check at the
# acknowledgement fails it instead (lease_loss=fail).
cont_d() { [ -z "${D_PID:-}" ] || kill -CONT "$D_PID" 2>/dev/null || true; }
test_atexit cont_d
test_expect_success 'a write whose leg hangs past the lease is not acknowledged degraded: it fails at its acknowledgement' '
	update A lease=4:60000 &&
	wait_for 30 eval "leg_is up && test \"\$(leg_state_in \"\$(status_file)\" 2)\" = up" &&
	head -c 4096 /dev/urandom >w7 && the_write A 800 w7 &&
	kill -STOP $D_PID && mark &&
	t0=$(now_ms) && update A lease=4:1000 &&
	test_must_fail the_write A 800 w7 && t1=$(now_ms) && cont_d &&
	echo "the write failed $((t1 - t0)) ms after a 1000 ms lease was granted (leg_timeout=3: libiscsi counts it in whole seconds, so 2 to 3 s)" &&
	test_grep "sense 2/04/0b" w7.out &&
	test $((t1 - t0)) -ge 1900 &&
	wait_for 5 new_log_has "leg 2 ($(url D 1 1)): dropped: a write timed out after leg_timeout=3 s" &&
	wait_for 5 new_log_has "lease: epoch 4 expired" &&
	wait_for 5 new_log_has "write of 4096 bytes at offset 409600 failed" &&
	update A lease=4:60000 &&
	# back up after the drop: the log says so; the status file can still
	# show the "up" of before the drop, and B below must meet a clean A
	wait_for 30 new_log_has "leg 2 ($(url D 1 1)): state syncing -> up" &&
	wait_for 5 eval "test \"\$(leg_state_in \"\$(status_file)\" 2)\" = up"
'

# B: a second primary over the same legs.  b.img is a.img copied while A
# serves it (A is idle then: everything it acknowledged is on both).
test_expect_success 'a second primary B with a higher epoch fences the legs: A is deposed (it refuses reads and writes), B writes on' '
	update A lease=4:120000 &&
	head -c 65536 /dev/urandom >x1 && the_write A 1000 x1 && "$IO" "$(url A 1 1)" sync &&
	cp a.img b.img && mark &&
	tgtd_start B && target_new B 1 &&
	lun_new B 1 1 "$TRASH/b.img" lunlink "$(legs);lease=on" &&
	update B lease=5:120000 &&
	wait_for 30 eval "test \"\$(leg_state_in \"\$(b_status)\" 1)\" = up && test \"\$(leg_state_in \"\$(b_status)\" 2)\" = up" &&
	wait_for 5 b_log_has "leg 1 ($(url C 1 1)): fenced for epoch 5: key 4c4c000000000005 registered, WRITE EXCLUSIVE - REGISTRANTS ONLY reservation held, 1 other key(s) preempted" &&
	head -c 4096 /dev/urandom >z1 &&
	test_must_fail the_write A 2000 z1 && test_grep "sense 2/04/0b" z1.out &&
	wait_for 5 a_log_matches "leg [12] \(iscsi://[^)]*\): answered a write with RESERVATION CONFLICT: a newer primary holds this leg.s reservation, so this mirror is deposed \(epoch 4\)" &&
	wait_for 3 lease_is deposed &&
	head -c 4096 /dev/urandom >z2 &&
	test_must_fail the_write A 2100 z2 && test_grep "sense 2/04/0b" z2.out &&
	test_must_fail the_read A 1000 r7 && test_grep "sense 2/04/0b" r7.out &&
	head -c 65536 /dev/urandom >y1 && the_write B 3000 y1 && "$IO" "$(url B 1 1)" sync &&
	head -c 4096 /dev/urandom >y2 && the_write B 2000 y2 &&
	lun_field_is "$(b_status)" lease held &&
	! new_log_has "dropped:" && ! new_log_has "degraded:" &&
	grep "^leg 1 .*error=\"deposed: it answered a write with RESERVATION CONFLICT" "$(status_file)"
'

# A made owner again with a higher epoch: its fence preempts B's key (B is
# deposed at its next write), and its probe finds the legs newer than its
# copy (B's first write started a generation of B's term): refused, so the
# writes A sent after B's preemption (on its own copy only) are never
# taken for in sync.
test_expect_success 'a deposed A takes no lease of its old epoch; a higher one lifts it: it fences B off, and finds the legs newer than its copy' '
	test_must_fail update A lease=4:60000 &&
	wait_for 5 a_log_has "this LUN was deposed under epoch 4" &&
	mark && update A lease=6:60000 && wait_for 3 lease_is held &&
	wait_for 30 eval "test \"\$(leg_state_in \"\$(status_file)\" 1)\" = refused && test \"\$(leg_state_in \"\$(status_file)\" 2)\" = refused" &&
	wait_for 5 new_log_has "leg 1 ($(url C 1 1)): fenced for epoch 6: key 4c4c000000000006 registered, WRITE EXCLUSIVE - REGISTRANTS ONLY reservation held, 1 other key(s) preempted" &&
	wait_for 5 new_log_has "leg 1 ($(url C 1 1)): refused: the leg is newer than this copy" &&
	wait_for 5 new_log_has "leg 2 ($(url D 1 1)): refused: the leg is newer than this copy" &&
	head -c 4096 /dev/urandom >z3 &&
	test_must_fail the_write B 2200 z3 && test_grep "sense 2/04/0b" z3.out &&
	wait_for 3 lun_field_is "$(b_status)" lease deposed &&
	wait_for 5 b_log_has "answered a write with RESERVATION CONFLICT: a newer primary holds this leg"
'

test_expect_success 'each leg alone holds B'"'"'s writes and none of A'"'"'s made after B fenced them' '
	tgtd_stop A && tgtd_stop B && tgtd_stop C && tgtd_stop D &&
	for leg in c.img d.img; do
		data_of 1000 128 $leg >got && test_cmp x1 got &&
		data_of 3000 128 $leg >got && test_cmp y1 got &&
		data_of 2000 8 $leg >got && test_cmp y2 got &&
		data_of 2100 8 $leg >got && ! cmp -s z2 got &&
		data_of 2200 8 $leg >got && ! cmp -s z3 got || return 1
	done
'

test_done
