#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='libiscsi conformance: every iscsi-test-cu test that passes on stock rdwr passes on lunlink; lunlink fails only known tests, fewer on the patched tgtd'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
test_have_prereq TEST_CU || skip_all "iscsi-test-cu not installed (libiscsi-bin; run make setup)"
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
[ -x "$PATCHED" ] && test_set_prereq PATCHED

# The tests lunlink is known to fail, one "Suite.Test" a line, and why
# (doc/conformance.md has the analysis).  On the patched tgtd
# (target/tgt-patches/), none: the persistent reservation tests tgt's own
# spc.c fails pass since the module serves reservations itself
# (target/scsi/pr_scsi.c; t2050 runs them alone).
known_failures_patched() {
	:
}
# On stock tgtd 1.0.85 also iSCSIDataSnInvalid: tgtd ignores the DataSN
# of Data-Out PDUs (tgt patch 0002 fixes it).
known_failures_stock() {
	known_failures_patched; echo iSCSIdatasn.iSCSIDataSnInvalid
}

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

# The same LUN set-up on lunlink's patched tgtd (make tgtd), last: the
# stock runs above stay the baseline.
test_expect_success PATCHED 'iscsi-test-cu -t ALL --dataloss against lunlink on the patched tgtd' '
	TGTD="$PATCHED" tgtd_start P &&
	truncate -s 64M lunlink-p.img &&
	target_new P 1 && lun_new P 1 1 "$TRASH/lunlink-p.img" lunlink &&
	tgtadm_on P --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 \
		--params thin_provisioning=1,lbppbe=0 &&
	run_cu "$(url P 1 1)" cu-lunlink-patched.txt
'

count() { grep -c " $1\$" "$2" || true; }

# failures_are KNOWN RESULTS: the tests that FAILED in RESULTS are exactly
# those KNOWN (a function) lists
failures_are() {
	"$1" | sed "/^\$/d" | sort >expected-failures &&
	sed -n "s/ FAILED\$//p" "$2" | sort >failures &&
	if ! cmp -s expected-failures failures; then
		echo "$2 against the known failures (+ failed, not known;" \
		     "- known, did not fail: update the list and doc/conformance.md):"
		diff expected-failures failures | sed -n "s/^> /+ /p; s/^< /- /p"
		false
	fi
}

test_expect_success 'no test that passes on rdwr fails on lunlink' '
	for s in rdwr lunlink lunlink-patched; do
		test -f cu-$s.txt.results || continue
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

test_expect_success 'on stock tgtd, lunlink fails only the known tests' '
	failures_are known_failures_stock cu-lunlink.txt.results
'

test_expect_success 'stock tgtd accepts Data-Out PDUs with a wrong DataSN, on both stores' '
	grep "^iSCSIdatasn.iSCSIDataSnInvalid FAILED" cu-rdwr.txt.results &&
	grep "^iSCSIdatasn.iSCSIDataSnInvalid FAILED" cu-lunlink.txt.results
'

test_expect_success PATCHED 'the patched tgtd ends those writes with CHECK CONDITION: iSCSIDataSnInvalid passes' '
	grep "^iSCSIdatasn.iSCSIDataSnInvalid passed" cu-lunlink-patched.txt.results &&
	test "$(grep -c "WRITE10 command failed with status 2 / sense key COMMAND ABORTED(0x0b) / ASCQ .*(0x4705)" \
		cu-lunlink-patched.txt)" = 4 &&
	test_grep "Data-Out with DataSN 27, expected 0" "$P_LOG"
'

test_expect_success PATCHED 'on the patched tgtd, lunlink fails no test' '
	failures_are known_failures_patched cu-lunlink-patched.txt.results
'

test_expect_success PATCHED 'every test that passes on stock tgtd passes on the patched one' '
	grep " passed$" cu-lunlink-patched.txt.results | cut -d" " -f1 | sort >pass-lunlink-patched &&
	comm -23 pass-lunlink pass-lunlink-patched >regressions-patched &&
	if test -s regressions-patched; then
		echo "passed on stock tgtd, not on the patched one:"; cat regressions-patched; false
	fi
'

test_expect_success 'tgtd survived the runs' '
	tgtd_alive A &&
	if test_have_prereq PATCHED; then tgtd_alive P; fi
'

test_done
