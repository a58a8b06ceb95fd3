#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkhost.sh IMAGE [--size MiB]
#
# Build an ext4 image holding an offline copy of a Linux-VServer host: the
# util-vserver configuration in /etc/vservers and the guests in /vservers
# (layout, exclude lists and hash stores as vserver-config(5) describes them), with
# one case for every configuration rule of vaudit --host-root PREFIX and
# --list.  Mount the image on PREFIX and run `vaudit --host-root PREFIX`.
#
# Image root = the host's /:
#
#   /etc/vservers/.defaults/
#     vdirbase -> /vservers                   guests without vdir use /vservers/NAME
#     apps/vunify/exclude                     the list of every guest without
#                                             its own (base, mail, old, ...),
#                                             its quirks reported once:
#               1 "# global list"         a comment
#               2 "+/etc/termcap"         fine: /etc itself is not excluded
#               3 "/etc/*"                fine
#               4 "/etc/ssh/"             never matches (ends in '/')
#               5 "etc/foo"               never matches (no leading '/')
#               6 " # indented"           never matches (not a comment)
#               7 "/var/[abc"             unmatched '['
#               8 "/usr/x<TAB>"           a tab stays part of the pattern
#               9 "/opt<CR>"              so does a carriage return
#              10 "~/srv/token*"          fine: a secret of those guests
#              11 "/sr<NUL>v"             a NUL byte ends the list here
#              12 "/after-nul"            ignored (no quirk of its own)
#     apps/vshelper-methods/mymethod          an installed vshelper method
#     apps/vunify/hash/method  "sha1"         the global hash directory
#     apps/vunify/hash/00 -> /vservers/.hash  the store on the guests' filesystem
#     apps/vunify/hash/01 -> /srv/hash-dup    a second entry on the same device:
#                                             util-vserver ignores it (duplicate),
#                                             so its unprotected entry is never
#                                             audited
#   /etc/vservers/GUEST/ (all vdir links absolute unless noted: an offline
#   copy resolves them inside PREFIX)
#     base    context 101, vdir, name "Base system", apps/vunify/ (the
#             reference guest), apps/vshelper/action "restart" (fine)
#     web     context 100, vdir, apps/init/mark "default", run ->
#             /var/run/vservers/web (which exists: offline, the state
#             stays unknown and the guest is never reported running),
#             apps/vunify/refserver.1 -> ../../../base (valid), and
#             apps/vunify/exclude with one quirk per line:
#               1 "/etc"                  fine (excludes /etc)
#               2 "+/etc/termcap"         shadowed by line 1
#               3 "x"                     one character: ignored
#               4 "/var/log   "           trailing spaces
#               5 "~/srv/secret*"         fine: a skip entry = a secret of web
#               6 "/tmp" (no newline)     ignored
#     mail    context 100: duplicate of web (both reported); vshelper
#             action "mymethod" (installed in .defaults: fine), vdir
#     old     context 70000: out of range; apps/init/mark a FIFO (never
#             opened: not a regular file)
#     junk    context "4\001\377x" (not a number), name holding a NUL byte
#             (binary), no vdir: .defaults/vdirbase/junk (exists)
#     nodir   no vdir, .defaults/vdirbase/nodir missing: vdir missing
#     ghost   vdir -> /vservers/ghost (missing)
#     dis     disabled, vdir -> /vservers/dis (missing): a warning only
#     loopy   vdir -> loopa, loopa -> loopb, loopb -> loopa (a loop)
#     escape  vdir -> ../../../../../../../../etc (climbs above PREFIX: refused)
#     peek    vdir -> ../../../../canary: one level above PREFIX (a test
#             plants a canary next to its mountpoint: it must never be seen)
#     refbad  apps/vunify/refserver.1 dangling, refserver.10 ->
#             ../../../mail (a guest without apps/vunify), refserver.2 ->
#             /etc (not a guest configuration directory), refserver.3 ->
#             ../../../refbad (itself), refserver.4 ->
#             ../../../../../../canary (just above PREFIX), vdir
#     cyc1    apps/vunify/refserver.1 -> ../../../cyc2, vdir
#     cyc2    apps/vunify/refserver.1 -> ../../../cyc1, vdir (a cycle);
#             context "7" and 100 spaces: more than 64 bytes
#     nons    nonamespace, vdir: /vservers has no barrier
#     helper  apps/vshelper/action "frobnicate" (no such method),
#             apps/init/mark a directory (unreadable), vdir
#     hashx   own apps/vunify/hash/: method "SHA-512" (unknown), 00 ->
#             /otherfs/hash; a test mounts another filesystem on /otherfs,
#             then no entry is on the guest's filesystem; vdir
#     hashb   own apps/vunify/hash/: method "SHA-1" (= sha1), 00 ->
#             /bindhash; a test bind-mounts /vservers/.hash there: same
#             filesystem, other mount (EXDEV); 01 -> /nonexistent (not a
#             directory); vdir
#     filevdir  vdir -> /vservers/README, a regular file
#     rootvdir  vdir -> /, the host's root directory
#   /etc/vservers/ entries that are not guests (if read as guests they
#   would add duplicate contexts): web.rpmsave/, old~/ (backups, context
#   100), .hidden/ (dot), README (a file)
#
#   /vservers                  no barrier (nonamespace guest nons, store)
#   /vservers/GUEST            base cyc1 cyc2 hashb hashx helper junk mail
#                              nons old refbad web (not: dis ghost nodir)
#   web/etc/shadow = base/etc/shadow            one inode: a built-in secret
#   web/srv/secret.key = base/srv/secret.key    one inode: secret by web's
#                                               "~/srv/secret*" entry
#   web/usr/bin/tool, web/usr/bin/tool;Ab3xYz   the backup of an interrupted
#                                               unification (leftover)
#   web/usr/bin/orphan;Zz9876                   no "orphan" beside it: nothing
#   mail/srv/token.txt = old/srv/token.txt      one inode: secret by the
#                                               .defaults list's "~/srv/token*"
#   mail/srv/secret.key = old/srv/secret.key    one inode, but only web's list
#                                               names /srv/secret*: no secret
#   /vservers/README                            a file, filevdir's "vdir"
#   /vservers/.hash            the store, mode 0700, no barrier
#     aa/bb/0a..0a-00000000    flags: not immutable      = web/usr/lib/liba.so
#     cc/dd/0c..0c-00000000    immutable 0x10, no iunlink = base/usr/lib/libc.so
#     ee/ff/0e..0e-00000000    0x08000010 (fine)          = web and base
#                                                         usr/lib/libe.so
#   /srv/hash-dup/12/34/...    duplicate store entry, not immutable
#   /otherfs/hash/, /bindhash/ empty mount points for the tests
#
# The raw 2.6 bits (no mainline kernel sets them) and the immutable bit
# are ORed into the inodes with debugfs -w after `mke2fs -d`; hard links
# survive mke2fs -d.  e2fsck -fn must find the result clean.  Everything
# is deterministic (fixed UUID, hash seed and times).  Idempotent: IMAGE
# is replaced atomically.  Needs mke2fs, debugfs and e2fsck, not root.
# Prints nothing on success.

