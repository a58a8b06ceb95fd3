#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tui-tmux.sh - the console end to end in a real terminal: a private tmux
# server (-L vaudit-test$$ -f /dev/null) runs `vaudit --interactive` on an
# ext4 --v26 fixture image at 100x30 with TERM=screen; keys go in with
# send-keys, screens come back with capture-pane.
#
#   - after the scan, the header counts the findings of vaudit --json;
#   - four findings are selected through searches: legacy-iunlink (g2),
#     legacy-notail, shared-immutable-no-iunlink, and a legacy-iunlink (g3)
#     whose inode is changed behind the console's back with debugfs -w
#     after the scan; `x` asks "Apply 4 changes to 4 inodes?" naming the
#     journal, `y` applies: three done, that one skipped (its row and its
#     detail say why);
#   - debugfs: exactly the three inodes changed, to the values fixtest.py
#     computes from the repair rules; every other inode (the skipped one
#     included) as before;
#   - `u`, `y` in the same session: every inode as before (debugfs);
#   - the window resized to 80x24: the console redraws at that size;
#   - `q` quits with status 0 and the terminal is back (no alternate
#     screen); a second console killed with SIGTERM exits 143 and also
#     restores the terminal;
#   - live: a console on a loop-mounted copy of the fixture applies a
#     legacy-notail of a file linked outside the guests (done) and a legacy-iunlink (skipped: the 2.6 bits need
#     the vserver syscall, and the reason says so); debugfs after a
#     sync + fsfreeze sees exactly that inode changed; `u` `y` restores it;
#     `U` opens the usage view (a bar row per guest), Esc closes it.
# The server is killed by the cleanup trap.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"
. "$top_srcdir/tests/integration/fixlib.sh"

need_root
need_vaudit
need_cmd tmux python3 debugfs dumpe2fs mke2fs e2fsck timeout
locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' || skip_all "no C.UTF-8 locale"

TT=$top_srcdir/tests/integration/tuitest.py
SOCK=vaudit-test$$
T() { tmux -L "$SOCK" -f /dev/null "$@"; }
defer tmux -L "$SOCK" -f /dev/null kill-server

# the session that keys go to and panes come from
TGT=console

# capture FILE: the pane's text now
capture() {
	T capture-pane -p -t "$TGT" >"$1" 2>/dev/null
}

# wait_for TEXT [SECONDS]: poll the pane until it shows TEXT (fixed string)
wait_for() {
	local text=$1 limit=${2:-20} i
	for ((i = 0; i < limit * 10; i++)); do
		capture "$W/pane.txt"
		grep -qF -- "$text" "$W/pane.txt" && return 0
		sleep 0.1
	done
	diag "timed out waiting for '$text'; the pane shows:"
	diag "$(cat -v "$W/pane.txt")"
	return 1
}

# keys KEY...: send-keys; text with -l
keys() { T send-keys -t "$TGT" "$@"; }
text() { T send-keys -t "$TGT" -l -- "$1"; }

# search TEXT: / TEXT Enter, wait for the match (not "not found: TEXT")
search() {
	keys /
	text "$1"
	keys Enter
	wait_for "found: $1 (row"
}

# blocked_row LABEL PATH WHY: the row of PATH is marked ! (not selectable)
# and its detail says "cannot be selected: WHY" (a regular expression)
blocked_row() {
	search "$2"
	grep -q '^ ! ' <(grep -F -- "$2" "$W/pane.txt" | grep -- "$2\$")
	ok $? "$1: the row of $2 is marked ! (not selectable)" || diag "$(grep -F -- "$2" "$W/pane.txt")"
	tr -s ' \n' ' ' <"$W/pane.txt" | grep -q -- "cannot be selected: $3"
	ok $? "$1: its detail says why ($3)" || diag "$(cat "$W/pane.txt")"
}

# console NAME CMD: a new window running CMD in $W; its exit status goes
# to $W/NAME.exit; the window stays for capture-pane
start_console() {
	local name=$1
	shift
	T new-session -d -s "$name" -x 100 -y 30 \
		"cd '$W' && env TERM=screen LC_ALL=C.UTF-8 $* 2>'$W/$name.err'; echo \$? >'$W/$name.exit'; exec sleep 600"
}

FIX=$(make_fixture ext4 --v26 --size 16) || bail_out "cannot build the fixture"
cp --sparse=always -- "$FIX" "$W/fixture.img"
vrun audit --image "$W/fixture.img" --prefix /vservers --json
rc_in "$RC" "1" "vaudit --image --json"
nfind=$(grep -c '^{"record":"finding"' "$W/audit.out")
read -r i_g2 i_nt i_sh i_g3 < <(python3 "$TT" inos --audit "$W/audit.out" \
	g2/usr/bin/priv-iunlink g1/var/notail-private g1/etc/immut-shared g3/etc/priv-iunlink)
