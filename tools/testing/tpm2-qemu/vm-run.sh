#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vm-run: boot a kernel under QEMU (TCG) with a freshly manufactured swtpm
# behind a tpm-tis device, run one command in the guest, and exit with that
# command's status. The host's root filesystem is shared read-only, so any
# host path is visible in the guest at the same place; /tmp, /run and
# /var/tmp are fresh tmpfs mounts in the guest. The command runs as root in
# the host's current directory, with TPM2TOOLS_TCTI=device:/dev/tpmrm0.
#
# Exit status: the command's own, or 124 when the time limit was hit, or
# 125 when the VM could not run or the guest died before reporting one.
#
# A boot that dies before the guest starts the command (a slow host can
# trip the kernel's timer check, or stall the boot) is retried, at most
# twice, each time with a new swtpm, and said so on stderr. The guest's
# /init writes a marker just before it starts the command: once it is
# there, whatever happens is the command's, and is never retried.

set -u

here=$(dirname "$(readlink -f "$0")")
repo=$(readlink -f "$here/../../..")

usage() {
	cat <<USAGE
usage: vm-run.sh [options] -- COMMAND [ARG...]
       vm-run.sh [options] --shell
  -k, --kernel BZIMAGE  kernel to boot (default: \$VM_KERNEL, else
                        $repo/build/obj-ours/arch/x86/boot/bzImage)
  -t, --timeout SECS    hard limit for one boot and its command
                        (default: 600)
  -m, --memory MB       guest memory (default: 1024)
  -a, --append ARGS     extra kernel command line
  -v, --verbose         show all kernel messages, not only warnings
  -l, --swtpm-log LEVEL swtpm logs at LEVEL (2: every command and
                        response) into the run directory, where the guest
                        reads it as /run/vm-run/swtpm.log
  -s, --shell           interactive shell on the console instead of a command
  -h, --help            this text
USAGE
}

kernel=${VM_KERNEL:-$repo/build/obj-ours/arch/x86/boot/bzImage}
timeout_s=600
memory=1024
append=
loglevel=quiet
shell=0
swtpm_log_level=
# Seconds a boot may take to start the command, and how often it is retried
boot_limit=300
boot_retries=2

while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	-t|--timeout) timeout_s=$2; shift 2 ;;
	-m|--memory) memory=$2; shift 2 ;;
	-a|--append) append="$append $2"; shift 2 ;;
	-v|--verbose) loglevel="loglevel=7"; shift ;;
	-l|--swtpm-log) swtpm_log_level=$2; shift 2 ;;
	-s|--shell) shell=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) echo "vm-run: unknown option $1" >&2; usage >&2; exit 125 ;;
	*) break ;;
	esac
done

die() {
	echo "vm-run: $*" >&2
	exit 125
}

[ $shell = 1 ] || [ $# -gt 0 ] || { usage >&2; exit 125; }
[ -f "$kernel" ] || die "no kernel image at $kernel (run 'make' first?)"
case "$timeout_s" in
''|*[!0-9]*) die "timeout must be a number of seconds, not '$timeout_s'" ;;
esac
for tool in qemu-system-x86_64 swtpm swtpm_setup /bin/busybox cpio timeout; do
	command -v "$tool" >/dev/null ||
		die "$tool is missing (run tools/testing/tpm2-qemu/install-deps.sh)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vm-run.XXXXXX") || die "mktemp failed"
swtpm_pid=
qemu_pid=

# Every job is a timeout(1) of QEMU or swtpm, which leads its own process
# group: kill the whole group, or the job itself if it has not made its
# group yet. All jobs, not only those in qemu_pid and swtpm_pid: a
# signal may come between the start of one and its pid's assignment.
stop_vm() {
	local pid

	for pid in $(jobs -p); do
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	qemu_pid= swtpm_pid=
}

cleanup() {
	stop_vm
	rm -rf "$work"
}

# Stop QEMU and swtpm, then die of the signal: a caller's loop (check.sh)
# must see that vm-run was stopped, not that a command exited 130. Bash
# runs this once the command in the foreground is over: at most a second
# (sleep 1) while a guest runs.
on_signal() {	# signal
	trap '' INT TERM HUP
	echo "vm-run: SIG$1: stopping QEMU and swtpm" >&2
	cleanup
	trap - EXIT "$1"
	kill -"$1" $$
}
trap cleanup EXIT
for sig in INT TERM HUP; do
	# shellcheck disable=SC2064
	trap "on_signal $sig" $sig
done

