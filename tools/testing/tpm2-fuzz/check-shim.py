#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# The fuzzers' include/tpm.h restates constants and structures of the
# kernel's TPM headers. Check that every one of them still says what the
# kernel says: the same value for each constant, the same members for each
# structure. Exit status 0: all agree; 1: a difference; 4: no kernel
# headers next to this folder (not a full kernel tree).

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KSRC = os.path.join(HERE, '..', '..', '..')
KERNEL = [os.path.join(KSRC, 'include', 'linux', 'tpm.h'),
          os.path.join(KSRC, 'drivers', 'char', 'tpm', 'tpm.h')]
SHIM = os.path.join(HERE, 'include', 'tpm.h')
FALLBACKS = {'U16_MAX'}	# defined only where the headers lack it


def strip_comments(text):
    return re.sub(r'/\*.*?\*/|//[^\n]*', '', text, flags=re.S)


def constants(text):
    found = {}
    for name, value in re.findall(r'^\s*(\w+)\s*=\s*([^,\n]+),?', text,
                                  re.M):
        found[name] = value.strip()
    for name, value in re.findall(r'^#define\s+(\w+)\s+(\S[^\n]*)$', text,
                                  re.M):
        found[name] = value.strip()
    return found


def evaluate(expr, table, depth=0):
    expr = re.sub(r'(0x[0-9a-fA-F]+|\d+)[uUlL]+', r'\1', expr)
    for name in set(re.findall(r'(?<!\w)[A-Za-z_]\w*', expr)):
        if name not in table or depth > 5:
            raise ValueError(name)
        expr = re.sub(r'\b%s\b' % name,
                      '(%d)' % evaluate(table[name], table, depth + 1), expr)
    return eval(expr, {'__builtins__': {}})


def struct_members(text, name):
    m = re.search(r'struct %s\s*\{(.*?)\n\}' % name, text, re.S)
    if not m:
        return None
    return [' '.join(line.split()) for line in m.group(1).splitlines()
            if line.strip()]


def main():
    if not all(os.path.exists(p) for p in KERNEL):
        print('check-shim: no kernel headers at %s' % os.path.abspath(KSRC))
        return 4
    kernel = strip_comments(''.join(open(p).read() for p in KERNEL))
    shim = strip_comments(open(SHIM).read())
    kconst, sconst = constants(kernel), constants(shim)
    bad = 0
    checked = 0
    for name, value in sconst.items():
        if name in FALLBACKS or name.startswith('_') or \
           not re.match(r'[-\w()<>| ]+$', value):
            continue
        if name not in kconst:
            print('check-shim: %s is not in the kernel headers' % name)
            bad += 1
            continue
        try:
            mine, theirs = evaluate(value, sconst), evaluate(kconst[name],
                                                              kconst)
        except (ValueError, SyntaxError) as e:
            print('check-shim: cannot evaluate %s (%s)' % (name, e))
            bad += 1
            continue
        checked += 1
        if mine != theirs:
            print('check-shim: %s is 0x%x here, 0x%x in the kernel' %
                  (name, mine, theirs))
            bad += 1
    for struct in ('tpm_header',):
        mine, theirs = struct_members(shim, struct), struct_members(kernel,
                                                                    struct)
        checked += 1
        if mine != theirs:
            print('check-shim: struct %s differs:\n  here:   %s\n  kernel: %s'
                  % (struct, mine, theirs))
            bad += 1
    print('check-shim: %d definitions checked, %d differ' % (checked, bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
