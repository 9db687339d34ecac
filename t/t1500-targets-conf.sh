#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='targets.conf and tgt-admin bring up lunlink LUNs unchanged'

# tgt-admin runs each tgtadm command through the shell without quoting its
# values, so a bsopts value with more than one option (a ';' in it) must be
# in single quotes in targets.conf; doc/bs_lunlink.md says so.
. "$(dirname "$0")/test-lib.sh"

require_tgtd
command -v tgt-admin >/dev/null || skip_all "tgt-admin not installed (package tgt)"

cat >targets.conf <<EOF
<target $IQN_BASE:$TEST_NAME-1>
    <backing-store $TRASH/a.img>
        bs-type lunlink
        lun 1
    </backing-store>
    <backing-store $TRASH/b.img>
        bs-type lunlink
        bsopts 'io=threads;threads=2;thin=off'
        lun 2
    </backing-store>
    initiator-address ALL
</target>
EOF

test_expect_success 'two lunlink backing stores in targets.conf, and a tgtd' '
	truncate -s 32M a.img b.img &&
	tgtd_start A
'

test_expect_success 'tgt-admin -e creates them' '
	TGT_IPC_SOCKET="$A_DIR/socket" tgt-admin -e -C "$A_CTL" -c "$TRASH/targets.conf" &&
	tgtadm_on A --lld iscsi --op show --mode target >show &&
	test "$(grep -c "Backing store type: lunlink" show)" = 2
'

test_expect_success 'each with the options it was given' '
	test_grep "(.*a.img): serving through io_uring .*thin=on" "$A_LOG" &&
	test_grep "(.*b.img): serving through 2 worker threads (io=threads;threads=2;queue_depth=256;thin=off)" "$A_LOG"
'

test_expect_success 'both serve data' '
	head -c 65536 /dev/urandom >data &&
	for lun in 1 2; do
		"$IO" "$(url A 1 $lun)" write 0 data &&
		"$IO" "$(url A 1 $lun)" read 0 128 back && test_cmp data back || return 1
	done
'

test_expect_success 'a bad bsopts in targets.conf fails tgt-admin, and the log says why' '
	truncate -s 32M c.img &&
	cat >bad.conf <<-EOF
	<target $IQN_BASE:$TEST_NAME-2>
	    <backing-store $TRASH/c.img>
	        bs-type lunlink
	        bsopts "io=fast"
	    </backing-store>
	</target>
	EOF
	test_must_fail env TGT_IPC_SOCKET="$A_DIR/socket" tgt-admin -e -C "$A_CTL" -c "$TRASH/bad.conf" &&
	test_grep "bsopts: io=.fast. is not an I/O path (auto, uring or threads)" "$A_LOG"
'

test_done
