#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# unifylinks.py - ground truth for unify-links.sh, from the filesystem only.
#
#   inodes MNT OUT            every regular file below MNT: path -> [ino, nlink, size]
#   compare DRY REAL BEFORE AFTER MNT TREES... : TAP lines "ok - ..." / "not ok - ..."
#       DRY/REAL: the --json output of the dry and the real run
#       BEFORE/AFTER: 'inodes' snapshots; TREES: the guests (relative to MNT)
import json, os, sys

def inodes(mnt):
    out = {}
    for d, _, files in os.walk(mnt):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            if os.path.isfile(p) and not os.path.islink(p):
                out[os.path.relpath(p, mnt)] = [st.st_ino, st.st_nlink, st.st_size]
    return out

def events(path):
    ev = [json.loads(l) for l in open(path) if l.startswith('{')]
    return ev, [e for e in ev if e.get('event') == 'summary'][-1]

def res(ok, desc):
    print(('ok - ' if ok else 'not ok - ') + desc)

def compare(dry, real, before, after, mnt, trees):
    de, ds = events(dry)
    re_, rs = events(real)
    b = json.load(open(before))
    a = json.load(open(after))
    label = os.path.basename(real)
    dl = sorted(e['path'] for e in de if e['event'] == 'link')
    rl = sorted(e['path'] for e in re_ if e['event'] == 'link')
    res(dl == rl and dl, '%s: the dry run names the %d names the run links' % (label, len(rl)))
    if dl != rl:
        print('# only dry: %s' % sorted(set(dl) - set(rl))[:5])
        print('# only real: %s' % sorted(set(rl) - set(dl))[:5])
    dp = [(e['path'], e['old_flags'], e['new_flags']) for e in de if e['event'] == 'protect']
    rp = [(e['path'], e['old_flags'], e['new_flags']) for e in re_ if e['event'] == 'protect']
    res(sorted(dp) == sorted(rp) and rp, '%s: the dry run announces the %d flag changes the run makes' % (label, len(rp)))
    if sorted(dp) != sorted(rp):
        print('# dry %d %s real %d %s' % (len(dp), dp[:3], len(rp), rp[:3]))
    for k in ('linked', 'saved_bytes', 'protected', 'stored', 'already'):
        res(ds[k] == rs[k], '%s: summary %s of the dry run %d = the run %d' % (label, k, ds[k], rs[k]))
    # the filesystem: names that changed inode, bytes freed.  ext4 gives
    # a freed inode's number to the next new file: a name on the number of
    # a new file (one whose path did not exist) moved too
    intree = lambda p: any(p.startswith(t + '/') for t in trees)
    newfiles = {v[0]: v[2] for p, v in a.items() if p not in b and os.path.basename(p) != 'method'}
    moved_p = lambda p: a[p][0] != b[p][0] or a[p][0] in newfiles
    moved = sorted(os.path.join(mnt, p) for p in b if intree(p) and p in a and moved_p(p))
    res(moved == rl, '%s: the names that changed inode on disk (%d) are the names linked' % (label, len(moved)))
    names = {}
    for p, (ino, n, size) in b.items():
        names.setdefault(ino, []).append(p)
    freed = {}
    for ino, ps in names.items():
        if all(intree(p) for p in ps) and len(ps) == b[ps[0]][1] and all(moved_p(p) for p in ps):
            freed[ino] = b[ps[0]][2]
    saved = sum(freed.values()) - sum(newfiles.values())
    res(saved == rs['saved_bytes'] == ds['saved_bytes'],
        '%s: bytes freed on disk %d (%d inodes freed, %d new) = would save %d = saved %d' %
        (label, saved, len(freed), len(newfiles), ds['saved_bytes'], rs['saved_bytes']))
    # every name of a guest inode that was linked went along: no guest inode
    # lost some of its names and kept others
    split = []
    for p, (ino, n, size) in b.items():
        if intree(p) and p in a and not moved_p(p) and n > 1:
            others = [q for q, v in b.items() if v[0] == ino and q != p and intree(q)]
            if any(moved_p(q) for q in others):
                split.append(p)
    res(not split, '%s: no guest inode kept some of its names (%s)' % (label, split[:3]))

if __name__ == '__main__':
    if sys.argv[1] == 'inodes':
        json.dump(inodes(sys.argv[2]), open(sys.argv[3], 'w'))
    elif sys.argv[1] == 'compare':
        compare(*sys.argv[2:7], sys.argv[7:])
