#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tui-headless.sh - the console (vaudit --interactive) without a terminal:
# key scripts (--script, vaudit-tui(8) TESTING) drive it on a virtual
# screen on an ext4 --v26 fixture image, and each view's dump is compared
# with a golden file in tests/integration/tui-golden/ (reviewed line by
# line; see tui-golden/README.md): browse at 80x24, help, filter menu and
# its result, search (UTF-8 name), detail of a shared inode, the apply
# confirmation and the per-item results, the undo confirmation and its
# results, a 100x30 resize, a loaded plan, TERM=vt100 (attributes), and
# the usage view (U) of a live ROOT of plain directories.
#
# Independent checks, not from the console:
#   - on a 160x80 screen that shows every row: the header count, every list
#     row (selection mark, severity, kind, escaped path) and the guests x
#     kinds summary against `vaudit --image IMG --json` (the batch writer),
#     with names escaped by tuitest.py's own rules;
#   - the Names of the shared inode against the JSON's names;
#   - the apply: exactly the selected inodes changed, to the values
#     fixtest.py computes from the repair rules (debugfs dumps of every
#     inode before and after), the journal well formed with every intent
#     done; `vaudit --undo` of that journal restores every inode;
#   - apply and `u` in one session: every inode as before (debugfs);
#   - TERM=vt100 draws the same text as xterm, without any colour;
#   - the usage view: every guest's sizes and bar, and the host's figures,
#     against find -printf (usagetest.py) and du -sh / du -sB1, in both
#     orders and after a resize; an image session shows no figures.
# Volatile parts (elapsed times, rates) are masked with sed before the
# comparison; the image and journal are named relative to the working
# directory so that their paths are stable.
#
# Nothing here needs root: the fixture is built without a mount
# (mkfixture.sh --no-mount) and, started as root, the test runs itself
# again as the unprivileged user 65534 (run_unprivileged, tests/lib.sh).
#
# TUI_GOLDEN_UPDATE=1 rewrites the golden files instead of comparing (then
# review them: git diff tests/integration/tui-golden/).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"
. "$top_srcdir/tests/integration/fixlib.sh"

run_unprivileged "$@"
need_vaudit
need_cmd python3 debugfs dumpe2fs mke2fs e2fsck timeout diff
locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' || skip_all "no C.UTF-8 locale"

TT=$top_srcdir/tests/integration/tuitest.py
GOLD=$top_srcdir/tests/integration/tui-golden
UPDATE=${TUI_GOLDEN_UPDATE:-0}

# tui TAG SIZE [TERM] [ARGS...]: run the script $W/TAG.keys in $W on
# fixture.img; stdout in $W/TAG.out, stderr in $W/TAG.err, status in RC
tui() {
	local tag=$1 size=$2 term=${3:-xterm}
	shift 3
	(cd "$W" && env LC_ALL=C.UTF-8 TERM="$term" timeout -s KILL 60 "$VAUDIT" --interactive \
		--image fixture.img --prefix /vservers --script "$W/$tag.keys" --size "$size" "$@" \
		>"$W/$tag.out" 2>"$W/$tag.err")
	RC=$?
	[ "$RC" -lt 124 ] || diag "$tag: killed or crashed (status $RC): $(head -c 800 "$W/$tag.err" | cat -v)"
	return 0
}

# screens TAG: split TAG.out into TAG-1.txt ...; prints the count
screens() {
	python3 "$TT" split "$W/$1.out" "$W/$1"
}

# mask: volatile parts of a screen (progress lines: "  1,234/s  ", "  0:03  ")
mask() {
	sed -E -e 's/ [0-9][0-9,]*\/s( |$)/ N\/s\1/g' -e 's/ [0-9]+:[0-9]{2}(:[0-9]{2})?( |$)/ M:SS\2/g'
}

