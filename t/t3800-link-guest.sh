#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='lunlinkctl link to a real Linux host: lunlink-rescand in a QEMU guest joins the manager, a volume linked to it appears as its disk with the volume'"'"'s WWID and size, holds what the guest writes, a second one appears beside it; unlink refused while mounted, clean after; a lent volume and a host that is down are refused; a reused LUN number never shows old data'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-cluster.sh"
. "$T_DIR/lib-policy-cluster.sh"
. "$T_DIR/lib-guest.sh"

# The story of doc/link.md with every part real: two storage nodes in
# network namespaces (t/lib-cluster.sh), each with its tgtd and its agent,
# the manager on node 1 (t/lib-policy-cluster.sh), and a Debian 12 guest
# (t/lib-guest.sh: Linux 6.1, open-iscsi 2.1.8) running the dynamically
# linked lunlink-rescand, with its shared libraries, its configuration and
# the cluster CA copied in through GUEST_FILES.  The guest's namespace is
# joined to the cluster's bridge by a veth and forwards between its tap
# and the bridge; the nodes route the guest's 10.231.0.0/24 through it.
#
# The tgtd is lunlink's patched one (Async Messages) when built, or
# LINK_TGTD=stock (t/t3810-link-guest-stock.sh) Debian's: then nothing but
# the host's own targeted scan brings a LUN, which is the point.

# set before any skip: the exit handlers read them
BOUND=20
N=2
API_PORT=7700
JOIN_PORT=7701
HOST=g1
times=
test_have_prereq ROOT || skip_all "needs root (namespaces, tap devices)"
test_have_prereq TGTD || skip_all "tgtd/tgtadm not installed (run make setup)"
test_have_prereq MODULE || skip_all "target/bs_lunlink.so not built (run make)"
policy_cluster_prereqs
RESCAND="$SRC_DIR/initiator/lunlink-rescand"
[ -x "$RESCAND" ] || skip_all "initiator/lunlink-rescand not built (run make)"
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
case "${LINK_TGTD:-patched}" in
patched)
	[ -x "$PATCHED" ] || skip_all "the patched tgtd is not built (make tgtd); t3810 runs the stock one"
	TGTD=$PATCHED ;;
stock) ;;
*) skip_all "LINK_TGTD=$LINK_TGTD: patched or stock" ;;
esac
guest_prepare || skip_all "$GUEST_SKIP"

# The bound `lunlinkctl link` must return within, from the command to the
# device reported: the host polls its desired links every heartbeat (1 s
# here), logs in, scans, the kernel probes, under software emulation on a
# shared machine.  Typically 2 to 4 s.
guest_watchdog 600

