#!/bin/sh
# Run by dom0's /init from the 9p share: the bats suite, TAP to out/tap,
# its exit status to out/status, then logs worth keeping to out/.
S=$LAB_SHARE
# devtmpfs has no /dev/fd (bats needs process substitution)
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do
	[ -e /dev/${i#*:} ] || ln -s /proc/self/fd/${i%:*} /dev/${i#*:}
done
export PATH=$S/bin:$PATH:/usr/lib/xen-4.17/bin
export PYTHONPATH=/usr/lib/xen-4.17/lib/python	# verify-stream-v2
export LAB_GUEST=${LAB_GUEST:-pvh}
export LAB_WORK=/tmp/lab
mkdir -p $LAB_WORK
cp $S/guest/vmlinuz $S/guest/initrd.gz $LAB_WORK/
cd $LAB_WORK || exit 1
# lab.split=1: dom0 alone on CPU 0, the guests on CPU 1 (cpupool
# $LAB_POOL), which create_guest puts in their configs (README, pitfalls).
export LAB_POOL=guests
if [ "${LAB_SPLIT:-0}" = 1 ] && ! xl cpupool-list $LAB_POOL >/dev/null 2>&1; then
	printf 'name = "%s"\nsched = "credit2"\ncpus = ["1"]\n' $LAB_POOL > pool.cfg
	xl cpupool-cpu-remove Pool-0 1 && xl cpupool-create pool.cfg &&
	    xl vcpu-pin 0 all 0 || echo "DOM0-RUN: no cpupool $LAB_POOL"
	xl cpupool-list
fi
# every 30 s a line on the console: what a hung run was doing
(
	while sleep 30; do
		id=$(xl domid labguest 2>/dev/null)
		echo "DOM0-MON: up $(cut -d' ' -f1 /proc/uptime)s" \
		    "load $(cut -d' ' -f1-3 /proc/loadavg)," \
		    "$(xl list 2>/dev/null | awk 'NR > 1 { printf "%s/%s/%s ", $1, $2, $5 }')" \
		    "counter ${id:+$(xenstore-read /local/domain/$id/data/counter 2>/dev/null)}," \
		    "guest: $(tail -n 1 /var/log/xen/console/guest-labguest.log 2>/dev/null | cut -c1-100)"
		p=$(ps -eo etimes=,args= --sort=start_time)
		echo "$p" | grep -v -e 'sleep 30' -e 'ps -eo' | tail -n 3 |
		    cut -c1-120 | sed 's/^/DOM0-MON:   /'
	done
) &
MON=$!
# lab.serve=1 (test/lab/shell.sh): no suite; run each command file the host
# drops in cmd/ (NAME.sh), in the background, output to NAME.out, status to
# NAME.rc, until the host drops cmd/stop.  The functions of lib.bash are
# there, fd 3 (fig) goes to the output.
serve() {
	mkdir -p $S/cmd
	touch $S/cmd/ready
	# never the console: under a flood of hypervisor messages a write to
	# it blocked this loop for good
	echo "ready $(date +%T)" >> $S/cmd/log
	while [ ! -e $S/cmd/stop ]; do
		for f in $S/cmd/*.sh; do
			[ -e "$f" ] || continue
			b=${f%.sh}
			mv "$f" "$b.run" || continue
			echo "$(date +%T) $(basename $b)" >> $S/cmd/log
			(
				bash -c '. $1/lab/lib.bash; . $2' serve $S "$b.run" \
				    > "$b.out" 2>&1 3>&1 < /dev/null
				echo $? > "$b.rc.tmp"
				mv "$b.rc.tmp" "$b.rc"
			) &
		done
		sleep 0.5
	done
	echo 0 > $S/out/status
}

if [ "${LAB_SERVE:-0}" = 1 ]; then
	serve
else
	# inside QEMU's own limit, so the logs below still get out
	timeout -k 5 $(( ${LAB_TIMEOUT:-2100} - 150 )) bats --tap $S/lab/*.bats > $S/out/tap 2>&1
	echo $? > $S/out/status
fi
kill $MON
xl destroy labguest 2>/dev/null
# lab.keep_save=1: the real xl save file, for debugging on the host
[ "${LAB_KEEP_SAVE:-0}" = 1 ] && { cp $LAB_WORK/labguest.save $S/out/ ||
    cp $LAB_WORK/labguest.save.head $S/out/labguest.save; } 2>/dev/null
xl dmesg > $S/out/xl-dmesg.txt 2>&1
dmesg > $S/out/dom0-dmesg.txt 2>&1
cp /var/log/xen/console/* /var/log/xen/*.log $S/out/ 2>/dev/null
sed 's/^/DOM0-TAP: /' $S/out/tap
echo "DOM0-RUN: status $(cat $S/out/status)"