# golden NAME FILE DESC: FILE (masked) is tui-golden/NAME.txt
golden() {
	local name=$1 file=$2 desc=$3
	mask <"$file" >"$file.masked"
	if [ "$UPDATE" = 1 ]; then
		cp -- "$file.masked" "$GOLD/$name.txt"
		ok 0 "$desc: golden $name.txt written (TUI_GOLDEN_UPDATE=1: review it)"
		return
	fi
	if diff -u --label "golden $name.txt" --label "screen" -- "$GOLD/$name.txt" "$file.masked" >"$file.diff"; then
		ok 0 "$desc (golden $name.txt)"
	else
		ok 1 "$desc (golden $name.txt)"
		diag "$(head -n 60 "$file.diff" | cat -v)"
	fi
}

fresh_image() {
	cp --sparse=always -- "$ORIG" "$W/fixture.img" && rm -f -- "$W/tui.journal"
}

ORIG=$(make_fixture ext4 --v26 --size 16 --no-mount) || bail_out "cannot build the fixture"
fresh_image
img_uuid=$(img_uuid "$W/fixture.img")
dump "$W/fixture.img" "$W/before.json" || bail_out "debugfs dump failed"
vrun audit --image "$W/fixture.img" --prefix /vservers --json
rc_in "$RC" "1" "vaudit --image --json (the batch writer's findings)"
nfind=$(grep -c '^{"record":"finding"' "$W/audit.out")
diag "vaudit --json: $nfind findings"

# ------------------------------------------------------------------ views, 80x24
cat >"$W/views.keys" <<'EOF'
# browse after the scan
:wait
:dump
:attrs
# the help
?
:dump
<Esc>
# the filter menu, then legacy-notail only (entries: clear, changeable,
# 3 severities, then the kinds found: LI LN ...)
f
:dump
j j j j j j <Space>
<Enter>
:dump
# clear it, search a UTF-8 name
f c
/
:type héllo
<Enter>
:dump
# the same screen at 100x30
:resize 100x30
:dump
q
EOF
tui views 80x24 xterm
rc_in "$RC" "0" "views script"
[ -s "$W/views.err" ] && diag "stderr: $(head -c 800 "$W/views.err" | cat -v)"
n=$(screens views)
is "$n" 7 "views: 7 screens dumped"
golden browse "$W/views-1.txt" "browse: summary, list and detail after the scan, 80x24"
golden browse-attrs "$W/views-2.txt" "browse: attributes with colours (xterm)"
golden help "$W/views-3.txt" "help: the key table"
golden filter-menu "$W/views-4.txt" "filter menu"
golden filter-result "$W/views-5.txt" "filter: legacy-notail only"
golden search "$W/views-6.txt" "search: /héllo jumps to the UTF-8 name"
golden resize "$W/views-7.txt" "resize to 100x30"
grep -q "^Findings 1/$nfind " "$W/views-1.txt"
ok $? "browse: the list title counts $nfind findings, as vaudit --json"
nln=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l).get("kind")=="legacy-notail"))' "$W/audit.out")
grep -q "^Findings 1/$nln (of $nfind) " "$W/views-5.txt"
ok $? "filter: $nln legacy-notail findings shown of $nfind (vaudit --json)"
is "$(grep -c '^\[ \]  W legacy-notail ' "$W/views-5.txt")" "$nln" "filter: every shown row is a legacy-notail finding"

# the help's legend is our own text, drawn as it is: \xNN and \\ once,
# not escaped a second time as a name from the disk would be
printf '%s\n' ':wait' '?' '<PgDn>' ':dump' '<PgDn>' ':dump' '<PgDn>' ':dump' '<Esc>' 'q' >"$W/legend.keys"
tui legend 80x24 xterm
rc_in "$RC" "0" "help legend script"
grep -qF '| Paths: UTF-8 names are drawn as they are; other bytes as \xNN, \n, \t, \r,' "$W/legend.out" &&
	grep -qF 'and a backslash as \\; a path too long' "$W/legend.out" &&
	! grep -qF '\\x' "$W/legend.out"
