#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lunlink-demo.sh start|stop|status|fail-leg|restore-leg: lunlink's main job
# on one machine: a 2-way mirrored LUN on loopback.
#
# start: two tgtd on loopback, in private mount namespaces with this build's
# bs_lunlink.so (nothing is installed).  "leg" stands for a peer node: the
# stock tgtd exporting its copy of the volume with tgt's rdwr store.
# "primary" serves the mirrored lunlink LUN: its own copy plus the leg.  The
# primary is lunlink's patched tgtd (build/tgt/usr/tgtd, `make tgtd`: it
# tells initiators of added LUNs at once) when built, else the stock one.
# Both copies are lunlink images (sparse, 1 GiB) made by lunlink-image, the
# leg's with the primary's volume id: both blank, they start in sync.  It
# waits for the first sync, checks the LUN answers over iSCSI, and prints
# the URL and what to try: fail the leg, write, bring it back, watch the
# resync copy only what changed.
# Run as root from the source tree, after `make`.

set -eu

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${LUNLINK_DEMO_DIR:-/run/lunlink-demo}
IMAGE_DIR=${LUNLINK_DEMO_IMAGES:-/var/lib/lunlink-demo}
SIZE=${LUNLINK_DEMO_SIZE:-1G}
IMG="$SRC_DIR/target/lunlink-image"

die() { printf 'lunlink-demo: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (tgtd needs a mount namespace and a port)"
[ -f "$SRC_DIR/target/bs_lunlink.so" ] && [ -x "$IMG" ] ||
	die "target/bs_lunlink.so or target/lunlink-image is not built: run make"

TRASH=$STATE TEST_NAME=demo
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
if [ -x "$PATCHED" ]; then
	async="on (lunlink's patched tgtd)"
else
	PATCHED=/usr/sbin/tgtd
	async="off (stock tgtd: run make tgtd for them)"
fi
. "$SRC_DIR/t/lib-tgtd.sh"

load_state() {
	[ -f "$STATE/state" ] || return 1
	. "$STATE/state"
}

save_state() {
	{
		echo "primary_PID=$primary_PID primary_PORT=$primary_PORT primary_CTL=$primary_CTL"
		echo "primary_DIR=$primary_DIR primary_LOG=$primary_LOG"
		echo "leg_PID=${leg_PID:-} leg_PORT=$leg_PORT leg_CTL=$leg_CTL"
		echo "leg_DIR=$leg_DIR leg_LOG=$leg_LOG"
	} >"$STATE/state"
}

start_leg() {
	[ -n "${leg_PORT:-}" ] && TGTD_PORT=$leg_PORT
	tgtd_start leg || die "the leg's tgtd did not start; see $STATE/tgtd-leg/log"
	unset TGTD_PORT
	target_new leg 1 || die "cannot create the leg's target"
	# bigger iSCSI transfers for the leg than tgt's defaults (doc/mirror.md)
	for kv in MaxRecvDataSegmentLength=262144 MaxBurstLength=1048576 \
		  FirstBurstLength=262144 InitialR2T=No; do
		tgtadm_on leg --lld iscsi --mode target --op update --tid 1 \
			--name "${kv%%=*}" --value "${kv#*=}" || die "cannot set $kv on the leg's target"
	done
	lun_new leg 1 1 "$IMAGE_DIR/leg.img" rdwr || die "cannot export the leg's image"
}

status_file() { echo "/run/lunlink/c${primary_CTL}-t1-l1.status"; }
leg_state() { sed -n "s/^leg 1 .* state=\([a-z]*\).*/\1/p" "$(status_file)" 2>/dev/null; }

case "${1:-start}" in
stop)
	if load_state; then
		for n in primary leg; do
			eval "pid=\${${n}_PID:-}"
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
			tgtd_stop "$n"
			echo "lunlink-demo: stopped the $n's tgtd (pid $pid)"
		done
		echo "lunlink-demo: the images stay in $IMAGE_DIR"
	else
		echo "lunlink-demo: not running"
	fi
	rm -f "$STATE/state"
	exit 0 ;;
