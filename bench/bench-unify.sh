#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-unify.sh - time `vhashify` against jdupes, util-linux hardlink and
# rdfind on a synthetic multi-guest tree full of duplicates (bench/mkdups.c)
# or, with --debian, on a host built from real Debian 12 packages
# (bench/debhost.sh), in a loop-mounted ext4 image: dry runs warm and cold,
# real linking runs on fresh copies of the tree, and a correctness
# cross-check of what every tool linked against the ground truth (the
# generator's manifest, or for --debian an independent pass that hashes
# every file).
#
# Usage: bench/bench-unify.sh [--files N] [--dup-sets D] [--runs R]
#                             [--link-runs L] [--keep] [--out DIR]
#                             [--no-cold] [--no-link] [--vhashify PATH]
#                             [--guests G] [--seed S] [--max-mib M]
#                             [--tools LIST] [--debian [--deb-cache DIR]
#                             [--deb-guests N]]
# Must run as root.  See bench/README.md.

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
srcdir=$(cd "$(dirname "$0")" && pwd)

files=250000
dupsets=
runs=3
link_runs=3
keep=0
vhashify=${VHASHIFY:-}
guests=8
seed=1
max_mib=1536
outdir=
do_cold=1
do_link=1
only=vhashify,jdupes,hardlink,rdfind
debian=0
deb_cache=
deb_guests=8

usage() {
	cat <<EOF
Usage: $prog [OPTIONS]
  --files N        regular files in the tree, at least (default $files)
  --dup-sets D     shared package files, about the number of duplicate sets
                   (default: 12% of --files, 30000 at the default size)
  --runs R         timed dry runs per tool and cache state (default $runs)
  --link-runs L    timed linking runs per tool, each on a fresh copy (default $link_runs)
  --keep           keep the image mounted and the work directory afterwards
  --out DIR        also write results.md, times.tsv, the generator stats and
                   the cross-check data to DIR
  --no-cold        skip the cold-cache dry runs; linking runs start warm
  --no-link        skip the linking runs and the cross-check of their results
  --vhashify PATH  the vhashify binary (default: \$VHASHIFY, else
                   $srcdir/../vhashify, else vhashify in PATH); "none" times
                   the other tools only
  --guests G       number of guests, 2..64 (default $guests)
  --seed S         generator seed (default $seed)
  --max-mib M      cap on the generated data in MiB (default $max_mib)
  --tools LIST     the tools to run, comma-separated (default $only)
  --debian         a host built from real Debian 12 packages (bench/debhost.sh:
                   dpkg-deb -x, cp -a, extra packages and upgrades; not
                   unified) instead of mkdups' tree; --files, --dup-sets,
                   --guests, --seed and --max-mib do not apply
  --deb-cache DIR  with --debian: where the .deb files are kept
                   (default $srcdir/out/debs)
  --deb-guests N   with --debian: number of guests, 2..64 (default $deb_guests)
Environment: BENCH_DIR (where the work directory is made; default \$TMPDIR or /tmp),
             CC (compiler for the generator; default cc).
EOF
	exit "${1:-0}"
}

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$srcdir/lib.sh"

