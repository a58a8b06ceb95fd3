#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# groundtruth.sh - vaudit's findings on real ext2/ext3/ext4 images equal a
# ground truth computed without vaudit: inode flags, mode and link count
# from debugfs on the image, names and guest membership from GNU find on
# the loop-mounted filesystem (tests/integration/vatest.py groundtruth).
#
# Rules (per inode reachable below ROOT without following symlinks):
#   legacy-iunlink      regular file, flags 0x10 and 0x8000
#   legacy-notail       regular file, 0x8000 without 0x10; by default only
#                       when nlink > 1, with --thorough always
#   legacy-barrier      directory, (mode & 0777) == 0 and 0x8000, ROOT included
#   barrier-unverified  ROOT without the 2.4 barrier (no vserver syscall here)
#   shared-unprotected  regular file with names in >= 2 guests, no 0x10
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 debugfs mke2fs chattr losetup find

VT=$top_srcdir/tests/integration/vatest.py

audit_image() { # FSTYPE [--root-barrier]
	local label="$1${2:+ $2}" img mnt
	if ! img=$(make_fixture "$@"); then
		ok 1 "$label: build fixture"
		return
	fi
	ok 0 "$label: build fixture"
	if ! mnt=$(mount_fixture "$img"); then
		ok 1 "$label: mount fixture"
		return
	fi
	ok 0 "$label: mount fixture"
	py_checks python3 "$VT" groundtruth --image "$img" --mount "$mnt" \
		--root "$mnt/vservers" --vaudit "$VAUDIT" --label "$label"
	py_checks python3 "$VT" groundtruth --image "$img" --mount "$mnt" \
		--root "$mnt/vservers" --vaudit "$VAUDIT" --label "$label" --thorough
}

for fs in ext2 ext3 ext4; do
	audit_image "$fs"
done
audit_image ext4 --root-barrier

# ---- a clean tree: nothing but states that are not findings
clean_image() {
	local st img mnt root
	st=$(mktemp -d "$TEST_TMP/clean.XXXXXX")
	root=$st/tree/vservers
	mkdir -p "$root/g1/etc" "$root/g2/etc" "$root/g1/usr/bin"
	printf 'root:x:0:0::/root:/bin/sh\n' >"$root/g1/etc/passwd"
	printf 'root:x:0:0::/root:/bin/sh\n' >"$root/g2/etc/passwd"
	printf 'shared, immutable only\n' >"$root/g1/usr/bin/tool"
	mkdir -p "$root/g2/usr/bin"
	ln "$root/g1/usr/bin/tool" "$root/g2/usr/bin/tool"
	printf 'twice in one guest\n' >"$root/g1/etc/a"
	ln "$root/g1/etc/a" "$root/g1/etc/b"
	img=$st/clean.img
	truncate -s 8M "$img" &&
		mke2fs -q -F -t ext4 -b 1024 -d "$st/tree" "$img" >/dev/null 2>&1 &&
		mnt=$(mount_fixture "$img") &&
		chattr +i "$mnt/vservers/g1/usr/bin/tool" &&
		chattr +i "$mnt/vservers/g1/etc/passwd" &&
		flush_fs "$mnt" # debugfs reads the image file: checkpoint the journal
	ok $? "clean: build and mount a tree without findings" || return
	# no 2.4 barrier on ROOT: only barrier-unverified (a warning)
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, no ROOT barrier"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, no ROOT barrier, --skip barrier-unverified" \
		--skip barrier-unverified
	local out rc
	out=$("$VAUDIT" --skip barrier-unverified "$mnt/vservers" 2>"$st/err")
	rc=$?
	is "$rc:$out" "0:" "clean: exit 0 and nothing on stdout (text mode)"
	[ -s "$st/err" ] && diag "stderr: $(cat -v "$st/err")"
	# the 2.4 barrier on ROOT: one legacy-barrier finding for ROOT itself
	chattr +t "$mnt/vservers" && chmod 000 "$mnt/vservers" && flush_fs "$mnt"
	ok $? "clean: give ROOT the 2.4 barrier (mode 0000 + t)"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, ROOT with 2.4 barrier"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, ROOT with 2.4 barrier, --skip legacy-barrier" \
		--skip legacy-barrier
}
clean_image

done_testing
