#!/usr/bin/env bats
# TLS 1.3 on the transport pair (issue 15): the right key moves the stream
# byte for byte; a wrong key, no key, a wrong CA or a careless key file is
# refused with one line and the receiver writes nothing; a listener without
# credentials refuses to start; a tap on the wire sees no page of the guest;
# a cut is never taken for the end; dom-migrate --tcp makes its own key,
# which no command line shows.

load lib/common

setup() {
	setup_sim
	export XENPIPE_SIM_TIMEOUT_MS=2000
	TAP=$BATS_TEST_DIRNAME/lib/tap.py
	NSA='' NSB=''
	(umask 077 && openssl rand -hex 32 >"$T/k1" && openssl rand -hex 32 >"$T/k2")
}

teardown() {
	kill_bg
	teardown_sim
	[ -z "$NSA" ] || ip netns del "$NSA" 2>/dev/null || true
	[ -z "$NSB" ] || ip netns del "$NSB" 2>/dev/null || true
}

# A real stream of a small guest with no zero page, in $T/plain.
make_stream() {	# make_stream SIZE
	simdom create s --memory "$1" --dirty-rate 0 --zero 0 >/dev/null
	dom-suspend -c s </dev/null >"$T/plain"
	simdom destroy s
}

# A CA and a certificate it signed for NAME (also 127.0.0.1), in DIR.
make_ca() {	# make_ca DIR
	mkdir -p "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1/ca.key" -out "$1/ca.crt" -subj "/CN=xenpipe test CA" \
	    -days 2 2>/dev/null
}
make_cert() {	# make_cert CADIR NAME: CADIR/NAME.crt and NAME.key
	local d=$1 n=$2
	(umask 077 && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$d/$n.key" -out "$d/$n.csr" -subj "/CN=$n" 2>/dev/null)
	printf 'subjectAltName=DNS:%s,IP:127.0.0.1\n' "$n" >"$d/$n.ext"
	openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
	    -CAcreateserial -out "$d/$n.crt" -days 2 -extfile "$d/$n.ext" 2>/dev/null
}

# The receiver's messages but its "listening on" line.
recv_errors() {	# recv_errors ERRFILE
	grep -v "listening on" "$1" || true
}

@test "tls: the right PSK moves the stream byte-exact, compressed and plain; -v and --stats say which TLS ran" {
	make_stream 16M
	start_recv "$T/out" "$T/rerr" --psk "$T/k1" -v --timeout 10 --stats "$T/rstats"
	run stream-send -v --psk "$T/k1" --stats "$T/sstats" "127.0.0.1:$PORT" <"$T/plain"
	echo "$output"
	[ "$status" -eq 0 ]
	wait "$RPID"
	cat "$T/rerr"
	cmp "$T/plain" "$T/out"
	grep -q "TLSv1.3 TLS_AES_128_GCM_SHA256, PSK, " "$T/rerr"
	[[ "$output" == *"TLSv1.3 TLS_AES_128_GCM_SHA256, PSK, "*"TLS"* ]]
	[[ "$output" == *"the receiver confirmed it"* ]]
	for f in "$T/rstats" "$T/sstats"; do
		python3 - "$f" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ok"] is True and s["compressed"] is True, s
assert s["tls"].startswith("TLSv1.3 TLS_AES_128_GCM_SHA256, PSK, "), s
assert "kTLS" in s["tls"], s	# which one ran: kTLS, or why not
EOF
	done
	# plain inside TLS, and the key from a pipe (as dom-migrate gives it)
	port=$(free_port)
	cat "$T/k1" | stream-recv --listen "127.0.0.1:$port" --psk - -v \
	    --timeout 10 >"$T/out2" 2>"$T/rerr2" 3>&- &
	RPID=$!
	BGPIDS="$BGPIDS $RPID"
	for _ in $(seq 100); do grep -q "listening on" "$T/rerr2" && break; sleep 0.05; done
	stream-send --no-compress --psk "$T/k1" "127.0.0.1:$port" <"$T/plain"
	wait "$RPID"
	cmp "$T/plain" "$T/out2"
	grep -q "PSK" "$T/rerr2"
	# a terminal or /dev/null is no key; the sender's stdin is the stream
	run stream-recv --listen 0 --psk - </dev/null
	[ "$status" -eq 100 ]
	[[ "$output" == *"--psk -: not a file or a pipe"* ]]
	run stream-send --psk - 127.0.0.1:9 <"$T/k1"
	[ "$status" -eq 100 ]
	[[ "$output" == *"standard input is the stream"* ]]
	# a key on another descriptor
	start_recv "$T/out4" "$T/rerr4" --psk "$T/k1" --timeout 10
	stream-send --psk /dev/fd/3 "127.0.0.1:$PORT" <"$T/plain" 3<"$T/k1"
	wait "$RPID"
	cmp "$T/plain" "$T/out4"
	# --rate holds inside the session: 3 MiB at 1 MiB/s takes 2 s or more
	head -c 3M /dev/urandom >"$T/rand"
	start_recv "$T/out5" "$T/rerr5" --psk "$T/k1" --timeout 10
	t0=$(date +%s%N)
	stream-send --no-compress --rate 1M --psk "$T/k1" "127.0.0.1:$PORT" <"$T/rand"
	wait "$RPID"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "3 MiB at 1 MiB/s in TLS: $ms ms"
	[ "$ms" -ge 1800 ]
	cmp "$T/rand" "$T/out5"
	# --no-ktls is user space, and says so
	start_recv "$T/out3" "$T/rerr3" --psk "$T/k1" --no-ktls -v --timeout 10
	run stream-send -v --no-ktls --psk "$T/k1" "127.0.0.1:$PORT" <"$T/plain"
	[ "$status" -eq 0 ]
	wait "$RPID"
	cmp "$T/plain" "$T/out3"
	grep -q "user-space TLS (--no-ktls)" "$T/rerr3"
}

# refused "RECV_OPTIONS" "SEND_OPTIONS" PATTERN: the sender fails with one
# line (in $output), the receiver exits 2 with one line matching PATTERN,
# and writes nothing
refused() {
	local rs=0
	start_recv "$T/out" "$T/rerr" $1 --timeout 5
	run stream-send $2 --timeout 5 "127.0.0.1:$PORT" <"$T/plain"
	wait "$RPID" || rs=$?
	echo "sender: status $status: $output"
	cat "$T/rerr"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$rs" -eq 2 ]
	[ "$(recv_errors "$T/rerr" | wc -l)" -eq 1 ]
	recv_errors "$T/rerr" | grep -q -- "$3"
	[ ! -s "$T/out" ]
}

@test "tls: a wrong key, no key, or a sender that speaks no TLS is refused with one line; the receiver writes nothing" {
	make_stream 8M
	refused "--psk $T/k1" "--psk $T/k2" \
	    "^stream-recv: from 127.0.0.1:[0-9]*: TLS handshake: .*(the peer does not hold our key)$"
	[[ "$output" == *"TLS handshake"*"(the peer does not hold our key)" ]]
	# no key: a sender told --insecure
	refused "--psk $T/k1" --insecure "the peer does not speak TLS"
	# and the other way: an --insecure listener, a sender with a key
	refused --insecure "--psk $T/k1" \
	    "the peer speaks TLS, and this receiver was started without credentials (--insecure)"
	[[ "$output" == *"TLS handshake"* ]]
}

@test "tls: X.509: the right CA moves the stream; a wrong CA, a wrong name or no client certificate is refused with one line" {
	make_stream 8M
	make_ca "$T/ca"; make_cert "$T/ca" host2; make_cert "$T/ca" host1
	make_ca "$T/evil"; make_cert "$T/evil" host1; make_cert "$T/evil" host2
	srv=(--cert "$T/ca/host2.crt" --key "$T/ca/host2.key" --ca "$T/ca/ca.crt")
	cli=(--cert "$T/ca/host1.crt" --key "$T/ca/host1.key" --ca "$T/ca/ca.crt")
	start_recv "$T/out" "$T/rerr" "${srv[@]}" -v --timeout 5
	run stream-send -v "${cli[@]}" "127.0.0.1:$PORT" <"$T/plain"
	echo "$output"
	[ "$status" -eq 0 ]
	wait "$RPID"
	cmp "$T/plain" "$T/out"
	grep -q "X.509" "$T/rerr"
	# by name, as the certificate says
	start_recv "$T/out" "$T/rerr" "${srv[@]}" --timeout 5
	stream-send "${cli[@]}" --peer-name host2 "127.0.0.1:$PORT" <"$T/plain"
	wait "$RPID"
	cmp "$T/plain" "$T/out"
	# the client trusts another CA: the server's certificate is refused
	start_recv "$T/out" "$T/rerr" "${srv[@]}" --timeout 5
	run stream-send --cert "$T/evil/host1.crt" --key "$T/evil/host1.key" \
	    --ca "$T/evil/ca.crt" "127.0.0.1:$PORT" <"$T/plain"
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"TLS handshake: the peer's certificate: "* ]]
	wait "$RPID" || true
	[ ! -s "$T/out" ]
	# the client's certificate is from another CA: the server refuses it
	refused "${srv[*]}" "--cert $T/evil/host1.crt --key $T/evil/host1.key --ca $T/ca/ca.crt" \
	    "the peer's certificate: unable to get local issuer certificate"
	# the right CA, the wrong name
	start_recv "$T/out" "$T/rerr" "${srv[@]}" --timeout 5
	run stream-send "${cli[@]}" --peer-name host3 "127.0.0.1:$PORT" <"$T/plain"
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"hostname mismatch"* ]]
	wait "$RPID" || true
	[ ! -s "$T/out" ]
}

