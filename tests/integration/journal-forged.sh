#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# journal-forged.sh - journals and plans are untrusted input.  On a
# loop-mounted ext4 image with two guests, a hash store and an outside/
# directory of victims, a genuine vhashify journal is forged (records
# inserted before the genuine ones, every line with a valid CRC32C,
# computed here independently): a flag change on outside/victim with its
# real dev:ino:generation, a store entry '.hash/../../outside/v4', a path
# through a symlinked parent, a temporary name '../../outside/v5', and
# headers whose roots are / or the mount point.  A live repair journal
# whose header names the mount point (or whose record lies outside its
# ROOT) would set outside/w to mode 0000.  vaudit --undo/--resume must
# refuse each with one line naming the journal, exit 2, and leave victims
# and guests as they were (content, inode, mode, links, flags, ctime).
# Then image plans: /outside/victim below --prefix /vs, '..', a symlink
# in the image, an inode that is not the path's: refused, nothing changed
# (debugfs dump).  The genuine journal and plan still work.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs debugfs lsattr losetup mount umount timeout
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify
. "$top_srcdir/tests/integration/fixlib.sh"
W=$TEST_TMP

# ---------------------------------------------------------------- helpers

# forge.py: CRC32C (Castagnoli, reflected 0x82F63B78, init and final xor
# ~0) and journal rewriting, independent of the C code
cat >"$W/forge.py" <<'PY'
import base64, fcntl, hashlib, os, struct, sys

T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)

def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

def line(body):
    return body + b'\tcrc=%08x\n' % crc32c(body)

def b64(s):
    return base64.b64encode(s.encode()).decode()

def getflags(p):
    fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        buf = fcntl.ioctl(fd, 0x80086601, struct.pack('l', 0))
        return struct.unpack('l', buf)[0] & 0xFFFFFFFF
    finally:
        os.close(fd)

def getgen(p):
    fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        buf = fcntl.ioctl(fd, 0x80087601, struct.pack('l', 0))  # FS_IOC_GETVERSION
        return struct.unpack('l', buf)[0] & 0xFFFFFFFF
    finally:
        os.close(fd)

def ident(p):
    st = os.lstat(p)
    return '%d:%d' % (os.major(st.st_dev), os.minor(st.st_dev)), st.st_ino, getgen(p)

def cmd_checkcrc(j):
    """every line of a genuine journal has the CRC32C computed here"""
    n = 0
    for l in open(j, 'rb'):
        body, _, crc = l.rstrip(b'\n').rpartition(b'\tcrc=')
        if int(crc, 16) != crc32c(body):
            print('line %d: crc %s, computed %08x' % (n + 1, crc.decode(), crc32c(body)))
            return 1
        n += 1
    print('%d lines' % n)
    return 0

def rec_I(dev, ino, gen, oldf, newf, mode, path):
    return 'I\t{seq}\t%s\t%d\t%d\t0x%08x\t%o\t0x%08x\t%o\tlegacy-notail\t%s' % (
        dev, ino, gen, oldf, mode, newf, mode, b64(path))

def rec_L(op, dev, ino, gen, oldino, path, tmp, other):
    return 'L\t{seq}\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s' % (
        op, dev, ino, gen, oldino, b64(path), b64(tmp) if tmp else '', b64(other) if other else '')

def forged(kind, m):
    """the forged record(s) and the header source, for case @kind"""
    vs = m + '/vs'
    if kind in ('outside', 'root-slash', 'root-mnt'):
        p = m + '/outside/victim'
        dev, ino, gen = ident(p)
        f = getflags(p)
        return [rec_I(dev, ino, gen, f | 0x10, f, 0o644, p)]
    if kind == 'dotdot':
        p = m + '/outside/v4'
        dev, ino, gen = ident(p)
        return [rec_L('store', dev, ino, gen, 0, vs + '/.hash/../../outside/v4', '', '')]
    if kind == 'symlink':
        p = m + '/outside/victim2'
        dev, ino, gen = ident(p)
        f = getflags(p)
        return [rec_I(dev, ino, gen, f | 0x10, f, 0o644, vs + '/g1/lnk/victim2')]
    if kind == 'tmp':
        p = m + '/outside/v5'
        dev, ino, gen = ident(p)
        return [rec_L('link', dev, ino, gen, 12345, vs + '/g1/f1', '../../outside/v5', vs + '/g2/f1')]
    raise SystemExit('unknown case ' + kind)

def cmd_unify(src, out, kind, m):
    """@src with the forged records first (seqs renumbered), new CRCs"""
    lines = [l.rstrip(b'\n').rpartition(b'\tcrc=')[0].decode() for l in open(src, 'rb')]
    hdr = lines[0].split('\t')
    if kind in ('root-slash', 'root-mnt'):
        old = base64.b64decode(hdr[4][7:]).decode()
        hdr[4] = 'source=' + b64(('/' if kind == 'root-slash' else m) + '\n' + old)
    new = ['\t'.join(hdr)]
    add = forged(kind, m)
    for i, r in enumerate(add):
        new.append(r.format(seq=i + 1))
    for l in lines[1:]:
        f = l.split('\t')
        f[1] = str(int(f[1]) + len(add))
        new.append('\t'.join(f))
    with open(out, 'wb') as fh:
        for l in new:
            fh.write(line(l.encode()))
    return 0

