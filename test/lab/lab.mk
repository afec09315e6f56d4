# lab.mk - the real-Xen lab (test/lab/), included by the top Makefile.
# Real Xen 4.17 and a Debian dom0 under QEMU (TCG unless KVM really works),
# built from Debian packages into a cache outside the checkout.
#
#   make lab-build [LAB_GUEST=pvh|pv]  build the cache for that guest (root:
#                                      apt-get, debootstrap); no-op when current
#   make lab-check [LAB_GUEST=pvh|pv]  build the programs, boot the lab, run
#                                      test/lab/*.bats in dom0, print the TAP
#   make lab-check-all                 both guests
#   make lab-check LAB_HOSTS=2 [LAB_GUEST=pvh|pv]
#                                      the two-host lab (run2.sh): two QEMUs
#                                      linked on loopback, test/lab/two/*.bats
#
#   LAB_GUEST=pvh      Xen 4.17.7 (bookworm-security), PVH guest (default)
#   LAB_GUEST=pv       Xen 4.17.5 (bookworm point release, shadow paging), PV
#   XENPIPE_LAB_CACHE  the cache, default /var/cache/xenpipe-lab
#   LAB_TIMEOUT        seconds before QEMU is killed, default 2100
#
# A lab that cannot be had (no network for the cache, no QEMU) says
# "1..0 # SKIP reason" and does not fail; a broken one fails.

LAB_GUEST	?= pvh
LAB_HOSTS	?= 1
LAB_RUN		= $(if $(filter 2,$(LAB_HOSTS)),run2.sh,run.sh)
XENPIPE_LAB_CACHE ?= /var/cache/xenpipe-lab
export XENPIPE_LAB_CACHE
LAB_VARIANT_pvh	= 4177
LAB_VARIANT_pv	= 4175
LAB_VARIANT	= $(LAB_VARIANT_$(LAB_GUEST))

lab-build:
	@test -n "$(LAB_VARIANT)" || { echo "LAB_GUEST must be pvh or pv" >&2; exit 100; }
	sh test/lab/build.sh $(LAB_VARIANT)

# Helpers the lab suites run in dom0 next to the programs (never installed).
LAB_TOOLS = $(B)/logdirty-probe

$(B)/logdirty-probe: test/lab/logdirty-probe.c | $(B)/obj
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -lxenctrl

lab-tools: $(LAB_TOOLS)

lab-check: all lab-tools
	@test -n "$(LAB_VARIANT)" || { echo "LAB_GUEST must be pvh or pv" >&2; exit 100; }
	@case "$(LAB_HOSTS)" in 1|2) ;; *) echo "LAB_HOSTS must be 1 or 2" >&2; exit 100;; esac
	@rc=0; sh test/lab/build.sh $(LAB_VARIANT) || rc=$$?; \
	if [ $$rc = 77 ]; then echo "1..0 # SKIP $(if $(filter 2,$(LAB_HOSTS)),two-host ,)real-Xen lab ($(LAB_GUEST)): cache build failed: no network (apt-get update)"; exit 0; fi; \
	[ $$rc = 0 ] || exit $$rc; \
	sh test/lab/$(LAB_RUN) $(LAB_GUEST)

lab-check-all:
	$(MAKE) lab-check LAB_GUEST=pvh
	$(MAKE) lab-check LAB_GUEST=pv

.PHONY: lab-build lab-tools lab-check lab-check-all
