#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replay the fuzz corpus of the node agent's reader of the lunlink module's
# status files (files the module wrote for mirrored LUNs, variants with a
# syncing leg, a refused one and a remote extent, and damaged copies)
# through its fuzz target, built without clang (t/fuzz/replay.c); the
# replay prints TAP.  `make fuzz-status-file` runs the real fuzzer.
t=$(cd "$(dirname "$0")" && pwd)
replay="$t/fuzz/fuzz-status-file-replay"
if [ ! -x "$replay" ]; then
	echo "1..0 # SKIP $replay not built (make check builds it)"
	exit 0
fi
exec "$replay" "$t/fuzz/corpus/status-file"
