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
membership from GNU find on the mounted filesystem, or, for image mode
without a mount (no root needed), from a walk of the image with debugfs
`ls -p` (testdata/imgtree.py: raw names, no symlink followed).  Ground truth has
three modes (how much the back end can see): nodev (live, 2.6 bits
unknown), live (live, raw flags from the block device for the inodes it
examines) and image (--image: every inode's raw flags; paths are
image-absolute below --prefix).  `corrupt` drives the bounded robustness
run of corrupt.sh on damaged copies of fixture images.  Paths are bytes
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
import time
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'testdata'))
import imgtree  # noqa: E402

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


def expected_findings(info, names, guests, guest_inos, root_ino, mode, thorough):
    """The contract's rules, applied to debugfs state; {(kind, ino)}.

    Every inode's flags count, in every mode: the audit checks every file
    and directory (vaudit(8)); --thorough changes nothing."""
    exp = set()
    v26 = mode != 'nodev'
    for ino, st in info.items():
        f = st['flags']
        if st['type'] == 'regular':
            gs = {guest_of(r, guests) for r in names.get(ino, [])} - {None}
            shared = len(gs) >= 2
            if f & FL_IMMUTABLE and f & FL_NOTAIL:
                exp.add(('legacy-iunlink', ino))
            if f & FL_NOTAIL and not f & FL_IMMUTABLE:
                exp.add(('legacy-notail', ino))
            if shared and not f & FL_IMMUTABLE:
                exp.add(('shared-unprotected', ino))
            if not v26:
                continue
            if shared and f & FL_IMMUTABLE and not f & (FL_IUNLINK26 | FL_NOTAIL):
                exp.add(('shared-immutable-no-iunlink', ino))
            if f & FL_IUNLINK26 and not f & FL_IMMUTABLE:
                exp.add(('iunlink-not-immutable', ino))
            if f & FL_COW26:
                exp.add(('cow', ino))
        elif st['type'] == 'directory':
            if is_24_barrier(st):
                exp.add(('legacy-barrier', ino))
            # the 2.4 encoding needs no 2.6 bit: seen without the device too
            if ino in guest_inos and ((v26 and f & FL_BARRIER26) or is_24_barrier(st)):
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


class ImageTree:
    """Every name of an unmounted image, from debugfs (imgtree.walk)."""

    def __init__(self, image):
        self.image = image
        self.paths = {b'/': imgtree.ROOT_INO}
        for ino, rel, _mode in imgtree.walk(image):
            self.paths[b'/' + rel] = ino

    def ino(self, path):
        """Inode of an image-absolute path; OSError if no such name (or a
        symlink on the way: the walk never follows one)."""
        p = path.rstrip(b'/') or b'/'
        if p not in self.paths:
            raise OSError(2, 'no such name in the image (debugfs)', show(path))
        return self.paths[p]

    def names_below(self, prefix):
        """{ino: [relpath, ...]} below prefix, as find_names on a mount."""
        pre = prefix.rstrip(b'/') + b'/'
        names = {}
        for p, ino in self.paths.items():
            if p.startswith(pre) and p != pre:
                names.setdefault(ino, []).append(p[len(pre):])
        return names


def image_ground_truth(tree, prefix, thorough, mode='image'):
    """ground_truth() for an unmounted image: names from the debugfs walk."""
    names = tree.names_below(prefix)
    root_ino = tree.ino(prefix)
    info = debugfs_stat(tree.image, set(names) | {root_ino})
    guests = {r for ino, rs in names.items() for r in rs
              if b'/' not in r and info[ino]['type'] == 'directory'}
    guest_inos = {tree.ino(prefix.rstrip(b'/') + b'/' + g) for g in guests}
    exp = expected_findings(info, names, guests, guest_inos, root_ino, mode, thorough)
    return exp, names, info, guests, root_ino


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



class ImageCtx(Ctx):
    """Ctx for image mode without a mount: paths are image-absolute and
    resolve through the debugfs walk (ImageTree)."""

    def __init__(self, tree, prefix):
        super().__init__(None, prefix)
        self.tree = tree

    def local(self, p):
        raise NotImplementedError('no mount')

    def lstat(self, p):
        self.rel(p)   # ValueError when not below ROOT
        return types.SimpleNamespace(st_ino=self.tree.ino(p))

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
        # the findings (or the guests of --list): not the error and summary records (records.sh)
        if obj.get('record', 'finding') not in ('finding', 'guest'):
            continue
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
        diag('  missing: %-29s %s' % (k, describe(i, names, root_ino)))
    for k, i in sorted(extra, key=str):
        diag('  unexpected: %-29s %s' % (k, describe(i, names, root_ino) if isinstance(i, int) else repr(i)))

    bad_fields, bad_paths, bad_names, outside_hits, bad_state, bad_guest, bad_vs = [], [], [], [], [], [], []
    flags_re = re.compile(r'^0x[0-9a-f]{8}$')
    mode_re = re.compile(r'^0[0-7]{3,6}$')
    if isinstance(outside_local, set):
        outside_inos = outside_local   # image without a mount: from debugfs
    else:
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
        # guest = first component below ROOT: null for ROOT itself and for
        # entries directly in ROOT that are not guests; a guest root is in
        # its own guest
        want_guest = guest_of(rel, guests) if rel is not None else None
        if rel is not None and rel in guests:
            want_guest = rel
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
    if a.mount is None:
        return groundtruth_nomount(a)
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


