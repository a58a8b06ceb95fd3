#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-compat.sh - vhashify and vunify on a host as util-vserver leaves it
# (issue 16, items 1, 2 and 8), on loop-mounted ext4 images.  The host is
# built by uvstore.py the way util-vserver builds it: a store filled by its
# vhashify (entry names computed here from its recipe, sha256 over the
# packed stat header and the content; entries' mtimes set with utime() in
# whole seconds; the guest's name a hard link to the entry), its hash
# configuration directory (.defaults/apps/vunify/hash: method, 00 ->
# /vservers/.hash) and guests with absolute vdir links.  The ground truth
# is uvstore.py's spec, lstat and the recipe, never the programs' output.
#
#   store     guest copies that kept their nanoseconds are linked to
#             util-vserver's entries (same second); new entries get
#             util-vserver's names; two guests' files of one second with
#             other nanoseconds stay apart; a second run adds no entry
#   cmdline   --manually --destination HASHCONFDIR (util-vserver's form)
#             uses the store its link leads to and creates nothing in the
#             configuration directory; a store on another filesystem or
#             mount, a configuration directory without an entry on the
#             trees' filesystem, a configured entry that leads back to the
#             configuration directory: exit 2, said on stderr, the guests
#             unchanged
#   host-root vhashify and vunify --host-root PREFIX read the old host's
#             configuration inside PREFIX; vaudit --undo takes vunify's
#             run back
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs chattr losetup mount umount timeout find truncate
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

UV=$top_srcdir/tests/integration/uvstore.py

IMG=$(mkimage compat ext4 128) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
SPEC=$W/spec.json
python3 "$UV" build "$M" "$SPEC" 2>"$W/build.err"
ok $? "build a util-vserver host (store, hash configuration, 5 guests) on a fresh ext4 image" ||
	bail_out "$(cat "$W/build.err")"
H=$M/vservers/.hash
# util-vserver's hash configuration directory for --manually, its link
# valid on the running host (the host's own is used with --host-root)
HC=$W/hashconf
mkdir "$HC" && cp "$M/etc/vservers/.defaults/apps/vunify/hash/method" "$HC/" && ln -s "$H" "$HC/00"
entries() { python3 "$UV" entries "$M"; }
hcls() { (cd "$HC" && find . | LC_ALL=C sort); }

py_checks python3 "$UV" check-store "$M"
E0=$(entries | wc -l)
HC0=$(hcls)

# ------------------------------------------------------------------ cmdline: wrong places
for p in "$VHASHIFY" "$VUNIFY"; do
	urun help "$p" --help
	rc_is help 0 "${p##*/} --help"
	grep -q -- '--host-root=PREFIX' "$W/help.out"
	ok $? "... names --host-root"
done

O_IMG=$(mkimage other ext4 16) || bail_out "mke2fs failed"
O=$(mount_fixture "$O_IMG") || bail_out "cannot mount the second image"
mkdir -p "$O/store" "$W/cfg-other" "$W/bind"
printf 'sha256\n' >"$W/cfg-other/method"
ln -s "$O/store" "$W/cfg-other/00"
mount --bind "$H" "$W/bind" || bail_out "cannot bind-mount the store"
defer umount "$W/bind"

# a configured hash directory whose entry leads back to itself
mkdir -p "$M/etc/vservers/g3/apps/vunify/hash"
printf 'sha256\n' >"$M/etc/vservers/g3/apps/vunify/hash/method"
ln -s . "$M/etc/vservers/g3/apps/vunify/hash/00"
S0=$(snap "$M")
urun self "$VHASHIFY" $FL $NP --host-root "$M" g3
rc_is self 2 "a configured hash entry that leads to the hash configuration directory itself"
one_line self vhashify "... refused" "holds symbolic links" "no entry is made there"
is "$(snap "$M")" "$S0" "... nothing changed (nothing created in that directory)"
rm -r "$M/etc/vservers/g3/apps/vunify/hash"
S0=$(snap "$M")

urun other "$VHASHIFY" $FL $NP --journal "$W/other.journal" --manually --destination "$O/store" \
	"$M/vservers/g2" "" "$M/vservers/g3" ""
rc_is other 2 "--destination a store on another filesystem"
grep -q 'no-store or other-mount' "$W/other.err"
ok $? "... says every file was skipped as no-store on stderr" || diag "$(cat "$W/other.err")"

urun bind "$VHASHIFY" $FL $NP --journal "$W/bind.journal" --manually --destination "$W/bind" "$M/vservers/g2" ""
rc_is bind 2 "--destination a bind mount of the store (another mount)"
grep -q 'no-store or other-mount' "$W/bind.err"
ok $? "... says every file was skipped as other-mount on stderr" || diag "$(cat "$W/bind.err")"

urun cfgother "$VHASHIFY" $FL $NP --manually --destination "$W/cfg-other" "$M/vservers/g2" ""
rc_is cfgother 2 "--destination a hash configuration directory with no entry on the trees' filesystem"
one_line cfgother vhashify "... refused before anything" "no entry of this hash configuration directory" \
	"$M/vservers/g2"

