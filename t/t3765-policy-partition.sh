#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='fencing across a partition, on the cluster of three nodes in network
namespaces (tgtd and agent each, the manager on node 1), lease_ms 3000: a doubled
volume served by node 2 with its leg on node 3, a writer in the tests'"'"' namespace
writing numbered blocks through node 2; node 2 parted from the manager and node 3
while the writer still reaches it: node 2 stops acknowledging within the lease,
the manager promotes node 3, the writer moved there goes on; healed, node 2 comes
back as the leg, resynced; then each copy alone holds every acknowledged write
and none that node 2 was sent after the cut'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
test_have_prereq IO || skip_all "t/helpers/iscsi-io not built (make t/helpers/iscsi-io)"
N=3
API_PORT=7765
JOIN_PORT=7766
AREA_SIZE=64M
LEASE_MS=3000
MGR_EXTRA="lease_ms = $LEASE_MS;"
MGR_AGENT=1	# node 1's agent is the manager's daemon
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs

# measured TEXT: a time or count the run measured, a comment in the TAP
measured() { say "$*" >&5; }

# The writer, an initiator that reaches both nodes throughout.  Until the
# file "stop" exists it writes i = 0, 1, ...: block BASE + i (one block of
# 512 bytes, a block of its own for each write) filled with the byte
# i % 251 + 1, each on its own login, through the URL in the file url.now
# ("NODE URL", replaced whole when the writer moves), given WRITE_S
# seconds to be acknowledged.  One line per write in wlog:
#   acked|not LBA BYTE START_MS END_MS NODE
# ("acked LBA BYTE" as iscsi-io stream says it, so check_alone reads wlog).
BASE=2048
WRITE_S=2
writer() {
	local i=0 lba b node u s r
	while [ ! -e stop ] && [ $i -lt 20000 ]; do
		read -r node u <url.now
		lba=$((BASE + i)) b=$((i % 251 + 1))
		head -c 512 /dev/zero | tr '\0' "\\$(printf %03o $b)" >blk
		s=$(now_ms)
		if timeout -s KILL $WRITE_S "$IO" "$u" write $lba blk >/dev/null 2>&1; then
			r=acked
		else
			r=not
		fi
		echo "$r $lba $b $s $(now_ms) $node" >>wlog
		i=$((i + 1))
	done
}
WRITER_PID=
writer_stop() {
	[ -n "$WRITER_PID" ] || return 0
	touch stop
	wait "$WRITER_PID"
	WRITER_PID=
}
test_atexit writer_stop
# writes NODE acked|not [SINCE_MS]: how many writes sent to NODE (from
# SINCE_MS on) got that answer
writes() { awk -v n="$1" -v r="$2" -v t="${3:-0}" '$6 == n && $1 == r && $4 >= t' wlog | wc -l; }
writes_at_least() { test "$(writes "$1" "$2" "$3")" -ge "$4"; }

# a_lease_is WORD: node 2's LUN of the volume says lease=WORD in its status
# file (the file of its tgtd's control port and the volume's target there)
a_lease_is() { grep -q "^lun .* lease=$1 " "$A_STATUS"; }

test_expect_success 'three nodes; a doubled volume served by node 2, its leg on node 3, lent, written' '
	policy_cluster_up &&
	ctl volume create v --way doubled --size 16M --on n2,n3 &&
	wait_for 60 vol_is v ready &&
	test "$(vol_field .serving.node)" = n2 &&
	wwid=$(vol_field .identity.wwid) &&
	ctl lend v --to $CLIENT &&
	url2=$(lent_url v) &&
	wait_for 30 timeout -s KILL 5 "$IO" "$url2" capacity &&
	head -c 512 /dev/zero >blk0 &&
	wait_for 15 timeout -s KILL 3 "$IO" "$url2" write 0 blk0 &&
	wait_for 15 eval "test \"\$(leg_of n3 promotable)\" = true" &&
	iqn=$(vol_field .serving.iqn) &&
	tid=$(tgtadm_on N2 --lld iscsi --mode target --op show |
		sed -n "s/^Target \([0-9]*\): $iqn\$/\1/p") &&
	A_STATUS=/run/lunlink/c$N2_CTL-t$tid-l1.status &&
	wait_for 10 a_lease_is held
'

test_expect_success 'the writer writes through node 2; every write acknowledged' '
	echo "n2 $url2" >url.now &&
	writer &
	WRITER_PID=$!
	wait_for 30 writes_at_least n2 acked 0 50 &&
	test "$(writes n2 not)" = 0
'

test_expect_success 'node 2 parted from the manager and node 3: it acknowledges no write past lease_ms, its lease runs out' '
	node_isolate 2 &&
	t_cut=$(now_ms) &&
	wait_for 10 a_lease_is expired &&
	t_exp=$(now_ms) &&
	measured "node 2'"'"'s status file says lease=expired $((t_exp - t_cut)) ms after the cut (lease_ms $LEASE_MS; the file is rewritten each second)" &&
	test $((t_exp - t_cut)) -le $((LEASE_MS + 2000)) &&
	grep "^lun " "$A_STATUS" &&
	wait_for 10 writes_at_least n2 not "$t_cut" 1 &&
	first=$(awk -v c=$t_cut "\$6 == \"n2\" && \$1 == \"not\" && \$4 >= c { print \$4; exit }" wlog) &&
	measured "the first write node 2 did not acknowledge was sent $((first - t_cut)) ms after the cut" &&
	last=$(awk "\$6 == \"n2\" && \$1 == \"acked\" { s = \$4; e = \$5 } END { print s, e }" wlog) &&
	measured "the last write node 2 acknowledged was sent $(( ${last% *} - t_cut )) ms after the cut, acknowledged by $(( ${last#* } - t_cut )) ms" &&
	test $(( ${last% *} - t_cut )) -lt $LEASE_MS &&
	measured "in flight at the cut and not acknowledged: $(( $(writes n2 not 0) - $(writes n2 not "$t_cut") ))"
