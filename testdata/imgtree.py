#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""imgtree.py - the directory tree of an unmounted ext2/3/4 image, read with
debugfs alone (no mount, no root), and the fixture changes of
mkfixture.sh --no-mount.

  imgtree.py names IMAGE [PATH]
      every entry below PATH (default /; an image-absolute path without a
      symbolic link in it) as NUL-terminated records "INO<TAB>RELPATH", the
      format of GNU `find PATH -xdev -mindepth 1 -printf '%i\\t%P\\0'` on a
      mount of IMAGE.  Symbolic links are listed, never followed; "." and
      ".." are skipped.

  imgtree.py apply IMAGE
      read NUL-terminated pairs OP, PATH from stdin (PATH image-relative,
      any bytes but NUL, any length) and write them into IMAGE with
      `debugfs -w` on inode numbers: "+i" (flags |= 0x10), "+a" (0x20),
      "+t" (0x8000), "or=0xBITS" (flags |= BITS), "mode=OOO" (the
      permission bits; the file type is kept).  Then every inode of the
      tree (and / itself) is given owner 0:0, the owner mke2fs -d gives
      the staging tree when root builds it.  Every value is read back
      with debugfs; any mismatch or debugfs complaint is fatal (exit 2).

Names are raw bytes: debugfs `ls -p` prints them unescaped between '/'
separators, and a name cannot contain '/', so the records split without
ambiguity even when names hold newlines or invalid UTF-8.
"""

import os
import re
import subprocess
import sys

ENV = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
S_IFMT = 0o170000
S_IFDIR = 0o040000
ROOT_INO = 2

FLAG_OPS = {b'+i': 0x10, b'+a': 0x20, b'+t': 0x8000}


def die(msg):
    sys.stderr.write('imgtree.py: %s\n' % msg)
    sys.exit(2)


def debugfs(image, cmds, write=False):
    """Run debugfs commands (list of str) on image; (stdout, stderr) bytes."""
    args = ['debugfs'] + (['-w'] if write else []) + ['-f', '-', image]
    p = subprocess.run(args, input=''.join(c + '\n' for c in cmds).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    if p.returncode != 0:
        die('debugfs %s failed (%d): %s' % (image, p.returncode, p.stderr[:500]))
    return p.stdout, p.stderr


ECHO_RE = re.compile(rb'debugfs: ls -p <(\d+)>\n')


def list_dirs(image, dirs):
    """{dir_ino: [(ino, mode, name), ...]} for the directory inodes dirs."""
    out, _ = debugfs(image, ['ls -p <%d>' % d for d in dirs])
    res = {d: [] for d in dirs}
    toks = out.split(b'/')
    # toks[0] is the echo of the first command; then records of 7 tokens:
    # ino, mode, uid, gid, name, size, separator (a newline, followed by
    # the echo of the next command where one directory ends)
    cur = None
    sep = toks[0]
    i = 1
    while True:
        echoes = ECHO_RE.findall(sep)
        if echoes:
            cur = int(echoes[-1])
        if i + 6 > len(toks):
            break
        ino, mode, _uid, _gid, name, _size, sep = toks[i:i + 7]
        i += 7
        if cur is None or not ino.isdigit():
            die('cannot parse debugfs ls -p output of %s near %r' % (image, b'/'.join(toks[i - 7:i])[:200]))
        if name in (b'.', b'..') or ino == b'0':
            continue   # ino 0: an unused slot (lost+found's empty blocks)
        res[cur].append((int(ino), int(mode, 8), name))
    return res


def resolve(image, path):
    """Inode of an image-absolute path (no symlink followed)."""
    ino, mode = ROOT_INO, S_IFDIR
    for comp in [c for c in path.split(b'/') if c]:
        if mode & S_IFMT != S_IFDIR:
            die('%r: not a directory before %r' % (path, comp))
        ents = list_dirs(image, [ino])[ino]
        hit = [(i, m) for i, m, n in ents if n == comp]
        if not hit:
            die('%r: no entry %r' % (path, comp))
        ino, mode = hit[0]
    return ino


def walk(image, start_ino=ROOT_INO):
    """[(ino, relpath bytes, mode)] for everything below start_ino, level by level."""
    res = []
    level = [(start_ino, b'')]
    while level:
        ents = list_dirs(image, [d for d, _ in level])
        nxt = []
        for d, rel in level:
            for ino, mode, name in sorted(ents[d], key=lambda e: e[2]):
                r = rel + b'/' + name if rel else name
                res.append((ino, r, mode))
                if mode & S_IFMT == S_IFDIR:
                    nxt.append((ino, r))
        level = nxt
    return res


STAT_RE = re.compile(rb'^Inode: (\d+)\s+Type: \S+\s+Mode:\s+([0-7]+)\s+Flags: (0x[0-9a-fA-F]+)', re.M)
OWNER_RE = re.compile(rb'^User:\s+(\d+)\s+Group:\s+(\d+)', re.M)


def stat_inos(image, inos):
    """{ino: (flags, permission bits (07777), uid, gid)}"""
    out, err = debugfs(image, ['stat <%d>' % i for i in sorted(inos)])
    res = {}
    for block in re.split(rb'^debugfs: ', out, flags=re.M):
        m = STAT_RE.search(block)
        o = OWNER_RE.search(block)
        if m and o:
            res[int(m.group(1))] = (int(m.group(3), 16), int(m.group(2), 8), int(o.group(1)), int(o.group(2)))
    missing = set(inos) - set(res)
    if missing:
        die('debugfs gave no stat for inodes %s: %s' % (sorted(missing)[:10], err[:300]))
    return res


def cmd_names(image, start):
    ino = resolve(image, start)
    w = sys.stdout.buffer
    for i, rel, _mode in walk(image, ino):
        w.write(b'%d\t%s\0' % (i, rel))


def cmd_apply(image):
    data = sys.stdin.buffer.read()
    items = data.split(b'\0')
    if items and items[-1] == b'':
        items.pop()
    if len(items) % 2:
        die('apply: odd number of NUL-terminated items on stdin')
    tree = walk(image)
    by_path = {rel: ino for ino, rel, _m in tree}
    by_path[b''] = ROOT_INO
    inos = {ino for ino, _r, _m in tree} | {ROOT_INO}
    cur = stat_inos(image, inos)
    want = {i: list(v) for i, v in cur.items()}
    # debugfs stat shows the permission bits only; ls -p the whole mode
    ftype = {ino: m & S_IFMT for ino, _r, m in tree}
    ftype[ROOT_INO] = S_IFDIR
    for k in range(0, len(items), 2):
        op, path = items[k], items[k + 1].strip(b'/')
        if path not in by_path:
            die('apply: %r is not in the image' % path)
        ino = by_path[path]
        if op in FLAG_OPS:
            want[ino][0] |= FLAG_OPS[op]
        elif op.startswith(b'or='):
            want[ino][0] |= int(op[3:], 16)
        elif op.startswith(b'mode='):
            want[ino][1] = int(op[5:], 8) & 0o7777
        else:
            die('apply: unknown op %r' % op)
    for ino in want:
        want[ino][2] = want[ino][3] = 0
    cmds = []
    for ino in sorted(want):
        f, m, u, g = want[ino]
        of, om, ou, og = cur[ino]
        if f != of:
            cmds.append('set_inode_field <%d> flags 0x%08x' % (ino, f))
        if m != om:
            cmds.append('set_inode_field <%d> mode 0%o' % (ino, ftype[ino] | m))
        if u != ou:
            cmds.append('set_inode_field <%d> uid 0' % ino)
        if g != og:
            cmds.append('set_inode_field <%d> gid 0' % ino)
    if cmds:
        _out, err = debugfs(image, cmds, write=True)
        err = b'\n'.join(l for l in err.split(b'\n') if l and not l.startswith(b'debugfs '))
        if err:
            die('debugfs -w: %s' % err[:500])
    got = stat_inos(image, inos)
    bad = [i for i in want if tuple(want[i]) != got[i]]
    if bad:
        i = bad[0]
        die('apply: %d inodes differ after writing, e.g. <%d>: want %r, got %r'
            % (len(bad), i, tuple(want[i]), got[i]))


def main():
    a = sys.argv[1:]
    if len(a) in (2, 3) and a[0] == 'names':
        cmd_names(a[1], os.fsencode(a[2]) if len(a) == 3 else b'/')
    elif len(a) == 2 and a[0] == 'apply':
        cmd_apply(a[1])
    else:
        die('usage: imgtree.py names IMAGE [PATH] | imgtree.py apply IMAGE <OPS')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
