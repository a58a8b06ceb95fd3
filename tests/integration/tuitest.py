#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tuitest.py - helpers for the console tests (tui-headless.sh, tui-tmux.sh).

The console's screens are checked against what vaudit's batch writer
reports (vaudit --image IMG --json: a different code path, the JSON Lines
writer) and against rules written here from the console's documented
layout (vaudit-tui(8), tui/README.md), never against the console's own
output.  Inode states come from debugfs through fixtest.py.

Check sub-commands print lines for tests/lib.sh py_checks ("ok<TAB>desc",
"not ok<TAB>desc", "#<TAB>comment") and exit 0 unless the helper broke.

  split OUT PREFIX            the screens of a --script run (each ends with a
                              line "----") into PREFIX-1.txt, PREFIX-2.txt, ...
  inos --audit J SUFFIX...    the inode of the one finding whose path ends
                              with each SUFFIX (fails unless exactly one)
  select --audit J --inos I,J,K --out F
                              the audit lines of those inodes
  screen --audit J --screen S --cols C
                              header count, every list row (selection mark,
                              severity, kind, escaped path) and the guests x
                              kinds summary, for a screen tall enough to show
                              every finding and every guest
  names --audit J --screen S --ino I
                              the detail pane's Names lines are the other
                              names of inode I, escaped
  results --screen S --inos ... --paths ... --mark D
                              the rows of those paths carry [x] and the mark
