#!/usr/bin/env python3
"""fakeqmp.py - a scripted QMP server standing in for QEMU in the CLI tests.

It serves the CPU side of QMP (query-hotpluggable-cpus, query-cpus-fast,
device_add, device_del, query-acpi-ospm-status, stop/cont ...) from a
scenario file, and can misbehave on demand in the ways real QEMU cannot be
made to on cue: failing the Nth command, closing mid-reply, stalling,
flooding events, huge replies, a guest that rejects or never finishes an
unplug.  The scenario format is described in tests/fake/README.md.

Like QEMU it serves one client at a time (later connect()s wait in the
listen backlog without a greeting), keeps VM state across clients, drops
events while nobody is connected, and ends each message with CRLF.

Python 3 standard library only.
"""

import argparse
import collections
import copy
import heapq
import json
import os
import re
import select
import signal
import socket
import sys
import time

FIXTURES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "fixtures")

DELETED_EVENT_MODES = ("lapic", "device", "both", "children", "none")
UNPLUG_MODES = ("complete", "reject", "pending", "guest-error", "unsupported")
CLOSE_WHEN = ("before-reply", "mid-reply", "after-reply")

# ACPI _OST source/status codes QEMU reports for CPUs.
OST_INSERT = 1
OST_EJECT = 3
OST_SUCCESS = 0
OST_EJECT_NOT_SUPPORTED = 128
OST_EJECT_IN_PROGRESS = 132

ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")

# Replies serialised once per VM state: with thousands of vCPUs, encoding
# them on every call would dominate what the benchmark measures.
CACHED_REPLIES = ("query-hotpluggable-cpus", "query-cpus-fast")


class ScenarioError(Exception):
    pass


class QMPError(Exception):
    """A command failure, sent back as {"error": {"class", "desc"}}."""

    def __init__(self, cls, desc):
        super().__init__(desc)
        self.cls = cls
        self.desc = desc


def now_stamp():
    t = time.time()
    return {"seconds": int(t), "microseconds": int((t - int(t)) * 1e6)}


# ---------------------------------------------------------------- scenario

def load_list(value, scen_dir, what):
    """A scenario list field: inline list, or a file holding a bare list or
    a QMP reply {"return": [...]}.  Relative paths are tried against the
    scenario's directory first, then tests/fixtures/ (so scenarios written
    to a test's temp dir can still name the shared fixtures)."""
    if isinstance(value, list):
        return copy.deepcopy(value)
    if not isinstance(value, str):
        raise ScenarioError("%s: expected a file name or a list" % what)
    candidates = [value] if os.path.isabs(value) else [
        os.path.join(scen_dir, value), os.path.join(FIXTURES_DIR, value)]
    for path in candidates:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if isinstance(data, dict) and "return" in data:
                data = data["return"]
            if not isinstance(data, list):
                raise ScenarioError("%s: %s holds no list" % (what, path))
            return data
    raise ScenarioError("%s: file not found: %s" % (what, value))


def synthetic_topology(spec):
    """Generate (hotpluggable, cpus_fast) for a topology, QEMU-shaped:
    x86 threads when vcpus_count is 1, pseries cores of vcpus_count
    threads otherwise.  The first `online` vCPUs are boot CPUs."""
    sockets = int(spec.get("sockets", 1))
    cores = int(spec.get("cores", 1))
    threads = int(spec.get("threads", 1))
    count = int(spec.get("vcpus_count", 1))
    online = int(spec.get("online", 1))
    # Above Linux's largest pid_max (2^22): no host task can have these
    # ids, so they never collide with the fake's own pid or a real thread.
    tid_base = int(spec.get("thread_id_base", 4200000))
    possible = []
    if count == 1:
        ctype = spec.get("type", "qemu64-x86_64-cpu")
        for s in range(sockets):
            for c in range(cores):
                for t in range(threads):
                    # Key order as QEMU prints it.
                    possible.append({"core-id": c, "thread-id": t,
                                     "socket-id": s})
        target = spec.get("target", "x86_64")
    else:
        ctype = spec.get("type", "host-spapr-cpu-core")
        for i in range(sockets * cores):
            possible.append({"core-id": i * count})
        target = spec.get("target", "ppc64")
    hot = []
    cpus = []
    n_online_entities = (online + count - 1) // count
    for i, props in enumerate(possible):
        ent = {"props": props, "vcpus-count": count, "type": ctype}
        if i < n_online_entities:
            qom = "/machine/unattached/device[%d]" % i
            ent["qom-path"] = qom
            for t in range(count):
                idx = i * count + t
                cpus.append({
                    "thread-id": tid_base + idx,
                    "props": dict(props),
                    "qom-path": qom if count == 1
                    else "%s/thread[%d]" % (qom, t),
                    "cpu-index": idx,
                    "target": target,
                })
        hot.append(ent)
    # QEMU lists possible CPUs highest first.
    hot.reverse()
    return hot, cpus


