#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check: the test command behind 'make check'. It does three things:
#
#   1. KUnit (and, on our tree, lint first and the user-space fuzzers of
#      tools/testing/tpm2-fuzz for 30 s after): kunit.py run --arch=um
#      with drivers/char/tpm/.kunitconfig, its raw KTAP kept.
#   2. Boot and run, one fresh boot and fresh swtpm per suite: upstream's
#      python tpm2 selftests through ktap-unittest.py, then every entry of
#      our installed kselftests (kselftest-list.txt) through the kernel's
#      run_kselftest.sh, with the time limit of the directory's 'settings'.
#      With --hmac-kernel, the isolation suite's case of the kernel's own
#      sessions on that kernel (CONFIG_TCG_TPM2_HMAC), where it runs.
#   3. Count KTAP results, with one parser for every suite (count_ktap).
#
# With --guest-only, step 2 alone (make check-guest): for a debug-kernel
# run whose lint, KUnit and fuzzers the plain make check already ran.
#
# Every leaf result counts once: a test case, not the program around it.
# A parent that failed although none of its cases did (a crash, a
# timeout, a bad exit status) counts one failure, and so do results that
# a plan announced but never came (a suite that died), or no plan at all.
# The last line is "N passed, M failed"; the exit status is non-zero on
# any failure or when nothing ran.

set -u

here=$(dirname "$(readlink -f "$0")")
rm_name=ours kernel= src= base= selftests= kunit_out= logs= kunit_only=0
repo= lint_out= controls= modinst= vm_append= hmac_kernel= guest_only=0

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
	--guest-only) guest_only=1; shift ;;
	--controls) controls=$2; shift 2 ;;
	--modules) modinst=$2; shift 2 ;;
	--vm-append) vm_append=$2; shift 2 ;;
	--hmac-kernel) hmac_kernel=$2; shift 2 ;;
	*) echo "check: unknown argument $1" >&2; exit 2 ;;
	esac
done
logs=${logs:-$(mktemp -d)}
mkdir -p "$logs"

passed=0 failed=0 skipped=0
summary=()
# The suite running now: its command's process group, and when it began
child= suite_start=$SECONDS

# SIGINT, SIGTERM or SIGHUP: stop the suite running now and wait for it
# (vm-run stops its QEMU and swtpm on the SIGTERM), then die of the same
# signal, so that whoever started check.sh sees it.
on_signal() {	# signal
	trap '' INT TERM HUP
	echo "check: SIG$1: stopping" >&2
	if [ -n "$child" ]; then
		kill -TERM -- "-$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	trap - "$1"
	kill -"$1" $$
}
for sig in INT TERM HUP; do
	# shellcheck disable=SC2064
	trap "on_signal $sig" $sig
done

# Run a command with its output on ours and in LOG; its status in rc. It
# runs in the background, in a process group of its own (set -m), so that
# on_signal() runs at once and can stop it with all it started, even when
# it is not vm-run (kunit.py and its UML kernel).
logged() {	# log command...
	local log=$1 out tee_pid
	shift

	exec {out}> >(trap "" INT; exec tee "$log")
	tee_pid=$!
	set -m
	"$@" </dev/null >&"$out" 2>&1 &
	child=$!
	set +m
	exec {out}>&-
	wait "$child"
	rc=$?
	child=
	wait "$tee_pid"
}

