#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# bench-report.py OUT_DIR LOG...
#
# Collects the "bench-json" lines bench.py printed in each boot and
# writes what 'make bench' shows: a table on the terminal, the same in
# OUT_DIR/bench.md, and OUT_DIR/latency-vs-clients.png and
# OUT_DIR/throughput-vs-clients.png, one line per system. Failed cases
# and errors are listed, not left out.

import json
import statistics
import sys

SYSTEMS = ('tpm0', 'base', 'ours', 'abrmd')
TITLES = {'tpm0': '/dev/tpm0', 'base': '6.12 tpmrm0', 'ours': 'ours',
          'abrmd': 'tpm2-abrmd'}
SINGLE = (('getrandom_0held', 'GetRandom, 0 held'),
          ('getrandom_3obj_3sess_held', 'GetRandom, 3 objects + 3 sessions held'),
          ('sign_key_hmac_session', 'Sign, key + HMAC session'),
          ('policy_session_start_pcr_flush', 'policy session: start, PolicyPCR, flush'))
CLIENTS = (1, 8, 64)


def load(paths):
    """
    The figures by (system, case). A case run in several rounds has its
    rounds under 'rounds', and the median of each figure as its own.
    """
    figs, failed, rounds = {}, [], {}
    for path in paths:
        try:
            lines = open(path).read().splitlines()
        except OSError as exc:
            failed.append(f'{path}: {exc}')
            continue
        for line in lines:
            if not line.startswith('bench-json '):
                continue
            fig = json.loads(line[len('bench-json '):])
            if 'failed' in fig:
                failed.append(f"{fig['system']} {fig['case']}: "
                              f"{fig['failed']}")
            key = (fig['system'], fig['case'])
            if 'round' in fig:
                rounds.setdefault(key, []).append(fig)
            else:
                figs[key] = fig
    for key, runs in rounds.items():
        figs[key] = median_of(runs)
    return figs, failed


def median_of(runs):
    fig = dict(runs[-1], rounds=runs)
    for k, v in runs[-1].items():
        vals = [r.get(k) for r in runs]
        if k != 'round' and isinstance(v, (int, float)) and \
                not isinstance(v, bool) and None not in vals:
            fig[k] = statistics.median(vals)
    fig['errors'] = sum(r.get('errors') or 0 for r in runs)
    kinds = {}
    for r in runs:
        for k, n in (r.get('error_kinds') or {}).items():
            kinds[k] = kinds.get(k, 0) + n
    fig['error_kinds'] = kinds
    return fig


def fmt(v, digits=2):
    if v is None:
        return '-'
    if isinstance(v, float):
        return f'{v:.{digits}f}'
    return str(v)


def errs(fig):
    if not fig or not fig.get('errors'):
        return ''
    kinds = ', '.join(f'{k}: {n}' for k, n in fig['error_kinds'].items())
    return f" ({fig['errors']} errors: {kinds})"


def table(head, rows):
    out = ['| ' + ' | '.join(head) + ' |',
           '|' + '|'.join('---' for _ in head) + '|']
    out += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return out


def single_table(figs):
    rows = []
    for case, title in SINGLE:
        cells = [title]
        for s in SYSTEMS:
            f = figs.get((s, case))
            cells.append('-' if not f or 'p50_ms' not in f else
                         f"{fmt(f['p50_ms'])} / {fmt(f['p99_ms'])}")
        cells.append(paired_ratio(figs, case))
        rows.append(cells)
    return table(['case: p50 / p99 ms'] + [TITLES[s] for s in SYSTEMS] +
                 ['ours/tpm0 p50: median (min-max) of rounds'], rows)


def paired_ratio(figs, case):
    """ours / tpm0 of the p50, round by round (they take turns)."""
    ours = figs.get(('ours', case), {}).get('rounds') or []
    tpm0 = figs.get(('tpm0', case), {}).get('rounds') or []
    ratios = [o['p50_ms'] / t['p50_ms'] for o, t in zip(ours, tpm0)
              if o.get('p50_ms') and t.get('p50_ms')]
    if not ratios:
        return '-'
    return (f'{statistics.median(ratios):.2f} '
            f'({min(ratios):.2f}-{max(ratios):.2f}, {len(ratios)} rounds)')


def tpm_cmds_table(figs):
    """
    TPM commands per client command: at the TPM (swtpm's log), all and
    of them the context loads, saves and flushes, for every system; and
    what our RM's counters say it sent, which must be what the TPM got
    from ours beyond what it got from /dev/tpm0 for the same client.
    """
    rows = []
    cases = list(SINGLE) + [(f'clients_{n}', f'GetRandom, {n} clients')
                            for n in CLIENTS]
    for case, title in cases:
        cells = [title]
        for s in SYSTEMS:
            f = figs.get((s, case), {})
            cells.append('-' if f.get('tpm_cmds_per_op') is None else
                         f"{fmt(f['tpm_cmds_per_op'])} "
                         f"({fmt(f['tpm_ctx_cmds_per_op'])})")
        ours = figs.get(('ours', case), {})
        tpm0 = figs.get(('tpm0', case), {})
        rm = ours.get('rm_cmds_per_op')
        cells.append(fmt(rm))
        if rm is None or ours.get('tpm_ctx_cmds_per_op') is None or \
                tpm0.get('tpm_ctx_cmds_per_op') is None:
            cells.append('-')
        else:
            extra = ours['tpm_ctx_cmds_per_op'] - tpm0['tpm_ctx_cmds_per_op']
            cells.append(f"{fmt(extra)}: " +
                         ('agree' if abs(extra - rm) < 0.005 else 'DIFFER'))
        rows.append(cells)
    return table(['TPM cmds per client cmd at swtpm: all (context)'] +
                 [TITLES[s] for s in SYSTEMS] +
                 ['ours: RM counters', 'ours - tpm0 at swtpm (context)'],
                 rows)


