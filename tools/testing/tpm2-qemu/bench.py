#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of 'make bench': one client library (tpm2-pytss over
# tpm2-tss's TCTIs) against each resource manager given, so that only the
# resource manager differs. Prints one line per figure,
# "bench-json {...}", which bench.sh collects from both boots and
# bench-report.py turns into the table, the Markdown file and the plots.
#
# Usage: bench.py [--quick] [--gap] [--rounds=N] SYSTEM=TCTI...
#   SYSTEM=device:/dev/tpm0       the TPM itself, no resource manager
#   SYSTEM=device:/dev/tpmrm0     the kernel's resource manager
#   SYSTEM=abrmd                  tpm2-abrmd, started here on /dev/tpm0
#                                 with a D-Bus session bus of its own
# A failing command is counted as an error of its case, never hidden.
# --rounds: the single-client cases run N times (default 1); those of
# the systems behind a device take turns round by round, so that a change
# in the host's load hits each of them alike.
# The TPM commands each case cost are counted at the TPM too, when swtpm
# logs them where the guest can read them (vm-run.sh --swtpm-log 2).

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

from tpm2_pytss import ESAPI, TSS2_Exception
from tpm2_pytss.constants import (ESYS_TR, TPM2_ALG, TPM2_SE, TPMA_OBJECT, TPMA_SESSION,
                                  TPM2_ST, TPM2_RH)
from tpm2_pytss.types import (TPM2B_PUBLIC, TPMT_SIG_SCHEME, TPMT_SYM_DEF,
                              TPMT_TK_HASHCHECK)

STATS = '/sys/kernel/debug/tpm0/space_stats'
RM_COUNTERS = ('context_load', 'context_save', 'flush_context')
QUICK = '--quick' in sys.argv
OPS = 40 if QUICK else 200
HEAVY_OPS = 10 if QUICK else 50
CLIENTS = (1, 8) if QUICK else (1, 8, 64)
HOLDERS, SHORT_LIVED, SHORT_WORKERS = (6, 20, 4) if QUICK else (60, 200, 10)
# ours evicts a saved session only after it was idle this long
HOLDER_IDLE_S = 3.0
ABRMD_BUS = 'unix:path=/run/bench-dbus.sock'
# the TPM tpm2-abrmd serves; another one to try this out on a host
ABRMD_TCTI = os.environ.get('BENCH_ABRMD_TCTI', 'device:/dev/tpm0')
ROUNDS = next((int(a.split('=', 1)[1]) for a in sys.argv
               if a.startswith('--rounds=')), 1)
SWTPM_LOG = '/run/vm-run/swtpm.log'
TPM2_CC_CONTEXT_LOAD, TPM2_CC_CONTEXT_SAVE, TPM2_CC_FLUSH_CONTEXT = \
    0x161, 0x162, 0x165


def emit(system, case, **fig):
    print('bench-json ' + json.dumps(dict(system=system, case=case, **fig)),
          flush=True)


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def latency_figures(lat_ns, errors, wall_s):
    ms = [x / 1e6 for x in lat_ns]
    return dict(ops=len(ms), errors=errors, p50_ms=percentile(ms, 50),
                p99_ms=percentile(ms, 99),
                ops_per_s=len(ms) / wall_s if wall_s else None)


def rm_stats():
    try:
        with open(STATS) as f:
            return {k: int(v) for k, v in (line.split() for line in f)}
    except OSError:
        return None


def rm_commands(before, after, ops):
    """TPM commands the kernel RM sent per client command, if it counts."""
    if not before or not after or not ops:
        return None
    return sum(after.get(k, 0) - before.get(k, 0) for k in RM_COUNTERS) / ops


