#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the debs installed in a fresh Debian 12 booted with systemd-nspawn: units, a lunlink LUN served by the packaged tgtd and reached with libiscsi, the manager (user lunlink) and the agent (root) as two units with a volume made by the agent, purge leaving nothing behind, the one unit of earlier versions moved to the manager'"'"'s on upgrade, and an upgrade from the previous version keeping the configuration and the images'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-packages.sh"

# One container (an overlay over the cached debootstrap'd base, so the
# base is never changed) lives through the whole story: install, smoke
# test, purge, then the previous version, an edited conffile and an
# image, the upgrade, and a last purge.  The previous version is this
# tree built as VERSION~prev1 (sorts below VERSION).  lunlink-policy is
# installed with the others when this tree builds it (policy/main.c).

packages_required
test_have_prereq IO || skip_all "t/helpers/iscsi-io not built (make t/helpers/iscsi-io)"
pkg_debroot || skip_all "$PKG_SKIP"
VERSION=$(cat "$SRC_DIR/VERSION")
OLD=$VERSION~prev1
IQN=iqn.2026-11.org.lunlink:smoke
URL=iscsi://127.0.0.1:3260/$IQN/1
tap_note() { printf '# %s\n' "$*" >&5; }
[ -f "$SRC_DIR/policy/main.c" ] && test_set_prereq POLICY
PKGS="lunlink-target lunlink-tgtd lunlink-initiator"
test_have_prereq POLICY && PKGS="$PKGS lunlink-policy"
NPKGS=$(echo $PKGS | wc -w)
# debs_of DIR: the .deb files of $PKGS in DIR
debs_of() { for p in $PKGS; do ls "$1/${p}"_*.deb | grep -v dbgsym; done; }

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
UNITS="lunlink-tgtd lunlink-rescand"
test_have_prereq POLICY && UNITS="$UNITS lunlink-manager lunlink-agent"

test_expect_success 'the debs of this version and of the previous one' '
	t0=$(date +%s) &&
	pkg_build deb "$VERSION" && NEW=$PKG_OUT &&
	pkg_build deb "$OLD" && PREV=$PKG_OUT &&
	tap_note "both versions built (or reused) in $(($(date +%s) - t0)) s"
'

