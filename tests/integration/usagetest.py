#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""usagetest.py - ground truth for vaudit --usage (usage.sh).

  usagetest.py ROOT JSON TEXT [--exact] [--store DIR]... [--name DIR=NAME]...
               [--expect-reclaim-files N]

The figures come from find(1) alone: find -printf '%i %n %s %b %y %m %U
%G %P' over each store, then over ROOT, every inode counted once (per
guest, and for the host), the classes as vaudit(8) defines them (store,
shared, private, other), and the reclaimable groups; with --exact the
contents are hashed by Python.  The walk order vaudit keeps the first
inode of a group by is rebuilt with os.scandir in inode-number order.
Prints "ok<TAB>desc" / "not ok<TAB>desc" lines (tests/lib.sh py_checks).
"""
import argparse
import base64
import hashlib
import json
import os
import stat
import subprocess
import sys

checks = []


def check(good, desc):
    checks.append(good)
    print('%s\t%s' % ('ok' if good else 'not ok', desc))


def find(top):
    """{path: (ino, nlink, size, blocks, type, mode, uid, gid)} of find -printf."""
    out = subprocess.run(['find', top, '-xdev', '-printf', '%i %n %s %b %y %m %U %G %p\\0'],
                         check=True, stdout=subprocess.PIPE).stdout
    res = {}
    for rec in out.split(b'\0'):
        if not rec:
            continue
        f = rec.split(b' ', 8)
        res[f[8]] = (int(f[0]), int(f[1]), int(f[2]), int(f[3]), f[4].decode(), int(f[5], 8),
                     int(f[6]), int(f[7]))
    return res


def walk_order(top):
    """Paths in the order of vaudit's walk: depth first, entries by inode number."""
    order = [top]

    def rec(d):
        try:
            ents = sorted(os.scandir(d), key=lambda e: e.inode())
        except OSError:
            return
        for e in ents:
            order.append(e.path)
            if e.is_dir(follow_symlinks=False):
                rec(e.path)
    rec(top)
    return order


def field(r, key):
    """The bytes of string field KEY of record R (KEY, or KEY_b64), or None."""
    if key + '_b64' in r:
        return base64.b64decode(r[key + '_b64'])
    return os.fsencode(r[key]) if key in r else None


def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 16), b''):
            h.update(b)
    return h.digest()


def with_default_store(root, stores):
    """STORES (the configured ones), and ROOT/.hash first when it is a directory."""
    stores = list(stores)
    if os.path.isdir(os.path.join(root, b'.hash')) and os.path.join(root, b'.hash') not in stores:
        stores.insert(0, os.path.join(root, b'.hash'))
    return stores


