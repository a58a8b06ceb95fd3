# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034,SC2154
# (SC2034/SC2154: variables shared with the sourcing script)
#
# bench/lib.sh - shell functions shared by bench-audit.sh and bench-image.sh
# (bench-unify.sh uses the generic ones: messages, clock, work directory,
# cleanup, drop_caches, measure_rss, stats, ratio).
#
# Sourced, not run.  The caller sets `prog` (its name for messages) and
# `srcdir` (this directory), runs under `set -euo pipefail`, and then uses:
#
#   die/say/posint            messages and option checks
#   now_us VAR                wall clock in microseconds, no process spawned
#   disk_init / disk_sectors VAR
#                             sectors read so far from the disk under the work
#                             directory (VAR is empty when it is unknown)
#   find_vaudit [none-ok]     resolve $vaudit to an absolute path
#   make_work                 mktemp -d; sets work, img, mnt, root, loop, mounted
#   build_image N G S [U]     compile mktree.c, make the ext4 image, attach it,
#                             mount it rw on $mnt and generate the tree in $root
#                             (U: unified files per mille, mktree -u; default 10)
#   make_image SIZE INODES    make, attach and mount an empty ext4 image
#   stat_of KEY               a key=value statistic of the generator
#   img_loops                 the loop devices backed by $img (ours: $img is in $work)
#   release_image             unmount $mnt and detach every loop device of $img
#   bench_cleanup             the EXIT trap: release_image, then rm -rf $work
#   drop_caches               sync; echo 3 >/proc/sys/vm/drop_caches
#   measure_rss CMD...        peak RSS of CMD in KiB ("n/a" if unknown)
#   stats MODE TOOL           "median min" seconds from $work/times.tsv
#   ratio A B                 A / B with two decimals, "-" if either is missing

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
say() { printf '%s: %s\n' "$prog" "$*" >&2; }

posint() {
	if ! [[ $2 =~ ^[0-9]+$ ]] || (( $2 < 1 )); then
		die "$1: not a positive integer: $2"
	fi
}

# ------------------------------------------------------------ clock
# now_us VAR: sets VAR to the wall clock in µs.  With $EPOCHREALTIME (bash 5)
# no process and no subshell is spawned.
if [[ -n ${EPOCHREALTIME:-} ]]; then
	now_us() { printf -v "$1" '%s' "${EPOCHREALTIME//[!0-9]/}"; }
else
	now_us() { local t; t=$(date +%s%N); printf -v "$1" '%s' "${t%???}"; }
fi