def cmd_live(out, src_root, m, victim):
    """a live repair journal: @victim (mode 0644 now) was 0000 before"""
    dev, ino, gen = ident(victim)
    f = getflags(victim)
    hdr = 'vaudit-journal\t1\tbackend=live\tuuid=unknown\tsource=' + b64(src_root)
    i = 'I\t1\t%s\t%d\t%d\t0x%08x\t%o\t0x%08x\t%o\tlegacy-barrier\t%s' % (
        dev, ino, gen, f, 0, f, 0o644, b64(victim))
    with open(out, 'wb') as fh:
        for l in (hdr, i, 'D\t1'):
            fh.write(line(l.encode()))
    return 0

def cmd_snap(m):
    """every entry below @m: inode, mode, links, size, flags, ctime, content"""
    for d, dirs, files in os.walk(m):
        dirs.sort()
        dirs[:] = [x for x in dirs if x != 'lost+found']
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            st = os.lstat(p)
            extra = ''
            if os.path.isfile(p) and not os.path.islink(p):
                extra = '%08x %s' % (getflags(p), hashlib.sha256(open(p, 'rb').read()).hexdigest())
            print(p[len(m):], st.st_ino, oct(st.st_mode), st.st_nlink, st.st_size, st.st_ctime_ns, extra)
    return 0

def cmd_plan(out, img, path, ino, flags, mode, newmode, gpath, gino, gflags):
    """an image plan: a genuine action on @gpath, then @path"""
    def act(p, i, fl, md, nm):
        return ('{"action":"set-flags","kinds":["legacy-notail"],"path":"%s","dev":"0:0","ino":%d,'
                '"generation":null,"flags":"0x%08x","mode":"%04o","new_flags":"0x%08x",'
                '"new_mode":"%04o"}\n' % (p, i, fl, md, fl, nm))
    with open(out, 'w') as fh:
        fh.write('{"vaudit_plan":1,"backend":"image","uuid":"unknown","source":"%s"}\n' % img)
        fh.write(act(gpath, int(gino), int(gflags, 0), 0o644, 0o600))
        if path:
            fh.write(act(path, int(ino), int(flags, 0), int(mode, 8), int(newmode, 8)))
    return 0

cmd = sys.argv[1]
sys.exit(globals()['cmd_' + cmd](*sys.argv[2:]))
PY
FG="python3 $W/forge.py"

# refused TAG FILE DESC: exit 2, one line "vaudit: 'FILE': refused..."
refused() {
	local tag=$1 f=$2
	shift 2
	is "$RC" 2 "$*: exit 2" || diag "stderr: $(head -c 1000 "$W/$tag.err" | cat -v)"
	one_line_naming "$f" "$tag" "$*"
	# (a temporary name with a '/' is already malformed for the loader)
	grep -qE "refused, nothing changed|not a usable journal \(line [0-9]+\): bad temporary name" "$W/$tag.err"
	ok $? "$*: the line says it was refused" || diag "stderr: $(head -c 1000 "$W/$tag.err" | cat -v)"
}

# ---------------------------------------------------------------- unify journals

IMG=$(mkimage forged ext4 64) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
python3 - "$M" <<'PY'
import os, sys
m = sys.argv[1]
for d in ('vs/g1', 'vs/g2', 'vs/.hash', 'outside'):
    os.makedirs(os.path.join(m, d), exist_ok=True)
os.chmod(os.path.join(m, 'vs/.hash'), 0o700)
T = 1500000000 * 10**9 + 7
for g in ('g1', 'g2'):
    for k in range(3):
        p = os.path.join(m, 'vs', g, 'f%d' % k)
        with open(p, 'wb') as fh:
            fh.write(bytes([k]) * 4000)
        os.chmod(p, 0o644)
        os.utime(p, ns=(T, T))
for v in ('victim', 'victim2', 'v4', 'v5', 'w'):
    p = os.path.join(m, 'outside', v)
    with open(p, 'wb') as fh:
        fh.write(b'outside file %s\n' % v.encode())
    os.chmod(p, 0o644)
os.symlink('../../outside', os.path.join(m, 'vs/g1/lnk'))
PY
ok $? "fixture: two guests, a store and outside/ on a mounted ext4 image"

J=$W/real.journal
urun real "$VHASHIFY" --flags=immutable $NP --journal "$J" --manually --destination "$M/vs/.hash" -- \
	"$M/vs/g1" "" "$M/vs/g2" ""
rc_is real 0 "a genuine vhashify run"
out=$($FG checkcrc "$J")
ok $? "CRC32C computed here matches every line of the genuine journal ($out)" || diag "$out"

