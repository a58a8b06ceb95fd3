#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fixtest.py - helpers for the repair tests (vaudit --fix, --undo, --resume,
--plan): inode dumps from debugfs, expected repair results computed from the
contract's rules, journal and plan checks, journal/plan mangling, the race
helper.

Check sub-commands print lines for tests/lib.sh py_checks ("ok<TAB>desc",
"not ok<TAB>desc", "#<TAB>comment") and exit 0 unless the helper broke.

Ground truth never comes from vaudit: the state of every inode is read with
debugfs from the (unmounted) image.  Only the list of targets (which inode
has which finding) may come from vaudit's own pre-fix audit (--json); the
values a repair must write are computed here from the rules:

  legacy-iunlink               flags = (old & ~0x8000) | 0x10 | 0x08000000
  legacy-notail                flags = old & ~0x8000
  legacy-barrier on ROOT,
  missing-barrier              flags = (old & ~0x8000) | 0x04000000, mode kept
                               (or --barrier-mode)
  legacy-barrier elsewhere     flags = old & ~0x8000, mode 0700
  shared-immutable-no-iunlink  flags = old | 0x08000000
  --only shared-unprotected    flags = (old & ~0x8000) | 0x10 | 0x08000000
  --only barrier-on-guest      flags = old & ~0x04000000; a 2.4 barrier
                               (mode 0000 + 0x8000): 0x8000 cleared, mode 0755
  --only iunlink-not-immutable flags = old | 0x10
  cow, barrier-unverified      never acted on

