# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-lib.sh: what every lunlink test sources, after git's t/test-lib.sh.
#
#   test_description='...'
#   . "$(dirname "$0")/test-lib.sh"
#   test_expect_success 'name' 'commands && chained && with &&'
#   test_done
#
# Each test runs in its own scratch folder, t/trash/<test>/, removed at the
# end (kept with --keep or after a failure with --immediate).  Options:
# -v/--verbose shows the commands' output, -i/--immediate stops at the first
# failure, --keep keeps the scratch folder.  Output is TAP, for prove.
#
# Integration helpers start the stock /usr/sbin/tgtd with bs_lunlink.so:
# tgtd loads every file in its compiled-in module folder
# (/usr/lib/tgt/backing-store), so each tgtd runs in a private mount
# namespace with a folder holding only this build's bs_lunlink.so
# bind-mounted over that path, a private control socket
# (TGT_IPC_SOCKET) and a free loopback port.  Nothing is installed.

set -u

TEST_NAME=$(basename "$0" .sh)
T_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$T_DIR/.." && pwd)
TRASH="$T_DIR/trash/$TEST_NAME"
TGTD=${TGTD:-/usr/sbin/tgtd}
TGTADM=${TGTADM:-/usr/sbin/tgtadm}
MODULE=${MODULE:-$SRC_DIR/target/bs_lunlink.so}
IO="$T_DIR/helpers/iscsi-io"
IQN_BASE=iqn.2026-11.org.lunlink

verbose= immediate= keep=
for arg in "$@"; do
	case "$arg" in
	-v|--verbose) verbose=t ;;
	-i|--immediate) immediate=t ;;
	--keep) keep=t ;;
	esac
done

test_count=0 test_failed=0 test_skipped_all=
TGTD_PIDS=
TGTD_INSTANCES=

say() { printf '# %s\n' "$*"; }
die() { printf 'Bail out! %s\n' "$*"; exit 1; }

rm -rf "$TRASH"
mkdir -p "$TRASH" || die "cannot create $TRASH"
cd "$TRASH" || die "cannot enter $TRASH"
exec 5>&1 6>&2
if [ -n "$verbose" ]; then exec 4>&2 3>&1; else exec 4>/dev/null 3>/dev/null; fi

# ---- prerequisites -------------------------------------------------------
prereqs=" "
test_set_prereq() { prereqs="$prereqs$1 "; }
test_have_prereq() {
	case "$prereqs" in *" $1 "*) return 0 ;; esac
	return 1
}
[ "$(id -u)" = 0 ] && test_set_prereq ROOT
[ -x "$TGTD" ] && [ -x "$TGTADM" ] && test_set_prereq TGTD
[ -f "$MODULE" ] && test_set_prereq MODULE
[ -x "$IO" ] && test_set_prereq IO
command -v iscsi-test-cu >/dev/null 2>&1 && test_set_prereq TEST_CU

# Skip the whole test, with the reason, in TAP.
skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	test_skipped_all=t
	exit 0
}

# ---- running steps ------------------------------------------------------
# test_expect_success [PREREQ] 'name' 'body'
test_expect_success() {
	local prereq=
	if [ $# = 3 ]; then prereq=$1; shift; fi
	test_count=$((test_count + 1))
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		printf 'ok %d # SKIP %s (missing %s)\n' "$test_count" "$1" "$prereq"
		return 0
	fi
	say "step: $1" >&3
	if { eval "$2"; } >&3 2>&4; then
		printf 'ok %d - %s\n' "$test_count" "$1"
	else
		test_failed=$((test_failed + 1))
		printf 'not ok %d - %s\n' "$test_count" "$1"
		printf '%s\n' "$2" | sed 's/^/#	/'
		if [ -n "$immediate" ]; then
			keep=t
			test_done
		fi
	fi
}

# A step that cannot run here: "ok N # SKIP reason".
test_skip() {
	test_count=$((test_count + 1))
	printf 'ok %d # SKIP %s: %s\n' "$test_count" "$1" "$2"
}

test_done() {
	printf '1..%d\n' "$test_count"
	if [ "$test_failed" -gt 0 ]; then
		keep=t
		say "failed $test_failed of $test_count; scratch folder kept: $TRASH"
		exit 1
	fi
	exit 0
}

# ---- assertions ---------------------------------------------------------
# grep with a message that shows what was searched when it fails
test_grep() {
	if ! grep "$@"; then
		local file
		for file; do :; done
		echo "test_grep: no match for '$*'; $file says:" >&2
		tail -n 20 "$file" >&2 2>/dev/null
		return 1
	fi
}

test_cmp() {
	cmp "$1" "$2" || { echo "test_cmp: $1 and $2 differ" >&2; return 1; }
}

# Run a command that must fail (non-zero), never crash (signal).
test_must_fail() {
	"$@"
	local rc=$?
	if [ $rc = 0 ]; then echo "test_must_fail: '$*' succeeded" >&2; return 1; fi
	if [ $rc -gt 128 ]; then echo "test_must_fail: '$*' died of signal $((rc - 128))" >&2; return 1; fi
	return 0
}

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
	local name=$1 port ctl dir="$TRASH/tgtd-$1" bsdir
	port=$(free_port) || return 1
	ctl=$((port % 10000 + 10000))
	mkdir -p "$dir"
	bsdir=${MODULE_DIR:-$dir/backing-store}
	if [ -z "${MODULE_DIR:-}" ]; then
		mkdir -p "$bsdir" && cp "$MODULE" "$bsdir/" || return 1
	fi
	mkdir -p /usr/lib/tgt/backing-store || return 1
	TGT_IPC_SOCKET="$dir/socket" unshare -m --propagation private \
		sh -c 'mount --bind "$1" /usr/lib/tgt/backing-store && shift && exec "$@"' \
		sh "$bsdir" "$TGTD" -f -C "$ctl" --iscsi "portal=127.0.0.1:$port" \
		>"$dir/log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- &
	local pid=$!
	eval "${name}_PORT=$port ${name}_CTL=$ctl ${name}_PID=$pid ${name}_LOG=\$dir/log ${name}_DIR=\$dir"
	TGTD_PIDS="$TGTD_PIDS $pid"
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
	TGT_IPC_SOCKET="$dir/socket" "$TGTADM" -C "$ctl" "$@"
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

# url NAME TID LUN
url() {
	local port
	eval "port=\${${1}_PORT}"
	echo "iscsi://127.0.0.1:$port/$IQN_BASE:$TEST_NAME-$2/$3"
}

# Stop a tgtd: it ignores SIGTERM, so delete its targets and the system.
tgtd_stop() {
	local name=$1 pid tid
	eval "pid=\${${name}_PID:-}"
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		for tid in $(tgtadm_on "$name" --lld iscsi --op show --mode target 2>/dev/null |
			     sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
			tgtadm_on "$name" --lld iscsi --mode target --op delete --force --tid "$tid" >/dev/null 2>&1
		done
		tgtadm_on "$name" --op delete --mode system >/dev/null 2>&1
		local i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	eval "${name}_PID="
}

test_cleanup() {
	local name
	for name in $TGTD_INSTANCES; do tgtd_stop "$name"; done
	cd "$T_DIR" || return
	if [ -z "$keep" ] && [ "$test_failed" = 0 ]; then
		rm -rf "$TRASH"
	fi
}
trap test_cleanup EXIT
trap 'exit 130' INT TERM
