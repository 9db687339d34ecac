#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mirror.sh: what a 2-way mirror costs.  Run by `make perf` after run.sh
# (PERF_MIRROR=0 skips it), or alone: `sh t/perf/mirror.sh`.
#
# Two private tgtds (t/lib-tgtd.sh) on loopback, for each image location:
#
#   B  serves the leg: LUN 1, a fresh lunlink image (lunlink-image create)
#      with stock rdwr; LUN 2, a plain image of the same size with stock
#      rdwr, to measure what the leg's node can write on its own.
#   A  serves LUN 1, an unmirrored lunlink LUN on a lunlink image, and
#      LUN 2, a mirrored lunlink LUN (bsopts mirror=iscsi://B/.../1) on
#      another lunlink image whose leg is B's LUN 1.
#
# Every image's data area is fully written with dd first (none is sparse);
# the mirror's leg is synced in full and both of A's LUNs get one warm-up
# pass of 1 MiB writes through iSCSI (which also fills the mirror's
# activity log) before anything is measured.  Then, interleaved per round
# (unmirrored, mirrored, repeated ROUNDS times; median reported):
#
#   seqwrite   1 MiB sequential write,  QD8   -> MiB/s  (goal: >= 0.8x)
#   randwrite  4 KiB random write,      QD32  -> IOPS   (goal: >= 0.6x)
#   randread   4 KiB random read,       QD32  -> IOPS   (for information)
#   qd1write   4 KiB random write,      QD1   -> IOPS   (for information: the
#              latency one write gains from the leg's round trip)
#   legwrite   B's LUN 2 directly: 1 MiB seq write QD8 (the leg's raw write
#              bandwidth), 64 KiB seq write QD1 (what one region in
#              flight at a time can reach), and PERF_RESYNC_MB MiB of 1 MiB
#              QD8 then SYNCHRONIZE CACHE, timed to its answer (what a
#              resync does: it ends with a flush of the leg)
#
# Resync: with the mirror up and flushed (SYNCHRONIZE CACHE), B's tgtd is
# killed with SIGKILL (by its PID), PERF_RESYNC_MB MiB are written
# sequentially to the mirrored LUN (degraded), B is restarted on the same
# port with the same target and LUNs, and the resync is timed from tgtd A's
# log ("connected; resyncing N region(s)" ... "resync done: copied X bytes
# (R regions) in T ms"); X/T is compared with the leg's raw bandwidth.
#
# fio's mean completion latency, the CPU time of tgtd A, tgtd B (utime+stime
# from /proc/PID/stat) and fio (its usr_cpu+sys_cpu) per completed I/O, and
# the machine's idle, softirq and steal shares (/proc/stat: network receive
# work no process is charged for; time the hypervisor gave to others) are
# kept for each run.
#
# Knobs (environment):
#   PERF_SECONDS           seconds per run (default 10)
#   ROUNDS                 rounds per job (default 2)
#   IMAGE_MB               LUN size in MiB (default 1024)
#   PERF_MIRROR_LOCATIONS  "disk", "tmpfs" or both (default "disk")
#   PERF_MIRROR_JOBS       default "seqwrite randwrite randread qd1write legwrite"
#   PERF_RESYNC_MB         MiB written while the leg is down (default 256;
#                          0 skips the resync measurement)
#   PERF_TMPFS_DIR, PERF_DISK_DIR, FIO, LUNLINK_CACHE: as for run.sh
#   PERF_MIRROR_OUT        results file (default t/trash/perf-mirror/results.md)
#   MODULE, LUNLINK_IMAGE  bs_lunlink.so and lunlink-image to use (default:
#                          this tree's target/), e.g. a build of a commit
#   PERF_LEG_PARAMS        iSCSI session keys set on the leg's target, e.g.
#                          "MaxRecvDataSegmentLength=262144 MaxBurstLength=1048576"
#                          (tgtadm --op update --mode target --name K --value V);
#                          empty (default): tgt's defaults
#   PERF_LEG_NETNS         1: the leg's tgtd in its own network namespace,
#                          reached over a veth pair (MTU 9000) whose leg end
#                          processes what it receives on CPUS_B (RPS), as a
#                          NIC on another node would; needs PERF_PIN
#   PERF_PIN               "CPUS_A:CPUS_B", e.g. "0:1": tgtd A and fio run on
#                          CPUS_A only, the leg's tgtd on CPUS_B only (taskset),
#                          as if the leg were another node; empty (default):
#                          no pinning
#   PERF_PROFILE           a folder: for each run, `perf stat` of tgtd A's
#                          system calls (stat-LOC-JOB-STORE.txt) and `perf
#                          record -g` of tgtd A (rec-LOC-JOB-STORE.data), over
#                          the run's seconds less two; empty (default): none
#   PERF_A_PRELOAD         a library to LD_PRELOAD into tgtd A only, e.g. the
#                          experiment t/perf/leg-batch.so (see its header);
#                          empty (default): none
#
# Bounded: fio and tgtadm run under `timeout`, every wait has a limit, and
# the tgtds and images are removed on any exit.

