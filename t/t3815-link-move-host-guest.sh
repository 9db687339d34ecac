#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the host'"'"'s side of a volume that moves, in a QEMU guest, against a stand-in for the manager: lunlink-rescand links a "multipath" entry as its own dm-multipath map lunlink-v (dmsetup, no udev), ext4 on it mounted and a writer writing; an entry moved to node 2 (moved_from) puts node 2'"'"'s path in and node 1'"'"'s out (device deleted, session logged out) under the mounted file system; kill -9 of node 2'"'"'s tgtd, the map queues, an entry moved back to node 1 three seconds later: the writer goes on (time from the kill printed); every file reads back; unlink refused while mounted, then map and paths gone'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-cluster.sh"
. "$T_DIR/lib-guest.sh"

# What t3820 does with the whole cluster, here with the host's part alone:
# the manager's answers are the test's own, so the host's side of a move
# is checked apart from the cluster's timing, with what t3820 leaves out
# (the old session logged out, one SCSI device per WWID, the refusal in
# the host's report, the move back after a fixed delay): two nodes in
# namespaces (t/lib-cluster.sh), each a stock tgtd whose target tid 1 has
# the same name (as the host's target has on every node); both serve the
# same file (bs rdwr: one copy, so whichever path the guest uses, it reads
# what it wrote) with the volume's identity (scsi_id, scsi_sn: one WWID).
# The manager is t/helpers/host-manager-standin on node 1: it serves the
# desired links the test writes (desired.json) over mutual TLS and keeps
# the host's last report (report.json).  The guest (t/lib-guest.sh,
# GUEST_EXTRAS=multipath) runs the dynamically linked lunlink-rescand.

N=2
API_PORT=7815
HOST=g1
test_have_prereq ROOT || skip_all "needs root (namespaces, tap devices)"
require_tgtd
RESCAND="$SRC_DIR/initiator/lunlink-rescand"
[ -x "$RESCAND" ] || skip_all "initiator/lunlink-rescand not built (run make)"
command -v python3 >/dev/null || skip_all "python3 not installed (the stand-in manager)"
# the policy's own CA and certificates (t/helpers/api-tool, policy/ca.c)
TOOL="$SRC_DIR/t/helpers/api-tool"
[ -x "$TOOL" ] || skip_all "t/helpers/api-tool not built (make policy)"
command -v jq >/dev/null || skip_all "jq not installed"
GUEST_EXTRAS=multipath
guest_prepare || skip_all "$GUEST_SKIP"

guest_watchdog 600

# how long the "promotion" takes after node 2's death
PROMOTION=3
ID=6a11f0000000000000000000000000c1
WWID=naa.$ID
MB=64

