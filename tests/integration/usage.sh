#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# usage.sh - vaudit --usage on a loop-mounted ext4 image made here
# (mke2fs -d, then changed on the mount): hard links across guests (ln),
# a guest's own hard links, a copy (cp -a), a .hash store entry linked
# into two guests and one linked into none, sparse and empty files, two
# files of equal size and metadata but different content, a file
# directly in ROOT, a guest whose name is not UTF-8.  Every figure of every usage record and of the
# usage-total record is checked against find(1) (usagetest.py: per guest
# and for the host, each inode once) and du -sB1 (with and without
# --apparent-size); the records against the schema (records.py); the
# text table against the records; --exact against the same run without
# it; a configuration naming a guest and a store outside ROOT, and one
# of an offline copy (--host-root); a missing ROOT and, as user 65534,
# a directory and a file it cannot read (exit 3, each error said);
# --progress on 5000 more entries.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd mke2fs losetup mount umount python3 du find
python3 -c 'import jsonschema' 2>/dev/null || skip_all "python3-jsonschema is not installed (setup.sh installs it)"

W=$TEST_TMP
SCHEMA=$top_srcdir/schema/vaudit-records.schema.json
RP=$top_srcdir/tests/integration/records.py
UT=$top_srcdir/tests/integration/usagetest.py

# urandom FILE BYTES
urandom() { head -c "$2" /dev/urandom >"$1"; }

# the base tree, into the image by mke2fs -d
S=$W/stage
for g in g1 g2 g3; do
	mkdir -p "$S/vservers/$g/etc" "$S/vservers/$g/usr/lib" "$S/vservers/$g/bin" "$S/vservers/$g/data"
	printf 'host %s\n' "$g" >"$S/vservers/$g/etc/hostname"
done
mkdir -p "$S/vservers/.hash/ab/cd"
urandom "$S/vservers/g1/usr/lib/libc.so" 100000
urandom "$S/vservers/g1/bin/big" 300000
urandom "$S/vservers/g3/bin/tool" 20000
mke2fs -q -F -t ext4 -b 4096 -d "$S" "$W/host.img" 64M >/dev/null 2>&1 || bail_out "mke2fs -d failed"
mnt=$(mount_fixture "$W/host.img") || bail_out "cannot mount the image"
R=$mnt/vservers

# the changes, on the mount
ln "$R/g1/usr/lib/libc.so" "$R/g2/usr/lib/libc.so"          # shared by g1, g2, g3
ln "$R/g1/usr/lib/libc.so" "$R/g3/usr/lib/libc.so"
ln "$R/g1/usr/lib/libc.so" "$R/g1/usr/lib/libc.so.6"        # and a second name in g1
ln "$R/g2/etc/hostname" "$R/g2/etc/hostname.bak"            # private, two names
cp -a "$R/g1/bin/big" "$R/g2/bin/big"                       # a copy: reclaimable
cp -a "$R/g1/bin/big" "$R/g3/bin/big"                       # a second copy
urandom "$R/.hash/ab/cd/entry" 50000                        # a store entry in two guests
ln "$R/.hash/ab/cd/entry" "$R/g1/usr/lib/hashed"
ln "$R/.hash/ab/cd/entry" "$R/g3/usr/lib/hashed"
cp -a "$R/g3/bin/tool" "$R/.hash/ab/cd/lonely"              # in the store only, equal to g3's tool
truncate -s 10M "$R/g2/data/sparse"                         # sparse: 10 MiB, one block
printf 'x' | dd of="$R/g2/data/sparse" bs=1 seek=5000000 conv=notrunc status=none
: >"$R/g1/data/empty"; : >"$R/g2/data/empty"                # empty: never reclaimable
urandom "$R/g2/data/same-size-a" 40000                      # equal size, different content
urandom "$R/g3/data/same-size-b" 40000
chmod 0644 "$R/g2/data/same-size-a" "$R/g3/data/same-size-b"
ln -s ../usr/lib/libc.so "$R/g1/bin/link"
mkfifo "$R/g3/data/fifo"
echo "not a guest" >"$R/README"
G4=$R/$'g\xff4'                                              # a name that is not UTF-8
mkdir -p "$G4/etc" && ln "$R/g1/usr/lib/libc.so" "$G4/etc/libc" && printf 'x' >"$G4/etc/mine"
sync

