#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""vclonetest.py - the ground truth of tests/integration/vclone.sh, read
from the filesystem with os.lstat, os.listxattr/getxattr, hashlib and
FS_IOC_GETFLAGS, never from vclone's output.

  vclonetest.py check SRC DST --flags 0xMASK [--omit PATH]... [--copy-under PATH]...
        every entry of SRC (but the omitted ones and what is below them) is
        in DST and nothing else: same type, mode, owner, group, mtime (ns),
        size, content (SHA-256), symlink target, device number, extended
        attributes (names and values); a regular file whose flags hold
        MASK (and is not below a --copy-under path) is the same inode in
        DST, every other one another inode than any of SRC, and names of
        one such inode in SRC are names of one inode in DST and of no
        other; prints TAP-like lines (tests/lib.sh py_checks) and last
        the counts 'copy=N hardlink=N link=N mkdir=N node=N symlink=N'
        (also to the file --counts names).
  vclonetest.py check --vcopy [--differs PATH]... SRC DST ...
        the same for a DST vcopy brought to SRC: every regular file not
        below a --copy-under path is the source's inode (linked because it
        was equal, or made as a link), directories keep their own mtimes,
        a --differs file is left alone.
  vclonetest.py state DIR     one line per entry of DIR (DIR itself too),
        sorted by path: type, mode, owner, group, link count, size,
        device number, mtime (ns; not of directories, whose entries an
        undo gives back but not their times), SHA-256 of a file, target
        of a symlink, inode flags of a file or directory, extended
        attributes (names and values), and the first path of its inode
        (which names share one inode, not the inode number: an undo of
        a link gives the name a private copy).  Two states of one tree
        compare with cmp.
  vclonetest.py summary OUT   the counts of the summary record of a
        --json output OUT, in the same form.
