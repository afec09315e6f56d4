#!/usr/bin/env bats
# Save, restore, checkpoint and cold migration on the sim backend.  The
# guest is the judge: after every restore it checks all of its memory.

load lib/common

setup() {
	setup_sim
}

teardown() {
	teardown_sim
}

# Wait until the guest has written something, so there is state to lose.
wait_writes() {	# wait_writes ROOT NAME MIN
	local i w
	for i in $(seq 100); do
		w=$(sim_field "$1" "$2" '["counters"]["pages_written"]')
		[ "$w" -ge "$3" ] && return 0
		sleep 0.05
	done
	echo "guest $2 wrote only $w pages"
	return 1
}

@test "pipelines: dom-suspend > f; dom-resume < f restores an intact guest whose counters continue" {
	simdom create d --memory 32M --dirty-rate 5000
	wait_writes "$HOSTA" d 200
	dom-suspend d </dev/null >"$T/f"
	[ "$(sim_field "$HOSTA" d '["state"]')" = suspended ]
	stopped=$(sim_field "$HOSTA" d '["counters"]["pages_written"]')
	run dom-resume <"$T/f"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "d "* ]]
	# the suspended original made way, as xl does
	[ "$(sim_field "$HOSTA" d--migratedaway '["state"]')" = suspended ]
	simdom check d
	sleep 0.3
	now=$(sim_field "$HOSTA" d '["counters"]["pages_written"]')
	echo "written at suspend $stopped, after restore $now"
	[ "$now" -gt "$stopped" ]
	[ "$(sim_field "$HOSTA" d '["last_check"]')" = ok ]
	echo "guest-measured downtime: $(sim_field "$HOSTA" d '["downtime_ms"]') ms"
}

@test "pipelines: dom-suspend -c keeps the domain running; the checkpoint restores on another host" {
	simdom create d --memory 32M --dirty-rate 5000
	wait_writes "$HOSTA" d 200
	dom-suspend -c d </dev/null >"$T/ckpt"
	[ "$(sim_field "$HOSTA" d '["state"]')" = running ]
	before=$(sim_field "$HOSTA" d '["counters"]["pages_written"]')
	sleep 0.3
	after=$(sim_field "$HOSTA" d '["counters"]["pages_written"]')
	[ "$after" -gt "$before" ]
	XENPIPE_SIM_DIR=$HOSTB dom-resume <"$T/ckpt"
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	simdom check d
}

@test "pipelines: cold migration through a pipe, and through tee whose copy restores too" {
	simdom create d --memory 32M --dirty-rate 5000
	wait_writes "$HOSTA" d 200
	set -o pipefail
	dom-suspend d </dev/null | tee "$T/copy" | XENPIPE_SIM_DIR=$HOSTB dom-resume
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	[ "$(sim_field "$HOSTB" d '["state"]')" = running ]
	# the tapped copy is a complete stream: it restores on a third host
	XENPIPE_SIM_DIR=$T/hostC dom-resume -n d2 <"$T/copy"
	XENPIPE_SIM_DIR=$T/hostC simdom check d2
	destroy_all "$T/hostC"
	run verify_stream xl "$T/copy"
	[ "$status" -eq 0 ]
}

@test "pipelines: the oracle can fail: one corrupt page in a saved file is reported by the restored guest" {
	simdom create d --memory 16M --dirty-rate 0 --zero 0
	dom-suspend d </dev/null >"$T/f"
	python3 "$STREAMTOOL" mutate "$T/f" corrupt-pfn=0x123 "$T/bad"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/bad"
	[ "$status" -eq 0 ]
	XENPIPE_SIM_DIR=$HOSTB run simdom check d
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"pfn 0x123"* ]]
	# and the untouched file restores intact
	XENPIPE_SIM_DIR=$T/hostC dom-resume <"$T/f"
	XENPIPE_SIM_DIR=$T/hostC simdom check d
	destroy_all "$T/hostC"
}

@test "pipelines: dom-resume refuses a name held by a running domain and leaves nothing behind" {
	simdom create d --memory 16M
	dom-suspend -c d </dev/null >"$T/f"
	run dom-resume <"$T/f"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"running"* ]]
	[ "$(domains_on "$HOSTA")" = d ]
	[ "$(entries_on "$HOSTA")" = d ]
	run dom-resume -n d-copy <"$T/f"
	[ "$status" -eq 0 ]
	simdom check d-copy
}

@test "pipelines: dom-resume --in-place resumes a domain dom-suspend left suspended" {
	simdom create d --memory 16M --dirty-rate 2000
	wait_writes "$HOSTA" d 100
	dom-suspend d </dev/null >/dev/null
	[ "$(sim_field "$HOSTA" d '["state"]')" = suspended ]
	stopped=$(sim_field "$HOSTA" d '["counters"]["pages_written"]')
	run dom-resume --in-place d
	[ "$status" -eq 0 ]
	[ "$(sim_field "$HOSTA" d '["state"]')" = running ]
	simdom check d
	sleep 0.2
	[ "$(sim_field "$HOSTA" d '["counters"]["pages_written"]')" -gt "$stopped" ]
	# a running domain is not "resumed" twice
	run dom-resume --in-place d
	[ "$status" -eq 3 ]
	[[ "$output" == *"not suspended"* ]]
}

@test "pipelines: a receiver that goes away makes dom-suspend fail and resume the source" {
	simdom create d --memory 32M --dirty-rate 2000
	wait_writes "$HOSTA" d 100
	run bash -c 'set -o pipefail; dom-suspend d </dev/null | head -c 100000 >/dev/null'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"d resumed"* ]]
	[ "$(sim_field "$HOSTA" d '["state"]')" = running ]
	simdom check d
}

@test "pipelines: a receiver killed mid-stream leaves no half-built domain" {
	simdom create d --memory 64M --dirty-rate 0 --zero 0
	dom-suspend -c d </dev/null >"$T/f"
	mkfifo "$T/fifo"
	XENPIPE_SIM_DIR=$HOSTB dom-resume <"$T/fifo" 3>&- &
	pid=$!
	exec 4>"$T/fifo"
	head -c 20000000 "$T/f" >&4
	kill -TERM $pid
	rc=0
	wait "$pid" || rc=$?
	exec 4>&-
	[ "$rc" -ne 0 ]
	[ -z "$(entries_on "$HOSTB")" ]
}

@test "pipelines: a domain that is not there: each program exits 3 with one line naming it" {
	simdom create d --memory 16M --dirty-rate 0
	dom-suspend -c d </dev/null >"$T/f"
	for cmd in "mem-dump nosuch" "mem-dump -l nosuch" "dom-suspend nosuch" \
	    "dom-suspend -c nosuch" "dirty-track nosuch"; do
		run bash -c "$cmd < $T/f > /dev/null"
		echo "$cmd: $status: $output"
		[ "$status" -eq 3 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *nosuch* ]]
	done
	[ "$(domains_on "$HOSTA")" = d ]
}
