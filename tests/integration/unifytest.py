#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""unifytest.py - fixtures and ground-truth checks for unify.sh and
unify-race.sh (vunify, vhashify, vaudit --undo of their journals).

The expected results never come from the programs under test: a layout
is built here file by file, and the builder writes a spec (JSON) that
says which names must end up as one inode (groups), which must never be
linked (with the reason the fixture gives them), and a copy of every
file's content outside the image.  State is read with lstat, listxattr/
getxattr and FS_IOC_GETFLAGS; content is compared byte for byte with the
copies.

Check sub-commands print lines for tests/lib.sh py_checks ("ok<TAB>desc",
"not ok<TAB>desc", "#<TAB>comment") and exit 0 unless the helper broke.

Sub-commands:
  build LAYOUT MNT COPIES SPEC   make a layout below MNT (hash-rules,
                                 unify-rules, exclude, config, race)
  state MNT OUT [--skip DIR]     dump every entry below MNT as JSON
  check-run    a link run: groups, never-linked cases, everything else
               unchanged, the store, flags, and the --json output
  check-orig   the state equals the original one (after --undo)
  check-revert the reverted names got private copies
  compare-dry  the "would" events of a dry run equal a real run's events
  jsonlines    every line of a --json output is JSON, the last the summary
  summary FILE KEY               print a key of the summary (dotted)
  events FILE EVENT              print the paths of EVENT events
  mklinks SRC DIR N              N hard links of SRC in DIR (fast)
  reader       the concurrent reader of unify-race.sh
