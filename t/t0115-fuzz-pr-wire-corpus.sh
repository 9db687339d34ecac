#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replay the fuzz corpus of the reader of the pr=cluster socket's messages (lunlink/pr_wire.h) through its fuzz
# target, built without clang (t/fuzz/replay.c); the replay prints TAP.
# `make fuzz` runs the real fuzzer.
t=$(cd "$(dirname "$0")" && pwd)
replay="$t/fuzz/fuzz-pr-wire-replay"
if [ ! -x "$replay" ]; then
	echo "1..0 # SKIP $replay not built (make check builds it)"
	exit 0
fi
exec "$replay" "$t/fuzz/corpus/pr-wire"
