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
