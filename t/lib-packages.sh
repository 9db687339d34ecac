# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib-packages.sh: the package tests' shared steps (t/t6*-packages-*.sh),
# sourced after test-lib.sh.
#
#   packages_required                  skip the test unless LUNLINK_TEST_PACKAGES=1
#   pkg_build deb|rpm VERSION          sets PKG_OUT: the folder with the packages
#
# The packages are built by packaging/build-packages.sh (what make deb and
# make rpm run) into build/pkg-test/KEY/VERSION, where KEY is a hash of the
# tree's files (git's tracked and untracked, not ignored): the tests of one
# run share one build per version, and any change to the tree builds anew.
# Builds are serialized with a lock; older keys are removed.  Unit tests are
# not run inside these builds (DEB_BUILD_OPTIONS=nocheck: make check runs
# them) and lintian is run by t6000 itself.

# Building packages, twice for the upgrade test, and booting containers take
# minutes: these tests run only when asked (.ci/run asks).
packages_required() {
	[ "${LUNLINK_TEST_PACKAGES:-}" = 1 ] ||
		skip_all "package tests run only with LUNLINK_TEST_PACKAGES=1 (they build the packages, 2-4 min; .ci/run sets it)"
	test_have_prereq ROOT || skip_all "needs root"
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		skip_all "dpkg-buildpackage or debhelper missing (packaging/setup-debian.sh installs them)"
}

# the tree's files, as build-packages.sh copies them, hashed; the test
# scripts (t/t*.sh, t/lib-*.sh) are left out: no package holds them, and a
# test being edited need not rebuild the packages
pkg_tree_key() {
	(cd "$SRC_DIR" && git ls-files -z --cached --others --exclude-standard \
		-- . ':!t/t[0-9]*.sh' ':!t/lib-*.sh' |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - --mtime=@0 --owner=0 --group=0 --sort=name -cf - |
		sha1sum | cut -c1-12)
}