# run TAG ARGS...: vaudit with ARGS, stdout in $W/TAG.out, stderr in $W/TAG.err, status in RC
run() {
	local tag=$1
	shift
	timeout -s KILL 120 "$VAUDIT" "$@" >"$W/$tag.out" 2>"$W/$tag.err"
	RC=$?
}

run json --usage --json "$R"
is "$RC" 0 "--usage --json: exit 0"
is "$(cat "$W/json.err")" "" "--usage --json: nothing on stderr"
py_checks python3 "$RP" "$SCHEMA" "$W/json.out" --label "--usage --json" --exit 0 --last usage-total \
	--want usage=4 --want summary=0 --want error=0 --expect partial=false --expect exact=false \
	--expect guests=4 --expect "stores=[\"$R/.hash\"]"
run text --usage "$R"
is "$RC" 0 "--usage (text): exit 0"
# big: two copies; tool: the store's copy; same-size-a/b and the three
# hostname files (equal size, other content): 2 + 1 + 1 + 2
py_checks python3 "$UT" "$R" "$W/json.out" "$W/text.out" --expect-reclaim-files 6

run exact --usage --json --exact "$R"
is "$RC" 0 "--usage --exact --json: exit 0"
run exacttext --usage --exact "$R"
py_checks python3 "$UT" "$R" "$W/exact.out" "$W/exacttext.out" --exact --expect-reclaim-files 3
py_checks python3 "$RP" "$SCHEMA" "$W/exact.out" --label "--usage --exact --json" --exit 0 \
	--last usage-total --want usage=4 --expect exact=true
# the two files of equal size and different content: only --exact tells them apart
diff=$(python3 - "$W/json.out" "$W/exact.out" <<'EOF'
import json, sys
a, b = (json.loads(open(f).read().splitlines()[-1]) for f in sys.argv[1:3])
print(a['reclaimable_files'] - b['reclaimable_files'], a['reclaimable_bytes'] - b['reclaimable_bytes'])
EOF
)
is "$diff" "3 49152" "--exact: the files of equal size but other content are not reclaimable (same-size-a/b and two hostname files: 3 files, 48 KiB less)"

# a configuration: g1 is the guest "web", a store outside ROOT holds a name of g2's file
mkdir -p "$mnt/store2/00" "$W/cfg/web" "$W/cfg/.defaults/apps/vunify/hash"
ln -s "$R/g1" "$W/cfg/web/vdir"
ln -s "$mnt/store2" "$W/cfg/.defaults/apps/vunify/hash/00"
echo sha256 >"$W/cfg/.defaults/apps/vunify/hash/method"
ln "$R/g2/data/same-size-a" "$mnt/store2/00/entry"
run cfg --usage --json --config "$W/cfg"
is "$RC" 0 "--usage --config (ROOT from the configuration): exit 0"
run cfgtext --usage --config "$W/cfg"
py_checks python3 "$UT" "$R" "$W/cfg.out" "$W/cfgtext.out" --store "$mnt/store2" --name g1=web
py_checks python3 "$RP" "$SCHEMA" "$W/cfg.out" --label "--usage --config" --exit 0 --last usage-total \
	--want usage=4 --expect "roots=[\"$R\"]"

