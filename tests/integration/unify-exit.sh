#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-exit.sh - the exit status of vunify and vhashify (vunify(8),
# vhashify(8), EXIT STATUS), on a loop-mounted ext4 image made here:
#
#   dry run    exit 1 when a file would be linked (or reverted), and nothing
#              changes on disk (find -printf '%i %n' of every name is the
#              same before and after); exit 0 once there is nothing to do
#   real run   exit 0, the dry run's names share one inode afterwards
#   --json     the summary of a dry run says dry_run true, changed false
#   ns         two sets of one content whose mtimes differ in the
#              nanoseconds: an entry each, the real run does what the dry
#              run said, a second run changes nothing
#   errors     a directory that cannot be read (its extents flag cleared
#              with debugfs on the unmounted image: the kernel cannot list
#              it) makes a dry run that would link other files exit 2, not 1
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs losetup mount umount timeout find cmp debugfs
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

IMG=$(mkimage exit ext4 64) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
H=$M/.hash
mkdir -p "$H" && chmod 700 "$H"

# pair A B: two guests with the same two files (content, mode, owner,
# times), and one file of its own each
pair() {
	local a=$M/vs/$1 b=$M/vs/$2
	mkdir -p "$a/usr/lib" "$a/etc" &&
		head -c 20000 /dev/urandom >"$a/usr/lib/libsame.so" &&
		head -c 3000 /dev/urandom >"$a/etc/same.conf" &&
		head -c 5000 /dev/urandom >"$a/etc/own.conf" &&
		cp -a -- "$a" "$b" &&
		head -c 5000 /dev/urandom >"$b/etc/own.conf"
}

# inodes: inode and link count of every name on the image
inodes() {
	find "$M" -path "$M/lost+found" -prune -o -printf '%P %i %n\n' | sort
}

# shares A B: the two identical files of A and B are one inode each
shares() {
	local f n=0
	for f in usr/lib/libsame.so etc/same.conf; do
		[ "$(stat -c %i -- "$M/vs/$1/$f")" = "$(stat -c %i -- "$M/vs/$2/$f")" ] && n=$((n + 1))
	done
	echo "$n"
}

# summary TAG KEY: the value of KEY in the --json summary of TAG
summary() {
	tail -n 1 "$W/$1.out" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[sys.argv[1]]))' "$2"
}

# dry TAG WANT DESC CMD...: a dry run of CMD exits WANT and changes nothing
dry() {
	local tag=$1 want=$2 desc=$3 before
	shift 3
	before=$(inodes)
	urun "$tag" "$@"
	rc_is "$tag" "$want" "$desc"
	is "$(inodes)" "$before" "$desc: nothing changed on disk (find -printf '%i %n')"
}

pair t1 r1 && pair g1 g2 && pair e1 e2 && pair f1 f2 && mkdir -p "$M/vs/e1/bad" "$M/vs/f1/bad" &&
	head -c 4000 /dev/urandom >"$M/vs/e1/bad/file" && head -c 4000 /dev/urandom >"$M/vs/f1/bad/file"
ok $? "four pairs of guests with identical files on a fresh ext4 image" || bail_out "cannot build the guests"
# e1/bad and f1/bad: their extents flag cleared on the unmounted image, the
# kernel then reads their block map as garbage and cannot list them
unmount_keep "$M" &&
	run_debugfs -w -R "set_inode_field /vs/e1/bad flags 0" -- "$IMG" >/dev/null 2>&1 &&
	run_debugfs -w -R "set_inode_field /vs/f1/bad flags 0" -- "$IMG" >/dev/null 2>&1 &&
	M=$(mount_fixture "$IMG") && H=$M/.hash
ok $? "e1/bad and f1/bad made unreadable (debugfs), the image mounted again" || bail_out "cannot damage the image"
! ls -- "$M/vs/e1/bad" >/dev/null 2>&1 && ! ls -- "$M/vs/f1/bad" >/dev/null 2>&1
ok $? "(ls cannot list them either)"
is "$(shares t1 r1)$(shares g1 g2)" 00 "before: no name of a pair shares its inode"

# ------------------------------------------------------------------ vunify
VU=("$VUNIFY" "$FL" "$NP")
dry vu-dry 1 "vunify -n on two guests with identical files (it would link)" \
	"${VU[@]}" -n --manually -- "$M/vs/t1" "" "$M/vs/r1" ""
