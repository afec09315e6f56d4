# shellcheck shell=sh disable=SC2034 # sourced: its caller uses what it sets
# qemu.sh - sourced by run.sh and run2.sh, with GUEST, PROG (for messages)
# and WHAT (what a SKIP line names): the cache variant of the guest type
# (V, C), skip, and how QEMU runs Xen on this machine (ACCEL, A) with
# which Xen command line (XEN_CMDLINE), and emulator_faults and
# second_boot for a second boot.  TB_SIZE: TCG's translation cache in
# MiB (empty: QEMU's default).
CACHE=${XENPIPE_LAB_CACHE:-/var/cache/xenpipe-lab}
case $GUEST in
pvh) V=4177;;
pv) V=4175;;
*) echo "usage: $PROG pvh|pv" >&2; exit 100;;
esac
C=$CACHE/$V
skip() { echo "1..0 # SKIP $WHAT ($GUEST): $*"; exit 0; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[ -f $C/stamp ] && [ -f $C/dom0.zst ] || skip "no lab in $C (make lab-build failed or was not run)"

# KVM only where it really works: a writable /dev/kvm on a CPU that shows
# VT-x/AMD-V.  The software-only /dev/kvm some hosts have kills Xen.
ACCEL=${LAB_ACCEL:-}
if [ -z "$ACCEL" ]; then
	ACCEL=tcg
	[ -w /dev/kvm ] && grep -qw -e vmx -e svm /proc/cpuinfo && ACCEL=kvm
fi
case $ACCEL in
kvm) A="-accel kvm -cpu host,-arch-capabilities";;
# -smap: else dom0 dies at its first bounce frame; -rdtscp: else PVH guests
# wedge.  thread=single froze dom0 once a guest ran.  -avx...: with AVX
# (new in QEMU 7.2's TCG) vector instructions faulted now and then once a
# guest ran: dom0's processes died in ld.so/libc, guests' init took #UD on
# a VEX instruction, PVH guests triple-faulted.  -fsgsbase,-pku: with
# them, once a guest with a vif and a disk ran, dom0's processes still died
# in libc and libxenlight, the guest's malloc found its heap corrupt and
# its kernel faulted on a %gs access in its entry path (FS/GS bases lost
# across context switches); rarer without them.  The cause of all of it
# (README): Xen's lazy FPU switching, as QEMU's TCG misses #NM for some
# SSE/AVX instructions: spec-ctrl=eager-fpu below.
tcg) A="-accel tcg,thread=${LAB_TCG_THREAD:-multi}${TB_SIZE:+,tb-size=$TB_SIZE} -cpu ${LAB_CPU:-max,-smap,-rdtscp,-avx,-avx2,-fma,-f16c,-fsgsbase,-pku}";;
*) echo "$PROG: LAB_ACCEL must be kvm or tcg" >&2; exit 100;;
esac

# dom0 on one vCPU: with two, processes in dom0 and the guest died of random
# segfaults, a PVH guest triple-faulted and runs stalled (TCG, 2 host cores)
XEN_CMDLINE="console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=${LAB_DOM0_VCPUS:-1} ${LAB_XEN_ARGS-spec-ctrl=eager-fpu} loglvl=all guest_loglvl=all"

# emulator_faults OUTDIR...: the emulator's own faults in a boot, from the
# share/out of each host (README, pitfalls): dom0's processes killed, a
# guest's triple fault or dead processes, or Xen's clock jumped (the
# host's TSC jumped under TCG: Xen took it for missed wraps of its
# platform timer, and time in dom0 and the guests leapt hours ahead, so
# every timeout fired at once).
emulator_faults() {
	for o in "$@"; do
		# each grep may find nothing: set -e must not end the loop there
		grep -a -h -E 'segfault at|general protection fault|invalid opcode' \
		    $o/dom0-dmesg.txt || :
		grep -a -h -e 'Triple fault' \
		    -e 'Platform timer appears to have unexpectedly wrapped' \
		    $o/xl-dmesg.txt || :
		grep -a -h -E '^Segmentation fault|^malloc\(\)|stack guard page' \
		    $o/guest-*.log || :
	done 2>/dev/null | head -n 6
}

# second_boot LABEL OUTDIR...: whether to boot once more, after a boot
# (status, T0, RUN) that failed with the emulator's faults in it: under TCG
# they come now and then whatever runs (README); a test that fails on its
# own fails again.  Never with LAB_RETRY=0, nor when a boot as long as this
# one would end after LAB_DEADLINE (epoch s: CI's budget).  Says why.
# shellcheck disable=SC2154 # status: the caller's boot sets it
second_boot() {
	label=$1
	shift
	[ "$status" != 0 ] && [ "${LAB_RETRY:-1}" = 1 ] &&
	    [ -n "$(emulator_faults "$@")" ] || return 1
	if [ -n "${LAB_DEADLINE:-}" ] &&
	    [ $(( $(date +%s) * 2 - T0 )) -ge "$LAB_DEADLINE" ]; then
		echo "# $label: the emulator's faults, but no time for a second boot (LAB_DEADLINE)"
		return 1
	fi
	echo "# $label: this boot failed with the emulator's faults in it," \
	    "not a test's own (kept $RUN):"
	emulator_faults "$@" | cut -c1-160 | sed 's/^/#   /'
	echo "# $label: booting once more; its result stands"
}
