#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# A benchmark of the resource manager, run in the guest: what one client
# command costs while its file holds 3 keys and 3 sessions, the most Linux
# 6.12 allows. Prints one line per case, "bench CASE OPS SECONDS", and the
# RM's own TPM command counts where the kernel has them. 'make bench'
# runs it on our kernel and on the unmodified base and compares.
#
# Usage: bench.py DIR [OPS], where DIR holds upstream's tpm2.py (the base
# tree's tools/testing/selftests/tpm2).

import os
import struct
import sys
import time

sys.path.insert(0, sys.argv[1])
import tpm2  # noqa: E402

OPS = int(sys.argv[2]) if len(sys.argv) > 2 else 300
STATS = '/sys/kernel/debug/tpm0/space_stats'


def stats():
    if not os.path.exists(STATS):
        return None
    with open(STATS) as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


def get_random(client):
    cmd = struct.pack('>HIIH', tpm2.TPM2_ST_NO_SESSIONS, 12,
                      tpm2.TPM2_CC_GET_RANDOM, 8)
    client.send_cmd(cmd)


def run(name, ops, step):
    before = stats()
    start = time.monotonic()
    for _ in range(ops):
        step()
    seconds = time.monotonic() - start
    line = f'bench {name} {ops} {seconds:.3f}'
    after = stats()
    if before and after:
        issued = sum(after[k] - before[k] for k in
                     ('context_load', 'context_save', 'flush_context'))
        line += f' rm_commands_per_op {issued / ops:.2f}'
    print(line, flush=True)


def main():
    client = tpm2.Client(tpm2.Client.FLAG_SPACE)
    keys = [client.create_root_key() for _ in range(3)]
    sessions = [client.start_auth_session(tpm2.TPM2_SE_POLICY)
                for _ in range(3)]

    run('getrandom_idle_3keys_3sessions', OPS, lambda: get_random(client))
    run('policypcr_1session_of_3', OPS,
        lambda: client.policy_pcr(sessions[0], [16]))
    run('readpublic_1key_of_3', OPS, lambda: client.send_cmd(
        struct.pack('>HIII', tpm2.TPM2_ST_NO_SESSIONS, 14, 0x173, keys[0])))
    client.close()


if __name__ == '__main__':
    main()
