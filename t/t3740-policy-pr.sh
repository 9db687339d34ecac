#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='cluster-wide persistent reservations through the real manager and agents: two
nodes in namespaces, the manager a daemon of its own on node 1, each node'"'"'s agent with its
pr=cluster socket (n<I>/pr.sock, mode 0600). The module end of the socket is played by a test
client (t/helpers/pr-module.py, speaking the pr_wire messages), not by tgtd: the acceptance test
with real tgtds comes once the module (branch cprn) and the daemon are merged. Both nodes say
HELLO for one volume and get its state; a REGISTER on node 1 is answered DONE only after node 2
acked the state that brings the registration; a refused RESERVE is answered at once; lunlinkctl
volume pr shows the keys, the registrant and the nodes; the manager killed -9 while a PR OUT
waits for an ack leaves it applied whole, and the agent, sending it again with the same op id
to the restarted manager, gets it answered DONE as applied, not applied twice; the manager
stopped, a PR OUT gets FAIL once the agent'"'"'s tries are over (nothing applied) and VALID stops
coming, so the modules'"'"' state runs out'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
command -v python3 >/dev/null || skip_all "python3 not installed (the test client)"
N=2
API_PORT=7740
JOIN_PORT=7741
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs

PRM="$SRC_DIR/t/helpers/pr-module.py"
V=1abcdef0123456789abcdef012345678
NEXUS1=iqn.2026-11.org.lunlink:test-host1,i,0x000000000001
NEXUS2=iqn.2026-11.org.lunlink:test-host2,i,0x000000000002
NEXUS3=iqn.2026-11.org.lunlink:test-host3,i,0x000000000003
REGISTER=5f000000000000001800
RESERVE_WE=5f010100000000001800
KEY_A=00000000000000aa
KEY_C=00000000000000cc

# client I [--auto-ack]: node I's module, played by the test client; what
# it is sent goes through the FIFO c<I>.in (held open on fd 7+I), what it
# gets is in c<I>.log
client() {
	local i=$1
	shift
	mkfifo "c$i.in" || return 1
	"$PRM" "$TRASH/n$i/pr.sock" "c$i.log" "$@" <"c$i.in" &
	eval "CLIENT${i}_PID=\$!"
	eval "exec $((7 + i))>c$i.in"
}
to() { local i=$1; shift; echo "$*" >&$((7 + i)); }
clients_stop() {
	for pid in ${CLIENT1_PID:-} ${CLIENT2_PID:-}; do kill "$pid" 2>/dev/null; done
}
test_atexit clients_stop
# the generation of the last STATE client I got that says $2
state_gen() { grep "^STATE .*$2" "c$1.log" | tail -n 1 | cut -d" " -f2; }
count() { grep -c "$2" "c$1.log" || true; }

test_expect_success 'two nodes, the manager on node 1, each agent with its pr socket (0600)' '
	policy_cluster_up &&
	for i in 1 2; do
		wait_for 10 test -S n$i/pr.sock &&
		test "$(stat -c %a n$i/pr.sock)" = 600 || return 1
	done
'

test_expect_success 'both nodes say HELLO for one volume; each gets its state and, acked, VALID' '
	client 1 --auto-ack &&
	client 2 &&
	to 1 "HELLO 1 $V 1 1" &&
	to 2 "HELLO 1 $V 1 1" &&
	wait_for 10 grep -q "^STATE 0 " c1.log &&
	wait_for 10 grep -q "^STATE 0 " c2.log &&
	grep "^STATE 0 " c2.log | grep -q "lunlink-pr 1" &&
	to 2 "ACK 0" &&
	wait_for 10 grep -q "^VALID 0 " c1.log &&
	wait_for 10 grep -q "^VALID 0 " c2.log &&
	ctl --json volume pr $V >pr.json &&
	test "$(jq ".nodes | length" pr.json)" = 2
'

