#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run.sh: `make perf`.  One private tgtd (t/lib-tgtd.sh) serves, for each
# image location (tmpfs and the disk), three LUNs of the same size, each on
# its own fully written image: lunlink (this build), stock rdwr (thread
# pool) and stock aio (libaio, always O_DIRECT); and a fourth, stock null
# (no I/O at all: each command completes at once, with whatever data tgt's
# buffer holds), which measures tgtd's iSCSI path alone: the limit no store
# can pass.  null's LUN has its own size (1 TiB); fio's random offsets
# then spread wider, which costs null nothing.  fio's libiscsi engine
# (built by t/perf/build-fio.sh, outside the tree) drives one LUN at a time:
#
#   randread   4 KiB random read,       QD32   -> IOPS
#   randwrite  4 KiB random write,      QD32   -> IOPS
#   seqwrite   1 MiB sequential write,  QD8    -> MiB/s
#   seqread    1 MiB sequential read,   QD8    -> MiB/s
#
# Within each job the stores are interleaved (lunlink, rdwr, aio, null,
# repeated ROUNDS times) and the median of the rounds is reported (with 2 rounds the
# median is the mean of the two).  tgtd's CPU time (utime+stime of the whole
# process, /proc/PID/stat) is sampled before and after each run and divided
# by the I/Os fio completed: CPU seconds per million I/Os, which is also
# microseconds per I/O.  Only one LUN is busy at a time, so the delta
# belongs to that store.  Each run also records the machine's load (the
# 1-minute load average before it) and the hypervisor's steal (the share
# of the machine's CPU time given to other guests during it, /proc/stat):
# a run with steal says little of the store.
#
# Knobs (environment):
#   PERF_SECONDS   seconds per run (default 10; 2 for a quick look)
#   ROUNDS         rounds per job (default 2)
#   IMAGE_MB       image size in MiB (default 1024)
#   PERF_LOCATIONS which locations (default "tmpfs disk")
#   PERF_JOBS      which jobs (default "randread randwrite seqwrite seqread")
#   PERF_TMPFS_DIR tmpfs folder (default /dev/shm)
#   PERF_DISK_DIR  disk folder (default /var/tmp, ext4 on the root here)
#   PERF_OUT       results file (default t/trash/perf/results.md)
#   FIO            an fio with the libiscsi engine (default: build-fio.sh)
#   LUNLINK_CACHE  where build-fio.sh builds fio (default /var/cache/lunlink)
#
# Then, unless PERF_MIRROR=0, t/perf/mirror.sh (the mirrored-LUN benchmark,
# same knobs PERF_SECONDS, ROUNDS and IMAGE_MB; see its header) runs once
# this script's tgtd and images are gone.
#
# The table goes to stdout and PERF_OUT, the raw per-run numbers to
# PERF_OUT's folder (raw.tsv).  Everything is bounded: fio runs under
# `timeout`, tgtadm under `timeout`, and tgtd and the images are removed on
# exit, whatever the exit.

set -u

PERF_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$PERF_DIR/../.." && pwd)
TEST_NAME=perf
TRASH=$SRC_DIR/t/trash/perf
SECONDS_PER_RUN=${PERF_SECONDS:-10}
ROUNDS=${ROUNDS:-2}
IMAGE_MB=${IMAGE_MB:-1024}
LOCATIONS=${PERF_LOCATIONS:-tmpfs disk}
JOBS=${PERF_JOBS:-randread randwrite seqwrite seqread}
TMPFS_DIR=${PERF_TMPFS_DIR:-/dev/shm}
DISK_DIR=${PERF_DISK_DIR:-/var/tmp}
OUT=${PERF_OUT:-$TRASH/results.md}
STORES="lunlink rdwr aio null"
PERF_NAME=perf
. "$PERF_DIR/lib-perf.sh"

perf_preflight
[ -f "$SRC_DIR/target/bs_lunlink.so" ] || die "no target/bs_lunlink.so: run make first"

rm -rf "$TRASH/tgtd-perf"
mkdir -p "$TRASH" "$(dirname "$OUT")" || die "cannot create $TRASH"
RAW=$(dirname "$OUT")/raw.tsv

. "$SRC_DIR/t/lib-tgtd.sh"

