#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-audit.sh - time `vaudit ROOT` against `lsattr -R`, `find` and `bfs`
# on a synthetic multi-guest Linux-VServer tree (or, with --debian, a host
# built from real Debian 12 packages) in a loop-mounted ext4 image.
#
# Usage: bench/bench-audit.sh [--entries N] [--runs R] [--keep] [--vaudit PATH]
#                             [--guests G] [--seed S] [--unified PERMILLE]
#                             [--debian] [--deb-cache DIR] [--out DIR]
#                             [--strace] [--no-cold]
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
unified_pm=10
debian=0
deb_cache=
deb_unify=

# Targets (medians): vaudit / tool at most this.
target_warm_lsattr=0.25     # warm: vaudit at least 4x faster than lsattr -R
target_warm_find=1.3        # warm: at most 1.3x a bare find
target_warm_bfs=1.5         # warm: at most 1.5x bfs
target_cold_find=1.1        # cold: at most 1.1x a bare find

usage() {
	cat <<EOF
Usage: $prog [OPTIONS]
  --entries N    entries (files, dirs, symlinks) below ROOT, at least (default $entries)
  --runs R       timed runs per tool and cache state (default $runs)
  --keep         keep the image mounted and the work directory afterwards
  --vaudit PATH  the vaudit binary (default: \$VAUDIT, else $srcdir/../vaudit,
                 else vaudit in PATH); "none" times the other tools only
  --guests G     number of guests sharing the template (default $guests)
  --seed S       generator seed (default $seed)
  --unified U    unified files, per mille of the template's files (mktree -u;
                 default $unified_pm; 1000 = every file below usr/)
  --debian       build the guests from real Debian 12 packages (dpkg-deb -x,
                 cp -a, partly unified) instead of mktree; --entries, --seed
                 and --unified then do not apply
  --deb-cache D  where the .deb files are kept (default $srcdir/out/debs)
  --deb-unify K  with --debian: unify the first K guests (default two thirds
                 of them; 0: no unification)
  --out DIR      also write results.md, times.tsv and the generator stats to DIR
  --strace       add a 'strace -c -f' syscall summary of vaudit, find and lsattr
  --no-cold      skip the cold-cache runs
Environment: BENCH_DIR (where the work directory is made; default \$TMPDIR or /tmp),
             CC (compiler for the generator; default cc).
EOF
	exit "${1:-0}"
}

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$srcdir/lib.sh"

# --debian and --deb-cache are ours; the rest is lib.sh's parse_args.
args=()
while (( $# )); do
	case $1 in
	--debian) debian=1; shift ;;
	--deb-unify) (( $# >= 2 )) || usage 2; deb_unify=$2; shift 2 ;;
	--deb-unify=*) deb_unify=${1#*=}; shift ;;
	--deb-cache) (( $# >= 2 )) || usage 2; deb_cache=$2; shift 2 ;;
	--deb-cache=*) deb_cache=${1#*=}; shift ;;
	*) args+=("$1"); shift ;;
	esac
done
parse_args "${args[@]}"
[[ -z $deb_unify || $deb_unify =~ ^[0-9]+$ ]] || die "--deb-unify: not a number: $deb_unify"
if (( debian )); then
	# shellcheck source-path=SCRIPTDIR source=debhost.sh
	. "$srcdir/debhost.sh"
fi

(( EUID == 0 )) || die "must run as root (loop mount, chattr +i, drop_caches)"

for t in mke2fs losetup mount umount mountpoint findmnt chattr lsattr find; do
	command -v "$t" >/dev/null || die "$t not found"
done
cc=${CC:-cc}
command -v "${cc%% *}" >/dev/null || die "no C compiler ($cc) for bench/mktree.c (Debian: gcc)"
[[ -r $srcdir/mktree.c ]] || die "$srcdir/mktree.c not found"

# ------------------------------------------------------------ the vaudit binary
find_vaudit none-ok
[[ -n $vaudit ]] || say "--vaudit none: timing lsattr, find and bfs only"
have_bfs=0
command -v bfs >/dev/null && have_bfs=1

# ------------------------------------------------------------ work dir, image, tree
make_work
bench_traps
if (( debian )); then
	debian_host "$guests"
	entries=$(stat_of entries)
else
	build_image "$entries" "$guests" "$seed" "$unified_pm"
fi
unified=$(stat_of unified_inodes)

# ------------------------------------------------------------ tools
tools=()
[[ -n $vaudit ]] && tools+=(vaudit)
# --no-device-read: the fallback, every file's flags read through the walk
# (open + ioctl each, as lsattr does): timed as an extra row, no target.
vhelp=
[[ -z $vaudit ]] || vhelp=$("$vaudit" --help 2>&1 || true)
ndr=0
if grep -q -e '--no-device-read' <<<"$vhelp"; then
	ndr=1
	tools+=(vaudit-ndr)
fi
# --thorough: an extra row only while it still changes something (since the
# default reads every inode, vaudit --help says "accepted, no effect").
thorough=0
if grep -e '--thorough' <<<"$vhelp" | grep -qv 'no effect'; then
	thorough=1
	tools+=(vaudit-thorough)
fi
tools+=(lsattr find)
(( have_bfs )) && tools+=(bfs)

label() {
	case $1 in
	vaudit) printf 'vaudit ROOT' ;;
	vaudit-thorough) printf 'vaudit --thorough ROOT' ;;
	vaudit-ndr) printf 'vaudit --no-device-read ROOT' ;;
	lsattr) printf 'lsattr -R ROOT' ;;
	find) printf 'find ROOT' ;;
	bfs) printf 'bfs ROOT' ;;
	esac
}