urun manroot "$VHASHIFY" $FL $NP --host-root "$M" --manually --destination "$H" "$M/vservers/g2" ""
rc_is manroot 64 "--host-root with --manually (no configuration is read): a usage error"
one_line manroot vhashify "... a usage error" "--manually does not combine with --host-root"
urun vmanroot "$VUNIFY" $FL $NP --host-root "$M" --manually "$M/vservers/g5" "" "$M/vservers/g4" ""
rc_is vmanroot 64 "vunify --host-root with --manually: a usage error"
one_line vmanroot vunify "... a usage error" "--manually does not combine with --host-root"

is "$(snap "$M")" "$S0" "the refused runs changed nothing on the host (inodes, links, flags, times)"
is "$(find "$O/store" -mindepth 1 -not -name method | head -3)" "" \
	"no entry was made in the store on the other filesystem"

# ------------------------------------------------------------------ store: util-vserver's form of the command line
urun dry "$VHASHIFY" -n --json $FL $NP --manually --destination "$HC" \
	"$M/vservers/g2" "" "$M/vservers/g3" ""
rc_is dry 1 "dry run: vhashify --manually --destination HASHCONFDIR (util-vserver's form; it would link)"
is "$(snap "$M")" "$S0" "... the dry run changed nothing"
is "$(hcls)" "$HC0" "... nothing was planned in the hash configuration directory"
python3 - "$W/dry.out" "$H" >"$W/dry.check" <<'EOF'
import json, sys
bad = [e['path'] for e in map(json.loads, open(sys.argv[1]))
       if e.get('event') == 'store' and not e['path'].startswith(sys.argv[2] + '/')]
print(len(bad), *bad[:3])
EOF
is "$(cat "$W/dry.check")" "0" "... every entry it would make is in the store the link 00 leads to"

urun run1 "$VHASHIFY" --json $FL $NP --journal "$W/run1.journal" --manually --destination "$HC" \
	"$M/vservers/g2" "" "$M/vservers/g3" ""
rc_is run1 0 "vhashify --manually --destination HASHCONFDIR"
is "$(hcls)" "$HC0" "... nothing was created in the hash configuration directory"
py_checks python3 "$UV" check-groups "$M" "$SPEC" hash
py_checks python3 "$UV" check-store "$M"
NEW=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["new"]))' "$SPEC")
is "$(entries | wc -l)" "$((E0 + NEW))" "the store got exactly the $NEW entries for content it did not hold"
for f in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["new"]))' "$SPEC"); do
	want=$(python3 "$UV" name "$M/$f")
	[ "$(stat -c %i "$M/$f")" = "$(stat -c %i "$H/$want" 2>/dev/null)" ]
	ok $? "the new entry of $f has util-vserver's name $want"
done
python3 - "$W/dry.out" "$W/run1.out" >"$W/cmp.check" <<'EOF'
import json, sys
def ev(p, kind):
    return sorted(e['path'] for e in map(json.loads, open(p)) if e.get('event') == kind)
for k in ('link', 'store'):
    if ev(sys.argv[1], k) != ev(sys.argv[2], k):
        print('%s: dry %d real %d' % (k, len(ev(sys.argv[1], k)), len(ev(sys.argv[2], k))))
print('same')
EOF
is "$(cat "$W/cmp.check")" "same" "the dry run promised the same links and store entries as the run made"
no_tmp "$M" "run 1"

# ------------------------------------------------------------------ host-root: the configured form, again
S1=$(snap "$M")
L1=$(entries)
urun run2 "$VHASHIFY" --json $FL $NP --journal "$W/run2.journal" --host-root "$M" g2 g3
rc_is run2 0 "vhashify --host-root PREFIX g2 g3 (store from .defaults/apps/vunify/hash/00 inside PREFIX)"
is "$(entries)" "$L1" "the second run added no store entry"
is "$(snap "$M" | grep -v '/\.hash/method')" "$(printf '%s\n' "$S1" | grep -v '/\.hash/method')" \
	"the second run changed nothing (every name already shares its entry)"
grep -q '"already":[1-9]' "$W/run2.out"
ok $? "... and counted the names as already shared" || diag "$(tail -1 "$W/run2.out")"

# ------------------------------------------------------------------ host-root: vunify, and its undo
S2=$(snap "$M")
urun vun "$VUNIFY" $FL $NP --journal "$W/vun.journal" --host-root "$M" g5
rc_is vun 0 "vunify --host-root PREFIX g5 (refserver.0 -> /etc/vservers/g4 inside PREFIX)"
py_checks python3 "$UV" check-groups "$M" "$SPEC" vunify
urun undo "$VAUDIT" --undo "$W/vun.journal" "$M/vservers"
rc_is undo 0 "vaudit --undo of the --host-root vunify run"
python3 - "$M" "$SPEC" >"$W/undo.check" <<'EOF'
import json, os, sys
spec = json.load(open(sys.argv[2]))
n = sum(len({os.lstat(os.path.join(sys.argv[1], p)).st_ino for p in g}) != 2 for g in spec['vunify'])
print(n)
EOF
is "$(cat "$W/undo.check")" "0" "... every name vunify linked has its own inode again"
no_tmp "$M" "after the undo"

done_testing
