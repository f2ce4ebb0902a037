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
CLANG=${CLANG:-$(command -v clang-14 || echo clang)}
tmp=$(mktemp -d /tmp/tpm2-fuzz-mutants.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The files of each fuzzer's target
SRCS_parse="tpm2-space-parse.c"
SRCS_table="tpm2-space-table.c tpm2-space-session.c"

# Each mutant is target~file~sed expression~what the bug is
MUTANTS=()
mutant() {	# target file sed-expression what
	MUTANTS+=("$1~$2~$3~$4")
}
mutant parse tpm2-space-parse.c \
	's/size > cmd->len - off)/size > cmd->len - off + 1)/' \
	"an authorization area one byte past the command is taken"
mutant parse tpm2-space-parse.c \
	's/cmd->len > bufsiz/cmd->len > bufsiz + 4/' \
	"a length field past the buffer is believed"
mutant parse tpm2-space-parse.c \
	's/cmd->nr_auths == TPM2_RM_MAX_AUTHS || //' \
	"a fourth session overflows the arrays"
mutant parse tpm2-space-parse.c \
	's/if (\*off + 2 > end)/if (*off + 1 > end)/' \
	"a TPM2B size half outside the area is read"
mutant parse tpm2-space-parse.c \
	's/cc <= TPM2_RM_CC_LAST/cc < TPM2_RM_CC_LAST/' \
	"the last defined command code gets the RM's answer"
mutant table tpm2-space-session.c \
	's/if (state_is_owned(old) \&\& !state_is_owned(new))/if (0)/' \
	"a session that leaves its space (tombstone, abandoned, gone) still counts against its quota"
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

caught=0
n=0
for m in "${MUTANTS[@]}"; do
	IFS='~' read -r target file expr what <<<"$m"
	n=$((n + 1))
	dir=$tmp/$n
	mkdir -p "$dir"
	srcs=SRCS_$target
	cp "$TPM"/tpm2-space.h "$dir"/
	for f in ${!srcs}; do
		cp "$TPM/$f" "$dir"/
	done
	sed -e "$expr" "$TPM/$file" >"$dir/$file"
	if cmp -s "$TPM/$file" "$dir/$file"; then
		echo "mutant $n: the edit did not apply ($what)"
		continue
	fi
	if ! (cd "$HERE" && $CLANG -include include/tpm.h -Iinclude \
		-I"$TOOLS_INCLUDE" -I. -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o "$dir/fuzz" "fuzz-$target.c" fake-chip.c \
		$(printf "$dir/%s " ${!srcs})) \
		>"$dir/build.log" 2>&1; then
		echo "mutant $n: does not build ($what)"
		continue
	fi
	mkdir -p "$dir/work"
	seeds=("$dir/work")
	[ "$target" = parse ] && seeds+=("$HERE/corpus")
	if "$dir/fuzz" -max_total_time="$TIME" -artifact_prefix="$dir/" \
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
