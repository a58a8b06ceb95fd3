#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-image.sh - time the offline audit `vaudit --image IMG --prefix
# /vservers` of an unmounted ext4 image against the live audit of the same
# image, loop-mounted: `vaudit MNT/vservers`, `vaudit --no-device-read
# MNT/vservers` and, for reference, `lsattr -R MNT/vservers`.  The tree is the
# one bench-audit.sh builds (same generator, same options).  Also checks that
# the offline and the live (--thorough) audits find the same (kind, inode)
# pairs.
#
# Usage: bench/bench-image.sh [--entries N] [--runs R] [--keep] [--vaudit PATH]
#                             [--guests G] [--seed S] [--out DIR] [--strace]
#                             [--no-cold]
# Must run as root.  See bench/README.md.

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
srcdir=$(cd "$(dirname "$0")" && pwd)

entries=300000
runs=7
keep=0
vaudit=${VAUDIT:-}
guests=6
seed=1
outdir=
do_strace=0
do_cold=1
prefix=/vservers            # where build_image puts ROOT inside the image

# Target (cold cache, medians): offline at least 5x faster than the live audit.
target_cold_ratio=0.20

usage() {
	cat <<EOF
Usage: $prog [OPTIONS]
  --entries N    entries (files, dirs, symlinks) below ROOT, at least (default $entries)
  --runs R       timed runs per tool and cache state (default $runs)
  --keep         keep the work directory and the image afterwards
  --vaudit PATH  the vaudit binary (default: \$VAUDIT, else $srcdir/../vaudit,
                 else vaudit in PATH); it must have --image
  --guests G     number of guests sharing the template (default $guests)
  --seed S       generator seed (default $seed)
  --out DIR      also write results.md, times.tsv, the generator stats and the
                 JSON findings to DIR
  --strace       add a 'strace -c -w -f' profile (wall time per syscall) of the
                 offline and the live audit, cold cache
  --no-cold      skip the cold-cache runs
Environment: BENCH_DIR (where the work directory is made; default \$TMPDIR or /tmp),
             CC (compiler for the generator; default cc).
EOF
	exit "${1:-0}"
}

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$srcdir/lib.sh"

parse_args "$@"

(( EUID == 0 )) || die "must run as root (loop mount, chattr +i, drop_caches)"

for t in mke2fs losetup mount umount mountpoint findmnt chattr lsattr find python3; do
	command -v "$t" >/dev/null || die "$t not found"
done
cc=${CC:-cc}
command -v "${cc%% *}" >/dev/null || die "no C compiler ($cc) for bench/mktree.c (Debian: gcc)"
[[ -r $srcdir/mktree.c ]] || die "$srcdir/mktree.c not found"
if (( do_strace )) && ! command -v strace >/dev/null; then
	say "--strace: strace not found; no syscall profile"
	do_strace=0
fi

find_vaudit required
vhelp=$("$vaudit" --help 2>&1 || true)
grep -q -e '--image' <<<"$vhelp" || die "$vaudit has no --image option (offline audit): rebuild it"
have_nodev=0
grep -q -e '--no-device-read' <<<"$vhelp" && have_nodev=1
grep -q -e '--thorough' <<<"$vhelp" || die "$vaudit has no --thorough option"

# ------------------------------------------------------------ image
make_work
bench_traps
disk_init
build_image "$entries" "$guests" "$seed"
unified=$(stat_of unified_inodes)
notail=$(stat_of notail_only)

say "unmounting the generated image"
release_image || die "cannot unmount and detach $img"
img_alloc_mib=$(( $(du -k "$img" | cut -f1) / 1024 ))
img_size_mib=$(( $(stat -c %s "$img") / 1048576 ))

fsck_res=skipped
if command -v e2fsck >/dev/null; then
	say "e2fsck -fn (read-only check of the image)"
	rc=0
	e2fsck -fn "$img" >"$work/e2fsck.out" 2>&1 || rc=$?
	if (( rc == 0 )); then fsck_res='clean (exit 0)'; else fsck_res="exit status $rc, see e2fsck.out"; fi
