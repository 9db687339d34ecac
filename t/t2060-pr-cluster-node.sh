#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='pr=cluster, the module side: two tgtds serve LUNs of one volume whose persistent reservation state comes from the policy agent over the pr_socket protocol. A protocol test of the module: the agent end is t/helpers/pr-agent (the engine and pr_wire.c in one process, playing agent and manager), not lunlink-policyd (t3750 runs the real agents and manager)'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
. "$T_DIR/lib-pr.sh"
pr_prereqs
AGENT="$T_DIR/helpers/pr-agent"
[ -x "$AGENT" ] || skip_all "$AGENT not built (make check builds it)"
IMAGE="$SRC_DIR/target/lunlink-image"
[ -x "$IMAGE" ] || skip_all "$IMAGE not built (make builds it)"

VOL=0123456789abcdef00112233445566aa
# held TAG NODE NAME CMD...: iscsi-pr logged in, in the background, its
# command waiting for a line on the FIFO TAG.go (the session stays meanwhile:
# unit attentions are queued on it); its output in TAG.out, exit status in
# TAG.rc.  go TAG: let it run.
held() {
	local tag=$1 node=$2 name=$3
	shift 3
	rm -f "$tag.go" "$tag.out" "$tag.rc" && mkfifo "$tag.go" &&
	{ ("$PR" -w -n "$name" "$(url "$node" 1 1)" "$@" <>"$tag.go" >"$tag.out" 2>&1
	   echo $? >"$tag.rc") & } &&
	wait_for 5 grep -qx ready "$tag.out"
}
go() { echo >"$1.go" && wait_for 10 test -e "$1.rc"; }
# printed TAG EXPECTED: the held command's last line
printed() {
	[ "$(tail -n 1 "$1.out")" = "$2" ] || { echo "$1 printed: $(cat "$1.out")"; return 1; }
}
agent_log_has() { grep -qF -- "$1" agent.log; }
# acked GEN N: N connections have ACKed generation GEN; hellos N: N HELLOs
# so far (functions: wait_for runs them again and again)
acked() { test "$(grep -c "^ACK $1\$" agent.log)" = "$2"; }
hellos() { test "$(grep -c "^HELLO $VOL" agent.log)" -ge "$1"; }
# closed_more N: the agent end has seen more than N connections close
closed_more() { test "$(grep -c "^closed" agent.log)" -gt "$1"; }
# the last generation the agent end pushed
last_gen() { sed -n 's/^sent STATE \([0-9]*\) .*/\1/p' agent.log | tail -n 1; }
# the agent end, on one socket per node; control lines through a FIFO
agent_start() {
	"$AGENT" -l "$TRASH/agent.log" -c "$TRASH/agent.ctl" -V $VOL "$@" \
		"$TRASH/a.sock" "$TRASH/b.sock" 3>&- 4>&- 5>&- 6>&- &
	AGENT_PID=$!
	AGENT_PIDS="$AGENT_PIDS $AGENT_PID"
	wait_for 5 test -S "$TRASH/b.sock"
}
# (bounded: a FIFO nobody reads blocks its writer)
agent_ctl() { timeout 5 sh -c 'echo "$1" >"$2"' sh "$*" "$TRASH/agent.ctl"; }
AGENT_PIDS=
test_atexit '[ -z "$AGENT_PIDS" ] || kill -9 $AGENT_PIDS 2>/dev/null'

OPTS_A="pr=cluster;pr_socket=$TRASH/a.sock;pr_timeout=3"
OPTS_B="pr=cluster;pr_socket=$TRASH/b.sock;pr_timeout=3"

test_expect_success 'two nodes, one volume: each LUN says HELLO and ACKs the state' '
	mkfifo agent.ctl &&
	agent_start -g 10 -v 1500 &&
	"$IMAGE" create --size 16M --volume $VOL a.img >/dev/null &&
	"$IMAGE" create --size 16M --volume $VOL b.img >/dev/null &&
	tgtd_start A && target_new A 1 && lun_new A 1 1 "$TRASH/a.img" lunlink "$OPTS_A" &&
	tgtd_start B && target_new B 1 && lun_new B 1 1 "$TRASH/b.img" lunlink "$OPTS_B" &&
	wait_for 5 hellos 2 && test "$(grep -c "^HELLO $VOL 1 1\$" agent.log)" = 2 &&
	wait_for 5 acked 10 2 &&
	test_grep "persistent reservations: pr=cluster, volume $VOL" "$A_LOG"