ok $? "help: the legend shows \\xNN and a backslash as \\\\ once (not escaped twice)" ||
	diag "$(grep -F 'Paths:' -A1 "$W/legend.out" | cat -v)"

# TERM=vt100: the same text, no colour pair anywhere
cp -- "$W/views.keys" "$W/vt100.keys"
tui vt100 80x24 vt100
rc_in "$RC" "0" "views script with TERM=vt100"
screens vt100 >/dev/null
ok=0
for i in 1 3 4 5 6 7; do
	cmp -s "$W/views-$i.txt" "$W/vt100-$i.txt" || { ok=1; diag "screen $i differs: $(diff "$W/views-$i.txt" "$W/vt100-$i.txt" | head -n 10)"; }
done
ok $ok "TERM=vt100 draws the same text as xterm on every screen"
! grep -q '[0-9]' "$W/vt100-2.txt"
ok $? "TERM=vt100: no colour pair in any cell (monochrome)"
grep -q 'R' "$W/vt100-2.txt" && grep -q 'B' "$W/vt100-2.txt"
ok $? "TERM=vt100: reverse video and bold mark the bars, the current row and errors"
grep -q '[0-9]' "$W/views-2.txt"
ok $? "TERM=xterm: colours are used"
golden vt100-attrs "$W/vt100-2.txt" "TERM=vt100: attributes"

# ------------------------------------------------------------------ every row, 160x80
printf ':wait\n:dump\n' >"$W/tall.keys"
tui tall 160x80 xterm
rc_in "$RC" "0" "160x80 script"
screens tall >/dev/null
py_checks python3 "$TT" screen --audit "$W/audit.out" --screen "$W/tall-1.txt" --cols 160

# ------------------------------------------------------------------ a shared inode's detail
ino_shared=$(python3 "$TT" inos --audit "$W/audit.out" g1/usr/share/plain-shared)
cat >"$W/shared.keys" <<'EOF'
:wait
/
:type plain-shared
<Enter>
<Tab>
<PgDn>
:dump
EOF
tui shared 80x24 xterm
rc_in "$RC" "0" "shared-inode script"
screens shared >/dev/null
golden detail-shared "$W/shared-1.txt" "detail of a shared inode (Tab, PgDn: its other names)"
py_checks python3 "$TT" names --audit "$W/audit.out" --screen "$W/shared-1.txt" --ino "$ino_shared"

# ------------------------------------------------------------------ apply, then vaudit --undo
read -r i1 i2 i3 < <(python3 "$TT" inos --audit "$W/audit.out" \
	g1/usr/bin/priv-iunlink g1/usr/bin/v26-iunlink-only g1/usr/lib/libc.so.6)
diag "selected inodes: $i1 $i2 $i3"
python3 "$TT" select --audit "$W/audit.out" --inos "$i1,$i2,$i3" --out "$W/sel.json"
ri=$(img_root_ino "$W/fixture.img" /vservers)
python3 "$FT" expect --before "$W/before.json" --audit "$W/sel.json" --root-ino "$ri" \
	--only legacy-iunlink,iunlink-not-immutable --out "$W/expect.json" >/dev/null
cat >"$W/select.keys" <<'EOF'
:wait
/
:type usr/bin/priv-iunlink
<Enter>
<Space>
/
:type v26-iunlink-only
<Enter>
<Space>
/
:type libc.so.6
<Enter>
<Space>
x
:dump
y
:wait
:dump
EOF
tui select 80x24 xterm --journal tui.journal
rc_in "$RC" "0" "apply script"
grep -qx 'vaudit: journal: tui.journal' "$W/select.err"
ok $? "on leaving, stderr names the session's journal" || diag "stderr: $(head -c 500 "$W/select.err" | cat -v)"
screens select >/dev/null
golden apply-confirm "$W/select-1.txt" "apply: the confirmation states 3 changes, 3 inodes and the journal"
golden apply-results "$W/select-2.txt" "apply: per-item results"
grep -q 'Apply 3 changes to 3 inodes?' "$W/select-1.txt"
ok $? "apply: 3 changes to 3 inodes (three findings on three inodes)"
# applied: out of the selection, nothing left to select on them
py_checks python3 "$TT" results --screen "$W/select-2.txt" --mark ' - D' \
	/vservers/g1/usr/bin/priv-iunlink /vservers/g1/usr/bin/v26-iunlink-only /vservers/g1/usr/lib/libc.so.6