@test "tls: no listener, and no sender, without credentials or --insecure; key files that others can read are refused" {
	run stream-recv --listen 127.0.0.1:0 </dev/null
	echo "$output"
	[ "$status" -eq 100 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "stream-recv: listening without authentication: give --psk FILE (or --cert, --key and --ca), or --insecure"* ]]
	[[ "$output" != *"listening on"* ]]
	run stream-send 127.0.0.1:9 </dev/null
	[ "$status" -eq 100 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"sending the stream over TCP without authentication"* ]]
	# credentials and --insecure, or credentials without TCP
	run stream-recv --listen 0 --psk "$T/k1" --insecure </dev/null
	[ "$status" -eq 100 ]
	run stream-recv --psk "$T/k1" </dev/null
	[ "$status" -eq 100 ]
	[[ "$output" == *"go with a TCP connection"* ]]
	# the key file: its mode, its owner, its contents
	chmod 644 "$T/k1"
	run stream-recv --listen 0 --psk "$T/k1" </dev/null
	echo "$output"
	[ "$status" -eq 100 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"mode 0644 lets other users at the key (chmod 600 "* ]]
	run stream-send --psk "$T/k1" 127.0.0.1:9 </dev/null
	[ "$status" -eq 100 ]
	chmod 600 "$T/k1"
	if [ "$(id -u)" -eq 0 ]; then
		chown nobody "$T/k1"
		run stream-recv --listen 0 --psk "$T/k1" </dev/null
		echo "$output"
		[ "$status" -eq 100 ]
		[[ "$output" == *"owned by uid "*", not by us (uid 0)"* ]]
		chown 0 "$T/k1"
	fi
	(umask 077 && echo "not hex" >"$T/k3" && openssl rand -hex 8 >"$T/k4")
	for k in k3 k4; do
		run stream-recv --listen 0 --psk "$T/$k" </dev/null
		echo "$output"
		[ "$status" -eq 100 ]
		[[ "$output" == *"not a key of 16 to 64 bytes in hex (make one with: openssl rand -hex 32)"* ]]
	done
	run stream-recv --listen 0 --cert "$T/k1" </dev/null
	[ "$status" -eq 100 ]
	[[ "$output" == *"X.509 takes all three of --cert, --key and --ca"* ]]
}

