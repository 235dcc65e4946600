# bash completion for vcpuctl                                 -*- shell-script -*-
#
# Commands and options are read from the vcpuctl being completed
# ("vcpuctl --help", "vcpuctl CMD --help"), so they never fall behind the
# binary; the lists below are only the fallback when it cannot be run.
# Installed as $(DATADIR)/bash-completion/completions/vcpuctl.

_vcpuctl_commands_fallback="ls show count plan set add del wait tune events guest"

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

# -s name:NAME / -s pid:PID, from the names and pids "vcpuctl ls" finds.
# ':' is in COMP_WORDBREAKS, so bash hands "name:we" over as three words:
# read the whole word from the line, and give back only what follows its
# last ':'.  Returns 1 when the word is no such selector.
_vcpuctl_selector()
{
	local prog=$1 line=${COMP_LINE:0:COMP_POINT} word before col cands head
	word=${line##*[[:space:]]}
	before=${line%"$word"}
	before=${before%"${before##*[![:space:]]}"}
	before=${before##*[[:space:]]}
	case $word in
	--socket=*) word=${word#--socket=} ;;
	*) case $before in -s|--socket) ;; *) return 1 ;; esac ;;
	esac
	case $word in
	name:*) col=2 ;;
	pid:*) col=1 ;;
	*) return 1 ;;
	esac
	cands=$("$prog" ls 2>/dev/null |
		awk -v c="$col" -v p="${word%%:*}:" 'NR > 1 && $c != "-" { print p $c }' | sort -u)
	COMPREPLY=($(compgen -W "$cands" -- "$word"))
	head=${word%"${word##*:}"}
	COMPREPLY=("${COMPREPLY[@]#"$head"}")
	return 0
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

	_vcpuctl_selector "$prog" && return 0
	case $prev in
	-s|--socket)
		COMPREPLY=($(compgen -f -- "$cur") $(compgen -W "name: pid:" -- "$cur"))
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] &&
			compopt -o nospace 2>/dev/null
		return 0
		;;
	--trace|--guest-agent)
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
	--audit)
		COMPREPLY=($(compgen -W "auto linux syslog both none" -- "$cur"))
		return 0
		;;
	esac

	if [[ $cur == --*=* ]]; then
		# --socket=PATH and --trace=FILE: complete the file part
		case ${cur%%=*} in
		--socket|--trace|--guest-agent)
			COMPREPLY=($(compgen -f -- "${cur#*=}"))
			;;
		--audit)
			COMPREPLY=($(compgen -W "auto linux syslog both none" -- "${cur#*=}"))
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
