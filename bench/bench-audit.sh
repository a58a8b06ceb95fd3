#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-audit.sh - time `vaudit ROOT` against `lsattr -R`, `find` and `bfs`
# on a synthetic multi-guest Linux-VServer tree in a loop-mounted ext4 image.
#
# Usage: bench/bench-audit.sh [--entries N] [--runs R] [--keep] [--vaudit PATH]
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

# Targets (warm cache, medians).
target_lsattr_speedup=2.5   # vaudit at least this many times faster than lsattr -R
target_find_ratio=1.6       # vaudit at most this many times bare find

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

parse_args "$@"

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
build_image "$entries" "$guests" "$seed"
unified=$(stat_of unified_inodes)

# ------------------------------------------------------------ tools
tools=()
[[ -n $vaudit ]] && tools+=(vaudit)
# --thorough reads the flags of every file, as lsattr does: timed as an extra row.
thorough=0
if [[ -n $vaudit ]] && "$vaudit" --help 2>&1 | grep -q -e '--thorough'; then
	thorough=1
	tools+=(vaudit-thorough)
fi
tools+=(lsattr find)
(( have_bfs )) && tools+=(bfs)

label() {
	case $1 in
	vaudit) printf 'vaudit ROOT' ;;
	vaudit-thorough) printf 'vaudit --thorough ROOT' ;;
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
	if [[ $found == "$unified" && $json_rc == 1 ]]; then
		check=PASS
	else
		check=FAIL
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
		[[ $t == bfs || $t == vaudit-thorough ]] && continue
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

report() {
	local kver
	kver=$(uname -r)
	echo "## vaudit benchmark"
	echo
	echo "- tree: $nentries entries below ROOT (files $(stat_of files), directories $(stat_of dirs), symlinks $(stat_of symlinks)) in $guests guests; generated in ${gen_secs}s (seed $seed)"
	echo "- unified (2.4 iunlink) inodes: $unified created, each linked into all $guests guests ($(stat_of unified_names) names); +t-only private files: $(stat_of notail_only); ROOT has the 2.4 barrier (mode 0000 + t)"
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
		echo "| vaudit --json exit status (1 expected) | $json_rc |"
		echo "| all findings by kind | ${kinds:-none} |"
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
		local o v name wr cr target verdict speed
		echo "### Ratios (medians; below 1 = vaudit faster)"
		echo
		echo "| ratio | warm | cold | target (warm) | result |"
		echo "| --- | ---: | ---: | --- | --- |"
		for o in lsattr find bfs thorough-lsattr; do
			v=vaudit
			name="vaudit / $(label "$o" | sed 's/ ROOT//')"
			if [[ $o == thorough-lsattr ]]; then
				(( thorough )) || continue
				v='vaudit-thorough'
				o=lsattr
				name="vaudit --thorough / lsattr -R"
			fi
			[[ -n ${med[warm.$o]:-} ]] || continue
			wr=$(ratio "${med[warm.$v]}" "${med[warm.$o]}")
			cr=$(ratio "${med[cold.$v]}" "${med[cold.$o]}")
			target=-
			verdict=-
			case $v.$o in
			vaudit.lsattr)
				target="vaudit >= ${target_lsattr_speedup}x faster (ratio <= $(awk -v s=$target_lsattr_speedup 'BEGIN { printf "%.2f", 1 / s }'))"
				speed=$(awk -v r="$wr" 'BEGIN { if (r == "-" || r + 0 == 0) print "-"; else printf "%.2f", 1 / r }')
				wr="$wr (${speed}x faster)"
				verdict=$(awk -v s="$speed" -v t=$target_lsattr_speedup 'BEGIN { print (s != "-" && s + 0 >= t) ? "PASS" : "MISS" }')
				;;
			vaudit-thorough.lsattr)
				speed=$(awk -v r="$wr" 'BEGIN { if (r == "-" || r + 0 == 0) print "-"; else printf "%.2f", 1 / r }')
				wr="$wr (${speed}x faster)"
				;;
			vaudit.find)
				target="<= $target_find_ratio"
				verdict=$(awk -v r="${wr%% *}" -v t=$target_find_ratio 'BEGIN { print (r != "-" && r + 0 <= t) ? "PASS" : "MISS" }')
				;;
			esac
			(( vaudit_failed )) && [[ $verdict != - ]] && verdict="invalid (vaudit failed)"
			echo "| $name | $wr | $cr | $target | $verdict |"
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
	for f in vaudit vaudit-thorough find bfs; do
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

if [[ -n $outdir ]]; then
	mkdir -p "$outdir"
	cp "$work/results.md" "$work/times.tsv" "$work/mktree.out" "$outdir"/
	for f in findings.jsonl findings-thorough.jsonl; do
		[[ -f $work/$f ]] && cp "$work/$f" "$outdir"/
	done
	for t in "${tools[@]}"; do
		[[ -f $work/strace.$t ]] && cp "$work/strace.$t" "$outdir"/
	done
	say "results written to $outdir"
fi

if [[ -n $vaudit && ${check:-} != PASS ]]; then
	say "correctness check FAILED: $found legacy-iunlink findings, $unified unified inodes (vaudit --json exit $json_rc)"
	exit 1
fi
exit 0
