#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# vclone.sh - vclone SRC DST, vcopy DST SRC and `vaudit --undo` of their
# journals, on a loop-mounted ext4 image in a private mount namespace.
#
# The source guest is made of real Debian packages (dpkg-deb -x of
# perl-base, whose perl and perl5.36.0 are one inode, and of attr, acl,
# libcap2-bin, libcap2 where the package cache has them), a second guest
# is a cp -a copy of it, and our own vhashify --flags=legacy unifies the
# two through a hash store.  Then the source gets what must be copied
# with care: ACLs (setfacl, a default ACL on a directory), a capability
# (setcap), user. and trusted. xattrs, a set-uid file, odd owners, a FIFO,
# device nodes, symlinks, a hard-linked pair of files of its own, and an
# exclude list with '~' entries, an excluded file that is unified and an
# excluded directory.
#
#   dry run   exit 1, nothing changed, its counts equal the real run's
#   the clone every entry checked against the source by vclonetest.py
#             (lstat, xattrs, SHA-256, FS_IOC_GETFLAGS), getfacl, getcap;
#             unified files share the source's inode, no other does; the
#             '~' entries are absent, the excluded ones copied; --json
#             valid against the schema (records.py, python3-jsonschema)
#   store     --flags=none --store: the store's entries decide, the same links
#   undo      vaudit --undo removes exactly what was made: the source
#             (find -printf '%i %n %m %s %T@ %p', lsattr) as before, DST
#             gone, or an existing empty DST empty again
#   kill -9   clones killed at growing moments, then --undo: nothing left
#   at a sync clones killed (strace inject) at a syncfs that comes before
#             a batch's M records, at a journal fsync, a link, a flag lift:
#             --undo leaves nothing, also of entries made without M record
#   vcopy     a cp -a of the source lacking some entries, one file changed:
#             equal files linked, missing ones made, the changed one left
#             alone, dry run = real run, one journal (backend vcopy: the
#             links, then the entries made) that --journals and --show
#             read and --resume refuses; one --undo: DST as before
#             (vclonetest.py state: lstat, SHA-256, flags, xattrs, which
#             names share an inode), the source untouched
#   vcopy killed   at chosen syscalls (strace inject: among the links'
#             swaps and syncs, among the entries made) and after growing
#             times, then one --undo: DST as before, the source untouched
#   refusals  a non-empty DST, DST inside SRC, SRC as DST, --xid without
#             --tag-scheme and --flags=auto without the vserver syscall: exit
#             2, nothing changed, no journal (the tags themselves: xidtag.sh)
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/ns.sh"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_private_ns
need_vaudit
need_cmd python3 mke2fs chattr lsattr setfacl getfacl setfattr getfattr setcap getcap dpkg-deb losetup \
	mount umount mknod mkfifo find timeout
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify
: "${VCLONE:=$top_builddir/vclone}"
[ -x "$VCLONE" ] || skip_all "vclone not built"
python3 -c 'import jsonschema' 2>/dev/null || skip_all "python3-jsonschema is not installed (setup.sh installs it)"
CT=$top_srcdir/tests/integration/vclonetest.py
RP=$top_srcdir/tests/integration/records.py
SCHEMA=$top_srcdir/schema/vaudit-records.schema.json

DEBS=()
for p in perl-base attr acl libcap2-bin libcap2; do
	d=$(find /var/cache/apt/archives -maxdepth 1 -name "${p}_*.deb" 2>/dev/null | head -1)
	[ -n "$d" ] && DEBS+=("$d")
done
if [ "${#DEBS[@]}" -eq 0 ] || [[ ${DEBS[0]} != */perl-base_* ]]; then
	(cd "$W" && timeout 300 apt-get download perl-base) >"$W/apt.out" 2>&1
	d=$(find "$W" -maxdepth 1 -name 'perl-base_*.deb' | head -1)
	[ -n "$d" ] || skip_all "no perl-base package (apt-get download perl-base failed)"
	DEBS=("$d" "${DEBS[@]}")
fi

IMG=$(mkimage clone ext4 512 65536) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
V=$M/vs
S=$V/src
H=$M/.hash
mkdir -p "$S" "$H" && chmod 700 "$H"
for d in "${DEBS[@]}"; do dpkg-deb -x "$d" "$S" || bail_out "dpkg-deb -x $d failed"; done
P=usr/bin/perl
is "$(stat -c %i:%h "$S/$P")" "$(stat -c %i "$S/${P}5.36.0"):2" \
	"source: ${#DEBS[@]} Debian packages unpacked; perl and perl5.36.0 one inode (Debian's own pair)"

# before the copy: what vhashify will unify in both guests
mkdir -p "$S/root/.ssh" "$S/usr/share/doc/local"
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI test@host\n' >"$S/root/.ssh/authorized_keys"
printf 'a local document, long enough to be hashed\n' >"$S/usr/share/doc/local/README"
cp -a "$S" "$V/g2" || bail_out "cp -a failed"
urun hash "$VHASHIFY" --flags=legacy $NP --journal "$W/hash.journal" --manually --destination "$H" \
	-- "$S" "" "$V/g2" ""
