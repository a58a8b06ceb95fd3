#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# crash.sh - a large vaudit --fix --image killed with SIGKILL at random
# moments; after each kill, on copies of the image and the journal:
#
#   * every target inode is either in its old or in its new state, no other
#     inode or inode field changed; no inode is new without its intent in
#     the journal, and no inode with a D record is old (journal first)
#   * the journal is well formed except possibly its last line
#   * --resume JOURNAL --image IMG: every journaled inode is new, the others
#     old (or new, if resume also finishes what was never journaled), exit 0;
#     then a fresh --fix makes everything new; e2fsck -fn clean
#   * --undo JOURNAL --image IMG on another copy: every inode as before
#     the fix; e2fsck -fn clean
#   * with a torn record appended to the journal (half a line, no newline,
#     as a crash in the middle of a write leaves it) undo still restores
#     everything, with a warning
#
# And on a complete run: the journal's last line (a D record) cut in the
# middle -> --resume warns, marks the intent done, exit 0; --undo restores
# everything.
#
# The image (ext4, VAUDIT_CRASH_FILES legacy-iunlink files, default 2000,
# made with mke2fs -d and chattr +t +i on a loop mount) and the journals live
# on a private tmpfs, so that a run is short and the kill lands inside it:
# the delay before each kill is uniform in [0, 1.1 * the duration of an
# uninterrupted run].  VAUDIT_CRASH_RUNS (default 20) runs,
# VAUDIT_CRASH_SEED (default: random, printed) seeds the delays.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd sha256sum strace
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

: "${VAUDIT_CRASH_RUNS:=20}"
: "${VAUDIT_CRASH_FILES:=2000}"
diag "VAUDIT_CRASH_RUNS=$VAUDIT_CRASH_RUNS VAUDIT_CRASH_FILES=$VAUDIT_CRASH_FILES"
seed_random VAUDIT_CRASH_SEED
scratch vaudit-crash 512m

# ---- the image: VAUDIT_CRASH_FILES files in 3 guests, all legacy-iunlink
BASE=$S/base.img
build() {
	local mnt
	files_image "$BASE" "$VAUDIT_CRASH_FILES" 250 || return 1
	mnt=$(mount_fixture "$BASE") || return 1
	find "$mnt/vservers" -type f -exec chattr +t {} + &&
		find "$mnt/vservers" -type f -exec chattr +i {} + || return 1
	unmount_keep "$mnt" || return 1
	# the 2.6 barrier on ROOT: only legacy-iunlink to repair
	or_raw_flags "$BASE" /vservers 0x04000000 && set_generations "$BASE"
}
build
ok $? "build an ext4 image with $VAUDIT_CRASH_FILES legacy-iunlink files" || bail_out "cannot build the image"
fsck_clean "$BASE" "the base image"

dump "$BASE" "$W/before.json"
vrun audit --image "$BASE" --prefix /vservers --json
is "$(kinds_of "$W/audit.out")" "legacy-iunlink" "the base image has legacy-iunlink findings only"
python3 "$FT" expect --before "$W/before.json" --audit "$W/audit.out" \
	--root-ino "$(img_root_ino "$BASE" /vservers)" --out "$W/expect.json" >"$W/expect.txt"
diag "$(cat "$W/expect.txt")"
NT=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["inodes"]))' "$W/expect.json")
[ "$NT" -ge "$VAUDIT_CRASH_FILES" ]
ok $? "the audit lists every file ($NT targets)"

# ---- an uninterrupted run: its duration, and the cut last line
cp --sparse=always -- "$BASE" "$S/ref.img"
t0=$(date +%s%N)
vrun ref --fix --image "$S/ref.img" --prefix /vservers --journal "$S/ref.journal"
t1=$(date +%s%N)
DUR=$(((t1 - t0) / 1000))   # microseconds
rc_in "$RC" 0 "an uninterrupted --fix of $NT files (took $((DUR / 1000)) ms)"
dump "$S/ref.img" "$W/ref.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/ref.json" --expect "$W/expect.json" \
	--want new --label "uninterrupted fix"
py_checks python3 "$FT" journal --journal "$S/ref.journal" --before "$W/before.json" --expect "$W/expect.json" \
	--backend image --uuid "$(img_uuid "$BASE")" --source "$S/ref.img" --all-done --complete --label "uninterrupted fix"

