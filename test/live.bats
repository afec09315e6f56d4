#!/usr/bin/env bats
# Live migration on the sim backend: mem-dump -l | dirty-track |
# dom-suspend | dom-resume while the guest keeps writing.  The guest on the
# destination is the judge; every failure leaves the source running.

load lib/common

setup() {
	setup_sim
	export XENPIPE_SIM_TIMEOUT_MS=2000
}

teardown() {
	teardown_sim
}

# The source after a failed migration: running, intact, log-dirty off,
# not throttled.
source_unharmed() {
	[ "$(sim_field "$HOSTA" d '["state"]')" = running ]
	simdom check d
	[ "$(sim_field "$HOSTA" d '["logdirty"]')" = False ]
	[ "$(sim_field "$HOSTA" d '["workload"]["throttle_pct"]')" = 100 ]
}

@test "live: migration between two hosts while the guest writes; the destination is intact and counts on" {
	simdom create d --memory 128M --dirty-rate 20000
	sleep 0.3
	set -o pipefail
	mem-dump -l d | dirty-track --stats "$T/stats" d | dom-suspend d |
	    tee "$T/stream" | XENPIPE_SIM_DIR=$HOSTB dom-resume
	[ "$(sim_field "$HOSTA" d '["state"]')" = suspended ]
	stopped=$(sim_field "$HOSTA" d '["counters"]["pages_written"]')
	XENPIPE_SIM_DIR=$HOSTB simdom check d
	sleep 0.2
	now=$(sim_field "$HOSTB" d '["counters"]["pages_written"]')
	echo "pages written: $stopped at suspend, $now on the destination"
	[ "$now" -gt "$stopped" ]
	echo "guest-measured downtime: $(sim_field "$HOSTB" d '["downtime_ms"]') ms"
	grep -q '"final": true' "$T/stats"
	# the captured stream is a valid migration stream
	run verify_stream xl "$T/stream"
	echo "$output"
	[ "$status" -eq 0 ]
	run stream-info --verify "$T/stream"
	[ "$status" -eq 0 ]
}

@test "live: the oracle can fail: dropping the final dirty pages corrupts the destination, and the guest says so" {
	simdom create d --memory 64M --dirty-rate 50000 --zero 0
	sleep 0.3
	set -o pipefail
	mem-dump -l d | dirty-track d | XENPIPE_FAULT=drop-final-dirty dom-suspend d |
	    XENPIPE_SIM_DIR=$HOSTB dom-resume
	XENPIPE_SIM_DIR=$HOSTB run simdom check d
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"corrupt at pfn"* ]]
}

@test "live: the same host: the suspended source makes way and the new domain runs" {
	simdom create d --memory 64M --dirty-rate 10000
	set -o pipefail
	mem-dump -l d | dirty-track d | dom-suspend d | dom-resume
	simdom check d
	[ "$(sim_field "$HOSTA" d--migratedaway '["state"]')" = suspended ]
}

@test "live: --policy=xen and --throttle both end with an intact guest" {
	simdom create d --memory 64M --dirty-rate 20000
	set -o pipefail
	mem-dump -l d | dirty-track --policy=xen d | dom-suspend d |
	    XENPIPE_SIM_DIR=$HOSTB dom-resume -n x
	XENPIPE_SIM_DIR=$HOSTB simdom check x
	dom-resume --in-place d
	mem-dump -l d | dirty-track --throttle --downtime 1 d | dom-suspend d |
	    XENPIPE_SIM_DIR=$HOSTB dom-resume -n t
	XENPIPE_SIM_DIR=$HOSTB simdom check t
	# the throttle was lifted once the guest was suspended
	[ "$(sim_field "$HOSTA" d '["workload"]["throttle_pct"]')" = 100 ]
}

@test "live: a receiver killed mid-stream leaves the source running, intact, log-dirty off" {
	simdom create d --memory 128M --dirty-rate 50000
	bash -c 'set -o pipefail; mem-dump -l d | dirty-track --bandwidth 20M --max-time 30 d |
	    dom-suspend d | XENPIPE_SIM_DIR='"$HOSTB"' sh -c "echo \$\$ >$T/rpid; exec dom-resume"' 2>"$T/err" &
	pid=$!
	sleep 1.5
	kill -KILL "$(cat "$T/rpid")"
	rc=0
	wait "$pid" || rc=$?
	cat "$T/err"
	[ "$rc" -ne 0 ]
	source_unharmed
}

