#!/usr/bin/env bats
# Every program, one table: a mistake in its usage is exit 100 and one
# line; --help gives the synopsis its man page has; --version works; and
# mandoc -Tlint finds nothing to warn of in any man page.
load lib/common

# The programs, as make builds them (bin/*.c and bin/*.sh).
programs() {
	local f
	for f in "$BATS_TEST_DIRNAME"/../bin/*.c "$BATS_TEST_DIRNAME"/../bin/*.sh; do
		f=${f##*/}
		echo "${f%.*}"
	done
}

# White space and the spaces around | as mandoc and the usage text differ.
norm() { sed -e 's/[[:space:]]\+/ /g' -e 's/ *| */|/g' -e 's/^ //' -e 's/ $//'; }

# The man page's SYNOPSIS, one form a line.
man_synopsis() {
	mandoc -Tascii -O width=1000 "$BATS_TEST_DIRNAME/../man/$1.1" | col -b |
	    awk '/^SYNOPSIS/ { s = 1; next } /^[A-Z]/ { s = 0 } s && NF' | norm
}

# --help's synopsis, one form a line (a form starts with the program's name).
help_synopsis() {
	"$1" --help | awk -v p="$1" '
	/^See / { next }
	{ sub(/^usage: /, "") }
	$1 == p { if (cur != "") print cur; cur = $0; next }
	{ cur = cur " " $0 }
	END { if (cur != "") print cur }' | norm
}

@test "cli: the table covers every program in bin/" {
	local n
	n=$(programs | wc -l)
	echo "$(programs | tr '\n' ' ')"
	[ "$n" -ge 10 ]
	for p in $(programs); do
		command -v "$p"
	done
}

@test "cli: a bad option is exit 100 and one line naming the program, for every program" {
	local p
	for p in $(programs); do
		run "$p" --no-such-option </dev/null
		echo "$p: status $status: $output"
		[ "$status" -eq 100 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "$p: bad usage; usage: "* ]]
	done
}

@test "cli: a missing operand is exit 100 and one line, for every program that takes one" {
	local p
	for p in dirty-track mem-dump dom-suspend dom-migrate simdom; do
		run "$p" </dev/null
		echo "$p: status $status: $output"
		[ "$status" -eq 100 ]
		[ "${#lines[@]}" -eq 1 ]
	done
}

@test "cli: --help's synopsis is the man page's SYNOPSIS, for every program" {
	command -v mandoc >/dev/null || skip "mandoc is not installed (make deps)"
	local p
	for p in $(programs); do
		run "$p" --help
		[ "$status" -eq 0 ]
		[ "$(help_synopsis "$p")" = "$(man_synopsis "$p")" ] || {
			echo "$p --help:"; help_synopsis "$p"
			echo "$p.1:"; man_synopsis "$p"
			false
		}
	done
}

@test "cli: the synopsis check can fail: a man page with an option --help lacks differs" {
	command -v mandoc >/dev/null || skip "mandoc is not installed (make deps)"
	local a b
	a=$(help_synopsis mem-dump)
	b=$(sed 's/^\.Op Fl l$/.Op Fl lx/' "$BATS_TEST_DIRNAME/../man/mem-dump.1" |
	    mandoc -Tascii -O width=1000 | col -b |
	    awk '/^SYNOPSIS/ { s = 1; next } /^[A-Z]/ { s = 0 } s && NF' | norm)
	echo "help: $a; altered page: $b"
	[ -n "$a" ]
	[ "$a" != "$b" ]
}

@test "cli: --version names the program, xenpipe and the version, for every program" {
	local p v
	v=$(sed -n 's/^#define XENPIPE_VERSION[^"]*"\(.*\)"/\1/p' \
	    "$BATS_TEST_DIRNAME/../common/version.h")
	[ -n "$v" ]
	for p in $(programs); do
		run "$p" --version
		[ "$status" -eq 0 ]
		[ "$output" = "$p (xenpipe) $v" ]
	done
}

@test "cli: mandoc -Tlint warns of nothing in any man page" {
	command -v mandoc >/dev/null || skip "mandoc is not installed (make deps)"
	run sh -c 'mandoc -Tlint -W warning "$1"/../man/*.[15] 2>&1 | grep -v "mandoc.db"' sh "$BATS_TEST_DIRNAME"
	echo "$output"
	[ -z "$output" ]
}

@test "cli: the bash completion knows every long option of every program" {
	local f p o comp missing=
	comp="$BATS_TEST_DIRNAME/../pkg/bash-completion"
	for f in "$BATS_TEST_DIRNAME"/../bin/*.c; do
		p=${f##*/}
		p=${p%.c}
		for o in $(grep -o '{ "[a-z-]*", ' "$f" | sed 's/{ "\([a-z-]*\)", /--\1/'); do
			[ "$o" = --none ] && continue	# simdom's placeholder
			bash -c '. "$1"; _xenpipe_options "$2"' bash "$comp" "$p" |
			    tr ' ' '\n' | grep -qx -- "$o" || missing="$missing $p $o;"
		done
	done
	[ -z "$missing" ] || { echo "missing:$missing"; false; }
}
