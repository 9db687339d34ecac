#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='SYNCHRONIZE CACHE and FUA reach stable storage'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

# cachestat(2) (test-lib.sh: CACHESTAT, DISKFS, dirty_pages) tells whether
# the image's data reached the disk.
dirty() { dirty_pages "$TRASH/img"; }

test_expect_success 'a LUN on a disk-backed image' '
	tgtd_start A &&
	truncate -s 64M img &&
	target_new A 1 && lun_new A 1 1 "$TRASH/img" &&
	head -c 262144 /dev/urandom >data
'

if ! test_have_prereq CACHESTAT; then
	test_skip 'writes stay in the page cache' 'this kernel has no cachestat(2) (Linux 6.5+)'
	test_skip 'SYNCHRONIZE CACHE leaves no dirty page' 'no cachestat(2)'
	test_skip 'a FUA write leaves no dirty page' 'no cachestat(2)'
elif ! test_have_prereq DISKFS; then
	test_skip 'durability checks' "the scratch folder $TRASH is on tmpfs, which never writes back"
else
test_expect_success 'a plain write stays in the page cache (write cache on)' '
	"$IO" "$(url A 1 1)" write 0 data &&
	d=$(dirty) && echo "dirty pages after a plain write: $d" &&
	test "$d" -gt 0
'

test_expect_success 'SYNCHRONIZE CACHE leaves no dirty page behind' '
	"$IO" "$(url A 1 1)" sync &&
	d=$(dirty) && echo "dirty pages after SYNCHRONIZE CACHE: $d" &&
	test "$d" -eq 0
'

test_expect_success 'a FUA write is on disk when it completes' '
	"$IO" "$(url A 1 1)" write 4096 data fua &&
	d=$(dirty) && echo "dirty pages after a FUA write: $d" &&
	test "$d" -eq 0
'

test_expect_success 'with the write cache turned off (WCE=0), a plain write is durable' '
	"$IO" "$(url A 1 1)" wce off &&
	"$IO" "$(url A 1 1)" write 8192 data &&
	d=$(dirty) && echo "dirty pages after a write with WCE=0: $d" &&
	test "$d" -eq 0
'

test_expect_success 'and with it on again, writes are cached again' '
	"$IO" "$(url A 1 1)" wce on &&
	"$IO" "$(url A 1 1)" write 12288 data &&
	d=$(dirty) && echo "dirty pages after a write with WCE=1: $d" &&
	test "$d" -gt 0
'

test_expect_success 'the data is the data' '
	for lba in 0 4096 8192 12288; do
		"$IO" "$(url A 1 1)" read $lba 512 back &&
		test_cmp data back || return 1
	done
'
fi

test_done
