#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# image.sh - the image back end (vaudit --image FILE --prefix PATH) on
# ext2, ext3 and ext4 fixtures with the 2.6 bits (mkfixture.sh --v26),
# against a ground truth made without vaudit: raw i_flags, mode and link
# count per inode from debugfs, names from GNU find on a read-only loop
# mount (tests/integration/vatest.py groundtruth --mode image).
#
# Rules in image mode (every inode's raw flags are known):
#   legacy-iunlink               regular file, 0x10 and 0x8000
#   legacy-notail                regular file, 0x8000 without 0x10
#   legacy-barrier               directory, (mode & 0777) == 0 and 0x8000
#   missing-barrier              ROOT has neither 0x04000000 nor the 2.4 barrier
#   shared-unprotected           names in >= 2 guests, no 0x10
#   shared-immutable-no-iunlink  names in >= 2 guests, 0x10, neither
#                                0x08000000 nor 0x8000
#   iunlink-not-immutable        regular file, 0x08000000 without 0x10
#   barrier-on-guest             guest root with 0x04000000 or the 2.4 barrier
#   cow                          regular file, 0x20000000 (info: no exit 1)
#
# Then the same image, loop-mounted read-only, audited live: with the raw
# bits read from the block device, the default (and --thorough, a no-op)
# must give exactly the image set; --no-device-read gives the old view (barrier-unverified,
# none of the kinds that need a 2.6 bit; barrier-on-guest only for the 2.4
# encoding).  Bad --prefix values exit 2 with one line.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 debugfs mke2fs e2fsck chattr losetup find sha256sum

VT=$top_srcdir/tests/integration/vatest.py
W=$TEST_TMP

# vimg ARGS...: vaudit with output to $W/out, $W/err, status in RC
vimg() {
	"$VAUDIT" "$@" >"$W/out" 2>"$W/err"
	RC=$?
}