if [ -s "$S/ref.journal" ]; then
	python3 "$FT" mangle truncate-last "$S/ref.journal" "$S/cut.journal"
	cp -- "$S/cut.journal" "$S/cut2.journal"
	tail -n 1 "$S/ref.journal" | grep -q '^D' || diag "note: the last line of the complete journal is not a D record"
	vrun cutres --resume "$S/cut.journal" --image "$S/ref.img"
	rc_in "$RC" 0 "cut last line: --resume"
	[ -s "$W/cutres.err" ]
	ok $? "cut last line: --resume warns about the torn last record" || true
	diag "cut last line: --resume stderr: $(head -c 400 "$W/cutres.err" | cat -v)"
	dump "$S/ref.img" "$W/cut.json"
	py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/cut.json" --expect "$W/expect.json" \
		--want new --label "cut last line: after --resume"
	vrun cutundo --undo "$S/cut2.journal" --image "$S/ref.img"
	rc_in "$RC" 0 "cut last line: --undo"
	dump "$S/ref.img" "$W/cutundo.json"
	py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/cutundo.json" \
		--want old --label "cut last line: after --undo"
fi
rm -f -- "$S/ref.img"

# ---- killed at the journal header's fsync: a traced run finds which
# fsync that is (the first on the journal: a file whose name holds
# "journal", or a nameless one, which strace shows as deleted), then
# strace stops a second run with SIGKILL on that one.  The journal's name
# must not exist yet (a journal without its header could neither be
# resumed nor undone) and nothing may have changed.
cp --sparse=always -- "$BASE" "$S/h.img"
strace -f -y -o "$W/h0.strace" -e trace=fsync \
	"$VAUDIT" --fix --image "$S/h.img" --prefix /vservers --journal "$S/h0.journal" >"$W/h.out" 2>"$W/h.err"
nth=$(grep 'fsync(' "$W/h0.strace" | grep -n -m1 -E 'journal|\(deleted\)' | cut -d: -f1)
cp --sparse=always -- "$BASE" "$S/h.img"
strace -f -y -o "$W/h.strace" -e trace=fsync -e inject=fsync:signal=KILL:when="${nth:-1}" \
	"$VAUDIT" --fix --image "$S/h.img" --prefix /vservers --journal "$S/h.journal" >"$W/h.out" 2>"$W/h.err"
diag "killed at fsync $nth: $(grep 'fsync(' "$W/h.strace" | tail -n 1)"
[ -n "$nth" ] && [ ! -e "$S/h.journal" ]
ok $? "killed at the journal header's fsync: no journal of that name exists"
dump "$S/h.img" "$W/h.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/h.json" --want old \
	--label "killed at the journal header's fsync: the image"
rm -f -- "$S/h.img" "$S/h0.journal"