while (( $# )); do
	case $1 in
	--files|--dup-sets|--runs|--link-runs|--vhashify|--guests|--seed|--out|--max-mib|--tools|--deb-cache|--deb-guests)
		(( $# >= 2 )) || usage 2
		set -- "$1=$2" "${@:3}"
		continue
		;;
	--files=*) posint --files "${1#*=}"; files=${1#*=} ;;
	--dup-sets=*) [[ ${1#*=} =~ ^[0-9]+$ ]] || die "--dup-sets: not a number: ${1#*=}"; dupsets=${1#*=} ;;
	--runs=*) posint --runs "${1#*=}"; runs=${1#*=} ;;
	--link-runs=*) posint --link-runs "${1#*=}"; link_runs=${1#*=} ;;
	--vhashify=*) vhashify=${1#*=} ;;
	--guests=*) posint --guests "${1#*=}"; guests=${1#*=} ;;
	--seed=*) [[ ${1#*=} =~ ^[0-9]+$ ]] || die "--seed: not a number: ${1#*=}"; seed=${1#*=} ;;
	--out=*) outdir=${1#*=} ;;
	--max-mib=*) posint --max-mib "${1#*=}"; max_mib=${1#*=} ;;
	--tools=*)
		only=${1#*=}
		[[ $only =~ ^(vhashify|jdupes|hardlink|rdfind)(,(vhashify|jdupes|hardlink|rdfind))*$ ]] ||
			die "--tools: a comma-separated list of vhashify, jdupes, hardlink, rdfind: $only"
		;;
	--debian) debian=1 ;;
	--deb-cache=*) deb_cache=${1#*=} ;;
	--deb-guests=*) posint --deb-guests "${1#*=}"; deb_guests=${1#*=} ;;
	--keep) keep=1 ;;
	--no-cold) do_cold=0 ;;
	--no-link) do_link=0 ;;
	-h|--help) usage 0 ;;
	*) say "unknown argument: $1"; usage 2 ;;
	esac
	shift
done
(( guests >= 2 && guests <= 64 )) || die "--guests: 2..64"
(( files >= 100 )) || die "--files: at least 100"
(( deb_guests >= 2 && deb_guests <= 64 )) || die "--deb-guests: 2..64"
if (( debian )); then
	guests=$deb_guests
	# the guests are built as they are, not unified (vhashify is to do that)
	deb_unify=0
	# shellcheck source-path=SCRIPTDIR source=debhost.sh
	. "$srcdir/debhost.sh"
fi

(( EUID == 0 )) || die "must run as root (loop mount, file owners, chattr, drop_caches)"

for t in mke2fs losetup mount umount mountpoint findmnt chattr find cp python3; do
	command -v "$t" >/dev/null || die "$t not found"
done
if (( debian )); then
	for t in dpkg-deb apt-get apt-cache e2fsck resize2fs; do
		command -v "$t" >/dev/null || die "$t not found (--debian)"
	done
else
	cc=${CC:-cc}
	command -v "${cc%% *}" >/dev/null || die "no C compiler ($cc) for bench/mkdups.c (Debian: gcc)"
	[[ -r $srcdir/mkdups.c ]] || die "$srcdir/mkdups.c not found"
fi

# ------------------------------------------------------------ the tools
wanted() { [[ ,$only, == *,$1,* ]]; }
wanted vhashify || vhashify=none
if [[ -z $vhashify ]]; then
	if [[ -x $srcdir/../vhashify ]]; then
		vhashify=$srcdir/../vhashify
	elif command -v vhashify >/dev/null; then
		vhashify=$(command -v vhashify)
	else
		die "vhashify not found: build it (make), pass --vhashify PATH, or --vhashify none"
	fi
fi
if [[ $vhashify == none ]]; then
	vhashify=
	wanted vhashify && say "--vhashify none: timing the other tools only"
else
	[[ $vhashify == */* ]] || vhashify=$(command -v "$vhashify") || die "vhashify not found"
	[[ -x $vhashify && -f $vhashify ]] || die "not an executable: $vhashify"
	vhashify=$(cd "$(dirname "$vhashify")" && pwd)/$(basename "$vhashify")
fi

tools=()
[[ -n $vhashify ]] && tools+=(vhashify)
missing=()
for t in jdupes hardlink rdfind; do
	wanted "$t" || continue
	if command -v "$t" >/dev/null; then
		tools+=("$t")
	else
		missing+=("$t")
	fi
done
(( ${#missing[@]} )) && say "not installed, skipped: ${missing[*]} (Debian: apt-get install jdupes rdfind util-linux)"
(( ${#tools[@]} )) || die "no tool to time"

# ------------------------------------------------------------ work dir, image, tree
make_work
bench_traps
copy=$mnt/copy          # a fresh copy for each linking run
scratch=$work/scratch   # the cwd of the tools (rdfind writes results.txt there)
mkdir "$scratch"
gen_out=$work/mkdups.out
gstat() { sed -n "s/^$1=//p" "$gen_out"; }
gnames=()               # the guests' directory names below ROOT

# The ground truth of a tree that no generator planned (--debian): walk the
# guests, hash every regular file that has a name of the same size elsewhere,
# group by content (sha256), size, mode, uid, gid and mtime in ns.  Every name
# is a member of its set (the names of one inode too), as in mkdups' manifest.
# Prints key=value statistics with the keys mkdups prints.
write_truth_py() {
	cat >"$work/truth.py" <<'PYEOF'
# bench-unify.sh --debian: the ground truth (written by the script, run by it).
import collections, hashlib, os, stat, sys

root, manifest, guests = sys.argv[1], sys.argv[2], sys.argv[3:]
names = []                      # (rel, size, mode, uid, gid, mtime_ns, (dev, ino))
dirs = 0
blocks = {}                     # (dev, ino) -> allocated bytes
for g in guests:
    top = os.path.join(root, g)
    dirs += 1
    for dp, dns, fns in os.walk(top):
        # symbolic links to directories are listed in dns, not followed
        dirs += sum(1 for d in dns if not os.path.islink(os.path.join(dp, d)))
        for f in fns:
            p = os.path.join(dp, f)
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode):
                continue
            ino = (st.st_dev, st.st_ino)
            blocks[ino] = st.st_blocks * 512
            names.append((os.path.relpath(p, root), st.st_size, stat.S_IMODE(st.st_mode),
                          st.st_uid, st.st_gid, st.st_mtime_ns, ino))

by_size = collections.Counter(n[1] for n in names)
digest = {}                     # (dev, ino) -> sha256, each inode read once
hashed_bytes = 0
def sha(rel, ino, size):
    global hashed_bytes
    if ino not in digest:
        hashed_bytes += size
        h = hashlib.sha256()
        with open(os.path.join(root, rel), 'rb') as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
        digest[ino] = h.digest()
    return digest[ino]

strict = collections.defaultdict(list)     # content + size + metadata -> names
content = collections.defaultdict(list)    # content + size -> names
for n in names:
    if by_size[n[1]] < 2:
        continue
    h = sha(n[0], n[6], n[1])
    strict[(h, n[1], n[2], n[3], n[4], n[5])].append(n)
    content[(h, n[1])].append(n)

s = collections.Counter()
with open(manifest, 'w', encoding='utf-8', errors='surrogateescape') as mf:
    for k in sorted(strict, key=lambda k: min(n[0] for n in strict[k])):
        members = strict[k]
        if len(members) < 2:
            continue
        inodes = len({n[6] for n in members})
        size = k[1]
        s['dup_sets'] += 1
        s['dup_names'] += len(members)
        if size >= 16:
            s['dup_sets_16'] += 1
            s['dup_names_16'] += len(members)
            s['dup_saveable_bytes_16'] += size * (inodes - 1)
            s['dup_inodes_16'] += inodes
            if inodes == 1:
                s['dup_sets_16_one_inode'] += 1
        else:
            s['dup_sets_small'] += 1
            s['dup_names_small'] += len(members)
        mf.write('\t'.join(sorted(n[0] for n in members)) + '\n')
for (h, size), members in content.items():
    if len(members) >= 2 and size >= 16:
        s['content_sets_16'] += 1
        s['content_names_16'] += len(members)
        s['content_saveable_bytes_16'] += size * (len({n[6] for n in members}) - 1)

links = collections.Counter(n[6] for n in names)
out = [('files', len(names)), ('dirs', dirs), ('bytes', sum(n[1] for n in names)),
       ('file_inodes', len(links)), ('alloc_bytes', sum(blocks.values())),
       ('largest', max((n[1] for n in names), default=0)),
       ('hardlinked_names', sum(c for c in links.values() if c > 1)),
       ('hardlinked_inodes', sum(1 for c in links.values() if c > 1)),
       ('hashed_inodes', len(digest)), ('hashed_bytes', hashed_bytes)]
for k in ('dup_sets', 'dup_names', 'dup_sets_16', 'dup_names_16', 'dup_inodes_16',
          'dup_sets_16_one_inode', 'dup_saveable_bytes_16', 'dup_sets_small', 'dup_names_small',
          'content_sets_16', 'content_names_16', 'content_saveable_bytes_16'):
    out.append((k, s[k]))
out += [('small_files', sum(1 for n in names if n[1] < 16)),
        ('empty_files', sum(1 for n in names if n[1] == 0))]
for k, v in out:
    print('%s=%d' % (k, v))
PYEOF
}

# grow_image: the image debhost.sh made, grown to hold ROOT, one copy and a
# linking run's store, with inodes for two trees: as mkdups' plan sizes the
# synthetic one, from what the host uses.  Offline (umount, e2fsck -f,
# resize2fs, mount): an online resize needs CAP_SYS_RESOURCE, which a
# container's root may lack.
grow_image() {
	local used iused itotal cur new ineed
	sync
	used=$(df -B1 --output=used "$mnt" | tail -n 1 | tr -d ' ')
	read -r iused itotal < <(df --output=iused,itotal "$mnt" | tail -n 1)
	cur=$(stat -c %s "$img")
	new=$(( 3 * used + (1 << 30) ))
	ineed=$(( 3 * iused + 20000 ))
	if (( ! do_link )); then
		new=$(( used + (1 << 30) ))
		ineed=$(( iused + 20000 ))
	fi
	# ext4 has a fixed number of inodes per block group: more inodes, more groups
	(( ineed <= itotal )) || (( cur * ineed / itotal + 1 <= new )) || new=$(( cur * ineed / itotal + 1 ))
	if (( new <= cur )); then
		say "the image ($(( cur >> 20 )) MiB, $itotal inodes) holds the host ($(( used >> 20 )) MiB, $iused inodes used) and a copy"
		return 0
	fi
	new=$(( (new + (128 << 20) - 1) >> 27 << 27 ))
	say "growing the image from $(( cur >> 20 )) to $(( new >> 20 )) MiB (the host uses $(( used >> 20 )) MiB and $iused inodes)"
	umount "$mnt" || die "umount $mnt failed"
	mounted=0
	truncate -s "$new" "$img"
	losetup -c "$loop" || die "losetup -c $loop failed"
	local rc=0
	e2fsck -f -p "$loop" >"$work/resize2fs.log" 2>&1 || rc=$?
	(( rc <= 1 )) || die "e2fsck -f $loop: exit status $rc: $(tail -n 2 "$work/resize2fs.log")"
	resize2fs "$loop" >>"$work/resize2fs.log" 2>&1 || die "resize2fs $loop failed: $(tail -n 2 "$work/resize2fs.log")"
	mount -t ext4 -o noinit_itable "$loop" "$mnt" || die "mount $loop failed"
	mounted=1
	say "the image: $(( $(stat -c %s "$img") >> 20 )) MiB, $(df --output=itotal "$mnt" | tail -n 1 | tr -d ' ') inodes"
}

if (( debian )); then
	# debhost.sh: the image ($img on $mnt, grown below), the guests in
	# $root (ROOT/web01, ROOT/mail01, ...), its statistics in mktree.out
	gen_out=$work/truth.out
	debian_host "$guests"
	root=$(realpath "$root")
	copy=$(realpath -m "$copy")
	mapfile -t gnames < <(find "$root" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
	(( ${#gnames[@]} == guests )) || die "debhost.sh made ${#gnames[@]} guest directories, not $guests"
	write_truth_py
	say "the ground truth: hashing the guests' files"
	now_us t0
	python3 "$work/truth.py" "$root" "$work/manifest" "${gnames[@]}" >"$gen_out" ||
		die "the ground-truth pass failed"
	# debhost.sh's own counts, under other keys
	sed 's/^/host_/' "$work/mktree.out" >>"$gen_out"
	now_us t1
	truth_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	say "ground truth in ${truth_secs}s: $(grep -E '^(files|bytes|dup_sets|dup_names|hardlinked_names)=' "$gen_out" | tr '\n' ' ')"
	grow_image
else
	root=$mnt/dups          # the trees ROOT/g1 ... ROOT/gG and the store ROOT/.hash
	say "compiling the generator"
	$cc -O2 -o "$work/mkdups" "$srcdir/mkdups.c" || die "cannot compile $srcdir/mkdups.c"
	gen_args=(-n "$files" -g "$guests" -s "$seed" -b "$max_mib")
	[[ -n $dupsets ]] && gen_args+=(-d "$dupsets")
	"$work/mkdups" -P "${gen_args[@]}" >"$gen_out" || die "the generator failed (plan)"

	# The image holds ROOT, one copy, and the store of a linking run (at most the
	# data once more); inodes for two trees plus store entries.
	alloc=$(gstat alloc_bytes)
	nfiles=$(gstat files)
	ndirs=$(gstat dirs)
	size=$(( 3 * alloc + 2 * ndirs * 4096 + (1 << 30) ))
	(( do_link )) || size=$(( alloc + ndirs * 4096 + (1 << 30) ))
	size=$(( (size + (1 << 20) - 1) >> 20 << 20 ))
	inodes=$(( 3 * (nfiles + ndirs) + 20000 ))
	say "making a sparse $(( size >> 20 )) MiB ext4 image with $inodes inodes in $work"
	truncate -s "$size" "$img"
	mke2fs -q -F -t ext4 -m 0 -I 256 -N "$inodes" -L vaudit-bench "$img" || die "mke2fs failed"
	loop=$(losetup --find --show --direct-io=on "$img" 2>/dev/null) ||
		loop=$(losetup --find --show "$img") || die "losetup failed"
	mount -t ext4 -o noinit_itable "$loop" "$mnt" || die "mount $loop failed"
	# shellcheck disable=SC2034  # lib.sh state, read by its cleanup
	mounted=1
	mkdir "$root"
	root=$(realpath "$root")
	copy=$(realpath -m "$copy")

	say "generating $nfiles files ($(( $(gstat bytes) >> 20 )) MiB) in $guests guests"
	now_us t0
	"$work/mkdups" "${gen_args[@]}" -m "$work/manifest" "$root" >"$gen_out" || die "the generator failed"
	sync
	now_us t1
	gen_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	say "generated in ${gen_secs}s: $(tr '\n' ' ' <"$gen_out")"
	for (( g = 1; g <= guests; g++ )); do gnames+=("g$g"); done
fi
# An empty store directory (0700, as vhashify makes them), outside every tree.
mkdir -m 0700 "$root/.hash"

gdirs=()        # ROOT/GUEST ...
cdirs=()        # COPY/GUEST ...
vpairs=()       # ROOT/GUEST "" ...: vhashify --manually arguments
cpairs=()
for g in "${gnames[@]}"; do
	gdirs+=("$root/$g")
	cdirs+=("$copy/$g")
	vpairs+=("$root/$g" "")
	cpairs+=("$copy/$g" "")
done

# ------------------------------------------------------------ the cross-check program
cat >"$work/xcheck.py" <<'PYEOF'
# bench-unify.sh's correctness cross-check (written by the script, run by it).
import collections, hashlib, itertools, json, os, stat, sys

def walk(top, guests):
    """(relative path, lstat) of every regular file below TOP/g1 ... TOP/gG."""
    for g in guests:
        for dp, dns, fns in os.walk(os.path.join(top, g)):
            for f in fns:
                p = os.path.join(dp, f)
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode):
                    yield os.path.relpath(p, top), st

def snap(top, guests, out):
    with open(out, 'w', encoding='utf-8', errors='surrogateescape') as f:
        for rel, st in walk(top, guests):
            f.write('%s\t%d\t%o\t%d\t%d\t%d\t%d\n' % (rel, st.st_size, stat.S_IMODE(st.st_mode),
                    st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ino))

def load_snap(path):
    d = {}
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            rel, size, mode, uid, gid, mt, ino = line.rstrip('\n').split('\t')
            d[rel] = (int(size), int(mode, 8), int(uid), int(gid), int(mt), int(ino))
    return d

def load_manifest(path):
    cls = {}
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for i, line in enumerate(f):
            for rel in line.rstrip('\n').split('\t'):
                cls[rel] = i
    return cls

def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.digest()

def linked(tool, root, copy, work, guests):
    """After a linking run: snapshot COPY, check that every name kept its
    content and metadata, and that no name was lost or added."""
    snap(copy, guests, os.path.join(work, 'links.%s.tsv' % tool))
    orig = load_snap(os.path.join(work, 'meta.tsv'))
    new = load_snap(os.path.join(work, 'links.%s.tsv' % tool))
    cls = load_manifest(os.path.join(work, 'manifest'))
    groups = collections.defaultdict(list)
    for rel, v in new.items():
        groups[v[5]].append(rel)
    res = {'tool': tool, 'names': len(new), 'missing': len(set(orig) - set(new)),
           'extra': len(set(new) - set(orig)), 'examples_missing': sorted(set(orig) - set(new))[:3],
           'examples_extra': sorted(set(new) - set(orig))[:3],
           'linked_names': 0, 'linked_inodes': 0, 'saved_bytes': 0,
           'meta_changed': 0, 'content_changed': 0, 'examples_meta': [], 'examples_content': []}
    ref = {}
    for ino, names in groups.items():
        if len(names) < 2:
            continue
        res['linked_names'] += len(names)
        res['linked_inodes'] += 1
        v = new[names[0]]
        res['saved_bytes'] += v[0] * (len(names) - 1)
        h = sha(os.path.join(copy, names[0]))
        for rel in names:
            o = orig.get(rel)
            if o is None:
                continue
            if o[:5] != v[:5]:
                res['meta_changed'] += 1
                if len(res['examples_meta']) < 3:
                    res['examples_meta'].append(rel)
            k = cls.get(rel, rel)
            if k not in ref:
                ref[k] = sha(os.path.join(root, rel))
            if ref[k] != h:
                res['content_changed'] += 1
                if len(res['examples_content']) < 3:
                    res['examples_content'].append(rel)
    with open(os.path.join(work, 'integrity.%s.json' % tool), 'w') as f:
        json.dump(res, f)

# ---------------------------------------------------------------- pairs
MODE, OWNER, MTIME, MTNS, CLASS, OTHER = 1, 2, 4, 8, 16, 32
META = MODE | OWNER | MTIME | MTNS

def attrs(rel, meta, cls, other):
    m = meta[rel]
    return (m[1], (m[2], m[3]), m[4] // 10**9, m[4] % 10**9, cls.get(rel, ('u', rel)),
            other.get(rel, ('u', rel)) if other is not None else None)

def eqmask(a, b):
    q = 0
    for i in range(6):
        if a[i] == b[i]:
            q |= 1 << i
    return q

def profile(members):
    """{Q: number of pairs whose equal attributes are exactly Q}."""
    n = len(members)
    h = collections.Counter()
    if n <= 24:
        for a, b in itertools.combinations(members, 2):
            h[eqmask(a, b)] += 1
        return h
    # Moebius inversion over the 64 attribute subsets: E(S) = pairs equal on S
    E = {}
    for S in range(64):
        idx = [i for i in range(6) if S >> i & 1]
        c = collections.Counter(tuple(m[i] for i in idx) for m in members)
        E[S] = sum(x * (x - 1) // 2 for x in c.values())
    for Q in range(64):
        s = 0
        for S in range(64):
            if S & Q == Q:
                s += (-1) ** (bin(S).count('1') - bin(Q).count('1')) * E[S]
        if s:
            h[Q] = s
    return h

def label(q, small):
    if q & META != META:
        parts = []
        if not q & MODE:
            parts.append('mode')
        if not q & OWNER:
            parts.append('owner')
        if not q & MTIME:
            parts.append('mtime')
        elif not q & MTNS:
            parts.append('mtime (ns only)')
        return 'differ: ' + '+'.join(parts)
    if not q & CLASS:
        return 'DIFFERENT CONTENT'
    return 'identical, < 16 bytes' if small else 'identical'

def groups_of(assign):
    g = collections.defaultdict(list)
    for rel, k in assign.items():
        g[k].append(rel)
    return [v for v in g.values() if len(v) > 1]

def classify(groups, meta, cls, other):
    """Pairs linked within GROUPS, by label; and those not linked in OTHER."""
    all_, notother, ex = collections.Counter(), collections.Counter(), collections.defaultdict(list)
    for names in groups:
        names = [r for r in names if r in meta]
        small = meta[names[0]][0] < 16 if names else False
        mem = [attrs(r, meta, cls, other) for r in names]
        for q, c in profile(mem).items():
            lab = label(q, small)
            all_[lab] += c
            if other is not None and not q & OTHER:
                notother[lab] += c
        # a few examples of pairs the other tool did not link although identical
        if other is not None and len(ex['identical']) < 5 and not small:
            seen = {}
            for r, m in zip(names, mem):
                k = (m[0], m[1], m[2], m[3], m[4])
                if k in seen and seen[k][1] != m[5]:
                    ex['identical'].append((seen[k][0], r))
                    break
                seen.setdefault(k, (r, m[5]))
    return all_, notother, ex

def vh_rule(cls, meta, root):
    """The sets as vhashify's documented rule makes them (vhashify(8), The
    hash store): files of one content, size, mode, owner and mtime second
    are one set when one of them has no nanoseconds (util-vserver keeps
    whole seconds).  The ground truth's sets, joined where that applies."""
    key = lambda m: (m[0], m[1], m[2], m[3], m[4] // 10**9)
    bykey = collections.defaultdict(list)
    for r, m in meta.items():
        bykey[key(m)].append(r)
    out = dict(cls)
    for k, names in bykey.items():
        if len(names) < 2 or all(meta[r][4] % 10**9 for r in names):
            continue
        byc, hashed = collections.defaultdict(list), {}
        for r in names:
            ino = meta[r][5]
            if ino not in hashed:
                hashed[ino] = sha(os.path.join(root, r))
            byc[hashed[ino]].append(r)
        for c, rs in byc.items():
            if len(rs) > 1 and any(meta[r][4] % 10**9 == 0 for r in rs):
                for r in rs:
                    out[r] = ('vh', k, c)
    return out

def joined(vcls, cls, r):
    """Whether name R is in a set of vhashify's rule that joins sets of the ground truth."""
    return isinstance(vcls.get(r), tuple) and vcls[r] != cls.get(r)

def vh_meta_changed(work, meta, cls, vcls):
    """Names whose metadata vhashify's linking run changed, but for the
    nanoseconds of the mtime of a name in a joined set (its rule)."""
    new = load_snap(os.path.join(work, 'links.vhashify.tsv'))
    n = 0
    for r, o in meta.items():
        v = new.get(r)
        if v is None or o[:4] == v[:4] and o[4] == v[4]:
            continue
        if o[:4] == v[:4] and o[4] // 10**9 == v[4] // 10**9 and joined(vcls, cls, r):
            continue
        n += 1
    return n

def subset_violations(groups, cls):
    bad, ex = 0, []
    for names in groups:
        ks = {cls.get(r, ('u', r)) for r in names}
        if len(ks) > 1:
            bad += 1
            if len(ex) < 3:
                ex.append(names[:4])
    return bad, ex

def truth_missed(cls_members, meta, assign):
    """Pairs of each ground-truth class (16 bytes or more) not on one inode."""
    pairs = 0
    ex = []
    for members in cls_members:
        if meta[members[0]][0] < 16:
            continue
        c = collections.Counter(assign.get(r, ('u', r)) for r in members)
        n = len(members)
        p = n * (n - 1) // 2 - sum(x * (x - 1) // 2 for x in c.values())
        if p and len(ex) < 3:
            ex.append(members[:3])
        pairs += p
    return pairs, ex

def dry_vhashify(path, root):
    """Union-find of the link/store events of a vhashify --json dry run."""
    parent = {}
    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    summary = None
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            e = ev.get('event')
            if e in ('link', 'store') and ev.get('master'):
                a, b = find(ev['path']), find(ev['master'])
                if a != b:
                    parent[a] = b
            elif e == 'summary':
                summary = ev
    pre = root.rstrip('/') + '/'
    assign = {}
    for x in list(parent):
        if x.startswith(pre) and not x.startswith(pre + '.hash/'):
            assign[x[len(pre):]] = find(x)
    return assign, summary

def dry_jdupes(path, root):
    pre = root.rstrip('/') + '/'
    assign, k = {}, 0
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            line = line.rstrip('\n')
            if not line:
                k += 1
                continue
            if line.startswith(pre):
                assign[line[len(pre):]] = k
    return assign

def same_partition(a, b):
    ga = {frozenset(x) for x in groups_of(a)}
    gb = {frozenset(x) for x in groups_of(b)}
    return ga == gb, len(ga - gb), len(gb - ga)

def fmt(c, keys=None):
    if not c:
        return '0'
    ks = keys or sorted(c, key=lambda k: (-c[k], k))
    return ', '.join('%s %d' % (k, c[k]) for k in ks if c.get(k))

def report(work, root, tools, have_link):
    meta = {r: v for r, v in load_snap(os.path.join(work, 'meta.tsv')).items()}
    cls = load_manifest(os.path.join(work, 'manifest'))
    members = collections.defaultdict(list)
    for r, k in cls.items():
        members[k].append(r)
    members = list(members.values())
    out = []
    p = out.append
    status = 'PASS'
    assigns = {}
    if have_link:
        for t in tools:
            f = os.path.join(work, 'links.%s.tsv' % t)
            if os.path.exists(f):
                assigns[t] = {r: v[5] for r, v in load_snap(f).items()}
    vh = assigns.get('vhashify')
    # vhashify is held to its own rule: the same sets, joined where one
    # file of a content and second has no nanoseconds
    vcls = vh_rule(cls, meta, root) if 'vhashify' in tools else cls
    vmembers = collections.defaultdict(list)
    for r, k in vcls.items():
        vmembers[k].append(r)
    vmembers = [m for m in vmembers.values() if len(m) > 1]
    p('### Correctness cross-check')
    p('')
    p('Ground truth (%s): %d sets of identical files (content, mode, owner, '
      'mtime with ns) with %d names; %d of them (%d names) are 16 bytes or more.' % (
          os.environ.get('BENCH_TRUTH', "the generator's manifest"), len(members), sum(len(m) for m in members),
          sum(1 for m in members if meta[m[0]][0] >= 16),
          sum(len(m) for m in members if meta[m[0]][0] >= 16)))
    p('Pairs are pairs of names; a pair is "linked" when both names end up on one inode.')
    p('')
    if have_link:
        p('#### After the linking runs (first run of each tool)')
        p('')
        p('| tool | names linked | inodes | names lost / added | names whose metadata changed | names whose content changed | identical pairs (>= 16 B) left unlinked |')
        p('| --- | ---: | ---: | --- | ---: | ---: | ---: |')
        for t in tools:
            f = os.path.join(work, 'integrity.%s.json' % t)
            if not os.path.exists(f) or t not in assigns:
                continue
            r = json.load(open(f))
            miss, _ = truth_missed(members, meta, assigns[t])
            p('| %s | %d | %d | %d / %d | %d | %d | %d |' % (t, r['linked_names'], r['linked_inodes'],
              r['missing'], r['extra'], r['meta_changed'], r['content_changed'], miss))
            if t == 'vhashify' and (r['missing'] or r['extra'] or r['content_changed'] or
                                    vh_meta_changed(work, meta, cls, vcls)):
                status = 'FAIL'
            if r['content_changed'] or r['missing'] or r['extra']:
                p('|  | examples: %s |' % '; '.join(r['examples_content'] + r['examples_missing'] + r['examples_extra']))
        p('')
    if 'vhashify' in tools:
        p('vhashify is held to its own rule: a file of the same content, size, mode, owner and mtime '
          'second as a file without nanoseconds is one set with it (util-vserver keeps whole seconds; '
          'vhashify(8), The hash store): %d sets of it join %d names that are not one set of the '
          'ground truth; its linking run changed the metadata of %s other names (0 expected).' %
          (sum(1 for m in vmembers if len({cls.get(r, ('u', r)) for r in m}) > 1),
           sum(len(m) for m in vmembers if len({cls.get(r, ('u', r)) for r in m}) > 1),
           vh_meta_changed(work, meta, cls, vcls) if vh is not None else '-'))
        p('')
    if vh is not None:
        g = groups_of(vh)
        bad, ex = subset_violations(g, vcls)
        allv, _, _ = classify(g, meta, cls, None)
        miss, mex = truth_missed(vmembers, meta, vh)
        wrong = sum(c for k, c in allv.items() if k not in ('identical', 'differ: mtime (ns only)'))
        p('**vhashify** (linking run): %d linked groups; %d of them are not within one set of its rule '
          '(0 expected)%s.' % (len(g), bad, (': ' + ' | '.join(' '.join(x) for x in ex)) if ex else ''))
        p('Pairs it linked, by kind: %s (only "identical", and "mtime (ns only)" within a set of its '
          'rule, expected).' % fmt(allv))
        p('Identical pairs of 16 bytes or more it left unlinked: %d%s.' % (
            miss, (' (e.g. ' + ' | '.join(' '.join(x) for x in mex) + ')') if mex else ''))
        if bad or wrong:
            status = 'FAIL'
        p('')
    dry = os.path.join(work, 'dry.vhashify.out')
    if 'vhashify' in tools and os.path.exists(dry):
        da, summ = dry_vhashify(dry, root)
        g = groups_of(da)
        bad, ex = subset_violations(g, vcls)
        miss, _ = truth_missed(vmembers, meta, da)
        line = '**vhashify -n --json** (dry run): %d would-be groups, %d names; %d not within one set of its rule; %d identical pairs (>= 16 B) not covered' % (
            len(g), sum(len(x) for x in g), bad, miss)
        if vh is not None:
            eq, a, b = same_partition(da, vh)
            line += '; same groups as the linking run: %s' % ('yes' if eq else 'NO (%d / %d groups differ)' % (a, b))
        p(line + '.')
        if summ:
            p('Its summary: ' + ', '.join('%s %s' % (k, summ.get(k)) for k in
              ('examined', 'candidates', 'read_files', 'read_bytes', 'linked', 'saved_bytes', 'stored', 'failed')) +
              '; skipped: ' + ', '.join('%s %s' % (k, v) for k, v in (summ.get('skipped') or {}).items() if v) + '.')
        if bad:
            status = 'FAIL'
        p('')
    jd = os.path.join(work, 'jdupes.sets')
    if os.path.exists(jd):
        ja = dry_jdupes(jd, root)
        g = groups_of(ja)
        allj, nv, ex = classify(g, meta, cls, vh)
        line = '**jdupes -r** (the sets, dry): %d sets, %d names; pairs by kind: %s' % (
            len(g), sum(len(x) for x in g), fmt(allj))
        if 'jdupes' in assigns:
            eq, a, b = same_partition(ja, assigns['jdupes'])
            line += '; same sets as `jdupes -L`: %s' % ('yes' if eq else 'no (%d / %d differ)' % (a, b))
        p(line + '.')
        p('')
    others = [t for t in tools if t != 'vhashify' and t in assigns]
    if others:
        p('#### Links the other tools made (linking runs)')
        p('')
        p('"differ: ..." pairs join files that differ in mode, owner or mtime: vhashify must not link them '
          '(its rule), so these are expected differences. "identical, < 16 bytes": vhashify leaves files '
          'under 16 bytes alone by design. "identical" pairs that vhashify did not link are misses.')
        p('')
        p('| tool | pairs linked, by kind | of these, not linked by vhashify |')
        p('| --- | --- | --- |')
        exs = []
        for t in others:
            g = groups_of(assigns[t])
            allt, nv, ex = classify(g, meta, cls, vh)
            p('| %s | %s | %s |' % (t, fmt(allt), fmt(nv) if vh is not None else '-'))
            if vh is not None and nv.get('identical'):
                exs.append('%s: %d identical pairs vhashify did not link, e.g. %s' % (
                    t, nv['identical'], ' | '.join(' = '.join(x) for x in ex['identical'][:5])))
                status = 'FAIL'
            if allt.get('DIFFERENT CONTENT'):
                exs.append('%s linked %d pairs of different content (!)' % (t, allt['DIFFERENT CONTENT']))
        p('')
        for e in exs:
            p('- ' + e)
        if exs:
            p('')
    print('\n'.join(out))
    print('XCHECK_STATUS=' + status, file=sys.stderr)

if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'snap':
        snap(sys.argv[2], sys.argv[4:], sys.argv[3])
    elif cmd == 'linked':
        linked(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    elif cmd == 'report':
        report(sys.argv[2], sys.argv[3], sys.argv[5:], sys.argv[4] == '1')
PYEOF

say "listing the metadata of ROOT"
python3 "$work/xcheck.py" snap "$root" "$work/meta.tsv" "${gnames[@]}"

# ------------------------------------------------------------ commands
# set_cmd TOOL dry|link: the command line in the array cmd.
set_cmd() {
	case $1.$2 in
	vhashify.dry) cmd=("$vhashify" --manually --destination "$root/.hash" -n --flags=none --json "${vpairs[@]}") ;;
	jdupes.dry) cmd=(jdupes -r -m "${gdirs[@]}") ;;
	hardlink.dry) cmd=(hardlink -n "${gdirs[@]}") ;;
	rdfind.dry) cmd=(rdfind -dryrun true -makehardlinks true "${gdirs[@]}") ;;
	vhashify.link) cmd=("$vhashify" --manually --destination "$copy/.hash" --flags=immutable
			    "--journal=$work/j.$run_no" "${cpairs[@]}") ;;
	jdupes.link) cmd=(jdupes -r -L "${cdirs[@]}") ;;
	hardlink.link) cmd=(hardlink "${cdirs[@]}") ;;
	rdfind.link) cmd=(rdfind -makehardlinks true "${cdirs[@]}") ;;
	esac
}

# good_rc TOOL KIND RC: RC is a success (vhashify's dry run exits 1 when it
# would link something)
good_rc() {
	(( $3 == 0 )) || [[ $1.$2 == vhashify.dry && $3 == 1 ]]
}

label() {
	case $1.$2 in
	vhashify.dry) echo 'vhashify -n --flags=none --json' ;;
	jdupes.dry) echo 'jdupes -r -m' ;;
	hardlink.dry) echo 'hardlink -n' ;;
	rdfind.dry) echo 'rdfind -dryrun true -makehardlinks true' ;;
	vhashify.link) echo 'vhashify --flags=immutable' ;;
	jdupes.link) echo 'jdupes -r -L' ;;
	hardlink.link) echo 'hardlink' ;;
	rdfind.link) echo 'rdfind -makehardlinks true' ;;
	esac
}

bad_status=()
run_no=0
: >"$work/times.tsv"

# timed MODE TOOL KIND RUN [OUT]: one timed run, appended to times.tsv (µs).
# Linking runs go through /usr/bin/time for the peak RSS (column 6).
timed() {
	local mode=$1 t=$2 kind=$3 r=$4 out=${5:-/dev/null} t0 t1 rc=0 rss=
	local cmd
	set_cmd "$t" "$kind"
	if [[ $kind == link && $rss_method == time ]]; then
		now_us t0
		/usr/bin/time -f %M -o "$work/rss.link" "${cmd[@]}" >"$out" 2>>"$work/$t.$kind.err" || rc=$?
		now_us t1
		rss=$(tail -n 1 "$work/rss.link" 2>/dev/null || true)
		[[ $rss =~ ^[0-9]+$ ]] || rss=
	else
		now_us t0
		"${cmd[@]}" >"$out" 2>>"$work/$t.$kind.err" || rc=$?
		now_us t1
	fi
	good_rc "$t" "$kind" "$rc" || bad_status+=("$(label "$t" "$kind") ($mode run $r): exit status $rc")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$t" "$r" "$(( t1 - t0 ))" "$rc" "$rss" >>"$work/times.tsv"
}

cd "$scratch"

# ------------------------------------------------------------ dry runs
read -r load_start _ </proc/loadavg
say "dry runs: one untimed run each (outputs kept), then $runs alternating warm runs"
for t in "${tools[@]}"; do
	set_cmd "$t" dry
	rc=0
	"${cmd[@]}" >"$work/dry.$t.out" 2>>"$work/$t.dry.err" || rc=$?
	good_rc "$t" dry "$rc" || bad_status+=("$(label "$t" dry) (untimed): exit status $rc")
done
if [[ " ${tools[*]} " == *" jdupes "* ]]; then
	jdupes -r "${gdirs[@]}" >"$work/jdupes.sets" 2>/dev/null || say "jdupes -r failed"
fi
for (( r = 1; r <= runs; r++ )); do
	for t in "${tools[@]}"; do timed 'dry warm' "$t" dry "$r"; done
done
if (( do_cold )); then
	say "dry runs, cold cache: $runs alternating runs, caches dropped before each"
	for (( r = 1; r <= runs; r++ )); do
		for t in "${tools[@]}"; do
			drop_caches
			timed 'dry cold' "$t" dry "$r"
		done
	done
fi
declare -A rss
for t in "${tools[@]}"; do
	set_cmd "$t" dry
	rss[dry.$t]=$(measure_rss "${cmd[@]}")
done

# ------------------------------------------------------------ linking runs
fs_used() { df -B1 --output=used "$mnt" | tail -n 1 | tr -d ' '; }

remove_copy() {
	[[ -e $copy ]] || return 0
	# vhashify --flags=immutable protects the shared inodes
	find "$copy" -type f -links +1 -print0 | xargs -0 -r chattr -i 2>/dev/null || true
	rm -rf --one-file-system -- "$copy" 2>/dev/null || {
		chattr -R -f -i "$copy" 2>/dev/null || true
		rm -rf --one-file-system -- "$copy"
	}
}

link_mode='link warm'
c0=0 c1=0
(( do_cold )) && link_mode='link cold'
if (( do_link )); then
	say "linking runs: $link_runs rounds, each run on a fresh cp -a of ROOT ($link_mode)"
	: >"$work/space.tsv"
	for (( r = 1; r <= link_runs; r++ )); do
		for t in "${tools[@]}"; do
			run_no=$r
			now_us c0
			remove_copy
			mkdir "$copy"
			cp -a "${gdirs[@]}" "$copy"/
			mkdir -m 0700 "$copy/.hash"
			sync
			(( do_cold )) && drop_caches
			now_us c1
			before=$(fs_used)
			timed "$link_mode" "$t" link "$r" "$work/link.$t.out"
			# until the changes are on disk: a tool that leaves them in the
			# page cache has not finished what vhashify's syncs finish
			now_us s0
			sync -f "$copy"
			now_us s1
			awk -F '\t' -v OFS='\t' -v m="$link_mode" -v t="$t" -v r="$r" -v s=$(( s1 - s0 )) \
				'$1 == m && $2 == t && $3 == r { $1 = m ", on disk"; $4 += s; print }' \
				"$work/times.tsv" >"$work/times.disk"
			cat "$work/times.disk" >>"$work/times.tsv"
			sync
			printf '%s\t%s\t%s\t%s\n' "$t" "$r" "$before" "$(fs_used)" >>"$work/space.tsv"
			if (( r == 1 )); then
				say "checking what $t linked"
				python3 "$work/xcheck.py" linked "$t" "$root" "$copy" "$work" "${gnames[@]}"
			fi
			say "  link run $r: $t $(awk -F '\t' -v t="$t" -v r="$r" -v m="$link_mode" '$1 == m && $2 == t && $3 == r { printf "%.2fs", $4 / 1e6 }' "$work/times.tsv") (copy before it: $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1fs", (b - a) / 1e6 }'))"
		done
	done
	remove_copy
fi

read -r load_end _ </proc/loadavg

# ------------------------------------------------------------ report
modes=('dry warm')
(( do_cold )) && modes+=('dry cold')
(( do_link )) && modes+=("$link_mode" "$link_mode, on disk")

declare -A med mn
for m in "${modes[@]}"; do
	for t in "${tools[@]}"; do
		read -r "med[$m.$t]" "mn[$m.$t]" < <(stats "$m" "$t")
	done
done
# peak RSS of the linking runs: the largest of the runs
for t in "${tools[@]}"; do
	rss[link.$t]=$(awk -F '\t' -v m="$link_mode" -v t="$t" '$1 == m && $2 == t && $6 != "" && $6 > x { x = $6 } END { print x ? x : "n/a" }' "$work/times.tsv")
done

xcheck_status=
truth_src="the generator's manifest"
(( debian )) && truth_src='sha256 of every file, grouped with size, mode, owner and mtime'
BENCH_TRUTH=$truth_src python3 "$work/xcheck.py" report "$work" "$root" "$do_link" "${tools[@]}" >"$work/xcheck.md" 2>"$work/xcheck.err" ||
	say "the cross-check failed: $(tail -n 3 "$work/xcheck.err")"
xcheck_status=$(sed -n 's/^XCHECK_STATUS=//p' "$work/xcheck.err")

human() { awk -v b="$1" 'BEGIN { if (b == "") print "-"; else if (b >= 2^30) printf "%.2f GiB", b / 2^30; else printf "%.1f MiB", b / 2^20 }'; }

# what a dry run says about itself (its summary lines)
dry_summary() {
	local f=$work/dry.$1.out
	[[ -s $f ]] || { echo '-'; return; }
	case $1 in
	vhashify) grep '"event":"summary"' "$f" | tail -n 1 |
		python3 -c 'import json,sys; s=json.loads(sys.stdin.read()); print("would link %s names, save %s bytes; %s files examined, %s candidates, %s bytes read" % (s.get("linked"), s.get("saved_bytes"), s.get("examined"), s.get("candidates"), s.get("read_bytes")))' 2>/dev/null || echo '-' ;;
	jdupes) tail -n 1 "$f" ;;
	hardlink) grep -E '^(Linked|Saved):' "$f" | tr -s ' ' | paste -sd ';' - ;;
	rdfind) grep -E 'files that are not unique|can be reduced' "$f" | sed 's/^(DRYRUN MODE) //' | paste -sd ';' - ;;
	esac
}

report() {
	echo "## vhashify benchmark"
	echo
	if (( debian )); then
		echo "- host from real Debian 12 packages (bench/debhost.sh, not unified): $(gstat files) files ($(human "$(gstat bytes)"); $(gstat file_inodes) inodes), $(gstat dirs) directories and $(gstat host_symlinks) symlinks in $guests guests (${gnames[*]}) of $(gstat host_debian_packages) packages (dpkg-deb -x, cp -a, extra packages and upgrades); built in ${gen_secs}s, ground truth (sha256 of $(gstat hashed_inodes) inodes, $(human "$(gstat hashed_bytes)")) in ${truth_secs}s"
	else
		echo "- tree: $(gstat files) files ($(human "$(gstat bytes)")) and $(gstat dirs) directories in $guests guests; generated in ${gen_secs}s (seed $seed)"
	fi
	echo "- duplicates (ground truth): $(gstat dup_sets) sets of identical files (content and metadata) with $(gstat dup_names) names; $(gstat dup_sets_16) sets / $(gstat dup_names_16) names of 16 bytes or more ($(human "$(gstat dup_saveable_bytes_16)") to save); same content only: $(gstat content_sets_16) sets / $(gstat content_names_16) names ($(human "$(gstat content_saveable_bytes_16)"))"
	if (( debian )); then
		echo "- hard links already in the host (Debian's own, kept by cp -a): $(gstat hardlinked_names) names on $(gstat hardlinked_inodes) inodes; ground-truth sets of 16 bytes or more already on one inode: $(gstat dup_sets_16_one_inode); $(gstat small_files) files under 16 bytes ($(gstat empty_files) empty)"
	else
		echo "- crafted near-duplicates (files changed): same size $(gstat crafted_same_size) (+$(gstat samesize_perguest) per-guest files), last bytes $(gstat crafted_last_bytes), mode $(gstat crafted_mode_only), uid $(gstat crafted_uid_only), gid $(gstat crafted_gid_only), owner $(gstat crafted_owner_only), mtime $(gstat crafted_mtime_only), mtime ns $(gstat crafted_mtime_ns_only); $(gstat small_files) files under 16 bytes ($(gstat empty_files) empty), $(gstat boundary_files) of 15/16/17 bytes"
	fi
	echo "- ext4 on a loop device, kernel $(uname -r), $(nproc) CPUs; dry runs: $runs per tool and cache state, alternating (warm after one untimed run; cold: sync + drop_caches before each); linking runs: $link_runs per tool, each on a fresh \`cp -a\` of the tree$( (( do_cold )) && echo ', caches dropped after the copy')"
	echo "- load average (1 min) at the start / end of the timed runs: $load_start / $load_end; other load on the machine shows up in the numbers"
	echo "- vhashify: ${vhashify:-not run}"
	echo
	echo "### Times (wall seconds)"
	echo
	echo "| tool | mode | median s | min s | ratio (tool / vhashify) | peak RSS (KiB) |"
	echo "| --- | --- | ---: | ---: | ---: | ---: |"
	local m t kind rs
	for m in "${modes[@]}"; do
		kind=dry
		[[ $m == link* ]] && kind='link'
		for t in "${tools[@]}"; do
			rs=${rss[$kind.$t]:-n/a}
			echo "| \`$(label "$t" "$kind")\` | $m | ${med[$m.$t]} | ${mn[$m.$t]} | $(ratio "${med[$m.$t]}" "${med[$m.vhashify]:--}") | $rs |"
		done
	done
	echo
	echo "Peak RSS: dry runs measured once more, warm; linking runs the largest of the timed runs."
	echo
	echo "### What the dry runs report"
	echo
	echo "| tool | summary |"
	echo "| --- | --- |"
	for t in "${tools[@]}"; do
		echo "| $t | $(dry_summary "$t") |"
	done
	echo
	if (( do_link )) && [[ -s $work/space.tsv ]]; then
		echo "### Space freed by the linking runs (first run; df of the file system, after sync)"
		echo
		echo "| tool | freed |"
		echo "| --- | ---: |"
		for t in "${tools[@]}"; do
			awk -F '\t' -v t="$t" '$1 == t && $2 == 1 { print $3 - $4 }' "$work/space.tsv" |
				while read -r b; do echo "| $t | $(human "$b") |"; done
		done
		echo
	fi
	if (( do_link )) && [[ -s $work/link.vhashify.out ]]; then
		echo "### vhashify's own summary (last linking run)"
		echo
		echo '```'
		sed "s#$work#WORK#g" "$work/link.vhashify.out" | tail -n 6
		echo '```'
		echo
	fi
	cat "$work/xcheck.md"
	echo
	echo "Cross-check result: **${xcheck_status:-not run}**"
	echo
	if (( ${#bad_status[@]} )); then
		echo "### Unexpected exit statuses"
		echo
		printf -- '- %s\n' "${bad_status[@]}"
		echo
	fi
	local f
	for f in "$work"/*.err; do
		[[ -s $f ]] || continue
		case ${f##*/} in xcheck.err) continue ;; esac
		echo "### stderr of ${f##*/} (distinct lines, first 5)"
		echo
		echo '```'
		sed -E "s#$work#WORK#g; s#/dev/loop[0-9]+#/dev/loopN#g; s#[0-9]+#N#g" "$f" | sort | uniq -c | sort -rn | head -n 5
		echo '```'
		echo
	done
}

cd /
report | tee "$work/results.md"

copy_out "$work"/{results.md,times.tsv} "$gen_out" "$work"/{xcheck.md,space.tsv} "$work"/integrity.*.json \
	"$work"/{manifest,mktree.out}

if [[ -n $vhashify && $xcheck_status == FAIL ]]; then
	say "the correctness cross-check FAILED (see results.md)"
	exit 1
fi
exit 0