"""

import argparse
import base64
import fcntl
import array
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vatest import tap, diag, show  # noqa: E402
import vatest  # noqa: E402

FS_IOC_GETFLAGS = 0x80086601
FL_IMMUTABLE = 0x10
FL_APPEND = 0x20
FL_NOTAIL = 0x8000
PROTECT_MASK = FL_IMMUTABLE | FL_APPEND | FL_NOTAIL
FLAGS_WANT = {'immutable': FL_IMMUTABLE, 'legacy': FL_IMMUTABLE | FL_NOTAIL, 'none': 0}



def skip_reasons():
    """The skip reasons, every one a key of the summary's "skipped" object:
    the names of the VA_USKIPS list of migrate/unify/unify.h (the interface)."""
    h = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'migrate', 'unify', 'unify.h')
    txt = open(h).read()
    body = txt[txt.index('#define VA_USKIPS(X)'):]
    body = body[:body.index('enum va_uskip')]
    return re.findall(r'X\(\s*[A-Z_]+\s*,\s*"([^"]+)"', body)


SKIP_REASONS = skip_reasons()

T0 = 1500000000 * 10**9 + 123456789     # mtime of the fixture's files
A0 = 1400000000 * 10**9 + 987654321     # their atime


def fs(b):
    """bytes path -> the str form used as a JSON key (surrogateescape)."""
    return os.fsdecode(b)


def fb(s):
    return os.fsencode(s)


# ------------------------------------------------------------------ content

def blob(tag, size):
    """Deterministic content of @size bytes for @tag."""
    out = bytearray()
    n = 0
    seed = tag.encode() if isinstance(tag, str) else tag
    while len(out) < size:
        out += hashlib.sha256(seed + b'#%d' % n).digest()
        n += 1
    return bytes(out[:size])


# ------------------------------------------------------------------ builder

class Builder:
    def __init__(self, mnt, copies):
        self.mnt = fb(mnt)
        self.copies = fb(copies)
        self.copy = {}          # rel -> copy rel
        self.made_copies = set()
        self.have_setcap = subprocess.run(['sh', '-c', 'command -v setcap'],
                                          stdout=subprocess.DEVNULL).returncode == 0

    def path(self, rel):
        return os.path.join(self.mnt, fb(rel))

    def mkdirs(self, rel):
        os.makedirs(os.path.dirname(self.path(rel)), mode=0o755, exist_ok=True)

    def file(self, rel, content, mode=0o644, uid=0, gid=0, mtime=T0, atime=A0, xattrs=None,
             acl=None, cap=None, flag=None, sparse=None, copytag=None):
        """One regular file; attributes in the order that keeps them all
        (chown clears setuid and capabilities, setfacl may touch the mode)."""
        p = self.path(rel)
        self.mkdirs(rel)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if sparse:
                # sparse = [(offset, bytes), ...], content = total size
                for off, data in sparse:
                    os.pwrite(fd, data, off)
                os.ftruncate(fd, content)
            else:
                os.write(fd, content)
        finally:
            os.close(fd)
        os.chown(p, uid, gid)
        os.chmod(p, mode)
        if acl:
            subprocess.run(['setfacl', '-m', acl, p], check=True)
        for k, v in (xattrs or {}).items():
            os.setxattr(p, k, v)
        if cap:
            if self.have_setcap:
                subprocess.run(['setcap', cap, p], check=True, stdout=subprocess.DEVNULL)
            else:
                # VFS_CAP_REVISION_2, cap_net_raw (13) permitted, effective
                os.setxattr(p, 'security.capability',
                            bytes.fromhex('0100000200200000000000000000000000000000'))
        os.utime(p, ns=(atime, mtime), follow_symlinks=False)
        st = os.lstat(p)
        if (st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_mtime_ns) != (mode, uid, gid, mtime):
            raise RuntimeError('%s: attributes did not stick: %o %d %d %d' %
                               (show(p), st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_mtime_ns))
        if flag:
            subprocess.run(['chattr', '+' + flag, p], check=True)
        # the copy, outside the image
        if sparse:
            data = bytearray(content)
            for off, d in sparse:
                data[off:off + len(d)] = d
            data = bytes(data)
        else:
            data = content
        tag = copytag or hashlib.sha256(data).hexdigest()
        crel = 'c/' + tag
        if tag not in self.made_copies:
            cp = os.path.join(self.copies, fb(crel))
            os.makedirs(os.path.dirname(cp), exist_ok=True)
            with open(cp, 'wb') as fh:
                fh.write(data)
            self.made_copies.add(tag)
        self.copy[rel] = crel
        return rel

    def special(self, rel, kind):
        p = self.path(rel)
        self.mkdirs(rel)
        if kind == 'link':
            os.symlink(b'../usr/lib/libshared.so.1', p)
        elif kind == 'fifo':
            os.mkfifo(p, 0o644)
        elif kind == 'chr':
            os.mknod(p, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
        elif kind == 'blk':
            os.mknod(p, 0o644 | stat.S_IFBLK, os.makedev(250, 250))
        elif kind == 'dir':
            os.mkdir(p, 0o755)
        os.utime(p, ns=(A0, T0), follow_symlinks=False)
        return rel

    def dir(self, rel):
        os.makedirs(self.path(rel), mode=0o755, exist_ok=True)


def never_cases(b, where_a, where_b, suffix, uniq):
    """The pairs that must never be linked: A at where_a/never/CASE[.a],
    B at where_b/never/CASE[.b]; every pair has content of its own."""
    out = []

    def pair(case, a_kw, b_kw, b_content=None, size=4000):
        tag = 'never-%s-%s' % (case, uniq)
        base = blob(tag, size)
        ra = '%s/never/%s%s' % (where_a, case, '.a' if suffix else '')
        rb = '%s/never/%s%s' % (where_b, case, '.b' if suffix else '')
        b.file(ra, base, **a_kw)
        b.file(rb, b_content if b_content is not None else base, **b_kw)
        out.append({'case': case, 'paths': [ra, rb]})

    base = blob('never-content-mid-%s' % uniq, 4000)
    mid = bytearray(base)
    mid[2000] ^= 0x01
    pair('content-mid', {}, {}, bytes(mid))
    base = blob('never-last-byte-%s' % uniq, 4000)
    pair('last-byte', {}, {}, base[:-1] + bytes([base[-1] ^ 0xff]))
    pair('mode', {}, {'mode': 0o600})
    pair('owner', {}, {'uid': 1000})
    pair('group', {}, {'gid': 1000})
    pair('mtime-sec', {}, {'mtime': T0 + 10**9})
    pair('mtime-nsec', {}, {'mtime': T0 + 1})
    pair('xattr-value', {'xattrs': {'user.k': b'one'}}, {'xattrs': {'user.k': b'two'}})
    pair('xattr-extra', {}, {'xattrs': {'user.extra': b'x'}})
    pair('xattr-trusted', {}, {'xattrs': {'trusted.t': b'1'}})
    pair('acl', {}, {'acl': 'u:1000:r--'})
    pair('capability', {}, {'cap': 'cap_net_raw+ep'})
    return out


def specials(b, trees):
    out = []
    for kind in ('link', 'fifo', 'chr', 'blk', 'dir'):
        out.append({'case': 'special-' + kind,
                    'paths': [b.special('%s/spec/%s' % (t, kind), kind) for t in trees]})
    return out


def positives(b, trees, which):
    """The groups that must be linked: {name: [rel, ...]} (same path in
    every tree of @trees[name])."""
    groups = {}

    def grp(name, rel, ts, content, **kw):
        tag = 'pos-' + name
        groups[name] = [b.file('%s/%s' % (t, rel), content, copytag=tag, **kw) for t in ts]

    if 'libshared' in which:
        grp('libshared', 'usr/lib/libshared.so.1', which['libshared'], blob('libshared', 5000))
    if 'tool' in which:
        grp('tool', 'usr/bin/tool', which['tool'], blob('tool', 7000), mode=0o755,
            xattrs={'user.origin': b'pkg-1.0'}, acl='u:1000:r-x')
    if 'sixteen' in which:
        grp('sixteen', 'usr/share/sixteen', which['sixteen'], blob('sixteen', 16))
    if 'big' in which:
        grp('big', 'usr/lib/big.bin', which['big'], 3 << 20,
            sparse=[(1 << 20, blob('big1', 65536)), ((3 << 20) - 100, blob('big2', 100))])
    if 'suidcap' in which:
        grp('suidcap', 'usr/bin/ping', which['suidcap'], blob('suidcap', 3000), mode=0o4755,
            uid=1000, gid=1000, acl='u:2000:r-x', xattrs={'user.foo': b'bar'},
            cap='cap_net_raw+ep')
    if 'odd' in which:
        grp('odd', b'usr/share/odd name\xff\x01'.decode('utf-8', 'surrogateescape'),
            which['odd'], blob('odd', 100))
    return groups


def layout_hash_rules(b):
    g = ['vs/g1', 'vs/g2', 'vs/g3', 'vs/g4']
    for t in g:
        b.dir(t)
    b.dir('.hash')
    pos = positives(b, g, {'libshared': g, 'tool': g[:3], 'sixteen': g[:3], 'big': g[:2],
                           'suidcap': g[:3], 'odd': g[:2]})
    # found whatever the path
    c = blob('cross', 3000)
    pos['cross'] = [b.file(r, c, copytag='cross') for r in
                    ('vs/g1/opt/a/data.bin', 'vs/g2/srv/b/other.bin', 'vs/g3/usr/share/x.bin')]
    # immutable and append-only twins: skipped, the others linked
    c = blob('imm', 2000)
    pos['imm'] = [b.file('%s/usr/lib/imm.so' % t, c, copytag='imm') for t in g[:2]]
    imm = [b.file('vs/g3/usr/lib/imm.so', c, flag='i', copytag='imm'),
           b.file('vs/g4/usr/lib/imm.so', c, flag='a', copytag='imm')]
    never = never_cases(b, 'vs/g1', 'vs/g2', False, 'x')
    never += [dict(n, case=n['case'] + ' (same guest)') for n in never_cases(b, 'vs/g3', 'vs/g3', True, 's')]
    never.append({'case': 'small (15 bytes)',
                  'paths': [b.file('%s/never/small15' % t, blob('small15', 15)) for t in g[:3]]})
    never.append({'case': 'small (1 byte)',
                  'paths': [b.file('%s/never/small1' % t, b'x') for t in g[:3]]})
    never.append({'case': 'empty', 'paths': [b.file('%s/never/empty' % t, b'') for t in g[:2]]})
    never += specials(b, g[:3])
    never.append({'case': 'immutable and append-only', 'paths': imm})
    groups = [{'name': k, 'members': v, 'master': None} for k, v in sorted(pos.items())]
    return {'trees': g, 'store': '.hash', 'never': never,
            'scenarios': {'all': {'groups': groups, 'store': True, 'trees': g,
                                  'skip': {'immutable': 2}}}}


def layout_unify_rules(b):
    ref, ref2 = 'vs/ref', 'vs/ref2'
    t = ['vs/t1', 'vs/t2', 'vs/t3']
    for x in [ref, ref2] + t:
        b.dir(x)
    pos = positives(b, [ref] + t, {'libshared': [ref] + t, 'tool': [ref] + t,
                                   'sixteen': [ref] + t[:2], 'big': [ref, t[0]],
                                   'suidcap': [ref] + t, 'odd': [ref, t[0]]})
    c = blob('imm', 2000)
    pos['imm'] = [b.file('%s/usr/lib/imm.so' % x, c, copytag='imm') for x in (ref, t[0])]
    imm = [b.file('vs/t2/usr/lib/imm.so', c, flag='i', copytag='imm'),
           b.file('vs/t3/usr/lib/imm.so', c, flag='a', copytag='imm')]
    masters = {k: ref for k in pos}
    # references in order: the first that has a matching file wins
    c = blob('both', 2500)
    pos['first-ref-wins'] = [b.file(x + '/usr/lib/both.so', c, copytag='both') for x in (ref, t[0])]
    b.file(ref2 + '/usr/lib/both.so', c, copytag='both')
    masters['first-ref-wins'] = ref
    c = blob('only2', 2500)
    pos['second-ref'] = [b.file(x + '/usr/lib/only2.so', c, copytag='only2') for x in (ref2, t[0])]
    masters['second-ref'] = ref2
    c = blob('dmeta', 2500)
    b.file(ref + '/usr/lib/d.so', c, mtime=T0 + 5, copytag='dmeta')
    pos['first-ref-differs'] = [b.file(x + '/usr/lib/d.so', c, copytag='dmeta') for x in (ref2, t[0])]
    masters['first-ref-differs'] = ref2
    never = never_cases(b, ref, t[0], False, 'u')
    c = blob('path', 3000)
    never.append({'case': 'same content, different path',
                  'paths': [b.file(ref + '/srv/b/data.bin', c, copytag='path'),
                            b.file(t[0] + '/opt/a/data.bin', c, copytag='path')]})
    never += specials(b, [ref, t[0]])
    never.append({'case': 'immutable and append-only targets', 'paths': imm})
    scen = {}
    for n in (1, 2, 3):
        part = set([ref, ref2] + t[:n])
        groups = []
        for k, v in sorted(pos.items()):
            m = [p for p in v if any(p.startswith(x + '/') for x in part)]
            if len(m) >= 2:
                master = [p for p in m if p.startswith(masters[k] + '/')][0]
                groups.append({'name': k, 'members': m, 'master': master})
        scen['t%d' % n] = {'groups': groups, 'store': False, 'trees': t[n - 1:n],
                           'skip': {'immutable': 0 if n == 1 else 1}}
    return {'trees': [ref, ref2] + t, 'store': None, 'never': never, 'scenarios': scen}


EXCL_TARGET = b'''# target list
+/etc/sub/deep/file
+/etc/keep
/etc/*
/usr/share/doc
~/srv/secret*
/opt/nolink
'''
EXCL_REF1 = b'''/usr/lib/libok
/srv
'''


def layout_exclude(b):
    g = ['vs/g1', 'vs/g2', 'vs/g3']
    for t in g:
        b.dir(t)
    b.dir('.hash')
    rels = {'etc/keep': 'in', 'etc/other': 'out', 'etc/sub/deep/file': 'out (directory not entered)',
            'usr/share/doc/README': 'out (directory)', 'usr/share/docs/x': 'in',
            'srv/secret.key': 'out (~)', 'srv/public': 'in', 'usr/lib/libok': 'in',
            'opt/nolink': 'out'}
    files = {}
    for r in rels:
        c = blob('excl-' + r, 1000)
        files[r] = [b.file('%s/%s' % (t, r), c, copytag='excl-' + r) for t in g]
    b.dir('vs/g1/usr/lib')
    never = []
    # vhashify: g1 and g2 with the target list, g3 without a list
    hgroups = []
    for r, how in sorted(rels.items()):
        if how == 'in':
            hgroups.append({'name': r, 'members': files[r], 'master': None})
        else:
            never.append({'case': 'excluded %s: %s' % (how, r), 'paths': files[r]})
    # vunify: target g2 (target list), ref g1 (EXCL_REF1), ref2 g3 (no list)
    ugroups = []
    for r, how in sorted(rels.items()):
        if how != 'in':
            continue
        master = 'vs/g3/' + r if r in ('usr/lib/libok', 'srv/public') else 'vs/g1/' + r
        ugroups.append({'name': r + ' (master %s)' % master.split('/')[1],
                        'members': sorted([master, 'vs/g2/' + r]), 'master': master})
    return {'trees': g, 'store': '.hash', 'never': never,
            'scenarios': {'hash': {'groups': hgroups, 'store': True, 'trees': g, 'skip': {}},
                          'unify': {'groups': ugroups, 'store': False, 'trees': ['vs/g2'],
                                    'skip': {}}}}


def layout_config(b):
    g = ['vs/g1', 'vs/g2', 'vs/g3', 'vs/g4']
    for t in g:
        b.dir(t)
    b.dir('.hash')
    files = {}
    for r in ('usr/lib/libcfg.so', 'etc/termcap', 'etc/hosts', 'var/lib/state',
              'usr/share/doc/README'):
        c = blob('cfg-' + r, 1200)
        files[r] = [b.file('%s/%s' % (t, r), c, copytag='cfg-' + r) for t in g]

    def grp(r, ts, master=None):
        return {'name': r, 'members': ['vs/%s/%s' % (t, r) for t in ts],
                'master': 'vs/%s/%s' % (master, r) if master else None}
    # g1: the built-in list (/etc/* but +/etc/termcap, /var); g2: its own
    # list "/usr/share/doc"; g3 disabled, g4 without apps/vunify
    u = [grp('usr/lib/libcfg.so', ['g1', 'g2'], 'g1'), grp('etc/termcap', ['g1', 'g2'], 'g1')]
    h = [grp('usr/lib/libcfg.so', ['g1', 'g2']), grp('etc/termcap', ['g1', 'g2'])]
    return {'trees': g, 'store': '.hash', 'never': [],
            'scenarios': {'vunify-g2': {'groups': u, 'store': False, 'trees': ['vs/g2'], 'skip': {}},
                          'hash-g1g2': {'groups': h, 'store': True, 'trees': g[:2], 'skip': {}},
                          'hash-all': {'groups': h, 'store': True, 'trees': g[:2], 'skip': {}}}}


def race_content(i):
    return (b'race %05d ' % i) * (2 + i % 97)


def race_paths(n, guests=3):
    for i in range(n):
        for gi in range(1, guests + 1):
            yield i, 'vs/g%d/d%02d/f%05d' % (gi, i % 40, i)


def layout_race(b, n):
    g = ['vs/g1', 'vs/g2', 'vs/g3']
    for t in g:
        b.dir(t)
    b.dir('.hash')
    members = {}
    for i, rel in race_paths(n):
        members.setdefault(i, []).append(b.file(rel, race_content(i), copytag='race%05d' % i))
    groups = [{'name': 'race%05d' % i, 'members': m, 'master': None} for i, m in sorted(members.items())]
    return {'trees': g, 'store': '.hash', 'never': [],
            'scenarios': {'all': {'groups': groups, 'store': True, 'trees': g, 'skip': {}}}}


def cmd_build(a):
    b = Builder(a.mnt, a.copies)
    os.makedirs(a.copies, exist_ok=True)
    if a.layout == 'hash-rules':
        spec = layout_hash_rules(b)
    elif a.layout == 'unify-rules':
        spec = layout_unify_rules(b)
    elif a.layout == 'exclude':
        spec = layout_exclude(b)
    elif a.layout == 'config':
        spec = layout_config(b)
    elif a.layout == 'race':
        spec = layout_race(b, a.n)
    else:
        raise SystemExit('unknown layout ' + a.layout)
    spec['copy'] = b.copy
    spec['layout'] = a.layout
    with open(a.spec, 'w') as fh:
        json.dump(spec, fh, ensure_ascii=True)
    if a.layout == 'exclude':
        with open(os.path.join(a.copies, 'excl-target'), 'wb') as fh:
            fh.write(EXCL_TARGET)
        with open(os.path.join(a.copies, 'excl-ref1'), 'wb') as fh:
            fh.write(EXCL_REF1)


# ------------------------------------------------------------------ state

def getflags(path):
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        buf = array.array('l', [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf, True)
        return buf[0] & 0xffffffff
    finally:
        os.close(fd)


TYPES = [(stat.S_ISREG, 'f'), (stat.S_ISDIR, 'd'), (stat.S_ISLNK, 'l'), (stat.S_ISFIFO, 'p'),
         (stat.S_ISCHR, 'c'), (stat.S_ISBLK, 'b'), (stat.S_ISSOCK, 's')]


def ftype(mode):
    for f, t in TYPES:
        if f(mode):
            return t
    return '?'


def entry(p, st):
    t = ftype(st.st_mode)
    e = {'type': t, 'ino': st.st_ino, 'nlink': st.st_nlink, 'mode': st.st_mode & 0o7777,
         'uid': st.st_uid, 'gid': st.st_gid, 'size': st.st_size if t != 'd' else 0,
         'atime_ns': st.st_atime_ns, 'mtime_ns': st.st_mtime_ns, 'ctime_ns': st.st_ctime_ns,
         'flags': None, 'xattrs': {}, 'rdev': st.st_rdev if t in 'cb' else 0, 'target': None}
    if t in 'fd':
        e['flags'] = getflags(p)
        for k in os.listxattr(p, follow_symlinks=False):
            e['xattrs'][k] = os.getxattr(p, k, follow_symlinks=False).hex()
    if t == 'l':
        e['target'] = fs(os.readlink(p))
    return e


def dump_state(mnt, skip=()):
    mnt = fb(mnt)
    st = os.lstat(mnt)
    res = {}
    dev = st.st_dev
    stack = [b'']
    while stack:
        rel = stack.pop()
        d = os.path.join(mnt, rel) if rel else mnt
        for de in os.scandir(d):
            r = os.path.join(rel, de.name) if rel else de.name
            if r in (b'lost+found',) or fs(r) in skip:
                continue
            p = os.path.join(mnt, r)
            st = os.lstat(p)
            res[fs(r)] = entry(p, st)
            if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
                stack.append(r)
    return res


def cmd_state(a):
    s = dump_state(a.mnt, set(a.skip or ()))
    with open(a.out, 'w') as fh:
        json.dump(s, fh, ensure_ascii=True, sort_keys=True)


def load(p):
    with open(p) as fh:
        return json.load(fh)


# ------------------------------------------------------------------ checks

def under(rel, roots):
    return any(rel == r or rel.startswith(r + '/') for r in roots)


def store_files(state, store):
    if not store:
        return {}
    return {p: e for p, e in state.items()
            if p.startswith(store + '/') and e['type'] == 'f' and p != store + '/method'}


def same_content(a, mnt, rel, spec):
    c = spec['copy'].get(rel)
    if c is None:
        return 'no copy of %s' % show(rel)
    p = os.path.join(fb(mnt), fb(rel))
    try:
        with open(p, 'rb') as fh:
            got = fh.read()
    except OSError as e:
        return '%s: %s' % (show(rel), e)
    with open(os.path.join(fb(a.copies), fb(c)), 'rb') as fh:
        want = fh.read()
    if got != want:
        return '%s: content differs from the copy (%d bytes, want %d)' % (show(rel), len(got), len(want))
    return None


def meta(e):
    return (e['type'], e['mode'], e['uid'], e['gid'], e['size'], e['mtime_ns'], e['xattrs'])


def meta_diff(want, got, keys=('mode', 'uid', 'gid', 'size', 'mtime_ns', 'xattrs')):
    out = []
    for k in keys:
        if want[k] != got[k]:
            w, g = want[k], got[k]
            if k == 'mode':
                w, g = '%o' % w, '%o' % g
            out.append('%s %s -> %s' % (k, w, g))
    return out


def ev_path(ev, key='path'):
    if key in ev and ev[key] is not None:
        return fs(ev[key].encode('utf-8', 'surrogatepass'))
    if key + '_b64' in ev:
        return fs(base64.b64decode(ev[key + '_b64']))
    return None


def read_jsonl(path, label, strict=True):
    """(events, summary, problems)"""
    probs = []
    evs = []
    with open(path, 'rb') as fh:
        lines = fh.read().split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    else:
        probs.append('the output does not end in a newline')
    for n, l in enumerate(lines, 1):
        try:
            o = json.loads(l.decode('utf-8'))
            if not isinstance(o, dict) or 'event' not in o:
                raise ValueError('not an object with "event"')
            evs.append(o)
        except (ValueError, UnicodeDecodeError) as e:
            probs.append('line %d is not JSON (%s): %s' % (n, e, show(l[:200])))
    summ = None
    if not evs or evs[-1].get('event') != 'summary':
        probs.append('the last line is not the summary')
    else:
        summ = evs[-1]
    if sum(1 for e in evs if e.get('event') == 'summary') > 1:
        probs.append('more than one summary')
    return evs, summ, probs


def check_summary_shape(summ, program, dry, journal):
    probs = []
    if summ.get('program') != program:
        probs.append('program %r' % summ.get('program'))
    if summ.get('dry_run') is not dry:
        probs.append('dry_run %r' % summ.get('dry_run'))
    for k in ('examined', 'candidates', 'read_files', 'read_bytes', 'linked', 'saved_bytes',
              'already', 'stored', 'reverted', 'protected', 'failed'):
        if not isinstance(summ.get(k), int) or summ.get(k) < 0:
            probs.append('%s is %r' % (k, summ.get(k)))
    sk = summ.get('skipped')
    if not isinstance(sk, dict) or sorted(sk) != sorted(SKIP_REASONS):
        probs.append('skipped keys %r' % (sorted(sk) if isinstance(sk, dict) else sk))
    if dry and summ.get('journal') is not None:
        probs.append('journal %r with -n' % summ.get('journal'))
    if not dry and journal and summ.get('journal') != journal and summ.get('journal_b64') is None:
        probs.append('journal %r, not %r' % (summ.get('journal'), journal))
    if not isinstance(summ.get('elapsed'), (int, float)):
        probs.append('elapsed %r' % summ.get('elapsed'))
    return probs


def cmd_check_run(a):
    spec = load(a.spec)
    sc = spec['scenarios'][a.scenario]
    before, after = load(a.before), load(a.after)
    store = spec['store'] if sc['store'] else None
    L = a.label
    want_flags = FLAGS_WANT[a.flags]
    mnt = a.mnt
    in_groups = set()
    sbefore, safter = store_files(before, spec['store']), store_files(after, spec['store'])
    group_inos = {}
    agg = []
    for g in sc['groups']:
        m = g['members']
        in_groups.update(m)
        probs = []
        miss = [p for p in m if p not in after]
        if miss:
            if a.aggregate:
                agg.append('%s: missing %s' % (g['name'], ', '.join(show(p) for p in miss)))
                continue
            tap(False, '%s: linked: %s: names exist' % (L, g['name']))
            diag('  missing: %s' % ', '.join(show(p) for p in miss))
            continue
        inos = {after[p]['ino'] for p in m}
        ino = after[m[0]]['ino']
        if len(inos) != 1:
            probs.append('%d inodes: %s' % (len(inos), ', '.join('%s=%d' % (show(p), after[p]['ino']) for p in m)))
        if g['master'] and before[g['master']]['ino'] != ino:
            probs.append('not the master %s (inode %d) but %d' % (show(g['master']), before[g['master']]['ino'], ino))
        snames = [p for p, e in safter.items() if e['ino'] == ino]
        want_n = len(m) + (1 if store else 0)
        if store and len(snames) != 1:
            probs.append('%d store names for inode %d: %s' % (len(snames), ino, snames))
        if after[m[0]]['nlink'] != want_n:
            probs.append('nlink %d, want %d' % (after[m[0]]['nlink'], want_n))
        ref = before[g['master'] or m[0]]
        md = meta_diff(ref, after[m[0]])
        if md:
            probs.append('metadata of the shared inode: ' + '; '.join(md))
        c = same_content(a, mnt, m[0], spec)
        if c:
            probs.append(c)
        fl = after[m[0]]['flags']
        if fl & PROTECT_MASK != want_flags:
            probs.append('flags 0x%08x: protection bits 0x%x, want 0x%x (--flags=%s)'
                         % (fl, fl & PROTECT_MASK, want_flags, a.flags))
        group_inos[ino] = g['name']
        if a.aggregate:
            agg += ['%s: %s' % (g['name'], x) for x in probs]
            continue
        tap(not probs, '%s: linked: %s (%d names%s, one inode, content, metadata, flags %s)'
            % (L, g['name'], len(m), ' + store entry' if store else '', a.flags))
        for x in probs:
            diag('  ' + x)
    if a.aggregate:
        tap(not agg, '%s: linked: all %d groups (each one inode%s, content, metadata, flags %s)'
            % (L, len(sc['groups']), ' with its store entry' if store else '', a.flags))
        for x in agg[:20]:
            diag('  ' + x)
    # never-linked cases
    lone = set()        # inodes of a never-linked file alone with a new store entry
    never_paths = set()
    for n in spec['never']:
        probs = []
        known = []
        never_paths.update(n['paths'])
        for p in n['paths']:
            if p not in after or p not in before:
                probs.append('%s missing' % show(p))
                continue
            b, f = before[p], after[p]
            if (b['ino'], b['nlink'], b['flags'], b['type']) != (f['ino'], f['nlink'], f['flags'], f['type']):
                msg = ('%s: inode %d nlink %d flags 0x%x -> inode %d nlink %d flags 0x%x'
                       % (show(p), b['ino'], b['nlink'], b['flags'] or 0, f['ino'], f['nlink'], f['flags'] or 0))
                names = [q for q, e in after.items() if e['ino'] == f['ino'] and e['type'] == 'f']
                snames = [q for q in names if spec['store'] and q.startswith(spec['store'] + '/')]
                if (f['type'] == 'f' and store and f['ino'] != b['ino'] and len(names) == 2
                        and len(snames) == 1 and f['nlink'] == 2 and f['ino'] not in before_inos(before)):
                    known.append(msg + ' (alone with new store entry %s)' % show(snames[0]))
                    lone.add(f['ino'])
                else:
                    probs.append(msg)
            if f['type'] == 'f':
                c = same_content(a, mnt, p, spec)
                if c:
                    probs.append(c)
        desc = '%s: never linked: %s' % (L, n['case'])
        tap(not probs and not known, desc)
        for x in probs + known:
            diag('  ' + x)
    # everything else below the trees: unchanged
    probs = []
    roots = spec['trees']
    for p, b in before.items():
        if not under(p, roots) or p in in_groups or p in never_paths:
            continue
        f = after.get(p)
        if f is None:
            probs.append('%s disappeared' % show(p))
        elif (b['ino'], b['type']) != (f['ino'], f['type']) or (b['nlink'] != f['nlink'] and b['type'] != 'd'):
            probs.append('%s: inode %d nlink %d -> inode %d nlink %d'
                         % (show(p), b['ino'], b['nlink'], f['ino'], f['nlink']))
        elif b['flags'] != f['flags']:
            probs.append('%s: flags 0x%08x -> 0x%08x' % (show(p), b['flags'], f['flags']))
    new = [p for p in after if under(p, roots) and p not in before]
    if new:
        probs.append('new names: %s' % ', '.join(show(p) for p in new[:10]))
    tap(not probs, '%s: every other name below the trees is unchanged (inode, links, flags), no new names' % L)
    for x in probs[:15]:
        diag('  ' + x)
    # the store
    if spec['store']:
        probs = []
        newst = sorted(p for p in safter if p not in sbefore)
        for p in sbefore:
            if p not in safter:
                probs.append('store entry %s disappeared' % show(p))
        known = []
        for p in newst:
            if safter[p]['ino'] in lone:
                known.append('new store entry %s: a never-linked file alone with it' % show(p))
            elif safter[p]['ino'] not in group_inos:
                probs.append('new store entry %s is no group\'s inode' % show(p))
            parts = p[len(spec['store']) + 1:].split('/')
            if (len(parts) != 3 or len(parts[0]) != 2 or len(parts[1]) != 2
                    or not all(c in '0123456789abcdef-' for c in ''.join(parts))
                    or not parts[2][-9:-8] == '-' or len(parts[2]) < 14):
                probs.append('store entry name %s is not xx/yy/REST-NNNNNNNN' % show(p))
            d = os.path.dirname(p)
            while d != spec['store']:
                if after[d]['mode'] != 0o700:
                    probs.append('store directory %s has mode %o, not 0700' % (show(d), after[d]['mode']))
                d = os.path.dirname(d)
        if not sc['store'] and newst:
            probs.append('a vunify run made store entries: %s' % newst)
        desc = ('%s: store: %d new entries, each one a group\'s inode, named xx/yy/REST-NNNNNNNN in 0700 directories'
                % (L, len(newst)))
        tap(not probs and not known, desc)
        for x in (probs + known)[:15]:
            diag('  ' + x)
    else:
        newst = []
    if a.json:
        check_json_run(a, spec, sc, before, after, newst, L)



_binos = {}


def before_inos(before):
    k = id(before)
    if k not in _binos:
        _binos[k] = {e['ino'] for e in before.values()}
    return _binos[k]


def changed_names(before, after, roots):
    return sorted(p for p, b in before.items()
                  if under(p, roots) and b['type'] == 'f' and p in after and after[p]['ino'] != b['ino'])


def check_json_run(a, spec, sc, before, after, newst, L):
    evs, summ, probs = read_jsonl(a.json, L)
    tap(not probs, '%s: --json: every line is a JSON object, the last one the summary' % L)
    for x in probs[:10]:
        diag('  ' + x)
    if summ is None:
        return
    probs = check_summary_shape(summ, a.program, False, a.journal)
    tap(not probs, '%s: --json summary: program, dry_run false, counters, every skip reason, journal' % L)
    for x in probs:
        diag('  ' + x)
    roots = spec['trees']
    ch = changed_names(before, after, roots)
    links = [ev_path(e) for e in evs if e['event'] == 'link']
    stores = [ev_path(e) for e in evs if e['event'] == 'store']
    mnt = fs(fb(a.mnt))
    rel = lambda p: p[len(mnt) + 1:] if p and p.startswith(mnt + '/') else p  # noqa: E731
    lrel = sorted(rel(p) for p in links)
    probs = []
    if summ['linked'] != len(ch):
        probs.append('summary linked %d, but %d names changed inode' % (summ['linked'], len(ch)))
    if len(links) != summ['linked']:
        probs.append('%d link events, summary linked %d' % (len(links), summ['linked']))
    if lrel != ch:
        probs.append('link events != names whose inode changed: only in events %s; only changed %s'
                     % ([show(p) for p in sorted(set(lrel) - set(ch))][:5],
                        [show(p) for p in sorted(set(ch) - set(lrel))][:5]))
    if summ['failed'] != 0:
        probs.append('failed %d' % summ['failed'])
    tap(not probs, '%s: --json: linked = %d = link events = names whose inode changed' % (L, len(ch)))
    for x in probs:
        diag('  ' + x)
    if spec['store'] and sc['store']:
        srel = sorted(rel(p) for p in stores)
        ok = summ['stored'] == len(newst) == len(stores) and srel == newst
        tap(ok, '%s: --json: stored = %d = store events = new store entries' % (L, len(newst)))
        if not ok:
            diag('  stored %d, events %s, new entries %s' % (summ['stored'], srel, newst))
    nprot = sum(1 for e in evs if e['event'] == 'protect')
    tap(nprot == summ['protected'], '%s: --json: protect events = summary protected (%d)' % (L, nprot))
    for k, v in sorted(sc.get('skip', {}).items()):
        got = summ['skipped'].get(k)
        nev = sum(1 for e in evs if e['event'] == 'skip' and e.get('reason') == k)
        tap(got == v and nev == v, '%s: --json: skipped.%s = %d (and as many skip events)' % (L, k, v))
        if got != v or nev != v:
            diag('  summary %r, events %d' % (got, nev))
    bad = [e for e in evs if e['event'] == 'skip' and e.get('reason') in ('excluded', 'small', 'not-regular')]
    tap(not bad, '%s: --json: no skip events for excluded, small, not-regular (only counted)' % L)
    for e in bad[:5]:
        diag('  %s' % e)
    bad = [e for e in evs if e['event'] == 'skip' and (e.get('reason') not in SKIP_REASONS
                                                       or not isinstance(e.get('text'), str))]
    tap(not bad, '%s: --json: every skip event has a known reason and a text' % L)
    for e in bad[:5]:
        diag('  %s' % e)


def cmd_jsonlines(a):
    evs, summ, probs = read_jsonl(a.json, a.label)
    tap(not probs, '%s: every line is a JSON object, the last one the summary' % a.label)
    for x in probs[:10]:
        diag('  ' + x)
    if summ is not None:
        probs = check_summary_shape(summ, a.program, a.dry, a.journal)
        tap(not probs, '%s: summary: program %s, dry_run %s, counters, every skip reason'
            % (a.label, a.program, a.dry))
        for x in probs:
            diag('  ' + x)


def cmd_compare_dry(a):
    dev, dsum, dp = read_jsonl(a.dry, 'dry')
    rev, rsum, rp = read_jsonl(a.real, 'real')
    L = a.label
    tap(not dp and not rp, '%s: both outputs are JSON Lines with a summary' % L)
    for x in dp + rp:
        diag('  ' + x)
    if dsum is None or rsum is None:
        return
    probs = check_summary_shape(dsum, a.program, True, None)
    tap(not probs, '%s: dry run summary: dry_run true, journal null' % L)
    for x in probs:
        diag('  ' + x)
    for evname in ('link', 'store', 'revert'):
        d = sorted(ev_path(e) for e in dev if e['event'] == evname)
        r = sorted(ev_path(e) for e in rev if e['event'] == evname)
        bad_dry = [e for e in dev if e['event'] == evname and e.get('dry_run') is not True]
        ok = d == r and not bad_dry
        tap(ok, '%s: the dry run\'s "would %s" set equals the real run\'s (%d names)' % (L, evname, len(r)))
        if not ok:
            diag('  only dry: %s' % [show(p) for p in sorted(set(d) - set(r))][:5])
            diag('  only real: %s' % [show(p) for p in sorted(set(r) - set(d))][:5])
            if bad_dry:
                diag('  dry events without dry_run true: %d' % len(bad_dry))
    for k in ('linked', 'stored', 'reverted', 'examined', 'candidates', 'saved_bytes'):
        tap(dsum[k] == rsum[k], '%s: summary %s equal in the dry and the real run (%s)' % (L, k, rsum[k]))
        if dsum[k] != rsum[k]:
            diag('  dry %s, real %s' % (dsum[k], rsum[k]))


def partition(state, roots):
    by = {}
    for p, e in state.items():
        if under(p, roots) and e['type'] == 'f':
            by.setdefault(e['ino'], set()).add(p)
    return sorted(sorted(v) for v in by.values())


def cmd_check_orig(a):
    spec = load(a.spec)
    orig, after = load(a.orig), load(a.after)
    L = a.label
    roots = spec['trees']
    probs = []
    for p, o in orig.items():
        if not under(p, roots):
            continue
        f = after.get(p)
        if f is None:
            probs.append('%s is missing' % show(p))
            continue
        if f['type'] != o['type']:
            probs.append('%s: type %s -> %s' % (show(p), o['type'], f['type']))
            continue
        if o['type'] == 'd':
            continue
        if o['type'] != 'f' and f['ino'] != o['ino']:
            probs.append('%s: a %s got another inode' % (show(p), o['type']))
        if f['nlink'] != o['nlink']:
            probs.append('%s: nlink %d, was %d' % (show(p), f['nlink'], o['nlink']))
        md = meta_diff(o, f)
        if md:
            probs.append('%s: %s' % (show(p), '; '.join(md)))
        if f['flags'] != o['flags']:
            probs.append('%s: flags 0x%08x, was 0x%08x' % (show(p), f['flags'], o['flags']))
    new = [p for p in after if under(p, roots) and p not in orig]
    if new:
        probs.append('new names: %s' % ', '.join(show(p) for p in new[:10]))
    tap(not probs, '%s: every name is back: nlink, mode, owner, group, size, mtime, xattrs, flags as before the runs' % L)
    for x in probs[:20]:
        diag('  ' + x)
    po, pa = partition(orig, roots), partition(after, roots)
    tap(po == pa, '%s: every name has an inode of its own again (the same sharing as before the runs)' % L)
    if po != pa:
        sa = set(map(tuple, pa))
        diag('  shared now, not before: %s' % [x for x in pa if len(x) > 1 and tuple(x) not in set(map(tuple, po))][:5])
        diag('  (before: %d inodes, now %d)' % (len(po), len(sa)))
    probs = []
    for p, o in orig.items():
        if under(p, roots) and o['type'] == 'f':
            c = same_content(a, a.mnt, p, spec)
            if c:
                probs.append(c)
    tap(not probs, '%s: content of every file equal to the copy kept outside the image' % L)
    for x in probs[:10]:
        diag('  ' + x)
    if spec['store']:
        so, sa = store_files(orig, spec['store']), store_files(after, spec['store'])
        ok = sorted(so) == sorted(sa)
        tap(ok, '%s: the store holds only the entries it had before (%d)' % (L, len(so)))
        if not ok:
            diag('  now: %s' % [show(p) for p in sorted(set(sa) - set(so))][:10])


def cmd_check_revert(a):
    spec = load(a.spec)
    before, after = load(a.before), load(a.after)
    L = a.label
    rev = a.reverted
    roots = spec['trees']
    # the shared names below the reverted paths: regular, several names,
    # and (vhashify) a store name / (vunify) a name in another tree
    shared_ino = {}
    for p, e in before.items():
        if e['type'] == 'f':
            shared_ino.setdefault(e['ino'], []).append(p)
    targets = []
    for p, e in sorted(before.items()):
        if e['type'] != 'f' or not under(p, rev) or e['nlink'] < 2:
            continue
        others = [q for q in shared_ino[e['ino']] if not under(q, rev)]
        if a.store:
            if any(q.startswith(a.store + '/') for q in others):
                targets.append(p)
        elif others:
            targets.append(p)
    probs = []
    for p in targets:
        b, f = before[p], after.get(p)
        if f is None:
            probs.append('%s missing' % show(p))
            continue
        if f['ino'] == b['ino'] or f['nlink'] != 1:
            probs.append('%s: inode %d nlink %d (was %d)' % (show(p), f['ino'], f['nlink'], b['ino']))
        keys = ('mode', 'uid', 'gid', 'size', 'mtime_ns', 'xattrs') if a.no_atime else \
            ('mode', 'uid', 'gid', 'size', 'atime_ns', 'mtime_ns', 'xattrs')
        md = meta_diff(b, f, keys)
        if md:
            probs.append('%s: %s' % (show(p), '; '.join(md)))
        if f['flags'] & PROTECT_MASK:
            probs.append('%s: flags 0x%08x (protection bits on a private copy)' % (show(p), f['flags']))
        c = same_content(a, a.mnt, p, spec)
        if c:
            probs.append(c)
    tap(bool(targets) and not probs,
        '%s: %d shared names got private copies: new inode, nlink 1, owner, mode (setuid), %smtime ns, '
        'xattrs (ACL, capability, user.*), content; no protection flags'
        % (L, len(targets), '' if a.no_atime else 'atime/'))
    for x in probs[:20]:
        diag('  ' + x)
    probs = []
    for p, b in before.items():
        if p in targets or b['type'] == 'd':
            continue
        if not (under(p, roots) or (a.store and p.startswith(a.store + '/'))):
            continue
        f = after.get(p)
        if f is None:
            probs.append('%s disappeared' % show(p))
            continue
        if f['ino'] != b['ino']:
            probs.append('%s: inode changed' % show(p))
        if f['flags'] != b['flags']:
            probs.append('%s: flags 0x%08x -> 0x%08x' % (show(p), b['flags'] or 0, f['flags'] or 0))
        if b['type'] == 'f':
            gone = sum(1 for q in shared_ino[b['ino']] if q in targets)
            if f['nlink'] != b['nlink'] - gone:
                probs.append('%s: nlink %d, want %d' % (show(p), f['nlink'], b['nlink'] - gone))
    new = [p for p in after if p not in before and (under(p, roots) or (a.store and p.startswith(a.store + '/')))]
    if new:
        probs.append('new names: %s' % [show(p) for p in new[:10]])
    tap(not probs, '%s: every other name unchanged; the shared inode (store entry / reference) keeps its flags'
        % L)
    for x in probs[:20]:
        diag('  ' + x)
    if a.json:
        evs, summ, jp = read_jsonl(a.json, L)
        if summ is None:
            tap(False, '%s: --json summary' % L)
            return
        jp += check_summary_shape(summ, a.program, False, a.journal)
        revs = sorted(ev_path(e) for e in evs if e['event'] == 'revert')
        mnt = fs(fb(a.mnt))
        want = sorted(mnt + '/' + p for p in targets)
        if summ['reverted'] != len(targets) or revs != want:
            jp.append('reverted %d, events %d, want %d' % (summ['reverted'], len(revs), len(targets)))
        tap(not jp, '%s: --json: reverted = %d = revert events = the shared names' % (L, len(targets)))
        for x in jp:
            diag('  ' + x)


# ------------------------------------------------------------------ small tools

def summary_of(path):
    with open(path, 'rb') as fh:
        lines = [l for l in fh.read().split(b'\n') if l.strip()]
    return json.loads(lines[-1])


def cmd_summary(a):
    v = summary_of(a.json)
    for k in a.key.split('.'):
        v = v[k]
    print(v)


def cmd_events(a):
    with open(a.json, 'rb') as fh:
        for l in fh:
            if l.strip():
                e = json.loads(l)
                if e.get('event') == a.event:
                    print(show(fb(ev_path(e))) if a.key == 'path' else e.get(a.key))


def cmd_mklinks(a):
    os.makedirs(a.dir, exist_ok=True)
    for i in range(a.n):
        os.link(a.src, os.path.join(a.dir, 'l%05d' % i))


# ------------------------------------------------------------------ reader

def cmd_reader(a):
    """Read every race file again and again by path until STOP exists, then
    one more full pass; any open error, short read or wrong byte is a
    failure.  The result goes to OUT as JSON."""
    mnt = fb(a.mnt)
    items = [(os.path.join(mnt, fb(rel)), race_content(i)) for i, rel in race_paths(a.n)]
    if a.reverse:
        items.reverse()
    fails = []
    nfail = 0
    passes = reads = 0
    with open(a.ready, 'w'):
        pass
    t0 = time.monotonic()
    parent = os.getppid()
    while True:
        stop = os.path.exists(a.stop)
        if os.getppid() != parent:
            break
        for p, want in items:
            try:
                fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    chunks = []
                    while True:
                        c = os.read(fd, 65536)
                        if not c:
                            break
                        chunks.append(c)
                finally:
                    os.close(fd)
                got = b''.join(chunks)
                reads += 1
                if got != want:
                    nfail += 1
                    if len(fails) < 20:
                        fails.append('%s: %d bytes, want %d%s' % (show(p), len(got), len(want),
                                                                 '' if len(got) != len(want) else ' (content differs)'))
            except OSError as e:
                nfail += 1
                if len(fails) < 20:
                    fails.append('%s: %s' % (show(p), e))
        passes += 1
        if stop or time.monotonic() - t0 > a.limit:
            break
    with open(a.out, 'w') as fh:
        json.dump({'passes': passes, 'reads': reads, 'failures': nfail, 'examples': fails}, fh)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('build')
    p.add_argument('layout')
    p.add_argument('mnt')
    p.add_argument('copies')
    p.add_argument('spec')
    p.add_argument('--n', type=int, default=1000)
    p.set_defaults(fn=cmd_build)
    p = sub.add_parser('state')
    p.add_argument('mnt')
    p.add_argument('out')
    p.add_argument('--skip', action='append')
    p.set_defaults(fn=cmd_state)
    for name, fn in (('check-run', cmd_check_run), ('check-orig', cmd_check_orig),
                     ('check-revert', cmd_check_revert)):
        p = sub.add_parser(name)
        p.add_argument('--spec', required=True)
        p.add_argument('--mnt', required=True)
        p.add_argument('--copies', required=True)
        p.add_argument('--label', required=True)
        p.set_defaults(fn=fn)
        if name == 'check-run':
            p.add_argument('--scenario', required=True)
            p.add_argument('--before', required=True)
            p.add_argument('--after', required=True)
            p.add_argument('--flags', required=True, choices=sorted(FLAGS_WANT))
            p.add_argument('--aggregate', action='store_true', help='one test point for all groups')
        if name == 'check-orig':
            p.add_argument('--orig', required=True)
            p.add_argument('--after', required=True)
        if name == 'check-revert':
            p.add_argument('--before', required=True)
            p.add_argument('--after', required=True)
            p.add_argument('--reverted', nargs='+', required=True)
            p.add_argument('--store')
            p.add_argument('--no-atime', action='store_true',
                           help='readers ran meanwhile: the atime is theirs, not compared')
        if name in ('check-run', 'check-revert'):
            p.add_argument('--json')
            p.add_argument('--program')
            p.add_argument('--journal')
    p = sub.add_parser('jsonlines')
    p.add_argument('json')
    p.add_argument('--label', required=True)
    p.add_argument('--program', required=True)
    p.add_argument('--dry', action='store_true')
    p.add_argument('--journal')
    p.set_defaults(fn=cmd_jsonlines)
    p = sub.add_parser('compare-dry')
    p.add_argument('--dry', required=True)
    p.add_argument('--real', required=True)
    p.add_argument('--label', required=True)
    p.add_argument('--program', required=True)
    p.set_defaults(fn=cmd_compare_dry)
    p = sub.add_parser('summary')
    p.add_argument('json')
    p.add_argument('key')
    p.set_defaults(fn=cmd_summary)
    p = sub.add_parser('events')
    p.add_argument('json')
    p.add_argument('event')
    p.add_argument('--key', default='path')
    p.set_defaults(fn=cmd_events)
    p = sub.add_parser('mklinks')
    p.add_argument('src')
    p.add_argument('dir')
    p.add_argument('n', type=int)
    p.set_defaults(fn=cmd_mklinks)
    p = sub.add_parser('reader')
    p.add_argument('--mnt', required=True)
    p.add_argument('--n', type=int, required=True)
    p.add_argument('--stop', required=True)
    p.add_argument('--ready', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--reverse', action='store_true')
    p.add_argument('--limit', type=float, default=600)
    p.set_defaults(fn=cmd_reader)
    a = ap.parse_args()
    a.fn(a)
    sys.stdout.flush()


if __name__ == '__main__':
    main()
