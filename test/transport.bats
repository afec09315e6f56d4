#!/usr/bin/env bats
# stream-send / stream-recv: byte-identical round trips over pipes and
# TCP, checksums that catch a damaged byte, a listener that refuses
# strangers and times out; then two network namespaces as two hosts, and
# dom-migrate between two simulated hosts.

load lib/common

FRAME=4194304

setup() {
	setup_sim
	export XENPIPE_SIM_TIMEOUT_MS=2000
	NSA= NSB=
}

teardown() {
	kill_bg
	teardown_sim
	[ -z "$NSA" ] || ip netns del "$NSA" 2>/dev/null || true
	[ -z "$NSB" ] || ip netns del "$NSB" 2>/dev/null || true
}

# A real stream of a small guest, in $T/plain.
make_stream() {	# make_stream SIZE [ZERO_PCT]
	simdom create s --memory "$1" --dirty-rate 0 --zero "${2:-50}" >/dev/null
	dom-suspend -c s </dev/null >"$T/plain"
	simdom destroy s
}

# The offset of LZ4 frame N (from 0) in a stream-send output.
frame_offset() {	# frame_offset FILE N
	python3 - "$1" "$2" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, n = 0, int(sys.argv[2])
for _ in range(n):
    flg = d[off + 4]
    off += 7 + (8 if flg & 8 else 0)
    while True:
        (b,) = struct.unpack_from('<I', d, off)
        off += 4
        if b == 0:
            break
        off += (b & 0x7fffffff) + (4 if flg & 0x10 else 0)
    off += 4
print(off)
EOF
}

@test "transport: a pipe round trip is byte-identical, compressed and plain; lz4 -d decodes the saved output" {
	make_stream 16M
	stream-send <"$T/plain" >"$T/c"
	stream-recv <"$T/c" >"$T/back"
	cmp "$T/plain" "$T/back"
	lz4 -d <"$T/c" >"$T/lz4back"
	cmp "$T/plain" "$T/lz4back"
	# it is compressed, in several frames
	[ "$(stat -c %s "$T/c")" -lt "$(stat -c %s "$T/plain")" ]
	stream-send --no-compress <"$T/plain" >"$T/p"
	cmp "$T/plain" "$T/p"
	stream-recv <"$T/p" >"$T/pback"
	cmp "$T/plain" "$T/pback"
	# one thread or many, any level: the same bytes come out
	stream-send --threads 1 --level 9 <"$T/plain" | stream-recv --threads 3 >"$T/back2"
	cmp "$T/plain" "$T/back2"
}

@test "transport: a loopback TCP round trip is byte-identical, compressed and plain, and confirmed" {
	make_stream 16M
	start_recv "$T/tcp" "$T/rerr" --timeout 10 --stats "$T/rstats"
	run stream-send --insecure -v --stats "$T/sstats" "127.0.0.1:$PORT" <"$T/plain"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"the receiver confirmed it"* ]]
	wait "$RPID"
	cmp "$T/plain" "$T/tcp"
	python3 -c "
import json
s = json.load(open('$T/sstats')); r = json.load(open('$T/rstats'))
assert s['ok'] and r['ok'] and s['compressed'] and r['compressed'], (s, r)
assert s['plain_bytes'] == r['plain_bytes'] == $(stat -c %s "$T/plain")
assert s['wire_bytes'] == r['wire_bytes'] and s['ratio'] < 0.9, (s, r)
assert s['frames'] == r['frames'] >= 2, (s, r)"

	start_recv "$T/tcp2" "$T/rerr2" --timeout 10
	stream-send --insecure --no-compress "127.0.0.1:$PORT" <"$T/plain"
	wait "$RPID"
	cmp "$T/plain" "$T/tcp2"
}

