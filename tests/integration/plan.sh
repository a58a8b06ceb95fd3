#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# plan.sh - vaudit --plan FILE and vaudit --fix --plan FILE on ext4 --v26
# fixture images, against debugfs ground truth:
#
#   * --plan writes JSON Lines (kind, action, path/path_b64, dev, ino,
#     generation, flags, mode, new_flags, new_mode), one item per expected
#     action, with the state debugfs shows and the target state the rules
#     give; the image is unchanged
#   * --fix --plan applies exactly the plan (also a reviewed plan holding
#     every second item: the others stay as they are)
#   * an item whose inode changed between plan and fix (flags edited with
#     debugfs, or its generation) is refused: exit 1, the inode keeps the
#     edited state, every other item applied
#   * malformed plans (a garbage line, missing fields, wrong types, a
#     non-object, a bad flags string, an unknown kind, a binary file, a
#     missing file): one line on stderr naming the file, exit 2, the image
#     unchanged (sha256)
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd sha256sum
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

img=$(make_fixture ext4 --v26 --size 16) && set_generations "$img" || bail_out "cannot build the fixture"
cp --sparse=always -- "$img" "$W/pristine.img"
fresh() { # copy of the pristine fixture
	cp --sparse=always -- "$W/pristine.img" "$1"
}
ri=$(img_root_ino "$img" /vservers)
dump "$img" "$W/before.json"
vrun audit --image "$img" --prefix /vservers --json
cp "$W/audit.out" "$W/audit.json"
python3 "$FT" expect --before "$W/before.json" --audit "$W/audit.json" --root-ino "$ri" --out "$W/expect.json" >/dev/null
python3 "$FT" expect --before "$W/before.json" --audit "$W/audit.json" --root-ino "$ri" --only legacy-notail \
	--out "$W/expect-notail.json" >/dev/null

# ---- the plan
sum0=$(img_sum "$img")
P=$W/plan.jsonl
vrun plan --plan "$P" --image "$img" --prefix /vservers
rc_in "$RC" "0 1" "--plan --image" || diag "stderr: $(head -c 800 "$W/plan.err" | cat -v)"
is "$(img_sum "$img")" "$sum0" "--plan leaves the image unchanged"
py_checks python3 "$FT" plan --plan "$P" --before "$W/before.json" --expect "$W/expect.json" --label "plan" \
	--header image --uuid "$(img_uuid "$img")" --source "$img"
vrun plan2 --plan "$W/plan-notail.jsonl" --image "$img" --prefix /vservers --only legacy-notail
rc_in "$RC" "0 1" "--plan --only legacy-notail"
py_checks python3 "$FT" plan --plan "$W/plan-notail.jsonl" --before "$W/before.json" \
	--expect "$W/expect-notail.json" --label "plan --only legacy-notail"
cp -- "$P" "$W/plan.keep"
vrun plan3 --plan "$P" --image "$img" --prefix /vservers
# not in the contract: only a note
diag "note: --plan onto an existing file: exit $RC, $(cmp -s "$P" "$W/plan.keep" && echo 'same content' || echo 'content changed')"
cp -- "$W/plan.keep" "$P"

# ---- apply the whole plan
vrun fix --fix --plan "$P" --image "$img" --journal "$W/fix.journal"
rc_in "$RC" 0 "--fix --plan --image" || diag "stderr: $(head -c 1500 "$W/fix.err" | cat -v)"
dump "$img" "$W/after.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/after.json" --expect "$W/expect.json" \
	--want new --label "--fix --plan"
fsck_clean "$img" "--fix --plan"
py_checks python3 "$FT" journal --journal "$W/fix.journal" --before "$W/before.json" --expect "$W/expect.json" \
	--backend image --all-done --complete --label "--fix --plan"

# ---- a reviewed plan: every second item
img2=$W/reviewed.img
fresh "$img2"
n=$(python3 "$FT" plan-subset --plan "$P" --expect "$W/expect.json" --out-plan "$W/half.jsonl" \
	--out-expect "$W/expect-half.json")