def groundtruth_nomount(a):
    """Image mode without a mount: names from debugfs, not from find."""
    if a.mode != 'image':
        raise SystemExit('groundtruth: --mount is required for the live modes')
    sev = severities(a.vaudit)
    prefix = os.fsencode(a.prefix)
    tree = ImageTree(a.image)
    ctx = ImageCtx(tree, prefix)
    rc, out, err = read_run(a)
    tag = '%s --image --prefix %s (names from debugfs)' % (a.label, a.prefix)
    exp, names, info, guests, root_ino = image_ground_truth(tree, prefix, a.thorough, a.mode)
    recs = parse_or_fail(tag, out)
    outside = set(tree.names_below(b'/outside')) if prefix.rstrip(b'/') else None
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


def ctx_from_args(a):
    """The path context of --root (and --mount for image mode, where --root
    is the --prefix and paths are image-absolute)."""
    root = os.fsencode(a.root)
    if a.mount:
        mnt = os.fsencode(a.mount)
        return Ctx(mnt.rstrip(b'/') + root if root != b'/' else mnt, root)
    if getattr(a, 'image', None):
        return ImageCtx(ImageTree(a.image), root)
    return Ctx(root, root)


def cmd_nullout(a):
    ctx = ctx_from_args(a)
    recs = load_json_file(a.json)
    with open(a.null, 'rb') as fh:
        data = fh.read()
    tap(data == b'' or data.endswith(b'\0'), '-0: output ends with NUL')
    items = data.split(b'\0')[:-1] if data else []
    tap(len(items) == len(recs), '-0: %d records, %d JSON findings' % (len(items), len(recs)))
    bad = []
    for p in items:
        try:
            ctx.lstat(p)
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
    ctx = ctx_from_args(a)
    tag = 'text' + (' (%s)' % a.label if a.label else '')
    recs = load_json_file(a.json)
    with open(a.text, 'rb') as fh:
        data = fh.read()
    tap(data == b'' or data.endswith(b'\n'), tag + ': output ends with a newline')
    lines = data.split(b'\n')[:-1] if data else []
    tap(len(lines) == len(recs), tag + ': %d lines, %d JSON findings' % (len(lines), len(recs)))
    ctrl = [l for l in lines if re.search(rb'[\x00-\x1f\x7f]', l)]
    tap(not ctrl, tag + ': no control bytes (C0, DEL, ESC) in any line')
    for l in ctrl[:5]:
        diag('  ' + show(l))
    try:
        txt = data.decode('utf-8')
        c1 = [l for l in txt.split('\n') if re.search('[\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]', l)]
        tap(not c1, tag + ': valid UTF-8 without C1 controls or bidi overrides')
        for l in c1[:5]:
            diag('  ' + show(l.encode()))
    except UnicodeDecodeError as e:
        tap(False, tag + ': valid UTF-8 (%s)' % e)
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
        if m.start(3) != 30 or m.start(5) != 38:
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
    tap(len(cols) <= 1, tag + ': severity, flags, vsattr and path columns are aligned on every line %s' % sorted(cols))
    tap(not pad, tag + ': KIND padded to 29 columns, SEVERITY to 7 (severity at column 31, flags at 39)')
    for l in pad[:3]:
        diag('  ' + show(l[:80]))
    tap(not bad, tag + ': every line is KIND SEVERITY FLAGS(22) VSATTR(4) PATH, shell-quoted path, as in the JSON')
    for l, e in bad[:10]:
        diag('  %s: %s' % (e, show(l)))
    jp = sorted(rec_path(r) for r in recs)
    tap(sorted(paths) == jp, tag + ': unquoted paths equal the JSON paths byte for byte')
    if sorted(paths) != jp:
        for p in sorted(set(paths) ^ set(jp), key=bytes)[:10]:
            diag('  differs: ' + show(p))
    notfound = []
    for p in paths:
        try:
            ctx.lstat(p)
        except (OSError, ValueError) as e:
            notfound.append((p, e))
    tap(not notfound, tag + ': every unquoted path exists')
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
    # image mode: paths are image-absolute below --prefix, ROOT is mounted at --root
    ctx = Ctx(root, os.fsencode(a.prefix) if a.prefix else root)
    recs = load_json_file(a.json)
    hits = [r for r in recs if r.get('ino') == a.ino and r.get('kind') == 'legacy-iunlink']
    tap(len(hits) == 1, '%s: the flagged file at the bottom is reported once as legacy-iunlink' % a.label)
    if not hits:
        return
    p = rec_path(hits[0])
    tap(len(p) > a.minlen, '%s: its path is %d bytes long (> %d)' % (a.label, len(p), a.minlen))
    try:
        ok = ctx.lstat(p).st_ino == a.ino
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


# ------------------------------------------------------------------ corrupt images

CRC32C_TABLE = []


def crc32c(crc, data):
    """Raw CRC32C (Castagnoli) update, no final inversion (as ext4 uses it)."""
    if not CRC32C_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            CRC32C_TABLE.append(c)
    t = CRC32C_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc


