#!/usr/bin/env bats
# The receiver's trust boundary: the config a stream carries is a proposal
# that dom-resume holds against this host's policy before it builds
# anything (xenpipe-policy(5)).

load lib/common

setup() {
	setup_sim
	simdom create src --memory 16M
	dom-suspend -c src </dev/null >"$T/s"
	stream-info --config "$T/s" >"$T/c.json"
	mkdir -p "$T/images"
	: >"$T/images/a.img"
	printf 'DiskDir %s\n' "$T/images" >"$T/policy"
}

teardown() {
	teardown_sim
	[ -z "${LOOPDEV:-}" ] || losetup -d "$LOOPDEV" 2>/dev/null || true
	[ -z "${NETNS:-}" ] || ip netns del "$NETNS" 2>/dev/null || true
}

# proposal NAME PYTHON: $T/NAME, the stream with its config c changed by
# PYTHON (c is the config as a dict).
proposal() {
	python3 - "$T/c.json" "$T/$1.json" "$2" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
EOF
	python3 "$STREAMTOOL" reconfig "$T/s" "$T/$1.json" "$T/$1"
}

disk() {	# disk PATH [SCRIPT]: python that gives c one disk
	local script=${2:+, \"script\": \"$2\"}
	echo "c['disks'] = [{'vdev': 'xvda', 'pdev_path': '$1', 'readwrite': 1$script}]"
}

@test "policy: the table of hostile configs, each refused with one line, and benign ones accepted (unit, no Xen)" {
	run_unit 34 test-policy
	refused=$(grep -c '^ok .* - refused ' <<<"$output")
	accepted=$(grep -c '^ok .* - accepted ' <<<"$output")
	[ "$refused" -ge 30 ]
	[ "$accepted" -ge 4 ]
	[ "$(grep -c '^not ok' <<<"$output")" -eq 0 ]
	echo "# test-policy: $refused hostile configs refused, $accepted benign accepted" >&3
}

@test "policy: dom-resume refuses hostile stream configs before it builds anything, one line each" {
	local root
	root=$(findmnt -n -o SOURCE / 2>/dev/null || true)
	{
		echo "shadow|$(disk /etc/shadow)|/etc/shadow is a file outside the disk directories"
		echo "proc-root|$(disk /proc/self/root/etc/shadow)|/etc/shadow is a file outside"
		echo "dotdot|$(disk "$T/images/../../../../../etc/passwd")|/etc/passwd is a file outside"
		if [ -b "$root" ]; then
			echo "dom0-root|$(disk "$root")|is in use by dom0"
		fi
		echo "script|$(disk /dev/null launch-xenstore)|script launch-xenstore is refused"
		echo "route|c['nics'] = [{'script': 'vif-route', 'ip': '0.0.0.0/1 128.0.0.0/1'}]|nics[0]: script vif-route is refused"
		echo "bridge|c['nics'] = [{'bridge': 'nosuchbr0'}]|bridge nosuchbr0 is not a bridge on this host"
		echo "dom0|c['c_info']['name'] = 'Domain-0'|\"Domain-0\" is reserved"
		echo "uuid|c['c_info']['name'] = 'evil'|is domain 1 (src) here"
		echo "nested|c['b_info']['nested_hvm'] = 'True'|nested_hvm is on"
		echo "memory|c['b_info']['max_memkb'] = 1 << 30|KiB of memory asked"
		echo "vcpus|c['b_info']['max_vcpus'] = 4096|max_vcpus is 4096"
		echo "evtchn|c['b_info']['event_channels'] = 2**31 - 1|event_channels is 2147483647"
		echo "escape|$(disk "$T/images/\x1b]0;pwned\x07")|pdev_path"
	} >"$T/cases"
	[ -b "$root" ] || echo "# dom0's root ($root) is no block device here: that case is left to the lab" >&3
	while IFS='|' read -r name change pattern; do
		proposal "$name" "$change"
		# the UUID case needs src beside it; the rest go to an empty host
		if [ "$name" = uuid ]; then where=$HOSTA; else where=$HOSTB; fi
		XENPIPE_SIM_DIR=$where run dom-resume --policy "$T/policy" <"$T/$name"
		echo "$name: status $status: $output"
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "dom-resume: sim: policy: "*"$pattern"* ]]
		[[ "$output" != *$'\e'* ]]
		[[ "$output" != *$'\a'* ]]
		[ -z "$(entries_on "$HOSTB")" ]
		[ "$(domains_on "$HOSTA")" = src ]
		printf '# %-10s %s\n' "$name" "${output#dom-resume: sim: }" >&3
	done <"$T/cases"
}