class Entity:
    """One row of query-hotpluggable-cpus and the state behind it."""

    __slots__ = ("props", "count", "type", "qom", "alias", "slot", "extra",
                 "ost", "unplug", "need_start", "gen")

    def __init__(self, row, slot):
        self.props = dict(row.get("props", {}))
        self.count = int(row.get("vcpus-count", 1))
        self.type = row.get("type", "")
        self.qom = row.get("qom-path")
        self.alias = None
        if self.qom and self.qom.startswith("/machine/peripheral/"):
            self.alias = self.qom[len("/machine/peripheral/"):]
        self.slot = slot
        self.extra = {k: v for k, v in row.items()
                      if k not in ("props", "vcpus-count", "type",
                                   "qom-path")}
        self.ost = (0, 0)
        # None | "removing" (timer armed) | "deferred" (VM stopped)
        # | "pending" (guest never answers) ; need_start: 132 not yet sent
        self.unplug = None
        self.need_start = False
        self.gen = 0

    def row(self):
        r = {"props": self.props, "vcpus-count": self.count}
        if self.qom:
            r["qom-path"] = self.qom
        r["type"] = self.type
        r.update(self.extra)
        return r

    def is_x86(self):
        return "x86" in self.type

    def is_boot(self):
        return bool(self.qom) and self.qom.startswith("/machine/unattached/")


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


class Scenario:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
        if not isinstance(s, dict):
            raise ScenarioError("scenario must be a JSON object")
        d = os.path.dirname(os.path.abspath(path))
        if "synthetic" in s:
            hot, cpus = synthetic_topology(s["synthetic"])
        elif "hotpluggable" in s:
            hot = load_list(s["hotpluggable"], d, "hotpluggable")
            cpus = load_list(s.get("cpus_fast", []), d, "cpus_fast")
        else:
            hot, cpus = synthetic_topology(
                {"sockets": 2, "cores": 2, "threads": 2, "online": 2})
        self.hot = hot
        self.cpus = cpus
        self.greeting = bool(s.get("greeting", True))
        self.version = list(s.get("version", [10, 0, 2]))
        self.unplug = s.get("unplug", "complete")
        if self.unplug not in UNPLUG_MODES:
            raise ScenarioError("unplug: one of %s" % ", ".join(UNPLUG_MODES))
        self.unplug_delay = float(s.get("unplug_delay_ms", 0)) / 1000.0
        self.deleted_event = s.get("deleted_event", "lapic")
        if self.deleted_event not in DELETED_EVENT_MODES:
            raise ScenarioError("deleted_event: one of %s"
                                % ", ".join(DELETED_EVENT_MODES))
        self.events_before_reply = bool(s.get("events_before_reply", False))
        self.fail = as_list(s.get("fail"))
        self.close = as_list(s.get("close"))
        for c in self.close:
            if c.get("when", "before-reply") not in CLOSE_WHEN:
                raise ScenarioError("close.when: one of %s"
                                    % ", ".join(CLOSE_WHEN))
        self.stall = as_list(s.get("stall"))
        self.raw = dict(s.get("raw", {}))
        self.pad = dict(s.get("pad_reply_bytes", {}))
        self.flood = as_list(s.get("event_flood"))
        self.greeting_raw = s.get("greeting_raw")
        self.hangup = s.get("hangup")
        if self.hangup not in (None, "on-connect", "after-greeting"):
            raise ScenarioError("hangup: on-connect or after-greeting")
        self.garbage = s.get("garbage_after_greeting")
        self.pre_greeting = as_list(s.get("events_before_greeting"))
        # QEMU's passing state while it removes a core: query-cpus-fast
        # still lists a thread query-hotpluggable-cpus no longer shows.
        self.linger = int(s.get("linger_fast_reads", 0))
        extra = s.get("extra_fast_rows") or {}
        self.extra_rows = list(extra.get("rows", []))
        self.extra_reads = int(extra.get("reads", 1 << 30))
        self.name = s.get("name", "fakevm")
        self.uuid = s.get("uuid", "4b6fb2a3-0c9e-4a3e-9d55-6b5b4f1e2a10")
        self.kvm = bool(s.get("kvm", False))


