#!/usr/bin/env python3
"""qmpclient.py - a minimal raw QMP client for the tests.

    qmpclient.py [options] SOCKET [COMMAND ...]

Connects, waits for the greeting and prints it, then sends each COMMAND (a
JSON text, sent as given plus "\\n") and waits for its reply (a message with
"return" or "error"), printing every message that arrives meanwhile, events
included, one per line with the trailing CRLF removed.  --caps sends
qmp_capabilities first (its reply is printed too).  --events N then waits
until N events in all have been received since connecting.

Exit status: 0 ok, 2 usage, 3 timeout, 4 connection closed by the server,
5 connect failed.  Messages about those go to stderr.
"""

import argparse
import json
import socket
import sys
import time


class Closed(Exception):
    pass


class Timeout(Exception):
    pass


class Conn:
    def __init__(self, path, timeout, raw):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.timeout = timeout
        self.raw = raw
        self.events = 0

    def read_line(self):
        """One message; framed by newline, which the fake always sends."""
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                raise Timeout()
            except OSError:
                data = b""
            if not data:
                raise Closed()
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        line += b"\n"
        out = sys.stdout.buffer
        if self.raw:
            out.write(line)
        else:
            out.write(line.rstrip(b"\r\n") + b"\n")
        out.flush()
        try:
            msg = json.loads(line)
        except ValueError:
            msg = None
        if isinstance(msg, dict) and "event" in msg:
            self.events += 1
        return msg

    def command(self, text):
        self.sock.sendall(text.encode("utf-8") + b"\n")
        while True:
            msg = self.read_line()
            if isinstance(msg, dict) and ("return" in msg or "error" in msg):
                return msg


def main():
    ap = argparse.ArgumentParser(description="Minimal raw QMP client.")
    ap.add_argument("socket")
    ap.add_argument("commands", nargs="*")
    ap.add_argument("--caps", action="store_true",
                    help="send qmp_capabilities first")
    ap.add_argument("--events", type=int, default=0,
                    help="then wait until N events have arrived in all")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds to wait for each message (default 10)")
    ap.add_argument("--no-greeting", action="store_true",
                    help="do not wait for a greeting before sending")
    ap.add_argument("--hold", type=float, default=0.0,
                    help="stay connected this many seconds before leaving")
    ap.add_argument("--raw", action="store_true",
                    help="print messages byte-exact, CRLF included")
    a = ap.parse_intermixed_args()

    try:
        conn = Conn(a.socket, a.timeout, a.raw)
    except OSError as e:
        print("qmpclient: connect %s: %s" % (a.socket, e.strerror),
              file=sys.stderr)
        return 5
    what = "greeting"
    try:
        if not a.no_greeting:
            conn.read_line()
        cmds = list(a.commands)
        if a.caps:
            cmds.insert(0, '{"execute": "qmp_capabilities"}')
        for text in cmds:
            what = "reply to " + text
            conn.command(text)
        while conn.events < a.events:
            what = "event %d of %d" % (conn.events + 1, a.events)
            conn.read_line()
        if a.hold > 0:
            time.sleep(a.hold)
    except Timeout:
        print("qmpclient: timeout waiting for %s" % what, file=sys.stderr)
        return 3
    except Closed:
        print("qmpclient: connection closed waiting for %s" % what,
              file=sys.stderr)
        if conn.buf:
            print("qmpclient: partial message: %d bytes" % len(conn.buf),
                  file=sys.stderr)
        return 4
    finally:
        conn.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
