#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-scale.sh - how the time and the peak RSS of `vaudit ROOT` (and of
# `vhashify -n` over the guests) grow with the host: builds a (by default
# fully unified) mktree host of each size in turn, in a loop-mounted ext4
# image, and reports per size the entries, the warm seconds and the peak RSS
# of vaudit, vaudit --no-device-read, find and bfs (or the --tools chosen),
# and the peak RSS per million entries and per regular file.
#
# Usage: bench/bench-scale.sh [--sizes "1000000 3000000"] [--unified PERMILLE]
#                             [--runs R] [--guests G] [--seed S] [--vaudit PATH]
#                             [--tools LIST] [--vhashify PATH] [--out DIR] [--keep]
# Must run as root.  See bench/README.md.

set -euo pipefail
export LC_ALL=C

prog=${0##*/}
srcdir=$(cd "$(dirname "$0")" && pwd)

sizes="1000000 3000000"
unified_pm=1000
runs=3
keep=0
vaudit=${VAUDIT:-}
guests=6
seed=1
outdir=
do_strace=0
do_cold=0
entries=0
tool_list=
vhashify=${VHASHIFY:-}

usage() {
	cat <<EOF
Usage: $prog [OPTIONS]
  --sizes "N..."  host sizes in entries, built one after the other
                  (default "$sizes")
  --unified U     unified files per mille of the template's files (mktree -u;
                  default $unified_pm: every file below usr/ is one inode with
                  a name in each guest)
  --runs R        timed warm runs per tool and size, alternating (default $runs)
  --guests G      number of guests (default $guests)
  --seed S        generator seed (default $seed)
  --vaudit PATH   the vaudit binary (default: \$VAUDIT, else $srcdir/../vaudit,
                  else vaudit in PATH)
  --tools LIST    comma-separated, from vaudit, vaudit-ndr, find, bfs, vhashify
                  (default vaudit,vaudit-ndr,find and bfs when installed);
                  vhashify: vhashify -n --flags=none --manually over the guests,
                  a store beside ROOT
  --vhashify PATH the vhashify binary (default: \$VHASHIFY, else
                  $srcdir/../vhashify, else vhashify in PATH)
  --out DIR       also write results.md and times.tsv to DIR
  --keep          keep the last image mounted and the work directory
Environment: BENCH_DIR (where the work directory is made), CC.
EOF
	exit "${1:-0}"
}

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$srcdir/lib.sh"

args=()
while (( $# )); do
	case $1 in
	--sizes) (( $# >= 2 )) || usage 2; sizes=$2; shift 2 ;;
	--sizes=*) sizes=${1#*=}; shift ;;
	--tools) (( $# >= 2 )) || usage 2; tool_list=$2; shift 2 ;;
	--tools=*) tool_list=${1#*=}; shift ;;
	--vhashify) (( $# >= 2 )) || usage 2; vhashify=$2; shift 2 ;;
	--vhashify=*) vhashify=${1#*=}; shift ;;
	*) args+=("$1"); shift ;;
	esac
done
parse_args "${args[@]}"
for n in $sizes; do posint --sizes "$n"; done

(( EUID == 0 )) || die "must run as root (loop mount, chattr +i)"
for t in mke2fs losetup mount umount mountpoint findmnt chattr find; do
	command -v "$t" >/dev/null || die "$t not found"
done
find_vaudit ""
have_bfs=0
command -v bfs >/dev/null && have_bfs=1
[[ $rss_method != none ]] || die "no way to measure peak RSS (install the Debian package time)"

make_work
bench_traps

tools=(vaudit vaudit-ndr find)
(( have_bfs )) && tools+=(bfs)
if [[ -n $tool_list ]]; then
	IFS=, read -r -a tools <<<"$tool_list"
	for t in "${tools[@]}"; do
		case $t in
		vaudit|vaudit-ndr|find) ;;
		bfs) (( have_bfs )) || die "bfs is not installed" ;;
		vhashify) ;;
		*) die "--tools: unknown tool: $t" ;;
		esac
	done
fi
if [[ " ${tools[*]} " == *" vhashify "* ]]; then
	if [[ -z $vhashify ]]; then
		[[ -x $srcdir/../vhashify ]] && vhashify=$srcdir/../vhashify || vhashify=$(command -v vhashify) ||
			die "vhashify not found: build it, or pass --vhashify PATH"
	fi
	[[ -x $vhashify && -f $vhashify ]] || die "not an executable: $vhashify"
