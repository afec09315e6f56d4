# lib.bash - what the lab's bats files share; they run in dom0 (dom0-run.sh).
# The guest "labguest" is created by 10-boot.bats and kept running across
# files; a later file alone creates it when it is missing.  Figures go to
# fd 3, so they show in the TAP output as "# ..." lines.  Every xl command
# that leaves a daemon behind (create, restore, migrate) runs with fd 3 on
# /dev/null, or bats waits for that daemon at the end (closing fd 3 instead
# made xl create segfault).

G=${G:-labguest}
: "${LAB_GUEST:=pvh}" "${LAB_WORK:=/tmp/lab}"
GUEST_MEM=${LAB_GUEST_MEM:-160}		# MiB
# memguard counts a gap of this many ms between its 20 ms ticks as a pause:
# idle, TCG's jitter stays under 140 ms; its own default of 500 ms hid a
# live migration's shorter pause, which then read as 0
MG_PAUSE_MS=200
SAVE=$LAB_WORK/$G.save			# 20-save-restore.bats keeps it for 30-

fig() { printf '# %s\n' "$*" >&3; }
now() { date +%s.%N; }
since() { awk -v t="$1" -v n="$(now)" 'BEGIN { printf "%.1f", n - t }'; }
domid() { xl domid $G 2>/dev/null; }
# data/KEY of the guest, published by guest-init.sh and memguard
xsr() { xenstore-read "/local/domain/$(domid)/data/$1" 2>/dev/null; }
mg() { xsr "memguard/$1"; }

# wait_above KEY N [SECONDS]: until data/KEY > N; prints the value
wait_above() {
	local end=$(( $(date +%s) + ${3:-90} )) v
	while [ "$(date +%s)" -lt $end ]; do
		v=$(xsr "$1") || v=
		if [ -n "$v" ] && [ "$v" -gt "$2" ]; then
			echo "$v"
			return 0
		fi
		sleep 1
	done
	echo "timeout waiting for data/$1 > $2 (last: ${v:-none})" >&2
	return 1
}

# create_guest: xl create $G.  LAB_DEVICES=1 gives it a disk (xvda, phy: on
# a loop device in dom0) and a vif on the bridge xenbr0 (lab_devices_setup).
create_guest() {
	local xextra=
	if [ "${LAB_DEVICES:-0}" = 1 ]; then
		lab_devices_setup
		xextra=" lab_ip=$LAB_GUEST_IP/24"
	fi
	cat > $LAB_WORK/$G.cfg <<EOC
name = "$G"
type = "$LAB_GUEST"
kernel = "$LAB_WORK/vmlinuz"
ramdisk = "$LAB_WORK/initrd.gz"
extra = "console=hvc0 loglevel=4 mg_mib=${LAB_MG_MIB:-64} mg_rate=${LAB_MG_RATE:-1000} mg_pause=$MG_PAUSE_MS$xextra"
memory = $GUEST_MEM
maxmem = $GUEST_MEM
vcpus = 1
on_crash = "preserve"
EOC
	# the guests' own CPU, away from dom0's (dom0-run.sh, README)
	[ -n "${LAB_POOL:-}" ] && xl cpupool-list $LAB_POOL >/dev/null 2>&1 &&
	    echo "pool = \"$LAB_POOL\"" >> $LAB_WORK/$G.cfg
	if [ "${LAB_DEVICES:-0}" = 1 ]; then
		cat >> $LAB_WORK/$G.cfg <<EOC
disk = ['phy:$(cat $LAB_WORK/$G.loop),xvda,w']
vif = ['bridge=$LAB_BR,mac=$LAB_GUEST_MAC']
EOC
	fi
	# xl itself sometimes segfaults under TCG: one more try, said aloud
	xl create $LAB_WORK/$G.cfg 3>/dev/null && return 0
	fig "xl create failed (status $?), destroying and trying once more"
	xl destroy $G 2>/dev/null || true
	xl create $LAB_WORK/$G.cfg 3>/dev/null
}

ensure_guest() {
	xl domid $G >/dev/null 2>&1 && return 0
	create_guest
	wait_above counter 0 180 >/dev/null
	wait_above memguard/ticks 0 60 >/dev/null
}

# The guest is healthy: memguard found no bad page.
guest_intact() {
	local st bad
	st=$(mg status) bad=$(mg bad)
	if [ "$st" != ok ] || [ "$bad" != 0 ]; then
		fig "memguard: status=$st bad=$bad first_bad=$(mg first_bad)"
		return 1
	fi
}

# op_pause P0: the longest pause memguard saw since its pause count was P0;
# "<MG_PAUSE_MS" when there was none
op_pause() {
	echo "$(mg recent_pauses)" | awk -v n=$(( $(mg pauses) - $1 )) -v min=$MG_PAUSE_MS '{
		m = 0
		for (i = NF - n + 1; i <= NF; i++)
			if (i > 0 && $i > m)
				m = $i
		print (m > 0 ? m : "<" min)
	}'
}

