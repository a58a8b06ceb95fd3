#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkfixture.sh IMAGE FSTYPE [--root-barrier] [--v26] [--size MiB] [--no-mount]
#
# Build a small ext2/ext3/ext4 image holding a Linux-VServer host tree with
# every attribute state vaudit has to recognise (the encodings of both
# kernel generations: vaudit --list-flags, vaudit(8) FLAGS):
#
#   /vservers            ROOT; with --root-barrier it gets the 2.4 barrier
#                        (mode 0000 + chattr +t)
#   /vservers/g1 g2 g3   guests, plus a guest with a hostile name ($'g4\n\xff')
#                        and a symlink g4-link -> g1 (not a guest)
#   /outside             outside ROOT (symlink and hard-link targets)
#
# The tree is staged in a temporary directory, copied into the image with
# `mke2fs -d`, and the flags and modes are then set on the loop-mounted
# image with chattr/chmod, each from inside the parent directory (so paths
# beyond PATH_MAX work too).  IMAGE.manifest lists what was
# made (kind TAB path, path quoted with printf %q); it is documentation for
# humans only -- tests compute their expectations from debugfs and find.
#
# --v26 adds the on-disk bits of 2.6 vserver kernels, which no mainline
# kernel lets chattr set: after the image is unmounted they are ORed into
# the raw i_flags with `debugfs -w -R 'set_inode_field <INO> flags ...'`
# (inode numbers taken with stat on the mounted image, so odd names do not
# matter; existing bits such as ext4's 0x80000 extents are kept):
#   ROOT                       0x04000000 (2.6 barrier; no 2.4 barrier unless
#                              --root-barrier is given too, then both)
#   guest root g3              0x04000000                 barrier-on-guest
#   new guest g5               2.4 barrier (0000 + t)     legacy-barrier +
#                                                         barrier-on-guest
#   v26-unified files          0x10|0x08000000, names in g1 g2 g3: no finding
#   v26-iunlink-only (g1)      0x08000000, private        iunlink-not-immutable
#   v26-iunlink-shared (g2,g3) 0x08000000, shared         iunlink-not-immutable
#                                                         + shared-unprotected
#   v26-cow (g1)               0x20000000, private        cow (info)
#   v26-cow-unified (g1,g2)    0x10|0x08000000|0x20000000 cow (info)
#   v26-both (g1,g2)           0x10|0x8000|0x08000000     legacy-iunlink only
#   g2/srv/v26barrier          dir, 0x04000000, not a guest root: no finding
#   g1/etc/v26-udir            dir, 0x08000000: no finding
# The existing immutable-only shared file (g1/etc/immut-shared) is then
# shared-immutable-no-iunlink for any back end that sees the 2.6 bits.
# e2fsck -fn must find the result clean (checked; failure is fatal).
#
# --size MiB (default 64, at least 12) sets the image size; below 64 MiB the
# inode count shrinks with it (16384 * MiB / 64), which changes the inode
# numbers but not the tree.
#
# --no-mount builds the same image without a mount, as any user (the way
# e2fsprogs' own tests make theirs): after `mke2fs -d`, the flags (+t, +i,
# +a, the --v26 bits) and modes are written into the raw inodes with
# `debugfs -w set_inode_field <INO> ...`, and every inode of the tree gets
# owner 0:0 (what mke2fs -d copies from a staging tree root made).  The
# inode numbers come from a walk of the image with debugfs `ls -p`
# (testdata/imgtree.py; raw names, so odd bytes and paths past PATH_MAX
# work).  Same layout, inode numbers, flags, modes, owners and link counts
# as the mounted build (tests/integration/fixture-nomount.sh compares the
# two inode for inode); only times and the superblock's mount fields
# differ.  Needs python3 and debugfs; e2fsck -fn must find the result clean.
#
# Must run as root (loop mount, chattr +i) unless --no-mount is given.  Scratch files (staging tree,
# mountpoint) live in one mktemp -d directory next to IMAGE that is removed
# on exit, even on failure or SIGINT/SIGTERM; on failure IMAGE and
# IMAGE.manifest are removed too.  Refuses to overwrite an existing IMAGE.
# The layout (names, link structure, inode numbers) is deterministic; the
# manifest lists every state and why it is (or is not) a finding.

