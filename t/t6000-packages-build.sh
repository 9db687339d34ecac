#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='make deb and make rpm: the packages, their dependencies on the exact tgt, lintian, and the rpm file list equal to the debs'"'"''
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-packages.sh"

packages_required
VERSION=$(cat "$SRC_DIR/VERSION")
TGT_VERSION=$(dpkg-query -W -f='${Version}' tgt)
command -v lintian >/dev/null && test_set_prereq LINTIAN
command -v rpmbuild >/dev/null && test_set_prereq RPM
[ -f "$SRC_DIR/policy/main.c" ] && test_set_prereq POLICY

tap_note() { printf '# %s\n' "$*" >&5; }

test_expect_success 'the debs build, version from VERSION' '
	t0=$(date +%s) &&
	pkg_build deb "$VERSION" &&
	tap_note "debs built (or reused) in $(($(date +%s) - t0)) s: $PKG_OUT" &&
	DEBS=$PKG_OUT &&
	for p in lunlink-target lunlink-tgtd lunlink-initiator; do
		d=$(pkg_deb $p) && test -n "$d" &&
		test "$(dpkg-deb -f "$d" Version)" = "$VERSION" || exit 1
	done
'

test_expect_success 'lunlink-target and lunlink-tgtd depend on exactly the tgt they were built against, and say so' '
	for p in lunlink-target lunlink-tgtd; do
		dpkg-deb -f "$(pkg_deb $p)" Depends >dep &&
		grep -F "tgt (= $TGT_VERSION)" dep || exit 1
	done &&
	dpkg-deb -f "$(pkg_deb lunlink-target)" Description >desc &&
	grep -F "tgt $TGT_VERSION exactly" desc
'

test_expect_success 'each package holds its files' '
	dpkg-deb -c "$(pkg_deb lunlink-target)" >target.list &&
	grep -q "\./usr/lib/tgt/backing-store/bs_lunlink.so\$" target.list &&
	grep -q "\./usr/sbin/lunlink-image\$" target.list &&
	grep -q "\./usr/sbin/lunlink-status\$" target.list &&
	grep -q "man8/lunlink-image.8.gz\$" target.list &&
	dpkg-deb -c "$(pkg_deb lunlink-tgtd)" >tgtd.list &&
	grep -q "\./usr/sbin/lunlink-tgtd\$" tgtd.list &&
	grep -q "\./lib/systemd/system/lunlink-tgtd.service\$" tgtd.list &&
	! grep -q "\./usr/sbin/tgtd\$" tgtd.list &&
	dpkg-deb -c "$(pkg_deb lunlink-initiator)" >ini.list &&
	grep -q "\./usr/sbin/lunlink-rescand\$" ini.list &&
	grep -q "\./usr/sbin/lunlink-rescan -> lunlink-rescand\$" ini.list &&
	grep -q "\./lib/systemd/system/lunlink-rescand.service\$" ini.list &&
	dpkg-deb -I "$(pkg_deb lunlink-initiator)" conffiles >conffiles &&
	grep -qx /etc/lunlink/lunlink-rescand.conf conffiles
'

test_expect_success 'the programs carry the version' '
	mkdir x && for p in lunlink-target lunlink-initiator; do dpkg-deb -x "$(pkg_deb $p)" x || exit 1; done &&
	test "$(x/usr/sbin/lunlink-rescand --version)" = "lunlink-rescand $VERSION" &&
	test "$(x/usr/sbin/lunlink-image --version)" = "lunlink-image $VERSION" &&
	grep -q "backing store .lunlink. %s registered" x/usr/lib/tgt/backing-store/bs_lunlink.so
'

test_expect_success 'lunlink-initiator enables its unit; lunlink-tgtd does not, is never restarted by an upgrade, is stopped on removal' '
	dpkg-deb -I "$(pkg_deb lunlink-initiator)" postinst >ini.postinst &&
	grep -q "deb-systemd-helper enable .lunlink-rescand.service" ini.postinst &&
	grep -q "deb-systemd-invoke \$_dh_action .lunlink-rescand.service" ini.postinst &&
	dpkg-deb -I "$(pkg_deb lunlink-tgtd)" postinst >tgtd.postinst &&
	test $(grep -c "deb-systemd-helper enable" tgtd.postinst) = 1 &&
	grep -B2 "deb-systemd-helper enable" tgtd.postinst | grep -q "was-enabled" &&
	! grep -q "restart" tgtd.postinst &&
	dpkg-deb -I "$(pkg_deb lunlink-tgtd)" prerm >tgtd.prerm &&
	grep -q "deb-systemd-invoke stop .lunlink-tgtd.service" tgtd.prerm
'

