#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-kill.sh - vhashify and vaudit --undo killed with SIGKILL part-way:
# no name is ever lost or reads other bytes, every temporary name left
# behind is reported by vaudit as unify-leftover, and vaudit --undo of the
# torn journal gives back exactly the state before the run.
#
# Three guests of $VAUDIT_KILL_FILES (default 3000) files each, every file
# with a twin in the two other guests, on a loop-mounted ext4 image
# (unifytest.py build race: the ground truth is its spec and the copies
# kept outside the image).  A complete link + undo first measures the
# journal's length L (and what an undo appends, U).  Then vhashify is
# killed when its journal holds 2%, 30% and 70% of L lines, and vaudit
# --undo of a complete link when it has appended 10%, 40% and 80% of U.  After each kill: every name opens and reads its own content; the
# names matching '*;??????' (find) are exactly vaudit's unify-leftover
# findings; vaudit --undo JOURNAL exits 0 and every name is back (inode of
# its own, metadata, flags, content), with no temporary name and no new
# store entry.  Once, vaudit --resume settles a killed run, vhashify runs
# again and links every set, and both journals are undone.  (An undo's
# marks are written in blocks, so a killed undo leaves changes without
# marks: the next one must recognise them.)
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs chattr losetup mount umount mountpoint timeout find truncate
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

: "${VAUDIT_KILL_FILES:=3000}"
N=$VAUDIT_KILL_FILES

race_fixture kill "$N"

lines() { wc -l <"$1"; }

# kill_at TAG JOURNAL LINES CMD...: run CMD (stdout/stderr in $W/TAG.*),
# SIGKILL it as soon as JOURNAL has LINES lines; KILLED=1 when it was
# still running then, else 0 (it finished first)
kill_at() {
	local tag=$1 j=$2 at=$3 res
	shift 3
	res=$(python3 - "$j" "$at" "$W/$tag.out" "$W/$tag.err" "$@" <<'EOF'
import os, signal, subprocess, sys, time
j, at, out, err, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
with open(out, 'wb') as o, open(err, 'wb') as e:
    p = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
    t0 = time.monotonic()
    while p.poll() is None:
        try:
            with open(j, 'rb') as fh:
                n = fh.read().count(b'\n')
        except FileNotFoundError:
            n = 0
        if n >= at or time.monotonic() - t0 > 300:
            p.send_signal(signal.SIGKILL)
            p.wait()
            print('killed %d' % n)
            sys.exit(0)
        time.sleep(0.001)
print('finished %d' % p.returncode)
EOF
)
	KILLED=0
	[ "${res%% *}" = killed ] && KILLED=1
	diag "$tag: $res (at $at lines)"
}

