#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# journal-full.sh - the journal's filesystem fills up part-way through a
# run.  The journals live on tiny loop-mounted ext2 images (1 KiB blocks,
# no reserved blocks) filled by the test until a chosen number of blocks
# is left (stat -f says exactly that many).
#
#   vhashify (three guests of $VAUDIT_FULL_FILES twin files, default 200,
#   unifytest.py build race) with half the blocks a complete run's journal
#   takes: exit 2 and one line "vhashify: 'JOURNAL': cannot write the
#   journal: No space left on device" (besides the journal's name at the
#   start); the journal holds whole records only (CRC32C computed here).
#   vaudit --undo while the disk is still full stops the same way (exit 2,
#   that line, whole records); once there is room, vaudit --undo exits 0 and
#   every name has its own inode and content again (unifytest.py).
#
#   vaudit --fix --image (a fixture of fixlib.sh) with 2 blocks left, and
#   --fix live on the loop-mounted fixture with 1 block left: exit 2, one
#   line naming the journal, whole records; with room again, --undo gives
#   every inode its old flags and mode (debugfs, fixtest.py compare).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs chattr losetup mount umount mountpoint timeout find truncate realpath stat fsfreeze
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

: "${VAUDIT_FULL_FILES:=200}"
N=$VAUDIT_FULL_FILES
NOSPC="No space left on device"

# tinyfs NAME: a 2 MiB ext2 (1 KiB blocks, no reserved blocks) mounted in $W
tinyfs() {
	local img=$W/$1.img
	truncate -s 2M "$img" &&
		mke2fs -q -F -t ext2 -b 1024 -m 0 -N 1024 "$img" >/dev/null 2>&1 &&
		mount_fixture "$img"
}

# fill MNT FREE: fill MNT until FREE blocks are left; fails unless stat -f
# then says FREE
fill() {
	local mnt=$1 free=$2 i
	rm -rf -- "$mnt/fill"
	mkdir -- "$mnt/fill" || return 1
	for ((i = 0; i < free; i++)); do
		head -c 1024 /dev/zero >"$mnt/fill/keep$i" || return 1
	done
	head -c 8M /dev/zero >"$mnt/fill/big" 2>/dev/null
	i=0
	while head -c 1024 /dev/zero >"$mnt/fill/s$i" 2>/dev/null; do
		i=$((i + 1))
	done
	rm -f -- "$mnt/fill"/keep*
	sync -f -- "$mnt"
	[ "$(stat -f -c %a -- "$mnt")" -eq "$free" ]
}

# has_line TAG LINE DESC: stderr of TAG has LINE exactly once
has_line() {
	local n
	n=$(grep -cxF -- "$2" "$W/$1.err")
	ok "$([ "$n" -eq 1 ]; echo $?)" "$3: stderr has the line \"$2\" ($n times)" ||
		diag "stderr: $(head -c 1500 "$W/$1.err" | cat -v)"
}

# ------------------------------------------------------------------ vhashify
race_fixture full "$N"
J0=$W/complete.journal
urun complete "$VHASHIFY" $FL $NP --journal "$J0" --manually --destination "$H" -- "${TREES[@]}"
rc_is complete 0 "a complete vhashify run (journal on a roomy filesystem)"
B0=$(wc -c <"$J0")
urun complete-undo "$VAUDIT" --undo "$J0" "$M"
rc_is complete-undo 0 "vaudit --undo of the complete run"
state "$M" complete.undone
chk_orig "complete run undone" "$S" "$M" "$C" orig complete.undone

JFS=$(tinyfs jfs) || bail_out "cannot make the tiny filesystem"
JFS=$(realpath -- "$JFS")
free=$((B0 / 2 / 1024))
fill "$JFS" "$free"
ok $? "the tiny filesystem is full but for $free blocks (half of the $B0 bytes of a complete journal)"
J=$JFS/vhashify.journal
urun full "$VHASHIFY" $FL $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
rc_is full 2 "vhashify with its journal's filesystem filling up stops"
grep -v "^vhashify: journal: " "$W/full.err" >"$W/full-msg.err"
one_line full-msg vhashify "vhashify on a full disk: besides the journal's name at the start" \
	"vhashify: '$J': cannot write the journal: $NOSPC"
is "$(jwhole "$J")" ok "vhashify on a full disk: the journal holds whole records only"
diag "the journal stopped at $(wc -c <"$J") bytes, $(grep -c '' "$J") records"

urun undo-full "$VAUDIT" --undo "$J" "$M"
rc_is undo-full 2 "vaudit --undo on the still full filesystem stops"
has_line undo-full "vaudit: '$J': cannot write the journal: $NOSPC" "vaudit --undo on a full disk"
is "$(jwhole "$J")" ok "vaudit --undo on a full disk: the journal still holds whole records only"

rm -rf -- "$JFS/fill"
undo_check "room again" "$J" "$M" "$S" "$C" orig
unmount_keep "$M"

# ------------------------------------------------------------------ vaudit --fix --image
img=$(make_fixture ext4 --v26 --size 16) && set_generations "$img" || bail_out "cannot build the fixture"
dump "$img" "$W/before.json"
RFS=$(tinyfs rfs) || bail_out "cannot make the second tiny filesystem"
RFS=$(realpath -- "$RFS")
fill "$RFS" 2
ok $? "the second tiny filesystem is full but for 2 blocks"
J=$RFS/image.journal
vrun fiximg --fix --image "$img" --prefix /vservers --journal "$J"
is "$RC" 2 "vaudit --fix --image with its journal's filesystem filling up stops" ||
	diag "stderr: $(head -c 1500 "$W/fiximg.err" | cat -v)"
has_line fiximg "vaudit: '$J': cannot write the journal: $NOSPC" "--fix --image on a full disk"
is "$(jwhole "$J")" ok "--fix --image on a full disk: the journal holds whole records only"
diag "the journal stopped at $(wc -c <"$J") bytes: $(grep -c '^I' "$J") intents, $(grep -c '^D' "$J") done"
rm -rf -- "$RFS/fill"
vrun undoimg --undo "$J" --image "$img"
rc_in "$RC" 0 "--undo --image of that journal, with room again" ||
	diag "stderr: $(head -c 1500 "$W/undoimg.err" | cat -v)"
dump "$img" "$W/undone.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/undone.json" --want old \
	--label "--fix --image on a full disk, then --undo"

# ------------------------------------------------------------------ vaudit --fix, live
mnt=$(mount_fixture "$img") || bail_out "cannot mount the fixture"
root=$mnt/vservers
fill "$RFS" 1
ok $? "the second tiny filesystem is full but for 1 block"
J=$RFS/live.journal
vrun fixlive --fix --journal "$J" "$root"
is "$RC" 2 "live vaudit --fix with its journal's filesystem filling up stops" ||
	diag "stderr: $(head -c 1500 "$W/fixlive.err" | cat -v)"
has_line fixlive "vaudit: '$J': cannot write the journal: $NOSPC" "live --fix on a full disk"
is "$(jwhole "$J")" ok "live --fix on a full disk: the journal holds whole records only"
diag "the journal stopped at $(wc -c <"$J") bytes: $(grep -c '^I' "$J") intents, $(grep -c '^D' "$J") done"
rm -rf -- "$RFS/fill"
vrun undolive --undo "$J" "$root"
rc_in "$RC" 0 "live --undo of that journal, with room again" ||
	diag "stderr: $(head -c 1500 "$W/undolive.err" | cat -v)"
unmount_keep "$mnt"
dump "$img" "$W/undone-live.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/undone-live.json" --want old \
	--label "live --fix on a full disk, then --undo"

done_testing
