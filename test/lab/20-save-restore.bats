# xl's own save/restore and migration keep the guest running, as the guest
# itself sees it: same boot id, counters go on, memguard finds no bad page.
load lib

setup() { ensure_guest; }

@test "xl save + xl restore keep the guest running, memory intact" {
	keep_running xl_save_restore
}

@test "verify-stream-v2 -f xl accepts the xl save file" {
	[ -f $SAVE ] || skip "no save file (the save test failed)"
	t=$(now)
	run verify-stream-v2 -f xl -i $SAVE
	fig "verify-stream-v2: status $status, $(since $t)s: $(echo "$output" | tail -n 1)"
	[ "$status" -eq 0 ]
}

@test "xl migrate -s '' (localhost through a pipe) keeps the guest running" {
	keep_running xl_migrate
}

@test "after the migration memguard completes two full passes, nothing bad" {
	p=$(mg passes)
	p=$(wait_above memguard/passes $((p + 1)) 120)
	fig "memguard passes $p, writes $(mg writes), checks $(mg checks)"
	guest_intact
}
