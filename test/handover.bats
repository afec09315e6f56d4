#!/usr/bin/env bats
# The handover: dom-resume --handshake, dom-suspend --handshake and
# dom-migrate, which hand a guest over as xl migrate does (ready, go,
# report).  Whatever fails, and whenever, at most one copy runs and at
# least one exists.  Two sim roots are two hosts; faults are injected at
# every step (XENPIPE_FAULT kills a program at a named point; an ssh
# stand-in loses the receiver's report) over ssh and --tcp, cold and live,
# and every outcome is checked on both hosts.  The matrix is printed as a
# table at the end of the file's output.

load lib/common

setup() {
	setup_sim
	export XENPIPE_SIM_TIMEOUT_MS=2000
	make_fakessh "$T/ssh"
	FAKESSH_LOSE=1 make_fakessh "$T/ssh-lose"
	MATRIX=$BATS_FILE_TMPDIR/matrix
}

teardown() {
	teardown_sim
}

teardown_file() {
	[ -s "$BATS_FILE_TMPDIR/matrix" ] || return 0
	{
		echo "# handover fault matrix: dom-migrate of d from host A to host B (sim)"
		printf '# %-30s %-4s %-5s %-6s %-26s %-10s %s\n' case via mode status \
		    "host A" "host B" "running/existing"
		cat "$BATS_FILE_TMPDIR/matrix"
	} >&3
}

# to_b FILTER: d from host A to host B by hand, handed over, the receiver's
# lines through FILTER; the output ends with "statuses" and the pipeline's
# statuses (dom-suspend, dom-resume, FILTER).  $T/r is the FIFO.
to_b() {
	[ -p "$T/r" ] || mkfifo "$T/r"
	run bash -c 'dom-suspend --handshake "$T/r" d </dev/null |
	    XENPIPE_SIM_DIR=$T/hostB dom-resume --handshake | '"$1"' >"$T/r"
	    echo "statuses ${PIPESTATUS[*]}"'
	echo "$output"
}

# check_cell CASE POINT STATUS A B PHRASE: migrate a fresh d with the fault
# POINT (lose-report: the ssh stand-in's), over ssh and --tcp, cold and
# live; each time at most one copy runs and at least one exists over both
# hosts, each running copy is intact, and the status, the domains on A and
# on B ("NAME:STATE ...") and a phrase of the message are as expected.
check_cell() {
	local name=$1 point=$2 want=$3 want_a=$4 want_b=$5 phrase=$6
	local via mode ssh a b running exist root n
	local -a opts
	for via in ssh tcp; do
		for mode in cold live; do
			destroy_all "$HOSTA"
			destroy_all "$HOSTB"
			simdom create d --memory 16M --dirty-rate 2000 >/dev/null
			ssh=$T/ssh
			[ "$point" != lose-report ] || ssh=$T/ssh-lose
			opts=(--$mode --ssh-command "$ssh")
			[ $via = ssh ] || opts+=(--tcp "$(free_port)" --timeout 10)
			run env XENPIPE_FAULT="$point" dom-migrate "${opts[@]}" d 127.0.0.1
			echo "== $name, $via, $mode: status $status"
			echo "$output"
			a=$(states_on "$HOSTA") b=$(states_on "$HOSTB")
			running=$(echo "$a $b" | grep -o ':running' | wc -l)
			exist=$(echo "$a $b" | wc -w)
			printf '# %-30s %-4s %-5s %-6s %-26s %-10s %s/%s\n' "$name" \
			    $via $mode $status "${a:--}" "${b:--}" $running $exist >>"$MATRIX"
			[ "$running" -le 1 ]
			[ "$exist" -ge 1 ]
			for root in "$HOSTA" "$HOSTB"; do
				for n in $(XENPIPE_SIM_DIR=$root simdom list |
				    awk 'NR > 1 && $NF == "running" { print $1 }'); do
					XENPIPE_SIM_DIR=$root simdom check "$n"
				done
			done
			[ "$status" -eq "$want" ]
			[ "$a" = "$want_a" ]
			[ "$b" = "$want_b" ]
			[ -n "$want_b" ] || [ -z "$(entries_on "$HOSTB")" ]
			[[ "$output" == *"$phrase"* ]]
		done
	done
}

