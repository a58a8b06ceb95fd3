#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# corrupt.sh - vaudit --image on broken input must fail cleanly: exit 0, 1,
# 2 or 3 (a partial audit; never a timeout or a signal, no sanitizer
# report), JSON Lines on stdout, and exit 2 or 3 only with a "vaudit: "
# line on stderr naming the image.
#
#   special inputs   a zero-filled file, an empty file, random bytes, the
#                    fixture cut inside its superblock, swap / minix / bfs
#                    (/ vfat / xfs / btrfs where installed) images, a
#                    directory, a missing path, /dev/null, a FIFO: each
#                    exactly one line "vaudit: 'FILE': ...", exit 2
#   crafted damage   debugfs -w on copies, checksums intact: directory
#                    cycles and a directory reachable twice, wrong modes,
#                    bad block pointers, sizes, flags, superblock and
#                    group descriptor fields
#   random damage    seeded: bytes and fields of the superblock (its
#                    checksum recomputed on ext4 most of the time), group
#                    descriptors, inode tables, directory blocks and
#                    entries, whole blocks, random offsets, truncation,
#                    random debugfs field writes
#
# Fixtures: mkfixture.sh --v26 --size 16 --no-mount for ext2, ext3 and
# ext4 (sparse 16 MiB), built without root; started as root, the test runs
# itself again as the unprivileged user 65534 (run_unprivileged); every case is a fresh sparse copy (only the non-zero 4 KiB
# chunks are written), removed after its run; the first failing images are
# kept below $TEST_TMP (VAUDIT_KEEP_TMP=1 keeps them after the test).
# Bounded: new random cases start only during the first
# VAUDIT_CORRUPT_BUDGET seconds (default 40) unless fewer than
# VAUDIT_CORRUPT_MIN (default 1000) images were tested; hard stop at 150 s.
# The seed is VAUDIT_CORRUPT_SEED (default 20040101); every failure is
# printed with its seed and the damage done.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

run_unprivileged "$@"
need_vaudit
need_cmd python3 debugfs dumpe2fs mke2fs e2fsck timeout

VT=$top_srcdir/tests/integration/vatest.py
W=$TEST_TMP
: "${VAUDIT_CORRUPT_SEED:=20040101}"
: "${VAUDIT_CORRUPT_BUDGET:=40}"
: "${VAUDIT_CORRUPT_MIN:=1000}"

imgs=()
for fs in ext2 ext3 ext4; do
	if img=$(make_fixture "$fs" --v26 --size 16 --no-mount); then
		ok 0 "$fs: build --v26 --size 16 fixture"
		imgs+=("$img")
	else
		ok 1 "$fs: build --v26 --size 16 fixture"
	fi
done
[ "${#imgs[@]}" -gt 0 ] || bail_out "no fixture could be built"

# the undamaged fixtures audit cleanly (so damage is what makes the difference)
for img in "${imgs[@]}"; do
	timeout 30 "$VAUDIT" --image "$img" --prefix /vservers --json >"$W/base.json" 2>"$W/base.err"
	rc=$?
	is "$rc:$(grep -c "^vaudit: '" "$W/base.err")" "1:0" \
		"${img##*/}: the undamaged image audits (exit 1, no error)" || diag "$(head -c 500 "$W/base.err" | cat -v)"
done

sums=$(sha256sum "${imgs[@]}")
py_checks python3 "$VT" corrupt --vaudit "$VAUDIT" --workdir "$W/corrupt" --prefix /vservers \
	--seed "$VAUDIT_CORRUPT_SEED" --budget "$VAUDIT_CORRUPT_BUDGET" --min "$VAUDIT_CORRUPT_MIN" \
	"${imgs[@]}"
is "$(sha256sum "${imgs[@]}")" "$sums" "the base fixtures are unchanged"

done_testing
