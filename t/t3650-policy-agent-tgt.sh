#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the node agent reconciles a real tgtd with a desired state: makes images, targets and LUNs, does nothing when converged, recreates all after a restart, leaves foreign targets alone, enforces ACLs, names a failed action'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
test -x "$T_DIR/helpers/agent-tool" || skip_all "t/helpers/agent-tool not built (make policy)"
test_have_prereq IO || skip_all "t/helpers/iscsi-io not built (make)"

TOOL="$T_DIR/helpers/agent-tool"
IMAGE_TOOL="$SRC_DIR/target/lunlink-image"
P=iqn.2026-11.org.lunlink.cluster
HOST=iqn.2026-11.org.example:host1
VOL_ID=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
OTHER_ID=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

# agent PLAN|APPLY FILE: agent-tool against tgtd A, area $TRASH/area
agent() {
	"$TOOL" -C "$A_CTL" --socket "$A_DIR/socket" --tgtadm "$TGTADM" \
		--lunlink-image "$IMAGE_TOOL" --area "$TRASH/area=1073741824" \
		--record "$TRASH/record.json" "$@"
}

# desired FILE DB_OPTS [EXTRA_VOLUME_JSON]: two volumes, "db" (a lunlink
# image made by the agent, a lunlink LUN open to $HOST) and "scratch" (a
# raw file the test made, an rdwr LUN open to all)
desired() {
	cat >"$1" <<-JSON
	{"revision": 7, "volumes": {
	  "db": {"images": [{"area": "0000000000000009", "path": "$TRASH/area/db.img",
	                     "size": 67108864, "volume_id": "$VOL_ID"}],
	         "lun": {"iqn": "$P:db", "lun": 1, "path": "$TRASH/area/db.img",
	                 "bstype": "lunlink", "bsopts": "$2", "acl": ["$HOST"]}},
	  "scratch": {"images": [],
	              "lun": {"iqn": "$P:scratch", "tid": 4, "lun": 1, "path": "$TRASH/scratch.raw",
	                      "bstype": "rdwr", "acl": ["ALL"]}}${3:+,
	  $3}}}
	JSON
}

db_url() { echo "iscsi://127.0.0.1:$A_PORT/$P:db/1"; }
scratch_url() { echo "iscsi://127.0.0.1:$A_PORT/$P:scratch/1"; }

test_expect_success 'a tgtd, an area, a raw file and the desired state' '
	tgtd_start A &&
	mkdir area && truncate -s 32M scratch.raw &&
	desired desired.json "io=auto" &&
	head -c 65536 /dev/urandom >data.db && head -c 65536 /dev/urandom >data.scratch
'

test_expect_success 'plan on an empty tgtd: the targets, ACLs and LUNs to make, nothing run' '
	agent plan desired.json >plan.out;
	cat plan.out &&
	grep -q "^action: make target 1 ($P:db)" plan.out &&
	grep -q "^action: make target 4 ($P:scratch)" plan.out &&
	grep -q "^action: allow $HOST on target 1" plan.out &&
	grep -q "^action: add LUN 1 to target 1 ($P:db): $TRASH/area/db.img, lunlink, bsopts .io=auto." plan.out &&
	grep -q "^volume db: working: image .* to be made" plan.out &&
	! test -e area/db.img &&
	test -z "$(tgtadm_on A --lld iscsi --mode target --op show)"
'

test_expect_success 'apply makes the image, both targets and LUNs' '
	agent apply desired.json >apply.out;
	cat apply.out &&
	grep -q "^volume db: ready$" apply.out &&
	grep -q "^volume scratch: ready$" apply.out &&
	test "$("$IMAGE_TOOL" show --json area/db.img | jq -r .volume)" = "$VOL_ID" &&
	tgtadm_on A --lld iscsi --mode target --op show >show.out &&
	grep -q "Target 1: $P:db" show.out && grep -q "Target 4: $P:scratch" show.out &&
	grep -q "Backing store type: lunlink" show.out && grep -q "Backing store type: rdwr" show.out &&
	test "$(stat -c %a record.json)" = 600
