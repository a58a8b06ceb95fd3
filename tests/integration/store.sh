#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# store.sh - the hash store convention: the store (/vservers/.hash, named
# by apps/vunify/hash/00 of the configuration) is not a guest, its chroot
# barrier is right, its bookkeeping files (method) are not entries.
#
#   A  a host hashified the util-vserver way: method in the hash
#      directory of .defaults, the store mode 0700 with the barrier
#      (setattr --barrier /vservers/.hash, as util-vserver's packages do),
#      one entry xx/yy/<sha256 of the packed header + content>-00000000
#      immutable+iunlink (0x08000010) linked to two guests
#   B  a host hashified by our vhashify (--flags=legacy: no vserver
#      syscall here) into a store made like A's, which writes "method"
#      into the store
#
# Both must audit clean of store findings, live (--host-root on the
# loop-mounted image, 2.6 bits from the block device) and offline
# (--image); the repair must leave the store's barrier alone (debugfs
# reads it before and after).  Controls: without its barrier, and with an
# entry that is not immutable, the store is hash-unprotected (never
# barrier-on-guest).  Ground truth (flags, names) from debugfs and stat.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd debugfs mke2fs losetup mount umount python3 e2fsck
: "${VHASHIFY:=$top_builddir/vhashify}"
[ -x "$VHASHIFY" ] || skip_all "vhashify not built"

W=$TEST_TMP
T=1600000000

# stage DIR: the host tree both designs share (guests a and b, their
# configuration, /vservers/.hash empty, mode 0700)
stage() {
	local s=$1 g
	mkdir -p "$s/vservers/.hash" "$s/etc/vservers/.defaults/apps/vunify/hash"
	chmod 0700 "$s/vservers/.hash"
	ln -s /vservers/.hash "$s/etc/vservers/.defaults/apps/vunify/hash/00"
	for g in a b; do
		mkdir -p "$s/etc/vservers/$g/apps/vunify" "$s/vservers/$g/usr/lib" "$s/vservers/$g/etc"
		ln -s "/vservers/$g" "$s/etc/vservers/$g/vdir"
		printf '%s\n' "$([ $g = a ] && echo 1001 || echo 1002)" >"$s/etc/vservers/$g/context"
		printf 'host %s\n' "$g" >"$s/vservers/$g/etc/hostname"
	done
	head -c 5000 /dev/zero | tr '\0' 'x' >"$s/vservers/a/usr/lib/libx.so"
	cp "$s/vservers/a/usr/lib/libx.so" "$s/vservers/b/usr/lib/libx.so"
	find "$s" -exec touch -h -d "@$T" {} +
}

# build IMG STAGE: the image, /vservers and /vservers/.hash with the 2.6 barrier
build() {
	mke2fs -q -F -t ext4 -b 4096 -d "$2" "$1" 32M >/dev/null 2>&1 &&
		or_raw_flags "$1" /vservers 0x04000000 &&
		or_raw_flags "$1" /vservers/.hash 0x04000000
}

# store_findings JSON: the findings about the store (a path in it, a
# guest named .hash, barrier-on-guest or hash-unprotected), one per line:
# KIND ROOT PATH DETAIL
store_findings() {
	python3 - "$1" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get('record') != 'finding':
        continue
    p = r.get('path', '')
    if '/.hash' in p or r.get('guest') == '.hash' or \
            r['kind'] in ('barrier-on-guest', 'hash-unprotected'):
        print(r['kind'], r.get('root'), p, r.get('detail', ''))
EOF
}

# audit_both LABEL IMG: vaudit --json offline and live (--host-root on a
# read-only mount) into $W/LABEL.img.json and $W/LABEL.live.json; their
# exit statuses in IMG_RC and LIVE_RC
audit_both() {
	local m
	"$VAUDIT" --json --image "$2" --prefix /vservers >"$W/$1.img.json" 2>"$W/$1.img.err"
	IMG_RC=$?
	m=$(mount_fixture_ro "$2") || bail_out "cannot mount $2"
	"$VAUDIT" --json --host-root "$m" >"$W/$1.live.raw" 2>"$W/$1.live.err"
	LIVE_RC=$?
	sed "s|$m||g" "$W/$1.live.raw" >"$W/$1.live.json"
	unmount_keep "$m"
}

# ---------------------------------------------------------------- A: util-vserver's layout
S=$W/stage-a
stage "$S"
printf 'sha256\n' >"$S/etc/vservers/.defaults/apps/vunify/hash/method"
# the entry's name: util-vserver's recipe, sha256 over the packed header
# (mode, uid, gid, rdev, size, mtime: <IIIQqq on x86_64) and the content
E=$(python3 - "$S/vservers/a/usr/lib/libx.so" <<'EOF'
import hashlib, os, struct, sys
st = os.lstat(sys.argv[1])
h = hashlib.sha256(struct.pack('<IIIQqq', st.st_mode, st.st_uid, st.st_gid, st.st_rdev,
                               st.st_size, int(st.st_mtime)))
h.update(open(sys.argv[1], 'rb').read())
d = h.hexdigest()
print('%s/%s/%s-00000000' % (d[0:2], d[2:4], d[4:]))
EOF
)
mkdir -p "$S/vservers/.hash/${E%/*}"
ln "$S/vservers/a/usr/lib/libx.so" "$S/vservers/.hash/$E"
ln -f "$S/vservers/a/usr/lib/libx.so" "$S/vservers/b/usr/lib/libx.so"
find "$S" -exec touch -h -d "@$T" {} +
A=$W/a.img
build "$A" "$S" && or_raw_flags "$A" "/vservers/.hash/$E" 0x08000010
ok $? "A: image built the util-vserver way (store with the barrier, entry $E immutable+iunlink)"
is "$(run_debugfs -R "stat /vservers/.hash/$E" "$A" 2>/dev/null | sed -n 's/.*Links: \([0-9]*\).*/\1/p')" 3 \
	"A: debugfs: the entry has 3 names (the store, a, b)"

