#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the man pages in doc/ render without a warning, and name every command and option the tools list'
. "$(dirname "$0")/test-lib.sh"

command -v groff >/dev/null 2>&1 ||
	skip_all "groff not installed (packaging/setup-debian.sh installs groff-base)"
IMAGE="$SRC_DIR/target/lunlink-image"
STATUS="$SRC_DIR/target/tools/lunlink-status"
[ -x "$IMAGE" ] || skip_all "target/lunlink-image not built (run make)"

# render PAGE: the page as text, one line per paragraph (no filling into
# lines, no hyphenation), so that a word is found whole
render() { groff -man -Tascii -rLL=1000n -rHY=0 -P-cbou "$1"; }

# section NAME FILE: the lines of a rendered page's section NAME
section() { awk -v s="$1" '/^[A-Z]/ { on = ($0 == s); next } on' "$2"; }

# has_option OPT FILE: OPT appears whole (--size is not --max-size's end)
has_option() {
	grep -Eq -e "(^|[^a-z-])$1([^a-z-]|\$)" "$2" ||
		{ echo "no $1 in $2:" >&2; cat "$2" >&2; return 1; }
}

# is_item WORD FILE INDENT: WORD is the tag of an item (a line that starts
# with it, indented INDENT spaces, as .TP sets its tag)
is_item() {
	grep -Eq "^ {$3}$1( |,|\$)" "$2" ||
		{ echo "no item '$1' (indented $3) in $2:" >&2; cat "$2" >&2; return 1; }
}

test_expect_success 'the pages are there' '
	ls "$SRC_DIR"/doc/*.8 >pages &&
	test -s pages &&
	grep -q "/lunlink-image\.8\$" pages &&
	grep -q "/lunlink-status\.8\$" pages &&
	grep -q "/lunlink-rescand\.8\$" pages &&
	grep -q "/lunlinkctl\.8\$" pages &&
	grep -q "/lunlink-policyd\.8\$" pages
'

test_expect_success 'groff warns about a broken page (so silence means something)' '
	printf ".TH BROKEN 8\n.SH NAME\nbroken\n.XYZZY\n\\\\fQ\n" >broken.8 &&
	groff -man -ww -z broken.8 >out 2>&1 &&
	cat out &&
	test -s out
'

test_expect_success 'every page renders without a warning' '
	test -s pages &&
	bad=0 &&
	for p in $(cat pages); do
		groff -man -ww -z "$p" >out 2>&1 || { echo "groff failed on $p" >&2; bad=1; }
		if test -s out; then echo "$p:" >&2; cat out >&2; bad=1; fi
	done &&
	test $bad = 0
'

test_expect_success 'lunlink-image --help lists the commands and options' '
	"$IMAGE" --help >help &&
	sed -n "1,/^\$/p" help | sed "s/^usage://" >usage &&
	awk "\$1 == \"lunlink-image\" { print \$2 }" usage >commands &&
	grep -o -e "--[a-z][a-z-]*" usage | sort -u >options &&
	cat commands options &&
	(for c in create show check forget-stale forget-copy; do
		grep -qx -e "$c" commands || { echo "no $c in the usage" >&2; exit 1; }
	done) &&
	(for o in --size --max-size --region-size --force --json; do
		grep -qx -e "$o" options || { echo "no $o in the usage" >&2; exit 1; }
	done)
'

test_expect_success 'lunlink-image.8 has each command in SYNOPSIS and as an item of COMMANDS' '
	test -s commands &&
	render "$SRC_DIR/doc/lunlink-image.8" >image.txt &&
	section SYNOPSIS image.txt >synopsis &&
	section COMMANDS image.txt >cmds &&
	(for c in $(cat commands); do
		grep -q "^ *lunlink-image $c\\( \\|\$\\)" synopsis ||
			{ echo "no lunlink-image $c in SYNOPSIS" >&2; cat synopsis >&2; exit 1; }
		is_item "$c" cmds 7 || exit 1
	done)
'

test_expect_success 'lunlink-image.8 has each option in SYNOPSIS and COMMANDS' '
	test -s options &&
	(for o in $(cat options); do
		has_option "$o" synopsis && has_option "$o" cmds || exit 1
	done)
'

test_expect_success 'lunlink-status.8 has its -w option' '
	"$STATUS" --help >shelp &&
	sed -n "s/^ *lunlink-status \\(-[a-z]\\).*/\\1/p" shelp >soptions &&
	grep -qx -- -w soptions &&
	render "$SRC_DIR/doc/lunlink-status.8" >status.txt &&
	section SYNOPSIS status.txt >ssynopsis &&
	section OPTIONS status.txt >sopts &&
	(for o in $(cat soptions); do
		has_option "$o" ssynopsis && is_item "$o" sopts 7 || exit 1
	done)
'

