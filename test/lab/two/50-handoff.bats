# The handover's worst case between two real hosts (issue 15, 4): the link
# between them is cut after the go, once B's copy runs and before its
# report reaches A.  One copy must run (on B), the other must be left
# suspended on A, and dom-migrate must say so loudly (status 14, the
# outcome unknown) and say what to do; doing it leaves one guest.
# shellcheck disable=SC2034 # ON is lib2.bash's: which host its helpers act on
load lib2

OUT=$LAB_WORK/handoff.out
CUT=$LAB_WORK/cutssh

setup() {
	command -v dom-migrate >/dev/null || skip "xenpipe not built (no build/dom-migrate)"
	guest_on_a
	# A's NIC in the bridge: the link to B
	NIC=
	for f in /sys/class/net/xenbr0/brif/*; do
		case ${f##*/} in vif*|'*') ;; *) NIC=${f##*/}; break;; esac
	done
	[ -n "$NIC" ] || skip "no NIC in xenbr0 on A"
	# ssh, but the link goes down as soon as B's report arrives (after
	# the go: B runs its copy); the report never reaches dom-migrate, ssh
	# dies, and the link comes back 5 s later
	cat > $CUT <<EOS
#!/bin/sh
exec 3<&0
mkfifo $LAB_WORK/cut.fifo
ssh "\$@" <&3 > $LAB_WORK/cut.fifo &
pid=\$!
{
	IFS= read -r ready && printf '%s\n' "\$ready"
	IFS= read -r report
	ip link set $NIC down
	kill \$pid
	echo "\$report" > $LAB_WORK/cut.report
} < $LAB_WORK/cut.fifo
rm -f $LAB_WORK/cut.fifo
( sleep 5; ip link set $NIC up ) &
exit 255
EOS
	chmod +x $CUT
	rm -f $LAB_WORK/cut.fifo $LAB_WORK/cut.report
}

teardown() {
	ip link set "$NIC" up 2>/dev/null || true
}

@test "handoff: the link cut after the go: the copy runs on B, the source is left suspended on A, and dom-migrate says so" {
	local b0 st=0 away id
	b0=$(xsr boot_id)
	dom-migrate --ssh-command $CUT $G $B > $OUT 2>&1 3>/dev/null || st=$?
	cat $OUT
	fig "dom-migrate, the link cut after the go: status $st: $(grep '^dom-migrate' $OUT | cut -c1-300)"
	fig "B's report, which A never saw: $(cat $LAB_WORK/cut.report 2>/dev/null)"
	[ "$st" -eq 14 ]
	grep -q "HANDOVER OUTCOME UNKNOWN" $OUT
	# the link is back
	for _ in $(seq 30); do ping -c 1 -W 1 $B >/dev/null 2>&1 && break; sleep 1; done
	# one copy runs, on B, the same guest; A keeps the source, suspended
	away=$G--migratedaway
	[ "$(command dom-list | awk -v d=$away '$1 == d { print $0 }' | grep -c suspended)" -eq 1 ]
	ON=b
	[ "$(xsr boot_id)" = "$b0" ]
	wait_above memguard/ticks "$(mg ticks)" 60 >/dev/null
	guest_intact
	ON=
	! command xl domid $G >/dev/null 2>&1 || false
	# the admin does what the line says: B runs it, so destroy this copy
	id=$(command xl domid $away)
	grep -q "destroy this copy: xl destroy $id" $OUT
	command xl destroy "$id"
	[ "$(where_is)" = b ]
	[ -z "$(others)" ]
}
