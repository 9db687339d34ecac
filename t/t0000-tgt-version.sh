#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
test_description='the module is built and loaded only against the installed tgt version'
. "$(dirname "$0")/test-lib.sh"

require_tgtd

installed=$(dpkg-query -W -f='${Version}' tgt)
mk() { make -s -C "$SRC_DIR" "$@"; }

test_expect_success 'the build names the version it found and the one it needs' '
	tgt_src=$(mk print-TGT_SRC) &&
	test_must_fail mk TGT_DEB_VERSION=1:9.9.9-1 TGT_SRC="$tgt_src" target/.tgt-version 2>err &&
	test_grep -F "found tgt headers of version $installed in $tgt_src, but the installed tgt is 1:9.9.9-1" err
'

test_expect_success 'without the source, the build says to run make setup' '
	test_must_fail mk TGT_DEB_VERSION=1:9.9.9-1 target/.tgt-version 2>err &&
	test_grep -F "no tgt source for the installed tgt 1:9.9.9-1" err &&
	test_grep -F "run '"'"'make setup'"'"'" err
'

test_expect_success 'the module records the version it was built against' '
	v=$(mk print-TGT_VERSION) && test -n "$v" &&
	strings "$MODULE" | grep -qx "$v"
'

test_expect_success 'a module built against other headers refuses to register' '
	mkdir bs &&
	(cd "$SRC_DIR" && cc -std=gnu11 -O1 -fPIC -shared -fvisibility=hidden \
		$(mk print-MODULE_CPPFLAGS | sed "s/-DLUNLINK_TGT_VERSION=[^ ]*//") \
		-DLUNLINK_TGT_VERSION="\"0.0.1\"" -DLUNLINK_VERSION="\"$(cat VERSION)\"" \
		-DLUNLINK_EXPORT="__attribute__((visibility(\"default\")))" \
		-o "$TRASH/bs/bs_lunlink.so" $(mk print-MODULE_SRCS) $(mk print-LIBLUNLINK) \
		$(mk print-MODULE_LIBS)) &&
	MODULE_DIR="$TRASH/bs" tgtd_start B &&
	test_grep -F "not registering backing store '"'"'lunlink'"'"': bs_lunlink.so was built against tgt 0.0.1 headers, but this tgtd (/usr/sbin/tgtd) is version '"'"'1.0.85'"'"'" "$B_LOG"
'

test_expect_success 'so a lunlink LUN is refused, and tgtd goes on serving others' '
	truncate -s 16M img &&
	target_new B 1 &&
	test_must_fail lun_new B 1 1 "$TRASH/img" lunlink &&
	test_grep "failed to find bstype, lunlink" "$B_LOG" &&
	lun_new B 1 1 "$TRASH/img" rdwr &&
	tgtd_alive B
'

test_done
