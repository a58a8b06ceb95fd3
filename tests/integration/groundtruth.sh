#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# groundtruth.sh - vaudit's findings on real ext2/ext3/ext4 images equal a
# ground truth computed without vaudit: inode flags, mode and link count
# from debugfs on the image, names and guest membership from GNU find on
# the loop-mounted filesystem (tests/integration/vatest.py groundtruth).
#
# Rules (per inode reachable below ROOT without following symlinks), as
# on a mainline kernel: no vserver syscall; by default vaudit reads the raw
# on-disk flags of the inodes it examines from the block device, so the
# 2.6 bits (barrier 0x04000000, iunlink 0x08000000, cow 0x20000000) are
# known; --no-device-read gives the old view where they are not.
#   legacy-iunlink      regular file, flags 0x10 and 0x8000
#   legacy-notail       regular file, 0x8000 without 0x10 (every file: the
#                       audit is complete by default; --thorough is a no-op
#                       and must give the same)
#   legacy-barrier      directory, (mode & 0777) == 0 and 0x8000, ROOT included
#   shared-unprotected  regular file with names in >= 2 guests, no 0x10
#   barrier-on-guest    guest root with the 2.4 barrier; with the device
#                       also with 0x04000000
#  with the device:
#   missing-barrier     ROOT with neither 0x04000000 nor the 2.4 barrier
#   shared-immutable-no-iunlink  shared, 0x10, neither 0x08000000 nor 0x8000
#   iunlink-not-immutable        0x08000000 without 0x10
#   cow                          0x20000000 (info)
#  --no-device-read:
#   barrier-unverified  ROOT without the 2.4 barrier
# How: live, the inode tables are read from the device (--summary --json
# says "method":"inode-tables"), with --no-device-read every file through
# the walk ("walk"); both find the same.  A flag cleared after the tables
# were read (VAUDIT_TEST_AFTER_TABLES runs chattr then) is not reported:
# what is reported is read again live.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 debugfs mke2fs chattr losetup find

VT=$top_srcdir/tests/integration/vatest.py

audit_image() { # FSTYPE [mkfixture options]
	local label="$*" img mnt mode th
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
	for mode in live nodev; do
		for th in "" --thorough; do
			py_checks python3 "$VT" groundtruth --mode "$mode" --image "$img" --mount "$mnt" \
				--root "$mnt/vservers" --vaudit "$VAUDIT" --label "$label" $th
		done
	done
	method_and_race "$label" "$mnt/vservers"
}

# method_and_race LABEL ROOT: which way the attributes were read, and a
# flag changed between the inode tables and the walk
method_and_race() {
	local label=$1 root=$2 g out
	out=$("$VAUDIT" -q --json "$root" 2>/dev/null | grep '^{"record":"summary"')
	grep -q '"method":"inode-tables","tables":1,' <<<"$out"
	ok $? "$label: the summary record: the inode tables of one filesystem were read" || diag "$out"
	out=$("$VAUDIT" -q --json --no-device-read "$root" 2>/dev/null | grep '^{"record":"summary"')
	grep -q '"method":"walk","tables":0,' <<<"$out"
	ok $? "$label: the summary record with --no-device-read: every file through the walk" || diag "$out"
	for g in "$root"/*/; do
		case $g in */.hash/) continue ;; esac
		break
	done
	# a new directory of the first guest: the walk enters it after that
	# guest's other directories (by inode number), long after the tables
	g=${g}race/
	mkdir -p -- "$g"
	printf 'a\n' >"${g}race-a" && printf 'b\n' >"${g}race-b" && chattr +t "${g}race-a" && sync
	ok $? "$label: race-a with +t (a private legacy-notail), race-b without" || return
	"$VAUDIT" --json --only legacy-notail "$root" >"$TEST_TMP/race.json" 2>/dev/null
	grep -q '"path":"[^"]*/race-a"' "$TEST_TMP/race.json"
	ok $? "$label: without a change race-a is found (the tables keep it)"
	VAUDIT_TEST_AFTER_TABLES="chattr -t '${g}race-a'" \
		"$VAUDIT" --json --only legacy-notail "$root" >"$TEST_TMP/race.json" 2>"$TEST_TMP/race.err"
	! grep -q '"path":"[^"]*/race-a"' "$TEST_TMP/race.json" && ! grep -q 'VAUDIT_TEST' "$TEST_TMP/race.err"
	ok $? "$label: +t cleared after the tables were read: race-a is not reported" ||
		diag "$(cat "$TEST_TMP/race.json" "$TEST_TMP/race.err")"
	lsattr -d "${g}race-a" | cut -d' ' -f1 | grep -qv t
	ok $? "$label: (race-a has no t indeed)"
	chattr -t "${g}race-a" 2>/dev/null
	rm -f -- "${g}race-a" "${g}race-b"
	# the same for a shared inode: read live on the confirming thread
	printf 's\n' >"${g}race-s" && ln -- "${g}race-s" "${g}race-s2" && chattr +t "${g}race-s" && sync
	ok $? "$label: race-s and race-s2, two names of one inode with +t" || return
	"$VAUDIT" --json --only legacy-notail "$root" >"$TEST_TMP/race.json" 2>/dev/null
	grep -q '"path":"[^"]*/race-s2\{0,1\}"' "$TEST_TMP/race.json"
	ok $? "$label: without a change the shared race-s is found" || diag "$(cat "$TEST_TMP/race.json")"
	VAUDIT_TEST_AFTER_TABLES="chattr -t '${g}race-s'" \
		"$VAUDIT" --json --only legacy-notail "$root" >"$TEST_TMP/race.json" 2>"$TEST_TMP/race.err"
	! grep -q '"path":"[^"]*/race-s' "$TEST_TMP/race.json" && [ ! -s "$TEST_TMP/race.err" ]
	ok $? "$label: +t cleared on the shared inode after the tables were read: not reported, no error" ||
		diag "$(cat "$TEST_TMP/race.json" "$TEST_TMP/race.err")"
	chattr -t "${g}race-s" 2>/dev/null
	rm -f -- "${g}race-s" "${g}race-s2"
	rmdir -- "$g"
}