def ground_truth(root, stores, exact=False, names=None):
    """(guests, want, tot) from find alone: the guest root paths in walk order,
    the figures of each guest as usage records hold them, and those of the host."""
    inodes = {}     # ino -> dict
    order = []      # inode numbers in the order the walks meet them

    def meet(path, st, guest, store):
        ino = st[0]
        if ino not in inodes:
            inodes[ino] = dict(nlink=st[1], size=st[2], blocks=st[3], type=st[4], mode=st[5],
                               uid=st[6], gid=st[7], names=0, guests=[], store=False, path=path)
            order.append(ino)
        i = inodes[ino]
        i['names'] += 1
        if store:
            i['store'] = True
        if guest is not None and guest not in i['guests']:
            i['guests'].append(guest)

    for s in stores:
        info = find(s)
        for p in walk_order(s):
            meet(p, info[p], None, True)
    info = find(root)
    guests = []     # (key, name, path)
    for p in walk_order(root):
        rel = os.path.relpath(p, root) if p != root else b''
        parts = rel.split(b'/') if rel else []
        if parts and parts[0] == b'.hash' and os.path.isdir(os.path.join(root, b'.hash')):
            continue
        guest = None
        if parts:
            top = os.path.join(root, parts[0])
            if info[top][4] == 'd':
                guest = top
                if len(parts) == 1:
                    guests.append(top)
        meet(p, info[p], guest, False)

    def cls(i):
        return 'store' if i['store'] else 'shared' if len(i['guests']) > 1 else \
               'private' if i['guests'] else 'other'

    want = {}
    for g in guests:
        w = dict(files=0, bytes=0, apparent_bytes=0, private_files=0, private_bytes=0, shared_files=0,
                 shared_bytes=0, store_files=0, store_bytes=0, reclaimable_files=0,
                 reclaimable_bytes=0)
        for ino in order:
            i = inodes[ino]
            if g not in i['guests']:
                continue
            w['files'] += 1
            w['bytes'] += i['blocks'] * 512
            w['apparent_bytes'] += i['size']
            c = cls(i)
            w[c + '_files'] += 1
            w[c + '_bytes'] += i['blocks'] * 512
        want[g] = w
    tot = dict(files=len(order), bytes=sum(inodes[i]['blocks'] * 512 for i in order),
               apparent_bytes=sum(inodes[i]['size'] for i in order),
               names=sum(inodes[i]['names'] for i in order),
               copies_bytes=sum(inodes[i]['names'] * inodes[i]['blocks'] * 512 for i in order))
    tot['saving_bytes'] = tot['copies_bytes'] - tot['bytes']
    for c in ('private', 'shared', 'store', 'other'):
        sel = [i for i in order if cls(inodes[i]) == c]
        tot[c + '_files'] = len(sel)
        tot[c + '_bytes'] = sum(inodes[i]['blocks'] * 512 for i in sel)
    # reclaimable: groups of regular files, the kept one a store's, else
    # that of the guest first by name, else the first met; a reclaimable one
    # counts in its guest first by name (the configured name, else the
    # directory's)
    def name_of(g):
        return (names or {}).get(os.path.basename(g), os.path.basename(g))

    def first_by_name(gs):
        return min(name_of(g) for g in gs) if gs else b''
    groups = {}
    for n, ino in enumerate(order):
        i = inodes[ino]
        if i['type'] != 'f' or i['size'] == 0 or not (i['store'] or i['guests']):
            continue
        key = (i['size'], i['mode'], i['uid'], i['gid'])
        if exact:
            key += (sha(i['path']),)
        groups.setdefault(key, []).append((not i['store'], first_by_name(i['guests']), n, ino))
    tot['reclaimable_files'] = tot['reclaimable_bytes'] = 0
    for members in groups.values():
        for _, _, _, ino in sorted(members)[1:]:
            i = inodes[ino]
            tot['reclaimable_files'] += 1
            tot['reclaimable_bytes'] += i['blocks'] * 512
            if i['guests']:
                g = min(i['guests'], key=name_of)
                want[g]['reclaimable_files'] += 1
                want[g]['reclaimable_bytes'] += i['blocks'] * 512

    return guests, want, tot


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('root')
    ap.add_argument('json')
    ap.add_argument('text')
    ap.add_argument('--exact', action='store_true')
    ap.add_argument('--store', action='append', default=[])
    ap.add_argument('--name', action='append', default=[])
    ap.add_argument('--expect-reclaim-files', type=int)
    a = ap.parse_args()
    root = os.fsencode(a.root)
    names = {os.fsencode(k): os.fsencode(v) for k, v in (n.split('=', 1) for n in a.name)}
    # the stores: those configured, and ROOT/.hash
    stores = with_default_store(root, [os.fsencode(s) for s in a.store])

    guests, want, tot = ground_truth(root, stores, a.exact, names)

    recs = [json.loads(l) for l in open(a.json, encoding='utf-8')]
    got = {field(r, 'path'): r for r in recs if r['record'] == 'usage'}
    check(sorted(got) == sorted(guests), 'one usage record per guest (%d)' % len(guests))
    for g in guests:
        r = got.get(g, {})
        gname = names.get(os.path.basename(g), os.path.basename(g))
        check(field(r, 'guest') == gname, 'guest %r: named %r (%r)' % (os.path.basename(g), gname,
                                                                      field(r, 'guest')))
        gname = repr(gname)
        bad = {k: (r.get(k), v) for k, v in want[g].items() if r.get(k) != v}
        check(not bad, 'guest %s: every figure as find counts it%s' % (gname, ' ' + repr(bad) if bad else ''))
        check(r.get('private_bytes', 0) + r.get('shared_bytes', 0) + r.get('store_bytes', 0) == r.get('bytes'),
              'guest %s: private + shared + store = bytes' % gname)
        # du of the guest alone: each inode once, blocks and apparent sizes
        du = int(subprocess.run(['du', '-sB1', g], check=True, stdout=subprocess.PIPE).stdout.split()[0])
        dua = int(subprocess.run(['du', '-sB1', '--apparent-size', g], check=True,
                                 stdout=subprocess.PIPE).stdout.split()[0])
        check(du == r.get('bytes') and dua == r.get('apparent_bytes'),
              'guest %s: du -sB1 %d, --apparent-size %d (%s, %s)' % (gname, du, dua, r.get('bytes'),
                                                                    r.get('apparent_bytes')))
    t = recs[-1]
    check(t['record'] == 'usage-total', 'the last record is usage-total')
    bad = {k: (t.get(k), v) for k, v in tot.items() if t.get(k) != v}
    check(not bad, 'host totals: every figure as find counts it%s' % (' ' + repr(bad) if bad else ''))
    if not stores or all(s.startswith(root + b'/') for s in stores):
        du = int(subprocess.run(['du', '-sB1', root], check=True, stdout=subprocess.PIPE).stdout.split()[0])
        dua = int(subprocess.run(['du', '-sB1', '--apparent-size', root], check=True,
                                 stdout=subprocess.PIPE).stdout.split()[0])
        check(du == t.get('bytes') and dua == t.get('apparent_bytes'),
              'host: du -sB1 ROOT %d, --apparent-size %d (%s, %s)' % (du, dua, t.get('bytes'),
                                                                     t.get('apparent_bytes')))
    check(sorted(os.fsencode(s) for s in t.get('stores', [])) == sorted(stores),
          'the stores walked: %s' % t.get('stores'))
    if a.expect_reclaim_files is not None:
        check(t.get('reclaimable_files') == a.expect_reclaim_files,
              'reclaimable files: %d (%s)' % (a.expect_reclaim_files, t.get('reclaimable_files')))
    # the text table says the same, in MiB
    lines = open(a.text, encoding='utf-8', errors='replace').read().splitlines()
    rows = [l.split() for l in lines[1:-1]]
    mib = lambda b: '%.1f' % (b / 1048576.0)
    good = len(rows) == len(got) + 1
    for row, r in zip(rows, [r for r in recs if r['record'] == 'usage'] + [dict(t, guest='total')]):
        # the name as the shell reads it back
        name = subprocess.run(['bash', '-c', 'printf %s ' + row[0]], check=True,
                              stdout=subprocess.PIPE).stdout
        exp = [str(r['files']), mib(r['private_bytes']), mib(r['shared_bytes']), mib(r['store_bytes']),
               mib(r['reclaimable_bytes'])]
        if row[1:] != exp or name != field(r, 'guest'):
            good = False
            print('#\ttext row %r: %s, want %r %s' % (name, row[1:], field(r, 'guest'), exp))
    check(good and lines[0].split()[0] == 'GUEST' and lines[-1].startswith('host: '),
          'text: the table holds the same figures, then the host line')
    return 0 if all(checks) else 1


if __name__ == '__main__':
    sys.exit(main())
