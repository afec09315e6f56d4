#!/usr/bin/env bats
# The source guard (common/srcguard.h), alone: what a sending stage turned
# on is undone on every way out.  The stages' own fault tests (live.bats,
# pipelines.bats, handover.bats) prove it through the programs.

load lib/common

@test "srcguard: undo in order, failures reported and held, what is handed on kept (unit, fake backend)" {
	run_unit 17 test-srcguard
}
