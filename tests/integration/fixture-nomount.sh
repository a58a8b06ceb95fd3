#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fixture-nomount.sh - mkfixture.sh --no-mount (mke2fs -d, then debugfs -w;
# built here by the unprivileged user 65534) gives the same image as the
# loop-mounted build (chattr, chmod, then debugfs for the 2.6 bits): every
# inode of the two images, dumped with debugfs (fixtest.py dump), has the
# same type, mode, flags, owner, link count, size, generation, ACL and
# block map; only the times differ.  So the tests that use --no-mount
# fixtures (image-noroot.sh, fix-image.sh, corrupt.sh, tui-headless.sh)
# see the states the mounted build makes.  Needs root for the mounted
# build.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_cmd python3 debugfs dumpe2fs mke2fs e2fsck chattr setpriv
FT=$top_srcdir/tests/integration/fixtest.py
W=$TEST_TMP

# the unprivileged build needs a directory that user may write
U=$W/unpriv
mkdir -p "$U"
chmod 755 "$W"
chown "$VAUDIT_TEST_UID:$VAUDIT_TEST_UID" "$U"
upath=$(setpriv --reuid="$VAUDIT_TEST_UID" --regid="$VAUDIT_TEST_UID" --clear-groups -- \
	bash -c 'IFS=:; for d in $1; do [ -d "$d" ] && [ -x "$d" ] && printf "%s:" "$d"; done' _ "$PATH")

same_image() { # LABEL MKFIXTURE-OPTS...
	local label=$1 m n name out
	shift
	name=$(printf '%s' "$*" | tr -c 'A-Za-z0-9' _)
	m=$W/$name-mount.img
	n=$U/$name-nomount.img
	out=$(bash "$top_srcdir/testdata/mkfixture.sh" "$m" "$@" 2>&1)
	ok $? "$label: mounted build" || { diag "$out"; return; }
	out=$(setpriv --reuid="$VAUDIT_TEST_UID" --regid="$VAUDIT_TEST_UID" --clear-groups -- \
		env PATH="${upath%:}" HOME=/ bash "$top_srcdir/testdata/mkfixture.sh" "$n" "$@" --no-mount 2>&1)
	ok $? "$label: --no-mount build as uid $VAUDIT_TEST_UID" || { diag "$out"; return; }
	python3 "$FT" dump "$m" "$m.json" && python3 "$FT" dump "$n" "$n.json"
	ok $? "$label: debugfs dumps" || return
	out=$(python3 - "$m.json" "$n.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a, b = a['inodes'], b['inodes']
times = {'mtime', 'ctime', 'atime', 'crtime'}
bad = []
if sorted(a) != sorted(b):
    bad.append('inode sets differ: %d vs %d' % (len(a), len(b)))
for ino in sorted(set(a) & set(b), key=int):
    for k in sorted((set(a[ino]) | set(b[ino])) - times):
        if a[ino].get(k) != b[ino].get(k):
            bad.append('inode %s %s: mounted %r, --no-mount %r' % (ino, k, a[ino].get(k), b[ino].get(k)))
print('\n'.join(bad[:20]))
PY
)
	is "$out" "" "$label: every inode equal apart from its times"
}

same_image "ext2" ext2 --size 16
same_image "ext3 --v26 --root-barrier" ext3 --v26 --root-barrier --size 16
same_image "ext4 --v26" ext4 --v26 --size 16
same_image "ext4 --v26 (64 MiB)" ext4 --v26
same_image "ext4 --root-barrier" ext4 --root-barrier --size 16

done_testing
