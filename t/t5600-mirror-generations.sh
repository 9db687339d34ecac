#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='mirrored LUNs: no two copies that differ share a generation: the legs that are up take a degraded primary'"'"'s new generation, a copy written alone takes one of its own, and a promoted copy resyncs a leg that is behind it, or refuses one that is ahead'
. "$(dirname "$0")/test-lib.sh"

require_tgtd
IMG="$SRC_DIR/target/lunlink-image"

# Three copies of a volume: a.img on the primary A, b.img and c.img on the
# leg nodes B and C (stock rdwr).  A 3-way mirror, then C fails and A goes
# on with B; then A is lost for good, and B's copy is promoted.

gen_of() { "$IMG" show --json "$1" | sed -n 's/.*"generation":"\([0-9a-f]*\)".*/\1/p'; }
history_of() { "$IMG" show --json "$1" | sed -n 's/.*"generation_history":\[\([^]]*\)\].*/\1/p'; }

start_c() {
	TGTD_PORT=${C_PORT:-} tgtd_start C && target_new C 1 && lun_new C 1 1 "$TRASH/c.img" rdwr
}

# The promoted primary: tgtd D, b.img with C's copy as its leg
status_d() { echo "/run/lunlink/c${D_CTL}-t1-l1.status"; }
d_leg_is() { test "$(leg_state_in "$(status_d)" 1)" = "$1"; }
# d_leg KEY: field KEY of D's leg; d_leg_field_is KEY VALUE: it is VALUE
d_leg() { leg_field "$(status_d)" 1 "$1"; }
d_leg_field_is() { leg_field_is "$(status_d)" 1 "$1" "$2"; }
d_new_log_has() { new_log_has "$1" "$D_LOG"; }
lun_d() { lun_new D 1 1 "$TRASH/b.img" lunlink "mirror=$(url C 1 1)"; }
lun_del_d() { tgtadm_on D --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1; }

test_expect_success 'a 3-way mirror: every copy at one generation' '
	for c in a b c; do "$IMG" create --size 32M $c.img >/dev/null || return 1; done &&
	tgtd_start B && target_new B 1 && lun_new B 1 1 "$TRASH/b.img" rdwr &&
	start_c &&
	tgtd_start A && target_new A 1 &&
	lun_new A 1 1 "$TRASH/a.img" lunlink "mirror=$(url B 1 1);mirror=$(url C 1 1)" &&
	wait_for 30 leg_is up &&
	wait_for 30 eval "test \"\$(leg_state_in \"\$(status_file)\" 2)\" = up" &&
	G1=$(gen_of a.img) && test "$(gen_of b.img)" = "$G1" && test "$(gen_of c.img)" = "$G1"
'

test_expect_success 'C fails: the primary takes a new generation, and so does B, which has every write' '
	kill -9 $C_PID && wait $C_PID 2>/dev/null
	C_PID= &&
	head -c 65536 /dev/urandom >x1 &&
	"$IO" "$(url A 1 1)" write 512 x1 &&
	wait_for 5 lun_field_is "$(status_file)" bitmap_generation "$G1" &&
	G2=$(gen_of a.img) && test "$G2" != "$G1" &&
	lun_field_is "$(status_file)" generation "$G2" &&
	say "generations: before $G1, now $G2; b.img $(gen_of b.img), c.img $(gen_of c.img)" &&
	test "$(gen_of b.img)" = "$G2" &&
	test "$(gen_of c.img)" = "$G1" &&
	history_of b.img | grep -q "\"$G1\"" &&
	data_of 512 128 b.img >inb && test_cmp x1 inb
'

test_expect_success 'A is lost for good; B promoted with C as its leg resyncs C whole: C was behind it' '
	kill -9 $A_PID && wait $A_PID 2>/dev/null
	A_PID= &&
	tgtd_stop B &&
	start_c &&
	tgtd_start D && target_new D 1 &&
	test "$(gen_of c.img)" = "$G1" && history_of b.img | grep -q "\"$G1\"" &&
	lun_d &&
	wait_for 60 d_leg_is up &&
	d_leg_field_is verdict earlier && d_leg_field_is joined full &&
	d_leg_field_is resync_regions 512 && d_leg_field_is resyncs 1 &&
	data_of 512 128 c.img >inc && test_cmp x1 inc &&
	test "$(gen_of c.img)" = "$(gen_of b.img)"
