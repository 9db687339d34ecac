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

# the tree's files, as build-packages.sh copies them, hashed
pkg_tree_key() {
	(cd "$SRC_DIR" && git ls-files -z --cached --others --exclude-standard |
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
