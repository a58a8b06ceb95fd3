# bash completion for vaudit, vunify, vhashify, vmount, vclone and vcopy    -*- shell-script -*-
#
# Installed as one file per program in bash-completion's completions
# directory (loaded on demand).  Options come from each program's --help
# (_parse_help), so they follow the program; kinds from vaudit
# --list-kinds, guest names from vaudit --list --json (with the
# --config/--host-root already on the command line), journals from
# /var/lib/vaudit.

# The --config and --host-root options already on the command line, with
# their values, one word per line (for vaudit --list); nothing when none.
_vaudit_cfg_args()
{
	local i
	for ((i = 1; i < ${#words[@]} - 1; i++)); do
		case ${words[i]} in
		--config | --host-root)
			printf '%s\n%s\n' "${words[i]}" "${words[i + 1]}"
			;;
		--config=* | --host-root=*)
			printf '%s\n' "${words[i]}"
			;;
		esac
	done
}

# Guest names of the configuration, for COMPREPLY.
_vaudit_guests()
{
	local -a args
	mapfile -t args < <(_vaudit_cfg_args)
	COMPREPLY+=($(compgen -W "$(vaudit --list --json "${args[@]}" 2>/dev/null |
		sed -n 's/^.*"record":"guest".*"name":"\([^"\\]*\)".*$/\1/p')" -- "$cur"))
}

# Journals: files named *.journal, and those of /var/lib/vaudit.
_vaudit_journals()
{
	_filedir journal
	[[ $cur == */* ]] ||
		COMPREPLY+=($(compgen -G "/var/lib/vaudit/${cur}*.journal" 2>/dev/null))
}

# An option being typed: the long options of PROGRAM --help.  Return: 0
# when the word is an option (COMPREPLY set), 1 otherwise.
_vaudit_options()
{
	[[ $cur == -* ]] || return 1
	COMPREPLY=($(compgen -W '$(_parse_help "$1")' -- "$cur"))
	[[ ${COMPREPLY-} == *= ]] && compopt -o nospace 2>/dev/null
	return 0
}

# A comma-separated list of kinds: complete its last item.
_vaudit_kinds()
{
	local prefix=
	[[ $cur == *,* ]] && prefix=${cur%,*},
	COMPREPLY=($(compgen -P "$prefix" -W "$(vaudit --list-kinds 2>/dev/null |
		awk '{print $1}')" -- "${cur##*,}"))
	compopt -o nospace 2>/dev/null
}

_vaudit()
{
	local cur prev words cword split
	_init_completion -s || return

	case $prev in
	--only | --skip)
		_vaudit_kinds
		return
		;;
	--undo | --resume | --show)
		_vaudit_journals
		return
		;;
	--fail-on)
		COMPREPLY=($(compgen -W 'error warning never' -- "$cur"))
		return
		;;
	--config | --host-root)
		_filedir -d
		return
		;;
	--image | --plan | --journal | --script | --attrs | --prometheus)
		_filedir
		return
		;;
	--prefix | --tag-scheme | --barrier-mode | --size | --convert-legacy | --prune)
		[[ $prev == --convert-legacy ]] && _vaudit_guests
		return
		;;
	esac
	$split && return

	_vaudit_options "$1" && return
	_filedir -d
} &&
	complete -F _vaudit vaudit

# vunify GUEST, vhashify GUEST..., and their --manually paths
_vaudit_unify()
{
	local cur prev words cword split
	_init_completion -s || return

	case $prev in
	--config | --host-root | --destination)
		_filedir -d
		return
		;;
	--journal)
		_filedir journal
		return
		;;
	--flags)
		COMPREPLY=($(compgen -W 'auto v26 legacy' -- "$cur"))
		return
		;;
	esac
	$split && return

	_vaudit_options "$1" && return
	local w
	for w in "${words[@]}"; do
		case $w in --manually | --revert | -R)
			_filedir
			return
			;;
		esac
	done
	_vaudit_guests
} &&
	complete -F _vaudit_unify vunify vhashify

# vclone SRC DST, vcopy DST SRC: a configured guest or a directory, then a
# directory; exclude lists, stores and journals as files
_vaudit_clone()
{
	local cur prev words cword split
	_init_completion -s || return

	case $prev in
	--config | --host-root | --store)
		_filedir -d
		return
		;;
	--exclude)
		_filedir
		return
		;;
	--journal)
		_filedir journal
		return
		;;
	--flags)
		COMPREPLY=($(compgen -W 'auto v26 legacy immutable none' -- "$cur"))
		return
		;;
	--tag-scheme)
		# the schemes vclone can write (intern and none are refused)
		COMPREPLY=($(compgen -W 'id24 gid16 uid16' -- "$cur"))
		return
		;;
	--xid)
		return
		;;
	esac
	$split && return

	_vaudit_options "$1" && return
	_vaudit_guests
	_filedir -d
} &&
	complete -F _vaudit_clone vclone vcopy

# vmount CONFIG GUESTDIR: configurations from /etc/vmount, then a directory
_vaudit_vmount()
{
	local cur prev words cword
	_init_completion || return

	_vaudit_options "$1" && return
	local i nargs=0
	for ((i = 1; i < cword; i++)); do
		[[ ${words[i]} == -* ]] || ((nargs++))
	done
	if ((nargs == 0)); then
		_filedir
		[[ $cur == */* ]] ||
			COMPREPLY+=($(compgen -G "/etc/vmount/${cur}*" 2>/dev/null))
	else
		_filedir -d
	fi
} &&
	complete -F _vaudit_vmount vmount

# ex: filetype=sh