set -u

PERF_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$PERF_DIR/../.." && pwd)
TEST_NAME=perfm
TRASH=$SRC_DIR/t/trash/perf-mirror
SECONDS_PER_RUN=${PERF_SECONDS:-10}
ROUNDS=${ROUNDS:-2}
IMAGE_MB=${IMAGE_MB:-1024}
LOCATIONS=${PERF_MIRROR_LOCATIONS:-disk}
JOBS=${PERF_MIRROR_JOBS:-seqwrite randwrite randread qd1write legwrite}
RESYNC_MB=${PERF_RESYNC_MB:-256}
TMPFS_DIR=${PERF_TMPFS_DIR:-/dev/shm}
DISK_DIR=${PERF_DISK_DIR:-/var/tmp}
OUT=${PERF_MIRROR_OUT:-$TRASH/results.md}
PERF_NAME=perf-mirror
. "$PERF_DIR/lib-perf.sh"

PIN=${PERF_PIN:-}
PIN_A= PIN_B=
if [ -n "$PIN" ]; then
	PIN_A=${PIN%%:*} PIN_B=${PIN#*:}
	case "$PIN" in *:*) ;; *) die "PERF_PIN='$PIN' is not CPUS_A:CPUS_B" ;; esac
fi
# pin PID CPUS: every thread of PID to CPUS (no-op without PERF_PIN)
pin() {
	[ -n "$2" ] || return 0
	taskset -a -p -c "$2" "$1" >/dev/null || { say "cannot pin $1 to $2"; return 1; }
}
if [ -n "${PERF_PROFILE:-}" ] && ! command -v perf >/dev/null; then
	die "PERF_PROFILE needs perf (apt-get install linux-perf)"
fi
IMG=${LUNLINK_IMAGE:-$SRC_DIR/target/lunlink-image}
MODULE=${MODULE:-$SRC_DIR/target/bs_lunlink.so}
IO=$SRC_DIR/t/helpers/iscsi-io
perf_preflight "PERF_RESYNC_MB=$RESYNC_MB"
[ "$RESYNC_MB" -le "$IMAGE_MB" ] || die "PERF_RESYNC_MB must not exceed IMAGE_MB"
[ -f "$MODULE" ] && [ -x "$IMG" ] || die "no $MODULE or $IMG: run make first"
[ -x "$IO" ] || die "no $IO: run make first"

rm -rf "$TRASH"/tgtd-* "$TRASH"/fio-*
mkdir -p "$TRASH" "$(dirname "$OUT")" || die "cannot create $TRASH"
RAW=$(dirname "$OUT")/raw.tsv
RESYNC=$(dirname "$OUT")/resync.tsv

. "$SRC_DIR/t/lib-tgtd.sh"

