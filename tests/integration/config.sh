#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# config.sh - the configuration checks and --list: vaudit --host-root
# PREFIX on an offline copy of a host (testdata/mkhost.sh, loop-mounted
# read-write), vaudit --config DIR on a live configuration made here, and
# the option errors.  The expected findings and guest listings are tables
# written by hand from mkhost.sh's design (not from vaudit's output); the
# hash store findings are also checked against raw i_flags from debugfs.
#
# Mounts made for the host image (PREFIX = its mountpoint):
#   PREFIX/otherfs   a second small ext4 image holding hash/ (with the 2.6
#                    barrier and one immutable+iunlink entry: clean), so
#                    guest hashx's only store is on another filesystem
#   PREFIX/bindhash  a bind mount of PREFIX/vservers/.hash: guest hashb's
#                    store is on the guests' filesystem but another mount
# and a canary directory beside PREFIX ($TEST_TMP/canary), which guest
# peek's vdir (../../../../canary) would reach if ".." could leave PREFIX.
#
# Kinds compared exactly: config-*, guest-running, shared-secret,
# unify-leftover, hash-unprotected (the attribute kinds are groundtruth.sh's
# business).  Nothing may change: a snapshot of the trees (inode, mode,
# links, flags, size, mtime, ctime) and the raw flags of every inode
# (debugfs) are the same before and after.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 debugfs mke2fs e2fsck losetup mount umount mountpoint find fsfreeze sha256sum timeout

CT=$top_srcdir/tests/integration/configtest.py
VT=$top_srcdir/tests/integration/vatest.py
MKHOST=$top_srcdir/testdata/mkhost.sh
W=$TEST_TMP

# run ARGS...: vaudit with output to $W/out, $W/err, status in RC (124:
# it hung, e.g. on the FIFO in the configuration)
run() {
	timeout 120 "$VAUDIT" "$@" >"$W/out" 2>"$W/err"
	RC=$?
}
nlines() { grep -c '' -- "$1"; }
# field GUEST KEY: KEY (dotted) of GUEST in the --list --json file $LIST
# fnd FILE: the finding records of --json output FILE (not the summary
# record, whose elapsed time differs from run to run)
fnd() { grep '^{"record":"finding"' -- "$1"; }
field() { python3 "$CT" field --json "$LIST" --guest "$1" --key "$2"; }

# the store entries of the design (mkhost.sh)
HA=aa/bb/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-00000000
HC=cc/dd/0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c-00000000
HE=ee/ff/0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e-00000000
HO=12/34/3434343434343434343434343434343434343434-00000000
KINDS='config-.*|guest-running|shared-secret|unify-leftover|hash-unprotected'

# ---------------------------------------------------------------- mkhost.sh
img=$W/host.img
out=$(bash "$MKHOST" "$img" 2>&1)
ok $? "mkhost.sh builds the host image" || { diag "$out"; bail_out "cannot build the host image"; }
is "$out" "" "mkhost.sh prints nothing on success"
sum0=$(sha256sum <"$img")
bash "$MKHOST" "$img" >/dev/null 2>&1
is "$?:$(sha256sum <"$img")" "0:$sum0" "mkhost.sh again on the same path: the same image, byte for byte"
bash "$MKHOST" >/dev/null 2>"$W/err"
is "$?:$(grep -c '^usage: ' "$W/err")" "2:1" "mkhost.sh without arguments: usage on stderr, exit 2"
bash "$MKHOST" "$W/x.img" --size 3 >/dev/null 2>&1
is "$?:$([ -e "$W/x.img" ] && echo made)" "2:" "mkhost.sh --size 3: refused, no image"
e2fsck -fn "$img" >"$W/fsck" 2>&1
ok $? "the host image is clean for e2fsck -fn" || diag "$(cat "$W/fsck")"

# ---------------------------------------------------------------- ground truth
# raw i_flags of the stores, before anything is mounted
python3 "$CT" storetruth --image "$img" --store /vservers/.hash >"$W/truth.hash" 2>"$W/err"
ok $? "debugfs: ground truth of the store /vservers/.hash" || diag "$(cat "$W/err")"
py_checks python3 "$CT" storedesign --truth "$W/truth.hash" --label "store /vservers/.hash" \
	--expect "/vservers/.hash=no barrier" "/vservers/.hash/$HA=not immutable" \
	"/vservers/.hash/$HC=immutable without iunlink" \
	--flags "/vservers/.hash/$HC=0x00000010" "/vservers/.hash/$HE=0x08000010"

