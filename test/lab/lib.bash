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
		v=$(xsr "$1")
		if [ -n "$v" ] && [ "$v" -gt "$2" ]; then
			echo "$v"
			return 0
		fi
		sleep 1
	done
	echo "timeout waiting for data/$1 > $2 (last: ${v:-none})" >&2
	return 1
}

create_guest() {
	cat > $LAB_WORK/$G.cfg <<EOC
name = "$G"
type = "$LAB_GUEST"
kernel = "$LAB_WORK/vmlinuz"
ramdisk = "$LAB_WORK/initrd.gz"
extra = "console=hvc0 loglevel=4 mg_mib=${LAB_MG_MIB:-64} mg_rate=${LAB_MG_RATE:-1000}"
memory = $GUEST_MEM
maxmem = $GUEST_MEM
vcpus = 1
on_crash = "preserve"
EOC
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

# op_pause P0: the longest pause memguard saw since its pause count was P0
op_pause() {
	echo "$(mg recent_pauses)" | awk -v n=$(( $(mg pauses) - $1 )) '{
		m = 0
		for (i = NF - n + 1; i <= NF; i++)
			if (i > 0 && $i > m)
				m = $i
		print m
	}'
}

# keep_running OP...: run a save/restore-like operation on the guest and check
# it comes back the same (boot id, counters on, no corruption); figures.
keep_running() {
	local b0 c0 t0 p0 w0 t c ticks
	b0=$(xsr boot_id) c0=$(xsr counter) t0=$(mg ticks) p0=$(mg pauses) w0=$(mg writes)
	[ -n "$b0" ] && [ -n "$c0" ] && [ -n "$t0" ]
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
