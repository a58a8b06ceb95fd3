#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# usage-image.sh - vaudit --usage --image: an ext4 image made with mke2fs
# -d (never mounted for the build) from a tree with hard links between
# guests (ln), copies (cp -a), a .hash store entry linked into two guests
# and one equal to a guest's file, a guest's own hard links, sparse and
# empty files, a symlink, a fifo, a file directly in ROOT, and
# /etc/vservers/NAME/context for each guest.  vaudit reads the image as
# user 65534 when the test runs as root (setpriv), and:
#   truth    every figure of every usage and usage-total record equals
#            a ground truth from debugfs alone (usageimgtest.py truth:
#            ls -p walk, Blockcount per inode), with and without --exact;
#            the text table holds the same figures and names the image
#   live     (root, in a private mount namespace) the same image
#            loop-mounted read-only: the live --usage gives the same
#            figures, with and without --exact
#   tags     xid tags set with debugfs (gid_hi, the id24 scheme) on some
#            inodes: the usage-tag records count them per tag, the
#            usage-tag-mismatch records and text lines name exactly the
#            names whose tag is not their guest's context; without
#            /etc/vservers the contexts are said to be unknown
#   corrupt  a truncated image and one with a garbage superblock: exit 2
#            and one line naming the file
#   readonly the image is unchanged (sha256) after every run
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/ns.sh"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_vaudit
need_cmd python3 mke2fs debugfs sha256sum timeout
[ "${VAUDIT_TEST_NS-}" = 1 ] && ns_release_foreign

W=$TEST_TMP
UT=$top_srcdir/tests/integration/usageimgtest.py
SCHEMA=$top_srcdir/schema/vaudit-records.schema.json
RP=$top_srcdir/tests/integration/records.py

# as root, vaudit reads the image as user 65534
AS=()
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$VAUDIT" --version >/dev/null 2>&1; then
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	chmod 0711 "$W"
fi

# run TAG ARGS...: vaudit (unprivileged) with ARGS, stdout in $W/TAG.out,
# stderr in $W/TAG.err, status in RC
run() {
	local tag=$1
	shift
	timeout -s KILL 120 "${AS[@]}" "$VAUDIT" "$@" >"$W/$tag.out" 2>"$W/$tag.err"
	RC=$?
}

urandom() { head -c "$2" /dev/urandom >"$1"; }
dfs() { DEBUGFS_PAGER=__none__ PAGER=__none__ debugfs "$@"; }

# ------------------------------------------------------------------ the tree
S=$W/stage
R=$S/vservers
for g in a b c; do
	mkdir -p "$R/$g/etc" "$R/$g/usr/lib" "$R/$g/bin" "$R/$g/data" "$S/etc/vservers/$g"
done
echo 42 >"$S/etc/vservers/a/context"
echo 43 >"$S/etc/vservers/b/context"
echo 44 >"$S/etc/vservers/c/context"
printf 'host a\n' >"$R/a/etc/hostname"
printf 'host bb\n' >"$R/b/etc/hostname"
printf 'host ccc\n' >"$R/c/etc/hostname"
ln "$R/c/etc/hostname" "$R/c/etc/hostname.bak"             # private, two names
urandom "$R/a/usr/lib/libc.so" 100000
ln "$R/a/usr/lib/libc.so" "$R/b/usr/lib/libc.so"            # shared by a, b, c
ln "$R/a/usr/lib/libc.so" "$R/c/usr/lib/libc.so"
ln "$R/a/usr/lib/libc.so" "$R/a/usr/lib/libc.so.6"          # and a second name in a
urandom "$R/a/bin/big" 300000
cp -a "$R/a/bin/big" "$R/a/bin/big.copy"                     # a copy: reclaimable
mkdir -p "$R/.hash/ab/cd"
urandom "$R/.hash/ab/cd/entry" 50000                         # a store entry in two guests
ln "$R/.hash/ab/cd/entry" "$R/a/usr/lib/hashed"
ln "$R/.hash/ab/cd/entry" "$R/c/usr/lib/hashed"
urandom "$R/b/bin/tool" 20000
cp -a "$R/b/bin/tool" "$R/.hash/ab/cd/lonely"                # the store's copy is kept
truncate -s 10M "$R/b/data/sparse"
printf 'x' | dd of="$R/b/data/sparse" bs=1 seek=5000000 conv=notrunc status=none
: >"$R/a/data/empty"; : >"$R/b/data/empty"
urandom "$R/a/data/same-a" 40000                             # equal size, other content
urandom "$R/a/data/same-b" 40000
ln -s ../usr/lib/libc.so "$R/a/bin/link"
mkfifo "$R/c/data/fifo"
echo "not a guest" >"$R/README"
IMG=$W/host.img
mke2fs -q -F -t ext4 -b 1024 -d "$S" "$IMG" 32M >/dev/null 2>&1 || bail_out "mke2fs -d failed"
chmod 0644 "$IMG"
SUM=$(sha256sum <"$IMG")

