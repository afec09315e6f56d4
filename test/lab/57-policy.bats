# The receiver's policy on real Xen (issue 13): a stream whose config asks
# for a disk dom0 uses, a file under /etc, a script of its choosing, a
# routing vif or a running guest's UUID is refused by dom-resume before it
# builds anything: xl list, dom0's backend directories, the loop devices
# and the hotplug log are as they were.  And a dom-resume killed outright
# with its watchman, after create, leaves NAME--incoming to the next one.
load lib

F=$LAB_WORK/policy.xp
C=$LAB_WORK/policy.json
H=$LAB_WORK/policy-hostile
STREAMTOOL=$BATS_TEST_DIRNAME/streamtool.py

setup() {
	command -v dom-resume >/dev/null || skip "xenpipe not built (no build/dom-resume)"
	ensure_guest
}

teardown() {
	rm -f $F $H $H.json	# dom0's /tmp is its RAM
	[ -z "${SWAPDEV:-}" ] || { swapoff $SWAPDEV; losetup -d $SWAPDEV; rm -f $LAB_WORK/swap.img; } 2>/dev/null || true
}

# What must not change: domains, dom0's backends, loop devices, hotplug runs.
host_state() {
	xl list | awk 'NR > 1 { print $1 }' | sort
	for k in vbd vif; do
		for d in $(xenstore-list /local/domain/0/backend/$k 2>/dev/null); do
			echo "$k $d: $(xenstore-list /local/domain/0/backend/$k/$d | tr '\n' ' ')"
		done
	done
	losetup -a | sort
	if [ -e /var/log/xen/xenpipe-hotplug.log ]; then
		wc -c < /var/log/xen/xenpipe-hotplug.log
	else
		echo "no hotplug log"
	fi
}

# hostile NAME PYTHON PATTERN: the checkpoint with its config changed by
# PYTHON (on c, a dict) is refused with one line matching PATTERN, and the
# host is as it was
hostile() {
	local before after st=0
	python3 - $C $H.json "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
	python3 $STREAMTOOL reconfig $F $H.json $H
	before=$(host_state)
	dom-resume < $H > $LAB_WORK/out 2>&1 || st=$?
	after=$(host_state)
	fig "$1: status $st: $(cut -c1-300 $LAB_WORK/out)"
	[ "$st" -eq 2 ]
	[ "$(wc -l < $LAB_WORK/out)" -eq 1 ]
	grep -q -- "policy: .*$3" $LAB_WORK/out
	[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&3; return 1; }
}

disk() { echo "c['disks'] = [{'vdev': 'xvdb', 'pdev_path': '$1', 'readwrite': 1${2:+, 'script': '$2'}}]"; }

@test "policy: hostile configs in a real guest's stream are refused before anything is built; the host is unchanged" {
	dom-suspend -c $G > $F
	stream-info --config $F > $C
	# dom0 runs from RAM here (no root disk): a loop device it swaps on
	# stands for a disk of dom0's own
	truncate -s 16M $LAB_WORK/swap.img
	SWAPDEV=$(losetup -f --show $LAB_WORK/swap.img)
	mkswap $SWAPDEV >/dev/null
	swapon $SWAPDEV
	root=$(findmnt -n -o SOURCE / || true)
	if [ -b "$root" ]; then
		hostile "dom0's root disk" "$(disk $root)" "is in use by dom0"
	else
		fig "dom0's / is $root (no block device): its swap stands in"
	fi
	hostile "dom0's disk (swap)" "$(disk $SWAPDEV)" "$SWAPDEV is in use by dom0 (.* is swap)"
	hostile "a file under /etc" "$(disk /etc/shadow)" "/etc/shadow is a file outside the disk directories"
	hostile "through /proc/self/root" "$(disk /proc/self/root/etc/passwd)" "/etc/passwd is a file outside"
	hostile "a script of its own" "$(disk /dev/null launch-xenstore)" "script launch-xenstore is refused"
	hostile "a routing vif" "c['nics'] = [{'script': 'vif-route', 'ip': '0.0.0.0/1 128.0.0.0/1'}]" "script vif-route is refused"
	hostile "a running guest's UUID" "c['c_info']['name'] = 'evil'" "is domain $(domid) ($G) here"
	hostile "a second Domain-0" "c['c_info']['name'] = 'Domain-0'" '"Domain-0" is reserved'
	hostile "nested HVM" "c['b_info']['nested_hvm'] = 'True'" "nested_hvm is on"
	# the guest ran on through all of it
	guest_intact
}

@test "policy: dom-resume --dry-run of the guest's own stream on this host prints its plan" {
	dom-suspend -c $G > $F
	run dom-resume --dry-run < $F
	fig "$(echo "$output" | tr '\n' ';')"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "name $G" ]
	[ "${lines[-1]}" = accepted ]
	own=$(echo "$output" | awk '$1 == "uuid" { print $2 }')
	[ -n "$own" ]
	# a copy under another name gets a UUID of its own, so it passes too
	run dom-resume --dry-run -n $G-copy < $F
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'"uuid "* ]]
	[[ "$output" != *"uuid $own"* ]]
}

@test "policy: a dom-resume killed outright with its watchman leaves NAME--incoming, which the next dom-resume destroys" {
	local st=0
	dom-suspend -c $G > $F
	# a receiver that gets half the stream and then waits
	{ head -c 40M $F; sleep 300; } | dom-resume -n left > /dev/null 2>&1 3>/dev/null &
	for i in $(seq 100); do
		xl list | grep -q '^left--incoming ' && break
		sleep 0.2
	done
	xl list | grep -q '^left--incoming '
	sleep 1
	# the receiver and its watchman (both dom-resume), then the feeder
	pkill -KILL -x dom-resume
	pkill -f 'sleep 300' || true
	sleep 1
	xl list | grep -q '^left--incoming '	# the leftover is there
	id=$(xl domid left--incoming)
	fig "left--incoming is domain $id, builder $(xenstore-read /libxl/$id/xenpipe-builder)"
	# the next receiver, whatever it is given, sweeps it first
	head -c 1M $F | dom-resume -n probe > $LAB_WORK/out 2>&1 || st=$?
	fig "next dom-resume: status $st: $(cat $LAB_WORK/out)"
	[ "$st" -eq 2 ]
	run xl list
	fig "$(echo "$output" | awk 'NR > 1 { print $1 }' | tr '\n' ' ')"
	[[ "$output" != *"left--incoming"* ]]
	[[ "$output" != *"probe"* ]]
	[ -z "$(xenstore-list /libxl/$id 2>/dev/null)" ]
	guest_intact
}
