#!/usr/bin/env python3
"""ospm.py - eject the CPUs a paused x86 VM was asked to unplug.

    ospm.py [--loop SECONDS] [--base PORT] SOCKET

No guest runs in a paused VM, so nobody answers QEMU's CPU unplug request.
This does what the guest's ACPI code does, through QEMU's own I/O ports
(HMP "i" and "o" over QMP, on a second monitor SOCKET so that vcpuctl keeps
the first): switch QEMU to the modern CPU hotplug interface (a 0 written
to the legacy bitmap's first byte), then for each CPU slot select it, read
its flags and, where "removing" (bit 2) is set, write the eject bit (3).
QEMU then unplugs the CPU as it would for a guest, and its thread ends.

--base is the register block (q35: 0xcd8; pc: 0xaf00).  --loop keeps
scanning for SECONDS (every 50 ms); without it one scan.  Prints each
ejected slot.  Exits 0, 1 on a QMP error, 2 on a transport problem.
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from qmp import Conn  # noqa: E402


def hmp(conn, line):
    conn.send({"execute": "human-monitor-command", "arguments": {"command-line": line}})
    msg = conn.reply()
    if "error" in msg:
        raise RuntimeError("%s: %s" % (line, msg["error"].get("desc")))
    return msg["return"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--loop", type=float, default=0)
    ap.add_argument("--base", type=lambda s: int(s, 0), default=0xcd8)
    a = ap.parse_args()
    try:
        conn = Conn(a.socket, max(a.loop, 0) + 30)
        conn.recv()
        conn.send({"execute": "qmp_capabilities"})
        conn.reply()
        conn.send({"execute": "query-hotpluggable-cpus"})
        slots = len(conn.reply()["return"])
        hmp(conn, "o /b 0x%x 0" % a.base)
        end = time.monotonic() + a.loop
        while True:
            for sel in range(1, slots):
                hmp(conn, "o /w 0x%x %d" % (a.base, sel))
                flags = int(re.findall(r"0x[0-9a-fA-F]+", hmp(conn, "i /b 0x%x" % (a.base + 4)))[-1], 16)
                if flags & 4:
                    # as the guest does: acknowledge, then eject
                    hmp(conn, "o /b 0x%x 4" % (a.base + 4))
                    if flags & 1:
                        hmp(conn, "o /b 0x%x 8" % (a.base + 4))
                        print("ospm: ejected slot %d" % sel, flush=True)
            if time.monotonic() >= end:
                return 0
            time.sleep(0.05)
    except RuntimeError as e:
        print("ospm: %s" % e, file=sys.stderr)
        return 1
    except (OSError, TimeoutError, ConnectionError) as e:
        print("ospm: %s: %s" % (a.socket, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