class Base:
    """A fixture image held in memory, with its layout (from dumpe2fs/debugfs)."""

    def __init__(self, path, prefix):
        self.path = path
        with open(path, 'rb') as fh:
            self.data = bytes(fh.read())
        self.size = len(self.data)
        # non-zero 4 KiB chunks, for fast sparse copies
        self.chunks = [o for o in range(0, self.size, 4096) if self.data[o:o + 4096].count(0) != 4096]
        env = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
        d = subprocess.run(['dumpe2fs', path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           env=env).stdout.decode('utf-8', 'replace')
        self.fs = os.path.basename(path)
        self.bs = int(re.search(r'^Block size:\s+(\d+)', d, re.M).group(1))
        self.isz = int(re.search(r'^Inode size:\s+(\d+)', d, re.M).group(1))
        icount = int(re.search(r'^Inode count:\s+(\d+)', d, re.M).group(1))
        ifree = int(re.search(r'^Free inodes:\s+(\d+)', d, re.M).group(1))
        self.used_inodes = icount - ifree
        self.features = re.search(r'^Filesystem features:\s+(.*)$', d, re.M).group(1).split()
        self.csum = 'metadata_csum' in self.features
        self.gdt = [tuple(int(x) for x in m.groups()) for m in
                    re.finditer(r'Group descriptors at (\d+)-(\d+)', d)]
        self.itables = [tuple(int(x) for x in m.groups()) for m in
                        re.finditer(r'Inode table at (\d+)-(\d+)', d)]
        # directory blocks: breadth-first from the prefix directory, by inode
        self.dirblocks = []
        start = subprocess.run(['debugfs', '-R', 'stat %s' % prefix, path], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env).stdout
        m = re.match(rb'Inode: (\d+)', start)
        todo, seen = ([int(m.group(1))] if m else []) + [2], set()
        while todo and len(seen) < 60:
            batch = [i for i in todo[:20] if i not in seen]
            todo = todo[20:]
            if not batch:
                continue
            seen.update(batch)
            cmds = ''.join('ls -p <%d>\nblocks <%d>\n' % (i, i) for i in batch)
            out = subprocess.run(['debugfs', '-f', '-', path], input=cmds.encode(), stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=env).stdout
            for blk in re.split(rb'^debugfs: ', out, flags=re.M):
                if blk.startswith(b'blocks'):
                    self.dirblocks += [int(x) for x in blk.split(b'\n', 1)[1].split() if x.isdigit()]
                else:
                    for mm in re.finditer(rb'^/(\d+)/04[0-7]{4}/\d+/\d+/([^\n/]*)/', blk, re.M):
                        if mm.group(2) not in (b'.', b'..'):
                            todo.append(int(mm.group(1)))
        self.dirblocks = sorted(set(b for b in self.dirblocks if 0 < b * self.bs < self.size))
        self.sb_csum_ok = (not self.csum) or self.sb_checksum(self.data[1024:2048]) == \
            int.from_bytes(self.data[1024 + 1020:1024 + 1024], 'little')

    @staticmethod
    def sb_checksum(sb):
        return crc32c(0xffffffff, sb[:1020])

    def write_copy(self, dst, data=None, length=None):
        """Sparse copy of the base (or of data) to dst, optionally truncated."""
        src = self.data if data is None else data
        n = self.size if length is None else length
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.ftruncate(fd, n)
            if data is None:
                for o in self.chunks:
                    if o >= n:
                        break
                    os.pwrite(fd, src[o:min(o + 4096, n)], o)
            else:
                for o in range(0, n, 4096):
                    c = src[o:min(o + 4096, n)]
                    if c.count(0) != len(c):
                        os.pwrite(fd, c, o)
        finally:
            os.close(fd)


SB_FIELDS = [  # (name, offset in the superblock, width)
    ('s_inodes_count', 0, 4), ('s_blocks_count', 4, 4), ('s_first_data_block', 20, 4),
    ('s_log_block_size', 24, 4), ('s_log_cluster_size', 28, 4), ('s_blocks_per_group', 32, 4),
    ('s_clusters_per_group', 36, 4), ('s_inodes_per_group', 40, 4), ('s_magic', 56, 2),
    ('s_state', 58, 2), ('s_rev_level', 76, 4), ('s_first_ino', 84, 4), ('s_inode_size', 88, 2),
    ('s_feature_compat', 92, 4), ('s_feature_incompat', 96, 4), ('s_feature_ro_compat', 100, 4),
    ('s_reserved_gdt_blocks', 206, 2), ('s_desc_size', 254, 2), ('s_log_groups_per_flex', 372, 1),
    ('s_blocks_count_hi', 336, 4), ('s_min_extra_isize', 348, 2), ('s_want_extra_isize', 350, 2),
]

DEBUGFS_FIELDS = ['mode', 'links_count', 'size', 'size_high', 'flags', 'block[0]', 'block[1]', 'block[2]',
                  'block[3]', 'block[4]', 'block[IND]', 'block[DIND]', 'blocks', 'extra_isize']
SSV_FIELDS = ['inodes_count', 'blocks_count', 'first_data_block', 'log_block_size', 'blocks_per_group',
              'inodes_per_group', 'first_ino', 'inode_size', 'rev_level', 'feature_incompat',
              'feature_ro_compat', 'desc_size', 'log_groups_per_flex', 'reserved_gdt_blocks', 'def_hash_version',
              'first_meta_bg']
BG_FIELDS = ['inode_table', 'block_bitmap', 'inode_bitmap', 'flags', 'itable_unused', 'free_inodes_count']


def interesting(rng, width, orig=None):
    top = (1 << (8 * width)) - 1
    vals = [0, 1, 2, 3, 7, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000, 0xffff, 0x10000,
            0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]
    if orig is not None:
        vals += [orig + 1, orig - 1, orig * 2, orig << 8, orig ^ 0x80, orig >> 1]
    v = rng.choice(vals) if rng.random() < 0.8 else rng.getrandbits(8 * width)
    return v & top


def mutate_raw(rng, base, buf):
    """Apply 1-4 raw corruptions to bytearray buf; return their descriptions."""
    what = []
    bs = base.bs
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        t = rng.choice(('sb-bytes', 'sb-field', 'sb-field', 'gdt', 'itable', 'itable', 'inode',
                        'dirblock', 'dirblock', 'dirent', 'anywhere', 'block'))
        if t == 'sb-bytes':
            for _ in range(rng.randint(1, 8)):
                o = 1024 + (rng.randrange(256) if rng.random() < 0.7 else rng.randrange(1024))
                buf[o] = rng.getrandbits(8)
            what.append(t)
        elif t == 'sb-field':
            name, off, w = rng.choice(SB_FIELDS)
            o = 1024 + off
            orig = int.from_bytes(buf[o:o + w], 'little')
            v = interesting(rng, w, orig)
            buf[o:o + w] = v.to_bytes(w, 'little')
            what.append('%s=0x%x' % (name, v))
        elif t == 'gdt' and base.gdt:
            a, b = rng.choice(base.gdt)
            o = a * bs + rng.randrange(min((b - a + 1) * bs, 2 * 64 * 8))  # the used descriptors
            n = rng.choice((1, 2, 4, 8, 32))
            buf[o:o + n] = bytes(rng.getrandbits(8) for _ in range(n))
            what.append('gdt@%d+%d' % (o, n))
        elif t in ('itable', 'inode') and base.itables:
            a, _ = base.itables[0]
            ino = rng.randint(1, base.used_inodes + 8)
            o = a * bs + (ino - 1) * base.isz
            if t == 'inode':
                # one field of an inode: mode, size, links, flags or i_block
                off, w = rng.choice(((0, 2), (4, 4), (26, 2), (28, 4), (32, 4), (40, 4), (44, 4), (48, 4),
                                     (52, 4), (100, 4), (108, 4), (128, 2)))
                orig = int.from_bytes(buf[o + off:o + off + w], 'little')
                v = interesting(rng, w, orig)
                buf[o + off:o + off + w] = v.to_bytes(w, 'little')
                what.append('inode %d @%d=0x%x' % (ino, off, v))
            else:
                n = rng.choice((1, 1, 2, 4, 16, base.isz))
                oo = o + rng.randrange(base.isz)
                buf[oo:oo + n] = bytes(rng.getrandbits(8) for _ in range(n))
                what.append('itable inode %d +%d bytes' % (ino, n))
        elif t in ('dirblock', 'dirent') and base.dirblocks:
            blk = rng.choice(base.dirblocks)
            o = blk * bs
            if t == 'dirent':
                # a 16-bit rec_len / 32-bit inode / name_len of a directory entry near the start
                off = rng.choice((0, 4, 6, 7, 12, 16, 18, 20, 24, 28))
                w = 4 if off in (0, 12, 24) else (2 if off in (4, 16, 28) else 1)
                orig = int.from_bytes(buf[o + off:o + off + w], 'little')
                v = interesting(rng, w, orig)
                buf[o + off:o + off + w] = v.to_bytes(w, 'little')
                what.append('dirent blk %d @%d=0x%x' % (blk, off, v))
            else:
                n = rng.choice((1, 2, 4, 8, 64))
                oo = o + rng.randrange(bs)
                buf[oo:oo + n] = bytes(rng.getrandbits(8) for _ in range(n))
                what.append('dirblock %d +%d' % (blk, n))
        elif t == 'block':
            c = rng.choice(base.chunks)
            o = c + rng.randrange(0, 4096, bs)
            fill = rng.choice((b'\0', b'\xff', None))
            buf[o:o + bs] = fill * bs if fill else bytes(rng.getrandbits(8) for _ in range(bs))
            what.append('block@%d %s' % (o, 'random' if fill is None else fill.hex()))
        else:
            c = rng.choice(base.chunks)
            o = c + rng.randrange(4096)
            n = rng.randint(1, 16)
            buf[o:o + n] = bytes(rng.getrandbits(8) for _ in range(n))
            what.append('bytes@%d+%d' % (o, n))
    if base.csum and base.sb_csum_ok and rng.random() < 0.7:
        # keep the superblock checksum valid, so that the corruption gets past it
        buf[1024 + 1020:1024 + 1024] = Base.sb_checksum(bytes(buf[1024:2048])).to_bytes(4, 'little')
        what.append('sb-csum fixed')
    return what


def debugfs_mutation(rng, base):
    """1-3 random checksum-preserving debugfs -w commands."""
    cmds = []
    for _ in range(rng.randint(1, 3)):
        t = rng.random()
        if t < 0.5:
            ino = rng.choice((2, 11, 12) + tuple(range(13, base.used_inodes + 1)))
            f = rng.choice(DEBUGFS_FIELDS)
            cmds.append('sif <%d> %s 0x%x' % (ino, f, interesting(rng, 2 if f in ('mode', 'links_count') else 4)))
        elif t < 0.75:
            f = rng.choice(SSV_FIELDS)
            cmds.append('ssv %s 0x%x' % (f, interesting(rng, 1 if f == 'log_groups_per_flex' else 4)))
        else:
            cmds.append('set_bg %d %s 0x%x' % (rng.randrange(max(1, len(base.itables))), rng.choice(BG_FIELDS),
                                               interesting(rng, 4)))
    return cmds


CRAFTED = [
    # (name, debugfs -w commands); checksums stay valid
    ('dir cycle: g1/usr/cycle -> ROOT', ['link /vservers /vservers/g1/usr/cycle']),
    ('dir cycle: g1/usr/up -> g1', ['link /vservers/g1 /vservers/g1/usr/up']),
    ('dir cycle: g2/etc/fsroot -> /', ['link / /vservers/g2/etc/fsroot']),
    ('dir reachable twice: g1/g2-again -> g2', ['link /vservers/g2 /vservers/g1/g2-again']),
    ('ROOT is a regular file by mode', ['sif /vservers mode 0100644']),
    ('guest root g1 is a regular file by mode', ['sif /vservers/g1 mode 0100644']),
    ('a text file claims to be a directory', ['sif /vservers/g1/usr/bin/ls mode 040755']),
    ('a directory is a symlink by mode', ['sif /vservers/g2/etc mode 0120777']),
    ('fs root is a regular file', ['sif <2> mode 0100644']),
    ('fs root mode 0', ['sif <2> mode 0']),
    ('g1 block[0] = 0', ['sif /vservers/g1 block[0] 0']),
    ('g1 block[0] out of range', ['sif /vservers/g1 block[0] 0xfffffff0']),
    ('g1 block[0] = superblock', ['sif /vservers/g1 block[0] 1']),
    ('g1 block[3] garbage', ['sif /vservers/g1 block[3] 0x7fffffff']),
    ('g1 size 0', ['sif /vservers/g1 size 0']),
    ('g1 size 4 GiB - 1', ['sif /vservers/g1 size 0xffffffff']),
    ('g1 size_high huge', ['sif /vservers/g1 size_high 0xffffffff']),
    ('g1 links_count 0', ['sif /vservers/g1 links_count 0']),
    ('ls links_count 65535', ['sif /vservers/g1/usr/bin/ls links_count 65535']),
    ('g1 inline-data flag without the feature', ['sif /vservers/g1 flags 0x10000000']),
    ('g1 htree index flag on a linear directory', ['sif /vservers/g1 flags 0x1000']),
    ('g1 extents flag toggled', ['sif /vservers/g1 flags 0x80000']),
    ('g1 flags cleared (extents header read as block numbers)', ['sif /vservers/g1 flags 0']),
    ('g1 flags all ones', ['sif /vservers/g1 flags 0xffffffff']),
    ('entry to an unused inode', ['link <%d> /vservers/g1/ghost']),
    ('entry to the bad-blocks inode', ['link <1> /vservers/g1/badblocks']),
    ('entry to the journal/resize inodes', ['link <7> /vservers/g1/resize', 'link <8> /vservers/g1/journal']),
    ('guest g1 unlinked (orphan subtree)', ['unlink /vservers/g1']),
    ('ssv inodes_count 0', ['ssv inodes_count 0']),
    ('ssv inodes_per_group 0', ['ssv inodes_per_group 0']),
    ('ssv inodes_per_group huge', ['ssv inodes_per_group 0xffffffff']),
    ('ssv blocks_per_group 0', ['ssv blocks_per_group 0']),
    ('ssv log_block_size 30', ['ssv log_block_size 30']),
    ('ssv first_data_block huge', ['ssv first_data_block 0x7fffffff']),
    ('ssv inode_size 0', ['ssv inode_size 0']),
    ('ssv inode_size 7', ['ssv inode_size 7']),
    ('ssv inode_size 65535', ['ssv inode_size 65535']),
    ('ssv rev_level 7', ['ssv rev_level 7']),
    ('ssv first_ino 0', ['ssv first_ino 0']),
    ('ssv feature_incompat all ones', ['ssv feature_incompat 0xffffffff']),
    ('ssv feature_incompat 0 (no filetype, no extents)', ['ssv feature_incompat 0']),
    ('ssv desc_size 0xffff', ['ssv desc_size 0xffff']),
    ('ssv blocks_count 1', ['ssv blocks_count 1']),
    ('ssv magic 0', ['ssv magic 0']),
    ('set_bg 0 inode_table 0', ['set_bg 0 inode_table 0']),
    ('set_bg 0 inode_table out of range', ['set_bg 0 inode_table 0xfffffff0']),
    ('set_bg 0 inode_table = superblock', ['set_bg 0 inode_table 1']),
    ('set_bg 0 flags INODE_UNINIT', ['set_bg 0 flags 1']),
    ('set_bg 0 itable_unused 0xffff', ['set_bg 0 itable_unused 0xffff']),
    ('set_bg 1 inode_table = group 0 table', ['set_bg 1 inode_table %(itable0)d']),
]


# Damage that makes the entries of one directory (g1/etc) unreadable.  The
# contract: a corrupt image gives exit 2 with a "vaudit: " line naming the
# image; skipping the directory silently (exit 1, its findings lost, nothing
# on stderr) is a failure.  '@' commands patch the image file directly
# (after the debugfs ones): @zero-dirblock, @random-dirblock, @reclen0 on
# the first block of the directory given.
UNREADABLE_DIR = [
    ('g1/etc: its directory block zeroed', ['@zero-dirblock /vservers/g1/etc']),
    ('g1/etc: its directory block random bytes', ['@random-dirblock /vservers/g1/etc']),
    ('g1/etc: first entry rec_len 0', ['@reclen0 /vservers/g1/etc']),
    ('g1/etc: block[0] = 0 (a hole; ext4: the extent header)', ['sif /vservers/g1/etc block[0] 0']),
    ('g1/etc: block[0] = 1 (the superblock; ext4: the extent header)', ['sif /vservers/g1/etc block[0] 1']),
    ('g1/etc: block[0] out of range (ext4: the extent header)', ['sif /vservers/g1/etc block[0] 0xfffffff0']),
    ('g1/etc: extents flag toggled (ext2/3: no extents feature; ext4: block map read as extents)',
     ['sif /vservers/g1/etc flags 0x%(extents_toggled)x']),
]


def raw_patch(img, base, cmd, env):
    """Apply one '@' command of UNREADABLE_DIR to img."""
    import random
    op, path = cmd[1:].split(' ', 1)
    out = subprocess.run(['debugfs', '-R', 'blocks %s' % path, img], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env).stdout.split()
    blk = int(out[0])
    with open(img, 'r+b') as fh:
        fh.seek(blk * base.bs)
        if op == 'zero-dirblock':
            fh.write(b'\0' * base.bs)
        elif op == 'random-dirblock':
            fh.write(bytes(random.Random(blk).getrandbits(8) for _ in range(base.bs)))
        elif op == 'reclen0':
            fh.seek(blk * base.bs + 4)
            fh.write(b'\0\0')
        else:
            raise ValueError(cmd)


def run_one(vaudit, img, prefix, timeout):
    """Run vaudit --image on img; (rc, out, err, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run(['timeout', '-k', '2', str(timeout), vaudit, '--image', img, '--prefix', prefix, '--json'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def judge(img, rc, out, err, exact_one=False):
    """Problems with one run on a bad image; [] if it behaved."""
    probs = []
    if rc < 0:
        probs.append('killed by signal %d' % -rc)
    elif rc in (124, 137):
        probs.append('exit status %d: timeout (hang?)' % rc)
    elif rc in (126, 127):
        probs.append('exit status %d: vaudit could not be run (rebuilt meanwhile?)' % rc)
    elif rc >= 128:
        probs.append('exit status %d: signal %d' % (rc, rc - 128))
    elif rc not in (0, 1, 2, 3):  # 3: a partial audit (entries unreadable)
        probs.append('exit status %d' % rc)
    for pat in (b'AddressSanitizer', b'LeakSanitizer', b'runtime error:', b'UndefinedBehaviorSanitizer'):
        if pat in err:
            probs.append('sanitizer report: %s' % pat.decode())
    try:
        parse_jsonl(out)
    except ValueError as e:
        probs.append('stdout: %s' % e)
    lines = [l for l in err.split(b'\n') if l]
    name = os.fsencode(img)
    if rc in (2, 3):
        if not any(l.startswith(b'vaudit: ') and name in l for l in lines):
            probs.append('exit %d without' % rc + ' a "vaudit: " line naming %s on stderr' % show(name))
    if exact_one:
        if rc != 2:
            probs.append('expected exit 2, got %d' % rc)
        if len(lines) != 1 or not lines[0].startswith(b"vaudit: '" + name + b"': "):
            probs.append("expected one stderr line \"vaudit: '%s': ...\", got %d lines"
                         % (show(name), len(lines)))
        if out:
            probs.append('expected nothing on stdout')
    return probs


def cmd_corrupt(a):
    import concurrent.futures
    import random
    import threading
    t_start = time.monotonic()
    os.makedirs(a.workdir, exist_ok=True)
    failed_dir = os.path.join(a.workdir, 'failed')
    os.makedirs(failed_dir, exist_ok=True)
    bases = [Base(p, a.prefix) for p in a.images]
    for b in bases:
        diag('%s: block size %d, %d used inodes, %d group descriptor ranges, %d inode tables, '
             '%d directory blocks, metadata_csum %s (superblock checksum %s)'
             % (b.fs, b.bs, b.used_inodes, len(b.gdt), len(b.itables), len(b.dirblocks), b.csum,
                'reproduced' if b.sb_csum_ok else 'NOT reproduced'))
    lock = threading.Lock()
    stats = {'n': 0, 'rc': {}, 'fail': 0, 'slowest': 0.0, 'kinds': {}}
    failures = []
    special_fail = []

    def record(desc, img, rc, out, err, secs, probs, kind):
        with lock:
            stats['n'] += 1
            stats['rc'][rc] = stats['rc'].get(rc, 0) + 1
            stats['kinds'][kind] = stats['kinds'].get(kind, 0) + 1
            stats['slowest'] = max(stats['slowest'], secs)
            if probs:
                stats['fail'] += 1
                if len(failures) < 20:
                    keep = os.path.join(failed_dir, '%03d-%s' % (len(failures), os.path.basename(img)))
                    try:
                        if os.path.isfile(img):
                            subprocess.run(['cp', '--sparse=always', '--reflink=never', img, keep], check=False)
                    except OSError:
                        pass
                    failures.append((desc, keep, rc, probs, err[:300]))

    # ---- special inputs: exactly one line "vaudit: 'FILE': ...", exit 2
    sp = os.path.join(a.workdir, 'special')
    os.makedirs(sp, exist_ok=True)
    specials = []
    z = os.path.join(sp, 'zero.img')
    with open(z, 'wb') as fh:
        fh.truncate(16 << 20)
    specials.append(('zero-filled 16 MiB file', z))
    e = os.path.join(sp, 'empty.img')
    open(e, 'wb').close()
    specials.append(('empty file', e))
    rnd = random.Random(a.seed)
    r = os.path.join(sp, 'random.img')
    with open(r, 'wb') as fh:
        fh.write(bytes(rnd.getrandbits(8) for _ in range(1 << 20)))
    specials.append(('1 MiB of random bytes', r))
    for n in (1, 1023, 1024 + 512, 2048):
        t = os.path.join(sp, 'trunc%d.img' % n)
        bases[0].write_copy(t, length=n)
        specials.append(('%s truncated to %d bytes (inside the superblock area)' % (bases[0].fs, n), t))
    for tool, args in (('mkswap', []), ('mkfs.vfat', []), ('mkfs.fat', []), ('mkfs.minix', []), ('mkfs.bfs', []),
                       ('mkfs.xfs', ['-q']), ('mkfs.btrfs', ['-q'])):
        exe = shutil_which(tool)
        if not exe:
            continue
        t = os.path.join(sp, '%s.img' % tool)
        with open(t, 'wb') as fh:
            fh.truncate(16 << 20 if tool != 'mkfs.xfs' else 320 << 20)
        pr = subprocess.run([exe] + args + [t], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if pr.returncode == 0:
            specials.append(('%s image' % tool, t))
        else:
            diag('%s failed, not used' % tool)
    d = os.path.join(sp, 'a-directory')
    os.makedirs(d, exist_ok=True)
    specials.append(('a directory given as --image', d))
    specials.append(('a missing file', os.path.join(sp, 'does-not-exist.img')))
    specials.append(('/dev/null (a character device)', '/dev/null'))
    fifo = os.path.join(sp, 'fifo.img')
    os.mkfifo(fifo)
    specials.append(('a FIFO (must not block)', fifo))
    for desc, path in specials:
        rc, out, err, secs = run_one(a.vaudit, path, a.prefix, 5 if 'FIFO' in desc else 10)
        probs = judge(path, rc, out, err, exact_one=True)
        record(desc, path, rc, out, err, secs, probs, 'special')
        tap(not probs, 'special input, %s: exit 2 and one line "vaudit: \'FILE\': ..."' % desc)
        for pr_ in probs:
            diag('  ' + pr_)
        if probs and err:
            diag('  stderr: ' + show(err[:300]))

    # ---- crafted, checksum-valid semantic damage (debugfs -w)
    def debugfs_case(base, name, cmds, idx, must_fail=False):
        img = os.path.join(a.workdir, 'c%05d-%s' % (idx, base.fs))
        base.write_copy(img)
        env = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
        dcmds = [c for c in cmds if not c.startswith('@')]
        if dcmds:
            subprocess.run(['debugfs', '-w', '-f', '-', img], input='\n'.join(dcmds).encode() + b'\n',
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        for c in cmds:
            if c.startswith('@'):
                raw_patch(img, base, c, env)
        rc, out, err, secs = run_one(a.vaudit, img, a.prefix, 10)
        probs = judge(img, rc, out, err)
        record('%s: %s: %s' % (base.fs, name, '; '.join(cmds)), img, rc, out, err, secs, probs,
               'crafted' if not must_fail else 'unreadable-dir')
        if must_fail and rc != 3:   # a partial audit
            nrec = out.count(b'\n')
            probs.append('exit %d, %d findings, %s: the unreadable directory was skipped silently'
                         % (rc, nrec, 'stderr: ' + show(err[:200]) if err else 'nothing on stderr'))
            keep = os.path.join(failed_dir, 'silent-%s' % os.path.basename(img))
            subprocess.run(['cp', '--sparse=always', '--reflink=never', img, keep], check=False)
            probs.append('kept as %s' % keep)
        os.unlink(img)
        return probs

    crafted_fail = []
    idx = 0
    jobs = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for base in bases:
            it0 = base.itables[0][0] if base.itables else 0
            for name, cmds in CRAFTED:
                cmds = [c % {'itable0': it0} if '%(' in c else (c % (base.used_inodes + 50) if '%d' in c else c)
                        for c in cmds]
                idx += 1
                jobs.append((base.fs, name, ex.submit(debugfs_case, base, name, cmds, idx)))
        ujobs = []
        for base in bases:
            ext4flag = 0x80000
            for name, cmds in UNREADABLE_DIR:
                old_flags = subprocess.run(['debugfs', '-R', 'stat /vservers/g1/etc', base.path],
                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
                m = re.search(rb'Flags: (0x[0-9a-fA-F]+)', old_flags)
                fl = int(m.group(1), 16) if m else 0
                cmds = [c % {'extents_toggled': fl ^ ext4flag} if '%(' in c else c for c in cmds]
                idx += 1
                ujobs.append((base.fs, name, ex.submit(debugfs_case, base, name, cmds, idx, True)))
        for fs, name, fut in jobs:
            pr_ = fut.result()
            if pr_:
                crafted_fail.append((fs, name, pr_))
        unread_fail = []
        for fs, name, fut in ujobs:
            pr_ = fut.result()
            if pr_:
                unread_fail.append((fs, name, pr_))
    tap(not crafted_fail, 'crafted damage (%d cases: directory cycles, bad modes, bad block pointers, '
        'superblock and group descriptor fields, checksums intact): no crash, hang or bad output' % len(jobs))
    for fs, name, pr_ in crafted_fail[:20]:
        diag('  %s: %s: %s' % (fs, name, '; '.join(pr_)))
    tap(not unread_fail, 'unreadable directory (%d cases: garbage, zeroed or rec_len-0 block, hole, bad block '
        'pointer or extent header): exit 3 (a partial audit) with a "vaudit: " line naming the image, never '
        'skipped silently'
        % len(ujobs))
    for fs, name, pr_ in unread_fail[:30]:
        diag('  %s: %s: %s' % (fs, name, '; '.join(pr_)))
    if unread_fail:
        diag('  reproduce: copy the fixture, apply the damage (debugfs -w -R "sif ..." or the raw patch), '
             'then vaudit --image COPY --prefix /vservers --json; compare with the undamaged image')

    # ---- random damage until the time budget is spent
    def random_case(seed):
        rng = random.Random(seed)
        base = bases[seed % len(bases)]
        img = os.path.join(a.workdir, 'r%07d-%s' % (seed, base.fs))
        kind = rng.random()
        if kind < 0.2:
            cmds = debugfs_mutation(rng, base)
            what = ['debugfs: ' + '; '.join(cmds)]
            base.write_copy(img)
            env = dict(os.environ, DEBUGFS_PAGER='__none__', PAGER='__none__')
            subprocess.run(['debugfs', '-w', '-f', '-', img], input='\n'.join(cmds).encode() + b'\n',
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            k = 'random-debugfs'
        else:
            buf = bytearray(base.data)
            what = mutate_raw(rng, base, buf)
            length = None
            if rng.random() < 0.12:
                length = rng.choice((rng.randrange(base.size), rng.randrange(64 << 10),
                                     rng.randrange(base.size // 2, base.size)))
                what.append('truncated to %d' % length)
            base.write_copy(img, data=buf, length=length)
            k = 'random-raw' if length is None else 'random-truncated'
        rc, out, err, secs = run_one(a.vaudit, img, a.prefix, 10)
        probs = judge(img, rc, out, err)
        record('seed %d %s: %s' % (seed, base.fs, ', '.join(what)), img, rc, out, err, secs, probs, k)
        os.unlink(img)

    seed = a.seed * 1000003
    deadline = t_start + a.budget
    hard = t_start + a.hard_limit
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        pending = set()
        while True:
            now = time.monotonic()
            if now >= hard or (now >= deadline and stats['n'] >= a.min):
                break
            while len(pending) < 2 * a.jobs:
                pending.add(ex.submit(random_case, seed))
                seed += 1
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for f in done:
                f.result()
        for f in pending:
            f.result()

    elapsed = time.monotonic() - t_start
    diag('%d images tested in %.1f s (%s); exit statuses %s; slowest run %.2f s'
         % (stats['n'], elapsed, ', '.join('%s %d' % kv for kv in sorted(stats['kinds'].items())),
            ', '.join('%s: %d' % kv for kv in sorted(stats['rc'].items())), stats['slowest']))
    tap(stats['n'] >= a.min, 'at least %d images tested (%d)' % (a.min, stats['n']))
    tap(stats['fail'] == 0, 'every run: exit 0, 1 or 2 (no timeout, no signal, no sanitizer report), '
        'stdout JSON Lines, exit 2 with a "vaudit: " line naming the image (%d failures)' % stats['fail'])
    for desc, keep, rc, pr_, err in failures:
        diag('  FAILED rc=%d: %s' % (rc, desc))
        diag('    ' + '; '.join(pr_))
        if err:
            diag('    stderr: ' + show(err))
        diag('    kept as %s (VAUDIT_KEEP_TMP=1 keeps it after the test)' % keep)


def shutil_which(name):
    import shutil
    return shutil.which(name, path=os.environ.get('PATH', '') + ':/sbin:/usr/sbin')


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('groundtruth')
    p.add_argument('--image', required=True)
    p.add_argument('--mount', help='where the image is mounted; image mode without it: names from debugfs')
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
    p = sub.add_parser('corrupt')
    p.add_argument('--vaudit', required=True)
    p.add_argument('--workdir', required=True)
    p.add_argument('--prefix', default='/vservers')
    p.add_argument('--seed', type=int, default=20040101)
    p.add_argument('--budget', type=float, default=45.0, help='stop starting new images after this many seconds')
    p.add_argument('--min', type=int, default=1000, help='... but not before this many were tested')
    p.add_argument('--hard-limit', type=float, default=150.0, help='stop regardless after this many seconds')
    p.add_argument('--jobs', type=int, default=max(1, os.cpu_count() or 1))
    p.add_argument('images', nargs='+')
    p.set_defaults(fn=cmd_corrupt)
    p = sub.add_parser('pipeline')
    p.add_argument('--root', required=True)
    p.add_argument('--json', required=True)
    p.add_argument('--literal', required=True)
    p.add_argument('--adapted', required=True)
    p.set_defaults(fn=cmd_pipeline)
    p = sub.add_parser('nullout')
    p.add_argument('--root', required=True)
    p.add_argument('--mount', help='image mode: where the image is mounted (--root is then the prefix)')
    p.add_argument('--image', help='image mode without a mount: names from debugfs on this image')
    p.add_argument('--json', required=True)
    p.add_argument('--null', required=True)
    p.set_defaults(fn=cmd_nullout)
    p = sub.add_parser('textout')
    p.add_argument('--root', required=True)
    p.add_argument('--mount', help='image mode: where the image is mounted (--root is then the prefix)')
    p.add_argument('--image', help='image mode without a mount: names from debugfs on this image')
    p.add_argument('--label', default='')
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
    p.add_argument('--prefix', help='image mode: the --prefix given to vaudit')
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