if test_have_prereq POLICY; then
	test_expect_success 'with policy/main.c, lunlink-policy is built, with its two units, conffile and user' '
		d=$(pkg_deb lunlink-policy) && test -n "$d" &&
		dpkg-deb -c "$d" >policy.list &&
		grep -q "\./usr/sbin/lunlink-policyd\$" policy.list &&
		grep -q "\./lib/systemd/system/lunlink-manager.service\$" policy.list &&
		grep -q "\./lib/systemd/system/lunlink-agent.service\$" policy.list &&
		! grep -q "lunlink-policyd.service" policy.list &&
		dpkg-deb -I "$d" conffiles | grep -q "^/etc/lunlink/" &&
		dpkg-deb -I "$d" postinst >policy.postinst &&
		grep -q "adduser --system" policy.postinst
	'

	test_expect_success 'lunlink-policy enables neither unit on install, restarts them on upgrade, stops them on removal' '
		dpkg-deb -I "$(pkg_deb lunlink-policy)" prerm >policy.prerm &&
		(for u in lunlink-manager lunlink-agent; do
			# dh_installsystemd --no-enable: a unit is enabled again only
			# where debhelper had installed it and it was enabled
			grep -q "if deb-systemd-helper debian-installed .$u.service" policy.postinst &&
			grep -q "deb-systemd-invoke \$_dh_action .*$u\.service" policy.postinst &&
			grep -q "deb-systemd-invoke stop .*$u\.service" policy.prerm || exit 1
		done) &&
		# the one unit of earlier versions: stopped before its file goes
		dpkg-deb -I "$(pkg_deb lunlink-policy)" preinst | grep -q "deb-systemd-invoke stop lunlink-policyd.service"
	'

	test_expect_success 'the units run the two roles: the manager as lunlink, the agent as root' '
		mkdir -p pol && dpkg-deb -x "$(pkg_deb lunlink-policy)" pol &&
		m=pol/lib/systemd/system/lunlink-manager.service &&
		a=pol/lib/systemd/system/lunlink-agent.service &&
		grep -qx "ExecStart=/usr/sbin/lunlink-policyd --foreground --role manager" $m &&
		grep -qx "User=lunlink" $m &&
		grep -qx "CapabilityBoundingSet=" $m &&
		grep -qx "ExecStart=/usr/sbin/lunlink-policyd --foreground --role agent" $a &&
		! grep -q "^User=" $a &&
		grep -qx "CapabilityBoundingSet=" $a &&
		grep -qx "StateDirectory=lunlink-agent" $a &&
		grep -Eq "^[[:space:]]*agent_state_dir = \"/var/lib/lunlink-agent\";" pol/etc/lunlink/lunlink.conf
	'
else
	test_expect_success 'without policy/main.c, lunlink-policy is left out' '
		! ls "$PKG_OUT"/lunlink-policy_*.deb 2>/dev/null &&
		! grep -q lunlink-policy "$PKG_OUT"/lunlink_${VERSION}_*.changes
	'
fi

test_expect_success LINTIAN 'lintian: no error and no warning (overrides carry their reasons)' '
	(cd "$PKG_OUT" && lintian --fail-on error,warning lunlink_${VERSION}_*.changes) >lintian.out 2>&1 ||
		{ cat lintian.out; exit 1; } &&
	! grep -e "^E:" -e "^W:" lintian.out &&
	tap_note "lintian: $(grep -c "^[IPX]:" lintian.out) info/pedantic tags, no warning or error"
'

test_expect_success RPM 'the rpms build with rpmbuild -bb' '
	t0=$(date +%s) &&
	pkg_build rpm "$VERSION" &&
	tap_note "rpms built (or reused) in $(($(date +%s) - t0)) s" &&
	for p in lunlink-target lunlink-tgtd lunlink-initiator; do
		ls "$PKG_OUT/$p-$VERSION-1".*.rpm || exit 1
	done &&
	rpm -qp --requires "$PKG_OUT"/lunlink-target-"$VERSION"-1.*.rpm >req &&
	grep -E "^scsi-target-utils = ${TGT_VERSION#*:}" req ||
	grep -E "= $(echo "${TGT_VERSION#*:}" | sed "s/-[^-]*\$//")\$" req
'

# the files each package installs, in one form: the systemd folder as
# Fedora's, man pages uncompressed; documentation, licences and build ids
# (where each distribution puts them) left out
normalize() {
	sed -e "s|^\./|/|" -e "s| -> .*||" -e "s|^/lib/systemd/|/usr/lib/systemd/|" -e "s|\.gz\$||" |
	grep -v -e "^/usr/share/doc" -e "^/usr/share/licenses" -e "^/usr/lib/\.build-id" \
		-e "^/usr/share/lintian" | grep -v "/\$" | sort
}

test_expect_success RPM 'each rpm installs the same files as its deb' '
	pkgs="lunlink-target lunlink-tgtd lunlink-initiator" &&
	if test_have_prereq POLICY; then pkgs="$pkgs lunlink-policy"; fi &&
	for p in $pkgs; do
		dpkg-deb -c "$(pkg_deb $p)" | awk "{ \$1=\$2=\$3=\$4=\$5=\"\"; sub(/^ +/, \"\"); print }" |
			normalize >"$p.deb.files" &&
		rpm -qp --qf "[%{FILEMODES:perms} %{FILENAMES}\n]" "$PKG_OUT/$p-$VERSION"-1.*.rpm |
			sed -n "s/^[^d][^ ]* //p" | normalize >"$p.rpm.files" &&
		grep -v -x -F -f "$p.deb.files" "$p.rpm.files" >only-rpm || : &&
		grep -v -x -F -f "$p.rpm.files" "$p.deb.files" >only-deb || : &&
		{ test ! -s only-rpm && test ! -s only-deb ||
		  { echo "$p: only in the rpm:"; cat only-rpm; echo "only in the deb:"; cat only-deb; exit 1; }; } || exit 1
	done
'

test_done