test_expect_success 'a REGISTER on node 1 is DONE only after node 2 acked the new state' '
	to 1 "OUT 1 $NEXUS1 1 $REGISTER 0000000000000000${KEY_A}0000000000000000" &&
	wait_for 10 grep -q "^STATE .*reg $KEY_A 1 0 $NEXUS1" c2.log &&
	gen=$(state_gen 2 "reg $KEY_A") &&
	test "$gen" -gt 0 &&
	wait_for 5 grep -q "^STATE $gen " c1.log &&
	sleep 1 &&
	! grep "^DONE 1 " c1.log &&
	to 2 "ACK $gen" &&
	wait_for 5 grep -q "^DONE 1 00 00 0000" c1.log &&
	wait_for 10 grep -q "^VALID $gen " c2.log
'

test_expect_success 'a RESERVE from a nexus not registered: RESERVATION CONFLICT at once' '
	to 2 "OUT 2 $NEXUS2 1 $RESERVE_WE 00000000000000bb00000000000000000000000000000000" &&
	wait_for 3 grep -q "^DONE 2 18 00 0000" c2.log
'

test_expect_success 'lunlinkctl volume pr shows the key, the registrant and both nodes current' '
	ctl volume pr $V >out &&
	cat out &&
	grep "0x$KEY_A" out | grep -q "$NEXUS1" &&
	grep -q "reservation: none" out &&
	grep -q "last change: REGISTER from node n1" out &&
	pr_current $V 2 &&
	ctl --json events --since 1 | grep -q "lunlink.\{1,2\}pr.\{1,2\}$V"
'

test_expect_success 'lunlinkctl volume pr NAME: a volume by its name, its image'"'"'s volume id' '
	ctl volume create s1 --way single --size 16M --on n1 &&
	vid=$(ctl --json volume show s1 | jq -r .identity.image_volume_id) &&
	ctl volume pr s1 >out &&
	cat out &&
	grep -q "^volume: $vid (s1)" out &&
	grep -q "^generation: 0 " out &&
	grep -q "reservation: none" out &&
	test_must_fail ctl volume pr nosuch 2>err &&
	grep -q "no volume named" err
'

test_expect_success 'the manager killed -9 while a PR OUT waits: applied whole; sent again, DONE as applied, once' '
	to 1 "OUT 4 $NEXUS3 1 $REGISTER 0000000000000000${KEY_C}0000000000000000" &&
	wait_for 10 grep -q "^STATE .*reg $KEY_C 1 0 $NEXUS3" c2.log &&
	gen=$(state_gen 2 "reg $KEY_C") &&
	mgr_kill &&
	sleep 1 &&
	! grep "^FAIL 4 " c1.log &&
	mgr_start &&
	to 2 "ACK $gen" &&
	wait_for 15 grep -q "^DONE 4 " c1.log &&
	grep "^DONE 4 " c1.log | sed "s/^/# /" &&
	grep -q "PR OUT REGISTER on volume $V from $NEXUS3 (op [0-9a-f]*) was applied already" mgr.log &&
	ctl --json volume pr $V >pr.json &&
	test "$(jq .generation pr.json)" = "$gen" &&
	test "$(jq -r ".registrations[1].nexus" pr.json)" = "$NEXUS3" &&
	wait_for 10 grep -q "^VALID $gen " c2.log &&
	wait_for 10 grep -q "^VALID $gen " c1.log
'

test_expect_success 'the manager stopped: a PR OUT gets FAIL, and VALID stops coming' '
	mgr_kill &&
	to 2 "OUT 3 $NEXUS2 1 $REGISTER 0000000000000000${KEY_A}0000000000000000" &&
	wait_for 20 grep -q "^FAIL 3 " c2.log &&
	grep "^FAIL 3 .*no manager took it in [0-9]* tries over [0-9]* s, nothing was applied" c2.log &&
	sleep 1 &&
	before=$(count 1 "^VALID") &&
	sleep 4 &&
	test "$(count 1 "^VALID")" = "$before" &&
	grep -q "does not renew the reservation state" n1.log
'

test_done
