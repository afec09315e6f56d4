#!/bin/sh
# make demo: save, restore and check a simulated domain, saying what happens.
# Runs on a scratch sim root, so it touches nothing of yours.
set -eu
root=$(mktemp -d "${TMPDIR:-/tmp}/xenpipe-demo.XXXXXX")
export XENPIPE_BACKEND=sim XENPIPE_SIM_DIR="$root/host1"
cleanup() {
	for h in host1 host2; do
		for d in $(XENPIPE_SIM_DIR="$root/$h" simdom list 2>/dev/null | awk 'NR > 1 { print $1 }'); do
			XENPIPE_SIM_DIR="$root/$h" simdom destroy "$d" || true
		done
	done
	rm -rf "$root"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; sh -c "$*"; }

say "a simulated host in $root/host1, and a domain that keeps writing its memory"
run "simdom create web1 --memory 256M --dirty-rate 20000 --zero 25"
sleep 1
run "simdom list"

say "save it to a file (cold save: suspend, every page, context, END)"
run "dom-suspend -v web1 </dev/null > $root/web1.xen"
run "ls -l $root/web1.xen"
run "stream-info --verify $root/web1.xen"

say "restore it: the suspended original makes way (web1--migratedaway)"
run "dom-resume -v < $root/web1.xen"
run "simdom list"
say "the restored guest checks every page of its memory against its own version table"
run "simdom check web1"

say "a checkpoint while it keeps running, then a cold migration to a second host through a pipe"
run "dom-suspend -c web1 </dev/null > $root/ckpt.xen"
run "simdom destroy web1--migratedaway"
run "dom-suspend -v web1 </dev/null | XENPIPE_SIM_DIR=$root/host2 dom-resume -v"
run "XENPIPE_SIM_DIR=$root/host2 simdom check web1"
run "XENPIPE_SIM_DIR=$root/host2 simdom info web1"
say "done: every step above was checked by the guest itself"
