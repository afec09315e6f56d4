# Shared set-up of the bats suites: every test gets its own simulated
# hosts (sim roots) and leaves no guest process behind.

setup_sim() {
	export XENPIPE_BACKEND=sim
	export XENPIPE_SIM_DIR="$BATS_TEST_TMPDIR/hostA"
	HOSTA="$BATS_TEST_TMPDIR/hostA"
	HOSTB="$BATS_TEST_TMPDIR/hostB"
	mkdir -p "$HOSTA" "$HOSTB"
	export T="$BATS_TEST_TMPDIR"
	export STREAMTOOL="$BATS_TEST_DIRNAME/lib/streamtool.py"
}

# Destroy every domain under a root (teardown; ignores errors).
destroy_all() {
	local root=$1 name
	[ -d "$root" ] || return 0
	for name in $(XENPIPE_SIM_DIR=$root simdom list 2>/dev/null | awk 'NR > 1 { print $1 }'); do
		XENPIPE_SIM_DIR=$root simdom destroy "$name" >/dev/null 2>&1 || true
	done
}

teardown_sim() {
	destroy_all "$HOSTA"
	destroy_all "$HOSTB"
}

# verify_stream FORMAT FILE: Xen's own verifier from xen-utils-4.17.
verify_stream() {
	local verify=${XENPIPE_VERIFY:?XENPIPE_VERIFY must name verify-stream-v2}
	local pydir
	pydir=$(dirname "$(dirname "$verify")")/lib/python
	PYTHONPATH=$pydir python3 "$verify" -f "$1" -i "$2"
}

# The names of the domains (hidden ones never show) under a root.
domains_on() {
	XENPIPE_SIM_DIR=$1 simdom list | awk 'NR > 1 { print $1 }'
}

# Everything under a root but the bookkeeping files: no half-built domain.
entries_on() {
	ls -A "$1" | grep -v -e '^\.domid' -e '^\.lock' || true
}

sim_field() {	# sim_field ROOT NAME KEY: one field of simdom info
	XENPIPE_SIM_DIR=$1 simdom info "$2" |
	    python3 -c "import json,sys; print(json.load(sys.stdin)$3)"
}

# An ssh stand-in: "FILE HOST COMMAND" runs COMMAND with host B's sim root
# (FAKESSH_ROOT overrides: $HOSTA for a same-host migration), as if sshd
# on B ran it for a client at CLIENT, in network namespace NETNS if given.
# RUN (optional) replaces the command, to make the receiver fail.  With
# FAKESSH_LOSE=1 the output after its first line (dom-resume's ready) is
# lost and the stand-in exits 255, as ssh does when the link dies after
# the go went through.
make_fakessh() {	# make_fakessh FILE [NETNS] [CLIENT] [RUN]
	local ns=${2:-} client=${3:-127.0.0.1} run=${4:-'"$2"'}
	local root=${FAKESSH_ROOT:-$HOSTB}
	if [ "${FAKESSH_LOSE:-0}" = 1 ]; then
		cat >"$1" <<-EOS
		#!/bin/sh
		${ns:+ip netns exec $ns} env XENPIPE_SIM_DIR='$root' SSH_CLIENT='$client 50000 22' sh -c $run |
		    { IFS= read -r line && printf '%s\n' "\$line"; cat >/dev/null; }
		exit 255
		EOS
	else
		cat >"$1" <<-EOS
		#!/bin/sh
		exec ${ns:+ip netns exec $ns} env XENPIPE_SIM_DIR='$root' SSH_CLIENT='$client 50000 22' sh -c $run
		EOS
	fi
	chmod +x "$1"
}

# Domains under a root as "NAME:STATE" words, sorted (the sweep of a dead
# receiver's half-built domain runs first: simdom list opens the root).
states_on() {
	XENPIPE_SIM_DIR=$1 simdom list | awk 'NR > 1 { print $1 ":" $NF }' | sort | tr '\n' ' ' | sed 's/ $//'
}

# A TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

# stream-recv --listen 127.0.0.1:0 in the background; sets RPID and PORT.
# --insecure unless OPTIONS give credentials (tls.bats).
start_recv() {	# start_recv OUT ERR [OPTIONS]
	local out=$1 err=$2 auth=--insecure
	shift 2
	case " $* " in *" --psk "*|*" --cert "*) auth=;; esac
	: >"$err"	# before sed reads it: the background shell may be late
	stream-recv --listen 127.0.0.1:0 ${auth} "$@" >"$out" 2>"$err" 3>&- &
	RPID=$!
	BGPIDS="${BGPIDS:-} $RPID"
	for _ in $(seq 100); do
		PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$err")
		[ -n "$PORT" ] && return 0
		sleep 0.05
	done
	cat "$err"
	return 1
}

# Kill what start_recv (and tests) put in the background (teardown).
kill_bg() {
	local p
	for p in ${BGPIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
}

# Namespaces A (192.0.2.1) and B (192.0.2.2), documentation addresses that
# exist only inside them, joined by a veth pair; the suite's teardown
# removes them (ip netns del "$NSA" "$NSB").
setup_netns() {
	local err=$T/netns.err
	[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
	command -v ip >/dev/null || skip "no ip(8) (iproute2)"
	NSA=xp$$a$BATS_TEST_NUMBER
	if ! ip netns add "$NSA" 2>"$err"; then
		NSA=
		skip "cannot create a network namespace here: $(cat "$err")"
	fi
	NSB=xp$$b$BATS_TEST_NUMBER
	ip netns add "$NSB"
	ip link add vA netns "$NSA" type veth peer name vB netns "$NSB"
	ip -n "$NSA" addr add 192.0.2.1/24 dev vA
	ip -n "$NSB" addr add 192.0.2.2/24 dev vB
	ip -n "$NSA" link set lo up
	ip -n "$NSB" link set lo up
	ip -n "$NSA" link set vA up
	ip -n "$NSB" link set vB up
}

# run_unit MIN UNIT [ARG...]: run a unit test (TAP), which must exit 0
# with no "not ok" and at least MIN cases passed; its output stays in $output
# shellcheck disable=SC2154 # bats' run sets output and status
run_unit() {
	local min=$1
	shift
	run "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^not ok' <<<"$output")" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -ge "$min" ]
}
