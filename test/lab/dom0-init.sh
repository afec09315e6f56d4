#!/bin/sh
# PID 1 of the lab's dom0 initramfs: Xen dom0 plumbing, then the run script
# the host shares over 9p (/mnt/host/lab/dom0-run.sh), then power off.
# Debian's xen-utils has no xencommons: the daemons are started here by hand.
# lab.shell=1 on the dom0 command line gives a shell on hvc0 instead.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
export HOME=/root TERM=${TERM:-linux}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs -o size=70% tmpfs /tmp
mkdir -p /run/lock /run/xen /run/xenstored /var/log/xen/console /var/lib/xen
ts() { cut -d' ' -f1 /proc/uptime; }
echo "DOM0-INIT: userspace start, uptime=$(ts)s"
# every lab.foo=bar on the dom0 command line reaches the run script as LAB_FOO=bar
for a in $(cat /proc/cmdline); do
	case $a in lab.*=*) k=${a%%=*}; k=$(echo ${k#lab.} | tr a-z. A-Z_); export "LAB_$k=${a#*=}";; esac
done

# bridge and loop: the guest's vif and disk (lib.bash, LAB_DEVICES=1);
# virtio_net and aoe: the two-host lab's link and shared disk (two/); tls
# and aesni-intel: kernel TLS (the rest of its crypto loads on demand; AES-NI
# only a udev would load, by the CPU's features)
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback xen-netback 9p 9pnet_virtio virtio_pci bridge loop virtio_net aoe tls aesni-intel; do
	modprobe $m || echo "DOM0-INIT: modprobe $m FAILED"
done
mount -t xenfs xenfs /proc/xen || echo "DOM0-INIT: xenfs mount FAILED"
ip link set lo up
hostname xenlab-dom0

SHARE=
i=0
while [ $i -lt 25 ] && ! grep -qs hostshare /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag; do
	sleep 0.2; i=$((i + 1))
done
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none hostshare /mnt/host; then
	SHARE=/mnt/host
	echo "DOM0-INIT: host share mounted at /mnt/host"
else
	echo "DOM0-INIT: no host share"
fi

XENSTORED_ROOTDIR=/run/xenstored /usr/lib/xen-4.17/bin/oxenstored --pid-file /run/xenstore.pid
i=0
while [ $i -lt 30 ] && ! xenstore-read -s / >/dev/null 2>&1; do sleep 0.5; i=$((i + 1)); done
/usr/lib/xen-4.17/bin/xen-init-dom0 >/dev/null
/usr/lib/xen-4.17/bin/xenconsoled --pid-file /run/xenconsoled.pid --log=guest \
    --log-dir=/var/log/xen/console
echo "DOM0-INIT: xen daemons up, uptime=$(ts)s"

if [ "${LAB_SHELL:-0}" = 1 ]; then
	setsid sh -c 'exec /bin/bash -l </dev/hvc0 >/dev/hvc0 2>&1'
elif [ -n "$SHARE" ] && [ -f $SHARE/lab/dom0-run.sh ]; then
	mkdir -p $SHARE/out
	LAB_SHARE=$SHARE /bin/sh $SHARE/lab/dom0-run.sh < /dev/null 2>&1
	echo "DOM0-INIT: run done, uptime=$(ts)s"
else
	echo "DOM0-INIT: nothing to run"
fi
sync
[ -n "$SHARE" ] && umount $SHARE
echo "DOM0-INIT: powering off"
busybox poweroff -f
sleep 30
