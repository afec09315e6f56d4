#!/bin/sh
# /init of the lab guest (busybox initramfs): memguard, the integrity oracle,
# and a counter published every second as data/counter and data/boot_id
# (with data/mem_total and data/mem_avail, kB, from /proc/meminfo).
# Kernel command line: mg_mib=N (region, MiB), mg_rate=N (page writes per s),
# mg_pause=MS (the shortest gap between ticks memguard counts as a pause),
# lab_ip=A.B.C.D/N (eth0, default 10.99.0.2/24), lab_disk_period=S (default 3).
# Devices (lib.bash, LAB_DEVICES=1): the modules in /lib/modules (mkguest.sh)
# are insmodded in the order of /lib/modules/order; a disk (xvda) is read
# every lab_disk_period seconds with O_DIRECT and a record written to it
# (disk_loop), eth0 gets lab_ip (net_up).  Both are published in data/.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
B=$(cat /proc/sys/kernel/random/boot_id)
MIB=64
RATE=1000
PAUSE=500
IP=10.99.0.2/24
PERIOD=3
for a in $(cat /proc/cmdline); do
	case $a in
	mg_mib=*) MIB=${a#*=};;
	mg_rate=*) RATE=${a#*=};;
	mg_pause=*) PAUSE=${a#*=};;
	lab_ip=*) IP=${a#*=};;
	lab_disk_period=*) PERIOD=${a#*=};;
	esac
done
echo "DOMU-BOOT boot_id=$B"
/bin/memguard -m $MIB -r $RATE -P $PAUSE &

# a device the toolstack gave the guest shows in /sys/bus/xen/devices as soon
# as xenbus enumerates it (at boot, before its driver is loaded)
has_dev() { ls /sys/bus/xen/devices 2>/dev/null | grep -q "^$1-"; }
# wait_for PATH: up to 60 s
wait_for() {
	n=0
	while [ ! -e "$1" ] && [ $n -lt 60 ]; do sleep 1; n=$((n + 1)); done
	[ -e "$1" ]
}
# the disk, xvda: data/disk is the md5 of its first MiB at boot; then every
# PERIOD s that MiB is read again with O_DIRECT (so from the backend: after
# a migration, the new one) and compared, and a 512-byte record (boot id,
# read count) written at 1 MiB with O_DIRECT (dom0 can read it back).
# data/disk_ios is xvda's completed reads (/sys/block/xvda/stat): it moves
# when the reads really reach the device.  data/disk_reads (written last)
# counts good reads, data/disk_bad bad ones or errors, data/disk_ok is 1
# when the last read was good.
disk_loop() {
	has_dev vbd || return 0
	wait_for /dev/xvda || { echo "DOMU-DISK: no /dev/xvda"; /bin/memguard -w data/disk none; return 0; }
	rd() { dd if=/dev/xvda bs=1M count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; }
	sum=$(rd)
	echo "DOMU-DISK: xvda $(cat /sys/block/xvda/size) sectors, first MiB md5 $sum"
	reads=0 bad=0 ok=0
	while :; do
		s=$(rd)
		if [ "$s" = "$sum" ]; then reads=$((reads + 1)) ok=1; else bad=$((bad + 1)) ok=0; echo "DOMU-DISK: bad read: $s"; fi
		printf '%-511s\n' "xenpipe-lab-disk-record boot_id=$B reads=$reads bad=$bad" |
		    dd of=/dev/xvda bs=512 seek=2048 count=1 oflag=direct conv=notrunc 2>/dev/null || ok=0
		/bin/memguard -w data/disk "$sum" data/disk_ok $ok data/disk_bad $bad \
		    data/disk_ios "$(awk '{print $1}' /sys/block/xvda/stat)" data/disk_reads $reads
		sleep $PERIOD
	done
}
# the network, eth0: lab_ip, published as data/net "eth0 IP MAC" every 5 s
net_up() {
	has_dev vif || return 0
	wait_for /sys/class/net/eth0 || { echo "DOMU-NET: no eth0"; /bin/memguard -w data/net none; return 0; }
	ip link set lo up
	ip addr add $IP dev eth0 && ip link set eth0 up
	n="eth0 $IP $(cat /sys/class/net/eth0/address)"
	echo "DOMU-NET: $n"
	while :; do	# again and again: a restored guest has a fresh data/
		/bin/memguard -w data/net "$n"
		sleep 5
	done
}
if [ -f /lib/modules/order ]; then
	for m in $(cat /lib/modules/order); do
		insmod /lib/modules/$m.ko || echo "DOMU: insmod $m failed"
	done
fi
disk_loop &
net_up &
i=0
while :; do
	i=$((i + 1))
	echo "DOMU-COUNTER $i uptime=$(cut -d' ' -f1 /proc/uptime)"
	# the guest's memory as it sees it (kB), to follow it across moves
	m=$(awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t, a }' /proc/meminfo)
	/bin/memguard -w data/boot_id $B data/counter $i data/mem_total ${m% *} \
	    data/mem_avail ${m#* } 2>&1 || echo "DOMU: xenstore write failed"
	sleep 1
done