is "$(grep -c '^would link ' "$W/vu-dry.out")" 2 "vunify -n: two 'would link' lines"
dry vu-json 1 "vunify -n --json (it would link)" \
	"${VU[@]}" -n --json --manually -- "$M/vs/t1" "" "$M/vs/r1" ""
is "$(summary vu-json dry_run) $(summary vu-json linked) $(summary vu-json changed)" "true 2 false" \
	"vunify -n --json: the summary says dry_run true, linked 2, changed false"

urun vu-run "${VU[@]}" --journal "$W/vu.journal" --manually -- "$M/vs/t1" "" "$M/vs/r1" ""
rc_is vu-run 0 "vunify (the real run)"
is "$(shares t1 r1)" 2 "vunify: the two identical files of t1 are r1's inodes"

dry vu-again 0 "vunify -n after the run (nothing would change)" \
	"${VU[@]}" -n --manually -- "$M/vs/t1" "" "$M/vs/r1" ""
grep -q 'would link 0 names' "$W/vu-again.out"
ok $? "vunify -n after the run: 'would link 0 names'" || diag "$(cat "$W/vu-again.out")"
urun vu-real2 "${VU[@]}" --journal "$W/vu2.journal" --manually -- "$M/vs/t1" "" "$M/vs/r1" ""
rc_is vu-real2 0 "vunify again, for real, with nothing to do"

dry vu-revert 1 "vunify -R -n (it would revert)" \
	"${VU[@]}" -R -n --manually -- "$M/vs/t1" "" "$M/vs/r1" ""
urun vu-undo "$VAUDIT" --undo "$W/vu.journal" "$M"
rc_is vu-undo 0 "vaudit --undo of the vunify journal"
is "$(shares t1 r1)" 0 "after --undo: t1 has its own inodes again"

# ------------------------------------------------------------------ vhashify
VH=("$VHASHIFY" "$FL" "$NP")
dry vh-dry 1 "vhashify -n on two guests with identical files (it would link)" \
	"${VH[@]}" -n --manually --destination "$H" -- "$M/vs/g1" "" "$M/vs/g2" ""
is "$(grep -c '^would link ' "$W/vh-dry.out")" 4 "vhashify -n: four 'would link' lines"
dry vh-json 1 "vhashify -n --json (it would link)" \
	"${VH[@]}" -n --json --manually --destination "$H" -- "$M/vs/g1" "" "$M/vs/g2" ""
is "$(summary vh-json dry_run) $(summary vh-json linked) $(summary vh-json stored) $(summary vh-json changed)" \
	"true 4 2 false" "vhashify -n --json: the summary says dry_run true, linked 4, stored 2, changed false"

urun vh-run "${VH[@]}" --journal "$W/vh.journal" --manually --destination "$H" -- "$M/vs/g1" "" "$M/vs/g2" ""
rc_is vh-run 0 "vhashify (the real run)"
is "$(shares g1 g2)" 2 "vhashify: the identical files of g1 and g2 share one inode each"

dry vh-again 0 "vhashify -n after the run (nothing would change)" \
	"${VH[@]}" -n --manually --destination "$H" -- "$M/vs/g1" "" "$M/vs/g2" ""
grep -q 'would link 0 names' "$W/vh-again.out"
ok $? "vhashify -n after the run: 'would link 0 names'" || diag "$(cat "$W/vh-again.out")"
dry vh-again-json 0 "vhashify -n --json after the run (nothing would change)" \
	"${VH[@]}" -n --json --manually --destination "$H" -- "$M/vs/g1" "" "$M/vs/g2" ""
is "$(summary vh-again-json linked) $(summary vh-again-json stored) $(summary vh-again-json protected)" "0 0 0" \
	"vhashify -n --json after the run: linked, stored, protected 0"

dry vh-revert 1 "vhashify --revert -n (it would revert)" \
	"${VH[@]}" --revert -n --destination "$H" -- "$M/vs/g1"
urun vh-undo "$VAUDIT" --undo "$W/vh.journal" "$M"
rc_is vh-undo 0 "vaudit --undo of the vhashify journal"

