#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The series is kept twice, on purpose: patches/NNNN-*.patch is the stack
# of commits a maintainer receives, and the overlay (drivers/, include/,
# Documentation/, tools/) is what the end of that stack leaves in the
# files we own, for reading and for the day-to-day edit-build-test loop.
# This script moves work between the two:
#
# stack.sh open REPO PRISTINE_GIT DIR
#	Make DIR a git repository whose branch 'stack' is the base plus
#	patches/*.patch, one commit each, for 'git rebase -i base'. Overlay
#	edits not yet in the stack become one last commit, "overlay: ...",
#	to fold into the commits they belong to. Only the files the stack
#	and the overlay touch are checked out (a sparse checkout): to edit
#	another upstream file, 'git -C DIR sparse-checkout add PATH' first.
# stack.sh save REPO DIR
#	Write DIR's branch back: patches/*.patch from its commits, without
#	From: or Signed-off-by: (series-lib.sh), and the overlay from its
#	last commit. DIR is removed: its work is in REPO now.
# stack.sh fold REPO PRISTINE_GIT DIR
#	open, then fold every overlay edit into the last commit of the
#	stack that touches its file, and a new file into the last that
#	touches its folder, and a renamed file where its old name was
#	(later commits never touch them, so the fold cannot conflict),
#	then save. Anything else, such as an edit that
#	belongs in an earlier commit, is for 'open' and 'git rebase -i'.
# stack.sh drift REPO SRC_GIT
#	List the overlay files that differ from the end of the stack in
#	prepare-tree's tree (its HEAD is patches/ applied); exit 1 if there
#	is any.
#
# PRISTINE_GIT is prepare-tree's build/src.git: its branch 'base' is the
# pristine base.

set -eu

DRIFT_SUBJECT="overlay: changes not yet in the stack"
DRIFT_BODY="Fold these into the commits they belong to (git rebase -i base),"
DRIFT_BODY+=" then run 'make stack-save'."

die() {
	echo "stack: $*" >&2
	exit 1
}

. "$(dirname "$(readlink -f "$0")")/series-lib.sh"

# The stack's commits are a working copy and are never published.
ident=$(series_local_ident)

git_s() {
	series_git_as "$ident" "$@"
}

# The paths the stack and the overlay touch: only these are checked out,
# so that opening a stack costs seconds, not a kernel tree's checkout.
# The commits are those of the whole tree all the same.
stack_paths() {
	local repo=$1

	{
		sed -n 's#^diff --git a/\([^ ]*\) b/\([^ ]*\)$#\1\n\2#p' \
			"$repo"/patches/[0-9][0-9][0-9][0-9]-*.patch 2>/dev/null
		series_overlay "$repo"
		# format-patch's hunk headers name C functions by its rules
		echo .gitattributes
	} | LC_ALL=C sort -u | sed 's#^#/#'
}

# The base plus the stored stack, in a new repository DIR that borrows
# the base's objects.
apply_stack() {
	local repo=$1 pristine=$2 dir=$3 p email

	git --git-dir="$pristine" rev-parse -q --verify base >/dev/null ||
		die "no branch 'base' in $pristine (run 'make tree')"
	git_s clone -q --shared --no-checkout -b base "$pristine" "$dir"
	# for the rebases and commits of whoever works in DIR
	email=${ident##*<}
	git -C "$dir" config user.name "${ident% <*}"
	git -C "$dir" config user.email "${email%>}"
	git -C "$dir" config gc.auto 0
	stack_paths "$repo" | git -C "$dir" sparse-checkout set --no-cone --stdin
	git_s -C "$dir" checkout -q -b stack
	for p in "$repo"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
		[ -e "$p" ] || continue
		series_am "git_s -C $dir" "$ident" "$p" ||
			die "$(basename "$p") does not apply to the base with git am"
	done
}

# Stage the overlay of REPO in DIR's work tree; true if that changes it.
stage_overlay() {
	local repo=$1 dir=$2 f

	series_drift "$repo" "$dir/.git" HEAD | while read -r what f; do
		case $what in
		D) git -C "$dir" rm -q -- "$f" ;;
		*) mkdir -p "$(dirname "$dir/$f")"
		   cp "$repo/$f" "$dir/$f"
		   git -C "$dir" add -f --sparse -- "$f" ;;
		esac
	done
	! git -C "$dir" diff --cached --quiet
}

