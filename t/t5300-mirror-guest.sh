#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='a real Linux initiator (open-iscsi in a QEMU guest) keeps an ext4 file system on a mirrored LUN through the loss and return of its leg and a failing local disk, without an I/O error; each copy alone holds the file system'
. "$(dirname "$0")/test-lib.sh"
. "$T_DIR/lib-guest.sh"

test_have_prereq ROOT || skip_all "needs root (namespaces, tap devices)"
require_tgtd
command -v e2fsck >/dev/null && command -v debugfs >/dev/null ||
	skip_all "no e2fsck/debugfs (e2fsprogs) to check the copies"
guest_prepare || skip_all "$GUEST_SKIP"
IMG="$SRC_DIR/target/lunlink-image"

guest_watchdog 400

# The LUN: 64 MiB in 64 KiB regions.
MB=64
REGIONS=$((MB * 16))

# Both tgtds run in the guest's network namespace, with their portals on
# its host address: A (the primary) serves the mirrored LUN to the guest,
# B (the leg's node) exports its copy with stock tgt's rdwr store to A.
start_leg() {
	TGTD_PORT=${B_PORT:-} TGTD_NETNS=$G_NETNS TGTD_ADDR=$G_HOST_ADDR tgtd_start B &&
	target_new B 1 && lun_new B 1 1 "$TRASH/b.img" rdwr
}

# The guest's writer, started in the background: NAME files of 256 KiB of
# random bytes, each written with dd and fsync'd (conv=fsync), one after
# the other; after each, "SHA256 NAME" goes to /tmp/w.done (the file is on
# the LUN as durably as the initiator can ask), and "END STATUS" at the
# end.  A failed dd stops it with its error in /tmp/w.err.
WRITER='
i=0 rc=0
while [ $i -lt $1 ]; do
	i=$((i + 1))
	head -c 262144 /dev/urandom >/tmp/src &&
	dd if=/tmp/src of=/mnt/$2$i bs=64k conv=fsync 2>/tmp/w.err || { rc=1; break; }
	echo "$(sha256sum </tmp/src | cut -d" " -f1) $2$i" >>/tmp/w.done
done
echo "END $rc" >>/tmp/w.done
'
written() { guest_run G 5 'grep -vc "^END" /tmp/w.done'; }
written_at_least() { test "$(written)" -ge "$1"; }
writer_ended() { guest_run G 5 'grep "^END" /tmp/w.done'; }

# What a guest kernel logs when I/O fails or ext4 finds damage.
IO_ERRORS='I/O error|EXT4-fs (error|warning)|Buffer I/O|Aborting journal|Remounting|FAILED Result|rejecting I/O|timing out command|abort'

test_expect_success 'a 2-way mirrored LUN, its leg synced, and a guest logged in to it' '
	"$IMG" create --size ${MB}M a.img >/dev/null &&
	"$IMG" create --size ${MB}M b.img >/dev/null &&
	guest_net G &&
	start_leg &&
	TGTD_NETNS=$G_NETNS TGTD_ADDR=$G_HOST_ADDR tgtd_start A &&
	target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1)" &&
	wait_for 60 leg_is up &&
	guest_start G "$G_HOST_ADDR:$A_PORT" &&
	guest_run G 20 "i=0; until [ -b /dev/sda ] || [ \$i -ge 100 ]; do sleep 0.1; i=\$((i + 1)); done; [ -b /dev/sda ]"
'

test_expect_success 'the guest makes an ext4 file system on it and writes files, fsync each' '
	guest_run G 120 "/sbin/mke2fs -q -t ext4 /dev/sda && mkdir -p /mnt && mount -t ext4 /dev/sda /mnt" &&
	guest_run G 5 "cat >/tmp/writer.sh <<\"EOF\"
$WRITER
EOF" &&
	guest_run G 120 "sh /tmp/writer.sh 8 up && cat /tmp/w.done" >w1 &&
	cat w1 &&
	test "$(grep -c " up[0-9]*\$" w1)" = 8 && grep -qx "END 0" w1
'

