#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-bigset.sh - a set of identical files larger than one batch of the
# engine is linked whole: vhashify runs under ulimit -n 1024, where a batch
# (one journal fsync) may hold 416 fds (half of what is left beside 192
# for the trees, the journal and the readers; the closing thread holds
# the other half), one a name, one a directory and four a master, and
# 1300 copies of one licence text in three guests take four batches; a
# small twin set beside it.  The dry run, under the same limit, promises
# what the run does.  Ground truth from the fixture: every copy ends on
# one inode with the store entry (nlink 1301), protected, content
# unchanged; undo gives every name its own inode back.  Then vcopy under
# ulimit -n 512 links 1,500 names of DST to as many files of SRC.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd mke2fs chattr losetup mount umount mountpoint cmp find stat
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

IMG=$(mkimage bigset ext4 128 32768) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
mkdir -p "$M/.hash" "$M/g1/doc" "$M/g2/doc" "$M/g3/doc"
head -c 3000 /dev/urandom >"$W/licence"
touch -d @1000000000 "$W/licence"
for g in g1 g2 g3; do
	for i in $(seq 1 433); do
		cp -p "$W/licence" "$M/$g/doc/copyright$i"
	done
done
cp -p "$W/licence" "$M/g1/doc/extra"      # 3 * 433 + 1 = 1300 names
head -c 500 /dev/urandom >"$M/g1/other"
cp -p "$M/g1/other" "$M/g2/other"

J=$W/bigset.journal
(ulimit -n 1024 && exec "$VHASHIFY" -n --json --manually --destination "$M/.hash" --flags=immutable --no-progress \
	"$M/g1" "" "$M/g2" "" "$M/g3" "") >"$W/dry.json" 2>"$W/dry.err"
is $? 1 "vhashify -n over 1300 identical names exits 1: it would change something (ulimit -n 1024)"
dry_counts=$(grep '"record":"summary"' "$W/dry.json" | grep -o '"\(linked\|stored\|protected\)":[0-9]*' | tr '\n' ' ')
is "$(grep -c '"event":"protect"' "$W/dry.json")" 8 "the dry run announces 8 flag changes"
is "$(grep '"event":"protect"' "$W/dry.json" | grep -vc '"path":"'"$M"'/.hash/')" 0 \
	"... each on a store entry's path, also in the batches after the one that would make the entry"
(ulimit -n 1024 && exec "$VHASHIFY" --manually --destination "$M/.hash" --flags=immutable --no-progress \
	--journal "$J" "$M/g1" "" "$M/g2" "" "$M/g3" "") >"$W/out" 2>"$W/err"
ok $? "vhashify over 1300 identical names exits 0 (ulimit -n 1024)"
is "$(find "$M/g1" "$M/g2" "$M/g3" -name 'copyright*' -o -name extra | xargs stat -c %i | sort -u | wc -l)" 1 \
	"all 1300 names share one inode"
is "$(stat -c %h "$M/g1/doc/extra")" 1301 "that inode has 1301 names (the store entry too)"
is "$(find "$M/.hash" -type f ! -name method -inum "$(stat -c %i "$M/g1/doc/extra")" | wc -l)" 1 \
	"one store entry names it"
is "$(lsattr -d "$M/g1/doc/extra" | cut -c5)" i "it is immutable (--flags=immutable)"
cmp -s "$W/licence" "$M/g3/doc/copyright433"
ok $? "content unchanged"
is "$(stat -c %i "$M/g1/other")" "$(stat -c %i "$M/g2/other")" "the small set beside it is linked too"
grep -q "^vhashify: 1302 names linked, .*, 2 new store entries, 8 flag changes$" "$W/out"
ok $? "the summary counts every name (1300 + 2), 2 entries, 8 flag changes (the big set's entry protected, then lifted and protected again around each of the three batches after the first): $(grep "names linked" "$W/out")"
is "$dry_counts" '"linked":1302 "stored":2 "protected":8 ' "the dry run promised what the run did"
no_tmp "$M" "after vhashify"

"$VAUDIT" --undo "$J" "$M" >"$W/undo.out" 2>"$W/undo.err"
ok $? "vaudit --undo exits 0"
is "$(find "$M/g1" "$M/g2" "$M/g3" -type f | xargs stat -c '%h %i' | sort -u | awk '$1 != 1' | wc -l)" 0 \
	"after undo every name has its own inode"
is "$(find "$M/g1" "$M/g2" "$M/g3" -type f | xargs stat -c %i | sort | uniq -d | wc -l)" 0 \
	"no two names share an inode"
cmp -s "$W/licence" "$M/g2/doc/copyright7"
ok $? "content unchanged after undo"
no_tmp "$M" "after undo"

# vcopy under ulimit -n 512: its linking step gives every name a master
# of its own (the same path in SRC) and keeps the trees' fds open beside
# the batch's and the closing thread's: 1,500 names in batches that fit
: "${VCOPY:=$top_builddir/vcopy}"
mkdir -p "$M/r1/lib" "$M/r2"
for i in $(seq 1 1500); do
	printf 'library %05d with some padding to pass sixteen bytes\n' "$i" >"$M/r1/lib/l$i.so"
done
cp -a "$M/r1/." "$M/r2/"
J2=$W/vcopy.journal
(ulimit -n 512 && exec "$VCOPY" --flags=none --no-progress --journal "$J2" "$M/r2" "$M/r1") \
	>"$W/vc.out" 2>"$W/vc.err"
ok $? "vcopy of 1500 files identical in DST and SRC exits 0 (ulimit -n 512)" ||
	diag "$(head -3 "$W/vc.err")"
is "$(grep -c 'Too many open files' "$W/vc.err")" 0 "... no 'Too many open files'"
pairs=0
for i in $(seq 1 1500); do
	[ "$(stat -c %i "$M/r1/lib/l$i.so")" = "$(stat -c %i "$M/r2/lib/l$i.so")" ] && pairs=$((pairs + 1))
done
is "$pairs" 1500 "every one of the 1500 names of DST shares SRC's inode"
"$VAUDIT" --undo "$J2" "$M" >"$W/undo2.out" 2>"$W/undo2.err"
ok $? "vaudit --undo of the vcopy journal exits 0"
is "$(find "$M/r1" "$M/r2" -type f | xargs stat -c %h | sort -u)" 1 "after undo every name has its own inode"
done_testing