def nth_matches(rule, count):
    n = rule.get("nth")
    return n is None or int(n) == count


# ---------------------------------------------------------------- VM model

class VM:
    """The VM state the commands act on; lives as long as the process."""

    def __init__(self, scen, server):
        self.s = scen
        self.server = server
        n = len(scen.hot)
        # Slots number possible CPUs lowest first; QEMU lists them reversed.
        self.ents = [Entity(row, n - 1 - i) for i, row in enumerate(scen.hot)]
        self.cpus = scen.cpus
        # Bumped whenever a CPU is plugged or removed: the two queries'
        # answers (and their cached text) depend on nothing else.
        self.version = 0
        self.rows = None
        self.rows_version = -1
        self.running = True
        self.extra_left = scen.extra_reads
        self.lingering = []     # [row, reads left]
        self.was_transient = False
        self.anon = 0
        for e in self.ents:
            m = re.match(r"^/machine/peripheral-anon/device\[(\d+)\]$",
                         e.qom or "")
            if m:
                self.anon = max(self.anon, int(m.group(1)) + 1)
        self.next_tid = max([c.get("thread-id", 0) for c in self.cpus] +
                            [4000]) + 1
        self.template = {}
        if self.cpus:
            self.template = {k: v for k, v in self.cpus[0].items()
                             if k not in ("thread-id", "props", "qom-path",
                                          "cpu-index")}
            if "current" in self.template:
                self.template["current"] = False
        else:
            self.template = {"target": "x86_64"}

    # -- lookups

    def by_name(self, name):
        for e in self.ents:
            if e.qom and (e.alias == name or e.qom == name):
                return e
        return None

    def leaving(self, dev_id):
        """A device whose vCPU still lingers (linger_fast_reads) is not
        gone yet: QEMU still holds its id."""
        path = "/machine/peripheral/" + dev_id
        return any(str(row[0].get("qom-path", "")) == path or
                   str(row[0].get("qom-path", "")).startswith(path + "/")
                   for row in self.lingering)

    def emit(self, name, data):
        self.server.emit(name, data)

    def ost_event(self, e, source, status, with_device=True):
        e.ost = (source, status)
        info = {}
        if with_device and e.alias:
            info["device"] = e.alias
        info.update({"source": source, "status": status,
                     "slot": str(e.slot), "slot-type": "CPU"})
        self.emit("ACPI_DEVICE_OST", {"info": info})

    # -- queries

    def q_hotpluggable(self, args):
        if self.rows_version != self.version:
            self.rows = [e.row() for e in self.ents]
            self.rows_version = self.version
        return self.rows

    def q_cpus_fast(self, args):
        out = list(self.cpus)
        if self.s.extra_rows and self.extra_left > 0:
            out += self.s.extra_rows
            self.extra_left -= 1
        for row in self.lingering:
            out.append(row[0])
            row[1] -= 1
        self.lingering = [row for row in self.lingering if row[1] > 0]
        # Transient rows change the reply from one read to the next.
        transient = len(out) != len(self.cpus)
        if transient or self.was_transient:
            self.version += 1
        self.was_transient = transient
        return out

    def q_ospm(self, args):
        if not any(e.is_x86() for e in self.ents):
            raise QMPError("GenericError", "command is not supported")
        out = []
        for e in sorted((e for e in self.ents if e.qom),
                        key=lambda e: e.slot):
            info = {}
            if e.alias:
                info["device"] = e.alias
            info.update({"slot": str(e.slot), "slot-type": "CPU",
                         "source": e.ost[0], "status": e.ost[1]})
            out.append(info)
        return out

    def q_status(self, args):
        r = {"running": self.running,
             "status": "running" if self.running else "paused"}
        if self.s.version[0] < 8:
            r["singlestep"] = False
        return r

    def q_version(self, args):
        v = self.s.version
        return {"qemu": {"micro": v[2], "minor": v[1], "major": v[0]},
                "package": "fakeqmp"}

    # -- run state

    def stop(self, args):
        if self.running:
            self.running = False
            self.server.after_reply(lambda: self.emit("STOP", {}))
        return {}

    def cont(self, args):
        if not self.running:
            self.running = True

            def resume():
                self.emit("RESUME", {})
                for e in self.ents:
                    if e.unplug == "deferred":
                        self.arm_removal(e, 0)
            self.server.after_reply(resume)
        return {}

    # -- device_add

    def device_add(self, args):
        driver = args.get("driver")
        if driver is None:
            raise QMPError("GenericError", "Parameter 'driver' is missing")
        dev_id = args.get("id")
        if dev_id is not None:
            if not isinstance(dev_id, str) or not ID_RE.match(dev_id):
                raise QMPError("GenericError",
                               "Parameter 'id' expects an identifier")
            if self.by_name(dev_id) is not None or self.leaving(dev_id):
                raise QMPError("GenericError",
                               "Duplicate device ID '%s'" % dev_id)
        types = {e.type for e in self.ents}
        if driver not in types:
            if not types:
                raise QMPError("GenericError",
                               "'%s' is not a valid device model name"
                               % driver)
            raise QMPError("GenericError",
                           "Invalid CPU type, expected cpu type: '%s'"
                           % sorted(types)[0])
        props = {k: v for k, v in args.items() if k not in ("driver", "id")}
        cands = [e for e in self.ents if e.type == driver]
        keys = set()
        for e in cands:
            keys.update(e.props)
        for k in props:
            if k not in keys:
                raise QMPError("GenericError",
                               "Property '%s.%s' not found" % (driver, k))
        for k in sorted(keys):
            vals = [e.props[k] for e in cands if k in e.props]
            if k not in props:
                raise QMPError("GenericError", "CPU %s is not set" % k)
            v = props[k]
            if not isinstance(v, int) or isinstance(v, bool):
                raise QMPError("GenericError",
                               "Parameter '%s' expects uint32_t" % k)
            if v not in vals:
                raise QMPError("GenericError",
                               "Invalid CPU %s: %d must be in range %d:%d"
                               % (k, v, min(vals), max(vals)))
        ent = None
        for e in cands:
            if e.props == props:
                ent = e
                break
        if ent is None:
            desc = ", ".join("%s: %s" % (k, props[k]) for k in sorted(props))
            raise QMPError("GenericError",
                           "Invalid CPU [%s]: no such CPU slot" % desc)
        if ent.qom:
            if ent.is_x86():
                msg = "CPU[%d] with APIC ID %d exists" % (ent.slot, ent.slot)
            else:
                msg = "CPU with %s already exists" % json.dumps(props)
            raise QMPError("GenericError", msg)
        if dev_id is None:
            ent.qom = "/machine/peripheral-anon/device[%d]" % self.anon
            self.anon += 1
        else:
            ent.qom = "/machine/peripheral/" + dev_id
        ent.alias = dev_id
        ent.unplug = None
        ent.ost = (0, 0)
        self.plug_vcpus(ent)
        self.version += 1
        if ent.is_x86():
            self.server.after_reply(
                lambda: self.ost_event(ent, OST_INSERT, OST_SUCCESS))
        return {}

    def plug_vcpus(self, ent):
        used = {c.get("cpu-index") for c in self.cpus}
        base = ent.slot * ent.count
        if any(base + i in used for i in range(ent.count)):
            base = max([u for u in used if isinstance(u, int)] + [-1]) + 1
        for i in range(ent.count):
            c = {"thread-id": self.next_tid, "props": dict(ent.props),
                 "qom-path": ent.qom if ent.count == 1
                 else "%s/thread[%d]" % (ent.qom, i),
                 "cpu-index": base + i}
            self.next_tid += 1
            c.update(self.template)
            self.cpus.append(c)

    # -- device_del

    def device_del(self, args):
        if "id" not in args:
            raise QMPError("GenericError", "Parameter 'id' is missing")
        name = args["id"]
        e = self.by_name(name) if isinstance(name, str) else None
        if e is None:
            raise QMPError("DeviceNotFound", "Device '%s' not found" % name)
        mode = self.s.unplug
        # The machine refuses before the CPU model gets a say.
        if mode == "unsupported":
            raise QMPError("GenericError",
                           "CPU hot unplug not supported on this machine")
        if e.is_boot():
            raise QMPError("GenericError", "Boot CPU is unpluggable")
        if e.unplug is not None:
            return {}       # QEMU accepts a repeated request silently
        if mode == "reject":
            self.guest_event(lambda: self.ost_event(
                e, OST_EJECT, OST_EJECT_NOT_SUPPORTED))
        elif mode == "guest-error":
            data = {"device": e.alias} if e.alias else {}
            data["path"] = e.qom
            self.guest_event(
                lambda: self.emit("DEVICE_UNPLUG_GUEST_ERROR", data))
        elif mode == "pending":
            e.unplug = "pending"
            e.ost = (OST_EJECT, OST_EJECT_IN_PROGRESS)
        else:
            if not self.running:
                e.unplug = "deferred"
                e.need_start = True
            else:
                e.unplug = "removing"
                self.guest_event(lambda: self.start_removal(e))
        return {}

    def guest_event(self, fn):
        if self.s.events_before_reply:
            fn()
        else:
            self.server.after_reply(fn)

    def start_removal(self, e):
        """The guest has taken the eject request: 132, then the rest after
        the configured delay (or on cont when the VM is stopped)."""
        e.need_start = False
        if e.is_x86():
            self.ost_event(e, OST_EJECT, OST_EJECT_IN_PROGRESS)
        else:
            e.ost = (OST_EJECT, OST_EJECT_IN_PROGRESS)
        if self.s.unplug_delay > 0:
            self.arm_removal(e, self.s.unplug_delay)
        else:
            self.finish_removal(e)

    def arm_removal(self, e, delay):
        e.unplug = "removing"
        e.gen += 1
        gen = e.gen

        def fire():
            if e.gen != gen or e.unplug != "removing":
                return
            if not self.running:
                e.unplug = "deferred"
                return
            if e.need_start:
                self.start_removal(e)
            else:
                self.finish_removal(e)
        self.server.timer(delay, fire)

    def finish_removal(self, e):
        qom, alias = e.qom, e.alias
        prefix = qom + "/"
        gone = [c for c in self.cpus
                if c.get("qom-path") == qom or
                str(c.get("qom-path", "")).startswith(prefix)]
        self.cpus[:] = [c for c in self.cpus if c not in gone]
        if gone and self.s.linger > 0:
            self.lingering.append([gone[-1], self.s.linger])
        e.qom = None
        e.alias = None
        e.unplug = None
        e.gen += 1
        self.version += 1
        dev = {"device": alias} if alias else {}
        mode = self.s.deleted_event
        if mode in ("lapic", "both"):
            self.emit("DEVICE_DELETED", {"path": qom + "/lapic"})
        if mode in ("device", "both"):
            self.emit("DEVICE_DELETED", dict(dev, path=qom))
        if mode == "children":
            for i in range(e.count):
                self.emit("DEVICE_DELETED",
                          {"path": "%s/thread[%d]" % (qom, i)})
            self.emit("DEVICE_DELETED", dict(dev, path=qom))
        if e.is_x86():
            e.ost = (OST_EJECT, OST_SUCCESS)
            self.emit("ACPI_DEVICE_OST", {"info": {
                "source": OST_EJECT, "status": OST_SUCCESS,
                "slot": str(e.slot), "slot-type": "CPU"}})


