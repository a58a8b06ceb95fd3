#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-safety.sh - vunify, vhashify and vaudit --undo never lose or leak:
#
#  outside    a host file hard-linked into a guest (host/etc/resolv.conf =
#             g1/etc/resolv.conf) is neither frozen nor replaced nor moved
#             into the store, by vunify (as the reference's file) and by
#             vhashify --sledgehammer: skip reason "outside"
#  writer     a guest writes into the file a new store entry is being
#             copied from (strace delays the copy; with and without the
#             mtime put back): the other guests keep their own bytes, the
#             store holds none of the injected ones, undo keeps them apart
#  rep change two contents of one size, mode, owner and mtime: the second
#             one's digest takes a second read of one of its files, whose
#             mtime moves during that read (strace slows the reads): that
#             file is left out as changed, the digest comes from another
#             file of its content, and the two others are linked
#  structure  guests from Debian's perl-base package (dpkg-deb -x: perl and
#             perl5.36.0 are one inode in the package), a cp -a and a cp -r
#             copy: after vhashify --revert each guest's perl pair is one
#             private inode; after vhashify and vaudit --undo (of the revert
#             and of the link run), and after vunify and
#             vaudit --undo, the names that were one inode are one inode
#             again, with the content, mode, mtime and flags of before
#  write err  the guests' filesystem on a loop device whose backing tmpfs is
#             full: the store copies fail to reach the disk (EIO)
#  sync err   the same with vunify, which makes no copy: the first write
#             to the disk is the sync of the changes (on the syncer's
#             thread, after the names were linked): it fails, vunify stops
#             naming the guest, its journal keeps no done mark, and after
#             e2fsck every name reads its content and undo finds the state
#             of before
#  power cut  EXT4_IOC_SHUTDOWN (NOLOGFLUSH) of the guests' filesystem a
#             few seconds after an undo, right after an undo, $VAUDIT_CUT_MS
#             ms (default "300 1500") into an undo and into a --revert, and in the middle of link runs at $VAUDIT_CUT_POINTS
#             (percent of the journal's lines, default "30 70"), every rename of
#             the run cut off delayed 2 ms (strace) so that the cut lands in
#             its middle: after a remount every
#             name reads the content it had, and vaudit --undo brings the
#             state of before back (the journal is on another filesystem)
#
# Undo names the mount point as ROOT (the journals' roots lie below it).
# Ground truth: sha256 of every file and the inode partition, read by
# unifysafe.py before the runs; the host file's flags with lsattr.
# make check-sweep runs the power cuts at many random points.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs e2fsck chattr lsattr losetup mount umount findmnt strace dpkg-deb cmp df
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

US=$top_srcdir/tests/integration/unifysafe.py
: "${VAUDIT_CUT_POINTS:=30 70}"
: "${VAUDIT_CUT_MS:=300 1500}"

# py ARGS...: the checks of $US, counted as ours
py() { py_relay "$US" "$@"; }

# remount MNT [OPTS]: unmount MNT (after a shutdown) and mount its loop
# device again (the journal replay of a crash)
remount() {
	local mnt=$1 dev
	dev=$(findmnt -n -o SOURCE -- "$mnt")
	umount -- "$mnt" || return 1
	mount -o "rw${2:+,$2}" -- "$dev" "$mnt"
}

# ================================================================ outside
IMG=$(mkimage outside ext4 64) || bail_out "mke2fs failed"
O=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
python3 - "$O" <<'EOF'
import os, sys
m = sys.argv[1]
for d in ('host/etc', 'vs/g1/etc', 'vs/g2/etc', 'vs/g3/etc', '.hash'):
    os.makedirs(os.path.join(m, d), exist_ok=True)
