#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# prepare-tree base TARBALL BASE_DIR
#	Extract the pristine base kernel once, check that it is 6.12.y and
#	record its version in BASE_DIR/.tpm2-base-version.
# prepare-tree ours REPO BASE_DIR SRC_DIR
#	Make SRC_DIR the base plus our patches (REPO/patches/*.patch, in
#	order) plus our overlay (REPO/{drivers,include,Documentation,tools}).
#	The base is copied once; when the patches or the set of overlay
#	files change, only the files the series touched are reset and the
#	series laid again. Changed overlay files are copied in place, so
#	kbuild stays incremental.

set -eu

SERIES=6.12
OVERLAY_DIRS="drivers include Documentation tools"

die() {
	echo "prepare-tree: $*" >&2
	exit 1
}

base() {
	local tarball=$1 dir=$2 stamp version

	[ -f "$tarball" ] || die "base tarball $tarball not found (package linux-source-$SERIES)"
	stamp="$(stat -c '%s %Y' "$tarball") $tarball"
	if [ ! -f "$dir/.tpm2-base-stamp" ] ||
	   [ "$(cat "$dir/.tpm2-base-stamp")" != "$stamp" ]; then
		echo "prepare-tree: extracting $tarball"
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		tar -xJf "$tarball" -C "$dir.tmp" --strip-components=1 ||
			die "cannot extract $tarball"
		[ -f "$dir.tmp/Makefile" ] || die "$tarball holds no kernel tree"
		version=$(make -s -C "$dir.tmp" kernelversion 2>/dev/null) ||
			die "cannot read the kernel version of $tarball"
		case "$version" in
		$SERIES.*) ;;
		*) rm -rf "$dir.tmp"
		   die "base is Linux $version, but this series is for $SERIES.y" ;;
		esac
		echo "$version" >"$dir.tmp/.tpm2-base-version"
		echo "$stamp" >"$dir.tmp/.tpm2-base-stamp"
		mv "$dir.tmp" "$dir"
	fi
	echo "base: Linux $(cat "$dir/.tpm2-base-version") from $tarball"
}

overlay_files() {
	local repo=$1 d

	for d in $OVERLAY_DIRS; do
		[ -d "$repo/$d" ] || continue
		(cd "$repo" && find "$d" -type f ! -name '*.o' ! -name '.*.cmd')
	done | LC_ALL=C sort
}

# Files the series touched last time go back to their base content, with
# a fresh mtime so that kbuild rebuilds what used them.
restore_touched() {
	local src=$1 base=$2 f

	while IFS= read -r f; do
		rm -f "$src/$f"
		[ ! -f "$base/$f" ] || cp "$base/$f" "$src/$f"
	done <"$src/.tpm2-touched"
	: >"$src/.tpm2-touched"
}

apply_patches() {
	local repo=$1 src=$2 p version

	version=$(cat "$src/.tpm2-base-version")
	for p in "$repo"/patches/*.patch; do
		[ -e "$p" ] || continue
		sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p" >>"$src/.tpm2-touched"
		if ! patch -d "$src" -p1 -N -s --fuzz=0 --dry-run <"$p" >/dev/null; then
			patch -d "$src" -p1 -N --fuzz=0 --dry-run <"$p" >&2 || true
			die "patch $(basename "$p") does not apply to Linux $version"
		fi
		patch -d "$src" -p1 -N -s --fuzz=0 --no-backup-if-mismatch <"$p" >/dev/null
	done
}

ours() {
	local repo=$1 base=$2 src=$3 stamp

	[ -f "$base/.tpm2-base-version" ] || die "no base tree at $base"
	# Without the list of touched files we cannot undo the last series.
	if ! cmp -s "$src/.tpm2-base-stamp" "$base/.tpm2-base-stamp" ||
	   [ ! -f "$src/.tpm2-touched" ]; then
		echo "prepare-tree: copying the base to $src"
		rm -rf "$src" "$src.tmp"
		cp -a "$base" "$src.tmp"
		: >"$src.tmp/.tpm2-touched"
		mv "$src.tmp" "$src"
	fi

	stamp=$( {
		cat "$base/.tpm2-base-stamp"
		cat "$repo"/patches/*.patch 2>/dev/null
		overlay_files "$repo"
	} | sha256sum | cut -d' ' -f1)
	if ! [ "$(cat "$src/.tpm2-tree-stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "prepare-tree: applying patches/*.patch in $src"
		rm -f "$src/.tpm2-tree-stamp"
		restore_touched "$src" "$base"
		apply_patches "$repo" "$src"
		overlay_files "$repo" >>"$src/.tpm2-touched"
		echo "$stamp" >"$src/.tpm2-tree-stamp"
	fi
	# Copy only what differs, so unchanged files keep their mtime.
	overlay_files "$repo" |
		rsync -rc --files-from=- "$repo/" "$src/"
}

case "${1:-}" in
base) [ $# -eq 3 ] || die "usage: prepare-tree base TARBALL BASE_DIR"
      base "$2" "$3" ;;
ours) [ $# -eq 4 ] || die "usage: prepare-tree ours REPO BASE_DIR SRC_DIR"
      ours "$2" "$3" "$4" ;;
*) die "usage: prepare-tree base|ours ..." ;;
esac
