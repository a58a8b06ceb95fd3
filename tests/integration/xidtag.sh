#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# xidtag.sh - vclone --xid N --tag-scheme S on a kernel without the vserver
# syscall: the raw owner ids written into a loop-mounted ext4 image (made
# with mke2fs -d) in a private mount namespace, checked after unmounting
# with debugfs alone.
#
# The source guest has files of several owners (a set-uid file with a
# file capability, a hard-linked pair of its own), a symlink with its own
# owner, a FIFO, a device node, subdirectories, and files unified through
# a hash store (hard links of the store's entries, --store).
#
#   clone     --xid 42 --tag-scheme id24, --xid 4660 gid16, --xid 49151
#             uid16 into three new guests: every entry made is a new inode
#             whose raw uid/gid (debugfs stat <ino>) decode, with the
#             schemes written out again in xidtagtest.py, to the source's
#             owner and the tag; mode and capability as the source's; the
#             unified files are the source's inodes, tag 0
#   dry run   -n: exit 1, nothing changed
#   usage     vaudit --usage --image IMG --tag-scheme S: its usage-tag
#             counts are those of the regular files decoded from debugfs
#   undo      vaudit --undo of the id24 clone's journal (its 'M' records
#             hold the status change time the tag left): DST gone, the
#             source as before
#   refusals  --xid without --tag-scheme, intern (a mounted filesystem),
#             none, a uid or gid the scheme cannot keep (also as -n), exit
#             2, one line, nothing changed, no journal; --xid out of 2..49151,
#             an unknown scheme, --tag-scheme without --xid: exit 64
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/ns.sh"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_private_ns
need_vaudit
need_cmd python3 mke2fs debugfs losetup mount umount mknod mkfifo setfattr find timeout
. "$top_srcdir/tests/integration/unifylib.sh"
: "${VCLONE:=$top_builddir/vclone}"
[ -x "$VCLONE" ] || skip_all "vclone not built"
[ -e /proc/virtual ] && skip_all "this kernel has the vserver syscall: vclone tags through it, not by raw ids"
XT=$top_srcdir/tests/integration/xidtagtest.py

# ================================================================ the image
ST=$W/stage
G=$ST/vservers/src
mkdir -p "$G/etc" "$G/bin" "$G/home/u" "$G/dev" "$G/usr/lib" "$ST/vservers/.hash/ab" "$ST/etc/vservers/t42"
echo 42 >"$ST/etc/vservers/t42/context"
printf 'host\n' >"$G/etc/hostname"
printf 'notes\n' >"$G/home/u/notes" && chown 1000:1000 "$G/home/u/notes" "$G/home/u"
printf 'su\n' >"$G/bin/su" && chmod 04755 "$G/bin/su" &&
	setfattr -n security.capability -v 0x0100000200040000000000000000000000000000 "$G/bin/su"
printf 'ping\n' >"$G/bin/ping" && ln "$G/bin/ping" "$G/bin/ping6" && chown 0:65535 "$G/bin/ping"
printf 'sgid\n' >"$G/bin/wall" && chown 0:5 "$G/bin/wall" && chmod 02755 "$G/bin/wall"
ln -s hostname "$G/etc/link" && chown -h 1000:100 "$G/etc/link"
mkfifo "$G/dev/initctl" && chown 2:3 "$G/dev/initctl"
mknod "$G/dev/null" c 1 3 && chmod 0666 "$G/dev/null"
head -c 20000 /dev/urandom >"$ST/vservers/.hash/ab/libc" && ln "$ST/vservers/.hash/ab/libc" "$G/usr/lib/libc.so"
printf 'libm\n' >"$ST/vservers/.hash/ab/libm" && chown 7:7 "$ST/vservers/.hash/ab/libm" &&
	ln "$ST/vservers/.hash/ab/libm" "$G/usr/lib/libm.so"
