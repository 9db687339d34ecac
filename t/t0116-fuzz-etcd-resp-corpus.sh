#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replay the fuzz corpus of the etcd client's reader of etcd's answers and
# watch streams (policy/etcd_json.c: answers recorded from etcd 3.4.23 and
# malformed ones) through its fuzz target, built without clang
# (t/fuzz/replay.c); the replay prints TAP.  `make fuzz` runs the real
# fuzzer.
t=$(cd "$(dirname "$0")" && pwd)
replay="$t/fuzz/fuzz-etcd-resp-replay"
if [ ! -x "$replay" ]; then
	echo "1..0 # SKIP $replay not built (make check builds it)"
	exit 0
fi
exec "$replay" "$t/fuzz/corpus/etcd-resp"
