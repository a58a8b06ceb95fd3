#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC2034  # deb_cache, deb_unify: read by debhost.sh
#
# bench-clone.sh - time `vclone` against `cp -a`, `cp -al` and
# `rsync -aH --link-dest` on a host of real Debian 12 packages (or, with
# --synthetic, a mktree host) in a loop-mounted ext4 image, with one guest
# partly unified; and, with --bench usage, `vaudit --usage ROOT` against
# `du -s` per guest.
#
# Usage: bench/bench-clone.sh [--bench clone|usage|all] [--runs R]
#                             [--guests G] [--flags MODE] [--synthetic]
#                             [--entries N] [--unified U] [--seed S]
#                             [--deb-cache DIR] [--vaudit PATH]
#                             [--vclone PATH] [--vhashify PATH] [--keep]
#                             [--out DIR] [--no-cold]
# Must run as root.  See bench/README.md.

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
srcdir=$(cd "$(dirname "$0")" && pwd)

what=clone
runs=5
guests=3
flags=
synthetic=0
entries=100000
unified_pm=300
seed=1
deb_cache=
vaudit=${VAUDIT:-}
vclone=${VCLONE:-}
vhashify=${VHASHIFY:-}
keep=0
outdir=
do_cold=1
do_strace=0

usage() {
	cat <<EOF
Usage: $prog [OPTIONS]
  --bench B        clone (vclone vs cp -a, cp -al, rsync --link-dest), usage
                   (vaudit --usage vs du -s), or all (both on the same host;
                   default $what)
  --runs R         timed runs per tool and cache state (default $runs)
  --guests G       number of guests, at least 2 (default $guests)
  --flags MODE     the protection of unified files: immutable or legacy
                   (default: immutable on the Debian host, legacy with
                   --synthetic, whose generator flags legacy)
  --synthetic      a mktree host instead of the Debian one
  --entries N      with --synthetic: entries below ROOT (default $entries)
  --unified U      with --synthetic: unified files per mille of the
                   template's files (mktree -u; default $unified_pm)
  --seed S         with --synthetic: generator seed (default $seed)
  --deb-cache DIR  where the .deb files are kept (default $srcdir/out/debs)
  --vaudit PATH    the vaudit binary (default: \$VAUDIT, else $srcdir/../vaudit)
  --vclone PATH    the vclone binary (default: \$VCLONE, else $srcdir/../vclone)
  --vhashify PATH  the vhashify binary (default: \$VHASHIFY, else $srcdir/../vhashify)
  --keep           keep the image mounted and the work directory afterwards
  --out DIR        also write results.md, times.tsv and the host's stats to DIR
  --no-cold        skip the cold-cache runs
Environment: BENCH_DIR (where the work directory is made; default \$TMPDIR or /tmp),
             CC (compiler for the synthetic generator; default cc).
EOF
	exit "${1:-0}"
}

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$srcdir/lib.sh"

while (( $# )); do
	case $1 in
	--bench|--runs|--guests|--flags|--entries|--unified|--seed|--deb-cache|--vaudit|--vclone|--vhashify|--out)
		(( $# >= 2 )) || usage 2
		set -- "$1=$2" "${@:3}"
		continue
		;;
	--bench=*) what=${1#*=} ;;
	--runs=*) posint --runs "${1#*=}"; runs=${1#*=} ;;
	--guests=*) posint --guests "${1#*=}"; guests=${1#*=} ;;
	--flags=*) flags=${1#*=} ;;
	--entries=*) posint --entries "${1#*=}"; entries=${1#*=} ;;
	--unified=*) unified_pm=${1#*=} ;;
	--seed=*) seed=${1#*=} ;;
	--deb-cache=*) deb_cache=${1#*=} ;;
	--vaudit=*) vaudit=${1#*=} ;;
	--vclone=*) vclone=${1#*=} ;;
	--vhashify=*) vhashify=${1#*=} ;;
	--out=*) outdir=${1#*=} ;;
	--synthetic) synthetic=1 ;;
	--keep) keep=1 ;;
	--no-cold) do_cold=0 ;;
	-h|--help) usage 0 ;;
	*) say "unknown argument: $1"; usage 2 ;;
	esac
	shift
