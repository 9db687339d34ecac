#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# profile.sh: what each I/O costs tgtd, counted rather than timed, so that
# two builds of the module can be compared on a busy machine.  One private
# tgtd serves, on one image location, a LUN per store (lunlink, and the
# stock stores asked for: null, aio, rdwr); fio's libiscsi engine sends a
# fixed number of I/Os to each in turn, and for each run it prints, per I/O:
#
#   PROFILE_TOOL=callgrind (default): the instructions tgtd executed in
#     user space (valgrind --tool=callgrind; tgtd runs some 50x slower, the
#     count does not change with load); the dumps stay in PROFILE_OUT for
#     callgrind_annotate.  The kernel's share is not in them.
#   PROFILE_TOOL=syscalls: tgtd's system calls (raw_syscalls:sys_enter),
#     context switches and the syscalls lunlink makes for data (preadv2,
#     pwritev2, io_uring_enter), counted by perf stat; tgtd runs as usual.
#     PROFILE_EVENTS replaces that list (perf stat -e syntax; a
#     syscalls:sys_enter_NAME is shown as NAME).
#   PROFILE_TOOL=record: perf record (cpu-clock, 2999 Hz) of tgtd, kernel
#     included, during each run; PROFILE_OUT/JOB-STORE.perf for perf
#     report, and the run's tgtd CPU per I/O (utime+stime).
#
# Knobs: PROFILE_STORES ("lunlink null aio"), PROFILE_JOBS ("randread
# randwrite seqwrite seqread", as in run.sh), PROFILE_IOS4K (20000),
# PROFILE_IOS1M (2000), PROFILE_LOCATION (tmpfs or disk; tmpfs),
# IMAGE_MB (256), PROFILE_OUT (t/trash/profile), MODULE (a bs_lunlink.so
# other than this tree's, e.g. an old commit's build), FIO, PROFILE_PR
# (empty; "we": before the runs, lunlink's LUN gets a registration and a
# WRITE EXCLUSIVE reservation of fio's own initiator port, so that every
# I/O meets the reservation check as the holder's, the fence_scsi and
# cluster case; needs t/helpers/iscsi-pr and a C compiler).  fio sends
# PROFILE_IOS4K (or _1M) I/Os over the first IMAGE_MB MiB of each LUN
# (io_size), login included: enough I/Os make the login's share small.
# Everything is bounded: fio under timeout, tgtd stopped on exit.

set -u

PERF_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$PERF_DIR/../.." && pwd)
TEST_NAME=profile
TRASH=$SRC_DIR/t/trash/profile-run
SECONDS_PER_RUN=1
ROUNDS=1
IMAGE_MB=${IMAGE_MB:-256}
TOOL=${PROFILE_TOOL:-callgrind}
STORES=${PROFILE_STORES:-lunlink null aio}
JOBS=${PROFILE_JOBS:-randread randwrite seqwrite seqread}
IOS4K=${PROFILE_IOS4K:-20000}
IOS1M=${PROFILE_IOS1M:-2000}
LOC=${PROFILE_LOCATION:-tmpfs}
OUT=${PROFILE_OUT:-$SRC_DIR/t/trash/profile}
PERF_NAME=profile
. "$PERF_DIR/lib-perf.sh"

perf_preflight "PROFILE_IOS4K=$IOS4K" "PROFILE_IOS1M=$IOS1M"
case "$TOOL" in
callgrind) command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
	die "needs valgrind (apt-get install valgrind)" ;;
syscalls | record) command -v perf >/dev/null || die "needs perf (apt-get install linux-perf)" ;;
*) die "PROFILE_TOOL is callgrind, syscalls or record, not '$TOOL'" ;;
esac
case "$LOC" in
tmpfs) base=${PERF_TMPFS_DIR:-/dev/shm} ;;
disk) base=${PERF_DISK_DIR:-/var/tmp} ;;
*) die "PROFILE_LOCATION is tmpfs or disk, not '$LOC'" ;;
esac

