#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the host side of failover, in a QEMU guest: one dm-multipath map over two nodes serving the same volume (same WWID); kill -9 of the first node'"'"'s tgtd while a writer writes through an ext4 file system on the map: it stays mounted and the writer resumes through the second path (time printed), and the path comes back with reinstate_path; the same with the node cut off instead of killed; the same with the node up but refusing for its lease (NOT READY, TARGET PORT IN STANDBY STATE: a path error, where DATA PROTECT is not); when the second node serves the LUN only seconds after the kill, the map queues until the guest adds the new path (dmsetup reload, or multipathd add path with multipathd running without udevd); sg_persist through each path shows per-node reservation state'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-cluster.sh"
. "$T_DIR/lib-guest.sh"

# Six storage nodes in namespaces (t/lib-cluster.sh), each with a stock
# tgtd serving target tid 1 on its address, and a guest whose namespace is
# bridged to theirs (as t/t3800), logged in to all six.  Volume V1 is
# served by nodes 1 and 2 at once (the standby case: node 1 killed, back,
# then cut off); V2 by node 3, and by
# node 4 only after node 3 died (the promotion case), with a map that
# dmsetup makes and reloads; V3 the same on nodes 5 and 6 with multipathd
# keeping the map.  Each node's LUN 1 is a lunlink LUN on its own image;
# the copies of one volume have its volume id (the host copies one image
# to the others while nothing serves them) and both nodes give the LUN the
# volume's identity (scsi_sn, scsi_id: tgtadm update, as the agent does),
# so the guest sees one WWID on both paths.  The images are not mirrored:
# only what was written before the copy is on every copy, which is what
# the test checks after a failover, with the files written after it.
#
# doc/initiator.md, "Failover on the host", has the settings, the times
# measured and what multipathd needs where there is no udevd.

N=6
test_have_prereq ROOT || skip_all "needs root (namespaces, tap devices)"
require_tgtd
GUEST_EXTRAS="multipath sg_persist"
guest_prepare || skip_all "$GUEST_SKIP"
IMG="$SRC_DIR/target/lunlink-image"

guest_watchdog 600

MB=32
# the guest's iSCSI timeouts: a dead path fails its I/O after
# REPLACEMENT s of recovery; an idle connection is checked every second
REPLACEMENT=${REPLACEMENT:-3}
# how long node 4 takes to serve V2 after node 3 died (the promotion)
PROMOTION=5
# the two volumes' identities (doc/policy.md, "A volume's identity")
ID1=6a11f0000000000000000000000000a1
ID2=6a11f0000000000000000000000000a2
ID3=6a11f0000000000000000000000000a3

tap_note() { printf '# %s\n' "$*" >&5; }
WRITER_GUEST=G
g() { guest_run G 30 "$1"; }

# identity NODE VOLID: node NODE's LUN 1 is that volume, as the agent says
identity() {
	tgtadm_on "N$1" --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 \
		--params "scsi_sn=ll-$2,scsi_id=$2"
}
# serve NODE IMAGE VOLID: LUN 1 of node NODE's target, with the identity
serve() { lun_new "N$1" 1 1 "$TRASH/$2" && identity "$1" "$3"; }