IMGDIRS=
ok=
cleanup() {
	tgtd_stop_all
	for d in $IMGDIRS; do rm -rf "$d"; done
	if [ -n "$ok" ]; then
		rm -rf "$TRASH/tgtd-perf" "$TRASH"/fio-*.json "$TRASH"/fio-*.json.err
	else
		say "tgtd's log and fio's output kept in $TRASH"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- images and LUNs ----------------------------------------------------
tgtd_start perf || die "cannot start tgtd"
say "tgtd pid $perf_PID, port $perf_PORT"

# tid per location; LUN 1 lunlink, 2 rdwr, 3 aio, 4 null
lun_of() {
	case "$1" in lunlink) echo 1 ;; rdwr) echo 2 ;; aio) echo 3 ;; null) echo 4 ;; esac
}
NA=$TRASH/na
: >"$NA"
tid=0
for loc in $LOCATIONS; do
	tid=$((tid + 1))
	case "$loc" in
	tmpfs) base=$TMPFS_DIR ;;
	disk) base=$DISK_DIR ;;
	*) die "unknown location '$loc' (tmpfs or disk)" ;;
	esac
	dir=$base/lunlink-perf.$$
	mkdir -p "$dir" || die "cannot create $dir"
	IMGDIRS="$IMGDIRS $dir"
	eval "TID_$loc=$tid FS_$loc=\$(findmnt -no FSTYPE -T \"\$dir\" | head -n 1)"
	target_new perf "$tid" || die "cannot create target $tid"
	for s in $STORES; do
		if [ "$s" = null ]; then
			# no image: null opens nothing (the path only names it)
			lun_new perf "$tid" "$(lun_of null)" "$dir/null" null >/dev/null 2>&1 ||
				printf '%s null %s\n' "$loc" "tgtd has no null store" >>"$NA"
			continue
		fi
		say "$loc: writing a ${IMAGE_MB} MiB image for $s"
		timeout 600 dd if=/dev/zero of="$dir/$s.img" bs=1M count="$IMAGE_MB" \
			conv=fsync status=none || die "cannot write $dir/$s.img"
		if ! msg=$(lun_new perf "$tid" "$(lun_of "$s")" "$dir/$s.img" "$s" 2>&1); then
			say "$loc: $s cannot serve $dir/$s.img: $msg"
			printf '%s %s %s\n' "$loc" "$s" "$msg" >>"$NA"
		fi
	done
done
if grep -q 'lunlink.*serving through' "$perf_LOG"; then
	ENGINE=$(sed -n 's/.*lunlink.*\(serving through [^(]*\).*/\1/p' "$perf_LOG" | sort -u | head -1 | sed 's/ *$//')
else
	ENGINE="(engine not reported in tgtd's log)"
fi
say "lunlink: $ENGINE"

# ---- runs ----------------------------------------------------------------
job_args() {
	case "$1" in
	randread) echo "--rw=randread --bs=4k --iodepth=32" ;;
	randwrite) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
	seqwrite) echo "--rw=write --bs=1m --iodepth=8" ;;
	seqread) echo "--rw=read --bs=1m --iodepth=8" ;;
	*) return 1 ;;
	esac
}