# the second filesystem, for PREFIX/otherfs: a clean store
ost=$W/otherfs-tree
mkdir -p "$ost/hash/${HO%/*}"
printf 'store entry on the other filesystem\n' >"$ost/hash/$HO"
oimg=$W/otherfs.img
truncate -s 4M "$oimg" &&
	mke2fs -q -F -t ext4 -b 1024 -d "$ost" "$oimg" >/dev/null 2>&1 &&
	or_raw_flags "$oimg" /hash 0x04000000 &&
	or_raw_flags "$oimg" "/hash/$HO" 0x08000010
ok $? "build the second filesystem (hash/ with the 2.6 barrier, one immutable+iunlink entry)"
python3 "$CT" storetruth --image "$oimg" --store /hash >"$W/truth.other" 2>"$W/err"
ok $? "debugfs: ground truth of the store on the second filesystem" || diag "$(cat "$W/err")"
py_checks python3 "$CT" storedesign --truth "$W/truth.other" --label "store otherfs:/hash" \
	--flags "/hash=0x04000000" "/hash/$HO=0x08000010"

# the canary, beside the mountpoint: what a ".." out of PREFIX would reach
mkdir -p "$W/canary/usr/bin" "$W/canary/etc"
printf 'canary tool\n' >"$W/canary/usr/bin/tool"
printf 'canary leftover\n' >"$W/canary/usr/bin/tool;Qq1234"
printf 'canary secret\n' >"$W/canary/etc/shadow"
ln "$W/canary/etc/shadow" "$W/canary/etc/gshadow"
find "$W/canary" -printf '%i %n %m %s %T@ %C@ %P\n' | sort >"$W/canary.before"

# ---------------------------------------------------------------- mounts
MNT=$(mount_fixture "$img") || bail_out "cannot mount the host image"
ok 0 "mount the host image"
is "$(dirname -- "$MNT")" "$W" "the canary $W/canary is exactly where PREFIX/../canary would lead"
odev=$(losetup -f --show -- "$oimg") || bail_out "losetup of the second image failed"
defer losetup -d "$odev"
mount -o rw -- "$odev" "$MNT/otherfs" || bail_out "cannot mount the second image on PREFIX/otherfs"
defer _t_unmount "$MNT/otherfs"
mount --bind -- "$MNT/vservers/.hash" "$MNT/bindhash" || bail_out "cannot bind-mount the store on PREFIX/bindhash"
defer _t_unmount "$MNT/bindhash"
# flush_fs freezes and thaws: should a signal come in between, thaw
# before the unmounts (run first: registered last)
defer fsfreeze -u -- "$MNT/otherfs"
defer fsfreeze -u -- "$MNT"
ok 0 "mount the second filesystem on PREFIX/otherfs and bind-mount the store on PREFIX/bindhash"
samei() { [ "$(stat -c %d:%i -- "$MNT/$1")" = "$(stat -c %d:%i -- "$MNT/$2")" ]; }
samei vservers/base/etc/shadow vservers/web/etc/shadow &&
	samei vservers/base/srv/secret.key vservers/web/srv/secret.key &&
	samei vservers/mail/srv/token.txt vservers/old/srv/token.txt &&
	samei vservers/mail/srv/secret.key vservers/old/srv/secret.key &&
	samei "vservers/.hash/$HE" vservers/web/usr/lib/libe.so &&
	samei "vservers/.hash/$HE" vservers/base/usr/lib/libe.so &&
	samei bindhash/aa vservers/.hash/aa
ok $? "the fixture's hard links survived mke2fs -d (and bindhash is the store)"

# state before any run: the trees, and the raw flags of every inode
snap() { # TAG
	python3 "$VT" snapshot "$MNT" >"$W/snap.$1" &&
		python3 "$VT" snapshot "$MNT/otherfs" >"$W/snap.$1.other"
}
snap before
ok $? "snapshot of the trees before the runs"
awk '{ print $1 }' "$W/snap.before" | sort -un >"$W/inos"
awk '{ print $1 }' "$W/snap.before.other" | sort -un >"$W/inos.other"
rawflags() { # IMAGE INOS
	python3 - "$1" "$2" "$VT" <<'EOF'
import sys, os
sys.path.insert(0, os.path.dirname(sys.argv[3]))
from vatest import debugfs_stat
inos = [int(l) for l in open(sys.argv[2]) if l.strip()]
for ino, st in sorted(debugfs_stat(sys.argv[1], inos).items()):
    print(ino, st['type'], '%o' % st['mode'], '0x%08x' % st['flags'], st['links'])
EOF
}
flush_fs "$MNT" && flush_fs "$MNT/otherfs" &&
	rawflags "$img" "$W/inos" >"$W/raw.before" && rawflags "$oimg" "$W/inos.other" >"$W/raw.before.other"
ok $? "raw flags of every inode (debugfs) before the runs"

