#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# completion.sh - the shell completion of contrib/completion: bash's
# completion functions driven as bash-completion drives them (COMP_WORDS,
# COMP_CWORD, the function `complete -p` names), in a shell that has
# loaded bash-completion and our file, with the built programs first in
# PATH.  Expected words come from the programs' own --help and
# --list-kinds, from the guests this test configures, and from the files it
# makes; the zsh file must parse.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_vaudit
BC=/usr/share/bash-completion/bash_completion
[ -r "$BC" ] || skip_all "bash-completion is not installed ($BC)"
SCRIPT=$top_srcdir/contrib/completion/vaudit.bash
W=$TEST_TMP
export PATH="$top_builddir:$PATH"

# comp WORD...: the completions of the last WORD of the command line WORD...
comp() {
	bash --norc --noprofile -c '
		. "$1" >/dev/null 2>&1
		. "$2"
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		fn=$(complete -p "${COMP_WORDS[0]}" 2>/dev/null | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
		[ -n "$fn" ] || exit 3
		"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' bash "$BC" "$SCRIPT" "$@" | sort -u
}

# has LIST WORD...: every WORD is a line of LIST
has() {
	local list=$1 w
	shift
	for w; do grep -qxF -- "$w" <<<"$list" || return 1; done
}

specs=$(bash --norc --noprofile -c '. "$1" >/dev/null 2>&1; . "$2"; complete -p' bash "$BC" "$SCRIPT")
for p in vaudit vunify vhashify vmount vclone vcopy; do
	grep -qE -- "^complete -F _vaudit[a-z_]* $p\$" <<<"$specs"
	ok $? "$p: a completion function is registered (complete -p $p)"
done

# options: every long option at the start of a --help line
want=$(vaudit --help | sed -n 's/^  *\(-[a-zA-Z0-9], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*$/\2/p' | sort -u)
got=$(comp vaudit --)
missing=$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))
is "$missing" "" "vaudit --<Tab>: every long option of vaudit --help ($(grep -c '' <<<"$want"))"
is "$(comp vaudit --onl)" "--only" "vaudit --onl<Tab>: --only"

# kinds: from --list-kinds, the last item of a comma list
kinds=$(vaudit --list-kinds | awk '{print $1}')
is "$(comp vaudit --only legacy-)" "$(grep '^legacy-' <<<"$kinds" | sort)" \
	"vaudit --only legacy-<Tab>: the legacy-* kinds of --list-kinds"
is "$(comp vaudit --skip cow,shared-se)" "cow,shared-secret" "vaudit --skip cow,shared-se<Tab>: cow,shared-secret"
is "$(comp vaudit --fail-on w)" "warning" "vaudit --fail-on w<Tab>: warning"

# journals: *.journal files (and directories to go on)
mkdir -p "$W/j/sub" && : >"$W/j/a.journal" && : >"$W/j/b.txt"
got=$(comp vaudit --undo "$W/j/")
has "$got" "$W/j/a.journal" && ! grep -q 'b\.txt' <<<"$got"
ok $? "vaudit --undo DIR/<Tab>: the .journal file, not the others" || diag "$got"

# guests: vaudit --list --json of the --host-root given before
H=$W/host
mkdir -p "$H/etc/vservers/alpha" "$H/etc/vservers/beta" "$H/vservers/alpha" "$H/vservers/beta" &&
	ln -s /vservers/alpha "$H/etc/vservers/alpha/vdir" && ln -s /vservers/beta "$H/etc/vservers/beta/vdir"
is "$(comp vunify --host-root "$H" '')" "$(printf 'alpha\nbeta')" \
	"vunify --host-root H <Tab>: the guests of H's configuration"
is "$(comp vhashify --host-root "$H" -n a)" "alpha" "vhashify --host-root H -n a<Tab>: alpha"
is "$(comp vaudit --host-root "$H" --convert-legacy b)" "beta" "vaudit --convert-legacy b<Tab>: beta"

# vclone SRC DST: the guests of the configuration, and directories
got=$(comp vclone --host-root "$H" '')
has "$got" alpha beta && ! grep -q '^-' <<<"$got"
ok $? "vclone --host-root H <Tab>: the guests of H's configuration" || diag "$got"
mkdir -p "$W/cl/dst" && : >"$W/cl/file"
is "$(comp vcopy "$W/cl/")" "$W/cl/dst" "vcopy DIR/<Tab>: the directory, not the file"
is "$(comp vclone --flags im)" "immutable" "vclone --flags im<Tab>: immutable"
is "$(comp vclone --tag-scheme '')" "$(printf 'gid16\nid24\nuid16')" \
	"vclone --tag-scheme <Tab>: the schemes it can write"

# vmount CONFIG GUESTDIR: a file, then a directory
mkdir -p "$W/v/gdir" && : >"$W/v/conf"
has "$(comp vmount "$W/v/c")" "$W/v/conf"
ok $? "vmount <Tab>: the configuration file"
got=$(comp vmount "$W/v/conf" "$W/v/")
has "$got" "$W/v/gdir" && ! grep -qx "$W/v/conf" <<<"$got"
ok $? "vmount CONFIG <Tab>: directories only" || diag "$got"

# zsh: the file parses
if command -v zsh >/dev/null; then
	zsh -n "$top_srcdir/contrib/completion/_vaudit"
	ok $? "zsh -n _vaudit: it parses"
else
	skip "zsh -n _vaudit" "zsh is not installed"
fi

done_testing