fi
label() {
	case $1 in
	vaudit) printf 'vaudit ROOT' ;;
	vaudit-ndr) printf 'vaudit --no-device-read ROOT' ;;
	find) printf 'find ROOT' ;;
	bfs) printf 'bfs ROOT' ;;
	vhashify) printf 'vhashify -n --flags=none --manually' ;;
	esac
}
set_cmd() {
	case $1 in
	vaudit) cmd=("$vaudit" "$root") ;;
	vaudit-ndr) cmd=("$vaudit" --no-device-read "$root") ;;
	find) cmd=(find "$root") ;;
	bfs) cmd=(bfs "$root") ;;
	vhashify) cmd=("$vhashify" -n --flags=none --no-progress --manually --destination "$mnt/hashstore" -- "${vh_trees[@]}") ;;
	esac
}
status_ok() {
	case $1 in
	vaudit*|vhashify) (( $2 == 0 || $2 == 1 )) ;;
	*) (( $2 == 0 )) ;;
	esac
}

: >"$work/times.tsv"
: >"$work/sizes.tsv"
bad=()
declare -a cmd
for n in $sizes; do
	if [[ -e $img ]]; then
		release_image || die "cannot release the previous image"
		rm -f "$img"
	fi
	build_image "$n" "$guests" "$seed" "$unified_pm"
	cp "$work/mktree.out" "$work/mktree.$n.out"
	# vhashify: every guest with no exclude list, a store on the same mount
	mkdir -m 700 "$mnt/hashstore"
	vh_trees=()
	for g in "$root"/*/; do vh_trees+=("${g%/}" ""); done
	say "size $n: counting entries"
	nentries=$(find "$root" -mindepth 1 | wc -l)
	ninodes=$(stat_of inodes)
	unified=$(stat_of unified_inodes)
	# correctness: every unified inode is found
	rc=0
	found=$("$vaudit" --json "$root" 2>/dev/null | grep -c -E '"kind": ?"legacy-iunlink"') || rc=$?
	"$vaudit" -q --json "$root" 2>/dev/null | tail -n 1 >"$work/summary.$n.json" || true
	method=$(grep -o -E '"method": ?"[^"]*"' "$work/summary.$n.json" | head -n 1 | sed -E 's/.*"([^"]*)"$/\1/' || true)
	[[ $found == "$unified" ]] && check=PASS || check=FAIL
	say "size $n: $nentries entries, $ninodes inodes, $unified unified inodes, $found legacy-iunlink findings ($check), method $method"
	say "size $n: warm-up, then $runs alternating warm runs"
	for t in "${tools[@]}"; do set_cmd "$t"; "${cmd[@]}" >/dev/null 2>&1 || true; done
	for (( r = 1; r <= runs; r++ )); do
		for t in "${tools[@]}"; do
			set_cmd "$t"
			now_us t0
			rc=0
			"${cmd[@]}" >/dev/null 2>>"$work/$t.err" || rc=$?
			now_us t1
			status_ok "$t" "$rc" || bad+=("$t (size $n, run $r): exit status $rc")
			printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$t" "$r" "$(( t1 - t0 ))" "$rc" >>"$work/times.tsv"
		done
	done
	for t in "${tools[@]}"; do
		set_cmd "$t"
		printf '%s\t%s\t%s\n' "$n" "$t" "$(measure_rss "${cmd[@]}")" >>"$work/rss.tsv"
	done
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$nentries" "$ninodes" "$unified" \
		"$(stat_of unified_names)" "$check:$found" "$method" >>"$work/sizes.tsv"
done

# ------------------------------------------------------------ report
report() {
	local n nentries ninodes unified unames check method t med mn rss per spm pf
	echo "## vaudit scaling benchmark"
	echo
	echo "- mktree hosts of $guests guests, unified $unified_pm per mille (mktree -u), seed $seed; ext4 on a loop device, kernel $(uname -r), $(nproc) CPUs; $runs warm runs per tool and size, alternating, after one untimed warm-up; peak RSS from one more run"
	echo "- vaudit: $vaudit"
	[[ -n $vhashify ]] && echo "- vhashify: $vhashify"
	echo
	echo "| requested | entries | inodes | unified inodes (names) | legacy-iunlink found | method |"
	echo "| ---: | ---: | ---: | ---: | --- | --- |"
	while IFS=$'\t' read -r n nentries ninodes unified unames check method; do
		echo "| $n | $nentries | $ninodes | $unified ($unames) | ${check#*:} (${check%%:*}) | $method |"
	done <"$work/sizes.tsv"
	echo
	echo "| entries | tool | warm median s | warm min s | s per M entries | peak RSS KiB | peak RSS MiB per M entries | peak RSS bytes per regular file |"
	echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	while IFS=$'\t' read -r n nentries ninodes unified unames check method; do
		for t in "${tools[@]}"; do
			read -r med mn < <(awk -F '\t' -v n="$n" -v t="$t" '
				$1 == n && $2 == t { v[k++] = $4 / 1e6 }
				END {
					if (!k) { print "- -"; exit }
					for (i = 1; i < k; i++)
						for (j = i; j > 0 && v[j-1] > v[j]; j--) { x = v[j]; v[j] = v[j-1]; v[j-1] = x }
					printf "%.3f %.3f\n", k % 2 ? v[int(k/2)] : (v[k/2-1] + v[k/2]) / 2, v[0]
				}' "$work/times.tsv")
			rss=$(awk -F '\t' -v n="$n" -v t="$t" '$1 == n && $2 == t { print $3 }' "$work/rss.tsv")
			per=$(awk -v r="$rss" -v e="$nentries" 'BEGIN { if (r !~ /^[0-9]+$/) print "-"; else printf "%.1f", r / 1024 / (e / 1e6) }')
			spm=$(awk -v s="$med" -v e="$nentries" 'BEGIN { if (s == "-") print "-"; else printf "%.2f", s / (e / 1e6) }')
			pf=$(awk -v r="$rss" -v f="$(sed -n "s/^files=//p" "$work/mktree.$n.out")" 'BEGIN { if (r !~ /^[0-9]+$/ || f + 0 == 0) print "-"; else printf "%.1f", r * 1024 / f }')
			echo "| $nentries | \`$(label "$t")\` | $med | $mn | $spm | $rss | $per | $pf |"
		done
	done <"$work/sizes.tsv"
	echo
	# The growth from one size to the next: what each further million entries
	# costs, without the fixed part (binary, libraries, buffers).
	if (( $(wc -l <"$work/sizes.tsv") > 1 )); then
		echo "| from → to entries | tool | added peak RSS KiB | MiB per added M entries |"
		echo "| --- | --- | ---: | ---: |"
		local pn='' pe='' r0 r1
		while IFS=$'\t' read -r n nentries ninodes unified unames check method; do
			if [[ -n $pn ]]; then
				for t in "${tools[@]}"; do
					r0=$(awk -F '\t' -v n="$pn" -v t="$t" '$1 == n && $2 == t { print $3 }' "$work/rss.tsv")
					r1=$(awk -F '\t' -v n="$n" -v t="$t" '$1 == n && $2 == t { print $3 }' "$work/rss.tsv")
					awk -v a="$r0" -v b="$r1" -v e0="$pe" -v e1="$nentries" -v l="$(label "$t")" -v f="$pe → $nentries" 'BEGIN {
						if (a !~ /^[0-9]+$/ || b !~ /^[0-9]+$/) { printf "| %s | `%s` | - | - |\n", f, l; exit }
						printf "| %s | `%s` | %d | %.1f |\n", f, l, b - a, (b - a) / 1024 / ((e1 - e0) / 1e6) }'
				done
			fi
			pn=$n; pe=$nentries
		done <"$work/sizes.tsv"
		echo
	fi
	if (( ${#bad[@]} )); then
		echo "### Unexpected exit statuses"
		echo
		printf -- '- %s\n' "${bad[@]}"
		echo
	fi
}

report | tee "$work/results.md"
copy_out "$work"/{results.md,times.tsv,rss.tsv,sizes.tsv} "$work"/mktree.*.out "$work"/summary.*.json
grep -q $'\tFAIL:' "$work/sizes.tsv" && { say "correctness check FAILED (see the table)"; exit 1; }
exit 0
