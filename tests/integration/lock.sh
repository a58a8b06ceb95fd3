#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lock.sh - two runs that change one filesystem never interleave
# (core/lock.h).  On a loop-mounted ext4 image with three guests, a
# vhashify run slowed by strace (every rename delayed 2 ms) holds its
# filesystem; meanwhile `vaudit --fix`, a second vhashify and `vaudit
# --undo` are refused at once (exit 2, one line naming the holder and its
# pid, no journal of their own, nothing changed by them) while a dry run
# goes ahead.  The lock goes with its holder, also after kill -9.  An image
# held by another process (flock(1) on it, as any tool may do) refuses
# `vaudit --fix --image` with the image unchanged, and is repaired once it
# is free.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs chattr losetup mount umount strace flock sha256sum ps timeout
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify
. "$top_srcdir/tests/integration/fixlib.sh"

: "${VAUDIT_LOCK_FILES:=600}"

race_fixture lock "$VAUDIT_LOCK_FILES"

# slow CMD...: CMD with every rename delayed 2 ms, so that it runs for seconds
slow() {
	strace -f --seccomp-bpf -o /dev/null -e trace=renameat2 -e inject=renameat2:delay_exit=2000 "$@"
}

# start_slow TAG JOURNAL: a slowed vhashify of the three guests in the
# background (PID in SLOW), returning once it holds the lock (its journal exists)
start_slow() {
	local tag=$1 j=$2 i
	slow "$VHASHIFY" $FL $NP --manually --destination "$H" --journal "$j" "${TREES[@]}" \
		>"$W/$tag.out" 2>"$W/$tag.err" </dev/null &
	SLOW=$!
	defer kill -9 "$SLOW"
	for ((i = 0; i < 300; i++)); do
		[ -s "$j" ] && return 0
		sleep 0.1
	done
	return 1
}

# holder_named TAG DESC PROG: TAG's stderr names PROG and the pid of a
# live process of that name
holder_named() {
	local tag=$1 desc=$2 prog=$3 pid comm
	pid=$(sed -n "s/.*($prog, pid \([0-9]*\)).*/\1/p" "$W/$tag.err" | head -1)
	comm=$( [ -n "$pid" ] && ps -p "$pid" -o comm= 2>/dev/null)
	is "$comm" "$prog" "$desc: the pid named ($pid) is a running $prog"
}

mkdir -p "$H"
start_slow a "$W/a.journal"
ok $? "a slowed vhashify is running and has its journal" || bail_out "$(cat -v "$W/a.err")"
running=$(kill -0 "$SLOW" 2>/dev/null && echo yes)
is "$running" yes "it is still running when the others start (a slow run of $((3 * VAUDIT_LOCK_FILES)) files)"

# ---- a repair of the same filesystem is refused before it reads anything
urun fix "$VAUDIT" --fix --no-config --journal "$W/fix.journal" "$M/vs"
rc_is fix 2 "vaudit --fix during vhashify"
one_line fix vaudit "vaudit --fix during vhashify" "'$M/vs'" "another run is changing this filesystem" "vhashify, pid"
holder_named fix "vaudit --fix during vhashify" vhashify
[ ! -e "$W/fix.journal" ]
ok $? "vaudit --fix during vhashify: no journal created (nothing changed by it)"

# ---- a second vhashify on the same store
urun v2 "$VHASHIFY" $FL $NP --manually --destination "$H" --journal "$W/v2.journal" "${TREES[@]}"
rc_is v2 2 "a second vhashify on the same store"
one_line v2 vhashify "a second vhashify on the same store" "another run is changing this filesystem" "(vhashify, pid"
[ ! -e "$W/v2.journal" ]
ok $? "a second vhashify: no journal created"

# ---- an undo of the running run's journal waits its turn
urun u1 "$VAUDIT" --undo "$W/a.journal" "$M"
rc_is u1 2 "vaudit --undo of the running run's journal"
one_line u1 vaudit "vaudit --undo during vhashify" "another run is changing this filesystem"

# ---- a dry run changes nothing and takes no lock
urun dry "$VHASHIFY" $FL $NP -n --manually --destination "$H" "${TREES[@]}"
rc_is dry 1 "vhashify -n during vhashify (a dry run is not held back; it would link)"

wait "$SLOW"
rc=$?
is "$rc" 0 "the slowed vhashify ended well"
# the lock file is named by the device of the filesystem (stat)
want=$(stat -c '%d' -- "$M/vs" | python3 -c 'import os,sys; d=int(sys.stdin.read()); print("fs-%d:%d.lock" % (os.major(d), os.minor(d)))')
lockfile=$VAUDIT_LOCK_DIR/$want
is "$(stat -c '%a %F' -- "$VAUDIT_LOCK_DIR")" "700 directory" "the lock directory is 0700"
is "$(stat -c '%a %F' -- "$lockfile" 2>/dev/null)" "600 regular file" "the lock file $want (the device of the filesystem, from stat) is 0600"

# ---- once it ended, the undo runs
urun u2 "$VAUDIT" --undo "$W/a.journal" "$M"
rc_is u2 0 "vaudit --undo after vhashify ended"

# ---- kill -9 leaves no stale lock
start_slow k "$W/k.journal"
ok $? "a second slowed vhashify is running"
# the holder named in the lock file, not strace (killing strace would
# leave its tracee running, and holding the lock)
vpid=$(sed -n 's/^vhashify, pid \([0-9]*\)$/\1/p' "$lockfile")
is "$(ps -p "$vpid" -o comm= 2>/dev/null)" vhashify "the lock file names the running vhashify (pid $vpid)"
kill -9 "$vpid"
wait "$SLOW" 2>/dev/null
urun u3 "$VAUDIT" --undo "$W/k.journal" "$M"
rc_is u3 0 "vaudit --undo right after kill -9 of the run that held the lock"

# ---- an image held by another process
FIMG=$(make_fixture ext4 --v26) || bail_out "cannot build the fixture"
sum0=$(img_sum "$FIMG")
flock --no-fork -x "$FIMG" sleep 60 &
holder=$!
defer kill "$holder"
sleep 0.3
urun fi "$VAUDIT" --fix --image "$FIMG" --prefix /vservers --journal "$W/fi.journal"
rc_is fi 2 "vaudit --fix --image while another process holds the image"
one_line fi vaudit "vaudit --fix --image on a held image" "'$FIMG'" "another run is changing this image"
is "$(img_sum "$FIMG")" "$sum0" "the held image is unchanged (sha256)"
[ ! -e "$W/fi.journal" ]
ok $? "no journal created for the held image"
kill "$holder"
wait "$holder" 2>/dev/null
urun fi2 "$VAUDIT" --fix --image "$FIMG" --prefix /vservers --journal "$W/fi2.journal"
rc_in "$RC" "0 1" "vaudit --fix --image once the image is free" || diag "$(cat -v "$W/fi2.err")"
[ "$(img_sum "$FIMG")" != "$sum0" ]
ok $? "the free image was repaired (its sha256 changed)"

done_testing