done
case $what in clone|usage|all) ;; *) say "--bench: clone, usage or all: $what"; usage 2 ;; esac
(( synthetic )) && : "${flags:=legacy}"
: "${flags:=immutable}"
case $flags in immutable|legacy) ;; *) say "--flags: immutable or legacy: $flags"; usage 2 ;; esac
(( guests >= 2 )) || { say "--guests: at least 2 (unified files are shared)"; usage 2; }
[[ $seed =~ ^[0-9]+$ ]] || { say "--seed: not a number: $seed"; usage 2; }
if ! [[ $unified_pm =~ ^[0-9]+$ ]] || (( unified_pm > 1000 )); then
	say "--unified: not a number from 0 to 1000: $unified_pm"; usage 2
fi
if (( synthetic )) && [[ $flags != legacy ]]; then
	say "--synthetic: the generator flags its unified inodes legacy; use --flags legacy"; usage 2
fi
# shellcheck source-path=SCRIPTDIR source=debhost.sh
(( synthetic )) || . "$srcdir/debhost.sh"

(( EUID == 0 )) || die "must run as root (loop mount, chattr +i, drop_caches)"
for t in mke2fs losetup mount umount mountpoint findmnt chattr lsattr find cp du df python3; do
	command -v "$t" >/dev/null || die "$t not found"
done
have_rsync=0
command -v rsync >/dev/null && have_rsync=1

