#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the vm-run guest. The host's root filesystem arrives read-only
# over virtio-9p ("hostroot"), the run directory read-write ("vmrun"). We
# chroot into the host root so that every host binary and path is usable
# as is, run the command vm-run left in the run directory, store its exit
# status next to it and power off. The kernel has no udev: devtmpfs is
# mounted here, since DEVTMPFS_MOUNT does not cover an initramfs.
#
# What a distro's init and udev give every program is set up here too:
# /dev/fd and /dev/std{in,out,err} (bash's process substitution and the
# kselftest runner's log use them), /dev/core, /dev/pts, /dev/shm, a
# fresh /run with /run/lock, the loopback interface up and a hostname.
# Just before the command starts, the guest writes /run/vm-run/started:
# vm-run tells a boot that died from a test that failed by it.

bb=/bin/busybox
root=/mnt/root

$bb mount -t devtmpfs none /dev
# The kernel found no /dev/console in the initramfs; open it now.
exec </dev/console >/dev/console 2>&1

fail() {
	echo "vm-run guest: $*"
	$bb poweroff -f
}

# With kmemleak (the debug kernel), look for leaks once the command is
# over. An object younger than 5 s is never reported, and a pointer that
# is still in a register or on a stack hides an object from one scan:
# wait, and scan twice. Boot-time allocations are not cleared first: a
# leak in the TPM driver's probe is ours too. Each line of the report
# goes out as "vm-run guest: kmemleak: ...", then the count.
kmemleak_scan() {
	local kmemleak=$root/sys/kernel/debug/kmemleak n

	[ -e $kmemleak ] || return 0
	echo
	$bb sleep 1
	echo scan > $kmemleak
	$bb sleep 6
	echo scan > $kmemleak
	n=$($bb grep -c '^unreferenced object' $kmemleak)
	$bb head -n 400 $kmemleak | $bb sed 's/^/vm-run guest: kmemleak: /'
	echo "vm-run guest: kmemleak: scan done, ${n:-0} unreferenced objects"
}

# The console shows only errors ("quiet"): the kernel's warnings and
# worse of the whole boot follow here, as "vm-run guest: kmsg: ...". A log
# that no longer starts with the boot (it overflowed, although vm-run
# gives it 8 MB) is said so: check.sh cannot call it clean.
kernel_log() {
	local dmesg="$bb chroot $root /bin/dmesg --notime"

	echo
	echo "vm-run guest: kmsg: begin"
	$dmesg --level=emerg,alert,crit,err,warn | $bb sed 's/^/vm-run guest: kmsg: /'
	$dmesg | $bb head -n 1 | $bb grep -q '^Linux version' ||
		echo "vm-run guest: kmsg: LOST: the kernel log overflowed"
	echo "vm-run guest: kmsg: end"
}

$bb mkdir -p $root
$bb mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose \
	hostroot $root || fail "cannot mount the host root over 9p"
$bb mount --move /dev $root/dev
$bb mount -t proc none $root/proc
$bb mount -t sysfs none $root/sys
$bb mount -t debugfs none $root/sys/kernel/debug
$bb mount -t securityfs none $root/sys/kernel/security
$bb mkdir -p $root/dev/pts $root/dev/shm
$bb mount -t devpts -o ptmxmode=0666 none $root/dev/pts
$bb mount -t tmpfs -o mode=1777 none $root/dev/shm
$bb ln -sfn /proc/self/fd $root/dev/fd
$bb ln -sfn /proc/self/fd/0 $root/dev/stdin
$bb ln -sfn /proc/self/fd/1 $root/dev/stdout
$bb ln -sfn /proc/self/fd/2 $root/dev/stderr
[ ! -e $root/proc/kcore ] || $bb ln -sfn /proc/kcore $root/dev/core
for dir in /tmp /run /var/tmp; do
	$bb mount -t tmpfs -o mode=1777 none $root$dir
done
$bb mkdir -p $root/run/vm-run $root/run/lock
$bb chmod 1777 $root/run/lock
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 \
	vmrun $root/run/vm-run || fail "cannot mount the run directory over 9p"

# tpm_tis probes from an initcall, so the nodes are normally there already.
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ -c $root/dev/tpmrm0 ] && break
	$bb sleep 0.5
done
[ -c $root/dev/tpmrm0 ] || echo "vm-run guest: warning: no /dev/tpmrm0"

$bb hostname vm-run
# iproute2's ip over netlink: busybox's ip wants an AF_INET socket, and
# the guest kernel has no INET
$bb chroot $root /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	ip link set lo up 2>/dev/null || echo "vm-run guest: warning: lo is down"
echo started > $root/run/vm-run/started
$bb chroot $root /usr/bin/env -i \
	HOME=/tmp TERM="${TERM:-linux}" LANG=C.UTF-8 \
	USER=root LOGNAME=root SHELL=/bin/bash \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	TPM2TOOLS_TCTI=device:/dev/tpmrm0 PYTHONDONTWRITEBYTECODE=1 \
	/bin/bash /run/vm-run/cmd
echo $? > $root/run/vm-run/status
# The command has ended and every file it opened is closed: what the
# kernel found during the boot goes on the console, for check.sh.
kmemleak_scan
kernel_log
$bb sync
$bb umount $root/run/vm-run
$bb poweroff -f
