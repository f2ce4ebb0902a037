#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the resource manager's fuzzers and run them, printing KTAP.
#
#   run.sh [--time SECONDS] [--runs N] [--target NAME] [--out DIR] [--coverage]
#          [--mutants]
#
#   --time SECONDS  fuzzing time in all, shared by the targets (default 30)
#   --runs N        instead: N executions per target
#   --target NAME   only this target, parse or table (may be repeated)
#   --out DIR       binaries, logs, the growing corpora and any crashing
#                   input (default /tmp/tpm2-fuzz); kept between runs
#   --coverage      then report the line and branch coverage of the
#                   kernel files that the corpora reach
#   --mutants       one more test, last: mutants.sh, every deliberate bug
#                   caught within 30 s
#
# Exit status: 0 when every target ran without a crash, a leak or a
# failed check; 1 otherwise.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TIME=30
RUNS=
OUT=/tmp/tpm2-fuzz
COVERAGE=0
MUTANTS=0
ONLY=()
LLVM_SUFFIX=${LLVM_SUFFIX:--14}

usage() {
	sed -n '4,18s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--time) TIME=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--coverage) COVERAGE=1; shift ;;
	--mutants) MUTANTS=1; shift ;;
	--target) ONLY+=("$2"); shift 2 ;;
	*) usage ;;
	esac
done

TARGETS=(parse table)
if [ ${#ONLY[@]} -gt 0 ]; then
	for t in "${ONLY[@]}"; do
		case $t in parse|table) ;; *) usage ;; esac
	done
	TARGETS=("${ONLY[@]}")
fi
mkdir -p "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
nr=$((${#TARGETS[@]} + 1 + MUTANTS))
each=$((TIME / ${#TARGETS[@]}))
[ "$each" -ge 1 ] || each=1
failed=0

echo "TAP version 13"
echo "1..$nr"

# the shim headers must say what the kernel headers say
"$HERE/check-shim.py" >"$OUT/shim.log" 2>&1
case $? in
0)	echo "ok 1 shim" ;;
4)	echo "ok 1 shim # SKIP not in a kernel tree" ;;
*)
	sed 's/^/# /' "$OUT/shim.log"
	echo "not ok 1 shim"
	failed=1 ;;
esac

if ! make -s -C "$HERE" OUTPUT="$OUT/bin" >"$OUT/build.log" 2>&1; then
	sed 's/^/# /' "$OUT/build.log"
	for i in "${!TARGETS[@]}"; do
		echo "not ok $((i + 2)) ${TARGETS[$i]} # build failed"
	done
	exit 1
fi

seeds_of() {
	[ -d "$HERE/corpus-$1" ] && echo "$HERE/corpus-$1"
	[ "$1" = parse ] && echo "$HERE/corpus"
}

stat_of() {
	sed -n "s/^stat::$1: *//p" "$2"
}

for i in "${!TARGETS[@]}"; do
	t=${TARGETS[$i]}
	n=$((i + 2))
	work=$OUT/corpus-$t
	log=$OUT/$t.log
	mkdir -p "$work"
	if [ -n "$RUNS" ]; then
		limit=-runs=$RUNS
	else
		limit=-max_total_time=$each
	fi
	# shellcheck disable=SC2046
	"$OUT/bin/fuzz-$t" "$limit" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$OUT/$t-" \
		"$work" $(seeds_of "$t") >"$log" 2>&1
	rc=$?
	execs=$(stat_of number_of_executed_units "$log")
	speed=$(stat_of average_exec_per_sec "$log")
	units=$(find "$work" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "ok $n $t # $execs executions, $speed/s, corpus $units"
		continue
	fi
	failed=1
	grep -m3 -E 'tpm2-fuzz:|ERROR: |runtime error|SUMMARY' "$log" |
		sed 's/^/# /'
	grep -m1 -E 'Test unit written to' "$log" | sed 's/^/# /'
	echo "not ok $n $t # exit status $rc, log in $log"
done

if [ "$MUTANTS" -eq 1 ]; then
	"$HERE/mutants.sh" --time 30 >"$OUT/mutants.log" 2>&1
	rc=$?
	caught=$(sed -n 's/^\([0-9]* of [0-9]*\) mutants caught$/\1/p' \
		"$OUT/mutants.log")
	if [ "$rc" -eq 0 ] && [ -n "$caught" ]; then
		echo "ok $nr mutants # $caught caught"
	else
		grep -v ': caught (' "$OUT/mutants.log" | sed 's/^/# /'
		echo "not ok $nr mutants # ${caught:-none} caught"
		failed=1
	fi
fi

if [ "$COVERAGE" -eq 1 ]; then
	for t in "${TARGETS[@]}"; do
		prof=$OUT/cov-$t
		rm -rf "$prof" && mkdir -p "$prof"
		# shellcheck disable=SC2046
		LLVM_PROFILE_FILE="$prof/%p.profraw" "$OUT/bin/cov-$t" -runs=0 \
			"$OUT/corpus-$t" $(seeds_of "$t") >"$prof/run.log" 2>&1
		"llvm-profdata$LLVM_SUFFIX" merge -sparse -o "$prof/all.profdata" \
			"$prof"/*.profraw
		# shellcheck disable=SC2046
		inputs=$(find "$OUT/corpus-$t" $(seeds_of "$t") -type f | wc -l)
		echo "# coverage of tpm2-space-$t.c by $inputs inputs:"
		"llvm-cov$LLVM_SUFFIX" report "$OUT/bin/cov-$t" \
			-instr-profile="$prof/all.profdata" |
			awk -v f="tpm2-space-$t.c" '
			BEGIN {
				hdr = "regions  miss  cover  funcs  miss  exec   "
				hdr = hdr "lines  miss  cover  branches  miss  cover"
				fmt = "#   %-24s %7s %5s %6s %6s %5s %5s %7s %5s %6s"
				fmt = fmt " %9s %5s %6s\n"
			}
			/^Filename/ { printf "#   %-24s %s\n", "", hdr }
			index($1, f) {
				printf fmt, f, $2, $3, $4, $5, $6, $7, $8, $9, $10,
				    $11, $12, $13
			}'
		cov_ignore='/tools/include/|/tpm2-fuzz/(fuzz-|fake-chip|include/)'
		cov_ignore+='|/include/linux/|tpm2-space.h'
		"llvm-cov$LLVM_SUFFIX" show "$OUT/bin/cov-$t" \
			-instr-profile="$prof/all.profdata" -show-branches=count \
			-ignore-filename-regex="$cov_ignore" \
			>"$prof/tpm2-space-$t.c.txt"
		echo "#   annotated source: $prof/tpm2-space-$t.c.txt"
	done
fi

exit "$failed"
