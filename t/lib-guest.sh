# SPDX-License-Identifier: GPL-2.0-or-later
#
# lib-guest.sh: a real Linux iSCSI initiator for the tests, a Debian 12
# kernel with open-iscsi booted under QEMU.  Sourced after test-lib.sh.
#
# The machines here have no SCSI layer (no /sys/class/scsi_host), so no
# kernel initiator can run on the host; a guest can, and boots in seconds
# under software emulation (KVM is unusable here: -accel tcg).
#
#   guest_prepare || skip_all "$GUEST_SKIP"
#   guest_net G                                  # namespace + tap, first
#   TGTD_NETNS=$G_NETNS TGTD_ADDR=$G_HOST_ADDR tgtd_start P
#   target_new P 1 && lun_new P 1 1 "$TRASH/1.img"
#   guest_start G "$G_HOST_ADDR:$P_PORT"        # boots, discovers, logs in
#   guest_run G 10 'ls /sys/block'               # exit status of the command
#   guest_stop G                                 # also run at exit
#
# With t/lib-cluster.sh's nodes: guest_bridge G (after cluster_up) joins
# G's namespace to their bridge; guest_rescand_files gives GUEST_FILES
# for a guest running lunlink-rescand.
#
# guest_prepare builds once, and reuses, under $GUEST_CACHE
# (/var/cache/lunlink-test/guest, outside the tree): the kernel that
# Debian's linux-image-amd64 depends on, unpacked from its .deb, with its
# vmlinuz turned into an uncompressed vmlinux (QEMU starts that ELF
# directly, which halves the boot), and a base initramfs (uncompressed
# cpio): busybox-static, open-iscsi's iscsid and iscsiadm with the
# libraries ldd lists, the host's e2fsprogs mke2fs as /sbin/mke2fs (busybox
# has an applet of that name on the PATH, which makes no ext4: call it by
# its full path), and the modules virtio_pci virtio_net virtio_console
# iscsi_tcp sd_mod crc32c_generic ext4 with their dependencies, in load
# order.  Each boot appends a small cpio with /init and the
# initiator's name; settings reach /init on the kernel command line
# (lunlink.ip=, lunlink.portal=).
#
# Network: guest_net NAME makes a network namespace lunlink-TEST-PID-NAME
# with a tap device tap0, 10.231.0.1/24 (the host side; NAME_HOST_ADDR);
# the guest is 10.231.0.2.  Each guest has its own namespace, so the
# addresses never meet.  tgtd runs in that namespace with its portal on
# the tap's address (lib-tgtd.sh: TGTD_NETNS, TGTD_ADDR), so discovery
# returns an address the guest reaches.  QEMU runs there too.
#
# The command channel: a second virtio-serial port named lunlink.cmd,
# backed by a QEMU "pipe" chardev, i.e. two FIFOs, guest-NAME/cmd.in and
# guest-NAME/cmd.out.  QEMU opens both read-write, so neither side ever
# blocks on open; a `cat` drains cmd.out into guest-NAME/channel.log for
# the guest's life.  guest_run writes one line "ID SECONDS BASE64" to
# cmd.in (opened read-write too: a dead QEMU cannot hang the writer); the
# guest's /init reads the port line by line, decodes the command into
# /tmp/cmd.sh, runs it under `timeout -s KILL SECONDS` with stdin from
# /dev/null and output to a file, and writes back
#     LUNLINK-BEGIN ID
#     ...output (stdout and stderr)...
#     LUNLINK-END ID STATUS
# guest_run polls channel.log every 10 ms for the END line, bounded by
# SECONDS plus a margin, prints the output and returns STATUS (124 if no
# answer came, 125 if QEMU is gone).  One command at a time per guest: the
# guest runs them in order.  A command may leave something running in the
# background (redirect its output).  Before the command loop the guest
# writes "LUNLINK-READY login=STATUS", which guest_start waits for.
#
# The guest logs every iscsiadm call to /tmp/iscsiadm.log (a wrapper
# around the real binary) and every channel command to /tmp/commands.log,
# so a test can show that nobody asked for a rescan; iscsid runs with
# -d 4 into /tmp/iscsid.log ("Read AEN 0" when an Async Message arrives).
# The serial console (kernel log, /init's messages) goes to
# $TRASH/guest-NAME.console.
#
# Opt-in extras: GUEST_EXTRAS, a space-separated list, empty by default
# (the other guest tests boot exactly as before).  Each extra is a cpio
# built once under the kernel's cache folder and appended to each boot's
# initramfs; set it before guest_prepare, which checks and builds them.
#   sg_persist  sg3-utils' sg_persist (the host's, with the libraries ldd
#               lists), for PERSISTENT RESERVE IN/OUT from the guest
#   multipath   device-mapper multipath: the modules dm_mod dm_multipath
#               dm_round_robin dm_service_time (loaded at boot after the
#               base ones), the host's dmsetup with its libraries, and
#               multipath-tools' multipath and multipathd (unpacked from
#               Debian's package, with liburcu8, and libgcc_s).  There is
#               no udevd: call dmsetup with DM_DISABLE_UDEV=1 (nobody
#               else makes /dev/mapper's nodes or answers its cookies);
#               multipathd runs only with the stand-ins doc/initiator.md
#               ("Failover on the host") lists.
#
# Extra files: GUEST_FILES, a space-separated list of HOSTPATH=GUESTPATH
# (absolute in the guest, no spaces), are copied into each boot's small
# cpio, mode kept (t/t4100 puts a static lunlink-rescand there).  Empty by
# default.
#
# guest_net and guest_start set NAME_* variables and start processes: call
# them in the test's own shell, not in $(...).  guest_net registers
# guest_stop with test_atexit, so the guest and its namespace go on every
# exit path.  (One harmless line on the console: crct10dif-pclmul does not
# load, the emulated CPU has no PCLMULQDQ; crct10dif_generic does the job.)

