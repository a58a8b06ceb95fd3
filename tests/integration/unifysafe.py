#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of tests/integration/unify-safety.sh, independent of vaudit.

  snapshot DIR OUT        every regular file below DIR: inode, nlink, mode,
                          mtime, flags, sha256 of its content (JSON)
  same-structure A B ROOTS...
                          names that were one inode in snapshot A are one
                          inode in B and the other way round; each name's
                          content, mode and mtime as in A (TAP lines)
  contents A DIR          each name of snapshot A below DIR reads A's content
                          (TAP line; after a power cut)
  shutdown MNT            EXT4_IOC_SHUTDOWN with NOLOGFLUSH: the filesystem
                          stops as at a power cut, its journal not flushed
  write-during TRACE PID BYTES [--keep-mtime] [--in STORE]
                          wait until the strace -y output TRACE shows that
                          process PID opened a new store entry (O_TMPFILE
                          in a directory whose path holds STORE),
                          then write BYTES at offset 0 of the file it copies
                          from (optionally putting its mtime back); print
                          its path
  touch-on-reopen TRACE PID PATH...
                          wait until the strace -y output TRACE shows that
                          process PID opened one of PATHs a second time,
                          then move that file's mtime on by one second (its
                          content stays); print its path
"""
import array
import fcntl
import hashlib
import json
import os
import re
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unifytest import getflags as flags  # noqa: E402  (one reader of the flags)

EXT4_IOC_SHUTDOWN = 0x8004587d          # _IOR('X', 125, __u32)
EXT4_GOING_FLAGS_NOLOGFLUSH = 2


def digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as fh:
        for b in iter(lambda: fh.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def snapshot(root):
    res = {}
    root = os.fsencode(root)
    for d, dirs, files in os.walk(root):
        for n in files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode):
                continue
            res[os.fsdecode(os.path.relpath(p, root))] = {
                'ino': st.st_ino, 'nlink': st.st_nlink, 'mode': st.st_mode & 0o7777,
                'mtime_ns': st.st_mtime_ns, 'flags': flags(p), 'sha': digest(p)}
    return res


def tap(ok, desc):
    print('%s - %s' % ('ok' if ok else 'not ok', desc.replace('#', '')))


def diag(msg):
    print('# ' + msg)


def partition(snap, roots):
    by = {}
    for p, e in snap.items():
        if any(p == r or p.startswith(r + '/') for r in roots):
            by.setdefault(e['ino'], []).append(p)
    return sorted(sorted(v) for v in by.values())


def cmd_snapshot(a):
    with open(a[1], 'w') as fh:
        json.dump(snapshot(a[0]), fh)


def cmd_same_structure(a):
    A, B = json.load(open(a[0])), json.load(open(a[1]))
    roots, label = a[2:-1], a[-1]
    pa, pb = partition(A, roots), partition(B, roots)
    tap(pa == pb, '%s: the names that were one inode are one inode again, and no others (%d inodes)'
        % (label, len(pa)))
    if pa != pb:
        sa, sb = set(map(tuple, pa)), set(map(tuple, pb))

        def show(groups):
            return ['%d names (%s)' % (len(g), ', '.join(g[:3]) + (', ...' if len(g) > 3 else ''))
                    for g in sorted(groups)[:4]]
        diag('  before, not now: %s' % show(sa - sb))
        diag('  now, not before: %s' % show(sb - sa))
    probs = []
    for p, e in A.items():
        if not any(p == r or p.startswith(r + '/') for r in roots):
            continue
        f = B.get(p)
        if f is None:
            probs.append(p + ' is missing')
        elif (f['sha'], f['mode'], f['mtime_ns'], f['flags']) != (e['sha'], e['mode'], e['mtime_ns'], e['flags']):
            probs.append('%s: content/mode/mtime/flags differ' % p)
    tap(not probs, '%s: every name has its content, mode, mtime and flags of before (%d names)'
        % (label, len(A)))
    for x in probs[:8]:
        diag('  ' + x)


def cmd_contents(a):
    A, root, label = json.load(open(a[0])), os.fsencode(a[1]), a[2]
    probs = []
    for p, e in A.items():
        q = os.path.join(root, os.fsencode(p))
        try:
            d = digest(q)
        except OSError as x:
            probs.append('%s: %s' % (p, x))
            continue
        if d != e['sha']:
            with open(q, 'rb') as fh:
                head = fh.read(4096)
            probs.append('%s: other content%s' % (p, ' (zeros)' if head and not head.strip(b'\0') else ''))
    tap(not probs, '%s: every one of %d names reads the content it had' % (label, len(A)))
    for x in probs[:8]:
        diag('  ' + x)
    if probs:
        diag('  (%d names differ)' % len(probs))


def cmd_shutdown(a):
    fd = os.open(a[0], os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN, array.array('I', [EXT4_GOING_FLAGS_NOLOGFLUSH]))
    finally:
        os.close(fd)


def watch_trace(trace, pid, find, pause):
    """find(text of TRACE) every PAUSE seconds until it returns something
    other than None (returned), process PID ends or 60 s pass (None)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        try:
            with open(trace) as fh:
                txt = fh.read()
        except FileNotFoundError:
            txt = ''
        got = find(txt)
        if got is not None:
            return got
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        time.sleep(pause)
    return None


def cmd_write_during(a):
    """strace -y -e trace=openat,fstat,newfstatat: the copy of a new store
    entry is an openat(O_TMPFILE) after an fstat of its source; the test
    delays the copy_file_range that follows, so BYTES land in the source
    while it is copied."""
    trace, pid, data = a[0], int(a[1]), a[2].encode()
    keep = '--keep-mtime' in a
    # the O_TMPFILE of a store entry: in the store (not the journal's)
    store = a[a.index('--in') + 1] if '--in' in a else ''

    def source(txt):
        for m in re.finditer(r'^.*O_TMPFILE.*$', txt, re.M):
            if store in m.group(0):
                found = re.findall(r'(?:fstat|newfstatat)\(\d+<([^>]+)>', txt[:m.start()])
                return found[-1] if found else ''
        return None

    src = watch_trace(trace, pid, source, 0.005)
    if not src:
        print('none')
        return
    try:
        st = os.lstat(src)
        fd = os.open(src, os.O_WRONLY | os.O_NOFOLLOW)
    except OSError as e:
        print('cannot write %s: %s' % (src, e))
        return
    os.pwrite(fd, data, 0)
    os.close(fd)
    if keep:
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    print(src)


def cmd_touch_on_reopen(a):
    """strace -f -y -e trace=openat,openat2: each successful open shows
    the path of the fd it returned."""
    trace, pid, paths = a[0], int(a[1]), set(a[2:])
    opened = re.compile(r'= \d+<([^>]+)>$', re.M)

    def reopened(txt):
        seen = set()
        for m in opened.finditer(txt):
            if m.group(1) in paths and m.group(1) in seen:
                return m.group(1)
            seen.add(m.group(1))
        return None

    hit = watch_trace(trace, pid, reopened, 0.001)
    if hit is None:
        print('none')
        return
    st = os.lstat(hit)
    os.utime(hit, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9), follow_symlinks=False)
    print(hit)


CMDS = {'snapshot': cmd_snapshot, 'same-structure': cmd_same_structure, 'contents': cmd_contents,
        'shutdown': cmd_shutdown, 'write-during': cmd_write_during,
        'touch-on-reopen': cmd_touch_on_reopen}

if __name__ == '__main__':
    CMDS[sys.argv[1]](sys.argv[2:])
