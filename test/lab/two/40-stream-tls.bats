# The stream between the hosts over TCP with stream-send | stream-recv
# --listen, once with a pre-shared key (--psk FILE, TLS) and once in the
# clear (--insecure).  Until stream-recv has these options (the TLS work in
# progress) each test skips, saying so; they run as soon as it lands.
load lib2

ERR=$LAB_WORK/err
PORT=8003

setup() {
	command -v stream-recv >/dev/null || skip "xenpipe not built (no build/stream-recv)"
}

# has OPTION: both ends know it (their --help names it)
has() {
	stream-recv --help 2>&1 | grep -q -- "$1" && stream-send --help 2>&1 | grep -q -- "$1" &&
	    onb sh -c "stream-recv --help 2>&1" | grep -q -- "$1"
}

# send_to_b OPTS...: the cold move over TCP: B listens (stream-recv
# --listen OPTS | dom-resume, started over ssh), A sends (dom-suspend |
# stream-send OPTS B:PORT); B's status comes back
send_to_b() {
	set -o pipefail
	onb sh -c "stream-recv -v --listen 0.0.0.0:$PORT --allow $A --timeout 120 $* | dom-resume -v > $ERR.b 2>&1; echo \$? > $ERR.rc" &
	local w=$!
	for _ in $(seq 60); do
		onb sh -c "ss -Htln 'sport = :$PORT' | grep -q ." && break
		sleep 1
	done
	local id
	id=$(command xl domid $G)
	dom-suspend -v $G 2> $ERR < /dev/null | stream-send -v "$@" $B:$PORT
	wait $w
	fig "A: $(tr '\n' ' ' < $ERR | cut -c1-200) B: $(onb cat $ERR.b | tr '\n' ' ' | cut -c1-200)"
	[ "$(onb cat $ERR.rc)" = 0 ]
	# no handshake: the source is left suspended here; its copy runs on B
	command xl destroy "$id"
}
# send_to_a OPTS...: the same from B to A
send_to_a() {
	set -o pipefail
	stream-recv -v --listen 0.0.0.0:$PORT --allow $B --timeout 120 "$@" 2> $ERR.b | dom-resume -v 2>> $ERR.b &
	local w=$!
	for _ in $(seq 60); do
		ss -Htln "sport = :$PORT" | grep -q . && break
		sleep 1
	done
	local id
	id=$(onb xl domid $G)
	onb bash -c "set -o pipefail; dom-suspend -v $G 2>$ERR </dev/null | stream-send -v $* $A:$PORT"
	wait $w
	fig "B: $(onb cat $ERR | tr '\n' ' ' | cut -c1-200) A: $(tr '\n' ' ' < $ERR.b | cut -c1-200)"
	onb xl destroy "$id"
}

@test "stream over TCP with TLS (--psk FILE), A -> B -> A" {
	has --psk || skip "stream-recv/stream-send have no --psk yet (the TLS work): nothing to test"
	guest_on_a
	# one key for both ends, made here, copied to B
	# (mode 0600 on both: the programs refuse a key others can read)
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > $LAB_WORK/psk)
	onb sh -c "umask 077 && cat > $LAB_WORK/psk" < $LAB_WORK/psk
	moved a b send_to_b --psk $LAB_WORK/psk
	moved b a send_to_a --psk $LAB_WORK/psk
}

@test "stream over TCP in the clear (--insecure), A -> B -> A" {
	has --insecure || skip "stream-recv/stream-send have no --insecure yet (the TLS work): nothing to test"
	guest_on_a
	moved a b send_to_b --insecure
	moved b a send_to_a --insecure
}
