#!/usr/bin/env python3
"""tests/layout.py - checks the include rules of spec/architecture.md.

Reads every .c and .h file under crypto/, storage/, protocol/ and node/ and
fails (exit 1, one line per violation) when:
  * a file includes a project header of a folder ranked above its own
    (spec/architecture.md, "Which folder may include which");
  * crypto/ and storage/ include each other;
  * the modules (a .c file and its .h of the same name count as one) include
    each other in a loop, directly or through others;
  * a source file has more than MAX_LINES lines, or starts without a
    header comment.
Run from the repository root: python3 tests/layout.py
"""
import os
import re
import sys

MAX_LINES = 1500
# Rank of each folder: a folder may include its own rank or anything below
# (a higher number). Leaves (err.h, log.h) may be included from anywhere.
RANK = {
    "node/cli": 1,
    "node/daemon": 2,
    "node/backup": 2,
    "node/api": 3,
    "node/webhooks": 3,
    "node/web": 3,
    "node/peers": 4,
    "node/overlap": 4,
    "node/access": 4,
    "node/reports": 4,
    "node/crm": 4,
    "node/objects": 5,
    "node/audit": 6,
    "node/events": 6,
    "node/work": 6,
    "node": 7,
    "protocol": 8,
    "crypto": 9,
    "storage": 9,
}
LEAVES = {"node/err.h", "node/log.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder(path):
    return os.path.dirname(path)


def module(path):
    """A .c file and its .h are one module; NAME_int.h (the internals of a
    folder's engine) belongs to module NAME."""
    m = os.path.splitext(path)[0]
    return m[:-4] if m.endswith("_int") else m


def main():
    files = []
    for top in ("crypto", "storage", "protocol", "node"):
        for d, _, names in os.walk(top):
            files += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
    files.sort()
    bad = []
    graph = {}
    for f in files:
        text = open(f, encoding="utf-8").read()
        if text.count("\n") > MAX_LINES:
            bad.append(f"{f}: {text.count(chr(10))} lines (limit {MAX_LINES})")
        if not text.lstrip().startswith("/*"):
            bad.append(f"{f}: no header comment saying what the file owns")
        me = folder(f)
        if me not in RANK:
            bad.append(f"{f}: folder {me} has no rank in spec/architecture.md")
            continue
        for inc in INCLUDE.findall(text):
            if not os.path.exists(inc):
                continue  # a system or generated header
            graph.setdefault(module(f), set()).add(module(inc))
            if inc in LEAVES:
                continue
            them = folder(inc)
            if them not in RANK:
                bad.append(f"{f}: includes {inc} from an unranked folder")
            elif RANK[them] < RANK[me]:
                bad.append(f"{f}: includes {inc}, a folder above it")
            elif {me, them} == {"crypto", "storage"}:
                bad.append(f"{f}: crypto/ and storage/ must not include each other")
            elif {me, them} == {"node/peers", "node/access"}:
                bad.append(f"{f}: node/peers/ and node/access/ must not include each other")
    # loops between modules
    state = {}

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if n == m:
                continue
            if state.get(n) == 1:
                loop = stack[stack.index(n):] + [n]
                bad.append("include loop: " + " -> ".join(loop))
            elif n not in state:
                visit(n, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    for line in bad:
        print(line)
    print(f"layout: {len(files)} files, {len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