diag "inodes: g2 priv-iunlink $i_g2, notail-private $i_nt, immut-shared $i_sh, g3 priv-iunlink $i_g3 (to be skipped)"

# ------------------------------------------------------------------ scan
start_console console "'$VAUDIT' --interactive --image fixture.img --prefix /vservers --journal tui.journal"
wait_for "scan done:"
ok $? "the scan ends (status line 'scan done:')"
grep -q " $nfind findings " "$W/pane.txt"
ok $? "the header counts $nfind findings, as vaudit --json"
is "$(T display -p -t console '#{alternate_on}')" 1 "the console runs on the alternate screen"

# the g3 file changes behind the console's back: its action must be skipped
old_g3=$(raw_flags "$W/fixture.img" "<$i_g3>")
run_debugfs -w -R "set_inode_field <$i_g3> flags 0x00080010" -- "$W/fixture.img" >/dev/null 2>&1
is "$(printf '0x%08x' "$(raw_flags "$W/fixture.img" "<$i_g3>")")" 0x00080010 "inode $i_g3 changed with debugfs -w (was $old_g3)"
dump "$W/fixture.img" "$W/before.json" || bail_out "debugfs dump failed"

# ------------------------------------------------------------------ select, apply
n=0
for p in g2/usr/bin/priv-iunlink notail-private etc/immut-shared g3/etc/priv-iunlink; do
	search "$p" || break
	keys Space
	n=$((n + 1))
	wait_for "$n selected" || break
done
is "$n" 4 "four findings selected through / and Space"
keys x
wait_for "Apply 4 changes to 4 inodes?"
ok $? "x asks: Apply 4 changes to 4 inodes?"
grep -q "Journal: tui.journal" "$W/pane.txt"
ok $? "the confirmation names the journal"
keys y
wait_for "apply: 3 done, 1 skipped, 0 failed; journal tui.journal"
ok $? "y applies: 3 done, 1 skipped (status line)"
cp -- "$W/pane.txt" "$W/applied.txt"

python3 "$TT" select --audit "$W/audit.out" --inos "$i_g2,$i_nt,$i_sh" --out "$W/sel.json"
ri=$(img_root_ino "$W/fixture.img" /vservers)
python3 "$FT" expect --before "$W/before.json" --audit "$W/sel.json" --root-ino "$ri" \
	--only legacy-iunlink,legacy-notail,shared-immutable-no-iunlink --out "$W/expect.json" >/dev/null
dump "$W/fixture.img" "$W/after.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/after.json" \
	--expect "$W/expect.json" --want new --label "tmux apply"
is "$(printf '0x%08x' "$(raw_flags "$W/fixture.img" "<$i_g3>")")" 0x00080010 "the skipped inode $i_g3 is untouched"

# the skipped one: its row and its detail
search g3/etc/priv-iunlink
grep -q '^\[x\]S E legacy-iunlink .*/vservers/g3/etc/priv-iunlink$' "$W/pane.txt"
ok $? "the skipped finding's row is marked [x]S" || diag "$(grep priv-iunlink "$W/pane.txt")"
grep -q '^Result skipped: .' "$W/pane.txt"
ok $? "its detail says why: $(grep '^Result' "$W/pane.txt" | head -n 1)"
search notail-private
grep -q '^ - D W legacy-notail .*/vservers/g1/var/notail-private$' "$W/pane.txt"
ok $? "a done finding's row is marked D and has left the selection ( - D)"
grep -q '^Flags  0x00080000 ' "$W/pane.txt"
ok $? "its Flags row shows the state after the apply (0x00080000)" || diag "$(grep -A1 '^Flags' "$W/pane.txt")"

# ------------------------------------------------------------------ undo in the same session
keys u
wait_for "Undo this session: 3 changes in 1 journal, newest first?"
ok $? "u asks to undo the session (3 changes in 1 journal)"
keys y
wait_for "undo of tui.journal: 3 undone, 0 skipped, 0 failed"
ok $? "y undoes: 3 undone"
search notail-private
grep -q '^\[ \]U W legacy-notail .*/vservers/g1/var/notail-private$' "$W/pane.txt" &&
	grep -q '^Flags  0x00088000 ' "$W/pane.txt"
ok $? "undone: selectable again ([ ]U), the Flags row back to 0x00088000" ||
	diag "$(grep -e notail-private -e '^Flags' "$W/pane.txt")"
py_checks python3 "$FT" compare --before "$W/before.json" --after-image "$W/fixture.img" \
	--want old --label "tmux undo"