def clients_table(figs):
    rows = []
    for n in CLIENTS:
        cells = [f'{n} clients']
        for s in SYSTEMS:
            f = figs.get((s, f'clients_{n}'))
            cells.append('-' if not f or 'ops_per_s' not in f else
                         f"{fmt(f['ops_per_s'], 0)} op/s, "
                         f"{fmt(f['p50_ms'])} / {fmt(f['p99_ms'])} ms"
                         f"{errs(f)}")
        rows.append(cells)
    return table(['GetRandom: throughput, p50 / p99'] +
                 [TITLES[s] for s in SYSTEMS], rows)


def measured(figs, case, key):
    """(system, figures) of the systems that have figures for @case."""
    for s in SYSTEMS:
        f = figs.get((s, case))
        if f and key in f:
            yield s, f


def holders_table(figs):
    rows = []
    for s, f in measured(figs, 'holders_60_short_200', 'completions'):
        hk = ', '.join(f'{k}: {n}' for k, n in
                       f['holder_error_kinds'].items())
        rows.append([TITLES[s], f"{f['completions']} of {f['clients']}",
                     f"{f['errors']}{errs(f)}" if f['errors'] else '0',
                     f"{fmt(f['p50_ms'])} / {fmt(f['p99_ms'])}",
                     f"{f['holders'] - f['holder_errors']} of {f['holders']}"
                     + (f' ({hk})' if hk else '')])
    return table(['60 idle holders + 200 clients', 'completed', 'errors',
                  'client time p50 / p99 ms', 'holders started'], rows)


def memory_table(figs):
    rows = []
    for s, f in measured(figs, 'memory', 'units'):
        rows.append([TITLES[s],
                     fmt(f['kernel_bytes_per_idle_file']),
                     fmt(f['slab_bytes_per_idle_file']),
                     fmt(f['kernel_bytes_per_object']),
                     fmt(f['kernel_bytes_per_session']),
                     fmt(f['daemon_rss_bytes_per_idle_conn']),
                     fmt(f['daemon_rss_bytes_per_object']),
                     fmt(f['daemon_rss_bytes_per_session']),
                     fmt(f['daemon_rss_kib'])])
    return table(['memory, bytes', 'kernel / idle file', 'slab / idle file',
                  'kernel / object', 'kernel / session',
                  'daemon RSS / conn', 'daemon RSS / object',
                  'daemon RSS / session', 'daemon RSS KiB'], rows)


def plots(figs, out):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return ['(no plots: python3-matplotlib is missing)']
    names = []
    for key, ylabel, fname in (
            ('p50_ms', 'GetRandom latency, ms (p50 solid, p99 dashed)',
             'latency-vs-clients.png'),
            ('ops_per_s', 'GetRandom throughput, commands/s',
             'throughput-vs-clients.png')):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for s in SYSTEMS:
            pts = [(n, figs[(s, f'clients_{n}')]) for n in CLIENTS
                   if (s, f'clients_{n}') in figs and
                   figs[(s, f'clients_{n}')].get(key) is not None]
            if not pts:
                continue
            line, = ax.plot([n for n, _ in pts], [f[key] for _, f in pts],
                            marker='o', label=TITLES[s])
            if key == 'p50_ms':
                ax.plot([n for n, _ in pts], [f['p99_ms'] for _, f in pts],
                        linestyle='--', color=line.get_color())
        ax.set_xscale('log', base=2)
        ax.set_xticks(CLIENTS, [str(n) for n in CLIENTS])
        if key == 'p50_ms':
            ax.set_yscale('log')
        ax.set_xlabel('clients at once')
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(f'{out}/{fname}', dpi=100)
        plt.close(fig)
        names.append(f'{out}/{fname}')
    return names


def main():
    out = sys.argv[1]
    figs, failed = load(sys.argv[2:])
    lines = ['# make bench: four systems side by side', '',
             'Same guest (QEMU TCG), same freshly made swtpm per boot, same '
             'client (tpm2-pytss over the device and tabrmd TCTIs). '
             'p50 / p99 in ms, the median of the rounds for the '
             'single-client cases. TPM commands are counted at the TPM '
             "(swtpm's log) and, for ours, from the RM's counters "
             '(space_stats: the context loads, saves and flushes it '
             'sent).', '']
    lines += single_table(figs) + ['']
    lines += tpm_cmds_table(figs) + ['']
    lines += clients_table(figs) + ['']
    lines += holders_table(figs) + ['']
    lines += memory_table(figs) + ['']
    gap = [f for (s, c), f in figs.items() if c == 'context_gap']
    for f in gap:
        lines.append(f"context gap, {TITLES.get(f['system'])}: "
                     f"{f.get('cycles')} cycles, {f.get('errors')} errors"
                     f"{errs(f)}, {fmt(f.get('seconds'), 0)} s")
    notes = [f['text'] for (s, c), f in figs.items() if c == 'note']
    took = [f"{TITLES.get(s, s)} {fmt(f['seconds'], 0)} s"
            for (s, c), f in figs.items() if c == 'elapsed']
    lines += [f'Note: {n}' for n in notes]
    lines.append('Time per system in the guest: ' + ', '.join(took))
    lines += ['', 'Failed cases:' if failed else 'Failed cases: none']
    lines += [f'- {f}' for f in failed]
    lines += [''] + [f'Plot: {p}' for p in plots(figs, out)]
    text = '\n'.join(lines) + '\n'
    with open(f'{out}/bench.md', 'w') as f:
        f.write(text)
    print(text, end='')
    print(f'bench: {out}/bench.md')


if __name__ == '__main__':
    main()
