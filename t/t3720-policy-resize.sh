#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='growing a doubled volume online in a three-node cluster: lunlinkctl volume
resize grows the leg first (its raw LUN, through the module), then the primary, whose
mirror asks the leg and writes the new superblock to it; a connected initiator gets
UNIT ATTENTION 2A/09 and the new capacity; data written past the old end is on both
copies, the old data intact, the copies equal; shrinking, and growing past what the
images were made for, are refused, saying so'
. "$(dirname "$0")/test-lib.sh"
. "$SRC_DIR/t/lib-cluster.sh"

require_tgtd
test_have_prereq ROOT || skip_all "needs root (network namespaces)"
N=3
API_PORT=7720
JOIN_PORT=7721
MGR_AGENT=1	# node 1's agent is the manager's daemon
. "$SRC_DIR/t/lib-policy-cluster.sh"
policy_cluster_prereqs
command -v iscsi-readcapacity16 >/dev/null ||
	skip_all "iscsi-readcapacity16 not installed (libiscsi-bin)"

OLD=16777216	# 16M
NEW=50331648	# 48M
IMG="$SRC_DIR/target/lunlink-image"

# the volume has grown: ready, its new size, no resize under way
grown() {
	ctl --json volume show d1 >grown.json &&
	test "$(jq -r '.state + " " + (.size | tostring) + " " + (.resize == null | tostring)' \
		grown.json)" = "ready $NEW true"
}
# IMAGE's data size, as its superblock says
data_size() { "$IMG" show --json "$1" | jq -r .data_size; }

test_expect_success 'three nodes, their agents joined, their areas in the pool' '
	policy_cluster_up &&
	test "$(ctl --json area list | jq ".areas | length")" = 3
'

test_expect_success 'a doubled volume, lent to an initiator that wrote to it; its copies agree' '
	ctl volume create d1 --way doubled --size 16M &&
	wait_for 60 vol_is d1 ready &&
	ctl lend d1 --to $CLIENT &&
	url=$(lent_url d1) &&
	wait_for 30 "$IO" "$url" capacity &&
	head -c 1048576 /dev/urandom >old &&
	"$IO" "$url" write 2000 old && "$IO" "$url" sync &&
	wait_for 60 legs_up d1 &&
	ctl --json volume show d1 >d1.json &&
	primary=$(jq -r ".parts[] | select(.role == \"primary\") | .path" d1.json) &&
	leg=$(jq -r ".parts[] | select(.role == \"leg\") | .path" d1.json) &&
	test -n "$primary" && test -n "$leg" && test "$primary" != "$leg" &&
	for p in "$primary" "$leg"; do
		data_of 2000 2048 "$p" >copy && test_cmp old copy || return 1
	done
'

test_expect_success 'shrinking is refused, naming why; nothing changes' '
	test_must_fail ctl volume resize d1 --size 8M 2>err &&
	cat err && grep "volume d1 is 16M; 8M is smaller, and volumes only grow" err &&
	test "$(ctl --json volume show d1 | jq -r ".size, .resize")" = "$OLD
null"
'

test_expect_success 'growing past what the images were made for, or past an area, is refused by name' '
	test_must_fail ctl volume resize d1 --size 17G 2>err &&
	cat err && grep "image on node n[0-9] was made to grow to at most 16G" err &&
	test_must_fail ctl volume resize d1 --size 1G 2>err &&
	cat err && grep "needs 1008M more in its area" err &&
	test "$(ctl --json volume show d1 | jq -r ".size, .resize")" = "$OLD
null"
'

# an initiator logged in to the volume, its unit attentions cleared,
# waiting for a line on fd 7 before its next command (TEST UNIT READY)
start_waiter() {
	mkfifo go || return 1
	"$IO" "$url" await-ua <go >ua.out 2>&1 &
	waiter=$!
	# a step failing before "go" must not leave it waiting
	test_atexit "kill $waiter 2>/dev/null"
	exec 7>go &&
	wait_for 10 grep -q ready ua.out
}

test_expect_success 'an initiator logged in, its unit attentions cleared, waits' '
	start_waiter
'

test_expect_success 'the volume grows online: the leg first, then the primary' '
	ctl volume resize d1 --size 48M >out && cat out &&
	wait_for 60 grown &&
	test "$(data_size "$primary")" = $NEW &&
	test "$(stat -c %s "$leg")" -ge $(( $("$IMG" show --json "$leg" | jq -r .data_offset) + NEW )) &&
	grep -q "is growing volume d1 from 16M to 48M" mgr.log &&
	grep -q "volume d1 is $NEW bytes now" mgr.log
'

test_expect_success 'the waiting initiator gets UNIT ATTENTION 2A/09 and the new capacity' '
	echo go >&7 && exec 7>&- &&
	wait $waiter &&
	printf "ua 6/2a/09\n98304 512\n" >expect &&
	grep -v ready ua.out >got && test_cmp expect got
'

test_expect_success 'READ CAPACITY (iscsi-readcapacity16) shows the new size' '
	iscsi-readcapacity16 -s -i $CLIENT "$url" >cap &&
	echo $NEW >expect && test_cmp expect cap
'

test_expect_success 'data written past the old end is on both copies; the old data intact' '
	head -c 1048576 /dev/urandom >new &&
	"$IO" "$url" write 60000 new && "$IO" "$url" sync &&
	"$IO" "$url" read 60000 2048 back && test_cmp new back &&
	"$IO" "$url" read 2000 2048 back && test_cmp old back &&
	wait_for 60 legs_up d1 &&
	for p in "$primary" "$leg"; do
		data_of 60000 2048 "$p" >copy && test_cmp new copy &&
		data_of 2000 2048 "$p" >copy && test_cmp old copy || return 1
	done &&
	data_of 0 $((NEW / 512)) "$primary" >whole1 &&
	data_of 0 $((NEW / 512)) "$leg" >whole2 &&
	test "$(stat -c %s whole1)" = $NEW && cmp whole1 whole2
'

test_expect_success 'the leg holds the new superblock, written by the primary' '
	test "$(data_size "$leg")" = $NEW
'

test_expect_success 'growing again works the same; the same size again changes nothing' '
	ctl volume resize d1 --size 64M &&
	NEW=67108864 && wait_for 60 grown &&
	iscsi-readcapacity16 -s -i $CLIENT "$url" >cap &&
	echo $NEW >expect && test_cmp expect cap &&
	ctl --json volume resize d1 --size 64M >same.json &&
	test "$(jq -r ".size, .resize" same.json)" = "$NEW
null"
'

# the first revision at which a desired d1 LUN whose bsopts match $1 was
# to be 48M, from the events
grown_at() {
	jq --arg re "$1" "[.events[] | select((.key | test(\"desired/.*/d1\$\")) and
		((.value.lun.bsopts // \"\") | test(\$re)) and
		.value.lun.size == 50331648) | .revision] | min" events.json
}

test_expect_success 'the events show the leg told to grow before the primary' '
	ctl --json events --since 0 >events.json &&
	leg_rev=$(grown_at "raw=on") && primary_rev=$(grown_at "mirror=") &&
	echo "leg at $leg_rev, primary at $primary_rev" &&
	test "$leg_rev" != null && test "$primary_rev" != null &&
	test "$leg_rev" -lt "$primary_rev"
'

test_done