'

test_expect_success 'data written through the lunlink and the rdwr LUN reads back' '
	ISCSI_IO_INITIATOR=$HOST "$IO" "$(db_url)" write 100 data.db &&
	ISCSI_IO_INITIATOR=$HOST "$IO" "$(db_url)" read 100 128 back.db &&
	test_cmp data.db back.db &&
	"$IO" "$(scratch_url)" write 8 data.scratch &&
	"$IO" "$(scratch_url)" read 8 128 back.scratch &&
	test_cmp data.scratch back.scratch
'

test_expect_success 'a second apply does nothing' '
	agent apply desired.json >again.out &&
	cat again.out &&
	grep -qx "nothing to do" again.out && ! grep -q "^action:" again.out
'

test_expect_success 'ACL: an initiator not on the list cannot log in to db' '
	test_must_fail env ISCSI_IO_INITIATOR=iqn.2026-11.org.example:intruder \
		"$IO" "$(db_url)" capacity 2>intruder.err &&
	grep -qi "login" intruder.err
'

test_expect_success 'a foreign target is left alone' '
	target_new A 2 && truncate -s 8M foreign.raw && lun_new A 2 1 "$TRASH/foreign.raw" rdwr &&
	agent apply desired.json >foreign.out &&
	grep -qx "nothing to do" foreign.out &&
	tgtadm_on A --lld iscsi --mode target --op show | grep -q "Target 2: $IQN_BASE:$TEST_NAME-2" &&
	jq "del(.volumes.scratch)" desired.json >without-scratch.json &&
	agent plan without-scratch.json >drop.out;
	cat drop.out &&
	grep -q "^action: delete target 4 ($P:scratch)" drop.out &&
	! grep -q "target 2 " drop.out
'

test_expect_success 'changed bsopts: the LUN is replaced' '
	desired changed.json "io=threads" &&
	agent plan changed.json >changed.out;
	cat changed.out &&
	grep -q "^action: delete LUN 1 of target 1" changed.out &&
	grep -q "^action: add LUN 1 to target 1 .*io=threads" changed.out &&
	test "$(grep -c ^action: changed.out)" = 2
'

test_expect_success 'tgtd killed and restarted empty: apply makes it all again, the data is there' '
	kill -9 "$A_PID" && wait "$A_PID" 2>/dev/null; A_PID= &&
	tgtd_start A &&
	test -z "$(tgtadm_on A --lld iscsi --mode target --op show | grep "$P")" &&
	agent apply desired.json >restart.out;
	cat restart.out &&
	grep -q "^volume db: ready$" restart.out && grep -q "^volume scratch: ready$" restart.out &&
	grep -q "^action: make target 1 ($P:db)" restart.out &&
	ISCSI_IO_INITIATOR=$HOST "$IO" "$(db_url)" read 100 128 after.db &&
	test_cmp data.db after.db &&
	"$IO" "$(scratch_url)" read 8 128 after.scratch &&
	test_cmp data.scratch after.scratch &&
	agent apply desired.json | grep -qx "nothing to do"
'

test_expect_success 'a failing action is reported by name, with what tgtadm said' '
	desired bad.json "io=auto" "\"bad\": {\"lun\": {\"iqn\": \"$P:db\", \"lun\": 2,
	  \"path\": \"$TRASH/area/db.img\", \"bstype\": \"lunlink\", \"bsopts\": \"bogus=1\",
	  \"acl\": [\"$HOST\"]}}" &&
	test_must_fail agent apply bad.json >bad.out;
	cat bad.out &&
	grep -q "^volume bad: failed: add LUN 2 to target 1 ($P:db): .*bogus=1.*: tgtadm said: invalid request" bad.out &&
	grep -q "lunlink: tid 1 lun 2" bad.out &&
	grep -q "^volume db: ready$" bad.out
'

