# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib-tgtd.sh: start, drive and stop private tgtd instances with this
# build's bs_lunlink.so; sourced by t/test-lib.sh and by the benchmarks in
# t/perf/.  The caller sets SRC_DIR (the source tree), TRASH (a scratch
# folder) and TEST_NAME (used in target names), and may set TGTD, TGTADM,
# MODULE, MODULE_DIR, TGTD_PORT (a fixed port), TGTD_PRELOAD (a library
# to LD_PRELOAD into tgtd), and TGTD_NETNS with TGTD_ADDR (run tgtd in that
# network namespace with its portal on that address, not on loopback: for
# a guest initiator, see lib-guest.sh).
#
# tgtd loads every file in its compiled-in module folder
# (/usr/lib/tgt/backing-store), so each tgtd runs in a private mount
# namespace with a folder holding only this build's bs_lunlink.so
# bind-mounted over that path, a private control socket (TGT_IPC_SOCKET) and
# a free loopback port.  Nothing is installed.

TGTD=${TGTD:-/usr/sbin/tgtd}
TGTADM=${TGTADM:-/usr/sbin/tgtadm}
MODULE=${MODULE:-$SRC_DIR/target/bs_lunlink.so}
IQN_BASE=iqn.2026-11.org.lunlink
TGTD_INSTANCES=