test_expect_success 'a fresh Debian 12 boots under systemd-nspawn' '
	t0=$(date +%s) &&
	NS_PREPARE="mkdir -p \"\$dir/root/root/new\" \"\$dir/root/root/old\" &&
		cp \$(debs_of \"\$NEW\") \"\$dir/root/root/new/\" &&
		cp \$(debs_of \"\$PREV\") \"\$dir/root/root/old/\" &&
		cp \"\$IO\" \"\$dir/root/usr/local/bin/iscsi-io\"" &&
	ns_boot C &&
	tap_note "booted in $(($(date +%s) - t0)) s" &&
	test "$(active tgt)" = active &&
	snapshot >before
'

test_expect_success 'install: lunlink-rescand enabled and running, lunlink-tgtd installed but not enabled' '
	ns_run C "dpkg -i /root/new/*.deb" &&
	ns_run C "dpkg-query -W -f=\"\\\${Package} \\\${Version} \\\${Status}\\n\" $PKGS" >status &&
	test $(grep -c " $VERSION install ok installed" status) = $NPKGS &&
	test "$(enabled lunlink-rescand)" = enabled &&
	wait_for 10 rescand_active &&
	ns_run C "journalctl -u lunlink-rescand --no-pager" >rescand.journal &&
	test "$(enabled lunlink-tgtd)" = disabled &&
	test "$(active lunlink-tgtd)" = inactive &&
	test "$(active tgt)" = active &&
	test -f "$C_ROOT/usr/lib/tgt/backing-store/bs_lunlink.so"
'

test_expect_success POLICY 'install: lunlink-manager and lunlink-agent installed, neither enabled nor running; the user and the two state folders' '
	(for u in lunlink-manager lunlink-agent; do
		test "$(enabled $u)" = disabled && test "$(active $u)" = inactive || exit 1
	done) &&
	ns_run C "getent passwd lunlink" &&
	test "$(ns_run C "stat -c %U:%G:%a /var/lib/lunlink")" = lunlink:lunlink:750 &&
	test "$(ns_run C "stat -c %U:%G:%a /var/lib/lunlink-agent")" = root:root:700 &&
	test "$(ns_run C "stat -c %G:%a /run/lunlink")" = lunlink:775
'

test_expect_success 'the units pass systemd-analyze verify' '
	ns_run C "systemd-analyze verify --man=no $(printf "%s.service " $UNITS)" >verify 2>&1 ||
		{ cat verify; exit 1; } &&
	! grep -v -e "^\$" verify
'

test_expect_success 'their exposure (systemd-analyze security), for the record' '
	for u in $UNITS; do
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

# ---- the manager and the agent, as the package docs say -----------------------
# One host is both: the manager on 127.0.0.1, the agent joined with a token,
# an area, and a volume that the agent makes (an image, a target in the
# packaged tgtd) under its unit's restrictions.
write_policy_conf() {
	ns_run C "cat >/etc/lunlink/lunlink.conf" <<-EOC
	policy = {
		manager = true;
		listen = "127.0.0.1:7700";
		state_dir = "/var/lib/lunlink";
		agent_state_dir = "/var/lib/lunlink-agent";
		manager_url = "https://127.0.0.1:7700";
		node_name = "node1";
		address = "127.0.0.1";
		portals = [ "127.0.0.1:3260" ];
		areas = ( { path = "/srv/lunlink-area"; size = "128M"; } );
		heartbeat_interval = 1;
		offline_after = 4;
	};
	EOC
}
# the user id a unit's main process runs as
unit_uid() {
	ns_run C "pid=\$(systemctl show -P MainPID $1) && test \$pid != 0 && awk '/^Uid:/ { print \$2 }' /proc/\$pid/status"
}
node1_online() { ns_run C "lunlinkctl node list" | grep -q "^node1 .* online"; }
vol_ready() { ns_run C "lunlinkctl --json volume show v1" | grep -Eq "\"state\": *\"ready\""; }

test_expect_success POLICY 'the manager: CA made as its user, its unit started, running as lunlink' '
	write_policy_conf &&
	ns_run C "mkdir -p /srv/lunlink-area" &&
	ns_run C "runuser -u lunlink -- lunlinkctl ca init" &&
	ns_run C "systemctl enable --now lunlink-manager" &&
	wait_for 10 ns_run C "test -S /run/lunlink/policyd.sock" &&
	test "$(active lunlink-manager)" = active &&
	test "$(unit_uid lunlink-manager)" = "$(ns_run C "id -u lunlink")" &&
	ns_run C "journalctl -u lunlink-manager --no-pager" >mgr.journal &&
	grep "manager: API on 127.0.0.1:7700" mgr.journal &&
	! grep "agent:" mgr.journal
'

test_expect_success POLICY 'the agent: joined as root with a token, its unit started, running as root, node online' '
	ns_run C "install -m 0644 /var/lib/lunlink/ca/ca.crt /var/lib/lunlink-agent/ca.crt" &&
	ns_run C "lunlink-policyd --join-only \$(lunlinkctl token create --role node)" &&
	test "$(ns_run C "stat -c %U:%a /var/lib/lunlink-agent/node.key")" = root:600 &&
	ns_run C "systemctl enable --now lunlink-agent" &&
	wait_for 20 node1_online &&
	test "$(active lunlink-agent)" = active &&
	test "$(unit_uid lunlink-agent)" = 0 &&
	ns_run C "lunlinkctl node list" >nodes &&
	cat nodes &&
	ns_run C "journalctl -u lunlink-agent --no-pager" >agent.journal &&
	grep "agent: node node1, reporting to https://127.0.0.1:7700" agent.journal &&
	! grep "manager:" agent.journal
'

test_expect_success POLICY 'under its unit, with no capability, the agent makes a volume: an image in the area, a target in tgtd' '
	ns_run C "lunlinkctl area add node1 /srv/lunlink-area --size 128M" &&
	ns_run C "lunlinkctl volume create v1 --way single --size 16M" &&
	{ wait_for 60 vol_ready ||
	  { ns_run C "lunlinkctl volume show v1; journalctl -u lunlink-agent --no-pager | tail -20"; false; }; } &&
	ns_run C "ls -l /srv/lunlink-area" >area.ls &&
	cat area.ls && grep -q " root root " area.ls &&
	ns_run C "tgtadm --lld iscsi --mode target --op show" >show2 &&
	grep "Backing store path: /srv/lunlink-area/" show2 &&
	test "$(ns_run C "systemctl show -P CapabilityBoundingSet lunlink-agent")" = ""
'

test_expect_success 'purge: the daemons stop, nothing is left but the operator'"'"'s files' '
	ns_run C "dpkg --purge $PKGS" &&
	test "$(active lunlink-tgtd)" != active &&
	test "$(active lunlink-rescand)" != active &&
	if test_have_prereq POLICY; then
		test "$(active lunlink-manager)" != active &&
		test "$(active lunlink-agent)" != active &&
		test ! -e "$C_ROOT/var/lib/lunlink" && test ! -e "$C_ROOT/var/lib/lunlink-agent" &&
		! ls "$C_ROOT"/etc/systemd/system/*/lunlink-* 2>/dev/null
	fi &&
	ns_run C "rm -f /etc/tgt/conf.d/lunlink-smoke.conf && rm -rf /srv/lunlink /srv/lunlink-area" &&
	snapshot >after &&
	diff before after >left || : &&
	test ! -s left || { echo "left behind or removed:"; cat left; exit 1; }
'

# An earlier lunlink-policy had one unit, lunlink-policyd.service, which an
# operator may have enabled; a package with that unit alone stands for it.
test_expect_success POLICY 'upgrade from the one unit lunlink-policyd.service: its enablement moves to lunlink-manager, no link is left dangling' '
	mkdir -p policyd/DEBIAN policyd/lib/systemd/system &&
	printf "%s\n" "Package: lunlink-policy" "Version: 0.0~policyd1" "Architecture: all" \
		"Maintainer: lunlink developers <lunlink-devel@lunlink.org>" \
		"Description: the earlier lunlink-policy, its unit alone (t6100)" >policyd/DEBIAN/control &&
	printf "%s\n" "[Unit]" "Description=lunlink policy daemon" "[Service]" \
		"ExecStart=/usr/sbin/lunlink-policyd --foreground" "User=lunlink" \
		"[Install]" "WantedBy=multi-user.target" >policyd/lib/systemd/system/lunlink-policyd.service &&
	dpkg-deb -b --root-owner-group policyd "$C_ROOT/root/policyd.deb" >/dev/null &&
	ns_run C "dpkg -i /root/policyd.deb && systemctl enable lunlink-policyd" &&
	test -L "$C_ROOT/etc/systemd/system/multi-user.target.wants/lunlink-policyd.service" &&
	ns_run C "dpkg -i /root/old/lunlink-policy_*.deb" 2>upgrade.err &&
	cat upgrade.err &&
	grep "lunlink-policyd.service is now two units" upgrade.err &&
	test ! -e "$C_ROOT/lib/systemd/system/lunlink-policyd.service" &&
	! ls -l "$C_ROOT"/etc/systemd/system/*/lunlink-policyd.service 2>/dev/null &&
	test "$(enabled lunlink-manager)" = enabled &&
	test "$(enabled lunlink-agent)" = disabled &&
	# started in its place, it says what its configuration lacks, once
	wait_for 10 eval "test \"\$(active lunlink-manager)\" = failed" &&
	ns_run C "journalctl -u lunlink-manager --no-pager" >mgr2.journal &&
	grep "error: --role manager: /etc/lunlink/lunlink.conf does not make this host the manager" mgr2.journal &&
	test "$(ns_run C "systemctl show -P NRestarts lunlink-manager")" = 0 &&
	ns_run C "systemctl disable lunlink-manager && systemctl reset-failed lunlink-manager"
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
	ns_run C "dpkg --purge $PKGS" &&
	test ! -e "$C_ROOT/etc/lunlink" &&
	test ! -e "$C_ROOT/lib/systemd/system/lunlink-tgtd.service" &&
	test ! -e "$C_ROOT/etc/systemd/system/multi-user.target.wants/lunlink-tgtd.service" &&
	test -f "$C_ROOT/srv/lunlink/smoke.img"
'

test_done
