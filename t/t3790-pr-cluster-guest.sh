#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='fence_scsi through two nodes, in a QEMU guest: two nodes in namespaces each serve a pr=cluster LUN of one volume (its agents and the manager as in t3750); the guest logs in to both (two sessions, two disks, one VPD 0x83 identity); sg_persist registers the guest'"'"'s key through each path (two I_T nexuses, two registrations), reserves WRITE EXCLUSIVE REGISTRANTS ONLY through path 1 and reads it through path 2; a second initiator (t/helpers/iscsi-pr) registers through node 2 and PREEMPT AND ABORTs the guest'"'"'s key: the guest'"'"'s direct writes through both nodes fail with RESERVATION CONFLICT (kernel log), its reads do not, and its key is gone through both; the guest registers again (unfence) and writes through both nodes'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-cluster.sh"
. "$T_DIR/lib-guest.sh"

# The flow of fence_scsi (resource-agents) with every part real: each
# cluster node registers its key on every path of the shared disk and one
# of them holds a WRITE EXCLUSIVE, REGISTRANTS ONLY reservation (type 5);
# to fence a node, another PREEMPT AND ABORTs with the victim's key as
# the service action key, which removes the victim's registrations on
# every path at once; to unfence, the node registers again (REGISTER AND
# IGNORE EXISTING KEY).  Here the victim is the guest, one initiator
# name with a session to each node; the fencing node is the host's
# iscsi-pr as another initiator.  The two nodes' LUNs are not mirrored
# (each its own image of the volume): the test checks the reservation
# state they share, not the data.
#
# doc/reservations.md, "fence_scsi through two nodes", tells the story.

# set before any skip: the exit handlers read them
N=2
API_PORT=7790
JOIN_PORT=7791
test_have_prereq ROOT || skip_all "needs root (namespaces, tap devices)"
require_tgtd
test_have_prereq MODULE || skip_all "target/bs_lunlink.so not built (run make)"
. "$T_DIR/lib-policy-cluster.sh"
policy_cluster_prereqs
PR_TID=100	# the volume's target on each node
. "$T_DIR/lib-pr.sh"
pr_prereqs
GUEST_EXTRAS=sg_persist
guest_prepare || skip_all "$GUEST_SKIP"

guest_watchdog 600

VOL=0123456789abcdef00112233445566c7
# the volume's identity on both nodes' LUNs, as the agent sets it
# (doc/policy.md, "A volume's identity"): one WWID through both paths
SCSI_ID=6a11f00000000000000000000000c790
# the guest's key, as fence_scsi would make it for its node, and the
# fencing node's (HB, through node 2)
GK=9a01 FK=b2

tap_note() { printf '# %s\n' "$*" >&5; }
g() { guest_run G 60 "$1"; }

