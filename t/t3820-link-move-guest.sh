#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='a linked doubled volume moves under a mounted file system: lunlink-rescand in a QEMU guest keeps the volume behind its own dm-multipath map (lunlink-VOLUME), an ext4 on it mounted and a writer writing; lunlinkctl volume switchover moves the primary to the other node and the map takes the new path, drops the old one, the writer goes on; kill -9 of the new primary node'"'"'s tgtd and agent: the manager promotes the leg, the map follows, the writer goes on (time from the kill to the first write completed in the guest printed); every file written reads back; unlink refused while mounted, then the map and paths go'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-cluster.sh"
. "$T_DIR/lib-guest.sh"

# The story of doc/link.md, "When a volume moves", with every part real:
# three storage nodes in network namespaces (t/lib-cluster.sh), each with
# its tgtd and its agent, the manager on node 1 (t/lib-policy-cluster.sh),
# a doubled volume served by node 2 with its leg on node 3, linked to a
# Debian 12 guest (t/lib-guest.sh with GUEST_EXTRAS=multipath: dm_mod,
# dm_multipath, dmsetup) running the dynamically linked lunlink-rescand,
# bridged to the nodes as in t3800.  The cluster side of the move (the
# switchover, the promotion, the link entry's "multipath" and
# "moved_from") is the manager's (doc/policy.md); this test is the host's.

# set before any skip: the exit handlers read them
N=3
API_PORT=7820
JOIN_PORT=7821
AREA_SIZE=128M
HOST=g1
LEASE_MS=3000
MGR_EXTRA="lease_ms = $LEASE_MS;"
test_have_prereq ROOT || skip_all "needs root (namespaces, tap devices)"
require_tgtd
test_have_prereq MODULE || skip_all "target/bs_lunlink.so not built (run make)"
. "$T_DIR/lib-policy-cluster.sh"
policy_cluster_prereqs
RESCAND="$SRC_DIR/initiator/lunlink-rescand"
[ -x "$RESCAND" ] || skip_all "initiator/lunlink-rescand not built (run make)"
GUEST_EXTRAS=multipath
guest_prepare || skip_all "$GUEST_SKIP"

guest_watchdog 900

tap_note() { printf '# %s\n' "$*" >&5; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
WRITER_GUEST=h
g() { guest_run h 30 "$1"; }
host_is() { test "$(ctl --json host list | jq -r ".hosts[] | select(.name == \"$1\") | .state")" = "$2"; }
# a field of the link of v as the host list shows it
link_field() {
	ctl --json host list |
		jq -r ".hosts[] | select(.name == \"$HOST\") | .links[] | select(.volume == \"v\") | .$1"
}
# the link of v is linked, served by node $1, and the guest's map is on that node's path
moved_to() {
	test "$(link_field state)" = linked &&
	test "$(link_field node)" = "n$1" &&
	map_on lunlink-v "$1"
}

# longest_pause P A B: the longest time (ms) between two writes of writer
# P completed from the guest's uptime A to 5 s after B
longest_pause() {
	g "awk -v a=$2 -v b=$3 '\$1 > a && \$1 < b + 5 && !/^END/ { if (p && \$1 - p > m) m = \$1 - p; p = \$1 } END { printf \"%d\", m * 1000 }' /tmp/$1.done"
}

test_expect_success 'three nodes in namespaces with their tgtds, the manager (lease_ms 3000) and three agents' '
	policy_cluster_up
'

test_expect_success 'a doubled volume, served by node 2, its leg on node 3, in sync' '
	ctl volume create v --way doubled --size 64M --on n2,n3 &&
	wait_for 60 vol_is v ready &&
	wait_for 60 legs_up v
'

test_expect_success 'the guest boots, reaches the cluster and its lunlink-rescand joins' '
	guest_bridge h &&
	files="$(guest_rescand_files "https://$MGR_ADDR:$API_PORT" $HOST $JOIN_PORT "$TRASH/mgr/ca/ca.crt")" &&
	GUEST_FILES=$files guest_start h &&
	g "ip route add default via 10.231.0.1 && ping -c 1 -W 5 $MGR_ADDR" &&
	g "cat >/tmp/mv.sh <<\"EOF\"
$GUEST_WRITER
EOF" &&
	tok=$(ctl token create --role host) &&
	g "/sbin/lunlink-rescand -f -v --join $tok >/tmp/rescand.log 2>&1 & echo \$! >/tmp/rescand.pid" &&
	{ wait_for 30 host_is $HOST online || { g "cat /tmp/rescand.log"; false; }; }
'

test_expect_success 'linked, the volume is the guest'"'"'s map lunlink-v over node 2'"'"'s path' '
	ctl --json link v --to $HOST --timeout 60 >v.json &&
	dev=$(jq -r .device.name v.json) &&
	case "$dev" in dm-*) ;; *) echo "device $dev is not a map"; false ;; esac &&
	test "$(jq -r .device.multipath v.json)" = lunlink-v &&
	g "cat /sys/block/$dev/dm/name" >name && echo lunlink-v >expect && test_cmp expect name &&
	g "test -b /dev/mapper/lunlink-v && cat /sys/block/$dev/size" >size &&
	echo $((64 * 2048)) >expect && test_cmp expect size &&
	map_on lunlink-v 2 &&
	g "cat /sys/module/dm_multipath/parameters/queue_if_no_path_timeout_secs" >qt &&
	echo 60 >expect && test_cmp expect qt
