#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the debs installed in a fresh Debian 12 booted with systemd-nspawn: units, a lunlink LUN served by the packaged tgtd and reached with libiscsi, purge leaving nothing behind, and an upgrade from the previous version keeping the configuration and the images'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-packages.sh"

# One container (an overlay over the cached debootstrap'd base, so the
# base is never changed) lives through the whole story: install, smoke
# test, purge, then the previous version, an edited conffile and an
# image, the upgrade, and a last purge.  The previous version is this
# tree built as VERSION~prev1 (sorts below VERSION).

packages_required
test_have_prereq IO || skip_all "t/helpers/iscsi-io not built (make t/helpers/iscsi-io)"
pkg_debroot || skip_all "$PKG_SKIP"
VERSION=$(cat "$SRC_DIR/VERSION")
OLD=$VERSION~prev1
IQN=iqn.2026-11.org.lunlink:smoke
URL=iscsi://127.0.0.1:3260/$IQN/1
tap_note() { printf '# %s\n' "$*" >&5; }

# the watchdog of lib-guest.sh's kind: the builds may take minutes
(
	end=$(($(date +%s) + 1500))
	while [ "$(date +%s)" -lt $end ]; do sleep 1 5>&-; done
	echo "Bail out! $TEST_NAME ran for more than 1500 s" >&5
	kill -TERM $$
) </dev/null >/dev/null 2>&1 3>&- 4>&- 6>&- &
test_atexit "kill $! 2>/dev/null"

# files of the container's own file system (not /proc, /sys, /dev, /run,
# /tmp), less what changes by itself or is apt's and dpkg's bookkeeping
snapshot() {
	ns_run C 'find / -xdev \( -path /var/log -o -path /var/cache -o -path /var/lib/dpkg \
		-o -path /var/lib/apt -o -path /var/lib/systemd/catalog -o -path /root \
		-o -path /var/tmp -o -path /var/lib/systemd/timers \) -prune -o -print' |
		grep -v -e "^/var/lib/systemd/random-seed\$" -e "^/etc/ld.so.cache\$" | sort
}

active() { ns_run C "systemctl is-active $1" 2>/dev/null; }
enabled() { ns_run C "systemctl is-enabled $1" 2>/dev/null; }
rescand_active() { test "$(active lunlink-rescand)" = active; }

test_expect_success 'the debs of this version and of the previous one' '
	t0=$(date +%s) &&
	pkg_build deb "$VERSION" && NEW=$PKG_OUT &&
	pkg_build deb "$OLD" && PREV=$PKG_OUT &&
	tap_note "both versions built (or reused) in $(($(date +%s) - t0)) s"
'

test_expect_success 'a fresh Debian 12 boots under systemd-nspawn' '
	t0=$(date +%s) &&
	NS_PREPARE="mkdir -p \"\$dir/root/root/new\" \"\$dir/root/root/old\" &&
		cp \"\$NEW\"/lunlink-target_*.deb \"\$NEW\"/lunlink-tgtd_*.deb \"\$NEW\"/lunlink-initiator_*.deb \"\$dir/root/root/new/\" &&
		cp \"\$PREV\"/lunlink-target_*.deb \"\$PREV\"/lunlink-tgtd_*.deb \"\$PREV\"/lunlink-initiator_*.deb \"\$dir/root/root/old/\" &&
		cp \"\$IO\" \"\$dir/root/usr/local/bin/iscsi-io\"" &&
	ns_boot C &&
	tap_note "booted in $(($(date +%s) - t0)) s" &&
	test "$(active tgt)" = active &&
	snapshot >before
'

test_expect_success 'install: lunlink-rescand enabled and running, lunlink-tgtd installed but not enabled' '
	ns_run C "dpkg -i /root/new/*.deb" &&
	ns_run C "dpkg-query -W -f=\"\\\${Package} \\\${Version} \\\${Status}\\n\" lunlink-target lunlink-tgtd lunlink-initiator" >status &&
	test $(grep -c " $VERSION install ok installed" status) = 3 &&
	test "$(enabled lunlink-rescand)" = enabled &&
	wait_for 10 rescand_active &&
	ns_run C "journalctl -u lunlink-rescand --no-pager" >rescand.journal &&
	test "$(enabled lunlink-tgtd)" = disabled &&
	test "$(active lunlink-tgtd)" = inactive &&
	test "$(active tgt)" = active &&
	test -f "$C_ROOT/usr/lib/tgt/backing-store/bs_lunlink.so"
'

test_expect_success 'the units pass systemd-analyze verify' '
	ns_run C "systemd-analyze verify --man=no lunlink-tgtd.service lunlink-rescand.service" >verify 2>&1 ||
		{ cat verify; exit 1; } &&
	! grep -v -e "^\$" verify
'

test_expect_success 'their exposure (systemd-analyze security), for the record' '
	for u in lunlink-tgtd lunlink-rescand; do
		e=$(ns_run C "systemd-analyze security $u.service" | sed -n "s/.*Overall exposure level for .*: //p") &&
		tap_note "systemd-analyze security $u.service: $e" || exit 1
	done
'

write_smoke_conf() {
	ns_run C "mkdir -p /srv/lunlink && cat >/etc/tgt/conf.d/lunlink-smoke.conf" <<-EOC
	<target $IQN>
	    <backing-store /srv/lunlink/smoke.img>
	        bs-type lunlink
	        lun 1
	    </backing-store>
	</target>
	EOC
}

