#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# journals.sh - vaudit --journals, --prune and --show on a directory of
# journals made by real repairs (vaudit --fix --image on copies of an
# unmounted fixture, one of them undone with --undo), and from one of
# them: an interrupted run (cut after its third change, before its mark),
# a last line torn, a line corrupted; beside them a symlink to an old
# journal outside the directory, a FIFO and a directory named *.journal,
# a hidden journal and another file.  Old journals get their mtime from
# touch -d.
#
# The truth is opstest.py's own reading of the journal lines (CRC32C per
# line, the D/U marks of each change), never vaudit's: the listing's
# state, counts, size and date of each file; the names --prune must
# remove (complete or undone, older than DAYS: never an interrupted or
# unreadable one, never through a symlink); -n promises exactly the names
# the real prune then removes; --show's records against the lines, and
# one line on stderr, exit 2, for a torn or corrupt journal.  Every record
# is checked against the schema (records.py, python3-jsonschema).
#
# Needs no root: started as root, it runs itself again as user 65534.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

run_unprivileged "$@"
need_vaudit
need_cmd python3 debugfs mke2fs timeout mkfifo touch
python3 -c 'import jsonschema' 2>/dev/null || skip_all "python3-jsonschema is not installed (setup.sh installs it)"
. "$top_srcdir/tests/integration/fixlib.sh"

OT=$top_srcdir/tests/integration/opstest.py
RP=$top_srcdir/tests/integration/records.py
SCHEMA=$top_srcdir/schema/vaudit-records.schema.json

IMG=$(make_fixture ext4 --v26 --size 16 --no-mount) || bail_out "mkfixture failed"
JD=$W/journals
mkdir -p "$JD" "$W/outside"

# repair NAME JOURNAL: --fix on a fresh copy of the fixture, journal JOURNAL
repair() {
	cp --sparse=always -- "$IMG" "$W/$1.img"
	vrun "$1" --fix --image "$W/$1.img" --prefix /vservers --journal "$2"
	is "$RC" 0 "--fix --image ($1): exit 0, journal $(basename -- "$2")"
}
repair complete-new "$JD/complete-new.journal"
repair complete-old "$JD/complete-old.journal"
repair undone-old "$JD/undone-old.journal"
vrun undo --undo "$JD/undone-old.journal" --image "$W/undone-old.img"
is "$RC" 0 "--undo of undone-old.journal: exit 0"
repair base "$W/base.journal"
repair target "$W/outside/target.journal"
python3 "$OT" cut "$W/base.journal" "$JD/interrupted-old.journal" 3 &&
	python3 "$OT" torn "$W/base.journal" "$JD/torn-old.journal" &&
	python3 "$OT" corrupt "$W/base.journal" "$JD/corrupt-old.journal" 5
