#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='mirrored LUNs when the link to a leg is cut (no reset, no answer): writes stall at most leg_timeout, go on degraded, and the leg resyncs what it missed once the link is back'
. "$(dirname "$0")/test-lib.sh"

test_have_prereq ROOT || skip_all "needs root (a network namespace and a veth pair)"
require_tgtd
command -v ip >/dev/null || skip_all "no ip (iproute2)"
IMG="$SRC_DIR/target/lunlink-image"

# The leg's node B lives in a network namespace behind a veth pair:
# 10.79.0.1 on this side, 10.79.0.2 on B's.  Cutting the link is taking
# B's end down: A's packets are dropped without a word, as when a switch
# port, a cable or a whole node goes; nothing resets the connection.
NS=lunlink-$TEST_NAME-$$
VA=llc-a$$ VB=llc-b$$
test_atexit "ip link del $VA 2>/dev/null; ip netns del $NS 2>/dev/null"
ip netns add "$NS" &&
ip link add "$VA" type veth peer name "$VB" &&
ip link set "$VB" netns "$NS" &&
ip addr add 10.79.0.1/24 dev "$VA" && ip link set "$VA" up &&
ip -n "$NS" addr add 10.79.0.2/24 dev "$VB" && ip -n "$NS" link set "$VB" up &&
ip -n "$NS" link set lo up || skip_all "cannot make a network namespace with a veth pair"

TIMEOUT=3
cut_link() { ip -n "$NS" link set "$VB" down; }
mend_link() { ip -n "$NS" link set "$VB" up; }

test_expect_success 'a mirrored LUN whose leg is behind a veth pair, leg_timeout=3' '
	"$IMG" create --size 32M a.img >/dev/null &&
	"$IMG" create --size 32M b.img >/dev/null &&
	TGTD_NETNS=$NS TGTD_ADDR=10.79.0.2 tgtd_start B &&
	target_new B 1 && lun_new B 1 1 "$TRASH/b.img" rdwr &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);leg_timeout=$TIMEOUT" &&
	wait_for 30 leg_is up &&
	leg1_is joined full && leg1_is resyncs 1 && leg1_is resync_regions 512 &&
	lun_field_is "$(status_file)" bitmap_generation 0000000000000000
'

test_expect_success 'the link cut in the middle of a stream of writes: they stall, then go on degraded, none lost' '
	"$IO" "$(url A 1 1)" stream 4000 20000 >acked 2>acked.err &
	client=$!
	wait_for 20 acked_at_least acked 1000 &&
	cut_link && t0=$(date +%s) &&
	echo "link cut after $(grep -c ^acked acked) writes" &&
	wait_for 60 sh -c "! kill -0 $client" &&
	wait $client &&
	t1=$(date +%s) &&
	echo "the stream ended $((t1 - t0)) s after the cut" &&
	test "$(grep -c ^acked acked)" = 4000 &&
	test $((t1 - t0)) -le $((TIMEOUT + 15)) &&
	a_log_has "dropped: a write timed out after leg_timeout=$TIMEOUT s" &&
	wait_for 3 leg_not_up && leg1_is drops 1 &&
	! lun_field_is "$(status_file)" bitmap_generation 0000000000000000 &&
	! lun_field_is "$(status_file)" generation "$(lun_field "$(status_file)" bitmap_generation)"
'

test_expect_success 'while the link is down, reconnects fail with the reason, and the LUN goes on' '
	head -c 4096 /dev/urandom >x &&
	"$IO" "$(url A 1 1)" write 60000 x &&
	wait_for 20 a_log_has "leg 1 ($(url B 1 1)): cannot connect: " &&
	join_log "$A_LOG" | grep "leg 1 ($(url B 1 1)): cannot connect: " | sed "s/.*cannot connect: //" | sort | uniq -c &&
	wait_for 3 leg_is down &&
	grep "^leg 1 .* state=down .*error=\"..*\"" "$(status_file)"
'

test_expect_success 'the link mended: the leg reconnects and gets only what it missed' '
	mend_link &&
	wait_for 60 leg_is up &&
	leg1_is resyncs 2 && leg1_is joined map &&
	last=$(( $(leg1 resync_bytes) >> 16 )) && leg1_is resync_regions $last &&
	echo "resynced $last regions after the cut (the stream covered 32, all taken without a flush, so all marked again; the write 1)" &&
	test "$last" -ge 1 && test "$last" -le 33
'

test_expect_success 'each copy alone holds every acknowledged write' '
	check_alone acked 0 "" "$TRASH/a.img" "$TRASH/b.img" &&
	"$IO" "$(url A 1 1)" read 60000 8 back && test_cmp x back
'

# A portal that takes the TCP connection and never says a word (a hung
# tgtd, a half-dead node): the attempt must not wait for TCP's own limits.
port=$(free_port)
test_expect_success 'a leg whose portal accepts but never answers: each attempt gives up after leg_timeout' '
	perl -MIO::Socket::INET -e "my \$s = IO::Socket::INET->new(Listen => 4, LocalAddr => q(127.0.0.1:$port), ReuseAddr => 1) or die; sleep 30" &
	mute=$!
	test_atexit "kill $mute 2>/dev/null" &&
	"$IMG" create --size 16M c.img >/dev/null &&
	lun_new A 1 2 "$TRASH/c.img" lunlink "mirror=iscsi://127.0.0.1:$port/$IQN_BASE:mute/1;leg_timeout=$TIMEOUT" &&
	wait_for 15 a_log_has "(iscsi://127.0.0.1:$port/$IQN_BASE:mute/1): cannot connect: its portal took the connection but did not answer the login within leg_timeout=$TIMEOUT s" &&
	head -c 4096 /dev/urandom >y &&
	"$IO" "$(url A 1 2)" write 8 y &&
	"$IO" "$(url A 1 2)" read 8 8 back && test_cmp y back &&
	kill $mute
'

# An address on the veth'"'"'s subnet whose frames go nowhere (a static
# neighbour entry to a MAC nobody has): its SYNs get no answer at all,
# which TCP alone would wait out for minutes.
test_expect_success 'a leg whose address never answers a connect: each attempt gives up after leg_timeout' '
	ip neigh replace 10.79.0.9 lladdr 02:00:00:00:79:09 dev "$VA" nud permanent &&
	"$IMG" create --size 16M d.img >/dev/null &&
	lun_new A 1 3 "$TRASH/d.img" lunlink "mirror=iscsi://10.79.0.9:3260/$IQN_BASE:void/1;leg_timeout=$TIMEOUT" &&
	wait_for 15 a_log_has "(iscsi://10.79.0.9:3260/$IQN_BASE:void/1): cannot connect: no answer from its portal within leg_timeout=$TIMEOUT s" &&
	"$IO" "$(url A 1 3)" write 8 y &&
	"$IO" "$(url A 1 3)" read 8 8 back && test_cmp y back
'

test_done
