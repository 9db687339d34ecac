#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='failover of a doubled volume on the cluster of three nodes in network
namespaces (tgtd and agent each, the manager on node 1), lease_ms 3000: a volume
served by node 2 with its leg on node 3, lent and written; switched over to node 3,
which serves it with the same WWID and node 2'"'"'s image as its leg; the writes go on
through node 3'"'"'s URL and every acknowledged write is on both copies'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
test_have_prereq IO || skip_all "t/helpers/iscsi-io not built (make t/helpers/iscsi-io)"
N=3
API_PORT=7760
JOIN_PORT=7761
AREA_SIZE=64M
LEASE_MS=3000
MGR_EXTRA="lease_ms = $LEASE_MS;"
MGR_AGENT=1	# node 1's agent is the manager's daemon
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs


test_expect_success 'three nodes; a doubled volume on nodes 2 and 3, lent, written' '
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
	wait_for 15 eval "test \"\$(vol_field .legs[0].promotable)\" = true"
'

test_expect_success 'switchover to a node without a leg, or to the primary'"'"'s: refused, naming why' '
	test_must_fail ctl volume switchover v --to n1 2>err && cat err &&
	grep -q "has no leg on that node" err &&
	test_must_fail ctl volume switchover v --to n2 2>err && cat err &&
	grep -q "serves volume v" err
'

test_expect_success 'switchover to node 3: it serves the volume, the same WWID; writes go on through its URL' '
	t0=$(now_ms) &&
	ctl volume switchover v --to n3 &&
	wait_for 15 eval "test \"\$(vol_field .serving.node)\" = n3" &&
	echo "node 3 promoted $(( $(now_ms) - t0 )) ms after the request (node 2 stopped serving first)" &&
	test "$(vol_field .identity.wwid)" = "$wwid" &&
	test "$(vol_field .last_failover.kind)" = switchover &&
	url3=$(lent_url v) &&
	head -c 65536 /dev/urandom >w2 &&
	wait_for 30 write_acked "$url3" 300 w2 &&
	echo "the first write acknowledged by node 3 came $(( $(now_ms) - t0 )) ms after the switchover" &&
	"$IO" "$url3" read 300 128 back && test_cmp w2 back &&
	"$IO" "$url3" read 100 128 back && test_cmp w1 back
'

test_expect_success 'node 2'"'"'s image is node 3'"'"'s leg, in sync: both copies hold every acknowledged write' '
	wait_for 30 eval "test \"\$(vol_field .legs[0].node)\" = n2 && test \"\$(vol_field .legs[0].promotable)\" = true" &&
	"$IO" "$url3" sync &&
	data_at n2/area/v.img 100 128 >c2 && test_cmp w1 c2 &&
	data_at n3/area/v.img 100 128 >c3 && test_cmp w1 c3 &&
	data_at n2/area/v.img 300 128 >c2 && test_cmp w2 c2 &&
	data_at n3/area/v.img 300 128 >c3 && test_cmp w2 c3
'

test_expect_success 'kill -9 of node 3'"'"'s tgtd and agent: the manager promotes node 2'"'"'s leg, the writes go on through its URL' '
	head -c 65536 /dev/urandom >w3 &&
	write_acked "$url3" 500 w3 &&
	t0=$(now_ms) &&
	kill -9 "$N3_PID" && N3_PID= &&
	agent_kill 3 &&
	wait_for 30 eval "test \"\$(vol_field .serving.node)\" = n2" &&
	t1=$(now_ms) &&
	test "$(vol_field .last_failover.kind)" = failover &&
	test "$(vol_field .last_failover.from)" = n3 &&
	test "$(vol_field .identity.wwid)" = "$wwid" &&
	url2=$(lent_url v) &&
	head -c 65536 /dev/urandom >w4 &&
	wait_for 30 write_acked "$url2" 700 w4 &&
	echo "node 2 promoted $((t1 - t0)) ms after the kill; its first write acknowledged $(( $(now_ms) - t0 )) ms after it (lease_ms $LEASE_MS)" &&
	for w in 100:w1 300:w2 500:w3 700:w4; do
		"$IO" "$url2" read ${w%%:*} 128 back && test_cmp ${w#*:} back || return 1
	done &&
	"$IO" "$url2" sync &&
	data_at n2/area/v.img 500 128 >c2 && test_cmp w3 c2 &&
	data_at n2/area/v.img 700 128 >c2 && test_cmp w4 c2
'


test_expect_success 'node 3 restarted: its image comes back as node 2'"'"'s leg, resynced; the copies are equal' '
	TGTD_PORT=$N3_PORT node_tgtd_start 3 &&
	agent_start 3 &&
	wait_for 30 node_is n3 online &&
	wait_for 90 eval "test \"\$(leg_of n3 promotable)\" = true" &&
	leg_of n3 generation &&
	"$IO" "$url2" sync &&
	for w in 100:w1 300:w2 500:w3 700:w4; do
		data_at n3/area/v.img ${w%%:*} 128 >c3 && test_cmp ${w#*:} c3 || return 1
	done &&
	data_at n2/area/v.img 0 32768 >all2 && data_at n3/area/v.img 0 32768 >all3 &&
	test_cmp all2 all3
'

test_done