# ---------------------------------------------------------------- transport

class Client:
    def __init__(self, sock):
        self.sock = sock
        self.inbuf = bytearray()
        self.scan = 0           # bytes of inbuf already scanned
        self.depth = 0
        self.in_str = False
        self.esc = False
        self.start = None
        self.outq = collections.deque()
        self.outoff = 0         # bytes of outq[0] already sent
        self.negotiated = False
        self.closing = False    # close once outq drains
        self.stalled = False    # a stalled command blocks the rest

    def frames(self):
        """Split complete top-level JSON texts off inbuf by structure,
        not by newline, as QEMU's streamer does."""
        buf = self.inbuf
        i = self.scan
        n = len(buf)
        out = []
        while i < n:
            ch = buf[i]
            if self.start is None:
                if ch in b" \t\r\n":
                    i += 1
                    continue
                if ch not in b"{[":
                    j = i
                    while j < n and buf[j] not in b" \t\r\n{[":
                        j += 1
                    out.append(bytes(buf[i:j]))
                    i = j
                    continue
                self.start = i
            if self.in_str:
                if self.esc:
                    self.esc = False
                elif ch == 0x5c:
                    self.esc = True
                elif ch == 0x22:
                    self.in_str = False
            elif ch == 0x22:
                self.in_str = True
            elif ch in b"{[":
                self.depth += 1
            elif ch in b"}]":
                self.depth -= 1
                if self.depth == 0:
                    out.append(bytes(buf[self.start:i + 1]))
                    self.start = None
            i += 1
        if self.start is None:
            del buf[:i]
            self.scan = 0
        else:
            del buf[:self.start]
            self.scan = i - self.start
            self.start = 0
        return out


