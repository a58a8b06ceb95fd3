#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# journal-unused.sh - a run that changed nothing leaves no journal of the
# default name behind; a journal named with --journal, and the journal of
# a run that changed something, stay.
#
# The default journal directory is compiled in (/var/lib/vaudit): the
# test runs in a private mount namespace (tests/ns.sh) with a tmpfs over
# that directory (or over /var/lib where it does not exist), so the host's
# journals are never seen or touched.  Guests hold files of Debian's
# perl-base package (dpkg-deb -x, then cp -a).  Ground truth: a listing
# of the journal directory (find) and of the trees (find -printf: inode,
# links, size, mtime) before and after, independent of the programs.
#
#   nothing to do   vhashify over one guest (every file unique): exit 0,
#                   the trees unchanged, the directory empty, stdout says
#                   the journal was removed; --json gives "journal": null
#   refused         vhashify with its store on another mount (a tmpfs):
#                   exit 2, nothing changed, the directory empty
#   --journal FILE  nothing to do: FILE stays
#   linked          two guests: the journal stays, and vaudit --undo with
#                   it gives the trees back
#   vunify          nothing to do (an empty reference): the same
#   convert         vaudit --convert-legacy refused after its journal was
#                   made (NAME/ exists): exit 2, the directory empty
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/ns.sh"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_private_ns
need_vaudit
need_cmd mke2fs losetup mount umount dpkg-deb find timeout python3
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

perl_base_deb

# The default journal directory, private to this namespace.
JD=/var/lib/vaudit
if [ -d "$JD" ]; then
	mount -t tmpfs -o mode=0700,size=16m vaudit-test "$JD" || bail_out "cannot mount a tmpfs on $JD"
else
	mount -t tmpfs -o mode=0755,size=16m vaudit-test /var/lib || bail_out "cannot mount a tmpfs on /var/lib"
fi
defer umount -l "$JD" /var/lib
journals() { find "$JD" -mindepth 1 2>/dev/null | sort; }
is "$(journals)" "" "the default journal directory starts empty (a tmpfs of this namespace)"

IMG=$(mkimage unused ext4 256) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
mkdir -p "$W/deb" "$M/vs" "$M/.hash" && chmod 700 "$M/.hash"
dpkg-deb -x "$DEB" "$W/deb" || bail_out "dpkg-deb -x failed"
for g in g1 g2; do
	cp -a "$W/deb" "$M/vs/$g" || bail_out "cp -a failed"
done
tree() { (cd "$M/vs" && find . -printf '%p %i %n %s %T@\n' | sort); }
files() { (cd "$M/vs" && find . ! -type d -printf '%p %n %s %T@\n' | sort); }

# --- nothing to do: one guest, every file unique (perl's own hard-link
# pair is one inode already)
T0=$(tree)
F0=$(files)
urun none "$VHASHIFY" $FL $NP --manually --destination "$M/.hash" "$M/vs/g1" ""
rc_is none 0 "nothing to do"
is "$(tree)" "$T0" "nothing to do: the trees are unchanged"
is "$(journals)" "" "nothing to do: no journal is left in $JD"
grep -q "^vhashify: journal $JD/unify-.*\.journal removed: it holds no change$" "$W/none.out"
ok $? "nothing to do: the summary says the journal was removed" || diag "$(cat "$W/none.out")"

urun nonej "$VHASHIFY" $FL $NP --json --manually --destination "$M/.hash" "$M/vs/g1" ""
rc_is nonej 0 "nothing to do, --json"
python3 -c '
import json, sys
s = [r for r in map(json.loads, open(sys.argv[1])) if r.get("event") == "summary"]
sys.exit(0 if len(s) == 1 and "journal" in s[0] and s[0]["journal"] is None else 1)' "$W/nonej.out"
ok $? "nothing to do, --json: the summary's journal is null" || diag "$(tail -2 "$W/nonej.out")"
is "$(journals)" "" "nothing to do, --json: no journal is left"

# --- the same run with --journal: the file named stays
urun named "$VHASHIFY" $FL $NP --journal "$W/named.journal" --manually --destination "$M/.hash" \
	"$M/vs/g1" ""
rc_is named 0 "nothing to do, --journal"
head -c 15 "$W/named.journal" 2>/dev/null | grep -q '^vaudit-journal'
ok $? "--journal: the file named stays (it starts with the journal's header)"

# --- refused: the store on another mount
mkdir -p "$W/other"
mount -t tmpfs -o size=4m vaudit-other "$W/other" || bail_out "cannot mount a tmpfs"
defer umount -l "$W/other"
mkdir -p "$W/other/store"
urun other "$VHASHIFY" $FL $NP --manually --destination "$W/other/store" "$M/vs/g1" "" "$M/vs/g2" ""
rc_is other 2 "the store on another mount: refused"
is "$(tree)" "$T0" "refused: the trees are unchanged"
is "$(find "$W/other/store" -mindepth 1)" "" "refused: nothing in the store"
is "$(journals)" "" "refused: no journal is left in $JD"
grep -q "removed: it holds no change" "$W/other.out"
ok $? "refused: the summary says the journal was removed" || diag "$(cat "$W/other.out")"

# --- linked: the journal stays and undoes the run
urun link "$VHASHIFY" $FL $NP --manually --destination "$M/.hash" "$M/vs/g1" "" "$M/vs/g2" ""
rc_is link 0 "two guests: linked"
J=$(journals)
is "$(printf '%s\n' "$J" | grep -c '/unify-.*\.journal$')" 1 "linked: one journal stays in $JD"
[ "$(tree)" != "$T0" ]
ok $? "linked: the trees changed (names share inodes now)"
grep -q "^vhashify: journal $J$" "$W/link.out"
ok $? "linked: the summary names the journal" || diag "$(cat "$W/link.out")"
urun undo "$VAUDIT" --undo "$J" "$M"
rc_is undo 0 "vaudit --undo with that journal"
is "$(files)" "$F0" "undone: every file has its own links again (link count, size, mtime as before)"

rm -f -- "$J"

# --- vunify with nothing to do (an empty reference)
mkdir -p "$M/vs/empty"
urun vu "$VUNIFY" $FL $NP --manually "$M/vs/g1" "" "$M/vs/empty" ""
rc_is vu 0 "vunify, nothing to do"
is "$(journals)" "" "vunify, nothing to do: no journal is left in $JD"
grep -q "^vunify: journal $JD/unify-.*\.journal removed: it holds no change$" "$W/vu.out"
ok $? "vunify, nothing to do: the summary says the journal was removed" || diag "$(cat "$W/vu.out")"

# --- vaudit --convert-legacy refused after its journal was made
E=$M/etc/vservers
mkdir -p "$E/flagged" "$M/vservers/flagged/etc" && : >"$E/flagged/legacy" &&
	ln -s /vservers/flagged "$E/flagged/vdir"
printf "S_CONTEXT=47\nS_HOSTNAME='flagged'\n" >"$E/flagged.conf"
urun conv "$VAUDIT" --convert-legacy --host-root "$M" flagged
rc_is conv 2 "--convert-legacy over an existing NAME/: refused"
grep -q "flagged': it exists already" "$W/conv.err"
ok $? "convert refused: the message says why" || diag "$(cat "$W/conv.err")"
is "$(journals)" "" "convert refused: no journal is left in $JD"

done_testing
