#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='bad options, missing files and failing I/O get named errors, never a crash'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

# A 1 MiB file system, to run out of space on; mounted before tgtd starts so
# that tgtd's private mount namespace sees it.
test_expect_success 'a tiny tmpfs and a tgtd' '
	mkdir small &&
	mount -t tmpfs -o size=1m lunlink-test "$TRASH/small" &&
	test_atexit "umount \"$TRASH/small\"" &&
	truncate -s 64M good.img small/sparse.img &&
	mkdir adir && : >empty.img &&
	tgtd_start A &&
	target_new A 1
'

# refused LUN NUMBER BSOPTS MESSAGE: the LUN is refused, the log says why
refused() {
	test_must_fail lun_new A 1 "$1" "$TRASH/good.img" lunlink "$2" &&
	test_grep -F "$3" "$A_LOG"
}

test_expect_success 'an unknown bsopts key is refused by name' '
	refused 1 "io=uring;speed=fast" "bsopts: unknown key '"'"'speed'"'"' (known: io, threads, queue_depth, thin, mirror, resync_rate, leg_timeout, window, extent, copy_extent, raw, pr_file, pr, pr_socket, pr_timeout)"
'

test_expect_success 'a bad value is refused with what is accepted' '
	refused 1 "threads=0" "bsopts: threads='"'"'0'"'"' is not a whole number from 1 to 128" &&
	refused 1 "io=fast" "bsopts: io='"'"'fast'"'"' is not an I/O path (auto, uring or threads)" &&
	refused 1 "queue_depth=99999" "queue_depth='"'"'99999'"'"' is not a whole number from 1 to 4096" &&
	refused 1 "thin=maybe" "thin='"'"'maybe'"'"' must be on or off"
'

test_expect_success 'an option without = is refused' '
	refused 1 "threads" "bsopts: '"'"'threads'"'"' has no '"'"'='"'"'"
'

test_expect_success 'a missing image is refused with its name and the cure' '
	test_must_fail lun_new A 1 1 "$TRASH/nosuch.img" &&
	test_grep -F "cannot open the backing store '"'"'$TRASH/nosuch.img'"'"': No such file or directory (create the image first" "$A_LOG"
'

test_expect_success 'a directory is refused' '
	test_must_fail lun_new A 1 1 "$TRASH/adir" &&
	test_grep "cannot open the backing store .$TRASH/adir.: Is a directory" "$A_LOG"
'

test_expect_success 'an empty image is refused' '
	test_must_fail lun_new A 1 1 "$TRASH/empty.img" &&
	test_grep -F "is 0 bytes, smaller than one block" "$A_LOG"
'

test_expect_success 'after all that, a good LUN still comes up' '
	lun_new A 1 1 "$TRASH/good.img" &&
	head -c 65536 /dev/urandom >data &&
	"$IO" "$(url A 1 1)" write 0 data &&
	"$IO" "$(url A 1 1)" read 0 128 back && test_cmp data back
'

fault() {
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params "fault=$1"
}

test_expect_success 'a failing local read reaches the initiator as MEDIUM ERROR 11/00' '
	fault read &&
	test_must_fail "$IO" "$(url A 1 1)" read 0 8 x >out &&
	test_grep "sense 3/11/00" out &&
	test_grep -F "read of 4096 bytes at offset 0 failed: Input/output error (injected: fault= is set); the initiator gets MEDIUM ERROR, UNRECOVERED READ ERROR (11/00)" "$A_LOG"
'

test_expect_success 'a failing local write reaches the initiator as MEDIUM ERROR 0C/00' '
	fault write &&
	test_must_fail "$IO" "$(url A 1 1)" write 0 data >out &&
	test_grep "sense 3/0c/00" out &&
	fault both &&
	test_must_fail "$IO" "$(url A 1 1)" sync >out2 &&
	test_grep "sense 3/0c/00" out2
'

test_expect_success 'the data written before the faults is intact once they stop' '
	fault none &&
	"$IO" "$(url A 1 1)" read 0 128 back2 && test_cmp data back2
'

test_expect_success 'a full file system gives DATA PROTECT, SPACE ALLOCATION FAILED 27/07' '
	lun_new A 1 2 "$TRASH/small/sparse.img" &&
	head -c 2097152 /dev/urandom >big &&
	test_must_fail "$IO" "$(url A 1 2)" write 0 big >out &&
	test_grep "sense 7/27/07" out &&
	test_grep -F "No space left on device; the initiator gets DATA PROTECT, SPACE ALLOCATION FAILED (27/07)" "$A_LOG"
'

test_expect_success 'space freed by UNMAP can be written again' '
	"$IO" "$(url A 1 2)" unmap 0 131072 &&
	"$IO" "$(url A 1 2)" write 0 data &&
	"$IO" "$(url A 1 2)" read 0 128 back3 && test_cmp data back3
'

test_expect_success 'tgtd is alive and lists exactly the two good LUNs' '
	tgtd_alive A &&
	tgtadm_on A --lld iscsi --op show --mode target >show &&
	test "$(grep -c "Backing store type: lunlink" show)" = 2
'

test_done
