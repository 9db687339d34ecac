#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='lunlink-rescan and lunlink-rescand against a fake sysfs tree'
. "$(dirname "$0")/test-lib.sh"

# This host's kernel has no SCSI layer, so the sysfs here is a tree of
# plain files and symlinks shaped like the kernel's (fake_session,
# fake_sdev below).  The binary takes it with --sysfs.  Two test hooks
# stand in for what a real host has:
#   --test-kernel CMD        after each sysfs write, the binary runs
#                            CMD PATH VALUE: our fake-kernel.sh, which
#                            logs the write and does what the kernel
#                            would (a scan adds the staged LUNs, delete
#                            removes the device, rescan applies a staged
#                            new size or WWID);
#   --test-report-luns DIR   the target's LUN list (REPORT LUNS on a real
#                            host) is DIR/hostN.
# The daemon reads uevents, in the kernel's wire format, from a Unix
# datagram socket (--uevent-socket) instead of netlink; perl sends them.

RESCAN="$SRC_DIR/initiator/lunlink-rescan"
RESCAND="$SRC_DIR/initiator/lunlink-rescand"
[ -x "$RESCAND" ] && [ -L "$RESCAN" ] || skip_all "initiator/lunlink-rescand not built (run make)"
perl -MJSON::PP -MSocket -e 1 2>/dev/null || skip_all "perl with JSON::PP and Socket is needed"

SYS="$TRASH/sys"
STAGE="$TRASH/stage"
LUNS="$TRASH/luns"
KLOG="$TRASH/kernel.log"
MOUNTS="$TRASH/mountinfo"

# ---- the fake tree ----------------------------------------------------------
cat >fake-sysfs.sh <<'EOF'
# fake_session SID HOST TARGET ADDRESS PORT
fake_session() {
	local h="$SYS/devices/platform/host$2"
	mkdir -p "$h/session$1/iscsi_session/session$1" "$h/scsi_host/host$2" \
		"$h/session$1/connection$1:0/iscsi_connection/connection$1:0" \
		"$SYS/class/iscsi_session" "$SYS/class/iscsi_connection" \
		"$SYS/class/scsi_host" "$SYS/class/scsi_device" "$SYS/block" &&
	echo "$3" >"$h/session$1/iscsi_session/session$1/targetname" &&
	echo "$4" >"$h/session$1/connection$1:0/iscsi_connection/connection$1:0/persistent_address" &&
	echo "$5" >"$h/session$1/connection$1:0/iscsi_connection/connection$1:0/persistent_port" &&
	: >"$h/scsi_host/host$2/scan" &&
	ln -s "$h/session$1/iscsi_session/session$1" "$SYS/class/iscsi_session/session$1" &&
	ln -s "$h/session$1/connection$1:0/iscsi_connection/connection$1:0" \
		"$SYS/class/iscsi_connection/connection$1:0" &&
	ln -s "$h/scsi_host/host$2" "$SYS/class/scsi_host/host$2"
}

# fake_sdev SID H:C:T:L WWID [NAME SECTORS MAJOR:MINOR]
fake_sdev() {
	local hctl=$2 host=${2%%:*} ct=${2%:*}
	local d="$SYS/devices/platform/host$host/session$1/target$ct/$hctl"
	mkdir -p "$d/scsi_device/$hctl" &&
	echo running >"$d/state" && echo "$3" >"$d/wwid" &&
	: >"$d/rescan" && : >"$d/delete" &&
	ln -s "$d" "$d/scsi_device/$hctl/device" &&
	ln -s "$d/scsi_device/$hctl" "$SYS/class/scsi_device/$hctl" || return 1
	[ $# -gt 3 ] || return 0
	mkdir -p "$d/block/$4/holders" &&
	echo "$5" >"$d/block/$4/size" && echo "$6" >"$d/block/$4/dev" &&
	ln -s "$d/block/$4" "$SYS/block/$4"
}

# fake_holder NAME HOLDER [DMNAME]: HOLDER (dm-0) holds NAME
fake_holder() {
	mkdir -p "$SYS/block/$2" &&
	: >"$SYS/block/$1/holders/$2" &&
	if [ -n "${3:-}" ]; then mkdir -p "$SYS/block/$2/dm" && echo "$3" >"$SYS/block/$2/dm/name"; fi
}
EOF
. ./fake-sysfs.sh

# The kernel's side of a write, as the binary's --test-kernel hook.
cat >fake-kernel.sh <<EOF
#!/bin/sh
SYS='$SYS' STAGE='$STAGE'
. '$TRASH/fake-sysfs.sh'
path=\$1 value=\$2
echo "\${path#\$SYS/} \$value" >>'$KLOG'
case "\$path" in
*/scan)
	host=\$(basename "\$(dirname "\$path")")
	if [ "\$value" = "- - -" ]; then set -- "\$STAGE/\$host".*; else
		set -- "\$STAGE/probe.\${host#host}:\$(echo "\$value" | tr ' ' :)"; fi
	for f; do [ -f "\$f" ] && . "\$f" && rm -f "\$f"; done ;;