fsck_clean "$W/fixture.img" "after the console's apply and undo"

# ------------------------------------------------------------------ resize, help
T resize-window -t console -x 80 -y 24
sleep 0.3
keys '?'
wait_for "Keys"
capture "$W/help.txt"
is "$(python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' "$W/help.txt")" 80 \
	"after resize-window 80x24 the help box is 80 columns wide"
is "$(grep -c '' "$W/help.txt")" 24 "... and the screen 24 rows"
keys Escape
sleep 0.2

# ------------------------------------------------------------------ quit: the terminal is back
keys q
for ((i = 0; i < 100; i++)); do [ -s "$W/console.exit" ] && break; sleep 0.1; done
is "$(cat "$W/console.exit" 2>/dev/null)" 0 "q quits with status 0"
is "$(T display -p -t console '#{alternate_on}')" 0 "the terminal left the alternate screen"
grep -qx 'vaudit: journal: tui.journal (undone)' "$W/console.err"
ok $? "stderr names the journal, undone" || diag "$(cat -v "$W/console.err")"

# ------------------------------------------------------------------ SIGTERM: the terminal is back too
start_console sig "'$VAUDIT' --interactive --image fixture.img --prefix /vservers"
T rename-window -t sig sig 2>/dev/null
for ((i = 0; i < 100; i++)); do
	T capture-pane -p -t sig 2>/dev/null | grep -qF "scan done:" && break
	sleep 0.1
done
pid=$(T display -p -t sig '#{pane_pid}')
# the pane runs sh -c '...; echo $? > ...': the console is its child
vpid=$(pgrep -P "$pid" -x vaudit | head -n 1)
if [ -n "$vpid" ]; then
	kill -TERM "$vpid"
	for ((i = 0; i < 100; i++)); do [ -s "$W/sig.exit" ] && break; sleep 0.1; done
	is "$(cat "$W/sig.exit" 2>/dev/null)" 143 "SIGTERM: the console exits with 128+15"
	is "$(T display -p -t sig '#{alternate_on}')" 0 "SIGTERM: the terminal left the alternate screen"
else
	ok 1 "SIGTERM: the console's process was found"
fi

