#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-passes.sh - vhashify --memory-limit: when the candidates' digests
# do not fit what the limit leaves, they are read in passes by size range
# (vhashify(8), MEMORY), with the same result as one pass.
#
# Guests on a loop-mounted ext4 image, made the way hosts get them: g1 and
# g2 unpacked from Debian's perl-base and perl-modules-5.36 (dpkg-deb -x:
# the same mtimes), g3 a `cp -a` of g1 and g4 a `cp -r` of g1 (new mtimes,
# so not the same files by vhashify's rule).  The ground truth is worked
# out here, in Python, from every file's content (SHA-256), size, mode,
# owner and mtime to the nanosecond:
#
#   dry runs   the default (one pass) and --memory-limit=1 (the smallest
#              pass: several) announce the same links and store entries,
#              and the same counters but "passes"
#   real run   --memory-limit=1: every set of two or more inodes of the
#              ground truth (16 bytes or more) is one inode with a store
#              entry, no name changed its content or metadata, and
#              vaudit --undo gives every name its inode's content back
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs losetup mount umount dpkg-deb
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

debs=()
for p in perl-base perl-modules-5.36; do
	d=$(find /var/cache/apt/archives -maxdepth 1 -name "${p}_*.deb" 2>/dev/null | head -1)
	if [ -z "$d" ]; then
		(cd "$W" && timeout 300 apt-get download "$p") >"$W/apt.out" 2>&1
		d=$(find "$W" -maxdepth 1 -name "${p}_*.deb" | head -1)
	fi
	[ -n "$d" ] || skip_all "no $p package (apt-get download $p failed)"
	debs+=("$d")
done

IMG=$(mkimage passes ext4 256 65536) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
H=$M/.hash
mkdir -p "$H" "$M/vs" && chmod 700 "$H"
for g in g1 g2; do
	for d in "${debs[@]}"; do dpkg-deb -x "$d" "$M/vs/$g" || bail_out "dpkg-deb -x failed"; done
done
if ! cp -a "$M/vs/g1" "$M/vs/g3" || ! cp -r "$M/vs/g1" "$M/vs/g4"; then
	bail_out "cp failed"
fi
TREES=("$M/vs/g1" "" "$M/vs/g2" "" "$M/vs/g3" "" "$M/vs/g4" "")

# truth: the files of the guests as (name, inode, key) lines and the sets
# to link (key: sha256 size mode uid gid mtime_ns; 16 bytes or more)
PY=$(cat <<'PYEOF'
import hashlib, json, os, sys
def scan(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            with open(p, 'rb') as fh:
                h = hashlib.sha256(fh.read()).hexdigest()
            out[os.path.relpath(p, root)] = (st.st_ino, (h, st.st_size, st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns))
    return out
cmd, root = sys.argv[1], sys.argv[2]
if cmd == 'scan':
    json.dump({k: [v[0], list(v[1])] for k, v in scan(root).items()}, sys.stdout)
elif cmd == 'check':
    before = json.load(open(sys.argv[3]))
    after = scan(root)
    sets = {}
    for name, (ino, key) in before.items():
        if name.startswith('.hash/') or key[1] < 16:
            continue
        sets.setdefault(tuple(key), set()).add(ino)
    want = [k for k, inos in sets.items() if len(inos) > 1]
    bad = [n for n, (ino, key) in before.items() if n in after and tuple(after[n][1]) != tuple(key)]
    lost = [n for n in before if n not in after]
    split = 0
    for k in want:
        names = [n for n, (ino, key) in before.items() if tuple(key) == k and not n.startswith('.hash/')]
        if len({after[n][0] for n in names}) != 1:
            split += 1
    unwanted = 0
    byino = {}
    for n, (ino, key) in after.items():
        if not n.startswith('.hash/'):
            byino.setdefault(ino, set()).add(tuple(key))
    print(len(want), split, len(bad), len(lost), sum(1 for s in byino.values() if len(s) > 1))
PYEOF
)
python3 -c "$PY" scan "$M" >"$W/before.json" || bail_out "scan failed"
read -r NSETS _ < <(python3 -c "$PY" check "$M" "$W/before.json")
[ "$NSETS" -gt 100 ]
ok $? "ground truth: $NSETS sets of identical files (16 bytes or more) of two or more inodes"

# events EVENTS OUT: the link and store events of a --json run, sorted
events() {
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("event") in ("link", "store", "skip", "protect"):
        print(json.dumps({k: v for k, v in r.items() if k not in ("elapsed",)}, sort_keys=True))
' "$W/$1.out" | sort >"$W/$1.events"
}
summary_of() { tail -n 1 "$W/$1.out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["passes"], json.dumps({k: v for k, v in r.items() if k not in ("elapsed", "passes")}, sort_keys=True))'; }

urun one "$VHASHIFY" -n --json $FL $NP --manually --destination "$H" -- "${TREES[@]}"
rc_is one 1 "dry run, default memory limit (it would link)"
urun many "$VHASHIFY" -n --json --memory-limit=1 $FL $NP --manually --destination "$H" -- "${TREES[@]}"
rc_is many 1 "dry run, --memory-limit=1 (it would link)"
read -r p1 s1 < <(summary_of one)
read -r pn sn < <(summary_of many)
is "$p1" 1 "the default limit reads the candidates in one pass"
[ "$pn" -ge 2 ]
ok $? "--memory-limit=1 reads them in $pn passes"
is "$sn" "$s1" "the summaries agree but for the passes"
events one
events many
cmp -s "$W/one.events" "$W/many.events"
ok $? "the same $(grep -c '"event": "link"' "$W/one.events") links, store entries and skips in one pass and in $pn"

urun text "$VHASHIFY" -n --memory-limit=1 $FL $NP --manually --destination "$H" -- "${TREES[@]}"
grep -q "($pn passes: --memory-limit)" "$W/text.out"
ok $? "the text summary says how many passes"

urun real "$VHASHIFY" --json --memory-limit=1 $FL $NP --journal="$W/real.journal" --manually --destination "$H" -- "${TREES[@]}"
rc_is real 0 "vhashify --memory-limit=1, for real"
read -r pr _ < <(summary_of real)
is "$pr" "$pn" "the real run read in the dry run's $pn passes"
read -r nsets split bad lost mixed < <(python3 -c "$PY" check "$M" "$W/before.json")
is "$split:$bad:$lost:$mixed" "0:0:0:0" "after the run: every one of the $nsets sets is one inode, no name changed or lost, no inode holds two different files"

urun undo "$VAUDIT" --undo "$W/real.journal" "$M"
rc_is undo 0 "vaudit --undo of the multi-pass run"
python3 -c "$PY" scan "$M" >"$W/undone.json"
python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
bad = [n for n in a if not n.startswith(".hash/") and (n not in b or b[n][1] != a[n][1])]
inos = {}
for n in a:
    if not n.startswith(".hash/"):
        inos.setdefault(a[n][0], set()).add(b[n][0] if n in b else None)
print(len(bad), sum(1 for s in inos.values() if len(s) != 1))
' "$W/before.json" "$W/undone.json" >"$W/undo.cmp"
is "$(cat "$W/undo.cmp")" "0 0" "after --undo: every name has its content and metadata, the names of each inode before are one inode again"

done_testing