# PERF_LEG_NETNS: a network namespace for the leg, a veth pair to it
NETNS=
cpumask() {	# CPU list "0" or "0,1" or "0-1" -> hex mask
	local m=0 c a b
	for c in $(echo "$1" | tr ',' ' '); do
		case "$c" in
		*-*) a=${c%-*} b=${c#*-}; while [ "$a" -le "$b" ]; do m=$((m | 1 << a)); a=$((a + 1)); done ;;
		*) m=$((m | 1 << c)) ;;
		esac
	done
	printf '%x' "$m"
}
if [ "${PERF_LEG_NETNS:-0}" = 1 ]; then
	[ -n "$PIN" ] || die "PERF_LEG_NETNS=1 needs PERF_PIN (which CPUs play the leg's node)"
	NETNS=lunlink-perf-$$
	ip netns add "$NETNS" &&
	ip link add llp-a$$ type veth peer name llp-b$$ &&
	ip link set llp-b$$ netns "$NETNS" &&
	ip addr add 10.77.0.1/24 dev llp-a$$ && ip link set llp-a$$ mtu 9000 up &&
	ip -n "$NETNS" addr add 10.77.0.2/24 dev llp-b$$ &&
	ip -n "$NETNS" link set llp-b$$ mtu 9000 up && ip -n "$NETNS" link set lo up &&
	echo "$(cpumask "$PIN_A")" >/sys/class/net/llp-a$$/queues/rx-0/rps_cpus &&
	ip netns exec "$NETNS" sh -c "echo $(cpumask "$PIN_B") >/sys/class/net/llp-b$$/queues/rx-0/rps_cpus" ||
		{ ip netns del "$NETNS" 2>/dev/null; die "cannot set up the leg's network namespace"; }
fi

IMGDIRS=
ok=
cleanup() {
	tgtd_stop_all
	if [ -n "$NETNS" ]; then
		ip link del llp-a$$ 2>/dev/null
		ip netns del "$NETNS" 2>/dev/null
	fi
	for d in $IMGDIRS; do rm -rf "$d"; done
	if [ -n "$ok" ]; then
		rm -rf "$TRASH"/tgtd-* "$TRASH"/fio-*
	else
		say "the tgtds' logs and fio's output kept in $TRASH"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# leg_state LOC: the state of the mirrored LUN's leg, from its status file
leg_state() {
	sed -n 's/^leg 1 .* state=\([a-z]*\).*/\1/p' "/run/lunlink/c${A_CTL}-t$(tid_of "$1")-l2.status" 2>/dev/null
}
leg_is() { test "$(leg_state "$1")" = "$2"; }

tid_of() {
	local i=0 l
	for l in $LOCATIONS; do
		i=$((i + 1))
		[ "$l" = "$1" ] && echo $i && return 0
	done
	return 1
}
dir_of() { case "$1" in tmpfs) echo "$TMPFS_DIR/lunlink-perfm.$$" ;; *) echo "$DISK_DIR/lunlink-perfm.$$" ;; esac; }

# start_leg LOC: tgtd B_LOC with the leg (LUN 1) and the raw image (LUN 2)
start_leg() {
	local loc=$1 tid dir
	tid=$(tid_of "$loc") dir=$(dir_of "$loc")
	TGTD_NETNS=$NETNS TGTD_ADDR=${NETNS:+10.77.0.2} tgtd_start "B_$loc" &&
	target_new "B_$loc" "$tid" &&
	for kv in ${PERF_LEG_PARAMS:-}; do
		tgtadm_on "B_$loc" --lld iscsi --mode target --op update --tid "$tid" \
			--name "${kv%%=*}" --value "${kv#*=}" || return 1
	done &&
	lun_new "B_$loc" "$tid" 1 "$dir/leg.img" rdwr &&
	lun_new "B_$loc" "$tid" 2 "$dir/legraw.img" rdwr &&
	eval "pin \$B_${loc}_PID \"\$PIN_B\""
}