# ---- killed runs
killed_mid=0
bad_runs=()
for ((run = 1; run <= VAUDIT_CRASH_RUNS; run++)); do
	C=$S/c$run.img
	J=$S/c$run.journal
	cp --sparse=always -- "$BASE" "$C"
	# delay in microseconds, uniform in [0, 1.1 * DUR]
	delay=$(((RANDOM * 32768 + RANDOM) % (DUR * 11 / 10 + 1)))
	"$VAUDIT" --fix --image "$C" --prefix /vservers --journal "$J" >"$W/k.out" 2>"$W/k.err" &
	pid=$!
	sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	krc=$?
		python3 "$FT" compare --before "$W/before.json" --after-image "$C" --expect "$W/expect.json" \
		--want crash --journal "$J" --counts "$W/k.counts" --label "run $run (kill after ${delay} us, exit $krc)" >"$W/k.tap"
	read -r n_old n_new n_other n_int n_done _ <"$W/k.counts"
	[ "$n_old" -gt 0 ] && [ "$n_new" -gt 0 ] && killed_mid=$((killed_mid + 1))
	diag "run $run: kill after $delay us (exit $krc): old $n_old new $n_new other $n_other; intents $n_int done $n_done"
	fail=0
	if grep -q '^not ok' "$W/k.tap"; then fail=1; sed 's/^/  /' "$W/k.tap" | while IFS= read -r l; do diag "$l"; done; fi
	if ! e2fsck -fn -- "$C" >"$W/k.fsck" 2>&1; then
		fail=1
		diag "  run $run: e2fsck -fn after the kill: $(tail -n 5 "$W/k.fsck")"
	fi
	if [ ! -e "$J" ]; then
		# killed before the journal existed: nothing may have changed
		[ "$n_new" -eq 0 ] || { fail=1; diag "  run $run: no journal, but $n_new inodes changed"; }
		[ "$fail" -eq 0 ] || bad_runs+=("$run")
		rm -f -- "$C"
		continue
	fi
	# a torn last line is allowed (a crash mid-write)
	python3 "$FT" journal --journal "$J" --allow-torn-last --label "run $run" >"$W/kj.tap"
	if grep -q '^not ok' "$W/kj.tap"; then
		fail=1
		while IFS= read -r l; do diag "  $l"; done <"$W/kj.tap"
	fi
	grep -q 'torn last line' "$W/kj.tap" && diag "  run $run: torn last journal line (allowed)"
	cp --sparse=always -- "$C" "$S/u.img"
	cp -- "$J" "$S/u.journal"
	cp -- "$J" "$S/t.journal"
	# resume
	vrun res --resume "$J" --image "$C"
	if [ "$RC" -ne 0 ]; then fail=1; diag "  run $run: --resume exit $RC: $(head -c 400 "$W/res.err" | cat -v)"; fi
	python3 "$FT" compare --before "$W/before.json" --after-image "$C" --expect "$W/expect.json" \
		--want resumed --journal "$J" --counts "$W/r.counts" --label "run $run after --resume" >"$W/r.tap"
	if grep -q '^not ok' "$W/r.tap"; then fail=1; while IFS= read -r l; do diag "  $l"; done <"$W/r.tap"; fi
	read -r _ _ _ _ _ r_unj <"$W/r.counts"
	[ "$r_unj" -gt 0 ] && diag "  run $run: --resume also finished $r_unj items that were never journaled"
	# a fresh fix completes the rest
	vrun refix --fix --image "$C" --prefix /vservers --journal "$S/c$run.refix.journal"
	if [ "$RC" -ne 0 ]; then fail=1; diag "  run $run: --fix after --resume exit $RC: $(head -c 300 "$W/refix.err" | cat -v)"; fi
	python3 "$FT" compare --before "$W/before.json" --after-image "$C" --expect "$W/expect.json" \
		--want new --label "run $run after --resume and --fix" >"$W/rf.tap"
	if grep -q '^not ok' "$W/rf.tap"; then fail=1; while IFS= read -r l; do diag "  $l"; done <"$W/rf.tap"; fi
	if ! e2fsck -fn -- "$C" >"$W/k.fsck" 2>&1; then
		fail=1
		diag "  run $run: e2fsck -fn after --resume: $(tail -n 5 "$W/k.fsck")"
	fi
	# undo on the other copy; on even runs with a torn record appended
	if [ $((run % 2)) -eq 0 ] && [ -s "$S/u.journal" ]; then
		last=$(tail -n 1 "$S/u.journal")
		if [ "${last:0:1}" = I ]; then
			# the next intent, half written
			printf '%s' "${last:0:$((${#last} / 2))}" >>"$S/u.journal"
		else
			printf 'I\t99999\t0:0\t12' >>"$S/u.journal"
		fi
		diag "  run $run: undo with a torn record appended"
	fi
	vrun und --undo "$S/u.journal" --image "$S/u.img"
	if [ "$RC" -ne 0 ]; then fail=1; diag "  run $run: --undo exit $RC: $(head -c 400 "$W/und.err" | cat -v)"; fi
	python3 "$FT" compare --before "$W/before.json" --after-image "$S/u.img" --want old \
		--label "run $run after --undo" >"$W/u.tap"
	if grep -q '^not ok' "$W/u.tap"; then fail=1; while IFS= read -r l; do diag "  $l"; done <"$W/u.tap"; fi
	if ! e2fsck -fn -- "$S/u.img" >"$W/k.fsck" 2>&1; then
		fail=1
		diag "  run $run: e2fsck -fn after --undo: $(tail -n 5 "$W/k.fsck")"
	fi
	[ "$fail" -eq 0 ] || bad_runs+=("$run")
	rm -f -- "$C" "$S/u.img" "$S/u.journal" "$S/t.journal"
done
is "${bad_runs[*]}" "" "$VAUDIT_CRASH_RUNS killed runs: old-or-new only, journal first, resume, fix, undo all correct (failed runs listed)"
if [ "$killed_mid" -ge 3 ]; then
	ok 0 "at least 3 kills landed in the middle of the repair ($killed_mid of $VAUDIT_CRASH_RUNS)"
else
	ok 1 "at least 3 kills landed in the middle of the repair ($killed_mid of $VAUDIT_CRASH_RUNS)"
fi

done_testing
