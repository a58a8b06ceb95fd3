#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# records.sh - the output contract of --json (vaudit(8), JSON SCHEMA and
# EXIT STATUS): every line of every kind of run is a record valid against
# schema/vaudit-records.schema.json, checked by a real validator
# (python3-jsonschema, draft 2020-12); the last line is the summary, whose
# "exit" is the exit status.  Runs: live audits on a loop-mounted fixture
# (clean, partial with an error record, --fail-on), --image, --fix
# --dry-run (exit 1: something would change), --plan, --fix, --resume, --undo,
# --list, --attrs and --usage (whose last record is usage-total), and
# vhashify -n (exit 1 when it would link, 0 when nothing is left to do) and
# for real, vunify -n and for real.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

. "$top_srcdir/tests/integration/fixlib.sh"
need_fix
python3 -c 'import jsonschema' 2>/dev/null || skip_all "python3-jsonschema is not installed (setup.sh installs it)"
: "${VHASHIFY:=$top_builddir/vhashify}"
SCHEMA=$top_srcdir/schema/vaudit-records.schema.json
RP=$top_srcdir/tests/integration/records.py

check() { # TAG LABEL RC ARGS-FOR-records.py...
	local tag=$1 label=$2 rc=$3
	shift 3
	py_checks python3 "$RP" "$SCHEMA" "$W/$tag.out" --label="$label" --exit "$rc" "$@"
}

img=$(make_fixture ext4 --v26 --size 16) && set_generations "$img" || bail_out "cannot build the fixture"
cp --sparse=always -- "$img" "$W/image.img"
mnt=$(mount_fixture "$img") || bail_out "cannot mount the fixture"
root=$mnt/vservers

# ---- audits
vrun audit --json --no-config "$root"
is "$RC" 1 "live audit --json: findings of severity error or warning, exit 1"
check audit "live audit" 1 --want finding=+ --want error=0 --expect partial=false \
	--expect mode='"audit"' --expect backend='"live"' --expect "roots=[\"$root\"]"

vrun partial --json --no-config "$root" "$mnt/no-such-root"
is "$RC" 3 "live audit with an unreadable ROOT: a partial scan, exit 3"
check partial "partial audit" 3 --want finding=+ --want error=1 --expect partial=true --expect audit.errors=1
grep -q "^vaudit: '$mnt/no-such-root': " "$W/partial.err"
ok $? "partial audit: the error is said on stderr too"

vrun never --json --no-config --fail-on=never "$root"
is "$RC" 0 "--fail-on=never: findings do not change the exit status"
check never "--fail-on=never" 0 --want finding=+ --expect fail_on='"never"'

# a guest whose only question is the 2.6 barrier it cannot read live
mkdir -p "$mnt/plain/g1/etc" && echo x >"$mnt/plain/g1/etc/x"
vrun plain --json --no-config --no-device-read "$mnt/plain"
sev=$(python3 -c 'import json,sys; print(" ".join(sorted({json.loads(l)["severity"] for l in open(sys.argv[1]) if "\"finding\"" in l})))' "$W/plain.out")
is "$RC:$sev" "1:warning" "a tree whose only finding is a warning (barrier-unverified) exits 1 by default"
vrun plainerr --json --no-config --no-device-read --fail-on=error "$mnt/plain"
is "$RC" 0 "--fail-on=error: the same tree exits 0"
check plainerr "--fail-on=error" 0 --want finding=+ --expect fail_on='"error"' --expect audit.by_severity.error=0

vrun image --json --image "$W/image.img" --prefix /vservers
is "$RC" 1 "--image --json: exit 1"
check image "image audit" 1 --want finding=+ --expect backend='"image"' --expect audit.method='"inode-tables"'

# ---- the guest listing: a guest record per guest, no summary
mkdir -p "$W/cfg/g1" "$W/cfg/g2"
ln -s "$root/g1" "$W/cfg/g1/vdir" && ln -s "$root/g2" "$W/cfg/g2/vdir" && echo 42 >"$W/cfg/g1/context"
vrun list --list --json --config "$W/cfg"
is "$RC" 0 "--list --json: exit 0"
check list "--list" 0 --last none --want guest=2 --want summary=0

# ---- --attrs: an attrs record per entry, no summary
vrun attrs --attrs --json "$root/g1"
is "$RC" 0 "--attrs --json: exit 0"
check attrs "--attrs" 0 --last none --want attrs=+ --want summary=0
n_text=$("$VAUDIT" --attrs "$root/g1" 2>/dev/null | wc -l)
is "$(grep -c '"record":"attrs"' "$W/attrs.out")" "$n_text" "--attrs --json: one record per line of the text listing"

# ---- --usage: a usage record per guest, the usage-total record last, no summary
vrun usage --usage --json "$root"
is "$RC" 0 "--usage --json: exit 0"
check usage "--usage" 0 --last usage-total --want usage=+ --want summary=0 --want error=0 \
	--expect partial=false --expect "roots=[\"$root\"]"
vrun usagepart --usage --json --exact "$root" "$mnt/no-such-root"
is "$RC" 3 "--usage --json with an unreadable ROOT: exit 3"
check usagepart "--usage, partial" 3 --last usage-total --want usage=+ --want error=1 \
	--expect partial=true --expect exact=true --expect errors=1

# ---- repairs
vrun dry --json --fix --dry-run --no-config --journal "$W/dry.journal" "$root"
is "$RC" 1 "--fix --dry-run --json: something would change, exit 1"
check dry "fix --dry-run" 1 --want action=+ --want finding=0 --expect dry_run=true \
	--expect repair.changed=false --expect mode='"fix"'
