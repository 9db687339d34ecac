# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/perf/lib-perf.sh: what t/perf/run.sh and t/perf/mirror.sh share.
# Sourced after PERF_NAME (the prefix of messages), PERF_DIR,
# SECONDS_PER_RUN, ROUNDS and IMAGE_MB are set.

HZ=$(getconf CLK_TCK)

say() { printf '%s: %s\n' "$PERF_NAME" "$*" >&2; }
die() { say "$*"; exit 1; }

# perf_preflight [NAME=VALUE...]: the common knobs and any given are whole
# numbers, the common ones in range; root; jq; FIO set to a fio with
# libiscsi (built from Debian's sources if not given)
perf_preflight() {
	local kv
	for kv in "PERF_SECONDS=$SECONDS_PER_RUN" "ROUNDS=$ROUNDS" "IMAGE_MB=$IMAGE_MB" "$@"; do
		case "${kv#*=}" in
		"" | *[!0-9]*) die "${kv%%=*} must be a whole number, not '${kv#*=}'" ;;
		esac
	done
	[ "$SECONDS_PER_RUN" -ge 1 ] && [ "$ROUNDS" -ge 1 ] && [ "$IMAGE_MB" -ge 16 ] ||
		die "need PERF_SECONDS >= 1, ROUNDS >= 1, IMAGE_MB >= 16"
	[ "$(id -u)" = 0 ] || die "needs root (tgtd in a private mount namespace)"
	command -v jq >/dev/null || die "needs jq (apt-get install jq)"
	if [ -z "${FIO:-}" ]; then
		FIO=$(sh "$PERF_DIR/build-fio.sh") || die "cannot build fio with libiscsi"
	fi
	"$FIO" --enghelp 2>/dev/null | grep -qx '[[:space:]]*libiscsi' ||
		die "$FIO has no libiscsi engine"
}

# cpu_ticks PID: utime+stime of the whole process so far; fails if it is gone
cpu_ticks() {
	# fields 14 and 15 after the "(comm)" field, which may hold spaces
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' | grep .
}

# busy_idle: "busy idle" ticks of the whole machine so far (/proc/stat)
busy_idle() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat
}

# softirq_steal: "softirq steal" ticks of the whole machine so far: kernel
# network work that no process's CPU time includes, and time the
# hypervisor gave this machine's CPUs to others (both count as busy above)
softirq_steal() {
	awk '/^cpu / { print $8, $9; exit }' /proc/stat
}

# machine_ticks: "total steal" ticks of the whole machine so far
# (/proc/stat; user through steal): the steal share of a run is the
# difference of the second over the difference of the first
machine_ticks() {
	awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9; exit }' /proc/stat
}
