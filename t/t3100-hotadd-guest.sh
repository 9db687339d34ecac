#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='a real Linux initiator (open-iscsi in a QEMU guest) finds a hot-added lunlink LUN by itself with the patched tgtd, and only after a rescan with the stock one'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-guest.sh"

test_have_prereq ROOT || skip_all "needs root (namespaces, tap devices)"
test_have_prereq TGTD || skip_all "tgtd/tgtadm not installed (run make setup)"
test_have_prereq MODULE || skip_all "target/bs_lunlink.so not built (run make)"
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
[ -x "$PATCHED" ] || skip_all "the patched tgtd is not built (run make tgtd)"
guest_prepare || skip_all "$GUEST_SKIP"

# The bound the test asserts for "added on the host" to "a disk in the
# guest"; the goal is under 1 s, the rest is headroom for a loaded machine.
BOUND=5

guest_watchdog 180

# wait_disk GUEST SECONDS KNOWN...: in the guest, wait up to SECONDS (by the
# guest's clock) for a disk sdX not among KNOWN with its /dev node; print
# "sdX UPTIME" and succeed, or fail.  It only reads /sys and /dev: it scans
# nothing.
wait_disk() {
	local g=$1 limit=$2
	shift 2
	guest_run "$g" $((limit + 3)) '
		cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}"; }
		end=$(( $(cs) + '"$limit"' * 100 ))
		while [ "$(cs)" -lt "$end" ]; do
			for d in /sys/block/sd*; do
				n=${d##*/}
				case " '"$*"' " in *" $n "*) continue ;; esac
				[ -e "/dev/$n" ] && { echo "$n $(cut -d" " -f1 /proc/uptime)"; exit 0; }
			done
			sleep 0.01
		done
		exit 1'
}

now_us() { echo $(($(date +%s%N) / 1000)); }

# add_lun TGTD GUEST LUN IMAGE KNOWN...: add the LUN on the host and wait
# for its disk in the guest; sets disk, t0 (µs, just before tgtadm),
# tgtadm_ms (tgtadm's own time) and ms: by the host's clock, from just
# before tgtadm to the guest's report reaching the host.  So ms includes
# tgtadm, the command channel both ways and the guest's 10 ms polling: an
# upper bound.
add_lun() {
	local p=$1 g=$2 lun=$3 img=$4 t1 t2
	shift 4
	t0=$(now_us)
	tgtadm_on "$p" --lld iscsi --mode logicalunit --op new --tid 1 --lun "$lun" \
		--backing-store "$img" --bstype lunlink || return 1
	t1=$(now_us)
	wait_disk "$g" $BOUND "$@" >found || { ms=; disk=; return 1; }
	t2=$(now_us)
	tgtadm_ms=$(((t1 - t0) / 1000)) ms=$(((t2 - t0) / 1000))
	disk=$(cut -d" " -f1 found)
	echo "LUN $lun is $disk after $ms ms (tgtadm $tgtadm_ms ms)"
}

# "[    6.229932] ..." -> 6229932, the guest kernel's clock in µs
kernel_us() { sed -n 's/^\[ *\([0-9]*\)\.\([0-9]\{6\}\)\].*/\1\2/p' | sed 's/^0*//'; }

# clock_sync GUEST: tie the guest kernel's clock to the host's: the guest
# logs a line to /dev/kmsg between two host readings; sets offset_us
# (host µs minus guest kernel µs) and error_us (half the round trip).
clock_sync() {
	local a b k tag="lunlink-clock-sync-$(date +%s%N)"
	a=$(now_us)
	guest_run "$1" 5 "echo $tag >/dev/kmsg" || return 1
	b=$(now_us)
	k=$(guest_run "$1" 5 dmesg | grep "$tag" | kernel_us) && [ -n "$k" ] || return 1
	offset_us=$(((a + b) / 2 - k)) error_us=$(((b - a) / 2))
}

# the host's round trip through the command channel, for the record
channel_ms() {
	local t0 t1
	t0=$(date +%s%N) && guest_run "$1" 5 true && t1=$(date +%s%N) &&
	echo $(((t1 - t0) / 1000000))
}

# a line in the TAP output, verbose or not
tap_note() { printf '# %s\n' "$*" >&5; }

