# xenpipe's pipelines on the guest with a disk and a vif (issue 5,
# acceptance 7): after a cold and a live migration to the same host, the
# backends are rebuilt from the config in the stream (xen_dev.c) and the
# guest goes on reading its disk and answering ping (devices_ok, lib.bash).
load lib

G=devguest
LAB_DEVICES=1
F=$LAB_WORK/$G.xp
ERR=$LAB_WORK/err

setup() {
	command -v dom-suspend >/dev/null || skip "xenpipe not built (no build/dom-suspend)"
	skip_pvh_devices "xenpipe's migration of"
	devguest_ensure
}

teardown() {
	rm -f $F	# dom0's /tmp is its RAM
}

# the backends dom0 has for the guest now: vbd and vif under its domid
backends() {
	local id=$(domid)
	echo "vbd $(xenstore-list /local/domain/0/backend/vbd/$id 2>/dev/null | wc -l)" \
	    "vif $(xenstore-list /local/domain/0/backend/vif/$id 2>/dev/null | wc -l)"
}

cold_ours() {
	dom-suspend -v $G > $F 2> $ERR || { cat $ERR; return 1; }
	fig "$(cat $ERR)"
	dom-resume -v < $F
	xl destroy $G--migratedaway
}

live_ours() {
	set -o pipefail
	mem-dump -l $G | dirty-track $G | dom-suspend -v $G 2> $ERR | dom-resume
	fig "$(cat $ERR)"
	xl destroy $G--migratedaway
}

@test "devices, cold: dom-suspend > f; dom-resume < f: disk and vif rebuilt, the guest reads its disk and answers ping" {
	keep_running cold_ours
	fig "backends: $(backends)"
	[ "$(backends)" = "vbd 1 vif 1" ]
	devices_ok
}

@test "devices, live: mem-dump -l | dirty-track | dom-suspend | dom-resume: the guest reads its disk and answers ping" {
	keep_running live_ours
	[ "$(backends)" = "vbd 1 vif 1" ]
	devices_ok
}

@test "devices: xl destroy of the domain dom-resume built removes its backends and frees the loop device's user" {
	local id=$(domid)
	xl destroy $G
	[ -z "$(xenstore-list /local/domain/0/backend/vbd/$id 2>/dev/null)" ]
	[ -z "$(xenstore-list /local/domain/0/backend/vif/$id 2>/dev/null)" ]
	! ip link show vif$id.0 2>/dev/null || false
}
