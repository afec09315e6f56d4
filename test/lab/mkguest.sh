#!/bin/sh
# mkguest.sh DIR [MODDIR] - the lab guest's initramfs, DIR/initrd.gz: static
# busybox, memguard (built here with gcc -static) and guest-init.sh as /init.
# MODDIR (the cache's guest-modules/, build.sh): the guest's kernel modules
# (xen-blkfront, xen-netfront) and their insmod order, put in /lib/modules;
# without it, or when it is missing, the guest has no modules (no disk, no
# network: LAB_DEVICES needs them).
set -eu
LAB=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$1" && pwd)
MODDIR=${2:-}
D=$OUT/guest-root
rm -rf $D
mkdir -p $D/bin $D/proc $D/sys $D/dev $D/tmp
cp /bin/busybox $D/bin/busybox
for a in $(/bin/busybox --list); do	# --list has busybox itself: no loop
	[ "$a" = busybox ] || ln -s busybox $D/bin/$a
done
gcc -static -O2 -Wall -Wextra -o $D/bin/memguard "$LAB/memguard.c"
if [ -n "$MODDIR" ] && [ -f "$MODDIR/order" ]; then
	mkdir -p $D/lib/modules
	cp "$MODDIR"/*.ko "$MODDIR/order" $D/lib/modules/
fi
cp "$LAB/guest-init.sh" $D/init
chmod +x $D/init
(cd $D && find . | cpio -o -H newc --quiet | gzip -6) > $OUT/initrd.gz
rm -rf $D