# A newly manufactured TPM for every boot: tests that trip dictionary-attack
# lockout or leave sessions behind cannot leak into the next run. The EK is
# created, but no EK certificate (its CA writes outside our directory).
start_swtpm() {
	local sock=$work/swtpm.sock log=$work/swtpm.log

	[ -z "$swtpm_log_level" ] ||
		log=$work/share/swtpm.log,level=$swtpm_log_level,truncate

	rm -rf "$work/tpm" "$sock"
	mkdir -p "$work/tpm"
	if ! timeout 60 swtpm_setup --tpm2 --tpmstate "$work/tpm" --createek \
			--pcr-banks sha1,sha256 --overwrite \
			--logfile "$work/swtpm_setup.log" >/dev/null 2>&1; then
		cat "$work/swtpm_setup.log" >&2 2>/dev/null
		die "swtpm_setup failed to manufacture a TPM state"
	fi
	timeout -k 5 $((timeout_s + 30)) swtpm socket --tpm2 \
		--tpmstate dir="$work/tpm" --ctrl type=unixio,path="$sock" \
		--terminate --log file="$log" &
	swtpm_pid=$!
	for _ in $(seq 50); do
		[ -S "$sock" ] && break
		kill -0 $swtpm_pid 2>/dev/null || break
		sleep 0.1
	done
	[ -S "$sock" ] || { cat "${log%%,*}" >&2; die "swtpm did not start"; }
}

# The initramfs: busybox and our /init, nothing else. cpio is given no
# device nodes, so building it needs no privileges.
mkdir -p "$work/share" "$work/initramfs"/{bin,dev,proc,sys,mnt}
cp /bin/busybox "$work/initramfs/bin/busybox"
cp "$here/init.sh" "$work/initramfs/init"
chmod 755 "$work/initramfs/init"
(cd "$work/initramfs" && find . | cpio -o -H newc --quiet) \
	>"$work/initramfs.cpio" || die "cannot build the initramfs"

if [ $shell = 1 ]; then
	printf 'cd %q 2>/dev/null || cd /tmp\nexec setsid -c -w bash -i\n' \
		"$PWD" >"$work/share/cmd"
else
	{
		printf 'cd %q || exit 125\n' "$PWD"
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} >"$work/share/cmd"
fi

# log_buf_len: the guest's /init prints the kernel's warnings of the whole
# boot at its end (init.sh), and a long suite must not push out its start.
# no_timer_check: under TCG on a busy host the IO-APIC timer check can
# miss its ticks and panic the boot ("IO-APIC + timer doesn't work!").
qemu_args=(
	-M pc -accel tcg -m "$memory" -smp 1
	-nodefaults -display none -no-reboot
	-kernel "$kernel" -initrd "$work/initramfs.cpio"
	-append "console=ttyS0 panic=-1 oops=panic no_timer_check log_buf_len=8M $loglevel $append"
	-chardev socket,id=chrtpm,path="$work/swtpm.sock"
	-tpmdev emulator,id=tpm0,chardev=chrtpm
	-device tpm-tis,tpmdev=tpm0
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev local,id=vmrun,path="$work/share",security_model=none
	-device virtio-9p-pci,fsdev=vmrun,mount_tag=vmrun
)

if [ $shell = 1 ]; then
	start_swtpm
	timeout -k 5 --foreground "$timeout_s" qemu-system-x86_64 \
		"${qemu_args[@]}" -serial mon:stdio
	exit 0
fi

# One boot: QEMU's status in rc; a boot that has not started the command
# within boot_limit seconds is stopped (rc 125).
boot() {
	local waited=0

	rm -f "$work/share/started" "$work/share/status"
	start_swtpm
	timeout -k 5 "$timeout_s" qemu-system-x86_64 "${qemu_args[@]}" \
		-serial stdio </dev/null &
	qemu_pid=$!
	while kill -0 $qemu_pid 2>/dev/null; do
		if [ ! -e "$work/share/started" ] && [ $waited -ge $boot_limit ]; then
			echo "vm-run: the guest did not start the command within ${boot_limit}s" >&2
			stop_vm
			rc=125
			return
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait $qemu_pid
	rc=$?
	qemu_pid=
	stop_vm
}

for attempt in $(seq 0 $boot_retries); do
	boot
	[ -e "$work/share/started" ] && break
	[ "$attempt" -lt $boot_retries ] || break
	echo "vm-run: RETRY: the guest died before it started the command" \
		"(QEMU status $rc); booting again ($((attempt + 1)) of $boot_retries)" >&2
done

if [ ! -e "$work/share/started" ]; then
	die "the guest never started the command ($((boot_retries + 1)) boots; QEMU status $rc)"
fi
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "vm-run: TIMEOUT: the guest did not finish within ${timeout_s}s" \
		"(hung?); QEMU was killed" >&2
	exit 124
fi
if [ $rc -ne 0 ]; then
	die "QEMU failed with status $rc"
fi
if [ ! -s "$work/share/status" ]; then
	die "the command started, but the guest stopped without reporting" \
		"a status (kernel panic or crash?)"
fi
exit "$(cat "$work/share/status")"