vrun half --fix --plan "$W/half.jsonl" --image "$img2" --journal "$W/half.journal"
rc_in "$RC" 0 "--fix with a reviewed plan of $n items"
dump "$img2" "$W/half.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/half.json" --expect "$W/expect-half.json" \
	--want new --label "--fix with a reviewed plan"

# ---- the image changed between plan and fix
edit_case() { # LABEL DEBUGFS-FIELD VALUE-EXPR
	local label=$1 field=$2 img3=$W/edit-$2.img ino val
	fresh "$img3"
	ino=$(python3 "$FT" plan-ino "$P" 3 --kind legacy-iunlink)
	if [ "$field" = flags ]; then
		val=$(printf '0x%08x' $(($(raw_flags "$img3" "<$ino>") | 0x1)))   # + secure deletion (s)
	else
		val=777
	fi
	run_debugfs -w -R "set_inode_field <$ino> $field $val" -- "$img3" >/dev/null 2>&1
	dump "$img3" "$W/edit.json"
	# expectation: everything as planned except inode $ino, which must keep
	# the edited state
	python3 - "$W/expect.json" "$W/edit.json" "$ino" "$W/expect-edit.json" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))
ed = json.load(open(sys.argv[2]))["inodes"][sys.argv[3]]
t = e["inodes"][sys.argv[3]]
t["alts"] = [[ed["flags"], ed["mode"]]]
json.dump(e, open(sys.argv[4], "w"))
EOF
	vrun edit --fix --plan "$P" --image "$img3" --journal "$W/edit-$field.journal"
	is "$RC" 1 "$label: the changed item is refused, exit 1" || diag "stderr: $(head -c 800 "$W/edit.err" | cat -v)"
	local rp
	rp=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if str(o.get("ino")) == sys.argv[2]:
        print(o.get("path", "")); break' "$P" "$ino")
	grep -v '^done' "$W/edit.out" "$W/edit.err" | grep -qF -- "$rp"
	ok $? "$label: the refused item is reported by its path ($rp)" ||
		diag "stdout: $(grep -v '^done' "$W/edit.out" | head -c 800 | cat -v)" "stderr: $(head -c 800 "$W/edit.err" | cat -v)"
	dump "$img3" "$W/edit-after.json"
	# compare against the edited dump for "everything else unchanged"
	py_checks python3 "$FT" compare --before "$W/edit.json" --after "$W/edit-after.json" \
		--expect "$W/expect-edit.json" --want new --label "$label: other items applied, the edited inode untouched"
	fsck_clean "$img3" "$label"
}
edit_case "flags edited with debugfs between plan and fix" flags
edit_case "generation changed between plan and fix" generation

# ---- malformed plans
img4=$W/malformed.img
fresh "$img4"
sum4=$(img_sum "$img4")
for how in plan-garbage plan-missing plan-type-ino plan-type-flags plan-type-kinds plan-neg-ino plan-bad-flags \
	plan-array plan-kind plan-header-uuid plan-header-backend plan-no-header binary; do
	bad=$W/bad-$how.jsonl
	python3 "$FT" mangle "$how" "$P" "$bad"
	vrun bad --fix --plan "$bad" --image "$img4" --journal "$W/bad-$how.journal"
	is "$RC" 2 "malformed plan ($how): exit 2"
	one_line_naming "$bad" bad "malformed plan ($how)"
	is "$(img_sum "$img4")" "$sum4" "malformed plan ($how): the image is unchanged"
done
vrun bad --fix --plan "$W/no-such-plan.jsonl" --image "$img4" --journal "$W/bad-missing.journal"
is "$RC" 2 "missing plan file: exit 2"
one_line_naming "$W/no-such-plan.jsonl" bad "missing plan file"
is "$(img_sum "$img4")" "$sum4" "missing plan file: the image is unchanged"

done_testing
