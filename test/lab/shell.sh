#!/bin/sh
# shell.sh - the lab kept up for work by hand: boot it once, then run
# commands in dom0 against freshly built programs, without a boot each time.
#
#   test/lab/shell.sh start [pvh|pv]     boot the lab in the background
#   test/lab/shell.sh exec pvh|pv 'CMDS' copy build/ into dom0, run CMDS with
#                                        bash there (lib.bash's functions on
#                                        hand, e.g. labguest_create NAME),
#                                        print the output, exit with its status
#   test/lab/shell.sh status [pvh|pv]
#   test/lab/shell.sh stop [pvh|pv]
#
# Commands run concurrently, each in its own process in dom0.  The lab is
# the one test/lab/run.sh boots, with lab.serve=1 (dom0-run.sh) and a long
# timeout (LAB_TIMEOUT, default 4 h).  Not used by make or CI.
set -eu
LAB=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$LAB/../.." && pwd)
cmd=${1:-}
GUEST=${2:-pvh}
case $GUEST in pvh|pv) ;; *) echo "shell.sh: guest must be pvh or pv" >&2; exit 100;; esac
ST=${TMPDIR:-/tmp}/xenpipe-labshell-$GUEST
share() { sed -n 's/.*run dir \([^ ]*\).*/\1/p' $ST/log 2>/dev/null | head -n 1; }
up() { [ -f $ST/pid ] && kill -0 "$(cat $ST/pid)" 2>/dev/null; }

case $cmd in
start)
	if up; then echo "lab $GUEST already up: $(share)"; exit 0; fi
	mkdir -p $ST
	(cd "$TOP" && make -s all lab-tools)
	LAB_TIMEOUT=${LAB_TIMEOUT:-14400} LAB_DOM0_ARGS="lab.serve=1" \
	    setsid sh "$LAB/run.sh" $GUEST > $ST/log 2>&1 < /dev/null &
	echo $! > $ST/pid
	i=0
	while [ $i -lt 600 ]; do
		S=$(share)
		if [ -n "$S" ] && [ -e "$S/share/cmd/ready" ]; then
			echo "lab $GUEST up after ${i}s: $S"
			exit 0
		fi
		up || { echo "lab $GUEST died:"; tail -n 30 $ST/log; exit 1; }
		sleep 2
		i=$((i + 2))
	done
	echo "lab $GUEST not ready after ${i}s; see $ST/log" >&2
	exit 1
	;;
exec)
	up || { echo "shell.sh: no $GUEST lab running (test/lab/shell.sh start $GUEST)" >&2; exit 111; }
	S=$(share)/share
	[ -e $S/cmd/ready ] || { echo "shell.sh: the $GUEST lab is still booting" >&2; exit 111; }
	# new programs and suite files; rename into place so that a program
	# running in dom0 keeps its old copy
	for f in "$TOP"/build/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		cp "$f" "$S/bin/.$(basename "$f").new"
		mv "$S/bin/.$(basename "$f").new" "$S/bin/$(basename "$f")"
	done
	cp "$LAB"/*.bats "$LAB/lib.bash" "$LAB/dom0-run.sh" $S/lab/
	mkdir -p $S/lab/wip
	for f in "$LAB"/wip/*.bats; do
		if [ -e "$f" ]; then cp "$f" $S/lab/wip/; fi
	done
	id=$(date +%s%N)-$$
	shift 2
	printf '%s\n' "$*" > $S/cmd/$id.tmp
	mv $S/cmd/$id.tmp $S/cmd/$id.sh
	end=$(( $(date +%s) + ${LAB_EXEC_TIMEOUT:-1200} ))
	while [ ! -e $S/cmd/$id.rc ]; do
		if [ "$(date +%s)" -ge $end ] || ! up; then
			cat $S/cmd/$id.out 2>/dev/null
			echo "shell.sh: no answer (timeout or lab gone)" >&2
			exit 124
		fi
		sleep 1
	done
	cat $S/cmd/$id.out
	exit "$(cat $S/cmd/$id.rc)"
	;;
status)
	if up; then echo "lab $GUEST up: $(share)"; tail -n 3 $ST/log; else echo "lab $GUEST down"; exit 1; fi
	;;
stop)
	up || { echo "lab $GUEST down"; exit 0; }
	S=$(share)/share
	touch $S/cmd/stop
	i=0
	while up && [ $i -lt 120 ]; do sleep 2; i=$((i + 2)); done
	up && kill -- -"$(cat $ST/pid)" 2>/dev/null
	# timeout(1) runs QEMU in a process group of its own
	pkill -f "path=$S," 2>/dev/null || true
	rm -f $ST/pid
	echo "lab $GUEST stopped"
	;;
*)
	sed -n '2,15p' "$0" >&2
	exit 100
	;;
esac
