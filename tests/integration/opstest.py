#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""opstest.py - the ground truth of monitor.sh and journals.sh, written
from the formats' own descriptions, never from vaudit's code:

  prom FILE --audit JSONL --kinds LIST --exit N --backend B --t0 T --t1 T
      FILE must parse as the Prometheus text exposition format (0.0.4:
      HELP/TYPE lines, metric and label name grammar, label value escapes
      \\\\ \\" \\n only, one group per metric, no duplicate series, float
      values), follow the naming conventions (vaudit_ prefix, gauges
      without _total/_count/_sum/_bucket, base units), and its counts must
      equal those of the --json records JSONL of the same audit (by kind
      and severity; by guest, a shared inode counting for each of the
      guests of its names).
  nagios OUT RC [--audit JSONL] [--fail-on SEV] [--unknown]
      OUT is one line of the plugin output grammar of the Nagios plugin
      guidelines, "VAUDIT STATE - text | 'label'=value[UOM];[warn];[crit];
      [min];[max] ...", RC the status of STATE, and STATE and the
      performance data what the records JSONL say (--unknown: no audit).
  journals LIST DIR [--text TEXT]
      the --journals --json records LIST against every file of DIR parsed
      here (CRC32C per line, D/U marks): names, state, size, mtime, counts.
  prune-expect DIR DAYS      the names --prune DAYS must remove, sorted
  show OUT JOURNAL           --show's records against JOURNAL parsed here
  cut JOURNAL OUT K          JOURNAL up to its K-th change: an interrupted run
  torn JOURNAL OUT           JOURNAL with its last line cut short
  corrupt JOURNAL OUT LINE   JOURNAL with a byte of line LINE changed

