#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""uvstore.py - a host as util-vserver leaves it, for unify-compat.sh.

The store is built here the way util-vserver's vhashify (0.30.216,
src/vhashify.c) builds it, from its recipe, never from vaudit's code:

  * an entry's name is the lower-case hex digest of a packed header
    (struct stat fields of x86_64 glibc: st_mode, st_uid, st_gid as 32 bits,
    st_rdev, st_size, st_mtime as 64 bits, little endian, no padding:
    '<IIIQqq'; mtime in whole seconds) followed by the whole content,
    split xx/yy/rest, then '-' and an 8-digit hex collision index;
  * the entry is a copy whose owner, mode and times are set afterwards,
    the times with utime(), in whole seconds;
  * the guest's name is then a hard link to the entry (immutable);
  * the digest is the one the hash configuration directory's "method"
    file names: sha256 here (NSS builds), never assumed to be sha1.

The hash configuration directory is util-vserver's:
/etc/vservers/.defaults/apps/vunify/hash/ with "method" and the link
"00 -> /vservers/.hash"; guests are /etc/vservers/NAME/ with "vdir ->
/vservers/NAME" (absolute links: the host is read with --host-root).

Sub-commands print tests/lib.sh py_checks lines where they check:
  build MNT SPEC          the host below MNT, what must happen in SPEC
  name FILE               print util-vserver's store name of FILE
  check-store MNT         every entry has its recipe name; no content twice
  check-groups MNT SPEC KEY   the groups of SPEC[KEY] are one inode each,
                          the pairs of SPEC[KEY + '-never'] are not
  entries MNT             print the store's entries (sorted), one a line