tap_note() { printf '# %s\n' "$*" >&5; }
WRITER_GUEST=h
g() { guest_run h 30 "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
identity() {
	tgtadm_on "N$1" --lld iscsi --mode logicalunit --op update --tid 1 --lun "$2" \
		--params "scsi_sn=ll-$ID,scsi_id=$ID"
}
IQN="$IQN_BASE:$TEST_NAME-1"
portal() { eval "echo $(node_addr "$1"):\$N${1}_PORT"; }

# as_host METHOD PATH: a call to the stand-in from node 2 with the host's certificate
as_host() {
	node_exec 2 "$TOOL" call "https://$(node_addr 1):$API_PORT" "$@" \
		--ca mgr/ca.crt --cert mgr/host.crt --key mgr/host.key
}
# desire REV ACTION NODE LUN [FROM_NODE FROM_LUN]: the stand-in's answer
desire() {
	local moved=null
	[ -z "${5:-}" ] || moved="{\"target\":\"$IQN\",\"portal\":\"$(portal "$5")\",\"lun\":$6}"
	cat >mgr/desired.json.tmp <<-EOF &&
	{"desired_revision":$1,"links":[{"volume":"v","revision":$1,"action":"$2",
	 "target":"$IQN","portal":"$(portal "$3")","lun":$4,"wwid":"$WWID",
	 "size":$((MB * 1048576)),"timeout_s":30,"force":false,"multipath":true,
	 "moved_from":$moved}]}
	EOF
	mv mgr/desired.json.tmp mgr/desired.json
}
# the host's last report of v: FIELD
reported() { jq -r ".links[] | select(.volume == \"v\") | .$1" mgr/report.json 2>/dev/null; }
# the host reports revision $1 $2 (a state)
report_is() { test "$(reported link_revision)" = "$1" && test "$(reported state)" = "$2"; }

# sessions_to NODE...: the guest's sessions are to those nodes, no other
sessions_to() {
	g "cat /sys/class/iscsi_connection/*/persistent_address 2>/dev/null | sort" >sessions &&
	for i in "$@"; do node_addr "$i"; done | sort >expect &&
	test_cmp expect sessions
}

test_expect_success 'two nodes serve one file as the volume (one WWID); the stand-in manager on node 1' '
	cluster_up $N &&
	for i in 1 2; do node_tgtd_start $i && target_new N$i 1 || return 1; done &&
	truncate -s ${MB}M v.raw &&
	lun_new N1 1 1 "$TRASH/v.raw" rdwr && identity 1 1 &&
	"$TOOL" ca-init mgr &&
	"$TOOL" issue mgr node manager mgr/api.key mgr/api.crt --host "$(node_addr 1)" &&
	"$TOOL" issue mgr host $HOST mgr/host.key mgr/host.crt &&
	echo "{\"desired_revision\":0,\"links\":[]}" >mgr/desired.json || return 1
	# the & puts this command alone in the background, not the chain above;
	# ip netns exec execs python3, so $! is the stand-in itself (a shell
	# function in the background would be a subshell, and killing that
	# would leave python3 holding prove'"'"'s pipe open); none of the test'"'"'s
	# descriptors go with it
	ip netns exec "$(node_ns 1)" python3 "$SRC_DIR/t/helpers/host-manager-standin" \
		"$(node_addr 1)" $API_PORT "$TRASH/mgr" mgr/api.crt mgr/api.key mgr/ca.crt \
		</dev/null >mgr/out 2>mgr/log 3>&- 4>&- 5>&- 6>&- &
	MGR_PID=$!
	test_atexit "kill $MGR_PID 2>/dev/null" &&
	{ wait_for 10 as_host GET /v1/hosts/desired || { cat mgr/log; false; }; } &&
	as_host GET /v1/hosts/desired >desired.out && cat desired.out &&
	grep -q "\"desired_revision\":0" desired.out
'

test_expect_success 'the guest boots, reaches both nodes, and its lunlink-rescand reports to the stand-in' '
	guest_bridge h &&
	files="$(guest_rescand_files "https://$(node_addr 1):$API_PORT" $HOST "" \
		"$TRASH/mgr/ca.crt" "$TRASH/mgr/host.crt" "$TRASH/mgr/host.key")" &&
	GUEST_FILES=$files guest_start h &&
	g "ip route add default via 10.231.0.1 && ping -c 1 -W 5 $(node_addr 1)" &&
	g "cat >/tmp/mv.sh <<\"EOF\"
$GUEST_WRITER
EOF" &&
	g "/sbin/lunlink-rescand -f -v >/tmp/rescand.log 2>&1 & echo \$! >/tmp/rescand.pid" &&
	{ wait_for 30 test -s mgr/report.json || { g "cat /tmp/rescand.log"; cat mgr/log; false; }; } &&
	jq -e ".hostname == \"$HOST\"" mgr/report.json
'

test_expect_success 'a multipath entry: the volume is the map lunlink-v over node 1'"'"'s path, its session fails fast' '
	t0=$(now_ms) && desire 1 link 1 1 &&
	{ wait_for 30 report_is 1 linked || { cat mgr/report.json; g "tail -n 20 /tmp/rescand.log"; false; }; } &&
	tap_note "linked in $(($(now_ms) - t0)) ms (a login, the scan, the map)" &&
	dev=$(reported device) && case "$dev" in dm-*) ;; *) echo "device $dev"; false ;; esac &&
	test "$(reported multipath)" = lunlink-v &&
	test "$(reported by_id)" = /dev/mapper/lunlink-v &&
	g "test -b /dev/mapper/lunlink-v && cat /sys/block/$dev/dm/name /sys/block/$dev/dm/uuid /sys/block/$dev/size" >info &&
	printf "lunlink-v\nmpath-3%s\n%s\n" $ID $((MB * 2048)) >expect && test_cmp expect info &&
	map_on lunlink-v 1 &&
	g "cat /sys/module/dm_multipath/parameters/queue_if_no_path_timeout_secs /sys/class/iscsi_session/session*/recovery_tmo" >tmo &&
	printf "60\n5\n" >expect && test_cmp expect tmo
