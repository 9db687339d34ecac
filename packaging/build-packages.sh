#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# build-packages.sh: lunlink's packages from this tree (make deb, make rpm).
#
#   sh packaging/build-packages.sh deb|rpm [VERSION]
#
# It copies the tree's files (git's tracked and untracked, not ignored ones;
# every file outside build/ when this is no git checkout) into
# build/pkg/lunlink-VERSION, writes VERSION there (the file VERSION at the
# top by default: the one place the version is set), and builds there:
#
#   deb: packaging/debian becomes debian/, debian/changelog is written from
#        the version (one entry, dated by the last commit), dpkg-buildpackage
#        -b builds the .deb files, lintian checks them (errors and warnings
#        fail the build; overrides in packaging/debian/*.lintian-overrides
#        carry their reasons).
#   rpm: a tarball of the copy and rpmbuild -bb with packaging/rpm/lunlink.spec
#        (--nodeps: on Debian, rpm's own database knows no build dependency).
#
# The results go to build/pkg/out.  lunlink-policy is built only when
# policy/main.c is in the tree (the build profile nopolicy, the spec's
# --without policy otherwise).  Environment: DEB_BUILD_OPTIONS (nocheck
# skips the unit tests in the build), LUNLINK_LINTIAN=no skips lintian,
# LUNLINK_PKG_DIR another folder than build/pkg.
set -eu

say() { printf 'build-packages: %s\n' "$*"; }
die() { printf 'build-packages: error: %s\n' "$*" >&2; exit 1; }

kind=${1:-}
top=$(cd "$(dirname "$0")/.." && pwd)
version=${2:-$(cat "$top/VERSION")}
case "$kind" in deb|rpm) ;; *) die "usage: $0 deb|rpm [VERSION]" ;; esac
case "$version" in
[0-9]*) ;;
*) die "version '$version' must start with a digit" ;;
esac
printf '%s' "$version" | grep -q '^[0-9A-Za-z.+~]*$' ||
	die "version '$version' may hold only letters, digits and . + ~"

pkgdir=${LUNLINK_PKG_DIR:-$top/build/pkg}
src=$pkgdir/lunlink-$version
out=$pkgdir/out
mkdir -p "$pkgdir" "$out"

# ---- the copy ----------------------------------------------------------------
say "copying the tree into $src"
rm -rf "$src"
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$src"
	date=$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)
	commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
else
	(cd "$top" && tar --exclude=./build -cf - .) | tar -xf - -C "$src"
	date=$(date +%s) commit=unknown
fi
printf '%s\n' "$version" >"$src/VERSION"

policy=yes profile= rpm_policy=--with
[ -f "$src/policy/main.c" ] || policy= profile=-Pnopolicy rpm_policy=--without
[ -n "$policy" ] || say "no policy/main.c: lunlink-policy is left out"

# ---- deb -----------------------------------------------------------------------
if [ "$kind" = deb ]; then
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		die "dpkg-buildpackage or debhelper missing (apt-get install dpkg-dev debhelper)"
	cp -a "$src/packaging/debian" "$src/debian"
	{
		printf 'lunlink (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * lunlink %s, built from commit %s.\n\n' "$version" "$commit"
		printf ' -- lunlink developers <lunlink-devel@lunlink.org>  %s\n' \
			"$(LC_ALL=C date -u -R -d "@$date")"
	} >"$src/debian/changelog"
	say "dpkg-buildpackage in $src"
	(cd "$src" && SOURCE_DATE_EPOCH=$date nice -n 10 dpkg-buildpackage -b -us -uc \
		$profile >"$pkgdir/deb-$version.log" 2>&1) ||
		{ tail -n 30 "$pkgdir/deb-$version.log" >&2;
		  die "dpkg-buildpackage failed; log: $pkgdir/deb-$version.log"; }
	changes=$(ls "$pkgdir"/lunlink_"$version"_*.changes)
	debs=$(sed -n '/^Files:/,/^[A-Z]/s/^ .* \([^ ]*\.deb\)$/\1/p' "$changes")
	for d in $debs; do mv -f "$pkgdir/$d" "$out/"; done
	mv -f "$changes" "$pkgdir"/lunlink_"$version"_*.buildinfo "$out/"
	if [ "${LUNLINK_LINTIAN:-yes}" != no ]; then
		command -v lintian >/dev/null || die "lintian missing (apt-get install lintian)"
		say "lintian"
		(cd "$out" && lintian --fail-on error,warning \
			"lunlink_${version}_$(dpkg --print-architecture).changes") ||
			die "lintian found errors or warnings (above)"
	fi
	for d in $debs; do say "built $out/$d"; done
	exit 0
fi

# ---- rpm -----------------------------------------------------------------------
command -v rpmbuild >/dev/null || die "rpmbuild missing (apt-get install rpm)"
tgt_version=$(dpkg-query -W -f='${Version}' tgt 2>/dev/null) ||
	die "tgt is not installed; run make setup"
tgt_upstream=${tgt_version#*:}
tgt_upstream=${tgt_upstream%-*}
rpmtop=$pkgdir/rpm
rm -rf "$rpmtop"
mkdir -p "$rpmtop/SOURCES" "$rpmtop/BUILD" "$rpmtop/RPMS" "$rpmtop/SPECS"
(cd "$pkgdir" && tar -czf "$rpmtop/SOURCES/lunlink-$version.tar.gz" "lunlink-$version")

say "rpmbuild -bb"
SOURCE_DATE_EPOCH=$date nice -n 10 rpmbuild -bb --nodeps \
	--define "_topdir $rpmtop" \
	--define "lunlink_version $version" \
	--define "tgt_version $tgt_upstream" \
	$rpm_policy policy \
	"$src/packaging/rpm/lunlink.spec" >"$pkgdir/rpm-$version.log" 2>&1 ||
	{ tail -n 30 "$pkgdir/rpm-$version.log" >&2;
	  die "rpmbuild failed; log: $pkgdir/rpm-$version.log"; }
find "$rpmtop/RPMS" -name '*.rpm' -exec mv -f {} "$out/" \; -exec sh -c \
	'printf "build-packages: built %s/%s\n" "$1" "$(basename "$2")"' sh "$out" {} \;
