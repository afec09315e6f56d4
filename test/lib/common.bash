# Shared set-up of the bats suites: every test gets its own simulated
# hosts (sim roots) and leaves no guest process behind.

setup_sim() {
	export XENPIPE_BACKEND=sim
	export XENPIPE_SIM_DIR="$BATS_TEST_TMPDIR/hostA"
	HOSTA="$BATS_TEST_TMPDIR/hostA"
	HOSTB="$BATS_TEST_TMPDIR/hostB"
	mkdir -p "$HOSTA" "$HOSTB"
	export T="$BATS_TEST_TMPDIR"
	STREAMTOOL="$BATS_TEST_DIRNAME/lib/streamtool.py"
}

# Destroy every domain under a root (teardown; ignores errors).
destroy_all() {
	local root=$1 name
	[ -d "$root" ] || return 0
	for name in $(XENPIPE_SIM_DIR=$root simdom list 2>/dev/null | awk 'NR > 1 { print $1 }'); do
		XENPIPE_SIM_DIR=$root simdom destroy "$name" >/dev/null 2>&1 || true
	done
}

teardown_sim() {
	destroy_all "$HOSTA"
	destroy_all "$HOSTB"
}

# verify_stream FORMAT FILE: Xen's own verifier from xen-utils-4.17.
verify_stream() {
	local verify=${XENPIPE_VERIFY:?XENPIPE_VERIFY must name verify-stream-v2}
	local pydir
	pydir=$(dirname "$(dirname "$verify")")/lib/python
	PYTHONPATH=$pydir python3 "$verify" -f "$1" -i "$2"
}

# The names of the domains (hidden ones never show) under a root.
domains_on() {
	XENPIPE_SIM_DIR=$1 simdom list | awk 'NR > 1 { print $1 }'
}

# Everything under a root but the bookkeeping files: no half-built domain.
entries_on() {
	ls -A "$1" | grep -v -e '^\.domid' -e '^\.lock' || true
}

sim_field() {	# sim_field ROOT NAME KEY: one field of simdom info
	XENPIPE_SIM_DIR=$1 simdom info "$2" |
	    python3 -c "import json,sys; print(json.load(sys.stdin)$3)"
}
