#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='lunlink images: the data behind the superblock is the LUN, a damaged superblock refuses it'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"
[ -x "$IMG" ] || skip_all "target/lunlink-image not built (run make)"

field() { "$IMG" show --json "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }

test_expect_success 'lunlink-image create lays out an image' '
	"$IMG" create --size 32M a.img >out &&
	test_grep "32M\|33554432 bytes of data at offset 1048576" out &&
	test "$(stat -c %s a.img)" = $((1048576 + 33554432)) &&
	"$IMG" check a.img &&
	test "$(field a.img data_size)" = 33554432
'

test_expect_success 'lunlink-image refuses what it should, by name' '
	test_must_fail "$IMG" create --size 32M a.img 2>err &&
	test_grep "a.img exists; use --force" err &&
	test_must_fail "$IMG" create b.img 2>err &&
	test_grep "size is required" err &&
	test_must_fail "$IMG" create --size 1000 b.img 2>err &&
	test_grep "not a positive multiple of 512" err &&
	test_must_fail "$IMG" create --size 1G --region-size 3000 b.img 2>err &&
	test_grep "region size 3000 is not a power of two" err &&
	truncate -s 1M raw.img && { "$IMG" check raw.img; test $? = 1; }
'

# A block device: a loop device over a file full of old bytes.
losetup -f >/dev/null 2>&1 && test_set_prereq LOOP
test_expect_success LOOP 'a block device that is not blank is refused; with --force the map and the log are zeros' '
	truncate -s 64M dev.img &&
	head -c 65536 /dev/urandom >junk &&
	dd if=junk of=dev.img conv=notrunc 2>/dev/null &&
	LOOPDEV=$(losetup -f --show dev.img) && test_atexit "losetup -d $LOOPDEV" &&
	test_must_fail "$IMG" create --size 32M "$LOOPDEV" 2>err &&
	test_grep "block device $LOOPDEV is not blank (its first 4 KiB hold data: a file system?); use --force to overwrite it" err &&
	"$IMG" create --force --size 32M "$LOOPDEV" >out &&
	"$IMG" check "$LOOPDEV" &&
	test_must_fail "$IMG" create --size 32M "$LOOPDEV" 2>err &&
	test_grep "block device $LOOPDEV holds a lunlink image (volume $(field "$LOOPDEV" volume)); use --force" err &&
	head -c 40960 /dev/zero >zeros &&
	dd if="$LOOPDEV" bs=4096 skip=1 count=10 2>/dev/null >meta &&
	test_cmp zeros meta
'

test_expect_success LOOP 'a device create can discard is blank: its old data reads as zeros' '
	dd if=junk of=dev.img bs=1M seek=2 conv=notrunc 2>/dev/null &&
	"$IMG" create --force --size 32M "$LOOPDEV" >out &&
	test_grep ", blank\$" out &&
	test "$(field "$LOOPDEV" blank)" = true &&
	head -c 65536 /dev/zero >zeros &&
	dd if="$LOOPDEV" bs=1M skip=2 count=1 2>/dev/null | head -c 65536 >now &&
	test_cmp zeros now
'

test_expect_success 'a new file is blank; --volume names the volume of another copy' '
	test "$(field a.img blank)" = true &&
	"$IMG" create --size 32M --volume "$(field a.img volume)" same.img >out &&
	test "$(field same.img volume)" = "$(field a.img volume)" &&
	test "$(field same.img copy)" != "$(field a.img copy)" &&
	test_must_fail "$IMG" create --size 32M --volume 12ab other.img 2>err &&
	test_grep "12ab is not a volume id (32 hex digits" err &&
	! test -e other.img
'

# A file system whose largest file is small: ext2 with 1 KiB blocks takes
# files up to about 16 GiB (its indirect blocks), on a loop device.
command -v mkfs.ext2 >/dev/null 2>&1 && test_have_prereq LOOP && test_have_prereq ROOT &&
	test_set_prereq SMALLFS
test_expect_success SMALLFS 'an image larger than the file system takes: refused by name, nothing left behind' '
	truncate -s 16M small.fs && mkfs.ext2 -q -b 1024 -F small.fs &&
	mkdir mnt && mount -o loop small.fs mnt && test_atexit "umount $TRASH/mnt" &&
	test_must_fail "$IMG" create --size 20G mnt/big.img 2>err &&
	test_grep "mnt/big.img: the image needs a file of 21475885056 bytes" err &&
	test_grep "the largest file this file system (ext2) takes is [0-9]* bytes (about 16" err &&
	test_grep "nothing was created or changed. Give a --size of at most [0-9]*" err &&
	test_grep "on a file system that takes larger files" err &&
	! test -e mnt/big.img &&
	size=$(sed -n "s/.*--size of at most \([0-9]*\) .*/\1/p" err) &&
	"$IMG" create --size "$size" mnt/fits.img >out &&
	"$IMG" check mnt/fits.img
'

test_expect_success SMALLFS 'create --force of an existing file that cannot fit leaves it as it was' '
	echo "old contents" >mnt/old.img && cp mnt/old.img old.copy &&
	test_must_fail "$IMG" create --force --size 20G mnt/old.img 2>err &&
	test_grep "the largest file this file system (ext2) takes" err &&
	test_cmp old.copy mnt/old.img
'

test_expect_success 'over the process'"'"'s file size limit (ulimit -f): said, nothing left behind' '
	test_must_fail sh -c "ulimit -f 1024 && exec \"$IMG\" create --size 32M limited.img" 2>err &&
	test_grep "this process may write files of at most [0-9]* bytes (.*ulimit -f, RLIMIT_FSIZE)" err &&
	test_grep "raise the limit" err &&
	! test -e limited.img
'

test_expect_success 'show: --json after FILE, a path JSON must escape, --help' '
	"$IMG" create --size 32M "q\"b\\.img" >/dev/null &&
	"$IMG" show "q\"b\\.img" --json >json &&
	test "$(jq -r .path json)" = "q\"b\\.img" &&
	test "$(jq -r .state json)" = fresh &&
	"$IMG" show --help >out && test_grep "usage: lunlink-image create" out &&
	test_must_fail "$IMG" show a.img b.img 2>err &&
	test_grep "name one FILE (a.img and b.img?)" err
'

test_expect_success 'a LUN on it has the data size, not the file size' '
	tgtd_start A &&
	target_new A 1 && lun_new A 1 1 "$TRASH/a.img" &&
	test_grep "lunlink image: volume $(field a.img volume)" "$A_LOG" &&
	"$IO" "$(url A 1 1)" capacity >cap && echo "65536 512" >expect && test_cmp expect cap
'

test_expect_success 'data lands behind the superblock, which stays intact' '
	head -c 1048576 /dev/urandom >data &&
	"$IO" "$(url A 1 1)" write 0 data &&
	"$IO" "$(url A 1 1)" write 63488 data &&
	"$IO" "$(url A 1 1)" sync &&
	dd if=a.img of=at0 bs=512 skip=$(data_lba a.img) count=2048 2>/dev/null && test_cmp data at0 &&
	"$IO" "$(url A 1 1)" read 63488 2048 end && test_cmp data end &&
	"$IMG" check a.img &&
	test "$(field a.img blank)" = false
'

test_expect_success 'WRITE AND VERIFY reads back from data coordinates' '
	head -c 65536 /dev/urandom >wv &&
	"$IO" "$(url A 1 1)" write 4096 wv verify &&
	dd if=a.img bs=512 skip=$(($(data_lba a.img) + 4096)) count=128 2>/dev/null >atwv && test_cmp wv atwv
'

test_expect_success 'UNMAP and GET LBA STATUS work in data coordinates' '
	"$IO" "$(url A 1 1)" unmap 0 2048 &&
	"$IO" "$(url A 1 1)" read 0 2048 z && head -c 1048576 /dev/zero >zeros && test_cmp zeros z &&
	"$IMG" check a.img
'

test_expect_success 'resize=SIZE grows the data and the superblock' '
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params resize=48M &&
	test "$(field a.img data_size)" = 50331648 &&
	"$IO" "$(url A 1 1)" capacity >cap && echo "98304 512" >expect && test_cmp expect cap &&
	"$IO" "$(url A 1 1)" read 63488 2048 end2 && test_cmp data end2
'

test_expect_success 'resize=reread is refused on a lunlink image, with the way out' '
	test_must_fail tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 \
		--params resize=reread &&
	test_grep "size is in its superblock; use resize=SIZE" "$A_LOG"
'

test_expect_success 'growing past the maximum is refused' '
	"$IMG" create --size 8M --max-size 16M small.img &&
	lun_new A 1 2 "$TRASH/small.img" &&
	test_must_fail tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 2 \
		--params resize=32M &&
	test_grep "resize=33554432 refused: the image can grow to 16777216 bytes" "$A_LOG"
'

test_expect_success 'a damaged superblock refuses the LUN instead of serving metadata as data' '
	"$IMG" create --size 8M bad.img &&
	printf "\377" | dd of=bad.img bs=1 seek=200 conv=notrunc 2>/dev/null &&
	test_must_fail lun_new A 1 3 "$TRASH/bad.img" &&
	test_grep "refused: lunlink superblock is damaged (checksum" "$A_LOG" &&
	test_must_fail "$IMG" check bad.img
'

test_expect_success 'a truncated image is refused, and says so' '
	"$IMG" create --size 8M cut.img &&
	truncate -s 4M cut.img &&
	test_must_fail lun_new A 1 3 "$TRASH/cut.img" &&
	test_grep "the image is 4194304 bytes, but its data ends at 9437184 .*truncated?" "$A_LOG"
'

test_expect_success 'tgtd is alive' '
	tgtd_alive A
'

test_done
