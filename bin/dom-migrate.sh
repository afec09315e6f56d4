#!/bin/bash
# dom-migrate - move a domain to another host, the way xl migrate hands
# over: the source is destroyed only once the destination said its copy
# runs; on any failure the source runs on here.  A composition, so that
# each step stays visible and replaceable:
#
#   live: mem-dump -l DOM | dirty-track DOM | dom-suspend DOM | stream-send |
#             ssh HOST 'stream-recv | dom-resume'
#   cold: dom-suspend DOM </dev/null | stream-send | ssh HOST '...'
#   --tcp PORT: ssh HOST 'stream-recv --listen PORT ... | dom-resume' runs
#             first, and the stream goes to HOST:PORT with stream-send.
set -u -o pipefail

PROG=dom-migrate
USAGE="usage: dom-migrate [--live | --cold] [--tcp PORT | --ssh] [--ssh-command CMD]
                   [--allow ADDR[/BITS]] [--rate RATE] [--no-compress] [--timeout SECONDS]
                   [--throttle] [--policy downtime|xen] [--downtime MS] [--max-rounds N]
                   [--max-time SECONDS] [--bandwidth RATE] DOM HOST"

# Exit statuses (dom-migrate(1)):
EX_SOURCE=10	# the source side failed (mem-dump, dirty-track, dom-suspend); DOM runs here
EX_TRANSFER=11	# sending, ssh or the destination failed; DOM runs here
EX_DESTROY=12	# migrated, but the source could not be destroyed: it is left suspended
EX_STRANDED=13	# failed, and the source could not be resumed: it is left suspended
EX_USAGE=100

die() {	# die CODE MESSAGE
	echo "$PROG: $2" >&2
	exit "$1"
}

usage() {
	echo "$USAGE" >&2
	exit $EX_USAGE
}

live=1 tcp= ssh_cmd=ssh allow= timeout=60
send_opts=() policy=()
while [ $# -gt 0 ]; do
	case $1 in
	--help|-h)
		echo "$USAGE"
		echo "See dom-migrate(1)."
		exit 0 ;;
	--version)
		echo "dom-migrate (xenpipe) $(stream-send --version 2>/dev/null | awk '{ print $NF }')"
		exit 0 ;;
	--live) live=1 ;;
	--cold) live= ;;
	--ssh) tcp= ;;
	--tcp)
		[ $# -ge 2 ] || usage
		case $2 in ''|*[!0-9]*) die $EX_USAGE "--tcp: '$2' is not a port" ;; esac
		[ "$2" -ge 1 ] && [ "$2" -le 65535 ] || die $EX_USAGE "--tcp: '$2' is not a port"
		tcp=$2; shift ;;
	--ssh-command)
		[ $# -ge 2 ] || usage
		ssh_cmd=$2; shift ;;
	--allow)
		[ $# -ge 2 ] || usage
		case $2 in ''|*[!0-9A-Fa-f:./]*) die $EX_USAGE "--allow: '$2' is not an address or range" ;; esac
		allow=$2; shift ;;
	--timeout)
		[ $# -ge 2 ] || usage
		case $2 in ''|*[!0-9]*) die $EX_USAGE "--timeout: '$2' is not a number" ;; esac
		timeout=$2; send_opts+=(--timeout "$2"); shift ;;
	--rate)
		[ $# -ge 2 ] || usage
		send_opts+=(--rate "$2"); shift ;;
	--no-compress) send_opts+=(--no-compress) ;;
	--throttle) policy+=("$1") ;;
	--policy|--downtime|--max-rounds|--max-time|--bandwidth)
		[ $# -ge 2 ] || usage
		policy+=("$1" "$2"); shift ;;
	--policy=*|--downtime=*|--max-rounds=*|--max-time=*|--bandwidth=*)
		policy+=("$1") ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 2 ] || usage
dom=$1 host=$2
[ -n "$live" ] || [ ${#policy[@]} -eq 0 ] ||
    die $EX_USAGE "${policy[0]} is a live migration option; it makes no sense with --cold"
[ -n "$tcp" ] || [ -z "$allow" ] || die $EX_USAGE "--allow goes with --tcp"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dom-migrate.XXXXXX") || exit 111
dest_pid=
cleanup() {
	[ -z "$dest_pid" ] || kill "$dest_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# The state of a domain here (running, suspended, ...), empty if none.
dom_state() {
	# by the header's name, not position: columns get added
	dom-list | awk -v d="$1" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == "State") col = i; next }
		col && ($1 == d || $2 == d) { print $col; exit }'
}

# Destroying the source: there is no xenpipe program for it (yet), so it
# is the backend's own tool: simdom for the simulated hypervisor, xl on Xen.
destroy_source() {
	case $(dom-list -j | sed -n 's/.*"backend": *"\([a-z]*\)".*/\1/p') in
	sim) simdom destroy "$dom" ;;
	*) xl destroy "$dom" ;;
	esac
}