rm -rf "$TRASH"
mkdir -p "$TRASH" "$OUT" || die "cannot create $TRASH or $OUT"
. "$SRC_DIR/t/lib-tgtd.sh"

DIR=$base/lunlink-profile.$$
cleanup() {
	tgtd_stop_all
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "$TOOL" = callgrind ]; then
	cat >"$TRASH/tgtd-callgrind" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$OUT/callgrind.out.%p" /usr/sbin/tgtd "\$@"
EOF
	chmod +x "$TRASH/tgtd-callgrind"
	TGTD=$TRASH/tgtd-callgrind
fi
tgtd_start prof || die "cannot start tgtd"
mkdir -p "$DIR" || die "cannot create $DIR"
target_new prof 1 || die "cannot create the target"
n=0
for s in $STORES; do
	n=$((n + 1))
	eval "LUN_$s=$n"
	if [ "$s" != null ]; then
		timeout 600 dd if=/dev/zero of="$DIR/$s.img" bs=1M count="$IMAGE_MB" \
			conv=fsync status=none || die "cannot write $DIR/$s.img"
	fi
	lun_new prof 1 $n "$DIR/$s.img" "$s" || die "$s cannot serve $DIR/$s.img"
done
grep 'serving through' "$prof_LOG" | head -1 >&2

# PROFILE_PR=we: fio's initiator port, the same in every run (its name,
# and the ISID t/helpers/iscsi-pr gives with -q 1: libiscsi picks a
# random one, which no registration made beforehand could name), holds
# the registration and the reservation
FIO_ENV=
FIO_INITIATOR=iqn.2019-04.org.fio:fio
case "${PROFILE_PR:-}" in
"") ;;
we)
	[ -x "$SRC_DIR/t/helpers/iscsi-pr" ] || die "PROFILE_PR=we needs t/helpers/iscsi-pr (make t/helpers/iscsi-pr)"
	case " $STORES " in
	*" lunlink "*) ;;
	*) die "PROFILE_PR=we reserves lunlink's LUN: PROFILE_STORES must name lunlink" ;;
	esac
	cat >"$TRASH/fixed-isid.c" <<'EOF_C'
