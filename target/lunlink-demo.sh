#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lunlink-demo.sh [start|stop|status]: lunlink's main job on one machine.
#
# start: runs tgtd on loopback with this build's bs_lunlink.so (in a
# private mount namespace: nothing is installed) serving one lunlink LUN
# from a sparse 1 GiB image, checks it answers over iSCSI, and prints the
# URL to use and how to stop it.  The tgtd is lunlink's patched one
# (build/tgt/usr/tgtd, `make tgtd`: it tells initiators of added LUNs at
# once) when built, else the stock /usr/sbin/tgtd.  stop: stops that tgtd.
# Run as root from the source tree, after `make`.

set -eu

SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
STATE=${LUNLINK_DEMO_DIR:-/run/lunlink-demo}
IMAGE_DIR=${LUNLINK_DEMO_IMAGES:-/var/lib/lunlink-demo}
SIZE=${LUNLINK_DEMO_SIZE:-1G}

die() { printf 'lunlink-demo: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (tgtd needs a mount namespace and a port)"
[ -f "$SRC_DIR/target/bs_lunlink.so" ] || die "target/bs_lunlink.so is not built: run make"

TRASH=$STATE TEST_NAME=demo
if [ -x "$SRC_DIR/build/tgt/usr/tgtd" ]; then
	TGTD="$SRC_DIR/build/tgt/usr/tgtd"
	async="on (lunlink's patched tgtd)"
else
	async="off (stock tgtd: run make tgtd for them)"
fi
. "$SRC_DIR/t/lib-tgtd.sh"

load_state() {
	[ -f "$STATE/state" ] || return 1
	. "$STATE/state"
	kill -0 "$demo_PID" 2>/dev/null
}

case "${1:-start}" in
stop)
	if load_state; then
		pid=$demo_PID
		tgtd_stop demo
		echo "lunlink-demo: stopped tgtd (pid $pid); the image stays in $IMAGE_DIR"
	else
		echo "lunlink-demo: not running"
	fi
	rm -f "$STATE/state"
	exit 0 ;;
status)
	load_state || { echo "lunlink-demo: not running"; exit 1; }
	tgtadm_on demo --lld iscsi --op show --mode target
	exit 0 ;;
start) ;;
*) die "usage: $0 [start|stop|status]" ;;
esac

if load_state; then
	echo "lunlink-demo: already running (tgtd pid $demo_PID): $(url demo 1 1)"
	echo "  stop it with: sudo make demo-stop"
	exit 0
fi

mkdir -p "$STATE" "$IMAGE_DIR"
# the iSCSI port if it is free, else any free one
if ! ss -Htln "sport = :3260" | grep -q .; then TGTD_PORT=3260; fi
image="$IMAGE_DIR/demo.img"
[ -f "$image" ] || truncate -s "$SIZE" "$image"

tgtd_start demo || die "tgtd did not start; see $STATE/tgtd-demo/log"
{
	echo "demo_PID=$demo_PID demo_PORT=$demo_PORT demo_CTL=$demo_CTL"
	echo "demo_DIR=$demo_DIR demo_LOG=$demo_LOG"
} >"$STATE/state"
target_new demo 1 || die "cannot create the target; see $demo_LOG"
lun_new demo 1 1 "$image" lunlink ||
	die "the lunlink LUN was refused: $(grep lunlink "$demo_LOG" | tail -n 1)"

u=$(url demo 1 1)
iscsi-inq "$u" >/dev/null 2>&1 || die "the LUN does not answer INQUIRY at $u; see $demo_LOG"
path=$(grep -o 'serving through [^(]*' "$demo_LOG" | tail -n 1 | sed 's/ *$//')

cat <<MSG
lunlink demo: tgtd (pid $demo_PID) is $path
  iSCSI URL : $u
  Async Msgs: $async
  image     : $image ($(du -h --apparent-size "$image" | cut -f1), sparse)
  try       : iscsi-inq $u
              iscsi-readcapacity16 $u
  initiator : iscsiadm -m discovery -t st -p 127.0.0.1:$demo_PORT && iscsiadm -m node --login
  manage    : TGT_IPC_SOCKET=$demo_DIR/socket tgtadm -C $demo_CTL --lld iscsi --op show --mode target
  grow it   : truncate -s 2G $image && TGT_IPC_SOCKET=$demo_DIR/socket tgtadm -C $demo_CTL \\
                --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params resize=reread
  add a LUN : truncate -s 1G $IMAGE_DIR/second.img && TGT_IPC_SOCKET=$demo_DIR/socket tgtadm -C $demo_CTL \\
                --lld iscsi --mode logicalunit --op new --tid 1 --lun 2 \\
                --backing-store $IMAGE_DIR/second.img --bstype lunlink
  log       : $demo_LOG
  stop      : sudo make demo-stop
MSG
