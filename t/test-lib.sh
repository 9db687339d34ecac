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
# end, pass or fail, with every tgtd and mount the test made (kept with
# --keep, or at the first failure with --immediate); a failure prints the
# end of each tgtd's log.  Options:
# -v/--verbose shows the commands' output, -i/--immediate stops at the first
# failure, --keep keeps the scratch folder.  Output is TAP, for prove.
#
# Integration helpers (tgtd_start, tgtadm_on, lun_new, url, ...) come from
# lib-tgtd.sh: the stock /usr/sbin/tgtd with this build's bs_lunlink.so, in
# a private mount namespace, on loopback.  Nothing is installed.

set -u

TEST_NAME=$(basename "$0" .sh)
T_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(cd "$T_DIR/.." && pwd)
TRASH="$T_DIR/trash/$TEST_NAME"
IO="$T_DIR/helpers/iscsi-io"

verbose= immediate= keep=
for arg in "$@"; do
	case "$arg" in
	-v|--verbose) verbose=t ;;
	-i|--immediate) immediate=t ;;
	--keep) keep=t ;;
	esac
done

test_count=0 test_failed=0 test_skipped_all=
. "$T_DIR/lib-tgtd.sh"

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
# cu_results FILE: the per-test results of iscsi-test-cu's CUnit output in
# FILE, one "Suite.Test STATUS" a line,
# with STATUS passed, SKIPPED (CUnit counts a skip as a pass) or FAILED.
# CUnit's verdict is "passed" or "FAILED", at the end of the test's own line
# ("  Test: Name ...passed") or on a line of its own after the test's log;
# "[FAILED]" log lines are not verdicts (suite cleanup prints them too).
cu_results() {
	awk '
	function emit() { if (name != "") print name, (failed ? "FAILED" : skipped ? "SKIPPED" : "passed") }
	/^Suite: / { emit(); name = ""; suite = $2; next }
	/^  Test: / { emit(); name = suite "." $2; failed = 0; skipped = 0
		      if ($0 ~ /\.\.\.FAILED$/) failed = 1 }
	/\[SKIPPED\]/ { skipped = 1 }
	/^FAILED$/ { failed = 1 }
	END { emit() }' "$1"
}
# The kernel's own count of a file's dirty pages (cachestat(2), Linux 6.5)
# tells whether data reached the disk: a buffered write leaves pages dirty
# for up to vm.dirty_expire_centisecs (30 s by default); fdatasync leaves
# none.  Only on a disk-backed file system (tmpfs never writes back).
"$T_DIR/helpers/cachestat" "$T_DIR/test-lib.sh" >/dev/null 2>&1 && test_set_prereq CACHESTAT
case $(stat -f -c %T "$TRASH") in tmpfs|ramfs) ;; *) test_set_prereq DISKFS ;; esac
# dirty_pages FILE: how many of FILE's pages are dirty in the page cache
dirty_pages() { "$T_DIR/helpers/cachestat" "$1" | sed -n 's/.* dirty=\([0-9]*\) .*/\1/p'; }

# Skip the whole test, with the reason, in TAP.
skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	test_skipped_all=t
	exit 0
}

# require_tgtd: skip the whole test, saying why, unless it can run the
# integration tests' tgtd: root (mount namespaces), tgtd and tgtadm, and
# this build's module.
require_tgtd() {
	test_have_prereq ROOT || skip_all "needs root (mount namespaces for tgtd)"
	test_have_prereq TGTD || skip_all "tgtd/tgtadm not installed (run make setup)"
	test_have_prereq MODULE || skip_all "target/bs_lunlink.so not built (run make)"
}

# ---- running steps ------------------------------------------------------
# A step's body, in a function of its own: a `return 1` in it (a loop's
# `|| return 1`) ends the body as a failure, not test_expect_success
# before it says "not ok".
test_eval_() { eval "$1"; }

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
	if test_eval_ "$2" >&3 2>&4; then
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
	local name log
	printf '1..%d\n' "$test_count"
	if [ "$test_failed" -gt 0 ]; then
		# what tgtd said is the first thing one needs after a failure
		for name in $TGTD_INSTANCES; do
			eval "log=\${${name}_LOG:-}"
			[ -f "$log" ] || continue
			say "last lines of tgtd $name's log ($log):"
			tail -n 15 "$log" | sed 's/^/#   /'
		done
		if [ -n "$keep" ]; then
			say "failed $test_failed of $test_count; scratch folder kept: $TRASH"
		else
			say "failed $test_failed of $test_count; rerun with --keep to keep $TRASH"
		fi
		exit 1
	fi
	exit 0
}

# ---- assertions ---------------------------------------------------------

# grep FILE (the last argument) with a message that shows what was searched
# when it fails; a tgtd log is read with its messages joined
test_grep() {
	local file i=1 args=
	for file; do :; done
	while [ $i -lt $# ]; do args="$args \"\${$i}\""; i=$((i + 1)); done
	if ! eval "join_log \"\$file\" | grep $args"; then
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

# test_atexit CMD: run CMD (eval'd) at the end, after the tgtd are stopped
atexit_cmds=
test_atexit() { atexit_cmds="$atexit_cmds
$*"; }

test_cleanup() {
	tgtd_stop_all
	eval "$atexit_cmds"
	cd "$T_DIR" || return
	if [ -z "$keep" ]; then
		rm -rf "$TRASH"
	fi
}
trap test_cleanup EXIT
trap 'exit 130' INT TERM