# resync_line LOC FROM: the last resync of LOC's leg logged by A after line
# FROM: "N X R T" (regions planned, bytes copied, regions copied, ms)
resync_line() {
	local loc=$1 from=$2 u
	eval "u=\$(url B_$loc $(tid_of "$loc") 1)"
	tail -n +"$((from + 1))" "$A_LOG" | join_log | grep -F "($u)" | awk '
	/connected; resyncing [0-9]+ region/ { for (i = 1; i <= NF; i++) if ($i == "resyncing") n = $(i + 1) }
	/resync done: copied/ {
		for (i = 1; i <= NF; i++) {
			if ($i == "copied") x = $(i + 1)
			if ($i == "bytes") { r = $(i + 1); sub(/^\(/, "", r) }
			if ($i ~ /^ms;?$/ && $(i - 2) == "in") t = $(i - 1)
		}
	}
	END { if (t != "") print n, x, r, t }'
}

# ---- images and tgtds ----------------------------------------------------
fill() {	# FILE OFFSET_MB: write the data area so that nothing is sparse
	timeout 600 dd if=/dev/zero of="$1" bs=1M seek="$2" count="$IMAGE_MB" \
		conv=notrunc,fsync status=none
}

TGTD_PRELOAD=${PERF_A_PRELOAD:-} tgtd_start A || die "cannot start tgtd A"
say "tgtd A pid $A_PID, port $A_PORT"
for loc in $LOCATIONS; do
	case "$loc" in tmpfs | disk) ;; *) die "unknown location '$loc' (tmpfs or disk)" ;; esac
	tid=$(tid_of "$loc") dir=$(dir_of "$loc")
	mkdir -p "$dir" || die "cannot create $dir"
	IMGDIRS="$IMGDIRS $dir"
	eval "FS_$loc=\$(findmnt -no FSTYPE -T \"\$dir\" | head -n 1)"
	say "$loc: four images of $IMAGE_MB MiB in $dir"
	for f in plain mirror leg; do
		"$IMG" create --size "${IMAGE_MB}M" "$dir/$f.img" >/dev/null ||
			die "cannot create $dir/$f.img"
	done
	# the leg stays fresh (never synced): the mirror copies everything to it
	fill "$dir/plain.img" 1 && fill "$dir/mirror.img" 1 && fill "$dir/legraw.img" 0 ||
		die "cannot write the images in $dir"
	start_leg "$loc" || die "cannot start tgtd B_$loc"
	eval "say \"$loc: tgtd B_$loc pid \$B_${loc}_PID, port \$B_${loc}_PORT\""
	target_new A "$tid" || die "cannot create target $tid on A"
	lun_new A "$tid" 1 "$dir/plain.img" lunlink || die "cannot serve $dir/plain.img"
	eval "leg=\$(url B_$loc $tid 1)"
	lun_new A "$tid" 2 "$dir/mirror.img" lunlink "mirror=$leg" ||
		die "cannot serve $dir/mirror.img mirrored to $leg"
	say "$loc: waiting for the fresh leg to be synced in full"
	t0=$(date +%s)
	wait_for 900 leg_is "$loc" up || die "$loc: the leg did not come up; see $A_LOG"
	eval "FULL_$loc=\"\$(resync_line $loc 0)\""
	eval "say \"$loc: full sync of the fresh leg: \$FULL_$loc (regions, bytes, regions, ms) in \$((\$(date +%s) - t0)) s\""
done
pin "$A_PID" "$PIN_A" || die "cannot pin tgtd A"
if grep -q 'lunlink.*serving through' "$A_LOG"; then
	ENGINE=$(sed -n 's/.*lunlink.*\(serving through [^(]*\).*/\1/p' "$A_LOG" | sort -u | head -1 | sed 's/ *$//')
else
	ENGINE="(engine not reported in tgtd's log)"
fi

# ---- runs ----------------------------------------------------------------
job_args() {
	case "$1" in
	randread) echo "--rw=randread --bs=4k --iodepth=32" ;;
	randwrite) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
	qd1write) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
	seqwrite | leg1m) echo "--rw=write --bs=1m --iodepth=8" ;;
	leg64k) echo "--rw=write --bs=64k --iodepth=1" ;;
	legsync) echo "--rw=write --bs=1m --iodepth=8 --size=${RESYNC_MB}m --end_fsync=1" ;;
	*) return 1 ;;
	esac
}
stores_of() {
	case "$1" in
	legwrite) if [ "$RESYNC_MB" -gt 0 ]; then echo "leg1m leg64k legsync"; else echo "leg1m leg64k"; fi ;;
	*) echo "unmirrored mirrored" ;;
	esac
}
url_of() {	# LOC STORE
	local tid
	tid=$(tid_of "$1")
	case "$2" in
	unmirrored) url A "$tid" 1 ;;
	mirrored) url A "$tid" 2 ;;
	leg*) url "B_$1" "$tid" 2 ;;
	esac
}

# fio_run JSON URL ARGS...: one fio run, bounded; 0 if it produced a job
fio_run() {
	local json=$1 u=$2 fn
	shift 2
	fn=$(printf '%s' "$u" | sed 's/:/\\:/g')
	timeout -k 5 $((SECONDS_PER_RUN + 120)) ${PIN_A:+taskset -c "$PIN_A"} "$FIO" --name=perfm --ioengine=libiscsi \
		--filename="$fn" "$@" --norandommap --randrepeat=0 \
		--output-format=json --output="$json" >/dev/null 2>"$json.err" &&
		jq -e '.jobs[0]' "$json" >/dev/null 2>&1
}