# ------------------------------------------------------------------ live: a mounted file system
LIVE=$(make_fixture ext4 --v26 --size 16) || bail_out "cannot build the live fixture"
dump "$LIVE" "$W/live-before.json" || bail_out "debugfs dump failed"
if MNT=$(mount_fixture "$LIVE"); then
	LROOT=$MNT/vservers
	vrun laudit --json "$LROOT"
	rc_in "$RC" "1" "live vaudit --json"
	i_lnt=$(stat -c %i -- "$LROOT/g1/usr/bin/linked-outside")
	i_lg2=$(stat -c %i -- "$LROOT/g2/usr/bin/priv-iunlink")
	lri=$(stat -c %i -- "$LROOT")
	python3 "$TT" select --audit "$W/laudit.out" --inos "$i_lnt,$i_lg2" --out "$W/lsel.json"
	python3 "$FT" expect --before "$W/live-before.json" --audit "$W/lsel.json" --root-ino "$lri" --live \
		--only legacy-iunlink,legacy-notail --out "$W/lexpect.json" >/dev/null
	TGT=live
	start_console live "'$VAUDIT' --interactive '$LROOT' --journal live.journal"
	wait_for "scan done:"
	ok $? "live: the scan of the mounted fixture ends"
	grep -q 'scan done: .* findings, 0 errors' "$W/pane.txt"
	ok $? "live: the status line counts 0 errors (no vserver syscall is a notice, not a scan error)" ||
		diag "$(grep 'scan done' "$W/pane.txt")"
	# the change of g2's priv-iunlink needs a 2.6 bit, which no mainline
	# kernel sets live: its row says so before anyone selects it
	blocked_row live g2/usr/bin/priv-iunlink 'needs a 2.6 vserver bit.*--image'
	keys Space
	wait_for "cannot be selected: needs a 2.6 vserver bit"
	ok $? "live: Space on it says it cannot be selected, and why"
	search g1/usr/bin/linked-outside
	keys Space
	wait_for "1 selected"
	ok $? "live: one finding selected"
	keys x
	wait_for "Apply 1 change to 1 inode?"
	ok $? "live: x asks: Apply 1 change to 1 inode?"
	grep -q 'Kinds: legacy-notail 1' "$W/pane.txt"
	ok $? "live: the confirmation lists the changes by kind" || diag "$(grep Kinds "$W/pane.txt")"
	grep -Eq 'Left out \(! rows\): [1-9][0-9]* need a 2\.6 bit \(--image\)' "$W/pane.txt"
	ok $? "live: the confirmation says which changes are left out and why" ||
		diag "$(grep -e 'Left out' -e Kinds "$W/pane.txt")"
	! grep -q 'scan error' "$W/pane.txt"
	ok $? "live: the confirmation warns of no scan error (the missing syscall is a notice)" ||
		diag "$(grep 'scan error' "$W/pane.txt")"
	keys y
	wait_for "apply: 1 done, 0 skipped, 0 failed; journal live.journal"
	ok $? "live: y applies: 1 done, nothing skipped after the fact"
	flush_fs "$MNT"
	py_checks python3 "$FT" compare --before "$W/live-before.json" --after-image "$LIVE" \
		--expect "$W/lexpect.json" --want new --label "live console apply"
	keys u
	wait_for "Undo this session: 1 change in 1 journal, newest first?"
	ok $? "live: u asks to undo 1 change"
	keys y
	wait_for "undo of live.journal: 1 undone, 0 skipped, 0 failed"
	ok $? "live: y undoes it"
	# the usage view: computed on the worker, one bar row per guest, Esc closes it
	ng=$(find "$LROOT" -mindepth 1 -maxdepth 1 -type d ! -name .hash -printf x | wc -c)
	keys U
	wait_for "usage: $ng guests, "
	ok $? "live: U computes the usage of the $ng guests" || diag "$(cat "$W/pane.txt")"
	grep -Eq '^ g1 +[0-9.]+ (B|KiB|MiB) [#=~-]+ ' "$W/pane.txt" && grep -q '^ host ' "$W/pane.txt"
	ok $? "live: the usage view draws a bar row for g1 and the host row" || diag "$(cat "$W/pane.txt")"
	keys Escape
	wait_for "Findings "
	! grep -q '^ GUEST ' "$W/pane.txt"
	ok $? "live: Esc closes the usage view, back to the list" || diag "$(cat "$W/pane.txt")"
	keys q
	for ((i = 0; i < 100; i++)); do [ -s "$W/live.exit" ] && break; sleep 0.1; done
	is "$(cat "$W/live.exit" 2>/dev/null)" 0 "live: q quits with status 0"

	# g1 runs (its run file, in a util-vserver configuration made here):
	# its changes are marked before anyone selects them, g2's are not
	mkdir -p "$W/cfg/g1" "$W/cfg/g2" "$W/cfg-run"
	# util-vserver's run is a link to a file holding the context id
	ln -s "$LROOT/g1" "$W/cfg/g1/vdir" && ln -s "$LROOT/g2" "$W/cfg/g2/vdir" &&
		echo 1001 >"$W/cfg-run/g1" && ln -s "$W/cfg-run/g1" "$W/cfg/g1/run"
	TGT=running
	start_console running "'$VAUDIT' --interactive --config '$W/cfg' '$LROOT' --journal run.journal"
	wait_for "scan done:"
	ok $? "running: the scan with g1 running ends"
	blocked_row running g1/usr/bin/linked-outside 'its guest may be running.*--force'
	# a change in g2 or g3 that needs no 2.6 bit (0x04000000|0x08000000|0x20000000)
	free=$(python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    r = json.loads(line)
    if r.get("record") != "finding" or r.get("guest") not in ("g2", "g3") or "proposed_flags" not in r:
        continue
    if (int(r["flags"], 16) ^ int(r["proposed_flags"], 16)) & 0x2c000000 == 0 and \
            int(r["flags"], 16) != int(r["proposed_flags"], 16):
        print(r["path"].split("/vservers/", 1)[1]); break
' "$W/laudit.out")
	[ -n "$free" ]
	ok $? "running: the live audit has a change in g2 or g3 without a 2.6 bit ($free)"
	search "$free"
	keys Space
	wait_for "1 selected"
	ok $? "running: a change in g2 (not running) can be selected"
	keys x
	wait_for "Apply 1 change to 1 inode?"
	grep -Eq 'Left out \(! rows\): [1-9][0-9]* in running guests, [1-9][0-9]* need a 2\.6 bit' "$W/pane.txt"
	ok $? "running: the confirmation counts the changes left out in running guests" ||
		diag "$(grep -e 'Left out' "$W/pane.txt")"
	keys n
	keys q
	for ((i = 0; i < 100; i++)); do [ -s "$W/running.exit" ] && break; sleep 0.1; done
	is "$(cat "$W/running.exit" 2>/dev/null)" 0 "running: q quits with status 0, nothing applied"
	unmount_keep "$MNT"
	py_checks python3 "$FT" compare --before "$W/live-before.json" --after-image "$LIVE" \
		--want old --label "live console undo, unmounted"
	fsck_clean "$LIVE" "after the live console's apply and undo"
else
	ok 1 "live: mount the fixture"
fi

done_testing
