#!/usr/bin/env bats
# simdom and the simulated hypervisor: domains, the guest process, its
# cooperative pause/suspend, and the integrity oracle (which must be able
# to fail).

load lib/common

setup() {
	setup_sim
}

teardown() {
	teardown_sim
}

field() {	# field NAME KEY: one field of simdom info on host A
	sim_field "$HOSTA" "$1" "$2"
}

# A live process, not a zombie nobody reaped.
alive() {
	[ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat"
}

# Overwrite 16 bytes of page pfn of a domain's memory.
corrupt() {	# corrupt NAME PFN
	printf 'not what it was!' | dd of="$HOSTA/$1/mem" bs=1 \
	    seek=$(($2 * 4096 + 100)) conv=notrunc status=none
}

@test "simdom: create, list, info, check and destroy a domain" {
	simdom create d --memory 16M --dirty-rate 0
	run simdom list
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(printf '%-32s %5s %8s %s' Name ID Mem\(MiB\) State)" ]
	[[ "${lines[1]}" =~ ^d\ +1\ +16\ running$ ]]
	[ "$(field d '["nr_pages"]')" = 4096 ]
	[ "$(field d '["memory"]')" = 16777216 ]
	[ "$(field d '["state"]')" = running ]
	[ "$(field d '["domid"]')" = 1 ]
	# looked up by id too
	[ "$(sim_field "$HOSTA" 1 '["name"]')" = d ]
	run simdom check d
	[ "$status" -eq 0 ]
	[ "$output" = "d: intact (4096 pages)" ]
	pid=$(field d '["pid"]')
	alive "$pid"
	simdom destroy d
	[ -z "$(domains_on "$HOSTA")" ]
	[ -z "$(entries_on "$HOSTA")" ]
	sleep 0.1
	! alive "$pid"
	run simdom info d
	[ "$status" -eq 3 ]
	[[ "$output" == *"no domain d"* ]]
}

@test "simdom: domain ids count up per host; hosts are independent" {
	simdom create a --memory 16M --dirty-rate 0
	simdom create b --memory 16M --dirty-rate 0
	XENPIPE_SIM_DIR=$HOSTB simdom create a --memory 16M --dirty-rate 0
	[ "$(field a '["domid"]')" = 1 ]
	[ "$(field b '["domid"]')" = 2 ]
	[ "$(sim_field "$HOSTB" a '["domid"]')" = 1 ]
	[ "$(domains_on "$HOSTA" | tr '\n' ' ')" = "a b " ]
}

@test "simdom: counters advance while running and stop while paused" {
	simdom create d --memory 16M --dirty-rate 5000
	w1=$(field d '["counters"]["pages_written"]')
	t1=$(field d '["counters"]["ticks"]')
	sleep 0.3
	w2=$(field d '["counters"]["pages_written"]')
	[ "$w2" -gt "$w1" ]
	[ "$(field d '["counters"]["ticks"]')" -gt "$t1" ]
	simdom pause d
	[ "$(field d '["state"]')" = paused ]
	w1=$(field d '["counters"]["pages_written"]')
	sleep 0.3
	[ "$(field d '["counters"]["pages_written"]')" = "$w1" ]
	simdom check d
	simdom unpause d
	[ "$(field d '["state"]')" = running ]
	sleep 0.3
	[ "$(field d '["counters"]["pages_written"]')" -gt "$w1" ]
}

@test "simdom: check finds a page corrupted in a paused domain" {
	simdom create d --memory 16M --dirty-rate 0 --zero 0
	simdom pause d
	corrupt d 0x123
	run simdom check d
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "d: corrupt at pfn 0x123" ]
	[ "$(field d '["last_check"]')" = corrupt ]
	[ "$(field d '["bad_pfn"]')" = 291 ]
}

@test "simdom: a guest resumed on corrupt memory reports it" {
	simdom create d --memory 16M --dirty-rate 1000 --zero 0
	simdom suspend d
	[ "$(field d '["state"]')" = suspended ]
	[ "$(field d '["pid"]')" = 0 ]
	simdom check d
	corrupt d 0x200
	run simdom check d
	[ "$status" -eq 1 ]
	[ "$output" = "d: corrupt at pfn 0x200" ]
	simdom resume d
	[ "$(field d '["last_check"]')" = corrupt ]
	[ "$(field d '["bad_pfn"]')" = 512 ]
}