# PERF_PROFILE: tgtd A's system calls and samples during the run NAME
profile_a() {
	local t=$((SECONDS_PER_RUN > 3 ? SECONDS_PER_RUN - 2 : 1))
	mkdir -p "$PERF_PROFILE" || die "PERF_PROFILE=$PERF_PROFILE: cannot create it"
	timeout $((t + 30)) perf record -F 4999 -g -p "$A_PID" -o "$PERF_PROFILE/rec-$1.data" \
		-- sleep "$t" >/dev/null 2>&1 &
	timeout $((t + 30)) perf stat -p "$A_PID" -o "$PERF_PROFILE/stat-$1.txt" -e \
		'syscalls:sys_enter_sendto,syscalls:sys_enter_writev,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_pwritev2,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_setsockopt,syscalls:sys_enter_io_uring_enter' \
		-- sleep "$t" >/dev/null 2>&1 &
}

# raw.tsv: loc job round store ios bytes runtime_ms lat_us cpuA cpuB
# machine_busy_ticks machine_idle_ticks fio_cpu_us_per_io softirq_ticks
# steal_ticks
run_one() {
	local loc=$1 job=$2 round=$3 s=$4 args json a0 a1 b0 b1 bpid dirn m0 m1 k0 k1
	args=$(job_args "$s" 2>/dev/null || job_args "$job") || die "unknown job '$job'"
	json=$TRASH/fio-$loc-$job-$round-$s.json
	eval "bpid=\$B_${loc}_PID"
	timeout 120 sync
	a0=$(cpu_ticks "$A_PID" || echo 0) b0=$(cpu_ticks "$bpid" || echo 0) m0=$(busy_idle)
	k0=$(softirq_steal)
	[ -n "${PERF_PROFILE:-}" ] && profile_a "$loc-$job-$s"
	# shellcheck disable=SC2086
	case "$s" in
	legsync) fio_run "$json" "$(url_of "$loc" "$s")" $args ;;	# a size, then the flush
	*) fio_run "$json" "$(url_of "$loc" "$s")" $args --time_based --runtime="$SECONDS_PER_RUN" ;;
	esac
	rc=$?
	a1=$(cpu_ticks "$A_PID" || echo 0) b1=$(cpu_ticks "$bpid" || echo 0) m1=$(busy_idle)
	k1=$(softirq_steal)
	m1=$(echo "$m0 $m1" | awk '{ print $3 - $1 "\t" $4 - $2 }')
	k1=$(echo "$k0 $k1" | awk '{ print $3 - $1 "\t" $4 - $2 }')
	tgtd_alive A || die "tgtd A died during $loc $job $s; see $A_LOG"
	if [ $rc != 0 ]; then
		say "$loc $job $s round $round: fio failed: $(head -c 300 "$json.err")"
		printf '%s\t%s\t%s\t%s\tfail\tfail\tfail\tfail\t%s\t%s\t%s\tfail\t%s\n' "$loc" "$job" \
			"$round" "$s" $((a1 - a0)) $((b1 - b0)) "$m1" "$k1" >>"$RAW"
		return 0
	fi
	case "$job" in *read) dirn=read ;; *) dirn=write ;; esac
	jq -r --arg d "$dirn" --arg pre "$loc	$job	$round	$s" --arg cpu "$((a1 - a0))	$((b1 - b0))	$m1" \
		'.jobs[0] as $j | $j[$d] | "\($pre)\t\(.total_ios)\t\(.io_bytes)\t\(.runtime)\t\(.clat_ns.mean / 1000)\t\($cpu)\t\(if .total_ios > 0 then ($j.usr_cpu + $j.sys_cpu) / 100 * .runtime * 1000 / .total_ios else 0 end)"' \
		"$json" | sed "s/\$/	$k1/" >>"$RAW"
	tail -n 1 "$RAW" | awk -F '\t' -v hz="$HZ" '{
		t = $11 + $12
		printf "perf-mirror: %-5s %-9s round %d %-10s %8.0f IOPS %7.1f MiB/s  lat %7.0f us  CPU us/IO A %6.1f B %6.1f fio %6.1f  idle %3.0f%% softirq %3.0f%% steal %3.0f%%\n",
			$1, $2, $3, $4, $5 / $7 * 1000, $6 / $7 * 1000 / 1048576, $8,
			($5 > 0 ? $9 / hz / $5 * 1e6 : 0), ($5 > 0 ? $10 / hz / $5 * 1e6 : 0), $13,
			(t > 0 ? $12 / t * 100 : 0), (t > 0 ? $14 / t * 100 : 0), (t > 0 ? $15 / t * 100 : 0) }' >&2
}