dump "$W/fixture.img" "$W/after.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/after.json" \
	--expect "$W/expect.json" --want new --label "console apply"
py_checks python3 "$FT" journal --journal "$W/tui.journal" --before "$W/before.json" --expect "$W/expect.json" \
	--backend image --uuid "$img_uuid" --source "$W/fixture.img" --all-done --complete --label "console journal"
fsck_clean "$W/fixture.img" "after the console's apply"
vrun undo --undo "$W/tui.journal" --image "$W/fixture.img"
rc_in "$RC" "0" "vaudit --undo of the console's journal"
py_checks python3 "$FT" compare --before "$W/before.json" --after-image "$W/fixture.img" \
	--want old --label "vaudit --undo of the console's journal"

# ------------------------------------------------------------------ apply and undo in one session
fresh_image
{
	sed '/^:dump$/d' "$W/select.keys"
	printf 'u\n:dump\ny\n:wait\n:dump\n'
} >"$W/undo.keys"
tui undo 80x24 xterm --journal tui.journal
rc_in "$RC" "0" "apply-and-undo script"
grep -qx 'vaudit: journal: tui.journal (undone)' "$W/undo.err"
ok $? "on leaving, stderr names the journal, undone" || diag "stderr: $(head -c 500 "$W/undo.err" | cat -v)"
screens undo >/dev/null
golden undo-confirm "$W/undo-1.txt" "undo: the confirmation names the session's journal"
golden undo-results "$W/undo-2.txt" "undo: per-item results"
# undone: selectable again
py_checks python3 "$TT" results --screen "$W/undo-2.txt" --mark '[ ]U' \
	/vservers/g1/usr/bin/priv-iunlink /vservers/g1/usr/bin/v26-iunlink-only /vservers/g1/usr/lib/libc.so.6
py_checks python3 "$FT" compare --before "$W/before.json" --after-image "$W/fixture.img" \
	--want old --label "console apply, then u"
fsck_clean "$W/fixture.img" "after the console's undo"

# ------------------------------------------------------------------ two applies, one undo of the session
# apply priv-iunlink, then libc.so.6 (two journals); u undoes both, newest first
fresh_image
cat >"$W/two.keys" <<'EOF'
:wait
/
:type usr/bin/priv-iunlink
<Enter>
<Space>
x
y
:wait
/
:type libc.so.6
<Enter>
<Space>
x
y
:wait
u
:dump
y
:wait
:dump
EOF
tui two 80x24 xterm --journal two.journal
rc_in "$RC" "0" "two applies and an undo of the session"
printf 'vaudit: journal: two.journal (undone)\nvaudit: journal: two-2.journal (undone)\n' >"$W/two.want"
grep '^vaudit: journal: ' "$W/two.err" | cmp -s - "$W/two.want"
ok $? "on leaving, stderr lists both journals of the session, both undone" ||
	diag "stderr: $(head -c 500 "$W/two.err" | cat -v)"
screens two >/dev/null
grep -q 'Undo this session: 2 changes in 2 journals, newest first?' "$W/two-1.txt"
ok $? "u offers to undo the whole session: 2 changes in 2 journals" || diag "$(cat "$W/two-1.txt")"
py_checks python3 "$FT" compare --before "$W/before.json" --after-image "$W/fixture.img" \
	--want old --label "two applies, then u: every inode as before"

