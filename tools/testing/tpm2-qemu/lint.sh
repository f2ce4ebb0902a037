#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# lint.sh REPO SRC KOUT
#
# The overlay first: it must be the end of the stack in patches/
# (stack.sh drift). Then the kernel's own checks, on our files only:
# checkpatch --strict on every C file we own, kernel-doc -none -Wall on
# those of the kernel, and that every function of theirs that is not
# static has a kernel-doc comment, then a W=1 build with sparse (C=2) of
# the kernel directories that hold them, whose findings are filtered
# down to our files, and that the resource manager's objects depend on
# each other one way only (layers.py). KOUT is a build folder of its
# own: its config adds KUnit, so that the test files are compiled too.
# Prints each finding and "lint: N findings"; exits non-zero when there
# is any.

set -u

[ $# -eq 3 ] || { echo "usage: lint.sh REPO SRC KOUT" >&2; exit 2; }
here=$(dirname "$(readlink -f "$0")")
repo=$(readlink -f "$1") src=$(readlink -f "$2") kout=$3
mkdir -p "$kout"
kout=$(readlink -f "$kout")
findings=0

# prepare-tree applied patches/ in SRC's git directory, SRC.git.
if ! "$here/stack.sh" drift "$repo" "$src.git"; then
	findings=$((findings + 1))
fi

cfiles=$(cd "$repo" && find drivers include tools/testing/selftests \
		\( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
kfiles=$(printf '%s\n' $cfiles | grep -E '^(drivers|include)/')

# Debian's python3 first: checkpatch's SPDX check needs its python3-ply.
out=$(cd "$repo" && PATH=/usr/bin:$PATH "$src/scripts/checkpatch.pl" --strict --terse --no-tree \
	--show-types -f $cfiles 2>&1 | grep -E ': (ERROR|WARNING|CHECK):')
if [ -n "$out" ]; then
	echo "$out"
	findings=$((findings + $(echo "$out" | wc -l)))
fi

# kernel-doc's own warnings (-Wall: parameters, return values, members)
out=$(cd "$repo" && "$src/scripts/kernel-doc" -none -Wall $kfiles 2>&1)
if [ -n "$out" ]; then
	echo "$out"
	findings=$((findings + $(echo "$out" | wc -l)))
fi

# kernel-doc says nothing about a function without a comment: a function
# definition at the start of a line that is not static must follow one
# that opens with "/**".
out=$(cd "$repo" && awk '
	FNR == 1 { doc = 0 }
	/^\/\*\*/ { doc = 1 }
	/^\/\*([^*]|$)/ { doc = 0 }
	/^[A-Za-z_][A-Za-z0-9_ *]*[ *]\**[a-z_][a-z0-9_]*\(/ &&
	!/^(static|EXPORT_|MODULE_|module_|DEFINE_|TRACE_|DECLARE_)/ &&
	!/;[[:space:]]*$/ {
		name = $0
		sub(/\(.*/, "", name)
		sub(/.*[ *]/, "", name)
		if (!doc)
			printf "%s:%d: %s() has no kernel-doc\n", FILENAME, FNR, name
	}
	/^}/ || /^[A-Za-z_].*;[[:space:]]*$/ { doc = 0 }
	' $(printf '%s\n' $kfiles | grep '\.c$'))
if [ -n "$out" ]; then
	echo "$out"
	findings=$((findings + $(echo "$out" | wc -l)))
fi

# Only the directories of our kernel files get sparse and W=1.
dirs=$(printf '%s\n' $kfiles | xargs -r -n1 dirname | sort -u)
if [ -n "$dirs" ]; then
	if [ ! -f "$kout/.config" ] ||
	   [ "$repo/Kconfig" -nt "$kout/.config" ] ||
	   [ "$here/lint.config" -nt "$kout/.config" ]; then
		"$here/configure-kernel.sh" "$src" "$kout" "$repo/Kconfig" \
			"$here/lint.config" >/dev/null || exit 1
	fi
	make -s -C "$src" O="$kout" ARCH=x86_64 -j"$(nproc)" prepare ||
		exit 1
	log=$(mktemp)
	make -s -C "$src" O="$kout" ARCH=x86_64 -j"$(nproc)" C=2 W=1 \
		$(printf '%s/ ' $dirs) >"$log" 2>&1
	rc=$?
	out=$(grep -E "($(printf '%s\n' $kfiles | paste -sd'|'))" "$log" |
	      grep -E 'warning|error')
	if [ -n "$out" ] || [ $rc -ne 0 ]; then
		echo "${out:-$(tail -n 20 "$log")}"
		findings=$((findings + $(echo "${out:-x}" | wc -l)))
	fi
	rm -f "$log"

	# The resource manager's files call one way, in the order of the
	# document's table of files (layers.py); the benchmark is a test,
	# which calls them all.
	objs=$(ls "$kout"/drivers/char/tpm/tpm2-space*.o 2>/dev/null |
	       grep -v /tpm2-space-bench.o)
	out=$("$here/layers.py" \
		--doc "$repo/Documentation/security/tpm/tpm-space.rst" $objs 2>&1)
	if [ -n "$out" ] || [ -z "$objs" ]; then
		echo "${out:-layers: no tpm2-space objects in $kout}"
		findings=$((findings + $(echo "${out:-x}" | wc -l)))
	fi
fi

echo "lint: $findings findings (checkpatch --strict, kernel-doc, sparse C=2, W=1) on our files"
[ $findings -eq 0 ]