# Warm-up: one full pass of 1 MiB writes through iSCSI on both of A's LUNs
# (the mirrored one's activity log then holds every extent, as in use).
for loc in $LOCATIONS; do
	for s in unmirrored mirrored; do
		say "$loc: warm-up write pass over the $s LUN"
		fio_run "$TRASH/fio-$loc-warmup-$s.json" "$(url_of "$loc" "$s")" \
			--rw=write --bs=1m --iodepth=8 --size="${IMAGE_MB}m" ||
			die "$loc: warm-up of the $s LUN failed: $(head -c 300 "$TRASH/fio-$loc-warmup-$s.json.err")"
		jq -r --arg l "$loc" --arg s "$s" '.jobs[0].write |
			"perf-mirror: \($l) warm-up \($s): \(.bw_bytes / 1048576 | floor) MiB/s (first write to each extent)"' \
			"$TRASH/fio-$loc-warmup-$s.json" >&2
		eval "WARM_${loc}_$s=\$(jq -r '.jobs[0].write.bw_bytes / 1048576 * 10 | floor / 10' \"\$TRASH/fio-\$loc-warmup-\$s.json\")"
	done
done

printf 'loc\tjob\tround\tstore\tios\tbytes\truntime_ms\tlat_us\tcpuA_ticks\tcpuB_ticks\tmachine_busy_ticks\tmachine_idle_ticks\tfio_cpu_us_per_io\tsoftirq_ticks\tsteal_ticks\n' >"$RAW"
for loc in $LOCATIONS; do
	for job in $JOBS; do
		stores=$(stores_of "$job")
		r=1
		while [ $r -le "$ROUNDS" ]; do
			for s in $stores; do run_one "$loc" "$job" "$r" "$s"; done
			r=$((r + 1))
		done
	done
done

# ---- resync --------------------------------------------------------------
# resync.tsv: loc degraded_MiBps planned bytes regions ms wall_s cpuA_ticks cpuB_ticks
printf 'loc\tdegraded_MiBps\tplanned\tbytes\tregions\tms\twall_s\tcpuA_ticks\tcpuB_ticks\n' >"$RESYNC"
for loc in $LOCATIONS; do
	[ "$RESYNC_MB" -gt 0 ] || break
	tid=$(tid_of "$loc")
	eval "bpid=\$B_${loc}_PID bport=\$B_${loc}_PORT"
	leg_is "$loc" up || die "$loc: the leg is not up before the resync test ($(leg_state "$loc"))"
	# what the leg took without a flush would be resynced too: flush first
	timeout 60 "$IO" "$(url A "$tid" 2)" sync >/dev/null || die "$loc: SYNCHRONIZE CACHE failed"
	say "$loc: kill -9 tgtd B_$loc (pid $bpid), then $RESYNC_MB MiB of writes to the mirrored LUN"
	kill -9 "$bpid"
	wait "$bpid" 2>/dev/null
	eval "B_${loc}_PID="
	wait_for 30 leg_is "$loc" down || say "$loc: the leg is not marked down yet ($(leg_state "$loc"))"
	json=$TRASH/fio-$loc-degraded.json
	fio_run "$json" "$(url A "$tid" 2)" --rw=write --bs=1m --iodepth=8 --size="${RESYNC_MB}m" ||
		die "$loc: degraded writes failed: $(head -c 300 "$json.err")"
	deg=$(jq -r '.jobs[0].write.bw_bytes / 1048576 * 10 | floor / 10' "$json")
	mark=$(wc -l <"$A_LOG")
	say "$loc: restarting tgtd B_$loc on port $bport"
	TGTD_PORT=$bport start_leg "$loc" || die "cannot restart tgtd B_$loc"
	eval "bpid=\$B_${loc}_PID"
	t0=$(date +%s.%N) a0=$(cpu_ticks "$A_PID" || echo 0) b0=$(cpu_ticks "$bpid" || echo 0)
	wait_for 600 leg_is "$loc" up || die "$loc: the leg did not come back up; see $A_LOG"
	t1=$(date +%s.%N) a1=$(cpu_ticks "$A_PID" || echo 0) b1=$(cpu_ticks "$bpid" || echo 0)
	line=$(resync_line "$loc" "$mark")
	[ -n "$line" ] || die "$loc: no 'resync done' line in $A_LOG"
	set -- $line
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$loc" "$deg" "$1" "$2" "$3" "$4" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
		$((a1 - a0)) $((b1 - b0)) >>"$RESYNC"
	say "$loc: resynced $3 of $1 regions, $2 bytes in $4 ms ($(awk -v x="$2" -v t="$4" 'BEGIN { printf "%.1f", x / t * 1000 / 1048576 }') MiB/s)"
