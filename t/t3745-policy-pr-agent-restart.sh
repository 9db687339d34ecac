#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the agent'"'"'s end of pr=cluster with real tgtds (t3750, branch cprn, is the
acceptance test of the whole; this one is about the agent): two nodes in namespaces, each tgtd
serving a pr=cluster LUN of one volume on its real agent, the manager a daemon of its own on node
1; a REGISTER and a RESERVE through node 1 timed against a READ RESERVATION, seen through node 2;
node 2'"'"'s agent killed -9 and started again: its LUN says HELLO to the new agent and serves on,
never NOT READY (the new agent asks for a validity before it sends the state), and a PR OUT
through it reaches node 1'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
. "$T_DIR/lib-pr.sh"
pr_prereqs
IMAGE="$SRC_DIR/target/lunlink-image"
[ -x "$IMAGE" ] || skip_all "$IMAGE not built (make builds it)"
N=2
API_PORT=7745
JOIN_PORT=7746
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs

V=2abcdef0123456789abcdef012345678
# node 2's LUN said HELLO to its restarted agent (its module connects
# again with a back-off; until then a PR OUT there is 0B/08/00).  The new
# agent knows no validity: it asks the manager for one before it sends
# the STATE, so the LUN, still valid from the old agent's last VALID, is
# never NOT READY meanwhile (a STATE of 0 ms would end that validity).
hello_again() { test "$(grep -c "keeps volume $V" n2.log)" -ge 2; }

test_expect_success 'two nodes, each tgtd with a pr=cluster LUN of one volume on its agent' '
	policy_cluster_up &&
	for i in 1 2; do
		"$IMAGE" create --size 16M --volume $V n$i.img >/dev/null &&
		target_new N$i 1 &&
		lun_new N$i 1 1 "$TRASH/n$i.img" lunlink "pr=cluster;pr_socket=$TRASH/n$i/pr.sock;pr_timeout=10" ||
		return 1
	done &&
	wait_for 20 pr_current $V 2 &&
	grep -q "keeps volume $V.s reservations" n1.log &&
	grep -q "keeps volume $V.s reservations" n2.log
'


test_expect_success 'a registration through node 1 is seen through node 2' '
	t0=$(now_ms) &&
	answers GOOD pr_via N1 $HA register 0 a1 &&
	t1=$(now_ms) &&
	echo "REGISTER through node 1, login to logout: $((t1 - t0)) ms (a manager started less than pr_valid_ms ago waits that out)" &&
	pr_via N2 $HB read-keys >keys && cat keys &&
	grep -x "key a1" keys &&
	ctl volume pr $V >out && cat out &&
	grep "0x00000000000000a1" out | grep -q "$HA"
'

test_expect_success 'a reservation through node 1 refuses a write through node 2' '
	t0=$(now_ms) &&
	answers GOOD pr_via N1 $HA reserve a1 1 &&
	t1=$(now_ms) &&
	answers "reservation a1 1" pr_via N1 $HA read-reservation &&
	t2=$(now_ms) &&
	echo "RESERVE through node 1, login to logout: $((t1 - t0)) ms; READ RESERVATION: $((t2 - t1)) ms" &&
	answers "reservation a1 1" pr_via N2 $HB read-reservation &&
	answers "RESERVATION CONFLICT" pr_via N2 $HB write 0 &&
	answers GOOD pr_via N2 $HA write 0
'

test_expect_success 'node 2'"'"'s agent killed -9 and started again: its LUN comes back to it and serves' '
	agent_kill 2 &&
	agent_start 2 &&
	wait_for 20 hello_again &&
	wait_for 20 answers "reservation a1 1" pr_via N2 $HB read-reservation &&
	for k in 1 2 3 4 5 6 7 8 9 10; do
		answers "reservation a1 1" pr_via N2 $HB read-reservation || return 1
	done &&
	answers GOOD pr_via N2 $HB register-ignore b3 &&
	pr_via N1 $HA read-keys >keys && cat keys &&
	grep -x "key b3" keys
'

test_done