grep -q '"event":"would"' "$W/dry.out"
ok $? "fix --dry-run: actions say \"would\""

vrun plan --json --plan "$W/p.plan" --no-config "$root"
is "$RC" 0 "--plan FILE --json: exit 0"
check plan "plan" 0 --want action=+ --expect mode='"plan"'
is "$(grep -c '"event":"planned"' "$W/plan.out")" "$(grep -c '"action":"set-flags"' "$W/p.plan")" \
	"--plan --json: one planned action record per action of the plan"

J=$W/fix.journal
vrun fix --json --fix --no-config --journal "$J" "$root"
rc_in "$RC" "0 1" "--fix --json (mainline: actions needing a 2.6 bit are skipped)"
check fix "fix" "$RC" --want action=+ --expect repair.changed=true
grep -q '"event":"done"' "$W/fix.out"
ok $? "fix: some actions say \"done\""

vrun fixdry --json --fix --dry-run --no-config --only legacy-notail,legacy-barrier "$root"
check fixdry "fix --dry-run after the fix" "$RC" --expect repair.would_change=0
is "$RC" 0 "--fix --dry-run after the fix of those kinds: nothing would change, exit 0"

# --resume: the fix's journal without its last D record, as a run killed
# after its last change; the change is there, so the intent is marked done
if tail -n 1 "$J" | grep -q '^D'; then
	head -n -1 "$J" >"$W/nod.journal"
	vrun resume --json --resume "$W/nod.journal" --no-config "$root"
	rc_in "$RC" "0 1" "--resume --json of the fix's journal less its last D record"
	check resume "resume" "$RC" --want action=+ --want finding=0 --expect mode='"resume"'
	head -n 1 "$W/resume.out" | grep -q '^{"record":"action",.*"event":"done",.*"reason":"already in that state"'
	ok $? "resume: the intent without its D record comes first, an action record: done, already in that state" ||
		diag "$(head -c 600 "$W/resume.out")"
else
	skip "--resume --json" "the fix's journal does not end with a D record"
fi

vrun undodry --json --undo "$J" --dry-run "$root"
is "$RC" 1 "--undo --dry-run --json: something would change, exit 1"
check undodry "undo --dry-run" 1 --want action=+ --expect mode='"undo"' --expect audit=null

vrun undo --json --undo "$J" "$root"
is "$RC" 0 "--undo --json: exit 0"
check undo "undo" 0 --want action=+ --expect mode='"undo"' --expect repair.changed=true

# ---- vhashify
for g in g1 g2; do mkdir -p "$mnt/u/$g"; done
head -c 65536 /dev/urandom >"$mnt/u/g1/lib.so"
cp -p -- "$mnt/u/g1/lib.so" "$mnt/u/g2/lib.so"
mkdir -p "$mnt/u/.hash"
# hrun TAG WANT LINKED [-n]: vhashify --json over g1 and g2 exits WANT, its
# records are valid, its summary counts LINKED names
hrun() {
	local tag=$1 want=$2 linked=$3 dry=false
	shift 3
	[ "${1-}" = -n ] && dry=true
	timeout -s KILL 60 "$VHASHIFY" "$@" --json --flags=none --no-progress --journal "$W/h$tag.journal" \
		--manually --destination "$mnt/u/.hash" -- "$mnt/u/g1" "" "$mnt/u/g2" "" \
		>"$W/hash$tag.out" 2>"$W/hash$tag.err"
	RC=$?
	is "$RC" "$want" "vhashify $* --json ($tag): exit $want"
	py_checks python3 "$RP" "$SCHEMA" "$W/hash$tag.out" --label "vhashify $tag" --want action=+ \
		--expect dry_run=$dry --expect linked="$linked"
}
hrun dry 1 2 -n         # it would link
hrun real 0 2
hrun again 0 0 -n       # nothing left to do
is "$(tail -n1 "$W/hashreal.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["changed"])')" True \
	"vhashify: the summary says it changed something"
is "$(tail -n1 "$W/hashdry.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["changed"])')" False \
	"vhashify -n: the summary says it changed nothing"

vrun hundo --json --undo "$W/hreal.journal" "$mnt/u"
is "$RC" 0 "--undo of the vhashify journal --json: exit 0"
check hundo "undo of vhashify" 0 --want action=+

# ---- vunify: the same trees, g2 linked to its reference g1, then undone
: "${VUNIFY:=$top_builddir/vunify}"
urec() { # TAG WANT [-n]: vunify --json g2 with reference g1 exits WANT, its records are valid
	local tag=$1 want=$2 dry=false
	shift 2
	[ "${1-}" = -n ] && dry=true
	timeout -s KILL 60 "$VUNIFY" "$@" --json --flags=none --no-progress --journal "$W/u$tag.journal" \
		--manually -- "$mnt/u/g2" "" "$mnt/u/g1" "" >"$W/unify$tag.out" 2>"$W/unify$tag.err"
	RC=$?
	is "$RC" "$want" "vunify ${*:+$* }--json ($tag): exit $want"
	py_checks python3 "$RP" "$SCHEMA" "$W/unify$tag.out" --label "vunify $tag" --exit "$want" --want action=+ \
		--expect program='"vunify"' --expect dry_run=$dry
}
urec dry 1 -n           # it would link
urec real 0
vrun uundo --json --undo "$W/ureal.journal" "$mnt/u"
is "$RC" 0 "--undo of the vunify journal --json: exit 0"
check uundo "undo of vunify" 0 --want action=+

done_testing
