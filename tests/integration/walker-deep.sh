#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# walker-deep.sh - a directory chain 10,000 levels deep (path > 40 KiB,
# ten times PATH_MAX) with a 2.4 unified file (i+t) at the bottom, on a
# loop-mounted ext4 fixture: vaudit must find it, print its full path, and
# do so with only 64 file descriptors; then the same with --image on the
# unmounted image (256 KiB of stack: no recursion over the depth).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 chattr losetup timeout

VT=$top_srcdir/tests/integration/vatest.py
W=$TEST_TMP
DEPTH=10000
MINLEN=$((4096 * 10))

img=$(make_fixture ext4)
ok $? "build ext4 fixture" || bail_out "cannot build the fixture"
mnt=$(mount_fixture "$img")
ok $? "mount fixture" || bail_out "cannot mount the fixture"
ROOT=$mnt/vservers

# 10,000 x "deepdir" (8 bytes with the slash) = 80,000 bytes of path
ino=$(python3 "$VT" deepchain "$ROOT/g1" "$DEPTH" deepdir 2>"$W/chain.err")
ok $? "create a $DEPTH-level chain with an i+t file at the bottom (inode $ino)" ||
	bail_out "cannot create the chain: $(cat "$W/chain.err")"

for lim in 1024 64; do
	(ulimit -n "$lim" && exec timeout 120 "$VAUDIT" --json "$ROOT") >"$W/deep-$lim.json" 2>"$W/deep-$lim.err"
	rc=$?
	is "$rc" 1 "ulimit -n $lim: vaudit exits 1 (findings)" || diag "stderr: $(head -c 2000 "$W/deep-$lim.err" | cat -v)"
	grep -q "^vaudit: '" "$W/deep-$lim.err"
	ok $((! $?)) "ulimit -n $lim: no per-entry errors on stderr" || diag "$(head -n 5 "$W/deep-$lim.err" | cut -c1-300 | cat -v)"
	py_checks python3 "$VT" deepcheck --root "$ROOT" --json "$W/deep-$lim.json" \
		--ino "$ino" --minlen "$MINLEN" --label "ulimit -n $lim"
done

# the walk must not recurse on the C stack: 256 KiB of stack is plenty for
# an iterative walker and far too little for 10,000 recursive frames
(ulimit -s 256 -n 64 && exec timeout 120 "$VAUDIT" --json "$ROOT") >"$W/deep-stack.json" 2>"$W/deep-stack.err"
is "$?" 1 "ulimit -s 256 -n 64: vaudit exits 1 (no stack overflow)" || diag "stderr: $(head -c 500 "$W/deep-stack.err" | cat -v)"
py_checks python3 "$VT" deepcheck --root "$ROOT" --json "$W/deep-stack.json" \
	--ino "$ino" --minlen "$MINLEN" --label "ulimit -s 256"

# text and -0 output handle the long path too
(ulimit -n 64 && exec timeout 120 "$VAUDIT" --only legacy-iunlink "$ROOT") >"$W/deep.txt" 2>/dev/null
is "$?" 1 "text output, ulimit -n 64: exit 1"
n=$(awk -v m="$MINLEN" 'length($0) > m' "$W/deep.txt" | grep -c deepdir)
is "$n" 1 "text output has the one line of the deep file, longer than $MINLEN bytes"

(ulimit -n 64 && exec timeout 120 "$VAUDIT" -0 --only legacy-iunlink "$ROOT") >"$W/deep.null" 2>/dev/null
is "$?" 1 "-0 output, ulimit -n 64: exit 1"
n=$(tr '\0' '\n' <"$W/deep.null" | awk -v m="$MINLEN" 'length($0) > m' | grep -c deepdir)
is "$n" 1 "-0 output has the deep path"

# the image back end on the same tree: unmounted, offline, same limits
unmount_keep "$mnt"
ok $? "unmount the fixture for the image audit"
(ulimit -s 256 -n 64 && exec timeout 120 "$VAUDIT" --image "$img" --prefix /vservers --json) \
	>"$W/deep-image.json" 2>"$W/deep-image.err"
is "$?" 1 "--image, ulimit -s 256 -n 64: vaudit exits 1 (no stack overflow)" ||
	diag "stderr: $(head -c 500 "$W/deep-image.err" | cat -v)"
grep -q "^vaudit: '" "$W/deep-image.err"
ok $((! $?)) "--image: no errors on stderr" || diag "$(head -n 5 "$W/deep-image.err" | cut -c1-300 | cat -v)"
if rmnt=$(mount_fixture_ro "$img"); then
	py_checks python3 "$VT" deepcheck --root "$rmnt/vservers" --prefix /vservers --json "$W/deep-image.json" \
		--ino "$ino" --minlen "$MINLEN" --label "--image ulimit -s 256"
else
	ok 1 "mount the fixture read-only to resolve the image paths"
fi

done_testing