before=$(python3 "$W/forge.py" snap "$M")
for kind in outside dotdot symlink tmp root-slash root-mnt; do
	F=$W/forged-$kind.journal
	$FG unify "$J" "$F" "$kind" "$M" || { ok 1 "forge $kind"; continue; }
	urun "u-$kind" "$VAUDIT" --undo "$F" "$M/vs"
	refused "u-$kind" "$F" "unify journal, $kind: --undo"
	urun "r-$kind" "$VAUDIT" --resume "$F" "$M/vs"
	refused "r-$kind" "$F" "unify journal, $kind: --resume"
	is "$(python3 "$W/forge.py" snap "$M")" "$before" "unify journal, $kind: guests, store and victims unchanged"
done
# the header's root / given as ROOT is not below what the user named
F=$W/forged-root-mnt.journal
urun u-mnt-noroot "$VAUDIT" --undo "$F"
refused u-mnt-noroot "$F" "unify journal, root-mnt, no ROOT and no configuration"
urun u-real-noroot "$VAUDIT" --undo "$J" --no-config
refused u-real-noroot "$J" "genuine journal, --no-config and no ROOT (/vservers is not its root)"
is "$(python3 "$W/forge.py" snap "$M")" "$before" "after the refused runs: nothing changed"

# ---------------------------------------------------------------- live journals

for c in mnt:"$M" vs:"$M/vs"; do
	F=$W/live-${c%%:*}.journal
	$FG live "$F" "${c#*:}" "$M" "$M/outside/w"
	urun "l-${c%%:*}" "$VAUDIT" --undo "$F" "$M/vs"
	refused "l-${c%%:*}" "$F" "live journal, source ${c%%:*}: --undo"
	is "$(stat -c %a "$M/outside/w")" 644 "live journal, source ${c%%:*}: outside/w keeps mode 0644"
done
is "$(python3 "$W/forge.py" snap "$M")" "$before" "after the live journals: nothing changed"

# the genuine journal, its roots below the ROOT named
urun good "$VAUDIT" --undo "$J" "$M/vs"
rc_is good 0 "the genuine journal: --undo with ROOT $M/vs"
is "$(stat -c %h "$M/vs/g1/f1"):$(stat -c %h "$M/vs/g2/f1")" "1:1" "the genuine undo gave the names private copies"

# ---------------------------------------------------------------- image plans

mkdir -p "$W/tree/vs/g1" "$W/tree/outside"
printf 'guest file\n' >"$W/tree/vs/g1/a"
printf 'victim\n' >"$W/tree/outside/victim"
chmod 0644 "$W/tree/vs/g1/a" "$W/tree/outside/victim"
ln -s /outside "$W/tree/vs/g1/lnk"
PI=$W/plan.img
truncate -s 16M "$PI" && mke2fs -q -F -t ext4 -d "$W/tree" "$PI" >/dev/null 2>&1
ok $? "image with /vs/g1 and /outside/victim (mke2fs -d)"
ino_of() { run_debugfs -R "stat $1" -- "$PI" 2>/dev/null | sed -n '1s/^Inode: \([0-9]*\).*/\1/p'; }
flags_of() { run_debugfs -R "stat $1" -- "$PI" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p' | head -1; }
VI=$(ino_of /outside/victim) VF=$(flags_of /outside/victim)
GI=$(ino_of /vs/g1/a) GF=$(flags_of /vs/g1/a)
dump "$PI" "$W/plan.before.json"
for c in "outside:/outside/victim:$VI" "dotdot:/vs/g1/../../outside/victim:$VI" \
	"symlink:/vs/g1/lnk/victim:$VI" "inode:/vs/g1/a:$VI"; do
	IFS=: read -r kind path ino <<<"$c"
	P=$W/forged-$kind.plan
	$FG plan "$P" "$PI" "$path" "$ino" "$VF" 0644 0000 /vs/g1/a "$GI" "$GF"
	vrun "p-$kind" --fix --plan "$P" --image "$PI" --prefix /vs --journal "$W/p-$kind.journal"
	refused "p-$kind" "$P" "image plan, $kind"
	dump "$PI" "$W/plan.after.json"
	cmp -s "$W/plan.before.json" "$W/plan.after.json"
	ok $? "image plan, $kind: no inode of the image changed (debugfs)"
done
P=$W/good.plan
$FG plan "$P" "$PI" "" 0 0 0 0 /vs/g1/a "$GI" "$GF"
vrun p-good --fix --plan "$P" --image "$PI" --prefix /vs --journal "$W/p-good.journal"
rc_in "$RC" 0 "image plan, genuine action only: applied" || diag "stderr: $(head -c 800 "$W/p-good.err")"
is "$(run_debugfs -R "stat /vs/g1/a" -- "$PI" 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p' | head -1)" \
	0600 "image plan, genuine action: /vs/g1/a has mode 0600"

done_testing