GUEST_CACHE=${GUEST_CACHE:-/var/cache/lunlink-test/guest}
GUEST_MODULES="virtio_pci virtio_net virtio_console iscsi_tcp sd_mod crc32c_generic ext4"
GUEST_BOOT_TIMEOUT=${GUEST_BOOT_TIMEOUT:-90}
# the recipe's version: bump it when the base initramfs changes
GUEST_RECIPE=2
GUEST_SKIP=
GUEST_FILES=${GUEST_FILES:-}
GUEST_EXTRAS=${GUEST_EXTRAS:-}
# the extras' recipe: bump it when an extra's cpio changes
GUEST_EXTRA_RECIPE=2
GUEST_EXTRA_CPIOS=

guest_say() { printf '# guest: %s\n' "$*" >&3; }

# guest_watchdog SECONDS: bound the whole test.  Every wait in a guest test
# is bounded; this bounds their sum: after SECONDS the test bails out (TAP
# "Bail out!"), and its exit path stops the guests and tgtds.
guest_watchdog() {
	(
		end=$(($(date +%s) + $1))
		while [ "$(date +%s)" -lt $end ]; do sleep 1 5>&-; done
		echo "Bail out! $TEST_NAME ran for more than $1 s" >&5
		kill -TERM $$
	) </dev/null >/dev/null 2>&1 3>&- 4>&- 6>&- &
	test_atexit "kill $! 2>/dev/null"
}

# ---- building the kernel and base initramfs, once ------------------------

# guest_missing_packages: the Debian packages the host lacks for this
guest_missing_packages() {
	command -v qemu-system-x86_64 >/dev/null || echo qemu-system-x86
	# the guest's only shell and tools: a static busybox with base64
	LC_ALL=C ldd /bin/busybox 2>&1 | grep -q 'not a dynamic executable' &&
		/bin/busybox --list | grep -qx base64 || echo busybox-static
	command -v cpio >/dev/null || echo cpio
	command -v depmod >/dev/null && command -v modprobe >/dev/null || echo kmod
	command -v xz >/dev/null || echo xz-utils
	[ -x /sbin/mke2fs ] && [ -f /etc/mke2fs.conf ] || echo e2fsprogs
	case " $GUEST_EXTRAS " in *" sg_persist "*)
		command -v sg_persist >/dev/null || echo sg3-utils ;;
	esac
	case " $GUEST_EXTRAS " in *" multipath "*)
		[ -x /sbin/dmsetup ] || echo dmsetup ;;
	esac
	return 0
}

# guest_host_tools: install what the host lacks, with apt-get (bounded)
guest_host_tools() {
	local missing
	missing=$(guest_missing_packages | tr '\n' ' ')
	[ -z "$missing" ] && return 0
	guest_say "installing $missing"
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q \
		--no-install-recommends $missing >"$GUEST_CACHE/apt-install.log" 2>&1
	missing=$(guest_missing_packages | tr '\n' ' ')
	[ -z "$missing" ] && return 0
	GUEST_SKIP="cannot install $missing with apt-get (see $GUEST_CACHE/apt-install.log)"
	return 1
}

