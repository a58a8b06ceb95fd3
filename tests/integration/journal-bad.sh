#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# journal-bad.sh - damaged and foreign journals given to vaudit --undo and
# --resume (--image) must stop before changing anything: exit 2, exactly
# one line on stderr naming the journal file, the image unchanged (sha256).
#
#   empty file, a wrong header line (valid crc), an unknown version, a bad
#   crc on a line in the middle, a junk record in the middle (valid crc), an
#   intent with missing fields (valid crc), binary garbage, a missing file,
#   the UUID of another filesystem in the header, the right journal on an
#   image whose UUID differs (tune2fs -U), an image journal without --image
#
# A bad crc on the last line only is a torn record: ignored with a warning,
# the undo completes (every inode back to its old state).  --fix --journal
# FILE refuses an existing FILE (exit 2, nothing changed).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd tune2fs sha256sum
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

img=$(make_fixture ext4 --v26 --size 16) && set_generations "$img" || bail_out "cannot build the fixture"
dump "$img" "$W/before.json"
cp --sparse=always -- "$img" "$W/exists.img"
J=$W/good.journal
vrun fix --fix --image "$img" --prefix /vservers --journal "$J"
rc_in "$RC" 0 "--fix --image to make a journal" || bail_out "no journal to damage: $(head -c 500 "$W/fix.err")"
nlines=$(grep -c '' "$J")
[ "$nlines" -ge 5 ]
ok $? "the journal has records ($nlines lines)"
sumA=$(img_sum "$img")

bad_case() { # HOW [extra mangle args]
	local how=$1 bad=$W/bad-$1.journal mode
	shift
	python3 "$FT" mangle "$how" "$J" "$bad" "$@"
	for mode in undo resume; do
		vrun "bad-$mode" "--$mode" "$bad" --image "$img"
		is "$RC" 2 "$how journal: --$mode exits 2"
		one_line_naming "$bad" "bad-$mode" "$how journal: --$mode"
		is "$(img_sum "$img")" "$sumA" "$how journal: --$mode changes nothing"
	done
}
bad_case empty
bad_case header
bad_case version
bad_case badcrc-middle --line 3
bad_case garbage-middle --line 3
bad_case fields-middle --line 3
bad_case binary
bad_case uuid

for mode in undo resume; do
	vrun "miss-$mode" "--$mode" "$W/no-such.journal" --image "$img"
	is "$RC" 2 "missing journal: --$mode exits 2"
	one_line_naming "$W/no-such.journal" "miss-$mode" "missing journal: --$mode"
done
is "$(img_sum "$img")" "$sumA" "missing journal: nothing changed"

# the right journal, an image of another filesystem (same tree, new UUID)
other=$W/other.img
cp --sparse=always -- "$img" "$other"
e2fsck -fp -- "$other" >/dev/null 2>&1
tune2fs -U 11111111-2222-3333-4444-555555555555 "$other" >/dev/null 2>&1
is "$(img_uuid "$other")" 11111111-2222-3333-4444-555555555555 "tune2fs -U on a copy"
sumO=$(img_sum "$other")
for mode in undo resume; do
	cp -- "$J" "$W/uuid-$mode.journal"
	vrun "uuid-$mode" "--$mode" "$W/uuid-$mode.journal" --image "$other"
	is "$RC" 2 "journal of another filesystem (UUID differs): --$mode exits 2"
	one_line_naming "$W/uuid-$mode.journal" "uuid-$mode" "journal of another filesystem: --$mode"
	is "$(img_sum "$other")" "$sumO" "journal of another filesystem: --$mode changes nothing"
done

# an image journal without --image
cp -- "$J" "$W/noimg.journal"
vrun noimg --undo "$W/noimg.journal"
is "$RC" 2 "an image journal without --image: exit 2"
is "$(img_sum "$img")" "$sumA" "an image journal without --image: nothing changed"

# an existing --journal file is refused
: >"$W/exists.journal"
sumE=$(img_sum "$W/exists.img")
vrun exists --fix --image "$W/exists.img" --prefix /vservers --journal "$W/exists.journal"
is "$RC" 2 "--fix --journal FILE with an existing FILE: exit 2"
is "$(img_sum "$W/exists.img")" "$sumE" "--fix --journal FILE with an existing FILE: nothing changed"
is "$(wc -c <"$W/exists.journal")" 0 "--fix --journal FILE with an existing FILE: the file is left alone"

# a bad crc on the last line only: a torn record, ignored with a warning
python3 "$FT" mangle badcrc-last "$J" "$W/lastbad.journal"
vrun lastbad --undo "$W/lastbad.journal" --image "$img"
rc_in "$RC" 0 "bad crc on the last line: --undo goes on"
grep -qi 'warn\|crc\|checksum\|torn\|truncat\|ignor' "$W/lastbad.err"
ok $? "bad crc on the last line: a warning on stderr" || diag "stderr: $(head -c 500 "$W/lastbad.err" | cat -v)"
dump "$img" "$W/after.json"
py_checks python3 "$FT" compare --before "$W/before.json" --after "$W/after.json" --want old \
	--label "bad crc on the last line: after --undo"

done_testing