test_expect_success 'an image of another volume is never overwritten; its LUN is kept' '
	sed "s/$VOL_ID/$OTHER_ID/" desired.json >other.json &&
	test_must_fail agent apply other.json >other.out;
	cat other.out &&
	grep -q "^volume db: failed: image $TRASH/area/db.img holds volume $VOL_ID, not $OTHER_ID" other.out &&
	test "$("$IMAGE_TOOL" show --json area/db.img | jq -r .volume)" = "$VOL_ID" &&
	! grep -q "^action:" other.out
'

test_expect_success 'a desired image outside the areas, or a name with .., is refused' '
	sed "s#$TRASH/area/db.img#$TRASH/elsewhere.img#g" desired.json >out.json &&
	test_must_fail agent plan out.json >out.out;
	grep -q "is in none of this node.s areas" out.out &&
	sed "s#$TRASH/area/db.img#$TRASH/area/a..b#g" desired.json >dots.json &&
	test_must_fail agent plan dots.json >dots.out;
	grep -q "must be 1 to 128 of a-z" dots.out
'

SN=ll-0000000000000040-abcdefghi
SCSI_ID=6abcdefghijklmno0000000000000040
# plain FILE SIZE [DELETE]: desired.json and the volume "pl", a plain image
# served by an rdwr LUN with its SCSI identity
plain() {
	jq --arg p "$TRASH/area/pl.img" --arg iqn "$P:pl" --argjson size "$2" \
	   --arg sn "$SN" --arg id "$SCSI_ID" --arg vid "$VOL_ID" \
	   '.volumes.pl = {"images": [{"path": $p, "size": $size, "volume_id": $vid, "format": "plain"}],
	    "lun": {"iqn": $iqn, "lun": 1, "path": $p, "bstype": "rdwr", "size": $size,
	            "acl": ["ALL"], "scsi_sn": $sn, "scsi_id": $id}}' desired.json >"$1"
}

test_expect_success 'a plain image: a sparse file, served by rdwr with its SCSI identity' '
	plain plain.json 16777216 &&
	agent apply plain.json >plain.out;
	cat plain.out &&
	grep -q "^volume pl: ready$" plain.out &&
	test "$(stat -c %s area/pl.img)" = 16777216 &&
	test "$(stat -c %b area/pl.img)" -lt 64 &&
	grep -q "^action: set LUN 1 of target [0-9]* ($P:pl).s identity: scsi_sn $SN, scsi_id $SCSI_ID" plain.out &&
	grep -n "^action:" plain.out >order.out &&
	test "$(grep "identity" order.out | cut -d: -f1)" -lt "$(grep "allow ALL on target .* ($P:pl)" order.out | cut -d: -f1)" &&
	tgtadm_on A --lld iscsi --mode target --op show >plain-show.out &&
	grep -q "SCSI SN: $SN" plain-show.out && grep -q "SCSI ID: $SCSI_ID" plain-show.out &&
	agent apply plain.json | grep -qx "nothing to do"
'

test_expect_success 'an identity changed behind the agent is set again' '
	tid=$(tgtadm_on A --lld iscsi --mode target --op show | sed -n "s/^Target \([0-9]*\): $P:pl$/\1/p") &&
	tgtadm_on A --lld iscsi --mode logicalunit --op update --tid "$tid" --lun 1 --params scsi_sn=other &&
	agent apply plain.json >ident.out;
	cat ident.out &&
	test "$(grep -c "^action:" ident.out)" = 1 &&
	grep -q "^action: set LUN 1 of target $tid ($P:pl).s identity" ident.out &&
	tgtadm_on A --lld iscsi --mode target --op show | grep -q "SCSI SN: $SN"
'