fi

# ------------------------------------------------------------ mount states
# Live runs need the image mounted, offline runs need it unmounted.  The mount
# is read-only: the image stays byte-for-byte what the offline audit reads,
# and no atime update, journal commit or lazy inode-table init writes to it
# between runs.
settle() {
	if [[ -e /run/udev/control ]] && command -v udevadm >/dev/null; then
		udevadm settle -t 10 2>/dev/null || true
	fi
}
img_mount() {
	if (( ! mounted )); then
		mount -t ext4 -o loop,ro "$img" "$mnt" || die "mount -o loop,ro $img failed"
		mounted=1
		loop=$(findmnt -n -o SOURCE -M "$mnt")
		settle
	fi
}
img_umount() {
	if (( mounted )) || mountpoint -q "$mnt"; then
		release_image || die "cannot unmount $mnt and detach its loop device"
		settle
	fi
}

# ------------------------------------------------------------ tools
tools=(offline live)
(( have_nodev )) && tools+=(live-nodev)
tools+=(lsattr)

label() {
	case $1 in
	offline) printf 'vaudit --image IMG --prefix %s' "$prefix" ;;
	live) printf 'vaudit MNT%s' "$prefix" ;;
	live-nodev) printf 'vaudit --no-device-read MNT%s' "$prefix" ;;
	lsattr) printf 'lsattr -R MNT%s' "$prefix" ;;
	esac
}
short() {
	case $1 in
	offline) printf 'offline' ;;
	live) printf 'live' ;;
	live-nodev) printf 'live --no-device-read' ;;
	lsattr) printf 'lsattr -R' ;;
	esac
}

# set_cmd TOOL: the command line of TOOL in the array cmd.
set_cmd() {
	case $1 in
	offline) cmd=("$vaudit" --image "$img" --prefix "$prefix") ;;
	live) cmd=("$vaudit" "$root") ;;
	live-nodev) cmd=("$vaudit" --no-device-read "$root") ;;
	lsattr) cmd=(lsattr -R "$root") ;;
	esac
}

# prepare TOOL: the mount state TOOL needs (not timed).
prepare() {
	if [[ $1 == offline ]]; then img_umount; else img_mount; fi
}

# run TOOL: run it once, output discarded (stderr kept, except lsattr's, which
# complains about every symlink); returns its exit status.
run() {
	local cmd
	set_cmd "$1"
	if [[ $1 == lsattr ]]; then
		"${cmd[@]}" >/dev/null 2>&1
	else
		"${cmd[@]}" >/dev/null 2>>"$work/$1.err"
	fi
}

# vaudit: 0 or 1 (findings); lsattr complains about symlinks: any status.
status_ok() {
	case $1 in
	lsattr) true ;;
	*) (( $2 == 0 || $2 == 1 )) ;;
	esac
}

bad_status=()
vaudit_failed=0
# timed MODE TOOL RUN: one timed run, appended to times.tsv: mode, tool, run,
# µs, exit status, sectors read from the disk under the work directory.
timed() {
	local t0 t1 s0 s1 rc=0 sect=
	disk_sectors s0
	now_us t0
	run "$2" || rc=$?
	now_us t1
	disk_sectors s1
	[[ -n $s0 && -n $s1 ]] && sect=$(( s1 - s0 ))
	if ! status_ok "$2" "$rc"; then
		bad_status+=("$(short "$2") ($1 run $3): exit status $rc")
		[[ $2 != lsattr ]] && vaudit_failed=1
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(( t1 - t0 ))" "$rc" "$sect" >>"$work/times.tsv"
}

: >"$work/times.tsv"

# ------------------------------------------------------------ correctness
say "correctness: vaudit --image --json (unmounted)"
img_umount
off_rc=0
"$vaudit" --image "$img" --prefix "$prefix" --json >"$work/findings-offline.jsonl" 2>"$work/offline-json.err" || off_rc=$?