@test "tls: the keys kTLS gets open the peer's records, each way (unit: a real handshake, no kernel TLS needed)" {
	make_ca "$T/ca"
	make_cert "$T/ca" server
	make_cert "$T/ca" client
	run_unit 15 test-ktls "$T/ca"
}

@test "tls: a tap on the wire never holds a page of the guest in clear; without TLS it does (the check can fail)" {
	make_stream 16M
	# pages of the guest: 4 KiB pieces of its stream, past the headers
	python3 - "$T/plain" "$T/pages" <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()
n = len(d)
with open(sys.argv[2], 'wb') as f:
    for i in range(1, 9):
        off = (n * i // 10) & ~4095
        piece = d[off:off + 4096]
        assert len(set(piece)) > 16, off	# a page with something in it
        f.write(piece)
EOF
	found() {	# found CAPTURE: how many of the 8 pages are in it
		python3 - "$1" "$T/pages" <<'EOF'
import sys
cap, p = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
print(sum(1 for i in range(0, len(p), 4096) if p[i:i + 4096] in cap))
EOF
	}
	tapped() {	# tapped CAPTURE SEND_OPTIONS...: a transfer through the tap
		local cap=$1
		shift
		rm -f "$T/tapport"
		python3 "$TAP" "$PORT" "$T/tapport" "$cap" 3>&- &
		BGPIDS="$BGPIDS $!"
		for _ in $(seq 100); do [ -s "$T/tapport" ] && break; sleep 0.05; done
		stream-send "$@" "127.0.0.1:$(cat "$T/tapport")" <"$T/plain"
		wait "$RPID"
	}
	# the oracle: plain and --insecure, the pages cross as they are
	start_recv "$T/out" "$T/rerr" --timeout 10
	tapped "$T/cap0" --insecure --no-compress
	cmp "$T/plain" "$T/out"
	[ "$(found "$T/cap0")" -eq 8 ]
	# TLS, plain inside: none of them
	start_recv "$T/out" "$T/rerr" --psk "$T/k1" --timeout 10
	tapped "$T/cap1" --psk "$T/k1" --no-compress
	cmp "$T/plain" "$T/out"
	[ "$(stat -c %s "$T/cap1")" -gt "$(stat -c %s "$T/plain")" ]
	[ "$(found "$T/cap1")" -eq 0 ]
	# nor a 64-byte piece of one
	python3 - "$T/cap1" "$T/pages" <<'EOF'
import sys
cap, p = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
hits = [i for i in range(0, len(p), 1024) if p[i:i + 64] in cap]
assert not hits, hits
EOF
}

@test "tls: a connection cut on the wire is never taken for the end of the stream (without TLS, plain, it is)" {
	make_stream 16M
	cut=$(( $(stat -c %s "$T/plain") / 2 ))
	cutoff() {	# cutoff SEND_OPTIONS...: through a tap that cuts half-way
		rm -f "$T/tapport"
		python3 "$TAP" "$PORT" "$T/tapport" "$T/cap" --cut "$cut" 3>&- &
		BGPIDS="$BGPIDS $!"
		for _ in $(seq 100); do [ -s "$T/tapport" ] && break; sleep 0.05; done
		ss=0; stream-send "$@" --timeout 5 "127.0.0.1:$(cat "$T/tapport")" <"$T/plain" 2>"$T/serr" || ss=$?
		rs=0; wait "$RPID" || rs=$?
		cat "$T/serr" "$T/rerr"
	}
	# the oracle: plain without TLS, the receiver takes half a stream
	start_recv "$T/out" "$T/rerr" --timeout 5
	cutoff --insecure --no-compress
	[ "$rs" -eq 0 ]
	[ "$ss" -ne 0 ]
	[ "$(stat -c %s "$T/out")" -lt "$(stat -c %s "$T/plain")" ]
	# TLS: the end without close_notify is a cut, said in one line
	start_recv "$T/out" "$T/rerr" --psk "$T/k1" --timeout 5
	cutoff --psk "$T/k1" --no-compress
	[ "$rs" -eq 2 ]
	[ "$ss" -ne 0 ]
	[ "$(recv_errors "$T/rerr" | wc -l)" -eq 1 ]
	recv_errors "$T/rerr" | grep -q "the connection ended without close_notify: cut, or an end forged on the wire"
}

@test "tls: dom-migrate --tcp between two namespaces with its one-time key: no key on any command line, none left" {
	setup_netns
	make_fakessh "$T/ssh0" "$NSB" 192.0.2.1
	# an ssh that keeps what it carried on stdin: the key, to look for
	printf '#!/bin/sh\ntee "%s" | exec "%s" "$@"\n' "$T/sshin" "$T/ssh0" >"$T/ssh"
	chmod +x "$T/ssh"
	simdom create d --memory 64M --dirty-rate 10000
	sleep 0.2
	# every command line on the machine, every 20 ms, while it migrates
	( while :; do ps -eo args; sleep 0.02; done ) >"$T/ps" 2>/dev/null 3>&- &
	BGPIDS="$BGPIDS $!"
	run env TMPDIR="$T" ip netns exec "$NSA" dom-migrate --tcp 8002 --timeout 10 \
	    --ssh-command "$T/ssh" d 192.0.2.2
	echo "$output"
	[ "$status" -eq 0 ]
	kill_bg
	[[ "$output" == *"connection from 192.0.2.1:"* ]]
	[[ "$output" == *"TLSv1.3 TLS_AES_128_GCM_SHA256, PSK, "* ]]
	[ -z "$(domains_on "$HOSTA")" ]
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	# the receiver ran, with its key from stdin
	grep -q -- "stream-recv -v --listen 0.0.0.0:8002 --psk - " "$T/ps"
	grep -q -- "stream-send --psk $T/dom-migrate\.[A-Za-z0-9]*/psk " "$T/ps"
	# the key went on ssh's stdin: 32 bytes in hex, and on no command
	# line, whole or its first half (other processes' hex ids are no
	# matter: the machine's CI runner has some)
	key=$(cat "$T/sshin")
	[[ "$key" =~ ^[0-9a-f]{64}$ ]]
	[ "$(wc -l <"$T/ps")" -gt 10 ]
	run grep -c -F -e "$key" -e "${key:0:32}" "$T/ps"
	[ "$output" = 0 ]
	# and none left behind
	[ -z "$(ls -d "$T"/dom-migrate.* 2>/dev/null)" ]
}