# ------------------------------------------------------------------ truth
run json --usage --image "$IMG" --prefix /vservers --json
is "$RC" 0 "--usage --image --json: exit 0"
is "$(cat "$W/json.err")" "" "--usage --image --json: nothing on stderr"
py_checks python3 "$UT" truth "$IMG" /vservers "$W/json.out" --label "--usage --image"
py_checks python3 "$RP" "$SCHEMA" "$W/json.out" --label "--usage --image --json" --exit 0 \
	--last usage-total --want usage=3 --want error=0 --expect partial=false --expect guests=3 \
	--expect 'stores=["/vservers/.hash"]' --expect 'roots=["/vservers"]' --expect tags=0
run exact --usage --image "$IMG" --prefix /vservers --json --exact
is "$RC" 0 "--usage --image --exact: exit 0"
d=$(python3 - "$W/json.out" "$W/exact.out" <<'EOF'
import json, sys
a, b = (json.loads(open(f).read().splitlines()[-1]) for f in sys.argv[1:3])
print(a['reclaimable_files'] - b['reclaimable_files'], b['reclaimable_files'], b['exact'])
EOF
)
is "$d" "1 2 True" "--exact reads the content: same-a/same-b are not reclaimable, big.copy and tool are"
run text --usage --image "$IMG" --prefix /vservers
is "$RC" 0 "--usage --image (text): exit 0"
grep -q "^image '$IMG': [0-9]* files, " "$W/text.out"
ok $? "the text summary names the image"
t=$(python3 - "$W/json.out" "$W/text.out" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rows = {l.split()[0]: l.split()[1] for l in open(sys.argv[2]).read().splitlines()[1:] if len(l.split()) == 6}
bad = [r['guest'] for r in recs if r['record'] == 'usage' and rows.get(r['guest']) != str(r['files'])]
print('ok' if not bad and rows.get('total') == str(recs[-1]['files']) else 'differ %s' % bad)
EOF
)
is "$t" ok "the text table has the files of the records"
is "$(sha256sum <"$IMG")" "$SUM" "the image is unchanged (sha256)"

# ------------------------------------------------------------------ live
if [ "${VAUDIT_TEST_NS-}" = 1 ] && command -v losetup >/dev/null 2>&1 &&
	mnt=$(mount_fixture_ro "$IMG"); then
	"$VAUDIT" --usage --no-config --json "$mnt/vservers" >"$W/live.out" 2>"$W/live.err"
	is "$?" 0 "live --usage of the mounted image: exit 0"
	py_checks python3 "$UT" same "$W/json.out" "$W/live.out" --label "image vs live"
	"$VAUDIT" --usage --no-config --json --exact "$mnt/vservers" >"$W/livex.out" 2>"$W/livex.err"
	py_checks python3 "$UT" same "$W/exact.out" "$W/livex.out" --label "image vs live, --exact"
	unmount_keep "$mnt"
