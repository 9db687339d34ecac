# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib-pr.sh: persistent reservations through t/helpers/iscsi-pr, for the
# tests of PR (t2050, t2060, t3745, t3750).  Source it after test-lib.sh.
#
#   pr_prereqs                skip_all unless iscsi-pr is built
#   pr_via TGTD NAME CMD...   iscsi-pr as initiator NAME through LUN 1 of
#                             target PR_TID (1 unless set) of the tgtd
#                             named TGTD (lib-tgtd.sh's A, N1, ...): one
#                             login, one command, logout
#   pr_now TGTD NAME CMD...   the same, logged in without libiscsi's TEST
#                             UNIT READY (which gives up the login on NOT
#                             READY)
#   answers EXPECTED CMD...   the command's last line is EXPECTED; if not,
#                             says what it printed
#   run_pr_suites URL OUT     iscsi-test-cu's PR suites (PR_SUITES) through
#                             URL, as initiators cu-a and cu-b; OUT.results
#                             holds "Suite.Test STATUS"
#   all_passed RESULTS        every test in RESULTS passed (but for the
#                             skips tgt's own stores get too)
#
# HA, HB, HC are three initiator names.

PR="$T_DIR/helpers/iscsi-pr"
PR_TID=${PR_TID:-1}
HA=$IQN_BASE:pr-a HB=$IQN_BASE:pr-b HC=$IQN_BASE:pr-c

pr_prereqs() {
	[ -x "$PR" ] || skip_all "$PR not built (make check builds it)"
}
pr_via() {
	local tgtd=$1 name=$2
	shift 2
	"$PR" -n "$name" "$(url "$tgtd" "$PR_TID" 1)" "$@"
}
pr_now() {
	local tgtd=$1 name=$2
	shift 2
	echo | "$PR" -w -n "$name" "$(url "$tgtd" "$PR_TID" 1)" "$@"
}
answers() {
	local want=$1 out
	shift
	out=$("$@" 2>&1 | tail -n 1)
	[ "$out" = "$want" ] || { echo "$* printed \"$out\", not \"$want\""; return 1; }
}

# Every suite of persistent reservations that iscsi-test-cu has, SPC-2's
# RESERVE(6), which lunlink refuses while they are in use, and REPORT
# SUPPORTED OPERATION CODES, which lists the service actions lunlink
# answers for 5Eh and 5Fh
PR_SUITES="PrinReadKeys PrinServiceactionRange PrinReportCapabilities ProutRegister
ProutReserve ProutClear ProutPreempt Reserve6 ReportSupportedOpcodes"

# run_pr_suites URL OUT: each suite; OUT.results holds "Suite.Test STATUS"
run_pr_suites() {
	local s
	: >"$2"
	for s in $PR_SUITES; do
		timeout 300 iscsi-test-cu -t "ALL.$s" --dataloss \
			-i "$IQN_BASE:cu-a" -I "$IQN_BASE:cu-b" "$1" >>"$2" 2>&1
		[ $? -le 1 ] || { echo "iscsi-test-cu -t ALL.$s failed to run"; tail -20 "$2"; return 1; }
	done
	cu_results "$2" | sort -u >"$2.results" &&
	cat "$2.results" &&
	test "$(wc -l <"$2.results")" -ge 25
}

# all_passed RESULTS: every test passed, but for Reserve6's target cold
# and warm resets, which tgt does not implement, and
# ReportSupportedOpcodes.OneCommand, whose one-command form tgt answers
# in a way libiscsi takes for "not implemented" (libiscsi skips them, on
# tgt's own rdwr store too)
all_passed() {
	if grep -v " passed\$" "$1" |
	   grep -v "^Reserve6\.Target\(Cold\|Warm\)Reset SKIPPED\$" |
	   grep -v "^ReportSupportedOpcodes\.OneCommand SKIPPED\$"; then
		echo "not passed (above); the run's log: ${1%.results}"
		return 1
	fi
}