# keep_running OP...: run a save/restore-like operation on the guest and check
# it comes back the same (boot id, counters on, no corruption); figures.
keep_running() {
	local b0 c0 t0 p0 w0 t c ticks
	b0=$(xsr boot_id) c0=$(xsr counter) t0=$(mg ticks) p0=$(mg pauses) w0=$(mg writes)
	[ -n "$b0" ] || { fig "no boot id before: $*"; return 1; }
	[ -n "$c0" ] || { fig "no counter before: $*"; return 1; }
	[ -n "$t0" ] || { fig "no memguard ticks before: $*"; return 1; }
	t=$(now)
	"$@"
	fig "$*: took $(since $t)s"
	c=$(wait_above counter "$c0" 120)
	ticks=$(wait_above memguard/ticks "$t0" 60)
	[ "$(xsr boot_id)" = "$b0" ] || { fig "boot id changed: $b0 -> $(xsr boot_id)"; return 1; }
	[ "$(mg boot_id)" = "$b0" ]
	[ "$(mg writes)" -gt "$w0" ]
	fig "guest domid $(domid), counter $c0 -> $c, memguard ticks $t0 -> $ticks," \
	    "guest-observed pause $(op_pause "$p0") ms (max since boot $(mg max_pause_ms) ms)"
	guest_intact
}

# labguest_create NAME [pvh|pv]: another guest like labguest, for work by
# hand in the lab (test/lab/shell.sh); waits until memguard runs.
labguest_create() {
	(
		G=$1 LAB_GUEST=${2:-$LAB_GUEST}
		ensure_guest
		echo "$G: domid $(domid), counter $(xsr counter), memguard $(mg status)"
	)
}

# ---- Devices: a guest with a disk and a network (LAB_DEVICES=1) ----------
# The guest (guest-init.sh) reads its disk xvda every 3 s with O_DIRECT and
# publishes data/disk (md5 of the first MiB), data/disk_reads (good reads),
# data/disk_bad, data/disk_ok, data/disk_ios (reads xvda completed); it
# writes a record (boot id, reads) at 1 MiB of the disk; eth0 gets
# $LAB_GUEST_IP, published as data/net.  60-devices.bats uses "devguest".
LAB_BR=${LAB_BR:-xenbr0}
LAB_BR_IP=${LAB_BR_IP:-10.99.0.1/24}
LAB_GUEST_IP=${LAB_GUEST_IP:-10.99.0.2}
LAB_GUEST_MAC=${LAB_GUEST_MAC:-00:16:3e:99:00:02}

# lab_devices_setup: dom0's side, idempotent: the bridge $LAB_BR with
# $LAB_BR_IP, the image $LAB_WORK/$G.img (16 MiB, a known first MiB) on a
# loop device, whose name goes to $LAB_WORK/$G.loop and the md5 of its first
# MiB to $LAB_WORK/$G.disksum.  xl runs the hotplug scripts (vif-bridge,
# block) itself: no udev needed.
lab_devices_setup() {
	local img=$LAB_WORK/$G.img loop
	[ -d /sys/module/bridge ] || modprobe bridge
	[ -d /sys/module/loop ] || modprobe loop
	if ! ip link show $LAB_BR >/dev/null 2>&1; then
		ip link add $LAB_BR type bridge stp_state 0 forward_delay 0
		ip addr add $LAB_BR_IP dev $LAB_BR
	fi
	ip link set $LAB_BR up
	if [ ! -f $img ]; then
		awk -v g=$G 'BEGIN { printf "xenpipe-lab-disk %s\n", g
			for (i = 0; i < 40000; i++) printf "xenpipe lab disk, line %06d\n", i }' > $img
		truncate -s 1M $img
		truncate -s 16M $img
	fi
	loop=$(losetup -j $img | cut -d: -f1 | head -n 1)
	[ -n "$loop" ] || loop=$(losetup -f --show $img)
	[ -b "$loop" ]
	echo $loop > $LAB_WORK/$G.loop
	head -c 1M $img | md5sum | cut -d' ' -f1 > $LAB_WORK/$G.disksum
}

# lab_devices_teardown: free the loop device and the image (the guest gone)
lab_devices_teardown() {
	local loop
	loop=$(cat $LAB_WORK/$G.loop 2>/dev/null) || return 0
	losetup -d $loop 2>/dev/null || true
	rm -f $LAB_WORK/$G.img $LAB_WORK/$G.loop $LAB_WORK/$G.disksum
}

# devguest_ensure: the guest $G with devices running, its disk read and its
# network up (what ensure_guest is for labguest).  A $G left by a failed test
# that no longer counts (crashed, or its devices gone) is destroyed and made
# anew, so that one failure does not fail the tests after it.
# (wait_above in $(...): under bats' errexit a missing key, xsr's status 1,
# would end it at once when called directly)
devguest_ensure() {
	local v end c
	if xl domid $G >/dev/null 2>&1; then
		c=$(xsr counter) || c=0
		if ! v=$(wait_above counter "${c:-0}" 30) ||
		    ! v=$(wait_above disk_reads 0 10); then
			fig "devguest_ensure: $G there but not counting or reading its disk: made anew"
			xl destroy $G || :
		fi
	fi
	if ! xl domid $G >/dev/null 2>&1; then
		LAB_DEVICES=1 create_guest
		v=$(wait_above counter 0 180)
		v=$(wait_above memguard/ticks 0 60)
	fi
	v=$(wait_above disk_reads 0 180)
	end=$(( $(date +%s) + 60 ))
	until [ -n "$(xsr net)" ]; do
		[ "$(date +%s)" -lt $end ] || { fig "no data/net from $G"; return 1; }
		sleep 1
	done
}

