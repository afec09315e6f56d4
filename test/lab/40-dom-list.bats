# A program of the project, built on the host against libxen-dev, runs in
# dom0 and sees the domains through the xen backend (common/xen.c).
load lib

setup() {
	command -v dom-list >/dev/null || skip "dom-list not built (no build/dom-list)"
	ensure_guest
}

@test "dom-list shows the guest with the id xl list gives it" {
	run dom-list
	printf '%s\n' "$output" | sed 's/^/#   /' >&3
	[ "$status" -eq 0 ]
	xlid=$(xl list | awk -v g=$G '$1 == g { print $2 }')
	id=$(echo "$output" | awk -v g=$G '$1 == g { print $2 }')
	[ -n "$xlid" ]
	[ "$id" = "$xlid" ]
	pages=$(echo "$output" | awk -v g=$G '$1 == g { print $3 }')
	[ "$pages" -gt 0 ]
	fig "dom-list: $G id $id (xl list: $xlid), $pages pages"
}

@test "dom-list XENPIPE_BACKEND=xen is the default in dom0" {
	run env XENPIPE_BACKEND=xen dom-list
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "^$G "
}

@test "dom-list -j gives JSON that python3 reads" {
	run dom-list -j
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ds = d["domains"] if isinstance(d, dict) else d
assert any(x["name"] == "labguest" and x["id"] > 0 for x in ds), ds'
}

@test "dom-list --version and --help" {
	run dom-list --version
	[ "$status" -eq 0 ]
	run dom-list --help
	echo "$output" | grep -q 'usage'
}