set -eu
set -o pipefail
export LC_ALL=C
unset CDPATH
trap '' PIPE

prog=${0##*/}
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }

usage() {
	printf 'usage: %s IMAGE [--size MiB]\n' "$prog" >&2
	printf 'Build an ext4 image of an offline Linux-VServer host (/etc/vservers, /vservers)\n' >&2
	printf 'for vaudit --host-root; see the comment at the top of %s.\n' "$prog" >&2
	exit 2
}

[ $# -ge 1 ] || usage
case $1 in -h|--help) usage ;; -*) usage ;; esac
IMAGE=$1
shift
SIZE_MIB=16
while [ $# -gt 0 ]; do
	case $1 in
		--size)
			[ $# -ge 2 ] || usage
			SIZE_MIB=$2
			shift
			;;
		--size=*) SIZE_MIB=${1#--size=} ;;
		*) usage ;;
	esac
	shift
done
[[ $SIZE_MIB =~ ^[0-9]{1,5}$ ]] && [ "$SIZE_MIB" -ge 8 ] ||
	die "--size: '$SIZE_MIB' is not a number of MiB >= 8"
for tool in mke2fs debugfs e2fsck truncate touch mkfifo; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
[ ! -d "$IMAGE" ] || die "'$IMAGE' is a directory"