Live (no vserver syscall), an action is done only when old and new differ in
nothing but 0x8000, 0x10 and the mode; the others are skipped.
"""

import argparse
import base64
import itertools
import json
import os
import re
import subprocess
import sys
import time

FL_IMMUTABLE = 0x10
FL_NOTAIL = 0x8000
FL_BARRIER26 = 0x04000000
FL_IUNLINK26 = 0x08000000
FL_COW26 = 0x20000000
VS26_BITS = FL_BARRIER26 | FL_IUNLINK26 | FL_COW26

DEFAULT_KINDS = ['legacy-iunlink', 'legacy-notail', 'legacy-barrier', 'missing-barrier',
                 'shared-immutable-no-iunlink']
ONLY_KINDS = ['shared-unprotected', 'barrier-on-guest', 'iunlink-not-immutable']
NEVER_KINDS = ['cow', 'barrier-unverified']

# TAP output helpers shared with the audit tests
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vatest import tap, diag, show  # noqa: E402


# ------------------------------------------------------------------ crc32c

_T = []


def crc32c(data, crc=0):
    """Standard CRC32C (Castagnoli): init ~0, final inversion
    (crc32c(b'123456789') == 0xe3069283)."""
    if not _T:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _T.append(c)
    crc ^= 0xffffffff
    for b in data:
        crc = _T[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc ^ 0xffffffff


def crc32c_raw(data):
    """Raw (ext4-style) CRC32C: init ~0, no final inversion."""
    return crc32c(data) ^ 0xffffffff


# ------------------------------------------------------------------ debugfs

DENV = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
HEAD_RE = re.compile(rb'^Inode: (\d+)\s+Type: (.+?)\s+Mode:\s+([0-7]+)\s+Flags: (0x[0-9a-fA-F]+)', re.M)
# the lines of a journal header's request (migrate/request.h), in order
REQUEST_KEYS = [k.encode() for k in (
    'vaudit-request', 'mode', 'kinds', 'plan', 'plan-sha256', 'prefix', 'force', 'barrier-mode',
    'tag-scheme', 'device-read', 'cross-mounts', 'config', 'config-path')]
FIELD_RES = {
    'generation': re.compile(rb'^Generation: (\d+)', re.M),
    'user': re.compile(rb'^User:\s+(\d+)', re.M),
    'group': re.compile(rb'Group:\s+(\d+)', re.M),
    'size': re.compile(rb'Size: (\d+)\s*$', re.M),
    'links': re.compile(rb'^Links: (\d+)', re.M),
    'blockcount': re.compile(rb'Blockcount: (\d+)', re.M),
    'acl': re.compile(rb'^File ACL: (\d+)', re.M),
    'mtime': re.compile(rb'^ *mtime: (0x[0-9a-f:]+)', re.M),
    'crtime': re.compile(rb'^ *crtime: (0x[0-9a-f:]+)', re.M),
}
MAP_RE = re.compile(rb'^(?:EXTENTS|BLOCKS|Fast link dest|Size of inline data).*?(?=\Z)', re.M | re.S)


def sb_info(image):
    p = subprocess.run(['dumpe2fs', '-h', image], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       env=DENV)
    info = {}
    for line in p.stdout.decode('utf-8', 'replace').splitlines():
        if ':' in line:
            k, v = line.split(':', 1)
            info[k.strip()] = v.strip()
    return info


def dump_image(image):
    """{ino: {...}} for every inode of the image (one debugfs batch)."""
    sb = sb_info(image)
    n = int(sb['Inode count'])
    cmds = ''.join('stat <%d>\n' % i for i in range(1, n + 1))
    p = subprocess.run(['debugfs', '-f', '-', image], input=cmds.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=DENV, check=True)
    res = {}
    for block in re.split(rb'^debugfs: ', p.stdout, flags=re.M):
        m = HEAD_RE.search(block)
        if not m:
            continue
        d = {'type': m.group(2).decode().strip(), 'mode': int(m.group(3), 8),
             'flags': int(m.group(4), 16)}
        for k, r in FIELD_RES.items():
            mm = r.search(block)
            d[k] = mm.group(1).decode() if mm else None
        mm = MAP_RE.search(block)
        d['map'] = mm.group(0).decode('utf-8', 'replace').strip() if mm else ''
        res[int(m.group(1))] = d
    if len(res) != n:
        raise RuntimeError('debugfs: %d of %d inodes stat-ed; stderr %s'
                           % (len(res), n, p.stderr[:300]))
    return {'uuid': sb.get('Filesystem UUID'), 'inodes': res}


def load_dump(path):
    with open(path) as f:
        d = json.load(f)
    d['inodes'] = {int(k): v for k, v in d['inodes'].items()}
    return d


def save_json(obj, path):
    with open(path, 'w') as f:
        json.dump(obj, f, sort_keys=True)


def cmd_gencmds(a):
    """debugfs commands giving every regular file (inode >= 11) a distinct
    nonzero generation."""
    d = dump_image(a.image)['inodes']
    for ino, st in sorted(d.items()):
        # regular files only: on metadata_csum filesystems the generation
        # seeds the checksums of a directory's blocks
        if ino >= 11 and int(st.get('links') or 0) > 0 and st['type'] == 'regular':
            print('set_inode_field <%d> generation %d' % (ino, (ino * 2654435761) % 4294967291 or 1))


def cmd_dump(a):
    save_json(dump_image(a.image), a.out)


# ------------------------------------------------------------------ rules

def is_24_barrier(st):
    return st['type'] == 'directory' and st['mode'] & 0o777 == 0 and bool(st['flags'] & FL_NOTAIL)


def transform(kind, old, cur, is_root, barrier_mode):
    """New (flags, mode) after KIND's action; old is the pre-fix state (for
    predicates), cur the state so far."""
    f, m = cur
    if kind == 'legacy-iunlink' or kind == 'shared-unprotected':
        return (f & ~FL_NOTAIL) | FL_IMMUTABLE | FL_IUNLINK26, m
    if kind == 'legacy-notail':
        return f & ~FL_NOTAIL, m
    if kind == 'missing-barrier' or (kind == 'legacy-barrier' and is_root):
        return (f & ~FL_NOTAIL) | FL_BARRIER26, (barrier_mode if barrier_mode is not None else m)
    if kind == 'legacy-barrier':
        return f & ~FL_NOTAIL, 0o700
    if kind == 'shared-immutable-no-iunlink':
        return f | FL_IUNLINK26, m
    if kind == 'barrier-on-guest':
        f &= ~FL_BARRIER26
        if is_24_barrier(old):
            return f & ~FL_NOTAIL, 0o755
        return f, m
    if kind == 'iunlink-not-immutable':
        return f | FL_IMMUTABLE, m
    return f, m


def live_doable(old, new):
    return not ((old[0] ^ new[0]) & ~(FL_NOTAIL | FL_IMMUTABLE))


def read_audit(path):
    recs = []
    with open(path, 'rb') as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                # the findings only (records.sh checks the other records)
                if o.get('record', 'finding') == 'finding':
                    recs.append(o)
    return recs


def rec_path(r):
    if 'path' in r:
        return r['path'].encode('utf-8', 'surrogateescape')
    if 'path_b64' in r:
        return base64.b64decode(r['path_b64'])
    return b''


def cmd_expect(a):
    """Expected per-inode outcome: {ino: {'old': [f, m], 'alts': [[f, m]...],
    'kinds': [...], 'path': ..., 'skip': bool, 'either': bool}}"""
    dump = load_dump(a.before)
    inodes = dump['inodes']
    selected = set(a.only.split(',')) if a.only else set(DEFAULT_KINDS)
    selected -= set(NEVER_KINDS)
    bmode = int(a.barrier_mode, 8) if a.barrier_mode else None
    kinds = {}
    paths = {}
    for r in read_audit(a.audit):
        k = r.get('kind')
        if k not in selected:
            continue
        ino = int(r['ino'])
        kinds.setdefault(ino, [])
        if k not in kinds[ino]:
            kinds[ino].append(k)
        paths.setdefault(ino, base64.b64encode(rec_path(r)).decode())
    exp = {}
    for ino, ks in kinds.items():
        st = inodes[ino]
        old = (st['flags'], st['mode'])
        alts = set()
        for perm in itertools.permutations(ks):
            cur = old
            for k in perm:
                cur = transform(k, st, cur, ino == a.root_ino, bmode)
            alts.add(cur)
        alts = sorted(alts)
        e = {'old': list(old), 'alts': [list(x) for x in alts], 'rule_alts': [list(x) for x in alts],
             'kinds': ks, 'path_b64': paths[ino],
             'skip': False, 'either': False}
        if a.live:
            doable = [x for x in alts if live_doable(old, x)]
            if not doable:
                e['skip'] = True
                e['alts'] = [list(old)]
            elif len(doable) != len(alts) or ino == a.root_ino:
                # ROOT's barrier action clearing only 0x8000 (0x04000000
                # already there): the contract names legacy-barrier *below*
                # ROOT as the live action, so done or skipped are accepted
                e['either'] = True
            elif ks and not set(ks) <= {'legacy-notail', 'legacy-barrier', 'iunlink-not-immutable',
                                          'barrier-on-guest'}:
                # e.g. legacy-iunlink on a file that already has 0x08000000:
                # only 0x8000 changes; the contract's list of live actions
                # does not name it, so old or new are both accepted
                e['either'] = True
        exp[ino] = e
    save_json({'root_ino': a.root_ino, 'live': a.live, 'inodes': exp}, a.out)
    n_change = sum(1 for e in exp.values() if not e['skip'] and e['alts'] != [e['old']])
    print('%d targets, %d to change, %d skipped, %d either' % (
        len(exp), n_change, sum(e['skip'] for e in exp.values()), sum(e['either'] for e in exp.values())))


def load_expect(path):
    with open(path) as f:
        e = json.load(f)
    e['inodes'] = {int(k): v for k, v in e['inodes'].items()}
    return e


# ------------------------------------------------------------------ compare

IGNORED = ('atime', 'ctime', 'version', 'checksum')


def others(st):
    return {k: v for k, v in st.items() if k not in ('flags', 'mode')}


def fm(x):
    return '0x%08x/%04o' % (x[0], x[1])


def cmd_compare(a):
    """--want new: targets as expected, everything else unchanged;
    --want old: every inode as before; --want crash: each target old or new."""
    b = load_dump(a.before)['inodes']
    if a.after_image:
        c = dump_image(a.after_image)['inodes']
        c = json.loads(json.dumps(c))        # the same types as a saved dump
        c = {int(k): v for k, v in c.items()}
    else:
        c = load_dump(a.after)['inodes']
    exp = load_expect(a.expect)['inodes'] if a.expect else {}
    lab = a.label
    intents, dones = set(), set()
    if a.journal:
        try:
            _, recs, _ = parse_journal(open(a.journal, 'rb').read())
        except OSError:
            recs = []
        seq2ino = {r['seq']: int(r['ino']) for r in recs if r['t'] == 'I'}
        intents = set(seq2ino.values())
        dones = {seq2ino[r['seq']] for r in recs if r['t'] == 'D' and r['seq'] in seq2ino}
    jbad = []
    bad_other = []
    bad_target = []
    counts = {'old': 0, 'new': 0, 'other': 0}
    for ino in sorted(set(b) | set(c)):
        sb, sc = b.get(ino), c.get(ino)
        if sb is None or sc is None:
            bad_other.append('inode %d: missing in one dump' % ino)
            continue
        if others(sb) != others(sc):
            diffs = ['%s %s->%s' % (k, sb.get(k), sc.get(k)) for k in sorted(set(sb) | set(sc))
                     if k not in ('flags', 'mode') and sb.get(k) != sc.get(k)]
            bad_other.append('inode %d: %s' % (ino, '; '.join(diffs)[:300]))
        now = (sc['flags'], sc['mode'])
        old = (sb['flags'], sb['mode'])
        e = exp.get(ino)
        if a.want == 'old' or e is None:
            if now != old:
                where = ' (a target: %s %s)' % (','.join(e['kinds']), show(base64.b64decode(e['path_b64']))) if e else ''
                bad_target.append('inode %d: %s, was %s%s' % (ino, fm(now), fm(old), where))
            continue
        alts = [tuple(x) for x in e['alts']]
        path = show(base64.b64decode(e['path_b64']))
        if a.want == 'new':
            okset = set(alts) | ({old} if e.get('either') else set())
            if now not in okset:
                bad_target.append('inode %d %s [%s]: %s, expected %s (was %s)%s' % (
                    ino, path, ','.join(e['kinds']), fm(now), ' or '.join(fm(x) for x in sorted(okset)),
                    fm(old), ' (live: skipped)' if e.get('skip') else ''))
            elif e.get('either'):
                diag('%s: inode %d %s [%s] (old or new accepted): %s' % (
                    lab, ino, path, ','.join(e['kinds']), 'changed' if now != old else 'unchanged'))
        else:  # crash, resumed
            if now == old:
                counts['old'] += 1
                if a.journal and ino in dones:
                    jbad.append('inode %d %s: old state, but the journal has its D record' % (ino, path))
                if a.want == 'resumed' and ino in intents:
                    jbad.append('inode %d %s: journaled, still old after --resume' % (ino, path))
            elif now in alts:
                counts['new'] += 1
                if a.journal and ino not in intents:
                    if a.want == 'crash':
                        jbad.append('inode %d %s: changed without a journal record' % (ino, path))
                    else:
                        counts['unjournaled_new'] = counts.get('unjournaled_new', 0) + 1
            else:
                counts['other'] += 1
                bad_target.append('inode %d %s: %s, neither old %s nor new %s' % (
                    ino, path, fm(now), fm(old), ' or '.join(fm(x) for x in alts)))
    if a.want == 'new':
        tap(not bad_target, '%s: every target inode has exactly the expected flags and mode (%d targets)'
            % (lab, len(exp)))
    elif a.want == 'old':
        tap(not bad_target, '%s: every inode has its original flags and mode' % lab)
    else:
        tap(not bad_target, '%s: every target inode is either old or new (old %d, new %d, other %d)'
            % (lab, counts['old'], counts['new'], counts['other']))
        if a.journal:
            tap(not jbad, '%s: %s' % (lab, 'no change without its journal intent, every D record\'s inode is new'
                                      if a.want == 'crash' else 'every journaled inode is new'))
            for x in jbad[:10]:
                diag('  ' + x)
        if a.counts:
            with open(a.counts, 'w') as f:
                f.write('%d %d %d %d %d %d\n' % (counts['old'], counts['new'], counts['other'], len(intents),
                                                len(dones), counts.get('unjournaled_new', 0)))
    for x in bad_target[:15]:
        diag('  ' + x)
    if len(bad_target) > 15:
        diag('  ... %d more' % (len(bad_target) - 15))
    if a.want != 'old':
        tap(not bad_other, '%s: no other inode and no other inode field changed' % lab)
    else:
        tap(not bad_other, '%s: every other inode field as before' % lab)
    for x in bad_other[:10]:
        diag('  ' + x)


# ------------------------------------------------------------------ journal

HEX8 = re.compile(r'^0x[0-9a-f]{8}$')
OCT = re.compile(r'^[0-7]{1,6}$')
DEV = re.compile(r'^\d+:\d+$')


def parse_journal(data):
    """(header fields, records, problems); records: list of dicts."""
    probs = []
    recs = []
    header = None
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    elif lines:
        probs.append('the last line has no newline')
    for n, line in enumerate(lines, 1):
        body, sep, tail = line.rpartition(b'\tcrc=')
        if not sep or not re.fullmatch(rb'[0-9a-fA-F]{8}', tail):
            probs.append('line %d: no \\tcrc=XXXXXXXX at the end: %s' % (n, show(line[:80])))
            continue
        want = int(tail, 16)
        if crc32c(body) != want:
            if crc32c_raw(body) == want:
                probs.append('line %d: crc is the raw CRC32C (no final inversion), not standard CRC32C' % n)
            else:
                probs.append('line %d: crc mismatch (got %s, CRC32C %08x)' % (n, tail.decode(), crc32c(body)))
        f = body.decode('utf-8', 'surrogateescape').split('\t')
        if n == 1:
            # version 1: backend, uuid, source; version 2 adds the run's request
            if f[0] != 'vaudit-journal' or (f[1], len(f)) not in (('1', 5), ('2', 6)):
                probs.append('header: %s' % show(body))
                continue
            header = {}
            for kv in f[2:]:
                k, _, v = kv.partition('=')
                header[k] = v
            for k in ('backend', 'uuid', 'source') + (('request',) if f[1] == '2' else ()):
                if k not in header:
                    probs.append('header: no %s=' % k)
            if 'request' in header:
                try:
                    req = base64.b64decode(header['request'], validate=True)
                except Exception:
                    req = b''
                keys = [l.split(b' ', 1)[0] for l in req.split(b'\n')[:-1]]
                if not req.endswith(b'\n') or keys != REQUEST_KEYS:
                    probs.append('header: the request is not vaudit-request 1 text: %s' % show(req[:120]))
            if header.get('backend') not in ('image', 'live'):
                probs.append('header: backend=%s' % header.get('backend'))
            continue
        if f[0] == 'I':
            if len(f) != 11:
                probs.append('line %d: intent with %d fields' % (n, len(f)))
                continue
            r = {'t': 'I', 'seq': f[1], 'dev': f[2], 'ino': f[3], 'gen': f[4], 'oldflags': f[5],
                 'oldmode': f[6], 'newflags': f[7], 'newmode': f[8], 'kind': f[9], 'path_b64': f[10],
                 'line': n}
            for k in ('seq', 'ino', 'gen'):
                if not r[k].isdigit():
                    probs.append('line %d: %s %r not a number' % (n, k, r[k]))
            if not DEV.match(r['dev']):
                probs.append('line %d: dev %r' % (n, r['dev']))
            for k in ('oldflags', 'newflags'):
                if not HEX8.match(r[k]):
                    probs.append('line %d: %s %r is not 0x%%08x' % (n, k, r[k]))
            for k in ('oldmode', 'newmode'):
                if not OCT.match(r[k]):
                    probs.append('line %d: %s %r is not octal' % (n, k, r[k]))
            try:
                base64.b64decode(r['path_b64'], validate=True)
            except Exception:
                probs.append('line %d: path %r is not base64' % (n, r['path_b64'][:40]))
            recs.append(r)
        elif f[0] in ('D', 'U'):
            if len(f) != 2 or not f[1].isdigit():
                probs.append('line %d: %s record %s' % (n, f[0], show(body)))
                continue
            recs.append({'t': f[0], 'seq': f[1], 'line': n})
        else:
            probs.append('line %d: unknown record %s' % (n, show(body[:60])))
    if header is None and not any(p.startswith('header') for p in probs):
        probs.append('no header line')
    return header, recs, probs


def cmd_journal(a):
    """Check a journal against the pre-fix dump and the expectation."""
    lab = a.label
    try:
        data = open(a.journal, 'rb').read()
    except OSError as e:
        tap(False, '%s: journal %s readable (%s)' % (lab, a.journal, e))
        return
    if a.allow_torn_last and data:
        body = data[:-1] if data.endswith(b'\n') else data
        last = body.rpartition(b'\n')[2]
        lb, sep, tail = last.rpartition(b'\tcrc=')
        torn = not data.endswith(b'\n') or not sep or not re.fullmatch(rb'[0-9a-fA-F]{8}', tail) \
            or crc32c(lb) != int(tail, 16)
        if torn and b'\n' in body:
            diag('%s: torn last line ignored: %s' % (a.label, show(last[:80])))
            data = body.rpartition(b'\n')[0] + b'\n'
    header, recs, probs = parse_journal(data)
    tap(not probs, '%s: journal well formed (header, 11-field intents, D/U records, CRC32C per line)' % lab)
    for p in probs[:10]:
        diag('  ' + p)
    if header is None:
        return
    hp = []
    if a.backend and header.get('backend') != a.backend:
        hp.append('backend=%s, expected %s' % (header.get('backend'), a.backend))
    if a.uuid and header.get('uuid', '').lower() != a.uuid.lower():
        hp.append('uuid=%s, expected %s' % (header.get('uuid'), a.uuid))
    if a.source:
        try:
            src = base64.b64decode(header.get('source', ''))
        except Exception:
            src = None
        if src != os.fsencode(a.source):
            hp.append('source=%s (%s), expected %s' % (header.get('source'), show(src or b'?'), a.source))
    tap(not hp, '%s: journal header (backend, uuid, source)' % lab)
    for p in hp:
        diag('  ' + p)
    intents = [r for r in recs if r['t'] == 'I']
    done = {r['seq'] for r in recs if r['t'] == 'D'}
    seqs = [r['seq'] for r in intents]
    sp = []
    if len(set(seqs)) != len(seqs):
        sp.append('duplicate sequence numbers')
    if [int(s) for s in seqs] != sorted(int(s) for s in seqs):
        sp.append('sequence numbers not increasing')
    for r in recs:
        if r['t'] in ('D', 'U') and r['seq'] not in set(seqs):
            sp.append('line %d: %s for unknown seq %s' % (r['line'], r['t'], r['seq']))
    if a.all_done:
        nd = [s for s in seqs if s not in done]
        if nd:
            sp.append('%d intents without D (seq %s)' % (len(nd), ', '.join(nd[:5])))
    tap(not sp, '%s: journal sequence numbers and done records consistent%s' % (
        lab, ' (every intent done)' if a.all_done else ''))
    for p in sp[:10]:
        diag('  ' + p)
    if not a.before or not a.expect:
        return
    b = load_dump(a.before)['inodes']
    exp = load_expect(a.expect)['inodes']
    rp = []
    seen = {}
    for r in intents:
        ino = int(r['ino'])
        seen.setdefault(ino, []).append(r)
        st = b.get(ino)
        if st is None:
            rp.append('seq %s: inode %d does not exist' % (r['seq'], ino))
            continue
        e = exp.get(ino)
        if e is None:
            rp.append('seq %s: inode %d (%s) is not a target' % (r['seq'], ino,
                      show(base64.b64decode(r['path_b64'] + '==='))))
            continue
        of, om, nf, nm = int(r['oldflags'], 16), int(r['oldmode'], 8), int(r['newflags'], 16), int(r['newmode'], 8)
        if len(seen[ino]) == 1 and (of, om) != (st['flags'], st['mode']):
            rp.append('seq %s inode %d: old %s, debugfs said %s' % (r['seq'], ino, fm((of, om)),
                                                                   fm((st['flags'], st['mode']))))
        if (nf, nm) not in {tuple(x) for x in e['alts']} and len(seen[ino]) == 1 and len(e['kinds']) == 1:
            rp.append('seq %s inode %d: new %s, expected %s' % (r['seq'], ino, fm((nf, nm)),
                                                               ' or '.join(fm(x) for x in e['alts'])))
        if str(st.get('generation')) != r['gen']:
            rp.append('seq %s inode %d: generation %s, debugfs said %s' % (r['seq'], ino, r['gen'],
                                                                          st.get('generation')))
        if a.backend == 'image' and r['dev'] != '0:0':
            rp.append('seq %s: dev %s for an image (expected 0:0)' % (r['seq'], r['dev']))
        if r['kind'] not in e['kinds']:
            rp.append('seq %s inode %d: kind %s, the audit said %s' % (r['seq'], ino, r['kind'], e['kinds']))
    tap(not rp, '%s: every journal intent names a target inode with its true old state and the expected new one'
        % lab)
    for p in rp[:10]:
        diag('  ' + p)
    if a.complete:
        want = {ino for ino, e in exp.items() if not e['skip'] and not e.get('either')
                and e['alts'] != [e['old']]}
        missing = sorted(want - set(seen))
        tap(not missing, '%s: every changed inode is in the journal (%d of %d)' % (
            lab, len(want) - len(missing), len(want)))
        for ino in missing[:10]:
            diag('  inode %d %s not journaled' % (ino, show(base64.b64decode(exp[ino]['path_b64']))))
        dup = sorted(ino for ino, rs in seen.items() if len(rs) > 1)
        tap(not dup, '%s: every inode is journaled once (a hard-linked inode is one change)' % lab)
        for ino in dup[:10]:
            diag('  inode %d: %d intents (%s)' % (ino, len(seen[ino]), ', '.join(r['kind'] for r in seen[ino])))


def cmd_jinfo(a):
    """Print 'intents done undone' and the seqs without D."""
    header, recs, probs = parse_journal(open(a.journal, 'rb').read())
    i = [r for r in recs if r['t'] == 'I']
    d = {r['seq'] for r in recs if r['t'] == 'D'}
    u = {r['seq'] for r in recs if r['t'] == 'U'}
    print('%d %d %d %d' % (len(i), len(d), len(u), len(probs)))


def rewrite_line(body):
    return body + b'\tcrc=%08x' % crc32c(body)


def cmd_mangle(a):
    """Write a damaged copy of a journal or plan."""
    data = open(a.src, 'rb').read()
    lines = data.split(b'\n')
    if lines[-1] == b'':
        lines.pop()
    how = a.how
    if how == 'truncate-last':      # cut the last line in the middle
        last = lines[-1]
        out = b'\n'.join(lines[:-1]) + b'\n' + last[:max(1, len(last) // 2)]
    elif how == 'badcrc-last':      # a complete last line with a wrong crc
        body = lines[-1].rpartition(b'\tcrc=')[0]
        lines[-1] = body + b'\tcrc=%08x' % (crc32c(body) ^ 1)
        out = b'\n'.join(lines) + b'\n'
    elif how == 'badcrc-middle':    # flip a digit of an intent's new flags, crc kept
        k = a.line if a.line else len(lines) // 2
        f = lines[k - 1].split(b'\t')
        if f[0] == b'I':
            f[7] = b'0x%08x' % (int(f[7], 16) ^ 0x1)
        else:
            f[1] = f[1] + b'0'
        lines[k - 1] = b'\t'.join(f)
        out = b'\n'.join(lines) + b'\n'
    elif how == 'empty':
        out = b''
    elif how == 'header':           # a wrong header with a valid crc
        lines[0] = rewrite_line(b'not-a-journal\t1\tbackend=image')
        out = b'\n'.join(lines) + b'\n'
    elif how == 'version':
        body = lines[0].rpartition(b'\tcrc=')[0].split(b'\t')
        body[1] = b'99'
        lines[0] = rewrite_line(b'\t'.join(body))
        out = b'\n'.join(lines) + b'\n'
    elif how == 'uuid':             # another filesystem's UUID, crc valid
        body = lines[0].rpartition(b'\tcrc=')[0]
        body = re.sub(rb'uuid=[^\t]*', b'uuid=01234567-89ab-cdef-0123-456789abcdef', body)
        lines[0] = rewrite_line(body)
        out = b'\n'.join(lines) + b'\n'
    elif how == 'garbage-middle':   # a line of junk with a valid-looking crc field
        k = a.line if a.line else len(lines) // 2
        lines.insert(k, rewrite_line(b'X\tjunk\there'))
        out = b'\n'.join(lines) + b'\n'
    elif how == 'fields-middle':    # an intent with a field missing, crc valid
        k = a.line if a.line else len(lines) // 2
        f = lines[k - 1].rpartition(b'\tcrc=')[0].split(b'\t')
        lines[k - 1] = rewrite_line(b'\t'.join(f[:-2]))
        out = b'\n'.join(lines) + b'\n'
    elif how == 'binary':
        out = bytes(range(256)) * 4
    # plans
    elif how == 'plan-header-uuid':
        o = json.loads(lines[0])
        o['uuid'] = '01234567-89ab-cdef-0123-456789abcdef'
        lines[0] = json.dumps(o).encode()
        out = b'\n'.join(lines) + b'\n'
    elif how == 'plan-header-backend':
        o = json.loads(lines[0])
        o['backend'] = 'live' if o.get('backend') == 'image' else 'image'
        lines[0] = json.dumps(o).encode()
        out = b'\n'.join(lines) + b'\n'
    elif how == 'plan-no-header':
        out = b'\n'.join(lines[1:]) + b'\n'
    elif how == 'plan-garbage':
        lines.insert(len(lines) // 2, b'this is { not json')
        out = b'\n'.join(lines) + b'\n'
    elif how.startswith('plan-'):
        k = len(lines) // 2
        o = json.loads(lines[k])
        if how == 'plan-missing':
            for key in ('new_flags', 'ino'):
                o.pop(key, None)
        elif how == 'plan-type-ino':
            o['ino'] = 'twelve'
        elif how == 'plan-type-flags':
            o['new_flags'] = [1, 2]
        elif how == 'plan-bad-flags':
            o['new_flags'] = '0xzz'
        elif how == 'plan-type-kinds':
            o['kinds'] = 'legacy-iunlink'
        elif how == 'plan-neg-ino':
            o['ino'] = -5
        elif how == 'plan-array':
            o = [o]
        elif how == 'plan-kind':
            o['kinds'] = ['no-such-kind']
        else:
            raise SystemExit('unknown mangle %s' % how)
        lines[k] = json.dumps(o).encode()
        out = b'\n'.join(lines) + b'\n'
    else:
        raise SystemExit('unknown mangle %s' % how)
    with open(a.dst, 'wb') as f:
        f.write(out)


# ------------------------------------------------------------------ plan

def num(v, base):
    if isinstance(v, bool):
        raise ValueError('bool')
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return int(v, base)
    raise ValueError(repr(v))


def cmd_plan(a):
    """Check a plan file against the expectation."""
    lab = a.label
    exp = load_expect(a.expect)['inodes']
    b = load_dump(a.before)['inodes']
    hdr = None
    nullgen = []
    probs = []
    items = []
    try:
        data = open(a.plan, 'rb').read()
    except OSError as e:
        tap(False, '%s: plan %s written (%s)' % (lab, a.plan, e))
        return
    for n, line in enumerate(data.split(b'\n'), 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError as e:
            probs.append('line %d: not JSON (%s)' % (n, e))
            continue
        if not isinstance(o, dict):
            probs.append('line %d: not an object' % n)
            continue
        if 'vaudit_plan' in o:
            if n != 1:
                probs.append('line %d: a plan header not on the first line' % n)
            hdr = o
            continue
        if 'kinds' in o and 'kind' not in o and isinstance(o['kinds'], list) and o['kinds']:
            o['kind'] = o['kinds'][0]
        miss = [k for k in ('kind', 'ino', 'generation', 'flags', 'mode', 'new_flags', 'new_mode')
                if k not in o]
        if 'path' not in o and 'path_b64' not in o:
            miss.append('path|path_b64')
        if 'dev' not in o:
            miss.append('dev')
        if 'action' not in o:
            miss.append('action')
        if miss:
            probs.append('line %d: missing %s' % (n, ', '.join(miss)))
            continue
        if o['generation'] is None:
            nullgen.append(n)
        try:
            it = {'kind': o['kind'], 'kinds': o.get('kinds', [o['kind']]), 'ino': num(o['ino'], 10),
                  'gen': None if o['generation'] is None else num(o['generation'], 10),
                  'flags': num(o['flags'], 16), 'mode': num(o['mode'], 8),
                  'new_flags': num(o['new_flags'], 16), 'new_mode': num(o['new_mode'], 8)}
        except (ValueError, TypeError) as e:
            probs.append('line %d: bad value (%s)' % (n, e))
            continue
        items.append(it)
    if a.header:
        h = hdr
        if h is None:
            probs.append('no header line {"vaudit_plan":1,...}')
        else:
            for k, v in (('backend', 'image' if a.header == 'image' else 'live'), ('uuid', a.uuid),
                         ('source', a.source)):
                if v and str(h.get(k, '')).lower() != v.lower():
                    probs.append('header: %s=%r, expected %r' % (k, h.get(k), v))
    tap(not nullgen, '%s: every plan item carries the inode generation (null on %d items)' % (lab, len(nullgen)))
    tap(not probs and items, '%s: plan is JSON Lines with kind, action, path, dev, ino, generation, '
        'flags, mode, new_flags, new_mode (%d items)' % (lab, len(items)))
    for p in probs[:10]:
        diag('  ' + p)
    ip = []
    got = {}
    for it in items:
        got.setdefault(it['ino'], []).append(it)
        st = b.get(it['ino'])
        e = exp.get(it['ino'])
        if e is None:
            ip.append('inode %d (%s): not a target' % (it['ino'], it['kind']))
            continue
        if not set(it['kinds']) <= set(e['kinds']):
            ip.append('inode %d: kinds %s, expected %s' % (it['ino'], it['kinds'], e['kinds']))
        if st and (it['flags'], it['mode']) != (st['flags'], st['mode']) and len(got[it['ino']]) == 1:
            ip.append('inode %d: expected state %s, debugfs %s' % (it['ino'], fm((it['flags'], it['mode'])),
                                                                  fm((st['flags'], st['mode']))))
        if st and it['gen'] is not None and str(it['gen']) != str(st.get('generation')):
            ip.append('inode %d: generation %s, debugfs %s' % (it['ino'], it['gen'], st.get('generation')))
        # the plan names the rules' target even for what live must skip
        alts = {tuple(x) for x in e.get('rule_alts', e['alts'])}
        if (len(e['kinds']) == 1 or set(it['kinds']) == set(e['kinds'])) and (it['new_flags'], it['new_mode']) not in alts:
            ip.append('inode %d: target %s, expected %s' % (it['ino'], fm((it['new_flags'], it['new_mode'])),
                                                           ' or '.join(fm(x) for x in alts)))
    want = {ino for ino, e in exp.items() if e.get('rule_alts', e['alts']) != [e['old']]}
    miss = sorted(want - set(got))
    for ino in miss[:10]:
        ip.append('inode %d %s [%s] missing from the plan' % (ino, show(base64.b64decode(exp[ino]['path_b64'])),
                                                             ','.join(exp[ino]['kinds'])))
    tap(not ip, '%s: plan items = the expected targets, with debugfs state and the rules\' target state' % lab)
    for p in ip[:15]:
        diag('  ' + p)


def cmd_plan_subset(a):
    """Keep every second plan item (a reviewed plan) and the matching
    expectation."""
    lines = [l for l in open(a.plan, 'rb') if l.strip()]
    head = [l for l in lines if 'vaudit_plan' in json.loads(l)]
    items = [l for l in lines if 'vaudit_plan' not in json.loads(l)]
    keep = items[::2]
    with open(a.out_plan, 'wb') as f:
        f.writelines(head + keep)
    inos = {int(json.loads(l)['ino']) for l in keep}
    e = load_expect(a.expect)
    e['inodes'] = {k: v for k, v in e['inodes'].items() if k in inos}
    save_json(e, a.out_expect)
    print(len(keep))


def cmd_plan_edit(a):
    """Print the inode of the plan item number N (0-based) whose kind is K."""
    items = [json.loads(l) for l in open(a.plan, 'rb') if l.strip()]
    items = [o for o in items if 'vaudit_plan' not in o]
    items = [o for o in items if not a.kind or a.kind in o.get('kinds', [o.get('kind')])]
    print(items[a.n]['ino'])


# ------------------------------------------------------------------ race

def cmd_race(a):
    """Swap DIR between a real directory and a symlink to TARGET until
    STOPFILE exists (or --seconds passed); print the number of swaps."""
    d = os.fsencode(a.dir)
    real = d + b'.real'
    link = d + b'.link'
    os.rename(d, real)
    os.symlink(os.fsencode(a.target), link)
    n = 0
    t_end = time.monotonic() + a.seconds
    try:
        while not os.path.exists(a.stopfile) and time.monotonic() < t_end:
            os.rename(real, d)      # d is the real directory
            os.rename(d, real)
            os.rename(link, d)      # d is the symlink
            os.rename(d, link)
            n += 1
            if n == 1 and a.ready:
                open(a.ready, 'w').close()
    finally:
        if os.path.lexists(d):
            if os.path.islink(d):
                os.rename(d, link)
            else:
                os.rename(d, real)
        os.unlink(link)
        os.rename(real, d)
    print(n)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('dump')
    p.add_argument('image')
    p.add_argument('out')
    p.set_defaults(fn=cmd_dump)
    p = sub.add_parser('gencmds')
    p.add_argument('image')
    p.set_defaults(fn=cmd_gencmds)
    p = sub.add_parser('expect')
    p.add_argument('--before', required=True)
    p.add_argument('--audit', required=True)
    p.add_argument('--root-ino', type=int, required=True)
    p.add_argument('--only', default='')
    p.add_argument('--barrier-mode', default='')
    p.add_argument('--live', action='store_true')
    p.add_argument('--out', required=True)
    p.set_defaults(fn=cmd_expect)
    p = sub.add_parser('compare')
    p.add_argument('--before', required=True)
    p.add_argument('--after')
    p.add_argument('--after-image', help='dump this image now instead of --after')
    p.add_argument('--expect')
    p.add_argument('--want', choices=('new', 'old', 'crash', 'resumed'), required=True)
    p.add_argument('--journal')
    p.add_argument('--counts')
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_compare)
    p = sub.add_parser('journal')
    p.add_argument('--journal', required=True)
    p.add_argument('--before')
    p.add_argument('--expect')
    p.add_argument('--backend')
    p.add_argument('--uuid')
    p.add_argument('--source')
    p.add_argument('--all-done', action='store_true')
    p.add_argument('--allow-torn-last', action='store_true')
    p.add_argument('--complete', action='store_true')
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_journal)
    p = sub.add_parser('jinfo')
    p.add_argument('journal')
    p.set_defaults(fn=cmd_jinfo)
    p = sub.add_parser('mangle')
    p.add_argument('how')
    p.add_argument('src')
    p.add_argument('dst')
    p.add_argument('--line', type=int, default=0)
    p.set_defaults(fn=cmd_mangle)
    p = sub.add_parser('plan')
    p.add_argument('--plan', required=True)
    p.add_argument('--before', required=True)
    p.add_argument('--expect', required=True)
    p.add_argument('--header', default='', help='image|live: check the header line')
    p.add_argument('--uuid', default='')
    p.add_argument('--source', default='')
    p.add_argument('--label', default='')
    p.set_defaults(fn=cmd_plan)
    p = sub.add_parser('plan-subset')
    p.add_argument('--plan', required=True)
    p.add_argument('--expect', required=True)
    p.add_argument('--out-plan', required=True)
    p.add_argument('--out-expect', required=True)
    p.set_defaults(fn=cmd_plan_subset)
    p = sub.add_parser('plan-ino')
    p.add_argument('plan')
    p.add_argument('n', type=int)
    p.add_argument('--kind', default='')
    p.set_defaults(fn=cmd_plan_edit)
    p = sub.add_parser('race')
    p.add_argument('--dir', required=True)
    p.add_argument('--target', required=True)
    p.add_argument('--stopfile', required=True)
    p.add_argument('--seconds', type=float, default=60)
    p.add_argument('--ready', help='created once the racer runs')
    p.set_defaults(fn=cmd_race)
    a = ap.parse_args()
    a.fn(a)
    sys.stdout.flush()


if __name__ == '__main__':
    main()