status)
	load_state || { echo "lunlink-demo: not running"; exit 1; }
	cat "$(status_file)"
	exit 0 ;;
fail-leg)
	load_state || die "not running (make demo)"
	[ -n "$leg_PID" ] && kill -0 "$leg_PID" 2>/dev/null || die "the leg is already down"
	kill -9 "$leg_PID"
	echo "lunlink-demo: killed the leg's tgtd (kill -9 $leg_PID): the LUN goes on degraded;"
	echo "  write to it, then: sudo make demo-restore-leg, and watch target/tools/lunlink-status -w"
	leg_PID=
	save_state
	exit 0 ;;
restore-leg)
	load_state || die "not running (make demo)"
	[ -n "$leg_PID" ] && kill -0 "$leg_PID" 2>/dev/null && die "the leg is up already"
	start_leg
	save_state
	echo "lunlink-demo: the leg is back (tgtd pid $leg_PID); the primary reconnects within"
	echo "  30 s and copies only the regions written meanwhile: target/tools/lunlink-status -w"
	exit 0 ;;
start) ;;
*) die "usage: $0 start|stop|status|fail-leg|restore-leg" ;;
esac

if load_state && kill -0 "$primary_PID" 2>/dev/null; then
	echo "lunlink-demo: already running (tgtd pid $primary_PID): $(url primary 1 1)"
	echo "  stop it with: sudo make demo-stop"
	exit 0
fi

mkdir -p "$STATE" "$IMAGE_DIR"
# the leg as another copy of the primary's volume: two blank copies start
# in sync with nothing copied
[ -f "$IMAGE_DIR/primary.img" ] ||
	"$IMG" create --size "$SIZE" "$IMAGE_DIR/primary.img" >/dev/null ||
	die "cannot create $IMAGE_DIR/primary.img"
[ -f "$IMAGE_DIR/leg.img" ] ||
	"$IMG" create --size "$SIZE" --volume "$("$IMG" show --json "$IMAGE_DIR/primary.img" |
		sed -n 's/.*"volume":"\([0-9a-f]*\)".*/\1/p')" "$IMAGE_DIR/leg.img" >/dev/null ||
	die "cannot create $IMAGE_DIR/leg.img"

start_leg
# the primary on the iSCSI port if it is free, else any free one
if ! ss -Htln "sport = :3260" | grep -q .; then TGTD_PORT=3260; fi
TGTD="$PATCHED" tgtd_start primary || die "tgtd did not start; see $STATE/tgtd-primary/log"
unset TGTD_PORT
save_state
target_new primary 1 || die "cannot create the target; see $primary_LOG"
lun_new primary 1 1 "$IMAGE_DIR/primary.img" lunlink "mirror=$(url leg 1 1)" ||
	die "the mirrored LUN was refused: $(grep lunlink "$primary_LOG" | tail -n 2)"

i=0
until [ "$(leg_state)" = up ]; do
	i=$((i + 1))
	[ $i -le 300 ] || die "the leg did not come up within 30 s: $(cat "$(status_file)")"
	sleep 0.1
done
u=$(url primary 1 1)
iscsi-inq "$u" >/dev/null 2>&1 || die "the LUN does not answer INQUIRY at $u; see $primary_LOG"

cat <<MSG
lunlink demo: a 2-way mirrored LUN on loopback
  iSCSI URL : $u
  copies    : $IMAGE_DIR/primary.img (local, tgtd pid $primary_PID)
              $IMAGE_DIR/leg.img     (leg: $(url leg 1 1), tgtd pid $leg_PID)
  Async Msgs: $async
  status    : target/tools/lunlink-status        (or -w 1 to watch)
  try       : iscsi-inq $u
              iscsi-readcapacity16 $u
  fail a leg: sudo make demo-fail-leg       (kill -9 of the leg's tgtd; the LUN goes on)
  restore it: sudo make demo-restore-leg    (only what was written meanwhile is copied)
  initiator : iscsiadm -m discovery -t st -p 127.0.0.1:$primary_PORT && iscsiadm -m node --login
  log       : $primary_LOG
  stop      : sudo make demo-stop
MSG
