#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""legacytest.py - ground truth for legacy.sh (2.4-era NAME.conf guests).

check: compares vaudit --list --json and the audit's --json findings with
a specification written by hand in legacy.sh.  The variables a NAME.conf
sets are computed by bash itself: the test's own files are sourced in a
clean `env -i bash` with the guest's PROFILE, and what they leave is the
truth vaudit's conf_vars must equal (vaudit never runs them).  Lines such
as S_CONTEXT's are found in the file by this script.

journal: reads and rewrites a --convert-legacy journal with its own
reader (format of migrate/journal.h; CRC32C from vatest.py): `records` checks its
'C' records against the trees on disk (every entry of NAME/ recorded, with
its inode, type and ctime, nothing else); `tmpname` prints the temporary
name a conversion was built under; `drop-marks` removes the done/undone
lines (the state of a run killed before its marks were written);
`forge` rewrites the header's source and every path from one prefix to
another, each line with a valid CRC.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vatest  # noqa: E402
from vatest import tap, diag, load_json_file  # noqa: E402


def bash_vars(path, names, profile):
    """The values bash leaves for NAMES after sourcing PATH (None: unset)."""
    script = 'set -a; . "$1" >/dev/null 2>&1; for v in %s; do ' \
             'if [ "${!v+set}" = set ]; then printf "%%s=%%s\\0" "$v" "${!v}"; fi; done' \
             % ' '.join(names)
    env = {'PATH': '/usr/bin:/bin'}
    if profile:
        env['PROFILE'] = profile
    out = subprocess.run(['bash', '-c', script, 'bash', path], env=env, check=True,
                         stdout=subprocess.PIPE).stdout.decode('utf-8', 'surrogateescape')
    res = {}
    for item in out.split('\0'):
        if item:
            k, v = item.split('=', 1)
            res[k] = v
    return res


def last_line(path, var):
    n = 0
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for i, line in enumerate(f, 1):
            if re.match(r'\s*(export\s+)?%s=' % re.escape(var), line):
                n = i
    return n


def rel(mnt, p):
    if p is None:
        return None
    return p[len(mnt):] if p.startswith(mnt + '/') else '!' + p


def cmd_check(a):
    mnt = a.mnt.rstrip('/')
    spec = json.load(open(a.spec))
    recs = load_json_file(a.list)
    names = [r.get('name') for r in recs]
    want = [g['name'] for g in spec['guests']]
    tap(names == want, 'list: the guests, legacy and directory, in byte order: %s' % ' '.join(want))
    if names != want:
        diag('got %r' % names)
    byname = {r.get('name'): r for r in recs}
    for g in spec['guests']:
        r = byname.get(g['name'], {})
        probs = []

        def w(what, got, exp):
            if got != exp:
                probs.append('%s %r, expected %r' % (what, got, exp))
        w('style', r.get('style'), g['style'])
        w('legacy', r.get('legacy'), g['style'] == 'legacy')
        w('cfgdir', rel(mnt, r.get('cfgdir')), g['cfgdir'])
        w('context', r.get('context'), g.get('context'))
        w('vdir', rel(mnt, r.get('vdir')), g.get('vdir'))
        w('vdir_from', r.get('vdir_from'), g['vdir_from'])
        w('state', r.get('state'), 'unknown')
        w('conf_ignored', rel(mnt, r.get('conf_ignored')), g.get('conf_ignored'))
        w('unify.enabled', (r.get('unify') or {}).get('enabled'), g.get('unify', False))
        if g['style'] == 'legacy':
            w('onboot', r.get('onboot'), g.get('onboot', False))
            if 'truth_profile' in g:
                conf = mnt + g['cfgdir']
                exp = bash_vars(conf, spec['vars'], g['truth_profile'])
                got = {k: v for k, v in (r.get('conf_vars') or {}).items() if k in spec['vars']}
                w('conf_vars (bash: %s)' % ','.join(sorted(exp)), got, exp)
        for p in probs:
            diag('%s: %s' % (g['name'], p))
        tap(not probs, 'list: %s: %s guest, context %s, vdir %s%s' % (
            g['name'], g['style'], g.get('context'), g.get('vdir'),
            ', variables as bash leaves them' if 'truth_profile' in g else ''))

    got = set()
    for f in load_json_file(a.findings):
        if f.get('kind', '').startswith('config-'):
            got.add((f['kind'], rel(mnt, f.get('path')), f.get('line', 0) or 0))
    exp = set()
    for kind, path, line in spec['findings']:
        if isinstance(line, str):
            line = last_line(mnt + path, line)
        exp.add((kind, path, line))
    for k in sorted(exp - got):
        diag('missing: %s %s:%s' % k)
    for k in sorted(got - exp):
        diag('unexpected: %s %s:%s' % k)
    tap(got == exp, 'audit: the %d configuration findings (kind, file, line) and no others' % len(exp))