# run LOC JOB ROUND STORE: one fio run; appends a line to $RAW:
# loc job round store ios bytes runtime_ms cpu_ticks load steal_pct
run_one() {
	local loc=$1 job=$2 round=$3 s=$4 tid u fn args t0 t1 json rc load m0 m1 steal
	eval "tid=\$TID_$loc"
	u=$(url perf "$tid" "$(lun_of "$s")")
	fn=$(printf '%s' "$u" | sed 's/:/\\:/g')
	args=$(job_args "$job") || die "unknown job '$job'"
	json=$TRASH/fio-$loc-$job-$round-$s.json
	# let the previous run's dirty pages reach the disk first, uncounted
	timeout 120 sync
	load=$(cut -d ' ' -f 1 /proc/loadavg)
	m0=$(machine_ticks)
	t0=$(cpu_ticks "$perf_PID") || die "tgtd (pid $perf_PID) is gone; see $perf_LOG"
	# shellcheck disable=SC2086
	timeout -k 5 $((SECONDS_PER_RUN + 60)) "$FIO" --name="$job" --ioengine=libiscsi \
		--filename="$fn" $args --time_based --runtime="$SECONDS_PER_RUN" \
		--norandommap --randrepeat=0 --output-format=json --output="$json" \
		>/dev/null 2>"$json.err"
	rc=$?
	t1=$(cpu_ticks "$perf_PID") || die "tgtd (pid $perf_PID) died during $loc $job $s; see $perf_LOG"
	m1=$(machine_ticks)
	steal=$(echo "$m0 $m1" | awk '{ t = $3 - $1; printf "%.1f", (t > 0 ? 100 * ($4 - $2) / t : 0) }')
	if [ $rc != 0 ] || ! jq -e '.jobs[0]' "$json" >/dev/null 2>&1; then
		say "$loc $job $s round $round: fio failed (exit $rc): $(head -c 300 "$json.err")"
		printf '%s\t%s\t%s\t%s\tfail\tfail\tfail\t%s\t%s\t%s\n' "$loc" "$job" "$round" "$s" \
			$((t1 - t0)) "$load" "$steal" >>"$RAW"
		return 0
	fi
	case "$job" in *read) dirn=read ;; *) dirn=write ;; esac
	jq -r --arg d "$dirn" --arg pre "$loc	$job	$round	$s" --arg cpu $((t1 - t0)) \
		--arg post "$load	$steal" \
		'.jobs[0][$d] | "\($pre)\t\(.total_ios)\t\(.io_bytes)\t\(.runtime)\t\($cpu)\t\($post)"' \
		"$json" >>"$RAW"
	tail -n 1 "$RAW" | awk -F '\t' -v hz="$HZ" '{
		printf "perf: %-6s %-9s round %d %-7s %10.0f IOPS %8.1f MiB/s  tgtd %5.1f CPU s/M I/O  load %s steal %s %%\n",
			$1, $2, $3, $4, $5 / $7 * 1000, $6 / $7 * 1000 / 1048576,
			($5 > 0 ? $8 / hz / $5 * 1e6 : 0), $9, $10 }' >&2
}

printf 'loc\tjob\tround\tstore\tios\tbytes\truntime_ms\tcpu_ticks\tload\tsteal_pct\n' >"$RAW"
for loc in $LOCATIONS; do
	for job in $JOBS; do
		r=1
		while [ $r -le "$ROUNDS" ]; do
			for s in $STORES; do
				grep -q "^$loc $s " "$NA" && continue
				run_one "$loc" "$job" "$r" "$s"
			done
			r=$((r + 1))
		done
	done
done