class SwtpmLog:
    """
    The commands the TPM received, from swtpm's log at level 2: a line
    " SWTPM_IO_Read: length N" for each command, then its bytes in hex,
    16 a line, the command code in bytes 6 to 9. swtpm writes it before it
    answers, so once a case has its last response, its commands are in.
    """

    def __init__(self, path=SWTPM_LOG):
        try:
            self.f = open(path, 'rb')
        except OSError:
            self.f = None

    def size(self):
        # fstat asks the host: the guest's idea of the size may be stale
        return os.fstat(self.f.fileno()).st_size

    def mark(self):
        return self.size() if self.f else None

    def since(self, mark):
        """(all commands, context loads + saves + flushes) since mark."""
        if mark is None:
            return None, None
        lines = os.pread(self.f.fileno(), self.size() - mark,
                         mark).split(b'\n')
        total = ctx = 0
        for i, line in enumerate(lines):
            if not line.startswith(b' SWTPM_IO_Read:'):
                continue
            total += 1
            words = lines[i + 1].split() if i + 1 < len(lines) else []
            if len(words) >= 10 and int(b''.join(words[6:10]), 16) in (
                    TPM2_CC_CONTEXT_LOAD, TPM2_CC_CONTEXT_SAVE,
                    TPM2_CC_FLUSH_CONTEXT):
                ctx += 1
        return total, ctx


TPM_LOG = SwtpmLog()


def tpm_commands(mark, ops):
    """Per client command, what the TPM received since mark."""
    total, ctx = TPM_LOG.since(mark)
    if total is None or not ops:
        return dict(tpm_cmds_per_op=None, tpm_ctx_cmds_per_op=None)
    return dict(tpm_cmds_per_op=total / ops, tpm_ctx_cmds_per_op=ctx / ops)


def error_name(exc):
    """The response code when there is one, else the exception's kind."""
    rc = getattr(exc, 'rc', None)
    if isinstance(rc, int):
        return f'{rc:#x} {exc}'[:60]
    return type(exc).__name__


class Errors(dict):
    def add(self, exc):
        name = error_name(exc)
        self[name] = self.get(name, 0) + 1

    def total(self):
        return sum(self.values())


def hmac_session(esys, audit=False):
    """An HMAC session; an audit one can go with any command."""
    sess = esys.start_auth_session(
        ESYS_TR.NONE, ESYS_TR.NONE, TPM2_SE.HMAC,
        TPMT_SYM_DEF(algorithm=TPM2_ALG.NULL), TPM2_ALG.SHA256)
    attrs = TPMA_SESSION.CONTINUESESSION
    if audit:
        attrs |= TPMA_SESSION.AUDIT
    esys.trsess_set_attributes(sess, attrs)
    return sess


def policy_session(esys):
    return esys.start_auth_session(
        ESYS_TR.NONE, ESYS_TR.NONE, TPM2_SE.POLICY,
        TPMT_SYM_DEF(algorithm=TPM2_ALG.NULL), TPM2_ALG.SHA256)


def signing_key(esys):
    # NODA: a failed authorization must not lock the next cases out
    attrs = (TPMA_OBJECT.USERWITHAUTH | TPMA_OBJECT.SIGN_ENCRYPT |
             TPMA_OBJECT.FIXEDTPM | TPMA_OBJECT.FIXEDPARENT |
             TPMA_OBJECT.SENSITIVEDATAORIGIN | TPMA_OBJECT.NODA)
    public = TPM2B_PUBLIC.parse('ecc256:ecdsa-sha256', objectAttributes=attrs)
    return esys.create_primary(None, public, ESYS_TR.NULL)[0]


def timed(step, ops):
    """Runs step() ops times: latencies in ns, errors, wall seconds."""
    lat, errors = [], Errors()
    start = time.monotonic()
    for _ in range(ops):
        t0 = time.perf_counter_ns()
        try:
            step()
        except TSS2_Exception as exc:
            errors.add(exc)
            continue
        lat.append(time.perf_counter_ns() - t0)
    return lat, errors, time.monotonic() - start


def single_case(system, tcti, case, ops, step, esys, rnd):
    before, mark = rm_stats(), TPM_LOG.mark()
    lat, errors, wall = timed(lambda: step(esys), ops)
    fig = latency_figures(lat, errors.total(), wall)
    fig['error_kinds'] = dict(errors)
    fig['rm_cmds_per_op'] = rm_commands(before, rm_stats(), ops) \
        if tcti.endswith('tpmrm0') else None
    fig.update(tpm_commands(mark, ops), round=rnd)
    emit(system, case, **fig)


