#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replay the fuzz corpus of the node agent's reader of tgtadm's show (real
# output captured from a tgtd with rdwr and lunlink LUNs, ACLs, CHAP
# accounts and a session, and damaged copies of it) through its fuzz
# target, built without clang (t/fuzz/replay.c); the replay prints TAP.
# `make fuzz-tgt-show` runs the real fuzzer.
t=$(cd "$(dirname "$0")" && pwd)
replay="$t/fuzz/fuzz-tgt-show-replay"
if [ ! -x "$replay" ]; then
	echo "1..0 # SKIP $replay not built (make check builds it)"
	exit 0
fi
exec "$replay" "$t/fuzz/corpus/tgt-show"
