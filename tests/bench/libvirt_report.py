#!/usr/bin/env python3
"""libvirt_report.py RAW - the markdown table of "make bench-libvirt".

RAW holds, per counted run, "KEY WALL_MS EXIT" (tests/bench/libvirt.sh
writes it), "qmp:KEY N" (QMP commands the tool sent for that run),
"state:TOOL QEMU_HAS BELIEVES" after each unplug and "note:KEY TEXT" with
the start of a failed run's stderr.  Keys starting "warm-" are the warm-up
round and are left out.
"""

import collections
import statistics
import sys


def load(path):
    runs = collections.defaultdict(list)
    qmp = collections.defaultdict(list)
    state = collections.defaultdict(list)
    notes = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            parts = line.split(maxsplit=1)
            if not parts:
                continue
            key = parts[0]
            if key.split(":", 1)[-1].startswith("warm-"):
                continue
            if key.startswith("qmp:"):
                if parts[1].strip():
                    qmp[key[4:]].append(int(parts[1]))
            elif key.startswith("state:"):
                state[key[6:]].append(tuple(parts[1].split()))
            elif key.startswith("note:"):
                notes[key[5:]].append(parts[1].strip())
            else:
                wall, status = parts[1].split()
                runs[key].append((float(wall), int(status)))
    return runs, qmp, state, notes


def fig(vals):
    if not vals:
        return "n/a"
    m = statistics.median(vals)
    if m >= 1000:
        return "%.2f s (%.2f–%.2f)" % (m / 1e3, min(vals) / 1e3, max(vals) / 1e3)
    return "%.0f ms (%.0f–%.0f)" % (m, min(vals), max(vals))


def exits(runs, key):
    c = collections.Counter(s for _, s in runs.get(key, []))
    return ", ".join("exit %d ×%d" % (s, n) for s, n in sorted(c.items())) or "–"


def counts(qmp, key):
    v = sorted(set(qmp.get(key, [])))
    return "/".join(str(x) for x in v) if v else "–"


def main():
    runs, qmp, state, notes = load(sys.argv[1])
    print("| Operation | virsh setvcpus --live | vcpuctl set | ratio virsh/vcpuctl |")
    print("|---|---|---|---|")
    for op, label in (("plug", "Plug 1→8"), ("unplug", "Unplug 8→1")):
        lv = [w for w, _ in runs.get("lv_" + op, [])]
        vc = [w for w, _ in runs.get("vc_" + op, [])]
        # Pair by pair (same round), so drift in machine speed cancels.
        ratios = [a / b for a, b in zip(lv, vc) if b > 0]
        ratio = "%.1f×" % statistics.median(ratios) if ratios else "n/a"
        print("| %s, wall | %s | %s | %s |" % (label, fig(lv), fig(vc), ratio))
        print("| %s, exit status | %s | %s | |" % (label, exits(runs, "lv_" + op),
                                                   exits(runs, "vc_" + op)))
        print("| %s, QMP commands | %s | %s | |" % (label, counts(qmp, "lv_" + op),
                                                    counts(qmp, "vc_" + op)))
    for tool, name in (("lv", "virsh"), ("vc", "vcpuctl")):
        seen = collections.Counter(state.get(tool, []))
        desc = "; ".join("QEMU has %s, %s says %s (×%d)" % (q, name, b, n)
                         for (q, b), n in sorted(seen.items()))
        print("| After the unplug (%s) | %s | | |" % (name, desc or "–"))
    print()
    for key in ("lv_unplug", "lv_plug", "vc_unplug", "vc_plug"):
        if notes.get(key):
            print("%s failed with: `%s`" % (key, notes[key][0]))
            print()
    print("QMP commands: libvirt's are the `QEMU_MONITOR_SEND_MSG` lines of its "
          "monitor debug log; vcpuctl's are the round trips `--stats` reports "
          "(the audit record's two queries included).")


if __name__ == "__main__":
    main()