/* fio's libiscsi contexts with the ISID of iscsi-pr -q 1 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <iscsi/iscsi.h>

struct iscsi_context *iscsi_create_context(const char *name)
{
	struct iscsi_context *(*real)(const char *) =
		(struct iscsi_context *(*)(const char *))dlsym(RTLD_NEXT, "iscsi_create_context");
	struct iscsi_context *c = real ? real(name) : NULL;

	if (c)
		iscsi_set_isid_random(c, 0x001234, 1);
	return c;
}
EOF_C
	cc -shared -fPIC -O2 -o "$TRASH/fixed-isid.so" "$TRASH/fixed-isid.c" -ldl ||
		die "cannot build $TRASH/fixed-isid.so"
	FIO_ENV="LD_PRELOAD=$TRASH/fixed-isid.so"
	pr_url=$(url prof 1 "$LUN_lunlink")
	for cmd in "register 0 abc1" "reserve abc1 1"; do
		# shellcheck disable=SC2086
		timeout 30 "$SRC_DIR/t/helpers/iscsi-pr" -n "$FIO_INITIATOR" -q 1 "$pr_url" $cmd >/dev/null ||
			die "PROFILE_PR=we: iscsi-pr $cmd failed on $pr_url"
	done
	timeout 30 "$SRC_DIR/t/helpers/iscsi-pr" -n "$FIO_INITIATOR" -q 1 "$pr_url" read-reservation |
		grep -qx 'reservation abc1 1' || die "PROFILE_PR=we: no WRITE EXCLUSIVE reservation after reserve"
	say "lunlink's LUN: key abc1 registered and WRITE EXCLUSIVE reserved by fio's initiator port"
	;;
*) die "PROFILE_PR is empty or we, not '$PROFILE_PR'" ;;
esac

job_args() {
	case "$1" in
	randread) echo "--rw=randread --bs=4k --iodepth=32 --io_size=$((IOS4K * 4))k" ;;
	randwrite) echo "--rw=randwrite --bs=4k --iodepth=32 --io_size=$((IOS4K * 4))k" ;;
	seqwrite) echo "--rw=write --bs=1m --iodepth=8 --io_size=${IOS1M}m" ;;
	seqread) echo "--rw=read --bs=1m --iodepth=8 --io_size=${IOS1M}m" ;;
	*) return 1 ;;
	esac
}

# The I/Os fio completed (its json), or nothing.
fio_ios() {
	jq -r '.jobs[0] | .read.total_ios + .write.total_ios' "$1" 2>/dev/null
}

echo "profile: $TOOL, $LOC, module $MODULE${PROFILE_PR:+, PROFILE_PR=$PROFILE_PR}, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
for job in $JOBS; do
	for s in $STORES; do
		eval "lun=\$LUN_$s"
		fn=$(url prof 1 "$lun" | sed 's/:/\\:/g')
		args=$(job_args "$job") || die "unknown job '$job'"
		json=$TRASH/fio-$job-$s.json
		case "$TOOL" in
		callgrind)
			callgrind_control -z "$prof_PID" >/dev/null 2>&1 || die "callgrind_control -z failed"
			;;
		syscalls)
			perf stat -x, -o "$TRASH/stat-$job-$s" -p "$prof_PID" \
				-e "${PROFILE_EVENTS:-raw_syscalls:sys_enter,context-switches,syscalls:sys_enter_preadv2,syscalls:sys_enter_pwritev2,syscalls:sys_enter_io_uring_enter}" &
			statpid=$!
			sleep 0.5
			;;
		record)
			perf record -q -F 2999 -e cpu-clock -g -o "$OUT/$job-$s.perf" -p "$prof_PID" \
				>/dev/null 2>&1 &
			statpid=$!
			sleep 0.5
			t0=$(cpu_ticks "$prof_PID")
			;;
		esac
		# shellcheck disable=SC2086
		env $FIO_ENV timeout -k 5 900 "$FIO" --name="$job" --ioengine=libiscsi \
			--initiator="$FIO_INITIATOR" --filename="$fn" $args \
			--size="${IMAGE_MB}m" --time_based=0 --norandommap --randrepeat=0 \
			--output-format=json --output="$json" >/dev/null 2>"$json.err" ||
			die "fio failed on $s $job: $(head -c 300 "$json.err")"
		ios=$(fio_ios "$json")
		case "$TOOL" in
		callgrind)
			callgrind_control -d "$job-$s" "$prof_PID" >/dev/null 2>&1 || die "callgrind_control -d failed"
			sleep 1
			f=$(ls -t "$OUT"/callgrind.out.* | head -1)
			mv "$f" "$OUT/$job-$s.callgrind"
			ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$OUT/$job-$s.callgrind")
			printf 'profile: %-9s %-8s %7s I/Os  %10.0f instructions per I/O\n' "$job" "$s" "$ios" \
				"$(awk -v a="$ir" -v b="$ios" 'BEGIN { print b ? a / b : 0 }')"
			;;
		syscalls)
			kill -INT "$statpid"
			wait "$statpid"
			awk -F, -v ios="$ios" -v job="$job" -v s="$s" '
				/^#/ || $3 == "" { next }
				{ sub(/^syscalls:sys_enter_/, "", $3); sub(/^raw_syscalls:sys_enter/, "syscalls", $3)
				  line = line sprintf("  %s %.2f", $3, $1 / ios) }
				END { printf "profile: %-9s %-8s %7s I/Os per I/O:%s\n", job, s, ios, line }' \
				"$TRASH/stat-$job-$s"
			;;
		record)
			t1=$(cpu_ticks "$prof_PID")
			kill -INT "$statpid"
			wait "$statpid"
			printf 'profile: %-9s %-8s %7s I/Os  tgtd %.1f CPU µs per I/O  (%s)\n' "$job" "$s" "$ios" \
				"$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$ios" 'BEGIN { print n ? t / hz / n * 1e6 : 0 }')" \
				"$OUT/$job-$s.perf"
			;;
		esac
	done
done
