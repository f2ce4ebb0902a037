#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-distro.sh SRC OUT
#	drivers/char/tpm of SRC (the end of our series) built with W=1 in
#	Debian's own amd64 config (package linux-config-6.12), twice, each in
#	a folder of its own under OUT:
#	  debian     the config as Debian ships it: IMA selects TCG_TPM=y
#	  debian-m   IMA off, so the TPM core is a module, and KUnit with our
#	             tests as modules too (KUNIT=m: the tests' other form)
#	Only modules_prepare and the one directory are built, not the kernel.
#	Prints KTAP, one result per config: W=1 clean (no warning or error in
#	drivers/char/tpm) with the figures, and one for what modpost would
#	say without a vmlinux: every symbol of tpm.o that the test module
#	uses is exported; exits non-zero on a finding.

set -u

[ $# -eq 2 ] || { echo "usage: check-distro.sh SRC OUT" >&2; exit 2; }
src=$(readlink -f "$1") out=$2
config=/usr/src/linux-config-6.12/config.amd64_none_amd64.xz
mkdir -p "$out"
out=$(readlink -f "$out")
n=0 failed=0

[ -r "$config" ] || {
	echo "check-distro: no $config (install-deps.sh --distro)" >&2
	exit 1
}

# Debian signs modules with its own key, which is not here; a build of one
# directory needs none.
configure() {	# kout variant
	local cfg="$src/scripts/config --file $1/.config"

	xz -dc "$config" >"$1/.config"
	$cfg --set-str SYSTEM_TRUSTED_KEYS "" --set-str SYSTEM_REVOCATION_KEYS "" \
		--disable MODULE_SIG_ALL
	if [ "$2" = debian-m ]; then
		$cfg --disable IMA --module TCG_TPM --module KUNIT \
			--module TCG_TPM2_SPACE_KUNIT_TEST
	fi
	make -s -C "$src" O="$1" ARCH=x86_64 olddefconfig
}

build() {	# variant
	local kout=$out/$1 log=$out/$1.log start rc warnings tpm

	mkdir -p "$kout"
	start=$(date +%s)
	{
		configure "$kout" "$1" &&
		make -s -C "$src" O="$kout" ARCH=x86_64 -j"$(nproc)" \
			modules_prepare &&
		make -C "$src" O="$kout" ARCH=x86_64 -j"$(nproc)" W=1 \
			drivers/char/tpm/
	} >"$log" 2>&1
	rc=$?
	tpm=$(grep -E '^CONFIG_(TCG_TPM|IMA|KUNIT|TCG_TPM2_SPACE_KUNIT_TEST)=' \
		"$kout/.config" | paste -sd' ')
	warnings=$(grep -E 'drivers/char/tpm/.*: (warning|error):' "$log")
	echo "# $1: $tpm; $(($(date +%s) - start)) s"
	[ -z "$warnings" ] || echo "$warnings" | head -n 20 | sed 's/^/# /'
	n=$((n + 1))
	if [ $rc -eq 0 ] && [ -z "$warnings" ]; then
		echo "ok $n $1: drivers/char/tpm W=1 clean"
	else
		[ $rc -eq 0 ] || tail -n 20 "$log" | sed 's/^/# /'
		echo "not ok $n $1: drivers/char/tpm W=1:" \
			"$(echo -n "$warnings" | grep -c .) findings, exit $rc"
		failed=$((failed + 1))
	fi
}

# The test module links against tpm.ko: each symbol it takes from tpm.o
# must be exported (EXPORT_SYMBOL_IF_KUNIT and the TPM core's own).
exports() {
	local tpm=$out/debian-m/drivers/char/tpm missing

	missing=$(comm -12 <(nm -u "$tpm/tpm2_rm_kunit.o" | awk '{ print $2 }' | sort -u) \
		<(nm --defined-only "$tpm/tpm.o" | awk '$2 ~ /[TDBR]/ { print $3 }' | sort -u) |
		comm -23 - <(nm "$tpm/tpm.o" | sed -n 's/.* __export_symbol_//p' | sort -u))
	n=$((n + 1))
	if [ -f "$tpm/tpm2_rm_kunit.o" ] && [ -z "$missing" ]; then
		echo "ok $n debian-m: tpm2_rm_kunit uses only what tpm.o exports"
	else
		echo "$missing" | sed 's/^/# not exported: /'
		echo "not ok $n debian-m: tpm2_rm_kunit uses only what tpm.o exports"
		failed=$((failed + 1))
	fi
}

echo "KTAP version 1"
echo "1..3"
build debian
build debian-m
exports
[ $failed -eq 0 ]