"""
import argparse
import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unifytest import getflags as flags_of  # noqa: E402  (one reader of the flags)
from unifysafe import digest as sha  # noqa: E402


def xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in sorted(names)}


def entries(root):
    """rel path -> lstat, for every entry below root (root itself as '')."""
    out = {'': os.lstat(root)}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = os.lstat(p)
    return out


def below(rel, paths):
    return any(rel == p or rel.startswith(p + '/') for p in paths)


def check(a):
    omit = [p.lstrip('/') for p in a.omit]
    differs = [p.lstrip('/') for p in a.differs]
    copy_under = [p.lstrip('/') for p in a.copy_under]
    src, dst = entries(a.src), entries(a.dst)
    want = {r: s for r, s in src.items() if not below(r, omit)}
    bad = []
    missing = sorted(set(want) - set(dst))
    extra = sorted(set(dst) - set(want))
    print('%s\tthe clone has every entry of the source but the omitted ones (%d), and no other' %
          ('not ok' if missing or extra else 'ok', len(want)))
    for r in missing[:5]:
        print('#\tmissing: %s' % r)
    for r in extra[:5]:
        print('#\textra: %s' % r)
    present = [r for r in omit if r in src]
    gone = [r for r in present if r in dst]
    print('%s\tthe "~" entries (%d present in the source) are not in the clone' %
          ('not ok' if gone or not present else 'ok', len(present)))
    src_inodes = {s.st_ino for s in src.values()}
    counts = dict(link=0, copy=0, hardlink=0, mkdir=0, symlink=0, node=0)
    groups_src, groups_dst = {}, {}
    meta_bad, link_bad, content_bad, xattr_bad = [], [], [], []
    for r, s in sorted(want.items()):
        d = dst.get(r)
        if d is None:
            continue
        sp, dp = os.path.join(a.src, r), os.path.join(a.dst, r)
        if stat.S_IFMT(s.st_mode) != stat.S_IFMT(d.st_mode):
            meta_bad.append('%s: type' % r)
            continue
        if r in differs:
            continue
        if r and (s.st_mode != d.st_mode or s.st_uid != d.st_uid or s.st_gid != d.st_gid or
                  (s.st_mtime_ns != d.st_mtime_ns and not (a.vcopy and stat.S_ISDIR(s.st_mode)))):
            meta_bad.append('%s: mode %o/%o owner %d:%d/%d:%d mtime %d/%d' %
                            (r, s.st_mode, d.st_mode, s.st_uid, s.st_gid, d.st_uid, d.st_gid,
                             s.st_mtime_ns, d.st_mtime_ns))
        if not stat.S_ISLNK(s.st_mode) and xattrs(sp) != xattrs(dp):
            xattr_bad.append('%s: %r / %r' % (r, sorted(xattrs(sp)), sorted(xattrs(dp))))
        if stat.S_ISDIR(s.st_mode):
            counts['mkdir'] += 1
        elif stat.S_ISLNK(s.st_mode):
            counts['symlink'] += 1
            if os.readlink(sp) != os.readlink(dp):
                content_bad.append('%s: symlink target' % r)
        elif stat.S_ISCHR(s.st_mode) or stat.S_ISBLK(s.st_mode) or stat.S_ISFIFO(s.st_mode):
            counts['node'] += 1
            if s.st_rdev != d.st_rdev:
                content_bad.append('%s: device number' % r)
        elif stat.S_ISREG(s.st_mode):
            if s.st_size != d.st_size or sha(sp) != sha(dp):
                content_bad.append('%s: size or content' % r)
            unified = (flags_of(sp) & a.flags) == a.flags and not below(r, copy_under)
            if a.vcopy and not below(r, copy_under):
                # vunify's rule for what DST had, vclone's for what it lacked: one inode
                if d.st_ino != s.st_ino:
                    link_bad.append('%s: equal and not excluded, but another inode' % r)
                continue
            if unified:
                counts['link'] += 1
                if d.st_ino != s.st_ino:
                    link_bad.append('%s: unified, but another inode in the clone' % r)
            else:
                if d.st_ino in src_inodes:
                    link_bad.append('%s: not unified, but an inode of the source in the clone' % r)
                groups_src.setdefault(s.st_ino, []).append(r)
                groups_dst.setdefault(d.st_ino, []).append(r)
    for name, lst in (('type, mode, owner, group and mtime (ns)', meta_bad),
                      ('content (SHA-256), symlink targets, device numbers', content_bad),
                      ('extended attributes (names and values: ACLs, capabilities, user., trusted.)',
                       xattr_bad),
                      ('unified files are the source\'s inode, every other file a new inode', link_bad)):
        print('%s\tevery entry: %s as in the source (%d differ)' % ('not ok' if lst else 'ok', name,
                                                                     len(lst)))
        for b in lst[:5]:
            print('#\t' + b)
    part_s = sorted(sorted(v) for v in groups_src.values())
    part_d = sorted(sorted(v) for v in groups_dst.values())
    pairs = sum(1 for v in part_s if len(v) > 1)
    print('%s\tthe copies\' hard links are the source\'s: %d inodes, %d with several names' %
          ('ok' if part_s == part_d and pairs else 'not ok', len(part_s), pairs))
    counts['copy'] = len(part_s)
    counts['hardlink'] = sum(len(v) - 1 for v in part_s)
    line = ' '.join('%s=%d' % kv for kv in sorted(counts.items()))
    print('#\tcounts ' + line)
    if a.counts:
        with open(a.counts, 'w') as f:
            f.write(line + '\n')


def state(root):
    ents = entries(root)
    first = {}
    for rel in sorted(ents):
        st = ents[rel]
        first.setdefault((st.st_dev, st.st_ino), rel or '.')
    for rel in sorted(ents):
        st = ents[rel]
        p = os.path.join(root, rel) if rel else root
        m = st.st_mode
        f = [rel or '.', oct(m), '%d:%d' % (st.st_uid, st.st_gid), 'n=%d' % st.st_nlink]
        if not stat.S_ISDIR(m):
            f += ['s=%d' % st.st_size, 'mt=%d' % st.st_mtime_ns]
        if stat.S_ISCHR(m) or stat.S_ISBLK(m):
            f.append('rdev=%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        if stat.S_ISREG(m):
            f.append('sha256=' + sha(p))
        if stat.S_ISLNK(m):
            f.append('->' + os.readlink(p))
        if stat.S_ISREG(m) or stat.S_ISDIR(m):
            f.append('fl=0x%08x' % flags_of(p))
        f += ['x:%s=%s' % (n, v.hex()) for n, v in xattrs(p).items()]
        f.append('ino=' + first[(st.st_dev, st.st_ino)])
        print(' '.join(repr(x) if i == 0 else x for i, x in enumerate(f)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('check')
    c.add_argument('src')
    c.add_argument('dst')
    c.add_argument('--flags', type=lambda s: int(s, 0), required=True)
    c.add_argument('--omit', action='append', default=[])
    c.add_argument('--copy-under', action='append', default=[])
    c.add_argument('--counts')
    c.add_argument('--differs', action='append', default=[],
                   help='vcopy: a file DST had with other content, left alone')
    c.add_argument('--vcopy', action='store_true',
                   help='DST was brought to SRC by vcopy: every regular file not below a --copy-under '
                        'path is the source\'s inode, directories keep their own mtimes')
    sd = sub.add_parser('state')
    sd.add_argument('dir')
    sm = sub.add_parser('summary')
    sm.add_argument('out')
    a = ap.parse_args()
    if a.cmd == 'summary':
        last = json.loads(open(a.out, encoding='utf-8').read().splitlines()[-1])
        print(' '.join('%s=%d' % (k, last[k]) for k in
                       ('copy', 'hardlink', 'link', 'mkdir', 'node', 'symlink')))
        return 0
    if a.cmd == 'state':
        state(a.dir)
        return 0
    check(a)
    return 0


if __name__ == '__main__':
    sys.exit(main())
