#!/usr/bin/env python3
"""Minimal raw QMP / guest-agent client for the tests (stdlib only).

    qmp.py [--agent] [--timeout S] SOCKET CMD [JSON-ARGS]

Sends one command and prints its "return" value as JSON on stdout. A QMP
error goes to stderr as "CLASS: DESC" and exits 1; a transport problem
(refused, closed, timeout) exits 2.

QMP: read the greeting, negotiate qmp_capabilities, then send CMD; events
that arrive meanwhile are skipped. --agent speaks to qemu-ga instead, which
has no greeting and no capabilities: a guest-sync with a fresh id comes first
and every reply before its echo is stale and dropped.
"""
import json
import os
import socket
import sys
import time


class Conn:
    def __init__(self, path, timeout):
        self.deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = ""
        self.dec = json.JSONDecoder()

    def send(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")

    def recv(self):
        """Next JSON object; framed by structure, not by newline."""
        while True:
            text = self.buf.lstrip()
            if text:
                try:
                    obj, end = self.dec.raw_decode(text)
                    self.buf = text[end:]
                    return obj
                except json.JSONDecodeError:
                    pass
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply in time")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed")
            # qemu-ga may send 0xff sync bytes; they are not JSON.
            self.buf += data.decode("utf-8", "replace").replace("\ufffd", "")

    def reply(self):
        """Next reply (return or error), skipping events."""
        while True:
            msg = self.recv()
            if "return" in msg or "error" in msg:
                return msg


def main(argv):
    agent = False
    timeout = float(os.environ.get("QMP_TIMEOUT", "30"))
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--agent":
            agent = True
        elif opt == "--timeout" and argv:
            timeout = float(argv.pop(0))
        else:
            argv = []
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path, cmd = argv[0], argv[1]
    args = json.loads(argv[2]) if len(argv) == 3 else None

    try:
        c = Conn(path, timeout)
        if agent:
            sync_id = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
            c.send({"execute": "guest-sync", "arguments": {"id": sync_id}})
            while c.reply().get("return") != sync_id:
                pass
        else:
            c.recv()  # greeting
            c.send({"execute": "qmp_capabilities"})
            msg = c.reply()
            if "error" in msg:
                raise ConnectionError("qmp_capabilities: %s" % msg["error"])
        req = {"execute": cmd}
        if args is not None:
            req["arguments"] = args
        c.send(req)
        msg = c.reply()
    except (OSError, ConnectionError, TimeoutError) as e:
        print("%s: %s: %s" % (path, cmd, e), file=sys.stderr)
        return 2
    if "error" in msg:
        err = msg["error"]
        print("%s: %s" % (err.get("class"), err.get("desc")), file=sys.stderr)
        return 1
    print(json.dumps(msg["return"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
