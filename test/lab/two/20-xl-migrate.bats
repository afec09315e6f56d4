# xl's own live migration between the two hosts over real ssh (xl runs
# "ssh 192.0.2.2 xl migrate-receive"): the reference for xenpipe's moves,
# and the check of what the one-host lab could not do (README: xl migrate
# over real ssh).  LAB_XL_ROUNDS (lab.xl_rounds=N): round trips, default 1.
load lib2

setup() {
	guest_on_a
}

xl_to_b() { command xl migrate $G $B 3>/dev/null; }
xl_to_a() { onb xl migrate $G $A 3>/dev/null; }

@test "xl migrate A -> B -> A over ssh: the guest runs on, the same boot, disk and network" {
	local r
	for r in $(seq "${LAB_XL_ROUNDS:-1}"); do
		fig "round $r"
		moved a b xl_to_b
		moved b a xl_to_a
	done
}
