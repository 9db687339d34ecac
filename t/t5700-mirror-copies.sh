#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='mirrored LUNs: a copy of the volume that mirror= leaves out counts as a leg that is down, so that, named again, it gets what it missed; forget=ID and lunlink-image forget-copy drop one that is gone'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# Three copies: a.img on the primary A, b.img and c.img on leg nodes B
# and C (stock rdwr).  Then the LUN is served again with C left out of
# mirror=, and written.

field_of() { "$IMG" show --json "$1" | sed -n "s/.*\"$2\":\"\([0-9a-f]*\)\".*/\1/p"; }
copies_of() { "$IMG" show --json "$1" | sed -n 's/.*"copies":\[\([^]]*\)\].*/\1/p'; }
records() { copies_of "$1" | grep -q "\"$2\""; }
ncopies() { copies_of "$1" | tr ',' '\n' | grep -c .; }
lun_del() { tgtadm_on A --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1; }
update() { tgtadm_on A --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params "$1"; }
leg2_is() { test "$(leg_state_in "$(status_file)" 2)" = "$1"; }
absent_in_status() { grep -q "^copy $1 state=absent" "$(status_file)"; }
mirror_bc() { lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);mirror=$(url C 1 1)"; }

test_expect_success 'a 3-way mirror: each copy has an id, and every copy records all three' '
	for c in a b c; do "$IMG" create --size 32M $c.img >/dev/null || return 1; done &&
	IA=$(field_of a.img copy) && IB=$(field_of b.img copy) && IC=$(field_of c.img copy) &&
	test -n "$IA" && test -n "$IB" && test -n "$IC" &&
	test "$IA" != "$IB" && test "$IB" != "$IC" &&
	"$IMG" show a.img | grep -q "^  copy              $IA$" &&
	tgtd_start B && target_new B 1 && lun_new B 1 1 "$TRASH/b.img" rdwr &&
	tgtd_start C && target_new C 1 && lun_new C 1 1 "$TRASH/c.img" rdwr &&
	tgtd_start A && target_new A 1 && mirror_bc &&
	wait_for 30 leg_is up && wait_for 30 leg2_is up &&
	wait_for 5 leg_field_is "$(status_file)" 1 copy $IB && leg_field_is "$(status_file)" 2 copy $IC &&
	wait_for 5 eval "test \"\$(ncopies a.img)\" = 3 && test \"\$(ncopies b.img)\" = 3 &&
			  test \"\$(ncopies c.img)\" = 3" &&
	for c in a b c; do
		for id in $IA $IB $IC; do records $c.img $id || return 1; done
	done &&
	test "$(field_of b.img copy)" = "$IB" && test "$(field_of c.img copy)" = "$IC" &&
	grep -q "^leg 2 url=.* state=up .*copy=$IC" "$(status_file)" &&
	G1=$(field_of a.img generation) && test "$(field_of c.img generation)" = "$G1" &&
	test "$(field_of a.img bitmap_generation)" = 0000000000000000
'

# Before copies were recorded, A stayed at G1 (every named leg was up), C
# kept G1 too, and named again it was taken for in sync: it lacked x1.
test_expect_success 'served with C left out, A counts C as down: a write goes into the map and starts a new generation' '
	lun_del && mark &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1)" &&
	wait_for 30 leg_is up &&
	wait_for 10 new_log_has "1 copy(ies) of the volume recorded with this one are not legs of mirror=: $IC" &&
	wait_for 5 absent_in_status $IC &&
	head -c 131072 /dev/urandom >x1 &&
	"$IO" "$(url A 1 1)" write 1024 x1 &&
	G2=$(field_of a.img generation) && test "$G2" != "$G1" &&
	test "$(field_of a.img bitmap_generation)" = "$G1" &&
	wait_for 5 lun_field_is "$(status_file)" generation $G2 &&
	lun_field_is "$(status_file)" bitmap_generation $G1 &&
	wait_for 5 eval "test \"\$(field_of b.img generation)\" = $G2" &&
	test "$(field_of c.img generation)" = "$G1" &&
	data_of 1024 256 b.img >inb && test_cmp x1 inb
'

test_expect_success 'named again, C gets only the regions it missed' '
	lun_del && mark && mirror_bc &&
	wait_for 30 leg_is up && wait_for 60 leg2_is up &&
	leg_field_is "$(status_file)" 2 joined map && leg_field_is "$(status_file)" 2 resyncs 1 &&
	leg_field_is "$(status_file)" 2 resync_regions 2 &&
	leg_field_is "$(status_file)" 2 resync_bytes 131072 &&
	! absent_in_status $IC &&
	data_of 1024 256 c.img >inc && test_cmp x1 inc &&
	wait_for 5 eval "test \"\$(field_of c.img generation)\" = $G2" &&
	wait_for 5 eval "test \"\$(field_of a.img bitmap_generation)\" = 0000000000000000"
'

