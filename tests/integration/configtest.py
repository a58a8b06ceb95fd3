#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""configtest.py - helpers for config.sh: vaudit's configuration checks
(--host-root, --config) and --list against tables written by hand from
the fixture design (testdata/mkhost.sh), and the hash stores against raw
i_flags read with debugfs.

Check sub-commands print lines for tests/lib.sh py_checks ("ok<TAB>desc",
"not ok<TAB>desc", "#<TAB>comment") and exit 0 unless the helper broke.

Table formats (tab-separated, '#' comments, blank lines ignored; paths
relative to the mountpoint MNT, '-' = null):

  findings:  KIND  SEVERITY  GUEST  PATH  LINE  [DETAIL]
             DETAIL, when given, must be a substring of the finding's detail
             GUEST '?' matches any guest (or none);
             a finding on a shared inode (it has several names) is given by
             GUEST '*' and PATH = its names as 'guest:path' separated by
             spaces, in any order (which name comes first is walk order)
  guests:    NAME  CONTEXT  VDIR  VDIR_FROM  STATE  MARK  FLAGS  REFS  HASH  ACTION
             CONTEXT  a number, '-' (none: dynamic) or 'bad' (unreadable
                      or out of range: context_valid false; the number
                      itself then follows, as in 'bad:70000')
             FLAGS    comma list of disabled, nonamespace, unify, or '-'
             REFS     comma list of ENTRY>GUEST (valid), ENTRY>!CFGDIR
                      (invalid, resolving to CFGDIR) or ENTRY>! (invalid,
                      no directory), or '-'
             HASH     the hash directory, '-' none, '?' not checked
             ACTION   the vshelper action; a trailing '!' = unknown method
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vatest import tap, diag, show, debugfs_stat, load_json_file  # noqa: E402

FL_IMMUTABLE = 0x10
FL_NOTAIL = 0x8000
FL_BARRIER26 = 0x04000000
FL_IUNLINK26 = 0x08000000


def read_table(path, ncols, optional=0):
    rows = []
    with open(path, encoding='utf-8') as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip('\n')
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            cols = [c.strip() for c in line.split('\t')]
            if not ncols <= len(cols) <= ncols + optional:
                raise ValueError('%s:%d: %d columns, not %d: %r' % (path, n, len(cols), ncols, line))
            rows.append(cols + ['-'] * (ncols + optional - len(cols)))
    return rows


def rel(mnt, p):
    """p relative to mnt ('.' for mnt itself), or None when p is not below mnt."""
    if p is None:
        return None
    if p == mnt:
        return '.'
    if p.startswith(mnt + '/'):
        return p[len(mnt) + 1:]
    return None


def nul(s):
    return None if s == '-' else s


# ------------------------------------------------------------------ findings

def finding_key(mnt, r):
    line = r.get('line') or 0
    if r.get('names'):
        names = frozenset('%s:%s' % (n.get('guest') or '-', rel(mnt, n.get('path')) or n.get('path'))
                          for n in r['names'])
        return (r.get('kind'), r.get('severity'), '*', names, line)
    p = r.get('path')
    return (r.get('kind'), r.get('severity'), r.get('guest') or '-', rel(mnt, p) or p, line)


def expected_key(row):
    kind, sev, guest, path, line = row[:5]
    if guest == '*':
        return (kind, sev, '*', frozenset(path.split()), int(line))
    return (kind, sev, guest, path, int(line))


def fmt_key(k):
    kind, sev, guest, path, line = k
    if isinstance(path, frozenset):
        path = ' '.join(sorted(path))
    return '%s %s guest=%s %s%s' % (kind, sev, guest, show(path), ':%d' % line if line else '')