class Server:
    def __init__(self, args, scen):
        self.args = args
        self.s = scen
        self.vm = VM(scen, self)
        self.client = None
        self.timers = []
        self.tseq = 0
        self.calls = collections.Counter()
        self.deferred = None    # callbacks to run after the current reply
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.exit_after_close = False
        self.crashed = False    # a scripted QEMU death leaves the socket
        self.text_cache = {}    # command -> (VM version, "return" text)

    # -- helpers used by the VM

    def timer(self, delay, fn):
        self.tseq += 1
        heapq.heappush(self.timers, (time.monotonic() + delay, self.tseq, fn))

    def after_reply(self, fn):
        if self.deferred is not None:
            self.deferred.append(fn)
        else:
            fn()

    def emit(self, name, data):
        c = self.client
        if c is None or not c.negotiated or c.closing:
            return      # QEMU drops events nobody is listening for
        self.send_obj({"timestamp": now_stamp(), "event": name,
                       "data": data})

    def send_raw(self, data):
        c = self.client
        if c is None or c.closing:
            return
        if isinstance(data, str):
            data = data.encode("utf-8")
        if data:
            c.outq.append(data)

    def send_obj(self, obj):
        self.send_raw(json.dumps(obj).encode("utf-8") + b"\r\n")

    # -- connection lifecycle

    def greet(self):
        if self.s.hangup == "on-connect":
            self.client.closing = True
            return
        for ev in self.s.pre_greeting:
            self.send_obj(dict(ev, timestamp=now_stamp()))
        if self.s.greeting_raw is not None:
            self.send_raw(self.s.greeting_raw)
        elif self.s.greeting:
            v = self.s.version
            self.send_obj({"QMP": {"version": {
                "qemu": {"micro": v[2], "minor": v[1], "major": v[0]},
                "package": "fakeqmp"}, "capabilities": ["oob"]}})
        if self.s.garbage is not None:
            self.send_raw(self.s.garbage)
        if self.s.hangup == "after-greeting":
            self.client.closing = True

    def drop_client(self):
        c = self.client
        self.client = None
        try:
            c.sock.close()
        except OSError:
            pass
        if self.exit_after_close:
            sys.exit(0)

    def on_readable(self):
        c = self.client
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop_client()
            return
        if c.closing:
            return
        c.inbuf += data
        for text in c.frames():
            if self.client is not c or c.closing:
                return
            self.handle_text(c, text)

    def on_writable(self):
        c = self.client
        q = c.outq
        # Coalesce small messages (event floods) into one send().
        if c.outoff == 0 and len(q) > 1 and len(q[0]) < 65536:
            parts = []
            size = 0
            while q and size < 262144 and len(q[0]) < 65536:
                p = q.popleft()
                parts.append(p)
                size += len(p)
            q.appendleft(b"".join(parts))
        head = q[0]
        try:
            n = c.sock.send(memoryview(head)[c.outoff:c.outoff + (1 << 20)])
        except BlockingIOError:
            return
        except OSError:
            self.drop_client()
            return
        c.outoff += n
        if c.outoff >= len(head):
            q.popleft()
            c.outoff = 0

    # -- command dispatch

    def handle_text(self, c, text):
        try:
            req = json.loads(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            if not c.stalled:
                self.send_obj({"error": {"class": "GenericError",
                                         "desc": "JSON parse error, %s" % e}})
            return
        if self.log:
            self.log.write(json.dumps(req, separators=(",", ":")) + "\n")
            self.log.flush()
        if c.stalled:
            return
        rid = req.get("id") if isinstance(req, dict) else None
        has_id = isinstance(req, dict) and "id" in req
        name = req.get("execute") if isinstance(req, dict) else None
        if isinstance(name, str):
            self.calls[name] += 1
        count = self.calls[name] if isinstance(name, str) else 0

        for rule in self.s.stall:
            if rule.get("command") == name and nth_matches(rule, count):
                c.stalled = True
                return
        close = None
        for rule in self.s.close:
            if rule.get("command") == name and nth_matches(rule, count):
                close = rule
                break
        if close is not None and close.get("when", "before-reply") == \
                "before-reply":
            self.close_client(close)
            if close.get("apply", False):
                self.run_command(c, req, name, count)
            return

        self.deferred = []
        reply = self.run_command(c, req, name, count)
        if has_id:
            reply["id"] = rid
        if name in self.s.raw:
            text = self.s.raw[name].replace("{id}", json.dumps(rid))
            data = text.encode("utf-8")
        elif name in CACHED_REPLIES and "return" in reply and \
                name not in self.s.pad:
            data = self.cached_reply(name, reply)
        else:
            if name in self.s.pad and "return" in reply:
                self.pad_reply(reply, int(self.s.pad[name]))
            data = json.dumps(reply).encode("utf-8") + b"\r\n"
        if close is not None and close["when"] == "mid-reply":
            self.deferred = None
            self.send_raw(data[:max(1, len(data) // 2)])
            self.close_client(close)
            return
        self.send_raw(data)
        if close is not None:
            self.deferred = None
            self.close_client(close)
            return
        pending, self.deferred = self.deferred, None
        for fn in pending:
            fn()
        for rule in self.s.flood:
            if rule.get("after") == name and nth_matches(rule, count):
                for i in range(int(rule.get("count", 1000))):
                    self.emit("RTC_CHANGE", {
                        "offset": i,
                        "qom-path": "/machine/unattached/device[99]"})
        if name == "quit":
            self.emit("SHUTDOWN", {"guest": False,
                                   "reason": "host-qmp-quit"})
            self.exit_after_close = True
            self.client.closing = True

    def cached_reply(self, name, reply):
        """The bytes json.dumps(reply) would give, the "return" part
        encoded once per VM version."""
        hit = self.text_cache.get(name)
        if hit is None or hit[0] != self.vm.version:
            hit = (self.vm.version, json.dumps(reply["return"]))
            self.text_cache[name] = hit
        parts = ['{"return": ', hit[1]]
        for k, v in reply.items():
            if k != "return":
                parts.append(", %s: %s" % (json.dumps(k), json.dumps(v)))
        parts.append("}\r\n")
        return "".join(parts).encode("utf-8")

    def close_client(self, rule):
        self.client.closing = True
        if rule.get("exit", False):
            self.exit_after_close = True
            self.crashed = True

    def pad_reply(self, reply, size):
        ret = reply["return"]
        base = len(json.dumps(reply)) + 2
        need = max(0, size - base - len(', "x-pad": ""'))
        target = None
        if isinstance(ret, list) and ret and isinstance(ret[0], dict):
            ret[0] = dict(ret[0])
            target = ret[0]
        elif isinstance(ret, dict):
            reply["return"] = target = dict(ret)
        if target is not None:
            target["x-pad"] = "x" * need

    def run_command(self, c, req, name, count):
        """Execute one request; returns the reply object (without id)."""
        try:
            if not isinstance(req, dict):
                raise QMPError("GenericError",
                               "QMP input must be a JSON object")
            if "execute" not in req:
                raise QMPError("GenericError",
                               "QMP input lacks member 'execute'")
            if not isinstance(name, str):
                raise QMPError("GenericError",
                               "QMP input member 'execute' must be a string")
            args = req.get("arguments", {})
            if not isinstance(args, dict):
                raise QMPError("GenericError",
                               "QMP input member 'arguments' must be an "
                               "object")
            if not c.negotiated:
                if name != "qmp_capabilities":
                    raise QMPError("CommandNotFound",
                                   "Expecting capabilities negotiation with "
                                   "'qmp_capabilities'")
                c.negotiated = True
                return {"return": {}}
            if name == "qmp_capabilities":
                raise QMPError("CommandNotFound",
                               "Capabilities negotiation is already "
                               "complete, command ignored")
            for rule in self.s.fail:
                if rule.get("command") == name and nth_matches(rule, count):
                    raise QMPError(rule.get("class", "GenericError"),
                                   rule.get("desc", "injected failure"))
            fn = self.commands().get(name)
            if fn is None:
                raise QMPError("CommandNotFound",
                               "The command %s has not been found" % name)
            return {"return": fn(args)}
        except QMPError as e:
            return {"error": {"class": e.cls, "desc": e.desc}}

    def commands(self):
        vm = self.vm
        return {
            "query-hotpluggable-cpus": vm.q_hotpluggable,
            "query-cpus-fast": vm.q_cpus_fast,
            "query-acpi-ospm-status": vm.q_ospm,
            "query-name": lambda a: {"name": self.s.name},
            "query-uuid": lambda a: {"UUID": self.s.uuid},
            "query-kvm": lambda a: {"enabled": self.s.kvm, "present": True},
            "query-status": vm.q_status,
            "query-version": vm.q_version,
            "stop": vm.stop,
            "cont": vm.cont,
            "device_add": vm.device_add,
            "device_del": vm.device_del,
            "quit": lambda a: {},
        }

    # -- main loop

    def run_timers(self):
        t = time.monotonic()
        while self.timers and self.timers[0][0] <= t:
            _, _, fn = heapq.heappop(self.timers)
            fn()

    def serve(self, lsock):
        while True:
            c = self.client
            if c is not None and c.closing and not c.outq:
                self.drop_client()
                continue
            rlist, wlist = [], []
            if c is None:
                rlist.append(lsock)
            else:
                rlist.append(c.sock)
                if c.outq:
                    wlist.append(c.sock)
            timeout = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            r, w, _ = select.select(rlist, wlist, [], timeout)
            if lsock in r:
                try:
                    sock, _ = lsock.accept()
                except OSError:
                    sock = None
                if sock is not None:
                    sock.setblocking(False)
                    self.client = Client(sock)
                    self.greet()
            if self.client is not None and self.client.sock in w:
                self.on_writable()
            if self.client is not None and self.client.sock in r:
                self.on_readable()
            self.run_timers()


def main():
    ap = argparse.ArgumentParser(description="Fake QMP server for tests.")
    ap.add_argument("--socket", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--log")
    ap.add_argument("--pidfile")
    args = ap.parse_args()

    try:
        scen = Scenario(args.scenario)
    except (OSError, ValueError, ScenarioError) as e:
        print("fakeqmp: %s: %s" % (args.scenario, e), file=sys.stderr)
        return 2
    server = Server(args, scen)

    def on_term(signum, frame):
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    # Bind and listen under a temporary name, then rename: whoever sees
    # the socket path can connect at once.
    tmp = "%s.%d.tmp" % (args.socket, os.getpid())
    for p in (args.socket, tmp):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lsock.bind(tmp)
    except OSError as e:
        print("fakeqmp: bind %s: %s" % (tmp, e), file=sys.stderr)
        return 2
    lsock.listen(16)
    os.rename(tmp, args.socket)
    clean_exit = True
    try:
        server.serve(lsock)
    except SystemExit:
        # A scripted "QEMU died" leaves its socket behind, as QEMU does.
        clean_exit = not server.crashed
    finally:
        if clean_exit:
            try:
                os.unlink(args.socket)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