test_expect_success 'a patched tgtd with lunlink LUN 1, in the guest network namespace' '
	truncate -s 64M 1.img 1s.img &&
	truncate -s 96M 2.img 2s.img &&
	truncate -s 32M 3.img 4.img 5.img 6.img &&
	printf "lunlink-hotadd-host-%s" $$ >marker &&
	dd if=marker of=2.img bs=512 seek=2048 conv=notrunc 2>/dev/null &&
	guest_net A &&
	TGTD="$PATCHED" TGTD_NETNS=$A_NETNS TGTD_ADDR=$A_HOST_ADDR tgtd_start P &&
	target_new P 1 && lun_new P 1 1 "$TRASH/1.img"
'

test_expect_success 'the guest logs in and has LUN 1 as its only disk' '
	guest_start A "$A_HOST_ADDR:$P_PORT" &&
	wait_disk A 10 >first && test "$(cut -d" " -f1 first)" = sda &&
	guest_run A 5 "readlink /sys/block/sda/device" >sda.dev &&
	grep ":0:0:1\$" sda.dev &&
	test "$(guest_run A 5 "ls /sys/block | grep ^sd")" = sda
'

test_expect_success 'adding LUN 2 on the host gives the idle guest a new disk by itself' '
	ch=$(channel_ms A) && tap_note "command channel round trip: $ch ms" &&
	clock_sync A &&
	add_lun P A 2 "$TRASH/2.img" sda &&
	tap_note "patched tgtd: LUN 2 added -> guest reports /dev/$disk after $ms ms (host clock from just before tgtadm; includes tgtadm $tgtadm_ms ms, the channel, 10 ms polling)" &&
	test "$ms" -lt $((BOUND * 1000)) &&
	guest_run A 5 "readlink /sys/block/$disk/device" | grep ":0:0:2\$" &&
	disk2=$disk add_t0=$t0
'

test_expect_success 'nobody rescanned: the Async Message reached iscsid, which scanned' '
	guest_run A 5 "cat /tmp/iscsiadm.log" >iscsiadm.log &&
	cat iscsiadm.log &&
	test "$(wc -l <iscsiadm.log)" -eq 2 &&
	grep -q " -m discovery " iscsiadm.log && grep -q " --login" iscsiadm.log &&
	! grep -e "-R" -e rescan iscsiadm.log &&
	guest_run A 5 "cat /tmp/commands.log" >commands.log &&
	cat commands.log && ! grep -e scan -e scsi_host commands.log &&
	guest_run A 5 "cat /tmp/iscsid.log" >iscsid.log &&
	test_grep "Read AEN 0" iscsid.log &&
	test_grep "Async Message REPORTED LUNS DATA HAS CHANGED" "$P_LOG" &&
	guest_run A 5 "dmesg" >dmesg.after &&
	sed -n "/0:0:0:2/s/^/guest kernel: /p" dmesg.after
'

test_expect_success 'by the guest kernel clock: the LUN probed and its disk attached within the bound of tgtadm' '
	probed=$(grep "scsi 0:0:0:2: Direct-Access" dmesg.after | kernel_us) &&
	attached=$(grep "\[$disk2\] Attached SCSI disk" dmesg.after | kernel_us) &&
	probe_ms=$(((probed + offset_us - add_t0) / 1000)) &&
	attach_ms=$(((attached + offset_us - add_t0) / 1000)) &&
	tap_note "guest kernel clock mapped to the host (+-$((error_us / 1000)) ms): LUN 2 probed $probe_ms ms, /dev/$disk2 attached $attach_ms ms after tgtadm started" &&
	test $attach_ms -gt $((-error_us / 1000)) && test $attach_ms -lt $((BOUND * 1000))
'

test_expect_success 'the scan cleared the unit attention: LUN 1 reads without one (REPORT LUNS clears 3F/0E, SPC-4)' '
	guest_run A 5 "dd if=/dev/sda of=/dev/null bs=4096 count=1 skip=100 iflag=direct" &&
	guest_run A 5 "dmesg" >dmesg &&
	! grep "LUN assignments on this target have changed" dmesg
'

test_expect_success 'the new disk is LUN 2: its size, the host marker, and a guest write in the image' '
	test "$(guest_run A 5 "cat /sys/block/$disk2/size")" -eq $((96 * 2048)) &&
	guest_run A 5 "dd if=/dev/$disk2 bs=512 skip=2048 count=1 iflag=direct 2>/dev/null" |
		head -c $(wc -c <marker) >got && test_cmp marker got &&
	printf "lunlink-hotadd-guest-%s" $$ >gmarker &&
	guest_run A 10 "printf %s $(cat gmarker) | dd of=/dev/$disk2 bs=512 seek=4096 conv=fsync 2>&1" &&
	dd if=2.img bs=512 skip=4096 count=1 2>/dev/null | head -c $(wc -c <gmarker) >ggot &&
	test_cmp gmarker ggot