image_fs() { # FSTYPE
	local fs=$1 img mnt sum0 sum1 o
	if ! img=$(make_fixture "$fs" --v26); then
		ok 1 "$fs: build --v26 fixture"
		return
	fi
	ok 0 "$fs: build --v26 fixture"
	o=$W/$fs
	sum0=$(sha256sum <"$img")

	# ---- offline, on the unmounted image
	"$VAUDIT" --image "$img" --prefix /vservers --json >"$o.img.json" 2>"$o.img.err"
	echo $? >"$o.img.rc"
	"$VAUDIT" --image "$img" --prefix / --json >"$o.slash.json" 2>"$o.slash.err"
	echo $? >"$o.slash.rc"
	"$VAUDIT" --image "$img" --prefix /vservers >"$o.img.txt" 2>/dev/null
	is "$?" 1 "$fs: --image text output exits 1"
	"$VAUDIT" --image "$img" --prefix /vservers -0 >"$o.img.null" 2>/dev/null
	is "$?" 1 "$fs: --image -0 exits 1"
	"$VAUDIT" --image "$img" --prefix /vservers --verbose >"$W/out" 2>/dev/null
	is "$?" 1 "$fs: --image --verbose exits 1"
	LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$W/out"
	ok $((! $?)) "$fs: --image --verbose: no control bytes in the output"
	vimg --image "$img" --prefix /vservers --only cow --json
	is "$RC:$(python3 "$VT" kinds "$W/out" | sort -u | tr '\n' ' ')" "0:cow " \
		"$fs: --only cow: cow findings are info, exit status 0"

	# ---- bad prefixes: exit 2, one line naming the problem, no output
	for pfx in /no/such/dir /vservers/README /vservers/g1/usr/bin/ls; do
		vimg --image "$img" --prefix "$pfx" --json
		is "$RC:$(grep -c '' "$W/err"):$(wc -c <"$W/out")" "2:1:0" \
			"$fs: --prefix $pfx (missing or not a directory): exit 2, one line on stderr, no output" ||
			diag "stderr: $(cat -v "$W/err")"
		grep -qF -- "vaudit: '$img': " "$W/err"
		ok $? "$fs: --prefix $pfx: the message starts with \"vaudit: 'IMAGE': \"" ||
			diag "stderr: $(cat -v "$W/err")"
		grep -qF -- "$pfx" "$W/err" || diag "note: the message does not name the prefix: $(cat -v "$W/err")"
	done

	# ---- the same image as a (read-only loop) block device
	local dev
	if dev=$(losetup -r -f --show -- "$img"); then
		defer losetup -d "$dev"
		vimg --image "$dev" --prefix /vservers --json
		is "$RC" 1 "$fs: --image on a block device ($dev) exits 1"
		cp "$W/out" "$o.dev.json"
		py_checks python3 "$VT" sets --a "$o.dev.json" --b "$o.img.json" --rel equal \
			--label "$fs: --image DEVICE and --image FILE"
	else
		skip "$fs: --image on a block device" "losetup -r failed"
	fi

	sum1=$(sha256sum <"$img")
	is "$sum1" "$sum0" "$fs: the image audits left the image unchanged"

	# ---- ground truth from a read-only mount
	if ! mnt=$(mount_fixture_ro "$img"); then
		ok 1 "$fs: mount the fixture read-only"
		return
	fi
	ok 0 "$fs: mount the fixture read-only"
	# a mounted image is refused (its metadata may be changing under us)
	vimg --image "$img" --prefix /vservers --json
	is "$RC:$(grep -c '' "$W/err"):$(wc -c <"$W/out")" "2:1:0" \
		"$fs: --image on a mounted image: exit 2, one line on stderr, no output" ||
		diag "stderr: $(cat -v "$W/err")"
	# ... by the repair too (moved here from fix-image.sh, which runs
	# unprivileged and cannot mount)
	vimg --fix --image "$img" --prefix /vservers --journal "$o.mounted.journal"
	is "$RC" 2 "$fs: mounted image: --fix --image refused, exit 2"
	is "$(sha256sum <"$img")" "$sum0" "$fs: mounted image: unchanged by the refused --fix (sha256)"
	py_checks python3 "$VT" groundtruth --mode image --image "$img" --mount "$mnt" \
		--prefix /vservers --out "$o.img.json" --err "$o.img.err" --rc "$(cat "$o.img.rc")" \
		--vaudit "$VAUDIT" --label "$fs"
	# --prefix /: the guests are /lost+found, /outside and /vservers
	py_checks python3 "$VT" groundtruth --mode image --image "$img" --mount "$mnt" \
		--prefix / --out "$o.slash.json" --err "$o.slash.err" --rc "$(cat "$o.slash.rc")" \
		--vaudit "$VAUDIT" --label "$fs"
	py_checks python3 "$VT" textout --root /vservers --mount "$mnt" --json "$o.img.json" \
		--text "$o.img.txt" --label "$fs --image"
	py_checks python3 "$VT" nullout --root /vservers --mount "$mnt" --json "$o.img.json" \
		--null "$o.img.null"

	# ---- live on the mounted image: the raw bits come from the loop device
	py_checks python3 "$VT" groundtruth --mode live --thorough --image "$img" --mount "$mnt" \
		--root "$mnt/vservers" --vaudit "$VAUDIT" --label "$fs live" --save "$o.live-thorough.json"
	py_checks python3 "$VT" groundtruth --mode live --image "$img" --mount "$mnt" \
		--root "$mnt/vservers" --vaudit "$VAUDIT" --label "$fs live" --save "$o.live.json"
	py_checks python3 "$VT" sets --a "$o.live-thorough.json" --b "$o.img.json" --rel equal \
		--label "$fs: live --thorough and --image"
	# the default is complete: legacy-notail, iunlink-not-immutable and cow
	# on private, non-immutable files too
	py_checks python3 "$VT" sets --a "$o.live.json" --b "$o.img.json" --rel equal \
		--label "$fs: live default and --image"

	# ---- live without the device: the old view
	py_checks python3 "$VT" groundtruth --mode nodev --image "$img" --mount "$mnt" \
		--root "$mnt/vservers" --vaudit "$VAUDIT" --label "$fs live" --save "$o.nodev.json"
	py_checks python3 "$VT" groundtruth --mode nodev --thorough --image "$img" --mount "$mnt" \
		--root "$mnt/vservers" --vaudit "$VAUDIT" --label "$fs live"
	local kinds
	kinds=$(python3 "$VT" kinds "$o.nodev.json" | sort -u | tr '\n' ' ')
	case " $kinds " in
		*" barrier-unverified "*) ok 0 "$fs: --no-device-read reports barrier-unverified" ;;
		*) ok 1 "$fs: --no-device-read reports barrier-unverified (got: $kinds)" ;;
	esac
	# barrier-on-guest stays possible: the 2.4 barrier on guest root g5 is
	# mode 0000 + 0x8000, readable without the device (the exact ground
	# truth above says which inodes)
	case " $kinds " in
		*" missing-barrier "* | *" shared-immutable-no-iunlink "* | *" iunlink-not-immutable "* | *" cow "*)
			ok 1 "$fs: --no-device-read reports none of the kinds that need the 2.6 bits (got: $kinds)" ;;
		*) ok 0 "$fs: --no-device-read reports none of the kinds that need the 2.6 bits" ;;
	esac
}

for fs in ext2 ext3 ext4; do
	image_fs "$fs"
done

# ---- a small fixture with both root barrier encodings: no missing-barrier
if img=$(make_fixture ext4 --v26 --root-barrier --size 16); then
	ok 0 "ext4 --v26 --root-barrier --size 16: build fixture"
	vimg --image "$img" --prefix /vservers --json
	is "$RC" 1 "ext4 --root-barrier: --image exits 1"
	is "$(python3 "$VT" kinds "$W/out" | grep -c -e '^missing-barrier$')" 0 \
		"ext4 --root-barrier: ROOT with both barriers is not missing-barrier"
	is "$(python3 "$VT" inos "$W/out" | grep -c '^legacy-barrier ')" 3 \
		"ext4 --root-barrier: legacy-barrier on ROOT, g2/srv/oldbarrier and the guest root g5"
else
	ok 1 "ext4 --v26 --root-barrier --size 16: build fixture"
fi

done_testing