@test "transport: a flipped byte is a checksum error, and nothing of the bad frame is written" {
	make_stream 16M 0
	stream-send <"$T/plain" >"$T/c"
	off=$(frame_offset "$T/c" 1)
	python3 -c "
d = bytearray(open('$T/c', 'rb').read()); d[$off + 5000] ^= 0x10
open('$T/bad', 'wb').write(d)"
	run sh -c 'stream-recv <"$T/bad" >"$T/out"'
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"frame 1 at offset $off: checksum error"* ]]
	# exactly the frame before the bad one came out
	[ "$(stat -c %s "$T/out")" -eq "$FRAME" ]
	cmp "$T/out" <(head -c "$FRAME" "$T/plain")
	# the same over TCP: the receiver fails, the sender hears no confirmation
	start_recv "$T/tcp" "$T/rerr" --timeout 10
	# (--no-compress: the damaged frames go as they are)
	run stream-send --insecure --no-compress "127.0.0.1:$PORT" <"$T/bad"
	echo "$output"
	[ "$status" -ne 0 ]
	status=0; wait "$RPID" || status=$?
	[ "$status" -eq 2 ]
	grep -q "checksum error" "$T/rerr"
}

@test "transport: an input cut short, or followed by junk, is an error" {
	make_stream 16M
	stream-send <"$T/plain" >"$T/c"
	# cut at a frame boundary: only the end marker tells
	off=$(frame_offset "$T/c" 2)
	head -c "$off" "$T/c" >"$T/cut"
	run sh -c 'stream-recv <"$T/cut" >"$T/out"'
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"without the end marker"* ]]
	cmp "$T/out" <(head -c $((2 * FRAME)) "$T/plain")
	# cut inside a frame
	head -c $((off + 100)) "$T/c" >"$T/cut2"
	run sh -c 'stream-recv <"$T/cut2" >/dev/null'
	[ "$status" -eq 2 ]
	[[ "$output" == *"ended inside a frame"* ]]
	# data after the end
	cat "$T/c" "$T/c" >"$T/twice"
	run sh -c 'stream-recv <"$T/twice" >/dev/null'
	[ "$status" -eq 2 ]
	[[ "$output" == *"data after the end marker"* ]]
	# a frame without content checksum (lz4 --no-frame-crc) cannot be verified
	lz4 -1 --no-frame-crc <"$T/plain" >"$T/nocrc"
	run sh -c 'stream-recv <"$T/nocrc" >/dev/null'
	[ "$status" -eq 2 ]
	[[ "$output" == *"no content checksum"* ]]
}

@test "transport: --rate caps the bytes on the wire" {
	head -c 3M /dev/urandom >"$T/rand"
	t0=$(date +%s%N)
	stream-send --no-compress --rate 2M <"$T/rand" >"$T/out"
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	echo "3 MiB at 2 MiB/s took $ms ms"
	[ "$ms" -ge 1300 ]
	[ "$ms" -lt 4000 ]
	cmp "$T/rand" "$T/out"
}

@test "transport: the listener binds loopback, refuses strangers with one line, times out" {
	# not loopback, no --allow: refuses to start
	run sh -c 'stream-recv --listen 0.0.0.0:0 --insecure </dev/null >/dev/null'
	echo "$output"
	[ "$status" -eq 100 ]
	[[ "$output" == *"takes --allow"* ]]
	run sh -c 'stream-recv --allow 127.0.0.1 >/dev/null </dev/null'
	[ "$status" -eq 100 ]
	run sh -c 'stream-recv --listen 127.0.0.1:0 --allow 10.0.0.0/33 >/dev/null </dev/null'
	[ "$status" -eq 100 ]
	[[ "$output" == *"not an address or a range"* ]]
	# by default the listener is on 127.0.0.1
	start_recv "$T/o" "$T/e0" --timeout 1
	status=0; wait "$RPID" || status=$?
	[ "$status" -eq 111 ]
	grep -q "no connection within 1 s" "$T/e0"
	# a loopback peer outside --allow is refused, logged, and gets nothing
	echo hello >"$T/hello"
	start_recv "$T/o" "$T/e1" --timeout 2 --allow 192.0.2.0/24 --allow ::1
	run stream-send --insecure --timeout 2 "127.0.0.1:$PORT" <"$T/hello"
	echo "$output"
	[ "$status" -eq 111 ]
	status=0; wait "$RPID" || status=$?
	cat "$T/e1"
	[ "$status" -eq 111 ]
	[ "$(grep -c "refused a connection from 127.0.0.1:[0-9]*: not in --allow" "$T/e1")" -eq 1 ]
	[ ! -s "$T/o" ]
}

