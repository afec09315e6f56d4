#!/usr/bin/env bats
# The stream: what we write passes Xen's verifier in every format, and
# what we read is checked as hostile input: every damaged stream gives one
# clear line, a non-zero exit and no half-built domain.

load lib/common

setup() {
	setup_sim
	simdom create src --memory 16M --dirty-rate 500 --zero 30
}

teardown() {
	teardown_sim
}

@test "stream: dom-suspend writes xl, libxl and libxc streams that verify-stream-v2 accepts" {
	for fmt in xl libxl libxc; do
		dom-suspend -c -f $fmt src </dev/null >"$T/s.$fmt"
		run verify_stream $fmt "$T/s.$fmt"
		echo "$fmt: $output"
		[ "$status" -eq 0 ]
	done
	# and the verifier is not a rubber stamp: a damaged copy fails it
	python3 "$STREAMTOOL" mutate "$T/s.xl" count-big "$T/bad"
	run verify_stream xl "$T/bad"
	[ "$status" -ne 0 ]
}

@test "stream: mem-dump writes every page and no END; stream-info says so" {
	mem-dump src >"$T/dump"
	run stream-info --json "$T/dump"
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
j = json.load(sys.stdin)
pd = [r for r in j["records"] if r["type"] == "PAGE_DATA"][0]
assert j["complete"] is False, j
assert pd["pages"] + pd["zero_pages"] == 4096, pd
assert not [r for r in j["records"] if r["type"] == "END"], j'
	run stream-info --verify "$T/dump"
	[ "$status" -eq 1 ]
	[[ "$output" == *"without END"* ]]
}

@test "stream: zero pages never sent go out as XALLOC, without data" {
	dom-suspend -c src </dev/null >"$T/s"
	run stream-info --json "$T/s"
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
j = json.load(sys.stdin)
pd = [r for r in j["records"] if r["type"] == "PAGE_DATA"][0]
assert pd["zero_pages"] > 0 and pd["pages"] > 0, pd
assert pd["pages"] + pd["zero_pages"] == 4096, pd
# each page with data costs 4096 bytes plus its pfn word; zero ones 8
assert pd["bytes"] < (pd["pages"] + 1) * 4104 + 8 * pd["zero_pages"] + 16 * pd["records"], pd'
	size=$(stat -c %s "$T/s")
	[ "$size" -lt $((16 * 1024 * 1024)) ]
}

@test "stream: stream-info reads its headers and counts records" {
	dom-suspend -c src </dev/null >"$T/s"
	run stream-info --verify "$T/s"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"format:        xl"* ]]
	[[ "$output" == *"x86 HVM"* ]]
	[[ "$output" == *"HVM_CONTEXT"* ]]
	[[ "$output" == *"verify:        ok"* ]]
	[[ "$output" == *"src (simulated)"* ]]
}

# Every bad stream: one line naming the problem, exit 2, nothing built.
expect_refused() {	# expect_refused FILE PATTERN
	run dom-resume -n victim <"$1"
	echo "status $status: $output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$2"* ]]
	[ -z "$(entries_on "$HOSTA" | grep -v '^src$')" ]
}

@test "stream: damaged streams are refused with one clear line and no half-built domain" {
	dom-suspend -c src </dev/null >"$T/s"
	while read -r kind pattern; do
		python3 "$STREAMTOOL" mutate "$T/s" "$kind" "$T/bad.$kind"
		expect_refused "$T/bad.$kind" "$pattern"
	done <<-'TABLE'
	flip-magic not a Xen migration stream
	bad-version version 7
	len-2g over the limit
	count-big does not fit
	pfn-past-end past the end of the domain
	unknown-mandatory unknown mandatory libxc record
	missing-end without END
	TABLE
}

@test "stream: a stream cut at every record boundary, and in the middle of each record, is refused" {
	dom-suspend -c -f xl src </dev/null >"$T/s"
	size=$(stat -c %s "$T/s")
	n=0
	prev=0
	while read -r off part; do
		[ "$off" -lt "$size" ] || continue
		for cut in "$off" $(( (prev + off) / 2 )); do
			[ "$cut" -gt 0 ] || continue
			head -c "$cut" "$T/s" >"$T/cut"
			run dom-resume -n victim <"$T/cut"
			[ "$status" -eq 2 ] || { echo "cut at $cut ($part): status $status $output"; false; }
			[ "${#lines[@]}" -eq 1 ]
			[[ "$output" == *truncated* || "$output" == *"without END"* ]] ||
			    { echo "cut at $cut: $output"; false; }
			n=$((n + 1))
		done
		prev=$off
	done < <(python3 "$STREAMTOOL" boundaries "$T/s")
	echo "$n cuts refused"
	[ "$n" -gt 10 ]
	[ -z "$(entries_on "$HOSTA" | grep -v '^src$')" ]
	# an empty input is refused too
	run dom-resume -n victim </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"empty input"* ]]
}

