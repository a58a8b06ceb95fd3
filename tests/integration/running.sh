#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# running.sh - live vaudit --fix refuses a guest that may be running: a
# process whose root directory (/proc/PID/root) lies inside the guest --
# the guest root itself (g1) or a directory below it (g2/usr).  Without
# --force: exit 1 or 2, a message naming the guest, and none of that
# guest's inodes changed (debugfs after sync + fsfreeze); with --force the
# repair goes ahead.  The chrooted processes are ours (python3 os.chroot +
# sleep) and are killed by pid at the end.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd fsfreeze
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

img=$(make_fixture ext4 --v26 --size 16) || bail_out "cannot build the fixture"
mnt=$(mount_fixture "$img") || bail_out "cannot mount the fixture"
R=$mnt/vservers

PIDS_FILE=$W/chrooted.pids
: >"$PIDS_FILE"
stop_chrooted() {
	local p
	while read -r p; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done <"$PIDS_FILE"
	: >"$PIDS_FILE"
}
defer stop_chrooted

# chrooted DIR: a process whose root is DIR
chrooted() {
	python3 -c 'import os, sys, time
d = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
os.chroot(sys.argv[1]); os.chdir("/")
os.close(os.open("ready", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=d))
time.sleep(120)' "$1" "$W" &
	printf '%s\n' "$!" >>"$PIDS_FILE"
	local t
	for ((t = 0; t < 100; t++)); do
		[ -e "$W/ready" ] && break
		sleep 0.05
	done
	[ -e "$W/ready" ] || diag "the chrooted process did not start"
	rm -f -- "$W/ready"
}

# inodes whose names are all in guest G (from find; an inode shared with
# another guest belongs to both and is left out of the check)
guest_only_inos() {
	local gg n=0
	for gg in "$R"/*; do
		[ -d "$gg" ] && [ ! -L "$gg" ] || continue
		n=$((n + 1))
		if [ "${gg##*/}" = "$1" ]; then
			find "$gg" -xdev -printf '%i\n' 2>/dev/null | sort -u >"$W/in.mine"
		else
			find "$gg" -xdev -printf '%i\n' 2>/dev/null
		fi
	done | sort -u >"$W/in.others"
	comm -23 "$W/in.mine" "$W/in.others"
}

# changed_in BEFORE AFTER INOS: how many of INOS changed flags or mode
changed_in() {
	python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["inodes"]
a = json.load(open(sys.argv[2]))["inodes"]
n = 0
for ino in (l.strip() for l in open(sys.argv[3]) if l.strip()):
    if (a[ino]["flags"], a[ino]["mode"]) != (b[ino]["flags"], b[ino]["mode"]):
        n += 1
print(n)
EOF
}

guest_only_inos g1 >"$W/g1.inos"
guest_only_inos g2 >"$W/g2.inos"
diag "inodes only in g1: $(grep -c '' "$W/g1.inos"), only in g2: $(grep -c '' "$W/g2.inos")"
flush_fs "$mnt"
dump "$img" "$W/before.json"

run_case() { # LABEL GUEST CHROOT-DIR
	local label=$1 g=$2 dir=$3 n
	chrooted "$dir"
	vrun run --fix --journal "$W/$g.journal" "$R"
	rc_in "$RC" "1 2" "$label: live --fix without --force"
	if cat "$W/run.out" "$W/run.err" | grep -i 'running' | grep -qE -- "/$g([/:' ]|\$)|'$g'|guest $g"; then
		ok 0 "$label: a message says the guest $g may be running"
		diag "$(cat "$W/run.out" "$W/run.err" | grep -i 'running' | grep -m2 -E -- "/$g([/:' ]|\$)|'$g'|guest $g" | head -c 400)"
	else
		ok 1 "$label: a message says the guest $g may be running"
		diag "stdout: $(grep -v '^done' "$W/run.out" | head -c 600 | cat -v)"
		diag "stderr: $(head -c 600 "$W/run.err" | cat -v)"
	fi
	flush_fs "$mnt"
	dump "$img" "$W/after.json"
	n=$(changed_in "$W/before.json" "$W/after.json" "$W/$g.inos")
	is "$n" 0 "$label: none of $g's inodes changed (debugfs)"
	# with --force the repair of the guest goes ahead
	vrun force --fix --force --journal "$W/$g.force.journal" "$R"
	rc_in "$RC" "0 1" "$label: live --fix --force"
	flush_fs "$mnt"
	dump "$img" "$W/forced.json"
	n=$(changed_in "$W/before.json" "$W/forced.json" "$W/$g.inos")
	[ "$n" -gt 0 ]
	ok $? "$label: with --force, $g's inodes are repaired ($n changed)"
	stop_chrooted
	# back to the original state for the next case
	vrun undo --undo "$W/$g.force.journal" "$R"
	vrun undo --undo "$W/$g.journal" "$R"
	flush_fs "$mnt"
	dump "$img" "$W/before.json"
}

# a process whose root is outside every guest does not stop the repair
chrooted "$mnt/outside"
vrun free --fix --journal "$W/free.journal" "$R"
rc_in "$RC" "0 1" "a process chrooted outside ROOT: live --fix"
n=$(cat "$W/free.out" "$W/free.err" | grep -ci 'may be running')
is "$n" 0 "a process chrooted outside ROOT: no guest is reported as running"
stop_chrooted
vrun undo --undo "$W/free.journal" "$R"
rc_in "$RC" 0 "a process chrooted outside ROOT: undo"
flush_fs "$mnt"
dump "$img" "$W/before.json"

run_case "a process chrooted into the guest root" g1 "$R/g1"
run_case "a process chrooted below the guest root" g2 "$R/g2/usr"

done_testing