state=$(dom_state "$dom")
[ "$state" = running ] || die $EX_SOURCE "$dom is ${state:-not a domain here}, not running"

# What runs on HOST: the receiver, then dom-resume, which prints "NAME ID"
# once the domain runs there.
if [ -n "$tcp" ]; then
	# listen on every address, for the source only: the address HOST's
	# sshd saw us come from, unless --allow says otherwise
	peer=$allow
	[ -n "$peer" ] || peer='"${SSH_CLIENT%% *}"'
	remote="stream-recv -v --listen 0.0.0.0:$tcp --timeout $timeout --allow $peer | dom-resume"
	$ssh_cmd "$host" "$remote" </dev/null >"$tmp/dest.out" 2>"$tmp/dest.err" &
	dest_pid=$!
	for _ in $(seq $((timeout * 20))); do
		grep -q "listening on" "$tmp/dest.err" && break
		kill -0 "$dest_pid" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q "listening on" "$tmp/dest.err"; then
		cat "$tmp/dest.err" >&2
		die $EX_TRANSFER "no receiver listening on $host port $tcp; $dom runs here"
	fi
	sink() { stream-send "${send_opts[@]}" "${host#*@}:$tcp"; }
else
	remote="stream-recv | dom-resume"
	sink() { stream-send "${send_opts[@]}" | $ssh_cmd "$host" "$remote" >"$tmp/dest.out"; }
fi

if [ -n "$live" ]; then
	mem-dump -l "$dom" | dirty-track "${policy[@]}" "$dom" | dom-suspend "$dom" | sink
	st=("${PIPESTATUS[@]}")
	src=$((st[0] | st[1] | st[2])) send=${st[3]}
	what="mem-dump ${st[0]}, dirty-track ${st[1]}, dom-suspend ${st[2]}, stream-send/ssh ${st[3]}"
else
	dom-suspend "$dom" </dev/null | sink
	st=("${PIPESTATUS[@]}")
	src=${st[0]} send=${st[1]}
	what="dom-suspend ${st[0]}, stream-send/ssh ${st[1]}"
fi
if [ -n "$dest_pid" ]; then
	# a failed send leaves the receiver waiting for its timeout: give it
	# two seconds to say why, then stop waiting
	if [ "$send" -ne 0 ]; then
		for _ in $(seq 40); do
			kill -0 "$dest_pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$dest_pid" 2>/dev/null
	fi
	dest=0
	wait "$dest_pid" || dest=$?
	dest_pid=
	cat "$tmp/dest.err" >&2
	what="$what, receiver $dest"
	[ "$dest" -eq 0 ] || send=$((send | 1))
fi

# dom-resume's last line: "NAME ID" when the domain runs on HOST
reported=$(tail -n 1 "$tmp/dest.out" 2>/dev/null)
if [ "$src" -eq 0 ] && [ "$send" -eq 0 ] &&
    [[ "$reported" =~ ^[A-Za-z0-9_.-]+\ [0-9]+$ ]]; then
	echo "$reported"
	if ! destroy_source; then
		die $EX_DESTROY "$dom runs on $host as '$reported', but destroying the source failed: it is left suspended here"
	fi
	exit 0
fi

# Failed: the source runs on here.  dom-suspend resumes the domain itself
# when its output breaks; after a stream it finished, the domain is
# suspended and resumed here.
if [ "$send" -eq 0 ] && [ "$src" -ne 0 ]; then
	code=$EX_SOURCE why="the source side failed"
else
	code=$EX_TRANSFER why="sending the stream or restoring it on $host failed"
fi
state=$(dom_state "$dom")
if [ "$state" = suspended ]; then
	if ! dom-resume --in-place "$dom" >/dev/null; then
		die $EX_STRANDED "$why ($what), and resuming $dom failed: it is left suspended"
	fi
	state=running
fi
die "$code" "$why ($what); $dom is ${state:-gone} here"