# guest_prepare: make sure the kernel and base initramfs are in the cache;
# sets GUEST_KVER, GUEST_VMLINUX, GUEST_BASE_CPIO; on failure GUEST_SKIP
# says why.
guest_prepare() {
	local kpkg kver dir
	[ "$(id -u)" = 0 ] || { GUEST_SKIP="needs root (network namespaces, tap devices)"; return 1; }
	mkdir -p "$GUEST_CACHE" 2>/dev/null || { GUEST_SKIP="cannot create $GUEST_CACHE"; return 1; }
	[ -c /dev/net/tun ] || { GUEST_SKIP="no /dev/net/tun (tap devices)"; return 1; }
	command -v ip >/dev/null || { GUEST_SKIP="no ip (iproute2)"; return 1; }
	guest_host_tools || return 1
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
	if [ -z "$kpkg" ]; then
		# no apt lists: any kernel built before will do
		dir=$(ls -d "$GUEST_CACHE"/*/base-$GUEST_RECIPE.cpio 2>/dev/null | tail -n 1)
		[ -n "$dir" ] || {
			GUEST_SKIP="apt-cache does not know linux-image-amd64 (run apt-get update)"
			return 1
		}
		kpkg=linux-image-$(basename "$(dirname "$dir")")
	fi
	kver=${kpkg#linux-image-}
	dir=$GUEST_CACHE/$kver
	GUEST_KVER=$kver
	GUEST_VMLINUX=$dir/vmlinux
	GUEST_BASE_CPIO=$dir/base-$GUEST_RECIPE.cpio
	if ! [ -s "$GUEST_VMLINUX" ] || ! [ -s "$GUEST_BASE_CPIO" ]; then
		# one builder at a time; the others wait (bounded) and reuse its work
		(
			flock -w 300 9 || { echo "timed out waiting for $GUEST_CACHE/lock" >"$GUEST_CACHE/last-error"; exit 1; }
			[ -s "$GUEST_VMLINUX" ] && [ -s "$GUEST_BASE_CPIO" ] && exit 0
			guest_build "$kpkg" "$kver" "$dir" >"$GUEST_CACHE/build.log" 2>&1 ||
				{ tail -n 5 "$GUEST_CACHE/build.log" | tr '\n' ' ' >"$GUEST_CACHE/last-error"; exit 1; }
		) 9>"$GUEST_CACHE/lock" || {
			GUEST_SKIP="building the guest failed: $(cat "$GUEST_CACHE/last-error" 2>/dev/null) (log: $GUEST_CACHE/build.log)"
			return 1
		}
		[ -s "$GUEST_VMLINUX" ] && [ -s "$GUEST_BASE_CPIO" ] || return 1
	fi
	guest_extras_prepare "$kpkg" "$kver" "$dir"
}

# guest_extras_prepare KPKG KVER DIR: each of GUEST_EXTRAS's cpios, built
# once (under the same lock as the base); sets GUEST_EXTRA_CPIOS
guest_extras_prepare() {
	local kpkg=$1 kver=$2 dir=$3 x cpio
	GUEST_EXTRA_CPIOS=
	for x in $GUEST_EXTRAS; do
		case "$x" in
		sg_persist|multipath) ;;
		*) GUEST_SKIP="GUEST_EXTRAS: unknown extra $x (sg_persist, multipath)"; return 1 ;;
		esac
		cpio=$dir/extra-$x-$GUEST_EXTRA_RECIPE.cpio
		if ! [ -s "$cpio" ]; then
			(
				flock -w 300 9 || { echo "timed out waiting for $GUEST_CACHE/lock" >"$GUEST_CACHE/last-error"; exit 1; }
				[ -s "$cpio" ] && exit 0
				guest_extra_build "$x" "$kpkg" "$kver" "$dir" "$cpio" >"$GUEST_CACHE/build-$x.log" 2>&1 ||
					{ tail -n 5 "$GUEST_CACHE/build-$x.log" | tr '\n' ' ' >"$GUEST_CACHE/last-error"; exit 1; }
			) 9>"$GUEST_CACHE/lock" || {
				GUEST_SKIP="building the guest's $x extra failed: $(cat "$GUEST_CACHE/last-error" 2>/dev/null) (log: $GUEST_CACHE/build-$x.log)"
				return 1
			}
		fi
		GUEST_EXTRA_CPIOS="$GUEST_EXTRA_CPIOS $cpio"
	done
}

# guest_copy_libs ROOT LIBPATH BIN...: the shared libraries ldd lists for
# each BIN (looked up in LIBPATH first) into ROOT/lib/x86_64-linux-gnu;
# fails if one is missing
guest_copy_libs() {
	local root=$1 libpath=$2 name path
	shift 2
	mkdir -p "$root/lib/x86_64-linux-gnu" || return 1
	LD_LIBRARY_PATH=$libpath LC_ALL=C ldd "$@" >"$root.ldd" || return 1
	if grep 'not found' "$root.ldd"; then
		echo "$*: needs libraries the host lacks"; return 1
	fi
	sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) .*/\1 \2/p' "$root.ldd" | sort -u |
	while read -r name path; do
		cp -L "$path" "$root/lib/x86_64-linux-gnu/$name" || exit 1
	done
}

# guest_extra_build NAME KPKG KVER DIR CPIO: one extra's cpio, logged
guest_extra_build() {
	local x=$1 kpkg=$2 kver=$3 dir=$4 cpio=$5 debs="$GUEST_CACHE/debs" root k mp name m
	set -x
	root=$dir/extra-$x
	rm -rf "$root" && mkdir -p "$root/sbin" "$root/lib/modules" || return 1
	case "$x" in
	sg_persist)
		cp /usr/bin/sg_persist "$root/sbin/" &&
		guest_copy_libs "$root" "" /usr/bin/sg_persist || return 1
		;;
	multipath)
		# the modules, from the kernel's package again (the base build
		# keeps only vmlinux), less those the base already loads
		k=$dir/kernel-$x
		rm -rf "$k" && mkdir -p "$k" &&
		dpkg-deb -x "$(ls "$debs/${kpkg}_"*.deb | tail -n 1)" "$k" &&
		depmod -b "$k" "$kver" &&
		modprobe -d "$k" -S "$kver" --show-depends -a \
			dm_mod dm_multipath dm_round_robin dm_service_time >"$root.dep" || return 1
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' "$root.dep" |
		while read -r m; do
			awk '$1 == "insmod" { print $2 }' "$dir/modules.dep" |
				grep -q "/${m##*/}\$" && continue
			cp "$m" "$root/lib/modules/" && basename "$m" || exit 1
		done >"$root/lib/modules/load-multipath.list" || return 1
		rm -rf "$k"
		cp /sbin/dmsetup "$root/sbin/dmsetup" &&
		guest_copy_libs "$root" "" /sbin/dmsetup || return 1
		# multipath-tools, unpacked, not installed: the programs in /sbin,
		# their libraries beside the others, the checkers and
		# prioritizers in /lib/multipath where they look; libgcc_s,
		# which glibc loads for pthread_cancel (ldd does not list it)
		for name in multipath-tools liburcu8; do
			ls "$debs/${name}_"*.deb >/dev/null 2>&1 && continue
			(cd "$debs" && timeout 300 apt-get download "$name") || return 1
		done
		mp=$dir/extra-$x-unpacked
		rm -rf "$mp" && mkdir -p "$mp" || return 1
		for name in multipath-tools liburcu8; do
			dpkg-deb -x "$(ls "$debs/${name}_"*.deb | tail -n 1)" "$mp" || return 1
		done
		cp "$mp/sbin/multipath" "$mp/sbin/multipathd" "$root/sbin/" &&
		mkdir -p "$root/lib/multipath" && cp "$mp"/lib/multipath/*.so "$root/lib/multipath/" &&
		guest_copy_libs "$root" "$mp/lib:$mp/usr/lib/x86_64-linux-gnu" \
			"$mp/sbin/multipathd" "$mp/sbin/multipath" &&
		cp -L "$(LC_ALL=C ldconfig -p | sed -n 's/^[[:space:]]*libgcc_s.so.1 (libc6,x86-64) => //p' | head -n 1)" \
			"$root/lib/x86_64-linux-gnu/libgcc_s.so.1" || return 1
		rm -rf "$mp"
		;;
	esac
	(cd "$root" && find . | sort | cpio -o -H newc --quiet) >"$cpio.tmp" &&
	mv "$cpio.tmp" "$cpio" || return 1
	rm -rf "$root" "$root.ldd" "$root.dep"
	set +x
	echo "built $cpio ($(du -h "$cpio" | cut -f1))"
}

# guest_build KPKG KVER DIR: the slow part, logged to build.log
guest_build() {
	local kpkg=$1 kver=$2 dir=$3 debs="$GUEST_CACHE/debs" ov root off m name path
	set -x
	mkdir -p "$debs" "$dir" || return 1
	rm -rf "$dir/kernel" "$dir/open-iscsi" "$dir/root" "$dir/base-"*.cpio
	# the kernel
	if ! ls "$debs/${kpkg}_"*.deb >/dev/null 2>&1; then
		(cd "$debs" && timeout 600 apt-get download "$kpkg") || return 1
	fi
	mkdir -p "$dir/kernel" &&
	dpkg-deb -x "$(ls "$debs/${kpkg}_"*.deb | tail -n 1)" "$dir/kernel" || return 1
	depmod -b "$dir/kernel" "$kver" || return 1
	if [ ! -s "$dir/vmlinux" ]; then
		# vmlinuz is a boot stub followed by the xz-compressed ELF
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$dir/kernel/boot/vmlinuz-$kver" |
			head -n 1 | cut -d: -f1)
		[ -n "$off" ] || { echo "no xz stream in vmlinuz-$kver"; return 1; }
		# xz complains about what follows the stream; the ELF check decides
		tail -c +$((off + 1)) "$dir/kernel/boot/vmlinuz-$kver" | xz -dcq >"$dir/vmlinux.tmp" 2>/dev/null
		[ "$(head -c 4 "$dir/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] ||
			{ echo "no ELF in vmlinuz-$kver"; return 1; }
		mv "$dir/vmlinux.tmp" "$dir/vmlinux"
	fi
	# open-iscsi, unpacked, not installed
	for name in open-iscsi libopeniscsiusr libisns0; do
		ls "$debs/${name}_"*.deb >/dev/null 2>&1 && continue
		(cd "$debs" && timeout 300 apt-get download "$name") || return 1
	done
	ov=$dir/open-iscsi
	mkdir -p "$ov" || return 1
	for name in open-iscsi libopeniscsiusr libisns0; do
		dpkg-deb -x "$(ls "$debs/${name}_"*.deb | tail -n 1)" "$ov" || return 1
	done
	# the initramfs tree
	root=$dir/root
	mkdir -p "$root/bin" "$root/sbin" "$root/lib/modules" "$root/lib/x86_64-linux-gnu" \
		"$root/lib64" "$root/etc/iscsi" "$root/proc" "$root/sys" "$root/dev" \
		"$root/tmp" "$root/run" "$root/root" "$root/var/lib/iscsi" || return 1
	cp /bin/busybox "$root/bin/busybox" || return 1
	cp "$ov/sbin/iscsid" "$root/sbin/iscsid" &&
	cp "$ov/sbin/iscsiadm" "$root/sbin/iscsiadm.real" || return 1
	mkdir -p "$root/etc" && cp /sbin/mke2fs "$root/sbin/mke2fs" &&
	cp /etc/mke2fs.conf "$root/etc/mke2fs.conf" || return 1
	cat >"$root/sbin/iscsiadm" <<-'EOF'
	#!/bin/sh
	# every call is logged, so a test can tell who asked for what
	echo "$(cut -d' ' -f1 /proc/uptime) iscsiadm $*" >>/tmp/iscsiadm.log
	exec /sbin/iscsiadm.real "$@"
	EOF
	chmod 755 "$root/sbin/iscsiadm"
	# the libraries, under the names the binaries ask for
	LD_LIBRARY_PATH="$ov/usr/lib/x86_64-linux-gnu:$ov/lib/x86_64-linux-gnu" \
		ldd "$ov/sbin/iscsid" "$ov/sbin/iscsiadm" /sbin/mke2fs >"$dir/ldd.out" || return 1
	if grep 'not found' "$dir/ldd.out"; then
		echo "iscsid/iscsiadm/mke2fs need libraries the host lacks"; return 1
	fi
	sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) .*/\1 \2/p' "$dir/ldd.out" | sort -u |
	while read -r name path; do
		cp -L "$path" "$root/lib/x86_64-linux-gnu/$name" || exit 1
	done || return 1
	cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/" || return 1
	# the modules, in load order
	modprobe -d "$dir/kernel" -S "$kver" --show-depends -a $GUEST_MODULES >"$dir/modules.dep" || return 1
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' "$dir/modules.dep" |
	while read -r m; do
		cp "$m" "$root/lib/modules/" && basename "$m" || exit 1
	done >"$root/lib/modules/load.list" || return 1
	# configuration
	echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
	echo 'root:x:0:' >"$root/etc/group"
	sed -e 's|^iscsid.startup = .*|iscsid.startup = /bin/true|' \
	    -e 's|^node.session.scan = .*|node.session.scan = auto|' \
	    -e 's|^node.session.initial_login_retry_max = .*|node.session.initial_login_retry_max = 2|' \
	    -e 's|^node.session.timeo.replacement_timeout = .*|node.session.timeo.replacement_timeout = 15|' \
		"$ov/etc/iscsi/iscsid.conf" >"$root/etc/iscsi/iscsid.conf" || return 1
	grep -qx 'node.session.scan = auto' "$root/etc/iscsi/iscsid.conf" || {
		echo "iscsid.conf has no node.session.scan key"; return 1; }
	(cd "$root" && find . | sort | cpio -o -H newc --quiet) >"$dir/base.tmp" || return 1
	mv "$dir/base.tmp" "$GUEST_BASE_CPIO"
	# what stays: vmlinux and the cpio (the unpacked kernel is 400 MB)
	rm -rf "$root" "$ov" "$dir/kernel"
	set +x
	echo "built $GUEST_BASE_CPIO ($(du -h "$GUEST_BASE_CPIO" | cut -f1))"
}

