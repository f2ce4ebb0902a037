#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# What 'make run' shows in the guest: several clients of /dev/tpmrm0 hold
# more keys and sessions than the TPM has slots, every one of them still
# works, and /dev/tpm0 shows that between commands the resource manager
# holds no TPM slot at all.
#
# Usage: demo.py DIR, where DIR holds upstream's tpm2.py (the base tree's
# tools/testing/selftests/tpm2): it builds the raw commands for us.

import os
import sys

sys.path.insert(0, sys.argv[1])
import tpm2  # noqa: E402

CLIENTS = 4
# Linux 6.12's resource manager stops at 3 objects per file; ours does not.
KEYS_PER_CLIENT = 5
HR_SAVED_SESSION = 0x03000000
SECRET = b'demo secret'


def handles(client, first):
    return client.get_cap(tpm2.TPM2_CAP_HANDLES, first)


def show_tpm(what):
    raw = tpm2.Client()  # /dev/tpm0: the TPM as it is, no space
    try:
        objects = handles(raw, tpm2.HR_TRANSIENT)
        loaded = handles(raw, tpm2.HR_LOADED_SESSION)
        saved = handles(raw, HR_SAVED_SESSION)
    finally:
        raw.close()
    print(f'  /dev/tpm0 {what}: {len(objects)} transient objects loaded, '
          f'{len(loaded)} sessions loaded, {len(saved)} sessions saved')


def show_counters():
    for path in ('/sys/kernel/debug/tpm0/space_stats',
                 '/sys/class/tpm/tpm0/space_stats'):
        if os.path.exists(path):
            print(f'  {path}:')
            with open(path) as f:
                for line in f:
                    print('    ' + line.rstrip())


def main():
    slots = tpm2.Client()
    print(f'{CLIENTS} clients of /dev/tpmrm0, {KEYS_PER_CLIENT} keys and '
          f'one policy session each: {CLIENTS * KEYS_PER_CLIENT} objects '
          f'and {CLIENTS} sessions on a TPM with 3 object and 3 session '
          f'slots')
    slots.close()

    clients = [tpm2.Client(tpm2.Client.FLAG_SPACE) for _ in range(CLIENTS)]
    keys = {}
    sessions = {}
    for n, c in enumerate(clients):
        keys[n] = []
        for _ in range(KEYS_PER_CLIENT):
            try:
                keys[n].append(c.create_root_key())
            except (OSError, tpm2.ProtocolError) as e:
                print(f'  client {n}: key {len(keys[n]) + 1} refused: {e}')
                break
        sessions[n] = c.start_auth_session(tpm2.TPM2_SE_POLICY)
        view = handles(c, tpm2.HR_TRANSIENT)
        print(f'  client {n}: keys {" ".join(f"{k:#010x}" for k in keys[n])}'
              f', session {sessions[n]:#010x}; it sees transient handles '
              f'{" ".join(f"{h:#010x}" for h in view)}')
    show_tpm('after every client has its keys')

    print('Each client seals and unseals a secret with each of its keys:')
    for n, c in enumerate(clients):
        for k in keys[n]:
            blob = c.seal(k, SECRET, b'pw', None)
            data = c.unseal(k, blob, b'pw', None)
            assert data == SECRET, f'client {n} key {k:#x}: wrong data'
        print(f'  client {n}: {len(keys[n])} keys used, secrets match')
    show_tpm('between commands')
    show_counters()

    for c in clients:
        c.close()
    show_tpm('after every client closed its file')
    print('demo: done')


if __name__ == '__main__':
    main()