@test "simdom: suspend and resume in place: counters continue, downtime and check recorded" {
	simdom create d --memory 32M --dirty-rate 5000
	sleep 0.2
	simdom suspend d
	w=$(field d '["counters"]["pages_written"]')
	sleep 0.2
	[ "$(field d '["counters"]["pages_written"]')" = "$w" ]
	simdom resume d
	[ "$(field d '["state"]')" = running ]
	[ "$(field d '["last_check"]')" = ok ]
	[ "$(field d '["counters"]["boots"]')" = 2 ]
	[ "$(field d '["downtime_ms"]')" -ge 200 ]
	sleep 0.2
	[ "$(field d '["counters"]["pages_written"]')" -gt "$w" ]
	simdom check d
	# not twice
	run simdom resume d
	[ "$status" -eq 3 ]
	[[ "$output" == *"domain d is running"* ]]
}

@test "simdom: a guest that refuses to suspend makes suspend fail in time" {
	simdom create d --memory 16M --refuse-suspend
	[ "$(field d '["workload"]["refuse_suspend"]')" = True ]
	XENPIPE_SIM_TIMEOUT_MS=300 run simdom suspend d
	echo "$output"
	[ "$status" -eq 3 ]
	[ "$output" = "simdom: sim: domain d: guest did not suspend within 300 ms" ]
	[ "$(field d '["state"]')" = running ]
	simdom set d refuse-suspend off
	simdom suspend d
	[ "$(field d '["state"]')" = suspended ]
}

@test "simdom: throttle is recorded and bounded" {
	simdom create d --memory 16M
	simdom set d throttle 10
	[ "$(field d '["workload"]["throttle_pct"]')" = 10 ]
	run simdom set d throttle 0
	[ "$status" -eq 100 ]
}

@test "simdom: creating an existing name fails and leaves the domain alone" {
	simdom create d --memory 16M --dirty-rate 0
	run simdom create d --memory 32M
	echo "$output"
	[ "$status" -eq 3 ]
	[ "$output" = "simdom: sim: domain d exists" ]
	[ "$(field d '["nr_pages"]')" = 4096 ]
	[ "$(entries_on "$HOSTA")" = d ]
	simdom check d
}

@test "simdom: bad usage exits 100 with one line" {
	for args in "" "frob d" "create" "create d" "create d --memory 12Q" \
	    "create d --memory 16M --zero 101" "create d --memory 16M extra" \
	    "create d --memory 16M --bogus" "list extra" "info" "check a b" \
	    "set d throttle" "set d colour red" "destroy"; do
		run simdom $args
		echo "simdom $args: $status: $output"
		[ "$status" -eq 100 ]
		[ "${#lines[@]}" -eq 1 ]
	done
	[ -z "$(entries_on "$HOSTA")" ]
}

@test "simdom: invalid names are refused" {
	for name in .hidden a/b "$(printf 'x%.0s' $(seq 64))" 'a b'; do
		run simdom create "$name" --memory 16M
		echo "$output"
		[ "$status" -eq 100 ]
		[[ "$output" == *"not a valid domain name"* ]]
	done
	# the longest legal name, and the name migration leaves behind
	simdom create "$(printf 'x%.0s' $(seq 63))" --memory 16M --dirty-rate 0
	simdom create d--migratedaway --memory 16M --dirty-rate 0
}

@test "simdom: a guest whose domain directory disappears exits by itself" {
	simdom create d --memory 16M
	pid=$(field d '["pid"]')
	alive "$pid"
	rm -rf "$HOSTA/d"
	for i in $(seq 50); do
		alive "$pid" || break
		sleep 0.05
	done
	! alive "$pid"
}

@test "simdom: a half-built domain of a dead process is swept, never listed" {
	sh -c 'exit 0' &
	dead=$!
	wait $dead || true
	mkdir "$HOSTA/.building-$dead-0" "$HOSTA/.building-$$-0"
	touch "$HOSTA/.building-$dead-0/mem"
	run simdom list
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[ ! -e "$HOSTA/.building-$dead-0" ]
	# a live builder's directory stays
	[ -d "$HOSTA/.building-$$-0" ]
	rmdir "$HOSTA/.building-$$-0"
}