cmd_open() {
	local repo=$1 pristine=$2 dir=$3

	[ ! -e "$dir" ] ||
		die "$dir exists: write it back with 'make stack-save', or remove it"
	apply_stack "$repo" "$pristine" "$dir"
	if stage_overlay "$repo" "$dir"; then
		git_s -C "$dir" commit -q -m "$DRIFT_SUBJECT" \
			-m "$DRIFT_BODY"
		echo "stack: the overlay's edits not yet in the stack are the last commit:"
		git -C "$dir" show --stat --format= HEAD | sed 's/^/  /'
	fi
	echo "stack: $(git -C "$dir" rev-list --count base..stack) commits" \
		"on branch 'stack' in $dir"
	echo "stack: edit with 'git -C $dir rebase -i base', then 'make stack-save'"
}

# A 'git format-patch' mail without the identity of whoever wrote it.
strip_identity() {
	awk '
		!body && /^From: / { skip = 1; next }
		skip && /^[ \t]/ { next }
		{ skip = 0 }
		!body && /^$/ { body = 1 }
		body && /^---$/ { diff = 1 }
		body && !diff && /^Signed-off-by: / { next }
		{ print }
	' "$1"
}

# Write the files we own from the stack's last commit in DIR to REPO:
# those the overlay has and those the stack adds. One the stack no
# longer has leaves the overlay.
save_overlay() {
	local repo=$1 dir=$2 f n=0

	for f in $(LC_ALL=C sort -u <(series_overlay "$repo") <(series_added "$dir/.git" stack)); do
		if ! git -C "$dir" cat-file -e "stack:$f" 2>/dev/null; then
			rm -f "$repo/$f"
		elif ! git -C "$dir" show "stack:$f" | cmp -s - "$repo/$f"; then
			mkdir -p "$(dirname "$repo/$f")"
			git -C "$dir" show "stack:$f" >"$repo/$f"
			chmod --reference="$dir/$f" "$repo/$f"
		else
			continue
		fi
		n=$((n + 1))
	done
	echo $n
}

