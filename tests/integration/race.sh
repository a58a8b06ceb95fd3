#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# race.sh - live vaudit --fix --force against a process that swaps
# directories inside a guest for symlinks out of ROOT (and back) in a tight
# loop: nothing outside ROOT may ever change.
#
# On a loop-mounted ext4 --v26 fixture: MNT/outside/rtN (outside ROOT) holds
# victims in exactly the states vaudit repairs live -- files with 0x8000
# only (chattr +t, hard-linked so that the default audit reads their flags:
# legacy-notail) and mode-0000 +t directories (legacy-barrier) -- and
# MNT/vservers/gN/.../rdN inside the guests holds the same names in the same
# states.  Racers (fixtest.py race) rename rdN away and put a symlink to
# MNT/outside/rtN in its place and back, as fast as they can, while
# `vaudit --fix --force` runs VAUDIT_RACE_RUNS times (default 15; the guest
# copies are re-armed between runs).  Checked: every run exits 0, 1 or 2
# (no signal, no timeout); after every run lsattr still shows t on every
# victim file and mode 0000 + t on every victim directory; at the end, on
# the unmounted image, debugfs shows every inode outside the guests'
# trees (everything reachable from /outside, and /) with exactly its old
# flags and mode; the journals name no inode outside ROOT.  Each repair is
# then undone (--undo JOURNAL) while the racers swap the same directories
# for symlinks to a second set of victims in the repaired state (no t,
# mode 0700), which an undo misdirected outside ROOT would change.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd lsattr find
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

: "${VAUDIT_RACE_RUNS:=15}"
NV=40   # victim files per racing directory

img=$(make_fixture ext4 --v26 --size 16) || bail_out "cannot build the fixture"
mnt=$(mount_fixture "$img") || bail_out "cannot mount the fixture"
R=$mnt/vservers

# racing directories inside guests (relative to ROOT) and their victims
RDS=(g1/rd1 g2/usr/share/rd2 g3/etc/rd3)
arm() { # DIR: NV files with t (hard-linked), 3 mode-0000 t directories
	local d=$1 i
	mkdir -p -- "$d"
	for ((i = 0; i < NV; i++)); do
		[ -e "$d/f$i" ] || { printf 'x%d\n' "$i" >"$d/f$i" && ln -- "$d/f$i" "$d/f$i.l"; }
		chattr +t -- "$d/f$i"
	done
	for i in 0 1 2; do
		mkdir -p -- "$d/bar$i"
		chmod 000 -- "$d/bar$i"
		chattr +t -- "$d/bar$i"
	done
}
# the same names in their repaired state: victims for the undo runs (an
# undo misdirected to them would give them t back, or mode 0000)
arm_clean() {
	local d=$1 i
	mkdir -p -- "$d"
	for ((i = 0; i < NV; i++)); do
		printf 'y%d\n' "$i" >"$d/f$i" && ln -- "$d/f$i" "$d/f$i.l"
	done
	for i in 0 1 2; do
		mkdir -p -- "$d/bar$i"
		chmod 0700 -- "$d/bar$i"
	done
}
for i in "${!RDS[@]}"; do
	arm "$mnt/outside/rt$i" && arm "$R/${RDS[$i]}" && arm_clean "$mnt/outside/ut$i" ||
		bail_out "cannot arm ${RDS[$i]}"
done
# inodes outside the guests' trees: everything below /outside, and / itself
# (minus those that also have a name inside ROOT, like the fixture's
# g1/usr/bin/linked-outside, hard-linked to /outside/also-linked)
find "$mnt/outside" -xdev -printf '%i\n' | sort -u >"$W/outside.all"
find "$R" -xdev -printf '%i\n' | sort -u >"$W/inside.all"
{ comm -23 "$W/outside.all" "$W/inside.all"; stat -c %i -- "$mnt"; } >"$W/outside.inos"
lsattr_victims() {
	local i
	for i in "${!RDS[@]}"; do
		lsattr -d -- "$mnt/outside/rt$i"/f* "$mnt/outside/rt$i"/bar* 2>&1
		stat -c '%a %n' -- "$mnt/outside/rt$i"/bar*
		lsattr -d -- "$mnt/outside/ut$i"/f* "$mnt/outside/ut$i"/bar* 2>&1
		stat -c '%a %n' -- "$mnt/outside/ut$i"/bar*
	done
}
lsattr_victims >"$W/victims.before"
grep -c -- '-t-' "$W/victims.before" >/dev/null
flush_fs "$mnt"
dump "$img" "$W/before.json"

racers_start() { # TARGET-PREFIX (rt: for --fix, ut: for --undo)
	local i tp=$1
	rm -f -- "$W/stop"
	RPIDS=()
	for i in "${!RDS[@]}"; do
		rm -f -- "$W/ready$i"
		python3 "$FT" race --dir "$R/${RDS[$i]}" --target "$mnt/outside/$tp$i" --stopfile "$W/stop" \
			--ready "$W/ready$i" --seconds 50 >"$W/racer$i.out" 2>"$W/racer$i.err" &
		RPIDS+=($!)
	done
	printf '%s\n' "${RPIDS[@]}" >"$W/racers.pids"
	# wait (up to 5 s) until every racer is racing
	local t=0
	for i in "${!RDS[@]}"; do
		while [ ! -e "$W/ready$i" ] && [ "$t" -lt 100 ]; do
			sleep 0.05
			t=$((t + 1))
		done
	done
}
# at exit: stop the racers of an interrupted run (only those still
# recorded as running: their pids are removed once they were waited for)
racers_kill() {
	local p
	: >"$W/stop"
	[ -s "$W/racers.pids" ] || return 0
	while read -r p; do
		kill "$p" 2>/dev/null
	done <"$W/racers.pids"
	while read -r p; do
		wait "$p" 2>/dev/null
	done <"$W/racers.pids"
}
defer racers_kill
racers_stop() {
	local p i
	: >"$W/stop"
	for p in "${RPIDS[@]}"; do
		wait "$p"
	done
	: >"$W/racers.pids"
	SWAPS=0
	for i in "${!RDS[@]}"; do
		SWAPS=$((SWAPS + $(cat "$W/racer$i.out" 2>/dev/null || echo 0)))
	done
}