# B runs a copy of A's d, UUID and all: the receiver's policy takes it for
# this migration's source, so the name clash comes at the start, after the
# go.  (A d of B's own, another UUID, is refused before anything is built.)
twin_on_b() {
	dom-suspend -c d </dev/null | XENPIPE_SIM_DIR=$HOSTB dom-resume >/dev/null
}

@test "matrix: the receiver killed mid-stream: the source runs on, nothing on B" {
	check_cell "mid-stream" receiver-kill-mid-stream 11 d:running "" \
	    "did not take d before the go"
}

@test "matrix: the receiver killed after END, before ready: the source runs on, nothing on B" {
	check_cell "after END, before ready" receiver-kill-before-ready 11 \
	    d:running "" "did not take d before the go"
}

@test "matrix: the sender killed after ready, before the go: B destroys its copy, the source runs on" {
	check_cell "after ready, before go" sender-kill-before-go 10 d:running \
	    "" "dom-suspend died before the go"
}

@test "matrix: the receiver killed after the go, before its report: B runs it, the source stays suspended" {
	check_cell "after go, before report" receiver-kill-before-report 14 \
	    d--migratedaway:suspended d:running "HANDOVER OUTCOME UNKNOWN"
}

@test "matrix: the report lost (ssh dies after the go): B runs it, the source stays suspended" {
	check_cell "report lost" lose-report 14 d--migratedaway:suspended \
	    d:running "HANDOVER OUTCOME UNKNOWN"
}

@test "matrix: the receiver killed while paused, the go received: no copy runs, the source stays suspended" {
	check_cell "receiver killed while paused" receiver-kill-paused 14 \
	    d--migratedaway:suspended "" "HANDOVER OUTCOME UNKNOWN"
}

@test "matrix: the sender killed after the go: B reported its copy running, the source is destroyed" {
	check_cell "sender killed after go" sender-kill-after-go 0 "" d:running \
	    "after the go; 127.0.0.1 reported d running"
}

@test "unknown outcome: one loud line that says how to finish by hand, and its commands work" {
	simdom create d --memory 16M --dirty-rate 2000
	id=$(dom-list | awk '$1 == "d" { print $2 }')
	run dom-migrate --cold --ssh-command "$T/ssh-lose" d hostb
	echo "$output"
	[ "$status" -eq 14 ]
	line=$(echo "$output" | grep '^dom-migrate:')
	[ "$(echo "$line" | wc -l)" -eq 1 ]
	[[ "$line" == *"left suspended here as d--migratedaway (id $id)"* ]]
	[[ "$line" == *"destroy this copy: simdom destroy $id"* ]]
	[[ "$line" == *"resume it: dom-resume --in-place --force $id"* ]]
	# d runs on B: the admin destroys the old copy, as the line says
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	simdom destroy "$id"
	[ -z "$(entries_on "$HOSTA")" ]
}

@test "an ssh that drops all of the receiver's output and exits 255: no go, B destroys its copy, the source runs" {
	# the case that used to leave the guest running on both hosts
	make_fakessh "$T/ssh-mute" "" 127.0.0.1 '"$2 >/dev/null; exit 255"'
	simdom create d --memory 16M --dirty-rate 2000
	run dom-migrate --cold --timeout 2 --ssh-command "$T/ssh-mute" d hostb
	echo "$output"
	[ "$status" -eq 11 ]
	[ "$(states_on "$HOSTA")" = d:running ]
	simdom check d
	[ -z "$(entries_on "$HOSTB")" ]
}

@test "same host: dom-migrate d localhost ends with one d, running and intact, and nothing else" {
	FAKESSH_ROOT=$HOSTA make_fakessh "$T/ssh-self"
	for mode in cold live; do
		simdom create d --memory 16M --dirty-rate 2000
		boots=$(sim_field "$HOSTA" d '["counters"]["boots"]')
		run dom-migrate --$mode --ssh-command "$T/ssh-self" d localhost
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$(states_on "$HOSTA")" = d:running ]
		[ "$(entries_on "$HOSTA")" = d ]
		simdom check d
		# the same guest, started once more from its memory: not a copy
		[ "$(sim_field "$HOSTA" d '["counters"]["boots"]')" -eq $((boots + 1)) ]
		destroy_all "$HOSTA"
	done
}

