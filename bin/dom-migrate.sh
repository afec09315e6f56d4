#!/bin/bash
# dom-migrate - move a domain to another host, handing it over as xl
# migrate does: HOST keeps its copy paused and says ready, the source is
# renamed DOM--migratedaway and HOST gets the go, HOST starts its copy and
# reports; only a report of a running copy destroys the source (by id).
# Before the go every failure resumes the source here; after it, with no
# report, the source stays suspended and the outcome is said loudly.
# A composition, so that each step stays visible and replaceable:
#
#   live: mem-dump -l DOM | dirty-track DOM | dom-suspend --handshake R DOM |
#             stream-send | ssh HOST 'stream-recv | dom-resume --handshake' > R
#   cold: dom-suspend --handshake R DOM </dev/null | stream-send | ssh ...
#   --tcp PORT: ssh HOST 'stream-recv --listen PORT --psk - ... |
#             dom-resume --handshake' <KEY > R runs first, and the stream
#             goes to HOST:PORT with stream-send --psk KEY: TLS with a key
#             made for this migration, which reaches HOST on ssh's stdin
#             (never a command line) and is deleted here at the end.
#
# R is a FIFO: HOST's ready and report, on ssh's output, back to dom-suspend
# (which gives the go on the stream, after END).  A copy of them is kept, to
# decide when dom-suspend itself dies.
set -u -o pipefail

PROG='dom-migrate'
VERSION='@VERSION@'	# make puts common/version.h's here
USAGE="usage: dom-migrate [--live | --cold] [--tcp PORT | --ssh] [--ssh-command CMD]
                   [--allow ADDR[/BITS]] [--rate RATE] [--no-compress] [--timeout SECONDS]
                   [--throttle] [--policy downtime|xen] [--downtime MS] [--max-rounds N]
                   [--max-time SECONDS] [--bandwidth RATE] DOM HOST"

# Exit statuses (dom-migrate(1)):
EX_SOURCE=10	# failed before the go, on this side; DOM runs here
EX_TRANSFER=11	# HOST did not take it (before the go, or it failed after
		# the go and destroyed its copy); DOM runs here
EX_DESTROY=12	# migrated, but the source could not be destroyed: it is left suspended
EX_STRANDED=13	# failed, and the source could not be resumed: it is left suspended
EX_UNKNOWN=14	# the go was given and no report came back: the source is
		# left suspended as DOM--migratedaway; DOM may run on HOST
EX_USAGE=100
HS='xenpipe-handshake 1'

die() {	# die CODE MESSAGE
	echo "$PROG: $2" >&2
	exit "$1"
}

usage() {	# one line; --help gives the synopsis
	echo "$PROG: bad usage; $(printf '%s' "$USAGE" | tr -s ' \n' '  ')" >&2
	exit $EX_USAGE
}

live=1 tcp='' ssh_cmd=ssh allow='' timeout=60
send_opts=() policy=()
while [ $# -gt 0 ]; do
	case $1 in
	--help|-h)
		echo "$USAGE"
		echo "See dom-migrate(1)."
		exit 0 ;;
	--version)
		echo "dom-migrate (xenpipe) $VERSION"
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
		[ "$2" -ge 1 ] && [ "$2" -le 86400 ] ||
		    die $EX_USAGE "--timeout: '$2' is not 1 to 86400 seconds"
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
fifo=$tmp/replies.fifo replies=$tmp/replies
mkfifo "$fifo" || exit 111
bg=
cleanup() {
	[ -z "$bg" ] || kill "$(cat "$tmp/dest.pid" 2>/dev/null)" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# "STATE ID NAME" of a domain here, by name or id; empty if none.
dom_find() {
	# columns by the header's names: columns get added
	dom-list | awk -v d="$1" '
		NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "State") s = i; if ($i == "ID") n = i }; next }
		s && n && ($1 == d || $n == d) { print $s, $n, $1; exit }'
}

# The backend's own tool, on a domain id: there is no xenpipe program that
# destroys a domain (yet): simdom for the simulated hypervisor, xl on Xen.
destroy_cmd() {
	case $(dom-list -j | sed -n 's/.*"backend": *"\([a-z]*\)".*/\1/p') in
	sim) echo "simdom destroy" ;;
	*) echo "xl destroy" ;;
	esac
}

read -r state domid name0 <<<"$(dom_find "$dom")"
[ "${state:-}" = running ] || die $EX_SOURCE "$dom is ${state:-not a domain here}, not running"
destroy=$(destroy_cmd)

# What runs on HOST: the receiver, then dom-resume, which says ready, waits
# for the go and reports, all on its output.
receiver="dom-resume --handshake --timeout $timeout"
if [ -n "$tcp" ]; then
	# listen on every address, for the source only: the address HOST's
	# sshd saw us come from, unless --allow says otherwise
	peer=$allow
	[ -n "$peer" ] || peer='"${SSH_CLIENT%% *}"'
	# a key for this migration only, in our 0700 directory; od and tr
	# take it from /dev/urandom, so no command line shows it
	key=$tmp/psk
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key") &&
	    [ "$(wc -c <"$key")" -eq 64 ] ||
	    die $EX_SOURCE "cannot make a one-time key in $tmp; $dom runs here"
	remote="stream-recv -v --listen 0.0.0.0:$tcp --psk - --timeout $timeout --allow $peer | $receiver"
	# (the FIFO opened read-write: tee's open never waits for dom-suspend)
	{
		$ssh_cmd "$host" "$remote" <"$key" 2>"$tmp/dest.err" &
		echo $! >"$tmp/dest.pid"
		wait $!
		echo $? >"$tmp/dest.rc"
	} | tee "$replies" 1<>"$fifo" &
	bg=$!
	for _ in $(seq $((timeout * 20))); do
		grep -q "listening on" "$tmp/dest.err" 2>/dev/null && break
		kill -0 "$bg" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q "listening on" "$tmp/dest.err" 2>/dev/null; then
		cat "$tmp/dest.err" >&2 2>/dev/null
		die $EX_TRANSFER "no receiver listening on $host port $tcp; $dom runs here"
	fi
	sink() { stream-send --psk "$key" "${send_opts[@]}" "${host#*@}:$tcp"; }