bad_rc=()
bad_racers=()
bad_victims=()
total_swaps=0
check_racers() {
	for i in "${!RDS[@]}"; do
		if [ -s "$W/racer$i.err" ] || [ ! -s "$W/racer$i.out" ] || [ "$(cat "$W/racer$i.out")" -eq 0 ]; then
			bad_racers+=("$1 racer $i")
			diag "$1: racer $i: $(cat "$W/racer$i.out" 2>/dev/null) swaps; $(head -c 400 "$W/racer$i.err")"
		fi
	done
}
check_victims() {
	lsattr_victims >"$W/victims.now"
	if ! cmp -s "$W/victims.before" "$W/victims.now"; then
		bad_victims+=("$1")
		diag "$1: victims changed: $(diff "$W/victims.before" "$W/victims.now" | head -n 10)"
	fi
}
for ((run = 1; run <= VAUDIT_RACE_RUNS; run++)); do
	racers_start rt
	vrun race --fix --force --journal "$W/race$run.journal" "$R"
	racers_stop
	total_swaps=$((total_swaps + SWAPS))
	check_racers "run $run --fix"
	case $RC in
		0 | 1 | 2) ;;
		*) bad_rc+=("run $run: exit $RC") ;;
	esac
	[ $((run % 5)) -eq 1 ] && diag "run $run: exit $RC, $SWAPS swaps; $(tail -n 1 "$W/race.err")"
	check_victims "run $run --fix"
	# undo it, racing against symlinks to the clean victims
	racers_start ut
	vrun undo --undo "$W/race$run.journal" "$R"
	racers_stop
	total_swaps=$((total_swaps + SWAPS))
	case $RC in
		0 | 1 | 2) ;;
		*) bad_rc+=("run $run --undo: exit $RC") ;;
	esac
	[ $((run % 5)) -eq 1 ] && diag "run $run --undo: exit $RC, $SWAPS swaps; $(tail -n 1 "$W/undo.err")"
	check_racers "run $run --undo"
	check_victims "run $run --undo"
	# re-arm the guest copies
	for i in "${!RDS[@]}"; do
		[ -d "$R/${RDS[$i]}" ] && [ ! -L "$R/${RDS[$i]}" ] && arm "$R/${RDS[$i]}"
	done
done
is "${bad_rc[*]}" "" "$VAUDIT_RACE_RUNS live --fix --force and --undo runs under racing renames exit 0, 1 or 2"
is "${bad_victims[*]}" "" "after every run the victims outside ROOT are untouched (lsattr, stat)"
[ "$total_swaps" -gt 100 ]
ok $? "the racers swapped directories and symlinks ($total_swaps swaps)"
is "${bad_racers[*]}" "" "every racer raced in every run"
for f in "$W"/racer*.err; do
	[ -s "$f" ] && diag "racer stderr: $(head -c 300 "$f")"
done

# journals: no intent for an inode outside ROOT
python3 - "$W/outside.inos" "$W"/race*.journal >"$W/jout.txt" <<'EOF'
import sys
out = {l.strip() for l in open(sys.argv[1]) if l.strip()}
bad = []
n = 0
for j in sys.argv[2:]:
    for line in open(j, 'rb'):
        f = line.split(b'\t')
        if f[0] == b'I':
            n += 1
            if f[3].decode() in out:
                bad.append('%s: %s' % (j, line[:200]))
print('\n'.join(bad[:10]))
print('intents: %d' % n, file=sys.stderr)
EOF
is "$(cat "$W/jout.txt")" "" "no journal intent names an inode outside ROOT"

# debugfs on the unmounted image: every inode outside ROOT as before
unmount_keep "$mnt"
dump "$img" "$W/after.json"
python3 - "$W/before.json" "$W/after.json" "$W/outside.inos" >"$W/cmp.txt" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["inodes"]
a = json.load(open(sys.argv[2]))["inodes"]
bad = []
for ino in (l.strip() for l in open(sys.argv[3]) if l.strip()):
    if (a[ino]["flags"], a[ino]["mode"]) != (b[ino]["flags"], b[ino]["mode"]):
        bad.append("inode %s: 0x%08x/%o, was 0x%08x/%o" % (ino, a[ino]["flags"], a[ino]["mode"],
                                                        b[ino]["flags"], b[ino]["mode"]))
print("\n".join(bad[:20]))
EOF
is "$(cat "$W/cmp.txt")" "" "debugfs: every inode outside ROOT ($(grep -c '' "$W/outside.inos")) has its old flags and mode"
fsck_clean "$img" "after the racing runs"

done_testing