'

test_expect_success 'pr=cluster on an image without a volume id: the LUN is refused, saying why' '
	truncate -s 16M raw.img &&
	mark "$A_LOG" &&
	test_must_fail lun_new A 1 2 "$TRASH/raw.img" lunlink "$OPTS_A" &&
	new_log_has "refused: pr=cluster needs a lunlink image: its volume id names the reservations in the cluster" "$A_LOG"
'

test_expect_success 'a registration made through A is seen by READ KEYS through B' '
	answers GOOD pr_via A $HA register 0 a1 &&
	acked 11 2 &&
	pr_via B $HB read-keys >keys && cat keys &&
	grep -x "key a1" keys && grep -x "generation 1" keys
'

test_expect_success 'a reservation made through A blocks a write through B' '
	answers GOOD pr_via A $HA reserve a1 1 &&
	answers "reservation a1 1" pr_via B $HB read-reservation &&
	answers "RESERVATION CONFLICT" pr_via B $HB write 0 &&
	answers GOOD pr_via B $HB read 0 &&
	answers GOOD pr_via A $HA write 0
'

test_expect_success 'the holder'"'"'s initiator port holds it through the other node too' '
	answers GOOD pr_via B $HA write 0
'

test_expect_success 'a PREEMPT AND ABORT through B reaches A: the state, its unit attention on the preempted session there' '
	answers GOOD pr_via B $HB register-ignore b2 &&
	held preempted A $HA read 0 &&
	mark "$A_LOG" &&
	answers GOOD pr_via B $HB preempt b2 a1 1 abort &&
	go preempted && printed preempted "sense 6/2a/05" &&
	answers "reservation b2 1" pr_via A $HA read-reservation &&
	answers "RESERVATION CONFLICT" pr_via A $HA write 0 &&
	answers GOOD pr_via A $HB write 0 &&
	new_log_has "1 unit attentions, 1 nexuses aborted" "$A_LOG"
'

# A holder writing through A (16 writes with FUA in flight on one session)
# is preempted and aborted through B: A applies the new state at once, but
# ACKs it only once the holder's writes in its store have ended, and the
# agent end answers B's PR OUT only after that ACK.
test_expect_success 'PREEMPT AND ABORT through B of a holder writing through A: A ACKs once its writes have ended' '
	answers GOOD pr_via B $HB clear b2 &&
	{ "$PR" -n "$HA" -q 7 "$(url A 1 1)" hold-writes a7 5 1000000 >hold.out 2>&1 & } &&
	holder=$! &&
	wait_for 10 grep -q reserved hold.out &&
	sleep 0.5 &&
	answers GOOD pr_via B $HC register-ignore c7 &&
	mark "$A_LOG" &&
	answers GOOD pr_via B $HC preempt c7 a7 5 abort &&
	{ wait $holder; rc=$?; } &&
	cat hold.out &&
	test $rc = 2 && test "$(tail -n 1 hold.out)" = "sense 6/2a/05" &&
	test "$(sed -n "s/^acked //p" hold.out)" -gt 0 &&
	gen=$(last_gen) &&
	tail -n +$((log_mark + 1)) "$A_LOG" | join_log | grep "generation $gen from the cluster" >applied &&
	cat applied &&
	if grep -q "still running" applied; then
		new_log_has "the aborted nexuses'"'"' commands have ended; generation $gen is applied" "$A_LOG"
	fi &&
	sed -n "/^sent STATE $gen /,\$p" agent.log >after &&
	test "$(grep -c "^ACK $gen\$" after)" = 2 &&
	test "$(grep -n "^ACK $gen\$" after | tail -n 1 | cut -d: -f1)" -lt \
	     "$(grep -n "^sent DONE" after | head -n 1 | cut -d: -f1)" &&
	answers "RESERVATION CONFLICT" "$PR" -n "$HA" -q 7 "$(url A 1 1)" write 0 &&
	answers GOOD pr_via A $HC clear c7 &&
	answers GOOD pr_via B $HB register-ignore b2 &&
	answers GOOD pr_via B $HB reserve b2 1
'