# ------------------------------------------------------------------ an error wins over "would link"
# e1/bad (f1/bad) cannot be read; the rest of e1 and e2 (f1, f2) would link
dry vu-err 2 "vunify -n with a directory that cannot be read (an error, though other files would link)" \
	"${VU[@]}" -n --manually -- "$M/vs/e1" "" "$M/vs/e2" ""
grep -q "^vunify: '$M/vs/e1/bad': " "$W/vu-err.err"
ok $? "vunify -n: the error names the directory" || diag "$(head -c 600 "$W/vu-err.err")"
is "$(grep -c '^would link ' "$W/vu-err.out")" 2 "vunify -n: the other files would still be linked"

dry vh-err 2 "vhashify -n with a directory that cannot be read (an error, though other files would link)" \
	"${VH[@]}" -n --json --manually --destination "$H" -- \
	"$M/vs/f1" "" "$M/vs/f2" ""
grep -q "^vhashify: '$M/vs/f1/bad': " "$W/vh-err.err"
ok $? "vhashify -n: the error names the directory" || diag "$(head -c 600 "$W/vh-err.err")"
is "$(summary vh-err failed) $(summary vh-err linked)" "1 4" \
	"vhashify -n --json: the summary counts 1 failed and 4 names it would link"
grep -q '"record":"error"' "$W/vh-err.out"
ok $? "vhashify -n --json: an error record"

# ------------------------------------------------------------------ one content, two nanoseconds
# n1/log, n2/log (one time) and n1/kern, n2/kern (another time in the same
# second, another ns), all of one content: the logs of two guests written
# in two ticks.  Files whose times differ in the nanoseconds are not linked
# to each other: each time makes its own store entry, numbered -00000000
# and -00000001, in the dry run as in the real run, and a second run
# leaves the names on their entries (vhashify(8), The hash store).
mkdir -p "$M/vs/n1" "$M/vs/n2" && for g in n1 n2; do
	printf 'Dec  7 06:25:01 host CRON[1]: (root) CMD (run)\n' >"$M/vs/$g/log" &&
		cp "$M/vs/$g/log" "$M/vs/$g/kern" &&
		touch -d '2026-12-07 06:25:01.100000000' "$M/vs/$g/log" &&
		touch -d '2026-12-07 06:25:01.200000000' "$M/vs/$g/kern"
done
ok $? "two guests, each with two files of one content whose mtimes differ in the nanoseconds"
NS=(-v -v --manually --destination "$H" -- "$M/vs/n1" "" "$M/vs/n2" "")
dry ns-dry 1 "vhashify -n on them (it would link)" "${VH[@]}" -n "${NS[@]}"
urun ns-run "${VH[@]}" --journal "$W/ns.journal" "${NS[@]}"
rc_is ns-run 0 "vhashify on them (the real run)"
is "$(grep -E '^(store|link|skip) ' "$W/ns-run.out" | sort)" \
	"$(grep -E '^would (store|link)|^skip ' "$W/ns-dry.out" | sed 's/^would //' | sort)" \
	"the real run stores and links what the dry run said, nothing skipped"
is "$(grep '^store ' "$W/ns-run.out" | sed -E 's/.*-(0000000[01]) <- .*\/(n[12]\/[a-z]+)$/\1/' | sort | tr '\n' ' ')" \
	"00000000 00000001 " "two store entries of one digest, numbered 0 and 1"
is "$(stat -c %i -- "$M/vs/n1/log" "$M/vs/n2/log" | sort -u | wc -l):$(stat -c %i -- "$M/vs/n1/kern" "$M/vs/n2/kern" | sort -u | wc -l):$(stat -c %i -- "$M/vs/n1/log" "$M/vs/n1/kern" | sort -u | wc -l)" \
	"1:1:2" "the logs are one inode, the kerns another: no name changed its time"
dry ns-again 0 "vhashify -n once more: nothing would change (the names stay on their entries)" "${VH[@]}" -n "${NS[@]}"
grep -q '4 already shared' "$W/ns-again.out"
ok $? "the second dry run counts the four names as already shared"

# (find's complaints about the two damaged directories are left out)
left=$(find "$M" -name '*;??????' 2>/dev/null | head -5)
is "$left" "" "after every run: no temporary names (find -name '*;??????' is empty)"
done_testing