# skip_pvh_devices WHAT: under QEMU's TCG a PVH guest with a disk and a vif
# triple-faults now and then, fresh from xl create as after a restore
# (README, pitfalls), so the tests that need one for minutes run on pv.
# LAB_PVH_DEVICES=1 (run.sh: LAB_DOM0_ARGS=lab.pvh_devices=1) runs them on pvh.
skip_pvh_devices() {
	[ "$LAB_GUEST" != pvh ] || [ "${LAB_PVH_DEVICES:-0}" = 1 ] ||
	    skip "$1 a PVH guest with devices: under TCG such a guest triple-faults now and then, xl create alone included (README, pitfalls); runs on pv"
}

# disk_record: the record the guest last wrote at 1 MiB of its disk, read in
# dom0 from the loop device (O_DIRECT: not dom0's page cache)
disk_record() {
	dd if=$(cat $LAB_WORK/$G.loop) bs=512 skip=2048 count=1 iflag=direct 2>/dev/null |
	    tr -d '\0' | sed 's/ *$//'
}

# ===== disk_ok, net_ok, devices_ok: what a test calls after a save/restore or
# migration of $G (xl's or xenpipe's) to prove its devices survived. =====
#
# disk_ok [SECONDS]: the guest goes on reading its disk through the backend
# it has now: within SECONDS (60) data/disk_reads grows by 2 and xvda's
# completed reads (data/disk_ios) with it, the content read is the image's
# (data/disk_ok 1, data/disk same md5 as dom0's), no bad read, and the
# record the guest writes to its disk reaches the image with the new count.
disk_ok() {
	local r0 i0 r i sum rec
	r0=$(xsr disk_reads) i0=$(xsr disk_ios)
	[ -n "$r0" ] || { fig "disk_ok: no data/disk_reads"; return 1; }
	r=$(wait_above disk_reads $((r0 + 1)) ${1:-60}) || { fig "disk_ok: disk_reads stuck at $r0"; return 1; }
	i=$(xsr disk_ios)
	sum=$(xsr disk)
	rec=$(disk_record)
	fig "disk: reads $r0 -> $r, xvda completed reads $i0 -> $i, bad $(xsr disk_bad)," \
	    "md5 $sum, record in dom0: ${rec#xenpipe-lab-disk-record }"
	[ "$i" -gt "$i0" ] || { fig "disk_ok: xvda completed no read (cache?)"; return 1; }
	[ "$sum" = "$(cat $LAB_WORK/$G.disksum)" ] || { fig "disk_ok: guest md5 $sum, dom0 $(cat $LAB_WORK/$G.disksum)"; return 1; }
	[ "$(xsr disk_ok)" = 1 ] && [ "$(xsr disk_bad)" = 0 ] || return 1
	case $rec in *"boot_id=$(xsr boot_id) "*) ;; *) fig "disk_ok: record not this boot's"; return 1;; esac
	[ "$(echo "$rec" | sed -n 's/.* reads=\([0-9]*\).*/\1/p')" -gt "$r0" ] ||
	    { fig "disk_ok: the guest's writes do not reach the image"; return 1; }
}

# net_ok [SECONDS]: the guest answers ping -c 3 from dom0 within SECONDS (60);
# figure: the time to the first answer and ping's rtt line
net_ok() {
	local t=$(now) end=$(( $(date +%s) + ${1:-60} )) out
	until out=$(ping -c 3 -W 2 $LAB_GUEST_IP 2>&1); do
		[ "$(date +%s)" -lt $end ] || { fig "net_ok: no answer from $LAB_GUEST_IP: $(echo "$out" | tail -n 2 | tr '\n' ' ')"; return 1; }
		sleep 1
	done
	fig "ping $LAB_GUEST_IP: answered within $(since $t)s," \
	    "$(echo "$out" | grep -o '[0-9]* received'), $(echo "$out" | grep '^rtt')"
}

devices_ok() { disk_ok "$@" && net_ok "$@"; }

# xl's own save + restore of the guest, and its localhost migration: the
# reference the suites hold xenpipe and the devices to.
xl_save_restore() {
	local t
	rm -f $SAVE
	t=$(now)
	xl save $G $SAVE
	fig "xl save: $(since $t)s, $(stat -c %s $SAVE) bytes"
	! xl domid $G 2>/dev/null || false
	t=$(now)
	xl restore $SAVE 3>/dev/null
	fig "xl restore: $(since $t)s"
}

xl_migrate() {
	xl migrate -s '' $G 'xl migrate-receive' 3>/dev/null
}
