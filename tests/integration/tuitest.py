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
  usage --screen S --root R [--order total|name]
                              the usage view (U) of live ROOT R: every guest's
                              row (escaped name, sizes, bar) and the host's
                              figures against find -printf (usagetest.py's
                              ground truth) and du, in the order asked
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vatest import tap, diag  # noqa: E402
import usagetest  # noqa: E402

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


# ------------------------------------------------------------------ the usage view

UNITS = ('B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB')
SIZE_RE = r'\d+(?:\.\d)? (?:%s)' % '|'.join(UNITS)


def human(n):
    """N bytes as du -h rounds them (up; one decimal below 10), binary units spelt out."""
    if n < 1024:
        return '%d B' % n
    k, d = 1, 1024
    while k + 1 < len(UNITS) and n > 1023 * d:
        k, d = k + 1, d * 1024
    tenths = -(-n * 10 // d)
    if tenths < 100:
        return '%d.%d %s' % (tenths // 10, tenths % 10, UNITS[k])
    return '%d %s' % (-(-n // d), UNITS[k])


def du_h(path):
    """du -sh PATH, with its K/M/G written as KiB/MiB/GiB."""
    out = subprocess.run(['du', '-shx', path], check=True, stdout=subprocess.PIPE).stdout.split()[0].decode()
    m = re.fullmatch(r'([\d.]+)([KMGTPE]?)', out)
    if not m:
        return out
    return '%s %s' % (m.group(1), dict(zip('KMGTPE', UNITS[1:])).get(m.group(2), 'B'))


def du_b(path):
    return int(subprocess.run(['du', '-sxB1', path], check=True, stdout=subprocess.PIPE).stdout.split()[0])


def cmd_usage(a):
    rows = read_screen(a.screen)
    root = os.fsencode(a.root)
    guests, want, tot = usagetest.ground_truth(root, usagetest.with_default_store(root, []))
    try:
        hi = next(i for i, r in enumerate(rows) if r.startswith(' GUEST '))
        ri = next(i for i, r in enumerate(rows) if i > hi and r and set(r.split(' ')[0]) <= {'-'} and r.startswith('---'))
    except StopIteration:
        tap(False, 'the screen is the usage view (column heads, a rule above the host)')
        return
    head = rows[hi]
    bar_x, parts_x = head.find('scaled'), head.find(' PRIVATE')
    bar_w = parts_x - 1 - bar_x
    tap(bar_x > 0 and parts_x > bar_x, 'the column heads: bar at %d, parts at %d' % (bar_x, parts_x))
    listed = [r for r in rows[hi + 1:ri] if r]
    tap(len(listed) == len(guests), 'one row per guest (%d rows, %d guests)' % (len(listed), len(guests)))

    def name_of(g):
        return ''.join(t for t, _ in cells(os.path.basename(g)))
    if a.order == 'name':
        order = sorted(guests, key=os.path.basename)
    else:
        order = sorted(guests, key=lambda g: (-want[g]['bytes'], os.path.basename(g)))
    big = max(want[g]['bytes'] for g in guests)

    def cell(b):
        return min(bar_w, int(b * bar_w / big + 0.5))
    bad = []
    for row, g in zip(listed, order):
        w, name = want[g], name_of(g)
        if not row.startswith(' ' + name + ' '):
            bad.append('row %r: the guest %r expected here (order by %s)' % (row, name, a.order))
            continue
        got = re.findall(SIZE_RE, row[1 + len(name):])
        exp = [human(w['bytes']), human(w['private_bytes']), human(w['shared_bytes']),
               human(w['store_bytes']), human(w['reclaimable_bytes'])]
        if got != exp:
            bad.append('%s: sizes %s, find counts %s' % (name, got, exp))
        total_du = du_h(g)
        if not got or got[0] != total_du or w['bytes'] != du_b(g):
            bad.append('%s: total %s, du -sh says %s (du -sB1 %d, find %d)' % (name, got[:1], total_du, du_b(g), w['bytes']))
        bar = row[bar_x:parts_x - 1]
        used = sum(bar.count(c) for c in '#=-~')
        ends = [cell(w['private_bytes']), cell(w['private_bytes'] + w['shared_bytes']),
                cell(w['private_bytes'] + w['shared_bytes'] + w['store_bytes'])]
        rec = min(cell(w['reclaimable_bytes']), ends[2])
        exp_bar = ('#' * ends[0] + '=' * (ends[1] - ends[0]) + '-' * (ends[2] - ends[1]))
        exp_bar = exp_bar[:len(exp_bar) - rec] + '~' * rec
        if bar.rstrip() != exp_bar or used != ends[2]:
            bad.append('%s: bar %r, expected %r (%d cells for %d of %d bytes)' % (name, bar.rstrip(), exp_bar, bar_w,
                                                                                  w['bytes'], big))
    tap(not bad, 'every guest row: escaped name, total (du -sh), private, shared, store, reclaimable (find) '
        'and the bar scaled to the largest guest, ordered by %s' % a.order)
    for x in bad[:8]:
        diag('  ' + x)

    host = rows[ri + 1] if ri + 1 < len(rows) else ''
    got = re.findall(SIZE_RE, host)
    exp = [human(tot['bytes']), human(tot['private_bytes']), human(tot['shared_bytes']),
           human(tot['store_bytes']), human(tot['reclaimable_bytes'])]
    tap(host.startswith(' host ') and got == exp and tot['bytes'] == du_b(root) and got[0] == du_h(root),
        'the host row: each inode once %s (du -sh ROOT %s), private, shared, store, reclaimable %s (find: %s)'
        % (got[:1], du_h(root), got[1:], exp[1:]))
    text = ' '.join(rows[ri + 2:ri + 5])
    m1 = re.search(r'each inode once, ([\d,]+) files?; (%s) outside guests and stores' % SIZE_RE, text)
    m2 = re.search(r'Hard links already save (%s) +Reclaimable (%s) in ([\d,]+) files? ' % (SIZE_RE, SIZE_RE), text)
    tap(m1 is not None and int(m1.group(1).replace(',', '')) == tot['files'] and m1.group(2) == human(tot['other_bytes']),
        'host files %d, outside guests and stores %s (find)' % (tot['files'], human(tot['other_bytes'])))
    tap(m2 is not None and m2.group(1) == human(tot['saving_bytes']) and m2.group(2) == human(tot['reclaimable_bytes'])
        and int(m2.group(3).replace(',', '')) == tot['reclaimable_files'],
        'hard links save %s, reclaimable %s in %d files (find)' % (human(tot['saving_bytes']),
                                                                  human(tot['reclaimable_bytes']), tot['reclaimable_files']))
    if not (m1 and m2):
        diag('  ' + text)


def cmd_usage_records(a):
    """The usage view of an image session against vaudit --usage --image
    --json records (usage-image.sh checks those against debugfs): one row
    per guest in the records' guests, each with its total, private, shared,
    store and reclaimable sizes as du -h rounds them."""
    rows = read_screen(a.screen)
    recs = [json.loads(l) for l in open(a.records)]
    guests = {}
    for r in recs:
        if r.get('record') == 'usage':
            raw = base64.b64decode(r['guest_b64']) if 'guest_b64' in r else r['guest'].encode()
            guests[''.join(t for t, _ in cells(raw))] = r
    try:
        hi = next(i for i, r in enumerate(rows) if r.startswith(' GUEST '))
        ri = next(i for i, r in enumerate(rows) if i > hi and r.startswith('---'))
    except StopIteration:
        tap(False, 'the screen is the usage view (column heads, a rule above the host)')
        return
    listed = [r for r in rows[hi + 1:ri] if r]
    tap(len(listed) == len(guests) > 0, 'one row per guest of the records (%d rows, %d guests)' %
        (len(listed), len(guests)))
    bad = []
    for row in listed:
        r = next((g for n, g in guests.items() if row.startswith(' ' + n + ' ')), None)
        if r is None:
            bad.append('row %r: no such guest in the records' % row)
            continue
        want = [human(r[k]) for k in ('bytes', 'private_bytes', 'shared_bytes', 'store_bytes',
                                      'reclaimable_bytes')]
        got = re.findall(r'\d+(?:\.\d)? (?:B|KiB|MiB|GiB|TiB|PiB|EiB)\b', row)
        if got != want:
            bad.append('row %r: sizes %s, the records say %s' % (row, got, want))
    tap(not bad, 'each guest row: total, private, shared, store, reclaimable as the records say')
    for b in bad[:5]:
        diag('  ' + b)


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
    p = sub.add_parser('usage')
    p.add_argument('--screen', required=True)
    p.add_argument('--root', required=True)
    p.add_argument('--order', choices=('total', 'name'), default='total')
    p.set_defaults(fn=cmd_usage)
    p = sub.add_parser('usage-records')
    p.add_argument('--screen', required=True)
    p.add_argument('--records', required=True)
    p.set_defaults(fn=cmd_usage_records)
    a = ap.parse_args()
    a.fn(a)
    sys.stdout.flush()


if __name__ == '__main__':
    main()