def cmd_findings(a):
    mnt = a.mnt.rstrip('/')
    recs = load_json_file(a.json)
    kinds_re = re.compile(a.kinds)
    ignore = tuple(p for p in a.ignore_under.split(',') if p)
    got = collections.Counter()
    details = collections.defaultdict(list)
    for r in recs:
        if not kinds_re.fullmatch(r.get('kind') or ''):
            continue
        k = finding_key(mnt, r)
        if ignore and isinstance(k[3], str) and any(k[3] == p or k[3].startswith(p + '/') for p in ignore):
            continue
        got[k] += 1
        details[k].append(r.get('detail') or '')
    rows = read_table(a.expect, 5, optional=1)
    exp = collections.Counter(expected_key(row) for row in rows)
    # GUEST '?': any guest (or none); matched against what is left
    wild = collections.Counter(k for k in exp if k[2] == '?')
    for k in wild:
        del exp[k]
    missing = exp - got
    extra = got - exp
    for k, n in wild.items():
        for _ in range(n):
            hit = next((g for g in sorted(extra, key=str)
                        if (g[0], g[1], g[3], g[4]) == (k[0], k[1], k[3], k[4])), None)
            if hit is None:
                missing[k] += 1
            else:
                extra[hit] -= 1
                extra += collections.Counter()  # drop zero counts
                details[k] = details[hit]
    for k in sorted(missing, key=str):
        diag('%s: expected, not reported: %s' % (a.label, fmt_key(k)))
    for k in sorted(extra, key=str):
        diag('%s: reported, not expected: %s' % (a.label, fmt_key(k)))
    tap(not missing and not extra,
        '%s: the %d findings of kinds %s are exactly the expected ones (%d missing, %d unexpected)'
        % (a.label, sum(exp.values()) + sum(wild.values()), a.kinds, sum(missing.values()),
           sum(extra.values())))
    bad = []
    for row in rows:
        k = expected_key(row)
        if row[5] != '-' and k in details and not any(row[5] in d for d in details[k]):
            bad.append('%s: detail %r does not say %r' % (fmt_key(k), details[k], row[5]))
    for b in bad:
        diag('%s: %s' % (a.label, b))
    if any(row[5] != '-' for row in rows):
        tap(not bad, '%s: the details say what is wrong (%d checked)'
            % (a.label, sum(row[5] != '-' for row in rows)))
    if a.total is not None:
        tap(len(recs) == a.total, '%s: %d findings in all (got %d)' % (a.label, a.total, len(recs)))


def cmd_inside(a):
    """Every path in the findings is MNT or below it; no field names the canary."""
    mnt = a.mnt.rstrip('/')
    recs = load_json_file(a.json)
    bad = []
    canary = []
    for r in recs:
        paths = [r.get('path'), r.get('root')] + [n.get('path') for n in r.get('names') or []]
        for p in paths:
            if p is not None and rel(mnt, p) is None:
                bad.append((r.get('kind'), p))
        if 'path_b64' in r or 'root_b64' in r:
            bad.append((r.get('kind'), 'a base64 path (none expected here)'))
        blob = json.dumps(r)
        for c in a.canary:
            if c in blob:
                canary.append((r.get('kind'), r.get('path')))
    for k, p in bad[:10]:
        diag('%s: %s path outside %s: %s' % (a.label, k, mnt, show(p)))
    tap(not bad, '%s: every path and root of the %d findings is inside the host root' % (a.label, len(recs)))
    if a.canary:
        for k, p in canary[:10]:
            diag('%s: %s mentions the canary: %s' % (a.label, k, show(p or '')))
        tap(not canary, '%s: no finding mentions what lies outside the host root (%s)'
            % (a.label, ', '.join(a.canary)))


# ------------------------------------------------------------------ hash stores

def debugfs_ls(image, path):
    """[(name, ino, mode)] of directory path in image, from debugfs ls -p."""
    env = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
    p = subprocess.run(['debugfs', '-R', 'ls -p "%s"' % path, image], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, check=True)
    res = []
    for line in p.stdout.decode('utf-8', 'surrogateescape').splitlines():
        # /ino/mode/uid/gid/name/size/
        f = line.split('/')
        if len(f) < 7 or not f[1].isdigit():
            continue
        name = '/'.join(f[5:-2])
        if name in ('.', '..') or f[1] == '0':
            continue
        res.append((name, int(f[1]), int(f[2], 8)))
    return res


