#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# series-steps REPO WORK MAILS OUT
#
# Check every commit of the series on its own, as a bisect meets it. WORK
# is make-series' repository (branch 'stack' on branch 'base'), MAILS its
# format-patch mails in the same order. For each commit:
#   - checkpatch --strict on its mail;
#   - the kernel builds (x86_64, REPO's config and lint.config, W=1, and
#     sparse on what the commit makes recompile), with no warning in a
#     file the series has touched by then;
#   - KUnit under UML passes, once the step has drivers/char/tpm/.kunitconfig;
#   - the kselftests of tools/testing/selftests/tpm2-space build and
#     install, once the step has them.
# OUT keeps its source tree and build folders from run to run, so that a
# second run rebuilds only what the steps change.
#
# checkpatch findings of these types are not counted:
#   FILE_PATH_CHANGES  "does MAINTAINERS need updating?" on every added
#                      file; the series' last patch updates it.
SERIES_CHECKPATCH_IGNORE=${SERIES_CHECKPATCH_IGNORE:-FILE_PATH_CHANGES}

set -u

here=$(dirname "$(readlink -f "$0")")
[ $# -eq 4 ] || { echo "usage: series-steps REPO WORK MAILS OUT" >&2; exit 2; }
repo=$1 work=$2 mails=$3 out=$4
mkdir -p "$out"
out=$(readlink -f "$out")
src=$out/src kout=$out/obj kunit=$out/kunit
jobs=$(nproc)
failed=0 n=0 configured=

git_q() { git -c advice.detachedHead=false "$@"; }

if [ ! -d "$src/.git" ]; then
	git_q clone -q --no-checkout "$work" "$src" || exit 1
	git -C "$src" config gc.auto 0
fi
git_q -C "$src" fetch -q "$work" stack || exit 1
base=$(git -C "$work" rev-parse base)
commits=$(git -C "$work" rev-list --reverse base..stack)
mail_list=$(ls "$mails"/[0-9][0-9][0-9][0-9]-*.patch | grep -v '/0000-cover-letter')
[ "$(echo "$commits" | wc -l)" = "$(echo "$mail_list" | wc -l)" ] || {
	echo "series-steps: $(echo "$commits" | wc -l) commits" \
		"but $(echo "$mail_list" | wc -l) mails" >&2
	exit 1
}

step_fails() {
	echo "series-steps: step $n FAILS: $*"
	failed=$((failed + 1))
}

check_mail() {
	local found

	# Debian's python3 first: checkpatch's SPDX check needs its python3-ply.
	found=$(cd "$src" && PATH=/usr/bin:$PATH scripts/checkpatch.pl --strict \
		--terse --show-types --ignore "$SERIES_CHECKPATCH_IGNORE" "$1" 2>&1 |
		grep -E ': (ERROR|WARNING|CHECK):')
	[ -z "$found" ] && return
	echo "$found"
	step_fails "checkpatch --strict: $(echo "$found" | wc -l) findings"
}

configure() {
	"$here/configure-kernel.sh" "$src" "$kout" "$repo/Kconfig" \
		"$here/lint.config" >"$out/configure.log" 2>&1 && return
	cat "$out/configure.log"
	step_fails "the kernel cannot be configured"
	return 1
}

# A warning or error in the build log about a file the series has
# touched by this step.
check_build() {
	local log=$out/build-$n.log touched found

	if ! make -s -C "$src" O="$kout" ARCH=x86_64 -j"$jobs" W=1 C=1 \
		vmlinux >"$log" 2>&1; then
		tail -n 30 "$log"
		step_fails "the kernel does not build (see $log)"
		return
	fi
	touched=$(git -C "$src" diff --name-only "$base" HEAD -- '*.c' '*.h' |
		  sed 's/[.[\*^$]/\\&/g' | paste -sd'|')
	[ -n "$touched" ] || return 0
	found=$(grep -E "($touched)" "$log" | grep -E 'warning|error')
	[ -z "$found" ] && return
	echo "$found"
	step_fails "W=1 or sparse: $(echo "$found" | wc -l) findings (see $log)"
}

check_kunit() {
	local log=$out/kunit-$n.log

	if [ ! -f "$src/drivers/char/tpm/.kunitconfig" ]; then
		echo "  kunit: no tests at this step"
		return
	fi
	if (cd "$src" && python3 tools/testing/kunit/kunit.py run \
		--arch=um --jobs="$jobs" --build_dir="$kunit" --timeout=1800 \
		--kunitconfig=drivers/char/tpm/.kunitconfig) >"$log" 2>&1; then
		sed -n 's/^\[[0-9:]*\] \(Testing complete.*\)/  kunit: \1/p' "$log"
		return
	fi
	grep -E 'FAILED|CRASHED|Testing complete|ERROR' "$log" | tail -n 20
	step_fails "KUnit (see $log)"
}

# The kselftests the step has, built as make selftests builds them: a
# patch must not name a test that a later one adds.
check_selftests() {
	local log=$out/selftests-$n.log dir=tools/testing/selftests/tpm2-space

	if [ ! -f "$src/$dir/Makefile" ]; then
		echo "  selftests: none at this step"
		return
	fi
	rm -rf "$out/selftests-build" "$out/selftests"
	if make -s -C "$src/tools/testing/selftests" TARGETS=tpm2-space \
		O="$out/selftests-build" KSFT_INSTALL_PATH="$out/selftests" \
		install >"$log" 2>&1; then
		echo "  selftests: $(grep -c '^tpm2-space:' \
			"$out/selftests/kselftest-list.txt") built and installed"
		return
	fi
	tail -n 20 "$log"
	step_fails "the kselftests do not build (see $log)"
}

for c in $commits; do
	n=$((n + 1))
	echo "=== step $n: $(git -C "$work" log -1 --format=%s "$c")"
	t0=$(date +%s)
	git_q -C "$src" checkout -q -f --detach "$c" || { step_fails "checkout"; continue; }
	check_mail "$(echo "$mail_list" | sed -n "${n}p")"
	if [ -z "$configured" ] ||
	   git -C "$src" diff-tree --no-commit-id --name-only -r HEAD | grep -q Kconfig; then
		configure || continue
		configured=1
	fi
	check_build
	check_kunit
	check_selftests
	echo "  step $n: $(($(date +%s) - t0)) s"
done

if [ $failed -ne 0 ]; then
	echo "series-steps: $failed findings in $n steps"
	exit 1
fi
echo "series-steps: each of the $n steps passes checkpatch --strict," \
	"builds with W=1 and sparse, passes its KUnit tests and builds its" \
	"kselftests"