else
	sink() {
		stream-send "${send_opts[@]}" |
		    { $ssh_cmd "$host" "stream-recv | $receiver"; echo $? >"$tmp/dest.rc"; } |
		    tee "$replies" 1<>"$fifo"
	}
fi

hs=(--handshake "$fifo" --timeout "$timeout")
if [ -n "$live" ]; then
	mem-dump -l "$dom" | dirty-track "${policy[@]}" "$dom" |
	    dom-suspend "${hs[@]}" "$dom" | sink
	st=("${PIPESTATUS[@]}")
	ds=${st[2]} send=${st[3]}
	what="mem-dump ${st[0]}, dirty-track ${st[1]}, dom-suspend ${st[2]}, stream-send ${st[3]}"
else
	dom-suspend "${hs[@]}" "$dom" </dev/null | sink
	st=("${PIPESTATUS[@]}")
	ds=${st[0]} send=${st[1]}
	what="dom-suspend ${st[0]}, stream-send ${st[1]}"
fi
[ -z "$tcp" ] || rm -f "$key"	# used: gone before anything else
if [ -n "$bg" ]; then
	# a failed send leaves the listener waiting for its timeout: give it
	# two seconds to say why, then stop waiting
	if [ "$send" -ne 0 ]; then
		for _ in $(seq 40); do
			kill -0 "$bg" 2>/dev/null || break
			sleep 0.05
		done
		kill "$(cat "$tmp/dest.pid")" 2>/dev/null
	fi
	wait "$bg"
	bg=
	cat "$tmp/dest.err" >&2
fi
dest=$(cat "$tmp/dest.rc" 2>/dev/null) || dest=killed
what="$what, ssh/receiver ${dest:-?}"

report=$(sed -n "s/^$HS report running \([A-Za-z0-9_.-]\{1,63\}\) \([1-9][0-9]\{0,4\}\)\$/\1 \2/p" \
    "$replies" 2>/dev/null | tail -n 1)
said() { grep -q "^$HS $1" "$replies" 2>/dev/null; }	# said WORDS: HOST said it
# the source now, by its id: its state and name; empty once it is gone
read -r now_state _ now_name <<<"$(dom_find "$domid")"
as_now() { [ "$now_name" = "$name0" ] || echo " (as $now_name)"; }

say_unknown() {	# say_unknown WHY
	die $EX_UNKNOWN "HANDOVER OUTCOME UNKNOWN: $1 ($what); $dom is left suspended here as ${now_name:-?} (id $domid) and may be running on $host. Check $host (dom-list there): if $dom runs there, destroy this copy: $destroy $domid; if not, resume it: dom-resume --in-place --force $domid"
}
resume_here() {	# resume_here CODE WHY [--force]: HOST does not run it
	if [ "$now_state" = suspended ]; then
		dom-resume --in-place ${3:-} "$domid" >/dev/null ||
		    die $EX_STRANDED "$2 ($what), and resuming $dom failed: it is left suspended here as $now_name (id $domid)"
		read -r now_state _ now_name <<<"$(dom_find "$domid")"
	fi
	die "$1" "$2 ($what); $dom is ${now_state:-gone} here$(as_now)"
}

case $ds in
0)
	echo "$report"
	exit 0 ;;
1)
	resume_here $EX_TRANSFER "$host failed to start its copy after the go and destroyed it" ;;
4)
	if said "report kept"; then
		say_unknown "$host failed to start its copy after the go, and could not destroy it"
	fi
	say_unknown "the go was given to $host but no report came back" ;;
5)
	die $EX_DESTROY "$dom runs on $host as '$report', but destroying the source failed: it is left suspended here as $now_name (id $domid): $destroy $domid" ;;
esac
if [ "$ds" -ge 128 ]; then
	# dom-suspend died: what HOST said and the source's name decide, never
	# a guess (it renames the source before it gives the go)
	if [ -z "$now_state" ]; then
		# gone: dom-suspend destroys it only on a report of a running copy
		echo "$report"
		echo "$PROG: dom-suspend died ($what) after the handover; the source (id $domid) is destroyed: $host reported $dom running${report:+ as '$report'}" >&2
		exit 0
	fi
	if [ -n "$report" ]; then
		$destroy "$domid" >/dev/null ||
		    die $EX_DESTROY "dom-suspend died ($what), $host reported $dom running as '$report', and destroying the source failed: it is left suspended here as $now_name (id $domid): $destroy $domid"
		echo "$report"
		echo "$PROG: dom-suspend died ($what) after the go; $host reported $dom running as '$report': the source (id $domid) is destroyed" >&2
		exit 0
	fi
	if [ "$now_name" = "$name0" ]; then
		resume_here $EX_SOURCE "dom-suspend died before the go"
	fi
	if said "report destroyed"; then
		resume_here $EX_SOURCE "dom-suspend died after the go, and $host destroyed its copy" --force
	fi
	say_unknown "dom-suspend died after it marked the source (the go may have been given), and $host did not report"
fi
# dom-suspend failed before the go and resumed the source itself: 111 is
# the stream's way out or the handshake (the stages before it then die of
# EPIPE), anything else this side
if [ "$ds" -ne 111 ]; then
	resume_here $EX_SOURCE "the source side failed before the handover"
fi
resume_here $EX_TRANSFER "$host did not take $dom before the go"
