#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-store-blocked.sh - a hash store damaged by hand: one STORE/xx is
# a regular file, so no entry can be made below it.  The entries that
# cannot be made are said, their names stay as they are; every other set
# is linked as the dry run promised.
#
# Two guests hold Debian's perl-base (dpkg-deb -x, then cp -a: two inodes
# for every file, perl and perl5.36.0 one inode in each), so a first
# vhashify makes hundreds of store entries.  The STORE/xx of the dry
# run's first entry is then taken by a regular file.
#
#   promise     the entries the real run made are the dry run's, less
#               those below the blocked xx, each of which is one error
#               record (cannot make the hash store entry); exit 2
#   links       the names share the store entries' inodes or keep their
#               own (stat against the store's inodes), content as
#               extracted (cmp); perl and perl5.36.0 stay one inode
#   store       every directory mode 0700, none empty (find)
#   undo        vaudit --undo: no name shares its inode but perl's own
#               pair, content as extracted, the store's entries gone
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs losetup mount umount dpkg-deb cmp stat find timeout chattr
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

perl_base_deb

IMG=$(mkimage storedirs ext4 256) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
H=$M/.hash
mkdir -p "$W/deb" "$M/vs" "$H" && chmod 700 "$H"
dpkg-deb -x "$DEB" "$W/deb" || bail_out "dpkg-deb -x failed"
for g in g1 g2; do
	cp -a "$W/deb" "$M/vs/$g" || bail_out "cp -a failed"
done
ARGS=(--manually --destination "$H" --flags=immutable --no-progress "$M/vs/g1" "" "$M/vs/g2" "")

# The dry run's promise: the store entries it would make.
urun dry "$VHASHIFY" -n --json "${ARGS[@]}"
rc_is dry 1 "dry run: something would change"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == "store" and r.get("dry_run") is True:
        print(r["path"])' "$W/dry.out" | sed "s|^$H/||" | sort >"$W/promised"
n=$(grep -c '' "$W/promised")
ok "$([ "$n" -ge 100 ]; echo $?)" "dry run: $n new store entries (100 at least)"
grep -qv '^[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/' "$W/promised"
ok $((! $?)) "dry run: every entry is STORE/xx/yy/REST" || diag "$(head -3 "$W/promised")"

# STORE/xx of the first entry taken by a regular file.
X=$(head -c 2 "$W/promised")
printf 'not a directory\n' >"$H/$X"
grep "^$X/" "$W/promised" >"$W/blocked"
grep -v "^$X/" "$W/promised" >"$W/expected"
nb=$(grep -c '' "$W/blocked")

urun run "$VHASHIFY" --json --journal "$W/run.journal" "${ARGS[@]}"
rc_is run 2 "the run: exit 2 (the entries below $X/ cannot be made)"

(cd "$H" && find . -mindepth 3 -type f -printf '%P\n' | sort) >"$W/made"
is "$(cat "$W/made")" "$(cat "$W/expected")" \
	"promise: the entries made are the dry run's, less the $nb below $X/"
errs=$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("record") == "error" and r.get("detail") == "cannot make the hash store entry":
        n += 1
print(n)' "$W/run.out")
is "$errs" "$nb" "promise: one error record for each entry below $X/ (cannot make the hash store entry)"

# links: by the store's inodes, independently of the run's output
(cd "$H" && find . -mindepth 3 -type f -printf '%i\n' | sort -u) >"$W/store.inodes"
bad=0 linked=0 own=0
while IFS= read -r -d '' f; do
	rel=${f#"$M/vs/"}; rel=${rel#*/}
	ino=$(stat -c %i "$f")
	if grep -qx "$ino" "$W/store.inodes"; then
		linked=$((linked + 1))
	else
		own=$((own + 1))
	fi
	cmp -s "$f" "$W/deb/$rel" || { bad=$((bad + 1)); diag "content differs: $f"; }
done < <(find "$M/vs" -type f -size +0 -print0)
ok "$([ "$bad" -eq 0 ]; echo $?)" "links: every file's content is as extracted (cmp)"
ok "$([ "$linked" -gt 0 ] && [ "$own" -gt 0 ]; echo $?)" \
	"links: $linked names share a store entry's inode, $own keep their own"
p1=$(stat -c %i "$M/vs/g1/usr/bin/perl" 2>/dev/null)
p2=$(stat -c %i "$M/vs/g1/usr/bin/perl5"* 2>/dev/null | head -1)
is "$p1" "$p2" "links: perl and its versioned name are one inode in g1"

bad=$(find "$H" -mindepth 1 -type d ! -perm 0700 | head -3)
is "$bad" "" "store: every directory mode 0700"
bad=$(find "$H" -mindepth 1 -type d -empty | head -3)
is "$bad" "" "store: no empty directory"

urun undo "$VAUDIT" --undo "$W/run.journal" "$M"
rc_is undo 0 "undo"
shared=$(find "$M/vs" -type f -links +1 ! -path '*/usr/bin/perl*' | head -3)
is "$shared" "" "undo: no name shares its inode any more (but perl's own pair)"
bad=0
while IFS= read -r -d '' f; do
	rel=${f#"$M/vs/"}; rel=${rel#*/}
	cmp -s "$f" "$W/deb/$rel" || bad=$((bad + 1))
done < <(find "$M/vs" -type f -print0)
is "$bad" 0 "undo: every file's content is as extracted"
is "$(find "$H" -mindepth 3 -type f | head -3)" "" "undo: the store's entries are gone"

done_testing
