# xenpipe's own save, checkpoint, live migration and restore of the lab's
# real guest (the xen backend), and interop with xl both ways.  The guest
# proves each one: same boot id, its counter goes on, memguard finds no
# bad page (keep_running in lib.bash).
load lib

F=$LAB_WORK/$G.xp		# a stream written by our programs
XLF=$LAB_WORK/$G.xl		# one written by xl save
ERR=$LAB_WORK/err

setup() {
	command -v dom-suspend >/dev/null || skip "xenpipe not built (no build/dom-suspend)"
	ensure_guest
}

teardown() {
	# a same-host migration leaves the old domain suspended, renamed
	xl destroy $G--migratedaway 2>/dev/null || true
	# dom0's /tmp is its RAM (1 GiB): a stream left behind is one less
	# guest the suites after this can start
	rm -f $F $F.*
}

teardown_file() {
	rm -f $XLF $SAVE	# $SAVE: 20-save-restore's, kept for 30-
	xl destroy labpv 2>/dev/null || true	# the PV guest of the last test
}

# The domains xl list shows, one name a line, sorted.
domains() { xl list | awk 'NR > 1 && $1 != "Domain-0" { print $1 }' | sort; }
# State letters of xl list for the guest (r, b, p, s, ...).
xlstate() { xl list $G 2>/dev/null | awk 'NR == 2 { print $5 }'; }
# Log-dirty of the guest, on or off (Xen reports it nowhere; see the probe).
logdirty() { logdirty-probe "$(domid)"; }
# The scheduler cap of the guest (0: none): credit2 (4.17's default) or credit.
cap() {
	{ xl sched-credit2 -d $G 2>/dev/null || xl sched-credit -d $G; } |
	    awk 'NR == 2 { print $4 }'
}

cold_ours() {
	dom-suspend -v $G > $F 2> $ERR || { cat $ERR; return 1; }
	fig "$(cat $ERR)"
	dom-resume -v < $F
	[ "$(xl list | awk -v g=$G--migratedaway '$1 == g' | wc -l)" = 1 ]
	xl destroy $G--migratedaway
}

@test "cold: dom-suspend > f; dom-resume < f: the guest resumes, it does not reboot" {
	keep_running cold_ours
	fig "stream: $(stat -c %s $F) bytes"
	[ "$(domains)" = "$G" ]
}

@test "our stream passes verify-stream-v2, in each of the three formats" {
	local f
	for f in xl libxl libxc; do
		dom-suspend -c -f $f $G > $F.$f
		run verify-stream-v2 -f $f -i $F.$f
		fig "verify-stream-v2 -f $f: status $status: $(echo "$output" | tail -n 1)"
		[ "$status" -eq 0 ]
		rm -f $F.$f
	done
	# -c: still running
	[ "$(xlstate)" != "" ]
	case $(xlstate) in *s*) false;; esac
}

@test "checkpoint: dom-suspend -c leaves the guest running; after xl destroy, dom-resume brings the checkpoint back" {
	local b0 c0 c1 t
	b0=$(xsr boot_id) c0=$(xsr counter)
	t=$(now)
	dom-suspend -c $G > $F
	fig "dom-suspend -c: $(since $t)s, $(stat -c %s $F) bytes"
	c1=$(wait_above counter "$c0" 60)	# it kept running
	case $(xlstate) in *s*) false;; esac
	xl destroy $G
	t=$(now)
	dom-resume < $F
	fig "dom-resume of the checkpoint: $(since $t)s"
	wait_above counter "$c0" 120 >/dev/null
	wait_above memguard/ticks 0 60 >/dev/null
	[ "$(xsr boot_id)" = "$b0" ]
	[ "$(mg boot_id)" = "$b0" ]
	fig "counter $c0 at the checkpoint, $c1 before xl destroy, $(xsr counter) after dom-resume"
	guest_intact
}

@test "interop: a file written by xl save restores with dom-resume" {
	xl_save_ours() {
		rm -f $XLF
		xl save $G $XLF
		dom-resume < $XLF
	}
	keep_running xl_save_ours
}

@test "interop: a file written by dom-suspend restores with xl restore" {
	ours_xl_restore() {
		dom-suspend $G > $F
		xl destroy $G
		xl restore $F 3>/dev/null
	}
	keep_running ours_xl_restore
	run stream-info --verify $F
	[ "$status" -eq 0 ]
}

# live_pause WHAT: the guest-observed pause of the last keep_running
live_pause() { op_pause "$P0"; }

