#!/bin/sh
# run.sh pvh|pv - boot the real-Xen lab under QEMU from the cache, share the
# host-built programs (build/) and test/lab/*.bats into dom0 over 9p, run the
# bats suite there, print its TAP output and exit with its status.
#   pvh: Xen 4.17.7 (cache variant 4177)   pv: Xen 4.17.5 (variant 4175)
# One boot runs the whole suite; QEMU always ends by LAB_TIMEOUT (s).  On a
# failure the run directory with the console log is kept and its tail shown.
# A lab that cannot run (no QEMU, no cache) prints "1..0 # SKIP reason".
# LAB_DOM0_ARGS adds lab.foo=bar words to dom0's command line (LAB_FOO=bar
# in the suite): lab.keep_save=1 copies the xl save file to share/out
# (kept on a failure) and its first 128 KiB to build/.  LAB_BIN: the programs to test (default build/).
# LAB_SUITES="10 70": run only those suites (by number), for debugging.
set -eu
GUEST=${1:-pvh}
LAB=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$LAB/../.." && pwd)
TMO=${LAB_TIMEOUT:-2100}
# shellcheck disable=SC2034 # qemu.sh reads them
PROG=run.sh WHAT="real-Xen lab" TB_SIZE=
. "$LAB/qemu.sh"

# boot: one boot of the lab running the suite; sets RUN, S, LOG, rc, status.
# The TAP shows as it comes, as comments; the caller prints the final one.
boot() {
	RUN=$(mktemp -d "${TMPDIR:-/tmp}/xenpipe-lab-$GUEST.XXXXXX")
	S=$RUN/share
	mkdir -p $S/bin $S/lab $S/guest $S/out
	BIN=${LAB_BIN:-$TOP/build}	# the host-built programs
	if [ -d "$BIN" ]; then
		find "$BIN" -maxdepth 1 -type f -perm -u+x -exec cp {} $S/bin/ \;
	fi
	# the lab's own helpers, which lab.mk builds into build/, when a
	# LAB_BIN has none (without them 50-xenpipe fails in misleading ways)
	t=logdirty-probe
	[ -e $S/bin/$t ] || [ ! -x "$TOP/build/$t" ] || cp "$TOP/build/$t" $S/bin/
	if [ -n "${LAB_SUITES:-}" ]; then	# e.g. "10 70": only those suites
		for n in $LAB_SUITES; do cp "$LAB"/$n-*.bats $S/lab/; done
	else
		cp "$LAB"/*.bats $S/lab/
	fi
	cp "$LAB/lib.bash" "$LAB/dom0-run.sh" "$TOP/test/lib/streamtool.py" $S/lab/
	cp $C/vmlinuz $S/guest/vmlinuz
	sh "$LAB/mkguest.sh" $S/guest $C/guest-modules
	LOG=$RUN/console.log
	: > $LOG
	: > $S/out/tap
	echo "# lab $GUEST: $(grep '^xen ' $C/versions), accel $ACCEL, timeout ${TMO}s, run dir $RUN"
	T0=$(date +%s)
	timeout -k 10 $TMO qemu-system-x86_64 $A -m 3072 -smp ${LAB_SMP:-2} \
	    -display none -monitor none -no-reboot -net none -serial file:$LOG \
	    -kernel $C/xen -append "$XEN_CMDLINE" \
	    -initrd "$C/vmlinuz console=hvc0 earlyprintk=xen lab.guest=$GUEST lab.timeout=$TMO ${LAB_DOM0_ARGS:-},$C/dom0.zst" \
	    -virtfs local,path=$S,mount_tag=hostshare,security_model=none,id=hostshare &
	QPID=$!
	tail --pid=$QPID -n +1 -F $S/out/tap 2>/dev/null | sed -u 's/^/# live: /' &
	TPID=$!
	rc=0
	wait $QPID || rc=$?
	wait $TPID || true
	status=$(cat $S/out/status 2>/dev/null || echo none)
	echo "# lab $GUEST: qemu exit $rc, suite status $status, $(( $(date +%s) - T0 ))s"
}

boot
# one boot more after the emulator's faults (qemu.sh)
if second_boot "lab $GUEST" $S/out; then
	boot
fi
cat $S/out/tap
# lab.keep_save=1 also leaves the head of the real xl save file in build/
# (the fuzzers' seed, fuzz/corpus/: headers, config, the first records)
[ -f $S/out/labguest.save ] &&
    head -c 131072 $S/out/labguest.save > "$TOP/build/lab-xl-save-$GUEST.head"
if [ "$status" = 0 ]; then
	rm -rf $RUN
	exit 0
fi
[ $rc = 124 ] && echo "# lab $GUEST: QEMU killed after ${TMO}s"
echo "# ---- console log tail ($LOG) ----"
tail -n ${LAB_TAIL:-60} $LOG | sed 's/^/# /'
echo "# lab $GUEST: FAILED, kept $RUN (console.log, share/out/)"
exit 1
