#!/usr/bin/env bats
# dom-list on the sim backend: the columns, the JSON, and the log-dirty
# state that shows a migration in flight (or one that did not clean up).

load lib/common

setup() {
	setup_sim
}

teardown() {
	teardown_sim
}

# col NAME N: column N of NAME's line
col() {
	dom-list | awk -v n="$1" -v c="$2" '$1 == n { print $c }'
}

@test "dom-list: name, id, pages, vCPUs, type, state, log-dirty off" {
	simdom create d --memory 16M --dirty-rate 100
	run dom-list
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | head -n 1 | awk '{ print $NF }')" = LogDirty ]
	[ "$(col d 3)" = 4096 ]
	[ "$(col d 5)" = hvm ]
	[ "$(col d 6)" = running ]
	[ "$(col d 7)" = off ]
}

@test "dom-list: log-dirty is on between mem-dump -l and dom-suspend, off after" {
	simdom create d --memory 16M --dirty-rate 1000
	mem-dump -l d > "$T/first"
	[ "$(col d 7)" = on ]
	run dom-list -j
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = [x for x in json.load(sys.stdin)["domains"] if x["name"] == "d"][0]
assert d["logdirty"] is True and d["pages"] == 4096 and d["pfns"] == 4096, d'
	dom-suspend d < "$T/first" > "$T/stream"
	[ "$(col d 7)" = off ]
	[ "$(col d 6)" = suspended ]
}