# ---- table ---------------------------------------------------------------
# Median over rounds of each (loc, job, store): throughput and CPU per I/O.
# The goals: lunlink at least the faster stock store (rdwr, aio); its tgtd
# CPU per I/O no more than the thriftier one's; and within 5 % of null on
# 4 KiB random reads, 10 % on the other jobs.  Verdicts: "ok" meets the
# goal; "~" misses it by less than 3% (within the run-to-run noise of this
# machine); "MISS" misses it by more.  "steal" is the most the hypervisor
# took in any run of that row.
table() {
	echo "| location | job | unit | lunlink | rdwr | aio | null | lunlink / best stock | lunlink / null | tgtd CPU µs/I/O lunlink | rdwr | aio | null | steal % (max) | ≥ best stock | CPU ≤ thriftier | near null |"
	echo "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|:-:|"
	awk -F '\t' -v hz="$HZ" -v locs="$LOCATIONS" -v jobs="$JOBS" -v nafile="$NA" '
	function median(list,    n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		if (n == 0) return ""
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(v, big) {
		if (v == "") return "n/a"
		return big ? sprintf("%.0f", v) : sprintf("%.1f", v)
	}
	function verdict(ratio, need) {
		if (ratio == "") return "n/a"
		if (ratio >= need) return "ok"
		if (ratio >= need * 0.97) return "~"
		return "**MISS**"
	}
	function ratio(a, b) { return (a != "" && b != "" && b > 0) ? a / b : "" }
	function showr(r) { return r == "" ? "n/a" : sprintf("%.2f", r) }
	BEGIN { while ((getline line < nafile) > 0) { split(line, f, " "); na[f[1] " " f[2]] = 1 } }
	NR == 1 { next }
	{ r = $1 " " $2; if ($10 + 0 > steal[r] + 0) steal[r] = $10 }
	$5 == "fail" { failed[$1 " " $2 " " $4]++; next }
	{
		k = $1 " " $2 " " $4
		four = ($2 ~ /^rand/)
		v = four ? $5 / $7 * 1000 : $6 / $7 * 1000 / 1048576
		thr[k] = thr[k] " " v
		cpu[k] = cpu[k] " " ($5 > 0 ? $8 / hz / $5 * 1e6 : 0)
	}
	END {
		nl = split(locs, L, " "); nj = split(jobs, J, " ")
		ns = split("lunlink rdwr aio null", S, " ")
		for (i = 1; i <= nl; i++) for (j = 1; j <= nj; j++) {
			loc = L[i]; job = J[j]; four = (job ~ /^rand/)
			for (s = 1; s <= ns; s++) {
				k = loc " " job " " S[s]
				T[S[s]] = median(thr[k]); C[S[s]] = median(cpu[k])
				show[S[s]] = fmt(T[S[s]], four)
				showc[S[s]] = fmt(C[S[s]], 0)
				if (na[loc " " S[s]]) { T[S[s]] = C[S[s]] = ""; show[S[s]] = "n/a¹"; showc[S[s]] = "n/a¹" }
				else if (failed[k]) { show[S[s]] = show[S[s]] " (" failed[k] " failed)" }
			}
			best = T["rdwr"]; if (T["aio"] != "" && T["aio"] > best) best = T["aio"]
			thrifty = C["rdwr"]; if (C["aio"] != "" && (thrifty == "" || C["aio"] < thrifty)) thrifty = C["aio"]
			rb = ratio(T["lunlink"], best)
			rn = ratio(T["lunlink"], T["null"])
			rc = C["lunlink"] > 0 ? ratio(thrifty, C["lunlink"]) : ""
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				loc, job, four ? "IOPS" : "MiB/s",
				show["lunlink"], show["rdwr"], show["aio"], show["null"],
				showr(rb), showr(rn),
				showc["lunlink"], showc["rdwr"], showc["aio"], showc["null"],
				steal[loc " " job] == "" ? "n/a" : sprintf("%.0f", steal[loc " " job]),
				verdict(rb, 1), verdict(rc, 1),
				verdict(rn, job == "randread" ? 0.95 : 0.90)
		}
	}' "$RAW"
}

{
	echo "lunlink perf, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, tgt $(dpkg-query -W -f '${Version}' tgt 2>/dev/null), lunlink $(git -C "$SRC_DIR" describe --always --dirty 2>/dev/null)"
	echo "PERF_SECONDS=$SECONDS_PER_RUN ROUNDS=$ROUNDS IMAGE_MB=$IMAGE_MB; median of the rounds (2 rounds: their mean); one fio job, libiscsi engine; lunlink $ENGINE"
	echo "load average (1 min) before the runs: $(awk -F '\t' 'NR > 1 { if (min == "" || $9 < min) min = $9; if ($9 > max) max = $9 } END { print min "-" max }' "$RAW"); steal: $(awk -F '\t' 'NR > 1 { s += $10; n++; if ($10 > max) max = $10 } END { printf "%.1f %% mean, %.1f %% the most in one run", n ? s / n : 0, max }' "$RAW")"
	for loc in $LOCATIONS; do
		eval "fs=\$FS_$loc"
		case "$loc" in tmpfs) d=$TMPFS_DIR ;; *) d=$DISK_DIR ;; esac
		echo "$loc = $d ($fs)"
	done
	echo
	table
	if [ -s "$NA" ]; then
		echo
		sed 's/^\([^ ]*\) \([^ ]*\) /¹ \2 on \1: /' "$NA"
	fi
	echo
	echo "Verdicts: ok = goal met; ~ = missed by < 3% (within run-to-run noise); MISS = missed by more."
	echo "near null: lunlink at least 0.95 of null's throughput on randread, 0.90 on the other jobs."
	echo "CPU: tgtd utime+stime (/proc/PID/stat, all threads) per completed I/O, µs (= CPU s per million I/Os)."
} >"$OUT.tmp" 2>/dev/null
mv "$OUT.tmp" "$OUT"
cat "$OUT"
say "results: $OUT; per-run numbers: $RAW"
ok=t

if [ "${PERF_MIRROR:-1}" != 0 ]; then
	cleanup
	trap - EXIT
	say "next: the mirror benchmark, t/perf/mirror.sh (PERF_MIRROR=0 skips it)"
	export FIO
	exec sh "$PERF_DIR/mirror.sh"
fi
