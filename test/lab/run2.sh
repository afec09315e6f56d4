#!/bin/sh
# run2.sh pvh|pv - the two-host real-Xen lab: two QEMUs, each Xen + the
# lab's dom0 (the cache run.sh uses), joined by a socket netdev on loopback
# (A listens on 127.0.0.1:PORT, B connects; virtio-net in both).  Inside,
# dom0 A is 192.0.2.1 and B 192.0.2.2 on a bridge xenbr0 holding the NIC,
# with sshd (host keys and a client key made here for this run, shared over
# 9p) and a shared disk: A's image exported over AoE, /dev/xenpipe-shared
# on both (two/dom0-two.sh).  The suite, test/lab/two/*.bats, runs in dom0
# A under bats and drives B over ssh; its TAP is printed at the end, the
# exit status is the suite's.  Figures: each host's boot, the wall time,
# the QEMUs' peak RSS and the host's lowest MemAvailable.
# A lab that cannot run prints "1..0 # SKIP reason" and exits 0.
#   LAB_TIMEOUT (s, default 1800), LAB_SUITES="10 20" (by number),
#   LAB_BIN (default build/), LAB_DOM0_ARGS (both dom0s), LAB_XEN_ARGS,
#   LAB_DOM0_VCPUS, LAB_SMP, LAB_CPU, LAB_TCG_THREAD as for run.sh,
#   LAB_MEM (MiB of each QEMU, default 2048), LAB_PORT (the link's port).
set -eu
GUEST=${1:-pvh}
LAB=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$LAB/../.." && pwd)
TMO=${LAB_TIMEOUT:-1800}
# tb-size: QEMU 7.2 gives TCG a 1 GiB translation cache by default, which
# made each QEMU 3.1 GB RSS with -m 2048
# shellcheck disable=SC2034 # qemu.sh reads them
PROG=run2.sh WHAT="two-host real-Xen lab" TB_SIZE=${LAB_TB_SIZE:-256}
. "$LAB/qemu.sh"
command -v ssh-keygen >/dev/null || skip "ssh-keygen not installed (openssh-client)"
grep -q openssh-server $C/versions ||
    skip "the lab in $C has no sshd (built by an older build.sh: make lab-build)"