# Wait up to $1 seconds (tenths allowed) for a command to succeed.
wait_for() {
	local limit=$1 i=0
	shift
	limit=$(awk -v l="$limit" 'BEGIN { print int(l * 10) }')
	while [ $i -lt "$limit" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "wait_for: '$*' did not succeed within $((limit / 10)) s" >&2
	return 1
}

# ---- tgtd instances -----------------------------------------------------
# A free TCP port on loopback: random in 20000-39999, not listening now.
free_port() {
	local p tries=0
	while [ $tries -lt 50 ]; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		if ! ss -Htln "sport = :$p" | grep -q .; then
			echo "$p"
			return 0
		fi
		tries=$((tries + 1))
	done
	return 1
}

# tgtd_start NAME: start a tgtd; sets NAME_PORT, NAME_CTL (control port),
# NAME_PID, NAME_LOG.  The module folder holds this build's bs_lunlink.so
# only (set MODULE_DIR to use another folder).
tgtd_start() {
	local name=$1 port ctl dir="$TRASH/tgtd-$1" bsdir addr=${TGTD_ADDR:-127.0.0.1} old
	eval "old=\${${name}_PID:-}"
	if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
		echo "tgtd $name (pid $old) is still running: stop it first" >&2
		return 1
	fi
	port=${TGTD_PORT:-$(free_port)} || return 1
	ctl=$((port % 10000 + 10000))
	# a tgtd killed earlier with this control port left its mirrors'
	# status files: gone, so that none is read as this one's
	rm -f /run/lunlink/c"$ctl"-*.status
	mkdir -p "$dir"
	bsdir=${MODULE_DIR:-$dir/backing-store}
	if [ -z "${MODULE_DIR:-}" ]; then
		# a new file, renamed over the old: a tgtd still running keeps
		# the module it mapped (cp over it would change its pages)
		mkdir -p "$bsdir" && cp "$MODULE" "$bsdir/.new" &&
			mv -f "$bsdir/.new" "$bsdir/$(basename "$MODULE")" || return 1
	fi
	mkdir -p /usr/lib/tgt/backing-store || return 1
	env ${TGTD_PRELOAD:+LD_PRELOAD=$TGTD_PRELOAD} \
	TGT_IPC_SOCKET="$dir/socket" ${TGTD_NETNS:+ip netns exec "$TGTD_NETNS"} \
		unshare -m --propagation private \
		sh -c 'mount --bind "$1" /usr/lib/tgt/backing-store && shift && exec "$@"' \
		sh "$bsdir" "$TGTD" -f -C "$ctl" --iscsi "portal=$addr:$port" \
		>"$dir/log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- &
	local pid=$!
	eval "${name}_PORT=$port ${name}_CTL=$ctl ${name}_PID=$pid ${name}_LOG=\$dir/log ${name}_DIR=\$dir ${name}_ADDR=$addr"
	TGTD_INSTANCES="$TGTD_INSTANCES $name"
	if ! wait_for 10 tgtadm_on "$name" --op show --mode sys; then
		echo "tgtd $name did not come up; its log:" >&2
		cat "$dir/log" >&2
		return 1
	fi
}

# tgtadm_on NAME ARGS...: tgtadm against instance NAME
tgtadm_on() {
	local name=$1 ctl dir
	shift
	eval "ctl=\${${name}_CTL} dir=\${${name}_DIR}"
	# a stuck tgtd must never hang a caller: every call is bounded
	TGT_IPC_SOCKET="$dir/socket" timeout -k 2 "${TGTADM_TIMEOUT:-60}" "$TGTADM" -C "$ctl" "$@"
}


# tgtd_alive NAME: the process is still there
tgtd_alive() {
	local pid
	eval "pid=\${${1}_PID}"
	kill -0 "$pid" 2>/dev/null
}

# target_new NAME TID: an iSCSI target open to every initiator
target_new() {
	tgtadm_on "$1" --lld iscsi --mode target --op new --tid "$2" \
		--targetname "$IQN_BASE:$TEST_NAME-$2" &&
	tgtadm_on "$1" --lld iscsi --mode target --op bind --tid "$2" --initiator-address ALL
}

# lun_new NAME TID LUN PATH [BSTYPE [BSOPTS]]
lun_new() {
	local bstype=${5:-lunlink}
	if [ -n "${6:-}" ]; then
		tgtadm_on "$1" --lld iscsi --mode logicalunit --op new --tid "$2" --lun "$3" \
			--backing-store "$4" --bstype "$bstype" --bsopts "$6"
	else
		tgtadm_on "$1" --lld iscsi --mode logicalunit --op new --tid "$2" --lun "$3" \
			--backing-store "$4" --bstype "$bstype"
	fi
}

# In a mirrored LUN's status file FILE (/run/lunlink/cCTL-tTID-lLUN.status):
# leg_state_in FILE N: leg N's state; local_field_in FILE KEY: KEY of the
# line about the local copy (stale_regions, read_errors, repaired...)
leg_state_in() { sed -n "s/^leg $2 .* state=\([a-z]*\).*/\1/p" "$1" 2>/dev/null; }
local_field_in() { sed -n "s/^local.* $2=\([0-9]*\).*/\1/p" "$1" 2>/dev/null; }

# leg_field FILE N KEY: field KEY of leg N's line (resyncs, resync_bytes,
# verdict, joined, drops, copy...: lunlink-status(8) names them);
# leg_field_is FILE N KEY VALUE: it is VALUE; lun_field FILE KEY: field KEY
# of the first line (generation, copy...), lun_field_is FILE KEY VALUE.  error="..." is left out, so
# that no KEY= in its text is taken for the field.
leg_field() {
	sed -n -e 's/ error=".*//' -e "s/^leg $2 \(.* \)\{0,1\}$3=\([^ ]*\).*/\2/p" "$1" 2>/dev/null
}
leg_field_is() { test "$(leg_field "$1" "$2" "$3")" = "$4"; }
lun_field() { sed -n "s/^lun .* $2=\([^ ]*\).*/\1/p" "$1" 2>/dev/null; }
lun_field_is() { test "$(lun_field "$1" "$2")" = "$3"; }

# The mirror tests' LUN, tid 1 LUN 1 on tgtd A: status_file, its status
# file (rewritten each second: it may say "up" a moment after the leg
# dropped; wait_for leg_not_up); leg_is STATE: its leg 1 is in STATE;
# stale_is N: its local copy has N stale regions; a_log_has TEXT: tgtd A's
# log, long messages joined, has TEXT
status_file() { echo "/run/lunlink/c${A_CTL}-t1-l1.status"; }
leg_is() { test "$(leg_state_in "$(status_file)" 1)" = "$1"; }
leg_not_up() { ! leg_is up; }
stale_is() { test "$(local_field_in "$(status_file)" stale_regions)" = "$1"; }
a_log_has() { join_log "$A_LOG" | grep -qF "$1"; }
# leg1 KEY: field KEY of its leg 1; leg1_is KEY VALUE: it is VALUE;
# leg1_above KEY N: it is more than N
leg1() { leg_field "$(status_file)" 1 "$1"; }
leg1_is() { test "$(leg1 "$1")" = "$2"; }
leg1_above() { test "$(leg1 "$1")" -gt "$2"; }

# mark [LOG]: remember how long a tgtd log (tgtd A's by default) is now;
# new_log_has TEXT [LOG]: its lines since the mark, joined, have TEXT
mark() { log_mark=$(wc -l <"${1:-$A_LOG}"); }
new_log_has() { tail -n +$((log_mark + 1)) "${2:-$A_LOG}" | join_log | grep -qF "$1"; }

# data_lba IMAGE: the 512-byte block where a lunlink image's data begins
# (its superblock says: lunlink-image show --json); data_of LBA COUNT
# IMAGE: COUNT blocks of its data from its block LBA
data_lba() {
	echo $(( $("$SRC_DIR/target/lunlink-image" show --json "$1" | jq -r .data_offset) / 512 ))
}
data_of() { dd if="$3" bs=512 skip=$(( $(data_lba "$3") + $1 )) count="$2" 2>/dev/null; }

# acked_at_least RECORD N: iscsi-io stream's RECORD has N acknowledged writes
acked_at_least() { test "$(grep -c ^acked "$1")" -ge "$2"; }

# stream_killing NAME URL COUNT LBA0 AFTER RECORD: iscsi-io stream of COUNT
# blocks from LBA0 to URL (what it saw acknowledged goes to RECORD) and,
# once AFTER writes are acknowledged, kill -9 of tgtd NAME.  Returns the
# stream's status (1 if AFTER was never reached: the stream is stopped).
stream_killing() {
	local name=$1 client pid
	"$IO" "$2" stream "$3" "$4" >"$6" 2>"$6.err" &
	client=$!
	if ! wait_for 20 acked_at_least "$6" "$5"; then
		kill $client 2>/dev/null
		wait $client
		return 1
	fi
	eval "pid=\${${name}_PID}"
	kill -9 "$pid" && eval "${name}_PID="
	wait $client
}

# check_alone RECORD SHIFT BSOPTS IMAGE...: serve each image alone, as a
# lunlink LUN with BSOPTS on a tgtd of its own (C), and check that every
# block RECORD (iscsi-io stream's output) says was acknowledged holds its
# byte there, at its LBA less SHIFT.  Prints iscsi-io check's verdicts.
check_alone() {
	local record=$1 lba_shift=$2 opts=$3 n=0 img out
	shift 3
	awk -v s="$lba_shift" '/^acked/ { print $1, $2 - s, $3 }' "$record" >"$record.moved" &&
	tgtd_start C && target_new C 1 || return 1
	for img; do
		n=$((n + 1)) out=$record.check$n
		if ! lun_new C 1 $n "$img" lunlink "$opts" ||
		   ! "$IO" "$(url C 1 $n)" check <"$record.moved" >"$out" || ! cat "$out" ||
		   [ "$(cat "$out")" != "checked $(grep -c ^acked "$record") blocks" ]; then
			tgtd_stop C
			return 1
		fi
	done
	tgtd_stop C
}

# url NAME TID LUN
url() {
	local port addr
	eval "port=\${${1}_PORT} addr=\${${1}_ADDR:-127.0.0.1}"
	echo "iscsi://$addr:$port/$IQN_BASE:$TEST_NAME-$2/$3"
}

# Stop a tgtd: it ignores SIGTERM, so delete its targets and the system.
tgtd_stop() {
	local name=$1 pid tid
	eval "pid=\${${name}_PID:-}"
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		for tid in $(TGTADM_TIMEOUT=5 tgtadm_on "$name" --lld iscsi --op show --mode target 2>/dev/null |
			     sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
			TGTADM_TIMEOUT=5 tgtadm_on "$name" --lld iscsi --mode target --op delete --force --tid "$tid" >/dev/null 2>&1
		done
		TGTADM_TIMEOUT=5 tgtadm_on "$name" --op delete --mode system >/dev/null 2>&1
		local i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null || true
	fi
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || true
	# its mirrors' status files (a killed tgtd leaves them)
	eval "rm -f /run/lunlink/c\${${name}_CTL:-none}-*.status"
	eval "${name}_PID="
}

tgtd_stop_all() {
	local name
	for name in $TGTD_INSTANCES; do tgtd_stop "$name"; done
}

# join_log FILE: a tgtd log with lunlink's long messages whole again:
# tgtd's syslog slots hold 256 bytes, so lunlink splits longer ones into
# continuation lines ("lunlink: ... "), which this joins.
join_log() {
	awk '{ if (sub(/^[a-z]*: lunlink: \.\.\. /, "")) { line = line " " $0 }
	       else { if (NR > 1) print line; line = $0 } }
	     END { if (NR) print line }' "$@"
}