set -euo pipefail
export LC_ALL=C
unset CDPATH
# A reader that went away (killed test) must not kill us before cleanup.
trap '' PIPE

prog=${0##*/}
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }

usage() {
	printf 'usage: %s IMAGE ext2|ext3|ext4 [--root-barrier] [--v26] [--size MiB] [--no-mount]\n' "$prog" >&2
	exit 2
}

[ $# -ge 2 ] || usage
IMAGE=$1
FSTYPE=$2
shift 2
ROOT_BARRIER=0
V26=0
NOMOUNT=0
SIZE_MIB=64
while [ $# -gt 0 ]; do
	case $1 in
		--root-barrier) ROOT_BARRIER=1 ;;
		--v26)          V26=1 ;;
		--no-mount)     NOMOUNT=1 ;;
		--size)
			[ $# -ge 2 ] || usage
			SIZE_MIB=$2
			shift
			;;
		--size=*)       SIZE_MIB=${1#--size=} ;;
		*)              usage ;;
	esac
	shift
done
[[ $SIZE_MIB =~ ^[0-9]{1,5}$ ]] && [ "$SIZE_MIB" -ge 12 ] || die "--size: '$SIZE_MIB' is not a number of MiB >= 12"
case $FSTYPE in ext2|ext3|ext4) ;; *) usage ;; esac
[ "$NOMOUNT" -eq 1 ] || [ "$(id -u)" -eq 0 ] ||
	die "must run as root (loop mount, chattr +i); --no-mount builds without root"
[ ! -e "$IMAGE" ] || die "'$IMAGE': already exists, refusing to overwrite"
[ ! -e "$IMAGE.manifest" ] || die "'$IMAGE.manifest': already exists, refusing to overwrite"
if [ "$NOMOUNT" -eq 1 ]; then
	tools=(mke2fs mkfifo truncate debugfs e2fsck python3)
else
	tools=(mke2fs chattr mount umount mountpoint mkfifo truncate stat)
fi
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
IMGTREE=$(dirname -- "$0")/imgtree.py
[ "$NOMOUNT" -eq 0 ] || [ -r "$IMGTREE" ] || die "'$IMGTREE' not found (needed by --no-mount)"
if [ "$V26" -eq 1 ]; then
	for tool in debugfs e2fsck; do
		command -v "$tool" >/dev/null || die "$tool not found (needed by --v26)"
	done
fi

# The scratch directory sits next to IMAGE, so whoever owns IMAGE's
# directory (a test's temp dir) also finds and undoes our mount if we are
# killed outright.
work=$(mktemp -d "$(dirname -- "$IMAGE")/.mkfixture.XXXXXX") || die "mktemp -d failed"
S=$work/staging
M=$work/mnt
mkdir "$S" "$M"
built=0

