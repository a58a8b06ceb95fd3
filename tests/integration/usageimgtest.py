#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""usageimgtest.py - ground truth for vaudit --usage --image (usage-image.sh).

  usageimgtest.py truth IMG PREFIX JSON [--label L]
      every figure of the usage and usage-total records against a walk
      of the image by debugfs alone: `ls -p` per directory (inode, mode,
      uid, gid, name, size), `stat <INO>` per inode (Blockcount, the
      512-byte sectors), the classes and reclaimable groups of vaudit(8)
      (DISK USAGE) computed here (without --exact: size, mode, uid, gid).
  usageimgtest.py same IMGJSON LIVEJSON [--label L]
      the records of the image and of the live run on the mounted image
      hold the same figures (guests by name).
  usageimgtest.py tags JSON --tag T=FILES ... --mismatch PATH=TAG ...
      the usage-tag records and the usage-tag-mismatch list.

Prints "ok<TAB>desc" / "not ok<TAB>desc" lines (tests/lib.sh py_checks).
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from usagetest import check, checks  # noqa: E402  (one way to say a test point)


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def debugfs(img, cmds):
    """The output of debugfs -f with @cmds, split per command."""
    out = subprocess.run(['debugfs', '-f', '-', img], input='\n'.join(cmds) + '\n',
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                         universal_newlines=True,
                         env=dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')).stdout
    parts = re.split(r'^debugfs: .*$', out, flags=re.M)
    return parts[1:]


def walk(img, prefix):
    """[(path, ino, place)] below prefix, and {ino: (mode, uid, gid, size)}."""
    names, meta = [], {}
    root = debugfs(img, ['stat "%s"' % prefix])[0]
    rino = int(re.search(r'Inode: (\d+)', root).group(1))
    names.append((prefix, rino, 'root'))
    todo = [(prefix, 'root')]
    while todo:
        d, place = todo.pop()
        out = debugfs(img, ['ls -p "%s"' % d])[0]
        for line in out.splitlines():
            f = line.split('/')
            if len(f) < 7 or not f[1]:
                continue
            ino, mode, uid, gid, name, size = int(f[1]), int(f[2], 8), int(f[3]), int(f[4]), f[5], f[6]
            if name in ('.', '..') or ino == 0:
                continue
            p = d.rstrip('/') + '/' + name
            pl = place
            if place == 'root':
                pl = 'store' if name == '.hash' and mode & 0o170000 == 0o040000 else \
                    ('guest:' + name if mode & 0o170000 == 0o040000 else 'root')
            names.append((p, ino, pl))
            meta[ino] = (mode, uid, gid, int(size) if size else 0)
            if mode & 0o170000 == 0o040000:
                todo.append((p, pl))
    if rino not in meta:
        meta[rino] = (0o040000, 0, 0, 0)
    return names, meta


def truth(a):
    names, meta = walk(a.img, a.prefix)
    inos = sorted({i for _, i, _ in names})
    outs = debugfs(a.img, ['stat <%d>' % i for i in inos])
    blocks, size = {}, {}
    for i, o in zip(inos, outs):
        blocks[i] = int(re.search(r'Blockcount: (\d+)', o).group(1))
        size[i] = int(re.search(r'Size: (\d+)', o).group(1))
    where = {}
    for p, i, pl in names:
        where.setdefault(i, []).append(pl)
    guests = sorted({pl[6:] for _, _, pl in names if pl.startswith('guest:')})
    cls = {}
    for i, pls in where.items():
        gs = {p for p in pls if p.startswith('guest:')}
        cls[i] = 'store' if 'store' in pls else 'shared' if len(gs) > 1 else \
            'private' if gs else 'other'
    recs = records(a.json)
    tot = [r for r in recs if r['record'] == 'usage-total']
    use = {r['guest']: r for r in recs if r['record'] == 'usage'}
    check(len(tot) == 1 and sorted(use) == guests,
          '%s: one usage record per guest (%s) and a usage-total' % (a.label, ' '.join(guests)))
    if len(tot) != 1:
        return
    t = tot[0]
    # reclaimable: regular, not empty, groups of size, mode, uid, gid
    groups = {}
    for i in inos:
        m = meta.get(i)
        if m and m[0] & 0o170000 == 0o100000 and size[i] > 0 and cls[i] != 'other':
            groups.setdefault((size[i], m[0], m[1], m[2]), []).append(i)
    # the one kept: a store's, else that of the guest first by name, else
    # the lowest inode (the image is read in inode order)
    def first_guest(i):
        gs = sorted(p[6:] for p in where[i] if p.startswith('guest:'))
        return gs[0] if gs else ''
    def keep_of(g):
        return sorted(g, key=lambda i: (cls[i] != 'store', first_guest(i), i))[0]
    rec_f = sum(len(g) - 1 for g in groups.values())
    rec_b = sum(sum(blocks[i] for i in g) - blocks[keep_of(g)] for g in groups.values())
    want = {
        'files': len(inos), 'bytes': sum(blocks[i] for i in inos) * 512,
        'apparent_bytes': sum(size[i] for i in inos), 'names': len(names),
        'copies_bytes': sum(blocks[i] for _, i, _ in names) * 512, 'guests': len(guests),
        'reclaimable_files': rec_f, 'reclaimable_bytes': rec_b * 512,
    }
    for c in ('private', 'shared', 'store', 'other'):
        want[c + '_files'] = sum(1 for i in inos if cls[i] == c)
        want[c + '_bytes'] = sum(blocks[i] for i in inos if cls[i] == c) * 512
    want['saving_bytes'] = want['copies_bytes'] - want['bytes']
    for k, v in sorted(want.items()):
        check(t.get(k) == v, '%s: usage-total %s = %s (debugfs: %s)' % (a.label, k, t.get(k), v))
    for g in guests:
        mine = [i for i in inos if 'guest:' + g in where[i]]
        r = use.get(g, {})
        gw = {'files': len(mine), 'bytes': sum(blocks[i] for i in mine) * 512,
              'apparent_bytes': sum(size[i] for i in mine)}
        for c in ('private', 'shared', 'store'):
            gw[c + '_files'] = sum(1 for i in mine if cls[i] == c)
            gw[c + '_bytes'] = sum(blocks[i] for i in mine if cls[i] == c) * 512
        for k, v in sorted(gw.items()):
            check(r.get(k) == v, '%s: guest %s %s = %s (debugfs: %s)' % (a.label, g, k, r.get(k), v))
    # per guest reclaimable: a reclaimable inode counts in its guest first
    # by name
    gr = {g: [0, 0] for g in guests}
    for grp in groups.values():
        keep = keep_of(grp)
        for i in grp:
            if i != keep and first_guest(i):
                gr[first_guest(i)][0] += 1
                gr[first_guest(i)][1] += blocks[i] * 512
    for g in guests:
        r = use.get(g, {})
        check([r.get('reclaimable_files'), r.get('reclaimable_bytes')] == gr[g],
              '%s: guest %s reclaimable %s/%s (debugfs: %s/%s)' %
              (a.label, g, r.get('reclaimable_files'), r.get('reclaimable_bytes'), *gr[g]))


SKIP = {'elapsed', 'roots', 'stores', 'path', 'root', 'image', 'tags', 'contexts_known',
        'tag_mismatches', 'roots_b64', 'stores_b64'}


def same(a):
    x, y = records(a.json), records(a.live)
    for kind in ('usage', 'usage-total'):
        rx = {r.get('guest'): r for r in x if r['record'] == kind}
        ry = {r.get('guest'): r for r in y if r['record'] == kind}
        check(sorted(rx, key=str) == sorted(ry, key=str),
              '%s: the same %s records (%s)' % (a.label, kind, ' '.join(map(str, sorted(rx, key=str)))))
        for g in rx:
            if g not in ry:
                continue
            diff = {k: (rx[g].get(k), ry[g].get(k)) for k in set(rx[g]) | set(ry[g])
                    if k not in SKIP and rx[g].get(k) != ry[g].get(k)}
            check(not diff, '%s: %s %s: every figure as the live run%s' %
                  (a.label, kind, g if g is not None else 'total', (': differ ' + repr(diff)) if diff else ''))


def tags(a):
    recs = records(a.json)
    got = {r['tag']: r['files'] for r in recs if r['record'] == 'usage-tag'}
    want = {int(k): int(v) for k, v in (s.split('=') for s in a.tag)}
    check(got == want, '%s: usage-tag files per tag %s (set: %s)' % (a.label, got, want))
    mm = sorted((r['path'], r['tag']) for r in recs if r['record'] == 'usage-tag-mismatch')
    wm = sorted((p, int(t)) for p, t in (s.rsplit('=', 1) for s in a.mismatch))
    check(mm == wm, '%s: usage-tag-mismatch records %s (set: %s)' % (a.label, mm, wm))
    tot = [r for r in recs if r['record'] == 'usage-total']
    check(tot and tot[-1].get('tag_mismatches') == len(wm),
          '%s: usage-total tag_mismatches = %d' % (a.label, len(wm)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd', choices=('truth', 'same', 'tags'))
    ap.add_argument('args', nargs='*')
    ap.add_argument('--label', default='usage --image')
    ap.add_argument('--tag', action='append', default=[])
    ap.add_argument('--mismatch', action='append', default=[])
    a = ap.parse_args()
    if a.cmd == 'truth':
        a.img, a.prefix, a.json = a.args
        truth(a)
    elif a.cmd == 'same':
        a.json, a.live = a.args
        same(a)
    else:
        a.json, = a.args
        tags(a)
    return 0 if all(checks) and checks else 1


if __name__ == '__main__':
    sys.exit(main())
