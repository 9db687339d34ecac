#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='persistent reservations of a volume the manager made: two nodes in network
namespaces (tgtd and agent each, the manager node 1'"'"'s agent), a doubled volume served by
node 1 with its leg on node 2; its serving LUN is pr=cluster with the agent'"'"'s pr_socket, its
leg is not; two initiator ports of the borrower register and one holds WRITE EXCLUSIVE
through node 1; switched over to node 2, the new primary answers the same keys and holder,
refuses the other port'"'"'s write and takes the holder'"'"'s; and node 2 reported the volume
ready only once its LUN held the state, so a login right after meets no NOT READY'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
N=2
API_PORT=7755
JOIN_PORT=7756
AREA_SIZE=64M
MGR_EXTRA="lease_ms = 3000;"
MGR_AGENT=1	# node 1's agent is the manager's daemon
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs
. "$T_DIR/lib-pr.sh"
pr_prereqs

# as_port Q CMD...: iscsi-pr as the borrower's initiator port with ISID
# qualifier Q (two qualifiers: two nexuses, as multipath's two sessions),
# through the volume's serving URL with its CHAP account
as_port() {
	local q=$1
	shift
	"$PR" -n "$CLIENT" -q "$q" "$url" "$@"
}
# node_id NAME
node_id() { ctl --json node list | jq -r ".nodes[] | select(.name == \"$1\") | .id"; }
# actual_states NODE-ID REV: the states (and errors) node NODE-ID reported for
# volume v at or past desired revision REV, in order, from the events
actual_states() {
	ctl --json events --since $(($2 - 1)) >events.json &&
	jq -r --arg key "/lunlink/actual/$1/v" --argjson rev "$2" \
		'.events[] | select(.key == $key and .type == "put" and
		 .value.desired_revision >= $rev) | .value.state + ": " + .value.error' events.json
}

test_expect_success 'two nodes; a doubled volume served by node 1, its leg on node 2, lent' '
	policy_cluster_up &&
	ctl volume create v --way doubled --size 16M --on n1,n2 &&
	wait_for 60 vol_is v ready &&
	test "$(vol_field .serving.node)" = n1 &&
	ctl lend v --to $CLIENT &&
	url=$(lent_url v) &&
	wait_for 30 as_port 1 read-keys
'

test_expect_success 'the serving LUN is pr=cluster with node 1'"'"'s socket; the leg is not' '
	grep "add LUN 1 to target .*vol-.*, lunlink, bsopts .mirror=.*;lease=on;pr=cluster;pr_socket=$TRASH/n1/pr.sock." mgr.log &&
	grep "add LUN 1 to target .*-leg-.*, lunlink, bsopts .raw=on.$" n2.log &&
	! grep "pr=cluster" n2.log &&
	wait_for 10 pr_current v 1 &&
	test "$(jq -r ".nodes[0].name" pr.json)" = n1
'

test_expect_success 'the agent does not make the LUN again at the next rounds' '
	sleep 3 &&
	test "$(grep -c "add LUN 1 to target .*vol-.*pr=cluster" mgr.log)" = 1
'

test_expect_success 'two ports register, one holds WRITE EXCLUSIVE through node 1' '
	answers GOOD as_port 1 register 0 a1 &&
	answers GOOD as_port 2 register 0 b2 &&
	answers GOOD as_port 1 reserve a1 1 &&
	answers "reservation a1 1" as_port 2 read-reservation &&
	answers "RESERVATION CONFLICT" as_port 2 write 0 &&
	wait_for 15 answers GOOD as_port 1 write 0 &&
	wait_for 15 eval "test \"\$(vol_field .legs[0].promotable)\" = true"
'

test_expect_success 'switchover to node 2: it serves the volume' '
	n2=$(node_id n2) &&
	ctl volume switchover v --to n2 &&
	wait_for 15 eval "test \"\$(vol_field .serving.node)\" = n2" &&
	promoted=$(vol_field .last_failover.revision) &&
	url=$(lent_url v) &&
	echo "promoted at revision $promoted, served at $url"
'

test_expect_success 'node 2 says ready only once its LUN holds the state: a login then meets no NOT READY' '
	wait_for 30 eval "actual_states $n2 $promoted | grep -q ^ready:" &&
	answers "reservation a1 1" as_port 2 read-reservation &&
	actual_states $n2 $promoted >states && cat states &&
	grep "^working: waiting for the reservation state" states
'

test_expect_success 'through node 2: the same keys and holder' '
	as_port 2 read-keys >keys && cat keys &&
	grep -qx "key a1" keys && grep -qx "key b2" keys &&
	test "$(grep -c "^key " keys)" = 2 &&
	answers "reservation a1 1" as_port 1 read-reservation &&
	ctl --json volume pr v >pr.json &&
	jq -e ".nodes[] | select(.name == \"n2\" and .current)" pr.json
'

test_expect_success 'through node 2: the other port'"'"'s write is refused, the holder'"'"'s taken' '
	answers "RESERVATION CONFLICT" as_port 2 write 0 &&
	answers GOOD as_port 2 read 0 &&
	wait_for 15 answers GOOD as_port 1 write 0 &&
	grep "add LUN 1 to target .*vol-.*pr=cluster;pr_socket=$TRASH/n2/pr.sock." n2.log
'

test_done
