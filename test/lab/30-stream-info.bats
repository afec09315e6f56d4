# The project's stream-info reads a real `xl save` file of the lab's guest.
load lib

setup() {
	command -v stream-info >/dev/null || skip "stream-info not built (no build/stream-info)"
	if [ ! -f $SAVE ]; then
		ensure_guest
		xl save $G $SAVE
		xl restore $SAVE 3>/dev/null
	fi
	# lab.keep_save=1: its head (headers, config, the first records) for
	# the fuzzers' seeds; 50-xenpipe removes the whole file later
	[ "${LAB_KEEP_SAVE:-0}" != 1 ] || head -c 131072 $SAVE > $LAB_WORK/$G.save.head
}

@test "stream-info reads the xl save file: xl header, libxl and libxc records" {
	run stream-info $SAVE
	printf '%s\n' "$output" | head -n 40 | sed 's/^/#   /' >&3
	[ "$status" -eq 0 ]
	echo "$output" | grep -qi 'xl'
	echo "$output" | grep -qi 'libxl'
	echo "$output" | grep -qi 'libxc'
	case $LAB_GUEST in
	pvh) echo "$output" | grep -qi 'hvm';;
	pv) echo "$output" | grep -qiE 'x86.?pv';;
	esac
	echo "$output" | grep -qi 'page'
}

@test "stream-info reads the save file from stdin" {
	run sh -c "stream-info < $SAVE"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qi 'libxc'
}

@test "stream-info --verify passes on the xl save file" {
	t=$(now)
	run stream-info --verify $SAVE
	fig "stream-info --verify: status $status, $(since $t)s: $(echo "$output" | tail -n 1)"
	[ "$status" -eq 0 ]
}

@test "stream-info --json: format, dom_type and records" {
	stream-info --json $SAVE > $LAB_WORK/info.json
	python3 - "$LAB_GUEST" $LAB_WORK/info.json <<'PY' >&3
import json, sys
guest, path = sys.argv[1], sys.argv[2]
j = json.load(open(path))
for k in ("format", "dom_type", "records"):
    assert k in j, "no key %r in %s" % (k, sorted(j))
want = "hvm" if guest == "pvh" else "pv"
assert want in str(j["dom_type"]).lower().replace("_", " ").split(), j["dom_type"]
n = len(j["records"]) if hasattr(j["records"], "__len__") else j["records"]
print("# stream-info --json: format %s, dom_type %s, records %s" % (j["format"], j["dom_type"], n))
PY
}

@test "stream-info reports a truncated copy as truncated" {
	head -c 3000000 $SAVE > $LAB_WORK/trunc.save
	run stream-info $LAB_WORK/trunc.save
	fig "truncated copy: status $status: $(echo "$output" | grep -i truncated | head -n 1)"
	[ "$status" -ne 0 ]
	echo "$output" | grep -qi truncated
	run stream-info --verify $LAB_WORK/trunc.save
	[ "$status" -ne 0 ]
	echo "$output" | grep -qi truncated
	rm -f $LAB_WORK/trunc.save
}