@test "policy: dom-resume --dry-run prints what it would build from a benign stream, and builds nothing" {
	proposal benign "$(disk "$T/images/a.img")"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume --dry-run --policy "$T/policy" -n copy <"$T/benign"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "name copy" ]
	[[ "$output" == *$'\n'"memory 16384 KiB"$'\n'* ]]
	[[ "$output" == *$'\n'"disk xvda $T/images/a.img script block rw"$'\n'* ]]
	[ "${lines[-1]}" = accepted ]
	[ -z "$(entries_on "$HOSTB")" ]
	# the same stream restores for real, and the guest checks out
	XENPIPE_SIM_DIR=$HOSTB dom-resume --policy "$T/policy" -n copy <"$T/benign"
	XENPIPE_SIM_DIR=$HOSTB simdom check copy
}

@test "policy: --dry-run accepts a loop device and a vif on an existing bridge" {
	truncate -s 1M "$T/images/loop.img"
	LOOPDEV=$(losetup -f --show "$T/images/loop.img" 2>/dev/null) ||
	    skip "no loop devices here (losetup failed)"
	NETNS=xp-policy-$$
	ip netns add "$NETNS" 2>/dev/null || skip "no network namespaces here"
	ip -n "$NETNS" link add xpbr0 type bridge || skip "no bridges here"
	proposal good "$(disk "$LOOPDEV"); c['nics'] = [{'bridge': 'xpbr0'}]"
	XENPIPE_SIM_DIR=$HOSTB run ip netns exec "$NETNS" dom-resume --dry-run <"$T/good"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'"disk xvda $LOOPDEV script block rw"$'\n'* ]]
	[[ "$output" == *$'\n'"vif 0 bridge xpbr0 script vif-bridge"$'\n'* ]]
	[ "${lines[-1]}" = accepted ]
	# a link that is no bridge, and the loop device once dom0 swaps on it
	proposal nobr "c['nics'] = [{'bridge': 'lo'}]"
	XENPIPE_SIM_DIR=$HOSTB run ip netns exec "$NETNS" dom-resume --dry-run <"$T/nobr"
	[ "$status" -eq 2 ]
	[[ "$output" == *"bridge lo is not a bridge on this host"* ]]
	mkswap "$LOOPDEV" >/dev/null && swapon "$LOOPDEV" 2>/dev/null ||
	    skip "cannot swap on a loop device here"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume --dry-run <"$T/good"
	swapoff "$LOOPDEV"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is in use by dom0 ("*"is swap)"* ]]
}

@test "policy: --dry-run of a hostile stream prints the first refusal and exits 2; it needs no hypervisor" {
	proposal bad "$(disk /etc/shadow)"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume --dry-run <"$T/bad"
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"policy: disks[0] (xvda): /etc/shadow is a file outside"* ]]
	# no Xen here: the xen backend cannot list domains, Linux's facts
	# still hold (for a real guest's config: xen refuses a sim one)
	[ ! -e /dev/xen/privcmd ] || skip "this is a Xen host"
	proposal bad "$(disk /etc/shadow); del c['xenpipe']"
	XENPIPE_BACKEND=xen run dom-resume --dry-run <"$T/bad"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no domains could be listed here"* ]]
	[[ "$output" == *"/etc/shadow is a file outside"* ]]
	proposal benign "$(disk "$T/images/a.img"); del c['xenpipe']"
	XENPIPE_BACKEND=xen run dom-resume --dry-run --policy "$T/policy" <"$T/benign"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = accepted ]
}