cmd_save() {
	local repo=$1 dir=$2 mails f n

	[ -d "$dir/.git" ] || die "no stack in $dir: run 'make stack-open' first"
	[ ! -d "$dir/.git/rebase-merge" ] && [ ! -d "$dir/.git/rebase-apply" ] ||
		die "a rebase is in progress in $dir: finish it first"
	[ "$(git -C "$dir" symbolic-ref -q --short HEAD)" = stack ] ||
		die "$dir is not on branch 'stack'"
	git -C "$dir" diff --quiet HEAD ||
		die "$dir has uncommitted changes: commit them into the stack first"
	! git -C "$dir" log --format=%s base..stack | grep -qxF "$DRIFT_SUBJECT" ||
		die "the commit \"$DRIFT_SUBJECT\" is still in the stack:" \
			"fold it (git rebase -i base) first"

	mails=$dir/.git/stack-mails
	rm -rf "$mails"
	git -C "$dir" format-patch -q --zero-commit --no-signature \
		-o "$mails/raw" base..stack
	for f in "$mails"/raw/*.patch; do
		strip_identity "$f" >"$mails/$(basename "$f")"
		series_check_anonymous "$mails/$(basename "$f")" ||
			die "cannot take the identity out of $(basename "$f")"
	done
	rm -f "$repo"/patches/[0-9][0-9][0-9][0-9]-*.patch
	cp "$mails"/*.patch "$repo/patches/"
	n=$(save_overlay "$repo" "$dir")
	echo "stack: $(ls "$mails"/*.patch | wc -l) patches written to $repo/patches," \
		"$n overlay files updated"
	# What was open is in REPO now; the next open starts from there.
	rm -rf "$dir"
	echo "stack: review with 'git -C $repo status', and commit"
}

# The commit a file's edit folds into: the last one that touches the
# file, or for a file new to the stack, the last one that touches its
# folder (or the nearest folder above it that the stack touches).
fold_target() {
	local dir=$1 path=$2 target

	while :; do
		target=$(git -C "$dir" log -1 --format=%H base..stack -- "$path")
		[ -n "$target" ] && { echo "$target"; return; }
		[ "$path" = . ] && return 1
		path=$(dirname "$path")
	done
}

cmd_fold() {
	local repo=$1 pristine=$2 dir=$3 f target files map

	cmd_open "$repo" "$pristine" "$dir" >/dev/null
	if [ "$(git -C "$dir" log -1 --format=%s)" != "$DRIFT_SUBJECT" ]; then
		rm -rf "$dir"
		echo "stack: the overlay is the end of the stack; nothing to fold"
		return
	fi
	# A renamed file goes where the old name was: the pair is one edit.
	files=$(git -C "$dir" diff --name-status -M HEAD~1 HEAD |
		awk '$1 ~ /^R/ { print $2 " " $3; next } { print $2 " " $2 }')
	git -C "$dir" reset -q HEAD~1

	# One fixup for each target commit. No later commit touches what it
	# folds in, so the rebase cannot conflict.
	map=$dir/.git/stack-fold-map
	echo "$files" | while read -r old f; do
		target=$(fold_target "$dir" "$old") ||
			die "no commit of the stack touches $old or its folders:" \
				"put it in one with 'git -C $dir rebase -i base'" \
				"(the stack is open), then 'make stack-save'"
		echo "$target $f"
		[ "$old" = "$f" ] || echo "$target $old"
	done | LC_ALL=C sort >"$map"
	for target in $(cut -d' ' -f1 "$map" | uniq); do
		for f in $(awk -v t="$target" '$1 == t { print $2 }' "$map"); do
			git -C "$dir" add -A -f --sparse -- "$f"
		done
		echo "stack: into \"$(git -C "$dir" log -1 --format=%s "$target")\":"
		git -C "$dir" diff --cached --stat | sed 's/^/  /'
		git_s -C "$dir" commit -q --fixup="$target"
	done
	git -C "$dir" diff --quiet HEAD || die "edits left unfolded in $dir"
	GIT_SEQUENCE_EDITOR=: git_s -C "$dir" rebase -q -i --autosquash base ||
		die "the fold does not apply cleanly: resolve it in $dir, then 'make stack-save'"
	cmd_save "$repo" "$dir"
}

cmd_drift() {
	local repo=$1 gitdir=$2 drift

	drift=$(series_drift "$repo" "$gitdir" HEAD)
	if [ -n "$drift" ]; then
		echo "stack: the overlay is not the end of patches/" \
			"(M differs, A not in the stack, D only in the stack):"
		echo "$drift" | sed 's/^/  /'
		echo "stack: fold the edits into the stack: 'make stack-fold'," \
			"or 'make stack-open' and 'make stack-save'"
		return 1
	fi
	echo "stack: the overlay is the end of patches/" \
		"($(git --git-dir="$gitdir" rev-list --count base..HEAD) commits)"
}

case "${1:-}" in
open) [ $# -eq 4 ] || die "usage: stack.sh open REPO PRISTINE_GIT DIR"
      cmd_open "$(readlink -f "$2")" "$(readlink -f "$3")" "$(readlink -m "$4")" ;;
save) [ $# -eq 3 ] || die "usage: stack.sh save REPO DIR"
      cmd_save "$(readlink -f "$2")" "$(readlink -m "$3")" ;;
fold) [ $# -eq 4 ] || die "usage: stack.sh fold REPO PRISTINE_GIT DIR"
      cmd_fold "$(readlink -f "$2")" "$(readlink -f "$3")" "$(readlink -m "$4")" ;;
drift) [ $# -eq 3 ] || die "usage: stack.sh drift REPO SRC_GIT"
       cmd_drift "$(readlink -f "$2")" "$(readlink -f "$3")" ;;
*) die "usage: stack.sh open|save|fold|drift ..." ;;
esac