'

test_expect_success 'four more adds, one at a time: each disk within the bound' '
	known="sda $disk2" && all= &&
	for n in 3 4 5 6; do
		add_lun P A $n "$TRASH/$n.img" $known || return 1
		test "$ms" -lt $((BOUND * 1000)) || return 1
		known="$known $disk" all="$all $ms"
	done &&
	tap_note "patched tgtd: LUNs 3-6 -> disks in ms:$all"
'

# how many Async Messages the guest's iscsid has read
aen_count() { guest_run "$1" 5 "grep -c \"Read AEN 0\" /tmp/iscsid.log"; }
aen_more() { test "$(aen_count A)" -gt "$aen"; }

test_expect_success 'removing LUN 2: iscsid gets the Async Message and scans, the stale disk stays' '
	aen=$(aen_count A) &&
	tgtadm_on P --lld iscsi --mode logicalunit --op delete --tid 1 --lun 2 &&
	wait_for 5 aen_more &&
	sleep 1 &&
	guest_run A 5 "ls /sys/block | grep ^sd" >after &&
	cat after && grep -qx "$disk2" after &&
	test "$(guest_run A 5 "cat /sys/block/$disk2/device/state")" = running
'

# The scan's REPORT LUNS cleared 3F/0E on every LUN of the nexus, so the
# guest kernel raises no SDEV_UA uevent for the removal either: a helper that
# waits for that uevent never hears of it with the patched tgtd.
test_expect_success 'after the removal too, LUN 1 reads without a unit attention, and no SDEV_UA uevent came' '
	guest_run A 5 "dd if=/dev/sda of=/dev/null bs=4096 count=1 skip=200 iflag=direct" &&
	guest_run A 5 "dmesg" >dmesg &&
	! grep "LUN assignments on this target have changed" dmesg &&
	guest_run A 5 "cat /tmp/uevents.log" >uevents &&
	! grep REPORTED_LUNS_DATA_HAS_CHANGED uevents
'

test_expect_success 'I/O to the stale disk fails at once: Logical unit not supported' '
	test_must_fail guest_run A 10 "dd if=/dev/$disk2 of=/dev/null bs=4096 count=1 iflag=direct" &&
	guest_run A 5 "dmesg" >dmesg &&
	test_grep "\[$disk2\] .*Logical unit not supported" dmesg
'

test_expect_success 'the stock tgtd: the same add, no disk within the bound' '
	guest_stop A &&
	guest_net B &&
	TGTD_NETNS=$B_NETNS TGTD_ADDR=$B_HOST_ADDR tgtd_start S &&
	target_new S 1 && lun_new S 1 1 "$TRASH/1s.img" &&
	guest_start B "$B_HOST_ADDR:$S_PORT" &&
	wait_disk B 10 >first && test "$(cut -d" " -f1 first)" = sda &&
	tgtadm_on S --lld iscsi --mode logicalunit --op new --tid 1 --lun 2 \
		--backing-store "$TRASH/2s.img" --bstype lunlink &&
	{ wait_disk B $BOUND sda; test $? = 1; } &&
	tap_note "stock tgtd: no new disk in the idle guest within $BOUND s" &&
	guest_run B 5 "cat /tmp/iscsid.log" >iscsid.log &&
	! grep "Read AEN" iscsid.log
'

test_expect_success 'one read of LUN 1 brings the unit attention 3F/0E, and still no disk' '
	guest_run B 5 "dd if=/dev/sda of=/dev/null bs=4096 count=1 skip=100 iflag=direct" &&
	guest_run B 5 "dmesg" >dmesg &&
	test_grep "LUN assignments on this target have changed" dmesg &&
	guest_run B 5 "cat /tmp/uevents.log" >uevents &&
	test_grep "change .* REPORTED_LUNS_DATA_HAS_CHANGED" uevents &&
	{ wait_disk B 2 sda; test $? = 1; }
'

test_expect_success 'the fallback until an initiator helper exists: iscsiadm --rescan' '
	guest_run B 10 "iscsiadm -m session --rescan" &&
	wait_disk B $BOUND sda >found &&
	guest_run B 5 "readlink /sys/block/$(cut -d" " -f1 found)/device" | grep ":0:0:2\$"
'

test_expect_success 'the guests are stopped, their namespaces gone' '
	guest_stop B &&
	! ip netns list | grep -q "lunlink-$TEST_NAME-$$-"
'

test_done