@test "transport: an idle sender times out; the sender fails on a refused or broken connection" {
	start_recv "$T/o" "$T/e" --timeout 1
	(sleep 4 | stream-send --insecure --timeout 5 "127.0.0.1:$PORT" 2>"$T/serr" 3>&-) &
	spid=$!
	status=0; wait "$RPID" || status=$?
	[ "$status" -eq 111 ]
	grep -q "nothing received for 1 s" "$T/e"
	status=0; wait "$spid" || status=$?
	[ "$status" -ne 0 ]
	# nobody listens
	run stream-send --insecure --timeout 2 "127.0.0.1:$PORT" </dev/null
	echo "$output"
	[ "$status" -eq 111 ]
	[[ "$output" == *"Connection refused"* ]]
	# the receiver dies mid-stream
	head -c 64M /dev/urandom >"$T/rand"
	start_recv "$T/o2" "$T/e2" --timeout 5
	(sleep 0.3; kill -KILL "$RPID") &
	run stream-send --insecure --rate 16M --timeout 5 "127.0.0.1:$PORT" <"$T/rand"
	echo "$output"
	[ "$status" -eq 111 ]
}

@test "transport: stream-recv stops waiting for input once the reader of its output is gone" {
	# a receiver that died while its sender waits for its answer (the
	# handshake's ready): a relay that waited on would keep ssh, and the
	# sender, waiting until a timeout
	mkfifo "$T/in"
	( { echo hello; exec sleep 60; } >"$T/in" ) &
	BGPIDS=$!
	run timeout 20 bash -c '(stream-recv <"$T/in" 2>"$T/err"; echo $? >"$T/rc") |
	    head -c 6 >/dev/null'
	cat "$T/err"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/rc")" -eq 111 ]
	grep -q "the reader of the output is gone" "$T/err"
	# a reader that had all it wanted, the input ending soon after: no error
	run bash -c '{ echo hello; sleep 1; } | stream-send | stream-recv | head -c 6 >/dev/null
	    echo "statuses ${PIPESTATUS[*]}"'
	echo "$output"
	[ "$output" = "statuses 0 0 0 0" ]
}

# ---- two hosts: network namespaces joined by a veth pair ----

wait_listening() {	# wait_listening ERRFILE
	local i
	for i in $(seq 100); do
		grep -q "listening on" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	cat "$1"
	return 1
}

# The source after a failed migration: running, intact, log-dirty off.
source_unharmed() {
	[ "$(sim_field "$HOSTA" d '["state"]')" = running ]
	simdom check d
	[ "$(sim_field "$HOSTA" d '["logdirty"]')" = False ]
	[ "$(sim_field "$HOSTA" d '["workload"]["throttle_pct"]')" = 100 ]
}

