#!/usr/bin/env bats
# What the fuzzers found, replayed through the programs: every input kept
# under fuzz/regress/HARNESS/ (it once crashed that harness) goes to the
# program that reads the same thing, which must end with a verdict (status
# 0, or 2 and one line naming the problem), never a crash, a hang or a
# sanitizer report.  Under make check this runs with the plain and the
# ASan+UBSan programs.

load lib/common

setup() {
	setup_sim
	# FUZZ_REGRESS=DIR replays another set (a run's build-fuzz/corpus)
	REGRESS=${FUZZ_REGRESS:-$BATS_TEST_DIRNAME/../fuzz/regress}
}

teardown() {
	teardown_sim
}

# Skip unless a harness has inputs to replay.
have_inputs() {	# have_inputs HARNESS
	local d="$REGRESS/$1"
	[ -d "$d" ] && [ -n "$(ls -A "$d")" ] || skip "no inputs in fuzz/regress/$1"
}

# The last `run` ended with a verdict: 0, or one line "PROG: ..." and one
# of the statuses given (default 2, a malformed stream).
verdict() {	# verdict PROG INPUT [STATUS...]
	local prog=$1 input=$2 s ok=0
	shift 2
	echo "$input: status $status: $output"
	[[ "$output" != *Sanitizer* && "$output" != *"runtime error"* ]]
	[ "$status" -ne 0 ] || return 0
	for s in "${@:-2}"; do
		[ "$status" -eq "$s" ] && ok=1
	done
	[ "$ok" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "$prog: "* ]]
}

# A stream, read whole (stream-info) and restored (dom-resume, sim).
replay_stream() {	# replay_stream FILE
	run timeout 60 stream-info "$1"
	# a valid stream's report is many lines: only the status counts then
	[ "$status" -eq 0 ] || verdict stream-info "$1"
	# a real Xen domain's stream is a usage error for the sim (100)
	run timeout 60 dom-resume -n victim <"$1"
	if [ "$status" -eq 0 ]; then
		simdom destroy victim
	else
		verdict dom-resume "$1" 2 100
	fi
}

@test "fuzz-regress: stream-read's inputs through stream-info and dom-resume" {
	have_inputs stream-read
	for f in "$REGRESS"/stream-read/*; do
		replay_stream "$f"
	done
}

@test "fuzz-regress: stream-defer's inputs through stream-info, dom-resume and dom-suspend (which passes pages through unread)" {
	have_inputs stream-defer
	simdom create src --memory 64K --zero 80
	for f in "$REGRESS"/stream-defer/*; do
		replay_stream "$f"
		# another domain's or format's stream is a usage error (100)
		run sh -c 'timeout 60 dom-suspend -c src <"$1" >/dev/null' - "$f"
		verdict dom-suspend "$f" 2 100
	done
}

@test "fuzz-regress: lz4-recv's inputs through stream-recv" {
	have_inputs lz4-recv
	for f in "$REGRESS"/lz4-recv/*; do
		run sh -c 'timeout 60 stream-recv <"$1" >/dev/null' - "$f"
		verdict stream-recv "$f"
	done
}

# A config goes in a small sim stream's xl header, for stream-info.
@test "fuzz-regress: config-json's inputs as the config of an xl stream, through stream-info" {
	have_inputs config-json
	simdom create src --memory 64K --zero 80
	dom-suspend -c src </dev/null >"$T/base"
	for f in "$REGRESS"/config-json/*; do
		python3 "$STREAMTOOL" reconfig "$T/base" "$f" "$T/s"
		run timeout 60 stream-info "$T/s"
		[ "$status" -eq 0 ] || verdict stream-info "$f"
	done
}
