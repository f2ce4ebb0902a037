#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench.sh OURS_BZIMAGE UPSTREAM_BZIMAGE TPM2PY_DIR [OPS]
#
# Runs bench.py in a guest on each kernel, with the same swtpm set-up, and
# prints per case the time per command on each and the ratio. Both kernels
# are built the same way (make bench does that), so the ratio is the
# resource manager's doing.

set -eu

here=$(dirname "$(readlink -f "$0")")
ours=$1 upstream=$2 tpm2py=$3 ops=${4:-300}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for rm in ours upstream; do
	kernel=$ours
	[ $rm = upstream ] && kernel=$upstream
	echo "bench: $ops commands per case on the $rm resource manager"
	"$here/vm-run.sh" -k "$kernel" -t 900 -- \
		python3 "$here/bench.py" "$tpm2py" "$ops" | tee "$out/$rm"
done

echo
printf '%-34s %12s %12s %8s %s\n' case "ours ms/op" "6.12 ms/op" \
	"6.12/ours" "RM commands/op (ours)"
awk '$1 == "bench" {
	ms = 1000 * $4 / $3
	if (FILENAME ~ /ours$/) { o[$2] = ms; rm[$2] = $6 } else u[$2] = ms
	names[$2] = 1
}
END {
	for (n in names)
		printf "%-34s %12.2f %12.2f %8.1f %s\n", n, o[n], u[n],
		       (o[n] > 0 ? u[n] / o[n] : 0), rm[n]
}' "$out/ours" "$out/upstream" | sort