@test "netns: a live migration from host A to host B over TCP with a key; the destination guest is intact" {
	setup_netns
	(umask 077 && openssl rand -hex 32 >"$T/psk")
	simdom create d --memory 64M --dirty-rate 20000
	sleep 0.2
	ip netns exec "$NSB" env XENPIPE_SIM_DIR="$HOSTB" PSK="$T/psk" sh -c \
	    'stream-recv -v --listen 192.0.2.2:8002 --psk "$PSK" --allow 192.0.2.1 --timeout 20 |
	    dom-resume' >"$T/resumed" 2>"$T/rerr" 3>&- &
	rpid=$!
	BGPIDS=$rpid
	wait_listening "$T/rerr"
	PSK=$T/psk ip netns exec "$NSA" bash -c 'set -o pipefail; mem-dump -l d |
	    dirty-track d | dom-suspend d | stream-send --psk "$PSK" -v --timeout 20 192.0.2.2:8002'
	wait "$rpid"
	cat "$T/rerr"
	grep -q "connection from 192.0.2.1:" "$T/rerr"
	grep -q "TLSv1.3 TLS_AES_128_GCM_SHA256, PSK" "$T/rerr"
	grep -q "^d [0-9]" "$T/resumed"
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	[ "$(sim_field "$HOSTB" d '["state"]')" = running ]
	[ "$(sim_field "$HOSTA" d '["state"]')" = suspended ]
}

@test "netns: a peer outside --allow is refused and logged; the allowed one gets through" {
	setup_netns
	make_stream 16M
	ip netns exec "$NSB" stream-recv --listen 192.0.2.2:8002 --insecure --allow 192.0.2.1 \
	    --timeout 10 >"$T/out" 2>"$T/rerr" 3>&- &
	rpid=$!
	BGPIDS=$rpid
	sleep 0.3
	# from host B's own address: not allowed
	run ip netns exec "$NSB" stream-send --insecure --timeout 3 192.0.2.2:8002 <"$T/plain"
	echo "$output"
	[ "$status" -eq 111 ]
	ip netns exec "$NSA" stream-send --insecure --timeout 10 192.0.2.2:8002 <"$T/plain"
	wait "$rpid"
	cat "$T/rerr"
	[ "$(grep -c "refused a connection from 192.0.2.2:[0-9]*: not in --allow" "$T/rerr")" -eq 1 ]
	cmp "$T/plain" "$T/out"
	# the default listener is loopback only: host A cannot reach it
	ip netns exec "$NSB" stream-recv --listen 8003 --insecure --timeout 2 >/dev/null 2>&1 3>&- &
	BGPIDS=$!
	sleep 0.3
	run ip netns exec "$NSA" stream-send --insecure --timeout 2 192.0.2.2:8003 <"$T/plain"
	[ "$status" -eq 111 ]
	[[ "$output" == *"refused"* ]]
}

@test "netns: the link pulled down mid-transfer leaves the source running and no domain on B" {
	setup_netns
	simdom create d --memory 128M --dirty-rate 20000 --zero 0
	sleep 0.2
	ip netns exec "$NSB" env XENPIPE_SIM_DIR="$HOSTB" sh -c \
	    'stream-recv -v --listen 192.0.2.2:8002 --insecure --allow 192.0.2.1 --timeout 2 |
	    dom-resume' >/dev/null 2>"$T/rerr" 3>&- &
	rpid=$!
	wait_listening "$T/rerr"
	ip netns exec "$NSA" bash -c 'set -o pipefail; mem-dump -l d |
	    dirty-track d | dom-suspend d |
	    stream-send --insecure --rate 16M --timeout 2 192.0.2.2:8002' 2>"$T/serr" 3>&- &
	spid=$!
	BGPIDS="$rpid $spid"
	sleep 1
	ip -n "$NSA" link set vA down
	rs=0; wait "$rpid" || rs=$?
	ss=0; wait "$spid" || ss=$?
	cat "$T/rerr" "$T/serr"
	[ "$rs" -ne 0 ]
	[ "$ss" -ne 0 ]
	grep -q "(--timeout)" "$T/serr"
	source_unharmed
	[ -z "$(entries_on "$HOSTB")" ]
}

# ---- dom-migrate between two simulated hosts ----

