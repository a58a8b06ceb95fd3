#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# journal-short.sh - vhashify whose journal write goes short and then
# fails (an LD_PRELOAD shim, shortwrite.c, built here with cc): the run
# stops with exit 2 and one line "vhashify: 'JOURNAL': cannot write the
# journal: REASON"; the journal holds only whole records, each with its
# right CRC32C (computed here), ending in a newline; vaudit --undo of it
# exits 0 and gives every name back its own inode and content (the
# unifytest.py ground truth), and a second --undo changes nothing.
#
# Three guests of $VAUDIT_SHORT_FILES (default 200) twin files
# (unifytest.py build race).  A complete run under the shim only counts
# the journal's writes (K); then the write that goes short is the 2nd (the
# first batch of intents), the K/2th and the Kth (the last: marks only),
# each followed by one failed write (EIO, EIO, ENOSPC) after which writes
# go through again, so a journal that writes a record twice or resumes in
# the middle of one is caught.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs chattr losetup mount umount mountpoint timeout find truncate cc realpath
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

: "${VAUDIT_SHORT_FILES:=200}"
N=$VAUDIT_SHORT_FILES

SO=$W/shortwrite.so
cc -shared -fPIC -o "$SO" "$top_srcdir/tests/integration/shortwrite.c" -ldl 2>"$W/cc.err" ||
	bail_out "cannot build the shim: $(head -c 500 "$W/cc.err")"

race_fixture short "$N"
JD=$(realpath -- "$W")

# shim TAG AT ERRNO JOURNAL: vhashify with write AT to JOURNAL short, the next failing
shim() {
	local tag=$1 at=$2 err=$3 j=$4
	urun "$tag" env LD_PRELOAD="$SO" SHORTWRITE_PATH="$j" SHORTWRITE_AT="$at" SHORTWRITE_FAIL=1 \
		SHORTWRITE_ERRNO="$err" SHORTWRITE_LOG="$W/$tag.log" \
		"$VHASHIFY" $FL $NP --journal "$j" --manually --destination "$H" -- "${TREES[@]}"
}

# ------------------------------------------------------------------ count the writes
J0=$JD/count.journal
shim count 0 EIO "$J0"
rc_is count 0 "a complete vhashify run under the shim (counting only)"
K=$(grep -c '' "$W/count.log")
diag "a complete run writes its journal in $K writes ($(wc -c <"$J0") bytes; bytes per write: $(awk '{ printf "%s ", $2 }' "$W/count.log"))"
is "$(jwhole "$J0")" ok "the complete run's journal: whole records"
urun count-undo "$VAUDIT" --undo "$J0" "$M"
rc_is count-undo 0 "vaudit --undo of the complete run"
state "$M" count.undone
chk_orig "complete run undone" "$S" "$M" "$C" orig count.undone
[ "$K" -ge 4 ] || bail_out "too few journal writes to cut ($K)"

# ------------------------------------------------------------------ short, then failing
for c in "2 EIO first-batch" "$((K / 2)) EIO middle" "$K ENOSPC last"; do
	read -r at err name <<<"$c"
	J=$JD/$name.journal
	case $err in
		EIO) why="Input/output error" ;;
		ENOSPC) why="No space left on device" ;;
	esac
	shim "$name" "$at" "$err" "$J"
	rc_is "$name" 2 "$name: write $at of $K short, then $err: vhashify stops"
	is "$(awk -v k="$at" '$1 == k { print ($3 > 0 && $3 < $2) ? "short" : "not short"; exit }' "$W/$name.log")" \
		short "$name: the shim made write $at short"
	grep -v "^vhashify: journal: " "$W/$name.err" >"$W/$name-msg.err"
	one_line "$name-msg" vhashify "$name: besides the journal's name at the start" \
		"vhashify: '$J': cannot write the journal: $why"
	is "$(jwhole "$J")" ok "$name: the journal holds whole records only"
	undo_check "$name" "$J" "$M" "$S" "$C" orig
	if grep -q torn "$W/undo.err"; then
		ok 1 "$name: the undo found no torn line"
		diag "$(head -c 500 "$W/undo.err")"
	else
		ok 0 "$name: the undo found no torn line"
	fi
done

done_testing