@test "live: dirty-track killed mid-round leaves the source running, intact, log-dirty off" {
	simdom create d --memory 128M --dirty-rate 50000
	bash -c 'set -o pipefail; mem-dump -l d |
	    sh -c "echo \$\$ >$T/tpid; exec dirty-track --bandwidth 20M --max-time 30 d" |
	    dom-suspend d | XENPIPE_SIM_DIR='"$HOSTB"' dom-resume' 2>"$T/err" &
	pid=$!
	sleep 1.5
	kill -KILL "$(cat "$T/tpid")"
	rc=0
	wait "$pid" || rc=$?
	cat "$T/err"
	[ "$rc" -ne 0 ]
	# killed between records: no stage mark; inside one: a short record
	grep -E -q "ended without finishing|stream truncated at offset" "$T/err"
	source_unharmed
	[ -z "$(domains_on "$HOSTB")" ]
}

@test "live: a guest that refuses to suspend leaves the source running, intact, log-dirty off" {
	simdom create d --memory 64M --dirty-rate 10000 --refuse-suspend
	run bash -c 'set -o pipefail; mem-dump -l d | dirty-track d | dom-suspend d |
	    XENPIPE_SIM_DIR='"$HOSTB"' dom-resume'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"suspend"* ]]
	source_unharmed
	[ -z "$(domains_on "$HOSTB")" ]
}

@test "live: dirty-track refuses a stream of another domain and a missing stream" {
	simdom create d --memory 16M
	simdom create e --memory 16M
	run bash -c 'mem-dump -l e | dirty-track d >/dev/null'
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"not d"* ]]
	run dirty-track d </dev/null >/dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"mem-dump -l"* ]]
}

@test "live: a stage that fails before its first byte stops the pipeline; dom-suspend does not fall back to a cold save" {
	simdom create d --memory 16M
	run bash -c 'set -o pipefail; mem-dump -l nosuch | dirty-track d | dom-suspend d | XENPIPE_SIM_DIR=$HOSTB dom-resume'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"dom-suspend: stdin is an empty pipe"* ]]
	source_unharmed
	[ -z "$(domains_on "$HOSTB")" ]
}

# The stages upstream of dom-suspend, finished: their stream in $T/staged,
# log-dirty on and the guest throttled, as they leave them for dom-suspend.
stage_upstream() {
	set -o pipefail
	mem-dump -l d | dirty-track --throttle --max-rounds 3 d >"$T/staged"
	# dirty-track throttles a guest it cannot keep up with; when this one
	# kept up, throttle it as dirty-track would have
	[ "$(sim_field "$HOSTA" d '["workload"]["throttle_pct"]')" -lt 100 ] ||
	    simdom set d throttle 50
	[ "$(sim_field "$HOSTA" d '["logdirty"]')" = True ]
	[ "$(sim_field "$HOSTA" d '["workload"]["throttle_pct"]')" -lt 100 ]
}

@test "live: dom-suspend's usage errors and bad option values after the stages upstream finished leave the domain as they found it" {
	simdom create d --memory 16M --dirty-rate 20000 --workload sweep
	mkfifo "$T/replies"
	while read -r want args; do
		stage_upstream
		run dom-suspend $args <"$T/staged" >/dev/null
		echo "dom-suspend $args: $status: $output"
		[ "$status" -eq "$want" ]
		source_unharmed
	done <<-EOF
	100 --bogus d
	100 -f nope d
	100 --handshake $T/replies --timeout 0 d
	100 --timeout 5 d
	100 -c --handshake $T/replies d
	100 d e
	100
	100 -f libxc d
	3 nosuch
	EOF
	# a bad value is one line naming the option and the problem
	stage_upstream
	run dom-suspend --handshake "$T/replies" --timeout 0 d <"$T/staged" >/dev/null
	[ "$output" = "dom-suspend: --timeout: 0 is out of range 1..86400" ]
	source_unharmed
}

