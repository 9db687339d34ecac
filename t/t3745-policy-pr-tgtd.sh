#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='cluster-wide persistent reservations end to end: two nodes in namespaces, each
with its tgtd serving a lunlink LUN of one volume with bsopts pr=cluster (the module, branch
cprn) connected to its node'"'"'s real agent (lunlink-policyd), the manager a daemon of its own on
node 1; a libiscsi client (t/helpers/iscsi-pr) registers and reserves through one node and is
seen, and refused, through the other; a PREEMPT AND ABORT through node 2 gives the preempted
session on node 1 its unit attention; node 2'"'"'s agent killed -9 and started again gets its LUN
back; with the manager stopped, a PR OUT fails with ABORTED
COMMAND, and once the validity ran out the LUNs answer NOT READY'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
PR="$T_DIR/helpers/iscsi-pr"
IMAGE="$SRC_DIR/target/lunlink-image"
[ -x "$PR" ] || skip_all "$PR not built (make check builds it)"
[ -x "$IMAGE" ] || skip_all "$IMAGE not built (make builds it)"
N=2
API_PORT=7745
JOIN_PORT=7746
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs

V=2abcdef0123456789abcdef012345678
HA=$IQN_BASE:pr-a HB=$IQN_BASE:pr-b
# pr_via I NAME CMD...: iscsi-pr as initiator NAME through node I's LUN
pr_via() {
	local i=$1 name=$2
	shift 2
	"$PR" -n "$name" "$(url N$i 1 1)" "$@"
}
# answers EXPECTED CMD...: the command prints EXPECTED (its last line)
answers() {
	local want=$1 out
	shift
	out=$("$@" 2>&1 | tail -n 1)
	[ "$out" = "$want" ] || { echo "$* printed \"$out\", not \"$want\""; return 1; }
}
# node 2's LUN said HELLO to its restarted agent (its module connects
# again with a back-off; until then a PR OUT there is 0B/08/00).  The new
# agent knows no validity: its STATE says 0 ms, and the LUN is NOT READY
# until its ACK went to the manager and VALID came back, a moment later.
hello_again() { test "$(grep -c "keeps volume $V" n2.log)" -ge 2; }
current() {
	ctl --json volume pr $V >pr.json &&
	test "$(jq "[.nodes[] | select(.current)] | length" pr.json)" = 2
}

test_expect_success 'two nodes, each tgtd with a pr=cluster LUN of one volume on its agent' '
	policy_cluster_up &&
	for i in 1 2; do
		"$IMAGE" create --size 16M --volume $V n$i.img >/dev/null &&
		target_new N$i 1 &&
		lun_new N$i 1 1 "$TRASH/n$i.img" lunlink "pr=cluster;pr_socket=$TRASH/n$i/pr.sock;pr_timeout=10" ||
		return 1
	done &&
	wait_for 20 current &&
	grep -q "keeps volume $V.s reservations" n1.log &&
	grep -q "keeps volume $V.s reservations" n2.log
'

# ms since the epoch
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

test_expect_success 'a registration through node 1 is seen through node 2' '
	t0=$(now_ms) &&
	answers GOOD pr_via 1 $HA register 0 a1 &&
	t1=$(now_ms) &&
	echo "REGISTER through node 1, login to logout: $((t1 - t0)) ms (a manager started less than pr_valid_ms ago waits that out)" &&
	pr_via 2 $HB read-keys >keys && cat keys &&
	grep -x "key a1" keys &&
	ctl volume pr $V >out && cat out &&
	grep "0x00000000000000a1" out | grep -q "$HA"
'

test_expect_success 'a reservation through node 1 refuses a write through node 2' '
	t0=$(now_ms) &&
	answers GOOD pr_via 1 $HA reserve a1 1 &&
	t1=$(now_ms) &&
	answers "reservation a1 1" pr_via 1 $HA read-reservation &&
	t2=$(now_ms) &&
	echo "RESERVE through node 1, login to logout: $((t1 - t0)) ms; READ RESERVATION: $((t2 - t1)) ms" &&
	answers "reservation a1 1" pr_via 2 $HB read-reservation &&
	answers "RESERVATION CONFLICT" pr_via 2 $HB write 0 &&
	answers GOOD pr_via 2 $HA write 0
'

test_expect_success 'PREEMPT AND ABORT through node 2: the state and its unit attention on node 1' '
	answers GOOD pr_via 2 $HB register-ignore b2 &&
	rm -f go && mkfifo go &&
	{ ("$PR" -w -n "$HA" "$(url N1 1 1)" read 0 <>go >held.out 2>&1; echo $? >held.rc) & } &&
	wait_for 10 grep -qx ready held.out &&
	answers GOOD pr_via 2 $HB preempt b2 a1 1 abort &&
	echo >go && wait_for 10 test -e held.rc &&
	cat held.out &&
	test "$(tail -n 1 held.out)" = "sense 6/2a/05" &&
	answers "reservation b2 1" pr_via 1 $HA read-reservation &&
	answers "RESERVATION CONFLICT" pr_via 1 $HA write 0
'

test_expect_success 'node 2'"'"'s agent killed -9 and started again: its LUN comes back to it and serves' '
	agent_kill 2 &&
	agent_start 2 &&
	wait_for 20 hello_again &&
	wait_for 20 answers "reservation b2 1" pr_via 2 $HB read-reservation &&
	answers GOOD pr_via 2 $HB register-ignore b3 &&
	answers "reservation b3 1" pr_via 1 $HA read-reservation
'

test_expect_success 'the manager stopped: PR OUT fails, and the state runs out (NOT READY)' '
	mgr_kill &&
	answers "sense b/08/00" pr_via 2 $HB clear b3 &&
	sleep 6 &&
	echo | "$PR" -w -n "$HB" "$(url N2 1 1)" read-keys >nr.out 2>&1;
	cat nr.out &&
	test "$(tail -n 1 nr.out)" = "sense 2/04/01"
'

test_expect_success 'the manager back: the state is valid again, as it was' '
	mgr_start &&
	wait_for 20 answers "reservation b3 1" pr_via 2 $HB read-reservation &&
	wait_for 20 answers "reservation b3 1" pr_via 1 $HA read-reservation
'

test_done