test_expect_success 'the packaged tgtd serves a lunlink LUN from targets.conf; tgt.service gives way' '
	ns_run C "mkdir -p /srv/lunlink && lunlink-image create --size 64M /srv/lunlink/smoke.img" &&
	write_smoke_conf &&
	ns_run C "systemctl enable --now lunlink-tgtd" &&
	test "$(active lunlink-tgtd)" = active &&
	test "$(active tgt)" = inactive &&
	ns_run C "tgtadm --lld iscsi --mode target --op show" >show &&
	grep "Backing store type: lunlink" show &&
	grep "Backing store path: /srv/lunlink/smoke.img" show &&
	ns_run C "journalctl -u lunlink-tgtd --no-pager" >tgtd.journal &&
	grep -F "backing store '"'"'lunlink'"'"' $VERSION registered" tgtd.journal &&
	test "$(ns_run C "readlink /proc/\$(systemctl show -P MainPID lunlink-tgtd)/exe")" = /usr/sbin/lunlink-tgtd
'

test_expect_success 'libiscsi writes and reads the LUN back; the data is in the image' '
	head -c 4096 /dev/urandom >data &&
	cp data "$C_ROOT/root/data" &&
	ns_run C "iscsi-io $URL write 8 /root/data && iscsi-io $URL sync && iscsi-io $URL read 8 8 /root/back" &&
	cmp data "$C_ROOT/root/back" &&
	ns_run C "iscsi-inq $URL" >inq &&
	grep -i "vendor" inq &&
	ns_run C "lunlink-status" >lstatus 2>&1 &&
	ns_run C "lunlink-image show /srv/lunlink/smoke.img" >img &&
	grep -q "lunlink image" img
'

test_expect_success 'tgtadm, tgt-admin and reload keep working with lunlink-tgtd' '
	ns_run C "tgt-admin -s" >admin &&
	grep -q "$IQN" admin &&
	ns_run C "systemctl reload lunlink-tgtd" &&
	test "$(active lunlink-tgtd)" = active
'

test_expect_success 'purge: the daemons stop, nothing is left but the operator'"'"'s files' '
	ns_run C "dpkg --purge lunlink-initiator lunlink-target lunlink-tgtd" &&
	test "$(active lunlink-tgtd)" != active &&
	test "$(active lunlink-rescand)" != active &&
	ns_run C "rm -f /etc/tgt/conf.d/lunlink-smoke.conf && rm -rf /srv/lunlink" &&
	snapshot >after &&
	diff before after >left || : &&
	test ! -s left || { echo "left behind or removed:"; cat left; exit 1; }
'

test_expect_success 'the previous version installed, an image served and written, the conffile edited' '
	ns_run C "systemctl start tgt" &&
	ns_run C "dpkg -i /root/old/*.deb" &&
	test "$(ns_run C "lunlink-rescand --version")" = "lunlink-rescand $OLD" &&
	ns_run C "mkdir -p /srv/lunlink && lunlink-image create --size 64M /srv/lunlink/smoke.img" &&
	write_smoke_conf &&
	ns_run C "systemctl enable --now lunlink-tgtd" &&
	ns_run C "iscsi-io $URL write 8 /root/data && iscsi-io $URL sync" &&
	ns_run C "sed -i \"s/^periodic_check_s = 0;/periodic_check_s = 120;/\" /etc/lunlink/lunlink-rescand.conf" &&
	grep -qx "periodic_check_s = 120;" "$C_ROOT/etc/lunlink/lunlink-rescand.conf" &&
	ns_run C "systemctl restart lunlink-rescand" &&
	old_pid=$(ns_run C "systemctl show -P MainPID lunlink-tgtd")
'

test_expect_success 'upgrade: the edit kept, the image intact, the running tgtd not restarted' '
	ns_run C "dpkg -i /root/new/*.deb" &&
	test "$(ns_run C "lunlink-rescand --version")" = "lunlink-rescand $VERSION" &&
	grep -qx "periodic_check_s = 120;" "$C_ROOT/etc/lunlink/lunlink-rescand.conf" &&
	! ls "$C_ROOT"/etc/lunlink/*.dpkg-* 2>/dev/null &&
	test "$(ns_run C "systemctl show -P MainPID lunlink-tgtd")" = "$old_pid" &&
	test "$(enabled lunlink-tgtd)" = enabled &&
	ns_run C "iscsi-io $URL read 8 8 /root/back1" && cmp data "$C_ROOT/root/back1" &&
	test "$(active lunlink-rescand)" = active
'

test_expect_success 'restarted on the new version, it serves the same image' '
	ns_run C "systemctl restart lunlink-tgtd" &&
	ns_run C "journalctl -u lunlink-tgtd --no-pager" >tgtd2.journal &&
	grep -F "backing store '"'"'lunlink'"'"' $VERSION registered" tgtd2.journal &&
	ns_run C "lunlink-image check /srv/lunlink/smoke.img" &&
	rm -f "$C_ROOT/root/back2" &&
	ns_run C "iscsi-io $URL read 8 8 /root/back2" && cmp data "$C_ROOT/root/back2"
'

test_expect_success 'purge after the upgrade: the configuration goes, the image stays' '
	ns_run C "dpkg --purge lunlink-initiator lunlink-target lunlink-tgtd" &&
	test ! -e "$C_ROOT/etc/lunlink" &&
	test ! -e "$C_ROOT/lib/systemd/system/lunlink-tgtd.service" &&
	test ! -e "$C_ROOT/etc/systemd/system/multi-user.target.wants/lunlink-tgtd.service" &&
	test -f "$C_ROOT/srv/lunlink/smoke.img"
'

test_done