tap_note() { printf '# %s\n' "$*" >&5; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

host_state() { ctl --json host list | jq -r ".hosts[] | select(.name == \"$1\") | .state"; }
host_is() { test "$(host_state "$1")" = "$2"; }
# a link's field as the host list shows it
link_field() {
	ctl --json host list |
		jq -r ".hosts[] | select(.name == \"$HOST\") | .links[] | select(.volume == \"$1\") | .$2"
}
CLIENT=iqn.2026-11.org.lunlink:test-client

# g CMD: a command in the guest (named h: an initiator name is lower case), 30 s at most
g() { guest_run h 30 "$1"; }
# the guest's pattern for volume $1: 64 KiB a shell can make on both sides
pattern() { yes "lunlink $1 written by the guest" | head -c 65536; }

test_expect_success 'two nodes in namespaces with their tgtds, the manager and two agents' '
	policy_cluster_up
'

test_expect_success 'volumes: three on node 2, one on node 1 lent to another initiator' '
	ctl volume create v1 --way single --size 64M --on n2 &&
	ctl volume create v2 --way single --size 32M --on n2 &&
	ctl volume create v3 --way single --size 32M --on n2 &&
	ctl volume create v4 --way single --size 16M --on n1 &&
	for v in v1 v2 v3 v4; do wait_for 30 vol_is $v ready || return 1; done &&
	ctl lend v4 --to $CLIENT
'

test_expect_success 'the guest boots and reaches the cluster through its namespace' '
	guest_bridge h &&
	files="$(guest_rescand_files "https://$MGR_ADDR:$API_PORT" $HOST $JOIN_PORT "$TRASH/mgr/ca/ca.crt")" &&
	GUEST_FILES=$files guest_start h &&
	g "ip route add default via 10.231.0.1 && ping -c 1 -W 5 $MGR_ADDR"
'

test_expect_success 'lunlink-rescand joins with a host token, registers and heartbeats' '
	tok=$(ctl token create --role host) &&
	g "/sbin/lunlink-rescand -f -v --join $tok >/tmp/rescand.log 2>&1 & echo \$! >/tmp/rescand.pid" &&
	{ wait_for 30 host_is $HOST online || { g "date; cat /tmp/rescand.log"; false; }; } &&
	ctl --json host list >hosts.json &&
	guest_init=$(g "sed -n s/^InitiatorName=//p /etc/iscsi/initiatorname.iscsi") &&
	test "$(jq -r ".hosts[] | select(.name == \"$HOST\") | .initiator" hosts.json)" = "$guest_init" &&
	ctl host list
'

# link_timed VOL: link it, print the time, keep its record in VOL.json
link_timed() {
	local t0 ms
	t0=$(now_ms) &&
	ctl --json link "$1" --to $HOST --timeout 60 >"$1.json" &&
	ms=$(($(now_ms) - t0)) &&
	tap_note "${LINK_TGTD:-patched} tgtd: lunlinkctl link $1 returned in $ms ms (bound $BOUND s); host steps:" \
		"$(jq -c "{steps}" "$1.json")" &&
	times="$times $1=$ms" &&
	test $ms -le $((BOUND * 1000))
}
dev_of() { jq -r .device.name "$1.json"; }
lun_of() { link_field "$1" lun; }

test_expect_success 'lunlinkctl link returns the guest'"'"'s device within the bound, with the volume'"'"'s WWID and size' '
	link_timed v1 &&
	dev=$(dev_of v1) && test -n "$dev" && test "$dev" != null &&
	wwid=$(jq -r .device.wwid v1.json) &&
	test "$wwid" = "$(jq -r .wwid v1.json)" &&
	g "cat /sys/block/$dev/device/wwid" >gw && echo "$wwid" >expect && test_cmp expect gw &&
	g "cat /sys/block/$dev/size" >gs && echo $((64 * 2048)) >expect && test_cmp expect gs &&
	test "$(jq -r .device.by_id v1.json)" = "/dev/disk/by-id/wwn-0x${wwid#naa.}"
'

test_expect_success 'data the guest writes to the device is in the volume, read on the node' '
	dev=$(dev_of v1) &&
	g "yes \"lunlink v1 written by the guest\" | head -c 65536 | dd of=/dev/$dev bs=65536 seek=16 conv=fsync 2>&1" &&
	pattern v1 >expect &&
	path=$(ctl --json volume show v1 | jq -r ".parts[0].path") &&
	data_of 2048 128 "$path" >got && test_cmp expect got
'

test_expect_success 'a second volume linked to the host appears beside the first' '
	link_timed v2 &&
	test "$(dev_of v2)" != "$(dev_of v1)" &&
	g "test -b /dev/$(dev_of v1) && test -b /dev/$(dev_of v2) && cat /sys/block/$(dev_of v2)/device/wwid" >w2 &&
	test "$(cat w2)" = "$(jq -r .device.wwid v2.json)" &&
	test "$(lun_of v2)" -gt "$(lun_of v1)"
'

test_expect_success 'unlink of a mounted device is refused, naming the mount point' '
	dev=$(dev_of v1) &&
	g "/sbin/mke2fs -q -F /dev/$dev && mkdir -p /mnt/v1 && mount /dev/$dev /mnt/v1 && echo kept >/mnt/v1/f" &&
	test_must_fail ctl unlink v1 --timeout 30 2>err &&
	cat err && grep -q "/mnt/v1" err &&
	g "test -b /dev/$dev && cat /mnt/v1/f" >f && echo kept >expect && test_cmp expect f
'

test_expect_success 'after umount, unlink succeeds and leaves no stale device' '
	dev=$(dev_of v1) && wwid=$(jq -r .device.wwid v1.json) &&
	g "umount /mnt/v1" &&
	ctl unlink v1 --timeout 30 &&
	g "! test -e /sys/block/$dev && ! grep -l $wwid /sys/class/scsi_device/*/device/wwid"
'

test_expect_success 'a volume lent to another initiator cannot be linked' '
	test_must_fail ctl link v4 --to $HOST 2>err &&
	cat err && grep -q "lent" err
'

test_expect_success 'a volume unlinked can be linked again' '
	link_timed v1 &&
	g "cat /sys/block/$(dev_of v1)/device/wwid" >w1 && test "$(cat w1)" = "$(jq -r .wwid v1.json)"
'

# v1 keeps the session, so v3 comes on v2's LUN number of the same session
# (the lowest free), at the H:C:T:L v2's device had
test_expect_success 'a LUN number reused by another volume never shows the old data under the old name' '
	dev2=$(dev_of v2) && lun2=$(lun_of v2) &&
	g "yes \"lunlink v2 written by the guest\" | head -c 65536 | dd of=/dev/$dev2 bs=65536 seek=16 conv=fsync 2>&1" &&
	wwid2=$(jq -r .device.wwid v2.json) &&
	ctl unlink v2 --timeout 30 &&
	# no device of v2 comes back (a scan while its LUN was still there)
	sleep 4 &&
	g "! grep -l $wwid2 /sys/class/scsi_device/*/device/wwid" &&
	link_timed v3 &&
	test "$(lun_of v3)" = "$lun2" &&
	dev3=$(dev_of v3) &&
	pattern v2 >old &&
	# the old name is gone, or is the new volume: never the old data
	g "if test -b /dev/$dev2; then cat /sys/block/$dev2/device/wwid; dd if=/dev/$dev2 bs=65536 skip=16 count=1 2>/dev/null | head -c 40; fi" >seen &&
	! grep -q "lunlink v2" seen &&
	g "cat /sys/block/$dev3/device/wwid" >w3 &&
	test "$(cat w3)" = "$(jq -r .device.wwid v3.json)" &&
	# the block read whole from the new volume, without the old data
	g "dd if=/dev/$dev3 of=/tmp/b3 bs=65536 skip=16 count=1 2>/dev/null &&
		test \$(wc -c </tmp/b3) = 65536 && ! grep -q \"lunlink v2\" /tmp/b3" &&
	# and v1, linked all along, is still there
	g "cat /sys/block/$(dev_of v1)/device/wwid" >w1 && test "$(cat w1)" = "$(jq -r .wwid v1.json)" &&
	test "$(link_field v1 state)" = linked
'

test_expect_success 'a link to a host whose daemon is down fails fast, naming that' '
	g "kill \$(cat /tmp/rescand.pid)" &&
	# not waiting for its alive lease to lapse: the poll it had parked
	# ended with its connection, which says enough
	sleep 1 && host_is $HOST online &&
	t0=$(now_ms) &&
	test_must_fail ctl link v1 --to $HOST --timeout 30 2>err &&
	ms=$(($(now_ms) - t0)) && cat err &&
	tap_note "a link to a host that is down refused in $ms ms" &&
	test $ms -lt 5000 && grep -q "not connected: its lunlink-rescand is not waiting for work" err
'

test_expect_success 'restarted, the daemon reports the links it has without redoing them' '
	g "/sbin/lunlink-rescand -f -v >/tmp/rescand2.log 2>&1 & echo \$! >/tmp/rescand.pid" &&
	wait_for 30 host_is $HOST online &&
	wait_for 20 g "grep -q \"link v3: .*scan 0 ms\" /tmp/rescand2.log" &&
	test "$(link_field v3 state)" = linked &&
	g "cat /tmp/rescand2.log" >rescand2.log &&
	! grep -q "logging in\|deleting" rescand2.log
'

# The daemon heard of the devices its links added from the link process
# ("busy" on the pipe), so it took none of them for someone else'"'"'s
test_expect_success 'the daemon took the devices its links added for its own' '
	g "cat /tmp/rescand.log" >rescand.log &&
	grep -q "added while a link works on host" rescand.log &&
	! grep "added by someone else" rescand.log
'

test_expect_success 'the times, for doc/initiator.md' '
	tap_note "${LINK_TGTD:-patched} tgtd link times (ms):$times"
'

test_done