Checks print "ok<TAB>desc", "not ok<TAB>desc", "#<TAB>comment" (py_checks).
"""
import argparse
import base64
import collections
import json
import os
import re
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtest import crc32c  # noqa: E402  (CRC32C, written from RFC 3720)


def check(good, desc, *why):
    print('%s\t%s' % ('ok' if good else 'not ok', desc))
    if not good:
        for w in why:
            print('#\t%s' % str(w)[:600])
    return good


def b(rec, key):
    """A string field of a record as bytes (KEY or KEY_b64), or None."""
    if key + '_b64' in rec:
        return base64.b64decode(rec[key + '_b64'])
    v = rec.get(key)
    return None if v is None else v.encode('utf-8')


def load_jsonl(path):
    with open(path, 'rb') as f:
        return [json.loads(line) for line in f if line.strip()]


# ------------------------------------------------------------------ Prometheus

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
FLOAT = re.compile(r'^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


def parse_value(s):
    if s in ('NaN', '+Inf', '-Inf'):
        return float(s.replace('Inf', 'inf').replace('NaN', 'nan'))
    if not FLOAT.match(s):
        raise ValueError('bad value %r' % s)
    return float(s)


def parse_labels(line, i, lineno):
    """Parse {a="b",...} at line[i] == '{'; return (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if line[i] == '}':
            return labels, i + 1
        m = LABEL.match(line, i)
        if not m:
            raise ValueError('line %d: bad label name at %r' % (lineno, line[i:i + 20]))
        name = m.group(0)
        if name.startswith('__'):
            raise ValueError('line %d: reserved label name %s' % (lineno, name))
        i = m.end()
        if line[i:i + 2] != '="':
            raise ValueError('line %d: expected =" after %s' % (lineno, name))
        i += 2
        val = []
        while True:
            c = line[i]
            if c == '\\':
                nxt = line[i + 1]
                if nxt == '\\':
                    val.append('\\')
                elif nxt == '"':
                    val.append('"')
                elif nxt == 'n':
                    val.append('\n')
                else:
                    raise ValueError('line %d: invalid escape \\%s in a label value' % (lineno, nxt))
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == '\n':
                raise ValueError('line %d: raw newline in a label value' % lineno)
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ValueError('line %d: label %s twice' % (lineno, name))
        labels[name] = ''.join(val)
        if line[i] == ',':
            i += 1
        elif line[i] != '}':
            raise ValueError('line %d: expected , or } at %r' % (lineno, line[i:i + 20]))


def parse_exposition(text):
    """(families {name: {'help','type','samples':[(labels, value)]}}, problems)."""
    probs = []
    fam = collections.OrderedDict()
    done = set()             # families whose group has ended
    current = None
    seen = set()
    if not text.endswith('\n'):
        probs.append('the file does not end with a newline')
    for lineno, line in enumerate(text.split('\n')[:-1] if text.endswith('\n') else text.split('\n'), 1):
        try:
            if not line.strip():
                continue
            if line.startswith('#'):
                parts = line.split(' ', 3)
                if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                    name = parts[2]
                    if not NAME.fullmatch(name):
                        raise ValueError('line %d: bad metric name %r' % (lineno, name))
                    if name in done or (current is not None and current != name and name in fam):
                        raise ValueError('line %d: %s of %s outside its group' % (lineno, parts[1], name))
                    if current != name:
                        if current is not None:
                            done.add(current)
                        current = name
                    f = fam.setdefault(name, {'help': None, 'type': None, 'samples': []})
                    if parts[1] == 'HELP':
                        if f['help'] is not None:
                            raise ValueError('line %d: second HELP for %s' % (lineno, name))
                        f['help'] = parts[3] if len(parts) > 3 else ''
                        if re.search(r'\\[^\\n]', f['help']):
                            raise ValueError('line %d: invalid escape in HELP' % lineno)
                    else:
                        if f['type'] is not None or f['samples']:
                            raise ValueError('line %d: TYPE of %s twice or after its samples' % (lineno, name))
                        if len(parts) != 4 or parts[3] not in TYPES:
                            raise ValueError('line %d: bad TYPE line %r' % (lineno, line))
                        f['type'] = parts[3]
                continue
            m = NAME.match(line)
            if not m:
                raise ValueError('line %d: no metric name: %r' % (lineno, line[:60]))
            name = m.group(0)
            i = m.end()
            labels = {}
            if i < len(line) and line[i] == '{':
                labels, i = parse_labels(line + '\n', i, lineno)
            rest = line[i:]
            if not rest.startswith(' '):
                raise ValueError('line %d: no space before the value' % lineno)
            fields = rest.split()
            if len(fields) not in (1, 2):
                raise ValueError('line %d: value [timestamp] expected: %r' % (lineno, rest))
            value = parse_value(fields[0])
            if len(fields) == 2 and not re.fullmatch(r'-?[0-9]+', fields[1]):
                raise ValueError('line %d: bad timestamp' % lineno)
            if name != current:
                if name in fam:
                    raise ValueError('line %d: samples of %s outside its group' % (lineno, name))
                if current is not None:
                    done.add(current)
                current = name
            f = fam.setdefault(name, {'help': None, 'type': None, 'samples': []})
            key = (name, tuple(sorted(labels.items())))
            if key in seen:
                raise ValueError('line %d: duplicate series %s%s' % (lineno, name, labels))
            seen.add(key)
            f['samples'].append((labels, value))
        except (ValueError, IndexError) as e:
            probs.append(str(e) if isinstance(e, ValueError) else 'line %d: truncated' % lineno)
    return fam, probs


def label_text(bs):
    """The label value vaudit promises for guest name bytes: UTF-8, others as text \\xNN."""
    return bs.decode('utf-8', 'backslashreplace')


def cmd_prom(a):
    text = open(a.file, encoding='utf-8').read()
    fam, probs = parse_exposition(text)
    check(not probs, '%s: the text exposition format parses (%d families)' % (a.label, len(fam)), *probs[:8])
    lint = []
    for name, f in fam.items():
        if not name.startswith('vaudit_'):
            lint.append('%s: not in the vaudit_ namespace' % name)
        if f['help'] is None or f['type'] is None:
            lint.append('%s: no HELP or no TYPE line' % name)
        if f['type'] == 'gauge' and re.search(r'_(total|count|sum|bucket)$', name):
            lint.append('%s: a gauge named like a counter or histogram' % name)
        if f['type'] == 'counter' and not name.endswith('_total'):
            lint.append('%s: a counter without _total' % name)
        if re.search(r'_(milliseconds|minutes|hours|bytes_total_bytes)$', name):
            lint.append('%s: not a base unit' % name)
        if not f['samples']:
            lint.append('%s: no sample' % name)
    check(not lint, '%s: naming conventions (namespace, HELP and TYPE, gauge names, base units)' % a.label, *lint)

    def one(name, labels=None):
        for lab, v in fam.get(name, {}).get('samples', []):
            if labels is None or lab == labels:
                return v
        return None

    recs = load_jsonl(a.audit)
    findings = [r for r in recs if r.get('record') == 'finding']
    errors = [r for r in recs if r.get('record') == 'error']
    summ = [r for r in recs if r.get('record') == 'summary']
    want = collections.Counter((r['kind'], r['severity']) for r in findings)
    kinds = [l.split()[:2] for l in open(a.kinds) if l.strip()]
    got = {(lab.get('kind'), lab.get('severity')): v for lab, v in fam.get('vaudit_findings', {}).get('samples', [])}
    bad = ['%s/%s: %s, the records say %d' % (k, s, got.get((k, s)), n) for (k, s), n in want.items()
           if got.get((k, s)) != n]
    bad += ['%s/%s: %s, the records say 0' % (k, s, v) for (k, s), v in got.items() if v and (k, s) not in want]
    check(not bad, '%s: vaudit_findings{kind,severity} equal the --json records (%d findings, %d series)' %
          (a.label, len(findings), len(got)), *bad[:8])
    missing = ['%s/%s' % (k, s) for k, s in kinds if (k, s) not in got]
    check(not missing, '%s: every kind of --list-kinds has its series at its severity, 0 included' % a.label,
          *missing[:8])
    # by guest: the guests of the names of a shared inode, each once
    wantg = collections.Counter()
    for r in findings:
        names = r.get('names') or [r]
        gs = {b(n, 'guest') for n in names} - {None}
        for g in gs:
            wantg[(label_text(g), r['severity'])] += 1
    gotg = {(lab.get('guest'), lab.get('severity')): v
            for lab, v in fam.get('vaudit_guest_findings', {}).get('samples', [])}
    bad = ['%r/%s: %s, the records say %d' % (g, s, gotg.get((g, s)), n) for (g, s), n in wantg.items()
           if gotg.get((g, s)) != n]
    bad += ['%r/%s: %s, the records say 0' % (g, s, v) for (g, s), v in gotg.items() if v and (g, s) not in wantg]
    check(not bad, '%s: vaudit_guest_findings{guest,severity} equal the records (%d guests)' %
          (a.label, len({g for g, _ in wantg})), *bad[:8])
    for g in a.guest:
        check(any(k[0] == g for k in gotg), '%s: guest %r is a label value (escaped and read back)' % (a.label, g),
              sorted({k[0] for k in gotg}))
    check(one('vaudit_errors') == len(errors), '%s: vaudit_errors is the number of error records (%d)' %
          (a.label, len(errors)), one('vaudit_errors'))
    entries = summ[-1]['audit']['entries'] if summ and summ[-1].get('audit') else None
    check(one('vaudit_entries') == entries, '%s: vaudit_entries is the summary record\'s entries (%s)' %
          (a.label, entries), one('vaudit_entries'))
    ts = one('vaudit_last_run_timestamp_seconds')
    check(ts is not None and a.t0 - 1 <= ts <= a.t1 + 1,
          '%s: vaudit_last_run_timestamp_seconds is within the run (%s in [%s, %s])' % (a.label, ts, a.t0, a.t1))
    d = one('vaudit_run_duration_seconds')
    check(d is not None and 0 <= d <= a.t1 - a.t0 + 1, '%s: vaudit_run_duration_seconds is 0..the run (%s)' %
          (a.label, d))
    check(one('vaudit_exit_status') == a.exit, '%s: vaudit_exit_status is %d' % (a.label, a.exit),
          one('vaudit_exit_status'))
    check(one('vaudit_last_run_success') == (1 if a.exit in (0, 1) else 0),
          '%s: vaudit_last_run_success follows the exit status' % a.label, one('vaudit_last_run_success'))
    info = fam.get('vaudit_run_info', {}).get('samples', [])
    check(len(info) == 1 and info[0][1] == 1 and info[0][0].get('backend') == a.backend and
          info[0][0].get('method') == (summ[-1]['audit']['method'] if summ else None),
          '%s: vaudit_run_info{backend="%s",method=the summary\'s} 1' % (a.label, a.backend), info)


# ------------------------------------------------------------------ Nagios

STATES = {'OK': 0, 'WARNING': 1, 'CRITICAL': 2, 'UNKNOWN': 3}
NUM = r'-?[0-9]+(?:\.[0-9]+)?'
RANGE = r'(?:@?(?:~|%s)?(?::(?:%s)?)?)' % (NUM, NUM)
PERF = re.compile(r"('(?:[^']|'')+'|[^'= ]+)=(%s)(s|ms|us|%%|B|KB|MB|TB|c)?"
                  r"(?:;(%s)?(?:;(%s)?(?:;(%s)?(?:;(%s)?)?)?)?)?$" % (NUM, RANGE, RANGE, NUM, NUM))


def cmd_nagios(a):
    out = open(a.out, 'rb').read().decode('utf-8', 'replace')
    lines = out.split('\n')
    check(len(lines) == 2 and lines[1] == '', '%s: exactly one line on stdout' % a.label, repr(out[:300]))
    line = lines[0]
    m = re.fullmatch(r'VAUDIT (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]+?)(?: \| (.+))?', line)
    if not check(m is not None, '%s: "VAUDIT STATE - text[ | perfdata]" (plugin guidelines)' % a.label, line):
        return
    state, text, perf = m.groups()
    check(STATES[state] == a.rc, '%s: exit status %d is the status of %s' % (a.label, a.rc, state))
    pd = {}
    bad = []
    for tok in (perf or '').split(' ') if perf else []:
        pm = PERF.match(tok)
        if not pm:
            bad.append(tok)
            continue
        pd[pm.group(1).strip("'")] = (float(pm.group(2)), pm.group(3) or '', tok)
    check(not bad, "%s: every perfdata item is 'label'=value[UOM];[warn];[crit];[min];[max]" % a.label, *bad)
    if a.unknown:
        check(state == 'UNKNOWN' and a.rc == 3, '%s: no audit: UNKNOWN, exit 3' % a.label, line)
        for w in a.text:
            check(w in text, '%s: the text says %r' % (a.label, w), text)
        return
    recs = load_jsonl(a.audit)
    sev = collections.Counter(r['severity'] for r in recs if r.get('record') == 'finding')
    unread = sum(1 for r in recs if r.get('record') == 'error')
    summ = [r for r in recs if r.get('record') == 'summary']
    entries = summ[-1]['audit']['entries'] if summ and summ[-1].get('audit') else None
    if sev['error'] and a.fail_on != 'never':
        want = 'CRITICAL'
    elif unread:
        want = 'UNKNOWN'
    elif sev['warning'] and a.fail_on == 'warning':
        want = 'WARNING'
    else:
        want = 'OK'
    check(state == want, '%s: %s from the records (%d error, %d warning, %d info, %d unreadable, --fail-on %s)' %
          (a.label, want, sev['error'], sev['warning'], sev['info'], unread, a.fail_on), line)
    for label, n in (('error', sev['error']), ('warning', sev['warning']), ('info', sev['info']),
                     ('unreadable', unread), ('entries', entries)):
        check(label in pd and pd[label][0] == n, "%s: perfdata '%s' is %s" % (a.label, label, n), pd.get(label))
    check('duration' in pd and pd['duration'][1] == 's' and pd['duration'][0] >= 0,
          "%s: perfdata 'duration' in seconds (UOM s)" % a.label, pd.get('duration'))


def cmd_atomic(a):
    """The system calls of a --prometheus run (strace -f): a new hidden file
    created O_EXCL|O_NOFOLLOW in the directory, written, fsynced, renamed
    over NAME, then the directory fsynced; in that order."""
    calls = open(a.strace, encoding='utf-8', errors='replace').read().split('\n')
    base = os.path.basename(a.name)
    d = os.path.dirname(a.name)
    dirfd = tmpfd = None
    tmp = None
    steps = []
    for c in calls:
        m = re.search(r'openat\((?:AT_FDCWD|\d+), "([^"]*)", ([A-Z_|]+)(?:, \d+)?\) = (\d+)', c)
        if m and m.group(1) == d and 'O_DIRECTORY' in m.group(2):
            dirfd = m.group(3)
            steps.append('open directory')
        elif m and m.group(1).startswith('.' + base + '.') and m.group(1).endswith('.tmp'):
            flags = m.group(2)
            if all(f in flags for f in ('O_CREAT', 'O_EXCL', 'O_NOFOLLOW')):
                tmpfd, tmp = m.group(3), m.group(1)
                steps.append('create O_EXCL|O_NOFOLLOW')
        elif tmpfd and re.match(r'(\d+ +)?write\(%s,' % tmpfd, c) and steps[-1:] != ['write']:
            steps.append('write')
        elif tmpfd and re.match(r'(\d+ +)?fsync\(%s\) += 0' % tmpfd, c):
            steps.append('fsync file')
        elif tmp and re.search(r'rename(?:at2?)?\(.*"%s".*"%s"' % (re.escape(tmp), re.escape(base)), c) and \
                c.rstrip().endswith('= 0'):
            steps.append('rename')
        elif dirfd and re.match(r'(\d+ +)?fsync\(%s\) += 0' % dirfd, c):
            steps.append('fsync directory')
    want = ['open directory', 'create O_EXCL|O_NOFOLLOW', 'write', 'fsync file', 'rename', 'fsync directory']
    check(steps == want, '%s: %s' % (a.label, ', '.join(want)), steps)


# ------------------------------------------------------------------ journals

def parse_journal_file(path):
    """Ground truth of one journal: a dict (state, counts, header) or unreadable with a line."""
    st = os.lstat(path)
    info = {'size': st.st_size, 'mtime': int(st.st_mtime), 'name': os.path.basename(path)}
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        info.update(state='unreadable', line=None)
        return info
    data = open(path, 'rb').read()
    lines = data.split(b'\n')
    torn = False
    if lines[-1] == b'':
        lines.pop()
    whole = []
    for n, line in enumerate(lines, 1):
        last = n == len(lines)
        body, sep, tail = line.rpartition(b'\tcrc=')
        good = (sep and re.fullmatch(rb'[0-9a-f]{8}', tail) and crc32c(body) == int(tail, 16) and
                (not last or data.endswith(b'\n')))
        if not good:
            if last and n > 1:
                torn = True
                break
            info.update(state='unreadable', line=n)
            return info
        whole.append(body.split(b'\t'))
    if not whole:
        info.update(state='unreadable', line=1)
        return info
    h = whole[0]
    hd = dict(kv.split(b'=', 1) for kv in h[2:])
    info['version'] = int(h[1])
    info['backend'] = hd[b'backend'].decode()
    info['uuid'] = hd[b'uuid'].decode()
    info['source'] = base64.b64decode(hd[b'source'])
    mode = info['backend'] if info['backend'] in ('unify', 'convert') else 'fix'
    req = None
    if b'request' in hd:
        req = base64.b64decode(hd[b'request'])
        for l in req.split(b'\n'):
            if l.startswith(b'mode '):
                mode = l[5:].decode()
    info['mode'] = mode
    info['request'] = req
    marks = {}
    changes = []
    recs = []
    for f in whole[1:]:
        t = f[0].decode()
        seq = int(f[1])
        recs.append(f)
        if t in ('D', 'U'):
            marks[seq] = t
        else:
            changes.append(seq)
    done = sum(1 for s in changes if marks.get(s) == 'D')
    undone = sum(1 for s in changes if marks.get(s) == 'U')
    pending = len(changes) - done - undone
    info.update(changes=len(changes), done=done, undone=undone, pending=pending, torn=torn, recs=recs,
                marks=marks)
    info['state'] = ('interrupted' if pending or torn else
                     'undone' if changes and undone == len(changes) else 'complete')
    return info


def journal_names(d):
    return sorted(n for n in os.listdir(d) if not n.startswith('.') and n.endswith('.journal') and
                  len(n) > len('.journal'))


def cmd_journals(a):
    recs = load_jsonl(a.list)
    names = journal_names(a.dir)
    got_names = [b(r, 'name').decode('utf-8', 'surrogateescape') for r in recs]
    check(got_names == names, '%s: one record per *.journal of the directory, sorted by name (%d)' %
          (a.label, len(names)), got_names, names)
    states = collections.Counter()
    for r in recs:
        n = b(r, 'name').decode('utf-8', 'surrogateescape')
        if n not in names:
            continue
        t = parse_journal_file(os.path.join(a.dir, n))
        states[t['state']] += 1
        bad = []
        for k in ('state', 'size', 'mtime'):
            if r.get(k) != t[k]:
                bad.append('%s: %r, the file says %r' % (k, r.get(k), t[k]))
        if t['state'] == 'unreadable':
            if not r.get('error'):
                bad.append('no error text')
            if t['line'] is not None and r.get('line') != t['line']:
                bad.append('line %r, the file breaks at line %d' % (r.get('line'), t['line']))
        else:
            for k in ('changes', 'done', 'undone', 'pending', 'torn', 'backend', 'uuid', 'mode'):
                if r.get(k) != t[k]:
                    bad.append('%s: %r, the file says %r' % (k, r.get(k), t[k]))
            if b(r, 'source') != t['source']:
                bad.append('source %r, the header says %r' % (b(r, 'source'), t['source']))
            if r.get('journal_version') != t['version']:
                bad.append('journal_version %r' % r.get('journal_version'))
        check(not bad, '%s: %s: %s as the file says' % (a.label, n, t['state']), *bad)
    print('#\t%s: states %s' % (a.label, dict(states)))
    if a.text:
        rows = [l for l in open(a.text, encoding='utf-8', errors='replace').read().split('\n') if l]
        want = [(parse_journal_file(os.path.join(a.dir, n))['state'], n) for n in names]
        got = [(l.split()[0], l.split()[5] if len(l.split()) > 5 else None) for l in rows]
        check(got == want, '%s: the text listing: one line per journal, STATE first, NAME after date and size' % a.label,
              got[:5], want[:5])


def cmd_prune_expect(a):
    cutoff = time.time() - a.days * 86400
    for n in journal_names(a.dir):
        t = parse_journal_file(os.path.join(a.dir, n))
        if t['state'] in ('complete', 'undone') and t['mtime'] < cutoff:
            print(os.path.join(a.dir, n))


def cmd_show(a):
    recs = load_jsonl(a.out)
    t = parse_journal_file(a.journal)
    h = recs[0] if recs else {}
    bad = []
    if h.get('record') != 'journal-header':
        bad.append('first record %r' % h.get('record'))
    for k in ('backend', 'uuid', 'torn'):
        if h.get(k) != t.get(k):
            bad.append('%s %r, the file says %r' % (k, h.get(k), t.get(k)))
    if b(h, 'source') != t.get('source'):
        bad.append('source %r' % b(h, 'source'))
    if h.get('journal_version') != t.get('version'):
        bad.append('journal_version %r' % h.get('journal_version'))
    if h.get('records') != len(t.get('recs', [])):
        bad.append('records %r, the file has %d whole records' % (h.get('records'), len(t.get('recs', []))))
    if t.get('request') is not None:
        kv = dict(l.split(b' ', 1) for l in t['request'].split(b'\n') if l)
        for k, v in kv.items():
            k = k.decode()
            if k in ('plan', 'prefix', 'config-path') and v != b'-':
                v = base64.b64decode(v)
            if (h.get('request') or {}).get(k, '').encode() != v:
                bad.append('request %s: %r, the header says %r' % (k, (h.get('request') or {}).get(k), v))
    check(not bad, '%s: the journal-header record is the file\'s header' % a.label, *bad)
    body = recs[1:]
    check(len(body) == len(t.get('recs', [])), '%s: one journal-record per whole record line (%d)' %
          (a.label, len(t.get('recs', []))), len(body))
    bad = []
    for i, (r, f) in enumerate(zip(body, t.get('recs', []))):
        typ = f[0].decode()
        want = {'line': i + 2, 'type': typ, 'seq': int(f[1])}
        if typ == 'I':
            want.update(dev=f[2].decode(), ino=int(f[3]), gen=int(f[4]), old_flags=f[5].decode(),
                        old_mode='%04o' % int(f[6], 8), new_flags=f[7].decode(), new_mode='%04o' % int(f[8], 8),
                        kind=f[9].decode(),
                        state={'D': 'done', 'U': 'undone'}.get(t['marks'].get(int(f[1])), 'unfinished'))
        for k, v in want.items():
            if r.get(k) != v:
                bad.append('record %d: %s %r, the file says %r' % (i + 2, k, r.get(k), v))
        if typ == 'I' and b(r, 'path') != base64.b64decode(f[10]):
            bad.append('record %d: path %r, the file says %r' % (i + 2, b(r, 'path'), base64.b64decode(f[10])))
    check(not bad, '%s: each record: line, type, seq, dev, ino, flags, modes, kind, decoded path, state' %
          a.label, *bad[:8])


# ------------------------------------------------------------------ making journals

def cmd_cut(a):
    data = open(a.journal, 'rb').read()
    out, k = [], 0
    for line in data.split(b'\n')[:-1]:
        out.append(line + b'\n')
        if line.startswith(b'I\t') or line.startswith(b'L\t') or line.startswith(b'C\t'):
            k += 1
            if k == a.k:
                break
    if k < a.k:
        sys.exit('only %d changes in %s' % (k, a.journal))
    open(a.out, 'wb').write(b''.join(out))


def cmd_torn(a):
    data = open(a.journal, 'rb').read()
    open(a.out, 'wb').write(data[:-7])


def cmd_corrupt(a):
    lines = open(a.journal, 'rb').read().split(b'\n')
    line = bytearray(lines[a.line - 1])
    i = line.index(b'\t') + 1          # the seq field
    line[i] = ord('9') if line[i] != ord('9') else ord('8')
    lines[a.line - 1] = bytes(line)
    open(a.out, 'wb').write(b'\n'.join(lines))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('prom')
    p.add_argument('file')
    p.add_argument('--audit', required=True)
    p.add_argument('--kinds', required=True)
    p.add_argument('--exit', type=int, required=True)
    p.add_argument('--backend', required=True)
    p.add_argument('--t0', type=float, required=True)
    p.add_argument('--t1', type=float, required=True)
    p.add_argument('--guest', action='append', default=[])
    p.add_argument('--label', default='--prometheus')
    p = sub.add_parser('nagios')
    p.add_argument('out')
    p.add_argument('rc', type=int)
    p.add_argument('--audit')
    p.add_argument('--fail-on', default='warning')
    p.add_argument('--unknown', action='store_true')
    p.add_argument('--text', action='append', default=[])
    p.add_argument('--label', default='--nagios')
    p = sub.add_parser('atomic')
    p.add_argument('strace')
    p.add_argument('name')
    p.add_argument('--label', default='--prometheus replaces the file atomically')
    p = sub.add_parser('journals')
    p.add_argument('list')
    p.add_argument('dir')
    p.add_argument('--text')
    p.add_argument('--label', default='--journals')
    p = sub.add_parser('prune-expect')
    p.add_argument('dir')
    p.add_argument('days', type=int)
    p = sub.add_parser('show')
    p.add_argument('out')
    p.add_argument('journal')
    p.add_argument('--label', default='--show')
    p = sub.add_parser('cut')
    p.add_argument('journal')
    p.add_argument('out')
    p.add_argument('k', type=int)
    p = sub.add_parser('torn')
    p.add_argument('journal')
    p.add_argument('out')
    p = sub.add_parser('corrupt')
    p.add_argument('journal')
    p.add_argument('out')
    p.add_argument('line', type=int)
    a = ap.parse_args()
    {'prom': cmd_prom, 'nagios': cmd_nagios, 'atomic': cmd_atomic, 'journals': cmd_journals, 'prune-expect': cmd_prune_expect,
     'show': cmd_show, 'cut': cmd_cut, 'torn': cmd_torn, 'corrupt': cmd_corrupt}[a.cmd](a)
    return 0


if __name__ == '__main__':
    sys.exit(main())