"""

import argparse
import base64
import json
import os
import re
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vatest import tap, diag  # noqa: E402

REPAIR_KINDS = {'legacy-iunlink', 'legacy-notail', 'legacy-barrier', 'missing-barrier',
                'shared-immutable-no-iunlink', 'shared-unprotected', 'barrier-on-guest',
                'iunlink-not-immutable'}
SEV_LETTER = {'error': 'E', 'warning': 'W', 'info': 'I'}


# ------------------------------------------------------------------ names as the console draws them

def dangerous(cp):
    return (cp < 0x20 or cp == 0x7f or 0x80 <= cp <= 0x9f or cp in (0x061c, 0x200e, 0x200f, 0xfeff)
            or 0x2028 <= cp <= 0x202e or 0x2066 <= cp <= 0x2069)


def esc_byte(b):
    return {0x0a: '\\n', 0x09: '\\t', 0x0d: '\\r', 0x1b: '\\e', 0x5c: '\\\\'}.get(b, '\\x%02x' % b)


def utf8_len(b):
    if b < 0x80:
        return 1
    if b & 0xe0 == 0xc0:
        return 2
    if b & 0xf0 == 0xe0:
        return 3
    if b & 0xf8 == 0xf0:
        return 4
    return 0


def cells(bs):
    """[(text, width)] of a name: the documented rules (vaudit-tui(8), Names)."""
    out = []
    i = 0
    while i < len(bs):
        b = bs[i]
        if b == 0x5c:
            out.extend((c, 1) for c in '\\\\')
            i += 1
            continue
        if 0x20 <= b < 0x7f:
            out.append((chr(b), 1))
            i += 1
            continue
        n = utf8_len(b)
        ch = None
        if n > 1 and i + n <= len(bs):
            try:
                ch = bs[i:i + n].decode('utf-8')
            except UnicodeDecodeError:
                ch = None
        if ch is not None and not dangerous(ord(ch)) and \
                unicodedata.category(ch) not in ('Cc', 'Cf', 'Cn', 'Co', 'Cs', 'Zl', 'Zp'):
            if unicodedata.category(ch) in ('Mn', 'Me'):
                w = 0
            elif unicodedata.east_asian_width(ch) in ('W', 'F'):
                w = 2
            else:
                w = 1
            out.append((ch, w))
            i += n
            continue
        if ch is None:
            n = 1
        for k in range(n):
            out.extend((c, 1) for c in esc_byte(bs[i + k]))
        i += n
    return out


def fit_left(cs, width):
    """A path in WIDTH columns: whole, or "..." and the end that fits."""
    if sum(w for _, w in cs) <= width:
        return ''.join(t for t, _ in cs)
    room = width - 3
    tail = []
    used = 0
    for t, w in reversed(cs):
        if used + w > room:
            break
        tail.append((t, w))
        used += w
    tail.reverse()
    while tail and tail[0][1] == 0:
        tail.pop(0)
    return '...' + ''.join(t for t, _ in tail)


def fit_end(text, width):
    return text if len(text) <= width else text[:width - 1] + '~'


def rec_bytes(r, key):
    if key in r and r[key] is not None:
        return r[key].encode('utf-8', 'surrogateescape')
    if key + '_b64' in r:
        return base64.b64decode(r[key + '_b64'])
    return None


def rec_guests(r):
    """The distinct guests of a record's names (bytes, None: outside any guest), first name first.

    A shared file counts in every guest one of its names is in."""
    out = []
    for n in r.get('names') or [r]:
        g = rec_bytes(n, 'guest')
        if g not in out:
            out.append(g)
    return out


def read_audit(path):
    with open(path, 'rb') as f:
        recs = [json.loads(line) for line in f if line.strip()]
    # the findings only (records.sh checks the other records)
    return [r for r in recs if r.get('record', 'finding') == 'finding']


def selectable(r):
    if r.get('proposed_flags') is None or r.get('flags') is None or r['kind'] not in REPAIR_KINDS:
        return False
    return (int(r['proposed_flags'], 16) != int(r['flags'], 16) or
            int(r.get('proposed_mode') or '0', 8) != int(r.get('mode') or '0', 8))


def abbrev(kind):
    return ''.join(w[0].upper() for w in kind.split('-'))


def read_screen(path):
    with open(path, encoding='utf-8') as f:
        return f.read().split('\n')[:-1]


# ------------------------------------------------------------------ commands

def cmd_split(a):
    with open(a.out, encoding='utf-8') as f:
        text = f.read()
    screens = text.split('----\n')
    if screens and screens[-1] == '':
        screens.pop()
    for i, s in enumerate(screens, 1):
        with open('%s-%d.txt' % (a.prefix, i), 'w', encoding='utf-8') as g:
            g.write(s)
    print(len(screens))


def cmd_inos(a):
    recs = read_audit(a.audit)
    res = []
    for suf in a.suffix:
        s = suf.encode()
        hits = sorted({r['ino'] for r in recs if rec_bytes(r, 'path').endswith(s)})
        if len(hits) != 1:
            sys.exit('tuitest: %d inodes end with %s' % (len(hits), suf))
        res.append(str(hits[0]))
    print(' '.join(res))


def cmd_select(a):
    inos = {int(x) for x in a.inos.split(',')}
    with open(a.audit, 'rb') as f, open(a.out, 'wb') as g:
        for line in f:
            if line.strip() and json.loads(line).get('ino') in inos:
                g.write(line)


def cmd_screen(a):
    recs = read_audit(a.audit)
    rows = read_screen(a.screen)
    cols = a.cols
    n = len(recs)

    m = re.search(r'  (\d[\d,]*) findings  ', rows[0])
    got = int(m.group(1).replace(',', '')) if m else -1
    tap(got == n, 'header: %d findings, as many as vaudit --json wrote (%d)' % (got, n))

    # ---- the list: title row "Findings 1/N", then one row per finding
    try:
        ti = next(i for i, r in enumerate(rows) if r.startswith('Findings '))
        di = next(i for i, r in enumerate(rows) if r.startswith('Detail'))
    except StopIteration:
        tap(False, 'the screen has a list and a detail pane')
        return
    m = re.match(r'Findings 1/(\d+)', rows[ti])
    tap(m is not None and int(m.group(1)) == n, 'list title: row 1 of %d (%s)' % (n, rows[ti][:40]))
    listed = [r for r in rows[ti + 1:di] if r]
    tap(len(listed) == n, 'the list has one row per finding (%d rows, %d findings)' % (len(listed), n))
    kw = max(12, min(29, (cols - 8) // 4))
    bad = []
    for i, (row, r) in enumerate(zip(listed, recs)):
        mark = '[ ]' if selectable(r) else ' - '
        sev = SEV_LETTER.get(r['severity'], '?')
        kind = fit_end(r['kind'], kw)
        path = fit_left(cells(rec_bytes(r, 'path')), cols - (kw + 8))
        want = ('%s  %s %-*s %s' % (mark, sev, kw, kind, path)).rstrip()
        if row != want:
            bad.append('row %d: %r, expected %r' % (i + 1, row, want))
    tap(not bad, 'every list row: selection mark, severity, kind and escaped path as vaudit --json has them, in order')
    for x in bad[:8]:
        diag('  ' + x)

    # ---- the summary: guests in order of first finding, none last
    guests = []
    for r in recs:
        for g in rec_guests(r):
            if g not in guests:
                guests.append(g)
    if None in guests:
        guests.remove(None)
        guests.append(None)
    kinds_present = []
    for r in recs:
        if r['kind'] not in kinds_present:
            kinds_present.append(r['kind'])
    head = rows[1].split()
    if not head or head[0] != 'guests':
        tap(False, 'summary header row (%r)' % rows[1])
        return
    if len(head) > 1 and re.match(r'^\d+-\d+/\d+$', head[1]):
        tap(False, 'summary shows every guest (%s)' % head[1])
        return
    tap(head[1:4] == ['err', 'warn', 'info'], 'summary columns start with err warn info')
    cols_k = head[4:]
    tap(sorted(cols_k) == sorted(abbrev(k) for k in kinds_present),
        'summary: one column per kind found, headed by its initials (%s)' % ' '.join(cols_k))
    by_abbr = {abbrev(k): k for k in kinds_present}
    bad = []
    for gi, g in enumerate(guests + ['all']):
        row = rows[2 + gi].split()
        if g == 'all':
            sel = recs
            name = 'all'
        else:
            sel = [r for r in recs if g in rec_guests(r)]
            name = '(no guest)' if g is None else ''.join(t for t, _ in cells(g))
        want = [name]
        for s in ('error', 'warning', 'info'):
            c = sum(1 for r in sel if r['severity'] == s)
            want.append(str(c) if c else '.')
        want.append('|')
        for ab in cols_k:
            c = sum(1 for r in sel if r['kind'] == by_abbr.get(ab))
            want.append(str(c) if c else '.')
        if g is None:
            row = [' '.join(row[:2])] + row[2:]
        if row != want:
            bad.append('%s: %s, expected %s' % (name, ' '.join(row), ' '.join(want)))
    tap(not bad, 'summary: every guest row and the total row count each severity and kind as vaudit --json (%d guests)'
        % len(guests))
    for x in bad[:8]:
        diag('  ' + x)


def cmd_names(a):
    recs = [r for r in read_audit(a.audit) if r['ino'] == a.ino]
    rows = read_screen(a.screen)
    if not recs:
        tap(False, 'inode %d is in the audit' % a.ino)
        return
    names = [rec_bytes(n, 'path') for n in recs[0].get('names', [])]
    first = rec_bytes(recs[0], 'path')
    others = [x for x in names if x != first]
    try:
        i = next(i for i, r in enumerate(rows) if r.startswith('Names '))
    except StopIteration:
        tap(False, 'the detail pane shows the Names line')
        return
    m = re.match(r'Names +(\d+) other names?:', rows[i])
    tap(m is not None and int(m.group(1)) == len(others),
        'Names: %d other names, as vaudit --json lists (%r)' % (len(others), rows[i]))
    got = [r.strip() for r in rows[i + 1:i + 1 + len(others)]]
    want = [''.join(t for t, _ in cells(x)) for x in others]
    tap(got == want, 'Names: every other name, escaped (%s)' % ', '.join(want))
    if got != want:
        diag('  got %r' % got)


def cmd_results(a):
    rows = read_screen(a.screen)
    bad = []
    for p in a.paths:
        hits = [r for r in rows if r.endswith(' ' + p) and re.match(r'^(\[.\]| - )', r)]
        if len(hits) != 1 or not hits[0].startswith(a.mark):
            bad.append('%s: %r' % (p, hits))
    tap(not bad, 'rows of %s start with %r' % (', '.join(a.paths), a.mark))
    for x in bad:
        diag('  ' + x)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('split')
    p.add_argument('out')
    p.add_argument('prefix')
    p.set_defaults(fn=cmd_split)
    p = sub.add_parser('inos')
    p.add_argument('--audit', required=True)
    p.add_argument('suffix', nargs='+')
    p.set_defaults(fn=cmd_inos)
    p = sub.add_parser('select')
    p.add_argument('--audit', required=True)
    p.add_argument('--inos', required=True)
    p.add_argument('--out', required=True)
    p.set_defaults(fn=cmd_select)
    p = sub.add_parser('screen')
    p.add_argument('--audit', required=True)
    p.add_argument('--screen', required=True)
    p.add_argument('--cols', type=int, required=True)
    p.set_defaults(fn=cmd_screen)
    p = sub.add_parser('names')
    p.add_argument('--audit', required=True)
    p.add_argument('--screen', required=True)
    p.add_argument('--ino', type=int, required=True)
    p.set_defaults(fn=cmd_names)
    p = sub.add_parser('results')
    p.add_argument('--screen', required=True)
    p.add_argument('--mark', required=True)
    p.add_argument('paths', nargs='+')
    p.set_defaults(fn=cmd_results)
    a = ap.parse_args()
    a.fn(a)
    sys.stdout.flush()


if __name__ == '__main__':
    main()
