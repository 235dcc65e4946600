#!/usr/bin/env python3
"""syslogd.py SOCKET OUT: a syslog stand-in for the audit tests.

Binds a unix datagram socket at SOCKET and appends each record received to
OUT, one per line, in arrival order, until SIGTERM.  Stdlib only.
"""
import os
import signal
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with open(out, "a", encoding="utf-8", errors="backslashreplace") as f:
    while True:
        data = s.recv(65536)
        f.write(data.rstrip(b"\0").decode("utf-8", "backslashreplace") + "\n")
        f.flush()
