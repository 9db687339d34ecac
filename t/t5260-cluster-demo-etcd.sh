#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='README'"'"'s several managers on etcd: make cluster-demo-etcd serves its
volume, one manager leads, kill -9 of the leader hands over to another within 15 s while the
volume stays ready and served; make cluster-demo-revive brings the killed one back as a follower;
make cluster-demo-stop leaves no namespace, etcd or daemon'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
[ -x /usr/bin/etcd ] || skip_all "no /usr/bin/etcd (apt-get install etcd-server; make setup does)"
for p in jq curl iscsi-inq; do
	command -v $p >/dev/null || skip_all "$p not installed (make setup installs it)"
done
CTL="$SRC_DIR/policy/lunlinkctl"
[ -x "$SRC_DIR/policy/lunlink-policyd" ] && [ -x "$CTL" ] ||
	skip_all "lunlink-policyd not built (make policy-progs)"

# The demo script itself (make cluster-demo-etcd runs it after building), its
# state and areas here, lent to the initiator name iscsi-io logs in with.
DEMO="$SRC_DIR/policy/lunlink-cluster-demo.sh"
CLIENT=iqn.2026-11.org.lunlink:test-client
export LUNLINK_DEMO_DIR="$TRASH/state" LUNLINK_DEMO_AREAS="$TRASH/areas" \
	LUNLINK_DEMO_SIZE=64M LUNLINK_DEMO_INITIATOR=$CLIENT
test_atexit 'sh "$DEMO" stop >/dev/null 2>&1'

# printed: what to try, the leader's pid to kill
try_cmd() { sed -n 's/^ *try *: //p' start.out; }
kill_pid() { sed -n 's/^ *takeover *: kill -9 \([0-9]*\) .*/\1/p' start.out; }
# leads I: node I's manager says on its own socket that it leads (a
# follower passes its socket's requests on to the leader); leader: which
leads() {
	[ "$("$CTL" -c "$LUNLINK_DEMO_DIR/n$1.conf" --json status 2>/dev/null |
		jq -r '.managers.leader // empty')" = "n$1" ]
}
leader() {
	for i in 1 2 3; do leads $i && { echo $i; return 0; }; done
	return 1
}
leaders() { n=0; for i in 1 2 3; do ! leads $i || n=$((n + 1)); done; echo $n; }
node_online() { [ "$(ctl --json node list | jq -r ".nodes[] | select(.name == \"$1\") | .state")" = online ]; }
leads_other() { l=$(leader) && [ "$l" != "$L" ]; }
ctl() { "$CTL" -c "$LUNLINK_DEMO_DIR/n$(leader).conf" "$@"; }
vol_ready() { [ "$(ctl --json volume show demo | jq -r .state)" = ready ]; }
# iscsi-io through the URL with the CHAP account (the try line's last word)
capacity() { "$IO" "$(try_cmd | awk "{ print \$NF }")" capacity; }

test_expect_success 'make cluster-demo-etcd: three members, three managers, the volume lent and served' '
	sh "$DEMO" start etcd >start.out &&
	cat start.out &&
	grep -q "^lunlink cluster demo: three nodes in network namespaces, each with an etcd member and a manager; n[123] leads" start.out &&
	. "$LUNLINK_DEMO_DIR/state" && test "$STORE" = etcd && test $(echo $ETCDS | wc -w) = 3 &&
	$(try_cmd) >inq && grep -q "Peripheral Device Type:DIRECT_ACCESS" inq &&
	capacity >cap && echo "131072 512" >expect && test_cmp expect cap
'

test_expect_success 'status shows the managers: one leading, two following, the term; a follower passes it on' '
	L=$(leader) && say "n$L leads" &&
	ctl status >status && cat status &&
	grep -q "^MANAGERS (leader n$L, term [1-9][0-9]*)" status &&
	test "$(grep -c " leading$" status)" = 1 && test "$(grep -c " following$" status)" = 2 &&
	sh "$DEMO" leader >leader.out && grep -q "n$L leads" leader.out &&
	F=$((L % 3 + 1)) && "$CTL" -c "$LUNLINK_DEMO_DIR/n$F.conf" status >fstatus &&
	grep -q "^MANAGERS (leader n$L, term" fstatus && test "$(leaders)" = 1
'

test_expect_success 'kill -9 of the leader the demo names: another leads within 15 s, the volume stays ready and served' '
	pid=$(kill_pid) && eval "test \"\$DAEMON${L}_PID\" = $pid" &&
	t0=$(date +%s%N) && kill -9 "$pid" &&
	wait_for 15 leads_other && NEW=$(leader) &&
	say "n$(leader) leads $(( ($(date +%s%N) - t0) / 1000000 )) ms after n$L was killed" &&
	{ vol_ready || { say "not ready: $(ctl volume show demo 2>&1)"; false; }; } &&
	# its reservation state is renewed by the new leader: until then (about
	# a second with the defaults) the LUN may answer NOT READY
	wait_for 10 eval "\$(try_cmd) >inq" && grep -q "Peripheral Device Type:DIRECT_ACCESS" inq &&
	say "served $(( ($(date +%s%N) - t0) / 1000000 )) ms after the kill" &&
	capacity >cap && test_cmp expect cap
'

test_expect_success 'make cluster-demo-revive: the killed manager starts again and follows the new leader' '
	sh "$DEMO" revive >revive.out && cat revive.out &&
	grep -q "^lunlink-cluster-demo: n$L.s lunlink-policyd started again: pid [0-9]" revive.out &&
	test "$(grep -c "started again" revive.out)" = 1 &&
	. "$LUNLINK_DEMO_DIR/state" && ! echo " $DAEMONS " | grep -q " $pid " &&
	wait_for 20 grep -q "election: following n$NEW" "$LUNLINK_DEMO_DIR/n$L.log" &&
	test "$(leaders)" = 1 && test "$(leader)" = $NEW &&
	wait_for 30 node_online n$L
'

test_expect_success 'make cluster-demo-stop: no namespace, etcd member, tgtd or daemon of the demo left' '
	sh "$DEMO" stop >stop.out && cat stop.out &&
	! test -f "$LUNLINK_DEMO_DIR/state" &&
	! ip netns list | grep "^ll$CL_ID-" &&
	! ip link show "$CL_BR" 2>/dev/null &&
	for p in $DAEMONS $ETCDS $N1_PID $N2_PID $N3_PID; do
		! kill -0 $p 2>/dev/null || { say "pid $p is left"; return 1; }
	done &&
	! ps -eo args | grep -F "$LUNLINK_DEMO_DIR/" | grep -v grep &&
	test "$(ls areas/*/demo.img | wc -l)" = 2
'

test_done