# ------------------------------------------------------------------ configuration rows, r
# a host root with 2.4-era NAME.conf guests: b.conf has a command at line 2
# (config-invalid) and both share S_CONTEXT 42
H=$W/hostroot
mkdir -p "$H/etc/vservers" "$H/vservers/a" "$H/vservers/b"
printf 'S_CONTEXT=42\n' >"$H/etc/vservers/a.conf"
printf 'S_CONTEXT=42\necho hi\n' >"$H/etc/vservers/b.conf"
printf ':wait\n/\n:type b.conf\n<Enter>\n:dump\nr\n:wait\n:dump\n' >"$W/cfg.keys"
(cd "$W" && env LC_ALL=C.UTF-8 TERM=xterm timeout -s KILL 60 "$VAUDIT" --interactive \
	--host-root "$H" --script "$W/cfg.keys" --size 100x24 >"$W/cfg.out" 2>"$W/cfg.err")
rc_in "$?" "0" "configuration findings in the console"
screens cfg >/dev/null
grep -q "config-invalid .*/etc/vservers/b.conf:2\$" "$W/cfg-1.txt"
ok $? "a configuration finding's row shows FILE:LINE" || diag "$(cat "$W/cfg-1.txt")"
grep -q '^Where  the configuration, line 2  guest b$' "$W/cfg-1.txt" && ! grep -q '^Inode ' "$W/cfg-1.txt" &&
	! grep -q '^Flags ' "$W/cfg-1.txt"
ok $? "its detail names the line and shows no inode fields" || diag "$(cat "$W/cfg-1.txt")"
grep -q '^Fix    edit the file at the line shown' "$W/cfg-1.txt" && ! grep -q '^Names ' "$W/cfg-1.txt"
ok $? "a kind no repair carries out suggests the fix by hand; a file of the configuration has no Names row" ||
	diag "$(cat "$W/cfg-1.txt")"
grep -q 'scan done: 3 entries, 4 findings, 0 errors' "$W/cfg-2.txt" &&
	[ "$(grep -c '^ -   E config-' "$W/cfg-2.txt")" = 3 ] && [ "$(grep -c '^ -   E config-' "$W/cfg-1.txt")" = 3 ]
ok $? "r scans again: the same findings" || diag "$(cat "$W/cfg-2.txt")"

# ------------------------------------------------------------------ shared-secret: the fix by hand
# a host key linked into two guests (as vunify links it): the detail's Fix
# row names the vunify command, and that command, run as it says, leaves
# no shared secret
SR=$W/sroot
mkdir -p "$SR/g1/etc/ssh" "$SR/g2/etc/ssh"
echo key >"$SR/g1/etc/ssh/ssh_host_rsa_key" && ln "$SR/g1/etc/ssh/ssh_host_rsa_key" "$SR/g2/etc/ssh/"
printf ':wait\n/\n:type ssh_host_rsa_key\n<Enter>\n:dump\nj\n:dump\n' >"$W/secret.keys"
(cd "$W" && env LC_ALL=C.UTF-8 TERM=xterm timeout -s KILL 60 "$VAUDIT" --interactive \
	"$SR" --script "$W/secret.keys" --size 250x30 >"$W/secret.out" 2>"$W/secret.err")
rc_in "$?" "0" "a shared host key in the console"
screens secret >/dev/null
f=$(grep -l '^Why    shared-secret ' "$W/secret-1.txt" "$W/secret-2.txt" | head -n 1)
# the Fix row, its wrapped lines joined
sed -n '/^Fix /,/^[A-Z]/p' "${f:-/dev/null}" | tr -s '\n ' '  ' >"$W/secret-fix.txt"
grep -q "^Fix .*vunify --manually -R DIR '' OTHERDIR '' with the directory of this name and of another" "$W/secret-fix.txt" &&
	grep -q 'vhashify --revert PATH' "$W/secret-fix.txt"
ok $? "shared-secret: the Fix row names the vunify -R command (and vhashify --revert for a store)" ||
	diag "$(grep -h -e '^Why' -e '^Fix' "$W"/secret-[12].txt)"
