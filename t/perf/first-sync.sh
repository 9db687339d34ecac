#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/perf/first-sync.sh: how long a mirror's first sync takes, from the
# mirrored LUN's creation on tgtd A until its leg (a file on tgtd B,
# exported by stock tgt's rdwr store, over loopback) is up.  Three cases:
#
#   blank    both copies just made by lunlink-image create (the leg with
#            --volume of the primary's, where the tool has it)
#   written  the primary served alone first and WRITTEN_MB MiB written to it
#            (1 MiB writes spread evenly over the volume), then mirrored to
#            a new leg; the leg thin-provisioned (WRITE SAME's UNMAP works)
#   zeros    the same, to a leg that is not thin-provisioned (no UNMAP)
#
# Environment: IMAGE_MB (1024), WRITTEN_MB (64), ROUNDS (3), CASES
# ("blank written zeros"), PERF_IMAGE_DIR (/var/tmp: a disk), MODULE and
# LUNLINK_IMAGE (another build's bs_lunlink.so and lunlink-image, to
# compare).  Prints one line per run: case, round, ms to up, the resync's
# own ms and what it sent (its "resync done" line), and the bytes the
# leg's file holds on disk afterwards.
set -u
PERF_NAME=first-sync
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
IMAGE_MB=${IMAGE_MB:-1024}
WRITTEN_MB=${WRITTEN_MB:-64}
ROUNDS=${ROUNDS:-3}
CASES=${CASES:-blank written zeros}
DIR=${PERF_IMAGE_DIR:-/var/tmp}/lunlink-first-sync.$$
IMG=${LUNLINK_IMAGE:-$SRC_DIR/target/lunlink-image}
IO=$SRC_DIR/t/helpers/iscsi-io
TRASH=$DIR/trash
TEST_NAME=first-sync

say() { printf '%s: %s\n' "$PERF_NAME" "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (tgtd in a private mount namespace)"
[ -x "$IMG" ] && [ -x "$IO" ] || die "no $IMG or $IO: run make and make check's helpers"
mkdir -p "$TRASH" || die "cannot create $DIR"
. "$SRC_DIR/t/lib-tgtd.sh"
[ -f "$MODULE" ] || die "no $MODULE: run make"

cleanup() { tgtd_stop_all; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

status_file() { echo "/run/lunlink/c${A_CTL}-t1-l1.status"; }
leg_up() { grep -q "^leg 1 .* state=up" "$(status_file)" 2>/dev/null; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# one CASE ROUND
one() {
	local c=$1 vol ms t0 line
	rm -f "$DIR"/a.img "$DIR"/b.img
	"$IMG" create --size "${IMAGE_MB}M" "$DIR/a.img" >/dev/null || return 1
	vol=
	if [ "$c" = blank ] && "$IMG" create --help | grep -q -- --volume; then
		vol=$("$IMG" show --json "$DIR/a.img" | jq -r .volume)
	fi
	"$IMG" create --size "${IMAGE_MB}M" ${vol:+--volume "$vol"} "$DIR/b.img" >/dev/null || return 1
	tgtd_start A && target_new A 1 || return 1
	if [ "$c" != blank ]; then
		# WRITTEN_MB writes of 1 MiB, evenly spread, served alone
		lun_new A 1 1 "$DIR/a.img" lunlink || return 1
		head -c 1048576 /dev/urandom >"$DIR/w"
		local i=0 step=$((IMAGE_MB / WRITTEN_MB))
		while [ $i -lt "$WRITTEN_MB" ]; do
			"$IO" "$(url A 1 1)" write $((i * step * 2048)) "$DIR/w" >/dev/null || return 1
			i=$((i + 1))
		done
		"$IO" "$(url A 1 1)" sync || return 1
		tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1 || return 1
	fi
	tgtd_start B && target_new B 1 && lun_new B 1 1 "$DIR/b.img" rdwr || return 1
	if [ "$c" != zeros ]; then
		tgtadm_on B --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 \
			--params thin_provisioning=1 || return 1
	fi
	sync
	t0=$(now_ms)
	lun_new A 1 1 "$DIR/a.img" lunlink "mirror=$(url B 1 1)" || return 1
	wait_for 600 leg_up || return 1
	ms=$(($(now_ms) - t0))
	line=$(join_log "$A_LOG" | sed -n 's/.*leg 1 ([^)]*): \(resync done: .*\|in sync without a copy\).*/\1/p' | tail -1)
	printf '%s\t%s\t%s ms to up\t%s\tleg file holds %s bytes\n' "$c" "$2" "$ms" "${line:-?}" \
		"$(($(stat -c %b "$DIR/b.img") * 512))"
	tgtd_stop A
	tgtd_stop B
}

say "module $MODULE, lunlink-image $IMG, ${IMAGE_MB} MiB images in $DIR, $(date -u '+%Y-%m-%d %H:%M UTC')"
for c in $CASES; do
	r=1
	while [ $r -le "$ROUNDS" ]; do
		one "$c" "$r" || die "$c round $r failed (logs in $TRASH)"
		r=$((r + 1))
	done
done
