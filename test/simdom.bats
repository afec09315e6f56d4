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

# window NAME SECONDS: clean the log-dirty bitmap of a paused domain, let
# it run for SECONDS and pause it again; prints the pages it wrote meanwhile.
window() {
	local w1
	simdom pause "$1"
	simdom dirty --clean "$1" >/dev/null
	w1=$(field "$1" '["counters"]["pages_written"]')
	simdom unpause "$1"
	sleep "$2"
	simdom pause "$1"
	echo $(($(field "$1" '["counters"]["pages_written"]') - w1))
}

# dirty_split NAME HOT: the dirty data pages (the version table left out)
# among the first HOT of the working set, and among the rest.
dirty_split() {
	simdom dirty --list "$1" | python3 -c '
import sys
first, hot = int(sys.argv[1]), int(sys.argv[2])
h = r = 0
for line in sys.stdin:
    a, b = map(int, line.split())
    for pfn in range(max(a, first), b + 1):
        if pfn < first + hot: h += 1
        else: r += 1
print(h, r)' "$(field "$1" '["workload"]["first_pfn"]')" "$2"
}

# patch_ctx IN OUT PYTHON: apply PYTHON to the sim context (c, a bytearray,
# the HVM_CONTEXT body) of a saved stream; it may change c's length.
patch_ctx() {
	python3 -c '
import struct, sys
src, dst, off, code = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
d = bytearray(open(src, "rb").read())
n = struct.unpack_from("<I", d, off + 4)[0]
c = bytearray(d[off + 8:off + 8 + n])
exec(code)
assert len(c) % 8 == 0
d[off + 4:off + 8 + n] = struct.pack("<I", len(c)) + c
open(dst, "wb").write(d)' "$1" "$2" \
	    "$(python3 "$STREAMTOOL" records "$1" | awk '$3 == "0x9" { print $1 }')" "$3"
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
	! alive "$pid" || false
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

@test "simdom: check finds memory that is consistent but stale (page writes lost)" {
	simdom create d --memory 16M --dirty-rate 5000
	simdom suspend d
	cp "$HOSTA/d/mem" "$T/old"
	simdom resume d
	sleep 0.2
	simdom suspend d
	simdom check d
	cp "$T/old" "$HOSTA/d/mem"
	run simdom check d
	echo "$output"
	[ "$status" -eq 1 ]
	# the guest's recent writes name a page it wrote, not pfn 0
	[[ "$output" =~ ^d:\ corrupt\ at\ pfn\ 0x[0-9a-f]+$ ]]
	[ "$output" != "d: corrupt at pfn 0x0" ]
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
	[ "$output" = "simdom: sim: domain d: guest did not take the suspend request within 300 ms; request withdrawn" ]
	[ "$(field d '["state"]')" = running ]
	[ "$(field d '["request"]')" = none ]
	simdom set d refuse-suspend off
	simdom suspend d
	[ "$(field d '["state"]')" = suspended ]
}

@test "simdom: a suspend the guest gets to too late is withdrawn: the late guest finds nothing and keeps running" {
	XENPIPE_SIM_TIMEOUT_MS=300 XENPIPE_FAULT=guest-ack-late simdom create d --memory 16M
	XENPIPE_SIM_TIMEOUT_MS=300 run simdom suspend d
	echo "$output"
	[ "$status" -eq 3 ]
	[ "$output" = "simdom: sim: domain d: guest did not take the suspend request within 300 ms; request withdrawn" ]
	[ "$(field d '["request"]')" = none ]
	# the guest gets to it at 450 ms: it must find nothing to act on
	sleep 0.5
	grep -q "withdrawn before we got to it" "$HOSTA/d/log"
	[ "$(field d '["state"]')" = running ]
	simdom check d
}

@test "simdom: a suspend the guest took in time but finishes late is waited for, not abandoned" {
	XENPIPE_SIM_TIMEOUT_MS=300 XENPIPE_FAULT=guest-suspend-late simdom create d --memory 16M
	# taken at once, suspended at 450 ms: past the 300 ms to take it, not
	# past the 600 ms to have suspended
	XENPIPE_SIM_TIMEOUT_MS=300 run simdom suspend d
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(field d '["state"]')" = suspended ]
	[ "$(field d '["request"]')" = none ]
	# too late even for that (450 ms, past 2 x 200): a request taken cannot
	# be withdrawn; the one line says the guest may still suspend, and how
	# to resume it then
	XENPIPE_SIM_TIMEOUT_MS=300 XENPIPE_FAULT=guest-suspend-late simdom resume d
	XENPIPE_SIM_TIMEOUT_MS=200 run simdom suspend d
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"guest took the suspend request but had not suspended after 400 ms; if it does later, resume it: dom-resume --in-place d" ]]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(field d '["request"]')" = none ]
	sleep 0.3
	[ "$(field d '["state"]')" = suspended ]
	dom-resume --in-place d
	simdom check d
}

