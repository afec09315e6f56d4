#!/usr/bin/env bats
# stream-recv's bounds against a hostile sender: the memory of its decoder
# whatever --threads says (LZ4 bombs), and the time a peer may hold it
# (a trickle inside the idle timeout, a whole-transfer deadline); then a
# slow but real transfer, which the defaults let through.

load lib/common

RECV_MEM_MIB=64		# LZP_RECV_MEM: stream-recv(1), lz4pipe.h
ALLOWANCE_MIB=16	# over the program's own peak on a tiny stream

setup() {
	setup_sim
	BOMB="$BATS_TEST_DIRNAME/lib/lz4bomb.py"
}

teardown() {
	kill_bg
	teardown_sim
}

# peak_kib OUT CMD...: run CMD (stdout to OUT), its peak RSS in KiB in
# $PEAK and its status in $RC
peak_kib() {
	local out=$1
	shift
	RC=0
	/usr/bin/time -f %M -o "$T/time" "$@" >"$out" 2>"$T/err" || RC=$?
	PEAK=$(tail -n 1 "$T/time")
}

need_time() {
	[ -x /usr/bin/time ] || skip "no /usr/bin/time (apt-get install time)"
}

# The program's own peak, on one small frame; the limit over it.
own_peak() {
	printf 'hello\n' | stream-send >"$T/tiny"
	peak_kib /dev/null stream-recv <"$T/tiny"
	[ "$RC" -eq 0 ]
	OWN=$PEAK
	LIMIT=$((OWN + (RECV_MEM_MIB + ALLOWANCE_MIB) * 1024))
	echo "# stream-recv alone: $((OWN / 1024)) MiB; limit $((LIMIT / 1024)) MiB" >&3
}

@test "limits: an LZ4 bomb (frames that each decode to the maximum) keeps stream-recv within its bound at any --threads" {
	need_time
	own_peak
	# 64 frames of 4 MiB of zeros (the largest stream-recv takes), 1 MiB on the wire
	python3 "$BOMB" 4M 64 >"$T/bomb"
	[ "$(stat -c %s "$T/bomb")" -lt $((2 << 20)) ]
	for n in 1 2 8 64; do
		peak_kib "$T/out" stream-recv --threads "$n" <"$T/bomb"
		cat "$T/err"
		echo "# bomb, 64 frames of 4 MiB, --threads $n: peak $((PEAK / 1024)) MiB" >&3
		[ "$RC" -eq 0 ]
		[ "$(stat -c %s "$T/out")" -eq $((256 << 20)) ]
		rm "$T/out"
		[ "$PEAK" -le "$LIMIT" ]
	done
	# frames of 64 MiB (the old limit: 0.8 GB at 8 threads) are refused at once
	python3 "$BOMB" 64M 12 >"$T/bomb64"
	peak_kib /dev/null stream-recv --threads 8 <"$T/bomb64"
	cat "$T/err"
	echo "# bomb, 12 frames of 64 MiB, --threads 8: peak $((PEAK / 1024)) MiB, status $RC" >&3
	[ "$RC" -eq 2 ]
	grep -q "^stream-recv: frame at offset 0 is larger than 4 MiB" "$T/err"
	[ "$PEAK" -le "$LIMIT" ]
	# the same without a content size: the blocks count
	python3 "$BOMB" 64M 2 --no-content-size >"$T/bomb64n"
	run sh -c 'stream-recv <"$T/bomb64n" >/dev/null'
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"frame at offset 0 is larger than 4 MiB"* ]]
	# no more blocks than the declared content takes (64 KiB blocks, 4 MiB
	# of them, declared as 64 KiB)
	python3 "$BOMB" 4M 1 --block 64K --declare 64K >"$T/lie"
	run sh -c 'stream-recv <"$T/lie" >/dev/null'
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"frame at offset 0 has more blocks than its 65536 bytes take"* ]]
	# linked blocks (lz4 -BD) would keep their history in LZ4F's own buffers
	head -c 1M /dev/zero | lz4 -q -BD -B4 >"$T/linked"
	run sh -c 'stream-recv <"$T/linked" >/dev/null'
	[ "$status" -eq 2 ]
	[[ "$output" == *"frame at offset 0 has linked blocks"* ]]
}

@test "limits: incompressible frames (full input and output buffers) keep stream-recv within its bound" {
	need_time
	own_peak
	head -c 64M /dev/urandom >"$T/rand"
	stream-send <"$T/rand" >"$T/rand.lz4"
	for n in 2 8; do
		peak_kib "$T/out" stream-recv --threads "$n" <"$T/rand.lz4"
		echo "# 64 MiB incompressible, --threads $n: peak $((PEAK / 1024)) MiB" >&3
		[ "$RC" -eq 0 ]
		cmp "$T/rand" "$T/out"
		[ "$PEAK" -le "$LIMIT" ]
	done
}