test_expect_success 'lun.size: the plain file grows and its rdwr LUN is made again' '
	plain grown.json 33554432 &&
	agent apply grown.json >grown.out;
	cat grown.out &&
	grep -q "^volume pl: ready$" grown.out &&
	test "$(stat -c %s area/pl.img)" = 33554432 &&
	grep -q "^action: delete LUN 1 of target [0-9]* ($P:pl" grown.out &&
	grep -q "^action: add LUN 1 to target [0-9]* ($P:pl)" grown.out &&
	tgtadm_on A --lld iscsi --mode target --op show | sed -n "/$P:pl\$/,/^Target/p" |
		grep -q "Size: 34 MB," &&
	agent apply grown.json | grep -qx "nothing to do" &&
	plain small.json 16777216 &&
	agent apply small.json | grep -qx "nothing to do" &&
	test "$(stat -c %s area/pl.img)" = 33554432
'

test_expect_success 'lun.size: a lunlink LUN grows its image with resize=SIZE' '
	jq ".volumes.db.lun.size = 134217728" grown.json >big.json &&
	agent apply big.json >big.out;
	cat big.out &&
	grep -q "^action: grow LUN 1 of target 1 ($P:db) to 134217728 bytes" big.out &&
	grep -q "^volume db: ready$" big.out &&
	test "$("$IMAGE_TOOL" show --json area/db.img | jq -r .data_size)" = 134217728 &&
	agent apply big.json | grep -qx "nothing to do"
'

# leg FILE SIZE [MAX]: grown.json and a doubled volume's leg "lg": a
# lunlink image (made with room for MAX, 64M) exported raw=on, as the
# manager places one
leg() {
	jq --arg p "$TRASH/area/lg.img" --arg vid "$LEG_ID" --argjson size "$2" \
	   --argjson max "${3:-67108864}" \
	   ".volumes.lg = {\"images\": [{\"area\": \"0000000000000009\", \"path\": \$p,
	     \"size\": \$size, \"max_size\": \$max, \"volume_id\": \$vid}],
	     \"lun\": {\"iqn\": \"$P:lg\", \"lun\": 1, \"path\": \$p, \"bstype\": \"lunlink\",
	     \"bsopts\": \"raw=on\", \"acl\": [\"ALL\"], \"size\": \$size}}" grown.json >"$1"
}
LEG_ID=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
lg_json() { "$IMAGE_TOOL" show --json area/lg.img | jq -r ".$1"; }

test_expect_success 'a raw=on leg to hold more: its file grows through its LUN, its superblock left to the primary' '
	leg leg.json 16777216 &&
	agent apply leg.json >leg.out;
	cat leg.out && grep -q "^volume lg: ready$" leg.out &&
	off=$(lg_json data_offset) &&
	leg leg-big.json 50331648 &&
	agent apply leg-big.json >leg-big.out;
	cat leg-big.out &&
	grep -q "^action: grow LUN 1 of target [0-9]* ($P:lg) to $((off + 50331648)) bytes" leg-big.out &&
	grep -q "^volume lg: ready$" leg-big.out &&
	test "$(stat -c %s area/lg.img)" = $((off + 50331648)) &&
	test "$(lg_json data_size)" = 16777216 &&
	"$IO" "iscsi://127.0.0.1:$A_PORT/$P:lg/1" capacity >cap &&
	echo "$(( (off + 50331648) / 512 )) 512" >expect && test_cmp expect cap &&
	agent apply leg-big.json | grep -qx "nothing to do"
'

test_expect_success 'a raw=on leg grown behind tgtd is reread; past what its image was made for it is refused by name' '
	truncate -s $((off + 58720256)) area/lg.img &&
	leg leg-more.json 58720256 &&
	agent apply leg-more.json >leg-more.out;
	cat leg-more.out &&
	grep -q "^action: make LUN 1 of target [0-9]* ($P:lg) read its image.s size again" leg-more.out &&
	"$IO" "iscsi://127.0.0.1:$A_PORT/$P:lg/1" capacity >cap &&
	echo "$(( (off + 58720256) / 512 )) 512" >expect && test_cmp expect cap &&
	agent apply leg-more.json | grep -qx "nothing to do" &&
	leg leg-huge.json 134217728 134217728 &&
	agent apply leg-huge.json >leg-huge.out;
	cat leg-huge.out &&
	grep -q "^volume lg: failed: image $TRASH/area/lg.img cannot grow to 134217728 bytes of data: it was made for at most 67108864" leg-huge.out &&
	test "$(stat -c %s area/lg.img)" = $((off + 58720256)) &&
	agent apply grown.json >/dev/null &&
	agent apply grown.json | grep -qx "nothing to do"