# The guest's helpers, in /tmp/mp.sh.  disk_at ADDR: the disk of the
# session whose portal is ADDR; dev_no DISK: its MAJ:MIN; rescan_at
# ADDR: scan that session for new LUNs; map_create NAME DISK [DISK2]: a
# multipath map, DISK's path in the active group, DISK2's in a standby
# one, queueing when no path is left; map_add NAME DISK: reload NAME
# with DISK as a second group (a noflush suspend: I/O may be queued);
# then t/lib-guest.sh's GUEST_WRITER (up, writer DIR P N).
GUEST_LIB='
export DM_DISABLE_UDEV=1
disk_at() {
	iscsiadm.real -m session -P 3 | awk -v p="$1:" "
		/Current Portal:/ { cur = index(\$3, p) == 1 }
		cur && /Attached scsi disk/ { print \$4; exit }"
}
dev_no() { cat /sys/block/$1/dev; }
sid_at() { iscsiadm.real -m session | awk -v p="$1:" "index(\$3, p) == 1 { gsub(/[][]/, \"\", \$2); print \$2 }"; }
rescan_at() { iscsiadm -m session -r "$(sid_at "$1")" --rescan >/dev/null; }
wait_disk_at() {
	i=0
	until [ -n "$(disk_at "$1")" ] && [ -b "/dev/$(disk_at "$1")" ] || [ $i -ge 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	disk_at "$1"
}
pg() { echo "round-robin 0 1 1 $(dev_no $1) 1"; }
map_create() {
	n=1 groups="$(pg $2)"
	[ -n "${3:-}" ] && n=2 groups="$groups $(pg $3)"
	dmsetup create "$1" --table "0 $(cat /sys/block/$2/size) multipath 1 queue_if_no_path 0 $n 1 $groups"
}
map_add() {
	dmsetup reload "$1" --table "$(dmsetup table "$1" | sed "s/ 0 1 1 / 0 2 1 /") $(pg $2)" &&
	dmsetup suspend --noflush "$1" && dmsetup resume "$1"
}
# path_join ADDR NAME WWID: what a host daemon does when a node starts
# serving a map'"'"'s volume: scan the session at ADDR, wait for its disk,
# check its WWID, add it to map NAME; prints "DISK T0 T1 T2" (uptimes:
# start, disk there, path added)
path_join() {
	t0=$(up) && rescan_at "$1" && d=$(wait_disk_at "$1") && [ -n "$d" ] && t1=$(up) &&
	[ "$(cat /sys/block/$d/device/wwid)" = "$3" ] && map_add "$2" "$d" && echo "$d $t0 $t1 $(up)"
}
# udev_stub DISK: what multipathd needs of udev for DISK, an entry for
# it in the udev database (any content: libudev then calls it
# initialized; the WWID comes from sysfs, uid_attribute "")
udev_stub() { mkdir -p /run/udev/data && echo I:1 >/run/udev/data/b$(dev_no $1); }
# mpath_dev WWID: the block device of the map multipathd made for WWID
mpath_dev() {
	for m in /sys/block/dm-*; do
		[ "$(cat $m/dm/uuid 2>/dev/null)" = "mpath-$1" ] && echo /dev/${m##*/}
	done
}
# mpathd_join ADDR WWID: path_join with multipathd: scan, wait, check,
# udev_stub, "multipathd add path"; prints "DISK T0 T1 T2"
mpathd_join() {
	t0=$(up) && rescan_at "$1" && d=$(wait_disk_at "$1") && [ -n "$d" ] && t1=$(up) &&
	[ "$(cat /sys/block/$d/device/wwid)" = "$2" ] && udev_stub $d &&
	multipathd add path $d >/dev/null && echo "$d $t0 $t1 $(up)"
}
'"$GUEST_WRITER"

test_expect_success 'six nodes with their tgtds, a guest bridged to them, logged in to every node' '
	cluster_up $N &&
	for i in $(seq $N); do
		node_tgtd_start $i && target_new N$i 1 || return 1
	done &&
	"$IMG" create --size ${MB}M a.img >/dev/null &&
	serve 1 a.img $ID1 &&
	guest_bridge G &&
	guest_start G &&
	g "cat >/tmp/mp.sh <<\"EOF\"
$GUEST_LIB
EOF" &&
	g "ip route add default via 10.231.0.1" &&
	for i in $(seq $N); do
		a=$(node_addr $i) p=$(eval echo \$N${i}_PORT) &&
		g "iscsiadm -m discovery -t sendtargets -p $a:$p >/dev/null &&
		   iscsiadm -m node -p $a:$p -o update -n node.session.timeo.replacement_timeout -v $REPLACEMENT &&
		   iscsiadm -m node -p $a:$p -o update -n node.conn[0].timeo.noop_out_interval -v 1 &&
		   iscsiadm -m node -p $a:$p -o update -n node.conn[0].timeo.noop_out_timeout -v 2 &&
		   iscsiadm -m node -p $a:$p --login >/dev/null" || return 1
	done &&
	g "iscsiadm.real -m session" >sessions && cat sessions &&
	test "$(wc -l <sessions)" = $N
'

test_expect_success 'the guest makes ext4 on node 1'"'"'s LUN and writes the files every copy will hold' '
	d=$(g ". /tmp/mp.sh; wait_disk_at $(node_addr 1)") && test -n "$d" &&
	g "/sbin/mke2fs -q -t ext4 /dev/$d && mkdir -p /mnt && mount -t ext4 /dev/$d /mnt &&
	   for i in 1 2 3 4 5 6 7 8; do head -c 65536 /dev/urandom >/mnt/pre\$i || exit 1; done &&
	   cd /mnt && sha256sum pre* >/tmp/pre.sums && cd / && umount /mnt" &&
	g "cat /tmp/pre.sums" >pre.sums && test "$(wc -l <pre.sums)" = 8
'

test_expect_success 'the copies: node 1'"'"'s image, with its volume id, to every other node; nodes 2 and 3 serve theirs, one WWID per volume' '
	for c in b c d e f; do cp --sparse=always a.img $c.img || return 1; done &&
	test "$("$IMG" show --json b.img | jq -r .volume)" = "$("$IMG" show --json a.img | jq -r .volume)" &&
	serve 2 b.img $ID1 && serve 3 c.img $ID2 &&
	for i in 2 3; do g ". /tmp/mp.sh; rescan_at $(node_addr $i)" || return 1; done &&
	d1=$(g ". /tmp/mp.sh; wait_disk_at $(node_addr 1)") &&
	d2=$(g ". /tmp/mp.sh; wait_disk_at $(node_addr 2)") &&
	d3=$(g ". /tmp/mp.sh; wait_disk_at $(node_addr 3)") &&
	echo "V1: node 1 $d1, node 2 $d2; V2: node 3 $d3" &&
	test -n "$d1" && test -n "$d2" && test -n "$d3" &&
	w1=$(g "cat /sys/block/$d1/device/wwid") && w2=$(g "cat /sys/block/$d2/device/wwid") &&
	w3=$(g "cat /sys/block/$d3/device/wwid") &&
	echo "WWIDs: $w1 $w2 $w3" &&
	test "$w1" = "naa.$ID1" && test "$w2" = "$w1" && test "$w3" = "naa.$ID2"
'

test_expect_success 'sg_persist: a key registered and a reservation taken through node 1'"'"'s path show on node 1 only' '
	g "sg_persist --out --register --param-sark=0x1a11 /dev/$d1 &&
	   sg_persist --out --reserve --param-rk=0x1a11 --prout-type=5 /dev/$d1" &&
	g "sg_persist --in --read-keys /dev/$d1" >keys1 && cat keys1 &&
	grep -q "0x1a11" keys1 &&
	g "sg_persist --in --read-reservation /dev/$d1" >resv1 && cat resv1 &&
	grep -q "Key=0x1a11" resv1 && grep -q "Write Exclusive, registrants only" resv1 &&
	g "sg_persist --in --read-keys /dev/$d2" >keys2 && cat keys2 &&
	grep -q "there are NO registered reservation keys" keys2 &&
	g "sg_persist --in --read-reservation /dev/$d2" >resv2 && cat resv2 &&
	grep -q "there is NO reservation held" resv2 &&
	tap_note "sg_persist: the key and WE_RO reservation taken through node 1 are invisible through node 2 (pr=local: each LUN its own state)" &&
	g "sg_persist --out --release --param-rk=0x1a11 --prout-type=5 /dev/$d1 &&
	   sg_persist --out --register --param-rk=0x1a11 --param-sark=0 /dev/$d1" &&
	g "sg_persist --in --read-keys /dev/$d1" | grep -q "there are NO registered reservation keys"
'

test_expect_success 'V1: a multipath map, node 1 active and node 2 standby, ext4 mounted, a writer writing' '
	g ". /tmp/mp.sh; map_create v1 $d1 $d2 && dmsetup table v1 && dmsetup status v1" >map1 && cat map1 &&
	g "cat /sys/module/dm_multipath/parameters/queue_if_no_path_timeout_secs" &&
	g "mkdir -p /mnt && mount -t ext4 /dev/mapper/v1 /mnt && cd /mnt && sha256sum -c /tmp/pre.sums" &&
	g ". /tmp/mp.sh; writer /mnt w 2000 >/dev/null 2>&1 &" &&
	wait_for 30 done_at_least w 5
'

test_expect_success 'V1: kill -9 node 1'"'"'s tgtd: the writer goes on through node 2, the file system mounted' '
	before=$(done_count w) &&
	kill -9 $N1_PID && t_kill=$(guest_uptime) && { wait $N1_PID 2>/dev/null; N1_PID=; } &&
	last=$(g "grep -v ^END /tmp/w.done | tail -n 1 | cut -d\" \" -f1") &&
	wait_for 60 started_after w "$t_kill" &&
	first=$(done_after w "$t_kill" | cut -d" " -f1) &&
	ms=$(ms_between "$t_kill" "$first") && gap=$(ms_between "$last" "$first") &&
	tap_note "V1 failover (standby path, replacement_timeout $REPLACEMENT s): first write completed $ms ms after the kill (gap between writes $gap ms; $before files before)" &&
	g "dmsetup status v1" >status1 && cat status1 &&
	grep -q " $(g "cat /sys/block/$d1/dev") F " status1 &&
	grep -q " $(g "cat /sys/block/$d2/dev") A " status1 &&
	g "grep -q \" /mnt ext4 rw\" /proc/mounts" &&
	n=$(done_count w) && wait_for 30 done_at_least w $((n + 5)) &&
	g dmesg >dmesg1 &&
	grep -E "connection|session recovery|multipath|rejecting|I/O error" dmesg1 | tail -n 20 &&
	! grep -E "$EXT4_ERRORS" dmesg1
'

# post_sums P T: the "SHA256  NAME" list of the files writer P started
# after the guest's uptime T, read after the kill (those that went through
# the new path only)
post_sums() { g "awk -v t=$2 '\$2 > t && !/^END/ { print \$3 \"  \" \$4 }' /tmp/$1.done >/tmp/$1.post && wc -l </tmp/$1.post"; }

test_expect_success 'V1: uncached, the files on both copies and those written after the failover read back right' '
	g "touch /mnt/.stop" && wait_for 30 writer_ended w &&
	g "! test -s /tmp/w.err || { cat /tmp/w.err; false; }" &&
	n=$(post_sums w "$t_kill") && echo "$n files written after the failover" && test "$n" -ge 5 &&
	g "sync && echo 3 >/proc/sys/vm/drop_caches && cd /mnt && sha256sum -c /tmp/pre.sums && sha256sum -c /tmp/w.post" >sums1 &&
	test "$(grep -c ": OK\$" sums1)" = $((8 + n)) &&
	g "umount /mnt"
'

# goes_on_and_reads_back P MNT T: after a failover, MNT is still mounted
# read-write and writer P completes 5 more files, then stops without an
# error; the files every copy holds (pre.sums) and the 5 or more P began
# after the guest's uptime T read back right, uncached; no ext4 error in
# the guest's log; MNT unmounted
goes_on_and_reads_back() {
	local p=$1 mnt=$2 n
	g "grep -q \" $mnt ext4 rw\" /proc/mounts" &&
	n=$(done_count $p) && wait_for 30 done_at_least $p $((n + 5)) &&
	g "touch $mnt/.stop" && wait_for 30 writer_ended $p &&
	g "! test -s /tmp/$p.err || { cat /tmp/$p.err; false; }" &&
	n=$(post_sums $p "$3") && test "$n" -ge 5 &&
	g "sync && echo 3 >/proc/sys/vm/drop_caches && cd $mnt && sha256sum -c /tmp/pre.sums && sha256sum -c /tmp/$p.post" >sums.$p &&
	test "$(grep -c ": OK\$" sums.$p)" = $((8 + n)) &&
	g dmesg >dmesg.$p && ! grep -E "$EXT4_ERRORS" dmesg.$p &&
	g "umount $mnt"
}

# goes_on_rw P MNT: MNT still mounted read-write, writer P completes 5 more
# files
goes_on_rw() {
	local n
	g "grep -q \" $2 ext4 rw\" /proc/mounts" &&
	n=$(done_count $1) && wait_for 30 done_at_least $1 $((n + 5))
}

# disk_running DISK: its SCSI device is back in service (its session
# logged in again)
disk_running() { test "$(g "cat /sys/block/$1/device/state")" = running; }

test_expect_success 'V1 back to node 1 with the current copy: its session returns by itself, its path only with reinstate_path' '
	cp --sparse=always b.img a.img &&
	TGTD_PORT=$N1_PORT && node_tgtd_start 1 && unset TGTD_PORT &&
	target_new N1 1 && serve 1 a.img $ID1 && t_back=$(guest_uptime) &&
	wait_for 60 disk_running $d1 && t_run=$(guest_uptime) &&
	tap_note "V1: node 1 served again; its session back in service $(ms_between "$t_back" "$t_run") ms later (iscsid retries by itself)" &&
	dev1=$(g "cat /sys/block/$d1/dev") &&
	sleep 2 && g "dmsetup status v1" >st && cat st &&
	grep -q " $dev1 F " st &&
	g "dmsetup message v1 0 reinstate_path $dev1 && dmsetup message v1 0 switch_group 1" &&
	g "mount -t ext4 /dev/mapper/v1 /mnt && cd /mnt && sha256sum -c /tmp/pre.sums && sha256sum -c /tmp/w.post && cd / && umount /mnt" >sums1b &&
	test "$(grep -c ": OK\$" sums1b)" = "$(grep -c ": OK\$" sums1)" &&
	g "dmsetup status v1" >st && cat st &&
	grep -q " 2 1 A 0 1 0 $dev1 A [0-9]* " st
'

test_expect_success 'V1 again, node 1 cut off (its link down: no reset): the no-op finds it, the writer goes on through node 2' '
	g "mount -t ext4 /dev/mapper/v1 /mnt && rm -f /mnt/.stop" &&
	g ". /tmp/mp.sh; writer /mnt z 2000 >/dev/null 2>&1 &" &&
	wait_for 30 done_at_least z 5 &&
	node_cut 1 && t_cut=$(guest_uptime) &&
	wait_for 60 started_after z "$t_cut" &&
	first=$(done_after z "$t_cut" | cut -d" " -f1) &&
	tap_note "V1 partition (noop_out 1 s/2 s, replacement_timeout $REPLACEMENT s): first write completed $(ms_between "$t_cut" "$first") ms after the cut" &&
	g "dmsetup status v1" >status1c && cat status1c &&
	grep -q " $dev1 F " status1c &&
	g dmesg | grep -E "ping timeout|conn error|session recovery|Failing path" | tail -n 6 &&
	g "touch /mnt/.stop" && wait_for 30 writer_ended z &&
	g "! test -s /tmp/z.err || { cat /tmp/z.err; false; }" &&
	n=$(post_sums z "$t_cut") && test "$n" -ge 1 &&
	g "sync && echo 3 >/proc/sys/vm/drop_caches && cd /mnt && sha256sum -c /tmp/pre.sums && sha256sum -c /tmp/z.post" >sums1c &&
	test "$(grep -c ": OK\$" sums1c)" = $((8 + n)) &&
	g dmesg >dmesg1c && ! grep -E "$EXT4_ERRORS" dmesg1c &&
	g "umount /mnt" && node_heal 1
'

# V1 once more, node 1 alive but refusing.  Node 1's LUN is made again as
# a mirror with lease=on;lease_loss=fail whose leg is node 2's image (a raw
# LUN 2 of node 2 over b.img, the file node 2's LUN 1 serves), so every
# write node 1 acknowledges is on node 2's copy too.  Node 1 then loses
# its lease (lease=release, as when its agent stops renewing it) but
# stays up and reachable: the writer's next write gets NOT READY, TARGET
# PORT IN STANDBY STATE (2/04/0B), which the guest's kernel counts a path
# error: dm-multipath fails node 1's path (the session stays up) and sends
# the write to node 2, and ext4 never hears of it.
n1_status() { echo "/run/lunlink/c${N1_CTL}-t1-l1.status"; }
n1_leg_up() { test "$(leg_state_in "$(n1_status)" 1)" = up; }
n1_lease() {
	tgtadm_on N1 --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params "lease=$1"
}

test_expect_success 'V1 again, node 1 a lease=on mirror (lease_loss=fail) whose leg is node 2'"'"'s copy; its path active, a writer writing' '
	wait_for 60 disk_running $d1 &&
	tgtadm_on N1 --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1 &&
	cp --sparse=always b.img a.img &&
	lun_new N2 1 2 "$TRASH/b.img" lunlink raw=on &&
	lun_new N1 1 1 "$TRASH/a.img" lunlink "mirror=$(url N2 1 2);lease=on;lease_loss=fail" &&
	identity 1 $ID1 && n1_lease 1:600000 &&
	wait_for 30 n1_leg_up &&
	g "dmsetup message v1 0 reinstate_path $dev1 && dmsetup message v1 0 switch_group 1" &&
	g "mount -t ext4 /dev/mapper/v1 /mnt && rm -f /mnt/.stop && cd /mnt && sha256sum -c /tmp/pre.sums" &&
	g ". /tmp/mp.sh; writer /mnt q 2000 >/dev/null 2>&1 &" &&
	wait_for 30 done_at_least q 5 &&
	g "dmsetup status v1" >st && cat st &&
	grep -q " 2 1 A 0 1 0 $dev1 A [0-9]* " st && n1_leg_up
'

test_expect_success 'V1: node 1 loses its lease but stays up: it answers 2/04/0B, dm-multipath fails its path, the writer goes on through node 2, ext4 rw and silent' '
	g dmesg >dmesg.before &&
	n1_lease release && t_rel=$(guest_uptime) &&
	wait_for 60 started_after q "$t_rel" &&
	first=$(done_after q "$t_rel" | cut -d" " -f1) &&
	tap_note "V1 lease lost on a live node 1 (2/04/0B): first write completed $(ms_between "$t_rel" "$first") ms after lease=release" &&
	g "dmsetup status v1" >status1l && cat status1l &&
	dev2=$(g "cat /sys/block/$d2/dev") &&
	grep -q " $dev1 F " status1l && grep -q " $dev2 A " status1l &&
	disk_running $d1 &&
	wait_for 5 eval "join_log \"\$N1_LOG\" | grep -qF \"fails (NOT READY, TARGET PORT IN STANDBY STATE): this node holds no write-ownership lease (lease_loss=fail)\"" &&
	g dmesg >dmesg.after &&
	diff dmesg.before dmesg.after | sed -n "s/^> //p" >dmesg.new &&
	grep -E "Sense Key|Add. Sense|error, dev|Failing path" dmesg.new | head -n 8 | while read -r l; do tap_note "guest: $l"; done &&
	grep -q "Add. Sense: Logical unit not accessible, target port in standby state" dmesg.new &&
	grep -q "Failing path $dev1" dmesg.new &&
	goes_on_rw q /mnt &&
	! grep -E "$EXT4_ERRORS" dmesg.after
'

test_expect_success 'V1: every file of that writer reads back right through node 2, uncached, those node 1 acknowledged too (its leg was node 2'"'"'s copy); reads through node 1 are refused' '
	writer_reads_back q /mnt && echo "$(cat q.count) files" &&
	g "cd /mnt && sha256sum -c /tmp/pre.sums" &&
	g "umount /mnt" &&
	! g "dd if=/dev/$d1 of=/dev/null bs=4096 count=1 iflag=direct" &&
	wait_for 5 eval "join_log \"\$N1_LOG\" | grep -qF \"a read at offset\"" &&
	g dmesg >dmesg1l && ! grep -E "$EXT4_ERRORS" dmesg1l
'

# The other half of the kernel fact, measured: DATA PROTECT, WRITE
# PROTECTED (7/27/00, what a lease refusal answered before, and what a
# read-only LUN answers) is not a path error: the write fails up at once
# and the path stays active.  Node 2's LUN made read-only (tgt's
# readonly=1, after the guest's scan, so the guest still writes to it).
test_expect_success 'V1: DATA PROTECT (7/27/00) from node 2, for contrast: the write fails up, dm-multipath keeps the path' '
	tgtadm_on N2 --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params readonly=1 &&
	g dmesg >dmesg.before &&
	! g "timeout 20 dd if=/dev/zero of=/dev/mapper/v1 bs=4096 count=1 seek=8000 oflag=direct 2>/tmp/dp.err" &&
	g "cat /tmp/dp.err" >dp.err && cat dp.err &&
	tgtadm_on N2 --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params readonly=0 &&
	g "dmsetup status v1" >status1p && cat status1p &&
	grep -q " $dev2 A " status1p &&
	g dmesg >dmesg.after &&
	diff dmesg.before dmesg.after | sed -n "s/^> //p" >dmesg.new &&
	grep -E "Sense Key|Add. Sense|error, dev" dmesg.new | head -n 6 | while read -r l; do tap_note "guest: $l"; done &&
	tap_note "dd through the map: $(grep -v records dp.err)" &&
	grep -q "Add. Sense: Write protected" dmesg.new &&
	grep -q "critical target error, dev dm-" dmesg.new &&
	! grep -q "Failing path" dmesg.new
'

test_expect_success 'V2: a map over node 3'"'"'s path alone (node 4 serves nothing yet), ext4 mounted, a writer writing' '
	g "echo 60 >/sys/module/dm_multipath/parameters/queue_if_no_path_timeout_secs" &&
	g ". /tmp/mp.sh; map_create v2 $d3 && dmsetup table v2" &&
	g "mkdir -p /mnt2 && mount -t ext4 /dev/mapper/v2 /mnt2 && cd /mnt2 && sha256sum -c /tmp/pre.sums" &&
	g ". /tmp/mp.sh; writer /mnt2 x 2000 >/dev/null 2>&1 &" &&
	wait_for 30 done_at_least x 5
'

# map_queueing NAME: every path of the map has failed ("MAJ:MIN F" in its
# status, none "A") and its table queues when no path is left
map_queueing() {
	g "dmsetup status $1; dmsetup table $1" >map.now &&
	grep -q " [0-9]*:[0-9]* F " map.now && ! grep -q " [0-9]*:[0-9]* A " map.now &&
	grep -q " queue_if_no_path " map.now
}

test_expect_success 'V2: kill -9 node 3'"'"'s tgtd: the map queues, no write fails, none completes' '
	kill -9 $N3_PID && t_kill2=$(guest_uptime) && { wait $N3_PID 2>/dev/null; N3_PID=; } &&
	wait_for 20 map_queueing v2 &&
	t_queue=$(guest_uptime) && n_queue=$(done_count x) &&
	sleep $PROMOTION &&
	g "dmsetup status v2" &&
	test "$(done_count x)" = "$n_queue" &&
	g "! test -s /tmp/x.err || { cat /tmp/x.err; false; }" &&
	tap_note "V2: the map queues $(ms_between "$t_kill2" "$t_queue") ms after the kill (path failed after replacement_timeout $REPLACEMENT s)"
'

test_expect_success 'V2: node 4 serves the volume; the guest scans, adds the path, and the queued writes complete' '
	serve 4 d.img $ID2 && t_serve=$(guest_uptime) &&
	g ". /tmp/mp.sh; path_join $(node_addr 4) v2 naa.$ID2" >join && read -r d4 t0 t1 t2 <join &&
	g "dmsetup table v2 && dmsetup status v2" &&
	wait_for 30 started_after x "$t_kill2" &&
	first2=$(g "sed -n $((n_queue + 1))p /tmp/x.done" | cut -d" " -f1) &&
	tap_note "V2 promotion: LUN served $(ms_between "$t_kill2" "$t_serve") ms after the kill; in the guest, the scan gave $d4 in $(ms_between "$t0" "$t1") ms, the reload took $(ms_between "$t1" "$t2") ms; first write completed $(ms_between "$t_serve" "$first2") ms after the LUN was served, $(ms_between "$t_kill2" "$first2") ms after the kill" &&
	goes_on_and_reads_back x /mnt2 "$t_kill2"
'

# multipathd's configuration for V3: one map per WWID even with one path,
# named by its WWID; the failover policy (a group per path); queue when no
# path is left; the checker every second; the map usable at once though
# no udev event for it will ever come (missing_uev_wait_timeout);
# fast_io_fail_tmo, which multipathd writes into each iSCSI session's
# recovery_tmo, as our replacement_timeout
MPATH_CONF="defaults {
	find_multipaths no
	user_friendly_names no
	uid_attribute \"\"
	path_grouping_policy failover
	no_path_retry queue
	polling_interval 1
	max_polling_interval 1
	missing_uev_wait_timeout 1
	fast_io_fail_tmo $REPLACEMENT
}"

test_expect_success 'V3: multipathd in the guest, without udevd, makes the map over node 5'"'"'s path; ext4 mounted, a writer writing' '
	serve 5 e.img $ID3 &&
	d5=$(g ". /tmp/mp.sh; rescan_at $(node_addr 5) && wait_disk_at $(node_addr 5)") && test -n "$d5" &&
	g "cat >/etc/multipath.conf <<\"EOF\"
$MPATH_CONF
EOF" &&
	g ". /tmp/mp.sh; udev_stub $d5 && (multipathd -d -s >/tmp/mpd.log 2>&1 &)" &&
	wait_for 20 g ". /tmp/mp.sh; test -n \"\$(mpath_dev 3$ID3)\"" &&
	g "multipathd show paths; multipathd show maps; dmsetup table" &&
	g ". /tmp/mp.sh; mkdir -p /mnt3 && mount -t ext4 \$(mpath_dev 3$ID3) /mnt3 && cd /mnt3 && sha256sum -c /tmp/pre.sums" &&
	g ". /tmp/mp.sh; writer /mnt3 y 2000 >/dev/null 2>&1 &" &&
	wait_for 30 done_at_least y 5
'

test_expect_success 'V3: kill -9 node 5'"'"'s tgtd: multipathd'"'"'s map queues' '
	kill -9 $N5_PID && t_kill3=$(guest_uptime) && { wait $N5_PID 2>/dev/null; N5_PID=; } &&
	mp3=$(g ". /tmp/mp.sh; mpath_dev 3$ID3") && mp3=${mp3#/dev/} &&
	wait_for 20 map_queueing 3$ID3 &&
	t_queue3=$(guest_uptime) && n_queue3=$(done_count y) &&
	sleep $PROMOTION &&
	test "$(done_count y)" = "$n_queue3" &&
	g "! test -s /tmp/y.err || { cat /tmp/y.err; false; }" &&
	tap_note "V3: multipathd'"'"'s map queues $(ms_between "$t_kill3" "$t_queue3") ms after the kill"
'

test_expect_success 'V3: node 6 serves the volume; the guest scans, multipathd adds the path when told, the writes complete' '
	serve 6 f.img $ID3 && t_serve3=$(guest_uptime) &&
	g ". /tmp/mp.sh; mpathd_join $(node_addr 6) naa.$ID3" >join3 && read -r d6 t0 t1 t2 <join3 &&
	g "multipathd show paths; dmsetup table 3$ID3; dmsetup status 3$ID3" &&
	wait_for 30 started_after y "$t_kill3" &&
	first3=$(g "sed -n $((n_queue3 + 1))p /tmp/y.done" | cut -d" " -f1) &&
	tap_note "V3 promotion with multipathd: LUN served $(ms_between "$t_kill3" "$t_serve3") ms after the kill; the scan gave $d6 in $(ms_between "$t0" "$t1") ms, multipathd add path took $(ms_between "$t1" "$t2") ms; first write completed $(ms_between "$t_serve3" "$first3") ms after the LUN was served, $(ms_between "$t_kill3" "$first3") ms after the kill" &&
	goes_on_and_reads_back y /mnt3 "$t_kill3"
'

# path_state DISK: multipathd's dm_st and chk_st for DISK ("active ready")
path_state() { g "multipathd show paths format \"%d %t %T\"" | awk -v d="$1" '$1 == d { print $2, $3 }'; }
path_is() { test "$(path_state "$1")" = "$2"; }

test_expect_success 'V3: node 5 back, exporting the volume'"'"'s identity on its stale copy: multipathd reinstates its path by itself' '
	path_is $d5 "failed faulty" &&
	TGTD_PORT=$N5_PORT && node_tgtd_start 5 && unset TGTD_PORT &&
	target_new N5 1 && serve 5 e.img $ID3 && t_back3=$(guest_uptime) &&
	wait_for 30 path_is $d5 "active ready" && t_re=$(guest_uptime) &&
	tap_note "V3: node 5 back; multipathd reinstated its (stale) path $(ms_between "$t_back3" "$t_re") ms later, unasked: an old primary must not export the identity" &&
	g "multipathd show paths; dmsetup status 3$ID3"
'

test_done
