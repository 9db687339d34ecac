#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""pr-module.py: plays a pr=cluster LUN's module against the agent's socket,
for tests of the policy daemon before the module and the daemon meet
(t/t3740-policy-pr.sh).

    pr-module.py SOCKET LOG [--auto-ack]

Connects to the agent's SOCK_SEQPACKET socket; each line read on stdin is
sent as one packet, as written (HELLO, OUT, ACK: include/lunlink/pr_wire.h).
Each packet received is appended to LOG on one line, its newlines shown as
" | " (a STATE's lines).  With --auto-ack every STATE is answered ACK GEN,
as the module does once it applied it.  Ends at stdin's end, or when the
agent closes (LOG then ends with "CLOSED").
"""
import os
import select
import socket
import sys


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: pr-module.py SOCKET LOG [--auto-ack]\n")
        return 2
    path, log_path = sys.argv[1], sys.argv[2]
    auto_ack = "--auto-ack" in sys.argv[3:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(path)
    log = open(log_path, "a", buffering=1)
    stdin = sys.stdin.fileno()
    pending = b""
    while True:
        ready, _, _ = select.select([sock, stdin], [], [])
        if sock in ready:
            msg = sock.recv(65536 + 1)
            if not msg:
                log.write("CLOSED\n")
                return 0
            text = msg.decode("ascii", "replace")
            log.write(text.rstrip("\n").replace("\n", " | ") + "\n")
            if auto_ack and text.startswith("STATE "):
                sock.send(("ACK " + text.split(" ")[1]).encode())
        if stdin in ready:
            data = os.read(stdin, 65536)
            if not data:
                return 0
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line:
                    sock.send(line)


if __name__ == "__main__":
    sys.exit(main())
