#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='a cluster on one machine: three storage nodes in network namespaces, each with
its tgtd and its agent (lunlink-policyd), the manager on node 1 in the same daemon as
that node agent; nodes join with tokens, report, go offline and come back; areas;
single and doubled volumes made with lunlinkctl, written through their iSCSI URL and
read back; a lending reaches the tgtd of the serving node through the long poll, far
sooner than a heartbeat; the manager and an agent killed with kill -9 and restarted
lose nothing; a certificate from another CA is refused; the events come in order'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
N=3
API_PORT=7700
JOIN_PORT=7701
MGR_AGENT=1	# node 1's agent is the manager's daemon
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs

test_expect_success 'three nodes in namespaces, each with its tgtd' '
	cluster_up $N &&
	MGR_ADDR=$(node_addr 1) &&
	for i in 1 2 3; do node_tgtd_start $i || return 1; done
'

test_expect_success 'the manager starts on node 1 with a new CA, node 1'"'"'s agent in its process' '
	mgr_conf &&
	ctl ca init >out && grep "made the cluster CA" out &&
	mgr_start &&
	ctl node list >out && cat out
'

test_expect_success 'each node joins with a one-time token and reports' '
	for i in 2 3; do node_join $i || return 1; done &&
	for i in 1 2 3; do wait_for 20 node_is n$i online || return 1; done &&
	ctl node list &&
	grep -q "registered node n1 (.*) with its manager.s certificate" mgr.log
'

test_expect_success 'a token is good once; a certificate of another CA is refused at the handshake' '
	tok=$(ctl token create --role node) &&
	node_exec 3 "$TOOL" join "https://$MGR_ADDR:$JOIN_PORT" mgr/ca/ca.crt "$tok" n9 n9.key n9.crt &&
	test_must_fail node_exec 3 "$TOOL" join "https://$MGR_ADDR:$JOIN_PORT" mgr/ca/ca.crt "$tok" \
		n8 n8.key n8.crt 2>err &&
	cat err && grep -i "token" err &&
	mkdir other && "$TOOL" ca-init other >/dev/null &&
	"$TOOL" issue other node n7 n7.key n7.crt >/dev/null &&
	test_must_fail node_exec 2 curl -sS --max-time 5 --cacert mgr/ca/ca.crt --cert n7.crt \
		--key n7.key "https://$MGR_ADDR:$API_PORT/v1/nodes" >out 2>err &&
	! grep -q "\"nodes\"" out
'

test_expect_success 'each node'"'"'s area is in the pool, with its size and free space' '
	for i in 1 2 3; do ctl area add n$i "$TRASH/n$i/area" --size 256M || return 1; done &&
	ctl --json area list >areas.json &&
	test "$(jq ".areas | length" areas.json)" = 3 &&
	ctl area list
'

test_expect_success 'a single volume is made; lent to an initiator, it is written through its URL with CHAP' '
	ctl volume create s1 --way single --size 16M &&
	wait_for 30 vol_is s1 ready &&
	test_must_fail "$IO" "$(vol_url s1)" capacity 2>err &&
	ctl lend s1 --to $CLIENT &&
	url=$(lent_url s1) &&
	wait_for 30 "$IO" "$url" capacity &&
	head -c 1048576 /dev/urandom >w1 &&
	"$IO" "$url" write 100 w1 && "$IO" "$url" read 100 2048 back && test_cmp w1 back &&
	"$IO" "$url" capacity >cap && echo "32768 512" >expect && test_cmp expect cap
'

test_expect_success 'a doubled volume: its copies on two nodes hold the same data' '
	ctl volume create d1 --way doubled --size 16M &&
	wait_for 60 vol_is d1 ready &&
	ctl lend d1 --to $CLIENT &&
	url=$(lent_url d1) &&
	wait_for 30 "$IO" "$url" capacity &&
	head -c 1048576 /dev/urandom >w2 &&
	"$IO" "$url" write 2000 w2 && "$IO" "$url" sync &&
	"$IO" "$url" read 2000 2048 back && test_cmp w2 back &&
	wait_for 60 legs_up d1 &&
	ctl --json volume show d1 >d1.json &&
	test "$(jq "[.parts[] | .node_name] | unique | length" d1.json)" = 2 &&
	for p in $(jq -r ".parts[].path" d1.json); do
		data_of 2000 2048 "$p" >copy && test_cmp w2 copy || return 1
	done