cleanup() {
	local rc=$?
	set +e
	trap - EXIT
	trap '' INT TERM HUP
	if [ "$NOMOUNT" -eq 0 ] && mountpoint -q "$M"; then
		umount "$M" || umount -l "$M"
	fi
	if [ "$NOMOUNT" -eq 0 ] && mountpoint -q "$M"; then
		printf '%s: cannot unmount %s, leaving %s\n' "$prog" "$M" "$work" >&2
	else
		# The staging tree never carries flags, but be safe before rm -rf.
		chattr -R -f -i -a "$S" 2>/dev/null
		rm -rf --one-file-system -- "$work"
	fi
	if [ "$built" -ne 1 ]; then
		rm -f -- "$IMAGE" "$IMAGE.manifest"
		[ "$rc" -ne 0 ] || rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- staging
# manifest entries (kind, path relative to the image root)
MAN_KIND=()
MAN_PATH=()
MAN_NOTE=()
# changes applied on the mounted image, in order: op, path
OPS=()
OPS_PATH=()

note() { MAN_KIND+=("$1"); MAN_PATH+=("$2"); MAN_NOTE+=("${3-}"); }
# op PATH OP...: queue operations (+t, +i, +a, mode=NNN) on PATH
op() {
	local p=$1 o
	shift
	for o in "$@"; do
		OPS+=("$o")
		OPS_PATH+=("$p")
	done
}
# mkf PATH: a regular file whose content is its own name (deterministic)
mkf() {
	mkdir -p -- "$S/$(dirname -- "$1")"
	printf 'vaudit fixture file: %s\n' "$1" >"$S/$1"
}
# lnk EXISTING NEW: hard link
lnk() {
	mkdir -p -- "$S/$(dirname -- "$2")"
	ln -- "$S/$1" "$S/$2"
}
# iunlink PATH: the 2.4 unified state (t first: flags of an immutable
# inode cannot be changed)
iunlink() { op "$1" +t +i; }
# v26 PATH BITS: OR BITS (hex) into the raw i_flags of PATH with debugfs
# after the image is unmounted (--v26 only)
V26_PATH=()
V26_BITS=()
v26() { V26_PATH+=("$1"); V26_BITS+=("$2"); }

R=vservers
mkdir -p "$S/$R/g1" "$S/$R/g2" "$S/$R/g3" "$S/outside"
printf 'not a guest\n' >"$S/$R/README"
note none "$R/README"
ln -s g1 "$S/$R/g4-link"         # a symlink is not a guest
note none "$R/g4-link" "symlink -> g1, not a guest"

# legacy-iunlink, private (nlink 1)
for p in g1/usr/bin/priv-iunlink g2/usr/bin/priv-iunlink g3/etc/priv-iunlink; do
	mkf "$R/$p"; iunlink "$R/$p"; note legacy-iunlink "$R/$p"
done
# legacy-iunlink, unified across guests (one inode, names in several guests)
for p in usr/lib/libc.so.6 usr/bin/ls; do
	mkf "$R/g1/$p"; lnk "$R/g1/$p" "$R/g2/$p"; lnk "$R/g1/$p" "$R/g3/$p"
	iunlink "$R/g1/$p"
	note legacy-iunlink "$R/g1/$p" "+g2,g3"
done
mkf "$R/g1/usr/share/doc/copyright"; lnk "$R/g1/usr/share/doc/copyright" "$R/g2/usr/share/doc/copyright"
iunlink "$R/g1/usr/share/doc/copyright"; note legacy-iunlink "$R/g1/usr/share/doc/copyright" "+g2"
# legacy-iunlink, hard-linked within one guest only
mkf "$R/g2/usr/lib/libsame.so"; lnk "$R/g2/usr/lib/libsame.so" "$R/g2/usr/lib/libsame-link.so"
iunlink "$R/g2/usr/lib/libsame.so"; note legacy-iunlink "$R/g2/usr/lib/libsame.so" "+libsame-link.so"

# legacy-notail (0x8000 without 0x10)
mkf "$R/g1/var/notail-private"; op "$R/g1/var/notail-private" +t
note 'legacy-notail(--thorough only)' "$R/g1/var/notail-private"
mkf "$R/g2/usr/share/notail-shared"; lnk "$R/g2/usr/share/notail-shared" "$R/g3/usr/share/notail-shared"
op "$R/g2/usr/share/notail-shared" +t
note 'legacy-notail+shared-unprotected' "$R/g2/usr/share/notail-shared" "+g3"
# hard-linked with a name outside ROOT: nlink 2, one guest
mkf "$R/g1/usr/bin/linked-outside"; lnk "$R/g1/usr/bin/linked-outside" outside/also-linked
op "$R/g1/usr/bin/linked-outside" +t
note legacy-notail "$R/g1/usr/bin/linked-outside" "+/outside/also-linked"

# legacy-barrier inside a guest, and lookalikes that are not barriers
mkdir -p "$S/$R/g2/srv/oldbarrier" "$S/$R/g2/srv/tdir" "$S/$R/g1/srv/mode0"
mkf "$R/g2/srv/oldbarrier/inside"; iunlink "$R/g2/srv/oldbarrier/inside"
note legacy-iunlink "$R/g2/srv/oldbarrier/inside"
op "$R/g2/srv/oldbarrier" +t mode=000; note legacy-barrier "$R/g2/srv/oldbarrier"
op "$R/g2/srv/tdir" +t;                note none "$R/g2/srv/tdir" "t, mode 0755"
op "$R/g1/srv/mode0" mode=000;         note none "$R/g1/srv/mode0" "mode 0000, no t"

# shared-unprotected, and shared states that are fine
mkf "$R/g1/usr/share/plain-shared"; lnk "$R/g1/usr/share/plain-shared" "$R/g3/usr/share/plain-shared"
note shared-unprotected "$R/g1/usr/share/plain-shared" "+g3, +g4"
mkf "$R/g3/var/log/append-shared"; lnk "$R/g3/var/log/append-shared" "$R/g1/var/log/append-shared"
op "$R/g3/var/log/append-shared" +a
note shared-unprotected "$R/g3/var/log/append-shared" "+g1, append-only"
mkf "$R/g1/usr/share/twice-a"; lnk "$R/g1/usr/share/twice-a" "$R/g1/usr/share/twice-b"
note none "$R/g1/usr/share/twice-a" "+twice-b, one guest"
mkf "$R/g1/etc/immut-shared"; lnk "$R/g1/etc/immut-shared" "$R/g2/etc/immut-shared"
op "$R/g1/etc/immut-shared" +i
note 'none|shared-immutable-no-iunlink' "$R/g1/etc/immut-shared" "+g2, i only (2.6: no iunlink)"
mkf "$R/g3/etc/immut-private"; op "$R/g3/etc/immut-private" +i
note none "$R/g3/etc/immut-private" "i only"

# hostile names
odd_iunlink=(
	'with space'
	$'new\nline'
	$'tab\there'
	"it's"
	'say "hi"'
	'-rf'
	'*?[a]'
	'back\slash'
	$'\xff\xfe'
	$'\e[31mred'
	'héllo'
	$'c1\xc2\x9bcsi'
	$'trailing\n'
	'.hidden'
)
for n in "${odd_iunlink[@]}"; do
	mkf "$R/g1/odd/$n"; iunlink "$R/g1/odd/$n"; note legacy-iunlink "$R/g1/odd/$n"
done
mkf "$R/g1/odd/plain"; note none "$R/g1/odd/plain"
mkf "$R/g3/odd/"$'dir with\nnewline/-\e]0;title\a'
iunlink "$R/g3/odd/"$'dir with\nnewline/-\e]0;title\a'
note legacy-iunlink "$R/g3/odd/"$'dir with\nnewline/-\e]0;title\a'
mkf "$R/g2/odd/"$'bin\xff'; lnk "$R/g2/odd/"$'bin\xff' "$R/g3/odd/"$'bin\xfe'
note shared-unprotected "$R/g2/odd/"$'bin\xff' "+g3/odd/bin\\xfe"

# a name of NAME_MAX (255) bytes
nmax=$(printf 'n%.0s' $(seq 255))
mkf "$R/g1/odd/$nmax"; iunlink "$R/g1/odd/$nmax"; note legacy-iunlink "$R/g1/odd/$nmax" "NAME_MAX name"

# a guest whose own name is hostile (newline, invalid UTF-8)
G4=$'g4
ÿ'
mkf "$R/$G4/etc/private"; iunlink "$R/$G4/etc/private"; note legacy-iunlink "$R/$G4/etc/private"
lnk "$R/g1/usr/share/plain-shared" "$R/$G4/usr/share/plain-shared"

# an immutable directory with t (mode 0755): neither iunlink nor barrier
mkdir -p "$S/$R/g3/etc/immdir"
op "$R/g3/etc/immdir" +t +i; note none "$R/g3/etc/immdir" "directory i+t, mode 0755"

# symlinks out of the tree; their targets are flagged
mkf outside/flagged; iunlink outside/flagged; note outside outside/flagged "i+t, outside ROOT"
mkf outside/dir/inner; iunlink outside/dir/inner; note outside outside/dir/inner "i+t, outside ROOT"
mkdir -p "$S/$R/g2/etc"
ln -s /outside/flagged "$S/$R/g1/escape";            note none "$R/g1/escape" "symlink -> /outside/flagged"
ln -s ../../outside/flagged "$S/$R/g1/escape-rel";   note none "$R/g1/escape-rel" "symlink -> ../../outside/flagged"
ln -s ../../outside/dir "$S/$R/g1/escape-dir";       note none "$R/g1/escape-dir" "symlink -> ../../outside/dir"
ln -s ../../../outside/dir "$S/$R/g2/etc/escape-dir"; note none "$R/g2/etc/escape-dir" "symlink -> ../../../outside/dir"

# a FIFO (opening it would block)
mkdir -p "$S/$R/g2/var/run"
mkfifo "$S/$R/g2/var/run/initctl"; note none "$R/g2/var/run/initctl" "fifo"

# a path longer than PATH_MAX: 60 components of 100 bytes
long=$R/g3/long
(
	mkdir -p -- "$S/$long"
	cd -- "$S/$long"
	for i in $(seq -w 1 60); do
		c=$(printf 'component-%s-%090d' "$i" 0)
		mkdir -- "$c"
		cd -- "$c"
	done
	printf 'bottom of a path longer than PATH_MAX\n' >leaf
)
for i in $(seq -w 1 60); do long+=/$(printf 'component-%s-%090d' "$i" 0); done
iunlink "$long/leaf"; note legacy-iunlink "$long/leaf" "path > PATH_MAX"

# a deep chain: 300 levels
deep=$R/g2/deep
for _ in $(seq 300); do deep+=/d; done
mkf "$deep/flagged"; iunlink "$deep/flagged"; note legacy-iunlink "$deep/flagged" "depth 300"

# 2.6 states (--v26): raw bits set with debugfs after unmounting
if [ "$V26" -eq 1 ]; then
	# properly unified for 2.6: immutable + iunlink, names in g1 g2 g3
	for p in usr/lib/libv26-unified.so.1 usr/bin/v26-unified; do
		mkf "$R/g1/$p"; lnk "$R/g1/$p" "$R/g2/$p"; lnk "$R/g1/$p" "$R/g3/$p"
		v26 "$R/g1/$p" 0x08000010
		note none "$R/g1/$p" "+g2,g3; 0x10|0x08000000, unified for 2.6"
	done
	# iunlink without immutable: private and shared
	mkf "$R/g1/usr/bin/v26-iunlink-only"; v26 "$R/g1/usr/bin/v26-iunlink-only" 0x08000000
	note 'iunlink-not-immutable(live: --thorough only)' "$R/g1/usr/bin/v26-iunlink-only" "0x08000000, nlink 1"
	mkf "$R/g2/usr/share/v26-iunlink-shared"
	lnk "$R/g2/usr/share/v26-iunlink-shared" "$R/g3/usr/share/v26-iunlink-shared"
	v26 "$R/g2/usr/share/v26-iunlink-shared" 0x08000000
	note 'iunlink-not-immutable+shared-unprotected' "$R/g2/usr/share/v26-iunlink-shared" "+g3; 0x08000000"
	# cow marker: private plain file, and on a unified shared file
	mkf "$R/g1/var/v26-cow"; v26 "$R/g1/var/v26-cow" 0x20000000
	note 'cow(info; live: --thorough only)' "$R/g1/var/v26-cow" "0x20000000, nlink 1"
	mkf "$R/g1/usr/lib/v26-cow-unified"; lnk "$R/g1/usr/lib/v26-cow-unified" "$R/g2/usr/lib/v26-cow-unified"
	v26 "$R/g1/usr/lib/v26-cow-unified" 0x28000010
	note 'cow(info)' "$R/g1/usr/lib/v26-cow-unified" "+g2; 0x10|0x08000000|0x20000000"
	# half migrated: 2.4 and 2.6 iunlink both set
	mkf "$R/g1/usr/lib/v26-both"; lnk "$R/g1/usr/lib/v26-both" "$R/g2/usr/lib/v26-both"
	iunlink "$R/g1/usr/lib/v26-both"; v26 "$R/g1/usr/lib/v26-both" 0x08000000
	note legacy-iunlink "$R/g1/usr/lib/v26-both" "+g2; 0x10|0x8000|0x08000000"
	# 2.6 bits on directories that are neither ROOT nor a guest root
	mkdir -p "$S/$R/g2/srv/v26barrier" "$S/$R/g1/etc/v26-udir"
	v26 "$R/g2/srv/v26barrier" 0x04000000; note none "$R/g2/srv/v26barrier" "dir 0x04000000 inside a guest"
	v26 "$R/g1/etc/v26-udir" 0x08000000;   note none "$R/g1/etc/v26-udir" "dir 0x08000000"
	# barriers on guest roots: 2.6 encoding on g3, 2.4 encoding on a new g5
	v26 "$R/g3" 0x04000000; note barrier-on-guest "$R/g3" "guest root, 0x04000000"
	mkf "$R/g5/etc/hostname"
	op "$R/g5" +t mode=000; note 'legacy-barrier+barrier-on-guest' "$R/g5" "guest root, mode 0000 + t"
	# ROOT: the 2.6 barrier
	v26 "$R" 0x04000000
fi

# ROOT itself
if [ "$ROOT_BARRIER" -eq 1 ]; then
	op "$R" +t mode=000; note legacy-barrier "$R" "ROOT, 2.4 barrier$([ "$V26" -eq 1 ] && echo ' and 2.6 barrier 0x04000000')"
elif [ "$V26" -eq 1 ]; then
	note none "$R" "ROOT, 2.6 barrier 0x04000000"
else
	note 'barrier-unverified|missing-barrier' "$R" "ROOT, no barrier (barrier-unverified where the 2.6 bits cannot be read)"
fi

# ---------------------------------------------------------------- image
# Fixed UUID, hash seed and time keep the image layout reproducible.
export E2FSPROGS_FAKE_TIME=1072915200   # 2004-01-01
NINODES=16384
[ "$SIZE_MIB" -ge 64 ] || NINODES=$((16384 * SIZE_MIB / 64))
truncate -s "${SIZE_MIB}M" -- "$IMAGE"
mke2fs -q -F -t "$FSTYPE" -b 1024 -I 256 -N "$NINODES" \
	-U 6f1c2a9e-2d4b-4e0a-9c55-5e7a0d1b2c3d \
	-E hash_seed=0b7c2f5e-9a31-4d6c-8e2f-4b1a6c9d0e7f \
	-L vaudit-fixture -d "$S" -- "$IMAGE" \
	|| die "mke2fs failed"
unset E2FSPROGS_FAKE_TIME

if [ "$NOMOUNT" -eq 1 ]; then
	# every change as "OP\0PATH\0", written with debugfs on inode numbers
	for i in "${!OPS[@]}"; do
		printf '%s\0%s\0' "${OPS[$i]}" "${OPS_PATH[$i]}"
	done >"$work/ops"
	for i in "${!V26_PATH[@]}"; do
		printf 'or=%s\0%s\0' "${V26_BITS[$i]}" "${V26_PATH[$i]}"
	done >>"$work/ops"
	err=$(python3 "$IMGTREE" apply "$IMAGE" <"$work/ops" 2>&1) ||
		die "cannot write the flags and modes with debugfs: $err"
	fsck_out=$(e2fsck -fn -- "$IMAGE" 2>&1) ||
		die "e2fsck -fn '$IMAGE' after --no-mount failed: $fsck_out"
	V26_INO=()
else
	mount -t "$FSTYPE" -o loop,rw -- "$IMAGE" "$M" || die "cannot loop-mount '$IMAGE'"

	# apply OP to PATH from inside its parent directory (works past PATH_MAX)
	apply() {
		local o=$1 p=$2
		(
			set -e
			cd -- "$M"
			if [[ $p == */* ]]; then
				IFS=/ read -r -d '' -a comps < <(printf '%s\0' "${p%/*}") || true
				for c in "${comps[@]}"; do cd -P -- "$c"; done
			fi
			b=${p##*/}
			case $o in
				mode=*) chmod "${o#mode=}" -- "$b" ;;
				+*)     chattr "$o" -- "$b" ;;
				*)      exit 3 ;;
			esac
		) || die "cannot apply $o to $(printf '%q' "$p")"
	}
	for i in "${!OPS[@]}"; do
		apply "${OPS[$i]}" "${OPS_PATH[$i]}"
	done

	# inode numbers of the --v26 targets, while the names are at hand
	V26_INO=()
	for i in "${!V26_PATH[@]}"; do
		ino=$(stat -c %i -- "$M/${V26_PATH[$i]}") || die "cannot stat $(printf '%q' "${V26_PATH[$i]}")"
		V26_INO+=("$ino")
	done

	umount "$M" || die "cannot unmount '$M'"
