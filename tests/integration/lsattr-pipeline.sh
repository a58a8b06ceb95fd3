#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lsattr-pipeline.sh - vaudit against the old admin recipe for finding 2.4
# unified files:
#
#     lsattr -R /vservers 2>/dev/null | grep -- '----i------t-' | cut -d ' ' -f 2
#
# and against the same recipe adapted to the 22 flag columns of current
# e2fsprogs (i is column 5, t column 13: grep '^....i.......t').  Every
# existing name the pipeline prints must be a legacy-iunlink inode in
# vaudit's output; names the pipeline mangles (spaces, newlines) are
# counted; vaudit must report strictly more (the mangled names, dot files
# that lsattr -R skips, the path longer than PATH_MAX).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 lsattr grep cut chattr losetup

VT=$top_srcdir/tests/integration/vatest.py

img=$(make_fixture ext3)
ok $? "build ext3 fixture" || bail_out "cannot build the fixture"
mnt=$(mount_fixture "$img")
ok $? "mount fixture" || bail_out "cannot mount the fixture"
ROOT=$mnt/vservers
W=$TEST_TMP

lsattr -R "$ROOT" >"$W/lsattr.out" 2>/dev/null
diag "lsattr -R printed $(grep -c '' "$W/lsattr.out") lines; sample: $(grep -m1 -- '^....i.......t' "$W/lsattr.out" | cut -c1-60 | cat -v)"

# the recipe exactly as written in 2004 ...
grep -- '----i------t-' "$W/lsattr.out" | cut -d ' ' -f 2 >"$W/literal.names"
# ... and adapted to today's 22-column flag field
grep -- '^....i.......t' "$W/lsattr.out" | cut -d ' ' -f 2 >"$W/adapted.names"
diag "literal pattern: $(grep -c '' "$W/literal.names") names; adapted: $(grep -c '' "$W/adapted.names") names"

"$VAUDIT" --json "$ROOT" >"$W/vaudit.json" 2>"$W/vaudit.err"
rc=$?
ok $((rc == 1 ? 0 : 1)) "vaudit --json exits 1 (findings), got $rc"

py_checks python3 "$VT" pipeline --root "$ROOT" --json "$W/vaudit.json" \
	--literal "$W/literal.names" --adapted "$W/adapted.names"

done_testing