'

test_expect_success 'a node whose link is cut goes offline, and online again when it returns' '
	node_cut 3 &&
	wait_for 20 node_is n3 offline &&
	node_heal 3 &&
	wait_for 30 node_is n3 online
'

test_expect_success 'kill -9 of the manager: restarted, it has every node, area and volume' '
	ctl --json volume list | jq -S "[.volumes[] | {name, way, size, id}]" >before &&
	mgr_kill && mgr_start &&
	ctl --json volume list | jq -S "[.volumes[] | {name, way, size, id}]" >after &&
	test_cmp before after &&
	for i in 1 2 3; do wait_for 20 node_is n$i online || return 1; done &&
	"$IO" "$(lent_url s1)" read 100 2048 back && test_cmp w1 back
'

test_expect_success 'kill -9 of an agent and its tgtd: restarted, the agent serves its LUNs again' '
	node=$(ctl --json volume show s1 | jq -r .serving.node) &&
	i=${node#n} &&
	agent_kill $i && tgtd_stop N$i && node_exec $i true &&
	TGTD_PORT=$(eval echo \$N${i}_PORT) node_tgtd_start $i &&
	agent_start $i &&
	wait_for 30 "$IO" "$(lent_url s1)" read 100 2048 back && test_cmp w1 back
'

# node 2's tgtd binds initiator $1 to a target
n2_binds() { tgtadm_on N2 --lld iscsi --mode target --op show | grep -q "^ *$1\$"; }

# (the manager still takes n2 for offline 3 s after each report: a
# transition it writes, which the parked poll must not take for news)
test_expect_success 'a lending reaches the node'"'"'s tgtd through the long poll, far within a heartbeat' '
	ctl volume create f1 --way single --size 16M --on n2 &&
	wait_for 30 vol_is f1 ready &&
	agent_kill 2 &&
	sed -i "s/heartbeat_interval = 1;/heartbeat_interval = 10;/; s/offline_after = 3;/offline_after = 30;/" \
		n2.conf &&
	agent_start 2 &&
	wait_for 10 node_is n2 online && sleep 1 &&
	! n2_binds iqn.2026-11.org.lunlink:fast-client &&
	rev=$(ctl --json volume list | jq .revision) &&
	t0=$(now_ms) &&
	ctl lend f1 --to iqn.2026-11.org.lunlink:fast-client &&
	wait_for 5 n2_binds iqn.2026-11.org.lunlink:fast-client &&
	t1=$(now_ms) &&
	id=$(ctl --json node list | jq -r ".nodes[] | select(.name == \"n2\") | .id") &&
	wait_for 5 eval "ctl --json events --since $rev | grep -q \"/lunlink/actual/$id/f1\"" &&
	t2=$(now_ms) &&
	echo "lend to tgtd ACL: $((t1 - t0)) ms; to the manager knowing it: $((t2 - t0)) ms (heartbeat 10 s)" &&
	test $((t1 - t0)) -lt 2000 &&
	test $((t2 - t0)) -lt 3000
'

test_expect_success 'node 2'"'"'s agent back to its 1 s heartbeat' '
	agent_kill 2 &&
	sed -i "s/heartbeat_interval = 10;/heartbeat_interval = 1;/; s/offline_after = 30;/offline_after = 3;/" \
		n2.conf &&
	agent_start 2 &&
	wait_for 20 node_is n2 online
'

test_expect_success 'the events came in order, each change once, with growing revisions' '
	ctl --json events --since 0 >list.json &&
	test "$(jq .more list.json)" = false &&
	jq -c ".events[]" list.json >events.json &&
	test "$(wc -l <events.json)" -gt 20 &&
	jq -s "[.[].revision] | . == sort" events.json | grep -q true &&
	jq -s "map([.revision, .key]) | length == (unique | length)" events.json | grep -q true &&
	grep -q "/lunlink/nodes/" events.json && grep -q "/lunlink/volumes/" events.json
'

test_done
