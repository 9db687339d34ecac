#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replay the host's reader of the manager's desired links fuzz corpus
# (initiator/mgr_json.c: GET /v1/hosts/desired's answer, and the report
# built from it, which the manager's own reader must take) through its fuzz
# target, built without clang (t/fuzz/replay.c); the replay prints TAP.
# `make fuzz-mgr-json` runs the real fuzzer.
t=$(cd "$(dirname "$0")" && pwd)
replay="$t/fuzz/fuzz-mgr-json-replay"
if [ ! -x "$replay" ]; then
	echo "1..0 # SKIP $replay not built (make check builds it)"
	exit 0
fi
exec "$replay" "$t/fuzz/corpus/mgr-json"
