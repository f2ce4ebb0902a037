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

# Refuse a stored patch that carries an identity of its own.
series_check_anonymous() {
	local p=$1

	if sed '/^---$/q' "$p" | grep -qE '^(From|Signed-off-by): '; then
		echo "$(basename "$p"): a stored patch has no From: or Signed-off-by: (the series gets them from the git identity of whoever writes it); remove them" >&2
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
