# lib2.bash - what the two-host suites (two/*.bats) share, on top of lib.bash.
# They run in dom0 A (192.0.2.1) and drive dom0 B (192.0.2.2) over ssh
# (one multiplexed connection, ControlMaster).  ON=b makes lib.bash's
# helpers (xl, xenstore-read, xenstore-list, dom-list: domid, xsr, mg,
# wait_above, guest_intact, op_pause...) act on B; ON= (empty) on A.
# The guest is "labguest" with the shared disk (/dev/xenpipe-shared: A's
# loop device, B's AoE e0.0) and a vif on xenbr0 (192.0.2.10).
load lib

# shellcheck disable=SC2034 # the suites use A
A=192.0.2.1
B=192.0.2.2
ON=
LAB_GUEST_IP=192.0.2.10

SHARED=/dev/xenpipe-shared
# memguard's writes a second: its default 1000 (4 MB/s) is about all that
# ssh carries here (4.5 MB/s, README), so that no live migration converged
# (xl's and dirty-track's 8 rounds, then seconds of pause); 200 is 0.8 MB/s
LAB_MG_RATE=${LAB_MG_RATE:-200}
# the guest's memory: at lib.bash's 160 MiB (memguard's 64 of it) the
# guest's kernel OOM-killed memguard after about ten moves, on pv as on
# pvh: it keeps about 1 MB a resume, xl's too (README, two hosts); 256 MiB
# shellcheck disable=SC2034 # lib.bash's create_guest reads it
GUEST_MEM=${LAB_GUEST_MEM:-256}
SSHM=(-o ControlMaster=auto -o "ControlPath=$LAB_WORK/ssh-%h" -o ControlPersist=900)

# onb CMD...: run CMD on B (its words quoted for B's shell)
onb() { ssh "${SSHM[@]}" $B "$(printf '%q ' "$@")"; }
# here CMD...: on A, or on B when ON=b
here() { if [ -n "$ON" ]; then onb "$@"; else command "$@"; fi; }
xl() { here xl "$@"; }
xenstore-read() { here xenstore-read "$@"; }
xenstore-list() { here xenstore-list "$@"; }
dom-list() { here dom-list "$@"; }

# lib.bash's device setup, for the shared disk: the bridge is there
# (dom0-two.sh), the disk is /dev/xenpipe-shared on either host
lab_devices_setup() {
	[ -b $SHARED ] || { fig "no $SHARED on A"; return 1; }
	echo $SHARED > $LAB_WORK/$G.loop
	dd if=$SHARED bs=1M count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1 > $LAB_WORK/$G.disksum
}
lab_devices_teardown() { :; }
# the record the guest last wrote at 1 MiB, read where the guest runs
disk_record() {
	here dd if=$SHARED bs=512 skip=2048 count=1 iflag=direct 2>/dev/null |
	    tr -d '\0' | sed 's/ *$//'
}
# net_ok from lib.bash pings from A; ping_from_b pings from B
ping_from_b() {
	local out
	out=$(onb ping -c 3 -W 2 $LAB_GUEST_IP 2>&1) ||
	    { fig "no answer to B's ping: $(echo "$out" | tail -n 2 | tr '\n' ' ')"; return 1; }
	fig "ping from B: $(echo "$out" | grep -o '[0-9]* received'), $(echo "$out" | grep '^rtt')"
}

# where_is: the hosts $G exists on ("a", "b", "a b" or ""), and whether it
# runs there: "a:running" etc. (xl list's state letters)
where_is() {
	local w=
	command xl domid $G >/dev/null 2>&1 && w="a"
	onb xl domid $G >/dev/null 2>&1 && w="${w:+$w }b"
	echo "$w"
}
# others: domains other than Domain-0 and $G on either host (leftovers)
others() {
	{ command xl list; onb xl list; } 2>/dev/null |
	    awk -v g=$G '$1 != "Name" && $1 != "Domain-0" && $1 != g { print $1 }'
}

# moved FROM TO OP...: run OP, which moves $G from host FROM to TO (a|b),
# and check it is the same guest there: on exactly one host (TO), boot id
# kept, counter and memguard ticks on, no corruption, disk read on the
# shared disk, ping from both dom0s; its pause printed.
moved() {
	local from=$1 to=$2 b0 c0 t0 p0 p1 rp w0 t c ticks
	shift 2
	[ "$from" = a ] && ON= || ON=b
	b0=$(xsr boot_id) c0=$(xsr counter) t0=$(mg ticks) p0=$(mg pauses) w0=$(mg writes)
	p0=${p0:-0}	# memguard publishes pauses from its first one
	[ -n "$b0" ] && [ -n "$c0" ] && [ -n "$t0" ] ||
	    { fig "$G on $from not publishing (boot_id '$b0' counter '$c0' ticks '$t0')"; return 1; }
	t=$(now)
	ON=
	"$@"
	fig "$*: took $(since $t)s"
	[ "$(where_is)" = "$to" ] || { fig "$G is on '$(where_is)', not on $to only"; return 1; }
	[ -z "$(others)" ] || { fig "left over: $(others | tr '\n' ' ')"; return 1; }
	[ "$to" = a ] && ON= || ON=b
	c=$(wait_above counter "$c0" 120)
	ticks=$(wait_above memguard/ticks "$t0" 60)
	[ "$(xsr boot_id)" = "$b0" ] || { fig "boot id changed: $b0 -> $(xsr boot_id)"; return 1; }
	[ "$(mg boot_id)" = "$b0" ]
	[ "$(mg writes)" -gt "$w0" ]
	p1=$(mg pauses) rp=$(mg recent_pauses)
	fig "on $to: domid $(domid), counter $c0 -> $c, memguard ticks $t0 -> $ticks," \
	    "guest-observed pause $(echo "$rp" | awk -v n=$(( ${p1:-0} - p0 )) -v min=$MG_PAUSE_MS '{
		m = 0
		for (i = NF - n + 1; i <= NF; i++)
			if (i > 0 && $i > m)
				m = $i
		print (m > 0 ? m : "<" min) }') ms" \
	    "(pauses $p0 -> $p1, the last: $rp; max since boot $(mg max_pause_ms) ms)"
	# memory, to follow across moves (a guest OOM-killed memguard after
	# its 11th move at 160 MiB): the guest's, and the target dom0 set
	fig "on $to: guest MemTotal $(xsr mem_total) kB, MemAvailable" \
	    "$(xsr mem_avail) kB; memory/target $(xenstore-read \
	    "/local/domain/$(domid)/memory/target" 2>/dev/null) kB"
	guest_intact
	disk_ok 90
	net_ok 60	# from A, wherever the guest is
	ping_from_b
}

# guest_on_a: $G running on A with its devices (made anew when missing,
# or when it is on B, or not counting)
guest_on_a() {
	case " $(where_is) " in
	*" b "*) fig "$G on B: destroyed there"; onb xl destroy $G || :;;
	esac
	ON=
	LAB_DEVICES=1 devguest_ensure
}
