#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# modules-guest.sh MODINST SELFTESTS
#	In the guest of the module kernel (make check-modules): load the TPM
#	driver and the KUnit module from MODINST (modules_install's
#	INSTALL_MOD_PATH) with modprobe -d, use /dev/tpmrm0, unload them and
#	load them again. Prints KTAP: one result per step, with the
#	kselftest's and the KUnit suites' own results nested under theirs.

set -u

[ $# -eq 2 ] || { echo "usage: modules-guest.sh MODINST SELFTESTS" >&2; exit 2; }
modinst=$1 selftests=$2
kunit=/sys/kernel/debug/kunit
n=0 failed=0

result() {	# ok-or-not description
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}

# The device nodes come from the probe, which modprobe does not wait for.
wait_for() {	# path
	for _ in $(seq 50); do
		[ -e "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

load_driver() {	# what
	if modprobe -d "$modinst" tpm_tis && wait_for /dev/tpmrm0 &&
	   tpm2 getrandom --hex 8 >/dev/null; then
		result ok "$1: modprobe tpm_tis, /dev/tpmrm0 answers"
	else
		result fail "$1: modprobe tpm_tis, /dev/tpmrm0 answers"
	fi
}

unload_driver() {
	local what="modprobe -r tpm_tis, then tpm: nothing holds the TPM core"

	# tpm_tis_core goes with tpm_tis. tpm stays, on the base kernel too:
	# its last reference goes only after modprobe looked at it
	if modprobe -d "$modinst" -r tpm_tis &&
	   { ! lsmod | grep -qw '^tpm' || modprobe -d "$modinst" -r tpm; } &&
	   ! lsmod | grep -qw '^tpm' && [ ! -e /dev/tpmrm0 ]; then
		result ok "$what"
	else
		lsmod | sed 's/^/# /'
		result fail "$what"
	fi
}

# The KUnit module runs its suites when it loads; each suite's KTAP is
# in debugfs, nested here under one result of its own.
run_kunit() {	# what
	local results suites=0 bad=0

	if ! modprobe -d "$modinst" tpm2_rm_kunit; then
		result fail "$1: modprobe tpm2_rm_kunit"
		return
	fi
	for results in "$kunit"/*/results; do
		[ -e "$results" ] || continue
		suites=$((suites + 1))
		sed 's/^/    /' "$results"
		tail -n 1 "$results" | grep -q '^ok ' || bad=$((bad + 1))
	done
	if [ "$suites" -gt 0 ] && [ "$bad" -eq 0 ] &&
	   modprobe -d "$modinst" -r tpm2_rm_kunit; then
		result ok "$1: tpm2_rm_kunit: $suites suites, unloaded"
	else
		result fail "$1: tpm2_rm_kunit: $suites suites, $bad failed"
	fi
}

echo "KTAP version 1"
echo "1..7"
echo "# $(uname -r): modules from $modinst"
load_driver "first load"
"$selftests/run_kselftest.sh" -t tpm2-space:tpm2_space_test 2>&1 |
	sed 's/^/# /'
if [ "${PIPESTATUS[0]}" -eq 0 ]; then
	result ok "tpm2_space_test through /dev/tpmrm0"
else
	result fail "tpm2_space_test through /dev/tpmrm0"
fi
run_kunit "first load"
run_kunit "second load"
unload_driver
load_driver "second load"
# The fake TPM of the tests needs no driver: the TPM core alone does
modprobe -d "$modinst" -r tpm_tis
run_kunit "with the TPM core only"
[ "$failed" -eq 0 ]
