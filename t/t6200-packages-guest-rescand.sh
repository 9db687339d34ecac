#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the packaged lunlink-rescand (from the lunlink-initiator deb) runs in the QEMU guest initiator and brings a LUN added on the target in as a disk'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-packages.sh"
. "$T_DIR/lib-guest.sh"

# The guest of t/lib-guest.sh (Debian 12's kernel and open-iscsi) with the
# deb's own /usr/sbin/lunlink-rescand (dpkg-deb -x), dynamically linked as
# shipped, with the libraries it needs (guest_binary: ldd's list, from the
# host: the same Debian 12 packages the deb depends on) and the deb's
# configuration file.  The stock tgtd with this build's module
# serves the LUNs, as in t4100's first steps.

packages_required
require_tgtd
guest_prepare || skip_all "$GUEST_SKIP"
VERSION=$(cat "$SRC_DIR/VERSION")
guest_watchdog 600

test_expect_success 'the lunlink-initiator deb, unpacked' '
	pkg_build deb "$VERSION" &&
	mkdir deb && dpkg-deb -x "$(pkg_deb lunlink-initiator)" deb &&
	test -x deb/usr/sbin/lunlink-rescand &&
	test -f deb/etc/lunlink/lunlink-rescand.conf
'

test_expect_success 'a guest logged in to LUN 1, the packaged daemon started in it with the packaged configuration' '
	truncate -s 64M 1.img && truncate -s 48M 2.img &&
	files=$(guest_binary "$TRASH/deb/usr/sbin/lunlink-rescand" /sbin/lunlink-rescand) &&
	GUEST_FILES="$files $TRASH/deb/etc/lunlink/lunlink-rescand.conf=/etc/lunlink/lunlink-rescand.conf" &&
	guest_net A &&
	TGTD_NETNS=$A_NETNS TGTD_ADDR=$A_HOST_ADDR tgtd_start S &&
	target_new S 1 && lun_new S 1 1 "$TRASH/1.img" &&
	guest_start A "$A_HOST_ADDR:$S_PORT" &&
	guest_run A 10 "lunlink-rescand --version" >version &&
	test "$(cat version)" = "lunlink-rescand $VERSION" &&
	guest_run A 5 "lunlink-rescand -f -v >/tmp/rescand.log 2>&1 </dev/null &" &&
	guest_run A 15 "i=0; until grep -q \"ready: watching\" /tmp/rescand.log; do
		i=\$((i + 1)); [ \$i -lt 100 ] || exit 1; sleep 0.1; done"
'

test_expect_success 'a LUN added on the target: the daemon scans, a new disk appears' '
	lun_new S 1 2 "$TRASH/2.img" &&
	guest_run A 30 "dd if=/dev/sda of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null;
		i=0; until ls /sys/class/scsi_device/0:0:0:2/device/block >/dev/null 2>&1; do
		i=\$((i + 1)); [ \$i -lt 250 ] || exit 1; sleep 0.1; done" &&
	guest_run A 5 "cat /tmp/rescand.log" >rescand.log &&
	test_grep "new device 0:0:0:2 " rescand.log
'

test_done
