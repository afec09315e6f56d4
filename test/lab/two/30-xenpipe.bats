# xenpipe's own moves between the two hosts over ssh, each A -> B -> A with
# the same checks as xl's (moved, lib2.bash): cold (dom-suspend | ssh B
# dom-resume), the live pipeline (mem-dump -l | dirty-track | dom-suspend |
# ssh B dom-resume) and dom-migrate (the handover), over ssh and --tcp.
load lib2

ERR=$LAB_WORK/err

setup() {
	command -v dom-suspend >/dev/null || skip "xenpipe not built (no build/dom-suspend)"
	guest_on_a
}

# Without the handshake (dom-migrate's) dom-suspend leaves the source
# suspended under its name, and the other host's dom-resume, which cannot
# know of it, starts its copy: the source is destroyed here by its id once
# the copy runs there, as an admin (or dom-migrate) would.
cold_to_b() {
	local id
	id=$(command xl domid $G)
	set -o pipefail
	dom-suspend -v $G 2> $ERR < /dev/null | ssh $B dom-resume -v
	fig "$(cat $ERR)"
	command xl destroy "$id"
}
cold_to_a() {
	local id
	id=$(onb xl domid $G)
	set -o pipefail
	# (stdin from /dev/null: over ssh it would be a socket at its end, which
	# dom-suspend takes for a live stream whose stage before failed)
	onb sh -c "dom-suspend -v $G 2>$ERR </dev/null" | dom-resume -v
	fig "$(onb cat $ERR)"
	onb xl destroy "$id"
}
live_to_b() {
	local id
	id=$(command xl domid $G)
	set -o pipefail
	mem-dump -l $G | dirty-track $G 2> $ERR.dt | dom-suspend -v $G 2> $ERR | ssh $B dom-resume
	fig "$(tail -n 3 $ERR.dt | tr '\n' ' ' | cut -c1-300) $(cat $ERR)"
	command xl destroy "$id"
}
live_to_a() {
	local id
	id=$(onb xl domid $G)
	set -o pipefail
	onb bash -c "set -o pipefail; mem-dump -l $G | dirty-track $G 2>$ERR.dt | dom-suspend -v $G 2>$ERR" | dom-resume
	fig "$(onb tail -n 3 $ERR.dt | tr '\n' ' ' | cut -c1-300) $(onb cat $ERR)"
	onb xl destroy "$id"
}
# dom-migrate [OPTIONS]: from A to B, and from B to A
dm_to_b() {
	dom-migrate "$@" $G $B > $ERR 2>&1 3>/dev/null || { cat $ERR; return 1; }
	fig "$(tr '\n' ' ' < $ERR | cut -c1-300)"
}
dm_to_a() {
	onb sh -c "dom-migrate $* $G $A > $ERR 2>&1" 3>/dev/null || { onb cat $ERR; return 1; }
	fig "$(onb cat $ERR | tr '\n' ' ' | cut -c1-300)"
}

@test "cold over ssh: dom-suspend | ssh B dom-resume, A -> B -> A" {
	moved a b cold_to_b
	moved b a cold_to_a
}

@test "live over ssh: mem-dump -l | dirty-track | dom-suspend | ssh B dom-resume, A -> B -> A" {
	moved a b live_to_b
	moved b a live_to_a
}

@test "dom-migrate over ssh (live, the handover), A -> B -> A" {
	moved a b dm_to_b
	moved b a dm_to_a
}

@test "dom-migrate --tcp 8002 (the stream over TCP, ssh for the handshake), A -> B -> A" {
	moved a b dm_to_b --tcp 8002
	moved b a dm_to_a --tcp 8002
}