@test "policy: dom-resume --config replaces the stream's config with the destination's own" {
	proposal bad "$(disk /etc/shadow); c['c_info']['name'] = 'Domain-0'"
	stream-info --config "$T/s" >"$T/mine.json"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/mine.json"
	grep -q '"name": "src"' "$T/mine.json"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/bad"
	[ "$status" -eq 2 ]
	XENPIPE_SIM_DIR=$HOSTB run dom-resume --config "$T/mine.json" <"$T/bad"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(domains_on "$HOSTB")" = src ]
	XENPIPE_SIM_DIR=$HOSTB simdom check src
	# and a config of its own is checked as any other
	XENPIPE_SIM_DIR=$HOSTB run dom-resume -n other --config "$T/bad.json" <"$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"policy: "* ]]
}

@test "policy: -n makes a copy beside its original, with a UUID of its own" {
	XENPIPE_SIM_DIR=$HOSTA dom-resume -n copy <"$T/s"
	dom-suspend -c copy </dev/null >"$T/copy"
	u_src=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["c_info"]["uuid"])' "$T/c.json")
	stream-info --config "$T/copy" >"$T/copy.json"
	u_copy=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["c_info"]["uuid"])' "$T/copy.json")
	[ -n "$u_src" ]
	[ -n "$u_copy" ]
	[ "$u_src" != "$u_copy" ]
	simdom check copy
}

@test "policy: a deep-JSON config is one line and exit 2 from stream-info and dom-resume, before yajl sees it" {
	python3 -c 'print("{\"c_info\":{\"name\":\"x\"},\"x\":" + "[" * 300000 + "]" * 300000 + "}")' >"$T/deep.json"
	python3 "$STREAMTOOL" reconfig "$T/s" "$T/deep.json" "$T/deep"
	run stream-info "$T/deep"
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"nests deeper than 32 levels"* ]]
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/deep"
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"nests deeper than 32 levels"* ]]
	[ -z "$(entries_on "$HOSTB")" ]
}

@test "policy: a stream that carries more than StreamFactor times its domain's memory is cut off" {
	# 16 MiB of pages, sent 5 times: past 2 x 16 MiB + 16 MiB
	python3 "$STREAMTOOL" mutate "$T/s" repeat-pages=5 "$T/big"
	printf 'StreamFactor 2\n' >"$T/tight"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume --policy "$T/tight" <"$T/big"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"the stream goes on past 48 MiB, 2 times its domain's memory (StreamFactor)"* ]]
	[ -z "$(entries_on "$HOSTB")" ]
	# the default (64 times) lets it through: the pages are only repeated
	XENPIPE_SIM_DIR=$HOSTB dom-resume <"$T/big"
	XENPIPE_SIM_DIR=$HOSTB simdom check src
}

@test "policy: a bad policy file is refused with its file and line" {
	printf 'DiskDir /x\nAllowEverything yes\n' >"$T/p1"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume --dry-run --policy "$T/p1" <"$T/s"
	echo "$output"
	[ "$status" -eq 100 ]
	[[ "$output" == *"$T/p1:2: unknown keyword \"AllowEverything\""* ]]
	printf 'MaxVcpus many\n' >"$T/p2"
	XENPIPE_SIM_DIR=$HOSTB run dom-resume --dry-run --policy "$T/p2" <"$T/s"
	[ "$status" -eq 100 ]
	[[ "$output" == *"$T/p2:1: bad value for MaxVcpus"* ]]
	XENPIPE_SIM_DIR=$HOSTB run dom-resume --dry-run --policy "$T/nonesuch" <"$T/s"
	[ "$status" -ne 0 ]
	[[ "$output" == *"policy $T/nonesuch"* ]]
}
