#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench-native.sh SRC KUNIT_BUILD OUT_DIR
#
# The resource manager's own CPU time per command, natively: the
# tpm2_space_bench KUnit suite (drivers/char/tpm/tpm2-space-bench.c) under
# UML against the fake TPM, with CONFIG_TCG_TPM2_SPACE_KUNIT_BENCH added
# to the tests' .kunitconfig. KUNIT_BUILD is a build directory of its own,
# seeded from the KUnit one next to it when that exists, so the first
# run is incremental. Prints a table and writes OUT_DIR/native.md and the
# raw KTAP in OUT_DIR/native.ktap. Fails when the suite fails.

set -eu

src=$(readlink -f "$1") kbuild=$(readlink -m "$2") out=$(readlink -m "$3")
mkdir -p "$out"
seed=$(dirname "$kbuild")/kunit
if [ ! -d "$kbuild" ] && [ -f "$seed/.config" ]; then
	cp -a "$seed" "$kbuild"
fi

rc=0
(cd "$src" && python3 tools/testing/kunit/kunit.py run --arch=um \
	--jobs="$(nproc)" --build_dir="$kbuild" --timeout=1800 \
	--kunitconfig=drivers/char/tpm/.kunitconfig \
	--kconfig_add CONFIG_TCG_TPM2_SPACE_KUNIT_BENCH=y \
	--raw_output=kunit 'tpm2_space_bench') >"$out/native.ktap" || rc=$?

# "# ...: bench-native cmd=C objects=N sessions=M key=value..."
{
	echo "# The resource manager's own cost per command (UML, fake TPM)"
	echo
	echo "ns per command: the fastest of 15 rounds of 2000 commands, the"
	echo "rounds through the RM and without a space taking turns."
	echo "through RM: tpm_dev_run() with a space (/dev/tpmrm0's path);"
	echo "no space: the same command as /dev/tpm0 runs it; fake: the"
	echo "fake TPM's own share (its send and recv); RM own: (through RM -"
	echo "its fake share) - (no space - its fake share). A layout of 0"
	echo "objects (sessions) holds only the one the command names."
	echo
	echo "| command | objects | sessions | through RM | fake | TPM cmds |" \
		"no space | fake | RM own |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	sed -n 's/.*bench-native //p' "$out/native.ktap" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		       v["cmd"], v["objects"], v["sessions"], v["rm_ns"],
		       v["rm_tpm_ns"], v["rm_tpm_cmds"], v["dev_ns"],
		       v["dev_tpm_ns"], v["rm_own_ns"]
	}'
} >"$out/native.md"

if ! grep -q 'bench-native' "$out/native.ktap"; then
	tail -n 30 "$out/native.ktap" >&2
	echo "bench-native: the suite reported no figures (status $rc)" >&2
	exit 1
fi
grep '^| [a-z]' "$out/native.md" | column -t -s '|' 2>/dev/null ||
	cat "$out/native.md"
grep -E '^ *(not ok|# (Totals|.*FAIL))' "$out/native.ktap" >&2 || true
echo "bench-native: $out/native.md"
exit $rc