# ---------------------------------------------------------------- --host-root
run --host-root "$MNT" --json --no-progress
is "$RC" 1 "--host-root PREFIX --json: exit status 1"
cp "$W/out" "$W/host.json"
cp "$W/err" "$W/host.err"
[ -s "$W/host.err" ] && diag "stderr: $(cat -v "$W/host.err")"

# KIND SEVERITY GUEST PATH LINE [DETAIL], paths relative to PREFIX;
# shared inodes: GUEST '*' and their names as guest:path
cat >"$W/expect.host" <<EOF
# guest web (context 100) and mail (context 100): each is the other's duplicate
config-duplicate-context	error	mail	etc/vservers/mail/context	0	also the context of guest web
config-duplicate-context	error	web	etc/vservers/web/context	0	also the context of guest mail
# old: 70000 is beyond 49151
config-context-range	error	old	etc/vservers/old/context	0	70000
# junk: context "4\\001\\377x", a name with a NUL byte
config-invalid	error	junk	etc/vservers/junk/context	0	not a decimal number
config-invalid	error	junk	etc/vservers/junk/name	0	NUL
# helper: apps/init/mark is a directory; old: it is a FIFO; cyc2: a
# context of 102 bytes
config-invalid	error	helper	etc/vservers/helper/apps/init/mark	0
config-invalid	error	old	etc/vservers/old/apps/init/mark	0	not a regular file
config-invalid	error	cyc2	etc/vservers/cyc2/context	0	larger than 64 bytes
# hashx: method SHA-512; hashb: entry 01 -> /nonexistent
config-invalid	error	hashx	etc/vservers/hashx/apps/vunify/hash/method	0	unknown hash method
config-invalid	error	hashb	etc/vservers/hashb/apps/vunify/hash/01	0	must resolve to a directory
# vdirs that do not resolve; dis is disabled: a warning
config-vdir-missing	warning	dis	etc/vservers/dis/vdir	0	guest disabled
config-vdir-missing	error	ghost	etc/vservers/ghost/vdir	0	No such file or directory
config-vdir-missing	error	loopy	etc/vservers/loopy/vdir	0	too many levels of symbolic links
config-vdir-missing	error	escape	etc/vservers/escape/vdir	0	out of the host root
config-vdir-missing	error	peek	etc/vservers/peek/vdir	0	out of the host root
config-vdir-missing	error	nodir	etc/vservers/nodir	0	vdirbase
config-vdir-missing	error	filevdir	etc/vservers/filevdir/vdir	0	not a directory
config-vdir-missing	error	rootvdir	etc/vservers/rootvdir/vdir	0	root directory
# refservers: a cycle cyc1 <-> cyc2; refbad's dangling one, one to mail
# (no apps/vunify), one to /etc, one to itself, one above PREFIX
config-refserver-invalid	error	cyc1	etc/vservers/cyc1/apps/vunify/refserver.1	0	cycle
config-refserver-invalid	error	cyc2	etc/vservers/cyc2/apps/vunify/refserver.1	0	cycle
config-refserver-invalid	error	refbad	etc/vservers/refbad/apps/vunify/refserver.1	0	does not resolve
config-refserver-invalid	error	refbad	etc/vservers/refbad/apps/vunify/refserver.10	0	no apps/vunify
config-refserver-invalid	error	refbad	etc/vservers/refbad/apps/vunify/refserver.2	0	not a guest configuration directory
config-refserver-invalid	error	refbad	etc/vservers/refbad/apps/vunify/refserver.3	0	itself
config-refserver-invalid	error	refbad	etc/vservers/refbad/apps/vunify/refserver.4	0	out of the host root
# web's exclude list: shadowed include, one character, trailing spaces, no final newline
config-exclude-quirk	warning	web	etc/vservers/web/apps/vunify/exclude	2	never reached
config-exclude-quirk	warning	web	etc/vservers/web/apps/vunify/exclude	3	one character
config-exclude-quirk	warning	web	etc/vservers/web/apps/vunify/exclude	4	trailing spaces
config-exclude-quirk	warning	web	etc/vservers/web/apps/vunify/exclude	6	no newline
# the .defaults list (used by base, mail, ...): reported once, for one of
# its guests (which one is left open: '?')
config-exclude-quirk	warning	?	etc/vservers/.defaults/apps/vunify/exclude	4	never match
config-exclude-quirk	warning	?	etc/vservers/.defaults/apps/vunify/exclude	5	never match
config-exclude-quirk	warning	?	etc/vservers/.defaults/apps/vunify/exclude	6	never match
config-exclude-quirk	warning	?	etc/vservers/.defaults/apps/vunify/exclude	7	unmatched '['
config-exclude-quirk	warning	?	etc/vservers/.defaults/apps/vunify/exclude	8	tab or carriage return
config-exclude-quirk	warning	?	etc/vservers/.defaults/apps/vunify/exclude	9	tab or carriage return
config-exclude-quirk	warning	?	etc/vservers/.defaults/apps/vunify/exclude	11	NUL byte
# nons: nonamespace, /vservers without a barrier
config-nonamespace-no-barrier	error	nons	etc/vservers/nons/nonamespace	0	no chroot barrier
# helper: vshelper method frobnicate
config-vshelper-action	warning	helper	etc/vservers/helper/apps/vshelper/action	0	frobnicate
# hashx: its store is on the second filesystem; hashb: on a bind mount
config-hash-cross-device	error	hashx	etc/vservers/hashx/apps/vunify/hash	0	no entry
config-hash-cross-device	error	hashb	etc/vservers/hashb/apps/vunify/hash/00	0	EXDEV
# secrets: /etc/shadow (built in), /srv/secret.key (web's "~/srv/secret*"),
# /srv/token.txt (the .defaults list's "~/srv/token*"); mail and old share
# a /srv/secret.key too, but their list does not call it a secret
shared-secret	error	*	base:vservers/base/etc/shadow web:vservers/web/etc/shadow	0	/etc/shadow
shared-secret	error	*	base:vservers/base/srv/secret.key web:vservers/web/srv/secret.key	0	/srv/secret*
shared-secret	error	*	mail:vservers/mail/srv/token.txt old:vservers/old/srv/token.txt	0	/srv/token*
# an interrupted unification in web (orphan;Zz9876 has no NAME: nothing)
unify-leftover	warning	web	vservers/web/usr/bin/tool;Ab3xYz	0
# the store: no barrier, aa not immutable, cc immutable without iunlink
hash-unprotected	error	-	vservers/.hash	0	no chroot barrier
hash-unprotected	error	-	vservers/.hash/$HA	0	not immutable
hash-unprotected	error	-	vservers/.hash/$HC	0	without iunlink
EOF
py_checks python3 "$CT" findings --json "$W/host.json" --mnt "$MNT" --expect "$W/expect.host" \
	--kinds "$KINDS" --ignore-under bindhash --label="--host-root"