'

test_expect_success 'ext4 on the map, mounted, a writer writing' '
	g "/sbin/mke2fs -q -t ext4 /dev/mapper/lunlink-v && mkdir -p /mnt &&
	   mount -t ext4 /dev/mapper/lunlink-v /mnt" &&
	g ". /tmp/mv.sh; writer /mnt w >/dev/null 2>&1 &" &&
	wait_for 30 done_at_least w 5
'

test_expect_success 'moved to node 2 (LUN 3): node 2'"'"'s path in, node 1'"'"'s out (deleted, logged out), the file system mounted, the writer goes on' '
	lun_new N2 1 3 "$TRASH/v.raw" rdwr && identity 2 3 &&
	dev=$(reported device) && t_mv=$(guest_uptime) && t0=$(now_ms) &&
	desire 2 link 2 3 1 1 &&
	{ wait_for 30 report_is 2 linked || { cat mgr/report.json; g "tail -n 30 /tmp/rescand.log"; false; }; } &&
	tap_note "moved in $(($(now_ms) - t0)) ms (a login, the scan, two reloads, the old path deleted, a logout)" &&
	test "$(reported device)" = "$dev" && test "$(reported error)" = "" &&
	map_on lunlink-v 2 && sessions_to 2 &&
	g "grep -l $WWID /sys/class/scsi_device/*/device/wwid | wc -l" >n && echo 1 >expect && test_cmp expect n &&
	wait_for 30 started_after w "$t_mv" &&
	n=$(done_count w) && wait_for 30 done_at_least w $((n + 3)) &&
	g "grep -q \" /mnt ext4 rw\" /proc/mounts" &&
	g dmesg >dmesg1 && ! grep -E "$EXT4_ERRORS" dmesg1
'

test_expect_success 'kill -9 of node 2'"'"'s tgtd: the map queues; moved back to node 1 three seconds later, the writer goes on' '
	kill -9 $N2_PID && t_kill=$(guest_uptime) && { wait $N2_PID 2>/dev/null; N2_PID=; } &&
	sleep $PROMOTION &&
	desire 3 link 1 1 2 3 &&
	{ wait_for 60 report_is 3 linked || { cat mgr/report.json; g "tail -n 30 /tmp/rescand.log"; false; }; } &&
	map_on lunlink-v 1 &&
	wait_for 60 started_after w "$t_kill" &&
	first=$(begun_after w "$t_kill" | cut -d" " -f1) &&
	tap_note "kill -9 of the serving tgtd, the entry moved back after $PROMOTION s: the first write completed in the guest $(ms_between "$t_kill" "$first") ms after the kill" &&
	g "grep -q \" /mnt ext4 rw\" /proc/mounts" &&
	n=$(done_count w) && wait_for 30 done_at_least w $((n + 3)) &&
	g dmesg >dmesg2 &&
	grep -E "connection|session recovery|multipath|queue_if_no_path" dmesg2 | tail -n 15 &&
	! grep -E "$EXT4_ERRORS" dmesg2
'

test_expect_success 'the daemon'"'"'s log of the two moves' '
	g "grep -E \"link v|map lunlink-v|dm_multipath\" /tmp/rescand.log" >moves.log &&
	cat moves.log && grep -q "moved from $IQN at $(portal 1): deleting the old path" moves.log
'

test_expect_success 'every file the writer completed reads back right, uncached' '
	writer_reads_back w /mnt &&
	tap_note "$(cat w.count) files written and read back"
'

test_expect_success 'unlink refused while the map is mounted; after umount, the map, the path and the session go' '
	desire 4 unlink 1 1 &&
	wait_for 30 report_is 4 linked &&
	reported error >err && cat err &&
	grep -q "(map lunlink-v) is in use: mounted on /mnt" err &&
	g "umount /mnt" &&
	desire 5 unlink 1 1 &&
	wait_for 30 report_is 5 unlinked &&
	g "! DM_DISABLE_UDEV=1 dmsetup info lunlink-v >/dev/null 2>&1" &&
	g "! grep -l $WWID /sys/class/scsi_device/*/device/wwid" &&
	sessions_to
'

test_done
