#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-deep.sh - vhashify and `vaudit --undo` at any depth: two
# guests on a loop-mounted ext4 image, each a directory chain 20,000 levels
# deep (a path of 40 KiB, ten times PATH_MAX) with the same file at the
# bottom.  vhashify --manually --flags=immutable must link the two names to
# one immutable store entry and exit 0 (no ENAMETOOLONG anywhere: the
# shared walker copes, so must every open after it), the dry run must change nothing, and
# vaudit --undo of the journal must give each name a private copy again.
# The ground truth is read independently: python walking the chains with
# directory fds (os.stat with dir_fd, FS_IOC_GETFLAGS), never the programs'
# output.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs losetup mount umount timeout
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

DEPTH=20000
P=$W/deep.py
cat >"$P" <<'EOF'
# deep.py build ROOT DEPTH | probe ROOT DEPTH: the chains ROOT/g1, ROOT/g2
# of DEPTH directories "d", each with the file "same" at the bottom.
# probe prints per guest: ino nlink mode mtime immutable sha256 leftovers
import fcntl, hashlib, os, struct, sys

FS_IOC_GETFLAGS = 0x80086601
CONTENT = b"the same content at the bottom of a deep tree\n" * 100

def bottom(root, g, depth, make=False):
    fd = os.open(os.path.join(root, g), os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        if make:
            os.mkdir("d", 0o755, dir_fd=fd)
        n = os.open("d", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = n
    return fd

cmd, root, depth = sys.argv[1], sys.argv[2], int(sys.argv[3])
for g in ("g1", "g2"):
    if cmd == "build":
        os.makedirs(os.path.join(root, g))
        fd = bottom(root, g, depth, make=True)
        f = os.open("same", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
        os.write(f, CONTENT)
        os.close(f)
        os.utime("same", (1600000000, 1600000000), dir_fd=fd, follow_symlinks=False)
        os.close(fd)
    else:
        fd = bottom(root, g, depth)
        st = os.stat("same", dir_fd=fd, follow_symlinks=False)
        f = os.open("same", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        flags = struct.unpack("l", fcntl.ioctl(f, FS_IOC_GETFLAGS, struct.pack("l", 0)))[0]
        h = hashlib.sha256(os.read(f, 1 << 20)).hexdigest()[:16]
        os.close(f)
        left = sorted(n for n in os.listdir(fd) if n != "same")
        print(g, st.st_ino, st.st_nlink, "%o" % st.st_mode, st.st_mtime_ns,
              "i" if flags & 0x10 else "-", h, ",".join(left) or "none")
        os.close(fd)
EOF

# 1 KiB blocks: a directory takes one block, 40,000 of them fit in 128 MiB
img=$W/deep.img
truncate -s 128M "$img" && mke2fs -q -F -t ext4 -b 1024 -I 256 -N 60000 "$img" >/dev/null 2>&1 &&
	mnt=$(mount_fixture "$img")
ok $? "an ext4 image with room for $((2 * DEPTH)) directories, mounted" || bail_out "cannot make the image"
G=$mnt/vs
H=$mnt/hash
mkdir -p "$G" "$H"
python3 "$P" build "$G" "$DEPTH" 2>"$W/build.err"
ok $? "two guests, each a $DEPTH-level chain with the same file at the bottom" ||
	bail_out "cannot build the chains: $(cat "$W/build.err")"
probe() { python3 "$P" probe "$G" "$DEPTH"; }
before=$(probe)
diag "before: $before"
read -r _ i1 n1 m1 t1 f1 h1 l1 <<<"$(sed -n 1p <<<"$before")"
read -r _ i2 n2 m2 t2 f2 h2 l2 <<<"$(sed -n 2p <<<"$before")"
is "$n1 $n2 $f1 $f2 $l1 $l2" "1 1 - - none none" "before: two private inodes, not immutable, nothing else at the bottom"
[ "$i1" != "$i2" ] && [ "$h1" = "$h2" ]
ok $? "before: different inodes ($i1, $i2), the same content"

TREES=("$G/g1" "" "$G/g2" "")
urun dry "$VHASHIFY" -n $FL $NP --manually --destination "$H" -- "${TREES[@]}"
rc_is dry 1 "vhashify -n at depth $DEPTH (it would link)"
is "$(probe)" "$before" "the dry run changed nothing"

J=$W/deep.journal
urun link "$VHASHIFY" $FL $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
rc_is link 0 "vhashify --flags=immutable at depth $DEPTH"
grep -q 'too long' "$W/link.err"
ok $((! $?)) "vhashify: no 'File name too long' on stderr"
after=$(probe)
diag "after vhashify: $after"
read -r _ a1 k1 am1 at1 af1 ah1 al1 <<<"$(sed -n 1p <<<"$after")"
read -r _ a2 k2 am2 at2 af2 ah2 al2 <<<"$(sed -n 2p <<<"$after")"
[ "$a1" = "$a2" ]
ok $? "after vhashify: both names are one inode ($a1, $a2)"
is "$k1 $af1 $al1 $al2" "3 i none none" \
	"after vhashify: two guests + the store entry = 3 links, immutable, no temporary name left"
is "$ah1 $am1 $at1" "$h1 $m1 $t1" "after vhashify: the same content, mode and mtime"

urun undo "$VAUDIT" --undo "$J" "$mnt"
rc_is undo 0 "vaudit --undo of the journal at depth $DEPTH"
grep -q 'too long' "$W/undo.err"
ok $((! $?)) "vaudit --undo: no 'File name too long' on stderr"
undone=$(probe)
diag "after --undo: $undone"
read -r _ u1 c1 um1 ut1 uf1 uh1 ul1 <<<"$(sed -n 1p <<<"$undone")"
read -r _ u2 c2 um2 ut2 uf2 uh2 ul2 <<<"$(sed -n 2p <<<"$undone")"
[ "$u1" != "$u2" ] && [ "$u1" != "$a1" ] && [ "$u2" != "$a1" ]
ok $? "after --undo: each name has a private inode again ($u1, $u2; the shared one was $a1)"
is "$c1 $c2 $uf1 $uf2 $ul1 $ul2" "1 1 - - none none" "after --undo: one link each, not immutable, no temporary name"
is "$uh1 $um1 $ut1 $uh2 $um2 $ut2" "$h1 $m1 $t1 $h2 $m2 $t2" "after --undo: the same content, mode and mtime"
is "$(find "$H" -type f ! -name method | head -3)" "" "after --undo: no store entry left"

done_testing