# The guest's helpers, in /tmp/pr.sh.  disk_at ADDR: the disk of the
# session to the portal at ADDR (waits up to 10 s for it); wr DISK: one
# 4 KiB O_DIRECT write at block 100 and its O_DIRECT read back, equal
# (dd's complaint in /tmp/dd.DISK); hctl DISK: its SCSI address, as the
# kernel log names it.
GUEST_LIB='
disk_at() {
	i=0
	while [ $i -lt 100 ]; do
		for s in /sys/class/iscsi_session/session*; do
			[ "$(cat $s/device/connection*/iscsi_connection/*/persistent_address)" = "$1" ] || continue
			for b in $s/device/target*/*/block/*; do
				[ -b /dev/${b##*/} ] && { echo ${b##*/}; return 0; }
			done
		done
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
wr() {
	head -c 4096 /dev/urandom >/tmp/w.$1 &&
	dd if=/tmp/w.$1 of=/dev/$1 bs=4096 seek=100 count=1 oflag=direct 2>/tmp/dd.$1 &&
	dd if=/dev/$1 of=/tmp/r.$1 bs=4096 skip=100 count=1 iflag=direct 2>/dev/null &&
	cmp /tmp/w.$1 /tmp/r.$1
}
hctl() { basename "$(readlink -f /sys/block/$1/device)"; }
'

test_expect_success 'two nodes, the manager on node 1, an agent with its pr socket on each' '
	policy_cluster_up
'

test_expect_success 'a pr=cluster LUN of one volume on each node, with the volume'"'"'s identity, gets the state' '
	for i in 1 2; do
		"$SRC_DIR/target/lunlink-image" create --size 16M --volume $VOL v$i.img >/dev/null &&
		tgtadm_on N$i --lld iscsi --mode target --op new --tid 100 \
			--targetname "$IQN_BASE:$TEST_NAME-100" &&
		lun_new N$i 100 1 "$TRASH/v$i.img" lunlink "pr=cluster;pr_socket=$TRASH/n$i/pr.sock" &&
		tgtadm_on N$i --lld iscsi --mode logicalunit --op update --tid 100 --lun 1 \
			--params "scsi_sn=ll-$VOL,scsi_id=$SCSI_ID" &&
		tgtadm_on N$i --lld iscsi --mode target --op bind --tid 100 --initiator-address ALL ||
		return 1
	done &&
	wait_for 20 pr_via N1 $HB read-keys &&
	wait_for 20 pr_via N2 $HB read-keys &&
	wait_for 10 pr_current $VOL 2
'

test_expect_success 'the guest logs in to both nodes: two sessions, two disks, one identity' '
	guest_bridge G &&
	guest_start G &&
	g "cat >/tmp/pr.sh <<\"EOF\"
$GUEST_LIB
EOF" &&
	g "ip route add default via 10.231.0.1" &&
	for i in 1 2; do
		a=$(node_addr $i) p=$(eval echo \$N${i}_PORT) &&
		g "iscsiadm -m discovery -t sendtargets -p $a:$p >/dev/null &&
		   iscsiadm -m node -p $a:$p --login >/dev/null" || return 1
	done &&
	g "iscsiadm.real -m session" >sessions && cat sessions &&
	test "$(wc -l <sessions)" = 2 &&
	d1=$(g ". /tmp/pr.sh; disk_at $(node_addr 1)") &&
	d2=$(g ". /tmp/pr.sh; disk_at $(node_addr 2)") &&
	echo "node 1: $d1, node 2: $d2" &&
	test -n "$d1" && test -n "$d2" && test "$d1" != "$d2" &&
	g "cat /sys/block/$d1/device/wwid /sys/block/$d2/device/wwid" >wwids && cat wwids &&
	printf "naa.%s\n" $SCSI_ID $SCSI_ID >expect && test_cmp expect wwids &&
	g "cmp /sys/block/$d1/device/vpd_pg83 /sys/block/$d2/device/vpd_pg83 && od -An -tx1 /sys/block/$d1/device/vpd_pg83"
'

test_expect_success 'the guest registers its key through each path: two registrations, every key through both' '
	g "sg_persist -n --out --register --param-sark=0x$GK /dev/$d1 &&
	   sg_persist -n --out --register --param-sark=0x$GK /dev/$d2" &&
	for d in $d1 $d2; do
		g "sg_persist -n --in --read-keys /dev/$d" >keys.$d && cat keys.$d &&
		test "$(grep -c "^ *0x$GK\$" keys.$d)" = 2 || return 1
	done &&
	g "sg_persist -n --in --read-full-status /dev/$d2" >full && cat full &&
	test "$(grep -c "iSCSI.*,i,0x" full)" = 2 &&
	test "$(grep "iSCSI.*,i,0x" full | sort -u | wc -l)" = 2 &&
	tap_note "one initiator name, two I_T nexuses: open-iscsi gave its sessions the ISIDs $(grep -o ",i,0x[0-9a-f]*" full | cut -c6- | tr "\n" " ")(tgt numbers the target port 1 on both nodes)" &&
	pr_via N1 $HB read-full-status >full.host && cat full.host &&
	test "$(grep -ci "^reg $GK holder 0 type 0 rtpi 1 all_tg_pt 0 id .*:guest-$TEST_NAME-g,i,0x" full.host)" = 2
'

test_expect_success 'WRITE EXCLUSIVE, REGISTRANTS ONLY through path 1: path 2 reads the holder, the guest writes through both' '
	g "sg_persist -n --out --reserve --param-rk=0x$GK --prout-type=5 /dev/$d1" &&
	g "sg_persist -n --in --read-reservation /dev/$d2" >resv && cat resv &&
	grep -q "Key=0x$GK" resv && grep -q "Write Exclusive, registrants only" resv &&
	answers "reservation $GK 5" pr_via N2 $HB read-reservation &&
	answers "RESERVATION CONFLICT" pr_via N2 $HB write 0 &&
	g ". /tmp/pr.sh; wr $d1 && wr $d2"
'

test_expect_success 'another initiator registers through node 2 and PREEMPT AND ABORTs the guest'"'"'s key (fence)' '
	answers GOOD pr_via N2 $HB register-ignore $FK &&
	answers GOOD pr_via N2 $HB preempt $FK $GK 5 abort &&
	answers "reservation $FK 5" pr_via N1 $HB read-reservation &&
	pr_via N1 $HB read-keys >keys.host && cat keys.host &&
	grep -x "key $FK" keys.host && ! grep -x "key $GK" keys.host &&
	ctl volume pr $VOL >pr.txt && cat pr.txt &&
	grep "PREEMPT AND ABORT from node n2" pr.txt
'

test_expect_success 'fenced: the guest'"'"'s writes through both nodes fail with RESERVATION CONFLICT, its reads do not, its key is gone through both' '
	g ". /tmp/pr.sh; dmesg -c >/dev/null;
	   for d in $d1 $d2; do ! wr \$d || { echo \"a write to \$d went through\"; exit 1; }; cat /tmp/dd.\$d; done" >fenced &&
	# a RESERVATION CONFLICT is BLK_STS_NEXUS in the block layer: EBADE
	cat fenced && test "$(grep -c "Invalid exchange" fenced)" = 2 &&
	g dmesg >dmesg.fenced && cat dmesg.fenced &&
	# on each session: REGISTRATIONS PREEMPTED (2A/05, "Parameters
	# changed"), the write retried, RESERVATION CONFLICT, not retried
	for d in $d1 $d2; do
		h=$(g ". /tmp/pr.sh; hctl $d") &&
		grep "sd $h: Parameters changed" dmesg.fenced &&
		grep "sd $h: reservation conflict" dmesg.fenced &&
		grep "critical nexus error, dev $d, sector 800 op 0x1:(WRITE)" dmesg.fenced || return 1
	done &&
	# reads still go through: type 5 refuses only writes
	g "for d in $d1 $d2; do dd if=/dev/\$d of=/dev/null bs=4096 count=1 skip=100 iflag=direct || exit 1; done" &&
	for d in $d1 $d2; do
		g "sg_persist -n --in --read-keys /dev/$d" >keys.$d && cat keys.$d &&
		grep -q "^ *0x$FK\$" keys.$d && ! grep -q "0x$GK" keys.$d || return 1
	done &&
	g "sg_persist -n --in --read-reservation /dev/$d1" >resv && cat resv &&
	grep -q "Key=0x$FK" resv
'

test_expect_success 'unfenced: the guest registers again through each path and writes through both nodes' '
	g "sg_persist -n --out --register-ignore --param-sark=0x$GK /dev/$d1 &&
	   sg_persist -n --out --register-ignore --param-sark=0x$GK /dev/$d2" &&
	g "sg_persist -n --in --read-keys /dev/$d1" >keys && cat keys &&
	test "$(grep -c "^ *0x$GK\$" keys)" = 2 && grep -q "^ *0x$FK\$" keys &&
	g ". /tmp/pr.sh; wr $d1 && wr $d2" &&
	answers "reservation $FK 5" pr_via N2 $HB read-reservation &&
	answers "RESERVATION CONFLICT" pr_via N1 $HA write 0
'

test_done