@test "dom-migrate: live over ssh moves the guest and destroys the source; cold too" {
	make_fakessh "$T/ssh"
	simdom create d --memory 32M --dirty-rate 10000
	sleep 0.2
	run dom-migrate --ssh-command "$T/ssh" --downtime 100 d hostb
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"d "[0-9]* ]]
	[ -z "$(domains_on "$HOSTA")" ]
	[ -z "$(entries_on "$HOSTA")" ]
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	[ "$(sim_field "$HOSTB" d '["state"]')" = running ]

	simdom create c --memory 16M
	dom-migrate --cold --ssh-command "$T/ssh" c hostb
	[ -z "$(domains_on "$HOSTA")" ]
	XENPIPE_SIM_DIR=$HOSTB simdom check c
}

@test "dom-migrate: a failing receiver leaves the source running and intact" {
	make_fakessh "$T/ssh"
	simdom create d --memory 32M --dirty-rate 10000
	# B already runs a domain of its own called d: its policy refuses the
	# stream before it builds anything
	XENPIPE_SIM_DIR=$HOSTB simdom create d --memory 16M
	run dom-migrate --ssh-command "$T/ssh" d hostb
	echo "$output"
	[ "$status" -eq 11 ]
	[[ "$output" == *"policy: c_info.name: domain 1 is already called d here"* ]]
	[[ "$output" == *"did not take d before the go"* ]]
	source_unharmed
	[ "$(XENPIPE_SIM_DIR=$HOSTB simdom list | grep -c '^d ')" -eq 1 ]
	# B runs a twin of d (its UUID: the policy takes it for this
	# migration's source): its copy cannot take the name at the go, and is
	# destroyed; the source gets its name back and runs
	destroy_all "$HOSTB"
	dom-suspend -c d </dev/null | XENPIPE_SIM_DIR=$HOSTB dom-resume >/dev/null
	run dom-migrate --ssh-command "$T/ssh" d hostb
	echo "$output"
	[ "$status" -eq 11 ]
	[[ "$output" == *"failed to start its copy after the go and destroyed it"* ]]
	source_unharmed
	[ "$(XENPIPE_SIM_DIR=$HOSTB simdom list | grep -c '^d ')" -eq 1 ]
	# the destination takes the whole stream, then fails: the source was
	# suspended by then, and is resumed in place
	make_fakessh "$T/ssh-fail" "" 127.0.0.1 '"stream-recv >/dev/null; exit 1"'
	run dom-migrate --cold --timeout 3 --ssh-command "$T/ssh-fail" d hostb
	echo "$output"
	[ "$status" -eq 11 ]
	[[ "$output" == *"did not take d before the go"* ]]
	source_unharmed
	[ "$(XENPIPE_SIM_DIR=$HOSTB simdom list | grep -c '^d ')" -eq 1 ]
	# a domain that is not running here is not touched
	run dom-migrate --ssh-command "$T/ssh" nosuch hostb
	[ "$status" -eq 10 ]
	run dom-migrate --cold --downtime 5 d hostb
	[ "$status" -eq 100 ]
}

@test "dom-migrate --tcp: from host A to host B in network namespaces, ssh carrying only the command" {
	setup_netns
	make_fakessh "$T/ssh" "$NSB" 192.0.2.1
	simdom create d --memory 32M --dirty-rate 10000
	sleep 0.2
	run ip netns exec "$NSA" dom-migrate --tcp 8002 --timeout 10 --ssh-command "$T/ssh" d 192.0.2.2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"connection from 192.0.2.1:"* ]]
	[ -z "$(domains_on "$HOSTA")" ]
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	# a receiver that is not there: the source runs on
	simdom create e --memory 16M
	run ip netns exec "$NSA" dom-migrate --tcp 8002 --timeout 2 \
	    --ssh-command "$T/ssh-none" e 192.0.2.2
	echo "$output"
	[ "$status" -eq 11 ]
	[ "$(sim_field "$HOSTA" e '["state"]')" = running ]
}