'

test_expect_success 'C served alone and written takes a new generation of its own' '
	lun_del_d && tgtd_stop C &&
	G3=$(gen_of c.img) &&
	tgtd_start E && target_new E 1 && lun_new E 1 1 "$TRASH/c.img" lunlink &&
	"$IO" "$(url E 1 1)" read 0 8 /dev/null &&
	test "$(gen_of c.img)" = "$G3" &&
	head -c 4096 /dev/urandom >x2 &&
	"$IO" "$(url E 1 1)" write 4096 x2 &&
	"$IO" "$(url E 1 1)" write 4104 x2 &&
	G4=$(gen_of c.img) && test "$G4" != "$G3" &&
	history_of c.img | grep -q "^\"$G3\"" &&
	tgtd_stop E
'

test_expect_success 'B as primary again refuses C, which is ahead of it, with both cures' '
	start_c &&
	mark "$D_LOG" && lun_d &&
	wait_for 30 d_leg_is refused &&
	d_leg_field_is verdict newer && d_leg_field_is joined none &&
	d_new_log_has "refused: the leg is newer than this copy: its generation $G4 came after this copy'"'"'s $G3" &&
	d_new_log_has "To keep the leg'"'"'s data, serve its image as the primary (with this one as its leg). To keep this copy and overwrite the leg: tgtadm --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params resolve=discard-leg" &&
	data_of 4096 8 c.img >inc && test_cmp x2 inc
'

test_expect_success 'resolve=discard-leg overwrites C with B'"'"'s copy' '
	tgtadm_on D --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params resolve=discard-leg &&
	wait_for 60 d_leg_is up &&
	d_leg_field_is verdict discard && d_leg_field_is joined full &&
	d_leg_field_is resync_regions 512 &&
	data_of 0 65536 b.img >all-b && data_of 0 65536 c.img >all-c && test_cmp all-b all-c
'

# verify=start at resync_rate=8M takes 4 s for the 512 regions: time to
# see the leg's superblock while it goes on
test_expect_success 'a leg that verify finds different says so on its disk until it is resynced' '
	lun_del_d &&
	lun_new D 1 1 "$TRASH/b.img" lunlink "mirror=$(url C 1 1);resync_rate=8M" &&
	wait_for 30 d_leg_is up &&
	G=$(gen_of b.img) && test "$(gen_of c.img)" = "$G" &&
	head -c 4096 /dev/urandom >junk &&
	dd if=junk of=c.img bs=4096 seek=$(( ($(data_lba c.img) * 512 + 5 * 65536) / 4096 )) conv=notrunc 2>/dev/null &&
	mark "$D_LOG" && resyncs=$(d_leg resyncs) &&
	tgtadm_on D --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params verify=start &&
	wait_for 10 d_new_log_has "verify: region 5 (bytes 327680-393215) differs from this copy" &&
	d_new_log_has "its superblock says it is not in sync (generation 0) until the regions are resynced" &&
	wait_for 5 eval "test \"\$(gen_of c.img)\" = 0000000000000000" &&
	d_leg_field_is verifies 0 && d_leg_field_is resyncs $resyncs &&
	wait_for 60 d_leg_field_is resyncs $((resyncs + 1)) &&
	d_leg_field_is verifies 1 && d_leg_field_is verify_differed 1 &&
	d_leg_field_is resync_regions 1 && d_leg_field_is resync_bytes 65536 &&
	wait_for 10 eval "test \"\$(gen_of c.img)\" = $G" &&
	data_of 0 65536 b.img >all-b && data_of 0 65536 c.img >all-c && test_cmp all-b all-c
'

test_expect_success 'tgtd D is alive, and no leg changed state in a way the mirror forbids' '
	tgtd_alive D &&
	! join_log "$D_LOG" | grep -q "bug: state"
'

test_done