py_checks python3 "$CT" inside --json "$W/host.json" --mnt "$MNT" --canary "$W/canary" \
	--label="--host-root"
grep -qF -- "$W/canary" "$W/host.err"
ok $((! $?)) "--host-root: stderr does not mention the canary either"
py_checks python3 "$CT" storecheck --truth "$W/truth.hash" --json "$W/host.json" --mnt "$MNT" \
	--as-path vservers/.hash --label="--host-root"
py_checks python3 "$CT" storecheck --truth "$W/truth.other" --json "$W/host.json" --mnt "$MNT" \
	--as-path otherfs/hash --label="--host-root"
# PREFIX/bindhash is the same directory as PREFIX/vservers/.hash: audited
# once, or (a second name of it) with exactly the same inodes
python3 - "$W/host.json" "$MNT" <<'EOF' >"$W/bind"
import json, sys
mnt = sys.argv[2]
a, b = set(), set()
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get('kind') != 'hash-unprotected':
        continue
    p = r['path'][len(mnt) + 1:]
    if p == 'vservers/.hash' or p.startswith('vservers/.hash/'):
        a.add((r['ino'], p[len('vservers/.hash'):]))
    elif p == 'bindhash' or p.startswith('bindhash/'):
        b.add((r['ino'], p[len('bindhash'):]))
print('none' if not b else 'mirror' if a == b else 'different: %r vs %r' % (sorted(a), sorted(b)))
EOF
case $(cat "$W/bind") in
	none) ok 0 "the store behind the bind mount is audited once" ;;
	mirror) ok 0 "the store behind the bind mount: reported again under PREFIX/bindhash, the same inodes"
		diag "note: the store reached through hashb's bind mount is reported twice (same inodes, two paths)" ;;
	*) ok 1 "the store behind the bind mount: $(cat "$W/bind")" ;;
esac
is "$(python3 "$VT" kinds "$W/host.json" | grep -c '^guest-running$')" 0 \
	"--host-root: no guest is reported running (web's run file exists, but it is an offline copy)"
is "$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("guest") == ".hash"))' "$W/host.json")" 0 \
	"--host-root: the store vservers/.hash is not walked as a guest (no finding names guest .hash)"
diag "other kinds: $(python3 "$VT" kinds "$W/host.json" | grep -Ev "^($KINDS)\$" | sort | uniq -c | tr -s ' \n' ' ')"