# set_cmd TOOL: the command line of TOOL in the array cmd.
set_cmd() {
	case $1 in
	vaudit) cmd=("$vaudit" "$root") ;;
	vaudit-thorough) cmd=("$vaudit" --thorough "$root") ;;
	vaudit-ndr) cmd=("$vaudit" --no-device-read "$root") ;;
	lsattr) cmd=(lsattr -R "$root") ;;
	find) cmd=(find "$root") ;;
	bfs) cmd=(bfs "$root") ;;
	esac
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

# Exit statuses that mean "it worked": vaudit 1 = findings; lsattr complains
# about symlinks, so any status.
status_ok() {
	case $1 in
	vaudit*) (( $2 == 0 || $2 == 1 )) ;;
	lsattr) true ;;
	*) (( $2 == 0 )) ;;
	esac
}

bad_status=()
vaudit_failed=0
# timed MODE TOOL RUN: one timed run, appended to times.tsv.
timed() {
	local t0 t1 rc=0
	now_us t0
	run "$2" || rc=$?
	now_us t1
	if ! status_ok "$2" "$rc"; then
		bad_status+=("$2 ($1 run $3): exit status $rc")
		[[ $2 == vaudit ]] && vaudit_failed=1
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(( t1 - t0 ))" "$rc" >>"$work/times.tsv"
}

: >"$work/times.tsv"

# ------------------------------------------------------------ tree check and correctness
say "counting entries (find)"
nentries=$(find "$root" -mindepth 1 | wc -l)
nshared=$(find "$root" -type f -links +1 -printf '%i\n' | sort -u | wc -l)
(( nentries >= entries )) || say "warning: only $nentries entries below ROOT (asked for $entries)"

if [[ -n $vaudit ]]; then
	say "correctness: vaudit --json ROOT"
	rc=0
	"$vaudit" --json "$root" >"$work/findings.jsonl" 2>"$work/vaudit-json.err" || rc=$?
	json_rc=$rc
	found=$(grep -c -E '"kind": ?"legacy-iunlink"' "$work/findings.jsonl" || true)
	kinds=$(grep -o -E '"kind": ?"[^"]*"' "$work/findings.jsonl" | sed -E 's/.*"([^"]*)"$/\1/' |
		sort | uniq -c | awk '{ printf "%s%s=%s", sep, $2, $1; sep = ", " }' || true)
	# The default audit is complete: every +t-only file is a legacy-notail.
	notail=$(grep -c -E '"kind": ?"legacy-notail"' "$work/findings.jsonl" || true)
	if [[ $found == "$unified" && $notail == "$(stat_of notail_only)" && $json_rc == 1 ]]; then
		check=PASS
	else
		check=FAIL
	fi
	# How the attributes were read: the summary's "method" (JSON on stderr).
	# how the attributes were read: the "method" of the summary record, the last line of --json
	"$vaudit" -q --json "$root" 2>/dev/null | tail -n 1 >"$work/summary.json" || true
	method=$(grep -o -E '"method": ?"[^"]*"' "$work/summary.json" | head -n 1 | sed -E 's/.*"([^"]*)"$/\1/' || true)
	if (( ndr )); then
		"$vaudit" --no-device-read --json "$root" >"$work/findings-ndr.jsonl" 2>/dev/null || true
		found_ndr=$(grep -c -E '"kind": ?"legacy-iunlink"' "$work/findings-ndr.jsonl" || true)
		notail_ndr=$(grep -c -E '"kind": ?"legacy-notail"' "$work/findings-ndr.jsonl" || true)
		"$vaudit" -q --no-device-read --json "$root" 2>/dev/null | tail -n 1 >"$work/summary-ndr.json" || true
		method_ndr=$(grep -o -E '"method": ?"[^"]*"' "$work/summary-ndr.json" | head -n 1 | sed -E 's/.*"([^"]*)"$/\1/' || true)
	fi
	if (( thorough )); then
		"$vaudit" --thorough --json "$root" >"$work/findings-thorough.jsonl" 2>/dev/null || true
		found_thorough=$(grep -c -E '"kind": ?"legacy-iunlink"' "$work/findings-thorough.jsonl" || true)
		notail_thorough=$(grep -c -E '"kind": ?"legacy-notail"' "$work/findings-thorough.jsonl" || true)
	fi