# start_trickle PORT GAP: trickle.py in the background, once python started
start_trickle() {
	python3 "$BATS_TEST_DIRNAME/lib/trickle.py" "$1" "$2" "$T/ready" 2>"$T/terr" &
	BGPIDS="${BGPIDS:-} $!"
	for _ in $(seq 200); do
		[ -s "$T/ready" ] && return 0
		sleep 0.05
	done
	return 1
}

@test "limits: a peer that sends a byte every 1.5 s to a --timeout 2 listener is cut off after 2 s, in one line naming it and the rate" {
	PORT=$(free_port)
	start_trickle "$PORT" 1.5
	t0=$(date +%s%N)
	rc=0
	timeout 30 stream-recv --listen "127.0.0.1:$PORT" --insecure --timeout 2 >"$T/out" 2>"$T/err" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	cat "$T/err"
	echo "# trickle: cut off after $ms ms, status $rc: $(cat "$T/err")" >&3
	[ "$rc" -eq 111 ]
	[ "$ms" -ge 2000 ]
	[ "$ms" -lt 6000 ]
	[ "$(wc -l <"$T/err")" -eq 1 ]
	grep -Eq '^stream-recv: from 127\.0\.0\.1:[0-9]+: [0-9] bytes in the last 2 s \([0-9] bytes/s\), slower than --min-rate 16384: cut off at offset [0-9]$' "$T/err"
	[ ! -s "$T/out" ]
}

@test "limits: --min-rate on standard input, --deadline for the whole transfer, 0 turns the rate off" {
	# 10 bytes every 0.2 s: 50 bytes/s, under --min-rate 1K over 1 s
	run bash -c 'for i in $(seq 30); do printf 0123456789; sleep 0.2; done |
	    stream-recv --timeout 1 --min-rate 1K >/dev/null'
	echo "$output"
	[ "$status" -eq 111 ]
	[[ "$output" =~ ^"stream-recv: "[0-9]+" bytes in the last 1 s ("[0-9]+" bytes/s), slower than --min-rate 1024: cut off at offset "[0-9]+$ ]]
	# the same rate is fine once --min-rate is 0; --deadline cuts it
	PORT=$(free_port)
	start_trickle "$PORT" 0.2
	t0=$(date +%s%N)
	rc=0
	timeout 30 stream-recv --listen "127.0.0.1:$PORT" --insecure --min-rate 0 --deadline 3 \
	    --timeout 1 >/dev/null 2>"$T/err" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	cat "$T/err"
	echo "# --deadline 3: cut off after $ms ms" >&3
	[ "$rc" -eq 111 ]
	[ "$ms" -ge 3000 ]
	[ "$ms" -lt 6000 ]
	[ "$(wc -l <"$T/err")" -eq 1 ]
	grep -Eq '^stream-recv: from 127\.0\.0\.1:[0-9]+: not done within --deadline 3 s: cut off at offset [0-9]+$' "$T/err"
	run stream-recv --min-rate fast </dev/null
	[ "$status" -eq 100 ]
	run stream-recv --deadline 0 </dev/null
	[ "$status" -eq 100 ]
}

@test "limits: with the defaults, a slow but real sender (32 KiB/s) and one that pauses inside --timeout get through" {
	# twice the default --min-rate, judged over a --timeout of 2 s
	head -c 160K /dev/urandom >"$T/rand"
	start_recv "$T/out" "$T/err" --timeout 2
	t0=$(date +%s%N)
	rc=0
	stream-send --insecure --rate 32K "127.0.0.1:$PORT" <"$T/rand" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	rs=0
	wait "$RPID" || rs=$?
	cat "$T/err"
	[ "$rc" -eq 0 ]
	[ "$rs" -eq 0 ]
	echo "# 160 KiB at 32 KiB/s: $ms ms" >&3
	[ "$ms" -ge 3000 ]
	cmp "$T/rand" "$T/out"
	# a burst, a pause of half the timeout (a handover's wait for the
	# go), the rest: the window over the pause still holds the burst
	head -c 4M /dev/urandom >"$T/a"
	start_recv "$T/out2" "$T/err2" --timeout 4
	rc=0
	{ cat "$T/a"; sleep 2; cat "$T/a"; } | stream-send --insecure "127.0.0.1:$PORT" || rc=$?
	rs=0
	wait "$RPID" || rs=$?
	cat "$T/err2"
	[ "$rc" -eq 0 ]
	[ "$rs" -eq 0 ]
	cmp <(cat "$T/a" "$T/a") "$T/out2"
}
