#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# setup-debian.sh: make a Debian 12 machine ready to build and test lunlink.
#
# It installs the packages the build and the tests need, adds the deb-src
# entries that `apt-get source` needs, and fetches the source of exactly the
# tgt version that dpkg reports installed into a cache folder outside the
# tree (LUNLINK_CACHE, default /var/cache/lunlink).  tgt ships no headers
# package; bs_lunlink.so is built against the headers of that source, and
# only of that version (a module built against other headers corrupts tgtd's
# memory without a word).
#
# Run as root.  Safe to run again: every step checks before it acts.

set -eu

cache=${LUNLINK_CACHE:-/var/cache/lunlink}
packages="build-essential pkg-config dpkg-dev patch tgt libiscsi-bin libiscsi-dev
liburing-dev libconfig-dev libaio-dev libssl-dev libsqlite3-dev sqlite3 util-linux iproute2 perl tshark
qemu-system-x86 busybox-static cpio kmod xz-utils jq groff-base
libevent-dev libjson-c-dev libcurl4-openssl-dev openssl curl etcd-server
debhelper fakeroot lintian rpm libsystemd-dev debootstrap systemd-container"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages with apt-get)"
command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian 12"

src_list=/etc/apt/sources.list.d/lunlink-deb-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
	say "adding deb-src entries in $src_list (apt-get source needs them)"
	cat >"$src_list" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	updated=
else
	updated=yes
fi

missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ] || [ -z "$updated" ] || [ -n "${LUNLINK_APT_UPDATE:-}" ]; then
	say "apt-get update"
	apt-get update -q >/dev/null || die "apt-get update failed"
fi
if [ -n "$missing" ]; then
	# tshark's package asks whether non-root users may capture: no
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		debconf-set-selections
	say "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$missing >/dev/null || die "apt-get install failed for:$missing"
fi

# etcd-server is for the etcd store's tests (t/unit/etcd-client.t,
# store-etcd.t, policy-elect.t, which start their own etcd on free ports;
# t3780 and the cluster demo's etcd mode, one member per network namespace)
# and for running several managers; the package's own etcd.service, if
# systemd starts it, listens on 127.0.0.1:2379 and is left alone.

# The stock tgt service must not hold port 3260 or the default control
# socket while tests run their own tgtd; the package starts nothing on a
# machine without systemd, and we leave a running service alone.

version=$(dpkg-query -W -f='${Version}' tgt) || die "tgt is not installed"
upstream=${version#*:}
upstream=${upstream%-*}
srcdir="$cache/tgt-$upstream"
stamp="$srcdir/.lunlink-tgt-version"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
	say "tgt $version source already in $srcdir"
else
	say "fetching tgt $version source into $cache"
	mkdir -p "$cache"
	rm -rf "$srcdir"
	(cd "$cache" && apt-get source -q "tgt=$version" >/dev/null 2>&1) ||
		die "apt-get source tgt=$version failed (is there a deb-src entry for its suite?)"
	[ -f "$srcdir/usr/tgtd.h" ] || die "tgt source unpacked, but $srcdir/usr/tgtd.h is missing"
	printf '%s\n' "$version" >"$stamp"
fi
say "ready: tgt $version, headers in $srcdir/usr"