# pkg_build deb|rpm VERSION: build (or reuse) the packages; PKG_OUT
pkg_build() {
	local kind=$1 version=$2 key base dir
	key=$(pkg_tree_key) || return 1
	base=$SRC_DIR/build/pkg-test
	dir=$base/$key/$version
	PKG_OUT=$dir/out
	mkdir -p "$base" || return 1
	(
		flock -w 900 9 || { echo "timed out waiting for $base/lock" >&2; exit 1; }
		for old in "$base"/*/; do
			[ "$old" = "$base/$key/" ] || rm -rf "$old"
		done
		[ -f "$dir/$kind.done" ] && exit 0
		DEB_BUILD_OPTIONS=nocheck LUNLINK_LINTIAN=no LUNLINK_PKG_DIR=$dir \
			sh "$SRC_DIR/packaging/build-packages.sh" "$kind" "$version" &&
		: >"$dir/$kind.done"
	) 9>"$base/lock"
}

# pkg_deb NAME: the path of package NAME's .deb in PKG_OUT
pkg_deb() { ls "$PKG_OUT/$1"_*.deb 2>/dev/null | grep -v dbgsym | head -n 1; }

# ---- a Debian 12 system booted with systemd-nspawn ----------------------------
#
#   pkg_debroot || skip_all "$PKG_SKIP"     the base root file system, cached
#   ns_boot NAME                             boot a container over it
#   ns_run NAME 'COMMAND'                    run COMMAND (sh) in it, bounded
#   ns_stop NAME                             power it off (also at exit)
#
# The base is made once by debootstrap (minbase, with systemd, tgt,
# open-iscsi, libiscsi-bin and the libraries lunlink's packages need, so
# installing them needs no network; recipe 2 added lunlink-policy's:
# SQLite, libevent, libcurl) in $PKG_DEBROOT, outside the tree
# (/var/cache/lunlink-test/debroot-RECIPE); each container is an overlay
# over it (upper layer in the scratch folder), so the base is never
# changed and a boot starts from it in seconds.  systemd-nspawn runs with
# --register=no --keep-unit (no machined or system bus on the host) and a
# private network (only lo).  Commands enter the container's namespaces
# with nsenter; systemctl there talks to the container's systemd.
PKG_DEBROOT_RECIPE=2
PKG_DEBROOT=${PKG_DEBROOT:-/var/cache/lunlink-test/debroot-$PKG_DEBROOT_RECIPE}
PKG_DEBROOT_PACKAGES=systemd,systemd-sysv,dbus,adduser,tgt,open-iscsi,libiscsi-bin,libiscsi7,liburing2,libconfig9,libssl3,libsystemd0,libsqlite3-0,libevent-2.1-7,libevent-openssl-2.1-7,libjson-c5,libcurl4,procps
PKG_SKIP=

pkg_debroot() {
	local cache
	cache=$(dirname "$PKG_DEBROOT")
	command -v debootstrap >/dev/null ||
		{ PKG_SKIP="no debootstrap (packaging/setup-debian.sh installs it)"; return 1; }
	command -v systemd-nspawn >/dev/null ||
		{ PKG_SKIP="no systemd-nspawn (packaging/setup-debian.sh installs systemd-container)"; return 1; }
	[ -x "$PKG_DEBROOT/lib/systemd/systemd" ] && [ -x "$PKG_DEBROOT/usr/sbin/tgtd" ] && return 0
	mkdir -p "$cache" || { PKG_SKIP="cannot create $cache"; return 1; }
	(
		flock -w 900 9 || exit 1
		[ -x "$PKG_DEBROOT/usr/sbin/tgtd" ] && exit 0
		rm -rf "$PKG_DEBROOT.tmp"
		timeout 900 nice -n 10 debootstrap --variant=minbase \
			--include="$PKG_DEBROOT_PACKAGES" bookworm "$PKG_DEBROOT.tmp" \
			http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 &&
		mv "$PKG_DEBROOT.tmp" "$PKG_DEBROOT"
	) 9>"$cache/debroot.lock" || {
		PKG_SKIP="debootstrap of Debian 12 failed (log: $cache/debootstrap.log)"
		return 1
	}
}

# ns_boot NAME: overlay NAME's root on the base, boot it; NAME_ROOT (the
# root, writable from the host before the boot), NAME_NSPAWN, NAME_LEADER
# (the container's PID 1, for nsenter)
ns_boot() {
	local name=$1 dir="$TRASH/ns-$1" pid leader state i=0
	mkdir -p "$dir/upper" "$dir/work" "$dir/root" || return 1
	eval "${name}_ROOT=\$dir/root ${name}_DIR=\$dir"
	test_atexit "ns_stop $name"
	mount -t overlay overlay -o "lowerdir=$PKG_DEBROOT,upperdir=$dir/upper,workdir=$dir/work" \
		"$dir/root" || return 1
	eval "${name}_MOUNTED=1"
	if [ -n "${NS_PREPARE:-}" ]; then eval "$NS_PREPARE" || return 1; fi
	systemd-nspawn -q -D "$dir/root" -b -M "ll-$name-$$" --register=no --keep-unit \
		--private-network --console=passive \
		</dev/null >"$dir/console.log" 2>&1 3>&- 4>&- 5>&- 6>&- &
	pid=$!
	eval "${name}_NSPAWN=$pid"
	while [ $i -lt 600 ]; do
		kill -0 "$pid" 2>/dev/null || {
			echo "systemd-nspawn exited:" >&2; cat "$dir/console.log" >&2; return 1; }
		leader=$(pgrep -P "$pid" | head -n 1)
		if [ -n "$leader" ]; then
			state=$(timeout 5 nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null)
			case "$state" in
			running|degraded) break ;;
			esac
		fi
		sleep 0.1
		i=$((i + 1))
	done
	case "$state" in
	running|degraded) ;;
	*) echo "container $name did not boot within 60 s (state '$state')" >&2; return 1 ;;
	esac
	eval "${name}_LEADER=$leader"
	echo "container $name up ($state) after $((i / 10)) s"
}

# ns_run NAME 'COMMAND' [SECONDS]: COMMAND in the container, its status
ns_run() {
	local leader
	eval "leader=\${${1}_LEADER:-}"
	[ -n "$leader" ] || { echo "ns_run: container $1 is not running" >&2; return 125; }
	timeout -k 5 "${3:-120}" nsenter -t "$leader" -a \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive sh -c "$2"
}

# ns_stop NAME: power off (20 s), then SIGKILL nspawn; unmount.  Idempotent.
ns_stop() {
	local name=$1 pid leader dir mounted i=0
	eval "pid=\${${name}_NSPAWN:-} leader=\${${name}_LEADER:-} dir=\${${name}_DIR:-} mounted=\${${name}_MOUNTED:-}"
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		[ -n "$leader" ] && timeout 10 nsenter -t "$leader" -a systemctl poweroff >/dev/null 2>&1
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	eval "${name}_NSPAWN= ${name}_LEADER="
	if [ -n "$mounted" ]; then
		umount "$dir/root" 2>/dev/null || umount -l "$dir/root" 2>/dev/null
		eval "${name}_MOUNTED="
	fi
	return 0
}
