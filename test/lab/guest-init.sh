#!/bin/sh
# /init of the lab guest (busybox initramfs): memguard, the integrity oracle,
# and a counter published every second as data/counter and data/boot_id.
# Kernel command line: mg_mib=N (region, MiB), mg_rate=N (page writes per s).
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
B=$(cat /proc/sys/kernel/random/boot_id)
MIB=64
RATE=1000
for a in $(cat /proc/cmdline); do
	case $a in
	mg_mib=*) MIB=${a#*=};;
	mg_rate=*) RATE=${a#*=};;
	esac
done
echo "DOMU-BOOT boot_id=$B"
/bin/memguard -m $MIB -r $RATE &
i=0
while :; do
	i=$((i + 1))
	echo "DOMU-COUNTER $i uptime=$(cut -d' ' -f1 /proc/uptime)"
	/bin/memguard -w data/boot_id $B data/counter $i 2>&1 || echo "DOMU: xenstore write failed"
	sleep 1
done
