#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages the build and the tests need, once; with
# --bench, also those of 'make bench'; with --docs, those of 'make
# htmldocs'; with --distro, Debian's kernel config (make check-distro).
# Idempotent: packages already present are not touched, and apt is only
# consulted when something is missing.

set -eu

# package:command-or-file that proves it is usable
PACKAGES=(
	linux-source-6.12:/usr/src/linux-source-6.12.tar.xz
	build-essential:gcc
	flex:flex
	bison:bison
	bc:bc
	libelf-dev:/usr/include/libelf.h
	libssl-dev:/usr/include/openssl/ssl.h
	cpio:cpio
	xz-utils:xz
	rsync:rsync
	kmod:depmod
	git:git
	python3:python3
	python3-ply:
	sparse:sparse
	qemu-system-x86:qemu-system-x86_64
	swtpm:swtpm
	swtpm-tools:swtpm_setup
	tpm2-tools:tpm2
	libtss2-tcti-device0:
	python3-tpm2-pytss:/usr/lib/python3/dist-packages/tpm2_pytss/__init__.py
	busybox-static:/bin/busybox
	clang-14:clang-14
	libclang-rt-14-dev:
	llvm-14:llvm-cov-14
)

# make bench only (install-deps.sh --bench): the peer resource manager, its
# D-Bus and the plots (tpm2-pytss, the one client library for all, is in
# PACKAGES); and trace-cmd, to watch the resource manager's trace events
# in the guest (tpm-space.rst)
BENCH_PACKAGES=(
	tpm2-abrmd:tpm2-abrmd
	libtss2-tcti-tabrmd0:
	dbus-daemon:dbus-daemon
	dbus-session-bus-common:/usr/share/dbus-1/session.conf
	python3-matplotlib:
	trace-cmd:trace-cmd
)
# make htmldocs: Documentation/sphinx/requirements.txt, from Debian, and
# graphviz, whose dot(1) sphinx warns about when it is missing
DOCS_PACKAGES=(
	python3-sphinx:sphinx-build
	python3-yaml:
	graphviz:dot
)

# make check-distro: Debian's own kernel configs (amd64's is used)
DISTRO_PACKAGES=(
	linux-config-6.12:/usr/src/linux-config-6.12
)

for opt in "$@"; do
	case $opt in
	--bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
	--docs) PACKAGES+=("${DOCS_PACKAGES[@]}") ;;
	--distro) PACKAGES+=("${DISTRO_PACKAGES[@]}") ;;
	*) echo "install-deps: unknown option $opt" >&2; exit 2 ;;
	esac
done

missing=()
for entry in "${PACKAGES[@]}"; do
	pkg=${entry%%:*}
	if ! dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null |
	     grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		SUDO=sudo
	else
		echo "install-deps: missing packages (${missing[*]}) and not root;" \
			"install them as root" >&2
		exit 1
	fi
else
	SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
	echo "install-deps: 'apt-get install' failed; refreshing the package lists and retrying" >&2
	$SUDO apt-get update ||
		echo "install-deps: 'apt-get update' failed" >&2
	if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
		echo "install-deps: cannot install: ${missing[*]}" >&2
		echo "install-deps: check the apt sources" \
			"(linux-source-6.12 is in Debian 12 bookworm)" >&2
		exit 1
	fi
fi

for entry in "${PACKAGES[@]}"; do
	pkg=${entry%%:*}
	probe=${entry#*:}
	[ -n "$probe" ] || continue
	if [ "${probe#/}" != "$probe" ]; then
		[ -e "$probe" ] && continue
	elif command -v "$probe" >/dev/null; then
		continue
	fi
	echo "install-deps: package $pkg is installed but $probe is missing" >&2
	exit 1
done