*/delete)
	d=\$(cd "\$(dirname "\$path")" && pwd -P)
	hctl=\$(basename "\$d")
	for b in "\$d"/block/*; do [ -d "\$b" ] && rm -f "\$SYS/block/\$(basename "\$b")"; done
	rm -f "\$SYS/class/scsi_device/\$hctl" && rm -rf "\$d" ;;
*/rescan)
	d=\$(cd "\$(dirname "\$path")" && pwd -P)
	hctl=\$(basename "\$d")
	for b in "\$d"/block/*; do
		[ -f "\$STAGE/size.\$hctl" ] && cat "\$STAGE/size.\$hctl" >"\$b/size"; done
	if [ -f "\$STAGE/wwid.\$hctl" ]; then cat "\$STAGE/wwid.\$hctl" >"\$d/wwid"; fi ;;
esac
exit 0
EOF
chmod +x fake-kernel.sh

rescan() {
	"$RESCAN" --sysfs "$SYS" --dev "$TRASH/dev" --mountinfo "$MOUNTS" \
		--test-kernel "$TRASH/fake-kernel.sh" --test-report-luns "$LUNS" \
		-c /dev/null "$@"
}

# json FILE PERL-EXPR: evaluate with $j the decoded object; true if true
json() {
	perl -MJSON::PP -e '
		local $/; open my $f, "<", $ARGV[0] or die "$ARGV[0]: $!";
		my $j = decode_json(<$f>);
		sub ch { my ($kind, $hctl) = @_;
			 (grep { $_->{change} eq $kind && $_->{hctl} eq $hctl } @{$j->{changes}})[0] }
		my $ok = eval $ARGV[1]; die $@ if $@;
		exit($ok ? 0 : 1)' "$1" "$2" || { echo "json: false: $2" >&2; cat "$1" >&2; return 1; }
}

IQN=iqn.2026-11.org.lunlink

# Two sessions.  host2 (t1): LUN 0 a controller without a disk, 1 sdb
# 1 GiB, 2 sdc (the target dropped it), 4 sde (dropped, but held by
# device mapper); LUN 3 appears on the next scan.  host3 (t2): LUN 1 sdf,
# mounted, and LUN 2 sdg, whose numbers now hold other data (the WWID
# changes on rescan); LUN 2 then comes back as sdh.
build_tree() {
	rm -rf "$SYS" "$STAGE" "$LUNS" "$KLOG" && mkdir -p "$STAGE" "$LUNS" "$TRASH/dev" &&
	fake_session 1 2 "$IQN:t1" 10.0.0.1 3260 &&
	fake_sdev 1 2:0:0:0 "" &&
	fake_sdev 1 2:0:0:1 naa.600000000000000000000000000000b1 sdb 2097152 8:16 &&
	fake_sdev 1 2:0:0:2 naa.600000000000000000000000000000c2 sdc 2097152 8:32 &&
	fake_sdev 1 2:0:0:4 naa.600000000000000000000000000000e4 sde 2097152 8:64 &&
	fake_holder sde dm-0 vg-data &&
	echo "fake_sdev 1 2:0:0:3 naa.600000000000000000000000000000d3 sdd 4194304 8:48" \
		>"$STAGE/host2.2:0:0:3" &&
	printf "0\n1\n3\n" >"$LUNS/host2" &&
	fake_session 2 3 "$IQN:t2" 10.0.0.2 3261 &&
	fake_sdev 2 3:0:0:1 naa.600000000000000000000000000000f1 sdf 2097152 8:80 &&
	fake_sdev 2 3:0:0:2 naa.600000000000000000000000000000a2 sdg 2097152 8:96 &&
	echo naa.60000000000000000000000000000ff1 >"$STAGE/wwid.3:0:0:1" &&
	echo naa.60000000000000000000000000000aa2 >"$STAGE/wwid.3:0:0:2" &&
	echo "fake_sdev 2 3:0:0:2 naa.60000000000000000000000000000aa2 sdh 2097152 8:112" \
		>"$STAGE/probe.3:0:0:2" &&
	printf "1\n2\n" >"$LUNS/host3" &&
	printf "30 1 8:80 / /srv/my\\\\040data rw,relatime shared:1 - ext4 /dev/sdf rw\n" >"$MOUNTS"
}

# ---- lunlink-rescan ------------------------------------------------------------
test_expect_success 'a fake tree: two sessions, stale, held, mounted and reused LUNs' '
	build_tree &&
	test -L "$SYS/class/scsi_device/2:0:0:1/device" &&
	test "$(cat "$SYS/class/scsi_device/2:0:0:1/device/block/sdb/size")" = 2097152
'

test_expect_success 'lunlink-rescan --json: exit 3, a held device was kept' '
	{ rescan --json >out.json 2>err; echo $? >rc; } &&
	test "$(cat rc)" = 3 &&
	json out.json "@{\$j->{sessions}} == 2 && \$j->{sessions}[0]{target} eq \"$IQN:t1\"
		&& \$j->{sessions}[0]{portal} eq \"10.0.0.1:3260\" && \$j->{sessions}[1]{host} == 3
		&& @{\$j->{errors}} == 0"
'

test_expect_success 'each host was scanned for new LUNs once, and its devices rescanned' '
	test "$(grep -c "^class/scsi_host/host2/scan - - -$" "$KLOG")" = 1 &&
	test "$(grep -c "^class/scsi_host/host3/scan - - -$" "$KLOG")" = 1 &&
	test_grep "^class/scsi_device/2:0:0:1/device/rescan 1$" "$KLOG" &&
	test_grep "^class/scsi_device/3:0:0:2/device/rescan 1$" "$KLOG"
'

test_expect_success 'the new LUN: /dev name, WWID and size' '
	json out.json "my \$c = ch(\"new\", \"2:0:0:3\"); \$c && \$c->{device} eq \"/dev/sdd\"
		&& \$c->{wwid} eq \"naa.600000000000000000000000000000d3\" && \$c->{size} == 2147483648"
'

test_expect_success 'the LUN the target dropped is deleted ("1" to its delete)' '
	test_grep "^class/scsi_device/2:0:0:2/device/delete 1$" "$KLOG" &&
	! test -e "$SYS/class/scsi_device/2:0:0:2" &&
	json out.json "my \$c = ch(\"removed\", \"2:0:0:2\"); \$c && \$c->{device} eq \"/dev/sdc\"
		&& \$c->{reason} =~ /no longer reports LUN 2/"
'

test_expect_success 'a dropped LUN held by device mapper is kept, and the holder named' '
	! grep "2:0:0:4/device/delete" "$KLOG" &&
	test -e "$SYS/class/scsi_device/2:0:0:4" &&
	json out.json "my \$c = ch(\"kept\", \"2:0:0:4\");
		\$c && \$c->{reason} =~ /held by dm-0 \\(vg-data\\) through sde/"
'

test_expect_success 'a reused LUN number (new WWID) is deleted and probed again' '
	test_grep "^class/scsi_device/3:0:0:2/device/delete 1$" "$KLOG" &&
	test_grep "^class/scsi_host/host3/scan 0 0 2$" "$KLOG" &&
	json out.json "my \$r = ch(\"removed\", \"3:0:0:2\"); my \$n = ch(\"new\", \"3:0:0:2\");
		\$r && \$r->{reason} =~ /WWID changed from naa.6\\d+a2 to naa.6\\d+aa2/
		&& \$r->{device} eq \"/dev/sdg\" && \$n && \$n->{device} eq \"/dev/sdh\""
'

test_expect_success 'a mounted device whose WWID changed is kept: "mounted on"' '
	! grep "3:0:0:1/device/delete" "$KLOG" &&
	json out.json "my \$c = ch(\"kept\", \"3:0:0:1\");
		\$c && \$c->{reason} =~ /mounted on \\/srv\\/my data \\(sdf\\)/"
'

test_expect_success 'the text report says the same, for people' '
	build_tree &&
	{ rescan >out.txt 2>err; echo $? >rc; } && test "$(cat rc)" = 3 &&
	test_grep "^session  1 host2 $IQN:t1 at 10.0.0.1:3260: rescanned" out.txt &&
	test_grep "^new      2:0:0:3 *\/dev\/sdd *wwid naa.6.*d3 size 2.00 GiB (2147483648 bytes)" out.txt &&
	test_grep "^removed  2:0:0:2 *\/dev\/sdc .*the target no longer reports LUN 2" out.txt &&
	test_grep "^IN USE   2:0:0:4 *\/dev\/sde .*not removed: held by dm-0 (vg-data) through sde" out.txt
'

test_expect_success 'a resize shows the old and the new size' '
	build_tree &&
	echo 6291456 >"$STAGE/size.2:0:0:1" &&
	rescan "$IQN:t1" >out.txt 2>err;
	test_grep "^resized  2:0:0:1 *\/dev\/sdb *1.00 GiB -> 3.00 GiB (1073741824 -> 3221225472 bytes)" out.txt &&
	! grep "session  2" out.txt && ! grep "host3" "$KLOG"
'

test_expect_success 'a session chosen by portal; an unknown one is an error that says so' '
	build_tree &&
	rescan --json 10.0.0.2:3261 >out.json 2>err;
	json out.json "@{\$j->{sessions}} == 1 && \$j->{sessions}[0]{session} == 2" &&
	test_must_fail rescan iqn.example:nothing >out.txt 2>err &&
	test_grep "no iSCSI session is logged in to .iqn.example:nothing." out.txt
'

test_expect_success '--dry-run writes nothing and says what it would delete' '
	build_tree &&
	rescan --dry-run >out.txt 2>err;
	! test -e "$KLOG" &&
	test_grep "^removed  2:0:0:2 .*dry run, not deleted: the target no longer reports LUN 2" out.txt &&
	test -e "$SYS/class/scsi_device/2:0:0:2"
'

test_expect_success 'without the target LUN list, only an offline device is stale' '
	build_tree && rm "$LUNS/host2" &&
	echo offline >"$SYS/class/scsi_device/2:0:0:1/device/state" &&
	rescan --json "$IQN:t1" >out.json 2>err;
	json out.json "my \$c = ch(\"removed\", \"2:0:0:1\");
		\$c && \$c->{reason} =~ /offline and the target.s LUN list is unknown/
		&& !ch(\"removed\", \"2:0:0:2\")"
'

test_expect_success 'a bad sysfs root or configuration is named' '
	test_must_fail "$RESCAN" -c /dev/null --sysfs "$TRASH/nosys" 2>err &&
	test_grep "the sysfs root .*/nosys (--sysfs) is not a folder: No such file" err &&
	test_must_fail "$RESCAN" -c "$TRASH/nonexistent.conf" 2>err &&
	test_grep "nonexistent.conf" err &&
	printf "hold_ms = 10;\nsysfs_root = \"/x\";\n" >bad.conf &&
	test_must_fail "$RESCAN" -c bad.conf 2>err &&
	test_grep "bad.conf:2: unknown setting .sysfs_root." err &&
	printf "max_parallel = 0;\n" >bad.conf &&
	test_must_fail "$RESCAN" -c bad.conf 2>err &&
	test_grep "bad.conf:1: max_parallel = 0 is out of range (1 to 64)" err &&
	printf "debounce_ms = 2000;\n" >old.conf &&
	test_must_fail "$RESCAN" -c old.conf 2>err &&
	test_grep "old.conf:1: debounce_ms is gone: .* set hold_ms" err &&
	test_must_fail "$RESCAND" -c /dev/null --debounce 500 2>err &&
	test_grep "debounce is gone: .*use --hold MS" err
