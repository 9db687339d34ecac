#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='persistent reservations served by the lunlink module: libiscsi PR suites, nexus identity across re-login, conflicts, APTPL across a restart, READ FULL STATUS'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
test_have_prereq TEST_CU || skip_all "iscsi-test-cu not installed (libiscsi-bin; run make setup)"
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
[ -x "$PATCHED" ] && test_set_prereq PATCHED
. "$T_DIR/lib-pr.sh"
[ -x "$PR" ] && test_set_prereq PRHELPER

test_expect_success 'a lunlink LUN on stock tgtd' '
	tgtd_start A &&
	truncate -s 64M a.img &&
	target_new A 1 && lun_new A 1 1 "$TRASH/a.img" lunlink
'

test_expect_success 'every libiscsi persistent reservation test passes on stock tgtd' '
	run_pr_suites "$(url A 1 1)" cu-stock.txt &&
	all_passed cu-stock.txt.results
'

test_expect_success PATCHED 'and on the patched tgtd' '
	TGTD="$PATCHED" tgtd_start P &&
	truncate -s 64M p.img &&
	target_new P 1 && lun_new P 1 1 "$TRASH/p.img" lunlink &&
	run_pr_suites "$(url P 1 1)" cu-patched.txt &&
	all_passed cu-patched.txt.results
'

test_expect_success 'tgtd survived the runs' '
	tgtd_alive A &&
	if test_have_prereq PATCHED; then tgtd_alive P; fi
'

# iscsi-pr: one login, one command, logout; -n names the initiator, the
# ISID is the same every run (qualifier 1), so two runs are one
# initiator port logging in again
pr_a() { "$PR" -n "$HA" "$(url A 1 2)" "$@"; }
pr_b() { "$PR" -n "$HB" "$(url A 1 2)" "$@"; }

test_expect_success PRHELPER 'a registration survives a logout and a re-login of its initiator port' '
	truncate -s 16M b.img && lun_new A 1 2 "$TRASH/b.img" lunlink &&
	answers GOOD pr_a register 0 a1 &&
	pr_a read-keys >keys && grep -x "key a1" keys &&
	answers GOOD pr_a reserve a1 1 &&
	answers "reservation a1 1" pr_a read-reservation &&
	answers GOOD pr_a write 0
'

test_expect_success PRHELPER 'READ FULL STATUS lists each registration by its TransportID' '
	answers GOOD pr_b register 0 b2 &&
	pr_a read-full-status >status && cat status &&
	grep -x "reg a1 holder 1 type 1 rtpi 1 all_tg_pt 0 id $HA,i,0x800012340001" status &&
	grep -x "reg b2 holder 0 type 0 rtpi 1 all_tg_pt 0 id $HB,i,0x800012340001" status
'

test_expect_success PRHELPER 'another initiator port of the same name is another nexus' '
	"$PR" -n "$HA" -q 2 "$(url A 1 2)" read-keys >keys2 &&
	answers "RESERVATION CONFLICT" "$PR" -n "$HA" -q 2 "$(url A 1 2)" write 0
'

test_expect_success PRHELPER 'WRITE EXCLUSIVE: a second initiator reads, its writes conflict' '
	answers GOOD pr_b read 0 &&
	answers "RESERVATION CONFLICT" pr_b write 0 &&
	answers GOOD pr_a release a1 1
'

test_expect_success PRHELPER 'WRITE EXCLUSIVE - REGISTRANTS ONLY: registrants write, others conflict' '
	answers GOOD pr_a reserve a1 5 &&
	answers GOOD pr_b write 0 &&
	answers GOOD pr_b register b2 0 &&
	answers "RESERVATION CONFLICT" pr_b write 0 &&
	answers GOOD pr_b read 0
'

# the mirror lease helper's sequence: a new primary registers and
# preempts the old one's key; the old primary is cut off
test_expect_success PRHELPER 'a preempted holder is cut off: its registration goes, its writes conflict' '
	answers GOOD pr_b register-ignore b3 &&
	answers GOOD pr_b preempt b3 a1 5 &&
	answers "reservation b3 5" pr_a read-reservation &&
	pr_a read-keys >keys && ! grep -x "key a1" keys &&
	answers "RESERVATION CONFLICT" pr_a write 0 &&
	answers GOOD pr_b write 0 &&
	answers "RESERVATION CONFLICT" pr_a reserve a1 5 &&
	answers GOOD pr_b clear b3
'

test_expect_success PRHELPER 'PREEMPT AND ABORT too' '
	answers GOOD pr_a register-ignore a4 &&
	answers GOOD pr_a reserve a4 6 &&
	answers GOOD pr_b register-ignore b4 &&
	answers GOOD pr_b preempt b4 a4 6 abort &&
	answers "RESERVATION CONFLICT" pr_a read 0 &&
	answers GOOD pr_b clear b4