img_mount
say "correctness: vaudit --thorough --json MNT$prefix (mounted)"
live_rc=0
"$vaudit" --thorough --json "$root" >"$work/findings-live-thorough.jsonl" 2>"$work/live-json.err" || live_rc=$?
"$vaudit" --json "$root" >"$work/findings-live.jsonl" 2>/dev/null || true
# The premise of the alternation: the offline audit refuses a mounted image.
refuse_rc=0
"$vaudit" --image "$img" --prefix "$prefix" >/dev/null 2>"$work/refuse.err" || refuse_rc=$?
if (( refuse_rc == 2 )) && grep -q 'mounted' "$work/refuse.err"; then
	refuse_res="yes (exit 2: $(head -n 1 "$work/refuse.err" | sed 's/|/\\|/g'))"
	refuse_ok=1
else
	refuse_res="NO (exit $refuse_rc)"
	refuse_ok=0
fi
say "counting entries (find)"
nentries=$(find "$root" -mindepth 1 | wc -l)
nshared=$(find "$root" -type f -links +1 -printf '%i\n' | sort -u | wc -l)

cmp_rc=0
python3 - "$work/findings-offline.jsonl" "$work/findings-live-thorough.jsonl" \
	"$work/findings-live.jsonl" "$unified" "$notail" >"$work/compare.md" 2>"$work/compare.err" <<'EOF' || cmp_rc=$?
import collections, json, sys

def load(path):
    pairs, lines = set(), collections.Counter()
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if not line.strip():
                continue
            o = json.loads(line)
            pairs.add((o["kind"], o["ino"]))
            lines[o["kind"]] += 1
    return pairs, lines

off, off_n = load(sys.argv[1])
thr, thr_n = load(sys.argv[2])
liv, liv_n = load(sys.argv[3])
expect = {"legacy-iunlink": int(sys.argv[4]), "legacy-notail": int(sys.argv[5]), "legacy-barrier": 1}

def per_kind(pairs):
    return collections.Counter(k for k, _ in pairs)

po, pt, pl = per_kind(off), per_kind(thr), per_kind(liv)
ok = off == thr
print("| kind | offline `--image --json` | live `--thorough --json` | live `--json` (default) | expected (generator) |")
print("| --- | ---: | ---: | ---: | ---: |")
for k in sorted(set(po) | set(pt) | set(pl) | set(expect)):
    e = expect.get(k)
    mark = ""
    if e is not None:
        good = po.get(k, 0) == e and pt.get(k, 0) == e
        ok = ok and good
        mark = f"{e}" + ("" if good else " (MISMATCH)")
    print(f"| {k} | {po.get(k, 0)} | {pt.get(k, 0)} | {pl.get(k, 0)} | {mark or '-'} |")
print(f"| **(kind, ino) pairs** | {len(off)} | {len(thr)} | {len(liv)} | - |")
print(f"| **JSON lines** | {sum(off_n.values())} | {sum(thr_n.values())} | {sum(liv_n.values())} | - |")
print()
only_off, only_thr = sorted(off - thr), sorted(thr - off)
print(f"Pairs only offline: {len(only_off)}; only live --thorough: {len(only_thr)}.", end="")
if only_off or only_thr:
    print(" First differences:")
    print()
    for k, i in only_off[:10]:
        print(f"- offline only: {k} ino {i}")
    for k, i in only_thr[:10]:
        print(f"- live --thorough only: {k} ino {i}")
else:
    print(" The sets are equal.")
sys.exit(0 if ok else 1)
EOF
if (( cmp_rc == 0 && off_rc == 1 && live_rc == 1 && refuse_ok )); then
	check=PASS
else
	check=FAIL
fi
[[ -s $work/compare.err ]] && say "compare: $(head -n 3 "$work/compare.err")"