'

test_expect_success 'a deletion order: the LUN and its target go, then the plain image' '
	jq --arg p "$TRASH/area/pl.img" --arg vid "$VOL_ID" \
	   ".volumes.pl = {\"delete\": true, \"images\": [], \"lun\": null,
	     \"delete_images\": [{\"path\": \$p, \"size\": 33554432, \"volume_id\": \$vid, \"format\": \"plain\"}]}" \
	   desired.json >del.json &&
	agent plan del.json >del-plan.out;
	cat del-plan.out &&
	grep -q "^action: delete target [0-9]* ($P:pl)" del-plan.out &&
	grep -q "^volume pl: working: tgtd to be changed" del-plan.out &&
	test -e area/pl.img &&
	agent apply grown.json | grep -qx "nothing to do" &&
	agent apply del.json >del.out;
	cat del.out &&
	grep -q "^action: delete target [0-9]* ($P:pl)" del.out &&
	grep -q "^volume pl: ready$" del.out &&
	! test -e area/pl.img &&
	! tgtadm_on A --lld iscsi --mode target --op show | grep -q "$P:pl" &&
	agent apply del.json | grep -qx "nothing to do"
'

test_expect_success 'a deletion order deletes a lunlink image only if it holds that volume' '
	GONE_ID=$(od -An -tx1 -N16 /dev/urandom | tr -d " \n") &&
	"$IMAGE_TOOL" create --size 16M --volume "$GONE_ID" area/gone.img &&
	jq --arg p "$TRASH/area/gone.img" --arg vid "$OTHER_ID" \
	   ".volumes.gone = {\"delete\": true, \"images\": [], \"lun\": null,
	     \"delete_images\": [{\"path\": \$p, \"size\": 16777216, \"volume_id\": \$vid}]}" \
	   desired.json >gone.json &&
	test_must_fail agent apply gone.json >gone.out;
	cat gone.out &&
	grep -q "^volume gone: failed: image $TRASH/area/gone.img is not volume $OTHER_ID" gone.out &&
	test -e area/gone.img &&
	sed "s/$OTHER_ID/$GONE_ID/" gone.json >gone2.json &&
	agent apply gone2.json >gone2.out;
	cat gone2.out &&
	grep -q "^volume gone: ready$" gone2.out &&
	! test -e area/gone.img
'

test_expect_success 'the agent loop reports to a manager, takes its desired state and converges tgtd' '
	jq ".desired_revision = 7" desired.json >served.json &&
	{ "$TOOL" fake-manager "$TRASH/api.sock" served.json reports.jsonl 2>manager.err &
	  echo $! >manager.pid; } &&
	test_atexit "kill \$(cat \"$TRASH/manager.pid\") 2>/dev/null" &&
	wait_for 5 test -S api.sock &&
	tgtadm_on A --lld iscsi --mode target --op delete --force --tid 4 &&
	mkdir state &&
	agent run "unix:$TRASH/api.sock" 2 "$TRASH/state" 2>loop.err;
	cat loop.err &&
	grep -q "agent: make target 4 ($P:scratch)" loop.err &&
	tgtadm_on A --lld iscsi --mode target --op show | grep -q "Target 4: $P:scratch" &&
	tail -n 1 reports.jsonl >last.json &&
	jq -e ".tgtd.up == true and .tgtd.version != null" last.json >/dev/null &&
	test "$(jq -r .initiator last.json)" = "iqn.2026-11.org.lunlink:$(hostname)" &&
	jq -e ".volumes.db.state == \"ready\" and .volumes.scratch.state == \"ready\"" last.json >/dev/null &&
	jq -e ".volumes.db.desired_revision == 7" last.json >/dev/null &&
	jq -e ".volumes.db.size == 134217728 and .volumes.scratch.size == 33554432" last.json >/dev/null &&
	jq -e ".areas[0].used >= 67108864 and .areas[0].size == 1073741824" last.json >/dev/null &&
	jq -e "[.luns[] | select(.iqn == \"$P:db\")] | length == 1" last.json >/dev/null &&
	test "$(stat -c %a state/agent-desired.json)" = 600