# after_kill LABEL JOURNAL: the checks after a kill, then the undo
after_kill() {
	local label=$1 j=$2 want got
	printf '' >"$W/stop"
	python3 "$UT" reader --mnt "$M" --n "$N" --stop "$W/stop" --ready "$W/ready" \
		--out "$W/reader" --limit 60 2>"$W/reader.err"
	is "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["failures"], r["examples"][:3])' "$W/reader")" \
		"0 []" "$label: every name opens and reads its own content"
	want=$(find "$M/vs" -name '*;??????' -printf '%p\n' | LC_ALL=C sort)
	urun audit "$VAUDIT" --json "$M/vs"
	got=$(python3 -c '
import json, sys
for l in open(sys.argv[1], "rb"):
    f = json.loads(l)
    if f.get("kind") == "unify-leftover":
        print(f["path"])' "$W/audit.out" | LC_ALL=C sort)
	is "$got" "$want" "$label: vaudit reports exactly the $(printf '%s' "$want" | grep -c '') temporary names left as unify-leftover"
	urun undo "$VAUDIT" --undo "$j" "$M"
	rc_is undo 0 "$label: vaudit --undo of the torn journal"
	diag "$label: the undo says: $(sed -n 's/^undo [^:]*: //p' "$W/undo.out" | sort | uniq -c | sort -rn | tr -s ' \n' ' ')"
	state "$M" "$label.undone"
	chk_orig "$label: after --undo" "$S" "$M" "$C" orig "$label.undone"
	no_tmp "$M" "$label: after --undo"
}

# ------------------------------------------------------------------ a complete run
J0=$W/full.journal
urun full "$VHASHIFY" $FL $NP --journal "$J0" --manually --destination "$H" -- "${TREES[@]}"
rc_is full 0 "a complete vhashify run"
L=$(lines "$J0")
urun fullundo "$VAUDIT" --undo "$J0" "$M"
rc_is fullundo 0 "vaudit --undo of the complete run"
U=$(($(lines "$J0") - L))
state "$M" full.undone
chk_orig "complete run undone" "$S" "$M" "$C" orig full.undone
diag "a complete run journals $L lines; its undo appends $U"
[ "$L" -ge 20 ] && [ "$U" -ge 10 ] || bail_out "journals too short to cut ($L, $U lines)"

# ------------------------------------------------------------------ vhashify killed
for pct in 2 30 70; do
	J=$W/kill$pct.journal
	kill_at kill$pct "$J" $((L * pct / 100)) "$VHASHIFY" $FL $NP --journal "$J" --manually \
		--destination "$H" -- "${TREES[@]}"
	ok $((1 - KILLED)) "vhashify killed (SIGKILL) with $pct% of its journal written"
	after_kill "killed at $pct%" "$J"
done

# ------------------------------------------------------------------ killed, resumed, run again
J=$W/kill50.journal
kill_at kill50 "$J" $((L / 2)) "$VHASHIFY" $FL $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
ok $((1 - KILLED)) "vhashify killed (SIGKILL) with half of its journal written"
urun resume "$VAUDIT" --resume "$J" "$M"
rc_is resume 0 "vaudit --resume of the torn journal"
no_tmp "$M" "after --resume"
J2=$W/again.journal
urun again "$VHASHIFY" $FL $NP --journal "$J2" --manually --destination "$H" -- "${TREES[@]}"
rc_is again 0 "vhashify run again after the resume"
state "$M" again
py_checks python3 "$UT" check-run --aggregate --label "killed, resumed and run again" --spec "$S" --mnt "$M" \
	--copies "$C" --scenario all --before "$W/state.orig" --after "$W/state.again" --flags immutable
urun undo2 "$VAUDIT" --undo "$J2" "$M"
rc_is undo2 0 "vaudit --undo of the second run"
urun undo1 "$VAUDIT" --undo "$J" "$M"
rc_is undo1 0 "vaudit --undo of the resumed run"
state "$M" again.undone
chk_orig "both undone" "$S" "$M" "$C" orig again.undone
no_tmp "$M" "both undone"

# ------------------------------------------------------------------ vaudit --undo killed
for pct in 10 40 80; do
	J=$W/link$pct.journal
	urun link$pct "$VHASHIFY" $FL $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
	rc_is link$pct 0 "vhashify links everything"
	kill_at undokill$pct "$J" $((L + U * pct / 100)) "$VAUDIT" --undo "$J" "$M"
	ok $((1 - KILLED)) "vaudit --undo killed (SIGKILL) with $pct% of its marks written"
	after_kill "undo killed at $pct%" "$J"
done

# ------------------------------------------------------------------ the undo's temporary names
# An undo step's temporary name is derived from its journal record
# (splitmix64 of SEQ ^ INO * 0x100000001b3, six of [a-zA-Z0-9]), computed
# here independently: a file there that equals the shared inode is what a
# killed undo leaves, and is removed; any other file is left alone, and the
# step goes through a random name instead.
J=$W/names.journal
urun nlink "$VHASHIFY" $FL $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
rc_is nlink 0 "vhashify links everything"
python3 - "$J" "$W/planted" <<'EOF'
import base64, os, shutil, sys
M64 = (1 << 64) - 1
CH = b'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
def name(base, seq, ino):
    x = ((seq ^ ((ino * 0x100000001b3) & M64)) + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    x ^= x >> 31
    s = b''
    for _ in range(6):
        s += CH[x % 62:x % 62 + 1]
        x //= 62
    return base[:255 - 7] + b';' + s
links = []
for line in open(sys.argv[1], 'rb'):
    f = line.rstrip(b'\n').split(b'\t')
    if f[0] == b'L' and f[2] == b'link':
        links.append((int(f[1]), int(f[4]), base64.b64decode(f[7]), base64.b64decode(f[9])))
with open(sys.argv[2], 'w') as out:
    for k, (seq, ino, path, other) in enumerate(links[:4]):
        d, b = os.path.split(path)
        t = os.path.join(d, name(b, seq, ino))
        if k < 2:       # a copy of the shared inode, as a killed undo leaves it
            shutil.copy2(other, t)
            st = os.stat(other)
            os.chown(t, st.st_uid, st.st_gid)
            os.utime(t, ns=(st.st_atime_ns, st.st_mtime_ns))
            out.write('copy %s\n' % t.decode())
        else:           # somebody else's file
            with open(t, 'wb') as fh:
                fh.write(b'not ours\n')
            out.write('other %s\n' % t.decode())
EOF
is "$(cut -d' ' -f1 "$W/planted" | sort | uniq -c | tr -s ' \n' ' ')" " 2 copy 2 other " \
	"four files planted on the undo's temporary names of four links"
urun nundo "$VAUDIT" --undo "$J" "$M"
rc_is nundo 0 "vaudit --undo with files on its temporary names"
left=$(while read -r kind path; do
	if [ "$kind" = copy ]; then [ -e "$path" ] && echo "copy left: $path"
	else [ "$(cat "$path" 2>/dev/null)" = "not ours" ] || echo "other changed: $path"; fi
done <"$W/planted")
is "$left" "" "the copies were removed as leftovers, the other files left as they were"
while read -r kind path; do [ "$kind" = other ] && rm -f -- "$path"; done <"$W/planted"
state "$M" names.undone
chk_orig "undo past planted names" "$S" "$M" "$C" orig names.undone
no_tmp "$M" "undo past planted names"

done_testing