run --host-root "$MNT" --no-progress
is "$RC" 1 "--host-root PREFIX (text): exit status 1"
is "$(nlines "$W/out")" "$(grep -c '^{"record":"finding"' "$W/host.json")" "--host-root text: one line per finding, as many as --json"
grep -qF -- " $MNT/etc/vservers/web/apps/vunify/exclude:2: " "$W/out"
ok $? "--host-root text: an exclude-list finding shows FILE:LINE"
run --host-root "$MNT/" --json --no-progress
is "$RC:$(fnd "$W/out" | sort | sha256sum)" "1:$(fnd "$W/host.json" | sort | sha256sum)" \
	"--host-root PREFIX/ (trailing slash): the same findings"

# ---------------------------------------------------------------- --only, --skip
run --host-root "$MNT" --json --no-progress --only config-duplicate-context
is "$RC" 1 "--only config-duplicate-context: exit status 1"
grep '^config-duplicate-context' "$W/expect.host" >"$W/expect.only"
cp "$W/out" "$W/only.json"
py_checks python3 "$CT" findings --json "$W/only.json" --mnt "$MNT" --expect "$W/expect.only" \
	--kinds '.*' --total 2 --label="--only config-duplicate-context"

SKIP=config-exclude-quirk,config-invalid,config-vdir-missing,config-hash-cross-device,hash-unprotected,shared-secret,unify-leftover
run --host-root "$MNT" --json --no-progress --skip "$SKIP"
is "$RC" 1 "--skip $SKIP: exit status 1"
grep -Ev "^(${SKIP//,/|})	" "$W/expect.host" >"$W/expect.skip"
cp "$W/out" "$W/skip.json"
py_checks python3 "$CT" findings --json "$W/skip.json" --mnt "$MNT" --expect "$W/expect.skip" \
	--kinds "$KINDS" --label="--skip the new kinds"