# KTAP (and TAP 13) from a log: "PASS FAIL SKIP". Nesting is indentation
# (KUnit) or the "# " prefix of the kselftest runner. RC is the exit
# status of what wrote the log: non-zero with no failure counted is one.
count_ktap() {	# log rc
	awk -v rc="$2" '
	function strip(line) {
		depth = 0
		while (match(line, /^(    |# )/)) {
			line = substr(line, RLENGTH + 1)
			depth++
		}
		return line
	}
	function reset_below(d,   e) {
		for (e = d; e <= maxdepth; e++) {
			kids[e] = 0; kfail[e] = 0; plan[e] = -1; seen[e] = 0
		}
	}
	BEGIN { maxdepth = 16; reset_below(0) }
	{
		sub(/\r$/, "")
		line = strip($0)
	}
	line ~ /^1\.\.[0-9]+/ {
		n = line; sub(/^1\.\./, "", n); sub(/[^0-9].*/, "", n)
		reset_below(depth + 1)
		plan[depth] = n + 0; seen[depth] = 0
		for (e = 0; e < depth; e++) kids[e]++
		next
	}
	line ~ /^(not )?ok [0-9]+/ {
		ok = line !~ /^not /
		skip = line ~ /# *(SKIP|skip)/
		seen[depth]++
		if (kids[depth] == 0) {		# a leaf: a test case
			if (skip) skips++
			else if (ok) pass++
			else { fail++; for (e = 0; e < depth; e++) kfail[e]++ }
		} else if (!ok && kfail[depth] == 0) {
			fail++			# it failed, none of its cases did
			for (e = 0; e < depth; e++) kfail[e]++
		} else if (planned_short(depth + 1)) {
			fail++			# its cases stopped before their plan
		} else if (skip) {
			skips++			# it skipped as a whole
		}
		for (e = 0; e < depth; e++) kids[e]++
		reset_below(depth + 1)
		kids[depth] = 0; kfail[depth] = 0
		next
	}
	function planned_short(d) { return plan[d] > 0 && seen[d] < plan[d] }
	END {
		if (plan[0] < 0) fail++		# no plan: it died first
		else if (seen[0] < plan[0]) fail += plan[0] - seen[0]
		if (rc != 0 && fail == 0) fail++
		print pass + 0, fail + 0, skips + 0
	}' "$1"
}

# Counts and time of a suite that began at suite_start
record() {	# name pass fail skip
	local line t=$((SECONDS - suite_start))

	passed=$((passed + $2)) failed=$((failed + $3)) skipped=$((skipped + $4))
	line=$(printf '%-40s %3d passed, %3d failed' "$1" "$2" "$3")
	[ "$4" -eq 0 ] || line="$line, $4 skipped"
	summary+=("$(printf '%-66s %3dm%02ds' "$line" $((t / 60)) $((t % 60)))")
}

run_suite() {	# name command...
	local name=$1 log="$logs/${1//[:\/]/-}.log" rc
	shift

	echo "=== $name"
	suite_start=$SECONDS
	logged "$log" "$@"
	# shellcheck disable=SC2046
	record "$name" $(count_ktap "$log" "$rc")
	echo "=== $name: exit $rc"
}

# A program whose exit status is its verdict, as one KTAP test
ktap_verdict() {	# name command...
	local name=$1 rc
	shift

	echo "TAP version 13"
	echo "1..1"
	"$@" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then echo "ok 1 $name"; else echo "not ok 1 $name"; fi
	return "$rc"
}

# vm-run in place of logged()'s job, so that on_signal() waits for it to
# stop its QEMU and swtpm and remove its files.
vm() {	# timeout command...
	local t=$1
	shift
	exec "$here/vm-run.sh" -k "$kernel" -t "$t" ${vm_append:+-a "$vm_append"} -- "$@"
}

# The first line of each kind of kernel report that fails a boot: KASAN
# and other "BUG: "s, WARN() and lockdep ("WARNING: "), UBSAN, an oops or
# a panic, kmemleak's "unreferenced object". A line is the kernel's own
# on the console (only errors and worse reach it during the boot) or one
# of init.sh's dump at the end of the boot ("vm-run guest: kmsg: ",
# warnings and worse of the whole boot, and "vm-run guest: kmemleak: ");
# a test's own output has other prefixes. RCU stalls and hung tasks are
# not among them: under TCG on a loaded host the guest's clock jumps by
# minutes (a stall of 183 s was seen in a boot that then passed).
kernel_report_re='^(vm-run guest: (kmsg|kmemleak): )?(\[ *[0-9.]+\] )?'
kernel_report_re+='(BUG: |WARNING: |UBSAN: |Oops: |Kernel panic - |kernel BUG at |'
kernel_report_re+='general protection fault|unreferenced object 0x|'
kernel_report_re+='LOST: the kernel log overflowed)'

# The report lines of a boot's log, from its last boot only: vm-run
# retries a boot that died before its command started, and says so.
kernel_reports() {	# log
	tac "$1" | sed -e 's/\r$//' -e '/^vm-run: RETRY:/q' | tac |
		grep -nE "$kernel_report_re"
}

# A boot's kernel log as one KTAP test: clean, or the first lines of its
# first report. Without init.sh's dump (the guest died or timed out) only
# the console was seen: a failure too, as nobody can call that log clean.
# WHOLE=1: the log is the kernel's whole console (UML), with no dump.
kernel_log_ktap() {	# name log [whole]
	local name=$1 log=$2 whole=${3:-0} first

	echo "TAP version 13"
	echo "1..1"
	first=$(kernel_reports "$log" | head -n 1 | cut -d: -f1)
	if [ -n "$first" ]; then
		echo "# kernel report in $name:"
		tac "$log" | sed -e 's/\r$//' -e '/^vm-run: RETRY:/q' | tac |
			sed -n "${first},$((first + 19))p" | sed 's/^/#   /'
		kernel_reports "$log" | cut -d: -f2- | sort | uniq -c |
			sort -rn | head -n 10 | sed 's/^/# report: /'
		echo "not ok 1 kernel log clean: $name"
	elif [ "$whole" = 0 ] && ! grep -q '^vm-run guest: kmsg: end' "$log"; then
		echo "# $name: the guest never printed its kernel log (it died or timed out)"
		echo "not ok 1 kernel log clean: $name"
	else
		echo "ok 1 kernel log clean: $name"
	fi
}

# One boot: the suite's own results, and one more for its kernel log.
run_boot() {	# name timeout command...
	local name=$1 t=$2 log="$logs/${1//[:\/]/-}.log" klog rc
	shift 2

	echo "=== $name"
	suite_start=$SECONDS
	logged "$log" vm "$t" "$@"
	klog=${log%.log}.kernel-log.ktap
	kernel_log_ktap "$name" "$log" | tee "$klog"
	# shellcheck disable=SC2046
	record "$name" $(sum_counts "$(count_ktap "$log" "$rc")" \
		"$(count_ktap "$klog" 0)")
	echo "=== $name: exit $rc"
}

sum_counts() {	# "pass fail skip" "pass fail skip"
	# shellcheck disable=SC2086
	set -- $1 $2
	echo $(($1 + $4)) $(($2 + $5)) $(($3 + $6))
}

# KUnit under UML. The debug run adds KASAN, lockdep and more in a build
# folder of its own, and its log gets the kernel report check too: a
# KASAN report fails the KUnit case it hit, a lockdep report does not.
kunit_run() {	# name build-dir kunit.py-option...
	local name=$1 out=$2 log="$logs/$1.log" klog rc
	shift 2

	[ -f "$src/drivers/char/tpm/.kunitconfig" ] || {
		echo "check: no drivers/char/tpm/.kunitconfig in $src" >&2
		record "$name" 0 1 0
		return
	}
	# kunit.py works from the source tree and refuses one that has had an
	# in-tree build; ours are all out of tree. --raw_output=kunit: the
	# kernel's own KTAP, counted like every other suite.
	echo "=== $name"
	suite_start=$SECONDS
	logged "$log" kunit_py --build_dir="$out" "$@"
	klog=${log%.log}.kernel-log.ktap
	kernel_log_ktap "$name" "$log" 1 | tee "$klog"
	# shellcheck disable=SC2046
	record "$name" $(sum_counts "$(count_ktap "$log" "$rc")" \
		"$(count_ktap "$klog" 0)")
	echo "=== $name: exit $rc"
}

kunit_py() {	# kunit.py-option...
	cd "$src" && exec python3 tools/testing/kunit/kunit.py run \
		--arch=um --jobs="$(nproc)" --timeout=1800 \
		--kunitconfig=drivers/char/tpm/.kunitconfig --raw_output=kunit \
		"$@"
}

kunit() {
	kunit_run kunit "$kunit_out"
}

# UBSAN_ALIGNMENT is off: UML does not claim efficient unaligned access,
# so it would be on, and it reports the unaligned be32_to_cpup() of
# upstream's tpm2_get_cc_attrs_tbl() (and kernel/exit.c) on x86, where
# unaligned loads are fine; those reports fail the KUnit case they hit.
kunit_debug() {
	local opt opts=()

	for opt in KASAN=y KASAN_VMALLOC=y PROVE_LOCKING=y DEBUG_ATOMIC_SLEEP=y \
		   DEBUG_LIST=y SLUB_DEBUG=y UBSAN=y UBSAN_ALIGNMENT=n; do
		opts+=(--kconfig_add "CONFIG_$opt")
	done
	kunit_run kunit-debug "$kunit_out-debug" "${opts[@]}"
}

# The time limit a kselftest directory's settings file gives its tests
settings_timeout() {	# dir
	sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$1/settings" 2>/dev/null |
		tail -n 1 | grep . || echo 45
}

guest() {
	local upstream=$base/tools/testing/selftests/tpm2 t entry limit

	# Upstream's tests are unittest cases: a test per case, via KTAP.
	# They write their logs in the current directory: /tmp in the guest.
	upstream=$(readlink -f "$upstream")
	limit=$(( $(settings_timeout "$upstream") * 2 ))
	for t in Smoke Space Async; do
		run_boot "upstream-tpm2:${t}Test" "$limit" \
			bash -c 'cd /tmp && exec "$@"' _ python3 \
			"$here/ktap-unittest.py" "$upstream" tpm2_tests "${t}Test"
	done
	# Ours through the kernel's runner, one boot each; the boot and the
	# runner's own work get 300 s on top of the settings limit.
	[ -s "$selftests/kselftest-list.txt" ] || {
		echo "check: no kselftest-list.txt in $selftests" >&2
		record kselftests 0 1 0
		return
	}
	while IFS= read -r entry; do
		limit=$(( $(settings_timeout "$selftests/${entry%%:*}") + 300 ))
		run_boot "$entry" "$limit" \
			"$selftests/run_kselftest.sh" -t "$entry" </dev/null
	done <"$selftests/kselftest-list.txt"
}

# The kernel's own HMAC sessions (CONFIG_TCG_TPM2_HMAC) still start when
# files hold every session handle: the isolation suite's case for them,
# on a kernel built with HMAC=1, where it does not skip. Only that case:
# the others count evictions exactly, and the kernel's hwrng reads start
# sessions of their own at any time.
hmac_guest() {
	local test=isolation.kernel_sessions_not_starved
	local kernel=$hmac_kernel	# vm()'s, in run_boot

	echo "check: $test on the HMAC kernel ($hmac_kernel)"
	run_boot "hmac: $test" 600 \
		"$selftests/tpm2-space/tpm2_space_isolation_test" -t "${test#*.}"
}

# The positive controls of the debug kernel (make check-controls KDEBUG=1):
# one boot per detector, whose trigger must make the kernel log check fail
# with that detector's own report, and one boot with the controls' module
# loaded but nothing tripped, whose log must be clean. KOUT is the debug
# kernel's build folder, with lkdtm and samples/kmemleak built as modules,
# and our lockdep-abba module in KOUT/controls.
control() {	# name expected-report command
	local name=$1 want=$2 log="$logs/control-$1.log" reports
	local lkdtm=$controls/drivers/misc/lkdtm/lkdtm.ko

	echo "=== control: $name"
	suite_start=$SECONDS
	logged "$log" vm 900 bash -c "$3" _ "$lkdtm" "$controls"
	reports=$(kernel_reports "$log" | cut -d: -f2-)
	{
		echo "TAP version 13"
		echo "1..1"
		[ -z "$reports" ] || head -n 5 <<<"$reports" | sed 's/^/# report: /'
		if [ "$want" = none ]; then
			if [ -z "$reports" ] &&
			   [ "$(count_ktap <(kernel_log_ktap "$name" "$log") 0)" = "1 0 0" ]; then
				echo "ok 1 control $name: the kernel log check passes"
			else
				echo "not ok 1 control $name: the kernel log check fails"
			fi
		elif [ "$(count_ktap <(kernel_log_ktap "$name" "$log") 0)" = "0 1 0" ] &&
		     grep -qE -- "$want" <<<"$reports"; then
			echo "ok 1 control $name: the kernel log check fails on its report"
		else
			echo "not ok 1 control $name: no \"$want\" report made" \
				"the kernel log check fail"
		fi
	} | tee "$log.ktap"
	# shellcheck disable=SC2046
	record "control: $name" $(count_ktap "$log.ktap" 0)
}

lkdtm_control() {	# name expected-report crash-type
	control "$1" "$2" 'insmod "$1" &&
		echo '"$3"' >/sys/kernel/debug/provoke-crash/DIRECT; true'
}

run_controls() {
	control none 'none' 'insmod "$1"'
	lkdtm_control kasan 'BUG: KASAN: slab-use-after-free' WRITE_AFTER_FREE
	lkdtm_control ubsan 'UBSAN: array-index-out-of-bounds' ARRAY_BOUNDS
	lkdtm_control warn 'WARNING: CPU: [0-9]+ PID: [0-9]+ at ' WARNING
	control lockdep 'WARNING: possible circular locking dependency detected' \
		'insmod "$2/controls/lockdep-abba.ko"; true'
	control kmemleak 'unreferenced object 0x' \
		'insmod "$2/samples/kmemleak/kmemleak-test.ko"'
}

if [ $kunit_only = 1 ]; then
	kunit
elif [ -n "$controls" ]; then
	echo "check: positive controls on $kernel"
	run_controls
elif [ -n "$modinst" ]; then
	# make check-modules: the TPM driver and the KUnit tests as modules
	echo "check: modules from $modinst on $kernel"
	run_boot modules 900 "$here/modules-guest.sh" "$modinst" "$selftests"
else
	if [ $guest_only = 1 ]; then
		echo "check: lint, KUnit and fuzzing skipped (--guest-only)"
	elif [ "$rm_name" = ours ]; then
		run_suite lint ktap_verdict lint \
			"$here/lint.sh" "$repo" "$src" "$lint_out"
		kunit
		kunit_debug
		# The user-space fuzzers, briefly, and their deliberate bugs:
		# make fuzz runs them longer.
		run_suite fuzz "$src/tools/testing/tpm2-fuzz/run.sh" \
			--time 30 --out "$logs/fuzz" --mutants
	else
		echo "check: lint, KUnit and fuzzing skipped: they check our code," \
			"which the base lacks"
	fi
	echo "check: guest tests on the $rm_name resource manager ($kernel)"
	guest
	[ -z "$hmac_kernel" ] || hmac_guest
fi

echo
echo "Summary ($rm_name resource manager; logs in $logs):"
printf '  %s\n' "${summary[@]}"
echo "  wall time $((SECONDS / 60))m$(printf %02d $((SECONDS % 60)))s"
[ "$skipped" -eq 0 ] || echo "($skipped skipped: neither passed nor failed)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
