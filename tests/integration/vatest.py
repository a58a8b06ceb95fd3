#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""vatest.py - helpers for the vaudit integration tests.

Every check sub-command prints lines for tests/lib.sh py_checks:
    ok<TAB>description
    not ok<TAB>description
    #<TAB>comment
and exits 0 unless the helper itself broke.

The expected results never come from vaudit: inode state comes from
debugfs on the image (or FS_IOC_GETFLAGS + lstat), names and guest
membership from GNU find on the mounted filesystem.  Paths are bytes
throughout, and every path is resolved one component at a time relative
to a directory fd without following symlinks, so names of any bytes and
paths longer than PATH_MAX work.
"""

import argparse
import array
import base64
import fcntl
import json
import os
import re
import stat
import subprocess
import sys

FL_IMMUTABLE = 0x10
FL_APPEND = 0x20
FL_NOTAIL = 0x8000          # the 2.4 vserver iunlink/barrier bit, lsattr 't'
FL_BARRIER26 = 0x04000000   # 2.6 chroot barrier (directories)
FL_IUNLINK26 = 0x08000000   # 2.6 iunlink / ixunlink
FL_COW26 = 0x20000000       # vs2.3 copy-on-write marker
VS26_BITS = FL_BARRIER26 | FL_IUNLINK26 | FL_COW26
FS_IOC_GETFLAGS = 0x80086601

KINDS = {
    # kind: severity fixed by the CLI contract (core/finding.h), or None
    # where the contract leaves it open (then it must match --list-kinds)
    'legacy-iunlink': 'error',
    'legacy-notail': 'warning',
    'legacy-barrier': 'error',
    'missing-barrier': 'error',
    'barrier-unverified': 'warning',
    'shared-unprotected': 'error',
    'shared-immutable-no-iunlink': None,
    'iunlink-not-immutable': 'warning',
    'barrier-on-guest': None,
    'cow': 'info',
}
KINDS_26 = {'shared-immutable-no-iunlink', 'iunlink-not-immutable', 'barrier-on-guest', 'cow',
            'missing-barrier'}

# Ground-truth modes (how much the back end can see):
#   nodev  live, 2.6 bits unknown (no vserver syscall, --no-device-read)
#   live   live, raw on-disk flags read from the block device
#   image  --image: every inode's raw flags
MODES = ('nodev', 'live', 'image')

OUT = sys.stdout


def tap(ok, desc):
    OUT.write('%s\t%s\n' % ('ok' if ok else 'not ok', desc.replace('\n', ' ')))
    return ok


def diag(msg):
    for line in str(msg).splitlines() or ['']:
        OUT.write('#\t%s\n' % line)


def show(b):
    """Printable form of a bytes path for diagnostics."""
    if isinstance(b, str):
        b = b.encode('utf-8', 'surrogateescape')
    s = b.decode('ascii', 'backslashreplace')
    s = ''.join(c if 0x20 <= ord(c) < 0x7f else '\\x%02x' % ord(c) for c in s)
    if len(s) > 300:
        s = s[:120] + '...[%d bytes]...' % len(b) + s[-120:]
    return s


# ------------------------------------------------------------------ paths

def open_dir_nofollow(root, rel_components):
    """fd of root/comp1/comp2/... opened O_PATH, no symlink followed below root."""
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for c in rel_components:
            nfd = os.open(c, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def lstat_under(root, path):
    """lstat of path (bytes), which must be root or below root (bytes).

    Raises OSError (ENOENT, ELOOP/ENOTDIR on a symlink component,
    ENAMETOOLONG never) or ValueError if path is not below root or is not
    in canonical form.
    """
    if path == root:
        return os.lstat(root)
    prefix = root.rstrip(b'/') + b'/'
    if not path.startswith(prefix):
        raise ValueError('not below ROOT')
    rel = path[len(prefix):]
    comps = rel.split(b'/')
    if any(c in (b'', b'.', b'..') for c in comps):
        raise ValueError('not canonical (empty, . or .. component)')
    fd = open_dir_nofollow(root, comps[:-1])
    try:
        return os.lstat(comps[-1], dir_fd=fd)
    finally:
        os.close(fd)


def walk(root):
    """Yield (relpath bytes, stat) for everything below root, fd-based, no symlinks followed."""
    rootfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    rootdev = os.fstat(rootfd).st_dev
    stack = [(rootfd, b'')]
    while stack:
        fd, rel = stack.pop()
        try:
            names = sorted(os.listdir(fd))
            for n in names:
                n = os.fsencode(n)
                st = os.lstat(n, dir_fd=fd)
                r = rel + b'/' + n if rel else n
                yield r, st
                if stat.S_ISDIR(st.st_mode) and st.st_dev == rootdev:
                    cfd = os.open(n, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                    stack.append((cfd, r))
        finally:
            os.close(fd)


def getflags_at(dirfd, name):
    """FS_IOC_GETFLAGS of a regular file or directory, None for other types."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC,
                 dir_fd=dirfd)
    try:
        buf = array.array('l', [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf, True)
        return buf[0] & 0xffffffff
    finally:
        os.close(fd)


# ------------------------------------------------------------------ ground truth

def find_names(root):
    """{ino: [relpath bytes, ...]} for everything below root, from GNU find."""
    out = subprocess.run(['find', root, '-xdev', '-mindepth', '1', '-printf', r'%i\t%P\0'],
                         stdout=subprocess.PIPE, check=True).stdout
    names = {}
    for rec in out.split(b'\0'):
        if not rec:
            continue
        ino, rel = rec.split(b'\t', 1)
        names.setdefault(int(ino), []).append(rel)
    return names


STAT_RE = re.compile(rb'^Inode: (\d+)\s+Type: (\S+)\s+Mode:\s+([0-7]+)\s+Flags: (0x[0-9a-fA-F]+)', re.M)
LINKS_RE = re.compile(rb'^Links: (\d+)', re.M)


def debugfs_stat(image, inos):
    """{ino: {'type', 'mode', 'flags', 'links'}} from one debugfs batch."""
    cmds = ''.join('stat <%d>\n' % i for i in sorted(inos))
    env = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
    p = subprocess.run(['debugfs', '-f', '-', image], input=cmds.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, check=True)
    res = {}
    for block in re.split(rb'^debugfs: ', p.stdout, flags=re.M):
        m = STAT_RE.search(block)
        if not m:
            continue
        l = LINKS_RE.search(block)
        res[int(m.group(1))] = {
            'type': m.group(2).decode(),
            'mode': int(m.group(3), 8),
            'flags': int(m.group(4), 16),
            'links': int(l.group(1)) if l else None,
        }
    missing = set(inos) - set(res)
    if missing:
        raise RuntimeError('debugfs gave no stat for inodes %s; stderr: %s'
                           % (sorted(missing)[:10], p.stderr.decode(errors='replace')[:500]))
    return res


def guests_of(root):
    """Direct subdirectories of root (not symlinks)."""
    g = set()
    for n in os.listdir(root):
        n = os.fsencode(n)
        if stat.S_ISDIR(os.lstat(os.path.join(root, n)).st_mode):
            g.add(n)
    return g


def guest_of(rel, guests):
    first = rel.split(b'/', 1)[0]
    return first if b'/' in rel and first in guests else None


def is_24_barrier(st):
    return st['type'] == 'directory' and st['mode'] & 0o777 == 0 and bool(st['flags'] & FL_NOTAIL)


def flags_known(st, ino, mode, thorough, root_ino, guest_inos):
    """Whether a live audit reads this inode's flags at all (see vaudit(8))."""
    if mode == 'image' or thorough or ino == root_ino or ino in guest_inos:
        return True
    if st['type'] == 'regular':
        return bool(st['flags'] & FL_IMMUTABLE) or (st['links'] or 0) > 1
    if st['type'] == 'directory':
        return st['mode'] & 0o777 == 0
    return False


def expected_findings(info, names, guests, guest_inos, root_ino, mode, thorough):
    """The contract's rules, applied to debugfs state; {(kind, ino)}."""
    exp = set()
    v26 = mode != 'nodev'
    for ino, st in info.items():
        f = st['flags']
        known = flags_known(st, ino, mode, thorough, root_ino, guest_inos)
        if st['type'] == 'regular':
            gs = {guest_of(r, guests) for r in names.get(ino, [])} - {None}
            shared = len(gs) >= 2
            if f & FL_IMMUTABLE and f & FL_NOTAIL:
                exp.add(('legacy-iunlink', ino))
            if f & FL_NOTAIL and not f & FL_IMMUTABLE and known:
                exp.add(('legacy-notail', ino))
            if shared and not f & FL_IMMUTABLE:
                exp.add(('shared-unprotected', ino))
            if not v26:
                continue
            if shared and f & FL_IMMUTABLE and not f & (FL_IUNLINK26 | FL_NOTAIL):
                exp.add(('shared-immutable-no-iunlink', ino))
            if f & FL_IUNLINK26 and not f & FL_IMMUTABLE and known:
                exp.add(('iunlink-not-immutable', ino))
            if f & FL_COW26 and known:
                exp.add(('cow', ino))
        elif st['type'] == 'directory':
            if is_24_barrier(st):
                exp.add(('legacy-barrier', ino))
            if v26 and ino in guest_inos and (f & FL_BARRIER26 or is_24_barrier(st)):
                exp.add(('barrier-on-guest', ino))
    r = info[root_ino]
    if v26:
        if not (r['flags'] & FL_BARRIER26 or is_24_barrier(r)):
            exp.add(('missing-barrier', root_ino))
    elif not is_24_barrier(r):
        exp.add(('barrier-unverified', root_ino))
    return exp


def ground_truth(image, root, thorough, mode='nodev'):
    """Expected {(kind, ino)} plus the tables it was computed from.

    root is the mounted directory of ROOT (bytes); names come from find on
    it, flags, modes and link counts from debugfs on image.
    """
    names = find_names(root)
    root_ino = os.lstat(root).st_ino
    info = debugfs_stat(image, set(names) | {root_ino})
    guests = guests_of(root)
    guest_inos = {os.lstat(os.path.join(root, g)).st_ino for g in guests}
    exp = expected_findings(info, names, guests, guest_inos, root_ino, mode, thorough)
    return exp, names, info, guests, root_ino


def list_kinds(vaudit):
    """{kind: severity} from vaudit --list-kinds ({} if it fails)."""
    try:
        p = subprocess.run([vaudit, '--list-kinds'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError:
        return {}
    res = {}
    for line in p.stdout.decode('utf-8', 'replace').splitlines():
        w = line.split()
        if len(w) >= 2:
            res[w[0]] = w[1]
    return res


def severities(vaudit):
    """{kind: expected severity}: the contract, else what --list-kinds says."""
    lk = list_kinds(vaudit)
    return {k: (v if v is not None else lk.get(k)) for k, v in KINDS.items()}


def exit_for(exp, sev):
    """Expected exit status: 1 when a finding is an error or a warning."""
    return 1 if any(sev.get(k) in ('error', 'warning') for k, _ in exp) else 0


def vsattr_problems(vs, f, typ, mode, known):
    """Why a "vsattr" string (b u i c) disagrees with raw flags f, or ''."""
    if not isinstance(vs, str) or not re.match(r'^[bB-][uU-][iI-][cC-]$', vs):
        return 'not 4 letters of b u i c: %r' % (vs,)
    why = []
    # i is immutable, readable by every back end whenever flags are read
    if vs[2] != ('I' if f & FL_IMMUTABLE else 'i'):
        why.append('i column %r for flags 0x%08x' % (vs[2], f))
    for col, bit, letter, eq24 in ((0, FL_BARRIER26, 'b', typ == 'directory' and mode & 0o777 == 0 and f & FL_NOTAIL),
                                    (1, FL_IUNLINK26, 'u', f & FL_IMMUTABLE and f & FL_NOTAIL),
                                    (3, FL_COW26, 'c', False)):
        c = vs[col]
        if known:
            # the raw bit decides; a 2.4 equivalent may be shown as set too
            okset = {letter.upper()} if f & bit else ({letter, letter.upper()} if eq24 else {letter})
        else:
            okset = {'-'} | ({letter.upper()} if eq24 else set())
        if c not in okset:
            why.append('%s column %r, expected one of %s (flags 0x%08x, 2.6 bits %s)'
                       % (letter, c, sorted(okset), f, 'known' if known else 'unknown'))
    return '; '.join(why)


class Ctx:
    """Where ROOT is: on the mount (root_local) and in vaudit's output (out_root)."""

    def __init__(self, root_local, out_root):
        self.root_local = root_local
        self.out_root = out_root
        self.prefix2 = out_root.rstrip(b'/') + b'/'

    def rel(self, p):
        """Path relative to ROOT of an output path, None for ROOT; ValueError if outside."""
        if p == self.out_root:
            return None
        if not p.startswith(self.prefix2):
            raise ValueError('not below ROOT %s' % show(self.out_root))
        return p[len(self.prefix2):]

    def local(self, p):
        r = self.rel(p)
        return self.root_local if r is None else self.root_local.rstrip(b'/') + b'/' + r

    def out(self, rel):
        return self.prefix2 + rel

    def lstat(self, p):
        return lstat_under(self.root_local, self.local(p))


# ------------------------------------------------------------------ vaudit output

def run_vaudit(vaudit, args):
    p = subprocess.run([vaudit] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr


def rec_path(obj, key='path'):
    """bytes path of a JSON record (path or path_b64)."""
    if key + '_b64' in obj:
        return base64.b64decode(obj[key + '_b64'], validate=True)
    if key in obj and obj[key] is not None:
        return obj[key].encode('utf-8')
    return None


def parse_jsonl(data):
    """list of dicts; raises ValueError with the bad line."""
    recs = []
    if data and not data.endswith(b'\n'):
        raise ValueError('output does not end with a newline')
    for i, line in enumerate(data.split(b'\n')[:-1] if data else []):
        try:
            obj = json.loads(line.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as e:
            raise ValueError('line %d is not JSON (%s): %s' % (i + 1, e, show(line)))
        if not isinstance(obj, dict):
            raise ValueError('line %d is not an object' % (i + 1))
        recs.append(obj)
    return recs


def load_json_file(path):
    with open(path, 'rb') as fh:
        return parse_jsonl(fh.read())


def describe(ino, names, root_ino=None):
    ns = names.get(ino)
    if not ns:
        return 'ino %s (%s)' % (ino, 'ROOT' if ino == root_ino else 'not below ROOT')
    return 'ino %d %s%s' % (ino, show(ns[0]), ' (+%d names)' % (len(ns) - 1) if len(ns) > 1 else '')


# ------------------------------------------------------------------ sub-commands

def check_records(tag, recs, rc, err, exp, names, info, guests, root_ino, ctx, mode, sev,
                  outside_local=None, exact=True):
    """Compare one vaudit --json run with the ground truth; TAP lines."""
    byk = {}
    for k, i in exp:
        byk[k] = byk.get(k, 0) + 1
    diag('%s: ground truth %d findings: %s' % (tag, len(exp), ', '.join('%s=%d' % kv for kv in sorted(byk.items()))))
    if err:
        diag('vaudit stderr: ' + show(err[:2000]))
    want_rc = exit_for(exp, sev)
    tap(rc == want_rc, '%s: exit status %d (expected %d)' % (tag, rc, want_rc))
    errlines = [l for l in err.split(b'\n') if l]
    tap(all(l.startswith(b'vaudit: ') for l in errlines) and not any(l.startswith(b"vaudit: '") for l in errlines),
        '%s: no per-entry error on stderr (only general notes)' % tag)
    if recs is None:
        return set()

    got = [(r.get('kind'), r.get('ino')) for r in recs]
    gotset = set(got)
    dups = sorted({x for x in got if got.count(x) > 1}, key=str)
    tap(not dups, '%s: each (kind, inode) reported once' % tag)
    for k, i in dups[:10]:
        diag('  duplicate: %s %s x%d' % (k, describe(i, names, root_ino), got.count((k, i))))

    missing = exp - gotset
    extra = gotset - exp
    if exact:
        tap(not missing and not extra, '%s: (kind, inode) set equals ground truth' % tag)
    for k, i in sorted(missing, key=str):
        diag('  missing: %-27s %s' % (k, describe(i, names, root_ino)))
    for k, i in sorted(extra, key=str):
        diag('  unexpected: %-27s %s' % (k, describe(i, names, root_ino) if isinstance(i, int) else repr(i)))

    bad_fields, bad_paths, bad_names, outside_hits, bad_state, bad_guest, bad_vs = [], [], [], [], [], [], []
    flags_re = re.compile(r'^0x[0-9a-f]{8}$')
    mode_re = re.compile(r'^0[0-7]{3,6}$')
    outside_inos = set(find_names(outside_local)) if outside_local and os.path.isdir(outside_local) else set()
    inside_inos = set(names) | {root_ino}
    state_mask = FL_IMMUTABLE | FL_NOTAIL | (VS26_BITS if mode != 'nodev' else 0)
    for r in recs:
        k, ino = r.get('kind'), r.get('ino')
        if (k not in KINDS or not isinstance(ino, int) or r.get('severity') != sev.get(k)
                or r.get('severity') not in ('error', 'warning', 'info')
                or not isinstance(r.get('nlink'), int) or not flags_re.match(str(r.get('flags')))
                or not mode_re.match(str(r.get('mode'))) or ('guest' not in r and 'guest_b64' not in r)
                or ('path' in r) == ('path_b64' in r)
                or r.get('vs26_known') is not (mode != 'nodev')
                or rec_path(r, 'root') != ctx.out_root):
            bad_fields.append(r)
            continue
        p = rec_path(r)
        try:
            rel = ctx.rel(p)
            st = ctx.lstat(p)
            if st.st_ino != ino:
                bad_paths.append((p, 'path has inode %d, record says %d' % (st.st_ino, ino)))
        except (OSError, ValueError) as e:
            bad_paths.append((p, str(e)))
            continue
        if ino not in inside_inos or (ino in outside_inos and ino not in inside_inos):
            outside_hits.append(p)
        # guest = first component below ROOT (None/null for ROOT itself)
        want_guest = guest_of(rel, guests) if rel is not None else None
        g = rec_path(r, 'guest')
        if g != want_guest:
            bad_guest.append((p, g, want_guest))
        # state must match debugfs (the bits that matter), nlink and mode too
        if ino in info:
            d = info[ino]
            vf = int(r['flags'], 16)
            if (vf & state_mask) != (d['flags'] & state_mask) \
                    or r['nlink'] != d['links'] or int(r['mode'], 8) & 0o7777 != d['mode'] & 0o7777:
                bad_state.append((p, r['flags'], r['nlink'], r['mode'], d))
            why = vsattr_problems(r.get('vsattr'), d['flags'], d['type'], d['mode'], mode != 'nodev')
            if why:
                bad_vs.append((p, why))
        # names of shared inodes: every name under ROOT, each resolving to ino
        all_names = {ctx.out(n) for n in names.get(ino, [])}
        gs = {guest_of(n, guests) for n in names.get(ino, [])} - {None}
        if 'names' in r:
            try:
                listed = [rec_path(n) for n in r['names']]
            except Exception as e:  # noqa: BLE001 - any malformed entry
                bad_names.append((p, 'malformed names: %s' % e))
                continue
            if sorted(listed) != sorted(all_names):
                bad_names.append((p, 'names %s != find %s' % ([show(x) for x in sorted(listed)],
                                                              [show(x) for x in sorted(all_names)])))
            for n in listed:
                try:
                    if ctx.lstat(n).st_ino != ino:
                        bad_names.append((n, 'name resolves to another inode'))
                except (OSError, ValueError) as e:
                    bad_names.append((n, str(e)))
            if p not in listed:
                bad_names.append((p, 'path is not among names'))
            for n in r['names']:
                ng = rec_path(n, 'guest')
                try:
                    want = guest_of(ctx.rel(rec_path(n)) or b'', guests)
                except ValueError:
                    want = None
                if ng != want:
                    bad_names.append((rec_path(n), 'name guest %r, expected %r' % (ng, want)))
        elif len(gs) >= 2:
            bad_names.append((p, 'inode has names in %d guests but the record has no "names"' % len(gs)))

    tap(not bad_fields, '%s: every record has kind, severity, root, guest, path, ino, nlink, flags, mode, '
        'vs26_known=%s' % (tag, 'true' if mode != 'nodev' else 'false'))
    for r in bad_fields[:5]:
        diag('  bad record: ' + show(json.dumps(r)))
    tap(not bad_paths, '%s: every path is below ROOT and resolves (no symlink followed) to the reported inode' % tag)
    for p, e in bad_paths[:10]:
        diag('  %s: %s' % (show(p), e))
    tap(not outside_hits, '%s: nothing outside ROOT is reported' % tag)
    for p in outside_hits[:10]:
        diag('  outside: ' + show(p))
    tap(not bad_guest, '%s: "guest" is the first path component below ROOT' % tag)
    for p, g, w in bad_guest[:10]:
        diag('  %s: guest %r, expected %r' % (show(p), g, w))
    tap(not bad_state, '%s: flags (mask 0x%08x), nlink and mode agree with debugfs' % (tag, state_mask))
    for p, f, n, m, d in bad_state[:10]:
        diag('  %s: vaudit flags %s nlink %s mode %s; debugfs flags 0x%08x links %s mode %04o'
             % (show(p), f, n, m, d['flags'], d['links'], d['mode']))
    tap(not bad_vs, '%s: "vsattr" (b u i c) agrees with debugfs' % tag)
    for p, e in bad_vs[:10]:
        diag('  %s: %s' % (show(p), e))
    tap(not bad_names, '%s: "names" of shared inodes list every name under ROOT' % tag)
    for p, e in bad_names[:10]:
        diag('  %s: %s' % (show(p), e))
    return gotset


def parse_or_fail(tag, out):
    try:
        recs = parse_jsonl(out)
        tap(True, '%s: output is JSON Lines (%d records)' % (tag, len(recs)))
        return recs
    except ValueError as e:
        tap(False, '%s: output is JSON Lines: %s' % (tag, e))
        return None


def read_run(a):
    """(rc, out, err) of a vaudit run saved by the shell (--out/--err/--rc)."""
    with open(a.out, 'rb') as fh:
        out = fh.read()
    with open(a.err, 'rb') as fh:
        err = fh.read()
    return a.rc, out, err


def cmd_groundtruth(a):
    """Live audit (modes nodev, live) or a saved --image run (mode image) against the ground truth."""
    mnt = os.fsencode(a.mount)
    sev = severities(a.vaudit)
    if a.mode == 'image':
        prefix = os.fsencode(a.prefix)
        root_local = mnt.rstrip(b'/') + prefix if prefix != b'/' else mnt
        ctx = Ctx(root_local, prefix)
        rc, out, err = read_run(a)
        how = '--image --prefix %s' % a.prefix
    else:
        root_local = os.fsencode(a.root)
        ctx = Ctx(root_local, root_local)
        args = ['--json'] + (['--thorough'] if a.thorough else []) + \
            (['--no-device-read'] if a.mode == 'nodev' else []) + [a.root]
        rc, out, err = run_vaudit(a.vaudit, args)
        how = ('--thorough' if a.thorough else 'default') + (' --no-device-read' if a.mode == 'nodev' else '')
        if a.save:
            with open(a.save, 'wb') as fh:
                fh.write(out)
    tag = '%s %s' % (a.label, how)
    exp, names, info, guests, root_ino = ground_truth(a.image, root_local, a.thorough, a.mode)
    recs = parse_or_fail(tag, out)
    outside = os.path.join(mnt, b'outside') if root_local.rstrip(b'/') != mnt.rstrip(b'/') else None
    check_records(tag, recs, rc, err, exp, names, info, guests, root_ino, ctx, a.mode, sev,
                  outside_local=outside)


def cmd_expect_none(a):
    """vaudit on a tree where the ground truth is `expected` (kinds list), exact."""
    root = os.fsencode(a.root)
    exp, names, info, guests, root_ino = ground_truth(a.image, root, a.thorough, a.mode)
    sev = severities(a.vaudit)
    skip = set(a.skip.split(',')) if a.skip else set()
    exp = {x for x in exp if x[0] not in skip}
    args = ['--json'] + (['--skip', a.skip] if a.skip else []) + \
        (['--no-device-read'] if a.mode == 'nodev' else []) + [a.root]
    rc, out, err = run_vaudit(a.vaudit, args)
    tag = a.label
    diag('%s: ground truth %s' % (tag, sorted(k for k, _ in exp) or 'no findings'))
    want_rc = exit_for(exp, sev)
    tap(rc == want_rc, '%s: exit status %d (expected %d)' % (tag, rc, want_rc))
    if err:
        diag('vaudit stderr: ' + show(err[:1000]))
    try:
        got = {(r.get('kind'), r.get('ino')) for r in parse_jsonl(out)}
    except ValueError as e:
        tap(False, '%s: JSON output: %s' % (tag, e))
        return
    tap(got == exp, '%s: findings equal ground truth' % tag)
    for x in sorted(exp - got, key=str):
        diag('  missing: %s %s' % (x[0], describe(x[1], names, root_ino)))
    for x in sorted(got - exp, key=str):
        diag('  unexpected: %s %s' % (x[0], describe(x[1], names, root_ino) if isinstance(x[1], int) else x[1]))


def cmd_sets(a):
    """Compare the (kind, ino) sets of two JSON Lines files: equal or subset."""
    try:
        A = {(r.get('kind'), r.get('ino')) for r in load_json_file(a.a)}
        B = {(r.get('kind'), r.get('ino')) for r in load_json_file(a.b)}
    except (OSError, ValueError) as e:
        tap(False, '%s: %s' % (a.label, e))
        return
    ignore = set(a.ignore.split(',')) if a.ignore else set()
    A = {x for x in A if x[0] not in ignore}
    B = {x for x in B if x[0] not in ignore}
    if a.rel == 'equal':
        tap(A == B, '%s: same (kind, inode) set (%d findings)' % (a.label, len(A)))
    else:
        tap(A <= B, '%s: (kind, inode) set is a subset (%d of %d)' % (a.label, len(A), len(B)))
        if A <= B:
            left = {}
            for k, _ in B - A:
                left[k] = left.get(k, 0) + 1
            diag('%s: only in the larger set: %s' % (a.label, ', '.join('%s=%d' % kv for kv in sorted(left.items())) or 'nothing'))
    for x in sorted(A - B, key=str)[:20]:
        diag('  only in %s: %s %s' % (a.a, x[0], x[1]))
    if a.rel == 'equal':
        for x in sorted(B - A, key=str)[:20]:
            diag('  only in %s: %s %s' % (a.b, x[0], x[1]))


def lsattr_names(path):
    """Lines of a pipeline output file (bytes, no trailing newline)."""
    with open(path, 'rb') as fh:
        data = fh.read()
    return [l for l in data.split(b'\n') if l != b''] if data else []


def cmd_pipeline(a):
    root = os.fsencode(a.root)
    recs = load_json_file(a.json)
    iunlink = {r['ino']: rec_path(r) for r in recs if r.get('kind') == 'legacy-iunlink'}
    diag('vaudit: %d legacy-iunlink inodes' % len(iunlink))
    for label, f in (('2004 literal pattern', a.literal), ('adapted 22-column regex', a.adapted)):
        lines = lsattr_names(f)
        found, mangled, wrong, notreg = set(), [], [], []
        for name in lines:
            try:
                st = lstat_under(root, name)
            except (OSError, ValueError):
                mangled.append(name)
                continue
            if not stat.S_ISREG(st.st_mode):
                notreg.append(name)   # e.g. an i+t directory: not a unified file
            elif st.st_ino in iunlink:
                found.add(st.st_ino)
            else:
                wrong.append(name)
        diag('%s: pipeline printed %d names: %d exist, %d mangled (do not exist: cut at a space '
             'or split at a newline), vaudit reports %d more inodes'
             % (label, len(lines), len(lines) - len(mangled), len(mangled), len(set(iunlink) - found)))
        for m in mangled[:20]:
            diag('  mangled: ' + show(m))
        if notreg:
            diag('%s: %d names are not regular files (false positives of the recipe, not unified files):'
                 % (label, len(notreg)))
            for m in notreg[:10]:
                diag('  not a file: ' + show(m))
        tap(not wrong, '%s: every existing regular file the pipeline yields is legacy-iunlink in vaudit' % label)
        for w in wrong[:10]:
            diag('  not reported by vaudit: ' + show(w))
        tap(set(iunlink) > found, '%s: vaudit reports strictly more than the pipeline' % label)
        if label.startswith('2004') and not lines:
            diag('the literal 2004 pattern ----i------t- matches NOTHING with e2fsprogs >= 1.43 (22 flag '
                 'columns, t is column 13: ----i-------t---------); the old recipe silently finds 0 files')
        missed = sorted(set(iunlink) - found)
        for ino in missed[:25]:
            diag('  only vaudit: ' + show(iunlink[ino]))


def cmd_nullout(a):
    root = os.fsencode(a.root)
    recs = load_json_file(a.json)
    with open(a.null, 'rb') as fh:
        data = fh.read()
    tap(data == b'' or data.endswith(b'\0'), '-0: output ends with NUL')
    items = data.split(b'\0')[:-1] if data else []
    tap(len(items) == len(recs), '-0: %d records, %d JSON findings' % (len(items), len(recs)))
    bad = []
    for p in items:
        try:
            lstat_under(root, p)
        except (OSError, ValueError) as e:
            bad.append((p, e))
    tap(not bad, '-0: every record is an existing path below ROOT')
    for p, e in bad[:10]:
        diag('  %s: %s' % (show(p), e))
    jp = sorted(rec_path(r) for r in recs)
    tap(sorted(items) == jp, '-0: the paths are the JSON paths, byte for byte')


def shell_unquote(s):
    """Decode one shell word made of plain chars, '...', $'...' and \\x parts (bytes)."""
    out = bytearray()
    i, n = 0, len(s)
    simple = {ord('n'): 10, ord('t'): 9, ord('r'): 13, ord('a'): 7, ord('b'): 8, ord('e'): 27,
              ord('E'): 27, ord('f'): 12, ord('v'): 11, ord('\\'): 92, ord("'"): 39, ord('"'): 34,
              ord('?'): 63}
    while i < n:
        c = s[i]
        if s.startswith(b"$'", i):
            i += 2
            while True:
                if i >= n:
                    raise ValueError("unterminated $'")
                c = s[i]
                if c == ord("'"):
                    i += 1
                    break
                if c == ord('\\'):
                    i += 1
                    e = s[i]
                    if e in simple:
                        out.append(simple[e])
                        i += 1
                    elif e == ord('x'):
                        m = re.match(rb'[0-9a-fA-F]{1,2}', s[i + 1:])
                        if not m:
                            raise ValueError('bad \\x escape')
                        out.append(int(m.group(0), 16))
                        i += 1 + len(m.group(0))
                    elif ord('0') <= e <= ord('7'):
                        m = re.match(rb'[0-7]{1,3}', s[i:])
                        out.append(int(m.group(0), 8) & 0xff)
                        i += len(m.group(0))
                    else:
                        raise ValueError('unknown escape \\%c' % e)
                else:
                    out.append(c)
                    i += 1
        elif c == ord("'"):
            j = s.index(b"'", i + 1)
            out += s[i + 1:j]
            i = j + 1
        elif c == ord('\\'):
            out.append(s[i + 1])
            i += 2
        elif c in b' \t\n;&|<>()`"$*?[]{}~#!':
            raise ValueError('unquoted shell metacharacter %r at %d' % (chr(c), i))
        else:
            out.append(c)
            i += 1
    return bytes(out)


def cmd_textout(a):
    root = os.fsencode(a.root)
    recs = load_json_file(a.json)
    with open(a.text, 'rb') as fh:
        data = fh.read()
    tap(data == b'' or data.endswith(b'\n'), 'text: output ends with a newline')
    lines = data.split(b'\n')[:-1] if data else []
    tap(len(lines) == len(recs), 'text: %d lines, %d JSON findings' % (len(lines), len(recs)))
    ctrl = [l for l in lines if re.search(rb'[\x00-\x1f\x7f]', l)]
    tap(not ctrl, 'text: no control bytes (C0, DEL, ESC) in any line')
    for l in ctrl[:5]:
        diag('  ' + show(l))
    try:
        txt = data.decode('utf-8')
        c1 = [l for l in txt.split('\n') if re.search('[\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]', l)]
        tap(not c1, 'text: valid UTF-8 without C1 controls or bidi overrides')
        for l in c1[:5]:
            diag('  ' + show(l.encode()))
    except UnicodeDecodeError as e:
        tap(False, 'text: valid UTF-8 (%s)' % e)
    # KIND SEVERITY FLAGS VSATTR PATH: split off the first four fields
    # (runs of blanks between them), the rest is the shell-quoted path
    field_re = re.compile(rb'^(\S+)( +)(\S+)( +)(\S+)( +)(\S+)( +)(\S.*)$')
    bad, paths, cols, pad = [], [], set(), []
    byrec = {}
    for r in recs:
        byrec.setdefault(rec_path(r), []).append(r)
    for l in lines:
        m = field_re.match(l)
        if not m:
            bad.append((l, 'not five fields'))
            continue
        kind, sev, fl, vs = (m.group(i).decode('utf-8', 'replace') for i in (1, 3, 5, 7))
        if kind not in KINDS:
            bad.append((l, 'unknown kind %r' % kind))
            continue
        if sev not in ('error', 'warning', 'info'):
            bad.append((l, 'bad severity %r' % sev))
            continue
        if not (re.match(r'^[-a-zA-Z]{22}$', fl) or fl == '?' * 22):
            bad.append((l, 'FLAGS is not 22 lsattr letters or 22 "?": %r' % fl))
            continue
        if not re.match(r'^[bB-][uU-][iI-][cC-]$', vs):
            bad.append((l, 'VSATTR is not 4 letters b u i c: %r' % vs))
            continue
        cols.add((m.start(3), m.start(5), m.start(7), m.start(9)))
        if m.start(3) != 28 or m.start(5) != 36:
            pad.append(l)
        try:
            path = shell_unquote(m.group(9))
        except (ValueError, IndexError) as e:
            bad.append((l, 'path does not unquote: %s' % e))
            continue
        paths.append(path)
        # the columns must agree with the JSON record of the same finding
        rs = [r for r in byrec.get(path, []) if r.get('kind') == kind]
        if not rs:
            bad.append((l, 'no JSON record with this kind and path'))
        elif not any(r.get('severity') == sev and (r.get('flags_text') or '?' * 22) == fl
                     and r.get('vsattr') == vs for r in rs):
            bad.append((l, 'severity/flags/vsattr differ from the JSON record %s'
                        % [(r.get('severity'), r.get('flags_text'), r.get('vsattr')) for r in rs]))
    tap(len(cols) <= 1, 'text: severity, flags, vsattr and path columns are aligned on every line %s' % sorted(cols))
    tap(not pad, 'text: KIND padded to 27 columns, SEVERITY to 7 (severity at column 29, flags at 37)')
    for l in pad[:3]:
        diag('  ' + show(l[:80]))
    tap(not bad, 'text: every line is KIND SEVERITY FLAGS(22) VSATTR(4) PATH, shell-quoted path, as in the JSON')
    for l, e in bad[:10]:
        diag('  %s: %s' % (e, show(l)))
    jp = sorted(rec_path(r) for r in recs)
    tap(sorted(paths) == jp, 'text: unquoted paths equal the JSON paths byte for byte')
    if sorted(paths) != jp:
        for p in sorted(set(paths) ^ set(jp), key=bytes)[:10]:
            diag('  differs: ' + show(p))
    notfound = []
    for p in paths:
        try:
            lstat_under(root, p)
        except (OSError, ValueError) as e:
            notfound.append((p, e))
    tap(not notfound, 'text: every unquoted path exists')
    for p, e in notfound[:5]:
        diag('  %s: %s' % (show(p), e))


def cmd_snapshot(a):
    """Print a state listing of a tree: inode, mode, nlink, flags, size, mtime, ctime."""
    root = os.fsencode(a.root)
    out = sys.stdout.buffer
    rootfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    st = os.fstat(rootfd)
    os.close(rootfd)
    rows = [(b'.', st, None)]
    for rel, st in walk(root):
        rows.append((rel, st, None))
    for rel, st, _ in rows:
        fl = '-'
        if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            try:
                comps = [] if rel == b'.' else rel.split(b'/')
                fd = open_dir_nofollow(root, comps[:-1])
                try:
                    fl = '%08x' % getflags_at(fd, comps[-1] if comps else b'.')
                finally:
                    os.close(fd)
            except OSError as e:
                fl = 'E%d' % e.errno
        out.write(b'%d %o %d %s %d %d %d %s\n' % (st.st_ino, st.st_mode, st.st_nlink, fl.encode(),
                                                 st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                                 rel.replace(b'\\', b'\\\\').replace(b'\n', b'\\n')))


def cmd_deepchain(a):
    """Make DEPTH nested directories named NAME below DIR, an i+t file at the bottom; print its inode."""
    fd = os.open(a.dir, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(a.depth):
        os.mkdir(a.name, 0o755, dir_fd=fd)
        nfd = os.open(a.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = nfd
    ffd = os.open('bottom', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
    os.write(ffd, b'bottom of a deep chain\n')
    ino = os.fstat(ffd).st_ino
    os.close(ffd)
    os.fchdir(fd)
    # the 2.4 unified state, set the way an admin would: t first, then i
    subprocess.run(['chattr', '+t', '--', 'bottom'], check=True)
    subprocess.run(['chattr', '+i', '--', 'bottom'], check=True)
    fl = getflags_at(fd, 'bottom')
    os.close(fd)
    if fl & 0x8010 != 0x8010:
        raise RuntimeError('flags not set: 0x%x' % fl)
    print(ino)


def cmd_deepcheck(a):
    root = os.fsencode(a.root)
    recs = load_json_file(a.json)
    hits = [r for r in recs if r.get('ino') == a.ino and r.get('kind') == 'legacy-iunlink']
    tap(len(hits) == 1, '%s: the flagged file at the bottom is reported once as legacy-iunlink' % a.label)
    if not hits:
        return
    p = rec_path(hits[0])
    tap(len(p) > a.minlen, '%s: its path is %d bytes long (> %d)' % (a.label, len(p), a.minlen))
    try:
        ok = lstat_under(root, p).st_ino == a.ino
        tap(ok, '%s: the long path resolves to the flagged inode' % a.label)
    except (OSError, ValueError) as e:
        tap(False, '%s: the long path resolves: %s' % (a.label, e))


def cmd_kinds(a):
    """Print the kinds of a JSON Lines file, one per line."""
    for r in load_json_file(a.json):
        print(r.get('kind'))


def cmd_inos(a):
    """Print 'kind ino' of a JSON Lines file, sorted."""
    for k, i in sorted({(r.get('kind'), r.get('ino')) for r in load_json_file(a.json)}, key=str):
        print(k, i)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('groundtruth')
    p.add_argument('--image', required=True)
    p.add_argument('--mount', required=True)
    p.add_argument('--root', help='live modes: ROOT on the mount, as given to vaudit')
    p.add_argument('--prefix', default='/', help='image mode: --prefix given to vaudit')
    p.add_argument('--mode', choices=MODES, default='live')
    p.add_argument('--out', help='image mode: saved stdout of vaudit --json')
    p.add_argument('--err', help='image mode: saved stderr')
    p.add_argument('--rc', type=int, help='image mode: its exit status')
    p.add_argument('--save', help='live modes: also save vaudit stdout here')
    p.add_argument('--vaudit', required=True)
    p.add_argument('--label', default='')
    p.add_argument('--thorough', action='store_true')
    p.set_defaults(fn=cmd_groundtruth)
    p = sub.add_parser('expect')
    p.add_argument('--image', required=True)
    p.add_argument('--root', required=True)
    p.add_argument('--vaudit', required=True)
    p.add_argument('--label', default='')
    p.add_argument('--skip', default='')
    p.add_argument('--mode', choices=('nodev', 'live'), default='live')
    p.add_argument('--thorough', action='store_true')
    p.set_defaults(fn=cmd_expect_none)
    p = sub.add_parser('sets')
    p.add_argument('--a', required=True)
    p.add_argument('--b', required=True)
    p.add_argument('--rel', choices=('equal', 'subset'), required=True)
    p.add_argument('--ignore', default='')
    p.add_argument('--label', default='sets')
    p.set_defaults(fn=cmd_sets)
    p = sub.add_parser('pipeline')
    p.add_argument('--root', required=True)
    p.add_argument('--json', required=True)
    p.add_argument('--literal', required=True)
    p.add_argument('--adapted', required=True)
    p.set_defaults(fn=cmd_pipeline)
    p = sub.add_parser('nullout')
    p.add_argument('--root', required=True)
    p.add_argument('--json', required=True)
    p.add_argument('--null', required=True)
    p.set_defaults(fn=cmd_nullout)
    p = sub.add_parser('textout')
    p.add_argument('--root', required=True)
    p.add_argument('--json', required=True)
    p.add_argument('--text', required=True)
    p.set_defaults(fn=cmd_textout)
    p = sub.add_parser('snapshot')
    p.add_argument('root')
    p.set_defaults(fn=cmd_snapshot)
    p = sub.add_parser('deepchain')
    p.add_argument('dir')
    p.add_argument('depth', type=int)
    p.add_argument('name')
    p.set_defaults(fn=cmd_deepchain)
    p = sub.add_parser('deepcheck')
    p.add_argument('--root', required=True)
    p.add_argument('--json', required=True)
    p.add_argument('--ino', type=int, required=True)
    p.add_argument('--minlen', type=int, required=True)
    p.add_argument('--label', default='deep')
    p.set_defaults(fn=cmd_deepcheck)
    p = sub.add_parser('kinds')
    p.add_argument('json')
    p.set_defaults(fn=cmd_kinds)
    p = sub.add_parser('inos')
    p.add_argument('json')
    p.set_defaults(fn=cmd_inos)
    a = ap.parse_args()
    a.fn(a)
    sys.stdout.flush()


if __name__ == '__main__':
    main()
