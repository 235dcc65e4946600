#!/usr/bin/env python3
"""docexamples.py README MANPAGE - the example command lines of the docs.

Prints, for every code block of README (indented lines) and every .EX/.EE
block of the man page's EXAMPLES section that holds a vcpuctl command, a
line "# FILE:LINE" and then the block's command lines, one per line:
"$ " prompts and trailing "# comments" dropped, man escapes undone, a line
ending in "|" or "\\" joined with the next.  Lines that are not commands
(output, "vcpuctl [COMMON-OPTION...] COMMAND ...") are left out.
"""
import re
import sys

CMD = re.compile(r"^(vcpuctl|export) ")


def clean(text):
    text = re.sub(r"\s+#\s.*$", "", text).rstrip()
    return text[2:] if text.startswith("$ ") else text


def is_command(text):
    return CMD.match(text) and "COMMAND" not in text and "..." not in text


def emit(where, lines):
    cmds, cur = [], ""
    for raw in lines:
        cur = (cur + " " + raw.strip()) if cur else clean(raw.strip())
        if cur.endswith("|") or cur.endswith("\\"):
            cur = cur.rstrip("\\").rstrip()
            continue
        if is_command(cur):
            cmds.append(cur)
        cur = ""
    if any(c.startswith("vcpuctl ") for c in cmds):
        print("# " + where)
        for c in cmds:
            print(c)


def readme(path):
    block, start = [], 0
    with open(path) as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines + [""], 1):
        if line.startswith("    "):
            if not block:
                start = n
            block.append(line[4:])
        elif line.strip() == "" and block:
            block.append("")
        else:
            if block:
                emit("%s:%d" % (path, start), [b for b in block if b])
            block = []


def manpage(path):
    in_examples, block, start = False, None, 0
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith(".SH"):
                in_examples = line.strip() == ".SH EXAMPLES"
                continue
            if not in_examples:
                continue
            if line.startswith(".EX"):
                block, start = [], n
            elif line.startswith(".EE"):
                emit("%s:%d" % (path, start), block)
                block = None
            elif block is not None:
                line = line.replace("\\-", "-").replace("\\(aq", "'")
                line = line.replace("\\e", "\\")
                block.append(line)


readme(sys.argv[1])
manpage(sys.argv[2])