@test "same host, by hand: dom-suspend --handshake R d | dom-resume --handshake > R" {
	mkfifo "$T/r"
	simdom create d --memory 16M --dirty-rate 2000
	run bash -c 'set -o pipefail
	    dom-suspend -v --handshake "$T/r" d </dev/null | dom-resume --handshake >"$T/r"'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"handed over: the receiver runs it as d"* ]]
	[ "$(states_on "$HOSTA")" = d:running ]
	[ "$(entries_on "$HOSTA")" = d ]
	simdom check d
}

@test "dom-resume --handshake: no go, a go for another receiver, junk, no go in time: its copy is destroyed" {
	simdom create d --memory 16M
	dom-suspend -c d </dev/null >"$T/f"
	export XENPIPE_SIM_DIR=$HOSTB
	# the input ends after END
	run dom-resume --handshake <"$T/f"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" =~ ^xenpipe-handshake\ 1\ ready\ [0-9a-f]{32}$ ]]
	[[ "$output" == *"report destroyed no go from the sender"* ]]
	[ -z "$(entries_on "$HOSTB")" ]
	# what a tee'd copy of an earlier handover carries after its END
	{ cat "$T/f"; echo "xenpipe-handshake 1 go 0123456789abcdef0123456789abcdef"; } >"$T/replay"
	run dom-resume --handshake <"$T/replay"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"the go names another receiver"* ]]
	[ -z "$(entries_on "$HOSTB")" ]
	# ... which restores as it is without the handshake: a save file
	run dom-resume -n replayed <"$T/replay"
	[ "$status" -eq 0 ]
	XENPIPE_SIM_DIR=$HOSTB simdom check replayed
	destroy_all "$HOSTB"
	# junk where the go belongs; binary junk
	{ cat "$T/f"; echo go; } >"$T/junk"
	run dom-resume --handshake <"$T/junk"
	[ "$status" -eq 2 ]
	[[ "$output" == *'"go" after END is not the go'* ]]
	{ cat "$T/f"; head -c 300 /dev/zero; } >"$T/zeros"
	run dom-resume --handshake <"$T/zeros"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is not a handshake line"* ]]
	[ -z "$(entries_on "$HOSTB")" ]
	# nothing comes: the wait is bounded
	run bash -c '{ cat "$T/f"; sleep 3; } | dom-resume --handshake --timeout 1'
	echo "$output"
	[ "$status" -eq 111 ]
	[[ "$output" == *"no go from the sender in time (--timeout)"* ]]
	[ -z "$(entries_on "$HOSTB")" ]
	# --timeout goes with --handshake
	run dom-resume --timeout 5 <"$T/f"
	[ "$status" -eq 100 ]
}

@test "dom-suspend --handshake: a receiver not ready, or refusing after the go, gets no guest; the source runs on as d" {
	simdom create d --memory 16M --dirty-rate 2000
	# the ready line damaged on the way
	to_b "sed -u s/ready/raedy/"
	[[ "$output" == *"statuses 111 2 0"* ]]
	[[ "$output" == *"from the receiver is not ready"* ]]
	[ "$(states_on "$HOSTA")" = d:running ]
	simdom check d
	[ -z "$(entries_on "$HOSTB")" ]
	# B runs a d already: its copy cannot take the name, and is destroyed
	twin_on_b
	to_b cat
	[[ "$output" == *"statuses 1 3 0"* ]]
	[[ "$output" == *"the receiver failed after the go and destroyed its copy"* ]]
	[ "$(states_on "$HOSTA")" = d:running ]
	simdom check d
	[ "$(states_on "$HOSTB")" = d:running ]
	# no handshake for a checkpoint, or a name that cannot be marked
	run dom-suspend -c --handshake "$T/r" d </dev/null
	[ "$status" -eq 100 ]
	long=$(printf 'x%.0s' $(seq 55))
	simdom create "$long" --memory 16M
	run sh -c 'dom-suspend --handshake "$T/r" '"$long"' </dev/null >/dev/null'
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"too long to be marked --migratedaway"* ]]
	[ "$(sim_field "$HOSTA" "$long" '["state"]')" = running ]
}

