#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Shows that the fuzzers can fail: each mutant is the parser or the table
# code with one deliberate bug, built into its fuzzer from a scratch copy
# (the tree is not touched). Every mutant must be caught within the time.
#
#   ./mutants.sh [--time SECONDS] [--tools-include DIR]

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TIME=30
TOOLS_INCLUDE=$HERE/../../include
while [ $# -gt 0 ]; do
	case $1 in
	--time) TIME=$2; shift 2 ;;
	--tools-include) TOOLS_INCLUDE=$2; shift 2 ;;
	*) echo "usage: $0 [--time SECONDS] [--tools-include DIR]" >&2; exit 2 ;;
	esac
done
TPM=$HERE/../../../drivers/char/tpm
tmp=$(mktemp -d /tmp/tpm2-fuzz-mutants.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The kernel files a mutant's copy holds: what the fuzzers compile, and
# the headers they include
FILES="tpm2-space.h tpm2-space-wire.h tpm2-space-parse.c"
FILES+=" tpm2-space-table.c tpm2-space-session.c"

# Each mutant is target~file~sed expression~what the bug is
MUTANTS=()
mutant() {	# target file sed-expression what
	MUTANTS+=("$1~$2~$3~$4")
}
mutant parse tpm2-space-parse.c \
	's/cmd->len - TPM_HEADER_SIZE);/cmd->len - TPM_HEADER_SIZE + 1);/' \
	"the command is read one byte past its size"
mutant parse tpm2-space-parse.c \
	's/cmd->len > bufsiz/cmd->len > bufsiz + 4/' \
	"a length field past the buffer is believed"
mutant parse tpm2-space-parse.c \
	's/if (cmd->nr_auths == TPM2_RM_MAX_AUTHS)/if (0)/' \
	"a fourth session overflows the arrays"
mutant parse tpm2-space-wire.h \
	's/r->left < n) {/r->left + 1 < n) {/' \
	"a field half past the end of its area is read"
mutant parse tpm2-space-parse.c \
	's/cc <= TPM2_RM_CC_LAST/cc < TPM2_RM_CC_LAST/' \
	"the last defined command code gets the RM's answer"
mutant table tpm2-space-session.c \
	's/if (state_is_owned(old) \&\& !state_is_owned(new))/if (0)/' \
	"a session that left its space (a tombstone, ...) still counts against its quota"
mutant table tpm2-space-session.c \
	's/nr_tombstones <= max/nr_tombstones < max/' \
	"one tombstone too many is trimmed"
mutant table tpm2-space-session.c \
	's/if (!oldest)/if (1)/' \
	"abandoning drops the newest session, not the oldest"
mutant table tpm2-space-table.c \
	's/} while (tpm2_rm_object_find(space, vhandle));/} while (0);/' \
	"a wrapped virtual handle is given twice"
mutant table tpm2-space-session.c \
	'/list_del(\&sess->node);/{n;s/kfree(sess->blob);//}' \
	"a deleted session's context leaks"
mutant table tpm2-space-table.c \
	's/if (held < limit)/if (held <= limit)/' \
	"a space gets one object more than its quota"

caught=0
n=0
for m in "${MUTANTS[@]}"; do
	IFS='~' read -r target file expr what <<<"$m"
	n=$((n + 1))
	dir=$tmp/$n
	mkdir -p "$dir"
	for f in $FILES; do
		cp "$TPM/$f" "$dir"/
	done
	sed -e "$expr" "$TPM/$file" >"$dir/$file"
	if cmp -s "$TPM/$file" "$dir/$file"; then
		echo "mutant $n: the edit did not apply ($what)"
		continue
	fi
	# the fuzzers' own Makefile, on the mutant's copy of the kernel files
	if ! make -s -C "$HERE" TPM="$dir" TOOLS_INCLUDE="$TOOLS_INCLUDE" \
		OUTPUT="$dir" "$dir/fuzz-$target" >"$dir/build.log" 2>&1; then
		echo "mutant $n: does not build ($what)"
		sed 's/^/    /' "$dir/build.log" | head -n 5
		continue
	fi
	mkdir -p "$dir/work"
	seeds=("$dir/work")
	[ "$target" = parse ] && seeds+=("$HERE/corpus")
	if "$dir/fuzz-$target" -max_total_time="$TIME" -artifact_prefix="$dir/" \
		"${seeds[@]}" >"$dir/log" 2>&1; then
		echo "mutant $n: NOT caught in ${TIME}s: $what"
	else
		caught=$((caught + 1))
		echo "mutant $n: caught ($what):" \
			"$(grep -m1 -E 'tpm2-fuzz:|ERROR:|runtime error' "$dir/log")"
	fi
done
echo "$caught of $n mutants caught"
[ "$caught" -eq "$n" ]