def store_truth(image, store):
    """{relpath in image: (ino, flags, why)} of the hash-unprotected findings
    the rules give for the store at image path store: its directory without
    the 2.6 barrier 0x04000000 (nor the 2.4 one: mode 0000 + 0x8000), and
    every regular file below it that is not immutable, or immutable with
    neither 0x08000000 nor 0x8000, except the bookkeeping files method,
    blocks and blocksize directly in the store."""
    entries = {}
    env = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
    p = subprocess.run(['debugfs', '-R', 'stat "%s"' % store, image], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, check=True)
    m = re.match(rb'Inode: (\d+)', p.stdout)
    if not m:
        raise RuntimeError('debugfs: no inode for %s: %s' % (store, p.stderr.decode(errors='replace')))
    entries[store] = int(m.group(1))
    todo = [store]
    while todo:
        d = todo.pop()
        for name, ino, mode in debugfs_ls(image, d):
            pth = d.rstrip('/') + '/' + name
            if mode & 0o170000 == 0o040000:
                todo.append(pth)
                entries[pth] = ino
            elif mode & 0o170000 == 0o100000:
                entries[pth] = ino
    info = debugfs_stat(image, set(entries.values()))
    truth = {}
    for pth, ino in entries.items():
        st = info[ino]
        fl = st['flags']
        why = None
        if pth == store:
            if not (fl & FL_BARRIER26 or (st['mode'] & 0o777 == 0 and fl & FL_NOTAIL)):
                why = 'no barrier'
        elif st['type'] == 'regular' and pth.rsplit('/', 1)[0] == store and \
                pth.rsplit('/', 1)[1] in ('method', 'blocks', 'blocksize'):
            pass  # vhashify's bookkeeping files at the store's top: not entries
        elif st['type'] == 'regular':
            if not fl & FL_IMMUTABLE:
                why = 'not immutable'
            elif not fl & (FL_IUNLINK26 | FL_NOTAIL):
                why = 'immutable without iunlink'
        if why:
            truth[pth] = {'ino': ino, 'flags': fl, 'why': why}
    return truth, {pth: info[ino]['flags'] for pth, ino in entries.items()}


def cmd_storetruth(a):
    """Print the ground truth of one store as JSON (run on the unmounted image)."""
    truth, allflags = store_truth(a.image, a.store)
    json.dump({'store': a.store, 'findings': truth, 'flags': allflags}, sys.stdout, sort_keys=True)
    sys.stdout.write('\n')


def cmd_storecheck(a):
    """vaudit's hash-unprotected findings below MNT/STORE = the debugfs truth."""
    mnt = a.mnt.rstrip('/')
    with open(a.truth) as fh:
        t = json.load(fh)
    store = t['store'].strip('/')
    truth = t['findings']
    got = {}
    for r in load_json_file(a.json):
        if r.get('kind') != 'hash-unprotected':
            continue
        p = rel(mnt, r.get('path'))
        if p is None or not (p == a.as_path or p.startswith(a.as_path + '/')):
            continue
        img_path = '/' + store + p[len(a.as_path):]
        got[img_path] = r
    tap(set(got) == set(truth), '%s: hash-unprotected below %s = debugfs ground truth (%d: %s)'
        % (a.label, a.as_path, len(truth), ', '.join('%s (%s)' % (k, v['why']) for k, v in sorted(truth.items()))))
    for k in sorted(set(truth) - set(got)):
        diag('%s: expected, not reported: %s (%s)' % (a.label, k, truth[k]['why']))
    for k in sorted(set(got) - set(truth)):
        diag('%s: reported, not expected: %s' % (a.label, k))
    bad = []
    for k in sorted(set(got) & set(truth)):
        r = got[k]
        fl = r.get('flags')
        if r.get('ino') != truth[k]['ino'] or fl is None or int(fl, 16) != truth[k]['flags'] \
                or r.get('vs26_known') is not True or r.get('guest') is not None:
            bad.append('%s: ino %s flags %s vs26_known %s guest %s, debugfs: ino %d flags 0x%08x'
                       % (k, r.get('ino'), fl, r.get('vs26_known'), r.get('guest'),
                          truth[k]['ino'], truth[k]['flags']))
    for b in bad:
        diag('%s: %s' % (a.label, b))
    tap(not bad, '%s: each of them carries the inode and raw flags debugfs reads, 2.6 bits known, no guest'
        % a.label)