# an offline copy: --host-root, its configuration names g2 "mail", the
# ROOT, and ROOT/.hash as its store (walked once all the same)
mkdir -p "$mnt/etc/vservers/mail/apps/vunify" "$mnt/etc/vservers/.defaults/apps/vunify/hash"
ln -s /vservers/g2 "$mnt/etc/vservers/mail/vdir"
ln -s /vservers/.hash "$mnt/etc/vservers/.defaults/apps/vunify/hash/00"
echo sha256 >"$mnt/etc/vservers/.defaults/apps/vunify/hash/method"
run hr --usage --json --host-root "$mnt"
is "$RC" 0 "--usage --host-root: exit 0"
run hrtext --usage --host-root "$mnt"
py_checks python3 "$UT" "$R" "$W/hr.out" "$W/hrtext.out" --name g2=mail

# a ROOT that is not there: the others are counted, the error said, exit 3
run part --usage --json "$R" "$mnt/no-such-root"
is "$RC" 3 "--usage with a missing ROOT: exit 3"
grep -q "^vaudit: '$mnt/no-such-root': statx: No such file or directory$" "$W/part.err"
ok $? "--usage: the missing ROOT is said as 'vaudit: PATH: what failed: reason'"
py_checks python3 "$RP" "$SCHEMA" "$W/part.out" --label "--usage, partial" --exit 3 --last usage-total \
	--want usage=4 --want error=1 --expect partial=true --expect errors=1

# entries that cannot be read, as user 65534: a directory it cannot open
# and, with --exact, the two files of a group (equal size, mode 0600,
# root's) it cannot read; the walk goes on, the pair is left out of the
# reclaimable figures
if command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$VAUDIT" --version >/dev/null 2>&1; then
	chmod 0711 "$TEST_TMP" && chmod 0755 "$mnt"
	mkdir -m 0700 "$R/g3/secret" && echo hidden >"$R/g3/secret/file"
	urandom "$R/g3/data/unreadable" 3000 && urandom "$R/g1/data/unreadable" 3000
	chmod 0600 "$R/g3/data/unreadable" "$R/g1/data/unreadable"
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$VAUDIT" --usage --json --exact "$R" \
		>"$W/denied.out" 2>"$W/denied.err"
	is "$?" 3 "--usage --exact as another user, entries it cannot read: exit 3"
	grep -q "^vaudit: '$R/g3/secret': open directory: Permission denied$" "$W/denied.err"
	ok $? "--usage: the directory it cannot open is said as 'vaudit: PATH: what failed: reason'"
	grep -q "^vaudit: '$R/g3/data/unreadable': open: Permission denied$" "$W/denied.err" &&
		grep -q "^vaudit: '$R/g1/data/unreadable': open: Permission denied$" "$W/denied.err"
	ok $? "--usage --exact: the files it cannot read are said the same way"
	py_checks python3 "$RP" "$SCHEMA" "$W/denied.out" --label "--usage, entries denied" --exit 3 \
		--last usage-total --want usage=4 --want error=3 --expect partial=true --expect errors=3 \
		--expect reclaimable_files=3
	rm -rf -- "$R/g3/secret" "$R/g3/data/unreadable" "$R/g1/data/unreadable"
	chmod 0700 "$TEST_TMP"
else
	skip "--usage as another user" "setpriv cannot run vaudit as user 65534"
fi

# --progress: a line every 4096 entries, stdout untouched
python3 -c 'import os, sys
for i in range(5000): open(os.path.join(sys.argv[1], "f%d" % i), "w").close()' "$(mkdir -p "$R/g3/many" && echo "$R/g3/many")"
VAUDIT_TEST_PROGRESS_ALL=1 run prog --usage --json --exact --progress "$R"
is "$RC" 0 "--usage --progress: exit 0"
grep -q 'vaudit: 4096 entries, ' "$W/prog.err"
ok $? "--usage --progress: the progress line counts the entries"
run progtext --usage --exact --no-progress "$R"
py_checks python3 "$UT" "$R" "$W/prog.out" "$W/progtext.out" --exact

# the option rules
run bad --exact "$R"
is "$RC" 64 "--exact without --usage: a usage error"
run bad2 --usage --fix "$R"
is "$RC" 64 "--usage with --fix: a usage error"
"$VAUDIT" --help | grep -q -- '--usage'
ok $? "vaudit --help describes --usage"

done_testing