# a second source with an owner no scheme keeps beside a tag
B=$ST/vservers/big
mkdir -p "$B/etc" && printf 'x\n' >"$B/etc/f" && chown 16777216:70000 "$B/etc/f"

IMG=$W/xid.img
truncate -s 64M "$IMG" &&
	mke2fs -q -F -t ext4 -b 4096 -I 256 -N 4096 -d "$ST" "$IMG" >/dev/null 2>&1
ok $? "mke2fs -d: an ext4 image of the guests" || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
S=$M/vservers/src
STORE=$M/vservers/.hash

snapshot() { find "$M" -printf '%i %n %m %U %G %s %T@ %C@ %p\n' | sort; }
lst() { find "$1" -printf '%i %P\n'; }
lst "$S" >"$W/src.list"
lst "$STORE" >"$W/store.list"

# ================================================================ dry run, clone
snapshot >"$W/snap.0"
urun dry "$VCLONE" $NP -n --flags=none --store="$STORE" --xid=42 --tag-scheme=id24 "$S" "$M/vservers/t42"
rc_is dry 1 "vclone -n --xid 42 --tag-scheme id24: would make something"
grep -q "^vclone: what is made would be tagged xid 42 (id24)$" "$W/dry.out"
ok $? "the dry run says the tag it would set" || diag "$(cat "$W/dry.out")"
snapshot >"$W/snap.1"
cmp -s "$W/snap.0" "$W/snap.1"
ok $? "the dry run changed nothing"

# clone NAME XID SCHEME: vclone into vservers/NAME, its journal $W/NAME.journal
clone() {
	urun "$1" "$VCLONE" $NP --flags=none --store="$STORE" --xid="$2" --tag-scheme="$3" \
		--journal="$W/$1.journal" "$S" "$M/vservers/$1"
	rc_is "$1" 0 "vclone --xid $2 --tag-scheme $3"
	grep -q "^vclone: what was made is tagged xid $2 ($3)$" "$W/$1.out"
	ok $? "--xid $2 --tag-scheme $3: the summary says the tag" || diag "$(cat "$W/$1.out")"
	lst "$M/vservers/$1" >"$W/$1.list"
}
clone t42 42 id24
clone tg 4660 gid16
clone tu 49151 uid16
find "$M/vservers" -xdev -printf '%i\n' >"$W/all.list"
snapshot >"$W/snap.2"
unmount_keep "$M"
ok $? "unmounted: debugfs reads the image"

py_checks python3 "$XT" tree "$IMG" "$W/src.list" "$W/t42.list" "$W/store.list" \
	--scheme id24 --xid 42 --label "id24, xid 42"
py_checks python3 "$XT" tree "$IMG" "$W/src.list" "$W/tg.list" "$W/store.list" \
	--scheme gid16 --xid 4660 --label "gid16, xid 4660"
py_checks python3 "$XT" tree "$IMG" "$W/src.list" "$W/tu.list" "$W/store.list" \
	--scheme uid16 --xid 49151 --label "uid16, xid 49151"

# ================================================================ usage
# (the image's /etc/vservers gives t42 context 42: under id24 no name is
# tagged for another guest; the other schemes read t42's ids otherwise)
for s in id24 gid16 uid16; do
	ctx=()
	[ "$s" = id24 ] && ctx=(--context-ok)
	urun "usage-$s" "$VAUDIT" --usage --image "$IMG" --prefix /vservers --tag-scheme "$s" --json
	rc_is "usage-$s" 0 "vaudit --usage --image --tag-scheme $s"
	py_checks python3 "$XT" usage "$IMG" "$W/usage-$s.out" "$W/all.list" --scheme "$s" \
		--label "--usage --tag-scheme $s" "${ctx[@]}"
done