fi

# ------------------------------------------------------------ warm cache
say "warm cache: one untimed warm-up each, then $runs alternating runs"
for t in "${tools[@]}"; do run "$t" || true; done
for (( r = 1; r <= runs; r++ )); do
	for t in "${tools[@]}"; do timed warm "$t" "$r"; done
done

# ------------------------------------------------------------ cold cache
if (( do_cold )); then
	say "cold cache: $runs alternating runs, caches dropped before each"
	for (( r = 1; r <= runs; r++ )); do
		for t in "${tools[@]}"; do
			drop_caches
			timed cold "$t" "$r"
		done
	done
fi

# ------------------------------------------------------------ peak RSS (warm)
declare -A rss
declare -a cmd
for t in "${tools[@]}"; do
	set_cmd "$t"
	rss[$t]=$(measure_rss "${cmd[@]}")
done

# ------------------------------------------------------------ syscall profile
if (( do_strace )) && command -v strace >/dev/null; then
	say "strace -c -f (warm)"
	for t in "${tools[@]}"; do
		[[ $t == bfs || $t == vaudit-thorough || $t == vaudit-ndr ]] && continue
		set_cmd "$t"
		strace -c -f -o "$work/strace.$t" "${cmd[@]}" >/dev/null 2>&1 || true
	done
fi

# ------------------------------------------------------------ report
declare -A med mn
for t in "${tools[@]}"; do
	for m in warm cold; do
		read -r "med[$m.$t]" "mn[$m.$t]" < <(stats "$m" "$t")
	done
done

# verdict RATIO TARGET: PASS, MISS (by how much), or - without a target.
verdict() {
	local r=${1%% *}
	if [[ $2 == - ]]; then echo -; return; fi
	if (( vaudit_failed )); then echo "invalid (vaudit failed)"; return; fi
	awk -v r="$r" -v t="$2" 'BEGIN {
		if (r == "-") print "-"
		else if (r + 0 <= t + 0) print "PASS"
		else printf "MISS (+%.0f%%)\n", (r / t - 1) * 100 }'
}