ok $? "journals cut after a change, torn, corrupted at line 5 (opstest.py)"
ln -s "$W/outside/target.journal" "$JD/symlink-old.journal"
mkfifo "$JD/fifo.journal"
mkdir "$JD/dir.journal"
cp "$JD/complete-old.journal" "$JD/.hidden-old.journal"
echo notes >"$JD/notes.txt"
for f in "$JD"/*-old.journal "$JD/.hidden-old.journal" "$W/outside/target.journal"; do
	touch -h -d '40 days ago' -- "$f"
done

# ---- --journals
vrun list --journals --json "$JD"
is "$RC" 0 "--journals --json: exit 0"
py_checks python3 "$RP" "$SCHEMA" "$W/list.out" --label "--journals --json" --last none --want journal=9
vrun text --journals "$JD"
is "$RC" 0 "--journals (text): exit 0"
py_checks python3 "$OT" journals "$W/list.out" "$JD" --text "$W/text.out"
states=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(r["name"], r["state"])' "$W/list.out")
is "$states" "complete-new.journal complete
complete-old.journal complete
corrupt-old.journal unreadable
dir.journal unreadable
fifo.journal unreadable
interrupted-old.journal interrupted
symlink-old.journal unreadable
torn-old.journal interrupted
undone-old.journal undone" "--journals: the state of each journal as made (hidden names and other files left out)"
grep -q '^unreadable .*  corrupt-old\.journal  line 5: bad checksum or truncated line$' "$W/text.out"
ok $? "--journals: an unreadable journal is listed with the line and reason"

# ---- --show
show_ok() {
	vrun "show-$1" --show "$JD/$1.journal"
	is "$RC" 0 "--show $1.journal: exit 0"
	py_checks python3 "$RP" "$SCHEMA" "$W/show-$1.out" --label "--show $1" --last none \
		--want journal-header=1 --want journal-record=+
	py_checks python3 "$OT" show "$W/show-$1.out" "$JD/$1.journal" --label "--show $1"
}
show_ok complete-new
show_ok undone-old
show_ok interrupted-old
# a vclone journal (its own directory): C records, each with its M record
CJ=$W/clonej
mkdir -p "$CJ" "$W/csrc/etc" && echo x >"$W/csrc/etc/a" && ln -s a "$W/csrc/etc/l"
mkdir -p "$W/locks"
VAUDIT_LOCK_DIR=$W/locks "$top_builddir/vclone" --flags=none --journal "$CJ/clone.journal" "$W/csrc" "$W/cdst" >"$W/vclone.out" 2>&1
is "$?" 0 "vclone: exit 0 (a clone journal)" || diag "$(cat "$W/vclone.out")"
vrun show-clone --show "$CJ/clone.journal"
is "$RC" 0 "--show of the clone journal: exit 0"
py_checks python3 "$RP" "$SCHEMA" "$W/show-clone.out" --label "--show clone" --last none \
	--want journal-header=1 --want journal-record=+
py_checks python3 "$OT" show "$W/show-clone.out" "$CJ/clone.journal" --label "--show clone"
is "$(python3 -c 'import json, sys
n = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["record"] == "journal-record":
        n[r["type"], r.get("event")] = n.get((r["type"], r.get("event")), 0) + 1
print(" ".join("%s:%s=%d" % (k[0], k[1], v) for k, v in sorted(n.items())))' "$W/show-clone.out")" \
	"C:create=4 M:made=4" "--show clone: a C record (create) and an M record (made) for each of the 4 entries"
vrun list-clone --journals "$CJ"
is "$(awk '{ print $1, $6, $7 }' "$W/list-clone.out")" "complete clone.journal clone" \
	"--journals: the clone journal is complete, its run a clone"

last=$(tail -n 1 "$W/show-interrupted-old.out" | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["type"], r["state"])')
is "$last" "I unfinished" "--show interrupted-old: the last change is an intent without its mark"

vrun show-torn --show "$JD/torn-old.journal"
is "$RC" 2 "--show of a torn journal: exit 2"
is "$(cat "$W/show-torn.err")" "vaudit: '$JD/torn-old.journal': its last line is torn: a crash while writing it, or the file was cut: not shown" \
	"--show of a torn journal: one line on stderr naming it"
py_checks python3 "$OT" show "$W/show-torn.out" "$JD/torn-old.journal" --label "--show torn-old (the whole records)"

vrun show-corrupt --show "$JD/corrupt-old.journal"
is "$RC" 2 "--show of a corrupt journal: exit 2"
is "$(cat "$W/show-corrupt.err")" "vaudit: '$JD/corrupt-old.journal': not a usable journal (line 5): bad checksum or truncated line" \
	"--show of a corrupt journal: 'vaudit: PATH: what: reason', the line named"
is "$(wc -c <"$W/show-corrupt.out")" 0 "--show of a corrupt journal: nothing on stdout"
for bad in symlink-old no-such dir; do
	vrun show-bad --show "$JD/$bad.journal"
	is "$RC" 2 "--show $bad.journal: exit 2"
	one_line_naming "$JD/$bad.journal" show-bad "--show $bad.journal"
done

# ---- --prune: -n promises, then the same names go
before=$(ls -A "$JD" | sort)
want=$(python3 "$OT" prune-expect "$JD" 30)
is "$want" "$JD/complete-old.journal
$JD/undone-old.journal" "the truth: complete-old and undone-old are complete or undone and older than 30 days"
vrun dry --prune 30 -n "$JD"
is "$RC" 1 "--prune 30 -n: exit 1 (something would be removed)"
is "$(sed -n 's/^would remove //p' "$W/dry.out" | sort)" "$want" "--prune 30 -n names exactly those journals"
is "$(grep -vc '^would remove ' "$W/dry.out")" 0 "--prune -n: nothing else on stdout"
is "$(ls -A "$JD" | sort)" "$before" "--prune -n removes nothing"
vrun prune --prune 30 "$JD"
is "$RC" 0 "--prune 30: exit 0"
is "$(sed -n 's/^removed //p' "$W/prune.out" | sort)" "$want" "--prune 30 removes exactly what -n promised"
[ ! -e "$JD/complete-old.journal" ] && [ ! -e "$JD/undone-old.journal" ]
ok $? "--prune: the two journals are gone"
is "$(ls -A "$JD" | sort)" "$(grep -vxF -e complete-old.journal -e undone-old.journal <<<"$before")" \
	"--prune: everything else is left (interrupted, torn, unreadable, symlink, FIFO, directory, hidden, other files)"
[ -f "$W/outside/target.journal" ] && [ -L "$JD/symlink-old.journal" ]
ok $? "--prune: the symlink and the old complete journal it points to are left alone"
vrun prune2 --prune 30 -n "$JD"
is "$RC:$(wc -c <"$W/prune2.out")" "0:0" "--prune again: nothing left to remove (exit 0, no output)"

# ---- the option rules
for args in "--prune x" "--prune -1" "--prune 3 --json" "--journals -n" "--journals a b" "--show"; do
	# shellcheck disable=SC2086
	vrun usage $args
	is "$RC" 64 "vaudit $args: a usage error"
done

"$VAUDIT" --help | grep -q -- '--journals' && "$VAUDIT" --help | grep -q -- '--prune DAYS' &&
	"$VAUDIT" --help | grep -q -- '--show JOURNAL'
ok $? "vaudit --help describes --journals, --prune and --show"

done_testing