rc_is hash 0 "vhashify --flags=legacy unifies the two guests through the store"
UNI=$(find "$S" -type f -links +1 -exec lsattr -d {} + 2>/dev/null | grep -c '^[^ ]*i[^ ]*t[^ ]* ')
[ "$UNI" -gt 100 ]
ok $? "the source has $UNI unified files (immutable + 0x8000, lsattr i and t)"
# one of them append-only as well: while a file is immutable the kernel
# lets no other flag change, so its lift for the link takes two steps
IA=$(find "$S/usr/lib" -type f -links +2 -size +1k | sort | head -n 1)
[ -n "$IA" ] && chattr -i "$IA" && chattr +a "$IA" && chattr +i "$IA" &&
	lsattr -d "$IA" | grep -q '^[^ ]*i[^ ]*a[^ ]*t'
ok $? "a unified file made append-only as well (chattr -i, +a, +i: lsattr i, a and t)"

# after: what only the source has
mkdir -p "$S/etc/acl" "$S/srv/pair" "$S/run" "$S/dev" "$S/home/u"
printf 'root:*:19000:0:99999:7:::\n' >"$S/etc/shadow"
printf 'private key\n' >"$S/root/.ssh/id_ed25519"
printf 'acl file\n' >"$S/etc/acl/file"
setfacl -m u:1234:r,g:2345:rw "$S/etc/acl/file" && setfacl -d -m u:1234:rx "$S/etc/acl" &&
	setfacl -m u:4321:rx "$S/etc/acl"
ok $? "setfacl: an access ACL on a file, access and default ACLs on a directory"
cp "$S/bin/true" "$S/usr/bin/pingish" 2>/dev/null || cp /bin/true "$S/usr/bin/pingish"
setcap cap_net_raw+ep "$S/usr/bin/pingish"
ok $? "setcap cap_net_raw+ep on a private file"
printf 'a note\n' >"$S/home/u/note"
setfattr -n user.colour -v blue "$S/home/u/note" && setfattr -n trusted.vaudit -v test "$S/home/u/note" &&
	setfattr -n user.dir -v yes "$S/home/u"
ok $? "setfattr: user. and trusted. attributes on a file, user. on a directory"
printf 'one inode, two names\n' >"$S/srv/pair/a" && ln "$S/srv/pair/a" "$S/srv/pair/b" &&
	ln "$S/srv/pair/a" "$S/home/u/c"
chown 1234:5678 "$S/home/u/note" "$S/home/u" && chmod 4750 "$S/usr/bin/pingish" 2>/dev/null
chown -h 42:43 "$S/srv" && ln -s ../etc/acl/file "$S/home/u/link" && chown -h 7:8 "$S/home/u/link"
mkfifo -m 0620 "$S/run/fifo" && mknod -m 0600 "$S/dev/null2" c 1 3 && mknod -m 0640 "$S/dev/loop99" b 7 99
ok $? "a FIFO, a character and a block device node"
touch -h -d '2001-02-03 04:05:06.123456789' "$S/home/u/link" "$S/run/fifo" "$S/srv/pair/a" "$S/home/u"
getcap "$S/usr/bin/pingish" | grep -q cap_net_raw
ok $? "the capability survived the chmod (ground truth: getcap)"

EX=$W/exclude
printf '%s\n' '~/etc/shadow' '~/root/.ssh/id*' '-/root/.ssh/*' '/usr/share/doc' >"$EX"
OMIT=(--omit /etc/shadow --omit /root/.ssh/id_ed25519)
COPY=(--copy-under /root/.ssh --copy-under /usr/share/doc)
lsattr -R "$S" 2>/dev/null | sort >"$W/lsattr.src"
# images: every entry (no times: making and removing DST changes its parent's);
# the source: every entry with its mtime
image() { find "$M" -printf '%i %n %m %s %p\n' | sort; }
srclist() { find "$S" -printf '%i %n %m %s %T@ %p\n' | sort; }
image >"$W/find.before"
srclist >"$W/src.before"

# one journal line each is a whole record
journal_ok() {
	is "$(jwhole "$1")" ok "$2: every line of the journal is a whole record"
}

# ================================================================ dry run, clone
D=$V/new
urun dry "$VCLONE" -n --json --flags=legacy --exclude="$EX" $NP "$S" "$D"
rc_is dry 1 "vclone -n: something would be made"
py_checks python3 "$RP" "$SCHEMA" "$W/dry.out" --label="vclone -n --json" --want action=+ --want error=0 \
	--expect dry_run=true --expect changed=false
image >"$W/find.dry"
srclist >"$W/src.dry"
cmp -s "$W/find.before" "$W/find.dry" && cmp -s "$W/src.before" "$W/src.dry"
ok $? "the dry run changed nothing (find -printf of the image, and of the source with mtimes)"

