#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='a Data-Out PDU outside its WRITE: stock tgtd takes it as data, the patched one closes the connection and goes on serving'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
test_have_prereq IO || skip_all "t/helpers/iscsi-io not built (make t/helpers/iscsi-io)"
DATA_OUT="$T_DIR/helpers/data-out"
[ -x "$DATA_OUT" ] || skip_all "t/helpers/data-out not built (make t/helpers/data-out)"
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
[ -x "$PATCHED" ] && test_set_prereq PATCHED

# data_out NAME LBA OFFSET LENGTH: log in to tgtd NAME's target 1 (InitialR2T
# Yes, ImmediateData No), WRITE(10) one 512-byte block at LBA, answer the
# R2T with one Data-Out at OFFSET with LENGTH bytes of 0x5a; prints what
# tgtd did then: "status S", "r2t OFFSET LENGTH", "reject R", "closed".
data_out() {
	local port
	eval "port=\${${1}_PORT}"
	timeout 30 "$DATA_OUT" 127.0.0.1 "$port" "$IQN_BASE:$TEST_NAME-1" 1 "$2" "$3" "$4"
}

# refused_line OFFSET LENGTH: what the patched tgtd logs when it refuses
refused_line() {
	echo "ITT 0x1000: Data-Out at offset $1 with $2 bytes, outside the 512 bytes the command writes; closing the connection"
}

# changed_outside REF IMAGE FIRST LAST: IMAGE differs from REF at a byte
# outside [FIRST, LAST) (offsets from 0); says which
changed_outside() {
	cmp -l "$1" "$2" | awk -v first="$3" -v last="$4" '
		$1 - 1 < first || $1 - 1 >= last { print "changed at byte " $1 - 1; bad = 1; exit }
		END { exit !bad }'
}

test_expect_success 'a 4 MiB image filled with a known pattern, one copy for each tgtd' '
	yes lunlink-t2100 | head -c 4194304 >ref.img &&
	cp ref.img stock.img && cp ref.img patched.img
'

test_expect_success 'the stock tgtd serves it as a lunlink LUN, 512-byte blocks' '
	tgtd_start A &&
	target_new A 1 && lun_new A 1 1 "$TRASH/stock.img" &&
	"$IO" "$(url A 1 1)" capacity >capacity &&
	test "$(cat capacity)" = "8192 512"
'

# The stock tgtd reads a Data-Out's data into the command's buffer at its
# Buffer Offset, unchecked.  Any PDU past the buffer overflows tgtd's heap,
# so stock tgtd gets the smallest one: 4 bytes at offset 512 of a 512-byte
# buffer.  glibc rounds that buffer's chunk up to 520 usable bytes
# (posix_memalign(4096, 512); malloc_usable_size says 520), so the 4 bytes
# land in the chunk's own slack and corrupt nothing; AddressSanitizer,
# which allows no slack, stops tgtd there with a heap-buffer-overflow
# (doc/conformance.md).  The bigger and wrapping PDUs below go to the
# patched tgtd only: on the stock one they would corrupt its heap.
test_expect_success 'stock tgtd takes a Data-Out past the end of the WRITE as data and asks for the rest' '
	data_out A 8 512 4 >stock.out &&
	cat stock.out &&
	test "$(cat stock.out)" = "r2t 4 508" &&
	tgtd_alive A
'

test_expect_success 'on stock tgtd, an in-range Data-Out writes its block' '
	data_out A 8 0 512 >stock-good.out &&
	test "$(cat stock-good.out)" = "status 0" &&
	! changed_outside ref.img stock.img 4096 4608
'

test_expect_success PATCHED 'the patched tgtd serves the other copy' '
	TGTD="$PATCHED" tgtd_start P &&
	target_new P 1 && lun_new P 1 1 "$TRASH/patched.img"
'

# (a command list that ends in & runs wholly in the background: the
# background commands below stand alone)
test_expect_success PATCHED 'a bystander session logged in first' '
	mkfifo go || return 1
	"$IO" "$(url P 1 1)" await-ua <go >bystander.out 2>&1 &
	bystander=$! &&
	exec 7>go &&
	wait_for 10 grep -q ready bystander.out
'

# offset and length of each refused Data-Out, for a 512-byte WRITE: just
# past the end; far past it; one word too long from offset 0; straddling
# the end; and an offset whose sum with the length wraps to 256 in 32 bits
for bad in "512 4" "4096 512" "0 516" "256 512" "4294967040 512"; do
test_expect_success PATCHED "the patched tgtd closes the connection on a Data-Out at offset ${bad% *} with ${bad#* } bytes" '
	data_out P 8 '"$bad"' >patched.out &&
	cat patched.out &&
	test "$(cat patched.out)" = closed &&
	test_grep -F "$(refused_line '"$bad"')" "$P_LOG" &&
	tgtd_alive P
'
done

test_expect_success PATCHED 'the bystander session is still served' '
	echo go >&7 && exec 7>&- && wait $bystander &&
	cat bystander.out &&
	test_grep "^8192 512$" bystander.out
'

test_expect_success PATCHED 'a new session still writes: an in-range Data-Out gets GOOD' '
	data_out P 8 0 512 >patched-good.out &&
	test "$(cat patched-good.out)" = "status 0" &&
	"$IO" "$(url P 1 1)" read 8 1 block8 &&
	head -c 512 /dev/zero | tr "\0" "\132" >expect8 &&
	test_cmp expect8 block8
'

test_expect_success PATCHED 'no refused Data-Out changed the image: only the good write, block 8' '
	! changed_outside ref.img patched.img 4096 4608 &&
	cmp -i 4096:0 -n 512 patched.img expect8
'

test_expect_success 'tgtd survived it all' '
	tgtd_alive A &&
	if test_have_prereq PATCHED; then tgtd_alive P; fi
'

test_done