@test "dom-resume --in-place refuses a copy that was handed over unless forced, and never while its name runs here" {
	simdom create d --memory 16M --dirty-rate 2000
	run dom-migrate --cold --ssh-command "$T/ssh-lose" d hostb
	[ "$status" -eq 14 ]
	run dom-resume --in-place d--migratedaway
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"d--migratedaway was handed over"*"--force"* ]]
	[ "$(states_on "$HOSTA")" = d--migratedaway:suspended ]
	# the admin found B's copy not worth keeping: destroyed there, forced here
	XENPIPE_SIM_DIR=$HOSTB simdom destroy d
	run dom-resume --in-place --force d--migratedaway
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(states_on "$HOSTA")" = d:running ]
	simdom check d
	# same host without the handshake: the new d runs, the old is renamed;
	# forcing the old one back is refused while d runs
	dom-suspend d </dev/null | dom-resume
	[ "$(states_on "$HOSTA")" = "d--migratedaway:suspended d:running" ]
	run dom-resume --in-place --force d--migratedaway
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"d runs on this host: d--migratedaway is the copy it came from"* ]]
	[ "$(states_on "$HOSTA")" = "d--migratedaway:suspended d:running" ]
}

@test "dom-suspend --handshake: a report it cannot trust destroys nothing and resumes nothing" {
	simdom create d --memory 16M --dirty-rate 2000
	# a signed id, then a name too long: not a report of a running copy
	to_b "sed -u 's/report running d [0-9]*/report running d +5/'"
	[[ "$output" == *"statuses 4 0 0"* ]]
	[[ "$output" == *"HANDOVER OUTCOME UNKNOWN"*'is not a report'* ]]
	[ "$(states_on "$HOSTA")" = d--migratedaway:suspended ]
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	destroy_all "$HOSTB"
	dom-resume --in-place --force d--migratedaway
	long=$(printf 'x%.0s' $(seq 70))
	to_b "sed -u 's/report running d /report running $long /'"
	[[ "$output" == *"statuses 4 0 0"* ]]
	[ "$(states_on "$HOSTA")" = d--migratedaway:suspended ]
	destroy_all "$HOSTB"
	dom-resume --in-place --force d--migratedaway
	# "kept": B failed and still holds a copy: not for the source to resume
	twin_on_b
	to_b "sed -u 's/report destroyed/report kept/'"
	[[ "$output" == *"statuses 4 3 0"* ]]
	[[ "$output" == *"could not destroy its copy"* ]]
	[ "$(states_on "$HOSTA")" = d--migratedaway:suspended ]
}

@test "dom-suspend --handshake: a signal after the go does not cut the wait for the report" {
	simdom create d --memory 16M --dirty-rate 2000
	# the report held back while dom-suspend, having given the go, is sent SIGTERM
	to_b '{ IFS= read -r l; echo "$l"; IFS= read -r l
	    pkill -TERM -f "^dom-suspend --handshake $T/r"; sleep 0.5; echo "$l"; }'
	[[ "$output" == *"statuses 0 0 0"* ]]
	[ -z "$(entries_on "$HOSTA")" ]
	[ "$(states_on "$HOSTB")" = d:running ]
	XENPIPE_SIM_DIR=$HOSTB simdom check d
}

@test "dom-migrate takes DOM as an id, and checks the handover's mark before it suspends anything" {
	simdom create d --memory 16M --dirty-rate 2000
	id=$(dom-list | awk '$1 == "d" { print $2 }')
	simdom create d--migratedaway --memory 16M --dirty-rate 0
	boots=$(sim_field "$HOSTA" d '["counters"]["boots"]')
	run dom-migrate --cold --ssh-command "$T/ssh" "$id" hostb
	echo "$output"
	[ "$status" -eq 10 ]
	[[ "$output" == *"d--migratedaway exists already"* ]]
	# never suspended: the same boot, running
	[ "$(sim_field "$HOSTA" d '["counters"]["boots"]')" -eq "$boots" ]
	[ "$(sim_field "$HOSTA" d '["state"]')" = running ]
	[ -z "$(entries_on "$HOSTB")" ]
	simdom destroy d--migratedaway
	run dom-migrate --cold --ssh-command "$T/ssh" "$id" hostb
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$(entries_on "$HOSTA")" ]
	XENPIPE_SIM_DIR=$HOSTB simdom check d
}
