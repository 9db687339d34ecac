#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='a mirror'"'"'s first sync: blank copies of one volume start in sync with nothing copied; a copy written before sends only its data'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"
command -v jq >/dev/null 2>&1 || skip_all "jq not installed"

# Node B exports the legs with stock tgt's rdwr store (the whole file,
# superblock included), thin-provisioned unless told (WRITE SAME's UNMAP
# bit punches a hole); node A serves the mirrored LUN, tid 1 LUN 1.

# field FILE KEY: KEY of lunlink-image show --json
field() { "$IMG" show --json "$1" | jq -r ".$2"; }


# data_sum FILE: checksum of the volume's data in an image file
data_sum() {
	dd if="$1" bs=1M skip=$(($(field "$1" data_offset) / 1048576)) 2>/dev/null | md5sum | cut -d" " -f1
}

# allocated FILE: bytes the file system holds for the file
allocated() { echo $(($(stat -c %b "$1") * 512)); }

# export_leg FILE [thin]: B exports FILE as tid 1 LUN 1
export_leg() {
	{ [ -n "${B_PID:-}" ] || TGTD_PORT=${B_PORT:-} tgtd_start B; } &&
	target_new B 1 && lun_new B 1 1 "$1" rdwr &&
	if [ "${2:-}" = thin ]; then
		tgtadm_on B --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 \
			--params thin_provisioning=1
	fi
}

unexport_leg() {
	tgtadm_on B --lld iscsi --mode target --op delete --force --tid 1
}

# serve FILE [BSOPTS]: A serves FILE as tid 1 LUN 1
serve() {
	{ [ -n "${A_PID:-}" ] || tgtd_start A; } &&
	{ tgtadm_on A --lld iscsi --mode target --op show | grep -q "^Target 1:" || target_new A 1; } &&
	lun_new A 1 1 "$TRASH/$1" lunlink ${2:+"$2"}
}

unserve() {
	tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1
}

test_expect_success 'two blank copies of one volume' '
	"$IMG" create --size 64M a.img >out &&
	test_grep ", blank\$" out &&
	"$IMG" create --size 64M --volume "$(field a.img volume)" b.img >out &&
	test "$(field b.img volume)" = "$(field a.img volume)" &&
	test "$(field a.img blank)" = true && test "$(field b.img blank)" = true
'

test_expect_success 'the blank leg joins a blank primary in sync: nothing copied' '
	export_leg "$TRASH/b.img" thin &&
	serve a.img "mirror=$(url B 1 1)" &&
	wait_for 30 leg_is up &&
	test "$(leg1 resync_data)" = 0 &&
	test "$(leg1 resync_holes)" = 0 &&
	test "$(leg1 out_of_date)" = 0 &&
	test "$(field a.img blank)" = false &&
	test "$(field b.img blank)" = false &&
	test "$(field b.img generation)" = "$(field a.img generation)" &&
	test "$(allocated b.img)" -le 65536
'

test_expect_success 'writes reach both; the copies read back the same' '
	head -c 131072 /dev/urandom >data &&
	"$IO" "$(url A 1 1)" write 2048 data &&
	"$IO" "$(url A 1 1)" sync &&
	test "$(data_sum a.img)" = "$(data_sum b.img)" &&
	unserve &&
	test "$(field a.img blank)" = false
'

test_expect_success 'a blank primary never written while served is blank again when closed' '
	"$IMG" create --size 64M c.img >/dev/null &&
	serve c.img "mirror=iscsi://127.0.0.1:1/iqn.2026-11.org.lunlink:nowhere/1" &&
	test "$(field c.img blank)" = false &&
	unserve &&
	test "$(field c.img blank)" = true
'

# c.img written alone (it is no longer blank), then mirrored to a blank
# leg: four regions of 64 KiB hold data (one of them only 4 KiB of it),
# the rest of its 64 MiB is holes.
test_expect_success 'a copy written before it is mirrored' '
	"$IMG" create --size 64M --volume "$(field c.img volume)" d.img >/dev/null &&
	serve c.img &&
	head -c 65536 /dev/urandom >r0 && head -c 65536 /dev/urandom >r10 &&
	head -c 65536 /dev/urandom >r300 && head -c 4096 /dev/urandom >r400 &&
	"$IO" "$(url A 1 1)" write 0 r0 &&
	"$IO" "$(url A 1 1)" write 1280 r10 &&
	"$IO" "$(url A 1 1)" write 38400 r300 &&
	"$IO" "$(url A 1 1)" write 51208 r400 &&
	"$IO" "$(url A 1 1)" sync &&
	unserve &&
	test "$(field c.img blank)" = false
'

test_expect_success 'its full sync sends only its data; the holes are unmapped on the leg' '
	unexport_leg && export_leg "$TRASH/d.img" thin &&
	serve c.img "mirror=$(url B 1 1)" &&
	wait_for 30 leg_is up &&
	test "$(leg1 resync_data)" = $((4 * 65536)) &&
	test "$(leg1 resync_holes)" = $((67108864 - 4 * 65536)) &&
	test "$(data_sum c.img)" = "$(data_sum d.img)" &&
	test "$(allocated d.img)" -le $((4 * 65536 + 65536)) &&
	test "$(field d.img generation)" = "$(field c.img generation)"
'

test_expect_success 'a leg that cannot unmap gets the holes as zeros written' '
	unserve &&
	"$IMG" create --size 64M e.img >/dev/null &&
	unexport_leg && export_leg "$TRASH/e.img" &&
	serve c.img "mirror=$(url B 1 1)" &&
	wait_for 30 leg_is up &&
	test "$(leg1 resync_data)" = $((4 * 65536)) &&
	test "$(leg1 resync_holes)" = $((67108864 - 4 * 65536)) &&
	test "$(data_sum c.img)" = "$(data_sum e.img)" &&
	test "$(allocated e.img)" -ge 67108864 &&
	a_log_has "bytes of holes written as zeros)"
'

test_expect_success 'a primary whose superblock says blank but whose file holds data is not taken for blank' '
	unserve &&
	"$IMG" create --size 64M f.img >/dev/null &&
	"$IMG" create --size 64M --volume "$(field f.img volume)" g.img >/dev/null &&
	dd if=r0 of=f.img bs=1M seek=1 conv=notrunc 2>/dev/null &&
	test "$(field f.img blank)" = true &&
	unexport_leg && export_leg "$TRASH/g.img" thin &&
	serve f.img "mirror=$(url B 1 1)" &&
	wait_for 30 leg_is up &&
	test "$(leg1 resync_data)" = 65536 &&
	test "$(data_sum f.img)" = "$(data_sum g.img)" &&
	a_log_has "its superblock says blank, but its file holds data at offset 1048576"
'

test_expect_success 'tgtd A is alive' '
	tgtd_alive A
'

test_done
