#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# progress.sh - the progress line says how far an audit is where the total
# is known: an image audit (its inodes in use, from dumpe2fs), and a live
# audit of ROOTs audited completely before (the cache VAUDIT_CACHE_DIR/
# audit-sizes, "~" for an estimate).  VAUDIT_TEST_PROGRESS_ALL draws every
# progress line however soon; --progress draws them on a stderr that is
# not a terminal.
#   - image: every percentage is the entries of its line over the inodes in
#     use that dumpe2fs reports, and the last one is near 100;
#   - live, first run: no percentage; the cache then holds one line whose
#     count is the entries find(1) lists below ROOT;
#   - live, second run: "~N%" with N the entries over that count;
#   - a damaged cache (garbage, an overlong line) gives no percentage and
#     changes nothing else, and the run replaces it; a cache directory that
#     cannot be made changes nothing either.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd dumpe2fs find python3
. "$top_srcdir/tests/integration/fixlib.sh"

export VAUDIT_TEST_PROGRESS_ALL=1
export VAUDIT_CACHE_DIR=$W/cache
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
	ROOT=$MNT/vservers
	want=$(find "$ROOT" -xdev | wc -l)
	"$VAUDIT" --progress "$ROOT" >"$W/out" 2>"$W/err"
	rc_in "$?" "0 1" "live, first run"
	tr '\r' '\n' <"$W/err" | grep -q ' entries, '
	ok $? "live, first run: progress lines are drawn" || diag "$(head -c 300 "$W/err" | cat -v)"
	pcts "$W/err" >"$W/pcts"
	[ ! -s "$W/pcts" ]
	ok $? "live, first run: no percentage (nothing known yet)" || diag "$(cat "$W/pcts")"
	is "$(grep -c '' "$W/cache/audit-sizes" 2>/dev/null)" 1 "live: the cache has one line"
	is "$(cut -d' ' -f1 "$W/cache/audit-sizes" 2>/dev/null)" "$want" \
		"live: its count is the entries find lists below ROOT ($want)"
	"$VAUDIT" --progress "$ROOT" >"$W/out2" 2>"$W/err"
	rc_in "$?" "0 1" "live, second run"
	cmp -s "$W/out" "$W/out2"
	ok $? "live, second run: the same findings"
	pcts "$W/err" >"$W/pcts"
	python3 - "$W/pcts" "$want" <<'EOF'
import sys
total = int(sys.argv[2])
rows = [l.split() for l in open(sys.argv[1])]
bad = [r for r in rows if not r[1].startswith("~") or int(r[1][1:]) != round(100 * int(r[0]) / total)]
sys.exit(1 if bad or not rows else 0)
EOF
	ok $? "live, second run: \"~N%\", N the entries over the last run's $want" || diag "$(cat "$W/pcts")"
	is "$(grep -c '' "$W/cache/audit-sizes")" 1 "live: still one line for the same ROOT"

	# a damaged cache: no percentage, nothing else changes
	{ printf 'garbage\n12 zz\n'; head -c 5000 /dev/zero | tr '\0' 7; printf '\n'; } >"$W/cache/audit-sizes"
	"$VAUDIT" --progress "$ROOT" >"$W/out3" 2>"$W/err"
	rc=$?
	cmp -s "$W/out" "$W/out3"
	ok $? "damaged cache: the same findings (exit $rc)"
	pcts "$W/err" >"$W/pcts"
	[ ! -s "$W/pcts" ]
	ok $? "damaged cache: no percentage" || diag "$(cat "$W/pcts")"
	grep -qx "$want [0-9a-f]\{16\}" "$W/cache/audit-sizes"
	ok $? "damaged cache: replaced by a good one after the run" || diag "$(head -c 200 "$W/cache/audit-sizes")"

	# an unwritable cache directory: the audit does not care
	rm -rf "$W/cache" && printf 'x\n' >"$W/cache"
	"$VAUDIT" "$ROOT" >"$W/out4" 2>"$W/err"
	rc_in "$?" "0 1" "cache directory that is a file: the audit runs"
	cmp -s "$W/out" "$W/out4" && [ ! -s "$W/err" ]
	ok $? "... with the same findings and nothing on stderr" || diag "$(cat "$W/err")"
	unmount_keep "$MNT"
else
	ok 1 "mount the image"
fi

done_testing