def expected_tree(name, v):
    """The directory vserver-config(5)'s mapping makes of variables V (bash's)."""
    t = {'name': 'file:%s\n' % name, 'vdir': 'link:/vservers/%s' % name}

    def f(rel, text):
        parts = rel.split('/')
        for i in range(1, len(parts)):
            t['/'.join(parts[:i])] = 'dir'
        t[rel] = 'file:%s\n' % text
    if v.get('S_CONTEXT'):
        f('context', v['S_CONTEXT'])
    if v.get('ONBOOT') == 'yes':
        f('apps/init/mark', 'default')
    ips = (v.get('IPROOT') or '').split()
    for i, w in enumerate(ips):
        dev, _, ip = w.rpartition(':')
        f('interfaces/%d/ip' % i, ip)
        if dev:
            f('interfaces/%d/dev' % i, dev)
    for var, rel in (('IPROOTDEV', 'interfaces/dev'), ('IPROOTMASK', 'interfaces/mask'),
                     ('IPROOTBCAST', 'interfaces/bcast'), ('S_HOSTNAME', 'uts/nodename'),
                     ('S_DOMAINNAME', 'uts/domainname'), ('S_NICE', 'nice')):
        if v.get(var):
            f(rel, v[var])
    if v.get('S_FLAGS'):
        f('cflags', '\n'.join(v['S_FLAGS'].split()))
    if v.get('S_CAPS'):
        f('bcapabilities', '\n'.join(v['S_CAPS'].split()))
    if v.get('ULIMIT'):
        words = v['ULIMIT'].split()
        mode = ''
        res = {'u': 'nproc', 'n': 'nofile', 'c': 'core', 'v': 'as'}
        i = 0
        while i < len(words):
            w = words[i]
            if set(w[1:]) <= set('HS'):
                mode = w[1:]
            else:
                suffix = '' if len(set(mode)) != 1 else '.hard' if mode == 'H' else '.soft'
                f('rlimits/%s%s' % (res[w[1]], suffix), words[i + 1])
                i += 1
            i += 1
    return t


def actual_tree(d):
    t = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            if os.path.islink(p):
                t[rel] = 'link:' + os.readlink(p)
            elif os.path.isdir(p):
                t[rel] = 'dir'
            else:
                t[rel] = 'file:' + open(p, encoding='utf-8').read()
    return t


def cmd_convtree(a):
    """The directory --convert-legacy made for NAME against the mapping of bash's variables."""
    names = ['S_CONTEXT', 'IPROOT', 'IPROOTDEV', 'IPROOTMASK', 'IPROOTBCAST', 'ONBOOT',
             'S_HOSTNAME', 'S_DOMAINNAME', 'S_FLAGS', 'S_CAPS', 'ULIMIT', 'S_NICE']
    v = bash_vars(a.conf, names, a.profile)
    exp = expected_tree(a.name, v)
    got = actual_tree(a.dir)
    for k in sorted(set(exp) | set(got)):
        if exp.get(k) != got.get(k):
            diag('%s: %r, expected %r' % (k, got.get(k), exp.get(k)))
    tap(exp == got, '%s: the directory holds what the mapping makes of bash\'s variables (%d entries)'
        % (a.name, len(exp)))


