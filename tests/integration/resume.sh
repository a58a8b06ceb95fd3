#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# resume.sh - vaudit --resume JOURNAL --image IMG on the three states an
# intent without its D record can meet (the journal of a complete --fix with
# its last D record removed, at a line boundary, and the inode of that
# intent set with debugfs):
#
#   current == new    the intent is marked done (a D record appended), the
#                     image unchanged, exit 0
#   current == old    the change is applied (debugfs: new state), exit 0;
#                     --dry-run first changes nothing
#   anything else     reported (naming the path), the inode untouched, exit 1
#
# plus --resume of a journal whose intents are all done (nothing to do,
# exit 0, image unchanged).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd sha256sum
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

base=$(make_fixture ext4 --v26 --size 16) && set_generations "$base" || bail_out "cannot build the fixture"
dump "$base" "$W/before.json"
vrun audit --image "$base" --prefix /vservers --json
python3 "$FT" expect --before "$W/before.json" --audit "$W/audit.out" \
	--root-ino "$(img_root_ino "$base" /vservers)" --out "$W/expect.json" >/dev/null
img=$W/fixed.img
cp --sparse=always -- "$base" "$img"
J=$W/full.journal
vrun fix --fix --image "$img" --prefix /vservers --journal "$J"
rc_in "$RC" 0 "--fix --image" || bail_out "no journal: $(head -c 500 "$W/fix.err")"
tail -n 1 "$J" | grep -q '^D' || bail_out "the last journal line is not a D record"
# the last intent: its inode, old and new flags and mode, path
read -r SEQ INO OLDF OLDM NEWF NEWM P64 < <(awk -F'\t' '$1 == "I" { l = $2 " " $4 " " $6 " " $7 " " $8 " " $9 " " $11 } END { print l }' "$J")
PATHNAME=$(printf '%s' "$P64" | base64 -d)
diag "last intent: seq $SEQ inode $INO ($PATHNAME): $OLDF/$OLDM -> $NEWF/$NEWM"
head -n -1 "$J" >"$W/nod.journal"

fixed_json=$W/fixed.json
dump "$img" "$fixed_json"

case_img() { # NAME FLAGS MODE: a copy of the fixed image with inode $INO set
	local c=$W/$1.img
	cp --sparse=always -- "$img" "$c"
	run_debugfs -w -f - -- "$c" >/dev/null 2>&1 <<EOF
set_inode_field <$INO> flags $2
set_inode_field <$INO> mode 0$3
EOF
	printf '%s\n' "$c"
}
# mode in debugfs set_inode_field is the whole i_mode: keep the type bits
TYPEBITS=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["inodes"][sys.argv[2]]; print("100000" if d["type"]=="regular" else "40000")' "$W/before.json" "$INO")
fullmode() { printf '%o' $((8#$TYPEBITS | 8#$1)); }

state_of() { # IMG: "flags/mode" of inode $INO
	run_debugfs -R "stat <$INO>" -- "$1" 2>/dev/null |
		sed -n '1s/.*Mode: *\([0-7]*\) *Flags: \(0x[0-9a-f]*\).*/\2 \1/p' |
		{ read -r f m; printf '0x%08x/%o' "$f" "$((8#$m))"; }
}
NEWSTATE=$(printf '0x%08x/%o' "$NEWF" "$((8#$NEWM))")
OLDSTATE=$(printf '0x%08x/%o' "$OLDF" "$((8#$OLDM))")

# ---- current == new: marked done
cp -- "$W/nod.journal" "$W/a.journal"
cp --sparse=always -- "$img" "$W/a.img"
sum=$(img_sum "$W/a.img")
vrun a --resume "$W/a.journal" --image "$W/a.img"
rc_in "$RC" 0 "intent without D, inode already new: --resume"
is "$(img_sum "$W/a.img")" "$sum" "intent without D, inode already new: image unchanged"
tail -n 1 "$W/a.journal" | grep -q "^D	$SEQ	" 
ok $? "intent without D, inode already new: a D record for seq $SEQ appended"
py_checks python3 "$FT" journal --journal "$W/a.journal" --all-done --label "after --resume"

# ---- current == old: applied (dry run first)
cp -- "$W/nod.journal" "$W/b.journal"
b=$(case_img b "$OLDF" "$(fullmode "$OLDM")")
is "$(state_of "$b")" "$OLDSTATE" "intent without D: inode set back to its old state with debugfs"
sum=$(img_sum "$b")
vrun bdry --resume "$W/b.journal" --image "$b" --dry-run
rc_in "$RC" 1 "intent without D, inode old: --resume --dry-run (something would change)"
is "$(img_sum "$b")" "$sum" "intent without D, inode old: --resume --dry-run changes nothing"
vrun b --resume "$W/b.journal" --image "$b"
rc_in "$RC" 0 "intent without D, inode old: --resume"
is "$(state_of "$b")" "$NEWSTATE" "intent without D, inode old: --resume applied the change"
py_checks python3 "$FT" compare --before "$W/before.json" --after-image "$b" --want new \
	--expect "$W/expect.json" --label "after --resume applied the last intent"
fsck_clean "$b" "after --resume"

# ---- anything else: reported, untouched
cp -- "$W/nod.journal" "$W/c.journal"
OTHERF=$(printf '0x%08x' $((NEWF | 0x1)))
c=$(case_img c "$OTHERF" "$(fullmode "$NEWM")")
want=$(state_of "$c")
vrun c --resume "$W/c.journal" --image "$c"
is "$RC" 1 "intent without D, inode in a third state: --resume exits 1"
is "$(state_of "$c")" "$want" "intent without D, inode in a third state: untouched"
grep -qF -- "$PATHNAME" "$W/c.err" || grep -qF -- "$INO" "$W/c.err"
ok $? "intent without D, inode in a third state: reported on stderr" || diag "stderr: $(head -c 600 "$W/c.err" | cat -v)"

# ---- all done: nothing to do
cp -- "$J" "$W/d.journal"
cp --sparse=always -- "$img" "$W/d.img"
sum=$(img_sum "$W/d.img")
vrun d --resume "$W/d.journal" --image "$W/d.img"
rc_in "$RC" 0 "every intent done: --resume"
is "$(img_sum "$W/d.img")" "$sum" "every intent done: --resume changes nothing"

done_testing
