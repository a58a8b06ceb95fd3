#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""xidtagtest.py - ground truth for xidtag.sh, from debugfs alone.

  xidtagtest.py tree IMG SRCLIST DSTLIST STORELIST --scheme S --xid N --label L
      SRCLIST/DSTLIST/STORELIST: "INO RELPATH" lines (find -printf '%i %P\\n'
      through the mount).  Every destination entry whose source inode is
      a store entry must be that same inode with tag 0 and the source's
      raw ids; every other one a new inode whose raw uid/gid (debugfs
      stat) decode, under S, to the source's raw uid/gid and tag N; modes
      as the source's; a capability as the source's; the source's own hard
      links one copy.
  xidtagtest.py usage IMG JSON INOLIST --scheme S --label L [--context-ok]
      the usage-tag records of `vaudit --usage --image --json` against the
      inodes of INOLIST ("INO" lines: every entry below the prefix) decoded
      under S here; with --context-ok no usage-tag-mismatch record.

The decoding is written out again from the vserver kernel's tag.h, not
taken from vaudit.  Prints "ok<TAB>desc" / "not ok<TAB>desc" lines.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

M32 = 0xFFFFFFFF


def decode(scheme, ruid, rgid):
    """(uid, gid, tag) a kernel built with @scheme reads from raw ids."""
    if scheme == 'id24':
        return ruid & 0xFFFFFF, rgid & 0xFFFFFF, ((ruid >> 16) & 0xFF00) | ((rgid >> 24) & 0xFF)
    if scheme == 'gid16':
        return ruid, rgid & 0xFFFF, (rgid >> 16) & 0xFFFF
    if scheme == 'uid16':
        return ruid & 0xFFFF, rgid, (ruid >> 16) & 0xFFFF
    raise ValueError(scheme)


_cache = {}


def dstat(img, ino):
    """debugfs stat <ino>: raw uid, gid, mode (int), type word, capability bytes or None."""
    key = (img, ino)
    if key in _cache:
        return _cache[key]
    env = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
    out = subprocess.run(['debugfs', '-R', 'stat <%d>' % ino, img], capture_output=True,
                         text=True, env=env).stdout
    m = re.search(r'User:\s*(-?\d+)\s+Group:\s*(-?\d+)', out)
    mode = re.search(r'Mode:\s*(\d+)', out)
    typ = re.search(r'Type:\s*(\S+)', out)
    cap = re.search(r'security\.capability \(\d+\) = ([0-9a-f ]+)', out)
    if not m or not mode or not typ:
        raise RuntimeError('debugfs stat <%d>: %r' % (ino, out[:200]))
    r = (int(m.group(1)) & M32, int(m.group(2)) & M32, int(mode.group(1), 8), typ.group(1),
         cap.group(1).strip() if cap else None)
    _cache[key] = r
    return r


def read_list(path):
    d = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            ino, _, rel = line.partition(' ')
            d[rel] = int(ino)
    return d


def say(ok, desc):
    print('%s\t%s' % ('ok' if ok else 'not ok', desc))
    return ok


def tree(a):
    src, dst, store = read_list(a.src), read_list(a.dst), read_list(a.store)
    store_inos = set(store.values())
    say(set(src) == set(dst), '%s: the clone has the source\'s names (%d)' % (a.label, len(src)))
    bad = []
    ncopy = nlink = 0
    copies = collections.defaultdict(set)
    for rel in sorted(set(src) & set(dst)):
        si, di = src[rel], dst[rel]
        su, sg, smode, styp, scap = dstat(a.img, si)
        du, dg, dmode, dtyp, dcap = dstat(a.img, di)
        name = rel or '.'
        if si in store_inos:
            nlink += 1
            if di != si:
                bad.append('%s: unified, but not the source\'s inode' % name)
            elif decode(a.scheme, du, dg)[2] != 0 or (du, dg) != (su, sg):
                bad.append('%s: unified inode with raw %d:%d' % (name, du, dg))
            continue
        ncopy += 1
        copies[si].add(di)
        uid, gid, tag = decode(a.scheme, du, dg)
        if di == si:
            bad.append('%s: shares the source\'s inode' % name)
        if (uid, gid, tag) != (su, sg, a.xid):
            bad.append('%s: raw %d:%d reads as %d:%d tag %d, want %d:%d tag %d' %
                       (name, du, dg, uid, gid, tag, su, sg, a.xid))
        if dmode != smode or dtyp != styp:
            bad.append('%s: %s %o, source %s %o' % (name, dtyp, dmode, styp, smode))
        if dcap != scap:
            bad.append('%s: capability %r, source %r' % (name, dcap, scap))
    for si, dis in copies.items():
        if len(dis) != 1:
            bad.append('source inode %d: %d copies' % (si, len(dis)))
    for b in bad[:20]:
        print('#\t' + b)
    say(not bad, '%s: %d entries made carry tag %d under %s with the source\'s owner, mode, '
        'capability; %d unified ones are the source\'s inode, tag 0' %
        (a.label, ncopy, a.xid, a.scheme, nlink))
    say(ncopy > 0 and nlink > 0, '%s: both kinds present (%d made, %d linked)' % (a.label, ncopy, nlink))


def usage(a):
    want = collections.Counter()
    seen = set()
    with open(a.roots) as f:
        for line in f:
            ino = int(line.split()[0])
            if ino in seen:
                continue
            seen.add(ino)
            u, g, mode, typ, cap = dstat(a.img, ino)
            want[decode(a.scheme, u, g)[2]] += 1
    recs = [json.loads(line) for line in open(a.json) if line.strip()]
    got = {r['tag']: r['files'] for r in recs if r.get('record') == 'usage-tag'}
    tagged = {t: n for t, n in want.items() if t}
    say({t: n for t, n in got.items() if t} == tagged,
        '%s: usage-tag files per non-zero tag %s (debugfs: %s)' % (a.label, got, dict(want)))
    say(got.get(0, 0) == want.get(0, 0), '%s: usage-tag untagged files %s (debugfs: %d)' %
        (a.label, got.get(0), want.get(0, 0)))
    if a.context_ok:
        mm = [r for r in recs if r.get('record') == 'usage-tag-mismatch']
        say(not mm, '%s: no usage-tag-mismatch records (%d)' % (a.label, len(mm)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd', choices=('tree', 'usage'))
    ap.add_argument('img')
    ap.add_argument('args', nargs='*')
    ap.add_argument('--scheme', required=True)
    ap.add_argument('--xid', type=int, default=0)
    ap.add_argument('--label', default='')
    ap.add_argument('--context-ok', action='store_true',
                    help='the guests\' contexts are those of this scheme: no mismatches')
    a = ap.parse_args()
    if a.cmd == 'tree':
        a.src, a.dst, a.store = a.args
        tree(a)
    else:
        a.json, a.roots = a.args
        usage(a)
    return 0


if __name__ == '__main__':
    sys.exit(main())