# ------------------------------------------------------------ warm cache
read -r load_start _ </proc/loadavg
# A remount starts with empty dentry and inode caches, and the alternation
# remounts every round: so every timed warm run directly follows an untimed
# run of the same command in the same mount.
say "warm cache: $runs alternating rounds; each timed run follows an untimed one"
for (( r = 1; r <= runs; r++ )); do
	for t in "${tools[@]}"; do
		prepare "$t"
		run "$t" || true
		timed warm "$t" "$r"
	done
done

# ------------------------------------------------------------ cold cache
if (( do_cold )); then
	say "cold cache: $runs alternating rounds; caches dropped after the (un)mount, before each run"
	for (( r = 1; r <= runs; r++ )); do
		for t in "${tools[@]}"; do
			prepare "$t"
			drop_caches
			timed cold "$t" "$r"
		done
	done
fi

read -r load_end _ </proc/loadavg

# ------------------------------------------------------------ peak RSS (warm)
declare -A rss
declare -a cmd
for t in "${tools[@]}"; do
	prepare "$t"
	set_cmd "$t"
	rss[$t]=$(measure_rss "${cmd[@]}")
done

# ------------------------------------------------------------ syscall profile
if (( do_strace )); then
	say "strace -c -w -f (cold)"
	for t in offline live; do
		prepare "$t"
		set_cmd "$t"
		drop_caches
		strace -c -w -f -o "$work/strace.$t" "${cmd[@]}" >/dev/null 2>&1 || true
	done
fi
img_umount

# ------------------------------------------------------------ report
declare -A med mn mib
for t in "${tools[@]}"; do
	for m in warm cold; do
		read -r "med[$m.$t]" "mn[$m.$t]" < <(stats "$m" "$t")
	done
	read -r s _ < <(stats cold "$t" 6)
	mib[$t]=$(awk -v s="$s" 'BEGIN { if (s == "-") print "-"; else printf "%.1f", s * 512 / 1048576 }')
done