work=$(mktemp -d "$(dirname -- "$IMAGE")/.mkhost.XXXXXX") || die "mktemp -d failed"
cleanup() {
	local rc=$?
	set +e
	trap - EXIT
	rm -rf --one-file-system -- "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

S=$work/tree
E=$S/etc/vservers
V=$S/vservers
mkdir -p "$E" "$V"

# f PATH TEXT: a regular file (PATH relative to the tree) holding TEXT
f() {
	mkdir -p -- "$(dirname -- "$S/$1")"
	printf '%s' "$2" >"$S/$1"
}
# l TARGET PATH: a symlink
l() {
	mkdir -p -- "$(dirname -- "$S/$2")"
	ln -s -- "$1" "$S/$2"
}
# hl EXISTING NEW: a hard link
hl() {
	mkdir -p -- "$(dirname -- "$S/$2")"
	ln -- "$S/$1" "$S/$2"
}
# flags PATH BITS: OR BITS into the raw i_flags of PATH after mke2fs
FL_PATH=()
FL_BITS=()
flags() { FL_PATH+=("$1"); FL_BITS+=("$2"); }

# ---------------------------------------------------------------- .defaults
l /vservers etc/vservers/.defaults/vdirbase
f etc/vservers/.defaults/apps/vunify/hash/method $'sha1\n'
l /vservers/.hash etc/vservers/.defaults/apps/vunify/hash/00
# same device as 00: ignored by util-vserver, never audited as a store
l /srv/hash-dup etc/vservers/.defaults/apps/vunify/hash/01
# the global exclude list, one quirk (or none) per line, see above
# shellcheck disable=SC2088 # a '~' skip entry, not a home directory
printf '%s\n' '# global list' '+/etc/termcap' '/etc/*' '/etc/ssh/' 'etc/foo' ' # indented' \
	'/var/[abc' $'/usr/x\t' $'/opt\r' '~/srv/token*' >"$work/exclude"
printf '/sr\000v\n/after-nul\n' >>"$work/exclude"
mkdir -p "$E/.defaults/apps/vunify"
cp -- "$work/exclude" "$E/.defaults/apps/vunify/exclude"
f etc/vservers/.defaults/apps/vshelper-methods/mymethod $'#!/bin/sh\n'

# ---------------------------------------------------------------- guests
# base: the reference guest, nothing wrong
f etc/vservers/base/context $'101\n'
f etc/vservers/base/name $'Base system\n'
l /vservers/base etc/vservers/base/vdir
mkdir -p "$E/base/apps/vunify"
f etc/vservers/base/apps/vshelper/action $'restart\n'

# web: duplicate context (with mail), mark, valid refserver, quirky exclude list
f etc/vservers/web/context $'100\n'
l /vservers/web etc/vservers/web/vdir
f etc/vservers/web/apps/init/mark $'default\n'
# a run link to an existing run file: an offline copy still says "unknown"
l /var/run/vservers/web etc/vservers/web/run
f var/run/vservers/web $'42\n'
l ../../../base etc/vservers/web/apps/vunify/refserver.1
f etc/vservers/web/apps/vunify/exclude \
	$'/etc\n+/etc/termcap\nx\n/var/log   \n~/srv/secret*\n/tmp'

# mail: the same static context as web
f etc/vservers/mail/context $'100\n'
l /vservers/mail etc/vservers/mail/vdir
f etc/vservers/mail/apps/vshelper/action $'mymethod\n'

# old: a context outside 2-49151
f etc/vservers/old/context $'70000\n'
mkdir -p "$E/old/apps/init"
mkfifo -- "$E/old/apps/init/mark"
l /vservers/old etc/vservers/old/vdir

# junk: binary context and name; vdir from .defaults/vdirbase
printf '4\001\377x' >"$work/junk-context"
mkdir -p "$E/junk"
cp -- "$work/junk-context" "$E/junk/context"
printf 'ju\000nk\n' >"$E/junk/name"

# nodir: vdir from .defaults/vdirbase, which has no such directory
mkdir -p "$E/nodir"

# ghost: a vdir link to a missing directory
l /vservers/ghost etc/vservers/ghost/vdir

# dis: disabled, vdir missing (a warning only)
f etc/vservers/dis/disabled ''
l /vservers/dis etc/vservers/dis/vdir

# loopy: a symlink loop
l loopa etc/vservers/loopy/vdir
l loopb etc/vservers/loopy/loopa
l loopa etc/vservers/loopy/loopb

# escape: a vdir above the host root, to the real /etc if followed
l ../../../../../../../../etc etc/vservers/escape/vdir

# peek: just above the host root: a test's canary beside its mountpoint
l ../../../../canary etc/vservers/peek/vdir

# refbad: a dangling refserver and one that is no guest configuration
l /vservers/refbad etc/vservers/refbad/vdir
l ../../../nosuchguest etc/vservers/refbad/apps/vunify/refserver.1
l /etc etc/vservers/refbad/apps/vunify/refserver.2
l ../../../mail etc/vservers/refbad/apps/vunify/refserver.10
l ../../../refbad etc/vservers/refbad/apps/vunify/refserver.3
l ../../../../../../canary etc/vservers/refbad/apps/vunify/refserver.4

# cyc1 <-> cyc2: a refserver cycle
l /vservers/cyc1 etc/vservers/cyc1/vdir
l ../../../cyc2 etc/vservers/cyc1/apps/vunify/refserver.1
l /vservers/cyc2 etc/vservers/cyc2/vdir
l ../../../cyc1 etc/vservers/cyc2/apps/vunify/refserver.1
f etc/vservers/cyc2/context "7$(printf '%100s' '')"$'\n'

# nons: no mount namespace while /vservers has no barrier
f etc/vservers/nons/nonamespace ''
l /vservers/nons etc/vservers/nons/vdir

# helper: unknown vshelper method; a mark that is a directory
f etc/vservers/helper/apps/vshelper/action $'frobnicate now\n'
mkdir -p "$E/helper/apps/init/mark"
l /vservers/helper etc/vservers/helper/vdir

# hashx: own hash directory whose only store is on another filesystem
# (once a test mounts one on /otherfs), unknown method
l /vservers/hashx etc/vservers/hashx/vdir
f etc/vservers/hashx/apps/vunify/hash/method $'SHA-512\n'
l /otherfs/hash etc/vservers/hashx/apps/vunify/hash/00

# hashb: own hash directory whose store is a bind mount (once a test
# makes one on /bindhash); an entry that is not a directory
l /vservers/hashb etc/vservers/hashb/vdir
l /bindhash etc/vservers/hashb/apps/vunify/hash/00
l /nonexistent etc/vservers/hashb/apps/vunify/hash/01
f etc/vservers/hashb/apps/vunify/hash/method $'SHA-1\n'

# filevdir, rootvdir: vdirs that are no guest root
l /vservers/README etc/vservers/filevdir/vdir
l / etc/vservers/rootvdir/vdir

# not guests: backups, a dot directory, a file (context 100 each: read as
# guests they would be duplicates of web)
for n in web.rpmsave 'old~' .hidden; do
	f "etc/vservers/$n/context" $'100\n'
	l /vservers/web "etc/vservers/$n/vdir"
done
f etc/vservers/README $'not a guest\n'

# ---------------------------------------------------------------- guest trees
for g in base cyc1 cyc2 hashb hashx helper junk mail nons old refbad web; do
	f "vservers/$g/etc/hostname" "$g"$'\n'
done
# secrets shared by web and base
f vservers/base/etc/shadow $'root:*:12345:0:99999:7:::\n'
hl vservers/base/etc/shadow vservers/web/etc/shadow
f vservers/base/srv/secret.key $'-----BEGIN PRIVATE KEY-----\n'
hl vservers/base/srv/secret.key vservers/web/srv/secret.key
# a secret by the .defaults list; a name that is a secret of web only
f vservers/mail/srv/token.txt $'token\n'
hl vservers/mail/srv/token.txt vservers/old/srv/token.txt
f vservers/mail/srv/secret.key $'not a secret of mail or old\n'
hl vservers/mail/srv/secret.key vservers/old/srv/secret.key
f vservers/README $'not a guest\n'
# an interrupted unification: NAME;XXXXXX beside NAME; a lone one
f vservers/web/usr/bin/tool $'#!/bin/sh\necho new tool\n'
f 'vservers/web/usr/bin/tool;Ab3xYz' $'#!/bin/sh\necho old tool\n'
f 'vservers/web/usr/bin/orphan;Zz9876' $'no NAME beside me\n'

# ---------------------------------------------------------------- hash store
H=vservers/.hash
HA=aa/bb/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-00000000
HC=cc/dd/0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c-00000000
HE=ee/ff/0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e-00000000
f "$H/$HA" $'hash entry aa: not immutable\n'
hl "$H/$HA" vservers/web/usr/lib/liba.so
f "$H/$HC" $'hash entry cc: immutable, no iunlink\n'
hl "$H/$HC" vservers/base/usr/lib/libc.so
flags "/$H/$HC" 0x00000010
f "$H/$HE" $'hash entry ee: immutable + iunlink\n'
hl "$H/$HE" vservers/web/usr/lib/libe.so
hl "$H/$HE" vservers/base/usr/lib/libe.so
flags "/$H/$HE" 0x08000010
chmod 0700 "$S/$H"
# the duplicate entry's store: never audited
f srv/hash-dup/12/34/1212121212121212121212121212121212121212-00000000 $'duplicate store\n'
# mount points for the tests
mkdir -p "$S/otherfs/hash" "$S/bindhash"

# ---------------------------------------------------------------- image
# fixed times, UUID and hash seed: the same image every run (the fake
# time also keeps debugfs's superblock write times fixed)
find "$S" -exec touch -h -d @1072915200 {} +
export E2FSPROGS_FAKE_TIME=1072915200
img=$work/host.img
truncate -s "${SIZE_MIB}M" -- "$img"
mke2fs -q -F -t ext4 -b 1024 -I 256 -N 2048 \
	-U 5c0f2a6b-7d1e-4c3a-8b9f-1e2d3c4b5a69 \
	-E hash_seed=9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4 \
	-L vaudit-host -d "$S" -- "$img" >/dev/null || die "mke2fs failed"

dbg() { DEBUGFS_PAGER=__none__ PAGER=__none__ debugfs "$@"; }
raw_flags() {
	dbg -R "stat $1" -- "$img" 2>/dev/null | sed -n '1s/.*Flags: \(0x[0-9a-fA-F]*\).*/\1/p'
}
# mke2fs -d copies each file's ctime, which is "now" in the staging tree:
# set it to the fixed time too.  A fresh mke2fs -d allocates inodes
# 11, 12, ... in a row, so every inode below the first free one is in use.
first_free=$(dbg -R ffi -- "$img" 2>/dev/null | sed -n 's/^Free inode found: \([0-9]*\)$/\1/p')
[ -n "$first_free" ] || die "debugfs ffi: no free inode found"
{
	printf 'set_inode_field <2> ctime @1072915200\n'
	for ((i = 11; i < first_free; i++)); do
		printf 'set_inode_field <%d> ctime @1072915200\n' "$i"
	done
} >"$work/ctime.cmds"
err=$(dbg -w -f "$work/ctime.cmds" -- "$img" 2>&1 >/dev/null | { grep -v '^debugfs [0-9]' || true; })
[ -z "$err" ] || die "debugfs: setting ctime: $err"
for i in "${!FL_PATH[@]}"; do
	p=${FL_PATH[$i]}
	old=$(raw_flags "$p")
	[ -n "$old" ] || die "debugfs: no flags for $p"
	new=$(printf '0x%08x' $((old | ${FL_BITS[$i]})))
	err=$(dbg -w -R "set_inode_field $p flags $new" -- "$img" 2>&1 >/dev/null |
		{ grep -v '^debugfs [0-9]' || true; })
	[ -z "$err" ] || die "debugfs set_inode_field $p flags $new: $err"
	got=$(raw_flags "$p")
	[ "$((got))" -eq "$((new))" ] || die "$p: flags $got after setting $new"
done
fsck_out=$(e2fsck -fn -- "$img" 2>&1) || die "e2fsck -fn failed: $fsck_out"

mv -f -- "$img" "$IMAGE" || die "cannot move the image to '$IMAGE'"
exit 0