VAUDIT_LOCK_DIR=$W/locks "${VUNIFY:-$top_builddir/vunify}" --manually -R --journal "$W/secret.journal" \
	"$SR/g1/etc/ssh" '' "$SR/g2/etc/ssh" '' >"$W/secret-vunify.out" 2>&1
rc_in "$?" "0" "the Fix row's vunify --manually -R on the two names' directories" ||
	diag "$(head -c 500 "$W/secret-vunify.out")"
"$VAUDIT" --only shared-secret "$SR" >"$W/secret-after.out" 2>/dev/null
is "$?:$(cat "$W/secret-after.out")" "0:" "after it: no shared-secret finding (each guest has its own copy)"

# ------------------------------------------------------------------ the usage view (U), live
# a ROOT of plain directories: a file linked into g1 and g2, a store entry
# linked into g2, a copy of g1's big file in g3 (reclaimable), a guest
# whose name holds a tab.  The files are of a few MiB, so that the
# directories' own blocks (none on some file systems) do not change the
# figures as shown, rounded up to a tenth of a MiB; the ROOT's own blocks
# are masked in the golden screens.
UR=$W/uroot
mkdir -p "$UR/g1/bin" "$UR/g2/bin" "$UR/g2/etc" "$UR/g3/bin" "$UR/.hash/ab" "$UR/bad"$'\t'"name"
head -c 1100000 /dev/urandom >"$UR/g1/bin/big"
head -c 2150000 /dev/urandom >"$UR/g1/bin/shared"
ln -- "$UR/g1/bin/shared" "$UR/g2/bin/shared"
head -c 1600000 /dev/urandom >"$UR/g2/etc/own"
head -c 1300000 /dev/urandom >"$UR/.hash/ab/entry"
ln -- "$UR/.hash/ab/entry" "$UR/g2/bin/hashed"
cp -a -- "$UR/g1/bin/big" "$UR/g3/bin/big"
head -c 2750000 /dev/urandom >"$UR/bad"$'\t'"name/data"
sync
# usage_tui TAG SIZE TERM: the script $W/TAG.keys on the live ROOT uroot
usage_tui() {
	(cd "$W" && env LC_ALL=C.UTF-8 TERM="$3" timeout -s KILL 60 "$VAUDIT" --interactive uroot \
		--script "$W/$1.keys" --size "$2" >"$W/$1.out" 2>"$W/$1.err")
	RC=$?
}
# mask_root FILE: the ROOT's own blocks ("N outside guests and stores")
mask_root() {
	sed -E -i 's/; [0-9.]+ [KMGTPE]?i?B outside guests/; N outside guests/' "$1"
}
printf '%s\n' ':wait' 'U' ':wait' ':dump' ':attrs' 'o' ':dump' ':resize 100x30' 'o' ':dump' \
	'r' ':wait' ':dump' '<Esc>' ':dump' >"$W/usage.keys"
usage_tui usage 80x24 xterm
rc_in "$RC" "0" "usage view script"
[ -s "$W/usage.err" ] && diag "stderr: $(head -c 800 "$W/usage.err" | cat -v)"
n=$(screens usage)
is "$n" 6 "usage: 6 screens dumped"
py_checks python3 "$TT" usage --screen "$W/usage-1.txt" --root "$UR" --order total
py_checks python3 "$TT" usage --screen "$W/usage-3.txt" --root "$UR" --order name
py_checks python3 "$TT" usage --screen "$W/usage-4.txt" --root "$UR" --order total
mask_root "$W/usage-1.txt"
golden usage "$W/usage-1.txt" "usage view: one bar per guest, by total, 80x24"
golden usage-attrs "$W/usage-2.txt" "usage view: the segments in colours (xterm)"
grep -q '^usage: 4 guests, ' "$W/usage-1.txt" && grep -q '^usage: 4 guests, ' "$W/usage-5.txt"
ok $? "usage: computed on U, and again on r" || diag "$(tail -n 2 "$W/usage-5.txt")"
grep -q '^Findings ' "$W/usage-6.txt" && ! grep -q '^ GUEST ' "$W/usage-6.txt"
ok $? "usage: Esc closes the view, back to the list" || diag "$(cat "$W/usage-6.txt")"
# TERM=vt100: the same text, the segments told apart by their characters alone
cp -- "$W/usage.keys" "$W/usagevt.keys"
usage_tui usagevt 80x24 vt100
rc_in "$RC" "0" "usage view script with TERM=vt100"
screens usagevt >/dev/null
mask_root "$W/usagevt-1.txt"
cmp -s "$W/usage-1.txt" "$W/usagevt-1.txt" && ! grep -q '[0-9+]' "$W/usagevt-2.txt"
ok $? "usage: TERM=vt100 draws the same text (a character per segment), without colours" ||
	diag "$(diff "$W/usage-1.txt" "$W/usagevt-1.txt" | head -n 10)"