os.chmod(os.path.join(m, '.hash'), 0o700)
T = 1600000000 * 10**9
for g in ('host/etc', 'vs/g2/etc', 'vs/g3/etc'):
    p = os.path.join(m, g, 'resolv.conf')
    with open(p, 'wb') as fh:
        fh.write(b'nameserver 192.0.2.53\nsearch example.org\n' * 4)
    os.chmod(p, 0o644)
    os.utime(p, ns=(T, T))
os.link(os.path.join(m, 'host/etc/resolv.conf'), os.path.join(m, 'vs/g1/etc/resolv.conf'))
EOF
HINO=$(stat -c %i "$O/host/etc/resolv.conf")
host_ok() { # DESC: the host's file is its own inode (with g1's name), writable
	is "$(stat -c %i:%h "$O/host/etc/resolv.conf"):$(stat -c %i "$O/vs/g1/etc/resolv.conf"):$(lsattr -d "$O/host/etc/resolv.conf" | cut -d' ' -f1 | tr -cd ia)" \
		"$HINO:2:$HINO:" "$1: host/etc/resolv.conf keeps its inode and g1's name, not immutable"
	is "$(find "$O/.hash" -inum "$HINO" | wc -l)" 0 "$1: the host's inode is not in the store"
}
urun vu "$VUNIFY" $FL $NP --json --journal "$W/vu.journal" --manually -- "$O/vs/g2" "" "$O/vs/g1" ""
rc_is vu 0 "outside: vunify g2 against g1, whose resolv.conf is the host's"
host_ok "outside: vunify"
is "$(grep -c '"path":"[^"]*/vs/g2/etc/resolv.conf",.*"reason":"outside"' "$W/vu.out")" 1 \
	"outside: vunify reports g2/etc/resolv.conf with skip reason outside"
urun vh "$VHASHIFY" $FL $NP --json --sledgehammer --journal "$W/vh.journal" --manually \
	--destination "$O/.hash" -- "$O/vs/g1" "" "$O/vs/g2" "" "$O/vs/g3" ""
rc_is vh 0 "outside: vhashify --sledgehammer over g1, g2, g3"
host_ok "outside: vhashify --sledgehammer"
is "$(stat -c %i "$O/vs/g2/etc/resolv.conf")" "$(stat -c %i "$O/vs/g3/etc/resolv.conf")" \
	"outside: g2 and g3 were linked all the same"
is "$(grep -c '"path":"[^"]*/vs/g1/etc/resolv.conf",.*"reason":"outside"' "$W/vh.out")" 1 \
	"outside: vhashify reports g1/etc/resolv.conf with skip reason outside"
urun vhu "$VAUDIT" --undo "$W/vh.journal" "$O"
rc_is vhu 0 "outside: vaudit --undo of the vhashify journal"
urun vuu "$VAUDIT" --undo "$W/vu.journal" "$O"
rc_is vuu 0 "outside: vaudit --undo of the vunify journal"
host_ok "outside: after both undos"

# ================================================================ writer
# writer KEEP DESC: three guests with one identical 64 KiB bin/sudo; a
# guest writes 4 bytes into the file the store entry is copied from
writer() {
	local keep=$1 desc=$2 wm src g pid j=$W/writer$1.journal
	IMG=$(mkimage "writer$keep" ext4 64) || bail_out "mke2fs failed"
	wm=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
	mkdir -p "$wm/vs/g1/bin" "$wm/.hash"
	chmod 700 "$wm/.hash"
	head -c 65536 /dev/urandom >"$wm/vs/g1/bin/sudo"
	chmod 4755 "$wm/vs/g1/bin/sudo"
	cp -a "$wm/vs/g1" "$wm/vs/g2"
	cp -a "$wm/vs/g1" "$wm/vs/g3"
	cp "$wm/vs/g1/bin/sudo" "$W/sudo.orig"
	strace -f -y -o "$W/writer.trace" -e trace=openat,fstat,newfstatat,copy_file_range \
		-e inject=copy_file_range:delay_enter=2000000:when=1 \
		"$VHASHIFY" $FL $NP --json --journal "$j" --manually --destination "$wm/.hash" -- \
		"$wm/vs/g1" "" "$wm/vs/g2" "" "$wm/vs/g3" "" >"$W/writer.out" 2>"$W/writer.err" &
	pid=$!
	src=$(python3 "$US" write-during "$W/writer.trace" "$pid" XXXX $keep --in "$wm/.hash/")
	wait "$pid"
	RC=$?
	ok "$([ "$RC" -le 1 ]; echo $?)" "$desc: vhashify ran to its end (exit $RC)"
	case $src in
	"$wm"/vs/g?/bin/sudo) ok 0 "$desc: the guest wrote into ${src#"$wm"/} while it was copied" ;;
	*) ok 1 "$desc: the write during the copy happened (got '$src')"; return ;;
	esac
	for g in g1 g2 g3; do
		[ "$wm/vs/$g/bin/sudo" = "$src" ] && continue
		cmp -s "$wm/vs/$g/bin/sudo" "$W/sudo.orig"
		ok $? "$desc: $g/bin/sudo (not written) still holds its own bytes"
	done
	is "$(find "$wm/.hash" -type f -name '*-*' -exec cmp -s {} "$W/sudo.orig" \; -o -type f -name '*-*' -print | wc -l)" 0 \
		"$desc: every store entry holds the compared bytes, none the injected ones"
	is "$(find "$wm/vs" -samefile "$src" | wc -l)" 1 \
		"$desc: the written file shares its inode with no other guest"
	urun wu "$VAUDIT" --undo "$j" "$wm"
	rc_is wu 0 "$desc: vaudit --undo"
	for g in g1 g2 g3; do
		if [ "$wm/vs/$g/bin/sudo" = "$src" ]; then
			[ "$(head -c 4 "$src")" = XXXX ]
			ok $? "$desc: after the undo $g/bin/sudo has the guest's own write"
		else
			cmp -s "$wm/vs/$g/bin/sudo" "$W/sudo.orig"
			ok $? "$desc: after the undo $g/bin/sudo has its own bytes"
		fi
	done
}
writer "" "writer"
writer --keep-mtime "writer (mtime put back)"