# ---- the guest's /init ---------------------------------------------------
guest_init_script() {
	cat <<-'EOF'
	#!/bin/busybox sh
	# lunlink test guest (t/lib-guest.sh): network, iscsid, login, commands
	/bin/busybox --install -s /bin
	export PATH=/bin:/sbin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /run/lock/iscsi /etc/iscsi/nodes /etc/iscsi/send_targets /etc/iscsi/ifaces
	say() { echo "lunlink-guest: $*"; }
	arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^lunlink\.$1=//p"; }
	# the base modules, then an extra's (GUEST_EXTRAS), in load order
	for m in $(cat /lib/modules/load.list /lib/modules/load-*.list 2>/dev/null); do
		insmod "/lib/modules/$m" 2>/dev/null || say "insmod $m failed"
	done
	ip link set lo up
	ip addr add "$(arg ip)" dev eth0 && ip link set eth0 up || say "no network"
	iscsid -f -d 4 >/tmp/iscsid.log 2>&1 &
	i=0
	until iscsiadm.real -m session >/dev/null 2>&1 || [ $? = 21 ] || [ $i -ge 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	login=none portal=$(arg portal)
	if [ -n "$portal" ]; then
		iscsiadm -m discovery -t sendtargets -p "$portal" &&
		iscsiadm -m node -p "$portal" --login
		login=$?
		say "login to $portal: $login"
	fi
	# from now on every uevent, with the SCSI unit attention a change
	# event carries (SDEV_UA)
	uevent sh -c 'echo "$(cut -d" " -f1 /proc/uptime) $ACTION $DEVPATH ${SDEV_UA:-}" >>/tmp/uevents.log' &
	port=
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = lunlink.cmd ] && port=/dev/${p##*/}
	done
	[ -n "$port" ] || { say "no command port"; poweroff -f; }
	exec 3<>"$port"
	say "ready on $port"
	echo "LUNLINK-READY login=$login" >&3
	while read -r id limit b64 <&3; do
		echo "$b64" | base64 -d >/tmp/cmd.sh
		echo "$(cut -d' ' -f1 /proc/uptime) $id: $(head -c 200 /tmp/cmd.sh | tr '\n' ' ')" >>/tmp/commands.log
		timeout -s KILL "$limit" sh /tmp/cmd.sh </dev/null >/tmp/cmd.out 2>&1
		rc=$?
		{
			echo "LUNLINK-BEGIN $id"
			cat /tmp/cmd.out
			# END starts a line (wc: NUL-safe, unlike $(...))
			[ -s /tmp/cmd.out ] && [ "$(tail -c 1 /tmp/cmd.out | wc -l)" = 0 ] && echo
			echo "LUNLINK-END $id $rc"
		} >&3
	done
	say "command port closed"
	poweroff -f
	EOF
}

# guest_binary BIN GUESTPATH: GUEST_FILES entries (printed) for a
# dynamically linked program and the shared libraries ldd lists for it
# (copied under $TRASH/guest-libs, to /lib/x86_64-linux-gnu in the guest,
# where the base initramfs keeps iscsid's).  Fails if ldd finds one
# missing.
guest_binary() {
	local bin=$1 dst=$2 dir="$TRASH/guest-libs" out lib
	mkdir -p "$dir" && out="$bin=$dst" || return 1
	if LC_ALL=C ldd "$bin" | grep 'not found' >&2; then
		echo "guest_binary: $bin needs libraries this machine lacks" >&2
		return 1
	fi
	for lib in $(LC_ALL=C ldd "$bin" | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) .*/\1=\2/p'); do
		cp -L "${lib#*=}" "$dir/${lib%%=*}" || return 1
		out="$out $dir/${lib%%=*}=/lib/x86_64-linux-gnu/${lib%%=*}"
	done
	echo "$out"
}

# guest_rescand_files URL HOST_NAME JOIN_PORT CA [CERT KEY]: GUEST_FILES
# entries (printed) for a guest running lunlink-rescand against the
# manager at URL: the dynamically linked $RESCAND as /sbin/lunlink-rescand,
# its configuration ($TRASH/rescand.conf, heartbeat every second, polls of
# 10 s) and the CA; with CERT and KEY the host's certificate and key, else
# nothing (the daemon gets them with --join, to JOIN_PORT; "" for none).
guest_rescand_files() {
	local url=$1 host=$2 join=$3 ca=$4 cert=${5:-} key=${6:-} files
	cat >"$TRASH/rescand.conf" <<-EOF || return 1
	manager = {
		url = "$url";${join:+
		join_port = $join;}
		ca = "/var/lib/lunlink/ca.crt";
		cert = "/var/lib/lunlink/host.crt";
		key = "/var/lib/lunlink/host.key";
		host_name = "$host";
		heartbeat_interval = 1;
		poll_wait_s = 10;
	};
	EOF
	files="$(guest_binary "$RESCAND" /sbin/lunlink-rescand)" || return 1
	files="$files $TRASH/rescand.conf=/etc/lunlink/lunlink-rescand.conf $ca=/var/lib/lunlink/ca.crt"
	[ -z "$cert" ] || files="$files $cert=/var/lib/lunlink/host.crt $key=/var/lib/lunlink/host.key"
	echo "$files"
}

# ---- one guest -----------------------------------------------------------

# guest_net NAME: its network namespace with tap0 at 10.231.0.1/24; sets
# NAME_NETNS and NAME_HOST_ADDR.  Idempotent; guest_stop deletes it.
guest_net() {
	local name=$1 ns
	eval "ns=\${${name}_NETNS:-}"
	[ -n "$ns" ] && return 0
	ns=lunlink-$TEST_NAME-$$-$name
	ip netns add "$ns" || return 1
	eval "${name}_NETNS=\$ns ${name}_HOST_ADDR=10.231.0.1"
	test_atexit "guest_stop $name"
	ip -n "$ns" link set lo up &&
	ip -n "$ns" tuntap add dev tap0 mode tap &&
	ip -n "$ns" addr add 10.231.0.1/24 dev tap0 &&
	ip -n "$ns" link set tap0 up
}

# guest_bridge NAME: NAME's namespace joined to t/lib-cluster.sh's bridge
# (source that first, cluster_up done), so that the guest reaches the
# nodes: a veth whose far end up0, $CL_NET.200, routes between the
# bridge and the guest's 10.231.0.0/24; each of the cluster's nodes
# routes to the guest through it.  The guest still needs its default
# route: guest_run NAME 30 "ip route add default via 10.231.0.1".  The
# veth goes at exit.
guest_bridge() {
	local name=$1 ns i=1
	guest_net "$name" || return 1
	eval "ns=\${${name}_NETNS}"
	ip link add "llg$CL_ID" type veth peer name up0 netns "$ns" || return 1
	test_atexit "ip link del llg$CL_ID 2>/dev/null"
	ip link set "llg$CL_ID" master "$CL_BR" && ip link set "llg$CL_ID" up &&
	ip -n "$ns" addr add "$CL_NET.200/24" dev up0 && ip -n "$ns" link set up0 up &&
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 || return 1
	while [ "$i" -le "$CL_N" ]; do
		ip -n "$(node_ns $i)" route add 10.231.0.0/24 via "$CL_NET.200" || return 1
		i=$((i + 1))
	done
}

guest_alive() {
	local pid
	eval "pid=\${${1}_QEMU:-}"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# guest_copy_files ROOT: GUEST_FILES into the tree ROOT
guest_copy_files() {
	local root=$1 f src dst
	for f in $GUEST_FILES; do
		src=${f%%=*} dst=${f#*=}
		case "$dst" in
		/*) ;;
		*) echo "GUEST_FILES: $f: the guest path must be absolute" >&2; return 1 ;;
		esac
		mkdir -p "$root$(dirname "$dst")" && cp -p "$src" "$root$dst" || return 1
	done
}

# guest_start NAME [PORTAL]: boot a guest in NAME's namespace; with PORTAL
# (ADDR:PORT) it discovers and logs in to every target there first.
# Returns when the command channel answers (bounded by
# GUEST_BOOT_TIMEOUT); fails if the login failed.  Sets NAME_QEMU (PID),
# NAME_CONSOLE, NAME_DIR.
guest_start() {
	local name=$1 portal=${2:-} dir="$TRASH/guest-$1" ns ready t0 end
	guest_net "$name" || return 1
	eval "ns=\${${name}_NETNS}"
	rm -rf "$dir" && mkdir -p "$dir/root/etc/iscsi" || return 1
	guest_init_script >"$dir/root/init" && chmod 755 "$dir/root/init" &&
	echo "InitiatorName=$IQN_BASE:guest-$TEST_NAME-$name" >"$dir/root/etc/iscsi/initiatorname.iscsi" &&
	guest_copy_files "$dir/root" &&
	(cd "$dir/root" && find . | cpio -o -H newc --quiet) >"$dir/init.cpio" &&
	cat "$GUEST_BASE_CPIO" $GUEST_EXTRA_CPIOS "$dir/init.cpio" >"$dir/initrd" || return 1
	mkfifo "$dir/cmd.in" "$dir/cmd.out" && : >"$dir/channel.log" || return 1
	cat "$dir/cmd.out" >>"$dir/channel.log" 2>/dev/null 3>&- 4>&- 5>&- 6>&- &
	eval "${name}_DRAIN=$! ${name}_DIR=\$dir ${name}_CONSOLE=\$TRASH/guest-$name.console"
	ip netns exec "$ns" qemu-system-x86_64 -accel tcg -m 512 -smp 1 \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-serial "file:$TRASH/guest-$name.console" \
		-kernel "$GUEST_VMLINUX" -initrd "$dir/initrd" \
		-append "console=ttyS0 panic=-1 rdinit=/init lunlink.ip=10.231.0.2/24${portal:+ lunlink.portal=$portal}" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device virtio-net-pci,netdev=n0,romfile= \
		-device virtio-serial-pci \
		-chardev "pipe,id=cmd,path=$dir/cmd" \
		-device virtserialport,chardev=cmd,name=lunlink.cmd \
		</dev/null >"$dir/qemu.log" 2>&1 3>&- 4>&- 5>&- 6>&- &
	eval "${name}_QEMU=$!"
	t0=$(date +%s%N) end=$(($(date +%s) + GUEST_BOOT_TIMEOUT))
	while ! ready=$(grep -a -m 1 '^LUNLINK-READY' "$dir/channel.log"); do
		if ! guest_alive "$name"; then
			echo "guest $name: QEMU exited; its log and the console's end:" >&2
			cat "$dir/qemu.log" >&2
			tail -n 20 "$TRASH/guest-$name.console" >&2
			return 1
		fi
		if [ "$(date +%s)" -ge $end ]; then
			echo "guest $name: no answer within $GUEST_BOOT_TIMEOUT s; the console's end:" >&2
			tail -n 20 "$TRASH/guest-$name.console" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "guest $name up after $((($(date +%s%N) - t0) / 1000000)) ms: $ready"
	case "$ready" in
	*login=0|*login=none) return 0 ;;
	esac
	echo "guest $name: login failed; the console's end:" >&2
	tail -n 20 "$TRASH/guest-$name.console" >&2
	return 1
}

# guest_run NAME SECONDS 'COMMAND': run COMMAND (sh) in the guest, killed
# after SECONDS; prints its output, returns its status (124: no answer in
# time, 125: the guest is gone).
guest_run() {
	local name=$1 limit=$2 cmd=$3 dir id i=0 end deadline
	eval "dir=\${${name}_DIR}"
	guest_alive "$name" || { echo "guest_run: guest $name is not running" >&2; return 125; }
	id=$(date +%s%N)
	# read-write: opening never blocks, even with no QEMU on the other end
	printf '%s %s %s\n' "$id" "$limit" "$(printf '%s\n' "$cmd" | base64 -w 0)" 1<>"$dir/cmd.in"
	# the command's own limit plus 5 s for the channel under emulation;
	# the clock and QEMU are checked every 50 polls
	deadline=$(($(date +%s) + limit + 5))
	while ! end=$(grep -a -m 1 "^LUNLINK-END $id [0-9]*\$" "$dir/channel.log"); do
		i=$((i + 1))
		if [ $((i % 50)) = 0 ]; then
			if [ "$(date +%s)" -ge $deadline ]; then
				echo "guest_run: no answer from guest $name within $((limit + 5)) s" >&2
				return 124
			fi
			if ! guest_alive "$name"; then
				echo "guest_run: guest $name died" >&2
				return 125
			fi
		fi
		sleep 0.01
	done
	sed -n "/^LUNLINK-BEGIN $id\$/,/^LUNLINK-END $id /p" "$dir/channel.log" | sed '1d;$d'
	return "${end##* }"
}

# guest_stop NAME: stop QEMU by its PID (SIGTERM, SIGKILL after 5 s), delete
# the namespace.  Idempotent.  Not a power-off from inside: a guest whose
# target is gone would spend replacement_timeout trying to flush its disks,
# and there is nothing in it to keep.
guest_stop() {
	local name=$1 pid drain ns i=0
	eval "pid=\${${name}_QEMU:-} drain=\${${name}_DRAIN:-} ns=\${${name}_NETNS:-}"
	if [ -n "$pid" ]; then
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
			kill -9 "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
		eval "${name}_QEMU="
	fi
	if [ -n "$drain" ]; then
		kill "$drain" 2>/dev/null
		wait "$drain" 2>/dev/null
		eval "${name}_DRAIN="
	fi
	if [ -n "$ns" ]; then
		ip netns del "$ns" 2>/dev/null
		eval "${name}_NETNS="
	fi
	return 0
}

# ---- a writer in the guest, through a failover ---------------------------
#
# For the tests that move a mounted file system's paths under it (t3815,
# t3820, t5970).  GUEST_WRITER is shell for the guest (the test puts it in
# a file there and sources it): up, the guest's uptime; writer DIR P [N]
# writes files DIR/P1... of 4 KiB (N at most, else until DIR/.stop
# exists), each with dd and fsync, and after each appends
# "END START SHA256 NAME" to /tmp/P.done (END and START: the uptimes just
# after dd returned and just before it began); at the end "END STATUS"
# (1 if a dd failed, its message in /tmp/P.err).  The helpers below read
# that record in the guest WRITER_GUEST names (each command 30 s at most).
GUEST_WRITER='
up() { cut -d" " -f1 /proc/uptime; }
writer() {
	i=0 rc=0
	while { [ -z "${3:-}" ] || [ $i -lt $3 ]; } && ! [ -e $1/.stop ]; do
		i=$((i + 1))
		head -c 4096 /dev/urandom >/tmp/src.$2 && t=$(up) &&
		dd if=/tmp/src.$2 of=$1/$2$i bs=4k conv=fsync 2>/tmp/$2.dd ||
			{ rc=1; cat /tmp/$2.dd >>/tmp/$2.err; break; }
		echo "$(up) $t $(sha256sum </tmp/src.$2 | cut -d" " -f1) $2$i" >>/tmp/$2.done
		sleep 0.2
	done
	echo "END $rc" >>/tmp/$2.done
}
'
# what a guest kernel logs when ext4 meets an error it passes up
EXT4_ERRORS="EXT4-fs (error|warning)|Buffer I/O error on dev dm|Aborting journal|Remounting|I/O error, dev dm"
writer_g() { guest_run "$WRITER_GUEST" 30 "$1"; }
# done_after P T: the first line of writer P's record that ended after
# the guest's uptime T; begun_after P T: the first that began after T
done_after() { writer_g "awk -v t=$2 '\$1 > t && !/^END/ { print; exit }' /tmp/$1.done"; }
begun_after() { writer_g "awk -v t=$2 '\$2 > t && !/^END/ { print; exit }' /tmp/$1.done"; }
# started_after P T: a file begun after T was written (T read after a
# kill: that file went through another path)
started_after() { writer_g "awk -v t=$2 '\$2 > t && !/^END/ { f = 1 } END { exit !f }' /tmp/$1.done"; }
# done_count P: how many files writer P wrote; done_at_least P N
done_count() { writer_g "grep -vc ^END /tmp/$1.done"; }
done_at_least() { test "$(done_count "$1")" -ge "$2"; }
# writer_ended P: writer P wrote its END line, with status 0
writer_ended() { writer_g "grep -qx \"END 0\" /tmp/$1.done"; }
# guest_uptime: the guest's uptime; ms_between A B: from uptime A to uptime B, in ms
guest_uptime() { writer_g "cut -d\" \" -f1 /proc/uptime"; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
# map_on MAP NODE: the guest's dm-multipath map MAP has exactly one path,
# a disk of the guest's session to t/lib-cluster.sh's node NODE
map_on() {
	writer_g "DM_DISABLE_UDEV=1 dmsetup table $1" >map.table && cat map.table &&
	test "$(grep -o "round-robin" map.table | wc -l)" = 1 &&
	dev=$(sed "s/ *$//" map.table | grep -o "[0-9]*:[0-9]* 1$" | cut -d" " -f1) &&
	writer_g "for b in /sys/block/sd*; do [ \"\$(cat \$b/dev)\" = $dev ] && readlink -f \$b/device; done" >map.path &&
	sid=$(grep -o "session[0-9]*" map.path | head -n 1) && test -n "$sid" &&
	writer_g "cat /sys/class/iscsi_session/$sid/device/connection*/iscsi_connection/*/persistent_address" >map.addr &&
	test "$(cat map.addr)" = "$(node_addr "$2")"
}
# writer_reads_back P DIR: stop writer P (DIR/.stop), which must end with
# status 0 and no error, then read back every file it completed, caches
# dropped: all their checksums match.  How many: in P.count.
writer_reads_back() {
	writer_g "touch $2/.stop" && wait_for 60 writer_ended "$1" &&
	writer_g "! test -s /tmp/$1.err || { cat /tmp/$1.err; false; }" &&
	writer_g "awk '!/^END/ { print \$3 \"  \" \$4 }' /tmp/$1.done >/tmp/$1.sums && wc -l </tmp/$1.sums" >"$1.count" &&
	writer_g "sync && echo 3 >/proc/sys/vm/drop_caches && cd $2 && sha256sum -c /tmp/$1.sums" >"$1.sums" &&
	test "$(grep -c ": OK\$" "$1.sums")" = "$(cat "$1.count")"
}
