#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# build-fio.sh: build fio with its libiscsi engine (Debian's fio package
# has none) in a cache folder outside the source tree, and print the path
# of the binary on stdout.  Idempotent: a binary already built is reused.
#
#   LUNLINK_CACHE   cache root (default /var/cache/lunlink); fio is built
#                   in $LUNLINK_CACHE/fio
#
# The source comes from Debian's archive (`apt-get source fio`, deb-src
# entries must be configured); missing -dev packages that configure needs
# are installed with apt-get.  Progress goes to stderr, and the build log
# to $LUNLINK_CACHE/fio/build.log.

set -eu

CACHE=${LUNLINK_CACHE:-/var/cache/lunlink}
DIR=$CACHE/fio
LOG=$DIR/build.log

say() { printf 'build-fio: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

has_libiscsi() {
	[ -x "$1" ] && "$1" --enghelp 2>/dev/null | grep -qx '[[:space:]]*libiscsi'
}

mkdir -p "$DIR"

# Already built?
for f in "$DIR"/fio-*/fio; do
	if has_libiscsi "$f"; then
		echo "$f"
		exit 0
	fi
done

# Packages configure needs for the engines we want (libiscsi is the point;
# zlib and libaio are cheap and fio's configure probes for them).
need=
for p in libiscsi-dev zlib1g-dev libaio-dev pkg-config gcc make dpkg-dev; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
		need="$need $p"
done
if [ -n "$need" ]; then
	say "installing:$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need \
		>>"$LOG" 2>&1 || die "apt-get install$need failed; see $LOG"
fi

# Fetch the source once.
src=
for d in "$DIR"/fio-*/; do
	[ -f "$d/configure" ] && src=${d%/} && break
done
if [ -z "$src" ]; then
	say "apt-get source fio (into $DIR)"
	(cd "$DIR" && apt-get source fio) >>"$LOG" 2>&1 ||
		die "apt-get source fio failed (are deb-src entries configured?); see $LOG"
	for d in "$DIR"/fio-*/; do
		[ -f "$d/configure" ] && src=${d%/} && break
	done
	[ -n "$src" ] || die "no fio source folder in $DIR after apt-get source"
fi

say "building $src (log: $LOG)"
(
	cd "$src"
	./configure --enable-libiscsi --disable-native &&
	make -j"$(nproc)"
) >>"$LOG" 2>&1 || die "fio build failed; see $LOG"
has_libiscsi "$src/fio" || die "$src/fio has no libiscsi engine; see $LOG"
echo "$src/fio"
