#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/layers.sh - the dependency direction holds: no file includes a
# header of a higher layer.
#
#   core/                     0  what every part shares (no vaudit header above it)
#   audit/                    1  the checks
#   migrate/ (the journal)    2  the journal the engines write
#   migrate/repair/           3  the repair engine   } none includes
#   migrate/unify/            3  the unify engine    } another
#   migrate/convert/          3  legacy conversion   }
#   migrate/clone/            3  vclone              }
#   tui/                      4  the console
#   cli/                      5  the programs and their command-line kit
#
# One TAP line per source file; a failure names the include and its line.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/..}/tests/lib.sh"

cd -- "$top_srcdir" || bail_out "cannot enter $top_srcdir"

# layer FILE-OR-HEADER -> "RANK NAME" (nothing for a file of no layer)
layer() {
	case $1 in
	core/*)           echo "0 core" ;;
	audit/*)          echo "1 audit" ;;
	migrate/repair/*) echo "3 repair" ;;
	migrate/unify/*)  echo "3 unify" ;;
	migrate/convert/*) echo "3 convert" ;;
	migrate/clone/*)  echo "3 clone" ;;
	migrate/*)        echo "2 journal" ;;
	tui/*)            echo "4 tui" ;;
	cli/*)            echo "5 cli" ;;
	esac
}

files=()
while IFS= read -r f; do
	files+=("$f")
done < <(find core audit migrate tui cli -name '*.[ch]' | LC_ALL=C sort)
[ ${#files[@]} -gt 40 ] || bail_out "only ${#files[@]} source files found below $top_srcdir"

for f in "${files[@]}"; do
	read -r rank name < <(layer "$f")
	bad=()
	while IFS=: read -r line inc; do
		inc=${inc#*\"}
		inc=${inc%\"*}
		read -r irank iname < <(layer "$inc")
		[ -n "$irank" ] || continue
		if [ "$irank" -gt "$rank" ] ||
		   { [ "$irank" -eq "$rank" ] && [ "$iname" != "$name" ]; }; then
			bad+=("$f:$line includes $inc ($iname above or beside $name)")
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
	if [ ${#bad[@]} -eq 0 ]; then
		ok 0 "$f includes nothing above $name"
	else
		for b in "${bad[@]}"; do diag "$b"; done
		ok 1 "$f includes nothing above $name"
	fi
done

# The check itself: a header of a higher layer is caught.
probe=$TEST_TMP/probe.c
printf '#include "core/dbuf.h"\n#include "tui/tui.h"\n' >"$probe"
n=0
while IFS=: read -r _ inc; do
	inc=${inc#*\"}; inc=${inc%\"*}
	read -r irank _ < <(layer "$inc")
	[ "$irank" -gt 1 ] && n=$((n + 1))
done < <(grep -n '#include "' "$probe")
is "$n" 1 "an audit/ file including tui/tui.h would be caught"

done_testing