def single_client_cases(system, tcti, rnd=0):
    esys = ESAPI(tcti)
    single_case(system, tcti, 'getrandom_0held', OPS,
                lambda e: e.get_random(8), esys, rnd)

    held = [signing_key(esys) for _ in range(3)]
    held += [hmac_session(esys) for _ in range(3)]
    single_case(system, tcti, 'getrandom_3obj_3sess_held', OPS,
                lambda e: e.get_random(8), esys, rnd)
    for h in held:
        esys.flush_context(h)

    key, sess = signing_key(esys), hmac_session(esys)
    digest = b'\x5a' * 32
    scheme = TPMT_SIG_SCHEME(scheme=TPM2_ALG.ECDSA)
    scheme.details.any.hashAlg = TPM2_ALG.SHA256
    check = TPMT_TK_HASHCHECK(tag=TPM2_ST.HASHCHECK,
                              hierarchy=TPM2_RH.NULL)
    single_case(system, tcti, 'sign_key_hmac_session', HEAVY_OPS,
                lambda e: e.sign(key, digest, scheme, check, session1=sess),
                esys, rnd)
    esys.flush_context(key)
    esys.flush_context(sess)

    def policy_round(e):
        s = policy_session(e)
        try:
            e.policy_pcr(s, b'', 'sha256:0')
        finally:
            e.flush_context(s)
    single_case(system, tcti, 'policy_session_start_pcr_flush', HEAVY_OPS,
                policy_round, esys, rnd)
    esys.close()


# ---------------------------------------------------------------------
# Many clients: each one a process, with its own connection

def clients_context(tcti):
    """
    Each client is a process. Through tabrmd they are forked from a server
    process that never connected: a child forked from a process with a
    D-Bus connection (the tabrmd TCTI's GDBus) inherits a bus without its
    worker thread, and hangs. Elsewhere a plain fork does, which needs no
    AF_UNIX socket in the guest.
    """
    if not tcti.startswith('tabrmd'):
        return mp.get_context('fork')
    ctx = mp.get_context('forkserver')
    ctx.set_forkserver_preload(['tpm2_pytss'])
    return ctx


def client_proc(tcti, ops, start_evt, out):
    lat, errors = [], Errors()
    try:
        esys = ESAPI(tcti)
    except Exception as exc:  # an RM that refuses the connection
        start_evt.wait()
        out.put(([], {error_name(exc): ops}))
        return
    start_evt.wait()
    lat, errors, _ = timed(lambda: esys.get_random(8), ops)
    esys.close()
    out.put((lat, dict(errors)))


def many_clients(system, tcti, n):
    ops = max(10, 400 // n)
    ctx = clients_context(tcti)
    start_evt, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=client_proc,
                         args=(tcti, ops, start_evt, out)) for _ in range(n)]
    for p in procs:
        p.start()
    time.sleep(0.5 + n * 0.05)	# let every client connect
    mark = TPM_LOG.mark()
    t0 = time.monotonic()
    start_evt.set()
    lat, errors = [], Errors()
    for _ in procs:
        part, errs = out.get()
        lat += part
        for k, v in errs.items():
            errors[k] = errors.get(k, 0) + v
    wall = time.monotonic() - t0
    for p in procs:
        p.join()
    fig = latency_figures(lat, errors.total(), wall)
    fig.update(clients=n, error_kinds=dict(errors))
    fig.update(tpm_commands(mark, n * ops))
    emit(system, f'clients_{n}', **fig)


def holder_proc(tcti, ready, stop):
    """Opens a connection, starts a session, and sits on it."""
    try:
        esys = ESAPI(tcti)
        sess = hmac_session(esys)
        ready.put(None)
    except Exception as exc:
        ready.put(error_name(exc))
        return
    stop.wait()
    try:
        esys.flush_context(sess)
    except TSS2_Exception:
        pass	# evicted meanwhile: the RM's right
    esys.close()