'

test_expect_success 'the manager promotes node 3 (node 2 offline, its lease run out): the same WWID; the writer moved there goes on' '
	wait_for 30 eval "test \"\$(vol_field .serving.node)\" = n3" &&
	t_promo=$(now_ms) &&
	measured "node 3 promoted within $((t_promo - t_cut)) ms of the cut" &&
	test "$(vol_field .last_failover.kind)" = failover &&
	test "$(vol_field .last_failover.from)" = n2 &&
	test "$(vol_field .identity.wwid)" = "$wwid" &&
	node_is n2 offline &&
	url3=$(lent_url v) &&
	test "$url3" != "$url2" &&
	echo "n3 $url3" >url.next && mv url.next url.now &&
	wait_for 30 writes_at_least n3 acked 0 1 &&
	first=$(awk "\$6 == \"n3\" && \$1 == \"acked\" { print \$5; exit }" wlog) &&
	measured "the first write node 3 acknowledged came back $((first - t_cut)) ms after the cut" &&
	wait_for 30 writes_at_least n3 acked 0 20 &&
	measured "writes sent to node 2 after the cut and not acknowledged: $(writes n2 not "$t_cut")" &&
	test "$(writes n2 acked "$t_promo")" = 0
'

# recorded_generations: every generation the manager recorded for the
# volume, from its lease record's events in events.json
recorded_generations() {
	jq -r ".events[] | select(.key == \"/lunlink/leases/v\") | .value.generation // empty" events.json | sort -u
}
# summaries_bounded LOG: tgtd's summaries of the errors it did not say one
# by one ("N more like the messages above ... in the last S s") each cover
# at most a minute (a held write failed in the tick that then read an
# older clock made it "18446744073709551 s", said at once)
summaries_bounded() {
	join_log "$1" | sed -n "s/.* more like the messages above .* in the last \([0-9]*\) s;.*/\1/p" >summaries &&
	awk "\$1 > 60 { print \"a summary of \" \$1 \" s\"; bad = 1 } END { exit bad }" summaries
}

# Node 2 went degraded at the cut (its leg lost with writes in flight):
# a new generation, never recorded (the manager was out of reach), so no
# write of it was acknowledged.  Node 3, promoted, holds the lease that
# names its own generation as the recorded one: it finds node 2's copy's
# generation never recorded and overwrites that copy by a full resync, with
# no operator (before the manager recorded node 3's own new generation it
# may refuse the copy as split for a moment: the lease's renewal probes it
# again).
get_unrecorded() {
	u=$(join_log "$N3_LOG" | sed -n "s/.*it has generation \([0-9a-f]\{16\}\), which the policy manager never recorded.*/\1/p" | tail -n 1) &&
	test ${#u} = 16
}
test_expect_success 'the partition healed: node 2 comes back as node 3'"'"'s leg, resynced, while the writes go on' '
	t_heal=$(now_ms) &&
	node_rejoin 2 &&
	wait_for 90 node_is n2 online &&
	measured "node 2 online $(( $(now_ms) - t_heal )) ms after the heal" &&
	wait_for 120 eval "test \"\$(leg_of n2 promotable)\" = true" &&
	get_unrecorded &&
	ctl --json events --since 0 >events.json &&
	test "$(recorded_generations | grep -c .)" -gt 0 &&
	! recorded_generations | grep -qx "$u" &&
	measured "node 3 overwrote node 2'"'"'s copy, whose generation $u the manager never recorded, with no operator" &&
	! grep -q "resolve=discard-leg:" "$N3_LOG" &&
	measured "node 2'"'"'s leg promotable $(( $(now_ms) - t_heal )) ms after the heal" &&
	wait_for 60 legs_up v &&
	summaries_bounded "$N2_LOG" && summaries_bounded "$N3_LOG" &&
	test "$(vol_field .serving.node)" = n3 &&
	n=$(writes n3 acked "$t_heal") &&
	wait_for 30 writes_at_least n3 acked "$t_heal" $((n + 20)) &&
	writer_stop &&
	measured "writes: $(grep -c ^acked wlog) acknowledged, $(grep -c ^not wlog) not" &&
	timeout -s KILL 10 "$IO" "$url3" sync &&
	for p in "$N1_PID" "$N2_PID" "$N3_PID" "$MGR_PID" "$AGENT2_PID" "$AGENT3_PID"; do
		kill -0 "$p" || return 1
	done
'

test_expect_success 'served no more, each copy alone holds every acknowledged write and none node 2 was sent after the cut; the copies are equal' '
	stop_all &&
	tgtd_stop N3 && tgtd_stop N2 &&
	{
		grep ^acked wlog &&
		awk -v c=$t_cut "\$6 == \"n2\" && \$1 == \"not\" && \$4 >= c { print \"acked\", \$2, 0 }" wlog
	} >expected &&
	check_alone expected 0 "" "$TRASH/n2/area/v.img" "$TRASH/n3/area/v.img" &&
	data_at n2/area/v.img 0 32768 >all2 && data_at n3/area/v.img 0 32768 >all3 &&
	test_cmp all2 all3
'

test_done
