#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# configure-kernel SRC OUT FRAGMENT...
#	tinyconfig for x86_64 in OUT, then the fragments merged over it, then
#	a check that every setting of every fragment survived olddefconfig.
#	A symbol that this tree does not define at all (one of our own, when
#	configuring the unmodified base) is reported and skipped.

set -eu

die() {
	echo "configure-kernel: $*" >&2
	exit 1
}

[ $# -ge 3 ] || die "usage: configure-kernel SRC OUT FRAGMENT..."
src=$1 out=$2
shift 2

mkdir -p "$out"
kmake() {
	make -s -C "$src" O="$(readlink -f "$out")" ARCH=x86_64 "$@"
}

kmake tinyconfig >/dev/null || die "tinyconfig failed"
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$@" \
	>"$out/merge_config.log" || die "merge_config failed (see $out/merge_config.log)"
kmake olddefconfig >/dev/null || die "olddefconfig failed"

defined() {
	grep -rqsE "^[[:space:]]*(menu)?config[[:space:]]+$1\$" \
		--include='Kconfig*' "$src"
}

# What the fragments ask for; a later fragment overrides an earlier one,
# as in merge_config.sh.
declare -A want
order=()
for frag in "$@"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		[ -n "${want[$sym]+set}" ] || order+=("$sym")
		want[$sym]=$line
	done <"$frag"
done

bad=0
for sym in "${order[@]}"; do
	line=${want[$sym]}
	if [ "$line" = "${line#\# }" ]; then
		grep -qxF "$line" "$out/.config" && continue
	else
		grep -q "^$sym=" "$out/.config" || continue
	fi
	if ! defined "${sym#CONFIG_}"; then
		echo "configure-kernel: note: $sym is not defined in this tree, skipped"
		continue
	fi
	echo "configure-kernel: wanted '$line', got '$(grep -E "^(# )?$sym[= ]" "$out/.config" || echo unset)'" >&2
	bad=1
done
[ $bad = 0 ] || die "the configuration does not match the fragments (unmet dependencies?)"
echo "configured $out from tinyconfig + $*"
