# SPDX-License-Identifier: GPL-2.0-only
#
# Sourced by prepare-tree.sh and make-series.sh: the one way a stored
# patch becomes a commit.
#
# patches/*.patch are 'git format-patch' mails without an identity: no
# From: header and no Signed-off-by: trailer. Whoever writes the series
# is its author and signs it off, so the identity comes from that
# person's git configuration when the mails are applied.

# The identity git would commit with, without its timestamp; nothing
# when the runner has none.
series_ident() {
	git var GIT_COMMITTER_IDENT 2>/dev/null | sed 's/ [0-9]* [-+][0-9]*$//'
}

# The identity of commits that are never published (prepare-tree's build
# cache, an open stack): the runner's, or the local user's name on this
# machine when the runner has none.
series_local_ident() {
	local ident

	ident=$(series_ident)
	echo "${ident:-$(id -un) <$(id -un)@localhost>}"
}

# series_git_as IDENT GIT_ARGS...: git, committing as IDENT.
series_git_as() {
	local ident=$1 email

	shift
	email=${ident##*<}
	git -c init.defaultBranch=base -c advice.detachedHead=false \
		-c user.name="${ident% <*}" -c user.email="${email%>}" "$@"
}

# Refuse a stored patch that carries an identity of its own.
series_check_anonymous() {
	local p=$1

	if sed '/^---$/q' "$p" | grep -qE '^(From|Signed-off-by): '; then
		echo "$(basename "$p"): a stored patch has no From: or Signed-off-by:" \
			"(the series gets them from the git identity of whoever" \
			"writes it); remove them" >&2
		return 1
	fi
}

# series_am GIT_COMMAND IDENT PATCH [git am options]: apply a stored
# patch with git am, as a mail from IDENT.
series_am() {
	local git=$1 ident=$2 p=$3

	shift 3
	series_check_anonymous "$p" || return 1
	awk -v who="$ident" 'NR == 1 { print; print "From: " who; next } { print }' "$p" |
		$git am -q --keep-cr "$@"
}

# The folders that hold the overlay: the files we own, at their kernel
# paths. Most are new; a few replace an upstream file whole
# (drivers/char/tpm/tpm2-space.c).
OVERLAY_DIRS="drivers include Documentation tools"

# series_overlay REPO: the overlay's files, one path a line, sorted.
series_overlay() {
	local d

	for d in $OVERLAY_DIRS; do
		[ -d "$1/$d" ] || continue
		(cd "$1" && find "$d" -type f ! -name '*.o' ! -name '.*.cmd')
	done | LC_ALL=C sort
}

# series_added GIT_DIR TIP: the files that TIP adds to the base under the
# overlay's folders. Each must be in the overlay.
series_added() {
	git --git-dir="$1" diff --name-only --no-renames --diff-filter=A \
		base "$2" -- $OVERLAY_DIRS | LC_ALL=C sort
}

# series_drift REPO GIT_DIR TIP: how the overlay differs from TIP, one
# "M path" (differs), "A path" (not in the stack) or "D path" (added by
# the stack, not in the overlay) a line; nothing when they agree.
series_drift() {
	local repo=$1 gitdir=$2 tip=$3 f

	series_overlay "$repo" | while IFS= read -r f; do
		if ! git --git-dir="$gitdir" cat-file -e "$tip:$f" 2>/dev/null; then
			echo "A $f"
		elif ! git --git-dir="$gitdir" show "$tip:$f" | cmp -s - "$repo/$f"; then
			echo "M $f"
		fi
	done
	LC_ALL=C comm -13 <(series_overlay "$repo") <(series_added "$gitdir" "$tip") |
		sed 's/^/D /'
}
