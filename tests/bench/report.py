#!/usr/bin/env python3
"""report.py RAW [TIMELINE] - the markdown tables of "make bench".

RAW holds lines "KEY WALL_MS RSS_KIB" (one per timed run), "rt:KEY N"
(QMP round trips the run reported) and "bytesN B" (show --json output
size); run.sh writes it.  TIMELINE is floor's stderr from the last bulk
unplug ("floor: +12.3 ms EVENT ..."), to show how the guest spaces its
ejects.  Keys starting "warm-" are warm-up runs and are left out.
"""

import collections
import re
import statistics
import sys

SIZES = (8, 288, 1024, 8192)


def load(path):
    runs = collections.defaultdict(list)
    rts = collections.defaultdict(list)
    other = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0].startswith("warm-"):
                continue
            if parts[0].startswith("rt:"):
                rts[parts[0][3:]].append(int(parts[1]))
            elif parts[0].startswith("bytes"):
                other[parts[0]] = int(parts[1])
            else:
                runs[parts[0]].append((float(parts[1]), int(parts[2])))
    return runs, rts, other


def walls(runs, key):
    return [w for w, _ in runs.get(key, [])]


def med(runs, key):
    w = walls(runs, key)
    return statistics.median(w) if w else float("nan")


def fig(runs, key):
    w = walls(runs, key)
    if not w:
        return "n/a"
    m = statistics.median(w)
    prec = 2 if m < 10 else 1 if m < 100 else 0
    return "%.*f (%.*f–%.*f)" % (prec, m, prec, min(w), prec, max(w))


def rt(rts, key):
    v = sorted(set(rts.get(key, [])))
    return "/".join(str(x) for x in v) if v else "–"


def peak_mib(runs, key):
    r = [k for _, k in runs.get(key, [])]
    return max(r) / 1024.0 if r else float("nan")


def timeline(path):
    """Times (ms after the first device_del) of the DEVICE_DELETEDs, of the
    guest's "eject in progress" (ACPI _OST status 132) reports and of the
    device_del replies."""
    deleted, started, replied = [], [], []
    try:
        with open(path) as f:
            for line in f:
                m = re.match(r"floor: \+([0-9.]+) ms (\S+) .*?(status 132)?$",
                             line.rstrip())
                if not m:
                    continue
                if m.group(2) == "device_del":
                    replied.append(float(m.group(1)))
                elif m.group(2) == "DEVICE_DELETED":
                    deleted.append(float(m.group(1)))
                elif m.group(2) == "ACPI_DEVICE_OST" and m.group(3):
                    started.append(float(m.group(1)))
    except OSError:
        pass
    return deleted, started, replied


def main():
    runs, rts, other = load(sys.argv[1])
    p = print

    p("| Operation | wall ms, median (min–max) | QMP round trips |")
    p("|---|---|---|")
    p("| Plug 1→8: `vcpuctl set --count 8` | %s | %s |"
      % (fig(runs, "plug_vc"), rt(rts, "plug_vc")))
    p("| Plug 1→8: floor client (1 query, 7 device_add, 1 query) | %s | %s |"
      % (fig(runs, "plug_floor"), rt(rts, "plug_floor")))
    p("| Unplug 8→1: `vcpuctl set --count 1` (all device_dels, then wait) "
      "| %s | %s |" % (fig(runs, "unplug_vc"), rt(rts, "unplug_vc")))
    p("| Unplug 8→1: floor client, all device_dels, then wait | %s | %s |"
      % (fig(runs, "unplug_bulkfloor"), rt(rts, "unplug_bulkfloor")))
    p("| Unplug 8→1: one by one, each waited for (libvirt's way) | %s | %s |"
      % (fig(runs, "unplug_1by1"), rt(rts, "unplug_1by1")))
    p("| Unplug 2→1: `vcpuctl set --count 1` (a single vCPU) | %s | %s |"
      % (fig(runs, "unplug_single"), rt(rts, "unplug_single")))
    p("| Start-up: `vcpuctl --version` | %s | – |" % fig(runs, "startup"))
    p()
    p("`show --json` on the fake QMP server (synthetic x86 topologies, all "
      "vCPUs online); \"fake's share\" is a bare client's two queries "
      "against the same server.")
    p()
    p("| vCPUs | show --json wall ms | peak RSS MiB | fake's share ms "
      "| output bytes | round trips |")
    p("|---|---|---|---|---|---|")
    for n in SIZES:
        p("| %d | %s | %.1f | %s | %s | %s |"
          % (n, fig(runs, "show%d" % n), peak_mib(runs, "show%d" % n),
             fig(runs, "fakeq%d" % n), other.get("bytes%d" % n, "–"),
             rt(rts, "show%d" % n)))
    p()

    plug_ratio = med(runs, "plug_vc") / med(runs, "plug_floor")
    bulk_ratio = med(runs, "unplug_vc") / med(runs, "unplug_single")
    serial_ratio = med(runs, "unplug_1by1") / med(runs, "unplug_vc")
    floor_ratio = med(runs, "unplug_vc") / med(runs, "unplug_bulkfloor")
    plug_rt = max(rts.get("plug_vc", [0]))
    big = 8192
    p("| Target | measured | met |")
    p("|---|---|---|")

    def row(name, value, ok):
        p("| %s | %s | %s |" % (name, value, "yes" if ok else "**no**"))
    row("Plug 1→8 within 1.2× the floor", "%.2f×" % plug_ratio,
        plug_ratio <= 1.2)
    row("Bulk unplug of 7 within 1.5× a single-vCPU unplug",
        "%.2f×" % bulk_ratio, bulk_ratio <= 1.5)
    row("Plug round trips ≤ 2 + 7", "%d" % plug_rt, 0 < plug_rt <= 9)
    row("show --json, %d vCPUs, under 50 ms" % big,
        "%.0f ms" % med(runs, "show%d" % big), med(runs, "show%d" % big) < 50)
    row("show --json, %d vCPUs, under 16 MiB peak RSS" % big,
        "%.1f MiB" % peak_mib(runs, "show%d" % big),
        peak_mib(runs, "show%d" % big) < 16)
    row("Start-up under 2 ms", "%.2f ms" % med(runs, "startup"),
        med(runs, "startup") < 2)
    p()
    p("Unplug 8→1: one-by-one takes %.2f× vcpuctl's bulk removal; vcpuctl "
      "takes %.2f× the bare bulk client." % (serial_ratio, floor_ratio))
    deleted, started, replied = (timeline(sys.argv[2]) if len(sys.argv) > 2
                                 else ([], [], []))
    if len(deleted) > 1:
        gaps = [b - a for a, b in zip(deleted, deleted[1:])]
        # Does the guest start an eject before the previous one is done?
        overlap = sum(1 for i, s in enumerate(started[1:])
                      if i < len(deleted) and s < deleted[i])
        p()
        p("Guest ejects in the last bulk round (all %d device_dels "
          "answered within %.0f ms; times after the first): \"eject in "
          "progress\" "
          "at +%s ms; DEVICE_DELETED at +%s ms (gaps: median %.0f ms). "
          "%s"
          % (len(replied), max(replied) if replied else 0,
             ", +".join("%.0f" % t for t in started),
             ", +".join("%.0f" % t for t in deleted), statistics.median(gaps),
             "The guest starts each eject only after the previous one "
             "ended: it releases vCPUs one at a time." if not overlap else
             "%d ejects overlapped." % overlap))


if __name__ == "__main__":
    main()