urun real "$VCLONE" --json --flags=legacy --exclude="$EX" $NP --journal "$W/clone.journal" "$S" "$D"
rc_is real 0 "vclone SRC DST"
py_checks python3 "$RP" "$SCHEMA" "$W/real.out" --label="vclone --json" --want action=+ --want error=0 \
	--expect dry_run=false --expect changed=true
journal_ok "$W/clone.journal" "vclone"
is "$(python3 "$CT" summary "$W/dry.out")" "$(python3 "$CT" summary "$W/real.out")" \
	"the dry run's counts are the real run's"
py_checks python3 "$CT" check "$S" "$D" --flags 0x8010 "${OMIT[@]}" "${COPY[@]}" --counts "$W/counts"
is "$(python3 "$CT" summary "$W/real.out")" "$(cat "$W/counts")" \
	"the summary's counts are what the filesystem holds (link, copy, hardlink, mkdir, symlink, node)"
is "$(stat -c %i "$D/$P")" "$(stat -c %i "$S/$P")" "perl: unified, the source's inode"
is "$(stat -c %i "$D${IA#"$S"}")" "$(stat -c %i "$IA")" \
	"the immutable and append-only unified file: linked, the source's inode"
is "$(lsattr -d "$IA" | cut -d ' ' -f 1)" "$(grep " $IA\$" "$W/lsattr.src" | cut -d ' ' -f 1)" \
	"... and its flags put back (lsattr: immutable, append-only and 0x8000)"
[ "$(stat -c %i "$D/root/.ssh/authorized_keys")" != "$(stat -c %i "$S/root/.ssh/authorized_keys")" ] &&
	lsattr -d "$S/root/.ssh/authorized_keys" | grep -q '^----i'
ok $? "an excluded unified file (-/root/.ssh/*) is copied, not linked"
[ "$(stat -c %i "$D/usr/share/doc/local/README")" != "$(stat -c %i "$S/usr/share/doc/local/README")" ]
ok $? "a unified file below an excluded directory (/usr/share/doc) is copied, not linked"
[ ! -e "$D/etc/shadow" ] && [ ! -e "$D/root/.ssh/id_ed25519" ] && [ -e "$D/etc/passwd" -o -d "$D/etc" ]
ok $? "the '~' entries (/etc/shadow, /root/.ssh/id*) are left out"
is "$(cd "$D" && getfacl -cpn etc/acl etc/acl/file 2>/dev/null)" \
	"$(cd "$S" && getfacl -cpn etc/acl etc/acl/file 2>/dev/null)" "getfacl: the ACLs (access and default) are the source's"
is "$(getcap "$D/usr/bin/pingish" | sed 's/^[^ ]* //')" "$(getcap "$S/usr/bin/pingish" | sed 's/^[^ ]* //')" \
	"getcap: the capability is the source's"
is "$(cd "$D" && getfattr -h -d -m - home/u home/u/note 2>/dev/null)" \
	"$(cd "$S" && getfattr -h -d -m - home/u home/u/note 2>/dev/null)" "getfattr -d -m -: the xattrs are the source's"
is "$(stat -c '%F %a %u:%g %t:%T %y' "$D/dev/null2" "$D/dev/loop99" "$D/run/fifo" "$D/home/u/link")" \
	"$(stat -c '%F %a %u:%g %t:%T %y' "$S/dev/null2" "$S/dev/loop99" "$S/run/fifo" "$S/home/u/link")" \
	"stat: devices, FIFO and symlink with type, mode, owner, device number and mtime"
lsattr -R "$S" 2>/dev/null | sort >"$W/lsattr.src2"
cmp -s "$W/lsattr.src" "$W/lsattr.src2"
ok $? "the source's flags are as before (lsattr -R): lifted for each link and put back"

# ================================================================ the store decides
D2=$V/new2
urun store "$VCLONE" --json --flags=none --store="$H" --exclude="$EX" $NP --journal "$W/store.journal" "$S" "$D2"
rc_is store 0 "vclone --flags=none --store=STORE"
is "$(python3 "$CT" summary "$W/store.out")" "$(python3 "$CT" summary "$W/real.out")" \
	"the store's entries decide the same links as the flags"
py_checks python3 "$CT" check "$S" "$D2" --flags 0x8010 "${OMIT[@]}" "${COPY[@]}"

# ================================================================ a configured guest
# SRC named as a guest: its vdir, its exclude list and its hash directory's store
CFG=$W/etc
mkdir -p "$CFG/src/apps/vunify/hash" && ln -s "$S" "$CFG/src/vdir" && cp "$EX" "$CFG/src/apps/vunify/exclude" &&
	ln -s "$H" "$CFG/src/apps/vunify/hash/00" && cp "$H/method" "$CFG/src/apps/vunify/hash/method"
ok $? "a configuration: guest src, its vdir, exclude list and hash directory (00 -> the store)"
D3=$V/fromcfg
urun cfg "$VCLONE" --json --flags=none --config "$CFG" $NP --journal "$W/cfg.journal" src "$D3"
rc_is cfg 0 "vclone --config DIR --flags=none GUEST DST"
is "$(python3 "$CT" summary "$W/cfg.out")" "$(python3 "$CT" summary "$W/real.out")" \
	"the guest's exclude list and store decide as --exclude and --store did"
urun undo6 "$VAUDIT" --undo "$W/cfg.journal" "$M"
rc_is undo6 0 "vaudit --undo of that clone's journal"

# ================================================================ undo
urun undo2 "$VAUDIT" --undo "$W/store.journal" "$M"
rc_is undo2 0 "vaudit --undo of the store clone's journal"
urun undo "$VAUDIT" --json --undo "$W/clone.journal" "$M"
rc_is undo 0 "vaudit --undo JOURNAL"
py_checks python3 "$RP" "$SCHEMA" "$W/undo.out" --label="vaudit --undo --json of a clone's journal" \
	--want action=+ --want error=0 --exit 0
is "$(grep -c '"event":"done","step":"remove"' "$W/undo.out")" \
	"$(grep -c '^C' "$W/clone.journal")" "the undo removed every entry the journal records, one record each"
[ ! -e "$D" ] && [ ! -e "$D2" ]
ok $? "DST is gone"
image >"$W/find.undone"
srclist >"$W/src.undone"
cmp -s "$W/find.before" "$W/find.undone"
ok $? "the image has the entries it had before the clones (find -printf '%i %n %m %s %p')" ||
	diag "$(diff "$W/find.before" "$W/find.undone" | head -10)"
cmp -s "$W/src.before" "$W/src.undone"
ok $? "the source is untouched (find -printf '%i %n %m %s %T@ %p')" ||
	diag "$(diff "$W/src.before" "$W/src.undone" | head -10)"
lsattr -R "$S" 2>/dev/null | sort >"$W/lsattr.src3"
cmp -s "$W/lsattr.src" "$W/lsattr.src3"
ok $? "the source's flags are as before (lsattr -R)"
# the linked files' flags were lifted for a moment: no change once back
mkdir -p "$W/undonej" && cp "$W/clone.journal" "$W/undonej/"
urun ujournals "$VAUDIT" --json --journals "$W/undonej"
rc_is ujournals 0 "vaudit --journals of the undone clone journal"
grep -Pc '^I\t.*\tclone-link\t' "$W/clone.journal" >"$W/lifts"
python3 - "$W/ujournals.out" "$W/clone.journal" "$(cat "$W/lifts")" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
j = [r for r in recs if r.get('record') == 'journal']
made = sum(1 for l in open(sys.argv[2], 'rb') if l.startswith(b'C\t'))
ok = len(j) == 1 and j[0]['state'] == 'undone' and j[0]['changes'] == made == j[0]['undone'] and int(sys.argv[3]) > 0
if not ok:
    print('#', j[0] if j else recs[:2], 'entries made:', made, 'lifts:', sys.argv[3], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
ok $? "--journals: the undone clone journal (with flags lifted to link) is undone, its changes the entries made" ||
	diag "$(head -c 600 "$W/ujournals.out")"
urun undo3 "$VAUDIT" --undo "$W/clone.journal" "$M"
rc_is undo3 0 "a second --undo of the same journal"
image >"$W/find.undone2"
cmp -s "$W/find.before" "$W/find.undone2"
ok $? "the second --undo changed nothing"

# an entry changed after the clone is left alone by the undo
E=$V/empty
mkdir "$E" && chmod 750 "$E"
image >"$W/find.empty"
urun intoempty "$VCLONE" --flags=legacy --exclude="$EX" $NP --journal "$W/empty.journal" "$S" "$E"
rc_is intoempty 0 "vclone into an existing empty directory"
is "$(stat -c %a "$E")" 750 "the existing DST keeps its own mode"
printf 'changed\n' >>"$E/home/u/note"
touch "$E/srv/added"
urun undo4 "$VAUDIT" --undo "$W/empty.journal" "$M"
rc_is undo4 1 "vaudit --undo with a changed file and an added one: some entries left alone (exit 1)"
is "$(cd "$E" && find . -mindepth 1 | sort | tr '\n' ' ')" "./home ./home/u ./home/u/note ./srv ./srv/added " \
	"only the changed file, the added one and their directories are left"
rm -f "$E/home/u/note" "$E/srv/added"
urun undo5 "$VAUDIT" --undo "$W/empty.journal" "$M"
rc_is undo5 0 "once they are removed by hand, the undo finishes"
is "$(find "$E" -mindepth 1 | wc -l):$(stat -c %a "$E")" "0:750" "the existing DST is empty again, its mode its own"
image >"$W/find.empty2"
cmp -s "$W/find.empty" "$W/find.empty2"
ok $? "the image is as before that clone" || diag "$(diff "$W/find.empty" "$W/find.empty2" | head -10)"

# ================================================================ kill -9
# kill_after MS CMD...: CMD in the background (no output), kill -9 after MS
# milliseconds; its exit status (137 when the kill landed)
kill_after() {
	local ms=$1 pid
	shift
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
landed=0
for ms in 20 50 100 200 400 800 1600; do
	K=$V/killed.$ms
	kill_after "$ms" "$VCLONE" --flags=legacy --exclude="$EX" $NP --journal "$W/kill.$ms.journal" "$S" "$K"
	rc=$?
	[ "$rc" -eq 137 ] && [ -d "$K" ] && landed=$((landed + 1))
	if [ -e "$W/kill.$ms.journal" ]; then
		urun kundo "$VAUDIT" --undo "$W/kill.$ms.journal" "$M"
		rc_is kundo 0 "killed after ${ms} ms (exit $rc): vaudit --undo"
	fi
	image >"$W/find.kill"
	srclist >"$W/src.kill"
	cmp -s "$W/find.empty" "$W/find.kill" && cmp -s "$W/src.before" "$W/src.kill"
	ok $? "killed after ${ms} ms, undone: no stray entry, the source as before" ||
		diag "$(diff "$W/find.empty" "$W/find.kill" | head -10)"
	[ -e "$K" ] && diag "$(find "$K" | head -5)"
	lsattr -R "$S" 2>/dev/null | sort >"$W/lsattr.kill"
	cmp -s "$W/lsattr.src" "$W/lsattr.kill"
	ok $? "killed after ${ms} ms, undone: the source's flags as before"
	[ "$rc" -ne 137 ] && break
done

# ================================================================ killed at a sync
# strace -e inject=SYSCALL:signal=KILL:when=N kills vclone exactly at its
# Nth call: syncfs (what a batch made goes to disk before its M records;
# VAUDIT_TEST_CLONE_MARKS=64: one every 64 marks, so that later kills find
# some entries with their M record and others without), fsync (a batch's
# C records on disk before its entries), linkat (a copy or a link named),
# FS_IOC_SETFLAGS (flags lifted for a link, or put back); then --undo
STRACE=$(command -v strace || true)
if [ -n "$STRACE" ]; then
	for pt in syncfs:1 syncfs:3 fsync:2 fsync:9 linkat:60 ioctl:40; do
		sc=${pt%:*} n=${pt#*:}
		K=$V/synckill.$sc$n
		rm -f "$W/sk.journal"
		VAUDIT_TEST_CLONE_MARKS=64 "$STRACE" -f -qq -o /dev/null -e trace="$sc" \
			-e inject="$sc:signal=KILL:when=$n" \
			"$VCLONE" --flags=legacy --exclude="$EX" $NP --journal "$W/sk.journal" "$S" "$K" \
			>/dev/null 2>&1
		rc=$?
		# (ioctl: also the reads of the flags; the 40th is among the links' lifts or reads)
		nm=$([ -e "$W/sk.journal" ] && python3 - "$W/sk.journal" "$K" <<'PY'
import base64, os, sys
made, c = set(), {}
for l in open(sys.argv[1], encoding='ascii').read().splitlines()[1:]:
    f = l.split('\t')
    if f[0] == 'C':
        c[f[1]] = base64.b64decode(f[6]).decode('utf-8', 'surrogateescape')
    elif f[0] == 'M':
        made.add(f[1])
without = sum(1 for s, p in c.items() if s not in made and os.path.lexists(p))
print('%d %d' % (len(made), without))
PY
)
		is "$rc" 137 "vclone killed at $sc call $n (strace inject; M records, entries made without one: $nm)" &&
			landed=$((landed + 1))
		if [ "$pt" = syncfs:3 ]; then
			[ "${nm% *}" -gt 0 ] && [ "${nm#* }" -gt 0 ]
			ok $? "killed at the third syncfs: some entries have their M record, some were made without ($nm)"
		fi
		if [ -e "$W/sk.journal" ]; then
			urun skundo "$VAUDIT" --undo "$W/sk.journal" "$M"
			rc_is skundo 0 "killed at $sc call $n: vaudit --undo"
		else
			[ ! -e "$K" ]
			ok $? "killed at $sc call $n, while the journal was made: no journal, nothing made"
		fi
		image >"$W/find.sk"
		srclist >"$W/src.sk"
		lsattr -R "$S" 2>/dev/null | sort >"$W/lsattr.sk"
		cmp -s "$W/find.empty" "$W/find.sk" && cmp -s "$W/src.before" "$W/src.sk" &&
			cmp -s "$W/lsattr.src" "$W/lsattr.sk"
		ok $? "killed at $sc call $n, undone: no stray entry, the source and its flags as before" ||
			diag "$(diff "$W/find.empty" "$W/find.sk" | head -10)"
	done
else
	skip "vclone killed at a sync" "strace is not installed"
fi
[ "$landed" -ge 1 ]
ok $? "at least one kill landed in the middle of a clone ($landed)"

# ================================================================ vcopy
# DST: a plain copy of the source (every file its own inode) that lacks a
# directory and some files and has one file changed
: "${VCOPY:=$top_builddir/vcopy}"
Y=$V/copyto
cp -a "$S" "$Y" && rm -rf "$Y/usr/share/perl5" "$Y/usr/share/man" "$Y/usr/share/locale" \
	"$Y/usr/bin/${P#usr/bin/}5.36.0" "$Y/srv/pair/b" "$Y/run/fifo" &&
	rm -f "$Y/etc/shadow" "$Y/root/.ssh/id_ed25519" && printf 'changed here\n' >>"$Y/usr/share/doc/perl-base/copyright"
ok $? "vcopy: DST a cp -a of SRC without usr/share/man and locale, perl5.36.0, a pair's second name, the FIFO, one file changed"
dstate() { # the state of Y without inode numbers: names, links, modes, owners, sizes, times but
	# of directories (their entries changed and changed back), contents
	(cd "$Y" && find . \( -type d -printf '%n %m %U:%G %y %p\n' \) -o -printf '%n %m %U:%G %s %T@ %y %p\n' |
		sort -k6 && find . -type f -exec sha256sum {} + | sort -k2)
}
dstate >"$W/copy.before"
pstate() { python3 "$CT" state "$Y"; }
pstate >"$W/copy.pbefore"
image >"$W/find.copy0"
srclist >"$W/src.copy0"
urun cdry "$VCOPY" -n --json --flags=legacy --exclude="$EX" $NP "$Y" "$S"
rc_is cdry 1 "vcopy -n: something would be linked and made"
py_checks python3 "$RP" "$SCHEMA" "$W/cdry.out" --label="vcopy -n --json" --want action=+ --want error=0 \
	--expect dry_run=true --expect changed=false
dstate >"$W/copy.dry"
cmp -s "$W/copy.before" "$W/copy.dry" && image | cmp -s - "$W/find.copy0"
ok $? "the dry run changed nothing"
urun copy "$VCOPY" --json --flags=legacy --exclude="$EX" $NP --journal "$W/vcopy.journal" "$Y" "$S"
rc_is copy 0 "vcopy DST SRC"
py_checks python3 "$RP" "$SCHEMA" "$W/copy.out" --label="vcopy --json" --want action=+ --want error=0 \
	--expect dry_run=false --expect changed=true
sumc() { python3 -c 'import json,sys; s=json.loads(open(sys.argv[1]).read().splitlines()[-1]); m=s["made"]
print(s["linked"], *(m[k] for k in ("mkdir","copy","link","hardlink","symlink","node","omit","exists")))' "$1"; }
is "$(sumc "$W/cdry.out")" "$(sumc "$W/copy.out")" "the dry run's counts (linked, and made by kind) are the real run's"
py_checks python3 "$CT" check --vcopy "$S" "$Y" --flags 0x8010 "${OMIT[@]}" \
	--differs /usr/share/doc/perl-base/copyright "${COPY[@]}"
dstate >"$W/copy.after"
pstate >"$W/copy.pafter"
[ "$(stat -c %i "$Y/$P")" = "$(stat -c %i "$S/$P")" ] && [ "$(stat -c %i "$Y/${P}5.36.0")" = "$(stat -c %i "$S/$P")" ]
ok $? "perl (identical: linked by vunify's rules) and perl5.36.0 (missing: made as a link) are the source's inode"
is "$(stat -c %i "$Y${IA#"$S"}")" "$(stat -c %i "$IA")" \
	"vcopy: the identical file whose source is immutable and append-only is linked to it (both flags lifted)"
is "$(lsattr -d "$IA" | cut -d ' ' -f 1)" "$(grep " $IA\$" "$W/lsattr.src" | cut -d ' ' -f 1)" \
	"... and the source's flags put back (lsattr: immutable, append-only and 0x8000)"
[ "$(stat -c %i "$Y/usr/share/doc/perl-base/copyright")" != "$(stat -c %i "$S/usr/share/doc/perl-base/copyright")" ] &&
	grep -q 'changed here' "$Y/usr/share/doc/perl-base/copyright"
ok $? "the changed file is left alone"
[ "$(stat -c %i "$Y/srv/pair/a")" = "$(stat -c %i "$Y/srv/pair/b")" ] || [ "$(stat -c %i "$Y/srv/pair/b")" = "$(stat -c %i "$S/srv/pair/a")" ]
ok $? "the pair's second name is one inode with the first again, or with the source's"
made=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["made"]["journal"])' "$W/copy.out")
is "$made" "$W/vcopy.journal" "one journal: the summary's made.journal is the run's journal"
journal_ok "$W/vcopy.journal" "vcopy"
[ "$(python3 - "$W/vcopy.journal" <<'PY'
import sys
lines = open(sys.argv[1], encoding='ascii').read().splitlines()
types = [l.split('\t')[0] for l in lines[1:]]
links = [i for i, t in enumerate(types) if t == 'L']
print('ok' if 'backend=vcopy' in lines[0] and links and 'C' in types and types.index('C') > max(links) and 'M' in types else 'bad')
PY
)" = ok ]
ok $? "the journal: header backend=vcopy, the links (L) first, then the entries made (C, M)"
mkdir -p "$W/vcj" && cp "$W/vcopy.journal" "$W/vcj/"
urun cjournals "$VAUDIT" --json --journals "$W/vcj"
rc_is cjournals 0 "vaudit --journals of a directory with the vcopy journal"
grep -q '"mode":"vcopy"' "$W/cjournals.out" && grep -q '"backend":"vcopy"' "$W/cjournals.out"
ok $? "--journals: mode vcopy, backend vcopy" || diag "$(head -3 "$W/cjournals.out")"
urun cshow "$VAUDIT" --show "$W/vcopy.journal"
rc_is cshow 0 "vaudit --show of the vcopy journal"
py_checks python3 "$RP" "$SCHEMA" "$W/cshow.out" --label="--show vcopy" --last none
urun cresume "$VAUDIT" --resume "$W/vcopy.journal" "$M"
rc_is cresume 2 "vaudit --resume of a vcopy journal: refused"
one_line cresume vaudit "vaudit --resume of a vcopy journal" "not resumed" "--undo"
# untrusted input: a vcopy journal whose link comes after an entry made
# (records renumbered, CRCs valid) is refused before anything changes
python3 - "$W/vcopy.journal" "$W/forged.journal" "$top_srcdir/tests/integration" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
from fixtest import crc32c
lines = open(sys.argv[1], 'rb').read().split(b'\n')
body = lambda l: l.rpartition(b'\tcrc=')[0]
c = next(l for l in lines if l.startswith(b'C\t'))
link = next(l for l in lines if l.startswith(b'L\t'))
out = [lines[0]]
for seq, l in ((1, c), (2, link)):
    f = body(l).split(b'\t')
    f[1] = b'%d' % seq
    b = b'\t'.join(f)
    out.append(b + b'\tcrc=%08x' % crc32c(b))
open(sys.argv[2], 'wb').write(b'\n'.join(out) + b'\n')
PY
dstate >"$W/copy.f0"
urun forged "$VAUDIT" --undo "$W/forged.journal" "$M"
rc_is forged 2 "vaudit --undo of a forged vcopy journal (a link after an entry made): refused"
one_line forged vaudit "the forged vcopy journal" "a link recorded after the entries made"
dstate | cmp -s - "$W/copy.f0"
ok $? "the forged journal changed nothing"
urun cundon "$VAUDIT" -n --undo "$W/vcopy.journal" "$M"
rc_is cundon 1 "vaudit -n --undo of the vcopy journal: something would be undone"
dstate >"$W/copy.undon"
pstate >"$W/copy.pundon"
cmp -s "$W/copy.after" "$W/copy.undon" && cmp -s "$W/copy.pafter" "$W/copy.pundon"
ok $? "the dry run of the undo changed nothing"
urun cundo "$VAUDIT" --json --undo "$W/vcopy.journal" "$M"
rc_is cundo 0 "one vaudit --undo of the vcopy journal"
py_checks python3 "$RP" "$SCHEMA" "$W/cundo.out" --label="vaudit --undo --json of a vcopy journal" \
	--want action=+ --want error=0 --exit 0
grep -q '"step":"remove"' "$W/cundo.out" && grep -q '"step":"undo"' "$W/cundo.out" &&
	[ "$(grep -n '"step":"remove"' "$W/cundo.out" | tail -1 | cut -d: -f1)" -lt \
	  "$(grep -n '"step":"undo"' "$W/cundo.out" | head -1 | cut -d: -f1)" ]
ok $? "the undo removed the entries made first, then undid the links"
dstate >"$W/copy.undone"
cmp -s "$W/copy.before" "$W/copy.undone"
ok $? "DST is as before vcopy (names, links, modes, owners, sizes, times, contents)" ||
	diag "$(diff "$W/copy.before" "$W/copy.undone" | head -10)"
pstate >"$W/copy.pundone"
cmp -s "$W/copy.pbefore" "$W/copy.pundone"
ok $? "DST is as before vcopy (vclonetest.py state: lstat, SHA-256, flags, xattrs, link groups)" ||
	diag "$(diff "$W/copy.pbefore" "$W/copy.pundone" | head -10)"
srclist >"$W/src.copy1"
lsattr -R "$S" 2>/dev/null | sort >"$W/lsattr.copy"
cmp -s "$W/src.copy0" "$W/src.copy1" && cmp -s "$W/lsattr.src" "$W/lsattr.copy"
ok $? "the source is as before (find -printf with inodes and mtimes, lsattr -R)" ||
	diag "$(diff "$W/src.copy0" "$W/src.copy1" | head -6)"
urun cundo2 "$VAUDIT" --undo "$W/vcopy.journal" "$M"
rc_is cundo2 0 "a second --undo of the vcopy journal"
pstate | cmp -s - "$W/copy.pbefore"
ok $? "the second --undo changed nothing"

# ---------------------------------------------------------------- vcopy killed
# killed at chosen syscalls (strace -e inject=SYSCALL:signal=KILL:when=N:
# the links' swaps and syncs, the journal's first entries made) and after
# growing times; then one --undo: DST as before, the source untouched
STRACE=$(command -v strace || true)
vkill() { # TAG DESC [COMMAND-PREFIX...]   (VK_MS: kill -9 after VK_MS ms instead)
	local tag=$1 desc=$2 rc
	shift 2
	rm -f "$W/vk.$tag.journal"
	if [ -n "${VK_MS-}" ]; then
		kill_after "$VK_MS" "$VCOPY" --flags=legacy --exclude="$EX" $NP --journal "$W/vk.$tag.journal" "$Y" "$S"
	else
		"$@" "$VCOPY" --flags=legacy --exclude="$EX" $NP --journal "$W/vk.$tag.journal" "$Y" "$S" \
			>/dev/null 2>&1
	fi
	rc=$?
	VK_KINDS=$(grep -o '^[LC]' "$W/vk.$tag.journal" 2>/dev/null | sort -u | tr -d '\n')
	VK_RC=$rc
	if [ -e "$W/vk.$tag.journal" ]; then
		urun vkundo "$VAUDIT" --undo "$W/vk.$tag.journal" "$M"
		rc_is vkundo 0 "vcopy killed $desc (exit $rc; journal records: ${VK_KINDS:-none}): one vaudit --undo"
	fi
	pstate >"$W/copy.pkill"
	srclist >"$W/src.kill"
	lsattr -R "$S" 2>/dev/null | sort >"$W/lsattr.kill"
	cmp -s "$W/copy.pbefore" "$W/copy.pkill" && dstate | cmp -s - "$W/copy.before"
	ok $? "vcopy killed $desc, undone: DST as before (state: lstat, SHA-256, flags, xattrs, link groups)" ||
		diag "$(diff "$W/copy.pbefore" "$W/copy.pkill" | head -10)"
	cmp -s "$W/src.copy0" "$W/src.kill" && cmp -s "$W/lsattr.src" "$W/lsattr.kill"
	ok $? "vcopy killed $desc, undone: the source as before (inodes, mtimes, flags)"
}
vlanded=
if [ -n "$STRACE" ]; then
	# renameat2: a link's swap; syncfs 1: the links' batch on disk; mkdirat:
	# directories DST lacks (the entries made)
	for pt in renameat2:1 syncfs:1 renameat2:60 mkdirat:1 mkdirat:3 mkdirat:9; do
		sc=${pt%:*} n=${pt#*:}
		vkill "$sc$n" "at $sc call $n" "$STRACE" -f -qq -o /dev/null -e trace="$sc" \
			-e inject="$sc:signal=KILL:when=$n"
		[ "$VK_RC" -eq 137 ] && vlanded+=" ${VK_KINDS:-none}"
	done
else
	skip "vcopy killed at chosen syscalls" "strace is not installed"
fi
for ms in 10 30 60 120; do
	VK_MS=$ms vkill "t$ms" "after $ms ms"
	[ "$VK_RC" -eq 137 ] && vlanded+=" ${VK_KINDS:-none}"
done
[[ " $vlanded" == *" L"* ]] && [[ "$vlanded" == *C* ]]
ok $? "kills landed among the links (L only) and among the entries made (C):$vlanded"
rm -rf "$Y"

# ================================================================ refusals
refused() { # TAG DESC ARGS...   (PROG: vclone, or vcopy)
	local tag=$1 desc=$2 prog=${PROG:-vclone}
	shift 2
	image >"$W/find.r0"
	urun "$tag" "$top_builddir/$prog" $NP --journal "$W/$tag.journal" "$@"
	rc_is "$tag" 2 "$prog: $desc: refused"
	one_line "$tag" "$prog" "$prog: $desc"
	image >"$W/find.r1"
	cmp -s "$W/find.r0" "$W/find.r1" && [ ! -e "$W/$tag.journal" ]
	ok $? "$desc: nothing changed, no journal"
}
touch "$E/x"
refused nonempty "a DST that is not empty" --flags=legacy "$S" "$E"
rm -f "$E/x"
refused inside "DST inside SRC" --flags=legacy "$S" "$S/sub"
refused same "SRC as DST" --flags=legacy "$S" "$S"
refused file "a DST that is a file" --flags=legacy "$S" "$S/etc/acl/file"
if [ -e /proc/virtual ]; then
	skip "--xid without --tag-scheme refused" "this kernel has the vserver syscall"
else
	refused xid "--xid without --tag-scheme" --xid=42 --flags=legacy "$S" "$V/x"
fi
refused xdev "a DST on another filesystem" --flags=legacy "$S" "$W/elsewhere"
if [ -e /proc/virtual ]; then
	skip "--flags=auto refused" "this kernel has the vserver syscall"
else
	refused auto "--flags=auto without the vserver syscall" "$S" "$V/x"
fi
urun usage "$VCLONE" "$S"
rc_is usage 64 "one operand: a usage error"
PROG=vcopy refused cinside "DST inside SRC" --flags=legacy "$S/etc" "$S"
PROG=vcopy refused csrcin "SRC inside DST" --flags=legacy "$V" "$S"
PROG=vcopy refused csame "SRC as DST" --flags=legacy "$S" "$S"
PROG=vcopy refused cmissing "a DST that does not exist" --flags=legacy "$V/nothing" "$S"
urun cusage "$VCOPY" "$S"
rc_is cusage 64 "vcopy with one operand: a usage error"

done_testing