@test "live, localhost: mem-dump -l | dirty-track | dom-suspend | dom-resume while memguard writes; pause next to xl migrate's" {
	local xl_pause ours_pause t bytes
	live_ours() {
		set -o pipefail
		mem-dump -l $G | dirty-track $G 2> $LAB_WORK/rounds |
		    XENPIPE_TRACE=1 dom-suspend -v $G 2> $ERR |
		    XENPIPE_TRACE=1 dom-resume 2> $LAB_WORK/restore
		xl destroy $G--migratedaway
	}
	P0=$(mg pauses)
	t=$(now)
	keep_running xl_migrate
	xl_pause=$(live_pause)
	fig "xl migrate: pause $xl_pause ms, total $(since $t)s"
	P0=$(mg pauses)
	t=$(now)
	keep_running live_ours
	ours_pause=$(live_pause)
	# dom-suspend -v counts every byte of the stream, passed through or its own
	bytes=$(sed -n 's/.* \([0-9]*\) bytes in .*/\1/p' $ERR)
	fig "xenpipe live: pause $ours_pause ms, total $(since $t)s, $bytes bytes" \
	    "($(awk -v b=$bytes -v m=$GUEST_MEM 'BEGIN { printf "%.2f", b / (m * 1048576) }') x memory); $(grep -v ": trace " $ERR)"
	fig "pause: xenpipe $ours_pause ms vs xl migrate $xl_pause ms (goal: ours <= xl's)"
	# where the pause goes: the last rounds, then both ends' trace points
	fig "dirty-track: $(tail -n 3 $LAB_WORK/rounds | tr '\n' ';')"
	grep -h ': trace ' $ERR $LAB_WORK/restore | sort -t' ' -k3 -n > $LAB_WORK/trace
	while read -r l; do fig "$l"; done < $LAB_WORK/trace
	# the same pause from outside: dom0's clock, suspend asked to unpause
	fig "xenpipe live: suspending to started $(awk '
	    /: suspending / { s = $3 } /: started$/ { e = $3 }
	    END { sub(":", "", s); sub(":", "", e); printf "%.0f", (e - s) * 1000 }' \
	    $LAB_WORK/trace) ms by dom0's clock"
	[ "$(logdirty)" = off ]
}

@test "live with --throttle: the credit cap is lifted afterwards" {
	live_throttle() {
		set -o pipefail
		mem-dump -l $G | dirty-track --throttle $G | dom-suspend $G |
		    dom-resume
		xl destroy $G--migratedaway
	}
	keep_running live_throttle
	[ "$(cap)" = 0 ]
}

@test "failure: the receiver killed mid-stream leaves the source running, nothing half-built, log-dirty off, no cap" {
	local before c0 i pid
	before=$(domains)
	c0=$(xsr counter)
	set +e
	(
		mem-dump -l $G | dirty-track --throttle $G | dom-suspend $G |
		    dom-resume 2> $ERR
	) &
	pid=$!
	# kill it once it has built its domain
	for i in $(seq 1 300); do
		xl list | awk -v g=$G--incoming '$1 == g { f = 1 } END { exit !f }' && break
		sleep 0.2
	done
	pkill -TERM -x dom-resume
	wait $pid
	set -e
	fig "after the kill (tries $i): $(cat $ERR | tail -n 1)"
	# the source comes back by itself: dom-suspend resumes it on EPIPE
	wait_above counter "$c0" 120 >/dev/null
	case $(xlstate) in *s*) false;; esac
	[ "$(domains)" = "$before" ]
	[ "$(logdirty)" = off ]
	[ "$(cap)" = 0 ]
	guest_intact
}

@test "failure: a truncated stream makes dom-resume fail with one line and build nothing" {
	local before
	[ -f $XLF ] || xl save -c $G $XLF
	before=$(domains)
	run sh -c "head -c 20000000 $XLF | dom-resume"
	fig "truncated: status $status: $output"
	[ "$status" -eq 2 ]
	[ "$(echo "$output" | wc -l)" = 1 ]
	[ "$(domains)" = "$before" ]
}

@test "dom-resume refuses a name held by a running domain" {
	local before
	before=$(domains)
	[ -f $XLF ] || xl save -c $G $XLF
	run dom-resume < $XLF
	fig "$output"
	[ "$status" -ne 0 ]
	[ "$(domains)" = "$before" ]
	guest_intact
}

@test "a domain that is not there: each program exits 3 with one line naming it" {
	local before cmd
	before=$(domains)
	[ -f $XLF ] || xl save -c $G $XLF
	for cmd in "mem-dump nosuch" "mem-dump -l nosuch" "dom-suspend nosuch" \
	    "dom-suspend -c nosuch" "dirty-track nosuch"; do
		run sh -c "$cmd < $XLF > /dev/null"
		fig "$cmd: status $status: $output"
		[ "$status" -eq 3 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *nosuch* ]]
	done
	[ "$(domains)" = "$before" ]
	guest_intact
}

# Xen 4.17.7 (the pvh lab) is built without shadow paging: a PV guest runs,
# but Xen cannot track its dirty pages.  Live migration must say so in one
# line, not crash, and leave the guest as it was.
@test "a PV guest on a Xen without shadow paging: mem-dump -l fails with one clear line, the guest runs on" {
	local G=labpv LAB_GUEST=pv GUEST_MEM=128 LAB_MG_MIB=16 c
	xl info | grep -q '^virt_caps.*shadow' &&
	    skip "this Xen has shadow paging (the pv lab): PV log-dirty works here"
	xl destroy $G 2>/dev/null || true
	create_guest
	c=$(wait_above counter 0 180)
	run sh -c "mem-dump -l $G > /dev/null"
	fig "mem-dump -l of a PV guest: status $status: $output"
	[ "$status" -eq 3 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no shadow paging"* ]]
	c=$(wait_above counter "$c" 60)
	# without shadow paging Xen answers even the probe's query with
	# EOPNOTSUPP: log-dirty cannot be on
	run logdirty-probe "$(domid)"
	[ "$output" = off ] || [[ "$output" == *"Operation not supported"* ]]
	xl destroy $G
}