# bin VAR NAME: the absolute path of a project binary ($VAR, else ../NAME).
bin() {
	local p=${!1}
	[[ -n $p ]] || p=$srcdir/../$2
	[[ $p == */* ]] || p=$(command -v "$p") || die "$2 not found"
	[[ -x $p && -f $p ]] || die "$2 not found or not executable: $p (build it: make)"
	printf -v "$1" '%s' "$(cd "$(dirname "$p")" && pwd)/$(basename "$p")"
}
bin vaudit vaudit
bin vclone vclone
(( synthetic )) || bin vhashify vhashify

# ------------------------------------------------------------ work dir, image, host
make_work
bench_traps
if (( synthetic )); then
	build_image "$entries" "$guests" "$seed" "$unified_pm"
	mapfile -t gnames < <(find "$root" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
	unify_how="mktree -u $unified_pm (flags 0x10|0x8000 on each shared inode)"
else
	deb_unify=0
	debian_host "$guests"
	# the guests in the order debhost.sh names them: web01 (web role, older
	# package versions), mail01 (mail role, upgraded), db01, ...
	mapfile -t gnames < <(find "$root" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' |
		awk 'BEGIN { n = split("web01 mail01 db01 dns01 build01 proxy01 shell01 ftp01", o, " ")
			for (i = 1; i <= n; i++) rank[o[i]] = i }
			{ print (($0 in rank) ? rank[$0] : 100) "\t" $0 }' | sort -n -k1,1 -k2 | cut -f2)
	say "unifying ${gnames[0]} and ${gnames[1]}: vhashify --flags=$flags"
	mkdir -m 0700 "$root/.hash"
	"$vhashify" --manually --destination "$root/.hash" "--flags=$flags" \
		"--journal=$work/vhashify.journal" "$root/${gnames[0]}" "" "$root/${gnames[1]}" "" \
		>"$work/vhashify.out" 2>&1 || die "vhashify failed: $(tail -n 3 "$work/vhashify.out")"
	sync
	unify_how="vhashify --manually --flags=$flags over ${gnames[0]} and ${gnames[1]}, store ROOT/.hash: $(grep -m1 'names linked' "$work/vhashify.out" | sed 's/^vhashify: //')"
fi
src=$root/${gnames[0]}
dst=$root/clone

# The unified inodes of SRC: regular files with the immutable bit (one path
# per inode), NUL-separated.
python3 - "$src" "$work/unified.list" <<'PY'
import fcntl, os, stat, struct, sys
src, out = sys.argv[1], sys.argv[2]
seen = set()
with open(out, "wb") as fh:
    for d, dirs, files in os.walk(src):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode) or st.st_ino in seen:
                continue
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                fl = struct.unpack("l", fcntl.ioctl(fd, 0x80086601, b"\0" * 8))[0]
            finally:
                os.close(fd)
            if fl & 0x10:
                seen.add(st.st_ino)
                fh.write(os.fsencode(p) + b"\0")
PY
nunified=$(tr -cd '\0' <"$work/unified.list" | wc -c)
src_files=$(find "$src" -type f | wc -l)
src_entries=$(find "$src" | wc -l)
src_bytes=$(du -sB1 "$src" | cut -f1)
uni_bytes=$(xargs -0 -r stat -c %b <"$work/unified.list" | awk '{ s += $1 * 512 } END { print s + 0 }')
say "SRC ${gnames[0]}: $src_entries entries, $src_files files, $nunified unified inodes"

read -r load_start _ </proc/loadavg
: >"$work/times.tsv"
bad_status=()

# rm_tree DIR: remove DIR, lifting the immutable bit of the names that need
# it (a name of a flagged inode cannot be unlinked) and putting it back.
rm_tree() {
	[[ -e $1 ]] || return 0
	rm -rf --one-file-system -- "$1" 2>/dev/null && return 0
	xargs -0 -r chattr -i <"$work/unified.list"
	rm -rf --one-file-system -- "$1"
	xargs -0 -r chattr +i <"$work/unified.list"
}

# ------------------------------------------------------------ clone benchmark
ctools=(vclone cp-a cp-al)
(( have_rsync )) && ctools+=(rsync)
(( have_rsync )) || say "rsync not installed, skipped (Debian: apt-get install rsync)"

clabel() {
	case $1 in
	vclone) echo "vclone --flags=$flags SRC DST" ;;
	cp-a) echo 'cp -a SRC DST' ;;
	cp-al) echo 'cp -al SRC DST' ;;
	rsync) echo 'rsync -aH --link-dest=SRC SRC/ DST/' ;;
	esac
}
cset_cmd() {   # the command line in cmd; $jn names vclone's journal
	case $1 in
	vclone) cmd=("$vclone" "--flags=$flags" --no-progress "--journal=$work/clone.$jn.journal" "$src" "$dst") ;;
	cp-a) cmd=(cp -a "$src" "$dst") ;;
	cp-al) cmd=(cp -al "$src" "$dst") ;;
	rsync) cmd=(rsync -aH "--link-dest=$src" "$src/" "$dst/") ;;
	esac
}

# undo_clone TOOL: remove DST (untimed).  vclone's through its journal.
undo_clone() {
	if [[ $1 == vclone && -f $work/clone.$jn.journal ]]; then
		"$vaudit" --undo "$work/clone.$jn.journal" "$root" >"$work/undo.out" 2>&1 ||
			say "vaudit --undo failed: $(tail -n 2 "$work/undo.out")"
		[[ ! -e $dst ]] || say "vaudit --undo left $dst: removing it"
	fi
	rm_tree "$dst"
	# cp -al ran with the immutable bit lifted: put it back
	[[ $1 != cp-al ]] || xargs -0 -r chattr +i <"$work/unified.list"
}

fs_used() { df -B1 --output=used "$mnt" | tail -n 1 | tr -d ' '; }

# clone_run MODE TOOL RUN: one clone into a fresh DST, timed (column 4: the
# clone, column 7: the clone and the sync after it); DST stays.
clone_run() {
	local mode=$1 t=$2 r=$3 t0 t1 t2 rc=0 rss='' before cmd
	jn=$mode.$r
	# cp -al links every name: the immutable bit would refuse link(2)
	[[ $t != cp-al ]] || xargs -0 -r chattr -i <"$work/unified.list"
	sync
	[[ $mode != cold ]] || drop_caches
	before=$(fs_used)
	cset_cmd "$t"
	now_us t0
	if [[ $rss_method == time ]]; then
		/usr/bin/time -f %M -o "$work/rss.run" "${cmd[@]}" >"$work/$t.out" 2>>"$work/$t.err" || rc=$?
	else
		"${cmd[@]}" >"$work/$t.out" 2>>"$work/$t.err" || rc=$?
	fi
	now_us t1
	sync
	now_us t2
	[[ $rss_method != time ]] || rss=$(tail -n 1 "$work/rss.run" 2>/dev/null || true)
	[[ $rss =~ ^[0-9]+$ ]] || rss=
	(( rc == 0 )) || bad_status+=("$(clabel "$t") ($mode run $r): exit status $rc")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$t" "$r" "$(( t1 - t0 ))" "$rc" "$rss" \
		"$(( t2 - t0 ))" "$(( $(fs_used) - before ))" >>"$work/times.tsv"
}

# The check of vclone's DST: every name of SRC is in DST with the same type;
# regular files have equal content (SHA-256), mode, owner and mtime; a
# unified one shares its inode with SRC, any other does not; symlinks have
# the same target; DST has no name SRC lacks.
cat >"$work/check.py" <<'PY'
import hashlib, os, stat, sys
src, dst, ulist = sys.argv[1:4]
unified = set()
with open(ulist, "rb") as fh:
    for p in fh.read().split(b"\0"):
        if p:
            unified.add(os.lstat(p).st_ino)
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.digest()
c = dict(names=0, files=0, linked=0, copied=0, missing=0, extra=0, type=0,
         content=0, meta=0, unified_not_linked=0, private_linked=0, symlink=0)
for d, dirs, files in os.walk(src):
    rel = os.path.relpath(d, src)
    dd = os.path.normpath(os.path.join(dst, rel))
    try:
        dnames = set(os.listdir(dd))
    except OSError:
        c["missing"] += 1
        dirs[:] = []
        continue
    snames = set(dirs) | set(files)
    c["extra"] += len(dnames - snames)
    for n in snames:
        sp, dp = os.path.join(d, n), os.path.join(dd, n)
        c["names"] += 1
        try:
            s, t = os.lstat(sp), os.lstat(dp)
        except FileNotFoundError:
            c["missing"] += 1
            continue
        if stat.S_IFMT(s.st_mode) != stat.S_IFMT(t.st_mode):
            c["type"] += 1
            continue
        if (s.st_mode, s.st_uid, s.st_gid) != (t.st_mode, t.st_uid, t.st_gid):
            c["meta"] += 1
        if stat.S_ISLNK(s.st_mode):
            c["symlink"] += os.readlink(sp) != os.readlink(dp)
        elif stat.S_ISREG(s.st_mode):
            c["files"] += 1
            if s.st_mtime_ns != t.st_mtime_ns:
                c["meta"] += 1
            if s.st_ino == t.st_ino:
                c["linked"] += 1
                if s.st_ino not in unified:
                    c["private_linked"] += 1
            else:
                c["copied"] += 1
                if s.st_ino in unified:
                    c["unified_not_linked"] += 1
                if s.st_size != t.st_size or sha(sp) != sha(dp):
                    c["content"] += 1
bad = sum(c[k] for k in ("missing", "extra", "type", "content", "meta",
                         "unified_not_linked", "private_linked", "symlink"))
for k, v in c.items():
    print("%s=%d" % (k, v))
print("result=%s" % ("PASS" if bad == 0 else "FAIL"))
PY

clone_bench() {
	local t r m
	say "clone: one untimed round (correctness check and space), then $runs alternating warm rounds$( (( do_cold )) && echo " and $runs cold rounds")"
	: >"$work/space.tsv"
	for t in "${ctools[@]}"; do
		clone_run untimed "$t" 0
		if [[ $t == vclone ]]; then
			say "checking vclone's DST"
			python3 "$work/check.py" "$src" "$dst" "$work/unified.list" >"$work/check.out" ||
				echo result=FAIL >>"$work/check.out"
			grep -q '^result=PASS' "$work/check.out" || say "vclone's DST: FAIL ($(tr '\n' ' ' <"$work/check.out"))"
			cat "$work/$t.out" "$work/$t.err" >"$work/vclone.summary" 2>/dev/null || true
		fi
		# the disk space of DST's new names: du counts an inode once, SRC first
		printf '%s\t%s\t%s\n' "$t" "$(du -sB1 "$src" "$dst" | tail -n 1 | cut -f1)" \
			"$(find "$dst" -type f -links 1 | wc -l)" >>"$work/space.tsv"
		undo_clone "$t"
	done
	m=(warm)
	(( do_cold )) && m+=(cold)
	for mode in "${m[@]}"; do
		for (( r = 1; r <= runs; r++ )); do
			for t in "${ctools[@]}"; do
				clone_run "$mode" "$t" "$r"
				undo_clone "$t"
			done
			say "  $mode round $r: $(awk -F '\t' -v m="$mode" -v r="$r" '$1 == m && $3 == r { printf "%s %.2fs  ", $2, $4 / 1e6 }' "$work/times.tsv")"
		done
	done
}

# ------------------------------------------------------------ usage benchmark
utools=(vaudit du-each du-all)
ulabel() {
	case $1 in
	vaudit) echo 'vaudit --usage ROOT' ;;
	du-each) echo "du -s ROOT/GUEST, once per guest (${#gnames[@]} in sequence)" ;;
	du-all) echo 'du -s ROOT/GUEST... (all guests at once)' ;;
	esac
}
urun() {
	local g rc=0
	case $1 in
	vaudit) "$vaudit" --usage --no-progress "$root" >/dev/null 2>>"$work/vaudit-usage.err" || rc=$? ;;
	du-each) for g in "${gnames[@]}"; do du -s "$root/$g" >/dev/null || rc=$?; done ;;
	du-all) du -s "${gnames[@]/#/$root/}" >/dev/null || rc=$? ;;
	esac
	return "$rc"
}
usage_bench() {
	local t r mode t0 t1 rc g m
	say "usage: correctness (vaudit --usage --json ROOT against du -sB1 per guest)"
	rc=0
	"$vaudit" --usage --json --no-progress "$root" >"$work/usage.jsonl" 2>"$work/usage-json.err" || rc=$?
	usage_rc=$rc
	: >"$work/usage-check.tsv"
	for g in "${gnames[@]}"; do
		printf '%s\t%s\t%s\n' "$g" \
			"$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("record") == "usage" and r.get("guest") == sys.argv[2]:
        print(r["bytes"], r["apparent_bytes"], r["files"]); break
else:
    print("- - -")' "$work/usage.jsonl" "$g" | tr ' ' '\t')" \
			"$(du -sB1 "$root/$g" | cut -f1)" >>"$work/usage-check.tsv"
	done
	# columns: guest, vaudit bytes, apparent, files, du -sB1
	usage_check=$(awk -F '\t' -v rc="$usage_rc" '$2 != $5 { bad++ } END { print (bad || rc != 0 || NR == 0) ? "FAIL" : "PASS" }' "$work/usage-check.tsv")
	for g in "${gnames[@]}"; do
		printf '%s\t%s\t%s\n' "$g" "$(du -sB1 --apparent-size "$root/$g" | cut -f1)" "$(find "$root/$g" | wc -l)"
	done >"$work/usage-du.tsv"
	say "usage: one untimed run each, then $runs alternating warm rounds$( (( do_cold )) && echo " and $runs cold rounds")"
	for t in "${utools[@]}"; do urun "$t" || true; done
	m=(uwarm)
	(( do_cold )) && m+=(ucold)
	for mode in "${m[@]}"; do
		for (( r = 1; r <= runs; r++ )); do
			for t in "${utools[@]}"; do
				[[ $mode != ucold ]] || drop_caches
				rc=0
				now_us t0
				urun "$t" || rc=$?
				now_us t1
				(( rc == 0 )) || bad_status+=("$(ulabel "$t") ($mode run $r): exit status $rc")
				printf '%s\t%s\t%s\t%s\t%s\t\t\t\n' "$mode" "$t" "$r" "$(( t1 - t0 ))" "$rc" >>"$work/times.tsv"
			done
		done
	done
	urss_vaudit=$(measure_rss "$vaudit" --usage --no-progress "$root")
	urss_du=$(measure_rss du -s "${gnames[@]/#/$root/}")
}

[[ $what == usage ]] || clone_bench
[[ $what == clone ]] || usage_bench
read -r load_end _ </proc/loadavg

# ------------------------------------------------------------ report
mib() { awk -v b="$1" 'BEGIN { if (b == "" || b == "-") print "-"; else printf "%.1f", b / 1048576 }'; }
peak() { awk -F '\t' -v m="$1" -v t="$2" '$1 == m && $2 == t && $6 != "" && $6 > x { x = $6 } END { print x ? x : "n/a" }' "$work/times.tsv"; }

# sync_median MODE TOOL: the median seconds of TOOL's MODE runs, the sync included (times.tsv column 7, µs)
sync_median() {
	awk -F '\t' -v m="$1" -v t="$2" '$1 == m && $2 == t { print $7 }' "$work/times.tsv" | sort -n |
		awk '{ a[NR] = $1 } END { printf "%.3f\n", NR % 2 ? a[(NR+1)/2] / 1e6 : (a[NR/2] + a[NR/2+1]) / 2e6 }'
}

report() {
	local t mode med mn smed v vs
	echo "## vclone and vaudit --usage benchmark"
	echo
	if (( synthetic )); then
		echo "- synthetic host (mktree, seed $seed): $(stat_of entries) entries in $guests guests, generated in ${gen_secs}s"
	else
		echo "- host from real Debian 12 packages: $(stat_of entries) entries (files $(stat_of files), directories $(stat_of dirs), symlinks $(stat_of symlinks)) in $guests guests (${gnames[*]}) of $(stat_of debian_packages) packages, built in ${gen_secs}s"
	fi
	echo "- unified: $unify_how"
	echo "- SRC = ROOT/${gnames[0]}: $src_entries entries, $src_files files, $(mib "$src_bytes") MiB (du -sB1); $nunified unified inodes ($(mib "$uni_bytes") MiB), flags $flags"
	echo "- ext4 on a loop device, kernel $(uname -r), $(nproc) CPUs; $runs timed runs per tool and cache state, alternating (warm: caches as the last run left them; cold: sync + drop_caches before each run); load average $load_start at the start, $load_end at the end"
	echo "- vclone: $vclone; vaudit: $vaudit"
	echo
	if [[ $what != usage ]]; then
		echo "### vclone: correctness of DST"
		echo
		echo "| check | value |"
		echo "| --- | --- |"
		sed -n 's/^\([a-z_]*\)=\(.*\)/| \1 | \2 |/p' "$work/check.out" | grep -v '| result |' || true
		echo "| result | **$(sed -n 's/^result=//p' "$work/check.out")** |"
		echo
		echo "vclone's own summary: $(grep -m1 -E 'copied|linked' "$work/vclone.summary" 2>/dev/null | sed 's/^vclone: //' || echo -)"
		echo
		echo "### Clone times (wall seconds; DST fresh each run, removed untimed)"
		echo
		echo "| tool | mode | median s | min s | median s incl. sync | ratio (tool / vclone) | ratio incl. sync | peak RSS (KiB) | DST space (du, new names) MiB | DST files with 1 link |"
		echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for mode in warm cold; do
			[[ $mode == warm ]] || (( do_cold )) || continue
			read -r vs _ < <(stats "$mode" vclone)
			v=$(sync_median "$mode" vclone)
			for t in "${ctools[@]}"; do
				read -r med mn < <(stats "$mode" "$t")
				smed=$(sync_median "$mode" "$t")
				echo "| \`$(clabel "$t")\` | $mode | $med | $mn | $smed | $(ratio "$med" "$vs") | $(ratio "$smed" "$v") | $(peak "$mode" "$t") | $(mib "$(awk -F '\t' -v t="$t" '$1 == t { print $2 }' "$work/space.tsv")") | $(awk -F '\t' -v t="$t" '$1 == t { print $3 }' "$work/space.tsv") |"
			done
		done
		echo
	fi
	if [[ $what != clone ]]; then
		echo "### vaudit --usage: per-guest bytes against du -sB1"
		echo
		echo "| guest | entries (find) | vaudit bytes | du -sB1 | vaudit apparent_bytes | du -sB1 --apparent-size | vaudit files |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
		while IFS=$'\t' read -r g vb va vf du; do
			echo "| $g | $(awk -F '\t' -v g="$g" '$1 == g { print $3 }' "$work/usage-du.tsv") | $vb | $du | $va | $(awk -F '\t' -v g="$g" '$1 == g { print $2 }' "$work/usage-du.tsv") | $vf |"
		done <"$work/usage-check.tsv"
		echo
		echo "vaudit --usage --json exit status: $usage_rc; result (bytes equal for every guest, exit 0): **$usage_check**"
		echo
		echo "### Usage times (wall seconds)"
		echo
		echo "| tool | mode | median s | min s | ratio (tool / vaudit) | peak RSS (KiB) |"
		echo "| --- | --- | ---: | ---: | ---: | ---: |"
		for mode in uwarm ucold; do
			[[ $mode == uwarm ]] || (( do_cold )) || continue
			read -r vs _ < <(stats "$mode" vaudit)
			for t in "${utools[@]}"; do
				read -r med mn < <(stats "$mode" "$t")
				case $t in vaudit) v=$urss_vaudit ;; du-all) v=$urss_du ;; *) v=- ;; esac
				echo "| \`$(ulabel "$t")\` | ${mode#u} | $med | $mn | $(ratio "$med" "$vs") | $v |"
			done
		done
		echo
	fi
	if (( ${#bad_status[@]} )); then
		echo "### Unexpected exit statuses"
		echo
		printf -- '- %s\n' "${bad_status[@]}" | sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/\2 (×\1)/'
		echo
	fi
	for t in vclone cp-a cp-al rsync vaudit-usage; do
		[[ -s $work/$t.err ]] || continue
		grep -v -e '^vclone: journal' -e '^vclone: [0-9]* director' "$work/$t.err" >"$work/$t.err2" || true
		[[ -s $work/$t.err2 ]] || continue
		echo "### stderr of $t (distinct lines, first 5)"
		echo
		echo '```'
		sed -E "s#$work#WORK#g" "$work/$t.err2" | sort | uniq -c | sort -rn | head -n 5
		echo '```'
		echo
	done
}

report | tee "$work/results.md"

copy_out "$work"/{results.md,times.tsv,mktree.out,space.tsv,check.out,usage.jsonl,usage-check.tsv,vhashify.out}

st=0
if [[ $what != usage ]] && ! grep -q '^result=PASS' "$work/check.out"; then
	say "vclone's DST check FAILED"; st=1
fi
if [[ $what != clone && $usage_check != PASS ]]; then
	say "vaudit --usage check FAILED"; st=1
fi
exit "$st"