@test "simdom: throttle is recorded and bounded" {
	simdom create d --memory 16M
	simdom set d throttle 10
	[ "$(field d '["workload"]["throttle_pct"]')" = 10 ]
	run simdom set d throttle 0
	[ "$status" -eq 100 ]
}

@test "simdom: workload idle writes nothing but ticks on; set workload and rate wake and quiet it" {
	simdom create d --memory 16M --dirty-rate 100000 --workload idle
	[ "$(field d '["workload"]["shape"]')" = idle ]
	[ "$(field d '["workload"]["effective_rate"]')" = 0 ]
	t1=$(field d '["counters"]["ticks"]')
	[ "$(window d 0.3)" = 0 ]
	[ "$(simdom dirty d)" = 0 ]
	[ "$(field d '["counters"]["pages_written"]')" = 4092 ]
	[ "$(field d '["counters"]["ticks"]')" -gt $((t1 + 50)) ]
	simdom unpause d
	simdom set d workload uniform
	[ "$(window d 0.2)" -gt 1000 ]
	[ "$(simdom dirty d)" -gt 1000 ]
	simdom unpause d
	simdom set d rate 0
	[ "$(window d 0.2)" = 0 ]
	[ "$(field d '["workload"]["dirty_rate"]')" = 0 ]
	simdom check d
}

@test "simdom: workload sweep writes the working set page after page, wrapping" {
	simdom create d --memory 16M --dirty-rate 2000 --workload sweep
	[ "$(field d '["workload"]["shape"]')" = sweep ]
	wss=$(field d '["workload"]["working_set"]')
	first=$(field d '["workload"]["first_pfn"]')
	[ "$wss" = 4092 ]
	[ "$first" = 4 ]
	simdom pause d
	p1=$(field d '["workload"]["sweep_pos"]')
	n=$(window d 0.3)
	p2=$(field d '["workload"]["sweep_pos"]')
	echo "$n writes from $p1 to $p2"
	[ "$n" -gt 50 ]
	[ "$n" -lt "$wss" ]
	[ "$p2" -eq $(((p1 + n) % wss)) ]
	# the data pages dirty are exactly those n, in a row from p1
	simdom dirty --list d | python3 -c '
import sys
first, wss, p1, n = map(int, sys.argv[1:])
got = set()
for line in sys.stdin:
    a, b = map(int, line.split())
    got |= {p for p in range(a, b + 1) if p >= first}
want = {first + (p1 + i) % wss for i in range(n)}
sys.exit(got != want)' "$first" "$wss" "$p1" "$n"
	simdom check d
	# a working set of 16 pages wraps over and over
	simdom create e --memory 16M --dirty-rate 2000 --workload sweep \
	    --working-set 64K
	simdom pause e
	p1=$(field e '["workload"]["sweep_pos"]')
	n=$(window e 0.3)
	[ "$n" -gt 50 ]
	[ "$(field e '["workload"]["sweep_pos"]')" -eq $(((p1 + n) % 16)) ]
	[ "$(dirty_split e 16)" = "16 0" ]
	simdom check e
}

@test "simdom: workload hot keeps 90% of writes in the first 1/16 of the working set; uniform spreads them" {
	simdom create d --memory 16M --dirty-rate 10000 --workload hot
	hot=$(field d '["workload"]["hot_set"]')
	[ "$hot" = 255 ]
	n=$(window d 0.5)
	read -r h r <<<"$(dirty_split d "$hot")"
	echo "hot: $n writes; dirty: $h of the hot $hot pages, $r of the rest"
	[ "$n" -gt 2000 ]
	[ "$h" -ge $((hot * 9 / 10)) ]
	[ "$r" -gt $((n / 20)) ]
	[ "$r" -lt $((n * 15 / 100)) ]
	simdom unpause d
	simdom set d workload uniform
	[ "$(field d '["workload"]["shape"]')" = uniform ]
	n=$(window d 0.3)
	read -r h r <<<"$(dirty_split d "$hot")"
	echo "uniform: $n writes; dirty: $h of the first $hot pages, $r of the rest"
	[ "$n" -gt 1000 ]
	[ "$r" -gt $((n / 2)) ]
	[ "$h" -lt $(((h + r) / 5)) ]
	simdom check d
}

