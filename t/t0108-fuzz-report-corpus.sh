#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replay the policy API's report reader's fuzz corpus
# (policy/report.c: the agent's report, the manager's one nested request) through
# its fuzz target, built without clang (t/fuzz/replay.c); the replay
# prints TAP.  `make fuzz` runs the real fuzzer.
t=$(cd "$(dirname "$0")" && pwd)
replay="$t/fuzz/fuzz-report-replay"
if [ ! -x "$replay" ]; then
	echo "1..0 # SKIP $replay not built (make check builds it)"
	exit 0
fi
exec "$replay" "$t/fuzz/corpus/report"