done

# ---- tables ----------------------------------------------------------------
MEDIANS='
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	if (n == 0) return ""
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
NR == 1 { next }
$5 == "fail" { failed[$1 " " $2 " " $4]++; next }
{
	k = $1 " " $2 " " $4
	thr[k] = thr[k] " " ($2 ~ /^rand|qd1/ ? $5 / $7 * 1000 : $6 / $7 * 1000 / 1048576)
	lat[k] = lat[k] " " $8
	ca[k] = ca[k] " " ($5 > 0 ? $9 / hz / $5 * 1e6 : 0)
	cb[k] = cb[k] " " ($5 > 0 ? $10 / hz / $5 * 1e6 : 0)
	id[k] = id[k] " " ($11 + $12 > 0 ? $12 / ($11 + $12) * 100 : 0)
	fc[k] = fc[k] " " $13
	st[k] = st[k] " " ($11 + $12 > 0 ? $15 / ($11 + $12) * 100 : 0)
}
function get(k) {
	T = median(thr[k]); LAT = median(lat[k]); CA = median(ca[k]); CB = median(cb[k]); ID = median(id[k]); FC = median(fc[k])
	ST = median(st[k])
}
'
table() {
	echo "| location | job | unit | unmirrored | mirrored | mirrored / unmirrored | goal | verdict | mean latency µs unmirrored | mirrored | tgtd A CPU µs/I/O unmirrored | mirrored | tgtd B (leg) CPU µs/I/O mirrored | fio CPU µs/I/O unmirrored | mirrored | machine idle % unmirrored | mirrored | steal % unmirrored | mirrored |"
	echo "|---|---|---|--:|--:|--:|--:|:-:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	awk -F '\t' -v hz="$HZ" -v locs="$LOCATIONS" -v jobs="$JOBS" "$MEDIANS"'
	END {
		nl = split(locs, L, " "); nj = split(jobs, J, " ")
		for (i = 1; i <= nl; i++) for (j = 1; j <= nj; j++) {
			loc = L[i]; job = J[j]; four = (job ~ /^rand/)
			if (job == "legwrite") continue
			get(loc " " job " unmirrored"); Tu = T; Lu = LAT; Cu = CA; Iu = ID; Fu = FC; Su = ST
			get(loc " " job " mirrored"); Tm = T; Lm = LAT; Cm = CA; Bm = CB; Im = ID; Fm = FC; Sm = ST
			four = (job ~ /^rand|qd1/)
			goal = job == "seqwrite" ? 0.8 : job == "randwrite" ? 0.6 : 0
			ratio = (Tu > 0 && Tm != "") ? Tm / Tu : ""
			v = ratio == "" ? "n/a" : goal == 0 ? "(info)" : ratio >= goal ? "ok" : ratio >= goal * 0.97 ? "~" : "**MISS**"
			f = four ? "%.0f" : "%.1f"
			rs = (ratio == "") ? "n/a" : sprintf("%.2f", ratio)
			gs = goal ? "≥ " goal "×" : "–"
			printf "| %s | %s | %s | " f " | " f " | %s | %s | %s | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f |\n",
				loc, job, (four ? "IOPS" : "MiB/s"), Tu, Tm, rs, gs, v, Lu, Lm, Cu, Cm, Bm, Fu, Fm, Iu, Im, Su, Sm
		}
	}' "$RAW"
}