# ================================================================ rep change
# One key group of two contents: A (g1/d/a, g2/d/a) and B (g1/d/b, its
# cp -a in g2 and a cp in g2/d/b2), all of one size and mtime.  The key
# group's first read gives its content its digest with its tag; the other
# content's digest takes a second read of one of its files.  That file's
# mtime moves on while it is read the second time: vhashify leaves it out
# as changed and reads the next file of its content for the digest.
repchange() {
	local rm rc t pid f n=0 others=()
	IMG=$(mkimage rep ext4 64) || bail_out "mke2fs failed"
	rm=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
	mkdir -p "$rm/vs/g1/d" "$rm/vs/g2/d" "$rm/.hash"
	chmod 700 "$rm/.hash"
	head -c 4194304 /dev/urandom >"$W/rep.A"
	head -c 4194304 /dev/urandom >"$W/rep.B"
	cp "$W/rep.A" "$rm/vs/g1/d/a" && cp "$W/rep.A" "$rm/vs/g2/d/a" &&
		cp "$W/rep.B" "$rm/vs/g1/d/b" && cp -a "$rm/vs/g1/d/b" "$rm/vs/g2/d/b" &&
		cp "$W/rep.B" "$rm/vs/g2/d/b2" && touch -d '2024-01-01 00:00:00' "$rm"/vs/g?/d/* ||
		bail_out "cannot make the rep fixture"
	local B=("$rm/vs/g1/d/b" "$rm/vs/g2/d/b" "$rm/vs/g2/d/b2")
	# (5 ms a read of 256 KiB: a digest of 4 MiB takes 80 ms)
	strace -f -y -o "$W/rep.trace" -e trace=openat,openat2,pread64 -e inject=pread64:delay_enter=5000 \
		"$VHASHIFY" $FL $NP --json --journal "$W/rep.journal" --manually --destination "$rm/.hash" -- \
		"$rm/vs/g1" "" "$rm/vs/g2" "" >"$W/rep.out" 2>"$W/rep.err" &
	pid=$!
	t=$(python3 "$US" touch-on-reopen "$W/rep.trace" "$pid" "${B[@]}")
	wait "$pid"
	rc=$?
	ok "$([ "$rc" -le 1 ]; echo $?)" "rep change: vhashify ran to its end (exit $rc)"
	for f in "${B[@]}"; do
		[ "$f" = "$t" ] && n=$((n + 1)) || others+=("$f")
	done
	is "$n" 1 "rep change: the file read again for the digest was changed during that read (${t#"$rm"/})" ||
		return
	is "$(stat -c %h "$t")" 1 "rep change: the changed file was not linked"
	is "$(stat -c %i "${others[0]}")" "$(stat -c %i "${others[1]}")" \
		"rep change: the two other files of its content share one inode"
	cmp -s "${others[0]}" "$W/rep.B"
	ok $? "rep change: which holds their bytes"
	[ "$(stat -c %i "${others[0]}")" != "$(stat -c %i "$t")" ]
	ok $? "rep change: the changed file keeps an inode of its own"
	is "$(stat -c %i "$rm/vs/g1/d/a")" "$(stat -c %i "$rm/vs/g2/d/a")" \
		"rep change: the other content of the key group is linked too"
	is "$(grep -c "\"path\":\"$t\",.*\"reason\":\"changed\"" "$W/rep.out")" 1 \
		"rep change: vhashify reports the changed file with skip reason changed" ||
		diag "$(grep -F "$t" "$W/rep.out" | head -c 600)"
}
repchange

# ================================================================ many names
# manynames N: g1/data/f has N names (one inode), g2/data/f is its twin.
# vhashify links what fits in one inode and never splits an inode's names
# over two; whatever it linked has a store entry, so --revert finds it;
# vaudit --undo gives back the structure of before.
manynames() {
	local n=$1 mm inode sino
	IMG=$(mkimage "many$n" ext4 128 $((n + 4096))) || bail_out "mke2fs failed"
	mm=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
	python3 - "$mm" "$n" <<'EOF2'
import os, sys
m, n = sys.argv[1], int(sys.argv[2])
for d in ('vs/g1/data/more', 'vs/g2/data', '.hash'):
    os.makedirs(os.path.join(m, d), exist_ok=True)
os.chmod(os.path.join(m, '.hash'), 0o700)
T = 1650000000 * 10**9
for g in ('g1', 'g2'):
    p = os.path.join(m, 'vs', g, 'data', 'f')
    with open(p, 'wb') as fh:
        fh.write(b'many names, one inode\n' * 100)
    os.chmod(p, 0o644)
    os.utime(p, ns=(T, T))
f = os.path.join(m, 'vs/g1/data/f')
for i in range(1, n):
    os.link(f, os.path.join(m, 'vs/g1/data/more', 'n%05d' % i))
EOF2
	python3 "$US" snapshot "$mm/vs" "$W/many.before"
	is "$(stat -c %h "$mm/vs/g1/data/f")" "$n" "$n names: g1/data/f has $n names"
	urun many "$VHASHIFY" $FL $NP --json --journal "$W/many$n.journal" --manually --destination "$mm/.hash" -- \
		"$mm/vs/g1" "" "$mm/vs/g2" ""
	rc_is many 0 "$n names: vhashify"
	inode=$(stat -c %i "$mm/vs/g1/data/f")
	is "$(find "$mm/vs/g1" -type f ! -inum "$inode" | wc -l)" 0 \
		"$n names: the $n names of g1 are still one inode"
	sino=$(find "$mm/.hash" -type f -samefile "$mm/vs/g2/data/f" | wc -l)
	if [ "$n" -lt 60000 ]; then
		is "$(stat -c %i "$mm/vs/g2/data/f"):$sino" "$inode:1" \
			"$n names: g2's twin shares that inode, which has a store entry"
		urun manyrev "$VHASHIFY" --revert --destination "$mm/.hash" $FL $NP --json \
			--journal "$W/many$n.rev.journal" -- "$mm/vs/g2"
		rc_is manyrev 0 "$n names: vhashify --revert of g2"
		is "$(grep -c '"reason":"not-shared"' "$W/manyrev.out")" 0 "$n names: --revert finds it shared"
		is "$(stat -c %h "$mm/vs/g2/data/f")" 1 "$n names: g2's file is private after --revert"
		urun manyrevu "$VAUDIT" --undo "$W/many$n.rev.journal" "$mm"
		rc_is manyrevu 0 "$n names: vaudit --undo of the revert"
	else
		is "$(stat -c %h "$mm/vs/g1/data/f"):$sino" "$n:0" \
			"$n names: at the link limit, g1's inode keeps its $n names; g2's twin is not linked to it"
	fi
	urun manyu "$VAUDIT" --undo "$W/many$n.journal" "$mm"
	rc_is manyu 0 "$n names: vaudit --undo"
	python3 "$US" snapshot "$mm/vs" "$W/many.after"
	py same-structure "$W/many.before" "$W/many.after" g1 g2 "$n names: after the undo"
}
manynames 1000
manynames 65000

# ================================================================ structure
DEB=
if (cd "$W" && timeout 300 apt-get download perl-base) >"$W/apt.out" 2>&1; then
	DEB=$(find "$W" -maxdepth 1 -name 'perl-base_*.deb' | head -1)
fi
if [ -z "$DEB" ]; then
	skip "structure and power cuts" "apt-get download perl-base failed: $(tail -1 "$W/apt.out")"
	done_testing
	exit 0
fi
IMG=$(mkimage debian ext4 384 65536) || bail_out "mke2fs failed"
D=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
mkdir -p "$D/vs" "$D/.hash"
chmod 700 "$D/.hash"
dpkg-deb -x "$DEB" "$D/vs/g1" && dpkg-deb -x "$DEB" "$D/vs/g2" &&
	cp -a "$D/vs/g1" "$D/vs/g3" && cp -r "$D/vs/g1" "$D/vs/g4"
ok $? "four guests: perl-base unpacked twice (dpkg-deb -x), copied with cp -a and cp -r"
is "$(stat -c %i "$D/vs/g1/usr/bin/perl")" "$(stat -c %i "$D/vs/g1/usr/bin/perl5.36.0")" \
	"perl and perl5.36.0 are one inode in the unpacked package (ground truth for the structure)"
sync -f "$D"
GR=(vs/g1 vs/g2 vs/g3 vs/g4)
DT=("$D/vs/g1" "" "$D/vs/g2" "" "$D/vs/g3" "" "$D/vs/g4" "")
python3 "$US" snapshot "$D" "$W/before.json"

urun sh "$VHASHIFY" $FL $NP --journal "$W/sh.journal" --manually --destination "$D/.hash" -- "${DT[@]}"
rc_is sh 0 "structure: vhashify over the four guests"
is "$(stat -c %i "$D/vs/g2/usr/bin/perl5.36.0")" "$(stat -c %i "$D/vs/g1/usr/bin/perl")" \
	"structure: g1's perl and g2's perl5.36.0 are one inode after vhashify"
urun shr "$VHASHIFY" --revert --destination "$D/.hash" $FL $NP --journal "$W/shr.journal" -- \
	"$D/vs/g1" "$D/vs/g2" "$D/vs/g3" "$D/vs/g4"
rc_is shr 0 "structure: vhashify --revert of the four guests"
for g in g1 g2 g3; do
	is "$(stat -c %i:%h "$D/vs/$g/usr/bin/perl")" "$(stat -c %i:%h "$D/vs/$g/usr/bin/perl5.36.0" | sed 's/:.*//'):2" \
		"structure: after --revert, $g's perl and perl5.36.0 are one private inode of two names"
done
[ "$(stat -c %i "$D/vs/g1/usr/bin/perl")" != "$(stat -c %i "$D/vs/g2/usr/bin/perl")" ]
ok $? "structure: after --revert, g1 and g2 no longer share perl"
urun shru "$VAUDIT" --undo "$W/shr.journal" "$D"
rc_is shru 0 "structure: vaudit --undo of the revert"
urun shu "$VAUDIT" --undo "$W/sh.journal" "$D"
rc_is shu 0 "structure: vaudit --undo of the vhashify journal"
python3 "$US" snapshot "$D" "$W/after.json"
py same-structure "$W/before.json" "$W/after.json" "${GR[@]}" "structure: after vhashify + undo"

urun su "$VUNIFY" $FL $NP --journal "$W/su.journal" --manually -- "$D/vs/g3" "" "$D/vs/g1" ""
rc_is su 0 "structure: vunify g3 against g1"
urun suu "$VAUDIT" --undo "$W/su.journal" "$D"
rc_is suu 0 "structure: vaudit --undo of the vunify journal"
python3 "$US" snapshot "$D" "$W/after.json"
py same-structure "$W/before.json" "$W/after.json" "${GR[@]}" "structure: after vunify + undo"

# recovered DESC TMPFS MNT SNAPSHOT JOURNAL TAG: after a run that met a
# full TMPFS under MNT's loop device: room again, e2fsck -fy and a new
# mount; every name of SNAPSHOT reads its content, and vaudit --undo of
# JOURNAL brings the structure of before back
recovered() {
	local desc=$1 t=$2 mnt=$3 snap=$4 j=$5 tag=$6 dev
	mount -o remount,size=300M "$t"
	dev=$(findmnt -n -o SOURCE -- "$mnt")
	umount -- "$mnt" && { e2fsck -fy "$dev" >/dev/null 2>&1; mount -o rw -- "$dev" "$mnt"; }
	ok $? "$desc: e2fsck -fy and a new mount"
	py contents "$snap" "$mnt/vs" "$desc: after the remount"
	urun "$tag" "$VAUDIT" --undo "$j" "$mnt"
	rc_is "$tag" 0 "$desc: vaudit --undo"
	python3 "$US" snapshot "$mnt/vs" "$snap.after"
	py same-structure "$snap" "$snap.after" g1 g2 g3 "$desc: after the undo"
}

# ================================================================ write errors
# The guests' image on a loop device whose backing file lives on a tmpfs
# that is nearly full: the block device fails the writes of the store
# copies (EIO or ENOSPC), as a failing or thin-provisioned disk does.  vhashify stops with exit 2 naming
# the file; after a remount with room and e2fsck, every name reads the
# content it had, and vaudit --undo brings the state of before back.
mkdir -p "$W/t"
mount -t tmpfs -o size=300M tmpfs "$W/t" || bail_out "cannot mount a tmpfs"
defer umount -l "$W/t"
truncate -s 256M "$W/t/eio.img" && mke2fs -q -F -t ext4 -b 4096 -I 256 "$W/t/eio.img" >/dev/null 2>&1 ||
	bail_out "mke2fs failed"
E=$(mount_fixture "$W/t/eio.img") || bail_out "cannot mount the image"
mkdir -p "$E/vs" "$E/.hash"
chmod 700 "$E/.hash"
for g in g1 g2 g3; do dpkg-deb -x "$DEB" "$E/vs/$g"; done
sync -f "$E"
python3 "$US" snapshot "$E/vs" "$W/eio.before"
used=$(df -k --output=used "$W/t" | tail -1)
mount -o remount,size=$((used + 2048))k "$W/t"
ok $? "write errors: the tmpfs under the loop device has 2 MiB left (the store copies need more)"
urun eio "$VHASHIFY" $FL $NP --journal "$W/eio.journal" --manually --destination "$E/.hash" -- \
	"$E/vs/g1" "" "$E/vs/g2" "" "$E/vs/g3" ""
rc_is eio 2 "write errors: vhashify stops"
# (a failed metadata write aborts ext4's journal: then the filesystem is
# read-only; the loop device passes its backing file's ENOSPC on as such)
grep -Eq "^vhashify: '$E/[^']*': .*(Input/output error|Read-only file system|No space left on device)$" "$W/eio.err"
ok $? "write errors: the message names the file and the device's error (or the read-only filesystem it left)" ||
	diag "$(head -c 600 "$W/eio.err")"
recovered "write errors" "$W/t" "$E" "$W/eio.before" "$W/eio.journal" eiou

# ================================================================ sync errors
# The journal of this image is not written by mke2fs (lazy_journal_init:
# its blocks are holes in the backing file) and commits only when asked
# (commit=300): vunify's sync of its changes is the first write that needs
# room on the full tmpfs.
mkdir -p "$W/t2"
mount -t tmpfs -o size=300M tmpfs "$W/t2" || bail_out "cannot mount a tmpfs"
defer umount -l "$W/t2"
truncate -s 256M "$W/t2/sync.img" &&
	mke2fs -q -F -t ext4 -b 4096 -I 256 -J size=64 -E lazy_journal_init=1 "$W/t2/sync.img" >/dev/null 2>&1 ||
	bail_out "mke2fs failed"
S=$(mount_fixture "$W/t2/sync.img") || bail_out "cannot mount the image"
mkdir -p "$S/vs"
for g in g1 g2 g3; do dpkg-deb -x "$DEB" "$S/vs/$g"; done
sync -f "$S"
mount -o remount,commit=300 -- "$S" || bail_out "cannot remount with commit=300"
python3 "$US" snapshot "$S/vs" "$W/sync.before"
used=$(df -k --output=used "$W/t2" | tail -1)
mount -o remount,size=$((used + 64))k "$W/t2"
ok $? "sync errors: the tmpfs under the loop device has 64 KiB left"
urun serr "$VUNIFY" $FL $NP --journal "$W/serr.journal" --manually -- "$S/vs/g2" "" "$S/vs/g1" ""
rc_is serr 2 "sync errors: vunify stops"
grep -Eq "^vunify: '$S/vs/g2': cannot write the changes to disk: (Input/output error|Read-only file system|No space left on device)$" "$W/serr.err"
ok $? "sync errors: the message names the guest and the device's error" || diag "$(head -c 600 "$W/serr.err")"
# the journal: the intents (synced before the change) and not one mark
awk -F '\t' '$1 == "L" { l++ } $1 == "D" || $1 == "U" { m++ } END { exit !(l > 0 && !m) }' \
	"$W/serr.journal"
ok $? "sync errors: the journal holds the link intents and no done or undone mark" ||
	diag "$(cut -f1 "$W/serr.journal" | sort | uniq -c)"
recovered "sync errors" "$W/t2" "$S" "$W/sync.before" "$W/serr.journal" serru

# ================================================================ power cuts
mount -o remount,commit=1 -- "$D" || bail_out "cannot remount with commit=1"

# cut LABEL [PID]: the power cut (shutdown, no log flush); once PID (the
# program cut off, which now meets EIO) has ended, the remount
cut() {
	python3 "$US" shutdown "$D"
	ok $? "$1: EXT4_IOC_SHUTDOWN (NOLOGFLUSH)"
	if [ -n "${2-}" ]; then
		wait "$2"
		diag "$1: the program cut off ended with status $? $(head -c 300 "$W/cut.err")"
	fi
	remount "$D" commit=1
	ok $? "$1: remounted (journal replayed)"
}

# settle LABEL JOURNAL: after the cut, every name reads its content, and
# vaudit --undo brings the state of before back
settle() {
	py contents "$W/before.json" "$D" "$1: after the power cut"
	urun settle "$VAUDIT" --undo "$2" "$D"
	rc_is settle 0 "$1: vaudit --undo JOURNAL after the power cut"
	python3 "$US" snapshot "$D" "$W/after.json"
	py same-structure "$W/before.json" "$W/after.json" "${GR[@]}" "$1: after the undo"
	no_tmp "$D/vs" "$1"
}

# link LABEL JOURNAL: a complete vhashify run, on disk
link() {
	urun link "$VHASHIFY" $FL $NP --journal "$2" --manually --destination "$D/.hash" -- "${DT[@]}"
	rc_is link 0 "$1: vhashify"
	sync -f "$D"
}

link "cut 3 s after an undo" "$W/p1.journal"
urun p1u "$VAUDIT" --undo "$W/p1.journal" "$D"
rc_is p1u 0 "cut 3 s after an undo: vaudit --undo"
sleep 3         # the metadata is committed by now (commit=1), data written back later
cut "cut 3 s after an undo"
settle "cut 3 s after an undo" "$W/p1.journal"

link "cut right after an undo" "$W/p2.journal"
urun p2u "$VAUDIT" --undo "$W/p2.journal" "$D"
rc_is p2u 0 "cut right after an undo: vaudit --undo"
cut "cut right after an undo"
settle "cut right after an undo" "$W/p2.journal"

# slow CMD...: CMD with every rename delayed 2 ms (strace), so that a run
# on this small tree lasts seconds and a cut lands in its middle
slow() {
	strace -f --seccomp-bpf -o /dev/null -e trace=renameat2 -e inject=renameat2:delay_exit=2000 "$@"
}

# cut during undo and during --revert, $ms ms after they started
nc=0            # numbers the journals (a cut point may come twice)
for ms in $VAUDIT_CUT_MS; do
	nc=$((nc + 1))
	link "cut ${ms} ms into an undo" "$W/u$ms.$nc.journal"
	slow "$VAUDIT" --undo "$W/u$ms.$nc.journal" "$D" >"$W/cut.out" 2>"$W/cut.err" &
	pid=$!
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	cut "cut ${ms} ms into an undo" "$pid"
	settle "cut ${ms} ms into an undo" "$W/u$ms.$nc.journal"

	link "cut ${ms} ms into a revert" "$W/r$ms.$nc.journal"
	slow "$VHASHIFY" --revert --destination "$D/.hash" $FL $NP --journal "$W/r$ms.$nc.rev.journal" -- \
		"$D/vs/g1" "$D/vs/g2" "$D/vs/g3" "$D/vs/g4" >"$W/cut.out" 2>"$W/cut.err" &
	pid=$!
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	cut "cut ${ms} ms into a revert" "$pid"
	py contents "$W/before.json" "$D" "cut ${ms} ms into a revert: after the power cut"
	urun rcu "$VAUDIT" --undo "$W/r$ms.$nc.rev.journal" "$D"
	rc_is rcu 0 "cut ${ms} ms into a revert: vaudit --undo of the revert"
	settle "cut ${ms} ms into a revert (then the link run undone)" "$W/r$ms.$nc.journal"
done

LINES=$(wc -l <"$W/sh.journal")
for pct in $VAUDIT_CUT_POINTS; do
	at=$((LINES * pct / 100))
	j=$W/cut$pct.$((++nc)).journal
	slow "$VHASHIFY" $FL $NP --journal "$j" --manually --destination "$D/.hash" -- "${DT[@]}" \
		>"$W/cut.out" 2>"$W/cut.err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ "$(wc -l <"$j" 2>/dev/null || echo 0)" -lt "$at" ]; do
		sleep 0.002
	done
	n=$(wc -l <"$j" 2>/dev/null || echo 0)
	cut "cut during vhashify at $pct% ($n of about $LINES lines)" "$pid"
	settle "cut during vhashify at $pct%" "$j"
done

done_testing