for fs in ext2 ext3 ext4; do
	audit_image "$fs"
done
audit_image ext4 --root-barrier
audit_image ext3 --v26 --root-barrier

# ---- a clean tree: nothing but states that are not findings
# The shared file is unified the 2.6 way (0x10|0x08000000, set with debugfs
# on the unmounted image: no mainline kernel lets chattr set 0x08000000).
clean_image() {
	local st img mnt root out rc
	st=$(mktemp -d "$TEST_TMP/clean.XXXXXX")
	root=$st/tree/vservers
	mkdir -p "$root/g1/etc" "$root/g2/etc" "$root/g1/usr/bin"
	printf 'root:x:0:0::/root:/bin/sh\n' >"$root/g1/etc/passwd"
	printf 'root:x:0:0::/root:/bin/sh\n' >"$root/g2/etc/passwd"
	printf 'shared, immutable + iunlink\n' >"$root/g1/usr/bin/tool"
	mkdir -p "$root/g2/usr/bin"
	ln "$root/g1/usr/bin/tool" "$root/g2/usr/bin/tool"
	printf 'twice in one guest\n' >"$root/g1/etc/a"
	ln "$root/g1/etc/a" "$root/g1/etc/b"
	img=$st/clean.img
	truncate -s 8M "$img" &&
		mke2fs -q -F -t ext4 -b 1024 -d "$st/tree" "$img" >/dev/null 2>&1 &&
		or_raw_flags "$img" /vservers/g1/usr/bin/tool 0x08000010 &&
		or_raw_flags "$img" /vservers/g1/etc/passwd 0x10 &&
		mnt=$(mount_fixture "$img")
	ok $? "clean: build and mount a tree without findings" || return
	# no barrier on ROOT: only missing-barrier; without the device only
	# barrier-unverified (a warning), and the shared file looks immutable
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, no ROOT barrier"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, no ROOT barrier, --skip missing-barrier" \
		--skip missing-barrier
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" --mode nodev \
		--vaudit "$VAUDIT" --label "clean, no ROOT barrier, --no-device-read"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" --mode nodev \
		--vaudit "$VAUDIT" --label "clean, no ROOT barrier, --no-device-read --skip barrier-unverified" \
		--skip barrier-unverified
	out=$("$VAUDIT" --skip missing-barrier "$mnt/vservers" 2>"$st/err")
	rc=$?
	is "$rc:$out" "0:" "clean: --skip missing-barrier: exit 0 and nothing on stdout (text mode)"
	[ -s "$st/err" ] && diag "stderr: $(cat -v "$st/err")"
	out=$("$VAUDIT" --no-device-read --skip barrier-unverified "$mnt/vservers" 2>"$st/err")
	rc=$?
	is "$rc:$out" "0:" "clean: --no-device-read --skip barrier-unverified: exit 0 and nothing on stdout"
	# the 2.4 barrier on ROOT: one legacy-barrier finding for ROOT itself
	chattr +t "$mnt/vservers" && chmod 000 "$mnt/vservers" && flush_fs "$mnt"
	ok $? "clean: give ROOT the 2.4 barrier (mode 0000 + t)"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, ROOT with 2.4 barrier"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" --mode nodev \
		--vaudit "$VAUDIT" --label "clean, ROOT with 2.4 barrier, --no-device-read"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, ROOT with 2.4 barrier, --skip legacy-barrier" \
		--skip legacy-barrier
	# the 2.6 barrier on ROOT instead (unmount, debugfs, mount again): clean
	chattr -t "$mnt/vservers" && chmod 755 "$mnt/vservers" && unmount_keep "$mnt" &&
		or_raw_flags "$img" /vservers 0x04000000 &&
		mnt=$(mount_fixture "$img")
	ok $? "clean: replace it by the 2.6 barrier 0x04000000 (debugfs) and mount again" || return
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" \
		--vaudit "$VAUDIT" --label "clean, ROOT with 2.6 barrier"
	py_checks python3 "$VT" expect --image "$img" --root "$mnt/vservers" --mode nodev \
		--vaudit "$VAUDIT" --label "clean, ROOT with 2.6 barrier, --no-device-read"
	out=$("$VAUDIT" "$mnt/vservers" 2>"$st/err")
	rc=$?
	is "$rc:$out" "0:" "clean, ROOT with 2.6 barrier: exit 0 and nothing on stdout"
	[ -s "$st/err" ] && diag "stderr: $(cat -v "$st/err")"
	unmount_keep "$mnt"
	out=$("$VAUDIT" --image "$img" --prefix /vservers 2>"$st/err")
	rc=$?
	is "$rc:$out" "0:" "clean, ROOT with 2.6 barrier: --image exits 0 with nothing on stdout"
	[ -s "$st/err" ] && diag "stderr: $(cat -v "$st/err")"
}
clean_image