@test "live: dom-suspend's usage error while the stages upstream still run: they undo their own, nothing is left on" {
	simdom create d --memory 16M --dirty-rate 20000 --workload sweep
	run bash -c 'set -o pipefail; mem-dump -l d | dirty-track --throttle d | dom-suspend --bogus d >/dev/null'
	echo "$output"
	[ "$status" -eq 100 ]
	source_unharmed
}

@test "live: dom-suspend whose output closes mid-stream, before or after the suspend, leaves the domain running, log-dirty off, not throttled" {
	simdom create d --memory 16M --dirty-rate 20000 --workload sweep
	# in the copy of the stream upstream: before the suspend
	stage_upstream
	run bash -c 'set -o pipefail; dom-suspend d <"$T/staged" | head -c 100000 >/dev/null'
	echo "$output"
	[ "$status" -eq 111 ]
	[[ "$output" == *"dom-suspend: sim: write stream"* ]]
	source_unharmed
	# in the last dirty pages: after the suspend
	stage_upstream
	size=$(stat -c %s "$T/staged")
	run bash -c 'set -o pipefail; dom-suspend d <"$T/staged" | head -c $(('"$size"' + 8192)) >/dev/null'
	echo "$output"
	[ "$status" -eq 111 ]
	[[ "$output" == *"dom-suspend: d resumed"* ]]
	source_unharmed
}

@test "live: a guest that does not take the suspend request in time: it is withdrawn, the guest that gets to it late finds nothing, the source runs" {
	export XENPIPE_SIM_TIMEOUT_MS=1000
	XENPIPE_FAULT=guest-ack-late simdom create d --memory 16M --dirty-rate 10000
	run bash -c 'set -o pipefail; mem-dump -l d | dirty-track --throttle d | dom-suspend d |
	    XENPIPE_SIM_DIR=$HOSTB dom-resume'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"dom-suspend: sim: domain d: guest did not take the suspend request within 1000 ms; request withdrawn"* ]]
	[ "$(sim_field "$HOSTA" d '["request"]')" = none ]
	# the guest gets to it 1.5 s after it came: it must not suspend then
	sleep 1
	grep -q "withdrawn before we got to it" "$HOSTA/d/log"
	source_unharmed
	[ -z "$(domains_on "$HOSTB")" ]
}

@test "live: a guest that takes the suspend request but suspends late is waited for; the migration completes intact" {
	export XENPIPE_SIM_TIMEOUT_MS=1000
	# it writes on for 1.5 s after it took the request
	XENPIPE_FAULT=guest-suspend-late simdom create d --memory 16M --dirty-rate 10000
	set -o pipefail
	mem-dump -l d | dirty-track d | dom-suspend d | XENPIPE_SIM_DIR=$HOSTB dom-resume
	grep -q "will suspend late" "$HOSTA/d/log"
	[ "$(sim_field "$HOSTA" d '["state"]')" = suspended ]
	XENPIPE_SIM_DIR=$HOSTB simdom check d
}

@test "live: dom-suspend given SIGTERM while the guest is on its way to suspending waits for it, resumes it, and leaves log-dirty off, not throttled" {
	export XENPIPE_SIM_TIMEOUT_MS=1000
	XENPIPE_FAULT=guest-suspend-late simdom create d --memory 16M --dirty-rate 10000
	bash -c 'set -o pipefail; mem-dump -l d | dirty-track --throttle d |
	    sh -c "echo \$\$ >$T/spid; exec dom-suspend d" | XENPIPE_SIM_DIR='"$HOSTB"' dom-resume' 2>"$T/err" &
	pid=$!
	for _ in $(seq 100); do
		grep -q "will suspend late" "$HOSTA/d/log" && break
		sleep 0.05
	done
	grep -q "will suspend late" "$HOSTA/d/log"
	kill -TERM "$(cat "$T/spid")"
	# not 'run wait': run's subshell cannot wait for this shell's child
	rc=0
	wait "$pid" || rc=$?
	cat "$T/err"
	[ "$rc" -ne 0 ]
	grep -q "dom-suspend: sim: d: interrupted while suspending it" "$T/err"
	grep -q "dom-suspend: d resumed" "$T/err"
	source_unharmed
	[ -z "$(domains_on "$HOSTB")" ]
}