resync_table() {
	echo "| location | leg raw 1 MiB QD8 MiB/s | leg raw 64 KiB QD1 MiB/s | leg raw $RESYNC_MB MiB + flush MiB/s | written while down MiB | degraded write MiB/s | regions resynced | bytes | resync ms (to the leg's flush) | resync MiB/s | resync / leg raw 1 MiB QD8 | resync / leg 64 KiB QD1 | resync / leg raw + flush | tgtd A CPU % during resync | tgtd B CPU % |"
	echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	awk -F '\t' -v hz="$HZ" -v mb="$RESYNC_MB" -v resync="$RESYNC" "$MEDIANS"'
	END {
		while ((getline line < resync) > 0) {
			split(line, f, "\t")
			if (f[1] == "loc") continue
			loc = f[1]
			get(loc " legwrite leg1m"); L1 = T
			get(loc " legwrite leg64k"); L64 = T
			get(loc " legwrite legsync"); LS = T
			rate = (f[6] > 0) ? f[4] / f[6] * 1000 / 1048576 : 0
			s1 = (L1 == "") ? "n/a" : sprintf("%.1f", L1)
			s64 = (L64 == "") ? "n/a" : sprintf("%.1f", L64)
			r1 = (L1 + 0 > 0) ? sprintf("%.2f", rate / L1) : "n/a"
			r64 = (L64 + 0 > 0) ? sprintf("%.2f", rate / L64) : "n/a"
			sS = (LS == "") ? "n/a" : sprintf("%.1f", LS)
			rS = (LS + 0 > 0) ? sprintf("%.2f", rate / LS) : "n/a"
			pa = (f[6] > 0) ? f[8] / hz / (f[6] / 1000) * 100 : 0
			pb = (f[6] > 0) ? f[9] / hz / (f[6] / 1000) * 100 : 0
			printf "| %s | %s | %s | %s | %d | %.1f | %d | %d | %d | %.1f | %s | %s | %s | %.0f | %.0f |\n",
				loc, s1, s64, sS, mb, f[2], f[5], f[4], f[6], rate, r1, r64, rS, pa, pb
		}
	}' "$RAW"
}

{
	echo "lunlink mirror perf, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, tgt $(dpkg-query -W -f '${Version}' tgt 2>/dev/null), tree at $(git -C "$SRC_DIR" describe --always --dirty 2>/dev/null), module $MODULE"
	echo "PERF_SECONDS=$SECONDS_PER_RUN ROUNDS=$ROUNDS IMAGE_MB=$IMAGE_MB PERF_RESYNC_MB=$RESYNC_MB; median of the rounds (2 rounds: their mean); lunlink $ENGINE; 2-way mirror, leg = stock rdwr on a second tgtd over loopback${PIN:+; pinned (PERF_PIN=$PIN): tgtd A and fio on CPU(s) $PIN_A, the leg's tgtd on CPU(s) $PIN_B}${PERF_LEG_PARAMS:+; the leg's target: $PERF_LEG_PARAMS}${NETNS:+; the leg in its own network namespace over a veth pair (MTU 9000, receive processing on the leg's CPUs)}"
	for loc in $LOCATIONS; do
		eval "fs=\$FS_$loc full=\${FULL_$loc:-} wu=\${WARM_${loc}_unmirrored:-} wm=\${WARM_${loc}_mirrored:-}"
		echo "$loc = $(dirname "$(dir_of "$loc")") ($fs); full sync of the fresh leg (planned regions, bytes, regions, ms): $full; warm-up pass 1 MiB QD8 MiB/s unmirrored $wu, mirrored $wm"
	done
	echo
	table
	echo
	resync_table
	echo
	echo "Verdicts: ok = goal met; ~ = missed by < 3% (within run-to-run noise); MISS = missed by more."
	echo "CPU: utime+stime of the tgtd process (/proc/PID/stat, all threads) per completed I/O, µs; during the resync, as % of one CPU over the resync's duration (from its log line).  Machine idle: idle+iowait share of all CPUs over the run (/proc/stat; other users' jobs count as busy).  Steal: the share of all CPUs' time the hypervisor gave to others during the run (/proc/stat); a run with steal measured this machine's neighbours too, and its ratio is not the module's."
} >"$OUT.tmp" 2>/dev/null
mv "$OUT.tmp" "$OUT"
cat "$OUT"
say "results: $OUT; per-run numbers: $RAW, $RESYNC"
ok=t