def short_lived_worker(tcti, count, out):
    for _ in range(count):
        t0 = time.perf_counter_ns()
        err = None
        try:
            esys = ESAPI(tcti)
            try:
                sess = hmac_session(esys, audit=True)
                esys.get_random(8, session1=sess)
                esys.flush_context(sess)
            finally:
                esys.close()
        except Exception as exc:
            err = error_name(exc)
        out.put((time.perf_counter_ns() - t0, err))


def holders_and_short_lived(system, tcti):
    ctx = clients_context(tcti)
    ready, stop, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    holders = [ctx.Process(target=holder_proc, args=(tcti, ready, stop))
               for _ in range(HOLDERS)]
    for p in holders:
        p.start()
    holder_errors = Errors()
    for _ in holders:
        err = ready.get()
        if err:
            holder_errors[err] = holder_errors.get(err, 0) + 1
    time.sleep(HOLDER_IDLE_S)

    per = SHORT_LIVED // SHORT_WORKERS
    workers = [ctx.Process(target=short_lived_worker, args=(tcti, per, out))
               for _ in range(SHORT_WORKERS)]
    t0 = time.monotonic()
    for p in workers:
        p.start()
    lat, errors = [], Errors()
    for _ in range(per * SHORT_WORKERS):
        ns, err = out.get()
        if err:
            errors[err] = errors.get(err, 0) + 1
        else:
            lat.append(ns)
    wall = time.monotonic() - t0
    for p in workers:
        p.join()
    stop.set()
    for p in holders:
        p.join()
    fig = latency_figures(lat, errors.total(), wall)
    fig.update(holders=HOLDERS, holder_errors=holder_errors.total(),
               clients=per * SHORT_WORKERS, completions=len(lat),
               error_kinds=dict(errors),
               holder_error_kinds=dict(holder_errors))
    emit(system, 'holders_60_short_200', **fig)


# ---------------------------------------------------------------------
# Memory

def meminfo():
    with open('/proc/meminfo') as f:
        return {line.split(':')[0]: int(line.split()[1])
                for line in f}


def kernel_kib(m):
    """What the kernel uses beyond user pages and the page cache."""
    return (m['MemTotal'] - m['MemFree'] - m['AnonPages'] - m['Cached'] -
            m['Buffers'])


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return None


def memory(system, tcti, daemon_pid=None):
    """Per idle file, and per object or session held beyond that."""
    units = 20 if QUICK else 50

    def sample():
        m = meminfo()
        return (kernel_kib(m), m['Slab'],
                rss_kib(daemon_pid) if daemon_pid else None)

    def delta(a, b, n):
        return [None if x is None else round((y - x) * 1024 / n)
                for x, y in zip(a, b)]

    conns = []
    base = sample()
    for _ in range(units):
        conns.append(ESAPI(tcti))
    for e in conns:		# a first command, so every connection is live
        e.get_random(1)
    idle = sample()
    keys = [signing_key(e) for e in conns]
    with_keys = sample()
    sessions = [hmac_session(e) for e in conns]
    with_sessions = sample()
    for e, k, s in zip(conns, keys, sessions):
        e.flush_context(k)
        e.flush_context(s)
    for e in conns:
        e.close()
    per_file = delta(base, idle, units)
    per_key = delta(idle, with_keys, units)
    per_sess = delta(with_keys, with_sessions, units)
    emit(system, 'memory',
         kernel_bytes_per_idle_file=per_file[0],
         slab_bytes_per_idle_file=per_file[1],
         daemon_rss_bytes_per_idle_conn=per_file[2],
         kernel_bytes_per_object=per_key[0], slab_bytes_per_object=per_key[1],
         daemon_rss_bytes_per_object=per_key[2],
         kernel_bytes_per_session=per_sess[0],
         slab_bytes_per_session=per_sess[1],
         daemon_rss_bytes_per_session=per_sess[2],
         daemon_rss_kib=with_sessions[2], units=units)


# ---------------------------------------------------------------------
# tpm2-abrmd, on /dev/tpm0, with a session bus of its own