report() {
	local kver
	kver=$(uname -r)
	echo "## vaudit benchmark"
	echo
	if (( debian )); then
		echo "- host from real Debian 12 packages: $nentries entries below ROOT (files $(stat_of files), directories $(stat_of dirs), symlinks $(stat_of symlinks); $(stat_of inodes) inodes) in $guests guests of $(stat_of debian_packages) packages (dpkg-deb -x, cp -a, extra packages and upgrades); built in ${gen_secs}s"
		echo "- unified (2.4 iunlink) inodes: $unified, shared by the first $(stat_of unified_guests) guests ($(stat_of unified_linked) names linked; $(stat_of unified_names) names in all, Debian's own hard links included); +t-only private files: $(stat_of notail_only); ROOT has the 2.4 barrier (mode 0000 + t)"
	else
		echo "- tree: $nentries entries below ROOT (files $(stat_of files), directories $(stat_of dirs), symlinks $(stat_of symlinks); $(stat_of inodes) inodes) in $guests guests; generated in ${gen_secs}s (seed $seed, mktree -u $unified_pm)"
		echo "- unified (2.4 iunlink) inodes: $unified created, each linked into all $guests guests ($(stat_of unified_names) names); +t-only private files: $(stat_of notail_only); ROOT has the 2.4 barrier (mode 0000 + t)"
	fi
	echo "- ext4 on a loop device, kernel $kver, $(nproc) CPUs; $runs timed runs per tool and cache state, alternating; warm = after one untimed warm-up; cold = sync + drop_caches before each run"
	echo "- vaudit: ${vaudit:-not run}"
	echo
	if [[ -n $vaudit ]]; then
		echo "### Correctness"
		echo
		echo "| check | value |"
		echo "| --- | --- |"
		echo "| unified inodes created by the generator | $unified |"
		echo "| multi-link inodes (find -links +1) | $nshared |"
		echo "| legacy-iunlink findings (vaudit --json) | $found |"
		echo "| +t-only files created / legacy-notail findings (vaudit --json, default) | $(stat_of notail_only) / $notail |"
		echo "| vaudit --json exit status (1 expected) | $json_rc |"
		echo "| all findings by kind | ${kinds:-none} |"
		echo "| method (the summary record of vaudit --json ROOT) | ${method:-?} |"
		if (( ndr )); then
			echo "| legacy-iunlink / legacy-notail with --no-device-read (method ${method_ndr:-?}) | $found_ndr / $notail_ndr |"
		fi
		if (( thorough )); then
			echo "| legacy-iunlink / legacy-notail findings with --thorough (expected $unified / $(stat_of notail_only)) | $found_thorough / $notail_thorough |"
		fi
		echo "| result | **$check** |"
		echo
	fi
	echo "### Times (wall seconds)"
	echo
	echo "| tool | warm median | warm min | cold median | cold min | peak RSS (KiB) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	for t in "${tools[@]}"; do
		echo "| \`$(label "$t")\` | ${med[warm.$t]} | ${mn[warm.$t]} | ${med[cold.$t]} | ${mn[cold.$t]} | ${rss[$t]} |"
	done
	echo
	if [[ -n $vaudit ]]; then
		echo "### Ratios (medians; below 1 = vaudit faster)"
		echo
		echo "| ratio | warm | target (warm) | result | cold | target (cold) | result |"
		echo "| --- | ---: | --- | --- | ---: | --- | --- |"
		local row v o name wr cr wt ct wv cv
		for row in vaudit.lsattr vaudit.find vaudit.bfs vaudit-ndr.lsattr vaudit-ndr.find vaudit-thorough.lsattr; do
			v=${row%%.*}
			o=${row#*.}
			[[ -n ${med[warm.$v]:-} && -n ${med[warm.$o]:-} ]] || continue
			name="$(label "$v" | sed 's/ ROOT//') / $(label "$o" | sed 's/ ROOT//')"
			wr=$(ratio "${med[warm.$v]}" "${med[warm.$o]}")
			cr=$(ratio "${med[cold.$v]}" "${med[cold.$o]}")
			wt=-; ct=-
			case $row in
			vaudit.lsattr) wt=$target_warm_lsattr ;;
			vaudit.find) wt=$target_warm_find; ct=$target_cold_find ;;
			vaudit.bfs) wt=$target_warm_bfs ;;
			esac
			wv=$(verdict "$wr" "$wt")
			cv=$(verdict "$cr" "$ct")
			[[ $o == lsattr && $wr != - ]] && wr="$wr ($(awk -v r="$wr" 'BEGIN { printf "%.2f", 1 / r }')x faster)"
			[[ $o == lsattr && $cr != - ]] && cr="$cr ($(awk -v r="$cr" 'BEGIN { printf "%.2f", 1 / r }')x faster)"
			[[ $wt == - ]] || wt="<= $wt"
			[[ $ct == - ]] || ct="<= $ct"
			echo "| $name | $wr | $wt | $wv | $cr | $ct | $cv |"
		done
		echo
	fi
	if (( ${#bad_status[@]} )); then
		echo "### Unexpected exit statuses"
		echo
		printf -- '- %s\n' "${bad_status[@]}"
		echo
	fi
	local f
	for f in vaudit vaudit-ndr vaudit-thorough find bfs; do
		if [[ -s $work/$f.err ]]; then
			echo "### stderr of $(label "$f" | sed 's/ ROOT//') (distinct lines, first 5)"
			echo
			echo '```'
			# loop device numbers differ between runs of the script
			sed -E 's#/dev/loop[0-9]+#/dev/loopN#g; s/device 7:[0-9]+/device 7:N/g' "$work/$f.err" |
				sort | uniq -c | sort -rn | head -n 5
			echo '```'
			echo
		fi
	done
	if (( do_strace )); then
		for t in "${tools[@]}"; do
			[[ -s $work/strace.$t ]] || continue
			echo "### strace -c -f: $(label "$t") (warm)"
			echo
			echo '```'
			# the header, the 12 most expensive calls and the total
			awk 'NR <= 2 || /^-/ || /total/ { print; next } n++ < 12' "$work/strace.$t"
			echo '```'
			echo
		done
	fi
}

report | tee "$work/results.md"

copy_out "$work"/{results.md,times.tsv,mktree.out,findings.jsonl,findings-thorough.jsonl,findings-ndr.jsonl} \
	"$work"/{summary.json,summary-ndr.json,unify.out} "${tools[@]/#/$work/strace.}"

if [[ -n $vaudit && ${check:-} != PASS ]]; then
	say "correctness check FAILED: $found legacy-iunlink findings, $unified unified inodes; $notail legacy-notail findings, $(stat_of notail_only) +t-only files (vaudit --json exit $json_rc)"
	exit 1
fi
exit 0
