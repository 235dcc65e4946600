#!/usr/bin/env python3
"""fakeagent.py - a scripted stand-in for qemu-ga on a unix socket.

    fakeagent.py --socket PATH [--cpus JSON] [--mode MODE] [--log FILE]
                 [--pidfile FILE] [--no-files]

For the CLI tests of "vcpuctl guest" where a real guest cannot misbehave
on cue.  Python 3 standard library only.  Serves one client at a time, as
QEMU's chardev does; the CPU state lasts until the process exits.

--cpus: a JSON list of guest CPUs, each {"id": N, "online": bool,
  "can_offline": bool, "acpi": SLOT}; default: 4 CPUs, 0 online and fixed,
  1-3 offline, acpi slot = id.  A string SLOT is the firmware_node/path
  content itself (firmware that does not name CPUs as QEMU does).
--mode:
  normal          answer everything
  silent          read requests, never answer (an agent that is not running)
  silent-after-sync  answer the sync, then nothing
  garbage         before the sync answer send junk, a stale reply and a
                  stale delimited reply (0xff {"return": 7})
  partial:K       guest-set-vcpus processes only the first K entries (an
                  error reply when K is 0), as qemu-ga does when one fails
  overcount       guest-set-vcpus answers 5 more than it was asked
  flood           answer guest-get-vcpus with an endless JSON string
--no-files: guest-file-open is disabled (the guest's policy).

Like qemu-ga: a 0xff byte in the input drops any half-read request;
guest-sync-delimited answers 0xff then the JSON; replies end in "\\n".
"""
import argparse
import base64
import json
import os
import signal
import socket
import sys


def default_cpus():
    return [{"id": 0, "online": True, "can_offline": False, "acpi": 0}] + [
        {"id": i, "online": False, "can_offline": True, "acpi": i} for i in (1, 2, 3)
    ]


class Agent:
    def __init__(self, args):
        self.cpus = json.loads(args.cpus) if args.cpus else default_cpus()
        self.mode = args.mode
        self.no_files = args.no_files
        self.log = open(args.log, "a") if args.log else None
        self.handles = {}
        self.next_handle = 1000

    def cpu(self, i):
        for c in self.cpus:
            if c["id"] == i:
                return c
        return None

    def error(self, cls, desc):
        return {"error": {"class": cls, "desc": desc}}

    def run(self, req):
        cmd = req.get("execute")
        args = req.get("arguments") or {}
        if cmd in ("guest-sync", "guest-sync-delimited"):
            return {"return": args.get("id")}
        if cmd == "guest-ping":
            return {"return": {}}
        if cmd == "guest-get-vcpus":
            return {"return": [{"logical-id": c["id"], "online": c["online"],
                                "can-offline": c["can_offline"]} for c in self.cpus]}
        if cmd == "guest-set-vcpus":
            todo = args.get("vcpus", [])
            limit = len(todo)
            if self.mode.startswith("partial:"):
                limit = min(limit, int(self.mode.split(":")[1]))
            done = 0
            for ent in todo:
                c = self.cpu(ent.get("logical-id"))
                if done >= limit or c is None or (not ent["online"] and not c["can_offline"]):
                    if done == 0:
                        return self.error("GenericError",
                                          "CPU %s: cannot change state" % ent.get("logical-id"))
                    break
                c["online"] = bool(ent["online"])
                done += 1
            if self.mode == "overcount":
                return {"return": len(todo) + 5}
            return {"return": done}
        if cmd == "guest-file-open":
            if self.no_files:
                return self.error("CommandNotFound",
                                  "The command guest-file-open has been disabled for this instance")
            path = args.get("path", "")
            parts = path.split("/")
            # /sys/devices/system/cpu/cpuN/firmware_node/path
            if len(parts) == 8 and parts[5][3:].isdigit() and parts[6:] == ["firmware_node", "path"]:
                c = self.cpu(int(parts[5][3:]))
                if c is not None and c.get("acpi") is not None:
                    h = self.next_handle
                    self.next_handle += 1
                    acpi = c["acpi"]
                    if isinstance(acpi, str):
                        self.handles[h] = acpi.encode()
                    else:
                        self.handles[h] = ("\\_SB_.CPUS.C%03X\n" % acpi).encode()
                    return {"return": h}
            return self.error("GenericError", "failed to open file '%s': No such file or directory" % path)
        if cmd == "guest-file-read":
            data = self.handles.get(args.get("handle"))
            if data is None:
                return self.error("GenericError", "handle not found")
            n = args.get("count", 4096)
            out, self.handles[args["handle"]] = data[:n], data[n:]
            return {"return": {"count": len(out), "buf-b64": base64.b64encode(out).decode(),
                               "eof": not data[n:]}}
        if cmd == "guest-file-close":
            if self.handles.pop(args.get("handle"), None) is None:
                return self.error("GenericError", "handle not found")
            return {"return": {}}
        return self.error("CommandNotFound", "The command %s has not been found" % cmd)

    def serve(self, conn):
        buf = b""
        dec = json.JSONDecoder()
        synced = False
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            # 0xff resets the parser: drop everything before it.
            if b"\xff" in buf:
                buf = buf[buf.rindex(b"\xff") + 1:]
            while True:
                text = buf.decode("utf-8", "replace").lstrip()
                if not text:
                    buf = b""
                    break
                try:
                    req, end = dec.raw_decode(text)
                except json.JSONDecodeError:
                    break
                buf = text[end:].encode()
                if self.log:
                    self.log.write(json.dumps(req, separators=(",", ":")) + "\n")
                    self.log.flush()
                if self.mode == "silent" or (self.mode == "silent-after-sync" and synced):
                    continue
                if self.mode == "flood" and req.get("execute") == "guest-get-vcpus":
                    conn.sendall(b'{"return": "')
                    while True:
                        conn.sendall(b"A" * 65536)
                reply = self.run(req)
                out = json.dumps(reply).encode() + b"\n"
                if req.get("execute") == "guest-sync-delimited":
                    if self.mode == "garbage":
                        conn.sendall(b'junk\x01{"return": 12345}\n{"half": [1, ')
                        conn.sendall(b'\xff{"return": 7}\n')
                    out = b"\xff" + out
                    synced = True
                elif req.get("execute") == "guest-sync":
                    synced = True
                conn.sendall(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--cpus")
    ap.add_argument("--mode", default="normal")
    ap.add_argument("--log")
    ap.add_argument("--pidfile")
    ap.add_argument("--no-files", action="store_true")
    args = ap.parse_args()

    agent = Agent(args)
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(args.socket)
    srv.listen(4)

    def bye(*_):
        try:
            os.unlink(args.socket)
        except OSError:
            pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    while True:
        conn, _ = srv.accept()
        try:
            agent.serve(conn)
        except (ConnectionError, OSError):
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