'

test_expect_success 'ext4 on the map, mounted, a writer writing' '
	g "/sbin/mke2fs -q -t ext4 /dev/mapper/lunlink-v && mkdir -p /mnt &&
	   mount -t ext4 /dev/mapper/lunlink-v /mnt" &&
	g ". /tmp/mv.sh; writer /mnt w >/dev/null 2>&1 &" &&
	wait_for 30 done_at_least w 5
'

test_expect_success 'switchover to node 3: the map takes node 3'"'"'s path and drops node 2'"'"'s, the writer goes on' '
	t_sw=$(guest_uptime) && t0=$(now_ms) &&
	ctl volume switchover v --to n3 &&
	{ wait_for 60 moved_to 3 || { g "tail -n 30 /tmp/rescand.log"; false; }; } &&
	moved_ms=$(($(now_ms) - t0)) &&
	test "$(jq -r .device.name v.json)" = "$(link_field device.name)" &&
	t_done=$(guest_uptime) && wait_for 60 started_after w "$t_done" &&
	gap=$(longest_pause w "$t_sw" "$t_done") &&
	tap_note "switchover: linked on node 3 $moved_ms ms after the command (the test polling each second); the longest pause between two completed writes meanwhile: $gap ms" &&
	g "grep -E \"link v|map lunlink-v\" /tmp/rescand.log | tail -n 8" &&
	g "grep -q \" /mnt ext4 rw\" /proc/mounts" &&
	g dmesg >dmesg1 && ! grep -E "$EXT4_ERRORS" dmesg1
'

test_expect_success 'kill -9 of node 3'"'"'s tgtd and agent: node 2 is promoted, the map follows, the writer goes on' '
	# node 2'"'"'s copy is promotable only once resynced after the switchover
	# (the manager never promotes a copy that is behind)
	wait_for 120 legs_up v &&
	kill -9 $N3_PID && agent_kill 3 && t_kill=$(guest_uptime) && { wait $N3_PID 2>/dev/null; N3_PID=; } &&
	{ wait_for 120 moved_to 2 || { g "tail -n 30 /tmp/rescand.log"; false; }; } &&
	wait_for 60 started_after w "$t_kill" &&
	first=$(begun_after w "$t_kill" | cut -d" " -f1) &&
	tap_note "failover (lease_ms $LEASE_MS): the first write completed in the guest $(ms_between "$t_kill" "$first") ms after the kill" &&
	g "grep -q \" /mnt ext4 rw\" /proc/mounts" &&
	n=$(done_count w) && wait_for 30 done_at_least w $((n + 5)) &&
	g dmesg >dmesg2 &&
	grep -E "connection|session recovery|multipath|queue_if_no_path" dmesg2 | tail -n 20 &&
	! grep -E "$EXT4_ERRORS" dmesg2
'

test_expect_success 'every file the writer completed reads back right, uncached' '
	writer_reads_back w /mnt
'

test_expect_success 'unlink refused while the map is mounted; after umount the map and its paths go' '
	test_must_fail ctl unlink v --timeout 30 2>err &&
	cat err && grep -q "map lunlink-v" err && grep -q "/mnt" err &&
	g "umount /mnt" &&
	ctl unlink v --timeout 30 &&
	g "! DM_DISABLE_UDEV=1 dmsetup info lunlink-v >/dev/null 2>&1" &&
	wwid=$(jq -r .wwid v.json) &&
	g "! grep -l $wwid /sys/class/scsi_device/*/device/wwid"
'

test_done