# boot: one boot of both hosts running the suite; sets RUN, rc, status,
# T0.  The TAP shows as it comes, as comments; the caller prints the final.
boot() {
	RUN=$(mktemp -d "${TMPDIR:-/tmp}/xenpipe-lab2-$GUEST.XXXXXX")
	# a free port for the link (loopback only)
	PORT=${LAB_PORT:-}
	if [ -z "$PORT" ]; then
		PORT=$(( 20000 + $$ % 20000 ))
		while ss -Htln "sport = :$PORT" 2>/dev/null | grep -q .; do PORT=$((PORT + 1)); done
	fi

	# this run's keys: a host key each, one client key both dom0s use
	K=$RUN/ssh
	mkdir -p $K
	ssh-keygen -q -t ed25519 -N '' -C xenlab-a -f $K/host_a
	ssh-keygen -q -t ed25519 -N '' -C xenlab-b -f $K/host_b
	ssh-keygen -q -t ed25519 -N '' -C xenlab-root -f $K/id
	{ echo "192.0.2.1,xenlab-a $(cut -d' ' -f1-2 $K/host_a.pub)"
	  echo "192.0.2.2,xenlab-b $(cut -d' ' -f1-2 $K/host_b.pub)"; } > $K/known_hosts

	# share ROLE: the 9p share of one host
	share() {
		s=$RUN/$1/share
		mkdir -p $s/bin $s/lab $s/guest $s/out
		BIN=${LAB_BIN:-$TOP/build}
		[ -d "$BIN" ] && find "$BIN" -maxdepth 1 -type f -perm -u+x -exec cp {} $s/bin/ \;
		[ -e $s/bin/logdirty-probe ] || [ ! -x "$TOP/build/logdirty-probe" ] ||
		    cp "$TOP/build/logdirty-probe" $s/bin/
		if [ "$1" = a ]; then
			if [ -n "${LAB_SUITES:-}" ]; then
				for n in $LAB_SUITES; do cp "$LAB"/two/$n-*.bats $s/lab/; done
			else
				cp "$LAB"/two/*.bats $s/lab/
			fi
		fi
		cp "$LAB/lib.bash" "$LAB/two/lib2.bash" $s/lab/
		cp "$LAB/two/dom0-two.sh" $s/lab/dom0-run.sh
		cp -r $K $s/ssh
		cp $C/vmlinuz $s/guest/vmlinuz
		sh "$LAB/mkguest.sh" $s/guest $C/guest-modules
	}
	share a
	share b

	# qemu ROLE NETDEV MAC: one host, in the background; its pid in $RUN/ROLE/pid
	qemu() {
		d=$RUN/$1
		: > $d/console.log
		timeout -k 10 $TMO qemu-system-x86_64 $A -m ${LAB_MEM:-2048} -smp ${LAB_SMP:-2} \
		    -display none -monitor none -no-reboot -serial file:$d/console.log \
		    -netdev socket,id=n0,$2 -device virtio-net-pci,netdev=n0,mac=$3 \
		    -kernel $C/xen -append "$XEN_CMDLINE" \
		    -initrd "$C/vmlinuz console=hvc0 earlyprintk=xen lab.guest=$GUEST lab.role=$1 lab.timeout=$TMO ${LAB_DOM0_ARGS:-},$C/dom0.zst" \
		    -virtfs local,path=$d/share,mount_tag=hostshare,security_model=none,id=hostshare \
		    > $d/qemu.out 2>&1 &
		echo $! > $d/pid
	}

	echo "# lab2 $GUEST: $(grep '^xen ' $C/versions), accel $ACCEL, link 127.0.0.1:$PORT, timeout ${TMO}s, run dir $RUN"
	T0=$(date +%s)
	qemu a "listen=127.0.0.1:$PORT" 52:54:00:12:34:01
	i=0	# B connects once A listens
	while ! ss -Htln "sport = :$PORT" 2>/dev/null | grep -q . && [ $i -lt 50 ]; do
		sleep 0.2; i=$((i + 1))
	done
	qemu b "connect=127.0.0.1:$PORT" 52:54:00:12:34:02
	PA=$(cat $RUN/a/pid) PB=$(cat $RUN/b/pid)

	# the figures: each host's boot (QEMU start to dom0 ready: network, sshd,
	# shared disk), the QEMUs' peak RSS (VmHWM), the host's lowest MemAvailable
	(
		ra="" rb="" minav="" av0=$(awk '/MemAvailable/{print int($2/1024)}' /proc/meminfo)
		while kill -0 $PA 2>/dev/null || kill -0 $PB 2>/dev/null; do
			for r in a b; do
				[ -e $RUN/$r/booted ] || [ ! -e $RUN/$r/share/out/ready ] ||
				    echo "$(( $(date +%s) - T0 ))s (dom0 uptime $(cat $RUN/$r/share/out/ready)s)" > $RUN/$r/booted
			done
			# QEMU is timeout's child
			for p in $(cat /proc/$PA/task/$PA/children 2>/dev/null); do
				h=$(awk '/VmHWM/{print int($2/1024)}' /proc/$p/status 2>/dev/null) && [ -n "$h" ] && ra=$h
			done
			for p in $(cat /proc/$PB/task/$PB/children 2>/dev/null); do
				h=$(awk '/VmHWM/{print int($2/1024)}' /proc/$p/status 2>/dev/null) && [ -n "$h" ] && rb=$h
			done
			av=$(awk '/MemAvailable/{print int($2/1024)}' /proc/meminfo)
			[ -n "$minav" ] && [ "$minav" -le "$av" ] || minav=$av
			echo "${ra:-?} ${rb:-?} $minav $av0" > $RUN/mem
			sleep 2
		done
	) &
	MPID=$!
	tail --pid=$PA -n +1 -F $RUN/a/share/out/tap 2>/dev/null | sed -u 's/^/# live: /' &
	TPID=$!
	rc=0
	wait $PA || rc=$?
	wait $TPID || true
	# B serves until told to stop, then collects its logs and powers off
	touch $RUN/b/share/stop
	i=0
	while kill -0 $PB 2>/dev/null && [ $i -lt 90 ]; do sleep 1; i=$((i + 1)); done
	kill $PB 2>/dev/null || true
	wait $PB 2>/dev/null || true
	wait $MPID 2>/dev/null || true
	T=$(( $(date +%s) - T0 ))
	status=$(cat $RUN/a/share/out/status 2>/dev/null || echo none)
	echo "# lab2 $GUEST: qemu A exit $rc, suite status $status, wall ${T}s"
	echo "# lab2 $GUEST: boot to ready: A $(cat $RUN/a/booted 2>/dev/null || echo never), B $(cat $RUN/b/booted 2>/dev/null || echo never)"
	read -r ra rb minav av0 < $RUN/mem || :
	echo "# lab2 $GUEST: peak RSS QEMU A ${ra:-?} MiB, B ${rb:-?} MiB; host MemAvailable ${av0:-?} MiB at the start, lowest ${minav:-?} MiB"
}

boot
# one boot more after the emulator's faults (qemu.sh; README: a clock
# jump on both hosts at once voided a run)
if second_boot "lab2 $GUEST" $RUN/a/share/out $RUN/b/share/out; then
	boot
fi
cat $RUN/a/share/out/tap 2>/dev/null || true
if [ "$status" = 0 ]; then
	[ "${LAB_KEEP:-0}" = 1 ] && echo "# lab2 $GUEST: kept $RUN" || rm -rf $RUN
	exit 0
fi
[ $rc = 124 ] && echo "# lab2 $GUEST: QEMU A killed after ${TMO}s"
for r in a b; do
	echo "# ---- console log tail, host $r ----"
	tail -n ${LAB_TAIL:-40} $RUN/$r/console.log | sed 's/^/# /'
done
echo "# lab2 $GUEST: FAILED, kept $RUN (a/ b/: console.log, share/out/)"
exit 1
