#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-written.sh - a master written to while its names are linked gets
# no more names: the content linked is the content that was compared.
#
# Four guests hold the same file (cp -a of a file from Debian's
# perl-base package, four inodes).  vhashify --flags=none links them to
# a new store entry, one name after the other.  strace holds the first
# exchange (renameat2) for a few seconds; while it waits, the test
# appends to the store entry, which nothing protects (--flags=none).  The
# names after it must keep their own inodes and content, the run must
# say "its master changed during the run" for each of them, and undo
# must give every name its content back.  Ground truth: cmp against
# copies kept outside the image, stat for inodes and links.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs losetup mount umount strace dpkg-deb cmp stat find timeout
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

perl_base_deb

IMG=$(mkimage written ext4 256) || bail_out "mke2fs failed"
M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
mkdir -p "$M/vs" "$W/deb" "$M/.hash" && chmod 700 "$M/.hash"
dpkg-deb -x "$DEB" "$W/deb" || bail_out "dpkg-deb -x failed"
F=usr/lib/x86_64-linux-gnu/perl-base/Config_heavy.pl
[ -f "$W/deb/$F" ] || F=$(cd "$W/deb" && find usr -type f -size +20k | sort | head -1)
cp -a "$W/deb/$F" "$W/orig"
for g in g1 g2 g3 g4; do
	mkdir -p "$M/vs/$g/$(dirname "$F")" && cp -a "$W/deb/$F" "$M/vs/$g/$F"
done
is "$(stat -c %i "$M"/vs/g?/"$F" | sort -u | wc -l)" 4 "ground truth: four guests hold $F as four inodes (cp -a)"

# The run, its first exchange held for 4 s; the store entry appended to
# as soon as a temporary name shows that a name is being linked.
strace -f -qq -o "$W/strace.out" -e trace=renameat2 -e inject=renameat2:delay_enter=4000000:when=1 \
	"$VHASHIFY" --manually --destination "$M/.hash" --flags=none --json --journal "$W/run.journal" \
	"$M/vs/g1" "" "$M/vs/g2" "" "$M/vs/g3" "" "$M/vs/g4" "" >"$W/run.out" 2>"$W/run.err" </dev/null &
pid=$!
defer "kill -9 $pid 2>/dev/null"
written=
for _ in $(seq 600); do
	tmp=$(find "$M/vs" -name '*;??????' -print -quit)
	if [ -n "$tmp" ]; then
		entry=$(find "$M/.hash" -type f ! -name method -print -quit)
		[ -n "$entry" ] && printf 'written while linked\n' >>"$entry" && written=$entry
		break
	fi
	sleep 0.01
done
wait "$pid"
RC=$?
ok "$([ -n "$written" ]; echo $?)" "the store entry was appended to while the first exchange waited ($tmp)"
grep -q 'RENAME_EXCHANGE' "$W/strace.out"
ok $? "the held call was the exchange (strace: renameat2 with RENAME_EXCHANGE)"
[ "$RC" -le 1 ]
ok $? "vhashify finished (exit $RC, not 2: a changed master is a skip, not an error)"
[ -s "$W/run.err" ] && diag "stderr: $(head -c 600 "$W/run.err")"

# what the filesystem says: the names that kept the content that was compared
same=0 linked=0
for g in g1 g2 g3 g4; do
	cmp -s "$M/vs/$g/$F" "$W/orig" && same=$((same + 1))
	[ "$(stat -c %i "$M/vs/$g/$F")" = "$(stat -c %i "$written")" ] && linked=$((linked + 1))
done
is "$linked" 1 "only the name being exchanged when the master was written shares the store entry"
is "$same" 3 "the other three names keep their own inode with the content that was compared"
is "$(stat -c %h "$written")" 2 "the store entry has two names (the store's and that one guest's)"
# --json: what the run said, one event a line
events() {
	python3 -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") in ("link", "skip"):
        print(e["event"], e.get("reason", "-"), e.get("detail", "-"))' "$W/run.out" | sort | uniq -c | sed 's/^ *//'
}
is "$(events)" "1 link - -
3 skip changed its master changed during the run" \
	"--json: one link event, three skip events (reason changed, detail 'its master changed during the run')"
no_tmp "$M" "after the run"

urun undo "$VAUDIT" --undo "$W/run.journal" "$M"
rc_is undo 0 "vaudit --undo of the run"
same=0
for g in g1 g2 g3 g4; do cmp -s "$M/vs/$g/$F" "$W/orig" && same=$((same + 1)); done
is "$same" 3 "after --undo: the three names that were not linked still have their content"
is "$(stat -c %i "$M"/vs/g?/"$F" | sort -u | wc -l)" 4 "after --undo: four inodes again, one a guest"
no_tmp "$M" "after --undo"

done_testing
