# bash completion for rpctl: its commands, the kinds (and their short
# names), and the object names of a kind, asked from the server.
_rpctl() {
	local cur prev words cword
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		cword=$COMP_CWORD
		words=("${COMP_WORDS[@]}")
	}
	local commands="apply get describe delete diff explain wait events preflight nestedhost logs open exec shell sync restore backup config version"
	local kinds="workspace ws workspacetemplate wst portroute pr nestedhost nh gitsync workspacesnapshot wss host event"
	local command="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*) command=${words[i]}; break ;;
		esac
	done
	if [[ -z $command ]]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		return
	fi
	case $prev in
	-f | --filename | -o | --output)
		[[ $command == get ]] && [[ $prev == -o || $prev == --output ]] &&
			{ COMPREPLY=($(compgen -W "wide yaml json name" -- "$cur")); return; }
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	esac
	case $command in
	get | describe | delete | wait | explain)
		local kind=""
		for ((i = i + 1; i < cword; i++)); do
			[[ ${words[i]} != -* ]] && { kind=${words[i]}; break; }
		done
		if [[ -z $kind ]]; then
			COMPREPLY=($(compgen -W "$kinds" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(rpctl get "$kind" -o name 2>/dev/null | sed 's|.*/||')" -- "$cur"))
		fi
		;;
	open | exec | shell | logs)
		COMPREPLY=($(compgen -W "$(rpctl get workspace -o name 2>/dev/null | sed 's|.*/||')" -- "$cur"))
		;;
	esac
}
complete -F _rpctl rpctl
