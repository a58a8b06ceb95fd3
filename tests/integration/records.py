#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""records.py - check the --json output of a run against
schema/vaudit-records.schema.json (JSON Schema draft 2020-12) with the
python3-jsonschema validator, and against the record conventions.

  records.py SCHEMA OUT --label L --exit N [--want KIND=N ...] [--last summary|usage-total|none]
             [--expect KEY.PATH=VALUE ...]

Prints "ok<TAB>desc" / "not ok<TAB>desc" lines (tests/lib.sh py_checks):
every line is one JSON object valid against the schema; the last record
is the summary (or the kind --last names; none: no summary) and its
"exit" is N; --want KIND=N: N records of that kind (N may be '+': at
least one); --expect: a field of that last record (dotted path) has that
JSON value.
"""
import argparse
import collections
import json
import sys

import jsonschema


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('schema')
    ap.add_argument('out')
    ap.add_argument('--label', required=True)
    ap.add_argument('--exit', type=int)
    ap.add_argument('--want', action='append', default=[])
    ap.add_argument('--last', default='summary')
    ap.add_argument('--expect', action='append', default=[])
    a = ap.parse_args()
    schema = json.load(open(a.schema, encoding='utf-8'))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    recs, bad = [], []
    with open(a.out, 'rb') as f:
        for n, raw in enumerate(f, 1):
            try:
                o = json.loads(raw.decode('utf-8'))
            except ValueError as e:
                bad.append('line %d is not JSON (%s): %r' % (n, e, raw[:120]))
                continue
            errs = sorted(v.iter_errors(o), key=lambda e: e.path)
            if errs:
                best = jsonschema.exceptions.best_match(errs)
                bad.append('line %d (%s): %s at %s' % (n, o.get('record') if isinstance(o, dict) else '?',
                                                       best.message[:200], list(best.absolute_path)))
            recs.append(o)
    lab = a.label
    print('%s\t%s: %d lines, each a JSON record valid against the schema' %
          ('not ok' if bad or not recs else 'ok', lab, len(recs)))
    for b in bad[:5]:
        print('#\t' + b)
    count = collections.Counter(o.get('record') for o in recs if isinstance(o, dict))
    print('#\t%s: records %s' % (lab, dict(count)))
    for w in a.want:
        k, n = w.split('=')
        good = count[k] >= 1 if n == '+' else count[k] == int(n)
        print('%s\t%s: %s %s record(s) (%d)' % ('ok' if good else 'not ok', lab, n, k, count[k]))
    if a.last != 'none':
        last = recs[-1] if recs else {}
        good = last.get('record') == a.last and count[a.last] == 1
        print('%s\t%s: one %s record, the last line' % ('ok' if good else 'not ok', lab, a.last))
        if a.exit is not None:
            print('%s\t%s: the %s says exit %s (%s)' % ('ok' if last.get('exit', a.exit) == a.exit
                                                        else 'not ok', lab, a.last, a.exit, last.get('exit')))
        for e in a.expect:
            key, val = e.split('=', 1)
            o = last
            for p in key.split('.'):
                o = o.get(p) if isinstance(o, dict) else None
            want = json.loads(val)
            print('%s\t%s: %s %s is %s (%s)' % ('ok' if o == want else 'not ok', lab, a.last, key, val,
                                                json.dumps(o)))
    if a.last != 'summary' and count['summary']:
        print('not ok\t%s: no summary record expected, found %d' % (lab, count['summary']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