else
	skip "live --usage on the loop-mounted image" "needs root and a private mount namespace"
fi

# ------------------------------------------------------------------ tags
TIMG=$W/tags.img
cp -- "$IMG" "$TIMG"
# id24: the tag's low byte is the top byte of the 32-bit gid (gid_hi << 16)
settag() { # PATH TAG
	dfs -w -R "set_inode_field $1 gid_hi $(($2 << 8))" -- "$TIMG" >/dev/null 2>&1
}
settag /vservers/a/bin/big 42 &&                # a's context: fine
	settag /vservers/c/etc/hostname 44 &&       # c's, two names: fine
	settag /vservers/b/bin/tool 42 &&           # in b (43): a mismatch
	settag /vservers/a/usr/lib/libc.so 42       # in a, b and c: two mismatches (b, c)
ok $? "tags set with debugfs"
chmod 0644 "$TIMG"
for scheme in id24 auto; do
	run tags --usage --image "$TIMG" --prefix /vservers --tag-scheme "$scheme" --json
	is "$RC" 0 "--usage --image --tag-scheme $scheme: exit 0"
	py_checks python3 "$UT" tags "$W/tags.out" --label "--tag-scheme $scheme" \
		--tag 0=$(($(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["files"])' "$W/tags.out") - 4)) \
		--tag 42=3 --tag 44=1 --mismatch /vservers/b/bin/tool=42 \
		--mismatch /vservers/b/usr/lib/libc.so=42 --mismatch /vservers/c/usr/lib/libc.so=42
done
py_checks python3 "$RP" "$SCHEMA" "$W/tags.out" --label "--usage --image, tags" --exit 0 \
	--last usage-total --want usage=3 --want usage-tag=3 --want usage-tag-mismatch=3 \
	--expect contexts_known=true --expect tag_mismatches=3
run tagtext --usage --image "$TIMG" --prefix /vservers --tag-scheme id24
grep -q "^tags: 3 names in a guest tagged for another context$" "$W/tagtext.out" &&
	grep -q "^  /vservers/b/bin/tool: tag 42, its guest's context is 43$" "$W/tagtext.out"
ok $? "the text output counts and lists the mismatches"
run notags --usage --image "$TIMG" --prefix /vservers --tag-scheme none --json
py_checks python3 "$UT" tags "$W/notags.out" --label "--tag-scheme none"
dfs -w -R "unlink /etc/vservers" -- "$TIMG" >/dev/null 2>&1
run noctx --usage --image "$TIMG" --prefix /vservers --tag-scheme id24
grep -q "^tags: the guests' contexts are unknown (no /etc/vservers in the image): figures per tag only$" \
	"$W/noctx.out" && ! grep -q "its guest's context" "$W/noctx.out"
ok $? "without /etc/vservers: per-tag figures only, the contexts said to be unknown"

# ------------------------------------------------------------------ corrupt
head -c 200000 -- "$IMG" >"$W/trunc.img"
cp -- "$IMG" "$W/garbage.img"
head -c 1024 /dev/urandom | dd of="$W/garbage.img" bs=1024 seek=1 conv=notrunc status=none
chmod 0644 "$W/trunc.img" "$W/garbage.img"
for bad in trunc garbage; do
	run "$bad" --usage --image "$W/$bad.img" --prefix /vservers --json
	is "$RC" 2 "$bad image: exit 2"
	is "$(wc -l <"$W/$bad.err")" 1 "$bad image: one line on stderr"
	grep -q "^vaudit: '$W/$bad.img': " "$W/$bad.err"
	ok $? "$bad image: the line names the file ($(cat "$W/$bad.err"))"
done
is "$(sha256sum <"$IMG")" "$SUM" "the image is unchanged at the end (sha256)"

"$VAUDIT" --help | grep -q -- '--usage.*--image'
ok $? "vaudit --help shows --usage with --image"

done_testing