test_expect_success 'forget=ID refuses this copy, a leg'"'"'s copy, and an id no copy has' '
	mark &&
	test_must_fail update forget=$IA &&
	new_log_has "forget=$IA refused: that is this copy" &&
	test_must_fail update forget=$IC &&
	new_log_has "forget=$IC refused: this leg holds that copy; take the leg out of mirror= first" &&
	test_must_fail update forget=0123456789abcdef &&
	new_log_has "forget=0123456789abcdef refused: no copy with that id is recorded" &&
	test_must_fail update forget=12 &&
	new_log_has "give a copy id, 16 hex digits" &&
	test "$(ncopies a.img)" = 3
'

test_expect_success 'forget=ID: C gone for good is no longer tracked; named again it is resynced whole' '
	lun_del && mark &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1)" &&
	wait_for 30 leg_is up &&
	"$IO" "$(url A 1 1)" write 4096 x1 &&
	test "$(field_of a.img bitmap_generation)" != 0000000000000000 &&
	update forget=$IC &&
	wait_for 5 eval "! absent_in_status $IC" &&
	test "$(ncopies a.img)" = 2 && ! records a.img $IC &&
	wait_for 5 eval "test \"\$(field_of a.img bitmap_generation)\" = 0000000000000000" &&
	"$IO" "$(url A 1 1)" write 8192 x1 &&
	test "$(field_of a.img bitmap_generation)" = 0000000000000000 &&
	lun_del && mark && mirror_bc &&
	wait_for 60 leg2_is up &&
	leg_field_is "$(status_file)" 2 verdict earlier && leg_field_is "$(status_file)" 2 joined full &&
	leg_field_is "$(status_file)" 2 resync_regions 512 &&
	leg_field_is "$(status_file)" 2 copy $IC && records a.img $IC &&
	data_of 0 65536 a.img >all-a && data_of 0 65536 c.img >all-c && test_cmp all-a all-c
'

test_expect_success 'lunlink-image forget-copy and create --force: refused while the image is served; then it forgets' '
	test_must_fail "$IMG" forget-copy a.img $IC 2>err &&
	test_grep "a.img is in use (locked): a tgtd serves it as a mirror'"'"'s primary" err &&
	test_must_fail "$IMG" create --force --size 32M a.img 2>err &&
	test_grep "create: a.img is in use (locked)" err &&
	test "$(field_of a.img copy)" = "$IA" &&
	lun_del &&
	test_must_fail "$IMG" forget-copy a.img 0123456789abcdef 2>err &&
	test_grep "records no copy 0123456789abcdef" err &&
	test_must_fail "$IMG" forget-copy a.img $IA 2>err &&
	test_grep "is copy $IA itself" err &&
	test_must_fail "$IMG" forget-copy a.img xyz 2>err &&
	test_grep "not a copy id" err &&
	"$IMG" forget-copy a.img $IC >out &&
	test_grep "forgot copy $IC" out &&
	! records a.img $IC && records a.img $IB
'

# b.img copied whole to d.img: two files with one copy id.  Named as a
# leg beside B, the copy gets an id of its own.
test_expect_success 'a leg whose image has another copy'"'"'s id (a file copied whole) gets its own' '
	tgtd_stop B &&
	cp b.img d.img &&
	tgtd_start B && target_new B 1 && lun_new B 1 1 "$TRASH/b.img" rdwr &&
	lun_new B 1 2 "$TRASH/d.img" rdwr &&
	mark &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);mirror=$(url B 1 2)" &&
	wait_for 30 leg_is up && wait_for 60 leg2_is up &&
	wait_for 5 eval "test \"\$(field_of b.img copy)\" != \"\$(field_of d.img copy)\"" &&
	IDB=$(field_of b.img copy) && IDD=$(field_of d.img copy) &&
	say "b.img is copy $IDB, d.img copy $IDD (whichever leg was probed second got a new id)" &&
	{ test "$IDB" = "$IB" || test "$IDD" = "$IB"; } &&
	records a.img $IDB && records a.img $IDD && test "$(ncopies a.img)" = 3
'

# mirror= names a LUN that exports this copy's own file; then a file copy
# of the image taken while it is served (torn: its blocks from different
# moments).  Each has this copy's id and says it is open: refused, and
# this copy's superblock is left as it was.
test_expect_success 'a leg that is this copy itself, or a copy of it taken while served, is refused' '
	lun_del && mark &&
	lun_new B 1 3 "$TRASH/a.img" rdwr &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 3)" &&
	wait_for 30 leg_is refused && leg1_is verdict itself &&
	new_log_has "refused: its image is this copy itself (mirror= names the LUN that exports this file?), or a file copy of it taken while it was served" &&
	new_log_has "it has this copy'"'"'s id $IA and says it is open as a primary" &&
	test "$(field_of a.img copy)" = "$IA" &&
	tgtadm_on B --lld iscsi --mode logicalunit --op delete --tid 1 --lun 3 &&
	cp a.img e.img &&
	lun_new B 1 3 "$TRASH/e.img" rdwr &&
	lun_del && mark &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 3)" &&
	wait_for 30 leg_is refused && leg1_is verdict itself &&
	new_log_has "it has this copy'"'"'s id $IA and says it is open as a primary" &&
	test "$(field_of e.img copy)" = "$IA"
'

test_expect_success 'tgtd A is alive' '
	tgtd_alive A
'

test_done