@test "simdom: the throttle slows the guest's writes at once" {
	simdom create d --memory 16M --dirty-rate 20000
	full=$(window d 0.5)
	simdom unpause d
	simdom set d throttle 10
	[ "$(field d '["workload"]["throttle_pct"]')" = 10 ]
	[ "$(field d '["workload"]["effective_rate"]')" = 2000 ]
	slow=$(window d 0.5)
	echo "writes in 0.5 s: $full unthrottled, $slow at 10%"
	[ "$full" -gt 2000 ]
	[ "$slow" -gt 0 ]
	[ $((slow * 2)) -lt "$full" ]
	simdom unpause d
	simdom set d throttle 100
	[ "$(window d 0.5)" -gt $((slow * 2)) ]
}

@test "simdom: rate and workload of a suspended domain change its saved context; a migration carries them" {
	simdom create d --memory 16M --dirty-rate 5000 --workload sweep
	simdom suspend d
	simdom set d rate 3000
	simdom set d workload hot
	[ "$(field d '["workload"]["dirty_rate"]')" = 3000 ]
	[ "$(field d '["workload"]["shape"]')" = hot ]
	simdom set d workload sweep
	p1=$(field d '["workload"]["sweep_pos"]')
	w1=$(field d '["counters"]["pages_written"]')
	dom-suspend d </dev/null | XENPIPE_SIM_DIR=$HOSTB dom-resume
	sleep 0.2
	XENPIPE_SIM_DIR=$HOSTB simdom pause d
	[ "$(sim_field "$HOSTB" d '["workload"]["shape"]')" = sweep ]
	[ "$(sim_field "$HOSTB" d '["workload"]["dirty_rate"]')" = 3000 ]
	# the sweep goes on where it stopped
	p2=$(sim_field "$HOSTB" d '["workload"]["sweep_pos"]')
	w2=$(sim_field "$HOSTB" d '["counters"]["pages_written"]')
	echo "sweep at $p1 after $w1 writes; at $p2 after $w2"
	[ "$w2" -gt $((w1 + 100)) ]
	[ "$p2" -eq $(((p1 + w2 - w1) % 4092)) ]
	XENPIPE_SIM_DIR=$HOSTB simdom check d
}

@test "simdom: a context with an unknown workload, a sweep beyond the working set or an old version is refused" {
	simdom create d --memory 16M --dirty-rate 1000
	dom-suspend d </dev/null >"$T/f"
	patch_ctx "$T/f" "$T/wl" 'c[80:84] = (7).to_bytes(4, "little")'
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/wl"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"HVM_CONTEXT is not a valid sim context: unknown workload" ]]
	patch_ctx "$T/f" "$T/sw" 'c[88:96] = (4092).to_bytes(8, "little")'
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/sw"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"sweep position beyond the working set" ]]
	patch_ctx "$T/f" "$T/v1" 'c[8:12] = (1).to_bytes(4, "little"); del c[80:]'
	patch_ctx "$T/f" "$T/rc" 'c[96:104] = ((5 << 32) | 3).to_bytes(8, "little")'
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/rc"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"recent writes out of range" ]]
	XENPIPE_SIM_DIR=$HOSTB run dom-resume <"$T/v1"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"sim context of version 1; this build takes version 3" ]]
	[ -z "$(entries_on "$HOSTB")" ]
	# the untouched stream restores
	XENPIPE_SIM_DIR=$HOSTB dom-resume <"$T/f"
	XENPIPE_SIM_DIR=$HOSTB simdom check d
}

@test "simdom: dirty enables log-dirty, counts, lists runs and cleans; --off stops it" {
	simdom create d --memory 16M --dirty-rate 0
	[ "$(field d '["logdirty"]')" = False ]
	[ "$(simdom dirty d)" = 0 ]
	[ "$(field d '["logdirty"]')" = True ]
	simdom set d workload sweep
	simdom set d rate 1000
	sleep 0.2
	simdom set d rate 0
	sleep 0.05
	n=$(simdom dirty d)
	[ "$n" -gt 10 ]
	# the table page and one run of data pages
	[ "$(simdom dirty --list d | wc -l)" -le 3 ]
	[ "$(simdom dirty --clean d)" = "$n" ]
	[ "$(simdom dirty d)" = 0 ]
	simdom dirty --off d
	[ "$(field d '["logdirty"]')" = False ]
	run simdom dirty --off --list d
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
	    "set d throttle" "set d colour red" "destroy" \
	    "create d --memory 16M --workload bursty" "set d workload bursty" \
	    "set d rate -1" "dirty" "dirty --bogus d" "dirty --off --clean d"; do
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
	! alive "$pid" || false
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
