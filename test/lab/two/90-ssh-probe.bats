# The ssh investigation (README: xl migrate over real ssh): data through ssh
# checked end to end, between the hosts and from a host to itself, and xl
# migrate to the same host over real ssh (the one-host lab's failing case).
# Only with lab.ssh_probe=1 (LAB_DOM0_ARGS); LAB_SSH_PROBE_ROUNDS (4).
load lib2

F=$LAB_WORK/probe.bin

setup() {
	[ "${LAB_SSH_PROBE:-0}" = 1 ] || skip "the ssh probe runs with LAB_DOM0_ARGS=lab.ssh_probe=1"
	[ -f $F ] || head -c 48M /dev/urandom > $F
}

# through HOST: 48 MiB of random data through ssh to HOST and back as an
# md5, LAB_SSH_PROBE_ROUNDS times; every mismatch or ssh error said
through() {
	local h=$1 r sum want t bad=0 out
	want=$(md5sum < $F | cut -d' ' -f1)
	for r in $(seq "${LAB_SSH_PROBE_ROUNDS:-4}"); do
		t=$(now)
		out=$(ssh "$h" md5sum < $F 2>&1) || { fig "round $r to $h: ssh failed: $out"; bad=$((bad + 1)); continue; }
		sum=${out%% *}
		[ "$sum" = "$want" ] || { fig "round $r to $h: md5 $sum, sent $want"; bad=$((bad + 1)); }
		fig "round $r to $h: $(since $t)s ${sum:0:8}"
	done
	[ $bad = 0 ]
}

@test "ssh probe: 48 MiB A -> B through ssh, checked, several times" {
	through $B
}

@test "ssh probe: 48 MiB B -> A through ssh, checked" {
	onb sh -c "[ -f $F ] || head -c 48M /dev/urandom > $F"
	want=$(onb md5sum $F | cut -d' ' -f1)
	out=$(onb sh -c "ssh $A md5sum < $F")
	fig "B -> A: md5 ${out%% *}, sent $want"
	[ "${out%% *}" = "$want" ]
}

@test "ssh probe: throughput A -> B of 32 MiB: raw TCP, and ssh with each cipher" {
	local t c port=8009
	head -c 32M $F > $F.32
	onb sh -c "python3 -c 'import socket,sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"0.0.0.0\", $port)); s.listen(1); c, _ = s.accept(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
print(n)' > $LAB_WORK/tcp.n 2>&1 < /dev/null &"
	sleep 3
	t=$(now)
	cat $F.32 > /dev/tcp/$B/$port
	sleep 1
	fig "raw TCP: 32 MiB in $(since $t)s (B got $(onb cat $LAB_WORK/tcp.n))"
	for c in chacha20-poly1305@openssh.com aes128-gcm@openssh.com aes128-ctr; do
		t=$(now)
		ssh -c $c $B 'cat > /dev/null' < $F.32
		fig "ssh -c $c: 32 MiB in $(since $t)s"
	done
	rm -f $F.32
}

@test "ssh probe: 48 MiB A -> A (ssh to this host, the one-host case), checked" {
	through $A
}

@test "ssh probe: xl migrate to this same host over real ssh (the one-host lab's case), 3 times" {
	local r
	guest_on_a
	for r in 1 2 3; do
		moved a a command xl migrate $G $A
	done
}