# an image session: the usage of the prefix, read offline, as vaudit --usage --image says
printf '%s\n' ':wait' 'U' ':wait' ':dump' >"$W/imgusage.keys"
tui imgusage 100x30 xterm
rc_in "$RC" "0" "usage view script on an image"
screens imgusage >/dev/null
(cd "$W" && "$VAUDIT" --usage --json --image fixture.img --prefix /vservers >"$W/imgusage.jsonl" 2>"$W/imgusage.cli.err")
py_checks python3 "$TT" usage-records --screen "$W/imgusage-1.txt" --records "$W/imgusage.jsonl"

# ------------------------------------------------------------------ a plan
fresh_image
(cd "$W" && "$VAUDIT" --image fixture.img --prefix /vservers --plan plan.jsonl >/dev/null 2>&1)
nplan=$(($(grep -c '' "$W/plan.jsonl") - 1))
printf ':wait\n:dump\n' >"$W/plan.keys"
tui plan 80x24 xterm --plan plan.jsonl
rc_in "$RC" "0" "plan script"
screens plan >/dev/null
golden plan "$W/plan-1.txt" "a plan's actions (--plan FILE)"
grep -q "^Findings 1/$nplan " "$W/plan-1.txt"
ok $? "plan: one row per action of the plan ($nplan)"

# ------------------------------------------------------------------ a scan with errors
# a directory whose extents flag is cleared: its entries cannot be listed;
# the batch audit says so on stderr (a partial audit, exit 3), the console in the apply
# confirmation
fresh_image
run_debugfs -w -R "set_inode_field /vservers/g3/long flags 0" -- "$W/fixture.img" >/dev/null 2>&1
vrun damaged --image "$W/fixture.img" --prefix /vservers --json
rc_in "$RC" "3" "vaudit --image on the damaged copy (a partial audit)"
nerr=$(grep -c "is damaged" "$W/damaged.err")
is "$nerr" 1 "the batch audit reports one directory it could not read"
printf '%s\n' ':wait' '/' ':type usr/bin/priv-iunlink' '<Enter>' '<Space>' 'x' ':dump' >"$W/damaged.keys"
tui damaged 80x24 xterm --journal tui.journal
rc_in "$RC" "0" "script on the damaged image"
screens damaged >/dev/null
grep -q "Warning: 1 scan error: entries were missed (e lists them)" "$W/damaged-1.txt"
ok $? "the apply confirmation warns of the scan error" ||
	diag "$(cat "$W/damaged-1.txt")"
grep -q "Warning:" "$W/select-1.txt"
ok $((1 - $?)) "... and says nothing of the kind after a clean scan"

# ------------------------------------------------------------------ bad scripts
printf 'x\n<Nope>\n' >"$W/bad.keys"
tui bad 80x24 xterm
rc_in "$RC" "2" "an unknown key name in the script"
grep -q "bad.keys.*2: unknown key '<Nope>'" "$W/bad.err"
ok $? "the message names the script and the line" || diag "stderr: $(cat -v "$W/bad.err")"

done_testing