report() {
	local o name wr cr target verdict speed
	echo "## vaudit offline image audit vs live audit"
	echo
	echo "- tree: $nentries entries below ROOT (files $(stat_of files), directories $(stat_of dirs), symlinks $(stat_of symlinks)) in $guests guests; generated in ${gen_secs}s (seed $seed); $unified unified inodes ($(stat_of unified_names) names), $notail +t-only files, the 2.4 barrier on ROOT"
	echo "- image: sparse ext4, $img_size_mib MiB, $img_alloc_mib MiB allocated, on $(findmnt -n -o FSTYPE -T "$work") ($disk_name); e2fsck -fn: $fsck_res"
	echo "- offline: image unmounted, ROOT = $prefix inside it. live: \`mount -t ext4 -o loop,ro IMG MNT\`, ROOT = MNT$prefix. (Un)mounting is not timed"
	echo "- kernel $(uname -r), $(nproc) CPUs; $runs alternating rounds per cache state (order: $(for t in "${tools[@]}"; do printf '%s; ' "$(short "$t")"; done | sed 's/; $//'))"
	echo "- warm = right after an untimed run of the same command in the same mount; cold = sync + drop_caches after the (un)mount, before each run"
	echo "- cold MiB read = median of what the disk under the image ($disk_name) read during the run, from /sys/class/block/${disk_name:-?}/stat"
	echo "- load average (1 min) at the start / end of the timed runs: $load_start / $load_end; other load on the machine shows up in the numbers"
	echo "- vaudit: $vaudit"
	echo
	echo "### Correctness"
	echo
	cat "$work/compare.md"
	echo
	echo "| check | value |"
	echo "| --- | --- |"
	echo "| multi-link inodes (find -links +1) | $nshared |"
	echo "| exit status offline / live --thorough (1 expected) | $off_rc / $live_rc |"
	echo "| offline audit refuses the mounted image | $refuse_res |"
	echo "| result | **$check** |"
	echo
	echo "### Times (wall seconds)"
	echo
	echo "| tool | warm median | warm min | cold median | cold min | cold MiB read | peak RSS (KiB) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for t in "${tools[@]}"; do
		echo "| \`$(label "$t")\` | ${med[warm.$t]} | ${mn[warm.$t]} | ${med[cold.$t]} | ${mn[cold.$t]} | ${mib[$t]} | ${rss[$t]} |"
	done
	echo
	echo "### Ratios (medians; below 1 = the first is faster)"
	echo
	echo "| ratio | warm | cold | target (cold) | result |"
	echo "| --- | ---: | ---: | --- | --- |"
	for o in live live-nodev lsattr live/live-nodev; do
		if [[ $o == live/live-nodev ]]; then
			(( have_nodev )) || continue
			wr=$(ratio "${med[warm.live]}" "${med[warm.live-nodev]}")
			cr=$(ratio "${med[cold.live]}" "${med[cold.live-nodev]}")
			echo "| live / live --no-device-read (cost of the device read) | $wr | $cr | - | - |"
			continue
		fi
		[[ -n ${med[warm.$o]:-} ]] || continue
		name="offline / $(short "$o")"
		wr=$(ratio "${med[warm.offline]}" "${med[warm.$o]}")
		cr=$(ratio "${med[cold.offline]}" "${med[cold.$o]}")
		# speed-up and verdict from the unrounded medians
		speed=$(awk -v a="${med[cold.offline]}" -v b="${med[cold.$o]}" \
			'BEGIN { if (a == "-" || b == "-" || a + 0 == 0) print "-"; else printf "%.2f", b / a }')
		[[ $speed != - ]] && cr="$cr (${speed}x faster)"
		target=-
		verdict=-
		if [[ $o == live ]]; then
			target="offline >= $(awk -v t=$target_cold_ratio 'BEGIN { printf "%g", 1 / t }')x faster (ratio <= $target_cold_ratio)"
			if [[ ${med[cold.live]} == - ]]; then
				verdict='- (no cold runs)'
			else
				verdict=$(awk -v a="${med[cold.offline]}" -v b="${med[cold.live]}" -v t=$target_cold_ratio \
					'BEGIN { print (b + 0 > 0 && a / b <= t) ? "PASS" : "MISS" }')
			fi
			(( vaudit_failed )) && verdict="invalid (vaudit failed)"
		fi
		echo "| $name | $wr | $cr | $target | $verdict |"
	done
	echo
	if (( ${#bad_status[@]} )); then
		echo "### Unexpected exit statuses"
		echo
		printf -- '- %s\n' "${bad_status[@]}"
		echo
	fi
	local f
	for f in offline live live-nodev; do
		if [[ -s $work/$f.err ]]; then
			echo "### stderr of $(short "$f") (distinct lines, first 5)"
			echo
			echo '```'
			# loop device numbers change with every mount
			sed -E 's#/dev/loop[0-9]+#/dev/loopN#g; s/device 7:[0-9]+/device 7:N/g' "$work/$f.err" |
				sort | uniq -c | sort -rn | head -n 5
			echo '```'
			echo
		fi
	done
	if (( do_strace )); then
		for t in offline live; do
			[[ -s $work/strace.$t ]] || continue
			echo "### strace -c -w -f: $(label "$t") (cold)"
			echo
			echo '```'
			awk 'NR <= 2 || /^-/ || /total/ { print; next } n++ < 12' "$work/strace.$t"
			echo '```'
			echo
		done
	fi
}

report | tee "$work/results.md"

copy_out "$work"/{results.md,times.tsv,mktree.out} "$work"/findings-*.jsonl "$work"/{e2fsck.out,strace.offline,strace.live}

if [[ $check != PASS ]]; then
	say "correctness check FAILED: see the Correctness table (offline exit $off_rc, live exit $live_rc, compare exit $cmp_rc)"
	exit 1
fi
exit 0
