#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='no failover to a copy that is behind, on real nodes: three nodes in network
namespaces (tgtd and agent each, the manager on node 1), lease_ms 3000; a doubled volume
served by node 2, its leg on node 3.  Node 3'"'"'s tgtd killed: node 2 goes on without the
leg, in a new generation the manager records, and its writes are acknowledged.  Node 2
killed -9 (tgtd and agent) and node 3'"'"'s tgtd back: the manager does not promote node
3'"'"'s copy, which lacks the writes of that generation; it records "none promotable" with
the reason, and nothing serves the volume.  Node 2 back: it serves the volume again,
resyncs node 3'"'"'s copy, and every acknowledged write is on both copies'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
test_have_prereq IO || skip_all "t/helpers/iscsi-io not built (make t/helpers/iscsi-io)"
N=3
API_PORT=7770
JOIN_PORT=7771
AREA_SIZE=64M
LEASE_MS=3000
MGR_EXTRA="lease_ms = $LEASE_MS;"
MGR_AGENT=1	# node 1's agent is the manager's daemon
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs

# node I's tgtd has targets, every one a leg export (the agent names them
# ...-leg-ID; a promotion would add the volume's own target)
serves_not() {
	tgtadm_on N$1 --lld iscsi --mode target --op show | sed -n "s/^Target [0-9]*: //p" >targets.$1 &&
	cat targets.$1 && test -s targets.$1 &&
	! grep -v -- "-leg-" targets.$1
}

test_expect_success 'three nodes; a doubled volume served by node 2, its leg on node 3, lent, written' '
	policy_cluster_up &&
	ctl volume create v --way doubled --size 16M --on n2,n3 &&
	wait_for 60 vol_is v ready &&
	test "$(vol_field .serving.node)" = n2 &&
	wwid=$(vol_field .identity.wwid) &&
	ctl lend v --to $CLIENT &&
	url=$(lent_url v) &&
	wait_for 30 "$IO" "$url" capacity &&
	head -c 65536 /dev/urandom >w1 &&
	wait_for 15 write_acked "$url" 100 w1 &&
	wait_for 15 eval "test \"\$(leg_of n3 promotable)\" = true" &&
	g1=$(leg_of n3 generation) && test ${#g1} = 16
'

test_expect_success 'node 3'"'"'s tgtd killed: node 2 goes on alone in a generation the manager records; node 3'"'"'s leg is no longer promotable' '
	kill -9 "$N3_PID" && N3_PID= &&
	head -c 65536 /dev/urandom >w2 &&
	wait_for 30 write_acked "$url" 300 w2 &&
	wait_for 30 eval "test \"\$(leg_of n3 promotable)\" = false" &&
	test "$(leg_of n3 generation)" = "$g1" &&
	node_is n3 online &&
	"$IO" "$url" read 300 128 back && test_cmp w2 back
'

test_expect_success 'node 2 killed -9, node 3'"'"'s tgtd back: no promotion of the copy that is behind; "none promotable" with the reason' '
	kill -9 "$N2_PID" && N2_PID= &&
	agent_kill 2 &&
	TGTD_PORT=$N3_PORT node_tgtd_start 3 &&
	wait_for 30 node_is n2 offline &&
	wait_for 30 eval "test \"\$(vol_field .failover.state)\" = \"none promotable\"" &&
	why=$(vol_field .failover.why) && echo "why: $why" &&
	case "$why" in *generation*) ;; *) echo "the reason names no generation"; false ;; esac &&
	sleep $((2 * LEASE_MS / 1000)) &&
	test "$(vol_field .serving.node)" = n2 &&
	test "$(vol_field .last_failover.kind)" != failover &&
	serves_not 3 &&
	grep "volume v: failed-over: none promotable" mgr.log
'

test_expect_success 'node 2 back: it serves the volume again, resyncs node 3'"'"'s copy; both copies hold every acknowledged write' '
	TGTD_PORT=$N2_PORT node_tgtd_start 2 &&
	agent_start 2 &&
	wait_for 30 node_is n2 online &&
	wait_for 60 vol_is v ready &&
	wait_for 30 "$IO" "$url" capacity &&
	head -c 65536 /dev/urandom >w3 &&
	wait_for 30 write_acked "$url" 500 w3 &&
	wait_for 90 eval "test \"\$(leg_of n3 promotable)\" = true" &&
	"$IO" "$url" sync &&
	for w in 100:w1 300:w2 500:w3; do
		"$IO" "$url" read ${w%%:*} 128 back && test_cmp ${w#*:} back &&
		data_at n2/area/v.img ${w%%:*} 128 >c2 && test_cmp ${w#*:} c2 &&
		data_at n3/area/v.img ${w%%:*} 128 >c3 && test_cmp ${w#*:} c3 || return 1
	done
'

test_done