# ------------------------------------------------------------ disk reads
# The statistics file of the block device under the work directory, if it is
# a plain block device (for a partition, the partition's own counters).
disk_stat=
disk_name=
disk_init() {
	local src dev
	src=$(findmnt -n -o SOURCE -T "$work" 2>/dev/null) || return 0
	src=${src%%\[*}
	[[ $src == /dev/* ]] || return 0
	dev=$(readlink -f "$src") || return 0
	dev=${dev##*/}
	if [[ -r /sys/class/block/$dev/stat ]]; then
		disk_stat=/sys/class/block/$dev/stat
		disk_name=$dev
	fi
}
# disk_sectors VAR: sectors (512 bytes) read so far, or empty.
disk_sectors() {
	local _a _b _c _rest
	if [[ -n $disk_stat ]] && read -r _a _b _c _rest <"$disk_stat"; then
		printf -v "$1" '%s' "$_c"
	else
		printf -v "$1" '%s' ''
	fi
}

# ------------------------------------------------------------ the vaudit binary
# find_vaudit [none-ok]: $vaudit (from --vaudit or $VAUDIT), else ../vaudit
# next to this directory, else vaudit in PATH.  With none-ok, "none" empties
# $vaudit.
find_vaudit() {
	if [[ -z $vaudit ]]; then
		if [[ -x $srcdir/../vaudit ]]; then
			vaudit=$srcdir/../vaudit
		elif command -v vaudit >/dev/null; then
			vaudit=$(command -v vaudit)
		else
			die "vaudit not found: build it (autoreconf -fi && ./configure && make), or pass --vaudit PATH"
		fi
	fi
	if [[ $vaudit == none ]]; then
		[[ ${1:-} == none-ok ]] || die "--vaudit none: this benchmark times vaudit only"
		vaudit=
		return 0
	fi
	[[ $vaudit == */* ]] || vaudit=$(command -v "$vaudit") || die "vaudit not found"
	[[ -x $vaudit && -f $vaudit ]] || die "not an executable: $vaudit"
	vaudit=$(cd "$(dirname "$vaudit")" && pwd)/$(basename "$vaudit")
}

# ------------------------------------------------------------ peak RSS
rss_method=none
if [[ -x /usr/bin/time ]] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
	rss_method='time'
elif command -v python3 >/dev/null; then
	rss_method=python
fi

# measure_rss CMD...: prints the peak RSS of CMD in KiB, or n/a.  Output and
# exit status of CMD are discarded.
measure_rss() {
	local f=$work/rss.$$
	rm -f "$f"
	case $rss_method in
	time)
		/usr/bin/time -f %M -o "$f" "$@" >/dev/null 2>&1 || true
		;;
	python)
		python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@" >"$f" 2>/dev/null || true
		;;
	esac
	if [[ -s $f ]]; then tail -n 1 "$f"; else echo n/a; fi
	rm -f "$f"
}

# ------------------------------------------------------------ work directory
work=
img=
mnt=
root=
loop=
mounted=0
keep=${keep:-0}

make_work() {
	local base=${BENCH_DIR:-${TMPDIR:-/tmp}}
	[[ -d $base ]] || die "BENCH_DIR $base is not a directory"
	work=$(mktemp -d "$base/vaudit-bench.XXXXXX") || die "mktemp -d in $base failed"
	img=$work/fs.img
	mnt=$work/mnt
	root=$mnt/vservers
	mkdir "$mnt"
	if [[ $(findmnt -n -o FSTYPE -T "$work") == tmpfs ]]; then
		say "warning: $work is on tmpfs: the image lives in RAM, cold-cache runs are not cold (set BENCH_DIR)"
	fi
}

# img_loops: the loop devices backed by $img, one per line.  $img lives in
# our own mktemp directory, so every one of them was made by this run.
img_loops() {
	[[ -n $img && -e $img ]] || return 0
	losetup -j "$img" 2>/dev/null | cut -d: -f1
}

# release_image: unmount everything of ours and detach our loop devices.
# Returns non-zero if something is left behind.
release_image() {
	local dev t left=0 i
	if [[ -n $mnt ]] && mountpoint -q "$mnt" 2>/dev/null; then
		dev=$(findmnt -n -o SOURCE -M "$mnt")
		if img_loops | grep -qxF -- "$dev"; then
			umount "$mnt" || { say "cleanup: umount $mnt failed"; left=1; }
		else
			say "cleanup: $mnt is mounted from $dev, which is not our image; leaving it"
			left=1
		fi
	fi
	for dev in $(img_loops); do
		while read -r t; do
			[[ -n $t ]] || continue
			if [[ $t == "$work"/* ]]; then
				umount "$t" || { say "cleanup: umount $t failed"; left=1; }
			else
				say "cleanup: $dev is mounted on $t, outside $work; leaving it"
				left=1
			fi
		done < <(findmnt -n -o TARGET -S "$dev" 2>/dev/null || true)
	done
	# Loop devices set up by `mount -o loop` clear themselves on umount,
	# possibly a moment later; detach what is still there.
	for (( i = 0; i < 50; i++ )); do
		[[ -z $(img_loops) ]] && break
		sleep 0.1
	done
	for dev in $(img_loops); do
		losetup -d "$dev" 2>/dev/null || true
	done
	for (( i = 0; i < 50; i++ )); do
		[[ -z $(img_loops) ]] && break
		sleep 0.1
	done
	if [[ -n $(img_loops) ]]; then
		say "cleanup: loop devices still attached to $img: $(img_loops | tr '\n' ' ')"
		left=1
	fi
	mounted=0
	loop=
	return "$left"
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
bench_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM HUP
	[[ -n $work ]] || exit "$rc"
	if (( keep )); then
		local how=
		say "--keep: work directory $work kept (image $img)"
		if [[ -n $mnt ]] && mountpoint -q "$mnt"; then
			say "  $(findmnt -n -o SOURCE -M "$mnt") is mounted on $mnt; ROOT is $root"
			how="umount $mnt; "
		fi
		[[ -n $(img_loops) ]] && how+="losetup -d $(img_loops | tr '\n' ' ')"'; '
		say "  to clean up: ${how}rm -rf $work"
		exit "$rc"
	fi
	# No `chattr -i` is needed: the immutable files live inside the image,
	# and deleting the image file deletes them.
	release_image
	if [[ -d $mnt ]] && mountpoint -q "$mnt"; then
		say "cleanup: $mnt is still mounted; leaving $work"
	elif [[ -n $(img_loops) ]]; then
		say "cleanup: $img is still attached to a loop device; leaving $work"
	else
		rm -rf --one-file-system -- "$work"
	fi
	exit "$rc"
}

bench_traps() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# ------------------------------------------------------------ image and tree
stat_of() { sed -n "s/^$1=//p" "$work/mktree.out"; }

# make_image SIZE INODES: a sparse ext4 image of SIZE bytes with INODES
# inodes, attached to $loop and mounted read-write on $mnt; makes $root.
make_image() {
	local size=$1 inodes=$2
	say "making a sparse $(( size >> 20 )) MiB ext4 image with $inodes inodes in $work"
	truncate -s "$size" "$img"
	mke2fs -q -F -t ext4 -m 0 -N "$inodes" -L vaudit-bench "$img" || die "mke2fs failed"
	loop=$(losetup --find --show --direct-io=on "$img" 2>/dev/null) ||
		loop=$(losetup --find --show "$img") || die "losetup failed"
	# noinit_itable: no ext4lazyinit thread writing inode tables behind the runs.
	mount -t ext4 -o noinit_itable "$loop" "$mnt" || die "mount $loop failed"
	mounted=1
	mkdir "$root"
}

# build_image ENTRIES GUESTS SEED [PERMILLE]: leaves the image attached to
# $loop and mounted read-write on $mnt, with the tree in $root.  PERMILLE is
# mktree -u (unified files per mille of the template's files; default 10).
# Sets gen_secs.
gen_secs=
build_image() {
	local entries=$1 guests=$2 seed=$3 permille=${4:-10} cc=${CC:-cc} inodes size t0 t1
	say "compiling the generator"
	$cc -O2 -o "$work/mktree" "$srcdir/mktree.c" || die "cannot compile $srcdir/mktree.c"

	inodes=$(( entries * 5 / 4 + 20000 ))
	size=$(( entries * 8192 ))
	(( size >= 4 << 30 )) || size=$(( 4 << 30 ))
	make_image "$size" "$inodes"

	say "generating about $entries entries in $guests guests (unified: $permille per mille)"
	now_us t0
	"$work/mktree" -n "$entries" -g "$guests" -s "$seed" -u "$permille" -m "$work/manifest" "$root" >"$work/mktree.out" ||
		die "the generator failed"
	now_us t1
	gen_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	say "generated in ${gen_secs}s: $(tr '\n' ' ' <"$work/mktree.out")"

	# The 2.4 chroot barrier on ROOT: mode 0000 plus 0x8000 (lsattr t).
	chmod 000 "$root"
	chattr +t "$root"
	sync
}

# copy_out PATH...: with --out DIR, copy each PATH that exists (globs are
# the caller's) to DIR and say so; without it, nothing.
copy_out() {
	local f
	[[ -n $outdir ]] || return 0
	mkdir -p "$outdir"
	for f in "$@"; do
		[[ -e $f ]] && cp "$f" "$outdir"/
	done
	say "results written to $outdir"
}

# ------------------------------------------------------------ runs and report
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# stats MODE TOOL [COLUMN]: "median min" of COLUMN (default 4, µs, printed in
# seconds) over the rows of $work/times.tsv for MODE and TOOL; "- -" if none.
stats() {
	awk -F '\t' -v m="$1" -v t="$2" -v c="${3:-4}" '
		$1 == m && $2 == t && $c != "" { v[n++] = c == 4 ? $c / 1e6 : $c }
		END {
			if (!n) { print "- -"; exit }
			for (i = 1; i < n; i++)          # insertion sort
				for (j = i; j > 0 && v[j-1] > v[j]; j--) { x = v[j]; v[j] = v[j-1]; v[j-1] = x }
			med = n % 2 ? v[int(n/2)] : (v[n/2-1] + v[n/2]) / 2
			printf "%.3f %.3f\n", med, v[0]
		}' "$work/times.tsv"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# parse_args ARGS...: the options both benches take; sets entries, runs,
# keep, vaudit, guests, seed, outdir, do_strace, do_cold, and unified_pm when
# the caller has set it (defaults are the caller's) and calls the caller's usage() for help and bad input
parse_args() {
	while (( $# )); do
		case $1 in
		--entries) (( $# >= 2 )) || usage 2; posint "$1" "$2"; entries=$2; shift 2 ;;
		--entries=*) posint --entries "${1#*=}"; entries=${1#*=}; shift ;;
		--runs) (( $# >= 2 )) || usage 2; posint "$1" "$2"; runs=$2; shift 2 ;;
		--runs=*) posint --runs "${1#*=}"; runs=${1#*=}; shift ;;
		--keep) keep=1; shift ;;
		--vaudit) (( $# >= 2 )) || usage 2; vaudit=$2; shift 2 ;;
		--vaudit=*) vaudit=${1#*=}; shift ;;
		--guests) (( $# >= 2 )) || usage 2; posint "$1" "$2"; guests=$2; shift 2 ;;
		--guests=*) posint --guests "${1#*=}"; guests=${1#*=}; shift ;;
		--seed) (( $# >= 2 )) || usage 2; seed=$2; shift 2 ;;
		--seed=*) seed=${1#*=}; shift ;;
		--out) (( $# >= 2 )) || usage 2; outdir=$2; shift 2 ;;
		--out=*) outdir=${1#*=}; shift ;;
		--unified|--unified=*)
			[[ -n ${unified_pm+set} ]] || { say "unknown argument: $1"; usage 2; }
			if [[ $1 == *=* ]]; then unified_pm=${1#*=}; shift
			else (( $# >= 2 )) || usage 2; unified_pm=$2; shift 2; fi
			if ! [[ $unified_pm =~ ^[0-9]+$ ]] || (( unified_pm > 1000 )); then
				die "--unified: not a number from 0 to 1000: $unified_pm"
			fi ;;
		--strace) do_strace=1; shift ;;
		--no-cold) do_cold=0; shift ;;
		-h|--help) usage 0 ;;
		*) say "unknown argument: $1"; usage 2 ;;
		esac
	done
	[[ $seed =~ ^[0-9]+$ ]] || die "--seed: not a number: $seed"
	(( guests >= 2 )) || die "--guests: need at least 2 guests (unified files are shared)"
}
