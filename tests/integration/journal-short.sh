#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# journal-short.sh - vhashify whose journal write goes short and then
# fails, on a real filesystem that fills up: the journal alone on a tmpfs
# sized so that one chosen write finds room for part of its bytes only (the
# kernel writes what fits and returns the short count) and the next finds
# none (ENOSPC).  The run stops with exit 2 and one line "vhashify:
# 'JOURNAL': cannot write the journal: No space left on device"; the
# journal holds only whole records, each with its right CRC32C (computed
# here), ending in a newline; vaudit --undo of it exits 0 and gives every
# name back its own inode and content (the unifytest.py ground truth), and
# a second --undo changes nothing.
#
# Three guests of $VAUDIT_SHORT_FILES (default 200) twin files
# (unifytest.py build race).  A complete run under strace gives the sizes of
# the journal's K writes; then the write that goes short is the 2nd (the
# first batch of intents), the K/2th and the last that spans more than two
# pages (a late batch).  After the failure the journal is cut back to its
# last whole record, which frees room again: a journal that went on
# writing, wrote a record twice or resumed in the middle of one is caught.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs chattr losetup mount umount mountpoint timeout find truncate realpath strace
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

: "${VAUDIT_SHORT_FILES:=200}"
N=$VAUDIT_SHORT_FILES
PAGE=$(getconf PAGESIZE)

race_fixture short "$N"

# jfs TAG BYTES: a tmpfs of BYTES (whole pages) for one run's journal; prints its path
jfs() {
	local d
	d=$(mktemp -d "$W/jfs-$1.XXXXXX") || return 1
	mount -t tmpfs -o "size=$2,mode=0700" "vaudit-jfs-$1" "$d" || return 1
	defer _t_unmount "$d"
	realpath -- "$d"        # as strace -y names the files in it
}

# traced TAG JOURNAL: vhashify with its journal JOURNAL, its writes traced
traced() {
	local tag=$1 j=$2
	urun "$tag" strace -f -y -qq -o "$W/$tag.trace" -e trace=write,pwrite64 \
		"$VHASHIFY" $FL $NP --journal "$j" --manually --destination "$H" -- "${TREES[@]}"
}

# jwrites TAG DIR: the writes to files in DIR, one line each: "ASKED RESULT"
jwrites() {
	python3 - "$W/$1.trace" "$2" <<'PY'
import re, sys
d = sys.argv[2].rstrip('/') + '/'
pat = re.compile(r'^\d+\s+p?write(?:64)?\(\d+<([^>]*)>(?:\(deleted\))?, .*, (\d+)(?:, \d+)?\) += (-?\d+)')
for line in open(sys.argv[1], errors='replace'):
    m = pat.match(line)
    if m and m.group(1).startswith(d):
        print(m.group(2), m.group(3))
PY
}

# ------------------------------------------------------------------ count the writes
D0=$(jfs count $((64 << 20))) || bail_out "cannot mount a tmpfs for the journal"
J0=$D0/count.journal
traced count "$J0"
rc_is count 0 "a complete vhashify run, its journal on a tmpfs of its own"
jwrites count "$D0" >"$W/count.writes"
K=$(grep -c '' "$W/count.writes")
diag "a complete run writes its journal in $K writes ($(wc -c <"$J0") bytes; bytes per write: $(awk '{ printf "%s ", $1 }' "$W/count.writes"))"
is "$(awk '$1 != $2' "$W/count.writes")" "" "the complete run: every journal write whole"
is "$(jwhole "$J0")" ok "the complete run's journal: whole records"
urun count-undo "$VAUDIT" --undo "$J0" "$M"
rc_is count-undo 0 "vaudit --undo of the complete run"
state "$M" count.undone
chk_orig "complete run undone" "$S" "$M" "$C" orig count.undone
[ "$K" -ge 4 ] || bail_out "too few journal writes to cut ($K)"
# the last write that spans more than two pages: one that can be cut in its middle
LATE=$(awk -v p="$PAGE" '$1 > 2 * p { k = NR } END { print k + 0 }' "$W/count.writes")
[ "$LATE" -ge 2 ] || bail_out "no journal write of more than two pages"

# ------------------------------------------------------------------ short, then failing
# the tmpfs holds the writes before AT and half of write AT, in whole pages
for c in "2 first-batch" "$((K / 2)) middle" "$LATE late"; do
	read -r at name <<<"$c"
	size=$(awk -v k="$at" -v p="$PAGE" 'NR < k { b += $1 } NR == k { b += int($1 / 2) } END { print int((b + p - 1) / p) * p }' \
		"$W/count.writes")
	D=$(jfs "$name" "$size") || bail_out "cannot mount a tmpfs for the journal"
	J=$D/$name.journal
	traced "$name" "$J"
	rc_is "$name" 2 "$name: the journal's tmpfs ($size bytes) fills during write $at of $K: vhashify stops"
	jwrites "$name" "$D" >"$W/$name.writes"
	is "$(awk -v k="$at" 'NR == k { print ($2 > 0 && $2 < $1) ? "short" : "not short (" $2 " of " $1 ")"; exit }' \
		"$W/$name.writes")" short "$name: write $at went short (the kernel's count)"
	is "$(awk -v k="$at" 'NR == k + 1 { print $2; exit }' "$W/$name.writes")" -1 \
		"$name: the write after it failed (ENOSPC)"
	grep -v "^vhashify: journal: " "$W/$name.err" >"$W/$name-msg.err"
	one_line "$name-msg" vhashify "$name: besides the journal's name at the start" \
		"vhashify: '$J': cannot write the journal: No space left on device"
	is "$(jwhole "$J")" ok "$name: the journal holds whole records only"
	# room again for the undo's marks (journal-full.sh undoes on the full disk)
	mount -o remount,size=$((64 << 20)) "$D" || bail_out "cannot grow the journal's tmpfs"
	undo_check "$name" "$J" "$M" "$S" "$C" orig
	if grep -q torn "$W/undo.err"; then
		ok 1 "$name: the undo found no torn line"
		diag "$(head -c 500 "$W/undo.err")"
	else
		ok 0 "$name: the undo found no torn line"
	fi
done

done_testing
