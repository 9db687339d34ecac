#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the patched tgtd tells initiators of added and removed LUNs with an iSCSI Async Message'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
PATCHED="$SRC_DIR/build/tgt/usr/tgtd"
[ -x "$PATCHED" ] || skip_all "the patched tgtd is not built (run make tgtd)"
command -v tshark >/dev/null || skip_all "tshark not installed (run make setup)"

# capture_start NAME: record NAME's iSCSI traffic on lo from now on
capture_start() {
	local port
	eval "port=\$${1}_PORT"
	tshark -i lo -f "tcp port $port" -w "$TRASH/$1.pcap" -q >"$TRASH/$1.tshark" 2>&1 &
	eval "capture_$1=$!"
	wait_for 10 grep -q "Capturing on" "$TRASH/$1.tshark" &&
	sleep 0.5	# it says so a moment before it captures
}

# capture_stop NAME: stop it, and list its Async Messages, one a line:
# "opcode asyncevent sense-key asc ascq lun"
capture_stop() {
	local pid port
	eval "pid=\$capture_$1 port=\$${1}_PORT"
	sleep 0.5
	kill -INT "$pid" && wait "$pid"
	tshark -r "$TRASH/$1.pcap" -d "tcp.port==$port,iscsi" -Y "iscsi.opcode == 0x32" \
		-T fields -e iscsi.opcode -e iscsi.asyncevent -e scsi.sns.key \
		-e scsi.sns.asc -e scsi.sns.ascq -e scsi.lun -E occurrence=f \
		>"$TRASH/$1.async" 2>/dev/null
}

lun() {
	tgtadm_on P --lld iscsi --mode logicalunit --op "$1" --tid 1 --lun "$2" \
		${3:+--backing-store "$TRASH/$3" --bstype lunlink}
}

sent_count() { grep -c "Async Message REPORTED LUNS DATA HAS CHANGED" "$P_LOG"; }
sent_at_least() { test "$(sent_count)" -ge "$1"; }

test_expect_success 'a patched tgtd with a lunlink LUN, captured on the wire' '
	truncate -s 16M 1.img 2.img 3.img 4.img 5.img 6.img 7.img &&
	TGTD="$PATCHED" tgtd_start P &&
	target_new P 1 && lun new 1 1.img &&
	capture_start P
'

# (a command list that ends in & runs wholly in the background: the
# background commands below stand alone)
test_expect_success 'an idle initiator logged in' '
	mkfifo go || return 1
	"$IO" "$(url P 1 1)" await-ua <go >waiter.out 2>&1 &
	waiter=$! &&
	exec 7>go &&
	wait_for 10 grep -q ready waiter.out
'

test_expect_success 'adding a LUN sends one Async Message to the session' '
	lun new 2 2.img &&
	wait_for 5 sent_at_least 1 &&
	test_grep "LUN 2) sent to 1 session(s)" "$P_LOG"
'

test_expect_success 'a burst of five adds sends one more, not five' '
	for n in 3 4 5 6 7; do lun new $n $n.img || return 1; done &&
	wait_for 5 sent_at_least 2 &&
	sleep 1 && test "$(sent_count)" -eq 2 &&
	test_grep "LUN 3) sent to 1 session(s)" "$P_LOG"
'

test_expect_success 'removing a LUN sends one too' '
	lun delete 7 &&
	wait_for 5 sent_at_least 3
'

test_expect_success 'the waiting initiator still gets the unit attention with its next command' '
	echo go >&7 && exec 7>&- && wait $waiter &&
	test_grep "^ua 6/3f/0e" waiter.out
'

test_expect_success 'tshark decodes them: opcode 0x32, AsyncEvent 0, sense 6/3F/0E, the LUN' '
	capture_stop P &&
	cat P.async &&
	test "$(wc -l <P.async)" -eq 3 &&
	for l in 2 3 7; do
		printf "0x32\t0x00\t0x06\t0x3f\t0x0e\t0x%04x\n" $l
	done >expect &&
	test_cmp expect P.async