def start_abrmd():
    bus = subprocess.Popen(['dbus-daemon', '--session', '--nofork',
                            '--address=' + ABRMD_BUS],
                           stdout=subprocess.DEVNULL)
    os.environ['DBUS_SESSION_BUS_ADDRESS'] = ABRMD_BUS
    for _ in range(100):
        if os.path.exists(ABRMD_BUS.split('=')[1]):
            break
        time.sleep(0.1)
    # its most connections (100), not its default of 27, or the 64
    # clients and the 60 holders would be refused for a setting
    daemon = subprocess.Popen(['tpm2-abrmd', '--session', '--allow-root',
                               '--tcti=' + ABRMD_TCTI,
                               '--max-connections=100'],
                              stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            ESAPI('tabrmd:bus_type=session').close()
            return bus, daemon
        except Exception:
            if daemon.poll() is not None:
                break
            time.sleep(0.2)
    stop((bus, daemon))
    raise RuntimeError('tpm2-abrmd did not come up')


def stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def context_gap(system, tcti, cycles=1_000_000):
    """
    One session stays saved while another is used cycles times: every
    use moves the TPM's context counter on, and past CONTEXT_GAP_MAX
    (0xFFFF on swtpm) the idle one must be re-gapped by the RM, or the
    TPM answers TPM_RC_CONTEXT_GAP.
    """
    idle_conn, esys = ESAPI(tcti), ESAPI(tcti)
    idle = hmac_session(idle_conn)
    hot = hmac_session(esys, audit=True)
    lat, errors, wall = timed(lambda: esys.get_random(8, session1=hot),
                              cycles)
    try:	# the idle session must have survived
        idle_conn.trsess_set_attributes(
            idle, TPMA_SESSION.CONTINUESESSION | TPMA_SESSION.AUDIT)
        idle_conn.get_random(8, session1=idle)
        idle_conn.flush_context(idle)
    except TSS2_Exception as exc:
        errors.add(exc)
    fig = latency_figures(lat, errors.total(), wall)
    fig.update(cycles=cycles, seconds=round(wall), error_kinds=dict(errors))
    emit(system, 'context_gap', **fig)


def guarded(system, case, run, *args):
    """Runs one case; one that cannot finish is reported as failed."""
    try:
        run(*args)
    except Exception as exc:
        emit(system, case, failed=f'{type(exc).__name__}: {exc}')


def bench_system(system, tcti, single):
    try:
        bench_cases(system, tcti, single)
    except Exception as exc:
        emit(system, 'setup', failed=f'{type(exc).__name__}: {exc}')


def bench_cases(system, tcti, single):
    print(f'bench: {system} through {tcti}', file=sys.stderr, flush=True)
    procs = ()
    t0 = time.monotonic()
    try:
        if tcti == 'abrmd':
            procs = start_abrmd()
            tcti = 'tabrmd:bus_type=session'
        for rnd in range(ROUNDS if single else 0):
            guarded(system, 'single', single_client_cases, system, tcti,
                    rnd)
        if tcti == 'device:/dev/tpm0':
            # one open file at a time: only one client applies
            guarded(system, 'clients_1', many_clients, system, tcti, 1)
            emit(system, 'note', text='/dev/tpm0 admits one open file: '
                 'one client only, no memory or 60 + 200 case')
        else:
            for n in CLIENTS:
                guarded(system, f'clients_{n}', many_clients, system, tcti,
                        n)
            guarded(system, 'memory', memory, system, tcti,
                    procs[1].pid if procs else None)
            guarded(system, 'holders_60_short_200', holders_and_short_lived,
                    system, tcti)
            if '--gap' in sys.argv and tcti.startswith('device:'):
                guarded(system, 'context_gap', context_gap, system, tcti)
    finally:
        stop(procs)
    emit(system, 'elapsed', seconds=round(time.monotonic() - t0, 1))


def main():
    systems = [arg.split('=', 1) for arg in sys.argv[1:]
               if not arg.startswith('--')]
    devices = [(s, t) for s, t in systems if t.startswith('device:')]
    for rnd in range(ROUNDS):
        for system, tcti in devices:
            guarded(system, 'single', single_client_cases, system, tcti,
                    rnd)
    for system, tcti in systems:
        bench_system(system, tcti, single=(system, tcti) not in devices)


if __name__ == '__main__':
    main()