# ---- a ROOT that is a small part of its filesystem: 3,000 other files
# beside a guest of one file; the walk meets less than a 64th of the inodes
# in use, so the tables are not read (every entry through the walk), and
# the summary says why
small_part() {
	local st img mnt out
	st=$(mktemp -d "$TEST_TMP/small.XXXXXX")
	mkdir -p "$st/tree/other" "$st/tree/vs/g1"
	for i in $(seq 1 3000); do : >"$st/tree/other/f$i"; done
	printf 't\n' >"$st/tree/vs/g1/notail"
	img=$st/small.img
	truncate -s 64M "$img" && mke2fs -q -F -t ext4 -d "$st/tree" "$img" >/dev/null 2>&1 &&
		mnt=$(mount_fixture "$img") && chattr +t "$mnt/vs/g1/notail" && flush_fs "$mnt"
	ok $? "small part: an image with 3,000 files beside a one-file guest" || return
	out=$("$VAUDIT" --json "$mnt/vs" 2>/dev/null)
	grep -q '"record":"summary".*"method":"walk".*ROOT is a small part of its filesystem' <<<"$out"
	ok $? "small part: read through the walk, and the summary says why" || diag "$(tail -n 1 <<<"$out")"
	grep -q '"kind":"legacy-notail".*g1/notail' <<<"$out"
	ok $? "small part: the stray t on the private file is found all the same"
	out=$("$VAUDIT" --json "$mnt" 2>/dev/null | tail -n 1)
	grep -q '"method":"inode-tables"' <<<"$out"
	ok $? "small part: the whole filesystem as ROOT: the inode tables are read" || diag "$out"
}
small_part

# ---- a torn inode: an extra part of an impossible size (debugfs on the
# unmounted image); the kernel refuses the inode, and the tables keep it
# as suspect, so the audit reads it live and reports the error instead of
# passing over a file it cannot see
torn_inode() {
	local st img mnt out
	st=$(mktemp -d "$TEST_TMP/torn.XXXXXX")
	mkdir -p "$st/tree/vs/g1/d"
	for i in $(seq 1 200); do printf '%s\n' "$i" >"$st/tree/vs/g1/d/f$i"; done
	img=$st/torn.img
	truncate -s 64M "$img" && mke2fs -q -F -t ext4 -I 256 -d "$st/tree" "$img" >/dev/null 2>&1 &&
		run_debugfs -w -R "set_inode_field /vs/g1/d/f100 extra_isize 6" -- "$img" >/dev/null 2>&1 &&
		mnt=$(mount_fixture "$img")
	ok $? "torn inode: an ext4 image whose g1/d/f100 has extra_isize 6" || return
	! stat -- "$mnt/vs/g1/d/f100" >/dev/null 2>&1
	ok $? "torn inode: (the kernel refuses it: stat fails)"
	out=$("$VAUDIT" --json "$mnt" 2>/dev/null)
	grep -q '"record":"summary".*"method":"inode-tables"' <<<"$out"
	ok $? "torn inode: the inode tables were read" || diag "$(tail -n 1 <<<"$out")"
	grep -q '"record":"error".*g1/d/f100"' <<<"$out"
	ok $? "torn inode: an error record names g1/d/f100" || diag "$(grep -v '"finding"' <<<"$out")"
}
torn_inode

done_testing