'

# A client keeps writing and reading back on one session while LUNs come and
# go, so Async Messages (and unit attentions) arrive between its commands.
churn() {
	for i in 1 2 3 4 5; do
		lun new 7 7.img && sleep 0.1 && lun delete 7 && sleep 0.1 || return 1
	done
}

told_count() { grep -c "sent to 1 session(s)" "$P_LOG"; }

# the header digest the target accepted at login, from the capture
login_digest() {
	tshark -r "$TRASH/P.pcap" -d "tcp.port==$P_PORT,iscsi" -Y "iscsi.opcode == 0x23" \
		-T fields -e iscsi.keyvalue 2>/dev/null |
		tr ",\t" "\n\n" | sed -n "s/^HeaderDigest=//p" | head -n 1
}

for digest in None CRC32C; do
test_expect_success "a client's stream of commands is unharmed by Async Messages (header digest $digest)" '
	tgtadm_on P --lld iscsi --mode target --op update --tid 1 \
		--name HeaderDigest --value '$digest' &&
	before=$(told_count) &&
	capture_start P || return 1
	ISCSI_IO_DIGEST=$(echo '$digest' | tr A-Z a-z) \
		"$IO" "$(url P 1 1)" stream 30000 >stream.out 2>stream.err &
	client=$! &&
	wait_for 10 grep -q ^acked stream.out &&
	churn &&
	wait $client &&
	test "$(grep -c ^acked stream.out)" -eq 30000 &&
	grep "^unit-attentions" stream.out &&
	told=$(( $(told_count) - before )) && echo "Async Messages during the stream: $told" &&
	test $told -ge 5 &&
	capture_stop P &&
	echo "header digest at login: $(login_digest)" &&
	test "$(login_digest)" = '$digest'
'
done

# Every write the client saw acknowledged must be in the image, whatever
# the removal did to the rest of the stream.
acked_in_image() {
	grep ^acked "$1" | while read -r _ lba byte; do
		dd if="$2" bs=512 skip="$lba" count=1 2>/dev/null | od -An -tu1 -v |
			tr -s " \n" "\n\n" | grep -v "^$" | sort -u >got &&
		echo "$byte" >want &&
		cmp -s want got || { echo "block $lba: not the acknowledged $byte"; return 1; }
	done
}

test_expect_success 'removing a LUN during I/O neither crashes tgtd nor loses acknowledged writes' '
	truncate -s 16M 8.img && lun new 8 8.img || return 1
	"$IO" "$(url P 1 8)" stream 20000 >rm.out 2>rm.err &
	client=$! &&
	wait_for 10 grep -q ^acked rm.out &&
	tries=0 &&
	until lun delete 8 2>>rm.tgtadm; do
		tries=$((tries + 1)) && test $tries -lt 200 || return 1
		sleep 0.01
	done &&
	echo "deleted after $tries refusals: $(sort -u rm.tgtadm)" &&
	{ wait $client; echo "client exit $?"; } &&
	tgtd_alive P &&
	echo "acknowledged before the removal: $(grep -c ^acked rm.out)" &&
	acked_in_image rm.out 8.img
'

test_expect_success 'the patched tgtd is alive' '
	tgtd_alive P
'

test_expect_success 'a stock tgtd says once that it cannot send Async Messages' '
	tgtd_start S &&
	target_new S 1 &&
	tgtadm_on S --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 \
		--backing-store "$TRASH/1.img" --bstype lunlink &&
	tgtadm_on S --lld iscsi --mode logicalunit --op new --tid 1 --lun 2 \
		--backing-store "$TRASH/2.img" --bstype lunlink &&
	test "$(grep -c "cannot send iSCSI Async Messages" "$S_LOG")" -eq 1 &&
	! grep -q "Async Message REPORTED" "$S_LOG"
'

test_done
