#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check: the test command behind 'make check'.
#
#   1. On our tree only: lint.sh (checkpatch --strict, sparse, W=1 on our
#      files: one test, failed by any finding), then KUnit:
#      tools/testing/kunit/kunit.py run --arch=um with
#      drivers/char/tpm/.kunitconfig, against a fake TPM.
#   2. In the guest, one fresh boot and fresh swtpm per suite:
#      - upstream's tpm2 selftests from the base tarball (SmokeTest,
#        SpaceTest, AsyncTest);
#      - our C kselftests (tools/testing/selftests/tpm2-space);
#      - a tpm2-tools scenario through device:/dev/tpmrm0, and the wider
#        tpm2-tools flows (tpm2_tools_flows.sh), one test per flow.
#
# Every test case counts once: KUnit cases, unittest cases, kselftest
# harness cases; a suite that dies before its summary counts as one
# failure. The last line is "N passed, M failed"; the exit status is
# non-zero on any failure or when nothing ran.

set -u

here=$(dirname "$(readlink -f "$0")")
rm_name=ours kernel= src= base= selftests= kunit_out= logs= kunit_only=0
repo= lint_out=

while [ $# -gt 0 ]; do
	case "$1" in
	--rm) rm_name=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--src) src=$2; shift 2 ;;
	--base) base=$2; shift 2 ;;
	--selftests) selftests=$2; shift 2 ;;
	--kunit-out) kunit_out=$2; shift 2 ;;
	--logs) logs=$2; shift 2 ;;
	--repo) repo=$2; shift 2 ;;
	--lint-out) lint_out=$2; shift 2 ;;
	--kunit-only) kunit_only=1; shift ;;
	*) echo "check: unknown argument $1" >&2; exit 2 ;;
	esac
done
logs=${logs:-$(mktemp -d)}
mkdir -p "$logs"

passed=0
failed=0
summary=()

record() {	# name pass fail
	passed=$((passed + $2))
	failed=$((failed + $3))
	summary+=("$(printf '%-34s %3d passed, %3d failed' "$1" "$2" "$3")")
}

# Parsers of each runner's own closing lines; each prints "PASS FAIL".
count_kunit() {
	sed -n 's/.*Ran \([0-9]*\) tests: passed: \([0-9]*\).*/\1 \2/p' "$1" |
		tail -n 1 | awk '{ print $2, $1 - $2 }'
}

count_unittest() {
	# The guest's serial console ends its lines with CR LF.
	awk '{ sub(/\r$/, "") }
	     /^Ran [0-9]+ test/ { ran = $2 }
	     / \.\.\. ok$/ { ok++ }
	     END { if (ran != "") print ok + 0, ran - ok }' "$1"
}

count_lint() {
	sed -n 's/^lint: \([0-9]*\) findings.*/\1/p' "$1" |
		awk '{ print ($1 == 0), ($1 != 0) }'
}

count_kselftest() {
	sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "$1" |
		tail -n 1
}

run_suite() {	# name counter command...
	local name=$1 counter=$2 log="$logs/$1.log" rc counts
	shift 2

	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	counts=$($counter "$log")
	if [ -z "$counts" ]; then
		# No summary: the suite itself died.
		record "$name" 0 1
	elif [ "$rc" -ne 0 ] && [ "${counts#* }" = 0 ]; then
		# It said all passed but exited non-zero: count the exit.
		record "$name" "${counts% *}" 1
	else
		record "$name" ${counts}
	fi
	echo "=== $name: exit $rc"
}

vm_timeout=600

vm() {
	"$here/vm-run.sh" -k "$kernel" -t "$vm_timeout" -- "$@"
}

kunit() {
	[ -f "$src/drivers/char/tpm/.kunitconfig" ] || {
		echo "check: no drivers/char/tpm/.kunitconfig in $src" >&2
		record kunit 0 1
		return
	}
	# kunit.py works from the source tree and refuses one that has had an
	# in-tree build; ours are all out of tree.
	run_suite kunit count_kunit \
		bash -c 'cd "$1" && python3 tools/testing/kunit/kunit.py run \
			--arch=um --jobs="$(nproc)" --build_dir="$2" \
			--kunitconfig=drivers/char/tpm/.kunitconfig' \
		_ "$src" "$kunit_out"
}

one_line() {	# "N passed" from a script whose exit status is its verdict
	local rc

	"$@"
	rc=$?
	echo "# Totals: pass:$((rc == 0)) fail:$((rc != 0))"
	return $rc
}

guest() {
	local upstream=$base/tools/testing/selftests/tpm2 t

	for t in smoke space async; do
		run_suite "upstream-tpm2-$t" count_unittest \
			vm bash -c 'cp -r "$1" /tmp/tpm2 && cd /tmp/tpm2 && bash "test_$2.sh"' _ "$upstream" "$t"
	done
	for t in "$selftests"/*; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		# its 70,000 context save/load cycles take 5-10 minutes
		case "$(basename "$t")" in
		tpm2_space_exhaust_test) vm_timeout=1200 ;;
		*) vm_timeout=600 ;;
		esac
		run_suite "kselftest-$(basename "$t")" count_kselftest vm "$t"
	done
	vm_timeout=600
	run_suite tpm2-tools-scenario count_kselftest \
		one_line vm bash "$src/tools/testing/selftests/tpm2-space/tpm2_tools_scenario.sh"
	# one test per flow: the script prints its own "# Totals:" line
	run_suite tpm2-tools-flows count_kselftest \
		vm bash "$src/tools/testing/selftests/tpm2-space/tpm2_tools_flows.sh"
}

if [ $kunit_only = 1 ]; then
	kunit
else
	if [ "$rm_name" = ours ]; then
		run_suite lint count_lint \
			"$here/lint.sh" "$repo" "$src" "$lint_out"
		kunit
	else
		echo "check: lint and KUnit skipped: they check our code, which the base lacks"
	fi
	echo "check: guest tests on the $rm_name resource manager ($kernel)"
	guest
fi

echo
echo "Summary ($rm_name resource manager; logs in $logs):"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