def crc32c(b):
    """The journal's line checksum: standard CRC32C (init and final xor ~0)."""
    return vatest.crc32c(0xFFFFFFFF, b) ^ 0xFFFFFFFF


def jlines(path):
    """(body fields, raw line) of each line, the CRC checked."""
    out = []
    for raw in open(path, 'rb').read().split(b'\n'):
        if not raw:
            continue
        body, _, crc = raw.rpartition(b'\tcrc=')
        assert int(crc, 16) == crc32c(body), 'bad CRC in %r' % raw
        out.append((body.split(b'\t'), raw))
    return out


def put_lines(path, bodies):
    with open(path, 'wb') as f:
        for b in bodies:
            f.write(b + b'\tcrc=%08x\n' % crc32c(b))


def creates(path):
    """The 'C' records: (type, dev, ino, ctime, path, tmp)."""
    recs = []
    for f, _ in jlines(path):
        if f[0] == b'C':
            recs.append((f[2].decode(), f[3].decode(), int(f[4]), f[5].decode(),
                         base64.b64decode(f[6]).decode(), base64.b64decode(f[7]).decode()))
    return recs


def cmd_journal(a):
    if a.action == 'tmpname':
        print([r[5] for r in creates(a.journal) if r[4] == a.path][0])
    elif a.action == 'drop-marks':
        put_lines(a.journal, [b'\t'.join(f) for f, _ in jlines(a.journal) if f[0] not in (b'D', b'U')])
    elif a.action == 'forge':
        old, new = a.old.encode(), a.new.encode()
        bodies = []
        for f, _ in jlines(a.journal):
            if f[0].startswith(b'vaudit-journal'):
                src = base64.b64decode(f[4][7:]).replace(old, new, 1)
                f[4] = b'source=' + base64.b64encode(src)
            elif f[0] == b'C':
                f[6] = base64.b64encode(base64.b64decode(f[6]).replace(old, new, 1))
            bodies.append(b'\t'.join(f))
        put_lines(a.journal, bodies)
    elif a.action == 'records':
        recs = {r[4]: r for r in creates(a.journal)}
        want = {}
        for d in a.dirs:
            for root, dirs, files in os.walk(d):
                for p in [root] + [os.path.join(root, n) for n in dirs + files]:
                    st = os.lstat(p)
                    t = 'd' if os.path.isdir(p) and not os.path.islink(p) else \
                        'l' if os.path.islink(p) else 'f'
                    want[p] = (t, st.st_ino, '%d.%09d' % (st.st_ctime_ns // 10**9, st.st_ctime_ns % 10**9))
        bad = [p for p in set(want) | set(recs)
               if p not in want or p not in recs or recs[p][0] != want[p][0] or recs[p][2] != want[p][1]
               or (want[p][0] != 'd' and recs[p][3] != want[p][2])]
        for p in sorted(bad)[:5]:
            diag('%s: on disk %r, journal %r' % (p, want.get(p), recs.get(p)))
        tops = [r for r in recs.values() if r[5]]
        tap(not bad and sorted(r[4] for r in tops) == sorted(a.dirs),
            'the journal records every entry of %s (inode, type, ctime) and nothing else (%d records)'
            % (' '.join(os.path.basename(d) for d in a.dirs), len(recs)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('check')
    c.add_argument('--mnt', required=True)
    c.add_argument('--list', required=True)
    c.add_argument('--findings', required=True)
    c.add_argument('--spec', required=True)
    c = sub.add_parser('convtree')
    c.add_argument('--name', required=True)
    c.add_argument('--conf', required=True)
    c.add_argument('--dir', required=True)
    c.add_argument('--profile', default='')
    c = sub.add_parser('journal')
    c.add_argument('action', choices=['tmpname', 'drop-marks', 'forge', 'records'])
    c.add_argument('--journal', required=True)
    c.add_argument('--path')
    c.add_argument('--old')
    c.add_argument('--new')
    c.add_argument('--dirs', nargs='+', default=[])
    a = ap.parse_args()
    {'check': cmd_check, 'convtree': cmd_convtree, 'journal': cmd_journal}[a.cmd](a)


if __name__ == '__main__':
    main()