# ================================================================ undo
# again on the same mountpoint: the journal names it
mount -- "$(losetup -j "$IMG" | sed -n '1s/:.*//p')" "$M" || bail_out "cannot mount the image again"
lst "$S" >"$W/src.list2"
cmp -s "$W/src.list" "$W/src.list2"
ok $? "the source has the same names and inodes after the clones"
urun undo "$VAUDIT" --undo "$W/t42.journal" "$M"
rc_is undo 0 "vaudit --undo of the id24 clone's journal"
grep -q ' 0 skipped, 0 failed$' "$W/undo.err"
ok $? "undo: nothing skipped (the 'M' records match the tagged entries)" || diag "$(tail -3 "$W/undo.err")"
[ ! -e "$M/vservers/t42" ]
ok $? "undo: the tagged clone is gone"

# ================================================================ refusals
# refused TAG DESC WORD ARGS...: exit 2, one line naming WORD, nothing changed, no journal
refused() {
	local tag=$1 desc=$2 word=$3
	shift 3
	snapshot >"$W/r.0"
	urun "$tag" "$VCLONE" $NP --flags=none --journal="$W/$tag.journal" "$@"
	rc_is "$tag" 2 "vclone $desc: refused"
	one_line "$tag" vclone "$desc" "$word"
	snapshot >"$W/r.1"
	cmp -s "$W/r.0" "$W/r.1" && [ ! -e "$W/$tag.journal" ] && [ ! -e "$M/vservers/x" ]
	ok $? "$desc: nothing changed, no journal"
}
refused noscheme "--xid without --tag-scheme" "must be named" --xid=42 "$S" "$M/vservers/x"
refused intern "--tag-scheme intern on a mounted filesystem" "libext2fs" \
	--xid=42 --tag-scheme=intern "$S" "$M/vservers/x"
refused none "--tag-scheme none" "no tags" --xid=42 --tag-scheme=none "$S" "$M/vservers/x"
refused bigid24 "a uid above id24's 24 bits" "uid 16777216" \
	--xid=42 --tag-scheme=id24 "$M/vservers/big" "$M/vservers/x"
refused biggid16 "a gid above gid16's 16 bits" "gid 70000" \
	--xid=42 --tag-scheme=gid16 "$M/vservers/big" "$M/vservers/x"
refused biguid16 "a uid above uid16's 16 bits" "uid 16777216" \
	--xid=42 --tag-scheme=uid16 "$M/vservers/big" "$M/vservers/x"
grep -qF "'$M/vservers/big/etc/f'" "$W/bigid24.err"
ok $? "the refusal names the source file whose owner does not fit" || diag "$(cat "$W/bigid24.err")"

snapshot >"$W/r.0"
urun bigdry "$VCLONE" $NP -n --flags=none --xid=42 --tag-scheme=id24 "$M/vservers/big" "$M/vservers/x"
rc_is bigdry 2 "vclone -n: an owner that does not fit is an error of the dry run"
grep -qF "uid 16777216 does not fit the tag scheme id24" "$W/bigdry.err"
ok $? "the dry run names the owner that does not fit" || diag "$(cat "$W/bigdry.err")"
snapshot >"$W/r.1"
cmp -s "$W/r.0" "$W/r.1"
ok $? "the dry run changed nothing"

# usage errors: exit 64, nothing changed
for a in "--xid=1" "--xid=49152" "--xid=abc" "--xid=" "--xid=42 --tag-scheme=id42" "--tag-scheme=id24"; do
	# shellcheck disable=SC2086 # the options are words
	urun use "$VCLONE" $NP --flags=none $a "$S" "$M/vservers/x"
	rc_is use 64 "vclone $a: a usage error"
	one_line use vclone "$a" "see 'vclone --help'"
done
snapshot >"$W/r.1"
cmp -s "$W/r.0" "$W/r.1"
ok $? "the usage errors changed nothing"

# ================================================================ help, man page
"$VCLONE" --help >"$W/help.out"
grep -q -- '--xid=N' "$W/help.out" && grep -q -- '--tag-scheme=S' "$W/help.out"
ok $? "vclone --help has --xid and --tag-scheme"

done_testing
