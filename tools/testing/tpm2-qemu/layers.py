#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""layers.py [-v] [--doc RST] OBJECT... : the resource manager's files
call one way.

Reads the symbol tables of the compiled objects (nm): an object that uses
a symbol another one defines depends on it. The dependencies must form
no cycle, so that the files stack up in layers, each calling only those
below it. Prints one line per set of files that reach each other,
"layers: a.c b.c call each other (a.c uses f; b.c uses g)", and, with -v
and no such set, the files from the bottom layer up. With --doc, the
table of files in RST must list them in layer order too: a file that
uses one listed after it is a finding. Exit status 1 on any finding, 2
when nm fails.
"""

import os
import re
import subprocess
import sys


def symbols(obj):
    """The global symbols OBJ defines, and those it uses.

    Symbols that start with "__" are left out: they are the machinery of
    the trace events (__tracepoint_*, __SCK__tp_func_*, ...), which one file
    defines for all with CREATE_TRACE_POINTS, and no call between layers.
    """
    out = subprocess.run(["nm", obj], capture_output=True, text=True,
                         check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        fields = line.split()
        if not fields or fields[-1].startswith("__"):
            continue
        if len(fields) == 2 and fields[0] == "U":
            used.add(fields[1])
        elif len(fields) == 3 and fields[1] in "TDBR":
            defined.add(fields[2])
    return defined, used


def source_name(obj):
    return os.path.basename(obj)[:-2] + ".c"


def tangles(deps):
    """The sets of two or more files that reach each other (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(deps[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(deps):
        if node not in index:
            visit(node)
    return out


def bottom_up(deps):
    order, done = [], set()

    def visit(node, stack):
        if node in done or node in stack:
            return
        for nxt in sorted(deps[node]):
            visit(nxt, stack | {node})
        done.add(node)
        order.append(node)

    for node in sorted(deps):
        visit(node, set())
    return order


def doc_order(rst):
    """The tpm2-space*.c files in the order the table of RST lists them."""
    with open(rst, encoding="utf-8") as f:
        return re.findall(r"^(tpm2-space[a-z-]*\.c)\s", f.read(), re.M)


def out_of_order(deps, why, order):
    """Findings: files that use a file the document lists after them."""
    where = {name: i for i, name in enumerate(order)}
    found = [f"layers: {name} is not in the document's table"
             for name in sorted(deps) if name not in where]
    for name in sorted(deps):
        for below in sorted(deps[name]):
            if name in where and below in where and \
               where[below] > where[name]:
                found.append(f"layers: {name} uses "
                             f"{', '.join(sorted(why[(name, below)]))} of "
                             f"{below}, which the document lists after it")
    return found


def main(argv):
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    rst = None
    if len(argv) >= 2 and argv[0] == "--doc":
        rst, argv = argv[1], argv[2:]
    objs = argv
    try:
        table = {source_name(o): symbols(o) for o in objs}
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"layers: nm: {err}", file=sys.stderr)
        return 2
    owner = {}
    for name, (defined, _) in table.items():
        for sym in defined:
            owner[sym] = name
    deps, why = {n: set() for n in table}, {}
    for name, (_, used) in table.items():
        for sym in used:
            below = owner.get(sym)
            if below and below != name:
                deps[name].add(below)
                why.setdefault((name, below), []).append(sym)

    groups = tangles(deps)
    for group in groups:
        calls = "; ".join(f"{a} uses {', '.join(sorted(why[(a, b)]))}"
                          for a in group for b in group
                          if (a, b) in why)
        print(f"layers: {' '.join(group)} call each other ({calls})")
    found = out_of_order(deps, why, doc_order(rst)) if rst else []
    for line in found:
        print(line)
    if verbose and not groups:
        print("layers, bottom up: " + " ".join(bottom_up(deps)))
    return 1 if groups or found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
