# bash completion for vcpuctl                                 -*- shell-script -*-
#
# Commands and options are read from the vcpuctl being completed
# ("vcpuctl --help", "vcpuctl CMD --help"), so they never fall behind the
# binary; the lists below are only the fallback when it cannot be run.
# Installed as $(DATADIR)/bash-completion/completions/vcpuctl.

_vcpuctl_commands_fallback="show count plan set add del wait tune events guest"

_vcpuctl_commands()
{
	local out
	out=$("$1" --help 2>/dev/null |
		sed -n '/^Commands:/,/^$/{ s/^  \([a-z][a-z-]*\) .*/\1/p; }')
	printf '%s\n' "${out:-$_vcpuctl_commands_fallback}"
}

_vcpuctl_options()
{
	"$1" "$2" --help 2>/dev/null |
		grep -oE -- '(^|[ ,])--[a-z][a-z-]*' | sed 's/^[ ,]*//' | sort -u
}

_vcpuctl()
{
	local cur prev prog cmd i opts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	prog=${COMP_WORDS[0]}
	# an unexpanded ~ or a name not on PATH: ask the vcpuctl on PATH
	command -v "$prog" >/dev/null 2>&1 || prog=vcpuctl

	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_vcpuctl_commands "$prog")" -- "$cur"))
		fi
		return 0
	fi

	case $prev in
	-s|--socket|--trace|--guest-agent)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--sched)
		COMPREPLY=($(compgen -W "other batch idle fifo: rr:" -- "$cur"))
		return 0
		;;
	--spread)
		COMPREPLY=($(compgen -W "nodes" -- "$cur"))
		return 0
		;;
	--granularity)
		COMPREPLY=($(compgen -W "socket die module cluster core thread" -- "$cur"))
		return 0
		;;
	esac

	if [[ $cur == --*=* ]]; then
		# --socket=PATH and --trace=FILE: complete the file part
		case ${cur%%=*} in
		--socket|--trace|--guest-agent)
			COMPREPLY=($(compgen -f -- "${cur#*=}"))
			;;
		esac
		return 0
	fi
	if [[ $cur == -* ]]; then
		opts=$(_vcpuctl_options "$prog" "$cmd")
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	fi
	return 0
}

complete -F _vcpuctl vcpuctl