audit_both a "$A"
is "$IMG_RC:$LIVE_RC" "0:0" "A: clean offline and live (exit 0 both)" ||
	diag "$(cat "$W/a.img.json" "$W/a.live.json" "$W/a.img.err" "$W/a.live.err")"
is "$(store_findings "$W/a.img.json")" "" "A: --image: no store finding (the barrier is right, .hash is no guest)"
is "$(store_findings "$W/a.live.json")" "" "A: --host-root: no store finding"

before=$(raw_flags "$A" /vservers/.hash)
"$VAUDIT" --fix --image "$A" --prefix /vservers --journal "$W/a-fix.journal" >"$W/a-fix.out" 2>&1
rc1=$?
"$VAUDIT" --fix --only barrier-on-guest --image "$A" --prefix /vservers \
	--journal "$W/a-fix2.journal" >>"$W/a-fix.out" 2>&1
rc2=$?
is "$rc1:$rc2:$(raw_flags "$A" /vservers/.hash)" "0:0:$before" \
	"A: --fix (default and --only barrier-on-guest) leaves the store's barrier alone (debugfs: $before)" ||
	diag "$(cat "$W/a-fix.out")"

# control: the store without its barrier is hash-unprotected, not a guest
C=$W/a-nobarrier.img
cp "$A" "$C"
run_debugfs -w -R "set_inode_field /vservers/.hash flags $(printf '0x%08x' $(($(raw_flags "$C" /vservers/.hash) & ~0x04000000)))" "$C" >/dev/null 2>&1
is "$(( $(raw_flags "$C" /vservers/.hash) & 0x04000000 ))" 0 "control: debugfs cleared the store's barrier"
audit_both c "$C"
want='hash-unprotected /vservers/.hash /vservers/.hash the hash store has no chroot barrier'
is "$(store_findings "$W/c.img.json")" "$want" "control: --image: the store without barrier is hash-unprotected"
is "$(store_findings "$W/c.live.json")" "$want" "control: --host-root: the same"

# control: an entry guests can change
D=$W/a-mutable.img
cp "$A" "$D"
run_debugfs -w -R "set_inode_field /vservers/.hash/$E flags 0x00080000" "$D" >/dev/null 2>&1
audit_both d "$D"
want="hash-unprotected /vservers/.hash /vservers/.hash/$E the entry is not immutable: any guest linked to it can change it for all"
is "$(store_findings "$W/d.img.json" | grep -v '^shared')" "$want" "control: --image: the mutable entry is hash-unprotected"
is "$(store_findings "$W/d.live.json" | grep -v '^shared')" "$want" "control: --host-root: the same"
n=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("kind") == "shared-unprotected"))' "$W/d.img.json")
is "$n" 1 "control: its guest names are shared-unprotected once (a and b; the store is no guest)"

# ---------------------------------------------------------------- B: our vhashify
S=$W/stage-b
stage "$S"
B=$W/b.img
build "$B" "$S"
ok $? "B: image built (store mode 0700 with the barrier, guests not linked)"
M=$(mount_fixture "$B") || bail_out "cannot mount $B"
"$VHASHIFY" --manually --destination "$M/vservers/.hash" --flags=legacy --no-progress \
	--journal "$W/b.journal" -- "$M/vservers/a" "" "$M/vservers/b" "" >"$W/b.out" 2>"$W/b.err"
ok $? "B: our vhashify into the store with the barrier exits 0" || diag "$(cat "$W/b.out" "$W/b.err")"
is "$(stat -c %i "$M/vservers/a/usr/lib/libx.so")" "$(stat -c %i "$M/vservers/b/usr/lib/libx.so")" \
	"B: the guests' libx.so are one inode"
unmount_keep "$M"
is "$(run_debugfs -R "ls -l /vservers/.hash" "$B" 2>/dev/null | grep -c ' method$')" 1 \
	"B: debugfs: vhashify wrote method into the store"
is "$(( $(raw_flags "$B" /vservers/.hash) & 0x04000000 ))" $((0x04000000)) "B: debugfs: the store keeps its barrier"
audit_both b "$B"
is "$(store_findings "$W/b.img.json")" "" "B: --image: no store finding (method is no entry)"
is "$(store_findings "$W/b.live.json")" "" "B: --host-root: no store finding"
diag "B: other kinds (legacy flags on a 2.6 disk): $(python3 -c '
import json, sys, collections
print(dict(collections.Counter(json.loads(l).get("kind") for l in open(sys.argv[1]) if "\"finding\"" in l)))' "$W/b.live.json")"

e2fsck -fn "$A" >/dev/null 2>&1 && e2fsck -fn "$B" >/dev/null 2>&1
ok $? "both images are clean for e2fsck -fn"

done_testing
