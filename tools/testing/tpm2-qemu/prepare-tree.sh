#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# prepare-tree base TARBALL BASE_DIR
#	Extract the pristine base kernel once, check that it is 6.12.y and
#	record its version in BASE_DIR/.tpm2-base-version.
# prepare-tree ours REPO BASE_DIR SRC_DIR
#	Make SRC_DIR the base plus our series: REPO/patches/*.patch applied
#	in order with 'git am' (as make-series does), then our overlay
#	(REPO/{drivers,include,Documentation,tools}) copied over it.
#	SRC_DIR's git directory is SRC_DIR.git, outside the tree, so the
#	kernel's setlocalversion sees no repository; its branch 'base' is
#	the pristine base, which make-series clones. When the patches change,
#	the tree goes back to 'base' and the patches are applied again; git
#	rewrites only the files that differ, so kbuild stays incremental.
#	An overlay file is copied in place when it differs, and one that is
#	gone from REPO is removed (or given back its series content).

set -eu

SERIES=6.12

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

. "$(dirname "$(readlink -f "$0")")/series-lib.sh"

# The commits of SRC_DIR.git are a build cache that is never published.
build_ident=$(series_local_ident)

# git on SRC_DIR with its git directory beside it
src_git() {
	series_git_as "$build_ident" --git-dir="$gitdir" --work-tree="$src" "$@"
}

# The base once, as a copy of BASE_DIR and the commit 'base' of it.
copy_base() {
	local base=$1 version

	version=$(cat "$base/.tpm2-base-version")
	echo "prepare-tree: copying the base to $src and committing it (once)"
	rm -rf "$src" "$gitdir"
	mkdir -p "$src"
	rsync -a --exclude='/.tpm2-*' "$base/" "$src/"
	src_git init -q
	# No background repack of a whole kernel in the middle of a build
	src_git config gc.auto 0
	src_git add -A -f .
	src_git commit -q -m "Linux $version (Debian linux-source-6.12)"
	cp "$base/.tpm2-base-stamp" "$gitdir/tpm2-base-stamp"
}

# The series from 'base', with the same 'git am' as make-series.
apply_series() {
	local repo=$1 version=$2 p

	src_git checkout -q -f -B series base
	# Overlay files from the last run are untracked (and ignored: the
	# base's .gitignore ignores what Debian's tree does not ship); the
	# series must not find them in the way. Builds are out of tree, so
	# nothing else is lost.
	src_git clean -q -f -d -x
	for p in "$repo"/patches/*.patch; do
		[ -e "$p" ] || continue
		if ! series_am src_git "$build_ident" "$p"; then
			src_git am --abort
			die "patch $(basename "$p") does not apply with git am to Linux $version"
		fi
	done
}

# An overlay file that is gone from REPO goes from SRC_DIR too: back to
# the series' content if the series has the file, else removed.
drop_vanished() {
	local repo=$1 f

	series_overlay "$repo" >"$gitdir/tpm2-overlay.new"
	touch "$gitdir/tpm2-overlay"
	LC_ALL=C comm -23 "$gitdir/tpm2-overlay" "$gitdir/tpm2-overlay.new" |
	while IFS= read -r f; do
		if src_git cat-file -e "HEAD:$f" 2>/dev/null; then
			src_git checkout -q HEAD -- "$f"
		else
			rm -f "$src/$f"
		fi
	done
	mv "$gitdir/tpm2-overlay.new" "$gitdir/tpm2-overlay"
}

ours() {
	local repo=$1 base=$2 stamp version
	src=$3 gitdir=$3.git

	[ -f "$base/.tpm2-base-version" ] || die "no base tree at $base"
	version=$(cat "$base/.tpm2-base-version")
	cmp -s "$gitdir/tpm2-base-stamp" "$base/.tpm2-base-stamp" ||
		copy_base "$base"

	stamp=$( {
		cat "$base/.tpm2-base-stamp"
		cat "$repo"/patches/*.patch 2>/dev/null
	} | sha256sum | cut -d' ' -f1)
	if ! [ "$(cat "$gitdir/tpm2-tree-stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "prepare-tree: git am patches/*.patch in $src"
		rm -f "$gitdir/tpm2-tree-stamp"
		apply_series "$repo" "$version"
		echo "$stamp" >"$gitdir/tpm2-tree-stamp"
	fi
	drop_vanished "$repo"
	# Copy only what differs, so unchanged files keep their mtime.
	rsync -rc --files-from="$gitdir/tpm2-overlay" "$repo/" "$src/"
}

# Two makes at once (a kernel build and KUnit, say) prepare the same
# trees: the second waits for the first, then finds them ready.
lock_trees_of() {
	mkdir -p "$(dirname "$1")"
	exec 9>"$(dirname "$1")/.prepare-tree.lock"
	flock 9
}

case "${1:-}" in
base) [ $# -eq 3 ] || die "usage: prepare-tree base TARBALL BASE_DIR"
      lock_trees_of "$3"
      base "$2" "$3" ;;
ours) [ $# -eq 4 ] || die "usage: prepare-tree ours REPO BASE_DIR SRC_DIR"
      lock_trees_of "$4"
      ours "$2" "$3" "$4" ;;
*) die "usage: prepare-tree base|ours ..." ;;
esac
