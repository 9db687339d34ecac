#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='libiscsi conformance: every iscsi-test-cu test that passes on stock rdwr passes on lunlink'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
test_have_prereq TEST_CU || skip_all "iscsi-test-cu not installed (libiscsi-bin; run make setup)"

# Both stores on the same tgtd, on images of the same size, set up alike:
# thin provisioning on (tgt's rdwr needs thin_provisioning=1 for the UNMAP
# and WRITE SAME tests; lunlink advertises it by default), and one logical
# block per physical block (lbppbe=0): libiscsi 1.19's
# GetLBAStatus.UnmapSingle asks for the status at LBA i+1 and expects the
# answer to start at i+LBPPB, which only holds when LBPPB is 1; by default
# both stores report the file system's 4 KiB blocks (LBPPB 8).
setup_lun() {
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid $1 --lun 1 \
		--params thin_provisioning=1,lbppbe=0
}

test_expect_success 'one tgtd with a stock rdwr LUN and a lunlink LUN' '
	tgtd_start A &&
	truncate -s 64M rdwr.img lunlink.img &&
	target_new A 1 && lun_new A 1 1 "$TRASH/rdwr.img" rdwr && setup_lun 1 &&
	target_new A 2 && lun_new A 2 1 "$TRASH/lunlink.img" lunlink && setup_lun 2
'

# Per-test results from iscsi-test-cu's CUnit output, "Suite.Test STATUS"
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

run_cu() {
	timeout 600 iscsi-test-cu -t ALL --dataloss \
		-i "$IQN_BASE:cu-a" -I "$IQN_BASE:cu-b" "$1" >"$2" 2>&1
	rc=$?
	[ $rc -le 1 ] || { echo "iscsi-test-cu exited $rc"; tail -20 "$2"; return 1; }
	cu_results "$2" >"$2.results" && test -s "$2.results"
}

test_expect_success 'iscsi-test-cu -t ALL --dataloss against rdwr' '
	run_cu "$(url A 1 1)" cu-rdwr.txt
'

test_expect_success 'iscsi-test-cu -t ALL --dataloss against lunlink' '
	run_cu "$(url A 2 1)" cu-lunlink.txt
'

count() { grep -c " $1\$" "$2" || true; }

test_expect_success 'no test that passes on rdwr fails on lunlink' '
	for s in rdwr lunlink; do
		say "$s: passed $(count passed cu-$s.txt.results)," \
		    "skipped $(count SKIPPED cu-$s.txt.results)," \
		    "failed $(count FAILED cu-$s.txt.results)" \
		    "of $(wc -l <cu-$s.txt.results)" >&5
	done &&
	grep " passed$" cu-rdwr.txt.results | cut -d" " -f1 | sort >pass-rdwr &&
	grep " passed$" cu-lunlink.txt.results | cut -d" " -f1 | sort >pass-lunlink &&
	comm -23 pass-rdwr pass-lunlink >regressions &&
	if test -s regressions; then
		echo "passed on rdwr, not on lunlink:"; cat regressions; false
	fi
'

test_expect_success 'the thin-provisioning tests pass on lunlink' '
	grep -E "^(Unmap|WriteSame10\.Unmap|WriteSame16\.Unmap|GetLBAStatus)" \
		cu-lunlink.txt.results >thin &&
	cat thin &&
	grep -q "^Unmap\.Simple passed" thin &&
	grep -q "^Unmap\.ZeroBlocks passed" thin &&
	grep -q "^WriteSame16\.Unmap passed" thin &&
	grep -q "^GetLBAStatus\.UnmapSingle passed" thin &&
	! grep FAILED thin
'

test_expect_success 'tgtd survived both runs' '
	tgtd_alive A
'

test_done