is "$(python3 "$VT" kinds "$W/skip.json" | grep -cE "^(${SKIP//,/|})\$")" 0 "--skip: none of the skipped kinds"

run --host-root "$MNT" --json --no-progress --only config-vshelper-action,config-exclude-quirk
is "$RC:$(python3 "$VT" kinds "$W/out" | sort | uniq -c | tr -s ' \n' ' ')" \
	"1: 11 config-exclude-quirk 1 config-vshelper-action " \
	"--only two warning kinds: their 12 findings, and warnings make the exit status 1"
run --host-root "$MNT" --json --no-progress --only guest-running
is "$RC:$(fnd "$W/out" | wc -c)" "0:0" "--only guest-running offline: nothing, exit status 0"
run --host-root "$MNT" --json --no-progress --only no-such-kind
is "$RC:$(nlines "$W/err")" "64:1" "--only no-such-kind: exit 64 (usage), one line"

# ---------------------------------------------------------------- --list
run --list --json --host-root "$MNT"
is "$RC" 0 "--list --json --host-root: exit status 0"
cp "$W/out" "$W/list.json"
[ -s "$W/err" ] && diag "stderr: $(cat -v "$W/err")"
D=etc/vservers/.defaults/apps/vunify/hash
# NAME CONTEXT VDIR VDIR_FROM STATE MARK FLAGS REFS HASH ACTION (configtest.py)
cat >"$W/expect.list" <<EOF
base	101	vservers/base	vdir	unknown	-	unify	-	$D	restart
cyc1	-	vservers/cyc1	vdir	unknown	-	unify	refserver.1>cyc2	$D	restart
cyc2	bad	vservers/cyc2	vdir	unknown	-	unify	refserver.1>cyc1	$D	restart
dis	-	-	vdir	unknown	-	disabled	-	?	restart
escape	-	-	vdir	unknown	-	-	-	?	restart
filevdir	-	-	vdir	unknown	-	-	-	?	restart
ghost	-	-	vdir	unknown	-	-	-	?	restart
hashb	-	vservers/hashb	vdir	unknown	-	unify	-	etc/vservers/hashb/apps/vunify/hash	restart
hashx	-	vservers/hashx	vdir	unknown	-	unify	-	etc/vservers/hashx/apps/vunify/hash	restart
helper	-	vservers/helper	vdir	unknown	-	-	-	?	frobnicate!
junk	bad	vservers/junk	.defaults/vdirbase	unknown	-	-	-	?	restart
loopy	-	-	vdir	unknown	-	-	-	?	restart
mail	100	vservers/mail	vdir	unknown	-	-	-	?	mymethod
nodir	-	-	.defaults/vdirbase	unknown	-	-	-	?	restart
nons	-	vservers/nons	vdir	unknown	-	nonamespace	-	?	restart
old	bad:70000	vservers/old	vdir	unknown	-	-	-	?	restart
peek	-	-	vdir	unknown	-	-	-	?	restart
refbad	-	vservers/refbad	vdir	unknown	-	unify	refserver.1>!,refserver.10>!etc/vservers/mail,refserver.2>!etc,refserver.3>refbad,refserver.4>!	$D	restart
rootvdir	-	-	vdir	unknown	-	-	-	?	restart
web	100	vservers/web	vdir	unknown	default	unify	refserver.1>base	$D	restart
EOF
py_checks python3 "$CT" list --json "$W/list.json" --mnt "$MNT" --expect "$W/expect.list" --label="--list"
py_checks python3 "$CT" hashlist --json "$W/list.json" --mnt "$MNT" --guest web --dir "$D" \
	--method sha1 --store 00:vservers/.hash:nodup 01:srv/hash-dup:dup --label="--list"
py_checks python3 "$CT" hashlist --json "$W/list.json" --mnt "$MNT" --guest hashx \
	--dir etc/vservers/hashx/apps/vunify/hash --method sha512 --store 00:otherfs/hash:nodup --label="--list"
py_checks python3 "$CT" hashlist --json "$W/list.json" --mnt "$MNT" --guest hashb \
	--dir etc/vservers/hashb/apps/vunify/hash --method sha1 --store 00:bindhash:nodup 01:-:nodup \
	--label="--list"
LIST=$W/list.json
is "$(field base display_name)|$(field junk display_name)|$(field web display_name)" "Base system|null|null" \
	"--list: display names (base's name file; junk's holds a NUL byte; web has none)"
is "$(field web run)|$(field web state)|$(field base run)" "/var/run/vservers/web|unknown|null" \
	"--list: web's run link as written, state still unknown offline"
is "$(field web unify.exclude)|$(field web unify.exclude_rules)" "$MNT/etc/vservers/web/apps/vunify/exclude|4" \
	"--list: web's own exclude list, 4 rules (x, and /tmp without newline, dropped)"
is "$(field base unify.exclude)|$(field base unify.exclude_rules)" \
	"$MNT/etc/vservers/.defaults/apps/vunify/exclude|9" \
	"--list: base uses the .defaults list, 9 rules (lines 2-10: a comment, and all from the NUL byte on, dropped)"

run --list --host-root "$MNT"
is "$RC" 0 "--list (text) --host-root: exit status 0"
cp "$W/out" "$W/list.txt"
is "$(nlines "$W/list.txt")" 21 "--list text: a header and one line per guest (20)"
is "$(awk 'NR > 1 { print $1 }' "$W/list.txt" | tr '\n' ' ')" \
	"$(cut -f1 "$W/expect.list" | tr '\n' ' ')" "--list text: the guests in byte order, name first"
is "$(awk 'NR == 1 { print $1, $2, $3 }' "$W/list.txt")" "NAME CONTEXT STATE" "--list text: the header"
is "$(awk '$1 == "dis" { print $3 } $1 == "web" { print $2, $3, $4 }' "$W/list.txt" | tr '\n' ' ')" \
	"disabled 100 unknown default " "--list text: dis disabled; web context 100, unknown, mark default"

# ---------------------------------------------------------------- errors
run --config "$W/nonexistent" --json
is "$RC:$(nlines "$W/err"):$(wc -c <"$W/out")" "2:1:0" "--config DIR that does not exist: exit 2, one line, no output"
grep -qF -- "$W/nonexistent" "$W/err"
ok $? "--config DIR that does not exist: the message names it" || diag "$(cat -v "$W/err")"
run --list --config "$W/nonexistent"
is "$RC:$(nlines "$W/err")" "2:1" "--list --config DIR that does not exist: exit 2, one line"
run --host-root relative/prefix --json
is "$RC:$(nlines "$W/err"):$(wc -c <"$W/out")" "64:1:0" "--host-root relative: exit 64 (usage), one line, no output"
run --host-root "$MNT" --image "$img"
is "$RC:$(nlines "$W/err")" "64:1" "--host-root with --image: exit 64 (usage), one line"
run --host-root "$MNT" "$MNT/vservers"
is "$RC:$(nlines "$W/err")" "64:1" "--host-root with a ROOT: exit 64 (usage), one line"
run --list --host-root "$MNT" "$MNT/vservers"
is "$RC:$(nlines "$W/err")" "64:1" "--list with a ROOT: exit 64 (usage), one line"
run --host-root "$W/no-such-host" --json
is "$RC:$(nlines "$W/err"):$(wc -c <"$W/out")" "2:1:0" "--host-root that does not exist: exit 2, one line, no output"
run --host-root "$MNT" --config /../../etc/vservers --json
is "$RC:$(nlines "$W/err"):$(wc -c <"$W/out")" "2:1:0" \
	"--host-root with a --config that climbs out of it: exit 2, one line, no output"
run --host-root "$MNT" --config /etc/vservers/README
is "$RC:$(nlines "$W/err")" "2:1" "--host-root with a --config that is a file: exit 2, one line"
run --config "$MNT/etc/vservers" --no-config
is "$RC:$(nlines "$W/err")" "64:1" "--config with --no-config: exit 64 (usage), one line"
run --host-root "$MNT" --config /etc/vservers --json --no-progress
is "$RC:$(fnd "$W/out" | sort | sha256sum)" "1:$(fnd "$W/host.json" | sort | sha256sum)" \
	"--host-root with --config /etc/vservers (the default, inside PREFIX): the same findings"
# a relative --config is taken from the host root, not from the current directory
(cd -- "$W/canary" && run --host-root "$MNT" --config etc/vservers --json --no-progress &&
	printf '%s\n' "$RC" >"$W/rel.rc" && cp "$W/out" "$W/rel.json")
is "$(cat "$W/rel.rc"):$(fnd "$W/rel.json" | sort | sha256sum)" "1:$(fnd "$W/host.json" | sort | sha256sum)" \
	"--host-root with --config etc/vservers (relative: from PREFIX, whatever the current directory): the same findings"

# ---------------------------------------------------------------- live --config
# a small filesystem for the guest roots (with the 2.6 barrier on vs/, so
# that nothing but the running guest is a finding), configuration and run
# files in plain directories of $TEST_TMP
lst=$W/live-tree
mkdir -p "$lst/vs/up/etc" "$lst/vs/down/etc" "$lst/vs/plain/etc" "$lst/nb/inh" "$lst/nb/own" "$lst/nb/ns"
for g in up down plain; do printf '%s\n' "$g" >"$lst/vs/$g/etc/hostname"; done
limg=$W/live.img
truncate -s 4M "$limg" &&
	mke2fs -q -F -t ext4 -b 1024 -d "$lst" "$limg" >/dev/null 2>&1 &&
	or_raw_flags "$limg" /vs 0x04000000 &&
	LM=$(mount_fixture "$limg")
ok $? "live: a filesystem for the guest roots, vs/ with the 2.6 barrier, mounted" || bail_out "live setup failed"
C=$W/live-etc
R=$W/live-run
mkdir -p "$C/up" "$C/down" "$C/plain" "$R"
printf '200\n' >"$C/up/context"
printf '201\n' >"$C/down/context"
printf '202\n' >"$C/plain/context"
for g in up down plain; do ln -s "$LM/vs/$g" "$C/$g/vdir"; done
printf '200\n' >"$R/up"
ln -s "$R/up" "$C/up/run"             # run file exists: running
ln -s "$R/down" "$C/down/run"         # dangling: stopped
printf '202\n' >"$C/plain/run"        # a plain file, not a link: util-vserver never makes one

run --config "$C" --json --no-progress
is "$RC" 0 "live --config: the only finding is guest-running (info): exit status 0"
cp "$W/out" "$W/live.json"
[ -s "$W/err" ] && diag "stderr: $(cat -v "$W/err")"
printf 'guest-running\tinfo\tup\tlive-etc/up\t0\t%s\n' "$R/up" >"$W/expect.live"
py_checks python3 "$CT" findings --json "$W/live.json" --mnt "$W" --expect "$W/expect.live" \
	--kinds '.*' --total 1 --label "live --config"
run --config "$C" --no-progress
is "$RC:$(nlines "$W/out")" "0:1" "live --config (text): one line, exit status 0"
run --config "$C" --json --no-progress --only guest-running
is "$RC:$(fnd "$W/out" | grep -c '')" "0:1" "live --config --only guest-running: one finding, exit status 0"
run --config "$C" --json --no-progress --skip guest-running
is "$RC:$(fnd "$W/out" | wc -c)" "0:0" "live --config --skip guest-running: nothing, exit status 0"

run --list --json --config "$C"
is "$RC" 0 "live --list --json: exit status 0"
cp "$W/out" "$W/live-list.json"
cat >"$W/expect.live-list" <<EOF
down	201	${LM#"$W"/}/vs/down	vdir	stopped	-	-	-	-	restart
plain	202	${LM#"$W"/}/vs/plain	vdir	stopped	-	-	-	-	restart
up	200	${LM#"$W"/}/vs/up	vdir	running	-	-	-	-	restart
EOF
py_checks python3 "$CT" list --json "$W/live-list.json" --mnt "$W" --cfgdir-rel live-etc \
	--expect "$W/expect.live-list" --label "live --list"
LIST=$W/live-list.json
is "$(field up run)|$(field down run)|$(field plain run)" "$R/up|$R/down|null" \
	"live --list: the run links as written (a plain run file is no link)"
field up state_why | grep -qF -- "$R/up"
ok $? "live --list: up's state_why names its run file" || diag "state_why: $(field up state_why)"
run --list --config "$C"
is "$RC:$(awk '{ print $1, $3 }' "$W/out" | tr '\n' ' ')" "0:NAME STATE down stopped plain stopped up running " \
	"live --list text: up running, down and plain stopped"
cp "$W/out" "$W/live-list.txt"
# live, a relative --config is taken from the current directory
(cd -- "$W" && run --list --config live-etc && printf '%s\n' "$RC" >"$W/rel.rc" && cp "$W/out" "$W/rel.txt")
is "$(cat "$W/rel.rc"):$(cat "$W/rel.txt")" "0:$(cat "$W/live-list.txt")" \
	"live --list --config live-etc (relative, from the current directory): the same list"

# .defaults/nonamespace for every guest, unless it has "namespace"; nb/
# (their roots' parent) has no barrier
N=$W/live-ns
mkdir -p "$N/.defaults" "$N/inh" "$N/own" "$N/ns"
: >"$N/.defaults/nonamespace"
: >"$N/own/nonamespace"
: >"$N/ns/namespace"
for g in inh own ns; do ln -s "$LM/nb/$g" "$N/$g/vdir"; done
run --config "$N" --json --no-progress
is "$RC" 1 "live --config with .defaults/nonamespace: exit status 1"
cp "$W/out" "$W/ns.json"
# inh shares the host's namespace because of .defaults/nonamespace: that
# file is the one to name (inh has no nonamespace file of its own)
cat >"$W/expect.ns" <<'EOF'
config-nonamespace-no-barrier	error	own	live-ns/own/nonamespace	0	no chroot barrier
config-nonamespace-no-barrier	error	inh	live-ns/.defaults/nonamespace	0	no chroot barrier
EOF
py_checks python3 "$CT" findings --json "$W/ns.json" --mnt "$W" --expect "$W/expect.ns" \
	--kinds 'config-.*|guest-running' --label "live .defaults/nonamespace"
is "$(python3 "$VT" kinds "$W/ns.json" | grep -v '^config-' | sort | tr '\n' ' ')" "missing-barrier " \
	"live .defaults/nonamespace: besides, only nb/ (the ROOT) is missing-barrier"
run --list --json --config "$N"
cp "$W/out" "$W/ns-list.json"
LIST=$W/ns-list.json
is "$RC:$(field inh nonamespace) $(field own nonamespace) $(field ns nonamespace)" "0:true true false" \
	"live --list: nonamespace from .defaults (inh), own file (own), overridden by namespace (ns)"

# ---------------------------------------------------------------- nothing changed
run --host-root "$MNT" --json --no-progress
is "$RC:$(fnd "$W/out" | sort | sha256sum)" "1:$(fnd "$W/host.json" | sort | sha256sum)" \
	"--host-root again after everything: the same findings"
snap after
ok $? "snapshot of the trees after the runs"
is "$(diff "$W/snap.before" "$W/snap.after" | head -20)" "" \
	"nothing changed in the host image (inode, mode, links, flags, size, mtime, ctime of every entry)"
is "$(diff "$W/snap.before.other" "$W/snap.after.other" | head -20)" "" \
	"nothing changed on the second filesystem"
unmount_keep "$MNT/bindhash" && unmount_keep "$MNT/otherfs" && unmount_keep "$MNT"
ok $? "unmount the host image"
rawflags "$img" "$W/inos" >"$W/raw.after" && rawflags "$oimg" "$W/inos.other" >"$W/raw.after.other"
ok $? "raw flags of every inode (debugfs) after the runs"
is "$(diff "$W/raw.before" "$W/raw.after" | head -20)" "" \
	"raw i_flags (2.6 bits included), mode and links of every inode of the host image unchanged"
is "$(diff "$W/raw.before.other" "$W/raw.after.other" | head -20)" "" \
	"the same on the second filesystem"
python3 "$CT" storetruth --image "$img" --store /vservers/.hash >"$W/truth.hash.after" 2>/dev/null
is "$(cat "$W/truth.hash.after")" "$(cat "$W/truth.hash")" "the store's debugfs ground truth is unchanged"
e2fsck -fn "$img" >"$W/fsck" 2>&1
ok $? "the host image is still clean for e2fsck -fn" || diag "$(cat "$W/fsck")"
is "$(find "$W/canary" -printf '%i %n %m %s %T@ %C@ %P\n' | sort)" "$(cat "$W/canary.before")" \
	"the canary outside the host root is untouched"

done_testing
