#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make-series REPO BASE_GIT OUT_DIR
#
# Write the stack in patches/ as the series a maintainer receives, signed
# off by whoever runs it: 'git format-patch --cover-letter', proved to apply
# with 'git am' on a fresh clone of the base. BASE_GIT is the git directory that
# prepare-tree made (build/src.git): its branch 'base' is the pristine
# base, and its patches are applied with the same 'git am'.
#
# REPO/patches/NNNN-*.patch is the stack of commits, as 'git format-patch'
# mails without an identity (series-lib.sh); REPO/patches/cover-letter is
# the cover letter, its first line the subject. The end of the stack must
# be the overlay: a file we own that differs stops the series (fold it in
# with 'make stack-fold', see stack.sh). Then, unless SERIES_STEPS=0,
# series-steps.sh checks every commit on its own.

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
[ -n "$ident" ] || die "no git identity to write the series with:" \
	"set yours with 'git config --global user.name' and" \
	"'git config --global user.email'" \
	"(it becomes every patch's From: and Signed-off-by:)"
email=${ident##*<}
export GIT_AUTHOR_NAME="${ident% <*}" GIT_AUTHOR_EMAIL="${email%>}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
# A fixed date, so that the same tree always gives the same mails.
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
git_q() { git -c advice.detachedHead=false -c init.defaultBranch=base "$@"; }

# 1. The stack as commits, each signed off by whoever writes the series.
rm -rf "$work"
git_q clone -q -b base "$pristine" "$work"
cd "$work"
git_q checkout -q -b stack
for patch in "$repo"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
	[ -e "$patch" ] || die "no patches/NNNN-*.patch in $repo"
	series_am git_q "$ident" "$patch" --signoff ||
		die "$(basename "$patch") does not apply with git am to Linux $version"
done

# 2. Its end is the overlay.
drift=$(series_drift "$repo" "$work/.git" HEAD)
[ -z "$drift" ] || die "the overlay is not the end of patches/" \
	"(M differs, A not in the stack, D only in the stack):
$drift
fold the edits into the stack with 'make stack-fold' (or stack-open, git rebase -i, stack-save)"

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

# 5. Every step on its own.
if [ "${SERIES_STEPS:-1}" != 0 ]; then
	"$(dirname "$(readlink -f "$0")")/series-steps.sh" "$repo" "$work" "$mails" "$out/steps" ||
		die "a step of the series fails its checks (see above)"
fi
echo "series: $(ls "$mails" | wc -l) files in $mails (cover letter included)," \
	"applies to Linux $version"
ls "$mails"
