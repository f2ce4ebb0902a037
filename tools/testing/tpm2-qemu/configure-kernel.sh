#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# configure-kernel SRC OUT FRAGMENT...
#	tinyconfig for x86_64 in OUT, then the fragments merged over it by
#	merge_config.sh, which also runs alldefconfig and reports every
#	requested value that did not make it into the .config ("Value
#	requested for CONFIG_X not in final .config"). A report on a symbol
#	that a fragment sets fails the build, unless this tree does not
#	define the symbol at all (one of our own, when configuring the
#	unmodified base): that one is noted and skipped. Reports on
#	tinyconfig's own values that the fragments change indirectly (SMP=y
#	raising NR_CPUS) are expected and ignored.

set -eu

die() {
	echo "configure-kernel: $*" >&2
	exit 1
}

[ $# -ge 3 ] || die "usage: configure-kernel SRC OUT FRAGMENT..."
src=$1 out=$2
shift 2

mkdir -p "$out"
out=$(readlink -f "$out")
log=$out/merge_config.log
make -s -C "$src" O="$out" ARCH=x86_64 tinyconfig >/dev/null ||
	die "tinyconfig failed"
(cd "$src" && ARCH=x86_64 scripts/kconfig/merge_config.sh -O "$out" \
	"$out/.config" "$@") >"$log" 2>&1 ||
	die "merge_config failed (see $log)"

defined() {
	grep -rqsE "^[[:space:]]*(menu)?config[[:space:]]+$1\$" \
		--include='Kconfig*' "$src"
}

# The symbols the fragments set, as merge_config.sh reads them
asked=$(sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1/p' \
	-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1/p' "$@" | sort -u)

bad=0
missing='s/^Value requested for \(CONFIG_[A-Za-z0-9_]*\) not in final .config$/\1/p'
for sym in $(sed -n "$missing" "$log"); do
	grep -qxF "$sym" <<<"$asked" || continue
	if ! defined "${sym#CONFIG_}"; then
		echo "configure-kernel: note: $sym is not defined in this tree, skipped"
		continue
	fi
	grep -A2 -x "Value requested for $sym not in final .config" "$log" |
		sed 's/^/configure-kernel: /' >&2
	bad=1
done
[ $bad = 0 ] ||
	die "merge_config.sh reports requested values missing from $out/.config" \
		"(unmet dependencies?); see $log"
echo "configured $out from tinyconfig + $*"