'

test_expect_success 'manager gone, tgtd restarted empty: the agent serves the last desired state' '
	kill "$(cat manager.pid)" && wait "$(cat manager.pid)" 2>/dev/null;
	kill -9 "$A_PID" && wait "$A_PID" 2>/dev/null; A_PID= &&
	tgtd_start A &&
	test_must_fail agent run "unix:$TRASH/api.sock" 2 "$TRASH/state" 2>gone.err;
	cat gone.err &&
	test "$(grep -c "the manager at unix:" gone.err)" = 1 &&
	grep -q "keeping the last desired state" gone.err &&
	ISCSI_IO_INITIATOR=$HOST "$IO" "$(db_url)" read 100 128 gone.db &&
	test_cmp data.db gone.db &&
	"$IO" "$(scratch_url)" read 8 128 gone.scratch &&
	test_cmp data.scratch gone.scratch
'

test_expect_success 'a mirrored LUN: its leg reported as a copy, from the module.s status file' '
	MIR_ID=$(od -An -tx1 -N16 /dev/urandom | tr -d " \n") &&
	LEG=iscsi://127.0.0.1:1/iqn.2026-11.org.lunlink:nowhere/1 &&
	jq --arg p "$TRASH/area/mir.img" --arg iqn "$P:mir" --arg vid "$MIR_ID" --arg leg "$LEG" \
	   ".desired_revision = 8 | .volumes.mir = {\"images\": [{\"path\": \$p, \"size\": 16777216, \"volume_id\": \$vid}],
	     \"lun\": {\"iqn\": \$iqn, \"lun\": 1, \"path\": \$p, \"bstype\": \"lunlink\",
	               \"bsopts\": (\"mirror=\" + \$leg), \"acl\": [\"$HOST\"]}}" desired.json >mir.json &&
	{ "$TOOL" fake-manager "$TRASH/mir.sock" mir.json mir-reports.jsonl 2>mir-manager.err &
	  echo $! >mir-manager.pid; } &&
	test_atexit "kill \$(cat \"$TRASH/mir-manager.pid\") 2>/dev/null" &&
	wait_for 5 test -S mir.sock &&
	agent run "unix:$TRASH/mir.sock" 2 "$TRASH/state" 2>mir.err;
	cat mir.err &&
	tail -n 1 mir-reports.jsonl >mir-last.json &&
	jq .volumes.mir mir-last.json &&
	jq -e ".volumes.mir.copies | length == 1" mir-last.json >/dev/null &&
	test "$(jq -r ".volumes.mir.copies[0].url" mir-last.json)" = "$LEG" &&
	jq -e ".volumes.mir.copies[0].state == \"down\" or .volumes.mir.copies[0].state == \"connecting\"" mir-last.json >/dev/null &&
	jq -e ".volumes.db | has(\"copies\") | not" mir-last.json >/dev/null &&
	kill "$(cat mir-manager.pid)" && wait "$(cat mir-manager.pid)" 2>/dev/null;
	tid=$(tgtadm_on A --lld iscsi --mode target --op show | sed -n "s/^Target \([0-9]*\): $P:mir$/\1/p") &&
	tgtadm_on A --lld iscsi --mode target --op delete --force --tid "$tid"
'

test_expect_success 'tgtd not running: said so, nothing done' '
	tgtd_stop A &&
	test_must_fail agent apply desired.json >down.out 2>down.err;
	cat down.out down.err &&
	grep -q "tgtd is not running" down.err
'

test_done
