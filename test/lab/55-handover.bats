# The handover on real Xen (issue 12): dom-migrate to this same host over
# an ssh stand-in, live, while memguard writes.  Whatever fails, at most one
# copy of the guest runs and at least one exists; the copy that runs is the
# same guest (boot id, counter on, no bad page).  On one dom0 "the
# destination side" is this host: a copy the receiver built must be gone
# (NAME--incoming), or be the one that runs.
load lib

SSH=$LAB_WORK/fakessh
SSH_LOSE=$LAB_WORK/fakessh-lose
OUT=$LAB_WORK/migrate.out

setup() {
	command -v dom-migrate >/dev/null || skip "xenpipe not built (no build/dom-migrate)"
	ensure_guest
	# there is no sshd in dom0: the command runs here, as sshd would run it
	printf '#!/bin/sh\nexec sh -c "$2"\n' > $SSH
	# the link dies after the go went through: the report is lost, ssh 255
	printf '#!/bin/sh\nsh -c "$2" | { IFS= read -r l && printf "%%s\\n" "$l"; cat >/dev/null; }\nexit 255\n' > $SSH_LOSE
	chmod +x $SSH $SSH_LOSE
}

teardown() {
	rm -f $OUT
}

# The domains xl list shows, one name a line, sorted.
domains() { xl list | awk 'NR > 1 && $1 != "Domain-0" { print $1 }' | sort; }
# dom-list's State of a domain (running, suspended, paused...), by name.
dstate() { dom-list | awk -v d="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "State") c = i; next } $1 == d { print $c }'; }

# migrate STATUS [FAULT] [SSH]: dom-migrate $G localhost (live), expecting STATUS
migrate() {
	local want=$1 fault=${2:-} ssh=${3:-$SSH} st=0
	XENPIPE_FAULT=$fault dom-migrate --ssh-command "$ssh" $G localhost \
	    > $OUT 2>&1 3>/dev/null || st=$?
	fig "dom-migrate${fault:+ ($fault)}: status $st: $(grep -e '^dom-migrate' -e 'destroyed$' $OUT | cut -c1-400 | tr '\n' ' ')"
	[ "$st" -eq "$want" ] || { cat $OUT; return 1; }
}

# wait_gone NAME: the receiver's watchman may still be destroying it
wait_gone() {
	local i
	for i in $(seq 60); do
		xl domid "$1" >/dev/null 2>&1 || return 0
		sleep 0.5
	done
	fig "$1 still there: $(xl list)"
	return 1
}

@test "handover, same host: dom-migrate $G localhost leaves one $G, running, the same guest" {
	local p0
	p0=$(mg pauses)
	XENPIPE_TRACE=1 keep_running migrate 0
	[ "$(domains)" = "$G" ]
	[ "$(dstate $G)" = running ]
	# where the pause goes: suspend, the last pages, END, ready, go, start
	grep -h ': trace ' $OUT | sort -t' ' -k3 -n > $LAB_WORK/trace
	while read -r l; do fig "$l"; done < $LAB_WORK/trace
	fig "handed over live: guest-observed pause $(op_pause "$p0") ms;" \
	    "suspending to started $(awk '
	    /: suspending / { s = $3 } /: started$/ { e = $3 }
	    END { sub(":", "", s); sub(":", "", e); printf "%.0f", (e - s) * 1000 }' \
	    $LAB_WORK/trace) ms by dom0's clock"
}

@test "handover: the report lost after the go: the source stays suspended, the copy runs, memguard sees no corruption" {
	local away id
	keep_running migrate 14 "" $SSH_LOSE
	grep -q "HANDOVER OUTCOME UNKNOWN" $OUT
	away=$G--migratedaway
	[ "$(dstate $away)" = suspended ]
	[ "$(dstate $G)" = running ]
	[ "$(domains | tr '\n' ' ')" = "$G $away " ]
	# the admin checks, then does what the line says: destroy the old copy
	id=$(xl domid $away)
	grep -q "destroy this copy: xl destroy $id" $OUT
	xl destroy $id
	[ "$(domains)" = "$G" ]
	guest_intact
}

@test "handover: the receiver killed before the go: the source runs on, nothing is left of the receiver's copy" {
	local i
	keep_running migrate 11 receiver-kill-before-ready
	grep -q "did not take $G before the go" $OUT
	wait_gone $G--incoming
	[ "$(domains)" = "$G" ]
	[ "$(dstate $G)" = running ]
	# the watchman destroyed the copy that never ran, and said so
	for i in $(seq 20); do
		grep -q "died before starting it: destroyed" $OUT && break
		sleep 0.5
	done
	grep "died before starting it: destroyed" $OUT
}

@test "handover: the receiver killed with the go received, before it unpaused: no copy runs; --in-place --force brings the source back" {
	local id b0 c0
	b0=$(xsr boot_id) c0=$(xsr counter)
	migrate 14 receiver-kill-paused
	wait_gone $G--incoming
	[ "$(domains)" = "$G--migratedaway" ]
	[ "$(dstate $G--migratedaway)" = suspended ]
	id=$(xl domid $G--migratedaway)
	run dom-resume --in-place $id
	fig "without --force: $output"
	[ "$status" -eq 3 ]
	run dom-resume --in-place --force $id
	fig "with --force: $output"
	[ "$status" -eq 0 ]
	[ "$(domains)" = "$G" ]
	wait_above counter "$c0" 120 >/dev/null
	[ "$(xsr boot_id)" = "$b0" ]
	guest_intact
}