test_expect_success 'a PR OUT'"'"'s status waits for the agent'"'"'s DONE' '
	gen=$(last_gen) &&
	agent_ctl hold on &&
	{ (pr_via A $HA register-ignore a3 >held.out 2>&1; echo $? >held.rc) & } &&
	wait_for 5 acked $((gen + 1)) 2 &&
	sleep 1 && test ! -e held.rc &&
	agent_ctl hold off &&
	wait_for 5 test -e held.rc &&
	test "$(cat held.rc)" = 0 && test "$(tail -n 1 held.out)" = GOOD &&
	pr_via B $HB read-keys >keys && grep -x "key a3" keys
'

test_expect_success 'FAIL: ABORTED COMMAND, LOGICAL UNIT COMMUNICATION FAILURE, the state as it was' '
	pr_via B $HB read-keys >before &&
	agent_ctl fail 1 &&
	answers "sense b/08/00" pr_via A $HA clear a3 &&
	pr_via B $HB read-keys >after && test_cmp before after &&
	answers "reservation b2 1" pr_via A $HA read-reservation &&
	test_grep "the test agent was told to fail it" "$A_LOG"
'

test_expect_success 'no answer within pr_timeout: ABORTED COMMAND, COMMUNICATION TIME-OUT' '
	agent_ctl mute on &&
	answers "sense b/08/01" pr_via A $HA clear a3 &&
	agent_ctl mute off &&
	test_grep "no answer from the policy agent to PERSISTENT RESERVE OUT" "$A_LOG"
'

test_expect_success 'validity run out: NOT READY on I/O, PR IN and TEST UNIT READY, PR OUT fails; VALID brings it back' '
	agent_ctl renew off &&
	sleep 2 &&
	answers "sense 2/04/01" pr_now B $HB read 0 &&
	answers "sense 2/04/01" pr_now B $HB write 0 &&
	answers "sense 2/04/01" pr_now B $HB read-keys &&
	answers "sense b/08/00" pr_now B $HB clear b2 &&
	pr_via B $HB read 0 >tur.out 2>&1; cat tur.out &&
	grep "login failed: SENSE KEY:NOT READY(2).*0x0401" tur.out &&
	agent_ctl renew on &&
	wait_for 3 pr_via B $HB read 0 &&
	answers GOOD pr_via B $HB read 0 &&
	answers "reservation b2 1" pr_via B $HB read-reservation
'

test_expect_success 'a message out of the protocol drops the connection; the module connects again' '
	mark "$A_LOG" &&
	agent_ctl raw "STATE 99 1000 0 0" &&
	wait_for 5 new_log_has "it sent a message out of the protocol (STATE: no newline after its first line)" "$A_LOG" &&
	wait_for 8 hellos 4 &&
	answers GOOD pr_via A $HB read 0
'

test_expect_success 'the agent killed while a PR OUT waits: it fails at once, tgtd goes on' '
	gen=$(last_gen) &&
	agent_ctl hold on &&
	{ (pr_via A $HA register-ignore a4 >dying.out 2>&1; echo $? >dying.rc) & } &&
	wait_for 5 acked $((gen + 1)) 2 &&
	kill -9 $AGENT_PID &&
	wait_for 3 test -e dying.rc &&
	test "$(tail -n 1 dying.out)" = "sense b/08/00" &&
	answers "sense b/08/00" pr_via A $HA register-ignore a4 &&
	tgtd_alive A && tgtd_alive B &&
	tgtadm_on A --op show --mode target >/dev/null &&
	test_grep "no connection to the policy agent at $TRASH/a.sock" "$A_LOG"
'

test_expect_success 'once the last validity has run out: NOT READY' '
	sleep 2 &&
	answers "sense 2/04/01" pr_now A $HB read 0
'

test_expect_success 'an agent back with a newer generation: served again' '
	agent_start -g 50 -v 1500 &&
	wait_for 8 acked 50 2 &&
	wait_for 3 pr_via A $HB read 0 &&
	pr_via A $HB read-keys >keys && ! grep key keys
'

test_expect_success 'a LUN deleted closes its connection; added again, it says HELLO and is served' '
	closed=$(grep -c "^closed" agent.log) &&
	hello=$(grep -c "^HELLO $VOL" agent.log) &&
	tgtadm_on B --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1 &&
	wait_for 5 closed_more $closed &&
	lun_new B 1 1 "$TRASH/b.img" lunlink "$OPTS_B" &&
	wait_for 5 hellos $((hello + 1)) &&
	wait_for 3 pr_via B $HB read 0 &&
	tgtd_alive B
'

test_done
