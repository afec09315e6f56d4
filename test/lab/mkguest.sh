#!/bin/sh
# mkguest.sh DIR - the lab guest's initramfs, DIR/initrd.gz: static busybox,
# memguard (built here with gcc -static) and guest-init.sh as /init.
set -eu
LAB=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$1" && pwd)
D=$OUT/guest-root
rm -rf $D
mkdir -p $D/bin $D/proc $D/sys $D/dev $D/tmp
cp /bin/busybox $D/bin/busybox
for a in $(/bin/busybox --list); do	# --list has busybox itself: no loop
	[ "$a" = busybox ] || ln -s busybox $D/bin/$a
done
gcc -static -O2 -Wall -Wextra -o $D/bin/memguard "$LAB/memguard.c"
cp "$LAB/guest-init.sh" $D/init
chmod +x $D/init
(cd $D && find . | cpio -o -H newc --quiet | gzip -6) > $OUT/initrd.gz
rm -rf $D