def cmd_storedesign(a):
    """The truth agrees with the fixture design: PATH=WHY ... (what must be a finding)."""
    with open(a.truth) as fh:
        t = json.load(fh)
    want = dict(x.split('=', 1) for x in a.expect)
    got = {k: v['why'] for k, v in t['findings'].items()}
    tap(got == want, '%s: debugfs confirms the design: %s' % (a.label, ', '.join(
        '%s %s' % (k, v) for k, v in sorted(want.items())) or 'nothing unprotected'))
    if got != want:
        diag('debugfs says: %r' % got)
    for x in a.flags:
        p, v = x.split('=', 1)
        fl = t['flags'].get(p)
        tap(fl is not None and fl & int(v, 16) == int(v, 16),
            '%s: %s carries 0x%08x (debugfs: %s)' % (a.label, p, int(v, 16),
                                                     '0x%08x' % fl if fl is not None else 'missing'))


# ------------------------------------------------------------------ --list

def ref_text(mnt, ref):
    if not ref.get('error'):
        return '%s>%s' % (ref.get('entry'), ref.get('guest'))
    cd = ref.get('cfgdir')
    return '%s>!%s' % (ref.get('entry'), rel(mnt, cd) or cd if cd else '')


def cmd_list(a):
    mnt = a.mnt.rstrip('/')
    recs = load_json_file(a.json)
    rows = read_table(a.expect, 10)
    names = [r.get('name') for r in recs]
    tap(names == [row[0] for row in rows], '%s: the guests, in byte order: %s'
        % (a.label, ' '.join(row[0] for row in rows)))
    if names != [row[0] for row in rows]:
        diag('got: %s' % ' '.join(str(n) for n in names))
    byname = {r.get('name'): r for r in recs}
    for name, ctx, vdir, vfrom, state, mark, flags, refs, hashd, action in rows:
        r = byname.get(name)
        if r is None:
            tap(False, '%s: guest %s listed' % (a.label, name))
            continue
        probs = []

        def want(what, got, exp):
            if got != exp:
                probs.append('%s %r, expected %r' % (what, got, exp))

        want('version', r.get('version'), 1)
        want('cfgdir', rel(mnt, r.get('cfgdir')), a.cfgdir_rel + '/' + name)
        if ctx == '-':
            want('context', r.get('context'), None)
            want('context_valid', r.get('context_valid'), True)
        elif ctx.startswith('bad'):
            want('context', r.get('context'), int(ctx[4:]) if ctx.startswith('bad:') else None)
            want('context_valid', r.get('context_valid'), False)
        else:
            want('context', r.get('context'), int(ctx))
            want('context_valid', r.get('context_valid'), True)
        v = r.get('vdir')
        want('vdir', rel(mnt, v) if v is not None else None, nul(vdir))
        if v is None:
            if not r.get('vdir_error'):
                probs.append('no vdir_error although vdir is null')
        want('vdir_from', r.get('vdir_from'), vfrom)
        want('state', r.get('state'), state)
        want('mark', r.get('mark'), nul(mark))
        fl = set(flags.split(',')) - {'-'}
        want('disabled', r.get('disabled'), 'disabled' in fl)
        want('nonamespace', r.get('nonamespace'), 'nonamespace' in fl)
        u = r.get('unify') or {}
        want('unify.enabled', u.get('enabled'), 'unify' in fl)
        want('refservers', [ref_text(mnt, x) for x in u.get('refservers') or []],
             [] if refs == '-' else refs.split(','))
        h = u.get('hash')
        if hashd != '?':
            want('hash.dir', rel(mnt, h.get('dir')) if h else None, nul(hashd))
        vs = r.get('vshelper') or {}
        want('vshelper.action', vs.get('action'), action.rstrip('!'))
        want('vshelper.action_known', vs.get('action_known'), not action.endswith('!'))
        for p in probs:
            diag('%s: %s: %s' % (a.label, name, p))
        tap(not probs, '%s: %s: context %s, vdir %s (%s), state %s, mark %s, %s, refs %s, hash %s, action %s'
            % (a.label, name, ctx, vdir, vfrom, state, mark, flags, refs, hashd, action))


