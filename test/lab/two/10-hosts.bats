# The two hosts: both up, the link, ssh each way with this run's keys, the
# shared disk the same on both.  Runs in dom0 A.
load lib2

# up to 5 minutes for B (booted next to A, it may be later)
wait_b() {
	for _ in $(seq 150); do
		onb true 2>/dev/null && return 0
		sleep 2
	done
	return 1
}

@test "both hosts up: B answers over ssh, each runs Xen with its dom0" {
	local t
	t=$(now)
	wait_b || { fig "no ssh to B within 300 s: $(ssh -v $B true 2>&1 | tail -n 3 | tr '\n' ' ')"; false; }
	fig "B reached over ssh after $(since $t)s of this test; A up $(cut -d' ' -f1 /proc/uptime)s, B up $(onb cut -d' ' -f1 /proc/uptime)s"
	[ "$(command xl list | awk '$1 == "Domain-0" { print $1 }')" = Domain-0 ]
	[ "$(onb xl list | awk '$1 == "Domain-0" { print $1 }')" = Domain-0 ]
	fig "A: $(command xl info | awk '/^xen_(version|extra)/ { printf "%s ", $3 }'), B: $(onb hostname)"
}

@test "ping each way over the link (xenbr0)" {
	local out
	out=$(ping -c 5 -i 0.3 $B)
	fig "A -> B: $(echo "$out" | grep -o '[0-9]* received'), $(echo "$out" | grep '^rtt')"
	out=$(onb ping -c 5 -i 0.3 $A)
	fig "B -> A: $(echo "$out" | grep -o '[0-9]* received'), $(echo "$out" | grep '^rtt')"
}

@test "ssh each way, key-based, host keys checked (no control master)" {
	local t
	t=$(now)
	[ "$(ssh $B hostname)" = xenlab-b ]
	fig "A -> B: ssh hostname in $(since $t)s"
	t=$(now)
	[ "$(onb ssh $A hostname)" = xenlab-a ]
	fig "B -> A (through A's master to B): $(since $t)s"
	# a wrong host key is refused
	run ssh -o UserKnownHostsFile=/dev/null $B true
	[ "$status" -ne 0 ]
}

@test "ssh throughput A -> B: 64 MiB through ssh" {
	local t n
	t=$(now)
	n=$(head -c 64M /dev/zero | ssh $B 'wc -c')
	[ "$n" -eq 67108864 ]
	fig "64 MiB A -> B through ssh ($(ssh -G $B | awk '$1 == "ciphers" { print $2 }' | cut -d, -f1)): $(since $t)s"
}

@test "shared disk: /dev/xenpipe-shared on both, the same contents, a write on B seen on A" {
	local sa sb rec
	[ -b $SHARED ] && onb test -b $SHARED
	fig "A: $SHARED -> $(readlink $SHARED), B: $SHARED -> $(onb readlink $SHARED)"
	sa=$(dd if=$SHARED bs=1M count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
	sb=$(onb sh -c "dd if=$SHARED bs=1M count=1 iflag=direct 2>/dev/null | md5sum" | cut -d' ' -f1)
	fig "first MiB md5: A $sa, B $sb"
	[ "$sa" = "$sb" ]
	# a sector past the guest's (its record is at 1 MiB): B writes, A reads
	rec="two-host-lab $(date +%s.%N)"
	onb sh -c "printf '%-512s' '$rec' | dd of=$SHARED bs=512 seek=4096 count=1 oflag=direct 2>/dev/null"
	[ "$(dd if=$SHARED bs=512 skip=4096 count=1 iflag=direct 2>/dev/null | sed 's/ *$//')" = "$rec" ]
	rec="two-host-lab A $(date +%s.%N)"
	printf '%-512s' "$rec" | dd of=$SHARED bs=512 seek=4097 count=1 oflag=direct 2>/dev/null
	[ "$(onb dd if=$SHARED bs=512 skip=4097 count=1 iflag=direct 2>/dev/null | sed 's/ *$//')" = "$rec" ]
}

@test "the guest boots on A with the shared disk and a bridged vif; B pings it" {
	local t
	t=$(now)
	guest_on_a
	fig "$G up on A in $(since $t)s: disk reads $(xsr disk_reads), net $(xsr net)"
	[ "$(where_is)" = a ]
	disk_ok 60
	net_ok 60
	ping_from_b
}
