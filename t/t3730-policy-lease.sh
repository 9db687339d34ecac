#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='write ownership on the cluster of three nodes in network namespaces (tgtd
and agent each, the manager on node 1), lease_ms 3000: a doubled volume served by
node 2 gets its lease, and its LUN'"'"'s status file shows it held with the store'"'"'s epoch;
node 2'"'"'s agent killed, the lease runs out within lease_ms and writes through the
primary'"'"'s LUN are no longer acknowledged, the manager records the expiry; the agent
started again, the primary gets a new lease of a higher epoch and the writes go on;
the grants and the expiry are events; the node reports what its LUN holds'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
test_have_prereq IO || skip_all "t/helpers/iscsi-io not built (make t/helpers/iscsi-io)"
N=3
API_PORT=7730
JOIN_PORT=7731
AREA_SIZE=64M
LEASE_MS=3000
# the expiry and the re-grant to the same node are what is tested here:
# no failover (t3760 tests it)
MGR_EXTRA="lease_ms = $LEASE_MS; failover = false;"
MGR_AGENT=1	# node 1's agent is the manager's daemon
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs

# lease_field NAME FIELD: a field of the volume's lease, as the manager shows it
lease_field() { ctl --json volume show "$1" | jq -r ".lease.$2"; }
lease_is() { test "$(lease_field "$1" state)" = "$2"; }
# lun_status: the lun line of the primary's status file on node 2
# (its tgtd's control port, the volume's target's tid there)
lun_status() {
	local iqn tid
	iqn=$(ctl --json volume show v | jq -r .serving.iqn) &&
	tid=$(tgtadm_on N2 --lld iscsi --mode target --op show |
		sed -n "s/^Target \([0-9]*\): $iqn\$/\1/p") &&
	test -n "$tid" &&
	grep "^lun " "/run/lunlink/c$N2_CTL-t$tid-l1.status"
}
# lun_lease_is WORD [EPOCH]: the status file says lease=WORD (with that epoch)
lun_lease_is() {
	lun_status >st.line &&
	grep -q " lease=$1 " st.line &&
	{ [ -z "${2:-}" ] || grep -q " lease_epoch=$2 " st.line; }
}
# lun_reported STATE:EPOCH: what node 2 last reported its LUN holds
lun_reported() {
	test "$(ctl --json volume show v | jq -r '.lease.lun | "\(.state):\(.epoch)"')" = "$1"
}
# gen_settled: the manager recorded the generation the primary's LUN has
# and pushed it back (status file: generation= and lease_generation=); in $gen
gen_settled() {
	gen=$(ctl --json volume show v | jq -r .lease.generation) &&
	test ${#gen} = 16 &&
	lun_status >st.line &&
	grep -q " generation=$gen " st.line && grep -q " lease_generation=$gen" st.line
}

test_expect_success 'three nodes, the manager with lease_ms 3000' '
	policy_cluster_up &&
	grep -q "lease_ms = 3000;" mgr.conf
'

test_expect_success 'a doubled volume served by node 2 gets a lease; its LUN holds it with the store'"'"'s epoch' '
	ctl volume create v --way doubled --size 16M --on n2,n3 &&
	wait_for 60 vol_is v ready &&
	wait_for 10 lease_is v held &&
	test "$(lease_field v node)" = n2 &&
	e1=$(lease_field v epoch) &&
	test "$e1" -gt 0 &&
	wait_for 5 lun_lease_is held "$e1" &&
	cat st.line &&
	wait_for 5 lun_reported held:$e1 &&
	ctl volume show v | grep -A7 "^lease:"
'

test_expect_success 'lent, the volume takes writes through the primary'"'"'s LUN' '
	ctl lend v --to $CLIENT &&
	url=$(lent_url v) &&
	wait_for 30 "$IO" "$url" capacity &&
	head -c 65536 /dev/urandom >w1 &&
	write_acked "$url" 100 w1 &&
	"$IO" "$url" read 100 128 back && test_cmp w1 back
'

test_expect_success 'the primary'"'"'s generation is recorded; node 3'"'"'s leg has it: promotable' '
	wait_for 10 gen_settled &&
	wait_for 10 eval "test \"\$(ctl --json volume show v | jq -r \".legs[0].promotable\")\" = true" &&
	test "$(ctl --json volume show v | jq -r ".legs[0].generation")" = "$gen" &&
	test "$(ctl --json volume show v | jq -r ".legs[0].node")" = n3
'

test_expect_success 'node 2'"'"'s agent killed: within lease_ms its LUN'"'"'s lease runs out and writes are not acknowledged' '
	agent_kill 2 &&
	t0=$(now_ms) &&
	head -c 4096 /dev/urandom >w2 &&
	last=$t0 && i=0 &&
	while started=$(now_ms) && write_acked "$url" 1000 w2; do
		last=$started &&
		i=$((i + 1)) && test $i -lt 40 || return 1
		sleep 0.1
	done &&
	echo "the last write acknowledged started $((last - t0)) ms after the agent died," \
		"the first not acknowledged $((started - t0)) ms (lease_ms $LEASE_MS)" &&
	test $((last - t0)) -lt $LEASE_MS &&
	wait_for 3 lun_lease_is expired &&
	cat st.line &&
	test_must_fail write_acked "$url" 1100 w2
'

test_expect_success 'the manager records the expiry: an event, the volume shows it expired' '
	wait_for 5 lease_is v expired &&
	test "$(lease_field v epoch)" = "$e1" &&
	ctl --json events --since "$e1" | jq -c ".events[] | select(.key == \"/lunlink/leases/v\") | .value" >ev &&
	cat ev && grep -q "\"state\":\"expired\"" ev
'

test_expect_success 'the agent started again: a new lease of a higher epoch, and the writes go on' '
	agent_start 2 &&
	wait_for 15 lease_is v held &&
	e2=$(lease_field v epoch) &&
	echo "epoch $e1, then $e2" &&
	test "$e2" -gt "$e1" &&
	wait_for 10 lun_lease_is held "$e2" &&
	cat st.line &&
	wait_for 5 lun_reported held:$e2 &&
	wait_for 10 write_acked "$url" 400 w1 &&
	"$IO" "$url" read 400 128 back && test_cmp w1 back &&
	"$IO" "$url" read 100 128 back && test_cmp w1 back
'

test_expect_success 'each grant is an event whose revision is its epoch' '
	ctl --json events --since 0 | jq -c ".events[] | select(.key == \"/lunlink/leases/v\")" >grants &&
	test "$(jq -s "[.[] | select(.value.state == \"held\" and .value.epoch == .revision)] | length" grants)" -ge 2
'

test_done