'

# ---- --discover ------------------------------------------------------------------
cat >fake-iscsiadm.sh <<EOF
#!/bin/sh
echo "\$*" >>'$TRASH/iscsiadm.log'
SYS='$SYS'
. '$TRASH/fake-sysfs.sh'
case "\$*" in
"-m discovery -t st -p 10.0.0.1")
	echo "10.0.0.1:3260,1 $IQN:t1"; echo "10.0.0.1:3260,1 $IQN:t9" ;;
"-m node -T $IQN:t9 -p 10.0.0.1:3260 --login")
	fake_session 3 4 "$IQN:t9" 10.0.0.1 3260 &&
	fake_sdev 3 4:0:0:1 naa.60000000000000000000000000000091 sdi 204800 8:128 ;;
*)	echo "iscsiadm: cannot make connection to \$6: No route to host" >&2; exit 4 ;;
esac
EOF
chmod +x fake-iscsiadm.sh

test_expect_success '--discover logs in to the new target only, and lists its devices' '
	build_tree && rm -f iscsiadm.log &&
	rescan --json --iscsiadm "$TRASH/fake-iscsiadm.sh" --discover 10.0.0.1 >out.json 2>err;
	test "$(grep -c -- --login iscsiadm.log)" = 1 &&
	test_grep -- "-m node -T $IQN:t9 -p 10.0.0.1:3260 --login" iscsiadm.log &&
	json out.json "\$j->{logins}[0]{result} eq \"already\" && \$j->{logins}[1]{result} eq \"done\"
		&& \$j->{logins}[1]{target} eq \"$IQN:t9\" && @{\$j->{sessions}} == 3" &&
	json out.json "my \$c = ch(\"new\", \"4:0:0:1\"); \$c && \$c->{device} eq \"/dev/sdi\"
		&& \$c->{size} == 104857600"
