#!/usr/bin/env bats
# The source guard (common/srcguard.h), alone: what a sending stage turned
# on is undone on every way out.  The stages' own fault tests (live.bats,
# pipelines.bats, handover.bats) prove it through the programs.

@test "srcguard: undo in order, failures reported and held, what is handed on kept (unit, fake backend)" {
	run test-srcguard
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^not ok' <<<"$output")" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -ge 17 ]
}