'

# Unit attentions on the right nexus: B keeps a session open, registered,
# while A acts; then B's next command shows what it was told.
# b_waits KEY: B's session registers KEY and waits; told EXPECTED: B goes
# on, and its TEST UNIT READY got EXPECTED (GOOD or the unit attention).
# Not in a $(...): wait must run in the shell that started B.
b_waits() {
	rm -f go && mkfifo go &&
	{ "$PR" -n "$HB" -q 9 "$(url A 1 2)" await-ua "$1" <go >ua.out 2>&1 & } &&
	bpid=$! && exec 7>go &&
	wait_for 10 grep -q ready ua.out
}
told() {
	local got
	echo >&7 && exec 7>&- &&
	{ wait $bpid; true; } &&
	got=$(tail -n 1 ua.out) &&
	[ "$got" = "$1" ] || { say "B was told \"$got\", not \"$1\"" >&5; cat ua.out; return 1; }
}

test_expect_success PRHELPER 'RELEASE of WERO: RESERVATIONS RELEASED to the other registrants' '
	answers GOOD pr_a register-ignore a9 &&
	b_waits b9 &&
	answers GOOD pr_a reserve a9 5 &&
	answers GOOD pr_a release a9 5 &&
	told "sense 6/2a/04"
'

test_expect_success PRHELPER 'RELEASE of WE: no unit attention' '
	b_waits b9 &&
	answers GOOD pr_a reserve a9 1 &&
	answers GOOD pr_a release a9 1 &&
	told GOOD
'

test_expect_success PRHELPER 'the WERO holder unregisters: RESERVATIONS RELEASED to the others' '
	b_waits b9 &&
	answers GOOD pr_a reserve a9 5 &&
	answers GOOD pr_a register a9 0 &&
	told "sense 6/2a/04" &&
	answers "no reservation" pr_b read-reservation
'

test_expect_success PRHELPER 'CLEAR: RESERVATIONS PREEMPTED to the others' '
	answers GOOD pr_a register-ignore a9 &&
	b_waits b9 &&
	answers GOOD pr_a clear a9 &&
	told "sense 6/2a/03"
'

test_expect_success PRHELPER 'PREEMPT: REGISTRATIONS PREEMPTED to the preempted only' '
	answers GOOD pr_a register-ignore a9 &&
	b_waits b9 &&
	answers GOOD pr_a preempt a9 b9 5 &&
	told "sense 6/2a/05" &&
	b_waits b9 &&
	answers GOOD "$PR" -n "$HC" "$(url A 1 2)" register-ignore c9 &&
	answers GOOD "$PR" -n "$HC" "$(url A 1 2)" preempt c9 a9 5 &&
	told GOOD &&
	answers GOOD "$PR" -n "$HC" "$(url A 1 2)" clear c9
'

# (an SPC-2 reservation ends with its session, so iscsi-pr, one session a
# command, cannot hold one while another initiator tries a PR OUT:
# libiscsi's Reserve6 suite above covers SPC-2's own rules)
# A holder writing, 16 writes with FUA in flight on one session, is
# preempted and aborted by another initiator: the PR OUT returns once the
# holder's writes in the store have ended; the holder's session is told
# REGISTRATIONS PREEMPTED (6/2A/05) on its next command, and its writes
# conflict from then on.
test_expect_success PRHELPER 'PREEMPT AND ABORT of a holder with writes in flight cuts it off' '
	mark &&
	{ "$PR" -n "$HA" -q 7 "$(url A 1 2)" hold-writes a7 5 1000000 >hold.out 2>&1 & } &&
	holder=$! &&
	wait_for 10 grep -q reserved hold.out &&
	sleep 0.5 &&
	answers GOOD "$PR" -n "$HC" "$(url A 1 2)" register-ignore b7 &&
	answers GOOD "$PR" -n "$HC" "$(url A 1 2)" preempt b7 a7 5 abort &&
	{ wait $holder; rc=$?; } &&
	cat hold.out &&
	test $rc = 2 && test "$(tail -n 1 hold.out)" = "sense 6/2a/05" &&
	answers "RESERVATION CONFLICT" "$PR" -n "$HA" -q 7 "$(url A 1 2)" write 0 &&
	test "$(sed -n "s/^acked //p" hold.out)" -gt 0 &&
	answers "reservation b7 5" pr_b read-reservation &&
	wait_for 5 new_log_has "PREEMPT AND ABORT from $HC,i,0x800012340001: 1 nexuses preempted, " &&
	tail -n +$((log_mark + 1)) "$A_LOG" | join_log |
		sed -n "s/.*pr-c,i,0x800012340001: 1 nexuses preempted, \([0-9]*\) of their.*/\1/p" >busy &&
	say "commands of the preempted holder in the store at the PREEMPT AND ABORT: $(cat busy)" >&5 &&
	if [ "$(cat busy)" -gt 0 ]; then
		wait_for 5 new_log_has "PREEMPT AND ABORT: the preempted nexuses'"'"' commands have ended"
	fi &&
	answers GOOD "$PR" -n "$HC" "$(url A 1 2)" clear b7