'

test_expect_success 'a failed discovery exits 1 and names the portal and iscsiadm words' '
	build_tree &&
	test_must_fail rescan --iscsiadm "$TRASH/fake-iscsiadm.sh" --discover 10.9.9.9 >out.txt 2>err &&
	test_grep "discovery at 10.9.9.9: .*exited 4: iscsiadm: cannot make connection" out.txt
'

# ---- the daemon ------------------------------------------------------------------
SOCK="$TRASH/uevent.sock"
DLOG="$TRASH/daemon.log"
daemon_pid=
stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	kill "$daemon_pid" 2>/dev/null
	wait_for 5 sh -c "! kill -0 $daemon_pid" || kill -9 "$daemon_pid" 2>/dev/null
	daemon_pid=
}
test_atexit stop_daemon

# uevent H:C:T:L SDEV_UA [SEQNUM]: the kernel's message for a scsi_device UA
uevent() {
	local host=${1%%:*} ct=${1%:*}
	local p="/devices/platform/host$host/session1/target$ct/$1"
	perl -MSocket -e '
		socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
		my $m = join("\0", @ARGV[1 .. $#ARGV]) . "\0";
		send($s, $m, 0, pack_sockaddr_un($ARGV[0])) or die "send: $!"' \
		"$SOCK" "change@$p" ACTION=change "DEVPATH=$p" SUBSYSTEM=scsi \
		DEVTYPE=scsi_device "SDEV_UA=$2" "SEQNUM=${3:-1000}"
}

# uevent_burst SDEV_UA H:C:T:L...: that UA from each device, all sent by one
# process: queued together, as the kernel queues a burst the daemon has
# not read yet
uevent_burst() {
	local ua=$1 seq=700
	shift
	perl -MSocket -e '
		socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
		my ($sock, $ua, $seq) = splice(@ARGV, 0, 3);
		for my $d (@ARGV) {
			(my $ct = $d) =~ s/:[^:]*$//; (my $h = $d) =~ s/:.*//;
			my $p = "/devices/platform/host$h/session1/target$ct/$d";
			my $m = join("\0", "change\@$p", "ACTION=change", "DEVPATH=$p",
				"SUBSYSTEM=scsi", "DEVTYPE=scsi_device", "SDEV_UA=$ua",
				"SEQNUM=" . $seq++) . "\0";
			send($s, $m, 0, pack_sockaddr_un($sock)) or die "send: $!";
		}' "$SOCK" "$ua" "$seq" "$@"
}

# workers_done N: the daemon's log says N workers ended
workers_done() { test "$(grep -c "worker .* done" "$DLOG")" = "$1"; }

# send_file FILE: one datagram with FILE's bytes
send_file() {
	perl -MSocket -e '
		socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
		local $/; open my $f, "<:raw", $ARGV[1] or die "$ARGV[1]: $!"; my $m = <$f>;
		defined(send($s, $m, 0, pack_sockaddr_un($ARGV[0]))) or die "send: $!"' "$SOCK" "$1"
}

test_expect_success 'the daemon starts in the foreground and says it is ready' '
	build_tree &&
	"$RESCAND" -f -c /dev/null --log stderr -v --hold 1000 --uevent-socket "$SOCK" \
		--sysfs "$SYS" --dev "$TRASH/dev" --mountinfo "$MOUNTS" \
		--test-kernel "$TRASH/fake-kernel.sh" --test-report-luns "$LUNS" 2>"$DLOG" &
	daemon_pid=$! &&
	wait_for 5 grep -q "ready: watching .*2 iSCSI sessions" "$DLOG" &&
	test -S "$SOCK"
'

test_expect_success 'a burst of LUN-change uevents from every LUN: one scan of that host, at once' '
	t0=$(date +%s%N) &&
	uevent_burst REPORTED_LUNS_DATA_HAS_CHANGED 2:0:0:0 2:0:0:1 2:0:0:2 2:0:0:4 &&
	wait_for 5 grep -q "worker [0-9]*: scan of host2" "$DLOG" &&
	ms=$((($(date +%s%N) - t0) / 1000000)) &&
	uevent 2:0:0:1 REPORTED_LUNS_DATA_HAS_CHANGED 110 &&
	say "burst to its scan started: $ms ms (the hold is 1000 ms; the scan does not wait for it)" &&
	test $ms -lt 900 &&
	wait_for 10 grep -q "new device 2:0:0:3" "$DLOG" &&
	test_grep "REPORTED LUNS DATA HAS CHANGED from 2:0:0:0 (session 1, $IQN:t1): scan of host2 now" "$DLOG" &&
	test_grep "scanning host2 (session 1, $IQN:t1) for [1-4] LUN change events\{0,1\}$" "$DLOG" &&
	test_grep "^class/scsi_host/host2/scan - - -$" "$KLOG" &&
	! grep host3 "$KLOG"
'

test_expect_success 'the straggler that came after the scan began: one follow-up reconcile, no second scan' '
	test_grep "came during the scan of host2\|scan of host2 ran less than 1000 ms ago" "$DLOG" &&
	wait_for 5 grep -q "reconciling host2 .* for [1-4] LUN change events\{0,1\} that came after its scan began" "$DLOG" &&
	first=$(sed -n "s/.*scanning host2 .* for \([0-9]*\) LUN change.*/\1/p" "$DLOG") &&
	then=$(sed -n "s/.*reconciling host2 .* for \([0-9]*\) LUN change .*after its scan began/\1/p" "$DLOG") &&
	say "the scan stood for $first events, its follow-up for $then" &&
	test $((first + then)) = 5 &&
	wait_for 5 workers_done 2 &&
	test "$(grep -c "scan - - -" "$KLOG")" = 1 &&
	test "$(grep -c "scanning host2" "$DLOG")" = 1
'

test_expect_success 'the daemon deleted the dropped LUN and kept the held one, naming dm-0' '
	test_grep "^class/scsi_device/2:0:0:2/device/delete 1$" "$KLOG" &&
	test_grep "removed device 2:0:0:2 /dev/sdc .*the target no longer reports LUN 2" "$DLOG" &&
	test_grep "stale device 2:0:0:4 /dev/sde kept: .*held by dm-0 (vg-data) through sde" "$DLOG"
'

test_expect_success 'a capacity change rescans that device only and logs both sizes' '
	: >"$KLOG" &&
	echo 4194304 >"$STAGE/size.2:0:0:1" &&
	uevent 2:0:0:1 CAPACITY_DATA_HAS_CHANGED 200 &&
	wait_for 10 grep -q "resized device 2:0:0:1" "$DLOG" &&
	test_grep "resized device 2:0:0:1 /dev/sdb from 1073741824 (1.00 GiB) to 2147483648 (2.00 GiB)" "$DLOG" &&
	echo "class/scsi_device/2:0:0:1/device/rescan 1" >expect && test_cmp expect "$KLOG"
'

test_expect_success 'a uevent of a host with no iSCSI session and other UAs are ignored' '
	uevent 9:0:0:1 REPORTED_LUNS_DATA_HAS_CHANGED 300 &&
	uevent 2:0:0:1 MODE_PARAMETERS_CHANGED 301 &&
	wait_for 5 grep -q "ignoring SDEV_UA=MODE_PARAMETERS_CHANGED" "$DLOG" &&
	test_grep "host9 is not an iSCSI host" "$DLOG" &&
	sleep 0.5 && test_cmp expect "$KLOG"
'

# sdev_uevent ACTION H:C:T:L: the kernel's message for a scsi_device added or removed
sdev_uevent() {
	local host=${2%%:*} ct=${2%:*}
	local p="/devices/platform/host$host/session1/target$ct/$2"
	perl -MSocket -e '
		socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
		my $m = join("\0", @ARGV[1 .. $#ARGV]) . "\0";
		send($s, $m, 0, pack_sockaddr_un($ARGV[0])) or die "send: $!"' \
		"$SOCK" "$1@$p" "ACTION=$1" "DEVPATH=$p" SUBSYSTEM=scsi DEVTYPE=scsi_device SEQNUM=500
}

test_expect_success 'a device added by someone else (iscsid): that host is reconciled, not scanned' '
	: >"$KLOG" &&
	fake_sdev 1 2:0:0:7 naa.600000000000000000000000000000a7 sdi 2097152 8:128 &&
	printf "0\n1\n4\n7\n" >"$LUNS/host2" &&
	sdev_uevent add 2:0:0:7 &&
	wait_for 10 grep -q "removed device 2:0:0:3" "$DLOG" &&
	test_grep "2:0:0:7 added by someone else (session 1, $IQN:t1): reconcile of host2" "$DLOG" &&
	test_grep "reconciling host2 (session 1, $IQN:t1) with the target.s LUNs for 1 event" "$DLOG" &&
	test_grep "new device 2:0:0:7 /dev/sdi" "$DLOG" &&
	test_grep "^class/scsi_device/2:0:0:3/device/delete 1$" "$KLOG" &&
	! grep "scan - - -" "$KLOG"
'

test_expect_success 'the remove uevent of the device we deleted starts nothing' '
	wait_for 5 grep -q "worker .* done" "$DLOG" &&
	n=$(grep -c "reconciling host2" "$DLOG") &&
	sdev_uevent remove 2:0:0:3 && sleep 1.5 &&
	test "$(grep -c "reconciling host2" "$DLOG")" = "$n"
'

test_expect_success 'a LUN the target reports with no device: a reconcile scans the host once' '
	: >"$KLOG" &&
	echo "fake_sdev 1 2:0:0:8 naa.600000000000000000000000000000a8 sdj 2097152 8:144" \
		>"$STAGE/host2.2:0:0:8" &&
	printf "0\n1\n4\n7\n8\n" >"$LUNS/host2" &&
	fake_sdev 1 2:0:0:9 naa.600000000000000000000000000000a9 &&
	printf "0\n1\n4\n7\n8\n9\n" >"$LUNS/host2" &&
	sdev_uevent add 2:0:0:9 &&
	wait_for 10 grep -q "new device 2:0:0:8" "$DLOG" &&
	test_grep "the target reports LUN 8, which has no device here: scanning host2 once" "$DLOG" &&
	test "$(grep -c "scan - - -" "$KLOG")" = 1
'

test_expect_success 'malformed, truncated and oversized uevents are dropped with a log line' '
	for f in "$T_DIR"/fuzz/corpus/uevent/bad-*; do send_file "$f" || return 1; done &&
	head -c 9000 /dev/zero | tr "\\0" x >huge && send_file huge &&
	wait_for 5 grep -q "dropped a uevent: a message of 9000 bytes, more than the 8192" "$DLOG" &&
	test_grep "dropped a malformed uevent .*: truncated" "$DLOG" &&
	test_grep "dropped a malformed uevent .*udev message" "$DLOG" &&
	kill -0 $daemon_pid
'

test_expect_success 'SIGTERM stops it at once, exit 0, socket removed' '
	kill $daemon_pid && wait_for 5 sh -c "! kill -0 $daemon_pid" &&
	wait $daemon_pid; rc=$?; daemon_pid= && test $rc = 0 &&
	test_grep "stopped" "$DLOG" && ! test -e "$SOCK"
'

test_expect_success 'daemonized, the starting command waits for it and fails when it cannot start' '
	test_must_fail "$RESCAND" -c /dev/null --log stderr --uevent-socket /nonexistent/dir/s \
		--sysfs "$SYS" 2>err &&
	test_grep "uevent-socket /nonexistent/dir/s: bind" err
'

test_done