def cmd_hashlist(a):
    """--list --json: the hash directory of guest NAME: method and stores."""
    mnt = a.mnt.rstrip('/')
    r = {x.get('name'): x for x in load_json_file(a.json)}.get(a.guest) or {}
    h = (r.get('unify') or {}).get('hash') or {}
    stores = [(s.get('entry'), rel(mnt, s.get('path')) if s.get('path') else None, s.get('duplicate'))
              for s in h.get('stores') or []]
    exp = []
    for x in a.store:
        e, p, d = x.split(':')
        exp.append((e, nul(p), d == 'dup'))
    ok = (rel(mnt, h.get('dir') or '') == a.dir and h.get('method') == a.method and stores == exp)
    tap(ok, '%s: %s: hash directory %s, method %s, stores %s' % (a.label, a.guest, a.dir, a.method, ' '.join(a.store)))
    if not ok:
        diag('got: dir %s method %s stores %r' % (h.get('dir'), h.get('method'), stores))


def cmd_field(a):
    """Print field KEY (dotted) of guest NAME of a --list --json file."""
    r = {x.get('name'): x for x in load_json_file(a.json)}.get(a.guest)
    for k in a.key.split('.'):
        r = r.get(k) if isinstance(r, dict) else None
    print('null' if r is None else json.dumps(r) if not isinstance(r, str) else r)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('findings')
    p.add_argument('--json', required=True)
    p.add_argument('--mnt', required=True)
    p.add_argument('--expect', required=True)
    p.add_argument('--kinds', required=True, help='regular expression of the kinds compared')
    p.add_argument('--ignore-under', default='', help='comma list of paths (relative) left out')
    p.add_argument('--total', type=int)
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_findings)
    p = sub.add_parser('inside')
    p.add_argument('--json', required=True)
    p.add_argument('--mnt', required=True)
    p.add_argument('--canary', action='append', default=[])
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_inside)
    p = sub.add_parser('storetruth')
    p.add_argument('--image', required=True)
    p.add_argument('--store', required=True)
    p.set_defaults(fn=cmd_storetruth)
    p = sub.add_parser('storecheck')
    p.add_argument('--truth', required=True)
    p.add_argument('--json', required=True)
    p.add_argument('--mnt', required=True)
    p.add_argument('--as-path', required=True, help='where the store is below MNT')
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_storecheck)
    p = sub.add_parser('storedesign')
    p.add_argument('--truth', required=True)
    p.add_argument('--expect', nargs='*', default=[], help='IMAGEPATH=WHY')
    p.add_argument('--flags', nargs='*', default=[], help='IMAGEPATH=BITS')
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_storedesign)
    p = sub.add_parser('list')
    p.add_argument('--json', required=True)
    p.add_argument('--mnt', required=True)
    p.add_argument('--expect', required=True)
    p.add_argument('--cfgdir-rel', default='etc/vservers')
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_list)
    p = sub.add_parser('hashlist')
    p.add_argument('--json', required=True)
    p.add_argument('--mnt', required=True)
    p.add_argument('--guest', required=True)
    p.add_argument('--dir', required=True)
    p.add_argument('--method', required=True)
    p.add_argument('--store', nargs='*', default=[], help='ENTRY:PATH|-:dup|nodup')
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_hashlist)
    p = sub.add_parser('field')
    p.add_argument('--json', required=True)
    p.add_argument('--guest', required=True)
    p.add_argument('--key', required=True)
    p.set_defaults(fn=cmd_field)
    a = ap.parse_args()
    try:
        a.fn(a)
    except (OSError, ValueError, RuntimeError, subprocess.CalledProcessError) as e:
        tap(False, '%s: helper error: %s' % (a.cmd, e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