fi

# raw_flags INO: i_flags of inode INO as read by debugfs (hex, 0x...)
raw_flags() {
	DEBUGFS_PAGER=__none__ PAGER=__none__ debugfs -R "stat <$1>" -- "$IMAGE" 2>/dev/null |
		sed -n '1s/.*Flags: \(0x[0-9a-fA-F]*\).*/\1/p'
}
if [ "${#V26_INO[@]}" -gt 0 ]; then
	# OR the bits into the flags the image has now (ext4: 0x80000 extents)
	for i in "${!V26_INO[@]}"; do
		ino=${V26_INO[$i]}
		old=$(raw_flags "$ino")
		[ -n "$old" ] || die "debugfs: no flags for inode $ino"
		new=$(printf '0x%08x' $((old | ${V26_BITS[$i]})))
		err=$(DEBUGFS_PAGER=__none__ PAGER=__none__ debugfs -w \
			-R "set_inode_field <$ino> flags $new" -- "$IMAGE" 2>&1 >/dev/null |
			{ grep -v '^debugfs [0-9]' || true; })
		[ -z "$err" ] || die "debugfs set_inode_field <$ino> flags $new: $err"
		got=$(raw_flags "$ino")
		[ "$((got))" -eq "$((new))" ] ||
			die "inode $ino ($(printf '%q' "${V26_PATH[$i]}")): flags $got after setting $new"
	done
	# the image must stay clean for e2fsck (unknown i_flags bits are not
	# its business; a complaint here would make every image test moot)
	fsck_out=$(e2fsck -fn -- "$IMAGE" 2>&1) ||
		die "e2fsck -fn '$IMAGE' after --v26 failed: $fsck_out"
fi

{
	printf '# vaudit fixture %s %s%s%s --size %s%s -- documentation only, not ground truth\n' \
		"$(basename -- "$IMAGE")" "$FSTYPE" "$([ "$ROOT_BARRIER" -eq 1 ] && echo ' --root-barrier')" \
		"$([ "$V26" -eq 1 ] && echo ' --v26')" "$SIZE_MIB" "$([ "$NOMOUNT" -eq 1 ] && echo ' --no-mount')"
	printf '# expected_kind\tpath (printf %%q, relative to the image root)\tnote\n'
	for i in "${!MAN_KIND[@]}"; do
		printf '%s\t%q\t%s\n' "${MAN_KIND[$i]}" "${MAN_PATH[$i]}" "${MAN_NOTE[$i]}"
	done
} >"$IMAGE.manifest"

built=1
exit 0