'

test_expect_success PRHELPER 'RESERVE(6) conflicts while persistent reservations are in use, the holder'"'"'s too' '
	answers GOOD pr_a register-ignore a5 &&
	answers "RESERVATION CONFLICT" pr_b reserve6 &&
	answers "RESERVATION CONFLICT" pr_a reserve6 &&
	answers GOOD pr_a clear a5 &&
	answers GOOD pr_b reserve6 &&
	answers GOOD pr_b release6
'

# APTPL: the state is in IMAGE.pr (or bsopts pr_file=) before the PR OUT
# returns; a tgtd killed and started again on the same image reads it back
# pr_on NAME LUN COMMAND...: iscsi-pr as initiator NAME on tid 1's LUN
pr_on() {
	local name=$1 lun=$2
	shift 2
	"$PR" -n "$name" "$(url A 1 "$lun")" "$@"
}

test_expect_success PRHELPER 'APTPL: the state is on disk when the PR OUT returns' '
	truncate -s 16M c.img d.img e.img &&
	lun_new A 1 3 "$TRASH/c.img" lunlink &&
	lun_new A 1 4 "$TRASH/d.img" lunlink &&
	lun_new A 1 5 "$TRASH/e.img" lunlink "pr_file=$TRASH/e-reservations" &&
	answers "ptpl_c 1 ptpl_a 0" pr_on $HA 3 capabilities &&
	answers GOOD pr_on $HA 3 register 0 c1 aptpl &&
	answers GOOD pr_on $HA 3 reserve c1 5 &&
	answers "ptpl_c 1 ptpl_a 1" pr_on $HA 3 capabilities &&
	cat c.img.pr &&
	grep -x "aptpl 1" c.img.pr &&
	grep -x "reg 00000000000000c1 1 0 $HA,i,0x800012340001" c.img.pr &&
	grep -x "reservation 5 0 1 $HA,i,0x800012340001" c.img.pr &&
	answers GOOD pr_on $HB 5 register-ignore e1 aptpl &&
	grep -x "reg 00000000000000e1 1 0 $HB,i,0x800012340001" e-reservations &&
	! test -e e.img.pr &&
	answers GOOD pr_on $HA 4 register 0 d1 &&
	! test -e d.img.pr
'

test_expect_success PRHELPER 'APTPL state survives a tgtd killed with SIGKILL; without APTPL none does' '
	kill -9 $A_PID && tgtd_stop A &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 3 "$TRASH/c.img" lunlink &&
	lun_new A 1 4 "$TRASH/d.img" lunlink &&
	lun_new A 1 5 "$TRASH/e.img" lunlink "pr_file=$TRASH/e-reservations" &&
	test_grep "persistent reservations restored from $TRASH/c.img.pr (APTPL): 1 registrations, WRITE EXCLUSIVE - REGISTRANTS ONLY" "$A_LOG" &&
	pr_on $HB 3 read-keys >keys3 && grep -x "key c1" keys3 &&
	answers "reservation c1 5" pr_on $HB 3 read-reservation &&
	answers "RESERVATION CONFLICT" pr_on $HB 3 write 0 &&
	answers GOOD pr_on $HA 3 write 0 &&
	pr_on $HB 5 read-keys >keys5 && grep -x "key e1" keys5 &&
	pr_on $HA 4 read-keys >keys4 && ! grep key keys4 &&
	answers GOOD pr_on $HB 4 write 0
'

test_expect_success PRHELPER 'a REGISTER with APTPL 0 turns it off: the next restart forgets' '
	answers GOOD pr_on $HA 3 register c1 c2 &&
	grep -x "aptpl 0" c.img.pr &&
	kill -9 $A_PID && tgtd_stop A &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 3 "$TRASH/c.img" lunlink &&
	pr_on $HB 3 read-keys >keys3 && ! grep key keys3 &&
	answers "no reservation" pr_on $HB 3 read-reservation
'

test_expect_success PRHELPER 'a damaged reservation file: the LUN is refused, saying which file and what to do' '
	printf "lunlink-pr 1\ngeneration 1\naptpl 1\nreg zz\n" >f.img.pr &&
	truncate -s 16M f.img &&
	mark &&
	test_must_fail lun_new A 1 6 "$TRASH/f.img" lunlink &&
	new_log_has "refused: the reservation file $TRASH/f.img.pr is damaged (line 4: not a valid line of a reservation file); move it away to start without persistent reservations"
'

test_done