test_expect_success 'kill -9 the leg while the guest writes: its writes go on, degraded, and none fails' '
	guest_run G 5 "rm -f /tmp/w.done; sh /tmp/writer.sh 60 w >/dev/null 2>&1 &" &&
	wait_for 60 written_at_least 5 &&
	kill -9 $B_PID && wait $B_PID 2>/dev/null
	B_PID= &&
	echo "the leg killed after $(written) files" &&
	wait_for 10 leg_is down &&
	test_grep "degraded: new generation" "$A_LOG" &&
	wait_for 60 written_at_least 30
'

test_expect_success 'the leg returns while the guest writes: the resync copies only what changed' '
	echo "the leg back after $(written) files" &&
	start_leg &&
	wait_for 120 writer_ended &&
	guest_run G 5 "cat /tmp/w.done" >w2 &&
	grep -x "END 0" w2 &&
	test "$(grep -c " w[0-9]*\$" w2)" = 60 &&
	wait_for 120 leg_is up &&
	join_log "$A_LOG" | sed -n "s/.*resync done: copied \([0-9]*\) bytes (\([0-9]*\) regions).*/\2/p" >resyncs &&
	cat resyncs &&
	test "$(sed -n 1p resyncs)" = $REGIONS &&
	last=$(sed -n \$p resyncs) && test "$(wc -l <resyncs)" -ge 2 &&
	echo "resynced $last of $REGIONS regions after the outage" &&
	test "$last" -gt 0 && test "$last" -lt $((REGIONS / 2))
'

test_expect_success 'with the local disk failing reads, the guest reads every file back right, from the leg, which repairs them' '
	guest_run G 30 "sync && echo 3 >/proc/sys/vm/drop_caches" &&
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params fault=read &&
	# the fault is lifted whatever the guest did, so that a failure here
	# is this step'"'"'s alone (the copy served alone later is not stale)
	{ guest_run G 120 "cd /mnt && sha256sum up* w*" >sums; read_rc=$?
	  tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params fault=none &&
	  test $read_rc = 0; } &&
	wait_for 30 stale_is 0 &&
	echo "regions repaired from the leg: $(local_field_in "$(status_file)" repaired)" &&
	test "$(local_field_in "$(status_file)" repaired)" -gt 0 &&
	cat w1 w2 | grep -v "^END" | sort -k2 >expected &&
	awk "{ print \$1, \$2 }" sums | sort -k2 >got &&
	test_cmp expected got &&
	n=$(join_log "$A_LOG" | grep -c "local read at offset [0-9]* failed (Input/output error); serving it from leg 1") &&
	echo "local reads served from the leg: $n" && test "$n" -gt 0
'

test_expect_success 'the guest unmounts cleanly and its kernel logged no I/O error' '
	guest_run G 60 "umount /mnt" &&
	guest_run G 5 dmesg >dmesg &&
	test_grep "EXT4-fs (sda): mounted" dmesg &&
	! grep -E "$IO_ERRORS" dmesg
'

# read_lun URL FILE: the whole LUN into FILE, 8 MiB per READ(16)
read_lun() {
	local blocks lba=0 n
	blocks=$("$IO" "$1" capacity | cut -d" " -f1) || return 1
	: >"$2"
	while [ $lba -lt "$blocks" ]; do
		n=$((blocks - lba)) && [ $n -le 16384 ] || n=16384
		"$IO" "$1" read $lba $n chunk && cat chunk >>"$2" || return 1
		lba=$((lba + n))
	done
}

# check_fs FILE: a clean ext4 holding every file of "expected" with its bytes
check_fs() {
	local sum name
	e2fsck -fn "$1" || return 1
	while read -r sum name; do
		test "$(debugfs -R "cat /$name" "$1" 2>/dev/null | sha256sum | cut -d" " -f1)" = "$sum" ||
			{ echo "$1: /$name differs" >&2; return 1; }
	done <expected
}

test_expect_success 'each copy, served alone as a lunlink LUN, holds the clean file system with every file' '
	guest_stop G &&
	tgtd_stop A && tgtd_stop B &&
	tgtd_start C && target_new C 1 &&
	lun_new C 1 1 "$TRASH/a.img" && lun_new C 1 2 "$TRASH/b.img" &&
	read_lun "$(url C 1 1)" copy-a && read_lun "$(url C 1 2)" copy-b &&
	tgtd_stop C &&
	test "$(stat -c %s copy-a)" = $((MB * 1048576)) &&
	check_fs copy-a && check_fs copy-b &&
	cmp copy-a copy-b
'

test_done
