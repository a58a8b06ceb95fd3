#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# progress.sh - the progress line says how far an audit is where the total
# is known: an image audit (its inodes in use, from dumpe2fs), and a live
# audit of the root of a filesystem, once its inode tables are read (the
# entries they count, "~" for an estimate).  VAUDIT_TEST_PROGRESS_ALL draws
# every progress line however soon; --progress draws them on a stderr that
# is not a terminal.
#   - image: every percentage is the entries of its line over the inodes in
#     use that dumpe2fs reports;
#   - live, ROOT the mount point: "~N%" with N the entries over the names
#     find(1) lists on the filesystem (find -xdev | wc -l);
#   - live, ROOT a directory below the mount point: no percentage (the
#     tables count the whole filesystem);
#   - neither writes anything (readonly.sh checks every audit mode for that).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd dumpe2fs find python3
. "$top_srcdir/tests/integration/fixlib.sh"

export VAUDIT_TEST_PROGRESS_ALL=1
N=20000         # entries: a progress line every 4096 (live), 16384 (image)

IMG=$W/files.img
files_image "$IMG" "$N" 300
ok $? "an ext4 image with $N files in 3 guests" || bail_out "cannot build the image"

# pcts FILE: the progress lines of stderr FILE as "ENTRIES PERCENT" ("~" kept)
pcts() {
	tr '\r' '\n' <"$1" | sed -n 's/^.*vaudit: \([0-9]*\) entries (\(~\{0,1\}[0-9]*\)%).*$/\1 \2/p'
}

# ---------------------------------------------------------------- image
used=$(dumpe2fs -h "$IMG" 2>/dev/null | awk -F: '
	/^Inode count/ { n = $2 } /^Free inodes/ { f = $2 } END { print n - f }')
"$VAUDIT" --progress --image "$IMG" >"$W/out" 2>"$W/err"
rc_in "$?" "0 1" "image audit with --progress"
pcts "$W/err" >"$W/pcts"
[ -s "$W/pcts" ] && ! grep -q '~' "$W/pcts"
ok $? "image: the progress lines have an exact percentage" || diag "$(tr '\r' '\n' <"$W/err" | head)"
python3 - "$W/pcts" "$used" <<'EOF'
import sys
used = int(sys.argv[2])
rows = [l.split() for l in open(sys.argv[1])]
bad = [r for r in rows if int(r[1]) != round(100 * int(r[0]) / used)]
sys.exit(1 if bad or not rows else 0)
EOF
ok $? "image: each percentage is its entries over the $used inodes in use (dumpe2fs)" ||
	diag "$(cat "$W/pcts")"

# ---------------------------------------------------------------- live
if MNT=$(mount_fixture "$IMG"); then
	want=$(find "$MNT" -xdev | wc -l)
	"$VAUDIT" --progress "$MNT" >"$W/out" 2>"$W/err"
	rc_in "$?" "0 1" "live audit of the mount point"
	pcts "$W/err" >"$W/pcts"
	python3 - "$W/pcts" "$want" <<'EOF'
import sys
total = int(sys.argv[2])
rows = [l.split() for l in open(sys.argv[1])]
bad = [r for r in rows if not r[1].startswith("~") or int(r[1][1:]) != round(100 * int(r[0]) / total)]
sys.exit(1 if bad or not rows else 0)
EOF
	ok $? "live, ROOT the mount point: \"~N%\", N the entries over the $want names find lists" ||
		diag "$(cat "$W/pcts")"
	"$VAUDIT" --progress "$MNT/vservers" >"$W/out" 2>"$W/err"
	rc_in "$?" "0 1" "live audit of a directory below the mount point"
	tr '\r' '\n' <"$W/err" | grep -q ' entries, '
	ok $? "live, ROOT below the mount point: progress lines are drawn" || diag "$(head -c 300 "$W/err" | cat -v)"
	pcts "$W/err" >"$W/pcts"
	[ ! -s "$W/pcts" ]
	ok $? "live, ROOT below the mount point: no percentage" || diag "$(cat "$W/pcts")"
	unmount_keep "$MNT"
else
	ok 1 "mount the image"
fi

done_testing
