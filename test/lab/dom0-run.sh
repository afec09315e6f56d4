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
cd $LAB_WORK
bats --tap $S/lab/*.bats > $S/out/tap 2>&1
echo $? > $S/out/status
xl dmesg > $S/out/xl-dmesg.txt 2>&1
dmesg > $S/out/dom0-dmesg.txt 2>&1
cp /var/log/xen/console/* /var/log/xen/*.log $S/out/ 2>/dev/null
sed 's/^/DOM0-TAP: /' $S/out/tap
echo "DOM0-RUN: status $(cat $S/out/status)"
