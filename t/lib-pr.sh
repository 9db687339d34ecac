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
