#!/usr/bin/env python3
"""holdqmp.py - a QMP relay that holds one command, for the signal tests.

    holdqmp.py LISTEN UPSTREAM MATCH N HELD RELEASE

Listens on unix socket LISTEN; each client is relayed byte for byte to a
new connection to UPSTREAM (a real QEMU's QMP socket).  The Nth message
from the client that contains MATCH (e.g. '"device_add"') is held: the
relay creates file HELD, waits until file RELEASE exists, then passes it
on.  So a test can act (send vcpuctl a signal) at a known point between
the steps of a change.  Stdlib only; exits when its client leaves.
"""
import os
import select
import socket
import sys
import time


def main():
    listen, upstream, match, nth, held, release = sys.argv[1:7]
    nth = int(nth)
    match = match.encode()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen)
    srv.listen(1)
    cli, _ = srv.accept()
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    up.connect(upstream)
    seen = 0
    while True:
        r, _, _ = select.select([cli, up], [], [])
        for s in r:
            data = s.recv(65536)
            if not data:
                return
            if s is cli:
                seen += data.count(match)
                if seen >= nth and nth > 0:
                    nth = 0
                    open(held, "w").close()
                    while not os.path.exists(release):
                        time.sleep(0.01)
                up.sendall(data)
            else:
                cli.sendall(data)


if __name__ == "__main__":
    main()
