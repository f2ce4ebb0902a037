#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make-series REPO BASE_GIT OUT_DIR
#
# Turn the overlay into a git series against the pristine base, write it
# with 'git format-patch --cover-letter', and prove it applies with 'git am'
# on a fresh clone of the base. BASE_GIT is the git directory that
# prepare-tree made (build/src.git): its branch 'base' is the pristine
# base, and its patches are applied with the same 'git am'.
#
# REPO/patches/ defines the commits, in file-name order. For one commit
# named NNNN-slug there may be:
#   NNNN-slug.patch  a 'git format-patch' mail: edits to upstream files
#   NNNN-slug.files  overlay files (one path a line) the commit adds; if
#                    there is no .patch, the lines before a '---' line are
#                    the commit message, a 'Subject:' line first
# Every overlay file must belong to exactly one commit.
# REPO/patches/cover-letter: the cover letter, its first line the subject.

set -eu

die() {
	echo "make-series: $*" >&2
	exit 1
}

[ $# -eq 3 ] || die "usage: make-series REPO BASE_GIT OUT_DIR"
repo=$(readlink -f "$1") pristine=$(readlink -f "$2") out=$3
mkdir -p "$out"
out=$(readlink -f "$out")
git --git-dir="$pristine" rev-parse -q --verify base >/dev/null ||
	die "no branch 'base' in $pristine (run 'make tree')"
version=$(git --git-dir="$pristine" log -1 --format=%s base |
	sed -n 's/^Linux \([^ ]*\).*/\1/p')
work=$out/work
package=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null || true)
mails=$out/patches

. "$(dirname "$(readlink -f "$0")")/series-lib.sh"

# Whoever writes the series is its author and signs every patch off.
ident=$(series_ident)
[ -n "$ident" ] || die "no git identity to write the series with: set yours with 'git config --global user.name' and 'git config --global user.email' (it becomes every patch's From: and Signed-off-by:)"
email=${ident##*<}
export GIT_AUTHOR_NAME="${ident% <*}" GIT_AUTHOR_EMAIL="${email%>}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
# A fixed date, so that the same tree always gives the same mails.
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
git_q() { git -c advice.detachedHead=false -c init.defaultBranch=base "$@"; }

# 1. Every overlay file in exactly one commit.
overlay=$(cd "$repo" && for d in drivers include Documentation tools; do
		[ -d "$d" ] && find "$d" -type f
	  done | LC_ALL=C sort)
claimed_all=$(for f in "$repo"/patches/*.files; do
		[ -e "$f" ] || continue
		if grep -q '^---$' "$f"; then sed '1,/^---$/d' "$f"; else cat "$f"; fi
	      done | grep -v '^$' | LC_ALL=C sort)
dups=$(printf '%s\n' "$claimed_all" | uniq -d)
[ -z "$dups" ] || die "in more than one commit: $dups"
orphans=$(LC_ALL=C comm -23 <(printf '%s\n' "$overlay") <(printf '%s\n' "$claimed_all") | grep -v '^$' || true)
[ -z "$orphans" ] || die "overlay files in no patches/*.files: $orphans"
ghosts=$(LC_ALL=C comm -13 <(printf '%s\n' "$overlay") <(printf '%s\n' "$claimed_all") | grep -v '^$' || true)
[ -z "$ghosts" ] || die "patches/*.files name files that do not exist: $ghosts"

# 2. The series as commits.
rm -rf "$work"
git_q clone -q -b base "$pristine" "$work"
cd "$work"
for name in $(ls "$repo/patches" | sed -n 's/\.\(patch\|files\)$//p' | LC_ALL=C sort -u); do
	patch=$repo/patches/$name.patch files=$repo/patches/$name.files
	if [ -f "$patch" ]; then
		series_am git_q "$ident" "$patch" --signoff ||
			die "$name.patch does not apply with git am to Linux $version"
	fi
	[ -f "$files" ] || continue
	if grep -q '^---$' "$files"; then
		list=$(sed '1,/^---$/d' "$files")
	else
		list=$(cat "$files")
	fi
	for f in $list; do
		mkdir -p "$(dirname "$f")"
		cp "$repo/$f" "$f"
		git add -f "$f"
	done
	if [ -f "$patch" ]; then
		git_q commit -q --amend --no-edit
	else
		sed '/^---$/,$d' "$files" | sed '1s/^Subject: //' >"$out/msg"
		git_q commit -q -s -F "$out/msg"
	fi
done
[ "$(git rev-list --count HEAD ^origin/base)" -gt 0 ] || die "the series is empty"

# 3. format-patch, with the cover letter filled in.
rm -rf "$mails"
git format-patch -q --cover-letter --base=origin/base -o "$mails" origin/base..HEAD
cover=$(ls "$mails"/0000-cover-letter.patch)
if [ -f "$repo/patches/cover-letter" ]; then
	subject=$(head -n 1 "$repo/patches/cover-letter")
	{
		tail -n +3 "$repo/patches/cover-letter"
		echo
		echo "The series is against Linux $version as Debian's linux-source-6.12"
		echo "package ${package:-(version unknown)} ships it; base-commit below is that"
		echo "tree imported as one commit."
	} >"$out/blurb"
	sed -i -e "s|\*\*\* SUBJECT HERE \*\*\*|$subject|" \
	       -e "/\*\*\* BLURB HERE \*\*\*/{r $out/blurb
d}" "$cover"
fi

# 4. Proof: the mails apply to a fresh base and give the same tree, and
#    that tree matches what the build lays over the base.
rm -rf "$out/verify"
git_q clone -q -b base "$pristine" "$out/verify"
(cd "$out/verify" &&
 git_q am -q $(ls "$mails"/*.patch | grep -v 0000-cover-letter)) ||
	die "the series does not apply with git am to a fresh Linux $version"
[ "$(git -C "$out/verify" rev-parse 'HEAD^{tree}')" = "$(git rev-parse 'HEAD^{tree}')" ] ||
	die "git am of the mails gives a different tree"
rm -rf "$out/verify"
echo "series: $(ls "$mails" | wc -l) files in $mails (cover letter included), applies to Linux $version"
ls "$mails"