"""

import hashlib
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vatest import tap, diag  # noqa: E402

METHOD = 'sha256'
S0 = 1600000062                 # the mtime, whole seconds
NS = 987654321                  # the guests' nanoseconds


def blob(tag, size):
    out = b''
    n = 0
    while len(out) < size:
        out += hashlib.sha256(b'%s#%d' % (tag.encode(), n)).digest()
        n += 1
    return out[:size]


def uv_digest(mode, uid, gid, size, mtime_sec, content):
    h = hashlib.new(METHOD)
    h.update(struct.pack('<IIIQqq', mode, uid, gid, 0, size, mtime_sec))
    h.update(content)
    return h.hexdigest()


def uv_relname(digest, idx=0):
    return '%s/%s/%s-%08x' % (digest[:2], digest[2:4], digest[4:], idx)


def name_of(path):
    st = os.lstat(path)
    with open(path, 'rb') as f:
        data = f.read()
    return uv_relname(uv_digest(st.st_mode, st.st_uid, st.st_gid, st.st_size, int(st.st_mtime), data))


def put(path, data, mode=0o644, uid=0, gid=0, mtime_ns=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def symlink(target, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


def uv_hashify(mnt, rel, store_rel='vservers/.hash', link=True):
    """util-vserver's vhashify on one guest file: copy into the store under
    its recipe name, utime() in whole seconds, link the guest's name to the
    copy, immutable.  Returns the entry (relative to MNT)."""
    src = os.path.join(mnt, rel)
    st = os.lstat(src)
    with open(src, 'rb') as f:
        data = f.read()
    sec = int(st.st_mtime)
    entry = os.path.join(store_rel, uv_relname(uv_digest(st.st_mode, st.st_uid, st.st_gid,
                                                         st.st_size, sec, data)))
    dst = os.path.join(mnt, entry)
    os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
    put(dst, data, st.st_mode & 0o7777, st.st_uid, st.st_gid)
    os.utime(dst, (sec, sec))               # utime(): whole seconds
    if link:
        tmp = src + ';uvtmp'
        os.link(dst, tmp)
        os.rename(tmp, src)
    else:                                   # the guest was removed since
        os.unlink(src)
    subprocess.run(['chattr', '+i', dst], check=True)
    return entry


def guest_cfg(mnt, name, refs=()):
    cfg = os.path.join(mnt, 'etc/vservers', name)
    os.makedirs(os.path.join(cfg, 'apps/vunify'), exist_ok=True)
    symlink('/vservers/' + name, os.path.join(cfg, 'vdir'))
    for i, r in enumerate(refs):
        symlink('/etc/vservers/' + r, os.path.join(cfg, 'apps/vunify/refserver.%d' % i))
    os.makedirs(os.path.join(mnt, 'vservers', name), exist_ok=True)


def cmd_build(mnt, specfile):
    spec = {'hash': [], 'hash-never': [], 'new': [], 'vunify': [], 'vunify-never': []}
    os.makedirs(os.path.join(mnt, 'vservers/.hash'), mode=0o700)
    os.chmod(os.path.join(mnt, 'vservers/.hash'), 0o700)
    hd = os.path.join(mnt, 'etc/vservers/.defaults/apps/vunify/hash')
    os.makedirs(hd)
    with open(os.path.join(hd, 'method'), 'w') as f:
        f.write(METHOD + '\n')
    symlink('/vservers/.hash', os.path.join(hd, '00'))
    for g in ('g1', 'g2', 'g3'):
        guest_cfg(mnt, g)
    guest_cfg(mnt, 'g4')
    guest_cfg(mnt, 'g5', refs=('g4',))

    def ns(sec, nsec):
        return sec * 10**9 + nsec

    # packaged files: util-vserver hashified g1 (entry and g1 in whole
    # seconds); g2 and g3 hold copies that kept the nanoseconds
    kinds = [(0o644, 0, 0), (0o755, 0, 0), (0o640, 1000, 1000), (0o4755, 0, 2)]
    for i in range(12):
        mode, uid, gid = kinds[i % len(kinds)]
        rel = 'usr/lib/pkg%02d.so' % i
        data = blob('pkg%d' % i, 16 + 997 * i)
        sec = S0 + i
        put(os.path.join(mnt, 'vservers/g1', rel), data, mode, uid, gid, ns(sec, 0))
        entry = uv_hashify(mnt, 'vservers/g1/' + rel)
        names = ['vservers/g1/' + rel, entry]
        for g in ('g2', 'g3'):
            put(os.path.join(mnt, 'vservers', g, rel), data, mode, uid, gid, ns(sec, NS))
            names.append('vservers/%s/%s' % (g, rel))
        spec['hash'].append(names)
    # held by the store alone (util-vserver hashified a guest since removed):
    # g2's copy with nanoseconds joins it
    data = blob('orphan', 5000)
    put(os.path.join(mnt, 'vservers/g1/usr/share/orphan'), data, 0o644, 0, 0, ns(S0, 0))
    entry = uv_hashify(mnt, 'vservers/g1/usr/share/orphan', link=False)
    put(os.path.join(mnt, 'vservers/g2/usr/share/orphan'), data, 0o644, 0, 0, ns(S0, 500000000))
    spec['hash'].append([entry, 'vservers/g2/usr/share/orphan'])
    # not in the store, in g2 and g3 with the same nanoseconds: one new entry
    data = blob('fresh', 3000)
    for g in ('g2', 'g3'):
        put(os.path.join(mnt, 'vservers', g, 'usr/bin/fresh'), data, 0o755, 0, 0, ns(S0, 250000000))
    spec['hash'].append(['vservers/g2/usr/bin/fresh', 'vservers/g3/usr/bin/fresh'])
    spec['new'].append('vservers/g2/usr/bin/fresh')
    # one key group (size, mode, owner, mtime) of three contents: two of
    # them in g2 and g3, one alone; a new entry for each pair (the second
    # pair's digest is read on its own, after the tags)
    for tag in ('twinA', 'twinB'):
        data = blob(tag, 3300)
        for g in ('g2', 'g3'):
            put(os.path.join(mnt, 'vservers', g, 'usr/share', tag), data, 0o644, 0, 0, ns(S0 + 7, 5000))
        spec['hash'].append(['vservers/g2/usr/share/' + tag, 'vservers/g3/usr/share/' + tag])
        spec['new'].append('vservers/g2/usr/share/' + tag)
    put(os.path.join(mnt, 'vservers/g2/usr/share/twinC'), blob('twinC', 3300), 0o644, 0, 0, ns(S0 + 7, 5000))
    spec['hash-never'].append(['vservers/g2/usr/share/twinC', 'vservers/g2/usr/share/twinA'])
    spec['hash-never'].append(['vservers/g2/usr/share/twinC', 'vservers/g3/usr/share/twinB'])
    # one side without nanoseconds (unpacked from a tar archive): linked
    data = blob('tarred', 2000)
    put(os.path.join(mnt, 'vservers/g2/usr/bin/tarred'), data, 0o755, 0, 0, ns(S0, 0))
    put(os.path.join(mnt, 'vservers/g3/usr/bin/tarred'), data, 0o755, 0, 0, ns(S0, 777000000))
    spec['hash'].append(['vservers/g2/usr/bin/tarred', 'vservers/g3/usr/bin/tarred'])
    spec['new'].append('vservers/g2/usr/bin/tarred')
    # never: two guests' files of one second with other nanoseconds
    data = blob('nsdiff', 2500)
    put(os.path.join(mnt, 'vservers/g2/usr/bin/nsdiff'), data, 0o755, 0, 0, ns(S0, 111000000))
    put(os.path.join(mnt, 'vservers/g3/usr/bin/nsdiff'), data, 0o755, 0, 0, ns(S0, 222000000))
    spec['hash-never'].append(['vservers/g2/usr/bin/nsdiff', 'vservers/g3/usr/bin/nsdiff'])
    # never: a store entry and a file one second later
    data = blob('later', 2600)
    put(os.path.join(mnt, 'vservers/g1/usr/bin/later'), data, 0o755, 0, 0, ns(S0, 0))
    entry = uv_hashify(mnt, 'vservers/g1/usr/bin/later')
    put(os.path.join(mnt, 'vservers/g2/usr/bin/later'), data, 0o755, 0, 0, ns(S0 + 1, NS))
    spec['hash-never'].append([entry, 'vservers/g2/usr/bin/later'])
    # vunify --host-root: g5's files are g4's (reference), one differs
    for i in range(6):
        rel = 'usr/lib/ref%d.so' % i
        data = blob('ref%d' % i, 1000 + 100 * i)
        for g in ('g4', 'g5'):
            put(os.path.join(mnt, 'vservers', g, rel), data, 0o644, 0, 0, ns(S0 + 100, NS))
        spec['vunify'].append(['vservers/g4/' + rel, 'vservers/g5/' + rel])
    put(os.path.join(mnt, 'vservers/g4/usr/lib/other.so'), blob('o1', 900), 0o644, 0, 0, ns(S0, NS))
    put(os.path.join(mnt, 'vservers/g5/usr/lib/other.so'), blob('o2', 900), 0o644, 0, 0, ns(S0, NS))
    spec['vunify-never'].append(['vservers/g4/usr/lib/other.so', 'vservers/g5/usr/lib/other.so'])
    with open(specfile, 'w') as f:
        json.dump(spec, f, indent=1)


def store_entries(mnt):
    store = os.path.join(mnt, 'vservers/.hash')
    out = []
    for d, dirs, files in os.walk(store):
        for n in files:
            rel = os.path.relpath(os.path.join(d, n), store)
            if rel != 'method':
                out.append(rel)
    return sorted(out)


def cmd_check_store(mnt):
    store = os.path.join(mnt, 'vservers/.hash')
    seen = {}
    bad = []
    for rel in store_entries(mnt):
        want = name_of(os.path.join(store, rel))
        if rel.rsplit('-', 1)[0] != want.rsplit('-', 1)[0]:
            bad.append('%s: util-vserver would name it %s' % (rel, want))
        key = want.rsplit('-', 1)[0]
        if key in seen:
            bad.append('%s and %s hold the same content and metadata' % (seen[key], rel))
        seen[key] = rel
    report(not bad, 'every store entry has util-vserver\'s name (recipe %s over <IIIQqq + content) '
        'and no content is held twice (%d entries)' % (METHOD, len(seen)), bad[:5])


def cmd_check_groups(mnt, specfile, key):
    spec = json.load(open(specfile))
    bad = []
    for g in spec[key]:
        inos = {os.lstat(os.path.join(mnt, p)).st_ino for p in g}
        if len(inos) != 1:
            bad.append('not one inode: ' + ' '.join(g))
    report(not bad, '%s: each of the %d groups is one inode' % (key, len(spec[key])), bad[:5])
    bad = []
    for g in spec.get(key + '-never', []):
        inos = {os.lstat(os.path.join(mnt, p)).st_ino for p in g}
        if len(inos) != len(g):
            bad.append('linked: ' + ' '.join(g))
    report(not bad, '%s: the %d pairs that must stay apart are apart' %
        (key, len(spec.get(key + '-never', []))), bad[:5])


def report(ok, desc, bad):
    tap(ok, desc)
    for b in bad[:5]:
        diag(b)


def main():
    cmd = sys.argv[1]
    if cmd == 'build':
        cmd_build(sys.argv[2], sys.argv[3])
    elif cmd == 'name':
        print(name_of(sys.argv[2]))
    elif cmd == 'check-store':
        cmd_check_store(sys.argv[2])
    elif cmd == 'check-groups':
        cmd_check_groups(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == 'entries':
        for e in store_entries(sys.argv[2]):
            print(e)
    else:
        sys.exit('uvstore.py: unknown sub-command ' + cmd)


if __name__ == '__main__':
    main()
