#!/usr/bin/env bats
# The library in common/ never prints and never exits: it returns errors
# (err.h) and reports through callbacks (progress.h, srcguard.h,
# precopy.h); the programs and ui/ print.  Checked on the objects the
# build made, so a new fprintf(stderr, ...) in common/ fails here.

# Symbols that write to the user's terminal or end the process.
FORBIDDEN='stdout|stderr|printf|vprintf|puts|putchar|perror|psignal|dprintf|vdprintf|exit|_exit|_Exit|err|errx|verr|verrx|warn|warnx|vwarn|vwarnx|__printf_chk|__vprintf_chk|__dprintf_chk|__vdprintf_chk|__fprintf_chk|__vfprintf_chk'

# Objects allowed to, and why:
#   guard.o      the receiver's watchman, a child whose receiver is gone:
#                its one line is all the user will hear (guard.h)
#   sim_guest.o  the simulated guest, a process of its own: its stderr is
#                its console, and it exits as a guest powers off
ALLOWED='guard.o sim_guest.o'

setup() {
	OBJ=$(dirname "$(command -v dom-list)")/obj
	[ -d "$OBJ" ] || skip "no objects in $OBJ (programs not from a build/ tree)"
}

@test "library: no object of common/ prints on stdout/stderr or exits, but the two that must" {
	local o sym bad= n=0
	for o in "$OBJ"/*.o; do
		n=$((n + 1))
		[[ " $ALLOWED " == *" $(basename "$o") "* ]] && continue
		sym=$(nm -u "$o" | awk '{ print $NF }' | grep -xE "$FORBIDDEN" | tr '\n' ' ')
		[ -z "$sym" ] || bad="$bad $(basename "$o"): $sym;"
	done
	echo "checked $n objects in $OBJ"
	[ "$n" -ge 20 ]
	[ -z "$bad" ] || { echo "these print or exit:$bad"; false; }
}

@test "library: the check sees what it looks for (ui/ prints and exits)" {
	local ui
	ui=$(dirname "$OBJ")/obj-ui/cli.o
	[ -f "$ui" ]
	nm -u "$ui" | awk '{ print $NF }' | grep -qxE "$FORBIDDEN"
	nm -u "$ui" | awk '{ print $NF }' | grep -qx exit
}
