#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# plan-noroot.sh - live `vaudit --fix --plan FILE --journal J` without a
# ROOT: the ROOTs are the source the plan's header names and the journal is
# J (not "'/var/lib/vaudit': cannot create the journal" because the default
# ROOT does not resolve).  On a loop-mounted ext4 --v26 fixture, run from another
# directory: exactly the expected inodes change (debugfs, fixtest.py), the
# journal names the live back end, UUID and ROOT, --undo restores every
# inode.  A plan whose ROOT is gone is refused naming that ROOT, and an
# unwritable --journal is reported under its own name.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd sha256sum fsfreeze
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

d=$W/case
mkdir -p "$d" "$W/elsewhere"
if ! img=$(make_fixture ext4 --v26 --size 16) || ! set_generations "$img"; then
	bail_out "cannot build the ext4 --v26 fixture"
fi
dump "$img" "$d/before.json"
uuid=$(img_uuid "$img")
mnt=$(mount_fixture "$img") || bail_out "cannot mount the fixture"
root=$mnt/vservers
ri=$(stat -c %i -- "$root")
vrun audit --json "$root"
python3 "$FT" expect --before "$d/before.json" --audit "$W/audit.out" --root-ino "$ri" --live \
	--out "$d/expect.json" >"$d/expect.txt"
diag "$(cat "$d/expect.txt")"

P=$d/plan.jsonl
vrun plan --plan "$P" "$root"
rc_in "$RC" "0 1" "live --plan ROOT"
py_checks python3 "$FT" plan --plan "$P" --before "$d/before.json" --expect "$d/expect.json" \
	--header live --uuid "$uuid" --source "$root" --label "live plan"

# ---- --fix --plan without ROOT, from another directory
J=$d/fix.journal
RC=$(
	cd "$W/elsewhere" || exit 99
	timeout -s KILL "$VAUDIT_FIX_TIMEOUT" "$VAUDIT" --fix --plan "$P" --journal "$J" \
		>"$W/fix.out" 2>"$W/fix.err"
	echo $?
)
is "$RC" 1 "--fix --plan --journal J without ROOT: done, the 2.6 items skipped (exit 1)" ||
	diag "stderr: $(head -c 1500 "$W/fix.err" | cat -v)"
grep -qF -- "vaudit: journal: $J" "$W/fix.err"
ok $? "stderr names the journal given with --journal"
grep -q '/var/lib/vaudit' "$W/fix.err"
ok $((! $?)) "stderr never mentions /var/lib/vaudit"
flush_fs "$mnt"
dump "$img" "$d/after.json"
py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/after.json" \
	--expect "$d/expect.json" --want new --label "after --fix --plan without ROOT"
py_checks python3 "$FT" journal --journal "$J" --before "$d/before.json" --expect "$d/expect.json" \
	--backend live --uuid "$uuid" --source "$root" --all-done --complete --label "journal"

vrun undo --undo "$J" "$root"
rc_in "$RC" 0 "--undo of that journal" || diag "stderr: $(head -c 1500 "$W/undo.err" | cat -v)"
flush_fs "$mnt"
dump "$img" "$d/undone.json"
py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/undone.json" --want old \
	--label "after --undo"

# ---- a plan whose ROOT is gone: refused, naming that ROOT
gone=$W/gone/vservers
python3 - "$P" "$gone" "$d/gone.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
h = json.loads(lines[0])
h["source"] = sys.argv[2]
open(sys.argv[3], "w").write("\n".join([json.dumps(h)] + lines[1:]) + "\n")
EOF
vrun gone --fix --plan "$d/gone.jsonl" --journal "$d/gone.journal"
is "$RC" 2 "a plan whose ROOT is gone: exit 2"
grep -v 'iattr syscall' "$W/gone.err" | grep -qF -- "'$gone'"
ok $? "a plan whose ROOT is gone: stderr names that ROOT" || diag "stderr: $(cat -v "$W/gone.err")"
grep -q '/var/lib/vaudit' "$W/gone.err"
ok $((! $?)) "a plan whose ROOT is gone: stderr never mentions /var/lib/vaudit"
[ ! -e "$d/gone.journal" ]
ok $? "a plan whose ROOT is gone: no journal"

# ---- --journal in a directory that does not exist: reported under its own name
vrun nodir --fix --plan "$P" --journal "$W/nodir/fix.journal"
is "$RC" 2 "--journal in a missing directory: exit 2"
grep -qF -- "'$W/nodir/fix.journal': cannot create the journal" "$W/nodir.err"
ok $? "--journal in a missing directory: stderr names that journal" || diag "stderr: $(cat -v "$W/nodir.err")"
flush_fs "$mnt"
dump "$img" "$d/nodir.json"
py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/nodir.json" --want old \
	--label "nothing changed by the refused runs"

unmount_keep "$mnt"
fsck_clean "$img" "the fixture at the end"
done_testing
