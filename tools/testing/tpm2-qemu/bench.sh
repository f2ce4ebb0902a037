#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench.sh OURS_BZIMAGE UPSTREAM_BZIMAGE OUT_DIR
#
# The resource managers side by side, with the same swtpm set-up and the
# same client code (bench.py, tpm2-pytss): one boot of our kernel for
# /dev/tpm0 (no resource manager), our /dev/tpmrm0 and tpm2-abrmd on
# /dev/tpm0, and one boot of the unmodified base kernel for its
# /dev/tpmrm0. Both kernels are built the same way (make bench does
# that), so what differs is the resource manager. bench-report.py prints
# the table and writes OUT_DIR/bench.md and the plots.
#
# Environment: BENCH_QUICK=1 for a short run that only shows that every
# case works; BENCH_ROUNDS=N rounds of the single-client cases (default
# 5), of which the report gives the median; BENCH_GAP=1 adds the
# 1,000,000-cycle context-gap run on both kernels (hours under TCG: not
# for CI).
#
# swtpm logs every command it gets (vm-run.sh --swtpm-log 2), which
# bench.py reads in the guest to count the TPM commands of each case at
# the TPM; not in the context-gap run, whose log would take gigabytes.

set -eu

here=$(dirname "$(readlink -f "$0")")
ours=$1 upstream=$2 out=$(readlink -m "$3")
mkdir -p "$out"
flags=()
[ "${BENCH_QUICK:-0}" = 1 ] && flags+=(--quick)
[ "${BENCH_GAP:-0}" = 1 ] && flags+=(--gap)
flags+=(--rounds="${BENCH_ROUNDS:-5}")
vm_flags=(--swtpm-log 2)
[ "${BENCH_GAP:-0}" = 1 ] && vm_flags=()
# many client processes at once: more memory than the tests need
limit=2400
[ "${BENCH_GAP:-0}" = 1 ] && limit=36000

run() {		# name kernel systems...
	local name=$1 kernel=$2
	shift 2
	echo "bench: booting the $name kernel for $*"
	"$here/vm-run.sh" -k "$kernel" -m 3072 -t $limit "${vm_flags[@]}" -- \
		/usr/bin/python3 "$here/bench.py" "${flags[@]}" "$@" \
		>"$out/$name.log" 2>"$out/$name.err" ||
		echo "bench: the $name boot ended with status $? (see $out/$name.err)"
	grep -c '^bench-json' "$out/$name.log" |
		sed "s/^/bench: figures from the $name boot: /"
}

start=$(date +%s)
run ours "$ours" tpm0=device:/dev/tpm0 ours=device:/dev/tpmrm0 abrmd=abrmd
run base "$upstream" base=device:/dev/tpmrm0
/usr/bin/python3 "$here/bench-report.py" "$out" "$out/ours.log" \
	"$out/base.log"
echo "bench: $(( $(date +%s) - start )) s in all"