@test "stream: an unknown optional record is skipped and the domain restores" {
	dom-suspend -c src </dev/null >"$T/s"
	python3 "$STREAMTOOL" mutate "$T/s" unknown-optional "$T/opt"
	run stream-info "$T/opt"
	[ "$status" -eq 0 ]
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/opt"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "src "* ]]
	XENPIPE_SIM_DIR=$HOSTB simdom check src
}

@test "stream: a stream from another backend or no stream at all is refused clearly" {
	printf 'hello, this is not a stream\n' >"$T/text"
	run dom-suspend src <"$T/text"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"</dev/null"* ]]
	# the domain was not touched
	run simdom check src
	[ "$status" -eq 0 ]
	# a libxc stream has no name: dom-resume asks for one
	dom-suspend -c -f libxc src </dev/null >"$T/s.libxc"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/s.libxc"
	[ "$status" -eq 100 ]
	[[ "$output" == *"-n NAME"* ]]
	XENPIPE_SIM_DIR=$HOSTB run dom-resume -n copy <"$T/s.libxc"
	echo "$output"
	[ "$status" -eq 0 ]
	XENPIPE_SIM_DIR=$HOSTB simdom check copy
}

@test "stream: the xen backend refuses a stream of a simulated domain, saying why" {
	dom-suspend -c src </dev/null >"$T/s"
	XENPIPE_BACKEND=xen run dom-resume <"$T/s"
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "dom-resume: xen: "*"simulated domain"*"XENPIPE_BACKEND=sim"* ]]
}

# The filters pass their input's pages through without reading them
# (splice between pipes, read and write otherwise): the bytes must be the
# same either way, and a damaged input still refused.
@test "stream: dirty-track passes mem-dump's stream through byte for byte, between pipes (splice) and between files" {
	mem-dump -l src >"$T/dump"
	size=$(stat -c %s "$T/dump")
	# the stage mark at the end (an empty 8-byte record) is not passed on
	keep=$((size - 16))
	dirty-track --max-rounds 1 src <"$T/dump" >"$T/out.files"
	cat "$T/dump" | dirty-track --max-rounds 1 src | cat >"$T/out.pipes"
	for f in files pipes; do
		echo "$f: $(stat -c %s "$T/out.$f") bytes out of $size in"
		cmp -n "$keep" "$T/dump" "$T/out.$f"
		[ "$(stat -c %s "$T/out.$f")" -gt "$keep" ]
	done
	# and a damaged copy differs where it was damaged: cmp can fail
	python3 "$STREAMTOOL" mutate "$T/dump" pfn-past-end "$T/bad"
	! cmp -s -n "$keep" "$T/bad" "$T/out.pipes" || false
}

@test "stream: a damaged stream into dirty-track is refused with one line, between pipes and between files; the source runs on" {
	mem-dump -l src >"$T/dump"
	pd=$(python3 "$STREAMTOOL" records "$T/dump" | awk '$3 == "0x1" { print $1; exit }')
	head -c $((pd + 16 + 8 * 1024 + 5000)) "$T/dump" >"$T/bad.cut"
	for kind in count-big pfn-past-end; do
		python3 "$STREAMTOOL" mutate "$T/dump" $kind "$T/bad.$kind"
	done
	while read -r kind pattern; do
		for how in files pipes; do
			if [ $how = files ]; then
				run bash -c "dirty-track src <'$T/bad.$kind' >'$T/out'"
			else
				run bash -c "cat '$T/bad.$kind' | dirty-track src | cat >/dev/null; exit \${PIPESTATUS[1]}"
			fi
			echo "$kind, $how: status $status: $output"
			[ "$status" -eq 2 ]
			[ "${#lines[@]}" -eq 1 ]
			[[ "$output" == *"$pattern"* ]]
		done
	done <<-'TABLE'
	count-big does not fit
	pfn-past-end past the end of the domain
	cut truncated at offset
	TABLE
	[ "$(sim_field "$HOSTA" src '["state"]')" = running ]
	[ "$(sim_field "$HOSTA" src '["logdirty"]')" = False ]
	simdom check src
}
