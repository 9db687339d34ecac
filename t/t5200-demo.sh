#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='README'"'"'s first command: make demo, fail the leg, write, restore it, stop'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

# The demo script itself (make demo runs it after building), with its state
# and images here instead of /run and /var/lib.
DEMO="$SRC_DIR/target/tools/lunlink-demo.sh"
export LUNLINK_DEMO_DIR="$TRASH/state" LUNLINK_DEMO_IMAGES="$TRASH/images" LUNLINK_DEMO_SIZE=64M
test_atexit 'sh "$DEMO" stop >/dev/null 2>&1'

demo_url() { sed -n 's/^ *iSCSI URL : //p' start.out; }
leg_is() { sh "$DEMO" status 2>/dev/null | grep -q "^leg 1 .* state=$1"; }

test_expect_success 'make demo: a mirrored LUN on loopback, the leg synced, the URL printed' '
	sh "$DEMO" start >start.out &&
	cat start.out &&
	grep -q "^lunlink demo: a 2-way mirrored LUN on loopback" start.out &&
	test -n "$(demo_url)" &&
	"$IO" "$(demo_url)" capacity >cap && echo "131072 512" >expect && test_cmp expect cap &&
	leg_is up
'

test_expect_success 'a second start says it is running' '
	sh "$DEMO" start >again.out &&
	grep -q "already running" again.out
'

test_expect_success 'demo-fail-leg: the LUN goes on, degraded' '
	sh "$DEMO" fail-leg >fail.out && cat fail.out &&
	head -c 65536 /dev/urandom >data &&
	"$IO" "$(demo_url)" write 2048 data &&
	wait_for 10 leg_is down
'

test_expect_success 'demo-restore-leg: the resync copies only the region written meanwhile' '
	sh "$DEMO" restore-leg >restore.out && cat restore.out &&
	wait_for 60 leg_is up &&
	log=$(sed -n "s/^ *log *: //p" start.out) &&
	test_grep "resync done: copied 65536 bytes (1 regions)" "$log" &&
	off=$("$SRC_DIR/target/lunlink-image" show --json images/leg.img |
		sed -n "s/.*\"data_offset\":\([0-9]*\).*/\1/p") &&
	dd if=images/leg.img bs=512 skip=$((off / 512 + 2048)) count=128 2>/dev/null >inleg &&
	test_cmp data inleg
'

test_expect_success 'demo-stop stops both tgtd and keeps the images' '
	sh "$DEMO" stop >stop.out && cat stop.out &&
	grep -q "stopped the primary" stop.out &&
	test_must_fail sh "$DEMO" status &&
	test -s images/primary.img && test -s images/leg.img
'

test_done