# The status file's format is ll_mirror_write_status's (target/mirror/status.c)
# and its leg states ll_leg_state_name's (target/mirror/mirror_leg.c, beside the changes
# between them): the page names each.
test_expect_success 'lunlink-status.8 names every leg state and status field the module writes' '
	sed -n "s/.*ll_leg_state_name\\[\\] = {\\(.*\\)};.*/\\1/p" "$SRC_DIR"/target/mirror/*.c |
		tr -d "\" " | tr , "\\n" >states &&
	test $(wc -l <states) -ge 5 &&
	section "THE STATUS FILE" status.txt >sfile &&
	(for s in $(cat states); do is_item "$s" sfile 14 || exit 1; done) &&
	sed -n "/^void ll_mirror_write_status/,/^}/p" "$SRC_DIR"/target/mirror/*.c |
		grep -o "[a-z_][a-z_]*=" | sort -u >fields &&
	test $(wc -l <fields) -ge 20 &&
	(for f in $(cat fields); do
		grep -q -e "$f" sfile || { echo "no $f in THE STATUS FILE" >&2; exit 1; }
	done)
'

# A remote extent's status file is the remote layer's write_status
# (target/layers/remote.c), its states its state_name.
test_expect_success 'lunlink-status.8 names every state and field of a remote extent'"'"'s file' '
	sed -n "s/.*state_name\[\] = {\(.*\)};.*/\1/p" "$SRC_DIR/target/layers/remote.c" |
		tr -d "\" " | tr , "\n" >rstates &&
	test $(wc -l <rstates) -ge 3 &&
	(for s in $(cat rstates); do grep -qw -e "$s" sfile || exit 1; done) &&
	sed -n "/^static void write_status/,/^}/p" "$SRC_DIR/target/layers/remote.c" |
		grep -o "[a-z_][a-z_]*=" | sort -u >rfields &&
	test $(wc -l <rfields) -ge 10 &&
	(for f in $(cat rfields); do
		grep -q -e "$f" sfile || { echo "no $f in THE STATUS FILE" >&2; exit 1; }
	done)
'

# lunlinkctl and lunlink-policyd (policy/): the commands and options their
# --help lists, and every setting of lunlink.conf's policy part (the table
# in policy/config.c), are in their pages.
CTL="$SRC_DIR/policy/lunlinkctl"
PD="$SRC_DIR/policy/lunlink-policyd"
[ -x "$CTL" ] && test_set_prereq CTL
[ -x "$PD" ] && test_set_prereq POLICYD

test_expect_success CTL 'lunlinkctl.8 has each command in SYNOPSIS and as an item of COMMANDS' '
	"$CTL" --help >chelp &&
	sed -n "1,/^\$/p" chelp | sed "s/^usage://" >cusage &&
	awk "\$1 == \"lunlinkctl\" && \$2 !~ /^\\[/ { print \$2 \" \" \$3 }" cusage |
		sed "s/ [A-Z[].*//; s/ \$//" | sort -u >ccommands &&
	test $(wc -l <ccommands) -ge 15 &&
	render "$SRC_DIR/doc/lunlinkctl.8" >ctl.txt &&
	section SYNOPSIS ctl.txt >csynopsis &&
	section COMMANDS ctl.txt >ccmds &&
	(while read -r c; do
		grep -q "^ *lunlinkctl $c\\( \\|\$\\)" csynopsis ||
			{ echo "no lunlinkctl $c in SYNOPSIS" >&2; cat csynopsis >&2; exit 1; }
		is_item "${c%% *}" ccmds 7 || exit 1
	done <ccommands)
'

test_expect_success CTL 'lunlinkctl.8 has each command option in SYNOPSIS, each global one in OPTIONS' '
	grep -o -e "--[a-z][a-z-]*" cusage | sort -u >coptions &&
	test -s coptions &&
	(for o in $(cat coptions); do has_option "$o" csynopsis || exit 1; done) &&
	sed -n "/^global options/,/^\$/p" chelp | grep -o -e "--[a-z][a-z-]*" | sort -u >cglobal &&
	test $(wc -l <cglobal) -ge 8 &&
	section OPTIONS ctl.txt >copts &&
	(for o in $(cat cglobal); do has_option "$o" copts || exit 1; done)
'

test_expect_success POLICYD 'lunlink-policyd.8 has each option of its --help in SYNOPSIS and OPTIONS' '
	"$PD" --help >phelp &&
	grep "^  -" phelp | grep -o -e "--[a-z][a-z-]*" -e "^  -[a-z]" | tr -d " " |
		sort -u >poptions &&
	test $(wc -l <poptions) -ge 8 &&
	render "$SRC_DIR/doc/lunlink-policyd.8" >pd.txt &&
	section SYNOPSIS pd.txt >psynopsis &&
	section OPTIONS pd.txt >popts &&
	(for o in $(cat poptions); do has_option "$o" popts || exit 1; done) &&
	(for o in -c -f -v --join -h --version; do has_option "$o" psynopsis || exit 1; done)
'

test_expect_success 'lunlink-policyd.8 names every setting of the policy part as an item' '
	sed -n "s/^\t{ \"\\([a-z_]*\\)\", K_.*/\\1/p" "$SRC_DIR/policy/config.c" >settings &&
	test $(wc -l <settings) -ge 18 &&
	render "$SRC_DIR/doc/lunlink-policyd.8" >pd.txt &&
	section CONFIGURATION pd.txt >pconf &&
	(for s in $(cat settings); do is_item "$s" pconf 7 || exit 1; done) &&
	(for s in $(cat settings); do grep -q "^[	 #]*$s = " "$SRC_DIR/conf/lunlink.conf" ||
		{ echo "no $s in conf/lunlink.conf" >&2; exit 1; }; done)
'

test_done
