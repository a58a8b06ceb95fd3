#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-links.sh - every name of a guest's own hard links is unified, and
# dry runs tell the truth (issue 16 item 4).
#
# Guests from Debian's perl-base package (dpkg-deb -x: perl and perl5.36.0
# are one inode) and cp -a copies of them.  vunify against a reference
# that lacks perl5.36.0 (and one whose perl pair are two inodes, cp -r),
# vhashify over three guests: the dry run's names, "would save" bytes,
# flag changes (events and summary) equal the real run's, and both equal
# what unifylinks.py reads from the filesystem (inode numbers, link
# counts, sizes) before and after; every name of a linked guest inode
# moved to the master; vaudit --undo gives the pair back as one inode.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs chattr lsattr losetup mount umount dpkg-deb sha256sum
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

UL=$top_srcdir/tests/integration/unifylinks.py
# py ARGS...: the checks of $UL, counted as ours
py() { py_relay "$UL" "$@"; }

perl_base_deb

IMG=$(mkimage links ext4 384 65536) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
mkdir -p "$M/vs" "$M/.hash" && chmod 700 "$M/.hash"
for g in t1 r1 g1 g2; do dpkg-deb -x "$DEB" "$M/vs/$g" || bail_out "dpkg-deb -x failed"; done
cp -a "$M/vs/t1" "$M/vs/t2" && cp -a "$M/vs/g1" "$M/vs/g3" &&
	cp -r --preserve=mode,ownership,timestamps "$M/vs/t1" "$M/vs/r2" &&
	rm "$M/vs/r1/usr/bin/perl5.36.0"
ok $? "guests: perl-base unpacked (dpkg-deb -x) and copied (cp -a, cp -r); r1 without perl5.36.0"
P=usr/bin/perl
is "$(stat -c %i:%h "$M/vs/t2/$P")" "$(stat -c %i "$M/vs/t2/$P"5.36.0):2" \
	"ground truth: t2's perl and perl5.36.0 are one inode of two names (cp -a)"
SUM=$(sha256sum <"$M/vs/t1/$P")

# runs TAG CMD...: CMD -n --json, then CMD --json --journal, with
# snapshots before and after; the comparison of unifylinks.py
runs() {
	local tag=$1
	shift
	python3 "$UL" inodes "$M" "$W/$tag.before"
	urun "$tag.dry" "$1" -n "${@:2}"
	rc_is "$tag.dry" 1 "$tag: dry run (it would link)"
	python3 "$UL" inodes "$M" "$W/$tag.dry.after"
	cmp -s "$W/$tag.before" "$W/$tag.dry.after"
	ok $? "$tag: the dry run changed nothing"
	urun "$tag" "$1" --journal "$W/$tag.journal" "${@:2}"
	rc_is "$tag" 0 "$tag: the run"
	python3 "$UL" inodes "$M" "$W/$tag.after"
}

# vunify: r1 has perl only; t1's perl5.36.0 goes with its perl
for fl in immutable legacy; do
	case $fl in immutable) T=t1 R=r1 ;; legacy) T=t2 R=r2 ;; esac
	runs "vu-$fl" "$VUNIFY" --json --flags=$fl $NP --manually -- "$M/vs/$T" "" "$M/vs/$R" ""
	py compare "$W/vu-$fl.dry.out" "$W/vu-$fl.out" "$W/vu-$fl.before" "$W/vu-$fl.after" "$M" "vs/$T"
	# the master is one of R's names: its perl, or (legacy: R's pair is two
	# inodes of equal content) its perl5.36.0, whichever the scan meets first
	# in directory order, which depends on the filesystem's hash seed
	ti=$(stat -c %i "$M/vs/$T/$P")
	is "$(stat -c %i "$M/vs/$T/${P}5.36.0")" "$ti" "vu-$fl: $T's perl and perl5.36.0 are still one inode"
	rn=$(stat -c %i "$M/vs/$R/$P" "$M/vs/$R/${P}5.36.0" 2>/dev/null | grep -cx "$ti")
	[ "$rn" -ge 1 ]
	ok $? "vu-$fl: that inode is $R's (its perl, or its perl5.36.0)"
	is "$(grep -c '"reason":"\(immutable\|changed\)"' "$W/vu-$fl.out")" 0 \
		"vu-$fl: no name skipped as immutable or changed"
done

# vhashify over g1, g2 (dpkg-deb -x) and g3 (cp -a)
runs vh "$VHASHIFY" --json --flags=legacy $NP --manually --destination "$M/.hash" -- \
	"$M/vs/g1" "" "$M/vs/g2" "" "$M/vs/g3" ""
py compare "$W/vh.dry.out" "$W/vh.out" "$W/vh.before" "$W/vh.after" "$M" vs/g1 vs/g2 vs/g3
is "$(stat -c %i "$M/vs/g3/${P}5.36.0")" "$(stat -c %i "$M/vs/g1/$P")" \
	"vh: g3's perl5.36.0 and g1's perl are one inode"
grep -q '"event":"summary".*"protected":[1-9]' "$W/vh.dry.out"
ok $? "vh: the dry run's summary announces its flag changes"
urun vh2 "$VHASHIFY" -n --flags=legacy $NP --manually --destination "$M/.hash" -- \
	"$M/vs/g1" "" "$M/vs/g2" "" "$M/vs/g3" ""
grep -q 'would link 0 names' "$W/vh2.out" "$W/vh2.err"
ok $? "vh: a dry run after the run would link nothing"
rc_is vh2 0 "vh: a dry run after the run: nothing would change"

# undo: the pairs are one inode again, with their content
for tag in vh vu-legacy vu-immutable; do
	urun "u-$tag" "$VAUDIT" --undo "$W/$tag.journal" "$M"
	rc_is "u-$tag" 0 "vaudit --undo of $tag"
done
for g in t1 t2 g1 g2 g3; do
	is "$(stat -c %i:%h "$M/vs/$g/$P")" "$(stat -c %i "$M/vs/$g/${P}5.36.0"):2" \
		"after the undos: $g's perl and perl5.36.0 are one inode of two names again"
	is "$(sha256sum <"$M/vs/$g/${P}5.36.0")" "$SUM" "after the undos: $g's perl5.36.0 has its content"
done
for g in r1 r2; do
	is "$(lsattr "$M/vs/$g/$P" | cut -d' ' -f1 | tr -cd i)" "" "after the undos: $g's perl is not immutable"
done
no_tmp "$M" "after the undos"
done_testing
